/* hold_pageout.c - put 8 MiB of anonymous memory into swap and keep it there: mmap 8 MiB
 * private anonymous, write every page (non-zero content), madvise(MADV_PAGEOUT), sleep 1 s,
 * print "ready" and wait in pause() until killed. Used by capture.sh to have a non-zero Used
 * column in /proc/swaps, `swapon --show` and `free`.
 *
 * Build: gcc -O1 -Wall -o hold_pageout hold_pageout.c
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define SIZE (8UL << 20)

int main(void)
{
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (unsigned long i = 0; i < SIZE / 4096; i++)
		*(volatile uint64_t *)(p + i * 4096) = i + 1;
	if (madvise(p, SIZE, MADV_PAGEOUT) != 0) {
		perror("madvise");
		return 1;
	}
	sleep(1);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
