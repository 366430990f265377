// The buddy allocator: free lists, splitting, merging, migratetype fallback.
//
// Models the core of Linux 6.18's mm/page_alloc.c.
//
// Each zone keeps, for every order 0..10, one free list per migratetype. A
// free block of order n is 2^n pages aligned to 2^n; only its first page is
// marked (PG_buddy, with the order). Freeing a block looks at its buddy, the
// block of the same size next to it (pfn ^ (1 << order)): if the buddy is
// free and of the same order, the two are unlinked and merged, and the
// search repeats one order up. Allocating takes the smallest block that is
// big enough and splits it, putting the upper halves back ("expand"):
//
//   order 3 block  [0 1 2 3 4 5 6 7]   want order 0
//   -> keep [0], free [4..7] as order 2, [2..3] as order 1, [1] as order 0
//
// Migratetypes keep pages that can move (user memory) apart from pages that
// cannot (kernel objects), so that compaction can later rebuild large blocks.
// Memory is grouped in pageblocks (order 9, 2 MiB) that each carry a type.
// When a type's lists are empty, __rmqueue() falls back in rising order of
// fragmentation risk:
//   1. __rmqueue_smallest   the requested type's own lists;
//   2. CMA                  for movable requests that may use it;
//   3. __rmqueue_claim      the largest free block of a fallback type, and if
//                           enough of its pageblock is free or compatible,
//                           claim the whole pageblock (move its free pages
//                           and change its type) -- boosting the watermark
//                           and waking kswapd when that split a pageblock;
//   4. __rmqueue_steal      the smallest fallback block, leaving its
//                           pageblock's type alone (fragmenting).
// The fallback table is the kernel's: Unmovable -> Reclaimable, Movable;
// Movable -> Reclaimable, Unmovable; Reclaimable -> Unmovable, Movable.
//
// Counters kept here, as in the kernel: NR_FREE_PAGES (account_freepages,
// which skips isolated blocks), NR_FREE_PAGES_BLOCKS (free pages in blocks
// of pageblock order or more), NR_FREE_CMA and nr_free_highatomic.
#include "mm/page_alloc.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "mm/memmap.h"
#include "mm/pfn_list.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// fallbacks[] of mm/page_alloc.c.
constexpr unsigned fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] = {
    {MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE},    // Unmovable
    {MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE},  // Movable
    {MIGRATE_UNMOVABLE, MIGRATE_MOVABLE},      // Reclaimable
};

bool is_migrate_isolate(unsigned mt) { return mt == MIGRATE_ISOLATE; }
bool is_migrate_cma(unsigned mt) { return mt == MIGRATE_CMA; }
bool migratetype_is_mergeable(unsigned mt) { return mt < MIGRATE_PCPTYPES; }

uint64_t pageblock_start(uint64_t pfn) { return pfn & ~(pageblock_nr_pages - 1); }

std::size_t pageblock_index(const Zone& zone, uint64_t pfn) {
    return static_cast<std::size_t>((pageblock_start(pfn) - pageblock_start(zone.zone_start_pfn.value)) >>
                                    pageblock_order);
}

// ---- free list bookkeeping -----------------------------------------------------

[[gnu::always_inline]] inline void account_freepages(Zone& zone, int64_t nr_pages, unsigned mt) {
    if (mt < MIGRATE_PCPTYPES) [[likely]] {
        mod_zone_page_state(zone, NR_FREE_PAGES, nr_pages);
        return;
    }
    if (is_migrate_isolate(mt)) return;
    mod_zone_page_state(zone, NR_FREE_PAGES, nr_pages);
    if (is_migrate_cma(mt))
        mod_zone_page_state(zone, NR_FREE_CMA, nr_pages);
    else if (mt == MIGRATE_HIGHATOMIC)
        zone.nr_free_highatomic += static_cast<uint64_t>(nr_pages);
}

[[gnu::always_inline]] inline void add_to_free_list(PageView mm, Zone& zone, uint64_t pfn, unsigned order,
                                                    unsigned mt, bool tail) {
    FreeArea& area = zone.free_area[order];
    Page& p = mm[pfn];
    p.set_state_word(Page::state(PG_buddy, order, mt));
    if (tail)
        list_add_tail(mm, area.free_list[mt], pfn);
    else
        list_add_head(mm, area.free_list[mt], pfn);
    area.nr_free++;
    area.nr_free_type[mt]++;
    if (order >= pageblock_order && !is_migrate_isolate(mt))
        mod_zone_page_state(zone, NR_FREE_PAGES_BLOCKS, int64_t{1} << order);
}

[[gnu::always_inline]] inline void del_page_from_free_list(PageView mm, Zone& zone, uint64_t pfn,
                                                           unsigned order, unsigned mt) {
    FreeArea& area = zone.free_area[order];
    list_del(mm, area.free_list[mt], pfn);
    Page& p = mm[pfn];
    p.set_state_word(p.state_word() & ~Page::state(PG_buddy, 0xff, 0));
    area.nr_free--;
    area.nr_free_type[mt]--;
    if (order >= pageblock_order && !is_migrate_isolate(mt))
        mod_zone_page_state(zone, NR_FREE_PAGES_BLOCKS, -(int64_t{1} << order));
}

