// The machine description and early boot's memory layout: sizes, the x86
// e820 map and its PCI hole, memblock reservations, zone boundaries of the
// x86-64 and i386 profiles, kernelcore=/movablecore=, NUMA nodes, explicit
// zones (clone-host), and the file:line:col of every kind of bad input.
#include "machine/machine.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "mm/mm_init.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;

namespace mmsim {
namespace {

constexpr uint64_t GiB = 1ull << 30, MiB = 1ull << 20;

struct ZoneNumbers {
    uint64_t start = 0, spanned = 0, present = 0, managed = 0;
};

uint64_t pages_in(const std::vector<PfnRange>& rs, uint64_t s, uint64_t e) {
    uint64_t n = 0;
    for (const auto& r : rs) {
        uint64_t a = std::max(r.start, s), b = std::min(r.end, e);
        if (b > a) n += b - a;
    }
    return n;
}

// A zone as free_area_init() and memblock_free_all() will count it: RAM in
// its span is present, RAM that is not reserved is managed.
ZoneNumbers zone_numbers(const BootLayout& l, int node, ZoneKind kind) {
    auto it = std::find(l.zone_kinds.begin(), l.zone_kinds.end(), kind);
    EXPECT_NE(it, l.zone_kinds.end()) << zone_kind_name(kind);
    if (it == l.zone_kinds.end()) return {};
    const NodeGeom& g = l.nodes.at(node);
    const ZoneGeom& z = g.zones.at(it - l.zone_kinds.begin());
    EXPECT_EQ(z.kind, kind);
    ZoneNumbers n;
    n.start = z.start_pfn;
    n.spanned = z.spanned;
    n.present = pages_in(g.memory, z.start_pfn, z.start_pfn + z.spanned);
    n.managed = n.present - pages_in(g.reserved, z.start_pfn, z.start_pfn + z.spanned);
    return n;
}

void expect_zone(const BootLayout& l, int node, ZoneKind kind, uint64_t start, uint64_t spanned,
                 uint64_t present, uint64_t managed) {
    SCOPED_TRACE(fmt::format("node {} zone {}", node, zone_kind_name(kind)));
    ZoneNumbers n = zone_numbers(l, node, kind);
    EXPECT_EQ(n.start, start);
    EXPECT_EQ(n.spanned, spanned);
    EXPECT_EQ(n.present, present);
    EXPECT_EQ(n.managed, managed);
}

BootLayout layout_of(const std::vector<std::pair<std::string, std::string>>& kv) {
    std::vector<BootArg> args;
    for (const auto& [k, v] : kv) args.push_back({k, v, {"s.mms", 1, 1}});
    return resolve_layout(machine_from_boot_args(args, {"s.mms", 1, 1}));
}

BootLayout ram_layout(uint64_t bytes) { return layout_of({{"ram", std::to_string(bytes)}}); }

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no error)";
}

std::string toml_error(const std::string& text) {
    return error_of([&] { resolve_layout(parse_machine_toml(text, "m.toml")); });
}

bool has_line(const BootLayout& l, const std::string& s) {
    return std::find(l.firmware_log.begin(), l.firmware_log.end(), s) != l.firmware_log.end();
}

// ---------------------------------------------------------------------------
// Sizes

TEST(Machine, SizesParseWithBinaryUnitsLikeMemparse) {
    const std::pair<const char*, uint64_t> good[] = {
        {"4096", 4096},       {"0", 0},         {"4K", 4096},        {"4k", 4096},
        {"4KiB", 4096},       {"4KB", 4096},    {"4kb", 4096},       {"512M", 512 * MiB},
        {"512MB", 512 * MiB}, {"8G", 8 * GiB},  {"8g", 8 * GiB},     {"1T", 1ull << 40},
        {"1P", 1ull << 50},   {"0x1000", 4096}, {"0x10M", 16 * MiB}, {"100b", 100},
        {"15E", 15ull << 60},
    };
    for (const auto& [text, bytes] : good) {
        auto v = parse_size(text);
        ASSERT_TRUE(v.has_value()) << text;
        EXPECT_EQ(*v, bytes) << text;
    }
    for (const char* bad : {"", "8Q", "1.5G", "G", "-1", "8 G", " 8G", "8GG", "0x", "16E",
                            "18446744073709551616", "4Kb2", "MiB"})
        EXPECT_FALSE(parse_size(bad).has_value()) << "'" << bad << "'";
}

TEST(Machine, FormatSizePicksTheLargestUnitThatDivides) {
    EXPECT_EQ(format_size(8 * GiB), "8G");
    EXPECT_EQ(format_size(1536 * MiB), "1536M");
    EXPECT_EQ(format_size(4096), "4K");
    EXPECT_EQ(format_size(1536), "1536");
    EXPECT_EQ(format_size(0), "0");
    EXPECT_EQ(format_size(1ull << 40), "1T");
    for (uint64_t v : std::vector<uint64_t>{4096, 3 * GiB, 1536, 123456789ull << 12})
        EXPECT_EQ(parse_size(format_size(v)), v);
}

TEST(Machine, ProfilesListTheirZoneTypesInIndexOrder) {
    using K = ZoneKind;
    EXPECT_EQ(profile_zone_kinds(ArchProfile::X86_64),
              (std::vector<K>{K::DMA, K::DMA32, K::Normal, K::Movable, K::Device}));
    EXPECT_EQ(profile_zone_kinds(ArchProfile::I386),
              (std::vector<K>{K::DMA, K::Normal, K::HighMem, K::Movable}));
}

// ---------------------------------------------------------------------------
// x86-64 layouts

