// slabtop -o -- see slabtop.h.
#include "tools/slabtop.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "base/text.h"
#include "tools/procps_common.h"

namespace mmsim::tools {

SlabtopOptions parse_slabtop_args(const std::vector<std::string>& args) {
    SlabtopOptions o;
    bool once = false, delay = false;
    std::size_t delay_at = 0;
    const char* expected = "expected -o, -s a|b|c|l|v|n|o|p|s|u";
    for (std::size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        std::string key;
        std::size_t at = i;
        if (a == "-o" || a == "--once") {
            once = true;
            continue;
        }
        if (a == "-s" || a == "--sort") {
            if (i + 1 >= args.size())
                throw ToolArgError(i, fmt::format("slabtop: {} needs a key ({})", a, expected));
            key = args[at = ++i];
        } else if (a.rfind("--sort=", 0) == 0) {
            key = a.substr(7);
        } else if (a.rfind("-s", 0) == 0 && a.size() > 2) {
            key = a.substr(2);
        } else if (a == "-d" || a == "--delay" || a.rfind("--delay=", 0) == 0 ||
                   (a.rfind("-d", 0) == 0 && a.size() > 2)) {
            delay = true;
            delay_at = i;
            if (a == "-d" || a == "--delay") i++;
            continue;
        } else {
            throw ToolArgError(i, fmt::format("slabtop: unexpected argument '{}' ({})", a, expected));
        }
        if (key.empty()) throw ToolArgError(at, fmt::format("slabtop: empty sort key ({})", expected));
        // sort_to_func(): an unknown key leaves the default.
        if (std::string("abclvnopsu").find(key[0]) != std::string::npos) o.sort = key[0];
    }
    if (!once)
        throw ToolArgError(
            std::size_t(-1),
            "slabtop: only -o (one frame) is supported: the interactive screen needs a terminal");
    if (delay) throw ToolArgError(delay_at, "slabtop: Cannot combine -d and -o options");
    return o;
}

namespace {

struct Row {
    std::string name;
    uint64_t active = 0, objs = 0, objsize = 0, per_slab = 0, pages = 0, active_slabs = 0, slabs = 0;
    uint64_t use() const { return objs ? active * 100 / objs : 0; }
    uint64_t cache_kb() const { return slabs * pages * 4; }
};

uint64_t num(const std::string& s) {
    uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

}  // namespace

ToolOutput run_slabtop(const ProcSource& src, const SlabtopOptions& opt) {
    ToolOutput res;
    auto text = src.read("/proc/slabinfo");
    if (!text.ok()) {
        res.err = "fatal error: Unable to create slabinfo structure\n";
        res.status = 1;
        return res;
    }
    std::vector<Row> rows;
    std::size_t n = 0;
    for (std::string_view l : text_lines(*text)) {
        if (n++ < 2) continue;  // the version line and the column header
        std::vector<std::string> w = split_ws(l);
        if (w.size() < 16) continue;
        Row r;
        r.name = w[0];
        r.active = num(w[1]);
        r.objs = num(w[2]);
        r.objsize = num(w[3]);
        r.per_slab = num(w[4]);
        r.pages = num(w[5]);
        r.active_slabs = num(w[13]);
        r.slabs = num(w[14]);
        rows.push_back(std::move(r));
    }
    uint64_t act = 0, objs = 0, act_slabs = 0, slabs = 0, act_caches = 0, act_size = 0, size = 0;
    uint64_t min_obj = rows.empty() ? 0 : ~uint64_t{0}, max_obj = 0;
    for (const Row& r : rows) {
        act += r.active;
        objs += r.objs;
        act_slabs += r.active_slabs;
        slabs += r.slabs;
        if (r.active) act_caches++;
        act_size += r.active * r.objsize;
        size += r.objs * r.objsize;
        min_obj = std::min(min_obj, r.objsize);
        max_obj = std::max(max_obj, r.objsize);
    }
    auto pct = [](uint64_t a, uint64_t b) {
        return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0;
    };
    auto kib = [](uint64_t bytes) { return static_cast<double>(bytes) / 1024.0; };
    std::string& out = res.out;
    out +=
        fmt::format(" Active / Total Objects (% used)    : {} / {} ({:.1f}%)\n", act, objs, pct(act, objs));
    out += fmt::format(" Active / Total Slabs (% used)      : {} / {} ({:.1f}%)\n", act_slabs, slabs,
                       pct(act_slabs, slabs));
    out += fmt::format(" Active / Total Caches (% used)     : {} / {} ({:.1f}%)\n", act_caches, rows.size(),
                       pct(act_caches, rows.size()));
    out += fmt::format(" Active / Total Size (% used)       : {:.2f}K / {:.2f}K ({:.1f}%)\n", kib(act_size),
                       kib(size), pct(act_size, size));
    out += fmt::format(" Minimum / Average / Maximum Object : {:.2f}K / {:.2f}K / {:.2f}K\n\n", kib(min_obj),
                       objs ? kib(size / objs) : 0.0, kib(max_obj));
    out += fmt::format("{:>6} {:>6} {:>4} {:>8} {:>6} {:>8} {:>10} {:<23}\n", "OBJS", "ACTIVE", "USE",
                       "OBJ SIZE", "SLABS", "OBJ/SLAB", "CACHE SIZE", "NAME");
    auto key = [&](const Row& r) -> uint64_t {
        switch (opt.sort) {
            case 'a':
                return r.active;
            case 'b':
                return r.per_slab;
            case 'c':
                return r.cache_kb();
            case 'l':
                return r.slabs;
            case 'v':
                return r.active_slabs;
            case 'p':
                return r.pages;
            case 's':
                return r.objsize;
            case 'u':
                return r.use();
            default:
                return r.objs;
        }
    };
    if (opt.sort == 'n')
        std::stable_sort(rows.begin(), rows.end(),
                         [](const Row& a, const Row& b) { return a.name < b.name; });
    else
        std::stable_sort(rows.begin(), rows.end(),
                         [&](const Row& a, const Row& b) { return key(a) > key(b); });
    for (const Row& r : rows)
        out += fmt::format("{:6} {:6} {:3}% {:7.2f}K {:6} {:8} {:9}K {:<23}\n", r.objs, r.active, r.use(),
                           kib(r.objsize), r.slabs, r.per_slab, r.cache_kb(), r.name);
    return res;
}

}  // namespace mmsim::tools
