// Real procps-ng reads a snapshot of simulated processes.
//
// A few processes run on a simulated machine (a small C program with 16 MiB
// written and a forked child that copied part of it, two dash shells
// sharing libc, a bash whose heap grew, a JVM-like process with many
// libraries); the machine is written out as a snapshot, its proc/ is
// bind-mounted over /proc in a private mount namespace, and the host's own
// `pmap -x`, `pmap -X`, `ps -eo pid,vsz,rss,comm` and `top -b -n 1` run on
// it. They must parse every file and print the simulated values: VSZ and
// RSS of every process as its /proc/PID/status says, pmap's per-area and
// total lines as smaps says, top's memory columns and summary as status
// and meminfo say. Each real tool's output must also equal what mmsim's own
// copy of the tool prints from the same files (src/tools), line for line.
//
// ps and top look up their own process: ps reads /proc/<its pid>/status
// and top /proc/self/stat. A snapshot has neither (the reader is not a
// simulated process), so the tools run in a new pid namespace where the
// next pid is set (ns_last_pid) to that of the first simulated process,
// and proc/self in the snapshot points to it, exactly what a real procfs
// shows a reader with that pid. Needs root; otherwise the tests skip,
// saying why.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm.h"
#include "proc/procfs.h"
#include "support/fixtures.h"
#include "support/shell.h"
#include "tools/proc_source.h"
#include "tools/tool.h"

namespace fs = std::filesystem;

namespace mmsim {
namespace {

constexpr uint64_t MiB = 1ull << 20;

using test::Shell;
Shell run(const std::string& cmd) { return test::run_shell(cmd); }

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// "Key:   123 kB" lines of a status or smaps_rollup text, in kB.
std::map<std::string, uint64_t> kb_fields(const std::string& text) {
    std::map<std::string, uint64_t> m;
    for (const std::string& l : lines_of(text)) {
        auto c = l.find(':');
        if (c == std::string::npos) continue;
        auto w = words(l.substr(c + 1));
        if (w.size() == 2 && w[1] == "kB") m[l.substr(0, c)] = std::stoull(w[0]);
    }
    return m;
}

// One area of /proc/PID/smaps: start, size and the kB fields pmap reads.
struct Area {
    uint64_t start = 0;
    std::map<std::string, uint64_t> kb;
};

std::vector<Area> smaps_areas(const std::string& text) {
    static const std::regex head("^([0-9a-f]+)-([0-9a-f]+) ");
    std::vector<Area> out;
    for (const std::string& l : lines_of(text)) {
        std::smatch m;
        if (std::regex_search(l, m, head)) {
            out.push_back(Area{std::stoull(m[1].str(), nullptr, 16), {}});
            continue;
        }
        auto c = l.find(':');
        if (out.empty() || c == std::string::npos) continue;
        auto w = words(l.substr(c + 1));
        if (w.size() == 2 && w[1] == "kB") out.back().kb[l.substr(0, c)] = std::stoull(w[0]);
    }
    return out;
}

class ProcpsVm : public ::testing::Test {
protected:
    // One machine and one snapshot for every test of the suite.
    static void SetUpTestSuite() {
        s_why = test::snapshot_tools_unavailable({"unshare", "pmap", "ps", "top"}, "-m -p --fork");
        if (!s_why.empty()) return;
        std::string t = (fs::temp_directory_path() / "mmsim-procps-vm-XXXXXX").string();
        if (!::mkdtemp(t.data())) {
            s_why = "mkdtemp failed";
            return;
        }
        s_tmp = t;
        build_machine();
        write_snapshot(*s_k, (s_tmp / "snap").string());
        // What a real procfs shows a reader whose pid is s_self.
        fs::path self = s_tmp / "snap/proc/self";
        if (!fs::exists(fs::symlink_status(self))) fs::create_directory_symlink(std::to_string(s_self), self);
        fs::create_directories(s_tmp / "nsproc");
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        if (!s_tmp.empty()) fs::remove_all(s_tmp, ec);
        s_k.reset();
    }
    void SetUp() override {
        if (!s_why.empty()) GTEST_SKIP() << s_why;
        ASSERT_TRUE(s_k);
    }

