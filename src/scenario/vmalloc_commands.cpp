// vmalloc in a scenario, and where kernel objects live.
//
//   vmalloc SIZE [as=H] [node=N] [gfp=FLAGS] [caller=NAME]
//   vzalloc SIZE [as=H] [node=N] [caller=NAME]
//   vfree H [count=N] [stride=N]
//   vmalloc_to_pfn H          the pages behind each area of H, one a line
//
//   vmallocinfo.lines         /proc/vmallocinfo: every line, the areas
//   vmallocinfo.areas         (lines with "vmalloc"), the lazily freed
//   vmallocinfo.unpurged      ranges, the pages areas hold
//   vmallocinfo.pages
//   vmalloc.H.size            an area of H: size with the guard page,
//   vmalloc.H.pages           its pages, the guard (bytes), the pfn of
//   vmalloc.H.guard           page i, and how many physically contiguous
//   vmalloc.H.pfn[i]          runs its pages form (1: contiguous)
//   vmalloc.H.runs            (H[j] picks the j-th area of H)
//
//   kaddr.H                   the kernel virtual address of H's first object
//   kaddr.H[j].region         (kmalloc, kmem_cache_alloc or vmalloc), as
//   kaddr.H.offset            "0x..." text; its region ("direct map" or
//   phys.H, pfn.H             "vmalloc") and offset from the region's base;
//                             the physical address and pfn behind it
//
// vmalloc areas are kept with the kmalloc objects, under the same as=
// names (Interp::object_handles()), so kaddr/phys/pfn read both kinds.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "base/text.h"
#include "mm/page.h"
#include "mm/page_alloc.h"
#include "mm/vmalloc.h"
#include "proc/procfs.h"
#include "scenario/commands.h"
#include "scenario/interp.h"

