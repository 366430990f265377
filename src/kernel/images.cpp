// The built-in program images (see images.h).
//
// The ELF numbers below are the PT_LOAD and PT_GNU_RELRO lines of
// `readelf -lW` for the Debian 12 binaries on the 6.18 capture host
// (tests/data/host-6.18/vm/images/elf/), the file sizes are from `ls -lL`
// there. The residency tables are the Rss and Anonymous lines of the
// captured smaps, one row per area, in pages ([vsyscall] left out: it is
// not an area). The "jvm" image is synthetic: no capture, plausible numbers.
#include "kernel/images.h"

#include <algorithm>
#include <map>

namespace mmsim::images {

namespace {

constexpr unsigned R = 1, W = 2, X = 4;

// ---- the captured files ---------------------------------------------------------------

const ElfObject kLdSo{"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                      215000,
                      {{0x000000, 0x000000, 0x000d58, 0x000d58, R},
                       {0x001000, 0x001000, 0x025111, 0x025111, R | X},
                       {0x027000, 0x027000, 0x009c7c, 0x009c7c, R},
                       {0x031900, 0x031900, 0x002810, 0x0029d8, R | W}},
                      0x031900,
                      0x001700};

const ElfObject kLibc{"/usr/lib/x86_64-linux-gnu/libc.so.6",
                      1926232,
                      {{0x000000, 0x000000, 0x025388, 0x025388, R},
                       {0x026000, 0x026000, 0x1550fc, 0x1550fc, R | X},
                       {0x17c000, 0x17c000, 0x052c31, 0x052c31, R},
                       {0x1cf8d0, 0x1cf8d0, 0x004f98, 0x012680, R | W}},
                      0x1cf8d0,
                      0x003730};

const ElfObject kLibtinfo{"/usr/lib/x86_64-linux-gnu/libtinfo.so.6.4",
                          204088,
                          {{0x000000, 0x000000, 0x00e0a0, 0x00e0a0, R},
                           {0x00f000, 0x00f000, 0x0103e1, 0x0103e1, R | X},
                           {0x020000, 0x020000, 0x00d7e8, 0x00d7e8, R},
                           {0x02d850, 0x02e850, 0x003c5c, 0x0040f0, R | W}},
                          0x02e850,
                          0x0037b0};

const ElfObject kBash{"/usr/bin/bash",
                      1265648,
                      {{0x000000, 0x000000, 0x02ed48, 0x02ed48, R},
                       {0x02f000, 0x02f000, 0x0c0b9d, 0x0c0b9d, R | X},
                       {0x0f0000, 0x0f0000, 0x037f44, 0x037f44, R},
                       {0x128af0, 0x128af0, 0x00bc74, 0x016cf0, R | W}},
                      0x128af0,
                      0x003510};

const ElfObject kDash{"/usr/bin/dash",
                      125640,
                      {{0x000000, 0x000000, 0x0036d8, 0x0036d8, R},
                       {0x004000, 0x004000, 0x012bb9, 0x012bb9, R | X},
                       {0x017000, 0x017000, 0x005864, 0x005864, R},
                       {0x01ce30, 0x01de30, 0x001410, 0x004140, R | W}},
                      0x01de30,
                      0x0011d0};

const ElfObject kHello{"/tmp/vmcap/hello",
                       16104,
                       {{0x000000, 0x000000, 0x0006c0, 0x0006c0, R},
                        {0x001000, 0x001000, 0x00018d, 0x00018d, R | X},
                        {0x002000, 0x002000, 0x0000e0, 0x0000e0, R},
                        {0x002dd0, 0x003dd0, 0x000258, 0x000268, R | W}},
                       0x003dd0,
                       0x000230};

// The real-glibc oracle of the malloc model (tests/data/host-6.18/malloc):
// its statics (a 64 KiB read buffer, 4096 pointers) make an anonymous bss.
const ElfObject kMallocSteps{"/tmp/mo/malloc_steps",
                             17064,
                             {{0x000000, 0x000000, 0x0009f0, 0x0009f0, R},
                              {0x001000, 0x001000, 0x000815, 0x000815, R | X},
                              {0x002000, 0x002000, 0x00031c, 0x00031c, R},
                              {0x002dd0, 0x003dd0, 0x0002d0, 0x018310, R | W}},
                             0x003dd0,
                             0x000230};

// Captured images/hello/smaps.
const std::vector<Residency> kHelloResidency = {
    {0x555555554000, 0x555555555000, 1, 0},    // r--p hello
    {0x555555555000, 0x555555556000, 1, 0},    // r-xp hello
    {0x555555556000, 0x555555557000, 1, 0},    // r--p hello
    {0x555555557000, 0x555555558000, 1, 1},    // r--p hello
    {0x555555558000, 0x555555559000, 1, 1},    // rw-p hello
    {0x555555559000, 0x55555557a000, 2, 2},    // rw-p [heap]
    {0x7ffff7dd0000, 0x7ffff7dd3000, 2, 2},    // rw-p anon
    {0x7ffff7dd3000, 0x7ffff7df9000, 38, 0},   // r--p libc.so.6
    {0x7ffff7df9000, 0x7ffff7f4f000, 183, 0},  // r-xp libc.so.6
    {0x7ffff7f4f000, 0x7ffff7fa2000, 16, 0},   // r--p libc.so.6
    {0x7ffff7fa2000, 0x7ffff7fa6000, 4, 4},    // r--p libc.so.6
    {0x7ffff7fa6000, 0x7ffff7fa8000, 2, 2},    // rw-p libc.so.6
    {0x7ffff7fa8000, 0x7ffff7fb5000, 5, 5},    // rw-p anon
    {0x7ffff7fc0000, 0x7ffff7fc2000, 1, 1},    // rw-p anon
    {0x7ffff7fc2000, 0x7ffff7fc6000, 0, 0},    // r--p [vvar]
    {0x7ffff7fc6000, 0x7ffff7fc8000, 0, 0},    // r--p [vvar_vclock]
    {0x7ffff7fc8000, 0x7ffff7fca000, 1, 0},    // r-xp [vdso]
    {0x7ffff7fca000, 0x7ffff7fcb000, 1, 0},    // r--p ld-linux-x86-64.so.2
    {0x7ffff7fcb000, 0x7ffff7ff1000, 37, 0},   // r-xp ld-linux-x86-64.so.2
    {0x7ffff7ff1000, 0x7ffff7ffb000, 10, 0},   // r--p ld-linux-x86-64.so.2
    {0x7ffff7ffb000, 0x7ffff7ffd000, 2, 2},    // r--p ld-linux-x86-64.so.2
    {0x7ffff7ffd000, 0x7ffff7fff000, 2, 2},    // rw-p ld-linux-x86-64.so.2
    {0x7ffffffde000, 0x7ffffffff000, 2, 2},    // rw-p [stack]
};

// Captured images/dash/smaps.
const std::vector<Residency> kDashResidency = {
    {0x555555554000, 0x555555558000, 4, 0},    // r--p dash
    {0x555555558000, 0x55555556b000, 19, 0},   // r-xp dash
    {0x55555556b000, 0x555555571000, 6, 0},    // r--p dash
    {0x555555571000, 0x555555573000, 2, 2},    // r--p dash
    {0x555555573000, 0x555555574000, 1, 1},    // rw-p dash
    {0x555555574000, 0x555555576000, 1, 1},    // rw-p anon
    {0x555555576000, 0x555555597000, 2, 2},    // rw-p [heap]
    {0x7ffff7dd0000, 0x7ffff7dd3000, 2, 2},    // rw-p anon
    {0x7ffff7dd3000, 0x7ffff7df9000, 38, 0},   // r--p libc.so.6
    {0x7ffff7df9000, 0x7ffff7f4f000, 230, 0},  // r-xp libc.so.6
    {0x7ffff7f4f000, 0x7ffff7fa2000, 32, 0},   // r--p libc.so.6
    {0x7ffff7fa2000, 0x7ffff7fa6000, 4, 4},    // r--p libc.so.6
    {0x7ffff7fa6000, 0x7ffff7fa8000, 2, 2},    // rw-p libc.so.6
    {0x7ffff7fa8000, 0x7ffff7fb5000, 5, 5},    // rw-p anon
    {0x7ffff7fc0000, 0x7ffff7fc2000, 1, 1},    // rw-p anon
    {0x7ffff7fc2000, 0x7ffff7fc6000, 0, 0},    // r--p [vvar]
    {0x7ffff7fc6000, 0x7ffff7fc8000, 0, 0},    // r--p [vvar_vclock]
    {0x7ffff7fc8000, 0x7ffff7fca000, 1, 0},    // r-xp [vdso]
    {0x7ffff7fca000, 0x7ffff7fcb000, 1, 0},    // r--p ld-linux-x86-64.so.2
    {0x7ffff7fcb000, 0x7ffff7ff1000, 37, 0},   // r-xp ld-linux-x86-64.so.2
    {0x7ffff7ff1000, 0x7ffff7ffb000, 10, 0},   // r--p ld-linux-x86-64.so.2
    {0x7ffff7ffb000, 0x7ffff7ffd000, 2, 2},    // r--p ld-linux-x86-64.so.2
    {0x7ffff7ffd000, 0x7ffff7fff000, 2, 2},    // rw-p ld-linux-x86-64.so.2
    {0x7ffffffde000, 0x7ffffffff000, 2, 2},    // rw-p [stack]
};

// Captured images/bash/smaps.
const std::vector<Residency> kBashResidency = {
    {0x555555554000, 0x555555583000, 47, 0},   // r--p bash
    {0x555555583000, 0x555555644000, 157, 0},  // r-xp bash
    {0x555555644000, 0x55555567c000, 28, 0},   // r--p bash
    {0x55555567c000, 0x555555680000, 4, 4},    // r--p bash
    {0x555555680000, 0x555555689000, 9, 9},    // rw-p bash
    {0x555555689000, 0x555555694000, 7, 7},    // rw-p anon
    {0x555555694000, 0x5555556b5000, 15, 15},  // rw-p [heap]
    {0x7ffff7d9d000, 0x7ffff7da0000, 2, 2},    // rw-p anon
    {0x7ffff7da0000, 0x7ffff7dc6000, 38, 0},   // r--p libc.so.6
    {0x7ffff7dc6000, 0x7ffff7f1c000, 262, 0},  // r-xp libc.so.6
    {0x7ffff7f1c000, 0x7ffff7f6f000, 48, 0},   // r--p libc.so.6
    {0x7ffff7f6f000, 0x7ffff7f73000, 4, 4},    // r--p libc.so.6
    {0x7ffff7f73000, 0x7ffff7f75000, 2, 2},    // rw-p libc.so.6
    {0x7ffff7f75000, 0x7ffff7f82000, 6, 6},    // rw-p anon
    {0x7ffff7f82000, 0x7ffff7f91000, 15, 0},   // r--p libtinfo.so.6.4
    {0x7ffff7f91000, 0x7ffff7fa2000, 16, 0},   // r-xp libtinfo.so.6.4
    {0x7ffff7fa2000, 0x7ffff7fb0000, 0, 0},    // r--p libtinfo.so.6.4
    {0x7ffff7fb0000, 0x7ffff7fb4000, 4, 4},    // r--p libtinfo.so.6.4
    {0x7ffff7fb4000, 0x7ffff7fb5000, 1, 1},    // rw-p libtinfo.so.6.4
    {0x7ffff7fc0000, 0x7ffff7fc2000, 2, 2},    // rw-p anon
    {0x7ffff7fc2000, 0x7ffff7fc6000, 0, 0},    // r--p [vvar]
    {0x7ffff7fc6000, 0x7ffff7fc8000, 0, 0},    // r--p [vvar_vclock]
    {0x7ffff7fc8000, 0x7ffff7fca000, 1, 0},    // r-xp [vdso]
    {0x7ffff7fca000, 0x7ffff7fcb000, 1, 0},    // r--p ld-linux-x86-64.so.2
    {0x7ffff7fcb000, 0x7ffff7ff1000, 37, 0},   // r-xp ld-linux-x86-64.so.2
    {0x7ffff7ff1000, 0x7ffff7ffb000, 10, 0},   // r--p ld-linux-x86-64.so.2
    {0x7ffff7ffb000, 0x7ffff7ffd000, 2, 2},    // r--p ld-linux-x86-64.so.2
    {0x7ffff7ffd000, 0x7ffff7fff000, 2, 2},    // rw-p ld-linux-x86-64.so.2
    {0x7ffffffde000, 0x7ffffffff000, 2, 2},    // rw-p [stack]
};
// ---- the synthetic jvm ----------------------------------------------------------------

// A shared object laid out the way GNU ld lays out a typical -z relro
// -z separate-code library: headers and symbol tables (r--), text (r-x),
// read-only data (r--), then one r-w segment starting just past a page
// boundary that opens with the RELRO part (GOT, .data.rel.ro) and ends in
// .data and the bss. Sizes in bytes.
ElfObject synthetic_object(std::string path, uint64_t text, uint64_t rodata, uint64_t relro, uint64_t data,
                           uint64_t bss) {
    auto up = [](uint64_t v) { return (v + 0xfff) & ~uint64_t{0xfff}; };
    uint64_t hdr = std::max<uint64_t>(0x7a0, text / 8);
    uint64_t t0 = up(hdr), r0 = up(t0 + text), w0 = up(r0 + rodata) + 0x8d0;
    ElfObject o;
    o.path = std::move(path);
    o.loads = {{0, 0, hdr, hdr, R},
               {t0, t0, text, text, R | X},
               {r0, r0, rodata, rodata, R},
               {w0, w0, relro + data, relro + data + bss, R | W}};
    o.relro_vaddr = w0;
    o.relro_size = relro;
    o.file_size = w0 + relro + data + 0x2000;  // plus section headers and .symtab
    return o;
}

struct Synthetic {
    ElfObject java;
    std::vector<ElfObject> libs;
};

const Synthetic& synthetic() {
    static const Synthetic s = [] {
        const std::string jdk = "/usr/lib/jvm/java-17-openjdk-amd64/lib/";
        const std::string sys = "/usr/lib/x86_64-linux-gnu/";
        Synthetic r;
        r.java =
            synthetic_object("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", 0x2f9, 0x1a8, 0x2b0, 0x10, 0x8);
        // In ld.so's breadth-first load order: the launcher's DT_NEEDED, then
        // libjvm's, then what the class library loads with dlopen.
        r.libs = {
            synthetic_object(sys + "libz.so.1.2.13", 0x13d51, 0x4a00, 0x2c0, 0x40, 0x10),
            synthetic_object(jdk + "libjli.so", 0x9c21, 0x2b40, 0x3d0, 0x1c0, 0x3a0),
            synthetic_object(jdk + "server/libjvm.so", 0xd80000, 0x1f4000, 0x9c000, 0x2d000, 0xc0000),
            synthetic_object(sys + "libstdc++.so.6.0.30", 0x111000, 0x43000, 0xe000, 0x1500, 0x3600),
            synthetic_object(sys + "libm.so.6", 0x77000, 0x5e000, 0x1000, 0x200, 0x8),
            synthetic_object(sys + "libgcc_s.so.1", 0x15000, 0x3600, 0x800, 0x100, 0x20),
            synthetic_object(jdk + "libjimage.so", 0xb000, 0x1800, 0x1000, 0x80, 0x40),
            synthetic_object(jdk + "libjava.so", 0x18000, 0x5000, 0x800, 0x300, 0x1200),
            synthetic_object(jdk + "libzip.so", 0x4000, 0x800, 0x200, 0x40, 0x20),
            synthetic_object(jdk + "libjsvml.so", 0x10c000, 0x2000, 0x200, 0x40, 0x8),
            synthetic_object(jdk + "libnio.so", 0x9000, 0x1800, 0x300, 0x80, 0x60),
            synthetic_object(jdk + "libnet.so", 0xf000, 0x2800, 0x400, 0x100, 0x200),
            synthetic_object(jdk + "libmanagement.so", 0x4000, 0xa00, 0x200, 0x40, 0x40),
            synthetic_object(jdk + "libmanagement_ext.so", 0x5000, 0xc00, 0x200, 0x40, 0x40),
            synthetic_object(jdk + "libextnet.so", 0x1000, 0x400, 0x200, 0x40, 0x8),
            synthetic_object(jdk + "libinstrument.so", 0x8000, 0x1400, 0x300, 0x80, 0x40),
            synthetic_object(jdk + "libattach.so", 0x2000, 0x600, 0x200, 0x40, 0x8),
            synthetic_object(jdk + "libawt.so", 0xa8000, 0x1d000, 0x3000, 0x1800, 0x4800),
            synthetic_object(jdk + "libawt_headless.so", 0x8000, 0x1c00, 0x800, 0x80, 0x40),
            synthetic_object(jdk + "libverify.so", 0x9000, 0x1200, 0x200, 0x40, 0x20),
        };
        return r;
    }();
    return s;
}

// ---- the table ------------------------------------------------------------------------

std::vector<Image> build_images() {
    std::vector<Image> v;
    Image hello;
    hello.name = "hello";
    hello.exec_path = "/tmp/vmcap/hello";
    hello.exe = &kHello;
    hello.libs = {&kLibc};
    hello.default_argv = {"/tmp/vmcap/hello"};
    hello.startup_malloc = 4096;  // printf's buffer (st_blksize of the captured stdout)
    hello.heap_bytes = 0x21000;   // malloc's first sbrk: the request, M_TOP_PAD and MINSIZE, page-rounded
    hello.residency = kHelloResidency;
    v.push_back(hello);

    Image dash;
    dash.name = "dash";
    dash.exec_path = "/bin/dash";
    dash.exe = &kDash;
    dash.libs = {&kLibc};
    dash.default_argv = {"/bin/dash", "-c", "read x"};
    dash.startup_malloc = 4096;
    dash.heap_bytes = 0x21000;
    dash.residency = kDashResidency;
    v.push_back(dash);

    Image sh = dash;  // /bin/sh is a symbolic link to dash on Debian
    sh.name = "sh";
    sh.exec_path = "/bin/sh";
    sh.default_argv = {"/bin/sh", "-c", "read x"};
    v.push_back(sh);

    Image bash;
    bash.name = "bash";
    bash.exec_path = "/bin/bash";
    bash.exe = &kBash;
    bash.libs = {&kLibtinfo, &kLibc};
    bash.default_argv = {"/bin/bash", "-c", "read -r x"};
    bash.startup_malloc = 4096;
    bash.heap_bytes = 0x21000;
    bash.residency = kBashResidency;
    v.push_back(bash);

    Image steps;
    steps.name = "malloc_steps";
    steps.exec_path = "/tmp/mo/malloc_steps";
    steps.exe = &kMallocSteps;
    steps.libs = {&kLibc};
    steps.default_argv = {"./malloc_steps"};
    // No stdio: its first malloc is the first step's, so it starts with no heap.
    v.push_back(steps);

    const Synthetic& s = synthetic();
    Image jvm;
    jvm.name = "jvm";
    jvm.exec_path = "/usr/bin/java";
    jvm.exe = &s.java;
    // libc comes third in the launcher's DT_NEEDED list, the rest follow.
    jvm.libs = {&s.libs[0], &s.libs[1], &kLibc};
    for (std::size_t i = 2; i < s.libs.size(); i++) jvm.libs.push_back(&s.libs[i]);
    jvm.default_argv = {"java", "-Xmx256m", "-jar", "app.jar"};
    jvm.startup_malloc = 4096;
    jvm.heap_bytes = 0x21000;
    jvm.reservations = {
        // G1's heap: the -Xmx reservation, the initial heap committed.
        {"java heap", 256ull << 20, 16ull << 20, false, 1024},
        // The compressed class space is reserved whole (1 GiB) at startup.
        {"class space", 1ull << 30, 256ull << 10, false, 48},
        // The segmented code cache: 240 MiB reserved, 2496 KiB committed.
        {"code cache", 240ull << 20, 2496ull << 10, true, 160},
        {"metaspace", 8ull << 20, 512ull << 10, false, 96},
    };
    jvm.synthetic = true;
    v.push_back(jvm);
    return v;
}

const std::vector<Image>& all_images() {
    static const std::vector<Image> v = build_images();
    return v;
}

}  // namespace

const ElfObject& ld_so() { return kLdSo; }

const Image* find(std::string_view name) {
    for (const Image& i : all_images())
        if (i.name == name) return &i;
    return nullptr;
}

std::vector<std::string> names() {
    std::vector<std::string> n;
    for (const Image& i : all_images()) n.push_back(i.name);
    std::sort(n.begin(), n.end());
    return n;
}

}  // namespace mmsim::images
