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
// the file's xarray (the simulator has no refault detection yet; the slot
// is emptied as truncation empties it), buffer heads (no block-device
// pages here), pages under writeback.
#include "mm/vmscan.h"

#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/rmap.h"
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

}  // namespace mmsim
