// The processes issue's hot paths (DESIGN.md section 6, issue 3):
//   a memory access that hits the TLB (access_memory())        >= 200 M/s
//   the scenario `touch` loop over present pages (walks)       reported
//   anonymous page faults, hot metadata (small machine)        >= 10 M/s
//   anonymous page faults, 64 GiB machine, cold metadata       >= 3 M/s
//   fork of a process with 1 GiB resident and written          <= 5 ms
//   host bytes per mapped page (descriptor, entry, rmap)       reported
//
// Report CPU time: the machines these run on are shared. Every benchmark
// drives the simulator's public entry points (access_memory, do_fork, ...)
// the way a scenario does, so what is measured is the full path, counters
// and simulated time included.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_process.h"
#include "kernel/kernel.h"
#include "kernel/task.h"
#include "machine/machine.h"
#include "mm/filemap.h"
#include "mm/memory_fast.h"
#include "mm/mm.h"
#include "mm/mm_init.h"
#include "mm/tlb.h"

using namespace mmsim;

namespace {

std::unique_ptr<Kernel> boot(uint64_t ram, unsigned cpus = 2) {
    std::vector<BootArg> args{{"ram", std::to_string(ram), {}}, {"cpus", std::to_string(cpus), {}}};
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"bench", 1, 1}));
}

using bench::new_process;

// An anonymous private read-write mapping of len bytes.
uint64_t map_anon(Kernel& k, Task& t, uint64_t len) {
    MmapArgs a;
    a.len = len;
    auto r = do_mmap(k, t, a);
    if (!r) throw std::runtime_error("mmap failed");
    return *r;
}

void touch(Kernel& k, Task& t, uint64_t addr, uint64_t len, Access how) {
    for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE)
        if (access_memory(k, t, a, how) != VmFault::Minor) throw std::runtime_error("touch faulted");
}

// The host process's resident memory, in bytes (VmRSS of /proc/self/status).
uint64_t host_rss_bytes() {
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

// ---- memory access on a TLB hit ----------------------------------------------------

// `pages` pages of one mapping, written once (so their entries are
// writable and dirty), then accessed in a shuffled order that repeats: the
// whole working set stays in the TLB, so every access is a hit.
// How the loop calls the access path: access_memory() (one call per
// access, as single accesses do) or access_memory_inline() (memory_fast.h,
// as loops over many accesses do).
enum class Call { Function, Inline };

void run_tlb_hits(benchmark::State& state, uint64_t pages, Access how, Call call = Call::Function) {
    auto k = boot(256ull << 20);
    Task& t = new_process(*k);
    uint64_t base = map_anon(*k, t, pages * PAGE_SIZE);
    touch(*k, t, base, pages * PAGE_SIZE, Access::Write);
    std::vector<uint64_t> addrs;
    std::mt19937_64 rng(42);
    std::vector<uint64_t> order(pages);
    for (uint64_t i = 0; i < pages; i++) order[i] = i;
    while (addrs.size() < (1u << 16)) {
        std::shuffle(order.begin(), order.end(), rng);
        for (uint64_t i : order) {
            if (addrs.size() == (1u << 16)) break;
            addrs.push_back(base + i * PAGE_SIZE + (rng() & (PAGE_SIZE - 8)));
        }
    }
    for (uint64_t a : addrs) access_memory(*k, t, a, how);  // warm up
    const TlbCounters before = k->tlbs[0].counters;
    const Nanos sim_before = k->clock.now();
    std::size_t i = 0;
    Kernel& kr = *k;
    if (call == Call::Inline) {
        for (auto _ : state) {
            VmFault f = access_memory_inline(kr, t, addrs[i++ & (addrs.size() - 1)], how);
            benchmark::DoNotOptimize(f);
        }
    } else {
        for (auto _ : state) {
            VmFault f = access_memory(kr, t, addrs[i++ & (addrs.size() - 1)], how);
            benchmark::DoNotOptimize(f);
        }
    }
    const TlbLookupCounts d = k->tlbs[0].counters.lookups - before.lookups;
    const double n = static_cast<double>(d.lookups());
    state.counters["l1_hit_rate"] = n ? static_cast<double>(d.l1_hits) / n : 0;
    state.counters["stlb_hit_rate"] = n ? static_cast<double>(d.stlb_hits) / n : 0;
    state.counters["sim_ns_per_access"] =
        static_cast<double>(k->clock.now() - sim_before) / static_cast<double>(state.iterations());
    state.counters["accesses/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(state.iterations());
}

}  // namespace

// The target case: 48 pages, all in the 64-entry L1 dTLB.
static void BM_AccessL1HitRead(benchmark::State& state) { run_tlb_hits(state, 48, Access::Read); }
BENCHMARK(BM_AccessL1HitRead);
static void BM_AccessL1HitWrite(benchmark::State& state) { run_tlb_hits(state, 48, Access::Write); }
BENCHMARK(BM_AccessL1HitWrite);
static void BM_AccessL1HitReadInline(benchmark::State& state) {
    run_tlb_hits(state, 48, Access::Read, Call::Inline);
}
BENCHMARK(BM_AccessL1HitReadInline);
static void BM_AccessL1HitWriteInline(benchmark::State& state) {
    run_tlb_hits(state, 48, Access::Write, Call::Inline);
}
BENCHMARK(BM_AccessL1HitWriteInline);
// 1024 pages: the L1 misses, the STLB hits and refills the L1.
static void BM_AccessStlbHitRead(benchmark::State& state) { run_tlb_hits(state, 1024, Access::Read); }
BENCHMARK(BM_AccessStlbHitRead);

// ---- the scenario `touch` loop ------------------------------------------------------

// `touch PID ADDR 64M read` over pages that are mapped already: one
// access per page in address order; 16 Ki pages overflow both TLB levels,
// so almost every access misses, walks the page table and fills the TLB.
static void BM_TouchRangePresent(benchmark::State& state) {
    auto k = boot(1ull << 30);
    Task& t = new_process(*k);
    const uint64_t len = 64ull << 20;
    uint64_t base = map_anon(*k, t, len);
    touch(*k, t, base, len, Access::Write);
    for (auto _ : state) touch(*k, t, base, len, Access::Read);
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(len / PAGE_SIZE));
}
BENCHMARK(BM_TouchRangePresent)->Unit(benchmark::kMillisecond);

