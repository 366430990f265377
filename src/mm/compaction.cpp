// Memory compaction (mm/compaction.c).
//
// After long use, free memory is plenty but scattered: every pageblock
// holds a few in-use pages, so no block of order 9 (2 MiB) is free even
// when hundreds of megabytes are. Compaction fixes that for movable memory
// by moving in-use pages from the bottom of a zone to free pages at its
// top, so the bottom empties into large free blocks:
//
//   zone start                                               zone end
//   |A . A A . . A .|. A . . A A . .|. . A . A . . A|A . . A . . A .|
//    migrate scanner ->                          <- free scanner
//   |. . . . . . . .|. . . . . . . .|A A A A A A A A|A A A A A A A A|
//
// Two scanners walk the zone a pageblock at a time:
//   - the migration scanner (isolate_migratepages) from the start, upwards,
//     isolates in-use movable pages, at most COMPACT_CLUSTER_MAX (32) at a
//     time; free pages it meets are skipped whole, anything else (kernel
//     pages, pinned pages) is a failure;
//   - the free scanner (isolate_freepages) from the end, downwards, takes
//     free buddy blocks out of the allocator (__isolate_free_page, which
//     refuses to go below the min watermark) as migration targets, only
//     from pageblocks that are movable (or CMA) and not already a whole
//     free pageblock;
//   - migrate_pages() moves the isolated pages to the isolated targets
//     (compaction_alloc takes the smallest free block of at least the
//     page's order and splits it lazily, compaction_free takes a target
//     back). The old frames go back to the allocator; when the migration
//     scanner leaves an order-aligned block, the per-CPU lists are drained
//     so the freed pages merge at once.
// Compaction stops when the scanners meet (COMPACT_COMPLETE if it scanned
// the whole zone, COMPACT_PARTIAL_SKIPPED if it started from cached
// positions), when a block of the requested order is free for the request's
// migratetype (or one it could fall back to) -- checked only at pageblock
// boundaries -- (COMPACT_SUCCESS), or when it ran out of targets
// (COMPACT_CONTENDED). `echo 1 > /proc/sys/vm/compact_memory` has no order
// (-1) and runs until the scanners meet, in every zone of every node.
//
// Modes. Direct compaction in the allocation slow path first runs async
// (COMPACT_PRIO_ASYNC): the migration scanner only looks at pageblocks of
// the request's own migratetype (movable requests: movable and CMA
// blocks), and a page that cannot be isolated abandons the order-aligned
// chunk it is in. Later priorities run sync-light, then sync-full with
// the skip hints ignored and the whole zone scanned.
//
// Memory between runs:
//   - each pageblock has a skip bit, set when a scanner found nothing
//     useful there; later runs pass it by until the bits are reset
//     (compaction restarting after deferral, or scanners meeting);
//   - each zone caches where the scanners stopped (separately for async
//     and sync migration), so the next run resumes rather than rescans;
//   - deferral: a run that fails (COMPLETE or PARTIAL_SKIPPED, not async)
//     doubles the number of future attempts skipped at that order or
//     above (compact_defer_shift, up to 6: 64 attempts), counted in
//     compact_considered; a success resets it.
//
// Whether to compact at all (compaction_suitable): the zone must have the
// order-0 watermark (min, or low for costly orders) plus twice the
// requested block free, since migration needs targets; and for costly
// orders the fragmentation index must exceed vm.extfrag_threshold (500):
// an index near 0 means the allocation fails for lack of memory, which
// compaction cannot fix, near 1000 that it fails for fragmentation.
//
// Counters (vmstat): compact_migrate_scanned and compact_free_scanned (pfns
// looked at by each scanner, free blocks counted whole), compact_isolated
// (pages isolated by both scanners), compact_stall (direct compaction
// attempts that ran), compact_success / compact_fail (whether the
// allocation then succeeded), pgmigrate_success / _fail (migrate.cpp).
//
// What this simulator does not model (yet):
//   - the fast searches (fast_find_migrateblock, fast_isolate_freepages)
//     that use the free lists to jump to promising pageblocks; both
//     scanners here are the linear ones the fast searches fall back to;
//   - capture (compaction_capture): the kernel hands the freed block
//     straight to the compacting task; here the allocation retries the
//     free lists after compaction, which finds the same block unless
//     someone else took it (nothing else runs in between);
//   - kswapd: wakeup_kcompactd() and kcompactd_do_work() are here (a
//     wakeup for an order records it and, if some zone is worth
//     compacting, runs the thread at once: sync-light compaction of every
//     zone up to the requested one that is not deferred, counting
//     compact_daemon_wake and the daemon's scanners), but nothing calls
//     them until kswapd exists, so compact_daemon_wake stays 0 in runs.
//     The proactive side runs by itself: every
//     node's kcompactd wakes every HPAGE_FRAG_CHECK_INTERVAL_MSEC (500 ms)
//     of simulated time, and if vm.compaction_proactiveness is set and
//     the node's fragmentation score (the zones' extfrag_for_order at
//     order 9, weighted by size) is above the high mark
//     (100 - proactiveness, at least 5, plus 10), compacts the node in
//     sync-light mode until the score falls below the low mark, counting
//     compact_daemon_migrate_scanned / _free_scanned; when the score did
//     not go down it waits 64 intervals. Writing a non-zero
//     compaction_proactiveness runs a round at once (the kernel wakes the
//     thread); the pending timer is kept rather than restarted;
//   - reclaim: there is none, so the slow path's should_compact_retry()
//     is never reached (the kernel asks it only after reclaim made
//     progress), and compaction runs only at the two points of the slow
//     path: async before the retry loop, then once at DEF_COMPACT_PRIORITY
//     (sync-light) in the loop; costly requests without
//     __GFP_RETRY_MAYFAIL give up after that.
#include "mm/compaction.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

