// The scenario commands for mremap, madvise, the mlock family and mincore,
// run as scenarios: each asserts, through /proc as a script on a real
// machine would read it, what Linux 6.18 does for the call. Errnos come
// from the real kernel's capture tests/data/host-6.18/vm/errno.out (read
// here and written into the scenarios), set up as errno.c sets them up. A
// refused call sets $errno and the scenario goes on; a bad argument stops
// the run before anything happens, with status 2 and file:line:col.
//
// Layout helper used throughout, errno.c's fresh(n): n read-write pages
// with a page that is certainly unmapped right after them:
//
//   mmap (n+1) pages PROT_NONE   [ ---p ................ ]
//   munmap the last page         [ ---p ........ ] hole
//   mprotect the n pages rw      [ rw-p ........ ] hole
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "scenario/scenario.h"
#include "support/fixtures.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

using Outcome = test::ScenarioOutcome;
Outcome run(std::string_view text, RunOptions opts = {}) { return test::run_scenario(text, opts); }

// A scenario that must run clean: status 0, every expectation held.
void expect_clean(const Outcome& r) {
    EXPECT_EQ(r.status, 0) << r.err << "\n--- output:\n" << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
}

// What errno.out says Linux 6.18 returned for a case: "EINVAL", or "" when
// the call succeeded (the value $errno has after a successful call).
std::string kernel_errno(const std::string& id) {
    static const std::map<std::string, std::string> answers = [] {
        std::map<std::string, std::string> out;
        std::istringstream in(test::read_data("host-6.18/vm/errno.out"));
        std::string line;
        auto trim = [](std::string s) {
            s.erase(0, s.find_first_not_of(' '));
            s.erase(s.find_last_not_of(' ') + 1);
            return s;
        };
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::string key = trim(line.substr(0, line.find('|')));
            auto e = line.find("errno=");
            if (e == std::string::npos) continue;
            std::string err = trim(line.substr(e + 6));
            err = err.substr(0, err.find(' '));
            out[key] = err == "0" ? "" : err;
        }
        return out;
    }();
    auto it = answers.find(id);
    EXPECT_NE(it, answers.end()) << "no case " << id << " in errno.out";
    return it == answers.end() ? "?" : it->second;
}

// `expect $errno == "..."` with the kernel's answer for an errno.out case.
std::string expect_errno(const std::string& id) {
    return fmt::format("expect $errno == \"{}\"   # errno.out {}\n", kernel_errno(id), id);
}

const char* kBoot =
    "boot ram=256M cpus=1\n"
    "spawn hello as=p\n";

// errno.c's fresh(n) as scenario lines: $VAR holds n rw pages, the page
// after them is unmapped.
std::string fresh(const std::string& var, int pages) {
    return fmt::format(
        "mmap $p {0}K prot=none as={1}\n"
        "munmap $p $(( ${1} + {2}K )) 4K\n"
        "mprotect $p ${1} {2}K rw\n",
        (pages + 1) * 4, var, pages * 4);
}

