// The slab allocator's records of live objects (src/mm/slab_track.h): each
// allocation path leaves a record with its call site, sizes, cache and
// time, each free removes it, and validate_slab (with the track check)
// holds after every step.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "mm/memmap.h"
#include "mm/slab_object.h"
#include "mm/slub.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

std::unique_ptr<Kernel> boot() { return test::boot_ram(256ull << 20, 2); }

std::vector<std::string> frames_of(const Kernel& k, uint64_t addr) {
    const SlabTrackRecord* r = k.slab->track.find(addr);
    return r ? k.slab->track.frames(r->handle) : std::vector<std::string>{"<no record>"};
}

TEST(SlabTrack, BootObjectsAllHaveRecords) {
    // Boot allocates every cache's kmem_cache and kmem_cache_node objects;
    // each is recorded, and the records are exactly the allocated objects.
    auto k = boot();
    uint64_t in_use = 0;
    for (const auto& c : k->slab->caches)
        if (c) in_use += slab_objects_in_use(*c, *k->slab);
    EXPECT_EQ(k->slab->track.size(), in_use);
    validate_slab(*k);
    KmemCache& kc = *k->slab->kmem_cache;
    const KmemCache& dentry = *k->slab->dentry;
    const SlabTrackRecord* r = k->slab->track.find(dentry.self_object);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->cache, kc.id);
    EXPECT_EQ(r->bytes_req, kc.object_size);
    EXPECT_EQ(frames_of(*k, dentry.self_object),
              (std::vector<std::string>{"create_cache", "__kmem_cache_create_args", "start_kernel"}));
}

TEST(SlabTrack, KmemCacheAllocRecordsSiteSizeCacheAndTime) {
    auto k = boot();
    KmemCache& s = **kmem_cache_create(*k, "track_obj", 200, {});
    Nanos when = k->clock.now() + 5 * NSEC_PER_SEC;
    k->clock.advance_to(when);
    uint64_t a;
    {
        SlabTrackSite outer(*k, "my_probe");
        SlabTrackSite inner(*k, "my_setup");
        a = *kmem_cache_alloc(*k, s, GFP_KERNEL);
    }
    uint64_t b = *kmem_cache_alloc(*k, s, GFP_KERNEL, 0);  // the node variant, no site
    const SlabTrackRecord* r = k->slab->track.find(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ts, when);
    EXPECT_EQ(r->bytes_req, 200u);
    EXPECT_EQ(r->cache, s.id);
    EXPECT_EQ(r->call, SlabCall::KmemCacheAlloc);
    EXPECT_EQ(frames_of(*k, a), (std::vector<std::string>{"my_setup", "my_probe"}));
    EXPECT_EQ(k->slab->track.find(b)->call, SlabCall::KmemCacheAllocNode);
    EXPECT_TRUE(frames_of(*k, b).empty());
    EXPECT_EQ(k->slab->track.current(), 0u);  // the sites ended
    validate_slab(*k);
    kmem_cache_free(*k, s, a);
    EXPECT_EQ(k->slab->track.find(a), nullptr);
    EXPECT_NE(k->slab->track.find(b), nullptr);
    validate_slab(*k);
    kmem_cache_free(*k, s, b);
    validate_slab(*k);
}

TEST(SlabTrack, KmallocRecordsTheSizeAskedFor) {
    // trace_kmalloc(): bytes_req is the caller's size; bytes_alloc, the
    // cache's stride, is not stored but follows from the cache.
    auto k = boot();
    uint64_t a = *kmalloc(*k, 100, GFP_KERNEL);
    uint64_t b = *kmalloc(*k, 100, GFP_KERNEL, 0);
    const SlabTrackRecord* r = k->slab->track.find(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->bytes_req, 100u);
    EXPECT_EQ(k->slab->caches[r->cache]->name, "kmalloc-128");
    EXPECT_EQ(r->call, SlabCall::Kmalloc);
    EXPECT_EQ(k->slab->track.find(b)->call, SlabCall::KmallocNode);
    kfree(*k, a);
    kfree(*k, b);
    EXPECT_EQ(k->slab->track.find(a), nullptr);
    EXPECT_EQ(k->slab->track.find(b), nullptr);
    // kfree() of a kmem_cache object removes its record too.
    KmemCache& s = **kmem_cache_create(*k, "track_kfree", 64, {});
    uint64_t c = *kmem_cache_alloc(*k, s, GFP_KERNEL);
    kfree(*k, c);
    EXPECT_EQ(k->slab->track.find(c), nullptr);
    validate_slab(*k);
}

TEST(SlabTrack, LargeKmallocIsRecordedAndItsKfreeForgetsIt) {
    // Above 8 KiB kmalloc takes an order-3 block for 20 KiB; the record
    // names no cache.
    auto k = boot();
    uint64_t a;
    {
        SlabTrackSite site(*k, "my_fw_load");
        a = *kmalloc(*k, 20 << 10, GFP_KERNEL);
    }
    const SlabTrackRecord* r = k->slab->track.find(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->cache, ~0u);
    EXPECT_EQ(r->bytes_req, 20u << 10);
    EXPECT_EQ(r->call, SlabCall::KmallocLarge);
    EXPECT_EQ(frames_of(*k, a), std::vector<std::string>{"my_fw_load"});
    validate_slab(*k);
    kfree(*k, a);
    EXPECT_EQ(k->slab->track.find(a), nullptr);
    validate_slab(*k);
}

