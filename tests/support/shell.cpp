#include "support/shell.h"

#include <sys/wait.h>

#include <cstdio>

namespace mmsim::test {

Shell run_shell(const std::string& cmd) {
    Shell r;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace mmsim::test