uint64_t pageblock_start_pfn(uint64_t pfn) { return pfn & ~(pageblock_nr_pages - 1); }
uint64_t pageblock_end_pfn(uint64_t pfn) { return pageblock_start_pfn(pfn) + pageblock_nr_pages; }
bool pageblock_aligned(uint64_t pfn) { return (pfn & (pageblock_nr_pages - 1)) == 0; }
uint64_t block_end_pfn(uint64_t pfn, unsigned order) {
    return (pfn & ~((uint64_t{1} << order) - 1)) + (uint64_t{1} << order);
}
uint64_t block_start_pfn(uint64_t pfn, unsigned order) { return pfn & ~((uint64_t{1} << order) - 1); }

bool is_migrate_movable(unsigned mt) { return mt == MIGRATE_MOVABLE || mt == MIGRATE_CMA; }

std::size_t skip_index(const Zone& zone, uint64_t pfn) {
    return static_cast<std::size_t>(
        (pageblock_start_pfn(pfn) - pageblock_start_pfn(zone.zone_start_pfn.value)) >> pageblock_order);
}
bool get_pageblock_skip(const Zone& zone, uint64_t pfn) { return zone.pageblock_skip[skip_index(zone, pfn)]; }
void set_pageblock_skip(Zone& zone, uint64_t pfn) { zone.pageblock_skip[skip_index(zone, pfn)] = true; }

// The free blocks compaction has taken out of the allocator, by order
// (cc->freepages[]), heads only.
struct FreeTargets {
    std::array<std::vector<uint64_t>, NR_PAGE_ORDERS> by_order;
};

struct CompactControl {
    Zone* zone = nullptr;
    int order = -1;  // -1: vm.compact_memory
    gfp_t gfp = GFP_KERNEL;
    unsigned migratetype = MIGRATE_UNMOVABLE;
    unsigned alloc_flags = 0;
    unsigned highest_zoneidx = 0;
    MigrateMode mode = MigrateMode::Async;
    bool direct_compaction = false;
    bool proactive_compaction = false;
    bool whole_zone = false;
    bool ignore_skip_hint = false;
    bool ignore_block_suitable = false;
    bool finish_pageblock = false;
    bool contended = false;
    uint64_t migrate_pfn = 0;
    uint64_t free_pfn = 0;
    uint64_t nr_freepages = 0;
    uint64_t nr_migratepages = 0;
    std::vector<Pfn> migratepages;
    FreeTargets freepages;
    uint64_t total_migrate_scanned = 0;
    uint64_t total_free_scanned = 0;
    uint64_t migrated = 0;
    uint64_t migrate_failed = 0;
};

bool is_via_compact_memory(int order) { return order == -1; }

bool compact_scanners_met(const CompactControl& cc) {
    return (cc.free_pfn >> pageblock_order) <= (cc.migrate_pfn >> pageblock_order);
}

// pageblock_pfn_to_page(): the block lies in the zone and has RAM.
bool pageblock_in_zone(Kernel& k, const Zone& zone, uint64_t start, uint64_t end) {
    if (start < zone.zone_start_pfn.value || end - 1 >= zone.zone_end_pfn().value) {
        // A block cut by the zone's edge: only the part in the zone.
        start = std::max(start, zone.zone_start_pfn.value);
        end = std::min(end, zone.zone_end_pfn().value);
        if (start >= end) return false;
    }
    const MemMap& mm = *k.mem_map;
    return !mm[start].test(PG_hole) && !mm[end - 1].test(PG_hole) && k.page_zone(Pfn(start)) == &zone &&
           k.page_zone(Pfn(end - 1)) == &zone;
}

void reset_cached_positions(Zone& zone) {
    zone.compact_cached_migrate_pfn[0] = zone.compact_init_migrate_pfn;
    zone.compact_cached_migrate_pfn[1] = zone.compact_init_migrate_pfn;
    zone.compact_cached_free_pfn = zone.compact_init_free_pfn;
}

// __reset_isolation_suitable().
void reset_zone_isolation_suitable(Zone& zone) {
    std::fill(zone.pageblock_skip.begin(), zone.pageblock_skip.end(), false);
    reset_cached_positions(zone);
    zone.compact_blockskip_flush = false;
}

void update_cached_migrate(CompactControl& cc, uint64_t pfn) {
    Zone& zone = *cc.zone;
    pfn = pageblock_end_pfn(pfn);
    if (pfn > zone.compact_cached_migrate_pfn[0].value) zone.compact_cached_migrate_pfn[0] = Pfn(pfn);
    if (cc.mode != MigrateMode::Async && pfn > zone.compact_cached_migrate_pfn[1].value)
        zone.compact_cached_migrate_pfn[1] = Pfn(pfn);
}

// update_pageblock_skip() for the free scanner.
void update_free_skip(CompactControl& cc, uint64_t block_pfn, uint64_t next_pfn) {
    Zone& zone = *cc.zone;
    set_pageblock_skip(zone, block_pfn);
    if (next_pfn < zone.compact_cached_free_pfn.value) zone.compact_cached_free_pfn = Pfn(next_pfn);
}

// ---- the free scanner -----------------------------------------------------------

// isolate_freepages_block(): takes free blocks in [*start, end), looking at
// every stride-th pfn, until there are as many targets as pages to move.
uint64_t isolate_freepages_block(Kernel& k, CompactControl& cc, uint64_t* start, uint64_t end,
                                 unsigned stride) {
    MemMap& mm = *k.mem_map;
    uint64_t nr_scanned = 0, total_isolated = 0;
    uint64_t pfn = *start;
    for (; pfn < end; pfn += stride) {
        nr_scanned++;
        const Page& page = mm[pfn];
        if (page.test(PG_head)) {
            uint64_t nr = uint64_t{1} << page.order;
            pfn += nr - 1;
            nr_scanned += nr - 1;
            continue;
        }
        if (!page.test(PG_buddy)) continue;
        unsigned order = page.order;
        if (!isolate_free_page(k, *cc.zone, Pfn(pfn), order)) break;
        uint64_t isolated = uint64_t{1} << order;
        nr_scanned += isolated - 1;
        total_isolated += isolated;
        cc.nr_freepages += isolated;
        cc.freepages.by_order[order].push_back(pfn);
        if (cc.nr_migratepages <= cc.nr_freepages) {
            pfn += isolated;
            break;
        }
        pfn += isolated - 1;
    }
    if (pfn > end) pfn = end;
    *start = pfn;
    cc.total_free_scanned += nr_scanned;
    if (total_isolated) k.count_event(COMPACT_ISOLATED, total_isolated);
    return total_isolated;
}

