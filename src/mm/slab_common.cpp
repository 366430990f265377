// Creating, merging and destroying caches; kmalloc and its size classes;
// the caches the kernel creates at boot (mm/slab_common.c, with SLUB's
// kmem_cache_init and bootstrap from mm/slub.c).
//
// A new cache first looks for an existing one it can share (merging): one
// whose stride is at most a word larger, suitably aligned, with the same
// accounting flags, and neither with a constructor, a usercopy region or a
// flag that forbids merging. The oldest such cache wins; the new name
// becomes an alias of it, /proc/slabinfo shows only the old name.
//
// kmalloc serves sizes up to 8 KiB from size classes: kmalloc-8 ... -8k by
// powers of two, plus -96 and -192; 1..8 bytes go to kmalloc-8, 65..96 to
// kmalloc-96, 129..192 to kmalloc-192, others to the next power of two.
// Each class exists four times, chosen by the gfp flags: __GFP_DMA picks
// dma-kmalloc-*, __GFP_RECLAIMABLE kmalloc-rcl-*, __GFP_ACCOUNT
// kmalloc-cg-*, anything else kmalloc-*. Above 8 KiB kmalloc takes a
// compound page block straight from the page allocator.
//
// Boot creates kmem_cache_node and kmem_cache as static structures, then
// moves them into objects of themselves (bootstrap), then the kmalloc
// caches, type by type (-96 and -192 first, then 8 to 8k), then the caches
// of the subsystems: each cache costs one kmem_cache object and one
// kmem_cache_node object per node, so even an idle simulated machine shows
// a few slab pages.
#include <fmt/format.h>

#include <bit>
#include <optional>
#include <stdexcept>

#include "base/text.h"
#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/slab_object.h"
#include "mm/slub.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

constexpr uint64_t KMALLOC_MAX_SIZE = uint64_t{1} << (MAX_PAGE_ORDER + PAGE_SHIFT);
constexpr uint64_t ZERO_SIZE_PTR = 16;

bool slab_unmergeable(const SlabState& st, const KmemCache& s) {
    return st.slab_nomerge || (s.flags & SLAB_NEVER_MERGE) || s.has_ctor || s.usersize || s.refcount < 0;
}

// find_mergeable()
KmemCache* find_mergeable(SlabState& st, unsigned size, unsigned align, uint32_t flags, bool ctor) {
    if (st.slab_nomerge || ctor || (flags & SLAB_NEVER_MERGE)) return nullptr;
    size = slab_align_up(size, 8);
    align = calculate_alignment(flags, align, size);
    size = slab_align_up(size, align);
    for (const auto& sp : st.caches) {
        if (!sp) continue;
        KmemCache& s = *sp;
        if (slab_unmergeable(st, s)) continue;
        if (size > s.size) continue;
        if ((flags & SLAB_MERGE_SAME) != (s.flags & SLAB_MERGE_SAME)) continue;
        if ((s.size & ~(align - 1)) != s.size) continue;
        if (s.size - size >= 8) continue;
        return &s;
    }
    return nullptr;
}

// The size of struct kmem_cache: the fixed part and a node pointer per
// node (232 bytes on a one-node machine, as the capture shows).
unsigned kmem_cache_struct_size(const Kernel& k) { return 224 + 8 * static_cast<unsigned>(k.nodes.size()); }
constexpr unsigned KMEM_CACHE_NODE_SIZE = 72;

KmemCache& new_cache(Kernel& k, const std::string& name, unsigned size, const KmemCacheArgs& a) {
    SlabState& st = *k.slab;
    auto c = std::make_unique<KmemCache>();
    c->id = static_cast<uint32_t>(st.caches.size());
    c->name = name;
    c->object_size = size;
    c->align = a.align;
    c->flags = a.flags;
    c->has_ctor = a.ctor;
    c->usersize = a.usersize;
    c->freeptr_inside = a.freeptr_inside;
    kmem_cache_open(k, *c);
    st.caches.push_back(std::move(c));
    return *st.caches.back();
}

uint64_t must(Result<uint64_t> r, const char* what) {
    if (!r) throw std::runtime_error(fmt::format("boot: out of memory allocating {}", what));
    return *r;
}

