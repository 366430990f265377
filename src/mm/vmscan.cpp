// Page reclaim (mm/vmscan.c): the clean-page-cache shortcut of
// alloc_contig_range().
//
// Reclaim frees memory by dropping pages whose contents can be found again:
// a clean page of an ordinary file is the same as the data on disk, so it
// can simply leave the page cache; a later access reads it back. When
// alloc_contig_range() (CMA, gigantic huge pages) empties a range, copying
// such a page to another frame would be wasted work, so before each
// migrate_pages() call __alloc_contig_migrate_range() hands its batch of
// isolated pages to reclaim_clean_pages_from_list():
//
//   1. pick the candidates: page cache of a file (file LRU: not anonymous,
//      not shmem, which is swap-backed and lives on the anonymous lists),
//      not dirty, not unevictable (mlocked), not a hugetlb page;
//   2. run shrink_folio_list() over them with a scan_control that may
//      unmap and ignores the referenced bits (every candidate is taken,
//      however recently used):
//        - a mapped page is unmapped from every process (try_to_unmap with
//          a batched TLB flush); an entry's dirty bit moves to the page;
//          if an entry is left (a VM_LOCKED area) the page is kept and
//          counted as activated (pgactivate);
//        - a page that is dirty now cannot be written back from here (only
//          kswapd writes file pages): it is marked for immediate reclaim
//          after writeback (nr_vmscan_immediate_reclaim) and kept,
//          activated;
//        - __remove_mapping() freezes the reference count at the page
//          cache's own reference; a page someone else holds (a pin) is
//          kept, without activation;
//        - the rest leave the page cache and, after the one TLB flush,
//          return to the allocator;
//   3. what was kept goes back into the batch, which migrate_pages() then
//      moves.
//
// No pgscan/pgsteal events: those are counted by the LRU scanners
// (shrink_inactive_list), which this path bypasses. The freed pages count
// in pgfree as any other free, and the removal from the page cache changes
// NR_FILE_PAGES (and NR_FILE_MAPPED, the process's RssFile when the page
// was mapped).
//
// Not modelled: the workingset shadow entry __remove_mapping() leaves in
// the file's xarray (the slot is emptied as truncation empties it; swap
// slots do keep their shadows), buffer heads (no block-device pages
// here), pages under writeback.
//
// reclaim_pages() is MADV_PAGEOUT's way in: madvise isolates the pages of
// the range that only this process maps, and shrink_folio_list() runs
// over them without looking at referenced bits:
//
//   - unevictable (mlocked) pages go back, activated;
//   - a page still under writeback from an earlier pass is marked
//     PG_reclaim and goes back, activated;
//   - an anonymous, swap-backed page not yet in the swap cache gets a
//     slot and enters the cache, dirty (add_to_swap); with no free slot it
//     goes back, activated;
//   - a mapped page is unmapped (try_to_unmap: swap entries for anonymous
//     pages, nothing for a clean lazily freed one); one still mapped goes
//     back, activated;
//   - a shmem page goes back, activated (shmem's own swap-out, shmem_writeout,
//     is not modelled);
//   - a dirty file page is left to the flusher: marked PG_reclaim, counted
//     in nr_vmscan_immediate_reclaim, activated; a dirty swap cache page is
//     written (pageout -> swap_writeout, with PG_reclaim so the end of its
//     writeback rotates it); if the write is still in flight the page goes
//     back inactive, else it is freed now (a device with synchronous I/O);
//   - a clean lazily freed page is freed (pglazyfreed); a swap cache page
//     leaves the cache with a shadow entry (workingset_eviction) and is
//     freed; a clean file page leaves the page cache and is freed.
//
// Pages kept go back to the LRU through folio_putback_lru(), at the head
// of the list their flags name; `pgactivate` counts those activated.
#include "mm/vmscan.h"

#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/rmap.h"
#include "mm/swap.h"
#include "mm/swap_state.h"
#include "mm/tlb.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// The inode of an ordinary file's page-cache page (file LRU), or nullptr.
Inode* file_lru_inode(Kernel& k, const Page& p) {
    if (p.test(PG_anon) || !p.mapping) return nullptr;
    Inode* inode = k.files->inode_of_mapping(p.mapping);
    if (!inode || inode->shmem || inode->kernel_pages) return nullptr;
    return inode;
}

}  // namespace

