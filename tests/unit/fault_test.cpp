// Faults, page tables and reverse mapping behave as mm/memory.c, the x86-64
// page-table code and mm/rmap.c of Linux 6.18 make them behave. Each test
// names the kernel rule it checks; the fault-around expectations come from
// the real kernel's tests/data/host-6.18/vm/faultaround.out (small folios,
// case C) and from a shared-anonymous capture (shmem_faultaround.out).
// validate_vm() (map counts, rmap against a page-table scan, RSS, table
// counts) runs after every step.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

constexpr uint64_t PG = PAGE_SIZE;
constexpr uint64_t kBase = 0x10000000;  // 256 MiB: 1 GiB- and 2 MiB-aligned

struct Machine {
    std::unique_ptr<Kernel> k = test::boot_one_zone(16384, 2);

    Task& process() {
        Task& task = k->tasks->create(1);
        auto mm = mm_alloc(*k);
        EXPECT_TRUE(mm);
        task.mm = *mm;
        task.mm->mm_users = 1;
        return task;
    }
    uint64_t map(Task& t, uint64_t addr, uint64_t len, unsigned prot = PROT_READ | PROT_WRITE,
                 unsigned flags = MAP_PRIVATE | MAP_ANONYMOUS, Inode* file = nullptr) {
        MmapArgs a;
        a.addr = addr;
        a.len = len;
        a.prot = prot;
        a.flags = flags | MAP_FIXED;
        a.file = file;
        auto r = do_mmap(*k, t, a);
        EXPECT_TRUE(r) << errno_name(r.err());
        validate_vm(*k);
        return r ? *r : 0;
    }
    VmFault access(Task& t, uint64_t addr, Access how) {
        VmFault f = access_memory(*k, t, addr, how);
        validate_vm(*k);
        return f;
    }
    const uint64_t* pte(Task& t, uint64_t addr) { return pte_lookup(*k, *t.mm, addr); }
    Pfn pfn_at(Task& t, uint64_t addr) {
        const uint64_t* e = pte(t, addr);
        return e && pte_present(*e) ? pte_pfn(*e) : Pfn(0);
    }
    uint64_t allocations() { return k->vm_events[PGALLOC_NORMAL]; }  // one zone: Normal
    uint64_t pgfault() { return k->vm_events[PGFAULT]; }
};

TEST(Faults, AnonymousReadMapsTheZeroPageAndAWriteReplacesItWithAZeroedPage) {
    // do_anonymous_page(): a read maps the shared zero page read-only and
    // special (no RSS); the write that follows is a write-protect fault that
    // allocates a fresh page (wp_page_copy() from the zero page).
    Machine m;
    Task& t = m.process();
    m.map(t, kBase, 4 * PG);
    uint64_t faults = m.pgfault();
    ASSERT_EQ(m.access(t, kBase, Access::Read), VmFault::Minor);
    const uint64_t* e = m.pte(t, kBase);
    ASSERT_TRUE(e && pte_present(*e));
    EXPECT_TRUE(pte_special(*e));
    EXPECT_FALSE(pte_write(*e));
    EXPECT_EQ(pte_pfn(*e), m.k->zero_pfn);
    EXPECT_EQ(t.mm->get_mm_counter(MM_ANONPAGES), 0);
    EXPECT_EQ(t.min_flt, 1u);
    EXPECT_EQ(m.pgfault(), faults + 1);

    ASSERT_EQ(m.access(t, kBase, Access::Write), VmFault::Minor);
    e = m.pte(t, kBase);
    EXPECT_FALSE(pte_special(*e));
    EXPECT_TRUE(pte_write(*e));
    EXPECT_TRUE(*e & _PAGE_DIRTY);
    EXPECT_NE(pte_pfn(*e), m.k->zero_pfn);
    EXPECT_EQ(t.mm->get_mm_counter(MM_ANONPAGES), 1);
    EXPECT_EQ(t.min_flt, 2u);
    // A second write hits the TLB: no fault.
    ASSERT_EQ(m.access(t, kBase, Access::Write), VmFault::Minor);
    EXPECT_EQ(t.min_flt, 2u);
}

