// Memory compaction (mm/compaction.c): moving movable pages out of the way
// so that free pages come together into large blocks.
//
// See the essay at the top of compaction.cpp.
#pragma once

#include <cstdint>

#include "kernel/kernel.h"
#include "mm/migrate.h"
#include "mmsim/gfp.h"

namespace mmsim {

// enum compact_result, in the kernel's order (callers compare with max()).
enum class CompactResult : int {
    NotSuitableZone,  // the fragmentation index says failure is not fragmentation
    Skipped,          // too little free memory to compact
    Deferred,         // failed recently at this order; not tried
    NoSuitablePage,   // internal: no page yet, keep going
    Continue,         // keep going
    Complete,         // the whole zone was scanned, the page is not there
    PartialSkipped,   // scanned from the cached positions; not the whole zone
    Contended,        // stopped early (no target pages, a fatal signal)
    Success,          // a page of the requested order is free
};
const char* compact_result_name(CompactResult r);

// enum compact_priority.
enum CompactPriority : int {
    COMPACT_PRIO_SYNC_FULL = 0,
    MIN_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_FULL,
    COMPACT_PRIO_SYNC_LIGHT = 1,
    MIN_COMPACT_COSTLY_PRIORITY = COMPACT_PRIO_SYNC_LIGHT,
    DEF_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_LIGHT,
    COMPACT_PRIO_ASYNC = 2,
    INIT_COMPACT_PRIORITY = COMPACT_PRIO_ASYNC,
};

inline constexpr unsigned COMPACT_MAX_DEFER_SHIFT = 6;
inline constexpr unsigned COMPACT_CLUSTER_MAX = 32;  // SWAP_CLUSTER_MAX
inline constexpr unsigned MAX_COMPACT_RETRIES = 16;
inline constexpr unsigned COMPACTION_HPAGE_ORDER = pageblock_order;
inline constexpr uint64_t HPAGE_FRAG_CHECK_INTERVAL_MSEC = 500;

// The fragmentation index of lib's fill_contig_page_info() /
// __fragmentation_index(): -1000 when a block of the order is free, 0 with
// no free memory; otherwise 0..1000, towards 0 when a failure would be for
// lack of memory, towards 1000 when it would be fragmentation.
int fragmentation_index(const Zone& zone, unsigned order);
// unusable_free_index(): thousandths of free memory in blocks too small for
// the order (debugfs extfrag/unusable_index).
int unusable_free_index(const Zone& zone, unsigned order);
// extfrag_for_order(): percent of free memory in blocks below the order.
unsigned extfrag_for_order(const Zone& zone, unsigned order);
// fragmentation_score_zone() / _node() and fragmentation_score_wmark().
unsigned fragmentation_score_zone(const Zone& zone);
unsigned fragmentation_score_node(const Kernel& k, const PglistData& node);
unsigned fragmentation_score_wmark(const Kernel& k, bool low);

// compaction_suitable(): enough free memory to compact for the order, and
// (for costly orders) a fragmentation index above vm.extfrag_threshold.
bool compaction_suitable(const Kernel& k, const Zone& zone, unsigned order, unsigned highest_zoneidx,
                         unsigned alloc_flags);

// Deferral (defer_compaction, compaction_deferred, compaction_defer_reset,
// compaction_restarting).
void defer_compaction(Zone& zone, unsigned order);
bool compaction_deferred(Zone& zone, unsigned order);
void compaction_defer_reset(Zone& zone, unsigned order, bool alloc_success);
bool compaction_restarting(const Zone& zone, unsigned order);

// What one compact_zone() run did, for callers and tests.
struct CompactStats {
    CompactResult result = CompactResult::Skipped;
    uint64_t migrate_scanned = 0;
    uint64_t free_scanned = 0;
    uint64_t migrated = 0;
    uint64_t migrate_failed = 0;
};

// try_to_compact_pages(): direct compaction of every zone the allocation
// may use, at priority prio; the caller then retries the allocation.
CompactResult try_to_compact_pages(Kernel& k, gfp_t gfp, unsigned order, unsigned alloc_flags,
                                   unsigned highest_zoneidx, int nid, bool thisnode, int prio);

// compact_zone_order(): one zone, as direct compaction runs it.
CompactStats compact_zone_order(Kernel& k, Zone& zone, unsigned order, gfp_t gfp, int prio,
                                unsigned alloc_flags, unsigned highest_zoneidx);

// compact_node() / compact_nodes(): vm.compact_memory; every zone fully.
void compact_node(Kernel& k, PglistData& node, bool proactive);
void compact_nodes(Kernel& k);

// should_proactive_compact_node(): vm.compaction_proactiveness is set and
// the node's fragmentation score is above the high mark.
bool should_proactive_compact_node(const Kernel& k, const PglistData& node);
// kcompactd's proactive round for a node (what the thread does when its
// HPAGE_FRAG_CHECK_INTERVAL_MSEC timeout expires): compacts the node in
// proactive mode if its score calls for it. Returns the next timeout: the
// interval, or 64 times it when the score did not go down.
Nanos kcompactd_proactive(Kernel& k, PglistData& node);
// wakeup_kcompactd(): kswapd asks the node's kcompactd to compact for an
// order (recorded in kcompactd_max_order / _highest_zoneidx); the thread
// runs kcompactd_do_work() as an event at the current time if some zone
// could be compacted.
void wakeup_kcompactd(Kernel& k, PglistData& node, unsigned order, unsigned highest_zoneidx);
void kcompactd_do_work(Kernel& k, PglistData& node);
// The vm.compaction_proactiveness handler: a non-zero write wakes every
// node's kcompactd for a proactive round now.
void compaction_proactiveness_changed(Kernel& k);

// Resets every zone's scanner positions and skip bits (boot and
// reset_isolation_suitable()).
void reset_isolation_suitable(Kernel& k, PglistData& node);

// kcompactd_init() and the hooks: sizes each zone's skip bits, sets the
// scanners, installs vm.compact_memory's handler, and starts each node's
// kcompactd timer on the simulated clock.
void compaction_init(Kernel& k);

// Checks the scanner positions and skip bits of every zone (validate()).
void validate_compaction(const Kernel& k);

}  // namespace mmsim
