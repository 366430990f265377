// The dentry and inode caches, the superblock shrinker and drop_caches
// (src/fs/dcache.h, src/mm/shrinker.h), checked against the kernel's
// rules: do_shrink_slab()'s arithmetic, super_cache_scan()'s split,
// dentry_lru_isolate()'s second chance, mapping_shrinkable() keeping the
// inodes of cached files, and vfs_cache_pressure scaling the count.
#include "fs/dcache.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/text.h"
#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/shrinker.h"
#include "mm/slub.h"
#include "proc/procfs.h"
#include "proc/sysctl.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

uint64_t in_use(const Kernel& k, KmemCache* c) { return slab_objects_in_use(*c, *k.slab); }

void walk(Kernel& k, const std::string& dir, int files) {
    path_lookup(k, dir, true);
    for (int f = 0; f < files; f++) path_lookup(k, dir + "/f" + std::to_string(f));
}

TEST(Dcache, AWalkAllocatesADentryAndAnInodePerNewEntry) {
    auto k = test::boot_ram(512ull << 20, 2);
    // Boot: the root's dentry and inode.
    EXPECT_EQ(dentry_count(*k), 1u);
    EXPECT_EQ(in_use(*k, k->slab->dentry), 1u);
    EXPECT_EQ(in_use(*k, k->slab->ext4_inode_cache), 1u);
    int64_t reclaimable0 = k->global_node_page_state(NR_SLAB_RECLAIMABLE);
    walk(*k, "/srv/a", 500);
    // /srv, /srv/a and 500 files.
    EXPECT_EQ(dentry_count(*k), 1u + 2 + 500);
    EXPECT_EQ(in_use(*k, k->slab->dentry), 1u + 2 + 500);
    EXPECT_EQ(in_use(*k, k->slab->ext4_inode_cache), 1u + 2 + 500);
    // The files and /srv/a (unused when it was looked up) are on the LRU.
    EXPECT_EQ(dentry_unused(*k), 501u);
    EXPECT_EQ(inode_unused(*k), 0u);  // each inode is held by its dentry
    // Both caches are SLAB_RECLAIM_ACCOUNT: their slabs are SReclaimable.
    int64_t slabs = static_cast<int64_t>(
        (k->slab->dentry->node[0].nr_slabs << k->slab->dentry->order) +
        (k->slab->ext4_inode_cache->node[0].nr_slabs << k->slab->ext4_inode_cache->order));
    EXPECT_EQ(k->global_node_page_state(NR_SLAB_RECLAIMABLE), slabs);
    EXPECT_GT(slabs, reclaimable0);
    // A second walk allocates nothing.
    uint64_t before = in_use(*k, k->slab->dentry);
    walk(*k, "/srv/a", 500);
    EXPECT_EQ(in_use(*k, k->slab->dentry), before);
    EXPECT_EQ(*proc_read(*k, "/proc/sys/fs/dentry-state"), "503\t501\t45\t0\t0\t0\n");
    EXPECT_EQ(*proc_read(*k, "/proc/sys/fs/inode-nr"), "503\t0\n");
    k->validate();
}

TEST(Dcache, DropCachesTwoFreesEveryUnusedDentryAndInode) {
    auto k = test::boot_ram(512ull << 20, 2);
    int64_t reclaimable0 = k->global_node_page_state(NR_SLAB_RECLAIMABLE);
    for (int d = 0; d < 20; d++) walk(*k, "/data/d" + std::to_string(d), 100);
    ASSERT_EQ(dentry_count(*k), 1u + 1 + 20 + 2000);
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "2").ok());
    EXPECT_EQ(dentry_count(*k), 1u);  // the root, held by its mount
    EXPECT_EQ(inode_count(*k), 1u);
    EXPECT_EQ(in_use(*k, k->slab->dentry), 1u);
    EXPECT_EQ(in_use(*k, k->slab->ext4_inode_cache), 1u);
    EXPECT_EQ(k->vm_events[DROP_SLAB], 1u);
    EXPECT_GT(k->vm_events[SLABS_SCANNED], 2000u);
    // The emptied slabs went back to the page allocator, but for those a
    // cache may keep: min_partial on the node's list, and on each CPU its
    // slab and a cpu-partial list of up to cpu_partial_slabs.
    int64_t kept = k->global_node_page_state(NR_SLAB_RECLAIMABLE);
    int64_t bound = 0;
    for (const KmemCache* c : {k->slab->dentry, k->slab->ext4_inode_cache})
        bound +=
            static_cast<int64_t>((c->min_partial + k->cpus.size() * (1 + c->cpu_partial_slabs)) << c->order);
    EXPECT_LE(kept, bound);
    EXPECT_LT(kept, reclaimable0 + bound);
    k->validate();
}

