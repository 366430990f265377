// Running a host command from a test: its exit status and everything it
// printed (stdout and stderr together). The conformance tests use it to
// run the real procps and util-linux tools on snapshots.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mmsim {
class Kernel;
}

namespace mmsim::test {

struct Shell {
    int status = -1;  // the exit status; -1 if it did not exit normally
    std::string out;
};

Shell run_shell(const std::string& cmd);

// Why the host's tools cannot read a snapshot bind-mounted over /proc in
// a namespace made by `unshare <unshare_flags>` (not root, a tool not
// installed, no such namespace), or "" if they can.
std::string snapshot_tools_unavailable(const std::vector<std::string>& tools,
                                       const std::string& unshare_flags = "-m");

// A test that runs host tools on snapshots of a simulated machine: it
// skips, saying why, when they cannot run, and keeps a temporary
// directory for the snapshot.
class SnapshotToolTest : public ::testing::Test {
protected:
    SnapshotToolTest(std::vector<std::string> tools, std::string prefix)
        : m_tools(std::move(tools)), m_prefix(std::move(prefix)) {}
    void SetUp() override;
    void TearDown() override;
    // Snapshots the machine and runs `cmd` with the snapshot as /proc.
    std::string tool(const Kernel& k, const std::string& cmd);
    std::filesystem::path m_tmp;

private:
    std::vector<std::string> m_tools;
    std::string m_prefix;
};

}  // namespace mmsim::test