// create_cache()'s struct kmem_cache object, then init_kmem_cache_nodes()'
// kmem_cache_node object per node.
Result<void> attach_cache_objects(Kernel& k, KmemCache& s) {
    SlabState& st = *k.slab;
    SlabTrackSite create(k, "create_cache");
    auto self = kmem_cache_alloc(k, *st.kmem_cache, GFP_KERNEL);
    if (!self) return self.err();
    s.self_object = *self;
    SlabTrackSite open(k, "do_kmem_cache_create");
    SlabTrackSite nodes(k, "init_kmem_cache_nodes");
    for (std::size_t n = 0; n < k.nodes.size(); n++) {
        auto obj = kmem_cache_alloc(k, *st.kmem_cache_node, GFP_KERNEL, static_cast<int>(n));
        if (!obj) return obj.err();
        s.node_objects.push_back(*obj);
    }
    return {};
}

const char* const kmalloc_size_names[KMALLOC_SHIFT_HIGH + 1] = {"0",   "96",  "192", "8",  "16", "32", "64",
                                                                "128", "256", "512", "1k", "2k", "4k", "8k"};

unsigned kmalloc_size_of(unsigned index) { return index == 1 ? 96 : index == 2 ? 192 : 1u << index; }

void new_kmalloc_cache(Kernel& k, unsigned index, KmallocType type) {
    SlabState& st = *k.slab;
    static const char* const prefix[NR_KMALLOC_TYPES] = {"kmalloc-", "kmalloc-rcl-", "dma-kmalloc-",
                                                         "kmalloc-cg-"};
    static const uint32_t flags[NR_KMALLOC_TYPES] = {0, SLAB_RECLAIM_ACCOUNT, SLAB_CACHE_DMA, SLAB_ACCOUNT};
    unsigned size = kmalloc_size_of(index);
    KmemCacheArgs a;
    // kmalloc objects are aligned to the largest power of two dividing
    // their size, and their whole object is a usercopy region.
    a.align = 1u << std::countr_zero(size);
    a.flags = flags[type] | SLAB_KMALLOC;
    a.usersize = size;
    SlabTrackSite site(k, "create_kmalloc_cache");
    KmemCache& s = new_cache(k, std::string(prefix[type]) + kmalloc_size_names[index], size, a);
    if (!attach_cache_objects(k, s)) throw std::runtime_error("boot: out of memory creating " + s.name);
    st.kmalloc_caches[type][index] = &s;
}

KmemCache* boot_cache(Kernel& k, const char* name, unsigned size, KmemCacheArgs a) {
    auto r = kmem_cache_create(k, name, size, a);
    if (!r) throw std::runtime_error(fmt::format("boot: cannot create the {} cache", name));
    return *r;
}

}  // namespace

std::optional<uint32_t> parse_slab_flags(const std::string& text, std::string* bad) {
    static const std::pair<const char*, uint32_t> names[] = {
        {"SLAB_HWCACHE_ALIGN", SLAB_HWCACHE_ALIGN},
        {"SLAB_CACHE_DMA", SLAB_CACHE_DMA},
        {"SLAB_CACHE_DMA32", SLAB_CACHE_DMA32},
        {"SLAB_PANIC", SLAB_PANIC},
        {"SLAB_TYPESAFE_BY_RCU", SLAB_TYPESAFE_BY_RCU},
        {"SLAB_ACCOUNT", SLAB_ACCOUNT},
        {"SLAB_RECLAIM_ACCOUNT", SLAB_RECLAIM_ACCOUNT},
        {"SLAB_NO_MERGE", SLAB_NO_MERGE},
        {"SLAB_POISON", SLAB_POISON},
        {"SLAB_RED_ZONE", SLAB_RED_ZONE},
        {"SLAB_STORE_USER", SLAB_STORE_USER},
    };
    uint32_t flags = 0;
    for (const std::string& w : split(text, '|')) {
        std::string t = trim(w);
        if (t == "0") continue;
        bool found = false;
        for (const auto& [n, v] : names)
            if (t == n) {
                flags |= v;
                found = true;
            }
        if (!found) {
            if (bad) *bad = t;
            return std::nullopt;
        }
    }
    return flags;
}