TEST(Dcache, VfsCachePressureZeroKeepsTheCaches) {
    auto k = test::boot_ram(512ull << 20, 2);
    walk(*k, "/data", 300);
    ASSERT_TRUE(sysctl_vm_write(*k, "vfs_cache_pressure", "0").ok());
    EXPECT_EQ(super_cache_count(*k, 0), 0u);
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "2").ok());
    EXPECT_EQ(dentry_count(*k), 1u + 1 + 300);
    EXPECT_EQ(k->vm_events[SLABS_SCANNED], 0u);
    // 200/100: twice the unused objects are offered.
    ASSERT_TRUE(sysctl_vm_write(*k, "vfs_cache_pressure", "200").ok());
    EXPECT_EQ(super_cache_count(*k, 0), 2u * 301);
    ASSERT_TRUE(sysctl_vm_write(*k, "vfs_cache_pressure_denom", "1000").ok());
    EXPECT_EQ(super_cache_count(*k, 0), 301u * 200 / 1000);
}

// do_shrink_slab(): delta = (freeable >> priority) * 4 / seeks, capped at
// twice freeable; batches while a batch (or all of freeable) is left; the
// rest deferred.
TEST(Shrinker, DoShrinkSlabFollowsTheKernelsArithmetic) {
    auto k = test::boot_ram(256ull << 20, 1);
    uint64_t freeable = 1000;
    std::vector<uint64_t> asked;
    Shrinker s;
    s.count_objects = [&](Kernel&, int) { return freeable; };
    s.scan_objects = [&](Kernel&, int, gfp_t, uint64_t nr) {
        asked.push_back(nr);
        return nr / 2;
    };
    s.nr_deferred.assign(1, 0);
    uint64_t scanned0 = k->vm_events[SLABS_SCANNED];
    // Priority 0: 2000 to scan, 15 batches of 128, 80 deferred.
    EXPECT_EQ(do_shrink_slab(*k, s, 0, GFP_KERNEL, 0), 15u * 64);
    EXPECT_EQ(asked.size(), 15u);
    EXPECT_EQ(k->vm_events[SLABS_SCANNED] - scanned0, 15u * 128);
    EXPECT_EQ(s.nr_deferred[0], 80);
    // Priority 12 with 1000 objects: no new work; the 80 deferred >> 12 is 0.
    asked.clear();
    EXPECT_EQ(do_shrink_slab(*k, s, 0, GFP_KERNEL, 12), 0u);
    EXPECT_TRUE(asked.empty());
    EXPECT_EQ(s.nr_deferred[0], 80);  // nr + 0 - 0, kept
    // A small cache: 60 objects, priority 0: 120 to scan (< a batch but
    // >= freeable): one call of 120.
    freeable = 60;
    s.nr_deferred[0] = 0;
    asked.clear();
    do_shrink_slab(*k, s, 0, GFP_KERNEL, 0);
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0], 120u);
    // seeks 0: half of freeable.
    s.seeks = 0;
    freeable = 1000;
    s.nr_deferred[0] = 0;
    asked.clear();
    do_shrink_slab(*k, s, 0, GFP_KERNEL, 0);
    EXPECT_EQ(asked.size(), 3u);  // 500: 128, 128, 128, then 116 < 128 and < 1000
    EXPECT_EQ(s.nr_deferred[0], 500 - 384);
}

