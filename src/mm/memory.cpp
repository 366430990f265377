// Page faults, unmapping and fork's copy of the page table (mm/memory.c),
// and the simulated CPU's memory access that leads to them.
//
// A program's load or store goes through the TLB; on a miss the CPU walks
// the page table; if the entry is missing or forbids the access, the CPU
// raises a page fault and the kernel decides what the access meant:
//
//   no area at the address            SIGSEGV (SEGV_MAPERR), unless the
//                                     area above grows down (the stack):
//                                     then the stack grows to cover it
//   area forbids it (write to r--p)   SIGSEGV (SEGV_ACCERR)
//   entry empty, anonymous area:
//     read                            map the shared zero page, read-only
//     write                           allocate a zeroed page, map it
//                                     writable (do_anonymous_page)
//   entry empty, file area:
//     read                            map the page-cache page, and up to
//                                     fault_around_bytes (64 KiB) of cached
//                                     neighbours with it (do_read_fault);
//                                     a page not cached is a major fault
//                                     that reads the read-around window
//                                     (filemap.h) and then faults around
//     write, private                  copy the file page to a new anonymous
//                                     page (do_cow_fault)
//     write, shared                   map the cache page writable, dirty it
//   entry present but read-only,
//   write in a writable area          copy-on-write (do_wp_page): reuse the
//                                     page if no one else maps it, else copy
//   swap entry                        do_swap_page: the page is in the swap
//                                     cache (minor), or is read back from
//                                     its slot (major): straight into a new
//                                     page on a synchronous device when no
//                                     one else shares the slot, through the
//                                     swap cache otherwise; mapped writable
//                                     when this entry was its only user
//
// Faults are counted the kernel's way: pgfault for every fault that reaches
// handle_mm_fault(), pgmajfault and the task's maj_flt when the page had to
// be read, min_flt otherwise. Each fault also costs simulated time.
//
// fork (copy_page_range) copies the entries of areas with anonymous pages
// and write-protects private writable ones in both processes, so the first
// write on either side faults and copies (or reuses when the other side has
// let go). File areas without anonymous pages are not copied at all: the
// child faults them in again from the page cache, as on Linux. Like the
// kernel's copy_pte_range(), the copy goes a PTE table at a time: the
// child's table is allocated once, then the entries cross in one loop.
//
// The access that hits the L1 dTLB is inline in memory_fast.h; this file
// has the rest (access_memory_miss()): another mm loaded, the full TLB
// lookup, the walk, the fault and the fill.
#include <algorithm>
#include <map>
#include <stdexcept>

#include "fs/buffer.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/memory_fast.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/swap.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"
#include "mm/tlb.h"
#include "mm/vmalloc.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// fault_around_bytes: 64 KiB, 16 pages (mm/memory.c's default).
constexpr uint64_t kFaultAroundPages = 16;

MmCounter counter_for(const Page& p, const Inode* file) {
    if (p.test(PG_anon)) return MM_ANONPAGES;
    if (file && file->shmem) return MM_SHMEMPAGES;
    return MM_FILEPAGES;
}

bool is_cow_mapping(uint64_t flags) { return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE; }

void set_pte(Kernel& k, MmStruct& mm, Vma& vma, uint64_t* pte, uint64_t addr, Pfn pfn, bool writable,
             bool dirty) {
    (void)k;
    (void)mm;
    (void)addr;
    uint64_t e = pfn_pte(pfn, vm_get_page_prot(vma.vm_flags));
    if (writable) e |= _PAGE_RW;
    if (dirty) e |= _PAGE_DIRTY;
    *pte = e;
}

// A new anonymous page for the area: zeroed (or a copy of `from`).
MaybePfn alloc_anon_page(Kernel& k, bool zero) {
    // vma_alloc_zeroed_movable_folio(): GFP_HIGHUSER_MOVABLE | __GFP_ZERO.
    MaybePfn pfn = alloc_pages(k, zero ? GFP_HIGHUSER_MOVABLE | __GFP_ZERO : GFP_HIGHUSER_MOVABLE, 0);
    if (!pfn) return pfn;
    page_of(k, *pfn).refcount = 1;
    k.clock.charge(zero ? k.costs.page_zero : k.costs.page_copy);
    return pfn;
}

// do_anonymous_page().
VmFault do_anonymous_page(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr, uint64_t* pte, bool write) {
    if (!write) {
        // The zero page: read faults on untouched anonymous memory cost no
        // memory and count in no RSS.
        *pte = pfn_pte(k.zero_pfn, vm_get_page_prot(vma.vm_flags)) | _PAGE_SPECIAL;
        return VmFault::Minor;
    }
    if (!vma.anon_vma) anon_vma_prepare(k, vma);
    MaybePfn pfn = alloc_anon_page(k, true);
    if (!pfn) return VmFault::Oom;
    page_add_new_anon_rmap(k, *pfn, vma, addr);
    folio_add_lru_vma(k, *pfn, vma);
    mm.add_mm_counter(MM_ANONPAGES, 1);
    set_pte(k, mm, vma, pte, addr, *pfn, (vma.vm_flags & VM_WRITE) != 0, true);
    return VmFault::Minor;
}

