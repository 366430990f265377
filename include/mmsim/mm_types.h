// The page descriptor: one per simulated 4 KiB frame.
//
// The kernel's struct page is 64 bytes; ours must stay at or under 28 so
// that, with the pageblock bits and section tables around it, a simulated
// page costs at most 32 host bytes (64 GiB simulated in 512 MiB, DESIGN.md
// section 6). Links
// are 32-bit PFNs, not pointers, so lists cost 8 bytes and the array can be
// an anonymous mapping whose untouched parts cost nothing: booting a 1 TiB
// machine only writes the descriptors of the head pages it frees.
//
// A descriptor that was never written is all zeroes, and all zeroes means
// "an ordinary page that is not free": the allocator only trusts PG_buddy on
// the first page of a free block, exactly like the kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mmsim {

inline constexpr uint32_t PFN_NIL = 0xffffffffu;

// Page flags (a subset of enum pageflags, with our own bit numbers).
enum PageFlag : uint16_t {
    PG_buddy = 1u << 0,           // first page of a free block on a buddy free list
    PG_head = 1u << 1,            // first page of a compound allocation
    PG_tail = 1u << 2,            // later page of a compound allocation
    PG_reserved = 1u << 3,        // never given to the buddy allocator (memblock reserved)
    PG_pcp = 1u << 4,             // on a per-CPU free list (kernel: page->pcp_list)
    PG_hole = 1u << 5,            // no RAM behind this pfn (a hole inside a zone's span)
    PG_anon = 1u << 6,            // mapping names an AnonVma (kernel: PAGE_MAPPING_ANON bit)
    PG_pgtable = 1u << 7,         // a page-table page; index is its host table slot (ptdesc)
    PG_zero = 1u << 8,            // the shared zero page (never freed, never counted in RSS)
    PG_dirty = 1u << 9,           // contents differ from backing store
    PG_uptodate = 1u << 10,       // contents valid (page-cache pages after read)
    PG_swapbacked = 1u << 11,     // anon or shmem: backed by swap, not by a file
    PG_mlocked = 1u << 12,        // mapped by a VM_LOCKED vma
    PG_slab = 1u << 13,           // part of a slab; index is the slab's id (src/mm/slub.h)
    PG_large_kmalloc = 1u << 14,  // head of a kmalloc above 8 KiB (the kernel's page type)
    PG_readahead = 1u << 15,      // brought in by readahead, not yet used (swap_update_readahead)
};

// The folio's reclaim state (more of enum pageflags). It lives in the byte
// that holds the migratetype of the free list while the page is free (`mt`
// below): an allocated page has no free-list migratetype, and the
// allocator clears the byte when it hands a page out (prep_new_page()), as
// the kernel's allocator clears these bits. They must be clear again when
// the page is freed: free_pages_prepare() would call a page with PG_lru a
// bad page; here __folio_put() takes the page off its list first.
enum FolioFlag : uint8_t {
    PG_lru = 1u << 0,          // on one of its node's LRU lists
    PG_active = 1u << 1,       // on an active list (or to go there)
    PG_referenced = 1u << 2,   // accessed once since the last scan (folio_mark_accessed)
    PG_workingset = 1u << 3,   // was active, or refaulted soon after eviction
    PG_unevictable = 1u << 4,  // on the unevictable list (mlocked)
    PG_swapcache = 1u << 5,    // in the swap cache (its slot is in SwapCache, swap_state.h)
    PG_writeback = 1u << 6,    // being written to its backing store
    PG_reclaim = 1u << 7,      // reclaim wants it freed when writeback ends
};

struct Page {
    uint32_t next = 0;  // free, pcp or LRU list link; valid only while on a list
    uint32_t prev = 0;
    uint16_t flags = 0;
    uint8_t order = 0;  // buddy order if PG_buddy or PG_pcp; compound order if PG_head
    // While free: the migratetype of the list the page sits on (buddy or
    // pcp). While allocated: the FolioFlag bits.
    uint8_t mt = 0;
    uint32_t refcount = 0;
    // Page-table entries that map this page (the kernel's _mapcount + 1,
    // so 0 means unmapped).
    int32_t mapcount = 0;
    // What owns the page's contents: 0 for nothing; with PG_anon the id of
    // an AnonVma, otherwise the id of a file's AddressSpace (src/mm/rmap.h,
    // src/mm/filemap.h). Ids, not pointers, to keep the descriptor small.
    uint32_t mapping = 0;
    // The page's offset in its mapping, in pages. For anonymous pages it is
    // the linear index vma->vm_pgoff + (addr - vm_start) / PAGE_SIZE kept
    // modulo 2^32: rmap compares it modulo 2^32 too, which is exact for any
    // VMA smaller than 16 TiB. For a page-table page, its host table slot.
    uint32_t index = 0;

    bool test(PageFlag f) const { return (flags & f) != 0; }
    void set(PageFlag f) { flags = static_cast<uint16_t>(flags | f); }
    void clear(PageFlag f) { flags = static_cast<uint16_t>(flags & ~f); }
    bool test(FolioFlag f) const { return (mt & f) != 0; }
    void set(FolioFlag f) { mt = static_cast<uint8_t>(mt | f); }
    void clear(FolioFlag f) { mt = static_cast<uint8_t>(mt & ~f); }

    // flags, order and mt side by side, read or written as one 32-bit word
    // (flags in bits 0-15, order in 16-23, mt in 24-31): the allocator
    // changes all three at once, and one store beats three.
    static constexpr uint32_t state(uint32_t flags, uint32_t order, uint32_t mt) {
        return flags | order << 16 | mt << 24;
    }
    // next and prev in one store.
    void set_links(uint32_t n, uint32_t p) {
        uint64_t links = n | uint64_t{p} << 32;
        std::memcpy(reinterpret_cast<char*>(this) + offsetof(Page, next), &links, sizeof(links));
    }
    uint32_t state_word() const {
        uint32_t w;
        std::memcpy(&w, reinterpret_cast<const char*>(this) + offsetof(Page, flags), sizeof(w));
        return w;
    }
    void set_state_word(uint32_t w) {
        std::memcpy(reinterpret_cast<char*>(this) + offsetof(Page, flags), &w, sizeof(w));
    }
};

static_assert(sizeof(Page) <= 28, "a page descriptor must stay within 28 bytes");
static_assert(offsetof(Page, prev) == offsetof(Page, next) + 4, "set_links() writes next, then prev");
static_assert(offsetof(Page, order) == offsetof(Page, flags) + 2 &&
                  offsetof(Page, mt) == offsetof(Page, flags) + 3,
              "the state word is flags, order and mt in that order");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Page::state_word() assumes a little-endian host");

}  // namespace mmsim
