// Open files (fs/file_table.c): struct file and the filp cache.
//
// Every open(2) makes a struct file, taken from the filp slab cache by
// alloc_empty_file() and counted in nr_files, the first number of
// /proc/sys/fs/file-nr. The file is reference-counted: the descriptor
// holds one reference, and so does every memory area that maps it
// (mmap's get_file(); a split, a forked copy or a moved area takes one
// more), and so does mm->exe_file for the program a process runs. close()
// only drops the descriptor's reference, which is why a program that
// opens a file, maps it and closes the descriptor still holds its struct
// file: the mapping does. When the last reference goes, fput() frees it
// back to the filp cache at once (the cache is SLAB_TYPESAFE_BY_RCU, so
// no RCU grace period delays the free; the deferred __fput of a user task
// runs when the task returns to user space, before anything else can
// look).
//
// A struct file names one opening, not one file: two open() calls of the
// same path make two of them. The kernel merges neighbouring mappings only
// when they use the same struct file, so two mmaps of one file through two
// opens stay separate areas even where their offsets line up.
//
// MAP_SHARED|MAP_ANONYMOUS mappings get a file too: shmem_zero_setup()
// creates an unnamed shmem file ("/dev/zero (deleted)") with its own
// struct file, shmem inode (shmem_inode_cache) and pseudo dentry, all of
// which live as long as some area maps it.
//
// files_maxfiles_init() sizes the default limit (file-max): one file with
// its inode and dentry is reckoned at about 1 KiB and files may take 10%
// of memory: (totalram - 3/2 of the pages in use at the time) * 4 / 10,
// at least NR_FILE (8192). With deferred struct page init the kernel
// computes it again in page_alloc_init_late(), when early boot's
// allocations are done; the simulator computes it once its boot is done.
// The ENFILE refusal past file-max spares CAP_SYS_ADMIN, and every
// simulated process runs as root, so nothing here refuses an open.
//
// Not modelled: file descriptor tables (files_cache), the backing files of
// overlayfs (bfilp), and the short-lived files of the loader (ld.so's
// cache and library opens are reduced to the struct files their mappings
// keep).
#pragma once

#include <cstdint>
#include <memory>

#include "mm/slab_object.h"

namespace mmsim {

class Kernel;
struct Inode;

struct File {
    File(Kernel& k, Inode& inode);
    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    Inode* inode;  // f_inode
    Kernel* kernel;
    SlabObject obj;       // from filp
    SlabObject security;  // f_security, the LSM blob (lsm_file_cache)
};

// A counted reference to a struct file (get_file / fput).
using FileRef = std::shared_ptr<File>;

// alloc_empty_file() for an open of `inode`: a new struct file.
FileRef open_file(Kernel& k, Inode& inode);

// files_maxfiles_init(): the default file-max.
void files_maxfiles_init(Kernel& k);

// The invariant: nr_files counts exactly the struct files the mappings
// and exe_files hold (each holds its filp object for as long as it lives).
void validate_files(const Kernel& k);

inline constexpr uint64_t NR_FILE = 8192;

}  // namespace mmsim
