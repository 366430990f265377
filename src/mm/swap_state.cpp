// The swap cache (mm/swap_state.c): the page-cache of swap slots.
//
// When reclaim decides to swap an anonymous page out, it first gives the
// page a slot (folio_alloc_swap) and puts it in the swap cache: a map from
// slot to page, like a file's page cache with the swap device as the file.
// Only then does it replace the page-table entries by swap entries naming
// the slot (try_to_unmap), write the page (swap_writeout) and, when the
// write is done and nothing else holds the page, free it, leaving in the
// slot a shadow entry that remembers when it was evicted (workingset.cpp).
//
// Why the detour: between those steps, and for as long as the page stays
// cached after the write, a fault on any of the swap entries finds the
// page in the cache and just maps it again (a minor fault, no I/O); so do
// the other processes that share the slot after fork. A swap cache page is
// counted in NR_FILE_PAGES and in NR_SWAPCACHE, which is why meminfo's
// Cached subtracts SwapCached.
//
// A page leaves the cache when reclaim frees it (with a shadow), when the
// last entry referencing its slot goes and the cache is all that holds the
// slot (free_swap_and_cache, folio_free_swap), or when a write fault on it
// finds it exclusive (do_swap_page's should_try_to_free_swap): then the
// slot is freed and the page, now the only copy, is dirty.
//
// The slot side (SWAP_HAS_CACHE in swap_map) is swapfile.cpp's; the folio
// side (PG_swapcache and the slot a folio caches) is kept here, in hash
// maps beside the memmap: the 28-byte page descriptor has no room for the
// kernel's folio->swap.
#include "mm/swap_state.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "mm/mm.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/swap.h"
#include "mm/vmstat.h"

namespace mmsim {

SwapCache& swap_cache(Kernel& k) {
    if (!k.swap_cache) k.swap_cache = std::make_unique<SwapCache>();
    return *k.swap_cache;
}

MaybePfn swap_cache_get_folio(Kernel& k, SwpEntry e) {
    if (!k.swap_cache) return std::nullopt;
    auto it = k.swap_cache->folio_of.find(e.val);
    if (it == k.swap_cache->folio_of.end()) return std::nullopt;
    return Pfn(it->second);
}

SwpEntry folio_swap_entry(Kernel& k, Pfn pfn) {
    auto& c = swap_cache(k);
    auto it = c.entry_of.find(static_cast<uint32_t>(pfn.value));
    if (it == c.entry_of.end())
        throw std::logic_error("folio_swap_entry: pfn " + std::to_string(pfn.value) +
                               " is not in the swap cache");
    return SwpEntry{it->second};
}

uint64_t swap_cache_get_shadow(Kernel& k, SwpEntry e) {
    if (!k.swap_cache) return 0;
    auto it = k.swap_cache->shadow_of.find(e.val);
    return it == k.swap_cache->shadow_of.end() ? 0 : it->second;
}

void swap_cache_add_folio(Kernel& k, Pfn pfn, SwpEntry e) {
    auto& c = swap_cache(k);
    Page& p = page_of(k, pfn);
    c.folio_of[e.val] = static_cast<uint32_t>(pfn.value);
    c.entry_of[static_cast<uint32_t>(pfn.value)] = e.val;
    c.shadow_of.erase(e.val);
    p.set(PG_swapcache);
    p.refcount++;
    PglistData& n = k.nodes[pfn_zone(k, pfn).node];
    mod_node_page_state(n, NR_FILE_PAGES, 1);
    mod_node_page_state(n, NR_SWAPCACHED, 1);
}

void swap_cache_del_folio(Kernel& k, Pfn pfn, uint64_t shadow) {
    auto& c = swap_cache(k);
    Page& p = page_of(k, pfn);
    const SwpEntry e = folio_swap_entry(k, pfn);
    c.folio_of.erase(e.val);
    c.entry_of.erase(static_cast<uint32_t>(pfn.value));
    p.clear(PG_swapcache);
    p.refcount--;
    PglistData& n = k.nodes[pfn_zone(k, pfn).node];
    mod_node_page_state(n, NR_FILE_PAGES, -1);
    mod_node_page_state(n, NR_SWAPCACHED, -1);
    // The shadow first: put_swap_folio() may free the slot, and a freed
    // slot's shadow is cleared by the range_free hook.
    if (shadow) c.shadow_of[e.val] = shadow;
    put_swap_folio(k, e);
}

bool add_to_swap(Kernel& k, Pfn pfn) {
    auto slot = folio_alloc_swap(k);
    if (!slot) return false;
    swap_cache_add_folio(k, pfn, *slot);
    // The copy in swap is not written yet: the folio is dirty until it is.
    page_of(k, pfn).set(PG_dirty);
    return true;
}

bool folio_free_swap(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_swapcache) || p.test(PG_writeback)) return false;
    const SwpEntry e = folio_swap_entry(k, pfn);
    if (swap_entry_swapped(k, e)) return false;
    swap_cache_del_folio(k, pfn, 0);
    p.set(PG_dirty);
    return true;
}

