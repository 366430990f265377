// The mmsim binary as users run it: exit statuses (0 success, 1 failed
// expectation, 2 bad input of any kind), messages on stderr and output on
// stdout, no snapshot after a failure, byte-identical output for the same
// scenario and seed, the shell on stdin, and clone-host into --machine.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Result {
    int status = -1;
    std::string out, err;
};

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        m_dir = fs::temp_directory_path() / fmt::format("mmsim-cli-{}-{}", ::getpid(), info->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    std::string path(const std::string& name) const { return (m_dir / name).string(); }

    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path(name), std::ios::binary) << text;
        return path(name);
    }

    static std::string slurp(const std::string& p) {
        std::ifstream f(p, std::ios::binary);
        std::ostringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }

    // Runs `mmsim ARGS` (ARGS already shell-quoted) in the test directory.
    Result mmsim(const std::string& args, const std::string& stdin_text = "") const {
        std::string in = write("stdin.txt", stdin_text);
        std::string cmd = fmt::format("cd '{}' && '{}' {} < '{}' > '{}' 2> '{}'", m_dir.string(),
                                      MMSIM_BINARY, args, in, path("stdout.txt"), path("stderr.txt"));
        int rc = std::system(cmd.c_str());
        Result r;
        r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        r.out = slurp(path("stdout.txt"));
        r.err = slurp(path("stderr.txt"));
        return r;
    }

    fs::path m_dir;
};

TEST_F(Cli, VersionAndHelp) {
    Result r = mmsim("--version");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "mmsim 0.1.0\n");
    for (const char* sub : {"run", "shell", "clone-host"}) {
        r = mmsim(fmt::format("{} --help", sub));
        EXPECT_EQ(r.status, 0) << sub;
        EXPECT_NE(r.out.find("Examples:"), std::string::npos) << sub << r.out;
        EXPECT_NE(r.out.find(fmt::format("mmsim {}", sub)), std::string::npos) << sub << r.out;
    }
    r = mmsim("--help");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("Exit status"), std::string::npos);
}

TEST_F(Cli, UsageErrorsExitTwo) {
    Result r = mmsim("");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("mmsim: error:"), std::string::npos);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(mmsim("run").status, 2);
    EXPECT_EQ(mmsim("run x.mms --bogus").status, 2);
    EXPECT_EQ(mmsim("run x.mms --seed notanumber").status, 2);
    EXPECT_EQ(mmsim("frobnicate").status, 2);
}

TEST_F(Cli, ExitStatusesAndMessages) {
    write("ok.mms", "boot ram=256M\nexpect meminfo.MemTotal > 100M\necho fine\n");
    Result r = mmsim("run ok.mms");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "fine\n");
    EXPECT_EQ(r.err, "");

    write("fail.mms", "boot ram=256M\nexpect sysctl.vm.swappiness == 61\n");
    r = mmsim("run fail.mms");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "fail.mms:2:8: expectation failed: sysctl.vm.swappiness == 61 (left 60, right 61)\n");

    write("bad.mms", "boot ram=256M\nsysctl vm.swapiness=10\n");
    r = mmsim("run bad.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "bad.mms:2:8: error: unknown sysctl 'vm.swapiness' (did you mean vm.swappiness?)\n");

    write("range.mms", "boot ram=256M\necho 5000 > /proc/sys/vm/swappiness\n");
    r = mmsim("run range.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err,
              "range.mms:2:13: error: echo: write error: Invalid argument (vm.swappiness takes 0..200)\n");

    write("unknown.mms", "boot ram=256M\nvmtouch -v /etc\n");
    r = mmsim("run unknown.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown.mms:2:1: error: unknown command 'vmtouch'"), std::string::npos) << r.err;
    // A tool's bad flag names the word.
    write("badflag.mms", "boot ram=256M\nfree -x\n");
    r = mmsim("run badflag.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("badflag.mms:2:6: error: free: invalid option -- 'x'"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");

    r = mmsim("run missing.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "missing.mms: error: cannot read the scenario: No such file or directory\n");

    write("bin.mms", std::string("boot\0\x01\x02", 7));
    r = mmsim("run bin.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("bin.mms:1:5: error:"), std::string::npos) << r.err;
}

TEST_F(Cli, MachineFilesAndTheirErrors) {
    write("m.toml", "cpus = 1\n[[node]]\nmemory = \"256M\"\n");
    write("noboot.mms", "expect meminfo.MemTotal <= 256M\n");
    Result r = mmsim("run noboot.mms --machine m.toml");
    EXPECT_EQ(r.status, 0) << r.err;

    write("broken.toml", "cpus = \"many\"\n");
    r = mmsim("run noboot.mms --machine broken.toml");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("broken.toml:1:"), std::string::npos) << r.err;

    r = mmsim("run noboot.mms");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("no machine is booted yet"), std::string::npos) << r.err;
}

