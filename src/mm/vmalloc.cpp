// vmalloc: virtually contiguous kernel memory from scattered pages
// (mm/vmalloc.c).
//
// kmalloc gives memory that is contiguous twice over: physically, because
// it comes from one slab or one buddy block, and virtually, because the
// direct map (src/mm/page.h) maps all RAM in order. Large kmallocs need a
// large free buddy block, which a long-running machine may not have.
// vmalloc asks only for order-0 pages, wherever the buddy allocator finds
// them, and makes them contiguous in a separate stretch of kernel address
// space, the vmalloc area, by mapping them one after another in the kernel
// page table:
//
//   0xffffc90000000000 VMALLOC_START                 VMALLOC_END (+32 TiB)
//   | area A: 4 pages |g| area B: 16 pages      |g|  free ...          |
//                       |  |  |  ...  |
//   physical:   pfn 0x1f3a0  0x20517  0x1c002 ...   (any order-0 pages)
//
// Each area is a vmap_area: a [va_start, va_end) range found by a
// lowest-address first fit over the free ranges (the kernel's augmented
// rb-tree answers "the lowest free range where size fits at this
// alignment"), plus a vm_struct that knows the pages, the caller and the
// flags. Unless VM_NO_GUARD, an area is one page longer than asked, and
// that last page stays unmapped: a guard that turns an overrun into a
// fault instead of silent corruption of the next area. /proc/vmallocinfo
// prints the size with the guard (20480 for a 16 KiB kernel stack).
//
// vmalloc(size) = __vmalloc_node_range(size, align 1, the whole area,
// GFP_KERNEL, PAGE_KERNEL): kmalloc the vm_struct, take a vmap_area object
// from its cache and a range; kmalloc the array of page pointers (8 bytes
// a page; above 4096 bytes the array is itself vmalloc'ed, "vpages");
// allocate the pages with gfp | __GFP_HIGHMEM | __GFP_NOWARN at order 0
// (the bulk allocator; 6.18 tries higher orders only for areas that may be
// mapped with huge pages, VM_ALLOW_HUGE_VMAP, which plain vmalloc does not
// ask for); add them to nr_vmalloc_pages (meminfo's VmallocUsed); map them
// with PAGE_KERNEL, allocating the kernel's PMD and PTE tables on the way.
// Those tables are never freed, and 6.18 counts kernel tables in
// PageTables like user ones. The PUD tables of the whole area are
// allocated at boot (preallocate_vmalloc_pages: 64 of them, one per PGD
// entry, so that the kernel half of every process's PGD never changes).
//
// vfree() clears the PTEs, frees the pages, the array and the vm_struct at
// once, but the address range does not become free yet: stale TLB entries
// may still point into it, and flushing every CPU's TLB per vfree would be
// dear. The range goes on a lazy list ("unpurged vm_area" in vmallocinfo)
// and vmap_lazy_nr grows; once it passes lazy_max_pages() (32 MiB of
// address space per bit of the CPU count: 64 MiB on 2 CPUs) the kernel
// purges the list (one TLB flush, the ranges back to the free tree, their
// vmap_area objects freed). An allocation that finds no room purges too,
// then retries.
//
// With more than one possible CPU, 6.18 splits the bookkeeping into vmap
// nodes (one per CPU, up to 128): an area belongs to node
// (va_start / 64 KiB) % nodes, and /proc/vmallocinfo lists node by node,
// each in address order, so its lines are not globally sorted.
//
// Modelled: the area, first fit with alignment, guard pages, lazy freeing
// and purging, the page array's kmalloc/vmalloc, the vm_struct and
// vmap_area objects in their slab caches, the kernel tables (real entries
// in the PageTableStore, walked by vmalloc_to_pfn), VmallocUsed and the
// vmallocinfo lines. Not modelled: the vmap nodes' per-size pools of
// purged ranges (after a purge a range returns to the free tree directly,
// so a later area of the same size may land elsewhere than in the kernel),
// the purge running from a workqueue (it runs inside the vfree that
// crosses the limit), per-CPU vmap blocks (vm_map_ram), huge mappings,
// KASAN shadow, memcg charging of __GFP_ACCOUNT areas, and the areas a
// real boot creates (kernel stacks under VMAP_STACK, ioremaps of devices,
// the IRQ stacks, percpu chunks, module space). The machine starts with
// an empty area; the kernel stacks of simulated tasks stay order-0 pages
// counted in KernelStack only (src/kernel/fork.cpp).
#include "mm/vmalloc.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "mm/memmap.h"
#include "mm/page.h"
#include "mm/page_alloc.h"
#include "mm/page_owner.h"
#include "mm/pgtable.h"
#include "mm/slab_track.h"
#include "mm/slub.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// GFP_RECLAIM_MASK (mm/internal.h): the bits a nested allocation inherits.
constexpr gfp_t kGfpReclaimMask = __GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN |
                                  __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC |
                                  __GFP_NOMEMALLOC;
