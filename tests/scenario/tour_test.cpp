// Every example scenario (the tour in examples/ and the catalogue seeds in
// examples/seeds/) runs to the end with all its expectations holding, and
// catalogue case 9 holds under --check too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "scenario/scenario.h"

namespace fs = std::filesystem;

namespace mmsim::scenario {
namespace {

std::vector<fs::path> example_files() {
    std::vector<fs::path> files;
    for (const char* sub : {"examples", "examples/seeds"}) {
        fs::path dir = fs::path(MMSIM_SOURCE_ROOT) / sub;
        if (!fs::exists(dir)) continue;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".mms") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST(Tour, EveryExampleRunsAndItsExpectationsHold) {
    auto files = example_files();
    ASSERT_GE(files.size(), 4u);
    for (const auto& f : files) {
        SCOPED_TRACE(f.string());
        std::ostringstream out, err;
        RunResult r = run_scenario_file(f.string(), RunOptions{{}, {}, {}, false, &out, &err});
        EXPECT_EQ(r.status, 0) << err.str();
        EXPECT_EQ(r.expectations_failed, 0);
        EXPECT_FALSE(out.str().empty());
    }
}

TEST(Tour, CatalogueCase9HoldsWithEveryInvariantChecked) {
    std::ostringstream out, err;
    RunOptions opts{{}, {}, {}, /*check=*/true, &out, &err};
    RunResult r =
        run_scenario_file(std::string(MMSIM_SOURCE_ROOT) + "/examples/seeds/case09-watermarks.mms", opts);
    EXPECT_EQ(r.status, 0) << err.str();
    EXPECT_NE(out.str().find("min      6000"), std::string::npos);
}

}  // namespace
}  // namespace mmsim::scenario
