// The core commands and value sources of the scenario language.
//
// Commands, by what they are for:
//
//   the machine      boot, sysctl, snapshot, dmesg
//   the shell        echo, print, let, cat, grep, head, tail, wc, ls, help,
//                    exit, and '>' redirection into /proc and /sys
//   time             sleep, at, every
//   checking         expect
//   the kernel       alloc_pages, free_pages (straight into the buddy
//                    allocator, as a driver or a test module would)
//
// Value sources, the first word of a name in an expression:
//
//   meminfo.MemFree               /proc/meminfo, in bytes (the file's kB x 1024)
//   vmstat.pgalloc_normal         /proc/vmstat
//   zoneinfo.Normal.min           /proc/zoneinfo, node 0 unless zoneinfo.node1.Normal...
//   buddyinfo.Normal[10]          /proc/buddyinfo, free blocks of an order
//   pagetypeinfo.Normal.Movable[3], pagetypeinfo.Normal.blocks.Movable
//   sysctl.vm.min_free_kbytes     /proc/sys/vm/..., [i] for vectors
//   alloc.NAME, alloc.NAME.pages  blocks and pages an alloc_pages ... as=NAME holds
//   clock.now, clock.ns           simulated time since boot (seconds, nanoseconds)
//
// Every value is read from the text of a simulated file (never from kernel
// structures directly), exactly as a script on a real machine would read
// it, so an expectation also tests the renderer that printed the number.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>

#include "base/text.h"
#include "machine/machine.h"
#include "mm/page_alloc.h"
#include "proc/procfs.h"
#include "proc/sysctl.h"
#include "scenario/commands.h"
#include "scenario/interp.h"

namespace mmsim::scenario {

namespace {

// ---- text helpers -----------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string join_args(const std::vector<Arg>& args) {
    std::string s;
    for (std::size_t i = 0; i < args.size(); i++) {
        if (i) s += ' ';
        s += args[i].value;
    }
    return s;
}

// The inputs of a filter command: its FILE arguments, or its pipe input.
struct Source {
    std::string name;  // "" for the pipe
    std::string text;
};

std::vector<Source> filter_sources(Interp& in, Invocation& inv, const std::vector<Arg>& files,
                                   const char* cmd) {
    std::vector<Source> out;
    if (files.empty()) {
        if (!inv.has_input)
            throw InputError(inv.cmd.loc, fmt::format("{} needs a FILE to read, or input from a pipe ({})",
                                                      cmd, inv.cmd.spec->usage));
        out.push_back(Source{"", inv.input});
        return out;
    }
    for (const auto& f : files) out.push_back(Source{f.value, in.read_file(f.value, f.loc, cmd)});
    return out;
}

void check_paths(const std::vector<Arg>& files, const char* cmd) {
    for (const auto& f : files)
        if (f.value.empty() || f.value[0] != '/')
            throw InputError(
                f.loc, fmt::format("{}: '{}': give an absolute path such as /proc/meminfo", cmd, f.value));
}

// ---- ref paths --------------------------------------------------------------------

std::string path_text(const std::vector<RefStep>& path, std::size_t upto) {
    std::string s;
    for (std::size_t i = 0; i < upto && i < path.size(); i++) {
        if (path[i].is_index)
            s += fmt::format("[{}]", path[i].index);
        else
            s += (i ? "." : "") + path[i].name;
    }
    return s;
}

struct PathWalk {
    const std::vector<RefStep>& path;
    const Expr& ref;
    std::size_t i = 1;

    [[noreturn]] void fail(const std::string& msg) const { throw InputError(ref.loc, msg); }
    bool done() const { return i >= path.size(); }
    bool next_is_name() const { return !done() && !path[i].is_index; }
    bool next_is_index() const { return !done() && path[i].is_index; }
    std::string name(const std::string& what, const std::string& example) {
        if (!next_is_name())
            fail(fmt::format("{} needs {} after '{}' (for example {})", path_text(path, path.size()), what,
                             path_text(path, i), example));
        return path[i++].name;
    }
    std::optional<int64_t> index() {
        if (!next_is_index()) return std::nullopt;
        return path[i++].index;
    }
    // A node qualifier: node1 (case-insensitive). Defaults to 0.
    int node() {
        if (next_is_name()) {
            const std::string& n = path[i].name;
            if (n.size() > 4 && iequals(n.substr(0, 4), "node") &&
                std::all_of(n.begin() + 4, n.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
                i++;
                return std::atoi(n.c_str() + 4);
            }
        }
        return 0;
    }
    void end() {
        if (!done())
            fail(fmt::format("unexpected '{}' after {}",
                             path[i].is_index ? fmt::format("[{}]", path[i].index) : path[i].name,
                             path_text(path, i)));
    }
    // The rest of the names joined by '.', stopping at an index.
    std::string rest_names() {
        std::string s;
        while (next_is_name()) s += (s.empty() ? "" : ".") + path[i++].name;
        return s;
    }
};

Value pick(PathWalk& w, const std::vector<double>& values, const std::string& what) {
    std::optional<int64_t> idx = w.index();
    w.end();
    if (idx) {
        if (*idx < 0 || static_cast<std::size_t>(*idx) >= values.size())
            w.fail(fmt::format("{}: index {} is out of range (it has {} value{}: 0..{})", what, *idx,
                               values.size(), values.size() == 1 ? "" : "s",
                               values.empty() ? 0 : values.size() - 1));
        return Value::of(values[static_cast<std::size_t>(*idx)]);
    }
    if (values.size() != 1)
        w.fail(fmt::format("{} has {} values; pick one with [i] (for example {}[0])", what, values.size(),
                           what));
    return Value::of(values[0]);
}

std::string unknown_key(const std::string& key, const std::vector<std::string>& keys,
                        const std::string& where) {
    std::string hint = did_you_mean(key, keys);
    return fmt::format("{} has no '{}'{}", where, key,
                       hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint));
}

// ---- /proc file parsers for the value sources ---------------------------------------

// "Node 0, zone   Normal, type  Movable  1 2 3" -> node, zone, type, numbers.
struct NodeZoneLine {
    int node = -1;
    std::string zone;
    std::string type;
    std::vector<double> numbers;
};

std::optional<NodeZoneLine> parse_node_zone_line(const std::string& line) {
    std::string s = line;
    std::replace(s.begin(), s.end(), ',', ' ');
    auto t = split_ws(s);
    if (t.size() < 4 || t[0] != "Node" || t[2] != "zone") return std::nullopt;
    NodeZoneLine r;
    double n;
    if (!to_number(t[1], n)) return std::nullopt;
    r.node = static_cast<int>(n);
    r.zone = t[3];
    std::size_t i = 4;
    if (i + 1 < t.size() && t[i] == "type") {
        r.type = t[i + 1];
        i += 2;
    }
    for (; i < t.size(); i++) {
        double v;
        if (to_number(t[i], v)) r.numbers.push_back(v);
    }
    return r;
}

struct ZoneFields {
    int node = 0;
    std::string zone;
    std::map<std::string, std::vector<double>> fields;
};

struct ZoneInfo {
    std::vector<ZoneFields> zones;
    std::map<int, std::map<std::string, std::vector<double>>> node_stats;
};

ZoneInfo parse_zoneinfo(const std::string& text) {
    ZoneInfo zi;
    enum class Mode { Zone, NodeStats, Pagesets } mode = Mode::Zone;
    int cpu = -1;
    for (const auto& line : split_lines(text)) {
        if (line.rfind("Node ", 0) == 0) {
            auto nz = parse_node_zone_line(line);
            if (!nz) continue;
            zi.zones.push_back(ZoneFields{nz->node, nz->zone, {}});
            mode = Mode::Zone;
            cpu = -1;
            continue;
        }
        if (zi.zones.empty()) continue;
        ZoneFields& z = zi.zones.back();
        std::string t = trim(line);
        if (t == "per-node stats") {
            mode = Mode::NodeStats;
            continue;
        }
        if (t == "pagesets") {
            mode = Mode::Pagesets;
            continue;
        }
        auto tok = split_ws(t);
        if (tok.size() >= 3 && tok[0] == "pages" && tok[1] == "free") {
            double v;
            if (to_number(tok[2], v)) z.fields["free"] = {v};
            mode = Mode::Zone;
            continue;
        }
        if (t.rfind("protection:", 0) == 0) {
            std::string inside = t.substr(11);
            std::replace_if(
                inside.begin(), inside.end(), [](char c) { return c == '(' || c == ')' || c == ','; }, ' ');
            std::vector<double> vals;
            for (const auto& x : split_ws(inside)) {
                double v;
                if (to_number(x, v)) vals.push_back(v);
            }
            z.fields["protection"] = vals;
            continue;
        }
        if (t.rfind("vm stats threshold:", 0) == 0) {
            double v;
            if (to_number(trim(t.substr(19)), v)) z.fields["stats_threshold"] = {v};
            continue;
        }
        if (tok.size() < 2) continue;
        std::string key = tok[0];
        if (!key.empty() && key.back() == ':') key.pop_back();
        double v;
        if (!to_number(tok[1], v)) continue;
        if (key == "cpu" && mode == Mode::Pagesets) {
            cpu = static_cast<int>(v);
            continue;
        }
        if (mode == Mode::NodeStats)
            zi.node_stats[z.node][key] = {v};
        else if (mode == Mode::Pagesets && cpu >= 0 &&
                 (key == "count" || key == "high" || key == "batch" || key == "high_min" ||
                  key == "high_max"))
            z.fields[fmt::format("cpu{}.{}", cpu, key)] = {v};
        else
            z.fields[key] = {v};
    }
    return zi;
}

// Finds a zone by name on a node, case-insensitively (T has .node, .zone).
template <class T>
const T& find_zone(PathWalk& w, const std::vector<T>& zones, int node, const std::string& name,
                   const char* file) {
    std::vector<std::string> names;
    for (const auto& z : zones) {
        if (z.node != node) continue;
        if (iequals(z.zone, name)) return z;
        names.push_back(z.zone);
    }
    if (names.empty()) w.fail(fmt::format("{} has no node {}", file, node));
    w.fail(
        fmt::format("{} has no zone '{}' on node {} (it has {})", file, name, node, fmt::join(names, ", ")));
}

Value zoneinfo_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    PathWalk w{path, ref};
    ZoneInfo zi = parse_zoneinfo(in.read_file_cached("/proc/zoneinfo", ref.loc));
    int node = w.node();
    std::string zone = w.name("a zone", "zoneinfo.Normal.min");
    const ZoneFields& z = find_zone(w, zi.zones, node, zone, "/proc/zoneinfo");
    std::string key = w.rest_names();
    if (key.empty())
        w.fail(fmt::format("{} needs a field (for example {}.min)", path_text(path, path.size()),
                           path_text(path, path.size())));
    auto it = z.fields.find(key);
    if (it == z.fields.end()) {
        auto ns = zi.node_stats.find(node);
        if (ns != zi.node_stats.end()) {
            auto jt = ns->second.find(key);
            if (jt != ns->second.end()) return pick(w, jt->second, path_text(path, path.size()));
        }
        std::vector<std::string> keys;
        for (const auto& [k, _] : z.fields) keys.push_back(k);
        if (ns != zi.node_stats.end())
            for (const auto& [k, _] : ns->second) keys.push_back(k);
        w.fail(unknown_key(key, keys, fmt::format("zone {} in /proc/zoneinfo", z.zone)));
    }
    return pick(w, it->second, path_text(path, path.size()));
}

