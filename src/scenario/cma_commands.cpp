// The Contiguous Memory Allocator in a scenario: a driver's view of the
// boot-time CMA area (cma=SIZE on the boot line, cma = "64M" under [boot]).
//
//   cma_alloc SIZE|COUNT [align=N] [as=NAME]
//       SIZE with a unit (64M, 2048K) is rounded up to pages; a plain
//       number is a count of pages. align=N is cma_alloc()'s alignment
//       order: the range starts on a multiple of 2^N pages (default 0).
//   cma_release NAME
//       gives back every range kept under NAME (cma_release()).
//
// A refused allocation (EBUSY when a page in every position cannot be
// moved, ENOMEM when migration ran out of target pages) prints a line and
// leaves the kernel's own lines in dmesg; the scenario goes on.
#include <fmt/format.h>

#include <cctype>
#include <string>

#include "mm/cma.h"
#include "scenario/commands.h"
#include "scenario/interp.h"

namespace mmsim::scenario {

namespace {

CmaArea& area_of(Kernel& k, const SourceLoc& loc) {
    CmaArea* a = default_cma_area(k);
    if (!a || !a->active)
        throw InputError(loc,
                         "this machine has no CMA area (boot it with cma=SIZE, for example "
                         "`boot ram=1G cma=64M`, or cma = \"64M\" under [boot] in a machine file)");
    return *a;
}

// SIZE (bytes, with a unit) or COUNT (pages, a plain number).
uint64_t pages_arg(const Arg& a) {
    bool plain = !a.value.empty();
    for (char c : a.value)
        plain = plain && (std::isdigit(static_cast<unsigned char>(c)) || c == 'x' || c == 'X');
    uint64_t pages = plain ? static_cast<uint64_t>(arg_int(a, "the page count", 1, 1ll << 40))
                           : (arg_size(a, "the size") + PAGE_SIZE - 1) / PAGE_SIZE;
    if (pages == 0) throw InputError(a.loc, "cma_alloc needs at least one page");
    return pages;
}

}  // namespace

void register_cma_commands(CommandRegistry& r) {
    {
        CommandSpec s;
        s.name = "cma_alloc";
        s.usage = "cma_alloc SIZE|COUNT [align=N] [as=NAME]";
        s.summary =
            "Allocates a physically contiguous range from the CMA area, migrating the movable pages "
            "in the way (cma_alloc); SIZE has a unit, COUNT is pages.";
        s.examples = {"cma_alloc 32M as=frame", "cma_alloc 1024 align=10 as=buf"};
        s.options = {{"align", ArgKind::Int, "alignment order: the range starts on a multiple of 2^N pages"},
                     {"as", ArgKind::Name, "a name to release it by"}};
        s.min_args = s.max_args = 1;
        s.check = [](const Args& a, const Command&) {
            (void)pages_arg(a.positional[0]);
            if (const Arg* al = a.option("align")) (void)arg_int(*al, "align=", 0, 30);
        };
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            const Arg& what = inv.args.positional[0];
            uint64_t pages = pages_arg(what);
            unsigned align = inv.args.option("align")
                                 ? static_cast<unsigned>(arg_int(*inv.args.option("align"), "align=", 0, 30))
                                 : 0;
            CmaArea& a = area_of(k, inv.cmd.loc);
            std::string name = inv.args.option("as") ? inv.args.option("as")->value : std::string();
            auto got = cma_alloc(k, a, pages, align);
            if (!got) {
                inv.out += fmt::format("cma_alloc: {} pages: {} ({}; see dmesg)\n", pages,
                                       errno_text(got.err()), errno_name(got.err()));
                return;
            }
            in.cma_handles()[name].push_back(Interp::CmaRange{*got, pages});
        };
        r.add(std::move(s));
    }
    {
        CommandSpec s;
        s.name = "cma_release";
        s.usage = "cma_release NAME";
        s.summary = "Gives back to the CMA area every range cma_alloc kept under NAME (cma_release).";
        s.examples = {"cma_release frame"};
        s.min_args = s.max_args = 1;
        s.run = [](Interp& in, Invocation& inv) {
            Kernel& k = in.kernel(inv.cmd.loc);
            CmaArea& a = area_of(k, inv.cmd.loc);
            auto& ranges = find_handle(in.cma_handles(), inv.args.positional[0], "cma_release");
            for (const auto& rg : ranges) (void)cma_release(k, a, rg.pfn, rg.count);
            in.cma_handles().erase(inv.args.positional[0].value);
        };
        r.add(std::move(s));
    }
}

}  // namespace mmsim::scenario
