// pmap (procps-ng 4.0.2), reading /proc/PID/maps and smaps text.
//
// The four layouts differ in which file they read and how they size their
// columns:
//
//   default, -d   /proc/PID/maps; fixed widths (16-digit addresses)
//   -x            /proc/PID/smaps; fixed widths, one row per mapping, the
//                 row completed when its "Swap:" line is seen
//   -X, -XX       /proc/PID/smaps in two passes: the first measures every
//                 column (the widest value, header or total), the second
//                 prints; the columns are the "Key: N kB" lines the kernel
//                 wrote, minus the ones -X considers unimportant
//
// A mapping with a '/' in its line is named by the last path component
// (or the whole path with -p); others are "[ anon ]", or "[ stack ]" when
// the process's start of stack (field 28 of /proc/PID/stat) lies inside,
// or "[ shmid=0x... ]" for System V shared memory. The "Mode" column is the
// permissions with 'p' turned into '-' and a fifth '-' (Solaris's "R" for
// mappings without swap reservation, never set on Linux).
#include "tools/pmap.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "tools/procps_common.h"

namespace mmsim::tools {

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

uint64_t parse_hex(std::string_view s) {
    uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v, 16);
    return v;
}

// One line of maps or the header line of an smaps entry.
struct MapLine {
    std::string start_str, end_str, perms, offset_str, dev, inode;
    std::string name;  // the rest of the line, may be empty
    uint64_t start = 0, end = 0, offset = 0;
    unsigned dev_major = 0, dev_minor = 0;
    std::string line;  // the whole line
};

// True if `line` looks like "start-end perms offset dev inode [name]".
bool parse_map_line(std::string_view line, MapLine& m) {
    std::size_t i = 0;
    auto word = [&](auto pred) {
        std::size_t b = i;
        while (i < line.size() && pred(line[i])) i++;
        return std::string(line.substr(b, i - b));
    };
    auto skip_ws = [&] {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    };
    m.start_str = word(is_hex);
    if (m.start_str.empty() || i >= line.size() || line[i] != '-') return false;
    i++;
    m.end_str = word(is_hex);
    if (m.end_str.empty()) return false;
    skip_ws();
    m.perms = word([](char c) { return c != ' ' && c != '\t'; });
    skip_ws();
    m.offset_str = word(is_hex);
    skip_ws();
    m.dev = word([](char c) { return is_hex(c) || c == ':'; });
    skip_ws();
    m.inode = word([](char c) { return c != ' ' && c != '\t'; });
    if (m.perms.empty() || m.offset_str.empty() || m.dev.empty() || m.inode.empty()) return false;
    skip_ws();
    m.name = std::string(line.substr(i));
    m.start = parse_hex(m.start_str);
    m.end = parse_hex(m.end_str);
    m.offset = parse_hex(m.offset_str);
    std::size_t colon = m.dev.find(':');
    if (colon != std::string::npos) {
        m.dev_major = static_cast<unsigned>(parse_hex(m.dev.substr(0, colon)));
        m.dev_minor = static_cast<unsigned>(parse_hex(m.dev.substr(colon + 1)));
    }
    m.line = std::string(line);
    return true;
}

// The "Mapping" column of the default, -x and -d layouts.
std::string mapping_name(const MapLine& m, uint64_t start_stack, bool show_path) {
    if (m.dev_major == 0 && m.line.find("/SYSV") != std::string::npos) {
        uint64_t inode = 0;
        std::from_chars(m.inode.data(), m.inode.data() + m.inode.size(), inode);
        return fmt::format("  [ shmid=0x{:x} ]", inode);
    }
    std::size_t last = m.line.rfind('/');
    if (last != std::string::npos) {
        if (show_path) return m.line.substr(m.line.find('/'));
        return last + 1 < m.line.size() ? m.line.substr(last + 1) : m.line.substr(last);
    }
    uint64_t len = m.end - m.start;
    if (start_stack >= m.start && start_stack <= m.start + len) return "  [ stack ]";
    return "  [ anon ]";
}

// "r-xp" -> "r-x--"; counts the size into the shared or private totals.
std::string pmap_mode(std::string perms) {
    perms.resize(5, '-');
    if (perms[3] == 'p') perms[3] = '-';
    perms[4] = '-';
    return perms;
}

