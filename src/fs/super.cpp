// The superblock's shrinker (fs/super.c: super_cache_count and
// super_cache_scan). See dcache.h and src/mm/shrinker.h.
#include "fs/dcache.h"
#include "mm/shrinker.h"

namespace mmsim {

namespace {
// mult_frac(x, n, d): x * n / d without overflowing the product.
uint64_t mult_frac(uint64_t x, uint64_t n, uint64_t d) {
    uint64_t q = x / d, r = x % d;
    return q * n + r * n / d;
}
}  // namespace

uint64_t super_cache_count(Kernel& k, int nid) {
    if (!k.sb) return 0;
    uint64_t total = static_cast<uint64_t>(k.sb->dentry_lru_count(nid) + k.sb->inode_lru_count(nid));
    if (total == 0) return 0;  // SHRINK_EMPTY
    // vfs_pressure_ratio()
    return mult_frac(total, static_cast<uint64_t>(k.vm.vfs_cache_pressure),
                     static_cast<uint64_t>(k.vm.vfs_cache_pressure_denom));
}

uint64_t super_cache_scan(Kernel& k, int nid, gfp_t gfp, uint64_t nr_to_scan) {
    if (!(gfp & __GFP_FS)) return SHRINK_STOP;
    uint64_t inodes = static_cast<uint64_t>(k.sb->inode_lru_count(nid));
    uint64_t dentries = static_cast<uint64_t>(k.sb->dentry_lru_count(nid));
    uint64_t total = dentries + inodes + 1;
    // Share the batch between the two LRUs by their lengths; at least one
    // each. Dentries first: they hold the inodes.
    uint64_t d_scan = mult_frac(nr_to_scan, dentries, total);
    uint64_t i_scan = mult_frac(nr_to_scan, inodes, total);
    uint64_t freed = prune_dcache_sb(k, nid, d_scan + 1);
    freed += prune_icache_sb(k, nid, i_scan + 1);
    return freed;
}

}  // namespace mmsim
