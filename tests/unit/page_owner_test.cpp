// Page owner (src/mm/page_owner.cpp, src/proc/page_owner.cpp): off by
// default with no file and no records; with page_owner=on a record for
// exactly the allocated blocks (validate_page_owner), the order, gfp mask,
// task, time and call stack of each, the free noted, and
// /sys/kernel/debug/page_owner in print_page_owner()'s layout.
#include "mm/page_owner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>

#include "base/text.h"
#include "kernel/kernel.h"
#include "machine/machine.h"
#include "mm/mm_init.h"
#include "mm/page_alloc.h"
#include "mm/slub.h"
#include "mm/vmalloc.h"
#include "mmsim/mm_types.h"
#include "proc/procfs.h"
#include "support/fixtures.h"
#include "support/scenario_run.h"

namespace mmsim {
namespace {

std::unique_ptr<Kernel> boot_with_page_owner(const std::string& value = "on") {
    std::vector<BootArg> args{{"ram", "1G", {}}, {"cpus", "2", {}}, {"page_owner", value, {}}};
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"<test>", 1, 1}));
}

TEST(PageOwner, OffByDefaultWithNoFileAndNoRecords) {
    auto k = test::boot_ram(1ull << 30, 2);
    EXPECT_FALSE(k->page_owner_enabled);
    EXPECT_FALSE(k->page_owner);
    EXPECT_EQ(proc_read(*k, "/sys/kernel/debug/page_owner").err(), Errno::NOENT);
    EXPECT_FALSE(proc_exists(*k, "/sys/kernel/debug/page_owner"));
    auto p = alloc_pages(*k, GFP_KERNEL, 0);
    ASSERT_TRUE(p);
    EXPECT_EQ(page_owner_record(*k, *p), nullptr);
    // The page descriptor does not grow for it.
    static_assert(sizeof(Page) <= 28);
    auto off = boot_with_page_owner("off");
    EXPECT_FALSE(off->page_owner_enabled);
}

TEST(PageOwner, RecordsOrderMaskTaskTimeAndStackAndTheFree) {
    auto k = boot_with_page_owner();
    ASSERT_TRUE(k->page_owner_enabled);
    k->validate();  // boot's pages got early records
    k->current_pid = 1234;
    k->current_comm = "worker";
    k->clock.advance_by(5000);
    MaybePfn p;
    {
        PageOwnerSite site(*k, "my_driver_probe");
        p = alloc_pages(*k, GFP_KERNEL | __GFP_COMP, 3);
    }
    ASSERT_TRUE(p);
    const PageOwnerRecord* r = page_owner_record(*k, *p);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->allocated);
    EXPECT_EQ(r->order, 3u);
    EXPECT_EQ(r->gfp_mask, GFP_KERNEL | __GFP_COMP);
    EXPECT_EQ(r->pid, 1234);
    EXPECT_EQ(r->comm, "worker");
    EXPECT_EQ(r->ts_nsec, 5000u);
    EXPECT_NE(k->page_owner->stacks[r->handle].find(" my_driver_probe\n"), std::string::npos);
    k->validate();
    k->clock.advance_by(1000);
    free_pages(*k, *p, 3);
    EXPECT_FALSE(r->allocated);
    EXPECT_EQ(r->free_ts_nsec, 6000u);
    EXPECT_EQ(r->free_pid, 1234);
    k->validate();
}

