// /proc/PID/status and /proc/PID/stat (fs/proc/array.c, task_mem() of
// fs/proc/task_mmu.c), and /proc/PID/cmdline, comm and oom_score_adj
// (fs/proc/base.c).
//
// The memory lines of status come straight from the address space's
// counters: VmSize is total_vm, VmRSS the sum of the RSS counters, VmData
// data_vm, VmStk stack_vm, VmExe the text segment's span and VmLib the rest
// of exec_vm, VmPTE the page-table bytes; VmPeak and VmHWM are the high
// water marks. stat's 52 fields include the fault counts (minflt, majflt
// and the children's), the times in clock ticks (USER_HZ 100), vsize in
// bytes and rss in pages.
//
// The lines that describe credentials, signals and capabilities print
// what a root shell's child has on the host: simulated processes run as
// root with no signal handlers.
#include <fmt/format.h>

#include "kernel/task.h"
#include "mm/mm.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

constexpr uint64_t USER_HZ = 100;
uint64_t ticks(Nanos ns) { return ns / (1000000000ull / USER_HZ); }

char state_char(const Task& t) {
    switch (t.state) {
        case TaskState::Running:
            return 'R';
        case TaskState::Sleeping:
            return 'S';
        case TaskState::Stopped:
            return 'T';
        case TaskState::Zombie:
            return 'Z';
        case TaskState::Dead:
            return 'X';
    }
    return 'S';
}

const char* state_text(const Task& t) {
    switch (t.state) {
        case TaskState::Running:
            return "R (running)";
        case TaskState::Sleeping:
            return "S (sleeping)";
        case TaskState::Stopped:
            return "T (stopped)";
        case TaskState::Zombie:
            return "Z (zombie)";
        case TaskState::Dead:
            return "X (dead)";
    }
    return "S (sleeping)";
}

std::string cpu_list(unsigned n) { return n == 1 ? "0" : fmt::format("0-{}", n - 1); }

// The Cpus_allowed mask: 32-bit hex groups, most significant first,
// without leading zero groups beyond nr_cpu_ids.
std::string cpu_mask(unsigned n) {
    std::vector<uint32_t> words((n + 31) / 32, 0);
    for (unsigned i = 0; i < n; i++) words[i / 32] |= 1u << (i % 32);
    std::string s;
    for (std::size_t i = words.size(); i-- > 0;) {
        if (!s.empty()) s += ',';
        s += i + 1 == words.size() ? fmt::format("{:x}", words[i]) : fmt::format("{:08x}", words[i]);
    }
    return s;
}

// Mems_allowed: MAX_NUMNODES (1024 on Debian's x86-64 kernel) bits.
std::string node_mask(unsigned nodes) {
    std::string s;
    for (int g = 31; g >= 0; g--) {
        uint32_t w = 0;
        for (unsigned n = 0; n < nodes; n++)
            if (n / 32 == static_cast<unsigned>(g)) w |= 1u << (n % 32);
        if (!s.empty()) s += ',';
        s += fmt::format("{:08x}", w);
    }
    return s;
}

int thread_count(const Kernel& k, const Task& t) {
    const Task* leader = k.tasks->find(t.tgid);
    return leader ? 1 + static_cast<int>(leader->threads.size()) : 1;
}

}  // namespace