    static void build_machine() {
        s_k = test::boot_ram(512 * MiB, 2);
        Kernel& k = *s_k;
        auto spawn = [&](const char* image) -> Task& {
            auto t = spawn_process(k, image, {image}, 0);
            if (!t) throw std::runtime_error(fmt::format("spawn {}: {}", image, errno_name(t.err())));
            s_pids.push_back((*t)->pid);
            return **t;
        };
        Task& hello = spawn("hello");
        s_self = hello.pid;
        uint64_t buf = *do_mmap(k, hello, MmapArgs{0, 16 * MiB});
        for (uint64_t o = 0; o < 16 * MiB; o += PAGE_SIZE) access_memory(k, hello, buf + o, Access::Write);
        auto child = do_fork(k, hello);
        if (!child) throw std::runtime_error("fork failed");
        s_pids.push_back((*child)->pid);
        for (uint64_t o = 0; o < 4 * MiB; o += PAGE_SIZE) access_memory(k, **child, buf + o, Access::Write);
        spawn("dash");
        spawn("dash");
        Task& bash = spawn("bash");
        uint64_t brk = bash.mm->brk;
        do_brk(k, bash, brk + 256 * 1024);
        for (uint64_t o = 0; o < 256 * 1024; o += PAGE_SIZE) access_memory(k, bash, brk + o, Access::Write);
        spawn("jvm");
    }

    // Runs `cmd` with the snapshot as /proc, as a process whose pid is s_self.
    static std::string tool(const std::string& cmd) {
        std::string script = fmt::format(
            "mount -t proc proc {ns} && mount --bind {snap}/proc /proc && echo {last} > "
            "{ns}/sys/kernel/ns_last_pid && {cmd}; st=$?; exit $st",
            fmt::arg("ns", (s_tmp / "nsproc").string()), fmt::arg("snap", (s_tmp / "snap").string()),
            fmt::arg("last", s_self - 1), fmt::arg("cmd", cmd));
        Shell r = run(fmt::format("LC_ALL=C unshare -m -p --fork sh -c '{}'", script));
        EXPECT_EQ(r.status, 0) << cmd << ":\n" << r.out;
        return r.out;
    }

    // mmsim's own copy of the tool on the same files.
    static std::string ours(const std::string& name, const std::vector<std::string>& args,
                            const tools::ToolEnv& env = {}) {
        tools::SimProcSource src(*s_k);
        return tools::run_tool(name, src, args, env).out;
    }

    static std::string read(const std::string& path) {
        auto r = proc_read(*s_k, path);
        EXPECT_TRUE(r) << path;
        return r ? *r : std::string();
    }
    static std::map<std::string, uint64_t> status(int pid) {
        return kb_fields(read(fmt::format("/proc/{}/status", pid)));
    }