// suitable_migration_target(): movable (or CMA) blocks that are not a free
// pageblock already (no point moving pages into one).
bool suitable_migration_target(Kernel& k, const CompactControl& cc, uint64_t pfn) {
    const Page& page = (*k.mem_map)[pfn];
    if (page.test(PG_buddy) && page.order >= pageblock_order) return false;
    if (cc.ignore_block_suitable) return true;
    return is_migrate_movable(get_pageblock_migratetype(*cc.zone, Pfn(pfn)));
}

// isolate_freepages(): from free_pfn downwards, one pageblock at a time,
// until enough targets; never at or below the migration scanner's block.
void isolate_freepages(Kernel& k, CompactControl& cc) {
    Zone& zone = *cc.zone;
    unsigned stride = cc.mode == MigrateMode::Async ? COMPACT_CLUSTER_MAX : 1;
    if (cc.nr_freepages) return;
    uint64_t isolate_start = cc.free_pfn;
    uint64_t block_start = pageblock_start_pfn(isolate_start);
    uint64_t block_end = std::min(block_start + pageblock_nr_pages, zone.zone_end_pfn().value);
    uint64_t low_pfn = pageblock_end_pfn(cc.migrate_pfn);
    for (; block_start >= low_pfn;
         block_end = block_start, block_start -= pageblock_nr_pages, isolate_start = block_start) {
        if (!pageblock_in_zone(k, zone, block_start, block_end)) continue;
        uint64_t first = std::max(block_start, zone.zone_start_pfn.value);
        if (!suitable_migration_target(k, cc, first)) continue;
        if (!cc.ignore_skip_hint && get_pageblock_skip(zone, first)) continue;
        uint64_t nr_isolated = isolate_freepages_block(k, cc, &isolate_start, block_end, stride);
        if (isolate_start == block_end) update_free_skip(cc, first, block_start - pageblock_nr_pages);
        if (cc.nr_freepages >= cc.nr_migratepages) {
            // Resume in this block next time unless it was finished.
            if (isolate_start >= block_end) isolate_start = block_start - pageblock_nr_pages;
            break;
        }
        if (isolate_start < block_end) break;  // the watermark stopped it
        if (nr_isolated) {
            stride = 1;
            continue;
        }
        stride = std::min(COMPACT_CLUSTER_MAX, stride << 1);
        if (block_start < pageblock_nr_pages) break;
    }
    cc.free_pfn = isolate_start;
}

// compaction_alloc(): the smallest isolated block of at least the order,
// split down; isolates more when there is none (once).
MaybePfn compaction_alloc(Kernel& k, CompactControl& cc) {
    const unsigned order = 0;
    bool has_isolated = false;
    for (;;) {
        unsigned start = order;
        while (start < NR_PAGE_ORDERS && cc.freepages.by_order[start].empty()) start++;
        if (start == NR_PAGE_ORDERS) {
            if (has_isolated) return std::nullopt;
            isolate_freepages(k, cc);
            has_isolated = true;
            continue;
        }
        auto& list = cc.freepages.by_order[start];
        uint64_t dst = list.front();
        list.erase(list.begin());
        while (start > order) {
            start--;
            uint64_t half = dst + (uint64_t{1} << start);
            auto& lower = cc.freepages.by_order[start];
            lower.insert(lower.begin(), half);
        }
        // post_alloc_hook(): a fresh order-0 page.
        Page& p = (*k.mem_map)[dst];
        p.order = 0;
        p.mt = 0;
        p.refcount = 1;
        cc.nr_freepages -= 1;
        cc.nr_migratepages -= 1;
        return Pfn(dst);
    }
}

// compaction_free(): an unused target goes back to the list.
void compaction_free(Kernel& k, CompactControl& cc, Pfn dst) {
    (*k.mem_map)[dst.value].refcount = 0;
    cc.freepages.by_order[0].insert(cc.freepages.by_order[0].begin(), dst.value);
    cc.nr_freepages += 1;
    cc.nr_migratepages += 1;
}

// release_free_list(): unused targets go back to the allocator. Returns the
// highest pfn released.
uint64_t release_free_list(Kernel& k, CompactControl& cc) {
    uint64_t high = 0;
    for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
        for (uint64_t pfn : cc.freepages.by_order[order]) {
            Page& p = (*k.mem_map)[pfn];
            p.refcount = 1;  // mark_allocated()
            p.order = 0;
            free_pages(k, Pfn(pfn), order);
            high = std::max(high, pfn);
        }
        cc.freepages.by_order[order].clear();
    }
    cc.nr_freepages = 0;
    return high;
}

// ---- the migration scanner ------------------------------------------------------

