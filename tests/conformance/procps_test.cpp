// Real procps-ng reads a snapshot of a simulated machine.
//
// A snapshot's proc/ is bind-mounted over /proc in a private mount
// namespace, and the host's own `free` and `vmstat` run against it, exactly
// as DESIGN.md's "unshare -m sh -c 'mount --bind DIR/proc /proc && free -m'"
// says. They must parse every file and print the simulated numbers. Needs
// root (for the mount namespace); otherwise the tests skip, saying why.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "fs/dcache.h"
#include "mm/slub.h"
#include "proc/procfs.h"
#include "support/fixtures.h"
#include "support/shell.h"
#include "tools/proc_source.h"
#include "tools/tool.h"


namespace mmsim {
namespace {

using test::Shell;
Shell run(const std::string& cmd) { return test::run_shell(cmd); }

// procps on snapshots (skipped, saying why, where it cannot run).
class Procps : public test::SnapshotToolTest {
protected:
    Procps() : SnapshotToolTest({"unshare", "free", "vmstat"}, "mmsim-procps") {}
};

// /proc/meminfo of the simulation, in kB.
std::map<std::string, uint64_t> meminfo(const Kernel& k) {
    std::map<std::string, uint64_t> m;
    std::istringstream in(*proc_read(k, "/proc/meminfo"));
    std::string label;
    uint64_t v;
    while (in >> label >> v) {
        label.pop_back();
        m[label] = v;
        in.ignore(1000, '\n');
    }
    return m;
}

// The numbers after a row label ("Mem:") in a tool's table.
std::vector<uint64_t> row(const std::string& out, const std::string& label) {
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) {
        std::istringstream ls(l);
        std::string first;
        ls >> first;
        if (first != label) continue;
        std::vector<uint64_t> v;
        uint64_t x;
        while (ls >> x) v.push_back(x);
        return v;
    }
    return {};
}

// `vmstat -s`: "      8223744 K total memory" -> {"K total memory": 8223744}.
std::map<std::string, uint64_t> vmstat_s(const std::string& out) {
    std::map<std::string, uint64_t> m;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) {
        std::istringstream ls(l);
        uint64_t v;
        if (!(ls >> v)) continue;
        std::string rest;
        std::getline(ls, rest);
        m[rest.substr(rest.find_first_not_of(' '))] = v;
    }
    return m;
}

// A booted machine whose usage counters are all different, so that a tool
// reading the wrong line would print the wrong number. Only the renderers
// read these counters, so they need not describe real pages, but they add
// up: the pages in use are no longer free.
std::unique_ptr<Kernel> busy_machine() {
    auto k = test::boot_ram(8ull << 30, 2);
    PglistData& n = k->nodes[0];
    n.node_zones[static_cast<unsigned>(k->zone_index_of(ZoneKind::Normal))].vm_stat[NR_FREE_PAGES] -= 110000;
    n.vm_stat[NR_FILE_PAGES] = 70001;
    n.vm_stat[NR_ACTIVE_FILE] = 30011;
    n.vm_stat[NR_INACTIVE_FILE] = 39990;
    n.vm_stat[NR_ACTIVE_ANON] = 5003;
    n.vm_stat[NR_INACTIVE_ANON] = 12007;
    n.vm_stat[NR_SHMEM] = 2203;
    n.vm_stat[NR_SLAB_RECLAIMABLE] = 3307;
    n.vm_stat[NR_SLAB_UNRECLAIMABLE] = 4409;
    k->vm_events[PGPGIN] = 123456;
    k->vm_events[PGPGOUT] = 6543;
    k->clock.advance_by(42 * NSEC_PER_SEC);
    return k;
}

