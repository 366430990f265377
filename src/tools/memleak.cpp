// memleak's report (bcc tools/memleak.py, print_outstanding()). See
// memleak.h for the format and the rules.
#include "tools/memleak.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace mmsim::tools {

namespace {

// Whether an allocation makes it into the report at `now_ns`: old enough
// (memleak skips one when now - min_age < its timestamp), within the size
// filter (bcc's SIZE_FILTER drops size < min and size > max), and with a
// stack.
bool shown(const MemleakAlloc& a, const MemleakOptions& opt, uint64_t now_ns) {
    if (a.stack.empty()) return false;
    if (opt.min_size && a.size < *opt.min_size) return false;
    if (opt.max_size && a.size > *opt.max_size) return false;
    // The unsigned form of now - min_age < timestamp: an allocation from
    // the future (or any allocation, in the first min_age of time) is young.
    return now_ns >= opt.min_age_ns && now_ns - opt.min_age_ns >= a.timestamp_ns;
}

// The allocations in the order memleak visits them: by size, smallest
// first. bcc's order among equal sizes is its hash table's; here it is the
// address, so that a report is reproducible.
std::vector<const MemleakAlloc*> by_size(const std::vector<MemleakAlloc>& allocs, const MemleakOptions& opt,
                                         uint64_t now_ns) {
    std::vector<const MemleakAlloc*> v;
    for (const MemleakAlloc& a : allocs)
        if (shown(a, opt, now_ns)) v.push_back(&a);
    std::stable_sort(v.begin(), v.end(), [](const MemleakAlloc* x, const MemleakAlloc* y) {
        return x->size != y->size ? x->size < y->size : x->address < y->address;
    });
    return v;
}

std::vector<MemleakStack> group(const std::vector<const MemleakAlloc*>& visited, const MemleakOptions& opt) {
    // Stacks in the order they were first met, as memleak's dict keeps
    // them; Python's sort is stable, so equal keys keep that order.
    std::vector<MemleakStack> stacks;
    std::map<std::vector<MemleakFrame>, std::size_t> index;
    for (const MemleakAlloc* a : visited) {
        auto [it, added] = index.try_emplace(a->stack, stacks.size());
        if (added) stacks.push_back(MemleakStack{a->stack, 0, 0});
        MemleakStack& s = stacks[it->second];
        s.bytes += a->size;
        s.allocs++;
    }
    std::stable_sort(stacks.begin(), stacks.end(), [&opt](const MemleakStack& x, const MemleakStack& y) {
        return opt.sort == MemleakSort::Count ? x.allocs < y.allocs : x.bytes < y.bytes;
    });
    // [-top_stacks:]: the last N. With -T 0 that is Python's [-0:], the
    // whole list, so memleak then prints every stack.
    if (opt.top > 0 && stacks.size() > opt.top)
        stacks.erase(stacks.begin(), stacks.end() - static_cast<std::ptrdiff_t>(opt.top));
    return stacks;
}

}  // namespace

std::vector<MemleakStack> memleak_stacks(const std::vector<MemleakAlloc>& allocs, const MemleakOptions& opt,
                                         uint64_t now_ns) {
    return group(by_size(allocs, opt, now_ns), opt);
}

std::string memleak_frame_text(const MemleakFrame& f) {
    std::string s;
    if (f.addr) s += fmt::format("0x{:016x}\t", f.addr);
    s += f.symbol.empty() ? std::string("[unknown]") : f.symbol;
    if (f.addr && !f.symbol.empty()) s += fmt::format("+0x{:x}", f.offset);
    if (!f.module.empty()) s += " [" + f.module + "]";
    return s;
}

std::string memleak_report(const std::vector<MemleakAlloc>& allocs, const MemleakOptions& opt,
                           uint64_t now_ns, std::string_view hms) {
    std::string out = fmt::format("[{}] Top {} stacks with outstanding allocations:\n", hms, opt.top);
    std::vector<const MemleakAlloc*> visited = by_size(allocs, opt, now_ns);
    if (opt.show_allocs)
        for (const MemleakAlloc* a : visited)
            out += fmt::format("\taddr = {:x} size = {}\n", a->address, a->size);
    for (const MemleakStack& s : group(visited, opt)) {
        out += fmt::format("\t{} bytes in {} allocations from stack\n", s.bytes, s.allocs);
        for (const MemleakFrame& f : s.frames) out += "\t\t" + memleak_frame_text(f) + "\n";
    }
    return out;
}

std::string memleak_attach_line(int pid) {
    if (pid < 0) return "Attaching to kernel allocators, Ctrl+C to quit.\n";
    return fmt::format("Attaching to pid {}, Ctrl+C to quit.\n", pid);
}

std::string memleak_hms(uint64_t seconds) {
    return fmt::format("{:02}:{:02}:{:02}", seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
}

}  // namespace mmsim::tools
