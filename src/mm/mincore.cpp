// mincore(2): which pages of a range are resident (mm/mincore.c).
//
// The answer is one byte per page, 1 when the page is in memory. What "in
// memory" means depends on the area:
//
//   entry present (even PROT_NONE, even the zero page)        1
//   no entry, anonymous area                                  0 (never touched, or
//                                                               swapped: no swap yet)
//   no entry, file area                                       1 if the file's page is
//                                                               in the page cache
//
// so for a file mincore reports page-cache residency, whoever brought the
// page in: a page another process read, or read() copied from, counts,
// though this process never mapped it. That is how tools such as pcstat and
// fincore measure the cache (they mmap the file and call mincore without
// touching it).
//
// The range must be mapped from start to end: a hole is ENOMEM (the vector
// is filled up to it, but the call fails). An unaligned start is EINVAL; a
// range past the top of the user address space is ENOMEM; the length is
// rounded up to whole pages, and a zero length returns an empty vector.
#include <algorithm>

#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/swap_state.h"

namespace mmsim {

namespace {

// mincore_page(): the page-cache page at index, if any and up to date.
uint8_t mincore_page(Kernel& k, Inode& file, uint64_t index) {
    MaybePfn pfn = filemap_get_page(k, file, index);
    return pfn && k.page(*pfn).test(PG_uptodate) ? 1 : 0;
}

}  // namespace

Result<std::vector<uint8_t>> do_mincore(Kernel& k, Task& t, uint64_t start, uint64_t len) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    if (start & (PAGE_SIZE - 1)) return Errno::INVAL;
    // access_ok(start, len): the range must lie below TASK_SIZE_MAX.
    if (len > mm.task_size || start > mm.task_size - len) return Errno::NOMEM;
    uint64_t pages = (len >> PAGE_SHIFT) + ((len & (PAGE_SIZE - 1)) != 0);
    std::vector<uint8_t> vec;
    vec.reserve(pages);
    uint64_t addr = start, end = start + (pages << PAGE_SHIFT);
    while (addr < end) {
        // do_mincore(): one area at a time.
        Vma* vma = vma_lookup(mm, addr);
        if (!vma) return Errno::NOMEM;
        uint64_t stop = std::min(vma->vm_end, end);
        for (uint64_t a = addr; a < stop; a += PAGE_SIZE) {
            const uint64_t* pte = pte_lookup(k, mm, a);
            uint8_t v = 0;
            if (pte && pte_present(*pte))
                v = 1;
            else if (pte && is_swap_pte(*pte))  // mincore_swap(): resident if in the swap cache
                v = swap_cache_get_folio(k, swp_entry(pte_swp_type(*pte), pte_swp_offset(*pte))) ? 1 : 0;
            else if (vma->vm_file)  // __mincore_unmapped_range()
                v = mincore_page(k, *vma->vm_file, vma->linear_page_index(a));
            vec.push_back(v);
        }
        addr = stop;
    }
    return vec;
}

}  // namespace mmsim
