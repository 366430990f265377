// The CMA commands in scenarios: cma_alloc/cma_release on a machine booted
// with cma=, what meminfo says, and the located errors of bad input (exit
// status 2).
#include <gtest/gtest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text) { return test::run_scenario(text); }

TEST(CmaCommands, AllocAndReleaseMoveCmaFree) {
    Outcome o =
        run("boot ram=1G cpus=2 cma=64M\n"
            "expect meminfo.CmaTotal == 64M\n"
            "cma_alloc 8M align=11 as=a\n"
            "cma_alloc 2048 as=b\n"
            // The allocation drained the CPUs' lists: every other page of
            // the area is free on the CMA lists.
            "expect meminfo.CmaFree == 64M - 16M\n"
            "cma_release a\n"
            "cma_release b\n"
            // The released pages went through the CPU's list (high is
            // large), the part over it to the CMA lists.
            "expect meminfo.CmaFree >= 64M - 16M\n");
    EXPECT_EQ(o.status, 0) << o.err << o.out;
    EXPECT_EQ(o.failures, 0) << o.out;
}

TEST(CmaCommands, MachineFileCmaKey) {
    Outcome o =
        run("boot <<M\n"
            "[[node]]\n"
            "memory = \"1G\"\n"
            "[boot]\n"
            "cma = \"32M\"\n"
            "M\n"
            "expect meminfo.CmaTotal == 32M\n");
    EXPECT_EQ(o.status, 0) << o.err << o.out;
    EXPECT_EQ(o.failures, 0) << o.out;
}

TEST(CmaCommands, BadInputNamesItsPlace) {
    struct Case {
        const char* boot;
        const char* line;
        const char* want;
    } cases[] = {
        {"boot ram=1G", "cma_alloc 4M", "s.mms:2:1: error: this machine has no CMA area"},
        {"boot ram=1G cma=64M", "cma_alloc 4Q", "s.mms:2:11: error:"},
        {"boot ram=1G cma=64M", "cma_alloc 0", "s.mms:2:11: error:"},
        {"boot ram=1G cma=64M", "cma_alloc 4M align=99", "s.mms:2:20: error: align="},
        {"boot ram=1G cma=64M", "cma_release nothing",
         "s.mms:2:13: error: cma_release: nothing was allocated as"},
        {"boot ram=1G cma=lots", "echo", "s.mms:1:17: error: cma: expected a size like 64M, got 'lots'"},
    };
    for (const Case& c : cases) {
        Outcome o = run(std::string(c.boot) + "\n" + c.line + "\n");
        EXPECT_EQ(o.status, 2) << c.line << "\n" << o.err;
        EXPECT_NE(o.err.find(c.want), std::string::npos) << c.line << "\n" << o.err;
    }
}

}  // namespace
}  // namespace mmsim::scenario
