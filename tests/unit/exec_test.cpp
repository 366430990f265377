// execve() and the built-in images (src/kernel/exec.cpp, images.cpp)
// against the real 6.18 captures in tests/data/host-6.18/vm/images/: the
// maps line for line, the status counters, the resident and anonymous
// pages of every area, the stat fields of the layout; sharing of library
// pages between processes; and that exit gives every page back but the
// page cache.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/slub.h"
#include "proc/renderers.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

using test::boot_ram;
using test::read_data;

std::string capture(const std::string& image, const std::string& file) {
    return read_data("host-6.18/vm/images/" + image + "/" + file);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// A maps line without device and inode (they differ by machine):
// "start-end perms offset name".
std::string without_dev_ino(const std::string& line) {
    std::istringstream in(line);
    std::string range, perms, off, dev, ino, name;
    in >> range >> perms >> off >> dev >> ino;
    std::getline(in, name);
    name.erase(0, name.find_first_not_of(' '));
    return range + " " + perms + " " + off + " " + name;
}

// "Field:   123 kB" of a status-like text, in kB.
uint64_t field(const std::string& text, const std::string& name) {
    for (const std::string& l : lines_of(text))
        if (l.rfind(name + ":", 0) == 0) return std::stoull(l.substr(name.size() + 1));
    ADD_FAILURE() << "no " << name;
    return 0;
}

struct AreaCount {
    uint64_t rss = 0, anon = 0;  // pages
};

// Per area start: Rss and Anonymous of the captured smaps, in pages.
std::map<uint64_t, AreaCount> captured_residency(const std::string& image) {
    std::map<uint64_t, AreaCount> m;
    uint64_t cur = 0;
    for (const std::string& l : lines_of(capture(image, "smaps"))) {
        std::string first = l.substr(0, l.find(' '));
        if (first.find('-') != std::string::npos && first.find(':') == std::string::npos) {
            cur = std::stoull(l.substr(0, l.find('-')), nullptr, 16);
        } else if (l.rfind("Rss:", 0) == 0) {
            m[cur].rss = std::stoull(l.substr(4)) / 4;
        } else if (l.rfind("Anonymous:", 0) == 0) {
            m[cur].anon = std::stoull(l.substr(10)) / 4;
        }
    }
    m.erase(0xffffffffff600000ull);  // [vsyscall]: not an area
    return m;
}

// What the page table maps in each area now.
std::map<uint64_t, AreaCount> simulated_residency(Kernel& k, Task& t) {
    std::map<uint64_t, AreaCount> m;
    for (Vma* v : vma_list(*t.mm)) {
        AreaCount& c = m[v->vm_start];
        walk_ptes(k, *t.mm, v->vm_start, v->vm_end, [&](uint64_t, uint64_t& e) {
            if (!pte_present(e) || (e & _PAGE_SPECIAL)) return;
            c.rss++;
            if (k.page(pte_pfn(e)).test(PG_anon)) c.anon++;
        });
    }
    return m;
}

// The fields of /proc/PID/stat, 1-based as in proc(5).
std::vector<std::string> stat_fields(const std::string& stat) {
    std::vector<std::string> f{""};
    std::string rest = stat.substr(stat.rfind(')') + 2);
    f.push_back(stat.substr(0, stat.find(' ')));
    f.push_back(stat.substr(stat.find('('), stat.rfind(')') - stat.find('(') + 1));
    std::istringstream in(rest);
    for (std::string w; in >> w;) f.push_back(w);
    return f;
}

class ExecTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Small, so that the checks ctest turns on (MMSIM_CHECK) stay quick.
        k = boot_ram(128ull << 20);
    }
    Task& spawn(const std::string& image) {
        auto t = spawn_process(*k, image, {image}, 0);
        EXPECT_TRUE(t.ok()) << image << ": " << errno_name(t.err());
        return **t;
    }
    std::unique_ptr<Kernel> k;
};

class CapturedImage : public ExecTest, public ::testing::WithParamInterface<std::string> {};

