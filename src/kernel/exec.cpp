// execve() and the start of a dynamically linked program (fs/exec.c,
// fs/binfmt_elf.c, arch/x86/entry/vdso/vma.c, and what glibc's ld.so does
// before main()).
//
// execve() throws the old address space away and builds a new one in a
// fixed order. The kernel (without ASLR, as under `setarch -R`):
//   1. creates the stack: the argument, environment and file-name strings
//      at the very top, then expands the area by 128 KiB (stack_expand);
//      below the strings go the auxiliary vector, envp, argv and argc,
//      whose address becomes mm->start_stack;
//   2. maps the executable's PT_LOAD segments at ELF_ET_DYN_BASE (a PIE):
//      one mapping of the whole span with the first segment's rights, its
//      tail unmapped again, then each later segment MAP_FIXED with its own
//      rights and file offset; a segment whose memsz exceeds its filesz
//      gets anonymous memory for the pages past the file's part (the bss,
//      vm_brk_flags()), and the break starts at the page after the bss;
//   3. maps the interpreter (ld.so) the same way, top-down below mmap_base;
//   4. installs [vvar], [vvar_vclock] and [vdso] just below it.
// Then ld.so runs in the new process: it takes two pages for its own
// allocator, maps /etc/ld.so.cache, and for each library mmaps the whole
// span read-only, maps every segment over it MAP_FIXED and adds anonymous
// memory for the bss; it allocates the static TLS block (three more pages),
// unmaps the cache, relocates (writing into every RELRO and data page it
// patches, which copies those file pages: they become anonymous), and
// makes each object's PT_GNU_RELRO read-only. So every object ends as five
// areas, r--p r-xp r--p r--p(RELRO) rw-p, plus its bss:
//
//   0x7ffffffff000 +--------------------+ STACK_TOP
//                  | [stack]  132 KiB   | strings, auxv, argv, argc
//   0x7ffffffde000 +--------------------+
//                  :  128 MiB gap       :
//   mmap_base      +--------------------+ 0x7ffff7fff000
//                  | ld-linux-x86-64    | mapped by the kernel
//                  | [vdso] [vvar_vclock] [vvar]
//                  | ld.so's 2 pages    |
//                  | (hole: ld.so.cache, unmapped)
//                  | lib 1, its bss     | ld.so, top-down, DT_NEEDED order
//                  | lib 2, its bss     |
//                  | TLS: 3 pages       |
//                  :                    :
//                  | [heap]             | main()'s first malloc (src/libc)
//                  | bss                |
//   0x555555554000 | the executable     | ELF_ET_DYN_BASE
//
// What runs next is the program: it touches some of all this. For the
// captured images a table (images.cpp) says how many pages of each area
// were resident and how many anonymous, and we touch exactly that many.
// File pages are read through the page cache, where a read fault also maps
// the cached pages of its 16-page fault-around window; the captures were
// taken with a warm cache, so every fault there mapped a whole window. We
// pick windows that add up to the captured count, make their pages cached,
// and touch them: the result is the captured one whatever other processes
// left in the cache. Anonymous pages, and the file pages the relocations
// copied, are written.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "fs/dcache.h"
#include "kernel/images.h"
#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

using images::ElfObject;
using images::Image;
using images::LoadSegment;
using images::Residency;