TEST(Machine, X86_64With256MiBHasDmaAndDma32AndNoNormal) {
    BootLayout l = ram_layout(256 * MiB);
    // Page 0 belongs to the BIOS and 640K-1M is never RAM.
    ASSERT_EQ(l.nodes.size(), 1u);
    ASSERT_GE(l.nodes[0].memory.size(), 2u);
    EXPECT_EQ(l.nodes[0].memory[0].start, 1u);
    EXPECT_EQ(l.nodes[0].memory[0].end, 159u);
    EXPECT_EQ(l.nodes[0].memory[1].start, 256u);
    // DMA: the first MiB is reserved (reserve_real_mode), the rest managed:
    // exactly the real host's 4095 / 3998 / 3840.
    expect_zone(l, 0, ZoneKind::DMA, 1, 4095, 3998, 3840);
    // DMA32: the kernel image (32M at 16M) and 2 sections of memmap.
    expect_zone(l, 0, ZoneKind::DMA32, 4096, 65536 - 4096, 61440, 61440 - 8192 - 1024);
    expect_zone(l, 0, ZoneKind::Normal, 0, 0, 0, 0);
    expect_zone(l, 0, ZoneKind::Movable, 0, 0, 0, 0);
    expect_zone(l, 0, ZoneKind::Device, 0, 0, 0, 0);
    EXPECT_EQ(l.nodes[0].memmap_pages, 1024u);
    // The memmap comes from the top of the node (memblock is top-down).
    EXPECT_EQ(l.nodes[0].reserved.back().start, 65536u - 1024);
    EXPECT_EQ(l.nodes[0].reserved.back().end, 65536u);
}

TEST(Machine, X86_64With2GiBHasNoPciHole) {
    BootLayout l = ram_layout(2 * GiB);
    expect_zone(l, 0, ZoneKind::DMA, 1, 4095, 3998, 3840);
    // 16 sections of memmap: 8192 pages.
    expect_zone(l, 0, ZoneKind::DMA32, 4096, 524288 - 4096, 520192, 520192 - 8192 - 8192);
    expect_zone(l, 0, ZoneKind::Normal, 0, 0, 0, 0);
    EXPECT_TRUE(has_line(l, "BIOS-e820: [mem 0x0000000000100000-0x000000007fffffff] usable"));
}

TEST(Machine, X86_64With8GiBMovesTheRamAbove3GiBPastThePciHole) {
    BootLayout l = ram_layout(8 * GiB);
    // DMA32 spans up to 4 GiB, but RAM stops at 3 GiB: a 1 GiB hole.
    expect_zone(l, 0, ZoneKind::DMA32, 4096, 1044480, 782336, 782336 - 8192);
    ZoneNumbers d32 = zone_numbers(l, 0, ZoneKind::DMA32);
    EXPECT_EQ(d32.spanned - d32.present, 262144u);
    // The other 5 GiB start at 4 GiB; the memmap (64 sections) tops Normal.
    expect_zone(l, 0, ZoneKind::Normal, 1048576, 1310720, 1310720, 1310720 - 32768);
    EXPECT_EQ(l.nodes[0].memmap_pages, 32768u);
    EXPECT_TRUE(has_line(l, "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"));
    EXPECT_TRUE(has_line(l, "BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable"));
    EXPECT_TRUE(has_line(l, "BIOS-e820: [mem 0x0000000100000000-0x000000023fffffff] usable"));
}

TEST(Machine, X86_64With64GiB) {
    BootLayout l = ram_layout(64 * GiB);
    expect_zone(l, 0, ZoneKind::DMA, 1, 4095, 3998, 3840);
    expect_zone(l, 0, ZoneKind::DMA32, 4096, 1044480, 782336, 782336 - 8192);
    // 61 GiB above 4 GiB; 24 + 488 sections of memmap.
    expect_zone(l, 0, ZoneKind::Normal, 1048576, 15990784, 15990784, 15990784 - 262144);
    EXPECT_EQ(l.nodes[0].memmap_pages, 262144u);
}

TEST(Machine, BootedZonesMatchTheLayout) {
    auto k = test::boot_ram(8 * GiB, 2);
    BootLayout l = ram_layout(8 * GiB);
    for (unsigned i = 0; i < k->nr_zone_types(); i++) {
        const Zone& z = k->zone(0, i);
        ZoneNumbers n = zone_numbers(l, 0, z.kind);
        SCOPED_TRACE(zone_kind_name(z.kind));
        EXPECT_EQ(z.zone_start_pfn.value, n.start);
        EXPECT_EQ(z.spanned_pages, n.spanned);
        EXPECT_EQ(z.present_pages, n.present);
        EXPECT_EQ(z.managed_pages, n.managed);
    }
    EXPECT_EQ(k->memmap_stat[NR_MEMMAP_BOOT_PAGES], 32768);
}

TEST(Machine, ASmallMachineRelocatesTheKernelImageAndATinyOneCannotBoot) {
    // 40 MiB: 16M + 32M does not fit, so the image goes to the first 2 MiB
    // boundary above 1 MiB where it does.
    BootLayout l = ram_layout(40 * MiB);
    const auto& res = l.nodes[0].reserved;
    EXPECT_TRUE(std::any_of(res.begin(), res.end(),
                            [](const PfnRange& r) { return r.start <= 512 && r.end >= 8704; }));
    std::string e = error_of([] { ram_layout(32 * MiB); });
    EXPECT_NE(e.find("s.mms:1:1: error: the kernel image (32M) does not fit in 32M of RAM"),
              std::string::npos)
        << e;
}

