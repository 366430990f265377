// The mmsim command: subcommands over libmmsim (docs/cli.md).
//
//   mmsim run SCENARIO [--machine FILE] [--seed N] [--snapshot DIR] [--check]
//   mmsim shell [--machine FILE] [--seed N] [--check]
//   mmsim clone-host [--proc DIR] [-o FILE]
//   mmsim --version
//
// Exit statuses are the scenario runner's (src/scenario/scenario.h): 0 all
// good, 1 an expectation failed or the simulated kernel panicked, 2 bad
// input (including a malformed command line), 3 an internal error. Every
// message goes to stderr; only command output goes to stdout.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "base/diag.h"
#include "cli/tools_cmd.h"
#include "machine/machine.h"
#include "scenario/scenario.h"

namespace {

constexpr const char* kMainFooter = R"(
Examples:
  mmsim run examples/01-boot.mms                 boot a machine and print its /proc files
  mmsim run case.mms --machine host.toml --seed 7 --snapshot out/
  echo 'boot ram=1G
  cat /proc/buddyinfo' | mmsim shell              the same language, one line at a time
  mmsim clone-host -o host.toml                  describe this machine for --machine
  mmsim pmap -x 1234 | ps -e | top -b | smem     the procps/smem tools on /proc or
                       [--proc DIR]              a snapshot's DIR/proc (docs/tools.md)

Exit status: 0 success, 1 an expectation failed (or the simulated kernel
panicked), 2 bad input (the message names file:line:col), 3 internal error.
See docs/cli.md and docs/scenario-language.md.)";

constexpr const char* kRunFooter = R"(
Examples:
  mmsim run examples/01-boot.mms
  mmsim run examples/seeds/case09-watermarks.mms --check
  mmsim run my.mms --machine host.toml --seed 42 --snapshot out/snap
      (then: sudo unshare -m sh -c 'mount --bind out/snap/proc /proc && free -m')

The scenario is parsed completely before anything runs. --machine boots the
machine first unless the scenario has its own `boot` line. Snapshots are
written only if the run ends with status 0 or 1.)";

constexpr const char* kShellFooter = R"(
Examples:
  mmsim shell
  mmsim shell --machine host.toml
  printf 'boot ram=2G\nsysctl vm.min_free_kbytes\n' | mmsim shell

Type `help` for the commands, `help CMD` for one of them, `exit` to leave.
A line ending in '{' continues until the matching '}'. Errors are reported
and the shell goes on; its exit status is the worst outcome seen.)";

constexpr const char* kCloneFooter = R"(
Examples:
  mmsim clone-host                       print this host's description
  mmsim clone-host -o host.toml          write it to a file
  mmsim clone-host --proc snap/proc      describe a captured /proc tree

The description reproduces the host's zones, CPUs, THP setting and vm
sysctls; `mmsim run --machine host.toml` boots it.)";

int usage_error(const std::string& what) {
    std::cerr << "mmsim: error: " << what << "\nRun 'mmsim --help' for usage.\n";
    return 2;
}

int clone_host(const std::string& proc_dir, const std::string& out_file) {
    std::string text;
    try {
        text = mmsim::clone_host_toml(proc_dir);
    } catch (const mmsim::InputError& e) {
        std::cerr << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "mmsim clone-host: " << proc_dir << ": " << e.what() << "\n";
        return 2;
    }
    if (out_file.empty() || out_file == "-") {
        std::cout << text;
        return 0;
    }
    // Write beside the target and rename, so a failure leaves no partial file.
    std::string tmp = fmt::format("{}.tmp-{}", out_file, static_cast<long>(::getpid()));
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << text;
        f.flush();
        if (!f) {
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            std::cerr << "mmsim clone-host: cannot write " << out_file << "\n";
            return 2;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, out_file, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        std::cerr << "mmsim clone-host: cannot write " << out_file << ": " << ec.message() << "\n";
        return 2;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // pmap, ps, top, smem take the real tools' flags: dispatched before CLI11.
    if (mmsim::cli::is_tool_command(argc, argv)) return mmsim::cli::run_tool_command(argc, argv);
    CLI::App app{"mmsim: a simulator of Linux 6.18 memory management", "mmsim"};
    app.set_version_flag("--version", std::string("mmsim ") + MMSIM_VERSION, "Print the version and exit");
    app.require_subcommand(1);
    app.footer(kMainFooter);

    mmsim::scenario::RunOptions run_opts;
    std::string scenario;
    uint64_t seed = 0;
    auto* run = app.add_subcommand("run", "Run a scenario file");
    run->add_option("SCENARIO", scenario, "The scenario file (.mms)")->required();
    run->add_option("--machine", run_opts.machine_file,
                    "A TOML machine file to boot (unless the scenario boots)");
    auto* run_seed = run->add_option("--seed", seed, "The seed of the simulation (overrides the machine's)");
    run->add_option("--snapshot", run_opts.snapshot_dir,
                    "Write a /proc and /sys snapshot of the end state to DIR");
    run->add_flag("--check", run_opts.check, "Validate every invariant after every command (slower)");
    run->footer(kRunFooter);

    mmsim::scenario::RunOptions shell_opts;
    uint64_t shell_seed = 0;
    auto* shell =
        app.add_subcommand("shell", "Run the scenario language interactively, line by line from stdin");
    shell->add_option("--machine", shell_opts.machine_file, "A TOML machine file to boot at start");
    auto* shell_seed_opt = shell->add_option("--seed", shell_seed, "The seed of the simulation");
    shell->add_flag("--check", shell_opts.check, "Validate every invariant after every command (slower)");
    shell->footer(kShellFooter);

    std::string proc_dir = "/proc";
    std::string out_file;
    auto* clone = app.add_subcommand("clone-host", "Write a machine description (TOML) of a real host");
    clone->add_option("--proc", proc_dir, "The /proc directory to read")->capture_default_str();
    clone->add_option("-o,--output", out_file, "Write to FILE instead of stdout");
    clone->footer(kCloneFooter);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return usage_error(e.what());
    }

    if (*run) {
        if (run_seed->count()) run_opts.seed = seed;
        return mmsim::scenario::run_scenario_file(scenario, run_opts).status;
    }
    if (*shell) {
        if (shell_seed_opt->count()) shell_opts.seed = shell_seed;
        mmsim::scenario::Shell sh(shell_opts);
        return sh.run(std::cin, ::isatty(0) != 0);
    }
    if (*clone) return clone_host(proc_dir, out_file);
    return usage_error("no subcommand given");
}