TEST_F(Cli, NoSnapshotAfterAFailure) {
    write("good.mms", "boot ram=256M\nsnapshot mid\n");
    Result r = mmsim("run good.mms --snapshot end");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(fs::exists(path("end/proc/meminfo")));
    EXPECT_TRUE(fs::exists(path("mid/proc/buddyinfo")));

    write("late.mms", "boot ram=256M\nsnapshot mid2\nsysctl vm.swappiness=1000\n");
    r = mmsim("run late.mms --snapshot end2");
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(fs::exists(path("mid2")));
    EXPECT_FALSE(fs::exists(path("end2")));
    for (const auto& e : fs::directory_iterator(m_dir))
        EXPECT_EQ(e.path().filename().string().find("staging"), std::string::npos) << e.path();
}

TEST_F(Cli, SameScenarioAndSeedGiveTheSameBytes) {
    write("det.mms",
          "boot ram=512M cpus=2\n"
          "every 250ms for 2s { alloc_pages order=1 count=5 as=x }\n"
          "sleep 3s\n"
          "free_pages x stride=2\n"
          "cat /proc/buddyinfo /proc/zoneinfo /proc/vmstat /proc/meminfo\n"
          "dmesg\n");
    Result a = mmsim("run det.mms --seed 42");
    Result b = mmsim("run det.mms --seed 42");
    EXPECT_EQ(a.status, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_GT(a.out.size(), 1000u);
}

TEST_F(Cli, ShellReadsStdin) {
    Result r =
        mmsim("shell", "boot ram=256M\nat 1s {\n  echo tick\n}\nbogus\nsleep 2s\nsysctl vm.swappiness\n");
    EXPECT_EQ(r.status, 2);  // the worst thing that happened: an error
    EXPECT_EQ(r.out, "tick\nvm.swappiness = 60\n");
    EXPECT_EQ(r.err, "<shell>:5:1: error: unknown command 'bogus'\n");

    write("m.toml", "cpus = 1\n[[node]]\nmemory = \"256M\"\n");
    r = mmsim("shell --machine m.toml", "expect meminfo.MemTotal <= 256M\n");
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Cli, CloneHostDescribesAProcTreeThatBoots) {
    // A /proc tree from the captured 6.18 host, as clone-host reads it.
    std::string data = MMSIM_TEST_DATA;
    fs::create_directories(path("host/proc/sys/vm"));
    fs::create_directories(path("host/sys/kernel/mm/transparent_hugepage"));
    for (const char* f : {"zoneinfo", "meminfo", "buddyinfo", "pagetypeinfo", "vmstat"})
        fs::copy_file(data + "/host-6.18/" + f, path(std::string("host/proc/") + f));
    fs::copy_file(data + "/host-6.18/extra/cpuinfo", path("host/proc/cpuinfo"));
    fs::copy_file(data + "/host-6.18/extra/stat", path("host/proc/stat"));
    for (const auto& e : fs::directory_iterator(data + "/host-6.18/extra/sys_vm"))
        fs::copy_file(e.path(), path("host/proc/sys/vm/" + e.path().filename().string()));
    fs::copy_file(data + "/host-6.18/thp-enabled.txt",
                  path("host/sys/kernel/mm/transparent_hugepage/enabled"));

    Result r = mmsim("clone-host --proc host/proc -o host.toml");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    ASSERT_TRUE(fs::exists(path("host.toml")));

    write("host.mms", "expect sysctl.vm.min_free_kbytes == 67584\nexpect zoneinfo.Normal.min == 3851\n");
    r = mmsim("run host.mms --machine host.toml");
    EXPECT_EQ(r.status, 0) << r.err;

    r = mmsim("clone-host --proc nowhere -o x.toml");
    EXPECT_EQ(r.status, 2);
    EXPECT_FALSE(fs::exists(path("x.toml")));
}

}  // namespace
