// The tool subcommands of the mmsim command (docs/tools.md).
//
// They take the real tools' flags, which CLI11 would misread (-XX, -o
// pid,rss, -p 1,2), so main() hands them the raw arguments before CLI11
// parses anything. The only option of our own is --proc DIR, which must
// come first: the tool reads DIR as /proc (DirProcSource).
#include "cli/tools_cmd.h"

#include <utmpx.h>

#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "tools/proc_source.h"
#include "tools/tool.h"

namespace mmsim::cli {

namespace {

// Logged-in users as top counts them (utmp USER_PROCESS entries).
int count_users() {
    int n = 0;
    setutxent();
    while (const utmpx* u = getutxent())
        if (u->ut_type == USER_PROCESS && u->ut_user[0] != '\0') n++;
    endutxent();
    return n;
}

std::string now_hms() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

}  // namespace

bool is_tool_command(int argc, char** argv) { return argc > 1 && tools::is_tool(argv[1]); }

int run_tool_command(int argc, char** argv) {
    std::string name = argv[1];
    std::string proc = "/proc";
    std::vector<std::string> args;
    int i = 2;
    if (i < argc && (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h")) {
        std::cout << "Usage: mmsim " << tools::tool_usage(name) << "\n"
                  << "       mmsim " << name
                  << " --proc DIR ...   (read DIR as /proc, e.g. a snapshot's DIR/proc)\n"
                  << "See docs/tools.md.\n";
        return 0;
    }
    if (i < argc && std::string(argv[i]).rfind("--proc", 0) == 0) {
        std::string a = argv[i];
        if (a.size() > 7 && a[6] == '=') {
            proc = a.substr(7);
        } else if (a == "--proc" && i + 1 < argc) {
            proc = argv[++i];
        } else {
            std::cerr << "mmsim " << name << ": error: --proc needs a directory\n";
            return 2;
        }
        i++;
    }
    for (; i < argc; i++) args.emplace_back(argv[i]);
    tools::DirProcSource src(proc);
    if (!src.read("/proc/meminfo").ok() && src.pids().empty()) {
        std::cerr << "mmsim " << name << ": error: " << proc << " does not look like a /proc directory\n";
        return 2;
    }
    tools::ToolEnv env;
    env.clock_hms = now_hms();
    env.users = proc == "/proc" ? count_users() : 0;
    try {
        tools::ToolOutput r = tools::run_tool(name, src, args, env);
        std::cout << r.out;
        std::cerr << r.err;
        return r.status;
    } catch (const tools::ToolArgError& e) {
        std::cerr << "mmsim " << name << ": error: " << e.what() << "\nUsage: mmsim "
                  << tools::tool_usage(name) << "\n";
        return 2;
    }
}

}  // namespace mmsim::cli