namespace mmsim::scenario {

namespace {

VmallocState& vmalloc_state(Kernel& k, const SourceLoc& loc) {
    if (!k.vmalloc)
        throw InputError(loc, "this machine was booted without the kernel allocators (no vmalloc)");
    return *k.vmalloc;
}

void check_size(const Arg& a) {
    uint64_t size = arg_size(a, "the size");
    if (size == 0) throw InputError(a.loc, "the size must be at least 1 byte");
}

void alloc_area(Interp& in, Invocation& inv, gfp_t gfp, const char* what) {
    Kernel& k = in.kernel(inv.cmd.loc);
    vmalloc_state(k, inv.cmd.loc);
    uint64_t size = arg_size(inv.args.positional[0], "the size");
    int node = node_option(inv.args, k.nodes.size());
    if (const Arg* g = inv.args.option("gfp")) gfp = arg_gfp(*g);
    std::string caller =
        inv.args.option("caller") ? inv.args.option("caller")->value : "scenario_" + std::string(what);
    std::string name = inv.args.option("as") ? inv.args.option("as")->value : std::string();
    auto r = vmalloc_node_range(k, size, 1, VMALLOC_START, VMALLOC_END, gfp, 0, node, caller);
    if (!r) {
        inv.out += fmt::format("{}: allocation of {} bytes failed ({}; see dmesg)\n", what, size,
                               errno_name(r.err()));
        return;
    }
    in.object_handles()[name].push_back(*r);
}

const std::vector<OptionSpec> alloc_options = {
    {"as", ArgKind::Name, "a name to free it by and to read it with vmalloc.H, kaddr.H, phys.H"},
    {"node", ArgKind::Int, "the node to take pages from first (default: any, nearest first)"},
    {"caller", ArgKind::Name, "the caller /proc/vmallocinfo names (default scenario_vmalloc)"}};

// The handle's j-th item, checked.
uint64_t handle_item(Interp& in, const RefStep& name, std::size_t j, const char* what) {
    auto& objs = find_handle(in.object_handles(), Arg{name.name, name.loc}, what);
    if (j >= objs.size())
        throw InputError(name.loc, fmt::format("'{}' holds {} item{}; [{}] is past the end", name.name,
                                               objs.size(), objs.size() == 1 ? "" : "s", j));
    return objs[j];
}

// HANDLE[j] at path[1] (and path[2] when it is an index); returns the
// index of the next step.
std::size_t handle_step(const std::vector<RefStep>& path, const Expr& ref, const char* example,
                        std::size_t& j) {
    if (path.size() < 2 || path[1].is_index)
        throw InputError(
            ref.loc, fmt::format("{} needs the name given with as= (for example {})", path[0].name, example));
    j = 0;
    std::size_t i = 2;
    if (i < path.size() && path[i].is_index) {
        if (path[i].index < 0) throw InputError(path[i].loc, "an index counts from 0");
        j = static_cast<std::size_t>(path[i].index);
        i++;
    }
    return i;
}

const VmStruct& area_of(Kernel& k, uint64_t addr, const RefStep& name) {
    const VmStruct* vm = find_vm_area(k, addr);
    if (!vm)
        throw InputError(name.loc, fmt::format("'{}' holds kmalloc memory, not a vmalloc area", name.name));
    return *vm;
}

// PhysAddr behind a kernel virtual address: the direct map's offset, or
// the kernel page table's entry for a vmalloc address.
uint64_t kernel_phys(Kernel& k, uint64_t addr, const RefStep& at) {
    if (is_direct_map_addr(addr)) return virt_to_phys(addr);
    if (MaybePfn p = vmalloc_to_pfn(k, addr)) return (p->value << PAGE_SHIFT) | (addr & (PAGE_SIZE - 1));
    throw InputError(at.loc, fmt::format("{:#x} is not mapped", addr));
}

Value vmallocinfo_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    if (path.size() != 2 || path[1].is_index)
        throw InputError(ref.loc, "vmallocinfo needs lines, areas, unpurged or pages (vmallocinfo.areas)");
    auto text = proc_read(in.kernel(ref.loc), "/proc/vmallocinfo");
    if (!text) throw InputError(ref.loc, "cannot read /proc/vmallocinfo");
    double lines = 0, areas = 0, unpurged = 0, pages = 0;
    for (const std::string& line : split_lines(*text)) {
        if (line.empty()) continue;
        lines++;
        std::vector<std::string> w = split_ws(line);
        bool is_area = false;
        for (const std::string& f : w) {
            if (f == "vmalloc") is_area = true;
            if (f == "unpurged") unpurged++;
            if (f.rfind("pages=", 0) == 0) {
                double v = 0;
                (void)to_number(std::string_view(f).substr(6), v);
                pages += v;
            }
        }
        areas += is_area;
    }
    const std::string& f = path[1].name;
    if (f == "lines") return Value::of(lines);
    if (f == "areas") return Value::of(areas);
    if (f == "unpurged") return Value::of(unpurged);
    if (f == "pages") return Value::of(pages);
    throw InputError(path[1].loc,
                     fmt::format("vmallocinfo has lines, areas, unpurged and pages, not '{}'", f));
}

Value vmalloc_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    Kernel& k = in.kernel(ref.loc);
    vmalloc_state(k, ref.loc);
    std::size_t j = 0;
    std::size_t i = handle_step(path, ref, "vmalloc.buf.pages", j);
    const VmStruct& vm = area_of(k, handle_item(in, path[1], j, "vmalloc"), path[1]);
    if (i >= path.size() || path[i].is_index)
        throw InputError(ref.loc, "vmalloc.H needs size, pages, guard, pfn[i] or runs (vmalloc.buf.pages)");
    const RefStep& field = path[i++];
    std::optional<int64_t> index;
    if (i < path.size() && path[i].is_index) index = path[i++].index;
    if (i < path.size()) throw InputError(path[i].loc, "unexpected step after the field");
    const std::string& f = field.name;
    if (f == "pfn") {
        if (!index) throw InputError(field.loc, "pfn needs a page index: vmalloc.buf.pfn[0]");
        if (*index < 0 || static_cast<std::size_t>(*index) >= vm.pages.size())
            throw InputError(field.loc, fmt::format("the area has {} pages; pfn[{}] is past the end",
                                                    vm.pages.size(), *index));
        MaybePfn p = vmalloc_to_pfn(k, vm.addr + static_cast<uint64_t>(*index) * PAGE_SIZE);
        return Value::of(static_cast<double>(p ? p->value : 0));
    }
    if (index) throw InputError(field.loc, fmt::format("{} takes no index", f));
    if (f == "size") return Value::of(static_cast<double>(vm.size));
    if (f == "pages") return Value::of(static_cast<double>(vm.pages.size()));
    if (f == "guard") return Value::of(static_cast<double>((vm.flags & VM_NO_GUARD) ? 0 : PAGE_SIZE));
    if (f == "runs") {
        double runs = 0;
        for (std::size_t n = 0; n < vm.pages.size(); n++)
            if (n == 0 || vm.pages[n].value != vm.pages[n - 1].value + 1) runs++;
        return Value::of(runs);
    }
    throw InputError(field.loc,
                     fmt::format("vmalloc.H has size, pages, guard, pfn[i] and runs, not '{}'", f));
}

