// The slab allocator: SLUB (mm/slub.c) and the parts of mm/slab_common.c
// that create caches, merge them and serve kmalloc.
//
// The kernel hands out small objects (a task_struct, a dentry, a 64-byte
// kmalloc) from caches. Each cache carves slabs, blocks of 2^order pages
// taken from the page allocator, into objects of one size; how many pages
// a slab has and how many objects fit in it are the cache's geometry, fixed
// when the cache is created (calculate_sizes, calculate_order). The
// objects a slab holds are either in use or on one of two free lists:
//
//        CPU 0                         CPU 1               node 0
//   +-------------+               +-------------+    +----------------+
//   | cpu slab    | frozen: only  | cpu slab    |    | partial list   |
//   |  cpu_free --+ this CPU      |  ...        |    |  slab <-> slab |
//   |  free  <----+-- remote frees|             |    |  (nr_partial)  |
//   | cpu partial | slab -> slab (unfrozen, had |    +----------------+
//   +-------------+  been full, got a free)     |    full slabs: on no list
//
// Allocation takes from this CPU's slab (its cpu_free, then whatever other
// CPUs freed into the slab meanwhile); when that is used up the slab drops
// off as full, and the CPU takes the first slab of its cpu-partial list,
// else one from the node's partial list (moving up to half of
// cpu_partial_slabs more to its cpu-partial list as it goes), else a new
// slab from the page allocator. A free into this CPU's slab is a push on
// cpu_free. A free into a full slab puts the slab on this CPU's cpu-partial
// list; when that list already holds cpu_partial_slabs slabs, the whole list
// first moves to the node's partial list (empty slabs are discarded instead
// when the node keeps min_partial slabs). A free that empties a slab on the
// node's list discards it, unless the node is down to min_partial.
//
// /proc/slabinfo counts what the nodes know: every slab and its objects,
// and as free only the free objects of slabs on node partial lists; free
// objects held by CPUs (their slabs and cpu-partial lists) read as active,
// exactly as in the kernel.
//
// Objects are named by their kernel virtual address in the direct map
// (PAGE_OFFSET + pfn * 4096 + index * size), so kfree() finds the slab from
// the address as virt_to_slab() does. Slab pages carry PG_slab and, in
// Page::index, the slab's id. Slab pages count in NR_SLAB_RECLAIMABLE (for
// SLAB_RECLAIM_ACCOUNT caches) or NR_SLAB_UNRECLAIMABLE, the meminfo lines
// SReclaimable and SUnreclaim; kmalloc above 8 KiB takes pages straight
// from the page allocator (PG_large_kmalloc) and counts as SUnreclaim.
//
// Every allocated object has a record of who allocated it, when and for
// how many bytes (SlabState::track, slab_track.h): what the kmem
// tracepoints give a tracer such as bcc's memleak.
//
// Not modelled: the freelist randomisation of CONFIG_SLAB_FREELIST_RANDOM
// (objects come out in address order), debugging (red zones, poisoning),
// memcg charging of SLAB_ACCOUNT objects, remote-node partial lists
// (get_any_partial), and 6.18's per-CPU sheaves, which only
// vm_area_struct and maple_node opt into.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "mm/page.h"
#include "mm/slab_track.h"
#include "mmsim/gfp.h"
#include "mmsim/result.h"

