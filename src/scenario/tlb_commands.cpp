// The TLB's counters in a scenario: the `tlbstat` command and the `tlb`
// value source.
//
// A real machine exposes little of its TLB: /proc/vmstat's nr_tlb_* lines
// (only with CONFIG_DEBUG_TLBFLUSH) and the CPU's performance counters
// (dtlb_load_misses.* through perf). mmsim keeps what perf would count, per
// CPU and per address space (src/mm/tlb.h, docs/tlb.md), and shows it here:
//
//   tlbstat            one line per CPU, a total, then one line per process
//   tlbstat $p $q      ... only those processes
//   tlb.misses         summed over CPUs      tlb.cpu1.stlb_hits   one CPU
//   tlb[$p].misses     the lookups made while $p's address space was loaded
//
// Threads share their process's address space, so a thread's PID shows the
// same numbers as its leader's. These read simulator state, not /proc text:
// no kernel file holds them.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm_struct.h"
#include "mm/tlb.h"
#include "scenario/commands.h"
#include "scenario/interp.h"

namespace mmsim::scenario {

namespace {

uint64_t lookup_field(const TlbLookupCounts& c, const std::string& name) {
    if (name == "l1_hits") return c.l1_hits;
    if (name == "stlb_hits") return c.stlb_hits;
    if (name == "misses") return c.misses;
    if (name == "dirty_walks") return c.dirty_walks;
    if (name == "protection_faults") return c.protection_faults;
    if (name == "lookups") return c.lookups();
    return UINT64_MAX;
}

// A CPU's (or the machine's) counter by name; UINT64_MAX when unknown.
uint64_t cpu_field(const TlbCounters& c, const std::string& name) {
    uint64_t v = lookup_field(c.lookups, name);
    if (v != UINT64_MAX) return v;
    if (name == "fills") return c.fills;
    if (name == "mm_switches") return c.mm_switches;
    if (name == "switch_flushes") return c.switch_flushes;
    if (name == "ipis_sent") return c.ipis_sent;
    for (unsigned e = 0; e < NR_TLB_EVENTS; e++)
        if (name == tlb_event_name(static_cast<TlbEvent>(e))) return c.events[e];
    return UINT64_MAX;
}

uint64_t mm_field(const TlbMmStats& s, const std::string& name) {
    uint64_t v = lookup_field(s.lookups, name);
    if (v != UINT64_MAX) return v;
    if (name == "flush_requests") return s.flush_requests;
    if (name == "full_flush_requests") return s.full_flush_requests;
    if (name == "ipis_sent") return s.ipis_sent;
    return UINT64_MAX;
}

const char* const CPU_NAMES =
    "l1_hits, stlb_hits, misses, dirty_walks, protection_faults, lookups, fills, mm_switches, "
    "switch_flushes, ipis_sent, nr_tlb_remote_flush, nr_tlb_remote_flush_received, "
    "nr_tlb_local_flush_all, nr_tlb_local_flush_one";
const char* const MM_NAMES =
    "l1_hits, stlb_hits, misses, dirty_walks, protection_faults, lookups, flush_requests, "
    "full_flush_requests, ipis_sent";

// Percent of lookups, one decimal, as perf prints miss rates.
std::string pct(uint64_t part, uint64_t whole) {
    if (whole == 0) return "-";
    return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string cpu_line(const std::string& label, const TlbCounters& c) {
    const TlbLookupCounts& l = c.lookups;
    return fmt::format("{:<6} {:>12} {:>12} {:>12} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8}\n", label,
                       l.lookups(), l.l1_hits, l.stlb_hits, l.misses, pct(l.misses, l.lookups()), c.fills,
                       c.mm_switches, c.switch_flushes, c.ipis_sent);
}

const Task* task_at(const Kernel& k, int64_t pid, const SourceLoc& loc) {
    const Task* t = k.tasks->find(static_cast<int>(pid));
    if (!t) throw InputError(loc, fmt::format("no process {}", pid));
    if (!t->mm) throw InputError(loc, fmt::format("process {} has no address space (a zombie?)", pid));
    return t;
}

void run_tlbstat(Interp& in, Invocation& inv) {
    Kernel& k = in.kernel(inv.cmd.loc);
    std::string& out = inv.out;
    out += fmt::format("{:<6} {:>12} {:>12} {:>12} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8}\n", "CPU", "lookups",
                       "l1_hits", "stlb_hits", "misses", "miss%", "fills", "switches", "sw_flush", "ipis");
    for (std::size_t c = 0; c < k.tlbs.size(); c++)
        out += cpu_line(fmt::format("cpu{}", c), k.tlbs[c].counters);
    out += cpu_line("all", tlb_total_counters(k.tlbs));

    std::vector<const Task*> tasks;
    if (inv.args.positional.empty()) {
        k.tasks->for_each([&](const Task& t) {
            if (t.mm && t.tgid == t.pid) tasks.push_back(&t);
        });
    } else {
        for (const Arg& a : inv.args.positional)
            tasks.push_back(task_at(k, arg_int(a, "a PID", 1, INT32_MAX), a.loc));
    }
    out += fmt::format("\n{:>7} {:<15} {:>12} {:>12} {:>12} {:>8} {:>8} {:>8}\n", "PID", "COMM", "lookups",
                       "l1_hits", "misses", "miss%", "flushes", "ipis");
    for (const Task* t : tasks) {
        const TlbMmStats s = tlb_mm_stats(k.tlbs, t->mm->tlb);
        out += fmt::format("{:>7} {:<15} {:>12} {:>12} {:>12} {:>8} {:>8} {:>8}\n", t->pid, t->comm,
                           s.lookups.lookups(), s.lookups.l1_hits, s.lookups.misses,
                           pct(s.lookups.misses, s.lookups.lookups()), s.flush_requests, s.ipis_sent);
    }
}

// tlb.FIELD, tlb.cpuN.FIELD, tlb[PID].FIELD
Value tlb_value(Interp& in, const std::vector<RefStep>& full, const Expr& ref) {
    std::vector<RefStep> path(full.begin() + (!full.empty() && !full[0].is_index && full[0].name == "tlb"),
                              full.end());
    Kernel& k = in.kernel(ref.loc);
    auto need_name = [&](const RefStep& s) {
        if (s.is_index) throw InputError(s.loc, "expected a counter name, e.g. tlb.misses");
    };
    if (path.size() == 1) {
        need_name(path[0]);
        uint64_t v = cpu_field(tlb_total_counters(k.tlbs), path[0].name);
        if (v == UINT64_MAX)
            throw InputError(path[0].loc,
                             fmt::format("no TLB counter '{}'; expected one of {}", path[0].name, CPU_NAMES));
        return Value::of(static_cast<double>(v));
    }
    if (path.size() == 2 && path[0].is_index) {
        need_name(path[1]);
        const Task* t = task_at(k, path[0].index, path[0].loc);
        uint64_t v = mm_field(tlb_mm_stats(k.tlbs, t->mm->tlb), path[1].name);
        if (v == UINT64_MAX)
            throw InputError(path[1].loc, fmt::format("no per-process TLB counter '{}'; expected one of {}",
                                                      path[1].name, MM_NAMES));
        return Value::of(static_cast<double>(v));
    }
    if (path.size() == 2 && !path[0].is_index && path[0].name.rfind("cpu", 0) == 0) {
        need_name(path[1]);
        std::size_t cpu = 0;
        const std::string digits = path[0].name.substr(3);
        bool ok = !digits.empty() && digits.size() < 6 &&
                  digits.find_first_not_of("0123456789") == std::string::npos;
        if (ok) cpu = std::stoul(digits);
        if (!ok || cpu >= k.tlbs.size())
            throw InputError(path[0].loc, fmt::format("expected cpu0 to cpu{}, found '{}'", k.tlbs.size() - 1,
                                                      path[0].name));
        uint64_t v = cpu_field(k.tlbs[cpu].counters, path[1].name);
        if (v == UINT64_MAX)
            throw InputError(path[1].loc,
                             fmt::format("no TLB counter '{}'; expected one of {}", path[1].name, CPU_NAMES));
        return Value::of(static_cast<double>(v));
    }
    throw InputError(ref.loc,
                     "expected tlb.COUNTER, tlb.cpuN.COUNTER or tlb[PID].COUNTER, e.g. tlb[$p].misses");
}

}  // namespace

void register_tlb_commands(CommandRegistry& r) {
    CommandSpec s;
    s.name = "tlbstat";
    s.usage = "tlbstat [PID...]";
    s.summary = "Prints the TLB counters per CPU and per process (lookups, hits, walks, flushes, IPIs).";
    s.examples = {"tlbstat", "tlbstat $p"};
    s.max_args = -1;
    s.run = run_tlbstat;
    r.add(std::move(s));
    r.add_source(
        ValueSource{"tlb",
                    "TLB counters: tlb.misses (all CPUs), tlb.cpu0.l1_hits, tlb[$p].misses (one process)",
                    {"tlb.misses", "tlb[$p].l1_hits"},
                    true,
                    tlb_value});
}

}  // namespace mmsim::scenario