// GFP_PGTABLE_KERNEL: GFP_KERNEL | __GFP_ZERO.
constexpr gfp_t kGfpPgtableKernel = GFP_KERNEL | __GFP_ZERO;
// sizeof(struct vm_struct) and sizeof(struct vmap_area) on 6.18 x86-64.
constexpr unsigned kVmStructSize = 72;
constexpr unsigned kVmapAreaSize = 72;
// Each vmap node covers 16 pages of address space at a time.
constexpr uint64_t kVmapZoneSize = 16 * PAGE_SIZE;

VmallocState& vstate(Kernel& k) {
    if (!k.vmalloc) throw std::logic_error("vmalloc: not initialised (vmalloc_init)");
    return *k.vmalloc;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

void pr_warn(Kernel& k, std::string text) { k.log.printk(k.clock.now(), LogLevel::Warning, std::move(text)); }

// ---- the free address space -------------------------------------------------

// find_vmap_lowest_match() + is_within_this_va(): the lowest address in
// [vstart, vend] where size fits at align, or 0.
uint64_t find_lowest_match(const VmallocState& st, uint64_t size, uint64_t align, uint64_t vstart,
                           uint64_t vend) {
    auto it = st.free.upper_bound(vstart);
    if (it != st.free.begin()) --it;
    for (; it != st.free.end(); ++it) {
        uint64_t start = std::max(it->first, vstart);
        uint64_t nva = align_up(start, align);
        if (nva < start) return 0;  // wrapped
        if (nva + size < nva) return 0;
        if (nva + size <= it->second) {
            // __alloc_vmap_area(): the whole area must end by vend.
            return nva + size - 1 <= vend ? nva : 0;
        }
        if (it->first > vend) return 0;
    }
    return 0;
}

// va_clip(): cuts [addr, addr+size) out of the free range holding it.
void clip_free(VmallocState& st, uint64_t addr, uint64_t size) {
    auto it = st.free.upper_bound(addr);
    --it;
    uint64_t fs = it->first, fe = it->second;
    st.free.erase(it);
    if (fs < addr) st.free[fs] = addr;
    if (addr + size < fe) st.free[addr + size] = fe;
}

// merge_or_add_vmap_area_augment(): a range back in the free tree, merged
// with its neighbours.
void free_range(VmallocState& st, uint64_t start, uint64_t end) {
    auto next = st.free.lower_bound(start);
    if (next != st.free.end() && next->first == end) {
        end = next->second;
        next = st.free.erase(next);
    }
    if (next != st.free.begin()) {
        auto prev = std::prev(next);
        if (prev->second == start) {
            prev->second = end;
            return;
        }
    }
    st.free[start] = end;
}

void free_vmap_area_object(Kernel& k, VmallocState& st, uint64_t object) {
    if (object && st.vmap_area_cachep) kmem_cache_free(k, *st.vmap_area_cachep, object);
}

// ---- the kernel page table below the vmalloc area ----------------------------

// A zeroed kernel table page, counted in PageTables (pagetable_*_ctor()).
MaybePfn kernel_table_alloc(Kernel& k) {
    MaybePfn pfn = alloc_pages(k, kGfpPgtableKernel, 0);
    if (!pfn) return pfn;
    Page& p = (*k.mem_map)[pfn->value];
    p.set(PG_pgtable);
    p.index = k.page_tables->alloc_slot();
    mod_node_page_state(k.nodes[pfn_zone(k, *pfn).node], NR_PAGE_TABLE_PAGES, 1);
    k.vmalloc->nr_table_pages++;
    return pfn;
}

PtTable& table_of(Kernel& k, Pfn pfn) { return k.page_tables->table((*k.mem_map)[pfn.value].index); }
const PtTable& table_of(const Kernel& k, Pfn pfn) {
    return k.page_tables->table((*k.mem_map)[pfn.value].index);
}

// The PUD table for addr (allocated at boot).
Pfn pud_table(const VmallocState& st, uint64_t addr) {
    return st.pud_tables[(addr - (VMALLOC_START & PGDIR_MASK)) >> PGDIR_SHIFT];
}

// pte_alloc_kernel() under pmd_alloc(): the PTE slot for addr, allocating
// the PMD and PTE tables on the way; nullptr if a table page cannot be had.
uint64_t* kernel_pte_alloc(Kernel& k, uint64_t addr) {
    VmallocState& st = *k.vmalloc;
    uint64_t& u = table_of(k, pud_table(st, addr))[pud_index(addr)];
    if (!pte_present(u)) {
        MaybePfn t = kernel_table_alloc(k);
        if (!t) return nullptr;
        u = pfn_pte(*t, kKernPgTable);
    }
    uint64_t& m = table_of(k, pte_pfn(u))[pmd_index(addr)];
    if (!pte_present(m)) {
        MaybePfn t = kernel_table_alloc(k);
        if (!t) return nullptr;
        m = pfn_pte(*t, kKernPgTable);
    }
    return &table_of(k, pte_pfn(m))[pte_index(addr)];
}

const uint64_t* kernel_pte_lookup(const Kernel& k, uint64_t addr) {
    const VmallocState& st = *k.vmalloc;
    if (st.pud_tables.empty() || !is_vmalloc_addr(addr)) return nullptr;
    uint64_t u = table_of(k, pud_table(st, addr))[pud_index(addr)];
    if (!pte_present(u)) return nullptr;
    uint64_t m = table_of(k, pte_pfn(u))[pmd_index(addr)];
    if (!pte_present(m)) return nullptr;
    return &table_of(k, pte_pfn(m))[pte_index(addr)];
}

// vmap_pages_range(): maps pages[i] at addr + i * PAGE_SIZE.
Result<void> vmap_pages_range(Kernel& k, uint64_t addr, const std::vector<Pfn>& pages) {
    for (std::size_t i = 0; i < pages.size(); i++) {
        uint64_t* pte = kernel_pte_alloc(k, addr + i * PAGE_SIZE);
        if (!pte) return Errno::NOMEM;
        *pte = pfn_pte(pages[i], kPageKernel);
    }
    return {};
}

// vunmap_range_noflush(): clears the PTEs; the tables stay.
void vunmap_range(Kernel& k, uint64_t start, uint64_t end) {
    for (uint64_t a = start; a < end; a += PAGE_SIZE)
        if (uint64_t* pte = const_cast<uint64_t*>(kernel_pte_lookup(k, a))) *pte = 0;
}

// ---- areas ---------------------------------------------------------------------

// alloc_vmap_area(): a vmap_area object and a range; purges the lazy list
// once and retries when the range does not fit.
Result<uint64_t> alloc_vmap_area(Kernel& k, uint64_t size, uint64_t align, uint64_t vstart, uint64_t vend,
                                 int node, gfp_t gfp, std::unique_ptr<VmStruct> vm) {
    VmallocState& st = vstate(k);
    uint64_t object = 0;
    if (st.vmap_area_cachep) {
        auto o = kmem_cache_alloc(k, *st.vmap_area_cachep, gfp & kGfpReclaimMask, node);
        if (!o) return Errno::NOMEM;
        object = *o;
    }
    uint64_t addr = find_lowest_match(st, size, align, vstart, vend);
    if (!addr) {
        purge_vmap_area_lazy(k);
        addr = find_lowest_match(st, size, align, vstart, vend);
    }
    if (!addr) {
        if (!(gfp & __GFP_NOWARN))
            pr_warn(k, fmt::format("vmap allocation for size {} failed: use vmalloc=<size> to increase size",
                                   size));
        free_vmap_area_object(k, st, object);
        return Errno::NOMEM;
    }
    clip_free(st, addr, size);
    VmapArea& va = st.busy[addr];
    va.va_start = addr;
    va.va_end = addr + size;
    va.object = object;
    // setup_vmalloc_vm()
    vm->addr = addr;
    vm->size = size;
    va.vm = std::move(vm);
    return addr;
}

// free_vmap_area_noflush(): the range goes on its vmap node's lazy list,
// merged with a lazily freed neighbour of the same node
// (merge_or_add_vmap_area(), which frees the absorbed vmap_area object).
void free_vmap_area_noflush(Kernel& k, VmapArea&& va) {
    VmallocState& st = vstate(k);
    st.lazy_nr += (va.va_end - va.va_start) >> PAGE_SHIFT;
    va.vm.reset();
    const unsigned node = addr_to_vmap_node(k, va.va_start);
    auto next = st.lazy.find(va.va_end);
    if (next != st.lazy.end() && addr_to_vmap_node(k, next->first) == node) {
        va.va_end = next->second.va_end;
        free_vmap_area_object(k, st, va.object);
        va.object = next->second.object;
        st.lazy.erase(next);
    }
    auto prev = st.lazy.lower_bound(va.va_start);
    if (prev != st.lazy.begin()) {
        --prev;
        if (prev->second.va_end == va.va_start && addr_to_vmap_node(k, prev->first) == node) {
            prev->second.va_end = va.va_end;
            free_vmap_area_object(k, st, va.object);
            va.object = 0;
        } else {
            prev = st.lazy.end();
        }
    } else {
        prev = st.lazy.end();
    }
    if (prev == st.lazy.end()) {
        uint64_t start = va.va_start;
        st.lazy.emplace(start, std::move(va));
    }
    // The kernel queues drain_vmap_work here; the simulator purges at once.
    if (st.lazy_nr > lazy_max_pages(k)) purge_vmap_area_lazy(k);
}

void warn_vmalloc(Kernel& k, gfp_t gfp, const std::string& what) {
    if (gfp & __GFP_NOWARN) return;
    pr_warn(k, fmt::format("{}: vmalloc error: {}, mode:{:#x}({}), nodemask=(null),cpuset=/,mems_allowed={}",
                           k.current_comm, what, gfp, gfp_flags_string(gfp),
                           k.nodes.size() == 1 ? std::string("0") : fmt::format("0-{}", k.nodes.size() - 1)));
}

// Frees what an area holds (the pages, the array, the vm_struct) and puts
// its range on the lazy list: the body of vfree().
void release_area(Kernel& k, uint64_t addr) {
    VmallocState& st = vstate(k);
    auto it = st.busy.find(addr);
    VmapArea va = std::move(it->second);
    st.busy.erase(it);
    VmStruct& vm = *va.vm;
    // remove_vm_area() -> free_unmap_vmap_area(): clear the PTEs.
    vunmap_range(k, va.va_start, va.va_end);
    for (Pfn p : vm.pages) free_pages(k, p, 0);
    st.nr_vmalloc_pages -= vm.pages.size();
    // kvfree(vm->pages); kfree(vm)
    if (vm.pages_array) {
        if (is_vmalloc_addr(vm.pages_array))
            release_area(k, vm.pages_array);
        else
            kfree(k, vm.pages_array);
    }
    if (vm.object) kfree(k, vm.object);
    free_vmap_area_noflush(k, std::move(va));
}

}  // namespace

