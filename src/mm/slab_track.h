// Who allocated each live slab object: the record behind the kmem
// tracepoints (mm/slub.c's struct track and set_track(); the kmalloc,
// kmem_cache_alloc, kfree and kmem_cache_free events of
// include/trace/events/kmem.h).
//
// A kernel developer hunting a leak of kernel memory asks which code holds
// the objects nobody freed. The kernel can answer in two ways. Booted with
// slub_debug=U (SLAB_STORE_USER), SLUB keeps a `struct track` in each
// object's metadata: the caller's address, a stack-depot handle, the CPU,
// the pid and the time of the last allocation and free. Without it, a
// tracer attaches to the kmem tracepoints: every kmalloc reports
// (call_site, ptr, bytes_req, bytes_alloc, gfp), every kmem_cache_alloc the
// same with the cache, every kfree and kmem_cache_free the pointer; bcc's
// memleak keeps a table of the pointers not freed yet, with the size and
// the kernel stack of the event.
//
// The simulator keeps that table itself, always: one record per allocated
// object, made by kmem_cache_alloc, kmalloc (also above 8 KiB, where it
// takes pages) and the bulk and krealloc paths, removed by the free that
// ends the object. A record holds what the tracepoint knows:
//
//   address -> { time, call-site handle, bytes_req, cache id, which call }
//
// bytes_alloc is not stored: it is the cache's stride (s->size), or
// PAGE_SIZE << order for a large kmalloc. The call site is a handle into a
// small stack depot: a trie of frames, each node a (parent, frame) pair, so
// pushing a frame is one array probe in the common case and walking a
// handle up to the root yields the frames innermost first, as a stack
// trace prints them. The frames are what the code above the allocator named
// with SlabTrackSite: the scenario command and its at= frames, or the
// kernel function a simulator structure stands for (dup_task_struct,
// vm_area_alloc, __d_alloc, ...).
//
// Cost: the allocator's fast paths pay one insertion and one erasure in an
// open-addressing table keyed by address (SlabTrackTable: linear probing
// and backward-shift deletion as libc::AddrMap, with each key beside its
// record), no allocation of nodes. validate_slab_track()
// (called from validate_slab) checks that records and allocated objects
// are the same set.
//
// Not modelled: the free half of struct track (who freed an object last),
// the CPU and pid of the allocation, return addresses and offsets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mmsim/types.h"

namespace mmsim {

class Kernel;
struct SlabState;

// Which allocation call made an object: it decides the allocator's own
// frames at the bottom of the stack (the function the tracepoint fires in).
enum class SlabCall : uint8_t {
    KmemCacheAlloc,      // kmem_cache_alloc_noprof
    KmemCacheAllocNode,  // kmem_cache_alloc_node_noprof
    KmemCacheAllocBulk,  // kmem_cache_alloc_bulk_noprof (no tracepoint fires)
    Kmalloc,             // __kmalloc_noprof
    KmallocNode,         // __kmalloc_node_noprof
    KmallocLarge,        // __kmalloc_large_node_noprof (pages, above 8 KiB)
    Krealloc,            // krealloc_noprof's new object
};

// The frames the allocator itself adds for a call, innermost first.
std::vector<std::string_view> slab_call_frames(SlabCall call);
// kmalloc or kmem_cache_alloc: the tracepoint that reports the call.
const char* slab_call_event(SlabCall call);

// The record of one live object.
struct SlabTrackRecord {
    Nanos ts = 0;            // simulated time of the allocation
    uint32_t handle = 0;     // the call site (SlabTrack stack depot); 0: no frames
    uint32_t bytes_req = 0;  // what the caller asked for
    uint32_t cache = ~0u;    // KmemCache::id; ~0u: a large kmalloc (pages)
    SlabCall call = SlabCall::KmemCacheAlloc;
};

// The records by object address: an open-addressing table with linear
// probing and backward-shift deletion, as libc::AddrMap, but with each key
// beside its record (one cache line per probe, not two) and nothing
// written to a value on erasure: a free of a cold object costs one miss.
class SlabTrackTable {
public:
    SlabTrackTable() { reset(kInitial); }

    SlabTrackRecord* find(uint64_t key) {
        for (uint64_t i = slot(key);; i = (i + 1) & m_mask) {
            if (m_slots[i].key == key) return &m_slots[i].rec;
            if (m_slots[i].key == kEmpty) return nullptr;
        }
    }
    const SlabTrackRecord* find(uint64_t key) const { return const_cast<SlabTrackTable*>(this)->find(key); }

    void put(uint64_t key, const SlabTrackRecord& rec) {
        for (uint64_t i = slot(key);; i = (i + 1) & m_mask) {
            Entry& e = m_slots[i];
            if (e.key == kEmpty) {
                e.key = key;
                e.rec = rec;
                if (++m_used * 2 > m_slots.size()) [[unlikely]]
                    grow();
                return;
            }
            if (e.key == key) {
                e.rec = rec;
                return;
            }
        }
    }

