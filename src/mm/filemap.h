// The page cache's core: files and their cached pages (mm/filemap.c and
// the parts of struct inode / struct address_space the memory system uses).
//
// Every file has an address_space: an index from page offset to the page
// frame holding that part of the file, plus i_mmap, the set of areas that
// map the file (what rmap walks for a file page). A page-cache page is
// shared by everyone: read() copies from it and every process mapping the
// file maps the same frame, which is why RSS double-counts libraries and
// PSS does not.
//
// This is the part the processes issue needs: finding a page, inserting a
// new one (its contents come from the file's backing store; here reading
// costs simulated time and counts a major fault), and the counters
// NR_FILE_PAGES (Cached). The files issue adds I/O, read() readahead, dirty
// pages and writeback on top.
//
// A page fault on a file page that is not cached reads more than the one
// page (do_sync_mmap_readahead): the "read-around" window of ra_pages
// (read_ahead_kb / 4, 32 pages by default) centred on the faulting page,
// or from the page onwards under MADV_SEQUENTIAL, or just the page under
// MADV_RANDOM; an executable area reads ra_pages from the page, within
// the area. Each such fault counts a miss in the file's mmap_miss and each
// page later mapped by fault-around forgives one; past MMAP_LOTSAMISS (100)
// misses the window shrinks to the single page. The faulting access is
// then retried and fault-around maps the freshly read neighbours, which is
// why a cold read of a mapped file costs one major fault and leaves 16
// pages mapped (tests/data/host-6.18/vm/faultaround.out, case D).
//
// The kernel keeps the readahead state in the open file (struct file's
// f_ra); scenarios have no file descriptors, so every mapping of an inode
// shares one state here, as mappings of one open file do.
//
//   Inode "/usr/lib/x86_64-linux-gnu/libc.so.6"  (size 1922136)
//     AddressSpace: index 0 -> pfn 0x1a2b3, 1 -> pfn 0x1a2b4, ...
//                   i_mmap = {bash's r--p area, bash's r-xp area, dash's ...}
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/kernel.h"
#include "mm/slab_object.h"
#include "mmsim/result.h"
#include "mmsim/types.h"

namespace mmsim {

struct Vma;

struct AddressSpace {
    uint32_t id = 0;                // Page::mapping of its pages
    std::map<uint64_t, Pfn> pages;  // index -> frame (the kernel's xarray)
    // The xarray's nodes, from the radix_tree_node cache: as many as a
    // tree of 64-slot nodes holding exactly these indices has (see
    // xa_nodes_added()).
    std::vector<SlabObject> xa_nodes;
    // The buffer_heads of written pages, by page index (fs/buffer.h).
    std::unordered_map<uint64_t, std::vector<SlabObject>> buffers;
    std::set<Vma*> i_mmap;         // areas mapping the file
    unsigned i_mmap_writable = 0;  // shared writable mappings (mapping_map_writable)
    uint64_t nrpages() const { return pages.size(); }
};

struct Inode {
    uint64_t ino = 0;
    std::string path;
    uint64_t size = 0;                         // i_size, bytes
    uint32_t dev_major = 0xfe, dev_minor = 0;  // what /proc/PID/maps prints (fe:00 on the host)
    bool writable = true;  // opened for writing allowed (a read-only file refuses PROT_WRITE|MAP_SHARED)
    bool shmem = false;    // tmpfs/shmem: pages are swap-backed, created zeroed, never read in
    // The vDSO's code: kernel pages mapped by special_mapping_fault(), never
    // read from a device and not part of the page cache's Cached count.
    bool kernel_pages = false;
    unsigned ra_pages = 32;  // the backing device's read_ahead_kb / 4 (VM_READAHEAD_PAGES: 128 KiB)
    unsigned mmap_miss = 0;  // file_ra_state.mmap_miss: read-around misses not yet forgiven
    AddressSpace mapping;
    // An unnamed shmem file's kernel objects (shmem_file_setup()): its
    // inode, from shmem_inode_cache, and its pseudo dentry. A regular
    // file's dentry and inode live in the dentry cache (fs/dcache.h).
    SlabObject shmem_inode;
    SlabObject shmem_dentry;
    SlabObject shmem_security;  // the shmem inode's LSM blob (lsm_inode_cache)
};

class FileTable {
public:
    // Creates or replaces a regular file of the given size.
    Inode& create(const std::string& path, uint64_t size);
    // The unnamed shmem file behind a MAP_SHARED|MAP_ANONYMOUS mapping
    // (shmem_zero_setup()): /proc/PID/maps shows it as "/dev/zero (deleted)".
    // Its inode and dentry are charged to shmem_inode_cache and dentry.
    Inode& create_shmem(Kernel& k, uint64_t size);
    // Unnamed shmem files alive: each has one inode and one dentry, which
    // inode-nr and dentry-state count beside the root filesystem's.
    uint64_t nr_shmem() const { return m_nr_shmem; }
    // Frees an unnamed shmem file once nothing maps it (its pages too).
    void release_if_unused(Kernel& k, Inode& inode);
    Inode* find(const std::string& path);
    const Inode* find(const std::string& path) const;
    AddressSpace* mapping(uint32_t id) { return id < m_by_mapping.size() ? m_by_mapping[id] : nullptr; }
    const AddressSpace* mapping(uint32_t id) const {
        return id < m_by_mapping.size() ? m_by_mapping[id] : nullptr;
    }
    Inode* inode_of_mapping(uint32_t id) { return id < m_inode_of.size() ? m_inode_of[id] : nullptr; }
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (auto& [path, ino] : m_files) fn(*ino);
    }

private:
    std::map<std::string, std::unique_ptr<Inode>> m_files;
    std::vector<AddressSpace*> m_by_mapping{nullptr};  // id 0: none
    std::vector<Inode*> m_inode_of{nullptr};
    uint64_t m_next_ino = 131073;
    uint64_t m_nr_shmem = 0;  // an ext4-like inode number range
};

