// The machine description: sizes, zone profiles and the `boot` line.
//
// A Linux machine is described to the kernel twice. Firmware says what
// memory exists (the e820 map, see e820.cpp); the command line says how to
// use it: how much memory must stay usable by the kernel (kernelcore=) or
// be kept movable (movablecore=), whether transparent huge pages are on,
// and, late in boot, the values of the sysctls under /proc/sys/vm. mmsim
// takes the same two halves from a TOML machine file (machine_toml.cpp),
// from `mmsim clone-host` (clone_host.cpp), or from a scenario's one-line
//
//   boot ram=8G cpus=2 nodes=2 kernelcore=50% thp=always vm.swappiness=10
//
// which this file turns into a MachineDesc. Every argument keeps its
// location, so a typo is reported where it was typed, the way the kernel
// would never do it (an unknown kernel parameter is silently passed on to
// init).
//
// Sizes are written the way the kernel's memparse() reads them: a number
// (decimal, or hexadecimal with 0x) followed by an optional binary unit,
// K, M, G, T, P or E. "MB" and "KiB" are accepted as the same binary units,
// since that is what people mean when they type them on a boot line.
//
// The zone profiles name the zone types an architecture compiles in, in
// zone-index order (include/linux/mmzone.h, enum zone_type): x86-64 has
// DMA, DMA32, Normal, Movable and Device; i386 with HIGHMEM has DMA,
// Normal, HighMem and Movable (ZONE_DEVICE needs 64-bit SPARSEMEM_VMEMMAP).
#include "machine/machine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>

namespace mmsim {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions
// and swaps of two neighbours each cost 1 ("rma" is one step from "ram").
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); i++) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); j++) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); i++) {
        for (std::size_t j = 1; j <= b.size(); j++) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    uint64_t v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// The keys of the boot line, for "did you mean".
const std::vector<std::string_view>& boot_keys() {
    static const std::vector<std::string_view> keys{
        "ram",          "cpus", "nodes",          "arch",       "kernelcore", "movablecore", "thp",
        "kernel_image", "seed", "reserve_memmap", "page_owner", "cma",        "swap"};
    return keys;
}

// kernelcore=/movablecore= take a size or a percentage of all memory
// (cmdline_parse_core() in mm/mm_init.c).
void set_core(std::string_view key, std::string_view value, const SourceLoc& loc, uint64_t& bytes,
              unsigned& percent) {
    if (!value.empty() && value.back() == '%') {
        auto pct = parse_u64(value.substr(0, value.size() - 1));
        if (!pct || *pct > 100)
            throw InputError(
                loc, fmt::format("{}: expected a size like 4G or a percentage from 0% to 100%, got '{}'", key,
                                 value));
        percent = static_cast<unsigned>(*pct);
        bytes = 0;
        return;
    }
    auto size = parse_size(value);
    if (!size)
        throw InputError(
            loc, fmt::format("{}: expected a size like 4G or a percentage like 50%, got '{}'", key, value));
    bytes = *size;
    percent = 0;
}

}  // namespace

std::vector<ZoneKind> profile_zone_kinds(ArchProfile a) {
    switch (a) {
        case ArchProfile::I386:
            return {ZoneKind::DMA, ZoneKind::Normal, ZoneKind::HighMem, ZoneKind::Movable};
        case ArchProfile::X86_64:
        case ArchProfile::Explicit:
            break;
    }
    // Explicit machines use x86-64's zone types; resolve_layout() switches
    // to i386's when one of the given zones is HighMem.
    return {ZoneKind::DMA, ZoneKind::DMA32, ZoneKind::Normal, ZoneKind::Movable, ZoneKind::Device};
}

std::optional<ZoneKind> zone_kind_from_name(std::string_view name) {
    std::string n = lower(name);
    if (n == "dma") return ZoneKind::DMA;
    if (n == "dma32") return ZoneKind::DMA32;
    if (n == "normal") return ZoneKind::Normal;
    if (n == "highmem") return ZoneKind::HighMem;
    if (n == "movable") return ZoneKind::Movable;
    if (n == "device") return ZoneKind::Device;
    return std::nullopt;
}

std::string closest_name(std::string_view word, const std::vector<std::string_view>& names) {
    std::string best;
    std::size_t best_d = std::numeric_limits<std::size_t>::max();
    std::string w = lower(word);
    for (std::string_view n : names) {
        std::string l = lower(n);
        std::size_t d = edit_distance(w, l);
        if (w.size() >= 3 && l.size() > w.size() && l.compare(0, w.size(), w) == 0)
            d = std::min<std::size_t>(d, 1);
        if (d < best_d) {
            best_d = d;
            best = std::string(n);
        }
    }
    if (best_d == 0 || best_d > 2 || best_d >= w.size()) return {};
    return best;
}

