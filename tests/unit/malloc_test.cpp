// The model of glibc 2.36's malloc (src/libc), through its C++ API. The
// step-by-step comparison with the real glibc is in
// tests/scenario/malloc_oracle_test.cpp; here: the free lists' reuse order,
// glibc's checks and their messages, the arena limit (measured on the host
// with tests/data/host-6.18/malloc's arenas.c, below), mallopt's switches,
// the fragmentation the issue names, and the outstanding-allocation table.
// The host's answers come from tests/data/host-6.18/malloc/{bins,arenas,perturb,memalign}.c
// (their .out files), quoted where they are used.
// Every test validates the kernel (chunks tile the heaps, counters agree,
// allocations lie in rw areas) after its steps.
#include "libc/malloc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/addr_map.h"
#include "mm/mm.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;

struct Proc {
    std::unique_ptr<Kernel> k;
    Task* t = nullptr;
    libc::ProcessMalloc& pm() { return libc::process_malloc(*t); }
    uint64_t malloc(uint64_t n, Task* on = nullptr) {
        auto r = libc::process_malloc(on ? *on : *t).malloc(*k, on ? *on : *t, n);
        EXPECT_TRUE(r);
        return r ? *r : 0;
    }
    void free(uint64_t m, Task* on = nullptr) {
        libc::process_malloc(on ? *on : *t).free(*k, on ? *on : *t, m);
    }
    int64_t status_kb(const std::string& field) {
        std::istringstream in(*proc_read(*k, fmt::format("/proc/{}/status", t->pid)));
        for (std::string l; std::getline(in, l);)
            if (l.rfind(field + ":", 0) == 0) return std::stoll(l.substr(field.size() + 1));
        ADD_FAILURE() << "no " << field;
        return -1;
    }
    int maps_with(const std::string& what) {
        std::istringstream in(*proc_read(*k, fmt::format("/proc/{}/maps", t->pid)));
        int n = 0;
        for (std::string l; std::getline(in, l);) n += l.find(what) != std::string::npos;
        return n;
    }
};

Proc spawn(unsigned cpus = 2) {
    Proc p;
    p.k = test::boot_ram(256 * MiB, cpus);
    auto t = spawn_process(*p.k, "malloc_steps", {"./malloc_steps"}, 0);
    EXPECT_TRUE(t);
    p.t = *t;
    return p;
}

TEST(Malloc, TcacheIsLastInFirstOutAndOverflowsIntoTheFastbins) {
    Proc p = spawn();
    uint64_t a = p.malloc(24);
    p.free(a);
    EXPECT_EQ(p.malloc(24), a);  // straight back from the tcache
    std::vector<uint64_t> v;
    for (int i = 0; i < 9; i++) v.push_back(p.malloc(24));
    for (uint64_t m : v) p.free(m);
    // Seven go to the tcache, the last two to fastbin 0 (bins.out:
    // smblks=2 fsmblks=64).
    auto mi = p.pm().mallinfo2();
    EXPECT_EQ(mi.smblks, 2u);
    EXPECT_EQ(mi.fsmblks, 2u * 32);
    // The tcache hands back the seventh free first (LIFO), then the sixth
    // (bins.out: v6=1 v5=1).
    EXPECT_EQ(p.malloc(24), v[6]);
    EXPECT_EQ(p.malloc(24), v[5]);
    p.k->validate();
}

TEST(Malloc, DoubleFreesAndBadPointersAbortWithGlibcsMessages) {
    Proc p = spawn();
    uint64_t a = p.malloc(24);
    p.free(a);
    try {
        p.free(a);
        FAIL() << "a double free went unnoticed";
    } catch (const libc::MallocAbort& e) {
        EXPECT_EQ(e.message, "free(): double free detected in tcache 2");
    }
    Proc q = spawn();
    uint64_t b = q.malloc(100);
    try {
        q.free(b + 8);
        FAIL() << "a misaligned pointer was freed";
    } catch (const libc::MallocAbort& e) {
        EXPECT_EQ(e.message, "free(): invalid pointer");
    }
}

