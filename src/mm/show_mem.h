// The numbers /proc/meminfo and /proc/vmstat print that are not a plain
// counter: formulas the kernel applies when the file is read.
//
// Renderers in src/proc hold no policy (DESIGN.md section 3), so every
// estimate, limit or derived size they print comes from here, under the
// name of the kernel function that computes it. Where the subsystem that
// owns a number does not exist yet (block devices, swap, vmalloc, per-CPU
// allocator, overcommit accounting), the function says so and returns
// what the kernel would with that subsystem idle.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel/kernel.h"

namespace mmsim {

// struct sysinfo as si_meminfo() and si_swapinfo() fill it, in pages.
struct SysInfo {
    uint64_t totalram = 0;
    uint64_t freeram = 0;
    uint64_t sharedram = 0;
    uint64_t bufferram = 0;
    uint64_t totalswap = 0;
    uint64_t freeswap = 0;
    uint64_t totalhigh = 0;
    uint64_t freehigh = 0;
};

// si_meminfo() + si_swapinfo() (mm/show_mem.c, mm/swapfile.c).
SysInfo si_meminfo(const Kernel& k);

// si_mem_available() (mm/show_mem.c): free pages above the reserves, plus
// the page cache and reclaimable kernel memory that could be dropped
// without pushing the zones under their low watermarks. In pages, >= 0.
uint64_t si_mem_available(const Kernel& k);

// vm_commit_limit() (mm/util.c): (totalram - hugetlb) * overcommit_ratio
// / 100, or overcommit_kbytes if set, plus all swap. In pages.
uint64_t vm_commit_limit(const Kernel& k);
// vm_memory_committed() (mm/util.c): pages promised to address spaces.
uint64_t vm_memory_committed(const Kernel& k);

// total_swapcache_pages() (mm/swap_state.c): NR_SWAPCACHE.
uint64_t total_swapcache_pages(const Kernel& k);
// nr_blockdev_pages() (block/bdev.c): page cache of block devices.
uint64_t nr_blockdev_pages(const Kernel& k);
// total_swap_pages (the usable slots of the devices that take
// allocations) and nr_swap_pages (the free ones among them), in pages.
// Defined in src/mm/swapfile.cpp; si_meminfo() takes its swap numbers
// from si_swapinfo(), which also counts a device being swapped off.
uint64_t total_swap_pages(const Kernel& k);
uint64_t nr_swap_pages_free(const Kernel& k);
// zswap_total_pages() / zswap_stored_pages() (mm/zswap.c).
uint64_t zswap_total_pages(const Kernel& k);
uint64_t zswap_stored_pages(const Kernel& k);
// VMALLOC_TOTAL of the profile, in kB (vmalloc_nr_pages() is in
// src/mm/vmalloc.h).
uint64_t vmalloc_total_kb(const Kernel& k);
// pcpu_nr_pages() (mm/percpu.c).
uint64_t pcpu_nr_pages(const Kernel& k);
// totalcma_pages (mm/cma.c): pages given to CMA areas at boot.
uint64_t totalcma_pages(const Kernel& k);
// The kernel is built with CONFIG_CMA exactly when the machine has a CMA
// area; the 6.18 capture (no CMA) shows no CMA column or lines.
bool config_cma(const Kernel& k);
// CONFIG_HIGHMEM: the i386 profile.
bool config_highmem(const Kernel& k);

// hugetlb_report_meminfo() (mm/hugetlb.c) for the default 2 MiB hstate.
struct HugetlbReport {
    uint64_t total = 0;  // huge pages in the pool
    uint64_t free = 0;
    uint64_t rsvd = 0;
    uint64_t surp = 0;
    uint64_t page_size_kb = 2048;
    uint64_t hugetlb_kb = 0;  // every hstate's pool, in kB
};
HugetlbReport hugetlb_report(const Kernel& k);
// hugetlb_total_pages(): base pages held by hugetlb pools.
uint64_t hugetlb_total_pages(const Kernel& k);

// The RAM ranges early boot registered (memblock.memory), sorted and
// merged, in pfns.
std::vector<PfnRange> memblock_memory_ranges(const Kernel& k);

// arch_report_meminfo() (arch/x86/mm/pat/set_memory.c): how much of the
// direct (linear) map uses each page size, from the way
// init_memory_mapping() splits RAM (arch/x86/mm/init.c split_mem_range).
struct DirectMapSizes {
    uint64_t kb_4k = 0;
    uint64_t kb_2m = 0;  // i386 PAE: the 2 MiB line too
    uint64_t kb_1g = 0;  // x86-64 only
};
DirectMapSizes direct_map_sizes(const Kernel& k);

// global_dirty_limits() (mm/page-writeback.c): the background and hard
// dirty thresholds in pages, as /proc/vmstat prints them.
struct DirtyLimits {
    uint64_t background = 0;
    uint64_t threshold = 0;
};
uint64_t global_dirtyable_memory(const Kernel& k);
DirtyLimits global_dirty_limits(const Kernel& k);

}  // namespace mmsim
