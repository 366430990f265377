// GFP flags: what a caller of the page allocator asks for.
//
// The bits and the composite masks have Linux 6.18's values
// (include/linux/gfp_types.h, without KASAN, lockdep or slab object
// extensions), so a mask printed in the simulated kernel log reads the same
// as on a real machine: GFP_KERNEL is 0xcc0, GFP_HIGHUSER_MOVABLE 0x100cca.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mmsim {

using gfp_t = uint32_t;

inline constexpr gfp_t __GFP_DMA = 1u << 0;
inline constexpr gfp_t __GFP_HIGHMEM = 1u << 1;
inline constexpr gfp_t __GFP_DMA32 = 1u << 2;
inline constexpr gfp_t __GFP_MOVABLE = 1u << 3;
inline constexpr gfp_t __GFP_RECLAIMABLE = 1u << 4;
inline constexpr gfp_t __GFP_HIGH = 1u << 5;
inline constexpr gfp_t __GFP_IO = 1u << 6;
inline constexpr gfp_t __GFP_FS = 1u << 7;
inline constexpr gfp_t __GFP_ZERO = 1u << 8;
// bit 9 is unused in 6.18
inline constexpr gfp_t __GFP_DIRECT_RECLAIM = 1u << 10;
inline constexpr gfp_t __GFP_KSWAPD_RECLAIM = 1u << 11;
inline constexpr gfp_t __GFP_WRITE = 1u << 12;
inline constexpr gfp_t __GFP_NOWARN = 1u << 13;
inline constexpr gfp_t __GFP_RETRY_MAYFAIL = 1u << 14;
inline constexpr gfp_t __GFP_NOFAIL = 1u << 15;
inline constexpr gfp_t __GFP_NORETRY = 1u << 16;
inline constexpr gfp_t __GFP_MEMALLOC = 1u << 17;
inline constexpr gfp_t __GFP_COMP = 1u << 18;
inline constexpr gfp_t __GFP_NOMEMALLOC = 1u << 19;
inline constexpr gfp_t __GFP_HARDWALL = 1u << 20;
inline constexpr gfp_t __GFP_THISNODE = 1u << 21;
inline constexpr gfp_t __GFP_ACCOUNT = 1u << 22;
inline constexpr gfp_t __GFP_ZEROTAGS = 1u << 23;

inline constexpr gfp_t __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE;
inline constexpr gfp_t GFP_MOVABLE_MASK = __GFP_RECLAIMABLE | __GFP_MOVABLE;
inline constexpr unsigned GFP_MOVABLE_SHIFT = 3;

inline constexpr gfp_t GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
inline constexpr gfp_t GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
inline constexpr gfp_t GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
inline constexpr gfp_t GFP_NOIO = __GFP_RECLAIM;
inline constexpr gfp_t GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
inline constexpr gfp_t GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
inline constexpr gfp_t GFP_DMA = __GFP_DMA;
inline constexpr gfp_t GFP_DMA32 = __GFP_DMA32;
inline constexpr gfp_t GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
inline constexpr gfp_t GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
inline constexpr gfp_t GFP_TRANSHUGE_LIGHT =
    (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
inline constexpr gfp_t GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

// Renders a mask as the kernel's %pGg does: composite names first, in the
// order of include/trace/events/mmflags.h, joined by '|', any leftover bits
// in hex. 0xcc0 -> "GFP_KERNEL".
std::string gfp_flags_string(gfp_t gfp);

// Parses "GFP_KERNEL|__GFP_ZERO" or "0xcc0"; nullopt on an unknown name.
std::optional<gfp_t> parse_gfp(std::string_view text);

}  // namespace mmsim
