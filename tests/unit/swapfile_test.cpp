// Swap devices (src/mm/swapfile.cpp): entries, the slot map and its
// continuation pages, the cluster allocator's order, priorities, swapon and
// swapoff with their errnos, /proc/swaps and util-linux swapon's listings
// against the 6.18 host (tests/data/host-6.18/swapon), meminfo and
// CommitLimit, the boot line and machine files.
//
// The allocator's order is 6.18's: a device's first slot is 1 (cluster 0
// holds the header and starts on the nonfull list), then the rest of that
// cluster, then free clusters in index order; a discarding device takes free
// clusters first. Solid-state devices keep a cluster per CPU, rotational
// ones go through the slow path for every slot.
#include "mm/swapfile.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "base/diag.h"
#include "machine/machine.h"
#include "mm/mm_init.h"
#include "mm/show_mem.h"
#include "proc/procfs.h"
#include "scenario/commands.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

constexpr uint64_t MiB = 1ull << 20;

std::unique_ptr<Kernel> boot(const std::string& ram = "1G", std::vector<BootArg> extra = {}) {
    std::vector<BootArg> args{{"ram", ram, {}}, {"cpus", "2", {}}};
    for (auto& a : extra) args.push_back(a);
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"<test>", 1, 1}));
}

// mkswap + swapon; ASSERTs success.
void swapon(Kernel& k, const std::string& path, uint64_t bytes, SwapMedium medium = SwapMedium::Disk,
            int flags = 0, bool blkdev = false) {
    ASSERT_TRUE(mkswap(k, make_swap_area(path, bytes, blkdev, medium)).ok());
    auto r = sys_swapon(k, path, flags);
    ASSERT_TRUE(r.ok()) << errno_name(r.err()) << " " << r.error().message;
}

int prio(int p) { return SWAP_FLAG_PREFER | p; }

SwpEntry alloc(Kernel& k) {
    auto r = folio_alloc_swap(k);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : SwpEntry{};
}

uint64_t meminfo_kb(const Kernel& k, const std::string& key) {
    std::istringstream in(*proc_read(k, "/proc/meminfo"));
    std::string name, unit;
    uint64_t v;
    while (in >> name >> v) {
        std::getline(in, unit);
        if (name == key + ":") return v;
    }
    ADD_FAILURE() << key << " not in /proc/meminfo";
    return 0;
}

std::string log_text(const Kernel& k) {
    std::string out;
    for (const auto& r : k.log.records()) out += r.text + "\n";
    return out;
}

// ---- entries ---------------------------------------------------------------------------

TEST(SwapEntry, LayoutIsTheKernels) {
    // Type in the top five bits of the 63-bit xarray value, offset below.
    EXPECT_EQ(SWP_TYPE_SHIFT, 58u);
    EXPECT_EQ(swp_entry(3, 0x1234).val, (uint64_t{3} << 58) | 0x1234);
    EXPECT_EQ(swp_type(swp_entry(23, 99)), 23u);
    EXPECT_EQ(swp_offset(swp_entry(23, 99)), 99u);
    EXPECT_EQ(swp_offset(swp_entry(1, ~uint64_t{0})), SWP_OFFSET_MASK);
    // Debian's config: 32 - 3 device-private - 3 migration - 1 hwpoison - 1 marker.
    EXPECT_EQ(MAX_SWAPFILES, 24u);
    EXPECT_EQ(SWP_HWPOISON, 24u);
    EXPECT_EQ(SWP_MIGRATION_WRITE, 27u);
    EXPECT_EQ(SWP_DEVICE_EXCLUSIVE, 30u);
    EXPECT_EQ(SWP_PTE_MARKER, 31u);
}

// ---- the allocator's order -------------------------------------------------------------

TEST(SwapAlloc, SolidStateHandsOutClusterByCluster) {
    auto k = boot();
    swapon(*k, "/swap", 8 * MiB, SwapMedium::Ssd);  // 2048 slots: clusters 0..3
    for (uint64_t want = 1; want < 2048; want++) {
        SwpEntry e = alloc(*k);
        ASSERT_EQ(swp_type(e), 0u);
        ASSERT_EQ(swp_offset(e), want);
    }
    EXPECT_EQ(folio_alloc_swap(*k).err(), Errno::NOMEM);
    // The CPU still names the device, with no next offset: the last cluster filled.
    EXPECT_EQ(k->swap->percpu[0].si[0], 0);
    EXPECT_EQ(k->swap->percpu[0].offset[0], 0u);
    k->validate();
}

TEST(SwapAlloc, RotationalDiskUsesTheGlobalClusterInTheSameOrder) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB);
    for (uint64_t want = 1; want <= 600; want++) ASSERT_EQ(swp_offset(alloc(*k)), want);
    const SwapInfo& si = *k->swap->swap_info[0];
    EXPECT_FALSE(si.solid_state());
    EXPECT_TRUE(si.has_global_cluster);
    EXPECT_EQ(si.global_next[0], 601u);
    EXPECT_EQ(k->swap->percpu[0].si[0], -1);
    k->validate();
}

