// Allocating: the zonelist walk, the slow path and how failure looks
// (mm/page_alloc.c: __alloc_frozen_pages, get_page_from_freelist,
// __alloc_pages_slowpath, warn_alloc).
//
// An allocation first tries the fast path: walk the zonelist (this node's
// zones from the highest the GFP mask allows down, then other nodes'), and
// take pages from the first zone whose free pages stay above its LOW
// watermark plus the lowmem reserve against the requested zone. Normal-zone
// allocations also carry ALLOC_NOFRAGMENT, which refuses to split other
// migratetypes' pageblocks until every zone has been tried once.
//
// If that fails, the slow path lowers the bar to MIN, wakes kswapd, tries
// again, then (for callers that may sleep) tries direct compaction and
// direct reclaim, retries while reclaim makes progress, and finally invokes
// the OOM killer. What is left to the caller:
//
//   __GFP_NORETRY         give up after one round of reclaim/compaction
//   costly order (> 3)    give up unless __GFP_RETRY_MAYFAIL
//   __GFP_RETRY_MAYFAIL   retry, but never invoke the OOM killer
//   __GFP_NOFAIL          never give up
//   no __GFP_DIRECT_RECLAIM (GFP_ATOMIC, GFP_NOWAIT): fail at once, but
//                         dig deeper into the reserves (ALLOC_NON_BLOCK)
//
// A failed allocation prints the kernel's "page allocation failure" report
// unless __GFP_NOWARN. Reclaim, compaction and the OOM killer are hooks
// (ReclaimHooks) that later subsystems fill; until then they report no
// progress, and an OOM with no process to kill ends the way the kernel
// ends it: "Out of memory and no killable processes...", then a panic.
#include <fmt/format.h>

#include <stdexcept>

#include "mm/compaction.h"
#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/page_alloc_pcp.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

constexpr int MAX_RECLAIM_RETRIES = 16;

struct AllocContext {
    int nid = 0;
    const std::vector<ZoneRef>* zonelist = nullptr;
    unsigned highest_zoneidx = 0;
    unsigned migratetype = 0;
    // The first zone of the zonelist usable by this request.
    const ZoneRef* preferred = nullptr;
};

// first_zones_zonelist(), from the table setup_alloc_fastpath() built.
const ZoneRef* first_zone(const Kernel& k, const AllocContext& ac, bool thisnode) {
    const PglistData& node = k.nodes[ac.nid];
    int i = (thisnode ? node.first_nofallback : node.first_fallback)[ac.highest_zoneidx];
    return i < 0 ? nullptr : &(*ac.zonelist)[static_cast<unsigned>(i)];
}

unsigned alloc_flags_nofragment(const Kernel& k, const Zone* zone, gfp_t gfp) {
    unsigned alloc_flags = gfp & __GFP_KSWAPD_RECLAIM;  // == ALLOC_KSWAPD
    if (k.vm.defrag_mode) return alloc_flags | ALLOC_NOFRAGMENT;
    // Only with a DMA32 zone below Normal: avoid fragmenting Normal while
    // DMA32 still has whole pageblocks (on NUMA only if DMA32 is populated).
    if (zone && zone->nofragment_eligible) alloc_flags |= ALLOC_NOFRAGMENT;
    return alloc_flags;
}

unsigned gfp_to_alloc_flags_cma(gfp_t gfp, unsigned alloc_flags) {
    if (gfp_migratetype(gfp) == MIGRATE_MOVABLE) alloc_flags |= ALLOC_CMA;
    return alloc_flags;
}

unsigned gfp_to_alloc_flags(const Kernel& k, gfp_t gfp, unsigned order) {
    unsigned alloc_flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;
    // __GFP_HIGH == ALLOC_MIN_RESERVE and __GFP_KSWAPD_RECLAIM == ALLOC_KSWAPD.
    alloc_flags |= gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM);
    if (!(gfp & __GFP_DIRECT_RECLAIM)) {
        if (!(gfp & __GFP_NOMEMALLOC)) {
            alloc_flags |= ALLOC_NON_BLOCK;
            if (order > 0 && (alloc_flags & ALLOC_MIN_RESERVE)) alloc_flags |= ALLOC_HIGHATOMIC;
        }
        if (alloc_flags & ALLOC_MIN_RESERVE) alloc_flags &= ~ALLOC_CPUSET;
    }
    alloc_flags = gfp_to_alloc_flags_cma(gfp, alloc_flags);
    if (k.vm.defrag_mode) alloc_flags |= ALLOC_NOFRAGMENT;
    return alloc_flags;
}

