// fork() and thread creation (kernel/fork.c: copy_process, dup_mm,
// dup_mmap).
//
// fork copies the address space area by area. Each copied area joins the
// parent's anon_vma chain and gets an anon_vma of its own (anon_vma_fork),
// and copy_page_range() copies the page-table entries of areas that hold
// anonymous pages, raising each page's map count and write-protecting
// private writable entries on both sides. No page is copied: the child
// shares every page until one side writes, which then faults and copies
// (or, for the last one holding it, simply reuses the page). So right after
// fork the child's RSS equals the parent's anonymous RSS, both see the
// shared pages at half their size in PSS, and the system's memory use has
// not changed.
//
// What the child does not inherit: VM_DONTCOPY areas (MADV_DONTFORK),
// the contents of VM_WIPEONFORK areas (they come back empty), memory locks
// (VM_LOCKED is cleared, locked_vm is 0) and mlockall(MCL_FUTURE).
//
// A thread shares the address space instead; glibc gives it a stack of its
// own, an mmap'd 8 MiB (RLIMIT_STACK) area above a one-page PROT_NONE guard,
// whose top holds the thread descriptor and TLS.
//
// Every task, process or thread, also gets a kernel stack: THREAD_SIZE,
// 16 KiB on x86-64. With CONFIG_VMAP_STACK (x86-64's default) it is a
// vmalloc area of four order-0 pages with a guard page after it, so a
// stack overflow faults instead of overwriting the neighbour; the stacks
// are most of a running system's /proc/vmallocinfo lines (one per task,
// "kernel_clone+0xb8/0x400 pages=4 vmalloc") and of VmallocUsed. vmalloc
// and vfree are slow (vfree's lazy ranges end in a TLB flush), so each
// CPU keeps the last two stacks freed on it and hands them to the next
// forks there. KernelStack in meminfo counts the stacks of live tasks
// only: a stack leaves it when its task exits, even when the CPU keeps it.
#include <array>
#include <stdexcept>
#include <utility>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "libc/malloc.h"
#include "libc/nptl_stack.h"
#include "mm/filemap.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/rmap.h"
#include "mm/slub.h"
#include "mm/tlb.h"
#include "mm/vmalloc.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// THREAD_SIZE on x86-64 (16 KiB): the kernel stack every task gets
// (alloc_thread_stack_node; VMAP_STACK takes it from vmalloc, four pages).
constexpr unsigned kKernelStackPages = 4;

// dup_mmap(): copies every area and, for anonymous memory, the entries.
Result<void> dup_mmap(Kernel& k, MmStruct& mm, MmStruct& oldmm) {
    for (Vma* src : vma_list(oldmm)) {
        if (src->vm_flags & VM_DONTCOPY) continue;
        if (src->vm_flags & VM_ACCOUNT) {
            if (auto r = vm_enough_memory(k, &mm, static_cast<int64_t>(src->pages())); !r) return r.error();
        }
        auto tmp = std::make_unique<Vma>(*src);
        tmp->vm_flags &= ~static_cast<uint64_t>(VM_LOCKED | VM_LOCKONFAULT);
        tmp->anon_vma = nullptr;
        tmp->anon_vma_chain.clear();
        tmp->avc_objs.clear();
        Vma& dst = insert_vma(k, mm, std::move(tmp));
        if (src->vm_flags & VM_WIPEONFORK) continue;  // the child starts with it empty
        anon_vma_fork(k, dst, *src);
        if (auto r = copy_page_range(k, mm, dst, oldmm, *src); !r) return r.error();
    }
    return {};
}

}  // namespace

