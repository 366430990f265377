// tlbstat and the tlb value source show what the TLB model predicts for a
// sweep over N pages done twice: the first pass misses on every page; the
// second hits the L1 dTLB when N fits it (64 entries), the STLB when N fits
// only that (1536 entries, 12-way), and misses again when N overflows both
// (a sequential sweep over more pages than an LRU set holds evicts every
// page before its reuse). Counters are taken as deltas around each pass so
// that exec's own touches do not matter.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text, RunOptions opts = {}) { return test::run_scenario(text, opts); }

// Two sweeps over `pages` pages; expectations on the second one.
std::string sweep(int pages, const std::string& expectations) {
    return "boot ram=512M cpus=2\n"
           "spawn hello as=p\n"
           "mmap $p " +
           std::to_string(pages * 4) +
           "K as=buf\n"
           "touch $p $buf " +
           std::to_string(pages * 4) +
           "K write\n"
           "let l1 = tlb[$p].l1_hits\n"
           "let stlb = tlb[$p].stlb_hits\n"
           "let miss = tlb[$p].misses\n"
           "let all = tlb.lookups\n"
           "touch $p $buf " +
           std::to_string(pages * 4) + "K read\n" + expectations;
}

TEST(TlbCommands, ASweepThatFitsTheL1HitsItOnTheSecondPass) {
    Outcome o = run(sweep(32,
                          "expect tlb[$p].l1_hits == $l1 + 32\n"
                          "expect tlb[$p].misses == $miss\n"
                          "expect tlb.lookups == $all + 32\n"));
    EXPECT_EQ(o.status, 0) << o.err;
}

TEST(TlbCommands, ASweepThatFitsOnlyTheStlbHitsTheStlb) {
    Outcome o = run(sweep(256,
                          "expect tlb[$p].stlb_hits == $stlb + 256\n"
                          "expect tlb[$p].l1_hits == $l1\n"
                          "expect tlb[$p].misses == $miss\n"));
    EXPECT_EQ(o.status, 0) << o.err;
}

TEST(TlbCommands, ASweepLargerThanTheStlbMissesEveryPageAgain) {
    Outcome o = run(sweep(2048,
                          "expect tlb[$p].misses == $miss + 2048\n"
                          "expect tlb.cpu0.misses + tlb.cpu1.misses == tlb.misses\n"));
    EXPECT_EQ(o.status, 0) << o.err;
}

TEST(TlbCommands, TlbstatPrintsEveryCpuTheTotalAndEachProcess) {
    Outcome o = run("boot ram=512M cpus=2\nspawn hello as=p\nspawn dash as=q\ntlbstat\ntlbstat $q\n");
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("\ncpu0 "), std::string::npos);
    EXPECT_NE(o.out.find("\ncpu1 "), std::string::npos);
    EXPECT_NE(o.out.find("\nall "), std::string::npos);
    EXPECT_NE(o.out.find(" hello "), std::string::npos);
    // The second table of the second tlbstat lists only dash.
    std::size_t second = o.out.rfind("PID COMM");
    ASSERT_NE(second, std::string::npos);
    EXPECT_EQ(o.out.find(" hello ", second), std::string::npos);
    EXPECT_NE(o.out.find(" dash ", second), std::string::npos);
}

TEST(TlbCommands, UnknownCountersAndProcessesAreBadInput) {
    Outcome a = run("boot ram=512M cpus=2\nspawn hello as=p\nexpect tlb[$p].hitz == 0\n");
    EXPECT_EQ(a.status, 2);
    EXPECT_NE(a.err.find("s.mms:3:"), std::string::npos) << a.err;
    EXPECT_NE(a.err.find("no per-process TLB counter 'hitz'"), std::string::npos) << a.err;
    Outcome b = run("boot ram=512M cpus=2\nexpect tlb.cpu7.misses == 0\n");
    EXPECT_EQ(b.status, 2);
    EXPECT_NE(b.err.find("expected cpu0 to cpu1"), std::string::npos) << b.err;
    Outcome c = run("boot ram=512M cpus=2\ntlbstat 4242\n");
    EXPECT_EQ(c.status, 2);
    EXPECT_NE(c.err.find("no process 4242"), std::string::npos) << c.err;
}

}  // namespace
}  // namespace mmsim::scenario
