// mmap, munmap, brk and the accounting behind them (mm/mmap.c, mm/vma.c's
// mmap_region, mm/util.c's __vm_enough_memory, arch/x86/mm/mmap.c).
//
// mmap() only creates an area: no page is allocated until a fault (unless
// MAP_POPULATE or MAP_LOCKED asks for it), which is why VSZ grows at once
// and RSS only as pages are touched. Where the area goes:
//
//   0x7ffffffff000  TASK_SIZE, top of the user address space
//        [stack]     grows down on faults, up to RLIMIT_STACK
//        gap         max(RLIMIT_STACK + stack_guard_gap, 128 MiB)
//   mmap_base       new mappings are placed top-down below here, in the
//        ...         highest gap that fits (arch_get_unmapped_area_topdown)
//        [heap]      brk() grows it up from the end of the executable's bss
//   0x555555554000  ELF_ET_DYN_BASE, where a PIE executable is loaded
//
// The simulator does not randomize the layout (as under `setarch -R`), so
// every run of a scenario places everything at the same addresses.
//
// Overcommit. A private writable mapping (and brk, and stack growth) may
// later need that much memory, so the kernel charges it to vm_committed_as
// (Committed_AS in meminfo) when it is created, and asks
// __vm_enough_memory() first: with vm.overcommit_memory = 0 a single request
// larger than RAM + swap fails; with 1 nothing fails; with 2 the total may
// not exceed CommitLimit (swap + RAM * overcommit_ratio / 100) less the
// reserves. A refused request returns ENOMEM and logs a warning.
#include <algorithm>
#include <stdexcept>

#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/rmap.h"
#include "mm/show_mem.h"
#include "mm/slub.h"
#include "mm/tlb.h"

