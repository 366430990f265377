# Tour 3: fragmentation. Free memory is not the same as contiguous memory.
#
# The buddy allocator keeps free memory in blocks of 2^order pages and
# merges a freed block with its "buddy" (the neighbouring block of the same
# size) whenever both are free. Here we take almost every page one at a
# time, then give back every other one: half of memory is free again, but
# no freed page has a free buddy, so nothing merges. A request for 4 MiB of
# contiguous memory (order 10) then fails although about 100 MiB are free,
# and the kernel log shows the report a real kernel prints.
#
# Run it:  mmsim run examples/03-fragmentation.mms
boot ram=256M cpus=1

echo "== after boot: mostly order-10 blocks =="
cat /proc/buddyinfo

# Take all but 16 MiB as single pages (as many small kernel allocations do).
let pages = meminfo.MemFree / 4K - 16M / 4K
alloc_pages order=0 count=$pages gfp=GFP_KERNEL as=small
sleep 1s
echo
echo "== $pages single pages allocated =="
cat /proc/buddyinfo

# Give back every other page.
free_pages small stride=2
sleep 1s
echo
echo "== every other page freed =="
cat /proc/buddyinfo
grep -E "^Free|Unmovable|Movable " /proc/pagetypeinfo
print meminfo.MemFree / 1M
expect meminfo.MemFree > 90M
expect buddyinfo.DMA32[0] > 20000

# Ask for 4 MiB blocks until the allocator cannot find one.
echo
echo "== order-10 requests =="
alloc_pages order=10 count=8 as=big
print alloc.big
expect alloc.big < 8
dmesg | grep -E "page allocation failure|Node 0 DMA32:"

echo
echo "== freeing the other half lets the buddies merge again =="
free_pages small
free_pages big
cat /proc/buddyinfo
expect buddyinfo.DMA32[10] >= 40
