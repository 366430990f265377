// Nodes, zones, free areas and per-CPU page lists: the physical memory model.
//
// Like Linux (include/linux/mmzone.h), memory is split into NUMA nodes
// (PglistData) and each node into zones by what hardware can address:
//
//   x86-64:  | DMA <16M | DMA32 <4G | Normal ...          | (Movable) (Device)
//   i386:    | DMA <16M | Normal <896M | HighMem ...      | (Movable)
//
// Every node has every zone type of its architecture profile, most of them
// possibly empty, so a zone's index means the same on every node. A zone
// spans [zone_start_pfn, zone_start_pfn + spanned_pages); holes inside make
// present_pages smaller, and memory reserved at boot (kernel image, memmap)
// makes managed_pages smaller still. Only managed pages ever reach the buddy
// allocator.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mmsim/mm_types.h"
#include "mmsim/types.h"
#include "mmsim/vmstat_items.h"

namespace mmsim {

enum class ZoneKind : uint8_t { DMA, DMA32, Normal, HighMem, Movable, Device };
const char* zone_kind_name(ZoneKind k);  // "DMA", "DMA32", "Normal", "HighMem", "Movable", "Device"

// At most this many zone types in one profile (x86-64 has 5, i386 has 4).
inline constexpr unsigned MAX_NR_ZONES_LIMIT = 6;

enum MigrateType : uint8_t {
    MIGRATE_UNMOVABLE = 0,
    MIGRATE_MOVABLE = 1,
    MIGRATE_RECLAIMABLE = 2,
    MIGRATE_PCPTYPES = 3,  // the types with per-CPU lists
    MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
    MIGRATE_CMA = 4,
    MIGRATE_ISOLATE = 5,
    MIGRATE_TYPES = 6,
};
const char* migratetype_name(unsigned mt);  // "Unmovable", ..., as pagetypeinfo prints them

enum WmarkIdx : unsigned { WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO, NR_WMARK };

// Zone flags (enum zone_flags).
enum ZoneFlag : unsigned {
    ZONE_BOOSTED_WATERMARK = 1u << 0,
    ZONE_RECLAIM_ACTIVE = 1u << 1,
    ZONE_BELOW_HIGH = 1u << 2,
};

// A doubly linked list of pages threaded through Page::next/prev by pfn.
struct PfnList {
    uint32_t first = PFN_NIL;
    uint32_t last = PFN_NIL;
    bool empty() const { return first == PFN_NIL; }
};

struct FreeArea {
    std::array<PfnList, MIGRATE_TYPES> free_list{};
    std::array<uint64_t, MIGRATE_TYPES> nr_free_type{};  // blocks on each list
    uint64_t nr_free = 0;                                // blocks of this order, all types
};

// Per-CPU page lists: NR_PCP_LISTS = 3 migratetypes x orders 0..3, plus two
// lists for PMD-order (THP) pages, one movable and one not (6.18's
// order_to_pindex()).
inline constexpr unsigned NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1);
inline constexpr unsigned NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + 2;

inline constexpr unsigned PCPF_PREV_FREE_HIGH_ORDER = 1u << 0;
inline constexpr unsigned PCPF_FREE_HIGH_BATCH = 1u << 1;

// One per-CPU list. The kernel threads pcp pages on a list_head; only its
// two ends are ever used (allocation and free at the head, refills added at
// the tail, flushes taken from the tail), so ours is a ring of pfns, newest
// first. Pushing and popping then writes nothing but the ring and the
// page's own flags: no neighbour's descriptor is touched.
struct PcpList {
    std::vector<uint32_t> ring;  // capacity: 0 or a power of two
    uint32_t head = 0;           // ring index of the first (newest) page
    uint32_t len = 0;
    uint32_t mask = 0;  // ring.size() - 1 once allocated

