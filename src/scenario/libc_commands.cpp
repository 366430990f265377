// The C library in a scenario: a process calls malloc and its family, and
// the model of glibc's allocator (src/libc) does what glibc would: grow the
// heap with brk, map large blocks, keep freed chunks in its bins, trim.
// docs/malloc.md is the reference.
//
//   malloc PID SIZE [count=N] [at=STACK] [fill] [as=VAR]
//   calloc PID NMEMB SIZE [at=STACK] [as=VAR]
//   realloc PID ADDR SIZE [at=STACK] [as=VAR]
//   memalign|aligned_alloc|posix_memalign PID ALIGN SIZE [at=STACK] [fill] [as=VAR]
//   free PID ADDR|GROUP [keep=N]       (free(1) when the first word is a flag)
//   mallopt PID PARAM VALUE
//   malloc_trim PID [PAD]
//   malloc_stats PID
//   thread_exit TID
//
// PID may be a thread's id: the call runs on that thread, with its tcache
// and arena. at= names the call stack of the allocation, outermost frame
// first (main,load_config,xstrdup), for memleak. fill writes every byte
// of the block, as memset would. With count=N the N addresses form a group
// named by as=, which free takes whole (keep=N keeps every Nth block).
//
// A refused allocation prints "malloc: Cannot allocate memory (ENOMEM)"
// and sets $errno; the scenario goes on. What glibc aborts on (a double
// free, a pointer it never returned) prints glibc's message and kills the
// process with SIGABRT; a fault while malloc reads its own bookkeeping (the
// program unmapped its heap) kills it with SIGSEGV. Bad arguments are
// input errors.
//
// The `malloc` value source answers what the program could ask glibc:
// malloc[$p].heap is sbrk(0) minus the heap's start, malloc[$p].arena,
// .uordblks, .hblkhd ... are mallinfo2()'s fields, .mmap_threshold and
// .trim_threshold the current (possibly raised) thresholds.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "libc/nptl_stack.h"
#include "mm/mm.h"
#include "scenario/commands.h"
#include "scenario/interp.h"
#include "scenario/process_args.h"

namespace mmsim::scenario {

namespace {

// Runs one library call; false when the process died in it.
template <class F>
bool libc_call(Interp& in, Invocation& inv, Task& t, F&& call) {
    Kernel& k = in.kernel(inv.cmd.loc);
    try {
        call();
        return true;
    } catch (const libc::MallocAbort& a) {
        // malloc_printerr(): the message on stderr, then abort().
        int pid = t.tgid;
        std::string comm = t.comm;
        inv.out += a.message + "\n";
        force_fatal_signal(k, t, Sig::ABRT, 0, 0, a.message);
        inv.out += fmt::format("{}[{}]: killed by SIGABRT (abort)\n", comm, pid);
        in.set_var("signal", "SIGABRT");
        return false;
    } catch (const libc::MallocFault& f) {
        return deliver(in, inv, t, f.fault, f.addr, f.write);
    }
}

// The optional `fill` word at positional `i`: true when present; anything
// else there is an input error.
bool fill_word(const Args& a, std::size_t i) {
    if (a.positional.size() <= i) return false;
    if (a.positional[i].value != "fill")
        throw InputError(a.positional[i].loc, fmt::format("expected fill or nothing after the size, got '{}'",
                                                          a.positional[i].value));
    return true;
}

// An allocating call: $addr (and as=) on success, $errno and the message
// on failure, nothing more when the process died in it.
template <class F>
void alloc_call(Interp& in, Invocation& inv, Task& t, const char* name, F&& call) {
    Result<uint64_t> m = Errno::NOMEM;
    if (!libc_call(in, inv, t, [&] { m = call(); })) return;
    if (!m) return report(in, inv, name, m.err());
    ok(in);
    set_as(in, inv.args, hex(*m), "addr");
}

// The call stack of at=, checked: frames of identifier characters
// separated by commas (';' also, inside quotes: unquoted it ends the
// command). Kept folded with ';', outermost first, as flame graphs fold.
std::string site_of(const Args& a) {
    const Arg* at = a.option("at");
    if (!at) return "";
    if (at->value.empty()) throw InputError(at->loc, "at= expects a call stack like main,parse,xmalloc");
    std::string site = at->value;
    for (char& c : site) {
        if (c == ',') c = ';';
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ';' || c == '.' || c == ':' ||
              c == '@'))
            throw InputError(at->loc,
                             fmt::format("at= expects frames separated by commas (main,parse,xmalloc), "
                                         "got '{}'",
                                         at->value));
    }
    if (site.front() == ';' || site.back() == ';' || site.find(";;") != std::string::npos)
        throw InputError(at->loc, fmt::format("at= has an empty frame in '{}'", at->value));
    return site;
}

