// Page migration and compaction (src/mm/migrate.cpp, src/mm/compaction.cpp).
//
// The oracle is the kernel's contract for compaction: after a workload
// that leaves every pageblock partly used by movable pages, an order-9
// request fails when compaction may not run (GFP_NOIO: the kernel's
// gfp_compaction_allowed() needs __GFP_IO) and succeeds when it may; the
// migrated pages keep their owners and contents, every PTE of every
// process maps the page's new frame, map counts and RSS do not change,
// and the page cache's index points at the new page. Formulas
// (fragmentation index, deferral) are checked against values worked out
// by hand from the kernel's definitions.
#include "mm/compaction.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/migrate.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

Task& new_process(Kernel& k) {
    Task& t = k.tasks->create(1);
    t.mm = *mm_alloc(k);
    t.mm->mm_users = 1;
    return t;
}

uint64_t free_blocks_at_least(const Kernel& k, unsigned order) {
    uint64_t n = 0;
    for (const auto& node : k.nodes)
        for (const auto& z : node.node_zones)
            for (unsigned o = order; o < NR_PAGE_ORDERS; o++) n += z.free_area[o].nr_free;
    return n;
}

// What a virtual page maps: frame, owner, index, map count.
struct Mapped {
    uint64_t pfn;
    uint32_t mapping, index;
    int32_t mapcount;
};

Mapped lookup(Kernel& k, Task& t, uint64_t addr) {
    const uint64_t* pte = pte_lookup(k, *t.mm, addr);
    EXPECT_TRUE(pte && pte_present(*pte)) << std::hex << addr;
    Pfn pfn = pte_pfn(*pte);
    const Page& p = page_of(k, pfn);
    return {pfn.value, p.mapping, p.index, p.mapcount};
}

struct Fragmented {
    std::unique_ptr<Kernel> k;
    Task* parent = nullptr;
    Task* child = nullptr;
    uint64_t anon = 0, anon_pages = 0;
    uint64_t file_addr = 0, file_pages = 0;
    Inode* file = nullptr;
    std::vector<Pfn> fillers;  // order-9 unmovable blocks held
};

// Fills memory with anonymous pages (and some page cache), takes every
// remaining free pageblock, then frees every other anonymous page and
// forks, so that anonymous pages are shared by two processes.
Fragmented fragment() {
    Fragmented f;
    f.k = test::boot_one_zone(16384, 2);  // 64 MiB
    Kernel& k = *f.k;
    Task& p = new_process(k);
    f.parent = &p;

    f.file = &k.files->create("/data/file", 64 * PAGE_SIZE);
    MmapArgs fa;
    fa.len = 64 * PAGE_SIZE;
    fa.prot = PROT_READ;
    fa.flags = MAP_SHARED;
    fa.file = f.file;
    f.file_addr = *do_mmap(k, p, fa);
    f.file_pages = 64;
    for (uint64_t i = 0; i < f.file_pages; i++) {
        VmFault r = access_memory(k, p, f.file_addr + i * PAGE_SIZE, Access::Read);
        EXPECT_TRUE(r == VmFault::Minor || r == VmFault::Major);
    }

    uint64_t free_now = static_cast<uint64_t>(k.global_zone_page_state(NR_FREE_PAGES));
    f.anon_pages = free_now - 1200;
    MmapArgs a;
    a.len = f.anon_pages * PAGE_SIZE;
    f.anon = *do_mmap(k, p, a);
    for (uint64_t i = 0; i < f.anon_pages; i++)
        EXPECT_EQ(access_memory(k, p, f.anon + i * PAGE_SIZE, Access::Write), VmFault::Minor);
    // No pageblock-sized free block may remain.
    while (free_blocks_at_least(k, pageblock_order)) {
        auto b = alloc_pages(k, GFP_NOWAIT | __GFP_NOWARN, pageblock_order);
        if (!b) break;
        f.fillers.push_back(*b);
    }
    for (uint64_t i = 1; i < f.anon_pages; i += 2)
        EXPECT_TRUE(do_madvise(k, p, f.anon + i * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED));
    drain_all_pages(k);
    auto c = do_fork(k, p);
    EXPECT_TRUE(c);
    f.child = *c;
    k.validate();
    return f;
}

