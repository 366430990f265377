/* memalign, posix_memalign and aligned_alloc on glibc 2.36: where the block
 * lands and what the heap and mallinfo2 say after each call. No stdio. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static char *h0;
static void step(const char *label, void *p, int ret) {
    struct mallinfo2 m = mallinfo2();
    char line[300];
    int n = snprintf(line, sizeof line, "%-22s off=%ld ret=%d heap=%ld arena=%zu ordblks=%zu uord=%zu ford=%zu hblks=%zu hblkhd=%zu\n",
                     label, p ? (long)((char *)p - h0) : -1L, ret, (long)((char *)sbrk(0) - h0), m.arena, m.ordblks,
                     m.uordblks, m.fordblks, m.hblks, m.hblkhd);
    write(1, line, n);
}
int main(void) {
    h0 = sbrk(0);
    void *a = malloc(16);
    step("malloc-16", a, 0);
    void *b = memalign(4096, 100);
    step("memalign-4096-100", b, 0);
    void *c = memalign(64, 1000);
    step("memalign-64-1000", c, 0);
    void *d = NULL;
    int r = posix_memalign(&d, 256, 5000);
    step("posix_memalign-256", d, r);
    void *e = NULL;
    r = posix_memalign(&e, 24, 100);
    step("posix_memalign-24", e, r);
    void *f = aligned_alloc(65536, 200000);
    step("aligned_alloc-64K-200K", f, 0);
    void *g = memalign(8, 40);
    step("memalign-8-40", g, 0);
    void *h = memalign(100, 10);
    step("memalign-100-10", h, 0);
    free(b);
    step("free-b", NULL, 0);
    free(f);
    step("free-f", NULL, 0);
    return 0;
}
