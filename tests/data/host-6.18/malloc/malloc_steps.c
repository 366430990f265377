/* The real-glibc oracle for mmsim's malloc model (tests/data/host-6.18/malloc).
 * Each step makes malloc-family calls, then prints the heap's extent
 * (sbrk(0) minus the break at start), VmSize, VmData and VmRSS from
 * /proc/self/status (RssAnon too: VmRSS also counts the file pages the
 * code faults in, which depends on the page cache), and the number of lines of /proc/self/maps.
 * It never uses stdio: a FILE's buffer would come from malloc. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *heap_start;
static char buf[1 << 16];

static long field(const char *text, const char *name) {
    const char *p = strstr(text, name);
    return p ? strtol(p + strlen(name) + 1, NULL, 10) : -1;
}

static int slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    int n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    buf[n] = 0;
    close(fd);
    return n;
}

static void step(const char *label) {
    long heap = (char *)sbrk(0) - heap_start;
    slurp("/proc/self/status");
    long vsz = field(buf, "VmSize:"), data = field(buf, "VmData:"), rss = field(buf, "VmRSS:");
    long anon = field(buf, "RssAnon:");
    slurp("/proc/self/maps");
    int maps = 0;
    for (char *c = buf; *c; c++) maps += *c == '\n';
    char line[256];
    int n = snprintf(line, sizeof line, "%-22s heap=%ld VmSize=%ld VmData=%ld VmRSS=%ld RssAnon=%ld maps=%d\n",
                     label, heap, vsz, data, rss, anon, maps);
    write(1, line, n);
}

static void *thread_main(void *arg) {
    (void)arg;
    void *p = malloc(1024);
    memset(p, 1, 1024);
    step("thread-malloc-1K");
    free(p);
    return NULL;
}

int main(void) {
    heap_start = sbrk(0);
    step("start");
    char *a = malloc(64 << 10);
    step("malloc-64K");
    char *b = malloc(1 << 20);
    step("malloc-1M");
    free(b);
    step("free-1M");
    char *c = malloc(1 << 20);
    step("malloc-1M-again");
    char *d = malloc(1 << 20);
    step("malloc-1M-third");
    free(d);
    step("free-third");
    free(c);
    step("free-second");
    free(a);
    step("free-64K");
    static char *small[4096];
    for (int i = 0; i < 4096; i++) {
        small[i] = malloc(1000);
        memset(small[i], 1, 1000);
    }
    step("malloc-4096x1000");
    for (int i = 0; i < 4096; i++)
        if (i % 16 != 15) free(small[i]);
    step("free-15-of-16");
    int t = malloc_trim(0);
    step(t ? "malloc_trim-1" : "malloc_trim-0");
    mallopt(M_MMAP_THRESHOLD, 256 << 10);
    char *e = malloc(200 << 10);
    step("mmap256K-malloc-200K");
    char *f = malloc(300 << 10);
    step("malloc-300K");
    free(f);
    step("free-300K");
    mallopt(M_TRIM_THRESHOLD, 64 << 10);
    free(e);
    step("trim64K-free-200K");
    char *g = calloc(1, 2 << 20);
    step("calloc-2M");
    g = realloc(g, 4 << 20);
    step("realloc-4M");
    free(g);
    step("free-4M");
    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    pthread_join(th, NULL);
    return 0;
}
