// One kernel object the simulator creates, charged to its slab cache.
//
// When the simulated kernel makes a task, an mm, a VMA, an anon_vma or a
// dentry, the real kernel would take an object from a slab cache
// (task_struct, mm_struct, vm_area_struct, ...), and /proc/slabinfo,
// Slab, SReclaimable and SUnreclaim show it. A SlabObject member in the
// simulator's own struct holds that object for as long as the struct
// lives: made with SlabObject::alloc(), freed to its cache when the struct
// is destroyed. Copying a struct that owns one allocates a new object from
// the same cache, which is what the kernel does when it duplicates the
// thing (vm_area_dup() for a split or forked VMA); moving hands the object
// over. The object's record (slab_track.h) names the kernel function that
// allocates such a thing (KmemCache::alloc_frame: dup_task_struct,
// vm_area_alloc, __d_alloc, ...; dup_frame for a copy: vm_area_dup).
//
// A kernel booted without the slab allocator (MachineDesc::slab = false,
// for tests that pin page-level numbers) charges nothing: alloc() gives an
// empty SlabObject. So does a failed allocation, which only happens when
// the page allocator has nothing left for a slab; the caller has already
// got its memory from the page allocator's point of view, and the kernel
// would be in the OOM killer.
#pragma once

#include <cstdint>

#include "mmsim/gfp.h"

namespace mmsim {

class Kernel;
struct KmemCache;
struct SlabState;

class SlabObject {
public:
    SlabObject() = default;
    // An object of the cache st.*which (one of SlabState's named caches);
    // empty when the kernel has no slab allocator or no memory for it.
    static SlabObject alloc(Kernel& k, KmemCache* SlabState::*which, gfp_t gfp = GFP_KERNEL);
    SlabObject(const SlabObject& o);
    SlabObject& operator=(const SlabObject& o);
    SlabObject(SlabObject&& o) noexcept : m_k(o.m_k), m_cache(o.m_cache), m_addr(o.m_addr) { o.m_addr = 0; }
    SlabObject& operator=(SlabObject&& o) noexcept;
    ~SlabObject() {
        if (m_addr) release();
    }
    uint64_t address() const { return m_addr; }
    explicit operator bool() const { return m_addr != 0; }
    void reset() {
        if (m_addr) release();
    }

private:
    void release();
    Kernel* m_k = nullptr;
    KmemCache* m_cache = nullptr;
    uint64_t m_addr = 0;
};

}  // namespace mmsim