// ---- boot -----------------------------------------------------------------------

void preallocate_vmalloc_pages(Kernel& k) {
    if (!k.vmalloc) k.vmalloc = std::make_unique<VmallocState>();
    VmallocState& st = *k.vmalloc;
    for (uint64_t addr = VMALLOC_START & PGDIR_MASK; addr <= VMALLOC_END; addr += PGDIR_SIZE) {
        MaybePfn t = kernel_table_alloc(k);
        if (!t) throw KernelPanic("Failed to pre-allocate pud pages for vmalloc area");
        st.pud_tables.push_back(*t);
    }
}

void vmalloc_init(Kernel& k) {
    if (!k.vmalloc) k.vmalloc = std::make_unique<VmallocState>();
    VmallocState& st = *k.vmalloc;
    // vmap_init_nodes(): one vmap node per possible CPU, at most 128.
    unsigned n = std::clamp<unsigned>(static_cast<unsigned>(k.cpus.size()), 1, 128);
    if (n > 1) {
        st.nr_vmap_nodes = n;
        st.vmap_zone_size = kVmapZoneSize;
    }
    // vmap_init_free_space(): nothing was mapped at boot, so the whole area
    // is one free range.
    st.free.clear();
    st.free[VMALLOC_START] = VMALLOC_END;
    // KMEM_CACHE(vmap_area, SLAB_PANIC)
    if (k.slab) {
        KmemCacheArgs a;
        a.flags = SLAB_PANIC;
        auto c = kmem_cache_create(k, "vmap_area", kVmapAreaSize, a);
        if (!c) throw KernelPanic("vmalloc_init: cannot create the vmap_area cache");
        st.vmap_area_cachep = *c;
    }
}

