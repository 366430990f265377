// mremap(2): resizing and moving a mapping (mm/mremap.c).
//
// mremap takes a range [addr, addr + old_len) that must start inside one
// area and makes it new_len long, keeping the contents. There are four
// ways it can go:
//
//   shrink     [ rw-p aaaaaaaaaaaa )  ->  [ rw-p aaaa )          the tail is
//                                                                 unmapped, in place
//   grow       [ rw-p aaaa )  free    ->  [ rw-p aaaa.... )       the area is expanded
//   in place                                                      (only when the range
//                                                                 ends at the area's end
//                                                                 and the pages above
//                                                                 are free)
//   move       [ rw-p aaaa )[ other ] ->  [ other ] ... [ rw-p aaaa.... )
//   (MAYMOVE)                             a new area is found (or MREMAP_FIXED gives
//                                         it), the page-table entries move, the old
//                                         range is unmapped
//   DONTUNMAP  like a move of the same size, but the old area stays, empty
//
// A move copies no data: move_page_tables() takes each entry out of the old
// slot and puts it, unchanged but soft-dirty, in the new one, so the same
// frames appear at the new addresses. The new area keeps the old vm_pgoff
// and anon_vma chain, so an anonymous page's index (the offset it got at
// its first fault) still locates it through rmap, and a file page's offset
// still matches. RSS does not change. An anonymous area that never had a
// page (no anon_vma yet) gets the new address as its pgoff, as copy_vma()
// gives it, so it can merge with neighbours there.
//
// Accounting: growth of a VM_ACCOUNT area is charged to the overcommit
// counter up front (the delta; the whole new length with DONTUNMAP);
// RLIMIT_AS applies to the growth (may_expand_vm); locked areas add to
// locked_vm and their new pages are faulted in afterwards (mm_populate),
// as mlock promises. The kernel moves whole PTE tables when a 2 MiB span
// lines up (move_normal_pmd); we move entry by entry into freshly allocated
// tables and free the old ones when the source is unmapped, which leaves
// the same pages mapped and, in the common cases, the same number of
// tables.
//
// Since 6.17 a pure move (MREMAP_FIXED, same size) may span several areas
// and moves each of them, keeping the gaps between them (remap_move()).
// Growing across an area boundary is EFAULT; shrinking across it is fine,
// because only the part being unmapped crosses it.
#include <algorithm>
#include <vector>

#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"

