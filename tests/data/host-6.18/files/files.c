/* What opening, mapping, writing and reading files does to the filp,
 * buffer_head, shmem_inode_cache and dentry caches on a real 6.18 host.
 * Run as root on ext4 (4096-byte blocks) by capture.sh; one line a step:
 * STEP buffer_head filp shmem_inode_cache dentry Buffers_kB Cached_kB
 * (active objects from /proc/slabinfo, the rest from /proc/meminfo). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB (1024 * 1024)
#define FILE_SIZE (16 * MB)
#define NMAPS 2000
#define NSHARED 500

static int slab_fd, mem_fd;
static char buf[1 << 20];

static long slab(const char *name) {
    static char text[1 << 18];
    size_t got = 0;
    ssize_t n;
    while ((n = pread(slab_fd, text + got, sizeof text - 1 - got, got)) > 0) got += n;
    text[got] = 0;
    size_t len = strlen(name);
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, name, len) && l[len] == ' ') return strtol(l + len, NULL, 10);
    return -1;
}

static long meminfo(const char *name) {
    static char text[8192];
    ssize_t n = pread(mem_fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = 0;
    char *p = strstr(text, name);
    return p ? strtol(p + strlen(name) + 1, NULL, 10) : -1;
}

static void line(const char *step) {
    printf("%s %ld %ld %ld %ld %ld %ld\n", step, slab("buffer_head"), slab("filp"),
           slab("shmem_inode_cache"), slab("dentry"), meminfo("Buffers"), meminfo("Cached"));
    fflush(stdout);
}

static void drop(int what) {
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    dprintf(fd, "%d\n", what);
    close(fd);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/var/tmp/mmsim-files/w";
    slab_fd = open("/proc/slabinfo", O_RDONLY);
    mem_fd = open("/proc/meminfo", O_RDONLY);
    memset(buf, 'x', sizeof buf);
    sync();
    drop(3);
    line("start");

    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    for (int i = 0; i < FILE_SIZE / MB; i++) write(fd, buf, MB);
    line("write-16M");
    fsync(fd);
    line("fsync");
    drop(1);
    line("drop1");

    lseek(fd, 0, SEEK_SET);
    while (read(fd, buf, MB) > 0) {
    }
    line("read-16M");

    char *m = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    for (long o = 0; o < FILE_SIZE; o += 4096) m[o] = 'y';
    line("mmap-write-16M");
    munmap(m, FILE_SIZE);
    fsync(fd);
    close(fd);
    drop(1);
    line("drop1-again");

    fd = open(path, O_RDONLY);
    m = mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    long sum = 0;
    for (long o = 0; o < FILE_SIZE; o += 4096) sum += m[o];
    line("mmap-read-16M");
    munmap(m, FILE_SIZE);

    static char *maps[NMAPS];
    for (int i = 0; i < NMAPS; i++) {
        fd = open(path, O_RDONLY);
        maps[i] = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
    }
    line("open-mmap-close-2000");
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    usleep(100000);
    line("fork");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    line("child-reaped");
    for (int i = 0; i < NMAPS; i++) munmap(maps[i], 4096);
    line("munmap-2000");

    static char *shared[NSHARED];
    for (int i = 0; i < NSHARED; i++) {
        shared[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        shared[i][0] = 1;
    }
    line("shared-anon-500");
    for (int i = 0; i < NSHARED; i++) munmap(shared[i], 4096);
    usleep(100000);
    line("shared-anon-unmapped");
    unlink(path);
    sync();
    line("unlinked");
    return sum == 42;
}
