// The Contiguous Memory Allocator.
//
// Models Linux 6.18's mm/cma.c, kernel/dma/contiguous.c's default area,
// and alloc_contig_range() with its helpers in mm/page_alloc.c and
// mm/page_isolation.c.
//
// Some devices need large physically contiguous buffers (a camera's frame,
// a DMA engine without an IOMMU). After long use the buddy allocator rarely
// has such a block free, and compaction cannot promise one. CMA sets a
// region aside at boot and lends it out in the meantime:
//
//   boot    cma=64M: dma_contiguous_reserve() asks memblock for 64 MiB
//           aligned to a pageblock. With memory reaching 4 GiB + size the
//           search runs bottom-up from 4 GiB (out of DMA/DMA32, low in the
//           node); otherwise top-down, the highest free run below the end
//           of mapped memory. "cma: Reserved 64 MiB at 0x..." is logged;
//           the pages stay reserved, so memblock_free_all() skips them.
//   initcall cma_init_reserved_areas(): each pageblock of the area gets
//           the type MIGRATE_CMA and is freed (an order-9 free goes through
//           the per-CPU lists like any other); the zone's managed_pages,
//           cma_pages and totalram_pages grow. CmaTotal is the area's size.
//   lending Free pages in CMA pageblocks are counted in NR_FREE_CMA
//           (CmaFree). Only movable allocations (ALLOC_CMA) take them:
//           __rmqueue() tries CMA first when more than half of the zone's
//           free pages are CMA, and otherwise after the request's own
//           lists; the watermark check of a request without ALLOC_CMA does
//           not count free CMA pages; the fallback (claim/steal) never
//           touches CMA pageblocks. (page_alloc.cpp implements these.)
//   cma_alloc(count, align) searches the area's bitmap for `count` clear
//           bits at an aligned position, sets them and calls
//           alloc_contig_range() on the range:
//             1. every pageblock the range touches becomes MIGRATE_ISOLATE;
//                its free pages move to the isolate lists (they leave
//                NR_FREE_PAGES and NR_FREE_CMA), and nothing allocates there;
//             2. the CPUs' lists are drained, so cached free pages land on
//                the isolate lists too;
//             3. the in-use pages are isolated a batch (32) at a time
//                (compact_isolated counts them); the batch's clean pages of
//                ordinary files are reclaimed -- unmapped and dropped from
//                the page cache, as the data is on disk anyway
//                (reclaim_clean_pages_from_list(), src/mm/vmscan.cpp) --
//                and the rest are migrated out:
//                targets come from the ordinary allocator (GFP_USER |
//                __GFP_MOVABLE | __GFP_RETRY_MAYFAIL, so possibly other CMA
//                pageblocks but never isolated ones); a batch that keeps
//                failing five rounds gives EBUSY;
//             4. every page of the range must now be free in an isolated
//                pageblock (test_pages_isolated), else EBUSY; a slab page,
//                a page table, an alloc_pages page or a pinned page stays;
//             5. the free blocks are taken, split into order-0 pages, and
//                the parts of the first and last block outside the range
//                freed again;
//             6. the pageblocks get MIGRATE_CMA back (undo_isolate), whatever
//                the outcome.
//           On EBUSY the bits are cleared and the search resumes at the
//           next aligned position; when none is left, the kernel logs
//           "cma: __cma_alloc: reserved: alloc failed, req-size: N pages,
//           ret: -16" with the area's free runs.
//   cma_release() frees each page and clears the bits.
//   counting Every cma_alloc() that got past its argument checks counts one
//           vmstat event, cma_alloc_success or cma_alloc_fail, and adds
//           its page count to the area's nr_pages_succeeded or
//           nr_pages_failed; cma_release() adds to nr_pages_released.
//           mm/cma_sysfs.c shows them per area (src/proc/cma_sysfs.cpp).
//
// Not modelled: huge pages in the range (the simulator has no transparent
// huge pages yet; a compound page in the range is a kernel allocation,
// which the kernel cannot move either: EBUSY). The area's
// bitmap is kmalloc'ed by the kernel; here it is not a slab object.
#include "mm/cma.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "mm/memmap.h"
#include "mm/migrate.h"
#include "mm/page_alloc.h"
#include "mm/vmscan.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

