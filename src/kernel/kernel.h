// The simulated kernel: every piece of state one booted machine has.
//
// Kernel is deliberately a plain aggregate. The mechanisms live in
// src/mm/*.cpp as free functions named after the kernel functions they
// model (alloc_pages(), __setup_per_zone_wmarks() as setup_per_zone_wmarks(),
// ...) and take the Kernel they work on; renderers in src/proc read it and
// print. Construct one with boot_kernel() (src/mm/mm_init.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/clock.h"
#include "kernel/printk.h"
#include "machine/machine.h"
#include "mmsim/mmzone.h"
#include "mmsim/vmstat_items.h"

namespace mmsim {

class MemMap;           // src/mm/memmap.h
struct ReclaimHooks;    // src/mm/page_alloc.h
class PageTableStore;   // src/mm/pgtable.h
class TaskTable;        // src/kernel/task.h
class AnonVmaTable;     // src/mm/rmap.h
class FileTable;        // src/mm/filemap.h
struct CpuTlb;          // src/mm/tlb.h
struct SlabState;       // src/mm/slub.h
struct SuperBlock;      // src/fs/dcache.h
struct ShrinkerList;    // src/mm/shrinker.h
struct VmallocState;    // src/mm/vmalloc.h
struct PageOwnerState;  // src/mm/page_owner.h
struct CmaState;        // src/mm/cma.h
struct SwapState;       // src/mm/swapfile.h
struct SwapCache;       // src/mm/swap_state.h

// Thrown when the simulated kernel panics ("Kernel panic - not syncing:
// ..."); the run ends there, with the panic in the kernel log.
class KernelPanic : public std::runtime_error {
public:
    explicit KernelPanic(const std::string& why) : std::runtime_error("Kernel panic - not syncing: " + why) {}
};

enum class ThpMode : uint8_t { Always, Madvise, Never };

// The /proc/sys/vm values, with Linux 6.18's defaults. Values that the
// kernel derives from memory size at boot (user_reserve_kbytes, ...) are
// filled in by boot. The sysctl table (src/proc/sysctl.cpp) reads and
// writes these fields and calls the kernel's handlers after a write.
struct VmTunables {
    int min_free_kbytes = 1024;
    int user_min_free_kbytes = -1;  // set by a write; -1: never written
    int watermark_scale_factor = 10;
    int watermark_boost_factor = 15000;
    std::array<int, MAX_NR_ZONES_LIMIT> lowmem_reserve_ratio{};  // filled per profile at boot
    int percpu_pagelist_high_fraction = 0;
    int swappiness = 60;
    int vfs_cache_pressure = 100;
    int vfs_cache_pressure_denom = 100;
    int dirty_background_ratio = 10;
    unsigned long dirty_background_bytes = 0;
    int dirty_ratio = 20;
    unsigned long dirty_bytes = 0;
    unsigned dirty_expire_centisecs = 3000;
    unsigned dirty_writeback_centisecs = 500;
    unsigned dirtytime_expire_seconds = 43200;
    int overcommit_memory = 0;
    int overcommit_ratio = 50;
    unsigned long overcommit_kbytes = 0;
    unsigned long admin_reserve_kbytes = 8192;
    unsigned long user_reserve_kbytes = 131072;
    int max_map_count = 65530;
    int page_cluster = 3;
    int zone_reclaim_mode = 0;
    int min_unmapped_ratio = 1;
    int min_slab_ratio = 5;
    int panic_on_oom = 0;
    int oom_kill_allocating_task = 0;
    int oom_dump_tasks = 1;
    int laptop_mode = 0;
    int extfrag_threshold = 500;
    int compaction_proactiveness = 20;
    int compact_unevictable_allowed = 1;
    int defrag_mode = 0;
    int stat_interval = 1;
    int numa_stat = 1;
    int legacy_va_layout = 0;
    unsigned long mmap_min_addr = 4096;
    int mmap_rnd_bits = 28;
    int mmap_rnd_compat_bits = 8;
    unsigned long nr_hugepages = 0;
    unsigned long nr_overcommit_hugepages = 0;
    int hugetlb_shm_group = 0;
    int hugetlb_optimize_vmemmap = 0;
    int memfd_noexec = 0;  // may only be raised (pid namespace ratchet)
    int shrink_inodes_with_pagecache = 0;
    std::string numa_zonelist_order = "Node";
    int page_lock_unfairness = 5;
    int unprivileged_userfaultfd = 0;
    int drop_caches = 0;
    int compact_memory = 0;
    ThpMode thp = ThpMode::Madvise;
    std::string thp_defrag = "madvise";  // /sys/kernel/mm/transparent_hugepage/defrag
};

struct CpuInfo {
    int id = 0;
    int node = 0;
};

// What operations cost in simulated time. The kernel has no such table;
// these are typical figures for a current x86-64 server, chosen so that
// relative costs come out right (a TLB hit is ~1000x cheaper than a minor
// fault, a major fault ~100x dearer again).
struct CostModel {
    Nanos tlb_hit = 1;         // an L1 dTLB hit: part of the load's latency
    Nanos stlb_hit = 7;        // a second-level TLB hit adds ~7 cycles-worth
    Nanos page_walk = 30;      // a four-level walk with the tables in cache
    Nanos fault_entry = 500;   // exception entry, handle_mm_fault, return
    Nanos page_zero = 250;     // clearing 4 KiB at ~16 GB/s
    Nanos page_copy = 400;     // copying 4 KiB (COW) at ~10 GB/s
    Nanos file_read = 100000;  // reading a 4 KiB page from an NVMe SSD (~100 us)
    Nanos syscall = 200;       // entering and leaving the kernel
    Nanos fork_per_page = 10;  // copying one entry and its map count at fork
};

class Kernel {
public:
    Kernel();
    ~Kernel();
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    // Hardware and layout.
    BootLayout layout;
    std::unique_ptr<MemMap> mem_map;
    std::vector<PglistData> nodes;
    std::vector<CpuInfo> cpus;
    std::vector<ZoneKind> zone_kinds;  // the profile's zone types, index order
    unsigned nr_zone_types() const { return static_cast<unsigned>(zone_kinds.size()); }
    // -1 if the profile has no such zone. O(1): the hot paths ask often.
    int zone_index_of(ZoneKind k) const { return m_kind_index[static_cast<unsigned>(k)]; }
    // gfp_zone(): the highest zone index for the mask's zone bits
    // (GFP_ZONE_TABLE), filled by set_zone_kinds().
    unsigned gfp_zone_index(uint32_t gfp) const { return m_gfp_zone[gfp & 0xf]; }
    // Sets zone_kinds and the indexes above.
    void set_zone_kinds(const std::vector<ZoneKind>& kinds);
    // Builds the pageblock-to-zone table page_zone() uses; called by boot
    // once every node and zone exists (zones must not move afterwards).
    void index_zones();