// Moves a free block from one type's list to another's (move_to_free_list).
void move_to_free_list(PageView mm, Zone& zone, uint64_t pfn, unsigned order, unsigned old_mt,
                       unsigned new_mt) {
    FreeArea& area = zone.free_area[order];
    list_del(mm, area.free_list[old_mt], pfn);
    area.nr_free_type[old_mt]--;
    list_add_tail(mm, area.free_list[new_mt], pfn);
    area.nr_free_type[new_mt]++;
    mm[pfn].mt = static_cast<uint8_t>(new_mt);
    if (order >= pageblock_order && is_migrate_isolate(old_mt) != is_migrate_isolate(new_mt)) {
        int64_t nr = int64_t{1} << order;
        mod_zone_page_state(zone, NR_FREE_PAGES_BLOCKS, is_migrate_isolate(old_mt) ? nr : -nr);
    }
    int64_t nr = int64_t{1} << order;
    account_freepages(zone, -nr, old_mt);
    account_freepages(zone, nr, new_mt);
}

// page_is_buddy(): the buddy is a free block head of exactly this order, in
// the same zone [zone_start, zone_end).
inline bool page_is_buddy(PageView mm, uint64_t zone_start, uint64_t zone_end, uint64_t buddy_pfn,
                          unsigned order) {
    if (buddy_pfn < zone_start || buddy_pfn >= zone_end) return false;
    const Page& b = mm[buddy_pfn];
    return b.test(PG_buddy) && b.order == order;
}

// expand(): split a block of order `high` down to `low`, freeing the upper
// halves onto the lists of `mt`. Returns the pages put back.
[[gnu::always_inline]] inline uint64_t expand(PageView mm, Zone& zone, uint64_t pfn, unsigned low,
                                              unsigned high, unsigned mt) {
    if (high <= low) return 0;
    // The halves are 2^low .. 2^(high-1) pages: 2^high - 2^low in all, and
    // those of pageblock order or more count in NR_FREE_PAGES_BLOCKS.
    if (high > pageblock_order && !is_migrate_isolate(mt)) [[unlikely]]
        mod_zone_page_state(zone, NR_FREE_PAGES_BLOCKS,
                            (int64_t{1} << high) - (int64_t{1} << std::max(low, pageblock_order)));
    const uint64_t nr_added = (uint64_t{1} << high) - (uint64_t{1} << low);
    FreeArea* area = &zone.free_area[high];
    uint32_t state = Page::state(PG_buddy, high, mt);
    uint32_t p = static_cast<uint32_t>(pfn);
    uint32_t size = 1u << high;
    // pfn is aligned to 2^high, so every upper half pfn + size (size below
    // 2^MAX_PAGE_ORDER) is in the body of its chunk: its descriptor sits at
    // a fixed distance from pfn's slot there, halving with each order.
    char* base = reinterpret_cast<char*>(&mm.body(pfn));
    std::size_t offset = std::size_t{size} * sizeof(Page);
    do {
        area--;
        size >>= 1;
        offset >>= 1;
        state -= 1u << 16;  // one order down
        // add_to_free_list() at the head, in place.
        Page& pg = *reinterpret_cast<Page*>(base + offset);
        pg.set_state_word(state);
        PfnList& list = area->free_list[mt];
        uint32_t first = list.first;
        pg.set_links(first, PFN_NIL);
        if (first != PFN_NIL) {
            mm[first].prev = p + size;
            list.first = p + size;
        } else {
            list = PfnList{p + size, p + size};
        }
        area->nr_free++;
        area->nr_free_type[mt]++;
    } while (--high > low);
    return nr_added;
}

[[gnu::always_inline]] inline void page_del_and_expand(PageView mm, Zone& zone, uint64_t pfn, unsigned low,
                                                       unsigned high, unsigned mt) {
    int64_t nr_pages = int64_t{1} << high;
    del_page_from_free_list(mm, zone, pfn, high, mt);
    nr_pages -= static_cast<int64_t>(expand(mm, zone, pfn, low, high, mt));
    account_freepages(zone, -nr_pages, mt);
}

[[gnu::always_inline]] inline std::optional<uint64_t> get_page_from_free_area(const FreeArea& area,
                                                                              unsigned mt) {
    if (area.free_list[mt].empty()) return std::nullopt;
    return area.free_list[mt].first;
}

[[gnu::always_inline]] inline MaybePfn rmqueue_smallest(PageView mm, Zone& zone, unsigned order,
                                                        unsigned mt) {
    // The first page of the smallest non-empty list, walking the areas by
    // pointer so the search stays a load and a compare per order.
    const FreeArea* area = &zone.free_area[order];
    const FreeArea* end = zone.free_area.data() + NR_PAGE_ORDERS;
    for (; area != end; ++area) {
        uint32_t first = area->free_list[mt].first;
        if (first == PFN_NIL) continue;
        unsigned current = static_cast<unsigned>(area - zone.free_area.data());
        page_del_and_expand(mm, zone, first, order, current, mt);
        return Pfn(first);
    }
    return std::nullopt;
}

// should_try_claim_block() (6.15+; formerly can_steal_fallback()).
bool should_try_claim_block(unsigned order, unsigned start_mt) {
    if (order >= pageblock_order) return true;
    if (order >= pageblock_order / 2) return true;
    if (start_mt == MIGRATE_RECLAIMABLE || start_mt == MIGRATE_UNMOVABLE) return true;
    return false;
}