Result<KmemCache*> kmem_cache_create(Kernel& k, const std::string& name, unsigned size,
                                     const KmemCacheArgs& a) {
    SlabState& st = *k.slab;
    SlabTrackSite site(k, "__kmem_cache_create_args");
    // kmem_cache_sanity_check() and the alignment the API requires.
    if (name.empty() || size == 0 || size > KMALLOC_MAX_SIZE) return Errno::INVAL;
    if (a.align && !std::has_single_bit(a.align)) return Errno::INVAL;
    if (!a.usersize && !a.freeptr_inside) {
        if (KmemCache* s = find_mergeable(st, size, a.align, a.flags, a.ctor)) {
            // __kmem_cache_alias()
            s->refcount++;
            s->object_size = std::max(s->object_size, size);
            s->inuse = std::max(s->inuse, slab_align_up(size, 8));
            s->alias_names.push_back(name);
            return s;
        }
    }
    KmemCache& s = new_cache(k, name, size, a);
    if (auto r = attach_cache_objects(k, s); !r) {
        // The cache could not get its own structures: undo.
        for (uint64_t o : s.node_objects) kmem_cache_free(k, *st.kmem_cache_node, o);
        if (s.self_object) kmem_cache_free(k, *st.kmem_cache, s.self_object);
        st.caches.back().reset();
        return r.err();
    }
    return &s;
}

Result<void> kmem_cache_destroy(Kernel& k, KmemCache& s) {
    SlabState& st = *k.slab;
    if (--s.refcount > 0) return {};
    // __kmem_cache_shutdown(): flush the CPUs and free the empty partial
    // slabs (what shrinking does); any slab left means objects are still
    // allocated.
    (void)kmem_cache_shrink(k, s);
    bool busy = false;
    for (const auto& n : s.node) busy |= n.nr_slabs != 0;
    if (busy) {
        s.refcount++;
        k.log.printk(k.clock.now(), LogLevel::Err,
                     "=============================================================================");
        k.log.printk(
            k.clock.now(), LogLevel::Err,
            fmt::format("BUG {} (Not tainted): Objects remaining on __kmem_cache_shutdown()", s.name));
        k.log.printk(k.clock.now(), LogLevel::Warning,
                     fmt::format("kmem_cache_destroy {}: Slab cache still has objects when called from "
                                 "kmem_cache_destroy+0x0/0x0",
                                 s.name));
        return Errno::BUSY;
    }
    for (uint64_t o : s.node_objects) kmem_cache_free(k, *st.kmem_cache_node, o);
    if (s.self_object) kmem_cache_free(k, *st.kmem_cache, s.self_object);
    st.caches[s.id].reset();
    return {};
}

KmallocType kmalloc_type(gfp_t gfp) {
    if (gfp & __GFP_DMA) return KMALLOC_DMA;
    if (gfp & __GFP_RECLAIMABLE) return KMALLOC_RECLAIM;
    if (gfp & __GFP_ACCOUNT) return KMALLOC_CGROUP;
    return KMALLOC_NORMAL;
}

// kmalloc_index() with the size_index table for sizes up to 192.
unsigned kmalloc_index(uint64_t size) {
    if (size <= 8) return 3;
    if (size <= 16) return 4;
    if (size <= 32) return 5;
    if (size <= 64) return 6;
    if (size <= 96) return 1;
    if (size <= 128) return 7;
    if (size <= 192) return 2;
    return 64u - static_cast<unsigned>(std::countl_zero(size - 1));
}

KmemCache* kmalloc_slab(Kernel& k, uint64_t size, gfp_t gfp) {
    if (size > KMALLOC_MAX_CACHE_SIZE) return nullptr;
    return k.slab->kmalloc_caches[kmalloc_type(gfp)][kmalloc_index(size)];
}

namespace {

// __do_kmalloc_node(): the object and, as trace_kmalloc() reports it, its
// record (bytes_req the size asked for, bytes_alloc the cache's stride or
// the pages' size).
Result<uint64_t> do_kmalloc(Kernel& k, uint64_t size, gfp_t gfp, int nid, SlabCall call) {
    if (size == 0) return ZERO_SIZE_PTR;
    if (KmemCache* s = kmalloc_slab(k, size, gfp)) {
        Result<uint64_t> r = slab_alloc_node(k, *s, gfp, nid);
        if (r) k.slab->track.record(*r, k.clock.now(), static_cast<uint32_t>(size), s->id, call);
        return r;
    }
    // __kmalloc_large_node()
    unsigned order = get_order(size);
    MaybePfn pfn = alloc_pages(k, (gfp & ~(GFP_ZONEMASK & ~__GFP_DMA)) | __GFP_COMP, order, nid);
    if (!pfn) return Errno::NOMEM;
    Page& head = (*k.mem_map)[pfn->value];
    head.set(PG_large_kmalloc);
    int node = pfn_zone(k, *pfn).node;
    mod_node_page_state(k.nodes[node], NR_SLAB_UNRECLAIMABLE, int64_t{1} << order);
    k.slab->large_kmalloc_pages[node] += int64_t{1} << order;
    uint64_t addr = pfn_to_virt(pfn->value);
    k.slab->track.record(addr, k.clock.now(), static_cast<uint32_t>(size), ~0u,
                         call == SlabCall::Krealloc ? call : SlabCall::KmallocLarge);
    return addr;
}

}  // namespace