TEST(SwapAlloc, DiscardingDeviceTakesFreeClustersFirst) {
    auto k = boot();
    swapon(*k, "/swap", 8 * MiB, SwapMedium::Ssd, SWAP_FLAG_DISCARD);
    std::vector<uint64_t> got;
    for (int i = 0; i < 2047; i++) got.push_back(swp_offset(alloc(*k)));
    EXPECT_EQ(got[0], 512u);
    EXPECT_EQ(got[511], 1023u);
    EXPECT_EQ(got[512], 1024u);
    EXPECT_EQ(got[1536], 1u);  // the header's cluster last
    EXPECT_EQ(got[2046], 511u);
    // Emptying cluster 1 sends it to the discard list; the discard work
    // (at the next clock step) frees it and its swap table.
    for (uint64_t o = 512; o < 1024; o++) put_swap_folio(*k, swp_entry(0, o));
    const SwapInfo& si = *k->swap->swap_info[0];
    EXPECT_EQ(si.discard_clusters.nr, 1u);
    EXPECT_TRUE(si.cluster_info[1].has_table);
    k->validate();
    k->clock.advance_by(1);
    EXPECT_EQ(si.discard_clusters.nr, 0u);
    EXPECT_EQ(si.free_clusters.nr, 1u);
    EXPECT_FALSE(si.cluster_info[1].has_table);
    EXPECT_EQ(swp_offset(alloc(*k)), 512u);
    k->validate();
}

TEST(SwapAlloc, FreedSlotIsReusedWhenItsClusterComesRoundAgain) {
    auto k = boot();
    swapon(*k, "/swap", 8 * MiB, SwapMedium::Ssd);
    for (int i = 0; i < 600; i++) alloc(*k);
    put_swap_folio(*k, swp_entry(0, 5));  // cluster 0 goes to the nonfull list
    EXPECT_EQ(k->swap->swap_info[0]->nonfull_clusters[0].nr, 1u);
    // The CPU's cluster (1) goes on first...
    for (uint64_t want = 601; want < 1024; want++) ASSERT_EQ(swp_offset(alloc(*k)), want);
    // ... and then the nonfull cluster is scanned from its start.
    EXPECT_EQ(swp_offset(alloc(*k)), 5u);
    EXPECT_EQ(swp_offset(alloc(*k)), 1024u);
    k->validate();
}

TEST(SwapAlloc, FullDeviceGivesENOMEMAndComesBackWhenASlotIsFreed) {
    auto k = boot();
    swapon(*k, "/small", 40 * 1024, SwapMedium::Ssd);  // mkswap's minimum: 9 usable slots
    for (uint64_t want = 1; want <= 9; want++) EXPECT_EQ(swp_offset(alloc(*k)), want);
    EXPECT_EQ(folio_alloc_swap(*k).err(), Errno::NOMEM);
    EXPECT_EQ(get_nr_swap_pages(*k), 0u);
    EXPECT_EQ(meminfo_kb(*k, "SwapFree"), 0u);
    EXPECT_EQ(meminfo_kb(*k, "SwapTotal"), 36u);
    EXPECT_TRUE(k->swap->avail_heads[0].empty());  // off the avail list
    k->validate();
    put_swap_folio(*k, swp_entry(0, 4));
    EXPECT_EQ(k->swap->avail_heads[0].size(), 1u);
    EXPECT_EQ(swp_offset(alloc(*k)), 4u);
    k->validate();
}

TEST(SwapAlloc, HigherPriorityFirstThenTheNext) {
    auto k = boot();
    swapon(*k, "/low", 4 * MiB);
    swapon(*k, "/high", 40 * 1024, SwapMedium::Disk, prio(10));
    for (int i = 0; i < 9; i++) EXPECT_EQ(swp_type(alloc(*k)), 1u);
    SwpEntry e = alloc(*k);
    EXPECT_EQ(swp_type(e), 0u);
    EXPECT_EQ(swp_offset(e), 1u);
    k->validate();
}

TEST(SwapAlloc, EqualPrioritiesTakeTurnsSlotBySlotOnRotationalDisks) {
    auto k = boot();
    swapon(*k, "/a", 4 * MiB, SwapMedium::Disk, prio(5));
    swapon(*k, "/b", 4 * MiB, SwapMedium::Disk, prio(5));
    for (uint64_t i = 1; i <= 100; i++) {
        SwpEntry a = alloc(*k), b = alloc(*k);
        ASSERT_EQ(swp_type(a), 0u);
        ASSERT_EQ(swp_type(b), 1u);
        ASSERT_EQ(swp_offset(a), i);
        ASSERT_EQ(swp_offset(b), i);
    }
    k->validate();
}