namespace mmsim {

// Cache flags (SLAB_* in include/linux/slab.h; our own bit numbers).
enum SlabFlag : uint32_t {
    SLAB_HWCACHE_ALIGN = 1u << 0,
    SLAB_CACHE_DMA = 1u << 1,
    SLAB_CACHE_DMA32 = 1u << 2,
    SLAB_PANIC = 1u << 3,
    SLAB_TYPESAFE_BY_RCU = 1u << 4,
    SLAB_ACCOUNT = 1u << 5,
    SLAB_RECLAIM_ACCOUNT = 1u << 6,
    SLAB_NO_MERGE = 1u << 7,
    SLAB_KMALLOC = 1u << 8,
    SLAB_POISON = 1u << 9,
    SLAB_RED_ZONE = 1u << 10,
    SLAB_STORE_USER = 1u << 11,
};
// Flags that forbid merging, and flags two caches must share to merge
// (slab_common.c's SLAB_NEVER_MERGE and SLAB_MERGE_SAME).
inline constexpr uint32_t SLAB_NEVER_MERGE =
    SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TYPESAFE_BY_RCU | SLAB_NO_MERGE;
inline constexpr uint32_t SLAB_MERGE_SAME =
    SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT;

// "SLAB_HWCACHE_ALIGN|SLAB_ACCOUNT" -> bits; nullopt naming the bad word.
std::optional<uint32_t> parse_slab_flags(const std::string& text, std::string* bad = nullptr);

inline constexpr uint32_t SLAB_NIL = 0xffffffffu;

// struct slab: one slab of a cache.
struct Slab {
    uint32_t pfn = 0;
    uint32_t cache = SLAB_NIL;  // KmemCache::id; SLAB_NIL while the slot is unused
    uint16_t objects = 0;
    uint16_t inuse = 0;  // objects not on either free list
    uint8_t order = 0;
    int8_t cpu = -1;  // the CPU whose cpu slab this is (frozen), or -1
    enum class List : uint8_t { None, CpuPartial, NodePartial } list = List::None;
    int node = 0;
    std::vector<uint16_t> free;                 // slab->freelist: object indices, last = next out
    std::vector<uint16_t> cpu_free;             // the owning CPU's freelist while frozen
    uint32_t prev = SLAB_NIL, next = SLAB_NIL;  // node partial or cpu partial list
};

// A list of slabs linked through Slab::prev/next.
struct SlabList {
    uint32_t head = SLAB_NIL, tail = SLAB_NIL;
    uint32_t nr = 0;
};

struct KmemCacheNode {
    SlabList partial;  // nr_partial = partial.nr
    uint64_t nr_slabs = 0;
    uint64_t total_objects = 0;
};

struct KmemCacheCpu {
    uint32_t slab = SLAB_NIL;  // the cpu slab
    SlabList partial;          // the cpu-partial list (head = newest)
};

struct KmemCache {
    uint32_t id = 0;
    std::string name;
    unsigned object_size = 0;  // what the creator asked for
    unsigned size = 0;         // object plus metadata, aligned: the stride in the slab
    unsigned align = 0;
    unsigned inuse = 0;   // offset of the metadata after the object
    unsigned offset = 0;  // where the free pointer lives
    uint32_t flags = 0;
    bool has_ctor = false;
    bool freeptr_inside = false;
    unsigned usersize = 0;
    int refcount = 1;                         // creators sharing it (merged aliases add one each)
    unsigned order = 0, objects = 0;          // s->oo
    unsigned min_order = 0, min_objects = 0;  // s->min: the fallback when order fails
    gfp_t allocflags = 0;
    unsigned min_partial = 0;
    unsigned cpu_partial = 0;        // objects (sysfs cpu_partial)
    unsigned cpu_partial_slabs = 0;  // the same in slabs
    std::vector<KmemCacheNode> node;
    std::vector<KmemCacheCpu> cpu;
    uint64_t self_object = 0;              // its struct kmem_cache, from the kmem_cache cache
    std::vector<uint64_t> node_objects;    // its struct kmem_cache_node per node
    std::vector<std::string> alias_names;  // caches merged into this one
    // For the caches of simulator structures (SlabObject): the interned
    // frames (SlabTrack) of the kernel functions that allocate and
    // duplicate their objects (vm_area_alloc, vm_area_dup); ~0u: none.
    uint32_t alloc_frame = ~0u, dup_frame = ~0u;
    bool has_cpu_partial() const { return cpu_partial_slabs != 0; }
};

// get_slabinfo()'s numbers.
struct SlabInfo {
    uint64_t active_objs = 0, num_objs = 0, active_slabs = 0, num_slabs = 0;
    unsigned objects_per_slab = 0, cache_order = 0;
};

enum KmallocType { KMALLOC_NORMAL, KMALLOC_RECLAIM, KMALLOC_DMA, KMALLOC_CGROUP, NR_KMALLOC_TYPES };
inline constexpr unsigned KMALLOC_SHIFT_LOW = 3;    // kmalloc-8
inline constexpr unsigned KMALLOC_SHIFT_HIGH = 13;  // kmalloc-8k (PAGE_SHIFT + 1)
inline constexpr uint64_t KMALLOC_MAX_CACHE_SIZE = uint64_t{1} << KMALLOC_SHIFT_HIGH;

// Everything the slab layer keeps: Kernel::slab.
struct SlabState {
    // In creation order, indexed by KmemCache::id; a destroyed cache leaves
    // a null slot. /proc/slabinfo prints the newest first (slab_caches is a
    // list the kernel adds to at its head).
    std::vector<std::unique_ptr<KmemCache>> caches;
    std::vector<Slab> slabs;
    std::vector<uint32_t> free_slab_ids;
    KmemCache* kmem_cache = nullptr;       // holds every struct kmem_cache
    KmemCache* kmem_cache_node = nullptr;  // holds every struct kmem_cache_node
    // kmalloc_caches[type][index]; index 1 is kmalloc-96, 2 kmalloc-192.
    KmemCache* kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1] = {};
    // The caches the simulator charges what it creates to.
    KmemCache *task_struct = nullptr, *mm_struct = nullptr, *vm_area_struct = nullptr, *anon_vma = nullptr,
              *anon_vma_chain = nullptr, *radix_tree_node = nullptr, *dentry = nullptr,
              *inode_cache = nullptr, *buffer_head = nullptr, *filp = nullptr, *shmem_inode_cache = nullptr,
              *lsm_file_cache = nullptr, *lsm_inode_cache = nullptr, *ext4_inode_cache = nullptr;
    std::vector<int64_t> large_kmalloc_pages;  // per node: pages of kmalloc above KMALLOC_MAX_CACHE_SIZE
    SlabTrack track;                           // who allocated each live object (slab_track.h)
    bool slab_nomerge = false;                 // the slab_nomerge boot option
    bool dying = false;                        // the Kernel is being destroyed: SlabObjects free nothing