// Maps a page-cache page read-only (or writable for a shared writable
// area) and accounts it: finish_fault() / set_pte_range().
void map_file_page(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr, uint64_t* pte, Pfn pfn, bool write) {
    Page& p = page_of(k, pfn);
    p.refcount++;
    page_add_file_rmap(k, pfn);
    mm.add_mm_counter(counter_for(p, vma.vm_file), 1);
    bool shared_write = write && (vma.vm_flags & VM_SHARED);
    set_pte(k, mm, vma, pte, addr, pfn, shared_write, shared_write);
    if (shared_write) {
        create_empty_buffers(k, *vma.vm_file, p.index);  // ext4_page_mkwrite()
        mark_page_dirty(k, pfn, vma.vm_file);
    }
    if (vma.vm_flags & VM_LOCKED) mlock_page(k, pfn);
}

// do_fault_around() + filemap_map_pages(): maps the cached, up-to-date
// pages around addr, within the area, the PTE table and the file; each page
// mapped forgives one read-around miss. Returns the pages mapped.
uint64_t do_fault_around(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr) {
    uint64_t pte_off = pte_index(addr);
    uint64_t vma_off = (addr - vma.vm_start) >> PAGE_SHIFT;
    uint64_t nr = kFaultAroundPages;
    uint64_t from = std::max(pte_off & ~(nr - 1), pte_off - std::min(pte_off, vma_off));
    uint64_t to =
        std::min({from + nr, static_cast<uint64_t>(PTRS_PER_TABLE), pte_off + vma.pages() - vma_off}) - 1;
    Inode& file = *vma.vm_file;
    uint64_t file_pages = (file.size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    uint64_t base = addr & PMD_MASK;
    uint64_t mapped = 0;
    for (uint64_t i = from; i <= to; i++) {
        uint64_t a = base + (i << PAGE_SHIFT);
        uint64_t index = vma.linear_page_index(a);
        if (index >= file_pages) break;
        MaybePfn pfn = filemap_get_page(k, file, index);
        if (!pfn || !page_of(k, *pfn).test(PG_uptodate)) continue;
        uint64_t* pte = pte_lookup(k, mm, a);
        if (!pte || !pte_none(*pte)) continue;
        map_file_page(k, mm, vma, a, pte, *pfn, false);
        mapped++;
    }
    filemap_forgive_mmap_miss(file, mapped);
    return mapped;
}

// do_read_fault(), do_cow_fault(), do_shared_fault(), with filemap_fault()'s
// read-around and retry: a page missing from the cache is a major fault
// that reads the read-around window, after which the retried read fault's
// fault-around maps what was read.
VmFault do_fault(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr, uint64_t* pte, bool write) {
    Inode& file = *vma.vm_file;
    uint64_t index = vma.linear_page_index(addr);
    // SIGBUS beyond the end of the file (filemap_fault's i_size check).
    if (index >= (file.size + PAGE_SIZE - 1) >> PAGE_SHIFT) return VmFault::Sigbus;
    if (vma.special != SpecialMapping::None) {
        // special_mapping_fault(): the one page, no fault-around (its
        // vm_operations have no map_pages), no I/O.
        auto got = filemap_get_or_read(k, file, index, nullptr);
        if (!got) return VmFault::Oom;
        map_file_page(k, mm, vma, addr, pte, *got, false);
        return VmFault::Minor;
    }
    // shmem and ordinary files both have map_pages: read faults fault around.
    if (!write) {
        do_fault_around(k, mm, vma, addr);
        if (!pte_none(*pte)) return VmFault::Minor;
    }
    VmFault done = VmFault::Minor;
    if (!file.shmem) {
        if (filemap_get_page(k, file, index)) {
            // do_async_mmap_readahead() on a cache hit forgives one miss.
            filemap_forgive_mmap_miss(file, 1);
        } else {
            auto ra = filemap_sync_mmap_readahead(k, file, index, vma.vm_flags, vma.vm_pgoff, vma.pages());
            if (!ra) return VmFault::Oom;
            if (*ra) done = VmFault::Major;
            if (!write && *ra) {
                // The retried fault (FAULT_FLAG_TRIED) finds the window cached.
                do_fault_around(k, mm, vma, addr);
                if (!pte_none(*pte)) return done;
            }
        }
    }
    ReadIn read_in = ReadIn::No;
    auto got = filemap_get_or_read(k, file, index, &read_in);
    if (!got) return VmFault::Oom;
    Pfn page = *got;
    if (read_in == ReadIn::Yes) done = VmFault::Major;
    if (write && !(vma.vm_flags & VM_SHARED)) {
        // do_cow_fault(): a private copy of the file page.
        if (!vma.anon_vma) anon_vma_prepare(k, vma);
        MaybePfn copy = alloc_anon_page(k, false);
        if (!copy) return VmFault::Oom;
        page_add_new_anon_rmap(k, *copy, vma, addr);
        folio_add_lru_vma(k, *copy, vma);
        mm.add_mm_counter(MM_ANONPAGES, 1);
        set_pte(k, mm, vma, pte, addr, *copy, true, true);
        return done;
    }
    map_file_page(k, mm, vma, addr, pte, page, write);
    return done;
}

// do_wp_page(): a write to a present, write-protected entry.
VmFault do_wp_page(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr, uint64_t* pte) {
    uint64_t e = *pte;
    if (vma.vm_flags & VM_SHARED) {
        // wp_page_shared(): a shared mapping only needed the dirty bit.
        Pfn pfn = pte_pfn(e);
        *pte = e | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED;
        if (vma.vm_file) create_empty_buffers(k, *vma.vm_file, page_of(k, pfn).index);  // page_mkwrite
        mark_page_dirty(k, pfn, vma.vm_file);
        return VmFault::Minor;
    }
    if (!pte_special(e)) {
        Pfn pfn = pte_pfn(e);
        Page& p = page_of(k, pfn);
        // wp_can_reuse_anon_folio(): an anonymous page only this entry
        // holds; a swap cache copy is dropped first if no other entry
        // references its slot.
        if (p.test(PG_anon) && p.mapcount == 1 && p.test(PG_swapcache) && p.refcount == 2)
            folio_free_swap(k, pfn);
        if (p.test(PG_anon) && p.refcount == 1 && p.mapcount == 1) {
            *pte = e | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED;
            k.count_event(PGREUSE);
            return VmFault::Minor;
        }
    }
    // wp_page_copy(): a new page, zeroed when the old one is the zero page.
    if (!vma.anon_vma) anon_vma_prepare(k, vma);
    bool from_zero = pte_special(e);
    MaybePfn copy = alloc_anon_page(k, from_zero);
    if (!copy) return VmFault::Oom;
    page_add_new_anon_rmap(k, *copy, vma, addr);
    folio_add_lru_vma(k, *copy, vma);
    if (!from_zero) {
        Pfn old = pte_pfn(e);
        Page& op = page_of(k, old);
        MmCounter c = counter_for(op, vma.vm_file);
        if (c != MM_ANONPAGES) {
            mm.add_mm_counter(c, -1);
            mm.add_mm_counter(MM_ANONPAGES, 1);
        }
        page_remove_rmap(k, old);
        put_page(k, old);
    } else {
        mm.add_mm_counter(MM_ANONPAGES, 1);
    }
    set_pte(k, mm, vma, pte, addr, *copy, true, true);
    flush_tlb_range(k, mm, addr, addr + PAGE_SIZE, false);
    return VmFault::Minor;
}

// should_try_to_free_swap(): after a swap-in, drop the swap cache copy
// when swap is filling up, when the page is locked in memory, or when a
// write is about to dirty a page that only this entry and the cache hold.
bool should_try_to_free_swap(Kernel& k, const Page& p, const Vma& vma, bool write) {
    if (!p.test(PG_swapcache)) return false;
    if (vm_swap_full(k) || (vma.vm_flags & VM_LOCKED) || p.test(PG_mlocked)) return true;
    return write && p.refcount == 2;
}

// do_swap_page() (also unuse_pte() for swapoff, whose caller counts no fault):
// the swap entry at *pte becomes the page again. Returns Major when the
// page had to be read.
VmFault do_swap_page(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr, uint64_t* pte, bool write) {
    const uint64_t orig = *pte;
    const SwpEntry entry = swp_entry(pte_swp_type(orig), pte_swp_offset(orig));
    const SwapInfo* si = swap_type_to_info(k, swp_type(entry));
    if (!si || swp_offset(entry) >= si->max) return VmFault::Sigbus;  // a bad entry
    VmFault ret = VmFault::Minor;
    bool need_clear_cache = false;
    MaybePfn got = swap_cache_get_folio(k, entry);
    if (got) {
        page_of(k, *got).refcount++;  // the reference the new mapping holds
        swap_update_readahead(k, *got, &vma, addr);
    } else if (si->synchronous_io() && __swap_count(k, entry) == 1) {
        // A synchronous device and no one else to share the page with:
        // read it straight into a new page, past the swap cache.
        got = alloc_pages(k, GFP_HIGHUSER_MOVABLE, 0);
        if (!got) return VmFault::Oom;
        Page& p = page_of(k, *got);
        p.refcount = 1;
        if (swapcache_prepare(k, entry) != 0) {
            free_pages(k, *got, 0);
            return VmFault::Minor;  // someone else is reading it: retry the access
        }
        need_clear_cache = true;
        p.set(PG_swapbacked);
        if (uint64_t shadow = swap_cache_get_shadow(k, entry)) workingset_refault(k, *got, shadow);
        folio_add_lru(k, *got);
        swap_read_folio(k, *got, entry);
        ret = VmFault::Major;
    } else {
        got = swapin_readahead(k, entry, mm, vma, addr);
        if (!got) return VmFault::Oom;
        ret = VmFault::Major;
    }
    const Pfn pfn = *got;
    Page& p = page_of(k, pfn);
    const bool exclusive = pte_swp_exclusive(orig);
    // The entry's swap count goes; maybe the cache copy too.
    swap_free_nr(k, entry, 1);
    if (should_try_to_free_swap(k, p, vma, write)) folio_free_swap(k, pfn);
    mm.add_mm_counter(MM_ANONPAGES, 1);
    mm.add_mm_counter(MM_SWAPENTS, -1);
    uint64_t e = pfn_pte(pfn, vm_get_page_prot(vma.vm_flags));
    if (orig & _PAGE_SWP_SOFT_DIRTY) e |= _PAGE_SOFT_DIRTY;
    const bool map_exclusive = exclusive || p.refcount == 1;
    if (map_exclusive) {
        if (vma.vm_flags & VM_WRITE) {
            e |= _PAGE_RW;
            if (write) {
                e |= _PAGE_DIRTY;
                write = false;
            }
        }
    }
    if (!p.test(PG_anon)) {
        page_add_new_anon_rmap(k, pfn, vma, addr, map_exclusive);
    } else {
        // folio_add_anon_rmap_ptes(): one more mapping of a cached page.
        if (p.mapcount++ == 0) mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_ANON_PAGES, 1);
    }
    if ((vma.vm_flags & VM_LOCKED) && !p.test(PG_mlocked)) mlock_page(k, pfn);
    *pte = e;
    if (need_clear_cache) swapcache_clear(k, entry);
    if (write) {
        VmFault w = do_wp_page(k, mm, vma, addr, pte);
        if (w != VmFault::Minor && w != VmFault::Major) return w;
    }
    return ret;
}

