// /proc/swaps (mm/swapfile.c, swap_show()): a header, then one line per
// swap device in type order, each device whose slot of swap_info[] is in
// use and has a swap map (so one being swapped off is still listed):
//
//   Filename                                Type            Size            Used            Priority
//   /var/tmp/swapfile                       file            262140          21000           -2
//   /dev/loop0                              partition       65532           65524           10
//
// The name is the path, with space, tab, newline and backslash written as
// \ooo (seq_file_path), padded with spaces to 40 columns (at least one
// space). Then the type ("file" gets a tab more than "partition"), Size
// and Used in KiB, each followed by a second tab while below 10000000, and
// the priority. Size counts the usable slots, not the header page: a
// 256 MiB area shows 262140.
#include <fmt/format.h>

#include <string>

#include "mm/swapfile.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

// mangle_path() with seq_file_path()'s escapes.
std::string mangle(const std::string& path) {
    std::string out;
    for (char c : path) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\\')
            out += fmt::format("\\{:03o}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out;
}

}  // namespace

std::string render_swaps(const Kernel& k) {
    std::string out = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    if (!k.swap) return out;
    for (const auto& sp : k.swap->swap_info) {
        const SwapInfo& si = *sp;
        if (!(si.flags & SWP_USED) || si.swap_map.empty()) continue;
        uint64_t bytes = uint64_t{si.pages} << (PAGE_SHIFT - 10);
        uint64_t inuse = swap_usage_in_pages(si) << (PAGE_SHIFT - 10);
        std::string name = mangle(si.path);
        std::size_t len = name.size();
        out += name;
        out.append(len < 40 ? 40 - len : 1, ' ');
        out += fmt::format("{}\t{}\t{}{}\t{}{}\n", si.blkdev ? "partition" : "file\t", bytes,
                           bytes < 10000000 ? "\t" : "", inuse, inuse < 10000000 ? "\t" : "", si.prio);
    }
    return out;
}

}  // namespace mmsim
