// What the kernel computes when someone reads /proc/meminfo or /proc/vmstat.
//
// Most lines of those files are counters, but a few are estimates or limits
// worked out on every read, and they are the lines people act on:
//
//   MemAvailable  si_mem_available() (mm/show_mem.c). Free memory is not
//                 what a new program can have: the zones keep their
//                 watermarks and lowmem reserves back (totalreserve_pages),
//                 and much of the page cache and reclaimable slab could be
//                 dropped to make room. The estimate is
//
//                   free - totalreserve
//                   + pagecache   - min(pagecache / 2,   sum of low wmarks)
//                   + reclaimable - min(reclaimable / 2, sum of low wmarks)
//
//                 "at least half of the cache, or a low watermark's worth,
//                 is assumed to stay" -- a heuristic, but the kernel's own.
//   CommitLimit   vm_commit_limit() (mm/util.c): how much address space
//                 overcommit_memory=2 lets processes commit, RAM minus
//                 hugetlb pools times overcommit_ratio percent (or
//                 overcommit_kbytes), plus all swap.
//   DirectMap*    arch_report_meminfo() (arch/x86): the page sizes of the
//                 kernel's linear map of RAM. init_memory_mapping() maps
//                 each RAM range with 1 GiB pages where a whole aligned
//                 gigabyte is RAM, 2 MiB pages where a whole aligned 2 MiB
//                 is, and 4 KiB pages at the ragged ends (split_mem_range);
//                 the first MiB (the ISA range) is always 4 KiB pages.
//   nr_dirty_*threshold  global_dirty_limits() (mm/page-writeback.c):
//                 dirty_ratio percent of the "dirtyable" memory (free above
//                 the reserves plus the file LRU), with the ratio scaled to
//                 1/4096ths first, exactly as the kernel rounds it.
//
// Some numbers belong to subsystems mmsim does not model yet: block device
// page cache (Buffers), swap, zswap, vmalloc, the per-CPU allocator and
// overcommit accounting (Committed_AS). Their functions below return what
// the kernel reports with that subsystem idle, and are the one place to
// connect them when the subsystem arrives.
#include "mm/show_mem.h"

#include <algorithm>

#include "mm/swapfile.h"