// find_vma() with its one-area cache tried inline: a run of faults stays
// in one area.
Vma* find_vma_cached(MmStruct& mm, uint64_t addr) {
    Vma* c = mm.vma_cache;
    if (c && c->vm_start <= addr && addr < c->vm_end) [[likely]]
        return c;
    return find_vma(mm, addr);
}

// access_error() of arch/x86/mm/fault.c.
bool access_error(const Vma& vma, unsigned flags) {
    if (flags & FAULT_FLAG_WRITE) return !(vma.vm_flags & VM_WRITE);
    if (flags & FAULT_FLAG_INSTRUCTION) return !(vma.vm_flags & VM_EXEC);
    return !(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC));
}

}  // namespace

// folio_mark_dirty() for a file page: counted in NR_FILE_DIRTY (nr_dirty)
// and the zone's write-pending count; shmem pages are not written back, so
// not counted.
void mark_page_dirty(Kernel& k, Pfn pfn, const Inode* file) {
    Page& p = page_of(k, pfn);
    if (p.test(PG_dirty)) return;
    p.set(PG_dirty);
    if (file && !file->shmem) {
        mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_DIRTY, 1);
        mod_zone_page_state(pfn_zone(k, pfn), NR_ZONE_WRITE_PENDING, 1);
        mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_DIRTIED, 1);
    }
}

