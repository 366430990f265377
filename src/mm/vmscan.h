// Page reclaim (mm/vmscan.c). So far the part alloc_contig_range() uses
// (dropping clean page-cache pages instead of migrating them) and the
// part MADV_PAGEOUT uses (reclaiming a given list of pages).
//
// See the essay at the top of vmscan.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/types.h"

namespace mmsim {

// reclaim_clean_pages_from_list(): frees the clean, evictable page-cache
// pages of `list` (pages of ordinary files, not shmem), unmapping them
// first, and removes them from the list; returns how many. Pages that
// stay (dirty once unmapped, still mapped, or with unexplained
// references) remain in the list for migration.
uint64_t reclaim_clean_pages_from_list(Kernel& k, Zone& zone, std::vector<Pfn>& list);

// reclaim_pages() (MADV_PAGEOUT): shrink_folio_list() with the referenced
// bits ignored over pages already isolated from the LRU, node by node;
// what cannot be freed now goes back to the LRU (folio_putback_lru).
// Returns the pages freed.
uint64_t reclaim_pages(Kernel& k, std::vector<Pfn>& list);

}  // namespace mmsim
