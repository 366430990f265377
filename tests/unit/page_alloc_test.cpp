// The buddy allocator against a naive reference, and its kernel behaviours:
// splitting, merging, per-CPU lists, fallback and pageblock claiming,
// fragmentation, and failure reports.
#include "mm/page_alloc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "kernel/kernel.h"
#include "mm/memmap.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

Zone& normal(Kernel& k) { return k.zone(0, static_cast<unsigned>(k.zone_index_of(ZoneKind::Normal))); }

int64_t pcp_pages(const Zone& z) {
    int64_t n = 0;
    for (const auto& p : z.pcp) n += p.count;
    return n;
}

uint64_t count_pageblocks(const Zone& z, unsigned mt) {
    uint64_t n = 0;
    for (uint8_t f : z.pageblock_flags) n += (f & 7) == mt;
    return n;
}

TEST(PageAlloc, BootPutsEveryManagedPageOnTheFreeListsInMaxOrderBlocks) {
    auto k = test::boot_one_zone(4096);
    Zone& z = normal(*k);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), 4096);
    EXPECT_EQ(z.free_area[MAX_PAGE_ORDER].nr_free, 4u);
    for (unsigned o = 0; o < MAX_PAGE_ORDER; o++) EXPECT_EQ(z.free_area[o].nr_free, 0u) << "order " << o;
    // Every pageblock starts movable, so every block is on the Movable list.
    EXPECT_EQ(z.free_area[MAX_PAGE_ORDER].nr_free_type[MIGRATE_MOVABLE], 4u);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES_BLOCKS), 4096);
    EXPECT_EQ(k->vm_events[PGFREE], 4096u);
}

TEST(PageAlloc, UnalignedRangesAreFreedInTheLargestAlignedChunks) {
    // 1000 pages from pfn 65536 + 3: 1, 4, 8, ... as alignment allows.
    auto k = test::boot_toml(R"(arch = "explicit"
cpus = 1
[boot]
thp = "never"
[[zone]]
node = 0
type = "Normal"
start_pfn = 65539
spanned = 1000
present = 1000
managed = 1000
)",
                             false);  // the page allocator alone
    Zone& z = normal(*k);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), 1000);
    uint64_t total = 0;
    for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) total += z.free_area[o].nr_free << o;
    EXPECT_EQ(total, 1000u);
    // 65539 is odd: the first block must be a single page.
    EXPECT_TRUE(k->page(Pfn(65539)).test(PG_buddy));
    EXPECT_EQ(k->page(Pfn(65539)).order, 0);
    EXPECT_EQ(k->page(Pfn(65540)).order, 2);  // 65540 is 4-aligned, the next is 8-aligned
}

TEST(PageAlloc, HighOrderAllocationSplitsAndFreeMergesBack) {
    auto k = test::boot_one_zone(1024);
    Zone& z = normal(*k);
    auto p = alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 4);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->value % 16, 0u);
    // An order-10 block was split: one free block at each order 4..9.
    for (unsigned o = 4; o < MAX_PAGE_ORDER; o++) EXPECT_EQ(z.free_area[o].nr_free, 1u) << "order " << o;
    EXPECT_EQ(z.free_area[MAX_PAGE_ORDER].nr_free, 0u);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), 1024 - 16);
    free_pages(*k, *p, 4);  // order 4 bypasses the pcp lists
    EXPECT_EQ(z.free_area[MAX_PAGE_ORDER].nr_free, 1u);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), 1024);
}

TEST(PageAlloc, OrderZeroComesFromThePerCpuListsWhichAreNotCountedFree) {
    auto k = test::boot_one_zone(16384);
    Zone& z = normal(*k);
    auto p = alloc_pages(*k, GFP_KERNEL, 0);
    ASSERT_TRUE(p);
    // The refill took a batch from the buddy: those pages sit on the pcp
    // list and no longer count as free.
    EXPECT_GT(pcp_pages(z), 0);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES) + pcp_pages(z) + 1, 16384);
    free_pages(*k, *p, 0);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES) + pcp_pages(z), 16384);
    drain_all_pages(*k);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), 16384);
    EXPECT_EQ(z.free_area[MAX_PAGE_ORDER].nr_free, 16u);
}

