// memleak in a scenario: what bcc's memleak.py would see, collected from
// the simulation's own allocation records, and the `memleak` value source.
//
//   memleak [-p PID] [-a] [-o MIN_AGE_MS] [-T|--top N] [-z MIN_SIZE] [-Z MAX_SIZE]
//           [--sort size|count] [INTERVAL [COUNT]]
//
// The real tool hooks the allocator and builds its own table of blocks not
// freed yet. The simulation already keeps that table, so this file only
// reads it and turns it into the plain list src/tools/memleak.h renders:
//
// - with -p (user mode, memleak's uprobes on malloc/calloc/realloc/free):
//   the process's malloc records (libc::ProcessMalloc::outstanding()), each
//   with the size asked for, the simulated time, and the call stack that
//   at= named ("main;handle_request;parse_header", outermost first),
//   printed innermost first, each frame in the program's module (the
//   basename of its executable). A block allocated without at= has the
//   stack "[unknown]". The records go back to the process's start, as if
//   memleak had been attached since exec.
// - without -p (kernel mode, memleak's kmem tracepoints): every live
//   kmalloc and kmem_cache_alloc object, from the slab allocator's records
//   (SlabState::track, src/mm/slab_track.h), as the kmalloc and
//   kmem_cache_alloc events gave them: the object's address, bytes_alloc
//   for the size (the cache's stride, or the pages of a kmalloc above
//   8 KiB), the allocation time, and the stack: the allocator's function
//   (__kmalloc_noprof, kmem_cache_alloc_noprof, ...) and then the frames
//   the caller named (a scenario command's at= frames, then
//   "kmalloc [scenario]"; or the kernel function a simulator structure
//   stands for, vm_area_alloc, __d_alloc, ...). With page_owner=on, the
//   page blocks it recorded too, as mm_page_alloc would have given them:
//   the pfn for the address, PAGE_SIZE << order for the size, page_owner's
//   time and stack. Each frame is in [kernel] unless it names its module
//   ("kmalloc [scenario]").
//
// Without INTERVAL the report is printed at once. With it, as memleak
// sleeps INTERVAL between reports, the reports are events on the simulated
// clock, one INTERVAL apart, COUNT of them (or until the scenario ends):
// they print during the `sleep` that reaches them, like `every` blocks.
// Each report's clock is the simulated time of day (the machine boots at
// midnight, as top's header counts it).
//
// memleak[PID].bytes / .allocs / .stacks, and memleak[PID][I].bytes /
// .allocs / .site for the I-th biggest stack (0: the biggest), count every
// outstanding block, whatever its age.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "mm/memmap.h"
#include "mm/mm_struct.h"
#include "mm/page_owner.h"
#include "mm/slub.h"
#include "scenario/commands.h"
#include "scenario/interp.h"
#include "scenario/lexer.h"
#include "tools/memleak.h"

