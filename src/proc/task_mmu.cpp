// /proc/PID/maps, smaps, smaps_rollup and statm (fs/proc/task_mmu.c,
// fs/proc/array.c's proc_pid_statm).
//
// maps prints one line per area: range, rights (r w x, and p or s for
// private or shared), file offset, device, inode and a name padded to
// column 73: the file's path, or [heap] for the area holding the break,
// [stack] for the one holding the initial stack pointer, the special
// mappings' names, [anon:NAME], or nothing. [vsyscall] follows last: it is
// the gate area, in every process but in no address space.
//
// smaps adds, per area, what its page-table entries map now (smaps_pte_entry
// and smaps_account): Rss counts every mapped page (the zero page and other
// special entries excluded); a page mapped once is Private, more than once
// Shared, split by whether the entry or page is dirty; Pss charges each
// page 1/mapcount of its size, kept with 12 extra bits of precision
// (PSS_SHIFT) until printing. Anonymous counts anonymous pages, Locked the
// Pss of a VM_LOCKED area.
//
// The renderer only reads the entries and map counts: it decides nothing.
#include <fmt/format.h>

#include <algorithm>

#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/memmap.h"
#include "mm/mm.h"
#include "mm/pgtable.h"
#include "mm/swapfile.h"
#include "proc/renderers.h"

