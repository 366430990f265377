// glibc's malloc (ptmalloc2, as shipped in glibc 2.36), modelled chunk by
// chunk.
//
// Memory is handed out in chunks. A chunk starts with two 8-byte words:
// prev_size (the size of the chunk before it, valid only while that one is
// free) and size, whose low three bits are flags: PREV_INUSE (the chunk
// before is in use), IS_MMAPPED (the chunk has its own mapping) and
// NON_MAIN_ARENA (it belongs to a thread's arena). The user's pointer is
// the chunk plus 16; a request of n bytes needs a chunk of
// max(32, align16(n + 8)) bytes, because the next chunk's prev_size word
// doubles as the last 8 bytes of this one while it is in use.
//
// An arena carves chunks out of its heap. The main arena's heap is the
// process's [heap], grown with brk: the first request moves the break by
// the request + M_TOP_PAD (128 KiB) + 32, rounded up to a page, which is
// why a fresh program's [heap] is 132 KiB. The unused end of the heap is
// the top chunk. Freed chunks go, in order of preference, to:
//
//  - the tcache: per thread, 64 singly-linked lists of up to 7 chunks, one
//    per size from 32 to 1040 bytes; no locking, no merging;
//  - the fastbins: per arena, chunks up to 128 bytes, also never merged
//    until malloc_consolidate() runs (before a large request, or when a
//    free leaves 64 KiB or more together);
//  - the unsorted bin, after merging with free neighbours (or into top).
//    malloc() looks there first and sorts what it passes over into the
//    62 small bins (one size each, below 1024 bytes) and 63 large bins
//    (ranges of sizes, kept sorted, with a skip list by size).
//
// malloc() tries the tcache, then the fastbin or small bin of the exact
// size, then walks the unsorted bin (taking an exact fit, splitting the
// last remainder for a small request), then the best-fitting bin by the
// binmap, and last the top chunk, which sysmalloc() extends with brk when
// it is short. Requests of mmap_threshold or more (128 KiB at start) get
// their own mapping instead, rounded up to pages with 8 bytes of header.
// Freeing such a chunk munmaps it, and raises the threshold to the chunk's
// size (up to 32 MiB) unless mallopt() fixed the thresholds: after
// malloc(1 MiB) and free(), the next malloc(1 MiB) comes from the heap.
// The trim threshold follows at twice the mmap threshold. When a free
// leaves the top chunk at or above it, systrim() gives memory back with a
// negative sbrk, keeping M_TOP_PAD. malloc_trim() also madvises
// MADV_DONTNEED over the whole pages inside every free chunk, which is how
// a fragmented heap returns memory without shrinking.
//
// calloc() clears only memory that may be dirty: nothing of a fresh
// mapping, and of memory just taken from the top only the part below the
// highest break the heap ever had. realloc() grows or shrinks in place
// when the neighbour allows, mremaps mapped chunks, and otherwise copies.
//
// The model runs this algorithm over the process's simulated memory: each
// word glibc reads or writes is a read or write by the calling thread (so
// headers fault pages in), and brk, mmap, munmap, mremap, mprotect and
// madvise are the simulated system calls. Bin heads, the binmap and the
// tunables live in the host (they are in libc's .data or at the start of a
// thread arena's heap, pages that are resident anyway); tcache entries are
// linked through the chunks as in glibc, with counts and heads beside.
#include "libc/malloc.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "libc/malloc_impl.h"
#include "mm/mm_struct.h"

