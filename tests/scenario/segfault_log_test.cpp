// The kernel log line of an unhandled SIGSEGV (arch/x86/mm/fault.c's
// show_signal_msg() and show_opcodes()): its x86 error code says whether
// the page was present (bit 0), whether the access was a write (bit 1) and
// that it came from user mode (bit 2). A write to a read-only page never
// touched finds no PTE, so bit 0 is clear (error 6); once a read has
// mapped the zero page there, the same write is a protection fault on a
// present page (error 7). The simulated programs have no registers, so ip
// is 0 and the opcode dump fails the way the kernel's does for ip 0.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "scenario/scenario.h"

namespace mmsim::scenario {
namespace {

std::string run_ok(const std::string& text) {
    std::ostringstream out, err;
    RunOptions opts;
    opts.out = &out;
    opts.err = &err;
    RunResult r = run_scenario_text(text, "s.mms", opts);
    EXPECT_EQ(r.status, 0) << err.str();
    return out.str();
}

const char* kBoot = "boot ram=1G cpus=2\n";

TEST(SegfaultLog, AWriteToAnUntouchedReadOnlyPageIsANotPresentFault) {
    std::string out = run_ok(std::string(kBoot) +
                             "spawn hello as=p\n"
                             "mmap $p 64K prot=r as=ro\n"
                             "touch $p $ro 4K write\n"
                             "expect $signal == \"SIGSEGV\"\n"
                             "echo \"addr $ro\"\n"
                             "dmesg | grep -F 'hello['\n");
    std::size_t at = out.find("addr ");
    ASSERT_NE(at, std::string::npos) << out;
    std::string addr = out.substr(at + 5, out.find('\n', at) - at - 5);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(std::stoull(addr, nullptr, 0)));
    EXPECT_NE(
        out.find(std::string("hello[1000]: segfault at ") + hex +
                 " ip 0000000000000000 sp 0000000000000000 error 6 likely on CPU 0 (core 0, socket 0)\n"),
        std::string::npos)
        << out;
}

TEST(SegfaultLog, AWriteAfterAReadMappedTheZeroPageIsAProtectionFault) {
    std::string out = run_ok(std::string(kBoot) +
                             "spawn hello as=p\n"
                             "mmap $p 64K prot=r as=ro\n"
                             "touch $p $ro 4K read\n"
                             "touch $p $ro 4K write\n"
                             "expect $signal == \"SIGSEGV\"\n"
                             "dmesg | grep -F 'hello['\n");
    EXPECT_NE(out.find(" error 7 likely on CPU 0 (core 0, socket 0)\n"), std::string::npos) << out;
}

TEST(SegfaultLog, TheOpcodeDumpCannotReadBelowIpZero) {
    std::string out = run_ok(std::string(kBoot) +
                             "spawn hello as=p\n"
                             "touch $p 0x10000 4K read\n"
                             "dmesg | grep -E 'segfault|Code:'\n");
    EXPECT_NE(out.find(" error 4 likely on CPU 0 (core 0, socket 0)\n"), std::string::npos) << out;
    // show_opcodes() reads from ip - 42, which wraps below zero.
    EXPECT_NE(out.find("Code: Unable to access opcode bytes at 0xffffffffffffffd6.\n"), std::string::npos)
        << out;
}

}  // namespace
}  // namespace mmsim::scenario