// isolate_migratepages_block(): isolates movable pages of [low, end).
// Returns false to abort (never, here: no lock contention).
void isolate_migratepages_block(Kernel& k, CompactControl& cc, uint64_t low_pfn, uint64_t end_pfn,
                                bool allow_unevictable) {
    MemMap& mm = *k.mem_map;
    uint64_t nr_scanned = 0, nr_isolated = 0;
    bool skip_on_failure = false;
    uint64_t next_skip_pfn = 0;
    uint64_t valid_page = UINT64_MAX;
    if (cc.direct_compaction && cc.mode == MigrateMode::Async && cc.order > 0) {
        skip_on_failure = true;
        next_skip_pfn = block_end_pfn(low_pfn, static_cast<unsigned>(cc.order));
    }
    for (; low_pfn < end_pfn; low_pfn++) {
        if (skip_on_failure && low_pfn >= next_skip_pfn) {
            // A whole chunk of the order isolated: migrate it first.
            if (nr_isolated) break;
            next_skip_pfn = block_end_pfn(low_pfn, static_cast<unsigned>(cc.order));
        }
        nr_scanned++;
        // Only a scan that starts the block may mark it skipped: a later
        // batch from the middle of the block says nothing of its start.
        if (valid_page == UINT64_MAX &&
            (pageblock_aligned(low_pfn) || low_pfn == cc.zone->zone_start_pfn.value))
            valid_page = low_pfn;
        const Page& page = mm[low_pfn];
        if (page.test(PG_buddy)) {
            unsigned fo = page.order;
            if (fo > 0 && fo <= MAX_PAGE_ORDER) {
                low_pfn += (uint64_t{1} << fo) - 1;
                nr_scanned += (uint64_t{1} << fo) - 1;
            }
            continue;
        }
        bool fail = false;
        if (page.test(PG_head)) {
            uint64_t nr = uint64_t{1} << page.order;
            low_pfn += nr - 1;
            nr_scanned += nr - 1;
            fail = true;
        } else {
            Unmovable why = page_movability(k, Pfn(low_pfn), allow_unevictable);
            // An anonymous page pinned beyond its mappings will not migrate:
            // the kernel skips it before isolating.
            if (why == Unmovable::None && page.test(PG_anon) &&
                page.refcount > static_cast<uint32_t>(page.mapcount))
                why = Unmovable::Pinned;
            if (why != Unmovable::None) fail = true;
        }
        if (!fail) {
            cc.migratepages.push_back(Pfn(low_pfn));
            cc.nr_migratepages++;
            nr_isolated++;
            if (cc.nr_migratepages >= COMPACT_CLUSTER_MAX && !cc.finish_pageblock && !cc.contended) {
                ++low_pfn;
                break;
            }
            continue;
        }
        // isolate_fail
        if (!skip_on_failure) continue;
        if (nr_isolated) {
            // putback: the chunk cannot become a free block of the order.
            cc.migratepages.clear();
            cc.nr_migratepages = 0;
            nr_isolated = 0;
        }
        if (low_pfn < next_skip_pfn) {
            low_pfn = next_skip_pfn - 1;
            next_skip_pfn += uint64_t{1} << cc.order;
        }
    }
    if (low_pfn > end_pfn) low_pfn = end_pfn;
    // A block with nothing to isolate is skipped from now on.
    if (low_pfn == end_pfn && (!nr_isolated || cc.finish_pageblock)) {
        if (valid_page != UINT64_MAX) set_pageblock_skip(*cc.zone, valid_page);
        update_cached_migrate(cc, low_pfn);
    }
    cc.total_migrate_scanned += nr_scanned;
    if (nr_isolated) k.count_event(COMPACT_ISOLATED, nr_isolated);
    cc.migrate_pfn = low_pfn;
}

// suitable_migration_source(): async direct compaction only moves pages
// out of blocks of the request's own kind.
bool suitable_migration_source(const CompactControl& cc, uint64_t pfn) {
    if (cc.mode != MigrateMode::Async || !cc.direct_compaction) return true;
    unsigned mt = get_pageblock_migratetype(*cc.zone, Pfn(pfn));
    if (cc.migratetype == MIGRATE_MOVABLE) return is_migrate_movable(mt);
    return mt == cc.migratetype;
}

enum class IsolateResult { Abort, None, Success };

// isolate_migratepages(): the next pageblock below the free scanner that
// has something to move.
IsolateResult isolate_migratepages(Kernel& k, CompactControl& cc) {
    Zone& zone = *cc.zone;
    bool allow_unevictable = k.vm.compact_unevictable_allowed != 0;
    uint64_t low_pfn = cc.migrate_pfn;
    uint64_t block_start = std::max(pageblock_start_pfn(low_pfn), zone.zone_start_pfn.value);
    uint64_t block_end = pageblock_end_pfn(low_pfn);
    for (; block_end <= cc.free_pfn;
         cc.migrate_pfn = low_pfn = block_end, block_start = block_end, block_end += pageblock_nr_pages) {
        if (!pageblock_in_zone(k, zone, block_start, std::min(block_end, zone.zone_end_pfn().value)))
            continue;
        // Skip blocks found useless before (checked once per block).
        if ((pageblock_aligned(low_pfn) || low_pfn == zone.zone_start_pfn.value) && !cc.ignore_skip_hint &&
            get_pageblock_skip(zone, low_pfn))
            continue;
        if (!suitable_migration_source(cc, block_start)) {
            update_cached_migrate(cc, block_end);
            continue;
        }
        isolate_migratepages_block(k, cc, low_pfn, std::min(block_end, zone.zone_end_pfn().value),
                                   allow_unevictable);
        break;
    }
    return cc.nr_migratepages ? IsolateResult::Success : IsolateResult::None;
}

// __compact_finished().
CompactResult compact_finished(Kernel& k, CompactControl& cc) {
    Zone& zone = *cc.zone;
    (void)k;
    if (compact_scanners_met(cc)) {
        reset_cached_positions(zone);
        if (cc.direct_compaction) zone.compact_blockskip_flush = true;
        return cc.whole_zone ? CompactResult::Complete : CompactResult::PartialSkipped;
    }
    if (cc.proactive_compaction) {
        return fragmentation_score_zone(zone) > fragmentation_score_wmark(k, true) ? CompactResult::Continue
                                                                                   : CompactResult::Success;
    }
    if (is_via_compact_memory(cc.order)) return CompactResult::Continue;
    // Finish the current pageblock first.
    if (!pageblock_aligned(cc.migrate_pfn)) return CompactResult::Continue;
    for (unsigned order = static_cast<unsigned>(cc.order); order < NR_PAGE_ORDERS; order++) {
        const FreeArea& area = zone.free_area[order];
        if (!area.free_list[cc.migratetype].empty()) return CompactResult::Success;
        if (cc.migratetype == MIGRATE_MOVABLE && !area.free_list[MIGRATE_CMA].empty())
            return CompactResult::Success;
        // A block the allocation could claim from another type also does.
        if (cc.migratetype < MIGRATE_PCPTYPES) {
            static constexpr unsigned fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] = {
                {MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE},
                {MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE},
                {MIGRATE_UNMOVABLE, MIGRATE_MOVABLE},
            };
            // find_suitable_fallback(claimable): only orders that may claim
            // the whole pageblock count.
            bool claimable = order >= pageblock_order / 2 || cc.migratetype == MIGRATE_RECLAIMABLE ||
                             cc.migratetype == MIGRATE_UNMOVABLE || order >= pageblock_order;
            if (claimable)
                for (unsigned fb : fallbacks[cc.migratetype])
                    if (!area.free_list[fb].empty()) return CompactResult::Success;
        }
    }
    return CompactResult::Continue;  // NO_SUITABLE_PAGE
}

