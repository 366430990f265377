// /sys/kernel/mm/cma/<area>/ (mm/cma_sysfs.c, CONFIG_CMA_SYSFS).
//
// One directory per CMA area, named after the area ("reserved" for the
// default area of cma=), each with five read-only files holding one
// decimal number and a newline:
//
//   alloc_pages_success    pages cma_alloc() handed out, summed over calls
//   alloc_pages_fail       pages asked of cma_alloc() in calls that failed
//   release_pages_success  pages cma_release() took back
//   total_pages            the area's size in pages
//   available_pages        pages not handed out by cma_alloc() (lent to
//                          movable allocations or free, it does not matter)
//
// The directory exists when the machine has a CMA area (the simulator's
// CONFIG_CMA, as for meminfo's CmaTotal). The counters live in CmaArea
// (src/mm/cma.h); cma_alloc() and cma_release() keep them.
#include <fmt/format.h>

#include "mm/cma.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

std::string alloc_pages_success_show(const CmaArea& a) { return fmt::format("{}\n", a.nr_pages_succeeded); }
std::string alloc_pages_fail_show(const CmaArea& a) { return fmt::format("{}\n", a.nr_pages_failed); }
std::string release_pages_success_show(const CmaArea& a) { return fmt::format("{}\n", a.nr_pages_released); }
std::string total_pages_show(const CmaArea& a) { return fmt::format("{}\n", a.count); }
std::string available_pages_show(const CmaArea& a) { return fmt::format("{}\n", a.available_count); }

}  // namespace

const std::vector<CmaSysfsFile>& cma_sysfs_files() {
    // Sorted by name.
    static const std::vector<CmaSysfsFile> files = {
        {"alloc_pages_fail", alloc_pages_fail_show}, {"alloc_pages_success", alloc_pages_success_show},
        {"available_pages", available_pages_show},   {"release_pages_success", release_pages_success_show},
        {"total_pages", total_pages_show},
    };
    return files;
}

}  // namespace mmsim
