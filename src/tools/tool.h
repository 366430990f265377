// What every tool shares: its arguments, its output, and where it runs.
//
// A tool is a pure function from /proc text (a ProcSource) and a command
// line to the bytes the real program would print. Argument errors are
// thrown as ToolArgError naming the argument, so the scenario language can
// point at the word and the command line can print a usage message; both
// exit with status 2 (DESIGN.md section 10). Problems with the data (a
// process that does not exist) go to `err` with the real tool's status.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tools/proc_source.h"

namespace mmsim::tools {

class ToolArgError : public std::runtime_error {
public:
    ToolArgError(std::size_t index, const std::string& message)
        : std::runtime_error(message), m_index(index) {}
    // Which argument (0-based, after the tool's name); npos for the line as a whole.
    std::size_t index() const { return m_index; }

private:
    std::size_t m_index;
};

struct ToolOutput {
    std::string out;  // stdout
    std::string err;  // stderr
    int status = 0;   // the real tool's exit status
};

// Facts that do not come from /proc.
struct ToolEnv {
    // top's "HH:MM:SS"; empty: derived from /proc/uptime as if the machine
    // booted at midnight (what the simulation uses).
    std::string clock_hms;
    int users = 0;  // logged-in users for top's first line (utmp, not /proc)
};

// The tools this file dispatches: "pmap", "ps", "top", "smem".
const std::vector<std::string>& tool_names();
bool is_tool(std::string_view name);
// One line of usage for each tool.
std::string tool_usage(std::string_view name);

// Checks the arguments without running (throws ToolArgError).
void check_tool_args(std::string_view name, const std::vector<std::string>& args);
// Runs a tool. Throws ToolArgError for bad arguments.
ToolOutput run_tool(std::string_view name, const ProcSource& src, const std::vector<std::string>& args,
                    const ToolEnv& env = {});

}  // namespace mmsim::tools
