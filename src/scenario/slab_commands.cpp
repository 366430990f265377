// The slab allocator in a scenario: kernel-context experiments with caches,
// objects and kmalloc, and the `slabinfo` value source.
//
//   kmem_cache_create NAME size=SIZE [align=N] [flags=SLAB_...] [ctor=1]
//   kmem_cache_alloc NAME [count=N] [gfp=FLAGS] [node=N] [at=STACK] [as=H]
//   kmem_cache_free H [count=N] [stride=N]
//   kmem_cache_shrink NAME
//   kmem_cache_destroy NAME
//   kmalloc SIZE [count=N] [gfp=FLAGS] [node=N] [at=STACK] [as=H]
//   kfree H [count=N] [stride=N]
//
//   slabinfo.dentry.active_objs    a /proc/slabinfo column of one cache;
//   slabinfo.kmalloc_64.num_slabs  '-' in a cache name is written '_'
//
// Objects allocated under a handle H are freed by kmem_cache_free H or
// kfree H, oldest first (or every stride-th). at= names the kernel call
// stack of the allocation, outermost first (probe,setup_ring): the slab
// allocator records it with each object (SlabTrack), below the command's
// own frame "kmalloc [scenario]", and memleak's kernel mode reports it;
// with page_owner=on, pages the command allocates carry it too. The value source reads the
// /proc/slabinfo text, like every other file source.
#include <fmt/format.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/text.h"
#include "mm/page_owner.h"
#include "mm/slub.h"
#include "mm/vmalloc.h"
#include "proc/procfs.h"
#include "scenario/commands.h"
#include "scenario/interp.h"