TEST(Faults, AccessOutsideEveryAreaIsMaperrAndAWriteToReadOnlyIsAccerr) {
    Machine m;
    Task& t = m.process();
    m.map(t, kBase, 4 * PG, PROT_READ);
    EXPECT_EQ(access_memory(*m.k, t, kBase + 8 * PG, Access::Read), VmFault::SegvMaperr);
    EXPECT_EQ(access_memory(*m.k, t, kBase, Access::Write), VmFault::SegvAccerr);
    EXPECT_EQ(access_memory(*m.k, t, kBase, Access::Exec), VmFault::SegvAccerr);
    validate_vm(*m.k);
}

TEST(PageTables, FirstTouchBuildsPudPmdAndPteTablesAndMunmapFreesThemAll) {
    // An empty address space has only its PGD. The first page at a fresh
    // 1 GiB-aligned address needs a PUD, a PMD and a PTE table (VmPTE counts
    // those three, not the PGD); a page 2 MiB further needs one more PTE
    // table; munmap of everything frees them (free_pgd_range, no neighbours).
    Machine m;
    Task& t = m.process();
    const int64_t tables0 = m.k->global_node_page_state(NR_PAGE_TABLE_PAGES);
    EXPECT_EQ(t.mm->pgtables_bytes, 0);
    m.map(t, kBase, 4 << 20);
    EXPECT_EQ(t.mm->pgtables_bytes, 0);  // mmap builds no tables
    ASSERT_EQ(m.access(t, kBase, Access::Write), VmFault::Minor);
    EXPECT_EQ(t.mm->pgtables_bytes, static_cast<int64_t>(3 * PG));
    EXPECT_EQ(m.k->global_node_page_state(NR_PAGE_TABLE_PAGES), tables0 + 3);
    ASSERT_EQ(m.access(t, kBase + (2 << 20), Access::Write), VmFault::Minor);
    EXPECT_EQ(t.mm->pgtables_bytes, static_cast<int64_t>(4 * PG));
    ASSERT_TRUE(do_munmap(*m.k, t, kBase, 4 << 20));
    validate_vm(*m.k);
    EXPECT_EQ(t.mm->pgtables_bytes, 0);
    EXPECT_EQ(m.k->global_node_page_state(NR_PAGE_TABLE_PAGES), tables0);
}

TEST(PageTables, MunmapKeepsATableANeighbourStillUses) {
    // free_pgd_range() frees a PTE table only when the whole 2 MiB it covers
    // is free of areas: unmapping one of two areas sharing a table keeps it.
    Machine m;
    Task& t = m.process();
    m.map(t, kBase, PG);
    m.map(t, kBase + 8 * PG, PG, PROT_READ);  // a different area in the same 2 MiB
    ASSERT_EQ(m.access(t, kBase, Access::Write), VmFault::Minor);
    ASSERT_EQ(m.access(t, kBase + 8 * PG, Access::Read), VmFault::Minor);
    EXPECT_EQ(t.mm->pgtables_bytes, static_cast<int64_t>(3 * PG));
    ASSERT_TRUE(do_munmap(*m.k, t, kBase, PG));
    validate_vm(*m.k);
    EXPECT_EQ(t.mm->pgtables_bytes, static_cast<int64_t>(3 * PG));
    ASSERT_TRUE(do_munmap(*m.k, t, kBase + 8 * PG, PG));
    validate_vm(*m.k);
    EXPECT_EQ(t.mm->pgtables_bytes, 0);
}

