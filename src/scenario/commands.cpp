// The command registry: lookup, suggestions, and the generic argument
// splitter that turns a command's words into positional arguments,
// key=value options and -flags, checked against its spec (see commands.h).
#include "scenario/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "scenario/lexer.h"

namespace mmsim::scenario {

const Arg* Args::option(std::string_view key) const {
    const Arg* found = nullptr;
    for (const auto& [k, v] : options)
        if (k == key) found = &v;
    return found;
}

const Arg* Args::flag(std::string_view f) const {
    const Arg* found = nullptr;
    for (const auto& [k, v] : flags)
        if (k == f) found = &v;
    return found;
}

namespace {

[[noreturn]] void bad(const Arg& a, const std::string& msg) { throw InputError(a.loc, msg); }

bool parse_int_text(std::string_view s, int64_t& out) {
    if (s.empty()) return false;
    bool neg = false;
    std::size_t i = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    int base = 10;
    if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    }
    if (i >= s.size()) return false;
    uint64_t v = 0;
    for (; i < s.size(); i++) {
        char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(d)) /
                    static_cast<uint64_t>(base))
            return false;
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return true;
}

// Edits (insert, delete, replace, swap two neighbours) from a to b,
// ignoring case: "ecoh" is one edit from "echo".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    auto low = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); i++) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); j++) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); i++) {
        for (std::size_t j = 1; j <= b.size(); j++) {
            std::size_t cost = low(a[i - 1]) == low(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && low(a[i - 1]) == low(b[j - 2]) && low(a[i - 2]) == low(b[j - 1]))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

bool is_option_key(std::string_view key) {
    if (key.empty() || !std::isalpha(static_cast<unsigned char>(key[0]))) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '/';
    });
}

void check_kind(const Arg& a, ArgKind kind, std::string_view what) {
    switch (kind) {
        case ArgKind::Text:
            return;
        case ArgKind::Int:
            (void)arg_int(a, what, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
            return;
        case ArgKind::Size:
            (void)arg_size(a, what);
            return;
        case ArgKind::Duration:
            (void)arg_duration(a, what);
            return;
        case ArgKind::Gfp:
            (void)arg_gfp(a);
            return;
        case ArgKind::Name:
            if (a.value.empty() || !std::all_of(a.value.begin(), a.value.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                }))
                bad(a, fmt::format("{} must be a name of letters, digits, '_', '-' and '.', not '{}'", what,
                                   a.value));
            return;
    }
}

}  // namespace

int64_t arg_int(const Arg& a, std::string_view what, int64_t min, int64_t max) {
    int64_t v;
    if (!parse_int_text(a.value, v))
        bad(a, fmt::format("{} must be a whole number, not '{}'", what, a.value));
    if (v < min || v > max) {
        if (max == std::numeric_limits<int64_t>::max())
            bad(a, fmt::format("{} must be at least {}, not {}", what, min, v));
        bad(a, fmt::format("{} must be between {} and {}, not {}", what, min, max, v));
    }
    return v;
}

uint64_t arg_size(const Arg& a, std::string_view what) {
    double v;
    std::string why;
    if (!parse_number_with_unit(a.value, v, &why))
        bad(a, fmt::format("{} must be a size such as 4096, 512M or 8G: {}", what, why));
    if (v < 0 || v > 9.2e18 || v != std::floor(v))
        bad(a, fmt::format("{} must be a whole number of bytes, not '{}'", what, a.value));
    return static_cast<uint64_t>(v);
}

uint64_t arg_duration(const Arg& a, std::string_view what) {
    uint64_t ns;
    if (!parse_duration(a.value, ns))
        bad(a, fmt::format(
                   "{} must be a duration such as 5s, 100ms, 2m or 1h (units ns, us, ms, s, m, h), not '{}'",
                   what, a.value));
    return ns;
}

