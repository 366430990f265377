// SLUB and kmalloc (src/mm/slub.cpp, slab_common.cpp) against the 6.18
// host capture in tests/data/host-6.18/slab (geometry of every cache from
// /sys/kernel/slab on a 2-CPU machine, and its /proc/slabinfo), against
// calculate_order()'s formula on other CPU counts, and against SLUB's list
// rules, with every invariant (validate_slab) checked after each step.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/text.h"
#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/rmap.h"
#include "mm/slub.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

struct HostGeometry {
    unsigned order, objs_per_slab, object_size, slab_size, align, min_partial, cpu_partial;
};

std::map<std::string, HostGeometry> host_geometry() {
    std::map<std::string, HostGeometry> out;
    for (const std::string& line : split_lines(test::read_data("host-6.18/slab/geometry"))) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string name;
        HostGeometry g{};
        in >> name >> g.order >> g.objs_per_slab >> g.object_size >> g.slab_size >> g.align >>
            g.min_partial >> g.cpu_partial;
        out[name] = g;
    }
    // Mergeable caches live under a unique id (":A-0000064"); their names
    // are links to it.
    for (const std::string& line : split_lines(test::read_data("host-6.18/slab/links"))) {
        std::vector<std::string> w = split_ws(line);
        if (w.size() == 2 && out.count(w[1])) out[w[0]] = out[w[1]];
    }
    return out;
}

std::map<std::string, std::vector<std::string>> slabinfo_rows(const std::string& text) {
    std::map<std::string, std::vector<std::string>> rows;
    for (const std::string& line : split_lines(text)) {
        if (line.empty() || line[0] == '#' || line.rfind("slabinfo", 0) == 0) continue;
        std::vector<std::string> w = split_ws(line);
        rows[w[0]] = w;
    }
    return rows;
}

std::string slabinfo(const Kernel& k) { return *proc_read(k, "/proc/slabinfo"); }

TEST(Slab, EveryCacheHasTheHostsGeometryOnTwoCpus) {
    auto k = test::boot_ram(1ull << 30, 2);
    auto host = host_geometry();
    unsigned compared = 0;
    for (const auto& c : k->slab->caches) {
        auto it = host.find(c->name);
        ASSERT_NE(it, host.end()) << c->name << " is not a cache of the host";
        const HostGeometry& g = it->second;
        EXPECT_EQ(c->order, g.order) << c->name;
        EXPECT_EQ(c->objects, g.objs_per_slab) << c->name;
        EXPECT_EQ(c->object_size, g.object_size) << c->name;
        EXPECT_EQ(c->size, g.slab_size) << c->name;
        EXPECT_EQ(c->align, g.align) << c->name;
        EXPECT_EQ(c->min_partial, g.min_partial) << c->name;
        EXPECT_EQ(c->cpu_partial, g.cpu_partial) << c->name;
        compared++;
    }
    EXPECT_EQ(compared, 69u);  // with ext4's and shmem's inode caches, the LSM blobs and vmap_area
}

TEST(Slab, SlabinfoLinesLineUpWithTheHostsAndShowTheSameGeometry) {
    auto k = test::boot_ram(1ull << 30, 2);
    std::string ours = slabinfo(*k);
    std::string theirs = test::read_data("host-6.18/slab/slabinfo");
    auto a = split_lines(ours), b = split_lines(theirs);
    ASSERT_GE(a.size(), 2u);
    EXPECT_EQ(a[0], b[0]);
    EXPECT_EQ(a[1], b[1]);
    auto host = slabinfo_rows(theirs);
    for (const auto& [name, w] : slabinfo_rows(ours)) {
        auto it = host.find(name);
        ASSERT_NE(it, host.end()) << name;
        ASSERT_EQ(w.size(), it->second.size()) << name;
        // objsize, objperslab, pagesperslab, and the constant SLUB columns.
        for (std::size_t i : {3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 15u})
            EXPECT_EQ(w[i], it->second[i]) << name << " column " << i;
    }
    // Same widths: a line with the host's numbers put in reads the same.
    for (const std::string& line : a) {
        if (line.rfind("kmalloc-8 ", 0) != 0) continue;
        EXPECT_EQ(line.size(),
                  std::string("kmalloc-8           2046   2048      8  512    1 : tunables    0    0    0 : "
                              "slabdata      4      4      0")
                      .size());
    }
    // Newest first: the boot caches close the file.
    EXPECT_EQ(split_ws(a[a.size() - 2])[0], "kmem_cache_node");
    EXPECT_EQ(split_ws(a.back())[0], "kmem_cache");
}

