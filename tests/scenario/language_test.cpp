// The scenario language end to end, in process: what runs print, the
// status a run ends with, where errors point, how time and scheduled blocks
// interleave, snapshots that appear only after a clean run, the shell, and
// alloc_pages/free_pages against the buddy allocator. Machines are small
// (256 MiB) so that the checks MMSIM_CHECK turns on stay cheap.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace fs = std::filesystem;

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text, RunOptions opts = {}) { return test::run_scenario(text, opts); }

fs::path temp_dir(const std::string& name) {
    fs::path p = fs::temp_directory_path() / fmt::format("mmsim-lang-{}-{}", ::getpid(), name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

// Entries of `dir` whose name contains `part`.
int entries_containing(const fs::path& dir, const std::string& part) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(part) != std::string::npos) n++;
    return n;
}

TEST(Language, TextCommandsVariablesAndPipes) {
    Outcome r = run(R"(# comments and blank lines are ignored

let x = 6
let word = hello
echo "$word ${word}s" 'no $x here' $(( $x * 7 ))
print $x * 2K
print 7 / 2
print just words
echo -e "a\nb\nc\nd" | tail -n 2
echo -e "a\nb\nc" | head -2 | wc -l
echo -e "min 1\nlow 2\nmin 3" | grep -c min
echo -e "Min\nmax" | grep -i -v MAX
echo one; echo two
let x = $x + 1
print $x
)");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "hello hellos no $x here 42\n"
              "$x * 2K = 12288\n"
              "3.5\n"
              "just words\n"
              "c\nd\n"
              "2\n"
              "2\n"
              "Min\n"
              "one\ntwo\n"
              "$x = 7\n");
}

TEST(Language, ReadsTheSimulatedProcFiles) {
    Outcome r = run(R"(boot ram=256M cpus=1
sysctl vm.swappiness
sysctl -n vm.watermark_scale_factor
sysctl vm.swappiness=10
cat /proc/sys/vm/swappiness
echo 30 > /proc/sys/vm/swappiness
sysctl vm.swappiness = 40
print sysctl.vm.swappiness
grep -c "^Node" /proc/buddyinfo
cat /proc/meminfo | grep -w MemTotal | wc -l
expect meminfo.MemTotal > 200M && meminfo.MemTotal <= 256M
expect meminfo.MemFree == zoneinfo.DMA.free * 4K + zoneinfo.DMA32.free * 4K
expect buddyinfo.DMA32[10] > 0
expect pagetypeinfo.DMA32.Movable[10] == buddyinfo.DMA32[10]
expect pagetypeinfo.DMA32.blocks.Movable > 0
expect zoneinfo.node0.DMA32.protection[0] == 0
expect sysctl.vm.lowmem_reserve_ratio[0] == 256
expect sysctl.vm.page_cluster == 3
expect vmstat.nr_free_pages * 4K == meminfo.MemFree
expect clock.now == 0
)");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "vm.swappiness = 60\n"
              "10\n"
              "vm.swappiness = 10\n"
              "10\n"
              "vm.swappiness = 40\n"
              "sysctl.vm.swappiness = 40\n"
              "2\n"
              "1\n");
}

TEST(Language, FailedExpectationsAreReportedAndTheRunGoesOn) {
    Outcome r =
        run("boot ram=256M cpus=1\nexpect sysctl.vm.swappiness == 61\necho still running\n"
            "expect 1 + 1 == 2\nexpect sysctl.vm.swappiness > 100 || 2 < 1\n");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.failures, 2);
    EXPECT_EQ(r.out, "still running\n");
    EXPECT_EQ(r.err,
              "s.mms:2:8: expectation failed: sysctl.vm.swappiness == 61 (left 60, right 61)\n"
              "s.mms:5:8: expectation failed: sysctl.vm.swappiness > 100 || 2 < 1 (sysctl.vm.swappiness > "
              "100: left "
              "60, right 100; 2 < 1: left 2, right 1)\n");
}