TEST(Machine, HolesRemoveRamAndReservedRangesRemoveManagedPages) {
    MachineDesc d = parse_machine_toml(R"(arch = "x86_64"
[[node]]
memory = "8G"
[[hole]]
start = "1G"
size = "512M"
[[reserved]]
name = "crashkernel"
start = "2G"
size = "256M"
)",
                                       "m.toml");
    BootLayout l = resolve_layout(d);
    expect_zone(l, 0, ZoneKind::DMA32, 4096, 1044480, 782336 - 131072, 782336 - 131072 - 8192 - 65536);
    EXPECT_TRUE(has_line(l, "BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable"));
    EXPECT_TRUE(has_line(l, "BIOS-e820: [mem 0x0000000060000000-0x00000000bfffffff] usable"));
}

// ---------------------------------------------------------------------------
// i386

TEST(Machine, I386With2GiBSplitsLowmemAt896MiB) {
    BootLayout l = layout_of({{"ram", "2G"}, {"arch", "i386"}});
    using K = ZoneKind;
    EXPECT_EQ(l.zone_kinds, (std::vector<K>{K::DMA, K::Normal, K::HighMem, K::Movable}));
    expect_zone(l, 0, K::DMA, 1, 4095, 3998, 3840);
    // FLATMEM: 524288 descriptors of 32 bytes = 4096 pages, in lowmem.
    EXPECT_EQ(l.nodes[0].memmap_pages, 4096u);
    expect_zone(l, 0, K::Normal, 4096, 225280, 225280, 225280 - 8192 - 4096);
    expect_zone(l, 0, K::HighMem, 229376, 294912, 294912, 294912);
    expect_zone(l, 0, K::Movable, 0, 0, 0, 0);

    std::vector<BootArg> args{{"ram", "2G", {}}, {"arch", "i386", {}}, {"thp", "never", {}}};
    auto k = boot_kernel(machine_from_boot_args(args, {"s.mms", 1, 1}));
    EXPECT_EQ(k->zone(0, static_cast<unsigned>(k->zone_index_of(K::HighMem))).managed_pages, 294912u);
}

TEST(Machine, I386RefusesWhatPaeCannotAddress) {
    EXPECT_NE(error_of([] {
                  layout_of({{"ram", "80G"}, {"arch", "i386"}});
              }).find("i386"),
              std::string::npos);
    EXPECT_NE(error_of([] {
                  layout_of({{"ram", "8G"}, {"arch", "i386"}, {"nodes", "2"}});
              }).find("single node"),
              std::string::npos);
}

// ---------------------------------------------------------------------------
// kernelcore= and movablecore=

TEST(Machine, KernelcoreBelowTheLowZonesMakesAllOfNormalMovable) {
    // 2G of kernelcore is already met by the 3 GiB below 4 GiB, which can
    // never be movable; ZONE_MOVABLE starts where Normal would have.
    BootLayout l = layout_of({{"ram", "8G"}, {"kernelcore", "2G"}});
    expect_zone(l, 0, ZoneKind::Normal, 0, 0, 0, 0);
    expect_zone(l, 0, ZoneKind::Movable, 1048576, 1310720, 1310720, 1310720 - 32768);
}

TEST(Machine, KernelcoreKeepsThatMuchInKernelZonesRoundedToMaxOrder) {
    BootLayout l = layout_of({{"ram", "8G"}, {"kernelcore", "4G"}});
    // 1048576 pages of kernelcore: 786334 below 4 GiB, 262242 in Normal,
    // ending at pfn 1310818, rounded up to 1024 pages: 1311744.
    expect_zone(l, 0, ZoneKind::Normal, 1048576, 263168, 263168, 263168);
    expect_zone(l, 0, ZoneKind::Movable, 1311744, 1047552, 1047552, 1047552 - 32768);
    EXPECT_TRUE(has_line(l, "  Node 0: 0x0000000140400000"));
}

TEST(Machine, MovablecoreTakesAtLeastThatMuchFromTheTop) {
    BootLayout l = layout_of({{"ram", "8G"}, {"movablecore", "2G"}});
    ZoneNumbers m = zone_numbers(l, 0, ZoneKind::Movable);
    EXPECT_EQ(m.start, 1835008u);
    EXPECT_EQ(m.spanned, 524288u);  // exactly 2 GiB: the node ends on a 4 MiB boundary
    EXPECT_EQ(m.start % MAX_ORDER_NR_PAGES, 0u);
    expect_zone(l, 0, ZoneKind::Normal, 1048576, 786432, 786432, 786432);
}

TEST(Machine, KernelcorePercentAndBothOptionsTakeTheLargerKernelcore) {
    // 158 + 786176 + 1310720 = 2097054 pages; 50% of them, 1048527, is
    // kernelcore, of which 786334 lie below 4 GiB.
    BootLayout a = layout_of({{"ram", "8G"}, {"kernelcore", "50%"}});
    EXPECT_EQ(zone_numbers(a, 0, ZoneKind::Movable).start,
              (1048576u + 1048527 - 786334 + 1023) / 1024 * 1024);
    // movablecore=6G would leave less kernelcore than kernelcore=4G asks.
    BootLayout b = layout_of({{"ram", "8G"}, {"kernelcore", "4G"}, {"movablecore", "6G"}});
    EXPECT_EQ(zone_numbers(b, 0, ZoneKind::Movable).start, 1311744u);
    // Nothing movable when kernelcore covers all memory.
    BootLayout c = layout_of({{"ram", "8G"}, {"kernelcore", "16G"}});
    EXPECT_EQ(zone_numbers(c, 0, ZoneKind::Movable).spanned, 0u);
}

