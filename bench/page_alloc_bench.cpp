// The page allocator's hot paths (DESIGN.md section 6 targets):
//   order-0 alloc + free through the per-CPU lists   >= 100 M pairs/s
//   order-0 alloc + free through split and merge     >= 20 M pairs/s
//   mixed orders, reported
//   booting a 1 TiB machine                          <= 1 s
//   host memory per simulated page                   <= 32 bytes
#include <benchmark/benchmark.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "machine/machine.h"
#include "mm/memmap.h"
#include "mm/mm_init.h"
#include "mm/page_alloc.h"

using namespace mmsim;

static std::unique_ptr<Kernel> boot(uint64_t ram) {
    std::vector<BootArg> args{{"ram", std::to_string(ram), {}}, {"cpus", "2", {}}};
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"bench", 1, 1}));
}

static void BM_Order0Pcp(benchmark::State& state) {
    auto k = boot(4ull << 30);
    for (auto _ : state) {
        auto p = alloc_pages(*k, GFP_KERNEL, 0);
        free_pages(*k, *p, 0);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Order0Pcp);

static void BM_Order0SplitMerge(benchmark::State& state) {
    // The buddy core alone: every allocation splits an order-10 block down
    // to order 0 and every free merges it all the way back.
    auto k = boot(4ull << 30);
    Zone& z = k->zone(0, static_cast<unsigned>(k->zone_index_of(ZoneKind::Normal)));
    for (auto _ : state) {
        auto p = rmqueue_buddy_block(*k, z, 0, MIGRATE_MOVABLE, 0);
        free_one_page(*k, z, *p, 0, MIGRATE_MOVABLE);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Order0SplitMerge);

static void BM_MixedOrders(benchmark::State& state) {
    // A working set of 4096 live blocks of orders 0..4 (mostly 0),
    // replaced at random.
    auto k = boot(4ull << 30);
    std::mt19937 rng(42);
    struct Live {
        Pfn pfn;
        unsigned order;
    };
    std::vector<Live> live;
    for (int i = 0; i < 4096; i++) {
        unsigned o = rng() % 8 == 0 ? rng() % 5 : 0;
        live.push_back({*alloc_pages(*k, GFP_KERNEL, o), o});
    }
    for (auto _ : state) {
        auto& slot = live[rng() % live.size()];
        free_pages(*k, slot.pfn, slot.order);
        unsigned o = rng() % 8 == 0 ? rng() % 5 : 0;
        slot = {*alloc_pages(*k, GFP_KERNEL, o), o};
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MixedOrders);

static void BM_Boot(benchmark::State& state) {
    uint64_t ram = static_cast<uint64_t>(state.range(0)) << 30;
    for (auto _ : state) {
        auto k = boot(ram);
        benchmark::DoNotOptimize(k.get());
    }
    state.SetLabel(std::to_string(state.range(0)) + " GiB");
}
BENCHMARK(BM_Boot)->Arg(64)->Arg(1024)->Unit(benchmark::kMillisecond)->Iterations(3);

// The host process's resident memory, in bytes (VmRSS of /proc/self/status).
static uint64_t host_rss_bytes() {
    std::ifstream in("/proc/self/status");
    std::string key;
    uint64_t kb = 0;
    while (in >> key) {
        if (key == "VmRSS:") {
            in >> kb;
            break;
        }
        in.ignore(1 << 12, '\n');
    }
    return kb << 10;
}

static void BM_HostBytesPerPage(benchmark::State& state) {
    // Worst case: every page of a 4 GiB machine handed out at order 0, so
    // every descriptor has been written. Host memory grown since before
    // boot, divided by the machine's pages.
    const uint64_t ram = 4ull << 30;
    double per_page = 0;
    for (auto _ : state) {
        uint64_t before = host_rss_bytes();
        auto k = boot(ram);
        std::vector<Pfn> pages;
        pages.reserve(ram >> PAGE_SHIFT);
        while (auto p = alloc_pages(*k, GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY, 0)) pages.push_back(*p);
        uint64_t grown = host_rss_bytes() - before - pages.capacity() * sizeof(Pfn);
        per_page = static_cast<double>(grown) / static_cast<double>(ram >> PAGE_SHIFT);
        for (Pfn p : pages) free_pages(*k, p, 0);
    }
    state.counters["host_bytes_per_page"] = per_page;
}
BENCHMARK(BM_HostBytesPerPage)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
