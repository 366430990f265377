// /proc/sys/vm/drop_caches (fs/drop_caches.c). See dcache.h.
#include "fs/dcache.h"
#include "mm/filemap.h"
#include "mm/shrinker.h"

namespace mmsim {

uint64_t drop_pagecache_sb(Kernel& k) {
    uint64_t dropped = 0;
    std::vector<Inode*> files;
    k.files->for_each([&](const Inode& i) { files.push_back(const_cast<Inode*>(&i)); });
    for (Inode* f : files) {
        // tmpfs pages are swap-backed and the vDSO is kernel memory:
        // invalidation leaves both.
        if (f->shmem || f->kernel_pages || f->mapping.pages.empty()) continue;
        // invalidate_mapping_pages(): every clean page nobody maps or
        // holds (mapping_evict_folio()).
        std::vector<uint64_t> victims;
        for (const auto& [index, pfn] : f->mapping.pages) {
            const Page& p = k.page(pfn);
            if (p.mapcount > 0 || p.test(PG_dirty) || p.refcount > 1) continue;
            victims.push_back(index);
        }
        for (uint64_t index : victims) filemap_remove_page(k, *f, index);
        dropped += victims.size();
        // The __iget()/iput() pair around each inode: an unused inode whose
        // cache is now empty joins the LRU, or is marked referenced there.
        if (k.sb) {
            auto it = k.sb->inodes.find(f->path);
            if (it != k.sb->inodes.end() && it->second->i_count == 0) {
                it->second->i_count = 1;
                iput(k, *it->second);
            }
        }
    }
    return dropped;
}

void drop_caches(Kernel& k, int what) {
    if (what & 1) {
        drop_pagecache_sb(k);
        k.count_event(DROP_PAGECACHE);
    }
    if (what & 2) {
        drop_slab(k);
        k.count_event(DROP_SLAB);
    }
}

}  // namespace mmsim