    // Tunables and counters.
    VmTunables vm;
    std::array<uint64_t, NR_VM_EVENT_ITEMS> vm_events{};
    std::array<int64_t, NR_VM_MEMMAP_STAT_ITEMS> memmap_stat{};
    uint64_t totalram_pages = 0;      // sum of managed pages
    uint64_t totalreserve_pages = 0;  // calculate_totalreserve_pages()
    uint64_t present_pages_total = 0;
    uint64_t kernel_reserved_pages = 0;  // reserved at boot, outside the memmap
    // fs/file_table.c's files_stat: struct files allocated (nr_files) and
    // file-max. Kept here, before the tables whose areas hold files, so
    // the count outlives them when the kernel is torn down.
    int64_t nr_files = 0;
    uint64_t max_files = 0;

    // Time and the kernel log.
    Clock clock;
    KernelLog log;
    int current_cpu = 0;                 // the CPU the simulated caller runs on
    std::string current_comm = "mmsim";  // the task the current operation runs for
    int current_pid = 1;
    std::string kernel_release = "6.18.0-mmsim";

    // Hooks the page allocator's slow path calls (reclaim, compaction, OOM).
    std::unique_ptr<ReclaimHooks> hooks;

    // The slab allocator (kmem_cache_init).
    std::unique_ptr<SlabState> slab;
    // vmalloc's areas and the kernel page table under them (vmalloc_init).
    std::unique_ptr<VmallocState> vmalloc;
    // page_owner=on: the records (page_owner_enabled below is the flag the
    // allocator tests).
    std::unique_ptr<PageOwnerState> page_owner;