// "%-*s " or "%*s " with the width raised to the text's length; returns the width used.
int justify(std::string& out, std::string_view s, int width, bool right) {
    int len = static_cast<int>(s.size());
    if (width < len) width = len;
    out += right ? fmt::format("{:>{}} ", s, width) : fmt::format("{:<{}} ", s, width);
    return width;
}

int integer_width(uint64_t n) {
    int w = n == 0 ? 1 : 0;
    for (; n; n /= 10) w++;
    return w;
}

// A "Key:  N kB" line (or "Key:  N" as THPeligible has); false for VmFlags
// and anything else procps stops at.
bool parse_detail(std::string_view line, std::string& key, std::string& value) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 31) return false;
    key = std::string(line.substr(0, colon));
    std::size_t i = colon + 1;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    std::size_t b = i;
    while (i < line.size() && i - b < 20 && line[i] >= '0' && line[i] <= '9') i++;
    if (i == b) return false;
    value = std::string(line.substr(b, i - b));
    // Anything other than " kB" (or nothing) after the digits ends the list
    // only when it is a third field after "kB".
    std::string_view rest = line.substr(i);
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    if (rest.substr(0, 2) == "kB") {
        rest.remove_prefix(2);
        while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
        if (!rest.empty()) return false;
    }
    return true;
}

// Fields -X leaves out (-XX shows all).
bool unimportant(std::string_view k) {
    return k == "AnonHugePages" || k == "KernelPageSize" || k == "MMUPageSize" || k == "Shared_Dirty" ||
           k == "Private_Dirty" || k == "Shared_Clean" || k == "Private_Clean" || k == "VmFlags";
}

// The -X/-XX column list; it lives across the PIDs of one run, as procps's does.
struct DetailColumn {
    std::string name;
    uint64_t total = 0;
    int width = 0;
};

struct SmapsEntry {
    MapLine map;
    std::vector<std::string> values;  // one per column, in order
    std::string vmflags;
    bool has_vmflags = false;
};

class Pmap {
public:
    Pmap(const ProcSource& src, const PmapOptions& opt) : m_src(src), m_opt(opt) {}

    ToolOutput run() {
        for (int pid : m_opt.pids) {
            auto info = read_proc_info(m_src, pid);
            if (!info) {
                m_missing = true;
                continue;
            }
            if (!one_proc(*info)) m_res.status |= 1;
        }
        if (m_missing) m_res.status |= 42;
        return m_res;
    }

private:
    bool extended_x() const {
        return m_opt.format == PmapFormat::Smaps || m_opt.format == PmapFormat::SmapsAll;
    }
    bool enabled(std::string_view k) const { return m_opt.format == PmapFormat::SmapsAll || !unimportant(k); }

    bool one_proc(const ProcInfo& p) {
        std::string& out = m_res.out;
        std::string cmd = p.cmdline.empty() ? "[" + p.stat.comm + "]" : p.cmdline;
        out += fmt::format("{}:   {}\n", p.pid, cmd);
        bool smaps = m_opt.format != PmapFormat::Default && m_opt.format != PmapFormat::Device;
        auto text = m_src.read(fmt::format("/proc/{}/{}", p.pid, smaps ? "smaps" : "maps"));
        if (!text.ok()) return false;
        if (extended_x()) return print_extended(*text);
        print_simple(*text, p.stat.startstack);
        return true;
    }

