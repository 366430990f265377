// The task table and signal names (kernel/pid.c, kernel/signal.c).
#include "kernel/task.h"

#include <cctype>
#include <stdexcept>

namespace mmsim {

Task& TaskTable::create(int ppid) {
    // alloc_pid(): the next number not in use.
    while (m_tasks.count(m_next)) m_next++;
    auto t = std::make_unique<Task>();
    t->pid = m_next++;
    t->tgid = t->pid;
    t->ppid = ppid;
    Task& ref = *t;
    m_tasks.emplace(ref.pid, std::move(t));
    return ref;
}

Task* TaskTable::find(int pid) {
    auto it = m_tasks.find(pid);
    return it == m_tasks.end() ? nullptr : it->second.get();
}

const Task* TaskTable::find(int pid) const {
    auto it = m_tasks.find(pid);
    return it == m_tasks.end() ? nullptr : it->second.get();
}

void TaskTable::remove(int pid) { m_tasks.erase(pid); }

namespace {
struct SigName {
    int sig;
    const char* name;
};
constexpr SigName kSignals[] = {
    {Sig::HUP, "SIGHUP"},   {Sig::INT, "SIGINT"},   {Sig::QUIT, "SIGQUIT"}, {Sig::ILL, "SIGILL"},
    {Sig::ABRT, "SIGABRT"}, {Sig::BUS, "SIGBUS"},   {Sig::KILL, "SIGKILL"}, {Sig::USR1, "SIGUSR1"},
    {Sig::SEGV, "SIGSEGV"}, {Sig::USR2, "SIGUSR2"}, {Sig::PIPE, "SIGPIPE"}, {Sig::ALRM, "SIGALRM"},
    {Sig::TERM, "SIGTERM"}, {Sig::CHLD, "SIGCHLD"}, {Sig::CONT, "SIGCONT"}, {Sig::STOP, "SIGSTOP"},
};
}  // namespace

const char* signal_name(int sig) {
    for (const auto& s : kSignals)
        if (s.sig == sig) return s.name;
    return "SIG?";
}

int signal_from_name(const std::string& name) {
    if (name.empty()) return 0;
    bool digits = true;
    for (char c : name) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) {
        if (name.size() > 2) return 0;
        int n = std::stoi(name);
        for (const auto& s : kSignals)
            if (s.sig == n) return n;
        return 0;
    }
    std::string up;
    for (char c : name) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (up.rfind("SIG", 0) != 0) up = "SIG" + up;
    for (const auto& s : kSignals)
        if (up == s.name) return s.sig;
    return 0;
}

}  // namespace mmsim
