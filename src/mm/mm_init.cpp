// Boot: nodes, zones and the first free pages (mm/mm_init.c, mm/memblock.c).
//
// Early boot knows memory only as two lists of physical ranges: what RAM
// exists (memblock.memory) and what is already taken (memblock.reserved:
// the first MiB, the kernel image, the memmap of page descriptors, ...).
// src/machine derives both, and each zone's span, from the machine
// description. From there the kernel:
//
//   free_area_init     creates every zone of every node: its span
//                      (spanned_pages), the RAM inside it (present_pages,
//                      smaller by the holes), and marks every pageblock
//                      MIGRATE_MOVABLE;
//   build_all_zonelists  orders, per node, the zones an allocation may fall
//                      back to: this node's zones from high to low, then the
//                      other nodes' in distance order;
//   memblock_free_all  hands every RAM page that is not reserved to the buddy
//                      allocator, in the largest aligned blocks, in ascending
//                      order; the pages handed over are the zone's
//                      managed_pages;
//   setup_per_cpu_pageset, init_per_zone_wmark_min, hugepage_init
//                      size the per-CPU lists, compute min_free_kbytes, the
//                      watermarks and lowmem reserves, and (THP enabled)
//                      raise min_free_kbytes for huge pages.
//
// The machine description's sysctls are then written one by one, exactly
// as `sysctl -w` at the end of boot would.
#include "mm/mm_init.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "fs/dcache.h"
#include "fs/file_table.h"
#include "mm/cma.h"
#include "mm/compaction.h"
#include "mm/khugepaged.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/page_owner.h"
#include "mm/slub.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"
#include "mm/tlb.h"
#include "mm/vmalloc.h"
#include "mm/vmstat.h"
#include "proc/sysctl.h"