TEST(SwapAlloc, EqualPrioritiesTakeTurnsClusterByClusterOnSolidState) {
    auto k = boot();
    swapon(*k, "/a", 4 * MiB, SwapMedium::Ssd, prio(5));
    swapon(*k, "/b", 4 * MiB, SwapMedium::Ssd, prio(5));
    // The CPU keeps its cluster until it is full; the next device gets the next turn.
    for (uint64_t o = 1; o < 512; o++) ASSERT_EQ(alloc(*k).val, swp_entry(0, o).val);
    for (uint64_t o = 1; o < 512; o++) ASSERT_EQ(alloc(*k).val, swp_entry(1, o).val);
    EXPECT_EQ(alloc(*k).val, swp_entry(0, 512).val);
    // Another CPU starts its own cluster.
    k->current_cpu = 1;
    EXPECT_EQ(alloc(*k).val, swp_entry(1, 512).val);
    EXPECT_EQ(alloc(*k).val, swp_entry(1, 513).val);
    k->current_cpu = 0;
    EXPECT_EQ(alloc(*k).val, swp_entry(0, 513).val);
    k->validate();
}

TEST(SwapAlloc, GetSwapPageOfTypeTakesACountNotTheCache) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);
    SwpEntry e = get_swap_page_of_type(*k, 0);
    EXPECT_EQ(e.val, swp_entry(0, 1).val);
    EXPECT_EQ(__swap_count(*k, e), 1);
    EXPECT_FALSE(swap_has_cache(*k, e));
    EXPECT_EQ(get_swap_page_of_type(*k, 5).val, 0u);
    swap_free(*k, e);
    EXPECT_EQ(k->swap->swap_info[0]->inuse_pages, 0u);
    k->validate();
}

// ---- references ----------------------------------------------------------------------------

TEST(SwapCount, CacheBitAndReferencesFreeTheSlotWhenBothAreGone) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);
    SwpEntry e = alloc(*k);  // reclaim: the folio enters the swap cache
    EXPECT_TRUE(swap_has_cache(*k, e));
    EXPECT_EQ(__swap_count(*k, e), 0);
    EXPECT_EQ(swap_duplicate(*k, e), 0);  // try_to_unmap installs the entry
    EXPECT_EQ(swap_duplicate(*k, e), 0);  // fork copies it
    EXPECT_EQ(swp_swapcount(*k, e), 2);
    EXPECT_TRUE(swap_entry_swapped(*k, e));
    EXPECT_EQ(swapcache_prepare(*k, e), -EEXIST);  // the folio is still cached
    put_swap_folio(*k, e);                         // the folio leaves the cache
    EXPECT_FALSE(swap_has_cache(*k, e));
    EXPECT_EQ(swapcache_prepare(*k, e), 0);  // a swap-in reads it again
    swapcache_clear(*k, e);                  // ... and gives up
    swap_free(*k, e);
    EXPECT_EQ(swp_swapcount(*k, e), 1);
    EXPECT_EQ(k->swap->swap_info[0]->inuse_pages, 1u);
    swap_free_nr(*k, e, 1);
    EXPECT_EQ(k->swap->swap_info[0]->swap_map[1], 0);
    EXPECT_EQ(k->swap->swap_info[0]->inuse_pages, 0u);
    EXPECT_EQ(swapcache_prepare(*k, e), -ENOENT);                // free now
    EXPECT_EQ(swapcache_prepare(*k, swp_entry(0, 0)), -ENOENT);  // the header
    EXPECT_EQ(swap_duplicate(*k, swp_entry(0, 0)), 0);           // refused, reported as 0
    EXPECT_EQ(swapcache_prepare(*k, swp_entry(7, 1)), -EINVAL);
    k->validate();
}

TEST(SwapCount, FreeingAFreeSlotIsReportedLikeTheKernel) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);
    swap_free(*k, swp_entry(0, 9));
    swap_free(*k, swp_entry(5, 9));
    swap_free(*k, swp_entry(0, 99999));
    std::string log = log_text(*k);
    EXPECT_NE(log.find(fmt::format("_swap_info_get: Unused swap offset entry {:08x}", swp_entry(0, 9).val)),
              std::string::npos)
        << log;
    EXPECT_NE(log.find(fmt::format("_swap_info_get: Bad swap file entry {:08x}", swp_entry(5, 9).val)),
              std::string::npos);
    EXPECT_NE(log.find(fmt::format("_swap_info_get: Bad swap offset entry {:08x}", swp_entry(0, 99999).val)),
              std::string::npos);
}