void zone_statistics(Kernel& k, Zone& preferred, Zone& z) {
    int local_nid = k.cpus.empty() ? 0 : k.cpus[k.current_cpu].node;
    NumaStatItem local_stat = z.node != local_nid ? NUMA_OTHER : NUMA_LOCAL;
    if (z.node == preferred.node) {
        z.vm_numa_event[NUMA_HIT]++;
    } else {
        z.vm_numa_event[NUMA_MISS]++;
        preferred.vm_numa_event[NUMA_FOREIGN]++;
    }
    z.vm_numa_event[local_stat]++;
}

VmEventItem pgalloc_item(const Zone& z) {
    switch (z.kind) {
        case ZoneKind::DMA:
            return PGALLOC_DMA;
        case ZoneKind::DMA32:
            return PGALLOC_DMA32;
        case ZoneKind::Normal:
            return PGALLOC_NORMAL;
        case ZoneKind::HighMem:
            return PGALLOC_NORMAL;  // no highmem counter on x86-64's list
        case ZoneKind::Movable:
            return PGALLOC_MOVABLE;
        case ZoneKind::Device:
            return PGALLOC_DEVICE;
    }
    return PGALLOC_NORMAL;
}

void wakeup_kswapd(Kernel& k, Zone& zone, gfp_t gfp, unsigned order, unsigned highest_zoneidx) {
    auto& hooks = reclaim_hooks(k);
    if (hooks.wake_kswapd) hooks.wake_kswapd(k, zone, gfp, order, highest_zoneidx);
}

void wake_all_kswapds(Kernel& k, unsigned order, gfp_t gfp, const AllocContext& ac) {
    unsigned reclaim_order = k.vm.defrag_mode ? std::max(order, pageblock_order) : order;
    int last_node = -1;
    for (const ZoneRef& ref : *ac.zonelist) {
        if (ref.zone_idx > ac.highest_zoneidx) continue;
        Zone& zone = k.zone(ref.node, ref.zone_idx);
        if (!zone.managed() || last_node == zone.node) continue;
        wakeup_kswapd(k, zone, gfp, reclaim_order, ac.highest_zoneidx);
        last_node = zone.node;
    }
}

// rmqueue_buddy(): the zone's free lists, then the highatomic reserve.
[[gnu::noinline]] MaybePfn rmqueue_buddy(Kernel& k, Zone& zone, unsigned order, unsigned alloc_flags,
                                         unsigned migratetype) {
    MaybePfn page;
    if (alloc_flags & ALLOC_HIGHATOMIC) page = rmqueue_smallest_type(k, zone, order, MIGRATE_HIGHATOMIC);
    if (!page) {
        page = rmqueue_buddy_block(k, zone, order, migratetype, alloc_flags);
        // Failing now is worse than failing a future high-order
        // atomic allocation: dip into the highatomic reserve.
        if (!page && (alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK)))
            page = rmqueue_smallest_type(k, zone, order, MIGRATE_HIGHATOMIC);
    }
    return page;
}

// rmqueue(): pcp lists for small orders, the buddy otherwise.
inline MaybePfn rmqueue(Kernel& k, Zone& preferred, Zone& zone, unsigned order, unsigned alloc_flags,
                        unsigned migratetype) {
    MaybePfn page;
    if (pcp_allowed_order(order)) [[likely]]
        page = rmqueue_pcplist(k, zone, zone.pcp[k.current_cpu], order, migratetype, alloc_flags);
    if (!page) [[unlikely]]
        page = rmqueue_buddy(k, zone, order, alloc_flags, migratetype);
    if (page) [[likely]] {
        k.count_event(static_cast<VmEventItem>(zone.pgalloc_event), uint64_t{1} << order);
        zone_statistics(k, preferred, zone);
    }
    if ((alloc_flags & ALLOC_KSWAPD) && (zone.flags & ZONE_BOOSTED_WATERMARK)) [[unlikely]]
        wake_boosted_kswapd(k, zone);
    return page;
}

bool zone_watermark_slow(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx,
                         unsigned alloc_flags, long free_pages);

