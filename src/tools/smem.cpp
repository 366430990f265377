// smem 1.5 (the Python script Debian 12 ships as /usr/bin/smem), rebuilt.
//
// smem sums /proc/PID/smaps per process: every "Key: N kB" line of every
// mapping, with USS = Private_Clean + Private_Dirty. It prints a table whose
// columns each have a printf-style format ("% 5s", "%-27.27s", "% 8a" where
// 'a' marks an amount), sorts rows by one column's raw value (ties broken by
// comparing the whole row, as Python compares tuples), and can add a totals
// row computed per column (a sum, a count, or nothing).
//
// The system view (-w) divides MemTotal into areas from /proc/meminfo:
//
//   userspace memory      AnonPages + Mapped        (cache: Mapped)
//   kernel dynamic memory MemTotal - MemFree - userspace
//                         (cache: Buffers + SReclaimable + Cached - Mapped)
//   free memory           MemFree
//   firmware/hardware and kernel image stay 0 without -R and -K.
#include "tools/smem.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "base/text.h"
#include "tools/procps_common.h"

namespace mmsim::tools {

namespace {

// A cell: smem's getters return numbers or strings.
struct Value {
    bool is_str = false;
    int64_t n = 0;
    std::string s;
    std::string str() const { return is_str ? s : std::to_string(n); }
    bool operator<(const Value& o) const {
        if (is_str != o.is_str) return is_str < o.is_str;
        return is_str ? s < o.s : n < o.n;
    }
    bool operator==(const Value& o) const { return is_str == o.is_str && (is_str ? s == o.s : n == o.n); }
};
Value num(int64_t n) { return Value{false, n, {}}; }
Value str(std::string s) { return Value{true, 0, std::move(s)}; }

enum class Total { None, Empty, Sum, Rows, Distinct };

struct Field {
    std::string header;
    int width = 0;
    bool left = false;
    int precision = -1;   // "%-27.27s" truncates
    bool amount = false;  // 'a' in the format
    Total total = Total::None;
    std::function<Value(std::size_t row)> get;
};

// smem's units(): 104 kB -> "104.0K".
std::string units(double x) {
    if (x == 0) return "0";
    const char* sfx[] = {"", "K", "M", "G", "T"};
    const char* s = "";
    for (const char* c : sfx) {
        s = c;
        if (x < 1024) break;
        x /= 1024.0;
    }
    return fmt::format("{:.1f}{}", x, s);
}

std::string pad(const std::string& v, const Field& f) {
    std::string t = f.precision >= 0 && static_cast<int>(v.size()) > f.precision
                        ? v.substr(0, static_cast<std::size_t>(f.precision))
                        : v;
    return f.left ? fmt::format("{:<{}}", t, f.width) : fmt::format("{:>{}}", t, f.width);
}

using Maps = std::vector<std::map<std::string, int64_t>>;  // one per mapping: lowercased key -> kB

class Smem {
public:
    Smem(const ProcSource& src, const SmemOptions& opt) : m_src(src), m_opt(opt) {}

    ToolOutput run() {
        try {
            if (!m_opt.process_filter.empty()) m_pfilter = std::regex(m_opt.process_filter);
            if (!m_opt.map_filter.empty()) m_mfilter = std::regex(m_opt.map_filter);
            if (!m_opt.user_filter.empty()) m_ufilter = std::regex(m_opt.user_filter);
        } catch (const std::regex_error& e) {
            m_res.err += fmt::format("smem: bad regular expression: {}\n", e.what());
            m_res.status = 1;
            return m_res;
        }
        auto mi = m_src.read("/proc/meminfo");
        if (mi.ok()) {
            static const std::regex line(R"(^(\S+):\s+(\d+) kB)");
            for (std::string_view l : text_lines(*mi)) {
                std::match_results<std::string_view::const_iterator> m;
                if (std::regex_search(l.begin(), l.end(), m, line)) {
                    std::string k = m[1].str();
                    for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                    m_mem[k] = std::stoll(m[2].str());
                }
            }
        }
        switch (m_opt.view) {
            case SmemView::Processes:
                show_pids();
                break;
            case SmemView::Users:
                show_users();
                break;
            case SmemView::Mappings:
                show_maps();
                break;
            case SmemView::System:
                show_system();
                break;
        }
        return m_res;
    }

private:
    int64_t mem(const std::string& k) const {
        auto it = m_mem.find(k);
        return it == m_mem.end() ? 0 : it->second;
    }

