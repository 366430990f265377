/* What a thread's end leaves behind: its stack stays mapped in glibc's
 * stack cache (madvised away below the thread descriptor), its arena goes
 * on the free list, and the next thread takes both. No stdio. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static char buf[1 << 16];
static long field(const char *name) {
    char *p = strstr(buf, name);
    return p ? strtol(p + strlen(name) + 1, NULL, 10) : -1;
}
static void step(const char *label) {
    int fd = open("/proc/self/status", O_RDONLY); int n = read(fd, buf, sizeof buf - 1); buf[n] = 0; close(fd);
    long vsz = field("VmSize:"), anon = field("RssAnon:"), data = field("VmData:");
    fd = open("/proc/self/maps", O_RDONLY); n = 0; int r; while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r; buf[n] = 0; close(fd);
    int maps = 0; for (char *c = buf; *c; c++) maps += *c == '\n';
    struct mallinfo2 m = mallinfo2();
    char line[200];
    n = snprintf(line, sizeof line, "%-24s VmSize=%ld VmData=%ld RssAnon=%ld maps=%d arena=%zu uord=%zu\n", label, vsz, data, anon, maps, m.arena, m.uordblks);
    write(1, line, n);
}
static void *work(void *arg) {
    char big[256 << 10];                  /* 256 KiB of the stack written */
    memset(big, 1, sizeof big);
    void *p[20];
    for (int i = 0; i < 20; i++) { p[i] = malloc(100); memset(p[i], 1, 100); }
    for (int i = 0; i < 20; i++) free(p[i]);  /* 7 in the tcache, 13 in the fastbins */
    if (arg) step("in-thread");
    return big[100] ? NULL : arg;
}
int main(void) {
    free(malloc(16));
    step("start");
    pthread_t t;
    pthread_create(&t, NULL, work, (void *)1);
    pthread_join(t, NULL);
    step("joined-1");
    pthread_create(&t, NULL, work, (void *)1);
    pthread_join(t, NULL);
    step("joined-2");
    return 0;
}
