// smem: memory per process, per user, per mapping or for the whole system,
// as smem 1.5 (Debian 12's Python script) prints it.
//
//   smem          PID User Command Swap USS PSS RSS, one row a process,
//                 sorted by PSS (ties by PID)
//   smem -u       per user;  -m  per mapping name;  -w  system-wide areas
//   -p            percentages of MemTotal (SwapTotal for Swap)
//   -k            amounts with unit suffixes (104.0K, 1.6M)
//   -t            a totals row under a rule
//   -P REGEX      only processes whose name or command line matches
//
// It reads /proc/PID/smaps (summing Rss, Pss, Swap and the Private_* lines
// of every mapping), /proc/PID/cmdline and stat, and /proc/meminfo. Kernel
// threads (empty cmdline) are left out, as smem does.
#pragma once

#include <string>
#include <vector>

#include "tools/tool.h"

namespace mmsim::tools {

enum class SmemView { Processes, Users, Mappings, System };

struct SmemOptions {
    SmemView view = SmemView::Processes;
    bool percent = false;
    bool abbreviate = false;  // -k
    bool totals = false;
    bool no_header = false;      // -H
    bool reverse = false;        // -r
    bool numeric = false;        // -n
    std::string process_filter;  // -P
    std::string map_filter;      // -M
    std::string user_filter;     // -U
    std::string sort;            // -s
    std::string columns;         // -c
};

SmemOptions parse_smem_args(const std::vector<std::string>& args);
ToolOutput run_smem(const ProcSource& src, const SmemOptions& opt);

}  // namespace mmsim::tools
