// Running a host command from a test: its exit status and everything it
// printed (stdout and stderr together). The conformance tests use it to
// run the real procps and util-linux tools on snapshots.
#pragma once

#include <string>

namespace mmsim::test {

struct Shell {
    int status = -1;  // the exit status; -1 if it did not exit normally
    std::string out;
};

Shell run_shell(const std::string& cmd);

}  // namespace mmsim::test
