// ps: a snapshot of the processes, as procps-ng 4.0.2 prints it.
//
//   ps                 processes of the caller's user and terminal (in the
//                      simulation: every process, none has a terminal)
//   ps -e | -A         every process;   ps -p PID[,PID...]  those processes
//   ps -o COL[,COL...] columns: pid ppid pgid sid vsz rss comm args cmd
//                      command %mem %cpu stat s user uid tty tt time ni nlwp
//   ps -f              UID PID PPID C STIME TTY TIME CMD
//
// Columns have procps's widths; a command column (comm, args) is cut to its
// width unless it is the last one. Values come from /proc/PID/stat, status
// and cmdline, and /proc/meminfo and /proc/uptime for %MEM and %CPU.
#pragma once

#include <string>
#include <vector>

#include "tools/tool.h"

namespace mmsim::tools {

struct PsColumn {
    std::string name;    // "pid", "args", ...
    std::string header;  // "PID", "COMMAND"
};

struct PsOptions {
    bool all = false;
    std::vector<int> pids;
    std::vector<PsColumn> columns;  // empty: the default PID TTY TIME CMD
    bool full = false;              // -f
};

PsOptions parse_ps_args(const std::vector<std::string>& args);
ToolOutput run_ps(const ProcSource& src, const PsOptions& opt);

}  // namespace mmsim::tools