TEST(MremapCommand, GrowsInPlaceWhenThePagesAboveAreFreeElseMoves) {
    std::string s = std::string(kBoot) + fresh("a", 4) +
                    "touch $p $a 16K write\n"
                    "let vsz0 = proc[$p].status.VmSize\n"
                    "let rss0 = proc[$p].status.VmRSS\n"
                    "let flt0 = proc[$p].stat.minflt\n"
                    // Page 1 is mapped: page 0 cannot grow in place and may not move.
                    "mremap $p $a 4K 8K\n" +
                    expect_errno("mremap_grow_blocked") +
                    "expect proc[$p].status.VmSize == $vsz0\n"
                    // The last page has a free page above it: it grows where it is.
                    "mremap $p $(( $a + 12K )) 4K 8K as=b\n" +
                    expect_errno("mremap_grow_inplace") +
                    "expect $b == $a + 12K && $addr == $b\n"
                    "expect proc[$p].status.VmSize == $vsz0 + 4K\n"
                    // With MAYMOVE page 0 goes elsewhere: 4K unmapped here, 8K mapped there.
                    "mremap $p $a 4K 8K flags=maymove as=c\n"
                    "expect $errno == \"\"\n"
                    "expect $c != $a\n"
                    "expect proc[$p].status.VmSize == $vsz0 + 8K\n"
                    // The frame moved with its entry: no copy, no new page, no fault.
                    "expect proc[$p].status.VmRSS == $rss0\n"
                    "touch $p $c 4K write\n"
                    "expect proc[$p].stat.minflt == $flt0\n"
                    // The old place is a hole now; the grown half faults a fresh page.
                    "mincore $p $a 4K\n"
                    "expect $errno == \"ENOMEM\"\n"
                    "touch $p $(( $c + 4K )) 4K write\n"
                    "expect proc[$p].stat.minflt == $flt0 + 1\n"
                    "expect proc[$p].status.VmRSS == $rss0 + 4K\n";
    Outcome r = run(s);
    expect_clean(r);
    // The refusal is reported the way the shell reports a failed call.
    EXPECT_NE(r.out.find("mremap: Cannot allocate memory (ENOMEM)\n"), std::string::npos) << r.out;
}

TEST(MremapCommand, ShrinkUnmapsTheTailAndFreesItsPages) {
    std::string s = std::string(kBoot) +
                    "mmap $p 64K as=a\n"
                    "touch $p $a 64K write\n"
                    "let vsz0 = proc[$p].status.VmSize\n"
                    "let rss0 = proc[$p].status.VmRSS\n"
                    "mremap $p $a 64K 16K as=b\n"
                    "expect $errno == \"\" && $b == $a\n"
                    "expect proc[$p].status.VmSize == $vsz0 - 48K\n"
                    "expect proc[$p].status.VmRSS == $rss0 - 48K\n"
                    "mincore $p $a 16K as=n\n"
                    "expect $n == 4\n"
                    "mincore $p $(( $a + 16K )) 4K\n"
                    "expect $errno == \"ENOMEM\"\n";
    expect_clean(run(s));
}

TEST(MremapCommand, RefusesAsLinuxDoes) {
    std::string s = std::string(kBoot) + fresh("a", 4) +
                    // An unmapped page (the hole after fresh()'s pages).
                    "mremap $p $(( $a + 16K )) 4K 8K flags=maymove\n" + expect_errno("mremap_unmapped") +
                    "mremap $p $(( $a + 1 )) 4K 8K flags=maymove\n" + expect_errno("mremap_unaligned") +
                    "mremap $p $a 4K 0 flags=maymove\n" + expect_errno("mremap_new0") +
                    "mremap $p $a 4K 4K flags=fixed new_addr=$(( $a + 64M ))\n" +
                    expect_errno("mremap_fixed_no_maymove") + "mremap $p $a 4K 8K flags=maymove,dontunmap\n" +
                    expect_errno("mremap_dontunmap_resize") + "mremap $p $a 4K 4K flags=dontunmap\n" +
                    expect_errno("mremap_dontunmap_no_maymove") +
                    "mremap $p $a 8K 8K flags=maymove,fixed new_addr=$(( $a + 4K ))\n" +
                    expect_errno("mremap_fixed_overlap") + "mremap $p $a 0 4K flags=maymove\n" +
                    expect_errno("mremap_old0_private") +
                    // [R page][RW page]: growing across the two areas.
                    "mprotect $p $a 4K r\n"
                    "mremap $p $a 8K 16K flags=maymove\n" +
                    expect_errno("mremap_grow_two_vmas") + "mremap $p $a 8K 4K\n" +
                    expect_errno("mremap_shrink_two_vmas") +
                    // A refusal does not stop the scenario.
                    "echo still running\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_NE(r.out.find("mremap: Bad address (EFAULT)\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("still running\n"), std::string::npos);
}