namespace mmsim {

namespace {

uint64_t pos(int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; }

uint64_t node_pages(const Kernel& k, NodeStatItem i) { return pos(k.global_node_page_state(i)); }

bool zone_is_highmem(const Kernel& k, const Zone& z) {
    // is_highmem(): HighMem, and Movable when it takes its pages from
    // HighMem (zone_movable_is_highmem(), the i386 case).
    if (z.kind == ZoneKind::HighMem) return true;
    return z.kind == ZoneKind::Movable && config_highmem(k);
}

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
uint64_t round_down(uint64_t x, uint64_t a) { return x / a * a; }

}  // namespace

bool config_highmem(const Kernel& k) { return k.zone_index_of(ZoneKind::HighMem) >= 0; }

bool config_cma(const Kernel& k) { return totalcma_pages(k) != 0; }

SysInfo si_meminfo(const Kernel& k) {
    SysInfo i;
    i.totalram = k.totalram_pages;
    i.sharedram = node_pages(k, NR_SHMEM);
    i.freeram = pos(k.global_zone_page_state(NR_FREE_PAGES));
    i.bufferram = nr_blockdev_pages(k);
    for (const auto& n : k.nodes) {
        for (const auto& z : n.node_zones) {
            if (!zone_is_highmem(k, z)) continue;
            i.totalhigh += z.managed_pages;
            i.freehigh += pos(z.vm_stat[NR_FREE_PAGES]);
        }
    }
    SwapInfoTotals swap = si_swapinfo(k);  // mm/swapfile.c
    i.totalswap = swap.totalswap;
    i.freeswap = swap.freeswap;
    return i;
}

uint64_t si_mem_available(const Kernel& k) {
    // for_each_zone(): every zone of every node, populated or not (an empty
    // Movable zone still has its token watermarks and they count).
    uint64_t wmark_low = 0;
    for (const auto& n : k.nodes)
        for (const auto& z : n.node_zones) wmark_low += z.low_wmark_pages();

    int64_t available = k.global_zone_page_state(NR_FREE_PAGES) - static_cast<int64_t>(k.totalreserve_pages);

    uint64_t pagecache = node_pages(k, NR_ACTIVE_FILE) + node_pages(k, NR_INACTIVE_FILE);
    pagecache -= std::min(pagecache / 2, wmark_low);
    available += static_cast<int64_t>(pagecache);

    uint64_t reclaimable = node_pages(k, NR_SLAB_RECLAIMABLE) + node_pages(k, NR_KERNEL_MISC_RECLAIMABLE);
    reclaimable -= std::min(reclaimable / 2, wmark_low);
    available += static_cast<int64_t>(reclaimable);

    return available < 0 ? 0 : static_cast<uint64_t>(available);
}

uint64_t vm_commit_limit(const Kernel& k) {
    uint64_t allowed;
    if (k.vm.overcommit_kbytes) {
        allowed = k.vm.overcommit_kbytes >> (PAGE_SHIFT - 10);
    } else {
        uint64_t ram = k.totalram_pages - std::min(k.totalram_pages, hugetlb_total_pages(k));
        allowed = ram * static_cast<uint64_t>(std::max(k.vm.overcommit_ratio, 0)) / 100;
    }
    return allowed + total_swap_pages(k);
}

// No mmap/brk accounting yet: nothing is committed (vm_committed_as).
// vm_committed_as, kept by the overcommit accounting of src/mm/mmap.cpp.
uint64_t vm_memory_committed(const Kernel& k) {
    return k.vm_committed_pages > 0 ? static_cast<uint64_t>(k.vm_committed_pages) : 0;
}

uint64_t total_swapcache_pages(const Kernel& k) { return node_pages(k, NR_SWAPCACHED); }

// No block devices yet, so no block device page cache.
uint64_t nr_blockdev_pages(const Kernel&) { return 0; }

// total_swap_pages() and nr_swap_pages_free() are in src/mm/swapfile.cpp.

// No zswap pool yet.
uint64_t zswap_total_pages(const Kernel&) { return 0; }
uint64_t zswap_stored_pages(const Kernel&) { return 0; }

uint64_t vmalloc_total_kb(const Kernel& k) {
    // x86-64 with 4-level paging: VMALLOC_END - VMALLOC_START is 32 TiB
    // minus one byte. i386 (3G/1G split, 896 MiB lowmem): the 120 MiB
    // between high_memory + 8 MiB and the persistent kmap area.
    if (k.layout.arch == ArchProfile::I386 || config_highmem(k)) return 122880;
    return ((uint64_t{32} << 40) - 1) >> 10;
}

// No per-CPU allocator yet.
uint64_t pcpu_nr_pages(const Kernel&) { return 0; }

uint64_t totalcma_pages(const Kernel& k) {
    uint64_t n = 0;
    for (const auto& node : k.nodes)
        for (const auto& z : node.node_zones) n += z.cma_pages;
    return n;
}

HugetlbReport hugetlb_report(const Kernel& k) {
    // Pool bookkeeping (free, reserved, surplus) comes with mm/hugetlb; the
    // pages the pools hold are already counted per node (NR_HUGETLB).
    HugetlbReport r;
    uint64_t pages = hugetlb_total_pages(k);
    r.total = pages / (r.page_size_kb / pages_to_kb(1));
    r.hugetlb_kb = pages_to_kb(pages);
    return r;
}

uint64_t hugetlb_total_pages(const Kernel& k) { return node_pages(k, NR_HUGETLB); }

std::vector<PfnRange> memblock_memory_ranges(const Kernel& k) {
    std::vector<PfnRange> ranges;
    for (const auto& g : k.layout.nodes)
        for (const auto& m : g.memory)
            if (m.size()) ranges.push_back(m);
    std::sort(ranges.begin(), ranges.end(),
              [](const PfnRange& a, const PfnRange& b) { return a.start < b.start; });
    std::vector<PfnRange> merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.start <= merged.back().end)
            merged.back().end = std::max(merged.back().end, r.end);
        else
            merged.push_back(r);
    }
    return merged;
}

