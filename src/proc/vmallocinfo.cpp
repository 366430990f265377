// /proc/vmallocinfo (mm/vmalloc.c, vmalloc_info_show() and
// show_purge_info()): one line per vmalloc area, vmap node by vmap node,
// then the lazily freed ranges not yet purged.
//
//   0xffffc90000000000-0xffffc90000011000   69632 vmalloc+0x0/0x0 pages=16 vmalloc N0=16
//   start              end (+guard)         size  caller          pages   kind    per node
//
// The kernel prints the addresses with %pK: a root reader sees them as they
// are with kernel.kptr_restrict=1, hashed with 0 (the host capture in
// tests/data/host-6.18/vmalloc). mmsim prints them unhashed.
#include <fmt/format.h>

#include <vector>

#include "mm/page_alloc.h"
#include "mm/vmalloc.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

void show_numa_info(std::string& out, const Kernel& k, const VmStruct& v) {
    // Order-0 pages: one step per page. Nodes with memory, in order.
    std::vector<unsigned> counters(k.nodes.size(), 0);
    for (Pfn p : v.pages) {
        const Zone* z = const_cast<Kernel&>(k).page_zone(p);
        if (z) counters[static_cast<std::size_t>(z->node)]++;
    }
    for (std::size_t n = 0; n < counters.size(); n++)
        if (counters[n]) out += fmt::format(" N{}={}", n, counters[n]);
}

}  // namespace

std::string render_vmallocinfo(const Kernel& k) {
    std::string out;
    if (!k.vmalloc) return out;
    const VmallocState& st = *k.vmalloc;
    for (unsigned node = 0; node < st.nr_vmap_nodes; node++) {
        for (const auto& [start, va] : st.busy) {
            if (addr_to_vmap_node(k, start) != node || !va.vm) continue;
            const VmStruct& v = *va.vm;
            if (v.flags & VM_UNINITIALIZED) continue;
            out += fmt::format("0x{:016x}-0x{:016x} {:7}", v.addr, v.addr + v.size, v.size);
            if (!v.caller.empty()) out += " " + v.caller;
            if (!v.pages.empty()) out += fmt::format(" pages={}", v.pages.size());
            if (v.phys_addr) out += fmt::format(" phys=0x{:016x}", v.phys_addr);
            if (v.flags & VM_IOREMAP) out += " ioremap";
            if (v.flags & VM_SPARSE) out += " sparse";
            if (v.flags & VM_ALLOC) out += " vmalloc";
            if (v.flags & VM_MAP) out += " vmap";
            if (v.flags & VM_USERMAP) out += " user";
            if (v.flags & VM_DMA_COHERENT) out += " dma-coherent";
            if (is_vmalloc_addr(v.pages_array)) out += " vpages";
            show_numa_info(out, k, v);
            out += '\n';
        }
    }
    for (unsigned node = 0; node < st.nr_vmap_nodes; node++)
        for (const auto& [start, va] : st.lazy)
            if (addr_to_vmap_node(k, start) == node)
                out += fmt::format("0x{:016x}-0x{:016x} {:7} unpurged vm_area\n", va.va_start, va.va_end,
                                   va.va_end - va.va_start);
    return out;
}

}  // namespace mmsim