// find_suitable_fallback(): -2 means "orders this low cannot claim".
int find_suitable_fallback(const FreeArea& area, unsigned order, unsigned mt, bool claimable) {
    if (claimable && !should_try_claim_block(order, mt)) return -2;
    if (area.nr_free == 0) return -1;
    for (unsigned i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
        unsigned fb = fallbacks[mt][i];
        if (!area.free_list[fb].empty()) return static_cast<int>(fb);
    }
    return -1;
}

// A page in use that reclaim or compaction could move (PageLRU or
// __PageMovable). Nothing is on an LRU list yet at this layer.
bool page_is_movable_in_use(const Page& p) {
    (void)p;
    return false;
}

// prep_move_freepages_block(): count free and movable pages of the
// pageblock around pfn; false if the block crosses the zone's edge.
bool prep_move_freepages_block(PageView mm, const Zone& zone, uint64_t pfn, uint64_t* start_pfn,
                               uint64_t* free_pages, uint64_t* movable_pages) {
    uint64_t start = pageblock_start(pfn);
    uint64_t end = start + pageblock_nr_pages - 1;
    if (!zone.spans(Pfn(start)) || !zone.spans(Pfn(end))) return false;
    *start_pfn = start;
    *free_pages = 0;
    *movable_pages = 0;
    for (uint64_t p = start; p <= end;) {
        const Page& page = mm[p];
        if (page.test(PG_buddy)) {
            *free_pages += uint64_t{1} << page.order;
            p += uint64_t{1} << page.order;
            continue;
        }
        if (!page.test(PG_hole) && !page.test(PG_reserved) && page_is_movable_in_use(page))
            (*movable_pages)++;
        p++;
    }
    return true;
}

// __move_freepages_block(): every free block in the pageblock moves to the
// new type's lists.
uint64_t move_freepages_block(PageView mm, Zone& zone, uint64_t start_pfn, unsigned old_mt, unsigned new_mt) {
    uint64_t moved = 0;
    uint64_t end = start_pfn + pageblock_nr_pages;
    for (uint64_t p = start_pfn; p < end;) {
        Page& page = mm[p];
        if (!page.test(PG_buddy)) {
            p++;
            continue;
        }
        unsigned order = page.order;
        if (page.mt == old_mt) move_to_free_list(mm, zone, p, order, old_mt, new_mt);
        p += uint64_t{1} << order;
        moved += uint64_t{1} << order;
    }
    return moved;
}

void change_pageblock_range(Kernel& k, Zone& zone, uint64_t pfn, unsigned order, unsigned mt) {
    uint64_t nr_blocks = (uint64_t{1} << order) >> pageblock_order;
    if (nr_blocks == 0) nr_blocks = 1;
    for (uint64_t i = 0; i < nr_blocks; i++)
        set_pageblock_migratetype(k, zone, Pfn(pfn + i * pageblock_nr_pages), mt);
}

MaybePfn try_to_claim_block(Kernel& k, Zone& zone, uint64_t pfn, unsigned current_order, unsigned order,
                            unsigned start_type, unsigned block_type, unsigned alloc_flags) {
    PageView mm = k.mem_map->view();
    // Take ownership for orders >= pageblock_order.
    if (current_order >= pageblock_order) {
        del_page_from_free_list(mm, zone, pfn, current_order, block_type);
        change_pageblock_range(k, zone, pfn, current_order, start_type);
        uint64_t nr_added = expand(mm, zone, pfn, order, current_order, start_type);
        account_freepages(zone, static_cast<int64_t>(nr_added), start_type);
        // The block left block_type's accounting whole.
        account_freepages(zone, -(int64_t{1} << current_order), block_type);
        return Pfn(pfn);
    }

    // Splitting a pageblock between types: boost the watermark so kswapd
    // reclaims a little more and later fallbacks become less likely.
    if (boost_watermark(k, zone) && (alloc_flags & ALLOC_KSWAPD)) zone.flags |= ZONE_BOOSTED_WATERMARK;

    uint64_t start_pfn = 0, free_pages = 0, movable_pages = 0;
    if (!prep_move_freepages_block(mm, zone, pfn, &start_pfn, &free_pages, &movable_pages))
        return std::nullopt;

    uint64_t alike_pages;
    if (start_type == MIGRATE_MOVABLE) {
        alike_pages = movable_pages;
    } else if (block_type == MIGRATE_MOVABLE) {
        // Unmovable or reclaimable falling back to a movable block: every
        // page in use that is not movable counts as compatible.
        alike_pages = pageblock_nr_pages - (free_pages + movable_pages);
    } else {
        alike_pages = 0;
    }
    if (free_pages + alike_pages >= (uint64_t{1} << (pageblock_order - 1))) {
        move_freepages_block(mm, zone, start_pfn, block_type, start_type);
        set_pageblock_migratetype(k, zone, Pfn(start_pfn), start_type);
        return rmqueue_smallest(mm, zone, order, start_type);
    }
    return std::nullopt;
}

MaybePfn rmqueue_claim(Kernel& k, Zone& zone, unsigned order, unsigned start_mt, unsigned alloc_flags) {
    unsigned min_order = order;
    // With ALLOC_NOFRAGMENT, do not split other types' pageblocks.
    if (order < pageblock_order && (alloc_flags & ALLOC_NOFRAGMENT)) min_order = pageblock_order;
    // Largest blocks first: roughly the pageblock with the most free pages.
    for (int current = MAX_PAGE_ORDER; current >= static_cast<int>(min_order); --current) {
        FreeArea& area = zone.free_area[current];
        int fb = find_suitable_fallback(area, static_cast<unsigned>(current), start_mt, true);
        if (fb == -1) continue;
        if (fb == -2) break;
        uint64_t pfn = *get_page_from_free_area(area, static_cast<unsigned>(fb));
        auto page = try_to_claim_block(k, zone, pfn, static_cast<unsigned>(current), order, start_mt,
                                       static_cast<unsigned>(fb), alloc_flags);
        if (page) return page;
    }
    return std::nullopt;
}

