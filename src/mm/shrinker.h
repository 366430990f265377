// Shrinkers (mm/shrinker.c) and drop_slab() (mm/vmscan.c).
//
// Caches the kernel can rebuild (dentries, inodes, the workingset's shadow
// nodes, a filesystem's extent cache) register a shrinker: count_objects()
// says how many objects could be freed, scan_objects() frees up to a given
// number. Reclaim calls every shrinker with a priority (12 at first, down
// to 0 when desperate); do_shrink_slab() turns the count into work:
//
//   delta      = (freeable >> priority) * 4 / seeks        (seeks: 2 by default)
//   total_scan = (nr_deferred >> priority) + delta, at most 2 * freeable
//
// and calls scan_objects() in batches (the shrinker's batch, or 128) while
// at least a batch, or at least the whole freeable count, is left. Work a
// shrinker could not do (it returned SHRINK_STOP, or the remainder was
// smaller than a batch) is deferred to the next call, capped at twice the
// freeable count. Every object a batch looked at counts in slabs_scanned.
//
// drop_slab() (echo 2 > /proc/sys/vm/drop_caches) calls shrink_slab() on
// every node at priority 0, and repeats while a round frees more than
// 1, 2, 4, ... objects (the threshold doubles each round, so it ends).
//
// The simulator's shrinkers: the superblock's (dentries and inodes, see
// src/fs/dcache.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/gfp.h"

namespace mmsim {

inline constexpr int DEFAULT_SEEKS = 2;
inline constexpr uint64_t SHRINK_BATCH = 128;
inline constexpr uint64_t SHRINK_STOP = ~uint64_t{0} - 1;

struct Shrinker {
    std::string name;
    int seeks = DEFAULT_SEEKS;
    uint64_t batch = 0;  // 0: SHRINK_BATCH
    std::function<uint64_t(Kernel&, int nid)> count_objects;
    // Frees up to nr_to_scan objects; returns the number freed or SHRINK_STOP.
    std::function<uint64_t(Kernel&, int nid, gfp_t gfp, uint64_t nr_to_scan)> scan_objects;
    std::vector<int64_t> nr_deferred;  // per node (SHRINKER_NUMA_AWARE)
};

struct ShrinkerList {
    std::vector<Shrinker> all;
};

// shrinker_register(): adds a shrinker (its deferred counts sized to the nodes).
void shrinker_register(Kernel& k, Shrinker s);
// do_shrink_slab() for one shrinker and node: returns the objects freed.
uint64_t do_shrink_slab(Kernel& k, Shrinker& s, int nid, gfp_t gfp, int priority);
// shrink_slab(): every shrinker on one node.
uint64_t shrink_slab(Kernel& k, gfp_t gfp, int nid, int priority);
// drop_slab(): shrink_slab at priority 0 on every node until rounds free
// (next to) nothing. Returns the objects freed.
uint64_t drop_slab(Kernel& k);

}  // namespace mmsim
