// The dentry and inode caches (fs/dcache.c, fs/inode.c), the superblock
// shrinker that trims them (fs/super.c) and drop_caches (fs/drop_caches.c).
//
// Looking up a path leaves a dentry for every component in the dentry
// cache, and an inode for every dentry that names something (a negative
// dentry remembers that a name does not exist). `find /usr` on a cold
// cache therefore allocates one dentry and one inode per file it visits,
// which is why /proc/slabinfo's dentry and ext4_inode_cache lines grow
// after a directory walk and why SReclaimable (part of free's buff/cache)
// grows with them: both caches are SLAB_RECLAIM_ACCOUNT.
//
// What keeps a dentry: its reference count, which every cached child holds
// on its parent and every open file (here: every mapping of the file) on
// its own dentry. A dentry whose count falls to zero is not freed; it goes
// on its superblock's LRU (per NUMA node: the node of the dentry's slab
// page) as "unused", and a later lookup that finds it again marks it
// referenced. An inode is held by each dentry that points at it; when the
// last one goes, the inode stays in the inode hash and joins the inode LRU
// only if it has no page cache (mapping_shrinkable() on a machine without
// highmem), so cached file data keeps its inode.
//
// Memory pressure and `echo 2 > /proc/sys/vm/drop_caches` trim the LRUs
// through the superblock's shrinker (see shrinker.h): super_cache_count()
// offers the unused dentries plus unused inodes of a node, scaled by
// vfs_cache_pressure / vfs_cache_pressure_denom; super_cache_scan() splits
// each batch between the two LRUs in proportion to their lengths, plus one
// each, pruning dentries first because dentries pin inodes. The prune walks
// an LRU from its oldest entry: an entry in use leaves the LRU; a
// referenced one loses the mark and moves to the tail (one more round); the
// rest are freed. Freeing a dentry drops its inode's count (which may put
// the inode on its LRU, already marked referenced if it was there before)
// and its parent's count (which puts an unused parent on the dentry LRU),
// so drop_slab() repeats until a round frees next to nothing.
//
// drop_caches 1 (drop_pagecache_sb) drops every clean, unmapped page of
// every cached inode's page cache; an inode whose cache becomes empty and
// that nobody holds joins the inode LRU, where drop_caches 2 can free it.
//
// This simulator has one disk filesystem (ext4, mounted at /): regular
// files of the page cache (src/mm/filemap.h) and the trees of the
// `walk_tree` workload live on it, and its inodes come from
// ext4_inode_cache. A lookup of a missing name (ld.so's access() of
// /etc/ld.so.preload at every exec) leaves a negative dentry, which waits
// on the LRU like an unused one (dentry-state's nr_negative counts those)
// and turns positive if the name is created. A name of 40 bytes or more
// does not fit in the dentry and takes a kmalloc-rcl object of its own
// (see DNAME_INLINE_LEN below). Not modelled: the buffer cache that
// reading directories and inode tables fills (Buffers, buffer_head), other
// filesystems (proc,
// sysfs, tmpfs inodes), and the RCU grace period before a freed dentry or
// inode returns to its slab (frees here are immediate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/kernel.h"
#include "mm/slab_object.h"