TEST(PageAlloc, PcpHighStartsAtZeroAndIsClampedOnFirstUse) {
    auto k = test::boot_one_zone(16384, 2);
    Zone& z = normal(*k);
    EXPECT_EQ(z.pcp[0].high, 0);
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL, 0));
    EXPECT_GE(z.pcp[0].high, z.pcp[0].high_min);
    EXPECT_LE(z.pcp[0].high, z.pcp[0].high_max);
    EXPECT_EQ(z.pcp[1].high, 0);  // the other CPU never touched the zone
}

TEST(PageAlloc, UnmovableAllocationClaimsAWholeMovableRange) {
    auto k = test::boot_one_zone(4096);
    Zone& z = normal(*k);
    EXPECT_EQ(count_pageblocks(z, MIGRATE_UNMOVABLE), 0u);
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 0));
    // No unmovable pages were free: __rmqueue_claim takes the largest
    // movable block (order 10 = two pageblocks) and converts both.
    EXPECT_EQ(count_pageblocks(z, MIGRATE_UNMOVABLE), 2u);
    EXPECT_EQ(count_pageblocks(z, MIGRATE_MOVABLE), 6u);
    uint64_t unmovable_free = 0;
    for (unsigned o = 0; o < NR_PAGE_ORDERS; o++)
        unmovable_free += z.free_area[o].nr_free_type[MIGRATE_UNMOVABLE] << o;
    EXPECT_GT(unmovable_free, 0u);
}

TEST(PageAlloc, SmallMovableAllocationStealsAPageWithoutClaimingTheBlock) {
    // One order-10 block: an unmovable request claims both its pageblocks.
    auto k = test::boot_one_zone(1024);
    Zone& z = normal(*k);
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 0));
    ASSERT_EQ(count_pageblocks(z, MIGRATE_UNMOVABLE), 2u);
    // Fill the first pageblock until less than half of it is free, so that
    // no movable request may claim it back.
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 9));
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 8));
    // A small movable request finds no movable page and no claimable block,
    // so __rmqueue_steal takes a page and leaves the pageblock unmovable.
    auto p = alloc_pages(*k, GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, 0);
    ASSERT_TRUE(p);
    EXPECT_EQ(get_pageblock_migratetype(z, *p), static_cast<unsigned>(MIGRATE_UNMOVABLE));
    EXPECT_EQ(count_pageblocks(z, MIGRATE_UNMOVABLE), 2u);
    EXPECT_EQ(count_pageblocks(z, MIGRATE_MOVABLE), 0u);
}

TEST(PageAlloc, FragmentationMakesHighOrdersFailWhileOrderZeroSucceeds) {
    auto k = test::boot_one_zone(16384);
    Zone& z = normal(*k);
    // Take every page, ignoring the watermarks.
    std::vector<Pfn> pages;
    while (auto p = alloc_pages(*k, GFP_KERNEL | __GFP_MEMALLOC | __GFP_NOWARN | __GFP_NORETRY, 0))
        pages.push_back(*p);
    drain_all_pages(*k);
    ASSERT_EQ(z.page_state(NR_FREE_PAGES), 0);
    ASSERT_EQ(pages.size(), 16384u);
    // Free every page whose pfn is even: no two free pages are buddies.
    for (Pfn p : pages)
        if (p.value % 2 == 0) free_pages(*k, p, 0);
    drain_all_pages(*k);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), 8192);
    EXPECT_EQ(z.free_area[0].nr_free, 8192u);
    EXPECT_FALSE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY, 1));
    EXPECT_FALSE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 4));
    EXPECT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 0));
}

TEST(PageAlloc, FailureIsReportedInTheKernelLogUnlessNowarn) {
    auto k = test::boot_one_zone(2048);
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL, 10));
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 9));
    std::size_t before = k->log.records().size();
    EXPECT_FALSE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 10));
    EXPECT_EQ(k->log.records().size(), before);
    EXPECT_FALSE(alloc_pages(*k, GFP_KERNEL, 10));
    std::string log = k->log.dmesg();
    EXPECT_NE(log.find("mmsim: page allocation failure: order:10, mode:0xcc0(GFP_KERNEL), "
                       "nodemask=(null),cpuset=/,mems_allowed=0"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("Mem-Info:"), std::string::npos);
    EXPECT_NE(log.find("lowmem_reserve[]:"), std::string::npos);
}