// The variables the allocating commands set.
void defines_alloc(const Command& c, std::vector<std::string>& v) {
    v.push_back("errno");
    v.push_back("addr");
    v.push_back("signal");
    for (const auto& w : c.args)
        if (w.raw.rfind("as=", 0) == 0) v.push_back(w.raw.substr(3));
}

void defines_signal(const Command&, std::vector<std::string>& v) {
    v.push_back("signal");
    v.push_back("ret");
}

struct ParamName {
    const char* name;
    int param;
};
constexpr ParamName kParams[] = {
    {"M_MXFAST", libc::M_MXFAST},       {"M_TRIM_THRESHOLD", libc::M_TRIM_THRESHOLD},
    {"M_TOP_PAD", libc::M_TOP_PAD},     {"M_MMAP_THRESHOLD", libc::M_MMAP_THRESHOLD},
    {"M_MMAP_MAX", libc::M_MMAP_MAX},   {"M_CHECK_ACTION", libc::M_CHECK_ACTION},
    {"M_PERTURB", libc::M_PERTURB},     {"M_ARENA_TEST", libc::M_ARENA_TEST},
    {"M_ARENA_MAX", libc::M_ARENA_MAX},
};

int parse_param(const Arg& a) {
    std::string up = a.value;
    for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (up.rfind("M_", 0) != 0) up = "M_" + up;
    for (const auto& p : kParams)
        if (up == p.name) return p.param;
    std::string names;
    for (const auto& p : kParams) names += (names.empty() ? "" : ", ") + std::string(p.name);
    throw InputError(a.loc,
                     fmt::format("unknown mallopt parameter '{}' (expected one of: {})", a.value, names));
}

// A mallopt value: a size (128K), a count, or -1.
int64_t parse_value(const Arg& a) {
    if (!a.value.empty() && a.value[0] == '-') return arg_int(a, "a value", -(1ll << 31), -1);
    uint64_t v = arg_size(a, "a value");
    if (v > static_cast<uint64_t>(INT32_MAX))
        throw InputError(a.loc, fmt::format("mallopt's value is an int; {} is too large", a.value));
    return static_cast<int64_t>(v);
}

bool is_number(const std::string& s) {
    return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) != 0);
}

