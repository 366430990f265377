#include "mm/memmap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <new>

namespace mmsim {

namespace {

constexpr std::size_t kHostPage = 4096;

std::size_t round_up(std::size_t n) { return (n + kHostPage - 1) & ~(kHostPage - 1); }

}  // namespace

MemMap::MemMap(uint64_t max_pfn) : m_max_pfn(max_pfn) {
    uint64_t nr = max_pfn ? max_pfn : 1;
    uint64_t nr_chunks = (nr + kChunkMask) >> kChunkShift;
    // The in-place part covers whole chunks, so every chunk starts on a
    // host page (1024 descriptors of 28 bytes are seven pages).
    m_body_bytes = round_up(static_cast<std::size_t>(nr_chunks * kChunkBytes));
    m_bytes = m_body_bytes + round_up(static_cast<std::size_t>(nr_chunks * sizeof(Page)));
    void* p =
        mmap(nullptr, m_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    m_pages = static_cast<Page*>(p);
    m_heads = reinterpret_cast<Page*>(static_cast<char*>(p) + m_body_bytes);
    m_chunk_state.assign(nr_chunks, Untouched);
    m_chunk_flags.assign(nr_chunks, 0);
    m_nr_pageblocks = (nr + pageblock_nr_pages - 1) >> pageblock_order;
    m_pageblocks.assign(m_nr_pageblocks, 0);
    m_pageblock_table = m_pageblocks.data();
}

MemMap::~MemMap() {
    if (m_pages) munmap(m_pages, m_bytes);
    for (auto& t : m_templates) close(t.second);
}

int MemMap::template_fd(uint16_t flags) {
    for (auto& t : m_templates)
        if (t.first == flags) return t.second;
    int fd = memfd_create("mmsim-memmap", MFD_CLOEXEC);
    if (fd < 0) return -1;
    std::vector<Page> pages(kTemplateChunks * kChunkPages);
    for (auto& pg : pages) pg.flags = flags;
    const char* buf = reinterpret_cast<const char*>(pages.data());
    std::size_t len = pages.size() * sizeof(Page), done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += static_cast<std::size_t>(n);
    }
    m_templates.emplace_back(flags, fd);
    return fd;
}

void MemMap::map_template(uint64_t first_chunk, uint64_t nr_chunks, uint16_t flags) {
    int fd = template_fd(flags);
    for (uint64_t c = first_chunk; c < first_chunk + nr_chunks;) {
        uint64_t n = std::min(kTemplateChunks, first_chunk + nr_chunks - c);
        char* addr = reinterpret_cast<char*>(m_pages) + c * kChunkBytes;
        bool mapped = fd >= 0 && mmap(addr, n * kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
                                      fd, 0) != MAP_FAILED;
        for (uint64_t i = c; i < c + n; i++) {
            if (mapped) {
                m_chunk_state[i] = Template;
                m_chunk_flags[i] = flags;
            } else {
                // No template: write the descriptors after all.
                for (uint64_t p = (i << kChunkShift) + 1; p < ((i + 1) << kChunkShift); p++)
                    m_pages[p].flags = static_cast<uint16_t>(m_pages[p].flags | flags);
                m_chunk_state[i] = Written;
            }
        }
        c += n;
    }
}

void MemMap::init_flag_range(uint64_t start, uint64_t end, PageFlag f) {
    if (end > m_max_pfn) end = m_max_pfn;
    uint64_t p = start;
    while (p < end) {
        uint64_t chunk = p >> kChunkShift;
        uint64_t chunk_end = (chunk + 1) << kChunkShift;
        if ((p & kChunkMask) == 0 && chunk_end <= end && m_chunk_state[chunk] == Untouched &&
            kChunkBytes % kHostPage == 0) {
            // A run of whole untouched chunks: the template, and the heads by hand.
            uint64_t last = chunk;
            while (((last + 2) << kChunkShift) <= end && m_chunk_state[last + 1] == Untouched) last++;
            map_template(chunk, last - chunk + 1, f);
            for (uint64_t c = chunk; c <= last; c++) m_heads[c].set(f);
            p = (last + 1) << kChunkShift;
            continue;
        }
        uint64_t stop = std::min(end, chunk_end);
        if (m_chunk_state[chunk] == Template && (m_chunk_flags[chunk] & f) && (p & kChunkMask) == 0 &&
            stop == chunk_end) {
            // Already marked by the template (and its head by hand).
            m_heads[chunk].set(f);
            p = stop;
            continue;
        }
        if (m_chunk_state[chunk] == Untouched) m_chunk_state[chunk] = Written;
        for (; p < stop; p++) (*this)[p].set(f);
    }
}

}  // namespace mmsim