// zone_watermark_fast(): for order 0, one comparison of the usable free
// pages; otherwise (or when that fails) the full zone_watermark_ok().
inline bool zone_watermark_fast(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx,
                                unsigned alloc_flags) {
    long free_pages = z.page_state(NR_FREE_PAGES);
    if (!order) {
        long usable = free_pages;
        long reserved = static_cast<long>(z.nr_free_highatomic) * !(alloc_flags & ALLOC_RESERVES) +
                        (alloc_flags & ALLOC_CMA ? 0 : z.page_state(NR_FREE_CMA));
        usable -= std::min(usable, reserved);
        if (usable > static_cast<long>(mark) + z.lowmem_reserve[highest_zoneidx]) [[likely]]
            return true;
    }
    return zone_watermark_slow(z, order, mark, highest_zoneidx, alloc_flags, free_pages);
}

[[gnu::noinline]] bool zone_watermark_slow(const Zone& z, unsigned order, uint64_t mark,
                                           unsigned highest_zoneidx, unsigned alloc_flags, long free_pages) {
    if (zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages)) return true;
    // __GFP_HIGH order-0 requests ignore the boost at the min watermark.
    if (!order && (alloc_flags & ALLOC_MIN_RESERVE) && z.watermark_boost &&
        (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN)
        return zone_watermark_ok(z, order, z.watermark[WMARK_MIN], highest_zoneidx, alloc_flags, free_pages);
    return false;
}

// gfp matters here for dirty-page spreading (__GFP_WRITE) and node
// reclaim, which arrive with the writeback and NUMA issues. Inlined into
// alloc_pages()'s first attempt; the slow path calls the copy below.
[[gnu::always_inline]] inline MaybePfn get_page_from_freelist_inline(Kernel& k, gfp_t gfp, unsigned order,
                                                                     unsigned alloc_flags,
                                                                     const AllocContext& ac) {
    (void)gfp;
    for (;;) {
        bool no_fallback = alloc_flags & ALLOC_NOFRAGMENT;
        bool restart = false;
        if (!ac.preferred) [[unlikely]]
            return std::nullopt;
        Zone& preferred = *ac.preferred->zone;
        // The walk starts at the preferred zone (for_next_zone_zonelist_nodemask).
        const ZoneRef* end = ac.zonelist->data() + ac.zonelist->size();
        for (const ZoneRef* it = ac.preferred; it != end; ++it) {
            const ZoneRef& ref = *it;
            if (ref.zone_idx > ac.highest_zoneidx) continue;
            Zone& zone = *ref.zone;
            if (!zone.managed()) [[unlikely]]
                continue;
            // Locality beats fragmentation avoidance: before going to
            // another node, retry allowing fallbacks.
            if (no_fallback && k.nodes.size() > 1 && &zone != &preferred && zone.node != preferred.node) {
                alloc_flags &= ~ALLOC_NOFRAGMENT;
                restart = true;
                break;
            }
            bool ok_to_try = false;
            if (!(zone.flags & ZONE_BELOW_HIGH)) [[likely]] {
                if (zone_watermark_fast(zone, order, zone.high_wmark_pages(), ac.highest_zoneidx,
                                        alloc_flags))
                    ok_to_try = true;
                else
                    zone.flags |= ZONE_BELOW_HIGH;
            }
            if (!ok_to_try) [[unlikely]] {
                uint64_t mark = zone.wmark_pages(static_cast<WmarkIdx>(alloc_flags & ALLOC_WMARK_MASK));
                if (!zone_watermark_fast(zone, order, mark, ac.highest_zoneidx, alloc_flags)) {
                    if (!(alloc_flags & ALLOC_NO_WATERMARKS)) continue;  // node_reclaim comes later
                }
            }
            auto page = rmqueue(k, preferred, zone, order, alloc_flags, ac.migratetype);
            if (page) [[likely]]
                return page;
        }
        if (restart) continue;
        // On a single node every zone may be fragmented: try once more
        // allowing fallbacks.
        if (no_fallback) {
            alloc_flags &= ~ALLOC_NOFRAGMENT;
            continue;
        }
        return std::nullopt;
    }
}

[[gnu::noinline]] MaybePfn get_page_from_freelist(Kernel& k, gfp_t gfp, unsigned order, unsigned alloc_flags,
                                                  const AllocContext& ac) {
    return get_page_from_freelist_inline(k, gfp, order, alloc_flags, ac);
}

std::string nodemask_string(const Kernel& k) {
    // %*pbl of mems_allowed: "0" or "0-3".
    if (k.nodes.size() == 1) return "0";
    return fmt::format("0-{}", k.nodes.size() - 1);
}

