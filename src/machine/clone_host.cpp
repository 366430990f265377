// clone-host: a machine file that boots into the machine it was read from.
//
// Everything the page allocator's boot-time arithmetic depends on can be
// read back from a running Linux system:
//
//   /proc/zoneinfo      every zone of every node: start_pfn, spanned (the
//                       pfn range, holes included), present (the RAM in it)
//                       and managed (what memblock handed to the buddy
//                       allocator after boot reservations);
//   /proc/vmstat        nr_memmap_boot_pages, the page descriptors' share
//                       of those reservations;
//   /proc/cpuinfo       the CPUs (one "processor" line each; /proc/stat's
//                       cpuN lines when cpuinfo is missing), which size the
//                       per-CPU page lists and the vmstat thresholds;
//   /proc/sys/vm/*      the tunables in force;
//   /sys/kernel/mm/transparent_hugepage/enabled
//                       whose "[madvise]" decides whether khugepaged raises
//                       min_free_kbytes at boot.
//
// The watermarks, lowmem_reserve protection, pcp batch and high limits are
// all functions of the managed pages per zone, the CPU count and the
// tunables, so a machine with the host's zones reproduces the host's
// numbers exactly, which makes clone-host an oracle for the simulator.
//
// Values the kernel derives at boot are left out, so that the simulated
// boot derives them the same way: min_free_kbytes (from lowmem and THP;
// writing it would also mark it as user-set), user_reserve_kbytes and
// admin_reserve_kbytes (from free memory). Actions that are not state
// (drop_caches, compact_memory, stat_refresh), the deprecated
// numa_zonelist_order and the second view of the hugetlb pool
// (nr_hugepages_mempolicy) are left out too. Of the twin tunables
// dirty_bytes/dirty_ratio, dirty_background_bytes/dirty_background_ratio
// and overcommit_kbytes/overcommit_ratio, writing one zeroes the other, and
// the *_bytes ones refuse 0, so only the one in use is written.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/text.h"
#include "machine/machine.h"
#include "proc/sysctl.h"

namespace fs = std::filesystem;

namespace mmsim {

namespace {

std::optional<std::string> read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return ss.str();
}

std::string read_required(const fs::path& p) {
    auto t = read_text(p);
    if (!t) throw InputError(SourceLoc{p.string(), 1, 1}, "cannot open (clone-host needs it)");
    return *t;
}

std::optional<uint64_t> to_u64(const std::string& s) {
    if (s.empty() ||
        !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    try {
        return std::stoull(s);
    } catch (...) {
        return std::nullopt;
    }
}

struct HostZone {
    int node = 0;
    std::string name;
    ZoneKind kind = ZoneKind::Normal;
    uint64_t spanned = 0, present = 0, managed = 0;
    std::optional<uint64_t> start_pfn;
};

// /proc/zoneinfo: a "Node N, zone NAME" header, then indented "key value"
// lines; start_pfn is printed only for populated zones.
std::vector<HostZone> parse_zoneinfo(const std::string& text, const std::string& path) {
    std::vector<HostZone> zones;
    std::istringstream in(text);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        lineno++;
        auto w = split_ws(line);
        if (w.size() >= 4 && w[0] == "Node" && w[2] == "zone") {
            HostZone z;
            std::string nid = w[1];
            if (!nid.empty() && nid.back() == ',') nid.pop_back();
            auto n = to_u64(nid);
            auto kind = zone_kind_from_name(w[3]);
            if (!n || *n > 1023)
                throw InputError(SourceLoc{path, lineno, 1},
                                 fmt::format("bad node number '{}' in zoneinfo", w[1]));
            if (!kind)
                throw InputError(SourceLoc{path, lineno, 1}, fmt::format("unknown zone type '{}'", w[3]));
            z.node = static_cast<int>(*n);
            z.name = w[3];
            z.kind = *kind;
            zones.push_back(z);
            continue;
        }
        if (zones.empty() || w.size() < 2) continue;
        HostZone& z = zones.back();
        auto v = to_u64(w[1]);
        if (!v) continue;
        if (w[0] == "spanned")
            z.spanned = *v;
        else if (w[0] == "present")
            z.present = *v;
        else if (w[0] == "managed")
            z.managed = *v;
        else if (w[0] == "start_pfn:")
            z.start_pfn = *v;
    }
    if (zones.empty())
        throw InputError(SourceLoc{path, 1, 1}, "no \"Node N, zone NAME\" sections: not a zoneinfo file");
    return zones;
}

// A value in TOML: a bare integer when it is one, a quoted string otherwise.
std::string toml_value(const std::string& v) {
    bool neg = !v.empty() && v[0] == '-';
    std::string digits = neg ? v.substr(1) : v;
    if (!digits.empty() && digits.size() <= 18 && to_u64(digits) && (digits == "0" || digits[0] != '0'))
        return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\')
            out += fmt::format("\\{}", c);
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        else
            out += c;
    }
    return out + "\"";
}

