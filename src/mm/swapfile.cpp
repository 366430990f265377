// Swap devices: where anonymous pages go when reclaim evicts them
// (mm/swapfile.c, with the types of include/linux/swap.h and mm/swap.h).
//
// A swap area is a partition or a file that mkswap prepared: page 0 holds
// a header (a signature, the number of the last page, a list of bad
// pages), every other page is a slot for one page of memory. swapon(2)
// turns an area into a device the kernel may write to, swapoff(2) takes it
// back after reading every slot still in use into memory. Up to
// MAX_SWAPFILES devices are on at once, each known by its type, an index
// into swap_info[]. A swap entry is (type, offset): a page table holds one
// in place of a page frame number once the page is out.
//
// The kernel keeps one byte per slot, the swap_map:
//
//   offset:   0      1      2      3      4   ...
//   swap_map: 3f     40     01     41     00
//             header cache  1 ref  1 ref  free
//                    only          +cache
//
// The low bits count the references to the slot (a swap PTE in each
// process that shares the page, or shmem's), SWAP_HAS_CACHE says a folio
// for the slot is in the swap cache. A slot is free when both are gone. A
// count above SWAP_MAP_MAX (62) spills into continuation pages: each adds
// a base-128 digit for the 4096 slots whose bytes share a page of the map,
// and COUNT_CONTINUED in a byte says the number goes on in the next page,
// like carrying in long addition.
//
// Slots are handed out by clusters of 512 (a PMD's worth, so that a THP
// can go out in one piece). Each cluster has a count of taken slots and
// lives on one list of its device:
//
//   free         nothing taken (its swap table page is freed too)
//   nonfull[o]   some slots freed again since it was full or fragmented
//   frag[o]      in use by an allocator, or scanned and found wanting
//   full         all 512 taken
//   discard      emptied on a discarding device, waiting for the discard
//
// The allocator, in the order 6.18's folio_alloc_swap() tries:
//
//   swap_alloc_fast   the CPU's own cluster (solid-state devices keep one
//                     per CPU and order), from the offset after its last
//                     slot
//   swap_alloc_slow   each device on this node's avail list by priority;
//                     the device tried goes to the back of its priority
//                     group first, so equal priorities take turns
//     cluster_alloc_swap_entry on one device:
//                     a rotational device's one global cluster, then
//                     nonfull clusters, then free ones (free first on a
//                     discarding device, to spread the writes), then
//                     reclaim of cache-only slots in full clusters when
//                     swap is half full, then one fragmented cluster, then
//                     for order 0 any cluster of a larger order
//
// Within a cluster the scan goes up from the given offset and takes the
// first free slot. So a fresh solid-state device hands out slots 1, 2, 3,
// ... (cluster 0, which holds the header, starts on the nonfull list), then
// 512, 513, ... from the free list; a freed slot behind the CPU's position
// is reused only when its cluster comes round again from the nonfull list.
// A rotational device goes through the slow path for every slot, so two
// rotational devices of equal priority alternate slot by slot, while
// solid-state ones alternate cluster by cluster.
//
// Priorities: swapon without SWAP_FLAG_PREFER numbers devices -2, -3, ...
// (least_priority starts at -1 and is decremented before use); swapoff of
// such a device moves the ones after it up by one. On the avail list of
// the device's own NUMA node a default-priority device sorts just after
// the explicit priorities (key 1).
//
// What swapon allocates is modelled as the kernel allocates it: the
// swap_info_struct (kmalloc, kept for reuse), swap_map and the swap cgroup
// map (vmalloc, as /proc/vmallocinfo shows them), the zero-page bitmap and
// the cluster array (kvmalloc), a rotational device's global cluster and
// the extents (kmalloc), and from 6.18 one swap table page per cluster in
// use. Not modelled: zswap's per-device trees, the percpu_ref, the page
// cache page the header is read through, and the disk I/O of discards
// (they complete at once, from the clock's event queue).
#include "mm/swapfile.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/show_mem.h"
#include "mm/slab_track.h"
#include "mm/slub.h"
#include "mm/vmalloc.h"