    bool empty() const { return len == 0; }
    uint32_t size() const { return len; }
    // The i-th page from the head (0 = newest).
    uint32_t at(uint32_t i) const { return ring[(head + i) & mask]; }
    uint32_t pop_front() {
        uint32_t pfn = ring.data()[head];
        head = (head + 1) & mask;
        len--;
        return pfn;
    }
    // The ring always keeps a slot free, so "full" is len == mask, which
    // also holds for the empty ring of an unused list.
    void push_front(uint32_t pfn) {
        if (full()) [[unlikely]]
            grow();
        push_front_unchecked(pfn);
    }
    // For a caller that has already seen !full().
    void push_front_unchecked(uint32_t pfn) {
        head = (head - 1) & mask;
        ring.data()[head] = pfn;
        len++;
    }
    bool full() const { return len == mask; }
    void push_back(uint32_t pfn) {
        if (full()) [[unlikely]]
            grow();
        ring.data()[(head + len) & mask] = pfn;
        len++;
    }
    uint32_t pop_back() {
        len--;
        return ring.data()[(head + len) & mask];
    }
    // Doubles the ring (at least 64 slots), keeping the order.
    void grow();
};

struct PerCpuPages {
    int count = 0;     // pages on all lists
    int high = 0;      // free back to the buddy above this (auto-tuned)
    int high_min = 0;  // 0 until setup: the boot pageset
    int high_max = 0;
    int batch = 1;  // chunk size for buddy add/remove
    unsigned flags = 0;
    int alloc_factor = 0;  // batch scale for consecutive allocations
    int free_count = 0;    // consecutive free count
    std::array<PcpList, NR_PCP_LISTS> lists{};
};

struct Zone {
    // Identity.
    int node = 0;
    unsigned idx = 0;  // position in the node's zone array (zone_idx())
    ZoneKind kind = ZoneKind::Normal;

    // Fixed at boot for the allocator's fast path: alloc_flags_nofragment()
    // applies (a Normal zone with a populated DMA32 below it), and the
    // pgalloc_* event this zone counts.
    bool nofragment_eligible = false;
    uint16_t pgalloc_event = 0;

    // Geometry: spanned >= present >= managed.
    Pfn zone_start_pfn{0};
    uint64_t spanned_pages = 0;
    uint64_t present_pages = 0;
    uint64_t managed_pages = 0;
    uint64_t cma_pages = 0;

    // Watermarks (pages). The effective ones add watermark_boost.
    std::array<uint64_t, NR_WMARK> watermark{};
    uint64_t watermark_boost = 0;
    // lowmem_reserve[j]: pages this zone keeps back from allocations whose
    // highest usable zone is j ("protection" in zoneinfo).
    std::array<long, MAX_NR_ZONES_LIMIT> lowmem_reserve{};
    uint64_t nr_reserved_highatomic = 0;
    uint64_t nr_free_highatomic = 0;
    unsigned flags = 0;

    // The buddy allocator.
    std::array<FreeArea, NR_PAGE_ORDERS> free_area{};
    // One byte per pageblock (migratetype in the low 3 bits), indexed from
    // pageblock_start_pfn(zone_start_pfn).
    std::vector<uint8_t> pageblock_flags;

    // Per-CPU lists, one per simulated CPU, and the values setup gave them.
    std::vector<PerCpuPages> pcp;
    int pageset_high_min = 0;
    int pageset_high_max = 0;
    int pageset_batch = 0;

    // Compaction (mm/compaction.c, src/mm/compaction.cpp): where the
    // scanners resume (the cached pfns; [0] async, [1] sync), where a
    // fresh pass starts, and deferral after failures (defer_compaction()).
    Pfn compact_cached_free_pfn{0};
    std::array<Pfn, 2> compact_cached_migrate_pfn{};
    Pfn compact_init_migrate_pfn{0};
    Pfn compact_init_free_pfn{0};
    unsigned compact_considered = 0;
    unsigned compact_defer_shift = 0;
    int compact_order_failed = 0;
    bool compact_blockskip_flush = false;
    // Per pageblock, the kernel's PB_compact_skip bit: compaction found
    // nothing to do there (isolation_suitable() skips it until reset).
    std::vector<bool> pageblock_skip;

    // Counters.
    std::array<int64_t, NR_VM_ZONE_STAT_ITEMS> vm_stat{};
    std::array<uint64_t, NR_VM_NUMA_EVENT_ITEMS> vm_numa_event{};
    int stat_threshold = 0;

