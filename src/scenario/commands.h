// The command registry: every scenario command and every value source.
//
// A command is a name, a description of its arguments, and a handler:
//
//   CommandSpec s;
//   s.name = "alloc_pages";
//   s.usage = "alloc_pages order=N gfp=FLAGS [node=N] [count=N] [as=NAME]";
//   s.options = {{"order", ArgKind::Int, "...", true}, {"gfp", ArgKind::Gfp, ...}, ...};
//   s.run = [](Interp& in, Invocation& inv) { ... inv.out += "...\n"; };
//   registry.add(std::move(s));
//
// The parser reads the spec to know how to read the line (shell words or an
// expression, a block or not, a here-document or not) and checks the
// arguments against it before the scenario runs; the interpreter expands
// the words and hands the handler an Args with positional words, key=value
// options and -flags already separated and checked. A handler writes its
// output to `inv.out` (a pipe's next stage reads it as `inv.input`), and
// reports bad input by throwing InputError at an argument's location.
//
// A value source is the first name of a ref in an expression (meminfo in
// `meminfo.MemFree`): it receives the evaluated path and returns a value,
// usually by reading a simulated /proc file through proc_read().
//
// Later subsystems add their commands and sources with a register_*()
// function listed in builtin_registry() (commands.cpp); nothing else
// changes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "mmsim/gfp.h"
#include "scenario/expr.h"
#include "scenario/parser.h"

namespace mmsim::scenario {

class Interp;

// How the rest of the line after the command name is read.
enum class Syntax : uint8_t {
    Words,        // shell words
    Expr,         // one expression (expect)
    ExprOrWords,  // an expression if the line is one, else words (print)
    Let,          // NAME = expression-or-words
};

enum class BodyKind : uint8_t {
    None,
    Braces,           // CMD args { ... }
    BracesOrCommand,  // CMD args { ... }  or  CMD args other-command ...
    UntilEnd,         // CMD args NEWLINE ... end
};

enum class ArgKind : uint8_t {
    Text,
    Int,       // a whole number, decimal or 0x hex
    Size,      // bytes with an optional unit: 4096, 4K, 1.5G
    Duration,  // 5s, 100ms, ...
    Gfp,       // GFP_KERNEL|__GFP_ZERO or 0xcc0
    Name,      // letters, digits, '_', '-', '.'
};

struct OptionSpec {
    std::string key;
    ArgKind kind = ArgKind::Text;
    std::string help;
    bool required = false;
};

struct FlagSpec {
    std::string flag;  // "-n"
    bool takes_value = false;
    ArgKind kind = ArgKind::Text;
    std::string help;
};

struct Arg {
    std::string value;
    SourceLoc loc;
};

// A command's arguments after expansion, split by the spec.
struct Args {
    SourceLoc loc;  // the command's
    std::vector<Arg> positional;
    std::vector<std::pair<std::string, Arg>> options;  // key=value, in order
    std::vector<std::pair<std::string, Arg>> flags;    // "-n" -> value ("" for a switch)

    const Arg* option(std::string_view key) const;
    const Arg* flag(std::string_view f) const;
    bool has_flag(std::string_view f) const { return flag(f) != nullptr; }
};

// Value parsing for handlers; each throws InputError at the argument.
int64_t arg_int(const Arg& a, std::string_view what, int64_t min, int64_t max);
uint64_t arg_size(const Arg& a, std::string_view what);
uint64_t arg_duration(const Arg& a, std::string_view what);
gfp_t arg_gfp(const Arg& a);

struct Invocation {
    const Command& cmd;
    Args args;
    bool has_input = false;  // a previous pipeline stage fed this one
    std::string input;
    std::string& out;
};

using Handler = std::function<void(Interp&, Invocation&)>;

struct CommandSpec {
    std::string name;
    std::string usage;    // one line: "head [-n N] [FILE]"
    std::string summary;  // one sentence, for `help`
    std::vector<std::string> examples;

    Syntax syntax = Syntax::Words;
    std::vector<OptionSpec> options;  // key=value words
    bool any_options = false;         // accept other key=value words too (boot vm.x=...)
    std::vector<FlagSpec> flags;      // -x words
    std::string dash_number_flag;     // "-n": `-5` means `-n 5` (head, tail)
    bool lenient_flags = false;       // an unknown -word is a positional argument (echo -5)
    int min_args = 0;                 // positional words
    int max_args = 0;                 // -1: any number

    BodyKind body = BodyKind::None;
    // BracesOrCommand: how many words belong to the command itself, given
    // the words read so far and the next one (every 1s [for 10s] CMD...).
    std::function<std::size_t(const std::vector<Word>& so_far, const Token& next)> lead_words;
    std::string body_context = "script";  // the context of the body's commands
    bool body_is_event = false;           // the body runs from the clock (at, every)
    bool heredoc = false;                 // accepts <<TAG

    std::vector<std::string> contexts{"script"};  // where the command may appear
    bool in_events = true;                        // allowed inside at/every bodies
    bool needs_kernel = true;                     // refuse before `boot`
    bool reads_input = false;                     // may follow a '|'

