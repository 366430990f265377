// Page-table pages: allocation, lookup and freeing. See pgtable.h for the
// layout; this file models __pte_alloc(), __pmd_alloc(), __pud_alloc(),
// pgd_alloc() and free_pgd_range() with its floor/ceiling rule.
#include "mm/pgtable.h"

#include "mm/page_alloc.h"
#include "mm/vmstat.h"

namespace mmsim {

uint32_t PageTableStore::alloc_slot() {
    if (!m_free.empty()) {
        uint32_t s = m_free.back();
        m_free.pop_back();
        m_tables[s]->fill(0);
        return s;
    }
    m_tables.push_back(std::make_unique<PtTable>());
    m_tables.back()->fill(0);
    return static_cast<uint32_t>(m_tables.size() - 1);
}

void PageTableStore::free_slot(uint32_t slot) { m_free.push_back(slot); }

namespace {

// GFP_PGTABLE_USER: GFP_KERNEL_ACCOUNT | __GFP_ZERO.
constexpr gfp_t kGfpPgtableUser = GFP_KERNEL | __GFP_ACCOUNT | __GFP_ZERO;

// pagetable_alloc() + pagetable_*_ctor(): a zeroed table page, counted in
// NR_PAGETABLE.
MaybePfn table_alloc(Kernel& k) {
    MaybePfn pfn = alloc_pages(k, kGfpPgtableUser, 0);
    if (!pfn) return pfn;
    Page& p = page_of(k, *pfn);
    p.set(PG_pgtable);
    p.index = k.page_tables->alloc_slot();
    mod_node_page_state(k.nodes[pfn_zone(k, *pfn).node], NR_PAGE_TABLE_PAGES, 1);
    return pfn;
}

// pagetable_dtor() + pagetable_free().
void table_free(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    k.page_tables->free_slot(p.index);
    p.index = 0;
    p.clear(PG_pgtable);
    mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_PAGE_TABLE_PAGES, -1);
    free_pages(k, pfn, 0);
}

// Makes sure entry e points at a table; allocates one if not. Returns
// false when the allocation fails. `accounted` tables count in VmPTE.
bool ensure_table(Kernel& k, MmStruct& mm, uint64_t& e) {
    if (pte_present(e)) return true;
    MaybePfn t = table_alloc(k);
    if (!t) return false;
    e = pfn_pte(*t, _PAGE_TABLE);
    mm.pgtables_bytes += static_cast<int64_t>(PAGE_SIZE);  // mm_inc_nr_puds/pmds/ptes
    return true;
}

bool table_empty(const PtTable& t) {
    for (uint64_t e : t)
        if (e) return false;
    return true;
}

// Remembers the PTE table covering addr for the next walk.
void remember_pte_table(const MmStruct& mm, uint64_t addr, uint64_t* table) {
    mm.pt_cache_base = addr & PMD_MASK;
    mm.pt_cache_table = table;
}

void forget_pte_table(const MmStruct& mm) {
    mm.pt_cache_base = 1;
    mm.pt_cache_table = nullptr;
}

}  // namespace

Result<void> pgd_alloc(Kernel& k, MmStruct& mm) {
    MaybePfn t = table_alloc(k);
    if (!t) return Errno::NOMEM;
    mm.pgd = *t;
    mm.has_pgd = true;
    return {};
}

void pgd_free(Kernel& k, MmStruct& mm) {
    forget_pte_table(mm);
    if (!mm.has_pgd) return;
    table_free(k, mm.pgd);
    mm.has_pgd = false;
}

const uint64_t* pte_lookup_walk(const Kernel& k, const MmStruct& mm, uint64_t addr) {
    if (!mm.has_pgd) return nullptr;
    uint64_t g = pt_table(k, mm.pgd)[pgd_index(addr)];
    if (!pte_present(g)) return nullptr;
    uint64_t u = pt_table(k, pte_pfn(g))[pud_index(addr)];
    if (!pte_present(u)) return nullptr;
    uint64_t m = pt_table(k, pte_pfn(u))[pmd_index(addr)];
    if (!pte_present(m)) return nullptr;
    // The store's tables are host memory the walk may write through.
    uint64_t* table = const_cast<uint64_t*>(pt_table(k, pte_pfn(m)).data());
    remember_pte_table(mm, addr, table);
    return table + pte_index(addr);
}

uint64_t* pte_alloc_walk(Kernel& k, MmStruct& mm, uint64_t addr) {
    if (!mm.has_pgd) return nullptr;
    uint64_t& g = pt_table(k, mm.pgd)[pgd_index(addr)];
    if (!ensure_table(k, mm, g)) return nullptr;
    uint64_t& u = pt_table(k, pte_pfn(g))[pud_index(addr)];
    if (!ensure_table(k, mm, u)) return nullptr;
    uint64_t& m = pt_table(k, pte_pfn(u))[pmd_index(addr)];
    if (!ensure_table(k, mm, m)) return nullptr;
    uint64_t* table = pt_table(k, pte_pfn(m)).data();
    remember_pte_table(mm, addr, table);
    return table + pte_index(addr);
}

