// Compaction: pages migrated per second (issue 4's benchmark, reported).
//
// Each iteration boots a 256 MiB machine, fills it with a process's
// anonymous memory, frees every other page (so every pageblock is half
// used), and then times vm.compact_memory (compact_nodes(): both scanners
// over every zone, sync). The rate is pgmigrate_success over the timed
// part; the setup is not timed.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "kernel/task.h"
#include "machine/machine.h"
#include "mm/compaction.h"
#include "mm/mm.h"
#include "mm/mm_init.h"
#include "mm/page_alloc.h"

using namespace mmsim;

namespace {

std::unique_ptr<Kernel> fragmented(uint64_t ram) {
    std::vector<BootArg> args{{"ram", std::to_string(ram), {}}, {"cpus", "2", {}}};
    auto k = boot_kernel(machine_from_boot_args(args, SourceLoc{"bench", 1, 1}));
    Task& t = k->tasks->create(1);
    t.mm = *mm_alloc(*k);
    t.mm->mm_users = 1;
    uint64_t pages = static_cast<uint64_t>(k->global_zone_page_state(NR_FREE_PAGES)) * 3 / 4;
    MmapArgs a;
    a.len = pages * PAGE_SIZE;
    uint64_t addr = *do_mmap(*k, t, a);
    for (uint64_t i = 0; i < pages; i++) (void)access_memory(*k, t, addr + i * PAGE_SIZE, Access::Write);
    for (uint64_t i = 1; i < pages; i += 2)
        (void)do_madvise(*k, t, addr + i * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
    drain_all_pages(*k);
    return k;
}

void BM_CompactMemory(benchmark::State& state) {
    uint64_t migrated = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto k = fragmented(256ull << 20);
        uint64_t before = k->vm_events[PGMIGRATE_SUCCESS];
        state.ResumeTiming();
        compact_nodes(*k);
        state.PauseTiming();
        migrated += k->vm_events[PGMIGRATE_SUCCESS] - before;
        k.reset();
        state.ResumeTiming();
    }
    state.counters["pages_migrated"] =
        benchmark::Counter(static_cast<double>(migrated), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(static_cast<int64_t>(migrated));
}
BENCHMARK(BM_CompactMemory)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