void warn_alloc(Kernel& k, gfp_t gfp, unsigned order) {
    if (gfp & __GFP_NOWARN) return;
    auto pr = [&](LogLevel l, std::string s) { k.log.printk(k.clock.now(), l, std::move(s)); };
    pr(LogLevel::Warning,
       fmt::format(
           "{}: page allocation failure: order:{}, mode:{:#x}({}), nodemask=(null),cpuset=/,mems_allowed={}",
           k.current_comm, order, gfp, gfp_flags_string(gfp), nodemask_string(k)));
    pr(LogLevel::Warning, fmt::format("CPU: {} UID: 0 PID: {} Comm: {} Not tainted {} #1", k.current_cpu,
                                      k.current_pid, k.current_comm, k.kernel_release));
    pr(LogLevel::Warning, "Hardware name: mmsim simulated machine");
    pr(LogLevel::Warning, "Call Trace:");
    pr(LogLevel::Warning, " <TASK>");
    for (const char* fn : {"dump_stack_lvl", "warn_alloc", "__alloc_pages_slowpath",
                           "__alloc_frozen_pages_noprof", "alloc_pages_mpol", "alloc_pages_noprof"})
        pr(LogLevel::Warning, fmt::format("  {}", fn));
    pr(LogLevel::Warning, " </TASK>");
    show_mem(k);
}

// out_of_memory() when no OOM killer is installed: nothing is killable
// (there are no user processes at this layer), and the kernel cannot
// survive that for a system-wide allocation.
bool default_out_of_memory(Kernel& k, gfp_t gfp, unsigned order) {
    auto pr = [&](LogLevel l, std::string s) { k.log.printk(k.clock.now(), l, std::move(s)); };
    // A GFP_NOFS allocation does not kill; it claims progress and retries.
    if (!(gfp & __GFP_FS)) return true;
    pr(LogLevel::Warning, fmt::format("{} invoked oom-killer: gfp_mask={:#x}({}), order={}, oom_score_adj=0",
                                      k.current_comm, gfp, gfp_flags_string(gfp), order));
    show_mem(k);
    pr(LogLevel::Warning, "Out of memory and no killable processes...");
    pr(LogLevel::Emerg, "Kernel panic - not syncing: System is deadlocked on memory");
    throw KernelPanic("System is deadlocked on memory");
}

// __alloc_pages_may_oom()
MaybePfn alloc_pages_may_oom(Kernel& k, gfp_t gfp, unsigned order, const AllocContext& ac,
                             bool* did_some_progress) {
    *did_some_progress = false;
    // A last try at a very high watermark catches a parallel OOM kill.
    auto page =
        get_page_from_freelist(k, gfp & ~__GFP_DIRECT_RECLAIM, order, ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac);
    if (page) return page;
    // The OOM killer does not help costly orders, lowmem-only requests, or
    // callers that asked it not to run.
    if (order > PAGE_ALLOC_COSTLY_ORDER) return std::nullopt;
    int normal = k.zone_index_of(ZoneKind::Normal);
    if (static_cast<int>(ac.highest_zoneidx) < normal) return std::nullopt;
    if (gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE)) return std::nullopt;
    auto& hooks = reclaim_hooks(k);
    bool progress =
        hooks.out_of_memory ? hooks.out_of_memory(k, gfp, order) : default_out_of_memory(k, gfp, order);
    *did_some_progress = progress;
    return std::nullopt;
}

// should_reclaim_retry(): keep going while reclaim could still make the
// allocation succeed.
bool should_reclaim_retry(Kernel& k, unsigned order, const AllocContext& ac, unsigned alloc_flags,
                          bool did_some_progress, int* no_progress_loops) {
    if (did_some_progress && order <= PAGE_ALLOC_COSTLY_ORDER)
        *no_progress_loops = 0;
    else
        (*no_progress_loops)++;
    if (*no_progress_loops > MAX_RECLAIM_RETRIES) return false;
    for (const ZoneRef& ref : *ac.zonelist) {
        if (ref.zone_idx > ac.highest_zoneidx) continue;
        const Zone& zone = k.zone(ref.node, ref.zone_idx);
        // zone_reclaimable_pages(): nothing is on the LRU lists yet.
        long reclaimable = 0;
        long available = reclaimable + zone.page_state(NR_FREE_PAGES);
        if (zone_watermark_ok(zone, order, zone.min_wmark_pages(), ac.highest_zoneidx, alloc_flags,
                              available))
            return true;
    }
    return false;
}