TEST(Compaction, Order9FailsWithoutCompactionAndSucceedsWithIt) {
    Fragmented f = fragment();
    Kernel& k = *f.k;
    EXPECT_EQ(free_blocks_at_least(k, pageblock_order), 0u);
    // Plenty of memory is free, in pieces.
    EXPECT_GT(k.global_zone_page_state(NR_FREE_PAGES), 5000);

    // Before: what every mapped page of both processes is.
    std::map<std::pair<int, uint64_t>, Mapped> before;
    for (Task* t : {f.parent, f.child}) {
        for (uint64_t i = 0; i < f.anon_pages; i += 2)
            before[{t->pid, f.anon + i * PAGE_SIZE}] = lookup(k, *t, f.anon + i * PAGE_SIZE);
    }
    for (uint64_t i = 0; i < f.file_pages; i++)
        before[{f.parent->pid, f.file_addr + i * PAGE_SIZE}] =
            lookup(k, *f.parent, f.file_addr + i * PAGE_SIZE);
    auto rss_parent = f.parent->mm->rss_stat, rss_child = f.child->mm->rss_stat;
    auto anon_mapped = k.global_node_page_state(NR_ANON_PAGES);
    auto file_mapped = k.global_node_page_state(NR_MAPPED);
    auto file_pages = k.global_node_page_state(NR_FILE_PAGES);

    // GFP_NOIO may not compact (gfp_compaction_allowed): it fails, and no
    // compaction was counted.
    EXPECT_FALSE(alloc_pages(k, GFP_NOIO | __GFP_NOWARN, pageblock_order));
    EXPECT_EQ(k.vm_events[COMPACT_STALL], 0u);
    EXPECT_EQ(k.vm_events[PGMIGRATE_SUCCESS], 0u);

    // GFP_KERNEL compacts (async first, then sync-light) and succeeds.
    auto page = alloc_pages(k, GFP_KERNEL, pageblock_order);
    ASSERT_TRUE(page);
    EXPECT_GE(k.vm_events[COMPACT_STALL], 1u);
    EXPECT_EQ(k.vm_events[COMPACT_SUCCESS], 1u);
    EXPECT_GT(k.vm_events[PGMIGRATE_SUCCESS], 0u);
    EXPECT_GT(k.vm_events[COMPACT_MIGRATE_SCANNED], 0u);
    EXPECT_GT(k.vm_events[COMPACT_FREE_SCANNED], 0u);
    // Each migrated page was isolated twice: itself and its target.
    EXPECT_GE(k.vm_events[COMPACT_ISOLATED], 2 * k.vm_events[PGMIGRATE_SUCCESS]);
    k.validate();

    // After: same owners, indexes and map counts; both processes' entries
    // for a shared page agree on the new frame.
    uint64_t moved = 0;
    for (auto& [key, was] : before) {
        Task* t = key.first == f.parent->pid ? f.parent : f.child;
        Mapped now = lookup(k, *t, key.second);
        EXPECT_EQ(now.mapping, was.mapping);
        EXPECT_EQ(now.index, was.index);
        EXPECT_EQ(now.mapcount, was.mapcount);
        if (now.pfn != was.pfn) moved++;
        if (t == f.parent && key.second >= f.anon && key.second < f.anon + f.anon_pages * PAGE_SIZE) {
            Mapped in_child = lookup(k, *f.child, key.second);
            EXPECT_EQ(in_child.pfn, now.pfn);
        }
    }
    EXPECT_GT(moved, 0u);
    for (uint64_t i = 0; i < f.file_pages; i++) {
        Mapped now = lookup(k, *f.parent, f.file_addr + i * PAGE_SIZE);
        auto cached = filemap_get_page(k, *f.file, i);
        ASSERT_TRUE(cached);
        EXPECT_EQ(cached->value, now.pfn);
    }
    EXPECT_EQ(f.parent->mm->rss_stat, rss_parent);
    EXPECT_EQ(f.child->mm->rss_stat, rss_child);
    EXPECT_EQ(k.global_node_page_state(NR_ANON_PAGES), anon_mapped);
    EXPECT_EQ(k.global_node_page_state(NR_MAPPED), file_mapped);
    EXPECT_EQ(k.global_node_page_state(NR_FILE_PAGES), file_pages);

    // The processes still read and write their memory.
    for (uint64_t i = 0; i < f.anon_pages; i += 2)
        EXPECT_EQ(access_memory(k, *f.parent, f.anon + i * PAGE_SIZE, Access::Read), VmFault::Minor);
    k.validate();
}

