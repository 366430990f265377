// Machine files: the hardware and boot options in TOML.
//
// A real machine is described by its firmware (how much memory, where, on
// which node, which CPUs) and by the kernel command line and sysctl.conf
// (kernelcore=, transparent_hugepage=, vm.swappiness). A machine file holds
// all of it in one place (docs/machine-files.md has the full schema):
//
//   arch = "x86_64"            # or "i386", or "explicit" (zones given outright)
//   cpus = 4
//   [[node]]
//   memory = "8G"
//   cpus = [0, 1]
//   [boot]
//   kernelcore = "2G"
//   thp = "always"
//   cma = "64M"
//   [sysctl]
//   "vm.swappiness" = 10
//
// With arch = "explicit" there is no firmware model at all: each [[zone]]
// gives node, type, start_pfn, spanned, present and managed pages, and
// e820.cpp builds RAM and reservations that reproduce them. That is what
// `mmsim clone-host` writes, so a simulated machine can have exactly the
// zones of a real one.
//
// Everything is checked before anything boots. A wrong key, type or value
// is reported at its line and column as toml++ recorded them, saying what
// was expected; a misspelled key gets a "did you mean".
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "machine/machine.h"

namespace mmsim {

namespace {

class TomlReader {
public:
    explicit TomlReader(std::string file) : m_file(std::move(file)) {}

    SourceLoc at(const toml::source_region& r) const {
        return SourceLoc{m_file, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
    }
    SourceLoc at(const toml::node& n) const { return at(n.source()); }
    SourceLoc at(const toml::key& k) const { return at(k.source()); }
    SourceLoc start() const { return SourceLoc{m_file, 1, 1}; }

    [[noreturn]] void expected(const toml::node& n, std::string_view key, std::string_view what) const {
        throw InputError(at(n), fmt::format("{}: expected {}, got {}", key, what, describe(n)));
    }

    static std::string describe(const toml::node& n) {
        switch (n.type()) {
            case toml::node_type::string:
                return fmt::format("'{}'", n.as_string()->get());
            case toml::node_type::integer:
                return fmt::format("{}", n.as_integer()->get());
            case toml::node_type::floating_point:
                return fmt::format("{}", n.as_floating_point()->get());
            case toml::node_type::boolean:
                return n.as_boolean()->get() ? "true" : "false";
            case toml::node_type::table:
                return "a table";
            case toml::node_type::array:
                return "an array";
            case toml::node_type::date:
                return "a date";
            case toml::node_type::time:
                return "a time";
            case toml::node_type::date_time:
                return "a date-time";
            default:
                return "nothing";
        }
    }

    uint64_t get_uint(const toml::node& n, std::string_view key, uint64_t min = 0,
                      uint64_t max = std::numeric_limits<int64_t>::max()) const {
        const auto* i = n.as_integer();
        std::string range = max == static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                ? fmt::format("an integer >= {}", min)
                                : fmt::format("an integer from {} to {}", min, max);
        if (!i) expected(n, key, range);
        int64_t v = i->get();
        if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max)
            expected(n, key, range);
        return static_cast<uint64_t>(v);
    }

    std::string get_string(const toml::node& n, std::string_view key,
                           std::string_view what = "a string") const {
        const auto* s = n.as_string();
        if (!s) expected(n, key, what);
        return s->get();
    }

    // A size: a string with a unit ("512M", "8G") or an integer of bytes.
    uint64_t get_size(const toml::node& n, std::string_view key) const {
        constexpr std::string_view what = "a size like \"512M\" or \"8G\" (or a number of bytes)";
        if (const auto* i = n.as_integer()) {
            if (i->get() < 0) expected(n, key, what);
            return static_cast<uint64_t>(i->get());
        }
        if (const auto* s = n.as_string()) {
            if (auto v = parse_size(s->get())) return *v;
        }
        expected(n, key, what);
    }

    const toml::table& get_table(const toml::node& n, std::string_view key, std::string_view what) const {
        const auto* t = n.as_table();
        if (!t) expected(n, key, what);
        return *t;
    }

    // The tables of an array of tables ([[node]]).
    std::vector<const toml::table*> get_table_array(const toml::node& n, std::string_view key) const {
        std::string what = fmt::format("an array of tables ([[{}]])", key);
        const auto* a = n.as_array();
        if (!a) expected(n, key, what);
        std::vector<const toml::table*> out;
        for (const auto& e : *a) out.push_back(&get_table(e, key, what));
        return out;
    }