    // Extra checks at parse time, run when every word is literal.
    std::function<void(const Args&, const Command&)> check;
    // Variables the command sets (so `$name` is known to the parser).
    std::function<void(const Command&, std::vector<std::string>&)> defines;
    Handler run;
};

struct ValueSource {
    std::string name;
    std::string summary;
    std::vector<std::string> examples;
    bool needs_kernel = true;
    std::function<Value(Interp&, const std::vector<RefStep>&, const Expr&)> resolve;
};

class CommandRegistry {
public:
    void add(CommandSpec spec);
    void add_source(ValueSource source);

    const CommandSpec* find(std::string_view name) const;
    const ValueSource* find_source(std::string_view name) const;
    std::vector<const CommandSpec*> commands() const;  // sorted by name
    std::vector<const ValueSource*> sources() const;   // sorted by name

    // " (did you mean 'sysctl'?)" or "".
    std::string suggest_command(std::string_view name, const std::string& context) const;

    // Splits words into positional arguments, options and flags and checks
    // them against the spec. Throws InputError naming the bad word.
    Args parse_args(const CommandSpec& spec, const std::vector<Arg>& words, const SourceLoc& loc) const;

    // Checks the literal target of a '>' redirection at parse time (set by
    // the core commands: /proc/sys/vm names must exist). May be empty.
    std::function<void(const std::string& path, const SourceLoc& loc)> check_write_path;

private:
    std::map<std::string, std::unique_ptr<CommandSpec>, std::less<>> m_commands;
    std::map<std::string, std::unique_ptr<ValueSource>, std::less<>> m_sources;
};

// The registry with every built-in command and source.
const CommandRegistry& builtin_registry();

// Each subsystem's registrations.
void register_core_commands(CommandRegistry& r);     // core_commands.cpp
void register_process_commands(CommandRegistry& r);  // process_commands.cpp
void register_tool_commands(CommandRegistry& r);     // src/scenario/tool_commands.cpp
void register_tlb_commands(CommandRegistry& r);      // tlb_commands.cpp
void register_slab_commands(CommandRegistry& r);     // slab_commands.cpp
void register_fs_commands(CommandRegistry& r);       // fs_commands.cpp
void register_vmalloc_commands(CommandRegistry& r);  // vmalloc_commands.cpp
void register_cma_commands(CommandRegistry& r);      // cma_commands.cpp
void register_libc_commands(CommandRegistry& r);     // libc_commands.cpp
void register_memleak_commands(CommandRegistry& r);  // memleak_commands.cpp
void register_swap_commands(CommandRegistry& r);     // swap_commands.cpp

// util-linux 2.38 swapon's listings made from /proc/swaps text
// (swap_commands.cpp): `swapon --show [--bytes] [--noheadings] [--raw]`
// and `swapon -s`. Both print nothing when no swap area is listed.
std::string swapon_show_text(const std::string& proc_swaps, bool bytes, bool noheadings, bool raw);
std::string swapon_summary_text(const std::string& proc_swaps);

// free(3) on behalf of a process (libc_commands.cpp): the `free` command
// runs these when its first word is not a flag, and procps free otherwise.
void run_free_call(Interp& in, Invocation& inv);
void defines_free_call(const Command& c, std::vector<std::string>& v);

// The closest candidate within a small edit distance, or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// ---- helpers the allocation commands share (alloc_pages, kmalloc, ...) ----

// node=N checked against the machine; -1 when not given.
int node_option(const Args& a, size_t nr_nodes);

// The things kept under an as= name; throws at the name, suggesting a
// close one, when nothing was kept under it.
template <class T>
std::vector<T>& find_handle(std::map<std::string, std::vector<T>>& handles, const Arg& name,
                            std::string_view what) {
    auto it = handles.find(name.value);
    if (it != handles.end()) return it->second;
    std::vector<std::string> names;
    for (const auto& kv : handles)
        if (!kv.first.empty()) names.push_back(kv.first);
    std::string hint = did_you_mean(name.value, names);
    throw InputError(name.loc, std::string(what) + ": nothing was allocated as '" + name.value + "'" +
                                   (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

// Frees every stride=-th item, at most count= of them, oldest first, with
// free_one; keeps the rest in order.
template <class T, class F>
void free_selected(std::vector<T>& items, const Args& a, F free_one) {
    auto stride = static_cast<std::size_t>(
        a.option("stride") ? arg_int(*a.option("stride"), "stride=", 1, 1ll << 40) : 1);
    auto limit = static_cast<std::size_t>(
        a.option("count") ? arg_int(*a.option("count"), "count=", 0, 1ll << 40) : 1ll << 40);
    std::vector<T> keep;
    std::size_t freed = 0;
    for (std::size_t i = 0; i < items.size(); i++) {
        if (i % stride == 0 && freed < limit) {
            free_one(items[i]);
            freed++;
        } else {
            keep.push_back(items[i]);
        }
    }
    items = std::move(keep);
}

}  // namespace mmsim::scenario
