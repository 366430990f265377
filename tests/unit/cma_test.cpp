// The Contiguous Memory Allocator (src/mm/cma.cpp) and the MIGRATE_CMA
// rules of the page allocator.
//
// Oracles: the kernel's placement rule for the default area
// (cma_declare_contiguous_nid(): bottom-up from 4 GiB when memory reaches
// 4 GiB + size, else the highest free pageblock-aligned run), its counters
// (CmaTotal is the area, CmaFree the free pages on the CMA lists, the
// pagetypeinfo CMA rows and block counts), the allocation rules of
// __rmqueue() and __zone_watermark_ok(), and alloc_contig_range()'s
// contract: the range comes back whole after its users were moved, with
// every mapping following its page, or EBUSY with the pageblocks as they
// were.
#include "mm/cma.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "machine/machine.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/migrate.h"
#include "mm/mm.h"
#include "mm/mm_init.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "proc/procfs.h"

namespace mmsim {
namespace {

std::unique_ptr<Kernel> boot_cma(const std::string& ram, const std::string& cma, bool slab = true) {
    std::vector<BootArg> args{{"ram", ram, {}}, {"cpus", "2", {}}};
    if (!cma.empty()) args.push_back({"cma", cma, {}});
    MachineDesc d = machine_from_boot_args(args, SourceLoc{"<test>", 1, 1});
    d.slab = slab;
    auto k = boot_kernel(d);
    k->debug_vm = false;
    return k;
}

uint64_t meminfo_kb(const Kernel& k, const std::string& key) {
    std::istringstream in(*proc_read(k, "/proc/meminfo"));
    std::string name;
    uint64_t v;
    std::string unit;
    while (in >> name >> v) {
        std::getline(in, unit);
        if (name == key + ":") return v;
    }
    ADD_FAILURE() << key << " not in /proc/meminfo";
    return 0;
}

bool in_area(const CmaArea& a, uint64_t pfn) { return pfn >= a.base_pfn && pfn < a.base_pfn + a.count; }

uint64_t pcp_pages_in(const Kernel& k, const CmaArea& a) {
    uint64_t n = 0;
    PageView mm = k.mem_map->view();
    for (uint64_t p = a.base_pfn; p < a.base_pfn + a.count; p++)
        if (mm[p].test(PG_pcp)) n += uint64_t{1} << mm[p].order;
    return n;
}

Task& new_process(Kernel& k) {
    Task& t = k.tasks->create(1);
    t.mm = *mm_alloc(k);
    t.mm->mm_users = 1;
    return t;
}

TEST(Cma, DefaultAreaBelow4GIsTheHighestFreeRun) {
    auto k = boot_cma("1G", "64M");
    const CmaArea* a = default_cma_area(*k);
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->active);
    // 1 GiB of RAM ends at 0x40000000; the area is taken before the memory
    // map, so it is the top 64 MiB.
    EXPECT_EQ(a->base_pfn << PAGE_SHIFT, 0x3c000000u);
    EXPECT_EQ(a->count, 16384u);
    EXPECT_NE(k->log.dmesg().find("cma: Reserved 64 MiB at 0x000000003c000000\n"), std::string::npos);
    EXPECT_NE(k->log.dmesg().find("K reserved, 65536K cma-reserved)"), std::string::npos);
    k->validate();
}

TEST(Cma, DefaultAreaAbove4GIsBottomUpFrom4G) {
    auto k = boot_cma("8G", "64M", false);
    const CmaArea* a = default_cma_area(*k);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->base_pfn << PAGE_SHIFT, 0x100000000u);
    EXPECT_NE(k->log.dmesg().find("cma: Reserved 64 MiB at 0x0000000100000000\n"), std::string::npos);
    EXPECT_EQ(k->page_zone(Pfn(a->base_pfn))->kind, ZoneKind::Normal);
}

