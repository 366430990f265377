// The memmap: one Page descriptor per page frame, indexed by pfn.
//
// Linux keeps struct pages in a virtually contiguous array (vmemmap) so
// pfn_to_page() is an addition. Ours is nearly the same: anonymous host
// memory that the host kernel hands out zeroed on first touch, so a
// descriptor costs host memory only once the simulation writes it. Two
// things keep a big machine's boot from touching most of that memory:
//
//  - Chunk heads live apart. Boot frees memory in MAX_PAGE_ORDER blocks and
//    writes only their first descriptors, one every 1024 pfns, which in a
//    plain array would be one host page out of every seven (28 KiB apart).
//    So the descriptor of every pfn that is a multiple of 1024 sits in a
//    dense array of its own; the other 1023 stay in place. A 1 TiB machine
//    then writes 7 MiB of descriptors at boot instead of faulting in 1 GiB.
//    Descriptors are therefore not contiguous: always index by pfn, never
//    step a Page* to the next pfn.
//  - Ranges that boot marks wholesale (holes, reserved memory) share a
//    pre-written template mapped copy-on-write over whole chunks: they read
//    as marked and cost host memory only when read or written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmsim/mm_types.h"
#include "mmsim/types.h"

namespace mmsim {

struct Zone;

// The two arrays, copied into registers: what hot loops index with, so
// that their stores to descriptors do not make the compiler reload the
// MemMap's pointers.
struct PageView {
    Page* pages;
    Page* heads;
    Page& operator[](uint64_t pfn) const {
        return (pfn & (MAX_ORDER_NR_PAGES - 1)) ? pages[pfn] : heads[pfn >> MAX_PAGE_ORDER];
    }
    // A pfn known not to be a multiple of MAX_ORDER_NR_PAGES (the upper
    // half of a split block below MAX_PAGE_ORDER, say): no head check.
    Page& body(uint64_t pfn) const { return pages[pfn]; }
};

class MemMap {
public:
    explicit MemMap(uint64_t max_pfn);
    ~MemMap();
    MemMap(const MemMap&) = delete;
    MemMap& operator=(const MemMap&) = delete;

    Page& operator[](uint64_t pfn) { return (pfn & kChunkMask) ? m_pages[pfn] : m_heads[pfn >> kChunkShift]; }
    const Page& operator[](uint64_t pfn) const {
        return (pfn & kChunkMask) ? m_pages[pfn] : m_heads[pfn >> kChunkShift];
    }
    Page& at(Pfn pfn) { return (*this)[pfn.value]; }
    PageView view() const { return {m_pages, m_heads}; }
    uint64_t max_pfn() const { return m_max_pfn; }
    // Host bytes of descriptor storage reserved (not all of it is touched).
    std::size_t bytes() const { return m_bytes; }

    // Boot only, before the allocator writes anything: sets flag f on every
    // descriptor of [start, end). Whole chunks that nothing has written yet
    // get the shared template instead of being written one by one.
    void init_flag_range(uint64_t start, uint64_t end, PageFlag f);

    // The page allocator's pageblock table. The kernel reads a page's zone
    // from page->flags and its pageblock's migratetype from a bitmap beside
    // the memmap; the allocator's free path here gets both with one load:
    // per pageblock, the address of the zone that holds the whole pageblock
    // with the pageblock's migratetype in its low three bits (zones are
    // 8-aligned). 0 for a pageblock in no zone or shared by two zones,
    // which page_zone() sorts out. The zones' pageblock_flags stay the
    // record: set_pageblock_migratetype() writes both, and
    // validate_page_alloc() checks that they agree.
    static constexpr uintptr_t kPageblockMtMask = 7;
    uintptr_t pageblock_entry(uint64_t pfn) const {
        uint64_t b = pfn >> pageblock_order;
        return b < m_nr_pageblocks ? m_pageblock_table[b] : 0;
    }
    static Zone* entry_zone(uintptr_t e) { return reinterpret_cast<Zone*>(e & ~kPageblockMtMask); }
    static unsigned entry_migratetype(uintptr_t e) { return static_cast<unsigned>(e & kPageblockMtMask); }
    uint64_t nr_pageblocks() const { return m_nr_pageblocks; }
    uintptr_t& pageblock_slot(uint64_t block) { return m_pageblock_table[block]; }

private:
    static constexpr unsigned kChunkShift = MAX_PAGE_ORDER;
    static constexpr uint64_t kChunkPages = uint64_t{1} << kChunkShift;
    static constexpr uint64_t kChunkMask = kChunkPages - 1;
    static constexpr std::size_t kChunkBytes = kChunkPages * sizeof(Page);
    // Chunks one template covers, so one mapping serves a run this long.
    static constexpr uint64_t kTemplateChunks = 16;

    // What boot has done to a chunk's in-place descriptors.
    enum ChunkState : uint8_t { Untouched, Written, Template };
    void map_template(uint64_t first_chunk, uint64_t nr_chunks, uint16_t flags);
    int template_fd(uint16_t flags);

    Page* m_pages = nullptr;
    Page* m_heads = nullptr;
    uint64_t m_max_pfn = 0;
    std::size_t m_bytes = 0;
    std::size_t m_body_bytes = 0;
    std::vector<uint8_t> m_chunk_state;
    std::vector<uint16_t> m_chunk_flags;                // the template's flags, for Template chunks
    std::vector<std::pair<uint16_t, int>> m_templates;  // flags -> memfd
    std::vector<uintptr_t> m_pageblocks;                // the pageblock table's storage
    uintptr_t* m_pageblock_table = nullptr;
    uint64_t m_nr_pageblocks = 0;
};

}  // namespace mmsim
