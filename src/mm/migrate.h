// Page migration (mm/migrate.c): moving the contents of an in-use page to
// another frame while every user keeps seeing the same data.
//
// See the essay at the top of migrate.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernel/kernel.h"
#include "mmsim/result.h"
#include "mmsim/types.h"

namespace mmsim {

// enum migrate_mode.
enum class MigrateMode : uint8_t { Async, SyncLight, Sync };

// enum migrate_reason (the ones this simulator has callers for).
enum class MigrateReason : uint8_t { Compaction, ContigRange, Syscall };

// Why a page cannot be isolated for migration (for tests and cma_alloc's
// report of the page in the way).
enum class Unmovable : uint8_t {
    None,         // movable: an LRU page the caller may isolate
    Free,         // on a buddy or pcp free list
    Reserved,     // memblock-reserved, a hole, or the zero page / vDSO
    Kernel,       // in use with no owner the kernel can move (alloc_pages, slab, page tables)
    Compound,     // a compound page (huge pages are not migrated here)
    Unevictable,  // mlocked and the caller may not move unevictable pages
    Pinned,       // more references than its mappings and the page cache explain
};

// Whether the page at pfn is an LRU page the caller could isolate:
// anonymous (owned by an anon_vma) or page cache of a file or shmem inode,
// not a kernel page, and, if mlocked, only when unevictable pages may be
// moved. Extra references are checked at migration time, as the kernel
// does (folio_migrate_mapping's refcount freeze); `check_refs` checks them
// here too (alloc_contig_range's has_unmovable_pages-style test).
Unmovable page_movability(const Kernel& k, Pfn pfn, bool allow_unevictable, bool check_refs = false);

// folio_expected_ref_count(): references the page's users account for:
// one per mapping PTE, plus the page cache's one for a file page.
uint32_t expected_page_refs(const Kernel& k, Pfn pfn);

// Result of migrate_pages(): pages moved, pages that failed, and whether
// allocating a target failed (the kernel's -ENOMEM, which ends the call).
struct MigrateResult {
    uint64_t nr_succeeded = 0;
    uint64_t nr_failed = 0;
    bool out_of_targets = false;
};

// get_new_folio / put_new_folio of migrate_pages(): the caller supplies
// targets and takes back unused ones.
using NewPageFn = std::function<MaybePfn(Pfn src)>;
using PutNewPageFn = std::function<void(Pfn dst)>;

// migrate_pages(): moves each page of `from` to a new frame from new_page.
// Moved pages leave `from` (their old frames are freed); pages that could
// not move stay in it for the caller's putback. Counts pgmigrate_success
// and pgmigrate_fail. A page with unexplained references fails with
// EAGAIN and is retried up to NR_MAX_MIGRATE_PAGES_RETRY passes, as the
// kernel retries; a missing target ends the call.
MigrateResult migrate_pages(Kernel& k, std::vector<Pfn>& from, const NewPageFn& new_page,
                            const PutNewPageFn& put_new_page, MigrateMode mode, MigrateReason reason);

// Moves one page to dst (a fresh order-0 frame with refcount 1, not yet in
// any use): the page-cache slot, every PTE (with the TLB flush), flags, map
// count, references and the node counters. Frees src on success. EAGAIN
// when src has unexplained references (pinned).
// With `batch`, entries of mms live on other CPUs are queued there for one
// flush by the caller (arch_tlbbatch_flush), as migrate_pages() does for a
// whole pass; without, they are flushed before returning.
struct TlbBatch;
Result<void> migrate_one_page(Kernel& k, Pfn src, Pfn dst, TlbBatch* batch = nullptr);

}  // namespace mmsim