TEST(Slab, CalculateOrderFollowsMinObjectsFromTheCpuCount) {
    // min_objects = 4 * (fls(cpus) + 1): 8 on one CPU, 12 on two or three,
    // 32 on 64; capped by what an order-3 slab holds.
    EXPECT_EQ(slub_calculate_order(256, 1), 0u);   // 8 x 256 = 2 KiB
    EXPECT_EQ(slub_calculate_order(256, 2), 0u);   // 12 x 256 = 3 KiB
    EXPECT_EQ(slub_calculate_order(256, 64), 1u);  // 32 x 256 = 8 KiB: 32 objects, 2 pages
    EXPECT_EQ(slub_calculate_order(512, 2), 1u);
    EXPECT_EQ(slub_calculate_order(512, 64), 2u);    // 32 objects, 4 pages
    EXPECT_EQ(slub_calculate_order(5824, 2), 3u);    // task_struct: 5 per 8 pages
    EXPECT_EQ(slub_calculate_order(5824, 256), 3u);  // never above slub_max_order
    EXPECT_EQ(slub_calculate_order(8, 2), 0u);
    // Leftover rule: 3 KiB objects waste 1 KiB of a page, 1/4 of it: with
    // 12 wanted, order 3 (10 fit, 2 KiB left = 1/16) is the first to pass.
    EXPECT_EQ(slub_calculate_order(3072, 2), 3u);
    auto k = test::boot_ram(1ull << 30, 64);
    EXPECT_EQ(k->slab->find("kmalloc-256")->objects, 32u);
    EXPECT_EQ(k->slab->find("kmalloc-512")->order, 2u);
}

TEST(Slab, FreeObjectsHeldByTheCpuCountAsActive) {
    auto k = test::boot_ram(1ull << 30, 2);
    KmemCache& s = **kmem_cache_create(*k, "test_obj", 200, {});
    EXPECT_EQ(s.objects, 20u);  // 200 -> 200, 20 per 4 KiB (12 wanted)
    std::vector<uint64_t> objs;
    for (int i = 0; i < 45; i++) objs.push_back(*kmem_cache_alloc(*k, s, GFP_KERNEL));
    k->validate();
    auto rows = slabinfo_rows(slabinfo(*k));
    // Three slabs: two full, the CPU's with 5 in use; its 15 free objects
    // are the CPU's and read as active.
    EXPECT_EQ(rows["test_obj"][1], "60");
    EXPECT_EQ(rows["test_obj"][2], "60");
    EXPECT_EQ(rows["test_obj"][14], "3");
    // Freeing one object of a full slab puts that slab on the CPU's partial
    // list: still counted active.
    kmem_cache_free(*k, s, objs[0]);
    k->validate();
    rows = slabinfo_rows(slabinfo(*k));
    EXPECT_EQ(rows["test_obj"][1], "60");
    // Flushing moves the CPU's slabs to the node: now their free objects
    // show.
    slub_flush_all(*k, s);
    k->validate();
    rows = slabinfo_rows(slabinfo(*k));
    EXPECT_EQ(rows["test_obj"][1], "44");
    EXPECT_EQ(rows["test_obj"][2], "60");
    EXPECT_EQ(slab_objects_in_use(s, *k->slab), 44u);
}