// The xarray behind a page cache (lib/xarray.c) keeps 64 slots per node
// and only the levels its largest index needs: a lone entry at index 0
// lives in the root pointer, with no node; otherwise a tree of height h
// (the smallest with every index < 64^h) has, at each level l = 1..h, one
// node per distinct index >> 6l. Nodes are freed as they empty and the
// tree shrinks when its top node only holds slot 0, so that count is exact
// at all times. Returns how many more nodes the indices `set` plus `index`
// (not in set) need than `set` alone.
uint64_t xa_nodes_added(const std::map<uint64_t, Pfn>& set, uint64_t index);

// filemap_get_page(): the cached page at index, or none.
MaybePfn filemap_get_page(Kernel& k, Inode& inode, uint64_t index);

enum class ReadIn : uint8_t { No, Yes };
// filemap_fault()'s page: the cached page at index, or a new page read in
// (allocated with the mapping's gfp, inserted, counted in NR_FILE_PAGES;
// `read_in` tells the caller the fault was major). ENOMEM if no page could
// be allocated.
Result<Pfn> filemap_get_or_read(Kernel& k, Inode& inode, uint64_t index, ReadIn* read_in);

// do_sync_mmap_readahead() for a fault at `index` of the area (whose flags
// and file range [vma_pgoff, vma_pgoff + vma_pages) are given) that missed
// the cache: reads the window the kernel would into the page cache, one
// I/O request per contiguous run of missing pages. Returns the pages read;
// ENOMEM if allocation failed before anything was read.
Result<uint64_t> filemap_sync_mmap_readahead(Kernel& k, Inode& inode, uint64_t index, uint64_t vm_flags,
                                             uint64_t vma_pgoff, uint64_t vma_pages);
// filemap_map_pages()' bookkeeping: `mapped` pages found cached by
// fault-around forgive as many read-around misses.
void filemap_forgive_mmap_miss(Inode& inode, uint64_t mapped);

// Puts an existing kernel frame at `index` of a kernel_pages inode (the
// vDSO's code pages, set up once).
void filemap_add_kernel_page(Kernel& k, Inode& inode, uint64_t index, Pfn pfn);

// Drops an unmapped, clean page from the cache (for truncation and, later,
// reclaim and drop_caches).
void filemap_remove_page(Kernel& k, Inode& inode, uint64_t index);

}  // namespace mmsim