Value buddyinfo_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    PathWalk w{path, ref};
    std::vector<NodeZoneLine> rows;
    for (const auto& line : split_lines(in.read_file_cached("/proc/buddyinfo", ref.loc)))
        if (auto r = parse_node_zone_line(line)) rows.push_back(*r);
    int node = w.node();
    std::string zone = w.name("a zone", "buddyinfo.Normal[10]");
    const NodeZoneLine& row = find_zone(w, rows, node, zone, "/proc/buddyinfo");
    if (!w.next_is_index())
        w.fail(
            fmt::format("{} needs an order, as in buddyinfo.{}[10]", path_text(path, path.size()), row.zone));
    return pick(w, row.numbers, fmt::format("buddyinfo.{}", row.zone));
}

Value pagetypeinfo_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    PathWalk w{path, ref};
    std::vector<NodeZoneLine> free_rows, block_rows;
    std::vector<std::string> block_types;
    for (const auto& line : split_lines(in.read_file_cached("/proc/pagetypeinfo", ref.loc))) {
        if (line.rfind("Number of blocks type", 0) == 0) {
            block_types = split_ws(line.substr(21));
            continue;
        }
        auto r = parse_node_zone_line(line);
        if (!r) continue;
        (r->type.empty() ? block_rows : free_rows).push_back(*r);
    }
    int node = w.node();
    std::string zone = w.name("a zone", "pagetypeinfo.Normal.Movable[0]");
    std::string what = w.name("a migratetype or 'blocks'", "pagetypeinfo.Normal.Movable[0]");
    if (what == "blocks") {
        const NodeZoneLine& row = find_zone(w, block_rows, node, zone, "/proc/pagetypeinfo");
        std::string type = w.name("a migratetype", "pagetypeinfo.Normal.blocks.Movable");
        w.end();
        for (std::size_t i = 0; i < block_types.size() && i < row.numbers.size(); i++)
            if (iequals(block_types[i], type)) return Value::of(row.numbers[i]);
        w.fail(unknown_key(type, block_types, "the block counts of /proc/pagetypeinfo"));
    }
    std::vector<std::string> types;
    for (const auto& r : free_rows) {
        if (r.node != node || !iequals(r.zone, zone)) continue;
        if (iequals(r.type, what)) {
            if (!w.next_is_index())
                w.fail(fmt::format("{} needs an order, as in {}[0]", path_text(path, path.size()),
                                   path_text(path, path.size())));
            return pick(w, r.numbers, path_text(path, path.size()));
        }
        types.push_back(r.type);
    }
    if (types.empty()) {
        find_zone(w, block_rows, node, zone, "/proc/pagetypeinfo");
        w.fail(fmt::format("/proc/pagetypeinfo lists no free pages for zone {} on node {}", zone, node));
    }
    types.push_back("blocks");
    w.fail(unknown_key(what, types, fmt::format("zone {} in /proc/pagetypeinfo", zone)));
}

// "Key: value [kB]" or "key value" files.
Value keyed_file_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref, const char* file,
                       bool colon) {
    PathWalk w{path, ref};
    std::string key = w.name("a field", colon ? "meminfo.MemFree" : "vmstat.pgfault");
    std::vector<std::string> keys;
    for (const auto& line : split_lines(in.read_file_cached(file, ref.loc))) {
        std::string k, rest;
        if (colon) {
            std::size_t c = line.find(':');
            if (c == std::string::npos) continue;
            k = trim(line.substr(0, c));
            rest = line.substr(c + 1);
        } else {
            auto t = split_ws(line);
            if (t.size() < 2) continue;
            k = t[0];
            rest = t[1];
        }
        if (k != key) {
            keys.push_back(k);
            continue;
        }
        auto t = split_ws(rest);
        double v;
        if (t.empty() || !to_number(t[0], v))
            w.fail(fmt::format("{}: the value of {} is not a number", file, key));
        if (t.size() > 1 && t[1] == "kB") v *= 1024;
        w.end();
        return Value::of(v);
    }
    w.fail(unknown_key(key, keys, file));
}