    KmemCache* find(const std::string& name) const;
    // One of the named caches above (the simulator charges objects to them).
    bool is_kernel_cache(const KmemCache& c) const {
        for (const KmemCache* p : {task_struct, mm_struct, vm_area_struct, anon_vma, anon_vma_chain,
                                   radix_tree_node, dentry, inode_cache, buffer_head, filp, shmem_inode_cache,
                                   lsm_file_cache, lsm_inode_cache, ext4_inode_cache})
            if (p == &c) return true;
        return false;
    }
};

// ---- slub.cpp: geometry and the allocator ---------------------------------

// get_order(): the page order of the smallest block holding size bytes.
inline unsigned get_order(uint64_t size) {
    return size <= PAGE_SIZE ? 0 : 64u - static_cast<unsigned>(std::countl_zero((size - 1) >> PAGE_SHIFT));
}
inline unsigned slab_align_up(unsigned x, unsigned a) { return (x + a - 1) & ~(a - 1); }
// calculate_alignment(): SLAB_HWCACHE_ALIGN rounds to the cache line, or
// to a smaller power of two for small objects; never below a word.
unsigned calculate_alignment(uint32_t flags, unsigned align, unsigned size);

// calculate_order() for an object stride on a machine with nr_cpus CPUs.
unsigned slub_calculate_order(unsigned size, unsigned nr_cpus);
// Fills size, align, offset, order/objects, min, allocflags, min_partial
// and cpu_partial from object_size, align, flags and has_ctor
// (kmem_cache_open + calculate_sizes).
void kmem_cache_open(Kernel& k, KmemCache& s);