void register_alloc(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "malloc";
        s.usage = "malloc PID SIZE [count=N] [at=STACK] [fill] [as=VAR]";
        s.summary =
            "The process calls malloc(SIZE) (glibc's allocator: tcache, bins, brk, mmap at the threshold); "
            "the address goes into $VAR and $addr. fill writes the block; count=N makes a group named by "
            "as=.";
        s.examples = {"malloc $p 64K as=a", "malloc $p 1000 count=4096 fill as=small",
                      "malloc $p 48 at=main,load_config,xstrdup"};
        s.options = {{"count", ArgKind::Int, "how many blocks (a group, named by as=)"},
                     {"at", ArgKind::Text, "the call stack, outermost first: main,parse,xmalloc"},
                     {"as", ArgKind::Name, "variable (or group) to hold the address(es)"}};
        s.min_args = 2;
        s.max_args = 3;
        s.defines = defines_alloc;
        s.check = [](const Args& a, const Command&) {
            (void)site_of(a);
            (void)fill_word(a, 2);
            if (const Arg* c = a.option("count")) (void)arg_int(*c, "count=", 1, 1 << 24);
        };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            uint64_t size = arg_size(inv.args.positional[1], "a size");
            bool fill = fill_word(inv.args, 2);
            int64_t count =
                inv.args.option("count") ? arg_int(*inv.args.option("count"), "count=", 1, 1 << 24) : 1;
            std::string site = site_of(inv.args);
            std::vector<uint64_t> got;
            Errno err = Errno::OK;
            bool alive = libc_call(in, inv, t, [&] {
                libc::ProcessMalloc& pm = libc::process_malloc(t);
                for (int64_t i = 0; i < count; i++) {
                    auto m = pm.malloc(k, t, size, site);
                    if (!m) {
                        err = m.err();
                        return;
                    }
                    got.push_back(*m);
                    if (fill) libc::write_block(k, t, *m, size);
                }
            });
            if (!alive) return;
            if (count > 1 || inv.args.option("count")) {
                std::string name = inv.args.option("as") ? inv.args.option("as")->value : "malloc";
                auto& g = in.malloc_groups()[name];
                g.insert(g.end(), got.begin(), got.end());
            }
            if (err != Errno::OK) return report(in, inv, "malloc", err);
            ok(in);
            set_as(in, inv.args, hex(got.empty() ? 0 : got.front()), "addr");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "calloc";
        s.usage = "calloc PID NMEMB SIZE [at=STACK] [as=VAR]";
        s.summary =
            "The process calls calloc(NMEMB, SIZE): zeroed memory; fresh pages from the kernel are not "
            "written, reused heap memory is.";
        s.examples = {"calloc $p 1 2M as=g"};
        s.options = {{"at", ArgKind::Text, "the call stack, outermost first"},
                     {"as", ArgKind::Name, "variable to hold the address"}};
        s.min_args = s.max_args = 3;
        s.defines = defines_alloc;
        s.check = [](const Args& a, const Command&) { (void)site_of(a); };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            uint64_t n = static_cast<uint64_t>(arg_int(inv.args.positional[1], "a count", 0, INT64_MAX));
            uint64_t size = arg_size(inv.args.positional[2], "a size");
            std::string site = site_of(inv.args);
            alloc_call(in, inv, t, "calloc",
                       [&] { return libc::process_malloc(t).calloc(k, t, n, size, site); });
        };
        r.add(std::move(s));
    }
    // memalign, aligned_alloc (its alias in glibc 2.36), posix_memalign.
    struct Aligned {
        const char* name;
        const char* summary;
        bool posix;
    };
    for (const Aligned& al :
         {Aligned{"memalign",
                  "The process calls memalign(ALIGN, SIZE): a block at a multiple of ALIGN "
                  "(rounded up to a power of two), carved from a larger chunk whose leader "
                  "and tail go back to the bins.",
                  false},
          Aligned{"aligned_alloc",
                  "The process calls aligned_alloc(ALIGN, SIZE): in glibc 2.36 the same "
                  "as memalign.",
                  false},
          Aligned{"posix_memalign",
                  "The process calls posix_memalign(&p, ALIGN, SIZE): EINVAL unless ALIGN "
                  "is a power-of-two multiple of 8.",
                  true}}) {
        CommandSpec s;
        s.name = al.name;
        s.usage = fmt::format("{} PID ALIGN SIZE [at=STACK] [fill] [as=VAR]", al.name);
        s.summary = al.summary;
        s.examples = {fmt::format("{} $p 4096 100 as=page", al.name)};
        s.options = {{"at", ArgKind::Text, "the call stack, outermost first: main,parse,xmalloc"},
                     {"as", ArgKind::Name, "variable to hold the address"}};
        s.min_args = 3;
        s.max_args = 4;
        s.defines = defines_alloc;
        s.check = [](const Args& a, const Command&) {
            (void)site_of(a);
            (void)fill_word(a, 3);
        };
        bool posix = al.posix;
        std::string name = al.name;
        s.run = [posix, name](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            uint64_t align = arg_size(inv.args.positional[1], "an alignment");
            uint64_t size = arg_size(inv.args.positional[2], "a size");
            bool fill = fill_word(inv.args, 3);
            std::string site = site_of(inv.args);
            alloc_call(in, inv, t, name.c_str(), [&]() -> Result<uint64_t> {
                libc::ProcessMalloc& pm = libc::process_malloc(t);
                auto m =
                    posix ? pm.posix_memalign(k, t, align, size, site) : pm.memalign(k, t, align, size, site);
                if (m && fill) libc::write_block(k, t, *m, size);
                return m;
            });
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "realloc";
        s.usage = "realloc PID ADDR SIZE [at=STACK] [as=VAR]";
        s.summary =
            "The process calls realloc(ADDR, SIZE): grows in place when it can, mremaps mmapped blocks, "
            "else allocates, copies and frees.";
        s.examples = {"realloc $p $g 4M as=h"};
        s.options = {{"at", ArgKind::Text, "the call stack, outermost first"},
                     {"as", ArgKind::Name, "variable to hold the new address"}};
        s.min_args = s.max_args = 3;
        s.defines = defines_alloc;
        s.check = [](const Args& a, const Command&) { (void)site_of(a); };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            uint64_t old = arg_addr(inv.args.positional[1], "an address");
            uint64_t size = arg_size(inv.args.positional[2], "a size");
            std::string site = site_of(inv.args);
            alloc_call(in, inv, t, "realloc",
                       [&] { return libc::process_malloc(t).realloc(k, t, old, size, site); });
        };
        r.add(std::move(s));
    }
}

