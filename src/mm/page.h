// Kernel virtual addresses of the direct (linear) map:
// arch/x86/include/asm/page.h, page_64.h and page_64_types.h.
//
// x86-64 maps all of physical memory once, at a fixed offset, in the
// kernel half of the address space. With 4-level paging and KASLR off
// (nokaslr) that offset, PAGE_OFFSET (__PAGE_OFFSET_BASE_L4), is
// 0xffff888000000000:
//
//   physical 0x0000000123456000  <->  virtual 0xffff888123456000
//
// so turning a physical address into its kernel virtual address is one
// addition (__va) and back one subtraction (__pa). Everything the page
// allocator, the slab allocator and kmalloc hand to the kernel lives here:
// a kmalloc object's address is PAGE_OFFSET + the physical address of its
// byte, and page_address() of a page is PAGE_OFFSET + pfn * 4096. Memory
// from vmalloc is different: it has an address in the vmalloc area
// (src/mm/vmalloc.h), and the page tables alone connect it to its pages.
#pragma once

#include <cstdint>

#include "mmsim/types.h"

namespace mmsim {

// The direct map's base on x86-64 with 4-level paging (no KASLR).
inline constexpr uint64_t PAGE_OFFSET = 0xffff888000000000ull;
// The direct map spans up to 64 TiB (the 4-level layout of
// Documentation/arch/x86/x86_64/mm.rst); vmalloc starts 0.5 TiB after it.
inline constexpr uint64_t DIRECT_MAP_SIZE = 64ull << 40;

// __va(): the kernel virtual address of a physical address.
inline constexpr uint64_t phys_to_virt(uint64_t phys) { return phys + PAGE_OFFSET; }
// __pa() of a direct-map address (__phys_addr_nodebug without the
// kernel-image case: the simulator hands out no kernel-text addresses).
inline constexpr uint64_t virt_to_phys(uint64_t virt) { return virt - PAGE_OFFSET; }
// True for an address inside the direct map (virt_addr_valid's range part).
inline constexpr bool is_direct_map_addr(uint64_t virt) {
    return virt >= PAGE_OFFSET && virt - PAGE_OFFSET < DIRECT_MAP_SIZE;
}
// page_address(), lowmem_page_address(): a page's direct-map address.
inline constexpr uint64_t pfn_to_virt(uint64_t pfn) { return PAGE_OFFSET + (pfn << PAGE_SHIFT); }
inline constexpr uint64_t page_address(Pfn pfn) { return pfn_to_virt(pfn.value); }
// virt_to_pfn(), virt_to_page(): the frame holding a direct-map address.
inline constexpr Pfn virt_to_pfn(uint64_t virt) { return Pfn(virt_to_phys(virt) >> PAGE_SHIFT); }

}  // namespace mmsim
