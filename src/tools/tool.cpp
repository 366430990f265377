// The tool dispatcher: names, usage lines and argument checks (tool.h).
#include "tools/tool.h"

#include <algorithm>

#include "tools/free.h"
#include "tools/pmap.h"
#include "tools/ps.h"
#include "tools/slabtop.h"
#include "tools/smem.h"
#include "tools/top.h"

namespace mmsim::tools {

const std::vector<std::string>& tool_names() {
    static const std::vector<std::string> names = {"free", "pmap", "ps", "slabtop", "smem", "top"};
    return names;
}

bool is_tool(std::string_view name) {
    const auto& n = tool_names();
    return std::find(n.begin(), n.end(), name) != n.end();
}

std::string tool_usage(std::string_view name) {
    if (name == "free")
        return "free [-b|-k|-m|-g|--kilo|--mega|--giga|--tebi|...] [-h] [--si] [-l] [-t] [-v] [-w]";
    if (name == "slabtop") return "slabtop -o [-s a|b|c|l|v|n|o|p|s|u]";
    if (name == "pmap") return "pmap [-x|-X|-XX|-d] [-q] [-p] [-A LOW[,HIGH]] PID...";
    if (name == "ps") return "ps [-e|-A] [-f] [-p PID[,PID...]] [-o COL[,COL...]]";
    if (name == "top") return "top -b [-n 1] [-p PID[,PID...]]";
    if (name == "smem")
        return "smem [-u|-m|-w] [-p|-k] [-t] [-H] [-r] [-n] [-s FIELD] [-c COLS] [-P|-M|-U REGEX]";
    return "";
}

void check_tool_args(std::string_view name, const std::vector<std::string>& args) {
    if (name == "free")
        (void)parse_free_args(args);
    else if (name == "slabtop")
        (void)parse_slabtop_args(args);
    else if (name == "pmap")
        (void)parse_pmap_args(args);
    else if (name == "ps")
        (void)parse_ps_args(args);
    else if (name == "top")
        (void)parse_top_args(args);
    else if (name == "smem")
        (void)parse_smem_args(args);
    else
        throw ToolArgError(std::size_t(-1), "unknown tool '" + std::string(name) + "'");
}

ToolOutput run_tool(std::string_view name, const ProcSource& src, const std::vector<std::string>& args,
                    const ToolEnv& env) {
    if (name == "free") return run_free(src, parse_free_args(args));
    if (name == "slabtop") return run_slabtop(src, parse_slabtop_args(args));
    if (name == "pmap") return run_pmap(src, parse_pmap_args(args));
    if (name == "ps") return run_ps(src, parse_ps_args(args));
    if (name == "top") return run_top(src, parse_top_args(args), env);
    if (name == "smem") return run_smem(src, parse_smem_args(args));
    throw ToolArgError(std::size_t(-1), "unknown tool '" + std::string(name) + "'");
}

}  // namespace mmsim::tools
