// /proc/vmstat (mm/vmstat.c: vmstat_start and vmstat_show).
//
// Every counter the memory manager keeps, one "name value" per line, summed
// over all nodes and zones, in a fixed order that mirrors the kernel's enums:
//
//   zone counters          nr_free_pages .. nr_free_cma
//   NUMA events            numa_hit .. numa_other
//   node counters          nr_inactive_anon .. nr_kernel_file_pages
//   writeback thresholds   nr_dirty_threshold, nr_dirty_background_threshold
//                          (computed on each read: global_dirty_limits())
//   memmap                 nr_memmap_pages, nr_memmap_boot_pages
//   events                 pgpgin .. direct_map_level3_collapses
//                          (cma_alloc_success/fail only with a CMA area:
//                          CONFIG_CMA, as meminfo's CmaTotal)
//   nr_unstable 0          a fixed line kept for old parsers
//
// The names and order live in include/mmsim/vmstat_items.h, so a counter a
// subsystem starts maintaining appears here without touching this file.
// Like the kernel, totals that are momentarily negative read as 0, and the
// THP counters (kept in base pages) print in huge pages.
#include <fmt/format.h>

#include <iterator>

#include "mm/show_mem.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

uint64_t pos(int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; }

bool print_in_thp(NodeStatItem i) {
    return i == NR_ANON_TRANSPARENT_HUGEPAGES || i == NR_FILE_HUGEPAGES || i == NR_SHMEM_HUGEPAGES ||
           i == NR_SHMEM_PMDMAPPED || i == NR_FILE_PMDMAPPED;
}

}  // namespace

std::string render_vmstat(const Kernel& k) {
    std::string s;
    s.reserve(8192);
    auto out = std::back_inserter(s);
    auto line = [&](const char* name, uint64_t v) { fmt::format_to(out, "{} {}\n", name, v); };

    for (unsigned i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
        line(zone_stat_names[i], pos(k.global_zone_page_state(static_cast<ZoneStatItem>(i))));
    for (unsigned i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
        line(numa_stat_names[i], k.global_numa_event_state(static_cast<NumaStatItem>(i)));
    for (unsigned i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
        auto item = static_cast<NodeStatItem>(i);
        uint64_t v = pos(k.global_node_page_state(item));
        if (print_in_thp(item)) v >>= HPAGE_PMD_ORDER;
        line(node_stat_names[i], v);
    }

    const DirtyLimits dl = global_dirty_limits(k);
    static_assert(NR_VM_WRITEBACK_STAT_ITEMS == 2);
    line(writeback_stat_names[NR_DIRTY_THRESHOLD], dl.threshold);
    line(writeback_stat_names[NR_DIRTY_BACKGROUND_THRESHOLD], dl.background);

    for (unsigned i = 0; i < NR_VM_MEMMAP_STAT_ITEMS; i++) line(memmap_stat_names[i], pos(k.memmap_stat[i]));
    const bool cma = config_cma(k);
    for (unsigned i = 0; i < NR_VM_EVENT_ITEMS; i++) {
        if (!cma && (i == CMA_ALLOC_SUCCESS || i == CMA_ALLOC_FAIL)) continue;
        line(vm_event_names[i], k.vm_events[i]);
    }

    s += "nr_unstable 0\n";
    return s;
}

}  // namespace mmsim