    void check_keys(const toml::table& t, const std::vector<std::string_view>& allowed,
                    std::string_view where) const {
        for (auto&& [k, v] : t) {
            (void)v;
            if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
            std::string hint = closest_name(k.str(), allowed);
            std::string list;
            for (auto a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
            throw InputError(at(k),
                             fmt::format("unknown key '{}' in {}{} (expected one of: {})", k.str(), where,
                                         hint.empty() ? "" : fmt::format(", did you mean {}?", hint), list));
        }
    }

private:
    std::string m_file;
};

struct Parser {
    TomlReader r;
    MachineDesc d;
    bool cpus_given = false;
    std::vector<SourceLoc> zone_locs;
    std::vector<std::pair<SourceLoc, std::string>> listed_cpus;  // for range checks

    explicit Parser(const std::string& file) : r(file) {
        d.source = file;
        d.loc = r.start();
    }

    bool is_explicit() const { return d.arch == ArchProfile::Explicit; }

    [[noreturn]] void not_explicit(const toml::key& k, std::string_view what) const {
        throw InputError(r.at(k), fmt::format("{} does not apply to arch = \"explicit\"; {}", k.str(), what));
    }

    void parse_top(const toml::table& root) {
        r.check_keys(root,
                     {"arch", "cpus", "seed", "description", "node", "boot", "hole", "reserved", "zone",
                      "sysctl", "tlb", "swap"},
                     "the machine file");
        if (const toml::node* n = root.get("arch")) {
            std::string a = r.get_string(*n, "arch", "\"x86_64\", \"i386\" or \"explicit\"");
            if (a == "x86_64" || a == "x86-64")
                d.arch = ArchProfile::X86_64;
            else if (a == "i386")
                d.arch = ArchProfile::I386;
            else if (a == "explicit")
                d.arch = ArchProfile::Explicit;
            else
                r.expected(*n, "arch", "\"x86_64\", \"i386\" or \"explicit\"");
        }
        if (const toml::node* n = root.get("cpus")) {
            d.nr_cpus = static_cast<unsigned>(r.get_uint(*n, "cpus", 1, 8192));
            cpus_given = true;
        }
        if (const toml::node* n = root.get("seed")) d.seed = r.get_uint(*n, "seed");
        if (const toml::node* n = root.get("description")) r.get_string(*n, "description");
        if (const toml::node* n = root.get("node")) parse_nodes(*n);
        if (const toml::node* n = root.get("boot")) parse_boot(r.get_table(*n, "boot", "a table ([boot])"));
        if (const toml::node* n = root.get("hole")) parse_holes(*n);
        if (const toml::node* n = root.get("reserved")) parse_reserved(*n);
        if (const toml::node* n = root.get("zone")) parse_zones(*n);
        if (const toml::node* n = root.get("tlb")) parse_tlb(r.get_table(*n, "tlb", "a table ([tlb])"));
        if (const toml::node* n = root.get("swap")) parse_swaps(*n);
        if (const toml::node* n = root.get("sysctl")) {
            parse_sysctl(r.get_table(*n, "sysctl", "a table ([sysctl])"), "");
            std::stable_sort(d.sysctls.begin(), d.sysctls.end(),
                             [](const BootSysctl& a, const BootSysctl& b) {
                                 return std::pair(a.loc.line, a.loc.col) < std::pair(b.loc.line, b.loc.col);
                             });
        }
        finish();
    }

