// memleak in scenarios: a process allocates at named call sites and frees
// some; memleak -p reports the rest by site with their totals, as reports
// every INTERVAL of simulated time too; kernel mode reads page_owner's page
// blocks (its slab objects: memleak_kernel_test.cpp); bad input is a
// located error (exit status 2) before anything runs.
#include <gtest/gtest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text) { return test::run_scenario(text); }

using test::count_of;

// hello's startup malloc (stdio's 4 KiB buffer, at _IO_file_doallocate)
// is outstanding too; the blocks here are each site's own.
constexpr const char* kSites =
    "boot ram=1G cpus=1\n"
    "spawn hello as=p\n"
    "malloc $p 1K count=6 at='main;handle_request;parse_header' fill as=req\n"
    "malloc $p 100 count=4 at='main;load_config;xstrdup' as=cfg\n"
    "malloc $p 200 count=3 at='main;init' as=tmp\n"
    "free $p tmp\n"         // init's blocks: all freed
    "free $p req keep=3\n"  // two of the six requests stay
    "sleep 1s\n";

TEST(MemleakCommands, NamesEachSiteWithItsOutstandingBytesAndCount) {
    Outcome o = run(std::string(kSites) +
                    "memleak -p $p\n"
                    "expect memleak[$p].stacks == 3\n"
                    "expect memleak[$p][0].site == \"_IO_file_doallocate\"\n"
                    "expect memleak[$p][1].site == \"main;handle_request;parse_header\"\n"
                    "expect memleak[$p][1].bytes == 2048 && memleak[$p][1].allocs == 2\n"
                    "expect memleak[$p][2].bytes == 400 && memleak[$p][2].allocs == 4\n"
                    "expect memleak[$p].bytes == 4096 + 2048 + 400\n");
    EXPECT_EQ(o.status, 0) << o.out << o.err;
    EXPECT_EQ(o.failures, 0) << o.out << o.err;
    EXPECT_EQ(o.out,
              "Attaching to pid 1000, Ctrl+C to quit.\n"
              "[00:00:01] Top 10 stacks with outstanding allocations:\n"
              "\t400 bytes in 4 allocations from stack\n"
              "\t\txstrdup [hello]\n"
              "\t\tload_config [hello]\n"
              "\t\tmain [hello]\n"
              "\t2048 bytes in 2 allocations from stack\n"
              "\t\tparse_header [hello]\n"
              "\t\thandle_request [hello]\n"
              "\t\tmain [hello]\n"
              "\t4096 bytes in 1 allocations from stack\n"
              "\t\t_IO_file_doallocate [libc.so.6]\n");
}