// __alloc_pages_direct_compact(): compact, then try the free lists again.
MaybePfn alloc_pages_direct_compact(Kernel& k, gfp_t gfp, unsigned order, unsigned alloc_flags,
                                    const AllocContext& ac, int prio, CompactResult* result) {
    if (!order) return std::nullopt;
    *result = try_to_compact_pages(k, gfp, order, alloc_flags, ac.highest_zoneidx, ac.nid,
                                   (gfp & __GFP_THISNODE) != 0, prio);
    if (*result == CompactResult::Skipped) return std::nullopt;
    k.count_event(COMPACT_STALL);
    // No capture here (see compaction.cpp): the block compaction freed is
    // on the free lists.
    if (auto page = get_page_from_freelist(k, gfp, order, alloc_flags, ac)) {
        Zone& zone = pfn_zone(k, *page);
        zone.compact_blockskip_flush = false;
        compaction_defer_reset(zone, order, true);
        k.count_event(COMPACT_SUCCESS);
        return page;
    }
    k.count_event(COMPACT_FAIL);
    return std::nullopt;
}

// compaction_zonelist_suitable(): would compaction in some zone have
// enough free memory (counting what reclaim could free) to work with?
bool compaction_zonelist_suitable(Kernel& k, const AllocContext& ac, unsigned order, unsigned alloc_flags) {
    for (const ZoneRef& ref : *ac.zonelist) {
        if (ref.zone_idx > ac.highest_zoneidx) continue;
        const Zone& zone = *ref.zone;
        if (!zone.managed()) continue;
        // zone_reclaimable_pages() is 0 without an LRU: only free memory.
        if (compaction_suitable(k, zone, order, ac.highest_zoneidx, alloc_flags)) return true;
    }
    return false;
}

// should_compact_retry(): after reclaim made progress, is another round of
// compaction (at a higher priority) worth it?
bool should_compact_retry(Kernel& k, const AllocContext& ac, unsigned order, unsigned alloc_flags,
                          CompactResult result, int* prio, int* retries) {
    if (!order) return false;
    // Skipped for want of free targets: worth it if reclaim can help.
    if (result == CompactResult::Skipped) return compaction_zonelist_suitable(k, ac, order, alloc_flags);
    // Compaction made a block but the allocation lost it: retry a few
    // times (a quarter as many for costly orders, which may fail).
    if (result == CompactResult::Success) {
        int max_retries = static_cast<int>(MAX_COMPACT_RETRIES);
        if (order > PAGE_ALLOC_COSTLY_ORDER) max_retries /= 4;
        if (++*retries <= max_retries) return true;
    }
    // Otherwise raise the priority, down to the lowest allowed.
    int min_priority = order > PAGE_ALLOC_COSTLY_ORDER ? MIN_COMPACT_COSTLY_PRIORITY : MIN_COMPACT_PRIORITY;
    if (*prio > min_priority) {
        (*prio)--;
        *retries = 0;
        return true;
    }
    return false;
}

