// Page owner: a record of who allocated every page (mm/page_owner.c).
//
// Debugging a leak of kernel memory starts with one question: who holds
// these pages? The kernel can answer it when booted with page_owner=on.
// Then every allocation notes, beside the page, the order and gfp mask it
// was made with, the task (pid, tgid, comm) it ran for, the time, and the
// call stack (saved once in the stack depot and referred to by a handle);
// every free notes the time and the freeing task. Reading
// /sys/kernel/debug/page_owner walks all pfns and prints one paragraph per
// allocated block:
//
//   Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1000, tgid 1000 (sh), ts 52000 ns
//   PFN 0x1a2b3 type Unmovable Block 209 type Unmovable Flags 0x0(node=0|zone=2)
//    <the call stack, one frame a line>
//   <blank line>
//
// Off (the default) the feature costs nothing but a static branch in the
// allocator; the record lives in page_ext, a side array, so struct page
// does not grow. The simulator does the same: Kernel::page_owner_enabled
// is tested once per allocation and free, and the records sit in a hash
// table by head pfn (PageOwnerState), so the 28-byte Page is untouched.
//
// Pages allocated before page owner starts (the boot's slab pages, the
// zero page, ...) get a record at init with order 0, no mask and a dummy
// stack, as init_early_allocated_pages() gives them. The call stack of a
// simulated allocation is what the code above it named with PageOwnerSite
// (the scenario command, vmalloc, ...) below the page allocator's own
// frames; the simulator has no return addresses, so frames carry no
// +offset/size.
#include "mm/page_owner.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "mm/memmap.h"
#include "mm/page_alloc.h"

