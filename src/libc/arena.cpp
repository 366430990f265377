// glibc's arenas (malloc/arena.c, 2.36): where threads other than the
// first get their memory.
//
// The first thread uses main_arena, whose heap is the brk heap. Any other
// thread, on its first malloc, gets an arena of its own (arena_get2()):
// one from the free list of arenas whose threads exited, else a new one
// while there are fewer than the limit, else an existing one in round
// robin. The limit is M_ARENA_MAX if set; otherwise there is none until
// more than arena_test (8) arenas exist, and then it is 8 per online CPU.
//
// A thread arena lives in heaps of its own: each heap reserves
// HEAP_MAX_SIZE (64 MiB) of address space aligned to 64 MiB, so that
// any chunk finds its heap by masking its address. new_heap() gets the
// alignment by mapping twice that much PROT_NONE and unmapping the
// misaligned ends (keeping the second half's address for next time when
// the first half happened to be aligned), then mprotects the start
// read-write: the request + M_TOP_PAD, at least 32 KiB, in pages. The
// heap begins with its heap_info and, in the arena's first heap, the
// malloc_state, and the top chunk follows. The heap grows by mprotecting
// more of its reservation (grow_heap()) and, when full, the arena chains
// a new heap. heap_trim() frees whole heaps that became empty and gives
// back the top of the last one (madvise DONTNEED, or remapping it
// PROT_NONE when overcommit_memory is 2, so the commit charge drops too).
//
// This is what makes a threaded program's VSZ jump by 64 MiB per arena
// while its RSS barely moves.
#include <fmt/format.h>

#include "libc/malloc.h"
#include "libc/malloc_impl.h"

