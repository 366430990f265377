// x86-64 four-level page tables: arch/x86/include/asm/pgtable*.h and the
// table allocation of mm/memory.c (__pte_alloc, __pmd_alloc, __pud_alloc),
// mm/pgtable-generic.c and free_pgtables().
//
// A virtual address of 48 bits splits into four 9-bit indexes and a 12-bit
// offset:
//
//   47     39 38     30 29     21 20     12 11        0
//   +--------+---------+---------+---------+-----------+
//   |  PGD   |   PUD   |   PMD   |   PTE   |  offset   |
//   +--------+---------+---------+---------+-----------+
//
// Each level is a 4 KiB page of 512 eight-byte entries. An entry holds the
// pfn of the next table (or, in a PTE, of the data page) in bits 12-51 and
// the hardware's bits: present, writable, user, accessed, dirty, PSE, global
// and NX in bit 63; bit 9 (_PAGE_SPECIAL) marks a mapping with no struct
// page behind it that rmap must ignore (our zero page is mapped that way,
// as the kernel's is). The P4D level of five-level paging is folded away.
//
// Every table page comes from the simulated buddy allocator
// (GFP_PGTABLE_USER: GFP_KERNEL_ACCOUNT | __GFP_ZERO), so meminfo's
// PageTables counts real allocations: the PGD when the address space is
// created, and a PUD, PMD or PTE table when the first fault below it needs
// one. VmPTE (mm_pgtables_bytes) counts the PUD, PMD and PTE tables but not
// the PGD, as the kernel does. The entries themselves live in host memory:
// a table page's descriptor names its slot in the PageTableStore (the
// kernel's ptdesc overlays struct page the same way).
//
// Tables are freed by free_pgtables() when areas are unmapped, following
// free_pgd_range()'s rule: a table goes only when the whole range it
// covers lies between the neighbouring areas (floor and ceiling), so a
// table shared with a neighbour stays.
//
// For the host's sake, each address space remembers the PTE table its last
// walk ended in (MmStruct::pt_cache_*): a walk or table allocation within
// the same 2 MiB, the common case of faults and accesses in a row, is one
// comparison. The simulated walk costs the same either way. Code that
// handles many entries walks a PTE table at a time (walk_pte_tables()).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernel/kernel.h"
#include "mm/memmap.h"
#include "mm/mm_struct.h"
#include "mmsim/result.h"