namespace mmsim::scenario {

namespace {

using tools::MemleakAlloc;
using tools::MemleakFrame;
using tools::MemleakOptions;

// The last of -X and --long given, or nullptr.
const Arg* flag_of(const Args& a, std::string_view short_flag, std::string_view long_flag) {
    const Arg* found = nullptr;
    for (const auto& [k, v] : a.flags)
        if (k == short_flag || k == long_flag) found = &v;
    return found;
}

// What the words ask for; throws InputError at the bad word.
struct Request {
    std::optional<int> pid;
    const Arg* pid_arg = nullptr;
    MemleakOptions opt;
    std::optional<Nanos> interval;
    std::optional<uint64_t> count;
};

Request parse_request(const Args& a) {
    Request r;
    if (const Arg* p = flag_of(a, "-p", "--pid")) {
        r.pid = static_cast<int>(arg_int(*p, "a pid (-p)", 1, std::numeric_limits<int>::max()));
        r.pid_arg = p;
    }
    r.opt.show_allocs = flag_of(a, "-a", "--show-allocs") != nullptr;
    if (const Arg* o = flag_of(a, "-o", "--older"))
        r.opt.min_age_ns =
            static_cast<uint64_t>(arg_int(*o, "an age in milliseconds (-o)", 0, 1ll << 40)) * 1000000;
    if (const Arg* t = flag_of(a, "-T", "--top"))
        r.opt.top = static_cast<unsigned>(arg_int(*t, "a number of stacks (-T)", 0, 1 << 30));
    if (const Arg* z = flag_of(a, "-z", "--min-size"))
        r.opt.min_size = static_cast<uint64_t>(arg_int(*z, "a size in bytes (-z)", 0, 1ll << 62));
    if (const Arg* z = flag_of(a, "-Z", "--max-size")) {
        r.opt.max_size = static_cast<uint64_t>(arg_int(*z, "a size in bytes (-Z)", 0, 1ll << 62));
        if (r.opt.min_size && *r.opt.min_size > *r.opt.max_size)
            throw InputError(z->loc, "min_size (-z) can't be greater than max_size (-Z)");
    }
    if (const Arg* s = flag_of(a, "--sort", "--sort")) {
        if (s->value == "count")
            r.opt.sort = tools::MemleakSort::Count;
        else if (s->value != "size")
            throw InputError(s->loc, fmt::format("--sort takes size or count, not '{}'", s->value));
    }
    if (!a.positional.empty()) {
        r.interval = arg_duration(a.positional[0], "the interval");
        if (*r.interval == 0) throw InputError(a.positional[0].loc, "memleak needs an interval above zero");
    }
    if (a.positional.size() > 1)
        r.count = static_cast<uint64_t>(arg_int(a.positional[1], "a number of reports", 1, 1ll << 40));
    return r;
}

// A call stack as at= wrote it, outermost first, as frames innermost first.
// Frames are in the executable unless they name their module (SYMBOL@MODULE).
std::vector<MemleakFrame> user_stack(const std::string& site, const std::string& module) {
    std::vector<MemleakFrame> frames;
    std::size_t begin = 0;
    while (begin <= site.size()) {
        std::size_t semi = site.find(';', begin);
        if (semi == std::string::npos) semi = site.size();
        if (semi > begin) {
            // A frame may name its module: _IO_file_doallocate@libc.so.6.
            std::string f = site.substr(begin, semi - begin);
            std::size_t at = f.find('@');
            if (at != std::string::npos && at > 0 && at + 1 < f.size())
                frames.push_back(MemleakFrame{0, f.substr(0, at), 0, f.substr(at + 1)});
            else
                frames.push_back(MemleakFrame{0, f, 0, module});
        }
        begin = semi + 1;
    }
    std::reverse(frames.begin(), frames.end());
    // No stack named: one frame of no known symbol or module.
    if (frames.empty()) frames.push_back(MemleakFrame{});
    return frames;
}

// The module user frames are printed in: the executable's basename.
std::string module_of(const Task& t) {
    if (t.exe.empty()) return t.comm;
    std::size_t slash = t.exe.rfind('/');
    return slash == std::string::npos ? t.exe : t.exe.substr(slash + 1);
}

// The live process PID names (any of its threads), or nullptr.
Task* find_process(Kernel& k, int pid) {
    Task* t = k.tasks->find(pid);
    if (!t || !t->mm) return nullptr;
    if (t->tgid != t->pid)
        if (Task* leader = k.tasks->find(t->tgid); leader && leader->mm) return leader;
    return t;
}

std::vector<MemleakAlloc> user_allocs(const Task& t) {
    std::vector<MemleakAlloc> out;
    const libc::ProcessMalloc* pm = t.mm->libc.get();
    if (!pm) return out;  // it never called malloc
    std::string module = module_of(t);
    std::vector<std::vector<MemleakFrame>> stacks(pm->sites().size());
    for (std::size_t i = 0; i < stacks.size(); i++) stacks[i] = user_stack(pm->sites()[i], module);
    out.reserve(pm->outstanding_count());
    for (const auto& [addr, rec] : pm->outstanding()) {
        MemleakAlloc a;
        a.address = addr;
        a.size = rec.size;
        a.timestamp_ns = rec.when;
        if (rec.site < stacks.size()) a.stack = stacks[rec.site];
        out.push_back(std::move(a));
    }
    return out;
}

// A kernel frame: in [kernel], unless it names its own module
// ("kmalloc [scenario]").
MemleakFrame kernel_frame(std::string_view line) {
    MemleakFrame f{0, std::string(line), 0, "kernel"};
    if (std::size_t br = line.rfind(" ["); br != std::string::npos && line.back() == ']') {
        f.symbol = std::string(line.substr(0, br));
        f.module = std::string(line.substr(br + 2, line.size() - br - 3));
    }
    return f;
}

// page_owner's stack text (" frame\n" lines, innermost first) as frames.
std::vector<MemleakFrame> kernel_stack(const std::string& text) {
    std::vector<MemleakFrame> frames;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        std::size_t b = line.find_first_not_of(' ');
        if (b == std::string::npos) continue;
        frames.push_back(kernel_frame(std::string_view(line).substr(b)));
    }
    return frames;
}

// The live kmalloc and kmem_cache_alloc objects, as the kmalloc and
// kmem_cache_alloc tracepoints reported them to memleak (bytes_alloc).
void slab_allocs(const Kernel& k, std::vector<MemleakAlloc>& out) {
    const SlabState& st = *k.slab;
    std::map<uint64_t, std::vector<MemleakFrame>> stacks;  // by handle and call
    auto stack_of = [&](const SlabTrackRecord& r) -> const std::vector<MemleakFrame>& {
        uint64_t key = uint64_t{r.handle} << 8 | static_cast<uint8_t>(r.call);
        auto [it, added] = stacks.try_emplace(key);
        if (added) {
            for (std::string_view f : slab_call_frames(r.call)) it->second.push_back(kernel_frame(f));
            for (const std::string& f : st.track.frames(r.handle)) it->second.push_back(kernel_frame(f));
        }
        return it->second;
    };
    out.reserve(out.size() + st.track.size());
    st.track.for_each([&](uint64_t addr, const SlabTrackRecord& r) {
        MemleakAlloc a;
        a.address = addr;
        if (r.cache == ~0u) {
            a.size = PAGE_SIZE << (*k.mem_map)[(addr - PAGE_OFFSET) >> PAGE_SHIFT].order;
        } else {
            a.size = st.caches[r.cache]->size;
        }
        a.timestamp_ns = r.ts;
        a.stack = stack_of(r);
        out.push_back(std::move(a));
    });
}

std::vector<MemleakAlloc> kernel_allocs(const Kernel& k) {
    std::vector<MemleakAlloc> out;
    if (k.slab) slab_allocs(k, out);
    if (!k.page_owner) return out;
    const PageOwnerState& st = *k.page_owner;
    std::vector<std::vector<MemleakFrame>> stacks(st.stacks.size());
    std::vector<bool> parsed(st.stacks.size(), false);
    for (auto [pfn, order] : allocated_blocks(k)) {
        const PageOwnerRecord* r = page_owner_record(k, Pfn(pfn));
        if (!r || !r->allocated) continue;
        MemleakAlloc a;
        a.address = pfn;  // mm_page_alloc gives memleak the pfn
        a.size = PAGE_SIZE << order;
        a.timestamp_ns = r->ts_nsec;
        if (r->handle < stacks.size()) {
            if (!parsed[r->handle]) {
                stacks[r->handle] = kernel_stack(st.stacks[r->handle]);
                parsed[r->handle] = true;
            }
            a.stack = stacks[r->handle];
        }
        out.push_back(std::move(a));
    }
    return out;
}

std::string hms_now(const Kernel& k) { return tools::memleak_hms(k.clock.now() / NSEC_PER_SEC); }

// The reports of memleak INTERVAL [COUNT], as clock events.
struct Reporter : std::enable_shared_from_this<Reporter> {
    Interp* interp = nullptr;
    Kernel* kernel = nullptr;
    std::optional<int> pid;
    MemleakOptions opt;
    Nanos interval = 0;
    std::optional<uint64_t> left;
    // What the last report saw: after the process has gone, memleak's
    // table still holds the blocks it never saw freed.
    std::vector<MemleakAlloc> last;