TEST(Slab, EmptySlabsAreKeptUpToMinPartialAndShrinkFreesThem) {
    auto k = test::boot_ram(1ull << 30, 2);
    KmemCache& s = **kmem_cache_create(*k, "test_obj", 1000, {});  // 1000 -> 1000 bytes, order 2, 16 per slab
    ASSERT_EQ(s.objects, 16u);
    ASSERT_EQ(s.min_partial, 5u);
    std::vector<uint64_t> objs;
    for (int i = 0; i < 16 * 10; i++) objs.push_back(*kmem_cache_alloc(*k, s, GFP_KERNEL));
    int64_t slab_pages = k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE];
    // Free everything from the other CPU: the nine full slabs go to CPU 1's
    // partial list (draining it to the node whenever it holds
    // cpu_partial_slabs), the CPU 0 slab just gets remote frees.
    k->current_cpu = 1;
    for (uint64_t o : objs) kmem_cache_free(*k, s, o);
    k->validate();
    slub_flush_all(*k, s);
    k->validate();
    // Empty slabs beyond min_partial were given back; min_partial stay.
    EXPECT_EQ(s.node[0].nr_slabs, s.min_partial);
    EXPECT_EQ(s.node[0].partial.nr, s.min_partial);
    EXPECT_EQ(k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE], slab_pages - (10 - 5) * 4);
    EXPECT_EQ(kmem_cache_shrink(*k, s), 5u * 4);
    EXPECT_EQ(s.node[0].nr_slabs, 0u);
    k->validate();
}

TEST(Slab, KmallocPicksTheSizeClassAndTheTypeFromTheGfpFlags) {
    auto k = test::boot_ram(1ull << 30, 2);
    struct Case {
        uint64_t size;
        gfp_t gfp;
        const char* cache;
    } cases[] = {{1, GFP_KERNEL, "kmalloc-8"},
                 {8, GFP_KERNEL, "kmalloc-8"},
                 {9, GFP_KERNEL, "kmalloc-16"},
                 {65, GFP_KERNEL, "kmalloc-96"},
                 {96, GFP_KERNEL, "kmalloc-96"},
                 {97, GFP_KERNEL, "kmalloc-128"},
                 {129, GFP_KERNEL, "kmalloc-192"},
                 {193, GFP_KERNEL, "kmalloc-256"},
                 {1025, GFP_KERNEL, "kmalloc-2k"},
                 {8192, GFP_KERNEL, "kmalloc-8k"},
                 {100, GFP_KERNEL_ACCOUNT, "kmalloc-cg-128"},
                 {100, GFP_KERNEL | __GFP_RECLAIMABLE, "kmalloc-rcl-128"},
                 {100, GFP_KERNEL | __GFP_DMA, "dma-kmalloc-128"},
                 {100, GFP_KERNEL | __GFP_DMA | __GFP_RECLAIMABLE, "dma-kmalloc-128"}};
    for (const Case& c : cases) {
        KmemCache* s = kmalloc_slab(*k, c.size, c.gfp);
        ASSERT_NE(s, nullptr) << c.size;
        EXPECT_EQ(s->name, c.cache) << c.size;
        uint64_t a = *kmalloc(*k, c.size, c.gfp);
        EXPECT_EQ(virt_to_cache(*k, a), s);
        EXPECT_EQ(ksize(*k, a), s->object_size);
        kfree(*k, a);
    }
    EXPECT_EQ(kmalloc_slab(*k, 8193, GFP_KERNEL), nullptr);
    // Above 8 KiB: a compound block of get_order(size), counted in SUnreclaim.
    int64_t before = k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE];
    uint64_t big = *kmalloc(*k, 100000, GFP_KERNEL);  // 25 pages -> order 5
    EXPECT_EQ(big % PAGE_SIZE, 0u);
    EXPECT_EQ(k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE], before + 32);
    EXPECT_EQ(ksize(*k, big), 32u * PAGE_SIZE);
    k->validate();
    kfree(*k, big);
    EXPECT_EQ(k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE], before);
    kfree(*k, 0);                                 // kfree(NULL) is fine
    EXPECT_EQ(*kmalloc(*k, 0, GFP_KERNEL), 16u);  // ZERO_SIZE_PTR
    EXPECT_THROW(kfree(*k, big), std::logic_error);
    k->validate();
}