TEST(Cow, ForkSharesWriteProtectedPagesAWriteCopiesAndTheLastOwnerReuses) {
    // copy_page_range() write-protects private writable pages in both
    // processes and takes a map count per entry. The child's write copies
    // (wp_page_copy); once the child's copy exists the parent's page has
    // one mapper again, so the parent's write reuses it in place
    // (wp_can_reuse_anon_folio) without allocating.
    Machine m;
    Task& p = m.process();
    m.map(p, kBase, 2 * PG);
    ASSERT_EQ(m.access(p, kBase, Access::Write), VmFault::Minor);
    const Pfn orig = m.pfn_at(p, kBase);
    auto child = do_fork(*m.k, p);
    ASSERT_TRUE(child);
    Task& c = **child;
    validate_vm(*m.k);
    EXPECT_EQ(m.pfn_at(c, kBase), orig);
    EXPECT_EQ(m.k->page(orig).mapcount, 2);
    EXPECT_FALSE(pte_write(*m.pte(p, kBase)));
    EXPECT_FALSE(pte_write(*m.pte(c, kBase)));

    const uint64_t alloc0 = m.allocations();
    ASSERT_EQ(m.access(c, kBase, Access::Write), VmFault::Minor);
    const Pfn copy = m.pfn_at(c, kBase);
    EXPECT_NE(copy, orig);
    EXPECT_EQ(m.k->page(orig).mapcount, 1);
    EXPECT_EQ(c.min_flt, 1u);
    EXPECT_EQ(m.allocations(), alloc0 + 1);  // the copy

    const uint64_t parent_faults = p.min_flt;
    ASSERT_EQ(m.access(p, kBase, Access::Write), VmFault::Minor);
    EXPECT_EQ(m.pfn_at(p, kBase), orig);  // reused, not copied
    EXPECT_TRUE(pte_write(*m.pte(p, kBase)));
    EXPECT_EQ(p.min_flt, parent_faults + 1);
    EXPECT_EQ(m.allocations(), alloc0 + 1);  // nothing more
}

TEST(Rmap, AFilePageMappedByThreeProcessesIsOnePageWithThreeMappers) {
    // A file read fault maps the page-cache page itself: three processes
    // share one frame, its map count is three, and rmap_walk finds each
    // (area, address) through the file's i_mmap.
    Machine m;
    Inode& f = m.k->files->create("/data/shared", 16 * PG);
    std::vector<Task*> tasks;
    const uint64_t at[3] = {kBase, kBase + (64 << 20), kBase + (128 << 20)};
    for (int i = 0; i < 3; i++) {
        Task& t = m.process();
        m.map(t, at[i], 16 * PG, PROT_READ, MAP_PRIVATE, &f);
        tasks.push_back(&t);
    }
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(m.access(*tasks[i], at[i] + 3 * PG, Access::Read), i ? VmFault::Minor : VmFault::Major);
    const Pfn pfn = m.pfn_at(*tasks[0], at[0] + 3 * PG);
    for (int i = 1; i < 3; i++) EXPECT_EQ(m.pfn_at(*tasks[i], at[i] + 3 * PG), pfn);
    EXPECT_EQ(m.k->page(pfn).mapcount, 3);
    std::set<uint64_t> found;
    rmap_walk(*m.k, pfn, [&](Vma& v, uint64_t addr) {
        EXPECT_EQ(v.vm_file, &f);
        found.insert(addr);
    });
    EXPECT_EQ(found, (std::set<uint64_t>{at[0] + 3 * PG, at[1] + 3 * PG, at[2] + 3 * PG}));
}

TEST(Rmap, AnAnonymousPageSharedAfterForkIsFoundInBothProcesses) {
    Machine m;
    Task& p = m.process();
    m.map(p, kBase, PG);
    ASSERT_EQ(m.access(p, kBase, Access::Write), VmFault::Minor);
    auto c = do_fork(*m.k, p);
    ASSERT_TRUE(c);
    const Pfn pfn = m.pfn_at(p, kBase);
    std::set<const MmStruct*> mms;
    rmap_walk(*m.k, pfn, [&](Vma& v, uint64_t addr) {
        EXPECT_EQ(addr, kBase);
        mms.insert(v.vm_mm);
    });
    EXPECT_EQ(mms, (std::set<const MmStruct*>{p.mm.get(), (*c)->mm.get()}));
}

