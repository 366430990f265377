// The memory access that hits the L1 dTLB, inline (mm/memory.c's callers'
// side of the simulated CPU; see memory.cpp for the whole path).
//
// A program's load or store whose page the L1 dTLB of its CPU already
// translates, with the rights the access needs, costs the simulator one
// tag comparison (the TLB's way predictor, CpuTlb::try_l1_user_hit()),
// the pseudo-LRU update, the hit counter and the simulated nanosecond of
// the hit. Everything else (another mm loaded, an STLB hit, a miss and its
// walk, a fault) goes out of line to access_memory_miss(), which does the
// full lookup as if the inline part had not been tried: the inline part
// changes nothing unless it is the whole answer.
//
// access_memory() (mm.h) is this function compiled once, for callers that
// do not loop; loops over many accesses include this header and call
// access_memory_inline() so the hit needs no call at all.
#pragma once

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/mm.h"
#include "mm/tlb.h"

namespace mmsim {

// access_memory() for anything but an L1 hit of the loaded mm.
[[gnu::noinline]] VmFault access_memory_miss(Kernel& k, Task& t, uint64_t addr, Access how);

static_assert(static_cast<int>(Access::Read) == static_cast<int>(TlbAccess::Read) &&
              static_cast<int>(Access::Write) == static_cast<int>(TlbAccess::Write) &&
              static_cast<int>(Access::Exec) == static_cast<int>(TlbAccess::Exec));

inline VmFault access_memory_inline(Kernel& k, Task& t, uint64_t addr, Access how) {
    CpuTlb& tlb = k.tlbs[static_cast<std::size_t>(t.cpu)];
    if (tlb.state.loaded_mm == &t.mm->tlb && tlb.try_l1_user_hit(addr, static_cast<TlbAccess>(how)))
        [[likely]] {
        k.clock.charge(k.costs.tlb_hit);
        return VmFault::Minor;
    }
    return access_memory_miss(k, t, addr, how);
}

}  // namespace mmsim
