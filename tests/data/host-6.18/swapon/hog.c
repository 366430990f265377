#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    size_t mb = strtoul(argv[1], 0, 0);
    char *p = malloc(mb << 20);
    for (size_t i = 0; i < (mb << 20); i += 4096) p[i] = (char)(i / 4096 + 1);
    printf("touched\n"); fflush(stdout);
    pause();
    return 0;
}