namespace mmsim {

namespace {

constexpr uint64_t kStackGuardGap = 256 * PAGE_SIZE;  // stack_guard_gap: 256 pages, 1 MiB
constexpr uint64_t kFirstUserAddress = 0;

uint64_t page_align(uint64_t v) { return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

// vm_end_gap(): nothing grows up on x86-64.
uint64_t vm_end_gap(const Vma& v) { return v.vm_end; }

// calc_vm_prot_bits() | calc_vm_flag_bits().
uint64_t vm_flags_from(unsigned prot, unsigned flags) {
    uint64_t f = 0;
    if (prot & PROT_READ) f |= VM_READ;
    if (prot & PROT_WRITE) f |= VM_WRITE;
    if (prot & PROT_EXEC) f |= VM_EXEC;
    if (flags & MAP_GROWSDOWN) f |= VM_GROWSDOWN;
    if (flags & MAP_LOCKED) f |= VM_LOCKED;
    if (flags & MAP_SYNC) f |= VM_SYNC;
    if (flags & MAP_STACK) f |= VM_NOHUGEPAGE;  // calc_vm_flag_bits(), 6.7+
    return f;
}

// accountable_mapping(): private writable memory that is not NORESERVE.
bool accountable(uint64_t flags) { return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE; }

void vm_unacct_memory(Kernel& k, int64_t pages) { k.vm_committed_pages -= pages; }

// Unmaps the pages of every area overlapping [start, end) (already split at
// both ends), removes the areas, and frees the page tables the range owned.
void unmap_areas(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end) {
    std::vector<Vma*> doomed;
    for (auto it = mm.vmas.upper_bound(start); it != mm.vmas.end() && it->second->vm_start < end; ++it)
        doomed.push_back(it->second.get());
    if (doomed.empty()) return;
    uint64_t lo = doomed.front()->vm_start, hi = doomed.back()->vm_end;
    for (Vma* v : doomed) zap_page_range(k, mm, *v, v->vm_start, v->vm_end);
    for (Vma* v : doomed) {
        if (v->vm_flags & VM_ACCOUNT) vm_unacct_memory(k, static_cast<int64_t>(v->pages()));
        if (v->vm_flags & VM_LOCKED) mm.locked_vm -= v->pages();
        Inode* file = v->vm_file;
        remove_vma(k, mm, *v);
        if (file) k.files->release_if_unused(k, *file);
    }
    Vma* prev = vma_prev(mm, lo);
    Vma* next = find_vma(mm, hi);
    free_pgd_range(k, mm, lo, hi, prev ? prev->vm_end : kFirstUserAddress, next ? next->vm_start : 0);
    flush_tlb_range(k, mm, lo, hi, true);
}

// Splits so that [start, end) is covered by whole areas. ENOMEM at
// max_map_count.
Result<void> split_around(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end) {
    Vma* v = find_vma(mm, start);
    if (v && v->vm_start < start && v->vm_end > start) {
        // do_vmi_align_munmap(): a split in the middle leaves one more area.
        if (end < v->vm_end && mm.map_count >= k.vm.max_map_count) return Errno::NOMEM;
        auto r = split_vma(k, mm, *v, start);
        if (!r) return r.error();
    }
    v = find_vma(mm, end);
    if (v && v->vm_start < end && v->vm_end > end) {
        auto r = split_vma(k, mm, *v, end);
        if (!r) return r.error();
    }
    return {};
}

}  // namespace

uint64_t vm_start_gap(const Vma& v) {
    if (v.vm_flags & VM_GROWSDOWN) return v.vm_start > kStackGuardGap ? v.vm_start - kStackGuardGap : 0;
    return v.vm_start;
}

bool may_expand_vm(const MmStruct& mm, uint64_t flags, uint64_t npages) {
    if (mm.limits.as != RLIM_INFINITY && mm.total_vm + npages > (mm.limits.as >> PAGE_SHIFT)) return false;
    if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE && mm.limits.data != RLIM_INFINITY &&
        mm.data_vm + npages > (mm.limits.data >> PAGE_SHIFT))
        return false;
    return true;
}

Result<void> do_vmi_munmap(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end) {
    if (auto r = split_around(k, mm, start, end); !r) return r;
    unmap_areas(k, mm, start, end);
    return {};
}

// ---- overcommit -------------------------------------------------------------------

Result<void> vm_enough_memory(Kernel& k, const MmStruct* mm, int64_t pages) {
    k.vm_committed_pages += pages;  // vm_acct_memory()
    int mode = k.vm.overcommit_memory;
    if (mode == 1) return {};  // OVERCOMMIT_ALWAYS
    if (mode == 0) {           // OVERCOMMIT_GUESS
        if (pages <= static_cast<int64_t>(k.totalram_pages + total_swap_pages(k))) return {};
    } else {  // OVERCOMMIT_NEVER
        int64_t allowed = static_cast<int64_t>(vm_commit_limit(k));
        // The admin reserve applies only without CAP_SYS_ADMIN; simulated
        // programs run as root, like the oracle programs on the host.
        if (mm) {
            int64_t reserve = static_cast<int64_t>(k.vm.user_reserve_kbytes >> (PAGE_SHIFT - 10));
            allowed -= std::min(static_cast<int64_t>(mm->total_vm / 32), reserve);
        }
        if (k.vm_committed_pages < allowed) return {};
    }
    k.log.printk(k.clock.now(), LogLevel::Warning,
                 "__vm_enough_memory: pid: " + std::to_string(k.current_pid) + ", comm: " + k.current_comm +
                     ", bytes: " + std::to_string(static_cast<uint64_t>(pages) << PAGE_SHIFT) +
                     " not enough memory for the allocation");
    vm_unacct_memory(k, pages);
    return Errno::NOMEM;
}

int64_t vm_committed_as(const Kernel& k) { return k.vm_committed_pages; }

// ---- address spaces -----------------------------------------------------------------

Result<std::shared_ptr<MmStruct>> mm_alloc(Kernel& k) {
    auto mm = std::make_shared<MmStruct>();
    mm->id = k.tasks->next_mm_id();
    mm->obj = SlabObject::alloc(k, &SlabState::mm_struct);
    init_new_context(k.tlbs, mm->tlb);
    if (auto r = pgd_alloc(k, *mm); !r) return r.error();
    // arch_pick_mmap_layout() without randomization: mmap_base(0, TASK_SIZE).
    uint64_t gap = mm->limits.stack + kStackGuardGap;
    gap = std::clamp<uint64_t>(gap, 128ull << 20, (mm->task_size / 6) * 5);
    mm->mmap_base = page_align(mm->task_size - gap);
    return mm;
}

void exit_mmap(Kernel& k, MmStruct& mm) {
    if (!mm.vmas.empty()) {
        uint64_t lo = mm.vmas.begin()->second->vm_start;
        uint64_t hi = mm.vmas.rbegin()->second->vm_end;
        for (Vma* v : vma_list(mm)) zap_page_range(k, mm, *v, v->vm_start, v->vm_end);
        for (Vma* v : vma_list(mm)) {
            if (v->vm_flags & VM_ACCOUNT) vm_unacct_memory(k, static_cast<int64_t>(v->pages()));
            Inode* file = v->vm_file;
            remove_vma(k, mm, *v);
            if (file) k.files->release_if_unused(k, *file);
        }
        free_pgd_range(k, mm, lo, hi, kFirstUserAddress, 0);
    }
    mm.locked_vm = 0;
    mm.exe_file.reset();  // __mmput()'s set_mm_exe_file(mm, NULL)
    flush_tlb_range(k, mm, 0, mm.task_size, true);
    tlb_mm_release(k.tlbs, mm.tlb);
    pgd_free(k, mm);
    if (mm.pgtables_bytes != 0) throw std::logic_error("exit_mmap: page tables left behind");
}

// ---- placing a mapping --------------------------------------------------------------

namespace {

// arch_get_unmapped_area_topdown() for the non-fixed case: the highest
// gap in [low, high) that holds len bytes. 0 if there is none.
uint64_t unmapped_area_topdown(const MmStruct& mm, uint64_t len, uint64_t low, uint64_t high) {
    if (high <= low || high - low < len) return 0;
    uint64_t gap_end = high;
    auto it = mm.vmas.upper_bound(high - 1);  // the first area ending above high - 1
    if (it != mm.vmas.end()) gap_end = std::min(gap_end, vm_start_gap(*it->second));
    while (true) {
        const Vma* lower = it == mm.vmas.begin() ? nullptr : std::prev(it)->second.get();
        uint64_t gap_start = lower ? std::max(low, vm_end_gap(*lower)) : low;
        if (gap_end > gap_start && gap_end - gap_start >= len) return (gap_end - len) & ~(PAGE_SIZE - 1);
        if (!lower) return 0;
        gap_end = std::min(gap_end, vm_start_gap(*lower));
        if (gap_end <= low) return 0;
        --it;
    }
}

bool range_free(const MmStruct& mm, uint64_t addr, uint64_t len) {
    const Vma* v = find_vma(mm, addr);
    if (v && addr + len > vm_start_gap(*v)) return false;
    // The area below must not overlap either.
    auto it = mm.vmas.upper_bound(addr);
    if (it != mm.vmas.begin()) {
        auto p = std::prev(it);
        if (vm_end_gap(*p->second) > addr) return false;
    }
    return true;
}

}  // namespace

namespace {

// mm_get_unmapped_area() as x86-64 does it (arch_get_unmapped_area_topdown):
// a free hint wins; else the highest gap below mmap_base; else the
// bottom-up search above it. 0 when nothing fits.
uint64_t mm_get_unmapped_area(Kernel& k, const MmStruct& mm, uint64_t addr, uint64_t len) {
    if (len > mm.task_size) return 0;
    uint64_t min_addr = std::max<uint64_t>(k.vm.mmap_min_addr, PAGE_SIZE);
    if (addr) {
        addr = page_align(addr);
        if (mm.task_size - len >= addr && addr >= min_addr && range_free(mm, addr, len)) return addr;
    }
    uint64_t a = unmapped_area_topdown(mm, len, min_addr, mm.mmap_base);
    if (!a) a = unmapped_area_topdown(mm, len, mm.mmap_base, mm.task_size);
    return a;
}

// __thp_get_unmapped_area(): ask for len + 2 MiB, then move the start so
// that the address and the file offset agree modulo 2 MiB (a huge page
// can then map them). Top-down, when the padded area's start is already
// aligned, the kernel takes the upper end (start + 2 MiB), so two such
// mappings in a row sit next to each other. 0 when the range cannot hold
// one aligned huge page, or the padded search fails (the caller retries
// without padding).
uint64_t thp_get_unmapped_area(Kernel& k, const MmStruct& mm, uint64_t addr, uint64_t len, uint64_t off) {
    uint64_t off_end = off + len;
    uint64_t off_align = (off + PMD_SIZE - 1) & PMD_MASK;
    if (off_end <= off_align || off_end - off_align < PMD_SIZE) return 0;
    uint64_t len_pad = len + PMD_SIZE;
    if (len_pad < len) return 0;
    uint64_t ret = mm_get_unmapped_area(k, mm, addr, len_pad);
    if (!ret) return 0;
    if (ret == addr) return addr;  // the hint was free: no alignment
    uint64_t off_sub = (off - ret) & (PMD_SIZE - 1);
    if (!off_sub) return ret + PMD_SIZE;  // every mm here is top-down
    return ret + off_sub;
}

}  // namespace

Result<uint64_t> get_unmapped_area(Kernel& k, const MmStruct& mm, uint64_t addr, uint64_t len, unsigned flags,
                                   const Inode* file, uint64_t pgoff) {
    if (len > mm.task_size) return Errno::NOMEM;
    if (flags & MAP_FIXED) {
        if (addr & (PAGE_SIZE - 1)) return Errno::INVAL;
        if (addr > mm.task_size - len) return Errno::NOMEM;
        return addr;
    }
    uint64_t a = 0;
    if (file && !file->shmem && !file->kernel_pages) {
        // A regular file: ext4's f_op->get_unmapped_area is
        // thp_get_unmapped_area(), which aligns by the file offset.
        a = thp_get_unmapped_area(k, mm, addr, len, pgoff << PAGE_SHIFT);
    } else if (!file && !(flags & MAP_SHARED) && !addr && (len & (PMD_SIZE - 1)) == 0) {
        // A large anonymous private mapping without a hint (6.7+, limited
        // to PMD-multiple lengths in 6.13): THP-aligned, offset 0. Shared
        // anonymous memory goes through shmem_get_unmapped_area(), which
        // with shmem's default huge=never does not align.
        a = thp_get_unmapped_area(k, mm, addr, len, 0);
    }
    if (!a) a = mm_get_unmapped_area(k, mm, addr, len);
    if (!a) return Errno::NOMEM;
    return a;
}

Result<uint64_t> do_mmap(Kernel& k, Task& t, const MmapArgs& a) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    if (a.offset & (PAGE_SIZE - 1)) return Errno::INVAL;  // sys_mmap's offset check
    if (!(a.flags & MAP_ANONYMOUS) && !a.file) return Errno::BADF;
    if (a.len == 0) return Errno::INVAL;
    uint64_t addr = a.addr;
    if (!(a.flags & MAP_FIXED) && addr && addr < k.vm.mmap_min_addr) addr = page_align(k.vm.mmap_min_addr);
    uint64_t len = page_align(a.len);
    if (len == 0) return Errno::NOMEM;
    uint64_t pgoff = a.offset >> PAGE_SHIFT;
    if (pgoff + (len >> PAGE_SHIFT) < pgoff) return Errno::OVERFLOW;
    if (mm.map_count > k.vm.max_map_count) return Errno::NOMEM;

