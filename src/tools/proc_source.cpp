// The sources of /proc text for the tools (see proc_source.h).
#include "tools/proc_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kernel/kernel.h"
#include "proc/procfs.h"

namespace mmsim::tools {

namespace {

constexpr std::string_view kProc = "/proc";

// Errno values the tools may see; anything else reads as EIO.
Errno errno_from(int e) {
    switch (e) {
        case ENOENT:
            return Errno::NOENT;
        case ESRCH:
            return Errno::SRCH;
        case EACCES:
            return Errno::ACCES;
        case EPERM:
            return Errno::PERM;
        case EISDIR:
            return Errno::ISDIR;
        case ENOTDIR:
            return Errno::NOTDIR;
        case ENOMEM:
            return Errno::NOMEM;
        default:
            return Errno::IO;
    }
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "/proc/meminfo" -> "meminfo"; false for a path outside /proc.
bool strip_proc(std::string_view path, std::string_view& rest) {
    if (path.substr(0, kProc.size()) != kProc) return false;
    rest = path.substr(kProc.size());
    if (!rest.empty() && rest[0] != '/') return false;
    while (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
    return true;
}

}  // namespace

int pid_of_path(std::string_view path) {
    std::string_view rest;
    if (!strip_proc(path, rest)) return -1;
    std::string_view first = rest.substr(0, rest.find('/'));
    if (!all_digits(first) || first.size() > 9) return -1;
    return std::stoi(std::string(first));
}

DirProcSource::DirProcSource(std::string dir) : m_dir(std::move(dir)) {
    while (m_dir.size() > 1 && m_dir.back() == '/') m_dir.pop_back();
}

Result<std::string> DirProcSource::read(std::string_view path) const {
    std::string_view rest;
    if (!strip_proc(path, rest)) return Errno::NOENT;
    std::string file = m_dir + "/" + std::string(rest);
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_from(errno);
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            return errno_from(e);
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

std::vector<int> DirProcSource::pids() const {
    std::vector<int> out;
    DIR* d = ::opendir(m_dir.c_str());
    if (!d) return out;
    while (const dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (all_digits(name) && name.size() <= 9) out.push_back(std::stoi(std::string(name)));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::string> SimProcSource::read(std::string_view path) const { return proc_read(m_kernel, path); }

std::vector<int> SimProcSource::pids() const {
    // The simulated tree has no directory listing call yet: every process
    // shows up as files under /proc/<pid>/ in proc_list().
    std::vector<int> out;
    for (const std::string& p : proc_list(m_kernel)) {
        int pid = pid_of_path(p);
        if (pid >= 0 && (out.empty() || out.back() != pid)) out.push_back(pid);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Result<std::string> MapProcSource::read(std::string_view path) const {
    auto it = m_files.find(path);
    if (it == m_files.end()) return Errno::NOENT;
    return it->second;
}

std::vector<int> MapProcSource::pids() const {
    std::vector<int> out;
    for (const auto& [path, text] : m_files) {
        int pid = pid_of_path(path);
        if (pid >= 0) out.push_back(pid);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace mmsim::tools