namespace mmsim {

// Entry bits (pgtable_types.h).
inline constexpr uint64_t _PAGE_PRESENT = 1ull << 0;
inline constexpr uint64_t _PAGE_RW = 1ull << 1;
inline constexpr uint64_t _PAGE_USER = 1ull << 2;
inline constexpr uint64_t _PAGE_PWT = 1ull << 3;
inline constexpr uint64_t _PAGE_PCD = 1ull << 4;
inline constexpr uint64_t _PAGE_ACCESSED = 1ull << 5;
inline constexpr uint64_t _PAGE_DIRTY = 1ull << 6;
inline constexpr uint64_t _PAGE_PSE = 1ull << 7;
inline constexpr uint64_t _PAGE_GLOBAL = 1ull << 8;
inline constexpr uint64_t _PAGE_SPECIAL = 1ull << 9;      // _PAGE_BIT_SOFTW1
inline constexpr uint64_t _PAGE_SOFT_DIRTY = 1ull << 11;  // _PAGE_BIT_SOFTW3
inline constexpr uint64_t _PAGE_NX = 1ull << 63;
// A PROT_NONE entry keeps its page mapped but not present to the hardware:
// the global bit, meaningless in user entries, marks it (_PAGE_PROTNONE).
inline constexpr uint64_t _PAGE_PROTNONE = _PAGE_GLOBAL;
inline constexpr uint64_t PTE_PFN_MASK = 0x000ffffffffff000ull;
// What a table entry (PGD/PUD/PMD pointing at a lower table) carries:
// _KERNPG_TABLE | _PAGE_USER, i.e. _PAGE_TABLE.
inline constexpr uint64_t _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

inline constexpr unsigned PTRS_PER_TABLE = 512;
inline constexpr unsigned PMD_SHIFT = 21, PUD_SHIFT = 30, PGDIR_SHIFT = 39;
inline constexpr uint64_t PMD_SIZE = 1ull << PMD_SHIFT, PUD_SIZE = 1ull << PUD_SHIFT,
                          PGDIR_SIZE = 1ull << PGDIR_SHIFT;
inline constexpr uint64_t PMD_MASK = ~(PMD_SIZE - 1), PUD_MASK = ~(PUD_SIZE - 1),
                          PGDIR_MASK = ~(PGDIR_SIZE - 1);

inline unsigned pgd_index(uint64_t a) { return (a >> PGDIR_SHIFT) & 511; }
inline unsigned pud_index(uint64_t a) { return (a >> PUD_SHIFT) & 511; }
inline unsigned pmd_index(uint64_t a) { return (a >> PMD_SHIFT) & 511; }
inline unsigned pte_index(uint64_t a) { return (a >> PAGE_SHIFT) & 511; }

// The kernel's pte_present(): mapped, even if PROT_NONE hides it from the
// CPU. The hardware walk tests _PAGE_PRESENT alone (pte_hw_present()).
inline bool pte_present(uint64_t e) { return e & (_PAGE_PRESENT | _PAGE_PROTNONE); }
inline bool pte_hw_present(uint64_t e) { return e & _PAGE_PRESENT; }
inline bool pte_none(uint64_t e) { return e == 0; }
inline bool pte_write(uint64_t e) { return e & _PAGE_RW; }
inline bool pte_dirty(uint64_t e) { return e & _PAGE_DIRTY; }
inline bool pte_young(uint64_t e) { return e & _PAGE_ACCESSED; }
inline bool pte_special(uint64_t e) { return e & _PAGE_SPECIAL; }
inline Pfn pte_pfn(uint64_t e) { return Pfn((e & PTE_PFN_MASK) >> PAGE_SHIFT); }
inline uint64_t pfn_pte(Pfn pfn, uint64_t prot) { return (pfn.value << PAGE_SHIFT) | prot; }

// A swap entry in a PTE (arch/x86/include/asm/pgtable_64.h since the L1TF
// fix): not present, the device's type in the top five bits (59-63), the
// slot's offset inverted in bits 9-58, so that the CPU, speculating on
// the entry as if it were present, would find an address beyond any RAM.
// Bit 3 (_PAGE_PWT) says the page was exclusive to this entry when it was
// swapped out; bit 1 (_PAGE_RW) is the entry's soft-dirty bit.
inline constexpr unsigned SWP_TYPE_BITS = 5;
inline constexpr unsigned SWP_OFFSET_FIRST_BIT = 9;  // _PAGE_BIT_PROTNONE + 1
inline constexpr unsigned SWP_OFFSET_SHIFT = SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS;
inline constexpr uint64_t _PAGE_SWP_EXCLUSIVE = _PAGE_PWT;
inline constexpr uint64_t _PAGE_SWP_SOFT_DIRTY = _PAGE_RW;
inline constexpr uint64_t swp_pte(unsigned type, uint64_t offset) {
    return (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | (uint64_t{type} << (64 - SWP_TYPE_BITS));
}
inline constexpr unsigned pte_swp_type(uint64_t e) {
    return static_cast<unsigned>(e >> (64 - SWP_TYPE_BITS));
}
inline constexpr uint64_t pte_swp_offset(uint64_t e) { return ~e << SWP_TYPE_BITS >> SWP_OFFSET_SHIFT; }
// is_swap_pte(): neither empty nor present.
inline bool is_swap_pte(uint64_t e) { return e && !pte_present(e); }
inline bool pte_swp_exclusive(uint64_t e) { return e & _PAGE_SWP_EXCLUSIVE; }

// vm_get_page_prot(): the entry bits for an area's rights. Private
// writable areas start write-protected (copy-on-write); only shared
// writable ones get _PAGE_RW up front (protection_map[] of x86).
inline uint64_t vm_get_page_prot(uint64_t vm_flags) {
    // x86's protection_map[]: PAGE_NONE is _PAGE_PROTNONE without
    // _PAGE_PRESENT, so the CPU faults while the page stays mapped.
    if (!(vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) return _PAGE_PROTNONE | _PAGE_ACCESSED | _PAGE_NX;
    uint64_t prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
    if ((vm_flags & VM_WRITE) && (vm_flags & VM_SHARED)) prot |= _PAGE_RW;
    if (!(vm_flags & VM_EXEC)) prot |= _PAGE_NX;
    return prot;
}

// The host storage of table contents, indexed by slot.
using PtTable = std::array<uint64_t, PTRS_PER_TABLE>;
class PageTableStore {
public:
    uint32_t alloc_slot();  // zeroed table
    void free_slot(uint32_t slot);
    PtTable& table(uint32_t slot) { return *m_tables[slot]; }
    const PtTable& table(uint32_t slot) const { return *m_tables[slot]; }
    std::size_t live() const { return m_tables.size() - m_free.size(); }

private:
    std::vector<std::unique_ptr<PtTable>> m_tables;
    std::vector<uint32_t> m_free;
};

// The descriptor of a pfn: Kernel::page() inlined, for the hot paths.
inline Page& page_of(Kernel& k, Pfn pfn) { return (*k.mem_map)[pfn.value]; }
inline const Page& page_of(const Kernel& k, Pfn pfn) { return (*k.mem_map)[pfn.value]; }

// The table behind a table page's pfn.
inline PtTable& pt_table(Kernel& k, Pfn pfn) { return k.page_tables->table((*k.mem_map)[pfn.value].index); }
inline const PtTable& pt_table(const Kernel& k, Pfn pfn) {
    return k.page_tables->table((*k.mem_map)[pfn.value].index);
}

// pgd_alloc(): the address space's top-level table. ENOMEM if the page
// allocator fails.
Result<void> pgd_alloc(Kernel& k, MmStruct& mm);
// pgd_free(): after every lower table is gone (exit_mmap).
void pgd_free(Kernel& k, MmStruct& mm);

// The walks below remember the PTE table they end in (MmStruct::
// pt_cache_*), so the next walk within the same 2 MiB is one comparison.
// These do the full walk and refill that cache.
const uint64_t* pte_lookup_walk(const Kernel& k, const MmStruct& mm, uint64_t addr);
uint64_t* pte_alloc_walk(Kernel& k, MmStruct& mm, uint64_t addr);

// The PTE slot for addr, or nullptr if a table on the way is missing.
inline const uint64_t* pte_lookup(const Kernel& k, const MmStruct& mm, uint64_t addr) {
    if ((addr & PMD_MASK) == mm.pt_cache_base) return mm.pt_cache_table + pte_index(addr);
    return pte_lookup_walk(k, mm, addr);
}
inline uint64_t* pte_lookup(Kernel& k, MmStruct& mm, uint64_t addr) {
    return const_cast<uint64_t*>(
        pte_lookup(static_cast<const Kernel&>(k), static_cast<const MmStruct&>(mm), addr));
}
// The PTE slot for addr, allocating missing tables (__pud_alloc,
// __pmd_alloc, __pte_alloc). nullptr when a table page cannot be
// allocated (the fault returns VM_FAULT_OOM).
inline uint64_t* pte_alloc(Kernel& k, MmStruct& mm, uint64_t addr) {
    if ((addr & PMD_MASK) == mm.pt_cache_base) return mm.pt_cache_table + pte_index(addr);
    return pte_alloc_walk(k, mm, addr);
}

// free_pgd_range(): frees the tables mapping [addr, end) whose whole span
// lies inside [floor, ceiling) (ceiling 0 means the top of the address
// space). Every PTE in the range must already be clear.
void free_pgd_range(Kernel& k, MmStruct& mm, uint64_t addr, uint64_t end, uint64_t floor, uint64_t ceiling);

// Calls fn(addr, pte&) for every non-empty PTE in [start, end), skipping
// missing tables quickly.
template <typename Fn>
void walk_ptes(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, Fn&& fn);
template <typename Fn>
void walk_ptes(const Kernel& k, const MmStruct& mm, uint64_t start, uint64_t end, Fn&& fn);
// Calls fn(base, entries, from, to) once for every PTE table present under
// [start, end): base is the 2 MiB-aligned address the table maps, entries
// its 512 slots, [from, to) the slots inside the range. For loops that
// handle a table's entries together (fork's copy, unmapping).
template <typename Fn>
void walk_pte_tables(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, Fn&& fn);

// Counts every table page of the address space by level (for validate()
// and tests): [0] PTE, [1] PMD, [2] PUD, [3] PGD.
std::array<uint64_t, 4> count_pgtables(const Kernel& k, const MmStruct& mm);

// ---- template bodies ---------------------------------------------------------

namespace pgtable_detail {
// Calls table_fn(base, table, from, to) for every PTE table under
// [start, end).
template <typename K, typename Fn>
void walk_tables(K& k, Pfn pgd, uint64_t start, uint64_t end, Fn& table_fn) {
    uint64_t addr = start;
    while (addr < end) {
        auto& g = pt_table(k, pgd);
        uint64_t ge = g[pgd_index(addr)];
        uint64_t next_g = (addr & PGDIR_MASK) + PGDIR_SIZE;
        if (!pte_present(ge)) {
            addr = next_g;
            continue;
        }
        auto& u = pt_table(k, pte_pfn(ge));
        uint64_t gend = next_g < end ? next_g : end;
        while (addr < gend) {
            uint64_t ue = u[pud_index(addr)];
            uint64_t next_u = (addr & PUD_MASK) + PUD_SIZE;
            if (!pte_present(ue)) {
                addr = next_u;
                continue;
            }
            auto& m = pt_table(k, pte_pfn(ue));
            uint64_t uend = next_u < gend ? next_u : gend;
            while (addr < uend) {
                uint64_t me = m[pmd_index(addr)];
                uint64_t next_m = (addr & PMD_MASK) + PMD_SIZE;
                uint64_t mend = next_m < uend ? next_m : uend;
                if (pte_present(me)) {
                    // mend - 1: the range may end at the top of the table.
                    table_fn(addr & PMD_MASK, pt_table(k, pte_pfn(me)).data(), pte_index(addr),
                             pte_index(mend - 1) + 1);
                }
                addr = next_m;
            }
        }
    }
}

template <typename K, typename Fn>
void walk(K& k, Pfn pgd, uint64_t start, uint64_t end, Fn& fn) {
    auto per_table = [&fn](uint64_t base, auto* t, unsigned from, unsigned to) {
        for (unsigned i = from; i < to; i++)
            if (t[i]) fn(base + (static_cast<uint64_t>(i) << PAGE_SHIFT), t[i]);
    };
    walk_tables(k, pgd, start, end, per_table);
}
}  // namespace pgtable_detail

template <typename Fn>
void walk_ptes(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, Fn&& fn) {
    if (mm.has_pgd) pgtable_detail::walk(k, mm.pgd, start, end, fn);
}
template <typename Fn>
void walk_ptes(const Kernel& k, const MmStruct& mm, uint64_t start, uint64_t end, Fn&& fn) {
    if (mm.has_pgd) pgtable_detail::walk(k, mm.pgd, start, end, fn);
}
template <typename Fn>
void walk_pte_tables(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, Fn&& fn) {
    if (mm.has_pgd) pgtable_detail::walk_tables(k, mm.pgd, start, end, fn);
}

}  // namespace mmsim