TEST(SwapCount, CountsAboveSwapMapMaxContinueInContinuationPages) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);
    SwpEntry e = alloc(*k);
    // 62 fits the map byte; 63 .. 62 + 63 * 127 = 8063 need one page; more a second.
    const int top = 8200;
    for (int i = 1; i <= top; i++) {
        ASSERT_EQ(swap_duplicate(*k, e), 0);
        ASSERT_EQ(swp_swapcount(*k, e), i);
    }
    EXPECT_EQ(swp_swapcount(*k, e), top);
    const SwapInfo& si = *k->swap->swap_info[0];
    EXPECT_TRUE(si.flags & SWP_CONTINUED);
    EXPECT_TRUE(si.swap_map[1] & COUNT_CONTINUED);
    EXPECT_EQ(si.continuations.at(0).size(), 2u);
    k->validate();
    for (int i = top; i >= 1; i--) {
        swap_free(*k, e);
        ASSERT_EQ(swp_swapcount(*k, e), i - 1) << i;
    }
    EXPECT_EQ(swp_swapcount(*k, e), 0);
    EXPECT_EQ(si.swap_map[1], SWAP_HAS_CACHE);
    put_swap_folio(*k, e);
    EXPECT_EQ(si.inuse_pages, 0u);
    k->validate();
}

TEST(SwapCount, FreeSwapAndCacheAsksTheSwapCacheToDropUnmappedFolios) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);
    static std::vector<uint64_t> asked;
    asked.clear();
    k->swap->try_to_reclaim = [](Kernel& kk, SwpEntry e, unsigned flags) {
        asked.push_back(swp_offset(e));
        EXPECT_EQ(flags, TTRS_UNMAPPED | TTRS_FULL);
        put_swap_folio(kk, e);  // the swap cache let the folio go
        return 1;
    };
    SwpEntry a = alloc(*k), b = alloc(*k);
    swap_duplicate(*k, a);
    swap_duplicate(*k, b);
    swap_duplicate(*k, b);  // b is still mapped elsewhere
    free_swap_and_cache_nr(*k, a, 2);
    EXPECT_EQ(asked, std::vector<uint64_t>{1});
    EXPECT_EQ(k->swap->swap_info[0]->swap_map[1], 0);
    EXPECT_EQ(k->swap->swap_info[0]->swap_map[2], SWAP_HAS_CACHE | 1);
    k->validate();
}

TEST(SwapCount, ReclaimWorkFreesCacheOnlySlotsOfAFullDevice) {
    auto k = boot();
    swapon(*k, "/small", 40 * 1024, SwapMedium::Ssd);
    k->swap->try_to_reclaim = [](Kernel& kk, SwpEntry e, unsigned flags) {
        EXPECT_EQ(flags, TTRS_ANYWAY);
        put_swap_folio(kk, e);
        return 1;
    };
    for (int i = 0; i < 9; i++) alloc(*k);
    EXPECT_TRUE(vm_swap_full(*k));
    EXPECT_EQ(folio_alloc_swap(*k).err(), Errno::NOMEM);
    // swap_range_alloc() queued the device's reclaim work when it filled.
    k->clock.advance_by(1);
    EXPECT_EQ(k->swap->swap_info[0]->inuse_pages, 0u);
    EXPECT_EQ(swp_offset(alloc(*k)), 1u);
    k->validate();
}

TEST(SwapCount, VmSwapFullAboveHalf) {
    auto k = boot();
    EXPECT_FALSE(vm_swap_full(*k));
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);  // 1023 slots
    for (int i = 0; i < 511; i++) alloc(*k);
    EXPECT_FALSE(vm_swap_full(*k));  // 512 free: 1024 > 1023
    alloc(*k);
    EXPECT_TRUE(vm_swap_full(*k));  // 511 free
}

// ---- swapon and swapoff ----------------------------------------------------------------

TEST(Swapon, ErrnosAreTheKernels) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB);
    EXPECT_EQ(sys_swapon(*k, "/swap", 0).err(), Errno::BUSY);
    EXPECT_EQ(sys_swapon(*k, "/nothing", 0).err(), Errno::NOENT);
    ASSERT_TRUE(mkswap(*k, make_swap_area("/other", 4 * MiB, false, SwapMedium::Disk)).ok());
    EXPECT_EQ(sys_swapon(*k, "/other", 0x80000).err(), Errno::INVAL);  // an unknown flag
    // A bad header: no signature, another version, no pages, bad pages in a file.
    SwapArea bad = make_swap_area("/bad", 4 * MiB, false, SwapMedium::Disk);
    bad.signature = false;
    ASSERT_TRUE(mkswap(*k, bad).ok());
    EXPECT_EQ(sys_swapon(*k, "/bad", 0).err(), Errno::INVAL);
    EXPECT_NE(log_text(*k).find("Unable to find swap-space signature"), std::string::npos);
    bad.signature = true;
    bad.version = 2;
    ASSERT_TRUE(mkswap(*k, bad).ok());
    EXPECT_EQ(sys_swapon(*k, "/bad", 0).err(), Errno::INVAL);
    EXPECT_NE(log_text(*k).find("Unable to handle swap header version 2"), std::string::npos);
    bad.version = 1;
    bad.last_page = 0;
    ASSERT_TRUE(mkswap(*k, bad).ok());
    EXPECT_EQ(sys_swapon(*k, "/bad", 0).err(), Errno::INVAL);
    EXPECT_NE(log_text(*k).find("Empty swap-file"), std::string::npos);
    bad.last_page = 2000;  // beyond the 1024 pages of the file
    ASSERT_TRUE(mkswap(*k, bad).ok());
    EXPECT_EQ(sys_swapon(*k, "/bad", 0).err(), Errno::INVAL);
    EXPECT_NE(log_text(*k).find("Swap area shorter than signature indicates"), std::string::npos);
    bad.last_page = 1023;
    bad.badpages = {7};
    ASSERT_TRUE(mkswap(*k, bad).ok());
    EXPECT_EQ(sys_swapon(*k, "/bad", 0).err(), Errno::INVAL);  // only partitions list bad pages
    // swapoff: not swap, no such area.
    EXPECT_EQ(sys_swapoff(*k, "/other").err(), Errno::INVAL);
    EXPECT_EQ(sys_swapoff(*k, "/nothing").err(), Errno::NOENT);
    // mkswap over an area in use.
    EXPECT_EQ(mkswap(*k, make_swap_area("/swap", 8 * MiB, false, SwapMedium::Disk)).err(), Errno::BUSY);
    // Failed swapons leave their types free for the next one.
    EXPECT_EQ(k->swap->swap_info.size(), 2u);
    swapon(*k, "/other", 4 * MiB);
    EXPECT_EQ(k->swap->swap_info[1]->path, "/other");
    k->validate();
}