// ---- allocation -----------------------------------------------------------------

Result<uint64_t> vmalloc_node_range(Kernel& k, uint64_t size, uint64_t align, uint64_t start, uint64_t end,
                                    gfp_t gfp, uint64_t vm_flags, int node, const std::string& caller) {
    VmallocState& st = vstate(k);
    PageOwnerSite site(k, "__vmalloc_node_range_noprof");
    SlabTrackSite slab_site(k, "__vmalloc_node_range_noprof");
    uint64_t real_size = size;
    size = align_up(size, PAGE_SIZE);
    if (!size || size < real_size || (size >> PAGE_SHIFT) > k.totalram_pages) {
        warn_vmalloc(k, gfp, fmt::format("size {}, exceeds total pages", real_size));
        return Errno::NOMEM;
    }
    if (align < PAGE_SIZE) align = PAGE_SIZE;  // alloc_vmap_area works in whole pages
    if (!std::has_single_bit(align)) return Errno::INVAL;

    // __get_vm_area_node(): the vm_struct, then the range (one page longer
    // for the guard).
    auto vm = std::make_unique<VmStruct>();
    vm->flags = VM_ALLOC | VM_UNINITIALIZED | vm_flags;
    vm->caller = caller;
    vm->requested_size = real_size;
    if (k.slab) {
        auto o = kmalloc(k, kVmStructSize, (gfp & kGfpReclaimMask) | __GFP_ZERO, node);
        if (!o) {
            warn_vmalloc(k, gfp, fmt::format("size {}, vm_struct allocation failed", real_size));
            return Errno::NOMEM;
        }
        vm->object = *o;
    }
    uint64_t area_size = size + ((vm_flags & VM_NO_GUARD) ? 0 : PAGE_SIZE);
    uint64_t vm_object = vm->object;
    auto addr = alloc_vmap_area(k, area_size, align, start, end, node, gfp, std::move(vm));
    if (!addr) {
        if (vm_object) kfree(k, vm_object);
        warn_vmalloc(k, gfp, fmt::format("size {}, vm_struct allocation failed", real_size));
        return addr.err();
    }
    VmStruct& area = *st.busy.at(*addr).vm;

    // __vmalloc_area_node()
    PageOwnerSite area_site(k, "__vmalloc_area_node");
    SlabTrackSite slab_area_site(k, "__vmalloc_area_node");
    const uint64_t nr_small_pages = size >> PAGE_SHIFT;
    const uint64_t array_size = nr_small_pages * 8;  // sizeof(struct page *)
    const gfp_t nested_gfp = (gfp & kGfpReclaimMask) | __GFP_ZERO;
    bool have_array = true;
    if (array_size > PAGE_SIZE) {
        auto a =
            vmalloc_node_range(k, array_size, 1, VMALLOC_START, VMALLOC_END, nested_gfp, 0, node, caller);
        have_array = a.ok();
        if (a) area.pages_array = *a;
    } else if (k.slab) {
        // Without the slab allocator (buddy-only test machines) the array
        // is host memory only.
        auto a = kmalloc(k, array_size, nested_gfp, node);
        have_array = a.ok();
        if (a) area.pages_array = *a;
    }
    if (!have_array) {
        warn_vmalloc(k, gfp,
                     fmt::format("size {}, failed to allocated page array size {}",
                                 nr_small_pages * PAGE_SIZE, array_size));
        area.flags &= ~VM_UNINITIALIZED;
        release_area(k, *addr);
        return Errno::NOMEM;
    }
    gfp_t page_gfp = gfp;
    if (!(page_gfp & (__GFP_DMA | __GFP_DMA32))) page_gfp |= __GFP_HIGHMEM;
    page_gfp |= __GFP_NOWARN;
    // vm_area_alloc_pages(): order 0, from node first (NUMA_NO_NODE: the
    // current CPU's node and its fallbacks).
    area.pages.reserve(nr_small_pages);
    for (uint64_t i = 0; i < nr_small_pages; i++) {
        MaybePfn p = alloc_pages(k, page_gfp, 0, node);
        if (!p) break;
        area.pages.push_back(*p);
    }
    st.nr_vmalloc_pages += area.pages.size();
    area.flags &= ~VM_UNINITIALIZED;
    if (area.pages.size() != nr_small_pages) {
        warn_vmalloc(k, gfp, fmt::format("size {}, failed to allocate pages", nr_small_pages * PAGE_SIZE));
        release_area(k, *addr);
        return Errno::NOMEM;
    }
    if (!vmap_pages_range(k, *addr, area.pages)) {
        warn_vmalloc(k, gfp, fmt::format("size {}, failed to map pages", nr_small_pages * PAGE_SIZE));
        release_area(k, *addr);
        return Errno::NOMEM;
    }
    return *addr;
}

