// Scenario commands for the procps and smem tools: pmap, ps, top, smem.
//
// Each runs the tool of src/tools on the simulated /proc (SimProcSource),
// so what a scenario prints is exactly what the real tool would print from
// a snapshot of the same moment. Arguments are the real tools' flags; they
// are checked at parse time when literal, and a bad one is an InputError
// at that word (exit status 2) saying what was expected. A tool's own
// complaints (a PID that does not exist) go to the output, as on a terminal.
#include <fmt/format.h>

#include "scenario/commands.h"
#include "scenario/interp.h"
#include "tools/proc_source.h"
#include "tools/tool.h"

namespace mmsim::scenario {

namespace {

std::vector<std::string> values(const Args& a) {
    std::vector<std::string> out;
    for (const Arg& w : a.positional) out.push_back(w.value);
    return out;
}

// A ToolArgError as an InputError at the word it names.
[[noreturn]] void rethrow_at(const tools::ToolArgError& e, const Args& a) {
    SourceLoc loc = e.index() < a.positional.size() ? a.positional[e.index()].loc : a.loc;
    throw InputError(loc, e.what());
}

}  // namespace

void register_tool_commands(CommandRegistry& r) {
    struct Info {
        const char* name;
        const char* summary;
        std::vector<std::string> examples;
    };
    const std::vector<Info> infos = {
        {"free",
         "Prints memory use as procps free does: used = MemTotal - MemAvailable, buff/cache = Buffers + "
         "Cached + SReclaimable.",
         {"free", "free -m -w", "free -h -t", "free $p $a", "free $p small keep=16"}},
        {"slabtop",
         "Prints one frame of procps slabtop: slab totals and one line per cache, by objects or -s KEY.",
         {"slabtop -o", "slabtop -o -s c"}},
        {"pmap",
         "Prints a process's memory map as procps pmap does (-x RSS/Dirty, -X smaps fields, -d devices).",
         {"pmap -x $!", "pmap -X 100"}},
        {"ps",
         "Lists processes as procps ps does (-e all, -p PIDs, -o columns such as pid,vsz,rss,comm).",
         {"ps -e", "ps -o pid,ppid,vsz,rss,%mem,stat,comm -p $!"}},
        {"top",
         "Prints one batch frame of procps top: uptime, tasks, CPU, memory in MiB, the task table.",
         {"top -b -n 1", "top -b -n 1 -p $!"}},
        {"smem",
         "Reports USS/PSS/RSS per process (-u per user, -m per mapping, -w system-wide) as smem 1.5.",
         {"smem -t", "smem -m -k", "smem -w"}},
    };
    for (const Info& info : infos) {
        CommandSpec s;
        s.name = info.name;
        s.usage = tools::tool_usage(info.name);
        s.summary = info.summary;
        s.examples = info.examples;
        s.lenient_flags = true;  // the tool parses its own flags
        s.max_args = -1;
        std::string name = info.name;
        // `free PID ADDR` is the C library's free(3) (libc_commands.cpp).
        bool libc_free = name == "free";
        auto is_call = [libc_free](const Args& a) {
            return libc_free && !a.positional.empty() && !a.positional[0].value.starts_with("-");
        };
        if (libc_free) {
            s.usage += " | free PID ADDR|GROUP [keep=N]";
            s.summary +=
                " With a PID first, the process calls free(3) on ADDR or on a group from malloc count=N.";
            s.options = {{"keep", ArgKind::Int, "free(3) of a group: keep every Nth block"}};
            s.defines = defines_free_call;
        }
        s.check = [name, is_call](const Args& a, const Command&) {
            if (is_call(a)) {
                if (a.positional.size() != 2)
                    throw InputError(
                        a.positional.size() > 2 ? a.positional[2].loc : a.loc,
                        "free of a block takes a PID and an address or group (free PID ADDR|GROUP "
                        "[keep=N])");
                return;
            }
            if (const Arg* k = a.option("keep"))
                throw InputError(k->loc, "keep= belongs to free PID GROUP (the C library call), not free(1)");
            try {
                tools::check_tool_args(name, values(a));
            } catch (const tools::ToolArgError& e) {
                rethrow_at(e, a);
            }
        };
        s.run = [name, is_call](Interp& in, Invocation& inv) {
            if (is_call(inv.args)) return run_free_call(in, inv);
            tools::SimProcSource src(in.kernel(inv.cmd.loc));
            tools::ToolOutput res;
            try {
                res = tools::run_tool(name, src, values(inv.args));
            } catch (const tools::ToolArgError& e) {
                rethrow_at(e, inv.args);
            }
            inv.out += res.out;
            inv.out += res.err;
        };
        r.add(std::move(s));
    }
}

}  // namespace mmsim::scenario
