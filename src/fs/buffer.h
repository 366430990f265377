// Buffer heads (fs/buffer.c): the block map a disk filesystem attaches to
// a page-cache page it writes.
//
// A struct buffer_head describes one filesystem block held in a page: its
// block number on the device and its state (mapped, uptodate, dirty, ...).
// ext4 still goes through them on its buffered write paths. write(2) runs
// ext4_da_write_begin(), which calls create_empty_buffers() on a page
// without them: one buffer_head per block, so one per page with 4 KiB
// blocks. The first write through a MAP_SHARED mapping does the same from
// ext4_page_mkwrite() (block_page_mkwrite()). Reading does not: a page
// read into the cache goes through ext4_mpage_readpages(), which maps
// whole contiguous pages with a bio and no buffers. The buffers stay with
// the page, through writeback and migration (buffer_migrate_folio() moves
// them to the new page), until the page leaves the page cache: reclaim,
// drop_caches and truncation call filemap_release_folio(), whose
// try_to_free_buffers() gives them back to the buffer_head cache.
//
// That is what the host shows (tests/data/host-6.18/files): writing a
// 16 MiB file adds about 4096 active buffer_heads, reading it back after
// `drop_caches 1` adds none, and writing every page of that read-in file
// through a shared mapping adds 4096 again.
//
// Here the buffers of a page sit in its mapping's `buffers`, keyed by the
// page's index (so a page keeps them when migration moves it), and
// filemap_remove_page() frees them with the page. Not modelled: the block
// device's own page cache of metadata (bitmaps, inode tables, directory
// blocks, the journal), which meminfo's Buffers counts and which brings
// buffer_heads of its own.
#pragma once

#include <cstdint>

namespace mmsim {

class Kernel;
struct Inode;

// The filesystem's block size (ext4 as mkfs makes it: 4 KiB).
inline constexpr uint64_t EXT4_BLOCK_SIZE = 4096;

// Whether the file's pages get buffer_heads when written: an ext4 file,
// not shmem or the kernel's own pages.
bool mapping_uses_buffers(const Inode& inode);
// create_empty_buffers(): gives the cached page at `index` its buffers,
// unless it has them (write_begin, page_mkwrite).
void create_empty_buffers(Kernel& k, Inode& inode, uint64_t index);
// try_to_free_buffers(): drops the page's buffers (the page is leaving the
// page cache).
void try_to_free_buffers(Inode& inode, uint64_t index);
// Buffer heads attached to the page at `index`.
uint64_t page_buffers(const Inode& inode, uint64_t index);
// The invariants: only cached pages of files that use buffers have them.
void validate_buffers(const Kernel& k);

}  // namespace mmsim
