// madvise(2): a process's hints about how it will use its memory
// (mm/madvise.c).
//
// Advice comes in three kinds:
//
//   behaviours kept in vm_flags      NORMAL/RANDOM/SEQUENTIAL (readahead), DONTFORK/DOFORK,
//                                    WIPEONFORK/KEEPONFORK, DONTDUMP/DODUMP, HUGEPAGE/
//                                    NOHUGEPAGE, MERGEABLE/UNMERGEABLE (KSM). Like mprotect,
//                                    the areas are split at the ends of the range, get the
//                                    new flag, and merge again with alike neighbours:
//
//       [ rw-p 0x1000 ............ 0x5000 )   madvise(0x2000, 0x1000, MADV_DONTFORK)
//       [ rw-p ][ rw-p dc ][ rw-p .... )       three areas; DOFORK reunites them
//
//   actions on pages                 DONTNEED (drop the pages now: the next touch of an
//                                    anonymous page reads zeros), FREE (the pages may be
//                                    dropped later if memory is short, unless written
//                                    again), REMOVE (punch a hole in a shared file),
//                                    WILLNEED (read the file range into the page cache),
//                                    POPULATE_READ/WRITE (fault everything in now),
//                                    COLD/PAGEOUT (deactivate or reclaim now)
//
// The range is walked area by area (madvise_walk_vmas()). A hole in it does
// not stop the walk: the advice is applied to every mapped part and the
// call then fails with ENOMEM, so a program learns about the hole after the
// work is done. An unaligned start is EINVAL, a zero length succeeds at
// once, an unknown advice is EINVAL.
//
// What the simulator does not have yet: an LRU (COLD and PAGEOUT are
// accepted and do nothing), KSM (MERGEABLE only sets the flag), THP
// collapse, guard regions and memory-failure injection (MADV_COLLAPSE,
// MADV_GUARD_*, MADV_HWPOISON and MADV_SOFT_OFFLINE are refused with
// EINVAL). MADV_FREE marks pages lazily free the kernel's way (clean, not
// swap-backed, PGLAZYFREE counted); dropping them is reclaim's job.
#include <algorithm>
#include <vector>

#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/swap.h"
#include "mm/vmscan.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// madvise_behavior_valid() for the kernel the host runs (KSM and THP
// configured; memory-failure injection not modelled).
bool behavior_valid(int advice) {
    switch (advice) {
        case MADV_DOFORK:
        case MADV_DONTFORK:
        case MADV_NORMAL:
        case MADV_SEQUENTIAL:
        case MADV_RANDOM:
        case MADV_REMOVE:
        case MADV_WILLNEED:
        case MADV_DONTNEED:
        case MADV_DONTNEED_LOCKED:
        case MADV_FREE:
        case MADV_COLD:
        case MADV_PAGEOUT:
        case MADV_POPULATE_READ:
        case MADV_POPULATE_WRITE:
        case MADV_GUARD_INSTALL:
        case MADV_GUARD_REMOVE:
        case MADV_MERGEABLE:
        case MADV_UNMERGEABLE:
        case MADV_HUGEPAGE:
        case MADV_NOHUGEPAGE:
        case MADV_COLLAPSE:
        case MADV_DONTDUMP:
        case MADV_DODUMP:
        case MADV_WIPEONFORK:
        case MADV_KEEPONFORK:
            return true;
        default:
            return false;
    }
}

// vma_is_anonymous(): no vm_ops. Shared anonymous memory is a shmem file,
// so it does not count.
bool vma_is_anonymous(const Vma& v) { return v.is_anonymous(); }

// can_madv_lru_vma().
bool can_madv_lru_vma(const Vma& v) { return !(v.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)); }

