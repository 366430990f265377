// /proc/meminfo (fs/proc/meminfo.c).
//
// The file `free`, `top` and almost every monitoring agent read. Each line
// is "Label:" padded to 16 columns and a value in kB right-aligned in 8
// (wider values simply push past the column), in a fixed order that has
// only grown over the years -- tools look lines up by label, and new ones
// are appended where they belong in that order:
//
//   MemTotal .. Mlocked      totalram, free pages, the MemAvailable
//                            estimate, block-device cache (Buffers), the
//                            rest of the page cache (Cached), the LRU lists
//   SwapTotal .. Zswapped    swap and its compressed cache
//   Dirty .. SecPageTables   file pages being written, anonymous and mapped
//                            pages, slab, kernel stacks, page tables
//   NFS_Unstable .. WritebackTmp  always 0 in 6.18 (kept for parsers)
//   CommitLimit, Committed_AS     overcommit
//   Vmalloc*, Percpu         kernel virtual allocations
//   *HugePages, *PmdMapped   transparent huge pages (stored as base pages)
//   HugePages_*, Hugetlb     the hugetlbfs pools (hugetlb_report_meminfo)
//   DirectMap*               the linear map's page sizes (x86)
//
// Lines that depend on kernel configuration follow the 6.18 capture in
// tests/data/host-6.18 (x86-64, no CONFIG_MEMORY_FAILURE, no
// CONFIG_UNACCEPTED_MEMORY); HighTotal/HighFree/LowTotal/LowFree appear on
// the i386 profile (CONFIG_HIGHMEM) and CmaTotal/CmaFree when the machine
// has a CMA area (CONFIG_CMA). Every number is a counter or comes from
// src/mm/show_mem.h.
#include <fmt/format.h>

#include <iterator>

#include "mm/show_mem.h"
#include "mm/vmalloc.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

uint64_t pos(int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; }

class MeminfoWriter {
public:
    // show_val_kb(): a count of pages, printed in kB.
    void pages(std::string_view label, uint64_t nr) { kb(label, pages_to_kb(nr)); }
    // A value already in kB.
    void kb(std::string_view label, uint64_t kb) {
        fmt::format_to(std::back_inserter(m_out), "{:<16}{:>8} kB\n", label, kb);
    }
    // hugetlb_report_meminfo()'s bare counts: "HugePages_Total:   %5lu".
    void count(std::string_view label, uint64_t n) {
        fmt::format_to(std::back_inserter(m_out), "{:<16}   {:>5}\n", label, n);
    }
    std::string take() { return std::move(m_out); }

private:
    std::string m_out;
};

}  // namespace