    // smem's pidcmd(): cmdline minus its last byte, NULs as spaces; "?" if unreadable.
    std::string pidcmd(int pid) const {
        auto r = m_src.read(fmt::format("/proc/{}/cmdline", pid));
        if (!r.ok()) return "?";
        std::string c = *r;
        if (!c.empty()) c.pop_back();
        std::replace(c.begin(), c.end(), '\0', ' ');
        return c;
    }
    std::string pidname(int pid) const {
        auto r = m_src.read(fmt::format("/proc/{}/stat", pid));
        if (!r.ok()) return "?";
        std::size_t a = r->find('('), b = r->find(')');
        if (a == std::string::npos || b == std::string::npos) return "?";
        return r->substr(a + 1, b - a - 1);
    }
    int64_t piduser(int pid) const {
        auto r = m_src.read(fmt::format("/proc/{}/status", pid));
        if (!r.ok()) return -1;
        return static_cast<int64_t>(status_number(*r, "Uid", 1).value_or(0));
    }
    std::string username(int64_t uid) const { return uid < 0 ? "?" : user_name(static_cast<uint64_t>(uid)); }

    std::vector<int> pids() const {
        std::vector<int> out;
        for (int p : m_src.pids())
            if (!pidcmd(p).empty()) out.push_back(p);
        return out;
    }

    // Keeps the process unless a -P or -U filter rejects it.
    bool selected(int pid) const {
        if (m_pfilter && !std::regex_search(pidname(pid), *m_pfilter) &&
            !std::regex_search(pidcmd(pid), *m_pfilter))
            return false;
        if (m_ufilter && !std::regex_search(username(piduser(pid)), *m_ufilter)) return false;
        return true;
    }

    // The mappings of a process (after -M); false if smaps cannot be read.
    bool pidmaps(int pid, Maps& maps, std::vector<std::string>& names) const {
        auto r = m_src.read(fmt::format("/proc/{}/smaps", pid));
        if (!r.ok()) return false;
        std::map<uint64_t, std::size_t> by_start;  // smem keys mappings by start address
        std::size_t cur = SIZE_MAX;
        for (std::string_view l : text_lines(*r)) {
            std::vector<std::string> f = split_ws(l);
            if (f.empty()) continue;
            if (f.back() == "kB") {
                if (cur == SIZE_MAX || f.size() < 2) continue;
                std::string k = f[0].substr(0, f[0].size() - 1);
                for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                int64_t v = 0;
                std::from_chars(f[1].data(), f[1].data() + f[1].size(), v);
                maps[cur][k] = v;
            } else if (f[0].find('-') != std::string::npos && f[0].find(':') == std::string::npos) {
                uint64_t start = 0;
                std::from_chars(f[0].data(), f[0].data() + f[0].find('-'), start, 16);
                std::string name = f.size() > 5 ? f[5] : "<anonymous>";
                auto it = by_start.find(start);
                if (it != by_start.end()) {
                    cur = it->second;
                    maps[cur].clear();
                    names[cur] = name;
                } else {
                    cur = maps.size();
                    by_start[start] = cur;
                    maps.emplace_back();
                    names.push_back(name);
                }
            }
        }
        if (m_mfilter) {
            Maps keep;
            std::vector<std::string> keep_names;
            for (std::size_t i = 0; i < maps.size(); i++)
                if (std::regex_search(names[i], *m_mfilter))
                    keep.push_back(maps[i]), keep_names.push_back(names[i]);
            maps = std::move(keep);
            names = std::move(keep_names);
        }
        return true;
    }