TEST(Swapon, BadPagesOfAPartitionAreNeverHandedOut) {
    auto k = boot();
    SwapArea a = make_swap_area("/dev/vdc", 4 * MiB, true, SwapMedium::Ssd);
    a.badpages = {2, 3};
    ASSERT_TRUE(mkswap(*k, a).ok());
    ASSERT_TRUE(sys_swapon(*k, "/dev/vdc", 0).ok());
    EXPECT_EQ(k->swap->swap_info[0]->pages, 1021u);
    EXPECT_EQ(swp_offset(alloc(*k)), 1u);
    EXPECT_EQ(swp_offset(alloc(*k)), 4u);
    k->validate();
}

TEST(Swapon, MaxSwapfilesDevicesThenEPERM) {
    auto k = boot();
    for (unsigned i = 0; i < MAX_SWAPFILES; i++) swapon(*k, fmt::format("/s{}", i), 40 * 1024);
    ASSERT_TRUE(mkswap(*k, make_swap_area("/one-more", 40 * 1024, false, SwapMedium::Disk)).ok());
    EXPECT_EQ(sys_swapon(*k, "/one-more", 0).err(), Errno::PERM);
    // The last default priority is -25; swapoff of one frees its type.
    EXPECT_EQ(k->swap->swap_info[23]->prio, -25);
    ASSERT_TRUE(sys_swapoff(*k, "/s3").ok());
    ASSERT_TRUE(sys_swapon(*k, "/one-more", 0).ok());
    EXPECT_EQ(k->swap->swap_info[3]->path, "/one-more");
    EXPECT_EQ(k->swap->swap_info[3]->prio, -25);
    k->validate();
}

TEST(Swapon, DefaultPrioritiesCountDownFromMinusTwoAndCloseUpAtSwapoff) {
    auto k = boot();
    swapon(*k, "/a", 4 * MiB);
    swapon(*k, "/b", 4 * MiB);
    swapon(*k, "/c", 4 * MiB);
    swapon(*k, "/p", 4 * MiB, SwapMedium::Disk, prio(7));
    auto prios = [&] {
        std::vector<int> v;
        for (const auto& si : k->swap->swap_info) v.push_back(si->flags & SWP_USED ? si->prio : 0);
        return v;
    };
    EXPECT_EQ(prios(), (std::vector<int>{-2, -3, -4, 7}));
    ASSERT_TRUE(sys_swapoff(*k, "/b").ok());
    EXPECT_EQ(prios(), (std::vector<int>{-2, 0, -3, 7}));
    ASSERT_TRUE(sys_swapon(*k, "/b", 0).ok());
    EXPECT_EQ(prios(), (std::vector<int>{-2, -4, -3, 7}));
    EXPECT_EQ(k->swap->active, (std::vector<unsigned>{3, 0, 2, 1}));
    k->validate();
}

TEST(Swapoff, BusyDeviceWithoutSwapInFailsWithENOMEMAndGetsTheLowestPriority) {
    auto k = boot();
    swapon(*k, "/a", 4 * MiB);
    swapon(*k, "/b", 4 * MiB);
    SwpEntry e = alloc(*k);
    ASSERT_EQ(swp_type(e), 0u);
    k->swap->unuse = nullptr;  // no swap-in to bring the page back
    EXPECT_EQ(sys_swapoff(*k, "/a").err(), Errno::NOMEM);
    // reinsert_swap_info() renumbers a default priority below the rest.
    EXPECT_EQ(k->swap->swap_info[0]->prio, -3);
    EXPECT_EQ(k->swap->swap_info[1]->prio, -2);
    EXPECT_EQ(meminfo_kb(*k, "SwapTotal"), 2 * 4092u);
    EXPECT_EQ(meminfo_kb(*k, "SwapFree"), 2 * 4092u - 4);
    k->validate();
}

