// The simulated C library's malloc: a model of glibc 2.36's ptmalloc2, the
// allocator Debian 12's programs use. src/libc/malloc.cpp holds the essay
// and the algorithm; arena.cpp the per-thread arenas and their heaps.
//
// The model keeps glibc's own bookkeeping, word for word: every chunk
// header (prev_size, size and its three flag bits), every free-list link
// (fd, bk, fd_nextsize, bk_nextsize) and every tcache entry lives at the
// address glibc stores it, in a sparse store of 8-byte words. Each store
// is also a write by the simulated process to its own memory, through its
// TLB and page tables, so the pages malloc's metadata touches become
// resident exactly as they do under the real glibc: RSS, minor faults and
// swap behave as on the host. What the program does with the bytes it
// gets (memset, touch) is the program's business, not malloc's.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libc/addr_map.h"
#include "libc/words.h"
#include "mmsim/result.h"

namespace mmsim {
class Kernel;
struct Task;
enum class VmFault : uint8_t;
}  // namespace mmsim

namespace mmsim::libc {

// x86-64 geometry (SIZE_SZ 8, MALLOC_ALIGNMENT 16).
inline constexpr uint64_t SIZE_SZ = 8;
inline constexpr uint64_t MALLOC_ALIGNMENT = 16;
inline constexpr uint64_t MALLOC_ALIGN_MASK = MALLOC_ALIGNMENT - 1;
inline constexpr uint64_t CHUNK_HDR_SZ = 2 * SIZE_SZ;
inline constexpr uint64_t MINSIZE = 32;
inline constexpr uint64_t PREV_INUSE = 1, IS_MMAPPED = 2, NON_MAIN_ARENA = 4, SIZE_BITS = 7;
inline constexpr unsigned NBINS = 128, NSMALLBINS = 64, NFASTBINS = 10, BINMAPSIZE = 4;
inline constexpr uint64_t MIN_LARGE_SIZE = 1024;
inline constexpr unsigned TCACHE_MAX_BINS = 64;
inline constexpr uint64_t HEAP_MIN_SIZE = 32 * 1024;
inline constexpr uint64_t HEAP_MAX_SIZE = 64ull << 20;  // 2 * DEFAULT_MMAP_THRESHOLD_MAX
inline constexpr uint64_t DEFAULT_MMAP_THRESHOLD_MAX = 32ull << 20;
inline constexpr uint64_t FASTBIN_CONSOLIDATION_THRESHOLD = 65536;
// sizeof(heap_info) and sizeof(struct malloc_state) in glibc 2.36 on x86-64.
inline constexpr uint64_t HEAP_INFO_SIZE = 48;
inline constexpr uint64_t MALLOC_STATE_SIZE = 2200;
// sizeof(tcache_perthread_struct): 64 uint16_t counts and 64 pointers.
inline constexpr uint64_t TCACHE_STRUCT_SIZE = 0x280;

// mallopt() parameter numbers (<malloc.h>).
enum MalloptParam : int {
    M_MXFAST = 1,
    M_TRIM_THRESHOLD = -1,
    M_TOP_PAD = -2,
    M_MMAP_THRESHOLD = -3,
    M_MMAP_MAX = -4,
    M_CHECK_ACTION = -5,
    M_PERTURB = -6,
    M_ARENA_TEST = -7,
    M_ARENA_MAX = -8,
};

// mp_: the tunables and the global counters.
struct MallocPar {
    uint64_t trim_threshold = 128 * 1024;
    uint64_t top_pad = 128 * 1024;  // DEFAULT_TOP_PAD in glibc's build
    uint64_t mmap_threshold = 128 * 1024;
    uint64_t arena_test = 8;  // NARENAS_FROM_NCORES (1)
    uint64_t arena_max = 0;
    int n_mmaps = 0;
    int n_mmaps_max = 65536;
    int max_n_mmaps = 0;
    bool no_dyn_threshold = false;
    uint64_t mmapped_mem = 0, max_mmapped_mem = 0;
    uint64_t sbrk_base = 0;
    uint64_t tcache_bins = TCACHE_MAX_BINS;
    uint64_t tcache_count = 7;
    uint64_t max_fast = 128;  // global_max_fast: set_max_fast (DEFAULT_MXFAST)
    int perturb_byte = 0;     // M_PERTURB: fill blocks on malloc and free when non-zero
};

// One arena (struct malloc_state). Bins are lists threaded through the
// chunks; a bin's own head lives here, addressed by a sentinel "chunk
// address" above every user address (bin_at()).
struct Arena {
    int index = 0;       // 0: main_arena
    uint64_t state = 0;  // where its malloc_state sits (0 for main_arena, in libc's .data)
    std::array<uint64_t, NFASTBINS> fastbins{};
    bool have_fastchunks = false;
    uint64_t top = 0;
    uint64_t last_remainder = 0;
    std::array<uint64_t, NBINS> bin_fd{}, bin_bk{};
    std::array<uint32_t, BINMAPSIZE> binmap{};
    bool contiguous = true;
    uint64_t system_mem = 0, max_system_mem = 0;
    int attached_threads = 1;
    // Non-main arenas: their heaps (heap_info), newest last.
    struct Heap {
        uint64_t base = 0;  // HEAP_MAX_SIZE-aligned
        uint64_t size = 0, mprotect_size = 0;
    };
    std::vector<Heap> heaps;
};

// One outstanding allocation, for memleak: where it came from.
struct AllocRecord {
    uint64_t size = 0;  // bytes asked for
    uint32_t site = 0;  // index into ProcessMalloc::sites
    uint64_t when = 0;  // simulated ns
};

// mallinfo2().
struct MallInfo2 {
    uint64_t arena = 0, ordblks = 0, smblks = 0, hblks = 0, hblkhd = 0, usmblks = 0, fsmblks = 0,
             uordblks = 0, fordblks = 0, keepcost = 0;
};

// What glibc would print before abort(): a heap corruption or a bad
// free(). The caller kills the process with SIGABRT.
struct MallocAbort {
    std::string message;
};

// A fault while malloc read or wrote its own metadata (the program
// unmapped or protected part of its heap): the thread takes the signal.
struct MallocFault {
    VmFault fault;
    uint64_t addr = 0;
    bool write = false;
};

// A process's malloc: the arenas, the tunables, each thread's tcache and
// arena, and the words glibc keeps in the process's memory. Lives in the
// process's MmStruct (fork copies it with the memory it describes).
class ProcessMalloc {
public:
    ProcessMalloc();
    ProcessMalloc(const ProcessMalloc&) = default;
    ProcessMalloc& operator=(const ProcessMalloc&) = default;

