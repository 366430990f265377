// AddrMap: a map from user addresses to small records (malloc's outstanding
// allocations, for memleak), as an open-addressing table with linear
// probing and backward-shift deletion. malloc and free insert and erase one
// record each, so these must cost a multiply and a probe or two, not a tree
// node's allocation. Iteration is in table order; sort when order matters.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace mmsim::libc {

template <class V>
class AddrMap {
public:
    AddrMap() : m_keys(kInitial, kEmpty), m_vals(kInitial), m_mask(kInitial - 1) {}

    V* find(uint64_t key) {
        for (uint64_t i = slot(key);; i = (i + 1) & m_mask) {
            if (m_keys[i] == key) return &m_vals[i];
            if (m_keys[i] == kEmpty) return nullptr;
        }
    }
    const V* find(uint64_t key) const { return const_cast<AddrMap*>(this)->find(key); }

    void put(uint64_t key, const V& v) {
        for (uint64_t i = slot(key);; i = (i + 1) & m_mask) {
            if (m_keys[i] == key) {
                m_vals[i] = v;
                return;
            }
            if (m_keys[i] == kEmpty) {
                m_keys[i] = key;
                m_vals[i] = v;
                if (++m_used * 2 > m_keys.size()) grow();
                return;
            }
        }
    }

    bool erase(uint64_t key) {
        uint64_t i = slot(key);
        for (;; i = (i + 1) & m_mask) {
            if (m_keys[i] == kEmpty) return false;
            if (m_keys[i] == key) break;
        }
        // Backward shift: pull later entries of the probe run into the hole
        // unless their home slot lies cyclically after the hole.
        for (uint64_t j = (i + 1) & m_mask;; j = (j + 1) & m_mask) {
            if (m_keys[j] == kEmpty) break;
            uint64_t home = slot(m_keys[j]);
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            m_keys[i] = m_keys[j];
            m_vals[i] = m_vals[j];
            i = j;
        }
        m_keys[i] = kEmpty;
        m_vals[i] = V{};
        m_used--;
        return true;
    }

    std::size_t size() const { return m_used; }

    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < m_keys.size(); i++)
            if (m_keys[i] != kEmpty) f(m_keys[i], m_vals[i]);
    }

private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    static constexpr std::size_t kInitial = 64;

    uint64_t slot(uint64_t key) const { return ((key >> 4) * 0x9E3779B97F4A7C15ull >> 24) & m_mask; }
    void grow() {
        std::vector<uint64_t> keys(m_keys.size() * 2, kEmpty);
        std::vector<V> vals(m_keys.size() * 2);
        keys.swap(m_keys);
        vals.swap(m_vals);
        m_mask = m_keys.size() - 1;
        m_used = 0;
        for (std::size_t i = 0; i < keys.size(); i++)
            if (keys[i] != kEmpty) put(keys[i], vals[i]);
    }

    std::vector<uint64_t> m_keys;
    std::vector<V> m_vals;
    uint64_t m_mask;
    std::size_t m_used = 0;
};

}  // namespace mmsim::libc
