// Page owner: who allocated each page (mm/page_owner.c). Essay in
// page_owner.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/gfp.h"
#include "mmsim/types.h"

namespace mmsim {

// struct page_owner, kept per block head in a side table rather than in
// the page descriptor (the kernel's page_ext is a side array too).
struct PageOwnerRecord {
    uint8_t order = 0;
    bool allocated = false;  // PAGE_EXT_OWNER_ALLOCATED
    int16_t last_migrate_reason = -1;
    gfp_t gfp_mask = 0;
    uint32_t handle = 0;  // the allocation's call stack (stacks[handle])
    int pid = 0, tgid = 0;
    int free_pid = 0, free_tgid = 0;
    Nanos ts_nsec = 0;
    Nanos free_ts_nsec = 0;
    std::string comm;
};

struct PageOwnerState {
    // By the pfn of the block's first page. Records of freed blocks stay,
    // with allocated false, until the pfn is allocated again.
    std::unordered_map<uint64_t, PageOwnerRecord> records;
    // The simulated call stack, outermost first: what the scenario command
    // or kernel function doing the allocation pushed (PageOwnerSite).
    std::vector<std::string> frames;
    // The stack depot: every distinct stack once, as printed lines.
    std::vector<std::string> stacks;
    std::unordered_map<std::string, uint32_t> stack_ids;
    uint32_t current_handle = UINT32_MAX;  // frames' handle, UINT32_MAX: not looked up yet
    uint32_t early_handle = 0;             // init_page_owner()'s dummy stack for boot pages
};

// init_page_owner(): with page_owner=on, called once boot has allocated
// what it allocates; records every block allocated so far with the early
// handle, order 0 and no gfp mask (init_early_allocated_pages()).
void init_page_owner(Kernel& k);

// __set_page_owner() / __reset_page_owner(): the page allocator calls
// these through the inline wrappers below, one predictable branch when
// page owner is off.
[[gnu::noinline]] void set_page_owner_slow(Kernel& k, Pfn pfn, unsigned order, gfp_t gfp);
[[gnu::noinline]] void reset_page_owner_slow(Kernel& k, Pfn pfn, unsigned order);
// The end of the allocator's fast paths: page owner and the debug_vm
// checks behind one test, so that with both off the paths pay one
// predictable branch and keep nothing live across a call.
[[gnu::noinline]] void alloc_debug_hooks(Kernel& k, Pfn pfn, unsigned order, gfp_t gfp);
[[gnu::noinline]] void free_debug_hooks(Kernel& k, Pfn pfn, unsigned order);
inline bool alloc_debug_on(const Kernel& k) { return k.debug_vm | k.page_owner_enabled; }
inline void set_page_owner(Kernel& k, Pfn pfn, unsigned order, gfp_t gfp) {
    if (k.page_owner_enabled) [[unlikely]]
        set_page_owner_slow(k, pfn, order, gfp);
}
inline void reset_page_owner(Kernel& k, Pfn pfn, unsigned order) {
    if (k.page_owner_enabled) [[unlikely]]
        reset_page_owner_slow(k, pfn, order);
}

// Names the code that allocates while it lives: the frame shows in the
// stack of every page allocated meanwhile. Does nothing with page owner off.
class PageOwnerSite {
public:
    PageOwnerSite(Kernel& k, std::string frame);
    ~PageOwnerSite();
    PageOwnerSite(const PageOwnerSite&) = delete;
    PageOwnerSite& operator=(const PageOwnerSite&) = delete;

private:
    PageOwnerState* m_state;
};

// The record of the block starting at pfn, or nullptr.
const PageOwnerRecord* page_owner_record(const Kernel& k, Pfn pfn);

// Every allocated block, in pfn order, as (head pfn, order): the blocks
// the buddy allocator does not hold (neither free nor on a pcp list),
// found by walking each zone. Reserved pages and holes are skipped.
std::vector<std::pair<uint64_t, unsigned>> allocated_blocks(const Kernel& k);

// page_owner=on: a record for every allocated block and none allocated
// for a free one.
void validate_page_owner(const Kernel& k);

}  // namespace mmsim