TEST(Cma, CountersAfterBoot) {
    auto with = boot_cma("1G", "64M");
    auto without = boot_cma("1G", "");
    const CmaArea& a = *default_cma_area(*with);
    // The area is managed memory like the rest: MemTotal does not change.
    EXPECT_EQ(meminfo_kb(*with, "MemTotal"), meminfo_kb(*without, "MemTotal"));
    EXPECT_EQ(meminfo_kb(*with, "CmaTotal"), 65536u);
    // CmaFree: the free pages on the CMA lists; the rest of the area sits
    // on the boot CPU's pcp list (each order-9 free went through it).
    uint64_t on_lists = static_cast<uint64_t>(with->global_zone_page_state(NR_FREE_CMA));
    EXPECT_EQ(meminfo_kb(*with, "CmaFree"), on_lists * 4);
    EXPECT_EQ(on_lists + pcp_pages_in(*with, a), a.count);
    EXPECT_EQ(proc_read(*without, "/proc/meminfo")->find("CmaTotal"), std::string::npos);

    // zoneinfo: the zone's cma line and nr_free_cma.
    std::string zi = *proc_read(*with, "/proc/zoneinfo");
    EXPECT_NE(zi.find("        cma      16384\n"), std::string::npos);
    EXPECT_NE(zi.find(fmt::format("      nr_free_cma  {}\n", on_lists)), std::string::npos);

    // pagetypeinfo: a CMA row per zone (between HighAtomic and Isolate, as
    // mm/vmstat.c's migratetype_names order them), 32 CMA pageblocks, and
    // the CMA row of the DMA32 zone adds up to NR_FREE_CMA.
    std::string pti = *proc_read(*with, "/proc/pagetypeinfo");
    EXPECT_NE(pti.find("HighAtomic          CMA      Isolate"), std::string::npos);
    auto row = pti.find("zone    DMA32, type          CMA");
    ASSERT_NE(row, std::string::npos);
    std::istringstream in(pti.substr(row + std::string("zone    DMA32, type          CMA").size()));
    uint64_t sum = 0;
    for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) {
        uint64_t n;
        in >> n;
        sum += n << o;
    }
    EXPECT_EQ(sum, on_lists);
    auto blocks = pti.find("Node 0, zone    DMA32");
    ASSERT_NE(blocks, std::string::npos);
    std::istringstream bin(pti.substr(blocks + std::string("Node 0, zone    DMA32").size()));
    uint64_t u, m, r, h, c;
    bin >> u >> m >> r >> h >> c;
    EXPECT_EQ(c, 32u);
    with->validate();
}

TEST(Cma, UnmovableAllocationsNeverLandInCma) {
    auto k = boot_cma("512M", "64M", false);
    const CmaArea a = *default_cma_area(*k);
    std::mt19937 rng(17);
    const gfp_t kinds[] = {GFP_KERNEL, GFP_KERNEL | __GFP_RECLAIMABLE, GFP_HIGHUSER_MOVABLE};
    std::vector<std::pair<Pfn, unsigned>> held;
    uint64_t movable_in_cma = 0;
    for (int i = 0; i < 100000; i++) {
        gfp_t gfp = kinds[rng() % 3] | __GFP_NOWARN | __GFP_NORETRY;
        unsigned order = rng() % 4;
        auto p = alloc_pages(*k, gfp & ~__GFP_RECLAIM, order);
        if (!p) continue;
        bool cma = in_area(a, p->value);
        if (gfp_migratetype(gfp) != MIGRATE_MOVABLE)
            ASSERT_FALSE(cma) << "an unmovable/reclaimable order-" << order << " block at pfn " << p->value;
        else
            movable_in_cma += cma;
        held.push_back({*p, order});
        if (rng() % 4 == 0) {
            auto [q, o] = held[rng() % held.size()];
            free_pages(*k, q, o);
            held.erase(std::find(held.begin(), held.end(), std::make_pair(q, o)));
        }
    }
    // Memory ran short, so movable requests went into the area.
    EXPECT_GT(movable_in_cma, 0u);
    k->validate();
}

