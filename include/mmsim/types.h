// Strong types for the quantities the simulator juggles.
//
// A page frame number, a physical address and a virtual address are all
// 64-bit integers in the kernel, and mixing them up is a classic bug. Here
// each is its own type: Pfn + 1 is the next frame, PhysAddr(pfn) needs an
// explicit conversion, and a VirtAddr never silently becomes a Pfn.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>

namespace mmsim {

inline constexpr unsigned PAGE_SHIFT = 12;
inline constexpr uint64_t PAGE_SIZE = uint64_t{1} << PAGE_SHIFT;

// The buddy allocator's orders: 0 .. MAX_PAGE_ORDER inclusive (x86-64's
// default CONFIG_ARCH_FORCE_MAX_ORDER is 10, so blocks up to 4 MiB).
inline constexpr unsigned MAX_PAGE_ORDER = 10;
inline constexpr unsigned NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
inline constexpr uint64_t MAX_ORDER_NR_PAGES = uint64_t{1} << MAX_PAGE_ORDER;

// A pageblock is the unit that carries a migratetype. On x86-64 with THP it
// is the PMD size: order 9, 512 pages, 2 MiB.
inline constexpr unsigned pageblock_order = 9;
inline constexpr uint64_t pageblock_nr_pages = uint64_t{1} << pageblock_order;

// Orders above this are "costly": the allocator tries less hard for them.
inline constexpr unsigned PAGE_ALLOC_COSTLY_ORDER = 3;

// x86-64's PMD order, used for the THP entry of the per-CPU lists.
inline constexpr unsigned HPAGE_PMD_ORDER = 9;

struct Pfn {
    uint64_t value = 0;
    constexpr Pfn() = default;
    constexpr explicit Pfn(uint64_t v) : value(v) {}
    constexpr Pfn operator+(uint64_t n) const { return Pfn(value + n); }
    constexpr Pfn operator-(uint64_t n) const { return Pfn(value - n); }
    constexpr uint64_t operator-(Pfn o) const { return value - o.value; }
    constexpr Pfn& operator+=(uint64_t n) {
        value += n;
        return *this;
    }
    constexpr auto operator<=>(const Pfn&) const = default;
};

// A pfn or nothing: what the allocator returns. Behaves like
// std::optional<Pfn> (bool test, *, ->, nullopt) but is one 8-byte word,
// so it travels in a register: a 16-byte optional returned through the hot
// allocation path costs a store-forwarding stall on every call.
struct MaybePfn {
    static constexpr uint64_t kNone = ~uint64_t{0};
    Pfn pfn{kNone};
    constexpr MaybePfn() = default;
    constexpr MaybePfn(std::nullopt_t) {}
    constexpr MaybePfn(Pfn p) : pfn(p) {}
    constexpr bool has_value() const { return pfn.value != kNone; }
    constexpr explicit operator bool() const { return has_value(); }
    constexpr const Pfn& operator*() const { return pfn; }
    constexpr const Pfn* operator->() const { return &pfn; }
    constexpr const Pfn& value() const { return pfn; }
    constexpr bool operator==(const MaybePfn&) const = default;
};

struct PhysAddr {
    uint64_t value = 0;
    constexpr PhysAddr() = default;
    constexpr explicit PhysAddr(uint64_t v) : value(v) {}
    constexpr explicit PhysAddr(Pfn p) : value(p.value << PAGE_SHIFT) {}
    constexpr Pfn pfn() const { return Pfn(value >> PAGE_SHIFT); }
    constexpr auto operator<=>(const PhysAddr&) const = default;
};

struct VirtAddr {
    uint64_t value = 0;
    constexpr VirtAddr() = default;
    constexpr explicit VirtAddr(uint64_t v) : value(v) {}
    constexpr VirtAddr operator+(uint64_t n) const { return VirtAddr(value + n); }
    constexpr auto operator<=>(const VirtAddr&) const = default;
};

// Simulated time, in nanoseconds since boot.
using Nanos = uint64_t;
inline constexpr Nanos NSEC_PER_USEC = 1000;
inline constexpr Nanos NSEC_PER_MSEC = 1000 * 1000;
inline constexpr Nanos NSEC_PER_SEC = 1000 * 1000 * 1000;

constexpr uint64_t pages_to_kb(uint64_t pages) { return pages << (PAGE_SHIFT - 10); }
constexpr uint64_t kb_to_pages(uint64_t kb) { return kb >> (PAGE_SHIFT - 10); }

}  // namespace mmsim