// compaction_suit_allocation_order().
CompactResult compaction_suit_allocation_order(const Kernel& k, const Zone& zone, unsigned order,
                                               unsigned highest_zoneidx, unsigned alloc_flags, bool async,
                                               bool kcompactd) {
    // vm.defrag_mode makes kcompactd work up to the high mark.
    uint64_t mark = kcompactd && k.vm.defrag_mode
                        ? zone.high_wmark_pages()
                        : zone.wmark_pages(static_cast<WmarkIdx>(alloc_flags & ALLOC_WMARK_MASK));
    if (zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags, zone.page_state(NR_FREE_PAGES)))
        return CompactResult::Success;
    // An unmovable costly request cannot use a block formed in CMA.
    if (order > PAGE_ALLOC_COSTLY_ORDER && async && !(alloc_flags & ALLOC_CMA)) {
        uint64_t w = zone.low_wmark_pages() + (uint64_t{2} << order);
        if (!zone_watermark_ok(zone, 0, w, highest_zoneidx, 0, zone.page_state(NR_FREE_PAGES)))
            return CompactResult::Skipped;
    }
    if (!compaction_suitable(k, zone, order, highest_zoneidx, alloc_flags)) return CompactResult::Skipped;
    return CompactResult::Continue;
}

// compact_zone().
CompactResult compact_zone(Kernel& k, CompactControl& cc) {
    Zone& zone = *cc.zone;
    const uint64_t start_pfn = zone.zone_start_pfn.value;
    const uint64_t end_pfn = zone.zone_end_pfn().value;
    const bool sync = cc.mode != MigrateMode::Async;
    cc.total_migrate_scanned = cc.total_free_scanned = 0;
    cc.nr_migratepages = cc.nr_freepages = 0;
    cc.migratetype = gfp_migratetype(cc.gfp);

    if (!is_via_compact_memory(cc.order)) {
        CompactResult r =
            compaction_suit_allocation_order(k, zone, static_cast<unsigned>(cc.order), cc.highest_zoneidx,
                                             cc.alloc_flags, !sync, !cc.direct_compaction);
        if (r != CompactResult::Continue) return r;
    }
    if (compaction_restarting(zone, static_cast<unsigned>(std::max(cc.order, 0))))
        reset_zone_isolation_suitable(zone);

    if (cc.whole_zone) {
        cc.migrate_pfn = start_pfn;
        cc.free_pfn = pageblock_start_pfn(end_pfn - 1);
    } else {
        cc.migrate_pfn = zone.compact_cached_migrate_pfn[sync].value;
        cc.free_pfn = zone.compact_cached_free_pfn.value;
        if (cc.free_pfn < start_pfn || cc.free_pfn >= end_pfn) {
            cc.free_pfn = pageblock_start_pfn(end_pfn - 1);
            zone.compact_cached_free_pfn = Pfn(cc.free_pfn);
        }
        if (cc.migrate_pfn < start_pfn || cc.migrate_pfn >= end_pfn) {
            cc.migrate_pfn = start_pfn;
            zone.compact_cached_migrate_pfn[0] = zone.compact_cached_migrate_pfn[1] = Pfn(start_pfn);
        }
        if (cc.migrate_pfn <= zone.compact_init_migrate_pfn.value) cc.whole_zone = true;
    }
    uint64_t last_migrated_pfn = 0;
    bool update_cached = !sync && zone.compact_cached_migrate_pfn[0] == zone.compact_cached_migrate_pfn[1];

    CompactResult ret;
    while ((ret = compact_finished(k, cc)) == CompactResult::Continue) {
        uint64_t iteration_start = cc.migrate_pfn;
        // A block scanned again right after a migration is finished whole.
        // (last_migrated_pfn starts at 0, so in a zone's first pageblock the
        // first pass finishes the block too, as in the kernel.)
        cc.finish_pageblock = pageblock_start_pfn(last_migrated_pfn) == pageblock_start_pfn(iteration_start);
    rescan:
        IsolateResult ir = isolate_migratepages(k, cc);
        if (ir == IsolateResult::None) {
            if (update_cached) zone.compact_cached_migrate_pfn[1] = zone.compact_cached_migrate_pfn[0];
        } else {
            update_cached = false;
            last_migrated_pfn = std::max(start_pfn, pageblock_start_pfn(cc.migrate_pfn - 1));
            MigrateResult mr = migrate_pages(
                k, cc.migratepages, [&](Pfn) { return compaction_alloc(k, cc); },
                [&](Pfn dst) { compaction_free(k, cc, dst); }, cc.mode, MigrateReason::Compaction);
            cc.migrated += mr.nr_succeeded;
            cc.migrate_failed += mr.nr_failed;
            cc.nr_migratepages = 0;
            bool err = !cc.migratepages.empty();
            cc.migratepages.clear();  // putback_movable_pages()
            if (err) {
                if (mr.out_of_targets && !compact_scanners_met(cc)) {
                    ret = CompactResult::Contended;
                    break;
                }
                // Scan the rest of the block so it gets its skip bit.
                if (!pageblock_aligned(cc.migrate_pfn) && !cc.ignore_skip_hint && !cc.finish_pageblock &&
                    cc.mode != MigrateMode::Sync) {
                    cc.finish_pageblock = true;
                    if (cc.order == static_cast<int>(COMPACTION_HPAGE_ORDER)) last_migrated_pfn = 0;
                    goto rescan;
                }
            }
        }
        // check_drain: left the order-aligned block we migrated from? Let
        // the freed pages merge.
        if (cc.order > 0 && last_migrated_pfn) {
            uint64_t current_block_start = block_start_pfn(cc.migrate_pfn, static_cast<unsigned>(cc.order));
            if (last_migrated_pfn < current_block_start) {
                drain_all_pages(k, &zone);
                last_migrated_pfn = 0;
            }
        }
    }
    // Unused targets go back; the free scanner resumes at the highest one.
    if (cc.nr_freepages > 0) {
        uint64_t free_pfn = pageblock_start_pfn(release_free_list(k, cc));
        if (free_pfn > zone.compact_cached_free_pfn.value) zone.compact_cached_free_pfn = Pfn(free_pfn);
    }
    // The pages freed by migration, merged (the kernel's lru/pcp drains
    // leave them on the CPU lists; a later drain merges them).
    k.count_event(COMPACT_MIGRATE_SCANNED, cc.total_migrate_scanned);
    k.count_event(COMPACT_FREE_SCANNED, cc.total_free_scanned);
    return ret;
}

}  // namespace

