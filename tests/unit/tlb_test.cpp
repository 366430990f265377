// The simulated TLB and Linux's ASID and flush logic (src/mm/tlb.h): hits,
// misses and refills, replacement order, PCID isolation, ASID reuse,
// flush ranges against the ceiling, shootdowns and their vm events, the
// dirty-bit and protection outcomes, and a naive reference model that must
// produce the same hit/miss sequence as the fast arrays.
#include "mm/tlb.h"

#include <gtest/gtest.h>

#include <list>
#include <random>
#include <stdexcept>

namespace mmsim {
namespace {

constexpr uint8_t RW_USER_DIRTY = TLB_WRITE | TLB_USER | TLB_DIRTY;

VirtAddr va(uint64_t vpn) { return VirtAddr(vpn << PAGE_SHIFT); }

// A machine's TLBs with `n` mms initialised.
struct Rig {
    std::vector<CpuTlb> cpus;
    std::vector<std::unique_ptr<TlbMmContext>> mms;
    explicit Rig(unsigned nr_cpus, unsigned nr_mms = 2, const TlbSpec& spec = {})
        : cpus(make_cpu_tlbs(nr_cpus, spec)) {
        for (unsigned i = 0; i < nr_mms; i++) {
            mms.push_back(std::make_unique<TlbMmContext>());
            init_new_context(cpus, *mms.back());
        }
    }
    TlbMmContext& mm(unsigned i) { return *mms[i]; }
    // Looks up and, on anything but a hit, fills as a page walk would.
    TlbOutcome touch(unsigned cpu, uint64_t vpn, uint64_t pfn, TlbAccess a = TlbAccess::Read,
                     uint8_t flags = RW_USER_DIRTY) {
        TlbResult r = tlb_lookup(cpus[cpu], va(vpn), a);
        if (!r.hit()) tlb_fill(cpus[cpu], va(vpn), Pfn(pfn), flags);
        return r.outcome;
    }
    TlbOutcome peek(unsigned cpu, uint64_t vpn, TlbAccess a = TlbAccess::Read) {
        return tlb_lookup(cpus[cpu], va(vpn), a).outcome;
    }
    uint64_t ev(unsigned cpu, TlbEvent e) const { return cpus[cpu].counters.event(e); }
    ~Rig() {
        for (auto& m : mms) tlb_mm_release(cpus, *m);
    }
};

// ---------------------------------------------------------------------------
// Hardware

TEST(Tlb, MissThenFillThenL1HitAndStlbHitRefillsTheL1) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    EXPECT_EQ(r.touch(0, 0x400, 77), TlbOutcome::Miss);
    TlbResult hit = tlb_lookup(r.cpus[0], va(0x400) + 123, TlbAccess::Read);
    EXPECT_EQ(hit.outcome, TlbOutcome::L1Hit);
    EXPECT_EQ(hit.pfn, Pfn(77));
    // Four more pages of L1 set 0 (16 sets: vpn % 16) push 0x400 out of
    // the 4-way L1, but the 128-set STLB still has it.
    for (uint64_t i = 1; i <= 4; i++) r.touch(0, 0x400 + 16 * i, 100 + i);
    TlbResult again = tlb_lookup(r.cpus[0], va(0x400), TlbAccess::Read);
    EXPECT_EQ(again.outcome, TlbOutcome::StlbHit);
    EXPECT_EQ(again.pfn, Pfn(77));
    EXPECT_EQ(r.peek(0, 0x400), TlbOutcome::L1Hit);  // refilled
    const TlbLookupCounts& c = r.cpus[0].counters.lookups;
    EXPECT_EQ(c.misses, 5u);
    EXPECT_EQ(c.stlb_hits, 1u);
    EXPECT_EQ(c.l1_hits, 2u);
    EXPECT_EQ(r.cpus[0].counters.fills, 5u);
    validate_tlb(r.cpus);
}

TEST(Tlb, FourWayL1EvictsByTreePseudoLru) {
    // Set 0 of the L1 holds vpns 0, 16, 32, 48 in ways 0..3:
    //
    //          root            after A B C D: root -> left (D was right),
    //         /    \           left node -> w0 (B was w1): victim A.
    //      n2        n3        Touch A: root -> right, n3 -> w2 (D last):
    //     /  \      /  \       victim C.
    //    w0  w1    w2  w3
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    const uint64_t A = 0, B = 16, C = 32, D = 48, E = 64, F = 80;
    for (uint64_t v : {A, B, C, D}) r.touch(0, v, v + 1);
    EXPECT_EQ(r.cpus[0].l1().victim(0), 0u);
    r.touch(0, A, A + 1);  // hit
    EXPECT_EQ(r.cpus[0].l1().victim(0), 2u);
    r.touch(0, E, E + 1);  // miss: replaces C
    EXPECT_EQ(r.cpus[0].l1().find(0, tlb_tag(C, r.cpus[0].user_pcid())), -1);
    EXPECT_EQ(r.peek(0, A), TlbOutcome::L1Hit);  // w0
    EXPECT_EQ(r.peek(0, B), TlbOutcome::L1Hit);  // w1
    EXPECT_EQ(r.peek(0, D), TlbOutcome::L1Hit);  // w3
    // C comes back from the STLB. Last use D (right): root -> left; in
    // the left half B (w1) was last: n2 -> w0. C replaces A.
    EXPECT_EQ(r.peek(0, C), TlbOutcome::StlbHit);
    const uint16_t pcid = r.cpus[0].user_pcid();
    EXPECT_EQ(r.cpus[0].l1().find(0, tlb_tag(C, pcid)), 0);
    EXPECT_EQ(r.cpus[0].l1().find(0, tlb_tag(A, pcid)), -1);
    // Last use C (w0): root -> right; in the right half D (w3) was last:
    // n3 -> w2, where E is.
    r.touch(0, F, F + 1);
    EXPECT_EQ(r.cpus[0].l1().find(0, tlb_tag(F, pcid)), 2);
    EXPECT_EQ(r.cpus[0].l1().find(0, tlb_tag(E, pcid)), -1);
    validate_tlb(r.cpus);
}

TEST(Tlb, TwelveWayStlbEvictsTheLeastRecentlyUsed) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    const TlbLevel& stlb = r.cpus[0].stlb();
    ASSERT_EQ(stlb.sets(), 128u);
    ASSERT_FALSE(stlb.use_plru);
    // Twelve pages of STLB set 5 (they share L1 set 5, which keeps the
    // last four). Using the first one again goes through the STLB and
    // makes it the most recent: the victim is then the second.
    std::vector<uint64_t> v;
    for (uint64_t i = 0; i < 12; i++) v.push_back(5 + 128 * i);
    for (uint64_t p : v) r.touch(0, p, p);
    EXPECT_EQ(r.touch(0, v[0], v[0]), TlbOutcome::StlbHit);
    EXPECT_EQ(r.touch(0, v[11], v[11]), TlbOutcome::L1Hit);  // L1 hits leave the STLB's order alone
    const uint16_t pcid = r.cpus[0].user_pcid();
    r.touch(0, 5 + 128 * 12, 1);
    EXPECT_EQ(stlb.find(5, tlb_tag(v[1], pcid)), -1);
    for (size_t i = 0; i < v.size(); i++) EXPECT_EQ(stlb.find(5, tlb_tag(v[i], pcid)) >= 0, i != 1) << i;
    validate_tlb(r.cpus);
}

