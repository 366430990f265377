// Watermarks, lowmem reserves and min_free_kbytes (mm/page_alloc.c).
//
// Every zone has three watermarks (plus "promo" for memory tiering):
//
//   free pages  ^
//               |  high  -- kswapd stops reclaiming here
//               |  low   -- kswapd wakes when free drops below this
//               |  min   -- below this only atomic / reserve allocations;
//               |           others reclaim directly
//               v
//
// min_free_kbytes sets the sum of the zones' min marks. By default it is
// int_sqrt(lowmem_kbytes * 16) clamped to [128, 262144] kB
// (calculate_min_free_kbytes): 4 GiB of lowmem gives about 8 MiB. Each
// lowmem zone gets a share proportional to its managed pages; highmem and
// movable zones get a token min of managed/1024 clamped to [32, 128] pages
// (__setup_per_zone_wmarks). The gaps min->low and low->high are
//   max(min / 4, managed * watermark_scale_factor / 10000)
// so on a big zone the scale factor (default 10 = 0.1%) dominates.
//
// lowmem_reserve ("protection" in zoneinfo) keeps lower zones from being
// eaten by allocations that could have used higher ones: zone i keeps back,
// against a request whose highest usable zone is j > i, the managed pages
// of zones i+1..j divided by lowmem_reserve_ratio[i]
// (setup_per_zone_lowmem_reserve). A check of free pages against a
// watermark always adds lowmem_reserve[highest_zoneidx] (__zone_watermark_ok).
//
// Writing vm.min_free_kbytes, vm.watermark_scale_factor,
// vm.lowmem_reserve_ratio or vm.percpu_pagelist_high_fraction reruns the
// same code the kernel's sysctl handlers run.
#include <fmt/format.h>

#include <algorithm>

#include "mm/page_alloc.h"
#include "mm/vmstat.h"

