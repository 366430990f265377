// The catalogue seeds (examples/seeds/*.mms, DESIGN.md section 8) print
// exactly their checked-in output.
//
// Each seed runs with every invariant checked after every command (as
// `mmsim run --check`), must end with status 0 (every `expect` holding),
// and its output must equal tests/data/golden/seeds/<name>.out byte for
// byte. The golden files were read against the kernel's formulas and the
// 6.18 captures when they were written; a difference means the simulator
// (or the seed) changed what it prints. After an intended change,
// regenerate them with
//
//   MMSIM_UPDATE_GOLDEN=1 BUILD/tests/golden_tests --gtest_filter='Catalogue/Seeds.*'
//
// (or `mmsim run --check examples/seeds/NAME.mms > tests/data/golden/seeds/NAME.out`)
// and read the diff before committing it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "scenario/scenario.h"

namespace fs = std::filesystem;

namespace mmsim::scenario {
namespace {

std::vector<std::string> seed_names() {
    std::vector<std::string> names;
    fs::path dir = fs::path(MMSIM_SOURCE_ROOT) / "examples/seeds";
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".mms") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

fs::path seed_path(const std::string& name) {
    return fs::path(MMSIM_SOURCE_ROOT) / "examples/seeds" / (name + ".mms");
}
fs::path golden_path(const std::string& name) {
    return fs::path(MMSIM_TEST_DATA) / "golden/seeds" / (name + ".out");
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Where two texts first differ, as "line N:\n  want: ...\n  got:  ...".
std::string first_difference(const std::string& want, const std::string& got) {
    std::istringstream a(want), b(got);
    std::string la, lb;
    for (int n = 1;; n++) {
        bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
        if (!ha && !hb) return "only in the final newline";
        if (!ha || !hb || la != lb)
            return fmt::format("first difference at line {}:\n  golden: {}\n  output: {}", n,
                               ha ? la : "(end of file)", hb ? lb : "(end of output)");
    }
}

// A seed's name as a test name: case02-lazy-allocation -> case02_lazy_allocation.
std::string test_name(std::string s) {
    std::replace_if(
        s.begin(), s.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return s;
}

class Seeds : public ::testing::TestWithParam<std::string> {};

TEST_P(Seeds, PrintsItsGoldenOutput) {
    const std::string name = GetParam();
    std::ostringstream out, err;
    RunResult r =
        run_scenario_file(seed_path(name).string(), RunOptions{{}, {}, {}, /*check=*/true, &out, &err});
    ASSERT_EQ(r.status, 0) << seed_path(name).string() << " did not run cleanly:\n" << err.str();
    ASSERT_EQ(r.expectations_failed, 0) << err.str();
    EXPECT_EQ(err.str(), "") << "a seed writes nothing on stderr";

    const fs::path golden = golden_path(name);
    if (std::getenv("MMSIM_UPDATE_GOLDEN")) {
        fs::create_directories(golden.parent_path());
        std::ofstream(golden, std::ios::binary) << out.str();
        std::cout << "MMSIM_UPDATE_GOLDEN: wrote " << golden.string() << "\n";
        return;
    }
    ASSERT_TRUE(fs::exists(golden)) << "no golden output " << golden.string()
                                    << "; create it (and read it) with\n  MMSIM_UPDATE_GOLDEN=1 "
                                    << "tests/golden_tests --gtest_filter='Catalogue/Seeds.*/"
                                    << test_name(name) << "'\n"
                                    << "from the build directory, or\n  mmsim run --check "
                                    << seed_path(name).string() << " > " << golden.string();
    const std::string want = slurp(golden);
    EXPECT_TRUE(out.str() == want) << seed_path(name).string() << " no longer prints " << golden.string()
                                   << " (MMSIM_UPDATE_GOLDEN=1 rewrites it after an intended change)\n"
                                   << first_difference(want, out.str());
}

INSTANTIATE_TEST_SUITE_P(Catalogue, Seeds, ::testing::ValuesIn(seed_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return test_name(info.param);
                         });

// Every seed has a golden file and every golden file a seed: a renamed seed
// must not leave a stale output behind.
TEST(SeedsGolden, EveryGoldenFileBelongsToASeed) {
    auto names = seed_names();
    ASSERT_FALSE(names.empty()) << "no examples/seeds/*.mms";
    fs::path dir = fs::path(MMSIM_TEST_DATA) / "golden/seeds";
    if (!fs::exists(dir)) return;
    for (const auto& e : fs::directory_iterator(dir)) {
        std::string stem = e.path().stem().string();
        EXPECT_TRUE(e.path().extension() == ".out" && std::count(names.begin(), names.end(), stem) == 1)
            << e.path().string() << " has no examples/seeds/" << stem << ".mms";
    }
}

}  // namespace
}  // namespace mmsim::scenario
