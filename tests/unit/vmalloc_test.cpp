// vmalloc (src/mm/vmalloc.cpp) against mm/vmalloc.c's rules: lowest-address
// first fit with a guard page, order-0 pages mapped through real kernel
// page-table entries, lazy freeing with 6.18's lazy_max_pages(), the
// vm_struct/vmap_area/page-array objects in their slab caches,
// VmallocUsed, and /proc/vmallocinfo in the format of the host's capture
// (tests/data/host-6.18/vmalloc). validate_vmalloc() runs after each step.
#include "mm/vmalloc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <set>
#include <string>

#include "base/text.h"
#include "kernel/kernel.h"
#include "mm/page.h"
#include "mm/page_alloc.h"
#include "mm/slub.h"
#include "proc/procfs.h"
#include "support/fixtures.h"

namespace mmsim {
namespace {

uint64_t meminfo_kb(const Kernel& k, const std::string& key) {
    for (const std::string& line : split_lines(*proc_read(k, "/proc/meminfo")))
        if (line.rfind(key + ":", 0) == 0) {
            double v = 0;
            to_number(split_ws(line)[1], v);
            return static_cast<uint64_t>(v);
        }
    ADD_FAILURE() << key;
    return 0;
}

uint64_t objects(const Kernel& k, const std::string& cache) {
    const KmemCache* c = k.slab->find(cache);
    return c ? slab_objects_in_use(*c, *k.slab) : 0;
}

// The layout of arch/x86/include/asm/pgtable_64_types.h with 4-level paging.
TEST(Vmalloc, AreaIs32TiBAtTheFourLevelAddressAndMeminfoSaysSo) {
    EXPECT_EQ(VMALLOC_START, 0xffffc90000000000ull);
    EXPECT_EQ(VMALLOC_END, 0xffffe8ffffffffffull);
    auto k = test::boot_ram(1ull << 30, 2);
    EXPECT_EQ(meminfo_kb(*k, "VmallocTotal"), 34359738367u);  // the host's line
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), 0u);
    EXPECT_EQ(meminfo_kb(*k, "VmallocChunk"), 0u);
    // preallocate_vmalloc_pages(): one PUD table per 512 GiB of the area.
    EXPECT_EQ(k->vmalloc->pud_tables.size(), 64u);
    EXPECT_EQ(k->vmalloc->nr_table_pages, 64u);
    EXPECT_EQ(*proc_read(*k, "/proc/vmallocinfo"), "");
}

// Areas are placed lowest first, one guard page apart, and a freed range
// is not reused before it is purged.
TEST(Vmalloc, FirstFitFromTheBottomWithAGuardPageAfterEachArea) {
    auto k = test::boot_ram(1ull << 30, 2);
    k->debug_vm = true;
    auto a = vmalloc(*k, 64 << 10);
    auto b = vmalloc(*k, 1);  // one byte: a whole page
    auto c = vmalloc(*k, 12 << 10);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a, VMALLOC_START);
    EXPECT_EQ(*b, VMALLOC_START + 17 * PAGE_SIZE);  // 16 pages + guard
    EXPECT_EQ(*c, *b + 2 * PAGE_SIZE);
    EXPECT_EQ(find_vm_area(*k, *a)->size, 17 * PAGE_SIZE);
    EXPECT_EQ(find_vm_area(*k, *b)->pages.size(), 1u);
    // The guard page is not mapped; the pages are.
    EXPECT_FALSE(vmalloc_to_pfn(*k, *a + 16 * PAGE_SIZE));
    EXPECT_TRUE(vmalloc_to_pfn(*k, *a + 15 * PAGE_SIZE));
    vfree(*k, *b);
    EXPECT_FALSE(vmalloc_to_pfn(*k, *b));  // unmapped at once
    auto d = vmalloc(*k, 4096);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, *c + 4 * PAGE_SIZE);  // b's range waits on the lazy list
    purge_vmap_area_lazy(*k);
    auto e = vmalloc(*k, 4096);
    ASSERT_TRUE(e);
    EXPECT_EQ(*e, *b);  // lowest fit again once purged
    k->validate();
}