namespace {

// memblock_is_region_memory(): is [start, end) entirely RAM?
bool is_region_memory(const std::vector<PfnRange>& ram, uint64_t start, uint64_t end) {
    for (const auto& r : ram)
        if (r.start <= start && end <= r.end) return true;
    return false;
}

enum PageLevel : unsigned { LEVEL_4K = 0, LEVEL_2M = 1, LEVEL_1G = 2 };

struct MapRange {
    uint64_t start, end;  // pfns
    unsigned level;       // largest page size allowed
};

constexpr uint64_t PMD_PAGES = 512;        // 2 MiB
constexpr uint64_t PUD_PAGES = 512 * 512;  // 1 GiB
constexpr uint64_t ISA_END_PFN = 0x100000 >> PAGE_SHIFT;

// split_mem_range() + adjust_range_page_size_mask() for one call of
// init_memory_mapping(start, end).
std::vector<MapRange> split_mem_range(const std::vector<PfnRange>& ram, uint64_t start, uint64_t end,
                                      bool x86_64, uint64_t max_low_pfn) {
    std::vector<MapRange> mr;
    auto save = [&](uint64_t s, uint64_t e, unsigned level) {
        if (s < e) mr.push_back({s, e, level});
    };
    uint64_t limit = end, pfn = start;
    // Head up to the first 2 MiB boundary (i386 keeps the first 2 MiB in
    // small pages for the fixed-size MTRRs there).
    uint64_t head_end = (!x86_64 && pfn == 0) ? PMD_PAGES : round_up(pfn, PMD_PAGES);
    head_end = std::min(head_end, limit);
    if (pfn < head_end) {
        save(pfn, head_end, LEVEL_4K);
        pfn = head_end;
    }
    uint64_t s = round_up(pfn, PMD_PAGES);
    uint64_t e = x86_64 ? std::min(round_up(pfn, PUD_PAGES), round_down(limit, PMD_PAGES))
                        : round_down(limit, PMD_PAGES);
    if (s < e) {
        save(s, e, LEVEL_2M);
        pfn = e;
    }
    if (x86_64) {
        s = round_up(pfn, PUD_PAGES);
        e = round_down(limit, PUD_PAGES);
        if (s < e) {
            save(s, e, LEVEL_1G);
            pfn = e;
        }
        s = round_up(pfn, PMD_PAGES);
        e = round_down(limit, PMD_PAGES);
        if (s < e) {
            save(s, e, LEVEL_2M);
            pfn = e;
        }
    }
    save(pfn, limit, LEVEL_4K);

    // A ragged piece may still use a big page if the whole aligned big page
    // around it is RAM.
    for (auto& r : mr) {
        if (r.level < LEVEL_2M) {
            uint64_t a = round_down(r.start, PMD_PAGES), b = round_up(r.end, PMD_PAGES);
            if ((x86_64 || b <= max_low_pfn) && is_region_memory(ram, a, b)) r.level = LEVEL_2M;
        }
        if (x86_64 && r.level < LEVEL_1G) {
            uint64_t a = round_down(r.start, PUD_PAGES), b = round_up(r.end, PUD_PAGES);
            if (is_region_memory(ram, a, b)) r.level = LEVEL_1G;
        }
    }
    return mr;
}

}  // namespace