TEST(Tlb, SameAddressInTwoMmsIsKeptApartByPcid) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    r.touch(0, 0x1000, 11);
    switch_mm(r.cpus, 0, r.mm(1));
    EXPECT_NE(r.cpus[0].user_pcid(), kern_pcid(1));
    EXPECT_EQ(r.peek(0, 0x1000), TlbOutcome::Miss);
    r.touch(0, 0x1000, 22);
    switch_mm(r.cpus, 0, r.mm(0));
    TlbResult a = tlb_lookup(r.cpus[0], va(0x1000), TlbAccess::Read);
    EXPECT_EQ(a.outcome, TlbOutcome::L1Hit);
    EXPECT_EQ(a.pfn, Pfn(11));
    switch_mm(r.cpus, 0, r.mm(1));
    EXPECT_EQ(tlb_lookup(r.cpus[0], va(0x1000), TlbAccess::Read).pfn, Pfn(22));
    // Two new slots flushed once each; the switches back reused them.
    EXPECT_EQ(r.cpus[0].counters.mm_switches, 4u);
    EXPECT_EQ(r.cpus[0].counters.switch_flushes, 2u);
    validate_tlb(r.cpus);
}

TEST(Tlb, KernelAddressesAreGlobalAcrossPcidsUntilAKernelFlush) {
    Rig r(2);
    const VirtAddr kaddr(0xffff888000200000ull);
    switch_mm(r.cpus, 0, r.mm(0));
    EXPECT_EQ(tlb_lookup(r.cpus[0], kaddr, TlbAccess::Write).outcome, TlbOutcome::Miss);
    tlb_fill(r.cpus[0], kaddr, Pfn(0x200), TLB_WRITE | TLB_DIRTY | TLB_NX);
    switch_mm(r.cpus, 0, r.mm(1));  // flushes the new PCID, not global entries
    EXPECT_EQ(tlb_lookup(r.cpus[0], kaddr, TlbAccess::Write).outcome, TlbOutcome::L1Hit);
    EXPECT_EQ(tlb_lookup(r.cpus[0], kaddr, TlbAccess::Exec).outcome, TlbOutcome::Protection);
    tlb_fill(r.cpus[0], kaddr, Pfn(0x200), TLB_WRITE | TLB_DIRTY | TLB_NX);
    flush_tlb_kernel_range(r.cpus, 0, kaddr.value, kaddr.value + PAGE_SIZE);
    EXPECT_EQ(tlb_lookup(r.cpus[0], kaddr, TlbAccess::Read).outcome, TlbOutcome::Miss);
    // One page on each CPU, counted on each CPU; one IPI.
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 1u);
    EXPECT_EQ(r.ev(1, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 1u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_REMOTE_FLUSH), 0u);
    // Over the ceiling: everything, everywhere, counted as received flushes.
    flush_tlb_kernel_range(r.cpus, 0, kaddr.value, kaddr.value + 34 * PAGE_SIZE);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);
    EXPECT_EQ(r.ev(1, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);
    validate_tlb(r.cpus);
}

