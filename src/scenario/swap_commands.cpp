// Swap devices in a scenario: util-linux's swapon and swapoff, and the
// `swap` values of /proc/swaps.
//
//   swapon PATH [size=SIZE] [prio=N | -p N] [type=file|partition] [discard[=once|pages]]
//          [medium=disk|ssd|zram] [read_latency=DUR] [write_latency=DUR]
//       size= first writes a swap area of SIZE at PATH (mkswap: at least
//       40K); without it PATH must already be one (made by an earlier
//       size= or by the machine description). Then swapon(2) with
//       SWAP_FLAG_PREFER|N (N from -1, the kernel's own numbering, to
//       32767) and SWAP_FLAG_DISCARD (the bare word `discard` asks for both
//       policies). type defaults to partition under /dev/, file elsewhere;
//       medium to disk (a VM's rotational virtio disk); the latencies to
//       the medium's (src/mm/swapfile.cpp).
//   swapon -a                          every area of the machine (fstab) not yet on
//   swapon --show [--bytes] [--noheadings] [--raw]
//   swapon -s | --summary              util-linux 2.38's two listings of /proc/swaps
//   swapoff PATH | swapoff -a
//
// A refused call prints swapon(8)'s line ("swapon: PATH: swapon failed:
// Device or resource busy"), sets $errno, and the scenario goes on, as a
// shell would.
//
// The listings read /proc/swaps text, as util-linux does: the renderer
// holds the numbers, this file only lays them out.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "base/text.h"
#include "mm/swapfile.h"
#include "proc/procfs.h"
#include "scenario/commands.h"
#include "scenario/interp.h"
#include "scenario/process_args.h"