    void parse_nodes(const toml::node& n) {
        std::set<int64_t> seen;
        for (const toml::table* t : r.get_table_array(n, "node")) {
            if (d.nodes.size() == 1024)
                throw InputError(r.at(*t), "a machine has at most 1024 nodes (MAX_NUMNODES)");
            r.check_keys(*t, {"memory", "cpus", "memmap_pages"}, "[[node]]");
            NodeDesc nd;
            nd.id = static_cast<int>(d.nodes.size());
            if (const toml::node* m = t->get("memory")) {
                if (is_explicit()) {
                    for (auto&& [k, v] : *t)
                        if (k.str() == "memory")
                            not_explicit(k, "an explicit node's memory is the sum of its [[zone]]s");
                }
                nd.memory_bytes = r.get_size(*m, "memory");
                if (nd.memory_bytes < PAGE_SIZE)
                    throw InputError(r.at(*m),
                                     fmt::format("memory: a node needs at least 4K of memory, got {}",
                                                 TomlReader::describe(*m)));
            } else if (!is_explicit()) {
                throw InputError(r.at(*t), "[[node]] needs memory = \"SIZE\" (for example memory = \"8G\")");
            }
            if (const toml::node* c = t->get("cpus")) {
                const auto* arr = c->as_array();
                if (!arr) r.expected(*c, "cpus", "an array of CPU numbers like [0, 1]");
                for (const auto& e : *arr) {
                    int64_t cpu = static_cast<int64_t>(r.get_uint(e, "cpus", 0, 8191));
                    if (!seen.insert(cpu).second)
                        throw InputError(r.at(e), fmt::format("cpus: cpu {} is listed twice", cpu));
                    nd.cpus.push_back(static_cast<int>(cpu));
                    listed_cpus.push_back({r.at(e), std::to_string(cpu)});
                }
            }
            if (const toml::node* m = t->get("memmap_pages")) {
                if (!is_explicit())
                    throw InputError(r.at(*m),
                                     "memmap_pages applies only to arch = \"explicit\" (profiles derive it)");
                nd.memmap_pages = r.get_uint(*m, "memmap_pages");
            }
            d.nodes.push_back(std::move(nd));
        }
    }

    void parse_boot(const toml::table& t) {
        r.check_keys(t,
                     {"kernel_image", "reserve_memmap", "kernelcore", "movablecore", "thp", "page_owner",
                      "cma", "swap"},
                     "[boot]");
        for (auto&& [k, v] : t) {
            std::string key(k.str());
            if (is_explicit() && key != "thp" && key != "page_owner" && key != "swap")
                not_explicit(k, "an explicit machine's reservations and zones are given by its [[zone]]s");
            std::string text;
            if (key == "reserve_memmap" || key == "page_owner") {
                const auto* b = v.as_boolean();
                if (!b) r.expected(v, key, "true or false");
                text = b->get() ? "true" : "false";
            } else if (key == "thp") {
                text = r.get_string(v, key, "\"always\", \"madvise\" or \"never\"");
            } else if (const auto* i = v.as_integer()) {
                if (i->get() < 0) r.expected(v, key, "a size like \"2G\"");
                text = std::to_string(i->get());
            } else {
                text = r.get_string(v, key,
                                    key == "kernel_image" || key == "cma" || key == "swap"
                                        ? "a size like \"32M\""
                                        : "a size like \"2G\" or \"50%\"");
            }
            apply_boot_option(d, key, text, r.at(v));
        }
    }

    void parse_holes(const toml::node& n) {
        for (const toml::table* t : r.get_table_array(n, "hole")) {
            if (is_explicit())
                throw InputError(r.at(*t),
                                 "[[hole]] does not apply to arch = \"explicit\": a zone's holes are "
                                 "spanned - present");
            r.check_keys(*t, {"start", "size"}, "[[hole]]");
            const toml::node* s = t->get("start");
            const toml::node* z = t->get("size");
            if (!s || !z) throw InputError(r.at(*t), "[[hole]] needs start = \"SIZE\" and size = \"SIZE\"");
            uint64_t start = r.get_size(*s, "start"), size = r.get_size(*z, "size");
            if (size == 0) throw InputError(r.at(*z), "size: a hole must be larger than 0");
            if (start + size < start) throw InputError(r.at(*z), "size: the hole ends beyond 16E");
            // A hole takes every page it touches.
            uint64_t end = start + size;
            d.holes.push_back({start >> PAGE_SHIFT, (end >> PAGE_SHIFT) + (end % PAGE_SIZE != 0)});
        }
    }

