// The "Mem-Info:" report the kernel logs after an allocation failure or an
// OOM (mm/show_mem.c: __show_mem and show_free_areas).
//
// It is the kernel's view at that moment: global LRU and slab counts in
// pages, then per node and per zone in kB with the watermarks, the
// lowmem_reserve array, and for each zone the free blocks of every order
// with the migratetypes present at that order (U=Unmovable, M=Movable,
// E=Reclaimable, H=HighAtomic, C=CMA, I=Isolate).
#include <fmt/format.h>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/show_mem.h"
#include "mm/swapfile.h"

namespace mmsim {

void show_mem(Kernel& k) {
    auto pr = [&](std::string s) { k.log.printk(k.clock.now(), LogLevel::Warning, std::move(s)); };
    auto node_sum = [&](NodeStatItem i) { return k.global_node_page_state(i); };
    int64_t free_pcp = 0;
    for (const auto& n : k.nodes)
        for (const auto& z : n.node_zones)
            for (const auto& p : z.pcp) free_pcp += p.count;
    pr("Mem-Info:");
    pr(fmt::format("active_anon:{} inactive_anon:{} isolated_anon:{}", node_sum(NR_ACTIVE_ANON),
                   node_sum(NR_INACTIVE_ANON), node_sum(NR_ISOLATED_ANON)));
    pr(fmt::format(" active_file:{} inactive_file:{} isolated_file:{}", node_sum(NR_ACTIVE_FILE),
                   node_sum(NR_INACTIVE_FILE), node_sum(NR_ISOLATED_FILE)));
    pr(fmt::format(" unevictable:{} dirty:{} writeback:{}", node_sum(NR_UNEVICTABLE), node_sum(NR_DIRTY),
                   node_sum(NR_WRITEBACK)));
    pr(fmt::format(" slab_reclaimable:{} slab_unreclaimable:{}", node_sum(NR_SLAB_RECLAIMABLE),
                   node_sum(NR_SLAB_UNRECLAIMABLE)));
    pr(fmt::format(" mapped:{} shmem:{} pagetables:{}", node_sum(NR_MAPPED), node_sum(NR_SHMEM),
                   node_sum(NR_PAGE_TABLE_PAGES)));
    pr(fmt::format(" sec_pagetables:{} bounce:0", node_sum(NR_SEC_PAGE_TABLE_PAGES)));
    pr(fmt::format(" kernel_misc_reclaimable:{}", node_sum(NR_KERNEL_MISC_RECLAIMABLE)));
    pr(fmt::format(" free:{} free_pcp:{} free_cma:{}", k.global_zone_page_state(NR_FREE_PAGES), free_pcp,
                   k.global_zone_page_state(NR_FREE_CMA)));
    for (const auto& n : k.nodes) {
        auto kb = [&](NodeStatItem i) { return pages_to_kb(static_cast<uint64_t>(n.vm_stat[i])); };
        pr(fmt::format(
            "Node {} active_anon:{}kB inactive_anon:{}kB active_file:{}kB inactive_file:{}kB "
            "unevictable:{}kB isolated(anon):{}kB isolated(file):{}kB mapped:{}kB dirty:{}kB "
            "writeback:{}kB shmem:{}kB kernel_stack:{}kB pagetables:{}kB sec_pagetables:{}kB "
            "all_unreclaimable? no",
            n.node_id, kb(NR_ACTIVE_ANON), kb(NR_INACTIVE_ANON), kb(NR_ACTIVE_FILE), kb(NR_INACTIVE_FILE),
            kb(NR_UNEVICTABLE), kb(NR_ISOLATED_ANON), kb(NR_ISOLATED_FILE), kb(NR_MAPPED), kb(NR_DIRTY),
            kb(NR_WRITEBACK), kb(NR_SHMEM), static_cast<uint64_t>(n.vm_stat[NR_KERNEL_STACK]),
            kb(NR_PAGE_TABLE_PAGES), kb(NR_SEC_PAGE_TABLE_PAGES)));
    }
    for (const auto& n : k.nodes) {
        for (const auto& z : n.node_zones) {
            if (!z.populated()) continue;
            int64_t pcp = 0;
            for (const auto& p : z.pcp) pcp += p.count;
            int64_t local = z.pcp.empty() ? 0 : z.pcp[k.current_cpu].count;
            auto kb = [](uint64_t pages) { return pages_to_kb(pages); };
            pr(fmt::format(
                "Node {} {} free:{}kB boost:{}kB min:{}kB low:{}kB high:{}kB reserved_highatomic:{}KB "
                "free_highatomic:{}KB active_anon:{}kB inactive_anon:{}kB active_file:{}kB "
                "inactive_file:{}kB unevictable:{}kB writepending:{}kB zspages:{}kB present:{}kB "
                "managed:{}kB mlocked:{}kB bounce:0kB free_pcp:{}kB local_pcp:{}kB free_cma:{}kB",
                n.node_id, zone_kind_name(z.kind), kb(z.vm_stat[NR_FREE_PAGES]), kb(z.watermark_boost),
                kb(z.min_wmark_pages()), kb(z.low_wmark_pages()), kb(z.high_wmark_pages()),
                kb(z.nr_reserved_highatomic), kb(z.nr_free_highatomic), kb(z.vm_stat[NR_ZONE_ACTIVE_ANON]),
                kb(z.vm_stat[NR_ZONE_INACTIVE_ANON]), kb(z.vm_stat[NR_ZONE_ACTIVE_FILE]),
                kb(z.vm_stat[NR_ZONE_INACTIVE_FILE]), kb(z.vm_stat[NR_ZONE_UNEVICTABLE]),
                kb(z.vm_stat[NR_ZONE_WRITE_PENDING]), kb(z.vm_stat[NR_ZSPAGES]), kb(z.present_pages),
                kb(z.managed_pages), kb(z.vm_stat[NR_MLOCK]), kb(pcp), kb(local),
                kb(z.vm_stat[NR_FREE_CMA])));
            std::string reserve = "lowmem_reserve[]:";
            for (unsigned i = 0; i < k.nr_zone_types(); i++)
                reserve += fmt::format(" {}", z.lowmem_reserve[i]);
            pr(reserve);
        }
    }
    static const char types[MIGRATE_TYPES] = {'U', 'M', 'E', 'H', 'C', 'I'};
    for (const auto& n : k.nodes) {
        for (const auto& z : n.node_zones) {
            if (!z.populated()) continue;
            std::string line = fmt::format("Node {} {}: ", n.node_id, zone_kind_name(z.kind));
            uint64_t total = 0;
            for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
                const FreeArea& a = z.free_area[o];
                line += fmt::format("{}*{}kB ", a.nr_free, pages_to_kb(uint64_t{1} << o));
                if (a.nr_free) {
                    std::string t;
                    for (unsigned mt = 0; mt < MIGRATE_TYPES; mt++)
                        if (!a.free_list[mt].empty()) t += types[mt];
                    line += "(" + t + ") ";
                }
                total += a.nr_free << o;
            }
            line += fmt::format("= {}kB", pages_to_kb(total));
            pr(line);
        }
    }
    pr(fmt::format("{} total pagecache pages", k.global_node_page_state(NR_FILE_PAGES)));
    // show_swap_cache_info().
    pr(fmt::format("Free swap  = {}kB", pages_to_kb(get_nr_swap_pages(k))));
    pr(fmt::format("Total swap = {}kB", pages_to_kb(total_swap_pages(k))));
    pr(fmt::format("{} pages RAM", k.present_pages_total));
    uint64_t highmem_movable = 0;
    for (const auto& n : k.nodes)
        for (const auto& z : n.node_zones)
            if (z.kind == ZoneKind::HighMem || z.kind == ZoneKind::Movable)
                highmem_movable += z.present_pages;
    pr(fmt::format("{} pages HighMem/MovableOnly", highmem_movable));
    pr(fmt::format("{} pages reserved", k.present_pages_total - k.totalram_pages));
}

}  // namespace mmsim
