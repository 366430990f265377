// /proc/sys/vm: the table against a real 6.18 host's listing and defaults,
// and every validation rule against what that host's kernel accepted and
// refused when boundary values were written to it (docs/sysctl.md).
#include "proc/sysctl.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "mm/page_alloc.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

std::unique_ptr<Kernel> machine() { return test::boot_ram(8ull << 30, 2); }

Errno write(Kernel& k, const char* name, const char* v) { return sysctl_vm_write(k, name, v).err(); }
std::string read(const Kernel& k, const char* name) {
    auto r = sysctl_vm_read(k, name);
    return r ? *r : std::string("<") + errno_name(r.err()) + ">";
}

TEST(Sysctl, TableListsTheHostsFilesInLsOrderWithTheirModes) {
    std::istringstream modes(test::read_data("host-6.18/extra/sys_vm_modes.txt"));
    std::string perm, name;
    std::size_t i = 0;
    const auto& table = sysctl_vm_table();
    while (modes >> perm >> name) {
        ASSERT_LT(i, table.size()) << name;
        EXPECT_EQ(table[i].name, name);
        unsigned mode = 0;
        for (int b = 0; b < 9; b++)
            if (perm[1 + b] != '-') mode |= 1u << (8 - b);
        EXPECT_EQ(table[i].mode, mode) << name;
        i++;
    }
    EXPECT_EQ(i, table.size());
}

TEST(Sysctl, DefaultsReadExactlyAsTheHostsFiles) {
    auto k = machine();
    for (const auto& info : sysctl_vm_table()) {
        // Values the kernel derives from the amount of memory differ by machine.
        if (info.name == "min_free_kbytes" || info.name == "user_reserve_kbytes") continue;
        std::string host = test::read_data("host-6.18/extra/sys_vm/" + info.name);
        if (!(info.mode & 0444)) {
            EXPECT_EQ(sysctl_vm_read(*k, info.name).err(), Errno::ACCES) << info.name;
            continue;
        }
        EXPECT_EQ(read(*k, info.name.c_str()), host) << info.name;
    }
}

TEST(Sysctl, NumbersAreParsedLikeProcDointvec) {
    auto k = machine();
    EXPECT_EQ(write(*k, "swappiness", "0x10"), Errno::OK);
    EXPECT_EQ(read(*k, "swappiness"), "16\n");
    EXPECT_EQ(write(*k, "swappiness", "020"), Errno::OK);  // octal, as on the host
    EXPECT_EQ(read(*k, "swappiness"), "16\n");
    EXPECT_EQ(write(*k, "swappiness", " 20\n"), Errno::OK);
    EXPECT_EQ(read(*k, "swappiness"), "20\n");
    EXPECT_EQ(write(*k, "swappiness", "5 6\n"), Errno::OK);  // the rest is ignored
    EXPECT_EQ(read(*k, "swappiness"), "5\n");
    for (const char* bad : {"20x", "+20", "\n", "abc", "2147483648"})
        EXPECT_EQ(write(*k, "swappiness", bad), Errno::INVAL) << bad;
    EXPECT_EQ(read(*k, "swappiness"), "5\n");
}