namespace mmsim {

namespace {

uint64_t page_align(uint64_t v) { return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

// mlock_future_ok(): growing a locked area must stay within
// RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK. Simulated programs run
// as root (like the oracle programs on the host), so the limit never bites.
bool mlock_future_ok(const MmStruct& mm, uint64_t flags, uint64_t bytes) {
    (void)mm;
    (void)flags;
    (void)bytes;
    return true;
}

// find_vma_intersection().
const Vma* find_vma_intersection(const MmStruct& mm, uint64_t start, uint64_t end) {
    const Vma* v = find_vma(mm, start);
    return v && v->vm_start < end ? v : nullptr;
}

// mm_populate() after growing a locked area: errors are ignored.
void populate_locked(Kernel& k, Task& t, uint64_t start, uint64_t len) {
    MmStruct& mm = *t.mm;
    uint64_t end = start + len;
    for (uint64_t a = start; a < end;) {
        Vma* v = find_vma(mm, a);
        if (!v || v->vm_start >= end) break;
        uint64_t s = std::max(a, v->vm_start), e = std::min(end, v->vm_end);
        a = e;
        if (v->vm_flags & (VM_IO | VM_PFNMAP | VM_LOCKONFAULT)) continue;
        if (!(v->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) continue;
        populate_range(k, t, s, e, (v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE);
    }
}

// move_page_tables(): moves every entry of [old_addr, old_addr + len) to
// the same offset from new_addr. Returns the bytes moved (len unless a page
// table could not be allocated).
uint64_t move_page_tables(Kernel& k, MmStruct& mm, uint64_t old_addr, uint64_t new_addr, uint64_t len) {
    if (!len) return 0;
    std::vector<uint64_t> addrs;
    walk_ptes(k, mm, old_addr, old_addr + len, [&](uint64_t a, uint64_t&) { addrs.push_back(a); });
    uint64_t done = len;
    for (uint64_t a : addrs) {
        uint64_t* dst = pte_alloc(k, mm, new_addr + (a - old_addr));
        if (!dst) {
            done = a - old_addr;
            break;
        }
        uint64_t* src = pte_lookup(k, mm, a);
        uint64_t e = *src;
        *src = 0;
        // move_soft_dirty_pte(): userspace can see the entries moved.
        if (pte_present(e))
            e |= _PAGE_SOFT_DIRTY;
        else if (e)
            e |= _PAGE_SWP_SOFT_DIRTY;
        *dst = e;
    }
    flush_tlb_range(k, mm, old_addr, old_addr + len, false);
    return done;
}

enum class RemapType : uint8_t { NoResize, Shrink, Expand };

// struct vma_remap_struct.
struct Remap {
    uint64_t addr = 0, old_len = 0, new_len = 0;
    unsigned flags = 0;
    uint64_t new_addr = 0;
    Vma* vma = nullptr;
    uint64_t delta = 0;
    RemapType type = RemapType::NoResize;
    bool populate_expand = false;
    int64_t charged = 0;

    bool implies_new_addr() const { return flags & (MREMAP_FIXED | MREMAP_DONTUNMAP); }
    bool move_only() const { return (flags & MREMAP_FIXED) && old_len == new_len; }
    void set_delta() {
        delta = old_len > new_len ? old_len - new_len : new_len - old_len;
        type = delta == 0 ? RemapType::NoResize : old_len > new_len ? RemapType::Shrink : RemapType::Expand;
    }
};

// check_mremap_params().
Result<void> check_mremap_params(Kernel& k, const MmStruct& mm, const Remap& r) {
    if (r.flags & ~static_cast<unsigned>(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
        return Errno::INVAL;
    if (r.addr & (PAGE_SIZE - 1)) return Errno::INVAL;
    if (!r.new_len) return Errno::INVAL;  // zero, or so large that aligning it wrapped
    if (!r.implies_new_addr()) return {};
    if (r.new_len > mm.task_size || r.new_addr > mm.task_size - r.new_len) return Errno::INVAL;
    if (r.new_addr & (PAGE_SIZE - 1)) return Errno::INVAL;
    if (!(r.flags & MREMAP_MAYMOVE)) return Errno::INVAL;
    if ((r.flags & MREMAP_DONTUNMAP) && r.old_len != r.new_len) return Errno::INVAL;
    // vrm_overlaps(): the target may not overlap the source.
    if (r.addr + r.old_len > r.new_addr && r.new_addr + r.new_len > r.addr) return Errno::INVAL;
    // Worst case both ranges split in three: stay clear of the limit.
    if (mm.map_count + 2 >= k.vm.max_map_count - 3) return Errno::NOMEM;
    return {};
}

// remap_is_valid().
Result<void> remap_is_valid(const MmStruct& mm, Remap& r) {
    const Vma& vma = *r.vma;
    if (!r.old_len && !(vma.vm_flags & (VM_SHARED | VM_MAYSHARE))) return Errno::INVAL;
    if ((r.flags & MREMAP_DONTUNMAP) && (vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP))) return Errno::INVAL;
    // Only the part kept must lie in the area: a shrink may unmap across
    // the boundary.
    uint64_t old_len = r.type == RemapType::Shrink ? r.new_len : r.old_len;
    if (old_len > vma.vm_end - r.addr) return Errno::FAULT;
    if (r.new_len == old_len) return {};
    uint64_t pgoff = vma.vm_pgoff + ((r.addr - vma.vm_start) >> PAGE_SHIFT);
    if (pgoff + (r.new_len >> PAGE_SHIFT) < pgoff) return Errno::INVAL;
    if (vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP)) return Errno::FAULT;
    if (!mlock_future_ok(mm, vma.vm_flags, r.delta)) return Errno::AGAIN;
    if (!may_expand_vm(mm, vma.vm_flags, r.delta >> PAGE_SHIFT)) return Errno::NOMEM;
    return {};
}

// check_prep_vma().
Result<void> check_prep_vma(const MmStruct& mm, Remap& r) {
    if (!r.vma) return Errno::FAULT;
    r.set_delta();
    if (!r.implies_new_addr()) r.new_addr = r.addr;
    if (r.type == RemapType::Expand || r.implies_new_addr()) {
        if (auto v = remap_is_valid(mm, r); !v) return v;
    }
    // Growing a locked area: fault the new part in afterwards.
    if (r.type == RemapType::Expand && (r.vma->vm_flags & VM_LOCKED)) r.populate_expand = true;
    return {};
}

// vrm_calc_charge().
Result<void> calc_charge(Kernel& k, MmStruct& mm, Remap& r) {
    if (!(r.vma->vm_flags & VM_ACCOUNT)) return {};
    int64_t pages = static_cast<int64_t>(((r.flags & MREMAP_DONTUNMAP) ? r.new_len : r.delta) >> PAGE_SHIFT);
    if (auto e = vm_enough_memory(k, &mm, pages); !e) return e;
    r.charged = pages;
    return {};
}

// vrm_set_new_addr().
Result<void> set_new_addr(Kernel& k, MmStruct& mm, Remap& r) {
    uint64_t hint = r.implies_new_addr() ? r.new_addr : 0;
    unsigned map_flags = (r.flags & MREMAP_FIXED) ? MAP_FIXED : 0u;
    if (r.vma->vm_flags & VM_MAYSHARE) map_flags |= MAP_SHARED;
    uint64_t pgoff = r.vma->vm_pgoff + ((r.addr - r.vma->vm_start) >> PAGE_SHIFT);
    auto a = get_unmapped_area(k, mm, hint, r.new_len, map_flags, r.vma->vm_file, pgoff);
    if (!a) return a.error();
    r.new_addr = *a;
    return {};
}

// copy_vma(): a new area for [new_addr, new_addr + new_len) with the
// source's properties, joined to its anon_vmas and file.
Vma& copy_vma(Kernel& k, MmStruct& mm, const Vma& src, uint64_t new_addr, uint64_t new_len, uint64_t pgoff) {
    if (src.is_anonymous() && !src.anon_vma) pgoff = new_addr >> PAGE_SHIFT;
    auto v = std::make_unique<Vma>(src);
    v->anon_vma_chain.clear();
    v->vm_start = new_addr;
    v->vm_end = new_addr + new_len;
    v->vm_pgoff = pgoff;
    anon_vma_clone(k, *v, src);
    return insert_vma(k, mm, std::move(v));
}

// move_vma().
Result<uint64_t> move_vma(Kernel& k, MmStruct& mm, Remap& r) {
    if (mm.map_count >= k.vm.max_map_count - 3) return Errno::NOMEM;  // prep_move_vma()
    if (auto e = calc_charge(k, mm, r); !e) return e.error();

    uint64_t hiwater_vm = mm.hiwater_vm;
    Vma& old = *r.vma;
    uint64_t new_pgoff = old.vm_pgoff + ((r.addr - old.vm_start) >> PAGE_SHIFT);
    // insert_vma() accounts new_len to total_vm and the kind counters
    // (vrm_stat_account()); the unmap below takes old_len off again.
    Vma* nv = &copy_vma(k, mm, old, r.new_addr, r.new_len, new_pgoff);
    if (nv->vm_flags & VM_LOCKED) mm.locked_vm += r.new_len >> PAGE_SHIFT;

    uint64_t moved = move_page_tables(k, mm, r.addr, r.new_addr, r.old_len);
    bool failed = moved < r.old_len;
    if (failed) {
        // Put back what moved and unmap the new area instead of the old.
        move_page_tables(k, mm, r.new_addr, r.addr, moved);
        r.vma = nv;
        r.addr = r.new_addr;
        r.old_len = r.new_len;
    }
    Vma* src = r.vma;
    if (!failed && (r.flags & MREMAP_DONTUNMAP)) {
        // dontunmap_complete(): the old area stays, unlocked and
        // unaccounted; locked_vm is left alone, as the kernel leaves it.
        uint64_t start = r.addr, end = r.addr + r.old_len;
        src->vm_flags &= ~(VM_LOCKED_MASK | VM_ACCOUNT);
        if (start == src->vm_start && end == src->vm_end) unlink_anon_vmas(k, *src);
    } else if (r.old_len) {
        // unmap_source_vma(): the charge already covers the new area, so
        // the unmap must not give the old pages back; VM_ACCOUNT is lifted
        // for the unmap and restored on what remains on either side.
        bool accountable = (src->vm_flags & VM_ACCOUNT) && !(r.flags & MREMAP_DONTUNMAP);
        uint64_t vm_start = src->vm_start, vm_end = src->vm_end;
        uint64_t end = r.addr + r.old_len;
        if (accountable) src->vm_flags &= ~static_cast<uint64_t>(VM_ACCOUNT);
        if (auto e = do_vmi_munmap(k, mm, r.addr, end); !e) {
            k.vm_committed_pages += static_cast<int64_t>(r.old_len >> PAGE_SHIFT);
        } else if (accountable) {
            if (vm_start < r.addr)
                if (Vma* p = vma_lookup(mm, r.addr - PAGE_SIZE)) p->vm_flags |= VM_ACCOUNT;
            if (vm_end > end)
                if (Vma* n = vma_lookup(mm, end)) n->vm_flags |= VM_ACCOUNT;
        }
    }
    if (!failed) {
        // copy_vma() merges the new area with its new neighbours.
        Vma* landed = vma_lookup(mm, r.new_addr);
        if (landed) vma_merge_neighbours(k, mm, *landed);
    }
    mm.hiwater_vm = hiwater_vm;
    mm.update_hiwater_vm();
    if (failed) return Errno::NOMEM;
    return r.new_addr;
}

// vma_expandable().
bool vma_expandable(const MmStruct& mm, const Vma& vma, uint64_t delta) {
    uint64_t end = vma.vm_end + delta;
    if (end < vma.vm_end) return false;
    if (find_vma_intersection(mm, vma.vm_end, end)) return false;
    return end - vma.vm_start <= mm.task_size && vma.vm_start <= mm.task_size - (end - vma.vm_start);
}

// expand_vma_in_place(): vma_merge_extend() of the area by delta.
Result<void> expand_in_place(Kernel& k, MmStruct& mm, Remap& r) {
    if (auto e = calc_charge(k, mm, r); !e) return e;
    Vma& v = *r.vma;
    uint64_t old_end = v.vm_end;
    auto node = mm.vmas.extract(old_end);
    v.vm_end = old_end + r.delta;
    node.key() = v.vm_end;
    mm.vmas.insert(std::move(node));
    mm.vma_cache = nullptr;
    vm_stat_account(mm, v.vm_flags, static_cast<int64_t>(r.delta >> PAGE_SHIFT));
    if (v.vm_flags & VM_LOCKED) mm.locked_vm += r.delta >> PAGE_SHIFT;
    mm.update_hiwater_vm();
    r.vma = &vma_merge_neighbours(k, mm, v);
    return {};
}

// expand_vma().
Result<uint64_t> expand_vma(Kernel& k, MmStruct& mm, Remap& r) {
    if (r.vma->vm_end - r.addr == r.old_len && vma_expandable(mm, *r.vma, r.delta)) {
        if (auto e = expand_in_place(k, mm, r); !e) return e.error();
        return r.addr;
    }
    if (!(r.flags & MREMAP_MAYMOVE)) return Errno::NOMEM;
    if (auto e = set_new_addr(k, mm, r); !e) return e.error();
    return move_vma(k, mm, r);
}

// shrink_vma(): unmaps the tail; reloads the area.
Result<void> shrink_vma(Kernel& k, MmStruct& mm, Remap& r) {
    if (auto e = do_vmi_munmap(k, mm, r.addr + r.new_len, r.addr + r.old_len); !e) return e;
    r.vma = vma_lookup(mm, r.addr);
    if (!r.vma) return Errno::FAULT;
    return {};
}

// mremap_at(): resize in place, or move to any free place.
Result<uint64_t> mremap_at(Kernel& k, MmStruct& mm, Remap& r) {
    switch (r.type) {
        case RemapType::NoResize:
            return r.addr;
        case RemapType::Shrink:
            if (auto e = shrink_vma(k, mm, r); !e) return e.error();
            return r.addr;
        case RemapType::Expand:
            return expand_vma(k, mm, r);
    }
    return Errno::INVAL;
}

// mremap_to(): move to new_addr (MREMAP_FIXED) or anywhere (DONTUNMAP).
Result<uint64_t> mremap_to(Kernel& k, MmStruct& mm, Remap& r) {
    if (r.flags & MREMAP_FIXED) {
        if (auto e = do_vmi_munmap(k, mm, r.new_addr, r.new_addr + r.new_len); !e) return e.error();
        r.vma = vma_lookup(mm, r.addr);
        if (!r.vma) return Errno::FAULT;
    }
    if (r.type == RemapType::Shrink) {
        if (auto e = shrink_vma(k, mm, r); !e) return e.error();
        r.old_len = r.new_len;
    }
    if ((r.flags & MREMAP_DONTUNMAP) && !may_expand_vm(mm, r.vma->vm_flags, r.old_len >> PAGE_SHIFT))
        return Errno::NOMEM;
    if (auto e = set_new_addr(k, mm, r); !e) return e.error();
    return move_vma(k, mm, r);
}

// remap_move(): MREMAP_FIXED without a size change moves every area in
// the range, split as needed, keeping the gaps between them.
Result<uint64_t> remap_move(Kernel& k, MmStruct& mm, Remap& r) {
    uint64_t start = r.addr, end = r.addr + r.old_len;
    uint64_t target = r.new_addr;
    Result<uint64_t> res = Errno::FAULT;
    bool seen = false, allowed = true;
    uint64_t last_end = 0;
    uint64_t cursor = start;
    while (cursor < end) {
        Vma* vma = find_vma(mm, cursor);
        if (!vma || vma->vm_start >= end) break;
        uint64_t addr = std::max(vma->vm_start, start);
        uint64_t len = std::min(end, vma->vm_end) - addr;
        if (!allowed) return Errno::FAULT;
        if (!seen && start < vma->vm_start) return Errno::FAULT;  // no gap at the start
        uint64_t offset = seen ? vma->vm_start - last_end : 0;
        last_end = vma->vm_end;
        Remap piece;
        piece.vma = vma;
        piece.addr = addr;
        piece.new_addr = target + offset;
        piece.old_len = piece.new_len = len;
        piece.flags = r.flags;
        // vma_multi_allowed(): a regular file's mapping may be placed by
        // its filesystem's get_unmapped_area (ext4 aligns for THP), so
        // only shmem and anonymous areas move in batches.
        allowed = !vma->vm_file || vma->vm_file->shmem;
        if (seen && !allowed) return Errno::FAULT;
        if (auto e = check_prep_vma(mm, piece); !e) return e.error();
        auto moved = mremap_to(k, mm, piece);
        if (!moved) return moved;
        if (!seen) res = *moved;
        seen = true;
        target = *moved + len;
        cursor = addr + len;
    }
    return res;
}

}  // namespace

Result<uint64_t> do_mremap(Kernel& k, Task& t, uint64_t addr, uint64_t old_len, uint64_t new_len,
                           unsigned flags, uint64_t new_addr) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    Remap r;
    r.addr = addr;
    r.old_len = page_align(old_len);
    r.new_len = page_align(new_len);
    r.flags = flags;
    r.new_addr = new_addr;
    if (auto e = check_mremap_params(k, mm, r); !e) return e.error();

    Result<uint64_t> res = Errno::INVAL;
    if (r.move_only()) {
        res = remap_move(k, mm, r);
    } else {
        r.vma = vma_lookup(mm, r.addr);
        if (auto e = check_prep_vma(mm, r); !e) return e.error();
        res = r.implies_new_addr() ? mremap_to(k, mm, r) : mremap_at(k, mm, r);
    }
    if (res && r.populate_expand) populate_locked(k, t, r.new_addr + r.old_len, r.delta);
    return res;
}

}  // namespace mmsim
