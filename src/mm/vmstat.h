// Counters: mm/vmstat.c's bookkeeping side (the files are in src/proc).
#pragma once

#include "kernel/kernel.h"

namespace mmsim {

inline void mod_zone_page_state(Zone& z, ZoneStatItem i, int64_t delta) { z.vm_stat[i] += delta; }
inline void mod_node_page_state(PglistData& n, NodeStatItem i, int64_t delta) { n.vm_stat[i] += delta; }

// calculate_normal_threshold(): the per-CPU counter drift allowed per zone,
// shown as "vm stats threshold" in zoneinfo.
int calculate_normal_threshold(const Zone& zone, unsigned online_cpus);
void refresh_zone_stat_thresholds(Kernel& k);

}  // namespace mmsim
