// Page migration (mm/migrate.c).
//
// Compaction, CMA and memory hot-remove all need the same trick: an in-use
// page sits where a free one is wanted, so its contents move to another
// frame and everything that referred to the old frame is pointed at the
// new one. Users never notice, because for the duration of the move they
// cannot reach the page at all.
//
// Which pages can move. The kernel moves pages it can find all the users
// of: pages on an LRU list (user memory: anonymous pages reached through
// their anon_vma, page-cache pages of files and shmem reached through
// their address_space) and a few driver-owned "movable" types. This
// simulator has no LRU lists yet, so "on an LRU" means what it would mean
// here: a page whose Page::mapping names an anon_vma (PG_anon) or the
// address_space of an ordinary file or shmem inode. Everything else is
// not movable:
//   - free pages (buddy or per-CPU lists): nothing to move, the free
//     scanner takes those;
//   - reserved memory, holes, the shared zero page and the vDSO's code
//     pages (kernel-image pages mapped into processes);
//   - kernel allocations: alloc_pages() in kernel context, slab pages,
//     large kmalloc, page-table pages. The kernel has no way to find and
//     rewrite the pointers to them;
//   - compound pages (huge pages are migrated whole in the kernel; this
//     simulator has no huge user pages yet, so none are movable);
//   - mlocked pages when vm.compact_unevictable_allowed is 0 (compaction
//     only; alloc_contig_range always moves them);
//   - pages with references nobody accounts for. A page's expected
//     references are one per PTE mapping it plus one for the page cache;
//     more means someone (get_user_pages, a pin) holds it, and the
//     kernel's refcount freeze fails with -EAGAIN.
//
// Moving one page (migrate_folio_unmap + migrate_folio_move):
//   1. try_to_migrate(): rmap_walk() visits every area that may map the
//      page; each PTE that does is replaced by a migration entry (here, in
//      one step, by the new frame's entry with the same bits), the map
//      count moves across, and the TLBs are flushed. Migration asks for a
//      batched flush (TTU_BATCH_FLUSH): if the mm is live on other CPUs the
//      flush is queued (arch_tlbbatch_add_pending) and one flush covers the
//      whole batch (try_to_unmap_flush); otherwise the page's entry is
//      flushed at once (ptep_clear_flush -> flush_tlb_page).
//   2. folio_migrate_mapping(): the page-cache slot (the xarray entry for
//      the file index) now holds the new page; the new page takes over
//      mapping and index, the page cache's reference, PG_swapbacked and
//      PG_dirty; when the two frames lie in different zones or nodes the
//      counters follow the page (NR_FILE_PAGES, NR_SHMEM, NR_FILE_DIRTY,
//      NR_ZONE_WRITE_PENDING, and NR_ANON_MAPPED / NR_FILE_MAPPED through
//      the rmap calls).
//   3. folio_migrate_copy(): the contents. The simulator keeps no page
//      contents; a page's identity is its owner and index, which move with
//      it, and the copy costs page_copy of simulated time.
//   4. folio_migrate_flags(): PG_uptodate, PG_mlocked (with NR_MLOCK
//      following the zone) and the rest.
//   5. The old frame loses its last reference and goes back to the
//      allocator.
//
// migrate_pages() runs that over a list, retrying pages that failed with
// -EAGAIN for up to NR_MAX_MIGRATE_PAGES_RETRY (10) passes; a failure to
// get a target frame (-ENOMEM) ends the call at once. It counts
// pgmigrate_success and pgmigrate_fail (pages), and the pages left in the
// list are the caller's to put back. Nothing else can run in the middle of
// a simulated operation, so a page that failed once fails every pass; the
// passes are kept because they are what the kernel does, and cost time.
#include "mm/migrate.h"

#include <stdexcept>

#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/swap.h"
#include "mm/tlb.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

constexpr int NR_MAX_MIGRATE_PAGES_RETRY = 10;

// The inode behind a page-cache page, or nullptr.
Inode* page_inode(Kernel& k, const Page& p) {
    if (p.test(PG_anon) || !p.mapping) return nullptr;
    return k.files->inode_of_mapping(p.mapping);
}
const Inode* page_inode(const Kernel& k, const Page& p) { return page_inode(const_cast<Kernel&>(k), p); }