// madvise_update_vma(): the range [start, end) of vma gets new_flags;
// split at the ends, then merged with alike neighbours.
Result<void> update_vma(Kernel& k, MmStruct& mm, Vma* vma, uint64_t start, uint64_t end, uint64_t new_flags) {
    if (new_flags == vma->vm_flags) return {};
    if (vma->vm_start < start) {
        auto r = split_vma(k, mm, *vma, start);
        if (!r) return r.error();
        vma = *r;
    }
    if (vma->vm_end > end) {
        auto r = split_vma(k, mm, *vma, end);
        if (!r) return r.error();
    }
    vm_stat_account(mm, vma->vm_flags, -static_cast<int64_t>(vma->pages()));
    vma->vm_flags = new_flags;
    vm_stat_account(mm, new_flags, static_cast<int64_t>(vma->pages()));
    vma_merge_neighbours(k, mm, *vma);
    return {};
}

// The flag behaviours of madvise_vma_behavior().
Result<void> flag_behavior(Kernel& k, MmStruct& mm, Vma* vma, uint64_t start, uint64_t end, int advice) {
    uint64_t f = vma->vm_flags;
    switch (advice) {
        case MADV_NORMAL:
            f &= ~static_cast<uint64_t>(VM_RAND_READ | VM_SEQ_READ);
            break;
        case MADV_SEQUENTIAL:
            f = (f & ~static_cast<uint64_t>(VM_RAND_READ)) | VM_SEQ_READ;
            break;
        case MADV_RANDOM:
            f = (f & ~static_cast<uint64_t>(VM_SEQ_READ)) | VM_RAND_READ;
            break;
        case MADV_DONTFORK:
            f |= VM_DONTCOPY;
            break;
        case MADV_DOFORK:
            if (f & VM_IO) return Errno::INVAL;
            f &= ~static_cast<uint64_t>(VM_DONTCOPY);
            break;
        case MADV_WIPEONFORK:
            // Only private anonymous memory can be wiped in the child.
            if (vma->vm_file || (f & VM_SHARED)) return Errno::INVAL;
            f |= VM_WIPEONFORK;
            break;
        case MADV_KEEPONFORK:
            f &= ~static_cast<uint64_t>(VM_WIPEONFORK);
            break;
        case MADV_DONTDUMP:
            f |= VM_DONTDUMP;
            break;
        case MADV_DODUMP:
            if (!(f & VM_HUGETLB) && (f & VM_SPECIAL)) return Errno::INVAL;
            f &= ~static_cast<uint64_t>(VM_DONTDUMP);
            break;
        case MADV_MERGEABLE:
            // ksm_madvise(): areas KSM cannot scan are left alone, silently
            // (vma_ksm_compatible()).
            if (f & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP))
                return {};
            f |= VM_MERGEABLE;
            break;
        case MADV_UNMERGEABLE:
            f &= ~static_cast<uint64_t>(VM_MERGEABLE);
            break;
        case MADV_HUGEPAGE:
            f = (f & ~static_cast<uint64_t>(VM_NOHUGEPAGE)) | VM_HUGEPAGE;
            break;
        case MADV_NOHUGEPAGE:
            f = (f & ~static_cast<uint64_t>(VM_HUGEPAGE)) | VM_NOHUGEPAGE;
            break;
        default:
            return Errno::INVAL;
    }
    return update_vma(k, mm, vma, start, end, f);
}

// madvise_dontneed_free_valid_vma().
bool dontneed_free_valid(const Vma& v, int advice) {
    if (v.vm_flags & VM_HUGETLB) return advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED;
    uint64_t forbidden = VM_PFNMAP;
    if (advice != MADV_DONTNEED_LOCKED) forbidden |= VM_LOCKED;
    return !(v.vm_flags & forbidden);
}

// madvise_free_single_vma(): pages only this mapping holds become lazily
// free: their entries and the pages are cleaned and the pages lose
// PG_swapbacked (folio_mark_lazyfree()), so reclaim may discard them
// instead of swapping them; a write before that dirties the entry again
// and keeps the page. Shared pages (after fork) and the zero page are
// left alone.
void madvise_free(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end) {
    walk_ptes(k, mm, start, end, [&](uint64_t, uint64_t& e) {
        if (!pte_present(e) || pte_special(e)) return;
        Page& p = k.page(pte_pfn(e));
        if (!p.test(PG_anon) || p.mapcount != 1) return;
        e &= ~(_PAGE_DIRTY | _PAGE_ACCESSED);
        p.clear(PG_dirty);
        folio_mark_lazyfree(k, pte_pfn(e));
    });
    flush_tlb_range(k, mm, start, end, false);
}