namespace {

// The rule of free_pmd_range() and friends: the table at a level covering
// [start & mask, +size) may go only if that whole span lies in
// [floor, ceiling). ceiling 0 stands for the top of the address space.
bool span_free(uint64_t start, uint64_t mask, uint64_t size, uint64_t floor, uint64_t ceiling) {
    uint64_t lo = start & mask;
    if (lo < floor) return false;
    uint64_t hi = lo + size;  // exclusive
    if (ceiling && hi > ceiling) return false;
    return true;
}

void free_pte_tables(Kernel& k, MmStruct& mm, PtTable& pmd, uint64_t addr, uint64_t end) {
    // free_pte_range(): every PTE table in [addr, end) goes (the caller
    // already trimmed the range to whole, unshared PMD entries).
    for (uint64_t a = addr; a < end && a >= addr; a = (a & PMD_MASK) + PMD_SIZE) {
        uint64_t& e = pmd[pmd_index(a)];
        if (!pte_present(e)) continue;
        table_free(k, pte_pfn(e));
        e = 0;
        mm.pgtables_bytes -= static_cast<int64_t>(PAGE_SIZE);
    }
}

void free_pmd_tables(Kernel& k, MmStruct& mm, PtTable& pud, uint64_t addr, uint64_t end, uint64_t floor,
                     uint64_t ceiling) {
    for (uint64_t a = addr; a < end && a >= addr;) {
        uint64_t next = (a & PUD_MASK) + PUD_SIZE;
        uint64_t stop = next < end ? next : end;
        uint64_t& e = pud[pud_index(a)];
        if (pte_present(e)) {
            PtTable& pmd = pt_table(k, pte_pfn(e));
            free_pte_tables(k, mm, pmd, a, stop);
            if (span_free(a, PUD_MASK, PUD_SIZE, floor, ceiling) && table_empty(pmd)) {
                table_free(k, pte_pfn(e));
                e = 0;
                mm.pgtables_bytes -= static_cast<int64_t>(PAGE_SIZE);
            }
        }
        a = next;
    }
}

}  // namespace

void free_pgd_range(Kernel& k, MmStruct& mm, uint64_t addr, uint64_t end, uint64_t floor, uint64_t ceiling) {
    forget_pte_table(mm);
    if (!mm.has_pgd) return;
    // Trim to the PTE tables the range owns outright: a table whose 2 MiB
    // also serves an area below floor or above ceiling stays.
    addr &= PMD_MASK;
    if (addr < floor) {
        addr += PMD_SIZE;
        if (!addr) return;
    }
    if (ceiling) {
        ceiling &= PMD_MASK;
        if (!ceiling) return;
    }
    if (ceiling && end - 1 > ceiling - 1) end -= PMD_SIZE;
    if (addr > end - 1) return;

    PtTable& pgd = pt_table(k, mm.pgd);
    for (uint64_t a = addr; a < end && a >= addr;) {
        uint64_t next = (a & PGDIR_MASK) + PGDIR_SIZE;
        uint64_t stop = next < end ? next : end;
        uint64_t& e = pgd[pgd_index(a)];
        if (pte_present(e)) {
            PtTable& pud = pt_table(k, pte_pfn(e));
            free_pmd_tables(k, mm, pud, a, stop, floor, ceiling);
            if (span_free(a, PGDIR_MASK, PGDIR_SIZE, floor, ceiling) && table_empty(pud)) {
                table_free(k, pte_pfn(e));
                e = 0;
                mm.pgtables_bytes -= static_cast<int64_t>(PAGE_SIZE);
            }
        }
        a = next;
    }
}

std::array<uint64_t, 4> count_pgtables(const Kernel& k, const MmStruct& mm) {
    std::array<uint64_t, 4> n{};
    if (!mm.has_pgd) return n;
    n[3] = 1;
    const PtTable& g = pt_table(k, mm.pgd);
    for (uint64_t ge : g) {
        if (!pte_present(ge)) continue;
        n[2]++;
        const PtTable& u = pt_table(k, pte_pfn(ge));
        for (uint64_t ue : u) {
            if (!pte_present(ue)) continue;
            n[1]++;
            const PtTable& m = pt_table(k, pte_pfn(ue));
            for (uint64_t me : m)
                if (pte_present(me)) n[0]++;
        }
    }
    return n;
}

}  // namespace mmsim
