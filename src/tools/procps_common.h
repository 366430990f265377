// Parsing the per-process /proc files the way procps and smem read them.
//
// /proc/PID/stat is one line whose second field, the command name, is in
// parentheses and may itself hold spaces and parentheses, so the fields
// after it are found from the LAST ')'. /proc/PID/status is "Key:\tvalue"
// lines; /proc/PID/cmdline is the argument vector joined by NUL bytes
// (empty for a kernel thread). These helpers turn them into plain values;
// the tools decide what to print.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/proc_source.h"

namespace mmsim::tools {

// The fields of /proc/PID/stat the tools use (proc(5) numbering in comments).
struct PidStat {
    int pid = 0;              // 1
    std::string comm;         // 2
    char state = '?';         // 3
    int ppid = 0;             // 4
    int pgrp = 0;             // 5
    int session = 0;          // 6
    int tty_nr = 0;           // 7
    int tpgid = -1;           // 8
    uint64_t utime = 0;       // 14, clock ticks
    uint64_t stime = 0;       // 15
    long priority = 0;        // 18
    long nice = 0;            // 19
    long num_threads = 1;     // 20
    uint64_t starttime = 0;   // 22, ticks after boot
    uint64_t vsize = 0;       // 23, bytes
    int64_t rss = 0;          // 24, pages
    uint64_t startstack = 0;  // 28
};

std::optional<PidStat> parse_pid_stat(std::string_view text);

// The value of "Key:" in status-like text, without leading white space.
std::optional<std::string> status_field(std::string_view text, std::string_view key);
// The first number of a field ("VmRSS:   1400 kB" -> 1400, "Uid: 0 0 0 0" -> 0).
std::optional<uint64_t> status_number(std::string_view text, std::string_view key, std::size_t word = 0);

// cmdline bytes as ps shows them: NULs become spaces, the final NUL goes.
std::string cmdline_text(std::string_view raw);

// The user name of a uid: "root" for 0, the host's passwd entry otherwise,
// else the number.
std::string user_name(uint64_t uid);

// Lines of a text, without their newlines.
std::vector<std::string_view> text_lines(std::string_view text);

// The number of digits procps gives PID columns: those of pid_max (5 when
// /proc/sys/kernel/pid_max is missing).
int pid_width(const ProcSource& src);

// Everything the process tools know about one process.
struct ProcInfo {
    int pid = 0;
    PidStat stat;
    std::string status;   // raw text
    std::string cmdline;  // cmdline_text()
    uint64_t euid = 0;
    uint64_t vm_rss_kb = 0;
    uint64_t vm_size_kb = 0;
    uint64_t shared_kb = 0;  // RssFile + RssShmem
    uint64_t locked_kb = 0;  // VmLck
};

// Reads stat, status and cmdline; nullopt if the process is gone.
std::optional<ProcInfo> read_proc_info(const ProcSource& src, int pid);

// Field N of /proc/meminfo in kB (nullopt if absent).
std::optional<uint64_t> meminfo_kb(std::string_view meminfo, std::string_view key);

}  // namespace mmsim::tools
