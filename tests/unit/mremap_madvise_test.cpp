// mremap, madvise, mlock and mincore against the real kernel: every case of
// tests/data/host-6.18/vm/errno.out these calls cover is replayed with the
// same setup as errno.c and must give the errno Linux 6.18 gave. Then the
// effects the errno table cannot show: what DONTNEED, FREE, WILLNEED,
// REMOVE and POPULATE do to pages, and what mincore reports for anonymous
// and file areas.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

constexpr uint64_t PG = PAGE_SIZE;

// id -> "EINVAL" (or "0" for success), from errno.out.
std::map<std::string, std::string> kernel_answers() {
    std::map<std::string, std::string> out;
    std::istringstream in(test::read_data("host-6.18/vm/errno.out"));
    std::string line;
    auto trim = [](std::string s) {
        s.erase(0, s.find_first_not_of(' '));
        s.erase(s.find_last_not_of(' ') + 1);
        return s;
    };
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::string id = trim(line.substr(0, line.find('|')));
        auto e = line.find("errno=");
        if (e == std::string::npos) continue;
        std::string err = line.substr(e + 6);
        out[id] = trim(err.substr(0, err.find(' ')));
    }
    return out;
}

struct Proc {
    std::unique_ptr<Kernel> k = test::boot_one_zone(8192);
    Task* t = nullptr;
    Proc() {
        Task& task = k->tasks->create(1);
        task.mm = *mm_alloc(*k);
        task.mm->mm_users = 1;
        t = &task;
    }
    MmStruct& mm() { return *t->mm; }
    uint64_t mmap(uint64_t len, unsigned prot, unsigned flags, Inode* file = nullptr, bool writable = true) {
        MmapArgs a;
        a.len = len;
        a.prot = prot;
        a.flags = flags;
        a.file = file;
        a.file_writable = writable;
        auto r = do_mmap(*k, *t, a);
        EXPECT_TRUE(r) << errno_name(r.err());
        return r ? *r : 0;
    }
    // errno.c's fresh(): n pages with a guaranteed unmapped page after them.
    uint64_t fresh(uint64_t n, unsigned prot) {
        uint64_t p = mmap((n + 1) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
        EXPECT_TRUE(do_munmap(*k, *t, p + n * PG, PG));
        EXPECT_TRUE(do_mprotect(*k, *t, p, n * PG, prot));
        return p;
    }
    uint64_t anon_pages() { return static_cast<uint64_t>(mm().get_mm_counter(MM_ANONPAGES)); }
    bool present(uint64_t addr) {
        const uint64_t* e = pte_lookup(*k, mm(), addr);
        return e && pte_present(*e);
    }
};

std::string name(Errno e) { return e == Errno::OK ? "0" : errno_name(e); }

// Records what the simulator answered for an errno.out id.
struct Oracle {
    std::map<std::string, std::string> want = kernel_answers();
    int checked = 0;
    void check(const std::string& id, Errno got) {
        auto it = want.find(id);
        ASSERT_NE(it, want.end()) << "no case " << id << " in errno.out";
        EXPECT_EQ(name(got), it->second) << id;
        checked++;
    }
};

TEST(ErrnoOracle, MremapAnswersAsLinux) {
    Oracle o;
    Proc p;
    uint64_t a = p.fresh(4, PROT_READ | PROT_WRITE);
    o.check("mremap_old0_private", do_mremap(*p.k, *p.t, a, 0, PG, MREMAP_MAYMOVE, 0).err());
    uint64_t q = p.mmap(2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    auto dup = do_mremap(*p.k, *p.t, q, 0, PG, MREMAP_MAYMOVE, 0);
    o.check("mremap_old0_shared", dup.err());
    validate_vm(*p.k);
    if (dup) {
        ASSERT_TRUE(do_munmap(*p.k, *p.t, *dup, PG));
    }
    ASSERT_TRUE(do_munmap(*p.k, *p.t, q, 2 * PG));
    o.check("mremap_grow_blocked", do_mremap(*p.k, *p.t, a, PG, 2 * PG, 0, 0).err());
    o.check("mremap_grow_inplace", do_mremap(*p.k, *p.t, a + 3 * PG, PG, 2 * PG, 0, 0).err());
    o.check("mremap_fixed_no_maymove", do_mremap(*p.k, *p.t, a, PG, PG, MREMAP_FIXED, a + 8 * PG).err());
    o.check("mremap_unaligned", do_mremap(*p.k, *p.t, a + 1, PG, 2 * PG, MREMAP_MAYMOVE, 0).err());
    o.check("mremap_new0", do_mremap(*p.k, *p.t, a, PG, 0, MREMAP_MAYMOVE, 0).err());
    o.check("mremap_bad_flags", do_mremap(*p.k, *p.t, a, PG, PG, 0x80, 0).err());
    {
        uint64_t h = p.fresh(1, PROT_READ);
        ASSERT_TRUE(do_munmap(*p.k, *p.t, h, PG));
        o.check("mremap_unmapped", do_mremap(*p.k, *p.t, h, PG, 2 * PG, MREMAP_MAYMOVE, 0).err());
    }
    {
        uint64_t t = p.fresh(2, PROT_READ | PROT_WRITE);
        ASSERT_TRUE(do_mprotect(*p.k, *p.t, t, PG, PROT_READ));
        o.check("mremap_grow_two_vmas", do_mremap(*p.k, *p.t, t, 2 * PG, 4 * PG, MREMAP_MAYMOVE, 0).err());
        o.check("mremap_shrink_two_vmas", do_mremap(*p.k, *p.t, t, 2 * PG, PG, 0, 0).err());
    }
    {
        uint64_t t = p.fresh(4, PROT_READ | PROT_WRITE);
        o.check("mremap_fixed_overlap",
                do_mremap(*p.k, *p.t, t, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t + PG).err());
        o.check("mremap_dontunmap_resize",
                do_mremap(*p.k, *p.t, t, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0).err());
        o.check("mremap_dontunmap_no_maymove", do_mremap(*p.k, *p.t, t, PG, PG, MREMAP_DONTUNMAP, 0).err());
    }
    validate_vm(*p.k);
    EXPECT_EQ(o.checked, 14);
}

TEST(ErrnoOracle, MremapGrowOverRlimitAsIsEnomem) {
    Oracle o;
    Proc p;
    p.mm().limits.as = (p.mm().total_vm << PAGE_SHIFT) + (1 << 20);  // VmSize + 1 MiB
    uint64_t q = p.fresh(1, PROT_READ);
    o.check("mremap_over_rlimit_as", do_mremap(*p.k, *p.t, q, PG, 2 << 20, MREMAP_MAYMOVE, 0).err());
}

TEST(ErrnoOracle, MadviseAnswersAsLinux) {
    Oracle o;
    Proc p;
    uint64_t a = p.fresh(4, PROT_READ | PROT_WRITE);
    o.check("madvise_bad_advice", do_madvise(*p.k, *p.t, a, PG, 12345).err());
    o.check("madvise_hole_dontneed", do_madvise(*p.k, *p.t, a + 3 * PG, 2 * PG, MADV_DONTNEED).err());
    o.check("madvise_hole_willneed", do_madvise(*p.k, *p.t, a + 3 * PG, 2 * PG, MADV_WILLNEED).err());
    o.check("madvise_hole_only_normal", do_madvise(*p.k, *p.t, a + 4 * PG, PG, MADV_NORMAL).err());
    o.check("madvise_unaligned", do_madvise(*p.k, *p.t, a + 1, PG, MADV_DONTNEED).err());
    o.check("madvise_len0", do_madvise(*p.k, *p.t, a, 0, MADV_DONTNEED).err());
    o.check("madvise_hugepage", do_madvise(*p.k, *p.t, a, PG, MADV_HUGEPAGE).err());
    Inode& f = p.k->files->create("/tmp/errno.dat", 4 * PG);
    uint64_t q = p.mmap(PG, PROT_READ, MAP_PRIVATE, &f, false);
    o.check("madvise_free_file", do_madvise(*p.k, *p.t, q, PG, MADV_FREE).err());
    ASSERT_TRUE(do_munmap(*p.k, *p.t, q, PG));
    {
        uint64_t l = p.fresh(1, PROT_READ | PROT_WRITE);
        ASSERT_TRUE(do_mlock(*p.k, *p.t, l, PG, 0));
        o.check("madvise_dontneed_locked", do_madvise(*p.k, *p.t, l, PG, MADV_DONTNEED).err());
        ASSERT_TRUE(do_munlock(*p.k, *p.t, l, PG));
    }
    validate_vm(*p.k);
    EXPECT_EQ(o.checked, 9);
}

TEST(ErrnoOracle, MlockAndMincoreAnswerAsLinux) {
    Oracle o;
    Proc p;
    uint64_t a = p.fresh(4, PROT_READ | PROT_WRITE);
    o.check("mlock_hole", do_mlock(*p.k, *p.t, a + 3 * PG, 2 * PG, 0).err());
    o.check("mlock_unaligned", do_mlock(*p.k, *p.t, a + 1, PG, 0).err());
    ASSERT_TRUE(do_munlock(*p.k, *p.t, a, 2 * PG));
    o.check("munlock_hole", do_munlock(*p.k, *p.t, a + 4 * PG, PG).err());
    o.check("mincore_unaligned", do_mincore(*p.k, *p.t, a + 1, PG).err());
    o.check("mincore_hole", do_mincore(*p.k, *p.t, a + 3 * PG, 2 * PG).err());
    validate_vm(*p.k);
    EXPECT_EQ(o.checked, 5);
    // mlock_hole locked the last page before it found the hole, as Linux does.
    EXPECT_EQ(p.mm().locked_vm, 1u);
}

// ---- effects ---------------------------------------------------------------------

TEST(Madvise, DontneedDropsPagesAndTheNextTouchFaultsAFreshOne) {
    Proc p;
    uint64_t a = p.mmap(4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    ASSERT_TRUE(populate_range(*p.k, *p.t, a, a + 4 * PG, true) == VmFault::Minor);
    EXPECT_EQ(p.anon_pages(), 4u);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, a + PG, 2 * PG, MADV_DONTNEED));
    validate_vm(*p.k);
    EXPECT_EQ(p.anon_pages(), 2u);
    EXPECT_FALSE(p.present(a + PG));
    EXPECT_TRUE(p.present(a + 3 * PG));
    // The area itself is untouched.
    EXPECT_EQ(p.mm().map_count, 1);
}

TEST(Madvise, DontneedLockedDropsPagesOfALockedArea) {
    Proc p;
    uint64_t a = p.mmap(2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 2);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, a, 2 * PG, MADV_DONTNEED_LOCKED));
    validate_vm(*p.k);
    EXPECT_EQ(p.anon_pages(), 0u);
    EXPECT_EQ(p.k->global_zone_page_state(NR_MLOCK), 0);
    EXPECT_EQ(p.mm().locked_vm, 2u);  // the area stays locked
    EXPECT_EQ(do_madvise(*p.k, *p.t, a, PG, MADV_COLD).err(), Errno::INVAL);
}