// The pages are order-0 and each PTE holds PAGE_KERNEL and the page's pfn.
TEST(Vmalloc, PagesAreOrderZeroAndMappedWithPageKernel) {
    auto k = test::boot_ram(1ull << 30, 2);
    auto a = vmalloc(*k, 40 << 10);
    ASSERT_TRUE(a);
    const VmStruct& vm = *find_vm_area(*k, *a);
    ASSERT_EQ(vm.pages.size(), 10u);
    for (std::size_t i = 0; i < vm.pages.size(); i++) {
        const Page& p = (*k->mem_map)[vm.pages[i].value];
        EXPECT_FALSE(p.test(PG_head));
        EXPECT_EQ(p.refcount, 1u);
        EXPECT_EQ(*vmalloc_to_pfn(*k, *a + i * PAGE_SIZE), vm.pages[i]);
    }
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), 40u);
    // The first area needs a PMD table and a PTE table under its PUD.
    EXPECT_EQ(k->vmalloc->nr_table_pages, 64u + 2);
    vfree(*k, *a);
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), 0u);
    EXPECT_EQ(k->vmalloc->nr_table_pages, 66u);  // kernel tables stay
    k->validate();
}

// __vmalloc_area_node(): the page array is a kmalloc object up to 4096
// bytes (512 pages), a vmalloc area of its own above ("vpages"); the
// vm_struct is a 72-byte kmalloc (kmalloc-96) and the range a vmap_area.
TEST(Vmalloc, MetadataComesFromTheSlabCachesTheKernelUses) {
    auto k = test::boot_ram(1ull << 30, 2);
    uint64_t k96 = objects(*k, "kmalloc-96"), k128 = objects(*k, "kmalloc-128"),
             va = objects(*k, "vmap_area");
    auto a = vmalloc(*k, 64 << 10);  // 16 pages: a 128-byte array
    ASSERT_TRUE(a);
    EXPECT_EQ(objects(*k, "kmalloc-96"), k96 + 1);
    EXPECT_EQ(objects(*k, "kmalloc-128"), k128 + 1);
    EXPECT_EQ(objects(*k, "vmap_area"), va + 1);
    auto big = vmalloc(*k, 4 << 20);  // 1024 pages: an 8 KiB array, vmalloc'ed
    ASSERT_TRUE(big);
    const VmStruct& vm = *find_vm_area(*k, *big);
    EXPECT_TRUE(is_vmalloc_addr(vm.pages_array));
    EXPECT_EQ(find_vm_area(*k, vm.pages_array)->pages.size(), 2u);
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), 64u + 4096 + 8);
    vfree(*k, *big);
    vfree(*k, *a);
    EXPECT_EQ(objects(*k, "kmalloc-96"), k96);
    EXPECT_EQ(objects(*k, "kmalloc-128"), k128);
    // The vmap_area objects stay with their lazy ranges until the purge,
    // but b and its page array sit side by side in the same vmap node
    // (va_start / 64 KiB odd for both), so their lazy ranges merged and one
    // object went at once (merge_or_add_vmap_area()).
    EXPECT_EQ(objects(*k, "vmap_area"), va + 2);
    purge_vmap_area_lazy(*k);
    EXPECT_EQ(objects(*k, "vmap_area"), va);
    k->validate();
}

// lazy_max_pages() = fls(num_online_cpus()) * 32 MiB of pages; a vfree
// that takes vmap_lazy_nr past it purges everything lazy.
TEST(Vmalloc, LazyRangesArePurgedPastLazyMaxPages) {
    auto k1 = test::boot_ram(1ull << 30, 1);
    auto k2 = test::boot_ram(1ull << 30, 2);
    auto k4 = test::boot_ram(1ull << 30, 4);
    EXPECT_EQ(lazy_max_pages(*k1), 8192u);
    EXPECT_EQ(lazy_max_pages(*k2), 16384u);
    EXPECT_EQ(lazy_max_pages(*k4), 24576u);  // fls(4) = 3
    Kernel& k = *k2;
    k.debug_vm = false;  // checked once at the end: 16K page allocations
    // 1 MiB areas (257 pages of address space each): 63 of them stay lazy
    // (16191 pages), the 64th passes 16384.
    std::vector<uint64_t> areas;
    for (int i = 0; i < 64; i++) areas.push_back(*vmalloc(k, 1 << 20));
    for (int i = 0; i < 63; i++) vfree(k, areas[i]);
    EXPECT_EQ(k.vmalloc->lazy_nr, 63u * 257);
    EXPECT_EQ(k.vmalloc->purges, 0u);
    vfree(k, areas[63]);
    EXPECT_EQ(k.vmalloc->lazy_nr, 0u);
    EXPECT_EQ(k.vmalloc->purges, 1u);
    EXPECT_EQ(k.vmalloc->free.size(), 1u);  // all merged back into one range
    k.validate();
}