TEST(Slab, CompatibleCachesMergeAndDestroyRefusesWhileObjectsLive) {
    auto k = test::boot_ram(1ull << 30, 2);
    std::size_t caches = k->slab->caches.size();
    // 60 bytes with SLAB_ACCOUNT rounds to 64 and fits anon_vma_chain.
    KmemCacheArgs acct;
    acct.flags = SLAB_ACCOUNT;
    KmemCache* m = *kmem_cache_create(*k, "my_acct", 60, acct);
    EXPECT_EQ(m->name, "anon_vma_chain");
    EXPECT_EQ(k->slab->caches.size(), caches);
    // Without the flag it must not share anon_vma_chain's accounting; a
    // constructor or SLAB_NO_MERGE forbids merging outright.
    KmemCache* plain = *kmem_cache_create(*k, "my_plain", 64, {});
    EXPECT_EQ(plain->name, "my_plain");
    KmemCacheArgs ctor;
    ctor.ctor = true;
    EXPECT_EQ((*kmem_cache_create(*k, "my_ctor", 64, ctor))->name, "my_ctor");
    KmemCacheArgs nomerge;
    nomerge.flags = SLAB_NO_MERGE;
    EXPECT_EQ((*kmem_cache_create(*k, "my_nomerge", 64, nomerge))->name, "my_nomerge");
    // A later 64-byte plain cache merges into my_plain, the oldest match.
    EXPECT_EQ((*kmem_cache_create(*k, "my_plain2", 60, {}))->name, "my_plain");
    EXPECT_EQ(kmem_cache_create(*k, "bad", 100, KmemCacheArgs{3, 0, false, 0, false}).err(), Errno::INVAL);
    EXPECT_EQ(kmem_cache_create(*k, "huge", (4u << 20) + 1, {}).err(), Errno::INVAL);

    KmemCache& s = **kmem_cache_create(*k, "my_obj", 300, {});
    uint64_t o = *kmem_cache_alloc(*k, s, GFP_KERNEL);
    EXPECT_EQ(kmem_cache_destroy(*k, s).err(), Errno::BUSY);
    EXPECT_NE(k->log.dmesg().find("kmem_cache_destroy my_obj: Slab cache still has objects"),
              std::string::npos);
    kmem_cache_free(*k, s, o);
    int64_t before = k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE];
    ASSERT_TRUE(kmem_cache_destroy(*k, s));
    EXPECT_EQ(k->slab->find("my_obj"), nullptr);
    EXPECT_LT(k->nodes[0].vm_stat[NR_SLAB_UNRECLAIMABLE], before);
    EXPECT_EQ(slabinfo(*k).find("my_obj"), std::string::npos);
    k->validate();
}

