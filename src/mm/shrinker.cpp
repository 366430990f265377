// Shrinkers and drop_slab(): see shrinker.h.
#include "mm/shrinker.h"

#include <algorithm>

namespace mmsim {

void shrinker_register(Kernel& k, Shrinker s) {
    if (!k.shrinkers) k.shrinkers = std::make_unique<ShrinkerList>();
    s.nr_deferred.assign(k.nodes.size(), 0);
    k.shrinkers->all.push_back(std::move(s));
}

uint64_t do_shrink_slab(Kernel& k, Shrinker& s, int nid, gfp_t gfp, int priority) {
    const uint64_t batch_size = s.batch ? s.batch : SHRINK_BATCH;
    const uint64_t freeable = s.count_objects(k, nid);
    if (freeable == 0) return 0;
    // Take the deferred work (xchg_nr_deferred): it is ours now.
    int64_t nr = s.nr_deferred[nid];
    s.nr_deferred[nid] = 0;
    uint64_t delta;
    if (s.seeks) {
        delta = (freeable >> priority) * 4 / static_cast<uint64_t>(s.seeks);
    } else {
        delta = freeable / 2;  // objects that cost nothing to rebuild
    }
    uint64_t total_scan = (static_cast<uint64_t>(nr) >> priority) + delta;
    total_scan = std::min(total_scan, 2 * freeable);
    uint64_t freed = 0, scanned = 0;
    while (total_scan >= batch_size || total_scan >= freeable) {
        uint64_t nr_to_scan = std::min(batch_size, total_scan);
        uint64_t ret = s.scan_objects(k, nid, gfp, nr_to_scan);
        if (ret == SHRINK_STOP) break;
        freed += ret;
        k.count_event(SLABS_SCANNED, nr_to_scan);
        total_scan -= nr_to_scan;
        scanned += nr_to_scan;
    }
    // What was asked and not done carries over, at most twice the count.
    int64_t next = std::max<int64_t>(nr + static_cast<int64_t>(delta) - static_cast<int64_t>(scanned), 0);
    next = std::min<int64_t>(next, static_cast<int64_t>(2 * freeable));
    s.nr_deferred[nid] += next;
    return freed;
}

uint64_t shrink_slab(Kernel& k, gfp_t gfp, int nid, int priority) {
    if (!k.shrinkers) return 0;
    uint64_t freed = 0;
    for (Shrinker& s : k.shrinkers->all) freed += do_shrink_slab(k, s, nid, gfp, priority);
    return freed;
}

uint64_t drop_slab(Kernel& k) {
    uint64_t total = 0, freed;
    int shift = 0;
    do {
        freed = 0;
        for (std::size_t nid = 0; nid < k.nodes.size(); nid++)
            freed += shrink_slab(k, GFP_KERNEL, static_cast<int>(nid), 0);
        total += freed;
    } while ((freed >> shift++) > 1);
    return total;
}

}  // namespace mmsim