TEST(Tlb, WriteToACleanEntryWalksToSetTheDirtyBit) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    r.touch(0, 0x10, 5, TlbAccess::Read, TLB_WRITE | TLB_USER);  // read fault mapped it clean
    EXPECT_EQ(r.peek(0, 0x10, TlbAccess::Read), TlbOutcome::L1Hit);
    TlbResult w = tlb_lookup(r.cpus[0], va(0x10), TlbAccess::Write);
    EXPECT_EQ(w.outcome, TlbOutcome::DirtyUpdate);
    EXPECT_FALSE(w.hit());
    EXPECT_EQ(r.cpus[0].counters.lookups.dirty_walks, 1u);
    // The walk sets D in the PTE and the entry is refreshed in place.
    tlb_fill(r.cpus[0], va(0x10), Pfn(5), RW_USER_DIRTY);
    EXPECT_EQ(r.peek(0, 0x10, TlbAccess::Write), TlbOutcome::L1Hit);
    EXPECT_EQ(r.cpus[0].l1().valid_entries(), 1u);
    EXPECT_EQ(r.cpus[0].stlb().valid_entries(), 1u);
    validate_tlb(r.cpus);
}

TEST(Tlb, RefusedAccessDropsTheEntryAndFaults) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    r.touch(0, 0x20, 6, TlbAccess::Read, TLB_USER);  // read-only
    EXPECT_EQ(r.peek(0, 0x20, TlbAccess::Write), TlbOutcome::Protection);
    EXPECT_EQ(r.peek(0, 0x20, TlbAccess::Read), TlbOutcome::Miss);  // dropped from both levels
    r.touch(0, 0x21, 7, TlbAccess::Read, TLB_USER | TLB_NX);
    EXPECT_EQ(r.peek(0, 0x21, TlbAccess::Exec), TlbOutcome::Protection);
    r.touch(0, 0x22, 8, TlbAccess::Read, TLB_WRITE | TLB_DIRTY);  // a kernel page at a user address
    EXPECT_EQ(r.peek(0, 0x22, TlbAccess::Read), TlbOutcome::Protection);
    EXPECT_EQ(r.cpus[0].counters.lookups.protection_faults, 3u);
}

TEST(Tlb, FlagsComeFromTheX86PteBits) {
    const uint64_t pte = 0x8000000000000067ull;  // NX | D | A | U | RW | P
    EXPECT_EQ(tlb_flags_from_pte(pte), TLB_WRITE | TLB_USER | TLB_DIRTY | TLB_NX);
    EXPECT_EQ(tlb_flags_from_pte(0x25), TLB_USER);  // A | U | P
}

// ---------------------------------------------------------------------------
// ASIDs

