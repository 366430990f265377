// Internal to src/libc: the machinery malloc.cpp and arena.cpp share. One
// Call is one entry into the library by one thread: it carries the
// kernel, the thread and the process's malloc, and gives glibc's chunk
// macros (chunksize, set_head, fd, ...) over the process's memory.
#pragma once

#include <string>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "mm/memory_fast.h"
#include "mm/mm.h"

namespace mmsim::libc {

// Bin heads are not in simulated memory: bin i is named by a sentinel
// address above every user address, and its fd/bk live in the Arena.
inline constexpr uint64_t kBinBase = 1ull << 63;
inline uint64_t bin_at(unsigned i) { return kBinBase + uint64_t{i} * 64; }
inline bool is_bin(uint64_t p) { return p >= kBinBase; }
inline unsigned bin_number(uint64_t p) { return static_cast<unsigned>((p - kBinBase) / 64); }

inline uint64_t request2size(uint64_t req) {
    return req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE
               ? MINSIZE
               : (req + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK;
}
inline uint64_t csize2tidx(uint64_t x) { return (x - MINSIZE + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT; }
inline unsigned fastbin_index(uint64_t sz) { return static_cast<unsigned>((sz >> 4) - 2); }
inline bool in_smallbin_range(uint64_t sz) { return sz < MIN_LARGE_SIZE; }
inline unsigned smallbin_index(uint64_t sz) { return static_cast<unsigned>(sz >> 4); }
inline unsigned largebin_index(uint64_t sz) {
    if ((sz >> 6) <= 48) return static_cast<unsigned>(48 + (sz >> 6));
    if ((sz >> 9) <= 20) return static_cast<unsigned>(91 + (sz >> 9));
    if ((sz >> 12) <= 10) return static_cast<unsigned>(110 + (sz >> 12));
    if ((sz >> 15) <= 4) return static_cast<unsigned>(119 + (sz >> 15));
    if ((sz >> 18) <= 2) return static_cast<unsigned>(124 + (sz >> 18));
    return 126;
}
inline unsigned bin_index(uint64_t sz) {
    return in_smallbin_range(sz) ? smallbin_index(sz) : largebin_index(sz);
}
inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
inline uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
inline uint64_t chunk2mem(uint64_t p) { return p + CHUNK_HDR_SZ; }
inline uint64_t mem2chunk(uint64_t m) { return m - CHUNK_HDR_SZ; }

struct Call {
    Kernel& k;
    Task& t;
    ProcessMalloc& pm;
    MallocPar& mp;

    Call(Kernel& kk, Task& tt, ProcessMalloc& p) : k(kk), t(tt), pm(p), mp(p.mp) {}

    // ---- the process's memory --------------------------------------------------
    void touch(uint64_t addr, bool write) {
        VmFault f = access_memory_inline(k, t, addr, write ? Access::Write : Access::Read);
        if (f != VmFault::Minor && f != VmFault::Major) throw MallocFault{f, addr, write};
    }
    uint64_t rd(uint64_t addr) {
        touch(addr, false);
        return pm.m_words.get(addr);
    }
    void wr(uint64_t addr, uint64_t v) {
        touch(addr, true);
        pm.m_words.set(addr, v);
    }
    // memset()/memcpy() of a range: one write per page it covers.
    void write_range(uint64_t addr, uint64_t len);
    void read_range(uint64_t addr, uint64_t len);

    // ---- chunk fields (glibc's macros) ------------------------------------------
    uint64_t size_nomask(uint64_t p) { return is_bin(p) ? 0 : rd(p + 8); }
    uint64_t chunksize(uint64_t p) { return size_nomask(p) & ~SIZE_BITS; }
    uint64_t prev_size(uint64_t p) { return rd(p); }
    void set_prev_size(uint64_t p, uint64_t v) { wr(p, v); }
    bool prev_inuse(uint64_t p) { return size_nomask(p) & PREV_INUSE; }
    bool is_mmapped(uint64_t p) { return size_nomask(p) & IS_MMAPPED; }
    void set_head(uint64_t p, uint64_t s) { wr(p + 8, s); }
    void set_head_size(uint64_t p, uint64_t s) { wr(p + 8, (size_nomask(p) & SIZE_BITS) | s); }
    void set_foot(uint64_t p, uint64_t s) { wr(p + s, s); }
    bool inuse_bit_at_offset(uint64_t p, uint64_t s) { return size_nomask(p + s) & PREV_INUSE; }
    void set_inuse_bit_at_offset(uint64_t p, uint64_t s) { wr(p + s + 8, size_nomask(p + s) | PREV_INUSE); }
    void clear_inuse_bit_at_offset(uint64_t p, uint64_t s) {
        wr(p + s + 8, size_nomask(p + s) & ~PREV_INUSE);
    }
    bool inuse(uint64_t p) { return inuse_bit_at_offset(p, chunksize(p)); }

    uint64_t fd(Arena& av, uint64_t p) { return is_bin(p) ? av.bin_fd[bin_number(p)] : rd(p + 16); }
    uint64_t bk(Arena& av, uint64_t p) { return is_bin(p) ? av.bin_bk[bin_number(p)] : rd(p + 24); }
    void set_fd(Arena& av, uint64_t p, uint64_t v) {
        if (is_bin(p))
            av.bin_fd[bin_number(p)] = v;
        else
            wr(p + 16, v);
    }
    void set_bk(Arena& av, uint64_t p, uint64_t v) {
        if (is_bin(p))
            av.bin_bk[bin_number(p)] = v;
        else
            wr(p + 24, v);
    }
    // A bin head has no nextsize links; glibc reads the neighbouring bin's
    // words there, which are never null, and the code relies only on that.
    uint64_t fd_nextsize(uint64_t p) { return is_bin(p) ? p : rd(p + 32); }
    uint64_t bk_nextsize(uint64_t p) { return is_bin(p) ? p : rd(p + 40); }
    void set_fd_nextsize(uint64_t p, uint64_t v) { wr(p + 32, v); }
    void set_bk_nextsize(uint64_t p, uint64_t v) { wr(p + 40, v); }

    [[noreturn]] void printerr(const std::string& what) { throw MallocAbort{what}; }

    // ---- system calls ------------------------------------------------------------
    // sbrk(): the old break, or 0 on failure (MORECORE_FAILURE).
    uint64_t sbrk(int64_t incr);
    uint64_t mmap(uint64_t addr, uint64_t len, unsigned prot, unsigned flags);  // ~0 on failure
    void munmap(uint64_t addr, uint64_t len);
    bool mprotect(uint64_t addr, uint64_t len, unsigned prot);
    void madvise_dontneed(uint64_t addr, uint64_t len);
    uint64_t mremap(uint64_t addr, uint64_t old_len, uint64_t new_len);  // ~0 on failure

    ProcessMalloc::Thread& thread() { return pm.m_threads[t.pid]; }
    Arena& arena(int i) { return pm.m_arenas[static_cast<std::size_t>(i)]; }
};

inline constexpr uint64_t kMapFailed = ~uint64_t{0};

// malloc.cpp
uint64_t int_malloc(Call& c, Arena& av, uint64_t bytes);
void int_free(Call& c, Arena& av, uint64_t p);
void malloc_consolidate(Call& c, Arena& av);
void unlink_chunk(Call& c, Arena& av, uint64_t p);
void init_arena_state(Arena& av);

// arena.cpp
// The thread's arena, creating or reusing one as arena_get() does.
int arena_get(Call& c, uint64_t bytes);
int arena_for_chunk(Call& c, uint64_t p);
// heap_for_ptr(): the heap of a non-main arena that holds p.
Arena::Heap& heap_for_ptr(Call& c, Arena& av, uint64_t p);
// new_heap(), grow_heap(), heap_trim() (arena.c).
bool new_heap(Call& c, Arena& av, uint64_t size, uint64_t top_pad);
int grow_heap(Call& c, Arena::Heap& h, int64_t diff);
int heap_trim(Call& c, Arena& av, uint64_t pad);

}  // namespace mmsim::libc
