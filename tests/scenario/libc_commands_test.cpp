// The C library verbs as scenarios: a bad argument stops the run with
// status 2 and a message at file:line:col; a refused allocation sets
// $errno and the run goes on; what glibc aborts on kills the process with
// SIGABRT and glibc's message; a fault in malloc's own bookkeeping kills it
// with SIGSEGV, as the real program would die.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/scenario_run.h"

namespace mmsim {
namespace {

const std::string kHead =
    "boot ram=1G cpus=2\n"
    "spawn malloc_steps as=p\n"
    "malloc $p 10 as=a\n";

TEST(LibcCommands, BadInputNamesItsPlace) {
    struct Case {
        std::string line, where, what;
    };
    const std::vector<Case> cases = {
        {"malloc $p", "s.mms:4:1:", "malloc needs at least 2 arguments"},
        {"malloc $p 10 fil", "s.mms:4:14:", "expected fill"},
        {"malloc $p ten", "s.mms:4:11:", "malformed number 'ten'"},
        {"malloc $p 10 count=0", "s.mms:4:20:", "count= must be between 1 and"},
        {"malloc $p 10 at=main,,x", "s.mms:4:17:", "at= has an empty frame"},
        {"malloc $p 10 at=main/x", "s.mms:4:17:", "at= expects frames separated by commas"},
        {"malloc 99999 10", "s.mms:4:8:", "no process 99999"},
        {"calloc $p 1", "s.mms:4:1:", "calloc needs 3 arguments"},
        {"realloc $p xyz 10", "s.mms:4:12:", "an address must be a whole number"},
        {"mallopt $p M_FOO 1", "s.mms:4:12:", "unknown mallopt parameter 'M_FOO'"},
        {"mallopt $p M_TOP_PAD big", "s.mms:4:22:", "malformed number 'big'"},
        {"malloc_trim $p lots", "s.mms:4:16:", "malformed number 'lots'"},
        {"free $p $a keep=2", "s.mms:4:17:", "keep= applies to a group, not one address"},
        {"free $p nosuch", "s.mms:4:9:", "nothing was allocated as 'nosuch'"},
        {"free $p $a $a", "s.mms:4:12:", "free of a block"},
        {"free -m keep=2", "s.mms:4:14:", "keep= belongs to free PID GROUP"},
        {"expect malloc[$p].nosuch == 1", "s.mms:4:19:", "no malloc field 'nosuch'"},
        {"memalign $p 4096 10 fil", "s.mms:4:21:", "expected fill"},
        {"posix_memalign $p big 10", "s.mms:4:19:", "malformed number 'big'"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.line);
        auto r = test::run_scenario(kHead + c.line + "\necho after\n");
        EXPECT_EQ(r.status, 2);
        EXPECT_NE(r.err.find(c.where + " error: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.what), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("after"), std::string::npos);
    }
}

TEST(LibcCommands, ARefusedAllocationSetsErrnoAndTheRunGoesOn) {
    auto r = test::run_scenario(kHead +
                                "malloc $p 1P as=huge\n"
                                "expect $errno == \"ENOMEM\"\n"
                                "malloc $p 100 as=b\n"
                                "expect $errno == \"\"\n");
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_NE(r.out.find("malloc: Cannot allocate memory (ENOMEM)"), std::string::npos) << r.out;
}

TEST(LibcCommands, AlignedBlocksLandOnTheirAlignment) {
    auto r = test::run_scenario(kHead +
                                "memalign $p 4096 100 fill as=b\n"
                                "expect $b % 4096 == 0\n"
                                "aligned_alloc $p 64K 200K as=c\n"
                                "expect $c % 64K == 0 && malloc[$p].hblks == 1\n"
                                "posix_memalign $p 24 100\n"
                                "expect $errno == \"EINVAL\"\n"
                                "posix_memalign $p 256 5000 as=d\n"
                                "expect $errno == \"\" && $d % 256 == 0\n"
                                "free $p $c\n"
                                "expect malloc[$p].hblks == 0\n");
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
    EXPECT_NE(r.out.find("posix_memalign: Invalid argument (EINVAL)"), std::string::npos) << r.out;
}

TEST(LibcCommands, ADoubleFreeAbortsWithGlibcsMessage) {
    auto r = test::run_scenario(kHead +
                                "free $p $a\n"
                                "free $p $a\n"
                                "expect $signal == \"SIGABRT\"\n"
                                "ps -e -o pid,comm\n");
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_NE(
        r.out.find("free(): double free detected in tcache 2\nmalloc_steps[1000]: killed by SIGABRT (abort)"),
        std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find(" malloc_steps\n"), std::string::npos) << "the process is gone:\n" << r.out;
}

TEST(LibcCommands, MallocReadingAnUnmappedHeapDiesOfSigsegv) {
    // The heap starts right after the bss (0x555555571000 for this image);
    // the program unmaps it and calls malloc, which reads the top chunk.
    auto r = test::run_scenario(kHead +
                                "munmap $p 0x555555571000 132K\n"
                                "malloc $p 100\n"
                                "expect $signal == \"SIGSEGV\"\n"
                                "dmesg\n");
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_NE(r.out.find("killed by SIGSEGV (SEGV_MAPERR)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("malloc_steps[1000]: segfault at 555555571"), std::string::npos) << r.out;
}

TEST(LibcCommands, ThreadsAllocateFromTheirOwnArenas) {
    // The second thread's first malloc makes an arena: 64 MiB of address
    // space reserved, 132 KiB of it read-write (mallinfo2 sums every arena).
    auto r = test::run_scenario(kHead +
                                "let vsz = proc[$p].status.VmSize\n"
                                "thread $p as=t\n"
                                "let vsz_t = proc[$p].status.VmSize\n"
                                "malloc $t 1K fill as=b\n"
                                "expect malloc[$p].arenas == 2\n"
                                "expect proc[$p].status.VmSize == $vsz_t + 64M\n"
                                "expect malloc[$p].arena == 132K + 132K\n"
                                "free $t $b\n"
                                "free $p $a\n");
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
}

TEST(LibcCommands, AnEndedThreadsStackAndArenaServeTheNextThread) {
    // texit.c's story as a scenario: the second thread maps nothing new.
    auto r = test::run_scenario(kHead +
                                "thread $p as=t\n"
                                "malloc $t 100 count=20 fill as=g\n"
                                "free $t g\n"
                                "let vsz = proc[$p].status.VmSize\n"
                                "let areas = proc[$p].maps.count\n"
                                "thread_exit $t\n"
                                "expect proc[$p].status.Threads == 1\n"
                                "expect proc[$p].status.VmSize == $vsz\n"
                                "thread $p as=t2\n"
                                "malloc $t2 100 as=b\n"
                                "expect proc[$p].status.VmSize == $vsz\n"
                                "expect proc[$p].maps.count == $areas\n"
                                "expect malloc[$p].arenas == 2\n"
                                "thread_exit $p\n");
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
    EXPECT_NE(r.err.find("s.mms:17:13: error: 1000 is a process, not one of its threads"), std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace mmsim