    void parse_reserved(const toml::node& n) {
        for (const toml::table* t : r.get_table_array(n, "reserved")) {
            if (is_explicit())
                throw InputError(r.at(*t),
                                 "[[reserved]] does not apply to arch = \"explicit\": a zone's reserved "
                                 "pages are present - managed");
            r.check_keys(*t, {"name", "start", "size"}, "[[reserved]]");
            ReservedDesc rd;
            rd.name = "reserved";
            if (const toml::node* nm = t->get("name")) rd.name = r.get_string(*nm, "name");
            const toml::node* s = t->get("start");
            const toml::node* z = t->get("size");
            if (!s || !z)
                throw InputError(r.at(*t), "[[reserved]] needs start = \"SIZE\" and size = \"SIZE\"");
            rd.start = r.get_size(*s, "start");
            rd.size = r.get_size(*z, "size");
            if (rd.size == 0) throw InputError(r.at(*z), "size: a reserved range must be larger than 0");
            if (rd.start + rd.size < rd.start) throw InputError(r.at(*z), "size: the range ends beyond 16E");
            d.reserved.push_back(rd);
        }
    }

    void parse_zones(const toml::node& n) {
        for (const toml::table* t : r.get_table_array(n, "zone")) {
            if (!is_explicit())
                throw InputError(r.at(*t),
                                 "[[zone]] needs arch = \"explicit\" (profiles derive their zones)");
            r.check_keys(*t, {"node", "type", "start_pfn", "spanned", "present", "managed"}, "[[zone]]");
            ExplicitZone z;
            if (const toml::node* v = t->get("node"))
                z.node = static_cast<int>(r.get_uint(*v, "node", 0, 1023));
            const toml::node* type = t->get("type");
            const toml::node* start = t->get("start_pfn");
            const toml::node* spanned = t->get("spanned");
            if (!type || !start || !spanned)
                throw InputError(r.at(*t),
                                 "[[zone]] needs type, start_pfn and spanned (present and managed default "
                                 "to spanned)");
            std::string tn =
                r.get_string(*type, "type", "a zone type (DMA, DMA32, Normal, HighMem, Movable, Device)");
            auto kind = zone_kind_from_name(tn);
            if (!kind) {
                std::string hint =
                    closest_name(tn, {"DMA", "DMA32", "Normal", "HighMem", "Movable", "Device"});
                throw InputError(
                    r.at(*type),
                    fmt::format("type: expected a zone type (DMA, DMA32, Normal, HighMem, Movable, "
                                "Device), got '{}'{}",
                                tn, hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint)));
            }
            z.kind = *kind;
            z.start_pfn = r.get_uint(*start, "start_pfn");
            z.spanned = r.get_uint(*spanned, "spanned");
            z.present = z.spanned;
            if (const toml::node* v = t->get("present")) {
                z.present = r.get_uint(*v, "present");
                if (z.present > z.spanned)
                    throw InputError(
                        r.at(*v), fmt::format("present: {} is more than spanned ({})", z.present, z.spanned));
            }
            z.managed = z.present;
            if (const toml::node* v = t->get("managed")) {
                z.managed = r.get_uint(*v, "managed");
                if (z.managed > z.present)
                    throw InputError(
                        r.at(*v), fmt::format("managed: {} is more than present ({})", z.managed, z.present));
            }
            d.zones.push_back(z);
            zone_locs.push_back(r.at(*t));
        }
    }

