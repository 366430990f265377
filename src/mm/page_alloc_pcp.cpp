// Per-CPU page lists: the allocator's fast path (mm/page_alloc.c).
//
// Taking the zone lock for every page would be slow, so each CPU keeps a few
// free pages of each zone on private lists, one per migratetype and small
// order (0..3), plus two for PMD-order THP pages:
//
//   pcp->lists[order * 3 + migratetype]   pcp->lists[12 + movable]
//
// Allocation takes the first page of the right list; when the list is empty
// it refills "batch" pages at once from the buddy (rmqueue_bulk), more when
// allocations keep coming (alloc_factor doubles it). Freeing puts the page at
// the head of its list; when the CPU holds more than "high" pages it returns
// a batch to the buddy (free_pcppages_bulk), round-robin over the lists,
// oldest pages first. Pages on these lists are not counted as free:
// NR_FREE_PAGES only counts the buddy's lists.
//
// batch is ~0.1% of the zone or 1 MiB, whichever is smaller, divided by 4
// and rounded to 2^n - 1 (zone_batchsize). high is auto-tuned between
// high_min (the zone's low watermark split across the node's CPUs) and
// high_max (1/8 of the zone split the same way) by nr_pcp_high(): it grows
// while the CPU frees more than it allocates and shrinks while the zone is
// below its high watermark or under reclaim. A CPU's "high" starts at 0 and
// is first clamped into [high_min, high_max] when the CPU first uses the
// zone, which is why zoneinfo shows "high: 0" for zones nobody touched.
#include "mm/page_alloc_pcp.h"

#include <algorithm>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// MIN_PERCPU_PAGELIST_HIGH_FRACTION: high_max is managed / 8 at most.
constexpr int MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

unsigned pindex_to_order(unsigned pindex) {
    return pindex >= NR_LOWORDER_PCP_LISTS ? HPAGE_PMD_ORDER : pindex / MIGRATE_PCPTYPES;
}

// nr_pcp_alloc(): how many pages to pull from the buddy on a refill.
int nr_pcp_alloc(PerCpuPages& pcp, const Zone& zone, unsigned order) {
    int base_batch = pcp.batch;
    int high_min = pcp.high_min;
    int high_max = pcp.high_max;
    int high = pcp.high = std::clamp(pcp.high, high_min, high_max);

    // Boot pageset or a disabled one: one page at a time.
    if (high < base_batch) return 1;

    int batch = order ? base_batch : (base_batch << pcp.alloc_factor);
    // A larger high would have avoided this refill: grow it.
    if (high_min != high_max && !(zone.flags & ZONE_BELOW_HIGH))
        high = pcp.high = std::min(high + batch, high_max);

    if (!order) {
        int max_nr_alloc = std::max(high - pcp.count - base_batch, base_batch);
        // Consecutive order-0 refills without frees double the batch.
        if (batch <= max_nr_alloc && pcp.alloc_factor < PCP_BATCH_SCALE_MAX) pcp.alloc_factor++;
        batch = std::min(batch, max_nr_alloc);
    }
    // Scale to the order; a batch of 1 means "do not store pages".
    if (batch > 1) batch = std::max(batch >> order, 2);
    return batch;
}

