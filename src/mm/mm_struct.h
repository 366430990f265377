// A process's address space: struct mm_struct and struct vm_area_struct of
// include/linux/mm_types.h.
//
// An MmStruct is a set of non-overlapping virtual memory areas (Vma), each a
// range [vm_start, vm_end) of whole pages with one set of rights (VM_READ,
// VM_WRITE, ...), one backing (anonymous memory or a window of a file) and
// one set of behaviours (locked, growsdown, don't-fork...). The kernel keeps
// them in a maple tree; we keep them in an ordered map keyed by vm_end, so
// find_vma(addr), "the first area ending above addr", is one upper_bound,
// plus a cache of the last area found (most lookups hit the same area).
//
// The areas say what may be mapped; the page table (src/mm/pgtable.h) says
// what is mapped now. Between them sit the counters every /proc file
// prints: total_vm (VmSize), the RSS counters per kind of page (RssAnon,
// RssFile, RssShmem, VmSwap), data_vm, exec_vm, stack_vm, locked_vm and the
// bytes of page-table pages (VmPTE). They are updated where the kernel
// updates them (vm_stat_account(), add_mm_counter()), never recomputed.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fs/file_table.h"
#include "mm/slab_object.h"
#include "mm/tlb.h"
#include "mmsim/types.h"

namespace mmsim {

struct AnonVma;
struct Inode;
struct MmStruct;
namespace libc {
class ProcessMalloc;
struct StackCache;
}  // namespace libc

// vm_flags bits (include/linux/mm.h, 6.18 values, x86-64).
enum VmFlag : uint64_t {
    VM_NONE = 0,
    VM_READ = 0x1,
    VM_WRITE = 0x2,
    VM_EXEC = 0x4,
    VM_SHARED = 0x8,
    VM_MAYREAD = 0x10,
    VM_MAYWRITE = 0x20,
    VM_MAYEXEC = 0x40,
    VM_MAYSHARE = 0x80,
    VM_GROWSDOWN = 0x100,
    VM_UFFD_MISSING = 0x200,
    VM_PFNMAP = 0x400,
    VM_MAYBE_GUARD = 0x800,
    VM_UFFD_WP = 0x1000,
    VM_LOCKED = 0x2000,
    VM_IO = 0x4000,
    VM_SEQ_READ = 0x8000,
    VM_RAND_READ = 0x10000,
    VM_DONTCOPY = 0x20000,
    VM_DONTEXPAND = 0x40000,
    VM_LOCKONFAULT = 0x80000,
    VM_ACCOUNT = 0x100000,
    VM_NORESERVE = 0x200000,
    VM_HUGETLB = 0x400000,
    VM_SYNC = 0x800000,
    VM_ARCH_1 = 0x1000000,
    VM_WIPEONFORK = 0x2000000,
    VM_DONTDUMP = 0x4000000,
    VM_SOFTDIRTY = 0x8000000,
    VM_MIXEDMAP = 0x10000000,
    VM_HUGEPAGE = 0x20000000,
    VM_NOHUGEPAGE = 0x40000000,
    VM_MERGEABLE = 0x80000000ull,
};
// Flags a merge must find equal (VM_SOFTDIRTY is ignored, as in the kernel).
inline constexpr uint64_t VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
inline constexpr uint64_t VM_STACK_FLAGS =
    VM_GROWSDOWN | VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;
inline constexpr uint64_t VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// Special mappings the kernel installs itself (_install_special_mapping).
enum class SpecialMapping : uint8_t { None, Vvar, VvarVclock, Vdso, Vsyscall };

// One virtual memory area. Owned by its MmStruct.
struct Vma {
    uint64_t vm_start = 0;
    uint64_t vm_end = 0;  // exclusive
    uint64_t vm_flags = 0;
    uint64_t vm_pgoff = 0;  // offset in the file in pages; for anonymous areas vm_start >> PAGE_SHIFT
    // swap_readahead_info: the last swap fault's address, its readahead
    // window and the readahead hits since (mm/swap_state.c, SWAP_RA_VAL).
    uint64_t swap_ra_addr = 0;
    uint32_t swap_ra_win = 0;
    uint32_t swap_ra_hits = 0;
    Inode* vm_file = nullptr;  // the file mapped, if any
    // The struct file the area holds a reference on (vma->vm_file in the
    // kernel; vm_file above is its inode). Copies of the area share it, as
    // get_file() does. Empty for anonymous and special areas.
    FileRef vm_filp;
    MmStruct* vm_mm = nullptr;
    SpecialMapping special = SpecialMapping::None;
    std::string anon_name;  // prctl(PR_SET_VMA_ANON_NAME); printed as [anon:NAME]