namespace mmsim {

namespace {

PageOwnerState& state(Kernel& k) { return *k.page_owner; }

uint32_t intern_stack(PageOwnerState& st, const std::string& text) {
    auto [it, added] = st.stack_ids.try_emplace(text, static_cast<uint32_t>(st.stacks.size()));
    if (added) st.stacks.push_back(text);
    return it->second;
}

// The stack of an allocation made now: the page allocator's frames, then
// what PageOwnerSite pushed, innermost first.
uint32_t current_handle(PageOwnerState& st) {
    if (st.current_handle != UINT32_MAX) return st.current_handle;
    std::string text = " post_alloc_hook\n get_page_from_freelist\n __alloc_frozen_pages_noprof\n";
    for (auto it = st.frames.rbegin(); it != st.frames.rend(); ++it) text += " " + *it + "\n";
    st.current_handle = intern_stack(st, text);
    return st.current_handle;
}

}  // namespace

void init_page_owner(Kernel& k) {
    k.page_owner = std::make_unique<PageOwnerState>();
    PageOwnerState& st = *k.page_owner;
    // create_dummy_stack() for the pages boot allocated.
    st.early_handle = intern_stack(st, " init_page_owner\n page_ext_init\n kernel_init_freeable\n");
    // init_early_allocated_pages(): each allocated page, order 0, mask 0.
    for (auto [pfn, order] : allocated_blocks(k)) {
        for (uint64_t p = pfn; p < pfn + (uint64_t{1} << order); p++) {
            PageOwnerRecord& r = st.records[p];
            r = PageOwnerRecord{};
            r.allocated = true;
            r.handle = st.early_handle;
            r.pid = r.tgid = 1;
            r.comm = "swapper/0";
        }
    }
    k.page_owner_enabled = true;
}

void set_page_owner_slow(Kernel& k, Pfn pfn, unsigned order, gfp_t gfp) {
    PageOwnerState& st = state(k);
    PageOwnerRecord& r = st.records[pfn.value];
    r.order = static_cast<uint8_t>(order);
    r.allocated = true;
    r.last_migrate_reason = -1;
    r.gfp_mask = gfp;
    r.handle = current_handle(st);
    r.pid = r.tgid = k.current_pid;
    r.comm = k.current_comm;
    r.ts_nsec = k.clock.now();
}

void reset_page_owner_slow(Kernel& k, Pfn pfn, unsigned order) {
    PageOwnerState& st = state(k);
    // __reset_page_owner(): every page of the block notes the free; the
    // allocation's record stays for the next reader of the page_ext.
    for (uint64_t p = pfn.value; p < pfn.value + (uint64_t{1} << order); p++) {
        auto it = st.records.find(p);
        if (it == st.records.end()) continue;
        PageOwnerRecord& r = it->second;
        r.allocated = false;
        r.free_pid = r.free_tgid = k.current_pid;
        r.free_ts_nsec = k.clock.now();
    }
}

void alloc_debug_hooks(Kernel& k, Pfn pfn, unsigned order, gfp_t gfp) {
    set_page_owner(k, pfn, order, gfp);
    if (k.debug_vm) debug_check_page_alloc(k);
}

void free_debug_hooks(Kernel& k, Pfn pfn, unsigned order) {
    reset_page_owner(k, pfn, order);
    if (k.debug_vm) debug_check_page_alloc(k);
}

PageOwnerSite::PageOwnerSite(Kernel& k, std::string frame) : m_state(k.page_owner.get()) {
    if (!m_state) return;
    m_state->frames.push_back(std::move(frame));
    m_state->current_handle = UINT32_MAX;
}

PageOwnerSite::~PageOwnerSite() {
    if (!m_state) return;
    m_state->frames.pop_back();
    m_state->current_handle = UINT32_MAX;
}

const PageOwnerRecord* page_owner_record(const Kernel& k, Pfn pfn) {
    if (!k.page_owner) return nullptr;
    auto it = k.page_owner->records.find(pfn.value);
    return it == k.page_owner->records.end() ? nullptr : &it->second;
}

std::vector<std::pair<uint64_t, unsigned>> allocated_blocks(const Kernel& k) {
    std::vector<std::pair<uint64_t, unsigned>> out;
    const MemMap& mm = *k.mem_map;
    for (const PglistData& node : k.nodes) {
        for (const Zone& z : node.node_zones) {
            if (!z.spanned_pages) continue;
            uint64_t pfn = z.zone_start_pfn.value, end = z.zone_end_pfn().value;
            while (pfn < end) {
                const Page& p = mm[pfn];
                if (p.flags & (PG_buddy | PG_pcp)) {
                    pfn += uint64_t{1} << p.order;
                    continue;
                }
                if (p.flags & (PG_reserved | PG_hole)) {
                    pfn++;
                    continue;
                }
                // An allocated block: its record knows its order when the
                // allocation was not compound.
                unsigned order = p.test(PG_head) ? p.order : 0;
                if (const PageOwnerRecord* r = page_owner_record(k, Pfn(pfn)); r && r->allocated)
                    order = r->order;
                out.emplace_back(pfn, order);
                pfn += uint64_t{1} << order;
            }
        }
    }
    return out;
}

void validate_page_owner(const Kernel& k) {
    if (!k.page_owner_enabled) return;
    const PageOwnerState& st = *k.page_owner;
    uint64_t allocated_pages = 0;
    for (auto [pfn, order] : allocated_blocks(k)) {
        const PageOwnerRecord* r = page_owner_record(k, Pfn(pfn));
        if (!r || !r->allocated)
            throw std::logic_error(
                fmt::format("page_owner: allocated block at pfn {:#x} has no record", pfn));
        allocated_pages++;
    }
    // Every record marked allocated heads a block the walk found allocated
    // (a record inside an allocated block belongs to a split or an early
    // page and is counted by pages below).
    uint64_t recorded = 0;
    for (const auto& [pfn, r] : st.records) {
        if (!r.allocated) continue;
        const Page& p = (*k.mem_map)[pfn];
        if (p.flags & (PG_buddy | PG_pcp | PG_reserved | PG_hole))
            throw std::logic_error(
                fmt::format("page_owner: pfn {:#x} is free but its record says allocated", pfn));
        recorded++;
    }
    if (recorded < allocated_pages)
        throw std::logic_error(fmt::format("page_owner: {} allocated blocks but {} allocated records",
                                           allocated_pages, recorded));
}

}  // namespace mmsim
