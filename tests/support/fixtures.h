// Small owned fixtures for tests: machines booted from inline TOML or a
// boot line, and files from tests/data.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "kernel/kernel.h"

namespace mmsim::test {

// Boots a machine from TOML text (see docs/machine-files.md). slab=false
// boots the page allocator alone (MachineDesc::slab).
std::unique_ptr<Kernel> boot_toml(std::string_view toml, bool slab = true);
// Boots the x86-64 profile with this much RAM and these CPUs, as
// `boot ram=... cpus=...` would.
std::unique_ptr<Kernel> boot_ram(uint64_t ram_bytes, unsigned cpus = 2);
// One node with one Normal zone of `pages` pages starting at pfn 65536 (so
// block arithmetic is visible), nothing reserved, THP off, and no slab
// allocator (MachineDesc::slab), so every page is the page allocator's and
// the tests' own; `extra` is appended to the TOML.
std::unique_ptr<Kernel> boot_one_zone(uint64_t pages, unsigned cpus = 1, const std::string& extra = "");
// A /proc tree (with its sibling sys/) built from the 6.18 host capture in
// tests/data/host-6.18, as clone-host expects to read it; removed when the
// object goes.
class HostProcTree {
public:
    HostProcTree();
    ~HostProcTree();
    HostProcTree(const HostProcTree&) = delete;
    HostProcTree& operator=(const HostProcTree&) = delete;
    std::string root() const { return m_root; }  // holds proc/ and sys/
    std::string proc() const;                    // ROOT/proc

private:
    std::string m_root;
};

// The contents of tests/data/<rel>.
std::string read_data(const std::string& rel);
// The path of tests/data/<rel>.
std::string data_path(const std::string& rel);

}  // namespace mmsim::test
