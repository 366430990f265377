// mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) (mm/mlock.c).
//
// Locking is a property of areas, VM_LOCKED, and through them of pages,
// PG_mlocked. mlock(addr, len) rounds the range out to whole pages, sets
// VM_LOCKED on every area in it (splitting at the ends and merging with
// alike neighbours, as mprotect does), marks the pages already mapped
// there PG_mlocked, and then faults in the rest (__mm_populate), so that
// nothing in the range will ever fault or be reclaimed:
//
//   [ rw-p 0x1000 ............ 0x5000 )         mlock(0x2000, 0x2000)
//   [ rw-p ][ rw-p L 0x2000-0x4000 ][ rw-p )     VmLck 8 kB, both pages mlocked
//
// mlock2(MLOCK_ONFAULT) sets VM_LOCKONFAULT too: nothing is faulted in now,
// and each page is mlocked when it is first touched (the fault path does
// that for every page it maps into a VM_LOCKED area). munlock clears both
// flags and the pages' PG_mlocked, unless another locked area still maps
// the page (the kernel keeps a per-folio mlock_count for that; we ask
// rmap). mlockall(MCL_CURRENT) locks every area; MCL_FUTURE puts VM_LOCKED
// in mm->def_flags so every later mmap, brk and stack growth is locked
// (and populated); MCL_ONFAULT makes both lock on fault.
//
// Counters: mm->locked_vm is VmLck in /proc/PID/status, counted in pages
// of locked areas (not pages present); NR_MLOCK (Mlocked in meminfo) counts
// mlocked pages, and unevictable_pgs_mlocked / _munlocked count the
// transitions.
//
// Errors: a hole in the range is ENOMEM, found only after the areas before
// it were locked; mlockall with no flag, an unknown flag or MCL_ONFAULT
// alone is EINVAL; a fault that fails during the populate turns into
// ENOMEM (EFAULT) or EAGAIN (ENOMEM), as __mlock_posix_error_return() maps
// them, which is how mlock of a PROT_NONE area fails after locking it.
// RLIMIT_MEMLOCK (MmLimits::memlock) binds only without CAP_IPC_LOCK;
// simulated programs run as root, so the check is written but skipped.
#include <algorithm>
#include <vector>

#include "kernel/task.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// capable(CAP_IPC_LOCK): simulated processes run as root.
constexpr bool kCapIpcLock = true;

// Whether an area other than `except` with VM_LOCKED maps the page.
bool mapped_in_other_locked_vma(Kernel& k, Pfn pfn, const Vma& except) {
    bool found = false;
    rmap_walk(k, pfn, [&](Vma& v, uint64_t addr) {
        if (found || &v == &except || !(v.vm_flags & VM_LOCKED)) return;
        const uint64_t* e = pte_lookup(k, *v.vm_mm, addr);
        if (e && pte_present(*e) && !pte_special(*e) && pte_pfn(*e) == pfn) found = true;
    });
    return found;
}

// mlock_vma_pages_range(): the area gets its new flags and the pages it
// maps follow them (mlock_pte_range()). The zero page is never mlocked.
void mlock_vma_pages_range(Kernel& k, MmStruct& mm, Vma& vma, uint64_t newflags) {
    vma.vm_flags = newflags;
    walk_ptes(k, mm, vma.vm_start, vma.vm_end, [&](uint64_t, uint64_t& e) {
        if (!pte_present(e) || pte_special(e)) return;
        Pfn pfn = pte_pfn(e);
        if (newflags & VM_LOCKED)
            mlock_page(k, pfn);
        else if (!mapped_in_other_locked_vma(k, pfn, vma))
            munlock_page(k, pfn);
    });
}