    static int64_t get(const std::map<std::string, int64_t>& m, const char* k) {
        auto it = m.find(k);
        return it == m.end() ? 0 : it->second;
    }

    using Totals = std::map<std::string, int64_t>;
    static void add(Totals& t, const std::map<std::string, int64_t>& m) {
        for (const char* k : {"size", "rss", "pss", "shared_clean", "shared_dirty", "private_clean",
                              "private_dirty", "referenced", "swap"})
            t[k] += get(m, k);
    }

    void show_pids() {
        std::vector<int> rows;
        std::vector<Totals> pt;
        for (int pid : pids()) {
            if (!selected(pid)) continue;
            Maps maps;
            std::vector<std::string> names;
            if (!pidmaps(pid, maps, names) || maps.empty()) continue;
            Totals t;
            for (const auto& m : maps) add(t, m);
            t["uss"] = t["private_clean"] + t["private_dirty"];
            t["maps"] = static_cast<int64_t>(maps.size());
            rows.push_back(pid);
            pt.push_back(std::move(t));
        }
        auto amt = [&](const char* k) { return [&pt, k](std::size_t r) { return num(pt[r][k]); }; };
        std::map<std::string, Field> fields;
        fields["pid"] = {
            "PID", 5, false, -1, false, Total::Rows, [&](std::size_t r) { return num(rows[r]); }};
        fields["user"] = {"User", 8, true, -1, false, Total::Distinct, [&](std::size_t r) {
                              int64_t u = piduser(rows[r]);
                              return m_opt.numeric ? num(u) : str(username(u));
                          }};
        fields["name"] = {
            "Name", 24, true, 24, false, Total::None, [&](std::size_t r) { return str(pidname(rows[r])); }};
        fields["command"] = {
            "Command", 27, true, 27, false, Total::None, [&](std::size_t r) { return str(pidcmd(rows[r])); }};
        fields["maps"] = {"Maps", 5, false, -1, false, Total::Sum, amt("maps")};
        fields["swap"] = {"Swap", 8, false, -1, true, Total::Sum, amt("swap")};
        fields["uss"] = {"USS", 8, false, -1, true, Total::Sum, amt("uss")};
        fields["rss"] = {"RSS", 8, false, -1, true, Total::Sum, amt("rss")};
        fields["pss"] = {"PSS", 8, false, -1, true, Total::Sum, amt("pss")};
        fields["vss"] = {"VSS", 8, false, -1, true, Total::Sum, amt("size")};
        table(rows.size(), fields, "pid user command swap uss pss rss", "pss");
    }

    void show_users() {
        std::map<int64_t, Totals> by_uid;
        for (int pid : pids()) {
            if (!selected(pid)) continue;
            Maps maps;
            std::vector<std::string> names;
            if (!pidmaps(pid, maps, names) || maps.empty()) continue;
            Totals& t = by_uid[piduser(pid)];
            for (const auto& m : maps) add(t, m);
            t["count"] += 1;
        }
        std::vector<int64_t> uids;
        std::vector<Totals> pt;
        for (auto& [u, t] : by_uid) uids.push_back(u), pt.push_back(t);
        auto amt = [&](const char* k) { return [&pt, k](std::size_t r) { return num(pt[r][k]); }; };
        std::map<std::string, Field> fields;
        fields["user"] = {"User", 8, true, -1, false, Total::None, [&](std::size_t r) {
                              return m_opt.numeric ? num(uids[r]) : str(username(uids[r]));
                          }};
        fields["count"] = {"Count", 5, false, -1, false, Total::Sum, amt("count")};
        fields["swap"] = {"Swap", 8, false, -1, true, Total::Sum, amt("swap")};
        fields["uss"] = {"USS", 8, false, -1, true, Total::Sum, [&](std::size_t r) {
                             return num(pt[r]["private_clean"] + pt[r]["private_dirty"]);
                         }};
        fields["rss"] = {"RSS", 8, false, -1, true, Total::Sum, amt("rss")};
        fields["pss"] = {"PSS", 8, false, -1, true, Total::Sum, amt("pss")};
        fields["vss"] = {"VSS", 8, false, -1, true, Total::Sum, amt("pss")};  // smem 1.5 prints PSS here
        table(uids.size(), fields, "user count swap uss pss rss", "pss");
    }

