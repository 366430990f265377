// /proc/stat, /proc/uptime, /proc/loadavg and /proc/version
// (fs/proc/stat.c, fs/proc/uptime.c, fs/proc/loadavg.c, fs/proc/version.c).
//
// These are the scheduler's files, not memory's, but `vmstat`, `top` and
// `uptime` read them beside /proc/meminfo, so a snapshot needs them.
//
//   stat     CPU time per state (user nice system idle iowait irq softirq
//            steal guest guest_nice) in USER_HZ ticks (1/100 s), summed and
//            per CPU; then interrupts, context switches, boot time (btime,
//            seconds since the epoch), forks, and running/blocked tasks.
//   uptime   seconds since boot and idle seconds summed over CPUs, both
//            with two decimals.
//   loadavg  the 1, 5 and 15 minute load averages, running/total tasks and
//            the last pid handed out.
//
// Everything is derived from the simulated clock, so the same run prints the
// same bytes. Until the scheduler exists every CPU is idle for the whole
// uptime and no interrupts or context switches are counted; the task counts
// are the one task reading the file. The machine boots at SIM_BOOT_EPOCH.
#include <fmt/format.h>

#include <iterator>

#include "proc/renderers.h"

namespace mmsim {

namespace {

// USER_HZ: the unit of every time in /proc/stat.
constexpr uint64_t USER_HZ = 100;
// NR_IRQS_LEGACY: the ISA interrupt lines every x86 machine lists.
constexpr unsigned NR_IRQS_SHOWN = 16;
// NR_SOFTIRQS: HI TIMER NET_TX NET_RX BLOCK IRQ_POLL TASKLET SCHED HRTIMER RCU.
constexpr unsigned NR_SOFTIRQS = 10;

uint64_t nsec_to_clock_t(Nanos ns) { return ns / (NSEC_PER_SEC / USER_HZ); }

struct CpuTimes {
    Nanos user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0, guest = 0,
          guest_nice = 0;

    CpuTimes& operator+=(const CpuTimes& o) {
        user += o.user, nice += o.nice, system += o.system, idle += o.idle, iowait += o.iowait;
        irq += o.irq, softirq += o.softirq, steal += o.steal, guest += o.guest, guest_nice += o.guest_nice;
        return *this;
    }
};

// kcpustat_cpu_fetch(): no task runs yet, so a CPU has idled since boot.
CpuTimes cpu_times(const Kernel& k, int) {
    CpuTimes t;
    t.idle = k.clock.now();
    return t;
}

template <class Out>
void put_times(Out out, const CpuTimes& t) {
    for (Nanos v :
         {t.user, t.nice, t.system, t.idle, t.iowait, t.irq, t.softirq, t.steal, t.guest, t.guest_nice})
        fmt::format_to(out, " {}", nsec_to_clock_t(v));
    *out++ = '\n';
}

// The task that reads the file is running: nr_running() and nr_threads
// are at least 1.
constexpr unsigned NR_RUNNING = 1;
constexpr unsigned NR_THREADS = 1;

}  // namespace

std::string render_stat(const Kernel& k) {
    std::string s;
    auto out = std::back_inserter(s);
    CpuTimes sum;
    for (const CpuInfo& c : k.cpus) sum += cpu_times(k, c.id);
    s += "cpu ";
    put_times(out, sum);
    for (const CpuInfo& c : k.cpus) {
        fmt::format_to(out, "cpu{}", c.id);
        put_times(out, cpu_times(k, c.id));
    }
    s += "intr 0";
    for (unsigned i = 0; i < NR_IRQS_SHOWN; i++) s += " 0";
    fmt::format_to(out,
                   "\nctxt {}\n"
                   "btime {}\n"
                   "processes {}\n"
                   "procs_running {}\n"
                   "procs_blocked {}\n",
                   0, SIM_BOOT_EPOCH, 0, NR_RUNNING, 0);
    s += "softirq 0";
    for (unsigned i = 0; i < NR_SOFTIRQS; i++) s += " 0";
    s += '\n';
    return s;
}

std::string render_uptime(const Kernel& k) {
    const Nanos up = k.clock.now();
    Nanos idle = 0;
    for (const CpuInfo& c : k.cpus) idle += cpu_times(k, c.id).idle;
    return fmt::format("{}.{:02} {}.{:02}\n", up / NSEC_PER_SEC, up % NSEC_PER_SEC / (NSEC_PER_SEC / 100),
                       idle / NSEC_PER_SEC, idle % NSEC_PER_SEC / (NSEC_PER_SEC / 100));
}

std::string render_loadavg(const Kernel& k) {
    // avenrun[] stays 0 while nothing runs.
    return fmt::format("0.00 0.00 0.00 {}/{} {}\n", NR_RUNNING, NR_THREADS, k.current_pid);
}

std::string render_version(const Kernel& k) {
    // The same banner the simulated kernel log starts with.
    return fmt::format("Linux version {} (mmsim) #1 SMP PREEMPT_DYNAMIC\n", k.kernel_release);
}

}  // namespace mmsim
