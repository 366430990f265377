// pmap: the memory map of a process, as procps-ng 4.0.2 prints it.
//
// Formats (all read /proc/PID/maps or /proc/PID/smaps text):
//
//   pmap PID        address, size, mode, mapping; " total" line        (maps)
//   pmap -x PID     + RSS and Dirty columns; "total kB" line            (smaps)
//   pmap -X PID     one column per smaps field, widths fitted to the data,
//                   a "====" rule and totals; -XX adds every field and VmFlags
//   pmap -d PID     offset and device; "mapped: / writeable/private: /
//                   shared:" line                                        (maps)
//
// -q drops headers and footers, -p shows full paths, -A LOW[,HIGH] limits
// the address range. PIDs that do not exist are skipped and the exit status
// is 42, as with the real tool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/tool.h"

namespace mmsim::tools {

enum class PmapFormat { Default, Extended, Smaps, SmapsAll, Device };

struct PmapOptions {
    PmapFormat format = PmapFormat::Default;
    bool quiet = false;
    bool show_path = false;
    uint64_t range_low = 0;
    uint64_t range_high = ~uint64_t{0};
    std::vector<int> pids;
};

PmapOptions parse_pmap_args(const std::vector<std::string>& args);
ToolOutput run_pmap(const ProcSource& src, const PmapOptions& opt);

}  // namespace mmsim::tools