TEST(Madvise, FreeMarksPrivatePagesLazyFreeAndRefusesSharedMemory) {
    Proc p;
    uint64_t a = p.mmap(2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    ASSERT_TRUE(populate_range(*p.k, *p.t, a, a + 2 * PG, true) == VmFault::Minor);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, a, 2 * PG, MADV_FREE));
    validate_vm(*p.k);
    EXPECT_EQ(p.k->vm_events[PGLAZYFREE], 2u);
    const uint64_t* e = pte_lookup(*p.k, p.mm(), a);
    ASSERT_TRUE(e && pte_present(*e));
    EXPECT_FALSE(pte_dirty(*e));
    EXPECT_FALSE(p.k->page(pte_pfn(*e)).test(PG_swapbacked));
    EXPECT_EQ(p.anon_pages(), 2u);  // still mapped until reclaim wants them
    uint64_t s = p.mmap(PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    EXPECT_EQ(do_madvise(*p.k, *p.t, s, PG, MADV_FREE).err(), Errno::INVAL);
    EXPECT_EQ(do_madvise(*p.k, *p.t, s, PG, MADV_WIPEONFORK).err(), Errno::INVAL);
    EXPECT_TRUE(do_madvise(*p.k, *p.t, a, PG, MADV_WIPEONFORK));
}

