// Counters: mm/vmstat.c's bookkeeping side (the files are in src/proc).
#pragma once

#include "kernel/kernel.h"

namespace mmsim {

inline void mod_zone_page_state(Zone& z, ZoneStatItem i, int64_t delta) { z.vm_stat[i] += delta; }
inline void mod_node_page_state(PglistData& n, NodeStatItem i, int64_t delta) { n.vm_stat[i] += delta; }

// calculate_normal_threshold(): the per-CPU counter drift allowed per zone,
// shown as "vm stats threshold" in zoneinfo.
int calculate_normal_threshold(const Zone& zone, unsigned online_cpus);
// vmstat_shepherd / vmstat_update: every stat_interval seconds of simulated
// time, each CPU's refresh_cpu_vm_stats() decays the pcp high of every
// populated zone (decay_pcp_high). Started by boot.
void start_vmstat_work(Kernel& k);
void refresh_zone_stat_thresholds(Kernel& k);

}  // namespace mmsim
