// The simulated /proc and /sys: every file reads, each renderer prints the
// counters and formulas it should (MemAvailable, CommitLimit, Cached, the
// dirty thresholds, THP units), paths fail with the errno open(2) would
// give, writes reach the sysctls and THP, and snapshots are all-or-nothing.
#include "proc/procfs.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "machine/machine.h"
#include "mm/khugepaged.h"
#include "mm/mm_init.h"
#include "mm/page_alloc.h"
#include "mm/show_mem.h"
#include "proc/sysctl.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;

namespace mmsim {
namespace {

std::unique_ptr<Kernel> machine(unsigned cpus = 2) { return test::boot_ram(8ull << 30, cpus); }

std::string read(const Kernel& k, std::string_view path) {
    auto r = proc_read(k, path);
    return r ? *r : fmt::format("<{}>", errno_name(r.err()));
}

// "Label:   123 kB" -> {Label: 123} for /proc/meminfo.
std::map<std::string, uint64_t> meminfo(const Kernel& k) {
    std::map<std::string, uint64_t> m;
    std::istringstream in(read(k, "/proc/meminfo"));
    std::string label;
    uint64_t v;
    while (in >> label >> v) {
        label.pop_back();  // ':'
        m[label] = v;
        in.ignore(1000, '\n');
    }
    return m;
}

std::map<std::string, uint64_t> vmstat(const Kernel& k) {
    std::map<std::string, uint64_t> m;
    std::istringstream in(read(k, "/proc/vmstat"));
    std::string name;
    uint64_t v;
    while (in >> name >> v) m[name] = v;
    return m;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

uint64_t kb(uint64_t pages) { return pages_to_kb(pages); }

TEST(Procfs, EveryListedFileReadsExceptWriteOnlySysctls) {
    auto k = machine();
    auto files = proc_list(*k);
    ASSERT_FALSE(files.empty());
    for (const auto& f : files) {
        auto r = proc_read(*k, f);
        if (f.rfind("/proc/sys/vm/", 0) == 0 && !(sysctl_vm_find(f.substr(13))->mode & 0444)) {
            EXPECT_EQ(r.err(), Errno::ACCES) << f;
            continue;
        }
        ASSERT_TRUE(r) << f << ": " << errno_name(r.err());
        if (f.rfind("/proc/sys/vm/", 0) == 0) continue;        // stat_refresh reads empty
        if (f == "/proc/vmallocinfo" && r->empty()) continue;  // no vmalloc area yet: nothing to list
        EXPECT_FALSE(r->empty()) << f;
        EXPECT_EQ(r->back(), '\n') << f;
        EXPECT_TRUE(proc_exists(*k, f)) << f;
    }
}

TEST(Procfs, ListIsSortedUniqueAndHoldsEverySysctl) {
    auto k = machine();
    auto files = proc_list(*k);
    EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
    EXPECT_EQ(std::adjacent_find(files.begin(), files.end()), files.end());
    for (const auto& s : sysctl_vm_table())
        EXPECT_TRUE(std::binary_search(files.begin(), files.end(), "/proc/sys/vm/" + s.name)) << s.name;
    for (const char* f :
         {"/proc/meminfo", "/proc/zoneinfo", "/proc/buddyinfo", "/proc/pagetypeinfo", "/proc/vmstat",
          "/proc/cpuinfo", "/proc/stat", "/proc/uptime", "/proc/loadavg",
          "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/mm/transparent_hugepage/defrag"})
        EXPECT_TRUE(std::binary_search(files.begin(), files.end(), f)) << f;
}

TEST(Procfs, PathErrorsAreTheOnesOpenWouldGive) {
    auto k = machine();
    EXPECT_EQ(proc_read(*k, "/proc/nonexistent").err(), Errno::NOENT);
    EXPECT_EQ(proc_read(*k, "/proc/sys/vm/no_such_sysctl").err(), Errno::NOENT);
    EXPECT_EQ(proc_read(*k, "").err(), Errno::NOENT);
    EXPECT_EQ(proc_read(*k, "/").err(), Errno::ISDIR);
    EXPECT_EQ(proc_read(*k, "/proc").err(), Errno::ISDIR);
    EXPECT_EQ(proc_read(*k, "/proc/sys/vm").err(), Errno::ISDIR);
    EXPECT_EQ(proc_read(*k, "/proc/sys/vm/").err(), Errno::ISDIR);
    EXPECT_EQ(proc_read(*k, "/sys/kernel/mm/transparent_hugepage").err(), Errno::ISDIR);
    EXPECT_EQ(proc_read(*k, "/proc/meminfo/x").err(), Errno::NOTDIR);
    EXPECT_EQ(proc_read(*k, "/proc/meminfo/").err(), Errno::NOTDIR);
    EXPECT_EQ(proc_read(*k, "/proc/sys/vm/drop_caches").err(), Errno::ACCES);
    EXPECT_EQ(proc_read(*k, "/proc/sys/vm/compact_memory").err(), Errno::ACCES);
    // As root on a real 6.18: "echo 1 > /proc/meminfo" fails with EIO, a
    // read-only sysfs attribute with EACCES.
    EXPECT_EQ(proc_write(*k, "/proc/meminfo", "1").err(), Errno::IO);
    EXPECT_EQ(proc_write(*k, "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "4096").err(),
              Errno::ACCES);
    EXPECT_EQ(proc_write(*k, "/proc/sys/vm", "1").err(), Errno::ISDIR);
    EXPECT_EQ(proc_write(*k, "/proc/nonexistent", "1").err(), Errno::NOENT);
    EXPECT_TRUE(proc_exists(*k, "/proc/sys/vm"));
    EXPECT_TRUE(proc_exists(*k, "/sys"));
    EXPECT_FALSE(proc_exists(*k, "/proc/nonexistent"));
    EXPECT_FALSE(proc_exists(*k, "/proc/meminfo/x"));
}

TEST(Procfs, PathsAreNormalizedLikeTheKernelsLookup) {
    auto k = machine();
    std::string want = read(*k, "/proc/meminfo");
    for (const char* p :
         {"/proc//meminfo", "proc/meminfo", "/proc/./meminfo", "/proc/sys/../meminfo", "/../proc/meminfo"})
        EXPECT_EQ(read(*k, p), want) << p;
}

TEST(Procfs, SysctlPathsRouteToTheSysctlTable) {
    auto k = machine();
    EXPECT_EQ(read(*k, "/proc/sys/vm/swappiness"), "60\n");
    ASSERT_TRUE(proc_write(*k, "/proc/sys/vm/swappiness", "10\n"));
    EXPECT_EQ(k->vm.swappiness, 10);
    EXPECT_EQ(read(*k, "/proc/sys/vm/swappiness"), "10\n");
    EXPECT_EQ(proc_write(*k, "/proc/sys/vm/swappiness", "abc").err(), Errno::INVAL);
    EXPECT_EQ(k->vm.swappiness, 10);
    ASSERT_TRUE(proc_write(*k, "/proc/sys/vm/min_free_kbytes", "100000"));
    EXPECT_EQ(k->vm.min_free_kbytes, 100000);
}

TEST(Procfs, ThpEnabledIsAMultipleChoiceFileThatResizesTheReserve) {
    auto k = machine();
    const std::string path = "/sys/kernel/mm/transparent_hugepage/enabled";
    EXPECT_EQ(read(*k, path), "always [madvise] never\n");
    int raised = k->vm.min_free_kbytes;

    ASSERT_TRUE(proc_write(*k, path, "never\n"));
    EXPECT_EQ(k->vm.thp, ThpMode::Never);
    EXPECT_EQ(read(*k, path), "always madvise [never]\n");
    EXPECT_LT(k->vm.min_free_kbytes, raised);  // back to int_sqrt(lowmem * 16)

    ASSERT_TRUE(proc_write(*k, path, "always"));
    EXPECT_EQ(k->vm.thp, ThpMode::Always);
    EXPECT_EQ(read(*k, path), "[always] madvise never\n");
    EXPECT_EQ(k->vm.min_free_kbytes, raised);

    for (const char* bad : {"sometimes", "always\n\n", " always", "Always", "", "always never"}) {
        EXPECT_EQ(proc_write(*k, path, bad).err(), Errno::INVAL) << '"' << bad << '"';
        EXPECT_EQ(k->vm.thp, ThpMode::Always);
    }
}

TEST(Procfs, ThpDefragShowsTheDefaultAndValidatesWrites) {
    auto k = machine();
    const std::string path = "/sys/kernel/mm/transparent_hugepage/defrag";
    EXPECT_EQ(read(*k, path), "always defer defer+madvise [madvise] never\n");
    EXPECT_TRUE(proc_write(*k, path, "madvise\n"));
    EXPECT_EQ(proc_write(*k, path, "sometimes").err(), Errno::INVAL);
    EXPECT_TRUE(proc_write(*k, path, "defer+madvise"));
    EXPECT_EQ(read(*k, path), "always defer [defer+madvise] madvise never\n");
    EXPECT_EQ(read(*k, "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"), "2097152\n");
}

TEST(Meminfo, TopLinesAreTheCountersAndTheKernelsFormulas) {
    auto k = machine();
    auto m = meminfo(*k);
    EXPECT_EQ(m["MemTotal"], kb(k->totalram_pages));
    EXPECT_EQ(m["MemFree"], kb(static_cast<uint64_t>(k->global_zone_page_state(NR_FREE_PAGES))));
    EXPECT_EQ(m["MemAvailable"], kb(si_mem_available(*k)));
    // overcommit_ratio 50 of RAM, no swap, no hugetlb.
    EXPECT_EQ(m["CommitLimit"], kb(k->totalram_pages * 50 / 100));
    EXPECT_EQ(m["Hugepagesize"], 2048u);
    EXPECT_EQ(m["VmallocTotal"], 34359738367u);
    // Nothing runs yet: every usage counter is 0.
    for (const char* z : {"Buffers", "Cached", "Active", "Inactive", "AnonPages", "Dirty", "Shmem"})
        EXPECT_EQ(m[z], 0u) << z;
    // Except the slab allocator's own structures: one 256-byte struct
    // kmem_cache (16 per page) and one 128-byte kmem_cache_node (32 per
    // page) for each of the caches boot creates, all unreclaimable; and
    // the root directory's dentry (an order-0 dentry slab) and inode (an
    // order-2 ext4_inode_cache slab), both reclaimable caches; and the
    // root inode's LSM blob (an order-0 lsm_inode_cache slab, unreclaimable).
    std::string slabinfo = read(*k, "/proc/slabinfo");
    uint64_t caches = static_cast<uint64_t>(std::count(slabinfo.begin(), slabinfo.end(), '\n')) - 2;
    // kmem_cache(_node), 4 kmalloc types x 13 sizes, 14 others and vmalloc_init()'s vmap_area.
    EXPECT_EQ(caches, 2u + 4 * 13 + 14 + 1);
    uint64_t pages = (caches + 15) / 16 + (caches + 31) / 32 + 1;
    EXPECT_EQ(m["SUnreclaim"], kb(pages));
    EXPECT_EQ(m["SReclaimable"], kb(1 + 4));
    EXPECT_EQ(m["KReclaimable"], kb(1 + 4));
    EXPECT_EQ(m["Slab"], kb(pages + 5));
}

TEST(Meminfo, MemAvailableKeepsHalfTheCacheOrALowWatermarksWorth) {
    auto k = machine();
    uint64_t wmark_low = 0;
    for (const auto& n : k->nodes)
        for (const auto& z : n.node_zones) wmark_low += z.low_wmark_pages();
    int64_t free = k->global_zone_page_state(NR_FREE_PAGES);
    // Boot's reclaimable slab (the root's dentry and inode) counts, less
    // half of it (less than a low watermark).
    uint64_t sreclaimable = static_cast<uint64_t>(k->global_node_page_state(NR_SLAB_RECLAIMABLE));
    ASSERT_EQ(sreclaimable, 5u);
    const uint64_t free_less_reserve = static_cast<uint64_t>(free) - k->totalreserve_pages;
    uint64_t base = free_less_reserve + sreclaimable - std::min(sreclaimable / 2, wmark_low);
    EXPECT_EQ(si_mem_available(*k), base);

    // A big page cache: all but one low watermark's worth counts.
    PglistData& node = k->nodes[0];
    node.vm_stat[NR_INACTIVE_FILE] = 300000;
    node.vm_stat[NR_ACTIVE_FILE] = 100000;
    ASSERT_LT(wmark_low, 200000u);
    EXPECT_EQ(si_mem_available(*k), base + 400000 - wmark_low);
    // A small one: half of it stays.
    node.vm_stat[NR_INACTIVE_FILE] = 1000;
    node.vm_stat[NR_ACTIVE_FILE] = 0;
    EXPECT_EQ(si_mem_available(*k), base + 500);
    // Reclaimable slab and misc kernel memory follow the same rule.
    node.vm_stat[NR_SLAB_RECLAIMABLE] = 600;
    node.vm_stat[NR_KERNEL_MISC_RECLAIMABLE] = 400;
    EXPECT_EQ(si_mem_available(*k), free_less_reserve + 500 + 500);
    EXPECT_EQ(meminfo(*k)["MemAvailable"], kb(free_less_reserve + 1000));
    EXPECT_EQ(meminfo(*k)["KReclaimable"], kb(1000));
}

TEST(Meminfo, CachedExcludesSwapCacheAndNeverGoesNegative) {
    auto k = machine();
    PglistData& node = k->nodes[0];
    node.vm_stat[NR_FILE_PAGES] = 5000;
    node.vm_stat[NR_SWAPCACHED] = 1000;
    auto m = meminfo(*k);
    EXPECT_EQ(m["Cached"], kb(4000));
    EXPECT_EQ(m["SwapCached"], kb(1000));
    node.vm_stat[NR_SWAPCACHED] = 6000;
    EXPECT_EQ(meminfo(*k)["Cached"], 0u);
}

TEST(Meminfo, LruSlabAndThpLinesReadTheirCounters) {
    auto k = machine();
    PglistData& node = k->nodes[0];
    node.vm_stat[NR_ACTIVE_ANON] = 10;
    node.vm_stat[NR_INACTIVE_ANON] = 20;
    node.vm_stat[NR_ACTIVE_FILE] = 30;
    node.vm_stat[NR_INACTIVE_FILE] = 40;
    node.vm_stat[NR_SLAB_RECLAIMABLE] = 5;
    node.vm_stat[NR_SLAB_UNRECLAIMABLE] = 7;
    node.vm_stat[NR_KERNEL_STACK] = 1656;                // in kB, as NR_KERNEL_STACK_KB
    node.vm_stat[NR_ANON_TRANSPARENT_HUGEPAGES] = 1024;  // base pages: two THPs
    node.vm_stat[NR_SHMEM] = 3;
    auto m = meminfo(*k);
    EXPECT_EQ(m["Active"], kb(40));
    EXPECT_EQ(m["Inactive"], kb(60));
    EXPECT_EQ(m["Active(anon)"], kb(10));
    EXPECT_EQ(m["Inactive(file)"], kb(40));
    EXPECT_EQ(m["Slab"], kb(12));
    EXPECT_EQ(m["SUnreclaim"], kb(7));
    EXPECT_EQ(m["KernelStack"], 1656u);
    EXPECT_EQ(m["AnonHugePages"], 4096u);
    EXPECT_EQ(m["Shmem"], kb(3));
    // /proc/vmstat shows THP counters in huge pages.
    EXPECT_EQ(vmstat(*k)["nr_anon_transparent_hugepages"], 2u);
}

TEST(Meminfo, CommitLimitFollowsOvercommitKbytesAndHugetlb) {
    auto k = machine();
    k->vm.overcommit_ratio = 80;
    EXPECT_EQ(vm_commit_limit(*k), k->totalram_pages * 80 / 100);
    k->nodes[0].vm_stat[NR_HUGETLB] = 5120;  // ten 2 MiB huge pages
    EXPECT_EQ(vm_commit_limit(*k), (k->totalram_pages - 5120) * 80 / 100);
    auto m = meminfo(*k);
    EXPECT_EQ(m["HugePages_Total"], 10u);
    EXPECT_EQ(m["Hugetlb"], 20480u);
    k->vm.overcommit_kbytes = 1 << 20;
    EXPECT_EQ(meminfo(*k)["CommitLimit"], 1u << 20);
}

TEST(Meminfo, DirectMapCoversRamWithTheLargestAlignedPages) {
    auto k = machine();
    auto m = meminfo(*k);
    uint64_t ram_kb = 0;
    for (const auto& r : memblock_memory_ranges(*k)) ram_kb += kb(r.size());
    uint64_t mapped = m["DirectMap4k"] + m["DirectMap2M"] + m["DirectMap1G"];
    // Everything is mapped; only the first MiB (the ISA range, holes and
    // all) may add to RAM.
    EXPECT_GE(mapped, ram_kb);
    EXPECT_LE(mapped, ram_kb + 1024);
    EXPECT_EQ(m["DirectMap1G"] % (1 << 20), 0u);
    EXPECT_EQ(m["DirectMap2M"] % 2048, 0u);
    EXPECT_GE(m["DirectMap1G"], 6u << 20);  // 8 GiB of RAM: most of it in gigabytes
    EXPECT_LE(m["DirectMap4k"], 4096u);     // only the ragged ends below 2 MiB
}

TEST(Meminfo, I386ShowsHighmemLinesAndMapsOnlyLowmem) {
    std::vector<BootArg> args{{"ram", "2G", {}}, {"cpus", "1", {}}, {"arch", "i386", {}}};
    auto k = boot_kernel(machine_from_boot_args(args, SourceLoc{"<test>", 1, 1}));
    auto m = meminfo(*k);
    ASSERT_TRUE(m.count("HighTotal"));
    EXPECT_EQ(m["LowTotal"] + m["HighTotal"], m["MemTotal"]);
    EXPECT_GT(m["HighTotal"], 0u);
    EXPECT_FALSE(m.count("DirectMap1G"));
    EXPECT_LE(m["DirectMap4k"] + m["DirectMap2M"], 896u << 10);
    EXPECT_EQ(m["VmallocTotal"], 122880u);
}

TEST(Zoneinfo, EveryZoneOfEveryNodeWithNodeStatsOncePerNode) {
    std::vector<BootArg> args{{"ram", "8G", {}}, {"cpus", "4", {}}, {"nodes", "2", {}}};
    auto k = boot_kernel(machine_from_boot_args(args, SourceLoc{"<test>", 1, 1}));
    auto text = read(*k, "/proc/zoneinfo");
    auto ls = lines(text);
    std::size_t zones = 0, node_stats = 0, cpus = 0, starts = 0;
    for (const auto& l : ls) {
        zones += l.rfind("Node ", 0) == 0;
        node_stats += l == "  per-node stats";
        cpus += l.rfind("    cpu: ", 0) == 0;
        starts += l.rfind("  start_pfn:", 0) == 0;
    }
    std::size_t populated = 0;
    for (const auto& n : k->nodes)
        for (const auto& z : n.node_zones) populated += z.populated();
    EXPECT_EQ(zones, k->nodes.size() * k->nr_zone_types());
    EXPECT_EQ(node_stats, 2u);
    EXPECT_EQ(cpus, populated * 4);
    EXPECT_EQ(starts, populated);
    // Values come from the zone: check one populated zone's block.
    const Zone& z = k->zone(1, static_cast<unsigned>(k->zone_index_of(ZoneKind::Normal)));
    std::string head = fmt::format("Node 1, zone   Normal\n  per-node stats\n");
    auto at = text.find(head);
    ASSERT_NE(at, std::string::npos);
    auto block = text.substr(at);
    EXPECT_NE(block.find(fmt::format("\n        min      {}\n", z.min_wmark_pages())), std::string::npos);
    EXPECT_NE(block.find(fmt::format("\n        promo    {}\n", z.wmark_pages(WMARK_PROMO))),
              std::string::npos);
    EXPECT_NE(block.find(fmt::format("\n        managed  {}\n", z.managed_pages)), std::string::npos);
    EXPECT_NE(block.find(fmt::format("\n  start_pfn:           {}\n", z.zone_start_pfn.value)),
              std::string::npos);
}

TEST(ProcBuddyinfo, FreeBlocksAddUpToEachZonesFreePages) {
    auto k = test::boot_ram(1ull << 30, 2);
    // Take some pages so that lower orders are populated.
    for (int i = 0; i < 30; i++) ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL, static_cast<unsigned>(i % 6)));
    auto ls = lines(read(*k, "/proc/buddyinfo"));
    std::size_t i = 0;
    for (const auto& n : k->nodes) {
        for (const auto& z : n.node_zones) {
            if (!z.populated()) continue;
            ASSERT_LT(i, ls.size());
            std::istringstream in(ls[i++]);
            std::string w1, w2, w3, name;
            in >> w1 >> w2 >> w3 >> name;
            EXPECT_EQ(name, zone_kind_name(z.kind));
            uint64_t pages = 0, count;
            for (unsigned o = 0; in >> count; o++) pages += count << o;
            EXPECT_EQ(static_cast<int64_t>(pages), z.vm_stat[NR_FREE_PAGES]) << name;
        }
    }
    EXPECT_EQ(i, ls.size());
}

TEST(Pagetypeinfo, LongFreeListsPrintAsMoreThanOneHundredThousand) {
    auto k = machine();
    Zone& z = k->zone(0, static_cast<unsigned>(k->zone_index_of(ZoneKind::Normal)));
    z.free_area[0].nr_free_type[MIGRATE_MOVABLE] = 250000;  // the renderer only reads it
    z.free_area[1].nr_free_type[MIGRATE_MOVABLE] = 99999;
    auto text = read(*k, "/proc/pagetypeinfo");
    EXPECT_NE(text.find("Node    0, zone   Normal, type      Movable >100000  99999 "), std::string::npos)
        << text;
}

TEST(Pagetypeinfo, BlockCountsCoverThePresentSections) {
    auto k = machine();
    auto ls = lines(read(*k, "/proc/pagetypeinfo"));
    ASSERT_GE(ls.size(), 3u);
    EXPECT_EQ(ls[0], "Page block order: 9");
    EXPECT_EQ(ls[1], "Pages per block:  512");
    // The x86-64 DMA32 zone spans 4 GiB minus 16 MiB but the PCI hole
    // (3-4 GiB) is whole sections: only the RAM's 1528 blocks count.
    bool seen = false;
    for (const auto& l : ls) {
        if (l.rfind("Node 0, zone    DMA32 ", 0) != 0) continue;
        std::istringstream in(l.substr(22));
        uint64_t total = 0, v;
        while (in >> v) total += v;
        const Zone& z = k->zone(0, static_cast<unsigned>(k->zone_index_of(ZoneKind::DMA32)));
        EXPECT_EQ(total, (z.present_pages + pageblock_nr_pages - 1) / pageblock_nr_pages);
        seen = true;
    }
    EXPECT_TRUE(seen);
}

TEST(Vmstat, DirtyThresholdsUseTheKernelsRatioScaling) {
    auto k = machine();
    uint64_t avail = global_dirtyable_memory(*k);
    uint64_t free = static_cast<uint64_t>(k->global_zone_page_state(NR_FREE_PAGES));
    EXPECT_EQ(avail, free - k->totalreserve_pages + 1);
    auto v = vmstat(*k);
    EXPECT_EQ(v["nr_dirty_threshold"], 819 * avail / 4096);  // 20% as 819/4096
    EXPECT_EQ(v["nr_dirty_background_threshold"], 409 * avail / 4096);
    k->vm.dirty_bytes = 10 << 20;
    k->vm.dirty_background_bytes = 1;
    DirtyLimits d = global_dirty_limits(*k);
    EXPECT_EQ(d.threshold, 2560u);
    EXPECT_EQ(d.background, 1u);
    k->vm.dirty_background_bytes = 20 << 20;  // above the hard limit: half of it
    EXPECT_EQ(global_dirty_limits(*k).background, 1280u);
}

TEST(Vmstat, EventsAndZoneSumsAreRead) {
    auto k = machine();
    k->vm_events[PGFAULT] = 1234;
    k->vm_events[DIRECT_MAP_LEVEL3_COLLAPSES] = 7;
    auto v = vmstat(*k);
    EXPECT_EQ(v["pgfault"], 1234u);
    EXPECT_EQ(v["direct_map_level3_collapses"], 7u);
    EXPECT_EQ(v["nr_free_pages"], static_cast<uint64_t>(k->global_zone_page_state(NR_FREE_PAGES)));
    EXPECT_EQ(v["nr_unstable"], 0u);
    auto ls = lines(read(*k, "/proc/vmstat"));
    EXPECT_EQ(ls.back(), "nr_unstable 0");
    // A negative total (an unfolded delta in the kernel) reads as 0.
    k->nodes[0].vm_stat[NR_MAPPED] = -5;
    EXPECT_EQ(vmstat(*k)["nr_mapped"], 0u);
}

TEST(CpuStat, OneEntryPerCpuAndTimesFromTheSimulatedClock) {
    auto k = machine(3);
    auto cpuinfo = read(*k, "/proc/cpuinfo");
    std::size_t procs = 0;
    for (const auto& l : lines(cpuinfo)) procs += l.rfind("processor\t: ", 0) == 0;
    EXPECT_EQ(procs, 3u);
    EXPECT_NE(cpuinfo.find("processor\t: 2\n"), std::string::npos);

    k->clock.advance_by(1500 * NSEC_PER_MSEC);
    EXPECT_EQ(read(*k, "/proc/uptime"), "1.50 4.50\n");
    auto stat = lines(read(*k, "/proc/stat"));
    EXPECT_EQ(stat[0], "cpu  0 0 0 450 0 0 0 0 0 0");
    EXPECT_EQ(stat[1], "cpu0 0 0 0 150 0 0 0 0 0 0");
    EXPECT_EQ(stat[3], "cpu2 0 0 0 150 0 0 0 0 0 0");
    EXPECT_EQ(stat[4].rfind("intr 0", 0), 0u);
    EXPECT_NE(read(*k, "/proc/stat").find("\nbtime 1767225600\n"), std::string::npos);
    EXPECT_EQ(read(*k, "/proc/loadavg"), "0.00 0.00 0.00 1/1 1\n");
    EXPECT_EQ(read(*k, "/proc/sys/kernel/osrelease"), k->kernel_release + "\n");
}

TEST(Procfs, SameMachineSameBytes) {
    auto a = machine(), b = machine();
    for (const auto& f : proc_list(*a)) EXPECT_EQ(read(*a, f), read(*b, f)) << f;
}

// ---- snapshots ----------------------------------------------------------------

struct TempDir {
    fs::path path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "mmsim-procfs-XXXXXX").string();
        path = ::mkdtemp(t.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(Snapshot, WritesEveryFileWithItsContentsAndMode) {
    auto k = machine();
    TempDir t;
    fs::path dir = t.path / "snap";
    write_snapshot(*k, dir.string());
    for (const auto& f : proc_list(*k)) {
        fs::path p = dir / f.substr(1);
        ASSERT_TRUE(fs::is_regular_file(p)) << f;
        auto r = proc_read(*k, f);
        EXPECT_EQ(slurp(p), r ? *r : std::string()) << f;
    }
    struct stat st {};
    ASSERT_EQ(::stat((dir / "proc/pagetypeinfo").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0400u);
    ASSERT_EQ(::stat((dir / "proc/sys/vm/drop_caches").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0200u);
    ASSERT_EQ(::stat((dir / "sys/kernel/mm/transparent_hugepage/enabled").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(::stat((dir / "proc/meminfo").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    // Nothing but the snapshot is left beside it.
    EXPECT_EQ(t.entries(), std::vector<std::string>{"snap"});
}

TEST(Snapshot, ReplacesAnOlderSnapshotAtomically) {
    auto k = machine();
    TempDir t;
    fs::path dir = t.path / "snap";
    write_snapshot(*k, dir.string());
    ASSERT_TRUE(proc_write(*k, "/proc/sys/vm/swappiness", "33"));
    write_snapshot(*k, dir.string() + "/");
    EXPECT_EQ(slurp(dir / "proc/sys/vm/swappiness"), "33\n");
    EXPECT_EQ(t.entries(), std::vector<std::string>{"snap"});
}

TEST(Snapshot, RefusesToReplaceADirectoryThatIsNotASnapshot) {
    auto k = machine();
    TempDir t;
    fs::path dir = t.path / "home";
    fs::create_directories(dir);
    std::ofstream(dir / "precious.txt") << "keep me\n";
    EXPECT_THROW(write_snapshot(*k, dir.string()), std::runtime_error);
    EXPECT_EQ(slurp(dir / "precious.txt"), "keep me\n");
    EXPECT_EQ(t.entries(), std::vector<std::string>{"home"});
    std::ofstream(t.path / "file") << "x";
    EXPECT_THROW(write_snapshot(*k, (t.path / "file").string()), std::runtime_error);
}

TEST(Snapshot, AFailureLeavesNoPartialDirectory) {
    auto k = machine();
    TempDir t;
    // The parent cannot hold new entries: a regular file (root ignores
    // permission bits, so a read-only directory is not enough for root).
    std::ofstream(t.path / "notadir") << "x";
    EXPECT_THROW(write_snapshot(*k, (t.path / "notadir" / "snap").string()), std::runtime_error);
    if (::geteuid() != 0) {
        fs::create_directories(t.path / "ro");
        fs::permissions(t.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
        EXPECT_THROW(write_snapshot(*k, (t.path / "ro" / "snap").string()), std::runtime_error);
        fs::permissions(t.path / "ro", fs::perms::owner_all);
        EXPECT_TRUE(fs::is_empty(t.path / "ro"));
    }
    EXPECT_EQ(t.entries(), (std::vector<std::string>{"notadir"}));
    EXPECT_THROW(write_snapshot(*k, ""), std::runtime_error);
    EXPECT_THROW(write_snapshot(*k, "/"), std::runtime_error);
}

}  // namespace
}  // namespace mmsim