    // [[swap]] path = "/dev/vdb", size = "8G", type = "partition" | "file",
    // priority = N, medium = "disk" | "ssd" | "zram", discard = true |
    // "once" | "pages", read_latency / write_latency = "100us" (or ns).
    void parse_swaps(const toml::node& n) {
        for (const toml::table* t : r.get_table_array(n, "swap")) {
            r.check_keys(
                *t,
                {"path", "size", "type", "priority", "medium", "discard", "read_latency", "write_latency"},
                "[[swap]]");
            SwapDesc sw;
            sw.loc = r.at(*t);
            sw.path = default_swap_path(d.swaps.size());
            const toml::node* size = t->get("size");
            if (!size)
                throw InputError(r.at(*t), "[[swap]] needs size = \"SIZE\" (for example size = \"8G\")");
            sw.size_bytes = r.get_size(*size, "size");
            SourceLoc size_loc = r.at(*size);
            if (const toml::node* v = t->get("path")) {
                sw.path = r.get_string(*v, "path", "an absolute path like \"/dev/vdb\"");
                if (sw.path.empty() || sw.path[0] != '/')
                    r.expected(*v, "path", "an absolute path like \"/dev/vdb\"");
                for (const SwapDesc& other : d.swaps)
                    if (other.path == sw.path)
                        throw InputError(r.at(*v), fmt::format("path: {} is already a swap area (at {})",
                                                               sw.path, other.loc.str()));
            }
            if (const toml::node* v = t->get("type")) {
                std::string ty = r.get_string(*v, "type", "\"partition\" or \"file\"");
                if (ty != "partition" && ty != "file") r.expected(*v, "type", "\"partition\" or \"file\"");
                sw.partition = ty == "partition";
            } else {
                sw.partition = sw.path.rfind("/dev/", 0) == 0;
            }
            if (const toml::node* v = t->get("priority")) {
                const auto* i = v->as_integer();
                if (!i || i->get() < -1 || i->get() > 32767)
                    r.expected(*v, "priority", "an integer from -1 (the kernel's numbering) to 32767");
                sw.priority = static_cast<int>(i->get());
            }
            if (const toml::node* v = t->get("medium")) {
                sw.medium = r.get_string(*v, "medium", "\"disk\", \"ssd\" or \"zram\"");
                if (sw.medium != "disk" && sw.medium != "ssd" && sw.medium != "zram")
                    r.expected(*v, "medium", "\"disk\", \"ssd\" or \"zram\"");
            }
            if (const toml::node* v = t->get("discard")) {
                constexpr std::string_view what = "true, false, \"once\" or \"pages\"";
                if (const auto* b = v->as_boolean()) {
                    sw.discard = b->get() ? "both" : "";
                } else {
                    std::string dv = r.get_string(*v, "discard", what);
                    if (dv != "once" && dv != "pages" && dv != "both") r.expected(*v, "discard", what);
                    sw.discard = dv;
                }
            }
            if (const toml::node* v = t->get("read_latency")) sw.read_ns = get_duration(*v, "read_latency");
            if (const toml::node* v = t->get("write_latency"))
                sw.write_ns = get_duration(*v, "write_latency");
            check_swap_desc(sw, size_loc);
            d.swaps.push_back(sw);
        }
    }

    // A duration in nanoseconds: an integer, or a string with a unit
    // (ns, us, ms, s), as "100us".
    uint64_t get_duration(const toml::node& n, std::string_view key) const {
        constexpr std::string_view what = "a duration like \"100us\" or \"2ms\" (or nanoseconds)";
        if (const auto* i = n.as_integer()) {
            if (i->get() <= 0) r.expected(n, key, what);
            return static_cast<uint64_t>(i->get());
        }
        const auto* sv = n.as_string();
        if (!sv) r.expected(n, key, what);
        const std::string& text = sv->get();
        std::size_t digits = 0;
        while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) digits++;
        if (digits == 0 || digits > 12) r.expected(n, key, what);
        uint64_t v = std::stoull(text.substr(0, digits));
        std::string unit = text.substr(digits);
        uint64_t mult = unit == "ns"   ? 1
                        : unit == "us" ? 1000
                        : unit == "ms" ? 1000000
                        : unit == "s"  ? 1000000000
                                       : 0;
        if (!mult || v == 0) r.expected(n, key, what);
        return v * mult;
    }

    // [tlb] l1_entries = 64, l1_ways = 4, l2_entries = 1536, l2_ways = 12,
    // pcid = true. Each level's entries are a multiple of its ways, and
    // the number of sets a power of two (the set is picked by the low bits
    // of the page number).
    void parse_tlb(const toml::table& t) {
        r.check_keys(t, {"l1_entries", "l1_ways", "l2_entries", "l2_ways", "pcid"}, "[tlb]");
        if (const toml::node* v = t.get("pcid")) {
            const auto* b = v->as_boolean();
            if (!b) r.expected(*v, "pcid", "true or false");
            d.tlb.pcid = b->get();
        }
        parse_tlb_level(t, "l1", d.tlb.l1_entries, d.tlb.l1_ways);
        parse_tlb_level(t, "l2", d.tlb.l2_entries, d.tlb.l2_ways);
    }