MaybePfn rmqueue_steal(Kernel& k, Zone& zone, unsigned order, unsigned start_mt) {
    PageView mm = k.mem_map->view();
    for (unsigned current = order; current < NR_PAGE_ORDERS; current++) {
        FreeArea& area = zone.free_area[current];
        int fb = find_suitable_fallback(area, current, start_mt, false);
        if (fb < 0) continue;
        uint64_t pfn = *get_page_from_free_area(area, static_cast<unsigned>(fb));
        page_del_and_expand(mm, zone, pfn, order, current, static_cast<unsigned>(fb));
        return Pfn(pfn);
    }
    return std::nullopt;
}

MaybePfn rmqueue_cma_fallback(Kernel& k, Zone& zone, unsigned order) {
    return rmqueue_smallest(k.mem_map->view(), zone, order, MIGRATE_CMA);
}

}  // namespace

// ---- pageblock flags -------------------------------------------------------------

void set_pageblock_migratetype(Kernel& k, Zone& zone, Pfn pfn, unsigned migratetype) {
    uint8_t& f = zone.pageblock_flags[pageblock_index(zone, pfn.value)];
    f = static_cast<uint8_t>((f & ~0x7) | (migratetype & 0x7));
    // The allocator's copy, for a pageblock wholly in this zone.
    MemMap& mm = *k.mem_map;
    uint64_t block = pfn.value >> pageblock_order;
    if (block < mm.nr_pageblocks() && MemMap::entry_zone(mm.pageblock_slot(block)) == &zone)
        mm.pageblock_slot(block) =
            reinterpret_cast<uintptr_t>(&zone) | (migratetype & MemMap::kPageblockMtMask);
}

void setup_pageblock_table(Kernel& k) {
    static_assert(alignof(Zone) > MemMap::kPageblockMtMask,
                  "the pageblock table keeps the type in a Zone*'s low bits");
    MemMap& mm = *k.mem_map;
    std::vector<uint8_t> owners(mm.nr_pageblocks(), 0);
    for (auto& node : k.nodes) {
        for (auto& zone : node.node_zones) {
            if (!zone.spanned_pages) continue;
            uint64_t start = zone.zone_start_pfn.value, end = zone.zone_end_pfn().value;
            for (uint64_t b = start >> pageblock_order;
                 b < mm.nr_pageblocks() && (b << pageblock_order) < end; b++) {
                bool whole = (b << pageblock_order) >= start && ((b + 1) << pageblock_order) <= end;
                if (owners[b] < 2) owners[b]++;
                mm.pageblock_slot(b) = whole && owners[b] == 1
                                           ? reinterpret_cast<uintptr_t>(&zone) |
                                                 get_pageblock_migratetype(zone, Pfn(b << pageblock_order))
                                           : 0;
            }
        }
    }
}

// ---- __rmqueue ---------------------------------------------------------------------

// The rest of __rmqueue() when the requested type's own lists did not
// serve (or CMA was to be tried first).
[[gnu::noinline]] static MaybePfn rmqueue_buddy_fallback(Kernel& k, Zone& zone, unsigned order,
                                                         unsigned migratetype, unsigned alloc_flags,
                                                         bool cma_first) {
    if (cma_first) {
        if (auto p = rmqueue_cma_fallback(k, zone, order)) return p;
        if (auto p = rmqueue_smallest(k.mem_map->view(), zone, order, migratetype)) return p;
    }
    if (alloc_flags & ALLOC_CMA) {
        if (auto p = rmqueue_cma_fallback(k, zone, order)) return p;
    }
    if (auto p = rmqueue_claim(k, zone, order, migratetype, alloc_flags)) return p;
    if (!(alloc_flags & ALLOC_NOFRAGMENT)) {
        if (auto p = rmqueue_steal(k, zone, order, migratetype)) return p;
    }
    return std::nullopt;
}

MaybePfn rmqueue_buddy_block(Kernel& k, Zone& zone, unsigned order, unsigned migratetype,
                             unsigned alloc_flags) {
    // Balance movable allocations between CMA and the rest of the zone.
    bool cma_first =
        (alloc_flags & ALLOC_CMA) && zone.page_state(NR_FREE_CMA) > zone.page_state(NR_FREE_PAGES) / 2;
    if (!cma_first) [[likely]] {
        if (auto p = rmqueue_smallest(k.mem_map->view(), zone, order, migratetype)) [[likely]]
            return p;
    }
    return rmqueue_buddy_fallback(k, zone, order, migratetype, alloc_flags, cma_first);
}

MaybePfn rmqueue_smallest_type(Kernel& k, Zone& zone, unsigned order, unsigned migratetype) {
    return rmqueue_smallest(k.mem_map->view(), zone, order, migratetype);
}

// ---- freeing -------------------------------------------------------------------------

