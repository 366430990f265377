// /sys/kernel/mm/transparent_hugepage/ (mm/huge_memory.c's sysfs files).
//
// Transparent huge pages are switched on and off at run time through sysfs,
// not sysctl. A multiple-choice file prints every choice with the current
// one in brackets and accepts exactly one choice name (a single trailing
// newline allowed, as `echo` writes it; anything else is EINVAL):
//
//   enabled         always [madvise] never
//                   "always": every suitable anonymous mapping may get huge
//                   pages; "madvise": only regions marked MADV_HUGEPAGE;
//                   "never": none. After every accepted write the kernel
//                   calls start_stop_khugepaged(), which (re)computes
//                   min_free_kbytes -- raising it for huge page allocations
//                   while THP is on, restoring the default when it is off.
//   defrag          always defer defer+madvise [madvise] never
//                   how hard a THP fault may work (direct compaction) to
//                   find a free 2 MiB block. Only the 6.18 default,
//                   madvise, is modelled until THP faults exist: writing it
//                   succeeds, writing another valid choice returns
//                   anything else EINVAL.
//   hpage_pmd_size  2097152, the PMD huge page size in bytes (read-only).
//
// khugepaged/*, shmem_enabled and the per-size hugepages-*kB/ directories
// arrive with the THP subsystem.
#include <fmt/format.h>

#include "mm/khugepaged.h"
#include "proc/renderers.h"

namespace mmsim {

bool sysfs_streq(std::string_view a, std::string_view b) {
    auto trim = [](std::string_view s) {
        if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
        return s;
    };
    return trim(a) == trim(b);
}

namespace {

std::string choices(std::initializer_list<const char*> all, std::string_view current) {
    std::string s;
    for (const char* c : all) {
        if (!s.empty()) s += ' ';
        s += current == c ? fmt::format("[{}]", c) : std::string(c);
    }
    return s + "\n";
}

const char* thp_mode_name(ThpMode m) {
    switch (m) {
        case ThpMode::Always:
            return "always";
        case ThpMode::Madvise:
            return "madvise";
        case ThpMode::Never:
            return "never";
    }
    return "never";
}

std::string enabled_show(const Kernel& k) {
    return choices({"always", "madvise", "never"}, thp_mode_name(k.vm.thp));
}

Result<void> enabled_store(Kernel& k, std::string_view buf) {
    ThpMode mode;
    if (sysfs_streq(buf, "always"))
        mode = ThpMode::Always;
    else if (sysfs_streq(buf, "madvise"))
        mode = ThpMode::Madvise;
    else if (sysfs_streq(buf, "never"))
        mode = ThpMode::Never;
    else
        return make_error(Errno::INVAL, "expected always, madvise or never");
    k.vm.thp = mode;
    thp_enabled_changed(k);  // start_stop_khugepaged()
    return {};
}

// How hard a THP fault may try (direct reclaim and compaction, or waking
// kswapd/kcompactd); the fault path of a later issue reads k.vm.thp_defrag.
std::string defrag_show(const Kernel& k) {
    return choices({"always", "defer", "defer+madvise", "madvise", "never"}, k.vm.thp_defrag.c_str());
}

Result<void> defrag_store(Kernel& k, std::string_view buf) {
    for (const char* c : {"always", "defer", "defer+madvise", "madvise", "never"}) {
        if (!sysfs_streq(buf, c)) continue;
        k.vm.thp_defrag = c;
        return {};
    }
    return make_error(Errno::INVAL, "expected always, defer, defer+madvise, madvise or never");
}

std::string hpage_pmd_size_show(const Kernel&) { return fmt::format("{}\n", PAGE_SIZE << HPAGE_PMD_ORDER); }

}  // namespace

const std::vector<SysfsFile>& thp_sysfs_files() {
    static const std::vector<SysfsFile> files = {
        {"defrag", 0644, defrag_show, defrag_store},
        {"enabled", 0644, enabled_show, enabled_store},
        {"hpage_pmd_size", 0444, hpage_pmd_size_show, nullptr},
    };
    return files;
}

}  // namespace mmsim
