// khugepaged's part in sizing the free-page reserve (mm/khugepaged.c).
#pragma once

#include "kernel/kernel.h"

namespace mmsim {

// set_recommended_min_free_kbytes(): with THP enabled, raise min_free_kbytes
// so that, per lowmem zone, two pageblocks stay free plus enough for each
// pair of the three pcp migratetypes to fall back to a mostly-free block
// (pageblock_nr_pages * zones * (2 + 3 * 3)), but never above 5% of lowmem.
// With THP disabled, min_free_kbytes goes back to the kernel's default.
// Then the watermarks are recomputed.
void set_recommended_min_free_kbytes(Kernel& k);

// start_stop_khugepaged(): called after boot and after every write to
// /sys/kernel/mm/transparent_hugepage/enabled.
void thp_enabled_changed(Kernel& k);

bool hugepage_pmd_enabled(const Kernel& k);

}  // namespace mmsim
