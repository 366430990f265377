// The records of live slab objects and their call sites. The essay is in
// slab_track.h.
#include "mm/slab_track.h"

#include <fmt/format.h>

#include <stdexcept>

#include "mm/memmap.h"
#include "mm/page.h"
#include "mm/slub.h"

namespace mmsim {

std::vector<std::string_view> slab_call_frames(SlabCall call) {
    switch (call) {
        case SlabCall::KmemCacheAlloc:
            return {"kmem_cache_alloc_noprof"};
        case SlabCall::KmemCacheAllocNode:
            return {"kmem_cache_alloc_node_noprof"};
        case SlabCall::KmemCacheAllocBulk:
            return {"kmem_cache_alloc_bulk_noprof"};
        case SlabCall::Kmalloc:
            return {"__kmalloc_noprof"};
        case SlabCall::KmallocNode:
            return {"__kmalloc_node_noprof"};
        case SlabCall::KmallocLarge:
            return {"__kmalloc_large_node_noprof", "__kmalloc_noprof"};
        case SlabCall::Krealloc:
            return {"__kmalloc_node_track_caller_noprof", "krealloc_noprof"};
    }
    return {};
}

const char* slab_call_event(SlabCall call) {
    switch (call) {
        case SlabCall::KmemCacheAlloc:
        case SlabCall::KmemCacheAllocNode:
        case SlabCall::KmemCacheAllocBulk:
            return "kmem_cache_alloc";
        default:
            return "kmalloc";
    }
}

SlabTrack::SlabTrack() { m_nodes.push_back(Node{0, ~0u}); }

uint32_t SlabTrack::intern_frame(std::string_view frame) {
    auto [it, added] =
        m_frame_ids.try_emplace(std::string(frame), static_cast<uint32_t>(m_frame_names.size()));
    if (added) {
        m_frame_names.emplace_back(frame);
        m_memo_parent.push_back(~0u);
        m_memo_child.push_back(0);
    }
    return it->second;
}

uint32_t SlabTrack::child(uint32_t parent, uint32_t frame) {
    if (m_memo_parent[frame] == parent) return m_memo_child[frame];
    uint64_t key = uint64_t{parent} << 32 | frame;
    auto [it, added] = m_children.try_emplace(key, static_cast<uint32_t>(m_nodes.size()));
    if (added) m_nodes.push_back(Node{parent, frame});
    m_memo_parent[frame] = parent;
    m_memo_child[frame] = it->second;
    return it->second;
}

std::vector<std::string> SlabTrack::frames(uint32_t handle) const {
    std::vector<std::string> out;
    for (uint32_t h = handle; h != 0 && h < m_nodes.size(); h = m_nodes[h].parent)
        out.push_back(m_frame_names[m_nodes[h].frame]);
    return out;
}

SlabTrackSite::SlabTrackSite(Kernel& k, std::string_view frame) {
    if (!k.slab) return;
    m_track = &k.slab->track;
    m_saved = m_track->current();
    m_track->set_current(m_track->child(m_saved, m_track->intern_frame(frame)));
}

SlabTrackSite::SlabTrackSite(Kernel& k, uint32_t frame_id) {
    if (!k.slab) return;
    m_track = &k.slab->track;
    m_saved = m_track->current();
    m_track->set_current(m_track->child(m_saved, frame_id));
}

SlabTrackSite::SlabTrackSite(Kernel& k, const std::vector<std::string>& frames) {
    if (!k.slab) return;
    m_track = &k.slab->track;
    m_saved = m_track->current();
    uint32_t h = m_saved;
    for (const std::string& f : frames) h = m_track->child(h, m_track->intern_frame(f));
    m_track->set_current(h);
}

SlabTrackSite::~SlabTrackSite() {
    if (m_track) m_track->set_current(m_saved);
}

void validate_slab_track(const Kernel& k) {
    if (!k.slab) return;
    const SlabState& st = *k.slab;
    auto fail = [](const std::string& m) { throw std::logic_error("slab track: " + m); };
    // Which objects of each live slab are free.
    std::vector<std::vector<bool>> free(st.slabs.size());
    uint64_t in_use = 0;
    for (std::size_t id = 0; id < st.slabs.size(); id++) {
        const Slab& sl = st.slabs[id];
        if (sl.cache == SLAB_NIL) continue;
        free[id].assign(sl.objects, false);
        for (const auto* l : {&sl.free, &sl.cpu_free})
            for (uint16_t i : *l)
                if (i < sl.objects) free[id][i] = true;
        in_use += sl.inuse;
    }
    const MemMap& mm = *k.mem_map;
    uint64_t objects = 0;
    int64_t large_pages = 0;
    st.track.for_each([&](uint64_t addr, const SlabTrackRecord& r) {
        if (r.handle >= st.track.stack_count())
            fail(fmt::format("the record of {:#x} has no stack {}", addr, r.handle));
        uint64_t pfn = addr >= PAGE_OFFSET ? (addr - PAGE_OFFSET) >> PAGE_SHIFT : ~uint64_t{0};
        if (pfn >= mm.max_pfn()) fail(fmt::format("a record for {:#x}, outside the direct map", addr));
        const Page& p = mm[pfn];
        if (r.cache == ~0u) {
            if ((addr & (PAGE_SIZE - 1)) || !p.test(PG_large_kmalloc))
                fail(fmt::format("a large kmalloc record for {:#x}, which is no large kmalloc block", addr));
            large_pages += int64_t{1} << p.order;
            return;
        }
        if (!p.test(PG_slab) || p.index >= st.slabs.size() || st.slabs[p.index].cache != r.cache)
            fail(fmt::format("a record for {:#x} in cache {}, which holds no such slab", addr, r.cache));
        const Slab& sl = st.slabs[p.index];
        const KmemCache& s = *st.caches[sl.cache];
        uint64_t off = addr - pfn_to_virt(sl.pfn);
        if (off % s.size || off / s.size >= sl.objects)
            fail(fmt::format("{}: a record for {:#x}, which starts no object", s.name, addr));
        if (free[p.index][off / s.size])
            fail(fmt::format("{}: object {:#x} is free but has a record", s.name, addr));
        objects++;
    });
    // Each record names a distinct allocated object, so equal counts mean
    // every allocated object has one.
    if (objects != in_use) fail(fmt::format("{} objects are allocated but {} have records", in_use, objects));
    int64_t large = 0;
    for (int64_t n : st.large_kmalloc_pages) large += n;
    if (large != large_pages)
        fail(fmt::format("large kmalloc holds {} pages but its records cover {}", large, large_pages));
}

}  // namespace mmsim
