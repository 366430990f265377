// The /proc/sys/vm table (kernel/sysctl.c, mm/*.c's ctl_table entries).
//
// Each entry knows its name, mode, value format and the kernel's
// validation (proc_dointvec_minmax ranges and friends). A write that the
// kernel would refuse returns its errno and changes nothing; a write that
// succeeds calls the same follow-up the kernel's handler does
// (min_free_kbytes -> setup_per_zone_wmarks(), ...).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/result.h"

namespace mmsim {

struct SysctlInfo {
    std::string name;      // "swappiness", "page-cluster", ... (file name under /proc/sys/vm)
    unsigned mode = 0644;  // 0644, 0200 (write-only), 0600
    std::string range;     // for messages: "0..200", "an integer >= 0", ...
};

// Every vm sysctl of Linux 6.18, in the order `ls /proc/sys/vm` prints.
const std::vector<SysctlInfo>& sysctl_vm_table();
const SysctlInfo* sysctl_vm_find(std::string_view name);

// name is the file name under /proc/sys/vm ("swappiness"). The text read
// ends with "\n" exactly as the kernel prints it (vectors are tab-separated).
Result<std::string> sysctl_vm_read(const Kernel& k, std::string_view name);
Result<void> sysctl_vm_write(Kernel& k, std::string_view name, std::string_view text);

// "vm.swappiness" or "vm/swappiness" -> "swappiness"; empty if not vm.*.
std::string sysctl_vm_key(std::string_view dotted);

// A close match for a misspelled name, for error messages; empty if none.
std::string sysctl_vm_suggest(std::string_view name);

}  // namespace mmsim
