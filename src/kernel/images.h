// The built-in program images: what execve() and the dynamic loader need to
// know about each program, as data (exec.cpp does the work).
//
// An image is an ELF executable plus the shared libraries ld.so loads for
// it, each described by its PT_LOAD program headers and its PT_GNU_RELRO
// range exactly as `readelf -lW` prints them for the Debian 12 files of the
// 6.18 host capture (tests/data/host-6.18/vm/images/elf/), and the size of
// the file. From those numbers alone exec.cpp rebuilds the address space
// the kernel and ld.so build, area for area.
//
// What the program then touches cannot be derived from headers: it depends
// on the code that ran. For the captured programs (hello, dash, bash) a
// residency table taken from the captured smaps says, for every area, how
// many pages were resident and how many of them anonymous; exec.cpp touches
// pages until the simulated smaps agrees. The synthetic "jvm" image has no
// capture and uses a default touch policy instead.
//
//   Image "dash"
//     exec path /bin/dash (what execve was given; comm is its basename)
//     exe       /usr/bin/dash            4 PT_LOADs, RELRO, 125640 bytes
//     libs      libc.so.6                (DT_NEEDED order)
//     heap      132 KiB (malloc's first sbrk)
//     residency {0x555555554000, 0x555555558000, rss 4, anon 0}, ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mmsim::images {

// One PT_LOAD program header. prot uses PROT_* bits (R=1, W=2, X=4).
struct LoadSegment {
    uint64_t offset = 0;  // p_offset
    uint64_t vaddr = 0;   // p_vaddr
    uint64_t filesz = 0;  // p_filesz
    uint64_t memsz = 0;   // p_memsz (> filesz: the rest is bss)
    unsigned prot = 0;
};

// An ELF file as the loaders see it.
struct ElfObject {
    std::string path;  // the resolved path /proc/PID/maps prints
    uint64_t file_size = 0;
    std::vector<LoadSegment> loads;            // in p_vaddr order
    uint64_t relro_vaddr = 0, relro_size = 0;  // PT_GNU_RELRO; size 0: none
};

// Captured residency of one area: [start, end) had `rss` pages resident,
// `anon` of them anonymous (Rss and Anonymous of smaps, in pages).
struct Residency {
    uint64_t start = 0, end = 0;
    uint32_t rss = 0, anon = 0;
};

// A mapping the program makes after startup (the synthetic jvm's heap,
// code cache and class space): `reserve` bytes PROT_NONE|MAP_NORESERVE,
// the first `commit` bytes then made read-write (plus exec when asked),
// the first `touch` pages of it written.
struct Reservation {
    std::string what;
    uint64_t reserve = 0;
    uint64_t commit = 0;
    bool exec = false;
    uint64_t touch = 0;
};

struct Image {
    std::string name;       // what spawn asks for: "dash", "sh", ...
    std::string exec_path;  // the filename given to execve (/bin/dash)
    const ElfObject* exe = nullptr;
    std::vector<const ElfObject*> libs;     // in ld.so's load order
    std::vector<std::string> default_argv;  // the captured command line
    uint64_t startup_malloc = 0;            // main()'s first malloc (stdio's buffer), bytes
    uint64_t heap_bytes = 0;                // the captured break after it (a check on the model)
    std::vector<Residency> residency;       // empty: the default policy
    std::vector<Reservation> reservations;
    bool synthetic = false;  // not from a capture
};

// ld.so (PT_INTERP of every image) and its cache file.
const ElfObject& ld_so();
inline constexpr std::string_view kLdSoCachePath = "/etc/ld.so.cache";
// The captures leave an 11-page hole where ld.so had mapped the cache
// before unmapping it, so the file is 10-11 pages long; its exact size was
// not captured. Any size in (40960, 45056] gives the same layout.
inline constexpr uint64_t kLdSoCacheSize = 43520;

// The image called `name`, or nullptr.
const Image* find(std::string_view name);
// Every image name, sorted.
std::vector<std::string> names();

}  // namespace mmsim::images
