// Thread stacks as glibc 2.36's NPTL manages them (nptl/allocatestack.c,
// nptl/nptl-stack.c): allocate_stack, the stack cache, and what a thread's
// end does to its stack. The essay is at the top of nptl_stack.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mmsim/result.h"

namespace mmsim {
class Kernel;
struct Task;
}  // namespace mmsim

namespace mmsim::libc {

// __nptl_stack_cache_maxsize: 40 MiB of stacks are kept for reuse.
inline constexpr uint64_t kStackCacheMaxSize = 40ull << 20;
// PTHREAD_STACK_MIN on x86-64: what advise_stack_range leaves below sp.
inline constexpr uint64_t kPthreadStackMin = 16384;

// One stack block: its mapping, the guard (at the bottom) included, and
// the thread's DTV, which _dl_allocate_tls callocs in the creating
// thread's arena and which stays allocated while the block is cached.
struct StackBlock {
    uint64_t block = 0, size = 0, guard = 0;
    uint64_t dtv = 0;
};

// The DTV: calloc(GL(dl_tls_max_dtv_idx) + DTV_SURPLUS + 2, 16), with
// libc's TLS the one module: 17 entries, 272 bytes (a 288-byte chunk).
inline constexpr uint64_t kDtvEntries = 1 + 14 + 2;

// A process's stack cache (GL(dl_stack_cache), newest first).
struct StackCache {
    std::vector<StackBlock> cached;
    uint64_t actsize = 0;  // stack_cache_actsize
};

// allocate_stack(): a cached block of a fitting size, else a new mapping
// of guard + stack (PROT_NONE, then the stack part read-write).
// The block a thread runs on (its guard page below the stack).
StackBlock stack_block_of(const Task& t);

// The caller is the thread calling pthread_create (the DTV comes from its
// arena); the mapping is made in its address space.
Result<StackBlock> allocate_stack(Kernel& k, Task& caller, uint64_t stack_size);
// The end of a thread, before the kernel's exit: advise_stack_range() gives
// back the stack below the descriptor (MADV_DONTNEED), then the block goes
// into the cache, and the oldest cached blocks are unmapped while the
// cache is over 40 MiB.
void deallocate_stack(Kernel& k, Task& t);
// The C library's part of a thread's end (start_thread after the thread
// function returns, then pthread_join): __libc_thread_freeres (malloc's
// tcache and arena), advise_stack_range, queue_stack. The kernel's exit
// follows (do_exit_thread).
void thread_end(Kernel& k, Task& t);
// fork(): the child's cache is the parent's plus the stacks of every
// parent thread but the forking one (__reclaim_stacks).
std::shared_ptr<StackCache> fork_stack_cache(const StackCache* parent, const std::vector<StackBlock>& others);

}  // namespace mmsim::libc
