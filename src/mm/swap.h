// The LRU lists (mm/swap.c, include/linux/mm_inline.h). The essay is at
// the top of swap.cpp.
#pragma once

#include <cstdint>

#include "kernel/kernel.h"
#include "mm/memmap.h"
#include "mmsim/mmzone.h"
#include "mmsim/types.h"

namespace mmsim {

struct Vma;

// folio_is_file_lru(): swap-backed pages (anonymous and shmem) live on the
// anon lists, everything else on the file lists.
inline bool folio_is_file_lru(const Page& p) { return !p.test(PG_swapbacked); }

// folio_lru_list(): the list a page on the LRU belongs to.
inline LruList folio_lru_list(const Page& p) {
    if (p.test(PG_unevictable)) return LRU_UNEVICTABLE;
    unsigned l = folio_is_file_lru(p) ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON;
    if (p.test(PG_active)) l += 1;
    return static_cast<LruList>(l);
}

// The node whose lruvec holds the page.
Lruvec& folio_lruvec(Kernel& k, Pfn pfn);

// lruvec_add_folio() (the head: the newest end), lruvec_add_folio_tail()
// (the oldest end, where reclaim looks first) and lruvec_del_folio(): the
// list operations with update_lru_size()'s node and zone counters. They
// neither test nor change PG_lru; the callers below do.
void lruvec_add_folio(Kernel& k, Pfn pfn);
void lruvec_add_folio_tail(Kernel& k, Pfn pfn);
void lruvec_del_folio(Kernel& k, Pfn pfn);

// folio_add_lru() with lru_add(): a new page joins the inactive list of its
// type, or the unevictable list when it may not be evicted (mlocked).
void folio_add_lru(Kernel& k, Pfn pfn);
// folio_add_lru_vma(): a new page mapped by `vma`; in a VM_LOCKED area it
// is mlocked on the way (mlock_new_folio()).
void folio_add_lru_vma(Kernel& k, Pfn pfn, const Vma& vma);

// folio_mark_accessed(): the first access sets PG_referenced, the second
// moves an inactive page to the active list (folio_activate()).
void folio_mark_accessed(Kernel& k, Pfn pfn);
// folio_activate(): an inactive evictable page on the LRU goes to the head
// of its active list (pgactivate).
void folio_activate(Kernel& k, Pfn pfn);
// lru_deactivate() (MADV_COLD's folio_deactivate()): an active page goes to
// the head of its inactive list, losing PG_active and PG_referenced
// (pgdeactivate).
void folio_deactivate(Kernel& k, Pfn pfn);
// folio_mark_lazyfree() with lru_lazyfree() (MADV_FREE): an anonymous page
// loses PG_swapbacked and moves to the inactive file list (pglazyfree).
// False if the page does not qualify (shmem, in the swap cache, mlocked).
bool folio_mark_lazyfree(Kernel& k, Pfn pfn);
// lru_move_tail() (folio_rotate_reclaimable() at the end of writeback): an
// inactive page goes to the tail, to be reclaimed first (pgrotated).
void folio_rotate_reclaimable(Kernel& k, Pfn pfn);

// mlock_folio() for a page already on the LRU: to the unevictable list.
// munlock's __munlock_folio(): back to an evictable list.
void lru_mlock(Kernel& k, Pfn pfn);
void lru_munlock(Kernel& k, Pfn pfn);

// folio_isolate_lru(): takes the page off its list for reclaim or
// migration (PG_lru clear); false if it was not on one. (The callers that
// count nr_isolated_anon/file do so themselves, as in the kernel.) folio_putback_lru() puts it back at the
// head of the list its flags name.
bool folio_isolate_lru(Kernel& k, Pfn pfn);
void folio_putback_lru(Kernel& k, Pfn pfn);

// __folio_put() of a user page whose last reference went: off the LRU
// (page_cache_release()), mlock cleared (unevictable_pgs_cleared), the
// folio state reset, and back to the allocator.
void free_user_page(Kernel& k, Pfn pfn);

// The folio state moves with a migrated page (folio_migrate_flags()): the
// new page takes the old one's place on its list.
void lru_migrate(Kernel& k, Pfn from, Pfn to);

// Each list's length equals its counters, every page on a list carries
// PG_lru and the list's flags, and the links agree both ways.
void validate_lru(const Kernel& k);

}  // namespace mmsim