Result<uint64_t> vmalloc(Kernel& k, uint64_t size, const std::string& caller) {
    return vmalloc_node_range(k, size, 1, VMALLOC_START, VMALLOC_END, GFP_KERNEL, 0, -1, caller);
}
Result<uint64_t> vzalloc(Kernel& k, uint64_t size, const std::string& caller) {
    return vmalloc_node_range(k, size, 1, VMALLOC_START, VMALLOC_END, GFP_KERNEL | __GFP_ZERO, 0, -1, caller);
}
Result<uint64_t> vmalloc_node(Kernel& k, uint64_t size, int node, const std::string& caller) {
    return vmalloc_node_range(k, size, 1, VMALLOC_START, VMALLOC_END, GFP_KERNEL, 0, node, caller);
}
Result<uint64_t> vzalloc_node(Kernel& k, uint64_t size, int node, const std::string& caller) {
    return vmalloc_node_range(k, size, 1, VMALLOC_START, VMALLOC_END, GFP_KERNEL | __GFP_ZERO, 0, node,
                              caller);
}

void vfree(Kernel& k, uint64_t addr) {
    if (!addr) return;
    VmallocState& st = vstate(k);
    auto it = st.busy.find(addr);
    if (it == st.busy.end() || !it->second.vm) {
        // vfree(): WARN(1, KERN_ERR "Trying to vfree() nonexistent vm area (%p)\n", addr)
        k.log.printk(k.clock.now(), LogLevel::Err,
                     fmt::format("Trying to vfree() nonexistent vm area ({:016x})", addr));
        return;
    }
    release_area(k, addr);
}