uint64_t pb_start(uint64_t pfn) { return pfn & ~(pageblock_nr_pages - 1); }
uint64_t pb_end(uint64_t pfn) { return (pfn + pageblock_nr_pages - 1) & ~(pageblock_nr_pages - 1); }

// init_cma_reserved_pageblock().
void init_cma_reserved_pageblock(Kernel& k, Zone& zone, uint64_t pfn) {
    MemMap& mm = *k.mem_map;
    for (uint64_t p = pfn; p < pfn + pageblock_nr_pages; p++) {
        Page& pg = mm[p];
        pg.clear(PG_reserved);
        pg.refcount = 0;
    }
    set_pageblock_migratetype(k, zone, Pfn(pfn), MIGRATE_CMA);
    mm[pfn].refcount = 1;
    // adjust_managed_page_count() follows the free in the kernel; here it
    // comes first so the checks run inside the free see consistent counts.
    zone.managed_pages += pageblock_nr_pages;
    k.totalram_pages += pageblock_nr_pages;
    zone.cma_pages += pageblock_nr_pages;
    free_pages(k, Pfn(pfn), pageblock_order);
}

// cma_activate_area(): the whole area must lie in one zone.
void cma_activate_area(Kernel& k, CmaArea& cma) {
    Zone* zone = k.page_zone(Pfn(cma.base_pfn));
    bool ok = zone != nullptr;
    for (uint64_t p = cma.base_pfn; ok && p < cma.base_pfn + cma.count; p += pageblock_nr_pages)
        ok = k.page_zone(Pfn(p)) == zone && k.page_zone(Pfn(p + pageblock_nr_pages - 1)) == zone;
    if (!ok) {
        // The pages go to the buddy allocator as ordinary memory.
        k.log.printk(k.clock.now(), LogLevel::Err,
                     fmt::format("cma: CMA area {} could not be activated", cma.name));
        for (uint64_t p = cma.base_pfn; p < cma.base_pfn + cma.count; p++) {
            Zone* z = k.page_zone(Pfn(p));
            if (!z) continue;
            Page& pg = k.mem_map->view()[p];
            pg.clear(PG_reserved);
            pg.refcount = 1;
            z->managed_pages++;
            k.totalram_pages++;
            free_pages(k, Pfn(p), 0);
        }
        cma.count = cma.available_count = 0;
        return;
    }
    cma.bitmap.assign(cma.count >> cma.order_per_bit, 0);
    cma.nid = zone->node;
    for (uint64_t p = cma.base_pfn; p < cma.base_pfn + cma.count; p += pageblock_nr_pages)
        init_cma_reserved_pageblock(k, *zone, p);
    cma.active = true;
}

// The pages of [start, end) that are free and isolated
// (test_pages_isolated()'s walk): each must be the head of a free block
// on an isolate list, or inside one.
bool range_isolated_and_free(Kernel& k, uint64_t start, uint64_t end) {
    PageView mm = k.mem_map->view();
    uint64_t p = start;
    // Start from the free block holding `start`, if it begins earlier.
    for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
        uint64_t head = start & ~((uint64_t{1} << order) - 1);
        if (mm[head].test(PG_buddy) && mm[head].order >= order &&
            head + (uint64_t{1} << mm[head].order) > start) {
            p = head;
            break;
        }
    }
    while (p < end) {
        const Page& pg = mm[p];
        if (!pg.test(PG_buddy) || pg.mt != MIGRATE_ISOLATE) return false;
        p += uint64_t{1} << pg.order;
    }
    return true;
}

