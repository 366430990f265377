// `mmsim pmap|ps|top|smem [--proc DIR] ARGS...`: the tools on a real /proc.
#pragma once

namespace mmsim::cli {

// True if argv[1] names a tool (pmap, ps, top, smem).
bool is_tool_command(int argc, char** argv);
// Runs it: argv[1] is the tool, the rest its arguments, with an optional
// leading --proc DIR (default /proc; a snapshot's DIR/proc works too).
// Returns the exit status: the tool's own, or 2 for bad arguments.
int run_tool_command(int argc, char** argv);

}  // namespace mmsim::cli
