// The page allocator's public face: mm/page_alloc.c in Linux.
//
// The implementation is split along the kernel file's own seams:
//   page_alloc.cpp           buddy free lists, merging, splitting, migratetype
//                            fallback and pageblock stealing (__rmqueue*)
//   page_alloc_pcp.cpp       per-CPU page lists (rmqueue_pcplist, free_frozen_page_commit)
//   page_alloc_wmark.cpp     watermarks, lowmem_reserve, min_free_kbytes,
//                            zone_watermark_ok
//   page_alloc_slowpath.cpp  get_page_from_freelist, __alloc_pages_slowpath,
//                            warn_alloc and the hooks later subsystems fill
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "kernel/kernel.h"
#include "mmsim/gfp.h"
#include "mmsim/result.h"

namespace mmsim {

// ALLOC_* flags (mm/internal.h), 6.18 values.
enum AllocFlags : unsigned {
    ALLOC_WMARK_MIN = WMARK_MIN,
    ALLOC_WMARK_LOW = WMARK_LOW,
    ALLOC_WMARK_HIGH = WMARK_HIGH,
    ALLOC_NO_WATERMARKS = 0x04,
    ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1,
    ALLOC_OOM = 0x08,
    ALLOC_NON_BLOCK = 0x10,
    ALLOC_MIN_RESERVE = 0x20,
    ALLOC_CPUSET = 0x40,
    ALLOC_CMA = 0x80,
    ALLOC_NOFRAGMENT = 0x100,
    ALLOC_HIGHATOMIC = 0x200,
    ALLOC_TRYLOCK = 0x400,
    ALLOC_KSWAPD = 0x800,
};
inline constexpr unsigned ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

// ---- allocation and freeing -------------------------------------------------

// Allocates 2^order contiguous pages. nid < 0 means the node of the current
// CPU. Returns the first pfn, or nullopt after the slow path gave up (the
// failure is reported in the kernel log unless __GFP_NOWARN). With
// __GFP_COMP the block becomes a compound page. Inline, with its common
// case: see page_alloc_pcp.h.
inline MaybePfn alloc_pages(Kernel& k, gfp_t gfp, unsigned order, int nid = -1);

// Frees a block allocated with alloc_pages() with the same order.
inline void free_pages(Kernel& k, Pfn pfn, unsigned order);

// ---- the buddy core (page_alloc.cpp) ---------------------------------------

// Hands a range of boot memory to the buddy allocator in the largest aligned
// chunks (memblock_free_pages / __free_pages_core).
void free_boot_range(Kernel& k, Zone& zone, uint64_t start_pfn, uint64_t end_pfn);

// Takes one block of at least `order` from the zone's free lists, falling
// back to other migratetypes as __rmqueue() does. Caller accounts.
MaybePfn rmqueue_buddy_block(Kernel& k, Zone& zone, unsigned order, unsigned migratetype,
                             unsigned alloc_flags);
// __rmqueue_smallest() for one migratetype (used for the highatomic reserve).
MaybePfn rmqueue_smallest_type(Kernel& k, Zone& zone, unsigned order, unsigned migratetype);
// __free_pages_ok(): frees a block straight to the buddy (bypassing the
// per-CPU lists), a pageblock at a time, and counts pgfree.
void free_pages_ok(Kernel& k, Zone& zone, Pfn pfn, unsigned order, bool to_tail = false);
// __free_one_page(): returns one block to the zone's free lists, merging
// with free buddies. Does not count pgfree.
void free_one_page(Kernel& k, Zone& zone, Pfn pfn, unsigned order, unsigned migratetype);

// __isolate_free_page(): takes the free block at pfn (PG_buddy, of this
// order) off its list for compaction or CMA. Unless the pageblock is
// isolated, refuses (returns false) when that would leave the zone below
// its min watermark plus the block. Large blocks that leave a pageblock of
// a fragile type become movable, as the kernel does.
bool isolate_free_page(Kernel& k, Zone& zone, Pfn pfn, unsigned order);
// move_freepages_block_isolate(): changes the type of the pageblock holding
// pfn to new_mt (MIGRATE_ISOLATE to isolate it, its old type to undo) and
// moves its free blocks to the new type's lists, splitting a free buddy
// larger than a pageblock and, when leaving isolation, merging a free
// pageblock with its free buddy. Isolated free pages leave NR_FREE_PAGES
// (and NR_FREE_CMA) and come back with the type.
void move_freepages_block_isolate(Kernel& k, Zone& zone, Pfn pfn, unsigned new_mt);
// split_page(): makes a non-compound block of 2^order pages into 2^order
// order-0 pages, each with one reference.
void split_page(Kernel& k, Pfn pfn, unsigned order);

inline unsigned get_pageblock_migratetype(const Zone& zone, Pfn pfn) {
    uint64_t first_block = zone.zone_start_pfn.value >> pageblock_order;
    return zone.pageblock_flags[(pfn.value >> pageblock_order) - first_block] & 0x7;
}
// Sets the pageblock's type in the zone and in the allocator's pageblock
// table (MemMap::pageblock_entry()).
void set_pageblock_migratetype(Kernel& k, Zone& zone, Pfn pfn, unsigned migratetype);
// Fills the pageblock table from the zones (setup_alloc_fastpath() calls it).
void setup_pageblock_table(Kernel& k);

// ---- per-CPU lists (page_alloc_pcp.cpp) -------------------------------------

inline bool pcp_allowed_order(unsigned order) {
    return order <= PAGE_ALLOC_COSTLY_ORDER || order == HPAGE_PMD_ORDER;
}
// rmqueue_pcplist() and free_frozen_page_commit() are inline, in
// page_alloc_pcp.h.
// Frees to the CPU's list; flushes a batch to the buddy when over `high`.
void free_to_pcp(Kernel& k, Zone& zone, int cpu, Pfn pfn, unsigned order, unsigned migratetype);
// decay_pcp_high(): the periodic shrink of an auto-tuned pcp high (by an
// eighth, towards high_min) and the drain of what the list holds above
// it. Returns nonzero while there is more to do.
int decay_pcp_high(Kernel& k, Zone& zone, PerCpuPages& pcp);
// Returns every page on every CPU's lists to the buddy (drain_all_pages).
void drain_all_pages(Kernel& k, Zone* zone = nullptr);
// zone_batchsize(), zone_highsize() and the pageset setup of
// zone_set_pageset_high_and_batch() for every CPU.
int zone_batchsize(const Zone& zone);
int zone_highsize(const Kernel& k, const Zone& zone, int batch, int cpu_online, int high_fraction);
void zone_pcp_update(Kernel& k, Zone& zone, int cpu_online);
void setup_pcp_all(Kernel& k);  // every zone of every node

// ---- watermarks (page_alloc_wmark.cpp) --------------------------------------

// nr_free_zone_pages(gfp_zone(GFP_USER)): managed pages above the high
// watermark in zones usable by GFP_USER.
uint64_t nr_free_buffer_pages(const Kernel& k);
// calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16) clamped to
// [128, 262144], unless the user set a larger value.
void calculate_min_free_kbytes(Kernel& k);
void setup_per_zone_wmarks(Kernel& k);          // __setup_per_zone_wmarks + totalreserve
void setup_per_zone_lowmem_reserve(Kernel& k);  // protection arrays + totalreserve
void calculate_totalreserve_pages(Kernel& k);
// init_per_zone_wmark_min(): the boot-time sequence.
void init_per_zone_wmark_min(Kernel& k);
// The sysctl handlers' work after a successful write.
void min_free_kbytes_changed(Kernel& k);  // records user_min_free_kbytes, recomputes
void watermark_scale_factor_changed(Kernel& k);
void lowmem_reserve_ratio_changed(Kernel& k);
void percpu_pagelist_high_fraction_changed(Kernel& k);

// __zone_watermark_ok(): free pages above mark + lowmem_reserve, with the
// high-order check. free_pages is the zone's NR_FREE_PAGES.
bool zone_watermark_ok(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx,
                       unsigned alloc_flags, long free_pages);
bool zone_watermark_ok_safe(const Zone& z, unsigned order, uint64_t mark, unsigned highest_zoneidx);
// boost_watermark(): raise the zone's boost after a fallback that fragments.
bool boost_watermark(Kernel& k, Zone& zone);

// ---- helpers shared by the pieces --------------------------------------------

// gfp_zone(): the highest zone index the mask may use, for this profile.
inline unsigned gfp_zone(const Kernel& k, gfp_t gfp) { return k.gfp_zone_index(gfp); }
inline unsigned gfp_migratetype(gfp_t gfp) { return (gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT; }
// The zone a pfn belongs to (page_zone()).
[[noreturn]] void pfn_in_no_zone(Pfn pfn);
// Throws std::logic_error for a pfn in no zone.
inline Zone& pfn_zone(Kernel& k, Pfn pfn) {
    Zone* z = k.page_zone(pfn);
    if (!z) pfn_in_no_zone(pfn);
    return *z;
}
// int_sqrt() of lib/math/int_sqrt.c: floor(sqrt(x)).
uint64_t int_sqrt(uint64_t x);

// ---- the slow path's hooks, filled by later subsystems -----------------------

struct ReclaimHooks {
    // wakeup_kswapd(): called for each zone the allocation may use.
    std::function<void(Kernel&, Zone&, gfp_t, unsigned order, unsigned highest_zoneidx)> wake_kswapd;
    // try_to_free_pages(): direct reclaim; returns pages reclaimed.
    std::function<uint64_t(Kernel&, gfp_t, unsigned order, unsigned highest_zoneidx)> direct_reclaim;
    // out_of_memory(): returns true if it made progress (killed something).
    std::function<bool(Kernel&, gfp_t, unsigned order)> out_of_memory;
    // vm.drop_caches: 1 page cache, 2 slab, 3 both (fs/drop_caches.c).
    std::function<void(Kernel&, int what)> drop_caches;
    // vm.compact_memory: compact every zone of every node (compact_nodes()).
    std::function<void(Kernel&)> compact_nodes;
    // vm.nr_hugepages: grow or shrink the hugetlb pool; returns the new size.
    std::function<Result<uint64_t>(Kernel&, uint64_t count)> set_nr_hugepages;
};
ReclaimHooks& reclaim_hooks(Kernel& k);

// Precomputes, once zonelists exist, what every allocation would otherwise
// work out again: each node's first usable zone per highest_zoneidx, each
// zone's pgalloc event and whether ALLOC_NOFRAGMENT applies to it.
void setup_alloc_fastpath(Kernel& k);

// show_mem(): the "Mem-Info:" report of free memory per zone and order that
// follows an allocation failure or an OOM in the kernel log.
void show_mem(Kernel& k);

// Validates every zone's free lists and counters (the buddy invariants of
// DESIGN.md section 10). Throws std::logic_error.
void validate_page_alloc(const Kernel& k);
// debug_vm's check after an allocation or a free. A full walk costs about
// as many steps as the machine has pages, so it runs once every
// k.debug_vm_stride operations, a stride that grows with the machine
// (one step in 4096 pages, at least 1): a machine of up to 16 MiB is checked
// after every operation, an 8 GiB one every 512, and the checking work stays
// about 4096 steps per operation whatever the size. Kernel::validate() still
// walks everything whenever a test or a scenario command asks.
void debug_check_page_alloc(Kernel& k);

}  // namespace mmsim

// The inline fast paths of alloc_pages() and free_pages().
#include "mm/page_alloc_pcp.h"