namespace {

// __read_swap_cache_async(): the folio caching the slot, found or newly
// allocated, added to the cache (with the slot's shadow judged by
// workingset_refault()) and to the LRU; *allocated says whether the caller
// must read it. Nothing for a slot no one references any more. The folio
// comes with a reference for the caller.
MaybePfn read_swap_cache_async(Kernel& k, SwpEntry e, bool* allocated) {
    *allocated = false;
    if (!swap_entry_swapped(k, e)) return std::nullopt;
    if (MaybePfn hit = swap_cache_get_folio(k, e)) {
        page_of(k, *hit).refcount++;
        return hit;
    }
    MaybePfn pfn = alloc_pages(k, GFP_HIGHUSER_MOVABLE, 0);
    if (!pfn) return std::nullopt;
    Page& p = page_of(k, *pfn);
    p.refcount = 1;
    if (swapcache_prepare(k, e) != 0) {
        free_pages(k, *pfn, 0);
        return std::nullopt;
    }
    p.set(PG_swapbacked);
    const uint64_t shadow = swap_cache_get_shadow(k, e);
    swap_cache_add_folio(k, *pfn, e);
    if (shadow) workingset_refault(k, *pfn, shadow);
    folio_add_lru(k, *pfn);
    *allocated = true;
    return pfn;
}

// __swapin_nr_pages(): the readahead window from the hits of the last one.
unsigned swapin_nr_pages_for(uint64_t prev_offset, uint64_t offset, unsigned hits, unsigned max_pages,
                             unsigned prev_win) {
    unsigned pages = hits + 2;
    if (pages == 2) {
        // No hits to judge by: read ahead only when this fault follows
        // the last one.
        if (offset != prev_offset + 1 && offset != prev_offset - 1) pages = 1;
    } else {
        unsigned roundup = 4;
        while (roundup < pages) roundup <<= 1;
        pages = roundup;
    }
    if (pages > max_pages) pages = max_pages;
    // The window shrinks by at most half at a time.
    if (pages < prev_win / 2) pages = prev_win / 2;
    return pages;
}

// One slot read ahead (or the target): read if newly allocated, marked
// readahead unless it is the target, its reference dropped unless it is
// the target.
void readahead_one(Kernel& k, SwpEntry e, bool target) {
    bool allocated = false;
    MaybePfn pfn = read_swap_cache_async(k, e, &allocated);
    if (!pfn) return;
    if (allocated) {
        swap_read_folio(k, *pfn, e);
        if (!target) {
            page_of(k, *pfn).set(PG_readahead);
            k.count_event(SWAP_RA);
        }
    }
    page_of(k, *pfn).refcount--;
}

// swap_use_vma_readahead(): readahead by address unless a rotational
// device is swapped on (vm_ra_enabled is always true here).
bool swap_use_vma_readahead(const Kernel& k) { return !k.swap || k.swap->nr_rotate_swap == 0; }

constexpr unsigned kSwapRaOrderCeiling = 5;  // SWAP_RA_ORDER_CEILING
constexpr unsigned kSwapRaHitsMax = 63;      // SWAP_RA_HITS_MAX

}  // namespace

void swap_update_readahead(Kernel& k, Pfn pfn, Vma* vma, uint64_t addr) {
    Page& p = page_of(k, pfn);
    const bool readahead = p.test(PG_readahead);
    p.clear(PG_readahead);
    const bool vma_ra = swap_use_vma_readahead(k);
    if (vma && vma_ra) {
        unsigned hits = vma->swap_ra_hits;
        if (readahead) hits = std::min(hits + 1, kSwapRaHitsMax);
        vma->swap_ra_addr = addr & ~(PAGE_SIZE - 1);
        vma->swap_ra_hits = hits;
    }
    if (readahead) {
        k.count_event(SWAP_RA_HIT);
        if (!vma || !vma_ra) swap_cache(k).swapin_readahead_hits++;
    }
}