const char* compact_result_name(CompactResult r) {
    switch (r) {
        case CompactResult::NotSuitableZone:
            return "not_suitable_zone";
        case CompactResult::Skipped:
            return "skipped";
        case CompactResult::Deferred:
            return "deferred";
        case CompactResult::NoSuitablePage:
            return "no_suitable_page";
        case CompactResult::Continue:
            return "continue";
        case CompactResult::Complete:
            return "complete";
        case CompactResult::PartialSkipped:
            return "partial_skipped";
        case CompactResult::Contended:
            return "contended";
        case CompactResult::Success:
            return "success";
    }
    return "?";
}

// ---- the fragmentation index ---------------------------------------------------------

namespace {
struct ContigPageInfo {
    uint64_t free_pages = 0;
    uint64_t free_blocks_total = 0;
    uint64_t free_blocks_suitable = 0;
};
// fill_contig_page_info().
ContigPageInfo fill_contig_page_info(const Zone& zone, unsigned suitable_order) {
    ContigPageInfo info;
    for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
        uint64_t blocks = zone.free_area[order].nr_free;
        info.free_blocks_total += blocks;
        info.free_pages += blocks << order;
        if (order >= suitable_order) info.free_blocks_suitable += blocks << (order - suitable_order);
    }
    return info;
}
}  // namespace

int fragmentation_index(const Zone& zone, unsigned order) {
    ContigPageInfo info = fill_contig_page_info(zone, order);
    if (order > MAX_PAGE_ORDER || !info.free_blocks_total) return 0;
    if (info.free_blocks_suitable) return -1000;
    uint64_t requested = uint64_t{1} << order;
    return 1000 - static_cast<int>((1000 + info.free_pages * 1000 / requested) / info.free_blocks_total);
}

int unusable_free_index(const Zone& zone, unsigned order) {
    ContigPageInfo info = fill_contig_page_info(zone, order);
    if (info.free_pages == 0) return 1000;
    return static_cast<int>((info.free_pages - (info.free_blocks_suitable << order)) * 1000 /
                            info.free_pages);
}

unsigned extfrag_for_order(const Zone& zone, unsigned order) {
    ContigPageInfo info = fill_contig_page_info(zone, order);
    if (info.free_pages == 0) return 0;
    return static_cast<unsigned>((info.free_pages - (info.free_blocks_suitable << order)) * 100 /
                                 info.free_pages);
}

unsigned fragmentation_score_zone(const Zone& zone) {
    return extfrag_for_order(zone, COMPACTION_HPAGE_ORDER);
}

unsigned fragmentation_score_node(const Kernel& k, const PglistData& node) {
    (void)k;
    unsigned score = 0;
    for (const Zone& zone : node.node_zones) {
        if (!zone.populated()) continue;
        // fragmentation_score_zone_weighted().
        score += static_cast<unsigned>(fragmentation_score_zone(zone) * zone.present_pages /
                                       (node.node_present_pages + 1));
    }
    return score;
}

unsigned fragmentation_score_wmark(const Kernel& k, bool low) {
    unsigned wmark_low = std::max(100u - static_cast<unsigned>(k.vm.compaction_proactiveness), 5u);
    return low ? wmark_low : std::min(wmark_low + 10, 100u);
}

bool compaction_suitable(const Kernel& k, const Zone& zone, unsigned order, unsigned highest_zoneidx,
                         unsigned alloc_flags) {
    // __compaction_suitable(): targets need free memory above the order-0
    // mark (low for costly orders) plus twice the block (compact_gap).
    uint64_t mark = order > PAGE_ALLOC_COSTLY_ORDER ? zone.low_wmark_pages() : zone.min_wmark_pages();
    mark += uint64_t{2} << order;
    if (!zone_watermark_ok(zone, 0, mark, highest_zoneidx, alloc_flags & ALLOC_CMA,
                           zone.page_state(NR_FREE_PAGES)))
        return false;
    if (order > PAGE_ALLOC_COSTLY_ORDER) {
        int fragindex = fragmentation_index(zone, order);
        if (fragindex >= 0 && fragindex <= k.vm.extfrag_threshold) return false;
    }
    return true;
}

// ---- deferral ---------------------------------------------------------------------

void defer_compaction(Zone& zone, unsigned order) {
    zone.compact_considered = 0;
    zone.compact_defer_shift++;
    if (static_cast<int>(order) < zone.compact_order_failed)
        zone.compact_order_failed = static_cast<int>(order);
    if (zone.compact_defer_shift > COMPACT_MAX_DEFER_SHIFT)
        zone.compact_defer_shift = COMPACT_MAX_DEFER_SHIFT;
}

bool compaction_deferred(Zone& zone, unsigned order) {
    unsigned defer_limit = 1u << zone.compact_defer_shift;
    if (static_cast<int>(order) < zone.compact_order_failed) return false;
    if (++zone.compact_considered >= defer_limit) {
        zone.compact_considered = defer_limit;
        return false;
    }
    return true;
}

