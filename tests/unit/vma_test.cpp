// Areas split and merge the way the kernel's do (mm/vma.c) under mmap,
// munmap, mprotect, mremap, madvise and mlock. Each test draws the layout
// of the address space as text, relative to a fixed base, e.g.
//
//   [rw-p 0x0-0x2000][r--p 0x2000-0x4000]
//
// with smaps' VmFlags mnemonics appended for the behaviour bits under test
// (lo = VM_LOCKED, lf = VM_LOCKONFAULT, dc = VM_DONTCOPY, ...). Every step
// is followed by validate_vm(), which checks map counts, rmap, RSS and the
// page-table counters.
#include <gtest/gtest.h>

#include <string>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

constexpr uint64_t PG = PAGE_SIZE;
constexpr uint64_t kBase = 0x10000000;  // where the tests place their areas

// A booted machine with one process whose address space is empty.
struct Proc {
    std::unique_ptr<Kernel> k = test::boot_one_zone(8192);
    Task* t = nullptr;
    Proc() {
        Task& task = k->tasks->create(1);
        auto mm = mm_alloc(*k);
        task.mm = *mm;
        task.mm->mm_users = 1;
        t = &task;
    }
    MmStruct& mm() { return *t->mm; }
    uint64_t map(uint64_t off, uint64_t len, unsigned prot = PROT_READ | PROT_WRITE,
                 unsigned flags = MAP_PRIVATE | MAP_ANONYMOUS) {
        MmapArgs a;
        a.addr = kBase + off;
        a.len = len;
        a.prot = prot;
        a.flags = flags | MAP_FIXED;
        auto r = do_mmap(*k, *t, a);
        EXPECT_TRUE(r) << errno_name(r.err());
        validate_vm(*k);
        return r ? *r : 0;
    }
    void touch(uint64_t off, uint64_t len) {
        for (uint64_t a = kBase + off; a < kBase + off + len; a += PG)
            ASSERT_EQ(access_memory(*k, *t, a, Access::Write), VmFault::Minor);
        validate_vm(*k);
    }
    Pfn pfn_at(uint64_t addr) {
        const uint64_t* e = pte_lookup(*k, mm(), addr);
        return e && pte_present(*e) ? pte_pfn(*e) : Pfn(0);
    }
};

std::string hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// The areas at and above kBase, relative to it.
std::string layout(const MmStruct& mm) {
    std::string s;
    for (const Vma* v : vma_list(mm)) {
        if (v->vm_end <= kBase) continue;
        s += '[';
        s += v->vm_flags & VM_READ ? 'r' : '-';
        s += v->vm_flags & VM_WRITE ? 'w' : '-';
        s += v->vm_flags & VM_EXEC ? 'x' : '-';
        s += v->vm_flags & VM_MAYSHARE ? 's' : 'p';
        s += ' ' + hex(v->vm_start - kBase) + '-' + hex(v->vm_end - kBase);
        struct {
            uint64_t bit;
            const char* name;
        } marks[] = {{VM_LOCKED, "lo"},     {VM_LOCKONFAULT, "lf"}, {VM_DONTCOPY, "dc"},
                     {VM_WIPEONFORK, "wf"}, {VM_DONTDUMP, "dd"},    {VM_SEQ_READ, "sr"},
                     {VM_RAND_READ, "rr"},  {VM_HUGEPAGE, "hg"},    {VM_NOHUGEPAGE, "nh"},
                     {VM_MERGEABLE, "mg"}};
        for (auto& m : marks)
            if (v->vm_flags & m.bit) s += std::string(" ") + m.name;
        s += ']';
    }
    return s;
}

TEST(Vma, AdjacentAnonymousMappingsMergeIntoOneArea) {
    Proc p;
    p.map(0, 2 * PG);
    p.map(2 * PG, 2 * PG);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x4000]");
    // Different rights do not merge.
    p.map(4 * PG, PG, PROT_READ);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x4000][r--p 0x4000-0x5000]");
}

TEST(Vma, MunmapInTheMiddleSplitsAndMappingTheHoleAgainMerges) {
    Proc p;
    p.map(0, 4 * PG);
    ASSERT_TRUE(do_munmap(*p.k, *p.t, kBase + PG, PG));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x1000][rw-p 0x2000-0x4000]");
    p.map(PG, PG);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x4000]");
}

TEST(Vma, MprotectSplitsIntoThreeAndRestoringMerges) {
    Proc p;
    p.map(0, 8 * PG);
    p.touch(0, 8 * PG);
    ASSERT_TRUE(do_mprotect(*p.k, *p.t, kBase + 2 * PG, 2 * PG, PROT_READ));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x2000][r--p 0x2000-0x4000][rw-p 0x4000-0x8000]");
    ASSERT_TRUE(do_mprotect(*p.k, *p.t, kBase + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x8000]");
}