TEST_F(Procps, FreeShowsTheSimulatedMeminfo) {
    for (bool busy : {false, true}) {
        auto k = busy ? busy_machine() : test::boot_ram(8ull << 30, 2);
        auto m = meminfo(*k);
        std::string out = tool(*k, "free -k");
        auto mem = row(out, "Mem:");
        ASSERT_EQ(mem.size(), 6u) << out;
        const uint64_t buff_cache = m["Buffers"] + m["Cached"] + m["SReclaimable"];
        EXPECT_EQ(mem[0], m["MemTotal"]) << out;
        EXPECT_EQ(mem[2], m["MemFree"]) << out;
        EXPECT_EQ(mem[3], m["Shmem"]) << out;
        EXPECT_EQ(mem[4], buff_cache) << out;
        EXPECT_EQ(mem[5], m["MemAvailable"]) << out;
        // procps 4 counts used as total - available; 3.3 as total - free - buff/cache.
        EXPECT_TRUE(mem[1] == m["MemTotal"] - m["MemAvailable"] ||
                    mem[1] == m["MemTotal"] - m["MemFree"] - buff_cache)
            << out;
        EXPECT_EQ(row(out, "Swap:"), (std::vector<uint64_t>{0, 0, 0})) << out;
        if (busy) {
            EXPECT_GT(mem[3], 0u);
            EXPECT_GT(mem[4], 0u);
        }
    }
}

TEST_F(Procps, FreeWideInMebibytesSplitsBuffersAndCache) {
    auto k = busy_machine();
    auto m = meminfo(*k);
    std::string out = tool(*k, "free -m -w");
    auto mem = row(out, "Mem:");
    ASSERT_EQ(mem.size(), 7u) << out;
    auto mib = [](uint64_t kb) { return kb / 1024; };
    EXPECT_EQ(mem[0], mib(m["MemTotal"])) << out;
    EXPECT_EQ(mem[2], mib(m["MemFree"])) << out;
    EXPECT_EQ(mem[3], mib(m["Shmem"])) << out;
    EXPECT_EQ(mem[4], mib(m["Buffers"])) << out;
    EXPECT_EQ(mem[5], mib(m["Cached"] + m["SReclaimable"])) << out;
    EXPECT_EQ(mem[6], mib(m["MemAvailable"])) << out;
}

TEST_F(Procps, VmstatSummaryShowsMemoryCountersAndTicks) {
    auto k = busy_machine();
    auto m = meminfo(*k);
    std::string out = tool(*k, "vmstat -s");
    auto s = vmstat_s(out);
    EXPECT_EQ(s["K total memory"], m["MemTotal"]) << out;
    EXPECT_EQ(s["K free memory"], m["MemFree"]) << out;
    EXPECT_EQ(s["K active memory"], m["Active"]) << out;
    EXPECT_EQ(s["K inactive memory"], m["Inactive"]) << out;
    EXPECT_EQ(s["K buffer memory"], m["Buffers"]) << out;
    // procps labels Cached + SReclaimable "swap cache".
    EXPECT_EQ(s["K swap cache"], m["Cached"] + m["SReclaimable"]) << out;
    EXPECT_EQ(s["K total swap"], 0u) << out;
    EXPECT_EQ(s["K paged in"], 123456u) << out;
    EXPECT_EQ(s["K paged out"], 6543u) << out;
    // 42 s of two idle CPUs, at USER_HZ = 100.
    EXPECT_EQ(s["idle cpu ticks"], 8400u) << out;
    EXPECT_EQ(s["non-nice user cpu ticks"], 0u) << out;
    EXPECT_EQ(s["boot time"], 1767225600u) << out;
}

TEST_F(Procps, VmstatReportShowsFreeBuffersAndCache) {
    auto k = busy_machine();
    auto m = meminfo(*k);
    std::string out = tool(*k, "vmstat 1 1");
    // r b swpd free buff cache si so bi bo in cs us sy id wa st
    std::istringstream in(out);
    std::string l, last;
    while (std::getline(in, l))
        if (!l.empty()) last = l;
    std::istringstream ls(last);
    std::vector<uint64_t> v;
    uint64_t x;
    while (ls >> x) v.push_back(x);
    ASSERT_GE(v.size(), 17u) << out;
    EXPECT_EQ(v[2], 0u) << out;  // swpd
    EXPECT_EQ(v[3], m["MemFree"]) << out;
    EXPECT_EQ(v[4], m["Buffers"]) << out;
    EXPECT_EQ(v[5], m["Cached"] + m["SReclaimable"]) << out;
    EXPECT_EQ(v[14], 100u) << out;  // id: every CPU idle
}

