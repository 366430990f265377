// Boot: from a machine description to a running kernel (mm/mm_init.c).
#pragma once

#include <memory>

#include "kernel/kernel.h"
#include "machine/machine.h"

namespace mmsim {

// Boots a machine: lays out memory (resolve_layout), creates nodes and zones
// (free_area_init), builds zonelists, frees every unreserved page to the
// buddy allocator (memblock_free_all), sizes per-CPU lists, computes
// min_free_kbytes and the watermarks (init_per_zone_wmark_min), starts
// khugepaged's min_free_kbytes raise when THP is enabled, then applies the
// description's sysctls in order. Throws InputError for a description that
// cannot boot or a sysctl that the kernel would refuse.
std::unique_ptr<Kernel> boot_kernel(const MachineDesc& desc);

}  // namespace mmsim
