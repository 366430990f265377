# Catalogue case 17: fragmentation and CMA. After long mixed use,
# buddyinfo shows few high-order blocks; a large contiguous request
# succeeds from the CMA area by migrating movable pages out of it.
#
# cma=32M reserves the default CMA area at boot (the top 32 MiB below
# 160 MiB here: memory does not reach 4 GiB + 32 MiB, so memblock searches
# top-down). Its 16 pageblocks are MIGRATE_CMA: only movable allocations
# may use them, and __rmqueue() takes CMA first once more than half of a
# zone's free memory is CMA, so a process that fills memory ends up with
# pages in the area. Kernel allocations (unmovable) never land there.
#
# Then the kernel frees every other one of its pages and the process
# drops every other page of its first 8 MiB: plenty is free, in order-0
# pieces. A driver's cma_alloc of the whole 32 MiB isolates the area's
# pageblocks, migrates each of the process's pages in it to a frame
# outside (its PTE follows; RSS does not change) and takes the range.
boot ram=160M cpus=2 cma=32M thp=never
expect meminfo.CmaTotal == 32M
expect meminfo.CmaFree > 24M                  # the rest waits on the boot CPU's lists
dmesg | grep cma

spawn hello as=p
mmap $p 120M as=a
alloc_pages order=0 count=2048 gfp=GFP_KERNEL as=k
touch $p $a $(( meminfo.MemFree - 34M )) write
free_pages k stride=2
let i = 0
every 1ms for 1024ms {
  madvise $p $(( $a + $i * 8K )) 4K dontneed
  let i = $i + 1
}
sleep 2s

echo "== after mixed use =="
cat /proc/buddyinfo
grep -E "^Node.*DMA32, type +(Unmovable|Movable|CMA)" /proc/pagetypeinfo
grep -i cma /proc/meminfo
expect buddyinfo.DMA32[0] > 500              # single pages everywhere
expect buddyinfo.DMA32[9] + buddyinfo.DMA32[10] <= 6
expect meminfo.CmaFree < 16M                  # the process holds much of the area
let used = (meminfo.CmaTotal - meminfo.CmaFree) / 4K
let rss = proc[$p].status.VmRSS
let migrated = vmstat.pgmigrate_success

echo "== cma_alloc 32M =="
cma_alloc 32M as=frame
grep -i cma /proc/meminfo
cat /proc/buddyinfo
expect meminfo.CmaFree == 0
expect vmstat.pgmigrate_success - $migrated > 2500
expect vmstat.pgmigrate_success - $migrated <= $used
expect proc[$p].status.VmRSS == $rss
print vmstat.pgmigrate_success - $migrated

cma_release frame
expect meminfo.CmaFree > 24M
grep -i cma /proc/meminfo
