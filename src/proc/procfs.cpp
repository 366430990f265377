// The simulated /proc and /sys trees (fs/proc/generic.c, fs/proc/proc_sysctl.c
// and sysfs, reduced to a path table).
//
// In the kernel, procfs and sysfs are filesystems whose files have no
// contents until someone reads them: open() finds an entry with a show()
// function, and read() runs it against the live counters. mmsim does the
// same with a table of paths:
//
//   /proc/meminfo, zoneinfo, buddyinfo, pagetypeinfo, vmstat    memory
//   /proc/cpuinfo, stat, uptime, loadavg, version               what procps
//   /proc/sys/kernel/osrelease                                  reads beside them
//   /proc/swaps                                                 swap devices
//   /proc/sys/vm/<name>      every vm sysctl, routed to src/proc/sysctl.cpp
//   /sys/kernel/mm/transparent_hugepage/{enabled,defrag,hpage_pmd_size}
//   /sys/kernel/debug/extfrag/{extfrag_index,unusable_index}
//   /sys/kernel/mm/cma/<area>/{alloc_pages_success,...}  with a CMA area
//
// Directories are whatever the paths imply. Errors are the ones a program
// would get from open(2)/read(2)/write(2): ENOENT for no such path, ENOTDIR
// for a path through a file, EISDIR for reading or writing a directory,
// EACCES for reading a write-only sysctl (drop_caches, compact_memory) or
// writing a read-only file (where a real kernel says EIO for /proc/meminfo
// and friends, mmsim says EACCES for all of them).
//
// A snapshot writes every file into a directory tree laid out like the real
// one, so that real tools can read the simulated machine:
//
//   unshare -m sh -c 'mount --bind DIR/proc /proc && free -m'
//
// It is built in a temporary directory beside DIR and renamed into place,
// so readers never see half a snapshot and a failure leaves nothing behind.
#include "proc/procfs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "kernel/task.h"
#include "mm/cma.h"
#include "mm/show_mem.h"
#include "proc/renderers.h"
#include "proc/sysctl.h"

namespace mmsim {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view SYSCTL_VM_DIR = "/proc/sys/vm";
constexpr std::string_view THP_DIR = "/sys/kernel/mm/transparent_hugepage";
constexpr std::string_view CMA_DIR = "/sys/kernel/mm/cma";

struct FileEntry {
    std::string path;
    unsigned mode = 0444;
    std::string (*show)(const Kernel&) = nullptr;
    Result<void> (*store)(Kernel&, std::string_view) = nullptr;
    // nullptr: always there; else the file exists only when this says so
    // (debugfs's page_owner with page_owner=on).
    bool (*exists)(const Kernel&) = nullptr;
};

bool page_owner_exists(const Kernel& k) { return k.page_owner_enabled; }

std::string show_osrelease(const Kernel& k) { return k.kernel_release + "\n"; }

}  // namespace

// mm/swapfile.c's /proc/swaps (src/proc/swaps.cpp).
std::string render_swaps(const Kernel& k);

