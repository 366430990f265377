// /proc/buddyinfo and /proc/pagetypeinfo (mm/vmstat.c: frag_show_print,
// pagetypeinfo_showfree_print, pagetypeinfo_showblockcount_print).
//
// The buddy allocator keeps, per zone, one free list per order (blocks of
// 2^order pages) and per migratetype. These two files are how people see
// fragmentation:
//
//   buddyinfo     one line per populated zone: how many free blocks of
//                 each order, all migratetypes together.
//
//                 Node 0, zone   Normal   3228   1028    356 ...
//
//   pagetypeinfo  per node: the pageblock size, then the same free counts
//                 split by migratetype, then how many pageblocks carry each
//                 migratetype. The kernel walks the free lists to count, and
//                 stops at 100000 entries so it does not hold the zone lock
//                 too long; such a count prints as ">100000". Counting
//                 pageblocks, it steps through the zone span one pageblock
//                 at a time from zone_start_pfn and skips those in memory
//                 sections that are not present (pfn_to_online_page), so a
//                 large hole such as the PCI gap below 4 GiB is not counted
//                 but a small hole inside a section is. The header block is
//                 printed once per node with memory (a quirk of the seq_file
//                 walk), and the file is readable by root only (0400).
//
// Without CONFIG_CMA (the 6.18 capture), the CMA migratetype has no column;
// a machine with a CMA area gets one.
#include <fmt/format.h>

#include <iterator>

#include "mm/page_alloc.h"
#include "mm/show_mem.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

// The migratetypes this kernel configuration has, in enum order.
std::vector<unsigned> migratetypes(const Kernel& k) {
    std::vector<unsigned> mts;
    for (unsigned mt = 0; mt < MIGRATE_TYPES; mt++)
        if (mt != MIGRATE_CMA || config_cma(k)) mts.push_back(mt);
    return mts;
}

// x86-64's SECTION_SIZE_BITS is 27: sections of 128 MiB.
constexpr unsigned PFN_SECTION_SHIFT = 27 - PAGE_SHIFT;

// Memory sections with any RAM in them are present (and, here, online).
class SectionMap {
public:
    explicit SectionMap(const Kernel& k) : m_ram(memblock_memory_ranges(k)) {}
    bool online(uint64_t pfn) const {
        uint64_t s = (pfn >> PFN_SECTION_SHIFT) << PFN_SECTION_SHIFT;
        uint64_t e = s + (uint64_t{1} << PFN_SECTION_SHIFT);
        for (const auto& r : m_ram)
            if (r.start < e && s < r.end) return true;
        return false;
    }

private:
    std::vector<PfnRange> m_ram;
};

bool node_has_memory(const PglistData& node) {
    for (const auto& z : node.node_zones)
        if (z.populated()) return true;
    return false;
}

}  // namespace

std::string render_buddyinfo(const Kernel& k) {
    std::string s;
    auto out = std::back_inserter(s);
    for (const auto& node : k.nodes) {
        for (const auto& zone : node.node_zones) {
            if (!zone.populated()) continue;
            fmt::format_to(out, "Node {}, zone {:>8} ", node.node_id, zone_kind_name(zone.kind));
            for (unsigned order = 0; order < NR_PAGE_ORDERS; order++)
                fmt::format_to(out, "{:>6} ", zone.free_area[order].nr_free);
            *out++ = '\n';
        }
    }
    return s;
}

std::string render_pagetypeinfo(const Kernel& k) {
    const std::vector<unsigned> mts = migratetypes(k);
    const SectionMap sections(k);
    std::string s;
    auto out = std::back_inserter(s);
    for (const auto& node : k.nodes) {
        if (!node_has_memory(node)) continue;
        fmt::format_to(out, "Page block order: {}\n", pageblock_order);
        fmt::format_to(out, "Pages per block:  {}\n", pageblock_nr_pages);
        *out++ = '\n';

        // Free blocks per migratetype and order.
        fmt::format_to(out, "{:<43} ", "Free pages count per migrate type at order");
        for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) fmt::format_to(out, "{:>6} ", order);
        *out++ = '\n';
        for (const auto& zone : node.node_zones) {
            if (!zone.populated()) continue;
            for (unsigned mt : mts) {
                fmt::format_to(out, "Node {:>4}, zone {:>8}, type {:>12} ", node.node_id,
                               zone_kind_name(zone.kind), migratetype_name(mt));
                for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
                    uint64_t n = zone.free_area[order].nr_free_type[mt];
                    bool overflow = n >= 100000;
                    fmt::format_to(out, "{}{:>6} ", overflow ? ">" : "", overflow ? uint64_t{100000} : n);
                }
                *out++ = '\n';
            }
        }

        // Pageblocks per migratetype.
        fmt::format_to(out, "\n{:<23}", "Number of blocks type ");
        for (unsigned mt : mts) fmt::format_to(out, "{:>12} ", migratetype_name(mt));
        *out++ = '\n';
        for (const auto& zone : node.node_zones) {
            if (!zone.populated()) continue;
            uint64_t count[MIGRATE_TYPES] = {};
            for (uint64_t pfn = zone.zone_start_pfn.value; pfn < zone.zone_end_pfn().value;
                 pfn += pageblock_nr_pages) {
                if (!sections.online(pfn)) continue;
                unsigned mt = get_pageblock_migratetype(zone, Pfn(pfn));
                if (mt < MIGRATE_TYPES) count[mt]++;
            }
            fmt::format_to(out, "Node {}, zone {:>8} ", node.node_id, zone_kind_name(zone.kind));
            for (unsigned mt : mts) fmt::format_to(out, "{:>12} ", count[mt]);
            *out++ = '\n';
        }
    }
    return s;
}

}  // namespace mmsim
