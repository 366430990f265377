# The slab allocator: caches, objects, kmalloc, and what /proc/slabinfo and
# meminfo show of them (docs/slab.md).
boot ram=2G cpus=2

# Boot already created the kmalloc caches and the kernel's own: their
# struct kmem_cache and kmem_cache_node objects are the first slab pages.
# The root directory's dentry and inode are the first reclaimable ones.
grep -E '^(Slab|SReclaimable|SUnreclaim)' /proc/meminfo
grep -E '^(# name|kmalloc-64 |kmalloc-192 |task_struct|dentry|kmem_cache)' /proc/slabinfo

# A cache of 200-byte objects: 20 per 4 KiB slab.
kmem_cache_create my_obj size=200
kmem_cache_alloc my_obj count=1000 as=objs
grep '^my_obj' /proc/slabinfo
expect slabinfo.my_obj.active_objs == 1000
expect slabinfo.my_obj.num_slabs == 50

# Free every other object: no slab empties, so every slab stays.
kmem_cache_free objs stride=2
grep '^my_obj' /proc/slabinfo
expect slabinfo.my_obj.num_slabs == 50

# Free the rest: empty slabs go back to the page allocator, except the
# few each node keeps (min_partial) and those parked on the CPUs.
kmem_cache_free objs
grep '^my_obj' /proc/slabinfo
kmem_cache_shrink my_obj
grep '^my_obj' /proc/slabinfo
expect slabinfo.my_obj.num_slabs == 0
kmem_cache_destroy my_obj

# kmalloc picks a size class; __GFP_RECLAIMABLE picks the rcl- caches,
# which count as SReclaimable; above 8 KiB it takes whole pages.
let rcl0 = meminfo.SReclaimable
kmalloc 100 count=64 as=small
kmalloc 300 count=64 gfp=GFP_KERNEL|__GFP_RECLAIMABLE as=rcl
kmalloc 64K as=big
grep -E '^(kmalloc-128|kmalloc-rcl-512) ' /proc/slabinfo
expect slabinfo.kmalloc_128.active_objs >= 64
grep -E '^(Slab|SReclaimable|SUnreclaim)' /proc/meminfo
expect meminfo.SReclaimable - $rcl0 == 32K
kfree small
kfree rcl
kfree big