    // Reverse mapping of anonymous pages (mm/rmap.c): the area's own
    // anon_vma (where new pages go) and the chain of every anon_vma whose
    // pages may be mapped here (its own and its ancestors' after fork).
    AnonVma* anon_vma = nullptr;
    std::vector<AnonVma*> anon_vma_chain;
    // The kernel objects behind the area: its vm_area_struct and one
    // anon_vma_chain per chain entry (kept as many as the chain by the rmap
    // functions). Copying a Vma copies them, as vm_area_dup() does.
    SlabObject obj;
    std::vector<SlabObject> avc_objs;

    uint64_t pages() const { return (vm_end - vm_start) >> PAGE_SHIFT; }
    bool is_anonymous() const { return vm_file == nullptr && special == SpecialMapping::None; }
    bool contains(uint64_t addr) const { return addr >= vm_start && addr < vm_end; }
    // linear_page_index(): the page's index in the area's mapping.
    uint64_t linear_page_index(uint64_t addr) const { return ((addr - vm_start) >> PAGE_SHIFT) + vm_pgoff; }
};

// The RSS counters (enum of mm_types_task.h).
enum MmCounter : unsigned { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };

// Resource limits the memory system consults (RLIMIT_*). RLIM_INFINITY is ~0.
inline constexpr uint64_t RLIM_INFINITY = ~uint64_t{0};
struct MmLimits {
    uint64_t stack = 8ull << 20;  // RLIMIT_STACK: ulimit -s 8192
    uint64_t as = RLIM_INFINITY;  // RLIMIT_AS
    uint64_t data = RLIM_INFINITY;
    uint64_t memlock = 8ull << 20;  // RLIMIT_MEMLOCK: 8 MiB since 5.16 (MLOCK_LIMIT)
};

struct MmStruct {
    uint32_t id = 0;                                // unique, for messages and the TLB's ctx_id
    SlabObject obj;                                 // its mm_struct
    FileRef exe_file;                               // the program it runs (/proc/PID/exe)
    std::map<uint64_t, std::unique_ptr<Vma>> vmas;  // keyed by vm_end
    mutable Vma* vma_cache = nullptr;               // the last area find_vma() returned
    int map_count = 0;

    // The page table: the pfn of the top-level (PGD) table page.
    Pfn pgd{0};
    bool has_pgd = false;
    // The PTE table the last walk ended in (pgtable.h): the 2 MiB-aligned
    // base of the range it maps, and its entries. Host bookkeeping only
    // (simulated walks cost the same); pgtable.cpp drops it before any
    // table of this mm is freed. A base that is not 2 MiB-aligned means
    // none.
    mutable uint64_t pt_cache_base = 1;
    mutable uint64_t* pt_cache_table = nullptr;

    // Layout (mm->mmap_base and the fields prctl(PR_SET_MM) can set).
    uint64_t task_size = 0x7ffffffff000ull;  // TASK_SIZE_MAX with 4-level paging
    uint64_t mmap_base = 0;
    uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
    uint64_t start_brk = 0, brk = 0, start_stack = 0;
    uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;

    // Accounting, in pages unless named bytes.
    uint64_t total_vm = 0, locked_vm = 0, pinned_vm = 0, data_vm = 0, exec_vm = 0, stack_vm = 0;
    uint64_t hiwater_rss = 0, hiwater_vm = 0;
    std::array<int64_t, NR_MM_COUNTERS> rss_stat{};
    int64_t pgtables_bytes = 0;  // PTE, PMD and PUD tables (mm_pgtables_bytes)
    uint64_t def_flags = 0;      // VM_LOCKED | VM_LOCKONFAULT after mlockall(MCL_FUTURE [| MCL_ONFAULT])
    MmLimits limits;

    // The process's C library (src/libc/malloc.h): malloc's arenas and
    // the words it keeps in this memory. Created on first use; fork copies
    // it along with the memory it describes; exec starts afresh.
    std::shared_ptr<libc::ProcessMalloc> libc;
    // NPTL's cache of ended threads' stacks (src/libc/nptl_stack.h).
    std::shared_ptr<libc::StackCache> stacks;

    int mm_users = 0;  // tasks (threads) using this address space
    TlbMmContext tlb;  // ctx_id, tlb_gen, the CPUs that have it loaded

    int64_t get_mm_counter(MmCounter c) const { return rss_stat[c]; }
    uint64_t get_mm_rss() const {
        return static_cast<uint64_t>(rss_stat[MM_FILEPAGES] + rss_stat[MM_ANONPAGES] +
                                     rss_stat[MM_SHMEMPAGES]);
    }
    void add_mm_counter(MmCounter c, int64_t n) { rss_stat[c] += n; }
    // update_hiwater_rss() / update_hiwater_vm().
    void update_hiwater_rss() {
        if (hiwater_rss < get_mm_rss()) hiwater_rss = get_mm_rss();
    }
    void update_hiwater_vm() {
        if (hiwater_vm < total_vm) hiwater_vm = total_vm;
    }
};

}  // namespace mmsim
