// Reverse mapping: from a page to the page-table entries that map it
// (mm/rmap.c).
//
// A file page knows its file and offset; the file's i_mmap lists every area
// mapping it, so the entries are found by computing the address in each
// area and walking its page table.
//
// An anonymous page knows its anon_vma. An anon_vma groups the areas that
// may map pages created in one area and inherited through fork:
//
//   parent area P ----- AV_p          P's new pages: mapping = AV_p
//                        |  ^
//        fork            |  | parent/root
//                        v  |
//   child area  C ----- AV_c          C's chain: {AV_c, AV_p}
//                                     C's new pages (COW copies): AV_c
//
// Each area keeps a chain (anon_vma_chain) of every anon_vma whose pages it
// may map, and each anon_vma keeps the set of areas chained to it (the
// kernel's interval tree of anon_vma_chain entries). A page of AV_p can be
// mapped in P and every descendant area, so rmap walks AV_p's set; a page
// of AV_c only in C and its own descendants. anon_vma_fork() gives the
// child its own anon_vma so the parent's later walks do not visit children
// that cannot map the child's new pages; anon_vma_clone() reuses an old
// anon_vma with no active areas left (the kernel's fix for chains growing
// without bound under repeated forks).
//
// Pages point at their anon_vma by id (Page::mapping with PG_anon); the
// AnonVmaTable owns them, counted as the kernel's refcount (one per area
// chained, plus one per child anon_vma holding it as parent) so a tree is
// freed when its last user goes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernel/kernel.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/vmstat.h"

namespace mmsim {

struct AnonVma {
    uint32_t id = 0;
    AnonVma* root = nullptr;
    AnonVma* parent = nullptr;
    int refcount = 0;              // areas chained + child anon_vmas alive
    unsigned num_children = 0;     // anon_vmas whose parent this is (anon_vma->num_children)
    unsigned num_active_vmas = 0;  // areas whose own anon_vma this is (num_active_vmas)
    std::vector<Vma*> vmas;        // the areas chained to it (rb_root of AVCs)
    SlabObject obj;                // its struct anon_vma
};

class AnonVmaTable {
public:
    AnonVma* create(Kernel& k);  // anon_vma_alloc()
    AnonVma* get(uint32_t id) { return id < m_all.size() ? m_all[id].get() : nullptr; }
    const AnonVma* get(uint32_t id) const { return id < m_all.size() ? m_all[id].get() : nullptr; }
    void destroy(AnonVma* av);
    std::size_t live() const { return m_live; }
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (auto& p : m_all)
            if (p) fn(*p);
    }

private:
    std::vector<std::unique_ptr<AnonVma>> m_all;  // index = id; slot 0 unused
    std::vector<uint32_t> m_free;
    std::size_t m_live = 0;
};

// anon_vma_prepare(): gives an area its anon_vma before its first
// anonymous page (reusing a mergeable neighbour's, as the kernel does).
void anon_vma_prepare(Kernel& k, Vma& vma);
// anon_vma_clone(): dst (a split or copied area) joins every anon_vma of
// src's chain.
void anon_vma_clone(Kernel& k, Vma& dst, const Vma& src);
// anon_vma_fork(): the child's copy of pvma joins the parent's chain and
// gets an anon_vma of its own.
void anon_vma_fork(Kernel& k, Vma& child, const Vma& parent);
// unlink_anon_vmas(): the area leaves every anon_vma; empty ones are freed.
void unlink_anon_vmas(Kernel& k, Vma& vma);

// Map counts and the mapping of a page (folio_add_new_anon_rmap,
// folio_add_anon_rmap_pte, folio_add_file_rmap_pte, folio_remove_rmap_pte),
// with the node counters they keep (NR_ANON_MAPPED, NR_FILE_MAPPED).
// Inline: every fault, fork and unmap calls them once per page.
// A page that may be shared with other processes of the fork tree (a swap
// cache page mapped without RMAP_EXCLUSIVE) goes to the root anon_vma, so
// that every process that can map it finds it (__folio_set_anon()).
inline void page_add_new_anon_rmap(Kernel& k, Pfn pfn, Vma& vma, uint64_t addr, bool exclusive = true) {
    Page& p = page_of(k, pfn);
    p.set(PG_anon);
    p.set(PG_swapbacked);
    p.mapping = exclusive ? vma.anon_vma->id : vma.anon_vma->root->id;
    p.index = static_cast<uint32_t>(vma.linear_page_index(addr));
    p.mapcount = 1;
    mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_ANON_PAGES, 1);
}
// fork: another entry maps the anonymous page.
inline void page_dup_rmap(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    p.mapcount++;
    p.refcount++;
}
inline void page_add_file_rmap(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (p.mapcount++ == 0) mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_MAPPED, 1);
}
[[noreturn]] void page_remove_rmap_unmapped(Pfn pfn);  // throws std::logic_error
inline void page_remove_rmap(Kernel& k, Pfn pfn) {
    Page& p = page_of(k, pfn);
    if (p.mapcount <= 0) [[unlikely]]
        page_remove_rmap_unmapped(pfn);
    if (--p.mapcount == 0)
        mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], p.test(PG_anon) ? NR_ANON_PAGES : NR_MAPPED, -1);
}

// rmap_walk(): calls fn(vma, addr) for every area and address that may map
// the page (the caller checks the entry). Returns the number of areas
// visited.
std::size_t rmap_walk(Kernel& k, Pfn pfn, const std::function<void(Vma&, uint64_t addr)>& fn);

// try_to_unmap() of a page-cache page with TTU_BATCH_FLUSH, for reclaim:
// every entry mapping it is cleared (its dirty bit goes to the page, the
// mm's file RSS drops, the map count and the mapping's reference go); an
// entry in an mm live on another CPU is queued in `batch` for one
// try_to_unmap_flush(), else flushed at once. An entry in a VM_LOCKED area
// stays (the kernel mlocks the page instead). True when no entry is left.
struct TlbBatch;
bool try_to_unmap_file(Kernel& k, Pfn pfn, TlbBatch& batch);

// try_to_unmap() of an anonymous page, for reclaim (try_to_unmap_one's
// anonymous half). A swap-backed page must be in the swap cache: each
// entry becomes a swap entry for its slot (one more swap count; marked
// exclusive when this was the page's only mapping, soft-dirty as the
// entry was), RSS moves from MM_ANONPAGES to MM_SWAPENTS, and the dirty
// bit goes to the page. A lazily freed page (MADV_FREE: no PG_swapbacked)
// that is still clean is simply discarded, its entries cleared; if it was
// written again it becomes swap-backed and keeps its entries. Entries in
// VM_LOCKED areas stay. TLB flushes as in try_to_unmap_file(). True when
// no entry is left.
bool try_to_unmap_anon(Kernel& k, Pfn pfn, TlbBatch& batch);

// Checks the anon_vma trees: refcounts, parents, chains (validate()).
void validate_anon_vmas(const Kernel& k);

}  // namespace mmsim
