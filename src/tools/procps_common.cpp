// Parsing per-process /proc files for the tools (see procps_common.h).
#include "tools/procps_common.h"

#include <pwd.h>

#include <charconv>
#include <map>

#include "base/text.h"

namespace mmsim::tools {

namespace {

template <class T>
T to_num(std::string_view s) {
    T v{};
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

}  // namespace

std::vector<std::string_view> text_lines(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        out.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

std::optional<PidStat> parse_pid_stat(std::string_view text) {
    std::size_t open = text.find('(');
    std::size_t close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    PidStat s;
    s.pid = to_num<int>(text.substr(0, open));
    s.comm = std::string(text.substr(open + 1, close - open - 1));
    // Fields from 3 on; f[0] is field 3 (state).
    std::vector<std::string> f = split_ws(text.substr(close + 1));
    if (f.size() < 26) return std::nullopt;
    auto at = [&](int field) -> const std::string& { return f[static_cast<std::size_t>(field - 3)]; };
    s.state = at(3).empty() ? '?' : at(3)[0];
    s.ppid = to_num<int>(at(4));
    s.pgrp = to_num<int>(at(5));
    s.session = to_num<int>(at(6));
    s.tty_nr = to_num<int>(at(7));
    s.tpgid = to_num<int>(at(8));
    s.utime = to_num<uint64_t>(at(14));
    s.stime = to_num<uint64_t>(at(15));
    s.priority = to_num<long>(at(18));
    s.nice = to_num<long>(at(19));
    s.num_threads = to_num<long>(at(20));
    s.starttime = to_num<uint64_t>(at(22));
    s.vsize = to_num<uint64_t>(at(23));
    s.rss = to_num<int64_t>(at(24));
    s.startstack = to_num<uint64_t>(at(28));
    return s;
}

std::optional<std::string> status_field(std::string_view text, std::string_view key) {
    for (std::string_view line : text_lines(text)) {
        if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
            std::string_view v = line.substr(key.size() + 1);
            while (!v.empty() && (v[0] == ' ' || v[0] == '\t')) v.remove_prefix(1);
            return std::string(v);
        }
    }
    return std::nullopt;
}

std::optional<uint64_t> status_number(std::string_view text, std::string_view key, std::size_t word) {
    auto v = status_field(text, key);
    if (!v) return std::nullopt;
    std::vector<std::string> w = split_ws(*v);
    if (word >= w.size()) return std::nullopt;
    return to_num<uint64_t>(w[word]);
}

std::string cmdline_text(std::string_view raw) {
    std::string s(raw);
    while (!s.empty() && s.back() == '\0') s.pop_back();
    for (char& c : s)
        if (c == '\0') c = ' ';
    return s;
}

std::string user_name(uint64_t uid) {
    if (uid == 0) return "root";
    static std::map<uint64_t, std::string> cache;
    auto it = cache.find(uid);
    if (it != cache.end()) return it->second;
    std::string name = std::to_string(uid);
    passwd pw{}, *res = nullptr;
    char buf[4096];
    if (::getpwuid_r(static_cast<uid_t>(uid), &pw, buf, sizeof buf, &res) == 0 && res) name = pw.pw_name;
    cache[uid] = name;
    return name;
}

int pid_width(const ProcSource& src) {
    auto r = src.read("/proc/sys/kernel/pid_max");
    if (!r.ok()) return 5;
    std::vector<std::string> w = split_ws(*r);
    if (w.empty()) return 5;
    int digits = static_cast<int>(w[0].size());
    return digits < 5 ? 5 : digits;
}

std::optional<ProcInfo> read_proc_info(const ProcSource& src, int pid) {
    std::string dir = "/proc/" + std::to_string(pid) + "/";
    auto stat = src.read(dir + "stat");
    if (!stat.ok()) return std::nullopt;
    auto ps = parse_pid_stat(*stat);
    if (!ps) return std::nullopt;
    ProcInfo p;
    p.pid = pid;
    p.stat = std::move(*ps);
    if (auto st = src.read(dir + "status"); st.ok()) p.status = std::move(st.value());
    if (auto cl = src.read(dir + "cmdline"); cl.ok()) p.cmdline = cmdline_text(*cl);
    p.euid = status_number(p.status, "Uid", 1).value_or(0);
    p.vm_rss_kb = status_number(p.status, "VmRSS").value_or(0);
    p.vm_size_kb = status_number(p.status, "VmSize").value_or(p.stat.vsize / 1024);
    p.shared_kb =
        status_number(p.status, "RssFile").value_or(0) + status_number(p.status, "RssShmem").value_or(0);
    p.locked_kb = status_number(p.status, "VmLck").value_or(0);
    return p;
}

std::optional<uint64_t> meminfo_kb(std::string_view meminfo, std::string_view key) {
    return status_number(meminfo, key);
}

}  // namespace mmsim::tools
