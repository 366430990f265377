// Small owned fixtures for tests: machines booted from inline TOML or a
// boot line, and files from tests/data.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "kernel/kernel.h"

namespace mmsim::test {

// Boots a machine from TOML text (see docs/machine-files.md).
std::unique_ptr<Kernel> boot_toml(std::string_view toml);
// Boots the x86-64 profile with this much RAM and these CPUs, as
// `boot ram=... cpus=...` would.
std::unique_ptr<Kernel> boot_ram(uint64_t ram_bytes, unsigned cpus = 2);
// The contents of tests/data/<rel>.
std::string read_data(const std::string& rel);
// The path of tests/data/<rel>.
std::string data_path(const std::string& rel);

}  // namespace mmsim::test
