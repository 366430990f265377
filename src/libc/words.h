// Words: the 8-byte words a simulated program's C library keeps in its own
// memory (malloc's chunk headers and list links), stored sparsely by
// address. An open-addressing table with linear probing: malloc's hot
// paths read and write a handful of words per call, so a lookup must cost
// a multiply and a load or two, not a node allocation. A word never
// written reads as 0, as fresh anonymous memory does. Words are never
// removed: like real memory they keep their last value until overwritten.
#pragma once

#include <cstdint>
#include <vector>

namespace mmsim::libc {

class Words {
public:
    Words() : m_keys(kInitial, kEmpty), m_vals(kInitial, 0), m_mask(kInitial - 1) {}

    uint64_t get(uint64_t addr) const {
        for (uint64_t i = slot(addr);; i = (i + 1) & m_mask) {
            if (m_keys[i] == addr) return m_vals[i];
            if (m_keys[i] == kEmpty) return 0;
        }
    }
    void set(uint64_t addr, uint64_t value) {
        for (uint64_t i = slot(addr);; i = (i + 1) & m_mask) {
            if (m_keys[i] == addr) {
                m_vals[i] = value;
                return;
            }
            if (m_keys[i] == kEmpty) {
                m_keys[i] = addr;
                m_vals[i] = value;
                if (++m_used * 2 > m_keys.size()) grow();
                return;
            }
        }
    }
    std::size_t size() const { return m_used; }

private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};  // no word sits at the last address
    static constexpr std::size_t kInitial = 1024;

    uint64_t slot(uint64_t addr) const { return ((addr >> 3) * 0x9E3779B97F4A7C15ull >> 20) & m_mask; }
    void grow() {
        std::vector<uint64_t> keys(m_keys.size() * 2, kEmpty), vals(m_keys.size() * 2, 0);
        keys.swap(m_keys);
        vals.swap(m_vals);
        m_mask = m_keys.size() - 1;
        m_used = 0;
        for (std::size_t i = 0; i < keys.size(); i++)
            if (keys[i] != kEmpty) set(keys[i], vals[i]);
    }

    std::vector<uint64_t> m_keys, m_vals;
    uint64_t m_mask;
    std::size_t m_used = 0;
};

}  // namespace mmsim::libc