// mlock_fixup(): [start, end) of vma gets newflags.
Result<void> mlock_fixup(Kernel& k, MmStruct& mm, Vma* vma, uint64_t start, uint64_t end, uint64_t newflags) {
    uint64_t oldflags = vma->vm_flags;
    // Special areas (and the vDSO family) are never locked nor counted.
    if (newflags == oldflags || (oldflags & (VM_SPECIAL | VM_HUGETLB)) ||
        vma->special != SpecialMapping::None)
        return {};
    if (vma->vm_start < start) {
        auto r = split_vma(k, mm, *vma, start);
        if (!r) return r.error();
        vma = *r;
    }
    if (vma->vm_end > end) {
        auto r = split_vma(k, mm, *vma, end);
        if (!r) return r.error();
    }
    int64_t nr_pages = static_cast<int64_t>((end - start) >> PAGE_SHIFT);
    if (!(newflags & VM_LOCKED))
        nr_pages = -nr_pages;
    else if (oldflags & VM_LOCKED)
        nr_pages = 0;
    mm.locked_vm = static_cast<uint64_t>(static_cast<int64_t>(mm.locked_vm) + nr_pages);
    if ((newflags & VM_LOCKED) && (oldflags & VM_LOCKED))
        vma->vm_flags = newflags;  // only LOCKONFAULT changed: mlocking twice would be wrong
    else
        mlock_vma_pages_range(k, mm, *vma, newflags);
    vma_merge_neighbours(k, mm, *vma);
    return {};
}

// apply_vma_lock_flags(): every area of [start, start + len) gets `flags`
// in place of its VM_LOCKED_MASK bits; a hole is ENOMEM (after the areas
// before it were done).
Result<void> apply_vma_lock_flags(Kernel& k, MmStruct& mm, uint64_t start, uint64_t len, uint64_t flags) {
    uint64_t end = start + len;
    if (end < start) return Errno::INVAL;
    if (end == start) return {};
    Vma* vma = vma_lookup(mm, start);
    if (!vma) return Errno::NOMEM;
    uint64_t nstart = start;
    while (true) {
        uint64_t newflags = (vma->vm_flags & ~VM_LOCKED_MASK) | flags;
        uint64_t tmp = std::min(vma->vm_end, end);
        if (auto r = mlock_fixup(k, mm, vma, nstart, tmp, newflags); !r) return r;
        nstart = tmp;
        if (nstart >= end) return {};
        // The next area must start where this one ended (a merge may have
        // joined them: then it contains nstart).
        vma = vma_lookup(mm, nstart);
        if (!vma) return Errno::NOMEM;
    }
}

