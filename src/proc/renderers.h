// The renderers behind src/proc/procfs.cpp's path table.
//
// Each function prints one file the way Linux 6.18 does, byte for byte,
// from the Kernel's counters and from the formulas in src/mm/show_mem.h.
// None of them decides anything: a value they print is a counter or the
// result of a named kernel function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/result.h"

namespace mmsim {

// fs/proc/meminfo.c
std::string render_meminfo(const Kernel& k);
// mm/vmstat.c: zoneinfo, buddyinfo (frag_show), pagetypeinfo, vmstat
std::string render_zoneinfo(const Kernel& k);
std::string render_buddyinfo(const Kernel& k);
std::string render_pagetypeinfo(const Kernel& k);
std::string render_vmstat(const Kernel& k);
// mm/vmstat.c: debugfs extfrag/unusable_index and extfrag/extfrag_index
std::string render_unusable_index(const Kernel& k);
std::string render_extfrag_index(const Kernel& k);
// mm/slab_common.c
std::string render_slabinfo(const Kernel& k);
// fs/dcache.c, fs/inode.c: /proc/sys/fs/dentry-state, inode-nr, inode-state
std::string render_dentry_state(const Kernel& k);
std::string render_inode_nr(const Kernel& k);
std::string render_inode_state(const Kernel& k);
// fs/file_table.c: /proc/sys/fs/file-nr and file-max (writable)
std::string render_file_nr(const Kernel& k);
std::string render_file_max(const Kernel& k);
Result<void> store_file_max(Kernel& k, std::string_view buf);
// mm/vmalloc.c: /proc/vmallocinfo
std::string render_vmallocinfo(const Kernel& k);
// mm/page_owner.c: /sys/kernel/debug/page_owner (with page_owner=on)
std::string render_page_owner(const Kernel& k);
// arch/x86/kernel/cpu/proc.c
std::string render_cpuinfo(const Kernel& k);
// Whether the simulated CPU's cpuinfo flags list the feature (e.g. "ospke").
bool cpu_has_flag(std::string_view flag);
// fs/proc/stat.c, fs/proc/uptime.c, fs/proc/loadavg.c, fs/proc/version.c
std::string render_stat(const Kernel& k);
std::string render_uptime(const Kernel& k);
std::string render_loadavg(const Kernel& k);
std::string render_version(const Kernel& k);

// Per-process files (fs/proc/task_mmu.c, array.c, base.c).
struct Task;
std::string render_pid_maps(const Kernel& k, const Task& t);
std::string render_pid_smaps(const Kernel& k, const Task& t);
std::string render_pid_smaps_rollup(const Kernel& k, const Task& t);
std::string render_pid_statm(const Kernel& k, const Task& t);
std::string render_pid_status(const Kernel& k, const Task& t);
std::string render_pid_stat(const Kernel& k, const Task& t);
std::string render_pid_cmdline(const Kernel& k, const Task& t);
std::string render_pid_comm(const Kernel& k, const Task& t);
std::string render_pid_oom_score_adj(const Kernel& k, const Task& t);
Result<void> store_pid_oom_score_adj(Kernel& k, Task& t, std::string_view data);

// The simulated machine's wall clock at boot (btime in /proc/stat), in
// seconds since the epoch. Fixed so that runs are reproducible.
inline constexpr uint64_t SIM_BOOT_EPOCH = 1767225600;  // 2026-01-01 00:00:00 UTC

// /sys/kernel/mm/transparent_hugepage/* (mm/huge_memory.c): one entry per
// file, relative to that directory ("enabled", "defrag", ...).
struct SysfsFile {
    std::string name;
    unsigned mode = 0444;
    std::string (*show)(const Kernel&) = nullptr;
    Result<void> (*store)(Kernel&, std::string_view) = nullptr;  // nullptr: read-only
};
const std::vector<SysfsFile>& thp_sysfs_files();

// /sys/kernel/mm/cma/<area>/* (mm/cma_sysfs.c): the read-only files of
// each CMA area's directory, by name ("alloc_pages_success", ...).
struct CmaArea;
struct CmaSysfsFile {
    std::string_view name;
    std::string (*show)(const CmaArea&);
};
const std::vector<CmaSysfsFile>& cma_sysfs_files();

// sysfs_streq(): equal, ignoring one trailing newline on either side.
bool sysfs_streq(std::string_view a, std::string_view b);

}  // namespace mmsim
