// The buddy allocator seen through /proc: a short deterministic sequence
// whose buddyinfo after every step was worked out by hand from the buddy
// algorithm (split from the low end, merge with a free buddy of the same
// order), and pageblock claiming as pagetypeinfo shows it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "mm/page_alloc.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

// One Normal zone of exactly one order-10 block at pfn 65536, one CPU.
std::unique_ptr<Kernel> one_block_machine() { return test::boot_one_zone(1024); }

std::string normal_line(std::initializer_list<int> counts) {
    std::string s = fmt::format("Node {}, zone {:>8} ", 0, "Normal");
    for (int c : counts) s += fmt::format("{:6} ", c);
    return s + "\n";
}

std::string buddyinfo(const Kernel& k) {
    auto r = proc_read(k, "/proc/buddyinfo");
    return r ? *r : "<error>";
}

TEST(Buddyinfo, HandWorkedSequenceSplitsLowAndMergesBack) {
    auto k = one_block_machine();
    //                        order: 0  1  2  3  4  5  6  7  8  9  10
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));

    // Orders above 3 bypass the per-CPU lists, so every step is visible.
    gfp_t gfp = GFP_HIGHUSER_MOVABLE;
    auto a = alloc_pages(*k, gfp, 4);  // the block splits: 512+256+...+16 stay free
    ASSERT_TRUE(a);
    EXPECT_EQ(a->value, 65536u);
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0}));

    auto b = alloc_pages(*k, gfp, 5);  // the free order-5 block at 65568
    ASSERT_TRUE(b);
    EXPECT_EQ(b->value, 65568u);
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 0}));

    auto c = alloc_pages(*k, gfp, 5);  // splits the order-6 block at 65600
    ASSERT_TRUE(c);
    EXPECT_EQ(c->value, 65600u);
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0}));

    free_pages(*k, *a, 4);  // merges with 65552 into an order-5 block; 65568 is busy
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 0, 2, 0, 1, 1, 1, 0}));

    free_pages(*k, *b, 5);  // merges with 65536 into order 6; 65600 is busy
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0}));

    free_pages(*k, *c, 5);  // merges all the way back to one order-10 block
    EXPECT_EQ(buddyinfo(*k), normal_line({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

// The "Number of blocks type" row of a zone in pagetypeinfo.
std::vector<long> block_counts(const Kernel& k, const std::string& zone) {
    auto text = proc_read(k, "/proc/pagetypeinfo");
    EXPECT_TRUE(text);
    std::istringstream in(*text);
    std::string line;
    bool in_blocks = false;
    while (std::getline(in, line)) {
        if (line.rfind("Number of blocks type", 0) == 0) in_blocks = true;
        if (!in_blocks || line.find("zone") == std::string::npos) continue;
        std::istringstream row(line);
        std::string node, nid, zonew, name;
        row >> node >> nid >> zonew >> name;
        if (name != zone) continue;
        std::vector<long> counts;
        long v;
        while (row >> v) counts.push_back(v);
        return counts;
    }
    return {};
}

TEST(Buddyinfo, UnmovableFallbackClaimsPageblocksVisiblyInPagetypeinfo) {
    auto k = test::boot_one_zone(4096);
    // Boot marks every pageblock Movable: 8 blocks of 512 pages.
    EXPECT_EQ(block_counts(*k, "Normal"), (std::vector<long>{0, 8, 0, 0, 0}));
    // An unmovable order-5 request finds no Unmovable free page, falls back
    // to the largest Movable block (order 10, two pageblocks) and, since it
    // takes the whole block, claims both pageblocks for Unmovable.
    ASSERT_TRUE(alloc_pages(*k, GFP_KERNEL, 5));
    EXPECT_EQ(block_counts(*k, "Normal"), (std::vector<long>{2, 6, 0, 0, 0}));
    EXPECT_EQ(k->vm_events[PGALLOC_NORMAL], 32u);
}

}  // namespace
}  // namespace mmsim
