// khugepaged and min_free_kbytes (mm/khugepaged.c).
//
// Transparent huge pages need whole free pageblocks. When THP is enabled
// ("always" or "madvise"), starting khugepaged also raises min_free_kbytes
// to a recommended value so that the page allocator's fragmentation
// avoidance has room to work: for every populated zone that GFP_USER may
// use (Movable is skipped: it holds only movable pages anyway),
//
//   2 pageblocks kept free                               2 * 512 pages
// + one mostly-free block per (migratetype, fallback)    3 * 3 * 512 pages
//
// capped at 5% of the free lowmem. On a machine with DMA, DMA32 and Normal
// that is 3 * 512 * 11 = 16896 pages = 67584 kB, which is why a typical
// x86-64 host shows min_free_kbytes = 67584 although int_sqrt() of its
// lowmem gives far less. The raise only ever goes up; a user's own value
// is kept if it is larger. Disabling THP recomputes the default.
//
// khugepaged's scanning and collapsing come with the THP issue.
#include "mm/khugepaged.h"

#include <fmt/format.h>

#include <algorithm>

#include "mm/page_alloc.h"

namespace mmsim {

bool hugepage_pmd_enabled(const Kernel& k) { return k.vm.thp != ThpMode::Never; }

void set_recommended_min_free_kbytes(Kernel& k) {
    if (!hugepage_pmd_enabled(k)) {
        calculate_min_free_kbytes(k);
        setup_per_zone_wmarks(k);
        return;
    }
    unsigned user_zone = gfp_zone(k, GFP_USER);
    uint64_t nr_zones = 0;
    for (const auto& node : k.nodes)
        for (const auto& zone : node.node_zones)
            if (zone.populated() && zone.idx <= user_zone) nr_zones++;

    uint64_t recommended_min = pageblock_nr_pages * nr_zones * 2;
    recommended_min += pageblock_nr_pages * nr_zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
    recommended_min = std::min(recommended_min, nr_free_buffer_pages(k) / 20);
    recommended_min = pages_to_kb(recommended_min);

    if (recommended_min > static_cast<uint64_t>(k.vm.min_free_kbytes)) {
        if (k.vm.user_min_free_kbytes >= 0)
            k.log.printk(
                k.clock.now(), LogLevel::Info,
                fmt::format("raising min_free_kbytes from {} to {} to help transparent hugepage allocations",
                            k.vm.min_free_kbytes, recommended_min));
        k.vm.min_free_kbytes = static_cast<int>(recommended_min);
    }
    setup_per_zone_wmarks(k);
}

void thp_enabled_changed(Kernel& k) { set_recommended_min_free_kbytes(k); }

}  // namespace mmsim