// super_cache_scan(): the batch split by LRU lengths (mult_frac against
// dentries + inodes + 1), plus one each; dentries first.
TEST(Shrinker, SuperCacheScanSplitsTheBatchByLruLength) {
    auto k = test::boot_ram(512ull << 20, 1);
    walk(*k, "/d", 300);  // /d and 300 files on the LRU
    ASSERT_EQ(dentry_unused(*k), 301u);
    // Prune only dentries: /d is in use (leaves the LRU), the files go and
    // /d with them; each iput puts an inode on the inode LRU.
    EXPECT_EQ(prune_dcache_sb(*k, 0, 301), 301u);
    EXPECT_EQ(dentry_count(*k), 1u);
    EXPECT_EQ(inode_unused(*k), 301u);
    walk(*k, "/e", 99);  // /e and 99 files: 100 on the dentry LRU
    ASSERT_EQ(dentry_unused(*k), 100u);
    // nr_to_scan 128 over 100 + 301 + 1: dentries mult_frac(128, 100, 402)
    // = 31, inodes mult_frac(128, 301, 402) = 95; the prunes look at one
    // more each: /e leaves the LRU and 31 files go, then 96 inodes go.
    uint64_t freed = super_cache_scan(*k, 0, GFP_KERNEL, 128);
    EXPECT_EQ(freed, 32u + 96u);
    EXPECT_EQ(dentry_unused(*k), 100u - 32);
    // The 31 freed dentries put their inodes at the LRU's tail.
    EXPECT_EQ(inode_unused(*k), 301u + 31 - 96);
    // Without __GFP_FS the shrinker refuses (SHRINK_STOP).
    EXPECT_EQ(super_cache_scan(*k, 0, GFP_NOFS, 128), SHRINK_STOP);
    k->validate();
}

// dentry_lru_isolate(): a dentry looked up again while on the LRU gets one
// more pass; a dentry in use leaves the LRU without being freed.
TEST(Dcache, ReferencedDentriesGetASecondPass) {
    auto k = test::boot_ram(512ull << 20, 1);
    walk(*k, "/x", 10);  // /x joins the LRU while it has no children yet
    walk(*k, "/x", 10);  // the ten files are now referenced
    // /x has children: in use, it leaves the LRU (counted as isolated);
    // the files rotate.
    EXPECT_EQ(prune_dcache_sb(*k, 0, 11), 1u);
    EXPECT_EQ(dentry_count(*k), 1u + 11);
    EXPECT_EQ(dentry_unused(*k), 10u);
    // Second pass: the files go, and /x with the last of them
    // (shrink_kill() kills a parent left with no references).
    EXPECT_EQ(prune_dcache_sb(*k, 0, 11), 10u);
    EXPECT_EQ(dentry_count(*k), 1u);
    EXPECT_EQ(dentry_unused(*k), 0u);
    EXPECT_EQ(inode_unused(*k), 11u);
    k->validate();
}

// mapping_shrinkable(): an inode with page cache stays when its dentry is
// freed; drop_caches 1 empties the cache and puts it on the LRU, and
// drop_caches 2 then frees it. A mapped file keeps its dentry.
TEST(Dcache, CachedFilesKeepTheirInodesUntilTheirPagesGo) {
    auto k = test::boot_ram(512ull << 20, 1);
    Inode& f = k->files->create("/var/log/big", 64 * PAGE_SIZE);
    path_lookup(*k, "/var/log/big");
    for (uint64_t i = 0; i < 64; i++) ASSERT_TRUE(filemap_get_or_read(*k, f, i, nullptr).ok());
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "2").ok());
    EXPECT_EQ(dentry_count(*k), 1u);
    EXPECT_EQ(inode_count(*k), 2u);  // the root and the cached file
    EXPECT_EQ(k->global_node_page_state(NR_FILE_PAGES), 64);
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "1").ok());
    EXPECT_EQ(k->global_node_page_state(NR_FILE_PAGES), 0);
    EXPECT_EQ(inode_unused(*k), 1u);
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "2").ok());
    EXPECT_EQ(inode_count(*k), 1u);
    EXPECT_EQ(k->vm_events[DROP_PAGECACHE], 1u);
    EXPECT_EQ(k->vm_events[DROP_SLAB], 2u);

    // A running program maps its binary and libraries: their dentries and
    // the directories above them stay, and their mapped pages too.
    auto t = spawn_process(*k, "bash", {"bash"}, 0);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "3").ok());
    EXPECT_GT(dentry_count(*k), 4u);
    const Inode* bash = k->files->find((*t)->exe);
    ASSERT_NE(bash, nullptr);
    EXPECT_FALSE(bash->mapping.pages.empty());
    k->validate();
}

