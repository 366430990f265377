// Early boot's view of memory: the e820 map, memblock, and zone boundaries.
//
// Before there is a page allocator, an x86 kernel knows physical memory only
// as the list the firmware hands over, the e820 map (arch/x86/kernel/e820.c).
// On a PC-compatible machine with R bytes of RAM it looks like this (QEMU's
// and SeaBIOS's layout, which the captured host in tests/data shows too):
//
//   0 ....... 639K | 640K-1M  | 1M .......... min(R,3G) | 3G-4G    | 4G ...... 4G+(R-3G)
//   usable         | ISA/BIOS | usable                   | PCI hole | usable (if R > 3G)
//
// setup_arch() then trims it: page 0 belongs to the BIOS, and the 640K-1M
// window is never RAM, so memblock.memory, the list of RAM ranges that the
// rest of boot trusts, starts at pfn 1 and skips pfns 159-255. NUMA firmware
// tables then say which node each range belongs to; here node n takes the
// next node_memory bytes of RAM in address order.
//
// Early allocations are recorded in memblock.reserved, which the buddy
// allocator will never see: the whole first MiB (reserve_real_mode() keeps
// it from buggy BIOSes and for the real-mode trampoline), the kernel image
// (loaded at CONFIG_PHYSICAL_START, 16 MiB), and the memory map of page
// descriptors. With SPARSEMEM_VMEMMAP (x86-64) the memmap is allocated per
// present 128 MiB section, 32768 descriptors of 64 bytes = 2 MiB each, from
// the top of the node's memory, since memblock allocates top-down; that is
// why the 24 GiB host reports nr_memmap_boot_pages 98304 = 192 sections *
// 512. i386 uses FLATMEM: one array covering the node's whole pfn span,
// with smaller descriptors (32 bytes here), which must lie in lowmem.
//
// Zones come next (zone_sizes_init() and free_area_init()). The architecture
// gives the highest pfn of each zone type: DMA below 16 MiB, DMA32 below
// 4 GiB, Normal up to the end of RAM (x86-64); DMA, Normal below the 896 MiB
// lowmem limit, HighMem above (i386). Each zone type's range starts where
// the previous one ended, the first at the lowest RAM pfn; a node's zone is
// that range clipped to the node's span, holes included (spanned), and the
// RAM inside it is its present pages. ZONE_MOVABLE has no range of its own:
// with kernelcore= or movablecore= the top part of the highest zone in each
// node becomes Movable (find_zone_movable_pfns_for_nodes()), starting at a
// pfn rounded up to MAX_ORDER_NR_PAGES.
//
// An explicit machine (clone-host's output) gives each zone's start, span,
// present and managed pages outright; the RAM and reservations are then
// built so that booting reproduces those four numbers exactly.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "machine/machine.h"
#include "mmsim/mm_types.h"

