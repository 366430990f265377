// Diagnostics for bad input: one message naming file:line:col.
//
// Everything a user types (scenario, machine file, trace, flags) is checked,
// and the first thing that is wrong is reported as
//
//   scenario.mms:3:12: error: unknown sysctl 'vm.swapiness' (did you mean vm.swappiness?)
//
// Parsers and validators throw InputError; the command line catches it,
// prints what() and exits with status 2, writing nothing else.
#pragma once

#include <stdexcept>
#include <string>

namespace mmsim {

struct SourceLoc {
    std::string file;  // as the user named it; "<shell>" for interactive input
    int line = 0;      // 1-based; 0 when unknown
    int col = 0;       // 1-based; 0 when unknown

    std::string str() const;  // "file:line:col" (omits parts that are 0)
};

class InputError : public std::runtime_error {
public:
    InputError(SourceLoc loc, const std::string& message);
    const SourceLoc& loc() const { return m_loc; }
    const std::string& message() const { return m_message; }

private:
    SourceLoc m_loc;
    std::string m_message;
};

}  // namespace mmsim