Result<uint64_t> kmalloc(Kernel& k, uint64_t size, gfp_t gfp, int nid) {
    return do_kmalloc(k, size, gfp, nid, nid < 0 ? SlabCall::Kmalloc : SlabCall::KmallocNode);
}

void kfree(Kernel& k, uint64_t addr) {
    if (addr <= ZERO_SIZE_PTR) return;
    if (KmemCache* s = virt_to_cache(k, addr)) {
        kmem_cache_free(k, *s, addr);
        return;
    }
    uint64_t pfn = addr >= PAGE_OFFSET ? (addr - PAGE_OFFSET) >> PAGE_SHIFT : ~uint64_t{0};
    if (pfn >= k.mem_map->max_pfn() || (addr & (PAGE_SIZE - 1)) || !(*k.mem_map)[pfn].test(PG_large_kmalloc))
        throw std::logic_error(fmt::format("kfree: {:#x} was not returned by kmalloc", addr));
    Page& head = (*k.mem_map)[pfn];
    unsigned order = head.order;
    head.clear(PG_large_kmalloc);
    k.slab->track.forget(addr);
    int node = pfn_zone(k, Pfn(pfn)).node;
    mod_node_page_state(k.nodes[node], NR_SLAB_UNRECLAIMABLE, -(int64_t{1} << order));
    k.slab->large_kmalloc_pages[node] -= int64_t{1} << order;
    free_pages(k, Pfn(pfn), order);
}

uint64_t ksize(Kernel& k, uint64_t addr) {
    if (addr <= ZERO_SIZE_PTR) return 0;
    if (KmemCache* s = virt_to_cache(k, addr)) return s->object_size;
    uint64_t pfn = (addr - PAGE_OFFSET) >> PAGE_SHIFT;
    return PAGE_SIZE << (*k.mem_map)[pfn].order;
}

Result<uint64_t> krealloc(Kernel& k, uint64_t addr, uint64_t new_size, gfp_t gfp) {
    if (addr <= ZERO_SIZE_PTR) return do_kmalloc(k, new_size, gfp, -1, SlabCall::Krealloc);
    if (new_size == 0) {
        kfree(k, addr);
        return ZERO_SIZE_PTR;
    }
    // __do_krealloc(): what the object already spans is enough.
    if (new_size <= ksize(k, addr)) {
        if (SlabTrackRecord* r = k.slab->track.find(addr)) r->bytes_req = static_cast<uint32_t>(new_size);
        return addr;
    }
    auto r = do_kmalloc(k, new_size, gfp, -1, SlabCall::Krealloc);
    if (!r) return r;  // the old object stays, as in the kernel
    kfree(k, addr);
    return r;
}

