// The slab commands in scenarios: what they do to /proc/slabinfo and
// meminfo, and the located errors of bad input (exit status 2, nothing run).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text, RunOptions opts = {}) { return test::run_scenario(text, opts); }

TEST(SlabCommands, ObjectsFillSlabsOfTheCachesGeometry) {
    Outcome o =
        run("boot ram=1G cpus=2\n"
            "kmem_cache_create my_obj size=200\n"
            "expect slabinfo.my_obj.objperslab == 20\n"
            "expect slabinfo.my_obj.pagesperslab == 1\n"
            "kmem_cache_alloc my_obj count=41 as=o\n"
            "expect slabinfo.my_obj.num_slabs == 3\n"
            "expect slabinfo.my_obj.num_objs == 60\n"
            "expect slabinfo.my_obj.active_objs == 60\n"  // the CPU's slab counts whole
            "let before = meminfo.SUnreclaim\n"
            "kmalloc 20K as=big\n"  // order 3: 32 KiB
            "expect meminfo.SUnreclaim == $before + 32K\n"
            "kfree big\n"
            "kmem_cache_free o\n"
            "kmem_cache_shrink my_obj\n"
            "expect slabinfo.my_obj.num_slabs == 0\n"
            "kmem_cache_destroy my_obj\n");
    EXPECT_EQ(o.status, 0) << o.out << o.err;
    EXPECT_EQ(o.failures, 0) << o.out << o.err;
}

TEST(SlabCommands, DestroyWithLiveObjectsIsRefusedAndLogged) {
    Outcome o =
        run("boot ram=1G cpus=2\n"
            "kmem_cache_create my_obj size=64 flags=SLAB_NO_MERGE\n"
            "kmem_cache_alloc my_obj as=o\n"
            "kmem_cache_destroy my_obj\n"
            "dmesg | grep 'still has objects'\n");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("kmem_cache_destroy my_obj: objects are still allocated (EBUSY"), std::string::npos)
        << o.out;
    EXPECT_NE(o.out.find("Slab cache still has objects"), std::string::npos) << o.out;
}

TEST(SlabCommands, BadInputNamesItsPlace) {
    struct Case {
        const char* line;
        const char* want;
    } cases[] = {
        {"kmem_cache_create c size=100 flags=SLAB_FAST", "s.mms:2:36: error: unknown slab flag 'SLAB_FAST'"},
        {"kmem_cache_create c size=0", "s.mms:2:26: error: size= must be between 1 byte and 4M"},
        {"kmem_cache_create c size=100 align=3", "s.mms:2:36: error: align=3 is not a power of two"},
        {"kmem_cache_create c", "size="},
        {"kmem_cache_alloc no_such_cache", "s.mms:2:18: error: no slab cache named 'no_such_cache'"},
        {"kfree nothing", "s.mms:2:7: error: kfree: nothing was allocated as 'nothing'"},
        {"kmem_cache_destroy kmalloc-64", "s.mms:2:20: error: 'kmalloc-64' is a kmalloc cache"},
        {"print slabinfo.no_cache.num_objs", "no cache 'no_cache'"},
        {"print slabinfo.dentry.objects", "not 'objects'"},
    };
    for (const Case& c : cases) {
        Outcome o = run(std::string("boot ram=1G cpus=2\n") + c.line + "\n");
        EXPECT_EQ(o.status, 2) << c.line << "\n" << o.err;
        EXPECT_NE(o.err.find(c.want), std::string::npos) << c.line << "\n" << o.err;
    }
}

}  // namespace
}  // namespace mmsim::scenario