TEST(MadviseCommand, DontneedDropsPagesAndTheNextTouchStartsFromZero) {
    std::string s = std::string(kBoot) +
                    "mmap $p 1M as=a\n"
                    "let rss0 = proc[$p].status.VmRSS\n"
                    "touch $p $a 1M write\n"
                    "expect proc[$p].status.VmRSS == $rss0 + 1M\n"
                    "madvise $p $a 1M dontneed\n"
                    "expect $errno == \"\"\n"
                    "expect proc[$p].status.VmRSS == $rss0\n"
                    "mincore $p $a 1M\n"
                    "expect $resident == 0\n"
                    // A read maps the shared zero page: 256 faults, no memory.
                    "let flt0 = proc[$p].stat.minflt\n"
                    "touch $p $a 1M read\n"
                    "expect proc[$p].stat.minflt == $flt0 + 256\n"
                    "expect proc[$p].status.VmRSS == $rss0\n"
                    "mincore $p $a 1M\n"
                    "expect $resident == 256\n"
                    // A write replaces each zero-page entry with a fresh zeroed page.
                    "touch $p $a 1M write\n"
                    "expect proc[$p].stat.minflt == $flt0 + 512\n"
                    "expect proc[$p].status.VmRSS == $rss0 + 1M\n";
    expect_clean(run(s));
}

TEST(MadviseCommand, FreeMarksPagesLazilyFreeWithoutUnmappingThem) {
    std::string s = std::string(kBoot) +
                    "mmap $p 1M as=a\n"
                    "touch $p $a 1M write\n"
                    "let rss = proc[$p].status.VmRSS\n"
                    "let lazy0 = vmstat.pglazyfree\n"
                    "madvise $p $a 1M free\n"
                    "expect $errno == \"\"\n"
                    // Still mapped and resident until reclaim wants them.
                    "expect proc[$p].status.VmRSS == $rss\n"
                    "expect vmstat.pglazyfree == $lazy0 + 256\n"
                    "mincore $p $a 1M\n"
                    "expect $resident == 256\n"
                    // Writing again faults nothing: the pages are still there.
                    "let flt0 = proc[$p].stat.minflt\n"
                    "touch $p $a 1M write\n"
                    "expect proc[$p].stat.minflt == $flt0\n";
    expect_clean(run(s));
}

// smaps counts an anonymous page as LazyFree while it is not swap-backed
// and neither its entry nor the page is dirty (fs/proc/task_mmu.c
// smaps_account()); a write dirties the entry and takes it out again.
// Disabled until src/proc/task_mmu.cpp account_vma() counts m.lazyfree
// (it prints LazyFree but never adds to it).
TEST(MadviseCommand, FreedPagesShowAsLazyFreeUntilWrittenAgain) {
    std::string s = std::string(kBoot) +
                    "mmap $p 1M as=a\n"
                    "touch $p $a 1M write\n"
                    "expect proc[$p].smaps_rollup.LazyFree == 0\n"
                    "madvise $p $a 1M free\n"
                    "expect proc[$p].smaps_rollup.LazyFree == 1M\n"
                    "touch $p $a 256K write\n"
                    "expect proc[$p].smaps_rollup.LazyFree == 768K\n";
    expect_clean(run(s));
}

TEST(MadviseCommand, FlagAdviceShowsInSmapsVmFlags) {
    std::string s = std::string(kBoot) +
                    "mmap $p 4M as=a\n"
                    "madvise $p $a 4M nohugepage\n"
                    "expect $errno == \"\"\n"
                    "grep -cw nh /proc/$p/smaps\n"
                    "madvise $p $a 4M MADV_HUGEPAGE\n"
                    "expect $errno == \"\"\n"
                    "grep -cw hg /proc/$p/smaps\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_EQ(r.out, "1\n1\n");
}