    void show_maps() {
        std::map<std::string, Totals> by_name;
        for (int pid : pids()) {
            if (!selected(pid)) continue;
            Maps maps;
            std::vector<std::string> names;
            if (!pidmaps(pid, maps, names)) continue;
            std::set<std::string> seen;
            for (std::size_t i = 0; i < maps.size(); i++) {
                Totals& t = by_name[names[i]];
                add(t, maps[i]);
                t["count"] += 1;
                if (seen.insert(names[i]).second) t["pids"] += 1;
            }
        }
        std::vector<std::string> names;
        std::vector<Totals> pt;
        for (auto& [n, t] : by_name) names.push_back(n), pt.push_back(t);
        auto amt = [&](const char* k) { return [&pt, k](std::size_t r) { return num(pt[r][k]); }; };
        auto avg = [&](const char* k) {
            return [&pt, k](std::size_t r) {
                int64_t v =
                    std::string(k) == "uss" ? pt[r]["private_clean"] + pt[r]["private_dirty"] : pt[r][k];
                return num(
                    static_cast<int64_t>(1.0 * static_cast<double>(v) / static_cast<double>(pt[r]["pids"])));
            };
        };
        std::map<std::string, Field> fields;
        fields["map"] = {
            "Map", 40, true, 40, false, Total::Rows, [&](std::size_t r) { return str(names[r]); }};
        fields["count"] = {"Count", 5, false, -1, false, Total::Sum, amt("count")};
        fields["pids"] = {"PIDs", 5, false, -1, false, Total::Sum, amt("pids")};
        fields["swap"] = {"Swap", 8, false, -1, true, Total::Sum, amt("swap")};
        fields["uss"] = {"USS", 8, false, -1, true, Total::Sum, [&](std::size_t r) {
                             return num(pt[r]["private_clean"] + pt[r]["private_dirty"]);
                         }};
        fields["rss"] = {"RSS", 8, false, -1, true, Total::Sum, amt("rss")};
        fields["pss"] = {"PSS", 8, false, -1, true, Total::Sum, amt("pss")};
        fields["vss"] = {"VSS", 8, false, -1, true, Total::Sum, amt("size")};
        fields["avgpss"] = {"AVGPSS", 8, false, -1, true, Total::Sum, avg("pss")};
        fields["avguss"] = {"AVGUSS", 8, false, -1, true, Total::Sum, avg("uss")};
        fields["avgrss"] = {"AVGRSS", 8, false, -1, true, Total::Sum, avg("rss")};
        table(names.size(), fields, "map pids avgpss pss", "pss");
    }

    void show_system() {
        int64_t mt = mem("memtotal"), f = mem("memfree");
        int64_t u = mem("anonpages") + mem("mapped");
        int64_t kd = mt - f - u;
        int64_t kdc = mem("buffers") + mem("sreclaimable") + (mem("cached") - mem("mapped"));
        struct Area {
            const char* name;
            int64_t used, cache;
        };
        std::vector<Area> l = {{"firmware/hardware", 0, 0},
                               {"kernel image", 0, 0},
                               {"kernel dynamic memory", kd, kdc},
                               {"userspace memory", u, mem("mapped")},
                               {"free memory", f, f}};
        std::map<std::string, Field> fields;
        fields["order"] = {"Order",
                           1,
                           false,
                           -1,
                           false,
                           Total::Empty,
                           [](std::size_t r) { return num(static_cast<int64_t>(r)); }};
        fields["area"] = {
            "Area", 24, true, -1, false, Total::Empty, [&](std::size_t r) { return str(l[r].name); }};
        fields["used"] = {
            "Used", 10, false, -1, true, Total::Sum, [&](std::size_t r) { return num(l[r].used); }};
        fields["cache"] = {
            "Cache", 10, false, -1, true, Total::Sum, [&](std::size_t r) { return num(l[r].cache); }};
        fields["noncache"] = {"Noncache",
                              10,
                              false,
                              -1,
                              true,
                              Total::Sum,
                              [&](std::size_t r) { return num(l[r].used - l[r].cache); }};
        table(l.size(), fields, "area used cache noncache", "order");
    }

