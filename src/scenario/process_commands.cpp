// Scenario commands for processes and their memory: spawn, fork, thread,
// exit_process, kill, wait, the memory system calls made on a process's
// behalf (mmap, munmap, mprotect, mremap, madvise, mlock, mlockall,
// munlock, munlockall, mincore, brk), touch (memory accesses through the
// TLB, page walk and faults), and file (a file in the simulated page
// cache). The `proc` value source reads /proc/PID files:
// proc[$p].status.VmRSS. docs/processes.md is the reference.
//
// A system call the kernel refuses prints "mmap: Cannot allocate memory
// (ENOMEM)" and sets $errno, and the scenario goes on; a successful one
// sets $errno to "". Calls that return an address (mmap, mremap, brk) put
// it in $addr; mincore puts the number of resident pages in $resident.
// Bad arguments (an unknown flag or advice name) are input errors. An access
// that faults fatally kills the process as the kernel would (SIGSEGV,
// SIGBUS), says so and sets $signal.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "base/text.h"
#include "fs/buffer.h"
#include "fs/dcache.h"
#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "proc/procfs.h"
#include "scenario/commands.h"
#include "scenario/interp.h"
#include "scenario/process_args.h"

namespace mmsim::scenario {

namespace {

unsigned parse_prot(const Arg& a) {
    std::string v = a.value;
    if (v == "none" || v == "---" || v == "PROT_NONE") return PROT_NONE;
    unsigned p = 0;
    for (const auto& part : split(v, '|')) {
        if (part == "PROT_READ")
            p |= PROT_READ;
        else if (part == "PROT_WRITE")
            p |= PROT_WRITE;
        else if (part == "PROT_EXEC")
            p |= PROT_EXEC;
        else {
            for (char c : part) {
                if (c == 'r')
                    p |= PROT_READ;
                else if (c == 'w')
                    p |= PROT_WRITE;
                else if (c == 'x')
                    p |= PROT_EXEC;
                else if (c != '-')
                    throw InputError(a.loc,
                                     fmt::format("expected rights like r, rw, rwx or none, got '{}'", v));
            }
        }
    }
    return p;
}

unsigned parse_map_flags(const Arg& a) {
    static const std::vector<std::pair<std::string, unsigned>> names = {
        {"private", MAP_PRIVATE},     {"shared", MAP_SHARED},       {"anonymous", MAP_ANONYMOUS},
        {"anon", MAP_ANONYMOUS},      {"fixed", MAP_FIXED},         {"fixed_noreplace", MAP_FIXED_NOREPLACE},
        {"populate", MAP_POPULATE},   {"noreserve", MAP_NORESERVE}, {"locked", MAP_LOCKED},
        {"growsdown", MAP_GROWSDOWN}, {"stack", MAP_STACK},         {"nonblock", MAP_NONBLOCK},
    };
    unsigned f = 0;
    for (auto part : split(a.value, ',')) {
        std::string low = part;
        for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (low.rfind("map_", 0) == 0) low = low.substr(4);
        bool found = false;
        for (const auto& [n, bit] : names)
            if (n == low) {
                f |= bit;
                found = true;
            }
        if (!found) {
            std::vector<std::string> cands;
            for (const auto& [n, bit] : names) cands.push_back(n);
            std::string hint = did_you_mean(low, cands);
            throw InputError(a.loc,
                             fmt::format("unknown mmap flag '{}'{} (expected a comma-separated list of: "
                                         "private, shared, anonymous, fixed, fixed_noreplace, populate, "
                                         "noreserve, locked, growsdown, stack)",
                                         part, hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
        }
    }
    return f;
}

}  // namespace

Task& live_task(Interp& in, const Arg& a) {
    Kernel& k = in.kernel(a.loc);
    int64_t pid = arg_int(a, "a pid", 1, 1ll << 30);
    Task* t = k.tasks->find(static_cast<int>(pid));
    if (!t) throw InputError(a.loc, fmt::format("no process {}", pid));
    if (!t->mm) throw InputError(a.loc, fmt::format("process {} has exited", pid));
    k.current_pid = t->tgid;
    k.current_comm = t->comm;
    k.current_cpu = t->cpu;
    return *t;
}

uint64_t arg_addr(const Arg& a, std::string_view what) {
    return static_cast<uint64_t>(arg_int(a, what, 0, (1ll << 62)));
}

void report(Interp& in, Invocation& inv, const char* call, Errno e) {
    inv.out += fmt::format("{}: {} ({})\n", call, errno_text(e), errno_name(e));
    in.set_var("errno", errno_name(e));
}

void ok(Interp& in) { in.set_var("errno", ""); }

std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }

// What a fatal access does to the process.
bool deliver(Interp& in, Invocation& inv, Task& t, VmFault f, uint64_t addr, bool write) {
    Kernel& k = in.kernel(inv.cmd.loc);
    int sig = 0;
    std::string code;
    switch (f) {
        case VmFault::Minor:
        case VmFault::Major:
            return true;
        case VmFault::SegvMaperr:
            sig = Sig::SEGV;
            code = "SEGV_MAPERR";
            break;
        case VmFault::SegvAccerr:
            sig = Sig::SEGV;
            code = "SEGV_ACCERR";
            break;
        case VmFault::Sigbus:
            sig = Sig::BUS;
            code = "BUS_ADRERR";
            break;
        case VmFault::Oom:
            sig = Sig::KILL;
            code = "out of memory";
            break;
    }
    int pid = t.tgid;
    std::string comm = t.comm;
    force_fatal_signal(k, t, sig, addr, write ? FAULT_FLAG_WRITE : 0u, code);
    inv.out += fmt::format("{}[{}]: killed by {} ({}) at {}\n", comm, pid, signal_name(sig), code, hex(addr));
    in.set_var("signal", signal_name(sig));
    return false;
}

void set_as(Interp& in, const Args& a, const std::string& value, const char* fallback) {
    if (const Arg* as = a.option("as")) in.set_var(as->value, value);
    in.set_var(fallback, value);
}

// The variables a command that makes a process or thread sets: $last_pid,
// $errno and its as=VAR.
void defines_pid_vars(const Command& c, std::vector<std::string>& v) {
    v.push_back("last_pid");
    v.push_back("errno");
    for (const auto& w : c.args)
        if (w.raw.rfind("as=", 0) == 0) v.push_back(w.raw.substr(3));
}

// The variable every system-call command sets.
void defines_errno(const Command&, std::vector<std::string>& v) { v.push_back("errno"); }

namespace {

void register_lifecycle(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "spawn";
        s.usage = "spawn IMAGE [ARG...] [as=VAR]";
        s.summary =
            "Starts a process running a built-in program image (hello, sh, dash, bash, jvm); "
            "its pid goes into $VAR and $last_pid.";
        s.examples = {"spawn hello as=p", "spawn bash -i as=sh1"};
        s.options = {{"as", ArgKind::Name, "variable to hold the pid"}};
        s.min_args = 1;
        s.max_args = -1;
        s.lenient_flags = true;
        s.defines = defines_pid_vars;
        s.check = [](const Args& a, const Command&) {
            if (!image_exists(a.positional[0].value)) {
                std::string names;
                for (const auto& n : image_names()) names += (names.empty() ? "" : ", ") + n;
                throw InputError(a.positional[0].loc,
                                 fmt::format("unknown program image '{}' (expected one of: {})",
                                             a.positional[0].value, names));
            }
        };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            const auto& p = inv.args.positional;
            if (!image_exists(p[0].value))
                throw InputError(p[0].loc, fmt::format("unknown program image '{}'", p[0].value));
            std::vector<std::string> argv;
            for (const auto& a : p) argv.push_back(a.value);
            auto t = spawn_process(k, p[0].value, argv, 0);
            if (!t) return report(in, inv, "spawn", t.err());
            ok(in);
            set_as(in, inv.args, std::to_string((*t)->pid), "last_pid");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "fork";
        s.usage = "fork PID [as=VAR]";
        s.summary = "The process forks: the child shares every page copy-on-write. Its pid goes into $VAR.";
        s.examples = {"fork $p as=child"};
        s.options = {{"as", ArgKind::Name, "variable to hold the child's pid"}};
        s.min_args = s.max_args = 1;
        s.defines = defines_pid_vars;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            auto c = do_fork(in.kernel(inv.cmd.loc), t);
            if (!c) return report(in, inv, "fork", c.err());
            ok(in);
            set_as(in, inv.args, std::to_string((*c)->pid), "last_pid");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "thread";
        s.usage = "thread PID [stack=SIZE] [as=VAR]";
        s.summary = "Creates a thread in the process, with its own mmap'd stack (default 8M) and guard page.";
        s.examples = {"thread $p as=t1", "thread $p stack=1M"};
        s.options = {{"stack", ArgKind::Size, "stack size (default RLIMIT_STACK, 8M)"},
                     {"as", ArgKind::Name, "variable to hold the thread id"}};
        s.min_args = s.max_args = 1;
        s.defines = defines_pid_vars;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            uint64_t size =
                inv.args.option("stack") ? arg_size(*inv.args.option("stack"), "stack=") : t.mm->limits.stack;
            auto th = create_thread(in.kernel(inv.cmd.loc), t, size);
            if (!th) return report(in, inv, "pthread_create", th.err());
            ok(in);
            set_as(in, inv.args, std::to_string((*th)->pid), "last_pid");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "exit_process";
        s.usage = "exit_process PID [code=N]";
        s.summary = "The process exits: its memory is freed; it stays a zombie until its parent waits.";
        s.examples = {"exit_process $child", "exit_process $p code=3"};
        s.options = {{"code", ArgKind::Int, "exit status 0..255"}};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            int code = inv.args.option("code")
                           ? static_cast<int>(arg_int(*inv.args.option("code"), "code=", 0, 255))
                           : 0;
            do_exit(in.kernel(inv.cmd.loc), t, code << 8);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kill";
        s.usage = "kill [-SIGNAL] PID";
        s.summary = "Sends a signal (default SIGTERM) to a process.";
        s.examples = {"kill $p", "kill -KILL $p", "kill -9 $p"};
        s.min_args = 1;
        s.max_args = 2;
        s.lenient_flags = true;
        s.defines = defines_errno;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            const auto& p = inv.args.positional;
            int sig = Sig::TERM;
            std::size_t pi = 0;
            if (p.size() == 2) {
                if (p[0].value.empty() || p[0].value[0] != '-')
                    throw InputError(p[0].loc, "expected -SIGNAL before the pid (kill -KILL PID)");
                sig = signal_from_name(p[0].value.substr(1));
                if (!sig)
                    throw InputError(p[0].loc, fmt::format("unknown signal '{}'", p[0].value.substr(1)));
                pi = 1;
            }
            int pid = static_cast<int>(arg_int(p[pi], "a pid", 1, 1ll << 30));
            auto r2 = do_kill(k, pid, sig);
            if (!r2) return report(in, inv, "kill", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "wait";
        s.usage = "wait PARENT [CHILD]";
        s.summary =
            "The parent reaps an exited child (any child without CHILD), adding its fault counts "
            "to cminflt/cmajflt.";
        s.examples = {"wait $p $child"};
        s.min_args = 1;
        s.max_args = 2;
        s.defines = defines_errno;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            int pid = inv.args.positional.size() > 1
                          ? static_cast<int>(arg_int(inv.args.positional[1], "a pid", 1, 1ll << 30))
                          : -1;
            auto r2 = do_wait(in.kernel(inv.cmd.loc), t, pid);
            if (!r2) return report(in, inv, "wait", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
}

void register_syscalls(CommandRegistry& r) {
    auto defines_as = [](const Command& c, std::vector<std::string>& v) {
        v.push_back("errno");
        v.push_back("addr");
        for (const auto& w : c.args)
            if (w.raw.rfind("as=", 0) == 0) v.push_back(w.raw.substr(3));
    };
    {
        CommandSpec s;
        s.name = "mmap";
        s.usage =
            "mmap PID SIZE [prot=rw] [flags=private,anonymous] [addr=A] [file=PATH] [offset=N] [as=VAR]";
        s.summary = "mmap(2) on the process's behalf; the address goes into $VAR and $addr.";
        s.examples = {"mmap $p 16M as=buf", "mmap $p 4M prot=r flags=private file=/data/f as=m",
                      "mmap $p 1M flags=shared,anonymous", "mmap $p 8M flags=private,anonymous,populate"};
        s.options = {{"prot", ArgKind::Text, "r, rw, rwx, none (default rw)"},
                     {"flags", ArgKind::Text, "private, shared, anonymous, fixed, populate, ..."},
                     {"addr", ArgKind::Int, "hint, or the address with fixed"},
                     {"file", ArgKind::Text, "a file created with `file`"},
                     {"offset", ArgKind::Size, "offset in the file"},
                     {"readonly", ArgKind::Text, "yes: the file was opened O_RDONLY"},
                     {"as", ArgKind::Name, "variable to hold the address"}};
        s.min_args = s.max_args = 2;
        s.defines = defines_as;
        s.check = [](const Args& a, const Command&) {
            if (a.option("prot")) parse_prot(*a.option("prot"));
            if (a.option("flags")) parse_map_flags(*a.option("flags"));
        };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            MmapArgs m;
            m.len = arg_size(inv.args.positional[1], "a size");
            m.prot = inv.args.option("prot") ? parse_prot(*inv.args.option("prot")) : PROT_READ | PROT_WRITE;
            const Arg* file = inv.args.option("file");
            m.flags = inv.args.option("flags") ? parse_map_flags(*inv.args.option("flags"))
                                               : (file ? MAP_PRIVATE : MAP_PRIVATE | MAP_ANONYMOUS);
            if (inv.args.option("addr")) m.addr = arg_addr(*inv.args.option("addr"), "addr=");
            if (inv.args.option("offset")) m.offset = arg_size(*inv.args.option("offset"), "offset=");
            if (file) {
                m.file = k.files->find(file->value);
                if (!m.file)
                    throw InputError(file->loc,
                                     fmt::format("no file '{}' (create it with `file`)", file->value));
                m.flags &= ~static_cast<unsigned>(MAP_ANONYMOUS);
            }
            if (const Arg* ro = inv.args.option("readonly")) m.file_writable = ro->value != "yes";
            auto a = do_mmap(k, t, m);
            if (!a) return report(in, inv, "mmap", a.err());
            ok(in);
            set_as(in, inv.args, hex(*a), "addr");
        };
        r.add(std::move(s));
    }
    auto addr_len = [](CommandSpec& s) {
        s.min_args = 3;
        s.max_args = 4;
    };
    {
        CommandSpec s;
        s.name = "munmap";
        s.usage = "munmap PID ADDR SIZE";
        s.summary = "munmap(2): removes the mappings of the range; pages nobody else maps are freed.";
        s.examples = {"munmap $p $buf 16M"};
        addr_len(s);
        s.max_args = 3;
        s.defines = defines_errno;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            auto r2 = do_munmap(in.kernel(inv.cmd.loc), t, arg_addr(inv.args.positional[1], "an address"),
                                arg_size(inv.args.positional[2], "a size"));
            if (!r2) return report(in, inv, "munmap", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "mprotect";
        s.usage = "mprotect PID ADDR SIZE PROT";
        s.summary = "mprotect(2): new rights (r, rw, rwx, none) for the range.";
        s.examples = {"mprotect $p $buf 4M r"};
        s.min_args = s.max_args = 4;
        s.defines = defines_errno;
        s.check = [](const Args& a, const Command&) { parse_prot(a.positional[3]); };
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            auto r2 =
                do_mprotect(in.kernel(inv.cmd.loc), t, arg_addr(inv.args.positional[1], "an address"),
                            arg_size(inv.args.positional[2], "a size"), parse_prot(inv.args.positional[3]));
            if (!r2) return report(in, inv, "mprotect", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "brk";
        s.usage = "brk PID ADDR | brk PID +SIZE";
        s.summary = "brk(2): moves the program break (the end of [heap]); the new break goes into $addr.";
        s.examples = {"brk $p +132K"};
        s.min_args = s.max_args = 2;
        s.defines = defines_as;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            const Arg& a = inv.args.positional[1];
            uint64_t target;
            if (!a.value.empty() && (a.value[0] == '+' || a.value[0] == '-')) {
                Arg rest{a.value.substr(1), a.loc};
                uint64_t d = arg_size(rest, "a size");
                target = a.value[0] == '+' ? t.mm->brk + d : t.mm->brk - std::min(d, t.mm->brk);
            } else {
                target = arg_addr(a, "an address");
            }
            uint64_t got = do_brk(in.kernel(inv.cmd.loc), t, target);
            in.set_var("addr", hex(got));
            if (got != target)
                report(in, inv, "brk", Errno::NOMEM);
            else
                ok(in);
        };
        r.add(std::move(s));
    }
}

// ---- mremap, madvise, the mlock family and mincore -----------------------------

// A name from `names`, case-insensitive, with or without the C prefix
// ("maymove", "MREMAP_MAYMOVE"). Returns nullptr when unknown.
const std::pair<std::string, unsigned>* find_name(const std::vector<std::pair<std::string, unsigned>>& names,
                                                  std::string_view word, std::string_view prefix) {
    std::string low(word);
    for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!prefix.empty() && low.rfind(prefix, 0) == 0) low = low.substr(prefix.size());
    for (const auto& n : names)
        if (n.first == low) return &n;
    return nullptr;
}

std::string name_list(const std::vector<std::pair<std::string, unsigned>>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n.first;
    return s;
}

// A set of flag names separated by ',' or '|': maymove,fixed or
// MREMAP_MAYMOVE|MREMAP_FIXED.
unsigned parse_flag_set(const Arg& a, const std::vector<std::pair<std::string, unsigned>>& names,
                        std::string_view prefix, std::string_view what) {
    std::string v = a.value;
    std::replace(v.begin(), v.end(), '|', ',');
    unsigned f = 0;
    for (const auto& part : split(v, ',')) {
        if (const auto* n = find_name(names, part, prefix)) {
            f |= n->second;
            continue;
        }
        std::vector<std::string> cands;
        for (const auto& n : names) cands.push_back(n.first);
        std::string hint = did_you_mean(part, cands);
        throw InputError(
            a.loc, fmt::format("unknown {} '{}'{} (expected a comma-separated list of: {})", what, part,
                               hint.empty() ? "" : " (did you mean '" + hint + "'?)", name_list(names)));
    }
    return f;
}

const std::vector<std::pair<std::string, unsigned>>& mremap_flag_names() {
    static const std::vector<std::pair<std::string, unsigned>> names = {
        {"maymove", MREMAP_MAYMOVE}, {"fixed", MREMAP_FIXED}, {"dontunmap", MREMAP_DONTUNMAP}};
    return names;
}

const std::vector<std::pair<std::string, unsigned>>& mlockall_flag_names() {
    static const std::vector<std::pair<std::string, unsigned>> names = {
        {"current", MCL_CURRENT}, {"future", MCL_FUTURE}, {"onfault", MCL_ONFAULT}};
    return names;
}

// Every advice do_madvise() knows, by its name without MADV_.
const std::vector<std::pair<std::string, unsigned>>& advice_names() {
    static const std::vector<std::pair<std::string, unsigned>> names = {
        {"normal", MADV_NORMAL},
        {"random", MADV_RANDOM},
        {"sequential", MADV_SEQUENTIAL},
        {"willneed", MADV_WILLNEED},
        {"dontneed", MADV_DONTNEED},
        {"free", MADV_FREE},
        {"remove", MADV_REMOVE},
        {"dontfork", MADV_DONTFORK},
        {"dofork", MADV_DOFORK},
        {"mergeable", MADV_MERGEABLE},
        {"unmergeable", MADV_UNMERGEABLE},
        {"hugepage", MADV_HUGEPAGE},
        {"nohugepage", MADV_NOHUGEPAGE},
        {"dontdump", MADV_DONTDUMP},
        {"dodump", MADV_DODUMP},
        {"wipeonfork", MADV_WIPEONFORK},
        {"keeponfork", MADV_KEEPONFORK},
        {"cold", MADV_COLD},
        {"pageout", MADV_PAGEOUT},
        {"populate_read", MADV_POPULATE_READ},
        {"populate_write", MADV_POPULATE_WRITE},
        {"dontneed_locked", MADV_DONTNEED_LOCKED},
        {"collapse", MADV_COLLAPSE},
        {"guard_install", MADV_GUARD_INSTALL},
        {"guard_remove", MADV_GUARD_REMOVE},
    };
    return names;
}

// An advice name, or a plain number passed to the kernel as it is (so a
// scenario can ask what an advice the kernel does not know gives).
int parse_advice(const Arg& a) {
    if (const auto* n = find_name(advice_names(), a.value, "madv_")) return static_cast<int>(n->second);
    if (!a.value.empty() &&
        std::all_of(a.value.begin(), a.value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return static_cast<int>(arg_int(a, "an advice number", 0, INT32_MAX));
    std::vector<std::string> cands;
    for (const auto& n : advice_names()) cands.push_back(n.first);
    std::string hint = did_you_mean(a.value, cands);
    throw InputError(
        a.loc, fmt::format("unknown madvise advice '{}'{} (expected one of: {}; or a number)", a.value,
                           hint.empty() ? "" : " (did you mean '" + hint + "'?)", name_list(advice_names())));
}

// The optional keyword after ADDR SIZE (mlock's `onfault`, mincore's `show`).
bool keyword(const Args& a, std::size_t index, std::string_view word) {
    if (a.positional.size() <= index) return false;
    const Arg& w = a.positional[index];
    if (w.value != word) throw InputError(w.loc, fmt::format("expected '{}', got '{}'", word, w.value));
    return true;
}

// "0-11,14,20-23": the indexes of the resident pages, as runs.
std::string resident_runs(const std::vector<uint8_t>& vec) {
    std::string s;
    for (std::size_t i = 0; i < vec.size();) {
        if (!(vec[i] & 1)) {
            i++;
            continue;
        }
        std::size_t j = i;
        while (j + 1 < vec.size() && (vec[j + 1] & 1)) j++;
        s += (s.empty() ? "" : ",") + (i == j ? std::to_string(i) : fmt::format("{}-{}", i, j));
        i = j + 1;
    }
    return s;
}

void register_memory_calls(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "mremap";
        s.usage = "mremap PID ADDR OLD_SIZE NEW_SIZE [flags=maymove,fixed,dontunmap] [new_addr=A] [as=VAR]";
        s.summary =
            "mremap(2): resizes (in place, or moved with maymove) or moves (fixed, dontunmap) a mapping; "
            "the new address goes into $VAR and $addr.";
        s.examples = {"mremap $p $buf 1M 2M flags=maymove as=buf", "mremap $p $buf 64K 16K",
                      "mremap $p $a 4K 4K flags=maymove,fixed new_addr=$b"};
        s.options = {{"flags", ArgKind::Text, "maymove, fixed, dontunmap (comma-separated; default none)"},
                     {"new_addr", ArgKind::Int, "the target address with fixed"},
                     {"as", ArgKind::Name, "variable to hold the new address"}};
        s.min_args = s.max_args = 4;
        s.defines = [](const Command& c, std::vector<std::string>& v) {
            v.push_back("errno");
            v.push_back("addr");
            for (const auto& w : c.args)
                if (w.raw.rfind("as=", 0) == 0) v.push_back(w.raw.substr(3));
        };
        s.check = [](const Args& a, const Command&) {
            if (a.option("flags"))
                parse_flag_set(*a.option("flags"), mremap_flag_names(), "mremap_", "mremap flag");
        };
        s.run = [](Interp& in, Invocation& inv) {
            const auto& p = inv.args.positional;
            Task& t = live_task(in, p[0]);
            uint64_t addr = arg_addr(p[1], "an address");
            uint64_t old_len = arg_size(p[2], "a size");
            uint64_t new_len = arg_size(p[3], "a size");
            unsigned flags =
                inv.args.option("flags")
                    ? parse_flag_set(*inv.args.option("flags"), mremap_flag_names(), "mremap_", "mremap flag")
                    : 0u;
            uint64_t new_addr =
                inv.args.option("new_addr") ? arg_addr(*inv.args.option("new_addr"), "new_addr=") : 0;
            auto got = do_mremap(in.kernel(inv.cmd.loc), t, addr, old_len, new_len, flags, new_addr);
            if (!got) return report(in, inv, "mremap", got.err());
            ok(in);
            set_as(in, inv.args, hex(*got), "addr");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "madvise";
        s.usage = "madvise PID ADDR SIZE ADVICE";
        s.summary =
            "madvise(2) with an advice by name (dontneed, free, willneed, hugepage, populate_write, ...) "
            "or number.";
        s.examples = {"madvise $p $buf 16M dontneed", "madvise $p $buf 2M hugepage",
                      "madvise $p $buf 4M free"};
        s.min_args = s.max_args = 4;
        s.defines = defines_errno;
        s.check = [](const Args& a, const Command&) { parse_advice(a.positional[3]); };
        s.run = [](Interp& in, Invocation& inv) {
            const auto& p = inv.args.positional;
            Task& t = live_task(in, p[0]);
            uint64_t addr = arg_addr(p[1], "an address");
            uint64_t len = arg_size(p[2], "a size");
            int advice = parse_advice(p[3]);
            auto r2 = do_madvise(in.kernel(inv.cmd.loc), t, addr, len, advice);
            if (!r2) return report(in, inv, "madvise", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "mlock";
        s.usage = "mlock PID ADDR SIZE [onfault]";
        s.summary =
            "mlock(2): locks the range and faults it in; with onfault, mlock2(MLOCK_ONFAULT): pages are "
            "locked as they are first touched.";
        s.examples = {"mlock $p $buf 4M", "mlock $p $buf 4M onfault"};
        s.min_args = 3;
        s.max_args = 4;
        s.defines = defines_errno;
        s.check = [](const Args& a, const Command&) { keyword(a, 3, "onfault"); };
        s.run = [](Interp& in, Invocation& inv) {
            const auto& p = inv.args.positional;
            Task& t = live_task(in, p[0]);
            uint64_t addr = arg_addr(p[1], "an address");
            uint64_t len = arg_size(p[2], "a size");
            bool onfault = keyword(inv.args, 3, "onfault");
            auto r2 = do_mlock(in.kernel(inv.cmd.loc), t, addr, len, onfault ? MLOCK_ONFAULT : 0u);
            if (!r2) return report(in, inv, onfault ? "mlock2" : "mlock", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "munlock";
        s.usage = "munlock PID ADDR SIZE";
        s.summary =
            "munlock(2): unlocks the range; its pages become evictable unless another locked area maps them.";
        s.examples = {"munlock $p $buf 4M"};
        s.min_args = s.max_args = 3;
        s.defines = defines_errno;
        s.run = [](Interp& in, Invocation& inv) {
            const auto& p = inv.args.positional;
            Task& t = live_task(in, p[0]);
            auto r2 =
                do_munlock(in.kernel(inv.cmd.loc), t, arg_addr(p[1], "an address"), arg_size(p[2], "a size"));
            if (!r2) return report(in, inv, "munlock", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "mlockall";
        s.usage = "mlockall PID current|future|onfault[,...]";
        s.summary =
            "mlockall(2): current locks every area now, future every later one (mmap, brk, stack "
            "growth), onfault locks them as pages are touched.";
        s.examples = {"mlockall $p current", "mlockall $p current,future", "mlockall $p future,onfault"};
        s.min_args = s.max_args = 2;
        s.defines = defines_errno;
        s.check = [](const Args& a, const Command&) {
            parse_flag_set(a.positional[1], mlockall_flag_names(), "mcl_", "mlockall flag");
        };
        s.run = [](Interp& in, Invocation& inv) {
            const auto& p = inv.args.positional;
            Task& t = live_task(in, p[0]);
            unsigned flags = parse_flag_set(p[1], mlockall_flag_names(), "mcl_", "mlockall flag");
            auto r2 = do_mlockall(in.kernel(inv.cmd.loc), t, flags);
            if (!r2) return report(in, inv, "mlockall", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "munlockall";
        s.usage = "munlockall PID";
        s.summary = "munlockall(2): unlocks every area and cancels mlockall(future).";
        s.examples = {"munlockall $p"};
        s.min_args = s.max_args = 1;
        s.defines = defines_errno;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            auto r2 = do_munlockall(in.kernel(inv.cmd.loc), t);
            if (!r2) return report(in, inv, "munlockall", r2.err());
            ok(in);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "mincore";
        s.usage = "mincore PID ADDR SIZE [show] [as=VAR]";
        s.summary =
            "mincore(2): counts the resident pages of the range into $resident and $VAR; `show` also "
            "prints which ones.";
        s.examples = {"mincore $p $buf 16M as=n", "mincore $p $m 4M show"};
        s.options = {{"as", ArgKind::Name, "variable to hold the number of resident pages"}};
        s.min_args = 3;
        s.max_args = 4;
        s.defines = [](const Command& c, std::vector<std::string>& v) {
            v.push_back("errno");
            v.push_back("resident");
            for (const auto& w : c.args)
                if (w.raw.rfind("as=", 0) == 0) v.push_back(w.raw.substr(3));
        };
        s.check = [](const Args& a, const Command&) { keyword(a, 3, "show"); };
        s.run = [](Interp& in, Invocation& inv) {
            const auto& p = inv.args.positional;
            Task& t = live_task(in, p[0]);
            uint64_t addr = arg_addr(p[1], "an address");
            uint64_t len = arg_size(p[2], "a size");
            bool show = keyword(inv.args, 3, "show");
            auto vec = do_mincore(in.kernel(inv.cmd.loc), t, addr, len);
            if (!vec) return report(in, inv, "mincore", vec.err());
            ok(in);
            // Only bit 0 of each byte is defined (mincore(2)).
            uint64_t resident = static_cast<uint64_t>(
                std::count_if(vec->begin(), vec->end(), [](uint8_t b) { return (b & 1) != 0; }));
            set_as(in, inv.args, std::to_string(resident), "resident");
            if (show) {
                inv.out += fmt::format("mincore: {} of {} pages resident", resident, vec->size());
                inv.out += resident ? ": " + resident_runs(*vec) + "\n" : "\n";
            }
        };
        r.add(std::move(s));
    }
}

// Access patterns of `touch`.
struct ZipfSampler {
    std::vector<double> cdf;
    ZipfSampler(uint64_t n, double s) : cdf(n) {
        double sum = 0;
        for (uint64_t i = 0; i < n; i++) {
            sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
            cdf[i] = sum;
        }
        for (auto& c : cdf) c /= sum;
    }
    uint64_t draw(std::mt19937_64& rng) const {
        double u = std::uniform_real_distribution<double>(0, 1)(rng);
        return static_cast<uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    }
};

void register_touch(CommandRegistry& r) {
    CommandSpec s;
    s.name = "touch";
    s.usage =
        "touch PID ADDR SIZE [read|write|exec] [pattern=seq|random|zipf] [stride=SIZE] [fraction=F] "
        "[count=N]";
    s.summary =
        "The process accesses memory: one access per page (or per stride) of the range, through "
        "the TLB, the page walk and page faults. random and zipf draw COUNT pages.";
    s.examples = {"touch $p $buf 16M write", "touch $p $buf 16M read fraction=0.5",
                  "touch $p $buf 64M read pattern=zipf count=100000"};
    s.options = {{"pattern", ArgKind::Text, "seq (default), random, zipf"},
                 {"stride", ArgKind::Size, "bytes between accesses (default 4K)"},
                 {"fraction", ArgKind::Text, "touch only this fraction of the pages (seq: the first ones)"},
                 {"count", ArgKind::Int, "number of accesses (random, zipf)"},
                 {"zipf", ArgKind::Text, "the zipf exponent (default 1.0)"}};
    s.min_args = 3;
    s.max_args = 4;
    s.defines = [](const Command&, std::vector<std::string>& v) { v.push_back("signal"); };
    s.run = [](Interp& in, Invocation& inv) {
        Kernel& k = in.kernel(inv.cmd.loc);
        Task& t = live_task(in, inv.args.positional[0]);
        uint64_t addr = arg_addr(inv.args.positional[1], "an address");
        uint64_t size = arg_size(inv.args.positional[2], "a size");
        Access how = Access::Read;
        if (inv.args.positional.size() > 3) {
            const Arg& m = inv.args.positional[3];
            if (m.value == "write")
                how = Access::Write;
            else if (m.value == "exec")
                how = Access::Exec;
            else if (m.value != "read")
                throw InputError(m.loc, fmt::format("expected read, write or exec, got '{}'", m.value));
        }
        uint64_t stride =
            inv.args.option("stride") ? arg_size(*inv.args.option("stride"), "stride=") : PAGE_SIZE;
        if (stride == 0) throw InputError(inv.args.option("stride")->loc, "stride= must be positive");
        // Page by page (no stride=), the range is every page it overlaps, as
        // memset would write them: an unaligned start adds the page its end
        // spills into.
        bool by_page = !inv.args.option("stride");
        uint64_t first = by_page ? addr & ~(PAGE_SIZE - 1) : addr;
        uint64_t n =
            by_page ? (addr + size - first + PAGE_SIZE - 1) / PAGE_SIZE : (size + stride - 1) / stride;
        if (const Arg* f = inv.args.option("fraction")) {
            double fr = 0;
            if (!to_number(f->value, fr) || fr < 0 || fr > 1)
                throw InputError(f->loc,
                                 fmt::format("fraction= expects a number from 0 to 1, got '{}'", f->value));
            n = static_cast<uint64_t>(std::floor(static_cast<double>(n) * fr));
        }
        std::string pattern = inv.args.option("pattern") ? inv.args.option("pattern")->value : "seq";
        if (pattern != "seq" && pattern != "random" && pattern != "zipf")
            throw InputError(inv.args.option("pattern")->loc,
                             fmt::format("expected pattern=seq, random or zipf, got '{}'", pattern));
        uint64_t count =
            inv.args.option("count")
                ? static_cast<uint64_t>(arg_int(*inv.args.option("count"), "count=", 0, 1ll << 40))
                : n;
        bool write = how == Access::Write;
        std::mt19937_64 rng(0x6d6d73696dull ^ (static_cast<uint64_t>(t.pid) << 32) ^ addr);
        uint64_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
        if (pattern == "seq") {
            for (uint64_t i = 0; i < std::min(n, count); i++) {
                uint64_t a = std::max(addr, first + i * stride);
                VmFault f = access_memory(k, t, a, how);
                if (!deliver(in, inv, t, f, a, write)) return;
            }
        } else if (pages) {
            std::unique_ptr<ZipfSampler> z;
            if (pattern == "zipf") {
                double sexp = 1.0;
                if (const Arg* za = inv.args.option("zipf"))
                    if (!to_number(za->value, sexp)) throw InputError(za->loc, "zipf= expects a number");
                z = std::make_unique<ZipfSampler>(pages, sexp);
            }
            for (uint64_t i = 0; i < count; i++) {
                uint64_t pg = z ? z->draw(rng) : std::uniform_int_distribution<uint64_t>(0, pages - 1)(rng);
                uint64_t a = addr + pg * PAGE_SIZE;
                VmFault f = access_memory(k, t, a, how);
                if (!deliver(in, inv, t, f, a, write)) return;
            }
        }
    };
    r.add(std::move(s));
}

void register_file(CommandRegistry& r) {
    CommandSpec s;
    s.name = "file";
    s.usage = "file PATH SIZE [cached]";
    s.summary =
        "Creates a file of SIZE bytes; with `cached` its pages start in the page cache (as after "
        "writing it), else the first access reads them in (major faults).";
    s.examples = {"file /data/f 4M cached", "file /data/big 512M"};
    s.min_args = 2;
    s.max_args = 3;
    s.run = [](Interp& in, Invocation& inv) {
        Kernel& k = in.kernel(inv.cmd.loc);
        const auto& p = inv.args.positional;
        if (p[0].value.empty() || p[0].value[0] != '/')
            throw InputError(p[0].loc, fmt::format("expected an absolute path, got '{}'", p[0].value));
        uint64_t size = arg_size(p[1], "a size");
        bool cached = false;
        if (p.size() > 2) {
            if (p[2].value != "cached")
                throw InputError(p[2].loc, fmt::format("expected 'cached', got '{}'", p[2].value));
            cached = true;
        }
        Inode& ino = k.files->create(p[0].value, size);
        path_lookup(k, p[0].value);        // open(O_CREAT): its dentry and inode
        FileRef open = open_file(k, ino);  // closed when the command ends
        if (cached) {
            // write(2): each page is written through ext4's write_begin,
            // which gives it its buffer_heads.
            uint64_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
            for (uint64_t i = 0; i < pages; i++) {
                auto got = filemap_get_or_read(k, ino, i, nullptr);
                if (!got) return report(in, inv, "write", got.err());
                create_empty_buffers(k, ino, i);
            }
        }
    };
    r.add(std::move(s));
}

// proc[PID].status.VmRSS, proc[PID].smaps_rollup.Pss, proc[PID].stat.minflt
Value proc_value(Interp& in, const std::vector<RefStep>& full, const Expr& ref) {
    // The path starts with the source's own name.
    std::vector<RefStep> path(full.begin() + (!full.empty() && !full[0].is_index && full[0].name == "proc"),
                              full.end());
    if (path.size() != 3 || !path[0].is_index || path[1].is_index || path[2].is_index)
        throw InputError(ref.loc, "expected proc[PID].FILE.FIELD, e.g. proc[$p].status.VmRSS");
    Kernel& k = in.kernel(ref.loc);
    int pid = static_cast<int>(path[0].index);
    const std::string& file = path[1].name;
    const std::string& key = path[2].name;
    auto text = proc_read(k, fmt::format("/proc/{}/{}", pid, file == "stat" ? "stat" : file));
    if (!text) throw InputError(path[0].loc, fmt::format("no /proc/{}/{}", pid, file));
    if (file == "maps") {
        // The number of areas, as `wc -l /proc/PID/maps` counts them.
        if (key != "count")
            throw InputError(path[2].loc, "/proc/PID/maps has one value: proc[PID].maps.count");
        return Value::of(static_cast<double>(std::count(text->begin(), text->end(), '\n')));
    }
    if (file == "stat") {
        static const std::vector<std::string> fields = {
            "pid",    "comm",     "state",   "ppid",        "pgrp",        "session",   "tty_nr", "tpgid",
            "flags",  "minflt",   "cminflt", "majflt",      "cmajflt",     "utime",     "stime",  "cutime",
            "cstime", "priority", "nice",    "num_threads", "itrealvalue", "starttime", "vsize",  "rss"};
        std::string s = *text;
        std::size_t close = s.rfind(')');
        auto rest = split_ws(s.substr(close + 2));
        for (std::size_t i = 2; i < fields.size(); i++)
            if (fields[i] == key) {
                double v = 0;
                if (i - 2 < rest.size() && to_number(rest[i - 2], v)) return Value::of(v);
            }
        throw InputError(path[2].loc, fmt::format("no numeric field '{}' in /proc/PID/stat", key));
    }
    for (const auto& line : split_lines(*text)) {
        std::size_t c = line.find(':');
        if (c == std::string::npos || trim(line.substr(0, c)) != key) continue;
        auto t = split_ws(line.substr(c + 1));
        double v;
        if (t.empty() || !to_number(t[0], v)) break;
        if (t.size() > 1 && t[1] == "kB") v *= 1024;
        return Value::of(v);
    }
    throw InputError(path[2].loc, fmt::format("no field '{}' in /proc/{}/{}", key, pid, file));
}

}  // namespace

void register_process_commands(CommandRegistry& r) {
    register_lifecycle(r);
    register_syscalls(r);
    register_memory_calls(r);
    register_touch(r);
    register_file(r);
    r.add_source(
        ValueSource{"proc",
                    "/proc/PID files: proc[$p].status.VmRSS (kB fields in bytes), "
                    "proc[$p].smaps_rollup.Pss, proc[$p].stat.minflt, proc[$p].maps.count (its lines)",
                    {"proc[$p].status.VmRSS", "proc[$p].stat.minflt", "proc[$p].maps.count"},
                    true,
                    proc_value});
}

}  // namespace mmsim::scenario