TEST(PageAlloc, OrderZeroKernelAllocationWithNothingToKillPanics) {
    auto k = test::boot_one_zone(1024);
    while (alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY, 0)) {
    }
    EXPECT_THROW(alloc_pages(*k, GFP_KERNEL, 0), KernelPanic);
    EXPECT_NE(k->log.dmesg().find("Out of memory and no killable processes..."), std::string::npos);
}

TEST(PageAlloc, CompoundPagesMarkHeadAndTails) {
    auto k = test::boot_one_zone(1024);
    auto p = alloc_pages(*k, GFP_KERNEL | __GFP_COMP, 2);
    ASSERT_TRUE(p);
    EXPECT_TRUE(k->page(*p).test(PG_head));
    EXPECT_EQ(k->page(*p).order, 2);
    for (uint64_t i = 1; i < 4; i++) EXPECT_TRUE(k->page(*p + i).test(PG_tail));
    free_pages(*k, *p, 2);
    for (uint64_t i = 0; i < 4; i++)
        EXPECT_FALSE(k->page(*p + i).test(PG_tail) || k->page(*p + i).test(PG_head));
}

// The reference model: a plain bitmap of allocated pages. Every block the
// buddy allocator hands out must be free in the bitmap, aligned and inside
// the zone; pages are conserved.
TEST(PageAlloc, RandomSequencesAgreeWithABitmapReference) {
    for (unsigned seed : {1u, 2u, 3u}) {
        auto k = test::boot_one_zone(8192, 2);
        Zone& z = normal(*k);
        std::mt19937 rng(seed);
        std::vector<bool> used(8192, false);
        std::map<uint64_t, unsigned> live;  // pfn -> order
        const gfp_t kinds[] = {GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_ATOMIC, GFP_KERNEL | __GFP_RECLAIMABLE};
        uint64_t allocated = 0;
        for (int step = 0; step < 3000; step++) {
            k->current_cpu = static_cast<int>(rng() % 2);
            if (live.empty() || rng() % 100 < 55) {
                unsigned order = rng() % 100 < 70 ? 0 : rng() % (MAX_PAGE_ORDER + 1);
                gfp_t gfp = kinds[rng() % 4] | __GFP_NOWARN | __GFP_NORETRY;
                auto p = alloc_pages(*k, gfp, order);
                if (!p) continue;
                ASSERT_EQ(p->value % (1u << order), 0u);
                ASSERT_GE(p->value, 65536u);
                ASSERT_LE(p->value + (1u << order), 65536u + 8192u);
                for (uint64_t i = 0; i < (1u << order); i++) {
                    ASSERT_FALSE(used[p->value - 65536 + i]) << "pfn handed out twice, step " << step;
                    used[p->value - 65536 + i] = true;
                }
                live[p->value] = order;
                allocated += 1u << order;
            } else {
                auto it = live.begin();
                std::advance(it, rng() % live.size());
                for (uint64_t i = 0; i < (1u << it->second); i++) used[it->first - 65536 + i] = false;
                free_pages(*k, Pfn(it->first), it->second);
                allocated -= 1u << it->second;
                live.erase(it);
            }
            ASSERT_EQ(static_cast<uint64_t>(z.page_state(NR_FREE_PAGES) + pcp_pages(z)) + allocated, 8192u)
                << "pages not conserved at step " << step;
        }
        k->validate();
        for (auto [pfn, order] : live) free_pages(*k, Pfn(pfn), order);
        drain_all_pages(*k);
        EXPECT_EQ(z.page_state(NR_FREE_PAGES), 8192);
        EXPECT_EQ(z.free_area[MAX_PAGE_ORDER].nr_free, 8u) << "everything merges back";
    }
}

TEST(PageAlloc, NumaAllocationsFallBackToTheOtherNodeAndCountMisses) {
    auto k = test::boot_toml(R"(arch = "explicit"
cpus = 2
[boot]
thp = "never"
[[node]]
cpus = [0]
[[node]]
cpus = [1]
[[zone]]
node = 0
type = "Normal"
start_pfn = 65536
spanned = 1024
present = 1024
managed = 1024
[[zone]]
node = 1
type = "Normal"
start_pfn = 131072
spanned = 4096
present = 4096
managed = 4096
)",
                             false);  // the page allocator alone
    k->current_cpu = 0;
    // Node 0 cannot satisfy an order-10 request above its watermarks.
    auto p = alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 10);
    ASSERT_TRUE(p);
    EXPECT_GE(p->value, 131072u);
    unsigned n = static_cast<unsigned>(k->zone_index_of(ZoneKind::Normal));
    EXPECT_EQ(k->zone(1, n).vm_numa_event[NUMA_MISS], 1u);
    EXPECT_EQ(k->zone(0, n).vm_numa_event[NUMA_FOREIGN], 1u);
    EXPECT_EQ(k->zone(1, n).vm_numa_event[NUMA_OTHER], 1u);
}

