// The dentry cache (fs/dcache.c): path walks, dput, the LRU and its
// pruning. See dcache.h.
#include "fs/dcache.h"

#include <stdexcept>

#include "base/text.h"
#include "mm/filemap.h"
#include "mm/page.h"
#include "mm/page_alloc.h"
#include "mm/shrinker.h"
#include "mm/slab_track.h"
#include "mm/slub.h"

namespace mmsim {

namespace {

SuperBlock& sb_of(Kernel& k) { return *k.sb; }

std::string child_path(const Dentry& parent, const std::string& name) {
    const std::string& p = parent.inode->path;
    return p == "/" ? "/" + name : p + "/" + name;
}

// An open file holds its dentry: here, any mapping of the file.
bool file_is_open(const Kernel& k, const VfsInode* inode) {
    if (!inode || inode->dir) return false;
    const Inode* f = k.files->find(inode->path);
    return f && !f->mapping.i_mmap.empty();
}

// d_lockref.count > 0: children, pins or an open file.
bool dentry_in_use(const Kernel& k, const Dentry& d) {
    return !d.children.empty() || d.pins > 0 || file_is_open(k, d.inode);
}

void d_lru_del(SuperBlock& sb, Dentry& d) {
    if (!d.on_lru) return;
    sb.dentry_lru[d.node].erase(d.lru);
    d.on_lru = false;
}

// dput() of a dentry nobody else holds: retain_dentry() keeps it; the
// first time it joins the LRU, later it is marked referenced.
void dput(Kernel& k, Dentry& d) {
    if (dentry_in_use(k, d)) return;
    SuperBlock& sb = sb_of(k);
    if (!d.on_lru) {
        sb.dentry_lru[d.node].push_back(&d);
        d.lru = std::prev(sb.dentry_lru[d.node].end());
        d.on_lru = true;
    } else {
        d.referenced = true;
    }
}

// __dentry_kill(): unhash, drop the inode, free; returns the parent if
// this was the last thing holding it (shrink_kill() then kills it too).
Dentry* dentry_kill(Kernel& k, Dentry& d) {
    SuperBlock& sb = sb_of(k);
    d_lru_del(sb, d);
    if (d.inode) iput(k, *d.inode);
    if (d.ext_name) kfree(k, d.ext_name);  // dentry_free(): the external name goes with it
    Dentry* parent = d.parent;
    sb.nr_dentry--;
    parent->children.erase(d.name);  // frees the dentry and its slab object
    if (parent->parent && !dentry_in_use(k, *parent)) return parent;
    return nullptr;
}

}  // namespace

int object_node(Kernel& k, const SlabObject& o) {
    if (!o) return 0;
    Zone* z = k.page_zone(virt_to_pfn(o.address()));
    return z ? z->node : 0;
}

void vfs_caches_init(Kernel& k) {
    k.sb = std::make_unique<SuperBlock>();
    SuperBlock& sb = *k.sb;
    sb.dentry_lru.resize(k.nodes.size());
    sb.inode_lru.resize(k.nodes.size());
    // The root of the mounted filesystem: the mount holds its dentry.
    sb.root = std::make_unique<Dentry>();
    sb.root->name = "/";
    sb.root->obj = SlabObject::alloc(k, &SlabState::dentry);
    sb.root->node = object_node(k, sb.root->obj);
    sb.root->pins = 1;
    sb.nr_dentry = 1;
    VfsInode& ri = iget(k, "/", true, sb.root->node);
    ri.i_count++;
    sb.root->inode = &ri;

    Shrinker s;
    s.name = "super_cache_scan";
    s.seeks = DEFAULT_SEEKS;
    s.batch = 1024;  // alloc_super(): s_shrink->batch
    s.count_objects = [](Kernel& kk, int nid) { return super_cache_count(kk, nid); };
    s.scan_objects = [](Kernel& kk, int nid, gfp_t gfp, uint64_t nr) {
        return super_cache_scan(kk, nid, gfp, nr);
    };
    shrinker_register(k, std::move(s));
    reclaim_hooks(k).drop_caches = [](Kernel& kk, int what) { drop_caches(kk, what); };
}

namespace {

// d_instantiate() after the filesystem's lookup (ext4_lookup -> iget): the
// dentry names the inode of its path.
void d_instantiate(Kernel& k, const Dentry& parent, Dentry& d, bool dir) {
    VfsInode& ino = iget(k, child_path(parent, d.name), dir, d.node);
    ino.i_count++;
    d.inode = &ino;
}

// The walk of path's components; the last one is left to `last`:
// positive (it exists, or is created) or negative (it does not exist).
enum class Last { Positive, Negative };
uint64_t walk(Kernel& k, const std::string& path, bool last_is_dir, Last last) {
    if (path.empty() || path[0] != '/') throw std::logic_error("path_lookup: not an absolute path: " + path);
    SuperBlock& sb = sb_of(k);
    std::vector<std::string> parts;
    for (const std::string& p : split(path, '/'))
        if (!p.empty()) parts.push_back(p);
    Dentry* cur = sb.root.get();
    uint64_t allocated = 0;
    for (std::size_t i = 0; i < parts.size(); i++) {
        const bool final = i + 1 == parts.size();
        const bool want_inode = !final || last == Last::Positive;
        auto it = cur->children.find(parts[i]);
        if (it == cur->children.end()) {
            // d_alloc(), then the filesystem's lookup: an inode, or none
            // (a negative dentry remembers that the name does not exist).
            auto d = std::make_unique<Dentry>();
            d->name = parts[i];
            d->parent = cur;
            d->obj = SlabObject::alloc(k, &SlabState::dentry);
            d->node = object_node(k, d->obj);
            if (parts[i].size() > DNAME_INLINE_LEN - 1 && k.slab) {
                SlabTrackSite site(k, "__d_alloc");
                auto name = kmalloc(k, EXTERNAL_NAME_HEADER + parts[i].size(),
                                    GFP_KERNEL_ACCOUNT | __GFP_RECLAIMABLE);
                if (name) d->ext_name = *name;
            }
            it = cur->children.emplace(parts[i], std::move(d)).first;
            sb.nr_dentry++;
            allocated++;
        }
        Dentry& d = *it->second;
        // Creating a name a negative dentry stands for makes it positive.
        if (!d.inode && want_inode) d_instantiate(k, *cur, d, !final || last_is_dir);
        if (!d.inode) {
            dput(k, d);
            break;
        }
        cur = &d;
    }
    // The walk only steps into positive dentries: cur is the last one.
    if (cur != sb.root.get()) dput(k, *cur);
    return allocated;
}

}  // namespace

uint64_t path_lookup(Kernel& k, const std::string& path, bool last_is_dir) {
    return walk(k, path, last_is_dir, Last::Positive);
}

bool path_lookup_missing(Kernel& k, const std::string& path) {
    // A name that exists (a file created at that path) is found instead.
    if (k.files->find(path)) {
        path_lookup(k, path);
        return true;
    }
    walk(k, path, false, Last::Negative);
    return false;
}

uint64_t dentry_count(const Kernel& k) {
    // With the pseudo dentries of unnamed shmem files (d_alloc_pseudo()).
    return (k.sb ? k.sb->nr_dentry : 0) + (k.files ? k.files->nr_shmem() : 0);
}

uint64_t dentry_negative(const Kernel& k) {
    if (!k.sb) return 0;
    uint64_t n = 0;
    for (const auto& l : k.sb->dentry_lru)
        for (const Dentry* d : l) n += d->inode == nullptr;
    return n;
}

uint64_t dentry_unused(const Kernel& k) {
    if (!k.sb) return 0;
    uint64_t n = 0;
    for (const auto& l : k.sb->dentry_lru) n += l.size();
    return n;
}

uint64_t prune_dcache_sb(Kernel& k, int nid, uint64_t nr_to_scan) {
    SuperBlock& sb = sb_of(k);
    auto& lru = sb.dentry_lru[nid];
    std::vector<Dentry*> dispose;
    uint64_t isolated = 0;
    // list_lru_walk_one(): from the oldest; a rotated entry may come round
    // again while the budget lasts.
    while (nr_to_scan > 0 && !lru.empty()) {
        Dentry* d = lru.front();
        nr_to_scan--;
        if (dentry_in_use(k, *d)) {
            d_lru_del(sb, *d);  // in use: off the LRU (LRU_REMOVED)
            isolated++;
            continue;
        }
        if (d->referenced) {
            d->referenced = false;  // LRU_ROTATE: one more pass
            lru.splice(lru.end(), lru, d->lru);
            continue;
        }
        d_lru_del(sb, *d);
        dispose.push_back(d);
        isolated++;
    }
    // shrink_dentry_list(): kill each, and each parent left with nothing.
    for (Dentry* d : dispose) {
        Dentry* victim = d;
        while (victim) victim = dentry_kill(k, *victim);
    }
    return isolated;
}

void validate_dcache(const Kernel& k) {
    if (!k.sb) return;
    const SuperBlock& sb = *k.sb;
    auto fail = [](const std::string& why) { throw std::logic_error("dcache: " + why); };
    uint64_t dentries = 0, on_lru = 0;
    std::unordered_map<const VfsInode*, int> refs;
    std::vector<const Dentry*> stack{sb.root.get()};
    while (!stack.empty()) {
        const Dentry* d = stack.back();
        stack.pop_back();
        dentries++;
        if (d->on_lru) on_lru++;
        if (!d->inode) {
            if (!d->children.empty()) fail("negative dentry '" + d->name + "' has children");
        } else {
            refs[d->inode]++;
        }
        for (const auto& [name, c] : d->children) {
            if (c->parent != d) fail("child '" + name + "' has the wrong parent");
            stack.push_back(c.get());
        }
    }
    if (dentries != sb.nr_dentry) fail("nr_dentry is off");
    uint64_t lru_total = 0;
    for (std::size_t n = 0; n < sb.dentry_lru.size(); n++)
        for (const Dentry* d : sb.dentry_lru[n]) {
            lru_total++;
            if (!d->on_lru || d->node != static_cast<int>(n)) fail("a dentry on the wrong LRU");
        }
    if (lru_total != on_lru) fail("LRU membership is off");
    uint64_t inode_lru = 0;
    for (const auto& [path, ino] : sb.inodes) {
        int want = refs.count(ino.get()) ? refs[ino.get()] : 0;
        if (ino->i_count != want) fail("inode '" + path + "' count is off");
        if (ino->on_lru) {
            inode_lru++;
            if (ino->i_count) fail("inode '" + path + "' is held and on the LRU");
        }
    }
    uint64_t lru_inodes = 0;
    for (const auto& l : sb.inode_lru) lru_inodes += l.size();
    if (lru_inodes != inode_lru) fail("inode LRU membership is off");
}

}  // namespace mmsim