TEST(Vma, MremapShrinksInPlaceAndGrowsInPlaceWhenTheNextPagesAreFree) {
    Proc p;
    p.map(0, 4 * PG);
    p.touch(0, 4 * PG);
    auto r = do_mremap(*p.k, *p.t, kBase, 4 * PG, 2 * PG, 0, 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kBase);
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x2000]");
    EXPECT_EQ(p.mm().get_mm_counter(MM_ANONPAGES), 2);
    r = do_mremap(*p.k, *p.t, kBase, 2 * PG, 6 * PG, 0, 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kBase);
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x6000]");
    EXPECT_EQ(p.mm().total_vm, 6u);
    // Growing into the next area needs a move.
    p.map(6 * PG, PG, PROT_READ);
    r = do_mremap(*p.k, *p.t, kBase, 6 * PG, 8 * PG, 0, 0);
    EXPECT_EQ(r.err(), Errno::NOMEM);
}

TEST(Vma, MremapMoveCarriesTheSamePagesAndRmapFindsThemAtTheNewAddress) {
    Proc p;
    p.map(0, 4 * PG);
    p.map(4 * PG, PG, PROT_READ);  // blocks growth in place
    p.touch(0, 4 * PG);
    Pfn before[4];
    for (int i = 0; i < 4; i++) before[i] = p.pfn_at(kBase + i * PG);
    int64_t committed = vm_committed_as(*p.k);
    auto r = do_mremap(*p.k, *p.t, kBase, 4 * PG, 8 * PG, MREMAP_MAYMOVE, 0);
    ASSERT_TRUE(r) << errno_name(r.err());
    uint64_t to = *r;
    EXPECT_NE(to, kBase);
    validate_vm(*p.k);  // includes: rmap finds exactly the entries that map each page
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(p.pfn_at(to + i * PG), before[i]) << i;
        EXPECT_EQ(p.pfn_at(kBase + i * PG), Pfn(0)) << i;
    }
    EXPECT_EQ(p.mm().get_mm_counter(MM_ANONPAGES), 4);
    // The old range is gone; the area moved (top-down, below mmap_base) and doubled.
    EXPECT_EQ(layout(p.mm()),
              "[r--p 0x4000-0x5000][rw-p " + hex(to - kBase) + "-" + hex(to + 8 * PG - kBase) + "]");
    const Vma* moved = find_vma(p.mm(), to);
    ASSERT_NE(moved, nullptr);
    EXPECT_EQ(moved->vm_end - moved->vm_start, 8 * PG);
    EXPECT_EQ(moved->vm_pgoff, kBase >> PAGE_SHIFT);  // the pages keep their index
    EXPECT_EQ(vm_committed_as(*p.k), committed + 4);  // only the growth is charged
    EXPECT_EQ(p.mm().total_vm, 9u);
    // The contents are still reachable by the program without faults.
    uint64_t flt = p.t->min_flt;
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(access_memory(*p.k, *p.t, to + i * PG, Access::Write), VmFault::Minor);
    EXPECT_EQ(p.t->min_flt, flt);
}

TEST(Vma, MremapFixedMovesSeveralAreasKeepingTheirGaps) {
    Proc p;
    p.map(0, 2 * PG);
    p.map(3 * PG, PG, PROT_READ);
    p.touch(0, 2 * PG);
    auto r = do_mremap(*p.k, *p.t, kBase, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, kBase + 16 * PG);
    ASSERT_TRUE(r) << errno_name(r.err());
    EXPECT_EQ(*r, kBase + 16 * PG);
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x10000-0x12000][r--p 0x13000-0x14000]");
}

TEST(Vma, MremapDontunmapLeavesTheOldAreaEmpty) {
    Proc p;
    p.map(0, 2 * PG);
    p.touch(0, 2 * PG);
    Pfn first = p.pfn_at(kBase);
    auto r = do_mremap(*p.k, *p.t, kBase, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
    ASSERT_TRUE(r) << errno_name(r.err());
    validate_vm(*p.k);
    EXPECT_EQ(p.pfn_at(*r), first);
    EXPECT_EQ(p.pfn_at(kBase), Pfn(0));
    EXPECT_NE(vma_lookup(p.mm(), kBase), nullptr);
    // Touching the old range now gives fresh zero pages.
    EXPECT_EQ(access_memory(*p.k, *p.t, kBase, Access::Read), VmFault::Minor);
    validate_vm(*p.k);
}

TEST(Vma, MadviseSplitsForAFlagAndTheOppositeFlagMergesAgain) {
    Proc p;
    p.map(0, 4 * PG);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, kBase + PG, PG, MADV_DONTFORK));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x1000][rw-p 0x1000-0x2000 dc][rw-p 0x2000-0x4000]");
    ASSERT_TRUE(do_madvise(*p.k, *p.t, kBase, 4 * PG, MADV_SEQUENTIAL));
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x1000 sr][rw-p 0x1000-0x2000 dc sr][rw-p 0x2000-0x4000 sr]");
    ASSERT_TRUE(do_madvise(*p.k, *p.t, kBase + PG, PG, MADV_DOFORK));
    ASSERT_TRUE(do_madvise(*p.k, *p.t, kBase, 4 * PG, MADV_NORMAL));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x4000]");
    ASSERT_TRUE(do_madvise(*p.k, *p.t, kBase + 2 * PG, 2 * PG, MADV_NOHUGEPAGE));
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x2000][rw-p 0x2000-0x4000 nh]");
}