// del_page_from_free_list() of a merging buddy whose state word is w, from
// the list of its order it is on.
[[gnu::always_inline]] inline void unlink_buddy(PageView mm, FreeArea* area, Page& b, uint32_t w) {
    unsigned list_mt = w >> 24;
    PfnList& list = area->free_list[list_mt];
    uint32_t next = b.next, prev = b.prev;
    if ((next & prev) == PFN_NIL) {
        // Both ends: it was alone on the list.
        list.first = PFN_NIL;
        list.last = PFN_NIL;
    } else {
        if (prev != PFN_NIL)
            mm[prev].next = next;
        else
            list.first = next;
        if (next != PFN_NIL)
            mm[next].prev = prev;
        else
            list.last = prev;
    }
    // Unlike list_del(), this leaves b's links as they are: b is now inside
    // a larger free block, and links mean something only while a page is on
    // a list (mm_types.h); joining one writes them.
    b.set_state_word(w & ~Page::state(PG_buddy, 0xff, 0));
    area->nr_free--;
    area->nr_free_type[list_mt]--;
}

// The merges of __free_one_page() below pageblock order, where a buddy
// always shares the pageblock, and so the migratetype, of the block being
// freed: page_is_buddy() is then all there is to check, PG_buddy and the
// order tested together in the buddy's state word. With kCheckZone false
// the caller knows that the MAX_PAGE_ORDER block around pfn lies in the
// zone, so no buddy can fall outside it. Returns false when a buddy was
// not free: merging is over.
template <bool kCheckZone>
[[gnu::always_inline]] inline bool merge_below_pageblock(PageView mm, FreeArea*& area, uint64_t& pfn,
                                                         unsigned& order, uint64_t& buddy_pfn,
                                                         uint64_t zone_start, uint64_t zone_span) {
    uint32_t expect = Page::state(PG_buddy, order, 0);
    while (order < pageblock_order) {
        buddy_pfn = pfn ^ (uint64_t{1} << order);
        if (kCheckZone && buddy_pfn - zone_start >= zone_span) return false;
        Page& b = mm[buddy_pfn];
        uint32_t w = b.state_word();
        if ((w & Page::state(PG_buddy, 0xff, 0)) != expect) return false;
        unlink_buddy(mm, area, b, w);
        pfn &= buddy_pfn;
        order++;
        area++;
        expect += 1u << 16;
    }
    return true;
}

// __free_one_page() with fpi flags reduced to "to tail or not".
static void free_one_page_impl(Kernel& k, Zone& zone, uint64_t pfn, unsigned order, unsigned migratetype,
                               bool fpi_to_tail) {
    PageView mm = k.mem_map->view();
    const uint64_t zone_start = zone.zone_start_pfn.value, zone_end = zone.zone_end_pfn().value;
    const uint64_t zone_span = zone.spanned_pages;
    account_freepages(zone, int64_t{1} << order, migratetype);
    uint64_t buddy_pfn = 0;
    FreeArea* area = &zone.free_area[order];
    bool inside =
        (pfn & ~(MAX_ORDER_NR_PAGES - 1)) >= zone_start && (pfn | (MAX_ORDER_NR_PAGES - 1)) < zone_end;
    bool more = inside ? merge_below_pageblock<false>(mm, area, pfn, order, buddy_pfn, zone_start, zone_span)
                       : merge_below_pageblock<true>(mm, area, pfn, order, buddy_pfn, zone_start, zone_span);
    if (!more) goto merged;
    while (order < MAX_PAGE_ORDER) {
        buddy_pfn = pfn ^ (uint64_t{1} << order);
        if (buddy_pfn - zone_start >= zone_span) break;
        Page& b = mm[buddy_pfn];
        uint32_t w = b.state_word();
        if ((w & Page::state(PG_buddy, 0xff, 0)) != Page::state(PG_buddy, order, 0)) break;
        // Never merge a pageblock of an unmergeable type (isolated, CMA,
        // highatomic) with a block of another type.
        unsigned buddy_mt = get_pageblock_migratetype(zone, Pfn(buddy_pfn));
        if (migratetype != buddy_mt &&
            (!migratetype_is_mergeable(migratetype) || !migratetype_is_mergeable(buddy_mt)))
            break;
        unsigned list_mt = w >> 24;
        unlink_buddy(mm, area, b, w);
        if (!is_migrate_isolate(list_mt))
            mod_zone_page_state(zone, NR_FREE_PAGES_BLOCKS, -(int64_t{1} << order));
        if (buddy_mt != migratetype) set_pageblock_migratetype(k, zone, Pfn(buddy_pfn), migratetype);
        pfn &= buddy_pfn;
        order++;
        area++;
    }

merged:
    bool to_tail;
    if (fpi_to_tail) {
        to_tail = true;
    } else if (order >= MAX_PAGE_ORDER - 1) {
        to_tail = false;
    } else {
        // buddy_merge_likely(): if the block one order up is about to be
        // completed by a free buddy, put this one at the tail so it stays
        // free long enough to merge.
        uint64_t higher = buddy_pfn & pfn;
        uint64_t higher_buddy = higher ^ (uint64_t{1} << (order + 1));
        to_tail = page_is_buddy(mm, zone_start, zone_end, higher_buddy, order + 1);
    }
    add_to_free_list(mm, zone, pfn, order, migratetype, to_tail);
}

void free_one_page(Kernel& k, Zone& zone, Pfn pfn, unsigned order, unsigned migratetype) {
    free_one_page_impl(k, zone, pfn.value, order, migratetype, false);
}

