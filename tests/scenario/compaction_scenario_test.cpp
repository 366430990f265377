// Compaction seen from a scenario: two processes take memory in turns, one
// exits, the remaining free pageblocks are taken, so every 2 MiB block is
// part used. An order-9 request that may not compact (GFP_NOIO: the
// kernel's gfp_compaction_allowed() needs __GFP_IO) fails; a GFP_KERNEL one
// compacts and succeeds: its async attempt only scans unmovable pageblocks
// and fails, the sync-light one moves the survivor's pages. The process
// keeps its memory, and vm.compact_memory then builds whole free blocks.
#include <gtest/gtest.h>

#include <string>

#include "scenario/scenario.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

constexpr const char* kFragment = R"(boot ram=256M cpus=2
spawn hello as=a
spawn hello as=b
let chunk = floor(meminfo.MemFree / 2 / 1M) - 12
mmap $a ${chunk}M as=abuf
mmap $b ${chunk}M as=bbuf
let i = 0
every 1ms for ${chunk}ms {
    touch $a $(($abuf + $i * 1M)) 1M write
    touch $b $(($bbuf + $i * 1M)) 1M write
    let i = $i + 1
}
sleep $(($chunk + 1))ms
exit_process $b
alloc_pages order=9 gfp=GFP_NOWAIT|__GFP_NOWARN count=100 as=fill
expect buddyinfo.DMA32[9] == 0 && buddyinfo.DMA32[10] == 0
expect meminfo.MemFree > 80M
let rss = proc[$a].status.VmRSS
)";

TEST(CompactionScenario, Order9SucceedsOnlyWhenItMayCompact) {
    std::string text = std::string(kFragment) + R"(
alloc_pages order=9 gfp=GFP_NOIO|__GFP_NOWARN as=t1
expect alloc.t1 == 0
expect vmstat.compact_stall == 0
alloc_pages order=9 gfp=GFP_KERNEL as=t2
expect alloc.t2 == 1
expect vmstat.compact_stall == 2
expect vmstat.compact_fail == 1
expect vmstat.compact_success == 1
expect vmstat.pgmigrate_success > 0
expect vmstat.compact_isolated >= 2 * vmstat.pgmigrate_success
expect proc[$a].status.VmRSS == $rss
touch $a $abuf ${chunk}M read
expect proc[$a].status.VmRSS == $rss
)";
    test::ScenarioOutcome o = test::run_scenario(text);
    EXPECT_EQ(o.status, 0) << o.out << o.err;
    EXPECT_EQ(o.failures, 0) << o.out << o.err;
}

TEST(CompactionScenario, CompactMemoryBuildsWholeBlocks) {
    std::string text = std::string(kFragment) + R"(
echo 1 > /proc/sys/vm/compact_memory
expect buddyinfo.DMA32[9] + 2 * buddyinfo.DMA32[10] >= 20
expect vmstat.compact_stall == 0
expect vmstat.pgmigrate_success > 5000
expect proc[$a].status.VmRSS == $rss
sysctl vm.compact_memory=2
)";
    test::ScenarioOutcome o = test::run_scenario(text);
    // The last line is refused (only 1 is accepted): a located error.
    EXPECT_EQ(o.failures, 0) << o.out << o.err;
    EXPECT_NE(o.err.find("s.mms:"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace mmsim::scenario
