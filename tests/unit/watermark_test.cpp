// Watermarks, lowmem reserves, min_free_kbytes and pcp sizing against the
// real 6.18 host they were captured on, catalogue case 9, and the kernel's
// formulas over machines from 256 MiB to 1 TiB and over sysctl writes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "machine/machine.h"
#include "mm/mm_init.h"
#include "mm/page_alloc.h"
#include "proc/procfs.h"
#include "proc/sysctl.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;

namespace mmsim {
namespace {

const Zone& zone_of(const Kernel& k, ZoneKind kind, int node = 0) {
    return k.zone(node, static_cast<unsigned>(k.zone_index_of(kind)));
}

TEST(Watermarks, ClonedHostReproducesItsMinFreeKbytesWatermarksAndProtection) {
    test::HostProcTree host;
    auto k = boot_kernel(parse_machine_toml(clone_host_toml(host.proc()), "host.toml"));
    // THP madvise raised min_free_kbytes to 3 zones * 512 * 11 pages.
    EXPECT_EQ(k->vm.min_free_kbytes, 67584);
    struct Want {
        ZoneKind kind;
        uint64_t min, low, high, promo;
        std::vector<long> protection;
        int batch, high_min, high_max, threshold;
    };
    const Want want[] = {
        {ZoneKind::DMA, 64, 80, 96, 112, {0, 3019, 3915, 3915, 3915}, 1, 40, 240, 4},
        {ZoneKind::DMA32, 12979, 16223, 19467, 22711, {0, 0, 896, 896, 896}, 63, 8111, 48307, 24},
        {ZoneKind::Normal, 3851, 4813, 5775, 6737, {0, 0, 0, 0, 0}, 63, 2406, 14336, 16},
        {ZoneKind::Movable, 32, 32, 32, 32, {0, 0, 0, 0, 0}, 0, 0, 0, 0},
    };
    for (const auto& w : want) {
        const Zone& z = zone_of(*k, w.kind);
        SCOPED_TRACE(zone_kind_name(w.kind));
        EXPECT_EQ(z.watermark[WMARK_MIN], w.min);
        EXPECT_EQ(z.watermark[WMARK_LOW], w.low);
        EXPECT_EQ(z.watermark[WMARK_HIGH], w.high);
        EXPECT_EQ(z.watermark[WMARK_PROMO], w.promo);
        for (unsigned i = 0; i < w.protection.size(); i++)
            EXPECT_EQ(z.lowmem_reserve[i], w.protection[i]) << i;
        if (z.populated()) {
            EXPECT_EQ(z.pageset_batch, w.batch);
            EXPECT_EQ(z.pageset_high_min, w.high_min);
            EXPECT_EQ(z.pageset_high_max, w.high_max);
            EXPECT_EQ(z.stat_threshold, w.threshold);
        }
    }
}

TEST(Watermarks, CatalogueCase9EightHundredMiBNormalZoneGetsMin24000KiB) {
    auto k = test::boot_toml(R"(arch = "explicit"
cpus = 2
[[zone]]
node = 0
type = "DMA32"
start_pfn = 4096
spanned = 57344
present = 57344
managed = 57344
[[zone]]
node = 0
type = "Normal"
start_pfn = 1048576
spanned = 204800
present = 204800
managed = 204800
[sysctl]
"vm.min_free_kbytes" = 30720
)");
    const Zone& n = zone_of(*k, ZoneKind::Normal);
    EXPECT_EQ(pages_to_kb(n.watermark[WMARK_MIN]), 24000u);
    EXPECT_EQ(n.watermark[WMARK_MIN], 6000u);
    // low = min + max(min/4, managed * 10 / 10000) = 6000 + 1500.
    EXPECT_EQ(n.watermark[WMARK_LOW], 7500u);
    EXPECT_EQ(n.watermark[WMARK_HIGH], 9000u);
    const Zone& d = zone_of(*k, ZoneKind::DMA32);
    EXPECT_EQ(d.watermark[WMARK_MIN], 1680u);  // 7680 * 224/1024
    EXPECT_EQ(d.watermark[WMARK_LOW], 2100u);
    EXPECT_EQ(d.lowmem_reserve[2], 204800 / 256);
}

// The formulas, written out plainly beside the simulator's code.
struct Expected {
    int min_free_kbytes;
    std::vector<uint64_t> min, low, high;
};

uint64_t isqrt(uint64_t x) {
    uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(x)));
    while (r * r > x) r--;
    while ((r + 1) * (r + 1) <= x) r++;
    return r;
}