// The areas of a spawned image equal the captured maps: addresses,
// rights, offsets and names (named the kernel's way: vma_is_initial_heap()
// wants the area to overlap [start_brk, brk), so the bss area that ends
// where the heap starts has no name).
TEST_P(CapturedImage, AreasEqualTheCapturedMaps) {
    Task& t = spawn(GetParam());
    const MmStruct& mm = *t.mm;
    std::vector<std::string> want, got;
    for (const auto& l : lines_of(capture(GetParam(), "maps"))) want.push_back(without_dev_ino(l));
    want.pop_back();  // [vsyscall]: the gate area, not an area of the mm
    for (const Vma* v : vma_list(mm)) {
        std::string name = v->special == SpecialMapping::Vvar                 ? "[vvar]"
                           : v->special == SpecialMapping::VvarVclock         ? "[vvar_vclock]"
                           : v->special == SpecialMapping::Vdso               ? "[vdso]"
                           : v->vm_file                                       ? v->vm_file->path
                           : v->vm_start < mm.brk && v->vm_end > mm.start_brk ? "[heap]"
                           : v->contains(mm.start_stack)                      ? "[stack]"
                                                                              : "";
        char perms[5] = {v->vm_flags & VM_READ ? 'r' : '-', v->vm_flags & VM_WRITE ? 'w' : '-',
                         v->vm_flags & VM_EXEC ? 'x' : '-', v->vm_flags & VM_MAYSHARE ? 's' : 'p', 0};
        uint64_t off = v->vm_file ? v->vm_pgoff << PAGE_SHIFT : 0;
        got.push_back(fmt::format("{:x}-{:x} {} {:08x} {}", v->vm_start, v->vm_end, perms, off, name));
    }
    EXPECT_EQ(got, want);
}

// The maps of a spawned image equal the capture line for line, except
// device and inode numbers.
TEST_P(CapturedImage, MapsEqualTheCapture) {
    Task& t = spawn(GetParam());
    std::vector<std::string> want, got;
    for (const auto& l : lines_of(capture(GetParam(), "maps"))) want.push_back(without_dev_ino(l));
    for (const auto& l : lines_of(render_pid_maps(*k, t))) got.push_back(without_dev_ino(l));
    EXPECT_EQ(got, want) << "(an unnamed bss area printed as [heap]: the kernel's vma_is_initial_heap() "
                            "is vm_start < brk && vm_end > start_brk, strictly)";
    if (getenv("MMSIM_EXEC_DUMP")) {
        printf("%s\n%s\n%s\n", render_pid_status(*k, t).c_str(), render_pid_stat(*k, t).c_str(),
               render_pid_smaps_rollup(*k, t).c_str());
    }
    validate_vm(*k);
}