// MAP_STACK asks for no huge pages (calc_vm_flag_bits(), 6.7+), so a
// thread's stack and its guard page carry "nh", as in the real capture
// tests/data/host-6.18/vm/thread.out.
TEST(MadviseCommand, ThreadStacksAreMappedWithMapStackSoNoHugepage) {
    std::string s = std::string(kBoot) +
                    "thread $p as=t\n"
                    "grep -c -F 'VmFlags: mr mw me nh ' /proc/$p/smaps\n"
                    "grep -c -F 'VmFlags: rd wr mr mw me ac nh ' /proc/$p/smaps\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_EQ(r.out, "1\n1\n");
}

TEST(MadviseCommand, RefusesAsLinuxDoes) {
    std::string s = std::string(kBoot) + fresh("a", 4) + "madvise $p $(( $a + 1 )) 4K dontneed\n" +
                    expect_errno("madvise_unaligned") + "madvise $p $a 4K 12345\n" +
                    expect_errno("madvise_bad_advice") + "madvise $p $(( $a + 12K )) 8K dontneed\n" +
                    expect_errno("madvise_hole_dontneed") + "madvise $p $(( $a + 12K )) 8K willneed\n" +
                    expect_errno("madvise_hole_willneed") + "madvise $p $(( $a + 16K )) 4K normal\n" +
                    expect_errno("madvise_hole_only_normal") + "madvise $p $a 0 dontneed\n" +
                    expect_errno("madvise_len0") + "madvise $p $a 4K hugepage\n" +
                    expect_errno("madvise_hugepage") +
                    "mlock $p $(( $a + 4K )) 4K\n"
                    "madvise $p $(( $a + 4K )) 4K dontneed\n" +
                    expect_errno("madvise_dontneed_locked") +
                    "file /tmp/errno.dat 16K cached\n"
                    "mmap $p 4K prot=r flags=private file=/tmp/errno.dat as=f\n"
                    "madvise $p $f 4K free\n" +
                    expect_errno("madvise_free_file") + "echo still running\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_NE(r.out.find("madvise: Invalid argument (EINVAL)\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("still running\n"), std::string::npos);
}

TEST(MlockCommand, LocksAndFaultsInTheRange) {
    std::string s = std::string(kBoot) +
                    "mmap $p 1M as=a\n"
                    "let rss0 = proc[$p].status.VmRSS\n"
                    "let lck0 = proc[$p].status.VmLck\n"
                    "let mlocked0 = meminfo.Mlocked\n"
                    "mlock $p $a 1M\n"
                    "expect $errno == \"\"\n"
                    "expect proc[$p].status.VmLck == $lck0 + 1M\n"
                    "expect proc[$p].status.VmRSS == $rss0 + 1M\n"
                    "expect meminfo.Mlocked == $mlocked0 + 1M\n"
                    "mincore $p $a 1M\n"
                    "expect $resident == 256\n"
                    "munlock $p $a 1M\n"
                    "expect $errno == \"\"\n"
                    "expect proc[$p].status.VmLck == $lck0\n"
                    "expect meminfo.Mlocked == $mlocked0\n"
                    // Unlocking leaves the pages where they are.
                    "expect proc[$p].status.VmRSS == $rss0 + 1M\n";
    expect_clean(run(s));
}

TEST(MlockCommand, OnfaultLocksWithoutFaultingIn) {
    std::string s = std::string(kBoot) +
                    "mmap $p 1M as=a\n"
                    "let rss0 = proc[$p].status.VmRSS\n"
                    "let mlocked0 = meminfo.Mlocked\n"
                    "mlock $p $a 1M onfault\n"
                    "expect $errno == \"\"\n"
                    "expect proc[$p].status.VmLck == 1M\n"
                    "expect proc[$p].status.VmRSS == $rss0\n"
                    "expect meminfo.Mlocked == $mlocked0\n"
                    // Pages are locked as they are first touched.
                    "touch $p $a 256K write\n"
                    "expect proc[$p].status.VmRSS == $rss0 + 256K\n"
                    "expect meminfo.Mlocked == $mlocked0 + 256K\n"
                    "grep -cw lf /proc/$p/smaps\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_EQ(r.out, "1\n");
}