namespace mmsim::scenario {

namespace {

// ---- /proc/swaps as util-linux reads it --------------------------------------------------

struct SwapRow {
    std::string name;  // unescaped
    std::string type;
    uint64_t size_kb = 0;
    uint64_t used_kb = 0;
    int prio = 0;
};

// The \ooo escapes of seq_file_path() undone (libmount's unmangle).
std::string unmangle(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<SwapRow> parse_proc_swaps(const std::string& text) {
    std::vector<SwapRow> rows;
    bool header = true;
    for (const std::string& line : split_lines(text)) {
        if (header) {
            header = false;
            continue;
        }
        auto f = split_ws(line);
        if (f.size() < 5) continue;
        SwapRow r;
        r.name = unmangle(f[0]);
        r.type = f[1];
        r.size_kb = std::stoull(f[2]);
        r.used_kb = std::stoull(f[3]);
        r.prio = std::stoi(f[4]);
        rows.push_back(std::move(r));
    }
    return rows;
}

// util-linux lib/strutils.c size_to_human_string(SIZE_SUFFIX_1LETTER):
// the largest binary unit below the number, one decimal rounded half up,
// a trailing ".0" dropped.
std::string size_to_human(uint64_t bytes) {
    static const char letters[] = "BKMGTPE";
    int exp = 0;
    for (int shift = 10; shift <= 60; shift += 10) {
        if (bytes < (uint64_t{1} << shift)) break;
        exp = shift;
    }
    char unit = letters[exp / 10];
    uint64_t dec = exp ? bytes >> exp : bytes;
    uint64_t frac = exp ? bytes & ((uint64_t{1} << exp) - 1) : 0;
    if (frac) {
        // Three digits after the point, then rounded to one.
        if (frac >= UINT64_MAX / 1000)
            frac = ((frac / 1024) * 1000) / (uint64_t{1} << (exp - 10));
        else
            frac = (frac * 1000) / (uint64_t{1} << exp);
        frac = ((frac + 50) / 100) * 10;
        if (frac == 100) {
            dec++;
            frac = 0;
        }
    }
    if (!frac) return fmt::format("{}{}", dec, unit);
    std::string digits = fmt::format("{:02}", frac);
    if (digits.back() == '0') digits.pop_back();
    return fmt::format("{}.{}{}", dec, digits, unit);
}

// libsmartcols' raw output: blanks, backslashes and unprintable bytes as \xHH.
std::string raw_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c <= ' ' || c == '\\' || c >= 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
    return out;
}

struct ShowOptions {
    bool bytes = false;
    bool noheadings = false;
    bool raw = false;
};

// swapon --show: NAME TYPE SIZE USED PRIO in a libsmartcols table
// (columns as wide as their widest cell or header, one space apart; NAME
// and TYPE left-aligned, the numbers right-aligned). Nothing at all
// without swap.
std::string show_table(const std::vector<SwapRow>& rows, const ShowOptions& o) {
    if (rows.empty()) return "";
    const std::vector<std::string> header = {"NAME", "TYPE", "SIZE", "USED", "PRIO"};
    const std::vector<bool> right = {false, false, true, true, true};
    std::vector<std::vector<std::string>> cells;
    for (const SwapRow& r : rows) {
        uint64_t size = r.size_kb * 1024, used = r.used_kb * 1024;
        cells.push_back({r.name, r.type, o.bytes ? std::to_string(size) : size_to_human(size),
                         o.bytes ? std::to_string(used) : size_to_human(used), std::to_string(r.prio)});
    }
    std::string out;
    if (o.raw) {
        auto line = [&](const std::vector<std::string>& c) {
            for (std::size_t i = 0; i < c.size(); i++) out += (i ? " " : "") + raw_escape(c[i]);
            out += '\n';
        };
        if (!o.noheadings) line(header);
        for (const auto& c : cells) line(c);
        return out;
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); i++) {
        width[i] = header[i].size();
        for (const auto& c : cells) width[i] = std::max(width[i], c[i].size());
    }
    auto line = [&](const std::vector<std::string>& c) {
        for (std::size_t i = 0; i < c.size(); i++) {
            if (i) out += ' ';
            std::size_t pad = width[i] - c[i].size();
            if (right[i]) out.append(pad, ' ');
            out += c[i];
            if (!right[i] && i + 1 < c.size()) out.append(pad, ' ');
        }
        out += '\n';
    };
    if (!o.noheadings) line(header);
    for (const auto& c : cells) line(c);
    return out;
}

// swapon -s: /proc/swaps's own layout with the names unescaped; nothing
// without swap.
std::string summary(const std::vector<SwapRow>& rows) {
    if (rows.empty()) return "";
    std::string out = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    for (const SwapRow& r : rows) {
        out += r.name;
        out.append(r.name.size() < 40 ? 40 - r.name.size() : 1, ' ');
        out += fmt::format("{}{}\t{}{}\t{}{}\t{}\n", r.type, r.type == "file" ? "\t" : "", r.size_kb,
                           r.size_kb < 10000000 ? "\t" : "", r.used_kb, r.used_kb < 10000000 ? "\t" : "",
                           r.prio);
    }
    return out;
}

// ---- arguments -----------------------------------------------------------------------------

enum class SwaponMode { Path, All, Show, Summary };

struct SwaponRequest {
    SwaponMode mode = SwaponMode::Path;
    std::string path;
    std::optional<uint64_t> size;
    int prio = -1;
    bool partition = true;
    SwapMedium medium = SwapMedium::Disk;
    std::string discard;  // "", both, once, pages
    Nanos read_ns = 0, write_ns = 0;
    ShowOptions show;
};

void check_path(const Arg& a, const char* cmd) {
    if (a.value.empty() || a.value[0] != '/')
        throw InputError(
            a.loc,
            fmt::format("{}: expected an absolute path like /dev/vdb or /swapfile, got '{}'", cmd, a.value));
}

SwaponRequest parse_swapon(const Args& a) {
    SwaponRequest q;
    bool show = a.has_flag("--show"), sum = a.has_flag("-s") || a.has_flag("--summary"),
         all = a.has_flag("-a");
    int modes = int(show) + int(sum) + int(all);
    auto first_flag = [&](std::initializer_list<const char*> names) -> const Arg* {
        for (const char* n : names)
            if (const Arg* f = a.flag(n)) return f;
        return nullptr;
    };
    if (modes > 1)
        throw InputError(first_flag({"-s", "--summary", "-a"})->loc,
                         "swapon takes one of PATH, -a, --show and -s at a time");
    for (const char* f : {"--bytes", "--noheadings", "--raw"})
        if (const Arg* fa = a.flag(f); fa && !show)
            throw InputError(fa->loc, fmt::format("swapon: {} goes with --show", f));
    if (modes) {
        q.mode = show ? SwaponMode::Show : sum ? SwaponMode::Summary : SwaponMode::All;
        if (!a.positional.empty())
            throw InputError(a.positional[0].loc, "swapon: a path cannot go with -a, --show or -s");
        if (!a.options.empty())
            throw InputError(a.options[0].second.loc,
                             fmt::format("swapon: {}= cannot go with -a, --show or -s", a.options[0].first));
        if (const Arg* p = a.flag("-p"))
            throw InputError(p->loc, "swapon: -p cannot go with -a, --show or -s");
        q.show = {a.has_flag("--bytes"), a.has_flag("--noheadings"), a.has_flag("--raw")};
        return q;
    }
    if (a.positional.empty())
        throw InputError(a.loc,
                         "swapon needs a path, -a, --show or -s (for example: swapon /swapfile size=1G)");
    check_path(a.positional[0], "swapon");
    q.path = a.positional[0].value;
    q.partition = q.path.rfind("/dev/", 0) == 0;
    if (a.positional.size() > 1) {
        if (a.positional[1].value != "discard")
            throw InputError(a.positional[1].loc,
                             fmt::format("swapon: unexpected '{}' (the one word after the path is `discard`)",
                                         a.positional[1].value));
        q.discard = "both";
    }
    if (const Arg* s = a.option("size")) {
        uint64_t bytes = arg_size(*s, "size=");
        if (bytes / PAGE_SIZE < MKSWAP_MIN_PAGES)
            throw InputError(
                s->loc, fmt::format("size={}: a swap area needs at least 40K (mkswap's minimum)", s->value));
        if (bytes / PAGE_SIZE - 1 > 0xffffffffull)
            throw InputError(s->loc, fmt::format("size={}: a swap area holds at most 16T", s->value));
        q.size = bytes;
    }
    const Arg* prio = a.option("prio");
    if (const Arg* p = a.flag("-p")) {
        if (prio) throw InputError(p->loc, "swapon: give the priority once (prio= or -p)");
        prio = p;
    }
    if (prio) q.prio = static_cast<int>(arg_int(*prio, "the priority", -1, SWAP_FLAG_PRIO_MASK));
    auto creation_only = [&](const Arg& o, const char* key) {
        if (!q.size)
            throw InputError(o.loc,
                             fmt::format("swapon: {}= describes a new swap area: give size= too", key));
    };
    if (const Arg* t = a.option("type")) {
        creation_only(*t, "type");
        if (t->value != "file" && t->value != "partition")
            throw InputError(t->loc, fmt::format("type= must be file or partition, not '{}'", t->value));
        q.partition = t->value == "partition";
    }
    if (const Arg* m = a.option("medium")) {
        creation_only(*m, "medium");
        auto med = swap_medium_from_name(m->value);
        if (!med)
            throw InputError(m->loc, fmt::format("medium= must be disk, ssd or zram, not '{}'", m->value));
        q.medium = *med;
    }
    if (const Arg* d = a.option("discard")) {
        if (!q.discard.empty()) throw InputError(d->loc, "swapon: give discard once");
        if (d->value != "once" && d->value != "pages" && d->value != "both")
            throw InputError(d->loc, fmt::format("discard= must be once, pages or both, not '{}'", d->value));
        q.discard = d->value;
    }
    for (const char* key : {"read_latency", "write_latency"}) {
        if (const Arg* l = a.option(key)) {
            creation_only(*l, key);
            uint64_t ns = arg_duration(*l, std::string(key) + "=");
            if (!ns) throw InputError(l->loc, fmt::format("{}= must be longer than 0", key));
            (std::string(key) == "read_latency" ? q.read_ns : q.write_ns) = ns;
        }
    }
    return q;
}

int swapon_flags(const SwaponRequest& q) {
    int flags = 0;
    if (q.prio >= 0) flags |= SWAP_FLAG_PREFER | (q.prio & SWAP_FLAG_PRIO_MASK);
    if (!q.discard.empty()) flags |= SWAP_FLAG_DISCARD;
    if (q.discard == "once") flags |= SWAP_FLAG_DISCARD_ONCE;
    if (q.discard == "pages") flags |= SWAP_FLAG_DISCARD_PAGES;
    return flags;
}

// swapon(8)'s and swapoff(8)'s complaint, and $errno.
void refused(Interp& in, Invocation& inv, const char* cmd, const std::string& path, Errno e) {
    if (std::string(cmd) == "swapon" && e == Errno::NOENT)
        inv.out += fmt::format("swapon: cannot open {}: {}\n", path, errno_text(e));
    else
        inv.out += fmt::format("{}: {}: {} failed: {}\n", cmd, path, cmd, errno_text(e));
    in.set_var("errno", errno_name(e));
}

std::string read_proc_swaps(Kernel& k) {
    auto r = proc_read(k, "/proc/swaps");
    return r ? *r : std::string();
}

void run_swapon(Interp& in, Invocation& inv) {
    SwaponRequest q = parse_swapon(inv.args);
    Kernel& k = in.kernel(inv.cmd.loc);
    switch (q.mode) {
        case SwaponMode::Show:
            inv.out += swapon_show_text(read_proc_swaps(k), q.show.bytes, q.show.noheadings, q.show.raw);
            return;
        case SwaponMode::Summary:
            inv.out += swapon_summary_text(read_proc_swaps(k));
            return;
        case SwaponMode::All:
            ok(in);
            for (const auto& e : k.swap->fstab) {
                auto it = k.swap->areas.find(e.path);
                if (it == k.swap->areas.end() || it->second.active) continue;
                if (auto r = sys_swapon(k, e.path, e.flags); !r) refused(in, inv, "swapon", e.path, r.err());
            }
            return;
        case SwaponMode::Path:
            break;
    }
    ok(in);
    if (q.size) {
        auto it = k.swap->areas.find(q.path);
        // mkswap on a swap area in use is left to swapon's EBUSY.
        if (it == k.swap->areas.end() || !it->second.active) {
            SwapArea area = make_swap_area(q.path, *q.size, q.partition, q.medium);
            if (q.read_ns) area.read_ns = q.read_ns;
            if (q.write_ns) area.write_ns = q.write_ns;
            (void)mkswap(k, area);
        }
    }
    if (auto r = sys_swapon(k, q.path, swapon_flags(q)); !r) refused(in, inv, "swapon", q.path, r.err());
}

void run_swapoff(Interp& in, Invocation& inv) {
    Kernel& k = in.kernel(inv.cmd.loc);
    ok(in);
    if (inv.args.has_flag("-a")) {
        // /proc/swaps order: by type.
        std::vector<std::string> paths;
        for (const auto& si : k.swap->swap_info)
            if (si->flags & SWP_WRITEOK) paths.push_back(si->path);
        for (const std::string& p : paths)
            if (auto r = sys_swapoff(k, p); !r) refused(in, inv, "swapoff", p, r.err());
        return;
    }
    const std::string& path = inv.args.positional[0].value;
    if (auto r = sys_swapoff(k, path); !r) refused(in, inv, "swapoff", path, r.err());
}

void check_swapoff(const Args& a, const Command&) {
    bool all = a.has_flag("-a");
    if (all && !a.positional.empty())
        throw InputError(a.positional[0].loc, "swapoff takes a path or -a, not both");
    if (!all && a.positional.empty())
        throw InputError(a.loc, "swapoff needs a path or -a (for example: swapoff /swapfile)");
    if (!all) check_path(a.positional[0], "swapoff");
}

// ---- the `swap` values ----------------------------------------------------------------

Value swap_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    auto rows = parse_proc_swaps(in.read_file_cached("/proc/swaps", ref.loc));
    auto fail = [&](const std::string& msg) -> Value { throw InputError(ref.loc, msg); };
    auto of = [](double v) { return Value::of(v); };
    std::size_t i = 1;
    if (i < path.size() && path[i].is_index) {
        int64_t n = path[i].index;
        if (n < 0 || static_cast<std::size_t>(n) >= rows.size())
            return fail(fmt::format("swap[{}]: /proc/swaps lists {} swap area{} (swap[0] is the first)", n,
                                    rows.size(), rows.size() == 1 ? "" : "s"));
        const SwapRow& r = rows[static_cast<std::size_t>(n)];
        i++;
        if (i + 1 != path.size() || path[i].is_index)
            return fail(fmt::format(
                "swap[{}] needs a field: size, used, free or prio (for example swap[0].used)", n));
        const std::string& f = path[i].name;
        if (f == "size") return of(static_cast<double>(r.size_kb) * 1024);
        if (f == "used") return of(static_cast<double>(r.used_kb) * 1024);
        if (f == "free") return of(static_cast<double>(r.size_kb - std::min(r.used_kb, r.size_kb)) * 1024);
        if (f == "prio") return of(r.prio);
        return fail(fmt::format("swap[{}] has size, used, free and prio, not '{}'", n, f));
    }
    if (i + 1 != path.size() || path[i].is_index)
        return fail("swap needs a field: total, used, free, areas, or swap[N].FIELD (for example swap.used)");
    const std::string& f = path[i].name;
    uint64_t total = 0, used = 0;
    for (const SwapRow& r : rows) {
        total += r.size_kb;
        used += r.used_kb;
    }
    if (f == "total") return of(static_cast<double>(total) * 1024);
    if (f == "used") return of(static_cast<double>(used) * 1024);
    if (f == "free") return of(static_cast<double>(total - std::min(used, total)) * 1024);
    if (f == "areas") return of(static_cast<double>(rows.size()));
    return fail(fmt::format("swap has total, used, free, areas and swap[N].FIELD, not '{}'", f));
}

}  // namespace

