#include "support/fixtures.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "machine/machine.h"
#include "mm/mm_init.h"

namespace mmsim::test {

std::unique_ptr<Kernel> boot_toml(std::string_view toml, bool slab) {
    MachineDesc desc = parse_machine_toml(toml, "<test>");
    desc.slab = slab;
    return boot_kernel(desc);
}

std::unique_ptr<Kernel> boot_ram(uint64_t ram_bytes, unsigned cpus) {
    std::vector<BootArg> args{{"ram", std::to_string(ram_bytes), {}}, {"cpus", std::to_string(cpus), {}}};
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"<test>", 1, 1}));
}

std::unique_ptr<Kernel> boot_one_zone(uint64_t pages, unsigned cpus, const std::string& extra) {
    MachineDesc desc = parse_machine_toml(fmt::format(R"(arch = "explicit"
cpus = {}
[boot]
thp = "never"
[[zone]]
node = 0
type = "Normal"
start_pfn = 65536
spanned = {}
present = {}
managed = {}
{}
)",
                                                      cpus, pages, pages, pages, extra),
                                          "<test>");
    desc.slab = false;
    return boot_kernel(desc);
}

namespace fs = std::filesystem;

HostProcTree::HostProcTree() {
    static std::atomic<int> serial{0};
    fs::path root = fs::temp_directory_path() / fmt::format("mmsim-host-{}-{}", ::getpid(), serial++);
    m_root = root.string();
    fs::remove_all(root);
    fs::create_directories(root / "proc" / "sys" / "vm");
    fs::create_directories(root / "sys" / "kernel" / "mm" / "transparent_hugepage");
    for (const char* f : {"zoneinfo", "meminfo", "buddyinfo", "pagetypeinfo", "vmstat"})
        fs::copy_file(data_path(std::string("host-6.18/") + f), root / "proc" / f);
    fs::copy_file(data_path("host-6.18/extra/cpuinfo"), root / "proc" / "cpuinfo");
    fs::copy_file(data_path("host-6.18/extra/stat"), root / "proc" / "stat");
    for (const auto& e : fs::directory_iterator(data_path("host-6.18/extra/sys_vm")))
        fs::copy_file(e.path(), root / "proc" / "sys" / "vm" / e.path().filename());
    fs::copy_file(data_path("host-6.18/thp-enabled.txt"),
                  root / "sys" / "kernel" / "mm" / "transparent_hugepage" / "enabled");
}

HostProcTree::~HostProcTree() {
    std::error_code ec;
    fs::remove_all(m_root, ec);
}

std::string HostProcTree::proc() const { return (fs::path(m_root) / "proc").string(); }

std::string data_path(const std::string& rel) { return std::string(MMSIM_TEST_DATA) + "/" + rel; }

std::string read_data(const std::string& rel) {
    std::ifstream in(data_path(rel), std::ios::binary);
    if (!in) throw std::runtime_error("missing test data: " + rel);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace mmsim::test
