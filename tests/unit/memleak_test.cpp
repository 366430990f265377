// memleak's report from hand-made allocations: the text bcc's memleak.py
// prints (print_outstanding()), its grouping by stack, its order (by size,
// the biggest stack last), the -a lines, --top, -o, -z/-Z and --sort.
#include "tools/memleak.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mmsim::tools {
namespace {

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSec = 1000 * kMs;

// A stack from frames given innermost first, all in one module.
std::vector<MemleakFrame> stack(std::initializer_list<const char*> names, const char* module = "allocs") {
    std::vector<MemleakFrame> v;
    for (const char* n : names) v.push_back(MemleakFrame{0, n, 0, module});
    return v;
}

// Two leaking call sites and one that freed everything (so is absent):
//   parse_header  3 x 1024 at 1s, 2s, 3s
//   xstrdup       2 x 16 at 1s
std::vector<MemleakAlloc> two_sites() {
    auto hdr = stack({"parse_header", "handle_request", "main"});
    auto dup = stack({"xstrdup", "load_config", "main"});
    return {
        {0x948d10, 1024, 2 * kSec, hdr}, {0x948cd0, 16, 1 * kSec, dup}, {0x949110, 1024, 3 * kSec, hdr},
        {0x948910, 1024, 1 * kSec, hdr}, {0x948cf0, 16, 1 * kSec, dup},
    };
}

TEST(Memleak, GroupsByStackSmallestTotalFirst) {
    MemleakOptions opt;
    std::string want =
        "[11:16:33] Top 10 stacks with outstanding allocations:\n"
        "\t32 bytes in 2 allocations from stack\n"
        "\t\txstrdup [allocs]\n"
        "\t\tload_config [allocs]\n"
        "\t\tmain [allocs]\n"
        "\t3072 bytes in 3 allocations from stack\n"
        "\t\tparse_header [allocs]\n"
        "\t\thandle_request [allocs]\n"
        "\t\tmain [allocs]\n";
    EXPECT_EQ(memleak_report(two_sites(), opt, 10 * kSec, "11:16:33"), want);
}

TEST(Memleak, ShowAllocsListsEachBlockBySizeThenItsStacks) {
    MemleakOptions opt;
    opt.show_allocs = true;
    // Sizes ascending; equal sizes by address (bcc: its hash table's order).
    std::string want =
        "[00:00:10] Top 10 stacks with outstanding allocations:\n"
        "\taddr = 948cd0 size = 16\n"
        "\taddr = 948cf0 size = 16\n"
        "\taddr = 948910 size = 1024\n"
        "\taddr = 948d10 size = 1024\n"
        "\taddr = 949110 size = 1024\n"
        "\t32 bytes in 2 allocations from stack\n"
        "\t\txstrdup [allocs]\n"
        "\t\tload_config [allocs]\n"
        "\t\tmain [allocs]\n"
        "\t3072 bytes in 3 allocations from stack\n"
        "\t\tparse_header [allocs]\n"
        "\t\thandle_request [allocs]\n"
        "\t\tmain [allocs]\n";
    EXPECT_EQ(memleak_report(two_sites(), opt, 10 * kSec, memleak_hms(10)), want);
}

TEST(Memleak, TopKeepsTheBiggestStacksButAllocsListsEveryBlock) {
    MemleakOptions opt;
    opt.top = 1;
    opt.show_allocs = true;
    std::string out = memleak_report(two_sites(), opt, 10 * kSec, "00:00:10");
    EXPECT_TRUE(out.starts_with("[00:00:10] Top 1 stacks with outstanding allocations:\n")) << out;
    EXPECT_NE(out.find("\taddr = 948cd0 size = 16\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("xstrdup"), std::string::npos) << out;
    EXPECT_NE(out.find("\t3072 bytes in 3 allocations from stack\n"), std::string::npos) << out;
    // -T 0 is Python's [-0:]: every stack.
    opt.top = 0;
    opt.show_allocs = false;
    EXPECT_EQ(memleak_stacks(two_sites(), opt, 10 * kSec).size(), 2u);
}

TEST(Memleak, MinAgeLeavesOutYoungBlocks) {
    MemleakOptions opt;  // -o 500 by default
    // At 2.5s: the blocks of 1s and 2s are old enough (2s exactly 500 ms),
    // the one of 3s is in the future of the report.
    auto s = memleak_stacks(two_sites(), opt, 2500 * kMs);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[1].bytes, 2048u);
    EXPECT_EQ(s[1].allocs, 2u);
    // One nanosecond earlier, the 2s block is too young.
    s = memleak_stacks(two_sites(), opt, 2500 * kMs - 1);
    EXPECT_EQ(s[1].allocs, 1u);
    // -o 2000 at 3.5s keeps only what is 2 s old: the blocks of 1s.
    opt.min_age_ns = 2000 * kMs;
    s = memleak_stacks(two_sites(), opt, 3500 * kMs);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].bytes, 32u);
    EXPECT_EQ(s[1].bytes, 1024u);
    // Before the minimum age has passed since boot, nothing is old enough.
    EXPECT_EQ(memleak_report(two_sites(), opt, 1 * kSec, "00:00:01"),
              "[00:00:01] Top 10 stacks with outstanding allocations:\n");
}