namespace mmsim {

namespace {

constexpr unsigned PSS_SHIFT = 12;

struct MemSize {
    uint64_t resident = 0, shared_clean = 0, shared_dirty = 0, private_clean = 0, private_dirty = 0;
    uint64_t referenced = 0, anonymous = 0, lazyfree = 0, swap = 0, swap_pss = 0;
    uint64_t pss = 0, pss_anon = 0, pss_file = 0, pss_shmem = 0, pss_dirty = 0, pss_locked = 0;
};

std::string vma_name(const Kernel& k, const MmStruct& mm, const Vma& v) {
    (void)k;
    switch (v.special) {
        case SpecialMapping::Vvar:
            return "[vvar]";
        case SpecialMapping::VvarVclock:
            return "[vvar_vclock]";
        case SpecialMapping::Vdso:
            return "[vdso]";
        case SpecialMapping::Vsyscall:
            return "[vsyscall]";
        case SpecialMapping::None:
            break;
    }
    if (v.vm_file) return v.vm_file->path;
    if (v.vm_start < mm.brk && v.vm_end > mm.start_brk) return "[heap]";
    if (v.vm_start <= mm.start_stack && v.vm_end >= mm.start_stack) return "[stack]";
    if (!v.anon_name.empty()) return "[anon:" + v.anon_name + "]";
    return "";
}

// show_map_vma(): one maps line.
void map_line(std::string& out, uint64_t start, uint64_t end, uint64_t flags, uint64_t pgoff, unsigned major,
              unsigned minor, uint64_t ino, const std::string& name) {
    std::string line =
        fmt::format("{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", start, end,
                    flags & VM_READ ? 'r' : '-', flags & VM_WRITE ? 'w' : '-', flags & VM_EXEC ? 'x' : '-',
                    flags & VM_MAYSHARE ? 's' : 'p', pgoff << PAGE_SHIFT, major, minor, ino);
    if (!name.empty()) {
        // seq_pad() to 25 + 6 * sizeof(void *) - 1 = 73 columns.
        if (line.size() < 73) line.append(73 - line.size(), ' ');
        line += name;
    }
    out += line;
    out += '\n';
}

void vma_map_line(const Kernel& k, std::string& out, const MmStruct& mm, const Vma& v) {
    unsigned major = 0, minor = 0;
    uint64_t ino = 0, pgoff = 0;
    if (v.vm_file) {
        major = v.vm_file->dev_major;
        minor = v.vm_file->dev_minor;
        ino = v.vm_file->ino;
        pgoff = v.vm_pgoff;
    }
    map_line(out, v.vm_start, v.vm_end, v.vm_flags, pgoff, major, minor, ino, vma_name(k, mm, v));
}

void gate_line(std::string& out) {
    // The vsyscall page: --xp, emulated (vsyscall=xonly, the default).
    map_line(out, 0xffffffffff600000ull, 0xffffffffff601000ull, VM_EXEC, 0, 0, 0, 0, "[vsyscall]");
}

// smaps_account() over the area's entries.
void account_vma(const Kernel& k, const MmStruct& mm, const Vma& v, MemSize& m) {
    bool locked = v.vm_flags & VM_LOCKED;
    walk_ptes(k, mm, v.vm_start, v.vm_end, [&](uint64_t, const uint64_t& e) {
        if (is_swap_pte(e)) {
            // smaps_pte_entry(): a swapped-out page counts in Swap, and in
            // SwapPss divided among the entries that share its slot.
            m.swap += PAGE_SIZE;
            const int count = swp_swapcount(k, swp_entry(pte_swp_type(e), pte_swp_offset(e)));
            m.swap_pss +=
                count >= 2 ? (PAGE_SIZE << PSS_SHIFT) / static_cast<uint64_t>(count) : PAGE_SIZE << PSS_SHIFT;
            return;
        }
        if (!pte_present(e) || pte_special(e)) return;
        const Page& p = (*k.mem_map)[pte_pfn(e).value];
        bool anon = p.test(PG_anon);
        bool dirty = pte_dirty(e) || p.test(PG_dirty);
        m.resident += PAGE_SIZE;
        if (anon) m.anonymous += PAGE_SIZE;
        // A MADV_FREE'd page: anonymous, no longer swap-backed, and clean
        // in both the entry and the folio (written again, it is kept).
        if (anon && !p.test(PG_swapbacked) && !dirty) m.lazyfree += PAGE_SIZE;
        if (pte_young(e)) m.referenced += PAGE_SIZE;
        uint64_t pss;
        int mapcount = p.mapcount;
        if (p.refcount == 1 || mapcount < 2) {
            pss = PAGE_SIZE << PSS_SHIFT;
            if (dirty)
                m.private_dirty += PAGE_SIZE;
            else
                m.private_clean += PAGE_SIZE;
        } else {
            pss = (PAGE_SIZE << PSS_SHIFT) / static_cast<uint64_t>(mapcount);
            if (dirty)
                m.shared_dirty += PAGE_SIZE;
            else
                m.shared_clean += PAGE_SIZE;
        }
        m.pss += pss;
        if (dirty) m.pss_dirty += pss;
        if (anon)
            m.pss_anon += pss;
        else if (v.vm_file && v.vm_file->shmem)
            m.pss_shmem += pss;
        else
            m.pss_file += pss;
        if (locked) m.pss_locked += pss;
    });
}

// SEQ_PUT_DEC: the name padded to 16 columns, the value in kB in 8.
void kb(std::string& out, const char* name, uint64_t bytes) {
    out += fmt::format("{:<16}{:>8} kB\n", name, bytes >> 10);
}

void print_mem_size(std::string& out, const MemSize& m, bool rollup) {
    kb(out, "Rss:", m.resident);
    kb(out, "Pss:", m.pss >> PSS_SHIFT);
    kb(out, "Pss_Dirty:", m.pss_dirty >> PSS_SHIFT);
    if (rollup) {
        kb(out, "Pss_Anon:", m.pss_anon >> PSS_SHIFT);
        kb(out, "Pss_File:", m.pss_file >> PSS_SHIFT);
        kb(out, "Pss_Shmem:", m.pss_shmem >> PSS_SHIFT);
    }
    kb(out, "Shared_Clean:", m.shared_clean);
    kb(out, "Shared_Dirty:", m.shared_dirty);
    kb(out, "Private_Clean:", m.private_clean);
    kb(out, "Private_Dirty:", m.private_dirty);
    kb(out, "Referenced:", m.referenced);
    kb(out, "Anonymous:", m.anonymous);
    kb(out, "KSM:", 0);
    kb(out, "LazyFree:", m.lazyfree);
    kb(out, "AnonHugePages:", 0);
    kb(out, "ShmemPmdMapped:", 0);
    kb(out, "FilePmdMapped:", 0);
    kb(out, "Shared_Hugetlb:", 0);
    kb(out, "Private_Hugetlb:", 0);
    kb(out, "Swap:", m.swap);
    kb(out, "SwapPss:", m.swap_pss >> PSS_SHIFT);
    kb(out, "Locked:", m.pss_locked >> PSS_SHIFT);
}

// show_smap_vma_flags(): two letters per flag, in the kernel's order.
std::string vm_flags_line(uint64_t f) {
    struct Mn {
        uint64_t bit;
        const char* name;
    };
    static constexpr Mn kNames[] = {
        {VM_READ, "rd"},        {VM_WRITE, "wr"},     {VM_EXEC, "ex"},       {VM_SHARED, "sh"},
        {VM_MAYREAD, "mr"},     {VM_MAYWRITE, "mw"},  {VM_MAYEXEC, "me"},    {VM_MAYSHARE, "ms"},
        {VM_GROWSDOWN, "gd"},   {VM_PFNMAP, "pf"},    {VM_LOCKED, "lo"},     {VM_IO, "io"},
        {VM_SEQ_READ, "sr"},    {VM_RAND_READ, "rr"}, {VM_DONTCOPY, "dc"},   {VM_DONTEXPAND, "de"},
        {VM_LOCKONFAULT, "lf"}, {VM_ACCOUNT, "ac"},   {VM_NORESERVE, "nr"},  {VM_HUGETLB, "ht"},
        {VM_SYNC, "sf"},        {VM_ARCH_1, "ar"},    {VM_WIPEONFORK, "wf"}, {VM_DONTDUMP, "dd"},
        {VM_SOFTDIRTY, "sd"},   {VM_MIXEDMAP, "mm"},  {VM_HUGEPAGE, "hg"},   {VM_NOHUGEPAGE, "nh"},
        {VM_MERGEABLE, "mg"},
    };
    std::string s = "VmFlags: ";
    for (const auto& n : kNames)
        if (f & n.bit) {
            s += n.name;
            s += ' ';
        }
    return s + "\n";
}

void smap_block(const Kernel& k, std::string& out, const MmStruct& mm, const Vma& v) {
    vma_map_line(k, out, mm, v);
    MemSize m;
    account_vma(k, mm, v, m);
    kb(out, "Size:", v.vm_end - v.vm_start);
    kb(out, "KernelPageSize:", PAGE_SIZE);
    kb(out, "MMUPageSize:", PAGE_SIZE);
    print_mem_size(out, m, false);
    // THPeligible: an anonymous or shmem area THP could back, big enough
    // to hold an aligned 2 MiB range, with THP enabled for it.
    bool thp = false;
    if (v.is_anonymous() && !(v.vm_flags & VM_NOHUGEPAGE)) {
        bool enabled =
            k.vm.thp == ThpMode::Always || (k.vm.thp == ThpMode::Madvise && (v.vm_flags & VM_HUGEPAGE));
        uint64_t lo = (v.vm_start + PMD_SIZE - 1) & PMD_MASK;
        thp = enabled && lo + PMD_SIZE <= v.vm_end;
    }
    out += fmt::format("{:<16}{:>8}\n", "THPeligible:", thp ? 1 : 0);
    // arch_pkeys_enabled(): the line exists only when the CPU has memory
    // protection keys and the kernel turned them on (OSPKE).
    if (cpu_has_flag("ospke")) out += fmt::format("{:<16}{:>8}\n", "ProtectionKey:", 0);
    out += vm_flags_line(v.vm_flags);
}

void gate_smap(std::string& out) {
    gate_line(out);
    kb(out, "Size:", PAGE_SIZE);
    kb(out, "KernelPageSize:", PAGE_SIZE);
    kb(out, "MMUPageSize:", PAGE_SIZE);
    print_mem_size(out, MemSize{}, false);
    out += fmt::format("{:<16}{:>8}\n", "THPeligible:", 0);
    // arch_pkeys_enabled(): the line exists only when the CPU has memory
    // protection keys and the kernel turned them on (OSPKE).
    if (cpu_has_flag("ospke")) out += fmt::format("{:<16}{:>8}\n", "ProtectionKey:", 0);
    out += vm_flags_line(VM_EXEC);
}

}  // namespace

std::string render_pid_maps(const Kernel& k, const Task& t) {
    std::string out;
    if (!t.mm) return out;
    for (const Vma* v : vma_list(*t.mm)) vma_map_line(k, out, *t.mm, *v);
    gate_line(out);
    return out;
}

std::string render_pid_smaps(const Kernel& k, const Task& t) {
    std::string out;
    if (!t.mm) return out;
    for (const Vma* v : vma_list(*t.mm)) smap_block(k, out, *t.mm, *v);
    gate_smap(out);
    return out;
}

std::string render_pid_smaps_rollup(const Kernel& k, const Task& t) {
    std::string out;
    if (!t.mm || t.mm->vmas.empty()) return out;
    MemSize m;
    for (const Vma* v : vma_list(*t.mm)) account_vma(k, *t.mm, *v, m);
    uint64_t lo = t.mm->vmas.begin()->second->vm_start, hi = t.mm->vmas.rbegin()->second->vm_end;
    map_line(out, lo, hi, 0, 0, 0, 0, 0, "[rollup]");
    print_mem_size(out, m, true);
    return out;
}

// proc_pid_statm(): size resident shared text lib data dt, in pages.
std::string render_pid_statm(const Kernel& k, const Task& t) {
    (void)k;
    if (!t.mm) return "0 0 0 0 0 0 0\n";
    const MmStruct& mm = *t.mm;
    uint64_t shared =
        static_cast<uint64_t>(mm.get_mm_counter(MM_FILEPAGES) + mm.get_mm_counter(MM_SHMEMPAGES));
    uint64_t text =
        (((mm.end_code + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - (mm.start_code & ~(PAGE_SIZE - 1))) >>
        PAGE_SHIFT;
    return fmt::format("{} {} {} {} 0 {} 0\n", mm.total_vm, mm.get_mm_rss(), shared, text,
                       mm.data_vm + mm.stack_vm);
}

}  // namespace mmsim