// arenas.c on the 2-CPU host: n threads each hold a malloc(100) while the
// main thread counts the ---p areas (n stack guards plus one PROT_NONE
// tail per thread arena) and mallinfo2().arena: 1 thread: 2 areas, 270336;
// 15: 30, 2162688; 16: 31; 20: 35, 2162688. NARENAS_FROM_NCORES(2) = 16
// arenas with main's, so the 16th thread on shares one.
TEST(Malloc, ThreadArenasStopAtEightPerCoreAsOnTheHost) {
    struct Want {
        int threads, guard_maps;
        uint64_t arena;
    };
    for (Want w : {Want{1, 2, 270336}, Want{15, 30, 2162688}, Want{16, 31, 2162688}, Want{20, 35, 2162688}}) {
        SCOPED_TRACE(w.threads);
        Proc p = spawn(2);
        p.free(p.malloc(16));  // the TLS descriptor calloc of pthread_create starts main_arena
        std::vector<std::pair<Task*, uint64_t>> held;
        for (int i = 0; i < w.threads; i++) {
            auto th = create_thread(*p.k, *p.t, 8 * MiB);
            ASSERT_TRUE(th);
            held.emplace_back(*th, p.malloc(100, *th));
        }
        EXPECT_EQ(p.maps_with(" ---p "), w.guard_maps);
        EXPECT_EQ(p.pm().mallinfo2().arena, w.arena);
        p.k->validate();
        for (auto [th, m] : held) p.free(m, th);
        p.k->validate();
    }
}

TEST(Malloc, MmapMaxZeroPutsLargeBlocksOnTheHeapAndNegativeTrimThresholdNeverTrims) {
    // Catalogue case 19's settings: M_MMAP_MAX 0, M_TRIM_THRESHOLD -1.
    Proc p = spawn();
    EXPECT_EQ(p.pm().mallopt(*p.k, *p.t, libc::M_MMAP_MAX, 0), 1);
    EXPECT_EQ(p.pm().mallopt(*p.k, *p.t, libc::M_TRIM_THRESHOLD, -1), 1);
    int maps = p.maps_with("");
    uint64_t big = p.malloc(8 * MiB);
    EXPECT_EQ(p.maps_with(""), maps + 1);  // [heap] appears; no mapping of its own
    EXPECT_EQ(p.pm().mallinfo2().hblks, 0u);
    uint64_t heap = p.pm().mallinfo2().arena;
    EXPECT_GE(heap, 8 * MiB);
    p.free(big);
    EXPECT_EQ(p.pm().mallinfo2().arena, heap);  // a trim threshold of (size_t)-1: never
    p.k->validate();
}

TEST(Malloc, FragmentationKeepsRssUntilMallocTrimReturnsWholePages) {
    Proc p = spawn();
    std::vector<uint64_t> v;
    for (int i = 0; i < 4096; i++) {
        v.push_back(p.malloc(1000));
        for (uint64_t a = v.back(); a < v.back() + 1000; a = (a & ~(PAGE_SIZE - 1)) + PAGE_SIZE)
            ASSERT_EQ(access_memory(*p.k, *p.t, a, Access::Write), VmFault::Minor);
    }
    int64_t rss = p.status_kb("RssAnon");
    for (std::size_t i = 0; i < v.size(); i++)
        if (i % 16 != 15) p.free(v[i]);
    // Every 16th block kept: free() cannot give anything back.
    EXPECT_EQ(p.status_kb("RssAnon"), rss);
    auto mi = p.pm().mallinfo2();
    EXPECT_EQ(mi.uordblks + mi.fordblks, mi.arena);  // in use plus free is the heap
    // In use: the 256 kept chunks, the 7 freed ones the tcache holds (glibc
    // counts them as allocated) and the tcache itself (656 bytes). bins.c's
    // 270128 is this plus its own 4112-byte stdout buffer, its held 24-byte
    // block and seven 32-byte chunks in the tcache: 265760 + 4368.
    EXPECT_EQ(mi.uordblks, (256u + 7) * 1008 + 656);
    EXPECT_EQ(p.pm().malloc_trim(*p.k, *p.t, 0), 1);
    // Each hole is 15 chunks of 1008 bytes: 15120 bytes, which hold two or
    // three whole pages; MADV_DONTNEED drops them, and RSS follows.
    int64_t after = p.status_kb("RssAnon");
    EXPECT_LT(after, rss / 2);
    EXPECT_EQ(p.pm().mallinfo2().uordblks, mi.uordblks);
    p.k->validate();
}

