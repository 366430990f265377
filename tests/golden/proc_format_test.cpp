// /proc files against a real Linux 6.18 kernel's, then against checked-in
// golden copies.
//
// The real oracle is the capture in tests/data/host-6.18: a simulated
// machine shaped like that host (x86-64, 24 GiB, 2 CPUs) must print the
// same lines with the same labels, in the same order, with every number in
// the same columns -- only the values may differ. A machine cloned from the
// capture must then print the capture's own zone geometry and watermarks,
// and a snapshot of any machine must clone back into the same machine.
//
// The golden files in tests/data/golden pin the exact bytes of a fixed
// boot; regenerate them with MMSIM_UPDATE_GOLDEN=1 after an intended change
// (and check the diff against the capture's format first).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "machine/machine.h"
#include "mm/mm_init.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;

namespace mmsim {
namespace {

std::string read(const Kernel& k, std::string_view path) {
    auto r = proc_read(k, path);
    EXPECT_TRUE(r) << path << ": " << errno_name(r.err());
    return r ? *r : std::string();
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// A line's layout with the values taken out: each run of spaces and digits
// becomes its width, so "MemFree:        23955740 kB" and
// "MemFree:         8223744 kB" both read "MemFree:<15> kB". Right-aligned
// columns (meminfo, buddyinfo, pagetypeinfo) compare equal exactly when
// their fields line up.
std::string columns(const std::string& line) {
    static const std::regex num("( *)([0-9]+)");
    std::string out;
    auto begin = std::sregex_iterator(line.begin(), line.end(), num);
    std::size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
        out += line.substr(last, static_cast<std::size_t>(it->position()) - last);
        out += fmt::format("<{}>", it->length());
        last = static_cast<std::size_t>(it->position() + it->length());
    }
    return out + line.substr(last);
}

// Left-aligned values (zoneinfo, vmstat): every number becomes N.
std::string words(const std::string& line) {
    static const std::regex num("[0-9]+");
    return std::regex_replace(line, num, "N");
}

template <class F>
void expect_same_shape(const std::string& ours, const std::string& host, F shape, const char* what) {
    auto a = lines(ours), b = lines(host);
    EXPECT_EQ(a.size(), b.size()) << what;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); i++)
        EXPECT_EQ(shape(a[i]), shape(b[i]))
            << what << " line " << i + 1 << "\n  ours: " << a[i] << "\n  host: " << b[i];
    EXPECT_EQ(ours.back(), '\n') << what;
}

// The capture's host: x86-64, 24 GiB, 2 CPUs, THP madvise. Booted once and
// only read.
const Kernel& like_the_host() {
    static const std::unique_ptr<Kernel> k = test::boot_ram(24ull << 30, 2);
    return *k;
}

TEST(ProcFormat, MeminfoHasTheHostsLinesInTheHostsColumns) {
    const Kernel& k = like_the_host();
    expect_same_shape(read(k, "/proc/meminfo"), test::read_data("host-6.18/meminfo"), columns, "meminfo");
}

TEST(ProcFormat, VmstatHasTheHostsCountersInTheHostsOrder) {
    const Kernel& k = like_the_host();
    expect_same_shape(read(k, "/proc/vmstat"), test::read_data("host-6.18/vmstat"), words, "vmstat");
}

TEST(ProcFormat, ZoneinfoHasTheHostsKeysForEveryZone) {
    const Kernel& k = like_the_host();
    expect_same_shape(read(k, "/proc/zoneinfo"), test::read_data("host-6.18/zoneinfo"), words, "zoneinfo");
}

TEST(ProcFormat, BuddyinfoAndPagetypeinfoHaveTheHostsColumns) {
    const Kernel& k = like_the_host();
    expect_same_shape(read(k, "/proc/buddyinfo"), test::read_data("host-6.18/buddyinfo"), columns,
                      "buddyinfo");
    expect_same_shape(read(k, "/proc/pagetypeinfo"), test::read_data("host-6.18/pagetypeinfo"), columns,
                      "pagetypeinfo");
}