    unsigned type = a.flags & MAP_TYPE;
    uint64_t vm_flags = vm_flags_from(a.prot, a.flags) | mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    bool fixed = (a.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
    auto placed = get_unmapped_area(k, mm, addr, len, fixed ? a.flags | MAP_FIXED : a.flags, a.file, pgoff);
    if (!placed) return placed.error();
    addr = *placed;
    if (a.flags & MAP_FIXED_NOREPLACE) {
        const Vma* v = find_vma(mm, addr);
        if (v && v->vm_start < addr + len) return Errno::EXIST;
    }

    Inode* file = nullptr;
    if (a.file) {
        file = a.file;
        switch (type) {
            case MAP_SHARED:
            case MAP_SHARED_VALIDATE:
                if ((a.prot & PROT_WRITE) && !a.file_writable) return Errno::ACCES;
                vm_flags |= VM_SHARED | VM_MAYSHARE;
                if (!a.file_writable) vm_flags &= ~static_cast<uint64_t>(VM_MAYWRITE | VM_SHARED);
                break;
            case MAP_PRIVATE:
                break;
            default:
                return Errno::INVAL;
        }
    } else {
        switch (type) {
            case MAP_SHARED:
            case MAP_SHARED_VALIDATE:
                if (vm_flags & VM_GROWSDOWN) return Errno::INVAL;
                pgoff = 0;
                vm_flags |= VM_SHARED | VM_MAYSHARE;
                break;
            case MAP_PRIVATE:
                pgoff = addr >> PAGE_SHIFT;
                break;
            default:
                return Errno::INVAL;
        }
    }
    if ((a.flags & MAP_NORESERVE) && k.vm.overcommit_memory != 2) vm_flags |= VM_NORESERVE;

    // mmap_region().
    uint64_t npages = len >> PAGE_SHIFT;
    if (!may_expand_vm(mm, vm_flags, npages)) {
        // Pages replaced by MAP_FIXED do not count twice.
        uint64_t overlap = 0;
        for (auto it = mm.vmas.upper_bound(addr); it != mm.vmas.end() && it->second->vm_start < addr + len;
             ++it)
            overlap += (std::min(addr + len, it->second->vm_end) - std::max(addr, it->second->vm_start)) >>
                       PAGE_SHIFT;
        if (!may_expand_vm(mm, vm_flags, npages - overlap)) return Errno::NOMEM;
    }
    int64_t charged = 0;
    if (accountable(vm_flags)) {
        charged = static_cast<int64_t>(npages);
        if (auto r = vm_enough_memory(k, &mm, charged); !r) return r.error();
        vm_flags |= VM_ACCOUNT;
    }
    if (a.flags & MAP_FIXED) {
        if (auto r = split_around(k, mm, addr, addr + len); !r) {
            if (charged) vm_unacct_memory(k, charged);
            return r.error();
        }
        unmap_areas(k, mm, addr, addr + len);
    }
    // The struct file the area keeps: the caller's open one, else the one
    // an open() before this mmap would have made; shmem_zero_setup()
    // gives a shared anonymous area an unnamed shmem file of its own.
    FileRef filp = a.filp;
    if (!file && (vm_flags & VM_SHARED)) file = &k.files->create_shmem(k, len);
    if (file && !filp) filp = open_file(k, *file);
    auto vma = std::make_unique<Vma>();
    vma->vm_start = addr;
    vma->vm_end = addr + len;
    vma->vm_flags = vm_flags;
    vma->vm_pgoff = pgoff;
    vma->vm_file = file;
    vma->vm_filp = std::move(filp);
    Vma& v = insert_vma(k, mm, std::move(vma));
    Vma& merged = vma_merge_neighbours(k, mm, v);
    (void)merged;
    if (vm_flags & VM_LOCKED) mm.locked_vm += npages;

    bool populate = ((a.flags & MAP_POPULATE) && !(a.flags & MAP_NONBLOCK)) || (vm_flags & VM_LOCKED);
    if (populate) {
        // mm_populate(): faults every page in; failures are ignored, as the
        // kernel ignores them (the mapping still succeeds).
        // populate_vma_page_range(): private writable areas are faulted for
        // write (so they get their own pages), everything else for read.
        populate_range(k, t, addr, addr + len, (vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE);
    }
    return addr;
}

Result<void> do_munmap(Kernel& k, Task& t, uint64_t start, uint64_t len) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    if ((start & (PAGE_SIZE - 1)) || start > mm.task_size || len > mm.task_size - start) return Errno::INVAL;
    uint64_t end = start + page_align(len);
    if (end == start) return Errno::INVAL;
    return do_vmi_munmap(k, mm, start, end);
}

// ---- brk ------------------------------------------------------------------------------

uint64_t do_brk(Kernel& k, Task& t, uint64_t brk) {
    MmStruct& mm = *t.mm;
    k.clock.charge(k.costs.syscall);
    uint64_t min_brk = mm.start_brk;
    if (brk < min_brk) return mm.brk;
    // check_data_rlimit(): the heap plus the data segment within RLIMIT_DATA.
    if (mm.limits.data != RLIM_INFINITY &&
        brk - mm.start_brk + (mm.end_data - mm.start_data) > mm.limits.data)
        return mm.brk;
    uint64_t newbrk = page_align(brk), oldbrk = page_align(mm.brk);
    if (oldbrk == newbrk) {
        mm.brk = brk;
        return brk;
    }
    if (brk <= mm.brk) {
        // Shrinking: unmap the pages above the new break.
        if (auto r = do_vmi_munmap(k, mm, newbrk, oldbrk); r) mm.brk = brk;
        return mm.brk;
    }
    // Growing: the next area (with its guard gap) must stay clear.
    const Vma* next = find_vma(mm, oldbrk);
    if (next && newbrk + PAGE_SIZE > vm_start_gap(*next)) return mm.brk;
    // do_brk_flags().
    uint64_t len = newbrk - oldbrk;
    uint64_t flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT | mm.def_flags;
    if (!may_expand_vm(mm, flags, len >> PAGE_SHIFT)) return mm.brk;
    if (mm.map_count > k.vm.max_map_count) return mm.brk;
    if (auto r = vm_enough_memory(k, &mm, static_cast<int64_t>(len >> PAGE_SHIFT)); !r) return mm.brk;
    // vma_prev_limit(start_brk): only an area at or above start_brk is the
    // heap; the bss ending at start_brk is never extended.
    Vma* prev = vma_prev(mm, oldbrk);
    if (prev && prev->vm_start >= mm.start_brk && prev->vm_end == oldbrk && prev->vm_flags == flags &&
        prev->is_anonymous() && prev->anon_vma_chain.size() <= 1 && prev->anon_name.empty()) {
        // Expand the existing heap area (vma_expand()).
        uint64_t old_end = prev->vm_end;
        auto node = mm.vmas.extract(old_end);
        prev->vm_end = newbrk;
        node.key() = newbrk;
        mm.vmas.insert(std::move(node));
        vm_stat_account(mm, flags, static_cast<int64_t>(len >> PAGE_SHIFT));
        mm.update_hiwater_vm();
    } else {
        auto vma = std::make_unique<Vma>();
        vma->vm_start = oldbrk;
        vma->vm_end = newbrk;
        vma->vm_flags = flags;
        vma->vm_pgoff = oldbrk >> PAGE_SHIFT;
        insert_vma(k, mm, std::move(vma));
    }
    if (flags & VM_LOCKED) mm.locked_vm += len >> PAGE_SHIFT;
    mm.brk = brk;
    if (flags & VM_LOCKED) populate_range(k, t, oldbrk, newbrk, true);
    return mm.brk;
}

// ---- the stack --------------------------------------------------------------------------

bool expand_stack(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr) {
    addr &= ~(PAGE_SIZE - 1);
    if (!(vma.vm_flags & VM_GROWSDOWN) || addr >= vma.vm_start) return false;
    if (addr < k.vm.mmap_min_addr) return false;
    // The area below must stay stack_guard_gap away.
    if (Vma* prev = vma_prev(mm, vma.vm_start); prev && prev != &vma) {
        bool accessible = prev->vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
        if (!(prev->vm_flags & VM_GROWSDOWN) && accessible && addr - prev->vm_end < kStackGuardGap)
            return false;
        if (prev->vm_end > addr) return false;
    }
    uint64_t grow = (vma.vm_start - addr) >> PAGE_SHIFT;
    uint64_t size = vma.vm_end - addr;
    // acct_stack_growth().
    if (!may_expand_vm(mm, vma.vm_flags, grow)) return false;
    if (size > mm.limits.stack) return false;
    if (vma.vm_flags & VM_ACCOUNT)
        if (auto r = vm_enough_memory(k, &mm, static_cast<int64_t>(grow)); !r) return false;
    vma.vm_start = addr;
    vma.vm_pgoff -= grow;
    if (vma.vm_flags & VM_LOCKED) mm.locked_vm += grow;
    vm_stat_account(mm, vma.vm_flags, static_cast<int64_t>(grow));
    mm.update_hiwater_vm();
    return true;
}

}  // namespace mmsim