namespace mmsim {

uint64_t nr_free_buffer_pages(const Kernel& k) {
    // nr_free_zone_pages(gfp_zone(GFP_USER)) over the local node's zonelist,
    // which covers every node's zones ("the fallback list is circular").
    unsigned highest = gfp_zone(k, GFP_USER);
    int nid = k.cpus.empty() ? 0 : k.cpus[k.current_cpu].node;
    uint64_t sum = 0;
    for (const ZoneRef& ref : k.nodes[nid].zonelist_fallback) {
        if (ref.zone_idx > highest) continue;
        const Zone& z = k.zone(ref.node, ref.zone_idx);
        uint64_t size = z.managed_pages;
        uint64_t high = z.high_wmark_pages();
        if (size > high) sum += size - high;
    }
    return sum;
}

void calculate_min_free_kbytes(Kernel& k) {
    uint64_t lowmem_kbytes = pages_to_kb(nr_free_buffer_pages(k));
    int new_min = static_cast<int>(int_sqrt(lowmem_kbytes * 16));
    if (new_min > k.vm.user_min_free_kbytes) {
        k.vm.min_free_kbytes = std::clamp(new_min, 128, 262144);
    } else {
        k.log.printk(
            k.clock.now(), LogLevel::Warning,
            fmt::format("min_free_kbytes is not updated to {} because user defined value {} is preferred",
                        new_min, k.vm.user_min_free_kbytes));
    }
}

void calculate_totalreserve_pages(Kernel& k) {
    uint64_t reserve_pages = 0;
    for (auto& node : k.nodes) {
        node.totalreserve_pages = 0;
        unsigned n = static_cast<unsigned>(node.node_zones.size());
        for (unsigned i = 0; i < n; i++) {
            const Zone& zone = node.node_zones[i];
            long max = 0;
            for (unsigned j = i; j < n; j++) max = std::max(max, zone.lowmem_reserve[j]);
            // The high watermark counts as reserved too.
            uint64_t reserve = static_cast<uint64_t>(max) + zone.high_wmark_pages();
            reserve = std::min(reserve, zone.managed_pages);
            node.totalreserve_pages += reserve;
            reserve_pages += reserve;
        }
    }
    k.totalreserve_pages = reserve_pages;
}

static void setup_per_zone_wmarks_locked(Kernel& k) {
    uint64_t pages_min = kb_to_pages(static_cast<uint64_t>(k.vm.min_free_kbytes));
    uint64_t lowmem_pages = 0;
    for (const auto& node : k.nodes)
        for (const auto& zone : node.node_zones)
            if (!zone.is_highmem() && zone.kind != ZoneKind::Movable) lowmem_pages += zone.managed_pages;

    for (auto& node : k.nodes) {
        for (auto& zone : node.node_zones) {
            uint64_t tmp = lowmem_pages ? pages_min * zone.managed_pages / lowmem_pages : 0;
            if (zone.is_highmem() || zone.kind == ZoneKind::Movable) {
                // Highmem and movable zones hardly need a reserve for
                // kernel allocations, but __GFP_HIGH and PF_MEMALLOC
                // allocations still want a few pages.
                uint64_t min_pages = std::clamp<uint64_t>(zone.managed_pages / 1024, 32, 128);
                zone.watermark[WMARK_MIN] = min_pages;
            } else {
                zone.watermark[WMARK_MIN] = tmp;
            }
            // mult_frac(managed, watermark_scale_factor, 10000)
            uint64_t wsf = static_cast<uint64_t>(k.vm.watermark_scale_factor);
            uint64_t scaled = (zone.managed_pages / 10000) * wsf + (zone.managed_pages % 10000) * wsf / 10000;
            tmp = std::max(tmp >> 2, scaled);
            zone.watermark_boost = 0;
            zone.watermark[WMARK_LOW] = zone.watermark[WMARK_MIN] + tmp;
            zone.watermark[WMARK_HIGH] = zone.watermark[WMARK_LOW] + tmp;
            zone.watermark[WMARK_PROMO] = zone.watermark[WMARK_HIGH] + tmp;
        }
    }
    calculate_totalreserve_pages(k);
}

void setup_per_zone_wmarks(Kernel& k) {
    setup_per_zone_wmarks_locked(k);
    // The pcp high limits follow the low watermark.
    for (auto& node : k.nodes)
        for (auto& zone : node.node_zones)
            if (zone.populated()) zone_pcp_update(k, zone, 0);
}

void setup_per_zone_lowmem_reserve(Kernel& k) {
    for (auto& node : k.nodes) {
        unsigned n = static_cast<unsigned>(node.node_zones.size());
        for (unsigned i = 0; i + 1 < n; i++) {
            Zone& zone = node.node_zones[i];
            int ratio = k.vm.lowmem_reserve_ratio[i];
            bool clear = !ratio || !zone.managed_pages;
            uint64_t managed = 0;
            for (unsigned j = i + 1; j < n; j++) {
                managed += node.node_zones[j].managed_pages;
                zone.lowmem_reserve[j] =
                    clear ? 0 : static_cast<long>(managed / static_cast<uint64_t>(ratio));
            }
        }
    }
    calculate_totalreserve_pages(k);
}

void init_per_zone_wmark_min(Kernel& k) {
    calculate_min_free_kbytes(k);
    setup_per_zone_wmarks(k);
    refresh_zone_stat_thresholds(k);
    setup_per_zone_lowmem_reserve(k);
}

void min_free_kbytes_changed(Kernel& k) {
    k.vm.user_min_free_kbytes = k.vm.min_free_kbytes;
    setup_per_zone_wmarks(k);
}

void watermark_scale_factor_changed(Kernel& k) { setup_per_zone_wmarks(k); }

void lowmem_reserve_ratio_changed(Kernel& k) {
    for (unsigned i = 0; i < k.nr_zone_types(); i++)
        if (k.vm.lowmem_reserve_ratio[i] < 1) k.vm.lowmem_reserve_ratio[i] = 0;
    setup_per_zone_lowmem_reserve(k);
}

void percpu_pagelist_high_fraction_changed(Kernel& k) {
    for (auto& node : k.nodes)
        for (auto& zone : node.node_zones)
            if (zone.populated()) zone_pcp_update(k, zone, 0);
}

// __zone_watermark_unusable_free()
static long watermark_unusable_free(const Zone& z, unsigned order, unsigned alloc_flags) {
    long unusable = (1L << order) - 1;
    // Without rights to the reserves, the highatomic reserve is not usable.
    if (!(alloc_flags & ALLOC_RESERVES)) unusable += static_cast<long>(z.nr_free_highatomic);
    // Nor is CMA for allocations that cannot use it.
    if (!(alloc_flags & ALLOC_CMA)) unusable += static_cast<long>(z.page_state(NR_FREE_CMA));
    return unusable;
}

bool zone_watermark_ok(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx,
                       unsigned alloc_flags, long free_pages) {
    long min = static_cast<long>(mark);
    free_pages -= watermark_unusable_free(z, order, alloc_flags);
    if (alloc_flags & ALLOC_RESERVES) {
        // __GFP_HIGH may use half of the min reserve ...
        if (alloc_flags & ALLOC_MIN_RESERVE) {
            min -= min / 2;
            // ... and a caller that cannot block a quarter more.
            if (alloc_flags & ALLOC_NON_BLOCK) min -= min / 4;
        }
        // OOM victims try harder still.
        if (alloc_flags & ALLOC_OOM) min -= min / 2;
    }
    if (free_pages <= min + z.lowmem_reserve[highest_zoneidx]) return false;
    if (!order) return true;
    // A high-order request also needs a free block of that order.
    for (unsigned o = order; o < NR_PAGE_ORDERS; o++) {
        const FreeArea& area = z.free_area[o];
        if (!area.nr_free) continue;
        for (unsigned mt = 0; mt < MIGRATE_PCPTYPES; mt++)
            if (!area.free_list[mt].empty()) return true;
        if ((alloc_flags & ALLOC_CMA) && !area.free_list[MIGRATE_CMA].empty()) return true;
        if ((alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) && !area.free_list[MIGRATE_HIGHATOMIC].empty())
            return true;
    }
    return false;
}

bool zone_watermark_ok_safe(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx) {
    return zone_watermark_ok(z, order, mark, highest_zoneidx, 0, z.page_state(NR_FREE_PAGES));
}

bool boost_watermark(Kernel& k, Zone& zone) {
    if (!k.vm.watermark_boost_factor) return false;
    // Small zones (and kdump kernels) could go OOM from the boost alone.
    if (pageblock_nr_pages * 4 > zone.managed_pages) return false;
    uint64_t f = static_cast<uint64_t>(k.vm.watermark_boost_factor);
    uint64_t high = zone.watermark[WMARK_HIGH];
    uint64_t max_boost = (high / 10000) * f + (high % 10000) * f / 10000;
    // An uninitialised high watermark (very early boot): do not boost.
    if (!max_boost) return false;
    max_boost = std::max<uint64_t>(pageblock_nr_pages, max_boost);
    zone.watermark_boost = std::min(zone.watermark_boost + pageblock_nr_pages, max_boost);
    return true;
}

}  // namespace mmsim