MaybePfn alloc_pages_slowpath(Kernel& k, gfp_t gfp, unsigned order, AllocContext& ac) {
    bool can_direct_reclaim = gfp & __GFP_DIRECT_RECLAIM;
    bool costly_order = order > PAGE_ALLOC_COSTLY_ORDER;
    auto& hooks = reclaim_hooks(k);
    int no_progress_loops = 0;
    uint64_t did_some_progress = 0;
    // gfp_compaction_allowed(): compaction may need I/O.
    const bool can_compact = (gfp & __GFP_IO) != 0;
    CompactResult compact_result = CompactResult::Skipped;
    int compact_priority = DEF_COMPACT_PRIORITY;
    int compaction_retries = 0;

    unsigned alloc_flags = gfp_to_alloc_flags(k, gfp, order);
    if (alloc_flags & ALLOC_KSWAPD) wake_all_kswapds(k, order, gfp, ac);
    if (auto page = get_page_from_freelist(k, gfp, order, alloc_flags, ac)) return page;

    // Costly or unmovable high-order requests try (async) compaction
    // before reclaim, unless they may ignore the watermarks anyway.
    if (can_direct_reclaim && can_compact &&
        (costly_order || (order > 0 && ac.migratetype != MIGRATE_MOVABLE)) &&
        !((gfp & __GFP_MEMALLOC) && !(gfp & __GFP_NOMEMALLOC))) {
        if (auto page = alloc_pages_direct_compact(k, gfp, order, alloc_flags, ac, INIT_COMPACT_PRIORITY,
                                                   &compact_result))
            return page;
        if (costly_order && (gfp & __GFP_NORETRY)) {
            // Whole pageblocks that compaction could not even try for:
            // reclaim will not make them.
            if (compact_result == CompactResult::Skipped || compact_result == CompactResult::Deferred)
                goto nopage;
            compact_priority = INIT_COMPACT_PRIORITY;
        }
    }

    for (;;) {
        if (alloc_flags & ALLOC_KSWAPD) wake_all_kswapds(k, order, gfp, ac);
        // __gfp_pfmemalloc_flags(): __GFP_MEMALLOC ignores the watermarks
        // (tasks in reclaim, PF_MEMALLOC, come with the reclaim issue).
        if ((gfp & __GFP_MEMALLOC) && !(gfp & __GFP_NOMEMALLOC))
            alloc_flags = gfp_to_alloc_flags_cma(gfp, ALLOC_NO_WATERMARKS) | (alloc_flags & ALLOC_KSWAPD);
        if (auto page = get_page_from_freelist(k, gfp, order, alloc_flags, ac)) return page;
        if (!can_direct_reclaim) goto nopage;

        did_some_progress =
            hooks.direct_reclaim ? hooks.direct_reclaim(k, gfp, order, ac.highest_zoneidx) : 0;
        if (did_some_progress) {
            k.count_event(ALLOCSTALL_NORMAL, 1);
            if (auto page = get_page_from_freelist(k, gfp, order, alloc_flags, ac)) return page;
        }
        if (can_direct_reclaim) {
            if (auto page = alloc_pages_direct_compact(k, gfp, order, alloc_flags, ac, compact_priority,
                                                       &compact_result))
                return page;
        }
        if (gfp & __GFP_NORETRY) goto nopage;
        if (costly_order && (!can_compact || !(gfp & __GFP_RETRY_MAYFAIL))) goto nopage;
        if (should_reclaim_retry(k, order, ac, alloc_flags, did_some_progress > 0, &no_progress_loops))
            continue;
        // Compaction needs free memory; without reclaim progress another
        // round would find the same.
        if (did_some_progress > 0 && can_compact &&
            should_compact_retry(k, ac, order, alloc_flags, compact_result, &compact_priority,
                                 &compaction_retries))
            continue;

        bool oom_progress = false;
        if (auto page = alloc_pages_may_oom(k, gfp, order, ac, &oom_progress)) return page;
        if (oom_progress) {
            no_progress_loops = 0;
            continue;
        }
        break;
    }

nopage:
    if (gfp & __GFP_NOFAIL) {
        // The kernel loops forever here; with nothing left to reclaim or
        // kill, a simulated machine would hang. Report it as the kernel's
        // OOM panic would end it.
        if (!can_direct_reclaim) {
            k.log.printk(k.clock.now(), LogLevel::Warning,
                         "WARNING: __GFP_NOFAIL allocation without __GFP_DIRECT_RECLAIM cannot be satisfied");
        } else if (auto page =
                       get_page_from_freelist(k, gfp, order, ALLOC_MIN_RESERVE | ALLOC_WMARK_MIN, ac)) {
            return page;
        }
        return default_out_of_memory(k, gfp | __GFP_FS, order) ? std::nullopt : std::nullopt;
    }
    warn_alloc(k, gfp, order);
    return std::nullopt;
}

// prep_compound_page()
[[gnu::noinline]] void prep_compound_page(MemMap& mm, uint64_t pfn, unsigned order) {
    Page& head = mm[pfn];
    head.set(PG_head);
    head.order = static_cast<uint8_t>(order);
    for (uint64_t i = 1; i < (uint64_t{1} << order); i++) mm[pfn + i].set(PG_tail);
}

inline void prep_new_page(Kernel& k, uint64_t pfn, unsigned order, gfp_t gfp) {
    MemMap& mm = *k.mem_map;
    mm[pfn].refcount = 1;
    // The migratetype byte of the free list becomes the folio flags, clear.
    mm[pfn].mt = 0;
    if ((gfp & __GFP_COMP) && order) prep_compound_page(mm, pfn, order);
}