    void print_simple(const std::string& text, uint64_t start_stack) {
        std::string& out = m_res.out;
        const PmapFormat f = m_opt.format;
        int w1 = 16, w2 = 7, w3 = 7, w4 = 7, w5 = 5;
        if (f == PmapFormat::Extended && !m_opt.quiet) {
            w1 = justify(out, "Address", w1, false);
            w2 = justify(out, "Kbytes", w2, true);
            w3 = justify(out, "RSS", w3, true);
            w4 = justify(out, "Dirty", w4, true);
            w5 = justify(out, "Mode", w5, false);
            out += "Mapping\n";
        }
        if (f == PmapFormat::Device) {
            w2 = 7, w3 = 5, w4 = 16, w5 = 9;
            if (!m_opt.quiet) {
                w1 = justify(out, "Address", w1, false);
                w2 = justify(out, "Kbytes", w2, true);
                w3 = justify(out, "Mode", w3, false);
                w4 = justify(out, "Offset", w4, false);
                w5 = justify(out, "Device", w5, false);
                out += "Mapping\n";
            }
        }
        uint64_t total_shared = 0, total_private_ro = 0, total_private_rw = 0;
        uint64_t rss = 0, dirty = 0, total_rss = 0, total_dirty = 0;
        uint64_t start = 0, diff = 0;
        std::string mode, name;
        bool pending = false;
        for (std::string_view line : text_lines(text)) {
            if (!line.empty() && line[0] >= 'A' && line[0] <= 'Z') {
                // An smaps "Key: value" line (-x only reads smaps).
                std::string key, value;
                std::size_t colon = line.find(':');
                if (colon == std::string_view::npos) continue;
                key = std::string(line.substr(0, colon));
                std::string_view v = line.substr(colon + 1);
                while (!v.empty() && (v[0] == ' ' || v[0] == '\t')) v.remove_prefix(1);
                uint64_t n = 0;
                if (std::from_chars(v.data(), v.data() + v.size(), n).ptr == v.data()) continue;
                if (key == "Rss") {
                    rss = n;
                    total_rss += n;
                } else if (key == "Shared_Dirty" || key == "Private_Dirty") {
                    dirty += n;
                    total_dirty += n;
                } else if (key == "Swap") {
                    if (pending)
                        out += fmt::format("{:0{}x} {:>{}} {:>{}} {:>{}} {:>{}} {}\n", start, w1, diff >> 10,
                                           w2, rss, w3, dirty, w4, mode, w5, name);
                    rss = dirty = 0;
                    pending = false;
                }
                continue;
            }
            MapLine m;
            if (!parse_map_line(line, m)) continue;
            if (m.end - 1 < m_opt.range_low) continue;
            if (m_opt.range_high < m.start) break;
            start = m.start;
            diff = m.end - m.start;
            if (m.perms.size() > 3 && m.perms[3] == 's') total_shared += diff;
            if (m.perms.size() > 3 && m.perms[3] == 'p') {
                if (m.perms[1] == 'w')
                    total_private_rw += diff;
                else
                    total_private_ro += diff;
            }
            mode = pmap_mode(m.perms);
            name = mapping_name(m, start_stack, m_opt.show_path);
            if (f == PmapFormat::Extended) {
                pending = true;
            } else if (f == PmapFormat::Device) {
                out += fmt::format("{:0{}x} {:>{}} {:>{}} {:0{}x} {:03x}:{:05x} {}\n", m.start, w1,
                                   diff >> 10, w2, mode, w3, m.offset, w4, m.dev_major, m.dev_minor, name);
            } else {
                out += fmt::format("{:016x} {:>6}K {} {}\n", m.start, diff >> 10, mode, name);
            }
        }
        if (m_opt.quiet) return;
        uint64_t mapped = (total_shared + total_private_rw + total_private_ro) >> 10;
        if (f == PmapFormat::Extended) {
            justify(out, "----------------", w1, false);
            justify(out, "-------", w2, true);
            justify(out, "-------", w3, true);
            justify(out, "-------", w4, true);
            out += "\n";
            out += fmt::format("{:<{}} {:>{}} {:>{}} {:>{}}\n", "total kB", w1, mapped, w2, total_rss, w3,
                               total_dirty, w4);
        } else if (f == PmapFormat::Device) {
            out += fmt::format("mapped: {}K    writeable/private: {}K    shared: {}K\n", mapped,
                               total_private_rw >> 10, total_shared >> 10);
        } else {
            out += fmt::format(" total {:>16}K\n", mapped);
        }
    }