void free_pages_ok(Kernel& k, Zone& zone, Pfn pfn, unsigned order, bool to_tail) {
    // free_one_page() / split_large_buddy(): a block larger than a pageblock
    // is freed a pageblock at a time, each with its own pageblock's type.
    uint64_t p = pfn.value;
    uint64_t end = p + (uint64_t{1} << order);
    unsigned piece = std::min(order, pageblock_order);
    do {
        unsigned mt = get_pageblock_migratetype(zone, Pfn(p));
        free_one_page_impl(k, zone, p, piece, mt, to_tail);
        p += uint64_t{1} << piece;
    } while (p != end);
    k.count_event(PGFREE, uint64_t{1} << order);
}

void free_boot_range(Kernel& k, Zone& zone, uint64_t start, uint64_t end) {
    // __free_pages_memory(): the largest chunks alignment allows, each freed
    // to the tail (FPI_TO_TAIL) so the lists run in ascending pfn order.
    while (start < end) {
        unsigned order =
            start ? std::min<unsigned>(MAX_PAGE_ORDER, static_cast<unsigned>(__builtin_ctzll(start)))
                  : MAX_PAGE_ORDER;
        while (start + (uint64_t{1} << order) > end) order--;
        free_pages_ok(k, zone, Pfn(start), order, true);
        start += uint64_t{1} << order;
    }
}

// ---- pageblock isolation (alloc_contig_range) ----------------------------------------

void move_freepages_block_isolate(Kernel& k, Zone& zone, Pfn pfn, unsigned new_mt) {
    PageView mm = k.mem_map->view();
    const uint64_t start = pageblock_start(pfn.value);
    const unsigned old_mt = get_pageblock_migratetype(zone, Pfn(start));
    // A free buddy larger than a pageblock that holds this one (its head
    // here or in an earlier pageblock) is taken off its list and freed
    // again a pageblock at a time, each piece with its own pageblock's
    // type (split_large_buddy()): the pieces of different types do not merge.
    for (unsigned order = pageblock_order + 1; order < NR_PAGE_ORDERS; order++) {
        uint64_t head = start & ~((uint64_t{1} << order) - 1);
        if (head < zone.zone_start_pfn.value) break;
        const Page& h = mm[head];
        if (!h.test(PG_buddy) || h.order != order) continue;
        unsigned hmt = h.mt;
        del_page_from_free_list(mm, zone, head, order, hmt);
        account_freepages(zone, -(int64_t{1} << order), hmt);
        set_pageblock_migratetype(k, zone, Pfn(start), new_mt);
        for (uint64_t p = head; p < head + (uint64_t{1} << order); p += pageblock_nr_pages)
            free_one_page_impl(k, zone, p, pageblock_order, get_pageblock_migratetype(zone, Pfn(p)), false);
        return;
    }
    // Leaving isolation: a whole free pageblock whose buddy is free and not
    // isolated goes back through __free_one_page so the two merge
    // (unset_migratetype_isolate()'s __putback_isolated_page()).
    if (is_migrate_isolate(old_mt) && !is_migrate_isolate(new_mt)) {
        const Page& h = mm[start];
        if (h.test(PG_buddy) && h.order == pageblock_order && pageblock_order < MAX_PAGE_ORDER) {
            uint64_t buddy = start ^ pageblock_nr_pages;
            if (page_is_buddy(mm, zone.zone_start_pfn.value, zone.zone_end_pfn().value, buddy,
                              pageblock_order) &&
                !is_migrate_isolate(mm[buddy].mt)) {
                del_page_from_free_list(mm, zone, start, pageblock_order, old_mt);
                set_pageblock_migratetype(k, zone, Pfn(start), new_mt);
                free_one_page_impl(k, zone, start, pageblock_order, new_mt, false);
                return;
            }
        }
    }
    move_freepages_block(mm, zone, start, old_mt, new_mt);
    set_pageblock_migratetype(k, zone, Pfn(start), new_mt);
}

// ---- taking a given free block (compaction, CMA) ------------------------------------

bool isolate_free_page(Kernel& k, Zone& zone, Pfn pfn, unsigned order) {
    PageView mm = k.mem_map->view();
    unsigned mt = mm[pfn.value].mt;
    if (!is_migrate_isolate(mt)) {
        // Compaction must not take the last free pages the reserves need:
        // the plain min mark (no boost) plus the block, counting CMA.
        uint64_t mark = zone.watermark[WMARK_MIN] + (uint64_t{1} << order);
        if (!zone_watermark_ok(zone, 0, mark, 0, ALLOC_CMA, zone.page_state(NR_FREE_PAGES))) return false;
    }
    del_page_from_free_list(mm, zone, pfn.value, order, mt);
    account_freepages(zone, -(int64_t{1} << order), mt);
    // A block of half a pageblock or more: its pageblocks become movable
    // (only the mergeable types), with whatever else is free in them.
    if (order >= pageblock_order - 1) {
        uint64_t end = pfn.value + (uint64_t{1} << order) - 1;
        for (uint64_t p = pfn.value; p < end; p += pageblock_nr_pages) {
            unsigned bmt = get_pageblock_migratetype(zone, Pfn(p));
            if (migratetype_is_mergeable(bmt) && bmt != MIGRATE_MOVABLE) {
                move_freepages_block(mm, zone, pageblock_start(p), bmt, MIGRATE_MOVABLE);
                set_pageblock_migratetype(k, zone, Pfn(p), MIGRATE_MOVABLE);
            }
        }
    }
    return true;
}

