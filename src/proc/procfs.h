// The simulated /proc and /sys trees: paths to renderers.
//
// Every file is produced on demand from the Kernel's counters by a renderer
// that holds no policy (DESIGN.md section 3). Writes go to the sysctl table.
// Tools and the scenario language read files only through this interface,
// so the same code can read a real /proc (see src/tools).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/result.h"

namespace mmsim {

// Reads "/proc/meminfo", "/proc/sys/vm/swappiness",
// "/sys/kernel/mm/transparent_hugepage/enabled", ...
// ENOENT for a path that does not exist, EISDIR for a directory, EACCES for
// a write-only file (drop_caches, compact_memory).
Result<std::string> proc_read(const Kernel& k, std::string_view path);

// Writes to a writable file (the sysctls, the THP setting). The kernel's
// errno on a refused value: EINVAL for out of range or malformed, ENOENT
// for no such file, EIO for a /proc file that cannot be written (as the
// kernel's proc_reg_write says), EACCES for a read-only sysfs attribute.
Result<void> proc_write(Kernel& k, std::string_view path, std::string_view data);

// True if the path names an existing file or directory.
bool proc_exists(const Kernel& k, std::string_view path);

// The pids of /proc: every thread-group leader, zombies included, ascending.
std::vector<int> proc_pids(const Kernel& k);

// Every file path that exists now, sorted (what a snapshot writes).
std::vector<std::string> proc_list(const Kernel& k);

// Writes DIR/proc/... and DIR/sys/... so that real procps reads the
// simulated machine. Writes into a temporary directory beside DIR and
// renames it into place, so a failure leaves no partial snapshot. Throws
// std::runtime_error on an I/O failure.
void write_snapshot(const Kernel& k, const std::string& dir);

}  // namespace mmsim
