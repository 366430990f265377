// SLUB: cache geometry, the per-CPU and per-node slab lists, allocation,
// freeing and shrinking (mm/slub.c). The essay is in slub.h.
#include "mm/slub.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

constexpr unsigned SLUB_MAX_ORDER = 3;  // slub_max_order = PAGE_ALLOC_COSTLY_ORDER
constexpr unsigned MAX_OBJS_PER_PAGE = 32767;
constexpr unsigned MIN_PARTIAL = 5, MAX_PARTIAL = 10;
constexpr unsigned CACHE_LINE = 64;
constexpr unsigned SHRINK_PROMOTE_MAX = 32;

unsigned fls(uint64_t x) { return x ? 64u - static_cast<unsigned>(std::countl_zero(x)) : 0; }
unsigned order_objects(unsigned order, unsigned size) {
    return static_cast<unsigned>((PAGE_SIZE << order) / size);
}

void list_add(SlabState& st, SlabList& l, uint32_t id, bool tail) {
    Slab& s = st.slabs[id];
    if (tail) {
        s.prev = l.tail;
        s.next = SLAB_NIL;
        if (l.tail != SLAB_NIL) st.slabs[l.tail].next = id;
        l.tail = id;
        if (l.head == SLAB_NIL) l.head = id;
    } else {
        s.next = l.head;
        s.prev = SLAB_NIL;
        if (l.head != SLAB_NIL) st.slabs[l.head].prev = id;
        l.head = id;
        if (l.tail == SLAB_NIL) l.tail = id;
    }
    l.nr++;
}

void list_del(SlabState& st, SlabList& l, uint32_t id) {
    Slab& s = st.slabs[id];
    if (s.prev != SLAB_NIL)
        st.slabs[s.prev].next = s.next;
    else
        l.head = s.next;
    if (s.next != SLAB_NIL)
        st.slabs[s.next].prev = s.prev;
    else
        l.tail = s.prev;
    s.prev = s.next = SLAB_NIL;
    l.nr--;
}

// add_partial() / remove_partial()
void add_partial(SlabState& st, KmemCache& s, uint32_t id, bool tail) {
    Slab& sl = st.slabs[id];
    list_add(st, s.node[sl.node].partial, id, tail);
    sl.list = Slab::List::NodePartial;
}
void remove_partial(SlabState& st, KmemCache& s, uint32_t id) {
    Slab& sl = st.slabs[id];
    list_del(st, s.node[sl.node].partial, id);
    sl.list = Slab::List::None;
}

// The slab's pages, and its node's counters.
void account_slab(Kernel& k, const KmemCache& s, const Slab& sl, int64_t sign) {
    NodeStatItem item = (s.flags & SLAB_RECLAIM_ACCOUNT) ? NR_SLAB_RECLAIMABLE : NR_SLAB_UNRECLAIMABLE;
    mod_node_page_state(k.nodes[sl.node], item, sign * (int64_t{1} << sl.order));
}