TEST(Compaction, CompactMemorySysctlMakesPageblocksFree) {
    Fragmented f = fragment();
    Kernel& k = *f.k;
    ASSERT_EQ(free_blocks_at_least(k, pageblock_order), 0u);
    compact_nodes(k);
    drain_all_pages(k);
    k.validate();
    // Whole zone, sync: the movable pages are packed at the top.
    EXPECT_GE(free_blocks_at_least(k, pageblock_order), 5u);
    EXPECT_EQ(k.vm_events[COMPACT_STALL], 0u);  // not direct compaction
    EXPECT_GT(k.vm_events[PGMIGRATE_SUCCESS], 1000u);
    // No page is pinned; the only failure possible is the kernel's -ENOMEM
    // where the scanners meet (the free scanner finds no target above the
    // migration scanner), which migrate_pages() counts as one failed page.
    EXPECT_LE(k.vm_events[PGMIGRATE_FAIL], 1u);
    // Now an order-9 request succeeds without compacting.
    EXPECT_TRUE(alloc_pages(k, GFP_NOIO | __GFP_NOWARN, pageblock_order));
}

TEST(Migrate, PinnedPageFailsWithEagainAndStays) {
    Fragmented f = fragment();
    Kernel& k = *f.k;
    Mapped m = lookup(k, *f.parent, f.anon);
    Page& p = page_of(k, Pfn(m.pfn));
    EXPECT_EQ(page_movability(k, Pfn(m.pfn), true, true), Unmovable::None);
    p.refcount++;  // a get_user_pages() pin
    EXPECT_EQ(page_movability(k, Pfn(m.pfn), true, true), Unmovable::Pinned);
    auto dst = alloc_pages(k, GFP_HIGHUSER_MOVABLE, 0);
    ASSERT_TRUE(dst);
    std::vector<Pfn> from{Pfn(m.pfn)};
    MigrateResult r = migrate_pages(
        k, from, [&](Pfn) -> MaybePfn { return dst; }, [&](Pfn) {}, MigrateMode::Sync,
        MigrateReason::Syscall);
    EXPECT_EQ(r.nr_succeeded, 0u);
    EXPECT_EQ(r.nr_failed, 1u);
    EXPECT_EQ(from.size(), 1u);
    EXPECT_EQ(k.vm_events[PGMIGRATE_FAIL], 1u);
    EXPECT_EQ(lookup(k, *f.parent, f.anon).pfn, m.pfn);
    p.refcount--;
    free_pages(k, *dst, 0);
    k.validate();
}

TEST(Migrate, KernelPagesAreNotMovable) {
    auto k = test::boot_one_zone(4096, 1);
    auto pfn = alloc_pages(*k, GFP_KERNEL, 0);
    ASSERT_TRUE(pfn);
    EXPECT_EQ(page_movability(*k, *pfn, true), Unmovable::Kernel);
    auto big = alloc_pages(*k, GFP_KERNEL | __GFP_COMP, 2);
    ASSERT_TRUE(big);
    EXPECT_EQ(page_movability(*k, *big, true), Unmovable::Compound);
    free_pages(*k, *pfn, 0);
    EXPECT_NE(page_movability(*k, *pfn, true), Unmovable::None);
    free_pages(*k, *big, 2);
}

TEST(Migrate, MlockedPagesMoveOnlyWhenAllowed) {
    auto k = test::boot_one_zone(4096, 1);
    Task& t = new_process(*k);
    MmapArgs a;
    a.len = 4 * PAGE_SIZE;
    uint64_t addr = *do_mmap(*k, t, a);
    ASSERT_TRUE(do_mlock(*k, t, addr, a.len, 0));
    Mapped m = lookup(*k, t, addr);
    EXPECT_TRUE(page_of(*k, Pfn(m.pfn)).test(PG_mlocked));
    EXPECT_EQ(page_movability(*k, Pfn(m.pfn), false), Unmovable::Unevictable);
    EXPECT_EQ(page_movability(*k, Pfn(m.pfn), true), Unmovable::None);
    auto mlock_before = k->nodes[0].node_zones[0].page_state(NR_MLOCK);
    auto dst = alloc_pages(*k, GFP_HIGHUSER_MOVABLE, 0);
    ASSERT_TRUE(dst);
    ASSERT_TRUE(migrate_one_page(*k, Pfn(m.pfn), *dst));
    Mapped now = lookup(*k, t, addr);
    EXPECT_EQ(now.pfn, dst->value);
    EXPECT_TRUE(page_of(*k, *dst).test(PG_mlocked));
    EXPECT_EQ(k->nodes[0].node_zones[0].page_state(NR_MLOCK), mlock_before);
    k->validate();
}

