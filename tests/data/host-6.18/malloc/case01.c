#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static char *h0;
static void p(const char *s) { char b[128]; int n = snprintf(b, sizeof b, "%s heap=%ld\n", s, (long)((char *)sbrk(0) - h0)); write(1, b, n); }
int main(void) {
    h0 = sbrk(0);
    char *s = malloc(127 << 10); memset(s, 1, 127 << 10); p("small");
    char *b = malloc(128 << 10); memset(b, 1, 128 << 10); p("big");
    free(b); p("free-big");
    char *b2 = malloc(128 << 10); memset(b2, 1, 128 << 10); p("big2");
    free(b2); p("free-big2");
    free(s); p("free-small");
    malloc_stats();
}