[[gnu::cold, gnu::noinline]] MaybePfn alloc_order_too_large(Kernel& k, gfp_t gfp, unsigned order) {
    // The kernel warns once and fails: "WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER)".
    if (!(gfp & __GFP_NOWARN))
        k.log.printk(k.clock.now(), LogLevel::Warning,
                     fmt::format("WARNING: allocation of order {} exceeds MAX_PAGE_ORDER ({})", order,
                                 MAX_PAGE_ORDER));
    return std::nullopt;
}

[[gnu::cold, gnu::noinline]] void bad_free(Pfn pfn) {
    throw std::logic_error(fmt::format("free_pages: pfn {:#x} is not an allocated page", pfn.value));
}

// The compound page's tails lose PG_tail and its head PG_head.
[[gnu::noinline]] void free_compound_page_flags(MemMap& mm, Pfn pfn, unsigned order) {
    for (uint64_t i = 1; i < (uint64_t{1} << order); i++) mm[pfn.value + i].clear(PG_tail);
    mm[pfn.value].clear(PG_head);
}

[[gnu::noinline]] void free_isolated_page(Kernel& k, Zone& zone, Pfn pfn, unsigned order) {
    free_one_page(k, zone, pfn, order, MIGRATE_ISOLATE);
    k.count_event(PGFREE, uint64_t{1} << order);
}

// get_page_from_freelist()'s first step in its most common outcome: the
// preferred zone is above its high watermark and this CPU's pcp list for
// the request has a page. Every condition is decided before anything is
// written, so when one fails, alloc_frozen_pages() starts from the same
// state and takes the general road; when all hold, the updates are the
// general path's own (rmqueue()), in the same order.
[[gnu::always_inline]] inline MaybePfn alloc_pages_pcp_fast(Kernel& k, gfp_t gfp, unsigned order, int nid) {
    if (!pcp_allowed_order(order)) return std::nullopt;
    if (nid < 0) nid = k.cpus.empty() ? 0 : k.cpus[k.current_cpu].node;
    const PglistData& node = k.nodes[nid];
    unsigned highest_zoneidx = gfp_zone(k, gfp);
    bool thisnode = gfp & __GFP_THISNODE;
    int first = (thisnode ? node.first_nofallback : node.first_fallback)[highest_zoneidx];
    if (first < 0) [[unlikely]]
        return std::nullopt;
    Zone& zone =
        *(thisnode ? node.zonelist_nofallback : node.zonelist_fallback)[static_cast<unsigned>(first)].zone;
    if (!zone.managed() || (zone.flags & ZONE_BELOW_HIGH)) [[unlikely]]
        return std::nullopt;
    unsigned migratetype = gfp_migratetype(gfp);
    unsigned alloc_flags =
        gfp_to_alloc_flags_cma(gfp, ALLOC_WMARK_LOW) | alloc_flags_nofragment(k, &zone, gfp);
    if (!zone_watermark_fast(zone, order, zone.high_wmark_pages(), highest_zoneidx, alloc_flags)) [[unlikely]]
        return std::nullopt;
    if (zone.pcp[k.current_cpu].lists[order_to_pindex(migratetype, order)].empty()) [[unlikely]]
        return std::nullopt;
    return rmqueue(k, zone, zone, order, alloc_flags, migratetype);
}

// __alloc_frozen_pages(): prepare_alloc_pages(), the first pass over the
// zonelist, then the slow path.
[[gnu::noinline]] MaybePfn alloc_frozen_pages(Kernel& k, gfp_t gfp, unsigned order, int nid) {
    if (order > MAX_PAGE_ORDER) [[unlikely]]
        return alloc_order_too_large(k, gfp, order);
    AllocContext ac;
    ac.nid = nid >= 0 ? nid : (k.cpus.empty() ? 0 : k.cpus[k.current_cpu].node);
    ac.zonelist =
        (gfp & __GFP_THISNODE) ? &k.nodes[ac.nid].zonelist_nofallback : &k.nodes[ac.nid].zonelist_fallback;
    ac.highest_zoneidx = gfp_zone(k, gfp);
    ac.migratetype = gfp_migratetype(gfp);
    ac.preferred = first_zone(k, ac, gfp & __GFP_THISNODE);

    unsigned alloc_flags = ALLOC_WMARK_LOW;
    alloc_flags = gfp_to_alloc_flags_cma(gfp, alloc_flags);
    const Zone* pz = ac.preferred ? ac.preferred->zone : nullptr;
    alloc_flags |= alloc_flags_nofragment(k, pz, gfp);

    auto page = get_page_from_freelist_inline(k, gfp, order, alloc_flags, ac);
    if (!page) [[unlikely]]
        page = alloc_pages_slowpath(k, gfp, order, ac);
    if (page) [[likely]]
        prep_new_page(k, page->value, order, gfp);
    if (k.debug_vm) [[unlikely]]
        debug_check_page_alloc(k);
    return page;
}

}  // namespace