TEST(Language, BadInputStopsBeforeAnythingRuns) {
    Outcome r = run("echo first\nboot ram=256M\nsysctl vm.swapiness=10\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");  // parsed, and refused, before the first echo ran
    EXPECT_EQ(r.err, "s.mms:3:8: error: unknown sysctl 'vm.swapiness' (did you mean vm.swappiness?)\n");

    r = run("boot ram=256M\nfrobnicate\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "s.mms:2:1: error: unknown command 'frobnicate'\n");
}

TEST(Language, ValuesTheKernelRefusesAreErrorsAtTheirLine) {
    Outcome r = run("boot ram=256M cpus=1\necho before\nsysctl vm.swappiness=201\necho after\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "before\n");
    EXPECT_EQ(
        r.err,
        "s.mms:3:8: error: sysctl: setting key \"vm.swappiness\": Invalid argument (vm.swappiness takes "
        "0..200)\n");

    r = run("boot ram=256M cpus=1\necho -1 > /proc/sys/vm/min_free_kbytes\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("s.mms:2:11: error: echo: write error: Invalid argument"), std::string::npos)
        << r.err;

    // A file without a write handler: root gets EIO from the write, as on
    // Linux; either way the error names the redirection's target.
    r = run("boot ram=256M cpus=1\necho 1 > /proc/meminfo\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err.rfind("s.mms:2:10: error: ", 0), 0u) << r.err;

    r = run("boot ram=256M cpus=1\ncat /proc/nothing\n");
    EXPECT_EQ(r.err, "s.mms:2:5: error: cat: /proc/nothing: No such file or directory\n");

    r = run("boot ram=256M cpus=1\nexpect meminfo.MemFre > 1\n");
    EXPECT_EQ(r.err, "s.mms:2:8: error: /proc/meminfo has no 'MemFre' (did you mean 'MemFree'?)\n");

    r = run(
        "boot ram=256M cpus=1\nprint zoneinfo.Normal.min\n");  // a 256 MiB machine has no Normal zone pages,
    EXPECT_EQ(r.status, 0) << r.err;                           // but the zone exists in zoneinfo

    r = run("boot ram=256M cpus=1\nprint zoneinfo.HighMem.min\n");
    EXPECT_EQ(r.err,
              "s.mms:2:7: error: /proc/zoneinfo has no zone 'HighMem' on node 0 (it has DMA, DMA32, Normal, "
              "Movable, Device)\n");

    r = run("cat /proc/meminfo\n");
    EXPECT_EQ(r.err,
              "s.mms:1:5: error: no machine is booted yet: start with a boot line (for example `boot ram=1G "
              "cpus=2`) or run with --machine FILE\n");

    r = run("boot ram=256M\nboot ram=512M\n");
    EXPECT_EQ(r.err,
              "s.mms:2:1: error: the machine is already booted (by s.mms:1:1); a scenario boots once\n");
}

TEST(Language, TimeMovesOnlyInSleepAndRunsScheduledBlocksInOrder) {
    Outcome r = run(R"(boot ram=256M cpus=1
let n = 0
every 1s for 3s {
  let n = $n + 1
  echo "tick $n at $(( clock.now ))s"
}
at 2500ms echo at 2.5s
at 2s { echo at 2s, scheduled before the second tick was }
every 2s print clock.now
echo before sleeping
sleep 5s
expect $n == 3
print clock.ns
at +1s echo one second later
sleep 500ms 500ms
)");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "before sleeping\n"
              "tick 1 at 1s\n"
              "at 2s, scheduled before the second tick was\n"
              "clock.now = 2\n"
              "tick 2 at 2s\n"
              "at 2.5s\n"
              "tick 3 at 3s\n"
              "clock.now = 4\n"
              "clock.ns = 5000000000\n"
              "clock.now = 6\n"
              "one second later\n");
}

TEST(Language, BlocksThatNeverRunAreNoted) {
    Outcome r = run("boot ram=256M\nat 10s echo late\nsleep 1s\n");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "s.mms:2:1: note: this block never ran: the scenario ended at 1s of simulated time\n");

    r = run("boot ram=256M\nsleep 2s\nat 1s echo past\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("s.mms:3:4: error: at 1s: that time has passed (the clock is at 2s)"),
              std::string::npos)
        << r.err;
}

TEST(Language, ErrorsInsideScheduledBlocksNameTheirOwnLine) {
    Outcome r =
        run("boot ram=256M\nat 1s {\n  echo in the block\n  sysctl vm.swappiness=500\n}\nsleep 2s\necho not "
            "reached\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "in the block\n");
    EXPECT_NE(r.err.find("s.mms:4:10: error: sysctl: setting key"), std::string::npos) << r.err;
}

TEST(Language, BootFromAHereDocumentPlacesItsErrorsInTheScenario) {
    Outcome r = run("echo x\nboot <<M\ncpus = 2\n[[node]]\nmemory = \"lots\"\nM\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("s.mms:5:"), std::string::npos) << r.err;
}

TEST(Language, MachineFileBootsUnlessTheScenarioBoots) {
    fs::path dir = temp_dir("machine");
    fs::path toml = dir / "m.toml";
    std::ofstream(toml) << "cpus = 1\n[[node]]\nmemory = \"256M\"\n";
    RunOptions opts;
    opts.machine_file = toml.string();
    Outcome r = run("expect meminfo.MemTotal <= 256M\n", opts);
    EXPECT_EQ(r.status, 0) << r.err;
    r = run("boot ram=512M\nexpect meminfo.MemTotal > 400M\n", opts);
    EXPECT_EQ(r.status, 0) << r.err;

    // boot machine=FILE looks beside the scenario first.
    fs::path scen = dir / "s.mms";
    std::ofstream(scen) << "boot machine=m.toml vm.swappiness=5\nexpect sysctl.vm.swappiness == 5\n"
                        << "expect meminfo.MemTotal <= 256M\n";
    std::ostringstream out, err;
    RunResult rr = run_scenario_file(scen.string(), RunOptions{{}, {}, {}, false, &out, &err});
    EXPECT_EQ(rr.status, 0) << err.str();
    fs::remove_all(dir);
}

TEST(Language, SnapshotsAppearOnlyAfterARunWithoutErrors) {
    fs::path dir = temp_dir("snap");
    std::string a = (dir / "a").string(), b = (dir / "b").string();
    RunOptions opts;
    opts.snapshot_dir = b;
    Outcome r = run(fmt::format("boot ram=256M\nsnapshot {}\nexpect 1 == 2\n", a), opts);
    EXPECT_EQ(r.status, 1);  // an expectation failed, but the run completed
    EXPECT_TRUE(fs::exists(fs::path(a) / "proc" / "meminfo"));
    EXPECT_TRUE(fs::exists(fs::path(b) / "proc" / "zoneinfo"));
    EXPECT_EQ(entries_containing(dir, "staging"), 0);

    fs::remove_all(a);
    fs::remove_all(b);
    r = run(fmt::format("boot ram=256M\nsnapshot {}\nsysctl vm.swappiness=1000\n", a), opts);
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(fs::exists(a));
    EXPECT_FALSE(fs::exists(b));
    EXPECT_EQ(entries_containing(dir, "staging"), 0);

    r = run("echo never booted\n", opts);
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(fs::exists(b));
    fs::remove_all(dir);
}

TEST(Language, AllocAndFreePagesMoveBuddyinfo) {
    Outcome r = run(R"(boot ram=256M cpus=1
let before = buddyinfo.DMA32[10]
alloc_pages order=10 count=3 as=big
expect buddyinfo.DMA32[10] == $before - 3
expect alloc.big == 3 && alloc.big.pages == 3072
alloc_pages order=0 count=64 gfp=GFP_KERNEL|__GFP_ZERO as=small
free_pages small stride=2
expect alloc.small == 32
free_pages small count=10
expect alloc.small == 22
free_pages small
free_pages big
expect alloc.big == 0
# The single pages went back to the CPU's pcp list, not all to the buddy
# allocator, so one order-10 block may still be missing.
expect buddyinfo.DMA32[10] >= $before - 1
expect vmstat.pgalloc_dma32 >= 3 * 1024 + 64
)");
    EXPECT_EQ(r.status, 0) << r.err;

    r = run("boot ram=256M\nalloc_pages order=0 as=x\nfree_pages y\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "s.mms:3:12: error: free_pages: nothing was allocated as 'y'\n");

    r = run("boot ram=256M\nfree_pages pfn=0x1000\n");
    EXPECT_NE(r.err.find("pfn=0x1000 is not the start of a block"), std::string::npos) << r.err;

    r = run("boot ram=256M\nalloc_pages order=1 node=3\n");
    EXPECT_NE(r.err.find("node=3 does not exist (the machine has 1 node)"), std::string::npos) << r.err;
}

TEST(Language, AFailedHighOrderAllocationIsReportedInDmesg) {
    // 64 MiB has no free order-10 block left once 16 are taken.
    Outcome r =
        run("boot ram=64M cpus=1\nalloc_pages order=10 count=64 gfp=GFP_KERNEL as=big\n"
            "dmesg | grep -c 'page allocation failure: order:10'\n");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("alloc_pages: order-10 allocation failed after"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n1\n"), std::string::npos) << r.out;
}

TEST(Language, ExitEndsTheRunWithItsStatus) {
    EXPECT_EQ(run("echo a\nexit 3\necho b\n").status, 3);
    Outcome r = run("echo a\nexit\necho b\n");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "a\n");
    EXPECT_EQ(run("expect 1 == 0\nexit\n").status, 1);
}

TEST(Language, SameScenarioSameBytes) {
    std::string text = R"(boot ram=256M cpus=2
every 100ms for 1s { alloc_pages order=2 count=3 as=a }
sleep 2s
free_pages a stride=3
cat /proc/buddyinfo /proc/vmstat
dmesg
)";
    RunOptions opts;
    opts.seed = 11;
    Outcome a = run(text, opts), b = run(text, opts);
    EXPECT_EQ(a.status, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_FALSE(a.out.empty());
}

TEST(Shell, ReadsLinesBlocksAndGoesOnAfterErrors) {
    std::ostringstream out, err;
    RunOptions opts;
    opts.out = &out;
    opts.err = &err;
    Shell sh(opts);
    std::istringstream in(
        "boot ram=256M cpus=1\n"
        "let x = 1\n"
        "at 1s {\n"
        "  echo in the block $x\n"
        "}\n"
        "slep 1s\n"
        "sleep 1s\n"
        "echo $x\n"
        "expect $x == 2\n"
        "sysctl vm.swappiness=999\n"
        "echo still here\n"
        "exit\n"
        "echo not read\n");
    int status = sh.run(in, false);
    EXPECT_EQ(out.str(), "in the block 1\n1\nstill here\n");
    EXPECT_EQ(
        err.str(),
        "<shell>:6:1: error: unknown command 'slep' (did you mean 'sleep'?)\n"
        "<shell>:9:8: expectation failed: $x == 2 (left 1, right 2)\n"
        "<shell>:10:8: error: sysctl: setting key \"vm.swappiness\": Invalid argument (vm.swappiness takes "
        "0..200)\n");
    EXPECT_EQ(status, 2);
}

TEST(Shell, AnOpenBlockAtTheEndOfInputIsAnError) {
    std::ostringstream out, err;
    Shell sh(RunOptions{{}, {}, {}, false, &out, &err});
    std::istringstream in("echo a\nat 1s {\n  echo b\n");
    EXPECT_EQ(sh.run(in, false), 2);
    EXPECT_EQ(out.str(), "a\n");
    EXPECT_EQ(err.str(),
              "<shell>:2:7: error: this '{' is never closed: expected '}' after the block's commands\n");
}

TEST(Shell, PromptsWhenAsked) {
    std::ostringstream out, err;
    Shell sh(RunOptions{{}, {}, {}, false, &out, &err});
    std::istringstream in("echo hi\nboot ram=256M\nat 1s {\n}\n");
    EXPECT_EQ(sh.run(in, true), 0) << err.str();
    EXPECT_EQ(out.str(), "mmsim> hi\nmmsim> mmsim> ...> mmsim> \n");
}

}  // namespace
}  // namespace mmsim::scenario