TEST(Machine, SmallMachinesCarveMovableFromDma32) {
    // Without Normal, the highest populated zone gives its top to Movable.
    BootLayout l = layout_of({{"ram", "2G"}, {"movablecore", "1G"}});
    ZoneNumbers d32 = zone_numbers(l, 0, ZoneKind::DMA32), m = zone_numbers(l, 0, ZoneKind::Movable);
    EXPECT_EQ(m.spanned, 262144u);
    EXPECT_EQ(d32.start + d32.spanned, m.start);
    EXPECT_EQ(m.start + m.spanned, 524288u);
}

TEST(Machine, BootedMovableZoneIsPopulated) {
    std::vector<BootArg> args{{"ram", "8G", {}}, {"kernelcore", "4G", {}}, {"cpus", "2", {}}};
    auto k = boot_kernel(machine_from_boot_args(args, {"s.mms", 1, 1}));
    const Zone& m = k->zone(0, static_cast<unsigned>(k->zone_index_of(ZoneKind::Movable)));
    EXPECT_EQ(m.present_pages, 1047552u);
    EXPECT_EQ(m.managed_pages, 1047552u - 32768);
}

// ---------------------------------------------------------------------------
// NUMA

TEST(Machine, TwoNodesTakeRamInAddressOrder) {
    BootLayout l = layout_of({{"ram", "8G"}, {"nodes", "2"}, {"cpus", "4"}});
    ASSERT_EQ(l.nodes.size(), 2u);
    // Node 0: the first 4 GiB of RAM, 3 below the hole and 1 above it.
    expect_zone(l, 0, ZoneKind::DMA, 1, 4095, 3998, 3840);
    expect_zone(l, 0, ZoneKind::DMA32, 4096, 1044480, 782336, 782336 - 8192);
    expect_zone(l, 0, ZoneKind::Normal, 1048576, 262144, 262144, 262144 - 16384);
    // Node 1: the next 4 GiB, all Normal, with its own memmap.
    expect_zone(l, 1, ZoneKind::DMA, 0, 0, 0, 0);
    expect_zone(l, 1, ZoneKind::DMA32, 0, 0, 0, 0);
    expect_zone(l, 1, ZoneKind::Normal, 1310720, 1048576, 1048576, 1048576 - 16384);
    EXPECT_EQ(l.nodes[0].memmap_pages, 16384u);
    EXPECT_EQ(l.nodes[1].memmap_pages, 16384u);
    EXPECT_EQ(l.nodes[0].cpus, (std::vector<int>{0, 1}));
    EXPECT_EQ(l.nodes[1].cpus, (std::vector<int>{2, 3}));
}

TEST(Machine, CpusAreSpreadEvenlyUnlessListed) {
    BootLayout a = layout_of({{"ram", "8G"}, {"nodes", "2"}, {"cpus", "3"}});
    EXPECT_EQ(a.nodes[0].cpus, (std::vector<int>{0, 1}));
    EXPECT_EQ(a.nodes[1].cpus, (std::vector<int>{2}));
    BootLayout b = resolve_layout(parse_machine_toml(R"(cpus = 4
[[node]]
memory = "2G"
cpus = [1, 3]
[[node]]
memory = "2G"
)",
                                                     "m.toml"));
    EXPECT_EQ(b.nodes[0].cpus, (std::vector<int>{1, 3}));
    EXPECT_EQ(b.nodes[1].cpus, (std::vector<int>{0, 2}));
}

TEST(Machine, KernelcoreIsSpreadOverNodes) {
    // find_zone_movable_pfns_for_nodes(): 2 GiB of kernelcore per node;
    // node 0 meets it below 4 GiB, so a second pass gives node 0 half of
    // what node 1 could not use, then rounds both up to 4 MiB.
    BootLayout l = layout_of({{"ram", "8G"}, {"nodes", "2"}, {"kernelcore", "4G"}});
    EXPECT_EQ(zone_numbers(l, 0, ZoneKind::Movable).start, 1180672u);
    EXPECT_EQ(zone_numbers(l, 1, ZoneKind::Movable).start, 1442816u);
    EXPECT_EQ(zone_numbers(l, 0, ZoneKind::Normal).spanned, 1180672u - 1048576);
    EXPECT_EQ(zone_numbers(l, 1, ZoneKind::Normal).spanned, 1442816u - 1310720);
}

TEST(Machine, TwoNodesBoot) {
    auto k = test::boot_toml(R"(cpus = 2
[boot]
thp = "never"
[[node]]
memory = "1G"
[[node]]
memory = "1G"
)");
    ASSERT_EQ(k->nodes.size(), 2u);
    EXPECT_EQ(k->nodes[1].cpus, (std::vector<int>{1}));
    EXPECT_EQ(k->cpus[1].node, 1);
    EXPECT_GT(k->zone(1, static_cast<unsigned>(k->zone_index_of(ZoneKind::DMA32))).managed_pages, 0u);
}

// ---------------------------------------------------------------------------
// Explicit zones

const char* kHostZones = R"(arch = "explicit"
cpus = 2
[[node]]
memmap_pages = 98304
[[zone]]
type = "DMA"
start_pfn = 1
spanned = 4095
present = 3998
managed = 3840
[[zone]]
type = "DMA32"
start_pfn = 4096
spanned = 1044480
present = 782336
managed = 772918
[[zone]]
type = "Normal"
start_pfn = 1048576
spanned = 5505024
present = 5505024
managed = 229376
)";

