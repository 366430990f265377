// memleak's kernel mode on slab objects: a scenario kmallocs at named call
// sites (at=), frees some, and memleak without -p names each leaking site
// with the bytes (bytes_alloc, as the kmalloc tracepoint reports them) and
// the count still outstanding, with no page_owner=on needed; the options
// work as in user mode; bad at= input is a located error (exit status 2).
#include <gtest/gtest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text) { return test::run_scenario(text); }

using test::count_of;

// A driver's probe allocates rings (1500 bytes: kmalloc-2k), contexts
// (40 bytes: kmalloc-64) and firmware (1800 bytes: kmalloc-2k), and its
// error path frees four rings and every context. No boot object is 2 KiB
// wide, so -z 2048 -Z 2048 shows the driver's alone.
constexpr const char* kDriver =
    "boot ram=512M cpus=1\n"
    "kmalloc 1500 count=6 at=mydrv_probe,mydrv_alloc_ring as=ring\n"
    "kmalloc 40 count=4 at=mydrv_probe,mydrv_alloc_ctx as=ctx\n"
    "kmalloc 1800 count=3 at=mydrv_probe,mydrv_load_fw as=fw\n"
    "kfree ring count=4\n"
    "kfree ctx\n"
    "sleep 1s\n";

TEST(MemleakKernel, NamesTheLeakingSitesWithBytesAndCount) {
    Outcome o = run(std::string(kDriver) + "memleak -z 2048 -Z 2048\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out,
              "Attaching to kernel allocators, Ctrl+C to quit.\n"
              "[00:00:01] Top 10 stacks with outstanding allocations:\n"
              "\t4096 bytes in 2 allocations from stack\n"
              "\t\t__kmalloc_noprof [kernel]\n"
              "\t\tmydrv_alloc_ring [kernel]\n"
              "\t\tmydrv_probe [kernel]\n"
              "\t\tkmalloc [scenario]\n"
              "\t6144 bytes in 3 allocations from stack\n"
              "\t\t__kmalloc_noprof [kernel]\n"
              "\t\tmydrv_load_fw [kernel]\n"
              "\t\tmydrv_probe [kernel]\n"
              "\t\tkmalloc [scenario]\n");
    // The contexts were all freed: no stack of theirs anywhere.
    Outcome all = run(std::string(kDriver) + "memleak -T 0\n");
    EXPECT_EQ(all.status, 0) << all.err;
    EXPECT_EQ(all.out.find("mydrv_alloc_ctx"), std::string::npos) << all.out;
    EXPECT_NE(all.out.find("\t4096 bytes in 2 allocations from stack\n\t\t__kmalloc_noprof [kernel]\n"
                           "\t\tmydrv_alloc_ring [kernel]\n"),
              std::string::npos)
        << all.out;
}