// Sets NR_FREE_PAGES to what the free lists hold, so that a test's
// deliberate corruption is the only thing wrong.
void resync_free_pages(Zone& z) {
    int64_t n = 0;
    for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) n += static_cast<int64_t>(z.free_area[o].nr_free) << o;
    z.vm_stat[NR_FREE_PAGES] = n;
}

// The allocator's validator (DESIGN.md section 10) works on block intervals
// rather than page by page; it still finds what a wrong free leaves behind.
TEST(PageAlloc, ValidatorFindsOverlappingBlocksAndFreedReservedPages) {
    {
        // Two buddies taken one by one, then freed as if the first were an
        // order-1 block: the second page ends up free twice.
        auto k = test::boot_one_zone(4096);
        k->debug_vm = false;
        Zone& z = normal(*k);
        auto a = rmqueue_buddy_block(*k, z, 0, MIGRATE_MOVABLE, 0);
        auto b = rmqueue_buddy_block(*k, z, 0, MIGRATE_MOVABLE, 0);
        ASSERT_TRUE(a && b);
        ASSERT_EQ(a->value ^ 1, b->value);
        Pfn first(std::min(a->value, b->value)), second(std::max(a->value, b->value));
        free_one_page(*k, z, first, 1, MIGRATE_MOVABLE);
        free_one_page(*k, z, second, 0, MIGRATE_MOVABLE);
        resync_free_pages(z);
        try {
            validate_page_alloc(*k);
            ADD_FAILURE() << "the overlap went unnoticed";
        } catch (const std::logic_error& e) {
            EXPECT_NE(std::string(e.what()).find(fmt::format("pfn {:#x} free twice", second.value)),
                      std::string::npos)
                << e.what();
        }
    }
    auto k = test::boot_ram(256ull << 20, 2);
    k->debug_vm = false;
    const auto& node = k->layout.nodes[0];
    // A block freed over reserved memory: freeing rewrites the head's
    // flags, but the reserved tail still says what it is.
    uint64_t r = 0;
    for (const auto& range : node.reserved)
        if (range.size() >= 2 && range.start % 2 == 0 && k->page_zone(Pfn(range.start))) r = range.start + 1;
    ASSERT_NE(r, 0u);
    Zone& rz = pfn_zone(*k, Pfn(r));
    free_one_page(*k, rz, Pfn(r - 1), 1, MIGRATE_MOVABLE);
    resync_free_pages(rz);
    EXPECT_THROW(
        {
            try {
                validate_page_alloc(*k);
            } catch (const std::logic_error& e) {
                EXPECT_NE(std::string(e.what()).find(fmt::format("reserved pfn {:#x} is free", r)),
                          std::string::npos)
                    << e.what();
                throw;
            }
        },
        std::logic_error);
}

TEST(PageAlloc, ValidatorFindsAFreedHolePage) {
    auto k = test::boot_ram(256ull << 20, 2);
    k->debug_vm = false;
    // The legacy hole below 1 MiB lies inside the DMA zone's span.
    Zone& dma = k->zone(0, static_cast<unsigned>(k->zone_index_of(ZoneKind::DMA)));
    uint64_t hole = 0;
    for (uint64_t p = dma.zone_start_pfn.value; p < dma.zone_end_pfn().value && !hole; p++)
        if ((*k->mem_map)[p].test(PG_hole)) hole = p;
    ASSERT_NE(hole, 0u);
    free_one_page(*k, dma, Pfn(hole), 0, MIGRATE_MOVABLE);
    resync_free_pages(dma);
    try {
        validate_page_alloc(*k);
        ADD_FAILURE() << "the freed hole went unnoticed";
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find(fmt::format("hole pfn {:#x} is free", hole)), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace mmsim
