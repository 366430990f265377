// The memory system calls and the fault path: what include/linux/mm.h
// declares for the rest of the kernel. Each is implemented in the file
// named after its kernel counterpart:
//
//   vma.cpp        find_vma, insert, split and merge of areas (mm/vma.c)
//   mmap.cpp       mmap, munmap, brk, get_unmapped_area, stack expansion,
//                  overcommit accounting (mm/mmap.c, mm/util.c)
//   mprotect.cpp   mprotect (mm/mprotect.c)
//   mremap.cpp     mremap (mm/mremap.c)
//   madvise.cpp    madvise (mm/madvise.c)
//   mlock.cpp      mlock, mlock2, munlock, mlockall, munlockall (mm/mlock.c)
//   mincore.cpp    mincore (mm/mincore.c)
//   memory.cpp     handle_mm_fault, zap_page_range, copy_page_range,
//                  and the simulated CPU's memory access (mm/memory.c)
//
// System calls return Result<T> with the errno the kernel returns; a bad
// access delivers a signal to the task instead (the caller decides).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm_struct.h"
#include "mmsim/result.h"

namespace mmsim {

// ---- mmap(2) arguments (uapi/asm-generic/mman*.h, x86-64) -----------------------
enum Prot : unsigned {
    PROT_NONE = 0,
    PROT_READ = 1,
    PROT_WRITE = 2,
    PROT_EXEC = 4,
    PROT_GROWSDOWN = 0x01000000
};
enum MapFlag : unsigned {
    MAP_SHARED = 0x01,
    MAP_PRIVATE = 0x02,
    MAP_SHARED_VALIDATE = 0x03,
    MAP_TYPE = 0x0f,
    MAP_FIXED = 0x10,
    MAP_ANONYMOUS = 0x20,
    MAP_32BIT = 0x40,
    MAP_GROWSDOWN = 0x0100,
    MAP_DENYWRITE = 0x0800,
    MAP_EXECUTABLE = 0x1000,
    MAP_LOCKED = 0x2000,
    MAP_NORESERVE = 0x4000,
    MAP_POPULATE = 0x8000,
    MAP_NONBLOCK = 0x10000,
    MAP_STACK = 0x20000,
    MAP_HUGETLB = 0x40000,
    MAP_SYNC = 0x80000,
    MAP_FIXED_NOREPLACE = 0x100000,
};
enum MremapFlag : unsigned { MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4 };
enum Madvice : int {
    MADV_NORMAL = 0,
    MADV_RANDOM = 1,
    MADV_SEQUENTIAL = 2,
    MADV_WILLNEED = 3,
    MADV_DONTNEED = 4,
    MADV_FREE = 8,
    MADV_REMOVE = 9,
    MADV_DONTFORK = 10,
    MADV_DOFORK = 11,
    MADV_MERGEABLE = 12,
    MADV_UNMERGEABLE = 13,
    MADV_HUGEPAGE = 14,
    MADV_NOHUGEPAGE = 15,
    MADV_DONTDUMP = 16,
    MADV_DODUMP = 17,
    MADV_WIPEONFORK = 18,
    MADV_KEEPONFORK = 19,
    MADV_COLD = 20,
    MADV_PAGEOUT = 21,
    MADV_POPULATE_READ = 22,
    MADV_POPULATE_WRITE = 23,
    MADV_DONTNEED_LOCKED = 24,
    MADV_COLLAPSE = 25,
    MADV_GUARD_INSTALL = 102,
    MADV_GUARD_REMOVE = 103,
};
enum MlockFlag : unsigned { MLOCK_ONFAULT = 1 };
enum MlockallFlag : unsigned { MCL_CURRENT = 1, MCL_FUTURE = 2, MCL_ONFAULT = 4 };

// ---- areas (vma.cpp) -----------------------------------------------------------
// find_vma(): the first area with vm_end > addr, or nullptr.
Vma* find_vma(MmStruct& mm, uint64_t addr);
const Vma* find_vma(const MmStruct& mm, uint64_t addr);
// vma_lookup(): the area containing addr, or nullptr.
Vma* vma_lookup(MmStruct& mm, uint64_t addr);
// The area before `vma` (or before addr if vma is null), or nullptr.
Vma* vma_prev(MmStruct& mm, uint64_t addr);
// Areas in address order.
std::vector<Vma*> vma_list(MmStruct& mm);
std::vector<const Vma*> vma_list(const MmStruct& mm);
// Adds an area (the caller set its fields); accounts total_vm and the
// data/exec/stack counters.
Vma& insert_vma(Kernel& k, MmStruct& mm, std::unique_ptr<Vma> vma);
// Splits vma at addr (page aligned, strictly inside); returns the new
// upper part. ENOMEM when the split would exceed max_map_count.
Result<Vma*> split_vma(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr);
// Merges vma with its neighbours where the kernel would (same flags, file,
// contiguous offset, compatible anon_vma); returns the surviving area.
Vma& vma_merge_neighbours(Kernel& k, MmStruct& mm, Vma& vma);
// Removes an area whose pages are already unmapped.
void remove_vma(Kernel& k, MmStruct& mm, Vma& vma);
// vm_stat_account(): total_vm and the per-kind counters.
void vm_stat_account(MmStruct& mm, uint64_t flags, int64_t npages);
// Checks the tree: ordered, non-overlapping, aligned, map_count, counters.
void validate_mm(const Kernel& k, const MmStruct& mm);

// ---- address spaces (mmap.cpp) ---------------------------------------------------
// mm_alloc(): an empty address space with its PGD.
Result<std::shared_ptr<MmStruct>> mm_alloc(Kernel& k);
// exit_mmap(): unmaps everything and frees the page tables.
void exit_mmap(Kernel& k, MmStruct& mm);

struct MmapArgs {
    uint64_t addr = 0;
    uint64_t len = 0;
    unsigned prot = PROT_READ | PROT_WRITE;
    unsigned flags = MAP_PRIVATE | MAP_ANONYMOUS;
    Inode* file = nullptr;      // with !MAP_ANONYMOUS
    bool file_writable = true;  // the fd was opened O_RDWR
    uint64_t offset = 0;        // bytes
    FileRef filp = nullptr;     // the open file of `file`; empty: mmap opens one (open, mmap, close)
};
// do_mmap() with the checks of ksys_mmap_pgoff(): returns the address.
Result<uint64_t> do_mmap(Kernel& k, Task& t, const MmapArgs& a);
Result<void> do_munmap(Kernel& k, Task& t, uint64_t addr, uint64_t len);
// brk(2): returns the new break (the old one when refused, as the syscall does).
uint64_t do_brk(Kernel& k, Task& t, uint64_t brk);
// vm_start_gap(): an area that grows down keeps stack_guard_gap below it.
uint64_t vm_start_gap(const Vma& v);
// may_expand_vm(): RLIMIT_AS, and RLIMIT_DATA for data mappings.
bool may_expand_vm(const MmStruct& mm, uint64_t flags, uint64_t npages);
// get_unmapped_area(): where a mapping of len bytes goes (MAP_FIXED: addr
// as given; else a free hint, else the top-down search below mmap_base),
// THP-aligned for regular files (by pgoff) and for hint-less anonymous
// private mappings whose length is a multiple of 2 MiB.
Result<uint64_t> get_unmapped_area(Kernel& k, const MmStruct& mm, uint64_t addr, uint64_t len, unsigned flags,
                                   const Inode* file = nullptr, uint64_t pgoff = 0);
// do_vmi_munmap() without the system call around it: splits at both ends
// (ENOMEM at max_map_count), unmaps, removes the areas and frees the page
// tables the range owned.
Result<void> do_vmi_munmap(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end);
// __vm_enough_memory(): the overcommit policy (0 heuristic, 1 always, 2 never).
Result<void> vm_enough_memory(Kernel& k, const MmStruct* mm, int64_t pages);
// The kernel's vm_committed_as (Committed_AS), in pages.
int64_t vm_committed_as(const Kernel& k);
// expand_stack(): grows a VM_GROWSDOWN area down to addr; false if refused.
bool expand_stack(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr);

// ---- mprotect.cpp, mremap.cpp, madvise.cpp, mlock.cpp, mincore.cpp ---------------
Result<void> do_mprotect(Kernel& k, Task& t, uint64_t addr, uint64_t len, unsigned prot);
Result<uint64_t> do_mremap(Kernel& k, Task& t, uint64_t addr, uint64_t old_len, uint64_t new_len,
                           unsigned flags, uint64_t new_addr);
Result<void> do_madvise(Kernel& k, Task& t, uint64_t addr, uint64_t len, int advice);
Result<void> do_mlock(Kernel& k, Task& t, uint64_t addr, uint64_t len, unsigned flags);
Result<void> do_munlock(Kernel& k, Task& t, uint64_t addr, uint64_t len);
Result<void> do_mlockall(Kernel& k, Task& t, unsigned flags);
Result<void> do_munlockall(Kernel& k, Task& t);
Result<std::vector<uint8_t>> do_mincore(Kernel& k, Task& t, uint64_t addr, uint64_t len);

// ---- faults and access (memory.cpp) ----------------------------------------------
enum FaultFlag : unsigned { FAULT_FLAG_WRITE = 1, FAULT_FLAG_INSTRUCTION = 2, FAULT_FLAG_USER = 4 };
// vm_fault_t outcomes.
enum class VmFault : uint8_t {
    Minor,       // handled, no I/O
    Major,       // handled after reading the page in (VM_FAULT_MAJOR)
    Oom,         // VM_FAULT_OOM
    Sigbus,      // VM_FAULT_SIGBUS
    SegvMaperr,  // no area: SIGSEGV with SEGV_MAPERR
    SegvAccerr,  // the area forbids the access: SIGSEGV with SEGV_ACCERR
};
// handle_mm_fault() for one page, preceded by the area lookup and checks of
// do_user_addr_fault(). Counts pgfault, the task's min_flt/maj_flt and
// charges simulated time.
VmFault handle_mm_fault(Kernel& k, Task& t, uint64_t addr, unsigned fault_flags);

enum class Access : uint8_t { Read, Write, Exec };
// One memory access by the task on its CPU: TLB, page walk, fault. Returns
// Minor for a plain hit or a handled fault, or the failure.
VmFault access_memory(Kernel& k, Task& t, uint64_t addr, Access how);

// zap_page_range_single(): clears the entries of [start, end) in vma,
// dropping map counts and RSS, freeing pages nobody maps.
void zap_page_range(Kernel& k, MmStruct& mm, Vma& vma, uint64_t start, uint64_t end);
// copy_page_range(): fork's copy of one area's entries (write-protects
// private writable pages in both).
Result<void> copy_page_range(Kernel& k, MmStruct& dst_mm, Vma& dst, MmStruct& src_mm, Vma& src);
// Faults in every page of [start, end) (populate_vma_page_range, for
// MAP_POPULATE, mlock and MADV_POPULATE_*).
VmFault populate_range(Kernel& k, Task& t, uint64_t start, uint64_t end, bool write);

// mlock_folio()/munlock_folio() for one page: PG_mlocked, the zone's
// NR_MLOCK and the unevictable_pgs_(m|mun)locked events.
void mlock_page(Kernel& k, Pfn pfn);
void munlock_page(Kernel& k, Pfn pfn);
// folio_mark_dirty() for a file page (`file` its inode): PG_dirty, and for
// written-back files NR_FILE_DIRTY, the zone's write-pending count and
// nr_dirtied.
void mark_page_dirty(Kernel& k, Pfn pfn, const Inode* file);
// put_page(): drops a reference; frees the page when it was the last one.
void put_page(Kernel& k, Pfn pfn);
// try_to_unuse()'s page-table half, for swapoff: every swap entry of the
// device `type` in every process is swapped back in (unuse_pte(), no
// fault counted), then the swap cache lets go of the device's slots.
// 0, or -ENOMEM when a page could not be had.
int unuse_swap_entries(Kernel& k, unsigned type);
// flush_tlb_mm_range(): after entries in [start, end) changed or went.
void flush_tlb_range(Kernel& k, MmStruct& mm, uint64_t start, uint64_t end, bool freed_tables);

// The shared zero page (empty_zero_page), set up at boot by vm_init().
void vm_init(Kernel& k);

// Every invariant of the memory-mapping layer (DESIGN.md section 10):
// mapcounts equal the entries, rmap finds exactly them, entries lie in
// areas with no wider rights, RSS counters, page-table counts.
void validate_vm(const Kernel& k);

}  // namespace mmsim