void kmem_cache_init(Kernel& k) {
    k.slab = std::make_unique<SlabState>();
    SlabState& st = *k.slab;
    st.large_kmalloc_pages.assign(k.nodes.size(), 0);
    int saved_cpu = k.current_cpu;
    k.current_cpu = 0;  // the boot CPU
    // The call sites of the boot's objects (SlabTrack).
    SlabTrackSite start(k, "start_kernel");
    std::optional<SlabTrackSite> init(std::in_place, k, "kmem_cache_init");
    KmemCacheArgs hw;
    hw.flags = SLAB_HWCACHE_ALIGN;
    // The static boot caches.
    KmemCache& kcn = new_cache(k, "kmem_cache_node", KMEM_CACHE_NODE_SIZE, hw);
    st.kmem_cache_node = &kcn;
    // early_kmem_cache_node_alloc(): a slab per node whose first object is
    // the node's own kmem_cache_node, put on the partial list at once.
    for (std::size_t n = 0; n < k.nodes.size(); n++) {
        SlabTrackSite early(k, "early_kmem_cache_node_alloc");
        auto obj = kmem_cache_alloc(k, kcn, GFP_NOWAIT, static_cast<int>(n));
        kcn.node_objects.push_back(must(std::move(obj), "kmem_cache_node"));
        slub_flush_all(k, kcn);
    }
    KmemCache& kc = new_cache(k, "kmem_cache", kmem_cache_struct_size(k), hw);
    st.kmem_cache = &kc;
    for (std::size_t n = 0; n < k.nodes.size(); n++)
        kc.node_objects.push_back(
            must(kmem_cache_alloc(k, kcn, GFP_NOWAIT, static_cast<int>(n)), "kmem_cache_node"));
    // bootstrap(): each boot cache moves into an object of kmem_cache, and
    // its CPU slab is flushed.
    kc.self_object = must(kmem_cache_alloc(k, kc, GFP_NOWAIT), "kmem_cache");
    slub_flush_all(k, kc);
    kcn.self_object = must(kmem_cache_alloc(k, kc, GFP_NOWAIT), "kmem_cache");
    slub_flush_all(k, kcn);
    // The slab_caches list holds them from here: kmem_cache first.
    std::swap(st.caches[0], st.caches[1]);
    st.caches[0]->id = 0;
    st.caches[1]->id = 1;
    for (Slab& sl : st.slabs)
        if (sl.cache <= 1) sl.cache ^= 1;
    std::vector<uint64_t> boot_objects;
    st.track.for_each([&](uint64_t addr, const SlabTrackRecord&) { boot_objects.push_back(addr); });
    for (uint64_t addr : boot_objects)
        if (SlabTrackRecord* r = st.track.find(addr); r->cache <= 1) r->cache ^= 1;

    // create_kmalloc_caches()
    {
        SlabTrackSite site(k, "create_kmalloc_caches");
        for (unsigned t = 0; t < NR_KMALLOC_TYPES; t++) {
            auto type = static_cast<KmallocType>(t);
            new_kmalloc_cache(k, 1, type);
            new_kmalloc_cache(k, 2, type);
            for (unsigned i = KMALLOC_SHIFT_LOW; i <= KMALLOC_SHIFT_HIGH; i++) new_kmalloc_cache(k, i, type);
        }
    }
    init.reset();

    // The subsystems' caches, in the order the kernel creates them, with
    // the sizes and flags of a 6.18 x86-64 build (tests/data/host-6.18/slab).
    unsigned cpumask = 8 * ((static_cast<unsigned>(k.cpus.size()) + 63) / 64);
    struct BootCache {
        const char* name;
        unsigned size;
        KmemCacheArgs args;  // align, flags, ctor, usersize, freeptr_inside
        KmemCache* SlabState::*slot;
        // The kernel functions that allocate (and duplicate) the objects
        // the simulator's structures stand for: their SlabTrack frames.
        const char* alloc_fn;
        const char* dup_fn;
    };
    const BootCache boot[] = {
        // mm_struct ends in cpumask-sized bitmaps; saved_auxv is its usercopy window.
        {"mm_struct",
         1544 + 3 * cpumask,
         {64, SLAB_HWCACHE_ALIGN | SLAB_PANIC | SLAB_ACCOUNT, false, 8, false},
         &SlabState::mm_struct,
         "mm_alloc",
         "dup_mm"},
        {"radix_tree_node",
         576,
         {0, SLAB_PANIC | SLAB_RECLAIM_ACCOUNT, true, 0, false},
         &SlabState::radix_tree_node,
         "xas_alloc",
         "xas_alloc"},
        {"anon_vma",
         96,
         {0, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC | SLAB_ACCOUNT, true, 0, false},
         &SlabState::anon_vma,
         "anon_vma_alloc",
         "anon_vma_alloc"},
        {"anon_vma_chain",
         64,
         {0, SLAB_PANIC | SLAB_ACCOUNT, false, 0, false},
         &SlabState::anon_vma_chain,
         "anon_vma_chain_alloc",
         "anon_vma_chain_alloc"},
        // thread_struct's fpu state is task_struct's usercopy window.
        {"task_struct",
         5824,
         {64, SLAB_PANIC | SLAB_ACCOUNT, false, 8, false},
         &SlabState::task_struct,
         "dup_task_struct",
         "dup_task_struct"},
        {"vm_area_struct",
         192,
         {0, SLAB_HWCACHE_ALIGN | SLAB_PANIC | SLAB_TYPESAFE_BY_RCU | SLAB_ACCOUNT, false, 0, true},
         &SlabState::vm_area_struct,
         "vm_area_alloc",
         "vm_area_dup"},
        // security_init(): the LSMs' per-file and per-inode blobs, sized by
        // the LSMs the host's kernel runs (lsm_set_blob_sizes()).
        {"lsm_file_cache",
         24,
         {0, SLAB_PANIC, false, 0, false},
         &SlabState::lsm_file_cache,
         "security_file_alloc",
         "security_file_alloc"},
        {"lsm_inode_cache",
         32,
         {0, SLAB_PANIC, false, 0, false},
         &SlabState::lsm_inode_cache,
         "security_inode_alloc",
         "security_inode_alloc"},
        // d_shortname is dentry's usercopy window.
        {"dentry",
         192,
         {0, SLAB_RECLAIM_ACCOUNT | SLAB_PANIC | SLAB_ACCOUNT, false, 40, false},
         &SlabState::dentry,
         "__d_alloc",
         "__d_alloc"},
        {"inode_cache",
         616,
         {0, SLAB_RECLAIM_ACCOUNT | SLAB_PANIC | SLAB_ACCOUNT, true, 0, false},
         &SlabState::inode_cache,
         "alloc_inode",
         "alloc_inode"},
        {"filp",
         184,
         {0, SLAB_HWCACHE_ALIGN | SLAB_PANIC | SLAB_ACCOUNT | SLAB_TYPESAFE_BY_RCU, false, 0, true},
         &SlabState::filp,
         "alloc_empty_file",
         "alloc_empty_file"},
        // shmem_init_inodecache(): struct shmem_inode_info, with a
        // constructor (so the free pointer sits past the object).
        {"shmem_inode_cache",
         744,
         {0, SLAB_PANIC | SLAB_ACCOUNT, true, 0, false},
         &SlabState::shmem_inode_cache,
         "shmem_alloc_inode",
         "shmem_alloc_inode"},
        {"buffer_head",
         104,
         {0, SLAB_RECLAIM_ACCOUNT | SLAB_PANIC, false, 0, false},
         &SlabState::buffer_head,
         "alloc_buffer_head",
         "alloc_buffer_head"},
        // ext4's init_inodecache(), when the root filesystem's module
        // starts: struct ext4_inode_info, i_data its usercopy window.
        {"ext4_inode_cache",
         1120,
         {0, SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT, true, 60, false},
         &SlabState::ext4_inode_cache,
         "ext4_alloc_inode",
         "ext4_alloc_inode"},
    };
    for (const BootCache& b : boot) {
        KmemCache* c = boot_cache(k, b.name, b.size, b.args);
        st.*b.slot = c;
        c->alloc_frame = st.track.intern_frame(b.alloc_fn);
        c->dup_frame = st.track.intern_frame(b.dup_fn);
    }
    k.current_cpu = saved_cpu;
}

}  // namespace mmsim