TEST(Cma, WatermarkIgnoresFreeCmaWithoutAllocCma) {
    auto k = boot_cma("1G", "64M", false);
    const CmaArea a = *default_cma_area(*k);
    Zone& z = *k->page_zone(Pfn(a.base_pfn));
    drain_all_pages(*k);
    long free = z.page_state(NR_FREE_PAGES), cma = z.page_state(NR_FREE_CMA);
    ASSERT_EQ(cma, static_cast<long>(a.count));
    // __zone_watermark_ok(): a mark between the non-CMA free pages and all
    // free pages passes only for requests that may use CMA.
    uint64_t mark = static_cast<uint64_t>(free - cma + 100);
    EXPECT_TRUE(zone_watermark_ok(z, 0, mark, 0, ALLOC_CMA, free));
    EXPECT_FALSE(zone_watermark_ok(z, 0, mark, 0, 0, free));
    // Take everything unmovable requests can have: the last one failed on
    // the watermark with CMA memory free, and a movable request right
    // after is served, from the area.
    uint64_t n = 0;
    while (alloc_pages(*k, GFP_NOWAIT | __GFP_NOWARN, 0)) n++;
    EXPECT_GT(n, 100000u);
    EXPECT_EQ(z.page_state(NR_FREE_CMA), cma);
    EXPECT_FALSE(alloc_pages(*k, GFP_NOWAIT | __GFP_NOWARN, 0));
    auto p = alloc_pages(*k, (GFP_HIGHUSER_MOVABLE & ~__GFP_RECLAIM) | __GFP_NOWARN, 0);
    ASSERT_TRUE(p);
    EXPECT_TRUE(in_area(a, p->value));
    k->validate();
}

TEST(Cma, MovableTakesCmaFirstWhenMoreThanHalfOfFreeIsCma) {
    auto k = boot_cma("1G", "64M", false);
    const CmaArea a = *default_cma_area(*k);
    Zone& z = *k->page_zone(Pfn(a.base_pfn));
    drain_all_pages(*k);
    // Little of the free memory is CMA: the movable lists serve.
    auto p = alloc_pages(*k, GFP_HIGHUSER_MOVABLE, 0);
    ASSERT_TRUE(p);
    EXPECT_FALSE(in_area(a, p->value));
    // Take unmovable memory until CMA is more than half of what is free.
    // (Pages cached on the CPUs' lists are not free pages; drained, they are.)
    for (;;) {
        while (z.page_state(NR_FREE_CMA) <= z.page_state(NR_FREE_PAGES) / 2)
            ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN, 3, z.node));
        drain_all_pages(*k);
        if (z.page_state(NR_FREE_CMA) > z.page_state(NR_FREE_PAGES) / 2) break;
    }
    // Now the buddy hands a movable pcp refill from CMA.
    auto q = alloc_pages(*k, GFP_HIGHUSER_MOVABLE, 0);
    ASSERT_TRUE(q);

    EXPECT_TRUE(in_area(a, q->value));
    k->validate();
}

// A process whose anonymous and page-cache pages fill memory so that many
// of them sit in the CMA area.
struct Filled {
    std::unique_ptr<Kernel> k;
    Task* t = nullptr;
    uint64_t anon = 0, anon_pages = 0, file_addr = 0, file_pages = 0;
    Inode* file = nullptr;
};

Filled fill(uint64_t keep_free_pages) {
    Filled f;
    f.k = boot_cma("512M", "64M");
    Kernel& k = *f.k;
    Task& t = new_process(k);
    f.t = &t;
    f.file_pages = 2048;
    f.file = &k.files->create("/data/file", f.file_pages * PAGE_SIZE);
    MmapArgs fa;
    fa.len = f.file_pages * PAGE_SIZE;
    fa.prot = PROT_READ;
    fa.flags = MAP_SHARED;
    fa.file = f.file;
    f.file_addr = *do_mmap(k, t, fa);
    uint64_t free_now = static_cast<uint64_t>(k.global_zone_page_state(NR_FREE_PAGES));
    f.anon_pages = free_now - keep_free_pages - f.file_pages;
    MmapArgs aa;
    aa.len = f.anon_pages * PAGE_SIZE;
    f.anon = *do_mmap(k, t, aa);
    // Anonymous memory first; in the last stretch, when CMA is taken
    // first (more than half of what is free), page cache in between.
    const uint64_t tail = 2 * f.file_pages;
    for (uint64_t i = 0; i < f.anon_pages; i++) {
        EXPECT_EQ(access_memory(k, t, f.anon + i * PAGE_SIZE, Access::Write), VmFault::Minor);
        if (i + tail >= f.anon_pages && (f.anon_pages - i) % 2 == 0) {
            uint64_t j = (i + tail - f.anon_pages) / 2;
            VmFault r = access_memory(k, t, f.file_addr + j * PAGE_SIZE, Access::Read);
            EXPECT_TRUE(r == VmFault::Minor || r == VmFault::Major);
        }
    }
    return f;
}

