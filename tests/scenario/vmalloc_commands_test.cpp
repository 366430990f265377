// The vmalloc commands and the address sources in scenarios: what they do
// to meminfo and /proc/vmallocinfo, cat of the files, the page_owner boot
// option, and the located errors of bad input (exit status 2).
#include <gtest/gtest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text) { return test::run_scenario(text); }

TEST(VmallocCommands, AreasShowInMeminfoVmallocinfoAndTheSources) {
    Outcome o = run(R"(boot ram=1G cpus=2
let used0 = meminfo.VmallocUsed
vmalloc 64K as=a
vzalloc 10000 as=b
vmalloc 8K as=many
vmalloc 8K as=many
expect meminfo.VmallocUsed == $used0 + 64K + 12K + 16K
expect vmallocinfo.areas == 4
expect vmallocinfo.pages == 16 + 3 + 2 + 2
expect vmalloc.a.size == 68K
expect vmalloc.b.pages == 3
expect vmalloc.many[1].size == 12K
expect kaddr.a == "0xffffc90000000000"
expect kaddr.many[1].offset == 68K + 16K + 12K
expect phys.a == pfn.a * 4096
expect vmalloc.a.pfn[0] == pfn.a
vfree many count=1
expect vmallocinfo.unpurged == 1
expect vmallocinfo.areas == 3
cat /proc/vmallocinfo
vfree a
vfree b
vfree many
expect meminfo.VmallocUsed == $used0
)");
    EXPECT_EQ(o.status, 0) << o.out << o.err;
    EXPECT_EQ(o.failures, 0) << o.out << o.err;
    EXPECT_NE(
        o.out.find("0xffffc90000000000-0xffffc90000011000   69632 scenario_vmalloc pages=16 vmalloc N0=16\n"),
        std::string::npos)
        << o.out;
    EXPECT_NE(o.out.find("   12288 unpurged vm_area\n"), std::string::npos) << o.out;
}

TEST(VmallocCommands, KmallocObjectsLiveInTheDirectMap) {
    Outcome o = run(R"(boot ram=1G cpus=2
kmalloc 64 count=3 as=small
kmalloc 32K as=big
expect kaddr.small.region == "direct map"
expect kaddr.small[2].offset == phys.small[2]
expect kaddr.small[1].offset - kaddr.small[0].offset == 64
expect kaddr.big.offset == pfn.big * 4096
vmalloc_to_pfn small
)");
    EXPECT_EQ(o.status, 2) << o.out << o.err;
    EXPECT_NE(o.err.find("s.mms:8:16: error: vmalloc_to_pfn: 'small' holds kmalloc memory"),
              std::string::npos)
        << o.err;
}

TEST(VmallocCommands, VmallocToPfnListsThePagesAndTheGuard) {
    Outcome o = run(R"(boot ram=1G cpus=2
vmalloc 8K as=v caller=my_probe
vmalloc_to_pfn v
)");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("0xffffc90000000000-0xffffc90000003000 my_probe pages=2\n"), std::string::npos)
        << o.out;
    EXPECT_NE(o.out.find("  0xffffc90000002000  not mapped (guard)\n"), std::string::npos) << o.out;
}

TEST(VmallocCommands, PageOwnerBootOptionAndMachineKey) {
    Outcome o = run(R"(boot ram=512M cpus=1 page_owner=on
vmalloc 4K
grep -c -F " vmalloc [scenario]" /sys/kernel/debug/page_owner
)");
    EXPECT_EQ(o.status, 0) << o.err;
    // Six pages under the command: the area's page, the kernel PMD and PTE
    // tables it needed, and new slabs of kmalloc-96 (the vm_struct),
    // kmalloc-8 (its one-entry page array) and vmap_area.
    EXPECT_EQ(o.out, "6\n") << o.err;
    Outcome off = run("boot ram=512M cpus=1\ncat /sys/kernel/debug/page_owner\n");
    EXPECT_NE(off.err.find("No such file or directory"), std::string::npos) << off.out << off.err;
}

TEST(VmallocCommands, BadInputNamesItsPlace) {
    struct Case {
        const char* line;
        const char* want;
    } cases[] = {
        {"vmalloc 0", "s.mms:2:9: error: the size must be at least 1 byte"},
        {"vmalloc lots", "s.mms:2:9: error:"},
        {"vmalloc 4K node=3", "s.mms:2:17: error: node=3 does not exist"},
        {"vmalloc 4K gfp=GFP_NOPE", "s.mms:2:16: error: unknown GFP flags 'GFP_NOPE'"},
        {"vfree nothing", "s.mms:2:7: error: vfree: nothing was allocated as 'nothing'"},
        {"kmalloc 64 as=k\nvfree k", "s.mms:3:7: error: vfree: 'k' holds kmalloc memory; free it with kfree"},
        {"vmalloc 4K as=v\nkfree v", "s.mms:3:7: error: kfree: 'v' holds vmalloc memory; free it with vfree"},
        {"vmalloc 4K as=v\nprint vmalloc.v.bogus", "s.mms:3:17: error: vmalloc.H has size, pages, guard"},
        {"vmalloc 4K as=v\nprint vmalloc.v.pfn[5]", "pfn[5] is past the end"},
        {"vmalloc 4K as=v\nprint vmalloc.w.size", "s.mms:3:15: error: vmalloc: nothing was allocated as 'w'"},
        {"print vmallocinfo.bogus", "vmallocinfo has lines, areas, unpurged and pages, not 'bogus'"},
        {"kmalloc 64 as=k\nprint kaddr.k[4]", "'k' holds 1 item; [4] is past the end"},
    };
    for (const Case& c : cases) {
        Outcome o = run(std::string("boot ram=1G cpus=2\n") + c.line + "\n");
        EXPECT_EQ(o.status, 2) << c.line << "\n" << o.err;
        EXPECT_NE(o.err.find(c.want), std::string::npos) << c.line << "\n" << o.err;
    }
    Outcome bad = run("boot ram=1G page_owner=maybe\n");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("page_owner: expected on or off, got 'maybe'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace mmsim::scenario