namespace mmsim {

namespace {

constexpr uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;

// The usable RAM below the EBDA ends at 639 KiB on SeaBIOS machines.
constexpr uint64_t kLowRamEnd = 0x9fc00;
// BIOS_BEGIN..BIOS_END: the legacy VGA and ROM window, never RAM.
constexpr uint64_t kBiosBegin = 0xa0000, kBiosEnd = 0x100000;
// PCI devices are mapped in [3G, 4G); RAM beyond 3 GiB is moved above 4 GiB.
constexpr uint64_t kPciHoleStart = 3 * GiB, kPciHoleEnd = 4 * GiB;
// MAX_DMA_PFN, MAX_DMA32_PFN, and i386's nominal lowmem limit (the kernel's
// MAXMEM is a little lower, as the fixmap and vmalloc area take their share
// of the top 128 MiB of the 1 GiB kernel window; we use the textbook value).
constexpr uint64_t kMaxDmaPfn = (16 * MiB) >> PAGE_SHIFT;
constexpr uint64_t kMaxDma32Pfn = (4 * GiB) >> PAGE_SHIFT;
constexpr uint64_t kI386MaxLowPfn = (896 * MiB) >> PAGE_SHIFT;
// i386 with PAE addresses at most 64 GiB.
constexpr uint64_t kI386MaxPhys = 64 * GiB;
// CONFIG_PHYSICAL_START and CONFIG_PHYSICAL_ALIGN (x86-64 defaults).
constexpr uint64_t kKernelLoadPfn = (16 * MiB) >> PAGE_SHIFT;
constexpr uint64_t kPhysicalAlignPages = (2 * MiB) >> PAGE_SHIFT;
// reserve_real_mode(): the first MiB is never handed to the buddy allocator.
constexpr uint64_t kFirstMiBPfn = MiB >> PAGE_SHIFT;
// SECTION_SIZE_BITS = 27: 128 MiB sections; each needs 2 MiB of 64-byte
// descriptors, mapped with one PMD.
constexpr uint64_t kPagesPerSection = uint64_t{1} << (27 - PAGE_SHIFT);
constexpr uint64_t kStructPageBytes = 64;
constexpr uint64_t kSectionMemmapPages = kPagesPerSection * kStructPageBytes / PAGE_SIZE;
constexpr uint64_t kI386StructPageBytes = 32;
// MAX_NUMNODES with the largest NODES_SHIFT x86-64 allows.
constexpr std::size_t kMaxNumNodes = 1024;
// Page links are 32-bit pfns with PFN_NIL reserved: 16 TiB of address space.
constexpr uint64_t kMaxPfnEnd = PFN_NIL;

using Ranges = std::vector<PfnRange>;

SourceLoc where(const MachineDesc& d) {
    if (!d.loc.file.empty() || d.loc.line) return d.loc;
    return SourceLoc{d.source.empty() ? "<machine>" : d.source, 0, 0};
}

[[noreturn]] void fail(const MachineDesc& d, const std::string& msg) { throw InputError(where(d), msg); }

uint64_t total(const Ranges& r) {
    uint64_t n = 0;
    for (const auto& x : r) n += x.size();
    return n;
}

// Sorted, disjoint, adjacent ranges merged, empty ones dropped.
Ranges normalize(Ranges r) {
    std::sort(r.begin(), r.end(), [](const PfnRange& a, const PfnRange& b) { return a.start < b.start; });
    Ranges out;
    for (const auto& x : r) {
        if (x.end <= x.start) continue;
        if (!out.empty() && x.start <= out.back().end)
            out.back().end = std::max(out.back().end, x.end);
        else
            out.push_back(x);
    }
    return out;
}

Ranges intersect(const Ranges& a, const Ranges& b) {
    Ranges out;
    for (const auto& x : a)
        for (const auto& y : b) {
            uint64_t s = std::max(x.start, y.start), e = std::min(x.end, y.end);
            if (s < e) out.push_back({s, e});
        }
    return normalize(out);
}

Ranges subtract(const Ranges& a, const Ranges& b) {
    Ranges out;
    for (const auto& x : a) {
        uint64_t cur = x.start;
        for (const auto& y : b) {
            if (y.end <= cur || y.start >= x.end) continue;
            if (y.start > cur) out.push_back({cur, y.start});
            cur = std::max(cur, y.end);
        }
        if (cur < x.end) out.push_back({cur, x.end});
    }
    return normalize(out);
}

uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t round_down(uint64_t v, uint64_t a) { return v / a * a; }

std::string e820_line(uint64_t start, uint64_t end, const char* type) {
    return fmt::format("BIOS-e820: [mem {:#018x}-{:#018x}] {}", start, end - 1, type);
}

// memblock_alloc(): the highest `pages`-long, `align`-aligned run of
// memory that nothing has reserved yet, below `limit`.
std::optional<uint64_t> memblock_alloc_top_down(const Ranges& memory, const Ranges& reserved, uint64_t pages,
                                                uint64_t align, uint64_t limit) {
    Ranges free = subtract(memory, reserved);
    for (auto it = free.rbegin(); it != free.rend(); ++it) {
        uint64_t end = std::min(it->end, limit);
        if (end < it->start + pages) continue;
        uint64_t start = round_down(end - pages, align);
        if (start >= it->start) return start;
    }
    return std::nullopt;
}

// memblock_alloc_range_nid() with memblock set bottom-up: the lowest
// `pages`-long, `align`-aligned free run at or above `start`, below `limit`.
// Runs do not cross from one node's memory to another's.
std::optional<uint64_t> memblock_alloc_bottom_up(const Ranges& memory, const Ranges& reserved, uint64_t pages,
                                                 uint64_t align, uint64_t start, uint64_t limit) {
    for (const auto& r : subtract(memory, reserved)) {
        uint64_t s = (std::max(r.start, start) + align - 1) / align * align;
        uint64_t e = std::min(r.end, limit);
        if (s < e && e - s >= pages) return s;
    }
    return std::nullopt;
}

// dma_contiguous_reserve(): the default CMA area of cma=SIZE, placed as
// cma_declare_contiguous_nid() places an area with no fixed base. Its
// size and base are aligned to a pageblock (CMA_MIN_ALIGNMENT_BYTES); the
// limit is the end of directly mapped memory (max_pfn_mapped on x86-64,
// the end of lowmem on i386). When memory reaches 4 GiB + size, memblock
// is turned bottom-up for one allocation above 4 GiB (cma_alloc_mem(): the
// area sits low in the node and stays out of DMA/DMA32); otherwise, or if
// that fails, the usual top-down search takes the highest free run below
// the limit. The area never crosses a node (memblock runs are per node).
// Returns the area's pfns, or nothing (with the kernel's "Failed to
// reserve" line) when it does not fit; the kernel boots on without it.
std::optional<PfnRange> reserve_default_cma(const MachineDesc& d, const std::vector<Ranges>& node_mem,
                                            const Ranges& reserved, uint64_t max_pfn,
                                            std::vector<std::string>& log) {
    const uint64_t align = pageblock_nr_pages;
    uint64_t pages = (d.cma_bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
    pages = (pages + align - 1) / align * align;
    const bool i386 = d.arch == ArchProfile::I386;
    const uint64_t limit = i386 ? std::min(max_pfn, kI386MaxLowPfn) : max_pfn;
    const uint64_t four_g = (4ull << 30) >> PAGE_SHIFT;
    std::optional<uint64_t> at;
    if (pages <= limit) {
        // Node by node (memblock's runs end at node boundaries): the lowest
        // run bottom-up, the highest top-down.
        if (!i386 && limit >= four_g + pages)
            for (const auto& m : node_mem) {
                auto a = memblock_alloc_bottom_up(m, reserved, pages, align, four_g, limit);
                if (a && (!at || *a < *at)) at = a;
            }
        if (!at)
            for (const auto& m : node_mem) {
                auto a = memblock_alloc_top_down(m, reserved, pages, align, limit);
                if (a && (!at || *a > *at)) at = a;
            }
    }
    if (!at) {
        log.push_back(fmt::format("cma: Failed to reserve {} MiB", d.cma_bytes >> 20));
        return std::nullopt;
    }
    log.push_back(fmt::format("cma: Reserved {} MiB at {:#018x}", d.cma_bytes >> 20, *at << PAGE_SHIFT));
    return PfnRange{*at, *at + pages};
}

// Which node's CPUs are which: the lists the description gives, and the
// CPUs nobody listed spread in order over the nodes that listed none.
std::vector<std::vector<int>> assign_cpus(const MachineDesc& d, std::size_t nr_nodes) {
    if (d.nr_cpus == 0) fail(d, "cpus must be at least 1");
    std::vector<std::vector<int>> out(nr_nodes);
    std::vector<int> owner(d.nr_cpus, -1);
    for (std::size_t n = 0; n < d.nodes.size() && n < nr_nodes; n++) {
        for (int c : d.nodes[n].cpus) {
            if (c < 0 || static_cast<unsigned>(c) >= d.nr_cpus)
                fail(d, fmt::format("node {} lists cpu {}, but the machine has {} CPUs (0..{})", n, c,
                                    d.nr_cpus, d.nr_cpus - 1));
            if (owner[c] >= 0)
                fail(d, fmt::format("cpu {} is listed by node {} and node {}", c, owner[c], n));
            owner[c] = static_cast<int>(n);
            out[n].push_back(c);
        }
    }
    std::vector<int> unlisted;
    for (unsigned c = 0; c < d.nr_cpus; c++)
        if (owner[c] < 0) unlisted.push_back(static_cast<int>(c));
    std::vector<std::size_t> targets;
    for (std::size_t n = 0; n < nr_nodes; n++)
        if (n >= d.nodes.size() || d.nodes[n].cpus.empty()) targets.push_back(n);
    if (!unlisted.empty() && targets.empty())
        fail(d, fmt::format("cpu {} is in no node's cpus list (the machine has {} CPUs)", unlisted.front(),
                            d.nr_cpus));
    for (std::size_t k = 0; k < unlisted.size(); k++)
        out[targets[k * targets.size() / unlisted.size()]].push_back(unlisted[k]);
    for (auto& v : out) std::sort(v.begin(), v.end());
    return out;
}

// Pages of page descriptors for a node. SPARSEMEM_VMEMMAP: 512 per
// section with RAM (a section shared with an earlier node is that node's).
// FLATMEM (i386): one array over the node span, MAX_ORDER aligned.
uint64_t memmap_pages_for(ArchProfile arch, const Ranges& memory, std::set<uint64_t>& sections_taken) {
    if (memory.empty()) return 0;
    if (arch == ArchProfile::I386) {
        uint64_t start = round_down(memory.front().start, MAX_ORDER_NR_PAGES);
        uint64_t end = round_up(memory.back().end, MAX_ORDER_NR_PAGES);
        return ((end - start) * kI386StructPageBytes + PAGE_SIZE - 1) / PAGE_SIZE;
    }
    uint64_t sections = 0;
    for (const auto& r : memory)
        for (uint64_t s = r.start / kPagesPerSection; s <= (r.end - 1) / kPagesPerSection; s++)
            if (sections_taken.insert(s).second) sections++;
    return sections * kSectionMemmapPages;
}

// ---------------------------------------------------------------------------
// Profiles (x86-64, i386)

struct ZoneBounds {
    std::vector<uint64_t> low, high;  // arch_zone_{lowest,highest}_possible_pfn per zone index
    int movable_idx = -1;             // ZONE_MOVABLE's index in the profile
    int movable_zone = -1;            // the zone Movable is carved from (find_usable_zone_for_movable)
};

ZoneBounds arch_zone_bounds(ArchProfile arch, const std::vector<ZoneKind>& kinds, uint64_t min_pfn,
                            uint64_t max_pfn) {
    ZoneBounds b;
    b.low.assign(kinds.size(), 0);
    b.high.assign(kinds.size(), 0);
    uint64_t max_low_pfn = arch == ArchProfile::I386 ? std::min(max_pfn, kI386MaxLowPfn) : max_pfn;
    uint64_t start = min_pfn;
    for (std::size_t i = 0; i < kinds.size(); i++) {
        uint64_t max_zone_pfn = 0;  // Device: never any boot memory
        switch (kinds[i]) {
            case ZoneKind::DMA:
                max_zone_pfn = std::min(kMaxDmaPfn, max_low_pfn);
                break;
            case ZoneKind::DMA32:
                max_zone_pfn = std::min(kMaxDma32Pfn, max_low_pfn);
                break;
            case ZoneKind::Normal:
                max_zone_pfn = max_low_pfn;
                break;
            case ZoneKind::HighMem:
                max_zone_pfn = max_pfn;
                break;
            case ZoneKind::Movable:
                b.movable_idx = static_cast<int>(i);
                continue;
            case ZoneKind::Device:
                break;
        }
        uint64_t end = std::max(max_zone_pfn, start);
        b.low[i] = start;
        b.high[i] = end;
        start = end;
    }
    for (int i = static_cast<int>(kinds.size()) - 1; i >= 0; i--) {
        if (i == b.movable_idx) continue;
        if (b.high[i] > b.low[i]) {
            b.movable_zone = i;
            break;
        }
    }
    return b;
}

// find_zone_movable_pfns_for_nodes(): the pfn where ZONE_MOVABLE starts in
// each node (0: none). Kernel memory is spread evenly over the nodes; pages
// below the zone Movable is carved from count as kernel memory anyway; a
// node too small for its share leaves the rest to the nodes after it, in
// further passes with one node fewer.
std::vector<uint64_t> find_zone_movable_pfns(const MachineDesc& d, const std::vector<Ranges>& node_mem,
                                             const ZoneBounds& b) {
    std::vector<uint64_t> zmp(node_mem.size(), 0);
    uint64_t totalpages = 0;
    uint64_t usable_nodes = 0;
    for (const auto& m : node_mem) {
        totalpages += total(m);
        usable_nodes += !m.empty();
    }
    uint64_t required_kernelcore = d.kernelcore_bytes >> PAGE_SHIFT;
    uint64_t required_movablecore = d.movablecore_bytes >> PAGE_SHIFT;
    if (d.kernelcore_percent) required_kernelcore = totalpages * 100 * d.kernelcore_percent / 10000;
    if (d.movablecore_percent) required_movablecore = totalpages * 100 * d.movablecore_percent / 10000;
    if (required_movablecore) {
        // Round up so Movable is at least what was asked for; whatever is
        // not movable is kernelcore, unless kernelcore= asked for more.
        required_movablecore = std::min(totalpages, round_up(required_movablecore, MAX_ORDER_NR_PAGES));
        required_kernelcore = std::max(required_kernelcore, totalpages - required_movablecore);
    }
    if (!required_kernelcore || required_kernelcore >= totalpages || b.movable_zone < 0 || !usable_nodes)
        return zmp;

    uint64_t usable_startpfn = b.low[b.movable_zone];
    for (;;) {
        uint64_t kernelcore_node = required_kernelcore / usable_nodes;
        for (std::size_t nid = 0; nid < node_mem.size(); nid++) {
            if (node_mem[nid].empty()) continue;
            if (required_kernelcore < kernelcore_node) kernelcore_node = required_kernelcore / usable_nodes;
            uint64_t remaining = kernelcore_node;
            for (const auto& r : node_mem[nid]) {
                uint64_t start = std::max(r.start, zmp[nid]), end = r.end;
                if (start >= end) continue;
                if (start < usable_startpfn) {
                    // Lower zones can only hold kernel memory: count them.
                    uint64_t kernel_pages = std::min(end, usable_startpfn) - start;
                    remaining -= std::min(kernel_pages, remaining);
                    required_kernelcore -= std::min(kernel_pages, required_kernelcore);
                    if (end <= usable_startpfn) {
                        zmp[nid] = end;
                        continue;
                    }
                    start = usable_startpfn;
                }
                uint64_t size = std::min(end - start, remaining);
                zmp[nid] = start + size;
                required_kernelcore -= std::min(required_kernelcore, size);
                remaining -= size;
                if (!remaining) break;
            }
        }
        usable_nodes--;
        if (!(usable_nodes && required_kernelcore > usable_nodes)) break;
    }
    for (std::size_t nid = 0; nid < node_mem.size(); nid++) {
        if (node_mem[nid].empty()) continue;
        zmp[nid] = round_up(zmp[nid], MAX_ORDER_NR_PAGES);
        if (zmp[nid] >= node_mem[nid].back().end) zmp[nid] = 0;
    }
    return zmp;
}

// zone_spanned_pages_in_node() with adjust_zone_range_for_zone_movable().
ZoneGeom zone_span_in_node(const std::vector<ZoneKind>& kinds, const ZoneBounds& b, std::size_t idx,
                           uint64_t node_start, uint64_t node_end, uint64_t movable_pfn) {
    uint64_t low = 0, high = 0;
    if (static_cast<int>(idx) != b.movable_idx) {
        low = b.low[idx];
        high = b.high[idx];
    }
    uint64_t zs = std::clamp(node_start, low, high), ze = std::clamp(node_end, low, high);
    if (movable_pfn) {
        if (static_cast<int>(idx) == b.movable_idx) {
            zs = movable_pfn;
            ze = std::min(node_end, b.high[b.movable_zone]);
        } else if (zs < movable_pfn && ze > movable_pfn) {
            ze = movable_pfn;
        } else if (zs >= movable_pfn) {
            zs = ze;
        }
    }
    ZoneGeom g;
    g.kind = kinds[idx];
    if (ze < node_start || zs > node_end) return g;
    ze = std::min(ze, node_end);
    zs = std::max(zs, node_start);
    if (ze > zs) {
        g.start_pfn = zs;
        g.spanned = ze - zs;
    }
    return g;
}

// Where the kernel image goes: CONFIG_PHYSICAL_START if it fits in RAM
// there, else the lowest 2 MiB-aligned place above the first MiB that
// holds it (a relocatable kernel runs anywhere PHYSICAL_ALIGN allows).
std::optional<uint64_t> place_kernel_image(const Ranges& ram, uint64_t pages) {
    auto fits = [&](uint64_t s) {
        for (const auto& r : ram)
            if (s >= r.start && s + pages <= r.end) return true;
        return false;
    };
    if (fits(kKernelLoadPfn)) return kKernelLoadPfn;
    for (const auto& r : ram) {
        uint64_t s = round_up(std::max(r.start, kFirstMiBPfn), kPhysicalAlignPages);
        if (s + pages <= r.end) return s;
    }
    return std::nullopt;
}

BootLayout resolve_profile(const MachineDesc& d) {
    BootLayout out;
    out.arch = d.arch;
    out.zone_kinds = profile_zone_kinds(d.arch);
    out.nr_cpus = d.nr_cpus;
    const bool i386 = d.arch == ArchProfile::I386;

    if (d.nodes.empty())
        fail(d, "the machine has no memory: give it ram=SIZE or a [[node]] with memory = \"SIZE\"");
    if (!d.zones.empty()) fail(d, "[[zone]] entries need arch = \"explicit\"");
    if (i386 && d.nodes.size() > 1) fail(d, "the i386 profile has a single node (NUMA needs x86_64)");
    std::vector<uint64_t> node_bytes;
    uint64_t ram = 0;
    for (std::size_t n = 0; n < d.nodes.size(); n++) {
        uint64_t b = d.nodes[n].memory_bytes & ~(PAGE_SIZE - 1);
        if (b == 0) fail(d, fmt::format("node {} has no memory (memory must be at least 4K)", n));
        if (d.nodes[n].memmap_pages) fail(d, "memmap_pages applies only to arch = \"explicit\"");
        node_bytes.push_back(b);
        ram += b;
        if (ram > (kMaxPfnEnd << PAGE_SHIFT) - GiB)
            fail(d, "more than 16T of memory: mmsim addresses at most 16T");
    }
    if (i386 && ram > kI386MaxPhys - GiB)
        fail(d, fmt::format("ram={} is more than i386 with PAE can address (64G, less the PCI hole)",
                            format_size(ram)));

    // The firmware's map: RAM as one block from 0, less the BIOS window,
    // and the part above 3 GiB moved above the PCI hole.
    uint64_t low_end = std::min(ram, kPciHoleStart);
    std::vector<std::pair<PfnRange, const char*>> e820;  // in bytes
    e820.push_back({{0, std::min(low_end, kLowRamEnd)}, "usable"});
    e820.push_back({{kLowRamEnd, kBiosBegin}, "reserved"});
    e820.push_back({{0xf0000, kBiosEnd}, "reserved"});
    if (low_end > kBiosEnd) e820.push_back({{kBiosEnd, low_end}, "usable"});
    e820.push_back({{0xfffc0000, kPciHoleEnd}, "reserved"});
    if (ram > kPciHoleStart) e820.push_back({{kPciHoleEnd, kPciHoleEnd + ram - kPciHoleStart}, "usable"});

    // memblock.memory: whole pages of usable RAM, less page 0 and the holes
    // the description adds.
    Ranges memblock_memory;
    for (const auto& [r, type] : e820)
        if (std::string_view(type) == "usable")
            memblock_memory.push_back({(r.start + PAGE_SIZE - 1) >> PAGE_SHIFT, r.end >> PAGE_SHIFT});
    memblock_memory = subtract(normalize(memblock_memory), {{0, 1}});
    Ranges holes = normalize(d.holes);
    memblock_memory = subtract(memblock_memory, holes);

    // Node n owns the RAM bytes [sum of earlier nodes, + its memory) of the
    // block, wherever the hole moved them.
    std::vector<Ranges> node_mem(d.nodes.size());
    uint64_t off = 0;
    for (std::size_t n = 0; n < d.nodes.size(); n++) {
        uint64_t a = off, e = off + node_bytes[n];
        off = e;
        Ranges phys;
        if (a < kPciHoleStart) phys.push_back({a >> PAGE_SHIFT, std::min(e, kPciHoleStart) >> PAGE_SHIFT});
        if (e > kPciHoleStart) {
            uint64_t s = std::max(a, kPciHoleStart) + (kPciHoleEnd - kPciHoleStart);
            phys.push_back({s >> PAGE_SHIFT, (e + kPciHoleEnd - kPciHoleStart) >> PAGE_SHIFT});
        }
        node_mem[n] = intersect(normalize(phys), memblock_memory);
        if (node_mem[n].empty())
            fail(d, fmt::format("node {} has no RAM left: holes or the BIOS area cover all of its {}", n,
                                format_size(node_bytes[n])));
    }
    Ranges all_ram;
    for (const auto& m : node_mem) all_ram.insert(all_ram.end(), m.begin(), m.end());
    all_ram = normalize(all_ram);
    uint64_t min_pfn = all_ram.front().start, max_pfn = all_ram.back().end;

    // Zones.
    ZoneBounds b = arch_zone_bounds(d.arch, out.zone_kinds, min_pfn, max_pfn);
    std::vector<uint64_t> zmp = find_zone_movable_pfns(d, node_mem, b);

    // memblock.reserved, in the order setup_arch() reserves.
    Ranges reserved{{0, kFirstMiBPfn}};
    uint64_t image_pages = (d.kernel_image_bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
    if (image_pages) {
        auto at = place_kernel_image(all_ram, image_pages);
        if (!at)
            fail(d, fmt::format(
                        "the kernel image ({}) does not fit in {} of RAM; give the machine more memory or "
                        "a smaller kernel_image",
                        format_size(d.kernel_image_bytes), format_size(ram)));
        reserved.push_back({*at, *at + image_pages});
    }
    for (const auto& r : d.reserved) {
        if (r.size == 0) fail(d, fmt::format("reserved range '{}' has size 0", r.name));
        if (r.start + r.size < r.start) fail(d, fmt::format("reserved range '{}' ends beyond 16E", r.name));
        uint64_t end = r.start + r.size;
        PfnRange p{r.start >> PAGE_SHIFT, (end >> PAGE_SHIFT) + (end % PAGE_SIZE != 0)};
        if (intersect({p}, all_ram).empty())
            fail(d, fmt::format("reserved range '{}' [mem {:#x}-{:#x}] is not in RAM", r.name, r.start,
                                r.start + r.size - 1));
        reserved.push_back(p);
    }
    reserved = normalize(reserved);

    // initmem_init() then dma_contiguous_reserve(): the CMA area, before
    // the memory map is allocated (sparse_init() in paging_init()).
    if (d.cma_bytes) {
        if (auto area = reserve_default_cma(d, node_mem, reserved, max_pfn, out.cma_log)) {
            out.cma.push_back(*area);
            reserved.push_back(*area);
            reserved = normalize(reserved);
        }
    }

    std::vector<uint64_t> memmap(d.nodes.size(), 0);
    if (d.reserve_memmap) {
        std::set<uint64_t> sections_taken;
        for (std::size_t n = 0; n < node_mem.size(); n++) {
            uint64_t pages = memmap_pages_for(d.arch, node_mem[n], sections_taken);
            uint64_t align = i386 ? 1 : kSectionMemmapPages;
            uint64_t limit = i386 ? kI386MaxLowPfn : UINT64_MAX;
            auto at = memblock_alloc_top_down(node_mem[n], reserved, pages, align, limit);
            if (!at) at = memblock_alloc_top_down(node_mem[n], reserved, pages, 1, limit);
            if (!at)
                fail(d, fmt::format("node {} has no room for its memory map ({} pages of page descriptors)",
                                    n, pages));
            reserved = normalize([&] {
                Ranges r = reserved;
                r.push_back({*at, *at + pages});
                return r;
            }());
            memmap[n] = pages;
        }
    }

    uint64_t free_pages = 0;
    for (std::size_t n = 0; n < node_mem.size(); n++) {
        NodeGeom g;
        g.id = static_cast<int>(n);
        g.memory = node_mem[n];
        g.reserved = intersect(reserved, node_mem[n]);
        g.memmap_pages = memmap[n];
        uint64_t node_start = g.memory.front().start, node_end = g.memory.back().end;
        for (std::size_t i = 0; i < out.zone_kinds.size(); i++)
            g.zones.push_back(zone_span_in_node(out.zone_kinds, b, i, node_start, node_end, zmp[n]));
        free_pages += total(g.memory) - total(g.reserved);
        out.nodes.push_back(std::move(g));
    }
    if (free_pages == 0) fail(d, "no memory is left for the page allocator after the boot reservations");
    auto cpus = assign_cpus(d, out.nodes.size());
    for (std::size_t n = 0; n < out.nodes.size(); n++) out.nodes[n].cpus = cpus[n];

    // The kernel log's account of it.
    std::vector<std::pair<PfnRange, const char*>> shown;
    for (const auto& [r, type] : e820) {
        if (r.end <= r.start) continue;
        if (std::string_view(type) != "usable") {
            shown.push_back({r, type});
            continue;
        }
        Ranges hole_bytes;
        for (const auto& h : holes) hole_bytes.push_back({h.start << PAGE_SHIFT, h.end << PAGE_SHIFT});
        for (const auto& piece : subtract({r}, hole_bytes)) shown.push_back({piece, type});
    }
    std::sort(shown.begin(), shown.end(),
              [](const auto& x, const auto& y) { return x.first.start < y.first.start; });
    out.firmware_log.push_back("BIOS-provided physical RAM map:");
    for (const auto& [r, type] : shown) out.firmware_log.push_back(e820_line(r.start, r.end, type));
    out.firmware_log.push_back("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved");
    out.firmware_log.push_back("e820: remove [mem 0x000a0000-0x000fffff] usable");
    if (d.kernelcore_bytes || d.movablecore_bytes || d.kernelcore_percent || d.movablecore_percent) {
        out.firmware_log.push_back("Movable zone start for each node");
        for (std::size_t n = 0; n < zmp.size(); n++)
            if (zmp[n])
                out.firmware_log.push_back(fmt::format("  Node {}: {:#018x}", n, zmp[n] << PAGE_SHIFT));
    }
    return out;
}

// ---------------------------------------------------------------------------
// Explicit zones

std::vector<ZoneKind> explicit_kinds(const MachineDesc& d) {
    for (const auto& z : d.zones)
        if (z.kind == ZoneKind::HighMem) return profile_zone_kinds(ArchProfile::I386);
    return profile_zone_kinds(ArchProfile::X86_64);
}

BootLayout resolve_explicit(const MachineDesc& d) {
    validate_explicit_zones(d);
    if (!d.holes.empty())
        fail(d, "holes of an explicit machine are given by its zones (spanned - present), not [[hole]]");
    if (!d.reserved.empty())
        fail(d,
             "reservations of an explicit machine are given by its zones (present - managed), not "
             "[[reserved]]");
    if (d.kernelcore_bytes || d.movablecore_bytes || d.kernelcore_percent || d.movablecore_percent)
        fail(d, "kernelcore/movablecore do not apply to an explicit machine: give it a Movable [[zone]]");

    BootLayout out;
    out.arch = ArchProfile::Explicit;
    out.zone_kinds = explicit_kinds(d);
    out.nr_cpus = d.nr_cpus;
    std::size_t nr_nodes = d.nodes.size();
    for (const auto& z : d.zones) nr_nodes = std::max(nr_nodes, static_cast<std::size_t>(z.node) + 1);
    if (nr_nodes == 0) fail(d, "the machine has no memory: an explicit machine needs [[zone]] entries");

    std::vector<Ranges> mem(nr_nodes), res(nr_nodes);
    for (const auto& z : d.zones) {
        if (!z.spanned || !z.present) continue;
        uint64_t start = z.start_pfn, end = z.start_pfn + z.spanned, hole = z.spanned - z.present;
        Ranges ram;
        if (z.kind == ZoneKind::DMA && hole && start + hole <= kFirstMiBPfn && end > kFirstMiBPfn) {
            // Like a PC: the hole is the BIOS window just below 1 MiB.
            ram = {{start, kFirstMiBPfn - hole}, {kFirstMiBPfn, end}};
        } else {
            ram = {{start, start + z.present}};
        }
        ram = normalize(ram);
        // The zone's first (present - managed) pages of RAM are reserved.
        uint64_t want = z.present - z.managed;
        for (const auto& r : ram) {
            if (!want) break;
            uint64_t n = std::min(want, r.size());
            res[z.node].push_back({r.start, r.start + n});
            want -= n;
        }
        mem[z.node].insert(mem[z.node].end(), ram.begin(), ram.end());
    }

    std::set<uint64_t> sections_taken;
    uint64_t present = 0;
    bool has_highmem =
        std::find(out.zone_kinds.begin(), out.zone_kinds.end(), ZoneKind::HighMem) != out.zone_kinds.end();
    ArchProfile memmap_arch = has_highmem ? ArchProfile::I386 : ArchProfile::X86_64;
    for (std::size_t n = 0; n < nr_nodes; n++) {
        NodeGeom g;
        g.id = static_cast<int>(n);
        g.memory = normalize(mem[n]);
        g.reserved = normalize(res[n]);
        uint64_t reserved_pages = total(g.reserved);
        uint64_t derived = memmap_pages_for(memmap_arch, g.memory, sections_taken);
        if (n < d.nodes.size() && d.nodes[n].memmap_pages) {
            g.memmap_pages = *d.nodes[n].memmap_pages;
            if (g.memmap_pages > reserved_pages)
                fail(d, fmt::format(
                            "node {}: memmap_pages = {} is more than the node's reserved pages (present - "
                            "managed = {})",
                            n, g.memmap_pages, reserved_pages));
        } else {
            g.memmap_pages = std::min(derived, reserved_pages);
        }
        for (ZoneKind k : out.zone_kinds) {
            ZoneGeom zg;
            zg.kind = k;
            for (const auto& z : d.zones)
                if (static_cast<std::size_t>(z.node) == n && z.kind == k && z.spanned) {
                    zg.start_pfn = z.start_pfn;
                    zg.spanned = z.spanned;
                }
            g.zones.push_back(zg);
        }
        present += total(g.memory);
        out.nodes.push_back(std::move(g));
    }
    if (present == 0) fail(d, "the machine has no memory: every [[zone]] has present = 0");
    auto cpus = assign_cpus(d, nr_nodes);
    for (std::size_t n = 0; n < nr_nodes; n++) out.nodes[n].cpus = cpus[n];

    Ranges all;
    for (const auto& g : out.nodes) all.insert(all.end(), g.memory.begin(), g.memory.end());
    out.firmware_log.push_back("BIOS-provided physical RAM map:");
    for (const auto& r : normalize(all))
        out.firmware_log.push_back(e820_line(r.start << PAGE_SHIFT, r.end << PAGE_SHIFT, "usable"));
    return out;
}

}  // namespace

void validate_explicit_zones(const MachineDesc& d, const std::vector<SourceLoc>& zone_locs) {
    auto loc_of = [&](std::size_t i) { return i < zone_locs.size() ? zone_locs[i] : where(d); };
    auto name = [](const ExplicitZone& z) {
        return fmt::format("zone {} of node {}", zone_kind_name(z.kind), z.node);
    };
    std::vector<ZoneKind> kinds = explicit_kinds(d);
    for (std::size_t i = 0; i < d.zones.size(); i++) {
        const ExplicitZone& z = d.zones[i];
        if (std::find(kinds.begin(), kinds.end(), z.kind) == kinds.end())
            throw InputError(loc_of(i), fmt::format("{}: a machine with a HighMem zone (i386) has no {} zone",
                                                    name(z), zone_kind_name(z.kind)));
        if (z.node < 0 || z.node >= 1024)
            throw InputError(loc_of(i), fmt::format("zone node must be from 0 to 1023, got {}", z.node));
        if (!d.nodes.empty() && static_cast<std::size_t>(z.node) >= d.nodes.size())
            throw InputError(loc_of(i), fmt::format("{}: the machine has {} [[node]] entries (nodes 0..{})",
                                                    name(z), d.nodes.size(), d.nodes.size() - 1));
        if (z.present > z.spanned)
            throw InputError(loc_of(i), fmt::format("{}: present ({}) is more than spanned ({})", name(z),
                                                    z.present, z.spanned));
        if (z.managed > z.present)
            throw InputError(loc_of(i), fmt::format("{}: managed ({}) is more than present ({})", name(z),
                                                    z.managed, z.present));
        if (z.kind == ZoneKind::Device && z.spanned)
            throw InputError(
                loc_of(i), fmt::format("{}: ZONE_DEVICE never has boot memory; spanned must be 0", name(z)));
        if (z.spanned && (z.spanned > kMaxPfnEnd || z.start_pfn > kMaxPfnEnd - z.spanned))
            throw InputError(loc_of(i), fmt::format("{}: ends at pfn {:#x}, beyond the 16T mmsim can address",
                                                    name(z), z.start_pfn + z.spanned));
        for (std::size_t j = 0; j < i; j++) {
            const ExplicitZone& o = d.zones[j];
            if (o.node == z.node && o.kind == z.kind)
                throw InputError(loc_of(i),
                                 fmt::format("{} is given twice (first at {})", name(z), loc_of(j).str()));
            if (!z.spanned || !o.spanned) continue;
            uint64_t zs = z.start_pfn, ze = zs + z.spanned, os = o.start_pfn, oe = os + o.spanned;
            if (zs < oe && os < ze)
                throw InputError(loc_of(i),
                                 fmt::format("{} [pfn {:#x}-{:#x}) overlaps {} [pfn {:#x}-{:#x}) at {}",
                                             name(z), zs, ze, name(o), os, oe, loc_of(j).str()));
            if (o.node == z.node) {
                auto idx = [&](ZoneKind k) {
                    return std::find(kinds.begin(), kinds.end(), k) - kinds.begin();
                };
                bool z_higher = idx(z.kind) > idx(o.kind);
                if (z_higher != (zs >= oe))
                    throw InputError(loc_of(i),
                                     fmt::format("{} must lie {} {} (zones of a node are in address order)",
                                                 name(z), z_higher ? "above" : "below", name(o)));
            }
        }
    }
}

BootLayout resolve_layout(const MachineDesc& desc) {
    if (desc.nr_cpus == 0) fail(desc, "cpus must be at least 1");
    if (desc.thp_enabled != "always" && desc.thp_enabled != "madvise" && desc.thp_enabled != "never")
        fail(desc, fmt::format("thp: expected always, madvise or never, got '{}'", desc.thp_enabled));
    if (desc.kernelcore_percent > 100 || desc.movablecore_percent > 100)
        fail(desc, "kernelcore/movablecore percentages must be at most 100%");
    if (desc.nodes.size() > kMaxNumNodes) fail(desc, fmt::format("more than {} nodes", kMaxNumNodes));
    BootLayout out = desc.arch == ArchProfile::Explicit ? resolve_explicit(desc) : resolve_profile(desc);
    out.tlb = desc.tlb;
    return out;
}

}  // namespace mmsim