TEST(Slab, RandomAllocAndFreeOnTwoCpusKeepEveryInvariant) {
    auto k = test::boot_ram(1ull << 30, 2);
    // Boot's own reclaimable slab: the root's dentry and inode.
    const int64_t reclaimable0 = k->nodes[0].vm_stat[NR_SLAB_RECLAIMABLE];
    std::vector<KmemCache*> caches = {*kmem_cache_create(*k, "t_small", 40, {}),
                                      *kmem_cache_create(*k, "t_mid", 700, {}),
                                      *kmem_cache_create(*k, "t_big", 3000, {})};
    KmemCacheArgs rcl;
    rcl.flags = SLAB_RECLAIM_ACCOUNT;
    caches.push_back(*kmem_cache_create(*k, "t_rcl", 128, rcl));
    std::mt19937_64 rng(7);
    std::vector<std::pair<KmemCache*, uint64_t>> live;
    std::set<uint64_t> addrs;
    for (int step = 0; step < 6000; step++) {
        k->current_cpu = static_cast<int>(rng() % 2);
        if (live.empty() || rng() % 100 < 55) {
            KmemCache* s = caches[rng() % caches.size()];
            uint64_t a = *kmem_cache_alloc(*k, *s, GFP_KERNEL);
            ASSERT_TRUE(addrs.insert(a).second) << "address handed out twice";
            live.push_back({s, a});
        } else {
            std::size_t i = rng() % live.size();
            kmem_cache_free(*k, *live[i].first, live[i].second);
            addrs.erase(live[i].second);
            live[i] = live.back();
            live.pop_back();
        }
        if (step % 50 == 0) {
            ASSERT_NO_THROW(k->validate()) << "step " << step;
            for (KmemCache* s : caches) {
                uint64_t want = 0;
                for (const auto& [c, _] : live) want += c == s;
                ASSERT_EQ(slab_objects_in_use(*s, *k->slab), want) << s->name;
                SlabInfo si;
                get_slabinfo(*s, *k->slab, si);
                ASSERT_LE(si.active_objs, si.num_objs);
                ASSERT_EQ(si.num_objs, si.num_slabs * s->objects);
            }
        }
    }
    // The reclaimable cache's pages are SReclaimable, the rest SUnreclaim.
    EXPECT_EQ(k->nodes[0].vm_stat[NR_SLAB_RECLAIMABLE] - reclaimable0,
              static_cast<int64_t>(caches[3]->node[0].nr_slabs << caches[3]->order));
    for (const auto& [s, a] : live) kmem_cache_free(*k, *s, a);
    for (KmemCache* s : caches) {
        (void)kmem_cache_shrink(*k, *s);
        EXPECT_EQ(s->node[0].nr_slabs, 0u) << s->name;
    }
    EXPECT_EQ(k->nodes[0].vm_stat[NR_SLAB_RECLAIMABLE], reclaimable0);
    k->validate();
}

// What the simulator creates is charged to the kernel's caches, one object
// each: a task_struct per task (kept until the zombie is reaped), an
// mm_struct per address space, a vm_area_struct per area, an anon_vma per
// anon_vma and an anon_vma_chain per chain entry, through spawn, fork,
// mprotect splits and exit.
TEST(Slab, TasksAreasAndAnonVmasAreChargedToTheirCaches) {
    auto k = test::boot_ram(256ull << 20, 2);
    SlabState& st = *k->slab;
    auto in_use = [&](KmemCache* c) { return slab_objects_in_use(*c, st); };
    const uint64_t tasks0 = in_use(st.task_struct), mms0 = in_use(st.mm_struct);
    auto check = [&](const char* when) {
        uint64_t tasks = 0, vmas = 0, avcs = 0;
        std::set<const MmStruct*> mms;
        k->tasks->for_each([&](const Task& t) {
            tasks++;
            if (t.mm) mms.insert(t.mm.get());
        });
        for (const MmStruct* mm : mms)
            for (const Vma* v : vma_list(*mm)) {
                vmas++;
                avcs += v->anon_vma_chain.size();
            }
        EXPECT_EQ(in_use(st.task_struct) - tasks0, tasks) << when;
        EXPECT_EQ(in_use(st.mm_struct) - mms0, mms.size()) << when;
        EXPECT_EQ(in_use(st.vm_area_struct), vmas) << when;
        EXPECT_EQ(in_use(st.anon_vma_chain), avcs) << when;
        EXPECT_EQ(in_use(st.anon_vma), k->anon_vmas->live()) << when;
        validate_slab(*k);
    };
    auto parent = spawn_process(*k, "bash", {"bash"}, 0);
    ASSERT_TRUE(parent.ok());
    Task& p = **parent;
    check("after spawn");
    EXPECT_GT(in_use(st.vm_area_struct), 20u);
    // Touch the heap so it has an anon_vma, then fork twice.
    uint64_t heap = do_brk(*k, p, p.mm->brk + (64 << 10));
    ASSERT_EQ(access_memory(*k, p, heap - PAGE_SIZE, Access::Write), VmFault::Minor);
    auto c1 = do_fork(*k, p);
    ASSERT_TRUE(c1.ok());
    auto c2 = do_fork(*k, **c1);
    ASSERT_TRUE(c2.ok());
    check("after two forks");
    // A split adds an area and its chain entries.
    uint64_t before = in_use(st.vm_area_struct);
    ASSERT_TRUE(do_mprotect(*k, **c2, heap - 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ).ok());
    EXPECT_GT(in_use(st.vm_area_struct), before);
    check("after a split");
    // An exited child keeps its task_struct until it is reaped.
    int pid2 = (*c2)->pid;
    do_exit(*k, **c2, 0);
    ASSERT_NE(k->tasks->find(pid2), nullptr);
    check("zombie");
    ASSERT_TRUE(do_wait(*k, **c1, pid2).ok());
    check("reaped");
}