// The /proc/sys/fs files mmsim keeps (fs/dcache.c, fs/inode.c,
// fs/file_table.c), in sysctl -a's order; only file-max is writable.
const std::vector<std::string>& sysctl_fs_names() {
    static const std::vector<std::string> names = {"dentry-state", "file-max", "file-nr", "inode-nr",
                                                   "inode-state"};
    return names;
}

Value sysctl_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    PathWalk w{path, ref};
    std::string ns = w.name("'vm' or 'fs'", "sysctl.vm.swappiness");
    if (ns != "vm" && ns != "fs")
        w.fail(fmt::format("only the vm.* and fs.* sysctls exist in mmsim, not {}.*", ns));
    std::string name = w.name("a sysctl name", ns == "fs" ? "sysctl.fs.file_nr[0]" : "sysctl.vm.swappiness");
    if (ns == "fs") {
        std::replace(name.begin(), name.end(), '_', '-');
        const auto& fs_files = sysctl_fs_names();
        if (std::find(fs_files.begin(), fs_files.end(), name) == fs_files.end())
            w.fail(unknown_key(name, fs_files, "/proc/sys/fs"));
    } else if (!sysctl_vm_find(name)) {
        std::string dashed = name;
        std::replace(dashed.begin(), dashed.end(), '_', '-');
        if (sysctl_vm_find(dashed)) {
            name = dashed;
        } else {
            std::string hint = sysctl_vm_suggest(name);
            w.fail(fmt::format("unknown sysctl 'vm.{}'{}", name,
                               hint.empty() ? "" : fmt::format(" (did you mean vm.{}?)", hint)));
        }
    }
    std::string text = in.read_file_cached("/proc/sys/" + ns + "/" + name, ref.loc);
    auto tok = split_ws(text);
    std::vector<double> nums;
    for (const auto& t : tok) {
        double v;
        if (!to_number(t, v)) {
            w.end();
            return Value::of(trim(text));
        }
        nums.push_back(v);
    }
    return pick(w, nums, "sysctl." + ns + "." + name);
}

Value alloc_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    PathWalk w{path, ref};
    std::string name = w.name("the name given with as=", "alloc.big");
    auto& handles = in.page_handles();
    auto it = handles.find(name);
    if (it == handles.end()) {
        std::vector<std::string> names;
        for (const auto& [n, _] : handles)
            if (!n.empty()) names.push_back(n);
        w.fail(unknown_key(name, names, "alloc_pages (as=NAME)"));
    }
    std::string what = w.done() ? "blocks" : w.name("blocks or pages", "alloc.big.pages");
    w.end();
    if (what == "blocks") return Value::of(static_cast<double>(it->second.size()));
    if (what == "pages") {
        double pages = 0;
        for (const auto& b : it->second) pages += static_cast<double>(uint64_t{1} << b.order);
        return Value::of(pages);
    }
    w.fail(fmt::format("alloc.{} has 'blocks' and 'pages', not '{}'", name, what));
}

Value clock_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    PathWalk w{path, ref};
    std::string what = w.name("'now' or 'ns'", "clock.now");
    w.end();
    Nanos now = in.kernel(ref.loc).clock.now();
    if (what == "now") return Value::of(static_cast<double>(now) / 1e9);
    if (what == "ns") return Value::of(static_cast<double>(now));
    w.fail(fmt::format("clock has 'now' (seconds) and 'ns', not '{}'", what));
}

// ---- boot -----------------------------------------------------------------------------

// Builds the machine description a `boot` line asks for.
MachineDesc boot_desc(const Args& args, const Command& c, const std::string& machine_path) {
    const Arg* machine = args.option("machine");
    std::vector<BootArg> rest;
    for (const auto& [k, v] : args.options)
        if (k != "machine") rest.push_back(BootArg{k, v.value, v.loc});
    if (machine && c.heredoc)
        throw InputError(machine->loc, "boot takes machine=FILE or a here-document, not both");
    if (!machine && !c.heredoc) return machine_from_boot_args(rest, c.loc);

    MachineDesc desc;
    if (c.heredoc) {
        const std::string& file = c.heredoc->body_loc.file;
        try {
            desc = parse_machine_toml(c.heredoc->body, file);
        } catch (const InputError& e) {
            // Place the machine description's error inside the scenario.
            SourceLoc loc = e.loc();
            if (loc.file == file && loc.line > 0) {
                loc.line += c.heredoc->body_loc.line - 1;
                throw InputError(loc, e.message());
            }
            throw;
        }
    } else {
        desc = load_machine_file(machine_path);
    }
    for (const auto& a : rest) {
        if (a.key.rfind("vm.", 0) == 0) {
            desc.sysctls.push_back(BootSysctl{a.key, a.value, a.loc});
        } else if (a.key == "thp") {
            if (a.value != "always" && a.value != "madvise" && a.value != "never")
                throw InputError(a.loc,
                                 fmt::format("thp= must be always, madvise or never, not '{}'", a.value));
            desc.thp_enabled = a.value;
        } else if (a.key == "seed") {
            desc.seed = static_cast<uint64_t>(
                arg_int(Arg{a.value, a.loc}, "seed=", 0, std::numeric_limits<int64_t>::max()));
        } else {
            throw InputError(
                a.loc, fmt::format("with {}, boot takes only vm.NAME=VALUE, thp= and seed= (the machine "
                                   "description sets '{}')",
                                   c.heredoc ? "a here-document" : "machine=FILE", a.key));
        }
    }
    return desc;
}

// machine=FILE relative to the scenario's directory first (parse time has
// no interpreter, so this mirrors Interp::resolve_input_path).
std::string machine_path_beside(const std::string& path, const std::string& scenario) {
    if (path.empty() || path[0] == '/' || scenario.empty() || scenario[0] == '<') return path;
    std::size_t slash = scenario.rfind('/');
    std::string beside = slash == std::string::npos ? path : scenario.substr(0, slash + 1) + path;
    if (FILE* f = std::fopen(beside.c_str(), "r")) {
        std::fclose(f);
        return beside;
    }
    return path;
}

void register_boot(CommandRegistry& r) {
    CommandSpec s;
    s.name = "boot";
    s.usage =
        "boot ram=SIZE [cpus=N] [nodes=N] [arch=x86_64|i386] [kernelcore=SIZE] [movablecore=SIZE] "
        "[thp=always|madvise|never] [swap=SIZE] [vm.NAME=VALUE...] | boot machine=FILE [vm.NAME=VALUE...] | "
        "boot <<EOF";
    s.summary =
        "Boots the simulated machine: from key=value hardware, a TOML machine file, or a TOML here-document.";
    s.examples = {"boot ram=8G cpus=2", "boot ram=8G swap=8G cpus=2", "boot ram=1G vm.min_free_kbytes=30720",
                  "boot machine=host.toml", "boot <<EOF\narch = \"explicit\"\n...\nEOF"};
    s.options = {
        {"machine", ArgKind::Text, "a TOML machine file (beside the scenario, or in the working directory)"}};
    s.any_options = true;
    s.heredoc = true;
    s.needs_kernel = false;
    s.in_events = false;
    s.check = [](const Args& args, const Command& c) {
        const Arg* m = args.option("machine");
        (void)boot_desc(args, c, m ? machine_path_beside(m->value, c.loc.file) : std::string());
    };
    s.run = [](Interp& in, Invocation& inv) {
        const Arg* m = inv.args.option("machine");
        MachineDesc desc = boot_desc(inv.args, inv.cmd, m ? in.resolve_input_path(m->value) : std::string());
        in.boot(std::move(desc), inv.cmd.loc);
    };
    r.add(std::move(s));
}