const VmStruct* find_vm_area(const Kernel& k, uint64_t addr) {
    if (!k.vmalloc) return nullptr;
    auto it = k.vmalloc->busy.find(addr);
    return it == k.vmalloc->busy.end() ? nullptr : it->second.vm.get();
}

MaybePfn vmalloc_to_pfn(const Kernel& k, uint64_t addr) {
    if (!k.vmalloc) return std::nullopt;
    const uint64_t* pte = kernel_pte_lookup(k, addr);
    if (!pte || !pte_present(*pte)) return std::nullopt;
    return pte_pfn(*pte);
}

uint64_t vmalloc_nr_pages(const Kernel& k) { return k.vmalloc ? k.vmalloc->nr_vmalloc_pages : 0; }

uint64_t lazy_max_pages(const Kernel& k) {
    // fls(num_online_cpus()) * (32 MiB / PAGE_SIZE)
    auto cpus = static_cast<unsigned>(std::max<std::size_t>(k.cpus.size(), 1));
    return static_cast<uint64_t>(std::bit_width(cpus)) * ((32ull << 20) / PAGE_SIZE);
}

void purge_vmap_area_lazy(Kernel& k) {
    VmallocState& st = vstate(k);
    if (st.lazy.empty()) return;
    // __purge_vmap_area_lazy(): one kernel TLB flush for the lot (the
    // simulated TLBs hold user translations only), then each range back to
    // the free tree and its vmap_area object to its cache.
    for (auto& [start, va] : st.lazy) {
        free_range(st, va.va_start, va.va_end);
        free_vmap_area_object(k, st, va.object);
    }
    st.lazy.clear();
    st.lazy_nr = 0;
    st.purges++;
}

