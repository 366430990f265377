// Workingset detection (mm/workingset.c): should a page read back soon
// after eviction go straight to the active list?
//
// Each node keeps a clock, nonresident_age, that ticks once for every page
// evicted and every page activated. When reclaim frees a page it leaves a
// shadow entry where the page was (in the file's page cache, or in the
// swap slot): the clock's reading, the node, and whether the page was
// part of the workingset (PG_workingset: it had been active).
//
// When the page is faulted or read back in (a refault), the distance
// between the clock now and the reading in the shadow is how many pages
// were evicted or activated meanwhile: the number of extra pages memory
// would have needed to keep this one. If that distance is no more than the
// pages the workingset could have had (the active file list, plus the
// inactive file list for an anonymous page, plus the anon lists when there
// is free swap to reclaim them into), the page would have stayed with
// that memory, so it is activated at once (workingset_activate), and if
// it had been in the workingset before, also marked so
// (workingset_restore). Every refault counts in workingset_refault_anon
// or _file.
//
// The kernel packs the shadow into an xarray value, dropping low bits of
// the clock (bucket_order) when memory is so large that the clock would
// not fit; on 64-bit machines that takes petabytes, so the reading is
// kept whole here. There are no memory cgroups yet: the lruvec is the
// node's.
#include <cstdint>

#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/swap.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// The shadow's layout: the workingset bit, the node, then the clock.
constexpr unsigned kNodeBits = 10;
uint64_t pack_shadow(int node, uint64_t eviction, bool workingset) {
    return (eviction << (kNodeBits + 1)) | (static_cast<uint64_t>(node) << 1) | (workingset ? 1u : 0u) |
           (uint64_t{1} << 63);  // never 0: 0 means "no shadow"
}

}  // namespace

uint64_t workingset_eviction(Kernel& k, Pfn pfn) {
    const Page& p = page_of(k, pfn);
    const int node = pfn_zone(k, pfn).node;
    Lruvec& lruvec = k.nodes[node].lruvec;
    const uint64_t eviction = lruvec.nonresident_age;
    // workingset_age_nonresident(): the eviction itself ticks the clock.
    lruvec.nonresident_age++;
    return pack_shadow(node, eviction & ((uint64_t{1} << (62 - kNodeBits)) - 1), p.test(PG_workingset));
}

void workingset_refault(Kernel& k, Pfn pfn, uint64_t shadow) {
    Page& p = page_of(k, pfn);
    const bool file = folio_is_file_lru(p);
    PglistData& here = k.nodes[pfn_zone(k, pfn).node];
    mod_node_page_state(here, file ? WORKINGSET_REFAULT_FILE : WORKINGSET_REFAULT_ANON, 1);
    // workingset_test_recent(), against the node the page was evicted from.
    const bool workingset = shadow & 1;
    const int node = static_cast<int>((shadow >> 1) & ((1u << kNodeBits) - 1));
    const uint64_t mask = (uint64_t{1} << (62 - kNodeBits)) - 1;
    const uint64_t eviction = (shadow >> (kNodeBits + 1)) & mask;
    if (node >= static_cast<int>(k.nodes.size())) return;
    PglistData& from = k.nodes[node];
    const uint64_t refault = from.lruvec.nonresident_age;
    const uint64_t distance = (refault - eviction) & mask;
    auto lru = [&](NodeStatItem i) { return static_cast<uint64_t>(from.vm_stat[i]); };
    uint64_t workingset_size = lru(NR_ACTIVE_FILE);
    if (!file) workingset_size += lru(NR_INACTIVE_FILE);
    if (get_nr_swap_pages(k) > 0) {
        workingset_size += lru(NR_ACTIVE_ANON);
        if (file) workingset_size += lru(NR_INACTIVE_ANON);
    }
    if (distance > workingset_size) return;
    p.set(PG_active);
    here.lruvec.nonresident_age++;
    mod_node_page_state(here, file ? WORKINGSET_ACTIVATE_FILE : WORKINGSET_ACTIVATE_ANON, 1);
    if (workingset) {
        p.set(PG_workingset);
        mod_node_page_state(here, file ? WORKINGSET_RESTORE_FILE : WORKINGSET_RESTORE_ANON, 1);
    }
}

}  // namespace mmsim
