#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static pthread_barrier_t b;
static void *run(void *a) { (void)a; void *p = malloc(100); pthread_barrier_wait(&b); pthread_barrier_wait(&b); free(p); return 0; }
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    pthread_t t[64];
    pthread_barrier_init(&b, 0, n + 1);
    for (int i = 0; i < n; i++) pthread_create(&t[i], 0, run, 0);
    pthread_barrier_wait(&b);
    char cmd[100]; sprintf(cmd, "grep -c -- '---p' /proc/%d/maps; nproc", getpid()); system(cmd);
    struct mallinfo2 m = mallinfo2(); printf("arena=%zu\n", m.arena);
    pthread_barrier_wait(&b);
    for (int i = 0; i < n; i++) pthread_join(t[i], 0);
}