TEST(MemleakKernel, ShowAllocsPrintsKernelAddresses) {
    // -a: one line per object, direct-map addresses, bytes_alloc sizes.
    Outcome o = run(std::string(kDriver) + "memleak -a -z 2048 -Z 2048 --top 1\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(count_of(o.out, "\taddr = ffff888"), 5u) << o.out;
    EXPECT_EQ(count_of(o.out, " size = 2048\n"), 5u) << o.out;
    EXPECT_NE(o.out.find("Top 1 stacks"), std::string::npos) << o.out;
    EXPECT_EQ(o.out.find("mydrv_alloc_ring"), std::string::npos) << o.out;  // the smaller stack
    EXPECT_NE(o.out.find("mydrv_load_fw"), std::string::npos) << o.out;
}

TEST(MemleakKernel, SortByCountAndMinAge) {
    // Two rings against three firmware blocks: --sort count keeps the
    // same order here; a fresh allocation waits for -o.
    Outcome o = run(std::string(kDriver) +
                    "kmalloc 2000 at=mydrv_resume as=late\n"
                    "memleak -z 2048 -Z 2048 --sort count\n"
                    "memleak -z 2048 -Z 2048 -o 0\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(count_of(o.out, "mydrv_resume"), 1u) << o.out;  // only with -o 0
    EXPECT_LT(o.out.find("in 2 allocations"), o.out.find("in 3 allocations")) << o.out;
}

TEST(MemleakKernel, KmemCacheAllocSitesAndTheirStride) {
    // A cache of 200-byte objects has a 200-byte stride (8-aligned);
    // kmem_cache_alloc reports bytes_alloc = s->size.
    Outcome o =
        run("boot ram=512M cpus=1\n"
            "kmem_cache_create mydrv_req size=200 flags=SLAB_NO_MERGE\n"
            "kmem_cache_alloc mydrv_req count=5 at=mydrv_submit as=r\n"
            "kmem_cache_free r count=2\n"
            "sleep 1s\n"
            "memleak -z 200 -Z 200\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("\t600 bytes in 3 allocations from stack\n"
                         "\t\tkmem_cache_alloc_noprof [kernel]\n"
                         "\t\tmydrv_submit [kernel]\n"
                         "\t\tkmem_cache_alloc [scenario]\n"),
              std::string::npos)
        << o.out;
}

TEST(MemleakKernel, IntervalReportsSeeTheLeakGrow) {
    Outcome o =
        run("boot ram=512M cpus=1\n"
            "every 1s kmalloc 1500 at=mydrv_irq\n"
            "memleak -z 2048 -Z 2048 2s 2\n"
            "sleep 5s\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(count_of(o.out, "Top 10 stacks"), 2u) << o.out;
    EXPECT_NE(o.out.find("[00:00:02] Top 10 stacks with outstanding allocations:\n"
                         "\t2048 bytes in 1 allocations from stack\n"),
              std::string::npos)
        << o.out;
    EXPECT_NE(o.out.find("[00:00:04] Top 10 stacks with outstanding allocations:\n"
                         "\t6144 bytes in 3 allocations from stack\n"),
              std::string::npos)
        << o.out;
}

TEST(MemleakKernel, LargeKmallocWithAndWithoutPageOwner) {
    // A 20 KiB kmalloc is an order-3 block: memleak sees its kmalloc event
    // (bytes_alloc 32768) always, and with page_owner=on its mm_page_alloc
    // too, as bcc does.
    const char* body =
        "kmalloc 20K count=2 at=mydrv_fw as=fw\n"
        "sleep 1s\n"
        "memleak -z 32768 -Z 32768\n";
    Outcome plain = run(std::string("boot ram=512M cpus=1\n") + body);
    EXPECT_EQ(plain.status, 0) << plain.err;
    EXPECT_NE(plain.out.find("\t65536 bytes in 2 allocations from stack\n"
                             "\t\t__kmalloc_large_node_noprof [kernel]\n"
                             "\t\t__kmalloc_noprof [kernel]\n"
                             "\t\tmydrv_fw [kernel]\n"
                             "\t\tkmalloc [scenario]\n"),
              std::string::npos)
        << plain.out;
    EXPECT_EQ(plain.out.find("post_alloc_hook"), std::string::npos) << plain.out;
    Outcome owner = run(std::string("boot ram=512M cpus=1 page_owner=on\n") + body);
    EXPECT_EQ(owner.status, 0) << owner.err;
    EXPECT_EQ(count_of(owner.out, "65536 bytes in 2 allocations from stack"), 2u) << owner.out;
    EXPECT_NE(owner.out.find("\t\tpost_alloc_hook [kernel]\n"
                             "\t\tget_page_from_freelist [kernel]\n"
                             "\t\t__alloc_frozen_pages_noprof [kernel]\n"
                             "\t\tmydrv_fw [kernel]\n"
                             "\t\tkmalloc [scenario]\n"),
              std::string::npos)
        << owner.out;
}

TEST(MemleakKernel, ProcessStructuresShowTheirKernelFunctions) {
    // A process's task_struct, mm_struct and VMAs are slab objects
    // allocated in dup_task_struct, mm_alloc, vm_area_alloc.
    Outcome o =
        run("boot ram=512M cpus=1\n"
            "spawn hello\n"
            "sleep 1s\n"
            "memleak -T 0\n");
    EXPECT_EQ(o.status, 0) << o.err;
    for (const char* fn : {"dup_task_struct [kernel]", "mm_alloc [kernel]", "vm_area_alloc [kernel]"})
        EXPECT_NE(o.out.find(std::string("\t\tkmem_cache_alloc_noprof [kernel]\n\t\t") + fn + "\n"),
                  std::string::npos)
            << fn << "\n"
            << o.out;
}

TEST(MemleakKernel, BadAtNamesItsPlace) {
    struct Case {
        const char* line;
        const char* want;
    } cases[] = {
        {"kmalloc 64 at=", "s.mms:2:12: error: option 'at=' needs a value"},
        {"kmalloc 64 at=a,,b", "s.mms:2:15: error: at= has an empty frame in 'a,,b'"},
        {"kmalloc 64 at=a,b,", "s.mms:2:15: error: at= has an empty frame in 'a,b,'"},
        {"kmalloc 64 at=a+b", "s.mms:2:15: error: at= expects frames separated by commas"},
        {"kmem_cache_alloc dentry at=x/y", "s.mms:2:28: error: at= expects frames separated by commas"},
        {"memleak -T x", "s.mms:2:12: error: the value of -T must be a whole number, not 'x'"},
    };
    for (const Case& c : cases) {
        Outcome o = run(std::string("boot ram=512M cpus=1\n") + c.line + "\nmemleak\n");
        EXPECT_EQ(o.status, 2) << c.line << "\n" << o.err;
        EXPECT_NE(o.err.find(c.want), std::string::npos) << c.line << "\n" << o.err;
        // Checked before anything runs: memleak never attaches.
        EXPECT_EQ(o.out.find("Attaching"), std::string::npos) << c.line;
    }
}

}  // namespace
}  // namespace mmsim::scenario