// slabtop -o: the summary totals are the sums over /proc/slabinfo's rows
// and each cache's row shows its objects, slabs and objects per slab.
TEST_F(Procps, SlabtopShowsTheSimulatedSlabinfo) {
    if (run("command -v slabtop >/dev/null").status != 0) GTEST_SKIP() << "slabtop is not installed";
    auto k = test::boot_ram(1ull << 30, 2);
    KmemCache& s = **kmem_cache_create(*k, "my_obj", 200, {});
    for (int i = 0; i < 1000; i++) ASSERT_TRUE(kmem_cache_alloc(*k, s, GFP_KERNEL));
    for (int i = 0; i < 300; i++) ASSERT_TRUE(kmalloc(*k, 100, GFP_KERNEL));
    uint64_t active = 0, total = 0, slabs = 0, caches = 0;
    std::istringstream in(*proc_read(*k, "/proc/slabinfo"));
    for (std::string l; std::getline(in, l);) {
        if (l.rfind("slabinfo", 0) == 0 || l.rfind("#", 0) == 0) continue;
        std::istringstream ls(l);
        std::string name;
        uint64_t a, t, size, per, pages;
        ls >> name >> a >> t >> size >> per >> pages;
        active += a;
        total += t;
        slabs += t / per;
        caches++;
    }
    std::string out = tool(*k, "slabtop -o -s c");
    EXPECT_NE(out.find(fmt::format("Active / Total Objects (% used)    : {} / {} (", active, total)),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(fmt::format("Active / Total Slabs (% used)      : {} / {} (", slabs, slabs)),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(fmt::format(" / {} (", caches)), std::string::npos) << out;
    // Sorted by cache size, my_obj (50 slabs of 4 KiB) comes first.
    std::istringstream rows(out.substr(out.find("NAME")));
    std::string header, first;
    std::getline(rows, header);
    std::getline(rows, first);
    std::istringstream fs_(first);
    std::vector<std::string> w;
    for (std::string x; fs_ >> x;) w.push_back(x);
    ASSERT_EQ(w.size(), 8u) << out;
    EXPECT_EQ(w[0], "1000");
    EXPECT_EQ(w[1], "1000");
    EXPECT_EQ(w[3], "0.20K");
    EXPECT_EQ(w[4], "50");
    EXPECT_EQ(w[5], "20");
    EXPECT_EQ(w[6], "200K");
    EXPECT_EQ(w[7], "my_obj");
}

// mmsim's own free and slabtop print what the real ones print from the
// same snapshot, byte for byte: after a directory walk (dentries and
// inodes in SReclaimable, so in buff/cache), every free unit and layout
// flag, and every slabtop sort key (ties keep /proc/slabinfo's order).
TEST_F(Procps, OwnFreeAndSlabtopMatchTheRealOnes) {
    if (run("command -v slabtop >/dev/null").status != 0) GTEST_SKIP() << "slabtop is not installed";
    auto k = test::boot_ram(1ull << 30, 2);
    path_lookup(*k, "/srv", true);
    for (int i = 0; i < 3000; i++) path_lookup(*k, fmt::format("/srv/f{}", i));
    KmemCache& s = **kmem_cache_create(*k, "my_obj", 200, {});
    for (int i = 0; i < 700; i++) ASSERT_TRUE(kmem_cache_alloc(*k, s, GFP_KERNEL));
    tools::SimProcSource src(*k);
    auto own = [&](const std::string& name, const std::vector<std::string>& args) {
        return tools::run_tool(name, src, args).out;
    };
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{},
                                                                                      {"-b"},
                                                                                      {"-m"},
                                                                                      {"-g"},
                                                                                      {"--mega"},
                                                                                      {"--si"},
                                                                                      {"-h"},
                                                                                      {"-h", "--si"},
                                                                                      {"-w"},
                                                                                      {"-l", "-t", "-v"},
                                                                                      {"--tebi"}}) {
        std::string line;
        for (const auto& a : args) line += " " + a;
        EXPECT_EQ(own("free", args), tool(*k, "free" + line)) << "free" << line;
    }
    for (const char* key : {"a", "b", "c", "l", "v", "n", "o", "p", "s", "u"})
        EXPECT_EQ(own("slabtop", {"-o", "-s", key}), tool(*k, fmt::format("slabtop -o -s {}", key)))
            << "slabtop -s " << key;
    EXPECT_EQ(own("slabtop", {"-o"}), tool(*k, "slabtop -o"));
}

}  // namespace
}  // namespace mmsim