void register_control(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "thread_exit";
        s.usage = "thread_exit TID";
        s.summary =
            "The thread returns (pthread_exit) and is joined: its tcache goes back to its arena, the arena "
            "to the free list when no thread is left on it, its stack (madvised away below the descriptor) "
            "to the stack cache for the next thread.";
        s.examples = {"thread_exit $t"};
        s.min_args = s.max_args = 1;
        s.defines = defines_signal;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            if (t.is_leader())
                throw InputError(inv.args.positional[0].loc,
                                 fmt::format("{} is a process, not one of its threads (exit_process ends a "
                                             "process)",
                                             t.pid));
            if (!libc_call(in, inv, t, [&] { libc::thread_end(k, t); })) return;
            do_exit_thread(k, t);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "mallopt";
        s.usage = "mallopt PID PARAM VALUE";
        s.summary =
            "The process calls mallopt: M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX, "
            "M_ARENA_MAX, M_ARENA_TEST, M_MXFAST, M_PERTURB (VALUE a size, a count or -1); its result goes "
            "into $ret.";
        s.examples = {"mallopt $p M_MMAP_THRESHOLD 256K", "mallopt $p M_TRIM_THRESHOLD -1",
                      "mallopt $p M_MMAP_MAX 0"};
        s.min_args = s.max_args = 3;
        s.defines = defines_signal;
        s.check = [](const Args& a, const Command&) {
            (void)parse_param(a.positional[1]);
            (void)parse_value(a.positional[2]);
        };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            int param = parse_param(inv.args.positional[1]);
            int64_t value = parse_value(inv.args.positional[2]);
            int ret = 0;
            if (!libc_call(in, inv, t, [&] { ret = libc::process_malloc(t).mallopt(k, t, param, value); }))
                return;
            in.set_var("ret", std::to_string(ret));
            if (!ret)
                inv.out += fmt::format("mallopt: {} {}: refused (returned 0)\n", inv.args.positional[1].value,
                                       inv.args.positional[2].value);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "malloc_trim";
        s.usage = "malloc_trim PID [PAD]";
        s.summary =
            "The process calls malloc_trim(PAD): the heap's top shrinks, and whole free pages inside every "
            "arena go back with MADV_DONTNEED; $ret is 1 when memory was released.";
        s.examples = {"malloc_trim $p", "malloc_trim $p 64K"};
        s.min_args = 1;
        s.max_args = 2;
        s.defines = defines_signal;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Task& t = live_task(in, inv.args.positional[0]);
            uint64_t pad = inv.args.positional.size() > 1 ? arg_size(inv.args.positional[1], "a pad") : 0;
            int ret = 0;
            if (!libc_call(in, inv, t, [&] { ret = libc::process_malloc(t).malloc_trim(k, t, pad); })) return;
            in.set_var("ret", std::to_string(ret));
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "malloc_stats";
        s.usage = "malloc_stats PID";
        s.summary =
            "What the process's malloc_stats() prints: each arena's system and in-use bytes, mmap totals.";
        s.examples = {"malloc_stats $p"};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Task& t = live_task(in, inv.args.positional[0]);
            inv.out += libc::process_malloc(t).malloc_stats();
        };
        r.add(std::move(s));
    }
}