// __alloc_contig_migrate_range(): migrates the in-use pages of [start,
// end) out, a batch (COMPACT_CLUSTER_MAX) at a time. Pages that cannot be
// isolated are passed over (test_pages_isolated() finds them later).
Result<void> alloc_contig_migrate_range(Kernel& k, Zone& zone, uint64_t start, uint64_t end) {
    constexpr std::size_t kClusterMax = 32;  // COMPACT_CLUSTER_MAX (SWAP_CLUSTER_MAX)
    PageView mm = k.mem_map->view();
    std::vector<Pfn> list;
    uint64_t pfn = start;
    int tries = 0;
    const gfp_t target_gfp = GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL;
    while (pfn < end || !list.empty()) {
        if (list.empty()) {
            // isolate_migratepages_range(): LRU pages the caller may move,
            // including mlocked ones (alloc_contig moves unevictable pages).
            while (pfn < end && list.size() < kClusterMax) {
                const Page& pg = mm[pfn];
                if (pg.test(PG_buddy)) {
                    pfn += uint64_t{1} << pg.order;
                    continue;
                }
                if (page_movability(k, Pfn(pfn), true) == Unmovable::None) list.push_back(Pfn(pfn));
                pfn++;
            }
            tries = 0;
            if (list.empty()) continue;
            k.count_event(COMPACT_ISOLATED, list.size());  // isolate_migratepages_block()
        } else if (++tries == 5) {
            return Errno::BUSY;  // putback: the pages stay where they are
        }
        // Clean page cache is dropped, not copied; the rest migrates.
        reclaim_clean_pages_from_list(k, zone, list);
        MigrateResult r = migrate_pages(
            k, list, [&](Pfn) { return alloc_pages(k, target_gfp, 0, zone.node); },
            [&](Pfn dst) { free_pages(k, dst, 0); }, MigrateMode::Sync, MigrateReason::ContigRange);
        if (r.out_of_targets) return Errno::NOMEM;
    }
    return {};
}

}  // namespace

CmaArea* default_cma_area(Kernel& k) {
    if (!k.cma || k.cma->areas.empty()) return nullptr;
    return &k.cma->areas.front();
}

uint64_t cma_reserved_pages(const Kernel& k) {
    uint64_t n = 0;
    for (const auto& r : k.layout.cma) n += r.size();
    return n;
}

void cma_init_reserved_areas(Kernel& k) {
    if (k.layout.cma.empty()) return;
    if (!k.cma) k.cma = std::make_unique<CmaState>();
    for (const auto& r : k.layout.cma) {
        CmaArea a;
        a.base_pfn = r.start;
        a.count = a.available_count = r.size();
        k.cma->areas.push_back(std::move(a));
    }
    for (auto& a : k.cma->areas) cma_activate_area(k, a);
}

Result<void> alloc_contig_range(Kernel& k, uint64_t start, uint64_t end) {
    Zone& zone = pfn_zone(k, Pfn(start));
    const uint64_t iso_start = pb_start(start), iso_end = pb_end(end);
    // start_isolate_page_range(): CMA pageblocks are isolated without the
    // unmovable-page check (has_unmovable_pages() passes CMA blocks).
    std::vector<unsigned> old_mt;
    for (uint64_t p = iso_start; p < iso_end; p += pageblock_nr_pages) {
        old_mt.push_back(get_pageblock_migratetype(zone, Pfn(p)));
        move_freepages_block_isolate(k, zone, Pfn(p), MIGRATE_ISOLATE);
    }
    drain_all_pages(k, &zone);

    Result<void> ret = alloc_contig_migrate_range(k, zone, start, end);
    if (ret || ret.err() == Errno::BUSY) {
        // test_pages_isolated() decides, after a busy migration too.
        if (!range_isolated_and_free(k, start, end)) {
            ret = Errno::BUSY;
        } else {
            // isolate_freepages_range() and split_free_pages(): take every
            // free block over the range, as order-0 pages with a reference.
            PageView mm = k.mem_map->view();
            uint64_t outer_start = start;
            for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
                uint64_t head = start & ~((uint64_t{1} << order) - 1);
                if (mm[head].test(PG_buddy) && head + (uint64_t{1} << mm[head].order) > start) {
                    outer_start = head;
                    break;
                }
            }
            uint64_t p = outer_start;
            while (p < end) {
                unsigned order = mm[p].order;
                if (!isolate_free_page(k, zone, Pfn(p), order))
                    throw std::logic_error("alloc_contig_range: an isolated free block could not be taken");
                for (uint64_t q = p; q < p + (uint64_t{1} << order); q++) {
                    Page& pg = mm[q];
                    pg.order = 0;
                    pg.refcount = 1;
                }
                p += uint64_t{1} << order;
            }
            const uint64_t outer_end = p;
            // Free head and tail: they go to the isolate lists.
            if (start != outer_start) free_contig_range(k, outer_start, start - outer_start);
            if (end != outer_end) free_contig_range(k, end, outer_end - end);
            ret = {};
        }
    }
    // undo_isolate_page_range()
    std::size_t i = 0;
    for (uint64_t p = iso_start; p < iso_end; p += pageblock_nr_pages, i++)
        move_freepages_block_isolate(k, zone, Pfn(p), old_mt[i]);
    return ret;
}