TEST(Swapoff, AnUnuseHookThatFreesNothingStandsForAnInterruptedSwapoff) {
    auto k = boot();
    swapon(*k, "/a", 4 * MiB);
    alloc(*k);
    k->swap->unuse = [](Kernel&, unsigned) { return 0; };
    EXPECT_EQ(sys_swapoff(*k, "/a").err(), Errno::INTR);
    EXPECT_EQ(meminfo_kb(*k, "SwapTotal"), 4092u);
    k->validate();
}

TEST(Swapoff, TheUnuseHookBringsTheEntriesBack) {
    auto k = boot();
    swapon(*k, "/a", 4 * MiB, SwapMedium::Ssd);
    for (int i = 0; i < 700; i++) swap_duplicate(*k, alloc(*k));
    k->swap->unuse = [](Kernel& kk, unsigned type) {
        // While swapoff runs the device's slots in use still count in
        // SwapTotal (and none of its free ones in SwapFree).
        EXPECT_EQ(si_swapinfo(kk).totalswap, 700u);
        EXPECT_EQ(si_swapinfo(kk).freeswap, 0u);
        // What swap-in does for every entry: read it, map it, drop the slot.
        const SwapInfo& si = *kk.swap->swap_info[type];
        for (uint64_t o = 1; o < si.max; o++) {
            if (si.swap_map[o] == 0) continue;
            swap_free(kk, swp_entry(type, o));
            put_swap_folio(kk, swp_entry(type, o));
        }
        return 0;
    };
    ASSERT_TRUE(sys_swapoff(*k, "/a").ok());
    EXPECT_EQ(meminfo_kb(*k, "SwapTotal"), 0u);
    EXPECT_EQ(*proc_read(*k, "/proc/swaps"), "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    k->validate();
}

TEST(Swapoff, FreesWhatSwaponAllocated) {
    auto k = boot();
    uint64_t vmalloc_before = meminfo_kb(*k, "VmallocUsed");
    swapon(*k, "/var/tmp/swapfile", 256 * MiB);
    // swap_map: 64 KiB, 16 pages; the swap cgroup map: 2 bytes a slot, 32 pages.
    std::string info = *proc_read(*k, "/proc/vmallocinfo");
    EXPECT_NE(info.find("69632 __do_sys_swapon+0x819/0x1390 pages=16 vmalloc"), std::string::npos) << info;
    EXPECT_NE(info.find("135168 swap_cgroup_swapon+0x1c/0x70 pages=32 vmalloc"), std::string::npos) << info;
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), vmalloc_before + 48 * 4);
    for (int i = 0; i < 600; i++) alloc(*k);  // two clusters: two swap table pages
    k->swap->unuse = [](Kernel& kk, unsigned type) {
        for (uint64_t o = 1; o <= 600; o++) put_swap_folio(kk, swp_entry(type, o));
        return 0;
    };
    ASSERT_TRUE(sys_swapoff(*k, "/var/tmp/swapfile").ok());
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), vmalloc_before);
    EXPECT_EQ(k->swap->swap_info[0]->flags, 0u);
    k->validate();
}

// ---- /proc/swaps and swapon(8) against the host ----------------------------------------

// The host's moment: a 256 MiB file at the default priority on a
// rotational disk (3 extents over 278524k), a 64 MiB loop device at
// priority 10 with 65524 kB used, 21000 kB used in the file.
std::unique_ptr<Kernel> host_capture_machine() {
    auto k = boot();
    SwapArea file = make_swap_area("/var/tmp/swapfile", 256 * MiB, false, SwapMedium::Disk);
    file.extents = 3;
    file.span_pages = 278524 / 4;
    EXPECT_TRUE(mkswap(*k, file).ok());
    EXPECT_TRUE(sys_swapon(*k, "/var/tmp/swapfile", 0).ok());
    swapon(*k, "/dev/loop0", 64 * MiB, SwapMedium::Disk, prio(10), true);
    std::vector<SwpEntry> loop;
    for (int i = 0; i < 16383; i++) loop.push_back(alloc(*k));
    for (int i = 0; i < 21000 / 4; i++) EXPECT_EQ(swp_type(alloc(*k)), 0u);
    put_swap_folio(*k, loop[100]);
    put_swap_folio(*k, loop[5000]);
    return k;
}

TEST(ProcSwaps, MatchesTheHostByteForByte) {
    auto k = host_capture_machine();
    EXPECT_EQ(*proc_read(*k, "/proc/swaps"), test::read_data("host-6.18/swapon/proc-swaps"));
    // The kernel log lines, timestamps aside.
    std::string want = test::read_data("host-6.18/swapon/dmesg-adding");
    std::string got;
    for (const auto& r : k->log.records())
        if (r.text.rfind("Adding ", 0) == 0) got += r.text + "\n";
    std::string want_text;
    std::istringstream in(want);
    for (std::string line; std::getline(in, line);) want_text += line.substr(line.find("] ") + 2) + "\n";
    EXPECT_EQ(got, want_text);
    k->validate();
}