    void report() {
        if (pid) {
            if (Task* t = find_process(*kernel, *pid)) last = user_allocs(*t);
        } else {
            last = kernel_allocs(*kernel);
        }
        interp->out() << tools::memleak_report(last, opt, kernel->clock.now(), hms_now(*kernel));
    }

    void arm(Nanos when) {
        auto self = shared_from_this();
        kernel->clock.schedule_at(when, [self, when] {
            self->report();
            if (self->left && --*self->left == 0) return;
            if (self->interval <= std::numeric_limits<Nanos>::max() / 2 - when)
                self->arm(when + self->interval);
        });
    }
};

void run_memleak(Interp& in, Invocation& inv) {
    Kernel& k = in.kernel(inv.cmd.loc);
    Request r = parse_request(inv.args);
    std::vector<MemleakAlloc> allocs;
    if (r.pid) {
        Task* t = find_process(k, *r.pid);
        if (!t) {
            Task* any = k.tasks->find(*r.pid);
            throw InputError(r.pid_arg->loc, any ? fmt::format("memleak: process {} has exited", *r.pid)
                                                 : fmt::format("memleak: no process {}", *r.pid));
        }
        allocs = user_allocs(*t);
    } else {
        allocs = kernel_allocs(k);
    }
    inv.out += tools::memleak_attach_line(r.pid ? *r.pid : -1);
    if (!r.interval) {
        inv.out += tools::memleak_report(allocs, r.opt, k.clock.now(), hms_now(k));
        return;
    }
    auto rep = std::make_shared<Reporter>();
    rep->interp = &in;
    rep->kernel = &k;
    rep->pid = r.pid;
    rep->opt = r.opt;
    rep->interval = *r.interval;
    rep->left = r.count;
    rep->last = std::move(allocs);
    Nanos now = k.clock.now();
    if (rep->interval > std::numeric_limits<Nanos>::max() / 2 - now)
        throw InputError(inv.args.positional[0].loc,
                         "memleak: the interval is beyond the end of simulated time");
    rep->arm(now + rep->interval);
}

// ---- the memleak value source ----------------------------------------------------------

Value memleak_value(Interp& in, const std::vector<RefStep>& full, const Expr& ref) {
    std::vector<RefStep> path(
        full.begin() + (!full.empty() && !full[0].is_index && full[0].name == "memleak"), full.end());
    auto usage = [&](const SourceLoc& loc) {
        return InputError(loc,
                          "expected memleak[PID].bytes, .allocs, .stacks, or memleak[PID][I].bytes, .allocs, "
                          ".site (I: 0 for the biggest stack)");
    };
    if (path.size() < 2 || !path[0].is_index) throw usage(ref.loc);
    Kernel& k = in.kernel(ref.loc);
    Task* t = find_process(k, static_cast<int>(path[0].index));
    if (!t) throw InputError(path[0].loc, fmt::format("no live process {}", path[0].index));
    MemleakOptions all;
    all.min_age_ns = 0;
    all.top = 0;  // every stack
    std::vector<MemleakAlloc> allocs = user_allocs(*t);
    std::vector<tools::MemleakStack> stacks = tools::memleak_stacks(allocs, all, k.clock.now());
    auto of = [](uint64_t v) { return Value::of(static_cast<double>(v)); };
    if (path.size() == 2 && !path[1].is_index) {
        const std::string& f = path[1].name;
        uint64_t bytes = 0, n = 0;
        for (const auto& s : stacks) {
            bytes += s.bytes;
            n += s.allocs;
        }
        if (f == "bytes") return of(bytes);
        if (f == "allocs") return of(n);
        if (f == "stacks") return of(stacks.size());
        throw InputError(path[1].loc,
                         fmt::format("no memleak field '{}' (expected bytes, allocs or stacks)", f));
    }
    if (path.size() != 3 || !path[1].is_index || path[2].is_index) throw usage(ref.loc);
    if (path[1].index < 0 || static_cast<uint64_t>(path[1].index) >= stacks.size())
        throw InputError(path[1].loc, fmt::format("process {} has {} stack{} with outstanding allocations, "
                                                  "no [{}]",
                                                  path[0].index, stacks.size(), stacks.size() == 1 ? "" : "s",
                                                  path[1].index));
    const tools::MemleakStack& s = stacks[stacks.size() - 1 - static_cast<std::size_t>(path[1].index)];
    const std::string& f = path[2].name;
    if (f == "bytes") return of(s.bytes);
    if (f == "allocs") return of(s.allocs);
    if (f == "site") {
        std::string site;
        for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it)
            site += (site.empty() ? "" : ";") + it->symbol;
        return Value::of(site);
    }
    throw InputError(path[2].loc,
                     fmt::format("no memleak stack field '{}' (expected bytes, allocs or site)", f));
}

}  // namespace