namespace {

// The files whose existence does not depend on the sysctl table, sorted.
const std::vector<FileEntry>& fixed_files() {
    static const std::vector<FileEntry> files = [] {
        std::vector<FileEntry> v = {
            {"/proc/buddyinfo", 0444, render_buddyinfo, nullptr},
            {"/proc/cpuinfo", 0444, render_cpuinfo, nullptr},
            {"/proc/loadavg", 0444, render_loadavg, nullptr},
            {"/proc/meminfo", 0444, render_meminfo, nullptr},
            {"/proc/pagetypeinfo", 0400, render_pagetypeinfo, nullptr},
            {"/proc/slabinfo", 0400, render_slabinfo, nullptr},
            {"/proc/stat", 0444, render_stat, nullptr},
            {"/proc/swaps", 0444, render_swaps, nullptr},
            {"/proc/sys/fs/dentry-state", 0444, render_dentry_state, nullptr},
            {"/proc/sys/fs/file-max", 0644, render_file_max, store_file_max},
            {"/proc/sys/fs/file-nr", 0444, render_file_nr, nullptr},
            {"/proc/sys/fs/inode-nr", 0444, render_inode_nr, nullptr},
            {"/proc/sys/fs/inode-state", 0444, render_inode_state, nullptr},
            {"/proc/sys/kernel/osrelease", 0444, show_osrelease, nullptr},
            {"/proc/uptime", 0444, render_uptime, nullptr},
            {"/proc/version", 0444, render_version, nullptr},
            {"/proc/vmallocinfo", 0400, render_vmallocinfo, nullptr},
            {"/proc/vmstat", 0444, render_vmstat, nullptr},
            {"/sys/kernel/debug/page_owner", 0400, render_page_owner, nullptr, page_owner_exists},
            {"/proc/zoneinfo", 0444, render_zoneinfo, nullptr},
            {"/sys/kernel/debug/extfrag/extfrag_index", 0444, render_extfrag_index, nullptr},
            {"/sys/kernel/debug/extfrag/unusable_index", 0444, render_unusable_index, nullptr},
        };
        for (const SysfsFile& f : thp_sysfs_files())
            v.push_back({std::string(THP_DIR) + "/" + f.name, f.mode, f.show, f.store});
        std::sort(v.begin(), v.end(), [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
        return v;
    }();
    return files;
}

// The files of /proc/PID, sorted by name.
struct PidFile {
    std::string_view name;
    unsigned mode;
    std::string (*show)(const Kernel&, const Task&);
    Result<void> (*store)(Kernel&, Task&, std::string_view);
};
const std::vector<PidFile>& pid_files() {
    static const std::vector<PidFile> files = {
        {"cmdline", 0444, render_pid_cmdline, nullptr},
        {"comm", 0644, render_pid_comm, nullptr},
        {"maps", 0444, render_pid_maps, nullptr},
        {"oom_score_adj", 0644, render_pid_oom_score_adj, store_pid_oom_score_adj},
        {"smaps", 0444, render_pid_smaps, nullptr},
        {"smaps_rollup", 0444, render_pid_smaps_rollup, nullptr},
        {"stat", 0444, render_pid_stat, nullptr},
        {"statm", 0444, render_pid_statm, nullptr},
        {"status", 0444, render_pid_status, nullptr},
    };
    return files;
}

// "/proc/1234" -> 1234 and the rest ("", "/maps"); -1 if not a pid path.
int parse_pid_path(std::string_view path, std::string_view* rest) {
    constexpr std::string_view P = "/proc/";
    if (path.substr(0, P.size()) != P) return -1;
    std::size_t i = P.size(), j = i;
    while (j < path.size() && path[j] >= '0' && path[j] <= '9') j++;
    if (j == i || j - i > 9 || (j < path.size() && path[j] != '/')) return -1;
    *rest = path.substr(j);
    return std::stoi(std::string(path.substr(i, j - i)));
}

// /sys/kernel/mm/cma[/AREA[/FILE]]: the directory exists on a machine with
// a CMA area (CONFIG_CMA); one subdirectory per area. Returns false when
// the path is not under it; else sets *area and *file (null for a
// directory) or *err.
bool resolve_cma_path(const Kernel& k, std::string_view path, const CmaArea** area, const CmaSysfsFile** file,
                      Errno* err) {
    if (path.substr(0, CMA_DIR.size()) != CMA_DIR) return false;
    std::string_view rest = path.substr(CMA_DIR.size());
    if (!rest.empty() && rest[0] != '/') return false;
    *area = nullptr;
    *file = nullptr;
    *err = Errno::OK;
    if (!config_cma(k) || !k.cma) {
        *err = Errno::NOENT;
        return true;
    }
    if (rest.empty()) return true;
    rest.remove_prefix(1);
    std::string_view name = rest.substr(0, rest.find('/'));
    for (const auto& a : k.cma->areas)
        if (a.name == name) *area = &a;
    if (!*area) {
        *err = Errno::NOENT;
        return true;
    }
    if (name.size() == rest.size()) return true;
    std::string_view fname = rest.substr(name.size() + 1);
    std::string_view first = fname.substr(0, fname.find('/'));
    for (const auto& f : cma_sysfs_files())
        if (f.name == first) *file = &f;
    if (!*file)
        *err = Errno::NOENT;
    else if (first.size() != fname.size())
        *err = Errno::NOTDIR;
    return true;
}

// Every directory the files imply, from "/" down.
const std::set<std::string, std::less<>>& directories() {
    static const std::set<std::string, std::less<>> dirs = [] {
        std::set<std::string, std::less<>> d{"/"};
        auto add_parents = [&](std::string_view p) {
            for (std::size_t i = p.find('/', 1); i != std::string_view::npos; i = p.find('/', i + 1))
                d.insert(std::string(p.substr(0, i)));
        };
        for (const auto& f : fixed_files()) add_parents(f.path);
        add_parents(std::string(SYSCTL_VM_DIR) + "/x");
        return d;
    }();
    return dirs;
}

// A path as the kernel's lookup sees it: components without "." and
// "..", and whether it ended in a slash.
struct Lookup {
    std::string path;  // "/proc/meminfo"; "/" for the root
    bool trailing_slash = false;
    std::vector<std::string> prefixes;  // proper ancestors below the root, shortest first
};

Lookup normalize(std::string_view in) {
    Lookup l;
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i <= in.size()) {
        std::size_t j = in.find('/', i);
        if (j == std::string_view::npos) j = in.size();
        std::string_view c = in.substr(i, j - i);
        if (c == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!c.empty() && c != ".") {
            parts.push_back(c);
        }
        i = j + 1;
    }
    l.trailing_slash = in.size() > 1 && in.back() == '/';
    for (const auto& p : parts) {
        if (!l.path.empty()) l.prefixes.push_back(l.path);
        l.path.push_back('/');
        l.path.append(p.data(), p.size());
    }
    if (l.path.empty()) l.path.assign(1, '/');
    return l;
}

// What a path names: a table file, a vm sysctl, a directory, or nothing.
struct Resolved {
    Errno err = Errno::OK;  // NOENT / NOTDIR when it names nothing usable
    bool is_dir = false;
    const FileEntry* file = nullptr;
    const SysctlInfo* sysctl = nullptr;
    const PidFile* pid_file = nullptr;
    int pid = -1;
    const CmaArea* cma_area = nullptr;
    const CmaSysfsFile* cma_file = nullptr;
};

const FileEntry* find_fixed(std::string_view path) {
    const auto& files = fixed_files();
    auto it = std::lower_bound(files.begin(), files.end(), path,
                               [](const FileEntry& e, std::string_view p) { return e.path < p; });
    return it != files.end() && it->path == path ? &*it : nullptr;
}

const SysctlInfo* find_sysctl(std::string_view path) {
    if (path.size() <= SYSCTL_VM_DIR.size() + 1 || path.substr(0, SYSCTL_VM_DIR.size()) != SYSCTL_VM_DIR ||
        path[SYSCTL_VM_DIR.size()] != '/')
        return nullptr;
    std::string_view name = path.substr(SYSCTL_VM_DIR.size() + 1);
    if (name.find('/') != std::string_view::npos) return nullptr;
    return sysctl_vm_find(name);
}

bool is_file(std::string_view path) { return find_fixed(path) || find_sysctl(path); }

Resolved resolve(const Kernel& k, std::string_view raw) {
    Resolved r;
    if (raw.empty()) {
        r.err = Errno::NOENT;
        return r;
    }
    Lookup l = normalize(raw);
    std::string_view rest;
    if (int pid = parse_pid_path(l.path, &rest); pid >= 0) {
        const Task* t = k.tasks ? k.tasks->find(pid) : nullptr;
        // /proc lists thread-group leaders; a thread's files are under
        // /proc/TGID/task, which the simulator does not show.
        if (!t || t->pid != t->tgid) {
            r.err = Errno::NOENT;
            return r;
        }
        r.pid = pid;
        if (rest.empty()) {
            r.is_dir = true;
            return r;
        }
        rest.remove_prefix(1);
        for (const auto& f : pid_files())
            if (f.name == rest) {
                r.pid_file = &f;
                if (l.trailing_slash) r.err = Errno::NOTDIR;
                return r;
            }
        r.err = rest.find('/') != std::string_view::npos &&
                        [&] {
                            for (const auto& f : pid_files())
                                if (rest.substr(0, f.name.size() + 1) == std::string(f.name) + "/")
                                    return true;
                            return false;
                        }()
                    ? Errno::NOTDIR
                    : Errno::NOENT;
        return r;
    }
    if (resolve_cma_path(k, l.path, &r.cma_area, &r.cma_file, &r.err)) {
        if (r.err == Errno::OK && !r.cma_file)
            r.is_dir = true;
        else if (r.err == Errno::OK && l.trailing_slash)
            r.err = Errno::NOTDIR;
        return r;
    }
    for (const auto& p : l.prefixes) {
        if (is_file(p)) {
            r.err = Errno::NOTDIR;
            return r;
        }
    }
    if (directories().count(l.path)) {
        r.is_dir = true;
        return r;
    }
    r.file = find_fixed(l.path);
    if (r.file && r.file->exists && !r.file->exists(k)) r.file = nullptr;
    if (!r.file) r.sysctl = find_sysctl(l.path);
    if (!r.file && !r.sysctl)
        r.err = Errno::NOENT;
    else if (l.trailing_slash)
        r.err = Errno::NOTDIR;
    return r;
}

Error path_error(Errno e, std::string_view path) { return make_error(e, std::string(path)); }

}  // namespace

Result<std::string> proc_read(const Kernel& k, std::string_view path) {
    Resolved r = resolve(k, path);
    if (r.err != Errno::OK) return path_error(r.err, path);
    if (r.is_dir) return path_error(Errno::ISDIR, path);
    if (r.pid_file) return r.pid_file->show(k, *k.tasks->find(r.pid));
    if (r.cma_file) return r.cma_file->show(*r.cma_area);
    if (r.sysctl) {
        if (!(r.sysctl->mode & 0444)) return path_error(Errno::ACCES, path);
        return sysctl_vm_read(k, r.sysctl->name);
    }
    if (!(r.file->mode & 0444)) return path_error(Errno::ACCES, path);
    return r.file->show(k);
}

Result<void> proc_write(Kernel& k, std::string_view path, std::string_view data) {
    Resolved r = resolve(k, path);
    if (r.err != Errno::OK) return path_error(r.err, path);
    if (r.is_dir) return path_error(Errno::ISDIR, path);
    if (r.pid_file) {
        if (!r.pid_file->store) return path_error(Errno::IO, path);
        return r.pid_file->store(k, *k.tasks->find(r.pid), data);
    }
    if (r.cma_file) return path_error(Errno::ACCES, path);  // read-only attributes
    if (r.sysctl) {
        if (!(r.sysctl->mode & 0222)) return path_error(Errno::ACCES, path);
        return sysctl_vm_write(k, r.sysctl->name, data);
    }
    // A /proc file with no write method fails the write itself with EIO
    // (proc_reg_write); a read-only sysfs attribute refuses the open.
    if (!r.file->store || !(r.file->mode & 0222))
        return path_error(path.substr(0, 6) == "/proc/" ? Errno::IO : Errno::ACCES, path);
    return r.file->store(k, data);
}

bool proc_exists(const Kernel& k, std::string_view path) {
    Resolved r = resolve(k, path);
    return r.err == Errno::OK;
}

std::vector<int> proc_pids(const Kernel& k) {
    std::vector<int> pids;
    if (k.tasks)
        k.tasks->for_each([&](const Task& t) {
            if (t.pid == t.tgid) pids.push_back(t.pid);
        });
    return pids;
}

std::vector<std::string> proc_list(const Kernel& k) {
    std::vector<std::string> out;
    for (int pid : proc_pids(k))
        for (const auto& f : pid_files()) out.push_back(fmt::format("/proc/{}/{}", pid, f.name));
    for (const auto& f : fixed_files())
        if (!f.exists || f.exists(k)) out.push_back(f.path);
    for (const auto& s : sysctl_vm_table()) out.push_back(std::string(SYSCTL_VM_DIR) + "/" + s.name);
    if (config_cma(k) && k.cma)
        for (const auto& a : k.cma->areas)
            for (const auto& f : cma_sysfs_files())
                out.push_back(fmt::format("{}/{}/{}", CMA_DIR, a.name, f.name));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// ---- snapshots ---------------------------------------------------------------

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
    throw std::runtime_error(what + ": " + std::strerror(err));
}

// Writes one file with exactly this mode (umask ignored).
void write_file(const fs::path& p, const std::string& data, unsigned mode) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail("snapshot: cannot create " + p.string(), errno);
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            fail("snapshot: cannot write " + p.string(), e);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, mode) != 0) {
        int e = errno;
        ::close(fd);
        fail("snapshot: cannot set the mode of " + p.string(), e);
    }
    if (::close(fd) != 0) fail("snapshot: cannot write " + p.string(), errno);
}

