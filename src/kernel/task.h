// Tasks: processes and threads (include/linux/sched.h, kernel/fork.c,
// kernel/exit.c, kernel/signal.c).
//
// A Task is one schedulable thread. Threads of one process share a thread
// group id (tgid, the pid of the first thread) and one MmStruct; a process
// created by fork() gets a copy of its parent's address space. The task
// table owns every task and hands out pids the way alloc_pid() does: the
// next free number, counting up. Low pids belong to init and the kernel
// threads, which the simulator does not run as processes, so the first
// simulated process gets pid kFirstPid.
//
// A task that exits becomes a zombie until its parent waits for it: its
// memory is already gone (exit_mm() at exit), but its pid, exit code and
// /proc/PID/stat remain, as on a real system.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mm/mm_struct.h"
#include "mmsim/result.h"
#include "mmsim/types.h"

namespace mmsim {

class Kernel;

enum class TaskState : uint8_t { Running, Sleeping, Stopped, Zombie, Dead };

// Signals the memory system raises or that scenarios send (x86 numbers).
// A namespace, not SIGSEGV and friends: <csignal> defines those as macros.
namespace Sig {
inline constexpr int HUP = 1, INT = 2, QUIT = 3, ILL = 4, ABRT = 6, BUS = 7, KILL = 9, USR1 = 10, SEGV = 11,
                     USR2 = 12, PIPE = 13, ALRM = 14, TERM = 15, CHLD = 17, CONT = 18, STOP = 19;
}  // namespace Sig
const char* signal_name(int sig);               // "SIGSEGV"
int signal_from_name(const std::string& name);  // "SEGV", "SIGSEGV", "11" -> 11; 0 if unknown

struct Task {
    int pid = 0;
    int tgid = 0;
    int ppid = 0;
    std::string comm;  // TASK_COMM_LEN: at most 15 characters
    std::vector<std::string> argv;
    std::string exe;  // the image's path (/proc/PID/exe)
    std::shared_ptr<MmStruct> mm;
    TaskState state = TaskState::Sleeping;
    int exit_code = 0;  // wait status: (code << 8) | signal
    int cpu = 0;
    int oom_score_adj = 0;
    int nice = 0;
    uint64_t min_flt = 0, maj_flt = 0;    // this task's faults
    uint64_t cmin_flt = 0, cmaj_flt = 0;  // waited-for children's
    Nanos start_time = 0;
    Nanos utime = 0, stime = 0;
    Nanos cutime = 0, cstime = 0;
    uint64_t thread_stack = 0;  // a non-leader thread: the start of its mmap'd stack
    uint64_t thread_stack_size = 0;
    uint64_t thread_dtv = 0;        // its DTV, a block of the process's malloc (src/libc/nptl_stack.h)
    std::vector<int> children;      // pids of processes this one forked or spawned
    std::vector<int> threads;       // leader only: tids of the other threads
    std::vector<Pfn> kernel_stack;  // THREAD_SIZE of kernel stack pages
    uint64_t stack_vm_area = 0;     // their vmalloc area (VMAP_STACK); 0 without vmalloc
    SlabObject obj;                 // its task_struct (freed when the task is reaped)
    uint64_t nvcsw = 0, nivcsw = 0;

    bool is_zombie() const { return state == TaskState::Zombie; }
    bool alive() const { return state != TaskState::Zombie && state != TaskState::Dead; }
    bool is_leader() const { return pid == tgid; }
};

class TaskTable {
public:
    static constexpr int kFirstPid = 1000;

    Task& create(int ppid);  // a new task with the next pid
    Task* find(int pid);
    const Task* find(int pid) const;
    void remove(int pid);  // after wait() reaps a zombie
    int last_pid() const { return m_next - 1; }
    uint32_t next_mm_id() { return ++m_mm_ids; }
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (auto& [pid, t] : m_tasks) fn(*t);
    }
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (auto& [pid, t] : m_tasks) fn(*t);
    }
    std::size_t size() const { return m_tasks.size(); }

private:
    std::map<int, std::unique_ptr<Task>> m_tasks;
    int m_next = kFirstPid;
    uint32_t m_mm_ids = 0;
};

// ---- process lifecycle ---------------------------------------------------------

// fork.cpp: fork(2): a new process with a copy of the parent's address
// space (dup_mmap + copy_page_range). ENOMEM when memory runs out.
Result<Task*> do_fork(Kernel& k, Task& parent);
// fork.cpp: a new thread of the process (pthread_create): glibc mmaps its
// stack (default 8 MiB, RLIMIT_STACK) with a guard page below, then
// clone(CLONE_VM | CLONE_THREAD ...) shares the address space.
Result<Task*> create_thread(Kernel& k, Task& leader, uint64_t stack_size);

// fork.cpp / exit.cpp: the task's kernel stack, THREAD_SIZE (16 KiB) of
// pages counted in KernelStack.
Result<void> dup_task_struct(Kernel& k, Task& t);
// The kernel stack (kernel/fork.c, CONFIG_VMAP_STACK): THREAD_SIZE (16 KiB)
// of vmalloc, taken from the CPU's two cached stacks when one is there;
// freed back to that cache, else vfree()d.
Result<void> alloc_thread_stack_node(Kernel& k, Task& t);
void free_thread_stack(Kernel& k, Task& t);
// At exit: the stack leaves KernelStack and goes (free_thread_stack()).
void free_kernel_stack(Kernel& k, Task& t);

// exit.cpp: exit_group(2): every thread ends, the address space goes
// (exit_mm), the process becomes a zombie until waited for.
void do_exit(Kernel& k, Task& t, int code);
// exit.cpp: exit(2) of one thread that is not the group leader (what
// pthread_exit ends in, after the C library's part, libc::thread_end).
void do_exit_thread(Kernel& k, Task& t);
// A fatal signal: the process dies with it (the exit status records it).
// A fault's SIGSEGV or SIGBUS also logs the kernel's "segfault at" line.
void force_fatal_signal(Kernel& k, Task& t, int sig, uint64_t addr, unsigned fault_flags,
                        const std::string& why);
// kill(2) with a signal whose default action ends the process (or SIGSTOP
// / SIGCONT). ESRCH for no such process, EINVAL for a bad signal.
Result<void> do_kill(Kernel& k, int pid, int sig);
// wait4(2): reaps the child (pid, or any child when pid is -1). Returns
// the pid reaped; ECHILD when there is none.
Result<int> do_wait(Kernel& k, Task& parent, int pid);

// exec.cpp: the built-in program images and execve(2).
std::vector<std::string> image_names();
bool image_exists(const std::string& name);
// A new process running the image (fork of the parent, or of nothing,
// then execve). ppid 0: a child of init.
Result<Task*> spawn_process(Kernel& k, const std::string& image, const std::vector<std::string>& argv,
                            int ppid);
// execve(2): replaces the address space with the image's.
Result<void> do_execve(Kernel& k, Task& t, const std::string& image, const std::vector<std::string>& argv);

}  // namespace mmsim
