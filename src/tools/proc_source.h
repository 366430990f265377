// Where the tools get /proc text: the simulation or a real directory.
//
// DESIGN.md rule 2: tools read text, not internals. pmap, ps, top and smem
// see the machine only through this interface, which hands out the bytes of
// files such as "/proc/meminfo" or "/proc/1234/smaps" and lists the process
// directories. Two sources back it:
//
//   SimProcSource(kernel)   proc_read() of the simulated kernel (src/proc)
//   DirProcSource(dir)      a real directory laid out like /proc: /proc
//                           itself, or DIR/proc of a snapshot
//
// so every tool also runs on a real Linux host, and every tool run in a
// scenario is one more test of the renderers. MapProcSource holds files in
// memory (tests, and tools that read pipe input).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mmsim/result.h"

namespace mmsim {

class Kernel;

namespace tools {

class ProcSource {
public:
    virtual ~ProcSource() = default;
    // The text of a /proc file; `path` starts with "/proc/". The errno is the
    // one open(2) or read(2) gave (ENOENT, EACCES, ESRCH for a kernel
    // thread's smaps_rollup, ...).
    virtual Result<std::string> read(std::string_view path) const = 0;
    // The numeric entries of /proc, ascending (the order the kernel lists).
    virtual std::vector<int> pids() const = 0;
};

// Reads DIR/<path without its "/proc" prefix>.
class DirProcSource : public ProcSource {
public:
    explicit DirProcSource(std::string dir);
    Result<std::string> read(std::string_view path) const override;
    std::vector<int> pids() const override;
    const std::string& dir() const { return m_dir; }

private:
    std::string m_dir;
};

// Reads the simulated kernel's /proc through proc_read().
class SimProcSource : public ProcSource {
public:
    explicit SimProcSource(const Kernel& k) : m_kernel(k) {}
    Result<std::string> read(std::string_view path) const override;
    std::vector<int> pids() const override;

private:
    const Kernel& m_kernel;
};

// Files held in memory, keyed by their /proc path.
class MapProcSource : public ProcSource {
public:
    void add(std::string path, std::string text) { m_files[std::move(path)] = std::move(text); }
    Result<std::string> read(std::string_view path) const override;
    std::vector<int> pids() const override;

private:
    std::map<std::string, std::string, std::less<>> m_files;
};

// The numeric directory in "/proc/<digits>/...", or -1.
int pid_of_path(std::string_view path);

}  // namespace tools
}  // namespace mmsim