bool is_special_frame(const Kernel& k, Pfn pfn) {
    if (k.has_zero_page && pfn == k.zero_pfn) return true;
    if (k.has_vdso_pfns && (pfn == k.vdso_pfns[0] || pfn == k.vdso_pfns[1])) return true;
    return false;
}

}  // namespace

uint32_t expected_page_refs(const Kernel& k, Pfn pfn) {
    const Page& p = page_of(k, pfn);
    uint32_t refs = static_cast<uint32_t>(p.mapcount);
    if (!p.test(PG_anon) && p.mapping) refs += 1;  // the page cache's reference
    return refs;
}

Unmovable page_movability(const Kernel& k, Pfn pfn, bool allow_unevictable, bool check_refs) {
    const Page& p = page_of(k, pfn);
    if (p.flags & (PG_buddy | PG_pcp)) return Unmovable::Free;
    if (p.flags & (PG_reserved | PG_hole | PG_zero) || is_special_frame(k, pfn)) return Unmovable::Reserved;
    if (p.flags & (PG_head | PG_tail)) return Unmovable::Compound;
    if (p.flags & (PG_slab | PG_pgtable | PG_large_kmalloc) || p.refcount == 0) return Unmovable::Kernel;
    if (p.test(PG_anon)) {
        if (!k.anon_vmas->get(p.mapping)) return Unmovable::Kernel;
    } else {
        const Inode* inode = page_inode(k, p);
        if (!inode) return Unmovable::Kernel;
        if (inode->kernel_pages) return Unmovable::Reserved;
    }
    if (p.test(PG_mlocked) && !allow_unevictable) return Unmovable::Unevictable;
    if (check_refs && p.refcount != expected_page_refs(k, pfn)) return Unmovable::Pinned;
    return Unmovable::None;
}

Result<void> migrate_one_page(Kernel& k, Pfn src, Pfn dst, TlbBatch* shared_batch) {
    Page& old_page = page_of(k, src);
    Page& new_page = page_of(k, dst);
    // folio_ref_freeze(): anyone holding an unexplained reference could be
    // reading or writing the old frame right now.
    if (old_page.refcount != expected_page_refs(k, src)) return Errno::AGAIN;

    Zone& old_zone = pfn_zone(k, src);
    Zone& new_zone = pfn_zone(k, dst);
    PglistData& old_node = k.nodes[old_zone.node];
    PglistData& new_node = k.nodes[new_zone.node];
    const bool anon = old_page.test(PG_anon);
    Inode* inode = page_inode(k, old_page);

    // 1. try_to_migrate() and remove_migration_ptes(): every entry mapping
    // the old frame now maps the new one, with the same bits.
    TlbBatch own_batch;
    TlbBatch& batch = shared_batch ? *shared_batch : own_batch;
    int32_t moved_maps = 0;
    rmap_walk(k, src, [&](Vma& vma, uint64_t addr) {
        if (!vma.vm_mm) return;
        MmStruct& mm = *vma.vm_mm;
        uint64_t* pte = pte_lookup(k, mm, addr);
        if (!pte || !pte_present(*pte) || pte_special(*pte) || pte_pfn(*pte) != src) return;
        *pte = (*pte & ~PTE_PFN_MASK) | (dst.value << PAGE_SHIFT);
        moved_maps++;
        if (k.tlbs.empty()) return;
        // should_defer_flush(): batch when other CPUs have the mm loaded.
        unsigned cpu = static_cast<unsigned>(k.current_cpu);
        if (mm.tlb.cpumask.any_but(cpu))
            arch_tlbbatch_add_pending(batch, mm.tlb);
        else
            flush_tlb_page(k.tlbs, cpu, mm.tlb, VirtAddr(addr));
    });
    if (moved_maps != old_page.mapcount)
        throw std::logic_error("migrate: rmap found a different number of entries than the map count");
    // try_to_unmap_flush(), here unless the caller batches a whole pass.
    if (!shared_batch && batch.unmapped_pages)
        arch_tlbbatch_flush(k.tlbs, static_cast<unsigned>(k.current_cpu), batch);

    // 2. folio_migrate_mapping(): owner, index, references, the cache slot.
    new_page.mapping = old_page.mapping;
    new_page.index = old_page.index;
    new_page.mapcount = old_page.mapcount;
    new_page.refcount = old_page.refcount;
    constexpr uint16_t carried = PG_anon | PG_swapbacked | PG_dirty | PG_uptodate;
    new_page.flags = static_cast<uint16_t>(new_page.flags | (old_page.flags & carried));
    if (inode) inode->mapping.pages[old_page.index] = dst;
    if (&old_zone != &new_zone) {
        auto move_node = [&](NodeStatItem i) {
            mod_node_page_state(old_node, i, -1);
            mod_node_page_state(new_node, i, 1);
        };
        auto move_zone = [&](ZoneStatItem i) {
            mod_zone_page_state(old_zone, i, -1);
            mod_zone_page_state(new_zone, i, 1);
        };
        if (new_page.mapcount > 0) move_node(anon ? NR_ANON_PAGES : NR_MAPPED);
        if (inode && !inode->kernel_pages) move_node(NR_FILE_PAGES);
        if (inode && inode->shmem) move_node(NR_SHMEM);
        if (inode && !inode->shmem && old_page.test(PG_dirty)) {
            move_node(NR_DIRTY);
            move_zone(NR_ZONE_WRITE_PENDING);
        }
        if (old_page.test(PG_mlocked)) move_zone(NR_MLOCK);
    }
    // 3. folio_migrate_copy(): the contents.
    k.clock.charge(k.costs.page_copy);
    // 4. folio_migrate_flags(): mlock stays with the page (the counter
    // moved above, without counting an mlock/munlock event).
    if (old_page.test(PG_mlocked)) new_page.set(PG_mlocked);
    // The LRU state too: the new page takes the old one's place on its
    // list (isolation and putback, which the kernel does around this).
    lru_migrate(k, src, dst);

    // 5. The old frame: no owner, no users, back to the allocator.
    old_page.flags = static_cast<uint16_t>(old_page.flags & ~(carried | PG_mlocked));
    old_page.mapping = 0;
    old_page.index = 0;
    old_page.mapcount = 0;
    old_page.refcount = 0;
    free_pages(k, src, 0);
    return {};
}

