# Catalogue case 15: slab caches for dentries and inodes.
#
# Looking up a file leaves its dentry (the name) and its inode (the file)
# cached in slab memory, so a walk over a large tree, like `find /usr`,
# fills the dentry and ext4_inode_cache caches: /proc/slabinfo and slabtop
# show them. Both caches are reclaimable (SLAB_RECLAIM_ACCOUNT), so their
# pages count as SReclaimable, which free adds to buff/cache even though
# no file data is cached. `echo 2 > /proc/sys/vm/drop_caches` runs the
# shrinkers until nothing more goes: every unused dentry and inode is
# freed and the emptied slabs go back to the page allocator (to the
# per-CPU free lists first, which MemFree does not count, so "used" in free
# grows: MemAvailable no longer counts the slab as reclaimable). With
# vm.vfs_cache_pressure at 0 the shrinker offers nothing and the caches
# stay.
boot ram=2G cpus=2

let rec0 = meminfo.SReclaimable
let dentries0 = slabinfo.dentry.active_objs
echo "== a fresh machine: the root's dentry and inode =="
grep -E '^(dentry|ext4_inode_cache) ' /proc/slabinfo
free

# find over 200 directories of 100 files each: 20,201 new entries.
walk_tree /usr/share dirs=200 files=100
echo
echo "== after walking 20,201 entries =="
grep -E '^(dentry|ext4_inode_cache) ' /proc/slabinfo
slabtop -o -s c | head -n 10
grep -E '^(Cached|Slab|SReclaimable|SUnreclaim)' /proc/meminfo
free -w
cat /proc/sys/fs/dentry-state
expect slabinfo.dentry.active_objs - $dentries0 >= 20201
expect slabinfo.ext4_inode_cache.active_objs >= 20202
# No file data is cached: free's buff/cache column is reclaimable slab.
expect meminfo.Cached == 0
expect meminfo.SReclaimable - $rec0 > 25M

# With vfs_cache_pressure 0 the dentry and inode shrinker counts nothing.
sysctl vm.vfs_cache_pressure=0
echo 2 > /proc/sys/vm/drop_caches
expect slabinfo.dentry.active_objs - $dentries0 >= 20201
sysctl vm.vfs_cache_pressure=100

echo 2 > /proc/sys/vm/drop_caches
echo
echo "== after echo 2 > /proc/sys/vm/drop_caches =="
grep -E '^(dentry|ext4_inode_cache) ' /proc/slabinfo
grep -E '^(Slab|SReclaimable|SUnreclaim)' /proc/meminfo
free -w
cat /proc/sys/fs/dentry-state
grep -E '^(slabs_scanned|drop_slab) ' /proc/vmstat
expect slabinfo.dentry.num_objs < 1000
expect slabinfo.ext4_inode_cache.num_objs < 1000
expect meminfo.SReclaimable - $rec0 < 2M
dmesg | grep drop_caches
