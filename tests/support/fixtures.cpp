#include "support/fixtures.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "machine/machine.h"
#include "mm/mm_init.h"

namespace mmsim::test {

std::unique_ptr<Kernel> boot_toml(std::string_view toml) {
    return boot_kernel(parse_machine_toml(toml, "<test>"));
}

std::unique_ptr<Kernel> boot_ram(uint64_t ram_bytes, unsigned cpus) {
    std::vector<BootArg> args{{"ram", std::to_string(ram_bytes), {}}, {"cpus", std::to_string(cpus), {}}};
    return boot_kernel(machine_from_boot_args(args, SourceLoc{"<test>", 1, 1}));
}

std::string data_path(const std::string& rel) { return std::string(MMSIM_TEST_DATA) + "/" + rel; }

std::string read_data(const std::string& rel) {
    std::ifstream in(data_path(rel), std::ios::binary);
    if (!in) throw std::runtime_error("missing test data: " + rel);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace mmsim::test