namespace mmsim {

struct Dentry;

struct VfsInode {
    std::string path;  // the file's path: finds its page cache in FileTable
    bool dir = false;
    int i_count = 0;          // dentries pointing at it
    bool referenced = false;  // I_REFERENCED: one more pass on the LRU
    bool on_lru = false;
    int node = 0;  // the node of its memory (its LRU list)
    std::list<VfsInode*>::iterator lru;
    SlabObject obj;       // from ext4_inode_cache
    SlabObject security;  // i_security, the LSM blob (lsm_inode_cache)
};

struct Dentry {
    std::string name;
    Dentry* parent = nullptr;  // nullptr only for the root
    std::map<std::string, std::unique_ptr<Dentry>> children;
    VfsInode* inode = nullptr;
    int pins = 0;             // references other than children's (the root's mount, a cwd)
    bool referenced = false;  // DCACHE_REFERENCED
    bool on_lru = false;
    int node = 0;
    std::list<Dentry*>::iterator lru;
    SlabObject obj;         // from dentry
    uint64_t ext_name = 0;  // a name too long for d_shortname: its kmalloc'd external_name
};

// DNAME_INLINE_LEN on 64-bit (6.14+): a name of up to 39 bytes lives in
// the dentry; a longer one in a kmalloc'd struct external_name (a count,
// an rcu_head, then the bytes and a NUL: 25 + len bytes) from the
// reclaimable kmalloc caches (GFP_KERNEL_ACCOUNT | __GFP_RECLAIMABLE).
inline constexpr std::size_t DNAME_INLINE_LEN = 40;
inline constexpr std::size_t EXTERNAL_NAME_HEADER = 25;

// The superblock of the root filesystem and its two caches.
struct SuperBlock {
    std::unique_ptr<Dentry> root;
    std::unordered_map<std::string, std::unique_ptr<VfsInode>> inodes;  // the inode hash
    std::vector<std::list<Dentry*>> dentry_lru;                         // per node, oldest first
    std::vector<std::list<VfsInode*>> inode_lru;
    std::vector<int64_t> nr_deferred;  // the shrinker's deferred work, per node
    uint64_t nr_dentry = 0;            // dentries allocated (/proc/sys/fs/dentry-state)
    int64_t dentry_lru_count(int nid) const { return static_cast<int64_t>(dentry_lru[nid].size()); }
    int64_t inode_lru_count(int nid) const { return static_cast<int64_t>(inode_lru[nid].size()); }
};

// ---- dcache.cpp -------------------------------------------------------------

// The node whose memory holds a cached object (which LRU it joins); 0 for
// an uncharged one.
int object_node(Kernel& k, const SlabObject& o);

// vfs_caches_init(): the root's dentry and inode; sets the drop_caches hook.
void vfs_caches_init(Kernel& k);
// A path walk (link_path_walk + lookup_fast/lookup_slow): finds or creates
// the dentry of every component of an absolute path, each component but
// the last a directory, then releases them (dput), as stat(2) would.
// Returns the number of dentries it had to allocate.
uint64_t path_lookup(Kernel& k, const std::string& path, bool last_is_dir = false);
// A lookup of a name that does not exist (access(2) of a missing file):
// the parents' dentries, and a negative dentry for the last component,
// left unused on the LRU. Returns whether the name exists after all (a
// file created there), in which case it is an ordinary path_lookup.
bool path_lookup_missing(Kernel& k, const std::string& path);
// Dentries of a tree: allocated, and unused (on the LRU).
uint64_t dentry_count(const Kernel& k);
uint64_t dentry_unused(const Kernel& k);
// Negative dentries on the LRU (nr_dentry_negative, dentry-state's fifth
// number).
uint64_t dentry_negative(const Kernel& k);
// prune_dcache_sb(): scans up to nr_to_scan dentries of the node's LRU;
// returns the dentries freed.
uint64_t prune_dcache_sb(Kernel& k, int nid, uint64_t nr_to_scan);
// The invariants: counts, LRU membership, every inode held by its dentries.
void validate_dcache(const Kernel& k);

// ---- inode.cpp --------------------------------------------------------------

// iget_locked(): the cached inode of a path, or a new one.
VfsInode& iget(Kernel& k, const std::string& path, bool dir, int node);
// iput(): drops a dentry's reference; an unused inode without page cache
// joins the LRU (marked referenced if it was on it already).
void iput(Kernel& k, VfsInode& inode);
// inode_add_lru() after the inode's page cache became empty.
void inode_add_lru(Kernel& k, const std::string& path);
// prune_icache_sb(): scans up to nr_to_scan inodes of the node's LRU;
// returns the inodes freed.
uint64_t prune_icache_sb(Kernel& k, int nid, uint64_t nr_to_scan);
uint64_t inode_count(const Kernel& k);
uint64_t inode_unused(const Kernel& k);
// mapping_shrinkable(): no page cache (x86-64 has no highmem).
bool inode_mapping_empty(const Kernel& k, const VfsInode& inode);

// ---- super.cpp ---------------------------------------------------------------

// super_cache_count() and super_cache_scan(): the superblock's shrinker.
uint64_t super_cache_count(Kernel& k, int nid);
uint64_t super_cache_scan(Kernel& k, int nid, gfp_t gfp, uint64_t nr_to_scan);

// ---- drop_caches.cpp -----------------------------------------------------------

// drop_caches_sysctl_handler(): 1 the page cache, 2 slab objects, 3 both.
void drop_caches(Kernel& k, int what);
// drop_pagecache_sb(): returns the pages dropped.
uint64_t drop_pagecache_sb(Kernel& k);

}  // namespace mmsim
