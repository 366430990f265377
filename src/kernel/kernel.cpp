// The Kernel aggregate's few methods: lookups and the global sums that
// several /proc files print (global_zone_page_state() and friends of
// include/linux/vmstat.h).
#include "kernel/kernel.h"

#include "mm/memmap.h"
#include "mm/page_alloc.h"

namespace mmsim {

Kernel::Kernel() : hooks(std::make_unique<ReclaimHooks>()) {}
Kernel::~Kernel() = default;

int Kernel::zone_index_of(ZoneKind k) const {
    for (std::size_t i = 0; i < zone_kinds.size(); i++)
        if (zone_kinds[i] == k) return static_cast<int>(i);
    return -1;
}

Zone* Kernel::page_zone(Pfn pfn) {
    for (auto& node : nodes)
        for (auto& zone : node.node_zones)
            if (zone.spanned_pages && zone.spans(pfn)) return &zone;
    return nullptr;
}

Page& Kernel::page(Pfn pfn) { return mem_map->at(pfn); }

int64_t Kernel::global_zone_page_state(ZoneStatItem i) const {
    int64_t sum = 0;
    for (const auto& node : nodes)
        for (const auto& zone : node.node_zones) sum += zone.vm_stat[i];
    return sum;
}

int64_t Kernel::global_node_page_state(NodeStatItem i) const {
    int64_t sum = 0;
    for (const auto& node : nodes) sum += node.vm_stat[i];
    return sum;
}

uint64_t Kernel::global_numa_event_state(NumaStatItem i) const {
    uint64_t sum = 0;
    for (const auto& node : nodes)
        for (const auto& zone : node.node_zones) sum += zone.vm_numa_event[i];
    return sum;
}

void Kernel::validate() const { validate_page_alloc(*this); }

}  // namespace mmsim
