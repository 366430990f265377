// The host's util-linux swapon and procps free read a snapshot of a
// simulated machine with swap in use: they must parse /proc/swaps and the
// Swap lines of /proc/meminfo, and print what the simulator's own swapon
// listings print. Needs root (a private mount namespace); otherwise the
// tests skip, saying why.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "machine/machine.h"
#include "mm/mm_init.h"
#include "mm/swapfile.h"
#include "proc/procfs.h"
#include "scenario/commands.h"
#include "support/shell.h"

namespace mmsim {
namespace {

class UtilLinuxSwapon : public test::SnapshotToolTest {
protected:
    UtilLinuxSwapon() : SnapshotToolTest({"unshare", "swapon", "free"}, "mmsim-swapon") {}
};

TEST_F(UtilLinuxSwapon, ShowAndSummaryEqualTheSimulatorsListings) {
    auto k = boot_kernel(
        machine_from_boot_args({{"ram", "1G", {}}, {"swap", "256M", {}}}, SourceLoc{"<test>", 1, 1}));
    ASSERT_TRUE(mkswap(*k, make_swap_area("/var/tmp/sw ap", 64 << 20, false, SwapMedium::Ssd)).ok());
    ASSERT_TRUE(sys_swapon(*k, "/var/tmp/sw ap", SWAP_FLAG_PREFER | 7).ok());
    for (int i = 0; i < 5000; i++) ASSERT_TRUE(folio_alloc_swap(*k).ok());
    std::string proc = *proc_read(*k, "/proc/swaps");
    EXPECT_EQ(tool(*k, "swapon --show"), scenario::swapon_show_text(proc, false, false, false));
    EXPECT_EQ(tool(*k, "swapon --show --bytes --raw"), scenario::swapon_show_text(proc, true, false, true));
    EXPECT_EQ(tool(*k, "swapon -s"), scenario::swapon_summary_text(proc));
    // free's Swap line: total, used, free in KiB.
    std::string free_out = tool(*k, "free -k");
    uint64_t total = 262140 + 65532, used = 5000 * 4;
    EXPECT_NE(free_out.find(fmt::format("Swap:{:>15}{:>12}{:>12}\n", total, used, total - used)),
              std::string::npos)
        << free_out;
}

}  // namespace
}  // namespace mmsim