unsigned count_cpus(const fs::path& proc, std::string& how) {
    if (auto t = read_text(proc / "cpuinfo")) {
        unsigned n = 0;
        std::istringstream in(*t);
        std::string line;
        while (std::getline(in, line)) {
            auto w = split_ws(line);
            if (!w.empty() && (w[0] == "processor" || w[0] == "processor:")) n++;
        }
        if (n) {
            how = "cpuinfo";
            return n;
        }
    }
    if (auto t = read_text(proc / "stat")) {
        unsigned n = 0;
        std::istringstream in(*t);
        std::string line;
        while (std::getline(in, line))
            if (line.size() > 3 && line.compare(0, 3, "cpu") == 0 &&
                std::isdigit(static_cast<unsigned char>(line[3])))
                n++;
        if (n) {
            how = "stat";
            return n;
        }
    }
    how = "neither cpuinfo nor stat was readable; assumed";
    return 1;
}

// "0-3,8,10-11" (a cpulist) -> the CPU numbers.
std::vector<int> parse_cpulist(const std::string& s) {
    std::vector<int> out;
    std::stringstream in(s);
    std::string part;
    while (std::getline(in, part, ',')) {
        auto w = split_ws(part);
        if (w.empty()) continue;
        auto dash = w[0].find('-');
        auto a = to_u64(w[0].substr(0, dash));
        auto b = dash == std::string::npos ? a : to_u64(w[0].substr(dash + 1));
        if (!a || !b || *b < *a || *b > 8191) return {};
        for (uint64_t c = *a; c <= *b; c++) out.push_back(static_cast<int>(c));
    }
    return out;
}

std::string thp_mode(const std::string& text) {
    auto open = text.find('['), close = text.find(']');
    if (open == std::string::npos || close == std::string::npos || close < open) return {};
    std::string m = text.substr(open + 1, close - open - 1);
    if (m == "always" || m == "madvise" || m == "never") return m;
    return {};
}

const std::map<std::string, std::string>& left_out() {
    static const std::map<std::string, std::string> m{
        {"min_free_kbytes", "derived at boot from lowmem, and raised for THP"},
        {"user_reserve_kbytes", "derived at boot from free memory"},
        {"admin_reserve_kbytes", "derived at boot from free memory"},
        {"drop_caches", "an action, not a setting"},
        {"compact_memory", "an action, not a setting"},
        {"stat_refresh", "an action, not a setting"},
        {"numa_zonelist_order", "deprecated; always Node"},
        {"nr_hugepages_mempolicy", "the same pool as nr_hugepages"},
    };
    return m;
}

}  // namespace