Result<Task*> do_fork(Kernel& k, Task& parent) {
    if (!parent.mm) return Errno::INVAL;
    k.clock.charge(k.costs.syscall);
    MmStruct& oldmm = *parent.mm;
    auto made = mm_alloc(k);
    if (!made) return made.error();
    std::shared_ptr<MmStruct> mm = *made;
    // dup_mm(): the layout and limits come along; the counters are rebuilt
    // as the areas are inserted.
    mm->task_size = oldmm.task_size;
    mm->mmap_base = oldmm.mmap_base;
    mm->start_code = oldmm.start_code;
    mm->end_code = oldmm.end_code;
    mm->start_data = oldmm.start_data;
    mm->end_data = oldmm.end_data;
    mm->start_brk = oldmm.start_brk;
    mm->brk = oldmm.brk;
    mm->start_stack = oldmm.start_stack;
    mm->arg_start = oldmm.arg_start;
    mm->arg_end = oldmm.arg_end;
    mm->env_start = oldmm.env_start;
    mm->env_end = oldmm.env_end;
    mm->limits = oldmm.limits;
    mm->def_flags = oldmm.def_flags & VM_NOHUGEPAGE;  // VM_INIT_DEF_MASK
    mm->exe_file = oldmm.exe_file;                    // dup_mm_exe_file(): one more reference
    Result<void> copied = dup_mmap(k, *mm, oldmm);
    // The parent's write-protected entries must not linger in TLBs.
    flush_tlb_mm(k.tlbs, static_cast<unsigned>(k.current_cpu), oldmm.tlb);
    if (!copied) {
        exit_mmap(k, *mm);
        return copied.error();
    }
    mm->hiwater_rss = mm->get_mm_rss();
    mm->hiwater_vm = mm->total_vm;
    mm->mm_users = 1;

    Task& child = k.tasks->create(parent.tgid);
    if (auto r = dup_task_struct(k, child); !r) {
        k.tasks->remove(child.pid);
        exit_mmap(k, *mm);
        return r.error();
    }
    child.comm = parent.comm;
    child.argv = parent.argv;
    child.exe = parent.exe;
    child.cpu = parent.cpu;
    child.oom_score_adj = parent.oom_score_adj;
    child.nice = parent.nice;
    child.state = TaskState::Sleeping;
    child.start_time = k.clock.now();
    if (oldmm.libc) mm->libc = libc::fork_malloc(*oldmm.libc, parent.pid, child.pid);
    // The child's only thread is the forking one; the stacks of the
    // others, copied with the memory, join its stack cache.
    std::vector<libc::StackBlock> others;
    if (Task* leader = k.tasks->find(parent.tgid))
        for (int tid : leader->threads)
            if (Task* th = k.tasks->find(tid); th && tid != parent.pid && th->thread_stack)
                others.push_back(libc::stack_block_of(*th));
    // (A bare address space that runs no program has no C library.)
    if (!parent.exe.empty() && (oldmm.stacks || !others.empty()))
        mm->stacks = libc::fork_stack_cache(oldmm.stacks.get(), others);
    child.mm = std::move(mm);
    if (Task* leader = k.tasks->find(parent.tgid)) leader->children.push_back(child.pid);
    return &child;
}

Result<Task*> create_thread(Kernel& k, Task& leader_in, uint64_t stack_size) {
    Task* leaderp = k.tasks->find(leader_in.tgid);
    if (!leaderp || !leaderp->mm) return Errno::INVAL;
    Task& leader = *leaderp;
    // glibc's allocate_stack(): a cached stack, or guard + stack mapped
    // PROT_NONE with the stack part made read-write (two areas).
    auto blk = libc::allocate_stack(k, leader_in.mm ? leader_in : leader, stack_size);
    if (!blk) return blk.error();
    const uint64_t guard = blk->guard, size = blk->size - blk->guard;
    Task& t = k.tasks->create(leader.ppid);
    if (auto r = dup_task_struct(k, t); !r) {
        k.tasks->remove(t.pid);
        (void)do_munmap(k, leader, blk->block, blk->size);
        return r.error();
    }
    t.tgid = leader.tgid;
    t.comm = leader.comm;
    t.argv = leader.argv;
    t.exe = leader.exe;
    t.cpu =
        static_cast<int>((leader.threads.size() + 1 + static_cast<std::size_t>(leader.cpu)) % k.tlbs.size());
    t.oom_score_adj = leader.oom_score_adj;
    t.state = TaskState::Sleeping;
    t.start_time = k.clock.now();
    t.mm = leader.mm;
    t.mm->mm_users++;
    t.thread_stack = blk->block + guard;
    t.thread_dtv = blk->dtv;
    t.thread_stack_size = size;
    leader.threads.push_back(t.pid);
    // The new thread writes its descriptor and TLS at the top of its stack
    // (struct pthread plus static TLS: about two pages).
    k.clock.charge(k.costs.syscall);
    for (uint64_t off = 1; off <= 2; off++) {
        VmFault f = access_memory(k, t, t.thread_stack + size - off * PAGE_SIZE, Access::Write);
        if (f != VmFault::Minor && f != VmFault::Major) return Errno::NOMEM;
    }
    return &t;
}

