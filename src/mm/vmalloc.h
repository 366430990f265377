// vmalloc: virtually contiguous kernel memory (mm/vmalloc.c). The essay is
// at the top of vmalloc.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/gfp.h"
#include "mmsim/result.h"
#include "mmsim/types.h"

namespace mmsim {

struct KmemCache;

// The vmalloc area of x86-64 with 4-level paging and KASLR off
// (arch/x86/include/asm/pgtable_64_types.h): 32 TiB from
// 0xffffc90000000000. VMALLOC_END is the last byte, as in the kernel.
inline constexpr uint64_t VMALLOC_START = 0xffffc90000000000ull;
inline constexpr uint64_t VMALLOC_SIZE_TB = 32;
inline constexpr uint64_t VMALLOC_END = VMALLOC_START + (VMALLOC_SIZE_TB << 40) - 1;
inline constexpr uint64_t VMALLOC_TOTAL = VMALLOC_END - VMALLOC_START;

inline constexpr bool is_vmalloc_addr(uint64_t addr) { return addr >= VMALLOC_START && addr < VMALLOC_END; }

// vm_struct flags (include/linux/vmalloc.h, 6.18 values).
enum VmAreaFlag : uint64_t {
    VM_IOREMAP = 0x1,
    VM_ALLOC = 0x2,
    VM_MAP = 0x4,
    VM_USERMAP = 0x8,
    VM_DMA_COHERENT = 0x10,
    VM_UNINITIALIZED = 0x20,
    VM_NO_GUARD = 0x40,
    VM_KASAN = 0x80,
    VM_FLUSH_RESET_PERMS = 0x100,
    VM_MAP_PUT_PAGES = 0x200,
    VM_ALLOW_HUGE_VMAP = 0x400,
    VM_SPARSE = 0x1000,
};

// PAGE_KERNEL: present, writable, accessed, dirty, global, not executable.
inline constexpr uint64_t kPageKernel = 0x8000000000000163ull;
// _KERNPG_TABLE: what a kernel PMD entry pointing at a PTE table carries.
inline constexpr uint64_t kKernPgTable = 0x63ull;

// struct vm_struct: one mapped area.
struct VmStruct {
    uint64_t addr = 0;
    uint64_t size = 0;  // including the guard page (get_vm_area_size() is size - guard)
    uint64_t flags = 0;
    std::vector<Pfn> pages;  // area->pages[], nr_pages long
    // Where the page array lives: a kmalloc object, or (above PAGE_SIZE)
    // a vmalloc area of its own ("vpages" in /proc/vmallocinfo).
    uint64_t pages_array = 0;
    uint64_t phys_addr = 0;
    std::string caller;  // the %pS of area->caller: "symbol+0xoff/0xsize" or a plain name
    uint64_t requested_size = 0;
    uint64_t object = 0;  // the vm_struct's own kmalloc address (0: no slab)
};

// struct vmap_area: a range of the vmalloc area, busy (with its vm_struct)
// or lazily freed.
struct VmapArea {
    uint64_t va_start = 0;
    uint64_t va_end = 0;
    uint64_t object = 0;  // its object in the vmap_area cache (0: no slab)
    std::unique_ptr<VmStruct> vm;
};

struct VmallocState {
    // Busy areas by va_start, and the free address space as merged
    // [start, end) ranges by start (the kernel's free_vmap_area_root).
    std::map<uint64_t, VmapArea> busy;
    std::map<uint64_t, uint64_t> free;
    // Freed areas whose address range is not yet reusable (the vmap nodes'
    // lazy lists), by va_start, and their size in pages (vmap_lazy_nr).
    std::map<uint64_t, VmapArea> lazy;
    uint64_t lazy_nr = 0;
    uint64_t nr_vmalloc_pages = 0;  // vmalloc_nr_pages(): VmallocUsed
    unsigned nr_vmap_nodes = 1;     // clamp(possible CPUs, 1, 128)
    uint64_t vmap_zone_size = 0;    // 16 pages when there is more than one vmap node
    // The kernel page table below the vmalloc area. The PGD is the
    // kernel's (init_top_pgt, in the image); the 64 PUD tables are
    // allocated at boot (preallocate_vmalloc_pages); the PMD and PTE
    // tables under them as areas are mapped, and never freed.
    std::vector<Pfn> pud_tables;  // one per 512 GiB of the area
    uint64_t nr_table_pages = 0;  // every table page above (PUD, PMD, PTE)
    KmemCache* vmap_area_cachep = nullptr;
    uint64_t purges = 0;  // __purge_vmap_area_lazy() runs that freed something
};

// ---- boot -----------------------------------------------------------------

// preallocate_vmalloc_pages() (mem_init()): the PUD tables of the whole
// vmalloc area, so that every PGD entry is set once and for all.
void preallocate_vmalloc_pages(Kernel& k);
// vmalloc_init(): the vmap_area cache and the vmap nodes. After
// kmem_cache_init(). Creates k.vmalloc if preallocate did not.
void vmalloc_init(Kernel& k);

// ---- allocation -------------------------------------------------------------

// __vmalloc_node_range(): an area of at least size bytes in [start, end],
// aligned to align, backed by order-0 pages from anywhere (node < 0: any
// node, else that node first), mapped with PAGE_KERNEL. Returns the
// address, or ENOMEM (with "vmalloc error" in the kernel log unless
// __GFP_NOWARN).
Result<uint64_t> vmalloc_node_range(Kernel& k, uint64_t size, uint64_t align, uint64_t start, uint64_t end,
                                    gfp_t gfp, uint64_t vm_flags, int node, const std::string& caller);
// vmalloc(), vzalloc(), vmalloc_node(), vzalloc_node().
Result<uint64_t> vmalloc(Kernel& k, uint64_t size, const std::string& caller = "vmalloc");
Result<uint64_t> vzalloc(Kernel& k, uint64_t size, const std::string& caller = "vzalloc");
Result<uint64_t> vmalloc_node(Kernel& k, uint64_t size, int node, const std::string& caller = "vmalloc_node");
Result<uint64_t> vzalloc_node(Kernel& k, uint64_t size, int node, const std::string& caller = "vzalloc_node");
// vfree(): unmaps the area, frees its pages and page array, and leaves its
// address range on the lazy list. vfree(0) does nothing; an address that
// starts no area only warns in the kernel log, as the kernel does.
void vfree(Kernel& k, uint64_t addr);

// The busy area starting at addr (find_vm_area), or nullptr.
const VmStruct* find_vm_area(const Kernel& k, uint64_t addr);
// vmalloc_to_pfn(): walks the kernel page table; nullopt when addr is not
// mapped.
MaybePfn vmalloc_to_pfn(const Kernel& k, uint64_t addr);
// vmalloc_nr_pages(): the pages held by vmalloc areas (VmallocUsed).
uint64_t vmalloc_nr_pages(const Kernel& k);
// lazy_max_pages(): how many lazily freed pages of address space wait for
// a purge: fls(online CPUs) * 32 MiB.
uint64_t lazy_max_pages(const Kernel& k);
// purge_vmap_area_lazy(): makes every lazily freed range reusable.
void purge_vmap_area_lazy(Kernel& k);
// addr_to_node_id(): the vmap node that keeps an area.
unsigned addr_to_vmap_node(const Kernel& k, uint64_t addr);

// Checks: areas and free ranges tile [VMALLOC_START, VMALLOC_END) without
// overlap; every area keeps its unmapped guard page; the mapped pages of
// each area are its pages; VmallocUsed equals the pages areas hold.
void validate_vmalloc(const Kernel& k);

}  // namespace mmsim
