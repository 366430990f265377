// The per-CPU lists' common cases, inline (mm/page_alloc.c).
//
// alloc_pages() and free_pages() include these so that an order-0
// allocation served from a pcp list, and a free that leaves the list below
// its high limit, each compile into one function with no calls. What is
// rare stays out of line in page_alloc_pcp.cpp: refilling an empty list
// from the buddy (rmqueue_bulk) and returning a batch to it
// (free_pcppages_bulk). Every counter is updated here exactly as the
// out-of-line code would.
#pragma once

#include <algorithm>

#include "mm/memmap.h"
#include "mm/page_alloc.h"

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
                                              unsigned migratetype, unsigned alloc_flags, PfnList& list);
// The list went over its high limit: free_pcppages_bulk() of
// nr_pcp_free() pages, then clear ZONE_BELOW_HIGH if the zone recovered.
[[gnu::noinline]] void free_frozen_page_flush(Kernel& k, Zone& zone, PerCpuPages& pcp, int batch, int high,
                                              bool free_high, unsigned pindex);

// rmqueue_pcplist() and __rmqueue_pcplist(): the first page of the list,
// refilling it from the buddy when empty.
inline MaybePfn rmqueue_pcplist(Kernel& k, Zone& zone, PerCpuPages& pcp, unsigned order, unsigned migratetype,
                                unsigned alloc_flags) {
    // An allocation shortens the run of consecutive frees.
    pcp.free_count >>= 1;
    PfnList& list = pcp.lists[order_to_pindex(migratetype, order)];
    if (list.empty()) [[unlikely]] {
        if (!rmqueue_pcplist_refill(k, zone, pcp, order, migratetype, alloc_flags, list)) return std::nullopt;
    }
    MemMap& mm = *k.mem_map;
    uint32_t pfn = list.first;
    Page& pg = mm[pfn];
    uint32_t next = pg.next;
    list.first = next;
    if (next != PFN_NIL)
        mm[next].prev = PFN_NIL;
    else
        list.last = PFN_NIL;
    pg.next = pg.prev = 0;
    pg.clear(PG_pcp);
    pg.order = 0;
    pcp.count -= 1 << order;
    return Pfn(pfn);
}

// nr_pcp_high(): the current high limit, adjusted on the way.
inline int nr_pcp_high(PerCpuPages& pcp, const Zone& zone, int batch, bool free_high) {
    int high_min = pcp.high_min;
    int high_max = pcp.high_max;
    int high = pcp.high = std::clamp(pcp.high, high_min, high_max);
    if (!high) return 0;
    if (free_high) {
        pcp.high = std::max(high - (batch << PCP_BATCH_SCALE_MAX), high_min);
        return 0;
    }
    // Under reclaim, keep few pages on pcp lists.
    if (zone.flags & ZONE_RECLAIM_ACTIVE) [[unlikely]] {
        int free_count = std::max(pcp.free_count, batch);
        pcp.high = std::max(high - free_count, high_min);
        return std::min(batch << 2, pcp.high);
    }
    if (high_min == high_max) return high;
    if (zone.flags & ZONE_BELOW_HIGH) {
        int free_count = std::max(pcp.free_count, batch);
        pcp.high = std::max(high - free_count, high_min);
        high = std::max(pcp.high, high_min);
    } else if (pcp.count >= high) {
        int need_high = pcp.free_count + batch;
        // high must hold a batch of freed pages.
        if (pcp.high < need_high) pcp.high = std::clamp(need_high, high_min, high_max);
    }
    return high;
}

// free_frozen_page_commit(): the page goes to the head of its list; over
// the high limit, a batch goes back to the buddy.
inline void free_frozen_page_commit(Kernel& k, Zone& zone, PerCpuPages& pcp, Pfn pfn, unsigned order,
                                    unsigned migratetype) {
    MemMap& mm = *k.mem_map;
    // A free halves the refill scale.
    pcp.alloc_factor >>= 1;
    k.count_event(PGFREE, uint64_t{1} << order);
    unsigned pindex = order_to_pindex(migratetype, order);
    PfnList& list = pcp.lists[pindex];
    uint32_t p = static_cast<uint32_t>(pfn.value);
    Page& pg = mm[p];
    pg.set(PG_pcp);
    pg.order = static_cast<uint8_t>(order);
    pg.mt = static_cast<uint8_t>(migratetype);
    pg.prev = PFN_NIL;
    pg.next = list.first;
    if (list.first != PFN_NIL)
        mm[list.first].prev = p;
    else
        list.last = p;
    list.first = p;
    pcp.count += 1 << order;

    int batch = pcp.batch;
    bool free_high = false;
    // Small high-order pages freed in a long run without allocations are
    // flushed eagerly: they fragment memory while parked here.
    if (order && order <= PAGE_ALLOC_COSTLY_ORDER) {
        free_high = pcp.free_count >= (batch + pcp.high_min / 2) && (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) &&
                    (!(pcp.flags & PCPF_FREE_HIGH_BATCH) || pcp.count >= batch);
        pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER;
    } else if (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) {
        pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
    }
    if (pcp.free_count < (batch << PCP_BATCH_SCALE_MAX)) pcp.free_count += 1 << order;

    int high = nr_pcp_high(pcp, zone, batch, free_high);
    if (pcp.count >= high) [[unlikely]]
        free_frozen_page_flush(k, zone, pcp, batch, high, free_high, pindex);
}

}  // namespace mmsim