// The kernel refuses sizes above all RAM and warns for a bad vfree.
TEST(Vmalloc, RefusesTooLargeAndWarnsOnABadVfree) {
    auto k = test::boot_ram(256ull << 20, 2);
    auto r = vmalloc(*k, 512ull << 20);
    EXPECT_EQ(r.err(), Errno::NOMEM);
    EXPECT_NE(k->log.dmesg().find("vmalloc error: size 536870912, exceeds total pages"), std::string::npos);
    vfree(*k, VMALLOC_START + 0x5000);
    EXPECT_NE(k->log.dmesg().find("Trying to vfree() nonexistent vm area"), std::string::npos);
    // More than the free memory: the pages run out, the area is undone.
    auto big = vmalloc(*k, 250ull << 20);
    EXPECT_EQ(big.err(), Errno::NOMEM);
    EXPECT_EQ(meminfo_kb(*k, "VmallocUsed"), 0u);
    EXPECT_TRUE(k->vmalloc->busy.empty());
    k->validate();
}

// vmalloc_node(): the pages come from the node asked for while it has them.
TEST(Vmalloc, NodeAllocationTakesThatNodesPagesAndVmallocinfoCountsThem) {
    auto k = test::boot_toml(R"(cpus = 2
[[node]]
memory = "1G"
[[node]]
memory = "1G"
)");
    auto a = vmalloc_node(*k, 32 << 10, 1);
    ASSERT_TRUE(a);
    for (Pfn p : find_vm_area(*k, *a)->pages) EXPECT_EQ(k->page_zone(p)->node, 1);
    std::string info = *proc_read(*k, "/proc/vmallocinfo");
    EXPECT_NE(info.find("pages=8 vmalloc N1=8\n"), std::string::npos) << info;
}

// Every line we print splits into the same fields as the host's lines:
// address range, size, caller, pages=N, the kind words, N<node>=count.
TEST(Vmalloc, VmallocinfoLinesParseLikeTheHostsLines) {
    std::regex area(
        R"(0x[0-9a-f]{16}-0x[0-9a-f]{16} [ \d]{7,}( [A-Za-z0-9_.]+(\+0x[0-9a-f]+/0x[0-9a-f]+)?( \[\w+\])?)?)"
        R"(( pages=\d+)?( phys=0x[0-9a-f]{16})?( ioremap)?( sparse)?( vmalloc)?( vmap)?( user)?)"
        R"(( dma-coherent)?( vpages)?( N\d+=\d+)*)");
    std::regex unpurged(R"(0x[0-9a-f]{16}-0x[0-9a-f]{16} [ \d]{7,} unpurged vm_area)");
    unsigned host_lines = 0;
    for (const std::string& line : split_lines(test::read_data("host-6.18/vmalloc/vmallocinfo"))) {
        if (line.empty()) continue;
        EXPECT_TRUE(std::regex_match(line, area) || std::regex_match(line, unpurged)) << line;
        host_lines++;
    }
    EXPECT_GT(host_lines, 100u);
    auto k = test::boot_ram(1ull << 30, 2);
    auto a = vmalloc(*k, 64 << 10, "module_init_fn");
    auto b = vmalloc(*k, 5 << 20);
    auto c = vzalloc(*k, 20000);
    ASSERT_TRUE(a && b && c);
    vfree(*k, *c);
    std::string info = *proc_read(*k, "/proc/vmallocinfo");
    unsigned ours = 0;
    for (const std::string& line : split_lines(info)) {
        if (line.empty()) continue;
        EXPECT_TRUE(std::regex_match(line, area) || std::regex_match(line, unpurged)) << line;
        ours++;
    }
    EXPECT_EQ(ours, 4u);  // a, b, b's page array, c unpurged
    // Size with the guard page, in a 7-wide column, as "%7ld".
    EXPECT_NE(
        info.find("0xffffc90000000000-0xffffc90000011000   69632 module_init_fn pages=16 vmalloc N0=16\n"),
        std::string::npos)
        << info;
    EXPECT_NE(info.find(" pages=1280 vmalloc vpages N0=1280\n"), std::string::npos) << info;
    EXPECT_NE(info.find(" unpurged vm_area\n"), std::string::npos);
    // 0400, as on the host.
    EXPECT_EQ(test::read_data("host-6.18/vmalloc/mode"), "400 root root\n");
}