std::string clone_host_toml(const std::string& proc_dir) {
    fs::path proc(proc_dir);
    fs::path sys = (proc / ".." / "sys").lexically_normal();

    std::string zoneinfo_path = (proc / "zoneinfo").string();
    std::vector<HostZone> zones = parse_zoneinfo(read_required(proc / "zoneinfo"), zoneinfo_path);

    std::optional<uint64_t> mem_total_kb, memmap_boot;
    if (auto t = read_text(proc / "meminfo")) {
        std::istringstream in(*t);
        std::string line;
        while (std::getline(in, line)) {
            auto w = split_ws(line);
            if (w.size() >= 2 && w[0] == "MemTotal:") mem_total_kb = to_u64(w[1]);
        }
    }
    if (auto t = read_text(proc / "vmstat")) {
        std::istringstream in(*t);
        std::string line;
        while (std::getline(in, line)) {
            auto w = split_ws(line);
            if (w.size() >= 2 && w[0] == "nr_memmap_boot_pages") memmap_boot = to_u64(w[1]);
        }
    }
    std::string cpus_how;
    unsigned nr_cpus = count_cpus(proc, cpus_how);

    int nr_nodes = 0;
    for (const auto& z : zones) nr_nodes = std::max(nr_nodes, z.node + 1);
    std::vector<uint64_t> node_present(nr_nodes, 0), node_reserved(nr_nodes, 0);
    uint64_t all_present = 0;
    for (const auto& z : zones) {
        if (!z.spanned || !z.start_pfn) continue;
        node_present[z.node] += z.present;
        node_reserved[z.node] += z.present - std::min(z.managed, z.present);
        all_present += z.present;
    }
    std::vector<std::vector<int>> node_cpus(nr_nodes);
    bool have_cpulists = nr_nodes > 1;
    for (int n = 0; n < nr_nodes && have_cpulists; n++) {
        auto t = read_text(sys / "devices" / "system" / "node" / fmt::format("node{}", n) / "cpulist");
        if (!t) {
            have_cpulists = false;
            break;
        }
        node_cpus[n] = parse_cpulist(*t);
        for (int c : node_cpus[n])
            if (static_cast<unsigned>(c) >= nr_cpus) have_cpulists = false;
    }

    std::string out;
    auto line = [&](const std::string& s) { out += s + "\n"; };
    line(fmt::format("# The host whose /proc is {}, as `mmsim clone-host` read it.", proc.string()));
    line("# Booting this file reproduces every zone's spanned, present and managed");
    line("# pages, and with them the host's watermarks, lowmem protection and");
    line("# per-CPU list sizes.");
    if (mem_total_kb) line(fmt::format("# MemTotal on the host: {} kB.", *mem_total_kb));
    line(fmt::format("# CPUs counted from {}.", cpus_how));
    line("arch = \"explicit\"");
    line(fmt::format("cpus = {}", nr_cpus));

    auto thp_text = read_text(sys / "kernel" / "mm" / "transparent_hugepage" / "enabled");
    std::string thp = thp_text ? thp_mode(*thp_text) : std::string();
    line("");
    if (thp.empty()) {
        line(fmt::format("# {} was not readable: THP keeps its default.",
                         (sys / "kernel" / "mm" / "transparent_hugepage" / "enabled").string()));
    } else {
        line("[boot]");
        line(fmt::format("thp = \"{}\"", thp));
    }

    for (int n = 0; n < nr_nodes; n++) {
        line("");
        line("[[node]]");
        if (have_cpulists) {
            std::string list;
            for (int c : node_cpus[n]) list += fmt::format("{}{}", list.empty() ? "" : ", ", c);
            line(fmt::format("cpus = [{}]", list));
        }
        if (memmap_boot && all_present) {
            // vmstat gives one number for the machine; nodes share it by size.
            uint64_t share = nr_nodes == 1 ? *memmap_boot
                                           : static_cast<uint64_t>(static_cast<long double>(*memmap_boot) *
                                                                   node_present[n] / all_present);
            line(fmt::format("memmap_pages = {}", std::min(share, node_reserved[n])));
        }
    }

    for (const auto& z : zones) {
        if (!z.spanned) continue;
        line("");
        if (!z.start_pfn) {
            line(fmt::format("# Node {}, zone {} spans {} pages with none present: left out.", z.node, z.name,
                             z.spanned));
            continue;
        }
        line("[[zone]]");
        line(fmt::format("node = {}", z.node));
        line(fmt::format("type = \"{}\"", zone_kind_name(z.kind)));
        line(fmt::format("start_pfn = {}", *z.start_pfn));
        line(fmt::format("spanned = {}", z.spanned));
        line(fmt::format("present = {}", z.present));
        line(fmt::format("managed = {}", z.managed));
    }

    // The tunables, in `ls` order.
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(proc / "sys" / "vm", ec))
        if (e.is_regular_file(ec)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    std::map<std::string, std::string> values;
    for (const auto& n : names) {
        auto t = read_text(proc / "sys" / "vm" / n);
        if (!t) continue;
        auto w = split_ws(*t);
        std::string v;
        for (const auto& x : w) v += (v.empty() ? "" : " ") + x;
        if (!v.empty()) values[n] = v;
    }
    auto nonzero = [&](const char* name) {
        auto it = values.find(name);
        return it != values.end() && it->second != "0";
    };
    std::map<std::string, std::string> skip = left_out();
    // Of each twin pair, the one in use: *_bytes when it is set.
    for (auto [bytes, ratio] : {std::pair{"dirty_bytes", "dirty_ratio"},
                                std::pair{"dirty_background_bytes", "dirty_background_ratio"},
                                std::pair{"overcommit_kbytes", "overcommit_ratio"}}) {
        if (nonzero(bytes))
            skip[ratio] = fmt::format("{} is set instead", bytes);
        else
            skip[bytes] = fmt::format("0: {} is used instead", ratio);
    }
    std::vector<std::string> unknown, skipped;
    std::string body;
    for (const auto& n : names) {
        if (auto it = skip.find(n); it != skip.end()) {
            skipped.push_back(fmt::format("{} ({})", n, it->second));
            continue;
        }
        const SysctlInfo* info = sysctl_vm_find(n);
        if (!info) {
            unknown.push_back(n);
            continue;
        }
        auto it = values.find(n);
        if (it == values.end() || (info->mode & 0444) == 0) continue;
        body += fmt::format("\"vm.{}\" = {}\n", n, toml_value(it->second));
    }
    if (!body.empty() || !skipped.empty()) {
        line("");
        line(fmt::format("# From {}.", (proc / "sys" / "vm").string()));
        for (const auto& s : skipped) line(fmt::format("# Left out: {}.", s));
        if (!unknown.empty()) {
            std::string list;
            for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
            line(fmt::format("# Not modelled by mmsim: {}.", list));
        }
        line("[sysctl]");
        out += body;
    }
    return out;
}

}  // namespace mmsim