// mlock_folio()/munlock_folio(): VM_LOCKED areas keep their pages mlocked.
void mlock_page(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (p.test(PG_mlocked)) return;
    p.set(PG_mlocked);
    mod_zone_page_state(pfn_zone(k, pfn), NR_MLOCK, 1);
    k.count_event(UNEVICTABLE_PGS_MLOCKED);
    lru_mlock(k, pfn);
}

void munlock_page(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_mlocked)) return;
    p.clear(PG_mlocked);
    mod_zone_page_state(pfn_zone(k, pfn), NR_MLOCK, -1);
    k.count_event(UNEVICTABLE_PGS_MUNLOCKED);
    lru_munlock(k, pfn);
}

void vm_init(Kernel& k) {
    // empty_zero_page lives in the kernel image's bss, not in the buddy
    // allocator: use the first reserved frame, else a frame past the end of
    // memory. Entries mapping it are _PAGE_SPECIAL, so nothing ever looks
    // at its descriptor.
    k.zero_pfn = Pfn(k.mem_map->max_pfn());
    for (const auto& g : k.layout.nodes)
        if (!g.reserved.empty()) {
            k.zero_pfn = Pfn(g.reserved.front().start);
            break;
        }
    k.has_zero_page = true;
    // The vDSO's code is part of the kernel image too: the two frames after
    // the zero page when the image's reserved range holds them. A machine
    // described without a kernel image gets two allocator pages at its
    // first exec instead (vdso_file()), so bare allocator tests see every
    // managed page free after boot.
    for (const auto& g : k.layout.nodes)
        if (!g.reserved.empty() && g.reserved.front().start == k.zero_pfn.value &&
            g.reserved.front().end - g.reserved.front().start >= 3) {
            k.vdso_pfns = {Pfn(k.zero_pfn.value + 1), Pfn(k.zero_pfn.value + 2)};
            k.has_vdso_pfns = true;
            return;
        }
}