void free_contig_range(Kernel& k, uint64_t pfn, uint64_t nr_pages) {
    for (uint64_t p = pfn; p < pfn + nr_pages; p++) free_pages(k, Pfn(p), 0);
}

Result<Pfn> cma_alloc(Kernel& k, CmaArea& cma, uint64_t count, unsigned align, bool no_warn) {
    if (!cma.active || !count) return Errno::INVAL;
    // cma_bitmap_aligned_mask() / _offset() with order_per_bit 0.
    const uint64_t mask = align > cma.order_per_bit ? (uint64_t{1} << (align - cma.order_per_bit)) - 1 : 0;
    // Bit b is a candidate when (b + offset) is a multiple of mask + 1, so
    // that base_pfn + b is aligned to 2^align.
    const uint64_t offset = (cma.base_pfn & ((uint64_t{1} << align) - 1)) >> cma.order_per_bit;
    const uint64_t maxno = cma.bitmap.size();
    const uint64_t nbits = (count + (uint64_t{1} << cma.order_per_bit) - 1) >> cma.order_per_bit;
    Result<Pfn> ret = Errno::BUSY;
    if (nbits <= maxno) {
        uint64_t start = 0;
        for (;;) {
            // Fewer pages left than asked for: no position can work.
            if (count > cma.available_count) break;
            // bitmap_find_next_zero_area_off(): the first run of nbits
            // clear bits at or after start whose index + offset is a
            // multiple of mask + 1.
            uint64_t no = maxno;
            for (uint64_t idx = ((start + offset + mask) & ~mask) - offset; idx + nbits <= maxno;) {
                auto it =
                    std::find(cma.bitmap.begin() + static_cast<std::ptrdiff_t>(idx),
                              cma.bitmap.begin() + static_cast<std::ptrdiff_t>(idx + nbits), uint8_t{1});
                if (it == cma.bitmap.begin() + static_cast<std::ptrdiff_t>(idx + nbits)) {
                    no = idx;
                    break;
                }
                uint64_t next = static_cast<uint64_t>(it - cma.bitmap.begin()) + 1;
                idx = ((next + offset + mask) & ~mask) - offset;
            }
            if (no >= maxno) break;
            std::fill_n(cma.bitmap.begin() + static_cast<std::ptrdiff_t>(no), nbits, uint8_t{1});
            cma.available_count -= count;
            uint64_t pfn = cma.base_pfn + (no << cma.order_per_bit);
            Result<void> r = alloc_contig_range(k, pfn, pfn + count);
            if (r) {
                ret = Pfn(pfn);
                break;
            }
            // cma_clear_bitmap()
            std::fill_n(cma.bitmap.begin() + static_cast<std::ptrdiff_t>(no), nbits, uint8_t{0});
            cma.available_count += count;
            ret = r.error();
            if (r.err() != Errno::BUSY) break;
            start = no + mask + 1;
        }
    }
    if (!ret && !no_warn) {
        auto pr = [&](LogLevel l, std::string s) { k.log.printk(k.clock.now(), l, std::move(s)); };
        pr(LogLevel::Err, fmt::format("cma: __cma_alloc: {}: alloc failed, req-size: {} pages, ret: -{}",
                                      cma.name, count, static_cast<int>(ret.err())));
        // cma_debug_show_areas(): the free runs as pages@bit.
        pr(LogLevel::Info, "cma: number of available pages: ");
        std::string runs;
        for (uint64_t b = 0; b < maxno;) {
            if (cma.bitmap[b]) {
                b++;
                continue;
            }
            uint64_t e = b;
            while (e < maxno && !cma.bitmap[e]) e++;
            runs += fmt::format("{}{}@{}", b ? "+" : "", (e - b) << cma.order_per_bit, b);
            b = e;
        }
        pr(LogLevel::Info, "cma: range 0: " + runs);
        pr(LogLevel::Info, fmt::format("cma: => {} free of {} total pages", cma.available_count, cma.count));
    }
    // One event per call; the area's sysfs counters in pages.
    if (ret) {
        k.count_event(CMA_ALLOC_SUCCESS);
        cma.nr_pages_succeeded += count;
    } else {
        k.count_event(CMA_ALLOC_FAIL);
        cma.nr_pages_failed += count;
    }
    return ret;
}