    // The public functions, called by the thread t. A null result is an
    // allocation failure (errno ENOMEM); a MallocAbort is thrown where glibc
    // aborts.
    Result<uint64_t> malloc(Kernel& k, Task& t, uint64_t bytes, const std::string& site = "");
    Result<uint64_t> calloc(Kernel& k, Task& t, uint64_t n, uint64_t size, const std::string& site = "");
    Result<uint64_t> realloc(Kernel& k, Task& t, uint64_t mem, uint64_t bytes, const std::string& site = "");
    // memalign() (and aligned_alloc(), its alias in 2.36): alignments up to
    // 16 are malloc's; others are rounded up to a power of two. EINVAL for
    // an alignment above 2^63.
    Result<uint64_t> memalign(Kernel& k, Task& t, uint64_t alignment, uint64_t bytes,
                              const std::string& site = "");
    // posix_memalign(): EINVAL unless the alignment is a power-of-two
    // multiple of sizeof(void *).
    Result<uint64_t> posix_memalign(Kernel& k, Task& t, uint64_t alignment, uint64_t bytes,
                                    const std::string& site = "");
    void free(Kernel& k, Task& t, uint64_t mem);
    int mallopt(Kernel& k, Task& t, int param, int64_t value);
    int malloc_trim(Kernel& k, Task& t, uint64_t pad);
    MallInfo2 mallinfo2() const;
    // A thread's end (__libc_thread_freeres): tcache_thread_shutdown()
    // frees its cached chunks and the tcache itself into the arena, then
    // arena_thread_freeres() detaches it from its arena, which goes on the
    // free list when no thread is left on it.
    void thread_freeres(Kernel& k, Task& t);
    // malloc_stats()'s text (what it prints to stderr).
    std::string malloc_stats() const;
    uint64_t usable_size(uint64_t mem) const;

    const MallocPar& par() const { return mp; }
    const std::vector<Arena>& arenas() const { return m_arenas; }
    // Outstanding allocations by user address (a sorted copy); their count;
    // site names by index.
    std::map<uint64_t, AllocRecord> outstanding() const;
    std::size_t outstanding_count() const { return m_records.size(); }
    const std::vector<std::string>& sites() const { return m_sites; }

    // Chunks tile every heap, bins hold free chunks of the right sizes,
    // counters agree (DESIGN.md section 10). Throws std::logic_error.
    void validate(const Kernel& k, const Task& leader) const;
    // With checks on (debug_vm): the block just returned lies in rw areas.
    void check_block(const Task& t, uint64_t mem, uint64_t bytes) const;

    // The implementation's state, public to malloc.cpp and arena.cpp.
    MallocPar mp;
    std::vector<Arena> m_arenas;   // [0] is main_arena
    std::vector<int> m_free_list;  // arenas no thread is attached to
    std::vector<int> m_list{0};    // main_arena.next order: main, newest, ..., oldest
    int m_next_to_use = 0;         // reused_arena()'s round robin
    int next_in_list(int a) const;
    uint64_t m_narenas = 1;
    uint64_t m_narenas_limit = 0;
    uint64_t m_aligned_heap_area = 0;
    struct Thread {
        int arena = -1;       // thread_arena
        uint64_t tcache = 0;  // address of its tcache_perthread_struct, 0 before tcache_init
        std::array<uint16_t, TCACHE_MAX_BINS> counts{};
        std::array<uint64_t, TCACHE_MAX_BINS> entries{};
    };
    std::map<int, Thread> m_threads;         // by tid
    Words m_words;                           // glibc's metadata in process memory
    std::map<uint64_t, uint64_t> m_foreign;  // foreign sbrk in the main heap: start -> end
    AddrMap<AllocRecord> m_records;
    std::vector<std::string> m_sites;
    std::map<std::string, uint32_t> m_site_index;
    uint32_t m_last_site = 0;
    uint32_t intern_site(const std::string& site);
};

// memset() of a block by the thread t: one write per page it covers, as
// Call::write_range does; a fault throws MallocFault.
void write_block(Kernel& k, Task& t, uint64_t mem, uint64_t len);

// The process's malloc, created on first use.
ProcessMalloc& process_malloc(Task& t);
// Every process's ProcessMalloc::validate().
void validate_malloc(const Kernel& k);
// fork(): the child's copy. Only the forking thread lives on in the child
// (as the child's first thread); every other arena goes on the free list,
// as glibc's fork handler leaves them.
std::shared_ptr<ProcessMalloc> fork_malloc(const ProcessMalloc& parent, int parent_tid, int child_pid);

}  // namespace mmsim::libc