void put_page(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (p.refcount == 0) throw std::logic_error("put_page: page already free");
    if (--p.refcount) return;
    free_user_page(k, pfn);
}

VmFault handle_mm_fault(Kernel& k, Task& t, uint64_t addr, unsigned flags) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.fault_entry);
    t.stime += k.costs.fault_entry;
    // do_user_addr_fault(): find the area, grow the stack, check rights.
    Vma* vma = find_vma_cached(mm, addr);
    if (!vma) return VmFault::SegvMaperr;
    if (vma->vm_start > addr) {
        if (!(vma->vm_flags & VM_GROWSDOWN) || !expand_stack(k, mm, *vma, addr)) return VmFault::SegvMaperr;
    }
    if (access_error(*vma, flags)) return VmFault::SegvAccerr;
    // handle_mm_fault().
    k.count_event(PGFAULT);
    bool write = flags & FAULT_FLAG_WRITE;
    uint64_t* pte = pte_alloc(k, mm, addr);
    VmFault r;
    if (!pte) {
        r = VmFault::Oom;
    } else if (pte_none(*pte)) {
        r = vma->vm_file ? do_fault(k, mm, *vma, addr & ~(PAGE_SIZE - 1), pte, write)
                         : do_anonymous_page(k, mm, *vma, addr & ~(PAGE_SIZE - 1), pte, write);
    } else if (!pte_present(*pte)) {
        r = do_swap_page(k, mm, *vma, addr & ~(PAGE_SIZE - 1), pte, write);
    } else if (write && !pte_write(*pte)) {
        r = do_wp_page(k, mm, *vma, addr & ~(PAGE_SIZE - 1), pte);
    } else {
        // Spurious: the entry already allows it; just age it.
        *pte |= _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
        r = VmFault::Minor;
    }
    // mm_account_fault().
    if (r == VmFault::Major) {
        t.maj_flt++;
        k.count_event(PGMAJFAULT);
    } else if (r == VmFault::Minor) {
        t.min_flt++;
    }
    mm.update_hiwater_rss();
    return r;
}

// access_memory() past the L1 hit: the switch to the task's mm, the full
// TLB lookup, the walk and the faults.
VmFault access_memory_miss(Kernel& k, Task& t, uint64_t addr, Access how) {
    MmStruct& mm = *t.mm;
    bool write = how == Access::Write;
    bool exec = how == Access::Exec;
    CpuTlb& tlb = k.tlbs[static_cast<std::size_t>(t.cpu)];
    if (tlb.state.loaded_mm != &mm.tlb) switch_mm(k.tlbs, static_cast<unsigned>(t.cpu), mm.tlb);
    TlbAccess ta = static_cast<TlbAccess>(how);
    TlbResult hit = tlb_lookup(tlb, VirtAddr(addr), ta);
    if (hit.hit()) {
        k.clock.charge(hit.outcome == TlbOutcome::L1Hit ? k.costs.tlb_hit : k.costs.stlb_hit);
        return VmFault::Minor;
    }
    // After a miss or a refused access neither TLB level holds the page
    // (a refusal drops it), and nothing below fills the TLB: the fill can
    // skip looking for an old entry. A dirty-bit walk found it cached.
    const bool absent = hit.outcome != TlbOutcome::DirtyUpdate;
    // Walk; fault until the entry allows the access. A read fault can map
    // the zero page that a later write replaces, so allow a few rounds.
    VmFault outcome = VmFault::Minor;
    for (int attempt = 0; attempt < 3; attempt++) {
        k.clock.charge(k.costs.page_walk);
        uint64_t* pte = pte_lookup(k, mm, addr);
        if (pte && pte_hw_present(*pte) && (!write || pte_write(*pte)) && (!exec || !(*pte & _PAGE_NX))) {
            // The CPU sets the accessed bit on a walk and the dirty bit on a
            // write, then caches the translation.
            *pte |= _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
            const uint64_t vpn = addr >> PAGE_SHIFT;
            const uint16_t pcid = tlb_pcid_for(tlb, VirtAddr(addr));
            if (absent)
                tlb.insert_new(vpn, pcid, pte_pfn(*pte), tlb_flags_from_pte(*pte));
            else
                tlb.insert(vpn, pcid, pte_pfn(*pte), tlb_flags_from_pte(*pte));
            return outcome;
        }
        unsigned flags =
            FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0u) | (exec ? FAULT_FLAG_INSTRUCTION : 0u);
        VmFault r = handle_mm_fault(k, t, addr, flags);
        if (r != VmFault::Minor && r != VmFault::Major) return r;
        if (r == VmFault::Major) outcome = r;
    }
    throw std::logic_error("access_memory: the fault did not make the access possible");
}

