// The swap cache (mm/swap_state.c), swap I/O (mm/page_io.c) and the
// workingset's shadow entries (mm/workingset.c). The essays are at the top
// of swap_state.cpp and workingset.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "kernel/kernel.h"
#include "mm/memmap.h"
#include "mm/swapfile.h"
#include "mmsim/types.h"

namespace mmsim {

struct SwapCache {
    // The folio for each slot in the cache, and the slot of each folio
    // (the kernel's folio->swap).
    std::unordered_map<uint64_t, uint32_t> folio_of;  // entry.val -> pfn
    std::unordered_map<uint32_t, uint64_t> entry_of;  // pfn -> entry.val
    // Shadow entries: what workingset_eviction() left in a slot whose
    // folio was reclaimed (6.18 keeps them in the swap table).
    std::unordered_map<uint64_t, uint64_t> shadow_of;  // entry.val -> shadow
    // swap_cluster_readahead()'s globals (swapin_nr_pages()).
    unsigned swapin_readahead_hits = 0;
    uint64_t prev_offset = 0;
    unsigned last_readahead_pages = 0;
};

SwapCache& swap_cache(Kernel& k);

// swap_cache_get_folio(): the folio caching the slot, if any.
MaybePfn swap_cache_get_folio(Kernel& k, SwpEntry e);
// folio->swap of a folio in the swap cache.
SwpEntry folio_swap_entry(Kernel& k, Pfn pfn);
// swap_cache_get_shadow(): the shadow left in the slot, 0 if none.
uint64_t swap_cache_get_shadow(Kernel& k, SwpEntry e);

// __swap_cache_add_folio(): the folio caches the slot (PG_swapcache, one
// reference, NR_FILE_PAGES and NR_SWAPCACHE); the slot's shadow goes.
void swap_cache_add_folio(Kernel& k, Pfn pfn, SwpEntry e);
// __swap_cache_del_folio(): the folio leaves the cache, dropping the
// cache's reference (not freeing the page: the caller holds another) and
// SWAP_HAS_CACHE; `shadow`, if not 0, stays in the slot.
void swap_cache_del_folio(Kernel& k, Pfn pfn, uint64_t shadow);

// folio_alloc_swap() + the add: a slot for an anonymous folio reclaim
// wants to write out, the folio in the swap cache and dirty. False when
// no swap slot is free.
bool add_to_swap(Kernel& k, Pfn pfn);
// folio_free_swap(): drops the swap cache copy of a folio no page table
// references by its slot any more; the folio is dirty again (its only
// copy is in memory). False if it is not in the cache, is being written,
// or some entry still references the slot.
bool folio_free_swap(Kernel& k, Pfn pfn);

// Swap I/O (mm/page_io.c). swap_writeout(): the folio's contents go to its
// slot (pswpout, the device's write time); a page of zeroes is only
// noted in the zeromap (swpout_zero). swap_read_folio(): the reverse
// (pswpin, or swpin_zero for a zero slot).
void swap_writeout(Kernel& k, Pfn pfn, SwpEntry e);
// The end of an asynchronous write (folio_end_writeback()): PG_writeback
// goes, and a folio reclaim marked PG_reclaim rotates to the inactive
// list's tail.
void swap_end_writeback(Kernel& k, Pfn pfn);
void swap_read_folio(Kernel& k, Pfn pfn, SwpEntry e);

// swapin_readahead(): reads the slot into the swap cache, with the slots
// around it: by address in the area (swap_vma_readahead) unless a
// rotational device is swapped on, then by offset on the device
// (swap_cluster_readahead); windows of up to 2^page-cluster pages sized by
// the readahead hits so far. Readahead pages are marked PG_readahead and
// counted in swap_ra. Returns the folio with one reference for the
// caller, or nothing when no page could be had.
struct MmStruct;
struct Vma;
MaybePfn swapin_readahead(Kernel& k, SwpEntry e, MmStruct& mm, Vma& vma, uint64_t addr);
// swap_update_readahead(): a swap cache hit; a page readahead brought in
// counts as a readahead hit (swap_ra_hit) for the next window.
void swap_update_readahead(Kernel& k, Pfn pfn, Vma* vma, uint64_t addr);

// mm/workingset.c. workingset_eviction() stamps an evicted folio with the
// node's nonresident age (and ages it); workingset_refault() decides from
// a shadow whether a folio read back in goes to the active list.
uint64_t workingset_eviction(Kernel& k, Pfn pfn);
void workingset_refault(Kernel& k, Pfn pfn, uint64_t shadow);

// Installs the swap cache's hooks into the swap devices (shadow clearing
// when slots are freed, reclaiming cached-only slots, swapoff's unuse).
void swap_cache_init(Kernel& k);

// Every folio in the cache carries PG_swapcache and maps back to its
// slot, each such slot has SWAP_HAS_CACHE, and NR_SWAPCACHE counts them.
void validate_swap_cache(const Kernel& k);

}  // namespace mmsim
