// The real-glibc oracle of the malloc model. tests/data/host-6.18/malloc/
// malloc_steps.c ran on Debian 12 (glibc 2.36) under Linux 6.18 and printed,
// after each step of malloc, free, realloc, calloc, mallopt and malloc_trim
// calls, one line: the heap's extent (sbrk(0) minus the break at start),
// VmSize, VmData, VmRSS, RssAnon (kB) and its number of areas. Two runs are
// kept (malloc_steps.out, .out2). malloc_steps.mms makes the same calls on
// the built-in image of the same binary and prints the same line.
//
// What must agree, step by step:
//   heap, VmSize, VmData, maps   equal, absolutely (and the two host runs agree)
//   RssAnon                      the change from the previous step (the
//                                absolute value differs by the startup's
//                                residency, which is a model of its own)
//   VmRSS                        not compared: it also counts the libc code
//                                pages that malloc's first call faults in
//                                (with fault-around), which depends on the
//                                host's page cache; the two host runs differ
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "support/fixtures.h"
#include "support/scenario_run.h"

namespace mmsim {
namespace {

struct Line {
    std::string step;
    std::map<std::string, int64_t> v;
};

std::vector<Line> parse(const std::string& text) {
    std::vector<Line> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        std::istringstream w(l);
        Line line;
        w >> line.step;
        for (std::string kv; w >> kv;) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) continue;
            line.v[kv.substr(0, eq)] = std::stoll(kv.substr(eq + 1));
        }
        if (!line.v.empty()) out.push_back(std::move(line));
    }
    return out;
}

const std::vector<std::string> kAbsolute = {"heap", "VmSize", "VmData", "maps"};

TEST(MallocOracle, EveryStepAgreesWithGlibc) {
    auto host = parse(test::read_data("host-6.18/malloc/malloc_steps.out"));
    auto host2 = parse(test::read_data("host-6.18/malloc/malloc_steps.out2"));
    ASSERT_EQ(host.size(), 20u);
    ASSERT_EQ(host2.size(), host.size());

    auto r = test::run_scenario(test::read_data("host-6.18/malloc/malloc_steps.mms"));
    ASSERT_EQ(r.status, 0) << r.err;
    auto sim = parse(r.out);
    ASSERT_EQ(sim.size(), host.size()) << r.out;

    for (std::size_t i = 0; i < host.size(); i++) {
        SCOPED_TRACE(host[i].step);
        EXPECT_EQ(sim[i].step, host[i].step);  // malloc_trim's return value is in its name
        for (const auto& f : kAbsolute) {
            EXPECT_EQ(host[i].v.at(f), host2[i].v.at(f)) << f << ": the two host runs differ";
            EXPECT_EQ(sim[i].v.at(f), host[i].v.at(f)) << f;
        }
        if (i == 0) continue;
        int64_t want = host[i].v.at("RssAnon") - host[i - 1].v.at("RssAnon");
        EXPECT_EQ(want, host2[i].v.at("RssAnon") - host2[i - 1].v.at("RssAnon"))
            << "the two host runs differ";
        EXPECT_EQ(sim[i].v.at("RssAnon") - sim[i - 1].v.at("RssAnon"), want) << "RssAnon change (kB)";
    }
}

}  // namespace
}  // namespace mmsim
