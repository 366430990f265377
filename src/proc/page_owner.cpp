// /sys/kernel/debug/page_owner (mm/page_owner.c, read_page_owner() and
// print_page_owner()): a paragraph per allocated block, in pfn order.
//
//   Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1000, tgid 1000 (sh), ts 1000 ns
//   PFN 0x1a2b3 type Unmovable Block 209 type Unmovable Flags 0x...(node=0|zone=2)
//    post_alloc_hook
//    ...
//   (blank line)
//
// %pGp prints the page's flags word with the names of the set flags and
// its node and zone fields. The word is built with the layout of an
// x86-64 distribution kernel (NODES_SHIFT 10 at bit 54, ZONES_SHIFT 3 at
// bit 51, last_cpupid outside the flags) and 6.18's bit numbers for the
// flags the simulator keeps; page owner is off on the host this project
// captures from, so this line has no real capture to compare with. Frames
// carry no +offset/size (the simulator has no return addresses).
#include "mm/page_owner.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

// enum pageflags bit numbers (6.18) of the flags mmsim keeps, in %pGp's
// order (the pageflag_names table, lowest bit first).
struct FlagName {
    PageFlag ours;
    unsigned bit;
    const char* name;
};
constexpr FlagName kFlagNames[] = {
    {PG_uptodate, 3, "uptodate"},
    {PG_dirty, 4, "dirty"},
    {PG_head, 6, "head"},
    {PG_reserved, 13, "reserved"},
    {PG_swapbacked, 17, "swapbacked"},
    {PG_mlocked, 20, "mlocked"},
};
constexpr unsigned kNodesPgoff = 54;
constexpr unsigned kZonesPgoff = 51;

std::string page_flags(const Kernel& k, const Page& p, Pfn pfn) {
    uint64_t word = 0;
    std::string names;
    for (const FlagName& f : kFlagNames) {
        if (!p.test(f.ours)) continue;
        word |= uint64_t{1} << f.bit;
        if (!names.empty()) names += '|';
        names += f.name;
    }
    const Zone* z = const_cast<Kernel&>(k).page_zone(pfn);
    unsigned node = z ? static_cast<unsigned>(z->node) : 0;
    unsigned zone = z ? z->idx : 0;
    word |= uint64_t{node} << kNodesPgoff | uint64_t{zone} << kZonesPgoff;
    if (!names.empty()) names += '|';
    names += fmt::format("node={}|zone={}", node, zone);
    return fmt::format("{:#x}({})", word, names);
}

}  // namespace

std::string render_page_owner(const Kernel& k) {
    std::string out;
    if (!k.page_owner) return out;
    const PageOwnerState& st = *k.page_owner;
    std::vector<uint64_t> pfns;
    for (const auto& [pfn, r] : st.records)
        if (r.allocated) pfns.push_back(pfn);
    std::sort(pfns.begin(), pfns.end());
    for (uint64_t pfn : pfns) {
        const PageOwnerRecord& r = st.records.at(pfn);
        // read_page_owner() prints a block at its first page only.
        if (pfn & ((uint64_t{1} << r.order) - 1)) continue;
        const Page& p = (*k.mem_map)[pfn];
        if (p.flags & (PG_buddy | PG_pcp)) continue;
        const Zone* z = const_cast<Kernel&>(k).page_zone(Pfn(pfn));
        unsigned block_mt = z ? get_pageblock_migratetype(*z, Pfn(pfn)) : 0;
        out +=
            fmt::format("Page allocated via order {}, mask {:#x}({}), pid {}, tgid {} ({}), ts {} ns\n",
                        r.order, r.gfp_mask, gfp_flags_string(r.gfp_mask), r.pid, r.tgid, r.comm, r.ts_nsec);
        out += fmt::format("PFN {:#x} type {} Block {} type {} Flags {}\n", pfn,
                           migratetype_name(gfp_migratetype(r.gfp_mask)), pfn >> pageblock_order,
                           migratetype_name(block_mt), page_flags(k, p, Pfn(pfn)));
        out += st.stacks[r.handle];
        if (r.last_migrate_reason != -1) out += "Page has been migrated, last migrate reason: unknown\n";
        out += '\n';
    }
    return out;
}

}  // namespace mmsim
