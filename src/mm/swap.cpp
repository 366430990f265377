// The LRU lists: which pages reclaim looks at, and in what order
// (mm/swap.c, include/linux/mm_inline.h, the LRU side of mm/mlock.c).
//
// Every page that user memory or the page cache is made of sits on one of
// five lists of its node (struct lruvec):
//
//   inactive anon   active anon     swap-backed pages: anonymous and shmem
//   inactive file   active file     pages of ordinary files
//   unevictable                     pages that may not go (mlocked)
//
// A list runs from its head, where pages arrive, to its tail, where reclaim
// takes them from. New pages start inactive: an anonymous page from its
// first write fault (folio_add_lru_vma() in do_anonymous_page()), a
// page-cache page when it is added to the cache (filemap_add_folio()).
// Since 5.9 anonymous pages no longer start active: they have to prove
// themselves like file pages, which is why a program that has just touched
// 16 MiB shows it all under Inactive(anon).
//
// A page moves to the active list when it is used again while inactive:
// folio_mark_accessed() (read(), write(), the buffer cache) sets
// PG_referenced on the first use and activates on the second; reclaim's
// scan activates mapped pages whose accessed bits it finds set; a page
// read back soon after eviction is activated at once (workingset.c). It
// moves back when reclaim ages the active list (shrink_active_list) or the
// program says it is cold (MADV_COLD: lru_deactivate()).
//
// The unevictable list holds mlocked pages: a page faulted into a
// VM_LOCKED area goes straight there (mlock_new_folio()), mlock() moves
// the pages already present (mlock_folio()), and munlock moves them back
// to an inactive list ("rescued"). Reclaim never scans it.
//
// The lists' lengths are the counters meminfo prints: nr_inactive_anon is
// Inactive(anon), and so on; each also has a per-zone copy
// (nr_zone_inactive_anon in zoneinfo) that the watermark code uses.
//
// What is not modelled: the kernel batches these moves in per-CPU folio
// batches (up to 31 pages, cpu_fbatches) and applies them when a batch
// fills or someone drains it; a page in a batch is counted on no list yet.
// Here every move is applied at once, as if lru_add_drain() had just run,
// in the same spirit as the per-CPU vmstat deltas that are read as folded.
// The lag is at most 31 pages per CPU and batch type.
//
// Links are the page descriptor's next/prev pfns, the ones a free page
// uses for its free list, and the folio state (PG_lru, PG_active, ...)
// lives in the byte that names a free page's list (mm_types.h): a page is
// either free or on an LRU list, never both.
#include "mm/swap.h"

#include <stdexcept>
#include <string>

#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/pfn_list.h"
#include "mm/pgtable.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// The zone and node of a page, looked up once per list operation.
struct LruPlace {
    Zone& zone;
    PglistData& node;
};
LruPlace place_of(Kernel& k, Pfn pfn) {
    Zone& z = pfn_zone(k, pfn);
    return {z, k.nodes[z.node]};
}

// update_lru_size(): the node's and the zone's count of the list.
void update_lru_size(const LruPlace& at, LruList lru, int64_t nr) {
    mod_node_page_state(at.node, static_cast<NodeStatItem>(NR_INACTIVE_ANON + static_cast<unsigned>(lru)),
                        nr);
    mod_zone_page_state(at.zone,
                        static_cast<ZoneStatItem>(NR_ZONE_INACTIVE_ANON + static_cast<unsigned>(lru)), nr);
}

}  // namespace

Lruvec& folio_lruvec(Kernel& k, Pfn pfn) { return k.nodes[pfn_zone(k, pfn).node].lruvec; }

namespace {

// list_add() (at the head) or list_add_tail() on the page's list, with
// update_lru_size().
void lru_link(Kernel& k, Pfn pfn, bool tail) {
    const LruList lru = folio_lru_list(page_of(k, pfn));
    const LruPlace at = place_of(k, pfn);
    LruHead& l = at.node.lruvec.lists[lru];
    if (tail)
        list_add_tail(k.mem_map->view(), l, pfn.value);
    else
        list_add_head(k.mem_map->view(), l, pfn.value);
    l.nr++;
    update_lru_size(at, lru, 1);
}

}  // namespace

void lruvec_add_folio(Kernel& k, Pfn pfn) { lru_link(k, pfn, false); }
void lruvec_add_folio_tail(Kernel& k, Pfn pfn) { lru_link(k, pfn, true); }

