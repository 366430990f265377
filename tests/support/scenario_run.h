// Running a scenario text in-process for tests: its exit status, failed
// expectations, and what it printed to stdout and stderr.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "scenario/scenario.h"

namespace mmsim::test {

struct ScenarioOutcome {
    int status = -1;
    int failures = 0;  // expectations that did not hold
    std::string out, err;
};

// Runs `text` as the file s.mms (messages name s.mms:LINE:COL).
inline ScenarioOutcome run_scenario(std::string_view text, scenario::RunOptions opts = {}) {
    std::ostringstream out, err;
    opts.out = &out;
    opts.err = &err;
    scenario::RunResult r = scenario::run_scenario_text(std::string(text), "s.mms", opts);
    return ScenarioOutcome{r.status, r.expectations_failed, out.str(), err.str()};
}

// How many times `needle` occurs in `hay` (overlaps counted).
inline std::size_t count_of(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) n++;
    return n;
}

}  // namespace mmsim::test
