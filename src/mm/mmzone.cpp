// Names of zone types and migratetypes, as /proc prints them
// (zone_names[] in mm/page_alloc.c, migratetype_names[] in mm/vmstat.c).
#include "mmsim/mmzone.h"

namespace mmsim {

const char* zone_kind_name(ZoneKind k) {
    switch (k) {
        case ZoneKind::DMA:
            return "DMA";
        case ZoneKind::DMA32:
            return "DMA32";
        case ZoneKind::Normal:
            return "Normal";
        case ZoneKind::HighMem:
            return "HighMem";
        case ZoneKind::Movable:
            return "Movable";
        case ZoneKind::Device:
            return "Device";
    }
    return "?";
}

const char* migratetype_name(unsigned mt) {
    static const char* const names[MIGRATE_TYPES] = {"Unmovable",  "Movable", "Reclaimable",
                                                     "HighAtomic", "CMA",     "Isolate"};
    return mt < MIGRATE_TYPES ? names[mt] : "?";
}

}  // namespace mmsim