gfp_t arg_gfp(const Arg& a) {
    auto g = parse_gfp(a.value);
    if (!g)
        bad(a, fmt::format("unknown GFP flags '{}' (expected names such as GFP_KERNEL, GFP_ATOMIC, "
                           "GFP_HIGHUSER_MOVABLE|__GFP_ZERO, or a number such as 0xcc0)",
                           a.value));
    return *g;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_d = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(name, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    // Allow about one mistake in three letters (so none in a one- or
    // two-letter name, beyond case).
    std::size_t limit = std::min(name.size(), best.size()) / 3;
    if (best.empty() || best_d > limit) return {};
    return best;
}

void CommandRegistry::add(CommandSpec spec) {
    std::string name = spec.name;
    m_commands[name] = std::make_unique<CommandSpec>(std::move(spec));
}

void CommandRegistry::add_source(ValueSource source) {
    std::string name = source.name;
    m_sources[name] = std::make_unique<ValueSource>(std::move(source));
}

const CommandSpec* CommandRegistry::find(std::string_view name) const {
    auto it = m_commands.find(name);
    return it == m_commands.end() ? nullptr : it->second.get();
}

const ValueSource* CommandRegistry::find_source(std::string_view name) const {
    auto it = m_sources.find(name);
    return it == m_sources.end() ? nullptr : it->second.get();
}

std::vector<const CommandSpec*> CommandRegistry::commands() const {
    std::vector<const CommandSpec*> out;
    for (const auto& [_, s] : m_commands) out.push_back(s.get());
    return out;
}

std::vector<const ValueSource*> CommandRegistry::sources() const {
    std::vector<const ValueSource*> out;
    for (const auto& [_, s] : m_sources) out.push_back(s.get());
    return out;
}

std::string CommandRegistry::suggest_command(std::string_view name, const std::string& context) const {
    std::vector<std::string> names;
    for (const auto& [n, s] : m_commands)
        if (std::find(s->contexts.begin(), s->contexts.end(), context) != s->contexts.end())
            names.push_back(n);
    std::string best = did_you_mean(name, names);
    return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

Args CommandRegistry::parse_args(const CommandSpec& spec, const std::vector<Arg>& words,
                                 const SourceLoc& loc) const {
    Args args;
    args.loc = loc;
    auto usage = [&] { return fmt::format("usage: {}", spec.usage.empty() ? spec.name : spec.usage); };
    auto find_flag = [&](std::string_view f) -> const FlagSpec* {
        for (const auto& fs : spec.flags)
            if (fs.flag == f) return &fs;
        return nullptr;
    };
    auto flag_list = [&] {
        std::vector<std::string> names;
        for (const auto& fs : spec.flags) names.push_back(fs.flag);
        return fmt::format("{}", fmt::join(names, ", "));
    };
    bool flags_done = spec.flags.empty();
    for (std::size_t i = 0; i < words.size(); i++) {
        const Arg& w = words[i];
        const std::string& s = w.value;
        if (!flags_done && s == "--") {
            flags_done = true;
            continue;
        }
        if (!flags_done && s.size() > 1 && s[0] == '-') {
            if (!spec.dash_number_flag.empty() && std::all_of(s.begin() + 1, s.end(), [](char c) {
                    return std::isdigit(static_cast<unsigned char>(c));
                })) {
                args.flags.emplace_back(spec.dash_number_flag, Arg{s.substr(1), w.loc});
                continue;
            }
            if (const FlagSpec* f = find_flag(s)) {
                if (f->takes_value) {
                    if (i + 1 >= words.size())
                        throw InputError(w.loc, fmt::format("option {} needs a value ({})", s, usage()));
                    const Arg& v = words[++i];
                    check_kind(v, f->kind, fmt::format("the value of {}", s));
                    args.flags.emplace_back(s, v);
                } else {
                    args.flags.emplace_back(s, Arg{"", w.loc});
                }
                continue;
            }
            // -n5: a value glued to a one-letter flag.
            if (const FlagSpec* f = find_flag(s.substr(0, 2)); f && f->takes_value && s[1] != '-') {
                Arg v{s.substr(2), w.loc};
                check_kind(v, f->kind, fmt::format("the value of {}", f->flag));
                args.flags.emplace_back(f->flag, v);
                continue;
            }
            // -iv: several one-letter switches.
            bool all_switches = s[1] != '-';
            for (std::size_t j = 1; j < s.size() && all_switches; j++) {
                const FlagSpec* f = find_flag(std::string("-") + s[j]);
                all_switches = f && !f->takes_value;
            }
            if (all_switches) {
                for (std::size_t j = 1; j < s.size(); j++)
                    args.flags.emplace_back(std::string("-") + s[j], Arg{"", w.loc});
                continue;
            }
            if (spec.lenient_flags) {
                args.positional.push_back(w);
                continue;
            }
            throw InputError(w.loc, fmt::format("unknown option '{}' for {} (it takes {}; {})", s, spec.name,
                                                flag_list(), usage()));
        }
        std::size_t eq = s.find('=');
        if ((!spec.options.empty() || spec.any_options) && eq != std::string::npos &&
            is_option_key(s.substr(0, eq))) {
            std::string key = s.substr(0, eq);
            Arg value{s.substr(eq + 1), w.loc};
            value.loc.col += static_cast<int>(eq) + 1;
            const OptionSpec* os = nullptr;
            for (const auto& o : spec.options)
                if (o.key == key) os = &o;
            if (!os && !spec.any_options) {
                std::vector<std::string> keys;
                for (const auto& o : spec.options) keys.push_back(o.key);
                std::string hint = did_you_mean(key, keys);
                throw InputError(
                    w.loc,
                    fmt::format("unknown option '{}=' for {}{} ({})", key, spec.name,
                                hint.empty() ? "" : fmt::format(" (did you mean '{}='?)", hint), usage()));
            }
            if (args.option(key)) throw InputError(w.loc, fmt::format("option '{}=' is given twice", key));
            if (value.value.empty()) throw InputError(w.loc, fmt::format("option '{}=' needs a value", key));
            if (os) check_kind(value, os->kind, fmt::format("{}=", key));
            args.options.emplace_back(key, value);
            continue;
        }
        args.positional.push_back(w);
    }
    int n = static_cast<int>(args.positional.size());
    if (n < spec.min_args)
        throw InputError(
            loc, fmt::format("{} needs {} argument{} ({})", spec.name,
                             spec.min_args == spec.max_args ? fmt::format("{}", spec.min_args)
                                                            : fmt::format("at least {}", spec.min_args),
                             spec.min_args == 1 ? "" : "s", usage()));
    if (spec.max_args >= 0 && n > spec.max_args) {
        const Arg& extra = args.positional[static_cast<std::size_t>(spec.max_args)];
        throw InputError(
            extra.loc, fmt::format("unexpected argument '{}' for {} ({})", extra.value, spec.name, usage()));
    }
    for (const auto& o : spec.options)
        if (o.required && !args.option(o.key))
            throw InputError(loc, fmt::format("{} needs {}= ({})", spec.name, o.key, usage()));
    return args;
}

int node_option(const Args& a, size_t nr_nodes) {
    const Arg* n = a.option("node");
    if (!n) return -1;
    auto node = static_cast<int>(arg_int(*n, "node=", 0, 1023));
    if (node >= static_cast<int>(nr_nodes))
        throw InputError(n->loc, fmt::format("node={} does not exist (the machine has {} node{})", node,
                                             nr_nodes, nr_nodes == 1 ? "" : "s"));
    return node;
}

const CommandRegistry& builtin_registry() {
    static const CommandRegistry registry = [] {
        CommandRegistry r;
        // Later subsystems add their register_*() call here.
        register_core_commands(r);
        register_process_commands(r);
        register_tool_commands(r);
        register_tlb_commands(r);
        register_slab_commands(r);
        register_fs_commands(r);
        register_vmalloc_commands(r);
        register_cma_commands(r);
        register_libc_commands(r);
        register_memleak_commands(r);
        register_swap_commands(r);
        return r;
    }();
    return registry;
}

}  // namespace mmsim::scenario