namespace mmsim::libc {

namespace {

constexpr uint64_t kPage = 4096;

// _int_new_arena().
int int_new_arena(Call& c, uint64_t size) {
    ProcessMalloc& pm = c.pm;
    Arena a;
    a.index = static_cast<int>(pm.m_arenas.size());
    init_arena_state(a);
    pm.m_arenas.push_back(a);
    Arena& av = pm.m_arenas.back();
    if (!new_heap(c, av, size + HEAP_INFO_SIZE + MALLOC_STATE_SIZE + MALLOC_ALIGNMENT, c.mp.top_pad) &&
        !new_heap(c, av, HEAP_INFO_SIZE + MALLOC_STATE_SIZE + MALLOC_ALIGNMENT, c.mp.top_pad)) {
        pm.m_arenas.pop_back();
        return -1;
    }
    Arena& a2 = pm.m_arenas.back();
    Arena::Heap& h = a2.heaps.back();
    a2.state = h.base + HEAP_INFO_SIZE;
    // heap_info and malloc_state are written in place.
    c.write_range(h.base, HEAP_INFO_SIZE + MALLOC_STATE_SIZE);
    a2.attached_threads = 1;
    a2.system_mem = a2.max_system_mem = h.size;
    uint64_t ptr = a2.state + MALLOC_STATE_SIZE;
    uint64_t misalign = chunk2mem(ptr) & MALLOC_ALIGN_MASK;
    if (misalign) ptr += MALLOC_ALIGNMENT - misalign;
    a2.top = ptr;
    c.set_head(ptr, (h.base + h.size - ptr) | PREV_INUSE);
    // Newest arenas go right after main_arena in the list.
    pm.m_list.insert(pm.m_list.begin() + 1, a2.index);
    c.thread().arena = a2.index;
    return a2.index;
}

int reused_arena(Call& c, int avoid) {
    ProcessMalloc& pm = c.pm;
    // Without contention every trylock succeeds: the next in line.
    int result = pm.m_next_to_use;
    if (result == avoid) result = pm.next_in_list(result);
    // Taken from the free list if it was there.
    std::erase(pm.m_free_list, result);
    pm.m_arenas[static_cast<std::size_t>(result)].attached_threads++;
    c.thread().arena = result;
    pm.m_next_to_use = pm.next_in_list(result);
    return result;
}

int arena_get2(Call& c, uint64_t size, int avoid) {
    ProcessMalloc& pm = c.pm;
    if (!pm.m_free_list.empty()) {
        int a = pm.m_free_list.front();
        pm.m_free_list.erase(pm.m_free_list.begin());
        pm.m_arenas[static_cast<std::size_t>(a)].attached_threads = 1;
        c.thread().arena = a;
        return a;
    }
    if (pm.m_narenas_limit == 0) {
        if (c.mp.arena_max != 0) {
            pm.m_narenas_limit = c.mp.arena_max;
        } else if (pm.m_narenas > c.mp.arena_test) {
            uint64_t n = c.k.cpus.size();
            pm.m_narenas_limit = (n >= 1 ? n : 2) * 8;  // NARENAS_FROM_NCORES on 64-bit
        }
    }
    if (pm.m_narenas <= pm.m_narenas_limit - 1) {
        pm.m_narenas++;
        int a = int_new_arena(c, size);
        if (a < 0) pm.m_narenas--;
        return a;
    }
    return reused_arena(c, avoid);
}

int shrink_heap(Call& c, Arena::Heap& h, uint64_t diff) {
    int64_t new_size = static_cast<int64_t>(h.size) - static_cast<int64_t>(diff);
    if (new_size < static_cast<int64_t>(HEAP_INFO_SIZE)) return -1;
    // check_may_shrink_heap(): with overcommit_memory 2 the tail is
    // remapped PROT_NONE so that it stops counting against the limit.
    if (c.k.vm.overcommit_memory == 2) {
        if (c.mmap(h.base + static_cast<uint64_t>(new_size), diff, PROT_NONE, MAP_FIXED) == kMapFailed)
            return -2;
        h.mprotect_size = static_cast<uint64_t>(new_size);
    } else {
        c.madvise_dontneed(h.base + static_cast<uint64_t>(new_size), diff);
    }
    h.size = static_cast<uint64_t>(new_size);
    return 0;
}

}  // namespace

int ProcessMalloc::next_in_list(int a) const {
    for (std::size_t i = 0; i < m_list.size(); i++)
        if (m_list[i] == a) return m_list[(i + 1) % m_list.size()];
    return 0;
}

int arena_get(Call& c, uint64_t bytes) {
    ProcessMalloc::Thread& th = c.thread();
    if (th.arena >= 0) return th.arena;
    // ptmalloc_init() gave the first thread main_arena.
    if (c.t.pid == c.t.tgid) return th.arena = 0;
    int a = arena_get2(c, bytes, -1);
    return a < 0 ? 0 : a;
}

Arena::Heap& heap_for_ptr(Call& c, Arena& av, uint64_t p) {
    uint64_t base = p & ~(HEAP_MAX_SIZE - 1);
    for (Arena::Heap& h : av.heaps)
        if (h.base == base) return h;
    c.printerr("heap_for_ptr(): chunk outside the arena's heaps");
}

int arena_for_chunk(Call& c, uint64_t p) {
    if (!(c.size_nomask(p) & NON_MAIN_ARENA)) return 0;
    uint64_t base = p & ~(HEAP_MAX_SIZE - 1);
    for (const Arena& av : c.pm.m_arenas)
        for (const Arena::Heap& h : av.heaps)
            if (h.base == base) return av.index;
    c.printerr("free(): invalid pointer");
}

bool new_heap(Call& c, Arena& av, uint64_t size, uint64_t top_pad) {
    if (size + top_pad < HEAP_MIN_SIZE)
        size = HEAP_MIN_SIZE;
    else if (size + top_pad <= HEAP_MAX_SIZE)
        size += top_pad;
    else if (size > HEAP_MAX_SIZE)
        return false;
    else
        size = HEAP_MAX_SIZE;
    size = align_up(size, kPage);

    uint64_t p2 = kMapFailed;
    ProcessMalloc& pm = c.pm;
    if (pm.m_aligned_heap_area) {
        p2 = c.mmap(pm.m_aligned_heap_area, HEAP_MAX_SIZE, PROT_NONE, MAP_NORESERVE);
        pm.m_aligned_heap_area = 0;
        if (p2 != kMapFailed && (p2 & (HEAP_MAX_SIZE - 1))) {
            c.munmap(p2, HEAP_MAX_SIZE);
            p2 = kMapFailed;
        }
    }
    if (p2 == kMapFailed) {
        uint64_t p1 = c.mmap(0, HEAP_MAX_SIZE << 1, PROT_NONE, MAP_NORESERVE);
        if (p1 != kMapFailed) {
            p2 = align_up(p1, HEAP_MAX_SIZE);
            uint64_t ul = p2 - p1;
            if (ul)
                c.munmap(p1, ul);
            else
                pm.m_aligned_heap_area = p2 + HEAP_MAX_SIZE;
            c.munmap(p2 + HEAP_MAX_SIZE, HEAP_MAX_SIZE - ul);
        } else {
            p2 = c.mmap(0, HEAP_MAX_SIZE, PROT_NONE, MAP_NORESERVE);
            if (p2 == kMapFailed) return false;
            if (p2 & (HEAP_MAX_SIZE - 1)) {
                c.munmap(p2, HEAP_MAX_SIZE);
                return false;
            }
        }
    }
    if (!c.mprotect(p2, size, PROT_READ | PROT_WRITE)) {
        c.munmap(p2, HEAP_MAX_SIZE);
        return false;
    }
    av.heaps.push_back(Arena::Heap{p2, size, size});
    c.write_range(p2, HEAP_INFO_SIZE);  // heap_info
    return true;
}

int grow_heap(Call& c, Arena::Heap& h, int64_t diff) {
    diff = static_cast<int64_t>(align_up(static_cast<uint64_t>(diff), kPage));
    uint64_t new_size = h.size + static_cast<uint64_t>(diff);
    if (new_size > HEAP_MAX_SIZE) return -1;
    if (new_size > h.mprotect_size) {
        if (!c.mprotect(h.base + h.mprotect_size, new_size - h.mprotect_size, PROT_READ | PROT_WRITE))
            return -2;
        h.mprotect_size = new_size;
    }
    h.size = new_size;
    return 0;
}

int heap_trim(Call& c, Arena& av, uint64_t pad) {
    uint64_t top_chunk = av.top;
    Arena::Heap* heap = &heap_for_ptr(c, av, top_chunk);
    // Can this heap go away completely?
    while (av.heaps.size() > 1 && top_chunk == heap->base + HEAP_INFO_SIZE) {
        Arena::Heap& prev_heap = av.heaps[av.heaps.size() - 2];
        uint64_t prev_size = prev_heap.size - (MINSIZE - 2 * SIZE_SZ);
        uint64_t p = prev_heap.base + prev_size;
        uint64_t misalign = p & MALLOC_ALIGN_MASK;
        p = prev_heap.base + prev_size - misalign;
        if (c.size_nomask(p) != (0 | PREV_INUSE)) c.printerr("heap_trim(): fencepost expected");
        p -= c.prev_size(p);  // prev_chunk(p)
        uint64_t new_size = c.chunksize(p) + (MINSIZE - 2 * SIZE_SZ) + misalign;
        if (!c.prev_inuse(p)) new_size += c.prev_size(p);
        if (new_size + (HEAP_MAX_SIZE - prev_heap.size) < pad + MINSIZE + kPage) break;
        av.system_mem -= heap->size;
        uint64_t base = heap->base;
        if (base + HEAP_MAX_SIZE == c.pm.m_aligned_heap_area) c.pm.m_aligned_heap_area = 0;
        c.munmap(base, HEAP_MAX_SIZE);
        av.heaps.pop_back();
        heap = &av.heaps.back();
        if (!c.prev_inuse(p)) {
            p -= c.prev_size(p);
            unlink_chunk(c, av, p);
        }
        av.top = top_chunk = p;
        c.set_head(top_chunk, new_size | PREV_INUSE);
    }
    uint64_t top_size = c.chunksize(top_chunk);
    if (top_size < c.mp.trim_threshold) return 0;
    int64_t top_area = static_cast<int64_t>(top_size) - static_cast<int64_t>(MINSIZE) - 1;
    if (top_area < 0 || static_cast<uint64_t>(top_area) <= pad) return 0;
    uint64_t extra = align_down(static_cast<uint64_t>(top_area) - pad, kPage);
    if (extra == 0) return 0;
    if (shrink_heap(c, *heap, extra) != 0) return 0;
    av.system_mem -= extra;
    c.set_head(top_chunk, (top_size - extra) | PREV_INUSE);
    return 1;
}

}  // namespace mmsim::libc