namespace mmsim {

namespace {

uint64_t overlap(const PfnRange& r, uint64_t start, uint64_t end) {
    uint64_t s = std::max(r.start, start), e = std::min(r.end, end);
    return e > s ? e - s : 0;
}

uint64_t pages_in(const std::vector<PfnRange>& ranges, uint64_t start, uint64_t end) {
    uint64_t n = 0;
    for (const auto& r : ranges) n += overlap(r, start, end);
    return n;
}

// memory minus reserved, both sorted and disjoint.
std::vector<PfnRange> free_ranges(const NodeGeom& g) {
    std::vector<PfnRange> out;
    for (const auto& m : g.memory) {
        uint64_t cur = m.start;
        for (const auto& r : g.reserved) {
            if (r.end <= cur || r.start >= m.end) continue;
            if (r.start > cur) out.push_back({cur, std::min(r.start, m.end)});
            cur = std::max(cur, r.end);
            if (cur >= m.end) break;
        }
        if (cur < m.end) out.push_back({cur, m.end});
    }
    return out;
}

int default_lowmem_reserve_ratio(ZoneKind k) {
    // sysctl_lowmem_reserve_ratio[]: 256 for DMA and DMA32, 32 for Normal,
    // 0 (no reserve) for HighMem, Movable and Device.
    switch (k) {
        case ZoneKind::DMA:
        case ZoneKind::DMA32:
            return 256;
        case ZoneKind::Normal:
            return 32;
        default:
            return 0;
    }
}

ThpMode thp_mode_from(const std::string& s) {
    if (s == "always") return ThpMode::Always;
    if (s == "never") return ThpMode::Never;
    return ThpMode::Madvise;
}

void build_zonelists(Kernel& k) {
    int nr_nodes = static_cast<int>(k.nodes.size());
    for (auto& node : k.nodes) {
        node.zonelist_fallback.clear();
        node.zonelist_nofallback.clear();
        // Node order: this node first, then the others. With every remote
        // node at the same distance, find_next_best_node() prefers nodes
        // numbered after the local one, so the order wraps around.
        std::vector<int> order;
        for (int i = 0; i < nr_nodes; i++) order.push_back((node.node_id + i) % nr_nodes);
        for (int nid : order) {
            PglistData& other = k.nodes[nid];
            for (int z = static_cast<int>(other.node_zones.size()) - 1; z >= 0; z--) {
                Zone& zone = other.node_zones[z];
                if (!zone.populated()) continue;
                node.zonelist_fallback.push_back({nid, static_cast<unsigned>(z), &zone});
                if (nid == node.node_id)
                    node.zonelist_nofallback.push_back({nid, static_cast<unsigned>(z), &zone});
            }
        }
        std::string fo;
        for (int nid : order) fo += fmt::format("{} ", nid);
        k.log.printk(0, LogLevel::Info, fmt::format("Fallback order for Node {}: {}", node.node_id, fo));
    }
}

std::string mem_range(uint64_t start_pfn, uint64_t end_pfn) {
    return fmt::format("[mem {:#018x}-{:#018x}]", start_pfn << PAGE_SHIFT, (end_pfn << PAGE_SHIFT) - 1);
}

void boot_log(Kernel& k, const BootLayout& layout) {
    auto pr = [&](std::string s) { k.log.printk(0, LogLevel::Info, std::move(s)); };
    pr(fmt::format("Linux version {} (mmsim) #1 SMP PREEMPT_DYNAMIC", k.kernel_release));
    // The firmware map first; the Movable zone starts print after the zone
    // ranges, as zone_sizes_init() prints them.
    std::vector<std::string> movable;
    for (const auto& line : layout.firmware_log) {
        if (line.rfind("Movable zone start", 0) == 0 || !movable.empty())
            movable.push_back(line);
        else
            pr(line);
    }
    for (const auto& line : layout.cma_log) pr(line);
    pr("Zone ranges:");
    for (unsigned i = 0; i < k.nr_zone_types(); i++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (const auto& n : k.nodes) {
            const Zone& z = n.node_zones[i];
            if (!z.spanned_pages) continue;
            lo = std::min(lo, z.zone_start_pfn.value);
            hi = std::max(hi, z.zone_end_pfn().value);
        }
        if (hi)
            pr(fmt::format("  {:<8} {}", zone_kind_name(k.zone_kinds[i]), mem_range(lo, hi)));
        else
            pr(fmt::format("  {:<8} empty", zone_kind_name(k.zone_kinds[i])));
    }
    for (auto& line : movable) pr(std::move(line));
    pr("Early memory node ranges");
    for (const auto& g : layout.nodes)
        for (const auto& m : g.memory) pr(fmt::format("  node {:3}: {}", g.id, mem_range(m.start, m.end)));
}

// build_all_zonelists()'s summary, after the per-node fallback orders.
void zonelist_log(Kernel& k) {
    auto pr = [&](std::string s) { k.log.printk(0, LogLevel::Info, std::move(s)); };
    uint64_t total = 0;
    for (const auto& n : k.nodes) total += n.node_present_pages;
    pr(fmt::format("Built {} zonelists, mobility grouping on.  Total pages: {}", k.nodes.size(), total));
    pr("Policy zone: Normal");
}

}  // namespace

std::unique_ptr<Kernel> boot_kernel(const MachineDesc& desc) {
    BootLayout layout = resolve_layout(desc);
    auto k = std::make_unique<Kernel>();
    const char* check = std::getenv("MMSIM_CHECK");
    k->debug_vm = check && *check && *check != '0';
    k->layout = layout;
    k->set_zone_kinds(layout.zone_kinds);
    for (unsigned i = 0; i < k->nr_zone_types(); i++)
        k->vm.lowmem_reserve_ratio[i] = default_lowmem_reserve_ratio(k->zone_kinds[i]);
    k->vm.thp = thp_mode_from(desc.thp_enabled);

    // CPUs and their nodes.
    k->cpus.resize(layout.nr_cpus);
    for (unsigned c = 0; c < layout.nr_cpus; c++) k->cpus[c].id = static_cast<int>(c);

    uint64_t max_pfn = 0;
    for (const auto& g : layout.nodes) {
        for (const auto& m : g.memory) max_pfn = std::max(max_pfn, m.end);
        for (const auto& z : g.zones) max_pfn = std::max(max_pfn, z.start_pfn + z.spanned);
    }
    k->mem_map = std::make_unique<MemMap>(max_pfn);
    k->debug_vm_stride = std::max<uint64_t>(1, max_pfn >> 12);
    MemMap& mm = *k->mem_map;

    // free_area_init(): nodes and zones.
    for (const auto& g : layout.nodes) {
        PglistData node;
        node.node_id = g.id;
        node.cpus = g.cpus;
        for (int c : g.cpus)
            if (c >= 0 && c < static_cast<int>(k->cpus.size())) k->cpus[c].node = g.id;
        uint64_t node_lo = UINT64_MAX, node_hi = 0;
        for (unsigned i = 0; i < g.zones.size(); i++) {
            const ZoneGeom& zg = g.zones[i];
            Zone zone;
            zone.node = g.id;
            zone.idx = i;
            zone.kind = zg.kind;
            zone.zone_start_pfn = Pfn(zg.start_pfn);
            zone.spanned_pages = zg.spanned;
            uint64_t start = zg.start_pfn, end = zg.start_pfn + zg.spanned;
            zone.present_pages = pages_in(g.memory, start, end);
            uint64_t reserved = 0;
            for (const auto& r : g.reserved)
                for (const auto& m : g.memory)
                    reserved += overlap(r, std::max(m.start, start), std::min(m.end, end));
            zone.managed_pages = zone.present_pages - std::min(reserved, zone.present_pages);
            if (zg.spanned) {
                uint64_t first_block = start & ~(pageblock_nr_pages - 1);
                uint64_t nr_blocks = (end - first_block + pageblock_nr_pages - 1) / pageblock_nr_pages;
                zone.pageblock_flags.assign(nr_blocks, MIGRATE_MOVABLE);
                node_lo = std::min(node_lo, start);
                node_hi = std::max(node_hi, end);
            }
            zone.pcp.resize(layout.nr_cpus);
            node.node_present_pages += zone.present_pages;
            node.node_zones.push_back(std::move(zone));
        }
        for (unsigned i = 0; i < node.node_zones.size(); i++)
            if (node.node_zones[i].populated()) node.nr_zones = static_cast<int>(i) + 1;
        if (node_hi) {
            node.node_start_pfn = Pfn(node_lo);
            node.node_spanned_pages = node_hi - node_lo;
        }
        k->nodes.push_back(std::move(node));
        k->memmap_stat[NR_MEMMAP_BOOT_PAGES] += static_cast<int64_t>(g.memmap_pages);
    }

    k->index_zones();

    // Holes inside zone spans, and reserved pages, are never handed out.
    for (const auto& g : layout.nodes) {
        for (const auto& z : g.zones) {
            uint64_t cur = z.start_pfn, end = z.start_pfn + z.spanned;
            for (const auto& m : g.memory) {
                if (cur < std::min(m.start, end)) mm.init_flag_range(cur, std::min(m.start, end), PG_hole);
                cur = std::max(cur, m.end);
            }
            if (cur < end) mm.init_flag_range(cur, end, PG_hole);
        }
    }
    for (const auto& g : layout.nodes)
        for (const auto& r : g.reserved) mm.init_flag_range(r.start, std::min(r.end, max_pfn), PG_reserved);

    boot_log(*k, layout);
    build_zonelists(*k);
    setup_alloc_fastpath(*k);
    zonelist_log(*k);

    // memblock_free_all(): every free range, zone by zone, ascending.
    for (std::size_t n = 0; n < layout.nodes.size(); n++) {
        const NodeGeom& g = layout.nodes[n];
        for (const auto& r : free_ranges(g)) {
            for (auto& zone : k->nodes[n].node_zones) {
                if (!zone.spanned_pages) continue;
                uint64_t s = std::max(r.start, zone.zone_start_pfn.value);
                uint64_t e = std::min(r.end, zone.zone_end_pfn().value);
                if (s < e) free_boot_range(*k, zone, s, e);
            }
        }
    }
    for (const auto& node : k->nodes) {
        for (const auto& zone : node.node_zones) {
            k->totalram_pages += zone.managed_pages;
            k->present_pages_total += zone.present_pages;
        }
    }
    uint64_t memmap = static_cast<uint64_t>(k->memmap_stat[NR_MEMMAP_BOOT_PAGES]);
    // mem_init_print_info(): the CMA area is not yet the allocator's; it is
    // counted apart from "reserved" (totalcma_pages).
    const uint64_t cma_pages = cma_reserved_pages(*k);
    k->kernel_reserved_pages = k->present_pages_total - k->totalram_pages - cma_pages -
                               std::min(memmap, k->present_pages_total - k->totalram_pages - cma_pages);
    k->log.printk(0, LogLevel::Info,
                  fmt::format("Memory: {}K/{}K available ({}K kernel code+data, {}K memmap, {}K reserved{})",
                              pages_to_kb(k->totalram_pages), pages_to_kb(k->present_pages_total),
                              desc.kernel_image_bytes >> 10, pages_to_kb(memmap),
                              pages_to_kb(k->present_pages_total - k->totalram_pages - cma_pages),
                              cma_pages ? fmt::format(", {}K cma-reserved", pages_to_kb(cma_pages)) : ""));

    // mm_core_init()'s kmem_cache_init(): the slab allocator and the caches
    // the kernel creates at boot, while the CPUs still use the boot
    // pageset (every page straight from and back to the buddy lists).
    // mem_init()'s preallocate_vmalloc_pages() comes first, then
    // kmem_cache_init() and, once caches exist, vmalloc_init().
    if (desc.slab) {
        preallocate_vmalloc_pages(*k);
        kmem_cache_init(*k);
        vmalloc_init(*k);
    }

    // setup_per_cpu_pageset(), init_per_zone_wmark_min(), hugepage_init().
    setup_pcp_all(*k);
    start_vmstat_work(*k);
    // cma_init_reserved_areas() (core_initcall) runs before
    // init_per_zone_wmark_min() (postcore_initcall): the watermarks count
    // the CMA pages; the pcp batch and high were set without them.
    cma_init_reserved_areas(*k);
    init_per_zone_wmark_min(*k);
    if (hugepage_pmd_enabled(*k)) set_recommended_min_free_kbytes(*k);

    // The derived sysctl defaults of mm/util.c's init_user_reserve() and
    // init_admin_reserve(): min(3% of free memory, 128 MiB) and
    // min(3% of free memory, 8 MiB).
    uint64_t free_kbytes = pages_to_kb(static_cast<uint64_t>(k->global_zone_page_state(NR_FREE_PAGES)));
    k->vm.user_reserve_kbytes = std::min<uint64_t>(free_kbytes / 32, 1ull << 17);
    k->vm.admin_reserve_kbytes = std::min<uint64_t>(free_kbytes / 32, 1ull << 13);

    // The CPUs' TLBs (initialize_tlbstate_and_flush()) and the zero page.
    k->tlbs = make_cpu_tlbs(layout.nr_cpus, layout.tlb);
    vm_init(*k);
    // page_ext_init() -> init_page_owner(), with page_owner=on.
    if (desc.page_owner) init_page_owner(*k);
    // start_kernel()'s vfs_caches_init() and the root mount.
    vfs_caches_init(*k);
    // files_maxfiles_init(), as page_alloc_init_late() repeats it once
    // deferred pages are free: the default file-max.
    files_maxfiles_init(*k);
    // kcompactd_init()'s part: the zones' compaction state.
    compaction_init(*k);
    // swapfile_init() (a subsys_initcall): the swap lists.
    swapfile_init(*k);
    // The swap cache's side of the swap devices (shadow entries, swapoff).
    swap_cache_init(*k);

    for (const auto& s : desc.sysctls) {
        std::string key = sysctl_vm_key(s.key);
        if (key.empty() || !sysctl_vm_find(key)) {
            std::string hint = sysctl_vm_suggest(key.empty() ? s.key : key);
            throw InputError(s.loc,
                             fmt::format("unknown sysctl '{}'{}", s.key,
                                         hint.empty() ? "" : fmt::format(" (did you mean vm.{}?)", hint)));
        }
        auto r = sysctl_vm_write(*k, key, s.value);
        if (!r)
            throw InputError(s.loc, fmt::format("sysctl: setting vm.{} to '{}': {} ({}){}", key, s.value,
                                                errno_text(r.err()), errno_name(r.err()),
                                                r.error().message.empty() ? "" : "; " + r.error().message));
    }
    // What systemd's swap units turn on once userspace runs: the machine's
    // swap areas (fstab), after sysctl.conf.
    swapon_boot_devices(*k, desc);
    if (k->debug_vm) k->validate();
    return k;
}

}  // namespace mmsim