    static std::string s_why;  // why the real tools cannot run here
    static fs::path s_tmp;
    static std::unique_ptr<Kernel> s_k;
    static std::vector<int> s_pids;  // every simulated process
    static int s_self;               // the pid the real tools run as
};

std::string ProcpsVm::s_why;
fs::path ProcpsVm::s_tmp;
std::unique_ptr<Kernel> ProcpsVm::s_k;
std::vector<int> ProcpsVm::s_pids;
int ProcpsVm::s_self = 0;

// Lines keyed by their first word (the pid), for tables whose row order
// follows the order the directory lists pids in: numeric on a real /proc,
// the file system's order on a snapshot.
std::map<std::string, std::string> rows_by_pid(const std::string& text) {
    std::map<std::string, std::string> m;
    for (const std::string& l : lines_of(text)) {
        auto w = words(l);
        if (!w.empty() && std::all_of(w[0].begin(), w[0].end(), ::isdigit)) m[w[0]] = l;
    }
    return m;
}

TEST_F(ProcpsVm, PsShowsEveryProcesssVszAndRssFromItsStatus) {
    std::string out = tool("ps -eo pid,vsz,rss,comm");
    auto rows = rows_by_pid(out);
    EXPECT_EQ(rows.size(), s_pids.size()) << out;
    for (int pid : s_pids) {
        SCOPED_TRACE(pid);
        ASSERT_TRUE(rows.count(std::to_string(pid))) << out;
        auto w = words(rows[std::to_string(pid)]);
        ASSERT_EQ(w.size(), 4u) << rows[std::to_string(pid)];
        auto st = status(pid);
        EXPECT_EQ(std::stoull(w[1]), st["VmSize"]) << out;
        EXPECT_EQ(std::stoull(w[2]), st["VmRSS"]) << out;
        EXPECT_EQ(w[3], s_k->tasks->find(pid)->comm) << out;
    }
    EXPECT_EQ(lines_of(out).front(), "  PID    VSZ   RSS COMMAND");
    EXPECT_EQ(rows, rows_by_pid(ours("ps", {"-eo", "pid,vsz,rss,comm"})));
}

TEST_F(ProcpsVm, PmapXShowsEveryAreaAndTheTotalsOfSmaps) {
    for (int pid : s_pids) {
        SCOPED_TRACE(pid);
        std::string out = tool(fmt::format("pmap -x {}", pid));
        std::string smaps = read(fmt::format("/proc/{}/smaps", pid));
        auto areas = smaps_areas(smaps);
        // Rows: address, Kbytes, RSS, Dirty, mode, mapping, one per area of
        // smaps ([vsyscall], the gate page, included); then a rule and the
        // "total kB" line.
        std::map<uint64_t, std::vector<std::string>> rows;
        std::vector<std::string> total;
        for (const std::string& l : lines_of(out)) {
            auto w = words(l);
            if (w.size() >= 5 && w[0].size() == 16 && w[0] != "----------------")
                rows[std::stoull(w[0], nullptr, 16)] = w;
            if (w.size() == 5 && w[0] == "total" && w[1] == "kB") total = w;
        }
        ASSERT_EQ(rows.size(), areas.size()) << out;
        uint64_t size = 0, rss = 0, dirty = 0;
        for (const Area& a : areas) {
            ASSERT_TRUE(rows.count(a.start)) << fmt::format("{:x}", a.start) << "\n" << out;
            const auto& w = rows[a.start];
            uint64_t d = a.kb.at("Shared_Dirty") + a.kb.at("Private_Dirty");
            EXPECT_EQ(std::stoull(w[1]), a.kb.at("Size")) << fmt::format("{:x}", a.start);
            EXPECT_EQ(std::stoull(w[2]), a.kb.at("Rss")) << fmt::format("{:x}", a.start);
            EXPECT_EQ(std::stoull(w[3]), d) << fmt::format("{:x}", a.start);
            size += a.kb.at("Size");
            rss += a.kb.at("Rss");
            dirty += d;
        }
        ASSERT_EQ(total.size(), 5u) << out;
        EXPECT_EQ(std::stoull(total[2]), size) << out;
        EXPECT_EQ(std::stoull(total[3]), rss) << out;
        EXPECT_EQ(std::stoull(total[4]), dirty) << out;
        // The total covers every area plus the 4 kB [vsyscall] gate page,
        // which is not a VMA and not in VmSize; the resident pages are the
        // rollup's.
        auto st = status(pid);
        EXPECT_EQ(size, st["VmSize"] + 4);
        auto rollup = kb_fields(read(fmt::format("/proc/{}/smaps_rollup", pid)));
        EXPECT_EQ(rss, rollup["Rss"]);
        EXPECT_EQ(dirty, rollup["Shared_Dirty"] + rollup["Private_Dirty"]);
        EXPECT_EQ(out, ours("pmap", {"-x", std::to_string(pid)}));
    }
}

TEST_F(ProcpsVm, PmapCapitalXSumsTheSmapsFieldsOfEveryArea) {
    for (int pid : s_pids) {
        SCOPED_TRACE(pid);
        std::string out = tool(fmt::format("pmap -X {}", pid));
        auto ls = lines_of(out);
        ASSERT_GE(ls.size(), 4u) << out;
        // The header names the columns; the last line holds their totals,
        // aligned under them, ending in "KB".
        auto head = words(ls[1]);
        auto totals = words(ls.back());
        ASSERT_EQ(totals.back(), "KB") << out;
        totals.pop_back();
        auto areas = smaps_areas(read(fmt::format("/proc/{}/smaps", pid)));
        // Columns from Size on are smaps fields, in order; Mapping is last.
        auto first = std::find(head.begin(), head.end(), "Size");
        ASSERT_NE(first, head.end()) << out;
        std::vector<std::string> cols(first, head.end() - 1);
        ASSERT_EQ(totals.size(), cols.size()) << out;
        for (std::size_t i = 0; i < cols.size(); i++) {
            uint64_t sum = 0;
            bool field = false;
            for (const Area& a : areas)
                if (a.kb.count(cols[i])) {
                    sum += a.kb.at(cols[i]);
                    field = true;
                }
            if (!field) continue;  // THPeligible, ProtectionKey: not in kB
            EXPECT_EQ(std::stoull(totals[i]), sum) << cols[i] << "\n" << out;
        }
        EXPECT_EQ(out, ours("pmap", {"-X", std::to_string(pid)}));
    }
}

TEST_F(ProcpsVm, TopShowsTheMemoryColumnsAndTheMeminfoSummary) {
    std::string out = tool("top -b -n 1");
    auto mem = kb_fields(read("/proc/meminfo"));
    // "MiB Mem :    471.0 total,    440.1 free,     67.7 used,      3.1 buff/cache"
    std::smatch m;
    static const std::regex mem_line(
        "MiB Mem : +([0-9.]+) total, +([0-9.]+) free, +([0-9.]+) used, +([0-9.]+) buff/cache");
    ASSERT_TRUE(std::regex_search(out, m, mem_line)) << out;
    auto mib = [](uint64_t kb) { return fmt::format("{:.1f}", static_cast<double>(kb) / 1024); };
    EXPECT_EQ(m[1].str(), mib(mem["MemTotal"])) << out;
    EXPECT_EQ(m[2].str(), mib(mem["MemFree"])) << out;
    EXPECT_EQ(m[3].str(), mib(mem["MemTotal"] - mem["MemAvailable"]))
        << out;  // procps 4: used = total - avail
    EXPECT_EQ(m[4].str(), mib(mem["Buffers"] + mem["Cached"] + mem["SReclaimable"])) << out;
    static const std::regex avail(" ([0-9.]+) avail Mem");
    ASSERT_TRUE(std::regex_search(out, m, avail)) << out;
    EXPECT_EQ(m[1].str(), mib(mem["MemAvailable"])) << out;

    // PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND
    auto rows = rows_by_pid(out);
    EXPECT_EQ(rows.size(), s_pids.size()) << out;
    for (int pid : s_pids) {
        SCOPED_TRACE(pid);
        ASSERT_TRUE(rows.count(std::to_string(pid))) << out;
        auto w = words(rows[std::to_string(pid)]);
        ASSERT_EQ(w.size(), 12u) << rows[std::to_string(pid)];
        auto st = status(pid);
        EXPECT_EQ(w[4], std::to_string(st["VmSize"])) << out;
        EXPECT_EQ(w[5], std::to_string(st["VmRSS"])) << out;
        EXPECT_EQ(w[6], std::to_string(st["RssFile"] + st["RssShmem"])) << out;
        EXPECT_EQ(w[9], fmt::format("{:.1f}", 100.0 * static_cast<double>(st["VmRSS"]) /
                                                  static_cast<double>(mem["MemTotal"])))
            << out;
        EXPECT_EQ(w[11], s_k->tasks->find(pid)->comm) << out;
    }
    // Everything but the first line (the wall clock and the host's logged-in
    // users) is what mmsim's top prints, rows keyed by pid.
    auto real_lines = lines_of(out), our_lines = lines_of(ours("top", {"-b", "-n", "1"}));
    ASSERT_GE(real_lines.size(), 7u);
    ASSERT_GE(our_lines.size(), 7u);
    for (std::size_t i = 1; i < 7; i++) EXPECT_EQ(real_lines[i], our_lines[i]) << "line " << i + 1;
    EXPECT_EQ(rows, rows_by_pid(fmt::format("{}", fmt::join(our_lines.begin() + 7, our_lines.end(), "\n"))));
}

}  // namespace
}  // namespace mmsim
