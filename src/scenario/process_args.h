// What the commands acting for a process share (process_commands.cpp,
// libc_commands.cpp): finding the process, reading an address, reporting
// a refused call, delivering a fatal fault, and the variables they set.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/task.h"
#include "mm/mm.h"
#include "scenario/commands.h"

namespace mmsim::scenario {

// The live process or thread PID names; it becomes the current task.
// InputError when there is none or it has exited.
Task& live_task(Interp& in, const Arg& a);
uint64_t arg_addr(const Arg& a, std::string_view what);
// "CALL: Cannot allocate memory (ENOMEM)", and $errno.
void report(Interp& in, Invocation& inv, const char* call, Errno e);
// A call that worked: $errno becomes "".
void ok(Interp& in);
std::string hex(uint64_t v);
// What a fatal access does to the process: kills it with the kernel's
// signal, says so, sets $signal; false when it died.
bool deliver(Interp& in, Invocation& inv, Task& t, VmFault f, uint64_t addr, bool write);
// $VAR of as=VAR, and the command's own variable.
void set_as(Interp& in, const Args& a, const std::string& value, const char* fallback);
// The variables a command that makes a process or thread sets.
void defines_pid_vars(const Command& c, std::vector<std::string>& v);
// The variable every system-call command sets ($errno).
void defines_errno(const Command&, std::vector<std::string>& v);

}  // namespace mmsim::scenario