uint64_t reclaim_clean_pages_from_list(Kernel& k, Zone& zone, std::vector<Pfn>& list) {
    (void)zone;  // the kernel's sc works on zone->zone_pgdat; counters follow each page here
    std::vector<Pfn> others, clean, kept;
    for (Pfn pfn : list) {
        const Page& p = page_of(k, pfn);
        if (file_lru_inode(k, p) && !p.test(PG_dirty) && !p.test(PG_mlocked))
            clean.push_back(pfn);
        else
            others.push_back(pfn);
    }
    if (clean.empty()) return 0;

    // shrink_folio_list(): unmap, then see what may go.
    TlbBatch batch;
    uint64_t pgactivate = 0;
    std::vector<Pfn> to_free;
    for (Pfn pfn : clean) {
        Page& p = page_of(k, pfn);
        if (p.mapcount > 0 && !try_to_unmap_file(k, pfn, batch)) {
            pgactivate++;  // activate_locked
            kept.push_back(pfn);
            continue;
        }
        if (p.test(PG_dirty)) {
            // A dirty entry made it dirty: write back first, reclaim later.
            mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_VMSCAN_IMMEDIATE_RECLAIM, 1);
            pgactivate++;
            kept.push_back(pfn);
            continue;
        }
        // __remove_mapping(): only the page cache's reference may be left.
        if (p.refcount != 1) {
            kept.push_back(pfn);
            continue;
        }
        to_free.push_back(pfn);
    }
    // try_to_unmap_flush(), then the pages go.
    if (batch.unmapped_pages) arch_tlbbatch_flush(k.tlbs, static_cast<unsigned>(k.current_cpu), batch);
    for (Pfn pfn : to_free) {
        Page& p = page_of(k, pfn);
        filemap_remove_page(k, *file_lru_inode(k, p), p.index);
    }
    if (pgactivate) k.count_event(PGACTIVATE, pgactivate);
    // The batch again: shrink_folio_list() returns its kept pages in
    // reverse (each is added at the head of its return list), and they go
    // back in front of the pages that were never candidates.
    list.assign(kept.rbegin(), kept.rend());
    list.insert(list.end(), others.begin(), others.end());
    return to_free.size();
}

uint64_t reclaim_pages(Kernel& k, std::vector<Pfn>& list) {
    TlbBatch batch;
    uint64_t pgactivate = 0, reclaimed = 0;
    std::vector<Pfn> keep, to_free;
    auto activate = [&](Pfn pfn) {
        Page& p = page_of(k, pfn);
        if (!p.test(PG_unevictable) && !p.test(PG_active)) {
            p.set(PG_active);
            pgactivate++;
        }
        keep.push_back(pfn);
    };
    for (Pfn pfn : list) {
        Page& p = page_of(k, pfn);
        if (p.test(PG_mlocked)) {
            activate(pfn);
            continue;
        }
        if (p.test(PG_writeback)) {
            p.set(PG_reclaim);
            activate(pfn);
            continue;
        }
        const bool anon = p.test(PG_anon);
        if (anon && p.test(PG_swapbacked) && !p.test(PG_swapcache)) {
            if (!add_to_swap(k, pfn)) {
                activate(pfn);
                continue;
            }
        }
        if (p.mapcount > 0) {
            const bool unmapped = anon ? try_to_unmap_anon(k, pfn, batch) : try_to_unmap_file(k, pfn, batch);
            if (!unmapped) {
                activate(pfn);
                continue;
            }
        }
        if (anon && !p.test(PG_swapbacked)) {
            // A clean lazily freed page: nobody holds it now.
            if (p.refcount != 0) {
                keep.push_back(pfn);
                continue;
            }
            k.count_event(PGLAZYFREED);
            to_free.push_back(pfn);
            continue;
        }
        if (!anon && !file_lru_inode(k, p)) {
            // shmem: written to swap by shmem_writeout(), which is not
            // modelled; the page stays, as when that write fails.
            activate(pfn);
            continue;
        }
        if (p.test(PG_dirty)) {
            if (!anon) {
                // Only kswapd writes file pages, and only when the flushers
                // fall behind: leave it to them.
                mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_VMSCAN_IMMEDIATE_RECLAIM, 1);
                p.set(PG_reclaim);
                activate(pfn);
                continue;
            }
            // pageout(): try_to_unmap_flush_dirty() first, then the write.
            if (batch.unmapped_pages)
                arch_tlbbatch_flush(k.tlbs, static_cast<unsigned>(k.current_cpu), batch);
            p.set(PG_reclaim);
            swap_writeout(k, pfn, folio_swap_entry(k, pfn));
            if (p.test(PG_writeback)) {
                keep.push_back(pfn);
                continue;
            }
        }
        // __remove_mapping(): only the cache's reference may be left.
        if (p.refcount != 1) {
            keep.push_back(pfn);
            continue;
        }
        to_free.push_back(pfn);
    }
    if (batch.unmapped_pages) arch_tlbbatch_flush(k.tlbs, static_cast<unsigned>(k.current_cpu), batch);
    for (Pfn pfn : to_free) {
        Page& p = page_of(k, pfn);
        reclaimed++;
        if (!p.test(PG_anon)) {
            // __remove_mapping(): the page cache's reference was the last.
            filemap_remove_page(k, *file_lru_inode(k, p), p.index);
            continue;
        }
        // A swap cache page leaves the cache with a shadow; a lazily freed
        // page has no reference left already.
        if (p.test(PG_swapcache)) swap_cache_del_folio(k, pfn, workingset_eviction(k, pfn));
        free_user_page(k, pfn);
    }
    if (pgactivate) k.count_event(PGACTIVATE, pgactivate);
    // reclaim_folio_list(): the rest back to the LRU, in the order
    // shrink_folio_list() returns them.
    for (auto it = keep.rbegin(); it != keep.rend(); ++it) folio_putback_lru(k, *it);
    // The asynchronous writes of this pass complete after it.
    for (Pfn pfn : keep) swap_end_writeback(k, pfn);
    list.clear();
    return reclaimed;
}

}  // namespace mmsim