void lruvec_del_folio(Kernel& k, Pfn pfn) {
    const LruList lru = folio_lru_list(page_of(k, pfn));
    const LruPlace at = place_of(k, pfn);
    LruHead& l = at.node.lruvec.lists[lru];
    list_del(k.mem_map->view(), l, pfn.value);
    l.nr--;
    update_lru_size(at, lru, -1);
}

void folio_add_lru(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    // lru_add(): a page that may not be evicted goes to the unevictable
    // list, inactive (culled); one that was unevictable and no longer is
    // has been rescued.
    const bool was_unevictable = p.test(PG_unevictable);
    p.clear(PG_unevictable);
    p.set(PG_lru);
    if (!p.test(PG_mlocked)) {
        if (was_unevictable) k.count_event(UNEVICTABLE_PGS_RESCUED);
    } else {
        p.clear(PG_active);
        p.set(PG_unevictable);
        if (!was_unevictable) k.count_event(UNEVICTABLE_PGS_CULLED);
    }
    lruvec_add_folio(k, pfn);
}

void folio_add_lru_vma(Kernel& k, Pfn pfn, const Vma& vma) {
    if ((vma.vm_flags & (VM_LOCKED | VM_SPECIAL)) != VM_LOCKED) return folio_add_lru(k, pfn);
    // mlock_new_folio(): mlocked before it is ever seen on an evictable
    // list, so straight to the unevictable one.
    Page& p = page_of(k, pfn);
    if (!p.test(PG_mlocked)) {
        p.set(PG_mlocked);
        mod_zone_page_state(pfn_zone(k, pfn), NR_MLOCK, 1);
        k.count_event(UNEVICTABLE_PGS_MLOCKED);
    }
    p.set(PG_unevictable);
    p.set(PG_lru);
    k.count_event(UNEVICTABLE_PGS_CULLED);
    lruvec_add_folio(k, pfn);
}

void folio_activate(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_lru) || p.test(PG_active) || p.test(PG_unevictable)) return;
    lruvec_del_folio(k, pfn);
    p.set(PG_active);
    lruvec_add_folio(k, pfn);
    k.count_event(PGACTIVATE);
}

void folio_mark_accessed(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_referenced)) {
        p.set(PG_referenced);
    } else if (p.test(PG_unevictable)) {
        // The unevictable list is never aged: nothing to do.
    } else if (!p.test(PG_active)) {
        // Off the LRU (isolated, or in a batch in the kernel) the page is
        // only marked active, and its putback places it; on it,
        // folio_activate() moves it now.
        if (p.test(PG_lru))
            folio_activate(k, pfn);
        else
            p.set(PG_active);
        p.clear(PG_referenced);
        // workingset_activation(): activations age the nonresident clock.
        folio_lruvec(k, pfn).nonresident_age++;
    }
}

void folio_deactivate(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    // folio_deactivate() queues only active pages; lru_deactivate() moves
    // them to the head of the inactive list, unreferenced.
    if (!p.test(PG_lru) || p.test(PG_unevictable) || !p.test(PG_active)) return;
    lruvec_del_folio(k, pfn);
    p.clear(PG_active);
    p.clear(PG_referenced);
    lruvec_add_folio(k, pfn);
    k.count_event(PGDEACTIVATE);
}

bool folio_mark_lazyfree(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_anon) || !p.test(PG_swapbacked) || p.test(PG_swapcache) || p.test(PG_unevictable))
        return false;
    // lru_lazyfree(): a clean anonymous page that reclaim may simply drop
    // joins the inactive file list (it no longer needs swap), unreferenced.
    const bool on_lru = p.test(PG_lru);
    if (on_lru) lruvec_del_folio(k, pfn);
    p.clear(PG_active);
    p.clear(PG_referenced);
    p.clear(PG_swapbacked);
    if (on_lru) lruvec_add_folio(k, pfn);
    k.count_event(PGLAZYFREE);
    return true;
}

void folio_rotate_reclaimable(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_lru) || p.test(PG_unevictable) || p.test(PG_dirty)) return;
    // lru_move_tail().
    lruvec_del_folio(k, pfn);
    p.clear(PG_active);
    lruvec_add_folio_tail(k, pfn);
    k.count_event(PGROTATED);
}

void lru_mlock(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    // __mlock_folio(): nothing to move while off the LRU, nor when the page
    // is already unevictable.
    if (!p.test(PG_lru) || p.test(PG_unevictable)) return;
    lruvec_del_folio(k, pfn);
    p.clear(PG_active);
    p.set(PG_unevictable);
    lruvec_add_folio(k, pfn);
    k.count_event(UNEVICTABLE_PGS_CULLED);
}