void compaction_defer_reset(Zone& zone, unsigned order, bool alloc_success) {
    if (alloc_success) {
        zone.compact_considered = 0;
        zone.compact_defer_shift = 0;
    }
    if (static_cast<int>(order) >= zone.compact_order_failed)
        zone.compact_order_failed = static_cast<int>(order) + 1;
}

bool compaction_restarting(const Zone& zone, unsigned order) {
    if (static_cast<int>(order) < zone.compact_order_failed) return false;
    return zone.compact_defer_shift == COMPACT_MAX_DEFER_SHIFT &&
           zone.compact_considered >= (1u << zone.compact_defer_shift);
}

// ---- entry points ----------------------------------------------------------------------

CompactStats compact_zone_order(Kernel& k, Zone& zone, unsigned order, gfp_t gfp, int prio,
                                unsigned alloc_flags, unsigned highest_zoneidx) {
    CompactControl cc;
    cc.zone = &zone;
    cc.order = static_cast<int>(order);
    cc.gfp = gfp;
    cc.mode = prio == COMPACT_PRIO_ASYNC ? MigrateMode::Async : MigrateMode::SyncLight;
    cc.alloc_flags = alloc_flags;
    cc.highest_zoneidx = highest_zoneidx;
    cc.direct_compaction = true;
    cc.whole_zone = prio == MIN_COMPACT_PRIORITY;
    cc.ignore_skip_hint = prio == MIN_COMPACT_PRIORITY;
    cc.ignore_block_suitable = prio == MIN_COMPACT_PRIORITY;
    CompactStats st;
    st.result = compact_zone(k, cc);
    st.migrate_scanned = cc.total_migrate_scanned;
    st.free_scanned = cc.total_free_scanned;
    st.migrated = cc.migrated;
    st.migrate_failed = cc.migrate_failed;
    return st;
}

CompactResult try_to_compact_pages(Kernel& k, gfp_t gfp, unsigned order, unsigned alloc_flags,
                                   unsigned highest_zoneidx, int nid, bool thisnode, int prio) {
    // gfp_compaction_allowed(): compaction may do I/O.
    if (!(gfp & __GFP_IO)) return CompactResult::Skipped;
    CompactResult rc = CompactResult::Skipped;
    const auto& zonelist = thisnode ? k.nodes[nid].zonelist_nofallback : k.nodes[nid].zonelist_fallback;
    for (const ZoneRef& ref : zonelist) {
        if (ref.zone_idx > highest_zoneidx) continue;
        Zone& zone = *ref.zone;
        if (!zone.managed()) continue;
        if (prio > MIN_COMPACT_PRIORITY && compaction_deferred(zone, order)) {
            rc = std::max(rc, CompactResult::Deferred);
            continue;
        }
        CompactResult status =
            compact_zone_order(k, zone, order, gfp, prio, alloc_flags, highest_zoneidx).result;
        rc = std::max(rc, status);
        if (status == CompactResult::Success) {
            compaction_defer_reset(zone, order, false);
            break;
        }
        if (prio != COMPACT_PRIO_ASYNC &&
            (status == CompactResult::Complete || status == CompactResult::PartialSkipped))
            defer_compaction(zone, order);
    }
    return rc;
}

void compact_node(Kernel& k, PglistData& node, bool proactive) {
    for (Zone& zone : node.node_zones) {
        if (!zone.populated() || !zone.managed()) continue;
        CompactControl cc;
        cc.zone = &zone;
        cc.order = -1;
        cc.gfp = GFP_KERNEL;
        cc.mode = proactive ? MigrateMode::SyncLight : MigrateMode::Sync;
        cc.ignore_skip_hint = true;
        cc.whole_zone = true;
        cc.proactive_compaction = proactive;
        compact_zone(k, cc);
        if (proactive) {
            k.count_event(COMPACT_DAEMON_MIGRATE_SCANNED, cc.total_migrate_scanned);
            k.count_event(COMPACT_DAEMON_FREE_SCANNED, cc.total_free_scanned);
        }
    }
}

void compact_nodes(Kernel& k) {
    // lru_add_drain_all(): nothing waits in LRU batches here.
    for (auto& node : k.nodes) compact_node(k, node, false);
}

void reset_isolation_suitable(Kernel& k, PglistData& node) {
    (void)k;
    for (Zone& zone : node.node_zones)
        if (zone.populated() && zone.compact_blockskip_flush) reset_zone_isolation_suitable(zone);
}

// ---- kcompactd ---------------------------------------------------------------------------

bool should_proactive_compact_node(const Kernel& k, const PglistData& node) {
    // kswapd_is_running(): there is no kswapd yet.
    if (!k.vm.compaction_proactiveness) return false;
    return fragmentation_score_node(k, node) > fragmentation_score_wmark(k, false);
}

Nanos kcompactd_proactive(Kernel& k, PglistData& node) {
    const Nanos interval = static_cast<Nanos>(HPAGE_FRAG_CHECK_INTERVAL_MSEC) * 1000000;
    Nanos timeout = interval;
    if (should_proactive_compact_node(k, node)) {
        unsigned prev_score = fragmentation_score_node(k, node);
        compact_node(k, node, true);
        // No progress: wait 64 intervals before the next try.
        if (fragmentation_score_node(k, node) >= prev_score) timeout = interval << COMPACT_MAX_DEFER_SHIFT;
    }
    node.proactive_compact_trigger = false;
    return timeout;
}

namespace {
// kcompactd_node_suitable(): some zone could be compacted for the order.
bool kcompactd_node_suitable(const Kernel& k, const PglistData& node) {
    for (unsigned zid = 0; zid <= node.kcompactd_highest_zoneidx && zid < node.node_zones.size(); zid++) {
        const Zone& zone = node.node_zones[zid];
        if (!zone.populated()) continue;
        if (compaction_suit_allocation_order(k, zone, static_cast<unsigned>(node.kcompactd_max_order),
                                             node.kcompactd_highest_zoneidx, ALLOC_WMARK_MIN, false,
                                             true) == CompactResult::Continue)
            return true;
    }
    return false;
}
}  // namespace

