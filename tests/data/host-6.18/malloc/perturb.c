#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static char buf[8192];
static long anon(void) {
    int fd = open("/proc/self/status", O_RDONLY); int n = read(fd, buf, sizeof buf - 1); buf[n] = 0; close(fd);
    return strtol(strstr(buf, "RssAnon:") + 9, 0, 10);
}
int main(void) {
    free(malloc(16));
    long a0 = anon();
    void *p = malloc(100000);
    long a1 = anon();
    mallopt(M_PERTURB, 0x55);
    void *q = malloc(100000);
    long a2 = anon();
    void *r = calloc(1, 200000);
    long a3 = anon();
    char line[200];
    int n = snprintf(line, sizeof line, "plain=%ld perturbed=%ld calloc-mmapped=%ld\n", a1 - a0, a2 - a1, a3 - a2);
    write(1, line, n);
    (void)p; (void)q; (void)r;
}
