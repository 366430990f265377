// memleak: the report of bcc's tools/memleak.py, from a list of
// outstanding allocations.
//
// The real memleak instruments the allocator (uprobes on malloc, calloc,
// realloc and free in one process; the kmem tracepoints kmalloc, kfree,
// kmem_cache_alloc/free, mm_page_alloc/free for the kernel), keeps every
// allocation that has not been freed with its size, time and call stack,
// and every INTERVAL seconds prints
//
//   [HH:MM:SS] Top N stacks with outstanding allocations:
//           addr = 55d3c6f1e2a0 size = 1024          (-a: each allocation)
//           ...
//           3072 bytes in 3 allocations from stack
//                   parse_header [hello]            (innermost frame first)
//                   handle_request [hello]
//                   main [hello]
//
// This file is only the rendering: it takes the allocations as plain data
// (MemleakAlloc) and knows nothing of the kernel or the C library. Where
// they come from (the process's malloc records, page_owner's) is the
// collector's business (src/scenario/memleak_commands.cpp).
//
// The rules are memleak.py's: an allocation younger than the minimum age
// (-o, 500 ms by default) is left out; so is one whose stack was lost (an
// empty stack here, a negative stack id there); -z/-Z keep sizes within
// [min, max]; allocations are visited by size, smallest first, which is
// the order of the -a lines; stacks are grouped by their frames, sorted by
// total bytes (or --sort count) ascending, and the last N kept (all of
// them for -T 0, Python's [-0:]), so the biggest is printed last.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mmsim::tools {

// One frame of a call stack as bcc's BPF.sym() prints it with the module
// and offset: "[0x%016x\t]SYMBOL[+0xOFF] [MODULE]".
struct MemleakFrame {
    uint64_t addr = 0;    // the return address; 0: unknown, not printed
    std::string symbol;   // empty: "[unknown]"
    uint64_t offset = 0;  // printed as +0x.. only with addr (no symbols, no offsets)
    std::string module;   // empty: not printed
    bool operator==(const MemleakFrame&) const = default;
    bool operator<(const MemleakFrame& o) const {
        if (addr != o.addr) return addr < o.addr;
        if (symbol != o.symbol) return symbol < o.symbol;
        if (offset != o.offset) return offset < o.offset;
        return module < o.module;
    }
};

// One allocation not freed yet.
struct MemleakAlloc {
    uint64_t address = 0;  // a user or kernel address, or a pfn for a page allocation
    uint64_t size = 0;     // bytes
    uint64_t timestamp_ns = 0;
    std::vector<MemleakFrame> stack;  // innermost first; empty: the stack was lost
};

enum class MemleakSort : uint8_t { Size, Count };

struct MemleakOptions {
    bool show_allocs = false;          // -a
    uint64_t min_age_ns = 500000000;   // -o 500 (milliseconds)
    unsigned top = 10;                 // -T
    std::optional<uint64_t> min_size;  // -z
    std::optional<uint64_t> max_size;  // -Z
    MemleakSort sort = MemleakSort::Size;
};

// The allocations of one stack.
struct MemleakStack {
    std::vector<MemleakFrame> frames;
    uint64_t bytes = 0;
    uint64_t allocs = 0;
};

// The stacks a report prints, in its order (the biggest last), at most
// opt.top of them. `now_ns` is the time of the report.
std::vector<MemleakStack> memleak_stacks(const std::vector<MemleakAlloc>& allocs, const MemleakOptions& opt,
                                         uint64_t now_ns);

// One report: the header, the -a lines, the stacks. `now_ns` decides the
// ages; `hms` is the clock printed in the header ("11:16:33").
std::string memleak_report(const std::vector<MemleakAlloc>& allocs, const MemleakOptions& opt,
                           uint64_t now_ns, std::string_view hms);

// The line memleak prints when it starts: "Attaching to pid 1000, Ctrl+C
// to quit." or, without a pid (-1), "Attaching to kernel allocators, ...".
std::string memleak_attach_line(int pid);

// One frame as memleak prints it after the two tabs.
std::string memleak_frame_text(const MemleakFrame& f);

// "HH:MM:SS" of a wall clock given in seconds since midnight.
std::string memleak_hms(uint64_t seconds);

}  // namespace mmsim::tools
