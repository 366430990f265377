// top -b -n 1 (procps-ng 4.0.2), reading /proc text.
//
// The %Cpu(s) line shows how the CPU time counted in /proc/stat's "cpu"
// line grew between two reads, in percent of the growth. top reads the file
// once at start and once for the frame; a source that does not change
// between them (a snapshot, the simulation at one instant) gives no growth,
// which top shows as 100.0 idle. The same holds for each task's %CPU.
//
// Memory amounts are KiB in the task table (a value too wide for its column
// is shown in MiB "12.3m", then GiB "1.2g", as top's scale_mem does) and
// MiB in the summary; "used" is MemTotal - MemAvailable and "buff/cache"
// Buffers + Cached + SReclaimable, as in procps 4.
#include "tools/top.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "base/text.h"
#include "tools/procps_common.h"

namespace mmsim::tools {

namespace {

// The "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal.
std::vector<uint64_t> cpu_line(const ProcSource& src) {
    std::vector<uint64_t> v(8, 0);
    auto r = src.read("/proc/stat");
    if (!r.ok()) return v;
    for (std::string_view l : text_lines(*r)) {
        std::vector<std::string> w = split_ws(l);
        if (w.empty() || w[0] != "cpu") continue;
        for (std::size_t i = 0; i < 8 && i + 1 < w.size(); i++)
            std::from_chars(w[i + 1].data(), w[i + 1].data() + w[i + 1].size(), v[i]);
        break;
    }
    return v;
}

// scale_mem(): KiB if it fits, else MiB, GiB, ... with one decimal.
std::string scale_kib(uint64_t kib, int width) {
    float n = static_cast<float>(kib);
    std::string s = fmt::format("{:.0f}", n);
    if (static_cast<int>(s.size()) <= width) return s;
    const char* sfx = "mgtpe";
    for (int i = 0; i < 5; i++) {
        n /= 1024.0f;
        s = fmt::format("{:.1f}{}", n, sfx[i]);
        if (static_cast<int>(s.size()) <= width) return s;
    }
    return "?";
}

// TIME+: minutes:seconds.hundredths, or coarser when that does not fit.
std::string time_plus(uint64_t ticks, int width) {
    uint64_t cc = ticks % 100, t = ticks / 100;
    uint64_t ss = t % 60, mm = t / 60;
    std::string s = fmt::format("{}:{:02}.{:02}", mm, ss, cc);
    if (static_cast<int>(s.size()) <= width) return s;
    s = fmt::format("{}:{:02}", mm, ss);
    if (static_cast<int>(s.size()) <= width) return s;
    return fmt::format("{},{:02}", mm / 60, mm % 60);
}

}  // namespace

TopOptions parse_top_args(const std::vector<std::string>& args) {
    TopOptions o;
    const char* expected = "expected -b, -n 1, -p PID[,PID...], -w [N], -d SECS";
    for (std::size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (a.size() < 2 || a[0] != '-')
            throw ToolArgError(i, fmt::format("top: unexpected argument '{}' ({})", a, expected));
        for (std::size_t j = 1; j < a.size(); j++) {
            char c = a[j];
            if (c == 'b') continue;
            if (c == 'w') {  // optional width: ignored (batch lines are not cut)
                if (j + 1 == a.size() && i + 1 < args.size() && !args[i + 1].empty() &&
                    std::isdigit(static_cast<unsigned char>(args[i + 1][0])))
                    i++;
                break;
            }
            if (c != 'n' && c != 'p' && c != 'd')
                throw ToolArgError(i, fmt::format("top: unsupported option '-{}' ({})", c, expected));
            std::string v = a.substr(j + 1);
            std::size_t at = i;
            if (v.empty()) {
                if (i + 1 >= args.size()) throw ToolArgError(i, fmt::format("top: -{} needs a value", c));
                at = ++i;
                v = args[i];
            }
            if (c == 'n' && v != "1")
                throw ToolArgError(
                    at, fmt::format("top: -n {}: only one iteration is supported (expected -n 1)", v));
            if (c == 'p') {
                std::size_t b = 0;
                while (b <= v.size()) {
                    std::size_t e = v.find(',', b);
                    if (e == std::string::npos) e = v.size();
                    std::string w = v.substr(b, e - b);
                    b = e + 1;
                    int pid = 0;
                    auto r = std::from_chars(w.data(), w.data() + w.size(), pid);
                    if (w.empty() || r.ec != std::errc() || r.ptr != w.data() + w.size() || pid < 0)
                        throw ToolArgError(at,
                                           fmt::format("top: bad pid '{}' (expected -p PID[,PID...])", w));
                    o.pids.push_back(pid);
                }
            }
            break;
        }
    }
    return o;
}

ToolOutput run_top(const ProcSource& src, const TopOptions& opt, const ToolEnv& env) {
    ToolOutput res;
    std::string& out = res.out;
    std::vector<uint64_t> cpu0 = cpu_line(src);

    double uptime = 0;
    if (auto up = src.read("/proc/uptime"); up.ok()) {
        std::vector<std::string> w = split_ws(*up);
        if (!w.empty()) uptime = std::strtod(w[0].c_str(), nullptr);
    }
    double load[3] = {0, 0, 0};
    if (auto la = src.read("/proc/loadavg"); la.ok()) {
        std::vector<std::string> w = split_ws(*la);
        for (std::size_t i = 0; i < 3 && i < w.size(); i++) load[i] = std::strtod(w[i].c_str(), nullptr);
    }
    std::string meminfo;
    if (auto mi = src.read("/proc/meminfo"); mi.ok()) meminfo = std::move(mi.value());
    auto mem = [&](const char* k) { return meminfo_kb(meminfo, k).value_or(0); };

    // The tasks.
    std::vector<ProcInfo> tasks;
    for (int pid : src.pids()) {
        if (!opt.pids.empty() && std::find(opt.pids.begin(), opt.pids.end(), pid) == opt.pids.end()) continue;
        if (auto p = read_proc_info(src, pid)) tasks.push_back(std::move(*p));
    }
    std::vector<uint64_t> cpu1 = cpu_line(src);

    // Line 1: the clock, uptime, users and load.
    std::string hms = env.clock_hms;
    if (hms.empty()) {
        auto t = static_cast<uint64_t>(uptime);
        hms = fmt::format("{:02}:{:02}:{:02}", t / 3600 % 24, t / 60 % 60, t % 60);
    }
    int secs = static_cast<int>(uptime);
    int days = secs / 86400, minutes = secs / 60, hours = minutes / 60 % 24;
    minutes %= 60;
    std::string up;
    if (days) up += fmt::format("{} day{}, ", days, days != 1 ? "s" : "");
    up += hours ? fmt::format("{:>2}:{:02}, ", hours, minutes) : fmt::format("{} min, ", minutes);
    out += fmt::format("top - {} up {}{:>2} user{},  load average: {:.2f}, {:.2f}, {:.2f}\n", hms, up,
                       env.users, env.users > 1 ? "s" : "", load[0], load[1], load[2]);

    // Line 2: task states.
    int running = 0, sleeping = 0, stopped = 0, zombie = 0;
    for (const auto& t : tasks) {
        switch (t.stat.state) {
            case 'R':
                running++;
                break;
            case 'S':
            case 'D':
            case 'I':
                sleeping++;
                break;
            case 'T':
            case 't':
                stopped++;
                break;
            case 'Z':
                zombie++;
                break;
            default:
                break;
        }
    }
    out += fmt::format("Tasks:{:>4} total,{:>4} running,{:>4} sleeping,{:>4} stopped,{:>4} zombie\n",
                       tasks.size(), running, sleeping, stopped, zombie);

    // Line 3: CPU time split over the interval between the two reads.
    double d[8];
    double tot = 0;
    for (int i = 0; i < 8; i++) {
        d[i] =
            cpu1[static_cast<std::size_t>(i)] >= cpu0[static_cast<std::size_t>(i)]
                ? static_cast<double>(cpu1[static_cast<std::size_t>(i)] - cpu0[static_cast<std::size_t>(i)])
                : 0;
        tot += d[i];
    }
    if (tot < 1) d[3] = tot = 1;  // nothing elapsed: all idle
    double sc = 100.0 / tot;
    out += fmt::format(
        "%Cpu(s):{:5.1f} us,{:5.1f} sy,{:5.1f} ni,{:5.1f} id,{:5.1f} wa,{:5.1f} hi,{:5.1f} si,{:5.1f} st \n",
        d[0] * sc, d[2] * sc, d[1] * sc, d[3] * sc, d[4] * sc, d[5] * sc, d[6] * sc, d[7] * sc);

    // Lines 4 and 5: memory in MiB.
    auto mib = [](uint64_t kb) { return fmt::format("{:>9.1f}", static_cast<double>(kb) / 1024.0); };
    uint64_t total = mem("MemTotal"), avail = mem("MemAvailable");
    uint64_t used = total > avail ? total - avail : 0;
    uint64_t bc = mem("Buffers") + mem("Cached") + mem("SReclaimable");
    uint64_t st = mem("SwapTotal"), sf = mem("SwapFree");
    out += fmt::format("MiB Mem :{} total,{} free,{} used,{} buff/cache     \n", mib(total),
                       mib(mem("MemFree")), mib(used), mib(bc));
    out += fmt::format("MiB Swap:{} total,{} free,{} used.{} avail Mem \n", mib(st), mib(sf),
                       mib(st > sf ? st - sf : 0), mib(avail));
    out += "\n";

    // The task table; every %CPU is 0.0 over an interval without growth, so
    // the order is the pid order top's stable sort keeps.
    int pw = pid_width(src);
    out += fmt::format("{:>{}} USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n",
                       "PID", pw);
    for (const auto& t : tasks) {
        std::string user = user_name(t.euid);
        if (user.size() > 8) user = user.substr(0, 7) + "+";
        std::string pr = t.stat.priority < -99 ? "rt" : std::to_string(t.stat.priority);
        float pmem = total ? static_cast<float>(t.vm_rss_kb) * 100.0f / static_cast<float>(total) : 0.0f;
        out += fmt::format("{:>{}} {:<8} {:>3} {:>3} {:>7} {:>6} {:>6} {} {:>5.1f} {:>5.1f} {:>9} {}\n",
                           t.pid, pw, user, pr, t.stat.nice, scale_kib(t.vm_size_kb, 7),
                           scale_kib(t.vm_rss_kb, 6), scale_kib(t.shared_kb, 6), t.stat.state, 0.0, pmem,
                           time_plus(t.stat.utime + t.stat.stime, 9), t.stat.comm);
    }
    return res;
}

}  // namespace mmsim::tools