bool cma_release(Kernel& k, CmaArea& cma, Pfn pfn, uint64_t count) {
    if (pfn.value < cma.base_pfn || pfn.value + count > cma.base_pfn + cma.count || !count) return false;
    free_contig_range(k, pfn.value, count);
    uint64_t first = (pfn.value - cma.base_pfn) >> cma.order_per_bit;
    uint64_t nbits = (count + (uint64_t{1} << cma.order_per_bit) - 1) >> cma.order_per_bit;
    std::fill_n(cma.bitmap.begin() + static_cast<std::ptrdiff_t>(first), nbits, uint8_t{0});
    cma.available_count += count;
    cma.nr_pages_released += count;  // cma_sysfs_account_release_pages()
    return true;
}

void validate_cma(const Kernel& k) {
    auto check = [](bool ok, const std::string& what) {
        if (!ok) throw std::logic_error("cma: " + what);
    };
    const PageView mm = k.mem_map->view();
    auto in_area = [&](uint64_t pfn) {
        if (!k.cma) return false;
        for (const auto& a : k.cma->areas)
            if (a.active && pfn >= a.base_pfn && pfn < a.base_pfn + a.count) return true;
        return false;
    };
    for (const auto& node : k.nodes) {
        for (const auto& zone : node.node_zones) {
            if (!zone.spanned_pages) continue;
            uint64_t first = zone.zone_start_pfn.value & ~(pageblock_nr_pages - 1);
            for (uint64_t p = first; p < zone.zone_end_pfn().value; p += pageblock_nr_pages)
                if (get_pageblock_migratetype(zone, Pfn(std::max(p, zone.zone_start_pfn.value))) ==
                    MIGRATE_CMA)
                    check(in_area(p),
                          fmt::format("pageblock at pfn {:#x} is MIGRATE_CMA outside every CMA area", p));
            uint64_t free_cma = 0;
            for (const auto& area : zone.free_area)
                for (uint64_t q = area.free_list[MIGRATE_CMA].first; q != PFN_NIL; q = mm[q].next)
                    free_cma += uint64_t{1} << mm[q].order;
            check(static_cast<int64_t>(free_cma) == zone.vm_stat[NR_FREE_CMA],
                  fmt::format("node {} zone {}: NR_FREE_CMA {} but {} pages on the CMA free lists", zone.node,
                              zone_kind_name(zone.kind), zone.vm_stat[NR_FREE_CMA], free_cma));
        }
    }
    if (!k.cma) return;
    for (const auto& a : k.cma->areas) {
        if (!a.active) continue;
        uint64_t clear = 0;
        for (uint64_t b = 0; b < a.bitmap.size(); b++) {
            uint64_t p0 = a.base_pfn + (b << a.order_per_bit);
            if (!a.bitmap[b]) {
                clear++;
                continue;
            }
            for (uint64_t p = p0; p < p0 + (uint64_t{1} << a.order_per_bit); p++)
                check(!(mm[p].flags & (PG_buddy | PG_pcp)) && mm[p].refcount > 0,
                      fmt::format("area {}: pfn {:#x} is handed out by cma_alloc but free", a.name, p));
        }
        check(clear << a.order_per_bit == a.available_count,
              fmt::format("area {}: available_count {} but {} clear pages", a.name, a.available_count,
                          clear << a.order_per_bit));
        for (uint64_t p = a.base_pfn; p < a.base_pfn + a.count; p += pageblock_nr_pages) {
            const Zone* z = const_cast<Kernel&>(k).page_zone(Pfn(p));
            check(z && get_pageblock_migratetype(*z, Pfn(p)) == MIGRATE_CMA,
                  fmt::format("area {}: pageblock at pfn {:#x} is not MIGRATE_CMA", a.name, p));
        }
    }
}

}  // namespace mmsim