// The TLB of the CPU that cached the old translation no longer returns
// the old frame once the page moved (try_to_migrate's flush).
TEST(Migrate, TheOldTranslationIsFlushedFromTheTlb) {
    auto k = test::boot_one_zone(4096, 2);
    Task& t = new_process(*k);
    MmapArgs a;
    a.len = PAGE_SIZE;
    uint64_t addr = *do_mmap(*k, t, a);
    ASSERT_EQ(access_memory(*k, t, addr, Access::Write), VmFault::Minor);
    ASSERT_EQ(access_memory(*k, t, addr, Access::Read), VmFault::Minor);
    Mapped m = lookup(*k, t, addr);
    CpuTlb& tlb = k->tlbs[static_cast<std::size_t>(t.cpu)];
    TlbResult before = tlb_lookup(tlb, VirtAddr(addr), TlbAccess::Read);
    ASSERT_TRUE(before.hit());
    EXPECT_EQ(before.pfn.value, m.pfn);
    auto dst = alloc_pages(*k, GFP_HIGHUSER_MOVABLE, 0);
    ASSERT_TRUE(dst);
    ASSERT_TRUE(migrate_one_page(*k, Pfn(m.pfn), *dst));
    TlbResult after = tlb_lookup(tlb, VirtAddr(addr), TlbAccess::Read);
    EXPECT_TRUE(!after.hit() || after.pfn == *dst);
    EXPECT_EQ(access_memory(*k, t, addr, Access::Read), VmFault::Minor);
    EXPECT_EQ(lookup(*k, t, addr).pfn, dst->value);
    k->validate();
}

// __fragmentation_index() worked by hand: with free blocks of order 0..2
// only, an order-3 request has index 1000 - (1000 + free*1000/8) / blocks.
TEST(Compaction, FragmentationIndexFormula) {
    Zone z;
    z.free_area[0].nr_free = 10;  // 10 pages
    z.free_area[1].nr_free = 3;   // 6 pages
    z.free_area[2].nr_free = 1;   // 4 pages
    // free_pages 20, blocks 14: 1000 - (1000 + 2500) / 14 = 1000 - 250 = 750
    EXPECT_EQ(fragmentation_index(z, 3), 750);
    EXPECT_EQ(fragmentation_index(z, 2), -1000);  // a block is free
    // unusable: order 2: (20 - 1*4) * 1000 / 20 = 800
    EXPECT_EQ(unusable_free_index(z, 2), 800);
    EXPECT_EQ(extfrag_for_order(z, 2), 80u);
    Zone empty;
    EXPECT_EQ(fragmentation_index(empty, 3), 0);
    EXPECT_EQ(unusable_free_index(empty, 3), 1000);
}

TEST(Compaction, DeferralDoublesUpToSixtyFour) {
    Zone z;
    // A failure at order 9 defers 2^1 attempts at orders >= 9.
    defer_compaction(z, 9);
    EXPECT_EQ(z.compact_order_failed, 0);  // only lowered
    z.compact_order_failed = 10;
    defer_compaction(z, 9);
    EXPECT_EQ(z.compact_order_failed, 9);
    EXPECT_EQ(z.compact_defer_shift, 2u);
    EXPECT_FALSE(compaction_deferred(z, 8));  // below the failed order
    EXPECT_TRUE(compaction_deferred(z, 9));   // 1 of 4
    EXPECT_TRUE(compaction_deferred(z, 9));
    EXPECT_TRUE(compaction_deferred(z, 9));
    EXPECT_FALSE(compaction_deferred(z, 9));  // the 4th tries again
    for (int i = 0; i < 10; i++) defer_compaction(z, 9);
    EXPECT_EQ(z.compact_defer_shift, COMPACT_MAX_DEFER_SHIFT);
    EXPECT_FALSE(compaction_restarting(z, 9));
    z.compact_considered = 64;
    EXPECT_TRUE(compaction_restarting(z, 9));
    compaction_defer_reset(z, 9, true);
    EXPECT_EQ(z.compact_defer_shift, 0u);
    EXPECT_EQ(z.compact_order_failed, 10);
}