void split_page(Kernel& k, Pfn pfn, unsigned order) {
    MemMap& mm = *k.mem_map;
    for (uint64_t i = 0; i < (uint64_t{1} << order); i++) {
        Page& p = mm[pfn.value + i];
        p.order = 0;
        p.mt = 0;
        p.refcount = 1;
    }
}

// ---- helpers -----------------------------------------------------------------------

[[noreturn]] void pfn_in_no_zone(Pfn pfn) {
    throw std::logic_error(fmt::format("pfn {:#x} is in no zone", pfn.value));
}

uint64_t int_sqrt(uint64_t x) {
    // The bit-by-bit method of lib/math/int_sqrt.c: floor(sqrt(x)).
    if (x <= 1) return x;
    uint64_t m = uint64_t{1} << ((63 - __builtin_clzll(x)) & ~1ull);
    uint64_t y = 0;
    while (m != 0) {
        uint64_t b = y + m;
        y >>= 1;
        if (x >= b) {
            x -= b;
            y += m;
        }
        m >>= 2;
    }
    return y;
}

// ---- validation ----------------------------------------------------------------------

// The message is built only when the check fails: validation runs after
// every operation in tests and walks every free page.
#define check(ok, what)                                                                    \
    do {                                                                                   \
        if (!(ok)) throw std::logic_error(std::string("page_alloc invariant: ") + (what)); \
    } while (0)