unsigned file_mode(std::string_view path) {
    std::string_view rest;
    if (parse_pid_path(path, &rest) >= 0)
        for (const auto& f : pid_files())
            if (rest.size() > 1 && rest.substr(1) == f.name) return f.mode;
    if (const FileEntry* f = find_fixed(path)) return f->mode;
    if (const SysctlInfo* s = find_sysctl(path)) return s->mode;
    return 0444;
}

// A directory a snapshot may replace: empty, or holding only what a
// snapshot writes. Anything else is someone's data.
bool replaceable(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (name != "proc" && name != "sys") return false;
    }
    return !ec;
}

// A fresh, unique directory name beside `target`.
fs::path make_temp_dir(const fs::path& parent, const std::string& name, const char* what) {
    std::string tmpl = (parent / ("." + name + "." + what + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data()))
        fail("snapshot: cannot create a temporary directory in " + parent.string(), errno);
    return fs::path(tmpl);
}

void fill_snapshot(const Kernel& k, const fs::path& root) {
    for (const std::string& path : proc_list(k)) {
        Result<std::string> r = proc_read(k, path);
        std::string data;
        if (r.ok())
            data = std::move(r.value());
        else if (r.err() != Errno::ACCES)  // write-only files are empty, as in the real tree
            throw std::runtime_error("snapshot: reading " + path + ": " + errno_text(r.err()));
        fs::path p = root / path.substr(1);
        std::error_code ec;
        fs::create_directories(p.parent_path(), ec);
        if (ec) fail("snapshot: cannot create " + p.parent_path().string(), ec.value());
        write_file(p, data, file_mode(path));
    }
}

}  // namespace

