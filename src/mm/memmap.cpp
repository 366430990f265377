#include "mm/memmap.h"

#include <sys/mman.h>

#include <new>

namespace mmsim {

MemMap::MemMap(uint64_t max_pfn) : m_max_pfn(max_pfn) {
    m_bytes = static_cast<std::size_t>(max_pfn ? max_pfn : 1) * sizeof(Page);
    void* p =
        mmap(nullptr, m_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    m_pages = static_cast<Page*>(p);
}

MemMap::~MemMap() {
    if (m_pages) munmap(m_pages, m_bytes);
}

}  // namespace mmsim
