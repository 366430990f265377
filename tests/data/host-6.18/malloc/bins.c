#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    void *a = malloc(24); free(a); void *a2 = malloc(24);
    void *v[9]; for (int i = 0; i < 9; i++) v[i] = malloc(24);
    for (int i = 0; i < 9; i++) free(v[i]);
    struct mallinfo2 m = mallinfo2();
    printf("same=%d smblks=%zu fsmblks=%zu\n", a == a2, m.smblks, m.fsmblks);
    void *x = malloc(24); void *y = malloc(24); printf("v6=%d v5=%d\n", x == v[6], y == v[5]);
    void *w[4096]; for (int i = 0; i < 4096; i++) { w[i] = malloc(1000); memset(w[i], 1, 1000); }
    for (int i = 0; i < 4096; i++) if (i % 16 != 15) free(w[i]);
    m = mallinfo2(); printf("uord=%zu ford=%zu arena=%zu\n", m.uordblks, m.fordblks, m.arena);
    fflush(stdout); void *d = malloc(24); free(d); free(d);
}
