// Counter bookkeeping of mm/vmstat.c: the name tables and the per-zone
// thresholds ("vm stats threshold" in zoneinfo).
//
// The kernel batches counter updates per CPU and folds them into the zone's
// total once a CPU's delta passes a threshold that grows with the zone's
// size and the CPU count (calculate_normal_threshold). mmsim updates the
// totals directly -- its counters are what the kernel's would read after a
// fold (every stat_interval, 1 s) -- but it computes and prints the
// threshold the kernel would use.
#include "mm/vmstat.h"

#include <algorithm>

#include "kernel/kernel.h"
#include "mm/page_alloc.h"

namespace mmsim {

#define MMSIM_NAME_ENTRY(id, name) name,
const char* const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = {MMSIM_ZONE_STAT_ITEMS(MMSIM_NAME_ENTRY)};
const char* const numa_stat_names[NR_VM_NUMA_EVENT_ITEMS] = {MMSIM_NUMA_STAT_ITEMS(MMSIM_NAME_ENTRY)};
const char* const node_stat_names[NR_VM_NODE_STAT_ITEMS] = {MMSIM_NODE_STAT_ITEMS(MMSIM_NAME_ENTRY)};
const char* const writeback_stat_names[NR_VM_WRITEBACK_STAT_ITEMS] = {
    MMSIM_WRITEBACK_STAT_ITEMS(MMSIM_NAME_ENTRY)};
const char* const memmap_stat_names[NR_VM_MEMMAP_STAT_ITEMS] = {MMSIM_MEMMAP_STAT_ITEMS(MMSIM_NAME_ENTRY)};
const char* const vm_event_names[NR_VM_EVENT_ITEMS] = {MMSIM_VM_EVENT_ITEMS(MMSIM_NAME_ENTRY)};
#undef MMSIM_NAME_ENTRY

static int fls(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

int calculate_normal_threshold(const Zone& zone, unsigned online_cpus) {
    // Grows with the log of the CPU count and of the zone size in units of
    // 128 MiB: 2 * fls(cpus) * (1 + fls(mem)), at most 125.
    uint64_t mem = zone.managed_pages >> (27 - PAGE_SHIFT);
    int threshold = 2 * fls(online_cpus) * (1 + fls(mem));
    return std::min(125, threshold);
}

void refresh_zone_stat_thresholds(Kernel& k) {
    for (auto& node : k.nodes)
        for (auto& zone : node.node_zones)
            zone.stat_threshold = calculate_normal_threshold(zone, static_cast<unsigned>(k.cpus.size()));
}

// The kernel's shepherd looks at every CPU each stat_interval and queues
// its vmstat_update when the CPU has counter deltas to fold; a CPU whose
// pcp lists grew under a burst of frees has such deltas (the bulk frees
// moved NR_FREE_PAGES), and its update keeps rescheduling itself while
// decay_pcp_high() reports work. mmsim folds counters at once, so the
// timer simply runs the decay part for every CPU each interval: the same
// pages go back to the buddy at the same times. Not modelled: the NUMA
// drain of a remote node's pcp lists after three idle intervals.
namespace {
void vmstat_tick(Kernel& k) {
    for (auto& node : k.nodes)
        for (auto& zone : node.node_zones)
            if (zone.managed_pages)
                for (auto& pcp : zone.pcp) decay_pcp_high(k, zone, pcp);
    // stat_interval is in seconds (proc_dointvec_jiffies); 0 is one jiffy.
    Nanos every = k.vm.stat_interval > 0 ? Nanos(k.vm.stat_interval) * 1000000000 : 4000000;
    k.clock.schedule_after(every, [&k] { vmstat_tick(k); });
}
}  // namespace

void start_vmstat_work(Kernel& k) {
    k.clock.schedule_after(Nanos(1000000000), [&k] { vmstat_tick(k); });
}

}  // namespace mmsim