TEST(Tlb, AsidsAreReusedPerMmAndTakenRoundRobin) {
    // Boot put init_mm in ASID 0 with next_asid 1: six new mms take 1..5
    // and then wrap to 0; the seventh evicts ASID 1.
    Rig r(1, 7);
    const uint16_t want[] = {1, 2, 3, 4, 5, 0, 1};
    for (unsigned i = 0; i < 7; i++) {
        switch_mm(r.cpus, 0, r.mm(i));
        EXPECT_EQ(r.cpus[0].state.loaded_mm_asid, want[i]) << "mm " << i;
        EXPECT_EQ(r.cpus[0].user_pcid(), kern_pcid(want[i]));
        r.touch(0, 0x100, 1000 + i);
    }
    EXPECT_EQ(r.cpus[0].counters.switch_flushes, 7u);
    // mm 2 still owns ASID 3 and its entries: no flush, a hit.
    switch_mm(r.cpus, 0, r.mm(2));
    EXPECT_EQ(r.cpus[0].state.loaded_mm_asid, 3);
    EXPECT_EQ(r.cpus[0].counters.switch_flushes, 7u);
    EXPECT_EQ(tlb_lookup(r.cpus[0], va(0x100), TlbAccess::Read).pfn, Pfn(1002));
    // mm 0 lost ASID 1 to mm 6: a new slot (next_asid 2 -> ASID 2, evicting mm 1).
    switch_mm(r.cpus, 0, r.mm(0));
    EXPECT_EQ(r.cpus[0].state.loaded_mm_asid, 2);
    EXPECT_EQ(r.peek(0, 0x100), TlbOutcome::Miss);
    validate_tlb(r.cpus);
}

TEST(Tlb, SwitchingBackFlushesWhenTheSlotsTlbGenIsBehind) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    r.touch(0, 0x100, 1);
    r.touch(0, 0x200, 2);
    switch_mm(r.cpus, 0, r.mm(1));
    // mm 0 changes while not loaded: no flush happens, only tlb_gen moves.
    EXPECT_EQ(flush_tlb_page(r.cpus, 0, r.mm(0), va(0x100)), 0u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 0u);
    EXPECT_EQ(r.mm(0).tlb_gen, 1u);
    EXPECT_EQ(r.cpus[0].entries_of(kern_pcid(1)), 2u * 2);  // both levels
    uint64_t flushes = r.cpus[0].counters.switch_flushes;
    switch_mm(r.cpus, 0, r.mm(0));
    EXPECT_EQ(r.cpus[0].state.loaded_mm_asid, 1);
    EXPECT_EQ(r.cpus[0].counters.switch_flushes, flushes + 1);
    EXPECT_EQ(r.cpus[0].entries_of(kern_pcid(1)), 0u);
    EXPECT_EQ(r.cpus[0].state.ctxs[1].tlb_gen, 1u);
    validate_tlb(r.cpus);
}

TEST(Tlb, WithoutPcidEveryMmSwitchFlushes) {
    TlbSpec spec;
    spec.pcid = false;
    Rig r(1, 2, spec);
    switch_mm(r.cpus, 0, r.mm(0));
    r.touch(0, 0x100, 1);
    EXPECT_EQ(r.cpus[0].user_pcid(), 0);
    switch_mm(r.cpus, 0, r.mm(1));
    switch_mm(r.cpus, 0, r.mm(0));
    EXPECT_EQ(r.peek(0, 0x100), TlbOutcome::Miss);
    EXPECT_EQ(r.cpus[0].counters.switch_flushes, 3u);
    validate_tlb(r.cpus);
}

// ---------------------------------------------------------------------------
// Flushing

TEST(Tlb, RangesUpToTheCeilingGoPageByPageLargerOnesFlushThePcid) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    for (uint64_t v = 0x100; v < 0x100 + 40; v++) r.touch(0, v, v);
    r.touch(0, 0x900, 1);
    // 33 pages: 33 INVLPGs; the page outside the range survives.
    flush_tlb_mm_range(r.cpus, 0, r.mm(0), va(0x100).value, va(0x100 + 33).value, PAGE_SHIFT,
                       FreedTables::No);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 33u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ALL), 0u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_REMOTE_FLUSH), 0u);  // nobody else has it
    EXPECT_EQ(r.peek(0, 0x100 + 32), TlbOutcome::Miss);
    EXPECT_EQ(r.peek(0, 0x100 + 33), TlbOutcome::L1Hit);
    EXPECT_EQ(r.peek(0, 0x900), TlbOutcome::L1Hit);
    // 34 pages: one full flush of the PCID.
    flush_tlb_mm_range(r.cpus, 0, r.mm(0), va(0x100).value, va(0x100 + 34).value, PAGE_SHIFT,
                       FreedTables::No);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 33u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ALL), 1u);
    EXPECT_EQ(r.peek(0, 0x900), TlbOutcome::Miss);
    EXPECT_EQ(r.mm(0).tlb_gen, 2u);
    TlbMmStats s = tlb_mm_stats(r.cpus, r.mm(0));
    EXPECT_EQ(s.flush_requests, 2u);
    EXPECT_EQ(s.full_flush_requests, 1u);
    // A 2 MiB stride drops every 4 KiB piece of the huge page.
    for (uint64_t v = 0x200; v < 0x200 + 8; v++) r.touch(0, v, v);
    flush_tlb_mm_range(r.cpus, 0, r.mm(0), va(0x200).value, va(0x400).value, 21, FreedTables::No);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 34u);
    EXPECT_EQ(r.cpus[0].entries_of(kern_pcid(1)), 0u);
    validate_tlb(r.cpus);
}