TEST(Malloc, CallocOfFreshlyMappedMemoryTouchesNothing) {
    Proc p = spawn();
    p.free(p.malloc(16));  // the heap and the tcache exist, as in any running program
    int64_t rss = p.status_kb("RssAnon");
    auto g = p.pm().calloc(*p.k, *p.t, 1, 2 * MiB);
    ASSERT_TRUE(g);
    // One page: the chunk header sysmalloc writes; the zeroes are the kernel's.
    EXPECT_EQ(p.status_kb("RssAnon"), rss + 4);
    p.k->validate();
}

// memalign.out: memalign, posix_memalign and aligned_alloc on the host,
// from a fresh heap: where each block lands (its offset from the heap's
// start; a mapped block's varies) and mallinfo2 after each call. The
// leaders and tails memalign gives back go to the tcache or the unsorted
// bin exactly as there.
TEST(Malloc, MemalignPlacesBlocksAsGlibcDoes) {
    std::vector<std::map<std::string, int64_t>> host;
    std::vector<std::string> labels;
    {
        std::istringstream in(test::read_data("host-6.18/malloc/memalign.out"));
        for (std::string l; std::getline(in, l);) {
            std::istringstream w(l);
            std::string label, kv;
            w >> label;
            labels.push_back(label);
            std::map<std::string, int64_t> m;
            while (w >> kv) m[kv.substr(0, kv.find('='))] = std::stoll(kv.substr(kv.find('=') + 1));
            host.push_back(m);
        }
    }
    ASSERT_EQ(host.size(), 10u);
    Proc p = spawn();
    libc::ProcessMalloc& pm = p.pm();
    Kernel& k = *p.k;
    Task& t = *p.t;
    const uint64_t h0 = t.mm->start_brk;
    std::vector<std::map<std::string, int64_t>> sim;
    auto step = [&](std::optional<uint64_t> ptr, int ret) {
        auto mi = pm.mallinfo2();
        sim.push_back({{"off", ptr ? static_cast<int64_t>(*ptr - h0) : -1},
                       {"ret", ret},
                       {"heap", static_cast<int64_t>(t.mm->brk - h0)},
                       {"arena", static_cast<int64_t>(mi.arena)},
                       {"ordblks", static_cast<int64_t>(mi.ordblks)},
                       {"uord", static_cast<int64_t>(mi.uordblks)},
                       {"ford", static_cast<int64_t>(mi.fordblks)},
                       {"hblks", static_cast<int64_t>(mi.hblks)},
                       {"hblkhd", static_cast<int64_t>(mi.hblkhd)}});
    };
    auto val = [](Result<uint64_t> r) { return r ? std::optional<uint64_t>(*r) : std::nullopt; };
    step(val(pm.malloc(k, t, 16)), 0);
    auto b = pm.memalign(k, t, 4096, 100);
    step(val(b), 0);
    step(val(pm.memalign(k, t, 64, 1000)), 0);
    step(val(pm.posix_memalign(k, t, 256, 5000)), 0);
    auto e = pm.posix_memalign(k, t, 24, 100);
    EXPECT_EQ(e.err(), Errno::INVAL);
    step(std::nullopt, 22);
    auto f = pm.memalign(k, t, 65536, 200000);  // aligned_alloc
    ASSERT_TRUE(f);
    EXPECT_EQ(*f % 65536, 0u);
    step(std::nullopt, 0);
    step(val(pm.memalign(k, t, 8, 40)), 0);
    step(val(pm.memalign(k, t, 100, 10)), 0);
    pm.free(k, t, *b);
    step(std::nullopt, 0);
    pm.free(k, t, *f);
    step(std::nullopt, 0);
    for (std::size_t i = 0; i < host.size(); i++) {
        SCOPED_TRACE(labels[i]);
        for (const auto& [key, v] : host[i]) {
            if (key == "off" && (labels[i].rfind("aligned_alloc", 0) == 0 || v == -1)) continue;
            EXPECT_EQ(sim[i].at(key), v) << key;
        }
    }
    k.validate();
}

