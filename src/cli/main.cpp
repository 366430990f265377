// The mmsim command (work in progress: subcommands land as their parts do).
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
        std::printf("mmsim %s\n", MMSIM_VERSION);
        return 0;
    }
    std::fprintf(stderr, "usage: mmsim --version\n");
    return 2;
}
