// The inode cache (fs/inode.c): the inode hash, iput and the inode LRU.
// See dcache.h.
#include <stdexcept>

#include "fs/dcache.h"
#include "mm/filemap.h"
#include "mm/slub.h"

namespace mmsim {

namespace {

void inode_lru_del(SuperBlock& sb, VfsInode& ino) {
    if (!ino.on_lru) return;
    sb.inode_lru[ino.node].erase(ino.lru);
    ino.on_lru = false;
}

// __inode_add_lru(): only an inode nobody holds and without page cache;
// `rotate` marks one already on the LRU as referenced.
void inode_lru_add(Kernel& k, VfsInode& ino, bool rotate) {
    if (ino.i_count || !inode_mapping_empty(k, ino)) return;
    SuperBlock& sb = *k.sb;
    if (!ino.on_lru) {
        sb.inode_lru[ino.node].push_back(&ino);
        ino.lru = std::prev(sb.inode_lru[ino.node].end());
        ino.on_lru = true;
    } else if (rotate) {
        ino.referenced = true;
    }
}

}  // namespace

bool inode_mapping_empty(const Kernel& k, const VfsInode& inode) {
    if (inode.dir) return true;
    const Inode* f = k.files->find(inode.path);
    return !f || f->mapping.pages.empty();
}

VfsInode& iget(Kernel& k, const std::string& path, bool dir, int node) {
    SuperBlock& sb = *k.sb;
    auto it = sb.inodes.find(path);
    if (it != sb.inodes.end()) {
        // Found in the hash (it may sit on the LRU: the new reference takes
        // it off lazily, when the shrinker next looks).
        return *it->second;
    }
    auto ino = std::make_unique<VfsInode>();
    ino->path = path;
    ino->dir = dir;
    // alloc_inode(): ext4_alloc_inode takes it from ext4_inode_cache on
    // the node of the allocating CPU, like the dentry that names it.
    ino->obj = SlabObject::alloc(k, &SlabState::ext4_inode_cache);
    // inode_init_always() -> security_inode_alloc(): the LSM blob.
    ino->security = SlabObject::alloc(k, &SlabState::lsm_inode_cache, GFP_NOFS);
    ino->node = ino->obj ? object_node(k, ino->obj) : node;
    VfsInode& ref = *ino;
    sb.inodes.emplace(path, std::move(ino));
    return ref;
}

void iput(Kernel& k, VfsInode& inode) {
    if (inode.i_count <= 0) throw std::logic_error("iput: inode '" + inode.path + "' not held");
    if (--inode.i_count == 0) inode_lru_add(k, inode, true);  // iput_final(): keep it cached
}

void inode_add_lru(Kernel& k, const std::string& path) {
    if (!k.sb) return;
    auto it = k.sb->inodes.find(path);
    if (it != k.sb->inodes.end()) inode_lru_add(k, *it->second, false);
}

uint64_t prune_icache_sb(Kernel& k, int nid, uint64_t nr_to_scan) {
    SuperBlock& sb = *k.sb;
    auto& lru = sb.inode_lru[nid];
    std::vector<VfsInode*> freeable;
    uint64_t isolated = 0;
    while (nr_to_scan > 0 && !lru.empty()) {
        VfsInode* ino = lru.front();
        nr_to_scan--;
        // inode_lru_isolate(): held again, or page cache came back: off the
        // LRU; referenced: one more pass; otherwise evict.
        if (ino->i_count || !inode_mapping_empty(k, *ino)) {
            inode_lru_del(sb, *ino);
            isolated++;
            continue;
        }
        if (ino->referenced) {
            ino->referenced = false;
            lru.splice(lru.end(), lru, ino->lru);
            continue;
        }
        inode_lru_del(sb, *ino);
        freeable.push_back(ino);
        isolated++;
    }
    // dispose_list(): evict() and free each (its slab object goes with it).
    for (VfsInode* ino : freeable) sb.inodes.erase(ino->path);
    return isolated;
}

uint64_t inode_count(const Kernel& k) {
    // With the inodes of unnamed shmem files (nr_inodes counts every
    // superblock's).
    return (k.sb ? k.sb->inodes.size() : 0) + (k.files ? k.files->nr_shmem() : 0);
}

uint64_t inode_unused(const Kernel& k) {
    if (!k.sb) return 0;
    uint64_t n = 0;
    for (const auto& l : k.sb->inode_lru) n += l.size();
    return n;
}

}  // namespace mmsim