TEST(Machine, ExplicitZonesRebuildTheHostsE820Map) {
    BootLayout l = resolve_layout(parse_machine_toml(kHostZones, "host.toml"));
    // The DMA hole lands on the BIOS window, the DMA32 one on the PCI hole:
    // the real host's memblock.memory.
    const auto& m = l.nodes[0].memory;
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].start, 1u);
    EXPECT_EQ(m[0].end, 159u);
    EXPECT_EQ(m[1].start, 256u);
    EXPECT_EQ(m[1].end, 786432u);
    EXPECT_EQ(m[2].start, 1048576u);
    EXPECT_EQ(m[2].end, 6553600u);
    // Reserved: the first (present - managed) RAM pages of each zone.
    EXPECT_EQ(l.nodes[0].reserved[0].start, 1u);
    EXPECT_EQ(l.nodes[0].reserved[0].end, 159u);
    EXPECT_EQ(l.nodes[0].memmap_pages, 98304u);
}

TEST(Machine, ExplicitZonesBootWithExactlyTheirNumbers) {
    auto k = test::boot_toml(kHostZones);
    const std::tuple<ZoneKind, uint64_t, uint64_t, uint64_t, uint64_t> want[] = {
        {ZoneKind::DMA, 1, 4095, 3998, 3840},
        {ZoneKind::DMA32, 4096, 1044480, 782336, 772918},
        {ZoneKind::Normal, 1048576, 5505024, 5505024, 229376},
        {ZoneKind::Movable, 0, 0, 0, 0},
        {ZoneKind::Device, 0, 0, 0, 0},
    };
    for (const auto& [kind, start, spanned, present, managed] : want) {
        const Zone& z = k->zone(0, static_cast<unsigned>(k->zone_index_of(kind)));
        SCOPED_TRACE(zone_kind_name(kind));
        EXPECT_EQ(z.zone_start_pfn.value, start);
        EXPECT_EQ(z.spanned_pages, spanned);
        EXPECT_EQ(z.present_pages, present);
        EXPECT_EQ(z.managed_pages, managed);
    }
    EXPECT_EQ(k->memmap_stat[NR_MEMMAP_BOOT_PAGES], 98304);
}

TEST(Machine, ExplicitHolesOfHigherZonesGoAtTheEnd) {
    BootLayout l = resolve_layout(parse_machine_toml(R"(arch = "explicit"
[[zone]]
type = "Normal"
start_pfn = 65536
spanned = 1000
present = 900
managed = 800
)",
                                                     "m.toml"));
    ASSERT_EQ(l.nodes[0].memory.size(), 1u);
    EXPECT_EQ(l.nodes[0].memory[0].start, 65536u);
    EXPECT_EQ(l.nodes[0].memory[0].end, 66436u);
    EXPECT_EQ(l.nodes[0].reserved[0].end, 65636u);
    expect_zone(l, 0, ZoneKind::Normal, 65536, 1000, 900, 800);
    EXPECT_EQ(l.nodes[0].memmap_pages, 100u);  // a section's 512, capped at what is reserved
}

TEST(Machine, ExplicitHighMemSelectsTheI386Zones) {
    BootLayout l = resolve_layout(parse_machine_toml(R"(arch = "explicit"
[[zone]]
type = "Normal"
start_pfn = 4096
spanned = 4096
[[zone]]
type = "HighMem"
start_pfn = 229376
spanned = 4096
)",
                                                     "m.toml"));
    EXPECT_EQ(l.zone_kinds, profile_zone_kinds(ArchProfile::I386));
    expect_zone(l, 0, ZoneKind::HighMem, 229376, 4096, 4096, 4096);
}

// ---------------------------------------------------------------------------
// Machine files: what is kept, and where errors are reported

TEST(Machine, TomlKeepsCpusThpSeedAndSysctlsInFileOrderWithLocations) {
    MachineDesc d = parse_machine_toml(R"(arch = "x86_64"
cpus = 4
seed = 42
[[node]]
memory = "2G"
cpus = [0, 1]
[[node]]
memory = 2147483648
cpus = [2, 3]
[boot]
kernel_image = "16M"
reserve_memmap = false
movablecore = "25%"
thp = "always"
[sysctl]
"vm.swappiness" = 10
vm.dirty_ratio = 5
"vm.lowmem_reserve_ratio" = [128, 128, 16, 0, 0]
"vm.numa_zonelist_order" = "Node"
)",
                                       "m.toml");
    EXPECT_EQ(d.nr_cpus, 4u);
    EXPECT_EQ(d.seed, 42u);
    ASSERT_EQ(d.nodes.size(), 2u);
    EXPECT_EQ(d.nodes[1].memory_bytes, 2 * GiB);
    EXPECT_EQ(d.nodes[1].cpus, (std::vector<int>{2, 3}));
    EXPECT_EQ(d.kernel_image_bytes, 16 * MiB);
    EXPECT_FALSE(d.reserve_memmap);
    EXPECT_EQ(d.movablecore_percent, 25u);
    EXPECT_EQ(d.thp_enabled, "always");
    ASSERT_EQ(d.sysctls.size(), 4u);
    EXPECT_EQ(d.sysctls[0].key, "vm.swappiness");
    EXPECT_EQ(d.sysctls[0].value, "10");
    EXPECT_EQ(d.sysctls[0].loc.str(), "m.toml:16:1");
    EXPECT_EQ(d.sysctls[1].key, "vm.dirty_ratio");
    EXPECT_EQ(d.sysctls[1].loc.str(), "m.toml:17:1");
    EXPECT_EQ(d.sysctls[2].value, "128 128 16 0 0");
    EXPECT_EQ(d.sysctls[3].value, "Node");
    BootLayout l = resolve_layout(d);
    EXPECT_EQ(l.nodes[0].memmap_pages, 0u);
}

