// The page-cache core (mm/filemap.c): finding, reading in and dropping a
// file's cached pages. The essay is in filemap.h.
#include "mm/filemap.h"

#include <algorithm>
#include <stdexcept>

#include "fs/buffer.h"
#include "fs/dcache.h"
#include "mm/memmap.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/slub.h"
#include "mm/swap.h"
#include "mm/vmstat.h"

namespace mmsim {

Inode& FileTable::create(const std::string& path, uint64_t size) {
    auto& slot = m_files[path];
    if (slot) {
        slot->size = size;
        return *slot;
    }
    slot = std::make_unique<Inode>();
    slot->ino = m_next_ino++;
    slot->path = path;
    slot->size = size;
    slot->mapping.id = static_cast<uint32_t>(m_by_mapping.size());
    m_by_mapping.push_back(&slot->mapping);
    m_inode_of.push_back(slot.get());
    return *slot;
}

Inode& FileTable::create_shmem(Kernel& k, uint64_t size) {
    // Each shared anonymous mapping gets its own unnamed file; the key only
    // has to be unique, the name shown is the kernel's.
    std::string key = "\x01shmem:" + std::to_string(m_next_ino);
    Inode& i = create(key, size);
    i.path = "/dev/zero (deleted)";
    i.shmem = true;
    i.dev_major = 0;
    i.dev_minor = 1;
    i.shmem_inode = SlabObject::alloc(k, &SlabState::shmem_inode_cache);
    i.shmem_dentry = SlabObject::alloc(k, &SlabState::dentry);
    i.shmem_security = SlabObject::alloc(k, &SlabState::lsm_inode_cache);
    m_nr_shmem++;
    return i;
}

void FileTable::release_if_unused(Kernel& k, Inode& inode) {
    if (!inode.shmem || !inode.mapping.i_mmap.empty()) return;
    while (!inode.mapping.pages.empty()) {
        auto it = inode.mapping.pages.begin();
        Page& p = k.page(it->second);
        if (p.mapcount) return;
        mod_node_page_state(k.nodes[pfn_zone(k, it->second).node], NR_SHMEM, -1);
        filemap_remove_page(k, inode, it->first);
    }
    for (auto it = m_files.begin(); it != m_files.end(); ++it)
        if (it->second.get() == &inode) {
            m_by_mapping[inode.mapping.id] = nullptr;
            m_inode_of[inode.mapping.id] = nullptr;
            m_nr_shmem--;
            m_files.erase(it);
            return;
        }
}

Inode* FileTable::find(const std::string& path) {
    auto it = m_files.find(path);
    return it == m_files.end() ? nullptr : it->second.get();
}

const Inode* FileTable::find(const std::string& path) const {
    auto it = m_files.find(path);
    return it == m_files.end() ? nullptr : it->second.get();
}

MaybePfn filemap_get_page(Kernel& k, Inode& inode, uint64_t index) {
    (void)k;
    auto it = inode.mapping.pages.find(index);
    if (it == inode.mapping.pages.end()) return std::nullopt;
    return it->second;
}

namespace {

unsigned xa_height(uint64_t max_index) {
    unsigned h = 1;
    while (h < 11 && (max_index >> (6 * h)) != 0) h++;
    return h;
}

// Charges or uncharges the radix_tree_node objects that inserting or
// removing `index` changes (xas_create() / xas_delete_node()).
void xa_grow(Kernel& k, AddressSpace& as, uint64_t index) {
    if (!k.slab) return;
    for (uint64_t n = xa_nodes_added(as.pages, index); n > 0; n--)
        as.xa_nodes.push_back(SlabObject::alloc(k, &SlabState::radix_tree_node));
}
void xa_shrink(Kernel& k, AddressSpace& as, uint64_t index) {
    if (!k.slab) return;
    for (uint64_t n = xa_nodes_added(as.pages, index); n > 0 && !as.xa_nodes.empty(); n--)
        as.xa_nodes.pop_back();
}

}  // namespace

uint64_t xa_nodes_added(const std::map<uint64_t, Pfn>& set, uint64_t index) {
    if (set.empty()) return index == 0 ? 0 : xa_height(index);
    const uint64_t max_old = set.rbegin()->first;
    const unsigned h_old = (set.size() == 1 && max_old == 0) ? 0 : xa_height(max_old);
    const unsigned h_new = xa_height(std::max(max_old, index));
    // New top levels: one node each, the old tree under its slot 0.
    uint64_t added = h_new - h_old;
    // A node at each level where no existing index shares the new one's
    // prefix; once one does, every higher level does too.
    for (unsigned l = 1; l <= h_new; l++) {
        const uint64_t lo = (index >> (6 * l)) << (6 * l);
        const uint64_t hi = lo + (uint64_t{1} << (6 * l)) - 1;
        auto it = set.lower_bound(lo);
        if (it != set.end() && it->first <= hi) break;
        added++;
    }
    return added;
}

namespace {

// A new page for `index`, inserted into the cache (page_cache_alloc() and
// filemap_add_folio()). Its contents are charged by the callers.
MaybePfn add_cache_page(Kernel& k, Inode& inode, uint64_t index) {
    // mapping_gfp_mask() is GFP_HIGHUSER_MOVABLE for ordinary files and
    // tmpfs; shmem pages start zeroed.
    MaybePfn pfn = alloc_pages(k, inode.shmem ? GFP_HIGHUSER_MOVABLE | __GFP_ZERO : GFP_HIGHUSER_MOVABLE, 0);
    if (!pfn) return pfn;
    Page& p = k.page(*pfn);
    p.mapping = inode.mapping.id;
    p.index = static_cast<uint32_t>(index);
    p.refcount = 1;  // the page cache's reference
    p.set(PG_uptodate);
    xa_grow(k, inode.mapping, index);
    inode.mapping.pages.emplace(index, *pfn);
    if (!inode.kernel_pages) mod_node_page_state(k.nodes[pfn_zone(k, *pfn).node], NR_FILE_PAGES, 1);
    if (inode.shmem) {
        // shmem_alloc_and_add_folio(): a new, zeroed, swap-backed page.
        p.set(PG_swapbacked);
        mod_node_page_state(k.nodes[pfn_zone(k, *pfn).node], NR_SHMEM, 1);
    }
    // filemap_add_folio() / shmem_add_to_page_cache(): onto the inactive
    // list of its type (anon for shmem, which is swap-backed).
    folio_add_lru(k, *pfn);
    return pfn;
}

uint64_t file_pages(const Inode& inode) { return (inode.size + PAGE_SIZE - 1) >> PAGE_SHIFT; }

// MMAP_LOTSAMISS: read-around stops after this many unforgiven misses.
constexpr unsigned kMmapLotsaMiss = 100;

}  // namespace

Result<Pfn> filemap_get_or_read(Kernel& k, Inode& inode, uint64_t index, ReadIn* read_in) {
    if (read_in) *read_in = ReadIn::No;
    if (MaybePfn p = filemap_get_page(k, inode, index)) return *p;
    MaybePfn pfn = add_cache_page(k, inode, index);
    if (!pfn) return Errno::NOMEM;
    if (inode.kernel_pages) return *pfn;
    if (inode.shmem) {
        k.clock.charge(k.costs.page_zero);
        return *pfn;
    }
    // Reading the page from the file's device; the files issue replaces this
    // flat cost with the block layer.
    k.clock.charge(k.costs.file_read);
    k.count_event(PGPGIN, PAGE_SIZE / 1024);
    if (read_in) *read_in = ReadIn::Yes;
    return *pfn;
}

Result<uint64_t> filemap_sync_mmap_readahead(Kernel& k, Inode& inode, uint64_t index, uint64_t vm_flags,
                                             uint64_t vma_pgoff, uint64_t vma_pages) {
    if (inode.shmem) return uint64_t{0};  // shmem_fault() reads nothing ahead
    uint64_t start = index, size = 1;
    const bool exec = vm_flags & VM_EXEC;
    if ((vm_flags & (VM_RAND_READ | VM_EXEC)) == VM_RAND_READ || inode.ra_pages == 0) {
        // No readahead: filemap_fault() reads the one page.
    } else if (vm_flags & VM_SEQ_READ) {
        // page_cache_sync_ra() from the page, ra_pages long.
        size = inode.ra_pages;
    } else {
        if (inode.mmap_miss < kMmapLotsaMiss * 10) inode.mmap_miss++;
        if (inode.mmap_miss <= kMmapLotsaMiss) {
            if (exec) {
                // Executable areas: from the page (exec_folio_order() is 0
                // on x86-64), ra_pages long, never past the area.
                start = std::max(index, vma_pgoff);
                size = std::min(start + inode.ra_pages, vma_pgoff + vma_pages) - start;
            } else {
                // mmap read-around, centred on the page.
                start = index > inode.ra_pages / 2 ? index - inode.ra_pages / 2 : 0;
                size = inode.ra_pages;
            }
        }
    }
    // page_cache_ra_unbounded() for order-0 pages: stops at the end of the
    // file, skips cached pages; each run of missing pages is one request.
    const uint64_t end = std::min(start + size, file_pages(inode));
    uint64_t read = 0;
    bool in_run = false;
    for (uint64_t i = start; i < end; i++) {
        if (filemap_get_page(k, inode, i)) {
            in_run = false;
            continue;
        }
        if (!add_cache_page(k, inode, i)) {
            if (read == 0) return Errno::NOMEM;
            break;  // readahead is best effort: the fault reads its own page
        }
        if (!in_run) k.clock.charge(k.costs.file_read);
        in_run = true;
        k.count_event(PGPGIN, PAGE_SIZE / 1024);
        read++;
    }
    return read;
}

void filemap_add_kernel_page(Kernel& k, Inode& inode, uint64_t index, Pfn pfn) {
    Page& p = k.page(pfn);
    p.mapping = inode.mapping.id;
    p.index = static_cast<uint32_t>(index);
    p.refcount = 1;  // the kernel image's reference: never freed
    p.set(PG_uptodate);
    inode.mapping.pages.emplace(index, pfn);
}

void filemap_forgive_mmap_miss(Inode& inode, uint64_t mapped) {
    inode.mmap_miss = mapped >= inode.mmap_miss ? 0 : inode.mmap_miss - static_cast<unsigned>(mapped);
}

void filemap_remove_page(Kernel& k, Inode& inode, uint64_t index) {
    auto it = inode.mapping.pages.find(index);
    if (it == inode.mapping.pages.end()) return;
    Pfn pfn = it->second;
    Page& p = k.page(pfn);
    if (p.mapcount) throw std::logic_error("filemap_remove_page: page still mapped");
    // filemap_release_folio(), which every caller runs first.
    try_to_free_buffers(inode, index);
    inode.mapping.pages.erase(it);
    xa_shrink(k, inode.mapping, index);
    if (!inode.kernel_pages) mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_FILE_PAGES, -1);
    if (p.test(PG_dirty)) {
        p.clear(PG_dirty);
        // Only written-back files count dirty pages (mark_page_dirty()).
        if (!inode.shmem) {
            mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_DIRTY, -1);
            mod_zone_page_state(pfn_zone(k, pfn), NR_ZONE_WRITE_PENDING, -1);
        }
    }
    p.mapping = 0;
    p.index = 0;
    p.clear(PG_uptodate);
    if (--p.refcount == 0) free_user_page(k, pfn);
    // An inode nobody holds may be reclaimed once its cache is empty.
    if (inode.mapping.pages.empty()) inode_add_lru(k, inode.path);
}

}  // namespace mmsim