namespace {

struct FreeSpan {
    uint64_t start, end;
    bool pcp;
};

// No two free or pcp blocks of a zone overlap, and none holds a page that
// boot marked as a hole or reserved. Only boot sets PG_hole and
// PG_reserved, and only inside the layout's holes and memblock.reserved
// ranges, so those ranges are the only places to look; a reserved range
// may be free legitimately where CMA activation cleared the flag, so
// there the descriptors themselves are read (CMA wrote them already).
void check_free_spans(const Kernel& k, const Zone& zone, const std::string& zn,
                      std::vector<FreeSpan>& spans) {
    std::sort(spans.begin(), spans.end(),
              [](const FreeSpan& a, const FreeSpan& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < spans.size(); i++) {
        const FreeSpan &a = spans[i - 1], &b = spans[i];
        check(
            a.end <= b.start,
            fmt::format("{}: pfn {:#x} {}", zn, b.start,
                        a.pcp || b.pcp ? "both free and on a pcp list (or on two pcp lists)" : "free twice"));
    }
    // The first span that ends after pfn.
    auto from = [&](uint64_t pfn) {
        return std::upper_bound(spans.begin(), spans.end(), pfn,
                                [](uint64_t v, const FreeSpan& s) { return v < s.end; });
    };
    const MemMap& mm = *k.mem_map;
    uint64_t zs = zone.zone_start_pfn.value, ze = zone.zone_end_pfn().value;
    for (const auto& g : k.layout.nodes) {
        if (g.id != zone.node) continue;
        // Holes: the zone's span outside the node's memory.
        uint64_t cur = zs;
        auto no_span_in = [&](uint64_t lo, uint64_t hi) {
            auto it = from(lo);
            check(it == spans.end() || it->start >= hi,
                  fmt::format("{}: hole pfn {:#x} is free", zn,
                              std::max(lo, it == spans.end() ? lo : it->start)));
        };
        for (const auto& m : g.memory) {
            if (cur < std::min(m.start, ze)) no_span_in(cur, std::min(m.start, ze));
            cur = std::max(cur, m.end);
        }
        if (cur < ze) no_span_in(cur, ze);
        for (const auto& r : g.reserved) {
            uint64_t lo = std::max(r.start, zs), hi = std::min(r.end, ze);
            for (auto it = from(lo); lo < hi && it != spans.end() && it->start < hi; ++it)
                for (uint64_t p = std::max(lo, it->start); p < std::min(hi, it->end); p++)
                    check(!mm[p].test(PG_reserved) && !mm[p].test(PG_hole),
                          fmt::format("{}: reserved pfn {:#x} is free", zn, p));
        }
    }
}

}  // namespace

void validate_page_alloc(const Kernel& k) {
    const MemMap& mm = *k.mem_map;
    for (const auto& node : k.nodes) {
        for (const auto& zone : node.node_zones) {
            std::string zn = fmt::format("node {} zone {}", zone.node, zone_kind_name(zone.kind));
            // Every free and pcp block as [start, end), to check afterwards
            // that no two overlap and that none covers a hole or reserved
            // memory. Done by intervals, not page by page: the descriptors
            // inside a free block are usually memory the host has never
            // handed out, and reading them would make it do so.
            std::vector<FreeSpan> spans;
            int64_t free_pages = 0, free_blocks = 0, free_cma = 0;
            uint64_t free_highatomic = 0;
            for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
                const FreeArea& area = zone.free_area[order];
                uint64_t total = 0;
                for (unsigned mt = 0; mt < MIGRATE_TYPES; mt++) {
                    uint64_t n = 0;
                    uint32_t prev = PFN_NIL;
                    for (uint32_t p = area.free_list[mt].first; p != PFN_NIL; p = mm[p].next) {
                        const Page& pg = mm[p];
                        check(pg.prev == prev, zn + ": broken free list link");
                        check(pg.test(PG_buddy),
                              fmt::format("{}: pfn {:#x} on a free list without PG_buddy", zn, p));
                        check(pg.order == order,
                              fmt::format("{}: pfn {:#x} order {} on list {}", zn, p, pg.order, order));
                        check(pg.mt == mt, zn + ": block on the wrong migratetype list");
                        check((p & ((uint64_t{1} << order) - 1)) == 0,
                              fmt::format("{}: pfn {:#x} misaligned for order {}", zn, p, order));
                        check(zone.spans(Pfn(p)) && zone.spans(Pfn(p + (uint64_t{1} << order) - 1)),
                              fmt::format("{}: block {:#x} order {} outside the zone", zn, p, order));
                        spans.push_back({p, p + (uint64_t{1} << order), false});
                        if (order < MAX_PAGE_ORDER) {
                            uint64_t b = p ^ (uint64_t{1} << order);
                            bool buddy_free =
                                zone.spans(Pfn(b)) && mm[b].test(PG_buddy) && mm[b].order == order;
                            bool may_differ =
                                order >= pageblock_order &&
                                (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(mm[b].mt)) &&
                                mm[b].mt != mt;
                            check(!buddy_free || may_differ,
                                  fmt::format("{}: free blocks {:#x} and {:#x} of order {} did not merge", zn,
                                              p, b, order));
                        }
                        if (!is_migrate_isolate(mt)) {
                            free_pages += int64_t{1} << order;
                            if (order >= pageblock_order) free_blocks += int64_t{1} << order;
                            if (is_migrate_cma(mt)) free_cma += int64_t{1} << order;
                            if (mt == MIGRATE_HIGHATOMIC) free_highatomic += uint64_t{1} << order;
                        }
                        prev = p;
                        n++;
                    }
                    check(area.free_list[mt].last == prev, zn + ": free list tail is wrong");
                    check(n == area.nr_free_type[mt], zn + ": nr_free_type disagrees with the list");
                    total += n;
                }
                check(total == area.nr_free, fmt::format("{}: order {} nr_free {} but {} blocks listed", zn,
                                                         order, area.nr_free, total));
            }
            check(free_pages == zone.vm_stat[NR_FREE_PAGES],
                  fmt::format("{}: NR_FREE_PAGES {} but {} pages on free lists", zn,
                              zone.vm_stat[NR_FREE_PAGES], free_pages));
            check(free_blocks == zone.vm_stat[NR_FREE_PAGES_BLOCKS], zn + ": NR_FREE_PAGES_BLOCKS is wrong");
            check(free_cma == zone.vm_stat[NR_FREE_CMA], zn + ": NR_FREE_CMA is wrong");
            check(free_highatomic == zone.nr_free_highatomic, zn + ": nr_free_highatomic is wrong");

            // The allocator's pageblock table agrees with the zone.
            for (uint64_t pfn = zone.zone_start_pfn.value & ~(pageblock_nr_pages - 1);
                 pfn < zone.zone_end_pfn().value; pfn += pageblock_nr_pages) {
                uintptr_t e = mm.pageblock_entry(pfn);
                bool whole =
                    pfn >= zone.zone_start_pfn.value && pfn + pageblock_nr_pages <= zone.zone_end_pfn().value;
                check(!e || (whole && MemMap::entry_zone(e) == &zone &&
                             MemMap::entry_migratetype(e) == get_pageblock_migratetype(zone, Pfn(pfn))),
                      fmt::format("{}: the pageblock table disagrees at pfn {:#x}", zn, pfn));
            }

            int64_t pcp_total = 0;
            for (const auto& pcp : zone.pcp) {
                int64_t count = 0;
                for (unsigned i = 0; i < NR_PCP_LISTS; i++) {
                    unsigned order = i >= NR_LOWORDER_PCP_LISTS ? HPAGE_PMD_ORDER : i / MIGRATE_PCPTYPES;
                    const PcpList& list = pcp.lists[i];
                    check(list.ring.empty()
                              ? list.mask == 0 && list.size() == 0
                              : list.ring.size() == list.mask + std::size_t{1} && list.size() <= list.mask,
                          zn + ": pcp ring bookkeeping is wrong");
                    for (uint32_t n = 0; n < list.size(); n++) {
                        uint32_t p = list.at(n);
                        check(mm[p].test(PG_pcp) && !mm[p].test(PG_buddy), zn + ": bad page on a pcp list");
                        check(mm[p].order == order, zn + ": pcp page of the wrong order");
                        check(i >= NR_LOWORDER_PCP_LISTS || mm[p].mt == i % MIGRATE_PCPTYPES,
                              zn + ": pcp page on the wrong migratetype's list");
                        check(zone.spans(Pfn(p)) && zone.spans(Pfn(p + (uint64_t{1} << order) - 1)),
                              fmt::format("{}: pcp block {:#x} outside the zone", zn, p));
                        spans.push_back({p, p + (uint64_t{1} << order), true});
                        count += int64_t{1} << order;
                    }
                }
                check(count == pcp.count, zn + ": pcp count disagrees with its lists");
                pcp_total += count;
            }
            check_free_spans(k, zone, zn, spans);
            check(free_pages + pcp_total <= static_cast<int64_t>(zone.managed_pages),
                  zn + ": more free pages than managed pages");
        }
    }
}

#undef check

void debug_check_page_alloc(Kernel& k) {
    if (++k.debug_vm_ops < k.debug_vm_stride) return;
    k.debug_vm_ops = 0;
    validate_page_alloc(k);
}

}  // namespace mmsim