TEST(Machine, TomlErrorsNameLineColumnAndWhatWasExpected) {
    const std::pair<const char*, const char*> cases[] = {
        {"arch = \"x86_64\"\n[[node]]\nmemroy = \"8G\"\n",
         "m.toml:3:1: error: unknown key 'memroy' in [[node]], did you mean memory?"},
        {"cpus = \"two\"\n", "m.toml:1:8: error: cpus: expected an integer from 1 to 8192, got 'two'"},
        {"cpus = 0\n[[node]]\nmemory = \"1G\"\n",
         "m.toml:1:8: error: cpus: expected an integer from 1 to 8192, got 0"},
        {"[[node]]\nmemory = \"8Q\"\n",
         "m.toml:2:10: error: memory: expected a size like \"512M\" or \"8G\" (or a number of bytes), got "
         "'8Q'"},
        {"[[node]]\nmemory = 0\n", "m.toml:2:10: error: memory: a node needs at least 4K of memory, got 0"},
        {"[[node]]\nmemory = true\n", "m.toml:2:10: error: memory: expected a size"},
        {"arch = \"arm64\"\n",
         "m.toml:1:8: error: arch: expected \"x86_64\", \"i386\" or \"explicit\", got 'arm64'"},
        {"arch = \n", "m.toml:1:8: error: invalid TOML: "},
        {"arch = \"x86_64\"\n", "m.toml:1:1: error: the machine has no memory: add a [[node]]"},
        {"[boot]\nthp = \"sometimes\"\n[[node]]\nmemory = \"1G\"\n",
         "m.toml:2:7: error: thp: expected always, madvise or never, got 'sometimes'"},
        {"[boot]\nkernelcore = \"lots\"\n[[node]]\nmemory = \"1G\"\n",
         "m.toml:2:14: error: kernelcore: expected a size like 4G or a percentage like 50%, got 'lots'"},
        {"[[node]]\nmemory = \"1G\"\n[sysctl]\nswappiness = 10\n",
         "m.toml:4:1: error: sysctl: expected a key like \"vm.swappiness\", got 'swappiness' (did you mean "
         "vm.swappiness?)"},
        {"[[node]]\nmemory = \"1G\"\ncpus = [0, 1]\n[[node]]\nmemory = \"1G\"\ncpus = [1]\n",
         "m.toml:6:9: error: cpus: cpu 1 is listed twice"},
        {"cpus = 2\n[[node]]\nmemory = \"1G\"\ncpus = [0, 2]\n",
         "m.toml:4:12: error: cpus: cpu 2 does not exist: cpus = 2 gives CPUs 0..1"},
        {"[[node]]\nmemory = \"1G\"\n[[zone]]\ntype = \"Normal\"\nstart_pfn = 0\nspanned = 10\n",
         "m.toml:3:1: error: [[zone]] needs arch = \"explicit\""},
        {"arch = \"explicit\"\n[boot]\nkernelcore = \"1G\"\n",
         "m.toml:3:1: error: kernelcore does not apply to arch = \"explicit\""},
        {"arch = \"explicit\"\n", "m.toml:1:1: error: an arch = \"explicit\" machine needs [[zone]] entries"},
        {"arch = \"explicit\"\n[[zone]]\ntype = \"Normall\"\nstart_pfn = 0\nspanned = 10\n",
         "m.toml:3:8: error: type: expected a zone type (DMA, DMA32, Normal, HighMem, Movable, Device), got "
         "'Normall' (did you mean Normal?)"},
        {"arch = \"explicit\"\n[[zone]]\ntype = \"Normal\"\nstart_pfn = 0\nspanned = 10\npresent = 11\n",
         "m.toml:6:11: error: present: 11 is more than spanned (10)"},
        {"arch = \"explicit\"\n[[zone]]\ntype = \"Normal\"\nstart_pfn = 0\nspanned = 10\nmanaged = 11\n",
         "m.toml:6:11: error: managed: 11 is more than present (10)"},
        {"arch = \"explicit\"\n[[zone]]\ntype = \"Normal\"\nstart_pfn = 65536\nspanned = 4096\n\n"
         "[[zone]]\ntype = \"Movable\"\nstart_pfn = 67584\nspanned = 4096\n",
         "m.toml:7:1: error: zone Movable of node 0 [pfn 0x10800-0x11800) overlaps zone Normal of node 0 "
         "[pfn "
         "0x10000-0x11000) at m.toml:2:1"},
        {"arch = \"explicit\"\n[[zone]]\ntype = \"Normal\"\nstart_pfn = 65536\nspanned = 4096\n"
         "[[zone]]\ntype = \"DMA32\"\nstart_pfn = 131072\nspanned = 4096\n",
         "m.toml:6:1: error: zone DMA32 of node 0 must lie below zone Normal of node 0"},
        {"arch = \"explicit\"\n[[zone]]\ntype = \"Device\"\nstart_pfn = 65536\nspanned = 4096\n",
         "m.toml:2:1: error: zone Device of node 0: ZONE_DEVICE never has boot memory"},
        {"arch = \"explicit\"\n[[node]]\n[[zone]]\nnode = 1\ntype = \"Normal\"\nstart_pfn = 0\nspanned = "
         "10\n",
         "m.toml:3:1: error: zone Normal of node 1: the machine has 1 [[node]] entries"},
        {"node = 3\n", "m.toml:1:8: error: node: expected an array of tables ([[node]]), got 3"},
        {"[[node]]\nmemory = \"32M\"\n",
         "m.toml:1:1: error: the kernel image (32M) does not fit in 32M of RAM"},
        {"[[node]]\nmemory = \"1G\"\n[[hole]]\nstart = \"0\"\nsize = \"2G\"\n",
         "m.toml:1:1: error: node 0 has no RAM left"},
    };
    for (const auto& [text, want] : cases) {
        std::string got = toml_error(text);
        EXPECT_EQ(got.compare(0, std::string(want).size(), want), 0) << "input:\n" << text << "got:  " << got;
    }
}