TEST(MlockCommand, MlockallFutureLocksLaterMappingsAndMunlockallUndoesIt) {
    std::string s = std::string(kBoot) +
                    "mlockall $p future\n"
                    "expect $errno == \"\"\n"
                    "expect proc[$p].status.VmLck == 0\n"
                    "let rss0 = proc[$p].status.VmRSS\n"
                    "mmap $p 1M as=a\n"
                    // Locked and populated at once, as MCL_FUTURE promises.
                    "expect proc[$p].status.VmLck == 1M\n"
                    "expect proc[$p].status.VmRSS == $rss0 + 1M\n"
                    "munlockall $p\n"
                    "expect $errno == \"\"\n"
                    "expect proc[$p].status.VmLck == 0\n"
                    "let rss1 = proc[$p].status.VmRSS\n"
                    "mmap $p 1M as=b\n"
                    "expect proc[$p].status.VmLck == 0\n"
                    "expect proc[$p].status.VmRSS == $rss1\n"
                    // current locks every area there is: VmLck becomes VmSize minus
                    // the special mappings ([vvar], [vdso], ...), which are never locked.
                    "mlockall $p current\n"
                    "expect proc[$p].status.VmLck > 2M\n"
                    "expect proc[$p].status.VmLck <= proc[$p].status.VmSize\n"
                    "expect proc[$p].status.VmRSS >= $rss1 + 1M\n"
                    "munlockall $p\n"
                    "expect proc[$p].status.VmLck == 0\n"
                    "mlockall $p onfault\n"
                    "expect $errno == \"EINVAL\"\n"
                    "mlockall $p MCL_CURRENT,MCL_ONFAULT\n"
                    "expect $errno == \"\"\n";
    expect_clean(run(s));
}

TEST(MlockCommand, RefusesAsLinuxDoes) {
    std::string s = std::string(kBoot) + fresh("a", 4) + "mlock $p $(( $a + 12K )) 8K\n" +
                    expect_errno("mlock_hole") +
                    // The pages before the hole were locked all the same.
                    "expect proc[$p].status.VmLck == 4K\n"
                    "mlock $p $(( $a + 1 )) 4K\n" +
                    expect_errno("mlock_unaligned") + "munlock $p $(( $a + 16K )) 4K\n" +
                    expect_errno("munlock_hole") + "echo still running\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_NE(r.out.find("mlock: Cannot allocate memory (ENOMEM)\n"), std::string::npos) << r.out;
}

TEST(MincoreCommand, CountsResidentPages) {
    std::string s = std::string(kBoot) +
                    "mmap $p 64K as=a\n"
                    "mincore $p $a 64K as=n\n"
                    "expect $errno == \"\" && $n == 0 && $resident == 0\n"
                    "touch $p $a 16K write\n"
                    // Zero-page entries count: the page is mapped.
                    "touch $p $(( $a + 32K )) 8K read\n"
                    "mincore $p $a 64K as=n\n"
                    "expect $n == 6 && $resident == 6\n"
                    "mincore $p $a 64K show\n"
                    // A part of a page counts as the whole page.
                    "mincore $p $a 1 as=one\n"
                    "expect $one == 1\n"
                    // A file's pages count when they are in the page cache, mapped or not.
                    "file /data/f 32K cached\n"
                    "mmap $p 32K prot=r flags=private file=/data/f as=m\n"
                    "mincore $p $m 32K\n"
                    "expect $resident == 8\n"
                    "file /data/cold 32K\n"
                    "mmap $p 32K prot=r flags=private file=/data/cold as=c\n"
                    "mincore $p $c 32K show\n";
    Outcome r = run(s);
    expect_clean(r);
    EXPECT_EQ(r.out, "mincore: 6 of 16 pages resident: 0-3,8-9\nmincore: 0 of 8 pages resident\n");
}