TEST(ProcFormat, CpuinfoStatUptimeLoadavgHaveTheHostsFields) {
    auto k = test::boot_ram(1ull << 30, 2);  // the host's 2 CPUs
    k->clock.advance_by(9747 * NSEC_PER_SEC + 360 * NSEC_PER_MSEC);
    // cpuinfo: the same keys in the same order for each CPU.
    auto keys = [](const std::string& s) {
        std::string out;
        for (const auto& l : lines(s)) out += l.substr(0, l.find(':')) + "\n";
        return out;
    };
    EXPECT_EQ(keys(read(*k, "/proc/cpuinfo")), keys(test::read_data("host-6.18/extra/cpuinfo")));
    // stat: the same rows, each with the same number of fields (the
    // interrupt list aside, whose length is the host's IRQ count).
    auto rows = [](const std::string& s) {
        std::string out;
        for (const auto& l : lines(s)) {
            std::istringstream in(l);
            std::string first, w;
            in >> first;
            int n = 0;
            while (in >> w) n++;
            out += first + (first == "intr" ? "" : fmt::format(" {}", n)) + "\n";
        }
        return out;
    };
    EXPECT_EQ(rows(read(*k, "/proc/stat")), rows(test::read_data("host-6.18/extra/stat")));
    EXPECT_EQ(read(*k, "/proc/stat").substr(0, 5), "cpu  ");
    EXPECT_EQ(read(*k, "/proc/uptime"), "9747.36 19494.72\n");
    std::regex loadavg(R"(\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+\n)");
    EXPECT_TRUE(std::regex_match(test::read_data("host-6.18/extra/loadavg"), loadavg));
    EXPECT_TRUE(std::regex_match(read(*k, "/proc/loadavg"), loadavg));
}

// ---- machines cloned from /proc text ----------------------------------------

struct TempDir {
    fs::path path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "mmsim-golden-XXXXXX").string();
        path = ::mkdtemp(t.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// The lines of zoneinfo that the zone layout, CPU count and tunables fix
// (not the free counts, counters or auto-tuned pcp high).
std::string geometry(const std::string& zoneinfo) {
    static const std::regex keep(
        R"(^(Node .*|        (boost|min|low|high|promo|spanned|present|managed|cma) .*|        protection: .*|)"
        R"(    cpu: .*|              (batch|high_min|high_max): .*|  vm stats threshold: .*|  start_pfn: .*)$)");
    std::string out;
    for (const auto& l : lines(zoneinfo))
        if (std::regex_match(l, keep)) out += l + "\n";
    return out;
}

TEST(ProcFormat, MachineClonedFromTheCapturePrintsTheHostsZoneGeometry) {
    test::HostProcTree host;
    auto k = boot_kernel(parse_machine_toml(clone_host_toml(host.proc()), "host.toml"));
    EXPECT_EQ(geometry(read(*k, "/proc/zoneinfo")), geometry(test::read_data("host-6.18/zoneinfo")));
}

TEST(ProcFormat, ASnapshotClonesBackIntoTheSameMachine) {
    auto k = test::boot_ram(6ull << 30, 3);
    TempDir t;
    write_snapshot(*k, (t.path / "snap").string());
    auto clone =
        boot_kernel(parse_machine_toml(clone_host_toml((t.path / "snap" / "proc").string()), "snap.toml"));
    EXPECT_EQ(geometry(read(*clone, "/proc/zoneinfo")), geometry(read(*k, "/proc/zoneinfo")));
    EXPECT_EQ(read(*clone, "/proc/buddyinfo"), read(*k, "/proc/buddyinfo"));
    EXPECT_EQ(read(*clone, "/sys/kernel/mm/transparent_hugepage/enabled"),
              read(*k, "/sys/kernel/mm/transparent_hugepage/enabled"));
    EXPECT_EQ(read(*clone, "/proc/sys/vm/min_free_kbytes"), read(*k, "/proc/sys/vm/min_free_kbytes"));
}

// ---- golden bytes -----------------------------------------------------------------

TEST(ProcGolden, FixedBootPrintsTheCheckedInBytes) {
    auto k = test::boot_ram(4ull << 30, 2);
    const bool update = std::getenv("MMSIM_UPDATE_GOLDEN") != nullptr;
    for (const char* f : {"meminfo", "zoneinfo", "buddyinfo", "pagetypeinfo", "vmstat", "slabinfo"}) {
        std::string ours = read(*k, std::string("/proc/") + f);
        std::string rel = std::string("golden/x86_64-4G-2cpu/") + f;
        if (update) {
            fs::create_directories(fs::path(test::data_path(rel)).parent_path());
            std::ofstream(test::data_path(rel), std::ios::binary) << ours;
            continue;
        }
        EXPECT_EQ(ours, test::read_data(rel))
            << f << " differs from tests/data/" << rel << " (MMSIM_UPDATE_GOLDEN=1 regenerates it)";
    }
}

}  // namespace
}  // namespace mmsim