// print_page_owner(): the header, the PFN line with the mask's and the
// pageblock's migratetypes, the stack, a blank line; free blocks absent.
TEST(PageOwner, FileHasPrintPageOwnersLayout) {
    auto k = boot_with_page_owner();
    k->current_pid = 77;
    k->current_comm = "insmod";
    auto p = alloc_pages(*k, GFP_HIGHUSER_MOVABLE, 0);
    auto q = alloc_pages(*k, GFP_KERNEL, 0);
    ASSERT_TRUE(p && q);
    free_pages(*k, *q, 0);
    std::string text = *proc_read(*k, "/sys/kernel/debug/page_owner");
    std::string head = fmt::format(
        "Page allocated via order 0, mask 0x100cca(GFP_HIGHUSER_MOVABLE), pid 77, tgid 77 (insmod), ts 0 ns\n"
        "PFN {:#x} type Movable Block {} type Movable Flags ",
        p->value, p->value >> pageblock_order);
    EXPECT_NE(text.find(head), std::string::npos) << text.substr(0, 2000);
    EXPECT_EQ(text.find(fmt::format("PFN {:#x} ", q->value)), std::string::npos);
    std::regex paragraph(
        R"(Page allocated via order \d+, mask 0x[0-9a-f]+\([A-Za-z0-9_|]*\), pid \d+, tgid \d+ \([^)]*\), ts \d+ ns
PFN 0x[0-9a-f]+ type \w+ Block \d+ type \w+ Flags 0x[0-9a-f]+\([a-z|]*node=\d+\|zone=\d+\)
( \S+( \[\w+\])?
)+
)");
    std::size_t paragraphs = 0, at = 0;
    while (at < text.size()) {
        std::size_t end = text.find("\n\n", at);
        ASSERT_NE(end, std::string::npos);
        std::string one = text.substr(at, end + 2 - at);
        EXPECT_TRUE(std::regex_match(one, paragraph)) << one;
        paragraphs++;
        at = end + 2;
    }
    EXPECT_GT(paragraphs, 10u);  // boot's slab pages, the zero page, ...
    EXPECT_EQ(*proc_read(*k, "/proc/vmallocinfo"), "");
}

// vmalloc's pages name it in their stack, with the gfp mask it uses.
TEST(PageOwner, VmallocPagesCarryVmallocsMaskAndStack) {
    auto k = boot_with_page_owner();
    auto a = vmalloc(*k, 8192);
    ASSERT_TRUE(a);
    Pfn page = find_vm_area(*k, *a)->pages[0];
    const PageOwnerRecord* r = page_owner_record(*k, page);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->gfp_mask, GFP_KERNEL | __GFP_HIGHMEM | __GFP_NOWARN);
    const std::string& stack = k->page_owner->stacks[r->handle];
    EXPECT_NE(stack.find(" __vmalloc_area_node\n __vmalloc_node_range_noprof\n"), std::string::npos) << stack;
    k->validate();
}

// In a scenario, the command that allocated is the outermost frame.
TEST(PageOwner, ScenarioCommandsNameTheirPages) {
    auto o = test::run_scenario(R"S(boot ram=512M cpus=2 page_owner=on
alloc_pages order=2 gfp=GFP_KERNEL as=a
grep -c "via order 2, mask 0xcc0(GFP_KERNEL)" /sys/kernel/debug/page_owner
grep -c -F " alloc_pages [scenario]" /sys/kernel/debug/page_owner
free_pages a
grep -c -F " free_pages [scenario]" /sys/kernel/debug/page_owner
)S");
    EXPECT_EQ(o.out, "1\n1\n0\n") << o.err;
}

// The machine file's [boot] page_owner = true, and a wrong type named at
// its place.
TEST(PageOwner, MachineFileBootKey) {
    auto k = test::boot_toml("cpus = 1\n[[node]]\nmemory = \"512M\"\n[boot]\npage_owner = true\n");
    EXPECT_TRUE(k->page_owner_enabled);
    EXPECT_TRUE(proc_exists(*k, "/sys/kernel/debug/page_owner"));
    try {
        (void)parse_machine_toml("[[node]]\nmemory = \"512M\"\n[boot]\npage_owner = \"yes\"\n", "m.toml");
        FAIL() << "accepted a string";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("m.toml:4:"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("true or false"), std::string::npos) << e.what();
    }
}

// Random allocations and frees of every order keep records exactly on the
// allocated blocks.
TEST(PageOwner, RecordsFollowRandomAllocAndFree) {
    auto k = boot_with_page_owner();
    k->debug_vm = false;
    std::mt19937_64 rng(3);
    std::vector<std::pair<Pfn, unsigned>> live;
    for (int i = 0; i < 2000; i++) {
        k->current_cpu = static_cast<int>(rng() % 2);
        if (live.empty() || rng() % 2) {
            unsigned order = static_cast<unsigned>(rng() % 4);
            if (auto p = alloc_pages(*k, rng() % 2 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE, order))
                live.emplace_back(*p, order);
        } else {
            std::size_t j = rng() % live.size();
            free_pages(*k, live[j].first, live[j].second);
            live.erase(live.begin() + static_cast<long>(j));
        }
    }
    validate_page_owner(*k);
    for (auto [pfn, order] : live) {
        const PageOwnerRecord* r = page_owner_record(*k, pfn);
        ASSERT_NE(r, nullptr);
        EXPECT_TRUE(r->allocated);
        EXPECT_EQ(r->order, order);
    }
}

}  // namespace
}  // namespace mmsim