std::string render_pid_status(const Kernel& k, const Task& t) {
    std::string o;
    auto line = [&](const char* name, const std::string& v) { o += fmt::format("{}:\t{}\n", name, v); };
    auto kbl = [&](const char* name, uint64_t v) { o += fmt::format("{}:\t{:>8} kB\n", name, v); };
    line("Name", t.comm);
    line("Umask", "0022");
    line("State", state_text(t));
    line("Tgid", std::to_string(t.tgid));
    line("Ngid", "0");
    line("Pid", std::to_string(t.pid));
    line("PPid", std::to_string(t.ppid));
    line("TracerPid", "0");
    line("Uid", "0\t0\t0\t0");
    line("Gid", "0\t0\t0\t0");
    line("FDSize", t.mm ? "64" : "0");
    line("Groups", " ");
    line("NStgid", std::to_string(t.tgid));
    line("NSpid", std::to_string(t.pid));
    line("NSpgid", std::to_string(t.tgid));
    line("NSsid", std::to_string(t.tgid));
    line("Kthread", "0");
    if (t.mm) {
        const MmStruct& mm = *t.mm;
        uint64_t rss = mm.get_mm_rss();
        uint64_t hiwater_vm = std::max(mm.hiwater_vm, mm.total_vm);
        uint64_t hiwater_rss = std::max(mm.hiwater_rss, rss);
        uint64_t text =
            ((((mm.end_code + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - (mm.start_code & ~(PAGE_SIZE - 1))) >> 10);
        uint64_t exec_kb = mm.exec_vm << (PAGE_SHIFT - 10);
        uint64_t lib = exec_kb > text ? exec_kb - text : 0;
        auto pk = [](int64_t pages) { return static_cast<uint64_t>(pages) << (PAGE_SHIFT - 10); };
        kbl("VmPeak", hiwater_vm << (PAGE_SHIFT - 10));
        kbl("VmSize", mm.total_vm << (PAGE_SHIFT - 10));
        kbl("VmLck", mm.locked_vm << (PAGE_SHIFT - 10));
        kbl("VmPin", mm.pinned_vm << (PAGE_SHIFT - 10));
        kbl("VmHWM", hiwater_rss << (PAGE_SHIFT - 10));
        kbl("VmRSS", rss << (PAGE_SHIFT - 10));
        kbl("RssAnon", pk(mm.get_mm_counter(MM_ANONPAGES)));
        kbl("RssFile", pk(mm.get_mm_counter(MM_FILEPAGES)));
        kbl("RssShmem", pk(mm.get_mm_counter(MM_SHMEMPAGES)));
        kbl("VmData", mm.data_vm << (PAGE_SHIFT - 10));
        kbl("VmStk", mm.stack_vm << (PAGE_SHIFT - 10));
        kbl("VmExe", text);
        kbl("VmLib", lib);
        kbl("VmPTE", static_cast<uint64_t>(mm.pgtables_bytes) >> 10);
        kbl("VmSwap", pk(mm.get_mm_counter(MM_SWAPENTS)));
        kbl("HugetlbPages", 0);
    }
    line("CoreDumping", "0");
    line("THP_enabled", "1");
    line("untag_mask", "0xffffffffffffffff");
    line("Threads", std::to_string(thread_count(k, t)));
    // SigQ's limit is RLIMIT_SIGPENDING: max_threads / 2, where max_threads
    // is totalram_pages / (8 * THREAD_SIZE / PAGE_SIZE).
    line("SigQ", fmt::format("0/{}", k.totalram_pages / 32 / 2));
    line("SigPnd", "0000000000000000");
    line("ShdPnd", "0000000000000000");
    line("SigBlk", "0000000000000000");
    line("SigIgn", "0000000000000000");
    line("SigCgt", "0000000000000000");
    line("CapInh", "0000000000000000");
    line("CapPrm", "000001fffeffffff");
    line("CapEff", "000001fffeffffff");
    line("CapBnd", "000001fffeffffff");
    line("CapAmb", "0000000000000000");
    line("NoNewPrivs", "0");
    line("Seccomp", "0");
    line("Seccomp_filters", "0");
    line("Speculation_Store_Bypass", "thread vulnerable");
    line("SpeculationIndirectBranch", "conditional enabled");
    unsigned ncpu = static_cast<unsigned>(k.cpus.size());
    line("Cpus_allowed", cpu_mask(ncpu));
    line("Cpus_allowed_list", cpu_list(ncpu));
    line("Mems_allowed", node_mask(static_cast<unsigned>(k.nodes.size())));
    line("Mems_allowed_list", cpu_list(static_cast<unsigned>(k.nodes.size())));
    line("voluntary_ctxt_switches", std::to_string(t.nvcsw));
    line("nonvoluntary_ctxt_switches", std::to_string(t.nivcsw));
    return o;
}

// do_task_stat(): the 52 fields.
std::string render_pid_stat(const Kernel& k, const Task& t) {
    const MmStruct* mm = t.mm.get();
    uint64_t vsize = mm ? mm->total_vm << PAGE_SHIFT : 0;
    uint64_t rss = mm ? mm->get_mm_rss() : 0;
    uint64_t start_code = mm ? mm->start_code : 0, end_code = mm ? mm->end_code : 0;
    uint64_t start_stack = mm ? mm->start_stack : 0;
    // A process that forked and did not exec carries PF_FORKNOEXEC.
    unsigned flags = t.exe.empty() ? 0x40 : 0;
    std::string o = fmt::format("{} ({}) {} {} {} {} 0 -1 {} ", t.pid, t.comm, state_char(t), t.ppid, t.tgid,
                                t.tgid, flags);
    o += fmt::format("{} {} {} {} ", t.min_flt, t.cmin_flt, t.maj_flt, t.cmaj_flt);
    o += fmt::format("{} {} {} {} ", ticks(t.utime), ticks(t.stime), ticks(t.cutime), ticks(t.cstime));
    o += fmt::format("{} {} {} 0 {} ", 20 + t.nice, t.nice, thread_count(k, t), ticks(t.start_time));
    o += fmt::format("{} {} 18446744073709551615 {} {} {} 0 0 ", vsize, rss, start_code, end_code,
                     start_stack);
    o += fmt::format("0 0 0 0 {} 0 0 17 {} 0 0 0 0 0 ", t.state == TaskState::Sleeping ? 1 : 0, t.cpu);
    if (mm)
        o += fmt::format("{} {} {} {} {} {} {} ", mm->start_data, mm->end_data, mm->start_brk, mm->arg_start,
                         mm->arg_end, mm->env_start, mm->env_end);
    else
        o += "0 0 0 0 0 0 0 ";
    o += fmt::format("{}\n", t.is_zombie() ? t.exit_code : 0);
    return o;
}

std::string render_pid_cmdline(const Kernel& k, const Task& t) {
    (void)k;
    if (!t.mm) return "";  // a zombie's cmdline is empty
    std::string o;
    for (const auto& a : t.argv) {
        o += a;
        o.push_back('\0');
    }
    return o;
}

std::string render_pid_comm(const Kernel& k, const Task& t) {
    (void)k;
    return t.comm + "\n";
}

std::string render_pid_oom_score_adj(const Kernel& k, const Task& t) {
    (void)k;
    return std::to_string(t.oom_score_adj) + "\n";
}

Result<void> store_pid_oom_score_adj(Kernel& k, Task& t, std::string_view data) {
    // oom_score_adj_write(): an integer in [-1000, 1000], applied to the
    // whole thread group.
    std::string s(data);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) i++;
    if (i == s.size()) return Errno::INVAL;
    for (std::size_t j = i; j < s.size(); j++)
        if (s[j] < '0' || s[j] > '9') return Errno::INVAL;
    long v = std::strtol(s.c_str(), nullptr, 10);
    if (v < -1000 || v > 1000 || s.size() > 6) return Errno::INVAL;
    k.tasks->for_each([&](Task& o) {
        if (o.tgid == t.tgid) o.oom_score_adj = static_cast<int>(v);
    });
    return {};
}

}  // namespace mmsim
