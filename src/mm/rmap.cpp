// Reverse mapping (mm/rmap.c): anon_vma trees, map counts and the walk from
// a page to the areas that may map it. The essay is in rmap.h.
#include "mm/rmap.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/slub.h"
#include "mm/swap_state.h"
#include "mm/tlb.h"
#include "mm/vmstat.h"

namespace mmsim {

AnonVma* AnonVmaTable::create(Kernel& k) {
    uint32_t id;
    if (!m_free.empty()) {
        id = m_free.back();
        m_free.pop_back();
    } else {
        if (m_all.empty()) m_all.emplace_back();  // id 0 means "no anon_vma"
        id = static_cast<uint32_t>(m_all.size());
        m_all.emplace_back();
    }
    m_all[id] = std::make_unique<AnonVma>();
    m_all[id]->id = id;
    m_all[id]->obj = SlabObject::alloc(k, &SlabState::anon_vma);
    m_live++;
    return m_all[id].get();
}

void AnonVmaTable::destroy(AnonVma* av) {
    uint32_t id = av->id;
    m_all[id].reset();
    m_free.push_back(id);
    m_live--;
}

namespace {

void link(Vma& vma, AnonVma* av) {
    vma.anon_vma_chain.push_back(av);
    av->vmas.push_back(&vma);
    av->refcount++;
}

// One anon_vma_chain object per chain entry: allocated as an area joins
// an anon_vma, freed as it leaves (anon_vma_chain_alloc/free).
void sync_avc_objects(Kernel& k, Vma& vma) {
    while (vma.avc_objs.size() < vma.anon_vma_chain.size())
        vma.avc_objs.push_back(SlabObject::alloc(k, &SlabState::anon_vma_chain));
    while (vma.avc_objs.size() > vma.anon_vma_chain.size()) vma.avc_objs.pop_back();
}

// put_anon_vma(): drops one reference; frees the anon_vma and releases its
// parent when none are left.
void put_anon_vma(Kernel& k, AnonVma* av) {
    while (av && --av->refcount == 0) {
        AnonVma* parent = av->parent != av ? av->parent : nullptr;
        if (parent) parent->num_children--;
        k.anon_vmas->destroy(av);
        av = parent;
    }
}

// find_mergeable_anon_vma(): a neighbour that could merge with this area
// and has a single-element chain lends its anon_vma.
AnonVma* reusable_neighbour(MmStruct& mm, const Vma& vma) {
    auto try_one = [&](const Vma* n) -> AnonVma* {
        if (!n || !n->anon_vma || n->anon_vma_chain.size() != 1) return nullptr;
        if (n->vm_file != vma.vm_file) return nullptr;
        uint64_t mask = ~static_cast<uint64_t>(VM_READ | VM_WRITE | VM_EXEC | VM_SOFTDIRTY);
        if ((n->vm_flags ^ vma.vm_flags) & mask) return nullptr;
        bool adjacent = n->vm_end == vma.vm_start || vma.vm_end == n->vm_start;
        if (!adjacent) return nullptr;
        // anon_vma_compatible(): offsets must line up as if merged.
        if (n->vm_end == vma.vm_start && n->vm_pgoff + n->pages() != vma.vm_pgoff) return nullptr;
        if (vma.vm_end == n->vm_start && vma.vm_pgoff + vma.pages() != n->vm_pgoff) return nullptr;
        return n->anon_vma;
    };
    auto it = mm.vmas.find(vma.vm_end);
    if (it == mm.vmas.end()) return nullptr;
    auto nx = std::next(it);
    if (nx != mm.vmas.end())
        if (AnonVma* a = try_one(nx->second.get())) return a;
    if (it != mm.vmas.begin())
        if (AnonVma* a = try_one(std::prev(it)->second.get())) return a;
    return nullptr;
}

}  // namespace

void anon_vma_prepare(Kernel& k, Vma& vma) {
    if (vma.anon_vma) return;
    AnonVma* av = vma.vm_mm ? reusable_neighbour(*vma.vm_mm, vma) : nullptr;
    if (!av) {
        av = k.anon_vmas->create(k);
        av->root = av;
        av->parent = av;
    }
    link(vma, av);
    vma.anon_vma = av;
    av->num_active_vmas++;
    sync_avc_objects(k, vma);
}

void anon_vma_clone(Kernel& k, Vma& dst, const Vma& src) {
    // Walk the chain from the oldest anon_vma, as the kernel does (its
    // chain is in reverse order of creation), remembering one that could be
    // reused: no area has it as its own and it has at most one child.
    for (auto it = src.anon_vma_chain.rbegin(); it != src.anon_vma_chain.rend(); ++it) {
        AnonVma* av = *it;
        link(dst, av);
        if (!dst.anon_vma && src.anon_vma && av != src.anon_vma && av->num_children < 2 &&
            av->num_active_vmas == 0)
            dst.anon_vma = av;
    }
    // Keep the chain in the source's order (newest first).
    std::reverse(dst.anon_vma_chain.end() - static_cast<long>(src.anon_vma_chain.size()),
                 dst.anon_vma_chain.end());
    if (dst.anon_vma) dst.anon_vma->num_active_vmas++;
    sync_avc_objects(k, dst);
}

void anon_vma_fork(Kernel& k, Vma& child, const Vma& parent) {
    child.anon_vma = nullptr;
    child.anon_vma_chain.clear();
    child.avc_objs.clear();
    if (!parent.anon_vma) return;
    anon_vma_clone(k, child, parent);
    if (child.anon_vma) return;  // an old anon_vma was reused
    AnonVma* av = k.anon_vmas->create(k);
    av->root = parent.anon_vma->root;
    av->parent = parent.anon_vma;
    av->parent->num_children++;
    av->parent->refcount++;  // the child anon_vma holds its parent
    child.anon_vma = av;
    av->num_active_vmas++;
    // The newest anon_vma goes first in the chain.
    child.anon_vma_chain.insert(child.anon_vma_chain.begin(), av);
    av->vmas.push_back(&child);
    av->refcount++;
    sync_avc_objects(k, child);
}

void unlink_anon_vmas(Kernel& k, Vma& vma) {
    if (vma.anon_vma) vma.anon_vma->num_active_vmas--;
    for (AnonVma* av : vma.anon_vma_chain) {
        auto pos = std::find(av->vmas.begin(), av->vmas.end(), &vma);
        if (pos != av->vmas.end()) av->vmas.erase(pos);
    }
    std::vector<AnonVma*> chain;
    chain.swap(vma.anon_vma_chain);
    vma.avc_objs.clear();
    vma.anon_vma = nullptr;
    for (AnonVma* av : chain) put_anon_vma(k, av);
}

// ---- map counts ------------------------------------------------------------------

void page_remove_rmap_unmapped(Pfn pfn) {
    throw std::logic_error("page_remove_rmap: page " + std::to_string(pfn.value) + " not mapped");
}

// ---- the walk ----------------------------------------------------------------------

std::size_t rmap_walk(Kernel& k, Pfn pfn, const std::function<void(Vma&, uint64_t addr)>& fn) {
    Page& p = page_of(k, pfn);
    std::size_t visited = 0;
    auto visit = [&](Vma& vma) {
        // vma_address(): the index, taken modulo 2^32 (see Page::index).
        uint32_t off = p.index - static_cast<uint32_t>(vma.vm_pgoff);
        visited++;
        if (off < vma.pages()) fn(vma, vma.vm_start + (static_cast<uint64_t>(off) << PAGE_SHIFT));
    };
    // fn may not change the set of areas, but the walk works on a copy to
    // be safe; a handful of areas (the common case) are copied to the
    // stack rather than the heap.
    auto walk = [&](auto first, auto last, std::size_t n) {
        std::array<Vma*, 16> small;
        std::vector<Vma*> big;
        Vma** vmas = small.data();
        if (n > small.size()) {
            big.resize(n);
            vmas = big.data();
        }
        std::copy(first, last, vmas);
        for (std::size_t i = 0; i < n; i++) visit(*vmas[i]);
    };
    if (p.test(PG_anon)) {
        AnonVma* av = k.anon_vmas->get(p.mapping);
        if (!av) return 0;
        walk(av->vmas.begin(), av->vmas.end(), av->vmas.size());
    } else if (p.mapping) {
        AddressSpace* as = k.files->mapping(p.mapping);
        if (!as) return 0;
        walk(as->i_mmap.begin(), as->i_mmap.end(), as->i_mmap.size());
    }
    return visited;
}

void validate_anon_vmas(const Kernel& k) {
    auto fail = [](const std::string& what) { throw std::logic_error("anon_vma: " + what); };
    k.anon_vmas->for_each([&](const AnonVma& av) {
        int children = 0;
        k.anon_vmas->for_each([&](const AnonVma& o) {
            if (o.parent == &av && &o != &av) children++;
        });
        if (static_cast<unsigned>(children) != av.num_children)
            fail("num_children differs from the children");
        if (av.refcount != static_cast<int>(av.vmas.size()) + children)
            fail("refcount " + std::to_string(av.refcount) + " != areas + children");
        unsigned active = 0;
        for (const Vma* v : av.vmas) {
            if (std::find(v->anon_vma_chain.begin(), v->anon_vma_chain.end(), &av) == v->anon_vma_chain.end())
                fail("area in the set without a chain link");
            if (v->anon_vma == &av) active++;
        }
        if (active != av.num_active_vmas) fail("num_active_vmas differs");
        if (!av.root || !av.parent) fail("missing root or parent");
    });
}

bool try_to_unmap_file(Kernel& k, Pfn pfn, TlbBatch& batch) {
    Page& p = page_of(k, pfn);
    const Inode* inode = k.files->inode_of_mapping(p.mapping);
    rmap_walk(k, pfn, [&](Vma& vma, uint64_t addr) {
        if (!vma.vm_mm || (vma.vm_flags & VM_LOCKED)) return;
        MmStruct& mm = *vma.vm_mm;
        uint64_t* pte = pte_lookup(k, mm, addr);
        if (!pte || !pte_present(*pte) || pte_special(*pte) || pte_pfn(*pte) != pfn) return;
        const uint64_t old = *pte;
        *pte = 0;
        if (!k.tlbs.empty()) {
            // should_defer_flush(): batch when other CPUs have the mm loaded.
            unsigned cpu = static_cast<unsigned>(k.current_cpu);
            if (mm.tlb.cpumask.any_but(cpu))
                arch_tlbbatch_add_pending(batch, mm.tlb);
            else
                flush_tlb_page(k.tlbs, cpu, mm.tlb, VirtAddr(addr));
        }
        if (pte_dirty(old)) mark_page_dirty(k, pfn, inode);
        mm.update_hiwater_rss();
        mm.add_mm_counter(inode && inode->shmem ? MM_SHMEMPAGES : MM_FILEPAGES, -1);
        page_remove_rmap(k, pfn);
        put_page(k, pfn);
    });
    return p.mapcount == 0;
}

namespace {

void unmap_flush(Kernel& k, MmStruct& mm, uint64_t addr, TlbBatch& batch) {
    if (k.tlbs.empty()) return;
    unsigned cpu = static_cast<unsigned>(k.current_cpu);
    if (mm.tlb.cpumask.any_but(cpu))
        arch_tlbbatch_add_pending(batch, mm.tlb);
    else
        flush_tlb_page(k.tlbs, cpu, mm.tlb, VirtAddr(addr));
}

}  // namespace

bool try_to_unmap_anon(Kernel& k, Pfn pfn, TlbBatch& batch) {
    Page& p = page_of(k, pfn);
    bool abort = false;
    rmap_walk(k, pfn, [&](Vma& vma, uint64_t addr) {
        if (abort || !vma.vm_mm || (vma.vm_flags & VM_LOCKED)) return;
        MmStruct& mm = *vma.vm_mm;
        uint64_t* pte = pte_lookup(k, mm, addr);
        if (!pte || !pte_present(*pte) || pte_special(*pte) || pte_pfn(*pte) != pfn) return;
        const uint64_t old = *pte;
        if (!p.test(PG_swapbacked)) {
            // A lazily freed page: discard it unless it was written since
            // MADV_FREE (the entry or the page dirty), in which case it is
            // swap-backed again and reclaim must give up on it.
            if (pte_dirty(old) || p.test(PG_dirty)) {
                p.set(PG_swapbacked);
                abort = true;
                return;
            }
            *pte = 0;
            unmap_flush(k, mm, addr, batch);
            mm.update_hiwater_rss();
            mm.add_mm_counter(MM_ANONPAGES, -1);
            page_remove_rmap(k, pfn);
            p.refcount--;
            return;
        }
        const SwpEntry e = folio_swap_entry(k, pfn);
        if (swap_duplicate(k, e) < 0) {
            abort = true;
            return;
        }
        const bool exclusive = p.mapcount == 1;
        *pte = 0;
        unmap_flush(k, mm, addr, batch);
        if (pte_dirty(old)) p.set(PG_dirty);
        uint64_t swp = swp_pte(swp_type(e), swp_offset(e));
        if (exclusive) swp |= _PAGE_SWP_EXCLUSIVE;
        if (old & _PAGE_SOFT_DIRTY) swp |= _PAGE_SWP_SOFT_DIRTY;
        *pte = swp;
        mm.update_hiwater_rss();
        mm.add_mm_counter(MM_ANONPAGES, -1);
        mm.add_mm_counter(MM_SWAPENTS, 1);
        page_remove_rmap(k, pfn);
        p.refcount--;
    });
    return p.mapcount == 0;
}

}  // namespace mmsim