void write_snapshot(const Kernel& k, const std::string& dir) {
    if (dir.empty()) throw std::runtime_error("snapshot: no directory given");
    fs::path target = fs::absolute(fs::path(dir)).lexically_normal();
    if (target.filename().empty()) target = target.parent_path();
    const std::string name = target.filename().string();
    if (name.empty() || name == "." || name == ".." || target == target.root_path())
        throw std::runtime_error("snapshot: '" + dir + "' cannot be a snapshot directory");
    const fs::path parent = target.parent_path();

    std::error_code ec;
    const bool exists = fs::exists(fs::symlink_status(target, ec));
    if (exists) {
        if (!fs::is_directory(fs::symlink_status(target, ec)))
            throw std::runtime_error("snapshot: '" + dir + "' exists and is not a directory");
        if (!replaceable(target))
            throw std::runtime_error("snapshot: refusing to replace '" + dir +
                                     "': it holds files other than proc/ and sys/");
    }

    const fs::path tmp = make_temp_dir(parent, name, "tmp");
    try {
        fill_snapshot(k, tmp);
        if (::chmod(tmp.c_str(), 0755) != 0) fail("snapshot: chmod " + tmp.string(), errno);
        if (!exists) {
            if (::rename(tmp.c_str(), target.c_str()) != 0)
                fail("snapshot: cannot rename into " + dir, errno);
            return;
        }
        // Move the old snapshot aside, the new one in, then drop the old.
        const fs::path old = make_temp_dir(parent, name, "old");
        if (::rename(target.c_str(), old.c_str()) != 0) {
            int e = errno;
            fs::remove(old, ec);
            fail("snapshot: cannot move the old " + dir + " aside", e);
        }
        if (::rename(tmp.c_str(), target.c_str()) != 0) {
            int e = errno;
            ::rename(old.c_str(), target.c_str());
            fail("snapshot: cannot rename into " + dir, e);
        }
        fs::remove_all(old, ec);
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
}

}  // namespace mmsim