// ELF_ET_DYN_BASE on x86-64: 2/3 of TASK_SIZE, page aligned (what a PIE
// gets with randomization off).
constexpr uint64_t kElfEtDynBase = 0x555555554000ull;
// setup_arg_pages(): the stack is grown by 128 KiB below the arguments.
constexpr uint64_t kStackExpand = 128 * 1024;
// The vDSO image of 6.18: four pages of vvar data, two of vclock pages,
// two of code, placed as one block (vdso_install_vvar_mapping & co).
constexpr uint64_t kVvarSize = 4 * PAGE_SIZE, kVclockSize = 2 * PAGE_SIZE, kVdsoSize = 2 * PAGE_SIZE;
// ld.so's allocations seen in the captures: the first mmap of its minimal
// malloc (link maps, search paths) before the libraries, and the static
// TLS block with the main thread's descriptor after them.
constexpr uint64_t kRtldEarlyPages = 2, kRtldTlsPages = 3;
// The environment of the captures: `env -i PATH=/usr/bin:/bin`.
const std::vector<std::string> kEnvironment = {"PATH=/usr/bin:/bin"};
// create_elf_tables(): what goes between the strings and argc: the string
// "x86_64" for AT_PLATFORM, 16 random bytes for AT_RANDOM, then the
// auxiliary vector of x86-64 6.18: AT_SYSINFO_EHDR, AT_MINSIGSTKSZ,
// AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE,
// AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE,
// AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM, AT_RSEQ_FEATURE_SIZE,
// AT_RSEQ_ALIGN and AT_NULL: 23 pairs, 46 words.
constexpr uint64_t kPlatformLen = 7, kRandomBytes = 16, kAuxvWords = 46;

