// The LRU lists as /proc/meminfo shows them (src/mm/swap.cpp). What each
// step must do is the kernel's rule, stated with the step:
//
//   - a page from an anonymous write fault starts on the inactive anon
//     list (folio_add_lru_vma(); anon pages stopped starting active in 5.9);
//   - a page-cache page starts on the inactive file list, a shmem page on
//     the inactive anon list (it is swap-backed);
//   - mlock moves present pages to the unevictable list (culled), munlock
//     moves them back to the inactive list (rescued); a page faulted into
//     a locked area goes to the unevictable list at once;
//   - MADV_FREE moves a private anonymous page to the inactive file list
//     (lru_lazyfree());
//   - a freed page leaves its list.
//
// The host capture tests/data/host-6.18/swap/lru_steps.out shows the same
// deltas, minus the pages still waiting in the kernel's per-CPU batches
// (up to 31 per CPU), which this model applies at once.
#include <gtest/gtest.h>

#include <string>

#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

void expect_clean(const test::ScenarioOutcome& r) {
    EXPECT_EQ(r.status, 0) << r.err << "\n--- output:\n" << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
}

const char* kBoot =
    "boot ram=256M cpus=1\n"
    "spawn hello as=p\n"
    "let ia0 = meminfo.Inactive(anon)\n"
    "let aa0 = meminfo.Active(anon)\n"
    "let if0 = meminfo.Inactive(file)\n"
    "let af0 = meminfo.Active(file)\n"
    "let un0 = meminfo.Unevictable\n";

TEST(LruLists, AnonymousWritesStartOnTheInactiveAnonList) {
    std::string s = std::string(kBoot) +
                    "mmap $p 16M as=a\n"
                    "touch $p $a 16M write\n"
                    "expect meminfo.Inactive(anon) == $ia0 + 16M\n"
                    "expect meminfo.Active(anon) == $aa0\n"
                    "expect meminfo.Inactive(file) == $if0\n"
                    // Reads of untouched memory map the zero page: no page, no list.
                    "mmap $p 4M as=z\n"
                    "touch $p $z 4M read\n"
                    "expect meminfo.Inactive(anon) == $ia0 + 16M\n"
                    // Freed pages leave the list.
                    "munmap $p $a 16M\n"
                    "expect meminfo.Inactive(anon) == $ia0\n";
    expect_clean(test::run_scenario(s));
}

TEST(LruLists, MlockCullsToUnevictableAndMunlockRescues) {
    std::string s = std::string(kBoot) +
                    "mmap $p 4M as=a\n"
                    "touch $p $a 4M write\n"
                    "let culled = vmstat.unevictable_pgs_culled\n"
                    "let rescued = vmstat.unevictable_pgs_rescued\n"
                    "mlock $p $a 4M\n"
                    "expect meminfo.Unevictable == $un0 + 4M\n"
                    "expect meminfo.Mlocked == 4M\n"
                    "expect meminfo.Inactive(anon) == $ia0\n"
                    "expect vmstat.unevictable_pgs_culled == $culled + 1024\n"
                    "munlock $p $a 4M\n"
                    "expect meminfo.Unevictable == $un0\n"
                    "expect meminfo.Inactive(anon) == $ia0 + 4M\n"
                    "expect vmstat.unevictable_pgs_rescued == $rescued + 1024\n"
                    // Faulted into a locked area: straight to the unevictable list.
                    "mmap $p 2M as=b\n"
                    "mlock $p $b 2M\n"
                    "expect meminfo.Unevictable == $un0 + 2M\n"
                    "expect meminfo.Inactive(anon) == $ia0 + 4M\n"
                    // Exit frees them; mlock is cleared with the page.
                    "kill -KILL $p\n"
                    "expect meminfo.Unevictable == $un0\n"
                    "expect meminfo.Mlocked == 0\n";
    expect_clean(test::run_scenario(s));
}

TEST(LruLists, LazyFreePagesMoveToTheInactiveFileList) {
    std::string s = std::string(kBoot) +
                    "mmap $p 1M as=a\n"
                    "touch $p $a 1M write\n"
                    "madvise $p $a 1M free\n"
                    "expect meminfo.Inactive(anon) == $ia0\n"
                    "expect meminfo.Inactive(file) == $if0 + 1M\n"
                    "expect vmstat.pglazyfree == 256\n";
    expect_clean(test::run_scenario(s));
}

TEST(LruLists, PageCacheAndShmemPagesStartInactive) {
    std::string s = std::string(kBoot) +
                    "file /data/f 1M\n"
                    "mmap $p 1M prot=r flags=private file=/data/f as=m\n"
                    "touch $p $m 1M read\n"
                    // Every page read into the cache (fault-around and
                    // read-around included) is on the inactive file list.
                    "expect meminfo.Inactive(file) == $if0 + 1M\n"
                    "expect meminfo.Active(file) == $af0\n"
                    "mmap $p 2M flags=shared,anonymous as=s\n"
                    "touch $p $s 2M write\n"
                    "expect meminfo.Shmem >= 2M\n"
                    "expect meminfo.Inactive(anon) == $ia0 + 2M\n";
    expect_clean(test::run_scenario(s));
}

}  // namespace
}  // namespace mmsim::scenario