    std::string amount(const Value& v, bool swap) const {
        if (v.is_str) return v.s;
        if (m_opt.abbreviate) return units(static_cast<double>(v.n) * 1024);
        if (m_opt.percent) {
            int64_t total = swap ? mem("swaptotal") : mem("memtotal");
            if (total == 0) return "N/A";
            return fmt::format("{:.2f}%", 100.0 * static_cast<double>(v.n) / static_cast<double>(total));
        }
        return v.str();
    }

    void table(std::size_t nrows, std::map<std::string, Field>& fields, const std::string& default_columns,
               const std::string& default_sort) {
        std::string sort = m_opt.sort.empty() ? default_sort : m_opt.sort;
        std::vector<std::string> columns = split_ws(m_opt.columns.empty() ? default_columns : m_opt.columns);
        std::vector<std::string> unknown;
        if (!fields.count(sort)) unknown.push_back(sort);
        for (const auto& c : columns)
            if (!fields.count(c)) unknown.push_back(c);
        if (!unknown.empty()) {
            std::string& out = m_res.out;
            out += unknown.size() == 1
                       ? "unknown field " + unknown[0] + "\n"
                       : "unknown fields: " + fmt::format("{}", fmt::join(unknown, " ")) + "\n";
            out += "known fields:\n";
            m_res.status = 255;
            return;
        }
        std::string& out = m_res.out;
        std::string header;
        for (const auto& c : columns) header += pad(fields[c].header, fields[c]) + " ";
        struct Row {
            Value key;
            std::vector<Value> cells;
        };
        std::vector<Row> rows;
        for (std::size_t r = 0; r < nrows; r++) {
            Row row{fields[sort].get(r), {}};
            for (const auto& c : columns) row.cells.push_back(fields[c].get(r));
            rows.push_back(std::move(row));
        }
        std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
            if (!(a.key == b.key)) return a.key < b.key;
            return std::lexicographical_compare(a.cells.begin(), a.cells.end(), b.cells.begin(),
                                                b.cells.end());
        });
        if (m_opt.reverse) std::reverse(rows.begin(), rows.end());
        auto line = [&](const std::vector<Value>& cells) {
            std::string s;
            for (std::size_t i = 0; i < columns.size(); i++) {
                const Field& f = fields[columns[i]];
                s += pad(f.amount ? amount(cells[i], columns[i] == "swap") : cells[i].str(), f) + " ";
            }
            return s + "\n";
        };
        if (!m_opt.no_header) out += header + "\n";
        for (const Row& r : rows) out += line(r.cells);
        if (m_opt.totals) {
            std::vector<Value> t;
            for (const auto& c : columns) {
                const Field& f = fields[c];
                switch (f.total) {
                    case Total::None:
                    case Total::Empty:
                        t.push_back(str(""));
                        break;
                    case Total::Rows:
                        t.push_back(num(static_cast<int64_t>(nrows)));
                        break;
                    case Total::Distinct: {
                        std::set<std::string> d;
                        for (std::size_t r = 0; r < nrows; r++) d.insert(f.get(r).str());
                        t.push_back(num(static_cast<int64_t>(d.size())));
                        break;
                    }
                    case Total::Sum: {
                        int64_t s = 0;
                        for (std::size_t r = 0; r < nrows; r++) s += f.get(r).n;
                        t.push_back(num(s));
                        break;
                    }
                }
            }
            out += std::string(header.size(), '-') + "\n";
            out += line(t);
        }
    }

