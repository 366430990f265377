// slabtop -o (procps-ng 4.0.2), reading /proc/slabinfo text.
//
//    Active / Total Objects (% used)    : A / T (P%)       sums of active_objs / num_objs
//    Active / Total Slabs (% used)      : ...             active_slabs / num_slabs
//    Active / Total Caches (% used)     : ...             caches with active objects / all
//    Active / Total Size (% used)       : ...K / ...K     sums of objects x objsize
//    Minimum / Average / Maximum Object : ...K            objsize over all caches;
//                                                         average = total size / total objects
//
//     OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME
//   one line per cache; CACHE SIZE = num_slabs x pagesperslab x 4 KiB
//
// -o/--once prints one frame (the only mode: the interactive screen needs
// a terminal). -s/--sort C orders the lines by a (active objects), b
// (objects per slab), c (cache size), l (slabs), v (active slabs), n (name,
// ascending), o (objects: the default), p (pages per slab), s (object
// size) or u (use); the others descending. Equal keys keep /proc/slabinfo's
// order, as glibc's stable qsort does. An unknown key falls back to the
// default, as in procps; -d is refused with -o, as in procps.
#pragma once

#include <string>
#include <vector>

#include "tools/tool.h"

namespace mmsim::tools {

struct SlabtopOptions {
    char sort = 'o';
};

SlabtopOptions parse_slabtop_args(const std::vector<std::string>& args);
ToolOutput run_slabtop(const ProcSource& src, const SlabtopOptions& opt);

}  // namespace mmsim::tools
