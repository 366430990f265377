// The Contiguous Memory Allocator (mm/cma.c, and alloc_contig_range() of
// mm/page_alloc.c): a region reserved at boot whose pageblocks lend their
// free pages to movable allocations until a driver asks for a physically
// contiguous range, which is then emptied by migration.
//
// See the essay at the top of cma.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/result.h"

namespace mmsim {

// struct cma with its one range (cma=SIZE gives one area of one range).
struct CmaArea {
    std::string name = "reserved";  // dma_contiguous_reserve_area()'s name
    uint64_t base_pfn = 0;
    uint64_t count = 0;           // pages
    unsigned order_per_bit = 0;   // the default area: one bit per page
    std::vector<uint8_t> bitmap;  // one entry per 2^order_per_bit pages; 1 = handed out
    uint64_t available_count = 0;
    int nid = 0;
    bool active = false;  // cma_activate_area() succeeded
    // mm/cma_sysfs.c's counters, in pages: what cma_alloc() handed out,
    // what it was asked for and could not give, what cma_release() took
    // back (/sys/kernel/mm/cma/<name>/alloc_pages_success, ...).
    uint64_t nr_pages_succeeded = 0;
    uint64_t nr_pages_failed = 0;
    uint64_t nr_pages_released = 0;
};

struct CmaState {
    std::vector<CmaArea> areas;
};

// The default area (dma_contiguous_default_area), or nullptr.
CmaArea* default_cma_area(Kernel& k);

// cma_init_reserved_areas() (a core_initcall): activates every area the
// boot layout reserved (BootLayout::cma): each pageblock becomes
// MIGRATE_CMA and is freed to the buddy allocator, adding to the zone's
// managed pages, cma_pages and totalram_pages.
void cma_init_reserved_areas(Kernel& k);

// The pages the layout reserved for CMA (totalcma_pages as it stands
// before activation, for the boot "Memory:" line).
uint64_t cma_reserved_pages(const Kernel& k);

// alloc_contig_range(start, end, MIGRATE_CMA, GFP_KERNEL): isolates the
// pageblocks over [start, end), migrates every in-use page out of the
// range, and takes [start, end) off the free lists as order-0 pages with
// one reference each. EBUSY when a page cannot be moved (the pageblocks
// are restored); ENOMEM when migration targets ran out.
Result<void> alloc_contig_range(Kernel& k, uint64_t start, uint64_t end);

// free_contig_range(): drops one reference on each page of the range.
void free_contig_range(Kernel& k, uint64_t pfn, uint64_t nr_pages);

// cma_alloc(): `count` pages aligned to 2^align pages from the area, trying
// each free aligned position of the bitmap in turn while the range is busy
// (and giving up at once when the area has fewer than `count` pages not
// handed out). Logs the kernel's failure lines unless no_warn. Counts the
// vmstat event cma_alloc_success or cma_alloc_fail (one per call) and the
// area's nr_pages_succeeded or nr_pages_failed (`count` pages).
Result<Pfn> cma_alloc(Kernel& k, CmaArea& cma, uint64_t count, unsigned align, bool no_warn = false);

// cma_release(): gives the pages back and counts them in the area's
// nr_pages_released; false when they are not the area's.
bool cma_release(Kernel& k, CmaArea& cma, Pfn pfn, uint64_t count);

// MIGRATE_CMA pageblocks only inside active areas, NR_FREE_CMA equal to
// the free pages on the CMA lists, every area's bitmap consistent with its
// pages (a clear bit's pages are never held by cma_alloc), available_count
// equal to the clear bits.
void validate_cma(const Kernel& k);

}  // namespace mmsim
