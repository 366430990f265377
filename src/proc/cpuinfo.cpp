// /proc/cpuinfo (arch/x86/kernel/cpu/proc.c: show_cpuinfo).
//
// One block per online CPU, "key\t: value" lines with tabs chosen so the
// colons line up in an 8-column terminal, and a blank line after each block.
// Tools use it to count processors (procps falls back to it) and to read
// model names and feature flags.
//
// The simulated CPUs are identical and fictional, shaped like the 6.18
// capture's (an AMD EPYC virtual machine): every field the kernel prints
// there is printed here in the same order. The topology is what the machine
// description gives: one package per NUMA node holding that node's CPUs, one
// thread per core. The flags include pse and pdpe1gb, the 2 MiB and 1 GiB
// pages the direct map uses (DirectMap2M/1G in /proc/meminfo), and pcid,
// which the TLB model relies on.
#include <fmt/format.h>

#include <iterator>

#include "proc/renderers.h"

namespace mmsim {

namespace {

// The fictional CPU model every simulated CPU reports.
constexpr const char* VENDOR_ID = "AuthenticAMD";
constexpr int CPU_FAMILY = 25;
constexpr int CPU_MODEL = 1;
constexpr const char* MODEL_NAME = "mmsim virtual CPU";
constexpr int STEPPING = 1;
constexpr unsigned CPU_KHZ = 2000000;  // 2 GHz: "cpu MHz : 2000.000"
constexpr unsigned CACHE_KB = 512;     // per-core L2
constexpr int CPUID_LEVEL = 16;
constexpr int TLB_SIZE = 2560;  // L2 TLB entries for 4K pages (Zen 3)
constexpr unsigned CLFLUSH_SIZE = 64;
constexpr unsigned PHYS_BITS = 48, VIRT_BITS = 48;  // 4-level paging
constexpr const char* FLAGS =
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
    "syscall nx mmxext pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid extd_apicid "
    "tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c "
    "rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch topoext "
    "invpcid_single "
    "fsgsbase bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec "
    "xgetbv1 "
    "xsaves clzero xsaveerptr arat umip vaes vpclmulqdq rdpid fsrm";
constexpr const char* BUGS = "sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso";

}  // namespace

bool cpu_has_flag(std::string_view flag) {
    std::string_view all = FLAGS;
    while (!all.empty()) {
        std::size_t sp = all.find(' ');
        if (all.substr(0, sp) == flag) return true;
        if (sp == std::string_view::npos) break;
        all.remove_prefix(sp + 1);
    }
    return false;
}

std::string render_cpuinfo(const Kernel& k) {
    std::string s;
    auto out = std::back_inserter(s);
    // BogoMIPS is twice the clock on x86 (calibrated delay loop of 2 ops per
    // cycle): lpj * HZ / 500000.
    const unsigned bogo_centi = CPU_KHZ / 5;  // in hundredths of a BogoMIPS
    for (const CpuInfo& cpu : k.cpus) {
        int siblings = 0, core_id = topology_core_id(k, cpu.id);
        if (cpu.node >= 0 && cpu.node < static_cast<int>(k.nodes.size()))
            siblings = static_cast<int>(k.nodes[cpu.node].cpus.size());
        if (siblings == 0) siblings = 1;
        fmt::format_to(out,
                       "processor\t: {}\n"
                       "vendor_id\t: {}\n"
                       "cpu family\t: {}\n"
                       "model\t\t: {}\n"
                       "model name\t: {}\n"
                       "stepping\t: {}\n"
                       "cpu MHz\t\t: {}.{:03}\n"
                       "cache size\t: {} KB\n",
                       cpu.id, VENDOR_ID, CPU_FAMILY, CPU_MODEL, MODEL_NAME, STEPPING, CPU_KHZ / 1000,
                       CPU_KHZ % 1000, CACHE_KB);
        fmt::format_to(out,
                       "physical id\t: {}\n"
                       "siblings\t: {}\n"
                       "core id\t\t: {}\n"
                       "cpu cores\t: {}\n"
                       "apicid\t\t: {}\n"
                       "initial apicid\t: {}\n",
                       cpu.node, siblings, core_id, siblings, cpu.id, cpu.id);
        fmt::format_to(out,
                       "fpu\t\t: yes\n"
                       "fpu_exception\t: yes\n"
                       "cpuid level\t: {}\n"
                       "wp\t\t: yes\n"
                       "flags\t\t: {}\n"
                       "bugs\t\t: {}\n"
                       "bogomips\t: {}.{:02}\n"
                       "TLB size\t: {} 4K pages\n"
                       "clflush size\t: {}\n"
                       "cache_alignment\t: {}\n"
                       "address sizes\t: {} bits physical, {} bits virtual\n"
                       "power management:\n\n",
                       CPUID_LEVEL, FLAGS, BUGS, bogo_centi / 100, bogo_centi % 100, TLB_SIZE, CLFLUSH_SIZE,
                       CLFLUSH_SIZE, PHYS_BITS, VIRT_BITS);
    }
    return s;
}

}  // namespace mmsim