TEST(MemleakCommands, AllocsTopAndSizeFilters) {
    Outcome o = run(std::string(kSites) + "memleak -a -p $p --top 1 -Z 1024\n");
    EXPECT_EQ(o.status, 0) << o.err;
    // -Z 1024 drops the 4 KiB stdio buffer; -a lists all six blocks
    // (four of 100 bytes, then two of 1024), --top 1 prints one stack.
    EXPECT_EQ(count_of(o.out, "\taddr = "), 6u) << o.out;
    EXPECT_EQ(count_of(o.out, " size = 100\n"), 4u) << o.out;
    EXPECT_NE(o.out.find("Top 1 stacks"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("size = 1024\n\t2048 bytes in 2 allocations from stack\n\t\tparse_header [hello]\n"),
              std::string::npos)
        << o.out;
    EXPECT_EQ(o.out.find("xstrdup"), std::string::npos) << o.out;
}

TEST(MemleakCommands, YoungBlocksWaitForMinAge) {
    // A block allocated at the instant of the report is younger than the
    // default 500 ms; -o 0 shows it.
    Outcome o =
        run("boot ram=1G cpus=1\n"
            "spawn hello as=p\n"
            "malloc $p 64 at='main;fresh'\n"
            "memleak -p $p -z 64 -Z 64\n"
            "memleak -p $p -z 64 -Z 64 -o 0\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(count_of(o.out, "64 bytes in 1 allocations"), 1u) << o.out;
    EXPECT_EQ(count_of(o.out, "Top 10 stacks"), 2u) << o.out;
}

TEST(MemleakCommands, IntervalReportsFollowTheSimulatedClock) {
    // One leaked KiB a second; memleak 2s 3 reports at 2s, 4s and 6s while
    // the sleep runs, each seeing the blocks at least 500 ms old.
    Outcome o =
        run("boot ram=1G cpus=1\n"
            "spawn hello as=p\n"
            "every 1s malloc $p 1K at='main;leak' fill\n"
            "memleak -p $p -Z 1024 2s 3\n"
            "echo started\n"
            "sleep 10s\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(count_of(o.out, "Top 10 stacks"), 3u) << o.out;
    std::size_t at2 = o.out.find("[00:00:02]"), at4 = o.out.find("[00:00:04]"),
                at6 = o.out.find("[00:00:06]");
    ASSERT_NE(at2, std::string::npos) << o.out;
    ASSERT_NE(at4, std::string::npos) << o.out;
    ASSERT_NE(at6, std::string::npos) << o.out;
    EXPECT_LT(o.out.find("started"), at2);
    // At 2s the block of 2s is too young: one; then 3, then 5.
    EXPECT_NE(o.out.find("[00:00:02] Top 10 stacks with outstanding allocations:\n"
                         "\t1024 bytes in 1 allocations from stack\n"
                         "\t\tleak [hello]\n\t\tmain [hello]\n"),
              std::string::npos)
        << o.out;
    EXPECT_NE(
        o.out.find("[00:00:04] Top 10 stacks with outstanding allocations:\n\t3072 bytes in 3 allocations"),
        std::string::npos)
        << o.out;
    EXPECT_NE(
        o.out.find("[00:00:06] Top 10 stacks with outstanding allocations:\n\t5120 bytes in 5 allocations"),
        std::string::npos)
        << o.out;
    EXPECT_EQ(o.out.find("[00:00:08]"), std::string::npos) << o.out;
}

TEST(MemleakCommands, KernelModeReportsPageOwnerStacks) {
    Outcome o =
        run("boot ram=512M cpus=1 page_owner=on\n"
            "kmalloc 20K count=3 as=big\n"  // large kmalloc: order-3 blocks from the page allocator
            "sleep 1s\n"
            "memleak -z 32768 -Z 32768\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("Attaching to kernel allocators, Ctrl+C to quit.\n"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("\t98304 bytes in 3 allocations from stack\n"
                         "\t\tpost_alloc_hook [kernel]\n"
                         "\t\tget_page_from_freelist [kernel]\n"
                         "\t\t__alloc_frozen_pages_noprof [kernel]\n"
                         "\t\tkmalloc [scenario]\n"),
              std::string::npos)
        << o.out;
}

TEST(MemleakCommands, BadInputNamesItsPlace) {
    struct Case {
        const char* line;
        const char* want;
    } cases[] = {
        {"memleak -x", "s.mms:3:9: error: unknown option '-x' for memleak"},
        {"memleak -p abc", "s.mms:3:12: error: the value of -p must be a whole number, not 'abc'"},
        {"memleak -p 0", "s.mms:3:12: error: a pid (-p) must be between"},
        {"memleak -o -5", "s.mms:3:12: error: an age in milliseconds (-o) must be between"},
        {"memleak -z 100 -Z 10", "s.mms:3:19: error: min_size (-z) can't be greater than max_size (-Z)"},
        {"memleak --sort age", "s.mms:3:16: error: --sort takes size or count, not 'age'"},
        {"memleak 5x", "s.mms:3:9: error:"},
        {"memleak 0", "s.mms:3:9: error: memleak needs an interval above zero"},
        {"memleak 1s 0", "s.mms:3:12: error: a number of reports must be between 1"},
        {"memleak 1s 2 3", "s.mms:3:14: error: unexpected argument '3' for memleak"},
        {"memleak -p 4242", "s.mms:3:12: error: memleak: no process 4242"},
        {"print memleak[4242].bytes", "no live process 4242"},
        {"print memleak[1000].size", "no memleak field 'size'"},
    };
    for (const Case& c : cases) {
        Outcome o = run(std::string("boot ram=1G cpus=1\nspawn hello\n") + c.line + "\n");
        EXPECT_EQ(o.status, 2) << c.line << "\n" << o.err;
        EXPECT_NE(o.err.find(c.want), std::string::npos) << c.line << "\n" << o.err;
        // Parse-time errors stop the run before anything prints.
        EXPECT_EQ(o.out.find("Attaching"), std::string::npos) << c.line;
    }
}

}  // namespace
}  // namespace mmsim::scenario
