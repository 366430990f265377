// /proc/sys/fs/dentry-state, inode-nr and inode-state (fs/dcache.c
// proc_nr_dentry, fs/inode.c proc_nr_inodes): the dentry and inode cache
// counts as tab-separated longs. dentry-state: nr_dentry, nr_unused,
// age_limit (45, unused since 2.2), want_pages (0), nr_negative, 0.
// inode-nr: nr_inodes, nr_unused; inode-state: the same and five zeros.
#include <fmt/format.h>

#include "fs/dcache.h"
#include "proc/renderers.h"

namespace mmsim {

std::string render_dentry_state(const Kernel& k) {
    // No negative dentries are modelled.
    return fmt::format("{}\t{}\t45\t0\t0\t0\n", dentry_count(k), dentry_unused(k));
}

std::string render_inode_nr(const Kernel& k) {
    return fmt::format("{}\t{}\n", inode_count(k), inode_unused(k));
}

std::string render_inode_state(const Kernel& k) {
    return fmt::format("{}\t{}\t0\t0\t0\t0\t0\n", inode_count(k), inode_unused(k));
}

}  // namespace mmsim
