// Process exit, signals and wait (kernel/exit.c, kernel/signal.c,
// arch/x86/mm/fault.c's show_signal_msg).
//
// When a process exits, each thread drops its hold on the address space
// (exit_mm); the last one tears it down (exit_mmap): every page is unmapped
// and freed unless someone else maps it, every page table goes back to the
// allocator, the overcommit charge is returned. The task itself stays as a
// zombie holding only its pid and exit status until its parent waits for
// it. Children of a dying process are handed to init, which reaps them.
//
// A fault the kernel cannot resolve (no area, no permission, beyond the end
// of a file) sends Sig::SEGV or Sig::BUS; with no handler the process dies, and
// the kernel logs a line such as
//   hello[1000]: segfault at 0 ip 0000000000000000 sp 0000000000000000 error 4 likely on CPU 0 (core 0,
//   socket 0) Code: Unable to access opcode bytes at 0xffffffffffffffd6.
// (show_unhandled_signals is 1 by default). The simulated programs have no
// instruction pointer, so ip and sp print as zero.
#include <fmt/format.h>

#include <algorithm>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/pgtable.h"
#include "mm/vmstat.h"

namespace mmsim {

namespace {

// exit_mm(): the thread lets go of the address space.
void exit_mm(Kernel& k, Task& t) {
    if (!t.mm) return;
    std::shared_ptr<MmStruct> mm = std::move(t.mm);
    t.mm = nullptr;
    if (--mm->mm_users == 0) exit_mmap(k, *mm);
}

// release_task() of a reaped zombie or an exited thread.
void release_task(Kernel& k, Task& t) {
    if (t.tgid != t.pid) {
        if (Task* leader = k.tasks->find(t.tgid)) {
            auto& th = leader->threads;
            th.erase(std::remove(th.begin(), th.end(), t.pid), th.end());
        }
    }
    k.tasks->remove(t.pid);
}

void reap_into_parent(Kernel& k, Task& child) {
    if (Task* parent = k.tasks->find(child.ppid)) {
        parent->cmin_flt += child.min_flt + child.cmin_flt;
        parent->cmaj_flt += child.maj_flt + child.cmaj_flt;
        parent->cutime += child.utime + child.cutime;
        parent->cstime += child.stime + child.cstime;
        auto& ch = parent->children;
        ch.erase(std::remove(ch.begin(), ch.end(), child.pid), ch.end());
    }
    release_task(k, child);
}

}  // namespace

void do_exit(Kernel& k, Task& t_in, int code) {
    Task* leader = k.tasks->find(t_in.tgid);
    if (!leader || !leader->alive()) return;
    // Every thread of the group goes (do_group_exit).
    std::vector<int> threads = leader->threads;
    for (int tid : threads) {
        Task* th = k.tasks->find(tid);
        if (!th) continue;
        exit_mm(k, *th);
        free_kernel_stack(k, *th);
        release_task(k, *th);
    }
    exit_mm(k, *leader);
    free_kernel_stack(k, *leader);
    leader->exit_code = code;
    leader->state = TaskState::Zombie;
    // forget_original_parent(): children go to init, which reaps zombies.
    std::vector<int> kids = leader->children;
    for (int pid : kids) {
        Task* c = k.tasks->find(pid);
        if (!c) continue;
        c->ppid = 1;
        if (c->is_zombie()) release_task(k, *c);
    }
    leader->children.clear();
    // A child of init (or of nothing the simulation runs) is reaped at once.
    if (!k.tasks->find(leader->ppid)) release_task(k, *leader);
}

void do_exit_thread(Kernel& k, Task& t) {
    if (t.is_leader() || !t.alive()) return;
    // exit(2) of one thread: it lets go of the address space and its
    // kernel stack; with no one to wait for it, it is released at once.
    exit_mm(k, t);
    free_kernel_stack(k, t);
    release_task(k, t);
}

void force_fatal_signal(Kernel& k, Task& t, int sig, uint64_t addr, unsigned fault_flags,
                        const std::string& /*why*/) {
    if (sig == Sig::SEGV) {
        // The x86 page-fault error code: bit 0 the page was present (a
        // protection fault), bit 1 write, bit 2 user mode, bit 4 fetch.
        unsigned error = 4;
        const uint64_t* pte = t.mm ? pte_lookup(k, *t.mm, addr) : nullptr;
        if (pte && pte_present(*pte)) error |= 1;
        if (fault_flags & FAULT_FLAG_WRITE) error |= 2;
        if (fault_flags & FAULT_FLAG_INSTRUCTION) error |= 0x10;
        // show_signal_msg(): the simulated programs have no registers, so
        // ip and sp print as zero; show_opcodes() then cannot read the 42
        // bytes before ip (0 - 42 is no user address) and says so.
        k.log.printk(
            k.clock.now(), LogLevel::Info,
            fmt::format("{}[{}]: segfault at {:x} ip 0000000000000000 sp 0000000000000000 error {:x} "
                        "likely on CPU {} (core {}, socket {})",
                        t.comm, t.tgid, addr, error, t.cpu, topology_core_id(k, t.cpu),
                        topology_physical_package_id(k, t.cpu)));
        k.log.printk(k.clock.now(), LogLevel::Info,
                     fmt::format("Code: Unable to access opcode bytes at 0x{:x}.", uint64_t(0) - 42));
    }
    do_exit(k, t, sig);
}

Result<void> do_kill(Kernel& k, int pid, int sig) {
    Task* t = k.tasks->find(pid);
    if (!t || !t->alive()) {
        if (t && t->is_zombie() && sig >= 0) return {};  // signalling a zombie succeeds and does nothing
        return Errno::SRCH;
    }
    if (sig < 0 || sig > 64) return Errno::INVAL;
    if (sig == 0) return {};
    switch (sig) {
        case Sig::STOP:
            t->state = TaskState::Stopped;
            return {};
        case Sig::CONT:
            if (t->state == TaskState::Stopped) t->state = TaskState::Sleeping;
            return {};
        case Sig::CHLD:
            return {};  // ignored by default
        default:
            do_exit(k, *t, sig);
            return {};
    }
}

Result<int> do_wait(Kernel& k, Task& parent, int pid) {
    std::vector<int> kids = parent.children;
    bool any = false;
    for (int c : kids) {
        if (pid != -1 && c != pid) continue;
        Task* child = k.tasks->find(c);
        if (!child) continue;
        any = true;
        if (child->is_zombie()) {
            int reaped = child->pid;
            reap_into_parent(k, *child);
            return reaped;
        }
    }
    return any ? Errno::AGAIN : Errno::CHILD;
}

void free_kernel_stack(Kernel& k, Task& t) {
    // exit_task_stack_account(): the stack leaves NR_KERNEL_STACK_KB.
    for (Pfn p : t.kernel_stack) mod_node_page_state(k.nodes[pfn_zone(k, p).node], NR_KERNEL_STACK, -4);
    if (t.stack_vm_area) {
        free_thread_stack(k, t);
    } else {
        for (Pfn p : t.kernel_stack) {
            k.page(p).refcount = 0;
            free_pages(k, p, 0);
        }
    }
    t.kernel_stack.clear();
    t.stack_vm_area = 0;
}

}  // namespace mmsim