// allocate_slab(): pages of order s.order, falling back to s.min_order; the
// objects all free, in address order.
std::optional<uint32_t> allocate_slab(Kernel& k, KmemCache& s, gfp_t gfp, int nid) {
    SlabState& st = *k.slab;
    gfp_t flags = (gfp & (__GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN |
                          __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC |
                          __GFP_NOMEMALLOC | __GFP_HARDWALL | __GFP_THISNODE)) |
                  s.allocflags;
    // The preferred order is tried without reclaim when a smaller one
    // would do, and never noisily.
    gfp_t first = (flags | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL;
    if ((first & __GFP_DIRECT_RECLAIM) && s.order > s.min_order)
        first = (first | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM;
    unsigned order = s.order, objects = s.objects;
    MaybePfn pfn = alloc_pages(k, first, order, nid);
    if (!pfn) {
        order = s.min_order;
        objects = s.min_objects;
        gfp_t second = flags;
        if (order == 0) second &= ~__GFP_COMP;
        pfn = alloc_pages(k, second, order, nid);
        if (!pfn) return std::nullopt;
    }
    uint32_t id;
    if (!st.free_slab_ids.empty()) {
        id = st.free_slab_ids.back();
        st.free_slab_ids.pop_back();
    } else {
        id = static_cast<uint32_t>(st.slabs.size());
        st.slabs.emplace_back();
    }
    Slab& sl = st.slabs[id];
    sl.pfn = static_cast<uint32_t>(pfn->value);
    sl.cache = s.id;
    sl.order = static_cast<uint8_t>(order);
    sl.objects = static_cast<uint16_t>(objects);
    sl.inuse = 0;
    sl.cpu = -1;
    sl.list = Slab::List::None;
    sl.node = pfn_zone(k, *pfn).node;
    sl.prev = sl.next = SLAB_NIL;
    sl.cpu_free.clear();
    sl.free.resize(objects);
    // The next object out is the last element: index 0 first.
    for (unsigned i = 0; i < objects; i++) sl.free[i] = static_cast<uint16_t>(objects - 1 - i);
    MemMap& mm = *k.mem_map;
    for (uint64_t i = 0; i < (uint64_t{1} << order); i++) {
        Page& p = mm[pfn->value + i];
        p.set(PG_slab);
        p.index = id;
    }
    KmemCacheNode& n = s.node[sl.node];
    n.nr_slabs++;
    n.total_objects += objects;
    account_slab(k, s, sl, +1);
    return id;
}

// discard_slab(): the pages back to the page allocator.
void discard_slab(Kernel& k, KmemCache& s, uint32_t id) {
    SlabState& st = *k.slab;
    Slab& sl = st.slabs[id];
    KmemCacheNode& n = s.node[sl.node];
    n.nr_slabs--;
    n.total_objects -= sl.objects;
    account_slab(k, s, sl, -1);
    MemMap& mm = *k.mem_map;
    for (uint64_t i = 0; i < (uint64_t{1} << sl.order); i++) {
        Page& p = mm[sl.pfn + i];
        p.clear(PG_slab);
        p.index = 0;
    }
    free_pages(k, Pfn(sl.pfn), sl.order);
    sl.cache = SLAB_NIL;
    sl.free.clear();
    sl.free.shrink_to_fit();
    sl.cpu_free.clear();
    sl.cpu_free.shrink_to_fit();
    st.free_slab_ids.push_back(id);
}

// __put_partials(): a CPU's cpu-partial slabs go to their nodes' partial
// lists, at the tail; those already empty are discarded when the node
// keeps min_partial slabs.
void put_partials(Kernel& k, KmemCache& s, SlabList& list) {
    SlabState& st = *k.slab;
    std::vector<uint32_t> discard;
    while (list.head != SLAB_NIL) {
        uint32_t id = list.head;
        list_del(st, list, id);
        Slab& sl = st.slabs[id];
        sl.list = Slab::List::None;
        if (sl.inuse == 0 && s.node[sl.node].partial.nr >= s.min_partial)
            discard.push_back(id);
        else
            add_partial(st, s, id, true);
    }
    for (uint32_t id : discard) discard_slab(k, s, id);
}

// put_cpu_partial(): a slab that was full got a free object, or
// get_partial_node() hands over extra slabs. With drain, a list already
// holding cpu_partial_slabs slabs moves to the nodes first.
void put_cpu_partial(Kernel& k, KmemCache& s, uint32_t id, int cpu, bool drain) {
    SlabState& st = *k.slab;
    KmemCacheCpu& c = s.cpu[cpu];
    SlabList old = c.partial;
    if (c.partial.nr && drain && c.partial.nr >= s.cpu_partial_slabs) {
        c.partial = SlabList{};
        list_add(st, c.partial, id, false);
        st.slabs[id].list = Slab::List::CpuPartial;
        put_partials(k, s, old);
        return;
    }
    list_add(st, c.partial, id, false);
    st.slabs[id].list = Slab::List::CpuPartial;
}

// deactivate_slab(): the cpu slab goes back to its node: its CPU's free
// objects join the slab's own; an empty slab is discarded if the node keeps
// enough, a slab with free objects goes on the partial list (at the tail if
// other CPUs had freed into it, else at the head), a full one on no list.
void deactivate_slab(Kernel& k, KmemCache& s, uint32_t id) {
    SlabState& st = *k.slab;
    Slab& sl = st.slabs[id];
    bool tail = !sl.free.empty();
    sl.free.insert(sl.free.end(), sl.cpu_free.begin(), sl.cpu_free.end());
    sl.cpu_free.clear();
    sl.cpu = -1;
    if (sl.inuse == 0 && s.node[sl.node].partial.nr >= s.min_partial)
        discard_slab(k, s, id);
    else if (!sl.free.empty())
        add_partial(st, s, id, tail);
}

// The cpu slab's next object: from the CPU's own freelist, else whatever
// other CPUs freed into the slab (get_freelist()).
std::optional<uint16_t> take_from_cpu_slab(Slab& sl) {
    if (sl.cpu_free.empty()) sl.cpu_free.swap(sl.free);
    if (sl.cpu_free.empty()) return std::nullopt;
    uint16_t obj = sl.cpu_free.back();
    sl.cpu_free.pop_back();
    sl.inuse++;
    return obj;
}

void make_cpu_slab(SlabState& st, KmemCache& s, uint32_t id, int cpu) {
    Slab& sl = st.slabs[id];
    sl.cpu = static_cast<int8_t>(cpu);
    sl.list = Slab::List::None;
    s.cpu[cpu].slab = id;
}

// get_partial_node(): the first slab of the node's partial list becomes the
// cpu slab; more follow onto the cpu-partial list until it holds more than
// half of cpu_partial_slabs.
std::optional<uint32_t> get_partial_node(Kernel& k, KmemCache& s, int nid, int cpu) {
    SlabState& st = *k.slab;
    KmemCacheNode& n = s.node[nid];
    std::optional<uint32_t> first;
    unsigned partial_slabs = 0;
    while (n.partial.head != SLAB_NIL) {
        uint32_t id = n.partial.head;
        remove_partial(st, s, id);
        if (!first) {
            first = id;
            if (!s.has_cpu_partial()) break;
        } else {
            put_cpu_partial(k, s, id, cpu, false);
            if (++partial_slabs > s.cpu_partial_slabs / 2) break;
        }
    }
    return first;
}

uint64_t object_addr(const KmemCache& s, const Slab& sl, unsigned idx) {
    return pfn_to_virt(sl.pfn) + uint64_t{idx} * s.size;
}

}  // namespace

unsigned calculate_alignment(uint32_t flags, unsigned align, unsigned size) {
    if (flags & SLAB_HWCACHE_ALIGN) {
        unsigned ralign = CACHE_LINE;
        while (size <= ralign / 2) ralign /= 2;
        align = std::max(align, ralign);
    }
    return slab_align_up(std::max(align, 8u), 8);
}

KmemCache* SlabState::find(const std::string& name) const {
    for (const auto& c : caches)
        if (c && c->name == name) return c.get();
    return nullptr;
}

// calculate_order(): the smallest order, from the one that holds
// min_objects (4 * (fls(nr_cpus) + 1)) objects up to slub_max_order,
// whose leftover is at most 1/16 of the slab, then 1/8, then 1/4; past
// that, whatever holds one object.
unsigned slub_calculate_order(unsigned size, unsigned nr_cpus) {
    unsigned min_objects = 4 * (fls(nr_cpus) + 1);
    unsigned max_objects = std::max(order_objects(SLUB_MAX_ORDER, size), 1u);
    min_objects = std::min(min_objects, max_objects);
    unsigned min_order = get_order(uint64_t{min_objects} * size);
    if (order_objects(min_order, size) > MAX_OBJS_PER_PAGE)
        return get_order(uint64_t{size} * MAX_OBJS_PER_PAGE) - 1;
    for (unsigned fraction = 16; fraction > 1; fraction /= 2) {
        unsigned order = min_order;
        for (; order <= SLUB_MAX_ORDER; order++) {
            unsigned slab_size = static_cast<unsigned>(PAGE_SIZE << order);
            if (slab_size % size <= slab_size / fraction) break;
        }
        if (order <= SLUB_MAX_ORDER) return order;
    }
    return get_order(size);
}

// kmem_cache_open() with calculate_sizes(), calculate_alignment(),
// set_min_partial() and set_cpu_partial().
void kmem_cache_open(Kernel& k, KmemCache& s) {
    unsigned size = slab_align_up(s.object_size, 8);
    unsigned align = calculate_alignment(s.flags, s.align, size);
    s.align = align;
    s.inuse = size;
    // The free pointer goes after the object when the object must stay
    // intact while free (a constructor, RCU-typesafe reuse); otherwise it
    // overlays the middle of the object.
    if (((s.flags & SLAB_TYPESAFE_BY_RCU) && !s.freeptr_inside) || (s.flags & SLAB_POISON) || s.has_ctor) {
        s.offset = size;
        size += 8;
    } else if (s.freeptr_inside) {
        s.offset = 0;
    } else {
        s.offset = (s.object_size / 2) & ~7u;
    }
    size = slab_align_up(size, align);
    s.size = size;
    unsigned nr_cpus = static_cast<unsigned>(std::max<std::size_t>(k.cpus.size(), 1));
    s.order = slub_calculate_order(size, nr_cpus);
    s.objects = order_objects(s.order, size);
    s.min_order = get_order(size);
    s.min_objects = order_objects(s.min_order, size);
    s.allocflags = 0;
    if (s.order) s.allocflags |= __GFP_COMP;
    if (s.flags & SLAB_CACHE_DMA) s.allocflags |= GFP_DMA;
    if (s.flags & SLAB_CACHE_DMA32) s.allocflags |= GFP_DMA32;
    if (s.flags & SLAB_RECLAIM_ACCOUNT) s.allocflags |= __GFP_RECLAIMABLE;
    unsigned ilog = fls(size) - 1;
    s.min_partial = std::clamp(ilog / 2, MIN_PARTIAL, MAX_PARTIAL);
    if (size >= PAGE_SIZE)
        s.cpu_partial = 6;
    else if (size >= 1024)
        s.cpu_partial = 24;
    else if (size >= 256)
        s.cpu_partial = 52;
    else
        s.cpu_partial = 120;
    // slub_set_cpu_partial(): the object count as slabs half full.
    s.cpu_partial_slabs = (s.cpu_partial * 2 + s.objects - 1) / s.objects;
    s.node.assign(k.nodes.size(), KmemCacheNode{});
    s.cpu.assign(std::max<std::size_t>(k.cpus.size(), 1), KmemCacheCpu{});
}

Result<uint64_t> slab_alloc_node(Kernel& k, KmemCache& s, gfp_t gfp, int nid) {
    SlabState& st = *k.slab;
    int cpu = k.current_cpu;
    KmemCacheCpu& c = s.cpu[cpu];
    int want = nid >= 0 ? nid : (k.cpus.empty() ? 0 : k.cpus[cpu].node);
    // A cpu slab on another node than asked for is deactivated first
    // (node_match()).
    if (c.slab != SLAB_NIL && nid >= 0 && st.slabs[c.slab].node != nid) {
        uint32_t old = c.slab;
        c.slab = SLAB_NIL;
        deactivate_slab(k, s, old);
    }
    for (;;) {
        if (c.slab != SLAB_NIL) {
            Slab& sl = st.slabs[c.slab];
            if (auto obj = take_from_cpu_slab(sl)) return object_addr(s, sl, *obj);
            // Used up: it leaves the CPU as a full slab, on no list.
            sl.cpu = -1;
            c.slab = SLAB_NIL;
        }
        // The cpu-partial list's first slab.
        if (c.partial.head != SLAB_NIL && (nid < 0 || st.slabs[c.partial.head].node == nid)) {
            uint32_t id = c.partial.head;
            list_del(st, c.partial, id);
            make_cpu_slab(st, s, id, cpu);
            continue;
        }
        if (auto id = get_partial_node(k, s, want, cpu)) {
            make_cpu_slab(st, s, *id, cpu);
            continue;
        }
        auto id = allocate_slab(k, s, gfp, nid);
        if (!id) return Errno::NOMEM;
        // The page allocator may have run other code; the cpu slab is
        // still ours to set.
        make_cpu_slab(st, s, *id, cpu);
    }
}

Result<uint64_t> kmem_cache_alloc(Kernel& k, KmemCache& s, gfp_t gfp, int nid) {
    Result<uint64_t> r = slab_alloc_node(k, s, gfp, nid);
    // trace_kmem_cache_alloc(): bytes_req is the object size.
    if (r)
        k.slab->track.record(*r, k.clock.now(), s.object_size, s.id,
                             nid < 0 ? SlabCall::KmemCacheAlloc : SlabCall::KmemCacheAllocNode);
    return r;
}

std::size_t kmem_cache_alloc_bulk(Kernel& k, KmemCache& s, gfp_t gfp, std::size_t n, uint64_t* out) {
    std::size_t i = 0;
    for (; i < n; i++) {
        Result<uint64_t> r = slab_alloc_node(k, s, gfp, -1);
        if (!r) break;
        out[i] = *r;
        k.slab->track.record(*r, k.clock.now(), s.object_size, s.id, SlabCall::KmemCacheAllocBulk);
    }
    if (i == n) return n;
    // All or nothing: what was taken goes back.
    kmem_cache_free_bulk(k, s, i, out);
    return 0;
}

void kmem_cache_free_bulk(Kernel& k, KmemCache& s, std::size_t n, const uint64_t* objs) {
    for (std::size_t i = 0; i < n; i++) kmem_cache_free(k, s, objs[i]);
}

namespace {
// virt_to_slab(): the id of the live slab holding an address, or SLAB_NIL.
uint32_t virt_to_slab(const Kernel& k, uint64_t addr) {
    if (!k.slab || addr < PAGE_OFFSET) return SLAB_NIL;
    uint64_t pfn = (addr - PAGE_OFFSET) >> PAGE_SHIFT;
    if (!k.mem_map || pfn >= k.mem_map->max_pfn()) return SLAB_NIL;
    const Page& p = (*k.mem_map)[pfn];
    if (!p.test(PG_slab) || k.slab->slabs[p.index].cache == SLAB_NIL) return SLAB_NIL;
    return p.index;
}
}  // namespace

KmemCache* virt_to_cache(Kernel& k, uint64_t addr) {
    uint32_t id = virt_to_slab(k, addr);
    return id == SLAB_NIL ? nullptr : k.slab->caches[k.slab->slabs[id].cache].get();
}

void kmem_cache_free(Kernel& k, KmemCache& s, uint64_t addr) {
    SlabState& st = *k.slab;
    uint32_t id = virt_to_slab(k, addr);
    if (id == SLAB_NIL || st.slabs[id].cache != s.id)
        throw std::logic_error(
            fmt::format("kmem_cache_free: {:#x} is not an object of cache {}", addr, s.name));
    Slab& sl = st.slabs[id];
    uint64_t off = addr - pfn_to_virt(sl.pfn);
    if (off % s.size != 0 || off / s.size >= sl.objects)
        throw std::logic_error(
            fmt::format("kmem_cache_free: {:#x} is not the start of an object of {}", addr, s.name));
    auto idx = static_cast<uint16_t>(off / s.size);
    // A double free: the kernel's freelist hardening catches an object
    // freed twice in a row; with checks on (MMSIM_CHECK) every free list
    // is searched.
    auto is_free = [&] {
        if ((!sl.free.empty() && sl.free.back() == idx) ||
            (!sl.cpu_free.empty() && sl.cpu_free.back() == idx))
            return true;
        return k.debug_vm && (std::find(sl.free.begin(), sl.free.end(), idx) != sl.free.end() ||
                              std::find(sl.cpu_free.begin(), sl.cpu_free.end(), idx) != sl.cpu_free.end());
    };
    if (is_free())
        throw std::logic_error(fmt::format("kmem_cache_free: double free of {:#x} in {}", addr, s.name));
    st.track.forget(addr);
    int cpu = k.current_cpu;
    // do_slab_free()'s fast path: this CPU's own slab.
    if (sl.cpu == cpu) {
        sl.cpu_free.push_back(idx);
        sl.inuse--;
        return;
    }
    // __slab_free().
    bool prior = !sl.free.empty() || !sl.cpu_free.empty();
    bool was_frozen = sl.cpu >= 0;
    sl.free.push_back(idx);
    sl.inuse--;
    if (was_frozen) return;  // another CPU's slab: the object waits on slab->freelist
    if (!prior) {
        // It was full.
        if (s.has_cpu_partial()) {
            put_cpu_partial(k, s, id, cpu, true);
            return;
        }
        if (sl.inuse == 0 && s.node[sl.node].partial.nr >= s.min_partial) {
            discard_slab(k, s, id);
            return;
        }
        add_partial(st, s, id, true);
        return;
    }
    // Partially free already: only a slab on its node's list changes.
    if (sl.list != Slab::List::NodePartial) return;
    if (sl.inuse == 0 && s.node[sl.node].partial.nr >= s.min_partial) {
        remove_partial(st, s, id);
        discard_slab(k, s, id);
    }
}

void slub_flush_all(Kernel& k, KmemCache& s) {
    for (auto& c : s.cpu) {
        if (c.slab != SLAB_NIL) {
            uint32_t id = c.slab;
            c.slab = SLAB_NIL;
            deactivate_slab(k, s, id);
        }
        SlabList list = c.partial;
        c.partial = SlabList{};
        put_partials(k, s, list);
    }
}

uint64_t kmem_cache_shrink(Kernel& k, KmemCache& s) {
    SlabState& st = *k.slab;
    slub_flush_all(k, s);
    uint64_t freed = 0;
    for (auto& n : s.node) {
        std::vector<uint32_t> discard;
        std::vector<std::vector<uint32_t>> promote(SHRINK_PROMOTE_MAX);
        std::vector<uint32_t> rest;
        for (uint32_t id = n.partial.head; id != SLAB_NIL; id = st.slabs[id].next) {
            const Slab& sl = st.slabs[id];
            unsigned free = sl.objects - sl.inuse;
            if (free == sl.objects)
                discard.push_back(id);
            else if (free <= SHRINK_PROMOTE_MAX)
                promote[free - 1].push_back(id);
            else
                rest.push_back(id);
        }
        // The fullest slabs (fewest free objects) first, each group in its
        // old order, then the rest.
        n.partial = SlabList{};
        for (auto& group : promote)
            for (uint32_t id : group) list_add(st, n.partial, id, true);
        for (uint32_t id : rest) list_add(st, n.partial, id, true);
        for (uint32_t id : discard) {
            st.slabs[id].list = Slab::List::None;
            freed += uint64_t{1} << st.slabs[id].order;
            discard_slab(k, s, id);
        }
    }
    return freed;
}

void get_slabinfo(const KmemCache& s, const SlabState& st, SlabInfo& out) {
    out = SlabInfo{};
    uint64_t nr_free = 0;
    for (const auto& n : s.node) {
        out.num_slabs += n.nr_slabs;
        out.num_objs += n.total_objects;
        for (uint32_t id = n.partial.head; id != SLAB_NIL; id = st.slabs[id].next)
            nr_free += st.slabs[id].objects - st.slabs[id].inuse;
    }
    out.active_objs = out.num_objs - nr_free;
    out.active_slabs = out.num_slabs;
    out.objects_per_slab = s.objects;
    out.cache_order = s.order;
}

uint64_t slab_objects_in_use(const KmemCache& s, const SlabState& st) {
    uint64_t n = 0;
    for (const Slab& sl : st.slabs)
        if (sl.cache == s.id) n += sl.inuse;
    return n;
}

void validate_slab(const Kernel& k) {
    if (!k.slab) return;
    const SlabState& st = *k.slab;
    auto fail = [](const std::string& m) { throw std::logic_error("slab: " + m); };
    std::vector<int64_t> reclaimable(k.nodes.size()), unreclaimable(k.nodes.size());
    std::vector<std::vector<uint64_t>> slabs(st.caches.size()), objs(st.caches.size());
    for (auto& v : slabs) v.assign(k.nodes.size(), 0);
    for (auto& v : objs) v.assign(k.nodes.size(), 0);
    for (uint32_t id = 0; id < st.slabs.size(); id++) {
        const Slab& sl = st.slabs[id];
        if (sl.cache == SLAB_NIL) continue;
        const KmemCache& s = *st.caches[sl.cache];
        if (sl.inuse + sl.free.size() + sl.cpu_free.size() != sl.objects)
            fail(fmt::format("{}: slab at pfn {:#x} has {} objects but {} in use and {} free", s.name, sl.pfn,
                             sl.objects, sl.inuse, sl.free.size() + sl.cpu_free.size()));
        std::vector<bool> seen(sl.objects);
        for (const auto* l : {&sl.free, &sl.cpu_free})
            for (uint16_t i : *l) {
                if (i >= sl.objects || seen[i])
                    fail(fmt::format("{}: object {} of the slab at pfn {:#x} is free twice", s.name, i,
                                     sl.pfn));
                seen[i] = true;
            }
        if (sl.cpu < 0 && !sl.cpu_free.empty())
            fail(fmt::format("{}: an unfrozen slab keeps a CPU freelist", s.name));
        if (sl.cpu >= 0 && s.cpu[sl.cpu].slab != id)
            fail(fmt::format("{}: a frozen slab is not its CPU's", s.name));
        if (sl.list == Slab::List::None && sl.cpu < 0 && !sl.free.empty())
            fail(fmt::format("{}: a slab with free objects is on no list", s.name));
        for (uint64_t i = 0; i < (uint64_t{1} << sl.order); i++) {
            const Page& p = (*k.mem_map)[sl.pfn + i];
            if (!p.test(PG_slab) || p.index != id)
                fail(fmt::format("{}: page {:#x} lost PG_slab", s.name, sl.pfn + i));
        }
        slabs[sl.cache][sl.node]++;
        objs[sl.cache][sl.node] += sl.objects;
        ((s.flags & SLAB_RECLAIM_ACCOUNT) ? reclaimable : unreclaimable)[sl.node] += int64_t{1} << sl.order;
    }
    for (const auto& sp : st.caches) {
        if (!sp) continue;
        const KmemCache& s = *sp;
        for (std::size_t n = 0; n < s.node.size(); n++) {
            if (s.node[n].nr_slabs != slabs[s.id][n] || s.node[n].total_objects != objs[s.id][n])
                fail(fmt::format("{}: node {} counts {} slabs / {} objects, has {} / {}", s.name, n,
                                 s.node[n].nr_slabs, s.node[n].total_objects, slabs[s.id][n], objs[s.id][n]));
            uint32_t count = 0;
            for (uint32_t id = s.node[n].partial.head; id != SLAB_NIL; id = st.slabs[id].next, count++)
                if (st.slabs[id].list != Slab::List::NodePartial ||
                    st.slabs[id].node != static_cast<int>(n) || st.slabs[id].cache != s.id)
                    fail(fmt::format("{}: node {}'s partial list holds a slab that is not its", s.name, n));
            if (count != s.node[n].partial.nr) fail(fmt::format("{}: nr_partial is wrong", s.name));
        }
        for (const auto& c : s.cpu) {
            uint32_t count = 0;
            for (uint32_t id = c.partial.head; id != SLAB_NIL; id = st.slabs[id].next, count++)
                if (st.slabs[id].list != Slab::List::CpuPartial || st.slabs[id].cache != s.id)
                    fail(fmt::format("{}: a cpu-partial list holds a slab that is not its", s.name));
            if (count != c.partial.nr) fail(fmt::format("{}: a cpu-partial count is wrong", s.name));
        }
    }
    validate_slab_track(k);
    for (std::size_t n = 0; n < k.nodes.size(); n++) {
        int64_t large = n < st.large_kmalloc_pages.size() ? st.large_kmalloc_pages[n] : 0;
        if (k.nodes[n].vm_stat[NR_SLAB_RECLAIMABLE] != reclaimable[n])
            fail(fmt::format("node {}: nr_slab_reclaimable {} but slabs hold {} pages", n,
                             k.nodes[n].vm_stat[NR_SLAB_RECLAIMABLE], reclaimable[n]));
        if (k.nodes[n].vm_stat[NR_SLAB_UNRECLAIMABLE] != unreclaimable[n] + large)
            fail(fmt::format("node {}: nr_slab_unreclaimable {} but slabs and large kmalloc hold {} pages", n,
                             k.nodes[n].vm_stat[NR_SLAB_UNRECLAIMABLE], unreclaimable[n] + large));
    }
}

}  // namespace mmsim
