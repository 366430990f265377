// The page-cache core (mm/filemap.c): finding, reading in and dropping a
// file's cached pages. The essay is in filemap.h.
#include "mm/filemap.h"

#include <stdexcept>

#include "mm/memmap.h"
#include "mm/page_alloc.h"
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

Inode& FileTable::create_shmem(uint64_t size) {
    // Each shared anonymous mapping gets its own unnamed file; the key only
    // has to be unique, the name shown is the kernel's.
    std::string key = "\x01shmem:" + std::to_string(m_next_ino);
    Inode& i = create(key, size);
    i.path = "/dev/zero (deleted)";
    i.shmem = true;
    i.dev_major = 0;
    i.dev_minor = 1;
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

Result<Pfn> filemap_get_or_read(Kernel& k, Inode& inode, uint64_t index, ReadIn* read_in) {
    if (read_in) *read_in = ReadIn::No;
    if (MaybePfn p = filemap_get_page(k, inode, index)) return *p;
    // page_cache_alloc(): mapping_gfp_mask() is GFP_HIGHUSER_MOVABLE for
    // ordinary files and tmpfs; shmem pages start zeroed.
    MaybePfn pfn = alloc_pages(k, inode.shmem ? GFP_HIGHUSER_MOVABLE | __GFP_ZERO : GFP_HIGHUSER_MOVABLE, 0);
    if (!pfn) return Errno::NOMEM;
    Page& p = k.page(*pfn);
    p.mapping = inode.mapping.id;
    p.index = static_cast<uint32_t>(index);
    p.refcount = 1;  // the page cache's reference
    p.set(PG_uptodate);
    inode.mapping.pages.emplace(index, *pfn);
    mod_node_page_state(k.nodes[pfn_zone(k, *pfn).node], NR_FILE_PAGES, 1);
    if (inode.shmem) {
        // shmem_alloc_and_add_folio(): a new, zeroed, swap-backed page.
        p.set(PG_swapbacked);
        mod_node_page_state(k.nodes[pfn_zone(k, *pfn).node], NR_SHMEM, 1);
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

void filemap_remove_page(Kernel& k, Inode& inode, uint64_t index) {
    auto it = inode.mapping.pages.find(index);
    if (it == inode.mapping.pages.end()) return;
    Pfn pfn = it->second;
    Page& p = k.page(pfn);
    if (p.mapcount) throw std::logic_error("filemap_remove_page: page still mapped");
    inode.mapping.pages.erase(it);
    mod_node_page_state(k.nodes[pfn_zone(k, pfn).node], NR_FILE_PAGES, -1);
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
    if (--p.refcount == 0) free_pages(k, pfn, 0);
}

}  // namespace mmsim
