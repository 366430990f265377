# Catalogue case 16: kmalloc, vmalloc and malloc.
# kmalloc hands out physically contiguous memory whose kernel address is
# its physical address plus PAGE_OFFSET (the direct map); vmalloc hands
# out virtually contiguous memory in the vmalloc area, made of single
# pages taken wherever they are and followed by an unmapped guard page;
# malloc gives a process address space that becomes user pages, mapped in
# the process's own page table, as it touches it. page_owner=on records
# who allocated every page.
boot ram=1G cpus=2 page_owner=on

# A machine that has been running: the per-CPU free lists hand pages back
# in no physical order.
alloc_pages order=0 count=256 as=churn
free_pages churn stride=2

let unrec0 = meminfo.SUnreclaim
let used0 = meminfo.VmallocUsed
let pt0 = meminfo.PageTables

# kmalloc 64 KiB: above 8 KiB kmalloc skips the slab caches and takes one
# order-4 block (16 pages) from the page allocator.
kmalloc 64K as=k
expect meminfo.SUnreclaim == $unrec0 + 64K
expect kaddr.k.region == "direct map"
expect kaddr.k.offset == phys.k           # virtual = PAGE_OFFSET + physical
expect floor(pfn.k / 16) * 16 == pfn.k    # an order-4 block starts 16-page aligned
print kaddr.k
print phys.k
grep -c "via order 4," /sys/kernel/debug/page_owner

# vmalloc 64 KiB: 16 order-0 pages from anywhere, mapped one after another
# at the bottom of the vmalloc area, then a guard page: 17 pages of
# address space.
vmalloc 64K as=v
expect vmalloc.v.pages == 16
expect vmalloc.v.size == 64K + 4K
expect vmalloc.v.guard == 4K
expect kaddr.v.region == "vmalloc"
expect kaddr.v.offset == 0                # the first area starts at VMALLOC_START
expect vmalloc.v.runs > 1                 # not physically contiguous
expect meminfo.VmallocUsed == $used0 + 64K
expect meminfo.PageTables == $pt0 + 8K    # the kernel's first PMD and PTE tables here
expect vmallocinfo.areas == 1
print kaddr.v
vmalloc_to_pfn v
cat /proc/vmallocinfo

# malloc(256K) in a process: above the 128 KiB mmap threshold glibc asks
# the kernel for an anonymous mapping, which is only address space until
# the process touches it; each page touched becomes a user page mapped in
# the process's own page table.
spawn hello as=p
let rss0 = proc[$p].status.VmRSS
mmap $p 256K as=buf
expect proc[$p].status.VmRSS == $rss0
touch $p $buf 256K write
expect proc[$p].status.RssAnon >= 256K
expect proc[$p].status.VmRSS == $rss0 + 256K
expect $buf < 0x800000000000              # a user address, below the kernel half

# vfree gives the pages back at once; the range waits, unmapped, on the
# lazy list until 64 MiB of such ranges gather (2 CPUs). What stays is the
# process's kernel stack: 16 KiB of vmalloc (CONFIG_VMAP_STACK), the
# "kernel_clone" line of vmallocinfo.
vfree v
expect meminfo.VmallocUsed == $used0 + 16K
expect meminfo.KernelStack == 16K
expect vmallocinfo.unpurged == 1
cat /proc/vmallocinfo
let unrec1 = meminfo.SUnreclaim         # includes the slabs of vmalloc's bookkeeping
kfree k                                 # the order-4 block goes back whole
expect meminfo.SUnreclaim == $unrec1 - 64K