// kaddr.H[j], kaddr.H[j].region, kaddr.H[j].offset
Value kaddr_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref) {
    Kernel& k = in.kernel(ref.loc);
    std::size_t j = 0;
    std::size_t i = handle_step(path, ref, "kaddr.big", j);
    uint64_t addr = handle_item(in, path[1], j, "kaddr");
    if (i == path.size()) return Value::of(fmt::format("{:#018x}", addr));
    if (path[i].is_index || i + 1 != path.size())
        throw InputError(path[i].loc, "kaddr.H takes .region or .offset");
    const std::string& f = path[i].name;
    bool direct = is_direct_map_addr(addr), vmalloc = is_vmalloc_addr(addr);
    if (f == "region") return Value::of(std::string(direct ? "direct map" : vmalloc ? "vmalloc" : "none"));
    if (f == "offset") {
        if (!direct && !vmalloc) throw InputError(path[1].loc, fmt::format("{:#x} is in no region", addr));
        return Value::of(static_cast<double>(addr - (direct ? PAGE_OFFSET : VMALLOC_START)));
    }
    (void)k;
    throw InputError(path[i].loc, fmt::format("kaddr.H has region and offset, not '{}'", f));
}

Value phys_or_pfn_value(Interp& in, const std::vector<RefStep>& path, const Expr& ref, bool pfn) {
    Kernel& k = in.kernel(ref.loc);
    std::size_t j = 0;
    std::size_t i = handle_step(path, ref, pfn ? "pfn.big" : "phys.big", j);
    if (i != path.size()) throw InputError(path[i].loc, fmt::format("{}.H takes no field", path[0].name));
    uint64_t phys = kernel_phys(k, handle_item(in, path[1], j, path[0].name.c_str()), path[1]);
    return Value::of(static_cast<double>(pfn ? phys >> PAGE_SHIFT : phys));
}

}  // namespace