TEST(Vma, MlockSplitsMergesAndCountsVmLckAndMlocked) {
    Proc p;
    p.map(0, 8 * PG);
    p.touch(0, 2 * PG);  // two pages present before the mlock
    int64_t mlocked0 = p.k->global_zone_page_state(NR_MLOCK);
    ASSERT_TRUE(do_mlock(*p.k, *p.t, kBase + PG, 4 * PG, 0));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x1000][rw-p 0x1000-0x5000 lo][rw-p 0x5000-0x8000]");
    EXPECT_EQ(p.mm().locked_vm, 4u);  // VmLck 16 kB
    // All four pages are now present and mlocked: one was mapped, three faulted in.
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK) - mlocked0, 4);
    EXPECT_EQ(p.k->vm_events[UNEVICTABLE_PGS_MLOCKED], 4u);
    EXPECT_EQ(p.mm().get_mm_counter(MM_ANONPAGES), 5);
    // Locking an overlapping range counts only the new pages.
    ASSERT_TRUE(do_mlock(*p.k, *p.t, kBase, 2 * PG, 0));
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x5000 lo][rw-p 0x5000-0x8000]");
    EXPECT_EQ(p.mm().locked_vm, 5u);
    ASSERT_TRUE(do_munlock(*p.k, *p.t, kBase, 8 * PG));
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x8000]");
    EXPECT_EQ(p.mm().locked_vm, 0u);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), mlocked0);
    EXPECT_EQ(p.k->vm_events[UNEVICTABLE_PGS_MUNLOCKED], 5u);
}

TEST(Vma, MlockOnfaultLocksPagesOnlyWhenTouched) {
    Proc p;
    p.map(0, 4 * PG);
    ASSERT_TRUE(do_mlock(*p.k, *p.t, kBase, 4 * PG, MLOCK_ONFAULT));
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x4000 lo lf]");
    EXPECT_EQ(p.mm().locked_vm, 4u);
    EXPECT_EQ(p.mm().get_mm_counter(MM_ANONPAGES), 0);
    p.touch(0, PG);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 1);
    EXPECT_EQ(do_mlock(*p.k, *p.t, kBase, 4 * PG, 2).err(), Errno::INVAL);  // unknown mlock2 flag
}

TEST(Vma, MlockallFutureLocksLaterMappingsAndMunlockallUndoesEverything) {
    Proc p;
    p.map(0, 2 * PG);
    EXPECT_EQ(do_mlockall(*p.k, *p.t, 0).err(), Errno::INVAL);
    EXPECT_EQ(do_mlockall(*p.k, *p.t, MCL_ONFAULT).err(), Errno::INVAL);
    EXPECT_EQ(do_mlockall(*p.k, *p.t, 8).err(), Errno::INVAL);
    ASSERT_TRUE(do_mlockall(*p.k, *p.t, MCL_CURRENT | MCL_FUTURE));
    validate_vm(*p.k);
    EXPECT_EQ(p.mm().def_flags, static_cast<uint64_t>(VM_LOCKED));
    EXPECT_EQ(p.mm().get_mm_counter(MM_ANONPAGES), 2);  // populated
    p.map(4 * PG, 2 * PG);                              // locked and populated by mmap itself
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x2000 lo][rw-p 0x4000-0x6000 lo]");
    EXPECT_EQ(p.mm().locked_vm, 4u);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 4);
    ASSERT_TRUE(do_munlockall(*p.k, *p.t));
    validate_vm(*p.k);
    EXPECT_EQ(p.mm().def_flags, 0u);
    EXPECT_EQ(p.mm().locked_vm, 0u);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 0);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x2000][rw-p 0x4000-0x6000]");
}

TEST(Vma, MremapOfALockedAreaKeepsItLockedAndPopulatesTheGrowth) {
    Proc p;
    p.map(0, 2 * PG);
    ASSERT_TRUE(do_mlock(*p.k, *p.t, kBase, 2 * PG, 0));
    auto r = do_mremap(*p.k, *p.t, kBase, 2 * PG, 4 * PG, 0, 0);
    ASSERT_TRUE(r);
    validate_vm(*p.k);
    EXPECT_EQ(layout(p.mm()), "[rw-p 0x0-0x4000 lo]");
    EXPECT_EQ(p.mm().locked_vm, 4u);
    EXPECT_EQ(p.mm().get_mm_counter(MM_ANONPAGES), 4);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 4);
    // Shrinking unmaps and munlocks the tail.
    r = do_mremap(*p.k, *p.t, kBase, 4 * PG, PG, 0, 0);
    ASSERT_TRUE(r);
    validate_vm(*p.k);
    EXPECT_EQ(p.mm().locked_vm, 1u);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 1);
}

}  // namespace
}  // namespace mmsim