namespace mmsim {

namespace {

SwapState& state(Kernel& k) {
    if (!k.swap) throw std::logic_error("swap: swapfile_init() has not run");
    return *k.swap;
}

[[noreturn]] void vm_bug(const std::string& what) { throw std::logic_error("swap: " + what); }

constexpr uint64_t kib(uint64_t pages) { return pages << (PAGE_SHIFT - 10); }

// swap_count(): the map byte without the cache bit (COUNT_CONTINUED stays).
constexpr uint8_t swap_count(uint8_t ent) { return ent & static_cast<uint8_t>(~SWAP_HAS_CACHE); }

// The sizes of the kernel structures swapon allocates (x86-64, 6.18,
// without lock debugging): swap_info_struct is 624 bytes before its
// per-node plist nodes of 40 bytes each; a swap_cluster_info is 32 bytes
// (lock, count, flags, order, table pointer, list_head); a
// swap_sequential_cluster 4 bytes per order; a swap_extent 48 bytes
// (rb_node and three longs).
constexpr uint64_t kSwapInfoStructSize = 624;
constexpr uint64_t kPlistNodeSize = 40;
constexpr uint64_t kClusterInfoSize = 32;
constexpr uint64_t kSequentialClusterSize = 4 * SWAP_NR_ORDERS;
constexpr uint64_t kSwapExtentSize = 48;
// The 6.18 host's vmallocinfo names these callers (tests/data/host-6.18/swapon).
constexpr const char* kSwapMapCaller = "__do_sys_swapon+0x819/0x1390";
constexpr const char* kSwapCgroupCaller = "swap_cgroup_swapon+0x1c/0x70";

// ---- kernel memory -------------------------------------------------------------------

// Machines booted without the slab allocator (unit tests of the page
// allocator) have no kmalloc or vmalloc: swapon's structures then cost
// nothing, and address 0 stands for "not allocated".
bool models_kernel_memory(const Kernel& k) { return k.slab && k.vmalloc; }

Result<uint64_t> kmalloc_for(Kernel& k, uint64_t size, gfp_t gfp, const char* site) {
    if (!models_kernel_memory(k)) return uint64_t{0};
    SlabTrackSite at(k, site);
    return kmalloc(k, size, gfp);
}

// kvmalloc(): kmalloc first (above a page without warnings or retries),
// then vmalloc for a blocking allocation larger than a page.
Result<uint64_t> kvmalloc_for(Kernel& k, uint64_t size, gfp_t gfp, const char* site) {
    if (!models_kernel_memory(k)) return uint64_t{0};
    gfp_t kgfp = gfp;
    if (size > PAGE_SIZE) {
        kgfp |= __GFP_NOWARN;
        if (!(kgfp & __GFP_RETRY_MAYFAIL)) kgfp |= __GFP_NORETRY;
        kgfp &= ~__GFP_NOFAIL;
    }
    {
        SlabTrackSite at(k, site);
        if (auto r = kmalloc(k, size, kgfp); r) return r;
    }
    if (size <= PAGE_SIZE || !(gfp & __GFP_DIRECT_RECLAIM)) return Errno::NOMEM;
    return (gfp & __GFP_ZERO) ? vzalloc(k, size, site) : vmalloc(k, size, site);
}

void kvfree_for(Kernel& k, uint64_t addr) {
    if (!addr) return;
    if (is_vmalloc_addr(addr))
        vfree(k, addr);
    else
        kfree(k, addr);
}

Result<uint64_t> vzalloc_for(Kernel& k, uint64_t size, const char* caller) {
    if (!models_kernel_memory(k)) return uint64_t{0};
    return vzalloc(k, size, caller);
}

void vfree_for(Kernel& k, uint64_t addr) {
    if (addr) vfree(k, addr);
}

void kfree_for(Kernel& k, uint64_t addr) {
    if (addr) kfree(k, addr);
}

// ---- priority lists (plist) ----------------------------------------------------------

// A plist as a vector of types sorted by key, ties in insertion order:
// plist_add() goes after every node of the same key, plist_requeue()
// moves a node behind the others of its key.
template <class Key>
void plist_add(std::vector<unsigned>& list, unsigned type, Key key) {
    auto at = std::find_if(list.begin(), list.end(), [&](unsigned t) { return key(t) > key(type); });
    list.insert(at, type);
}

void plist_del(std::vector<unsigned>& list, unsigned type) {
    auto it = std::find(list.begin(), list.end(), type);
    if (it != list.end()) list.erase(it);
}

bool plist_on(const std::vector<unsigned>& list, unsigned type) {
    return std::find(list.begin(), list.end(), type) != list.end();
}

template <class Key>
void plist_requeue(std::vector<unsigned>& list, unsigned type, Key key) {
    plist_del(list, type);
    plist_add(list, type, key);
}

// ---- cluster lists -----------------------------------------------------------------------

ClusterList& list_of(SwapInfo& si, uint8_t flag, unsigned order) {
    switch (flag) {
        case CLUSTER_FLAG_FREE:
            return si.free_clusters;
        case CLUSTER_FLAG_NONFULL:
            return si.nonfull_clusters.at(order);
        case CLUSTER_FLAG_FRAG:
            return si.frag_clusters.at(order);
        case CLUSTER_FLAG_FULL:
            return si.full_clusters;
        case CLUSTER_FLAG_DISCARD:
            return si.discard_clusters;
        default:
            vm_bug("no cluster list for flag 0");
    }
}

uint32_t cluster_index(const SwapInfo& si, const SwapClusterInfo& ci) {
    return static_cast<uint32_t>(&ci - si.cluster_info.data());
}
uint32_t cluster_offset(const SwapInfo& si, const SwapClusterInfo& ci) {
    return cluster_index(si, ci) * SWAPFILE_CLUSTER;
}

// list_del(): off whatever list it is on.
void cluster_list_del(SwapInfo& si, SwapClusterInfo& ci) {
    if (ci.on_list == CLUSTER_FLAG_NONE) return;
    ClusterList& l = list_of(si, ci.on_list, ci.on_order);
    if (ci.prev != CLUSTER_NIL)
        si.cluster_info[ci.prev].next = ci.next;
    else
        l.head = ci.next;
    if (ci.next != CLUSTER_NIL)
        si.cluster_info[ci.next].prev = ci.prev;
    else
        l.tail = ci.prev;
    ci.prev = ci.next = CLUSTER_NIL;
    ci.on_list = CLUSTER_FLAG_NONE;
    l.nr--;
}

// list_add_tail() / list_move_tail().
void cluster_list_add_tail(SwapInfo& si, SwapClusterInfo& ci, uint8_t flag, unsigned order) {
    cluster_list_del(si, ci);
    ClusterList& l = list_of(si, flag, order);
    uint32_t idx = cluster_index(si, ci);
    ci.prev = l.tail;
    ci.next = CLUSTER_NIL;
    if (l.tail != CLUSTER_NIL)
        si.cluster_info[l.tail].next = idx;
    else
        l.head = idx;
    l.tail = idx;
    l.nr++;
    ci.on_list = flag;
    ci.on_order = static_cast<uint8_t>(order);
}

// move_cluster(): to the tail of a list, with that list's flag.
void move_cluster(SwapInfo& si, SwapClusterInfo& ci, uint8_t new_flag, unsigned order) {
    if (ci.flags == new_flag && ci.on_list == new_flag && ci.on_order == order)
        vm_bug(fmt::format("move_cluster: cluster {} already has flag {}", cluster_index(si, ci), new_flag));
    cluster_list_add_tail(si, ci, new_flag, order);
    ci.flags = new_flag;
}

bool cluster_is_empty(const SwapClusterInfo& ci) { return ci.count == 0; }
bool cluster_is_discard(const SwapClusterInfo& ci) { return ci.flags == CLUSTER_FLAG_DISCARD; }
bool cluster_is_usable(const SwapClusterInfo& ci, unsigned order) {
    if (ci.flags > CLUSTER_FLAG_USABLE) return false;
    if (!ci.has_table) return false;
    if (!order) return true;
    return cluster_is_empty(ci) || order == ci.order;
}

SwapClusterInfo& offset_to_cluster(SwapInfo& si, uint64_t offset) {
    return si.cluster_info[offset / SWAPFILE_CLUSTER];
}

// ---- swap tables (6.18: a page of 512 entries per cluster in use) ------------------------

// swap_table_alloc(): one zeroed page (SWP_TABLE_USE_PAGE on x86-64).
MaybePfn swap_table_alloc(Kernel& k, gfp_t gfp) { return alloc_pages(k, gfp | __GFP_ZERO, 0); }

void swap_cluster_free_table(Kernel& k, SwapClusterInfo& ci) {
    if (!ci.has_table) return;
    free_pages(k, ci.table, 0);
    ci.has_table = false;
    ci.table = Pfn{0};
}

// ---- the avail lists and usage counters -----------------------------------------------

int numa_node_id(const Kernel& k) {
    if (k.cpus.empty()) return 0;
    return k.cpus.at(static_cast<std::size_t>(k.current_cpu)).node;
}

void del_from_avail_list(SwapState& st, SwapInfo& si, bool swapoff) {
    if (swapoff) {
        si.flags &= ~SWP_WRITEOK;
        si.offlist = true;
    } else {
        // Off the lists only when full and still on them.
        if (si.offlist || si.inuse_pages != si.pages) return;
        si.offlist = true;
    }
    for (auto& head : st.avail_heads) plist_del(head, si.type);
}

void add_to_avail_list(SwapState& st, SwapInfo& si, bool swapon) {
    if (swapon)
        si.flags |= SWP_WRITEOK;
    else if (!(si.flags & SWP_WRITEOK))
        return;
    if (!si.offlist) return;
    si.offlist = false;
    if (si.inuse_pages == si.pages) {  // filled up meanwhile: stays off
        si.offlist = true;
        return;
    }
    for (std::size_t nid = 0; nid < st.avail_heads.size(); nid++)
        plist_add(st.avail_heads[nid], si.type, [&](unsigned t) { return st.swap_info[t]->avail_prio[nid]; });
}

void swap_reclaim_work(Kernel& k, unsigned type);

// swap_usage_add(): true when the device just became full (and left the
// avail lists).
bool swap_usage_add(SwapState& st, SwapInfo& si, unsigned nr) {
    si.inuse_pages += nr;
    if (!si.offlist && si.inuse_pages == si.pages) {
        del_from_avail_list(st, si, false);
        return true;
    }
    return false;
}

void swap_usage_sub(SwapState& st, SwapInfo& si, unsigned nr) {
    if (si.inuse_pages < nr) vm_bug("inuse_pages would go negative");
    si.inuse_pages -= nr;
    if (si.offlist) add_to_avail_list(st, si, false);
}

// schedule_work(&si->reclaim_work): reclaims cache-only slots of full
// clusters soon after; only worth queueing when a swap cache can answer.
void schedule_reclaim_work(Kernel& k, SwapInfo& si) {
    if (si.reclaim_work || !k.swap->try_to_reclaim) return;
    unsigned type = si.type;
    si.reclaim_work = k.clock.schedule_after(0, [&k, type] {
        SwapInfo& s = *k.swap->swap_info[type];
        s.reclaim_work = 0;
        if (s.flags & SWP_USED) swap_reclaim_work(k, type);
    });
}

void swap_range_alloc(Kernel& k, SwapInfo& si, unsigned nr) {
    SwapState& st = *k.swap;
    if (swap_usage_add(st, si, nr) && vm_swap_full(k)) schedule_reclaim_work(k, si);
    st.nr_swap_pages -= nr;
}

void swap_range_free(Kernel& k, SwapInfo& si, uint64_t offset, unsigned nr) {
    SwapState& st = *k.swap;
    for (uint64_t o = offset; o < offset + nr; o++) si.zeromap[o / 64] &= ~(uint64_t{1} << (o % 64));
    if (st.range_free) st.range_free(k, swp_entry(si.type, offset), nr);
    st.nr_swap_pages += nr;
    swap_usage_sub(st, si, nr);
}

// ---- cluster state changes ------------------------------------------------------------

bool swap_do_scheduled_discard(Kernel& k, SwapInfo& si);

void schedule_discard_work(Kernel& k, SwapInfo& si) {
    if (si.discard_work) return;
    unsigned type = si.type;
    si.discard_work = k.clock.schedule_after(0, [&k, type] {
        SwapInfo& s = *k.swap->swap_info[type];
        s.discard_work = 0;
        if (s.flags & SWP_USED) swap_do_scheduled_discard(k, s);
    });
}

void free_cluster_now(Kernel& k, SwapInfo& si, SwapClusterInfo& ci) {
    // __free_cluster(): the table goes, the cluster joins the free list.
    swap_cluster_free_table(k, ci);
    move_cluster(si, ci, CLUSTER_FLAG_FREE, 0);
    ci.order = 0;
}

// free_cluster(): an emptied cluster goes to the free list, or on a
// discarding device to the discard list first.
void free_cluster(Kernel& k, SwapInfo& si, SwapClusterInfo& ci) {
    if (ci.count != 0) vm_bug("free_cluster: cluster still has slots");
    if (ci.flags == CLUSTER_FLAG_FREE) vm_bug("free_cluster: cluster already free");
    if ((si.flags & (SWP_WRITEOK | SWP_PAGE_DISCARD)) == (SWP_WRITEOK | SWP_PAGE_DISCARD)) {
        move_cluster(si, ci, CLUSTER_FLAG_DISCARD, 0);
        schedule_discard_work(k, si);
        return;
    }
    free_cluster_now(k, si, ci);
}

// partial_free_cluster(): a cluster that lost a slot but is not empty.
void partial_free_cluster(SwapInfo& si, SwapClusterInfo& ci) {
    if (!ci.count || ci.count == SWAPFILE_CLUSTER) vm_bug("partial_free_cluster: count out of range");
    if (ci.flags != CLUSTER_FLAG_NONFULL) move_cluster(si, ci, CLUSTER_FLAG_NONFULL, ci.order);
}

// relocate_cluster(): after an allocation, to the full or frag list.
void relocate_cluster(Kernel& k, SwapInfo& si, SwapClusterInfo& ci) {
    if (cluster_is_discard(ci)) return;
    if (!ci.count) {
        if (ci.flags != CLUSTER_FLAG_FREE) free_cluster(k, si, ci);
    } else if (ci.count != SWAPFILE_CLUSTER) {
        if (ci.flags != CLUSTER_FLAG_FRAG) move_cluster(si, ci, CLUSTER_FLAG_FRAG, ci.order);
    } else {
        if (ci.flags != CLUSTER_FLAG_FULL) move_cluster(si, ci, CLUSTER_FLAG_FULL, 0);
    }
}

// swap_cluster_alloc_table(): a cluster just taken off the free list
// gets its table, without sleeping if possible, else with a sleeping
// allocation (not when nested in one already). Without a page it goes
// back to the free list and the caller looks elsewhere.
SwapClusterInfo* swap_cluster_alloc_table(Kernel& k, SwapInfo& si, SwapClusterInfo& ci) {
    SwapState& st = *k.swap;
    st.table_alloc_depth++;
    MaybePfn table = swap_table_alloc(k, __GFP_HIGH | __GFP_NOMEMALLOC | __GFP_NOWARN);
    if (!table && st.table_alloc_depth == 1)
        table = swap_table_alloc(k, __GFP_HIGH | __GFP_NOMEMALLOC | GFP_KERNEL);
    st.table_alloc_depth--;
    if (ci.has_table) {  // WARN_ON_ONCE: something gave it one meanwhile
        if (table) free_pages(k, *table, 0);
        return &ci;
    }
    if (!table) {
        move_cluster(si, ci, CLUSTER_FLAG_FREE, 0);
        return nullptr;
    }
    ci.table = *table;
    ci.has_table = true;
    return &ci;
}

// isolate_lock_cluster(): the first cluster of a list, taken off it.
SwapClusterInfo* isolate_lock_cluster(Kernel& k, SwapInfo& si, ClusterList& list) {
    if (list.empty()) return nullptr;
    SwapClusterInfo& ci = si.cluster_info[list.head];
    if (!ci.flags || (ci.flags > CLUSTER_FLAG_USABLE && ci.flags != CLUSTER_FLAG_FULL))
        vm_bug("isolate_lock_cluster: a cluster of the wrong kind on an allocation list");
    cluster_list_del(si, ci);
    ci.flags = CLUSTER_FLAG_NONE;
    if (!ci.has_table) {
        if (&list != &si.free_clusters || !cluster_is_empty(ci))
            vm_bug("isolate_lock_cluster: a cluster without a table outside the free list");
        return swap_cluster_alloc_table(k, si, ci);
    }
    return &ci;
}

// swap_do_scheduled_discard(): every cluster waiting on the discard list
// is discarded (at once here) and freed. True if there were any.
bool swap_do_scheduled_discard(Kernel& k, SwapInfo& si) {
    bool any = false;
    while (!si.discard_clusters.empty()) {
        SwapClusterInfo& ci = si.cluster_info[si.discard_clusters.head];
        cluster_list_del(si, ci);  // the DISCARD flag stays while off-list
        ci.flags = CLUSTER_FLAG_NONE;
        free_cluster_now(k, si, ci);
        any = true;
    }
    return any;
}

// ---- scanning a cluster ----------------------------------------------------------------

int try_to_reclaim_swap(Kernel& k, SwapInfo& si, uint64_t offset, unsigned flags) {
    if (!k.swap->try_to_reclaim) return 0;
    return k.swap->try_to_reclaim(k, swp_entry(si.type, offset), flags);
}

// cluster_reclaim_range(): tries to drop the swap cache folios of
// cache-only slots in [start, end); true if the range ends up free.
bool cluster_reclaim_range(Kernel& k, SwapInfo& si, uint64_t start, uint64_t end) {
    uint64_t offset = start;
    do {
        uint8_t m = si.swap_map[offset];
        if (m == 0) {
            offset++;
        } else if (m == SWAP_HAS_CACHE) {
            int nr = try_to_reclaim_swap(k, si, offset, TTRS_ANYWAY);
            if (nr <= 0) break;
            offset += static_cast<uint64_t>(nr);
        } else {
            break;
        }
    } while (offset < end);
    for (offset = start; offset < end; offset++)
        if (si.swap_map[offset]) return false;
    return true;
}

// cluster_scan_range(): whether [start, start + nr) can be taken: free
// slots, or cache-only ones worth reclaiming when swap is half full.
bool cluster_scan_range(const Kernel& k, const SwapInfo& si, const SwapClusterInfo& ci, uint64_t start,
                        unsigned nr, bool& need_reclaim) {
    if (cluster_is_empty(ci)) return true;
    for (uint64_t offset = start; offset < start + nr; offset++) {
        uint8_t m = si.swap_map[offset];
        if (m == 0) continue;
        if (m == SWAP_HAS_CACHE) {
            if (!vm_swap_full(k)) return false;
            need_reclaim = true;
            continue;
        }
        return false;
    }
    return true;
}

// cluster_alloc_range(): takes the slots with `usage` in their map bytes.
bool cluster_alloc_range(Kernel& k, SwapInfo& si, SwapClusterInfo& ci, uint64_t start, uint8_t usage,
                         unsigned order) {
    unsigned nr = 1u << order;
    if (!(si.flags & SWP_WRITEOK)) return false;
    // The first allocation in a cluster makes it this order's.
    if (cluster_is_empty(ci)) ci.order = static_cast<uint8_t>(order);
    std::fill_n(si.swap_map.begin() + static_cast<std::ptrdiff_t>(start), nr, usage);
    swap_range_alloc(k, si, nr);
    ci.count = static_cast<uint16_t>(ci.count + nr);
    return true;
}

void set_cluster_next(Kernel& k, SwapInfo& si, unsigned order, uint32_t next) {
    if (si.flags & SWP_SOLIDSTATE) {
        PercpuSwapCluster& pcp = k.swap->percpu.at(static_cast<std::size_t>(k.current_cpu));
        pcp.offset[order] = next;
        pcp.si[order] = static_cast<int>(si.type);
    } else {
        si.global_next[order] = next;
    }
}

// alloc_swap_scan_cluster(): the first usable slot range at or after
// offset in ci's cluster; remembers where the next one may be (the CPU's
// cluster, or the device's global one), and relocates the cluster.
uint64_t alloc_swap_scan_cluster(Kernel& k, SwapInfo& si, SwapClusterInfo& ci, uint64_t offset,
                                 unsigned order, uint8_t usage) {
    uint32_t next = SWAP_ENTRY_INVALID;
    uint64_t found = SWAP_ENTRY_INVALID;
    uint64_t start = offset / SWAPFILE_CLUSTER * SWAPFILE_CLUSTER;
    uint64_t end = std::min<uint64_t>(start + SWAPFILE_CLUSTER, si.max);
    unsigned nr = 1u << order;

    if (end >= nr && ci.count + nr <= SWAPFILE_CLUSTER) {
        for (end -= nr; offset <= end; offset += nr) {
            bool need_reclaim = false;
            if (!cluster_scan_range(k, si, ci, offset, nr, need_reclaim)) continue;
            if (need_reclaim) {
                bool ret = cluster_reclaim_range(k, si, offset, offset + nr);
                // Reclaim may have moved or emptied the cluster.
                if (!cluster_is_usable(ci, order)) break;
                if (cluster_is_empty(ci)) offset = start;
                if (!ret) continue;
            }
            if (!cluster_alloc_range(k, si, ci, offset, usage, order)) break;
            found = offset;
            offset += nr;
            if (ci.count < SWAPFILE_CLUSTER && offset <= end) next = static_cast<uint32_t>(offset);
            break;
        }
    }
    relocate_cluster(k, si, ci);
    set_cluster_next(k, si, order, next);
    return found;
}

// alloc_swap_scan_list(): isolates clusters from a list and scans each
// from its start: the first one only, or (scan_all) until one has room.
// A failed cluster is relocated, usually to another list; at most the
// list's length is tried.
uint64_t alloc_swap_scan_list(Kernel& k, SwapInfo& si, ClusterList& list, unsigned order, uint8_t usage,
                              bool scan_all) {
    uint64_t found = SWAP_ENTRY_INVALID;
    uint32_t tries = list.nr;
    do {
        SwapClusterInfo* ci = isolate_lock_cluster(k, si, list);
        if (!ci) break;
        found = alloc_swap_scan_cluster(k, si, *ci, cluster_offset(si, *ci), order, usage);
        if (found) break;
    } while (scan_all && --tries > 0);
    return found;
}

// swap_reclaim_full_clusters(): drops cache-only slots of full clusters
// through the swap cache; one cluster, or (force) as many as swap holds.
void swap_reclaim_full_clusters(Kernel& k, SwapInfo& si, bool force) {
    int64_t to_scan = 1;
    if (force) to_scan = static_cast<int64_t>(swap_usage_in_pages(si) / SWAPFILE_CLUSTER);
    SwapClusterInfo* ci;
    while ((ci = isolate_lock_cluster(k, si, si.full_clusters))) {
        uint64_t offset = cluster_offset(si, *ci);
        uint64_t end = std::min<uint64_t>(si.max, offset + SWAPFILE_CLUSTER);
        to_scan--;
        while (offset < end) {
            if (si.swap_map[offset] == SWAP_HAS_CACHE) {
                int nr = try_to_reclaim_swap(k, si, offset, TTRS_ANYWAY);
                if (nr) {
                    offset += static_cast<uint64_t>(std::abs(nr));
                    continue;
                }
            }
            offset++;
        }
        // Nothing reclaimed: back where it came from.
        if (ci->flags == CLUSTER_FLAG_NONE) relocate_cluster(k, si, *ci);
        if (to_scan <= 0) break;
    }
}

void swap_reclaim_work(Kernel& k, unsigned type) {
    swap_reclaim_full_clusters(k, *k.swap->swap_info[type], true);
}

// cluster_alloc_swap_entry(): one device's slow path (see the essay).
uint64_t cluster_alloc_swap_entry(Kernel& k, SwapInfo& si, unsigned order, uint8_t usage) {
    uint64_t found = SWAP_ENTRY_INVALID;
    // A swap file cannot take large entries.
    if (order && !(si.flags & SWP_BLKDEV)) return 0;

    if (!(si.flags & SWP_SOLIDSTATE)) {
        uint64_t offset = si.global_next[order];
        if (offset != SWAP_ENTRY_INVALID) {
            SwapClusterInfo& ci = offset_to_cluster(si, offset);
            if (cluster_is_usable(ci, order)) {
                if (cluster_is_empty(ci)) offset = cluster_offset(si, ci);
                found = alloc_swap_scan_cluster(k, si, ci, offset, order, usage);
            }
            if (found) return found;
        }
    }
    for (;;) {  // new_cluster:
        if (si.flags & SWP_PAGE_DISCARD) {
            if ((found = alloc_swap_scan_list(k, si, si.free_clusters, order, usage, false))) return found;
        }
        if (order < SWAP_PMD_ORDER) {
            if ((found = alloc_swap_scan_list(k, si, si.nonfull_clusters[order], order, usage, true)))
                return found;
        }
        if (!(si.flags & SWP_PAGE_DISCARD)) {
            if ((found = alloc_swap_scan_list(k, si, si.free_clusters, order, usage, false))) return found;
        }
        if (vm_swap_full(k)) swap_reclaim_full_clusters(k, si, false);
        if (order < SWAP_PMD_ORDER) {
            // One fragmented cluster is enough: order 0 cannot fail there.
            if ((found = alloc_swap_scan_list(k, si, si.frag_clusters[order], order, usage, false)))
                return found;
        }
        // Clusters waiting for discard: discard them now and retry.
        if ((si.flags & SWP_PAGE_DISCARD) && swap_do_scheduled_discard(k, si)) continue;
        break;
    }
    if (order) return found;
    // Order 0 takes a slot from clusters of larger orders.
    for (unsigned o = 1; o < SWAP_NR_ORDERS; o++) {
        if ((found = alloc_swap_scan_list(k, si, si.frag_clusters[o], 0, usage, true))) return found;
        if ((found = alloc_swap_scan_list(k, si, si.nonfull_clusters[o], 0, usage, true))) return found;
    }
    return found;
}

// get_swap_device_info(): the device is between swapon and swapoff's kill.
bool get_swap_device_info(const SwapInfo& si) { return si.users_live; }

// swap_alloc_fast(): the CPU's current cluster for this order.
bool swap_alloc_fast(Kernel& k, SwpEntry& entry, unsigned order) {
    SwapState& st = *k.swap;
    PercpuSwapCluster& pcp = st.percpu.at(static_cast<std::size_t>(k.current_cpu));
    int type = pcp.si[order];
    uint32_t offset = pcp.offset[order];
    if (type < 0 || !offset) return false;
    SwapInfo& si = *st.swap_info[static_cast<std::size_t>(type)];
    if (!get_swap_device_info(si)) return false;
    SwapClusterInfo& ci = offset_to_cluster(si, offset);
    if (!cluster_is_usable(ci, order)) return false;
    uint64_t start = offset;
    if (cluster_is_empty(ci)) start = cluster_offset(si, ci);
    uint64_t found = alloc_swap_scan_cluster(k, si, ci, start, order, SWAP_HAS_CACHE);
    if (found) entry = swp_entry(si.type, found);
    return found != 0;
}

// swap_alloc_slow(): the devices on this node's avail list, each sent to
// the back of its priority group before it is tried.
bool swap_alloc_slow(Kernel& k, SwpEntry& entry, unsigned order) {
    SwapState& st = *k.swap;
    auto& head = st.avail_heads.at(static_cast<std::size_t>(numa_node_id(k)));
    std::size_t nid = static_cast<std::size_t>(numa_node_id(k));
    auto key = [&](unsigned t) { return st.swap_info[t]->avail_prio[nid]; };
    // The kernel walks until the list is exhausted; a device that fails
    // an order-0 allocation is full and has left the list. The bound only
    // guards against a device that stays on the list without room.
    unsigned guard = 4 * MAX_SWAPFILES + 4;
start_over:
    if (head.empty()) return false;
    for (unsigned pos = head.front(); guard-- > 0;) {
        auto it = std::find(head.begin(), head.end(), pos);
        if (it == head.end()) goto start_over;
        int next = (it + 1 == head.end()) ? -1 : static_cast<int>(*(it + 1));
        plist_requeue(head, pos, key);
        SwapInfo& si = *st.swap_info[pos];
        if (get_swap_device_info(si)) {
            uint64_t offset = cluster_alloc_swap_entry(k, si, order, SWAP_HAS_CACHE);
            if (offset) {
                entry = swp_entry(si.type, offset);
                return true;
            }
            if (order) return false;
        }
        if (next < 0) break;
        if (!plist_on(head, static_cast<unsigned>(next))) goto start_over;
        pos = static_cast<unsigned>(next);
    }
    return false;
}

// ---- freeing -------------------------------------------------------------------------------

void log_err(Kernel& k, const std::string& text) { k.log.printk(k.clock.now(), LogLevel::Err, text); }

// _swap_info_get(): the device of an entry whose slot is in use, or
// nullptr with the kernel's complaint.
SwapInfo* swap_info_get(Kernel& k, SwpEntry entry) {
    if (!entry.val) return nullptr;
    SwapState& st = state(k);
    unsigned type = swp_type(entry);
    auto complain = [&](const char* what) {
        log_err(k, fmt::format("_swap_info_get: {}{:08x}", what, entry.val));
        return nullptr;
    };
    if (type >= MAX_SWAPFILES || type >= st.swap_info.size()) return complain("Bad swap file entry ");
    SwapInfo& si = *st.swap_info[type];
    if (!(si.flags & SWP_USED)) return complain("Unused swap file entry ");
    uint64_t offset = swp_offset(entry);
    if (offset >= si.max) return complain("Bad swap offset entry ");
    if (!si.swap_map[offset]) return complain("Unused swap offset entry ");
    return &si;
}

void swap_entries_free(Kernel& k, SwapInfo& si, SwapClusterInfo& ci, SwpEntry entry, unsigned nr);

bool swap_count_continued(Kernel& k, SwapInfo& si, uint64_t offset, uint8_t count);

// swap_entry_put_locked(): drops one reference (usage 1) or the cache bit
// (usage SWAP_HAS_CACHE); frees the slot when nothing is left. Returns
// the new map byte.
uint8_t swap_entry_put_locked(Kernel& k, SwapInfo& si, SwapClusterInfo& ci, SwpEntry entry, uint8_t usage) {
    uint64_t offset = swp_offset(entry);
    uint8_t count = si.swap_map[offset];
    uint8_t has_cache = count & SWAP_HAS_CACHE;
    count &= static_cast<uint8_t>(~SWAP_HAS_CACHE);

    if (usage == SWAP_HAS_CACHE) {
        if (!has_cache) vm_bug(fmt::format("put of the cache bit of {:#x}, which has none", entry.val));
        has_cache = 0;
    } else if (count == SWAP_MAP_SHMEM) {
        count = 0;
    } else if ((count & ~COUNT_CONTINUED) <= SWAP_MAP_MAX) {
        if (count == COUNT_CONTINUED) {
            count =
                swap_count_continued(k, si, offset, count) ? (SWAP_MAP_MAX | COUNT_CONTINUED) : SWAP_MAP_MAX;
        } else {
            count--;
        }
    }
    uint8_t left = count | has_cache;
    if (left)
        si.swap_map[offset] = left;
    else
        swap_entries_free(k, si, ci, entry, 1);
    return left;
}

// swap_only_has_cache(): every slot of the range holds the cache bit alone.
bool swap_only_has_cache(const SwapInfo& si, uint64_t offset, unsigned nr) {
    for (uint64_t o = offset; o < offset + nr; o++) {
        if (!(si.swap_map[o] & SWAP_HAS_CACHE)) vm_bug(fmt::format("slot {:#x} has no cache bit", o));
        if (si.swap_map[o] != SWAP_HAS_CACHE) return false;
    }
    return true;
}

// swap_is_last_map(): every slot holds the same single reference.
bool swap_is_last_map(const SwapInfo& si, uint64_t offset, unsigned nr, bool& has_cache) {
    uint8_t count = si.swap_map[offset];
    if (swap_count(count) != 1 && swap_count(count) != SWAP_MAP_SHMEM) return false;
    for (uint64_t o = offset + 1; o < offset + nr; o++)
        if (si.swap_map[o] != count) return false;
    has_cache = count & SWAP_HAS_CACHE;
    return true;
}

void swap_entries_put_cache(Kernel& k, SwapInfo& si, SwpEntry entry, unsigned nr) {
    uint64_t offset = swp_offset(entry);
    SwapClusterInfo& ci = offset_to_cluster(si, offset);
    if (swap_only_has_cache(si, offset, nr)) {
        swap_entries_free(k, si, ci, entry, nr);
        return;
    }
    for (unsigned i = 0; i < nr; i++, entry.val++) swap_entry_put_locked(k, si, ci, entry, SWAP_HAS_CACHE);
}

// swap_entries_put_map(): one reference off each of nr slots in one
// cluster; true if some slot is left with only the cache bit.
bool swap_entries_put_map(Kernel& k, SwapInfo& si, SwpEntry entry, unsigned nr) {
    uint64_t offset = swp_offset(entry);
    SwapClusterInfo& ci = offset_to_cluster(si, offset);
    bool has_cache = false;
    if (nr > 1) {
        uint8_t count = swap_count(si.swap_map[offset]);
        if ((count == 1 || count == SWAP_MAP_SHMEM) && swap_is_last_map(si, offset, nr, has_cache)) {
            if (!has_cache)
                swap_entries_free(k, si, ci, entry, nr);
            else
                std::fill_n(si.swap_map.begin() + static_cast<std::ptrdiff_t>(offset), nr, SWAP_HAS_CACHE);
            return has_cache;
        }
    }
    for (unsigned i = 0; i < nr; i++, entry.val++)
        if (swap_entry_put_locked(k, si, ci, entry, 1) == SWAP_HAS_CACHE) has_cache = true;
    return has_cache;
}

bool swap_entries_put_map_nr(Kernel& k, SwapInfo& si, SwpEntry entry, int nr) {
    uint64_t offset = swp_offset(entry);
    int cluster_rest = static_cast<int>(SWAPFILE_CLUSTER - offset % SWAPFILE_CLUSTER);
    bool has_cache = false;
    while (nr > 0) {
        int n = std::min(nr, cluster_rest);
        has_cache |= swap_entries_put_map(k, si, entry, static_cast<unsigned>(n));
        cluster_rest = SWAPFILE_CLUSTER;
        nr -= n;
        entry.val += static_cast<uint64_t>(n);
    }
    return has_cache;
}

// swap_entries_free(): the last reference of nr slots of one cluster is
// gone: the slots become free and the cluster moves.
void swap_entries_free(Kernel& k, SwapInfo& si, SwapClusterInfo& ci, SwpEntry entry, unsigned nr) {
    uint64_t offset = swp_offset(entry);
    if (&ci != &offset_to_cluster(si, offset + nr - 1)) vm_bug("swap_entries_free across clusters");
    if (cluster_is_empty(ci) || ci.count < nr) vm_bug("swap_entries_free: cluster count too low");
    ci.count = static_cast<uint16_t>(ci.count - nr);
    for (uint64_t o = offset; o < offset + nr; o++) {
        uint8_t m = si.swap_map[o];
        if (m != SWAP_HAS_CACHE && m != 1 && m != SWAP_MAP_SHMEM)
            vm_bug(fmt::format("swap_entries_free: slot {:#x} still has {:#x}", o, m));
        si.swap_map[o] = 0;
    }
    swap_range_free(k, si, offset, nr);
    if (!ci.count)
        free_cluster(k, si, ci);
    else
        partial_free_cluster(si, ci);
}

// ---- references ------------------------------------------------------------------------------

// __swap_duplicate(): one more reference (usage 1), the cache bit (usage
// SWAP_HAS_CACHE) or shmem's mark on nr slots of one cluster.
int swap_duplicate_nr(Kernel& k, SwpEntry entry, uint8_t usage, int nr) {
    SwapState& st = state(k);
    unsigned type = swp_type(entry);
    if (type >= MAX_SWAPFILES || type >= st.swap_info.size()) {
        log_err(k, fmt::format("Bad swap file entry {:08x}", entry.val));
        return -static_cast<int>(Errno::INVAL);
    }
    SwapInfo& si = *st.swap_info[type];
    uint64_t offset = swp_offset(entry);
    if (!(si.flags & SWP_USED) || offset + static_cast<uint64_t>(nr) > si.max) {
        log_err(k, fmt::format("Bad swap file entry {:08x}", entry.val));
        return -static_cast<int>(Errno::INVAL);
    }
    for (int i = 0; i < nr; i++) {
        uint8_t count = si.swap_map[offset + static_cast<uint64_t>(i)];
        // Readahead does not check entries: a bad slot is refused here.
        if (swap_count(count) == SWAP_MAP_BAD) return -static_cast<int>(Errno::NOENT);
        uint8_t has_cache = count & SWAP_HAS_CACHE;
        count &= static_cast<uint8_t>(~SWAP_HAS_CACHE);
        if (!count && !has_cache) return -static_cast<int>(Errno::NOENT);
        if (usage == SWAP_HAS_CACHE) {
            if (has_cache) return -static_cast<int>(Errno::EXIST);
        } else if ((count & ~COUNT_CONTINUED) > SWAP_MAP_MAX) {
            return -static_cast<int>(Errno::INVAL);
        }
    }
    for (int i = 0; i < nr; i++) {
        uint64_t o = offset + static_cast<uint64_t>(i);
        uint8_t count = si.swap_map[o];
        uint8_t has_cache = count & SWAP_HAS_CACHE;
        count &= static_cast<uint8_t>(~SWAP_HAS_CACHE);
        if (usage == SWAP_HAS_CACHE)
            has_cache = SWAP_HAS_CACHE;
        else if ((count & ~COUNT_CONTINUED) < SWAP_MAP_MAX)
            count = static_cast<uint8_t>(count + usage);
        else if (swap_count_continued(k, si, o, count))
            count = COUNT_CONTINUED;
        else
            return -static_cast<int>(Errno::NOMEM);  // usage 1 means nr 1: nothing to undo
        si.swap_map[o] = count | has_cache;
    }
    return 0;
}

// The continuation pages of the swap_map page that holds `offset`.
std::vector<SwapContPage>* cont_pages(SwapInfo& si, uint64_t offset) {
    auto it = si.continuations.find(offset / PAGE_SIZE);
    return it == si.continuations.end() ? nullptr : &it->second;
}

// swap_count_continued(): carries an increment from SWAP_MAP_MAX into the
// continuation digits, or borrows a decrement from them (count is
// COUNT_CONTINUED with a low digit of 0). For an increment, false means a
// new continuation page is needed; for a decrement, whether the count
// still goes on.
bool swap_count_continued(Kernel&, SwapInfo& si, uint64_t offset, uint8_t count) {
    std::vector<SwapContPage>* pages = cont_pages(si, offset);
    if (!pages || pages->empty()) {
        if (count & COUNT_CONTINUED) vm_bug("COUNT_CONTINUED without a continuation page");
        return false;
    }
    const std::size_t slot = offset % PAGE_SIZE;
    auto digit = [&](std::size_t page) -> uint8_t& { return (*pages)[page].digits[slot]; };
    std::size_t page = 0;

    if (count == SWAP_MAP_MAX) {  // the first carry out of the map byte
        digit(page) = 0;
    } else if (count == (SWAP_MAP_MAX | COUNT_CONTINUED)) {  // incrementing: 999 + 1
        while (digit(page) == (SWAP_CONT_MAX | COUNT_CONTINUED)) {
            page++;
            if (page == pages->size()) vm_bug("continuation digits end with a carry");
        }
        if (digit(page) == SWAP_CONT_MAX) {
            page++;
            if (page == pages->size()) return false;  // a new page is needed
            digit(page) = 0;
        }
    } else {  // decrementing: 1000 - 1
        if (count != COUNT_CONTINUED) vm_bug("swap_count_continued: unexpected count");
        while (digit(page) == COUNT_CONTINUED) {
            page++;
            if (page == pages->size()) vm_bug("continuation digits end with a borrow");
        }
        if (digit(page) == 0) vm_bug("swap_count_continued: borrowing from zero");
        digit(page) = static_cast<uint8_t>(digit(page) - 1);
        // The page below gets all ones, flagged if anything is left above
        // it; every page further down gets all ones and the flag.
        uint8_t carry = digit(page) == 0 ? 0 : COUNT_CONTINUED;
        while (page-- > 0) {
            digit(page) = SWAP_CONT_MAX | carry;
            carry = COUNT_CONTINUED;
        }
        return carry == COUNT_CONTINUED;
    }
    digit(page) = static_cast<uint8_t>(digit(page) + 1);
    // Every lower page becomes zero with a carry flag.
    while (page-- > 0) digit(page) = COUNT_CONTINUED;
    return true;
}

void free_swap_count_continuations(Kernel& k, SwapInfo& si) {
    for (auto& [_, pages] : si.continuations)
        for (const SwapContPage& p : pages) free_pages(k, p.pfn, 0);
    si.continuations.clear();
}

}  // namespace

// ---- media ---------------------------------------------------------------------------------

const char* swap_medium_name(SwapMedium m) {
    switch (m) {
        case SwapMedium::Disk:
            return "disk";
        case SwapMedium::Ssd:
            return "ssd";
        case SwapMedium::Zram:
            return "zram";
    }
    return "disk";
}

std::optional<SwapMedium> swap_medium_from_name(std::string_view name) {
    if (name == "disk") return SwapMedium::Disk;
    if (name == "ssd") return SwapMedium::Ssd;
    if (name == "zram") return SwapMedium::Zram;
    return std::nullopt;
}

// Simulated costs of one 4 KiB slot. The kernel has no such numbers; these
// are typical of current hardware:
//   disk  a VM's virtio disk backed by the host's SSD: ~100 us for a read
//         (an NVMe read plus the virtio round trip, as CostModel::file_read)
//         and about the same for a write;
//   ssd   an NVMe SSD: ~100 us to read a 4 KiB page at queue depth 1, ~30 us
//         to write one (it lands in the drive's write cache);
//   zram  LZO-RLE or LZ4 in memory: ~2 us to decompress a page, ~5 us to
//         compress one, plus the block layer.
Nanos default_swap_read_ns(SwapMedium m) {
    switch (m) {
        case SwapMedium::Disk:
            return 100 * NSEC_PER_USEC;
        case SwapMedium::Ssd:
            return 100 * NSEC_PER_USEC;
        case SwapMedium::Zram:
            return 2 * NSEC_PER_USEC;
    }
    return 100 * NSEC_PER_USEC;
}

Nanos default_swap_write_ns(SwapMedium m) {
    switch (m) {
        case SwapMedium::Disk:
            return 100 * NSEC_PER_USEC;
        case SwapMedium::Ssd:
            return 30 * NSEC_PER_USEC;
        case SwapMedium::Zram:
            return 5 * NSEC_PER_USEC;
    }
    return 100 * NSEC_PER_USEC;
}

SwapArea make_swap_area(const std::string& path, uint64_t bytes, bool blkdev, SwapMedium medium) {
    SwapArea a;
    a.path = path;
    a.blkdev = blkdev;
    a.size_bytes = bytes;
    uint64_t pages = bytes / PAGE_SIZE;
    a.last_page = pages ? static_cast<uint32_t>(std::min<uint64_t>(pages - 1, 0xffffffffull)) : 0;
    a.medium = medium;
    a.read_ns = default_swap_read_ns(medium);
    a.write_ns = default_swap_write_ns(medium);
    return a;
}

// ---- setup --------------------------------------------------------------------------------

void swapfile_init(Kernel& k) {
    k.swap = std::make_unique<SwapState>();
    SwapState& st = *k.swap;
    st.avail_heads.assign(std::max<std::size_t>(k.nodes.size(), 1), {});
    PercpuSwapCluster none;
    none.si.fill(-1);
    none.offset.fill(SWAP_ENTRY_INVALID);
    st.percpu.assign(std::max<std::size_t>(k.cpus.size(), 1), none);
    // arch_max_swapfile_size() on x86-64: a swap PTE keeps 50 bits of
    // offset. (The L1TF limit to half the physical address space, on CPUs
    // with that bug, is not modelled.)
    st.swapfile_maximum_size = uint64_t{1} << 50;
}

// ---- allocation -----------------------------------------------------------------------------

Result<SwpEntry> folio_alloc_swap(Kernel& k, unsigned order) {
    state(k);
    // CONFIG_THP_SWAP: large folios are allowed up to a cluster.
    if (order && (uint64_t{1} << order) > SWAPFILE_CLUSTER) return Errno::INVAL;
    SwpEntry entry;
    if (!swap_alloc_fast(k, entry, order)) swap_alloc_slow(k, entry, order);
    if (!entry.val) return Errno::NOMEM;
    return entry;
}

SwpEntry get_swap_page_of_type(Kernel& k, unsigned type) {
    SwapState& st = state(k);
    if (type >= st.swap_info.size()) return {};
    SwapInfo& si = *st.swap_info[type];
    if (!get_swap_device_info(si) || !(si.flags & SWP_WRITEOK)) return {};
    uint64_t offset = cluster_alloc_swap_entry(k, si, 0, 1);
    return offset ? swp_entry(type, offset) : SwpEntry{};
}

// ---- references ------------------------------------------------------------------------------

int swap_duplicate(Kernel& k, SwpEntry e) {
    int err = 0;
    while (!err && swap_duplicate_nr(k, e, 1, 1) == -static_cast<int>(Errno::NOMEM))
        err = add_swap_count_continuation(k, e, GFP_ATOMIC);
    return err;
}

int add_swap_count_continuation(Kernel& k, SwpEntry e, gfp_t gfp) {
    SwapState& st = state(k);
    // The page first, as the kernel does (it may not be used).
    MaybePfn page = alloc_pages(k, gfp | __GFP_HIGHMEM, 0);
    auto drop = [&] {
        if (page) free_pages(k, *page, 0);
    };
    unsigned type = swp_type(e);
    uint64_t offset = swp_offset(e);
    if (type >= st.swap_info.size() || !get_swap_device_info(*st.swap_info[type]) ||
        offset >= st.swap_info[type]->max) {
        drop();  // swapoff won the race: nothing to do
        return 0;
    }
    SwapInfo& si = *st.swap_info[type];
    uint8_t count = swap_count(si.swap_map[offset]);
    // Someone else made room meanwhile.
    if ((count & ~COUNT_CONTINUED) != SWAP_MAP_MAX) {
        drop();
        return 0;
    }
    if (!page) return -static_cast<int>(Errno::NOMEM);
    std::vector<SwapContPage>& pages = si.continuations[offset / PAGE_SIZE];
    if (pages.empty()) {
        if (count & COUNT_CONTINUED) vm_bug("COUNT_CONTINUED without a continuation page");
        si.flags |= SWP_CONTINUED;
    }
    const std::size_t slot = offset % PAGE_SIZE;
    for (const SwapContPage& p : pages) {
        // A page with room already exists: ours is not needed.
        if (!(count & COUNT_CONTINUED) || (p.digits[slot] & ~COUNT_CONTINUED) != SWAP_CONT_MAX) {
            drop();
            return 0;
        }
        count = p.digits[slot];
    }
    pages.push_back(SwapContPage{*page, std::vector<uint8_t>(PAGE_SIZE, 0)});
    return 0;
}

int swapcache_prepare(Kernel& k, SwpEntry e, int nr) { return swap_duplicate_nr(k, e, SWAP_HAS_CACHE, nr); }

void swap_shmem_alloc(Kernel& k, SwpEntry e, int nr) { (void)swap_duplicate_nr(k, e, SWAP_MAP_SHMEM, nr); }

void swapcache_clear(Kernel& k, SwpEntry e, int nr) {
    SwapState& st = state(k);
    unsigned type = swp_type(e);
    if (type >= st.swap_info.size() || !(st.swap_info[type]->flags & SWP_USED))
        vm_bug(fmt::format("swapcache_clear of {:#x}: no such device", e.val));
    swap_entries_put_cache(k, *st.swap_info[type], e, static_cast<unsigned>(nr));
}

void put_swap_folio(Kernel& k, SwpEntry e, unsigned order) {
    SwapInfo* si = swap_info_get(k, e);
    if (!si) return;
    swap_entries_put_cache(k, *si, e, 1u << order);
}

void swap_free_nr(Kernel& k, SwpEntry e, int nr_pages) {
    SwapInfo* si = swap_info_get(k, e);
    if (!si) return;
    uint64_t offset = swp_offset(e);
    while (nr_pages > 0) {
        int nr = std::min<int>(nr_pages, static_cast<int>(SWAPFILE_CLUSTER - offset % SWAPFILE_CLUSTER));
        swap_entries_put_map(k, *si, swp_entry(si->type, offset), static_cast<unsigned>(nr));
        offset += static_cast<uint64_t>(nr);
        nr_pages -= nr;
    }
}

void free_swap_and_cache_nr(Kernel& k, SwpEntry e, int nr) {
    SwapState& st = state(k);
    // get_swap_device()
    if (!e.val) return;
    unsigned type = swp_type(e);
    if (type >= MAX_SWAPFILES || type >= st.swap_info.size()) {
        log_err(k, fmt::format("get_swap_device: Bad swap file entry {:08x}", e.val));
        return;
    }
    SwapInfo& si = *st.swap_info[type];
    if (!get_swap_device_info(si)) return;
    uint64_t start = swp_offset(e);
    if (start >= si.max) {
        log_err(k, fmt::format("get_swap_device: Bad swap offset entry {:08x}", e.val));
        return;
    }
    uint64_t end = start + static_cast<uint64_t>(nr);
    if (end > si.max) {
        k.log.printk(k.clock.now(), LogLevel::Warning,
                     "WARNING: free_swap_and_cache_nr: range beyond the device");
        return;
    }
    if (!swap_entries_put_map_nr(k, si, e, nr)) return;
    // Slots left with only the cache: try to drop their folios.
    for (uint64_t offset = start; offset < end;) {
        uint64_t step = 1;
        if (si.swap_map[offset] == SWAP_HAS_CACHE) {
            int got = try_to_reclaim_swap(k, si, offset, TTRS_UNMAPPED | TTRS_FULL);
            uint64_t n = got == 0 ? 1 : static_cast<uint64_t>(std::abs(got));
            // Folios are naturally aligned: on to the next boundary.
            step = (offset + 1 + n - 1) / n * n - offset;
        }
        offset += step;
    }
}

// ---- counts -----------------------------------------------------------------------------------

namespace {

// The device of an in-range entry, or nullptr (no logging: const paths).
const SwapInfo* lookup(const Kernel& k, SwpEntry e) {
    if (!k.swap || !e.val) return nullptr;
    unsigned type = swp_type(e);
    if (type >= MAX_SWAPFILES || type >= k.swap->swap_info.size()) return nullptr;
    const SwapInfo& si = *k.swap->swap_info[type];
    if (!(si.flags & SWP_USED) || swp_offset(e) >= si.max) return nullptr;
    return &si;
}

}  // namespace

int swp_swapcount(const Kernel& k, SwpEntry e) {
    const SwapInfo* si = lookup(k, e);
    if (!si) return 0;
    uint64_t offset = swp_offset(e);
    if (!si->swap_map[offset]) return 0;
    int count = swap_count(si->swap_map[offset]);
    if (!(count & COUNT_CONTINUED)) return count;
    count &= ~COUNT_CONTINUED;
    int n = SWAP_MAP_MAX + 1;
    auto it = si->continuations.find(offset / PAGE_SIZE);
    if (it == si->continuations.end()) vm_bug("COUNT_CONTINUED without continuation pages");
    for (const SwapContPage& p : it->second) {
        uint8_t digit = p.digits[offset % PAGE_SIZE];
        count += (digit & ~COUNT_CONTINUED) * n;
        n *= SWAP_CONT_MAX + 1;
        if (!(digit & COUNT_CONTINUED)) break;
    }
    return count;
}

int __swap_count(const Kernel& k, SwpEntry e) {
    return swap_count(swap_info_of(k, e).swap_map[swp_offset(e)]);
}

bool swap_entry_swapped(const Kernel& k, SwpEntry e) { return __swap_count(k, e) != 0; }

bool swap_has_cache(const Kernel& k, SwpEntry e) {
    return swap_info_of(k, e).swap_map[swp_offset(e)] & SWAP_HAS_CACHE;
}

bool swap_zeromap_test(const Kernel& k, SwpEntry e) {
    const SwapInfo& si = swap_info_of(k, e);
    uint64_t o = swp_offset(e);
    return (si.zeromap[o / 64] >> (o % 64)) & 1;
}

void swap_zeromap_set(Kernel& k, SwpEntry e, bool zero) {
    SwapInfo& si = const_cast<SwapInfo&>(swap_info_of(k, e));
    uint64_t o = swp_offset(e);
    if (zero)
        si.zeromap[o / 64] |= uint64_t{1} << (o % 64);
    else
        si.zeromap[o / 64] &= ~(uint64_t{1} << (o % 64));
}

// ---- totals -----------------------------------------------------------------------------------

bool vm_swap_full(const Kernel& k) {
    if (!k.swap) return false;
    return k.swap->nr_swap_pages * 2 < k.swap->total_swap_pages;
}

uint64_t get_nr_swap_pages(const Kernel& k) {
    if (!k.swap || k.swap->nr_swap_pages < 0) return 0;
    return static_cast<uint64_t>(k.swap->nr_swap_pages);
}

uint64_t total_swap_pages(const Kernel& k) {
    if (!k.swap || k.swap->total_swap_pages < 0) return 0;
    return static_cast<uint64_t>(k.swap->total_swap_pages);
}

uint64_t nr_swap_pages_free(const Kernel& k) { return get_nr_swap_pages(k); }

SwapInfoTotals si_swapinfo(const Kernel& k) {
    SwapInfoTotals t;
    if (!k.swap) return t;
    // A device being swapped off still counts, as if it were on.
    int64_t to_be_unused = 0;
    for (const auto& si : k.swap->swap_info)
        if ((si->flags & SWP_USED) && !(si->flags & SWP_WRITEOK))
            to_be_unused += static_cast<int64_t>(si->inuse_pages);
    t.freeswap = static_cast<uint64_t>(std::max<int64_t>(k.swap->nr_swap_pages + to_be_unused, 0));
    t.totalswap = static_cast<uint64_t>(std::max<int64_t>(k.swap->total_swap_pages + to_be_unused, 0));
    return t;
}

const SwapInfo* swap_type_to_info(const Kernel& k, unsigned type) {
    if (!k.swap || type >= MAX_SWAPFILES || type >= k.swap->swap_info.size()) return nullptr;
    return k.swap->swap_info[type].get();
}

const SwapInfo& swap_info_of(const Kernel& k, SwpEntry e) {
    const SwapInfo* si = swap_type_to_info(k, swp_type(e));
    if (!si || !(si->flags & SWP_USED) || swp_offset(e) >= si->max)
        vm_bug(fmt::format("swap_info_of: entry {:#x} names no device slot", e.val));
    return *si;
}

// ---- swapon ---------------------------------------------------------------------------------

namespace {

Error swap_error(Errno e, std::string why = {}) { return Error{e, std::move(why)}; }

// alloc_swap_info(): a struct for the new device and the first free type
// (a type whose device was swapped off is reused; the new struct is then
// freed again). EPERM when MAX_SWAPFILES are in use.
Result<SwapInfo*> alloc_swap_info(Kernel& k) {
    SwapState& st = *k.swap;
    uint64_t size = kSwapInfoStructSize + kPlistNodeSize * k.nodes.size();
    auto obj = kmalloc_for(k, size, GFP_KERNEL | __GFP_ZERO, "alloc_swap_info");
    if (!obj) return Errno::NOMEM;
    std::size_t type = 0;
    while (type < st.swap_info.size() && (st.swap_info[type]->flags & SWP_USED)) type++;
    if (type >= MAX_SWAPFILES) {
        kfree_for(k, *obj);
        return swap_error(Errno::PERM, fmt::format("all {} swap types are in use", MAX_SWAPFILES));
    }
    SwapInfo* si;
    if (type >= st.swap_info.size()) {
        st.swap_info.push_back(std::make_unique<SwapInfo>());
        si = st.swap_info.back().get();
        si->type = static_cast<unsigned>(type);
        si->struct_obj = *obj;
    } else {
        si = st.swap_info[type].get();
        kfree_for(k, *obj);  // the kept struct is reused
    }
    si->flags = SWP_USED;
    si->inuse_pages = 0;
    si->offlist = true;
    si->users_live = false;
    return si;
}

// read_swap_header(): the usable size from the header, 0 if it is no use.
uint64_t read_swap_header(Kernel& k, const SwapArea& a) {
    SwapState& st = *k.swap;
    auto warn = [&](const std::string& text) { k.log.printk(k.clock.now(), LogLevel::Warning, text); };
    if (!a.signature) {
        log_err(k, "Unable to find swap-space signature");
        return 0;
    }
    if (a.version != 1) {
        warn(fmt::format("Unable to handle swap header version {}", a.version));
        return 0;
    }
    uint64_t maxpages = st.swapfile_maximum_size;
    uint64_t last_page = a.last_page;
    if (!last_page) {
        warn("Empty swap-file");
        return 0;
    }
    if (last_page > maxpages)
        warn(fmt::format("Truncating oversized swap area, only using {}k out of {}k", kib(maxpages),
                         kib(last_page)));
    if (maxpages > last_page) {
        maxpages = last_page + 1;
        // si->max is an unsigned int.
        if (static_cast<uint32_t>(maxpages) == 0) maxpages = 0xffffffffu;
    }
    uint64_t filepages = a.size_bytes >> PAGE_SHIFT;
    if (filepages && maxpages > filepages) {
        warn("Swap area shorter than signature indicates");
        return 0;
    }
    if (!a.badpages.empty() && !a.blkdev) return 0;
    if (a.badpages.size() > MAX_SWAP_BADPAGES) return 0;
    return maxpages;
}

// inc_cluster_info_page(): a slot that can never be allocated (header,
// bad page, past the end) counts as taken; its cluster gets a table.
Result<void> inc_cluster_info_page(Kernel& k, SwapInfo& si, uint64_t page_nr) {
    SwapClusterInfo& ci = si.cluster_info[page_nr / SWAPFILE_CLUSTER];
    if (!ci.has_table) {
        MaybePfn table = swap_table_alloc(k, GFP_KERNEL);
        if (!table) return Errno::NOMEM;
        ci.table = *table;
        ci.has_table = true;
    }
    ci.count++;
    if (ci.count > SWAPFILE_CLUSTER || ci.flags) vm_bug("inc_cluster_info_page");
    return {};
}

void free_cluster_info(Kernel& k, SwapInfo& si) {
    for (SwapClusterInfo& ci : si.cluster_info) swap_cluster_free_table(k, ci);
    si.cluster_info.clear();
    kvfree_for(k, si.cluster_info_mem);
    si.cluster_info_mem = 0;
    si.free_clusters = si.full_clusters = si.discard_clusters = ClusterList{};
    si.nonfull_clusters.fill(ClusterList{});
    si.frag_clusters.fill(ClusterList{});
}

// setup_clusters(): every cluster on the free list, except those holding
// slots that can never be used, which start on the order-0 nonfull list.
Result<void> setup_clusters(Kernel& k, SwapInfo& si, const SwapArea& a, uint64_t maxpages) {
    uint64_t nr_clusters = (maxpages + SWAPFILE_CLUSTER - 1) / SWAPFILE_CLUSTER;
    auto mem = kvmalloc_for(k, nr_clusters * kClusterInfoSize, GFP_KERNEL | __GFP_ZERO, "__do_sys_swapon");
    if (!mem) return Errno::NOMEM;
    si.cluster_info_mem = *mem;
    si.cluster_info.assign(nr_clusters, SwapClusterInfo{});
    if (!(si.flags & SWP_SOLIDSTATE)) {
        auto gc = kmalloc_for(k, kSequentialClusterSize, GFP_KERNEL, "setup_clusters");
        if (!gc) return Errno::NOMEM;
        si.global_cluster_mem = *gc;
        si.has_global_cluster = true;
        si.global_next.fill(SWAP_ENTRY_INVALID);
    }
    if (auto r = inc_cluster_info_page(k, si, 0); !r) return r;
    for (uint32_t page_nr : a.badpages)
        if (page_nr < maxpages)
            if (auto r = inc_cluster_info_page(k, si, page_nr); !r) return r;
    for (uint64_t i = maxpages; i < nr_clusters * SWAPFILE_CLUSTER; i++)
        if (auto r = inc_cluster_info_page(k, si, i); !r) return r;
    for (SwapClusterInfo& ci : si.cluster_info) {
        if (ci.count) {
            ci.flags = CLUSTER_FLAG_NONFULL;
            cluster_list_add_tail(si, ci, CLUSTER_FLAG_NONFULL, 0);
        } else {
            ci.flags = CLUSTER_FLAG_FREE;
            cluster_list_add_tail(si, ci, CLUSTER_FLAG_FREE, 0);
        }
    }
    return {};
}

// swap_node(): the NUMA node of the device's disk.
int swap_node(const SwapInfo& si) { return si.node; }

// setup_swap_info(): the priority (a default one is the next below the
// last) and the list keys.
void setup_swap_info(SwapState& st, SwapInfo& si, int prio) {
    if (prio >= 0)
        si.prio = prio;
    else
        si.prio = --st.least_priority;
    si.list_prio = -si.prio;
    si.avail_prio.assign(st.avail_heads.size(), 0);
    for (std::size_t i = 0; i < si.avail_prio.size(); i++) {
        if (si.prio >= 0)
            si.avail_prio[i] = -si.prio;
        else
            si.avail_prio[i] = swap_node(si) == static_cast<int>(i) ? 1 : -si.prio;
    }
}

// _enable_swap_info(): counted, on the active list, and open for allocation.
void enable_swap_info_locked(SwapState& st, SwapInfo& si) {
    st.nr_swap_pages += si.pages;
    st.total_swap_pages += si.pages;
    plist_add(st.active, si.type, [&](unsigned t) { return st.swap_info[t]->list_prio; });
    add_to_avail_list(st, si, true);
}

// The bad_swap path of swapon: everything allocated so far goes.
void swapon_cleanup(Kernel& k, SwapInfo& si, bool inced_rotate) {
    SwapState& st = *k.swap;
    kfree_for(k, si.global_cluster_mem);
    si.global_cluster_mem = 0;
    si.has_global_cluster = false;
    for (uint64_t e : si.extent_objs) kfree_for(k, e);
    si.extent_objs.clear();
    vfree_for(k, si.cgroup_map_mem);
    si.cgroup_map_mem = 0;
    si.flags = 0;
    si.swap_map.clear();
    si.swap_map.shrink_to_fit();
    vfree_for(k, si.swap_map_mem);
    si.swap_map_mem = 0;
    si.zeromap.clear();
    kvfree_for(k, si.zeromap_mem);
    si.zeromap_mem = 0;
    free_cluster_info(k, si);
    if (inced_rotate) st.nr_rotate_swap--;
    si.max = si.pages = 0;
    si.path.clear();
}

}  // namespace

Result<void> mkswap(Kernel& k, const SwapArea& area) {
    SwapState& st = state(k);
    auto it = st.areas.find(area.path);
    if (it != st.areas.end() && it->second.active)
        return swap_error(Errno::BUSY, fmt::format("{} is in use as swap", area.path));
    st.areas[area.path] = area;
    return {};
}

Result<void> sys_swapon(Kernel& k, const std::string& path, int swap_flags) {
    SwapState& st = state(k);
    if (swap_flags & ~SWAP_FLAGS_VALID) return swap_error(Errno::INVAL, "unknown swapon flags");

    auto got = alloc_swap_info(k);
    if (!got) return got.error();
    SwapInfo& si = **got;
    bool inced_rotate = false;
    auto fail = [&](Errno e, std::string why = {}) -> Result<void> {
        swapon_cleanup(k, si, inced_rotate);
        return swap_error(e, std::move(why));
    };

    // file_open_name() and claim_swapfile().
    auto ait = st.areas.find(path);
    if (ait == st.areas.end()) return fail(Errno::NOENT, fmt::format("no swap area at {}", path));
    SwapArea& a = ait->second;
    if (a.blkdev) si.flags |= SWP_BLKDEV;
    if (a.active) return fail(Errno::BUSY, fmt::format("{} is already swap", path));

    uint64_t maxpages = read_swap_header(k, a);
    if (!maxpages) return fail(Errno::INVAL, "no usable swap header");
    si.max = static_cast<uint32_t>(maxpages);
    si.pages = static_cast<uint32_t>(maxpages - 1);
    si.path = path;
    si.blkdev = a.blkdev;
    si.node = a.node;
    si.read_latency = a.read_ns ? a.read_ns : default_swap_read_ns(a.medium);
    si.write_latency = a.write_ns ? a.write_ns : default_swap_write_ns(a.medium);

    // setup_swap_extents(): one extent for a partition, the file's own for a file.
    si.nr_extents = a.blkdev ? 1 : std::max(1u, a.extents);
    uint64_t span = a.blkdev || !a.span_pages ? si.pages : a.span_pages;
    for (unsigned i = 0; i < si.nr_extents; i++) {
        auto e = kmalloc_for(k, kSwapExtentSize, GFP_KERNEL, "add_swap_extent");
        if (!e) return fail(Errno::NOMEM);
        si.extent_objs.push_back(*e);
    }

    // The slot map, the swap cgroup map, the bad pages.
    auto map = vzalloc_for(k, maxpages, kSwapMapCaller);
    if (!map) return fail(Errno::NOMEM);
    si.swap_map_mem = *map;
    si.swap_map.assign(maxpages, 0);
    // swap_cgroup_swapon(): two bytes of memcg id per slot (memcg is on).
    auto cg = vzalloc_for(k, (maxpages + 1) / 2 * 4, kSwapCgroupCaller);
    if (!cg) return fail(Errno::NOMEM);
    si.cgroup_map_mem = *cg;
    // setup_swap_map()
    si.swap_map[0] = SWAP_MAP_BAD;  // the header
    for (uint32_t page_nr : a.badpages) {
        if (page_nr == 0 || page_nr > a.last_page) return fail(Errno::INVAL, "a bad page outside the area");
        if (page_nr < maxpages) {
            si.swap_map[page_nr] = SWAP_MAP_BAD;
            si.pages--;
        }
    }
    if (!si.pages) {
        k.log.printk(k.clock.now(), LogLevel::Warning, "Empty swap-file");
        return fail(Errno::INVAL, "no usable slot");
    }
    auto zm = kvmalloc_for(k, (maxpages + 63) / 64 * 8, GFP_KERNEL | __GFP_ZERO, "__do_sys_swapon");
    if (!zm) return fail(Errno::NOMEM);
    si.zeromap_mem = *zm;
    si.zeromap.assign((maxpages + 63) / 64, 0);

    // The device's properties.
    // zram's queue has BLK_FEAT_STABLE_WRITES and BLK_FEAT_SYNCHRONOUS.
    if (a.medium == SwapMedium::Zram) si.flags |= SWP_STABLE_WRITES | SWP_SYNCHRONOUS_IO;
    if (a.medium != SwapMedium::Disk) {
        si.flags |= SWP_SOLIDSTATE;
    } else {
        st.nr_rotate_swap++;
        inced_rotate = true;
    }
    if (auto r = setup_clusters(k, si, a, maxpages); !r) return fail(r.err());

    if ((swap_flags & SWAP_FLAG_DISCARD) && a.discard_capable) {
        // Discard with no policy means both kinds (older swapon(8)s).
        si.flags |= SWP_DISCARDABLE | SWP_AREA_DISCARD | SWP_PAGE_DISCARD;
        if (swap_flags & SWAP_FLAG_DISCARD_ONCE)
            si.flags &= ~SWP_PAGE_DISCARD;
        else if (swap_flags & SWAP_FLAG_DISCARD_PAGES)
            si.flags &= ~SWP_AREA_DISCARD;
        // SWP_AREA_DISCARD: discard_swap() of the whole area, at once here.
    }

    a.active = true;  // S_SWAPFILE
    int prio = -1;
    if (swap_flags & SWAP_FLAG_PREFER) prio = swap_flags & SWAP_FLAG_PRIO_MASK;
    // enable_swap_info()
    setup_swap_info(st, si, prio);
    si.users_live = true;
    enable_swap_info_locked(st, si);

    k.log.printk(
        k.clock.now(), LogLevel::Info,
        fmt::format("Adding {}k swap on {}.  Priority:{} extents:{} across:{}k {}{}{}{}", kib(si.pages), path,
                    si.prio, si.nr_extents, kib(span), (si.flags & SWP_SOLIDSTATE) ? "SS" : "",
                    (si.flags & SWP_DISCARDABLE) ? "D" : "", (si.flags & SWP_AREA_DISCARD) ? "s" : "",
                    (si.flags & SWP_PAGE_DISCARD) ? "c" : ""));
    st.proc_poll_event++;
    return {};
}

// ---- swapoff --------------------------------------------------------------------------------

int try_to_unuse(Kernel& k, unsigned type) {
    SwapState& st = state(k);
    SwapInfo& si = *st.swap_info.at(type);
    if (!swap_usage_in_pages(si)) return 0;
    if (!st.unuse) return -static_cast<int>(Errno::NOMEM);
    // The kernel retries until nothing is in use or a signal comes; a pass
    // that frees nothing stands for the interrupted swapoff.
    for (;;) {
        uint64_t before = swap_usage_in_pages(si);
        if (int r = st.unuse(k, type)) return r;
        if (!swap_usage_in_pages(si)) return 0;
        if (swap_usage_in_pages(si) >= before) return -static_cast<int>(Errno::INTR);
    }
}

Result<void> sys_swapoff(Kernel& k, const std::string& path) {
    SwapState& st = state(k);
    auto ait = st.areas.find(path);
    if (ait == st.areas.end()) return swap_error(Errno::NOENT, fmt::format("no swap area at {}", path));
    SwapInfo* p = nullptr;
    for (unsigned t : st.active) {
        SwapInfo& s = *st.swap_info[t];
        if ((s.flags & SWP_WRITEOK) && s.path == path) {
            p = &s;
            break;
        }
    }
    if (!p) return swap_error(Errno::INVAL, fmt::format("{} is not active swap", path));

    // security_vm_enough_memory_mm(): the pages must fit the overcommit
    // policy again (and are unaccounted at once if they do).
    if (auto r = vm_enough_memory(k, nullptr, p->pages); !r)
        return swap_error(Errno::NOMEM, "not enough memory to take the swap back");
    k.vm_committed_pages -= p->pages;  // vm_unacct_memory()

    del_from_avail_list(st, *p, true);
    if (p->prio < 0) {
        // The default priorities below this one move up by one.
        auto it = std::find(st.active.begin(), st.active.end(), p->type);
        for (++it; it != st.active.end(); ++it) {
            SwapInfo& s = *st.swap_info[*it];
            s.prio++;
            s.list_prio--;
            for (int& ap : s.avail_prio)
                if (ap != 1) ap--;
        }
        st.least_priority++;
    }
    plist_del(st.active, p->type);
    st.nr_swap_pages -= p->pages;
    st.total_swap_pages -= p->pages;

    int err = try_to_unuse(k, p->type);
    if (err) {
        // reinsert_swap_info(): a default priority is renumbered below the rest.
        setup_swap_info(st, *p, p->prio);
        enable_swap_info_locked(st, *p);
        return swap_error(static_cast<Errno>(-err), "try_to_unuse could not bring every page back");
    }

    p->users_live = false;  // percpu_ref_kill()
    // flush_work(): pending discards and reclaims run now.
    if (p->discard_work) {
        k.clock.cancel(p->discard_work);
        p->discard_work = 0;
        swap_do_scheduled_discard(k, *p);
    }
    if (p->reclaim_work) {
        k.clock.cancel(p->reclaim_work);
        p->reclaim_work = 0;
    }
    // flush_percpu_swap_cluster()
    for (PercpuSwapCluster& pcp : st.percpu)
        for (int& t : pcp.si)
            if (t == static_cast<int>(p->type)) t = -1;

    for (uint64_t e : p->extent_objs) kfree_for(k, e);
    p->extent_objs.clear();
    if (p->flags & SWP_CONTINUED) free_swap_count_continuations(k, *p);
    if (!(p->flags & SWP_SOLIDSTATE)) st.nr_rotate_swap--;

    p->swap_map.clear();
    p->swap_map.shrink_to_fit();
    p->zeromap.clear();
    p->max = 0;
    kfree_for(k, p->global_cluster_mem);
    p->global_cluster_mem = 0;
    p->has_global_cluster = false;
    vfree_for(k, p->swap_map_mem);
    p->swap_map_mem = 0;
    kvfree_for(k, p->zeromap_mem);
    p->zeromap_mem = 0;
    free_cluster_info(k, *p);
    vfree_for(k, p->cgroup_map_mem);  // swap_cgroup_swapoff()
    p->cgroup_map_mem = 0;
    ait->second.active = false;
    p->flags = 0;
    p->pages = 0;
    p->path.clear();
    st.proc_poll_event++;
    return {};
}

// ---- boot ---------------------------------------------------------------------------------

void swapon_boot_devices(Kernel& k, const MachineDesc& desc) {
    for (const SwapDesc& d : desc.swaps) {
        SwapMedium medium = swap_medium_from_name(d.medium).value_or(SwapMedium::Disk);
        SwapArea a = make_swap_area(d.path, d.size_bytes, d.partition, medium);
        if (d.read_ns) a.read_ns = d.read_ns;
        if (d.write_ns) a.write_ns = d.write_ns;
        if (auto r = mkswap(k, a); !r)
            throw InputError(d.loc, fmt::format("swap: {}: {}", d.path, r.error().message));
        int flags = 0;
        if (d.priority >= 0) flags |= SWAP_FLAG_PREFER | (d.priority & SWAP_FLAG_PRIO_MASK);
        if (!d.discard.empty()) flags |= SWAP_FLAG_DISCARD;
        if (d.discard == "once") flags |= SWAP_FLAG_DISCARD_ONCE;
        if (d.discard == "pages") flags |= SWAP_FLAG_DISCARD_PAGES;
        state(k).fstab.push_back({d.path, flags});
        if (auto r = sys_swapon(k, d.path, flags); !r)
            throw InputError(d.loc, fmt::format("swapon {} at boot failed: {} ({}){}", d.path,
                                                errno_text(r.err()), errno_name(r.err()),
                                                r.error().message.empty() ? "" : "; " + r.error().message));
    }
}

// ---- checks ---------------------------------------------------------------------------------

void validate_swap(const Kernel& k) {
    if (!k.swap) return;
    const SwapState& st = *k.swap;
    auto check = [](bool ok, const std::string& what) {
        if (!ok) throw std::logic_error("swap: " + what);
    };
    int64_t nr_free = 0, total = 0;
    for (const auto& sp : st.swap_info) {
        const SwapInfo& si = *sp;
        if (!(si.flags & SWP_USED) || si.swap_map.empty()) continue;
        std::string dev = fmt::format("type {} ({})", si.type, si.path);
        check(si.swap_map.size() == si.max, dev + ": swap_map is not max bytes long");
        check(si.swap_map[0] == SWAP_MAP_BAD, dev + ": slot 0 (the header) is not SWAP_MAP_BAD");
        uint64_t inuse = 0;
        for (uint8_t m : si.swap_map)
            if (m && m != SWAP_MAP_BAD) inuse++;
        check(inuse == si.inuse_pages, fmt::format("{}: inuse_pages {} but {} slots are in use in swap_map",
                                                   dev, si.inuse_pages, inuse));
        if (si.flags & SWP_WRITEOK) {
            nr_free += static_cast<int64_t>(si.pages) - static_cast<int64_t>(si.inuse_pages);
            total += si.pages;
        } else {
            nr_free -= static_cast<int64_t>(si.inuse_pages);
        }
        // Clusters: counts, flags, lists, tables.
        std::vector<uint8_t> seen(si.cluster_info.size(), 0);
        auto walk = [&](const ClusterList& l, uint8_t flag, unsigned order, const char* name) {
            uint32_t n = 0, prev = CLUSTER_NIL;
            for (uint32_t i = l.head; i != CLUSTER_NIL; i = si.cluster_info[i].next) {
                const SwapClusterInfo& ci = si.cluster_info[i];
                check(i < si.cluster_info.size() && !seen[i],
                      fmt::format("{}: cluster {} on two lists", dev, i));
                seen[i] = 1;
                check(ci.prev == prev, fmt::format("{}: {} list links broken at cluster {}", dev, name, i));
                check(ci.on_list == flag && ci.on_order == order && ci.flags == flag,
                      fmt::format("{}: cluster {} on the {} list has flag {}", dev, i, name, ci.flags));
                prev = i;
                n++;
            }
            check(prev == l.tail && n == l.nr, fmt::format("{}: {} list count or tail wrong", dev, name));
        };
        walk(si.free_clusters, CLUSTER_FLAG_FREE, 0, "free");
        walk(si.full_clusters, CLUSTER_FLAG_FULL, 0, "full");
        walk(si.discard_clusters, CLUSTER_FLAG_DISCARD, 0, "discard");
        for (unsigned o = 0; o < SWAP_NR_ORDERS; o++) {
            walk(si.nonfull_clusters[o], CLUSTER_FLAG_NONFULL, o, "nonfull");
            walk(si.frag_clusters[o], CLUSTER_FLAG_FRAG, o, "frag");
        }
        for (std::size_t c = 0; c < si.cluster_info.size(); c++) {
            const SwapClusterInfo& ci = si.cluster_info[c];
            check(seen[c], fmt::format("{}: cluster {} is on no list", dev, c));
            uint64_t taken = 0;
            for (uint64_t o = c * SWAPFILE_CLUSTER; o < (c + 1) * SWAPFILE_CLUSTER; o++)
                if (o >= si.max || si.swap_map[o]) taken++;
            check(taken == ci.count,
                  fmt::format("{}: cluster {} counts {} slots but {} are taken", dev, c, ci.count, taken));
            if (ci.flags == CLUSTER_FLAG_FREE)
                check(ci.count == 0, fmt::format("{}: free cluster {} in use", dev, c));
            if (ci.flags == CLUSTER_FLAG_FULL)
                check(ci.count == SWAPFILE_CLUSTER, fmt::format("{}: full cluster {} not full", dev, c));
            if (ci.flags == CLUSTER_FLAG_NONFULL || ci.flags == CLUSTER_FLAG_FRAG)
                check(ci.count && ci.count < SWAPFILE_CLUSTER,
                      fmt::format("{}: partial cluster {} has count {}", dev, c, ci.count));
            check(ci.has_table == (ci.flags != CLUSTER_FLAG_FREE),
                  fmt::format("{}: cluster {} {} a swap table", dev, c,
                              ci.has_table ? "free but with" : "without"));
        }
        // The avail lists.
        bool want_avail = (si.flags & SWP_WRITEOK) && si.inuse_pages < si.pages;
        check(si.offlist == !want_avail, fmt::format("{}: the off-list mark is wrong", dev));
        for (const auto& head : st.avail_heads)
            check(plist_on(head, si.type) == want_avail,
                  fmt::format("{}: {} the avail list", dev, want_avail ? "missing from" : "wrongly on"));
        check(plist_on(st.active, si.type) == bool(si.flags & SWP_WRITEOK),
              fmt::format("{}: active list membership wrong", dev));
        // Continuations only where a count needs them.
        for (uint64_t o = 0; o < si.max; o++)
            if ((si.swap_map[o] & COUNT_CONTINUED) && swap_count(si.swap_map[o]) != SWAP_MAP_SHMEM)
                check(si.continuations.count(o / PAGE_SIZE) && !si.continuations.at(o / PAGE_SIZE).empty(),
                      fmt::format("{}: slot {} is COUNT_CONTINUED without a continuation page", dev, o));
    }
    check(nr_free == st.nr_swap_pages,
          fmt::format("nr_swap_pages {} but the devices have {} free slots", st.nr_swap_pages, nr_free));
    check(total == st.total_swap_pages,
          fmt::format("total_swap_pages {} but the devices have {} slots", st.total_swap_pages, total));
    for (const auto& head : st.avail_heads)
        for (std::size_t i = 1; i < head.size(); i++) {
            std::size_t nid = static_cast<std::size_t>(&head - st.avail_heads.data());
            check(st.swap_info[head[i - 1]]->avail_prio[nid] <= st.swap_info[head[i]]->avail_prio[nid],
                  "an avail list is out of priority order");
        }
    for (std::size_t i = 1; i < st.active.size(); i++)
        check(st.swap_info[st.active[i - 1]]->list_prio <= st.swap_info[st.active[i]]->list_prio,
              "the active list is out of priority order");
    for (const PercpuSwapCluster& pcp : st.percpu)
        for (int t : pcp.si)
            check(t < 0 || (static_cast<std::size_t>(t) < st.swap_info.size() &&
                            (st.swap_info[static_cast<std::size_t>(t)]->flags & SWP_USED)),
                  "a CPU's swap cluster names a device that is not in use");
}

}  // namespace mmsim