    // CMA areas (cma_init_reserved_areas); null without cma=.
    std::unique_ptr<CmaState> cma;
    // Swap devices (swapfile_init; mm/swapfile.c's globals).
    std::unique_ptr<SwapState> swap;
    // The swap cache and its shadow entries (mm/swap_state.c).
    std::unique_ptr<SwapCache> swap_cache;

    // Processes and their memory (the processes issue).
    std::unique_ptr<PageTableStore> page_tables;
    std::unique_ptr<TaskTable> tasks;
    std::unique_ptr<AnonVmaTable> anon_vmas;
    std::unique_ptr<FileTable> files;
    std::unique_ptr<SuperBlock> sb;           // the root filesystem's dentry and inode caches
    std::unique_ptr<ShrinkerList> shrinkers;  // registered shrinkers (mm/shrinker.c)
    std::vector<CpuTlb> tlbs;                 // one per CPU
    Pfn zero_pfn{0};                          // the shared zero page (vm_init)
    std::array<Pfn, 2> vdso_pfns{};           // the vDSO's two code pages (vm_init)
    bool has_vdso_pfns = false;
    bool has_zero_page = false;
    int64_t vm_committed_pages = 0;  // vm_committed_as, pages
    // kernel/fork.c's per-CPU cached_stacks: up to NR_CACHED_STACKS freed
    // kernel stacks (vmalloc addresses, 0 for an empty slot) per CPU.
    std::vector<std::array<uint64_t, 2>> cached_stacks;
    CostModel costs;

    // Helpers.
    Zone& zone(int node, unsigned idx) { return nodes[node].node_zones[idx]; }
    const Zone& zone(int node, unsigned idx) const { return nodes[node].node_zones[idx]; }
    // nullptr for a pfn in no zone. A table lookup per pageblock; only a
    // pageblock shared by two zones needs the slow search.
    Zone* page_zone(Pfn pfn) {
        uint64_t b = pfn.value >> pageblock_order;
        if (b < m_pageblock_zone.size()) {
            uint16_t z = m_pageblock_zone[b];
            if (z != kMixed) return z ? m_zone_ptrs[z - 1u] : nullptr;
        }
        return page_zone_slow(pfn);
    }
    Page& page(Pfn pfn);
    void count_event(VmEventItem i, uint64_t n = 1) { vm_events[i] += n; }
    int64_t global_zone_page_state(ZoneStatItem i) const;
    int64_t global_node_page_state(NodeStatItem i) const;
    uint64_t global_numa_event_state(NumaStatItem i) const;

    // Runs every structure's validate(); throws std::logic_error naming the
    // first broken invariant.
    void validate() const;
    // When true, tests and `--check` validate after every operation.
    bool debug_vm = false;
    // debug_vm's allocator check walks the whole machine, so it runs once
    // per `debug_vm_stride` allocations and frees (debug_check_page_alloc).
    uint64_t debug_vm_ops = 0;
    uint64_t debug_vm_stride = 1;
    // page_owner=on (src/mm/page_owner.h). Beside debug_vm: the allocator's
    // fast paths test both with one branch.
    bool page_owner_enabled = false;

private:
    Zone* page_zone_slow(Pfn pfn);
    std::array<int8_t, 8> m_kind_index{-1, -1, -1, -1, -1, -1, -1, -1};
    std::array<uint8_t, 16> m_gfp_zone{};
    // page_zone(): per pageblock, 1 + the zone's position in m_zone_ptrs,
    // 0 for no zone, kMixed when zones meet inside the pageblock.
    static constexpr uint16_t kMixed = 0xffff;
    std::vector<uint16_t> m_pageblock_zone;
    std::vector<Zone*> m_zone_ptrs;
};

// topology_core_id() and topology_physical_package_id(): each node is one
// socket, and a CPU's core id is its place among that node's CPUs.
inline int topology_core_id(const Kernel& k, int cpu) {
    int node = k.cpus.at(cpu).node;
    if (node < 0 || node >= static_cast<int>(k.nodes.size())) return 0;
    const auto& local = k.nodes[node].cpus;
    for (std::size_t i = 0; i < local.size(); i++)
        if (local[i] == cpu) return static_cast<int>(i);
    return 0;
}
inline int topology_physical_package_id(const Kernel& k, int cpu) { return k.cpus.at(cpu).node; }

}  // namespace mmsim