TEST(FaultAround, AReadFaultMapsTheCachedPagesOfItsSixteenPageWindow) {
    // Real kernel, faultaround.out case C (a file cached as small folios,
    // mapped at 0xd0000 within its 2 MiB): one read fault maps 16 pages,
    // Rss 64 kB, one minor fault. The window is 16 entries aligned in the
    // PTE table (do_fault_around), clamped to the area.
    Machine m;
    Task& t = m.process();
    Inode& f = m.k->files->create("/data/fa", 256 * PG);
    for (uint64_t i = 0; i < 256; i++) ASSERT_TRUE(filemap_get_or_read(*m.k, f, i, nullptr));
    const uint64_t at = kBase + 0xd0000;
    m.map(t, at, 256 * PG, PROT_READ, MAP_PRIVATE, &f);
    ASSERT_EQ(m.access(t, at + 128 * PG, Access::Read), VmFault::Minor);
    EXPECT_EQ(t.min_flt, 1u);
    EXPECT_EQ(t.maj_flt, 0u);
    EXPECT_EQ(t.mm->get_mm_counter(MM_FILEPAGES), 16);
    for (uint64_t i = 0; i < 256; i++)
        EXPECT_EQ(m.pfn_at(t, at + i * PG).value != 0, i >= 128 && i < 144) << "page " << i;
}

TEST(FaultAround, TheWindowIsClampedToTheAreaAndSkipsUncachedPages) {
    // An area starting mid-window maps nothing below its start; pages not in
    // the page cache are left for their own faults (filemap_map_pages).
    Machine m;
    Task& t = m.process();
    Inode& f = m.k->files->create("/data/fa2", 64 * PG);
    for (uint64_t i = 0; i < 64; i += 2) ASSERT_TRUE(filemap_get_or_read(*m.k, f, i, nullptr));
    // The area starts at entry 4 of its PTE table: the aligned window start
    // (entry 0) lies below it, so the window is entries 4..19, file pages
    // 0..15, of which the even ones are cached.
    const uint64_t at = kBase + 4 * PG;
    m.map(t, at, 64 * PG, PROT_READ, MAP_PRIVATE, &f);
    ASSERT_EQ(m.access(t, at + 2 * PG, Access::Read), VmFault::Minor);
    EXPECT_EQ(t.mm->get_mm_counter(MM_FILEPAGES), 8);
    EXPECT_NE(m.pfn_at(t, at + 14 * PG).value, 0u);
    EXPECT_EQ(m.pfn_at(t, at + 15 * PG).value, 0u);  // not cached
    EXPECT_EQ(m.pfn_at(t, at + 16 * PG).value, 0u);  // cached, outside the window
}

TEST(FaultAround, SharedAnonymousMemoryFaultsAroundToo) {
    // shmem's vm_operations have map_pages = filemap_map_pages: on the real
    // kernel a read of a MAP_SHARED|MAP_ANONYMOUS page another process wrote
    // maps the 16 cached pages around it (RssShmem 0 -> 64 kB,
    // tests/data/host-6.18/vm/shmem_faultaround.out).
    Machine m;
    Task& p = m.process();
    m.map(p, kBase, 64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    auto c = do_fork(*m.k, p);
    ASSERT_TRUE(c);
    for (uint64_t i = 0; i < 64; i++) ASSERT_EQ(m.access(**c, kBase + i * PG, Access::Write), VmFault::Minor);
    EXPECT_EQ(p.mm->get_mm_counter(MM_SHMEMPAGES), 0);
    ASSERT_EQ(m.access(p, kBase + 20 * PG, Access::Read), VmFault::Minor);
    EXPECT_EQ(p.mm->get_mm_counter(MM_SHMEMPAGES), 16);
}

}  // namespace
}  // namespace mmsim