    void parse_tlb_level(const toml::table& t, const std::string& level, unsigned& entries, unsigned& ways) {
        const std::string ekey = level + "_entries", wkey = level + "_ways";
        if (const toml::node* v = t.get(wkey)) ways = static_cast<unsigned>(r.get_uint(*v, wkey, 1, 64));
        const toml::node* e = t.get(ekey);
        if (e) entries = static_cast<unsigned>(r.get_uint(*e, ekey, 1, 1u << 20));
        // A bad combination is reported at the entries if given, else at the ways.
        const toml::node* at = e ? e : t.get(wkey);
        if (!at) return;
        if (entries % ways != 0)
            throw InputError(r.at(*at), fmt::format("{}: expected a positive multiple of {} ({}), got {}",
                                                    ekey, wkey, ways, entries));
        unsigned sets = entries / ways;
        if ((sets & (sets - 1)) != 0)
            throw InputError(r.at(*at),
                             fmt::format("{}: {} entries of {} ways make {} sets; expected a power of two "
                                         "number of sets (for example {} or {} entries)",
                                         ekey, entries, ways, sets, std::bit_floor(sets) * ways,
                                         std::bit_floor(sets) * 2 * ways));
    }

    // [sysctl] "vm.swappiness" = 10; also vm.swappiness = 10 (a dotted key,
    // which TOML makes a nested table) and [sysctl.vm].
    void parse_sysctl(const toml::table& t, const std::string& prefix, const SourceLoc* outer = nullptr) {
        for (auto&& [k, v] : t) {
            std::string key = prefix + std::string(k.str());
            // A dotted key (vm.swappiness = 10) is reported where it starts.
            SourceLoc loc = outer && outer->line == r.at(k).line ? *outer : r.at(k);
            if (const auto* sub = v.as_table()) {
                parse_sysctl(*sub, key + ".", &loc);
                continue;
            }
            if (key.size() <= 3 || key.compare(0, 3, "vm.") != 0)
                throw InputError(
                    loc, fmt::format("sysctl: expected a key like \"vm.swappiness\", got '{}'{}", key,
                                     prefix.empty() ? fmt::format(" (did you mean vm.{}?)", key) : ""));
            std::string value;
            if (const auto* i = v.as_integer()) {
                value = std::to_string(i->get());
            } else if (const auto* s = v.as_string()) {
                value = s->get();
            } else if (const auto* b = v.as_boolean()) {
                value = b->get() ? "1" : "0";
            } else if (const auto* a = v.as_array()) {
                // lowmem_reserve_ratio = [256, 256, 32, 0, 0]
                for (const auto& e : *a) {
                    const auto* i = e.as_integer();
                    if (!i) r.expected(e, key, "an integer");
                    value += fmt::format("{}{}", value.empty() ? "" : " ", i->get());
                }
            } else {
                r.expected(v, key, "an integer or a string");
            }
            d.sysctls.push_back({key, value, loc});
        }
    }

    void finish() {
        if (!cpus_given) {
            unsigned highest = 0;
            for (const auto& n : d.nodes)
                for (int c : n.cpus) highest = std::max(highest, static_cast<unsigned>(c) + 1);
            d.nr_cpus = std::max(1u, highest);
        }
        for (const auto& [loc, cpu] : listed_cpus)
            if (std::stoul(cpu) >= d.nr_cpus)
                throw InputError(loc, fmt::format("cpus: cpu {} does not exist: cpus = {} gives CPUs 0..{}",
                                                  cpu, d.nr_cpus, d.nr_cpus - 1));
        if (is_explicit()) {
            if (d.zones.empty())
                throw InputError(r.start(),
                                 "an arch = \"explicit\" machine needs [[zone]] entries (node, type, "
                                 "start_pfn, spanned, present, managed)");
            validate_explicit_zones(d, zone_locs);
        } else if (d.nodes.empty()) {
            throw InputError(r.start(),
                             "the machine has no memory: add a [[node]] with memory = \"SIZE\" (for "
                             "example memory = \"8G\")");
        }
    }
};

}  // namespace

MachineDesc parse_machine_toml(std::string_view text, const std::string& source_name) {
    Parser p(source_name);
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        throw InputError(p.r.at(e.source()), fmt::format("invalid TOML: {}", e.description()));
    }
    p.parse_top(root);
    return std::move(p.d);
}

MachineDesc load_machine_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(SourceLoc{path, 1, 1},
                         fmt::format("cannot open machine file: {}", std::strerror(errno)));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw InputError(SourceLoc{path, 1, 1}, "cannot read machine file");
    return parse_machine_toml(ss.str(), path);
}

}  // namespace mmsim