    bool print_extended(const std::string& text) {
        // Pass 1: read every entry and measure.
        std::vector<SmapsEntry> entries;
        std::vector<std::string_view> lines = text_lines(text);
        int w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, wv = 0;
        bool has_vmflags = false;
        bool first_entry = true;
        std::size_t i = 0;
        while (i < lines.size()) {
            SmapsEntry e;
            if (!parse_map_line(lines[i], e.map)) {
                m_res.err += "pmap: Unknown format in smaps file!\n";
                return false;
            }
            i++;
            w1 = std::max(w1, static_cast<int>(e.map.start_str.size()));
            w2 = std::max(w2, static_cast<int>(e.map.perms.size()));
            w3 = std::max(w3, static_cast<int>(e.map.offset_str.size()));
            w4 = std::max(w4, static_cast<int>(e.map.dev.size()));
            w5 = std::max(w5, static_cast<int>(e.map.inode.size()));
            std::size_t col = 0;
            std::string key, value;
            while (i < lines.size() && parse_detail(lines[i], key, value)) {
                i++;
                if (!enabled(key)) continue;
                if (col >= m_columns.size()) {
                    if (!first_entry || m_columns_fixed) {
                        m_res.err += "pmap: ERROR: inconsistent detail field in smaps file\n";
                        return false;
                    }
                    m_columns.push_back({key, 0, m_opt.quiet ? 0 : static_cast<int>(key.size())});
                } else if (m_columns[col].name != key) {
                    m_res.err += "pmap: ERROR: inconsistent detail field in smaps file\n";
                    return false;
                }
                DetailColumn& c = m_columns[col++];
                uint64_t v = 0;
                std::from_chars(value.data(), value.data() + value.size(), v);
                c.total += v;
                if (m_opt.quiet) c.width = std::max(c.width, static_cast<int>(value.size()));
                e.values.push_back(value);
            }
            if (i < lines.size() && lines[i].substr(0, 8) == "VmFlags:") {
                std::string_view v = lines[i].substr(8);
                while (!v.empty() && v[0] == ' ') v.remove_prefix(1);
                std::size_t n = 0;
                while (n < v.size() && n < 127 && ((v[n] >= 'a' && v[n] <= 'z') || v[n] == ' ')) n++;
                e.vmflags = std::string(v.substr(0, n));
                if (!e.vmflags.empty() && e.vmflags.back() == ' ') e.vmflags.pop_back();
                wv = std::max(wv, static_cast<int>(e.vmflags.size()));
                e.has_vmflags = has_vmflags = true;
                i++;
            }
            first_entry = false;
            entries.push_back(std::move(e));
        }
        m_columns_fixed = m_columns_fixed || !m_columns.empty();
        if (!m_opt.quiet)
            for (auto& c : m_columns) c.width = std::max(c.width, integer_width(c.total));
        // Pass 2: print.
        std::string& out = m_res.out;
        bool show_flags = has_vmflags && enabled("VmFlags");
        bool first = true;
        for (const SmapsEntry& e : entries) {
            if (first && !m_opt.quiet) {
                w1 = justify(out, "Address", w1, true);
                w2 = justify(out, "Perm", w2, true);
                w3 = justify(out, "Offset", w3, true);
                w4 = justify(out, "Device", w4, true);
                w5 = justify(out, "Inode", w5, true);
                for (const auto& c : m_columns) justify(out, c.name, c.width, true);
                if (show_flags) wv = justify(out, "VmFlags", wv, true);
                out += "Mapping\n";
            }
            first = false;
            out += fmt::format("{:>{}} {:>{}} {:>{}} {:>{}} {:>{}}", e.map.start_str, w1, e.map.perms, w2,
                               e.map.offset_str, w3, e.map.dev, w4, e.map.inode, w5);
            for (std::size_t c = 0; c < m_columns.size(); c++)
                out += fmt::format(" {:>{}}", c < e.values.size() ? e.values[c] : "", m_columns[c].width);
            if (show_flags) out += fmt::format(" {:>{}}", e.vmflags, wv);
            const std::string& desc = e.map.name;
            std::size_t slash = desc.rfind('/');
            out += " ";
            out += (m_opt.show_path || slash == std::string::npos) ? desc : desc.substr(slash + 1);
            out += "\n";
        }
        if (!m_opt.quiet && !m_columns.empty()) {
            int gap = w1 + 1 + w2 + 1 + w3 + 1 + w4 + 1 + w5 + 1;
            out += std::string(static_cast<std::size_t>(gap), ' ');
            for (const auto& c : m_columns) out += std::string(static_cast<std::size_t>(c.width), '=') + " ";
            out += "\n";
            out += std::string(static_cast<std::size_t>(gap), ' ');
            // procps 4.0.2 never resets the totals: with several PIDs each
            // footer sums every process so far.
            for (const auto& c : m_columns) out += fmt::format("{:>{}} ", c.total, c.width);
            out += "KB \n";
        }
        return true;
    }

