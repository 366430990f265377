// /sys/kernel/debug/extfrag/{unusable_index,extfrag_index} (mm/vmstat.c:
// unusable_show_print, extfrag_show_print).
//
// Two views of external fragmentation per populated zone and order, in
// thousandths printed as a decimal:
//
//   unusable_index   the share of free memory that sits in blocks too
//                    small for the order (0.000: all of it usable).
//   extfrag_index    the fragmentation index compaction consults
//                    (src/mm/compaction.cpp): -1.000 when a block of the
//                    order is free; otherwise towards 0 when a request
//                    would fail for lack of memory, towards 1 when it
//                    would fail for fragmentation.
//
// debugfs is root's (the directory is 0700), the files 0444.
#include <fmt/format.h>

#include <cstdlib>
#include <iterator>

#include "mm/compaction.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

template <typename Index>
std::string render_per_order(const Kernel& k, Index index, const char* fmt_index) {
    std::string s;
    auto out = std::back_inserter(s);
    for (const auto& node : k.nodes) {
        for (const auto& zone : node.node_zones) {
            if (!zone.populated()) continue;
            fmt::format_to(out, "Node {}, zone {:>8} ", node.node_id, zone_kind_name(zone.kind));
            for (unsigned order = 0; order < NR_PAGE_ORDERS; order++) {
                int i = index(zone, order);
                // C's "%d.%03d" of i / 1000 and i % 1000 (-1000 is "-1.000").
                fmt::format_to(out, fmt::runtime(fmt_index), i / 1000, std::abs(i % 1000));
            }
            s += '\n';
        }
    }
    return s;
}

}  // namespace

std::string render_unusable_index(const Kernel& k) {
    return render_per_order(k, unusable_free_index, "{}.{:03} ");
}

std::string render_extfrag_index(const Kernel& k) {
    return render_per_order(k, fragmentation_index, "{:>2}.{:03} ");
}

}  // namespace mmsim
