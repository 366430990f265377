// Kernel stacks (kernel/fork.c with CONFIG_VMAP_STACK, src/kernel/fork.cpp):
// each task's 16 KiB stack is a vmalloc area; KernelStack counts the stacks
// of live tasks; each CPU keeps the last two stacks freed on it
// (NR_CACHED_STACKS) and the next forks there take them; a stack that
// finds both slots full is vfree()d and its range waits on the lazy list
// ("unpurged vm_area", as on the host, where most vmallocinfo lines are
// such ranges and "kernel_clone+0xb8/0x400 pages=4 vmalloc" stacks).
#include <gtest/gtest.h>

#include <string>

#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

TEST(KernelStacks, AreVmallocAreasCachedTwoPerCpu) {
    const std::string s =
        "boot ram=256M cpus=1\n"
        "let used0 = meminfo.VmallocUsed\n"
        "let areas0 = vmallocinfo.areas\n"
        "let unpurged0 = vmallocinfo.unpurged\n"
        "spawn hello as=a\n"
        "spawn hello as=b\n"
        "spawn hello as=c\n"
        // Three stacks: three areas of four pages, in KernelStack too.
        "expect meminfo.KernelStack == 48K\n"
        "expect meminfo.VmallocUsed == $used0 + 48K\n"
        "expect vmallocinfo.areas == $areas0 + 3\n"
        "grep -c 'kernel_clone+0xb8/0x400 pages=4 vmalloc N0=4' /proc/vmallocinfo\n"
        // The first two exits fill the CPU's cache; the third stack is
        // vfree()d: its pages go, its range waits on the lazy list.
        "kill -KILL $a\n"
        "kill -KILL $b\n"
        "expect meminfo.KernelStack == 16K\n"
        "expect meminfo.VmallocUsed == $used0 + 48K\n"
        "kill -KILL $c\n"
        "expect meminfo.KernelStack == 0\n"
        "expect meminfo.VmallocUsed == $used0 + 32K\n"
        "expect vmallocinfo.areas == $areas0 + 2\n"
        "expect vmallocinfo.unpurged == $unpurged0 + 1\n"
        // The next two processes take the cached stacks: no new area.
        "spawn hello as=d\n"
        "spawn hello as=e\n"
        "expect meminfo.KernelStack == 32K\n"
        "expect meminfo.VmallocUsed == $used0 + 32K\n"
        "expect vmallocinfo.areas == $areas0 + 2\n"
        // A third needs a new one.
        "spawn hello as=f\n"
        "expect vmallocinfo.areas == $areas0 + 3\n"
        // Threads have kernel stacks too.
        "thread $f as=t\n"
        "expect meminfo.KernelStack == 64K\n";
    auto r = test::run_scenario(s);
    EXPECT_EQ(r.status, 0) << r.err << "\n--- output:\n" << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
    EXPECT_NE(r.out.find("3\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mmsim::scenario