void register_vmalloc_commands(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "vmalloc";
        s.usage = "vmalloc SIZE [as=H] [node=N] [gfp=FLAGS] [caller=NAME]";
        s.summary =
            "Allocates SIZE bytes with vmalloc: order-0 pages from anywhere, mapped contiguously in the "
            "vmalloc area after a free range is found, with a guard page after it.";
        s.examples = {"vmalloc 64K as=buf", "vmalloc 1M as=table node=1",
                      "vmalloc 8K gfp=GFP_KERNEL_ACCOUNT"};
        s.options = alloc_options;
        s.options.push_back({"gfp", ArgKind::Gfp, "GFP flags (default GFP_KERNEL)"});
        s.min_args = s.max_args = 1;
        s.check = [](const Args& a, const Command&) { check_size(a.positional[0]); };
        s.run = [](Interp& in, Invocation& inv) {
            check_size(inv.args.positional[0]);
            alloc_area(in, inv, GFP_KERNEL, "vmalloc");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "vzalloc";
        s.usage = "vzalloc SIZE [as=H] [node=N] [caller=NAME]";
        s.summary = "vmalloc with zeroed pages (GFP_KERNEL | __GFP_ZERO).";
        s.examples = {"vzalloc 32K as=z"};
        s.options = alloc_options;
        s.min_args = s.max_args = 1;
        s.check = [](const Args& a, const Command&) { check_size(a.positional[0]); };
        s.run = [](Interp& in, Invocation& inv) {
            check_size(inv.args.positional[0]);
            alloc_area(in, inv, GFP_KERNEL | __GFP_ZERO, "vzalloc");
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "vfree";
        s.usage = "vfree H [count=N] [stride=N]";
        s.summary =
            "Frees the vmalloc areas kept under H: pages back at once, the address range lazily (an "
            "\"unpurged vm_area\" until 32 MiB per CPU-count bit of such ranges gather).";
        s.examples = {"vfree buf", "vfree bufs stride=2"};
        s.options = {{"count", ArgKind::Int, "free at most this many"},
                     {"stride", ArgKind::Int, "free every N-th, from the first"}};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            vmalloc_state(k, inv.cmd.loc);
            const Arg& name = inv.args.positional[0];
            auto& objs = find_handle(in.object_handles(), name, "vfree");
            for (uint64_t addr : objs)
                if (!is_vmalloc_addr(addr))
                    throw InputError(
                        name.loc,
                        fmt::format("vfree: '{}' holds kmalloc memory; free it with kfree", name.value));
            free_selected(objs, inv.args, [&](uint64_t addr) { vfree(k, addr); });
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "vmalloc_to_pfn";
        s.usage = "vmalloc_to_pfn H";
        s.summary =
            "Prints each page of the vmalloc areas under H: its virtual address, the pfn the kernel page "
            "table maps it to, and the node; then the unmapped guard page.";
        s.examples = {"vmalloc_to_pfn buf"};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            vmalloc_state(k, inv.cmd.loc);
            const Arg& name = inv.args.positional[0];
            for (uint64_t addr : find_handle(in.object_handles(), name, "vmalloc_to_pfn")) {
                const VmStruct* vm = find_vm_area(k, addr);
                if (!vm)
                    throw InputError(name.loc,
                                     fmt::format("vmalloc_to_pfn: '{}' holds kmalloc memory (at {:#x}: "
                                                 "phys {:#x}, the direct map's fixed offset)",
                                                 name.value, addr, virt_to_phys(addr)));
                inv.out += fmt::format("{:#x}-{:#x} {} pages={}\n", vm->addr, vm->addr + vm->size, vm->caller,
                                       vm->pages.size());
                uint64_t mapped = vm->pages.size() * PAGE_SIZE;
                for (uint64_t a = vm->addr; a < vm->addr + vm->size; a += PAGE_SIZE) {
                    MaybePfn p = vmalloc_to_pfn(k, a);
                    if (!p) {
                        inv.out += fmt::format("  {:#x}  not mapped{}\n", a,
                                               a >= vm->addr + mapped ? " (guard)" : "");
                        continue;
                    }
                    const Zone* z = k.page_zone(*p);
                    inv.out += fmt::format("  {:#x}  pfn {:#x}  phys {:#x}  node {}\n", a, p->value,
                                           p->value << PAGE_SHIFT, z ? z->node : 0);
                }
            }
        };
        r.add(std::move(s));
    }
    r.add_source(ValueSource{"vmallocinfo",
                             "/proc/vmallocinfo counts: vmallocinfo.lines, .areas, .unpurged, .pages",
                             {"vmallocinfo.areas", "vmallocinfo.pages"},
                             true,
                             vmallocinfo_value});
    r.add_source(ValueSource{"vmalloc",
                             "a vmalloc area kept under as=H: vmalloc.H.size, .pages, .guard, .pfn[i], .runs",
                             {"vmalloc.buf.pages", "vmalloc.buf.pfn[0]", "vmalloc.buf[1].size"},
                             true,
                             vmalloc_value});
    r.add_source(ValueSource{"kaddr",
                             "the kernel virtual address of an object or area kept under as=H (text), "
                             "kaddr.H.region, kaddr.H.offset",
                             {"kaddr.big", "kaddr.big.region", "kaddr.objs[3].offset"},
                             true,
                             kaddr_value});
    r.add_source(ValueSource{"phys",
                             "the physical address behind an object or area kept under as=H: phys.big",
                             {"phys.big", "phys.objs[2]"},
                             true,
                             [](Interp& in, const std::vector<RefStep>& p, const Expr& e) {
                                 return phys_or_pfn_value(in, p, e, false);
                             }});
    r.add_source(ValueSource{"pfn",
                             "the page frame behind an object or area kept under as=H: pfn.big",
                             {"pfn.big"},
                             true,
                             [](Interp& in, const std::vector<RefStep>& p, const Expr& e) {
                                 return phys_or_pfn_value(in, p, e, true);
                             }});
}

}  // namespace mmsim::scenario