Expected expected_marks(const Kernel& k, int min_free_kbytes, int wsf) {
    Expected e;
    e.min_free_kbytes = min_free_kbytes;
    uint64_t lowmem = 0;
    for (const auto& z : k.nodes[0].node_zones)
        if (z.kind != ZoneKind::HighMem && z.kind != ZoneKind::Movable) lowmem += z.managed_pages;
    uint64_t pages_min = static_cast<uint64_t>(min_free_kbytes) / 4;
    for (const auto& z : k.nodes[0].node_zones) {
        uint64_t share = pages_min * z.managed_pages / lowmem;
        uint64_t m = (z.kind == ZoneKind::Movable || z.kind == ZoneKind::HighMem)
                         ? std::clamp<uint64_t>(z.managed_pages / 1024, 32, 128)
                         : share;
        uint64_t gap = std::max(share / 4, z.managed_pages * static_cast<uint64_t>(wsf) / 10000);
        e.min.push_back(m);
        e.low.push_back(m + gap);
        e.high.push_back(m + 2 * gap);
    }
    return e;
}

int default_min_free_kbytes(const Kernel& k) {
    uint64_t lowmem = 0, nzones = 0;
    for (const auto& z : k.nodes[0].node_zones)
        if (z.kind == ZoneKind::DMA || z.kind == ZoneKind::DMA32 || z.kind == ZoneKind::Normal) {
            lowmem += z.managed_pages;
            nzones += z.populated();
        }
    int sqrt_kb = std::clamp<int>(static_cast<int>(isqrt(lowmem * 4 * 16)), 128, 262144);
    // With THP, khugepaged's recommendation, capped at 5% of lowmem above
    // the high watermarks the first computation gave.
    Expected first = expected_marks(k, sqrt_kb, 10);
    uint64_t buffer = 0;
    for (std::size_t i = 0; i < k.nodes[0].node_zones.size(); i++) {
        const Zone& z = k.nodes[0].node_zones[i];
        if (z.kind == ZoneKind::DMA || z.kind == ZoneKind::DMA32 || z.kind == ZoneKind::Normal)
            if (z.managed_pages > first.high[i]) buffer += z.managed_pages - first.high[i];
    }
    uint64_t rec = std::min<uint64_t>(512 * nzones * 11, buffer / 20) * 4;
    return std::max<int>(sqrt_kb, static_cast<int>(rec));
}

void expect_marks(const Kernel& k, const Expected& e) {
    EXPECT_EQ(k.vm.min_free_kbytes, e.min_free_kbytes);
    for (std::size_t i = 0; i < e.min.size(); i++) {
        const Zone& z = k.nodes[0].node_zones[i];
        SCOPED_TRACE(zone_kind_name(z.kind));
        EXPECT_EQ(z.watermark[WMARK_MIN], e.min[i]);
        EXPECT_EQ(z.watermark[WMARK_LOW], e.low[i]);
        EXPECT_EQ(z.watermark[WMARK_HIGH], e.high[i]);
    }
}

