// Virtual memory areas: lookup, insertion, splitting and merging (mm/vma.c).
//
// The areas of an address space never overlap and are kept sorted. A
// system call that changes part of an area (mprotect of one page in the
// middle, munmap of its tail) first splits it, so every area again has one
// set of properties:
//
//   before     [ rw-p 0x1000 ........................... 0x9000 )
//   mprotect(0x3000, 0x2000, PROT_READ)
//   split      [ rw-p 0x1000-0x3000 )[ r--p 0x3000-0x5000 )[ rw-p 0x5000-0x9000 )
//
// and afterwards tries to merge each changed area with its neighbours, so a
// change that makes two adjacent areas alike leaves one area (mprotect back
// to PROT_READ|PROT_WRITE reunites the three above). Two areas merge when
// they touch, have the same flags (apart from VM_SOFTDIRTY), map the same
// file at contiguous offsets (or are both anonymous with compatible
// anon_vmas: the same one, or at most one of them has one and the other's
// chain is that single anon_vma), and neither is special (VM_SPECIAL or a
// kernel mapping such as the vDSO). These are is_mergeable_vma() and
// is_mergeable_anon_vma().
//
// Each split adds an area and counts against vm.max_map_count; the kernel
// refuses the split with ENOMEM at the limit, which is how a program that
// maps too many regions sees mmap or mprotect fail.
#include <algorithm>
#include <stdexcept>

#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/rmap.h"
#include "mm/slub.h"