// __mm_populate(): faults in the locked range. With ignore_errors (mlockall)
// failures are skipped; otherwise the first one ends it, reported as
// populate_vma_page_range() would (EFAULT for a failed fault or an
// inaccessible area, ENOMEM when out of memory).
Result<void> mm_populate(Kernel& k, Task& t, uint64_t start, uint64_t len, bool ignore_errors) {
    MmStruct& mm = *t.mm;
    uint64_t end = start + len;
    for (uint64_t nstart = start; nstart < end;) {
        Vma* v = find_vma(mm, nstart);
        if (!v || v->vm_start >= end) break;
        uint64_t s = std::max(nstart, v->vm_start), e = std::min(end, v->vm_end);
        nstart = e;
        if (v->vm_flags & (VM_IO | VM_PFNMAP)) continue;
        if (v->vm_flags & VM_LOCKONFAULT) continue;  // populate_vma_page_range(): nothing to do now
        Result<void> r{};
        if (!(v->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) {
            // GUP without FOLL_FORCE refuses PROT_NONE (check_vma_flags()).
            r = Errno::FAULT;
        } else {
            switch (populate_range(k, t, s, e, (v->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)) {
                case VmFault::Minor:
                case VmFault::Major:
                    break;
                case VmFault::Oom:
                    r = Errno::NOMEM;
                    break;
                default:
                    r = Errno::FAULT;
                    break;
            }
        }
        if (!r && !ignore_errors) return r;
    }
    return {};
}

// __mlock_posix_error_return().
Errno posix_error(Errno e) {
    if (e == Errno::FAULT) return Errno::NOMEM;
    if (e == Errno::NOMEM) return Errno::AGAIN;
    return e;
}

// Pages of [start, start + len) already in locked areas
// (count_mm_mlocked_page_nr()).
uint64_t count_mm_mlocked_page_nr(MmStruct& mm, uint64_t start, uint64_t len) {
    uint64_t end = start + len, count = 0;
    for (auto it = mm.vmas.upper_bound(start); it != mm.vmas.end() && it->second->vm_start < end; ++it) {
        const Vma& v = *it->second;
        if (v.vm_flags & VM_LOCKED)
            count += (std::min(end, v.vm_end) - std::max(start, v.vm_start)) >> PAGE_SHIFT;
    }
    return count;
}

// do_mlock().
Result<void> mlock_range(Kernel& k, Task& t, uint64_t start, uint64_t len, uint64_t flags) {
    MmStruct& mm = *t.mm;
    len = (len + (start & (PAGE_SIZE - 1)) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    start &= ~(PAGE_SIZE - 1);
    uint64_t lock_limit = mm.limits.memlock >> PAGE_SHIFT;
    uint64_t locked = (len >> PAGE_SHIFT) + mm.locked_vm;
    if (locked > lock_limit && !kCapIpcLock) locked -= count_mm_mlocked_page_nr(mm, start, len);
    if (locked > lock_limit && !kCapIpcLock) return Errno::NOMEM;
    if (auto r = apply_vma_lock_flags(k, mm, start, len, flags); !r) return r;
    if (auto r = mm_populate(k, t, start, len, false); !r) return posix_error(r.err());
    return {};
}

// apply_mlockall_flags().
void apply_mlockall_flags(Kernel& k, MmStruct& mm, unsigned flags) {
    uint64_t to_add = 0;
    mm.def_flags &= ~VM_LOCKED_MASK;
    if (flags & MCL_FUTURE) {
        mm.def_flags |= VM_LOCKED;
        if (flags & MCL_ONFAULT) mm.def_flags |= VM_LOCKONFAULT;
        if (!(flags & MCL_CURRENT)) return;
    }
    if (flags & MCL_CURRENT) {
        to_add |= VM_LOCKED;
        if (flags & MCL_ONFAULT) to_add |= VM_LOCKONFAULT;
    }
    // Walk by address: fixups split and merge areas under us. Errors are
    // ignored, as the kernel ignores them.
    uint64_t addr = 0;
    while (Vma* v = find_vma(mm, addr)) {
        uint64_t start = v->vm_start, end = v->vm_end;
        uint64_t newflags = (v->vm_flags & ~VM_LOCKED_MASK) | to_add;
        (void)mlock_fixup(k, mm, v, start, end, newflags);
        addr = end;
    }
}

}  // namespace

Result<void> do_mlock(Kernel& k, Task& t, uint64_t addr, uint64_t len, unsigned flags) {
    k.clock.charge(k.costs.syscall);
    // mlock2(): only MLOCK_ONFAULT is defined.
    if (flags & ~static_cast<unsigned>(MLOCK_ONFAULT)) return Errno::INVAL;
    uint64_t vm_flags = VM_LOCKED;
    if (flags & MLOCK_ONFAULT) vm_flags |= VM_LOCKONFAULT;
    return mlock_range(k, t, addr, len, vm_flags);
}

Result<void> do_munlock(Kernel& k, Task& t, uint64_t addr, uint64_t len) {
    k.clock.charge(k.costs.syscall);
    len = (len + (addr & (PAGE_SIZE - 1)) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    addr &= ~(PAGE_SIZE - 1);
    return apply_vma_lock_flags(k, *t.mm, addr, len, 0);
}

Result<void> do_mlockall(Kernel& k, Task& t, unsigned flags) {
    k.clock.charge(k.costs.syscall);
    MmStruct& mm = *t.mm;
    if (!flags || (flags & ~static_cast<unsigned>(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
        flags == MCL_ONFAULT)
        return Errno::INVAL;
    uint64_t lock_limit = mm.limits.memlock >> PAGE_SHIFT;
    if ((flags & MCL_CURRENT) && mm.total_vm > lock_limit && !kCapIpcLock) return Errno::NOMEM;
    apply_mlockall_flags(k, mm, flags);
    if (flags & MCL_CURRENT) (void)mm_populate(k, t, 0, mm.task_size, true);
    return {};
}

Result<void> do_munlockall(Kernel& k, Task& t) {
    k.clock.charge(k.costs.syscall);
    apply_mlockall_flags(k, *t.mm, 0);
    return {};
}

}  // namespace mmsim