TEST(Madvise, WillneedReadsTheFileIntoThePageCacheWithoutMapping) {
    Proc p;
    Inode& f = p.k->files->create("/data/file", 8 * PG);
    uint64_t a = p.mmap(8 * PG, PROT_READ, MAP_PRIVATE, &f);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, a + 2 * PG, 4 * PG, MADV_WILLNEED));
    EXPECT_EQ(f.mapping.nrpages(), 4u);
    EXPECT_EQ(p.mm().get_mm_counter(MM_FILEPAGES), 0);
    // mincore reports the cache, not this process's mappings.
    auto v = do_mincore(*p.k, *p.t, a, 8 * PG);
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, (std::vector<uint8_t>{0, 0, 1, 1, 1, 1, 0, 0}));
    validate_vm(*p.k);
}

TEST(Madvise, RemovePunchesAHoleInSharedMemoryAndRefusesPrivateMemory) {
    Proc p;
    uint64_t s = p.mmap(4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    ASSERT_TRUE(populate_range(*p.k, *p.t, s, s + 4 * PG, true) == VmFault::Minor);
    int64_t shmem = p.k->global_node_page_state(NR_SHMEM);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, s + PG, 2 * PG, MADV_REMOVE));
    validate_vm(*p.k);
    EXPECT_EQ(p.k->global_node_page_state(NR_SHMEM), shmem - 2);
    EXPECT_EQ(p.mm().get_mm_counter(MM_SHMEMPAGES), 2);
    uint64_t a = p.mmap(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    EXPECT_EQ(do_madvise(*p.k, *p.t, a, PG, MADV_REMOVE).err(), Errno::INVAL);
}