void wake_boosted_kswapd(Kernel& k, Zone& zone) {
    zone.flags &= ~ZONE_BOOSTED_WATERMARK;
    wakeup_kswapd(k, zone, 0, 0, zone.idx);
}

MaybePfn alloc_pages_general(Kernel& k, gfp_t gfp, unsigned order, int nid) {
    if (auto page = alloc_pages_pcp_fast(k, gfp, order, nid)) [[likely]] {
        prep_new_page(k, page->value, order, gfp);
        if (alloc_debug_on(k)) [[unlikely]]
            alloc_debug_hooks(k, *page, order, gfp);
        return page;
    }
    MaybePfn page = alloc_frozen_pages(k, gfp, order, nid);
    if (page) set_page_owner(k, *page, order, gfp);
    return page;
}

void free_pages_general(Kernel& k, Pfn pfn, unsigned order) {
    MemMap& mm = *k.mem_map;
    Zone& zone = pfn_zone(k, pfn);
    Page& head = mm[pfn.value];
    if (head.flags & (PG_buddy | PG_pcp | PG_reserved)) [[unlikely]]
        bad_free(pfn);
    reset_page_owner(k, pfn, order);
    if (head.test(PG_head)) [[unlikely]]
        free_compound_page_flags(mm, pfn, order);
    head.refcount = 0;
    head.order = 0;
    if (!pcp_allowed_order(order)) [[unlikely]] {
        free_pages_ok(k, zone, pfn, order);
    } else {
        unsigned mt = get_pageblock_migratetype(zone, pfn);
        if (mt >= MIGRATE_PCPTYPES) [[unlikely]] {
            if (mt == MIGRATE_ISOLATE) {
                free_isolated_page(k, zone, pfn, order);
                if (k.debug_vm) debug_check_page_alloc(k);
                return;
            }
            mt = MIGRATE_MOVABLE;
        }
        free_frozen_page_commit(k, zone, zone.pcp[k.current_cpu], pfn, order, mt);
    }
    if (k.debug_vm) [[unlikely]]
        debug_check_page_alloc(k);
}

ReclaimHooks& reclaim_hooks(Kernel& k) { return *k.hooks; }

void setup_alloc_fastpath(Kernel& k) {
    setup_pageblock_table(k);
    int dma32 = k.zone_index_of(ZoneKind::DMA32);
    for (auto& node : k.nodes) {
        for (auto& zone : node.node_zones) {
            zone.pgalloc_event = static_cast<uint16_t>(pgalloc_item(zone));
            zone.nofragment_eligible =
                zone.kind == ZoneKind::Normal && dma32 >= 0 &&
                (k.nodes.size() == 1 || k.zone(zone.node, static_cast<unsigned>(dma32)).populated());
        }
        auto first = [&](const std::vector<ZoneRef>& list, std::array<int8_t, MAX_NR_ZONES_LIMIT>& out) {
            for (unsigned h = 0; h < MAX_NR_ZONES_LIMIT; h++) {
                out[h] = -1;
                for (std::size_t i = 0; i < list.size(); i++)
                    if (list[i].zone_idx <= h) {
                        out[h] = static_cast<int8_t>(i);
                        break;
                    }
            }
        };
        first(node.zonelist_fallback, node.first_fallback);
        first(node.zonelist_nofallback, node.first_nofallback);
        auto managed = [](Zone* z) { return z && z->managed() ? z : nullptr; };
        for (unsigned h = 0; h < MAX_NR_ZONES_LIMIT; h++) {
            int f = node.first_fallback[h], nf = node.first_nofallback[h];
            node.preferred_zone[0][h] =
                f < 0 ? nullptr : managed(node.zonelist_fallback[static_cast<unsigned>(f)].zone);
            node.preferred_zone[1][h] =
                nf < 0 ? nullptr : managed(node.zonelist_nofallback[static_cast<unsigned>(nf)].zone);
        }
    }
}

}  // namespace mmsim
