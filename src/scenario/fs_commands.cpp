// The dentry and inode caches in a scenario: a directory walk, the kernel
// workload that fills them.
//
//   walk_tree PATH [dirs=N] [files=M]
//
// walks (as `find PATH` would: each directory, then each of its entries)
// a tree of N directories under PATH holding M files each (with dirs=0, M
// files directly in PATH): PATH/d0000/f0000 ... Every entry looked up for
// the first time gets a dentry and an ext4 inode (src/fs/dcache.h); a walk
// that finds them cached marks them referenced. The tree has no file
// data, so every inode is reclaimable once its dentry goes:
// `sysctl vm.drop_caches=2` frees them.
#include <fmt/format.h>

#include "fs/dcache.h"
#include "scenario/commands.h"
#include "scenario/interp.h"

namespace mmsim::scenario {

void register_fs_commands(CommandRegistry& r) {
    CommandSpec s;
    s.name = "walk_tree";
    s.usage = "walk_tree PATH [dirs=N] [files=M]";
    s.summary =
        "Walks a tree of N directories of M files under PATH as find(1) would, filling the dentry and "
        "inode caches.";
    s.examples = {"walk_tree /srv/data dirs=100 files=200", "walk_tree /etc files=300"};
    s.options = {{"dirs", ArgKind::Int, "directories under PATH (default 10; 0: the files sit in PATH)"},
                 {"files", ArgKind::Int, "files in each directory (default 100)"}};
    s.min_args = s.max_args = 1;
    auto limits = [](const Args& a) {
        int64_t dirs = a.option("dirs") ? arg_int(*a.option("dirs"), "dirs=", 0, 1000000) : 10;
        int64_t files = a.option("files") ? arg_int(*a.option("files"), "files=", 0, 1000000) : 100;
        const Arg& path = a.positional[0];
        if (path.value.size() < 2 || path.value[0] != '/' || path.value.back() == '/' ||
            path.value.find("//") != std::string::npos)
            throw InputError(path.loc,
                             fmt::format("expected an absolute path like /srv/data, got '{}'", path.value));
        if (std::max<int64_t>(dirs, 1) * (files + 1) > 10000000)
            throw InputError(a.option("files") ? a.option("files")->loc : path.loc,
                             "a tree of more than 10 million entries");
        return std::pair{dirs, files};
    };
    s.check = [limits](const Args& a, const Command&) { (void)limits(a); };
    s.run = [limits](Interp& in, Invocation& inv) {
        Kernel& k = in.kernel(inv.cmd.loc);
        auto [dirs, files] = limits(inv.args);
        const std::string& root = inv.args.positional[0].value;
        path_lookup(k, root, true);
        auto walk_dir = [&](const std::string& dir) {
            for (int64_t f = 0; f < files; f++) path_lookup(k, fmt::format("{}/f{:04}", dir, f));
        };
        if (dirs == 0) walk_dir(root);
        for (int64_t d = 0; d < dirs; d++) {
            std::string dir = fmt::format("{}/d{:04}", root, d);
            path_lookup(k, dir, true);
            walk_dir(dir);
        }
    };
    r.add(std::move(s));
}

}  // namespace mmsim::scenario