uint64_t page_down(uint64_t v) { return v & ~(PAGE_SIZE - 1); }
uint64_t page_up(uint64_t v) { return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

// The inode of a file every process shares (so they share its page cache).
// Opening it walks its path, leaving dentries and inodes in the caches.
Inode& shared_file(Kernel& k, const std::string& path, uint64_t size) {
    Inode* i = k.files->find(path);
    if (!i) i = &k.files->create(path, size);
    path_lookup(k, path);
    return *i;
}

// The vDSO's code pages are kernel memory mapped into every process; a
// touched page counts as a file page (special_mapping_fault() maps it like
// a page-cache page, one page per fault). We back them with a small
// internal file of kernel pages (no I/O, not in Cached), printed like the
// kernel prints them (no device, inode 0).
Inode& vdso_file(Kernel& k) {
    const std::string key = "\x01vdso";
    if (Inode* i = k.files->find(key)) return *i;
    Inode& i = k.files->create(key, kVdsoSize);
    i.path = "[vdso]";
    i.ino = 0;
    i.dev_major = 0;
    i.dev_minor = 0;
    i.writable = false;
    i.kernel_pages = true;
    if (!k.has_vdso_pfns) {
        for (Pfn& pfn : k.vdso_pfns) {
            MaybePfn got = alloc_pages(k, GFP_KERNEL, 0);
            if (!got) throw std::runtime_error("exec: no memory for the vDSO's pages");
            pfn = *got;
        }
        k.has_vdso_pfns = true;
    }
    for (uint64_t idx = 0; idx < kVdsoSize / PAGE_SIZE; idx++)
        filemap_add_kernel_page(k, i, idx, k.vdso_pfns[idx]);
    return i;
}

Result<uint64_t> map_file(Kernel& k, Task& t, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
                          const FileRef& file, uint64_t offset) {
    MmapArgs a;
    a.addr = addr;
    a.len = len;
    a.prot = prot;
    a.flags = MAP_PRIVATE | flags;
    a.file = file->inode;
    a.filp = file;
    a.file_writable = false;  // the loaders open ELF files O_RDONLY
    a.offset = offset;
    return do_mmap(k, t, a);
}

Result<uint64_t> map_anon(Kernel& k, Task& t, uint64_t addr, uint64_t len, unsigned prot, unsigned flags) {
    MmapArgs a;
    a.addr = addr;
    a.len = len;
    a.prot = prot;
    a.flags = MAP_PRIVATE | MAP_ANONYMOUS | flags;
    return do_mmap(k, t, a);
}

uint64_t span_of(const ElfObject& elf) {
    const LoadSegment& first = elf.loads.front();
    uint64_t hi = 0;
    for (const LoadSegment& s : elf.loads) hi = std::max(hi, s.vaddr + s.memsz);
    return page_up(hi) - page_down(first.vaddr);
}

// elf_load() + elf_map() of binfmt_elf: the kernel's way of mapping an ELF
// file. bias 0: anywhere (top-down), else at bias + p_vaddr. Returns the
// load bias.
Result<uint64_t> kernel_load_elf(Kernel& k, Task& t, const ElfObject& elf, const FileRef& file,
                                 uint64_t bias) {
    const LoadSegment& first = elf.loads.front();
    uint64_t total = span_of(elf);
    // The first mapping reserves the whole span, then gives back what lies
    // past the first segment's file part.
    auto m = map_file(k, t, bias ? bias + page_down(first.vaddr) : 0, total, first.prot,
                      bias ? unsigned{MAP_FIXED_NOREPLACE} : 0u, file, page_down(first.offset));
    if (!m) return m.error();
    uint64_t base = *m - page_down(first.vaddr);
    uint64_t first_len = page_up(first.filesz + (first.vaddr & (PAGE_SIZE - 1)));
    if (total > first_len)
        if (auto r = do_munmap(k, t, *m + first_len, total - first_len); !r) return r.error();
    for (std::size_t i = 0; i < elf.loads.size(); i++) {
        const LoadSegment& s = elf.loads[i];
        uint64_t start = page_down(base + s.vaddr);
        if (i > 0 && s.filesz) {
            uint64_t len = page_up(base + s.vaddr + s.filesz) - start;
            if (auto r = map_file(k, t, start, len, s.prot, MAP_FIXED, file, page_down(s.offset)); !r)
                return r.error();
        }
        // The bss past the file's last page: vm_brk_flags().
        uint64_t zero_start = page_up(base + s.vaddr + s.filesz),
                 zero_end = page_up(base + s.vaddr + s.memsz);
        if (zero_end > zero_start)
            if (auto r = map_anon(k, t, zero_start, zero_end - zero_start, s.prot, MAP_FIXED); !r)
                return r.error();
    }
    return base;
}

// _dl_map_segments() of ld.so: the whole span read-only (the first
// segment's rights), each later segment MAP_FIXED over it, the bss
// anonymous. Returns l_addr.
Result<uint64_t> rtld_map_object(Kernel& k, Task& t, const ElfObject& elf, const FileRef& file) {
    const LoadSegment& first = elf.loads.front();
    auto m = map_file(k, t, 0, span_of(elf), first.prot, MAP_DENYWRITE, file, page_down(first.offset));
    if (!m) return m.error();
    uint64_t l_addr = *m - page_down(first.vaddr);
    for (std::size_t i = 0; i < elf.loads.size(); i++) {
        const LoadSegment& s = elf.loads[i];
        if (i > 0) {
            uint64_t start = page_down(l_addr + s.vaddr);
            uint64_t len = page_up(l_addr + s.vaddr + s.filesz) - start;
            if (auto r = map_file(k, t, start, len, s.prot, MAP_FIXED, file, page_down(s.offset)); !r)
                return r.error();
        }
        uint64_t zero = l_addr + s.vaddr + s.filesz, zero_end = l_addr + s.vaddr + s.memsz;
        uint64_t zero_page = std::min(page_up(zero), zero_end);
        if (zero_end > zero_page)
            if (auto r = map_anon(k, t, zero_page, zero_end - zero_page, s.prot, MAP_FIXED); !r)
                return r.error();
    }
    return l_addr;
}

// _dl_protect_relro(): the whole pages of PT_GNU_RELRO become read-only.
Result<void> protect_relro(Kernel& k, Task& t, const ElfObject& elf, uint64_t l_addr) {
    if (!elf.relro_size) return {};
    uint64_t start = page_down(l_addr + elf.relro_vaddr);
    uint64_t end = page_down(l_addr + elf.relro_vaddr + elf.relro_size);
    if (end <= start) return {};
    return do_mprotect(k, t, start, end - start, PROT_READ);
}

// ---- the stack --------------------------------------------------------------------------

// bprm_mm_init() + copy_strings() + setup_arg_pages() + create_elf_tables():
// the stack area and where its contents sit.
Result<void> setup_stack(Kernel& k, MmStruct& mm, const std::string& filename,
                         const std::vector<std::string>& argv) {
    uint64_t top = mm.task_size;  // STACK_TOP
    uint64_t p = top - sizeof(uint64_t);
    p -= filename.size() + 1;  // AT_EXECFN's string goes first
    mm.env_end = p;
    for (const std::string& e : kEnvironment) p -= e.size() + 1;
    mm.env_start = mm.arg_end = p;
    for (const std::string& a : argv) p -= a.size() + 1;
    mm.arg_start = p;
    // create_elf_tables(): argc, argv[], NULL, envp[], NULL, auxv.
    uint64_t sp = (p & ~uint64_t{15}) - kPlatformLen - kRandomBytes;
    uint64_t items = (argv.size() + 1) + (kEnvironment.size() + 1) + 1;
    mm.start_stack = (sp - (kAuxvWords + items) * 8) & ~uint64_t{15};

    uint64_t start = page_down(mm.start_stack) - kStackExpand;
    if (top - start > mm.limits.stack) start = top - page_down(mm.limits.stack);
    uint64_t pages = (top - start) >> PAGE_SHIFT;
    if (auto r = vm_enough_memory(k, &mm, static_cast<int64_t>(pages)); !r) return r.error();
    auto v = std::make_unique<Vma>();
    v->vm_start = start;
    v->vm_end = top;
    v->vm_flags = VM_STACK_FLAGS | mm.def_flags;
    v->vm_pgoff = start >> PAGE_SHIFT;
    insert_vma(k, mm, std::move(v));
    return {};
}

// ---- the vDSO ----------------------------------------------------------------------------

// map_vdso(): one block for vvar, vvar_vclock and the code, placed like any
// mmap(NULL) (we ask mmap for the spot, then install the special areas).
Result<void> map_vdso(Kernel& k, Task& t) {
    uint64_t len = kVvarSize + kVclockSize + kVdsoSize;
    auto spot = map_anon(k, t, 0, len, PROT_NONE, 0);
    if (!spot) return spot.error();
    if (auto r = do_munmap(k, t, *spot, len); !r) return r.error();
    MmStruct& mm = *t.mm;
    auto add = [&](uint64_t start, uint64_t size, uint64_t flags, SpecialMapping what, Inode* file) {
        auto v = std::make_unique<Vma>();
        v->vm_start = start;
        v->vm_end = start + size;
        // _install_special_mapping() adds VM_DONTEXPAND (and VM_SOFTDIRTY,
        // which this kernel's smaps did not show: no CONFIG_MEM_SOFT_DIRTY).
        v->vm_flags = flags | mm.def_flags | VM_DONTEXPAND;
        v->vm_pgoff = 0;
        v->special = what;
        v->vm_file = file;
        insert_vma(k, mm, std::move(v));
    };
    constexpr uint64_t vvar_flags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP;
    add(*spot, kVvarSize, vvar_flags, SpecialMapping::Vvar, nullptr);
    add(*spot + kVvarSize, kVclockSize, vvar_flags, SpecialMapping::VvarVclock, nullptr);
    add(*spot + kVvarSize + kVclockSize, kVdsoSize, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
        SpecialMapping::Vdso, &vdso_file(k));
    return {};
}

// ---- touching ---------------------------------------------------------------------------

VmFault touch_page(Kernel& k, Task& t, uint64_t addr, Access how) { return access_memory(k, t, addr, how); }

Result<void> touch_range(Kernel& k, Task& t, uint64_t start, uint64_t end, Access how) {
    for (uint64_t a = start; a < end; a += PAGE_SIZE) {
        VmFault r = touch_page(k, t, a, how);
        if (r == VmFault::Oom) return Errno::NOMEM;
        if (r != VmFault::Minor && r != VmFault::Major) return Errno::FAULT;
    }
    return {};
}

struct PageRange {
    uint64_t first = 0, last = 0;  // virtual page numbers, [first, last)
    uint64_t size() const { return last - first; }
};

// The windows do_fault_around() maps in a file area [vs, ve) (page
// numbers) when the pages are cached: the 16-page aligned window around the
// fault, clipped to the area and to the page table, except that a fault in
// the first, partial window of an area that starts mid-window maps
// [vs, vs + 16), which reaches into the next aligned window. Returned as
// groups of alternatives (take at most one of each): the head window, the
// next block, or both; then each aligned block on its own.
std::vector<std::vector<PageRange>> fault_around_choices(uint64_t vs, uint64_t ve) {
    constexpr uint64_t nr = 16, table = 512;
    std::vector<std::vector<PageRange>> groups;
    uint64_t p = vs;
    while (p < ve) {
        uint64_t table_end = std::min(ve, (p / table + 1) * table);
        uint64_t block_end = std::min(table_end, (p / nr + 1) * nr);
        if (p == vs && p % nr != 0 && block_end < table_end) {
            PageRange head{vs, std::min(vs + nr, table_end)};
            PageRange next{block_end, std::min(table_end, block_end + nr)};
            groups.push_back({head, next, PageRange{vs, next.last}});
            p = next.last;
            continue;
        }
        groups.push_back({PageRange{p, block_end}});
        p = block_end;
    }
    return groups;
}

// Picks ranges whose pages add up to `want` (or as near as possible,
// preferring fewer), earliest blocks first.
std::vector<PageRange> choose_pages(uint64_t vs, uint64_t ve, uint64_t want) {
    auto groups = fault_around_choices(vs, ve);
    auto total = [](const PageRange& r) { return r.size(); };
    std::size_t n = groups.size();
    uint64_t cap = ve - vs;
    // reach[i][s]: the groups i.. can add exactly s pages.
    std::vector<std::vector<char>> reach(n + 1, std::vector<char>(cap + 1, 0));
    reach[n][0] = 1;
    for (std::size_t i = n; i-- > 0;) {
        for (uint64_t s = 0; s <= cap; s++) {
            if (reach[i + 1][s]) reach[i][s] = 1;
            for (const auto& alt : groups[i]) {
                uint64_t c = total(alt);
                if (s >= c && reach[i + 1][s - c]) reach[i][s] = 1;
            }
        }
    }
    uint64_t target = std::min(want, cap);
    while (target > 0 && !reach[0][target]) {
        // The nearest reachable count (below first, then above).
        uint64_t d = 1;
        for (; d <= cap; d++) {
            if (target >= d && reach[0][target - d]) break;
            if (target + d <= cap && reach[0][target + d]) break;
        }
        target = (target >= d && reach[0][target - d]) ? target - d : target + d;
    }
    std::vector<PageRange> out;
    uint64_t left = target;
    for (std::size_t i = 0; i < n && left; i++) {
        // The largest alternative that still lets the rest add up.
        const PageRange* best = nullptr;
        for (const auto& alt : groups[i]) {
            uint64_t c = total(alt);
            if (c <= left && reach[i + 1][left - c] && (!best || c > total(*best))) best = &alt;
        }
        if (!best) continue;
        left -= total(*best);
        out.push_back(*best);
    }
    return out;
}

// Reads `pages` pages of a read-only file area, in whole fault-around
// windows. The host's capture was taken with these files in the page cache
// (libc and ld.so are mapped by every process, the programs had just run),
// so each fault there mapped its whole window. We make the windows' pages
// cached first (as the warm cache had them: reading them in costs I/O time
// but no fault of this process), then touch them in address order: each
// fault maps exactly its window, whatever else other processes left
// cached, and the area ends with the captured count.
Result<void> read_file_area(Kernel& k, Task& t, const Vma& v, uint64_t pages) {
    Access how = (v.vm_flags & VM_EXEC) ? Access::Exec : Access::Read;
    uint64_t vs = v.vm_start >> PAGE_SHIFT, ve = v.vm_end >> PAGE_SHIFT;
    std::vector<PageRange> chosen = choose_pages(vs, ve, pages);
    for (const PageRange& r : chosen)
        for (uint64_t p = r.first; p < r.last; p++)
            if (!filemap_get_or_read(k, *v.vm_file, v.linear_page_index(p << PAGE_SHIFT), nullptr))
                return Errno::NOMEM;
    for (const PageRange& r : chosen)
        if (auto e = touch_range(k, t, r.first << PAGE_SHIFT, r.last << PAGE_SHIFT, how); !e) return e;
    return {};
}

// Relocation: ld.so writes the first `anon` pages of the rows that lie in
// writable file areas (the RELRO part is still writable now).
Result<void> relocation_writes(Kernel& k, Task& t, const Image& img) {
    MmStruct& mm = *t.mm;
    if (img.residency.empty()) {
        // Default: every page of every writable file area is written.
        for (Vma* v : vma_list(mm))
            if (v->vm_file && (v->vm_flags & VM_WRITE))
                if (auto r = touch_range(k, t, v->vm_start, v->vm_end, Access::Write); !r) return r;
        return {};
    }
    for (const Residency& row : img.residency) {
        const Vma* v = vma_lookup(mm, row.start);
        if (!v || !v->vm_file || !(v->vm_flags & VM_WRITE) || !row.anon) continue;
        uint64_t end = std::min(row.end, row.start + row.anon * PAGE_SIZE);
        if (auto r = touch_range(k, t, row.start, end, Access::Write); !r) return r;
    }
    return {};
}

// The rest of what the program touched, area by area.
Result<void> startup_touches(Kernel& k, Task& t, const Image& img) {
    MmStruct& mm = *t.mm;
    auto touch_area = [&](Vma& v, uint64_t rss, uint64_t anon) -> Result<void> {
        if (v.special == SpecialMapping::Vdso) {
            if (rss) return touch_range(k, t, v.vm_start, v.vm_start + PAGE_SIZE, Access::Exec);
            return {};
        }
        if (v.special != SpecialMapping::None) return {};
        if (v.vm_file) {
            if ((v.vm_flags & VM_WRITE) || anon) return {};  // written by the relocations
            return read_file_area(k, t, v, rss);
        }
        uint64_t n = std::min(anon, v.pages());
        if (v.vm_flags & VM_GROWSDOWN)  // the stack: its top pages
            return touch_range(k, t, v.vm_end - n * PAGE_SIZE, v.vm_end, Access::Write);
        return touch_range(k, t, v.vm_start, v.vm_start + n * PAGE_SIZE, Access::Write);
    };
    if (!img.residency.empty()) {
        for (const Residency& row : img.residency) {
            Vma* v = vma_lookup(mm, row.start);
            if (!v) continue;
            if (auto r = touch_area(*v, row.rss, row.anon); !r) return r;
        }
        return {};
    }
    // The default policy (synthetic images): all of each object's first
    // r--p area (headers, symbols: the loader reads them), a quarter of its
    // code and of its read-only data, half of each bss, 8 heap pages, the
    // stack's top two pages, ld.so's own pages.
    for (Vma* v : vma_list(mm)) {
        uint64_t pages = v->pages();
        if (v->special == SpecialMapping::Vdso) {
            if (auto r = touch_area(*v, 1, 0); !r) return r;
        } else if (v->vm_file && !(v->vm_flags & VM_WRITE) && !(v->vm_flags & VM_ACCOUNT)) {
            uint64_t want = v->vm_pgoff == 0 ? pages : (pages + 3) / 4;
            if (auto r = touch_area(*v, want, 0); !r) return r;
        } else if (v->is_anonymous()) {
            uint64_t want = (v->vm_flags & VM_GROWSDOWN)  ? 2
                            : v->vm_start == mm.start_brk ? 8
                                                          : (pages + 1) / 2;
            if (auto r = touch_area(*v, want, want); !r) return r;
        }
    }
    return {};
}

// main()'s first malloc (stdio's buffer) through the C library's model:
// tcache_init() and the allocation move the break by malloc's first sbrk
// and write the pages malloc's bookkeeping lands on. The captured break is
// the check that the model and the capture agree.
Result<void> startup_malloc(Kernel& k, Task& t, const Image& img) {
    if (!img.startup_malloc) return {};
    MmStruct& mm = *t.mm;
    auto got = libc::process_malloc(t).malloc(k, t, img.startup_malloc, "_IO_file_doallocate@libc.so.6");
    if (!got) return got.error();
    if (mm.brk - mm.start_brk != img.heap_bytes)
        throw std::logic_error(fmt::format("{}: malloc's first sbrk moved the break by {:#x}, captured {:#x}",
                                           img.name, mm.brk - mm.start_brk, img.heap_bytes));
    return {};
}

// The program's own big mappings after startup (the synthetic jvm's).
Result<void> reserve_regions(Kernel& k, Task& t, const Image& img) {
    for (const images::Reservation& r : img.reservations) {
        auto m = map_anon(k, t, 0, r.reserve, PROT_NONE, MAP_NORESERVE);
        if (!m) return m.error();
        if (r.commit) {
            unsigned prot = PROT_READ | PROT_WRITE | (r.exec ? unsigned{PROT_EXEC} : 0u);
            if (auto e = do_mprotect(k, t, *m, r.commit, prot); !e) return e;
            uint64_t n = std::min(r.touch, r.commit >> PAGE_SHIFT);
            if (auto e = touch_range(k, t, *m, *m + n * PAGE_SIZE, Access::Write); !e) return e;
        }
    }
    return {};
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Everything after the point of no return: the new address space's layout
// and the program's start.
Result<void> build_image(Kernel& k, Task& t, const Image& img, const std::vector<std::string>& argv) {
    MmStruct& mm = *t.mm;
    if (auto r = setup_stack(k, mm, img.exec_path, argv); !r) return r;

    // load_elf_binary(): the executable, then the interpreter, then the vDSO.
    const ElfObject& exe = *img.exe;
    // The executable's struct file (bprm->file) stays as mm->exe_file;
    // every file the loaders open is held by its mappings once closed.
    mm.exe_file = open_file(k, shared_file(k, exe.path, exe.file_size));
    auto bias = kernel_load_elf(k, t, exe, mm.exe_file, kElfEtDynBase);
    if (!bias) return bias.error();
    uint64_t start_code = ~uint64_t{0}, end_code = 0, start_data = 0, end_data = 0, elf_brk = 0;
    for (const LoadSegment& s : exe.loads) {
        if ((s.prot & PROT_EXEC) && s.vaddr < start_code) start_code = s.vaddr;
        start_data = std::max(start_data, s.vaddr);
        if ((s.prot & PROT_EXEC) && s.vaddr + s.filesz > end_code) end_code = s.vaddr + s.filesz;
        end_data = std::max(end_data, s.vaddr + s.filesz);
        elf_brk = std::max(elf_brk, s.vaddr + s.memsz);
    }
    mm.start_code = *bias + start_code;
    mm.end_code = *bias + end_code;
    mm.start_data = *bias + start_data;
    mm.end_data = *bias + end_data;
    mm.start_brk = mm.brk = page_up(*bias + elf_brk);

    const ElfObject& ld = images::ld_so();
    auto ld_base = kernel_load_elf(k, t, ld, open_file(k, shared_file(k, ld.path, ld.file_size)), 0);
    if (!ld_base) return ld_base.error();
    if (auto r = map_vdso(k, t); !r) return r;

    // ld.so.
    if (auto r = map_anon(k, t, 0, kRtldEarlyPages * PAGE_SIZE, PROT_READ | PROT_WRITE, 0); !r)
        return r.error();
    // access("/etc/ld.so.preload", R_OK): ENOENT, a negative dentry.
    path_lookup_missing(k, "/etc/ld.so.preload");
    FileRef cache = open_file(k, shared_file(k, std::string(images::kLdSoCachePath), images::kLdSoCacheSize));
    auto cache_at = map_file(k, t, 0, images::kLdSoCacheSize, PROT_READ, 0, cache, 0);
    if (!cache_at) return cache_at.error();
    if (auto r = touch_range(k, t, *cache_at, *cache_at + PAGE_SIZE, Access::Read); !r) return r;
    std::vector<uint64_t> lib_base;
    for (const ElfObject* lib : img.libs) {
        auto b = rtld_map_object(k, t, *lib, open_file(k, shared_file(k, lib->path, lib->file_size)));
        if (!b) return b.error();
        lib_base.push_back(*b);
    }
    if (auto r = map_anon(k, t, 0, kRtldTlsPages * PAGE_SIZE, PROT_READ | PROT_WRITE, 0); !r)
        return r.error();
    if (auto r = do_munmap(k, t, *cache_at, images::kLdSoCacheSize); !r) return r;
    if (auto r = relocation_writes(k, t, img); !r) return r;
    if (auto r = protect_relro(k, t, exe, *bias); !r) return r;
    for (std::size_t i = 0; i < img.libs.size(); i++)
        if (auto r = protect_relro(k, t, *img.libs[i], lib_base[i]); !r) return r;
    if (auto r = protect_relro(k, t, ld, *ld_base); !r) return r;

    // main() and what it touched.
    if (auto r = startup_malloc(k, t, img); !r) return r;
    if (auto r = startup_touches(k, t, img); !r) return r;
    return reserve_regions(k, t, img);
}

}  // namespace

std::vector<std::string> image_names() { return images::names(); }

bool image_exists(const std::string& name) { return images::find(name) != nullptr; }

Result<void> do_execve(Kernel& k, Task& t, const std::string& image,
                       const std::vector<std::string>& argv_in) {
    const Image* img = images::find(image);
    if (!img) return Errno::NOENT;
    k.clock.charge(k.costs.syscall);
    // A bare image name runs the captured command line.
    std::vector<std::string> argv = argv_in;
    if (argv.empty() || (argv.size() == 1 && argv[0] == image)) argv = img->default_argv;
    uint64_t strings = img->exec_path.size() + 1;
    for (const auto& s : argv) strings += s.size() + 1;
    for (const auto& s : kEnvironment) strings += s.size() + 1;
    if (strings > MmLimits{}.stack / 4) return Errno::TOOBIG;  // bprm_stack_limits(): a quarter of the stack

    auto made = mm_alloc(k);
    if (!made) return made.error();
    std::shared_ptr<MmStruct> mm = *made;
    mm->mm_users = 1;
    if (t.mm) mm->limits = t.mm->limits;
    // exec_mmap(): the old address space goes; from here on a failure
    // kills the process (the kernel's point of no return).
    std::shared_ptr<MmStruct> old = std::move(t.mm);
    t.mm = mm;
    if (old && --old->mm_users == 0) exit_mmap(k, *old);
    t.comm = basename_of(img->exec_path).substr(0, 15);  // __set_task_comm(), TASK_COMM_LEN
    t.argv = argv;
    t.exe = img->exe->path;

    std::string saved_comm = k.current_comm;
    int saved_pid = k.current_pid;
    k.current_comm = t.comm;
    k.current_pid = t.tgid;
    Result<void> built = build_image(k, t, *img, argv);
    k.current_comm = saved_comm;
    k.current_pid = saved_pid;
    if (!built) {
        // The new image could not be completed: the process dies (SIGSEGV,
        // as force_fatal_sig() after the point of no return).
        if (t.mm) {
            std::shared_ptr<MmStruct> dead = std::move(t.mm);
            t.mm = nullptr;
            if (--dead->mm_users == 0) exit_mmap(k, *dead);
        }
        return built.error();
    }
    return {};
}

Result<Task*> spawn_process(Kernel& k, const std::string& image, const std::vector<std::string>& argv,
                            int ppid) {
    if (!image_exists(image)) return Errno::NOENT;
    int parent = ppid > 0 ? ppid : 1;  // ppid 0: a child of init (pid 1, not simulated)
    Task& t = k.tasks->create(parent);
    if (auto r = dup_task_struct(k, t); !r) {
        k.tasks->remove(t.pid);
        return r.error();
    }
    t.state = TaskState::Sleeping;
    t.start_time = k.clock.now();
    t.cpu = k.current_cpu;
    if (auto r = do_execve(k, t, image, argv); !r) {
        free_kernel_stack(k, t);
        k.tasks->remove(t.pid);
        return r.error();
    }
    if (Task* p = k.tasks->find(parent)) p->children.push_back(t.pid);
    return &t;
}

}  // namespace mmsim