// With two vmap nodes (two CPUs), areas are listed node by node: an area
// belongs to node (va_start / 64 KiB) % 2.
TEST(Vmalloc, VmallocinfoListsVmapNodeByVmapNode) {
    auto k = test::boot_ram(1ull << 30, 2);
    std::vector<uint64_t> addrs;
    for (int i = 0; i < 6; i++) addrs.push_back(*vmalloc(*k, 60 << 10));  // 64 KiB apart with the guard
    std::vector<std::string> starts;
    for (const std::string& line : split_lines(*proc_read(*k, "/proc/vmallocinfo")))
        if (!line.empty()) starts.push_back(line.substr(0, 18));
    ASSERT_EQ(starts.size(), 6u);
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(starts[i], fmt::format("{:#018x}", addrs[2 * i])) << i;
        EXPECT_EQ(starts[3 + i], fmt::format("{:#018x}", addrs[2 * i + 1])) << i;
    }
}

// Random vmalloc/vfree on two CPUs keeps every invariant: ranges tile the
// area, guards stay unmapped, VmallocUsed equals the pages areas hold.
TEST(Vmalloc, RandomAllocAndFreeKeepEveryInvariant) {
    auto k = test::boot_ram(512ull << 20, 2);
    k->debug_vm = false;
    std::mt19937_64 rng(7);
    std::vector<uint64_t> live;
    for (int step = 0; step < 600; step++) {
        k->current_cpu = static_cast<int>(rng() % 2);
        if (live.empty() || rng() % 3) {
            auto r = vmalloc(*k, 1 + rng() % (600 << 10));
            if (r) live.push_back(*r);
        } else {
            std::size_t i = rng() % live.size();
            vfree(*k, live[i]);
            live.erase(live.begin() + static_cast<long>(i));
        }
        if (step % 50 == 0) k->validate();
    }
    k->validate();
    std::set<uint64_t> seen(live.begin(), live.end());
    EXPECT_EQ(seen.size(), live.size());
}

// kmalloc objects live in the direct map: virtual = PAGE_OFFSET + physical.
TEST(Vmalloc, KmallocAddressesAreTheDirectMapOfTheirPages) {
    auto k = test::boot_ram(1ull << 30, 2);
    auto big = kmalloc(*k, 64 << 10, GFP_KERNEL);
    ASSERT_TRUE(big);
    Pfn head = virt_to_pfn(*big);
    EXPECT_TRUE((*k->mem_map)[head.value].test(PG_large_kmalloc));
    EXPECT_EQ((*k->mem_map)[head.value].order, 4u);
    EXPECT_EQ(*big, PAGE_OFFSET + (head.value << PAGE_SHIFT));
    EXPECT_EQ(page_address(head), *big);
    auto small = kmalloc(*k, 100, GFP_KERNEL);
    ASSERT_TRUE(small);
    EXPECT_TRUE(is_direct_map_addr(*small));
    EXPECT_FALSE(is_vmalloc_addr(*small));
    EXPECT_TRUE((*k->mem_map)[virt_to_pfn(*small).value].test(PG_slab));
    EXPECT_EQ(phys_to_virt(virt_to_phys(*small)), *small);
}

}  // namespace
}  // namespace mmsim
