// Printing and parsing GFP masks.
//
// The kernel prints a gfp mask with %pGg (lib/vsprintf.c format_flags()
// over the table of include/trace/events/mmflags.h): it walks a fixed list
// of names, composite masks first, and for each name whose every bit is set
// it prints the name and clears those bits; whatever bits no name covers
// are printed last in hex. The order of the list matters: GFP_KERNEL must
// be tried before its parts __GFP_IO, __GFP_FS and __GFP_RECLAIM, so 0xcc0
// reads "GFP_KERNEL" and not "__GFP_IO|__GFP_FS|__GFP_RECLAIM".
//
// Parsing is the inverse that scenarios need: names (composite or single
// bits) joined by '|', or a number.
#include "mmsim/gfp.h"

#include <fmt/format.h>

#include <charconv>

namespace mmsim {

namespace {

struct GfpName {
    gfp_t mask;
    const char* name;
};

// The %pGg table, in mmflags.h order for a kernel without KASAN, lockdep
// or slab object extensions.
constexpr GfpName kGfpNames[] = {
    {GFP_TRANSHUGE, "GFP_TRANSHUGE"},
    {GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"},
    {GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"},
    {GFP_HIGHUSER, "GFP_HIGHUSER"},
    {GFP_USER, "GFP_USER"},
    {GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT"},
    {GFP_KERNEL, "GFP_KERNEL"},
    {GFP_NOFS, "GFP_NOFS"},
    {GFP_ATOMIC, "GFP_ATOMIC"},
    {GFP_NOIO, "GFP_NOIO"},
    {GFP_NOWAIT, "GFP_NOWAIT"},
    {GFP_DMA, "GFP_DMA"},
    {__GFP_HIGHMEM, "__GFP_HIGHMEM"},
    {GFP_DMA32, "GFP_DMA32"},
    {__GFP_HIGH, "__GFP_HIGH"},
    {__GFP_IO, "__GFP_IO"},
    {__GFP_FS, "__GFP_FS"},
    {__GFP_NOWARN, "__GFP_NOWARN"},
    {__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"},
    {__GFP_NOFAIL, "__GFP_NOFAIL"},
    {__GFP_NORETRY, "__GFP_NORETRY"},
    {__GFP_COMP, "__GFP_COMP"},
    {__GFP_ZERO, "__GFP_ZERO"},
    {__GFP_NOMEMALLOC, "__GFP_NOMEMALLOC"},
    {__GFP_MEMALLOC, "__GFP_MEMALLOC"},
    {__GFP_HARDWALL, "__GFP_HARDWALL"},
    {__GFP_THISNODE, "__GFP_THISNODE"},
    {__GFP_RECLAIMABLE, "__GFP_RECLAIMABLE"},
    {__GFP_MOVABLE, "__GFP_MOVABLE"},
    {__GFP_ACCOUNT, "__GFP_ACCOUNT"},
    {__GFP_WRITE, "__GFP_WRITE"},
    {__GFP_RECLAIM, "__GFP_RECLAIM"},
    {__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"},
    {__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"},
    {__GFP_ZEROTAGS, "__GFP_ZEROTAGS"},
};

// Names accepted by the parser but not printed by %pGg (they are spelled
// differently there or are aliases).
constexpr GfpName kGfpAliases[] = {
    {__GFP_DMA, "__GFP_DMA"},
    {__GFP_DMA32, "__GFP_DMA32"},
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<gfp_t> parse_number(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    gfp_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::string gfp_flags_string(gfp_t gfp) {
    std::string out;
    for (const auto& n : kGfpNames) {
        if (!gfp) break;
        if ((gfp & n.mask) != n.mask) continue;
        out += n.name;
        gfp &= ~n.mask;
        if (gfp) out += '|';
    }
    if (gfp) out += fmt::format("{:#x}", gfp);
    return out;
}

std::optional<gfp_t> parse_gfp(std::string_view text) {
    text = trim(text);
    if (text.empty()) return std::nullopt;
    gfp_t mask = 0;
    while (true) {
        std::size_t bar = text.find('|');
        std::string_view part = trim(text.substr(0, bar));
        if (part.empty()) return std::nullopt;
        bool found = false;
        if (part[0] >= '0' && part[0] <= '9') {
            auto v = parse_number(part);
            if (!v) return std::nullopt;
            mask |= *v;
            found = true;
        }
        for (const auto& n : kGfpNames)
            if (!found && part == n.name) {
                mask |= n.mask;
                found = true;
            }
        for (const auto& n : kGfpAliases)
            if (!found && part == n.name) {
                mask |= n.mask;
                found = true;
            }
        if (!found) return std::nullopt;
        if (bar == std::string_view::npos) break;
        text.remove_prefix(bar + 1);
    }
    return mask;
}

}  // namespace mmsim