TEST(Machine, TlbTableSetsTheSizesOfEveryCpusTlb) {
    BootLayout l = resolve_layout(parse_machine_toml(
        "cpus = 2\n[[node]]\nmemory = \"1G\"\n[tlb]\nl1_entries = 32\nl1_ways = 8\nl2_entries = 2048\n"
        "l2_ways = 16\npcid = false\n",
        "m.toml"));
    EXPECT_EQ(l.tlb.l1_entries, 32u);
    EXPECT_EQ(l.tlb.l1_ways, 8u);
    EXPECT_EQ(l.tlb.l2_entries, 2048u);
    EXPECT_EQ(l.tlb.l2_ways, 16u);
    EXPECT_FALSE(l.tlb.pcid);
    // Without [tlb]: Skylake's 64-entry 4-way L1 dTLB and 1536-entry 12-way STLB.
    BootLayout d = resolve_layout(parse_machine_toml("[[node]]\nmemory = \"1G\"\n", "m.toml"));
    EXPECT_EQ(d.tlb.l1_entries, 64u);
    EXPECT_EQ(d.tlb.l1_ways, 4u);
    EXPECT_EQ(d.tlb.l2_entries, 1536u);
    EXPECT_EQ(d.tlb.l2_ways, 12u);
    EXPECT_TRUE(d.tlb.pcid);
}

TEST(Machine, TlbTableErrorsNameLineColumnAndWhatWasExpected) {
    const std::string node = "[[node]]\nmemory = \"1G\"\n";
    const std::pair<std::string, const char*> cases[] = {
        {"[tlb]\nl1_ways = 0\n", "m.toml:2:11: error: l1_ways: expected an integer from 1 to 64, got 0"},
        {"[tlb]\nl2_ways = 65\n", "m.toml:2:11: error: l2_ways: expected an integer from 1 to 64, got 65"},
        {"[tlb]\nl1_entries = \"64\"\n",
         "m.toml:2:14: error: l1_entries: expected an integer from 1 to 1048576, got '64'"},
        {"[tlb]\nl1_entries = 66\n",
         "m.toml:2:14: error: l1_entries: expected a positive multiple of l1_ways (4), got 66"},
        {"[tlb]\nl2_ways = 5\n",
         "m.toml:2:11: error: l2_entries: expected a positive multiple of l2_ways (5), got 1536"},
        {"[tlb]\nl2_entries = 1200\n",
         "m.toml:2:14: error: l2_entries: 1200 entries of 12 ways make 100 sets; expected a power of two "
         "number of sets (for example 768 or 1536 entries)"},
        {"[tlb]\nl1_way = 4\n",
         "m.toml:2:1: error: unknown key 'l1_way' in [tlb], did you mean l1_ways? (expected one of: "
         "l1_entries, l1_ways, l2_entries, l2_ways, pcid)"},
        {"[tlb]\npcid = 1\n", "m.toml:2:8: error: pcid: expected true or false, got 1"},
        {"tlb = 3\n", "m.toml:1:7: error: tlb: expected a table ([tlb]), got 3"},
    };
    for (const auto& [text, want] : cases) {
        std::string got = toml_error(text + node);
        EXPECT_EQ(got, want) << "input:\n" << text;
    }
}

TEST(Machine, MissingMachineFileIsReportedAtLineOne) {
    std::string e = error_of([] { load_machine_file("/nonexistent/x.toml"); });
    EXPECT_EQ(e, "/nonexistent/x.toml:1:1: error: cannot open machine file: No such file or directory");
}

TEST(Machine, ExampleMachineFilesBoot) {
    fs::path dir = fs::path(MMSIM_SOURCE_ROOT) / "examples" / "machines";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".toml") continue;
        SCOPED_TRACE(e.path().string());
        auto k = boot_kernel(load_machine_file(e.path().string()));
        EXPECT_GT(k->totalram_pages, 0u);
        n++;
    }
    EXPECT_GE(n, 3);
}

// ---------------------------------------------------------------------------
// The boot line

TEST(Machine, BootLineBuildsTheDescription) {
    std::vector<BootArg> args{{"ram", "8G", {"s.mms", 2, 6}},
                              {"cpus", "4", {"s.mms", 2, 13}},
                              {"nodes", "2", {"s.mms", 2, 20}},
                              {"thp", "always", {"s.mms", 2, 28}},
                              {"vm.swappiness", "10", {"s.mms", 2, 39}},
                              {"seed", "7", {"s.mms", 2, 56}}};
    MachineDesc d = machine_from_boot_args(args, {"s.mms", 2, 1});
    EXPECT_EQ(d.arch, ArchProfile::X86_64);
    EXPECT_EQ(d.nr_cpus, 4u);
    ASSERT_EQ(d.nodes.size(), 2u);
    EXPECT_EQ(d.nodes[0].memory_bytes + d.nodes[1].memory_bytes, 8 * GiB);
    EXPECT_EQ(d.thp_enabled, "always");
    EXPECT_EQ(d.seed, 7u);
    ASSERT_EQ(d.sysctls.size(), 1u);
    EXPECT_EQ(d.sysctls[0].key, "vm.swappiness");
    EXPECT_EQ(d.sysctls[0].loc.str(), "s.mms:2:39");
    EXPECT_TRUE(machine_boot_key_known("kernelcore"));
    EXPECT_TRUE(machine_boot_key_known("vm.dirty_ratio"));
    EXPECT_TRUE(machine_boot_key_known("swap"));
    EXPECT_FALSE(machine_boot_key_known("disk"));
}