    const ProcSource& m_src;
    const SmemOptions& m_opt;
    ToolOutput m_res;
    std::map<std::string, int64_t> m_mem;
    std::optional<std::regex> m_pfilter, m_mfilter, m_ufilter;
};

}  // namespace

SmemOptions parse_smem_args(const std::vector<std::string>& args) {
    SmemOptions o;
    bool users = false, mappings = false, system = false;
    const char* expected =
        "expected -u, -m, -w, -p, -k, -t, -H, -r, -n, -P REGEX, -M REGEX, -U REGEX, -s FIELD, -c COLUMNS";
    for (std::size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        auto value = [&](const std::string& inline_value) -> std::string {
            if (!inline_value.empty()) return inline_value;
            if (i + 1 >= args.size()) throw ToolArgError(i, fmt::format("smem: {} needs a value", a));
            return args[++i];
        };
        if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
            std::string name = a.substr(2), v;
            std::size_t eq = name.find('=');
            if (eq != std::string::npos) v = name.substr(eq + 1), name = name.substr(0, eq);
            if (name == "users")
                users = true;
            else if (name == "mappings")
                mappings = true;
            else if (name == "system")
                system = true;
            else if (name == "percent")
                o.percent = true;
            else if (name == "abbreviate")
                o.abbreviate = true;
            else if (name == "totals")
                o.totals = true;
            else if (name == "no-header")
                o.no_header = true;
            else if (name == "reverse")
                o.reverse = true;
            else if (name == "numeric")
                o.numeric = true;
            else if (name == "processfilter")
                o.process_filter = value(v);
            else if (name == "mapfilter")
                o.map_filter = value(v);
            else if (name == "userfilter")
                o.user_filter = value(v);
            else if (name == "sort")
                o.sort = value(v);
            else if (name == "columns")
                o.columns = value(v);
            else
                throw ToolArgError(i, fmt::format("smem: unknown option '{}' ({})", a, expected));
            continue;
        }
        if (a.size() < 2 || a[0] != '-')
            throw ToolArgError(i, fmt::format("smem: unexpected argument '{}' ({})", a, expected));
        for (std::size_t j = 1; j < a.size(); j++) {
            char c = a[j];
            std::string rest = a.substr(j + 1);
            bool took = false;
            auto take = [&](std::string& dst) {
                dst = value(rest);
                took = true;
            };
            switch (c) {
                case 'u':
                    users = true;
                    break;
                case 'm':
                    mappings = true;
                    break;
                case 'w':
                    system = true;
                    break;
                case 'p':
                    o.percent = true;
                    break;
                case 'k':
                    o.abbreviate = true;
                    break;
                case 't':
                    o.totals = true;
                    break;
                case 'H':
                    o.no_header = true;
                    break;
                case 'r':
                    o.reverse = true;
                    break;
                case 'n':
                    o.numeric = true;
                    break;
                case 'P':
                    take(o.process_filter);
                    break;
                case 'M':
                    take(o.map_filter);
                    break;
                case 'U':
                    take(o.user_filter);
                    break;
                case 's':
                    take(o.sort);
                    break;
                case 'c':
                    take(o.columns);
                    break;
                default:
                    throw ToolArgError(i, fmt::format("smem: unknown option '-{}' ({})", c, expected));
            }
            if (took) break;
        }
    }
    // smem picks one view: -m before -u before -w.
    o.view = mappings ? SmemView::Mappings
             : users  ? SmemView::Users
             : system ? SmemView::System
                      : SmemView::Processes;
    return o;
}

ToolOutput run_smem(const ProcSource& src, const SmemOptions& opt) { return Smem(src, opt).run(); }

}  // namespace mmsim::tools