TEST(Tlb, ShootdownsGoOnceToEachCpuRunningTheMm) {
    // CPUs 0-2 run mm 0; CPU 3 ran it and moved on (still in the cpumask).
    Rig r(4);
    for (unsigned c = 0; c < 4; c++) {
        switch_mm(r.cpus, c, r.mm(0));
        r.touch(c, 0x100, 1);
    }
    switch_mm(r.cpus, 3, r.mm(1));
    EXPECT_EQ(r.mm(0).cpumask.weight(), 4u);
    EXPECT_EQ(flush_tlb_page(r.cpus, 0, r.mm(0), va(0x100)), 2u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_REMOTE_FLUSH), 1u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 1u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 0u);
    for (unsigned c : {1u, 2u}) {
        EXPECT_EQ(r.ev(c, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);
        EXPECT_EQ(r.ev(c, TlbEvent::NR_TLB_LOCAL_FLUSH_ONE), 0u);  // counted only where it started
        EXPECT_EQ(r.peek(c, 0x100), TlbOutcome::Miss);
    }
    EXPECT_EQ(r.ev(3, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 0u);
    EXPECT_EQ(r.cpus[0].counters.ipis_sent, 2u);
    EXPECT_EQ(r.mm(0).cpumask.weight(), 4u);
    EXPECT_EQ(tlb_vm_event(r.cpus, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 2u);
    // Freed page tables go to every CPU of the cpumask: CPU 3 drops out.
    EXPECT_EQ(flush_tlb_mm(r.cpus, 0, r.mm(0)), 3u);
    EXPECT_EQ(r.ev(3, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);
    EXPECT_FALSE(r.mm(0).cpumask.test(3));
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ALL), 1u);
    validate_tlb(r.cpus);
}

TEST(Tlb, LazyCpusAreSkippedAndCatchUpWhenTheyComeBack) {
    Rig r(2);
    switch_mm(r.cpus, 0, r.mm(0));
    switch_mm(r.cpus, 1, r.mm(0));
    r.touch(1, 0x100, 1);
    enter_lazy_tlb(r.cpus, 1);  // a kernel thread borrows mm 0 on CPU 1
    EXPECT_EQ(flush_tlb_page(r.cpus, 0, r.mm(0), va(0x100)), 0u);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_REMOTE_FLUSH), 1u);  // counted though no IPI went out
    EXPECT_EQ(r.ev(1, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 0u);
    // Back to a thread of mm 0: tlb_gen moved, so the ASID is flushed.
    uint64_t flushes = r.cpus[1].counters.switch_flushes;
    switch_mm(r.cpus, 1, r.mm(0));
    EXPECT_EQ(r.cpus[1].counters.switch_flushes, flushes + 1);
    EXPECT_EQ(r.peek(1, 0x100), TlbOutcome::Miss);
    // Lazy again, and page tables are freed: the IPI makes CPU 1 leave for init_mm.
    enter_lazy_tlb(r.cpus, 1);
    EXPECT_EQ(flush_tlb_mm_range(r.cpus, 0, r.mm(0), 0, PAGE_SIZE, PAGE_SHIFT, FreedTables::Yes), 1u);
    EXPECT_EQ(r.cpus[1].state.loaded_mm, &r.cpus[1].shared().init_mm);
    validate_tlb(r.cpus);
}

