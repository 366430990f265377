// Struct files and buffer heads (src/fs/file_table.cpp, src/fs/buffer.cpp)
// against the kernel's rules and against files.c run on a 6.18 host
// (tests/data/host-6.18/files: capture.sh, files.c, files.out).
//
// The rules, stated with each step:
//   - each open makes one struct file; a mapping keeps it after close, and
//     the copies of an area (split, fork) share it; it is freed with the
//     last area (or mm->exe_file) holding it: /proc/sys/fs/file-nr counts
//     them exactly;
//   - exec keeps the program's file (exe_file, shared with its areas), the
//     interpreter's and each library's; ld.so's cache is unmapped again;
//   - a MAP_SHARED|MAP_ANONYMOUS mapping gets an unnamed shmem file: one
//     struct file, one shmem inode, one pseudo dentry;
//   - written page-cache pages of an ext4 file get one buffer_head each
//     (4 KiB blocks); pages read in get none; they go with the page.
//
// The host's numbers are slabinfo's active objects, which count the free
// objects of the per-CPU slabs as active; a delta can therefore miss up to
// what those slabs hold (cpus x (cpu partial slabs + 1) x objects per
// slab). The test allows exactly that, and compares the model's slabinfo
// deltas, which have the same property, the same way.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/scenario_run.h"

