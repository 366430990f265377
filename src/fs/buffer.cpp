// Buffer heads (fs/buffer.c). The essay is in buffer.h.
#include "fs/buffer.h"

#include <stdexcept>
#include <string>

#include "kernel/kernel.h"
#include "mm/filemap.h"
#include "mm/slub.h"

namespace mmsim {

bool mapping_uses_buffers(const Inode& inode) { return !inode.shmem && !inode.kernel_pages; }

void create_empty_buffers(Kernel& k, Inode& inode, uint64_t index) {
    if (!mapping_uses_buffers(inode) || !inode.mapping.pages.count(index)) return;
    auto& heads = inode.mapping.buffers[index];
    if (!heads.empty()) return;
    // folio_alloc_buffers(): one head per block of the page.
    for (uint64_t b = 0; b < PAGE_SIZE / EXT4_BLOCK_SIZE; b++)
        heads.push_back(SlabObject::alloc(k, &SlabState::buffer_head, GFP_NOFS | __GFP_ACCOUNT));
}

void try_to_free_buffers(Inode& inode, uint64_t index) {
    if (!inode.mapping.buffers.empty()) inode.mapping.buffers.erase(index);
}

uint64_t page_buffers(const Inode& inode, uint64_t index) {
    auto it = inode.mapping.buffers.find(index);
    return it == inode.mapping.buffers.end() ? 0 : it->second.size();
}

void validate_buffers(const Kernel& k) {
    if (!k.files) return;
    k.files->for_each([&](const Inode& i) {
        for (const auto& [index, heads] : i.mapping.buffers) {
            if (!mapping_uses_buffers(i))
                throw std::logic_error("buffers: " + i.path + " has buffer heads but does not use them");
            if (!i.mapping.pages.count(index))
                throw std::logic_error("buffers: " + i.path + " index " + std::to_string(index) +
                                       " has buffer heads but no cached page");
            if (heads.size() != PAGE_SIZE / EXT4_BLOCK_SIZE)
                throw std::logic_error("buffers: " + i.path + " index " + std::to_string(index) + " has " +
                                       std::to_string(heads.size()) + " buffer heads");
        }
    });
}

}  // namespace mmsim