TEST(Cma, AllocMigratesAnonAndReclaimsCleanPageCache) {
    Filled f = fill(27000);
    Kernel& k = *f.k;
    CmaArea& a = *default_cma_area(k);
    // Which pages of the process are in the area now.
    uint64_t anon_in = 0, file_in = 0;
    std::vector<std::pair<uint64_t, uint64_t>> before;  // addr, pfn
    auto scan = [&](uint64_t base, uint64_t n, uint64_t& count) {
        for (uint64_t i = 0; i < n; i++) {
            const uint64_t* pte = pte_lookup(k, *f.t->mm, base + i * PAGE_SIZE);
            if (!pte || !pte_present(*pte)) continue;
            uint64_t pfn = pte_pfn(*pte).value;
            before.push_back({base + i * PAGE_SIZE, pfn});
            count += in_area(a, pfn);
        }
    };
    scan(f.anon, f.anon_pages, anon_in);
    scan(f.file_addr, f.file_pages, file_in);
    ASSERT_GT(anon_in, 500u);
    ASSERT_GT(file_in, 10u);
    auto rss = f.t->mm->rss_stat;
    auto migrated_before = k.vm_events[PGMIGRATE_SUCCESS];
    const long file_pages_before = k.global_node_page_state(NR_FILE_PAGES);

    auto got = cma_alloc(k, a, a.count, 0);
    ASSERT_TRUE(got) << errno_name(got.err()) << "\n" << k.log.dmesg();
    EXPECT_EQ(got->value, a.base_pfn);
    // The anonymous pages migrate; the clean page cache (a read-only
    // shared mapping) is reclaimed instead: unmapped and dropped
    // (reclaim_clean_pages_from_list()), so only the anonymous pages count.
    EXPECT_EQ(k.vm_events[PGMIGRATE_SUCCESS] - migrated_before, anon_in);
    EXPECT_EQ(k.global_node_page_state(NR_FILE_PAGES), file_pages_before - static_cast<long>(file_in));
    EXPECT_EQ(a.available_count, 0u);
    EXPECT_EQ(k.global_zone_page_state(NR_FREE_CMA), 0);
    // Every page of the area is the caller's: one reference, not free.
    PageView mm = k.mem_map->view();
    for (uint64_t p = a.base_pfn; p < a.base_pfn + a.count; p++) {
        ASSERT_FALSE(mm[p].flags & (PG_buddy | PG_pcp)) << p;
        ASSERT_EQ(mm[p].refcount, 1u) << p;
    }
    // Every anonymous mapping followed its page out of the area; the file
    // pages that were in it are gone from the page table and the cache,
    // the others stay where they were. RssFile drops by the reclaimed ones.
    const uint64_t file_end = f.file_addr + f.file_pages * PAGE_SIZE;
    for (auto [addr, pfn] : before) {
        const uint64_t* pte = pte_lookup(k, *f.t->mm, addr);
        const bool is_file = addr >= f.file_addr && addr < file_end;
        if (is_file && in_area(a, pfn)) {
            EXPECT_TRUE(!pte || !pte_present(*pte)) << std::hex << addr;
            EXPECT_FALSE(filemap_get_page(k, *f.file, (addr - f.file_addr) / PAGE_SIZE));
            continue;
        }
        ASSERT_TRUE(pte && pte_present(*pte));
        uint64_t now = pte_pfn(*pte).value;
        EXPECT_FALSE(in_area(a, now));
        if (!in_area(a, pfn)) {
            EXPECT_EQ(now, pfn);
        }
    }
    for (uint64_t j = 0; j < f.file_pages; j++) {
        auto cached = filemap_get_page(k, *f.file, j);
        if (!cached) continue;
        EXPECT_FALSE(in_area(a, cached->value));
    }
    rss[MM_FILEPAGES] -= static_cast<int64_t>(file_in);
    EXPECT_EQ(f.t->mm->rss_stat, rss);
    // The pageblocks are CMA again.
    Zone& z = *k.page_zone(Pfn(a.base_pfn));
    for (uint64_t p = a.base_pfn; p < a.base_pfn + a.count; p += pageblock_nr_pages)
        EXPECT_EQ(get_pageblock_migratetype(z, Pfn(p)), MIGRATE_CMA);
    k.validate();

    // Release: the pages are free CMA memory again.
    EXPECT_TRUE(cma_release(k, a, *got, a.count));
    drain_all_pages(k);
    EXPECT_EQ(k.global_zone_page_state(NR_FREE_CMA), static_cast<long>(a.count));
    EXPECT_EQ(a.available_count, a.count);
    k.validate();
}