TEST(ProcSwaps, EscapesBlanksInNamesAndPadsByTheEscapedLength) {
    auto k = boot();
    swapon(*k, "/var/tmp/sw ap", 64 * MiB);
    swapon(*k, "/var/tmp/s2", 32 * MiB, SwapMedium::Disk, prio(3));
    EXPECT_EQ(*proc_read(*k, "/proc/swaps"), test::read_data("host-6.18/swapon/space-proc-swaps"));
}

TEST(SwaponTool, ListingsMatchUtilLinux) {
    std::string proc = test::read_data("host-6.18/swapon/proc-swaps");
    EXPECT_EQ(scenario::swapon_show_text(proc, false, false, false),
              test::read_data("host-6.18/swapon/swapon-show"));
    EXPECT_EQ(scenario::swapon_show_text(proc, true, false, false),
              test::read_data("host-6.18/swapon/swapon-show-bytes"));
    EXPECT_EQ(scenario::swapon_summary_text(proc), test::read_data("host-6.18/swapon/swapon-s"));
    std::string space = test::read_data("host-6.18/swapon/space-proc-swaps");
    EXPECT_EQ(scenario::swapon_show_text(space, false, true, false),
              test::read_data("host-6.18/swapon/space-swapon-show-noheadings"));
    EXPECT_EQ(scenario::swapon_show_text(space, false, false, true),
              test::read_data("host-6.18/swapon/space-swapon-show-raw"));
    EXPECT_EQ(scenario::swapon_show_text(space, true, true, true),
              test::read_data("host-6.18/swapon/space-swapon-show-raw-bytes-noheadings"));
    EXPECT_EQ(scenario::swapon_summary_text(space), test::read_data("host-6.18/swapon/space-swapon-s"));
    // No swap: nothing at all.
    std::string none = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    EXPECT_EQ(scenario::swapon_show_text(none, false, false, false), "");
    EXPECT_EQ(scenario::swapon_summary_text(none), "");
}

TEST(SwaponTool, HumanSizesRoundAsUtilLinuxDoes) {
    // USED of one row, in --show --raw --noheadings.
    auto used = [](uint64_t kb) {
        std::string proc =
            fmt::format("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/s file 8388604 {} -2\n", kb);
        std::istringstream in(scenario::swapon_show_text(proc, false, true, true));
        std::string name, type, size, u;
        in >> name >> type >> size >> u;
        return u;
    };
    EXPECT_EQ(used(0), "0B");
    EXPECT_EQ(used(1), "1K");
    EXPECT_EQ(used(1536), "1.5M");
    EXPECT_EQ(used(21000), "20.5M");
    EXPECT_EQ(used(21496), "21M");
    EXPECT_EQ(used(65524), "64M");
    EXPECT_EQ(used(1048575), "1024M");  // 1023.999 rounds up in its own unit
    EXPECT_EQ(used(8388604), "8G");
}

// ---- meminfo, CommitLimit, boot -------------------------------------------------------------

TEST(SwapMeminfo, SwapTotalFreeAndCommitLimitCountSwap) {
    auto k = boot("1G", {{"swap", "256M", {}}});
    EXPECT_EQ(meminfo_kb(*k, "SwapTotal"), 262140u);
    EXPECT_EQ(meminfo_kb(*k, "SwapFree"), 262140u);
    // vm_commit_limit(): RAM * overcommit_ratio / 100 + every swap page.
    EXPECT_EQ(vm_commit_limit(*k), k->totalram_pages * 50 / 100 + 65535);
    EXPECT_EQ(meminfo_kb(*k, "CommitLimit"), (k->totalram_pages * 50 / 100 + 65535) * 4);
    for (int i = 0; i < 100; i++) alloc(*k);
    EXPECT_EQ(meminfo_kb(*k, "SwapFree"), 262140u - 400);
    EXPECT_EQ(meminfo_kb(*k, "CommitLimit"), (k->totalram_pages * 50 / 100 + 65535) * 4);
}

TEST(SwapBoot, TheBootLineAddsAPartitionOnVdb) {
    auto k = boot("2G", {{"swap", "8G", {}}});
    EXPECT_EQ(*proc_read(*k, "/proc/swaps"),
              "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
              "/dev/vdb                                partition\t8388604\t\t0\t\t-2\n");
    EXPECT_NE(
        log_text(*k).find("Adding 8388604k swap on /dev/vdb.  Priority:-2 extents:1 across:8388604k \n"),
        std::string::npos);
    const SwapInfo& si = *k->swap->swap_info[0];
    EXPECT_EQ(si.flags, SWP_USED | SWP_WRITEOK | SWP_BLKDEV);
    EXPECT_EQ(si.read_latency, 100000u);
    k->validate();
}