// madvise_cold_or_pageout_pte_range() and reclaim_pages(): the pages of
// the range that only this mapping holds and that sit on an LRU list lose
// their accessed bits and PG_referenced (an active one keeps
// PG_workingset, so a quick refault is recognised). MADV_COLD then moves
// the active ones to the head of their inactive list; MADV_PAGEOUT
// isolates them all and reclaims them at once (vmscan.cpp), anonymous
// pages to swap. File pages are paged out too: the simulated user may
// write every file (can_do_file_pageout()).
void madvise_cold_or_pageout(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, bool pageout) {
    std::vector<Pfn> list;
    bool cleared_young = false;
    walk_ptes(k, mm, start, end, [&](uint64_t, uint64_t& e) {
        if (!pte_present(e) || pte_special(e)) return;
        const Pfn pfn = pte_pfn(e);
        Page& p = k.page(pfn);
        if (!p.test(PG_lru) || p.mapcount != 1) return;
        if (pte_young(e)) {
            e &= ~_PAGE_ACCESSED;
            cleared_young = true;
        }
        p.clear(PG_referenced);
        if (p.test(PG_active)) p.set(PG_workingset);
        if (!pageout) {
            folio_deactivate(k, pfn);
            return;
        }
        if (folio_isolate_lru(k, pfn)) {
            if (p.test(PG_unevictable))
                folio_putback_lru(k, pfn);
            else
                list.push_back(pfn);
        }
    });
    if (cleared_young) flush_tlb_range(k, mm, start, end, false);
    if (!list.empty()) reclaim_pages(k, list);
}

// madvise_willneed() for a file: vfs_fadvise(POSIX_FADV_WILLNEED) reads
// the range into the page cache without mapping it. Anonymous memory would
// be read back from swap; there is no swap yet.
Result<void> madvise_willneed(Kernel& k, const Vma& v, uint64_t start, uint64_t end) {
    if (!v.vm_file) return {};
    Inode& file = *v.vm_file;
    uint64_t file_pages = (file.size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    for (uint64_t a = start; a < end; a += PAGE_SIZE) {
        uint64_t index = v.linear_page_index(a);
        if (index >= file_pages) break;
        ReadIn read_in = ReadIn::No;
        // Readahead gives up quietly when memory is short.
        if (!filemap_get_or_read(k, file, index, &read_in)) break;
    }
    return {};
}

// madvise_remove(): punches a hole in a shared writable file mapping
// (vfs_fallocate(FALLOC_FL_PUNCH_HOLE)): every process's entries for the
// pages go (unmap_mapping_range) and the pages leave the page cache.
Result<void> madvise_remove(Kernel& k, const Vma& v, uint64_t start, uint64_t end) {
    if (v.vm_flags & VM_LOCKED) return Errno::INVAL;
    if (!v.vm_file) return Errno::INVAL;
    if ((v.vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE)) return Errno::ACCES;
    Inode& file = *v.vm_file;
    uint64_t first = v.linear_page_index(start), last = v.linear_page_index(end);  // [first, last)
    std::vector<Vma*> mappers(file.mapping.i_mmap.begin(), file.mapping.i_mmap.end());
    for (Vma* m : mappers) {
        uint64_t m_first = m->vm_pgoff, m_last = m->vm_pgoff + m->pages();
        uint64_t lo = std::max(first, m_first), hi = std::min(last, m_last);
        if (lo >= hi) continue;
        uint64_t a = m->vm_start + ((lo - m->vm_pgoff) << PAGE_SHIFT);
        uint64_t b = m->vm_start + ((hi - m->vm_pgoff) << PAGE_SHIFT);
        zap_page_range(k, *m->vm_mm, *m, a, b);
        flush_tlb_range(k, *m->vm_mm, a, b, false);
    }
    std::vector<uint64_t> indexes;
    for (auto it = file.mapping.pages.lower_bound(first); it != file.mapping.pages.end() && it->first < last;
         ++it)
        indexes.push_back(it->first);
    for (uint64_t index : indexes) {
        Pfn pfn = file.mapping.pages.at(index);
        if (k.page(pfn).mapcount) continue;  // a private COW copy is anonymous; this cannot happen
        if (file.shmem) mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_SHMEM, -1);
        filemap_remove_page(k, file, index);
    }
    return {};
}