// __alloc_contig_migrate_range() hands every batch to
// reclaim_clean_pages_from_list() first: a clean page of an ordinary file
// leaves the page cache (its data is on disk) instead of being copied, so
// pgmigrate_success does not count it; a dirty one migrates; one with an
// extra reference can be neither dropped nor moved (EBUSY).
TEST(Cma, ContigRangeReclaimsCleanPageCacheAndMigratesTheRest) {
    Filled f = fill(27000);
    Kernel& k = *f.k;
    CmaArea& a = *default_cma_area(k);
    ASSERT_TRUE(do_munmap(k, *f.t, f.file_addr, f.file_pages * PAGE_SIZE));
    // Three cached pages of the file inside the area, now unmapped.
    std::vector<std::pair<uint64_t, Pfn>> in;  // index, pfn
    for (uint64_t j = 0; j < f.file_pages && in.size() < 3; j++)
        if (auto p = filemap_get_page(k, *f.file, j); p && in_area(a, p->value)) in.push_back({j, *p});
    ASSERT_EQ(in.size(), 3u);
    for (auto [j, p] : in) {
        ASSERT_EQ(k.page(p).mapcount, 0);
        ASSERT_FALSE(k.page(p).test(PG_dirty));
    }

    // 1. Clean: freed, taken by the caller, not migrated.
    const long file_pages = k.global_node_page_state(NR_FILE_PAGES);
    const uint64_t migrated = k.vm_events[PGMIGRATE_SUCCESS], failed = k.vm_events[PGMIGRATE_FAIL];
    const uint64_t isolated = k.vm_events[COMPACT_ISOLATED];
    Pfn clean = in[0].second;
    ASSERT_TRUE(alloc_contig_range(k, clean.value, clean.value + 1));
    EXPECT_EQ(k.vm_events[PGMIGRATE_SUCCESS], migrated);
    EXPECT_EQ(k.vm_events[COMPACT_ISOLATED], isolated + 1);
    EXPECT_FALSE(filemap_get_page(k, *f.file, in[0].first));
    EXPECT_EQ(k.global_node_page_state(NR_FILE_PAGES), file_pages - 1);
    EXPECT_EQ(k.page(clean).refcount, 1u);
    EXPECT_EQ(k.page(clean).mapping, 0u);
    free_contig_range(k, clean.value, 1);
    k.validate();

    // 2. Dirty: written back only by the flusher, so it migrates.
    Pfn dirty = in[1].second;
    mark_page_dirty(k, dirty, f.file);
    ASSERT_TRUE(alloc_contig_range(k, dirty.value, dirty.value + 1));
    EXPECT_EQ(k.vm_events[PGMIGRATE_SUCCESS], migrated + 1);
    auto moved = filemap_get_page(k, *f.file, in[1].first);
    ASSERT_TRUE(moved);
    EXPECT_NE(*moved, dirty);
    EXPECT_TRUE(k.page(*moved).test(PG_dirty));
    EXPECT_EQ(k.global_node_page_state(NR_FILE_PAGES), file_pages - 1);
    free_contig_range(k, dirty.value, 1);
    k.validate();

    // 3. Clean but held (a reference nobody accounts for): __remove_mapping
    // refuses it, migration fails with EAGAIN every pass, EBUSY.
    Pfn held = in[2].second;
    k.page(held).refcount++;
    EXPECT_EQ(alloc_contig_range(k, held.value, held.value + 1).err(), Errno::BUSY);
    EXPECT_EQ(filemap_get_page(k, *f.file, in[2].first), held);
    EXPECT_EQ(k.vm_events[PGMIGRATE_SUCCESS], migrated + 1);
    EXPECT_GT(k.vm_events[PGMIGRATE_FAIL], failed);
    k.page(held).refcount--;
    k.validate();
}