TEST(SwapBoot, MachineFileSwapAreas) {
    auto k = test::boot_toml(R"(
[[node]]
memory = "1G"
[boot]
swap = "64M"
[[swap]]
path = "/dev/zram0"
size = "128M"
medium = "zram"
priority = 100
[[swap]]
path = "/swapfile"
size = "32M"
discard = "pages"
medium = "ssd"
write_latency = "20us"
)");
    const auto& info = k->swap->swap_info;
    ASSERT_EQ(info.size(), 3u);
    EXPECT_EQ(info[0]->path, "/dev/vdb");
    EXPECT_EQ(info[1]->flags,
              SWP_USED | SWP_WRITEOK | SWP_BLKDEV | SWP_SOLIDSTATE | SWP_STABLE_WRITES | SWP_SYNCHRONOUS_IO);
    EXPECT_TRUE(swap_info_of(*k, swp_entry(1, 5)).synchronous_io());
    EXPECT_EQ(info[1]->read_latency, 2000u);
    EXPECT_EQ(info[1]->prio, 100);
    EXPECT_FALSE(info[2]->blkdev);
    EXPECT_EQ(info[2]->flags & (SWP_DISCARDABLE | SWP_AREA_DISCARD | SWP_PAGE_DISCARD),
              SWP_DISCARDABLE | SWP_PAGE_DISCARD);
    EXPECT_EQ(info[2]->write_latency, 20000u);
    EXPECT_NE(
        log_text(*k).find("Adding 131068k swap on /dev/zram0.  Priority:100 extents:1 across:131068k SS\n"),
        std::string::npos);
    EXPECT_NE(
        log_text(*k).find("Adding 32764k swap on /swapfile.  Priority:-3 extents:1 across:32764k SSDc\n"),
        std::string::npos);
    // The zram device has the highest priority: allocations go there.
    EXPECT_EQ(swp_type(alloc(*k)), 1u);
    k->validate();
}

TEST(SwapBoot, BadSwapDescriptionsNameTheirPlace) {
    auto err = [](const std::string& toml) {
        try {
            parse_machine_toml(toml, "m.toml");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(err("[[node]]\nmemory = \"1G\"\n[[swap]]\nsize = \"36K\"\n")
                  .find("m.toml:4:8: error: swap: a swap area needs at least 40K"),
              std::string::npos);
    EXPECT_NE(err("[[node]]\nmemory = \"1G\"\n[[swap]]\nsize = \"1G\"\nmedum = \"ssd\"\n")
                  .find("m.toml:5:1: error: unknown key 'medum' in [[swap]], did you mean medium?"),
              std::string::npos);
    EXPECT_NE(err("[[node]]\nmemory = \"1G\"\n[[swap]]\nsize = \"1G\"\nmedium = \"tape\"\n")
                  .find("m.toml:5:10: error: medium: expected"),
              std::string::npos);
    EXPECT_NE(err("[[node]]\nmemory = \"1G\"\n[[swap]]\nsize = \"1G\"\npath = \"swap\"\n")
                  .find("m.toml:5:8: error: path: expected an absolute path"),
              std::string::npos);
    EXPECT_NE(err("[[node]]\nmemory = \"1G\"\n[[swap]]\npath = \"/x\"\n")
                  .find("m.toml:3:1: error: [[swap]] needs size"),
              std::string::npos);
    auto boot_err = [](const std::string& v) {
        try {
            machine_from_boot_args({{"ram", "1G", {"s.mms", 1, 6}}, {"swap", v, {"s.mms", 1, 13}}},
                                   SourceLoc{"s.mms", 1, 1});
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(boot_err("lots"), "s.mms:1:13: error: swap: expected a size like 8G, got 'lots'");
    EXPECT_EQ(boot_err("4K"),
              "s.mms:1:13: error: swap: a swap area needs at least 40K (mkswap's minimum), got 4K");
}

// ---- invariants ----------------------------------------------------------------------------

TEST(SwapValidate, CatchesBrokenCounts) {
    auto k = boot();
    swapon(*k, "/swap", 4 * MiB, SwapMedium::Ssd);
    alloc(*k);
    k->validate();
    k->swap->swap_info[0]->inuse_pages++;
    EXPECT_THROW(validate_swap(*k), std::logic_error);
    k->swap->swap_info[0]->inuse_pages--;
    k->swap->swap_info[0]->cluster_info[0].count--;
    EXPECT_THROW(validate_swap(*k), std::logic_error);
    k->swap->swap_info[0]->cluster_info[0].count++;
    k->swap->swap_info[0]->swap_map[0] = 0;
    EXPECT_THROW(validate_swap(*k), std::logic_error);
    k->swap->swap_info[0]->swap_map[0] = SWAP_MAP_BAD;
    k->swap->nr_swap_pages++;
    EXPECT_THROW(validate_swap(*k), std::logic_error);
    k->swap->nr_swap_pages--;
    validate_swap(*k);
}

}  // namespace
}  // namespace mmsim
