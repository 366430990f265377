// The C library issue's hot path (issue 5):
//   small malloc + free pairs (tcache hits)                    >= 20 M/s
// and, reported: pairs that miss the tcache (bins and top), and a burst of
// allocations that grows the heap by brk and writes the chunk headers into
// process memory (page faults included).
//
// Each benchmark runs a spawned `malloc_steps` process's malloc through
// libc::ProcessMalloc, the entry point the scenario verbs use, so chunk
// headers, tcache entries and bins are read and written in simulated
// process memory as they would be. CPU time is reported.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "machine/machine.h"
#include "mm/mm_init.h"

using namespace mmsim;

namespace {

struct Proc {
    std::unique_ptr<Kernel> k;
    Task* t = nullptr;
};

Proc spawn(uint64_t ram = 1ull << 30) {
    std::vector<BootArg> args{{"ram", std::to_string(ram), {}}, {"cpus", "2", {}}};
    Proc p;
    p.k = boot_kernel(machine_from_boot_args(args, SourceLoc{"bench", 1, 1}));
    auto t = spawn_process(*p.k, "malloc_steps", {"./malloc_steps"}, 0);
    if (!t) throw std::runtime_error("spawn failed");
    p.t = *t;
    return p;
}

// malloc(size) then free() at once: the chunk goes to the tcache and
// comes back from it (sizes up to 1032 bytes).
void BM_SmallMallocFreePair(benchmark::State& st) {
    Proc p = spawn();
    libc::ProcessMalloc& pm = libc::process_malloc(*p.t);
    uint64_t size = static_cast<uint64_t>(st.range(0));
    for (auto _ : st) {
        uint64_t m = *pm.malloc(*p.k, *p.t, size);
        pm.free(*p.k, *p.t, m);
    }
    st.SetItemsProcessed(st.iterations());
    st.counters["pairs/s"] =
        benchmark::Counter(static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SmallMallocFreePair)->Arg(24)->Arg(100)->Arg(1000);

// Sixteen allocations, then sixteen frees: the tcache bin (7 entries)
// overflows into the fastbins or the unsorted bin, and the allocations after
// the first seven come from the bins or top.
void BM_MallocFreeBatchOf16(benchmark::State& st) {
    Proc p = spawn();
    libc::ProcessMalloc& pm = libc::process_malloc(*p.t);
    uint64_t size = static_cast<uint64_t>(st.range(0));
    uint64_t m[16];
    for (auto _ : st) {
        for (auto& a : m) a = *pm.malloc(*p.k, *p.t, size);
        for (auto a : m) pm.free(*p.k, *p.t, a);
    }
    st.SetItemsProcessed(st.iterations() * 16);
    st.counters["pairs/s"] =
        benchmark::Counter(static_cast<double>(st.iterations() * 16), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MallocFreeBatchOf16)->Arg(64)->Arg(600);

// 64 Ki allocations of 1000 bytes from a fresh process: the heap grows by
// brk (64 MiB) and each new page of it faults when a header is written.
void BM_HeapGrowth(benchmark::State& st) {
    for (auto _ : st) {
        st.PauseTiming();
        Proc p = spawn();
        libc::ProcessMalloc& pm = libc::process_malloc(*p.t);
        st.ResumeTiming();
        for (int i = 0; i < 65536; i++) benchmark::DoNotOptimize(*pm.malloc(*p.k, *p.t, 1000));
        st.PauseTiming();
        p = Proc{};
        st.ResumeTiming();
    }
    st.SetItemsProcessed(st.iterations() * 65536);
}
BENCHMARK(BM_HeapGrowth)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