// madvise_vma_behavior() for one area's part [start, end).
Result<void> vma_behavior(Kernel& k, MmStruct& mm, Vma* vma, uint64_t start, uint64_t end, int advice) {
    switch (advice) {
        case MADV_REMOVE:
            return madvise_remove(k, *vma, start, end);
        case MADV_WILLNEED:
            return madvise_willneed(k, *vma, start, end);
        case MADV_COLD:
        case MADV_PAGEOUT:
            if (!can_madv_lru_vma(*vma)) return Errno::INVAL;
            madvise_cold_or_pageout(k, mm, start, end, advice == MADV_PAGEOUT);
            return {};
        case MADV_FREE:
        case MADV_DONTNEED:
        case MADV_DONTNEED_LOCKED:
            if (!dontneed_free_valid(*vma, advice)) return Errno::INVAL;
            if (advice == MADV_FREE) {
                if (!vma_is_anonymous(*vma)) return Errno::INVAL;
                madvise_free(k, mm, start, end);
                return {};
            }
            zap_page_range(k, mm, *vma, start, end);
            flush_tlb_range(k, mm, start, end, false);
            return {};
        case MADV_COLLAPSE:
        case MADV_GUARD_INSTALL:
        case MADV_GUARD_REMOVE:
            return Errno::INVAL;  // not modelled
        default:
            return flag_behavior(k, mm, vma, start, end, advice);
    }
}

// madvise_populate(): faults the range in as GUP with
// FOLL_MADV_POPULATE would. A hole is ENOMEM; an area the access is not
// allowed in (or VM_IO/VM_PFNMAP) EINVAL; a fault that would signal
// EFAULT; no memory ENOMEM.
Result<void> madvise_populate(Kernel& k, Task& t, uint64_t start, uint64_t end, bool write) {
    MmStruct& mm = *t.mm;
    while (start < end) {
        Vma* v = vma_lookup(mm, start);
        if (!v) return Errno::NOMEM;
        // check_vma_flags() without FOLL_FORCE.
        if (v->vm_flags & (VM_IO | VM_PFNMAP)) return Errno::INVAL;
        if (write ? !(v->vm_flags & VM_WRITE) : !(v->vm_flags & VM_READ)) return Errno::INVAL;
        uint64_t e = std::min(end, v->vm_end);
        switch (populate_range(k, t, start, e, write)) {
            case VmFault::Minor:
            case VmFault::Major:
                break;
            case VmFault::Oom:
                return Errno::NOMEM;
            default:
                return Errno::FAULT;
        }
        start = e;
    }
    return {};
}

}  // namespace

Result<void> do_madvise(Kernel& k, Task& t, uint64_t start, uint64_t len_in, int advice) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    // is_valid_madvise() / madvise_should_skip().
    if (start & (PAGE_SIZE - 1)) return Errno::INVAL;
    uint64_t len = (len_in + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (len_in && !len) return Errno::INVAL;
    uint64_t end = start + len;
    if (end < start) return Errno::INVAL;
    if (!behavior_valid(advice)) return Errno::INVAL;
    if (end == start) return {};

    if (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE)
        return madvise_populate(k, t, start, end, advice == MADV_POPULATE_WRITE);

    // madvise_walk_vmas().
    Result<void> unmapped_error{};
    Vma* vma = find_vma(mm, start);
    while (true) {
        if (!vma) return Errno::NOMEM;
        if (start < vma->vm_start) {
            unmapped_error = Errno::NOMEM;
            start = vma->vm_start;
            if (start >= end) break;
        }
        uint64_t tmp = std::min(vma->vm_end, end);
        if (auto r = vma_behavior(k, mm, vma, start, tmp, advice); !r) return r;
        start = tmp;
        if (start >= end) break;
        vma = find_vma(mm, start);
    }
    return unmapped_error;
}

}  // namespace mmsim