void register_memleak_commands(CommandRegistry& r) {
    CommandSpec s;
    s.name = "memleak";
    s.usage =
        "memleak [-p PID] [-a] [-o MIN_AGE_MS] [-T|--top N] [-z MIN_SIZE] [-Z MAX_SIZE] [--sort size|count] "
        "[INTERVAL [COUNT]]";
    s.summary =
        "Prints the call stacks with outstanding allocations as bcc's memleak does: a process's malloc "
        "blocks "
        "with -p, else the kernel's kmalloc and kmem_cache_alloc objects (and, with page_owner=on, its page "
        "blocks); with INTERVAL, a report every INTERVAL of simulated time, COUNT times.";
    s.examples = {"memleak -p $p", "memleak -a -p $p -o 0", "memleak -p $p --top 3 1s 5",
                  "memleak -z 1024 -p $p", "memleak --top 3"};
    s.flags = {
        {"-p", true, ArgKind::Int, "the process to trace; without it, the kernel's allocations"},
        {"--pid", true, ArgKind::Int, "the same as -p"},
        {"-a", false, ArgKind::Text, "print each allocation's address and size too"},
        {"--show-allocs", false, ArgKind::Text, "the same as -a"},
        {"-o", true, ArgKind::Int, "leave out allocations younger than this many milliseconds (500)"},
        {"--older", true, ArgKind::Int, "the same as -o"},
        {"-T", true, ArgKind::Int, "print only this many stacks, the biggest (10)"},
        {"--top", true, ArgKind::Int, "the same as -T"},
        {"-z", true, ArgKind::Int, "only allocations of at least this many bytes"},
        {"--min-size", true, ArgKind::Int, "the same as -z"},
        {"-Z", true, ArgKind::Int, "only allocations of at most this many bytes"},
        {"--max-size", true, ArgKind::Int, "the same as -Z"},
        {"--sort", true, ArgKind::Text, "order stacks by size (the default) or count"},
    };
    s.max_args = 2;
    s.check = [](const Args& a, const Command&) { (void)parse_request(a); };
    s.run = run_memleak;
    r.add(std::move(s));

    r.add_source(
        ValueSource{"memleak",
                    "what memleak -p sees: memleak[$p].bytes, .allocs, .stacks over every outstanding "
                    "malloc block; memleak[$p][0].bytes, .allocs, .site for the biggest stack",
                    {"memleak[$p].bytes", "memleak[$p][0].site"},
                    true,
                    memleak_value});
}

}  // namespace mmsim::scenario
