// Swap devices (mm/swapfile.c, include/linux/swap.h, include/linux/swapops.h,
// mm/swap.h): swap entries, the per-device slot map and cluster allocator,
// swapon/swapoff, and the numbers /proc/swaps and /proc/meminfo print.
//
// See the essay at the top of swapfile.cpp. This header is also the
// interface the rest of the simulated kernel uses: reclaim asks
// folio_alloc_swap() for a slot, fork and try_to_unmap take references
// with swap_duplicate(), swap-in takes the cache bit with
// swapcache_prepare(), and every path that lets go of an entry calls
// swap_free_nr(), put_swap_folio() or free_swap_and_cache_nr().
//
// Return conventions follow the kernel's: the int functions return 0 or a
// negative errno (-EEXIST is -17), folio_alloc_swap() a Result.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/gfp.h"
#include "mmsim/result.h"
#include "mmsim/types.h"

namespace mmsim {

// ---- swap entries (include/linux/swap.h, include/linux/swapops.h) ----------

// Five bits of type in every swap entry: 32 types, of which the last few
// are not swap devices but other kinds of non-present PTE. With Debian's
// x86-64 config (CONFIG_DEVICE_PRIVATE, CONFIG_MIGRATION,
// CONFIG_MEMORY_FAILURE) 8 are taken, leaving 24 swap devices. (The 6.18
// host in tests/data/host-6.18/swapon has neither DEVICE_PRIVATE nor
// MEMORY_FAILURE and accepts 28.)
inline constexpr unsigned MAX_SWAPFILES_SHIFT = 5;
inline constexpr unsigned SWP_DEVICE_NUM = 3;     // device-private write, read, exclusive
inline constexpr unsigned SWP_MIGRATION_NUM = 3;  // migration read, read-exclusive, write
inline constexpr unsigned SWP_HWPOISON_NUM = 1;   // a poisoned page
inline constexpr unsigned SWP_PTE_MARKER_NUM = 1;
inline constexpr unsigned MAX_SWAPFILES =
    (1u << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM - SWP_HWPOISON_NUM - SWP_PTE_MARKER_NUM;
static_assert(MAX_SWAPFILES == 24);
// The special types above the swap devices, in the kernel's order.
inline constexpr unsigned SWP_HWPOISON = MAX_SWAPFILES;
inline constexpr unsigned SWP_MIGRATION_READ = MAX_SWAPFILES + SWP_HWPOISON_NUM;
inline constexpr unsigned SWP_MIGRATION_READ_EXCLUSIVE = SWP_MIGRATION_READ + 1;
inline constexpr unsigned SWP_MIGRATION_WRITE = SWP_MIGRATION_READ + 2;
inline constexpr unsigned SWP_DEVICE_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM;
inline constexpr unsigned SWP_DEVICE_READ = SWP_DEVICE_WRITE + 1;
inline constexpr unsigned SWP_DEVICE_EXCLUSIVE = SWP_DEVICE_WRITE + 2;
inline constexpr unsigned SWP_PTE_MARKER =
    MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM + SWP_DEVICE_NUM;
static_assert(SWP_PTE_MARKER == 31);

// swp_entry_t's arch-independent layout: an xarray value is a long with
// its low bit taken (63 usable bits); the type sits in the top five of
// them and the offset fills the 58 below.
inline constexpr unsigned BITS_PER_XA_VALUE = 63;
inline constexpr unsigned SWP_TYPE_SHIFT = BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT;  // 58
inline constexpr uint64_t SWP_OFFSET_MASK = (uint64_t{1} << SWP_TYPE_SHIFT) - 1;

// swp_entry_t. val == 0 is no entry (offset 0 of type 0 is a header page,
// never handed out).
struct SwpEntry {
    uint64_t val = 0;
    bool operator==(const SwpEntry&) const = default;
};
constexpr SwpEntry swp_entry(unsigned type, uint64_t offset) {
    return SwpEntry{(uint64_t{type} << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)};
}
constexpr unsigned swp_type(SwpEntry e) { return static_cast<unsigned>(e.val >> SWP_TYPE_SHIFT); }
constexpr uint64_t swp_offset(SwpEntry e) { return e.val & SWP_OFFSET_MASK; }

// ---- the slot map (include/linux/swap.h) -----------------------------------

// One byte per slot: the number of references (page-table entries and
// shmem) in the low bits, SWAP_HAS_CACHE when a folio for the slot is in
// the swap cache, COUNT_CONTINUED when the count goes on in continuation
// pages (counts above SWAP_MAP_MAX).
inline constexpr uint8_t SWAP_HAS_CACHE = 0x40;
inline constexpr uint8_t COUNT_CONTINUED = 0x80;
inline constexpr uint8_t SWAP_MAP_MAX = 0x3e;    // the largest count the byte holds itself
inline constexpr uint8_t SWAP_MAP_BAD = 0x3f;    // the header page and bad blocks
inline constexpr uint8_t SWAP_MAP_SHMEM = 0xbf;  // owned by shmem/tmpfs
inline constexpr uint8_t SWAP_CONT_MAX = 0x7f;   // the largest digit of a continuation byte
inline constexpr uint64_t SWAP_ENTRY_INVALID = 0;

// CONFIG_THP_SWAP (Debian): a cluster is a PMD's worth of slots, and the
// allocator keeps lists per order up to PMD_ORDER.
inline constexpr unsigned SWAPFILE_CLUSTER = 512;
inline constexpr unsigned SWAP_PMD_ORDER = 9;
inline constexpr unsigned SWAP_NR_ORDERS = SWAP_PMD_ORDER + 1;

// swap_info_struct::flags.
enum SwpFlag : uint32_t {
    SWP_USED = 1u << 0,             // the swap_info[] slot is taken
    SWP_WRITEOK = 1u << 1,          // slots may be allocated
    SWP_DISCARDABLE = 1u << 2,      // swapon asked for discard and the device can
    SWP_DISCARDING = 1u << 3,       // unused since the cluster rework; kept for its value
    SWP_SOLIDSTATE = 1u << 4,       // not rotational: per-CPU clusters
    SWP_CONTINUED = 1u << 5,        // some count uses continuation pages
    SWP_BLKDEV = 1u << 6,           // a block device ("partition"), not a file
    SWP_ACTIVATED = 1u << 7,        // a filesystem's swap_activate ran
    SWP_FS_OPS = 1u << 8,           // I/O goes through the filesystem
    SWP_AREA_DISCARD = 1u << 9,     // discard the whole area at swapon
    SWP_PAGE_DISCARD = 1u << 10,    // discard clusters as they become free
    SWP_STABLE_WRITES = 1u << 11,   // pages must not change under writeback
    SWP_SYNCHRONOUS_IO = 1u << 12,  // zram: I/O completes in the submitting call
};

// The swapon(2) flags (include/linux/swap.h).
inline constexpr int SWAP_FLAG_PREFER = 0x8000;
inline constexpr int SWAP_FLAG_PRIO_MASK = 0x7fff;
inline constexpr int SWAP_FLAG_DISCARD = 0x10000;
inline constexpr int SWAP_FLAG_DISCARD_ONCE = 0x20000;
inline constexpr int SWAP_FLAG_DISCARD_PAGES = 0x40000;
inline constexpr int SWAP_FLAGS_VALID = SWAP_FLAG_PRIO_MASK | SWAP_FLAG_PREFER | SWAP_FLAG_DISCARD |
                                        SWAP_FLAG_DISCARD_ONCE | SWAP_FLAG_DISCARD_PAGES;

// __try_to_reclaim_swap()'s flags (mm/swapfile.c).
inline constexpr unsigned TTRS_ANYWAY = 0x1;    // reclaim the cached folio if possible at all
inline constexpr unsigned TTRS_UNMAPPED = 0x2;  // ... if no page table maps it
inline constexpr unsigned TTRS_FULL = 0x4;      // ... if swap is getting full

// ---- clusters (mm/swap.h) ---------------------------------------------------

// Where a cluster is: every cluster sits on exactly one list, and its flag
// says which. NONE is off-list, only while the allocator holds it.
enum ClusterFlag : uint8_t {
    CLUSTER_FLAG_NONE = 0,
    CLUSTER_FLAG_FREE,
    CLUSTER_FLAG_NONFULL,
    CLUSTER_FLAG_FRAG,
    CLUSTER_FLAG_USABLE = CLUSTER_FLAG_FRAG,  // flags up to here can be allocated from
    CLUSTER_FLAG_FULL,
    CLUSTER_FLAG_DISCARD,
};

inline constexpr uint32_t CLUSTER_NIL = 0xffffffffu;

// struct swap_cluster_info: 512 slots' worth of bookkeeping. The links
// make the kernel's list_head out of cluster indices.
struct SwapClusterInfo {
    uint16_t count = 0;  // slots taken (allocated, bad, header, or past the end)
    uint8_t flags = CLUSTER_FLAG_NONE;
    uint8_t order = 0;  // the order every allocation in this cluster has
    uint32_t prev = CLUSTER_NIL;
    uint32_t next = CLUSTER_NIL;
    // The list the cluster is linked on, as the flag and order it was
    // linked under (CLUSTER_FLAG_NONE: none). Usually equal to flags and
    // order; a cluster being discarded keeps its DISCARD flag off-list.
    uint8_t on_list = CLUSTER_FLAG_NONE;
    uint8_t on_order = 0;
    // The cluster's swap table (6.18: the swap cache's per-cluster array
    // of 512 eight-byte entries, one page on x86-64), allocated when the
    // cluster leaves the free list and freed when it returns to it.
    Pfn table{0};
    bool has_table = false;
};

// A list_head of clusters, oldest first.
struct ClusterList {
    uint32_t head = CLUSTER_NIL;
    uint32_t tail = CLUSTER_NIL;
    uint32_t nr = 0;
    bool empty() const { return head == CLUSTER_NIL; }
};

// ---- the backing store ------------------------------------------------------

// What kind of device holds a swap area (for a file: the disk of its
// filesystem). It decides the flags swapon sets and the default latencies.
enum class SwapMedium : uint8_t {
    Disk,  // a VM's virtio disk: reports rotational, as the 6.18 host's vda does
    Ssd,   // a non-rotational disk (NVMe)
    Zram,  // compressed RAM: non-rotational, synchronous I/O
};
const char* swap_medium_name(SwapMedium m);
std::optional<SwapMedium> swap_medium_from_name(std::string_view name);
// The default simulated cost of reading and writing one 4 KiB slot.
Nanos default_swap_read_ns(SwapMedium m);
Nanos default_swap_write_ns(SwapMedium m);

// A swap area as it is on disk: a partition or a file that mkswap wrote a
// header into. swapon opens one by its path; it outlives swapoff (the
// signature stays), so swapon can be run again.
struct SwapArea {
    std::string path;         // absolute
    bool blkdev = true;       // S_ISBLK: /proc/swaps says "partition"; else "file"
    uint64_t size_bytes = 0;  // i_size (the device's size for a partition)
    // The header mkswap wrote (union swap_header).
    bool signature = true;  // "SWAPSPACE2" in the last 10 bytes of page 0
    uint32_t version = 1;
    uint32_t last_page = 0;  // pages - 1
    std::vector<uint32_t> badpages;
    // The device.
    SwapMedium medium = SwapMedium::Disk;
    bool discard_capable = true;  // bdev_max_discard_sectors() != 0
    int node = -1;                // the disk's NUMA node (NUMA_NO_NODE for virtio and zram)
    Nanos read_ns = 0;
    Nanos write_ns = 0;
    // A file's layout on its filesystem (setup_swap_extents): how many
    // extents, and the span from its first to its last data block.
    unsigned extents = 1;
    uint64_t span_pages = 0;  // 0: contiguous (the usable pages)
    bool active = false;      // S_SWAPFILE: swapon holds it
};

// mkswap: an area of `bytes` (rounded down to pages) with a version-1
// header. blkdev selects a partition or a file.
SwapArea make_swap_area(const std::string& path, uint64_t bytes, bool blkdev, SwapMedium medium);
// mkswap's minimum: 10 pages (40 KiB).
inline constexpr uint64_t MKSWAP_MIN_PAGES = 10;
// The most bad pages a version-1 header can list (MAX_SWAP_BADPAGES).
inline constexpr unsigned MAX_SWAP_BADPAGES = 637;

// ---- swap_info_struct ------------------------------------------------------

// A continuation page: one more digit (base 128) for the counts of the
// 4096 slots whose map bytes share a page of swap_map.
struct SwapContPage {
    Pfn pfn{0};
    std::vector<uint8_t> digits;  // PAGE_SIZE entries
};

struct SwapInfo {
    unsigned type = 0;
    uint32_t flags = 0;  // SwpFlag
    int prio = 0;
    int list_prio = 0;              // the key in swap_active_head (-prio)
    std::vector<int> avail_prio;    // the key in each node's swap_avail_heads
    uint32_t max = 0;               // slots in swap_map (the header included)
    uint32_t pages = 0;             // usable slots
    uint64_t inuse_pages = 0;       // slots allocated
    bool offlist = true;            // SWAP_USAGE_OFFLIST_BIT: not on the avail lists
    bool users_live = false;        // percpu_ref users: alive from swapon to swapoff
    std::vector<uint8_t> swap_map;  // max bytes
    std::vector<uint64_t> zeromap;  // one bit per slot: the page swapped out was all zeroes
    std::vector<SwapClusterInfo> cluster_info;
    ClusterList free_clusters, full_clusters, discard_clusters;
    std::array<ClusterList, SWAP_NR_ORDERS> nonfull_clusters{}, frag_clusters{};
    // A rotational device's one cluster in use per order (si->global_cluster);
    // solid-state devices use the per-CPU clusters in SwapState instead.
    bool has_global_cluster = false;
    std::array<uint32_t, SWAP_NR_ORDERS> global_next{};
    // Continuation pages, by swap_map page (offset / PAGE_SIZE).
    std::map<uint64_t, std::vector<SwapContPage>> continuations;
    // The area behind it, and the name swapon was given.
    std::string path;
    bool blkdev = false;
    int node = -1;
    unsigned nr_extents = 0;
    // Simulated cost of one 4 KiB read or write on this device.
    Nanos read_latency = 0;
    Nanos write_latency = 0;
    // Deferred work (the kernel's discard_work and reclaim_work).
    uint64_t discard_work = 0;  // clock event id, 0: not queued
    uint64_t reclaim_work = 0;
    // The kernel memory this device holds (0 where not allocated): the
    // struct itself (kept for reuse after swapoff, as the kernel keeps
    // swap_info[type]), swap_map (vmalloc), the swap cgroup map (vmalloc),
    // zeromap and cluster_info (kvmalloc), global_cluster and the extents
    // (kmalloc).
    uint64_t struct_obj = 0;
    uint64_t swap_map_mem = 0;
    uint64_t cgroup_map_mem = 0;
    uint64_t zeromap_mem = 0;
    uint64_t cluster_info_mem = 0;
    uint64_t global_cluster_mem = 0;
    std::vector<uint64_t> extent_objs;

    bool solid_state() const { return flags & SWP_SOLIDSTATE; }
    bool synchronous_io() const { return flags & SWP_SYNCHRONOUS_IO; }
};

// A CPU's current cluster per order (struct percpu_swap_cluster): the
// device (type, -1 for none) and the next offset to try.
struct PercpuSwapCluster {
    std::array<int, SWAP_NR_ORDERS> si{};
    std::array<uint32_t, SWAP_NR_ORDERS> offset{};
};

// Everything mm/swapfile.c keeps globally. Created at boot.
struct SwapState {
    std::vector<std::unique_ptr<SwapInfo>> swap_info;  // nr_swapfiles entries, by type
    std::vector<unsigned> active;                      // swap_active_head: types by priority
    std::vector<std::vector<unsigned>> avail_heads;    // swap_avail_heads[node]: types by priority
    std::vector<PercpuSwapCluster> percpu;             // one per CPU
    int least_priority = -1;             // the last default priority handed out is least_priority
    int64_t nr_swap_pages = 0;           // free slots on the devices that take allocations
    int64_t total_swap_pages = 0;        // usable slots of those devices
    uint64_t swapfile_maximum_size = 0;  // arch_max_swapfile_size()
    int nr_rotate_swap = 0;
    uint64_t proc_poll_event = 0;  // swapon/swapoff count, for poll() on /proc/swaps
    // The areas that exist on disk, by path (what mkswap made).
    std::map<std::string, SwapArea> areas;
    // /etc/fstab's swap lines: the machine's areas and their swapon flags,
    // in order (what `swapon -a` turns on).
    struct FstabEntry {
        std::string path;
        int flags = 0;
    };
    std::vector<FstabEntry> fstab;
    // A cluster's swap table allocation may sleep and reclaim; nested
    // inside an allocation that already is in progress it only tries the
    // non-blocking way (the kernel's PF_MEMALLOC keeps reclaim from
    // recursing).
    int table_alloc_depth = 0;

    // Hooks into the swap cache and swap-in, set by whoever builds them.
    //
    // swapoff's try_to_unuse(): bring every entry of `type` back into
    // memory (page tables, shmem, the swap cache), freeing its slots; 0 or
    // a negative errno. Without it, swapoff of a device with slots in use
    // fails with -ENOMEM, as the kernel's does when it cannot read pages
    // back.
    int (*unuse)(Kernel& k, unsigned type) = nullptr;
    // __try_to_reclaim_swap(): if the swap cache holds a folio for the
    // entry, try to drop it (flags TTRS_*); the number of pages reclaimed
    // (> 0), minus the folio's pages if it was found but kept (< 0), or 0
    // if there was none. Without it, cached-only slots are never reclaimed
    // by the allocator.
    int (*try_to_reclaim)(Kernel& k, SwpEntry e, unsigned flags) = nullptr;
    // Called by swap_range_free() for every range of freed slots: the swap
    // cache clears its shadow entries (__swap_cache_clear_shadow) and a
    // zram device frees its objects (swap_slot_free_notify).
    void (*range_free)(Kernel& k, SwpEntry first, unsigned nr) = nullptr;
};

// swapfile_init(): the global lists, one per node, and the per-CPU
// clusters. Called by boot_kernel().
void swapfile_init(Kernel& k);

// ---- allocation and references ------------------------------------------------

// folio_alloc_swap(): a slot (2^order of them, naturally aligned) for a
// folio entering the swap cache: its map byte becomes SWAP_HAS_CACHE with
// no count. The CPU's cluster first (swap_alloc_fast), then the devices
// in priority order (swap_alloc_slow). ENOMEM when no device has room,
// EAGAIN/EINVAL for orders the kernel refuses.
Result<SwpEntry> folio_alloc_swap(Kernel& k, unsigned order = 0);
// get_swap_page_of_type() (hibernation): one slot on that device with a
// count of 1 and no cache; {} when it has none.
SwpEntry get_swap_page_of_type(Kernel& k, unsigned type);

// swap_duplicate(): one more reference (fork copying a swap PTE,
// try_to_unmap installing one). Counts past SWAP_MAP_MAX go on in
// continuation pages (add_swap_count_continuation with GFP_ATOMIC). 0,
// or -ENOMEM when a continuation page cannot be had; like the kernel's it
// returns 0 for an entry that is free or bad.
int swap_duplicate(Kernel& k, SwpEntry e);
// add_swap_count_continuation(): the page a count above SWAP_MAP_MAX needs,
// allocated with gfp (the fork path retries with GFP_KERNEL). 0 or -ENOMEM.
int add_swap_count_continuation(Kernel& k, SwpEntry e, gfp_t gfp);
// swapcache_prepare(): sets SWAP_HAS_CACHE for nr slots a swap-in will read
// into the swap cache. 0; -EEXIST if a folio already has it; -ENOENT if
// the slot is free (or bad); -EINVAL for a bad entry.
int swapcache_prepare(Kernel& k, SwpEntry e, int nr = 1);
// swap_shmem_alloc(): marks nr slots as shmem's (SWAP_MAP_SHMEM).
void swap_shmem_alloc(Kernel& k, SwpEntry e, int nr = 1);
// swapcache_clear(): drops SWAP_HAS_CACHE of nr slots (a swap-in that gave
// up); a slot with nothing else left is freed.
void swapcache_clear(Kernel& k, SwpEntry e, int nr = 1);
// put_swap_folio(): drops SWAP_HAS_CACHE of the 2^order slots of a folio
// that left the swap cache; slots with nothing else left are freed.
void put_swap_folio(Kernel& k, SwpEntry e, unsigned order = 0);
// swap_free_nr(): drops one reference of nr slots (a PTE holding the entry
// went away, or a swap-in replaced it); slots with no count and no cache
// are freed.
void swap_free_nr(Kernel& k, SwpEntry e, int nr = 1);
inline void swap_free(Kernel& k, SwpEntry e) { swap_free_nr(k, e, 1); }
// free_swap_and_cache_nr(): what zapping swap PTEs does: drops one
// reference of nr slots, then asks the swap cache to let go of folios
// whose slots have nothing but the cache left (TTRS_UNMAPPED | TTRS_FULL).
void free_swap_and_cache_nr(Kernel& k, SwpEntry e, int nr = 1);

// swp_swapcount(): the number of references, continuation pages included
// (0 for a free or bad entry).
int swp_swapcount(const Kernel& k, SwpEntry e);
// __swap_count(): the map byte without SWAP_HAS_CACHE (COUNT_CONTINUED
// may be set). The entry must be valid.
int __swap_count(const Kernel& k, SwpEntry e);
// swap_entry_swapped(): some page table (or shmem) still references it.
bool swap_entry_swapped(const Kernel& k, SwpEntry e);
// The slot's SWAP_HAS_CACHE bit. The entry must be valid.
bool swap_has_cache(const Kernel& k, SwpEntry e);
// The zero-page bitmap (si->zeromap): swap-out marks slots whose page was
// all zeroes instead of writing them; freeing a slot clears its bit.
bool swap_zeromap_test(const Kernel& k, SwpEntry e);
void swap_zeromap_set(Kernel& k, SwpEntry e, bool zero);

// ---- totals -----------------------------------------------------------------

// vm_swap_full(): more than half of swap is in use.
bool vm_swap_full(const Kernel& k);
// get_nr_swap_pages(): free slots on devices that take allocations.
uint64_t get_nr_swap_pages(const Kernel& k);
// total_swap_pages and nr_swap_pages_free are declared in show_mem.h.
// si_swapinfo(): the totals /proc/meminfo and sysinfo(2) print, with a
// device being swapped off counted as if still there.
struct SwapInfoTotals {
    uint64_t totalswap = 0;  // pages
    uint64_t freeswap = 0;
};
SwapInfoTotals si_swapinfo(const Kernel& k);
// The device of a valid entry (__swap_entry_to_info()); throws
// std::logic_error for a type with no device.
const SwapInfo& swap_info_of(const Kernel& k, SwpEntry e);
// The device of a type, or nullptr (swap_type_to_info()).
const SwapInfo* swap_type_to_info(const Kernel& k, unsigned type);
// The pages of a device's usage (swap_usage_in_pages()).
inline uint64_t swap_usage_in_pages(const SwapInfo& si) { return si.inuse_pages; }

// ---- swapon, swapoff -----------------------------------------------------------

// Makes (or remakes, like mkswap) the area at path. EBUSY if it is in use
// as swap.
Result<void> mkswap(Kernel& k, const SwapArea& area);
// swapon(2): turns on the area at path with SWAP_FLAG_* flags. Errors as
// the kernel's: EINVAL (unknown flags, no or bad header, too small),
// ENOENT (no such area), EBUSY (already swap), EPERM (MAX_SWAPFILES in
// use), ENOMEM. Logs "Adding ...k swap on PATH.  Priority:..." on success.
Result<void> sys_swapon(Kernel& k, const std::string& path, int flags);
// swapoff(2): ENOENT (no such area), EINVAL (not active swap), ENOMEM (the
// overcommit policy would not allow the pages back, or try_to_unuse()
// could not bring them back), EINTR.
Result<void> sys_swapoff(Kernel& k, const std::string& path);
// try_to_unuse(): 0 when no slot of `type` is in use; otherwise the unuse
// hook's work (see SwapState::unuse), -ENOMEM without one.
int try_to_unuse(Kernel& k, unsigned type);

// Turns on the swap areas of the machine description (the fstab entries
// systemd activates at boot). Called at the end of boot_kernel().
void swapon_boot_devices(Kernel& k, const MachineDesc& desc);

// ---- checks -------------------------------------------------------------------

// inuse_pages equals the slots in use in swap_map; every cluster's count
// equals its taken slots and it sits on the list its flag names; free
// clusters have no swap table, others have one; slot 0 is the header;
// nr_swap_pages and total_swap_pages equal the sums over the devices; the
// avail lists hold exactly the writable devices that are not full, in
// priority order.
void validate_swap(const Kernel& k);

}  // namespace mmsim
