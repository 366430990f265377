// ps (procps-ng 4.0.2), reading /proc/PID/{stat,status,cmdline}.
//
// Each column has a width and an alignment (procps's format table):
//
//   pid ppid pgid sid   pid_max digits, right    vsz 6 right   rss 5 right
//   comm 15 left        args/cmd/command 27 left  %mem %cpu 4 right
//   stat 4 left         s 1   user 8 left   uid 5 right   tty 8 left
//   time 8 right        ni 3 right   nlwp 4 right
//
// A value wider than its column pushes the rest of the line right until
// later columns' padding absorbs it; the command columns are cut at their
// width instead, except in the last column, which is never padded. %MEM is RSS over MemTotal and %CPU the CPU
// time over the time since the process started, both in tenths and
// truncated, not rounded (procps computes them in per-mille integers).
#include "tools/ps.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "base/text.h"
#include "tools/procps_common.h"

namespace mmsim::tools {

namespace {

constexpr uint64_t kHz = 100;  // USER_HZ: /proc reports CPU time in 1/100 s

struct ColumnDef {
    std::string header;
    int width;  // -1: the pid width
    bool left;
    bool cut;  // a command column: cut to width unless last
};

const std::map<std::string, ColumnDef>& column_defs() {
    static const std::map<std::string, ColumnDef> defs = {
        {"pid", {"PID", -1, false, false}},     {"ppid", {"PPID", -1, false, false}},
        {"pgid", {"PGID", -1, false, false}},   {"pgrp", {"PGRP", -1, false, false}},
        {"sid", {"SID", -1, false, false}},     {"sess", {"SESS", -1, false, false}},
        {"vsz", {"VSZ", 6, false, false}},      {"vsize", {"VSZ", 6, false, false}},
        {"rss", {"RSS", 5, false, false}},      {"rssize", {"RSS", 5, false, false}},
        {"rsz", {"RSZ", 5, false, false}},      {"comm", {"COMMAND", 15, true, true}},
        {"ucomm", {"COMMAND", 15, true, true}}, {"ucmd", {"CMD", 15, true, true}},
        {"args", {"COMMAND", 27, true, true}},  {"command", {"COMMAND", 27, true, true}},
        {"cmd", {"CMD", 27, true, true}},       {"%mem", {"%MEM", 4, false, false}},
        {"pmem", {"%MEM", 4, false, false}},    {"%cpu", {"%CPU", 4, false, false}},
        {"pcpu", {"%CPU", 4, false, false}},    {"stat", {"STAT", 4, true, false}},
        {"s", {"S", 1, true, false}},           {"state", {"S", 1, true, false}},
        {"user", {"USER", 8, true, false}},     {"euser", {"EUSER", 8, true, false}},
        {"uname", {"USER", 8, true, false}},    {"uid", {"UID", 5, false, false}},
        {"euid", {"EUID", 5, false, false}},    {"tty", {"TT", 8, true, false}},
        {"tt", {"TT", 8, true, false}},         {"tname", {"TTY", 8, true, false}},
        {"time", {"TIME", 8, false, false}},    {"cputime", {"TIME", 8, false, false}},
        {"ni", {"NI", 3, false, false}},        {"nice", {"NI", 3, false, false}},
        {"nlwp", {"NLWP", 4, false, false}},    {"thcount", {"THCNT", 4, false, false}},
        {"c", {"C", 2, false, false}},          {"f_uid", {"UID", 8, true, false}},
        {"stime", {"STIME", 5, true, false}},
    };
    return defs;
}

std::string column_list() {
    return "pid ppid pgid sid vsz rss comm args cmd command %mem %cpu stat s user uid tty tt time ni nlwp";
}

std::string cputime(uint64_t ticks) {
    uint64_t t = ticks / kHz;
    uint64_t d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, s = t % 60;
    if (d) return fmt::format("{}-{:02}:{:02}:{:02}", d, h, m, s);
    return fmt::format("{:02}:{:02}:{:02}", h, m, s);
}

std::string permille(uint64_t pm) {
    if (pm > 999) return fmt::format("{}", pm / 10);
    return fmt::format("{:>2}.{}", pm / 10, pm % 10);
}

std::string tty_name(int tty_nr) {
    if (tty_nr == 0) return "?";
    unsigned major = (static_cast<unsigned>(tty_nr) >> 8) & 0xfff;
    unsigned minor =
        (static_cast<unsigned>(tty_nr) & 0xff) | ((static_cast<unsigned>(tty_nr) >> 12) & 0xfff00);
    if (major == 136) return fmt::format("pts/{}", minor);
    if (major == 4 && minor < 64) return fmt::format("tty{}", minor);
    if (major == 4) return fmt::format("ttyS{}", minor - 64);
    return "?";
}

struct Context {
    uint64_t mem_total_kb = 0;
    double uptime = 0;
    int pid_width = 5;
};

std::string cell(const std::string& col, const ProcInfo& p, const Context& cx) {
    const PidStat& s = p.stat;
    if (col == "pid") return std::to_string(p.pid);
    if (col == "ppid") return std::to_string(s.ppid);
    if (col == "pgid" || col == "pgrp") return std::to_string(s.pgrp);
    if (col == "sid" || col == "sess") return std::to_string(s.session);
    if (col == "vsz" || col == "vsize") return std::to_string(p.vm_size_kb);
    if (col == "rss" || col == "rssize" || col == "rsz") return std::to_string(p.vm_rss_kb);
    if (col == "comm" || col == "ucomm" || col == "ucmd") return s.comm;
    if (col == "args" || col == "command" || col == "cmd")
        return p.cmdline.empty() ? "[" + s.comm + "]" : p.cmdline;
    if (col == "%mem" || col == "pmem")
        return permille(cx.mem_total_kb ? p.vm_rss_kb * 1000 / cx.mem_total_kb : 0);
    if (col == "%cpu" || col == "pcpu" || col == "c") {
        double seconds = cx.uptime - static_cast<double>(s.starttime) / kHz;
        uint64_t secs = seconds > 0 ? static_cast<uint64_t>(seconds) : 0;
        uint64_t pm = secs ? (s.utime + s.stime) * 1000 / kHz / secs : 0;
        if (col == "c") return std::to_string(std::min<uint64_t>(pm / 10, 99));
        return permille(pm);
    }
    if (col == "stat") {
        std::string r(1, s.state);
        if (s.nice < 0) r += '<';
        if (s.nice > 0) r += 'N';
        if (p.locked_kb) r += 'L';
        if (s.session == p.pid) r += 's';
        if (s.num_threads > 1) r += 'l';
        if (s.pgrp == s.tpgid) r += '+';
        return r;
    }
    if (col == "s" || col == "state") return std::string(1, s.state);
    if (col == "user" || col == "euser" || col == "uname" || col == "f_uid") {
        std::string u = user_name(p.euid);
        if (u.size() > 8) u = u.substr(0, 7) + "+";
        return u;
    }
    if (col == "uid" || col == "euid") return std::to_string(p.euid);
    if (col == "tty" || col == "tt" || col == "tname") return tty_name(s.tty_nr);
    if (col == "time" || col == "cputime") return cputime(s.utime + s.stime);
    if (col == "ni" || col == "nice") return std::to_string(s.nice);
    if (col == "nlwp" || col == "thcount") return std::to_string(s.num_threads);
    if (col == "stime") {
        // The start as HH:MM of a day that began at boot.
        uint64_t t = s.starttime / kHz;
        return fmt::format("{:02}:{:02}", t / 3600 % 24, t / 60 % 60);
    }
    return "?";
}

std::vector<PsColumn> parse_columns(const std::string& list, std::size_t at) {
    std::vector<PsColumn> out;
    std::string item;
    for (std::string_view w : std::vector<std::string>{split_ws(std::string(list))}) {
        std::string ws(w);
        std::size_t b = 0;
        while (b <= ws.size()) {
            std::size_t e = ws.find(',', b);
            if (e == std::string::npos) e = ws.size();
            std::string name = ws.substr(b, e - b);
            b = e + 1;
            if (name.empty()) continue;
            std::string header;
            std::size_t eq = name.find('=');
            if (eq != std::string::npos) header = name.substr(eq + 1), name = name.substr(0, eq);
            auto it = column_defs().find(name);
            if (it == column_defs().end())
                throw ToolArgError(at, fmt::format("ps: unknown column '{}' in -o (expected a list of: {})",
                                                   name, column_list()));
            out.push_back({name, eq != std::string::npos ? header : it->second.header});
        }
    }
    if (out.empty()) throw ToolArgError(at, "ps: -o needs a column list (" + column_list() + ")");
    return out;
}

std::vector<int> parse_pid_list(const std::string& list, std::size_t at) {
    std::vector<int> out;
    std::size_t b = 0;
    while (b <= list.size()) {
        std::size_t e = list.find_first_of(", ", b);
        if (e == std::string::npos) e = list.size();
        std::string w = list.substr(b, e - b);
        b = e + 1;
        if (w.empty()) continue;
        int pid = 0;
        auto r = std::from_chars(w.data(), w.data() + w.size(), pid);
        if (r.ec != std::errc() || r.ptr != w.data() + w.size() || pid < 0)
            throw ToolArgError(
                at, fmt::format("ps: process ID list syntax error: '{}' (expected PID[,PID...])", w));
        out.push_back(pid);
    }
    if (out.empty()) throw ToolArgError(at, "ps: -p needs a list of process IDs");
    return out;
}

}  // namespace

PsOptions parse_ps_args(const std::vector<std::string>& args) {
    PsOptions o;
    const char* expected = "expected -e, -A, -f, -p PID[,PID...], -o COLUMNS";
    for (std::size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        auto value = [&](const std::string& inline_value, std::size_t& at) -> std::string {
            if (!inline_value.empty()) return inline_value;
            if (i + 1 >= args.size()) throw ToolArgError(i, fmt::format("ps: {} needs a value", a));
            at = ++i;
            return args[i];
        };
        if (a == "--pid" || a.rfind("--pid=", 0) == 0 || a == "--format" || a.rfind("--format=", 0) == 0) {
            bool pid = a.rfind("--pid", 0) == 0;
            std::size_t eq = a.find('=');
            std::size_t at = i;
            std::string v = value(eq == std::string::npos ? "" : a.substr(eq + 1), at);
            if (pid) {
                auto l = parse_pid_list(v, at);
                o.pids.insert(o.pids.end(), l.begin(), l.end());
            } else {
                auto c = parse_columns(v, at);
                o.columns.insert(o.columns.end(), c.begin(), c.end());
            }
            continue;
        }
        if (a.size() < 2 || a[0] != '-' || a[1] == '-')
            throw ToolArgError(i, fmt::format("ps: unsupported argument '{}' ({})", a, expected));
        for (std::size_t j = 1; j < a.size(); j++) {
            char c = a[j];
            if (c == 'e' || c == 'A') {
                o.all = true;
            } else if (c == 'f') {
                o.full = true;
            } else if (c == 'p' || c == 'o') {
                std::size_t at = i;
                std::string v = value(a.substr(j + 1), at);
                if (c == 'p') {
                    auto l = parse_pid_list(v, at);
                    o.pids.insert(o.pids.end(), l.begin(), l.end());
                } else {
                    auto cols = parse_columns(v, at);
                    o.columns.insert(o.columns.end(), cols.begin(), cols.end());
                }
                break;
            } else {
                throw ToolArgError(i, fmt::format("ps: unsupported option '-{}' ({})", c, expected));
            }
        }
    }
    return o;
}

ToolOutput run_ps(const ProcSource& src, const PsOptions& opt) {
    ToolOutput res;
    Context cx;
    cx.pid_width = pid_width(src);
    if (auto mi = src.read("/proc/meminfo"); mi.ok())
        cx.mem_total_kb = meminfo_kb(*mi, "MemTotal").value_or(0);
    if (auto up = src.read("/proc/uptime"); up.ok()) {
        std::vector<std::string> w = split_ws(*up);
        if (!w.empty()) cx.uptime = std::strtod(w[0].c_str(), nullptr);
    }
    std::vector<PsColumn> cols = opt.columns;
    if (cols.empty() && opt.full)
        cols = {{"f_uid", "UID"},   {"pid", "PID"},   {"ppid", "PPID"}, {"c", "C"},
                {"stime", "STIME"}, {"tname", "TTY"}, {"time", "TIME"}, {"cmd", "CMD"}};
    if (cols.empty()) cols = {{"pid", "PID"}, {"tname", "TTY"}, {"time", "TIME"}, {"ucmd", "CMD"}};

    // Without -e or -p: the caller's effective user and terminal (/proc/self).
    std::optional<ProcInfo> self;
    if (!opt.all && opt.pids.empty()) {
        auto r = src.read("/proc/self/stat");
        if (r.ok())
            if (auto st = parse_pid_stat(*r)) self = read_proc_info(src, st->pid);
    }
    std::vector<ProcInfo> rows;
    for (int pid : src.pids()) {
        auto p = read_proc_info(src, pid);
        if (!p) continue;
        bool take = opt.all;
        if (!take && !opt.pids.empty())
            take = std::find(opt.pids.begin(), opt.pids.end(), pid) != opt.pids.end();
        if (!take && !opt.all && opt.pids.empty())
            take = self ? p->euid == self->euid && p->stat.tty_nr == self->stat.tty_nr
                        : p->euid == 0 && p->stat.tty_nr == 0;
        if (take) rows.push_back(std::move(*p));
    }

    auto emit = [&](const std::vector<std::string>& cells) {
        std::string line;
        int debt = 0;  // characters an earlier value took beyond its column
        for (std::size_t i = 0; i < cols.size(); i++) {
            const ColumnDef& d = column_defs().at(cols[i].name);
            int w = d.width < 0 ? cx.pid_width : d.width;
            bool last = i + 1 == cols.size();
            std::string v = cells[i];
            if (d.cut && !last && static_cast<int>(v.size()) > w)
                v = v.substr(0, static_cast<std::size_t>(w));
            int pad = w - static_cast<int>(v.size());
            if (pad < 0) {
                debt -= pad;
                pad = 0;
            } else {
                int take = std::min(pad, debt);  // later padding pays the overflow back
                pad -= take;
                debt -= take;
            }
            if (i) line += ' ';
            if (d.left)
                line += last ? v : v + std::string(static_cast<std::size_t>(pad), ' ');
            else
                line += std::string(static_cast<std::size_t>(pad), ' ') + v;
        }
        res.out += line + "\n";
    };
    std::vector<std::string> header;
    for (const auto& c : cols) header.push_back(c.header);
    emit(header);
    for (const ProcInfo& p : rows) {
        std::vector<std::string> cells;
        for (const auto& c : cols) cells.push_back(cell(c.name, p, cx));
        emit(cells);
    }
    if (rows.empty()) res.status = 1;
    return res;
}

}  // namespace mmsim::tools