    const ProcSource& m_src;
    const PmapOptions& m_opt;
    ToolOutput m_res;
    bool m_missing = false;
    std::vector<DetailColumn> m_columns;
    bool m_columns_fixed = false;
};

}  // namespace

PmapOptions parse_pmap_args(const std::vector<std::string>& args) {
    PmapOptions o;
    int x = 0, X = 0, d = 0;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (!options_done && a.size() > 1 && a[0] == '-') {
            auto range = [&](const std::string& v, std::size_t at) {
                std::string lo = v, hi = v;
                std::size_t comma = v.find(',');
                if (comma != std::string::npos) lo = v.substr(0, comma), hi = v.substr(comma + 1);
                auto hex = [&](const std::string& s, uint64_t& out) {
                    if (s.empty()) return;
                    auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
                    if (r.ec != std::errc() || r.ptr != s.data() + s.size())
                        throw ToolArgError(at, fmt::format("pmap: failed to parse argument: '{}' "
                                                           "(expected LOW[,HIGH] in hex)",
                                                           v));
                };
                hex(lo, o.range_low);
                hex(hi, o.range_high);
            };
            if (a[1] == '-') {
                std::string name = a.substr(2), value;
                std::size_t eq = name.find('=');
                if (eq != std::string::npos) value = name.substr(eq + 1), name = name.substr(0, eq);
                if (name == "extended")
                    x = 1;
                else if (name == "device")
                    d = 1;
                else if (name == "quiet")
                    o.quiet = true;
                else if (name == "show-path")
                    o.show_path = true;
                else if (name == "range") {
                    if (eq == std::string::npos) {
                        if (i + 1 >= args.size()) throw ToolArgError(i, "pmap: --range needs LOW[,HIGH]");
                        value = args[++i];
                    }
                    range(value, i);
                } else {
                    throw ToolArgError(i,
                                       fmt::format("pmap: unknown option '{}' (expected -x, -X, -XX, -d, -q, "
                                                   "-p, -A LOW[,HIGH] or PIDs)",
                                                   a));
                }
                continue;
            }
            for (std::size_t j = 1; j < a.size(); j++) {
                char c = a[j];
                if (c == 'x')
                    x = 1;
                else if (c == 'X')
                    X++;
                else if (c == 'd')
                    d = 1;
                else if (c == 'q')
                    o.quiet = true;
                else if (c == 'p')
                    o.show_path = true;
                else if (c == 'r')
                    continue;  // SunOS compatibility, ignored
                else if (c == 'A') {
                    if (j + 1 < a.size()) {
                        range(a.substr(j + 1), i);
                    } else {
                        if (i + 1 >= args.size()) throw ToolArgError(i, "pmap: -A needs LOW[,HIGH]");
                        range(args[i + 1], i + 1);
                        i++;
                    }
                    break;
                } else {
                    throw ToolArgError(
                        i, fmt::format("pmap: unknown option '-{}' (expected -x, -X, -XX, -d, -q, "
                                       "-p, -A LOW[,HIGH] or PIDs)",
                                       c));
                }
            }
            continue;
        }
        std::string_view w = a;
        if (w.substr(0, 6) == "/proc/") w.remove_prefix(6);
        int pid = 0;
        auto r = std::from_chars(w.data(), w.data() + w.size(), pid);
        if (w.empty() || r.ec != std::errc() || r.ptr != w.data() + w.size() || pid < 1)
            throw ToolArgError(i,
                               fmt::format("pmap: '{}' is not a process ID (expected PID or /proc/PID)", a));
        o.pids.push_back(pid);
    }
    if (x + d + (X ? 1 : 0) > 1)
        throw ToolArgError(std::size_t(-1), "pmap: options -d, -x, -X are mutually exclusive");
    if (X > 2) throw ToolArgError(std::size_t(-1), "pmap: -X may be given at most twice (-XX)");
    if (o.pids.empty())
        throw ToolArgError(std::size_t(-1), "pmap: argument missing (expected one or more PIDs)");
    o.format = x        ? PmapFormat::Extended
               : d      ? PmapFormat::Device
               : X == 1 ? PmapFormat::Smaps
               : X == 2 ? PmapFormat::SmapsAll
                        : PmapFormat::Default;
    return o;
}

ToolOutput run_pmap(const ProcSource& src, const PmapOptions& opt) { return Pmap(src, opt).run(); }

}  // namespace mmsim::tools