namespace mmsim::libc {

namespace {

// tcache_key: glibc draws it at random at startup; any value that no
// program data holds works the same.
constexpr uint64_t kTcacheKey = 0x6d6d73696d746b79ull;
constexpr uint64_t kPage = 4096;

bool misaligned(uint64_t p) { return (p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK; }

void mark_bin(Arena& av, unsigned i) { av.binmap[i >> 5] |= 1u << (i & 31); }

}  // namespace

// ---- memory and system calls ----------------------------------------------------------

void Call::write_range(uint64_t addr, uint64_t len) {
    if (!len) return;
    for (uint64_t a = addr; a < addr + len; a = (a & ~(kPage - 1)) + kPage) touch(a, true);
}

void Call::read_range(uint64_t addr, uint64_t len) {
    if (!len) return;
    for (uint64_t a = addr; a < addr + len; a = (a & ~(kPage - 1)) + kPage) touch(a, false);
}

uint64_t Call::sbrk(int64_t incr) {
    MmStruct& mm = *t.mm;
    uint64_t old = mm.brk;
    if (incr == 0) return old;
    uint64_t want = old + static_cast<uint64_t>(incr);
    uint64_t got = do_brk(k, t, want);
    return got == want ? old : 0;
}

uint64_t Call::mmap(uint64_t addr, uint64_t len, unsigned prot, unsigned flags) {
    MmapArgs a;
    a.addr = addr;
    a.len = len;
    a.prot = prot;
    a.flags = flags | MAP_PRIVATE | MAP_ANONYMOUS;
    auto r = do_mmap(k, t, a);
    return r ? *r : kMapFailed;
}

void Call::munmap(uint64_t addr, uint64_t len) { (void)do_munmap(k, t, addr, len); }

bool Call::mprotect(uint64_t addr, uint64_t len, unsigned prot) {
    return static_cast<bool>(do_mprotect(k, t, addr, len, prot));
}

void Call::madvise_dontneed(uint64_t addr, uint64_t len) { (void)do_madvise(k, t, addr, len, MADV_DONTNEED); }

uint64_t Call::mremap(uint64_t addr, uint64_t old_len, uint64_t new_len) {
    auto r = do_mremap(k, t, addr, old_len, new_len, MREMAP_MAYMOVE, 0);
    return r ? *r : kMapFailed;
}

// ---- bins ------------------------------------------------------------------------------

void init_arena_state(Arena& av) {
    // malloc_init_state(): every bin empty (pointing at itself), top at the
    // unsorted bin with size 0 (initial_top).
    for (unsigned i = 1; i < NBINS; i++) av.bin_fd[i] = av.bin_bk[i] = bin_at(i);
    av.fastbins.fill(0);
    av.have_fastchunks = false;
    av.top = bin_at(1);
    av.last_remainder = 0;
    av.binmap.fill(0);
}

void unlink_chunk(Call& c, Arena& av, uint64_t p) {
    uint64_t size = c.chunksize(p);
    if (size != c.prev_size(p + size)) c.printerr("corrupted size vs. prev_size");
    uint64_t fd = c.fd(av, p), bk = c.bk(av, p);
    if (c.bk(av, fd) != p || c.fd(av, bk) != p) c.printerr("corrupted double-linked list");
    c.set_bk(av, fd, bk);
    c.set_fd(av, bk, fd);
    if (!in_smallbin_range(c.size_nomask(p)) && c.fd_nextsize(p) != 0) {
        uint64_t fdn = c.fd_nextsize(p), bkn = c.bk_nextsize(p);
        if (c.bk_nextsize(fdn) != p || c.fd_nextsize(bkn) != p)
            c.printerr("corrupted double-linked list (not small)");
        if (c.fd_nextsize(fd) == 0) {
            if (fdn == p) {
                c.set_fd_nextsize(fd, fd);
                c.set_bk_nextsize(fd, fd);
            } else {
                c.set_fd_nextsize(fd, fdn);
                c.set_bk_nextsize(fd, bkn);
                c.set_bk_nextsize(fdn, fd);
                c.set_fd_nextsize(bkn, fd);
            }
        } else {
            c.set_bk_nextsize(fdn, bkn);
            c.set_fd_nextsize(bkn, fdn);
        }
    }
}

namespace {

// Links p at the head of the unsorted bin (free() and the remainders).
void unsorted_push(Call& c, Arena& av, uint64_t p, uint64_t size, const char* corrupt) {
    uint64_t bck = bin_at(1), fwd = c.fd(av, bck);
    if (c.bk(av, fwd) != bck) c.printerr(corrupt);
    c.set_fd(av, p, fwd);
    c.set_bk(av, p, bck);
    if (!in_smallbin_range(size)) {
        c.set_fd_nextsize(p, 0);
        c.set_bk_nextsize(p, 0);
    }
    c.set_fd(av, bck, p);
    c.set_bk(av, fwd, p);
}

uint64_t non_main(const Arena& av) { return av.index ? NON_MAIN_ARENA : 0; }

// ---- tcache --------------------------------------------------------------------------------

void tcache_put(Call& c, ProcessMalloc::Thread& th, uint64_t chunk, uint64_t idx) {
    uint64_t e = chunk2mem(chunk);
    c.wr(e + 8, kTcacheKey);
    c.wr(e, th.entries[idx]);
    c.touch(th.tcache + idx * 8, true);  // counts[] and entries[] in the tcache struct
    th.entries[idx] = e;
    th.counts[idx]++;
}

uint64_t tcache_get(Call& c, ProcessMalloc::Thread& th, uint64_t idx) {
    uint64_t e = th.entries[idx];
    if (e & MALLOC_ALIGN_MASK) c.printerr("malloc(): unaligned tcache chunk detected");
    th.entries[idx] = c.rd(e);
    th.counts[idx]--;
    c.touch(th.tcache + idx * 8, true);
    c.wr(e + 8, 0);
    return e;
}

void tcache_init(Call& c) {
    ProcessMalloc::Thread& th = c.thread();
    if (th.tcache) return;
    int a = arena_get(c, TCACHE_STRUCT_SIZE);
    uint64_t victim = int_malloc(c, c.arena(a), TCACHE_STRUCT_SIZE);
    if (!victim && a >= 0) victim = int_malloc(c, c.arena(a), TCACHE_STRUCT_SIZE);
    if (victim) {
        ProcessMalloc::Thread& th2 = c.thread();
        th2.tcache = victim;
        th2.counts.fill(0);
        th2.entries.fill(0);
        c.write_range(victim, TCACHE_STRUCT_SIZE);  // memset(tcache, 0, sizeof)
    }
}

// ---- mmapped chunks --------------------------------------------------------------------------

uint64_t sysmalloc_mmap(Call& c, uint64_t nb) {
    uint64_t size = align_up(nb + SIZE_SZ, kPage);
    if (size <= nb) return 0;
    uint64_t mm = c.mmap(0, size, PROT_READ | PROT_WRITE, 0);
    if (mm == kMapFailed) return 0;
    c.set_prev_size(mm, 0);
    c.set_head(mm, size | IS_MMAPPED);
    c.mp.n_mmaps++;
    c.mp.max_n_mmaps = std::max(c.mp.max_n_mmaps, c.mp.n_mmaps);
    c.mp.mmapped_mem += size;
    c.mp.max_mmapped_mem = std::max(c.mp.max_mmapped_mem, c.mp.mmapped_mem);
    return chunk2mem(mm);
}

void munmap_chunk(Call& c, uint64_t p) {
    uint64_t size = c.chunksize(p);
    uint64_t mem = chunk2mem(p);
    uint64_t block = p - c.prev_size(p);
    uint64_t total = c.prev_size(p) + size;
    uint64_t off = mem & (kPage - 1);
    if (((block | total) & (kPage - 1)) != 0 || (off & (off - 1)) != 0)
        c.printerr("munmap_chunk(): invalid pointer");
    c.mp.n_mmaps--;
    c.mp.mmapped_mem -= total;
    c.munmap(block, total);
}

uint64_t mremap_chunk(Call& c, uint64_t p, uint64_t new_size) {
    uint64_t offset = c.prev_size(p);
    uint64_t size = c.chunksize(p);
    uint64_t block = p - offset;
    uint64_t mem = chunk2mem(p);
    uint64_t total = offset + size;
    uint64_t off = mem & (kPage - 1);
    if (((block | total) & (kPage - 1)) != 0 || (off & (off - 1)) != 0)
        c.printerr("mremap_chunk(): invalid pointer");
    new_size = align_up(new_size + offset + SIZE_SZ, kPage);
    if (total == new_size) return p;
    uint64_t cp = c.mremap(block, total, new_size);
    if (cp == kMapFailed) return 0;
    p = cp + offset;
    c.set_head(p, (new_size - offset) | IS_MMAPPED);
    c.mp.mmapped_mem += new_size - size - offset;
    c.mp.max_mmapped_mem = std::max(c.mp.max_mmapped_mem, c.mp.mmapped_mem);
    return p;
}

// ---- sysmalloc and systrim ------------------------------------------------------------------

uint64_t sysmalloc(Call& c, uint64_t nb, Arena* av) {
    bool tried_mmap = false;
    if (!av || (nb >= c.mp.mmap_threshold && c.mp.n_mmaps < c.mp.n_mmaps_max)) {
        if (uint64_t m = sysmalloc_mmap(c, nb)) return m;
        tried_mmap = true;
    }
    if (!av) return 0;

    uint64_t old_top = av->top;
    uint64_t old_size = c.chunksize(old_top);
    uint64_t old_end = old_top + old_size;

    if (av->index != 0) {
        Arena::Heap& old_heap = heap_for_ptr(c, *av, old_top);
        uint64_t old_heap_size = old_heap.size;
        if (static_cast<int64_t>(MINSIZE + nb - old_size) > 0 &&
            grow_heap(c, old_heap, static_cast<int64_t>(MINSIZE + nb - old_size)) == 0) {
            av->system_mem += old_heap.size - old_heap_size;
            c.set_head(old_top, (old_heap.base + old_heap.size - old_top) | PREV_INUSE);
        } else if (new_heap(c, *av, nb + MINSIZE + HEAP_INFO_SIZE, c.mp.top_pad)) {
            Arena::Heap& heap = av->heaps.back();
            av->system_mem += heap.size;
            av->top = heap.base + HEAP_INFO_SIZE;
            c.set_head(av->top, (heap.size - HEAP_INFO_SIZE) | PREV_INUSE);
            // Fenceposts at the end of the old heap, and its top freed.
            old_size = (old_size - MINSIZE) & ~MALLOC_ALIGN_MASK;
            c.set_head(old_top + old_size + CHUNK_HDR_SZ, 0 | PREV_INUSE);
            if (old_size >= MINSIZE) {
                c.set_head(old_top + old_size, CHUNK_HDR_SZ | PREV_INUSE);
                c.set_foot(old_top + old_size, CHUNK_HDR_SZ);
                c.set_head(old_top, old_size | PREV_INUSE | NON_MAIN_ARENA);
                int_free(c, *av, old_top);
            } else {
                c.set_head(old_top, (old_size + CHUNK_HDR_SZ) | PREV_INUSE);
                c.set_foot(old_top, old_size + CHUNK_HDR_SZ);
            }
        } else if (!tried_mmap) {
            if (uint64_t m = sysmalloc_mmap(c, nb)) return m;
        }
    } else {
        int64_t size = static_cast<int64_t>(nb + c.mp.top_pad + MINSIZE);
        if (av->contiguous) size -= static_cast<int64_t>(old_size);
        size = static_cast<int64_t>(align_up(static_cast<uint64_t>(size), kPage));
        uint64_t brk = 0, snd_brk = 0;
        bool brk_ok = false, snd_ok = false;
        if (size > 0) {
            brk = c.sbrk(size);
            brk_ok = brk != 0;
        }
        if (!brk_ok) {
            // MORECORE failed: mmap as a non-contiguous substitute.
            if (av->contiguous)
                size = static_cast<int64_t>(align_up(static_cast<uint64_t>(size) + old_size, kPage));
            if (size < static_cast<int64_t>(1 << 20)) size = 1 << 20;  // MMAP_AS_MORECORE_SIZE
            if (static_cast<uint64_t>(size) > nb) {
                uint64_t mbrk = c.mmap(0, static_cast<uint64_t>(size), PROT_READ | PROT_WRITE, 0);
                if (mbrk != kMapFailed) {
                    brk = mbrk;
                    brk_ok = true;
                    snd_brk = brk + static_cast<uint64_t>(size);
                    snd_ok = true;
                    av->contiguous = false;
                }
            }
        }
        if (brk_ok) {
            if (c.mp.sbrk_base == 0) c.mp.sbrk_base = brk;
            av->system_mem += static_cast<uint64_t>(size);
            if (brk == old_end && !snd_ok) {
                c.set_head(old_top, (static_cast<uint64_t>(size) + old_size) | PREV_INUSE);
            } else if (av->contiguous && old_size && brk < old_end) {
                c.printerr("break adjusted to free malloc space");
            } else {
                uint64_t aligned_brk = brk;
                int64_t correction = 0;
                if (av->contiguous) {
                    if (old_size) av->system_mem += brk - old_end;
                    uint64_t front = chunk2mem(brk) & MALLOC_ALIGN_MASK;
                    if (front) {
                        correction = static_cast<int64_t>(MALLOC_ALIGNMENT - front);
                        aligned_brk += static_cast<uint64_t>(correction);
                    }
                    correction += static_cast<int64_t>(old_size);
                    uint64_t end_misalign =
                        brk + static_cast<uint64_t>(size) + static_cast<uint64_t>(correction);
                    correction += static_cast<int64_t>(align_up(end_misalign, kPage) - end_misalign);
                    snd_brk = c.sbrk(correction);
                    if (correction != 0 && snd_brk == 0) {
                        correction = 0;
                        snd_brk = c.sbrk(0);
                    } else if (correction == 0) {
                        snd_brk = c.sbrk(0);
                    }
                    snd_ok = snd_brk != 0;
                } else {
                    uint64_t front = chunk2mem(brk) & MALLOC_ALIGN_MASK;
                    if (front) aligned_brk += MALLOC_ALIGNMENT - front;
                    if (!snd_ok) {
                        snd_brk = c.sbrk(0);
                        snd_ok = snd_brk != 0;
                    }
                }
                if (snd_ok) {
                    av->top = aligned_brk;
                    c.set_head(av->top,
                               (snd_brk - aligned_brk + static_cast<uint64_t>(correction)) | PREV_INUSE);
                    av->system_mem += static_cast<uint64_t>(correction);
                    if (old_size != 0) {
                        // Double fencepost where the old top was.
                        old_size = (old_size - 2 * CHUNK_HDR_SZ) & ~MALLOC_ALIGN_MASK;
                        c.set_head(old_top, old_size | PREV_INUSE);
                        c.set_head(old_top + old_size, CHUNK_HDR_SZ | PREV_INUSE);
                        c.set_head(old_top + old_size + CHUNK_HDR_SZ, CHUNK_HDR_SZ | PREV_INUSE);
                        // Past the fenceposts lies memory malloc never owned
                        // (someone else's sbrk); the checks step over it.
                        if (av->contiguous && old_top + old_size + 2 * CHUNK_HDR_SZ < aligned_brk)
                            c.pm.m_foreign[old_top + old_size + 2 * CHUNK_HDR_SZ] = aligned_brk;
                        if (old_size >= MINSIZE) int_free(c, *av, old_top);
                    }
                }
            }
        }
    }
    av->max_system_mem = std::max(av->max_system_mem, av->system_mem);

    uint64_t p = av->top;
    uint64_t size = c.chunksize(p);
    if (size >= nb + MINSIZE) {
        uint64_t remainder = p + nb;
        av->top = remainder;
        c.set_head(p, nb | PREV_INUSE | non_main(*av));
        c.set_head(remainder, (size - nb) | PREV_INUSE);
        return chunk2mem(p);
    }
    return 0;  // ENOMEM
}

int systrim(Call& c, uint64_t pad, Arena& av) {
    uint64_t top_size = c.chunksize(av.top);
    int64_t top_area = static_cast<int64_t>(top_size) - static_cast<int64_t>(MINSIZE) - 1;
    if (top_area <= static_cast<int64_t>(pad)) return 0;
    uint64_t extra = align_down(static_cast<uint64_t>(top_area) - pad, kPage);
    if (extra == 0) return 0;
    uint64_t current_brk = c.sbrk(0);
    if (current_brk == av.top + top_size) {
        c.sbrk(-static_cast<int64_t>(extra));
        uint64_t new_brk = c.sbrk(0);
        if (new_brk != 0) {
            uint64_t released = current_brk - new_brk;
            if (released != 0) {
                av.system_mem -= released;
                c.set_head(av.top, (top_size - released) | PREV_INUSE);
                return 1;
            }
        }
    }
    return 0;
}

}  // namespace

// ---- malloc_consolidate, _int_malloc, _int_free -----------------------------------------------

void malloc_consolidate(Call& c, Arena& av) {
    av.have_fastchunks = false;
    uint64_t unsorted = bin_at(1);
    for (unsigned i = 0; i < NFASTBINS; i++) {
        uint64_t p = av.fastbins[i];
        av.fastbins[i] = 0;
        while (p) {
            if (misaligned(p)) c.printerr("malloc_consolidate(): unaligned fastbin chunk detected");
            if (fastbin_index(c.chunksize(p)) != i) c.printerr("malloc_consolidate(): invalid chunk size");
            uint64_t nextp = c.rd(p + 16);
            uint64_t size = c.chunksize(p);
            uint64_t nextchunk = p + size;
            uint64_t nextsize = c.chunksize(nextchunk);
            if (!c.prev_inuse(p)) {
                uint64_t prevsize = c.prev_size(p);
                size += prevsize;
                p -= prevsize;
                if (c.chunksize(p) != prevsize) c.printerr("corrupted size vs. prev_size in fastbins");
                unlink_chunk(c, av, p);
            }
            if (nextchunk != av.top) {
                bool nextinuse = c.inuse_bit_at_offset(nextchunk, nextsize);
                if (!nextinuse) {
                    size += nextsize;
                    unlink_chunk(c, av, nextchunk);
                } else {
                    c.clear_inuse_bit_at_offset(nextchunk, 0);
                }
                uint64_t first_unsorted = c.fd(av, unsorted);
                c.set_fd(av, unsorted, p);
                c.set_bk(av, first_unsorted, p);
                if (!in_smallbin_range(size)) {
                    c.set_fd_nextsize(p, 0);
                    c.set_bk_nextsize(p, 0);
                }
                c.set_head(p, size | PREV_INUSE);
                c.set_bk(av, p, unsorted);
                c.set_fd(av, p, first_unsorted);
                c.set_foot(p, size);
            } else {
                size += nextsize;
                c.set_head(p, size | PREV_INUSE);
                av.top = p;
            }
            p = nextp;
        }
    }
}

namespace {
uint64_t int_malloc_body(Call& c, Arena& av, uint64_t bytes);
}

// _int_malloc(): every block it returns is filled first when M_PERTURB is
// set (alloc_perturb: a memset, so its pages are written). Blocks from the
// tcache are not.
uint64_t int_malloc(Call& c, Arena& av, uint64_t bytes) {
    uint64_t mem = int_malloc_body(c, av, bytes);
    if (mem && c.mp.perturb_byte) c.write_range(mem, bytes);
    return mem;
}

namespace {
uint64_t int_malloc_body(Call& c, Arena& av, uint64_t bytes) {
    if (bytes > static_cast<uint64_t>(INT64_MAX)) return 0;
    uint64_t nb = request2size(bytes);
    ProcessMalloc::Thread* th = &c.thread();
    auto tcache_on = [&] { return th->tcache != 0; };
    uint64_t tc_idx = csize2tidx(nb);
    unsigned idx = 0;

    if (nb <= c.mp.max_fast) {
        idx = fastbin_index(nb);
        uint64_t victim = av.fastbins[idx];
        if (victim) {
            if (misaligned(victim)) c.printerr("malloc(): unaligned fastbin chunk detected 2");
            av.fastbins[idx] = c.rd(victim + 16);
            if (fastbin_index(c.chunksize(victim)) != idx) c.printerr("malloc(): memory corruption (fast)");
            if (tcache_on() && tc_idx < c.mp.tcache_bins) {
                uint64_t tc_victim;
                while (th->counts[tc_idx] < c.mp.tcache_count && (tc_victim = av.fastbins[idx]) != 0) {
                    if (misaligned(tc_victim)) c.printerr("malloc(): unaligned fastbin chunk detected 3");
                    av.fastbins[idx] = c.rd(tc_victim + 16);
                    tcache_put(c, *th, tc_victim, tc_idx);
                }
            }
            return chunk2mem(victim);
        }
    }

    if (in_smallbin_range(nb)) {
        idx = smallbin_index(nb);
        uint64_t bin = bin_at(idx);
        uint64_t victim = c.bk(av, bin);
        if (victim != bin) {
            uint64_t bck = c.bk(av, victim);
            if (c.fd(av, bck) != victim) c.printerr("malloc(): smallbin double linked list corrupted");
            c.set_inuse_bit_at_offset(victim, nb);
            c.set_bk(av, bin, bck);
            c.set_fd(av, bck, bin);
            if (av.index) c.wr(victim + 8, c.size_nomask(victim) | NON_MAIN_ARENA);
            if (tcache_on() && tc_idx < c.mp.tcache_bins) {
                uint64_t tc_victim;
                while (th->counts[tc_idx] < c.mp.tcache_count && (tc_victim = c.bk(av, bin)) != bin) {
                    bck = c.bk(av, tc_victim);
                    c.set_inuse_bit_at_offset(tc_victim, nb);
                    if (av.index) c.wr(tc_victim + 8, c.size_nomask(tc_victim) | NON_MAIN_ARENA);
                    c.set_bk(av, bin, bck);
                    c.set_fd(av, bck, bin);
                    tcache_put(c, *th, tc_victim, tc_idx);
                }
            }
            return chunk2mem(victim);
        }
    } else {
        idx = largebin_index(nb);
        if (av.have_fastchunks) malloc_consolidate(c, av);
    }

    uint64_t tcache_nb = 0;
    if (tcache_on() && tc_idx < c.mp.tcache_bins) tcache_nb = nb;
    bool return_cached = false;

    for (;;) {
        int iters = 0;
        uint64_t unsorted = bin_at(1);
        uint64_t victim;
        while ((victim = c.bk(av, unsorted)) != unsorted) {
            uint64_t bck = c.bk(av, victim);
            uint64_t size = c.chunksize(victim);
            uint64_t next = victim + size;
            if (size <= CHUNK_HDR_SZ || size > av.system_mem) c.printerr("malloc(): invalid size (unsorted)");
            uint64_t next_nomask = c.size_nomask(next);
            if (next_nomask < CHUNK_HDR_SZ || next_nomask > av.system_mem)
                c.printerr("malloc(): invalid next size (unsorted)");
            if ((c.prev_size(next) & ~SIZE_BITS) != size)
                c.printerr("malloc(): mismatching next->prev_size (unsorted)");
            if (c.fd(av, bck) != victim || c.fd(av, victim) != unsorted)
                c.printerr("malloc(): unsorted double linked list corrupted");
            if (next_nomask & PREV_INUSE) c.printerr("malloc(): invalid next->prev_inuse (unsorted)");

            if (in_smallbin_range(nb) && bck == unsorted && victim == av.last_remainder &&
                size > nb + MINSIZE) {
                uint64_t remainder_size = size - nb;
                uint64_t remainder = victim + nb;
                c.set_fd(av, unsorted, remainder);
                c.set_bk(av, unsorted, remainder);
                av.last_remainder = remainder;
                c.set_fd(av, remainder, unsorted);
                c.set_bk(av, remainder, unsorted);
                if (!in_smallbin_range(remainder_size)) {
                    c.set_fd_nextsize(remainder, 0);
                    c.set_bk_nextsize(remainder, 0);
                }
                c.set_head(victim, nb | PREV_INUSE | non_main(av));
                c.set_head(remainder, remainder_size | PREV_INUSE);
                c.set_foot(remainder, remainder_size);
                return chunk2mem(victim);
            }

            if (c.fd(av, bck) != victim) c.printerr("malloc(): corrupted unsorted chunks 3");
            c.set_bk(av, unsorted, bck);
            c.set_fd(av, bck, unsorted);

            if (size == nb) {
                c.set_inuse_bit_at_offset(victim, size);
                if (av.index) c.wr(victim + 8, c.size_nomask(victim) | NON_MAIN_ARENA);
                if (tcache_nb && th->counts[tc_idx] < c.mp.tcache_count) {
                    tcache_put(c, *th, victim, tc_idx);
                    return_cached = true;
                    continue;
                }
                return chunk2mem(victim);
            }

            unsigned victim_index;
            uint64_t fwd;
            if (in_smallbin_range(size)) {
                victim_index = smallbin_index(size);
                bck = bin_at(victim_index);
                fwd = c.fd(av, bck);
            } else {
                victim_index = largebin_index(size);
                bck = bin_at(victim_index);
                fwd = c.fd(av, bck);
                if (fwd != bck) {
                    uint64_t sz = size | PREV_INUSE;
                    if (sz < c.size_nomask(c.bk(av, bck))) {
                        fwd = bck;
                        bck = c.bk(av, bck);
                        uint64_t first = c.fd(av, fwd);
                        c.set_fd_nextsize(victim, first);
                        c.set_bk_nextsize(victim, c.bk_nextsize(first));
                        uint64_t vbkn = c.bk_nextsize(victim);
                        c.set_bk_nextsize(first, victim);
                        c.set_fd_nextsize(vbkn, victim);
                    } else {
                        while (sz < c.size_nomask(fwd)) fwd = c.fd_nextsize(fwd);
                        if (sz == c.size_nomask(fwd)) {
                            fwd = c.fd(av, fwd);
                        } else {
                            c.set_fd_nextsize(victim, fwd);
                            c.set_bk_nextsize(victim, c.bk_nextsize(fwd));
                            if (c.fd_nextsize(c.bk_nextsize(fwd)) != fwd)
                                c.printerr("malloc(): largebin double linked list corrupted (nextsize)");
                            c.set_bk_nextsize(fwd, victim);
                            c.set_fd_nextsize(c.bk_nextsize(victim), victim);
                        }
                        bck = c.bk(av, fwd);
                        if (c.fd(av, bck) != fwd)
                            c.printerr("malloc(): largebin double linked list corrupted (bk)");
                    }
                } else {
                    c.set_fd_nextsize(victim, victim);
                    c.set_bk_nextsize(victim, victim);
                }
            }
            mark_bin(av, victim_index);
            c.set_bk(av, victim, bck);
            c.set_fd(av, victim, fwd);
            c.set_bk(av, fwd, victim);
            c.set_fd(av, bck, victim);

            if (++iters >= 10000) break;  // MAX_ITERS
        }

        if (return_cached) return tcache_get(c, *th, tc_idx);

        if (!in_smallbin_range(nb)) {
            uint64_t bin = bin_at(idx);
            victim = c.fd(av, bin);
            if (victim != bin && c.size_nomask(victim) >= nb) {
                victim = c.bk_nextsize(victim);
                uint64_t size;
                while ((size = c.chunksize(victim)) < nb) victim = c.bk_nextsize(victim);
                if (victim != c.bk(av, bin) && c.size_nomask(victim) == c.size_nomask(c.fd(av, victim)))
                    victim = c.fd(av, victim);
                uint64_t remainder_size = size - nb;
                unlink_chunk(c, av, victim);
                if (remainder_size < MINSIZE) {
                    c.set_inuse_bit_at_offset(victim, size);
                    if (av.index) c.wr(victim + 8, c.size_nomask(victim) | NON_MAIN_ARENA);
                } else {
                    uint64_t remainder = victim + nb;
                    unsorted_push(c, av, remainder, remainder_size, "malloc(): corrupted unsorted chunks");
                    c.set_head(victim, nb | PREV_INUSE | non_main(av));
                    c.set_head(remainder, remainder_size | PREV_INUSE);
                    c.set_foot(remainder, remainder_size);
                }
                return chunk2mem(victim);
            }
        }

        // The binmap search for the smallest bin above that holds a chunk.
        ++idx;
        unsigned block = idx >> 5;
        uint32_t map = block < BINMAPSIZE ? av.binmap[block] : 0;
        uint32_t bit = 1u << (idx & 31);
        unsigned bi = idx;
        bool use_top = block >= BINMAPSIZE;
        while (!use_top) {
            if (bit > map || bit == 0) {
                do {
                    if (++block >= BINMAPSIZE) {
                        use_top = true;
                        break;
                    }
                } while ((map = av.binmap[block]) == 0);
                if (use_top) break;
                bi = block << 5;
                bit = 1;
            }
            while ((bit & map) == 0) {
                bi++;
                bit <<= 1;
            }
            uint64_t bin = bin_at(bi);
            victim = c.bk(av, bin);
            if (victim == bin) {
                av.binmap[block] = map &= ~bit;
                bi++;
                bit <<= 1;
                continue;
            }
            uint64_t size = c.chunksize(victim);
            uint64_t remainder_size = size - nb;
            unlink_chunk(c, av, victim);
            if (remainder_size < MINSIZE) {
                c.set_inuse_bit_at_offset(victim, size);
                if (av.index) c.wr(victim + 8, c.size_nomask(victim) | NON_MAIN_ARENA);
            } else {
                uint64_t remainder = victim + nb;
                unsorted_push(c, av, remainder, remainder_size, "malloc(): corrupted unsorted chunks 2");
                if (in_smallbin_range(nb)) av.last_remainder = remainder;
                c.set_head(victim, nb | PREV_INUSE | non_main(av));
                c.set_head(remainder, remainder_size | PREV_INUSE);
                c.set_foot(remainder, remainder_size);
            }
            return chunk2mem(victim);
        }

        victim = av.top;
        uint64_t size = c.chunksize(victim);
        if (size > av.system_mem) c.printerr("malloc(): corrupted top size");
        if (size >= nb + MINSIZE) {
            uint64_t remainder = victim + nb;
            av.top = remainder;
            c.set_head(victim, nb | PREV_INUSE | non_main(av));
            c.set_head(remainder, (size - nb) | PREV_INUSE);
            return chunk2mem(victim);
        } else if (av.have_fastchunks) {
            malloc_consolidate(c, av);
            idx = in_smallbin_range(nb) ? smallbin_index(nb) : largebin_index(nb);
        } else {
            uint64_t p = sysmalloc(c, nb, &av);
            th = &c.thread();  // sysmalloc may have added a thread entry
            return p;
        }
    }
}
}  // namespace

void int_free(Call& c, Arena& av, uint64_t p) {
    uint64_t size = c.chunksize(p);
    if (p > 0 - size || misaligned(p)) c.printerr("free(): invalid pointer");
    if (size < MINSIZE || (size & MALLOC_ALIGN_MASK)) c.printerr("free(): invalid size");

    ProcessMalloc::Thread& th = c.thread();
    uint64_t tc_idx = csize2tidx(size);
    if (th.tcache && tc_idx < c.mp.tcache_bins) {
        uint64_t e = chunk2mem(p);
        if (c.rd(e + 8) == kTcacheKey) {
            uint64_t cnt = 0;
            for (uint64_t tmp = th.entries[tc_idx]; tmp; tmp = c.rd(tmp), ++cnt) {
                if (cnt >= c.mp.tcache_count) c.printerr("free(): too many chunks detected in tcache");
                if (tmp & MALLOC_ALIGN_MASK) c.printerr("free(): unaligned chunk detected in tcache 2");
                if (tmp == e) c.printerr("free(): double free detected in tcache 2");
            }
        }
        if (th.counts[tc_idx] < c.mp.tcache_count) {
            tcache_put(c, th, p, tc_idx);
            return;
        }
    }

    if (size <= c.mp.max_fast) {
        uint64_t next_nomask = c.size_nomask(p + size);
        if (next_nomask <= CHUNK_HDR_SZ || (next_nomask & ~SIZE_BITS) >= av.system_mem)
            c.printerr("free(): invalid next size (fast)");
        if (c.mp.perturb_byte) c.write_range(chunk2mem(p), size - CHUNK_HDR_SZ);  // free_perturb
        av.have_fastchunks = true;
        unsigned idx = fastbin_index(size);
        uint64_t old = av.fastbins[idx];
        if (old == p) c.printerr("double free or corruption (fasttop)");
        c.wr(p + 16, old);
        av.fastbins[idx] = p;
        if (old && fastbin_index(c.chunksize(old)) != idx) c.printerr("invalid fastbin entry (free)");
    } else if (!c.is_mmapped(p)) {
        uint64_t nextchunk = p + size;
        if (p == av.top) c.printerr("double free or corruption (top)");
        if (av.contiguous && nextchunk >= av.top + c.chunksize(av.top))
            c.printerr("double free or corruption (out)");
        if (!c.prev_inuse(nextchunk)) c.printerr("double free or corruption (!prev)");
        uint64_t nextsize = c.chunksize(nextchunk);
        if (c.size_nomask(nextchunk) <= CHUNK_HDR_SZ || nextsize >= av.system_mem)
            c.printerr("free(): invalid next size (normal)");
        if (c.mp.perturb_byte) c.write_range(chunk2mem(p), size - CHUNK_HDR_SZ);  // free_perturb
        if (!c.prev_inuse(p)) {
            uint64_t prevsize = c.prev_size(p);
            size += prevsize;
            p -= prevsize;
            if (c.chunksize(p) != prevsize) c.printerr("corrupted size vs. prev_size while consolidating");
            unlink_chunk(c, av, p);
        }
        if (nextchunk != av.top) {
            bool nextinuse = c.inuse_bit_at_offset(nextchunk, nextsize);
            if (!nextinuse) {
                unlink_chunk(c, av, nextchunk);
                size += nextsize;
            } else {
                c.clear_inuse_bit_at_offset(nextchunk, 0);
            }
            unsorted_push(c, av, p, size, "free(): corrupted unsorted chunks");
            c.set_head(p, size | PREV_INUSE);
            c.set_foot(p, size);
        } else {
            size += nextsize;
            c.set_head(p, size | PREV_INUSE);
            av.top = p;
        }
        if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
            if (av.have_fastchunks) malloc_consolidate(c, av);
            if (av.index == 0) {
                if (c.chunksize(av.top) >= c.mp.trim_threshold) systrim(c, c.mp.top_pad, av);
            } else {
                heap_trim(c, av, c.mp.top_pad);
            }
        }
    } else {
        munmap_chunk(c, p);
    }
}

namespace {

uint64_t int_realloc(Call& c, Arena& av, uint64_t oldp, uint64_t oldsize, uint64_t nb) {
    if (c.size_nomask(oldp) <= CHUNK_HDR_SZ || oldsize >= av.system_mem)
        c.printerr("realloc(): invalid old size");
    uint64_t next = oldp + oldsize;
    uint64_t nextsize = c.chunksize(next);
    if (c.size_nomask(next) <= CHUNK_HDR_SZ || nextsize >= av.system_mem)
        c.printerr("realloc(): invalid next size");
    uint64_t newp, newsize;
    if (oldsize >= nb) {
        newp = oldp;
        newsize = oldsize;
    } else if (next == av.top && (newsize = oldsize + nextsize) >= nb + MINSIZE) {
        c.set_head_size(oldp, nb | non_main(av));
        av.top = oldp + nb;
        c.set_head(av.top, (newsize - nb) | PREV_INUSE);
        return chunk2mem(oldp);
    } else if (next != av.top && !c.inuse(next) && (newsize = oldsize + nextsize) >= nb) {
        newp = oldp;
        unlink_chunk(c, av, next);
    } else {
        uint64_t newmem = int_malloc(c, av, nb - MALLOC_ALIGN_MASK);
        if (!newmem) return 0;
        newp = mem2chunk(newmem);
        newsize = c.chunksize(newp);
        if (newp == next) {
            newsize += oldsize;
            newp = oldp;
        } else {
            uint64_t copy = oldsize + SIZE_SZ - CHUNK_HDR_SZ;  // CHUNK_AVAILABLE_SIZE - CHUNK_HDR_SZ
            c.read_range(chunk2mem(oldp), copy);
            c.write_range(newmem, copy);
            int_free(c, av, oldp);
            return chunk2mem(newp);
        }
    }
    uint64_t remainder_size = newsize - nb;
    if (remainder_size < MINSIZE) {
        c.set_head_size(newp, newsize | non_main(av));
        c.set_inuse_bit_at_offset(newp, newsize);
    } else {
        uint64_t remainder = newp + nb;
        c.set_head_size(newp, nb | non_main(av));
        c.set_head(remainder, remainder_size | PREV_INUSE | non_main(av));
        c.set_inuse_bit_at_offset(remainder, remainder_size);
        int_free(c, av, remainder);
    }
    return chunk2mem(newp);
}

int mtrim(Call& c, Arena& av, uint64_t pad) {
    malloc_consolidate(c, av);
    const uint64_t psm1 = kPage - 1;
    unsigned psindex = bin_index(kPage);
    int result = 0;
    for (unsigned i = 1; i < NBINS; ++i) {
        if (i != 1 && i < psindex) continue;
        uint64_t bin = bin_at(i);
        for (uint64_t p = c.bk(av, bin); p != bin; p = c.bk(av, p)) {
            uint64_t size = c.chunksize(p);
            if (size > psm1 + 48) {  // sizeof (struct malloc_chunk)
                uint64_t paligned_mem = (p + 48 + psm1) & ~psm1;
                size -= paligned_mem - p;
                if (size > psm1) {
                    c.madvise_dontneed(paligned_mem, size & ~psm1);
                    result = 1;
                }
            }
        }
    }
    return result | (av.index == 0 ? systrim(c, pad, av) : 0);
}

void int_mallinfo(Call* c, const ProcessMalloc& pm, const Arena& av, MallInfo2& m) {
    (void)c;
    const Words& w = pm.m_words;
    auto csize = [&](uint64_t p) { return is_bin(p) ? 0 : w.get(p + 8) & ~SIZE_BITS; };
    uint64_t avail = csize(av.top);
    uint64_t nblocks = 1, nfastblocks = 0, fastavail = 0;
    for (unsigned i = 0; i < NFASTBINS; i++)
        for (uint64_t p = av.fastbins[i]; p; p = w.get(p + 16)) {
            ++nfastblocks;
            fastavail += csize(p);
        }
    avail += fastavail;
    for (unsigned i = 1; i < NBINS; i++) {
        uint64_t b = bin_at(i);
        for (uint64_t p = av.bin_bk[i]; p != b; p = w.get(p + 24)) {
            ++nblocks;
            avail += csize(p);
        }
    }
    m.smblks += nfastblocks;
    m.ordblks += nblocks;
    m.fordblks += avail;
    m.uordblks += av.system_mem - avail;
    m.arena += av.system_mem;
    m.fsmblks += fastavail;
    if (av.index == 0) {
        m.hblks = static_cast<uint64_t>(pm.mp.n_mmaps);
        m.hblkhd = pm.mp.mmapped_mem;
        m.usmblks = 0;
        m.keepcost = csize(av.top);
    }
}

}  // namespace

// ---- the public functions ----------------------------------------------------------------------

ProcessMalloc::ProcessMalloc() {
    m_arenas.emplace_back();
    init_arena_state(m_arenas[0]);
}

uint32_t ProcessMalloc::intern_site(const std::string& site) {
    // Programs allocate from the same site over and over: the last one is
    // a string comparison away.
    if (m_last_site < m_sites.size() && m_sites[m_last_site] == site) return m_last_site;
    if (auto it = m_site_index.find(site); it != m_site_index.end()) return m_last_site = it->second;
    m_last_site = static_cast<uint32_t>(m_sites.size());
    m_sites.push_back(site);
    m_site_index.emplace(site, m_last_site);
    return m_last_site;
}

std::map<uint64_t, AllocRecord> ProcessMalloc::outstanding() const {
    std::map<uint64_t, AllocRecord> out;
    m_records.for_each([&](uint64_t mem, const AllocRecord& r) { out.emplace(mem, r); });
    return out;
}

Result<uint64_t> ProcessMalloc::malloc(Kernel& k, Task& t, uint64_t bytes, const std::string& site) {
    Call c(k, t, *this);
    if (bytes > static_cast<uint64_t>(INT64_MAX)) return Errno::NOMEM;
    uint64_t tbytes = request2size(bytes);
    uint64_t tc_idx = csize2tidx(tbytes);
    tcache_init(c);
    uint64_t victim = 0;
    Thread& th = c.thread();
    if (tc_idx < mp.tcache_bins && th.tcache && th.counts[tc_idx] > 0) {
        victim = tcache_get(c, th, tc_idx);
    } else {
        int a = arena_get(c, bytes);
        victim = int_malloc(c, c.arena(a), bytes);
        if (!victim) {
            // arena_get_retry(): a thread arena falls back to main_arena.
            if (a != 0) victim = int_malloc(c, c.arena(0), bytes);
        }
    }
    if (!victim) return Errno::NOMEM;
    if (k.debug_vm) check_block(t, victim, bytes);
    m_records.put(victim, AllocRecord{bytes, intern_site(site), k.clock.now()});
    return victim;
}

void ProcessMalloc::free(Kernel& k, Task& t, uint64_t mem) {
    if (mem == 0) return;
    Call c(k, t, *this);
    uint64_t p = mem2chunk(mem);
    uint64_t sz = c.size_nomask(p);
    if (sz & IS_MMAPPED) {
        uint64_t size = sz & ~SIZE_BITS;
        if (!mp.no_dyn_threshold && sz > mp.mmap_threshold && sz <= DEFAULT_MMAP_THRESHOLD_MAX) {
            mp.mmap_threshold = size;
            mp.trim_threshold = 2 * mp.mmap_threshold;
        }
        munmap_chunk(c, p);
    } else {
        tcache_init(c);
        int a = arena_for_chunk(c, p);
        int_free(c, c.arena(a), p);
    }
    m_records.erase(mem);
}

namespace {

// _int_memalign(): a chunk big enough to hold an aligned block with room
// for a leading chunk, the leader given back (or, in a mapped chunk, only
// skipped: prev_size records it), and the tail past the block given back.
uint64_t int_memalign(Call& c, Arena& av, uint64_t alignment, uint64_t bytes) {
    uint64_t nb = request2size(bytes);
    uint64_t m = int_malloc(c, av, nb + alignment + MINSIZE);
    if (!m) return 0;
    uint64_t p = mem2chunk(m);
    const uint64_t arena_bit = av.index ? NON_MAIN_ARENA : 0;
    if (m % alignment != 0) {
        uint64_t brk = mem2chunk((m + alignment - 1) & ~(alignment - 1));
        if (brk - p < MINSIZE) brk += alignment;
        uint64_t newp = brk, leadsize = brk - p, newsize = c.chunksize(p) - leadsize;
        if (c.is_mmapped(p)) {
            c.set_prev_size(newp, c.prev_size(p) + leadsize);
            c.set_head(newp, newsize | IS_MMAPPED);
            return chunk2mem(newp);
        }
        c.set_head(newp, newsize | PREV_INUSE | arena_bit);
        c.set_inuse_bit_at_offset(newp, newsize);
        c.set_head_size(p, leadsize | arena_bit);
        int_free(c, av, p);
        p = newp;
    }
    if (!c.is_mmapped(p)) {
        uint64_t size = c.chunksize(p);
        if (size > nb + MINSIZE) {
            uint64_t remainder = p + nb;
            c.set_head(remainder, (size - nb) | PREV_INUSE | arena_bit);
            c.set_head_size(p, nb);
            int_free(c, av, remainder);
        }
    }
    return chunk2mem(p);
}

}  // namespace

Result<uint64_t> ProcessMalloc::memalign(Kernel& k, Task& t, uint64_t alignment, uint64_t bytes,
                                         const std::string& site) {
    // _mid_memalign().
    if (alignment <= MALLOC_ALIGNMENT) return malloc(k, t, bytes, site);
    if (alignment < MINSIZE) alignment = MINSIZE;
    if (alignment > (uint64_t{1} << 63)) return Errno::INVAL;
    if (!std::has_single_bit(alignment)) alignment = std::bit_ceil(alignment);
    if (bytes > static_cast<uint64_t>(INT64_MAX) - alignment - MINSIZE) return Errno::NOMEM;
    Call c(k, t, *this);
    int a = arena_get(c, bytes + alignment + MINSIZE);
    uint64_t mem = int_memalign(c, c.arena(a), alignment, bytes);
    if (!mem && a != 0) mem = int_memalign(c, c.arena(0), alignment, bytes);
    if (!mem) return Errno::NOMEM;
    if (k.debug_vm) check_block(t, mem, bytes);
    m_records.put(mem, AllocRecord{bytes, intern_site(site), k.clock.now()});
    return mem;
}

Result<uint64_t> ProcessMalloc::posix_memalign(Kernel& k, Task& t, uint64_t alignment, uint64_t bytes,
                                               const std::string& site) {
    if (alignment == 0 || alignment % 8 != 0 || !std::has_single_bit(alignment / 8)) return Errno::INVAL;
    return memalign(k, t, alignment, bytes, site);
}

Result<uint64_t> ProcessMalloc::calloc(Kernel& k, Task& t, uint64_t n, uint64_t elem,
                                       const std::string& site) {
    Call c(k, t, *this);
    if (elem && n > static_cast<uint64_t>(INT64_MAX) / elem) return Errno::NOMEM;
    uint64_t sz = n * elem;
    tcache_init(c);
    int a = arena_get(c, sz);
    Arena& av = c.arena(a);
    uint64_t oldtop = av.top;
    uint64_t oldtopsize = c.chunksize(av.top);
    if (a == 0) {
        // Only memory above the highest break the heap ever had is fresh.
        uint64_t limit = mp.sbrk_base + av.max_system_mem - oldtop;
        if (oldtopsize < limit) oldtopsize = limit;
    } else {
        Arena::Heap& h = heap_for_ptr(c, av, oldtop);
        uint64_t limit = h.base + h.mprotect_size - oldtop;
        if (oldtopsize < limit) oldtopsize = limit;
    }
    uint64_t mem = int_malloc(c, av, sz);
    if (!mem && a != 0) mem = int_malloc(c, c.arena(0), sz);
    if (!mem) return Errno::NOMEM;
    uint64_t p = mem2chunk(mem);
    if (c.is_mmapped(p)) {
        // Fresh pages are zero, unless M_PERTURB just filled them.
        if (mp.perturb_byte) c.write_range(mem, sz);
    } else {
        uint64_t csz = c.chunksize(p);
        if (mp.perturb_byte == 0 && p == oldtop && csz > oldtopsize) csz = oldtopsize;
        c.write_range(mem, csz - SIZE_SZ);
    }
    // Record it as malloc() does.
    if (k.debug_vm) check_block(t, mem, sz);
    m_records.put(mem, AllocRecord{sz, intern_site(site), k.clock.now()});
    return mem;
}

Result<uint64_t> ProcessMalloc::realloc(Kernel& k, Task& t, uint64_t oldmem, uint64_t bytes,
                                        const std::string& site) {
    if (bytes == 0 && oldmem != 0) {
        free(k, t, oldmem);
        return uint64_t{0};
    }
    if (oldmem == 0) return malloc(k, t, bytes, site);
    Call c(k, t, *this);
    uint64_t oldp = mem2chunk(oldmem);
    uint64_t oldsize = c.chunksize(oldp);
    bool mapped = c.is_mmapped(oldp);
    int a = -1;
    if (!mapped) {
        tcache_init(c);
        a = arena_for_chunk(c, oldp);
    }
    if (oldp > 0 - oldsize || misaligned(oldp)) c.printerr("realloc(): invalid pointer");
    if (bytes > static_cast<uint64_t>(INT64_MAX)) return Errno::NOMEM;
    uint64_t nb = request2size(bytes);
    uint64_t newmem = 0;
    if (mapped) {
        if (uint64_t newp = mremap_chunk(c, oldp, nb)) {
            newmem = chunk2mem(newp);
        } else if (oldsize - SIZE_SZ >= nb) {
            newmem = oldmem;
        } else {
            auto m = malloc(k, t, bytes, site);
            if (!m) return m;
            newmem = *m;
            c.read_range(oldmem, oldsize - CHUNK_HDR_SZ);
            c.write_range(newmem, oldsize - CHUNK_HDR_SZ);
            munmap_chunk(c, oldp);
        }
    } else {
        newmem = int_realloc(c, c.arena(a), oldp, oldsize, nb);
        if (!newmem) {
            auto m = malloc(k, t, bytes, site);
            if (!m) return m;
            newmem = *m;
            uint64_t copy = oldsize + SIZE_SZ - CHUNK_HDR_SZ;
            c.read_range(oldmem, copy);
            c.write_range(newmem, copy);
            int_free(c, c.arena(a), oldp);
        }
    }
    // As memleak sees it: the old block freed, a new one allocated at
    // realloc's call stack (the old one's when realloc names none).
    AllocRecord rec{bytes, intern_site(site), k.clock.now()};
    if (const AllocRecord* old = m_records.find(oldmem)) {
        if (site.empty()) rec.site = old->site;
        m_records.erase(oldmem);
    }
    if (k.debug_vm) check_block(t, newmem, bytes);
    m_records.put(newmem, rec);
    return newmem;
}

int ProcessMalloc::mallopt(Kernel& k, Task& t, int param, int64_t value) {
    Call c(k, t, *this);
    // mallopt() consolidates the main arena first (max_fast may change).
    malloc_consolidate(c, m_arenas[0]);
    uint64_t v = static_cast<uint64_t>(value);  // negative values wrap, as size_t
    switch (param) {
        case M_MXFAST:
            if (v > 80 * SIZE_SZ / 4) return 0;  // MAX_FAST_SIZE
            mp.max_fast = v == 0 ? MINSIZE / 2 : (v + SIZE_SZ) & ~MALLOC_ALIGN_MASK;
            return 1;
        case M_TRIM_THRESHOLD:
            mp.trim_threshold = v;
            mp.no_dyn_threshold = true;
            return 1;
        case M_TOP_PAD:
            mp.top_pad = v;
            mp.no_dyn_threshold = true;
            return 1;
        case M_MMAP_THRESHOLD:
            if (v > HEAP_MAX_SIZE / 2) return 0;
            mp.mmap_threshold = v;
            mp.no_dyn_threshold = true;
            return 1;
        case M_MMAP_MAX:
            mp.n_mmaps_max = static_cast<int>(value);
            mp.no_dyn_threshold = true;
            return 1;
        case M_CHECK_ACTION:
            // Heap checking moved to libc_malloc_debug.so in 2.34: accepted, no effect.
            return 1;
        case M_PERTURB:
            mp.perturb_byte = static_cast<int>(value);
            return 1;
        case M_ARENA_TEST:
            if (value > 0) mp.arena_test = v;
            return 1;
        case M_ARENA_MAX:
            if (value > 0) mp.arena_max = v;
            return 1;
        default:
            return 1;
    }
}

void ProcessMalloc::thread_freeres(Kernel& k, Task& t) {
    auto it = m_threads.find(t.pid);
    if (it == m_threads.end()) return;  // it never called malloc
    Call c(k, t, *this);
    Thread th = it->second;
    // tcache_thread_shutdown(): the tcache is gone before the frees, so
    // each chunk goes to its arena's bins (or top), as a free without a
    // tcache does; the tcache struct last.
    it->second.tcache = 0;
    if (th.tcache) {
        for (uint64_t i = 0; i < TCACHE_MAX_BINS; i++) {
            while (th.entries[i]) {
                uint64_t e = th.entries[i];
                if (e & MALLOC_ALIGN_MASK)
                    c.printerr("tcache_thread_shutdown(): unaligned tcache chunk detected");
                th.entries[i] = c.rd(e);
                uint64_t p = mem2chunk(e);
                int_free(c, c.arena(arena_for_chunk(c, p)), p);
            }
        }
        c.touch(th.tcache, false);
        uint64_t p = mem2chunk(th.tcache);
        int_free(c, c.arena(arena_for_chunk(c, p)), p);
    }
    // arena_thread_freeres().
    if (th.arena >= 0) {
        Arena& a = m_arenas[static_cast<std::size_t>(th.arena)];
        if (a.attached_threads == 0) throw std::logic_error("malloc: an arena with no attached thread");
        if (--a.attached_threads == 0) m_free_list.insert(m_free_list.begin(), th.arena);
    }
    m_threads.erase(t.pid);
}

int ProcessMalloc::malloc_trim(Kernel& k, Task& t, uint64_t pad) {
    Call c(k, t, *this);
    int result = mtrim(c, m_arenas[0], pad);
    for (std::size_t i = 1; i < m_arenas.size(); i++) result |= mtrim(c, m_arenas[i], pad);
    return result;
}

MallInfo2 ProcessMalloc::mallinfo2() const {
    MallInfo2 m;
    for (const Arena& av : m_arenas) int_mallinfo(nullptr, *this, av, m);
    return m;
}

std::string ProcessMalloc::malloc_stats() const {
    std::string out;
    uint64_t system_b = mp.mmapped_mem, in_use_b = mp.mmapped_mem;
    // The arena list runs from main_arena through the newest arena to the oldest.
    std::vector<std::size_t> order{0};
    for (std::size_t i = m_arenas.size(); i-- > 1;) order.push_back(i);
    for (std::size_t n = 0; n < order.size(); n++) {
        MallInfo2 mi;
        int_mallinfo(nullptr, *this, m_arenas[order[n]], mi);
        out += fmt::format("Arena {}:\n", n);
        out += fmt::format("system bytes     = {:>10}\n", static_cast<unsigned>(mi.arena));
        out += fmt::format("in use bytes     = {:>10}\n", static_cast<unsigned>(mi.uordblks));
        system_b += mi.arena;
        in_use_b += mi.uordblks;
    }
    out += "Total (incl. mmap):\n";
    out += fmt::format("system bytes     = {:>10}\n", static_cast<unsigned>(system_b));
    out += fmt::format("in use bytes     = {:>10}\n", static_cast<unsigned>(in_use_b));
    out += fmt::format("max mmap regions = {:>10}\n", static_cast<unsigned>(mp.max_n_mmaps));
    out += fmt::format("max mmap bytes   = {:>10}\n", mp.max_mmapped_mem);
    return out;
}

uint64_t ProcessMalloc::usable_size(uint64_t mem) const {
    if (!mem) return 0;
    uint64_t p = mem2chunk(mem);
    uint64_t sz = m_words.get(p + 8);
    uint64_t size = sz & ~SIZE_BITS;
    if (sz & IS_MMAPPED) return size - CHUNK_HDR_SZ;
    if (m_words.get(p + size + 8) & PREV_INUSE) return size - SIZE_SZ;
    return 0;
}

// ---- invariants ------------------------------------------------------------------------------

void ProcessMalloc::validate(const Kernel& k, const Task& /*leader*/) const {
    auto fail = [](const std::string& what) { throw std::logic_error("malloc: " + what); };
    (void)k;
    auto size_of = [&](uint64_t p) { return m_words.get(p + 8) & ~SIZE_BITS; };
    // Free chunks: every bin, fastbin and tcache entry.
    std::map<uint64_t, uint64_t> free_chunks;  // chunk -> size
    for (const Arena& av : m_arenas) {
        for (unsigned i = 0; i < NFASTBINS; i++)
            for (uint64_t p = av.fastbins[i]; p; p = m_words.get(p + 16)) {
                if (fastbin_index(size_of(p)) != i) fail("chunk on the wrong fastbin");
                if (!free_chunks.emplace(p, size_of(p)).second) fail("chunk twice on the free lists");
            }
        for (unsigned i = 1; i < NBINS; i++) {
            uint64_t b = bin_at(i);
            for (uint64_t p = av.bin_fd[i]; p != b; p = m_words.get(p + 16)) {
                uint64_t s = size_of(p);
                if (i > 1 && bin_index(s) != i)
                    fail(fmt::format("chunk {:#x} of size {} in bin {}", p, s, i));
                if (m_words.get(p + s) != s) fail("free chunk without its footer");
                if (!free_chunks.emplace(p, s).second) fail("chunk twice on the free lists");
            }
        }
    }
    for (const auto& [tid, th] : m_threads)
        for (unsigned i = 0; i < TCACHE_MAX_BINS; i++) {
            uint64_t n = 0;
            for (uint64_t e = th.entries[i]; e; e = m_words.get(e)) {
                uint64_t p = mem2chunk(e);
                if (csize2tidx(size_of(p)) != i) fail("chunk in the wrong tcache bin");
                if (!free_chunks.emplace(p, size_of(p)).second) fail("chunk twice on the free lists");
                n++;
            }
            if (n != th.counts[i]) fail("tcache count disagrees with its list");
        }
    // Walks the chunks from `p` up to `stop`: each has a sane size, the
    // walk lands exactly on `stop` or on a zero-size fencepost (the end of
    // a non-main arena's older heap), which must lie within `limit`.
    auto tile = [&](uint64_t p, uint64_t stop, uint64_t limit, const char* where) {
        while (p < stop) {
            if (auto f = m_foreign.find(p); f != m_foreign.end()) {
                p = f->second;
                continue;
            }
            uint64_t s = size_of(p);
            if (s == 0) {
                if (p + CHUNK_HDR_SZ > limit || limit - p > MINSIZE)
                    fail(fmt::format("{}: a fencepost at {:#x} away from the heap's end", where, p));
                return;
            }
            if ((s & MALLOC_ALIGN_MASK) || (s < MINSIZE && s != CHUNK_HDR_SZ))
                fail(fmt::format("{}: chunk {:#x} has size {}", where, p, s));
            p += s;
        }
        if (p != stop) fail(fmt::format("{}: chunks do not tile the heap up to {:#x}", where, stop));
    };
    // The main heap: chunks (and stretches of foreign sbrk) tile
    // [sbrk_base, top); what the arena got from sbrk is exactly up to the
    // top chunk's end. (The break itself may have moved since: the program
    // can call brk behind malloc's back; malloc notices at its next sbrk.)
    const Arena& main = m_arenas[0];
    if (mp.sbrk_base && !is_bin(main.top) && main.contiguous) {
        uint64_t end = main.top + size_of(main.top);
        uint64_t first = mp.sbrk_base + ((MALLOC_ALIGNMENT - (chunk2mem(mp.sbrk_base) & MALLOC_ALIGN_MASK)) &
                                         MALLOC_ALIGN_MASK);
        tile(first, main.top, main.top, "main arena");
        if (end - mp.sbrk_base != main.system_mem)
            fail(fmt::format("the main heap spans {} bytes but the arena has {} bytes of system memory",
                             end - mp.sbrk_base, main.system_mem));
    }
    // Thread arenas: each heap starts after its heap_info (and, in the
    // arena's first heap, its malloc_state); older heaps end in fenceposts,
    // the newest in the top chunk.
    for (const Arena& av : m_arenas) {
        if (av.index == 0) continue;
        uint64_t sys = 0;
        for (std::size_t h = 0; h < av.heaps.size(); h++) {
            const Arena::Heap& heap = av.heaps[h];
            sys += heap.size;
            uint64_t first = heap.base + HEAP_INFO_SIZE + (h == 0 ? MALLOC_STATE_SIZE : 0);
            first += (MALLOC_ALIGNMENT - (chunk2mem(first) & MALLOC_ALIGN_MASK)) & MALLOC_ALIGN_MASK;
            uint64_t end = heap.base + heap.size;
            std::string where = fmt::format("arena {} heap {:#x}", av.index, heap.base);
            if (h + 1 == av.heaps.size()) {
                if (av.top < heap.base || av.top + size_of(av.top) != end)
                    fail(where + ": the top chunk does not end the newest heap");
                tile(first, av.top, av.top, where.c_str());
            } else {
                tile(first, end, end, where.c_str());
            }
        }
        if (sys != av.system_mem)
            fail(fmt::format("arena {}: heaps of {} bytes but {} bytes of system memory", av.index, sys,
                             av.system_mem));
    }
    // Where each block lies is checked when it is handed out (check_block):
    // afterwards the program may unmap or protect it, as real ones do.
}

void ProcessMalloc::check_block(const Task& t, uint64_t mem, uint64_t bytes) const {
    // Every block malloc returns lies, whole, in readable and writable areas.
    uint64_t end = mem + std::max<uint64_t>(bytes, 1);
    for (uint64_t a = mem; a < end;) {
        const Vma* v = find_vma(*t.mm, a);
        if (!v || v->vm_start > a || !(v->vm_flags & VM_READ) || !(v->vm_flags & VM_WRITE))
            throw std::logic_error(
                fmt::format("malloc returned {:#x} ({} bytes), but {:#x} is not in a readable, "
                            "writable area",
                            mem, bytes, a));
        a = v->vm_end;
    }
}

void validate_malloc(const Kernel& k) {
    k.tasks->for_each([&](const Task& t) {
        if (t.is_leader() && t.mm && t.mm->libc) t.mm->libc->validate(k, t);
    });
}

std::shared_ptr<ProcessMalloc> fork_malloc(const ProcessMalloc& parent, int parent_tid, int child_pid) {
    auto child = std::make_shared<ProcessMalloc>(parent);
    ProcessMalloc::Thread me;
    if (auto it = parent.m_threads.find(parent_tid); it != parent.m_threads.end()) me = it->second;
    child->m_threads.clear();
    child->m_threads[child_pid] = me;
    child->m_free_list.clear();
    for (Arena& a : child->m_arenas) {
        if (a.index == 0) continue;
        if (a.index == me.arena) {
            a.attached_threads = 1;
        } else {
            a.attached_threads = 0;
            child->m_free_list.push_back(a.index);
        }
    }
    return child;
}

void write_block(Kernel& k, Task& t, uint64_t mem, uint64_t len) {
    Call c(k, t, process_malloc(t));
    c.write_range(mem, len);
}

ProcessMalloc& process_malloc(Task& t) {
    MmStruct& mm = *t.mm;
    if (!mm.libc) mm.libc = std::make_shared<ProcessMalloc>();
    return *mm.libc;
}

}  // namespace mmsim::libc
