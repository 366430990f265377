// The scenario interpreter: runs parsed commands against one machine.
//
// The interpreter owns the simulated machine (a Kernel, once `boot` or
// --machine has booted it), the scenario's variables, the page blocks that
// `alloc_pages` handed out, the expectations that failed, and the
// snapshots waiting to be committed. It runs a pipeline at a time:
//
//   cat /proc/zoneinfo | grep min > /dev/null
//    |                   |          |
//    stage 1 -> out ---> stage 2 -> redirect (a /proc or /sys write, or
//                                   discard); without one, the output
//                                   stream
//
// expanding each command's words ($x, ${x}, $((expr))) just before it runs
// and splitting them by the command's spec (commands.h).
//
// Time moves only in `sleep` (and in whatever later commands simulate):
// the kernel's Clock runs every event that falls due, including the blocks
// that `at` and `every` scheduled, which run here with in_event() true. An
// error inside an event ends the run the same way as at the top level, at
// the event's own file:line:col.
//
// Errors are exceptions: InputError for bad input (exit 2), KernelPanic
// from the simulated kernel (exit 1), Interp::Exit for the `exit` command.
// A failed expectation is not an exception: it is reported at once and the
// run goes on, so one run shows every expectation that does not hold.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "machine/machine.h"
#include "scenario/commands.h"
#include "scenario/expr.h"
#include "scenario/parser.h"

namespace mmsim::scenario {

struct InterpConfig {
    std::string scenario_file;     // for relative machine files; "" for none
    std::optional<uint64_t> seed;  // overrides the machine's seed at boot
    bool check = false;            // validate after every command
    bool stage_snapshots = true;   // write snapshots at commit(), not at once
};

class Interp {
public:
    // Thrown by `exit [N]`.
    struct Exit {
        std::optional<int> status;
    };

    Interp(const CommandRegistry& registry, std::ostream& out, std::ostream& err, InterpConfig cfg);
    ~Interp();
    Interp(const Interp&) = delete;
    Interp& operator=(const Interp&) = delete;

    const CommandRegistry& registry() const { return m_registry; }
    const InterpConfig& config() const { return m_cfg; }

    // ---- running ------------------------------------------------------------
    void run(const Program& program);
    void exec_block(const Block& block);
    void exec_pipeline(const Pipeline& pipeline);
    // Runs a block from the clock (at/every); keeps `body` alive meanwhile.
    void run_event(const Block& body);
    bool in_event() const { return m_event_depth > 0; }
    // The command running now (for messages about it).
    const SourceLoc& current_loc() const { return m_current_loc; }

    // ---- the machine ----------------------------------------------------------
    bool booted() const { return m_kernel != nullptr; }
    // The kernel; throws InputError at `loc` if nothing is booted yet.
    Kernel& kernel(const SourceLoc& loc);
    void boot(MachineDesc desc, const SourceLoc& loc);
    // Drops the machine after a panic (the shell can boot a new one).
    void halt();
    SourceLoc boot_loc() const { return m_boot_loc; }
    // A machine file named in the scenario: relative paths are looked up
    // beside the scenario first, then in the working directory.
    std::string resolve_input_path(const std::string& path) const;

    // ---- files ----------------------------------------------------------------
    // Reads a simulated file; throws InputError "PREFIX: PATH: strerror".
    std::string read_file(const std::string& path, const SourceLoc& loc, const std::string& prefix);
    // The same, but cached for the expression being evaluated, so that one
    // expression sees one consistent reading of each file.
    const std::string& read_file_cached(const std::string& path, const SourceLoc& loc);
    // Writes the output of a command to a simulated file (redirection).
    void write_file(const std::string& path, const std::string& data, const std::string& command,
                    const SourceLoc& loc);

    // ---- variables and expressions -----------------------------------------
    void set_var(const std::string& name, std::string value) { m_vars[name] = std::move(value); }
    const std::string* var(const std::string& name) const;
    std::set<std::string> var_names() const;
    std::string expand(const Word& w);
    Value eval(const Expr& e, std::vector<Comparison>* trace = nullptr);

    // ---- expectations ---------------------------------------------------------
    void expectation_failed(const SourceLoc& loc, const std::string& message);
    int failures() const { return m_failures; }

    // ---- scheduled blocks (at) that have not run yet ------------------------
    void note_pending(uint64_t id, const SourceLoc& loc) { m_pending_at[id] = loc; }
    void note_ran(uint64_t id) { m_pending_at.erase(id); }
    // "note: ..." lines for `at` blocks the run ended before.
    void report_unrun_events();

    // ---- snapshots ------------------------------------------------------------
    void snapshot(const std::string& dir, const SourceLoc& loc);
    void commit_snapshots();
    void discard_snapshots();

    // ---- pages from alloc_pages -------------------------------------------------
    struct PageBlock {
        Pfn pfn;
        unsigned order = 0;
    };
    std::map<std::string, std::vector<PageBlock>>& page_handles() { return m_handles; }
    // Objects from kmem_cache_alloc and kmalloc, by their as= name.
    std::map<std::string, std::vector<uint64_t>>& object_handles() { return m_objects; }
    // Ranges from cma_alloc (first pfn, pages), by their as= name.
    struct CmaRange {
        Pfn pfn;
        uint64_t count = 0;
    };
    std::map<std::string, std::vector<CmaRange>>& cma_handles() { return m_cma; }
    // Blocks from malloc count=N (user addresses, in allocation order), by
    // their as= name.
    std::map<std::string, std::vector<uint64_t>>& malloc_groups() { return m_malloc_groups; }

    // ---- output -----------------------------------------------------------------
    std::ostream& out() { return m_out; }
    std::ostream& err() { return m_err; }
    // Flushes command output before a message, so the two interleave as
    // they happened.
    void message(const std::string& line);

private:
    class Env;
    std::vector<Arg> expand_args(const Command& c);
    void run_command(const Command& c, const std::string* input, std::string& out);
    void after_command();

    const CommandRegistry& m_registry;
    std::ostream& m_out;
    std::ostream& m_err;
    InterpConfig m_cfg;

    std::unique_ptr<Kernel> m_kernel;
    SourceLoc m_boot_loc;
    std::map<std::string, std::string> m_vars;
    std::map<std::string, std::vector<PageBlock>> m_handles;
    std::map<std::string, std::vector<uint64_t>> m_objects;
    std::map<std::string, std::vector<CmaRange>> m_cma;
    std::map<std::string, std::vector<uint64_t>> m_malloc_groups;
    std::map<std::string, std::string> m_file_cache;
    int m_failures = 0;
    int m_event_depth = 0;
    SourceLoc m_current_loc;
    std::map<uint64_t, SourceLoc> m_pending_at;

    struct Staged {
        std::string staging;
        std::string dest;
    };
    std::vector<Staged> m_staged;
    unsigned m_snapshot_seq = 0;
};

}  // namespace mmsim::scenario