MaybePfn swapin_readahead(Kernel& k, SwpEntry e, MmStruct& mm, Vma& vma, uint64_t addr) {
    SwapCache& c = swap_cache(k);
    const unsigned cluster = static_cast<unsigned>(std::max(0, k.vm.page_cluster));
    const bool vma_ra = swap_use_vma_readahead(k);
    if (vma_ra) {
        // swap_vma_readahead() with swap_vma_ra_win().
        const unsigned max_win = 1u << std::min(cluster, kSwapRaOrderCeiling);
        const uint64_t faddr = addr & ~(PAGE_SIZE - 1);
        unsigned win = 1;
        if (max_win > 1) {
            const uint64_t prev = vma.swap_ra_addr;
            win = swapin_nr_pages_for(prev >> PAGE_SHIFT, faddr >> PAGE_SHIFT, vma.swap_ra_hits, max_win,
                                      vma.swap_ra_win);
            vma.swap_ra_addr = faddr;
            vma.swap_ra_win = win;
            vma.swap_ra_hits = 0;
            if (win > 1) {
                uint64_t left;
                if (faddr == prev + PAGE_SIZE)
                    left = faddr;
                else if (prev == faddr + PAGE_SIZE)
                    left = faddr - (uint64_t{win} << PAGE_SHIFT) + PAGE_SIZE;
                else
                    left = faddr - (uint64_t{(win - 1) / 2} << PAGE_SHIFT);
                const uint64_t right = left + (uint64_t{win} << PAGE_SHIFT);
                if (static_cast<int64_t>(left) < 0) left = 0;
                const uint64_t pmd = faddr & ~((uint64_t{1} << 21) - 1);
                const uint64_t start = std::max({left, vma.vm_start, pmd});
                const uint64_t end = std::min({right, vma.vm_end, pmd + (uint64_t{1} << 21)});
                for (uint64_t a = start; a < end; a += PAGE_SIZE) {
                    const uint64_t* pte = pte_lookup(k, mm, a);
                    if (!pte || !is_swap_pte(*pte)) continue;
                    readahead_one(k, swp_entry(pte_swp_type(*pte), pte_swp_offset(*pte)), a == faddr);
                }
            }
        }
    } else {
        // swap_cluster_readahead() with swapin_nr_pages().
        const uint64_t offset = swp_offset(e);
        unsigned pages = 1;
        const unsigned max_pages = 1u << cluster;
        if (max_pages > 1) {
            const unsigned hits = c.swapin_readahead_hits;
            c.swapin_readahead_hits = 0;
            pages = swapin_nr_pages_for(c.prev_offset, offset, hits, max_pages, c.last_readahead_pages);
            if (!hits) c.prev_offset = offset;
            c.last_readahead_pages = pages;
        }
        const uint64_t mask = pages - 1;
        if (mask) {
            const SwapInfo& si = swap_info_of(k, e);
            uint64_t start = offset & ~mask, end = offset | mask;
            if (start == 0) start = 1;  // the header
            if (end >= si.max) end = si.max - 1;
            for (uint64_t o = start; o <= end; o++) readahead_one(k, swp_entry(swp_type(e), o), o == offset);
        }
    }
    // The target itself (found in the cache if read above).
    bool allocated = false;
    MaybePfn pfn = read_swap_cache_async(k, e, &allocated);
    if (pfn && allocated) swap_read_folio(k, *pfn, e);
    return pfn;
}

namespace {

// __try_to_reclaim_swap() for the slot allocator and free_swap_and_cache:
// a cached folio whose slot nothing else references is dropped from the
// cache (and freed if that was its last reference).
int try_to_reclaim_hook(Kernel& k, SwpEntry e, unsigned flags) {
    (void)flags;
    MaybePfn pfn = swap_cache_get_folio(k, e);
    if (!pfn) return 0;
    Page& p = page_of(k, *pfn);
    // A folio still mapped somewhere stays (TTRS_UNMAPPED), as does one
    // under writeback or whose slot is referenced.
    if (p.mapcount > 0 || !folio_free_swap(k, *pfn)) return -1;
    if (p.refcount == 0) free_user_page(k, *pfn);
    return 1;
}

// swap_range_free()'s __swap_cache_clear_shadow(): freed slots forget
// their shadows.
void range_free_hook(Kernel& k, SwpEntry first, unsigned nr) {
    if (!k.swap_cache) return;
    for (unsigned i = 0; i < nr; i++) k.swap_cache->shadow_of.erase(first.val + i);
}

}  // namespace

void swap_cache_init(Kernel& k) {
    if (!k.swap) return;
    k.swap->try_to_reclaim = &try_to_reclaim_hook;
    k.swap->range_free = &range_free_hook;
    k.swap->unuse = &unuse_swap_entries;
}

void validate_swap_cache(const Kernel& kc) {
    Kernel& k = const_cast<Kernel&>(kc);
    if (!k.swap_cache) {
        if (k.global_node_page_state(NR_SWAPCACHED) != 0)
            throw std::logic_error("swap cache: count without a cache");
        return;
    }
    const SwapCache& c = *k.swap_cache;
    if (c.folio_of.size() != c.entry_of.size())
        throw std::logic_error("swap cache: the two maps differ in size");
    for (const auto& [val, pfn] : c.folio_of) {
        const Page& p = page_of(k, Pfn(pfn));
        auto it = c.entry_of.find(pfn);
        if (it == c.entry_of.end() || it->second != val)
            throw std::logic_error("swap cache: pfn " + std::to_string(pfn) +
                                   " does not map back to its slot");
        if (!p.test(PG_swapcache)) throw std::logic_error("swap cache: a cached folio without PG_swapcache");
        if (!p.test(PG_anon)) throw std::logic_error("swap cache: a cached folio that is not anonymous");
        if (!swap_has_cache(k, SwpEntry{val}))
            throw std::logic_error("swap cache: a cached slot without SWAP_HAS_CACHE");
    }
    if (k.global_node_page_state(NR_SWAPCACHED) != static_cast<int64_t>(c.folio_of.size()))
        throw std::logic_error("swap cache: NR_SWAPCACHE differs from the folios cached");
}

}  // namespace mmsim
