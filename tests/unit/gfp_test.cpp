// GFP masks print as the kernel's %pGg prints them; the expected strings
// are copied from real kernel logs ("page allocation failure" and OOM
// reports), not derived from our table.
#include "mmsim/gfp.h"

#include <gtest/gtest.h>

namespace mmsim {
namespace {

TEST(Gfp, ValuesMatchTheKernels) {
    EXPECT_EQ(GFP_KERNEL, 0xcc0u);
    EXPECT_EQ(GFP_HIGHUSER_MOVABLE, 0x100ccau);
    EXPECT_EQ(GFP_ATOMIC, 0x820u);
    EXPECT_EQ(GFP_NOFS, 0xc40u);
    EXPECT_EQ(GFP_USER, 0x100cc0u);
}

TEST(Gfp, PrintsLikePercentPGg) {
    // Strings as they appear in real 6.x kernel logs.
    EXPECT_EQ(gfp_flags_string(0x100cca), "GFP_HIGHUSER_MOVABLE");
    EXPECT_EQ(gfp_flags_string(0x140cca), "GFP_HIGHUSER_MOVABLE|__GFP_COMP");
    EXPECT_EQ(gfp_flags_string(0x2dc2), "GFP_KERNEL|__GFP_HIGHMEM|__GFP_NOWARN|__GFP_ZERO");
    EXPECT_EQ(gfp_flags_string(0x8c40), "GFP_NOFS|__GFP_NOFAIL");
    EXPECT_EQ(gfp_flags_string(0x820), "GFP_ATOMIC");
    EXPECT_EQ(gfp_flags_string(0xcc0), "GFP_KERNEL");
    EXPECT_EQ(gfp_flags_string(0x2800), "GFP_NOWAIT|__GFP_NOWARN");
    EXPECT_EQ(gfp_flags_string(0), "");
    EXPECT_EQ(gfp_flags_string(1u << 9), "0x200");  // a bit no name covers
}

TEST(Gfp, ParsesNamesAndNumbers) {
    EXPECT_EQ(parse_gfp("GFP_KERNEL"), GFP_KERNEL);
    EXPECT_EQ(parse_gfp("GFP_KERNEL|__GFP_ZERO"), GFP_KERNEL | __GFP_ZERO);
    EXPECT_EQ(parse_gfp(" GFP_DMA32 | __GFP_NOWARN "), GFP_DMA32 | __GFP_NOWARN);
    EXPECT_EQ(parse_gfp("__GFP_DMA"), __GFP_DMA);
    EXPECT_EQ(parse_gfp("0x100cca"), GFP_HIGHUSER_MOVABLE);
    EXPECT_EQ(parse_gfp("3264"), GFP_KERNEL);
    EXPECT_FALSE(parse_gfp("GFP_KERNAL"));
    EXPECT_FALSE(parse_gfp("GFP_KERNEL|"));
    EXPECT_FALSE(parse_gfp(""));
    EXPECT_FALSE(parse_gfp("0xzz"));
    for (gfp_t g : {GFP_KERNEL, GFP_ATOMIC, GFP_TRANSHUGE, GFP_HIGHUSER_MOVABLE | __GFP_ZERO})
        EXPECT_EQ(parse_gfp(gfp_flags_string(g)), g);
}

}  // namespace
}  // namespace mmsim
