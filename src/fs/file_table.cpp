// Open files (fs/file_table.c). The essay is in file_table.h.
#include "fs/file_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "mm/filemap.h"
#include "mm/mm_struct.h"
#include "mm/page_alloc.h"
#include "mm/slub.h"

namespace mmsim {

File::File(Kernel& k, Inode& i)
    : inode(&i),
      kernel(&k),
      obj(SlabObject::alloc(k, &SlabState::filp)),
      security(SlabObject::alloc(k, &SlabState::lsm_file_cache)) {
    k.nr_files++;
}

File::~File() { kernel->nr_files--; }

FileRef open_file(Kernel& k, Inode& inode) { return std::make_shared<File>(k, inode); }

void files_maxfiles_init(Kernel& k) {
    const uint64_t nr_pages = k.totalram_pages;
    const uint64_t free =
        static_cast<uint64_t>(std::max<int64_t>(0, k.global_zone_page_state(NR_FREE_PAGES)));
    uint64_t memreserve = (nr_pages > free ? nr_pages - free : 0) * 3 / 2;
    memreserve = std::min(memreserve, nr_pages ? nr_pages - 1 : 0);
    const uint64_t n = ((nr_pages - memreserve) * (PAGE_SIZE / 1024)) / 10;
    k.max_files = std::max(n, NR_FILE);
}

}  // namespace mmsim

namespace mmsim {

void validate_files(const Kernel& k) {
    auto fail = [](const std::string& what) { throw std::logic_error("files: " + what); };
    // Every struct file is held by a mapping or an mm's exe_file, between
    // commands (a command's own open files are closed when it ends).
    std::unordered_set<const File*> held;
    std::unordered_set<const MmStruct*> seen;
    k.tasks->for_each([&](const Task& t) {
        if (!t.mm || !seen.insert(t.mm.get()).second) return;
        if (t.mm->exe_file) held.insert(t.mm->exe_file.get());
        for (const auto& [end, v] : t.mm->vmas) {
            if (v->vm_filp) {
                if (v->vm_filp->inode != v->vm_file)
                    fail(fmt::format("area {:#x}-{:#x}: its struct file is of another inode", v->vm_start,
                                     v->vm_end));
                held.insert(v->vm_filp.get());
            } else if (v->vm_file && v->special == SpecialMapping::None) {
                fail(fmt::format("area {:#x}-{:#x} maps {} without a struct file", v->vm_start, v->vm_end,
                                 v->vm_file->path));
            }
        }
    });
    if (static_cast<int64_t>(held.size()) != k.nr_files)
        fail(fmt::format("nr_files is {} but {} struct files are held", k.nr_files, held.size()));
}

}  // namespace mmsim
