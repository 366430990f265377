// mprotect(2) (mm/mprotect.c).
//
// mprotect changes the rights of whole pages: the areas covering the range
// are split at its ends, their flags changed, then merged with neighbours
// that have become alike. The range must be fully mapped (a hole is
// ENOMEM) and may not ask for a right the mapping can never have (PROT_WRITE
// on a shared mapping of a read-only file: EACCES, from the VM_MAY* bits).
//
// The page-table entries follow the new rights (change_protection()):
// removing write or exec clears the bits at once, and the TLBs are flushed.
// Adding write to a private mapping does not simply set the bit: a page
// shared with another process must stay write-protected so that the next
// write copies it; only an anonymous page this process alone holds, and
// already dirty, becomes writable immediately (can_change_pte_writable()).
// PROT_NONE keeps the pages mapped (they stay in RSS) but hidden from the
// CPU.
//
// Making a private mapping writable for the first time charges it to the
// overcommit accounting (it may now need private copies of every page).
#include <algorithm>

#include "kernel/task.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"

namespace mmsim {

namespace {

void change_protection(Kernel& k, MmStruct& mm, Vma& vma) {
    uint64_t prot = vm_get_page_prot(vma.vm_flags);
    bool may_write = vma.vm_flags & VM_WRITE;
    bool shared = vma.vm_flags & VM_SHARED;
    walk_ptes(k, mm, vma.vm_start, vma.vm_end, [&](uint64_t, uint64_t& e) {
        if (!pte_present(e)) return;
        uint64_t keep = e & (PTE_PFN_MASK | _PAGE_DIRTY | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY);
        uint64_t ne = keep | prot;
        bool writable = false;
        if (may_write && !pte_special(e) && (prot & _PAGE_PRESENT)) {
            const Page& p = k.page(pte_pfn(e));
            if (shared)
                writable = pte_dirty(e);
            else
                writable = p.test(PG_anon) && p.mapcount == 1 && p.refcount == 1 && pte_dirty(e);
        }
        if (writable) ne |= _PAGE_RW;
        e = ne;
    });
}

// mprotect_fixup(): one area (already split to the range) gets new flags.
Result<void> mprotect_fixup(Kernel& k, MmStruct& mm, Vma*& vma, uint64_t start, uint64_t end,
                            uint64_t newflags) {
    uint64_t oldflags = vma->vm_flags;
    if (newflags == oldflags) return {};
    uint64_t charged = 0;
    if (newflags & VM_WRITE) {
        // A private mapping becoming writable is charged now.
        if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
            charged = (end - start) >> PAGE_SHIFT;
            if (auto r = vm_enough_memory(k, &mm, static_cast<int64_t>(charged)); !r) return r.error();
            newflags |= VM_ACCOUNT;
        }
    }
    if (vma->vm_start < start) {
        auto r = split_vma(k, mm, *vma, start);
        if (!r) {
            if (charged) k.vm_committed_pages -= static_cast<int64_t>(charged);
            return r.error();
        }
        vma = *r;
    }
    if (vma->vm_end > end) {
        auto r = split_vma(k, mm, *vma, end);
        if (!r) {
            if (charged) k.vm_committed_pages -= static_cast<int64_t>(charged);
            return r.error();
        }
    }
    vm_stat_account(mm, oldflags, -static_cast<int64_t>(vma->pages()));
    vma->vm_flags = newflags;
    vm_stat_account(mm, newflags, static_cast<int64_t>(vma->pages()));
    change_protection(k, mm, *vma);
    flush_tlb_range(k, mm, vma->vm_start, vma->vm_end, false);
    vma = &vma_merge_neighbours(k, mm, *vma);
    return {};
}

}  // namespace

Result<void> do_mprotect(Kernel& k, Task& t, uint64_t start, uint64_t len, unsigned prot) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    if (start & (PAGE_SIZE - 1)) return Errno::INVAL;
    if (!len) return {};
    len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t end = start + len;
    if (end <= start) return Errno::NOMEM;
    if (prot & ~static_cast<unsigned>(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN))
        return Errno::INVAL;
    Vma* vma = find_vma(mm, start);
    if (!vma || vma->vm_start >= end) return Errno::NOMEM;
    if (vma->vm_start > start) return Errno::NOMEM;
    uint64_t want = 0;
    if (prot & PROT_READ) want |= VM_READ;
    if (prot & PROT_WRITE) want |= VM_WRITE;
    if (prot & PROT_EXEC) want |= VM_EXEC;
    uint64_t nstart = start;
    while (true) {
        uint64_t newflags = want | (vma->vm_flags & ~static_cast<uint64_t>(VM_READ | VM_WRITE | VM_EXEC));
        // Each right needs its VM_MAY* bit, four bits up.
        if ((newflags & ~(newflags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC)) return Errno::ACCES;
        uint64_t tmp = std::min(vma->vm_end, end);
        if (auto r = mprotect_fixup(k, mm, vma, nstart, tmp, newflags); !r) return r.error();
        nstart = tmp;
        if (nstart >= end) return {};
        vma = find_vma(mm, nstart);
        if (!vma || vma->vm_start > nstart) return Errno::NOMEM;  // a merge may have joined it
    }
}

}  // namespace mmsim