unsigned addr_to_vmap_node(const Kernel& k, uint64_t addr) {
    const VmallocState& st = *k.vmalloc;
    if (st.nr_vmap_nodes <= 1) return 0;
    return static_cast<unsigned>((addr / st.vmap_zone_size) % st.nr_vmap_nodes);
}

void validate_vmalloc(const Kernel& k) {
    if (!k.vmalloc) return;
    const VmallocState& st = *k.vmalloc;
    auto fail = [](const std::string& what) { throw std::logic_error("vmalloc: " + what); };
    // Busy, lazy and free ranges tile the area exactly.
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& [s, va] : st.busy) {
        if (s != va.va_start || va.va_end <= va.va_start) fail(fmt::format("bad busy area at {:#x}", s));
        ranges.emplace_back(va.va_start, va.va_end);
    }
    for (const auto& [s, va] : st.lazy) ranges.emplace_back(va.va_start, va.va_end);
    for (const auto& [s, e] : st.free) ranges.emplace_back(s, e);
    std::sort(ranges.begin(), ranges.end());
    uint64_t at = VMALLOC_START;
    for (const auto& [s, e] : ranges) {
        if (s != at) fail(fmt::format("ranges overlap or leave a gap at {:#x} (next starts {:#x})", at, s));
        at = e;
    }
    if (!ranges.empty() && at != VMALLOC_END) fail(fmt::format("ranges end at {:#x}", at));
    uint64_t pages = 0, lazy = 0;
    for (const auto& [s, va] : st.busy) {
        const VmStruct& vm = *va.vm;
        if (vm.addr != va.va_start || vm.addr + vm.size != va.va_end)
            fail(fmt::format("vm_struct at {:#x} does not match its range", s));
        uint64_t mapped_end = va.va_end - ((vm.flags & VM_NO_GUARD) ? 0 : PAGE_SIZE);
        if (vm.pages.size() != (mapped_end - va.va_start) >> PAGE_SHIFT)
            fail(fmt::format("area at {:#x} holds {} pages for {} bytes", s, vm.pages.size(),
                             mapped_end - va.va_start));
        for (std::size_t i = 0; i < vm.pages.size(); i++) {
            MaybePfn p = vmalloc_to_pfn(k, va.va_start + i * PAGE_SIZE);
            if (!p || *p != vm.pages[i])
                fail(fmt::format("page {} of the area at {:#x} is not mapped", i, s));
            if ((*k.mem_map)[vm.pages[i].value].flags & (PG_buddy | PG_pcp))
                fail(fmt::format("page {} of the area at {:#x} is free", i, s));
        }
        if (!(vm.flags & VM_NO_GUARD) && vmalloc_to_pfn(k, mapped_end))
            fail(fmt::format("the guard page of the area at {:#x} is mapped", s));
        pages += vm.pages.size();
    }
    for (const auto& [s, va] : st.lazy) {
        lazy += (va.va_end - va.va_start) >> PAGE_SHIFT;
        for (uint64_t a = va.va_start; a < va.va_end; a += PAGE_SIZE)
            if (vmalloc_to_pfn(k, a)) fail(fmt::format("freed area at {:#x} is still mapped", s));
    }
    if (pages != st.nr_vmalloc_pages)
        fail(fmt::format("VmallocUsed counts {} pages, areas hold {}", st.nr_vmalloc_pages, pages));
    if (lazy != st.lazy_nr) fail(fmt::format("vmap_lazy_nr is {}, lazy areas hold {}", st.lazy_nr, lazy));
}

}  // namespace mmsim