// VmSize, VmExe, VmLib, VmData, VmStk from the mm's counters, and RssAnon
// and RssFile, as the capture's status says.
TEST_P(CapturedImage, StatusCountersEqualTheCapture) {
    Task& t = spawn(GetParam());
    const MmStruct& mm = *t.mm;
    std::string status = capture(GetParam(), "status");
    uint64_t exe_kb =
        (((mm.end_code + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - (mm.start_code & ~(PAGE_SIZE - 1))) >> 10;
    EXPECT_EQ(mm.total_vm * 4, field(status, "VmSize"));
    EXPECT_EQ(exe_kb, field(status, "VmExe"));
    EXPECT_EQ(mm.exec_vm * 4 - exe_kb, field(status, "VmLib"));
    EXPECT_EQ(mm.data_vm * 4, field(status, "VmData"));
    EXPECT_EQ(mm.stack_vm * 4, field(status, "VmStk"));
    EXPECT_EQ(static_cast<uint64_t>(mm.get_mm_counter(MM_ANONPAGES)) * 4, field(status, "RssAnon"));
    EXPECT_EQ(static_cast<uint64_t>(mm.get_mm_counter(MM_FILEPAGES)) * 4, field(status, "RssFile"));
    EXPECT_EQ(mm.get_mm_rss() * 4, field(status, "VmRSS"));
}

// Every area has the captured number of resident and anonymous pages.
TEST_P(CapturedImage, ResidentPagesPerAreaEqualTheCapture) {
    Task& t = spawn(GetParam());
    auto want = captured_residency(GetParam());
    auto got = simulated_residency(*k, t);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [start, c] : want) {
        ASSERT_TRUE(got.count(start)) << std::hex << start;
        EXPECT_EQ(got[start].rss, c.rss) << "Rss of the area at " << std::hex << start;
        EXPECT_EQ(got[start].anon, c.anon) << "Anonymous of the area at " << std::hex << start;
    }
}

// The layout fields of /proc/PID/stat: startcode, endcode, startstack
// (26-28) and start_data .. env_end (45-51).
TEST_P(CapturedImage, StatLayoutFieldsEqualTheCapture) {
    Task& t = spawn(GetParam());
    auto want = stat_fields(capture(GetParam(), "stat"));
    const MmStruct& mm = *t.mm;
    std::map<int, uint64_t> got = {
        {26, mm.start_code}, {27, mm.end_code},  {28, mm.start_stack}, {45, mm.start_data}, {46, mm.end_data},
        {47, mm.start_brk},  {48, mm.arg_start}, {49, mm.arg_end},     {50, mm.env_start},  {51, mm.env_end}};
    for (const auto& [i, v] : got)
        EXPECT_EQ(std::to_string(v), want[static_cast<std::size_t>(i)]) << "field " << i;
    EXPECT_EQ(t.comm, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Images, CapturedImage, ::testing::Values("hello", "dash", "bash"));

// The resident set does not depend on what earlier processes left in the
// page cache: each image, started after the others, touches the same.
TEST_F(ExecTest, ResidencyDoesNotDependOnThePageCache) {
    for (const char* first : {"bash", "hello", "dash"}) spawn(first);
    for (const char* image : {"hello", "dash", "bash"}) {
        Task& t = spawn(image);
        auto want = captured_residency(image);
        auto got = simulated_residency(*k, t);
        for (const auto& [start, c] : want)
            EXPECT_EQ(got[start].rss, c.rss) << image << std::hex << " " << start;
    }
}

// Three shells map the same page-cache pages of libc: map count 3.
TEST_F(ExecTest, ThreeDashesShareLibcPages) {
    Task* shells[3] = {&spawn("dash"), &spawn("dash"), &spawn("dash")};
    Inode* libc = k->files->find("/usr/lib/x86_64-linux-gnu/libc.so.6");
    ASSERT_NE(libc, nullptr);
    //   dash 1 --.
    //   dash 2 ----> libc page-cache page (mapcount 3)
    //   dash 3 --'

    uint64_t text = 0x7ffff7df9000;  // libc's r-xp area in every dash
    uint64_t checked = 0;
    walk_ptes(*k, *shells[0]->mm, text, text + 342 * PAGE_SIZE, [&](uint64_t, uint64_t& e) {
        if (!pte_present(e)) return;
        Page& p = k->page(pte_pfn(e));
        EXPECT_EQ(p.mapcount, 3);
        EXPECT_EQ(p.mapping, libc->mapping.id);
        checked++;
    });
    EXPECT_EQ(checked, 230u);
    for (Task* s : shells) EXPECT_EQ(s->mm->get_mm_rss() * 4, 1616u);
    validate_vm(*k);
}

// "sh" is dash under another name; a command line of its own moves only
// the strings on the stack.
TEST_F(ExecTest, ShIsDashAndArgvMovesTheStrings) {
    Task& sh = spawn("sh");
    EXPECT_EQ(sh.comm, "sh");
    EXPECT_EQ(sh.exe, "/usr/bin/dash");
    auto t = spawn_process(*k, "dash", {"dash", "-c", "sleep 1000"}, 0);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ((*t)->argv.size(), 3u);
    EXPECT_EQ((*t)->mm->arg_end - (*t)->mm->arg_start, 5u + 3u + 11u);
    EXPECT_FALSE(spawn_process(*k, "no-such-program", {}, 0).ok());
}

// Exit frees the process's pages, page tables and kernel stack: free memory
// comes back but for the page cache, which keeps the files' pages.
TEST_F(ExecTest, ExitGivesBackAllButThePageCache) {
    // Free pages: the buddy's and those waiting on the per-CPU lists.
    auto free_pages = [&] {
        int64_t n = k->global_zone_page_state(NR_FREE_PAGES);
        for (const PglistData& node : k->nodes)
            for (const Zone& z : node.node_zones)
                for (const PerCpuPages& p : z.pcp) n += p.count;
        return n;
    };
    auto cached = [&] { return k->global_node_page_state(NR_FILE_PAGES); };
    // Slab caches keep slabs whose objects were freed (cpu slabs, partial
    // lists down to min_partial), so those pages stay with the caches;
    // every object the process held must be back, except the dentries and
    // inodes (and the inodes' LSM blobs) of the files it opened, which stay cached (unused, on the
    // LRU) as they do in the kernel, and the radix_tree_nodes indexing the
    // page cache that stays.
    auto slab_pages = [&] {
        return k->global_node_page_state(NR_SLAB_RECLAIMABLE) +
               k->global_node_page_state(NR_SLAB_UNRECLAIMABLE);
    };
    auto objects = [&] {
        std::vector<uint64_t> v;
        for (const auto& c : k->slab->caches)
            if (c.get() != k->slab->dentry && c.get() != k->slab->ext4_inode_cache &&
                c.get() != k->slab->lsm_inode_cache && c.get() != k->slab->radix_tree_node)
                v.push_back(c ? slab_objects_in_use(*c, *k->slab) : 0);
        return v;
    };
    // A first process leaves its kernel stack in the CPU's stack cache (and
    // vmalloc's page table for it); each later one takes that stack and
    // gives it back.
    {
        Task& warm = spawn("hello");
        do_exit(*k, warm, 0);
    }
    for (const char* image : {"hello", "dash", "bash", "jvm"}) {
        int64_t free0 = free_pages(), cached0 = cached(), slab0 = slab_pages();
        std::vector<uint64_t> objects0 = objects();
        Task& t = spawn(image);
        EXPECT_LT(free_pages(), free0);
        EXPECT_GT(slab_objects_in_use(*k->slab->vm_area_struct, *k->slab),
                  objects0[k->slab->vm_area_struct->id]);
        int pid = t.pid;
        do_exit(*k, t, 0);
        EXPECT_EQ(k->tasks->find(pid), nullptr) << "a child of init is reaped at once";
        EXPECT_EQ(objects(), objects0) << image;
        EXPECT_EQ(free_pages() + (cached() - cached0) + (slab_pages() - slab0), free0) << image;
        validate_vm(*k);
    }
}

// The synthetic jvm: twenty libraries plus ld.so, big reservations.
TEST_F(ExecTest, JvmHasManyLibrariesAndBigReservations) {
    Task& t = spawn("jvm");
    std::set<std::string> files;
    for (Vma* v : vma_list(*t.mm))
        if (v->vm_file && v->special == SpecialMapping::None) files.insert(v->vm_file->path);
    EXPECT_EQ(files.size(), 23u);                 // java, 21 libraries (20 + libc), ld.so
    EXPECT_GT(t.mm->total_vm * 4, 1500u * 1024);  // > 1.5 GiB of address space
    EXPECT_GT(t.mm->get_mm_rss() * 4, 8u * 1024);
    EXPECT_EQ(t.comm, "java");
    validate_vm(*k);
}

TEST(Images, NamesAreSortedAndKnown) {
    auto n = image_names();
    EXPECT_EQ(n, (std::vector<std::string>{"bash", "dash", "hello", "jvm", "malloc_steps", "sh"}));
    EXPECT_TRUE(image_exists("dash"));
    EXPECT_FALSE(image_exists("zsh"));
}

}  // namespace
}  // namespace mmsim