void kcompactd_do_work(Kernel& k, PglistData& node) {
    k.count_event(COMPACT_DAEMON_WAKE);
    const unsigned order = static_cast<unsigned>(node.kcompactd_max_order);
    const unsigned highest = node.kcompactd_highest_zoneidx;
    for (unsigned zid = 0; zid <= highest && zid < node.node_zones.size(); zid++) {
        Zone& zone = node.node_zones[zid];
        if (!zone.populated()) continue;
        if (compaction_deferred(zone, order)) continue;
        if (compaction_suit_allocation_order(k, zone, order, zid, ALLOC_WMARK_MIN, false, true) !=
            CompactResult::Continue)
            continue;
        CompactControl cc;
        cc.zone = &zone;
        cc.order = static_cast<int>(order);
        cc.highest_zoneidx = highest;
        cc.mode = MigrateMode::SyncLight;
        cc.gfp = GFP_KERNEL;
        CompactResult status = compact_zone(k, cc);
        if (status == CompactResult::Success) {
            compaction_defer_reset(zone, order, false);
        } else if (status == CompactResult::PartialSkipped || status == CompactResult::Complete) {
            // Freed pages left on the CPU lists could complete a block.
            drain_all_pages(k, &zone);
            defer_compaction(zone, order);
        }
        k.count_event(COMPACT_DAEMON_MIGRATE_SCANNED, cc.total_migrate_scanned);
        k.count_event(COMPACT_DAEMON_FREE_SCANNED, cc.total_free_scanned);
    }
    // Done until the next wakeup, which may ask for less.
    if (node.kcompactd_max_order <= static_cast<int>(order)) node.kcompactd_max_order = 0;
    if (node.kcompactd_highest_zoneidx >= highest)
        node.kcompactd_highest_zoneidx = static_cast<unsigned>(std::max(node.nr_zones, 1) - 1);
}

void wakeup_kcompactd(Kernel& k, PglistData& node, unsigned order, unsigned highest_zoneidx) {
    if (!order) return;
    if (node.kcompactd_max_order < static_cast<int>(order))
        node.kcompactd_max_order = static_cast<int>(order);
    if (node.kcompactd_highest_zoneidx > highest_zoneidx) node.kcompactd_highest_zoneidx = highest_zoneidx;
    if (!kcompactd_node_suitable(k, node)) return;
    // The thread runs as soon as the waker lets the CPU go: an event now.
    PglistData* n = &node;
    k.clock.schedule_after(0, [&k, n] {
        if (n->kcompactd_max_order > 0) kcompactd_do_work(k, *n);
    });
}

namespace {
// The thread's sleep: wakes after `timeout`, does its round, sleeps again.
void kcompactd_arm(Kernel& k, int nid, Nanos timeout) {
    k.clock.schedule_after(timeout, [&k, nid] {
        Nanos next = kcompactd_proactive(k, k.nodes[static_cast<std::size_t>(nid)]);
        kcompactd_arm(k, nid, next);
    });
}
}  // namespace

void compaction_proactiveness_changed(Kernel& k) {
    if (!k.vm.compaction_proactiveness) return;
    for (auto& node : k.nodes) {
        if (node.proactive_compact_trigger) continue;
        node.proactive_compact_trigger = true;
        // The woken thread runs its proactive round at once.
        (void)kcompactd_proactive(k, node);
    }
}

void compaction_init(Kernel& k) {
    for (auto& node : k.nodes) {
        for (Zone& zone : node.node_zones) {
            uint64_t nblocks = zone.spanned_pages ? (pageblock_end_pfn(zone.zone_end_pfn().value - 1) -
                                                     pageblock_start_pfn(zone.zone_start_pfn.value)) >>
                                                        pageblock_order
                                                  : 0;
            zone.pageblock_skip.assign(nblocks, false);
            zone.compact_init_migrate_pfn = zone.zone_start_pfn;
            zone.compact_init_free_pfn =
                Pfn(zone.spanned_pages ? pageblock_start_pfn(zone.zone_end_pfn().value - 1) : 0);
            reset_cached_positions(zone);
            zone.compact_considered = 0;
            zone.compact_defer_shift = 0;
            zone.compact_order_failed = 0;
        }
        node.kcompactd_max_order = 0;
        node.kcompactd_highest_zoneidx = static_cast<unsigned>(std::max(node.nr_zones, 1) - 1);
    }
    reclaim_hooks(k).compact_nodes = [](Kernel& kk) { compact_nodes(kk); };
    // kcompactd_run(): one thread per node, first waking after one
    // interval.
    for (std::size_t nid = 0; nid < k.nodes.size(); nid++)
        kcompactd_arm(k, static_cast<int>(nid), static_cast<Nanos>(HPAGE_FRAG_CHECK_INTERVAL_MSEC) * 1000000);
}

void validate_compaction(const Kernel& k) {
    for (const auto& node : k.nodes) {
        for (const Zone& zone : node.node_zones) {
            if (!zone.spanned_pages || zone.pageblock_skip.empty()) continue;
            auto fail = [&](const std::string& what) {
                throw std::logic_error(fmt::format("compaction invariant: node {} zone {}: {}", zone.node,
                                                   zone_kind_name(zone.kind), what));
            };
            uint64_t lo = pageblock_start_pfn(zone.zone_start_pfn.value), hi = zone.zone_end_pfn().value;
            if (zone.compact_cached_free_pfn.value < lo || zone.compact_cached_free_pfn.value >= hi)
                fail("free scanner position outside the zone");
            for (const Pfn& p : zone.compact_cached_migrate_pfn)
                if (p.value < zone.zone_start_pfn.value || p.value > pageblock_end_pfn(hi - 1))
                    fail("migration scanner position outside the zone");
            if (zone.compact_defer_shift > COMPACT_MAX_DEFER_SHIFT) fail("defer shift above the maximum");
            if (zone.compact_considered > (1u << zone.compact_defer_shift))
                fail("compact_considered above the limit");
        }
    }
}

}  // namespace mmsim