MigrateResult migrate_pages(Kernel& k, std::vector<Pfn>& from, const NewPageFn& new_page,
                            const PutNewPageFn& put_new_page, MigrateMode mode, MigrateReason reason) {
    (void)mode;
    (void)reason;
    MigrateResult r;
    std::vector<Pfn> retry;
    // One deferred TLB flush per pass (migrate_pages_batch() unmaps the
    // whole batch, flushes once, then moves).
    TlbBatch batch;
    auto flush = [&] {
        if (batch.unmapped_pages) arch_tlbbatch_flush(k.tlbs, static_cast<unsigned>(k.current_cpu), batch);
    };
    for (int pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && !from.empty(); pass++) {
        retry.clear();
        for (std::size_t i = 0; i < from.size(); i++) {
            Pfn src = from[i];
            MaybePfn dst = new_page(src);
            if (!dst) {
                // -ENOMEM: the kernel stops here and counts this one page as
                // failed (not the ones waiting for a retry or not yet
                // tried); they all stay in the list for the putback.
                r.out_of_targets = true;
                retry.insert(retry.end(), from.begin() + static_cast<std::ptrdiff_t>(i), from.end());
                from.swap(retry);
                r.nr_failed = 1;
                flush();
                k.count_event(PGMIGRATE_SUCCESS, r.nr_succeeded);
                k.count_event(PGMIGRATE_FAIL, r.nr_failed);
                return r;
            }
            if (migrate_one_page(k, src, *dst, &batch)) {
                r.nr_succeeded++;
            } else {
                put_new_page(*dst);
                retry.push_back(src);
            }
        }
        flush();
        from.swap(retry);
    }
    r.nr_failed = from.size();
    k.count_event(PGMIGRATE_SUCCESS, r.nr_succeeded);
    k.count_event(PGMIGRATE_FAIL, r.nr_failed);
    return r;
}

}  // namespace mmsim