TEST(Machine, BootLineErrorsPointAtTheArgument) {
    auto err = [](std::vector<BootArg> args) {
        return error_of([&] { machine_from_boot_args(args, {"s.mms", 3, 1}); });
    };
    EXPECT_EQ(err({{"ram", "8Q", {"s.mms", 3, 6}}}),
              "s.mms:3:6: error: ram: expected a size like 512M or 8G, got '8Q'");
    EXPECT_EQ(err({{"rma", "8G", {"s.mms", 3, 6}}}),
              "s.mms:3:6: error: unknown boot option 'rma' (did you mean ram?)");
    EXPECT_EQ(err({{"cpus", "2", {"s.mms", 3, 6}}}),
              "s.mms:3:1: error: boot: ram= is required (for example: boot ram=8G cpus=2)");
    EXPECT_EQ(err({{"ram", "8G", {"s.mms", 3, 6}}, {"ram", "4G", {"s.mms", 3, 13}}}),
              "s.mms:3:13: error: boot option 'ram' is given twice (first at s.mms:3:6)");
    EXPECT_EQ(err({{"ram", "8G", {"s.mms", 3, 6}}, {"cpus", "0", {"s.mms", 3, 13}}}),
              "s.mms:3:13: error: cpus: expected a number of CPUs from 1 to 8192, got '0'");
    EXPECT_EQ(err({{"ram", "8M", {"s.mms", 3, 6}}, {"nodes", "4", {"s.mms", 3, 13}}}),
              "s.mms:3:13: error: nodes: ram=8M is too small for 4 nodes (each needs at least 4M)");
    EXPECT_EQ(err({{"ram", "8G", {"s.mms", 3, 6}}, {"arch", "explicit", {"s.mms", 3, 13}}}),
              "s.mms:3:13: error: arch: expected x86_64 or i386, got 'explicit'");
    EXPECT_EQ(
        err({{"ram", "8G", {"s.mms", 3, 6}}, {"kernelcore", "150%", {"s.mms", 3, 13}}}),
        "s.mms:3:13: error: kernelcore: expected a size like 4G or a percentage from 0% to 100%, got '150%'");
    EXPECT_EQ(err({{"ram", "8G", {"s.mms", 3, 6}}, {"thp", "yes", {"s.mms", 3, 13}}}),
              "s.mms:3:13: error: thp: expected always, madvise or never, got 'yes'");
}

// ---------------------------------------------------------------------------
// clone-host

TEST(Machine, CloneHostWritesTheHostsZonesCpusThpAndTunables) {
    test::HostProcTree host;
    std::string toml = clone_host_toml(host.proc());
    MachineDesc d = parse_machine_toml(toml, "host.toml");
    EXPECT_EQ(d.arch, ArchProfile::Explicit);
    EXPECT_EQ(d.nr_cpus, 2u);
    EXPECT_EQ(d.thp_enabled, "madvise");
    ASSERT_EQ(d.zones.size(), 3u);  // the empty Movable and Device zones are implied
    EXPECT_EQ(d.zones[0].kind, ZoneKind::DMA);
    EXPECT_EQ(d.zones[0].start_pfn, 1u);
    EXPECT_EQ(d.zones[0].managed, 3840u);
    EXPECT_EQ(d.zones[1].present, 782336u);
    EXPECT_EQ(d.zones[2].managed, 229376u);
    ASSERT_EQ(d.nodes.size(), 1u);
    EXPECT_EQ(d.nodes[0].memmap_pages, 98304u);
    auto value = [&](const std::string& key) -> std::optional<std::string> {
        for (const auto& s : d.sysctls)
            if (s.key == key) return s.value;
        return std::nullopt;
    };
    EXPECT_EQ(value("vm.swappiness"), "60");
    EXPECT_EQ(value("vm.lowmem_reserve_ratio"), "256 256 32 0 0");
    EXPECT_EQ(value("vm.dirty_ratio"), "20");
    EXPECT_EQ(value("vm.page-cluster"), "3");
    // Derived at boot, or refused with 0, or actions: not written.
    for (const char* left_out : {"vm.min_free_kbytes", "vm.user_reserve_kbytes", "vm.admin_reserve_kbytes",
                                 "vm.dirty_bytes", "vm.dirty_background_bytes", "vm.overcommit_kbytes",
                                 "vm.drop_caches", "vm.compact_memory", "vm.stat_refresh"})
        EXPECT_FALSE(value(left_out).has_value()) << left_out;
    EXPECT_NE(toml.find("# The host whose /proc is"), std::string::npos);
}

TEST(Machine, CloneHostCountsCpusFromStatWithoutCpuinfo) {
    test::HostProcTree host;
    fs::remove(fs::path(host.root()) / "proc" / "cpuinfo");
    fs::remove(fs::path(host.root()) / "sys" / "kernel" / "mm" / "transparent_hugepage" / "enabled");
    MachineDesc d = parse_machine_toml(clone_host_toml(host.proc()), "host.toml");
    EXPECT_EQ(d.nr_cpus, 2u);
    EXPECT_EQ(d.thp_enabled, "madvise");  // the default, as the file was missing
}

TEST(Machine, CloneHostWithoutZoneinfoFails) {
    test::HostProcTree host;
    fs::remove(fs::path(host.root()) / "proc" / "zoneinfo");
    std::string e = error_of([&] { clone_host_toml(host.proc()); });
    EXPECT_NE(e.find("zoneinfo:1:1: error: cannot open"), std::string::npos) << e;
}

}  // namespace
}  // namespace mmsim