// The real kernel, walking the same tree (tests/data/host-6.18/dcache:
// `find -ls` over 20 directories of 100 files on ext4, between two
// `drop_caches 2`): nr_dentry and ext4_inode_cache grow by about one per
// entry (the host adds a little noise from other lookups), a second walk
// adds nothing, and drop_caches 2 returns both to where they started.
TEST(Dcache, AWalkAndADropMoveTheCountsAsTheHostsDo) {
    std::map<std::string, std::vector<long>> host;  // step -> dentry objs, inode objs, nr_dentry, unused
    for (const std::string& line : split_lines(test::read_data("host-6.18/dcache/walk.out"))) {
        std::vector<std::string> w = split_ws(line);
        if (w.size() != 4) continue;
        auto comma = w[3].find(',');
        host[w[0]] = {std::stol(w[1]), std::stol(w[2]), std::stol(w[3].substr(0, comma)),
                      std::stol(w[3].substr(comma + 1))};
    }
    ASSERT_EQ(host.size(), 4u);
    auto k = test::boot_ram(1ull << 30, 2);
    path_lookup(*k, "/var/tmp/mmsim-walk", true);
    auto state = [&] {
        return std::vector<long>{0, static_cast<long>(in_use(*k, k->slab->ext4_inode_cache)),
                                 static_cast<long>(dentry_count(*k)), static_cast<long>(dentry_unused(*k))};
    };
    auto find_ls = [&] {
        path_lookup(*k, "/var/tmp/mmsim-walk", true);
        for (int d = 0; d < 20; d++) {
            std::string dir = fmt::format("/var/tmp/mmsim-walk/d{:02}", d);
            path_lookup(*k, dir, true);
            for (int f = 0; f < 100; f++) path_lookup(*k, fmt::format("{}/f{:02}", dir, f));
        }
    };
    std::vector<long> before = state();
    find_ls();
    std::vector<long> walked = state();
    find_ls();
    std::vector<long> again = state();
    ASSERT_TRUE(sysctl_vm_write(*k, "drop_caches", "2").ok());
    std::vector<long> dropped = state();
    const long entries = 20 + 2000;
    // The simulation: exactly one dentry and one inode per new entry.
    EXPECT_EQ(walked[2] - before[2], entries);
    EXPECT_EQ(walked[1] - before[1], entries);
    EXPECT_EQ(walked[3] - before[3], entries);
    // The host: the same within its noise (2%).
    for (int i : {1, 2, 3}) {
        long host_delta = host["after-walk"][i] - host["before"][i];
        EXPECT_NEAR(static_cast<double>(walked[i] - before[i]), static_cast<double>(host_delta),
                    0.02 * entries)
            << "column " << i;
        EXPECT_EQ(host["after-second-walk"][i], host["after-walk"][i]);
        EXPECT_EQ(again[i], walked[i]);
    }
    // drop_caches 2: back to the start (the host's dentries even below it:
    // its first drop ran while the freshly created tree was still being
    // written back), on the host within its noise.
    EXPECT_NEAR(static_cast<double>(host["after-drop"][1]), static_cast<double>(host["before"][1]),
                0.02 * entries);
    EXPECT_LE(host["after-drop"][2], host["before"][2]);
    EXPECT_EQ(dropped[2], 1);  // only the root is left: nothing else holds a dentry here
    EXPECT_EQ(dropped[1], 1);
}

}  // namespace
}  // namespace mmsim

