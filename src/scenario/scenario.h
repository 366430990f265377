// Running scenarios: the public face of src/scenario.
//
// Two ways in, one language (docs/scenario-language.md):
//
//   run_scenario_file("examples/01-boot.mms", opts)   the whole file is
//       parsed first (any syntax error, unknown command or bad option stops
//       it before anything runs), then executed top to bottom. Output goes
//       to opts.out, error messages to opts.err.
//
//   Shell sh(opts); sh.feed_line("boot ram=1G");     one line at a time, as
//       `mmsim shell` does; a line that opens a block or a here-document
//       waits for the lines that close it; an error is reported and the
//       shell goes on.
//
// Exit statuses (RunResult::status):
//   0  every command ran and every expectation held
//   1  an expectation failed, or the simulated kernel panicked
//   2  bad input: the scenario, the machine file or a value the simulated
//      kernel refused; the message names file:line:col
//   3  an internal error (a broken simulator invariant: a bug)
//
// Snapshots (`snapshot DIR` lines and opts.snapshot_dir) are written to a
// staging directory while the run goes on and moved into place when it
// ends with status 0 or 1; a run stopped by an error or a panic leaves none.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mmsim::scenario {

struct RunOptions {
    std::string machine_file;      // --machine: booted first unless the scenario has a `boot` line
    std::optional<uint64_t> seed;  // --seed: overrides the machine's seed
    std::string snapshot_dir;      // --snapshot: a snapshot of the machine at the end
    bool check = false;            // --check: validate every invariant after every command
    std::ostream* out = nullptr;   // command output (default std::cout)
    std::ostream* err = nullptr;   // messages (default std::cerr)
};

struct RunResult {
    int status = 0;
    int expectations_failed = 0;
};

RunResult run_scenario_file(const std::string& path, const RunOptions& opts);
// `file` names the text in messages and is where relative machine files
// are looked up from.
RunResult run_scenario_text(std::string_view text, const std::string& file, const RunOptions& opts);

class Interp;

class Shell {
public:
    // opts.machine_file boots at once; opts.snapshot_dir is ignored.
    explicit Shell(const RunOptions& opts);
    ~Shell();
    Shell(const Shell&) = delete;
    Shell& operator=(const Shell&) = delete;

    // Feeds one line (without its newline). Returns false once the shell
    // should end (the `exit` command).
    bool feed_line(const std::string& line);
    // True while a block or here-document is open.
    bool needs_more() const { return !m_buffer.empty(); }
    // Reads lines until the end of input or `exit`; prints prompts
    // ("mmsim> ", "...> ") to opts.out when `prompt`. Returns status().
    int run(std::istream& in, bool prompt);
    // The worst outcome so far: 2 after any error, else 1 after a failed
    // expectation or a panic, else 0 (or the status `exit N` gave).
    int status() const { return m_status; }

private:
    std::unique_ptr<Interp> m_interp;
    std::ostream* m_out;
    std::ostream* m_err;
    std::string m_buffer;
    int m_buffer_line = 0;
    int m_line = 0;
    int m_status = 0;
    bool m_done = false;
};

}  // namespace mmsim::scenario