    Pfn zone_end_pfn() const { return zone_start_pfn + spanned_pages; }
    bool spans(Pfn p) const { return p >= zone_start_pfn && p < zone_end_pfn(); }
    bool populated() const { return present_pages != 0; }
    bool managed() const { return managed_pages != 0; }
    uint64_t min_wmark_pages() const { return watermark[WMARK_MIN] + watermark_boost; }
    uint64_t low_wmark_pages() const { return watermark[WMARK_LOW] + watermark_boost; }
    uint64_t high_wmark_pages() const { return watermark[WMARK_HIGH] + watermark_boost; }
    uint64_t wmark_pages(WmarkIdx i) const { return watermark[i] + watermark_boost; }
    int64_t page_state(ZoneStatItem i) const { return vm_stat[i]; }
    bool is_highmem() const { return kind == ZoneKind::HighMem; }
};

// An entry of a zonelist: which node, which zone index, and (like the
// kernel's struct zoneref) the zone itself, so the allocator's zonelist
// walk needs no lookup. Zones do not move once booted.
struct ZoneRef {
    int node = 0;
    unsigned zone_idx = 0;
    Zone* zone = nullptr;
};

// enum lru_list: the order is the kernel's, and the per-zone
// (NR_ZONE_INACTIVE_ANON...) and per-node (NR_INACTIVE_ANON...) counters
// follow it.
enum LruList : unsigned {
    LRU_INACTIVE_ANON = 0,
    LRU_ACTIVE_ANON = 1,
    LRU_INACTIVE_FILE = 2,
    LRU_ACTIVE_FILE = 3,
    LRU_UNEVICTABLE = 4,
    NR_LRU_LISTS = 5,
};

// One LRU list: pfns linked through Page::next (towards older pages) and
// Page::prev (towards newer ones). `first` is the head, where new and
// activated pages go (list_add()); `last` the tail, where reclaim takes
// from (lru_to_folio()).
struct LruHead : PfnList {
    uint64_t nr = 0;
};

// struct lruvec of a node (no memory cgroups yet: the node's own).
struct Lruvec {
    std::array<LruHead, NR_LRU_LISTS> lists{};
    // workingset.c: evictions and activations so far, the clock that
    // shadow entries are stamped with (lruvec->nonresident_age).
    uint64_t nonresident_age = 0;
};

struct PglistData {
    int node_id = 0;
    std::vector<Zone> node_zones;  // every zone type of the profile, in index order
    Pfn node_start_pfn{0};
    uint64_t node_present_pages = 0;
    uint64_t node_spanned_pages = 0;
    uint64_t totalreserve_pages = 0;
    std::array<int64_t, NR_VM_NODE_STAT_ITEMS> vm_stat{};
    // ZONELIST_FALLBACK: this node's zones high to low, then other nodes'.
    std::vector<ZoneRef> zonelist_fallback;
    // ZONELIST_NOFALLBACK: this node's zones only (__GFP_THISNODE).
    std::vector<ZoneRef> zonelist_nofallback;
    // first_zones_zonelist(): per highest_zoneidx, the position in each list
    // of the first zone an allocation may use (-1: none).
    std::array<int8_t, MAX_NR_ZONES_LIMIT> first_fallback{};
    std::array<int8_t, MAX_NR_ZONES_LIMIT> first_nofallback{};
    // The same zones, for the allocator's fast path: [0] from the fallback
    // list, [1] from the nofallback one (__GFP_THISNODE); nullptr for none,
    // and for a zone without managed pages, which is the general path's
    // case (managed_pages is fixed at boot, before these are filled).
    std::array<std::array<Zone*, MAX_NR_ZONES_LIMIT>, 2> preferred_zone{};
    // kcompactd (mm/compaction.c): the order and zone a wakeup asked for.
    int kcompactd_max_order = 0;
    unsigned kcompactd_highest_zoneidx = 0;
    bool proactive_compact_trigger = false;
    std::vector<int> cpus;  // CPUs local to this node
    int nr_zones = 0;       // 1 + index of the highest populated zone
    Lruvec lruvec;          // the node's LRU lists (src/mm/swap.h)
};

}  // namespace mmsim