namespace mmsim {
namespace {

// Negative dentries (d_alloc + a lookup that finds nothing): on the LRU
// once unused, counted in dentry-state's nr_negative, pruned like any
// unused dentry, and made positive when the name is created.
TEST(Dcache, ALookupOfAMissingNameLeavesANegativeDentry) {
    auto k = test::boot_ram(512ull << 20, 2);
    EXPECT_FALSE(path_lookup_missing(*k, "/etc/ld.so.preload"));
    // /etc and the negative ld.so.preload; only the latter is unused.
    EXPECT_EQ(dentry_count(*k), 1u + 2);
    EXPECT_EQ(inode_count(*k), 1u + 1);
    EXPECT_EQ(dentry_negative(*k), 1u);
    EXPECT_EQ(*proc_read(*k, "/proc/sys/fs/dentry-state"), "3\t1\t45\t0\t1\t0\n");
    // A second lookup finds it: nothing new.
    EXPECT_FALSE(path_lookup_missing(*k, "/etc/ld.so.preload"));
    EXPECT_EQ(dentry_count(*k), 3u);
    // Creating the name instantiates the same dentry.
    k->files->create("/etc/ld.so.preload", 100);
    path_lookup(*k, "/etc/ld.so.preload");
    EXPECT_EQ(dentry_count(*k), 3u);
    EXPECT_EQ(dentry_negative(*k), 0u);
    EXPECT_EQ(inode_count(*k), 3u);
    EXPECT_TRUE(path_lookup_missing(*k, "/etc/ld.so.preload"));
    // drop_caches 2 frees a negative dentry with the rest.
    EXPECT_FALSE(path_lookup_missing(*k, "/etc/nothing"));
    EXPECT_EQ(dentry_negative(*k), 1u);
    drop_caches(*k, 2);
    EXPECT_EQ(dentry_negative(*k), 0u);
    EXPECT_EQ(dentry_count(*k), 1u);
    validate_dcache(*k);
}

// Every exec of a dynamically linked program asks for /etc/ld.so.preload
// (strace of /bin/true on the host: access("/etc/ld.so.preload", R_OK) =
// -1 ENOENT): one negative dentry, shared by later execs.
TEST(Dcache, ExecLeavesTheNegativeDentryOfLdSoPreload) {
    auto k = test::boot_ram(512ull << 20, 2);
    ASSERT_TRUE(spawn_process(*k, "hello", {"hello"}, 0).ok());
    EXPECT_EQ(dentry_negative(*k), 1u);
    ASSERT_TRUE(spawn_process(*k, "bash", {"bash"}, 0).ok());
    EXPECT_EQ(dentry_negative(*k), 1u);
    validate_dcache(*k);
}

}  // namespace
}  // namespace mmsim

namespace mmsim {
namespace {

// Names of 40 bytes or more get a kmalloc'd external name of 25 + len
// bytes from the reclaimable kmalloc caches; tests/data/host-6.18/dcache/
// names.out shows 2000 lookups of 39-byte names adding nothing there, of
// 40- and 71-byte names about 2000 kmalloc-rcl-96 objects, of 72-byte
// names about 2000 kmalloc-rcl-128 objects.
TEST(Dcache, LongNamesTakeAnExternalNameFromKmallocRcl) {
    auto k = test::boot_ram(512ull << 20, 2);
    KmemCache* rcl96 = k->slab->find("kmalloc-rcl-96");
    KmemCache* rcl128 = k->slab->find("kmalloc-rcl-128");
    ASSERT_TRUE(rcl96 && rcl128);
    std::map<std::size_t, std::pair<uint64_t, uint64_t>> grew;
    for (std::size_t len : {39u, 40u, 71u, 72u}) {
        const uint64_t a96 = in_use(*k, rcl96), a128 = in_use(*k, rcl128);
        const std::string dir = fmt::format("/names{}", len);
        path_lookup(*k, dir, true);
        for (int f = 0; f < 2000; f++)
            path_lookup(*k, fmt::format("{}/{}{:05}", dir, std::string(len - 5, 'x'), f));
        grew[len] = {in_use(*k, rcl96) - a96, in_use(*k, rcl128) - a128};
    }
    EXPECT_EQ(grew[39], std::make_pair(uint64_t{0}, uint64_t{0}));
    EXPECT_EQ(grew[40], std::make_pair(uint64_t{2000}, uint64_t{0}));
    EXPECT_EQ(grew[71], std::make_pair(uint64_t{2000}, uint64_t{0}));
    EXPECT_EQ(grew[72], std::make_pair(uint64_t{0}, uint64_t{2000}));
    // The names go with their dentries.
    drop_caches(*k, 2);
    EXPECT_EQ(in_use(*k, rcl96), 0u);
    EXPECT_EQ(in_use(*k, rcl128), 0u);
    validate_slab(*k);
}

}  // namespace
}  // namespace mmsim
