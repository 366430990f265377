// Swap entries in page tables (arch/x86 pgtable_64.h's layout), the
// workingset's refault decision (mm/workingset.c) and the swap cache's
// bookkeeping, each against the kernel's rule stated with the test.
#include "mm/swap_state.h"

#include <gtest/gtest.h>

#include "kernel/kernel.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/swap.h"
#include "mm/vmstat.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

// The L1TF layout: type in bits 59-63, the offset inverted in bits 9-58,
// bits 0 (present) and 8 (PROTNONE) clear, so the entry is not present and
// its would-be frame number points far beyond any RAM.
TEST(SwapPte, EncodesTypeAndInvertedOffsetAsX86Does) {
    for (unsigned type : {0u, 1u, 23u})
        for (uint64_t offset : {uint64_t{1}, uint64_t{4095}, uint64_t{1} << 40}) {
            const uint64_t e = swp_pte(type, offset);
            EXPECT_EQ(pte_swp_type(e), type);
            EXPECT_EQ(pte_swp_offset(e), offset);
            EXPECT_FALSE(pte_present(e));
            EXPECT_TRUE(is_swap_pte(e));
            EXPECT_EQ(e & 0x1ff, 0u) << "bits 0-8 must be clear";
            EXPECT_EQ(e >> 59, type);
        }
    // Offset 1 of type 0: ~1 shifted into bits 9-58.
    EXPECT_EQ(swp_pte(0, 1), ((~uint64_t{1}) << 14) >> 5);
    // The exclusive and soft-dirty marks sit in bits 3 and 1.
    EXPECT_EQ(_PAGE_SWP_EXCLUSIVE, uint64_t{1} << 3);
    EXPECT_EQ(_PAGE_SWP_SOFT_DIRTY, uint64_t{1} << 1);
    EXPECT_FALSE(is_swap_pte(0));
}

// workingset_refault(): a refault whose distance (evictions and
// activations since the page's eviction) is within the workingset it
// competes with is activated; otherwise it starts inactive. For an anon
// page without free swap, the workingset is the file lists only.
TEST(Workingset, RefaultDistanceDecidesActivation) {
    auto k = test::boot_ram(64ull << 20, 1);
    PglistData& n = k->nodes[0];
    auto page = [&]() {
        MaybePfn p = alloc_pages(*k, GFP_HIGHUSER_MOVABLE, 0);
        EXPECT_TRUE(p);
        page_of(*k, *p).set(PG_swapbacked);
        return *p;
    };
    Pfn evicted = page();
    const uint64_t shadow = workingset_eviction(*k, evicted);
    EXPECT_EQ(n.lruvec.nonresident_age, 1u) << "an eviction ticks the clock";
    // 10 more evictions: the clock reads 11, the shadow 0, the refault
    // distance is 11.
    n.lruvec.nonresident_age += 10;
    // A file workingset of 10 pages: 11 > 10, no activation.
    n.vm_stat[NR_INACTIVE_FILE] = 10;
    Pfn a = page();
    workingset_refault(*k, a, shadow);
    EXPECT_FALSE(page_of(*k, a).test(PG_active));
    EXPECT_EQ(n.vm_stat[WORKINGSET_REFAULT_ANON], 1);
    EXPECT_EQ(n.vm_stat[WORKINGSET_ACTIVATE_ANON], 0);
    // 11 pages: 11 <= 11 (the refault did not tick the clock), activated.
    n.vm_stat[NR_INACTIVE_FILE] = 11;
    Pfn b = page();
    workingset_refault(*k, b, shadow);
    EXPECT_TRUE(page_of(*k, b).test(PG_active));
    EXPECT_EQ(n.vm_stat[WORKINGSET_ACTIVATE_ANON], 1);
    EXPECT_EQ(n.lruvec.nonresident_age, 12u) << "an activation ticks the clock";
    n.vm_stat[NR_INACTIVE_FILE] = 0;
    for (Pfn p : {evicted, a, b}) {
        page_of(*k, p).mt = 0;
        page_of(*k, p).clear(PG_swapbacked);
        free_pages(*k, p, 0);
    }
}

}  // namespace
}  // namespace mmsim
