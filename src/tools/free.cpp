// free -- see free.h.
#include "tools/free.h"

#include <fmt/format.h>

#include <cmath>

#include "tools/procps_common.h"

namespace mmsim::tools {

FreeOptions parse_free_args(const std::vector<std::string>& args) {
    FreeOptions o;
    bool unit_set = false;
    auto unit = [&](std::size_t i, int exponent, bool si) {
        if (unit_set) throw ToolArgError(i, "free: Multiple unit options don't make sense.");
        unit_set = true;
        o.exponent = exponent;
        if (si) o.si = true;
    };
    const char* expected =
        "expected -b|-k|-m|-g|--kilo|--mega|--giga|--tera|--peta|--tebi|--pebi, -h, --si, "
        "-l, -t, -v, -w";
    for (std::size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (a == "--bytes")
            unit(i, 1, false);
        else if (a == "--kibi")
            unit(i, 2, false);
        else if (a == "--mebi")
            unit(i, 3, false);
        else if (a == "--gibi")
            unit(i, 4, false);
        else if (a == "--tebi")
            unit(i, 5, false);
        else if (a == "--pebi")
            unit(i, 6, false);
        else if (a == "--kilo")
            unit(i, 2, true);
        else if (a == "--mega")
            unit(i, 3, true);
        else if (a == "--giga")
            unit(i, 4, true);
        else if (a == "--tera")
            unit(i, 5, true);
        else if (a == "--peta")
            unit(i, 6, true);
        else if (a == "--human")
            o.human = true;
        else if (a == "--si")
            o.si = true;
        else if (a == "--lohi")
            o.lohi = true;
        else if (a == "--total")
            o.total = true;
        else if (a == "--committed")
            o.committed = true;
        else if (a == "--wide")
            o.wide = true;
        else if (a.size() >= 2 && a[0] == '-' && a[1] != '-') {
            for (std::size_t j = 1; j < a.size(); j++) switch (a[j]) {
                    case 'b':
                        unit(i, 1, false);
                        break;
                    case 'k':
                        unit(i, 2, false);
                        break;
                    case 'm':
                        unit(i, 3, false);
                        break;
                    case 'g':
                        unit(i, 4, false);
                        break;
                    case 'h':
                        o.human = true;
                        break;
                    case 'l':
                        o.lohi = true;
                        break;
                    case 't':
                        o.total = true;
                        break;
                    case 'v':
                        o.committed = true;
                        break;
                    case 'w':
                        o.wide = true;
                        break;
                    case 's':
                    case 'c':
                        throw ToolArgError(i,
                                           fmt::format("free: -{} repeats the report over time; a snapshot "
                                                       "has one instant ({})",
                                                       a[j], expected));
                    default:
                        throw ToolArgError(i,
                                           fmt::format("free: invalid option -- '{}' ({})", a[j], expected));
                }
        } else {
            throw ToolArgError(i, fmt::format("free: unexpected argument '{}' ({})", a, expected));
        }
    }
    return o;
}

namespace {

// scale_size(): a KiB count in the chosen unit.
std::string scale_size(uint64_t kib, const FreeOptions& o) {
    const double base = o.si ? 1000.0 : 1024.0;
    const long long bytes = static_cast<long long>(kib) * 1024LL;
    if (!o.human) {
        if (o.exponent == 0)
            return fmt::format("{}", static_cast<long>(bytes / static_cast<long long>(base)));
        if (o.exponent == 1) return fmt::format("{}", bytes);
        return fmt::format("{}",
                           static_cast<long>(static_cast<double>(bytes) / std::pow(base, o.exponent - 1)));
    }
    std::string s = fmt::format("{}B", bytes);
    if (s.size() <= 4) return s;
    static const char up[] = {'B', 'K', 'M', 'G', 'T', 'P'};
    for (int i = 1; i < 6; i++) {
        double v = static_cast<double>(bytes) / std::pow(base, i);
        if (o.si) {
            s = fmt::format("{:.1f}{}", static_cast<float>(v), up[i]);
            if (s.size() <= 4) return s;
            s = fmt::format("{}{}", static_cast<long>(v), up[i]);
            if (s.size() <= 4) return s;
        } else {
            s = fmt::format("{:.1f}{}i", static_cast<float>(v), up[i]);
            if (s.size() <= 5) return s;
            s = fmt::format("{}{}i", static_cast<long>(v), up[i]);
            if (s.size() <= 5) return s;
        }
    }
    return s;
}

}  // namespace

ToolOutput run_free(const ProcSource& src, const FreeOptions& o) {
    ToolOutput res;
    auto text = src.read("/proc/meminfo");
    if (!text.ok()) {
        res.err = "free: Memory information file /proc/meminfo does not exist\n";
        res.status = 1;
        return res;
    }
    auto kb = [&](const char* key) { return meminfo_kb(*text, key).value_or(0); };
    const uint64_t total = kb("MemTotal"), mfree = kb("MemFree");
    const uint64_t avail = meminfo_kb(*text, "MemAvailable").value_or(mfree);
    const uint64_t used = avail <= total ? total - avail : total - mfree;
    const uint64_t buffers = kb("Buffers"), cached = kb("Cached") + kb("SReclaimable");
    const uint64_t swap_total = kb("SwapTotal"), swap_free = kb("SwapFree");
    const uint64_t swap_used = swap_total - std::min(swap_free, swap_total);

    auto row = [&](const char* label, std::initializer_list<uint64_t> values) {
        std::string line = fmt::format("{:<8}", label);
        for (uint64_t v : values) line += fmt::format("{:>12}", scale_size(v, o));
        return line + "\n";
    };
    std::string& out = res.out;
    out += fmt::format("{:8}{:>12}{:>12}{:>12}{:>12}", "", "total", "used", "free", "shared");
    if (o.wide)
        out += fmt::format("{:>12}{:>12}", "buffers", "cache");
    else
        out += fmt::format("{:>12}", "buff/cache");
    out += fmt::format("{:>12}\n", "available");
    if (o.wide)
        out += row("Mem:", {total, used, mfree, kb("Shmem"), buffers, cached, avail});
    else
        out += row("Mem:", {total, used, mfree, kb("Shmem"), buffers + cached, avail});
    if (o.lohi) {
        // Without highmem the kernel prints no Low/High lines: all of
        // memory is low.
        uint64_t low_total = meminfo_kb(*text, "LowTotal").value_or(total);
        uint64_t low_free = meminfo_kb(*text, "LowFree").value_or(mfree);
        uint64_t high_total = kb("HighTotal"), high_free = kb("HighFree");
        out += row("Low:", {low_total, low_total - low_free, low_free});
        out += row("High:", {high_total, high_total - high_free, high_free});
    }
    out += row("Swap:", {swap_total, swap_used, swap_free});
    if (o.total) out += row("Total:", {total + swap_total, used + swap_used, mfree + swap_free});
    if (o.committed) {
        uint64_t limit = kb("CommitLimit"), as = kb("Committed_AS");
        out += row("Comm:", {limit, as, limit - as});
    }
    return res;
}

}  // namespace mmsim::tools
