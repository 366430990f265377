// A helper the benchmark programs share: a process with an empty address
// space, running on CPU 0, made the way a scenario's spawn makes one but
// without an image.
#pragma once

#include <stdexcept>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm.h"

namespace mmsim::bench {

inline Task& new_process(Kernel& k) {
    Task& t = k.tasks->create(1);
    auto mm = mm_alloc(k);
    if (!mm) throw std::runtime_error("mm_alloc failed");
    t.mm = *mm;
    t.mm->mm_users = 1;
    t.cpu = 0;
    t.state = TaskState::Running;
    return t;
}

}  // namespace mmsim::bench