// ---- sysctl ---------------------------------------------------------------------------

struct SysctlItem {
    std::string key;         // as written
    std::string dir = "vm";  // vm or fs
    std::string name;        // under /proc/sys/DIR
    std::optional<std::string> value;
    SourceLoc loc;
};

std::vector<SysctlItem> sysctl_items(const Args& args) {
    std::vector<SysctlItem> items;
    const auto& p = args.positional;
    for (std::size_t i = 0; i < p.size(); i++) {
        SysctlItem it;
        it.loc = p[i].loc;
        std::size_t eq = p[i].value.find('=');
        if (eq != std::string::npos) {
            it.key = p[i].value.substr(0, eq);
            it.value = p[i].value.substr(eq + 1);
        } else if (i + 2 < p.size() && p[i + 1].value == "=") {
            it.key = p[i].value;
            it.value = p[i + 2].value;
            i += 2;
        } else {
            it.key = p[i].value;
        }
        if (it.key.rfind("fs.", 0) == 0 || it.key.rfind("fs/", 0) == 0) {
            it.dir = "fs";
            it.name = it.key.substr(3);
            const auto& fs = sysctl_fs_names();
            if (std::find(fs.begin(), fs.end(), it.name) == fs.end())
                throw InputError(it.loc, unknown_key(it.name, fs, "/proc/sys/fs"));
            if (it.value && it.name != "file-max")
                throw InputError(it.loc, fmt::format("sysctl: fs.{} is read-only", it.name));
            items.push_back(std::move(it));
            continue;
        }
        it.name = sysctl_vm_key(it.key);
        if (it.name.empty())
            throw InputError(it.loc,
                             fmt::format("'{}' is not a vm.* or fs.* sysctl; mmsim simulates the vm.* "
                                         "sysctls and fs.file-max, file-nr, inode-nr, inode-state and "
                                         "dentry-state (write vm.NAME or fs.NAME)",
                                         it.key));
        if (!sysctl_vm_find(it.name)) {
            std::string hint = sysctl_vm_suggest(it.name);
            throw InputError(it.loc,
                             fmt::format("unknown sysctl '{}'{}", it.key,
                                         hint.empty() ? "" : fmt::format(" (did you mean vm.{}?)", hint)));
        }
        items.push_back(std::move(it));
    }
    if (items.empty() && !args.has_flag("-a"))
        throw InputError(args.loc,
                         "sysctl needs a name (sysctl vm.swappiness), an assignment (sysctl "
                         "vm.swappiness=10) or -a");
    return items;
}

std::string strip_nl(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

void register_sysctl(CommandRegistry& r) {
    CommandSpec s;
    s.name = "sysctl";
    s.usage = "sysctl [-n] [-q] [-w] vm.NAME[=VALUE]|fs.NAME[=VALUE]... | sysctl -a";
    s.summary =
        "Reads or writes vm.* sysctls and fs.file-max (and reads fs.file-nr, inode-nr, inode-state, "
        "dentry-state), printing 'vm.NAME = VALUE' as sysctl(8) does.";
    s.examples = {"sysctl vm.min_free_kbytes", "sysctl vm.swappiness=10",
                  "sysctl -n vm.watermark_scale_factor", "sysctl -a"};
    s.flags = {{"-n", false, ArgKind::Text, "print values only"},
               {"-q", false, ArgKind::Text, "print nothing after a write"},
               {"-w", false, ArgKind::Text, "write (accepted for compatibility)"},
               {"-a", false, ArgKind::Text, "print every fs and vm sysctl"}};
    s.max_args = -1;
    s.check = [](const Args& args, const Command&) { (void)sysctl_items(args); };
    s.run = [](Interp& in, Invocation& inv) {
        Kernel& k = in.kernel(inv.cmd.loc);
        bool values_only = inv.args.has_flag("-n");
        auto print_in = [&](const std::string& dir, const std::string& name, const std::string& value) {
            inv.out +=
                values_only ? fmt::format("{}\n", value) : fmt::format("{}.{} = {}\n", dir, name, value);
        };
        auto print = [&](const std::string& name, const std::string& value) { print_in("vm", name, value); };
        if (inv.args.has_flag("-a")) {
            for (const std::string& name : sysctl_fs_names())
                if (auto v = proc_read(k, "/proc/sys/fs/" + name)) print_in("fs", name, strip_nl(*v));
            for (const auto& info : sysctl_vm_table()) {
                if (!(info.mode & 0444)) continue;
                auto v = sysctl_vm_read(k, info.name);
                if (v) print(info.name, strip_nl(*v));
            }
        }
        for (const auto& it : sysctl_items(inv.args)) {
            if (it.dir == "fs") {
                const std::string path = "/proc/sys/fs/" + it.name;
                if (it.value) {
                    if (auto res = proc_write(k, path, *it.value + "\n"); !res)
                        throw InputError(it.loc, fmt::format("sysctl: setting key \"fs.{}\": {}", it.name,
                                                             errno_text(res.err())));
                    if (!inv.args.has_flag("-q")) print_in("fs", it.name, *it.value);
                } else if (auto v = proc_read(k, path)) {
                    print_in("fs", it.name, strip_nl(*v));
                }
                continue;
            }
            if (it.value) {
                auto res = sysctl_vm_write(k, it.name, *it.value);
                if (!res) {
                    const SysctlInfo* info = sysctl_vm_find(it.name);
                    std::string detail;
                    if (res.err() == Errno::INVAL && info && !info->range.empty())
                        detail = fmt::format(" (vm.{} takes {})", it.name, info->range);
                    else if (!res.error().message.empty())
                        detail = fmt::format(" ({})", res.error().message);
                    throw InputError(it.loc, fmt::format("sysctl: setting key \"vm.{}\": {}{}", it.name,
                                                         errno_text(res.err()), detail));
                }
                if (!inv.args.has_flag("-q")) print(it.name, *it.value);
            } else {
                auto v = sysctl_vm_read(k, it.name);
                if (!v) {
                    if (v.err() == Errno::ACCES || v.err() == Errno::PERM)
                        throw InputError(it.loc,
                                         fmt::format("sysctl: permission denied on key 'vm.{}' (it can only "
                                                     "be written)",
                                                     it.name));
                    throw InputError(it.loc, fmt::format("sysctl: reading key \"vm.{}\": {}", it.name,
                                                         errno_text(v.err())));
                }
                print(it.name, strip_nl(*v));
            }
        }
    };
    r.add(std::move(s));

    // Redirections into /proc/sys/vm are checked as the parser reads them.
    r.check_write_path = [](const std::string& path, const SourceLoc& loc) {
        const std::string dir = "/proc/sys/vm/";
        if (path.rfind(dir, 0) != 0) return;
        std::string name = path.substr(dir.size());
        if (sysctl_vm_find(name)) return;
        std::string hint = sysctl_vm_suggest(name);
        throw InputError(loc,
                         fmt::format("{}: No such file or directory{}", path,
                                     hint.empty() ? "" : fmt::format(" (did you mean {}{}?)", dir, hint)));
    };
}

// ---- text commands ------------------------------------------------------------------------

std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); i++) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case '\\':
                out += '\\';
                break;
            default:
                out += '\\';
                out += c;
        }
    }
    return out;
}

