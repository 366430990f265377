// The swap verbs in scenarios: swapon (making an area, priorities,
// discard, -a, --show, -s), swapoff (a path, -a), the `swap` values and
// meminfo, the refusals swapon(8) prints, and located errors for bad input
// (exit status 2).
#include <gtest/gtest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text) { return test::run_scenario(text); }

TEST(SwapCommands, SwaponSwapoffAndTheirListings) {
    Outcome o =
        run("boot ram=1G cpus=2 swap=256M\n"
            "expect swap.areas == 1\n"
            "expect swap.total == 256M - 4K\n"
            "expect meminfo.SwapTotal == 256M - 4K\n"
            "swapon /var/tmp/swapfile size=64M\n"
            "swapon -p 5 /var/tmp/fast size=32M medium=ssd discard\n"
            "expect swap.areas == 3\n"
            "expect swap[1].prio == -3\n"
            "expect swap[2].prio == 5\n"
            "expect swap[2].size == 32M - 4K\n"
            "expect swap.used == 0\n"
            "swapon --show\n"
            "swapon -s\n"
            "swapoff /var/tmp/swapfile\n"
            "expect swap.areas == 2\n"
            "expect meminfo.SwapTotal == 256M + 32M - 8K\n"
            "swapoff -a\n"
            "expect meminfo.SwapTotal == 0\n"
            "swapon --show\n"
            "swapon -a\n"
            "expect swap.areas == 1\n"
            "swapon /var/tmp/swapfile\n"
            "expect swap[1].prio == -3\n"
            "dmesg\n");
    EXPECT_EQ(o.status, 0) << o.err << o.out;
    EXPECT_EQ(o.failures, 0) << o.out;
    EXPECT_NE(o.out.find("NAME              TYPE      SIZE USED PRIO\n"
                         "/dev/vdb          partition 256M   0B   -2\n"
                         "/var/tmp/swapfile file       64M   0B   -3\n"
                         "/var/tmp/fast     file       32M   0B    5\n"),
              std::string::npos)
        << o.out;
    EXPECT_NE(o.out.find("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                         "/dev/vdb                                partition\t262140\t\t0\t\t-2\n"),
              std::string::npos);
    EXPECT_NE(o.out.find("Adding 32764k swap on /var/tmp/fast.  Priority:5 extents:1 across:32764k SSDsc\n"),
              std::string::npos)
        << o.out;
    // swapon -a turned on the machine's own area again, with the next default priority.
    EXPECT_EQ(test::count_of(o.out, "Adding 262140k swap on /dev/vdb."), 2u);
    EXPECT_NE(o.out.find("Adding 262140k swap on /dev/vdb.  Priority:-2"), std::string::npos);
}

TEST(SwapCommands, RefusalsPrintWhatSwaponPrintsAndSetErrno) {
    Outcome o =
        run("boot ram=1G\n"
            "swapon /swapfile size=16M\n"
            "swapon /swapfile\n"
            "echo errno=$errno\n"
            "swapon /nothing\n"
            "echo errno=$errno\n"
            "swapoff /nothing\n"
            "swapoff /etc/hostname\n"
            "swapon /other size=1M\n"
            "swapoff /other\n"
            "swapoff /other\n"
            "echo errno=$errno\n"
            "swapon /other\n"
            "echo errno=$errno\n");
    EXPECT_EQ(o.status, 0) << o.err << o.out;
    EXPECT_EQ(o.out,
              "swapon: /swapfile: swapon failed: Device or resource busy\n"
              "errno=EBUSY\n"
              "swapon: cannot open /nothing: No such file or directory\n"
              "errno=ENOENT\n"
              "swapoff: /nothing: swapoff failed: No such file or directory\n"
              "swapoff: /etc/hostname: swapoff failed: No such file or directory\n"
              "swapoff: /other: swapoff failed: Invalid argument\n"
              "errno=EINVAL\n"
              "errno=\n");
}

TEST(SwapCommands, AMachineFileSwapArea) {
    Outcome o =
        run("boot <<M\n"
            "[[node]]\n"
            "memory = \"1G\"\n"
            "[[swap]]\n"
            "path = \"/dev/zram0\"\n"
            "size = \"128M\"\n"
            "medium = \"zram\"\n"
            "priority = 100\n"
            "M\n"
            "expect swap[0].prio == 100\n"
            "expect meminfo.SwapFree == 128M - 4K\n"
            "cat /proc/swaps\n");
    EXPECT_EQ(o.status, 0) << o.err << o.out;
    EXPECT_EQ(o.failures, 0) << o.out;
    EXPECT_NE(o.out.find("/dev/zram0                              partition\t131068\t\t0\t\t100\n"),
              std::string::npos)
        << o.out;
}

TEST(SwapCommands, BadInputNamesItsPlace) {
    struct Case {
        const char* line;
        const char* want;
    } cases[] = {
        {"swapon swapfile size=1G", "s.mms:2:8: error: swapon: expected an absolute path"},
        {"swapon /swapfile size=36K", "s.mms:2:23: error: size=36K: a swap area needs at least 40K"},
        {"swapon /swapfile size=1Q", "s.mms:2:23: error: size="},
        {"swapon /swapfile size=1G prio=40000",
         "s.mms:2:31: error: the priority must be between -1 and 32767"},
        {"swapon /swapfile size=1G prio=-2", "s.mms:2:31: error: the priority must be between -1 and 32767"},
        {"swapon /swapfile size=1G type=disk", "s.mms:2:31: error: type= must be file or partition"},
        {"swapon /swapfile size=1G medium=tape", "s.mms:2:33: error: medium= must be disk, ssd or zram"},
        {"swapon /swapfile medium=ssd", "s.mms:2:25: error: swapon: medium= describes a new swap area"},
        {"swapon /swapfile size=1G discard=always",
         "s.mms:2:34: error: discard= must be once, pages or both"},
        {"swapon /swapfile fast", "s.mms:2:18: error: swapon: unexpected 'fast'"},
        {"swapon --show -s", "s.mms:2:15: error: swapon takes one of PATH, -a, --show and -s"},
        {"swapon --show /swapfile", "s.mms:2:15: error: swapon: a path cannot go with"},
        {"swapon --bytes", "s.mms:2:8: error: swapon: --bytes goes with --show"},
        {"swapon", "s.mms:2:1: error: swapon needs a path, -a, --show or -s"},
        {"swapoff", "s.mms:2:1: error: swapoff needs a path or -a"},
        {"swapoff -a /swapfile", "s.mms:2:12: error: swapoff takes a path or -a, not both"},
        {"swapon /swapfile size=1G bogus=1", "s.mms:2:26: error: unknown option 'bogus='"},
        {"expect swap.bogus == 1", "s.mms:2:8: error: swap has total, used, free, areas"},
        {"expect swap[3].used == 1", "s.mms:2:8: error: swap[3]: /proc/swaps lists 1 swap area"},
    };
    for (const auto& c : cases) {
        Outcome o = run(std::string("boot ram=1G swap=64M\n") + c.line + "\n");
        EXPECT_EQ(o.status, 2) << c.line << "\n" << o.out << o.err;
        EXPECT_NE(o.err.find(c.want), std::string::npos) << c.line << "\n" << o.err;
    }
    Outcome b = run("boot ram=1G swap=lots\n");
    EXPECT_EQ(b.status, 2);
    EXPECT_NE(b.err.find("s.mms:1:18: error: swap: expected a size like 8G, got 'lots'"), std::string::npos)
        << b.err;
}

}  // namespace
}  // namespace mmsim::scenario