// perturb.out: RssAnon grows by 4 kB for a plain malloc(100000) (the new
// top's header), by 100 kB once M_PERTURB is set (the block is filled), and
// by 196 kB for calloc(1, 200000), mapped but cleared anyway.
TEST(Malloc, PerturbFillsWhatMallocReturnsAsOnTheHost) {
    Proc p = spawn();
    p.free(p.malloc(16));
    int64_t a0 = p.status_kb("RssAnon");
    p.malloc(100000);
    int64_t a1 = p.status_kb("RssAnon");
    EXPECT_EQ(p.pm().mallopt(*p.k, *p.t, libc::M_PERTURB, 0x55), 1);
    p.malloc(100000);
    int64_t a2 = p.status_kb("RssAnon");
    ASSERT_TRUE(p.pm().calloc(*p.k, *p.t, 1, 200000));
    int64_t a3 = p.status_kb("RssAnon");
    EXPECT_EQ(a1 - a0, 4);
    EXPECT_EQ(a2 - a1, 100);
    EXPECT_EQ(a3 - a2, 196);
    p.k->validate();
}

TEST(Malloc, OutstandingAllocationsKeepTheirSiteAcrossRealloc) {
    Proc p = spawn();
    auto a = p.pm().malloc(*p.k, *p.t, 100, "main;parse;xmalloc");
    auto b = p.pm().malloc(*p.k, *p.t, 200, "main;load");
    ASSERT_TRUE(a && b);
    auto a2 = p.pm().realloc(*p.k, *p.t, *a, 5000);
    ASSERT_TRUE(a2);
    auto out = p.pm().outstanding();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out.count(*a), *a2 == *a ? 1u : 0u);
    EXPECT_EQ(p.pm().sites()[out.at(*a2).site], "main;parse;xmalloc");
    EXPECT_EQ(out.at(*a2).size, 5000u);
    p.free(*b);
    EXPECT_EQ(p.pm().outstanding_count(), 1u);
    p.k->validate();
}

// The outstanding-allocation table against std::map under random inserts
// and erases (backward-shift deletion keeps every probe run whole).
TEST(AddrMap, AgreesWithAMapUnderRandomInsertsAndErases) {
    libc::AddrMap<uint64_t> m;
    std::map<uint64_t, uint64_t> ref;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200000; i++) {
        uint64_t key = 0x555555559000ull + (rng() % 5000) * 16;
        if (rng() % 3) {
            m.put(key, i);
            ref[key] = static_cast<uint64_t>(i);
        } else {
            EXPECT_EQ(m.erase(key), ref.erase(key) == 1);
        }
        if (i % 10000 == 0) {
            ASSERT_EQ(m.size(), ref.size());
            for (auto [k2, v] : ref) {
                const uint64_t* got = m.find(k2);
                ASSERT_NE(got, nullptr);
                ASSERT_EQ(*got, v);
            }
        }
    }
    std::size_t n = 0;
    m.for_each([&](uint64_t key, uint64_t v) {
        n++;
        EXPECT_EQ(ref.at(key), v);
    });
    EXPECT_EQ(n, ref.size());
}

}  // namespace
}  // namespace mmsim