// ---- anonymous page faults ----------------------------------------------------------

// Hot metadata: a 512 MiB machine whose page descriptors and table pages
// have been used before. Each iteration maps 64 MiB afresh (untimed),
// writes every page once through access_memory() (TLB miss, walk, fault:
// area lookup, table allocation, page allocation and zeroing, rmap, RSS
// and node counters, PTE, walk again, TLB fill), then unmaps it (untimed).
static void BM_AnonFaultHot(benchmark::State& state) {
    auto k = boot(512ull << 20);
    Task& t = new_process(*k);
    const uint64_t len = 64ull << 20;
    {  // warm the descriptors, the pcp lists and the table slots
        uint64_t a = map_anon(*k, t, len);
        touch(*k, t, a, len, Access::Write);
        (void)do_munmap(*k, t, a, len);
    }
    int64_t faults = 0;
    for (auto _ : state) {
        state.PauseTiming();
        uint64_t a = map_anon(*k, t, len);
        uint64_t before = k->vm_events[PGFAULT];
        state.ResumeTiming();
        touch(*k, t, a, len, Access::Write);
        state.PauseTiming();
        faults += static_cast<int64_t>(k->vm_events[PGFAULT] - before);
        (void)do_munmap(*k, t, a, len);
        state.ResumeTiming();
    }
    state.counters["faults/s"] = benchmark::Counter(static_cast<double>(faults), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(faults);
}
BENCHMARK(BM_AnonFaultHot)->Unit(benchmark::kMillisecond);

// The same through MAP_POPULATE's loop (populate_range()): no TLB, one
// fault per page.
static void BM_AnonFaultPopulate(benchmark::State& state) {
    auto k = boot(512ull << 20);
    Task& t = new_process(*k);
    const uint64_t len = 64ull << 20;
    {
        uint64_t a = map_anon(*k, t, len);
        touch(*k, t, a, len, Access::Write);
        (void)do_munmap(*k, t, a, len);
    }
    int64_t faults = 0;
    for (auto _ : state) {
        state.PauseTiming();
        uint64_t a = map_anon(*k, t, len);
        uint64_t before = k->vm_events[PGFAULT];
        state.ResumeTiming();
        populate_range(*k, t, a, a + len, true);
        state.PauseTiming();
        faults += static_cast<int64_t>(k->vm_events[PGFAULT] - before);
        (void)do_munmap(*k, t, a, len);
        state.ResumeTiming();
    }
    state.counters["faults/s"] = benchmark::Counter(static_cast<double>(faults), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(faults);
}
BENCHMARK(BM_AnonFaultPopulate)->Unit(benchmark::kMillisecond);

// Cold metadata: a freshly booted 64 GiB machine (boot untimed) whose
// descriptors have never been written; 4 GiB of a fresh mapping written
// once, so every fault also meets descriptors, table pages and host memory
// for the first time.
static void BM_AnonFault64GCold(benchmark::State& state) {
    const uint64_t len = 4ull << 30;
    int64_t faults = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto k = boot(64ull << 30);
        Task& t = new_process(*k);
        uint64_t a = map_anon(*k, t, len);
        state.ResumeTiming();
        touch(*k, t, a, len, Access::Write);
        state.PauseTiming();
        faults += static_cast<int64_t>(k->vm_events[PGFAULT]);
        k.reset();
        state.ResumeTiming();
    }
    state.counters["faults/s"] = benchmark::Counter(static_cast<double>(faults), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(faults);
}
BENCHMARK(BM_AnonFault64GCold)->Unit(benchmark::kMillisecond)->Iterations(1);

// ---- fork -------------------------------------------------------------------------------

// fork of a process with 1 GiB of anonymous memory resident and written
// (262144 pages; the real kernel takes 9-13 ms). Only do_fork() is timed.
// Untimed: the child exits and is reaped (its time is reported as
// exit_ms), and the parent writes every page again so that the next fork
// again finds writable, exclusive entries (fork write-protects them).
static void BM_Fork1GiB(benchmark::State& state) {
    auto k = boot(4ull << 30);
    Task& parent = new_process(*k);
    const uint64_t len = 1ull << 30;
    uint64_t a = map_anon(*k, parent, len);
    touch(*k, parent, a, len, Access::Write);
    double exit_ns = 0;
    for (auto _ : state) {
        auto child = do_fork(*k, parent);
        state.PauseTiming();
        if (!child) throw std::runtime_error("fork failed");
        auto t0 = std::chrono::steady_clock::now();
        do_exit(*k, **child, 0);
        (void)do_wait(*k, parent, -1);
        exit_ns += static_cast<double>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
                .count());
        touch(*k, parent, a, len, Access::Write);
        state.ResumeTiming();
    }
    state.counters["exit_ms"] = exit_ns / 1e6 / static_cast<double>(state.iterations());
    state.counters["pages"] = static_cast<double>(len / PAGE_SIZE);
}
BENCHMARK(BM_Fork1GiB)->Unit(benchmark::kMillisecond);

// ---- processes and files -----------------------------------------------------------------

// A process made and gone: spawn_process("hello") (task_struct, a kernel
// stack from the CPU's stack cache after the first, mm, exec's areas and
// struct files, ld.so's and main()'s first touches) and its exit.
static void BM_SpawnAndExitHello(benchmark::State& state) {
    auto k = boot(1ull << 30);
    for (auto _ : state) {
        auto t = spawn_process(*k, "hello", {"hello"}, 0);
        if (!t) throw std::runtime_error("spawn failed");
        do_exit(*k, **t, 0);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpawnAndExitHello)->Unit(benchmark::kMicrosecond);

// open + mmap + close of a cached file, then munmap: a struct file from
// filp held by the area, and freed with it.
static void BM_FileMmapMunmap(benchmark::State& state) {
    auto k = boot(256ull << 20);
    Task& t = new_process(*k);
    Inode& file = k->files->create("/data/f", 1ull << 20);
    for (auto _ : state) {
        MmapArgs m;
        m.len = 64 * PAGE_SIZE;
        m.prot = PROT_READ;
        m.flags = MAP_PRIVATE;
        m.file = &file;
        auto a = do_mmap(*k, t, m);
        if (!a) throw std::runtime_error("mmap failed");
        if (!do_munmap(*k, t, *a, m.len)) throw std::runtime_error("munmap failed");
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FileMmapMunmap);

// ---- host memory per mapped page ------------------------------------------------------

// Host memory grown by mapping and writing 1 GiB (262144 pages) in one
// process, divided by the pages: the page descriptors written, the PTE
// tables (and the tables above them), the rmap and the areas. Then the
// same for a forked child that maps the same pages (entries and map counts
// only).
static void BM_HostBytesPerMappedPage(benchmark::State& state) {
    const uint64_t len = 1ull << 30;
    const double pages = static_cast<double>(len / PAGE_SIZE);
    double per_page = 0, per_shared_page = 0;
    for (auto _ : state) {
        auto k = boot(4ull << 30);
        Task& t = new_process(*k);
        uint64_t before = host_rss_bytes();
        uint64_t a = map_anon(*k, t, len);
        touch(*k, t, a, len, Access::Write);
        uint64_t mapped = host_rss_bytes();
        per_page = static_cast<double>(mapped - before) / pages;
        auto child = do_fork(*k, t);
        if (!child) throw std::runtime_error("fork failed");
        per_shared_page = static_cast<double>(host_rss_bytes() - mapped) / pages;
    }
    state.counters["host_bytes_per_page"] = per_page;
    state.counters["host_bytes_per_page_forked"] = per_shared_page;
}
BENCHMARK(BM_HostBytesPerMappedPage)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