TEST(Memleak, SizeFilterKeepsTheBoundsThemselves) {
    MemleakOptions opt;
    opt.min_size = 16;
    opt.max_size = 16;  // bcc: drop size < min and size > max
    auto s = memleak_stacks(two_sites(), opt, 10 * kSec);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].frames[0].symbol, "xstrdup");
    opt.min_size = 17;
    opt.max_size.reset();
    s = memleak_stacks(two_sites(), opt, 10 * kSec);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].frames[0].symbol, "parse_header");
}

TEST(Memleak, SortByCountAndEqualKeysKeepTheOrderFirstMet) {
    auto a = stack({"a"}), b = stack({"b"});
    // b's 16-byte block is visited first (smallest), so b is met first.
    std::vector<MemleakAlloc> v = {{0x10, 4096, 0, a}, {0x20, 16, 0, b}, {0x30, 4080, 0, b}};
    MemleakOptions opt;
    opt.min_age_ns = 0;
    auto s = memleak_stacks(v, opt, 0);
    ASSERT_EQ(s.size(), 2u);  // 4096 bytes each: b (met first) stays first
    EXPECT_EQ(s[0].frames[0].symbol, "b");
    opt.sort = MemleakSort::Count;
    s = memleak_stacks(v, opt, 0);
    EXPECT_EQ(s[0].frames[0].symbol, "a");
    EXPECT_EQ(s[1].allocs, 2u);
}

TEST(Memleak, BlocksWithoutAStackAreSkipped) {
    // memleak.py skips stack_id < 0 (the stack could not be taken).
    std::vector<MemleakAlloc> v = {{0x10, 64, 0, {}}, {0x20, 8, 0, {MemleakFrame{}}}};
    MemleakOptions opt;
    opt.min_age_ns = 0;
    opt.show_allocs = true;
    EXPECT_EQ(memleak_report(v, opt, 0, "00:00:00"),
              "[00:00:00] Top 10 stacks with outstanding allocations:\n"
              "\taddr = 20 size = 8\n"
              "\t8 bytes in 1 allocations from stack\n"
              "\t\t[unknown]\n");
}

TEST(Memleak, FramesPrintAsBccSymPrintsThem) {
    // memleak_example.txt's redis stack: address, tab, symbol+offset, module.
    EXPECT_EQ(
        memleak_frame_text(MemleakFrame{0x00007fdf47029d90, "__libc_start_call_main", 0x80, "libc.so.6"}),
        "0x00007fdf47029d90\t__libc_start_call_main+0x80 [libc.so.6]");
    EXPECT_EQ(memleak_frame_text(MemleakFrame{0x559b4789639f, "", 0, "redis-server"}),
              "0x0000559b4789639f\t[unknown] [redis-server]");
    // No address (the simulator's named sites): the name and module only.
    EXPECT_EQ(memleak_frame_text(MemleakFrame{0, "bpf_prog_load", 0, "kernel"}), "bpf_prog_load [kernel]");
    EXPECT_EQ(memleak_frame_text(MemleakFrame{}), "[unknown]");
}

TEST(Memleak, AttachLinesAndClock) {
    EXPECT_EQ(memleak_attach_line(5193), "Attaching to pid 5193, Ctrl+C to quit.\n");
    EXPECT_EQ(memleak_attach_line(-1), "Attaching to kernel allocators, Ctrl+C to quit.\n");
    EXPECT_EQ(memleak_hms(11 * 3600 + 16 * 60 + 33), "11:16:33");
    EXPECT_EQ(memleak_hms(86400 + 5), "00:00:05");
}

}  // namespace
}  // namespace mmsim::tools
