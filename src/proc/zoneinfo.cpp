// /proc/zoneinfo (mm/vmstat.c: zoneinfo_show_print).
//
// The most detailed view of physical memory the kernel offers: for every
// node and every zone type of the architecture -- populated or not -- the
// zone's free pages, its watermarks, its size three ways, its lowmem
// reserve against each higher zone, its counters, and each CPU's per-CPU
// page list. The shape:
//
//   Node 0, zone      DMA          <- "%8s": names right-aligned
//     per-node stats               <- only with the node's first populated
//         nr_inactive_anon 6113       zone: the node's counters, "%-12s %lu"
//         ...
//     pages free     3840          <- NR_FREE_PAGES
//           boost    0                watermark_boost
//           min      64               the watermarks, boost included
//           low/high/promo ...
//           spanned/present/managed/cma
//           protection: (0, 3019, 3915, 3915, 3915)   <- lowmem_reserve[]
//         nr_free_pages 3840       <- zone counters, then NUMA events
//         ...
//     pagesets
//       cpu: 0                     <- per online CPU: the pcp list's size,
//                 count:    0         its auto-tuned high mark, batch and
//                 high:     0         the bounds high moves between
//                 ...
//     vm stats threshold: 4        <- the per-CPU counter drift allowed
//     node_unreclaimable:  0       <- kswapd gave up on the node
//     start_pfn:           1
//
// A zone with no pages stops after its protection line. THP counters are
// stored in base pages and printed in huge pages (vmstat_item_print_in_thp).
#include <fmt/format.h>

#include <iterator>

#include "proc/renderers.h"

namespace mmsim {

namespace {

// vmstat_item_print_in_thp(): counters kept in base pages but shown in
// PMD-sized huge pages.
bool print_in_thp(NodeStatItem i) {
    return i == NR_ANON_TRANSPARENT_HUGEPAGES || i == NR_FILE_HUGEPAGES || i == NR_SHMEM_HUGEPAGES ||
           i == NR_SHMEM_PMDMAPPED || i == NR_FILE_PMDMAPPED;
}

// zone_page_state() and node_page_state_pages() read a negative total (a
// per-CPU delta not folded yet) as 0.
uint64_t pos(int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; }

bool is_zone_first_populated(const PglistData& node, const Zone& zone) {
    for (const auto& z : node.node_zones)
        if (z.populated()) return &z == &zone;
    return false;
}

template <class Out>
void zoneinfo_show_print(Out out, const Kernel& k, const PglistData& node, const Zone& zone) {
    fmt::format_to(out, "Node {}, zone {:>8}", node.node_id, zone_kind_name(zone.kind));
    if (is_zone_first_populated(node, zone)) {
        fmt::format_to(out, "\n  per-node stats");
        for (unsigned i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
            uint64_t v = pos(node.vm_stat[i]);
            if (print_in_thp(static_cast<NodeStatItem>(i))) v >>= HPAGE_PMD_ORDER;
            fmt::format_to(out, "\n      {:<12} {}", node_stat_names[i], v);
        }
    }
    fmt::format_to(out,
                   "\n  pages free     {}"
                   "\n        boost    {}"
                   "\n        min      {}"
                   "\n        low      {}"
                   "\n        high     {}"
                   "\n        promo    {}"
                   "\n        spanned  {}"
                   "\n        present  {}"
                   "\n        managed  {}"
                   "\n        cma      {}",
                   pos(zone.vm_stat[NR_FREE_PAGES]), zone.watermark_boost, zone.min_wmark_pages(),
                   zone.low_wmark_pages(), zone.high_wmark_pages(), zone.wmark_pages(WMARK_PROMO),
                   zone.spanned_pages, zone.present_pages, zone.managed_pages, zone.cma_pages);
    fmt::format_to(out, "\n        protection: ({}", zone.lowmem_reserve[0]);
    for (unsigned i = 1; i < k.nr_zone_types(); i++) fmt::format_to(out, ", {}", zone.lowmem_reserve[i]);
    *out++ = ')';

    if (!zone.populated()) {
        *out++ = '\n';
        return;
    }
    for (unsigned i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
        fmt::format_to(out, "\n      {:<12} {}", zone_stat_names[i], pos(zone.vm_stat[i]));
    for (unsigned i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
        fmt::format_to(out, "\n      {:<12} {}", numa_stat_names[i], zone.vm_numa_event[i]);

    fmt::format_to(out, "\n  pagesets");
    for (std::size_t cpu = 0; cpu < k.cpus.size(); cpu++) {
        static const PerCpuPages none{};
        const PerCpuPages& pcp = cpu < zone.pcp.size() ? zone.pcp[cpu] : none;
        fmt::format_to(out,
                       "\n    cpu: {}"
                       "\n              count:    {}"
                       "\n              high:     {}"
                       "\n              batch:    {}"
                       "\n              high_min: {}"
                       "\n              high_max: {}",
                       cpu, pcp.count, pcp.high, pcp.batch, pcp.high_min, pcp.high_max);
        fmt::format_to(out, "\n  vm stats threshold: {}", zone.stat_threshold);
    }
    // kswapd_failures is not modelled until kswapd exists: never
    // unreclaimable.
    fmt::format_to(out,
                   "\n  node_unreclaimable:  {}"
                   "\n  start_pfn:           {}",
                   0, zone.zone_start_pfn.value);
    *out++ = '\n';
}

}  // namespace

std::string render_zoneinfo(const Kernel& k) {
    std::string s;
    auto out = std::back_inserter(s);
    for (const auto& node : k.nodes)
        for (const auto& zone : node.node_zones) zoneinfo_show_print(out, k, node, zone);
    return s;
}

}  // namespace mmsim
