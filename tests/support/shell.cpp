#include "support/shell.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "proc/procfs.h"

namespace mmsim::test {

Shell run_shell(const std::string& cmd) {
    Shell r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string snapshot_tools_unavailable(const std::vector<std::string>& tools,
                                       const std::string& unshare_flags) {
    if (::geteuid() != 0) return "needs root to bind-mount a snapshot over /proc in a new namespace";
    for (const std::string& tool : tools)
        if (run_shell(fmt::format("command -v {} >/dev/null", tool)).status != 0)
            return fmt::format("{} is not installed", tool);
    Shell r = run_shell(fmt::format("unshare {} sh -c 'mount --bind /proc /proc'", unshare_flags));
    if (r.status != 0) return fmt::format("unshare {} / mount --bind failed: {}", unshare_flags, r.out);
    return "";
}

void SnapshotToolTest::SetUp() {
    std::string why = snapshot_tools_unavailable(m_tools);
    if (!why.empty()) GTEST_SKIP() << why;
    std::string t = (std::filesystem::temp_directory_path() / (m_prefix + "-XXXXXX")).string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    m_tmp = t;
}

void SnapshotToolTest::TearDown() {
    std::error_code ec;
    if (!m_tmp.empty()) std::filesystem::remove_all(m_tmp, ec);
}

std::string SnapshotToolTest::tool(const Kernel& k, const std::string& cmd) {
    std::filesystem::path dir = m_tmp / "snap";
    write_snapshot(k, dir.string());
    Shell r = run_shell(
        fmt::format("LC_ALL=C unshare -m sh -c 'mount --bind {}/proc /proc && {}'", dir.string(), cmd));
    EXPECT_EQ(r.status, 0) << cmd << ":\n" << r.out;
    return r.out;
}

}  // namespace mmsim::test