TEST(Sysctl, RangesAreTheHostKernelsRanges) {
    auto k = machine();
    struct Case {
        const char* name;
        const char* ok;
        const char* refused;
    };
    const Case cases[] = {
        {"swappiness", "200", "201"},
        {"swappiness", "0", "-1"},
        {"compaction_proactiveness", "100", "101"},
        {"dirty_ratio", "100", "101"},
        {"extfrag_threshold", "1000", "1001"},
        {"page-cluster", "31", "32"},
        {"mmap_rnd_bits", "32", "27"},
        {"mmap_rnd_compat_bits", "16", "17"},
        {"vfs_cache_pressure_denom", "100", "99"},
        {"watermark_scale_factor", "3000", "3001"},
        {"watermark_scale_factor", "1", "0"},
        {"percpu_pagelist_high_fraction", "8", "7"},
        {"percpu_pagelist_high_fraction", "0", "-1"},
        {"overcommit_memory", "2", "3"},
        {"panic_on_oom", "2", "3"},
        {"numa_stat", "1", "2"},
        {"defrag_mode", "1", "2"},
        {"shrink_inodes_with_pagecache", "1", "2"},
        {"dirty_bytes", "8192", "8191"},
        {"dirty_background_bytes", "1", "0"},
        {"admin_reserve_kbytes", "0", "-1"},
        {"max_map_count", "0", "-1"},
        {"drop_caches", "63", "64"},
        {"drop_caches", "1", "0"},
        {"compact_memory", "1", "2"},
        {"oom_dump_tasks", "-1", "abc"},
        {"dirty_writeback_centisecs", "-1", "2147483648"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(write(*k, c.name, c.ok), Errno::OK) << c.name << "=" << c.ok;
        EXPECT_EQ(write(*k, c.name, c.refused), Errno::INVAL) << c.name << "=" << c.refused;
    }
}

TEST(Sysctl, TwinsZeroEachOther) {
    auto k = machine();
    ASSERT_EQ(write(*k, "dirty_background_bytes", "1048576"), Errno::OK);
    EXPECT_EQ(read(*k, "dirty_background_ratio"), "0\n");
    ASSERT_EQ(write(*k, "dirty_background_ratio", "10"), Errno::OK);
    EXPECT_EQ(read(*k, "dirty_background_bytes"), "0\n");
    ASSERT_EQ(write(*k, "dirty_bytes", "8192"), Errno::OK);
    EXPECT_EQ(read(*k, "dirty_ratio"), "0\n");
    ASSERT_EQ(write(*k, "overcommit_kbytes", "1000"), Errno::OK);
    EXPECT_EQ(read(*k, "overcommit_ratio"), "0\n");
    ASSERT_EQ(write(*k, "overcommit_ratio", "50"), Errno::OK);
    EXPECT_EQ(read(*k, "overcommit_kbytes"), "0\n");
}

TEST(Sysctl, LowmemReserveRatioTakesOneValuePerZoneAndZeroesBelowOne) {
    auto k = machine();
    ASSERT_EQ(write(*k, "lowmem_reserve_ratio", "300 -5 2"), Errno::OK);
    EXPECT_EQ(read(*k, "lowmem_reserve_ratio"), "300\t0\t2\t0\t0\n");
    ASSERT_EQ(write(*k, "lowmem_reserve_ratio", "1"), Errno::OK);
    EXPECT_EQ(read(*k, "lowmem_reserve_ratio"), "1\t0\t2\t0\t0\n");
}

TEST(Sysctl, SpecialFiles) {
    auto k = machine();
    EXPECT_EQ(read(*k, "drop_caches"), "<EACCES>");
    EXPECT_EQ(read(*k, "stat_refresh"), "");
    EXPECT_EQ(write(*k, "stat_refresh", "1"), Errno::OK);
    EXPECT_EQ(read(*k, "numa_zonelist_order"), "Node\n");
    EXPECT_EQ(write(*k, "numa_zonelist_order", "zone"), Errno::INVAL);
    EXPECT_EQ(write(*k, "numa_zonelist_order", "default"), Errno::OK);
    EXPECT_EQ(write(*k, "hugetlb_optimize_vmemmap", "-1"), Errno::OK);
    EXPECT_EQ(read(*k, "hugetlb_optimize_vmemmap"), "1\n");
    EXPECT_EQ(write(*k, "memfd_noexec", "2"), Errno::OK);
    EXPECT_EQ(write(*k, "memfd_noexec", "1"), Errno::INVAL);  // only raised, never lowered
    EXPECT_EQ(write(*k, "laptop_mode", "8589934"), Errno::OK);
    EXPECT_EQ(write(*k, "laptop_mode", "8589935"), Errno::INVAL);  // INT_MAX / HZ
    EXPECT_EQ(write(*k, "no_such_thing", "1"), Errno::NOENT);
    EXPECT_EQ(sysctl_vm_suggest("swapiness"), "swappiness");
    EXPECT_EQ(sysctl_vm_key("vm.swappiness"), "swappiness");
    EXPECT_EQ(sysctl_vm_key("kernel.pid_max"), "");
}

TEST(Sysctl, ARefusedWriteChangesNothing) {
    auto k = machine();
    auto before = k->zone(0, 2).watermark;
    EXPECT_EQ(write(*k, "min_free_kbytes", "-1"), Errno::INVAL);
    EXPECT_EQ(k->zone(0, 2).watermark, before);
    EXPECT_EQ(k->vm.user_min_free_kbytes, -1);
}

}  // namespace
}  // namespace mmsim
