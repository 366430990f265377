// The test binaries' main: GoogleTest, with the simulator's invariant checks
// on (like CONFIG_DEBUG_VM) for every kernel a test boots.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
    setenv("MMSIM_CHECK", "1", 0);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