TEST(Tlb, CpumaskIsTrimmedOncePerHzOfJiffies) {
    Rig r(2);
    switch_mm(r.cpus, 1, r.mm(0));
    switch_mm(r.cpus, 1, r.mm(1));
    switch_mm(r.cpus, 0, r.mm(0));
    flush_tlb_page(r.cpus, 0, r.mm(0), va(1));
    EXPECT_TRUE(r.mm(0).cpumask.test(1));  // not due yet
    r.cpus[0].shared().jiffies = TLB_HZ + 1;
    flush_tlb_page(r.cpus, 0, r.mm(0), va(1));
    EXPECT_FALSE(r.mm(0).cpumask.test(1));
    EXPECT_EQ(r.ev(1, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);
    EXPECT_EQ(r.mm(0).next_trim_cpumask, 2 * TLB_HZ + 1);
}

TEST(Tlb, FlushTlbAllIsOneRemoteFlushReceivedByEveryCpu) {
    Rig r(3);
    for (unsigned c = 0; c < 3; c++) {
        switch_mm(r.cpus, c, r.mm(0));
        r.touch(c, 0x100, 1);
    }
    EXPECT_EQ(flush_tlb_all(r.cpus, 1), 2u);
    EXPECT_EQ(tlb_vm_event(r.cpus, TlbEvent::NR_TLB_REMOTE_FLUSH), 1u);
    EXPECT_EQ(r.ev(1, TlbEvent::NR_TLB_REMOTE_FLUSH), 1u);
    for (unsigned c = 0; c < 3; c++) {
        EXPECT_EQ(r.ev(c, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);  // the caller too (on_each_cpu)
        EXPECT_EQ(r.peek(c, 0x100), TlbOutcome::Miss);
    }
}

TEST(Tlb, BatchedUnmapFlushCoversEveryMmInOneGo) {
    Rig r(2);
    switch_mm(r.cpus, 0, r.mm(0));
    switch_mm(r.cpus, 1, r.mm(1));
    r.touch(0, 0x100, 1);
    r.touch(1, 0x100, 2);
    TlbBatch batch;
    arch_tlbbatch_add_pending(batch, r.mm(0));
    arch_tlbbatch_add_pending(batch, r.mm(1));
    EXPECT_EQ(arch_tlbbatch_flush(r.cpus, 0, batch), 1u);
    EXPECT_EQ(r.peek(0, 0x100), TlbOutcome::Miss);
    EXPECT_EQ(r.peek(1, 0x100), TlbOutcome::Miss);
    EXPECT_EQ(r.ev(0, TlbEvent::NR_TLB_LOCAL_FLUSH_ALL), 1u);
    EXPECT_EQ(r.ev(1, TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED), 1u);
    EXPECT_EQ(batch.cpumask.weight(), 0u);
    validate_tlb(r.cpus);
}

TEST(Tlb, PerMmStatsFoldInWhenTheCpuSwitchesAway) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    r.touch(0, 1, 1);
    r.touch(0, 1, 1);
    EXPECT_EQ(tlb_mm_stats(r.cpus, r.mm(0)).lookups.l1_hits, 1u);  // live, while loaded
    switch_mm(r.cpus, 0, r.mm(1));
    r.touch(0, 1, 2);
    TlbMmStats a = tlb_mm_stats(r.cpus, r.mm(0)), b = tlb_mm_stats(r.cpus, r.mm(1));
    EXPECT_EQ(a.lookups.misses, 1u);
    EXPECT_EQ(a.lookups.l1_hits, 1u);
    EXPECT_EQ(b.lookups.misses, 1u);
    EXPECT_EQ(b.lookups.l1_hits, 0u);
    tlb_mm_release(r.cpus, r.mm(1));
    EXPECT_EQ(r.mm(1).stats.lookups.misses, 1u);
    EXPECT_EQ(r.cpus[0].state.loaded_mm, &r.cpus[0].shared().init_mm);
    validate_tlb(r.cpus);
}

TEST(Tlb, ContextIdsAreUniqueAndStartAfterInitMm) {
    Rig r(1, 3);
    EXPECT_EQ(r.mm(0).ctx_id, 2u);
    EXPECT_EQ(r.mm(1).ctx_id, 3u);
    EXPECT_EQ(r.mm(2).ctx_id, 4u);
    EXPECT_EQ(r.cpus[0].state.ctxs[0].ctx_id, TLB_INIT_MM_CTX_ID);
    EXPECT_EQ(tlb_event_name(TlbEvent::NR_TLB_REMOTE_FLUSH_RECEIVED),
              std::string("nr_tlb_remote_flush_received"));
}

TEST(Tlb, SwitchingToAnMmWithoutAContextIsABug) {
    // ctx_id 0 marks an empty ASID slot; an mm must get a real one first.
    Rig r(1);
    TlbMmContext mm;
    EXPECT_THROW(switch_mm(r.cpus, 0, mm), std::logic_error);
}

TEST(Tlb, ValidateCatchesACorruptedState) {
    Rig r(1);
    switch_mm(r.cpus, 0, r.mm(0));
    r.cpus[0].state.ctxs[r.cpus[0].state.loaded_mm_asid].ctx_id = 999;
    EXPECT_THROW(validate_tlb(r.cpus), std::logic_error);
}

TEST(Tlb, BadSpecsAreRefused) {
    EXPECT_EQ(tlb_spec_problem(TlbSpec{}), "");
    EXPECT_EQ(tlb_spec_problem(TlbSpec{66, 4, 1536, 12, true}),
              "l1_entries must be a positive multiple of l1_ways (4), not 66");
    EXPECT_EQ(tlb_spec_problem(TlbSpec{64, 4, 1200, 12, true}),
              "l2_entries / l2_ways = 100 sets, not a power of two");
    EXPECT_EQ(tlb_spec_problem(TlbSpec{64, 0, 1536, 12, true}), "l1_ways must be 1 to 64, not 0");
    EXPECT_THROW(make_cpu_tlbs(1, TlbSpec{64, 4, 1536, 65, true}), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// The reference model: the same TLB written the obvious way (a list per
// set for LRU, an explicit tree of booleans walked per access for PLRU).

class NaiveLevel {
public:
    NaiveLevel(unsigned entries, unsigned ways) : m_ways(ways), m_sets(entries / ways) {
        m_plru = (ways & (ways - 1)) == 0;
        m_tag.assign(m_sets, std::vector<uint64_t>(ways, TLB_TAG_INVALID));
        m_data.assign(m_sets, std::vector<uint64_t>(ways, 0));
        m_tree.assign(m_sets, std::vector<bool>(ways, false));
        m_order.resize(m_sets);
    }
    int find(uint64_t vpn, uint64_t tag) const {
        const auto& s = m_tag[vpn % m_sets];
        for (unsigned w = 0; w < m_ways; w++)
            if (s[w] == tag) return static_cast<int>(w);
        return -1;
    }
    uint64_t data(uint64_t vpn, int w) const { return m_data[vpn % m_sets][w]; }
    void use(uint64_t vpn, unsigned w) {
        unsigned set = static_cast<unsigned>(vpn % m_sets);
        if (m_plru) {
            // Walk from the root; each node on the way points to the other half.
            unsigned lo = 0, hi = m_ways, node = 1;
            while (hi - lo > 1) {
                unsigned mid = (lo + hi) / 2;
                bool right = w >= mid;
                m_tree[set][node] = !right;
                node = 2 * node + right;
                (right ? lo : hi) = mid;
            }
        } else {
            m_order[set].remove(w);
            m_order[set].push_front(w);
        }
    }
    void insert(uint64_t vpn, uint64_t tag, uint64_t d) {
        unsigned set = static_cast<unsigned>(vpn % m_sets);
        int w = find(vpn, tag);
        if (w < 0) {
            for (unsigned i = 0; i < m_ways && w < 0; i++)
                if (m_tag[set][i] == TLB_TAG_INVALID) w = static_cast<int>(i);
        }
        if (w < 0) {
            if (m_plru) {
                unsigned lo = 0, hi = m_ways, node = 1;
                while (hi - lo > 1) {
                    unsigned mid = (lo + hi) / 2;
                    bool right = m_tree[set][node];
                    node = 2 * node + right;
                    (right ? lo : hi) = mid;
                }
                w = static_cast<int>(lo);
            } else {
                w = static_cast<int>(m_order[set].back());
            }
        }
        m_tag[set][w] = tag;
        m_data[set][w] = d;
        use(vpn, static_cast<unsigned>(w));
    }
    void drop(uint64_t vpn, uint64_t tag) {
        int w = find(vpn, tag);
        if (w < 0) return;
        unsigned set = static_cast<unsigned>(vpn % m_sets);
        m_tag[set][w] = TLB_TAG_INVALID;
        m_order[set].remove(static_cast<unsigned>(w));
    }
    void drop_pcid(uint16_t pcid) {
        for (unsigned s = 0; s < m_sets; s++)
            for (unsigned w = 0; w < m_ways; w++)
                if (m_tag[s][w] != TLB_TAG_INVALID && (m_tag[s][w] & 0x1fff) == pcid) {
                    m_tag[s][w] = TLB_TAG_INVALID;
                    m_order[s].remove(w);
                }
    }

private:
    unsigned m_ways, m_sets;
    bool m_plru;
    std::vector<std::vector<uint64_t>> m_tag, m_data;
    std::vector<std::vector<bool>> m_tree;
    std::vector<std::list<unsigned>> m_order;
};

struct NaiveTlb {
    NaiveLevel l1, l2;
    explicit NaiveTlb(const TlbSpec& s) : l1(s.l1_entries, s.l1_ways), l2(s.l2_entries, s.l2_ways) {}
    TlbOutcome lookup(uint64_t vpn, uint16_t pcid) {  // reads of user pages only
        uint64_t tag = tlb_tag(vpn, pcid);
        if (int w = l1.find(vpn, tag); w >= 0) {
            l1.use(vpn, static_cast<unsigned>(w));
            return TlbOutcome::L1Hit;
        }
        if (int w = l2.find(vpn, tag); w >= 0) {
            l2.use(vpn, static_cast<unsigned>(w));
            l1.insert(vpn, tag, l2.data(vpn, w));
            return TlbOutcome::StlbHit;
        }
        return TlbOutcome::Miss;
    }
    void fill(uint64_t vpn, uint16_t pcid, uint64_t d) {
        l2.insert(vpn, tlb_tag(vpn, pcid), d);
        l1.insert(vpn, tlb_tag(vpn, pcid), d);
    }
};

void run_reference_stream(const TlbSpec& spec, uint64_t seed) {
    SCOPED_TRACE(::testing::Message() << "L1 " << spec.l1_entries << "/" << spec.l1_ways << " STLB "
                                      << spec.l2_entries << "/" << spec.l2_ways << " seed " << seed);
    auto shared = std::make_shared<TlbShared>();
    shared->spec = spec;
    CpuTlb fast(0, shared);
    NaiveTlb slow(spec);
    std::mt19937_64 rng(seed);
    const uint16_t pcids[] = {kern_pcid(0), kern_pcid(3)};
    // A hot set that mostly fits, a warm one that fits the STLB, a cold tail.
    auto next_vpn = [&]() -> uint64_t {
        unsigned p = rng() % 100;
        if (p < 60) return rng() % (spec.l1_entries / 2);
        if (p < 90) return 0x1000 + rng() % spec.l2_entries;
        return 0x100000 + rng() % (spec.l2_entries * 8);
    };
    for (int i = 0; i < 200000; i++) {
        uint16_t pcid = pcids[rng() % 8 == 0];
        uint64_t vpn = next_vpn();
        unsigned op = rng() % 1000;
        if (op == 0) {
            fast.flush_pcid(pcid);
            slow.l1.drop_pcid(pcid);
            slow.l2.drop_pcid(pcid);
            continue;
        }
        if (op < 20) {  // INVLPG in pcid
            fast.set_user_pcid(pcid);
            fast.invlpg(vpn);
            slow.l1.drop(vpn, tlb_tag(vpn, pcid));
            slow.l2.drop(vpn, tlb_tag(vpn, pcid));
            continue;
        }
        TlbResult r = fast.lookup(vpn, pcid, TlbAccess::Read);
        TlbOutcome want = slow.lookup(vpn, pcid);
        ASSERT_EQ(r.outcome, want) << "access " << i << " vpn " << vpn;
        if (r.hit()) {
            ASSERT_EQ(r.pfn, Pfn(vpn * 7 + pcid));
        } else {
            fast.insert(vpn, pcid, Pfn(vpn * 7 + pcid), TLB_USER);
            slow.fill(vpn, pcid, (vpn * 7 + pcid) << 8 | TLB_USER);
        }
    }
    const TlbLookupCounts& c = fast.counters.lookups;
    // The stream exercises all three outcomes.
    EXPECT_GT(c.l1_hits, 10000u);
    EXPECT_GT(c.stlb_hits, 1000u);
    EXPECT_GT(c.misses, 1000u);
}

TEST(TlbReference, FastArraysMatchANaiveModelOnARandomStream) {
    run_reference_stream(TlbSpec{}, 1);                       // PLRU 4-way, LRU 12-way
    run_reference_stream(TlbSpec{32, 8, 256, 16, true}, 2);   // PLRU both
    run_reference_stream(TlbSpec{24, 3, 96, 6, true}, 3);     // LRU both
    run_reference_stream(TlbSpec{16, 1, 2048, 64, true}, 4);  // direct-mapped L1, 64-way PLRU STLB
}

}  // namespace
}  // namespace mmsim
