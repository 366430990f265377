// top in batch mode: one frame, as procps-ng 4.0.2 prints it.
//
//   top - HH:MM:SS up ..., N user,  load average: ...    /proc/uptime, loadavg
//   Tasks: ... total, ... running, ... sleeping, ...     process states
//   %Cpu(s): us sy ni id wa hi si st                     /proc/stat deltas
//   MiB Mem : total, free, used, buff/cache              /proc/meminfo
//   MiB Swap: total, free, used. avail Mem
//
//   PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND, sorted by %CPU
//
// Options: -b (batch; the only mode), -n 1, -p PID[,PID...], -w [N] and
// -d SECS are accepted and ignored.
#pragma once

#include <string>
#include <vector>

#include "tools/tool.h"

namespace mmsim::tools {

struct TopOptions {
    std::vector<int> pids;  // empty: every process
};

TopOptions parse_top_args(const std::vector<std::string>& args);
ToolOutput run_top(const ProcSource& src, const TopOptions& opt, const ToolEnv& env);

}  // namespace mmsim::tools