std::optional<uint64_t> parse_size(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint64_t value = 0;
    std::size_t i = 0;
    bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    if (hex) {
        i = 2;
        std::size_t start = i;
        while (i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i]))) {
            char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
            unsigned digit = c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'a' + 10);
            if (value > (std::numeric_limits<uint64_t>::max() >> 4)) return std::nullopt;
            value = value << 4 | digit;
            i++;
        }
        if (i == start) return std::nullopt;
    } else {
        std::size_t start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            unsigned digit = static_cast<unsigned>(text[i] - '0');
            if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
            value = value * 10 + digit;
            i++;
        }
        if (i == start) return std::nullopt;
    }
    std::string unit = lower(text.substr(i));
    unsigned shift = 0;
    if (!unit.empty() && unit != "b") {
        static const char kUnits[] = "kmgtpe";
        const char* p = std::char_traits<char>::find(kUnits, 6, unit[0]);
        if (!p) return std::nullopt;
        std::string rest = unit.substr(1);
        if (!rest.empty() && rest != "b" && rest != "ib") return std::nullopt;
        shift = 10 * static_cast<unsigned>(p - kUnits + 1);
    }
    if (shift && value > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
    return value << shift;
}

std::string format_size(uint64_t bytes) {
    if (bytes == 0) return "0";
    static const char kUnits[] = "EPTGMK";
    for (int i = 0; i < 6; i++) {
        unsigned shift = 10 * static_cast<unsigned>(6 - i);
        uint64_t unit = uint64_t{1} << shift;
        if (bytes % unit == 0) return fmt::format("{}{}", bytes >> shift, kUnits[i]);
    }
    return std::to_string(bytes);
}

bool apply_boot_option(MachineDesc& desc, std::string_view key, std::string_view value,
                       const SourceLoc& loc) {
    if (key == "kernel_image") {
        auto size = parse_size(value);
        if (!size)
            throw InputError(loc, fmt::format("kernel_image: expected a size like 32M, got '{}'", value));
        desc.kernel_image_bytes = *size;
    } else if (key == "reserve_memmap") {
        std::string v = lower(value);
        if (v == "true" || v == "1" || v == "yes" || v == "on")
            desc.reserve_memmap = true;
        else if (v == "false" || v == "0" || v == "no" || v == "off")
            desc.reserve_memmap = false;
        else
            throw InputError(loc, fmt::format("reserve_memmap: expected true or false, got '{}'", value));
    } else if (key == "kernelcore") {
        set_core(key, value, loc, desc.kernelcore_bytes, desc.kernelcore_percent);
    } else if (key == "movablecore") {
        set_core(key, value, loc, desc.movablecore_bytes, desc.movablecore_percent);
    } else if (key == "cma") {
        // cma=SIZE (kernel/dma/contiguous.c's early_cma()); the kernel's
        // "@base-limit" suffix is not modelled.
        auto size = parse_size(value);
        if (!size) throw InputError(loc, fmt::format("cma: expected a size like 64M, got '{}'", value));
        desc.cma_bytes = *size;
    } else if (key == "swap") {
        // swap=SIZE: one swap partition on a second virtio disk, as a
        // Debian VM given a disk for swap shows it (/dev/vdb), turned on
        // at the end of boot with the default priority.
        auto size = parse_size(value);
        if (!size) throw InputError(loc, fmt::format("swap: expected a size like 8G, got '{}'", value));
        SwapDesc sw;
        sw.size_bytes = *size;
        sw.loc = loc;
        check_swap_desc(sw, loc);
        desc.swaps.push_back(sw);
    } else if (key == "thp") {
        if (value != "always" && value != "madvise" && value != "never")
            throw InputError(loc, fmt::format("thp: expected always, madvise or never, got '{}'", value));
        desc.thp_enabled = std::string(value);
    } else if (key == "page_owner") {
        // early_page_owner_param(): kstrtobool, so on/off, 1/0, y/n, true/false.
        std::string v = lower(value);
        if (v == "on" || v == "1" || v == "y" || v == "yes" || v == "true")
            desc.page_owner = true;
        else if (v == "off" || v == "0" || v == "n" || v == "no" || v == "false")
            desc.page_owner = false;
        else
            throw InputError(loc, fmt::format("page_owner: expected on or off, got '{}'", value));
    } else {
        return false;
    }
    return true;
}

std::string default_swap_path(std::size_t index) {
    // virtio disks are vda, vdb, ...; vda holds the root filesystem.
    return fmt::format("/dev/vd{}", static_cast<char>('b' + std::min<std::size_t>(index, 24)));
}

