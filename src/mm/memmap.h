// The memmap: one Page descriptor per page frame, indexed by pfn.
//
// Linux keeps struct pages in a virtually contiguous array (vmemmap) so
// pfn_to_page() is an addition. Ours is the same idea: one anonymous
// host mapping of max_pfn descriptors. The host kernel hands out zeroed
// pages on first touch, so a descriptor costs host memory only once the
// simulation writes it (boot writes only the heads of free blocks), which is
// what lets a 1 TiB machine boot in well under a second.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmsim/mm_types.h"
#include "mmsim/types.h"

namespace mmsim {

class MemMap {
public:
    explicit MemMap(uint64_t max_pfn);
    ~MemMap();
    MemMap(const MemMap&) = delete;
    MemMap& operator=(const MemMap&) = delete;

    Page& operator[](uint64_t pfn) { return m_pages[pfn]; }
    const Page& operator[](uint64_t pfn) const { return m_pages[pfn]; }
    Page& at(Pfn pfn) { return m_pages[pfn.value]; }
    uint64_t max_pfn() const { return m_max_pfn; }
    // Host bytes of descriptor storage reserved (not all of it is touched).
    std::size_t bytes() const { return m_bytes; }

private:
    Page* m_pages = nullptr;
    uint64_t m_max_pfn = 0;
    std::size_t m_bytes = 0;
};

}  // namespace mmsim
