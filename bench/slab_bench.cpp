// The slab allocator's hot paths (the kernel-allocators issue's targets):
//   kmem_cache_alloc + kmem_cache_free of one object      >= 50 M pairs/s
//   kmalloc + kfree of 100 bytes                            reported
//   a working set of objects replaced at random on 2 CPUs   reported
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "fs/dcache.h"
#include "machine/machine.h"
#include "mm/mm_init.h"
#include "mm/slub.h"

using namespace mmsim;

static std::unique_ptr<Kernel> boot() {
    std::vector<BootArg> args{{"ram", std::to_string(4ull << 30), {}}, {"cpus", "2", {}}};
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"bench", 1, 1}));
}

static void BM_KmemCacheAllocFree(benchmark::State& state) {
    auto k = boot();
    KmemCache& s = **kmem_cache_create(*k, "bench_obj", 192, {});
    for (auto _ : state) {
        uint64_t a = *kmem_cache_alloc(*k, s, GFP_KERNEL);
        kmem_cache_free(*k, s, a);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KmemCacheAllocFree);

static void BM_KmallocKfree(benchmark::State& state) {
    auto k = boot();
    for (auto _ : state) {
        uint64_t a = *kmalloc(*k, 100, GFP_KERNEL);
        kfree(*k, a);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KmallocKfree);

static void BM_SlabWorkingSet(benchmark::State& state) {
    // 20000 live 256-byte objects, one replaced per iteration, from either
    // CPU: slabs move between cpu, cpu-partial and node lists.
    auto k = boot();
    KmemCache& s = **kmem_cache_create(*k, "bench_ws", 256, {});
    std::mt19937 rng(42);
    std::vector<uint64_t> live;
    for (int i = 0; i < 20000; i++) live.push_back(*kmem_cache_alloc(*k, s, GFP_KERNEL));
    for (auto _ : state) {
        k->current_cpu = static_cast<int>(rng() & 1);
        uint64_t& slot = live[rng() % live.size()];
        kmem_cache_free(*k, s, slot);
        slot = *kmem_cache_alloc(*k, s, GFP_KERNEL);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SlabWorkingSet);

// Path walks that each allocate a dentry and an ext4 inode (find -ls over a
// cold tree), then drop_caches 2 freeing them all: entries per second.
static void BM_DentryWalkAndDrop(benchmark::State& state) {
    auto k = boot();
    const int files = 10000;
    std::vector<std::string> paths;
    for (int f = 0; f < files; f++) paths.push_back("/srv/d/f" + std::to_string(f));
    for (auto _ : state) {
        for (const std::string& p : paths) path_lookup(*k, p);
        drop_caches(*k, 2);
    }
    state.SetItemsProcessed(state.iterations() * files);
}
BENCHMARK(BM_DentryWalkAndDrop)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