// ---- SlabObject (slab_object.h) ---------------------------------------------

namespace mmsim {

SlabObject SlabObject::alloc(Kernel& k, KmemCache* SlabState::*which, gfp_t gfp) {
    SlabObject o;
    if (!k.slab || !(k.slab.get()->*which)) return o;
    o.m_k = &k;
    o.m_cache = k.slab.get()->*which;
    // The object's call site: the kernel function that allocates it.
    std::optional<SlabTrackSite> site;
    if (o.m_cache->alloc_frame != ~0u) site.emplace(k, o.m_cache->alloc_frame);
    if (auto r = kmem_cache_alloc(k, *o.m_cache, gfp)) o.m_addr = *r;
    return o;
}

SlabObject::SlabObject(const SlabObject& o) : m_k(o.m_k), m_cache(o.m_cache) {
    if (m_k && m_cache) {
        std::optional<SlabTrackSite> site;
        if (m_cache->dup_frame != ~0u) site.emplace(*m_k, m_cache->dup_frame);
        if (auto r = kmem_cache_alloc(*m_k, *m_cache, GFP_KERNEL)) m_addr = *r;
    }
}

SlabObject& SlabObject::operator=(const SlabObject& o) {
    if (this != &o) *this = SlabObject(o);
    return *this;
}

SlabObject& SlabObject::operator=(SlabObject&& o) noexcept {
    if (this != &o) {
        reset();
        m_k = o.m_k;
        m_cache = o.m_cache;
        m_addr = o.m_addr;
        o.m_addr = 0;
    }
    return *this;
}

void SlabObject::release() {
    // A kernel being torn down frees nothing one object at a time.
    if (!m_k->slab->dying) kmem_cache_free(*m_k, *m_cache, m_addr);
    m_addr = 0;
}

}  // namespace mmsim