// kmem_cache_alloc_node(): an object's address, or Errno::ENOMEM when the
// page allocator could not give a slab. nid < 0: the current CPU's node.
// The object gets its record (SlabState::track) at the current call site.
Result<uint64_t> kmem_cache_alloc(Kernel& k, KmemCache& s, gfp_t gfp, int nid = -1);
// slab_alloc_node(): the same object without its record, for the callers
// that record it themselves (kmalloc, which reports its own size).
Result<uint64_t> slab_alloc_node(Kernel& k, KmemCache& s, gfp_t gfp, int nid);
// kmem_cache_free(). Throws std::logic_error for an address that is not an
// allocated object of s (the kernel's "kmem_cache_free: Wrong slab cache"
// or a double free), which a caller of this API cannot do by accident.
// The object's record goes with it.
void kmem_cache_free(Kernel& k, KmemCache& s, uint64_t addr);
// kmem_cache_alloc_bulk(): n objects into out, all or none: 0 (and nothing
// kept) when the page allocator fails part way, else n.
std::size_t kmem_cache_alloc_bulk(Kernel& k, KmemCache& s, gfp_t gfp, std::size_t n, uint64_t* out);
// kmem_cache_free_bulk(): frees n objects of s.
void kmem_cache_free_bulk(Kernel& k, KmemCache& s, std::size_t n, const uint64_t* objs);
// The cache an address's object belongs to (virt_to_cache), or nullptr.
KmemCache* virt_to_cache(Kernel& k, uint64_t addr);
// __kmem_cache_shrink(): flush every CPU's slabs, discard the empty slabs,
// put the fullest partial slabs first. Returns the pages freed.
uint64_t kmem_cache_shrink(Kernel& k, KmemCache& s);
// flush_all(): every CPU's cpu slab and cpu-partial list back to the nodes.
void slub_flush_all(Kernel& k, KmemCache& s);
void get_slabinfo(const KmemCache& s, const SlabState& st, SlabInfo& out);
// Objects in use (allocated and not freed), counting exactly.
uint64_t slab_objects_in_use(const KmemCache& s, const SlabState& st);

// ---- slab_common.cpp: creating caches, kmalloc ----------------------------

struct KmemCacheArgs {
    unsigned align = 0;
    uint32_t flags = 0;
    bool ctor = false;
    unsigned usersize = 0;  // a usercopy region: such caches never merge
    // An RCU-typesafe cache that names a free-pointer offset inside the
    // object (kmem_cache_args.freeptr_offset), so the object needs no
    // extra word (vm_area_struct, filp).
    bool freeptr_inside = false;
};
// kmem_cache_create(): a new cache, or an existing one it merges into.
// EINVAL for a size of 0 or above KMALLOC_MAX_SIZE, a name in use, or an
// alignment that is not a power of two.
Result<KmemCache*> kmem_cache_create(Kernel& k, const std::string& name, unsigned size,
                                     const KmemCacheArgs& args = {});
// kmem_cache_destroy(): EBUSY, with the kernel's warning in the log, when
// objects are still allocated (the cache stays).
Result<void> kmem_cache_destroy(Kernel& k, KmemCache& s);

// kmalloc_slab()'s choice for a size and gfp: nullptr above
// KMALLOC_MAX_CACHE_SIZE (large kmalloc).
KmemCache* kmalloc_slab(Kernel& k, uint64_t size, gfp_t gfp);
KmallocType kmalloc_type(gfp_t gfp);
unsigned kmalloc_index(uint64_t size);
Result<uint64_t> kmalloc(Kernel& k, uint64_t size, gfp_t gfp, int nid = -1);
// kfree(); a null address does nothing, as in the kernel.
void kfree(Kernel& k, uint64_t addr);
// ksize(): the usable size behind an address.
uint64_t ksize(Kernel& k, uint64_t addr);
// krealloc(): a null (or ZERO_SIZE_PTR) address is a kmalloc, a new size
// of 0 a kfree (ZERO_SIZE_PTR back); a size that fits the object keeps it
// where it is (its record now asks for new_size), anything larger moves
// it to a new kmalloc object recorded at the current call site and frees
// the old one.
Result<uint64_t> krealloc(Kernel& k, uint64_t addr, uint64_t new_size, gfp_t gfp);

// kmem_cache_init() and the caches the simulated kernel creates at boot
// (kmalloc, task_struct, mm_struct, ...). Called by boot_kernel().
void kmem_cache_init(Kernel& k);

// The invariants: list membership and counts, slab pages equal to the
// NR_SLAB_* counters, no object both free and in use, a record for every
// allocated object and none for a free one (validate_slab_track).
void validate_slab(const Kernel& k);

}  // namespace mmsim