namespace mmsim {

namespace {

using VmaMap = std::map<uint64_t, std::unique_ptr<Vma>>;

void rekey(MmStruct& mm, Vma& vma, uint64_t old_end) {
    auto node = mm.vmas.extract(old_end);
    node.key() = vma.vm_end;
    mm.vmas.insert(std::move(node));
}

bool is_stack_mapping(uint64_t f) { return (f & VM_GROWSDOWN) == VM_GROWSDOWN; }
bool is_exec_mapping(uint64_t f) { return (f & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC; }
bool is_data_mapping(uint64_t f) { return (f & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE; }

}  // namespace

void vm_stat_account(MmStruct& mm, uint64_t flags, int64_t npages) {
    mm.total_vm = static_cast<uint64_t>(static_cast<int64_t>(mm.total_vm) + npages);
    if (is_exec_mapping(flags))
        mm.exec_vm = static_cast<uint64_t>(static_cast<int64_t>(mm.exec_vm) + npages);
    else if (is_stack_mapping(flags))
        mm.stack_vm = static_cast<uint64_t>(static_cast<int64_t>(mm.stack_vm) + npages);
    else if (is_data_mapping(flags))
        mm.data_vm = static_cast<uint64_t>(static_cast<int64_t>(mm.data_vm) + npages);
}

const Vma* find_vma(const MmStruct& mm, uint64_t addr) {
    const Vma* c = mm.vma_cache;
    if (c && c->vm_end > addr && c->vm_start <= addr) return c;
    auto it = mm.vmas.upper_bound(addr);
    if (it == mm.vmas.end()) return nullptr;
    mm.vma_cache = it->second.get();
    return it->second.get();
}

Vma* find_vma(MmStruct& mm, uint64_t addr) {
    return const_cast<Vma*>(find_vma(static_cast<const MmStruct&>(mm), addr));
}

Vma* vma_lookup(MmStruct& mm, uint64_t addr) {
    Vma* v = find_vma(mm, addr);
    return v && v->vm_start <= addr ? v : nullptr;
}

Vma* vma_prev(MmStruct& mm, uint64_t addr) {
    // The last area whose end is <= addr... or that starts below addr.
    auto it = mm.vmas.upper_bound(addr);  // first with end > addr
    if (it != mm.vmas.end() && it->second->vm_start < addr) return it->second.get();
    if (it == mm.vmas.begin()) return nullptr;
    return std::prev(it)->second.get();
}

std::vector<Vma*> vma_list(MmStruct& mm) {
    std::vector<Vma*> v;
    v.reserve(mm.vmas.size());
    for (auto& [end, vma] : mm.vmas) v.push_back(vma.get());
    return v;
}

std::vector<const Vma*> vma_list(const MmStruct& mm) {
    std::vector<const Vma*> v;
    v.reserve(mm.vmas.size());
    for (auto& [end, vma] : mm.vmas) v.push_back(vma.get());
    return v;
}

Vma& insert_vma(Kernel& k, MmStruct& mm, std::unique_ptr<Vma> vma) {
    vma->vm_mm = &mm;
    Vma& ref = *vma;
    // A new area gets its vm_area_struct here; a copied one (split, fork,
    // mremap) already holds the one vm_area_dup() gave it.
    if (!ref.obj) ref.obj = SlabObject::alloc(k, &SlabState::vm_area_struct);
    vm_stat_account(mm, ref.vm_flags, static_cast<int64_t>(ref.pages()));
    mm.update_hiwater_vm();
    if (ref.vm_file) ref.vm_file->mapping.i_mmap.insert(&ref);
    if (ref.vm_file && (ref.vm_flags & VM_SHARED) && (ref.vm_flags & VM_MAYWRITE))
        ref.vm_file->mapping.i_mmap_writable++;
    mm.vmas.emplace(ref.vm_end, std::move(vma));
    mm.map_count++;
    return ref;
}

Result<Vma*> split_vma(Kernel& k, MmStruct& mm, Vma& vma, uint64_t addr) {
    if (addr <= vma.vm_start || addr >= vma.vm_end || (addr & (PAGE_SIZE - 1)))
        throw std::logic_error("split_vma: address outside the area");
    if (mm.map_count >= k.vm.max_map_count) return Errno::NOMEM;
    auto upper = std::make_unique<Vma>(vma);
    upper->anon_vma_chain.clear();  // anon_vma stays: the split halves share it
    upper->avc_objs.clear();        // anon_vma_clone() allocates them again
    upper->vm_start = addr;
    upper->vm_pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT);
    anon_vma_clone(k, *upper, vma);
    uint64_t old_end = vma.vm_end;
    vma.vm_end = addr;
    rekey(mm, vma, old_end);
    Vma& ref = *upper;
    if (ref.vm_file) ref.vm_file->mapping.i_mmap.insert(&ref);
    if (ref.vm_file && (ref.vm_flags & VM_SHARED) && (ref.vm_flags & VM_MAYWRITE))
        ref.vm_file->mapping.i_mmap_writable++;
    mm.vmas.emplace(ref.vm_end, std::move(upper));
    mm.map_count++;
    mm.vma_cache = nullptr;
    return &ref;
}

void remove_vma(Kernel& k, MmStruct& mm, Vma& vma) {
    vm_stat_account(mm, vma.vm_flags, -static_cast<int64_t>(vma.pages()));
    if (vma.vm_file) {
        vma.vm_file->mapping.i_mmap.erase(&vma);
        if ((vma.vm_flags & VM_SHARED) && (vma.vm_flags & VM_MAYWRITE))
            vma.vm_file->mapping.i_mmap_writable--;
    }
    unlink_anon_vmas(k, vma);
    if (mm.vma_cache == &vma) mm.vma_cache = nullptr;
    mm.map_count--;
    mm.vmas.erase(vma.vm_end);
}

namespace {

bool anon_vma_compatible(const Vma& a, const Vma& b) {
    // is_mergeable_anon_vma(): equal, or one side has none and the other's
    // chain is just its own anon_vma.
    if (a.anon_vma == b.anon_vma) return true;
    if (!a.anon_vma) return b.anon_vma_chain.size() <= 1;
    if (!b.anon_vma) return a.anon_vma_chain.size() <= 1;
    return false;
}

// is_mergeable_vma() plus the offset check of can_vma_merge_after().
bool can_merge(const Vma& lo, const Vma& hi) {
    if (lo.vm_end != hi.vm_start) return false;
    if ((lo.vm_flags ^ hi.vm_flags) & ~static_cast<uint64_t>(VM_SOFTDIRTY)) return false;
    if (lo.vm_flags & VM_SPECIAL) return false;
    if (lo.special != SpecialMapping::None || hi.special != SpecialMapping::None) return false;
    if (lo.vm_file != hi.vm_file || lo.vm_filp != hi.vm_filp) return false;
    if (lo.anon_name != hi.anon_name) return false;
    if (lo.vm_file && lo.vm_pgoff + lo.pages() != hi.vm_pgoff) return false;
    if (!lo.vm_file && lo.vm_pgoff + lo.pages() != hi.vm_pgoff) return false;
    return anon_vma_compatible(lo, hi);
}

// Folds `hi` into `lo` (lo grows up to hi's end); hi is removed.
void merge_into_lower(Kernel& k, MmStruct& mm, Vma& lo, Vma& hi) {
    if (!lo.anon_vma && hi.anon_vma) {
        // lo adopts hi's anon_vma and its one-element chain (dup_anon_vma()).
        lo.anon_vma = hi.anon_vma;
        anon_vma_clone(k, lo, hi);
    }
    uint64_t old_end = lo.vm_end;
    uint64_t hi_end = hi.vm_end;
    // Remove hi without touching the accounting of its pages (they stay mapped).
    if (hi.vm_file) {
        hi.vm_file->mapping.i_mmap.erase(&hi);
        if ((hi.vm_flags & VM_SHARED) && (hi.vm_flags & VM_MAYWRITE)) hi.vm_file->mapping.i_mmap_writable--;
    }
    unlink_anon_vmas(k, hi);
    if (mm.vma_cache == &hi || mm.vma_cache == &lo) mm.vma_cache = nullptr;
    mm.vmas.erase(hi.vm_end);
    mm.map_count--;
    lo.vm_end = hi_end;
    rekey(mm, lo, old_end);
}

}  // namespace

Vma& vma_merge_neighbours(Kernel& k, MmStruct& mm, Vma& vma) {
    Vma* cur = &vma;
    auto it = mm.vmas.find(cur->vm_end);
    if (it != mm.vmas.begin()) {
        Vma& prev = *std::prev(it)->second;
        if (can_merge(prev, *cur)) {
            merge_into_lower(k, mm, prev, *cur);
            cur = &prev;
        }
    }
    auto nx = mm.vmas.upper_bound(cur->vm_end);
    if (nx != mm.vmas.end()) {
        Vma& next = *nx->second;
        if (can_merge(*cur, next)) merge_into_lower(k, mm, *cur, next);
    }
    return *cur;
}

void validate_mm(const Kernel& k, const MmStruct& mm) {
    (void)k;
    auto fail = [&](const std::string& what) {
        throw std::logic_error("mm " + std::to_string(mm.id) + ": " + what);
    };
    uint64_t prev_end = 0;
    int count = 0;
    uint64_t total = 0, exec = 0, stack = 0, data = 0;
    for (auto& [key, v] : mm.vmas) {
        if (key != v->vm_end) fail("area keyed by a stale end");
        if (v->vm_start >= v->vm_end) fail("empty area");
        if ((v->vm_start | v->vm_end) & (PAGE_SIZE - 1)) fail("unaligned area");
        if (v->vm_start < prev_end) fail("overlapping areas");
        if (v->vm_mm != &mm) fail("area of another mm");
        if (v->anon_vma && std::find(v->anon_vma_chain.begin(), v->anon_vma_chain.end(), v->anon_vma) ==
                               v->anon_vma_chain.end())
            fail("area's anon_vma missing from its chain");
        prev_end = v->vm_end;
        count++;
        uint64_t n = v->pages();
        total += n;
        if (is_exec_mapping(v->vm_flags))
            exec += n;
        else if (is_stack_mapping(v->vm_flags))
            stack += n;
        else if (is_data_mapping(v->vm_flags))
            data += n;
    }
    if (count != mm.map_count) fail("map_count differs from the areas");
    if (total != mm.total_vm) fail("total_vm differs from the areas");
    if (exec != mm.exec_vm || stack != mm.stack_vm || data != mm.data_vm) fail("exec/stack/data_vm differ");
    if (mm.hiwater_vm < mm.total_vm) fail("hiwater_vm below total_vm");
}

}  // namespace mmsim