namespace mmsim::scenario {
namespace {

void expect_clean(const test::ScenarioOutcome& r) {
    EXPECT_EQ(r.status, 0) << r.err << "\n--- output:\n" << r.out;
    EXPECT_EQ(r.failures, 0) << r.err;
}

TEST(StructFiles, OpensMappingsForkAndExitFollowTheReferenceRules) {
    std::string s =
        "boot ram=256M cpus=2\n"
        "expect sysctl.fs.file_nr[0] == 0\n"
        "spawn hello as=p\n"
        // hello's exe (exe_file and its areas: one), ld.so, libc.so.6.
        "expect sysctl.fs.file_nr[0] == 3\n"
        // open(O_CREAT), write, close: nothing stays.
        "file /data/f 1M cached\n"
        "expect sysctl.fs.file_nr[0] == 3\n"
        // Three opens, three mmaps, three closes: three files, and the
        // two adjacent maps of one file do not merge (two struct files).
        "mmap $p 64K file=/data/f prot=r as=a\n"
        "let next = $a + 64K\n"
        "mmap $p 64K file=/data/f prot=r addr=$next flags=private,fixed as=b\n"
        "mmap $p 64K file=/data/f prot=r as=c\n"
        "expect sysctl.fs.file_nr[0] == 6\n"
        // A split shares its file.
        "mprotect $p $a 4K none\n"
        "expect sysctl.fs.file_nr[0] == 6\n"
        // fork shares every file; the parent's munmap leaves the child's hold.
        "fork $p as=ch\n"
        "expect sysctl.fs.file_nr[0] == 6\n"
        "munmap $p $c 64K\n"
        "expect sysctl.fs.file_nr[0] == 6\n"
        "kill -KILL $ch\n"
        "wait $p $ch\n"
        "expect sysctl.fs.file_nr[0] == 5\n"
        // Shared anonymous memory: a shmem file each, with its inode and dentry.
        "let ino0 = sysctl.fs.inode_nr[0]\n"
        "let den0 = sysctl.fs.dentry_state[0]\n"
        "mmap $p 8K flags=shared,anonymous as=s1\n"
        "mmap $p 8K flags=shared,anonymous as=s2\n"
        "expect sysctl.fs.file_nr[0] == 7\n"
        "expect sysctl.fs.inode_nr[0] == $ino0 + 2\n"
        "expect sysctl.fs.dentry_state[0] == $den0 + 2\n"
        "expect slabinfo.shmem_inode_cache.num_objs >= 2\n"
        "munmap $p $s1 8K\n"
        "expect sysctl.fs.file_nr[0] == 6\n"
        "expect sysctl.fs.inode_nr[0] == $ino0 + 1\n"
        // Exit drops the rest, exe_file included.
        "kill -KILL $p\n"
        "expect sysctl.fs.file_nr[0] == 0\n"
        "expect sysctl.fs.inode_nr[0] == $ino0\n";
    expect_clean(test::run_scenario(s));
}

TEST(StructFiles, FileMaxIsTheKernelsDefaultAndWritable) {
    // files_maxfiles_init(): (totalram - 3/2 x pages in use) x 4 / 10, at
    // least 8192 (a 64 MiB machine is below that floor).
    std::string s =
        "boot ram=256M cpus=2\n"
        "let total = meminfo.MemTotal / 4K\n"
        "let used = $total - meminfo.MemFree / 4K\n"
        // Within the pages boot used after the limit was set (the pcp
        // lists and vmstat work run later).
        "expect sysctl.fs.file_max <= ($total - $used * 3 / 2) * 4 / 10 + 64\n"
        "expect sysctl.fs.file_max >= ($total - $used * 3 / 2) * 4 / 10 - 64\n"
        "expect sysctl.fs.file_nr[2] == sysctl.fs.file_max\n"
        "echo 100000 > /proc/sys/fs/file-max\n"
        "expect sysctl.fs.file_max == 100000\n";
    expect_clean(test::run_scenario(s));
    expect_clean(test::run_scenario("boot ram=64M cpus=2\nexpect sysctl.fs.file_max == 8192\n"));
    // sysctl(8) reads and writes them as it does on the host ("fs.file-nr =
    // 343<TAB>0<TAB>2466255"); -a lists fs.* before vm.*.
    auto r = test::run_scenario(
        "boot ram=64M cpus=2\nspawn hello\nsysctl fs.file-nr fs.file-max\nsysctl -w fs.file-max=9000\n"
        "sysctl -n fs.file-max\nsysctl -a\n");
    expect_clean(r);
    EXPECT_NE(r.out.find("fs.file-nr = 3\t0\t8192\nfs.file-max = 8192\nfs.file-max = 9000\n9000\n"),
              std::string::npos)
        << r.out;
    EXPECT_LT(r.out.find("fs.inode-state = "), r.out.find("vm.admin_reserve_kbytes = ")) << r.out;
    auto ro = test::run_scenario("boot ram=64M\nsysctl fs.file-nr=5\n");
    EXPECT_EQ(ro.status, 2);
    EXPECT_NE(ro.err.find("fs.file-nr is read-only"), std::string::npos) << ro.err;
    auto bad = test::run_scenario("boot ram=256M\necho -5 > /proc/sys/fs/file-max\n");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("Invalid argument"), std::string::npos) << bad.err;
}

// step -> cache -> active objects, from files.out's three runs.
using HostRun = std::map<std::string, std::map<std::string, long>>;

std::vector<HostRun> host_runs() {
    std::vector<HostRun> runs;
    std::istringstream in(test::read_data("host-6.18/files/files.out"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# run", 0) == 0) {
            runs.emplace_back();
            continue;
        }
        std::istringstream w(line);
        std::string step;
        long bh, filp, shmem, dentry;
        if (w >> step >> bh >> filp >> shmem >> dentry)
            runs.back()[step] = {
                {"buffer_head", bh}, {"filp", filp}, {"shmem_inode_cache", shmem}, {"dentry", dentry}};
    }
    return runs;
}

// What per-CPU slabs can hide from slabinfo's active count on 2 CPUs:
// the CPU slab and the cpu partial slabs (2 x cpu_partial objects' worth
// of half-full slabs, set_cpu_partial()).
long hidden(long objs_per_slab, long cpu_partial_objs) {
    long slabs = (2 * cpu_partial_objs + objs_per_slab - 1) / objs_per_slab;
    return 2 * (slabs + 1) * objs_per_slab;
}

TEST(StructFilesOracle, BufferHeadsAndFilpsMatchTheHost) {
    // files.c's steps, as the scenario language has them: write(2) is
    // `file ... cached`, the reads are a private mapping read through.
    std::string s =
        "boot ram=512M cpus=2\n"
        "spawn hello as=p\n";
    auto step = [&](const std::string& name) {
        s += "print step " + name + "\n";
        for (const char* c : {"buffer_head", "filp", "shmem_inode_cache", "dentry"})
            s += fmt::format("print slabinfo.{}.active_objs\n", c);
    };
    step("start");
    s += "file /var/tmp/w 16M cached\n";
    step("write");
    s += "echo 1 > /proc/sys/vm/drop_caches\n";
    step("drop1");
    s += "mmap $p 16M file=/var/tmp/w prot=r as=r\ntouch $p $r 16M read\nmunmap $p $r 16M\n";
    step("mmapread");
    s += "mmap $p 16M file=/var/tmp/w flags=shared as=m\ntouch $p $m 16M write\nmunmap $p $m 16M\n";
    step("mmapwrite");
    for (int i = 0; i < 2000; i++) s += fmt::format("mmap $p 4K file=/var/tmp/w prot=r as=f{}\n", i);
    step("maps");
    s += "fork $p as=ch\n";
    step("fork");
    s += "kill -KILL $ch\nwait $p $ch\n";
    step("reaped");
    for (int i = 0; i < 2000; i++) s += fmt::format("munmap $p $f{} 4K\n", i);
    step("unmapped");
    for (int i = 0; i < 500; i++)
        s += fmt::format("mmap $p 4K flags=shared,anonymous as=s{0}\ntouch $p $s{0} 4K write\n", i);
    step("shared");
    for (int i = 0; i < 500; i++) s += fmt::format("munmap $p $s{} 4K\n", i);
    step("sharedgone");
    auto r = test::run_scenario(s);
    expect_clean(r);
    // "step NAME", then "slabinfo.CACHE.active_objs = VALUE" lines from `print`.
    std::map<std::string, std::map<std::string, long>> sim;
    {
        std::istringstream in(r.out);
        std::string line, current;
        while (std::getline(in, line)) {
            std::istringstream w(line);
            std::string first, eq;
            double v;
            if (line.rfind("step ", 0) == 0) {
                current = line.substr(5);
            } else if (w >> first >> eq >> v && eq == "=" && first.rfind("slabinfo.", 0) == 0) {
                std::string cache = first.substr(9, first.rfind(".active_objs") - 9);
                sim[current][cache] = static_cast<long>(v);
            }
        }
    }
    ASSERT_EQ(sim.size(), 11u) << [&] {
        std::string keys;
        for (auto& [k, v] : sim) keys += "'" + k + "' ";
        return keys;
    }();
    auto d = [&](const std::string& from, const std::string& to, const std::string& key) {
        const std::string cache = key == "bh" ? "buffer_head" : key == "shmem" ? "shmem_inode_cache" : key;
        return sim.at(to).at(cache) - sim.at(from).at(cache);
    };
    const long bh_slack = hidden(39, 120), filp_slack = hidden(21, 120), shmem_slack = hidden(21, 52),
               dentry_slack = hidden(21, 120);
    for (const HostRun& h : host_runs()) {
        auto hd = [&](const std::string& from, const std::string& to, const std::string& cache) {
            return h.at(to).at(cache) - h.at(from).at(cache);
        };
        // Writing 16 MiB: a buffer_head per page (the host adds a few for
        // the metadata blocks it reads).
        EXPECT_NEAR(d("start", "write", "bh"), hd("start", "write-16M", "buffer_head"), bh_slack);
        EXPECT_NEAR(d("start", "write", "bh"), 4096, bh_slack);
        // drop_caches 1 frees them with the pages.
        EXPECT_NEAR(d("write", "drop1", "bh"), hd("fsync", "drop1", "buffer_head"), bh_slack);
        // Reading in attaches none.
        EXPECT_EQ(d("drop1", "mmapread", "bh"), hd("drop1-again", "mmap-read-16M", "buffer_head"));
        EXPECT_EQ(d("drop1", "mmapread", "bh"), 0);
        // Writing every page through a shared mapping: a buffer_head each.
        EXPECT_NEAR(d("mmapread", "mmapwrite", "bh"), hd("read-16M", "mmap-write-16M", "buffer_head"),
                    bh_slack);
        // 2000 open-mmap-close: 2000 struct files; fork adds none; munmap frees them.
        EXPECT_NEAR(d("mmapwrite", "maps", "filp"), hd("mmap-read-16M", "open-mmap-close-2000", "filp"),
                    filp_slack);
        EXPECT_EQ(d("maps", "fork", "filp"), hd("open-mmap-close-2000", "fork", "filp"));
        EXPECT_EQ(d("fork", "reaped", "filp"), hd("fork", "child-reaped", "filp"));
        EXPECT_NEAR(d("reaped", "unmapped", "filp"), hd("child-reaped", "munmap-2000", "filp"), filp_slack);
        // 500 shared anonymous mappings: a file, a shmem inode and a dentry each.
        EXPECT_NEAR(d("unmapped", "shared", "filp"), hd("munmap-2000", "shared-anon-500", "filp"),
                    filp_slack);
        EXPECT_NEAR(d("unmapped", "shared", "shmem"),
                    hd("munmap-2000", "shared-anon-500", "shmem_inode_cache"), shmem_slack);
        EXPECT_NEAR(d("unmapped", "shared", "dentry"), hd("munmap-2000", "shared-anon-500", "dentry"),
                    dentry_slack);
        EXPECT_NEAR(d("shared", "sharedgone", "filp"), hd("shared-anon-500", "shared-anon-unmapped", "filp"),
                    filp_slack);
    }
}

}  // namespace
}  // namespace mmsim::scenario