void lru_munlock(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_lru)) {
        // __munlock_folio() on a page it could not isolate: left stranded
        // on the unevictable list for reclaim to rescue later.
        if (p.test(PG_unevictable)) k.count_event(UNEVICTABLE_PGS_STRANDED);
        return;
    }
    if (!p.test(PG_unevictable)) return;
    lruvec_del_folio(k, pfn);
    p.clear(PG_unevictable);
    lruvec_add_folio(k, pfn);
    k.count_event(UNEVICTABLE_PGS_RESCUED);
}

bool folio_isolate_lru(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (!p.test(PG_lru)) return false;
    lruvec_del_folio(k, pfn);
    p.clear(PG_lru);
    return true;
}

void folio_putback_lru(Kernel& k, Pfn pfn) {
    // folio_putback_lru() is folio_add_lru(): an mlocked page goes to the
    // unevictable list.
    folio_add_lru(k, pfn);
}

void free_user_page(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    // page_cache_release().
    if (p.test(PG_lru)) {
        lruvec_del_folio(k, pfn);
        p.clear(PG_lru);
    }
    if (p.test(PG_mlocked)) {
        p.clear(PG_mlocked);
        mod_zone_page_state(pfn_zone(k, pfn), NR_MLOCK, -1);
        k.count_event(UNEVICTABLE_PGS_CLEARED);
    }
    // free_pages_prepare(): a page still cached or under writeback would
    // be a bad page; the rest of the reclaim state simply goes.
    if (p.test(PG_swapcache) || p.test(PG_writeback))
        throw std::logic_error("free_user_page: pfn " + std::to_string(pfn.value) +
                               " is freed while in the swap cache or under writeback");
    p.mt = 0;
    p.clear(PG_readahead);
    p.mapping = 0;
    p.index = 0;
    p.clear(PG_anon);
    p.clear(PG_swapbacked);
    p.clear(PG_dirty);
    p.clear(PG_uptodate);
    free_pages(k, pfn, 0);
}

void lru_migrate(Kernel& k, Pfn from, Pfn to) {
    Page& op = page_of(k, from);
    Page& np = page_of(k, to);
    const bool on_lru = op.test(PG_lru);
    if (on_lru) lruvec_del_folio(k, from);
    // folio_migrate_flags(): the reclaim state goes with the contents.
    np.mt = op.mt;
    op.mt = 0;
    if (on_lru) lruvec_add_folio(k, to);
}

void validate_lru(const Kernel& kc) {
    Kernel& k = const_cast<Kernel&>(kc);
    const MemMap& mm = *k.mem_map;
    for (PglistData& n : k.nodes) {
        std::array<int64_t, NR_LRU_LISTS> zone_sum{};
        for (unsigned lru = 0; lru < NR_LRU_LISTS; lru++) {
            const LruHead& l = n.lruvec.lists[lru];
            uint64_t count = 0;
            uint32_t prev = PFN_NIL;
            for (uint32_t v = l.first; v != PFN_NIL; v = mm[v].next) {
                const Page& p = mm[v];
                auto fail = [&](const std::string& what) {
                    throw std::logic_error("lru: node " + std::to_string(n.node_id) + " list " +
                                           std::to_string(lru) + " pfn " + std::to_string(v) + ": " + what);
                };
                if (++count > l.nr) fail("the list is longer than its count");
                if (p.prev != prev) fail("back link broken");
                if (!p.test(PG_lru)) fail("on a list without PG_lru");
                if (p.flags & (PG_buddy | PG_pcp)) fail("free page on an LRU list");
                if (p.refcount == 0) fail("no reference");
                if (folio_lru_list(p) != lru) fail("on the wrong list for its flags");
                if (k.page_zone(Pfn(v))->node != n.node_id) fail("on another node's list");
                prev = v;
            }
            if (count != l.nr) throw std::logic_error("lru: a list's count differs from its length");
            if (prev != l.last) throw std::logic_error("lru: a list's tail is not its last page");
            if (n.vm_stat[NR_INACTIVE_ANON + lru] != static_cast<int64_t>(l.nr))
                throw std::logic_error("lru: node counter " + std::to_string(lru) + " is " +
                                       std::to_string(n.vm_stat[NR_INACTIVE_ANON + lru]) +
                                       ", the list holds " + std::to_string(l.nr));
            for (const Zone& z : n.node_zones) zone_sum[lru] += z.vm_stat[NR_ZONE_INACTIVE_ANON + lru];
            if (zone_sum[lru] != static_cast<int64_t>(l.nr))
                throw std::logic_error("lru: the zones' counters differ from the node's list");
        }
    }
}

}  // namespace mmsim
