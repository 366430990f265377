// Swap's hot paths (src/mm/vmscan.cpp reclaim_pages, src/mm/memory.cpp
// do_swap_page, src/mm/swap_state.cpp):
//   MADV_PAGEOUT of written anonymous memory to swap        pages/s, reported
//   swap-in faults from a synchronous device (zram)         faults/s, reported
//   swap-in faults through the swap cache with readahead   faults/s, reported
//
// CPU time; each iteration pages 64 MiB out and faults it back in, on a
// 1 GiB machine whose swap device is given on the boot line.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_process.h"
#include "kernel/kernel.h"
#include "kernel/task.h"
#include "machine/machine.h"
#include "mm/mm.h"
#include "mm/mm_init.h"
#include "mm/swapfile.h"

using namespace mmsim;

namespace {

std::unique_ptr<Kernel> boot_with_swap(const std::string& medium) {
    std::vector<BootArg> args{{"ram", "1G", {}}, {"cpus", "2", {}}, {"swap", "1G", {}}};
    MachineDesc d = machine_from_boot_args(args, SourceLoc{"bench", 1, 1});
    for (auto& s : d.swaps) s.medium = medium;
    return boot_kernel(d);
}

using bench::new_process;

constexpr uint64_t kLen = 64ull << 20;

void pageout_and_back(benchmark::State& state, const std::string& medium, bool measure_pageout) {
    auto k = boot_with_swap(medium);
    Task& t = new_process(*k);
    MmapArgs a;
    a.len = kLen;
    auto addr = do_mmap(*k, t, a);
    if (!addr) throw std::runtime_error("mmap failed");
    populate_range(*k, t, *addr, *addr + kLen, true);
    int64_t items = 0;
    for (auto _ : state) {
        if (!measure_pageout) state.PauseTiming();
        (void)do_madvise(*k, t, *addr, kLen, MADV_PAGEOUT);
        if (measure_pageout) {
            state.PauseTiming();
        } else {
            state.ResumeTiming();
        }
        uint64_t before = k->vm_events[PGFAULT];
        // Written back: every page swaps in and its slot is freed.
        populate_range(*k, t, *addr, *addr + kLen, true);
        if (measure_pageout) {
            items += static_cast<int64_t>(kLen >> PAGE_SHIFT);
            state.ResumeTiming();
        } else {
            items += static_cast<int64_t>(k->vm_events[PGFAULT] - before);
        }
    }
    state.counters[measure_pageout ? "pages/s" : "faults/s"] =
        benchmark::Counter(static_cast<double>(items), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(items);
}

}  // namespace

static void BM_PageoutToZram(benchmark::State& state) { pageout_and_back(state, "zram", true); }
BENCHMARK(BM_PageoutToZram)->Unit(benchmark::kMillisecond);

static void BM_PageoutToDisk(benchmark::State& state) { pageout_and_back(state, "disk", true); }
BENCHMARK(BM_PageoutToDisk)->Unit(benchmark::kMillisecond);

static void BM_SwapInFromZram(benchmark::State& state) { pageout_and_back(state, "zram", false); }
BENCHMARK(BM_SwapInFromZram)->Unit(benchmark::kMillisecond);

// On a disk the pages stay in the swap cache after the write: every fault
// is a swap cache hit.
static void BM_SwapCacheHitFaults(benchmark::State& state) { pageout_and_back(state, "disk", false); }
BENCHMARK(BM_SwapCacheHitFaults)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