TEST(MincoreCommand, RefusesAsLinuxDoes) {
    std::string s = std::string(kBoot) + fresh("a", 4) + "mincore $p $(( $a + 1 )) 4K\n" +
                    expect_errno("mincore_unaligned") + "mincore $p $(( $a + 12K )) 8K\n" +
                    expect_errno("mincore_hole");
    expect_clean(run(s));
}

// With literal words (pid 1000 is the first process spawned) the parser
// checks the line before the run starts: nothing runs.
TEST(MemoryCallCommands, BadLiteralArgumentsStopTheRunBeforeItStarts) {
    struct Case {
        std::string line, err;
    };
    const Case cases[] = {
        {"madvise 1000 0x1000 4K dontneeed",
         "s.mms:4:24: error: unknown madvise advice 'dontneeed' (did you mean 'dontneed'?) (expected one of: "
         "normal, random, sequential, willneed, dontneed, free, remove, dontfork, dofork, mergeable, "
         "unmergeable, hugepage, nohugepage, dontdump, dodump, wipeonfork, keeponfork, cold, pageout, "
         "populate_read, populate_write, dontneed_locked, collapse, guard_install, guard_remove; or a "
         "number)\n"},
        {"madvise 1000 0x1000 4K",
         "s.mms:4:1: error: madvise needs 4 arguments (usage: madvise PID ADDR SIZE ADVICE)\n"},
        {"mremap 1000 0x1000 4K 8K flags=maymove,fixd",
         "s.mms:4:32: error: unknown mremap flag 'fixd' (did you mean 'fixed'?) (expected a comma-separated "
         "list of: maymove, fixed, dontunmap)\n"},
        {"mremap 1000 0x1000 4K",
         "s.mms:4:1: error: mremap needs 4 arguments (usage: mremap PID ADDR OLD_SIZE NEW_SIZE "
         "[flags=maymove,fixed,dontunmap] [new_addr=A] [as=VAR])\n"},
        {"mlock 1000 0x1000 4K onfalt", "s.mms:4:22: error: expected 'onfault', got 'onfalt'\n"},
        {"mlockall 1000 currant",
         "s.mms:4:15: error: unknown mlockall flag 'currant' (did you mean 'current'?) (expected a "
         "comma-separated list of: current, future, onfault)\n"},
        {"munlockall", "s.mms:4:1: error: munlockall needs 1 argument (usage: munlockall PID)\n"},
        {"mincore 1000 0x1000 4K print", "s.mms:4:24: error: expected 'show', got 'print'\n"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.line);
        Outcome r = run(std::string(kBoot) + "echo before\n" + c.line + "\n");
        EXPECT_EQ(r.status, 2);
        EXPECT_EQ(r.out, "");  // refused before the first line ran
        EXPECT_EQ(r.err.substr(0, c.err.size()), c.err);
    }
}

// With variables in the line the same checks run when the line is reached:
// what ran before stays done, nothing after runs, the status is 2.
TEST(MemoryCallCommands, BadArgumentsWithVariablesStopTheRunAtTheirLine) {
    Outcome r =
        run(std::string(kBoot) + "mmap $p 4K as=a\necho before\nmadvise $p $a 4K dontneeed\necho after\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "before\n");
    EXPECT_EQ(
        r.err.rfind("s.mms:5:18: error: unknown madvise advice 'dontneeed' (did you mean 'dontneed'?)", 0),
        0u)
        << r.err;

    r = run(std::string(kBoot) + "mmap $p 4K as=a\necho before\nmlockall $p current,past\necho after\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "before\n");
    EXPECT_EQ(r.err.rfind("s.mms:5:13: error: unknown mlockall flag 'past'", 0), 0u) << r.err;

    r = run(std::string(kBoot) + "mmap $p 4K as=a\necho before\nmremap $p $a 4K\necho after\n");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "before\n");
    EXPECT_EQ(r.err.rfind("s.mms:5:1: error: mremap needs 4 arguments", 0), 0u) << r.err;
}

}  // namespace
}  // namespace mmsim::scenario
