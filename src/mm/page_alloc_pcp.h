// The per-CPU lists' common cases, inline (mm/page_alloc.c).
//
// alloc_pages() and free_pages() are inline (page_alloc.h includes this
// file), so that an order-0 allocation served from a pcp list, and a free
// that leaves the list below its high limit, compile into the caller with
// no calls, and a caller's constant gfp mask folds away the tests that do
// not apply to it. Each fast path first decides, without writing anything,
// that it is in the common case; when it is not, it hands the request to
// the general code (page_alloc_slowpath.cpp), which starts from the same
// state. When it is, it makes exactly the updates the general code would
// make, in the same order. What is rare stays out of line in
// page_alloc_pcp.cpp: refilling an empty list from the buddy
// (rmqueue_bulk), returning a batch to it (free_pcppages_bulk), and the
// auto-tuning of `high` once the list grows past it.
#pragma once

#include <algorithm>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/page_owner.h"

namespace mmsim {

// CONFIG_PCP_BATCH_SCALE_MAX's default.
inline constexpr int PCP_BATCH_SCALE_MAX = 5;

inline unsigned order_to_pindex(unsigned migratetype, unsigned order) {
    if (order > PAGE_ALLOC_COSTLY_ORDER) [[unlikely]]
        return NR_LOWORDER_PCP_LISTS + (migratetype == MIGRATE_MOVABLE ? 1 : 0);
    return MIGRATE_PCPTYPES * order + migratetype;
}

// rmqueue_bulk() into an empty list: false if the buddy had nothing.
[[gnu::noinline]] bool rmqueue_pcplist_refill(Kernel& k, Zone& zone, PerCpuPages& pcp, unsigned order,
                                              unsigned migratetype, unsigned alloc_flags, PcpList& list);
// The rest of free_frozen_page_commit() when the page's arrival may change
// `high` or push the CPU over it: nr_pcp_high(), then free_pcppages_bulk()
// of nr_pcp_free() pages and clearing ZONE_BELOW_HIGH if the zone
// recovered.
[[gnu::noinline]] void free_frozen_page_high(Kernel& k, Zone& zone, PerCpuPages& pcp, bool free_high,
                                             unsigned pindex);

// rmqueue_pcplist() and __rmqueue_pcplist(): the first page of the list,
// refilling it from the buddy when empty.
inline MaybePfn rmqueue_pcplist(Kernel& k, Zone& zone, PerCpuPages& pcp, unsigned order, unsigned migratetype,
                                unsigned alloc_flags) {
    // An allocation shortens the run of consecutive frees.
    pcp.free_count >>= 1;
    PcpList& list = pcp.lists[order_to_pindex(migratetype, order)];
    if (list.empty()) [[unlikely]] {
        if (!rmqueue_pcplist_refill(k, zone, pcp, order, migratetype, alloc_flags, list)) return std::nullopt;
    }
    uint32_t pfn = list.pop_front();
    Page& pg = (*k.mem_map)[pfn];
    uint32_t w = pg.state_word();
    // Off the list: PG_pcp, the order and the migratetype go (the byte
    // holds the folio flags from now on, all clear).
    pg.set_state_word(w & (0xffffu & ~uint32_t{PG_pcp}));
    pcp.count -= 1 << order;
    return Pfn(pfn);
}

// free_frozen_page_commit(): the page goes to the head of its list; over
// the high limit, a batch goes back to the buddy.
inline void free_frozen_page_commit(Kernel& k, Zone& zone, PerCpuPages& pcp, Pfn pfn, unsigned order,
                                    unsigned migratetype) {
    // A free halves the refill scale.
    pcp.alloc_factor >>= 1;
    k.count_event(PGFREE, uint64_t{1} << order);
    unsigned pindex = order_to_pindex(migratetype, order);
    uint32_t p = static_cast<uint32_t>(pfn.value);
    pcp.lists[pindex].push_front(p);
    Page& pg = (*k.mem_map)[p];
    pg.set_state_word((pg.state_word() & 0xffffu) | Page::state(PG_pcp, order, migratetype));
    pcp.count += 1 << order;

    int batch = pcp.batch;
    bool free_high = false;
    // Small high-order pages freed in a long run without allocations are
    // flushed eagerly: they fragment memory while parked here.
    if (order && order <= PAGE_ALLOC_COSTLY_ORDER) [[unlikely]] {
        free_high = pcp.free_count >= (batch + pcp.high_min / 2) && (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) &&
                    (!(pcp.flags & PCPF_FREE_HIGH_BATCH) || pcp.count >= batch);
        pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER;
    } else {
        pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
    }
    if (pcp.free_count < (batch << PCP_BATCH_SCALE_MAX)) pcp.free_count += 1 << order;

    // nr_pcp_high() changes nothing and the list stays below it when high
    // is already within its bounds, the zone is neither under reclaim nor
    // below its high watermark, and the count is under high.
    int high = pcp.high;
    if (!free_high && pcp.count < high && high >= pcp.high_min && high <= pcp.high_max &&
        !(zone.flags & (ZONE_RECLAIM_ACTIVE | ZONE_BELOW_HIGH))) [[likely]]
        return;
    free_frozen_page_high(k, zone, pcp, free_high, pindex);
}

// ---- the public fast paths ------------------------------------------------

// The general roads (page_alloc_slowpath.cpp): __alloc_frozen_pages() with
// prep_new_page(), and the whole of free_pages().
[[gnu::noinline]] MaybePfn alloc_pages_general(Kernel& k, gfp_t gfp, unsigned order, int nid);
[[gnu::noinline]] void free_pages_general(Kernel& k, Pfn pfn, unsigned order);
// The kswapd wakeup rmqueue() owes a boosted zone.
[[gnu::cold, gnu::noinline]] void wake_boosted_kswapd(Kernel& k, Zone& zone);

// get_page_from_freelist()'s first step in its most common outcome, for an
// order-0 request: the preferred zone is above its high watermark and this
// CPU's list for the migratetype has a page. Then the general path would
// take that page through rmqueue() and prep_new_page(); this does the same.
inline MaybePfn alloc_pages(Kernel& k, gfp_t gfp, unsigned order, int nid) {
    if (order) return alloc_pages_general(k, gfp, order, nid);
    const int cpu = k.current_cpu;
    const int local_nid = k.cpus.empty() ? 0 : k.cpus[cpu].node;
    const unsigned highest_zoneidx = gfp_zone(k, gfp);
    // first_zones_zonelist() of the node's fallback or nofallback list;
    // nullptr also when that zone has no managed pages.
    Zone* zp =
        k.nodes[nid < 0 ? local_nid : nid].preferred_zone[(gfp & __GFP_THISNODE) ? 1 : 0][highest_zoneidx];
    // A zone below its high watermark, or a boosted one that this request
    // would wake kswapd for, is the general path's: rmqueue() there makes
    // the wakeup.
    const unsigned general_flags =
        ZONE_BELOW_HIGH | ((gfp & __GFP_KSWAPD_RECLAIM) ? unsigned{ZONE_BOOSTED_WATERMARK} : 0u);
    if (!zp || (zp->flags & general_flags)) [[unlikely]]
        return alloc_pages_general(k, gfp, order, nid);
    Zone& zone = *zp;
    const unsigned migratetype = gfp_migratetype(gfp);
    // zone_watermark_fast() at the high watermark for order 0 with the
    // fast path's flags: ALLOC_CMA for movable requests, no reserves. The
    // kernel's usable count, free - min(free, reserved), exceeds a mark
    // that is never negative exactly when free - reserved does.
    long free_pages = zone.page_state(NR_FREE_PAGES);
    long reserved = static_cast<long>(zone.nr_free_highatomic) +
                    (migratetype == MIGRATE_MOVABLE ? 0 : zone.page_state(NR_FREE_CMA));
    if (free_pages - reserved <=
        static_cast<long>(zone.high_wmark_pages()) + zone.lowmem_reserve[highest_zoneidx]) [[unlikely]]
        return alloc_pages_general(k, gfp, order, nid);
    PerCpuPages& pcp = zone.pcp[cpu];
    PcpList& list = pcp.lists[migratetype];  // order_to_pindex(migratetype, 0)
    if (list.empty()) [[unlikely]]
        return alloc_pages_general(k, gfp, order, nid);

    // rmqueue_pcplist()
    pcp.free_count >>= 1;
    uint32_t pfn = list.pop_front();
    Page& pg = (*k.mem_map)[pfn];
    uint32_t w = pg.state_word();
    pg.set_state_word(w & (0xffffu & ~uint32_t{PG_pcp}));
    pcp.count -= 1;
    // rmqueue(): the pgalloc event and zone_statistics(); the zone is the
    // preferred one, so this is a NUMA hit.
    k.count_event(static_cast<VmEventItem>(zone.pgalloc_event), 1);
    zone.vm_numa_event[NUMA_HIT]++;
    zone.vm_numa_event[zone.node != local_nid ? NUMA_OTHER : NUMA_LOCAL]++;
    // prep_new_page(): order 0 is never compound.
    pg.refcount = 1;
    if (alloc_debug_on(k)) [[unlikely]]
        alloc_debug_hooks(k, Pfn(pfn), 0, gfp);
    return Pfn(pfn);
}

// free_pages() of an order-0 page of an ordinary pageblock: the page goes to
// this CPU's list (free_frozen_page_commit()).
inline void free_pages(Kernel& k, Pfn pfn, unsigned order) {
    MemMap& mm = *k.mem_map;
    // page_zone() and the pageblock's migratetype in one load.
    uintptr_t block = mm.pageblock_entry(pfn.value);
    unsigned migratetype = MemMap::entry_migratetype(block);
    // Pageblocks the table leaves to page_zone(), isolated, CMA or
    // highatomic pageblocks, bad frees and compound heads take the general
    // road.
    if (order || !block || migratetype >= MIGRATE_PCPTYPES) [[unlikely]]
        return free_pages_general(k, pfn, order);
    Page& pg = mm[pfn.value];
    uint32_t w = pg.state_word();
    if (w & (PG_buddy | PG_pcp | PG_reserved | PG_head)) [[unlikely]]
        return free_pages_general(k, pfn, order);
    Zone& zone = *MemMap::entry_zone(block);
    PerCpuPages& pcp = zone.pcp[k.current_cpu];
    PcpList& list = pcp.lists[migratetype];  // order_to_pindex(migratetype, 0)
    // A full ring grows on the general road, so that nothing here lives
    // across a call.
    if (list.full()) [[unlikely]]
        return free_pages_general(k, pfn, order);
    pg.refcount = 0;
    pcp.alloc_factor >>= 1;
    k.count_event(PGFREE, 1);
    list.push_front_unchecked(static_cast<uint32_t>(pfn.value));
    pg.set_state_word((w & 0xffffu) | Page::state(PG_pcp, 0, migratetype));
    pcp.count += 1;
    pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
    pcp.free_count += pcp.free_count < (pcp.batch << PCP_BATCH_SCALE_MAX);
    int high = pcp.high;
    if (!(pcp.count < high && high >= pcp.high_min && high <= pcp.high_max &&
          !(zone.flags & (ZONE_RECLAIM_ACTIVE | ZONE_BELOW_HIGH)))) [[unlikely]]
        free_frozen_page_high(k, zone, pcp, false, migratetype);
    if (alloc_debug_on(k)) [[unlikely]]
        free_debug_hooks(k, pfn, 0);
}

}  // namespace mmsim