VmFault access_memory(Kernel& k, Task& t, uint64_t addr, Access how) {
    return access_memory_inline(k, t, addr, how);
}

VmFault populate_range(Kernel& k, Task& t, uint64_t start, uint64_t end, bool write) {
    MmStruct& mm = *t.mm;
    for (uint64_t a = start & ~(PAGE_SIZE - 1); a < end; a += PAGE_SIZE) {
        uint64_t* pte = pte_lookup(k, mm, a);
        if (pte && pte_hw_present(*pte) && (!write || pte_write(*pte))) continue;
        VmFault r = handle_mm_fault(k, t, a, write ? FAULT_FLAG_WRITE : 0u);
        if (r != VmFault::Minor && r != VmFault::Major) return r;
    }
    return VmFault::Minor;
}

void zap_page_range(Kernel& k, MmStruct& mm, Vma& vma, uint64_t start, uint64_t end) {
    const Inode* file = vma.vm_file;
    walk_pte_tables(k, mm, start, end, [&](uint64_t, uint64_t* t, unsigned from, unsigned to) {
        for (unsigned i = from; i < to; i++) {
            const uint64_t e = t[i];
            if (!e) continue;
            t[i] = 0;
            if (!pte_present(e)) {
                // zap_nonpresent_ptes(): a swap entry gives its slot back
                // (and the swap cache its copy, if that was the last use).
                mm.add_mm_counter(MM_SWAPENTS, -1);
                free_swap_and_cache_nr(k, swp_entry(pte_swp_type(e), pte_swp_offset(e)));
                continue;
            }
            // The zero page has no descriptor to update.
            if (pte_special(e)) continue;
            Pfn pfn = pte_pfn(e);
            Page& p = page_of(k, pfn);
            mm.add_mm_counter(counter_for(p, file), -1);
            if (!p.test(PG_anon) && pte_dirty(e)) mark_page_dirty(k, pfn, file);
            page_remove_rmap(k, pfn);
            if (p.mapcount == 0 && p.test(PG_mlocked)) munlock_page(k, pfn);
            put_page(k, pfn);
        }
    });
}

Result<void> copy_page_range(Kernel& k, MmStruct& dst_mm, Vma& dst, MmStruct& src_mm, Vma& src) {
    // vma_needs_copy(): only areas with anonymous pages (or raw pfn
    // mappings) are copied; file pages are faulted in again by the child.
    (void)dst;  // the child's area: its entries are found through dst_mm
    if (!src.anon_vma && !(src.vm_flags & (VM_PFNMAP | VM_MIXEDMAP))) return {};
    const bool cow = is_cow_mapping(src.vm_flags);
    const bool shared = src.vm_flags & VM_SHARED;
    const Inode* file = src.vm_file;
    bool oom = false;
    uint64_t copied = 0;
    // One PTE table at a time (copy_pte_range()): the child's table is
    // allocated at the first entry to copy, then the entries go across in
    // one pass.
    walk_pte_tables(
        k, src_mm, src.vm_start, src.vm_end, [&](uint64_t base, uint64_t* s, unsigned from, unsigned to) {
            if (oom) return;
            uint64_t* d = nullptr;
            for (unsigned i = from; i < to; i++) {
                uint64_t e = s[i];
                if (!e) continue;
                if (!d) {
                    uint64_t* slot = pte_alloc(k, dst_mm, base + (static_cast<uint64_t>(i) << PAGE_SHIFT));
                    if (!slot) {
                        oom = true;
                        return;
                    }
                    d = slot - i;
                }
                copied++;
                if (!pte_present(e)) {
                    // copy_nonpresent_pte(): the child shares the slot; an
                    // exclusive entry is no longer exclusive on either side.
                    const SwpEntry se = swp_entry(pte_swp_type(e), pte_swp_offset(e));
                    if (swap_duplicate(k, se) < 0) {
                        oom = true;
                        return;
                    }
                    if (pte_swp_exclusive(e)) {
                        e &= ~_PAGE_SWP_EXCLUSIVE;
                        s[i] = e;
                    }
                    dst_mm.add_mm_counter(MM_SWAPENTS, 1);
                    d[i] = e;
                    continue;
                }
                // copy_present_pte(): the child's entry starts old.
                uint64_t ne = e & ~_PAGE_ACCESSED;
                if (shared) ne &= ~_PAGE_DIRTY;
                if (!pte_special(e)) {
                    Pfn pfn = pte_pfn(e);
                    Page& p = page_of(k, pfn);
                    if (p.test(PG_anon)) {
                        page_dup_rmap(k, pfn);
                    } else {
                        p.refcount++;
                        page_add_file_rmap(k, pfn);
                    }
                    dst_mm.add_mm_counter(counter_for(p, file), 1);
                    if (cow && pte_write(e)) {
                        s[i] = e & ~_PAGE_RW;
                        ne &= ~_PAGE_RW;
                    }
                }
                d[i] = ne;
            }
        });
    k.clock.charge(k.costs.fork_per_page * copied);
    if (oom) return Errno::NOMEM;
    dst_mm.update_hiwater_rss();
    return {};
}