TEST(Madvise, PopulateFaultsInAndChecksTheRights) {
    Proc p;
    uint64_t a = p.mmap(4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    ASSERT_TRUE(do_madvise(*p.k, *p.t, a, 4 * PG, MADV_POPULATE_WRITE));
    EXPECT_EQ(p.anon_pages(), 4u);
    uint64_t r = p.mmap(PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    EXPECT_TRUE(do_madvise(*p.k, *p.t, r, PG, MADV_POPULATE_READ));
    EXPECT_EQ(do_madvise(*p.k, *p.t, r, PG, MADV_POPULATE_WRITE).err(), Errno::INVAL);
    uint64_t n = p.mmap(PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    EXPECT_EQ(do_madvise(*p.k, *p.t, n, PG, MADV_POPULATE_READ).err(), Errno::INVAL);
    uint64_t h = p.fresh(1, PROT_READ | PROT_WRITE);
    EXPECT_EQ(do_madvise(*p.k, *p.t, h, 2 * PG, MADV_POPULATE_WRITE).err(), Errno::NOMEM);
    validate_vm(*p.k);
}

TEST(Mincore, AnonymousPagesCountOnlyWhenMapped) {
    Proc p;
    uint64_t a = p.mmap(4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    ASSERT_EQ(access_memory(*p.k, *p.t, a, Access::Write), VmFault::Minor);
    ASSERT_EQ(access_memory(*p.k, *p.t, a + 2 * PG, Access::Read), VmFault::Minor);  // the zero page
    auto v = do_mincore(*p.k, *p.t, a, 4 * PG - 100);                                // length rounds up
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, (std::vector<uint8_t>{1, 0, 1, 0}));
    auto empty = do_mincore(*p.k, *p.t, a, 0);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    EXPECT_EQ(do_mincore(*p.k, *p.t, 0x7ffffffff000ull, 2 * PG).err(), Errno::NOMEM);
}

TEST(Mlock, MlockOfAProtNoneAreaLocksItButFailsToPopulate) {
    Proc p;
    uint64_t a = p.mmap(2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    EXPECT_EQ(do_mlock(*p.k, *p.t, a, 2 * PG, 0).err(), Errno::NOMEM);
    EXPECT_EQ(p.mm().locked_vm, 2u);
    // mlockall ignores such failures.
    EXPECT_TRUE(do_mlockall(*p.k, *p.t, MCL_CURRENT));
    validate_vm(*p.k);
}

}  // namespace
}  // namespace mmsim