// The host's debugfs files, computed by its kernel from the buddyinfo
// captured with them (tests/data/host-6.18/extfrag/capture.sh): the same
// free counts give the same text.
TEST(Compaction, ExtfragFilesMatchTheHost) {
    Kernel k;
    k.nodes.resize(1);
    std::istringstream in(test::read_data("host-6.18/extfrag/buddyinfo"));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string node, zone_word, name;
        ls >> node >> node >> zone_word >> name;  // "Node 0, zone Normal"
        Zone z;
        z.kind = name == "DMA" ? ZoneKind::DMA : name == "DMA32" ? ZoneKind::DMA32 : ZoneKind::Normal;
        z.present_pages = 1;
        for (unsigned o = 0; o < NR_PAGE_ORDERS; o++) ls >> z.free_area[o].nr_free;
        k.nodes[0].node_zones.push_back(z);
    }
    ASSERT_EQ(k.nodes[0].node_zones.size(), 3u);
    EXPECT_EQ(*proc_read(k, "/sys/kernel/debug/extfrag/unusable_index"),
              test::read_data("host-6.18/extfrag/unusable_index"));
    EXPECT_EQ(*proc_read(k, "/sys/kernel/debug/extfrag/extfrag_index"),
              test::read_data("host-6.18/extfrag/extfrag_index"));
    // A fragmented zone: order 3 is 750 (see the formula test), order 4
    // 1000 - (1000 + 20 * 1000 / 16) / 14 = 840; printed " 0.750  0.840".
    Zone& z = k.nodes[0].node_zones[2];
    for (auto& a : z.free_area) a.nr_free = 0;
    z.free_area[0].nr_free = 10;
    z.free_area[1].nr_free = 3;
    z.free_area[2].nr_free = 1;
    std::string e = *proc_read(k, "/sys/kernel/debug/extfrag/extfrag_index");
    EXPECT_NE(e.find("Node 0, zone   Normal -1.000 -1.000 -1.000  0.750  0.840"), std::string::npos) << e;
}

// kcompactd's proactive round: with vm.compaction_proactiveness at 100 the
// high mark is 15, a fragmented node scores far above it, and the timer
// 500 ms after boot compacts it, counting the daemon's scanners (not
// compact_daemon_wake, which counts kswapd's wakeups) and no stall.
TEST(Compaction, KcompactdCompactsProactivelyOnItsTimer) {
    Fragmented f = fragment();
    Kernel& k = *f.k;
    const PglistData& node = k.nodes[0];
    k.vm.compaction_proactiveness = 100;
    EXPECT_EQ(fragmentation_score_wmark(k, true), 5u);
    EXPECT_EQ(fragmentation_score_wmark(k, false), 15u);
    unsigned before = fragmentation_score_node(k, node);
    EXPECT_GT(before, 15u);
    EXPECT_TRUE(should_proactive_compact_node(k, node));
    k.clock.advance_to(k.clock.now() + 500 * NSEC_PER_MSEC);
    EXPECT_GT(k.vm_events[COMPACT_DAEMON_MIGRATE_SCANNED], 0u);
    EXPECT_GT(k.vm_events[COMPACT_DAEMON_FREE_SCANNED], 0u);
    EXPECT_EQ(k.vm_events[COMPACT_DAEMON_WAKE], 0u);
    EXPECT_EQ(k.vm_events[COMPACT_STALL], 0u);
    EXPECT_GT(k.vm_events[PGMIGRATE_SUCCESS], 0u);
    EXPECT_LT(fragmentation_score_node(k, node), before);
    k.validate();
}

// kswapd's handoff: a wakeup for order 9 runs kcompactd at once (an event
// now), which compacts sync-light until an order-9 block is free and counts
// one compact_daemon_wake; an order-0 wakeup does nothing.
TEST(Compaction, WakeupKcompactdCompactsForTheOrder) {
    Fragmented f = fragment();
    Kernel& k = *f.k;
    PglistData& node = k.nodes[0];
    wakeup_kcompactd(k, node, 0, 0);
    k.clock.advance_to(k.clock.now());
    EXPECT_EQ(k.vm_events[COMPACT_DAEMON_WAKE], 0u);
    ASSERT_EQ(free_blocks_at_least(k, pageblock_order), 0u);
    wakeup_kcompactd(k, node, pageblock_order, node.nr_zones - 1);
    EXPECT_EQ(node.kcompactd_max_order, static_cast<int>(pageblock_order));
    k.clock.advance_to(k.clock.now());
    EXPECT_EQ(k.vm_events[COMPACT_DAEMON_WAKE], 1u);
    EXPECT_GT(k.vm_events[COMPACT_DAEMON_MIGRATE_SCANNED], 0u);
    EXPECT_EQ(k.vm_events[COMPACT_STALL], 0u);
    EXPECT_EQ(node.kcompactd_max_order, 0);
    drain_all_pages(k);
    EXPECT_GE(free_blocks_at_least(k, pageblock_order), 1u);
    EXPECT_TRUE(alloc_pages(k, GFP_NOIO | __GFP_NOWARN, pageblock_order));
    k.validate();
}

TEST(Compaction, DefaultProactivenessLeavesAQuietNodeAlone) {
    auto k = test::boot_one_zone(16384, 2);
    EXPECT_FALSE(should_proactive_compact_node(*k, k->nodes[0]));
    k->clock.advance_to(10 * NSEC_PER_SEC);
    EXPECT_EQ(k->vm_events[COMPACT_DAEMON_MIGRATE_SCANNED], 0u);
}

}  // namespace
}  // namespace mmsim
