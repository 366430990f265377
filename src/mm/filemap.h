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
// NR_FILE_PAGES (Cached). The files issue adds I/O, readahead, dirty pages
// and writeback on top.
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
#include "mmsim/result.h"
#include "mmsim/types.h"

namespace mmsim {

struct Vma;

struct AddressSpace {
    uint32_t id = 0;                // Page::mapping of its pages
    std::map<uint64_t, Pfn> pages;  // index -> frame (the kernel's xarray)
    std::set<Vma*> i_mmap;          // areas mapping the file
    unsigned i_mmap_writable = 0;   // shared writable mappings (mapping_map_writable)
    uint64_t nrpages() const { return pages.size(); }
};

struct Inode {
    uint64_t ino = 0;
    std::string path;
    uint64_t size = 0;                         // i_size, bytes
    uint32_t dev_major = 0xfe, dev_minor = 0;  // what /proc/PID/maps prints (fe:00 on the host)
    bool writable = true;  // opened for writing allowed (a read-only file refuses PROT_WRITE|MAP_SHARED)
    bool shmem = false;    // tmpfs/shmem: pages are swap-backed, created zeroed, never read in
    AddressSpace mapping;
};

class FileTable {
public:
    // Creates or replaces a regular file of the given size.
    Inode& create(const std::string& path, uint64_t size);
    // The unnamed shmem file behind a MAP_SHARED|MAP_ANONYMOUS mapping
    // (shmem_zero_setup()): /proc/PID/maps shows it as "/dev/zero (deleted)".
    Inode& create_shmem(uint64_t size);
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
    uint64_t m_next_ino = 131073;  // an ext4-like inode number range
};

// filemap_get_page(): the cached page at index, or none.
MaybePfn filemap_get_page(Kernel& k, Inode& inode, uint64_t index);

enum class ReadIn : uint8_t { No, Yes };
// filemap_fault()'s page: the cached page at index, or a new page read in
// (allocated with the mapping's gfp, inserted, counted in NR_FILE_PAGES;
// `read_in` tells the caller the fault was major). ENOMEM if no page could
// be allocated.
Result<Pfn> filemap_get_or_read(Kernel& k, Inode& inode, uint64_t index, ReadIn* read_in);

// Drops an unmapped, clean page from the cache (for truncation and, later,
// reclaim and drop_caches).
void filemap_remove_page(Kernel& k, Inode& inode, uint64_t index);

}  // namespace mmsim