// dup_task_struct(): the new task's task_struct and its kernel stack.
Result<void> dup_task_struct(Kernel& k, Task& t) {
    t.obj = SlabObject::alloc(k, &SlabState::task_struct);
    if (auto r = alloc_thread_stack_node(k, t); !r) return r;
    // account_kernel_stack(): NR_KERNEL_STACK_KB on each page's node.
    for (Pfn p : t.kernel_stack) mod_node_page_state(k.nodes[pfn_zone(k, p).node], NR_KERNEL_STACK, 4);
    return {};
}

namespace {

// The CPU's NR_CACHED_STACKS slots (the per-CPU array is sized on first
// use, when the CPUs are known).
std::array<uint64_t, 2>& cpu_cached_stacks(Kernel& k, std::size_t cpu) {
    if (k.cached_stacks.size() < k.cpus.size()) k.cached_stacks.resize(k.cpus.size());
    return k.cached_stacks[cpu];
}

}  // namespace

void free_thread_stack(Kernel& k, Task& t) {
    // try_release_thread_stack_to_cache() on the CPU the task last ran on:
    // a free slot takes the stack, unless one of its pages lies off that
    // CPU's node (and the node has memory). Otherwise the stack is
    // vfree()d once an RCU grace period has passed (at once here), which
    // leaves its range lazily freed until the next purge.
    const std::size_t cpu =
        static_cast<std::size_t>(t.cpu) < k.cpus.size() ? static_cast<std::size_t>(t.cpu) : 0;
    const int nid = k.cpus[cpu].node;
    bool local = true;
    if (nid < static_cast<int>(k.nodes.size()) && k.nodes[static_cast<std::size_t>(nid)].node_present_pages)
        for (Pfn p : t.kernel_stack)
            if (pfn_zone(k, p).node != nid) local = false;
    if (local)
        for (uint64_t& slot : cpu_cached_stacks(k, cpu))
            if (!slot) {
                slot = t.stack_vm_area;
                return;
            }
    vfree(k, t.stack_vm_area);
}

Result<void> alloc_thread_stack_node(Kernel& k, Task& t) {
    if (!k.vmalloc) {
        // A kernel without vmalloc (the test machines booted without the
        // slab allocator): the stack's pages straight from the buddy lists.
        for (unsigned i = 0; i < kKernelStackPages; i++) {
            MaybePfn p = alloc_pages(k, GFP_KERNEL | __GFP_ZERO, 0);
            if (!p) {
                for (Pfn q : t.kernel_stack) free_pages(k, q, 0);
                t.kernel_stack.clear();
                return Errno::NOMEM;
            }
            k.page(*p).refcount = 1;
            t.kernel_stack.push_back(*p);
        }
        return {};
    }
    // alloc_thread_stack_node_from_cache(): fork asks for no particular
    // node (NUMA_NO_NODE), so any stack this CPU cached will do.
    uint64_t addr = 0;
    for (uint64_t& slot : cpu_cached_stacks(k, static_cast<std::size_t>(k.current_cpu)))
        if (slot) {
            addr = std::exchange(slot, 0);
            break;
        }
    if (!addr) {
        // THREADINFO_GFP without __GFP_ACCOUNT (the stack is charged to a
        // cgroup when a task takes it), THREAD_ALIGN = THREAD_SIZE. The
        // caller is the return address in copy_process(), which this
        // build inlines into kernel_clone (the host's vmallocinfo shows
        // "kernel_clone+0xb8/0x400").
        auto a =
            vmalloc_node_range(k, kKernelStackPages * PAGE_SIZE, kKernelStackPages * PAGE_SIZE, VMALLOC_START,
                               VMALLOC_END, GFP_KERNEL | __GFP_ZERO, 0, -1, "kernel_clone+0xb8/0x400");
        if (!a) return Errno::NOMEM;
        addr = *a;
    }
    t.stack_vm_area = addr;
    t.kernel_stack = find_vm_area(k, addr)->pages;
    return {};
}

}  // namespace mmsim