TEST(SlabTrack, KreallocInPlaceOrMoved) {
    auto k = boot();
    uint64_t a = *kmalloc(*k, 40, GFP_KERNEL);  // kmalloc-64
    // Within the object: the same address, the record asks for the new size.
    uint64_t b = *krealloc(*k, a, 60, GFP_KERNEL);
    EXPECT_EQ(a, b);
    EXPECT_EQ(k->slab->track.find(a)->bytes_req, 60u);
    EXPECT_EQ(k->slab->track.find(a)->call, SlabCall::Kmalloc);
    // Beyond it: a new object at krealloc's site, the old one freed.
    uint64_t c;
    {
        SlabTrackSite site(*k, "my_grow");
        c = *krealloc(*k, b, 300, GFP_KERNEL);
    }
    EXPECT_NE(c, b);
    EXPECT_EQ(k->slab->track.find(b), nullptr);
    const SlabTrackRecord* r = k->slab->track.find(c);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->bytes_req, 300u);
    EXPECT_EQ(r->call, SlabCall::Krealloc);
    EXPECT_EQ(frames_of(*k, c), std::vector<std::string>{"my_grow"});
    validate_slab(*k);
    // Large, then size 0: a kfree.
    uint64_t d = *krealloc(*k, c, 64 << 10, GFP_KERNEL);
    EXPECT_EQ(k->slab->track.find(d)->cache, ~0u);
    EXPECT_EQ(k->slab->track.find(c), nullptr);
    validate_slab(*k);
    EXPECT_EQ(*krealloc(*k, d, 0, GFP_KERNEL), 16u);  // ZERO_SIZE_PTR
    EXPECT_EQ(k->slab->track.find(d), nullptr);
    // A null address: a kmalloc.
    uint64_t e = *krealloc(*k, 0, 24, GFP_KERNEL);
    EXPECT_EQ(k->slab->track.find(e)->call, SlabCall::Krealloc);
    kfree(*k, e);
    validate_slab(*k);
}

TEST(SlabTrack, BulkAllocationAndFree) {
    auto k = boot();
    KmemCache& s = **kmem_cache_create(*k, "track_bulk", 512, {});
    std::size_t before = k->slab->track.size();
    std::vector<uint64_t> objs(100);
    ASSERT_EQ(kmem_cache_alloc_bulk(*k, s, GFP_KERNEL, objs.size(), objs.data()), objs.size());
    EXPECT_EQ(k->slab->track.size(), before + objs.size());
    for (uint64_t o : objs) {
        const SlabTrackRecord* r = k->slab->track.find(o);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->call, SlabCall::KmemCacheAllocBulk);
        EXPECT_EQ(r->cache, s.id);
    }
    validate_slab(*k);
    kmem_cache_free_bulk(*k, s, 60, objs.data());
    EXPECT_EQ(k->slab->track.size(), before + 40);
    validate_slab(*k);
    kmem_cache_free_bulk(*k, s, 40, objs.data() + 60);
    EXPECT_EQ(k->slab->track.size(), before);
    validate_slab(*k);
}

TEST(SlabTrack, SimulatorObjectsNameTheirKernelFunction) {
    // SlabObject stands for a structure the kernel allocates in a known
    // function: vm_area_alloc, and vm_area_dup for a copy.
    auto k = boot();
    SlabObject vma = SlabObject::alloc(*k, &SlabState::vm_area_struct);
    ASSERT_TRUE(vma);
    EXPECT_EQ(frames_of(*k, vma.address()), std::vector<std::string>{"vm_area_alloc"});
    SlabObject copy = vma;
    EXPECT_EQ(frames_of(*k, copy.address()), std::vector<std::string>{"vm_area_dup"});
    uint64_t addr = copy.address();
    copy.reset();
    EXPECT_EQ(k->slab->track.find(addr), nullptr);
    validate_slab(*k);
}

TEST(SlabTrack, ValidateCatchesAMissingOrStrayRecord) {
    auto k = boot();
    uint64_t a = *kmalloc(*k, 32, GFP_KERNEL);
    SlabTrackRecord saved = *k->slab->track.find(a);
    k->slab->track.forget(a);
    EXPECT_THROW(validate_slab(*k), std::logic_error);
    k->slab->track.record(a, saved.ts, saved.bytes_req, saved.cache, saved.call);
    validate_slab(*k);
    kfree(*k, a);
    // A record left behind for a freed object.
    k->slab->track.record(a, 0, 32, saved.cache, SlabCall::Kmalloc);
    EXPECT_THROW(validate_slab(*k), std::logic_error);
    k->slab->track.forget(a);
    validate_slab(*k);
}

TEST(SlabTrack, SitesShareStacksInTheDepot) {
    // The same frames give the same handle; a different parent a new one.
    auto k = boot();
    SlabTrack& t = k->slab->track;
    uint32_t f = t.intern_frame("my_fn"), g = t.intern_frame("my_caller");
    uint32_t h1 = t.child(0, f);
    uint32_t h2 = t.child(t.child(0, g), f);
    EXPECT_EQ(t.child(0, f), h1);
    EXPECT_NE(h1, h2);
    EXPECT_EQ(t.child(t.child(0, g), f), h2);
    EXPECT_EQ(t.frames(h2), (std::vector<std::string>{"my_fn", "my_caller"}));
    EXPECT_EQ(t.intern_frame("my_fn"), f);
}

}  // namespace
}  // namespace mmsim