void register_text(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "echo";
        s.usage = "echo [-n] [-e] TEXT...";
        s.summary = "Prints its words; with '> FILE' it writes them to a /proc or /sys file.";
        s.examples = {"echo hello", "echo 30720 > /proc/sys/vm/min_free_kbytes", "echo \"free: $free\""};
        s.flags = {{"-n", false, ArgKind::Text, "no newline"},
                   {"-e", false, ArgKind::Text, "interpret \\n and \\t"}};
        s.lenient_flags = true;
        s.max_args = -1;
        s.needs_kernel = false;
        s.run = [](Interp&, Invocation& inv) {
            std::string text = join_args(inv.args.positional);
            if (inv.args.has_flag("-e")) text = unescape(text);
            inv.out += text;
            if (!inv.args.has_flag("-n")) inv.out += '\n';
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "print";
        s.usage = "print EXPR | print TEXT...";
        s.summary = "Prints an expression's value ('meminfo.MemFree = 123'), or its words like echo.";
        s.examples = {"print meminfo.MemFree / 1M", "print zoneinfo.Normal.min", "print done"};
        s.syntax = Syntax::ExprOrWords;
        s.max_args = -1;
        s.needs_kernel = false;
        s.run = [](Interp& in, Invocation& inv) {
            const Command& c = inv.cmd;
            if (!c.expr) {
                inv.out += join_args(inv.args.positional) + "\n";
                return;
            }
            Value v = in.eval(*c.expr);
            if (c.expr->is_constant())
                inv.out += format_value(v, false) + "\n";
            else
                inv.out += fmt::format("{} = {}\n", c.expr->text, format_value(v, false));
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "let";
        s.usage = "let NAME = EXPR | let NAME = TEXT...";
        s.summary = "Sets a variable, used later as $NAME or ${NAME}.";
        s.examples = {"let order = 10", "let free = meminfo.MemFree", "let zone = Normal"};
        s.syntax = Syntax::Let;
        s.contexts = {"script"};
        s.max_args = -1;
        s.needs_kernel = false;
        s.run = [](Interp& in, Invocation& inv) {
            const Command& c = inv.cmd;
            if (c.expr)
                in.set_var(c.let_name, format_value(in.eval(*c.expr), false));
            else
                in.set_var(c.let_name, join_args(inv.args.positional));
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "cat";
        s.usage = "cat [FILE...]";
        s.summary = "Prints simulated files (/proc/..., /sys/...), or passes its pipe input on.";
        s.examples = {"cat /proc/meminfo", "cat /proc/sys/vm/min_free_kbytes"};
        s.max_args = -1;
        s.reads_input = true;
        s.needs_kernel = false;  // reading a file asks for the machine
        s.check = [](const Args& a, const Command&) { check_paths(a.positional, "cat"); };
        s.run = [](Interp& in, Invocation& inv) {
            for (const auto& src : filter_sources(in, inv, inv.args.positional, "cat")) inv.out += src.text;
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "grep";
        s.usage = "grep [-i] [-v] [-c] [-n] [-w] [-E|-F] PATTERN [FILE...]";
        s.summary = "Prints the lines that match a regular expression (basic, or extended with -E).";
        s.examples = {"grep MemFree /proc/meminfo", "cat /proc/zoneinfo | grep -E '^Node|min'"};
        s.flags = {{"-i", false, ArgKind::Text, "ignore case"},
                   {"-v", false, ArgKind::Text, "print the lines that do not match"},
                   {"-c", false, ArgKind::Text, "print the number of matching lines"},
                   {"-n", false, ArgKind::Text, "prefix line numbers"},
                   {"-w", false, ArgKind::Text, "match whole words only"},
                   {"-E", false, ArgKind::Text, "extended regular expressions"},
                   {"-F", false, ArgKind::Text, "fixed strings"}};
        s.min_args = 1;
        s.max_args = -1;
        s.reads_input = true;
        s.needs_kernel = false;
        s.check = [](const Args& a, const Command&) {
            check_paths(std::vector<Arg>(a.positional.begin() + 1, a.positional.end()), "grep");
        };
        s.run = [](Interp& in, Invocation& inv) {
            const Args& a = inv.args;
            const Arg& pat = a.positional[0];
            bool icase = a.has_flag("-i"), invert = a.has_flag("-v"), count = a.has_flag("-c"),
                 numbers = a.has_flag("-n"), words = a.has_flag("-w"), fixed = a.has_flag("-F");
            std::regex re;
            if (!fixed) {
                auto flags = a.has_flag("-E") ? std::regex::extended : std::regex::basic;
                if (icase) flags |= std::regex::icase;
                try {
                    re = std::regex(pat.value, flags);
                } catch (const std::regex_error& e) {
                    throw InputError(pat.loc,
                                     fmt::format("grep: invalid pattern '{}': {}", pat.value, e.what()));
                }
            }
            auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
            auto lower = [](std::string s) {
                for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                return s;
            };
            std::string needle = icase ? lower(pat.value) : pat.value;
            auto matches = [&](const std::string& line) {
                auto ok_word = [&](std::size_t pos, std::size_t len) {
                    if (!words) return true;
                    bool before = pos == 0 || !is_word(line[pos - 1]);
                    bool after = pos + len >= line.size() || !is_word(line[pos + len]);
                    return before && after;
                };
                if (fixed) {
                    std::string hay = icase ? lower(line) : line;
                    for (std::size_t p = hay.find(needle); p != std::string::npos;
                         p = hay.find(needle, p + 1))
                        if (ok_word(p, needle.size())) return true;
                    return false;
                }
                for (auto it = std::sregex_iterator(line.begin(), line.end(), re);
                     it != std::sregex_iterator(); ++it)
                    if (ok_word(static_cast<std::size_t>(it->position()),
                                static_cast<std::size_t>(it->length())))
                        return true;
                return false;
            };
            auto files = std::vector<Arg>(a.positional.begin() + 1, a.positional.end());
            auto sources = filter_sources(in, inv, files, "grep");
            bool prefix = sources.size() > 1;
            for (const auto& src : sources) {
                std::size_t n = 0, lineno = 0;
                for (const auto& line : split_lines(src.text)) {
                    lineno++;
                    if (matches(line) == invert) continue;
                    n++;
                    if (count) continue;
                    if (prefix) inv.out += src.name + ":";
                    if (numbers) inv.out += fmt::format("{}:", lineno);
                    inv.out += line + "\n";
                }
                if (count) inv.out += prefix ? fmt::format("{}:{}\n", src.name, n) : fmt::format("{}\n", n);
            }
        };
        r.add(std::move(s));
    }
    for (bool head : {true, false}) {
        CommandSpec s;
        s.name = head ? "head" : "tail";
        s.usage = head ? "head [-n N] [FILE...]" : "tail [-n N|+N] [FILE...]";
        s.summary = head ? "Prints the first N lines (10 by default)."
                         : "Prints the last N lines (10 by default), or from line N on with +N.";
        s.examples = head ? std::vector<std::string>{"head -n 5 /proc/meminfo", "cat /proc/vmstat | head -3"}
                          : std::vector<std::string>{"dmesg | tail -n 20", "tail -n +2 /proc/buddyinfo"};
        s.flags = {{"-n", true, ArgKind::Text, "number of lines"}};
        s.dash_number_flag = "-n";
        s.max_args = -1;
        s.reads_input = true;
        s.needs_kernel = false;
        auto count_of = [head](const Args& a, bool& from_start) -> int64_t {
            from_start = false;
            const Arg* n = a.flag("-n");
            if (!n) return 10;
            Arg v = *n;
            if (!head && !v.value.empty() && v.value[0] == '+') {
                from_start = true;
                v.value = v.value.substr(1);
            }
            return arg_int(v, "the line count", 0, std::numeric_limits<int32_t>::max());
        };
        s.check = [count_of, name = s.name](const Args& a, const Command&) {
            bool from_start;
            (void)count_of(a, from_start);
            check_paths(a.positional, name.c_str());
        };
        s.run = [count_of, head](Interp& in, Invocation& inv) {
            bool from_start;
            auto n = static_cast<std::size_t>(count_of(inv.args, from_start));
            auto sources = filter_sources(in, inv, inv.args.positional, head ? "head" : "tail");
            for (std::size_t i = 0; i < sources.size(); i++) {
                if (sources.size() > 1)
                    inv.out += fmt::format("{}==> {} <==\n", i ? "\n" : "", sources[i].name);
                auto lines = split_lines(sources[i].text);
                std::size_t b = 0, e = lines.size();
                if (head)
                    e = std::min(n, lines.size());
                else if (from_start)
                    b = std::min(n ? n - 1 : 0, lines.size());
                else
                    b = lines.size() > n ? lines.size() - n : 0;
                for (std::size_t j = b; j < e; j++) inv.out += lines[j] + "\n";
            }
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "wc";
        s.usage = "wc [-l] [-w] [-c] [FILE...]";
        s.summary = "Counts lines, words and bytes.";
        s.examples = {"wc -l /proc/vmstat", "grep -c . /proc/meminfo"};
        s.flags = {{"-l", false, ArgKind::Text, "lines"},
                   {"-w", false, ArgKind::Text, "words"},
                   {"-c", false, ArgKind::Text, "bytes"}};
        s.max_args = -1;
        s.reads_input = true;
        s.needs_kernel = false;
        s.check = [](const Args& a, const Command&) { check_paths(a.positional, "wc"); };
        s.run = [](Interp& in, Invocation& inv) {
            bool l = inv.args.has_flag("-l"), w = inv.args.has_flag("-w"), c = inv.args.has_flag("-c");
            if (!l && !w && !c) l = w = c = true;
            int fields = l + w + c;
            for (const auto& src : filter_sources(in, inv, inv.args.positional, "wc")) {
                std::size_t lines =
                    static_cast<std::size_t>(std::count(src.text.begin(), src.text.end(), '\n'));
                std::size_t wordc = split_ws(src.text).size(), bytes = src.text.size();
                std::vector<std::string> cols;
                // GNU wc pads to 7 columns when it prints several counts of a pipe.
                int width = fields > 1 ? 7 : 0;
                if (l) cols.push_back(fmt::format("{:>{}}", lines, width));
                if (w) cols.push_back(fmt::format("{:>{}}", wordc, width));
                if (c) cols.push_back(fmt::format("{:>{}}", bytes, width));
                std::string row = fmt::format("{}", fmt::join(cols, " "));
                inv.out += src.name.empty() ? row + "\n" : fmt::format("{} {}\n", row, src.name);
            }
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "ls";
        s.usage = "ls [DIR...]";
        s.summary = "Lists a simulated directory (/proc/sys/vm, /proc, ...), one name a line.";
        s.examples = {"ls /proc/sys/vm"};
        s.max_args = -1;
        s.check = [](const Args& a, const Command&) { check_paths(a.positional, "ls"); };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            std::vector<Arg> dirs = inv.args.positional;
            if (dirs.empty()) dirs.push_back(Arg{"/proc", inv.cmd.loc});
            auto all = proc_list(k);
            for (std::size_t i = 0; i < dirs.size(); i++) {
                std::string d = dirs[i].value;
                while (d.size() > 1 && d.back() == '/') d.pop_back();
                std::vector<std::string> names;
                bool is_file = false;
                for (const auto& p : all) {
                    if (p == d) is_file = true;
                    if (p.size() > d.size() && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/') {
                        std::string rest = p.substr(d.size() + 1);
                        names.push_back(rest.substr(0, rest.find('/')));
                    }
                }
                names.erase(std::unique(names.begin(), names.end()), names.end());
                std::sort(names.begin(), names.end());
                names.erase(std::unique(names.begin(), names.end()), names.end());
                if (names.empty() && !is_file)
                    throw InputError(dirs[i].loc,
                                     fmt::format("ls: cannot access '{}': No such file or directory", d));
                if (dirs.size() > 1) inv.out += fmt::format("{}{}:\n", i ? "\n" : "", d);
                if (is_file && names.empty()) inv.out += d + "\n";
                for (const auto& n : names) inv.out += n + "\n";
            }
        };
        r.add(std::move(s));
    }
}

// ---- the machine: dmesg, snapshot -------------------------------------------------------

void register_machine(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "dmesg";
        s.usage = "dmesg";
        s.summary = "Prints the simulated kernel log, as dmesg(1) does.";
        s.examples = {"dmesg", "dmesg | grep 'page allocation failure'"};
        s.run = [](Interp& in, Invocation& inv) { inv.out += in.kernel(inv.cmd.loc).log.dmesg(); };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "snapshot";
        s.usage = "snapshot DIR";
        s.summary =
            "Writes DIR/proc and DIR/sys as they are now, for real tools to read (committed when the run "
            "ends without an error).";
        s.examples = {"snapshot out/after-boot"};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            in.snapshot(inv.args.positional[0].value, inv.args.positional[0].loc);
        };
        r.add(std::move(s));
    }
}

// ---- time: sleep, at, every -----------------------------------------------------------

// now + delta, or an error if simulated time would overflow (about 292
// years of nanoseconds).
Nanos later(Nanos now, Nanos delta, const SourceLoc& loc) {
    if (delta > std::numeric_limits<Nanos>::max() / 2 - now)
        throw InputError(loc, fmt::format("{} from {} is beyond the end of simulated time",
                                          format_duration(delta), format_duration(now)));
    return now + delta;
}

void register_time(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "sleep";
        s.usage = "sleep DURATION...";
        s.summary =
            "Lets simulated time pass (units ns, us, ms, s, m, h; a bare number is seconds), running every "
            "event that falls due.";
        s.examples = {"sleep 5s", "sleep 1m 30s", "sleep 250ms"};
        s.min_args = 1;
        s.max_args = -1;
        s.in_events = false;
        s.check = [](const Args& a, const Command&) {
            for (const auto& d : a.positional) (void)arg_duration(d, "sleep");
        };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            Nanos until = k.clock.now();
            for (const auto& d : inv.args.positional) until = later(until, arg_duration(d, "sleep"), d.loc);
            k.clock.advance_to(until);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "at";
        s.usage = "at TIME { COMMANDS } | at +DELAY COMMAND";
        s.summary =
            "Runs commands at a simulated time since boot (or +DELAY from now), when a later sleep reaches "
            "it.";
        s.examples = {"at 10s { cat /proc/buddyinfo }", "at +500ms echo half a second later"};
        s.min_args = s.max_args = 1;
        s.body = BodyKind::BracesOrCommand;
        s.body_is_event = true;
        s.lead_words = [](const std::vector<Word>&, const Token&) -> std::size_t { return 1; };
        auto when_of = [](const Arg& a, bool& relative) {
            Arg v = a;
            relative = !v.value.empty() && v.value[0] == '+';
            if (relative) v.value = v.value.substr(1);
            return arg_duration(v, "the time of at");
        };
        s.check = [when_of](const Args& a, const Command&) {
            bool rel;
            (void)when_of(a.positional[0], rel);
        };
        s.run = [when_of](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            bool rel;
            Nanos t = when_of(inv.args.positional[0], rel);
            Nanos now = k.clock.now();
            if (!rel && t < now)
                throw InputError(
                    inv.args.positional[0].loc,
                    fmt::format("at {}: that time has passed (the clock is at {}); write at +DELAY for a "
                                "time relative to now",
                                inv.args.positional[0].value, format_duration(now)));
            Nanos when =
                rel ? later(now, t, inv.args.positional[0].loc) : later(0, t, inv.args.positional[0].loc);
            auto body = inv.cmd.body;
            auto id = std::make_shared<uint64_t>(0);
            Interp* interp = &in;
            *id = k.clock.schedule_at(when, [interp, body, id] {
                interp->note_ran(*id);
                interp->run_event(*body);
            });
            in.note_pending(*id, inv.cmd.loc);
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "every";
        s.usage = "every PERIOD [for DURATION] { COMMANDS } | every PERIOD [for DURATION] COMMAND";
        s.summary =
            "Runs commands every PERIOD of simulated time, starting one PERIOD from now, until the scenario "
            "ends or DURATION has passed.";
        s.examples = {"every 1s { grep MemFree /proc/meminfo }",
                      "every 100ms for 2s print vmstat.pgalloc_normal"};
        s.min_args = 1;
        s.max_args = 3;
        s.body = BodyKind::BracesOrCommand;
        s.body_is_event = true;
        s.lead_words = [](const std::vector<Word>& so_far, const Token& next) -> std::size_t {
            if (so_far.size() == 1 && next.kind == Tok::Word && next.is_literal() && next.literal() == "for")
                return 3;
            if (so_far.size() >= 2 && so_far[1].is_literal() && so_far[1].literal() == "for") return 3;
            return 1;
        };
        auto parse = [](const Args& a, Nanos& period, std::optional<Nanos>& span) {
            const auto& p = a.positional;
            if (p.size() == 2 || (p.size() == 3 && p[1].value != "for"))
                throw InputError(
                    p[1].loc, "expected 'for DURATION' after the period (every PERIOD [for DURATION] ...)");
            period = arg_duration(p[0], "the period of every");
            if (period == 0) throw InputError(p[0].loc, "every needs a period above zero");
            span.reset();
            if (p.size() == 3) span = arg_duration(p[2], "the duration of every");
        };
        s.check = [parse](const Args& a, const Command&) {
            Nanos period;
            std::optional<Nanos> span;
            parse(a, period, span);
        };
        s.run = [parse](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            struct Repeat : std::enable_shared_from_this<Repeat> {
                Interp* interp;
                Clock* clock;
                std::shared_ptr<Block> body;
                Nanos period;
                std::optional<Nanos> end;
                void arm(Nanos when) {
                    if (end && when > *end) return;
                    auto self = shared_from_this();
                    clock->schedule_at(when, [self, when] {
                        self->interp->run_event(*self->body);
                        if (self->period <= std::numeric_limits<Nanos>::max() / 2 - when)
                            self->arm(when + self->period);
                    });
                }
            };
            auto rep = std::make_shared<Repeat>();
            std::optional<Nanos> span;
            parse(inv.args, rep->period, span);
            rep->interp = &in;
            rep->clock = &k.clock;
            rep->body = inv.cmd.body;
            Nanos now = k.clock.now();
            const SourceLoc& loc = inv.args.positional[0].loc;
            if (span) rep->end = later(now, *span, loc);
            rep->arm(later(now, rep->period, loc));
        };
        r.add(std::move(s));
    }
}

// ---- expect, help, exit ---------------------------------------------------------------------

void register_control(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "expect";
        s.usage = "expect EXPR";
        s.summary =
            "Checks that an expression holds; if not, reports both sides and the run exits with status 1.";
        s.examples = {"expect zoneinfo.Normal.min == 6000", "expect meminfo.MemFree > 100M",
                      "expect buddyinfo.Normal[10] > 0 && vmstat.pgalloc_normal >= 1"};
        s.syntax = Syntax::Expr;
        s.needs_kernel = false;
        s.run = [](Interp& in, Invocation& inv) {
            const Expr& e = *inv.cmd.expr;
            std::vector<Comparison> trace;
            Value v = in.eval(e, &trace);
            if (!truthy(v))
                in.expectation_failed(
                    e.loc, fmt::format("expectation failed: {} {}", e.text, explain_false(e, trace, v)));
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "help";
        s.usage = "help [COMMAND]";
        s.summary = "Lists the commands and value sources, or explains one command.";
        s.max_args = 1;
        s.needs_kernel = false;
        s.run = [](Interp& in, Invocation& inv) {
            const CommandRegistry& reg = in.registry();
            if (!inv.args.positional.empty()) {
                const Arg& a = inv.args.positional[0];
                const CommandSpec* spec = reg.find(a.value);
                if (!spec)
                    throw InputError(a.loc, fmt::format("help: unknown command '{}'{}", a.value,
                                                        reg.suggest_command(a.value, "script")));
                inv.out += fmt::format("usage: {}\n  {}\n", spec->usage, spec->summary);
                for (const auto& o : spec->options)
                    if (!o.help.empty()) inv.out += fmt::format("  {}=  {}\n", o.key, o.help);
                for (const auto& f : spec->flags)
                    if (!f.help.empty()) inv.out += fmt::format("  {}  {}\n", f.flag, f.help);
                if (!spec->examples.empty()) {
                    inv.out += "examples:\n";
                    for (const auto& ex : spec->examples) inv.out += fmt::format("  {}\n", ex);
                }
                return;
            }
            inv.out += "commands:\n";
            for (const auto* spec : reg.commands())
                if (std::find(spec->contexts.begin(), spec->contexts.end(), "script") != spec->contexts.end())
                    inv.out += fmt::format("  {:<12} {}\n", spec->name, spec->summary);
            inv.out += "values in expressions (expect, print, let, $((...))):\n";
            for (const auto* src : reg.sources())
                inv.out += fmt::format("  {:<12} {}\n", src->name, src->summary);
            inv.out += "help COMMAND explains one command.\n";
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "exit";
        s.usage = "exit [STATUS]";
        s.summary = "Ends the scenario (or the shell) here; with STATUS, that is the exit status.";
        s.max_args = 1;
        s.needs_kernel = false;
        s.check = [](const Args& a, const Command&) {
            if (!a.positional.empty()) (void)arg_int(a.positional[0], "the exit status", 0, 255);
        };
        s.run = [](Interp&, Invocation& inv) {
            Interp::Exit x;
            if (!inv.args.positional.empty())
                x.status = static_cast<int>(arg_int(inv.args.positional[0], "the exit status", 0, 255));
            throw x;
        };
        r.add(std::move(s));
    }
}

// ---- the page allocator: alloc_pages, free_pages ---------------------------------------------

void register_pages(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "alloc_pages";
        s.usage = "alloc_pages order=N [gfp=FLAGS] [node=N] [count=N] [as=NAME]";
        s.summary =
            "Allocates COUNT blocks of 2^order pages from the buddy allocator (as a kernel caller would), "
            "keeping them under NAME for free_pages.";
        s.examples = {"alloc_pages order=0 count=1000 as=small", "alloc_pages order=10 gfp=GFP_KERNEL as=big",
                      "alloc_pages order=3 gfp=GFP_ATOMIC|__GFP_NOWARN node=1"};
        s.options = {{"order", ArgKind::Int, "0..10 (MAX_PAGE_ORDER)", true},
                     {"gfp", ArgKind::Gfp, "GFP flags (default GFP_KERNEL)"},
                     {"node", ArgKind::Int, "the preferred node (default: the current CPU's)"},
                     {"count", ArgKind::Int, "how many blocks (default 1)"},
                     {"as", ArgKind::Name, "a name to free them by"}};
        auto params = [](const Args& a, unsigned& order, int64_t& count, int& node) {
            order = static_cast<unsigned>(arg_int(*a.option("order"), "order=", 0, MAX_PAGE_ORDER));
            count = a.option("count") ? arg_int(*a.option("count"), "count=", 1, 1ll << 32) : 1;
            node = a.option("node") ? static_cast<int>(arg_int(*a.option("node"), "node=", 0, 1023)) : -1;
        };
        s.check = [params](const Args& a, const Command&) {
            unsigned order;
            int64_t count;
            int node;
            params(a, order, count, node);
        };
        s.run = [params](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            unsigned order;
            int64_t count;
            int node;
            params(inv.args, order, count, node);
            node = node_option(inv.args, k.nodes.size());
            gfp_t gfp = inv.args.option("gfp") ? arg_gfp(*inv.args.option("gfp")) : GFP_KERNEL;
            std::string name = inv.args.option("as") ? inv.args.option("as")->value : std::string();
            auto& blocks = in.page_handles()[name];
            int64_t done = 0;
            for (; done < count; done++) {
                auto pfn = alloc_pages(k, gfp, order, node);
                if (!pfn) break;
                blocks.push_back(Interp::PageBlock{*pfn, order});
            }
            if (done < count)
                inv.out += fmt::format(
                    "alloc_pages: order-{} allocation failed after {} of {} block{} (see dmesg)\n", order,
                    done, count, count == 1 ? "" : "s");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "free_pages";
        s.usage = "free_pages NAME [count=N] [stride=N] | free_pages pfn=N";
        s.summary =
            "Frees blocks that alloc_pages ... as=NAME took: all of them, or COUNT of them, or every "
            "STRIDE-th one (stride=2 frees every other block, fragmenting memory).";
        s.examples = {"free_pages small", "free_pages small stride=2", "free_pages big count=1",
                      "free_pages pfn=0x1000"};
        s.options = {{"count", ArgKind::Int, "free at most this many blocks"},
                     {"stride", ArgKind::Int, "free every N-th block, starting with the first"},
                     {"pfn", ArgKind::Int, "free the block that starts at this page frame"}};
        s.max_args = 1;
        s.check = [](const Args& a, const Command& c) {
            if (a.positional.empty() == !a.option("pfn"))
                throw InputError(
                    c.loc,
                    "free_pages needs a NAME given to alloc_pages as=, or pfn=N (usage: free_pages "
                    "NAME [count=N] [stride=N] | free_pages pfn=N)");
            if (a.option("count"))
                (void)arg_int(*a.option("count"), "count=", 0, std::numeric_limits<int64_t>::max());
            if (a.option("stride"))
                (void)arg_int(*a.option("stride"), "stride=", 1, std::numeric_limits<int64_t>::max());
        };
        s.run = [check = s.check](Interp& in, Invocation& inv) {
            check(inv.args, inv.cmd);
            Kernel& k = in.kernel(inv.cmd.loc);
            auto& handles = in.page_handles();
            if (const Arg* pfn_arg = inv.args.option("pfn")) {
                auto pfn =
                    static_cast<uint64_t>(arg_int(*pfn_arg, "pfn=", 0, std::numeric_limits<int64_t>::max()));
                for (auto& [_, blocks] : handles) {
                    for (auto it = blocks.begin(); it != blocks.end(); ++it) {
                        if (it->pfn.value != pfn) continue;
                        free_pages(k, it->pfn, it->order);
                        blocks.erase(it);
                        return;
                    }
                }
                throw InputError(pfn_arg->loc,
                                 fmt::format("pfn={:#x} is not the start of a block that alloc_pages "
                                             "handed to this scenario",
                                             pfn));
            }
            auto& blocks = find_handle(handles, inv.args.positional[0], "free_pages");
            free_selected(blocks, inv.args,
                          [&](const Interp::PageBlock& b) { free_pages(k, b.pfn, b.order); });
        };
        r.add(std::move(s));
    }
}

// ---- value sources ---------------------------------------------------------------------------------

void register_sources(CommandRegistry& r) {
    r.add_source(ValueSource{"meminfo",
                             "/proc/meminfo fields, in bytes (kB x 1024): meminfo.MemFree > 100M",
                             {"meminfo.MemFree", "meminfo.Active(anon)"},
                             true,
                             [](Interp& in, const std::vector<RefStep>& p, const Expr& e) {
                                 return keyed_file_value(in, p, e, "/proc/meminfo", true);
                             }});
    r.add_source(ValueSource{"vmstat",
                             "/proc/vmstat counters: vmstat.pgalloc_normal",
                             {"vmstat.nr_free_pages"},
                             true,
                             [](Interp& in, const std::vector<RefStep>& p, const Expr& e) {
                                 return keyed_file_value(in, p, e, "/proc/vmstat", false);
                             }});
    r.add_source(ValueSource{"zoneinfo",
                             "/proc/zoneinfo fields: zoneinfo.Normal.min, zoneinfo.node1.DMA32.protection[2]",
                             {"zoneinfo.Normal.min", "zoneinfo.Normal.free", "zoneinfo.Normal.cpu0.high"},
                             true,
                             zoneinfo_value});
    r.add_source(ValueSource{"buddyinfo",
                             "/proc/buddyinfo free blocks per order: buddyinfo.Normal[10]",
                             {"buddyinfo.Normal[10]"},
                             true,
                             buddyinfo_value});
    r.add_source(ValueSource{
        "pagetypeinfo",
        "/proc/pagetypeinfo: pagetypeinfo.Normal.Movable[9], pagetypeinfo.Normal.blocks.Unmovable",
        {"pagetypeinfo.Normal.Movable[0]", "pagetypeinfo.Normal.blocks.Movable"},
        true,
        pagetypeinfo_value});
    r.add_source(ValueSource{"sysctl",
                             "/proc/sys/vm and /proc/sys/fs values: sysctl.vm.min_free_kbytes, "
                             "sysctl.vm.lowmem_reserve_ratio[1], sysctl.fs.file_nr[0]",
                             {"sysctl.vm.swappiness", "sysctl.fs.file_nr[0]"},
                             true,
                             sysctl_value});
    r.add_source(ValueSource{"alloc",
                             "blocks (or .pages) held under an alloc_pages as=NAME: alloc.big.pages",
                             {"alloc.big", "alloc.big.pages"},
                             false,
                             alloc_value});
    r.add_source(ValueSource{"clock",
                             "simulated time since boot: clock.now (seconds), clock.ns",
                             {"clock.now"},
                             true,
                             clock_value});
}

}  // namespace

void register_core_commands(CommandRegistry& r) {
    register_boot(r);
    register_sysctl(r);
    register_text(r);
    register_machine(r);
    register_time(r);
    register_control(r);
    register_pages(r);
    register_sources(r);
}

}  // namespace mmsim::scenario