// malloc[PID].heap, malloc[PID].uordblks, ...
Value malloc_value(Interp& in, const std::vector<RefStep>& full, const Expr& ref) {
    std::vector<RefStep> path(full.begin() + (!full.empty() && !full[0].is_index && full[0].name == "malloc"),
                              full.end());
    if (path.size() != 2 || !path[0].is_index || path[1].is_index)
        throw InputError(ref.loc, "expected malloc[PID].FIELD, e.g. malloc[$p].heap");
    Kernel& k = in.kernel(ref.loc);
    Task* t = k.tasks->find(static_cast<int>(path[0].index));
    if (!t || !t->mm) throw InputError(path[0].loc, fmt::format("no live process {}", path[0].index));
    const libc::ProcessMalloc& pm = libc::process_malloc(*t);
    const std::string& f = path[1].name;
    libc::MallInfo2 mi = pm.mallinfo2();
    auto of = [](uint64_t v) { return Value::of(static_cast<double>(v)); };
    if (f == "heap") return of(t->mm->brk - t->mm->start_brk);
    if (f == "arena") return of(mi.arena);
    if (f == "ordblks") return of(mi.ordblks);
    if (f == "smblks") return of(mi.smblks);
    if (f == "hblks") return of(mi.hblks);
    if (f == "hblkhd") return of(mi.hblkhd);
    if (f == "fsmblks") return of(mi.fsmblks);
    if (f == "uordblks") return of(mi.uordblks);
    if (f == "fordblks") return of(mi.fordblks);
    if (f == "keepcost") return of(mi.keepcost);
    if (f == "mmap_threshold") return of(pm.par().mmap_threshold);
    if (f == "trim_threshold") return of(pm.par().trim_threshold);
    if (f == "arenas") return of(pm.arenas().size());
    if (f == "outstanding") return of(pm.outstanding_count());
    throw InputError(
        path[1].loc,
        fmt::format("no malloc field '{}' (expected heap, arena, ordblks, smblks, hblks, hblkhd, "
                    "fsmblks, uordblks, fordblks, keepcost, mmap_threshold, trim_threshold, "
                    "arenas or outstanding)",
                    f));
}

}  // namespace

void register_libc_commands(CommandRegistry& r) {
    register_alloc(r);
    register_control(r);
    r.add_source(ValueSource{"malloc",
                             "the process's malloc: malloc[$p].heap (sbrk(0) minus the heap's start), "
                             "mallinfo2's fields (arena, uordblks, fordblks, hblkhd, ...), mmap_threshold, "
                             "trim_threshold, arenas, outstanding",
                             {"malloc[$p].heap", "malloc[$p].uordblks"},
                             true,
                             malloc_value});
}

// free(3) shares its name with procps free(1): the `free` command runs the
// tool when its first word is a flag or absent, and this otherwise.
void defines_free_call(const Command& c, std::vector<std::string>& v) { defines_signal(c, v); }

void run_free_call(Interp& in, Invocation& inv) {
    if (inv.args.positional.size() != 2)
        throw InputError(
            inv.args.positional.empty() ? inv.args.loc : inv.args.positional.back().loc,
            "free of a block needs a PID and an address or group (free PID ADDR|GROUP [keep=N])");
    Kernel& k = in.kernel(inv.cmd.loc);
    Task& t = live_task(in, inv.args.positional[0]);
    const Arg& what = inv.args.positional[1];
    const Arg* keep_arg = inv.args.option("keep");
    if (is_number(what.value)) {
        if (keep_arg) throw InputError(keep_arg->loc, "keep= applies to a group, not one address");
        uint64_t mem = arg_addr(what, "an address");
        libc_call(in, inv, t, [&] { libc::process_malloc(t).free(k, t, mem); });
        return;
    }
    auto& group = find_handle(in.malloc_groups(), what, "free");
    int64_t keep = keep_arg ? arg_int(*keep_arg, "keep=", 2, 1 << 24) : 0;
    std::vector<uint64_t> kept;
    std::size_t i = 0;
    bool alive = libc_call(in, inv, t, [&] {
        libc::ProcessMalloc& pm = libc::process_malloc(t);
        for (; i < group.size(); i++) {
            if (keep && i % static_cast<uint64_t>(keep) == static_cast<uint64_t>(keep - 1)) {
                kept.push_back(group[i]);
                continue;
            }
            pm.free(k, t, group[i]);
        }
    });
    if (!alive) return;
    if (kept.empty())
        in.malloc_groups().erase(what.value);
    else
        in.malloc_groups()[what.value] = kept;
}

}  // namespace mmsim::scenario
