// Page reclaim (mm/vmscan.c). So far only the part alloc_contig_range()
// uses: dropping clean page-cache pages instead of migrating them.
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

}  // namespace mmsim