std::string render_meminfo(const Kernel& k) {
    const SysInfo i = si_meminfo(k);
    auto node = [&](NodeStatItem it) { return pos(k.global_node_page_state(it)); };
    auto zone = [&](ZoneStatItem it) { return pos(k.global_zone_page_state(it)); };

    const uint64_t swapcache = total_swapcache_pages(k);
    int64_t cached = k.global_node_page_state(NR_FILE_PAGES) - static_cast<int64_t>(swapcache) -
                     static_cast<int64_t>(i.bufferram);
    const uint64_t active_anon = node(NR_ACTIVE_ANON), inactive_anon = node(NR_INACTIVE_ANON);
    const uint64_t active_file = node(NR_ACTIVE_FILE), inactive_file = node(NR_INACTIVE_FILE);
    const uint64_t sreclaimable = node(NR_SLAB_RECLAIMABLE), sunreclaim = node(NR_SLAB_UNRECLAIMABLE);

    MeminfoWriter w;
    w.pages("MemTotal:", i.totalram);
    w.pages("MemFree:", i.freeram);
    w.pages("MemAvailable:", si_mem_available(k));
    w.pages("Buffers:", i.bufferram);
    w.pages("Cached:", pos(cached));
    w.pages("SwapCached:", swapcache);
    w.pages("Active:", active_anon + active_file);
    w.pages("Inactive:", inactive_anon + inactive_file);
    w.pages("Active(anon):", active_anon);
    w.pages("Inactive(anon):", inactive_anon);
    w.pages("Active(file):", active_file);
    w.pages("Inactive(file):", inactive_file);
    w.pages("Unevictable:", node(NR_UNEVICTABLE));
    w.pages("Mlocked:", zone(NR_MLOCK));
    if (config_highmem(k)) {
        w.pages("HighTotal:", i.totalhigh);
        w.pages("HighFree:", i.freehigh);
        w.pages("LowTotal:", i.totalram - i.totalhigh);
        w.pages("LowFree:", i.freeram - i.freehigh);
    }
    w.pages("SwapTotal:", i.totalswap);
    w.pages("SwapFree:", i.freeswap);
    w.pages("Zswap:", zswap_total_pages(k));
    w.pages("Zswapped:", zswap_stored_pages(k));
    w.pages("Dirty:", node(NR_DIRTY));
    w.pages("Writeback:", node(NR_WRITEBACK));
    w.pages("AnonPages:", node(NR_ANON_PAGES));
    w.pages("Mapped:", node(NR_MAPPED));
    w.pages("Shmem:", i.sharedram);
    w.pages("KReclaimable:", sreclaimable + node(NR_KERNEL_MISC_RECLAIMABLE));
    w.pages("Slab:", sreclaimable + sunreclaim);
    w.pages("SReclaimable:", sreclaimable);
    w.pages("SUnreclaim:", sunreclaim);
    w.kb("KernelStack:", node(NR_KERNEL_STACK));  // NR_KERNEL_STACK_KB counts kB
    w.pages("PageTables:", node(NR_PAGE_TABLE_PAGES));
    w.pages("SecPageTables:", node(NR_SEC_PAGE_TABLE_PAGES));
    // NFS unstable pages, bounce buffers and FUSE's temporary writeback
    // pages have no counters left in 6.18; the lines stay, always 0.
    w.pages("NFS_Unstable:", 0);
    w.pages("Bounce:", 0);
    w.pages("WritebackTmp:", 0);
    w.pages("CommitLimit:", vm_commit_limit(k));
    w.pages("Committed_AS:", vm_memory_committed(k));
    w.kb("VmallocTotal:", vmalloc_total_kb(k));
    w.pages("VmallocUsed:", vmalloc_nr_pages(k));
    w.pages("VmallocChunk:", 0);  // no longer computed since 5.3
    w.pages("Percpu:", pcpu_nr_pages(k));
    // The THP counters count base pages.
    w.pages("AnonHugePages:", node(NR_ANON_TRANSPARENT_HUGEPAGES));
    w.pages("ShmemHugePages:", node(NR_SHMEM_HUGEPAGES));
    w.pages("ShmemPmdMapped:", node(NR_SHMEM_PMDMAPPED));
    w.pages("FileHugePages:", node(NR_FILE_HUGEPAGES));
    w.pages("FilePmdMapped:", node(NR_FILE_PMDMAPPED));
    if (config_cma(k)) {
        w.pages("CmaTotal:", totalcma_pages(k));
        w.pages("CmaFree:", zone(NR_FREE_CMA));
    }
    w.pages("Balloon:", node(NR_BALLOON_PAGES));

    const HugetlbReport h = hugetlb_report(k);
    w.count("HugePages_Total:", h.total);
    w.count("HugePages_Free:", h.free);
    w.count("HugePages_Rsvd:", h.rsvd);
    w.count("HugePages_Surp:", h.surp);
    w.kb("Hugepagesize:", h.page_size_kb);
    w.kb("Hugetlb:", h.hugetlb_kb);

    const DirectMapSizes dm = direct_map_sizes(k);
    w.kb("DirectMap4k:", dm.kb_4k);
    w.kb("DirectMap2M:", dm.kb_2m);
    if (!config_highmem(k)) w.kb("DirectMap1G:", dm.kb_1g);
    return w.take();
}

}  // namespace mmsim
