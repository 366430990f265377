// A thread's end, against the real glibc: tests/data/host-6.18/malloc/
// texit.c starts a thread that writes 256 KiB of its stack and mallocs and
// frees twenty 100-byte blocks, joins it, and does it again, printing
// VmSize, VmData, RssAnon, the number of areas and mallinfo2's arena and
// uordblks at each step (texit.out). The simulated process (the
// malloc_steps image: another binary, so the absolute sizes differ) does
// the same through the C++ API; every change from step to step must equal
// the host's, and mallinfo2's numbers must equal them outright.
//
// What the capture shows: the stack stays mapped after the join (glibc's
// stack cache), all of it but the descriptor and 16 KiB below it given
// back (advise_stack_range); the thread's tcache goes back into its arena
// (uordblks drops by the 7 cached chunks and the tcache struct); the
// second thread takes the same stack and the same arena: nothing grows.
#include "libc/nptl_stack.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "mm/mm.h"
#include "mm/mm_struct.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

constexpr uint64_t MiB = 1024 * 1024;

using Step = std::map<std::string, int64_t>;

std::vector<std::pair<std::string, Step>> parse(const std::string& text) {
    std::vector<std::pair<std::string, Step>> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        std::istringstream w(l);
        std::string label, kv;
        w >> label;
        Step s;
        while (w >> kv) s[kv.substr(0, kv.find('='))] = std::stoll(kv.substr(kv.find('=') + 1));
        out.emplace_back(label, s);
    }
    return out;
}

int64_t field_kb(const std::string& text, const std::string& name) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (l.rfind(name + ":", 0) == 0) return std::stoll(l.substr(name.size() + 1));
    return -1;
}

Step report(Kernel& k, Task& p) {
    std::string st = *proc_read(k, fmt::format("/proc/{}/status", p.pid));
    std::string maps = *proc_read(k, fmt::format("/proc/{}/maps", p.pid));
    auto mi = libc::process_malloc(p).mallinfo2();
    return {{"VmSize", field_kb(st, "VmSize")},
            {"VmData", field_kb(st, "VmData")},
            {"RssAnon", field_kb(st, "RssAnon")},
            {"maps", static_cast<int64_t>(std::count(maps.begin(), maps.end(), '\n'))},
            {"arena", static_cast<int64_t>(mi.arena)},
            {"uord", static_cast<int64_t>(mi.uordblks)}};
}

TEST(NptlStack, AThreadsEndMatchesGlibc) {
    auto host = parse(test::read_data("host-6.18/malloc/texit.out"));
    ASSERT_EQ(host.size(), 5u);

    auto kp = test::boot_ram(256 * MiB, 2);
    Kernel& k = *kp;
    Task& p = **spawn_process(k, "malloc_steps", {"./malloc_steps"}, 0);
    libc::ProcessMalloc& pm = libc::process_malloc(p);
    pm.free(k, p, *pm.malloc(k, p, 16));
    std::vector<Step> sim{report(k, p)};
    uint64_t first_stack = 0;
    for (int round = 0; round < 2; round++) {
        auto t = create_thread(k, p, 8 * MiB);
        ASSERT_TRUE(t);
        Task& th = **t;
        if (round == 0) first_stack = th.thread_stack;
        EXPECT_EQ(th.thread_stack, first_stack) << "the second thread reuses the cached stack";
        // work(): 256 KiB of locals just below start_thread's frame and the
        // descriptor (the top two pages), written whole.
        uint64_t below = th.thread_stack + th.thread_stack_size - 2 * PAGE_SIZE;
        for (uint64_t a = below - (256 << 10); a < below; a += PAGE_SIZE)
            ASSERT_EQ(access_memory(k, th, a, Access::Write), VmFault::Minor);
        std::vector<uint64_t> v;
        for (int i = 0; i < 20; i++) {
            v.push_back(*pm.malloc(k, th, 100));
            ASSERT_EQ(access_memory(k, th, v.back(), Access::Write), VmFault::Minor);
        }
        for (uint64_t m : v) pm.free(k, th, m);
        sim.push_back(report(k, p));
        k.validate();
        libc::thread_end(k, th);
        do_exit_thread(k, th);
        sim.push_back(report(k, p));
        k.validate();
    }
    ASSERT_EQ(sim.size(), host.size());
    for (std::size_t i = 0; i < host.size(); i++) {
        SCOPED_TRACE(host[i].first);
        for (const char* f : {"arena", "uord"}) EXPECT_EQ(sim[i].at(f), host[i].second.at(f)) << f;
        if (i == 0) continue;
        for (const char* f : {"VmSize", "VmData", "RssAnon", "maps"})
            EXPECT_EQ(sim[i].at(f) - sim[i - 1].at(f), host[i].second.at(f) - host[i - 1].second.at(f)) << f;
    }
    EXPECT_EQ(pm.arenas().size(), 2u);
}

// free_stacks(): past 40 MiB of cached stacks the oldest are unmapped.
TEST(NptlStack, TheCacheKeepsFortyMebibytes) {
    auto kp = test::boot_ram(256 * MiB, 2);
    Kernel& k = *kp;
    Task& p = **spawn_process(k, "malloc_steps", {"./malloc_steps"}, 0);
    std::vector<Task*> ts;
    for (int i = 0; i < 6; i++) ts.push_back(*create_thread(k, p, 8 * MiB));
    uint64_t vsz = p.mm->total_vm;
    for (Task* t : ts) {
        libc::thread_end(k, *t);
        do_exit_thread(k, *t);
    }
    // Six blocks of 8 MiB + 4 KiB: four fit in 40 MiB (32 MiB + 16 KiB);
    // the fifth would make 40 MiB + 20 KiB, so the oldest two go.
    ASSERT_TRUE(p.mm->stacks);
    EXPECT_EQ(p.mm->stacks->cached.size(), 4u);
    EXPECT_EQ(p.mm->total_vm, vsz - 2 * ((8 * MiB + PAGE_SIZE) / PAGE_SIZE));
    // A smaller request takes a cached block unless it is over four times
    // too big: 1 MiB does not reuse an 8 MiB stack, 4 MiB does.
    auto small = create_thread(k, p, 1 * MiB);
    ASSERT_TRUE(small);
    EXPECT_EQ(p.mm->stacks->cached.size(), 4u);
    auto mid = create_thread(k, p, 4 * MiB);
    ASSERT_TRUE(mid);
    EXPECT_EQ(p.mm->stacks->cached.size(), 3u);
    EXPECT_EQ((*mid)->thread_stack_size, 8 * MiB);
    k.validate();
}

}  // namespace
}  // namespace mmsim