TEST(Watermarks, DefaultsFollowTheKernelFormulasFrom256MiBTo1TiB) {
    for (uint64_t gib_quarters : {1ull, 2ull, 4ull, 8ull, 16ull, 64ull, 256ull, 1024ull, 4096ull}) {
        uint64_t ram = gib_quarters << 28;
        SCOPED_TRACE(fmt::format("ram {} MiB", ram >> 20));
        auto k = test::boot_ram(ram, 2);
        expect_marks(*k, expected_marks(*k, default_min_free_kbytes(*k), 10));
    }
}

TEST(Watermarks, WritingTheSysctlsRecomputesEverything) {
    auto k = test::boot_ram(8ull << 30, 2);
    for (int v : {128, 4096, 90112, 262144}) {
        ASSERT_TRUE(sysctl_vm_write(*k, "min_free_kbytes", std::to_string(v)));
        expect_marks(*k, expected_marks(*k, v, 10));
    }
    for (int wsf : {1, 100, 3000}) {
        ASSERT_TRUE(sysctl_vm_write(*k, "watermark_scale_factor", std::to_string(wsf)));
        expect_marks(*k, expected_marks(*k, 262144, wsf));
    }
    ASSERT_TRUE(sysctl_vm_write(*k, "lowmem_reserve_ratio", "128 64 16 0 0"));
    const auto& zs = k->nodes[0].node_zones;
    EXPECT_EQ(zs[0].lowmem_reserve[1], static_cast<long>(zs[1].managed_pages / 128));
    EXPECT_EQ(zs[0].lowmem_reserve[2], static_cast<long>((zs[1].managed_pages + zs[2].managed_pages) / 128));
    EXPECT_EQ(zs[1].lowmem_reserve[2], static_cast<long>(zs[2].managed_pages / 64));
    // A ratio of 0 means no protection at all.
    ASSERT_TRUE(sysctl_vm_write(*k, "lowmem_reserve_ratio", "0 256 32 0 0"));
    EXPECT_EQ(zs[0].lowmem_reserve[2], 0);
    // totalreserve_pages: per zone, the largest protection plus high.
    uint64_t total = 0;
    for (std::size_t i = 0; i < zs.size(); i++) {
        long mx = 0;
        for (std::size_t j = i; j < zs.size(); j++) mx = std::max(mx, zs[i].lowmem_reserve[j]);
        total +=
            std::min<uint64_t>(static_cast<uint64_t>(mx) + zs[i].watermark[WMARK_HIGH], zs[i].managed_pages);
    }
    EXPECT_EQ(k->totalreserve_pages, total);
}

TEST(Watermarks, UserValueBelowTheThpRecommendationStaysAndNeverRestoresTheDefault) {
    auto k = test::boot_ram(8ull << 30, 2);
    int raised = k->vm.min_free_kbytes;
    ASSERT_TRUE(sysctl_vm_write(*k, "min_free_kbytes", "4096"));
    EXPECT_EQ(k->vm.min_free_kbytes, 4096);
    ASSERT_TRUE(proc_write(*k, "/sys/kernel/mm/transparent_hugepage/enabled", "never"));
    // Turning THP off recomputes the sqrt default, which beats the user's
    // smaller value only if it is larger.
    EXPECT_GE(k->vm.min_free_kbytes, 4096);
    EXPECT_LT(k->vm.min_free_kbytes, raised);
}

TEST(Watermarks, PercpuPagelistHighFractionFixesHighMinAndMax) {
    auto k = test::boot_ram(8ull << 30, 2);
    ASSERT_TRUE(sysctl_vm_write(*k, "percpu_pagelist_high_fraction", "8"));
    const Zone& z = zone_of(*k, ZoneKind::Normal);
    int expect = static_cast<int>(z.managed_pages / 8 / 2);
    EXPECT_EQ(z.pageset_high_min, expect);
    EXPECT_EQ(z.pageset_high_max, expect);
    EXPECT_EQ(sysctl_vm_write(*k, "percpu_pagelist_high_fraction", "7").err(), Errno::INVAL);
}

}  // namespace
}  // namespace mmsim