    bool erase(uint64_t key) {
        uint64_t i = slot(key);
        for (;; i = (i + 1) & m_mask) {
            if (m_slots[i].key == kEmpty) return false;
            if (m_slots[i].key == key) break;
        }
        // Pull later entries of the probe run into the hole unless their
        // home slot lies cyclically after the hole.
        for (uint64_t j = (i + 1) & m_mask;; j = (j + 1) & m_mask) {
            uint64_t kj = m_slots[j].key;
            if (kj == kEmpty) break;
            uint64_t home = slot(kj);
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            m_slots[i] = m_slots[j];
            i = j;
        }
        m_slots[i].key = kEmpty;
        m_used--;
        return true;
    }

    std::size_t size() const { return m_used; }

    template <class F>
    void for_each(F&& f) const {
        for (const Entry& e : m_slots)
            if (e.key != kEmpty) f(e.key, e.rec);
    }

private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    static constexpr std::size_t kInitial = 1024;
    struct alignas(32) Entry {
        uint64_t key = kEmpty;
        SlabTrackRecord rec;
    };

    // The address in 16-byte units times 2^64/phi, bits 24 and up: what
    // libc::AddrMap uses. The top bits (Fibonacci hashing proper) cluster
    // slab addresses, arithmetic progressions of the stride, badly.
    uint64_t slot(uint64_t key) const { return ((key >> 4) * 0x9E3779B97F4A7C15ull >> 24) & m_mask; }
    void reset(std::size_t n) {
        m_slots.assign(n, Entry{});
        m_mask = n - 1;
        m_used = 0;
    }
    void grow() {
        std::vector<Entry> old;
        old.swap(m_slots);
        reset(old.size() * 2);
        for (const Entry& e : old)
            if (e.key != kEmpty) put(e.key, e.rec);
    }

    std::vector<Entry> m_slots;
    uint64_t m_mask = 0;
    std::size_t m_used = 0;
};

// The records and the stack depot of call sites: SlabState::track.
class SlabTrack {
public:
    SlabTrack();

    // The fast paths: a record for a new object at the current call site,
    // and its removal.
    void record(uint64_t addr, Nanos now, uint32_t bytes_req, uint32_t cache, SlabCall call) {
        m_records.put(addr, SlabTrackRecord{now, m_current, bytes_req, cache, call});
    }
    bool forget(uint64_t addr) { return m_records.erase(addr); }

    const SlabTrackRecord* find(uint64_t addr) const { return m_records.find(addr); }
    SlabTrackRecord* find(uint64_t addr) { return m_records.find(addr); }
    std::size_t size() const { return m_records.size(); }
    template <class F>
    void for_each(F&& f) const {
        m_records.for_each(f);
    }

    // The stack depot. A frame is interned once ("vm_area_alloc", or
    // "kmalloc [scenario]" naming its module); handle 0 is the empty stack.
    uint32_t intern_frame(std::string_view frame);
    // The stack of `parent` with `frame` (an interned id) called from it.
    uint32_t child(uint32_t parent, uint32_t frame);
    // A handle's frames, innermost first.
    std::vector<std::string> frames(uint32_t handle) const;
    uint32_t current() const { return m_current; }
    void set_current(uint32_t handle) { m_current = handle; }
    std::size_t stack_count() const { return m_nodes.size(); }

private:
    struct Node {
        uint32_t parent;
        uint32_t frame;
    };
    SlabTrackTable m_records;
    std::vector<std::string> m_frame_names;
    std::unordered_map<std::string, uint32_t> m_frame_ids;
    std::vector<Node> m_nodes;  // by handle; m_nodes[0] is the root
    std::unordered_map<uint64_t, uint32_t> m_children;
    // The last child found for each frame id: SlabObject pushes the same
    // frame on the same stack again and again.
    std::vector<uint32_t> m_memo_parent, m_memo_child;
    uint32_t m_current = 0;
};

// Names the code that allocates slab objects while it lives: the frame is
// the innermost of the call site of every object allocated meanwhile.
// Nests; does nothing on a kernel without the slab allocator.
class SlabTrackSite {
public:
    SlabTrackSite(Kernel& k, std::string_view frame);
    SlabTrackSite(Kernel& k, uint32_t frame_id);  // an interned frame
    // Several frames, outermost first.
    SlabTrackSite(Kernel& k, const std::vector<std::string>& frames);
    ~SlabTrackSite();
    SlabTrackSite(const SlabTrackSite&) = delete;
    SlabTrackSite& operator=(const SlabTrackSite&) = delete;

private:
    SlabTrack* m_track = nullptr;
    uint32_t m_saved = 0;
};

// Every record is an allocated object (of the cache it names, or a large
// kmalloc block) and every allocated object has a record.
void validate_slab_track(const Kernel& k);

}  // namespace mmsim