void check_swap_desc(const SwapDesc& s, const SourceLoc& loc) {
    // mkswap refuses an area under 10 pages ("swap area needs to be at
    // least 40 KiB"); a version-1 header counts pages in 32 bits.
    uint64_t pages = s.size_bytes / PAGE_SIZE;
    if (pages < 10)
        throw InputError(loc, fmt::format("swap: a swap area needs at least 40K (mkswap's minimum), got {}",
                                          format_size(s.size_bytes)));
    if (pages - 1 > 0xffffffffull)
        throw InputError(loc, fmt::format("swap: a swap area holds at most 16T (a 32-bit page count), got {}",
                                          format_size(s.size_bytes)));
    if (s.path.empty() || s.path[0] != '/')
        throw InputError(loc, fmt::format("swap: expected an absolute path like /dev/vdb, got '{}'", s.path));
    if (s.medium != "disk" && s.medium != "ssd" && s.medium != "zram")
        throw InputError(loc, fmt::format("swap: medium must be disk, ssd or zram, not '{}'", s.medium));
    if (!s.discard.empty() && s.discard != "both" && s.discard != "once" && s.discard != "pages")
        throw InputError(loc, fmt::format("swap: discard must be both, once or pages, not '{}'", s.discard));
    if (s.priority < -1 || s.priority > 32767)
        throw InputError(loc,
                         fmt::format("swap: priority must be -1 (the kernel's numbering) or 0..32767, got {}",
                                     s.priority));
}

bool machine_boot_key_known(std::string_view key) {
    if (key.substr(0, 3) == "vm.") return true;
    return std::find(boot_keys().begin(), boot_keys().end(), key) != boot_keys().end();
}

MachineDesc machine_from_boot_args(const std::vector<BootArg>& args, const SourceLoc& where) {
    MachineDesc d;
    d.source = where.file;
    d.loc = where;
    std::optional<uint64_t> ram;
    SourceLoc nodes_loc = where;
    uint64_t nr_nodes = 1;
    std::map<std::string, SourceLoc> seen;

    for (const auto& a : args) {
        const SourceLoc& loc = a.loc.file.empty() && a.loc.line == 0 ? where : a.loc;
        if (a.key.size() > 3 && a.key.compare(0, 3, "vm.") == 0) {
            d.sysctls.push_back({a.key, a.value, loc});
            continue;
        }
        if (!machine_boot_key_known(a.key)) {
            std::string hint = closest_name(a.key, boot_keys());
            throw InputError(loc, fmt::format("unknown boot option '{}'{}", a.key,
                                              hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint)));
        }
        if (auto it = seen.find(a.key); it != seen.end())
            throw InputError(
                loc, fmt::format("boot option '{}' is given twice (first at {})", a.key, it->second.str()));
        seen.emplace(a.key, loc);

        if (a.key == "ram") {
            ram = parse_size(a.value);
            if (!ram)
                throw InputError(loc, fmt::format("ram: expected a size like 512M or 8G, got '{}'", a.value));
            if (*ram < PAGE_SIZE)
                throw InputError(loc, fmt::format("ram: must be at least 4K, got '{}'", a.value));
        } else if (a.key == "cpus") {
            auto n = parse_u64(a.value);
            if (!n || *n == 0 || *n > 8192)
                throw InputError(
                    loc, fmt::format("cpus: expected a number of CPUs from 1 to 8192, got '{}'", a.value));
            d.nr_cpus = static_cast<unsigned>(*n);
        } else if (a.key == "nodes") {
            auto n = parse_u64(a.value);
            if (!n || *n == 0 || *n > 1024)
                throw InputError(
                    loc,
                    fmt::format("nodes: expected a number of NUMA nodes from 1 to 1024, got '{}'", a.value));
            nr_nodes = *n;
            nodes_loc = loc;
        } else if (a.key == "arch") {
            if (a.value == "x86_64" || a.value == "x86-64")
                d.arch = ArchProfile::X86_64;
            else if (a.value == "i386")
                d.arch = ArchProfile::I386;
            else
                throw InputError(loc, fmt::format("arch: expected x86_64 or i386, got '{}'", a.value));
        } else if (a.key == "seed") {
            auto n = parse_u64(a.value);
            if (!n)
                throw InputError(loc,
                                 fmt::format("seed: expected a non-negative integer, got '{}'", a.value));
            d.seed = *n;
        } else {
            apply_boot_option(d, a.key, a.value, loc);
        }
    }
    if (!ram) throw InputError(where, "boot: ram= is required (for example: boot ram=8G cpus=2)");

    // Memory is split evenly over the nodes, each share a multiple of
    // MAX_ORDER_NR_PAGES (4 MiB) so node boundaries fall on buddy blocks;
    // the last node takes what is left.
    uint64_t ram_bytes = *ram & ~(PAGE_SIZE - 1);
    uint64_t block = MAX_ORDER_NR_PAGES * PAGE_SIZE;
    uint64_t share = nr_nodes == 1 ? ram_bytes : (ram_bytes / nr_nodes) & ~(block - 1);
    if (share == 0)
        throw InputError(nodes_loc,
                         fmt::format("nodes: ram={} is too small for {} nodes (each needs at least {})",
                                     format_size(*ram), nr_nodes, format_size(block)));
    for (uint64_t n = 0; n < nr_nodes; n++) {
        NodeDesc nd;
        nd.id = static_cast<int>(n);
        nd.memory_bytes = n + 1 == nr_nodes ? ram_bytes - share * (nr_nodes - 1) : share;
        d.nodes.push_back(nd);
    }
    return d;
}

}  // namespace mmsim
