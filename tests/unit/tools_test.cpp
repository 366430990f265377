// The procps and smem tools against the real ones: each tool runs on a
// captured /proc tree (tests/data/tools/host, see capture.sh there) and
// must print byte for byte what the real procps-ng 4.0.2 and smem 1.5
// printed from the same files. The host-6.18 image captures (bash, dash,
// hello) check pmap and ps once more on other processes. Argument errors
// name the argument.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "support/fixtures.h"
#include "tools/pmap.h"
#include "tools/proc_source.h"
#include "tools/procps_common.h"
#include "tools/tool.h"

namespace mmsim::tools {
namespace {

struct Host {
    DirProcSource src{test::data_path("tools/host/proc")};
    std::vector<int> pids;  // sleep, dash, dash, bash
    Host() {
        std::istringstream in(test::read_data("tools/host/pids"));
        for (int p; in >> p;) pids.push_back(p);
    }
    std::string expected(const std::string& name) const {
        return test::read_data("tools/host/expected/" + name);
    }
};

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// Runs `line` (tool and arguments) on the captured tree.
ToolOutput run(const Host& h, const std::string& line, const ToolEnv& env = {}) {
    auto w = words(line);
    std::string name = w[0];
    w.erase(w.begin());
    return run_tool(name, h.src, w, env);
}

TEST(Tools, PmapMatchesProcpsOnEachLayout) {
    Host h;
    ASSERT_EQ(h.pids.size(), 4u);
    for (int pid : {h.pids[0], h.pids[1], h.pids[3]}) {
        EXPECT_EQ(run(h, fmt::format("pmap {}", pid)).out, h.expected(fmt::format("pmap-{}", pid)));
        EXPECT_EQ(run(h, fmt::format("pmap -x {}", pid)).out, h.expected(fmt::format("pmap-x-{}", pid)));
        EXPECT_EQ(run(h, fmt::format("pmap -X {}", pid)).out, h.expected(fmt::format("pmap-X-{}", pid)));
        EXPECT_EQ(run(h, fmt::format("pmap -d {}", pid)).out, h.expected(fmt::format("pmap-d-{}", pid)));
    }
}

TEST(Tools, PmapOptionsMatchProcps) {
    Host h;
    int p1 = h.pids[0], p2 = h.pids[1], p4 = h.pids[3];
    EXPECT_EQ(run(h, fmt::format("pmap {} {}", p1, p2)).out, h.expected("pmap-multi"));
    EXPECT_EQ(run(h, fmt::format("pmap -X {} {}", p1, p4)).out, h.expected("pmap-X-multi"));
    EXPECT_EQ(run(h, fmt::format("pmap -XX {}", p2)).out, h.expected(fmt::format("pmap-XX-{}", p2)));
    EXPECT_EQ(run(h, fmt::format("pmap -x -q {}", p2)).out, h.expected(fmt::format("pmap-q-{}", p2)));
    EXPECT_EQ(run(h, fmt::format("pmap -p {}", p2)).out, h.expected(fmt::format("pmap-p-{}", p2)));
    EXPECT_EQ(run(h, fmt::format("pmap -A 7ffff7dd3000,7ffff7f4f000 {}", p2)).out,
              h.expected(fmt::format("pmap-A-{}", p2)));
    EXPECT_EQ(run(h, "pmap 2").out, h.expected("pmap-kthread"));
    EXPECT_EQ(run(h, "pmap -x 2").out, h.expected("pmap-x-kthread"));
    auto missing = run(h, fmt::format("pmap 99 {}", p1));
    EXPECT_EQ(missing.out, h.expected("pmap-missing"));
    EXPECT_EQ(missing.status, 42);  // as procps: some PIDs were not found
}

TEST(Tools, PsMatchesProcps) {
    Host h;
    int p1 = h.pids[0], p2 = h.pids[1], p4 = h.pids[3];
    EXPECT_EQ(run(h, "ps -e").out, h.expected("ps-e"));
    EXPECT_EQ(run(h, "ps").out, h.expected("ps-default"));
    EXPECT_EQ(run(h, "ps -e -o pid,ppid,vsz,rss,comm,args,%mem,stat,user").out, h.expected("ps-o"));
    EXPECT_EQ(run(h, fmt::format("ps -p {} -o pid,vsz,rss,comm", p4)).out, h.expected("ps-p"));
    EXPECT_EQ(run(h, fmt::format("ps -p {}", p2)).out, h.expected("ps-p-default"));
    EXPECT_EQ(run(h, "ps -e -o pid,stat,tty,time,%cpu,nlwp,ni,uid,s").out, h.expected("ps-o2"));
    EXPECT_EQ(run(h, "ps -o user,args,pid -p 2").out, h.expected("ps-o3"));
    EXPECT_EQ(run(h, fmt::format("ps -o comm,pid -p 2,{}", p4)).out, h.expected("ps-o4"));
    EXPECT_EQ(run(h, fmt::format("ps -o args -p {} -p {}", p1, p2)).out, h.expected("ps-o5"));
    EXPECT_EQ(run(h, "ps -p 99").status, 1);  // nothing selected
}

TEST(Tools, TopMatchesProcps) {
    Host h;
    for (auto [name, line] : {std::pair<std::string, std::string>{"top", "top -b -n 1 -w 512"},
                              {"top-p", fmt::format("top -b -n 1 -p {}", h.pids[3])}}) {
        std::string want = h.expected(name);
        ToolEnv env;
        env.clock_hms = want.substr(6, 8);  // "top - HH:MM:SS": the wall clock is not in /proc
        EXPECT_EQ(run(h, line, env).out, want) << line;
    }
}

TEST(Tools, SmemMatchesSmem) {
    Host h;
    const std::string f = "tools-fixtur[e]";
    EXPECT_EQ(run(h, "smem").out, h.expected("smem"));
    EXPECT_EQ(run(h, "smem -P " + f).out, h.expected("smem-P"));
    EXPECT_EQ(run(h, "smem -t -P " + f).out, h.expected("smem-t"));
    EXPECT_EQ(run(h, "smem -u").out, h.expected("smem-u"));
    EXPECT_EQ(run(h, "smem -m -P " + f).out, h.expected("smem-m"));
    EXPECT_EQ(run(h, "smem -w").out, h.expected("smem-w"));
    EXPECT_EQ(run(h, "smem -p").out, h.expected("smem-p"));
    EXPECT_EQ(run(h, "smem -k -P " + f).out, h.expected("smem-k"));
    EXPECT_EQ(run(h, "smem -m -t").out, h.expected("smem-mt"));
}

// The image captures hold maps, smaps, stat and status but no cmdline: the
// command line comes from the first line of the real pmap output.
MapProcSource image(const std::string& prog, int& pid) {
    std::string dir = "host-6.18/vm/images/" + prog + "/";
    std::string head = test::read_data(dir + "pmap-x");
    head = head.substr(0, head.find('\n'));
    pid = std::stoi(head.substr(0, head.find(':')));
    std::string cmd = head.substr(head.find(":   ") + 4);
    for (char& c : cmd)
        if (c == ' ') c = '\0';
    MapProcSource src;
    for (const char* f : {"maps", "smaps", "stat", "status", "statm"})
        src.add(fmt::format("/proc/{}/{}", pid, f), test::read_data(dir + f));
    src.add(fmt::format("/proc/{}/cmdline", pid), cmd + std::string(1, '\0'));
    return src;
}

TEST(Tools, PmapAndPsMatchTheImageCaptures) {
    for (const char* prog : {"bash", "dash", "hello"}) {
        int pid = 0;
        MapProcSource src = image(prog, pid);
        std::string dir = std::string("host-6.18/vm/images/") + prog + "/";
        auto p = std::to_string(pid);
        EXPECT_EQ(run_tool("pmap", src, {"-x", p}).out, test::read_data(dir + "pmap-x")) << prog;
        // (pmap -X is not compared here: images.sh read smaps a moment before
        // pmap ran, and Pss moved as other processes mapped the same libraries.)
        EXPECT_EQ(run_tool("pmap", src, {"-d", p}).out, test::read_data(dir + "pmap-d")) << prog;
        EXPECT_EQ(run_tool("ps", src, {"-o", "pid,vsz,rss,comm", "-p", p}).out, test::read_data(dir + "ps"))
            << prog;
    }
}

TEST(Tools, BadArgumentsNameTheArgument) {
    Host h;
    auto index_of = [&](const std::string& tool, std::vector<std::string> args) -> std::size_t {
        try {
            (void)run_tool(tool, h.src, args);
        } catch (const ToolArgError& e) {
            return e.index();
        }
        return 1000;
    };
    EXPECT_EQ(index_of("pmap", {"-x", "abc"}), 1u);
    EXPECT_EQ(index_of("pmap", {"-z", "1"}), 0u);
    EXPECT_EQ(index_of("pmap", {"-x", "-d", "1"}), std::size_t(-1));  // exclusive formats
    EXPECT_EQ(index_of("pmap", {}), std::size_t(-1));                 // no PID
    EXPECT_EQ(index_of("ps", {"-o", "pid,bogus"}), 1u);
    EXPECT_EQ(index_of("ps", {"-e", "-p", "x"}), 2u);
    EXPECT_EQ(index_of("top", {"-b", "-n", "2"}), 2u);
    EXPECT_EQ(index_of("smem", {"-Z"}), 0u);
    EXPECT_EQ(index_of("smem", {"-P"}), 0u);
}

TEST(Tools, SourcesReadTextAndListPids) {
    Host h;
    EXPECT_EQ(h.src.pids(), (std::vector<int>{1, 2, h.pids[0], h.pids[1], h.pids[2], h.pids[3]}));
    EXPECT_TRUE(h.src.read("/proc/meminfo").ok());
    EXPECT_EQ(h.src.read("/proc/nonexistent").err(), Errno::NOENT);
    EXPECT_EQ(h.src.read("/sys/kernel/mm").err(), Errno::NOENT);  // outside /proc
    EXPECT_EQ(pid_of_path("/proc/123/smaps"), 123);
    EXPECT_EQ(pid_of_path("/proc/meminfo"), -1);
    auto st = parse_pid_stat(
        "42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 77 1000 3 "
        "18446744073709551615 1 1 140737488350720 0 0");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->comm, "a (b) c");  // the name ends at the last ')'
    EXPECT_EQ(st->utime, 5u);
    EXPECT_EQ(st->startstack, 140737488350720u);
}

}  // namespace
}  // namespace mmsim::tools