void flush_tlb_range(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, bool freed_tables) {
    if (k.tlbs.empty()) return;
    flush_tlb_mm_range(k.tlbs, static_cast<unsigned>(k.current_cpu), mm.tlb, start, end, PAGE_SHIFT,
                       freed_tables ? FreedTables::Yes : FreedTables::No);
}

// ---- invariants ------------------------------------------------------------------------

void validate_vm(const Kernel& kc) {
    Kernel& k = const_cast<Kernel&>(kc);  // walks read only; the walker is shared with writers
    auto fail = [](const std::string& what) { throw std::logic_error("vm: " + what); };
    // Each mapped pfn once (a bitmap over the memmap dedupes), and the
    // number of entries seen. Per pfn, rmap finds at most the entries that
    // map it; requiring that it finds exactly mapcount of them, and that
    // the entries add up to the sum of the mapcounts, makes entries ==
    // mapcount hold for every pfn without counting per pfn.
    std::vector<uint64_t> mapped, seen_bits((k.mem_map->max_pfn() + 63) / 64);
    int64_t entries = 0;
    std::vector<const MmStruct*> seen;
    int64_t tables = 0;
    // Swap entries per slot, to compare with the slots' counts.
    std::map<uint64_t, int> swap_refs;
    k.tasks->for_each([&](const Task& t) {
        if (!t.mm) return;
        const MmStruct* mmp = t.mm.get();
        if (std::find(seen.begin(), seen.end(), mmp) != seen.end()) return;
        seen.push_back(mmp);
        MmStruct& mm = *t.mm;
        validate_mm(k, mm);
        std::array<int64_t, NR_MM_COUNTERS> rss{};
        for (Vma* v : vma_list(mm)) {
            walk_ptes(k, mm, v->vm_start, v->vm_end, [&](uint64_t addr, uint64_t& e) {
                if (!pte_present(e)) {
                    if (!v->anon_vma) fail("swap entry in an area without anonymous pages");
                    rss[MM_SWAPENTS]++;
                    swap_refs[SwpEntry{swp_entry(pte_swp_type(e), pte_swp_offset(e))}.val]++;
                    return;
                }
                if (pte_write(e) && !(v->vm_flags & VM_WRITE))
                    fail("writable entry in a read-only area at " + std::to_string(addr));
                if (!(e & _PAGE_NX) && !(v->vm_flags & VM_EXEC)) fail("executable entry in a no-exec area");
                if (pte_special(e)) {
                    if (pte_write(e)) fail("writable zero page");
                    return;
                }
                Pfn pfn = pte_pfn(e);
                const Page& p = page_of(k, pfn);
                entries++;
                uint64_t& w = seen_bits[pfn.value / 64];
                uint64_t bit = uint64_t{1} << (pfn.value % 64);
                if (!(w & bit)) {
                    w |= bit;
                    mapped.push_back(pfn.value);
                }
                if (p.test(PG_anon) && pte_write(e) && p.mapcount > 1)
                    fail("anonymous page writable while shared");
                if (p.test(PG_anon) && !p.test(PG_lru)) fail("mapped anonymous page on no LRU list");
                rss[counter_for(p, v->vm_file)]++;
            });
        }
        // Entries outside every area.
        uint64_t outside = 0;
        uint64_t prev_end = 0;
        for (Vma* v : vma_list(mm)) {
            walk_ptes(k, mm, prev_end, v->vm_start, [&](uint64_t, uint64_t&) { outside++; });
            prev_end = v->vm_end;
        }
        walk_ptes(k, mm, prev_end, mm.task_size, [&](uint64_t, uint64_t&) { outside++; });
        if (outside) fail("entries outside every area");
        for (unsigned c = 0; c < NR_MM_COUNTERS; c++)
            if (rss[c] != mm.rss_stat[c])
                fail("mm " + std::to_string(mm.id) + " RSS counter " + std::to_string(c) + " is " +
                     std::to_string(mm.rss_stat[c]) + ", entries say " + std::to_string(rss[c]));
        auto n = count_pgtables(k, mm);
        if (static_cast<int64_t>((n[0] + n[1] + n[2]) * PAGE_SIZE) != mm.pgtables_bytes)
            fail("VmPTE differs from the tables present");
        tables += static_cast<int64_t>(n[0] + n[1] + n[2] + n[3]);
    });
    // The kernel's own tables under the vmalloc area count too.
    if (k.vmalloc) tables += static_cast<int64_t>(k.vmalloc->nr_table_pages);
    int64_t nr_pt = k.global_node_page_state(NR_PAGE_TABLE_PAGES);
    if (nr_pt != tables)
        fail("NR_PAGETABLE " + std::to_string(nr_pt) + " != tables " + std::to_string(tables));
    int64_t anon_mapped = 0, file_mapped = 0, mapcounts = 0;
    for (uint64_t pfn : mapped) {
        const Page& p = page_of(k, Pfn(pfn));
        mapcounts += p.mapcount;
        if (p.test(PG_anon))
            anon_mapped++;
        else
            file_mapped++;
        // rmap must find exactly these entries.
        int found = 0;
        rmap_walk(k, Pfn(pfn), [&](Vma& v, uint64_t addr) {
            const uint64_t* e = pte_lookup(k, *v.vm_mm, addr);
            if (e && pte_present(*e) && !pte_special(*e) && pte_pfn(*e).value == pfn) found++;
        });
        if (found != p.mapcount)
            fail("pfn " + std::to_string(pfn) + " mapcount " + std::to_string(p.mapcount) +
                 " but rmap finds " + std::to_string(found) + " entries");
    }
    if (mapcounts != entries)
        fail("page tables hold " + std::to_string(entries) + " entries but the pages' mapcounts add up to " +
             std::to_string(mapcounts));
    if (k.global_node_page_state(NR_ANON_PAGES) != anon_mapped)
        fail("NR_ANON_MAPPED differs from mapped anon pages");
    if (k.global_node_page_state(NR_MAPPED) != file_mapped)
        fail("NR_FILE_MAPPED differs from mapped file pages");
    validate_anon_vmas(k);
    for (const auto& [val, n] : swap_refs)
        if (swp_swapcount(k, SwpEntry{val}) != n)
            fail("swap slot " + std::to_string(swp_offset(SwpEntry{val})) + " of device " +
                 std::to_string(swp_type(SwpEntry{val})) + " has count " +
                 std::to_string(swp_swapcount(k, SwpEntry{val})) + " but " + std::to_string(n) +
                 " entries reference it");
    validate_swap_cache(k);
}

