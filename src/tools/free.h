// free (procps-ng 4.0.2), reading /proc/meminfo text.
//
//                  total        used        free      shared  buff/cache   available
//   Mem:        MemTotal  Total-Avail     MemFree       Shmem  Buf+Cach+SRec  MemAvailable
//   Swap:      SwapTotal  Total-Free    SwapFree
//
// "used" is MemTotal - MemAvailable (procps 4); buff/cache is Buffers +
// Cached + SReclaimable, which is why reclaimable slab (dentries, inodes)
// shows up there. -w splits it into buffers and cache; -l adds Low and
// High lines (LowTotal/LowFree, or all of memory without highmem), -t a
// Total line, -v a Comm line (CommitLimit, Committed_AS, the difference).
// Units: KiB by default; -b, -k, -m, -g, --tebi, --pebi; --kilo ...
// --peta and --si in powers of 1000; -h picks a unit per value ("829Mi").
// The labels are 8 columns wide, the values 12. -s and -c (repeating)
// make no sense on one snapshot and are refused.
#pragma once

#include <string>
#include <vector>

#include "tools/tool.h"

namespace mmsim::tools {

struct FreeOptions {
    int exponent = 0;  // 0: KiB (or kB with --si); 1 bytes; 2 kibi; 3 mebi; ...
    bool si = false, human = false, lohi = false, total = false, committed = false, wide = false;
};

FreeOptions parse_free_args(const std::vector<std::string>& args);
ToolOutput run_free(const ProcSource& src, const FreeOptions& opt);

}  // namespace mmsim::tools