// The page cache's index: one radix_tree_node object per xarray node. The
// reference counts the nodes of the whole tree from scratch: none for a
// lone index 0, otherwise, for the height h that the largest index needs,
// one node per distinct index >> 6l at each level l = 1..h.
TEST(Slab, PageCacheIndexNodesAreChargedToRadixTreeNode) {
    auto k = test::boot_ram(512ull << 20, 1);
    auto reference = [](const std::set<uint64_t>& idx) -> uint64_t {
        if (idx.empty() || (idx.size() == 1 && *idx.begin() == 0)) return 0;
        uint64_t max = *idx.rbegin();
        unsigned h = 1;
        while ((max >> (6 * h)) != 0) h++;
        uint64_t n = 0;
        for (unsigned l = 1; l <= h; l++) {
            std::set<uint64_t> prefixes;
            for (uint64_t x : idx) prefixes.insert(x >> (6 * l));
            n += prefixes.size();
        }
        return n;
    };
    // Each page read would validate the whole zone under MMSIM_CHECK; the
    // machine is validated once at the end instead.
    k->debug_vm = false;
    Inode& f = k->files->create("/data/sparse", 1ull << 40);
    const uint64_t base = slab_objects_in_use(*k->slab->radix_tree_node, *k->slab);
    std::set<uint64_t> idx;
    std::mt19937_64 rng(7);
    for (int step = 0; step < 2000; step++) {
        // Mostly small indices, sometimes far ones (taller trees).
        uint64_t i = (rng() % 4 == 0) ? rng() % (1u << 24) : rng() % 300;
        if (idx.count(i) && rng() % 2) {
            filemap_remove_page(*k, f, i);
            idx.erase(i);
        } else if (!idx.count(i)) {
            ASSERT_TRUE(filemap_get_or_read(*k, f, i, nullptr).ok());
            idx.insert(i);
        }
        ASSERT_EQ(f.mapping.xa_nodes.size(), reference(idx)) << "step " << step;
        ASSERT_EQ(slab_objects_in_use(*k->slab->radix_tree_node, *k->slab) - base, reference(idx));
    }
    // Examples: a lone page at 0 needs no node, one at 1 needs one, and
    // one at 64 with 0 needs a root and two leaves.
    EXPECT_EQ(reference({0}), 0u);
    EXPECT_EQ(reference({1}), 1u);
    EXPECT_EQ(reference({0, 64}), 3u);
    while (!idx.empty()) {
        filemap_remove_page(*k, f, *idx.begin());
        idx.erase(idx.begin());
    }
    EXPECT_TRUE(f.mapping.xa_nodes.empty());
    k->debug_vm = true;
    k->validate();
}

}  // namespace
}  // namespace mmsim
