// The simulated machine's hardware, and how its memory is laid out at boot.
//
// Two stages, as in the kernel:
//
//   MachineDesc   what the user described: nodes and their RAM, CPUs, an
//                 architecture profile, holes, reserved ranges, tunables.
//                 Comes from a TOML machine file, a scenario's `boot` line,
//                 or `mmsim clone-host`.
//
//   BootLayout    what firmware and early boot make of it (the e820 map,
//                 memblock.memory and memblock.reserved, and the zone
//                 boundaries of arch/x86's zone_sizes_init() and
//                 find_zone_movable_pfns_for_nodes()). mm_init turns this
//                 into nodes and zones and hands free pages to the buddy
//                 allocator.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "mmsim/mmzone.h"

namespace mmsim {

// [start, end) in page frames.
struct PfnRange {
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t size() const { return end > start ? end - start : 0; }
};

enum class ArchProfile : uint8_t {
    X86_64,    // DMA < 16 MiB, DMA32 < 4 GiB, Normal, Movable, Device
    I386,      // DMA < 16 MiB, Normal < 896 MiB, HighMem, Movable
    Explicit,  // zones given one by one (clone-host writes these)
};

// The zone types of a profile, in zone-index order.
std::vector<ZoneKind> profile_zone_kinds(ArchProfile a);

struct NodeDesc {
    int id = 0;
    uint64_t memory_bytes = 0;  // RAM on this node (profiles)
    std::vector<int> cpus;      // empty: CPUs are spread over nodes evenly
    // ArchProfile::Explicit only: the pages of page descriptors this node
    // reserved at boot (what the host's nr_memmap_boot_pages said, as
    // clone-host records it). Unset: derived from the node's memory.
    std::optional<uint64_t> memmap_pages;
};

// A zone given outright (ArchProfile::Explicit), in pages.
struct ExplicitZone {
    int node = 0;
    ZoneKind kind = ZoneKind::Normal;
    uint64_t start_pfn = 0;
    uint64_t spanned = 0;
    uint64_t present = 0;
    uint64_t managed = 0;
};

struct ReservedDesc {
    std::string name;
    uint64_t start = 0;  // bytes
    uint64_t size = 0;   // bytes
};

// A tunable set at boot: "vm.min_free_kbytes" = "67584", with where it came
// from so a bad value is reported at its line.
struct BootSysctl {
    std::string key;
    std::string value;
    SourceLoc loc;
};

// The TLB of every CPU ([tlb] in a machine file; src/mm/tlb.h models it).
// The defaults are Intel Skylake's (and its successors' up to Ice Lake):
// an L1 dTLB for 4 KiB pages of 64 entries, 4-way, and a second-level
// STLB of 1536 entries, 12-way. Entries must be a multiple of the ways and
// the number of sets (entries / ways) a power of two, at most 64 ways.
struct TlbSpec {
    unsigned l1_entries = 64;
    unsigned l1_ways = 4;
    unsigned l2_entries = 1536;
    unsigned l2_ways = 12;
    bool pcid = true;  // false: CPUs without PCID flush the TLB on every mm switch
};

// A swap area turned on at boot: the boot line's swap=SIZE, or a [[swap]]
// table in a machine file; what /etc/fstab lists and systemd activates
// (src/mm/swapfile.h). The boot line's swap is a partition on a second
// virtio disk, /dev/vdb.
struct SwapDesc {
    std::string path = "/dev/vdb";
    uint64_t size_bytes = 0;
    bool partition = true;        // a block device; false: a swap file
    int priority = -1;            // -1: the kernel numbers it (-2, -3, ...)
    std::string medium = "disk";  // disk | ssd | zram
    std::string discard;          // "" (none), "both", "once" or "pages"
    uint64_t read_ns = 0;         // per 4 KiB; 0: the medium's default
    uint64_t write_ns = 0;
    SourceLoc loc;
};
// The default path of a swap area of a machine file: /dev/vdb, /dev/vdc, ...
std::string default_swap_path(std::size_t index);
// Checks one swap area's values (size at least mkswap's 40 KiB, an absolute
// path, a known medium and discard policy, priority -1..32767). Throws
// InputError at loc.
void check_swap_desc(const SwapDesc& s, const SourceLoc& loc);

struct MachineDesc {
    std::string source;  // file name or "boot line", for messages
    SourceLoc loc;       // where the description starts (file:1:1, the boot line), for messages
    ArchProfile arch = ArchProfile::X86_64;
    unsigned nr_cpus = 1;
    std::vector<NodeDesc> nodes;
    std::vector<ExplicitZone> zones;  // ArchProfile::Explicit only
    std::vector<PfnRange> holes;      // extra holes, in pfns (the profile adds its own)
    std::vector<ReservedDesc> reserved;
    uint64_t kernel_image_bytes = 32ull << 20;  // text + rodata + rwdata + bss after init is freed
    bool reserve_memmap = true;                 // 64 bytes per present page, from the top of each node
    // false boots the page allocator alone, as the kernel stands between
    // memblock_free_all() and kmem_cache_init(): no slab caches, so no
    // boot-time slab pages. Unit tests of the buddy allocator and of the
    // memory-mapping paths use it (tests/support/fixtures.h); no machine
    // file or boot line can set it.
    bool slab = true;
    uint64_t kernelcore_bytes = 0;        // kernelcore= (0: not given)
    uint64_t movablecore_bytes = 0;       // movablecore= (0: not given)
    unsigned kernelcore_percent = 0;      // kernelcore=NN% (0: not given)
    unsigned movablecore_percent = 0;     // movablecore=NN% (0: not given)
    std::string thp_enabled = "madvise";  // always | madvise | never
    bool page_owner = false;              // page_owner=on (mm/page_owner.c)
    uint64_t cma_bytes = 0;               // cma= : the default CMA area's size (0: none)
    std::vector<SwapDesc> swaps;          // swap areas turned on at the end of boot
    std::vector<BootSysctl> sysctls;      // applied in order after boot
    uint64_t seed = 0;
    TlbSpec tlb;
};

struct ZoneGeom {
    ZoneKind kind = ZoneKind::Normal;
    uint64_t start_pfn = 0;
    uint64_t spanned = 0;
};

struct NodeGeom {
    int id = 0;
    std::vector<ZoneGeom> zones;     // every kind of the profile, in index order
    std::vector<PfnRange> memory;    // RAM (memblock.memory), sorted, disjoint
    std::vector<PfnRange> reserved;  // memblock.reserved, sorted, disjoint, inside memory
    std::vector<int> cpus;
    uint64_t memmap_pages = 0;  // the part of reserved that holds page descriptors
};

struct BootLayout {
    ArchProfile arch = ArchProfile::X86_64;
    std::vector<ZoneKind> zone_kinds;
    std::vector<NodeGeom> nodes;
    unsigned nr_cpus = 1;
    TlbSpec tlb;  // copied from the description
    // e820-style lines for the simulated kernel log ("BIOS-e820: [mem ...] usable").
    std::vector<std::string> firmware_log;
    // The default CMA area dma_contiguous_reserve() took from memblock
    // (empty without cma= or when it did not fit), and its log line.
    std::vector<PfnRange> cma;
    std::vector<std::string> cma_log;
};

// "DMA", "DMA32", "Normal", "HighMem", "Movable", "Device" (any case).
std::optional<ZoneKind> zone_kind_from_name(std::string_view name);

// The closest of `names` to a misspelled `word` (edit distance at most 2,
// or a prefix), for "did you mean" hints; empty if none is close.
std::string closest_name(std::string_view word, const std::vector<std::string_view>& names);

// Parses a size with a unit: "4096", "4K", "512M", "8G", "1T" (binary units;
// "KiB", "MB" and lower case accepted). nullopt when malformed.
std::optional<uint64_t> parse_size(std::string_view text);
// 8589934592 -> "8G", 1536 MiB -> "1536M": the largest unit that divides.
std::string format_size(uint64_t bytes);

// Loads a TOML machine file. Throws InputError naming file:line:col.
MachineDesc load_machine_file(const std::string& path);
MachineDesc parse_machine_toml(std::string_view text, const std::string& source_name);

// Builds a description from a scenario's `boot key=value ...` arguments:
// ram=8G cpus=2 nodes=2 arch=x86_64|i386 kernelcore=... movablecore=...
// thp=always|madvise|never. Each argument carries its location.
struct BootArg {
    std::string key;
    std::string value;
    SourceLoc loc;
};
MachineDesc machine_from_boot_args(const std::vector<BootArg>& args, const SourceLoc& where);
// Applies one of the options a machine file's [boot] table and the boot
// line share: kernel_image, reserve_memmap, kernelcore, movablecore (a size
// or "NN%"), thp, cma, swap (a size: one swap partition, /dev/vdb). Returns
// false for any other key; throws InputError at loc for a bad value.
bool apply_boot_option(MachineDesc& desc, std::string_view key, std::string_view value, const SourceLoc& loc);
// True for the keys machine_from_boot_args() takes (ram, cpus, ..., vm.*),
// so a scenario's `boot` line can tell them from its own (swap=, disk=).
bool machine_boot_key_known(std::string_view key);

// Checks the zones of an ArchProfile::Explicit description: known types,
// spanned >= present >= managed, no Device pages, one zone per type and
// node, zones of a node in address order, no overlaps. zone_locs, when
// given, holds each zone's location (same order) for the message. Throws
// InputError. resolve_layout() calls it too.
void validate_explicit_zones(const MachineDesc& desc, const std::vector<SourceLoc>& zone_locs = {});

// Early boot: the e820 map, memblock and zone boundaries. Throws InputError
// when the description cannot boot (no memory, overlapping zones, ...).
BootLayout resolve_layout(const MachineDesc& desc);

// clone-host: reads DIR/zoneinfo, meminfo, sys/vm/*, cpuinfo or stat, and
// sys/kernel/mm/transparent_hugepage/enabled (DIR is a /proc, with the THP
// file looked up beside it as ../sys/...), and writes a TOML machine file
// whose boot reproduces the host's zones and tunables.
std::string clone_host_toml(const std::string& proc_dir);

}  // namespace mmsim