namespace mmsim::scenario {

namespace {

SlabState& slab_state(Kernel& k, const SourceLoc& loc) {
    if (!k.slab) throw InputError(loc, "this machine was booted without the slab allocator");
    return *k.slab;
}

KmemCache& cache_arg(Kernel& k, const Arg& name) {
    SlabState& st = slab_state(k, name.loc);
    if (KmemCache* s = st.find(name.value)) return *s;
    for (const auto& c : st.caches)
        if (c)
            for (const auto& alias : c->alias_names)
                if (alias == name.value) return *c;
    std::vector<std::string> names;
    for (const auto& c : st.caches)
        if (c) names.push_back(c->name);
    std::string hint = did_you_mean(name.value, names);
    throw InputError(name.loc, fmt::format("no slab cache named '{}'{}", name.value,
                                           hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
}

// The kernel call stack of at=, outermost first: frames of identifier
// characters separated by commas (';' too, inside quotes).
std::vector<std::string> at_frames(const Args& a) {
    std::vector<std::string> frames;
    const Arg* at = a.option("at");
    if (!at) return frames;
    if (at->value.empty()) throw InputError(at->loc, "at= expects a call stack like probe,setup_ring");
    std::string cur;
    for (char c : at->value + ",") {
        if (c == ',' || c == ';') {
            if (cur.empty())
                throw InputError(at->loc, fmt::format("at= has an empty frame in '{}'", at->value));
            frames.push_back(std::move(cur));
            cur.clear();
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') {
            cur += c;
        } else {
            throw InputError(
                at->loc, fmt::format("at= expects frames separated by commas (probe,setup_ring), got '{}'",
                                     at->value));
        }
    }
    return frames;
}

void alloc_common(Interp& in, Invocation& inv, KmemCache* cache, uint64_t size, const char* what) {
    Kernel& k = in.kernel(inv.cmd.loc);
    // The call site: the command (its frame is the interpreter's), then
    // at='s frames (innermost last).
    std::vector<std::string> frames = at_frames(inv.args);
    std::vector<std::unique_ptr<PageOwnerSite>> page_sites;
    for (const std::string& f : frames) page_sites.push_back(std::make_unique<PageOwnerSite>(k, f));
    SlabTrackSite site(k, frames);
    int64_t count = inv.args.option("count") ? arg_int(*inv.args.option("count"), "count=", 1, 1ll << 32) : 1;
    int node = node_option(inv.args, k.nodes.size());
    gfp_t gfp = inv.args.option("gfp") ? arg_gfp(*inv.args.option("gfp")) : GFP_KERNEL;
    std::string name = inv.args.option("as") ? inv.args.option("as")->value : std::string();
    auto& objs = in.object_handles()[name];
    int64_t done = 0;
    for (; done < count; done++) {
        Result<uint64_t> r = cache ? kmem_cache_alloc(k, *cache, gfp, node) : kmalloc(k, size, gfp, node);
        if (!r) break;
        objs.push_back(*r);
    }
    if (done < count)
        inv.out +=
            fmt::format("{}: allocation failed after {} of {} (ENOMEM; see dmesg)\n", what, done, count);
}

void free_common(Interp& in, Invocation& inv, const char* what, bool any_cache) {
    Kernel& k = in.kernel(inv.cmd.loc);
    const Arg& name = inv.args.positional[0];
    auto& objs = find_handle(in.object_handles(), name, what);
    for (uint64_t addr : objs)
        if (is_vmalloc_addr(addr))
            throw InputError(
                name.loc, fmt::format("{}: '{}' holds vmalloc memory; free it with vfree", what, name.value));
    free_selected(objs, inv.args, [&](uint64_t addr) {
        if (any_cache) {
            kfree(k, addr);
            return;
        }
        KmemCache* s = virt_to_cache(k, addr);
        if (!s)
            throw InputError(
                name.loc, fmt::format("{}: '{}' holds kmalloc memory above 8 KiB; free it with kfree", what,
                                      name.value));
        kmem_cache_free(k, *s, addr);
    });
}

const std::vector<OptionSpec> alloc_options = {
    {"count", ArgKind::Int, "how many objects (default 1)"},
    {"gfp", ArgKind::Gfp, "GFP flags (default GFP_KERNEL)"},
    {"node", ArgKind::Int, "the node to allocate on (default: the current CPU's)"},
    {"at", ArgKind::Text, "the kernel call stack, outermost first: probe,setup_ring"},
    {"as", ArgKind::Name, "a name to free them by"}};
const std::vector<OptionSpec> free_options = {{"count", ArgKind::Int, "free at most this many"},
                                              {"stride", ArgKind::Int, "free every N-th, from the first"}};

// slabinfo.CACHE.FIELD from the /proc/slabinfo text.
Value slabinfo_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    // The columns by their place in a line: the name, five numbers, ':',
    // "tunables", three numbers, ':', "slabdata", three numbers.
    static const std::pair<const char*, std::size_t> columns[] = {
        {"active_objs", 1},  {"num_objs", 2},      {"objsize", 3},   {"objperslab", 4},
        {"pagesperslab", 5}, {"active_slabs", 13}, {"num_slabs", 14}};
    if (path.size() != 3 || path[1].is_index || path[2].is_index)
        throw InputError(ref.loc,
                         "slabinfo needs a cache and a column, for example slabinfo.dentry.active_objs");
    Kernel& k = in.kernel(ref.loc);
    auto read = proc_read(k, "/proc/slabinfo");
    if (!read) throw InputError(ref.loc, "cannot read /proc/slabinfo");
    std::string text = *read;
    std::string want = path[1].name;
    std::size_t col = 0;
    for (const auto& [name, place] : columns)
        if (path[2].name == name) col = place;
    if (col == 0)
        throw InputError(path[2].loc, fmt::format("slabinfo has active_objs, num_objs, objsize, objperslab, "
                                                  "pagesperslab, active_slabs and num_slabs, not '{}'",
                                                  path[2].name));
    std::vector<std::string> names;
    for (const std::string& line : split_lines(text)) {
        if (line.empty() || line[0] == '#' || line.rfind("slabinfo", 0) == 0) continue;
        std::vector<std::string> w = split_ws(line);
        if (w.size() < 16) continue;
        std::string name = w[0];
        std::string underscored = name;
        for (char& c : underscored)
            if (c == '-') c = '_';
        names.push_back(underscored);
        if (name != want && underscored != want) continue;
        double v = 0;
        (void)to_number(w[col], v);
        return Value::of(v);
    }
    std::string hint = did_you_mean(want, names);
    throw InputError(path[1].loc,
                     fmt::format("/proc/slabinfo has no cache '{}'{}", want,
                                 hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
}

}  // namespace

void register_slab_commands(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "kmem_cache_create";
        s.usage = "kmem_cache_create NAME size=SIZE [align=N] [flags=SLAB_...] [ctor=1]";
        s.summary =
            "Creates a slab cache (or merges the name into a compatible existing one, as the kernel does).";
        s.examples = {"kmem_cache_create my_obj size=200",
                      "kmem_cache_create my_rcl size=64 flags=SLAB_RECLAIM_ACCOUNT",
                      "kmem_cache_create my_hw size=100 flags=SLAB_HWCACHE_ALIGN ctor=1"};
        s.options = {{"size", ArgKind::Size, "the object size in bytes", true},
                     {"align", ArgKind::Int, "a power of two"},
                     {"flags", ArgKind::Text, "SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT|SLAB_ACCOUNT|..."},
                     {"ctor", ArgKind::Int, "1: the cache has a constructor (never merged)"}};
        s.min_args = s.max_args = 1;
        s.check = [](const Args& a, const Command&) {
            const Arg& size = *a.option("size");
            uint64_t bytes = arg_size(size, "size=");
            if (bytes == 0 || bytes > (uint64_t{4} << 20))
                throw InputError(size.loc, "size= must be between 1 byte and 4M (KMALLOC_MAX_SIZE)");
            if (const Arg* al = a.option("align")) {
                int64_t v = arg_int(*al, "align=", 0, 1 << 20);
                if (v && (v & (v - 1)))
                    throw InputError(al->loc, fmt::format("align={} is not a power of two", v));
            }
            if (const Arg* f = a.option("flags")) {
                std::string bad;
                if (!parse_slab_flags(f->value, &bad))
                    throw InputError(f->loc,
                                     fmt::format("unknown slab flag '{}' (expected SLAB_HWCACHE_ALIGN, "
                                                 "SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_PANIC, "
                                                 "SLAB_TYPESAFE_BY_RCU, SLAB_ACCOUNT, "
                                                 "SLAB_RECLAIM_ACCOUNT, SLAB_NO_MERGE, SLAB_POISON, "
                                                 "SLAB_RED_ZONE or SLAB_STORE_USER)",
                                                 bad));
            }
            if (const Arg* c = a.option("ctor")) (void)arg_int(*c, "ctor=", 0, 1);
        };
        s.run = [check = s.check](Interp& in, Invocation& inv) {
            check(inv.args, inv.cmd);
            Kernel& k = in.kernel(inv.cmd.loc);
            SlabState& st = slab_state(k, inv.cmd.loc);
            const Arg& name = inv.args.positional[0];
            if (st.find(name.value))
                throw InputError(name.loc, fmt::format("a slab cache named '{}' exists already", name.value));
            KmemCacheArgs a;
            if (const Arg* al = inv.args.option("align"))
                a.align = static_cast<unsigned>(arg_int(*al, "align=", 0, 1 << 20));
            if (const Arg* f = inv.args.option("flags")) a.flags = *parse_slab_flags(f->value);
            if (const Arg* c = inv.args.option("ctor")) a.ctor = arg_int(*c, "ctor=", 0, 1) == 1;
            auto size = static_cast<unsigned>(arg_size(*inv.args.option("size"), "size="));
            auto res = kmem_cache_create(k, name.value, size, a);
            if (!res)
                inv.out +=
                    fmt::format("kmem_cache_create: {} ({})\n", errno_text(res.err()), errno_name(res.err()));
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kmem_cache_alloc";
        s.usage = "kmem_cache_alloc NAME [count=N] [gfp=FLAGS] [node=N] [at=STACK] [as=H]";
        s.summary = "Allocates COUNT objects from a slab cache, keeping them under H for kmem_cache_free.";
        s.examples = {"kmem_cache_alloc dentry count=1000 as=d", "kmem_cache_alloc my_obj gfp=GFP_ATOMIC",
                      "kmem_cache_alloc my_obj at=my_probe,my_setup"};
        s.options = alloc_options;
        s.min_args = s.max_args = 1;
        s.check = [](const Args& a, const Command&) { (void)at_frames(a); };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            KmemCache& c = cache_arg(k, inv.args.positional[0]);
            alloc_common(in, inv, &c, 0, "kmem_cache_alloc");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kmalloc";
        s.usage = "kmalloc SIZE [count=N] [gfp=FLAGS] [node=N] [at=STACK] [as=H]";
        s.summary =
            "Allocates COUNT blocks of SIZE bytes with kmalloc (a kmalloc-* cache up to 8K, whole pages "
            "above).";
        s.examples = {"kmalloc 100 count=50 as=small", "kmalloc 64K as=big",
                      "kmalloc 512 gfp=GFP_KERNEL_ACCOUNT", "kmalloc 96 count=8 at=my_probe,my_setup_ring"};
        s.options = alloc_options;
        s.min_args = s.max_args = 1;
        s.check = [](const Args& a, const Command&) {
            (void)arg_size(a.positional[0], "the size");
            (void)at_frames(a);
        };
        s.run = [](Interp& in, Invocation& inv) {
            uint64_t size = arg_size(inv.args.positional[0], "the size");
            slab_state(in.kernel(inv.cmd.loc), inv.cmd.loc);
            alloc_common(in, inv, nullptr, size, "kmalloc");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kmem_cache_free";
        s.usage = "kmem_cache_free H [count=N] [stride=N]";
        s.summary =
            "Frees objects that kmem_cache_alloc ... as=H took: all, COUNT of them, or every STRIDE-th.";
        s.examples = {"kmem_cache_free d", "kmem_cache_free d stride=2"};
        s.options = free_options;
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) { free_common(in, inv, "kmem_cache_free", false); };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kfree";
        s.usage = "kfree H [count=N] [stride=N]";
        s.summary = "Frees what kmalloc ... as=H (or kmem_cache_alloc) took: all, COUNT, or every STRIDE-th.";
        s.examples = {"kfree small", "kfree small count=10"};
        s.options = free_options;
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) { free_common(in, inv, "kfree", true); };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kmem_cache_shrink";
        s.usage = "kmem_cache_shrink NAME";
        s.summary =
            "Flushes the CPUs' slabs of a cache and gives its empty slabs back to the page allocator.";
        s.examples = {"kmem_cache_shrink dentry"};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            (void)kmem_cache_shrink(k, cache_arg(k, inv.args.positional[0]));
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "kmem_cache_destroy";
        s.usage = "kmem_cache_destroy NAME";
        s.summary =
            "Destroys a cache; with objects still allocated the kernel refuses and warns (see dmesg).";
        s.examples = {"kmem_cache_destroy my_obj"};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            const Arg& name = inv.args.positional[0];
            KmemCache& c = cache_arg(k, name);
            SlabState& st = *k.slab;
            if (&c == st.kmem_cache || &c == st.kmem_cache_node)
                throw InputError(name.loc,
                                 fmt::format("'{}' is one of the slab allocator's own caches", c.name));
            for (const auto& row : st.kmalloc_caches)
                for (const KmemCache* kc : row)
                    if (kc == &c) throw InputError(name.loc, fmt::format("'{}' is a kmalloc cache", c.name));
            if (st.is_kernel_cache(c))
                throw InputError(name.loc,
                                 fmt::format("'{}' holds the simulated kernel's own objects", c.name));
            auto res = kmem_cache_destroy(k, c);
            if (!res)
                inv.out += fmt::format(
                    "kmem_cache_destroy {}: objects are still allocated (EBUSY; see dmesg)\n", name.value);
        };
        r.add(std::move(s));
    }
    r.add_source(ValueSource{"slabinfo",
                             "a /proc/slabinfo column: slabinfo.CACHE.COLUMN ('-' in a name written '_')",
                             {"slabinfo.dentry.active_objs", "slabinfo.kmalloc_64.num_slabs"},
                             true,
                             slabinfo_value});
}

}  // namespace mmsim::scenario
