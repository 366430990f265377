// The per-CPU lists' order, which the kernel fixes by where it adds and takes
// pages (mm/page_alloc.c): a free goes to the head of its list
// (free_frozen_page_commit's list_add), an allocation takes the head
// (__rmqueue_pcplist's list_first_entry), a refill appends at the tail
// (rmqueue_bulk's list_add_tail) and a flush takes the tail
// (free_pcppages_bulk's list_last_entry). Our lists are rings that grow; these
// tests hold them to the kernel's order across growth and wrap-around.
#include "mm/page_alloc_pcp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kernel/kernel.h"
#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

Zone& normal(Kernel& k) { return k.zone(0, static_cast<unsigned>(k.zone_index_of(ZoneKind::Normal))); }

TEST(PcpLists, AllocationTakesTheMostRecentlyFreedPageFirst) {
    // A big zone, so that `high` stays above the few hundred pages freed
    // here and nothing is flushed.
    auto k = test::boot_one_zone(1u << 16);
    Zone& z = normal(*k);
    std::vector<Pfn> pages;
    for (int i = 0; i < 300; i++) pages.push_back(*alloc_pages(*k, GFP_KERNEL, 0));
    for (Pfn p : pages) free_pages(*k, p, 0);
    const PerCpuPages& pcp = z.pcp[0];
    const PcpList& list = pcp.lists[MIGRATE_UNMOVABLE];
    ASSERT_LT(pcp.count, pcp.high) << "the frees must not have reached high";
    ASSERT_GE(list.size(), 300u);
    EXPECT_GT(list.ring.size(), 300u) << "the ring grew past its first size";
    // LIFO: the pages come back newest first.
    for (int i = 299; i >= 0; i--) EXPECT_EQ(*alloc_pages(*k, GFP_KERNEL, 0), pages[i]) << i;
}

TEST(PcpLists, AFlushReturnsTheOldestPagesToTheBuddy) {
    auto k = test::boot_one_zone(16384);
    Zone& z = normal(*k);
    const PerCpuPages& pcp = z.pcp[0];
    std::vector<Pfn> pages;
    for (int i = 0; i < 4096; i++) pages.push_back(*alloc_pages(*k, GFP_KERNEL, 0));
    // Free until the list reaches high and a batch goes back.
    std::size_t freed = 0;
    int64_t free_before = z.page_state(NR_FREE_PAGES);
    while (freed < pages.size() && z.page_state(NR_FREE_PAGES) == free_before)
        free_pages(*k, pages[freed++], 0);
    ASSERT_LT(freed, pages.size()) << "no flush happened";
    // The flush took the list's tail: the first pages freed left the list,
    // the last one freed is still on it.
    EXPECT_FALSE(k->page(pages[0]).test(PG_pcp));
    EXPECT_TRUE(k->page(pages[freed - 1]).test(PG_pcp));
    // Exactly the oldest pages left: the ones still on the list are the
    // newest `count` frees.
    std::size_t kept = static_cast<std::size_t>(pcp.count);
    for (std::size_t i = 0; i < freed; i++)
        EXPECT_EQ(k->page(pages[i]).test(PG_pcp), i >= freed - kept) << "page " << i << " of " << freed;
}

TEST(PcpLists, ARefillAppendsThePagesInTheOrderTheBuddyGaveThem) {
    // rmqueue_bulk() takes pages one by one from the buddy and adds each at
    // the tail, so an empty list is refilled in ascending pfn order here
    // (the boot lists are ascending and splitting hands out the low half).
    auto k = test::boot_one_zone(16384);
    Zone& z = normal(*k);
    Pfn first = *alloc_pages(*k, GFP_KERNEL, 0);
    const PcpList& list = z.pcp[0].lists[MIGRATE_UNMOVABLE];
    ASSERT_GT(list.size(), 1u);
    uint64_t prev = first.value;
    for (uint32_t i = 0; i < list.size(); i++) {
        EXPECT_EQ(list.at(i), prev + 1) << "position " << i;
        prev = list.at(i);
    }
}

// decay_pcp_high(), run each stat_interval by the vmstat work: after a
// burst of frees grew a CPU's high (and its list) far above high_min, each
// second high loses an eighth (but no more than the list minus
// batch << PCP_BATCH_SCALE_MAX, and never below high_min) and whatever the
// list holds above the new high goes back to the buddy, until high is back
// at high_min.
TEST(PcpLists, HighDecaysEachSecondAfterABurstOfFrees) {
    auto k = test::boot_ram(512ull << 20, 2);
    k->current_cpu = 0;
    // The per-operation checks would validate the zone 40000 times; the
    // whole machine is validated at the end instead.
    k->debug_vm = false;
    std::vector<Pfn> pages;
    for (int i = 0; i < 40000; i++) {
        MaybePfn p = alloc_pages(*k, GFP_KERNEL, 0);
        ASSERT_TRUE(p);
        pages.push_back(*p);
    }
    for (Pfn p : pages) free_pages(*k, p, 0);
    Zone* zone = nullptr;
    for (auto& z : k->nodes[0].node_zones)
        if (z.pcp[0].count > 0) zone = &z;
    ASSERT_NE(zone, nullptr);
    PerCpuPages& pcp = zone->pcp[0];
    ASSERT_GT(pcp.high, pcp.high_min) << "the burst should have raised high";
    int ticks = 0;
    while (pcp.high > pcp.high_min) {
        int high = pcp.high, count = pcp.count;
        int64_t free_before = zone->vm_stat[NR_FREE_PAGES];
        k->clock.advance_by(1000000000);
        int want = std::max({count - (pcp.batch << PCP_BATCH_SCALE_MAX), high - (high >> 3), pcp.high_min});
        ASSERT_EQ(pcp.high, want) << "tick " << ticks;
        ASSERT_EQ(pcp.count, std::min(count, want)) << "tick " << ticks;
        ASSERT_EQ(zone->vm_stat[NR_FREE_PAGES] - free_before, count - pcp.count);
        ASSERT_LT(++ticks, 100);
    }
    EXPECT_GT(ticks, 3);
    k->debug_vm = true;
    k->validate();
}

}  // namespace
}  // namespace mmsim
