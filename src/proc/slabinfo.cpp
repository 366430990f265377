// /proc/slabinfo (mm/slab_common.c: print_slabinfo_header, cache_show).
//
// Version 2.1 of the format: a header of two lines, then one line per cache
// that is not an alias of another, newest cache first. The "tunables"
// columns belong to the old SLAB allocator and read 0 under SLUB;
// active_slabs equals num_slabs and sharedavail is 0. Which objects count
// as active is SLUB's business (get_slabinfo() in src/mm/slub.cpp).
// Readable by root only.
#include <fmt/format.h>

#include "mm/slub.h"
#include "proc/renderers.h"

namespace mmsim {

std::string render_slabinfo(const Kernel& k) {
    std::string out =
        "slabinfo - version: 2.1\n"
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> "
        "<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";
    if (!k.slab) return out;
    const SlabState& st = *k.slab;
    for (auto it = st.caches.rbegin(); it != st.caches.rend(); ++it) {
        if (!*it) continue;
        const KmemCache& s = **it;
        SlabInfo si;
        get_slabinfo(s, st, si);
        out += fmt::format("{:<17} {:6} {:6} {:6} {:4} {:4}", s.name, si.active_objs, si.num_objs, s.size,
                           si.objects_per_slab, 1u << si.cache_order);
        out += fmt::format(" : tunables {:4} {:4} {:4}", 0, 0, 0);
        out += fmt::format(" : slabdata {:6} {:6} {:6}\n", si.active_slabs, si.num_slabs, 0);
    }
    return out;
}

}  // namespace mmsim
