// The TLB's hot path (DESIGN.md section 6: a memory access that hits the
// TLB >= 200 M/s, so the lookup itself must take well under 5 ns):
//   lookups over a working set that fits the L1 dTLB    (every lookup an L1 hit)
//   ... that fits only the STLB                         (L1 miss, STLB hit, L1 refill)
//   ... that fits neither                               (miss + fill, as after a walk)
// and, for scale, a context switch between two mms and a one-page flush.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "mm/tlb.h"

using namespace mmsim;

namespace {

// `pages` distinct user pages in a random order (so the way a page sits in
// is not predictable), repeated to fill `n` addresses.
std::vector<VirtAddr> working_set(uint64_t pages, size_t n, uint64_t seed) {
    std::vector<uint64_t> vpns(pages);
    for (uint64_t i = 0; i < pages; i++) vpns[i] = 0x400 + i;
    std::mt19937_64 rng(seed);
    std::vector<VirtAddr> out;
    out.reserve(n);
    while (out.size() < n) {
        std::shuffle(vpns.begin(), vpns.end(), rng);
        for (uint64_t v : vpns) {
            if (out.size() == n) break;
            out.push_back(VirtAddr(v << PAGE_SHIFT));
        }
    }
    return out;
}

void run_lookups(benchmark::State& state, uint64_t pages) {
    std::vector<CpuTlb> cpus = make_cpu_tlbs(1);
    TlbMmContext mm;
    init_new_context(cpus, mm);
    switch_mm(cpus, 0, mm);
    const std::vector<VirtAddr> addrs = working_set(pages, 1 << 16, 42);
    CpuTlb& t = cpus[0];
    for (VirtAddr a : addrs)  // warm up
        if (!tlb_lookup(t, a, TlbAccess::Read).hit())
            tlb_fill(t, a, Pfn(a.value >> 12), TLB_USER | TLB_WRITE);
    const TlbCounters before = t.counters;
    size_t i = 0;
    for (auto _ : state) {
        VirtAddr a = addrs[i++ & (addrs.size() - 1)];
        TlbResult r = tlb_lookup(t, a, TlbAccess::Read);
        if (!r.hit()) [[unlikely]]
            tlb_fill(t, a, Pfn(a.value >> 12), TLB_USER | TLB_WRITE);
        benchmark::DoNotOptimize(r);
    }
    const TlbLookupCounts d = t.counters.lookups - before.lookups;
    const double n = static_cast<double>(d.lookups());
    state.counters["l1_hit_rate"] = n ? static_cast<double>(d.l1_hits) / n : 0;
    state.counters["stlb_hit_rate"] = n ? static_cast<double>(d.stlb_hits) / n : 0;
    state.counters["miss_rate"] = n ? static_cast<double>(d.misses) / n : 0;
    state.counters["lookups/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
    state.SetItemsProcessed(state.iterations());
    tlb_mm_release(cpus, mm);
}

}  // namespace

// 48 pages: 3 per L1 set of 4 ways, so all stay in the 64-entry L1.
static void BM_TlbLookupFitsL1(benchmark::State& state) { run_lookups(state, 48); }
BENCHMARK(BM_TlbLookupFitsL1);

// 1024 pages: 8 per STLB set of 12 ways (fits), 64 per L1 set (does not).
static void BM_TlbLookupFitsStlb(benchmark::State& state) { run_lookups(state, 1024); }
BENCHMARK(BM_TlbLookupFitsStlb);

// 64 Ki pages in random order: almost every lookup misses and fills.
static void BM_TlbLookupMisses(benchmark::State& state) { run_lookups(state, 1 << 16); }
BENCHMARK(BM_TlbLookupMisses);

// Two mms that keep their ASIDs: a CR3 write with NOFLUSH each time.
static void BM_TlbSwitchMmNoFlush(benchmark::State& state) {
    std::vector<CpuTlb> cpus = make_cpu_tlbs(1);
    TlbMmContext a, b;
    init_new_context(cpus, a);
    init_new_context(cpus, b);
    for (auto _ : state) {
        switch_mm(cpus, 0, a);
        switch_mm(cpus, 0, b);
    }
    state.SetItemsProcessed(state.iterations() * 2);
    tlb_mm_release(cpus, a);
    tlb_mm_release(cpus, b);
}
BENCHMARK(BM_TlbSwitchMmNoFlush);

// flush_tlb_page() of a loaded mm on one CPU: tlb_gen bump, INVLPG, refill.
static void BM_TlbFlushPageLocal(benchmark::State& state) {
    std::vector<CpuTlb> cpus = make_cpu_tlbs(1);
    TlbMmContext mm;
    init_new_context(cpus, mm);
    switch_mm(cpus, 0, mm);
    const VirtAddr a(0x7f0000000000ull);
    for (auto _ : state) {
        tlb_fill(cpus[0], a, Pfn(1), TLB_USER);
        flush_tlb_page(cpus, 0, mm, a);
    }
    state.SetItemsProcessed(state.iterations());
    tlb_mm_release(cpus, mm);
}
BENCHMARK(BM_TlbFlushPageLocal);

BENCHMARK_MAIN();