DirectMapSizes direct_map_sizes(const Kernel& k) {
    bool x86_64 = !config_highmem(k) && k.layout.arch != ArchProfile::I386;
    std::vector<PfnRange> ram = memblock_memory_ranges(k);

    // i386 maps only lowmem: up to the end of the Normal zone (max_low_pfn).
    uint64_t max_low_pfn = UINT64_MAX;
    if (!x86_64) {
        max_low_pfn = 0;
        int normal = k.zone_index_of(ZoneKind::Normal);
        for (const auto& n : k.nodes) {
            for (const auto& z : n.node_zones) {
                if (static_cast<int>(z.idx) > normal || !z.spanned_pages) continue;
                max_low_pfn = std::max(max_low_pfn, z.zone_end_pfn().value);
            }
        }
    }

    // Each page of the map is counted once, at the level it was mapped
    // with: a big page covers its whole aligned block even where a range
    // only touched part of it.
    std::vector<std::pair<uint64_t, uint64_t>> mapped_big[3];  // aligned blocks, per level
    DirectMapSizes out;
    auto map_range = [&](const MapRange& r) {
        uint64_t step = r.level == LEVEL_1G ? PUD_PAGES : r.level == LEVEL_2M ? PMD_PAGES : 1;
        if (step == 1) {
            out.kb_4k += pages_to_kb(r.end - r.start);
            return;
        }
        for (uint64_t b = round_down(r.start, step); b < r.end; b += step) {
            auto& seen = mapped_big[r.level];
            if (!seen.empty() && seen.back().first == b) continue;
            seen.push_back({b, b + step});
            (r.level == LEVEL_1G ? out.kb_1g : out.kb_2m) += pages_to_kb(step);
        }
    };

    // init_mem_mapping(): the ISA range regardless of holes, then every
    // RAM range above it.
    for (const auto& r : split_mem_range(ram, 0, ISA_END_PFN, x86_64, max_low_pfn)) map_range(r);
    for (const auto& m : ram) {
        uint64_t s = std::max(m.start, ISA_END_PFN), e = std::min(m.end, max_low_pfn);
        if (s >= e) continue;
        for (const auto& r : split_mem_range(ram, s, e, x86_64, max_low_pfn)) map_range(r);
    }
    return out;
}

uint64_t global_dirtyable_memory(const Kernel& k) {
    uint64_t x = pos(k.global_zone_page_state(NR_FREE_PAGES));
    // The reserves are not dirtyable: reclaim would have to clean pages to
    // balance the zones.
    x -= std::min(x, k.totalreserve_pages);
    x += node_pages(k, NR_INACTIVE_FILE);
    x += node_pages(k, NR_ACTIVE_FILE);

    if (config_highmem(k)) {
        // highmem_dirtyable_memory(), with vm.highmem_is_dirtyable = 0.
        uint64_t high = 0;
        for (const auto& n : k.nodes) {
            for (const auto& z : n.node_zones) {
                if (!zone_is_highmem(k, z) || !z.populated()) continue;
                uint64_t nr = pos(z.vm_stat[NR_FREE_PAGES]);
                nr -= std::min(nr, z.high_wmark_pages());
                nr += pos(z.vm_stat[NR_ZONE_INACTIVE_FILE]) + pos(z.vm_stat[NR_ZONE_ACTIVE_FILE]);
                high += nr;
            }
        }
        x -= std::min(high, x);
    }
    return x + 1;  // never 0
}

DirtyLimits global_dirty_limits(const Kernel& k) {
    // domain_dirty_limits() for the global domain. Ratios are converted to
    // parts per PAGE_SIZE first ("for higher precision"), so 20% is 819/4096.
    uint64_t avail = global_dirtyable_memory(k);
    uint64_t ratio = static_cast<uint64_t>(std::max(k.vm.dirty_ratio, 0)) * PAGE_SIZE / 100;
    uint64_t bg_ratio = static_cast<uint64_t>(std::max(k.vm.dirty_background_ratio, 0)) * PAGE_SIZE / 100;
    uint64_t thresh =
        k.vm.dirty_bytes ? (k.vm.dirty_bytes + PAGE_SIZE - 1) / PAGE_SIZE : ratio * avail / PAGE_SIZE;
    uint64_t bg = k.vm.dirty_background_bytes ? (k.vm.dirty_background_bytes + PAGE_SIZE - 1) / PAGE_SIZE
                                              : bg_ratio * avail / PAGE_SIZE;
    if (bg >= thresh) bg = thresh / 2;
    // Simulated tasks are never real-time, so no 25% boost. The limits are
    // kept within 32 bits as the throttling code assumes.
    thresh = std::min<uint64_t>(thresh, UINT32_MAX);
    if (bg >= thresh) bg = thresh / 2;
    return {bg, thresh};
}

}  // namespace mmsim
