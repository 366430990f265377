// The Kernel aggregate's few methods: lookups and the global sums that
// several /proc files print (global_zone_page_state() and friends of
// include/linux/vmstat.h).
#include "kernel/kernel.h"

#include <algorithm>

#include "fs/buffer.h"
#include "fs/dcache.h"
#include "fs/file_table.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "mm/cma.h"
#include "mm/compaction.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/page_owner.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/shrinker.h"
#include "mm/slub.h"
#include "mm/swap.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"
#include "mm/tlb.h"
#include "mm/vmalloc.h"

namespace mmsim {

Kernel::Kernel()
    : hooks(std::make_unique<ReclaimHooks>()),
      page_tables(std::make_unique<PageTableStore>()),
      tasks(std::make_unique<TaskTable>()),
      anon_vmas(std::make_unique<AnonVmaTable>()),
      files(std::make_unique<FileTable>()) {}
Kernel::~Kernel() {
    // What the kernel's structs still hold goes with the whole slab state.
    if (slab) slab->dying = true;
}

void Kernel::set_zone_kinds(const std::vector<ZoneKind>& kinds) {
    zone_kinds = kinds;
    m_kind_index.fill(-1);
    for (std::size_t i = 0; i < kinds.size(); i++)
        m_kind_index[static_cast<unsigned>(kinds[i])] = static_cast<int8_t>(i);
    // GFP_ZONE_TABLE: __GFP_DMA wins, then __GFP_DMA32, then HIGHMEM with
    // MOVABLE (ZONE_MOVABLE), HIGHMEM alone, else Normal. A zone the profile
    // lacks falls back to Normal (x86-64 has no HighMem: OPT_ZONE_HIGHMEM).
    auto idx = [&](ZoneKind kind) {
        int i = zone_index_of(kind);
        if (i < 0) i = zone_index_of(ZoneKind::Normal);
        return static_cast<uint8_t>(i < 0 ? 0 : i);
    };
    for (uint32_t bits = 0; bits < 16; bits++) {
        bool dma = bits & 1, highmem = bits & 2, dma32 = bits & 4, movable = bits & 8;
        if (dma)
            m_gfp_zone[bits] = idx(ZoneKind::DMA);
        else if (dma32)
            m_gfp_zone[bits] = idx(ZoneKind::DMA32);
        else if (highmem && movable)
            m_gfp_zone[bits] = idx(ZoneKind::Movable);
        else if (highmem)
            m_gfp_zone[bits] = idx(ZoneKind::HighMem);
        else
            m_gfp_zone[bits] = idx(ZoneKind::Normal);
    }
}

void Kernel::index_zones() {
    m_zone_ptrs.clear();
    uint64_t max_end = 0;
    for (auto& node : nodes)
        for (auto& zone : node.node_zones)
            if (zone.spanned_pages) {
                m_zone_ptrs.push_back(&zone);
                max_end = std::max(max_end, zone.zone_end_pfn().value);
            }
    m_pageblock_zone.assign((max_end + pageblock_nr_pages - 1) / pageblock_nr_pages, 0);
    for (std::size_t i = 0; i < m_zone_ptrs.size(); i++) {
        const Zone& z = *m_zone_ptrs[i];
        uint64_t first = z.zone_start_pfn.value / pageblock_nr_pages;
        uint64_t last = (z.zone_end_pfn().value - 1) / pageblock_nr_pages;
        for (uint64_t b = first; b <= last; b++) {
            bool whole = b * pageblock_nr_pages >= z.zone_start_pfn.value &&
                         (b + 1) * pageblock_nr_pages <= z.zone_end_pfn().value;
            uint16_t& slot = m_pageblock_zone[b];
            slot = (whole && slot == 0) ? static_cast<uint16_t>(i + 1) : kMixed;
        }
    }
}

Zone* Kernel::page_zone_slow(Pfn pfn) {
    // A pageblock shared by two zones (or a table not built yet): look.
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

void Kernel::validate() const {
    validate_page_alloc(*this);
    validate_slab(*this);
    validate_vm(*this);
    validate_lru(*this);
    libc::validate_malloc(*this);
    validate_dcache(*this);
    validate_files(*this);
    validate_buffers(*this);
    validate_vmalloc(*this);
    validate_page_owner(*this);
    validate_compaction(*this);
    validate_cma(*this);
    validate_swap(*this);
}

}  // namespace mmsim
