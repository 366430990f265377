// Bad input never crashes (DESIGN.md section 10): seeded random mutations
// of a scenario and of a machine file must end in a clean result or a
// clean InputError, never in an exception of another kind, an internal
// error (status 3), or a sanitizer report (CI runs this under ASan+UBSan).
// Deterministic: the same seeds give the same inputs every run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <sstream>
#include <string>

#include "base/diag.h"
#include "machine/machine.h"
#include "scenario/scenario.h"

namespace mmsim {
namespace {

// Tokens worth splicing in: they steer mutations into deeper code.
const char* const kTokens[] = {"boot ",      "ram=",
                               "cpus=",      "=",
                               "8G",         "0",
                               "-1",         "}",
                               "{",          "\"",
                               "\n",         "#",
                               "$",          "${",
                               "|",          "> ",
                               "expect ",    "==",
                               "at ",        "every ",
                               "sleep ",     "1ms",
                               "[",          "]",
                               ".",          "alloc_pages ",
                               "order=",     "11",
                               "4294967296", "sysctl ",
                               "vm.",        "<<",
                               "\\",         "(",
                               ")",          "&&",
                               "zone",       "[[zone]]",
                               "type"};

std::string mutate(std::string s, std::mt19937_64& rng) {
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; e++) {
        std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 5) {
            case 0:  // flip a byte
                if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng() % 128);
                break;
            case 1:  // delete a run
                if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
                break;
            case 2:  // duplicate a run
                if (!s.empty()) {
                    std::size_t from = rng() % s.size();
                    s.insert(pos, s.substr(from, 1 + rng() % 16));
                }
                break;
            default:  // splice a token
                s.insert(pos, kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))]);
                break;
        }
    }
    return s;
}

const char* const kScenario = R"(# a small machine, a few of everything
boot ram=256M cpus=2 thp=never
let n = 3
sysctl vm.min_free_kbytes=2048
echo 20 > /proc/sys/vm/swappiness
alloc_pages order=2 gfp=GFP_KERNEL count=$n as=a
cat /proc/buddyinfo | grep Normal
at 1ms { free_pages a }
every 1ms for 3ms { cat /proc/meminfo | head -n 2 }
sleep 5ms
expect zoneinfo.Normal.min > 0 && sysctl.vm.swappiness == 20
expect buddyinfo.Normal[2] >= 0
)";

TEST(Fuzz, MutatedScenariosEndCleanly) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("mmsim-fuzz-scenario-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::path cwd = fs::current_path();
    fs::current_path(dir);  // anything a mutant writes lands here
    std::mt19937_64 rng(20261123);
    for (int i = 0; i < 800; i++) {
        std::string text = mutate(kScenario, rng);
        if (text.find("snapshot") != std::string::npos) continue;
        std::ostringstream out, err;
        scenario::RunOptions opts;
        opts.out = &out;
        opts.err = &err;
        int status = -1;
        try {
            status = scenario::run_scenario_text(text, "fuzz.mms", opts).status;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "mutant " << i << " threw " << e.what() << "\n" << text;
            continue;
        }
        EXPECT_TRUE(status == 0 || status == 1 || status == 2)
            << "mutant " << i << " ended with status " << status << "\n"
            << err.str() << "\n"
            << text;
    }
    fs::current_path(cwd);
    fs::remove_all(dir);
}

const char* const kMachine = R"(arch = "x86_64"
cpus = 2
[[node]]
memory = "512M"
[[node]]
memory = "512M"
[boot]
thp = "madvise"
movablecore = "64M"
[sysctl]
"vm.watermark_scale_factor" = 20
)";

TEST(Fuzz, MutatedMachineFilesParseOrFailWithALocation) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 4000; i++) {
        std::string text = mutate(kMachine, rng);
        try {
            MachineDesc d = parse_machine_toml(text, "fuzz.toml");
            (void)resolve_layout(d);
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("fuzz.toml:"), std::string::npos) << e.what();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "mutant " << i << " threw " << e.what() << "\n" << text;
        }
    }
}

}  // namespace
}  // namespace mmsim
