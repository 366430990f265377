// Thread stacks, as glibc 2.36's NPTL hands them out and takes them back
// (nptl/allocatestack.c, nptl/nptl-stack.c, the end of start_thread in
// nptl/pthread_create.c).
//
// pthread_create() without a stack of the caller's gets one from
// allocate_stack(): the size asked for (RLIMIT_STACK, 8 MiB, by default)
// plus a guard page. It first looks in the process's stack cache for a
// block at least that large, taking an exact fit at once and otherwise the
// smallest that fits, unless even that is more than four times the size.
// Without one it maps guard + stack PROT_NONE and makes the stack part
// read-write with mprotect, which shows as two areas in maps.
//
// When a thread ends, start_thread() calls advise_stack_range(): everything
// from the bottom of the block up to PTHREAD_STACK_MIN (16 KiB) below the
// thread's current stack pointer, page-rounded, is given back with
// MADV_DONTNEED. The thread descriptor and TLS at the top, and the 16 KiB
// below them, stay resident. The block itself is not unmapped: once the
// thread is joined (or, detached, has exited) queue_stack() puts it at the
// head of the cache and adds its size to stack_cache_actsize; while that
// exceeds 40 MiB (__nptl_stack_cache_maxsize), free_stacks() unmaps blocks
// from the tail, the oldest first. So a program that starts and joins
// threads keeps the same VSZ, and its next thread reuses the last stack.
//
// After fork() the child has one thread; __reclaim_stacks() moves the
// stacks of the parent's other threads (copied into the child's address
// space by fork) into the child's cache.
//
// Each new stack also gets the thread's DTV (dynamic thread vector) from
// _dl_allocate_tls: a calloc of 17 16-byte entries in the creating thread's
// arena, a 288-byte chunk. It stays with the block in the cache and is
// freed when the block is unmapped.
//
// The simulated thread's stack pointer at its end is just below its
// descriptor and TLS, the two pages create_thread() writes at the top.
#include "libc/nptl_stack.h"

#include <algorithm>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "mm/mm.h"
#include "mm/mm_struct.h"

namespace mmsim::libc {

namespace {

StackCache& cache_of(MmStruct& mm) {
    if (!mm.stacks) mm.stacks = std::make_shared<StackCache>();
    return *mm.stacks;
}

// get_cached_stack().
bool get_cached_stack(StackCache& c, uint64_t size, StackBlock& out) {
    std::size_t best = c.cached.size();
    for (std::size_t i = 0; i < c.cached.size(); i++) {
        const StackBlock& b = c.cached[i];
        if (b.size < size) continue;
        if (b.size == size) {
            best = i;
            break;
        }
        if (best == c.cached.size() || c.cached[best].size > b.size) best = i;
    }
    if (best == c.cached.size() || c.cached[best].size > 4 * size) return false;
    out = c.cached[best];
    c.cached.erase(c.cached.begin() + static_cast<std::ptrdiff_t>(best));
    c.actsize -= out.size;
    return true;
}

// free_stacks(): unmap from the oldest until the cache fits the limit.
void free_stacks(Kernel& k, Task& t, StackCache& c, uint64_t limit) {
    while (!c.cached.empty() && c.actsize > limit) {
        StackBlock b = c.cached.back();
        c.cached.pop_back();
        c.actsize -= b.size;
        if (b.dtv) process_malloc(t).free(k, t, b.dtv);  // _dl_deallocate_tls
        (void)do_munmap(k, t, b.block, b.size);
    }
}

}  // namespace

StackBlock stack_block_of(const Task& t) {
    return StackBlock{t.thread_stack - PAGE_SIZE, t.thread_stack_size + PAGE_SIZE, PAGE_SIZE, t.thread_dtv};
}

Result<StackBlock> allocate_stack(Kernel& k, Task& caller, uint64_t stack_size) {
    const uint64_t guard = PAGE_SIZE;
    uint64_t size = ((stack_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) + guard;
    StackBlock b;
    if (get_cached_stack(cache_of(*caller.mm), size, b)) return b;  // its DTV is reused too
    MmapArgs a;
    a.len = size;
    a.prot = PROT_NONE;
    a.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK;
    auto mem = do_mmap(k, caller, a);
    if (!mem) return mem.error();
    if (auto r = do_mprotect(k, caller, *mem + guard, size - guard, PROT_READ | PROT_WRITE); !r) {
        (void)do_munmap(k, caller, *mem, size);
        return r.error();
    }
    // _dl_allocate_tls(): the DTV, from the caller's malloc; pthread_create
    // fails with EAGAIN without it. Every image links glibc; a bare address
    // space that runs no program (the tests' reference models) has no C
    // library to call.
    uint64_t dtv = 0;
    if (!caller.exe.empty()) {
        auto d = process_malloc(caller).calloc(k, caller, kDtvEntries, 16, "pthread_create,_dl_allocate_tls");
        if (!d) {
            (void)do_munmap(k, caller, *mem, size);
            return Errno::AGAIN;
        }
        dtv = *d;
    }
    return StackBlock{*mem, size, guard, dtv};
}

void deallocate_stack(Kernel& k, Task& t) {
    if (!t.thread_stack || !t.mm) return;
    StackBlock b = stack_block_of(t);
    // advise_stack_range(): sp is just below the descriptor pages.
    uint64_t sp = t.thread_stack + t.thread_stack_size - 2 * PAGE_SIZE;
    uint64_t freesize = (sp - b.block) & ~(PAGE_SIZE - 1);
    if (freesize > kPthreadStackMin)
        (void)do_madvise(k, t, b.block, freesize - kPthreadStackMin, MADV_DONTNEED);
    // queue_stack() and the cache's limit, in the thread that joins it:
    // the process's first thread here (its free of a DTV must not make
    // the ending thread an arena).
    Task* joiner = k.tasks->find(t.tgid);
    if (!joiner || !joiner->mm) joiner = &t;
    StackCache& c = cache_of(*t.mm);
    c.cached.insert(c.cached.begin(), b);
    c.actsize += b.size;
    if (c.actsize > kStackCacheMaxSize) free_stacks(k, *joiner, c, kStackCacheMaxSize);
    t.thread_stack = 0;
    t.thread_stack_size = 0;
    t.thread_dtv = 0;
}

void thread_end(Kernel& k, Task& t) {
    if (t.mm && t.mm->libc) t.mm->libc->thread_freeres(k, t);
    deallocate_stack(k, t);
}

std::shared_ptr<StackCache> fork_stack_cache(const StackCache* parent,
                                             const std::vector<StackBlock>& others) {
    auto c = parent ? std::make_shared<StackCache>(*parent) : std::make_shared<StackCache>();
    for (const StackBlock& b : others) {
        c->cached.insert(c->cached.begin(), b);
        c->actsize += b.size;
    }
    return c;
}

}  // namespace mmsim::libc