int unuse_swap_entries(Kernel& k, unsigned type) {
    // unuse_mm() for every address space: each swap entry of the device
    // is swapped in where it is (no fault counted, the page left old).
    std::vector<MmStruct*> seen;
    int err = 0;
    k.tasks->for_each([&](const Task& t) {
        if (!t.mm || err) return;
        MmStruct* mmp = t.mm.get();
        if (std::find(seen.begin(), seen.end(), mmp) != seen.end()) return;
        seen.push_back(mmp);
        MmStruct& mm = *mmp;
        for (Vma* v : vma_list(mm)) {
            if (!v->anon_vma) continue;
            std::vector<uint64_t> addrs;
            walk_ptes(k, mm, v->vm_start, v->vm_end, [&](uint64_t a, uint64_t& e) {
                if (is_swap_pte(e) && pte_swp_type(e) == type) addrs.push_back(a);
            });
            for (uint64_t a : addrs) {
                uint64_t* pte = pte_lookup(k, mm, a);
                if (!pte || !is_swap_pte(*pte)) continue;
                VmFault r = do_swap_page(k, mm, *v, a, pte, false);
                if (r == VmFault::Oom) {
                    err = -12;  // -ENOMEM
                    return;
                }
                *pte &= ~_PAGE_ACCESSED;
            }
        }
    });
    if (err) return err;
    // What is left in the cache for this device: folios no entry
    // references any more (folio_free_swap()).
    std::vector<uint32_t> cached;
    if (k.swap_cache)
        for (const auto& [val, pfn] : k.swap_cache->folio_of)
            if (swp_type(SwpEntry{val}) == type) cached.push_back(pfn);
    for (uint32_t pfn : cached) {
        Page& p = page_of(k, Pfn(pfn));
        swap_end_writeback(k, Pfn(pfn));
        if (folio_free_swap(k, Pfn(pfn)) && p.refcount == 0) free_user_page(k, Pfn(pfn));
    }
    return 0;
}

}  // namespace mmsim