std::string swapon_show_text(const std::string& proc_swaps, bool bytes, bool noheadings, bool raw) {
    return show_table(parse_proc_swaps(proc_swaps), ShowOptions{bytes, noheadings, raw});
}

std::string swapon_summary_text(const std::string& proc_swaps) {
    return summary(parse_proc_swaps(proc_swaps));
}

void register_swap_commands(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "swapon";
        s.usage =
            "swapon PATH [size=SIZE] [prio=N] [type=file|partition] [discard[=once|pages]] "
            "[medium=disk|ssd|zram] [read_latency=DUR] [write_latency=DUR] | swapon -a | "
            "swapon --show [--bytes] [--noheadings] [--raw] | swapon -s";
        s.summary =
            "Turns on a swap area (size= makes it first, as mkswap would), or lists the swap areas as "
            "util-linux swapon does.";
        s.examples = {"swapon /swapfile size=1G", "swapon /dev/zram0 size=512M medium=zram prio=100",
                      "swapon --show", "swapon -s"};
        s.options = {{"size", ArgKind::Size, "make a swap area of this size first (at least 40K)"},
                     {"prio", ArgKind::Text, "priority: -1 (the kernel numbers it) or 0..32767"},
                     {"type", ArgKind::Name, "file or partition (default: partition under /dev/)"},
                     {"discard", ArgKind::Name, "discard policy: once, pages or both"},
                     {"medium", ArgKind::Name, "disk (rotational, default), ssd or zram"},
                     {"read_latency", ArgKind::Duration, "simulated time to read a 4 KiB slot"},
                     {"write_latency", ArgKind::Duration, "simulated time to write a 4 KiB slot"}};
        s.flags = {{"-a", false, ArgKind::Text, "turn on every swap area of the machine"},
                   {"-p", true, ArgKind::Text, "priority, as prio="},
                   {"--show", false, ArgKind::Text, "list the swap areas in a table"},
                   {"--bytes", false, ArgKind::Text, "sizes in bytes (with --show)"},
                   {"--noheadings", false, ArgKind::Text, "no header line (with --show)"},
                   {"--raw", false, ArgKind::Text, "raw output (with --show)"},
                   {"-s", false, ArgKind::Text, "the summary (/proc/swaps)"},
                   {"--summary", false, ArgKind::Text, "the summary (/proc/swaps)"}};
        s.min_args = 0;
        s.max_args = 2;
        s.defines = defines_errno;
        s.check = [](const Args& a, const Command&) { (void)parse_swapon(a); };
        s.run = run_swapon;
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "swapoff";
        s.usage = "swapoff PATH | swapoff -a";
        s.summary =
            "Turns a swap area off (swapoff(2)); its pages in use must come back into memory first. -a "
            "turns off every one.";
        s.examples = {"swapoff /swapfile", "swapoff -a"};
        s.flags = {{"-a", false, ArgKind::Text, "turn off every swap area"}};
        s.min_args = 0;
        s.max_args = 1;
        s.defines = defines_errno;
        s.check = check_swapoff;
        s.run = [](Interp& in, Invocation& inv) {
            check_swapoff(inv.args, inv.cmd);
            run_swapoff(in, inv);
        };
        r.add(std::move(s));
    }
    r.add_source(ValueSource{"swap",
                             "/proc/swaps in bytes: swap.total, swap.used, swap.free, swap.areas, and "
                             "swap[N].size/used/free/prio for the Nth area listed (from 0)",
                             {"swap.used", "swap[0].prio"},
                             true,
                             swap_value});
}

}  // namespace mmsim::scenario