// The reference search of cma_alloc(): the first position, in bitmap
// order, aligned to 2^align pages, whose pages are neither handed out nor
// hold the blocker (a busy position is passed over, the search goes on at
// the next aligned one).
uint64_t expected_position(const CmaArea& a, const std::vector<std::pair<uint64_t, uint64_t>>& taken,
                           uint64_t blocker, uint64_t count, unsigned align) {
    for (uint64_t p = a.base_pfn; p + count <= a.base_pfn + a.count; p += uint64_t{1} << align) {
        bool ok = !(blocker >= p && blocker < p + count);
        for (auto [s, n] : taken) ok = ok && (p + count <= s || p >= s + n);
        if (ok) return p;
    }
    return 0;
}

TEST(Cma, AllocFailsWithEbusyOnAnUnmovablePageAndRestoresTheArea) {
    auto k = boot_cma("1G", "64M");
    CmaArea& a = *default_cma_area(*k);
    drain_all_pages(*k);
    // A movable page a kernel user took with alloc_pages() and holds: not
    // on the LRU, so nothing can migrate it. Take movable pages until one
    // comes from the area; keep that one.
    std::vector<Pfn> taken;
    Pfn blocker{0};
    for (;;) {
        auto p = alloc_pages(*k, (GFP_HIGHUSER_MOVABLE & ~__GFP_RECLAIM) | __GFP_NOWARN, 0);
        ASSERT_TRUE(p);
        if (in_area(a, p->value)) {
            blocker = *p;
            break;
        }
        taken.push_back(*p);
    }
    for (Pfn p : taken) free_pages(*k, p, 0);
    drain_all_pages(*k);
    EXPECT_EQ(page_movability(*k, blocker, true), Unmovable::Kernel);

    Zone& z = *k->page_zone(Pfn(a.base_pfn));
    const long free_cma = z.page_state(NR_FREE_CMA), free = z.page_state(NR_FREE_PAGES);
    const std::string before = *proc_read(*k, "/proc/pagetypeinfo");

    // The whole area has one position, and it holds the page.
    auto r = cma_alloc(*k, a, a.count, 0);
    EXPECT_EQ(r.err(), Errno::BUSY);
    EXPECT_NE(
        k->log.dmesg().find("cma: __cma_alloc: reserved: alloc failed, req-size: 16384 pages, ret: -16\n"),
        std::string::npos);
    EXPECT_NE(k->log.dmesg().find("cma: => 16384 free of 16384 total pages\n"), std::string::npos);
    // Everything as it was: types, counters, the free lists.
    for (uint64_t p = a.base_pfn; p < a.base_pfn + a.count; p += pageblock_nr_pages)
        EXPECT_EQ(get_pageblock_migratetype(z, Pfn(p)), MIGRATE_CMA);
    EXPECT_EQ(z.page_state(NR_FREE_CMA), free_cma);
    EXPECT_EQ(z.page_state(NR_FREE_PAGES), free);
    EXPECT_EQ(*proc_read(*k, "/proc/pagetypeinfo"), before);
    EXPECT_EQ(a.available_count, a.count);
    k->validate();

    // Smaller requests at several alignments take the first position the
    // blocker and earlier requests leave, as the bitmap search does.
    std::vector<std::pair<uint64_t, uint64_t>> held;
    const std::pair<uint64_t, unsigned> requests[] = {{512, 9}, {1024, 10}, {256, 8}, {3, 0}, {4096, 9}};
    for (auto [count, align] : requests) {
        uint64_t want = expected_position(a, held, blocker.value, count, align);
        auto got = cma_alloc(*k, a, count, align);
        ASSERT_TRUE(got) << count << " pages aligned to order " << align;
        EXPECT_EQ(got->value, want) << count << " pages aligned to order " << align;
        held.push_back({got->value, count});
        k->validate();
    }
    for (auto [p, n] : held) EXPECT_TRUE(cma_release(*k, a, Pfn(p), n));
    free_pages(*k, blocker, 0);
    drain_all_pages(*k);
    EXPECT_EQ(z.page_state(NR_FREE_CMA), static_cast<long>(a.count));
    EXPECT_EQ(a.available_count, a.count);
    k->validate();
}

