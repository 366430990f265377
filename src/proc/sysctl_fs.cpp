// /proc/sys/fs/dentry-state, inode-nr and inode-state (fs/dcache.c
// proc_nr_dentry, fs/inode.c proc_nr_inodes): the dentry and inode cache
// counts as tab-separated longs. dentry-state: nr_dentry, nr_unused,
// age_limit (45, unused since 2.2), want_pages (0), nr_negative (unused
// negative dentries), 0.
// inode-nr: nr_inodes, nr_unused; inode-state: the same and five zeros.
// file-nr and file-max (fs/file_table.c): files_stat as unsigned longs,
// file-nr being nr_files, 0 (nr_free_files, unused since 2.6) and
// max_files; file-max is max_files alone, and writable (0 to LONG_MAX).
#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>

#include "fs/dcache.h"
#include "proc/renderers.h"

namespace mmsim {

std::string render_dentry_state(const Kernel& k) {
    return fmt::format("{}\t{}\t45\t0\t{}\t0\n", dentry_count(k), dentry_unused(k), dentry_negative(k));
}

std::string render_inode_nr(const Kernel& k) {
    return fmt::format("{}\t{}\n", inode_count(k), inode_unused(k));
}

std::string render_inode_state(const Kernel& k) {
    return fmt::format("{}\t{}\t0\t0\t0\t0\t0\n", inode_count(k), inode_unused(k));
}

std::string render_file_nr(const Kernel& k) { return fmt::format("{}\t0\t{}\n", k.nr_files, k.max_files); }

std::string render_file_max(const Kernel& k) { return fmt::format("{}\n", k.max_files); }

// proc_doulongvec_minmax() with extra1 0 and extra2 LONG_MAX: one
// unsigned number, surrounded by blanks; a sign or anything else is EINVAL.
Result<void> store_file_max(Kernel& k, std::string_view buf) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
    while (!buf.empty() && blank(buf.front())) buf.remove_prefix(1);
    while (!buf.empty() && blank(buf.back())) buf.remove_suffix(1);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(buf.data(), buf.data() + buf.size(), v);
    if (buf.empty() || ec != std::errc() || end != buf.data() + buf.size())
        return make_error(Errno::INVAL, "expected a number of files");
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return make_error(Errno::INVAL, "file-max is at most LONG_MAX");
    k.max_files = v;
    return {};
}

}  // namespace mmsim