// nr_pcp_high(): the current high limit, adjusted on the way.
int nr_pcp_high(PerCpuPages& pcp, const Zone& zone, int batch, bool free_high) {
    int high_min = pcp.high_min;
    int high_max = pcp.high_max;
    int high = pcp.high = std::clamp(pcp.high, high_min, high_max);
    if (!high) return 0;
    if (free_high) {
        pcp.high = std::max(high - (batch << PCP_BATCH_SCALE_MAX), high_min);
        return 0;
    }
    // Under reclaim, keep few pages on pcp lists.
    if (zone.flags & ZONE_RECLAIM_ACTIVE) {
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

// nr_pcp_free(): how many pages to return to the buddy.
int nr_pcp_free(const PerCpuPages& pcp, int batch, int high, bool free_high) {
    if (free_high) return std::min(pcp.count, batch << PCP_BATCH_SCALE_MAX);
    if (high < batch) return 1;
    // Free at least a batch, leave at least a batch, and grow with the run
    // of consecutive frees.
    int min_nr_free = batch;
    int max_nr_free = high - batch;
    return std::clamp(pcp.free_count, min_nr_free, max_nr_free);
}

// free_pcppages_bulk(): return `count` pages, lists taken round-robin
// starting with pindex, oldest (tail) pages first. Each goes back to the
// free list of its pageblock's current type.
void free_pcppages_bulk(Kernel& k, Zone& zone, PerCpuPages& pcp, int count, unsigned pindex) {
    MemMap& mm = *k.mem_map;
    count = std::min(pcp.count, count);
    int idx = static_cast<int>(pindex) - 1;
    while (count > 0) {
        do {
            if (++idx > static_cast<int>(NR_PCP_LISTS) - 1) idx = 0;
        } while (pcp.lists[idx].empty());
        unsigned order = pindex_to_order(static_cast<unsigned>(idx));
        int nr_pages = 1 << order;
        PcpList& list = pcp.lists[idx];
        do {
            uint64_t pfn = list.pop_back();
            unsigned mt = get_pageblock_migratetype(zone, Pfn(pfn));
            mm[pfn].clear(PG_pcp);
            mm[pfn].order = 0;
            count -= nr_pages;
            pcp.count -= nr_pages;
            free_one_page(k, zone, Pfn(pfn), order, mt);
        } while (count > 0 && !list.empty());
    }
}

}  // namespace

void PcpList::grow() {
    std::size_t cap = std::max<std::size_t>(64, ring.size() * 2);
    std::vector<uint32_t> bigger(cap);
    for (uint32_t i = 0; i < len; i++) bigger[i] = at(i);
    ring.swap(bigger);
    head = 0;
    mask = static_cast<uint32_t>(cap - 1);
}

bool rmqueue_pcplist_refill(Kernel& k, Zone& zone, PerCpuPages& pcp, unsigned order, unsigned migratetype,
                            unsigned alloc_flags, PcpList& list) {
    MemMap& mm = *k.mem_map;
    int batch = nr_pcp_alloc(pcp, zone, order);
    // rmqueue_bulk(): pages arrive in physical order and go to the tail.
    int alloced = 0;
    for (int i = 0; i < batch; i++) {
        auto p = rmqueue_buddy_block(k, zone, order, migratetype, alloc_flags);
        if (!p) break;
        Page& pg = mm[p->value];
        pg.set_state_word((pg.state_word() & 0xffffu) | Page::state(PG_pcp, order, migratetype));
        list.push_back(static_cast<uint32_t>(p->value));
        alloced++;
    }
    pcp.count += alloced << order;
    return !list.empty();
}

void free_frozen_page_high(Kernel& k, Zone& zone, PerCpuPages& pcp, bool free_high, unsigned pindex) {
    int batch = pcp.batch;
    int high = nr_pcp_high(pcp, zone, batch, free_high);
    if (pcp.count < high) return;
    free_pcppages_bulk(k, zone, pcp, nr_pcp_free(pcp, batch, high, free_high), pindex);
    if ((zone.flags & ZONE_BELOW_HIGH) &&
        zone_watermark_ok(zone, 0, zone.high_wmark_pages(), static_cast<unsigned>(k.nr_zone_types() - 1), 0,
                          zone.page_state(NR_FREE_PAGES)))
        zone.flags &= ~ZONE_BELOW_HIGH;
}

int decay_pcp_high(Kernel& k, Zone& zone, PerCpuPages& pcp) {
    int todo = 0;
    const int high_min = pcp.high_min, batch = pcp.batch;
    // Lower high by an eighth of itself (but not below high_min, nor so far
    // that more than batch << PCP_BATCH_SCALE_MAX pages must go at once)...
    if (pcp.high > high_min) {
        pcp.high =
            std::max({pcp.count - (batch << PCP_BATCH_SCALE_MAX), pcp.high - (pcp.high >> 3), high_min});
        if (pcp.high > high_min) todo++;
    }
    // ...and give back, a batch at a time, what the list holds above it.
    for (int to_drain = pcp.count - pcp.high; to_drain > 0;) {
        int n = std::min(to_drain, batch);
        free_pcppages_bulk(k, zone, pcp, n, 0);
        todo++;
        to_drain -= n;
    }
    return todo;
}

void free_to_pcp(Kernel& k, Zone& zone, int cpu, Pfn pfn, unsigned order, unsigned migratetype) {
    free_frozen_page_commit(k, zone, zone.pcp[cpu], pfn, order, migratetype);
}

void drain_all_pages(Kernel& k, Zone* only) {
    for (auto& node : k.nodes) {
        for (auto& zone : node.node_zones) {
            if (only && only != &zone) continue;
            for (auto& pcp : zone.pcp) {
                if (pcp.count) free_pcppages_bulk(k, zone, pcp, pcp.count, 0);
            }
        }
    }
}

int zone_batchsize(const Zone& zone) {
    // ~0.1% of the zone or 1 MiB, whichever is smaller, then /4 because
    // rmqueue_bulk effectively multiplies it back; clamped to 2^n - 1,
    // which avoids cache aliasing between CPUs' batches.
    int64_t batch =
        static_cast<int64_t>(std::min<uint64_t>(zone.managed_pages >> 10, (1u << 20) / PAGE_SIZE));
    batch /= 4;
    if (batch < 1) batch = 1;
    int64_t v = batch + batch / 2;
    int64_t pow2 = 1;
    while (pow2 * 2 <= v) pow2 *= 2;
    return static_cast<int>(pow2 - 1);
}

int zone_highsize(const Kernel& k, const Zone& zone, int batch, int cpu_online, int high_fraction) {
    uint64_t total_pages;
    if (!high_fraction) {
        // By default based on the low watermark, so full pcp lists do not
        // start background reclaim early.
        total_pages = zone.low_wmark_pages();
    } else {
        total_pages = zone.managed_pages / static_cast<uint64_t>(high_fraction);
    }
    // Split over the CPUs of the zone's node; a node without CPUs splits
    // over every online CPU.
    int nr_split_cpus = static_cast<int>(k.nodes[zone.node].cpus.size()) + cpu_online;
    if (!nr_split_cpus) nr_split_cpus = static_cast<int>(k.cpus.size());
    int high = static_cast<int>(total_pages / static_cast<uint64_t>(nr_split_cpus));
    // At least batch * 4, the historical ratio.
    return std::max(high, batch << 2);
}

void zone_pcp_update(Kernel& k, Zone& zone, int cpu_online) {
    // zone_set_pageset_high_and_batch().
    int new_batch = std::max(1, zone_batchsize(zone));
    int new_high_min, new_high_max;
    if (k.vm.percpu_pagelist_high_fraction) {
        new_high_min = zone_highsize(k, zone, new_batch, cpu_online, k.vm.percpu_pagelist_high_fraction);
        // A manual setting disables auto-tuning.
        new_high_max = new_high_min;
    } else {
        new_high_min = zone_highsize(k, zone, new_batch, cpu_online, 0);
        new_high_max = zone_highsize(k, zone, new_batch, cpu_online, MIN_PERCPU_PAGELIST_HIGH_FRACTION);
    }
    if (zone.pageset_high_min == new_high_min && zone.pageset_high_max == new_high_max &&
        zone.pageset_batch == new_batch)
        return;
    zone.pageset_high_min = new_high_min;
    zone.pageset_high_max = new_high_max;
    zone.pageset_batch = new_batch;
    for (auto& pcp : zone.pcp) {
        pcp.batch = new_batch;
        pcp.high_min = new_high_min;
        pcp.high_max = new_high_max;
    }
}

void setup_pcp_all(Kernel& k) {
    for (auto& node : k.nodes)
        for (auto& zone : node.node_zones)
            if (zone.populated()) zone_pcp_update(k, zone, 0);
}

}  // namespace mmsim