std::string sysfs(const Kernel& k, const std::string& file) {
    auto r = proc_read(k, "/sys/kernel/mm/cma/reserved/" + file);
    EXPECT_TRUE(r) << file;
    return r ? *r : std::string();
}

uint64_t vmstat_event(const Kernel& k, const std::string& name) {
    std::istringstream in(*proc_read(k, "/proc/vmstat"));
    std::string n;
    uint64_t v;
    while (in >> n >> v)
        if (n == name) return v;
    ADD_FAILURE() << name << " not in /proc/vmstat";
    return 0;
}

// mm/cma_sysfs.c's files and the vmstat events: a success counts its pages
// in alloc_pages_success and one cma_alloc_success; a failure (a page a
// kernel user holds sits in the only position) its pages in
// alloc_pages_fail and one cma_alloc_fail; a release its pages in
// release_pages_success. available_pages is what the bitmap has clear.
TEST(Cma, SysfsCountersAndVmstatEvents) {
    auto k = boot_cma("1G", "64M");
    CmaArea& a = *default_cma_area(*k);
    EXPECT_EQ(sysfs(*k, "total_pages"), "16384\n");
    EXPECT_EQ(sysfs(*k, "available_pages"), "16384\n");
    for (const char* f : {"alloc_pages_success", "alloc_pages_fail", "release_pages_success"})
        EXPECT_EQ(sysfs(*k, f), "0\n") << f;
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_success"), 0u);
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_fail"), 0u);
    // The kernel's order: after the hugetlb events, before unevictable_*.
    const std::string vs = *proc_read(*k, "/proc/vmstat");
    EXPECT_NE(
        vs.find("htlb_buddy_alloc_fail 0\ncma_alloc_success 0\ncma_alloc_fail 0\nunevictable_pgs_culled "),
        std::string::npos);

    auto got = cma_alloc(*k, a, 1000, 4);
    ASSERT_TRUE(got);
    EXPECT_EQ(sysfs(*k, "alloc_pages_success"), "1000\n");
    EXPECT_EQ(sysfs(*k, "available_pages"), "15384\n");
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_success"), 1u);
    auto got2 = cma_alloc(*k, a, 24, 0);
    ASSERT_TRUE(got2);
    EXPECT_EQ(sysfs(*k, "alloc_pages_success"), "1024\n");
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_success"), 2u);

    // A movable page held by a kernel user, inside the area, after the
    // two allocations: a request for everything left has one position
    // only if the blocker is in it -- take pages until one lands there.
    drain_all_pages(*k);
    std::vector<Pfn> taken;
    Pfn blocker{0};
    for (;;) {
        auto p = alloc_pages(*k, (GFP_HIGHUSER_MOVABLE & ~__GFP_RECLAIM) | __GFP_NOWARN, 0);
        ASSERT_TRUE(p);
        if (in_area(a, p->value) && p->value >= got2->value + 24) {
            blocker = *p;
            break;
        }
        taken.push_back(*p);
    }
    for (Pfn p : taken) free_pages(*k, p, 0);
    const uint64_t rest = a.base_pfn + a.count - (got2->value + 24);
    ASSERT_EQ(rest, a.available_count);  // the two allocations sit at the start
    auto fail = cma_alloc(*k, a, rest, 0);
    EXPECT_EQ(fail.err(), Errno::BUSY);
    EXPECT_EQ(sysfs(*k, "alloc_pages_fail"), fmt::format("{}\n", rest));
    EXPECT_EQ(sysfs(*k, "alloc_pages_success"), "1024\n");
    EXPECT_EQ(sysfs(*k, "available_pages"), fmt::format("{}\n", rest));
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_fail"), 1u);
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_success"), 2u);

    // More than is left: the kernel stops before searching or migrating.
    const uint64_t migrated = k->vm_events[PGMIGRATE_SUCCESS];
    auto too_big = cma_alloc(*k, a, rest + 1, 0, true);
    EXPECT_EQ(too_big.err(), Errno::BUSY);
    EXPECT_EQ(k->vm_events[PGMIGRATE_SUCCESS], migrated);
    EXPECT_EQ(sysfs(*k, "alloc_pages_fail"), fmt::format("{}\n", 2 * rest + 1));
    EXPECT_EQ(vmstat_event(*k, "cma_alloc_fail"), 2u);

    EXPECT_TRUE(cma_release(*k, a, *got, 1000));
    EXPECT_EQ(sysfs(*k, "release_pages_success"), "1000\n");
    EXPECT_EQ(sysfs(*k, "available_pages"), fmt::format("{}\n", rest + 1000));
    // Not the area's pages: refused, nothing counted.
    EXPECT_FALSE(cma_release(*k, a, Pfn(a.base_pfn + a.count), 1));
    EXPECT_TRUE(cma_release(*k, a, *got2, 24));
    EXPECT_EQ(sysfs(*k, "release_pages_success"), "1024\n");
    EXPECT_EQ(sysfs(*k, "available_pages"), "16384\n");
    free_pages(*k, blocker, 0);
    k->validate();

    // Read-only attributes; no such area or file.
    EXPECT_EQ(proc_write(*k, "/sys/kernel/mm/cma/reserved/total_pages", "1\n").err(), Errno::ACCES);
    EXPECT_EQ(proc_read(*k, "/sys/kernel/mm/cma/other/total_pages").err(), Errno::NOENT);
    EXPECT_EQ(proc_read(*k, "/sys/kernel/mm/cma/reserved/bitmap").err(), Errno::NOENT);
    EXPECT_EQ(proc_read(*k, "/sys/kernel/mm/cma/reserved").err(), Errno::ISDIR);
    EXPECT_EQ(proc_read(*k, "/sys/kernel/mm/cma/reserved/total_pages/x").err(), Errno::NOTDIR);
    EXPECT_TRUE(proc_exists(*k, "/sys/kernel/mm/cma"));
    // A snapshot lists the five files.
    auto list = proc_list(*k);
    EXPECT_EQ(
        std::count_if(list.begin(), list.end(),
                      [](const std::string& p) { return p.rfind("/sys/kernel/mm/cma/reserved/", 0) == 0; }),
        5);
}

// Without cma= the kernel is the host's (no CONFIG_CMA): no directory, no
// events in /proc/vmstat.
TEST(Cma, NoAreaNoSysfsNoEvents) {
    auto k = boot_cma("1G", "");
    EXPECT_FALSE(proc_exists(*k, "/sys/kernel/mm/cma"));
    EXPECT_EQ(proc_read(*k, "/sys/kernel/mm/cma/reserved/total_pages").err(), Errno::NOENT);
    EXPECT_EQ(proc_read(*k, "/proc/vmstat")->find("cma_alloc"), std::string::npos);
}

}  // namespace
}  // namespace mmsim
