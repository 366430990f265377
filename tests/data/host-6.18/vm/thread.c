/* thread.c - a pthread's stack mapping (with its guard page) and main-stack growth.
 *
 * Prints, at each step, the maps lines of interest, the smaps fields (Size, Rss, VmFlags) of
 * the VMA containing a given address, and VmStk/VmData/VmRSS from /proc/self/status.
 *
 * Build: gcc -O0 -Wall -pthread -o thread thread.c
 * Run:   env -i setarch -R ./thread > thread.out
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#define KiB 1024UL
#define MiB (1024UL * 1024UL)

static char buf[1 << 17];

static void slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void status(const char *step)
{
	slurp("/proc/self/status");
	printf("%s: status", step);
	static const char *k[] = { "VmSize", "VmRSS", "RssAnon", "VmData", "VmStk", "VmPTE", "Threads", NULL };
	for (int i = 0; k[i]; i++) {
		char pat[32];
		snprintf(pat, sizeof pat, "\n%s:", k[i]);
		char *p = strstr(buf, pat);
		if (p) printf(" %s=%ld", k[i], strtol(p + strlen(pat), NULL, 10));
	}
	printf("\n");
}

/* print the smaps block (header line, Size, Rss, Pss, Anonymous, VmFlags) of the VMA holding a;
 * with also_prev, also the VMA right below it (the guard page of a thread stack). */
static void vma(const char *step, const char *what, unsigned long a, int also_prev)
{
	slurp("/proc/self/smaps");
	char *line = buf, *prevhdr = NULL, *hdr = NULL;
	int want = 0;
	char *save_prev_block = NULL;
	(void)save_prev_block;
	/* two passes: first find the header of the VMA containing a and the one before it */
	for (char *l = buf; *l; ) {
		char *nl = strchr(l, '\n');
		unsigned long lo, hi;
		if (sscanf(l, "%lx-%lx ", &lo, &hi) == 2 && strchr(l, ' ') < (nl ? nl : l + strlen(l)) &&
		    l[strspn(l, "0123456789abcdef")] == '-') {
			if (lo <= a && a < hi) { hdr = l; break; }
			prevhdr = l;
		}
		if (!nl) break;
		l = nl + 1;
	}
	(void)line;
	for (int pass = 0; pass < 2; pass++) {
		char *start = pass == 0 ? (also_prev ? prevhdr : NULL) : hdr;
		if (!start) continue;
		want = 0;
		for (char *l = start; *l; ) {
			char *nl = strchr(l, '\n');
			size_t len = nl ? (size_t)(nl - l) : strlen(l);
			int is_hdr = l[strspn(l, "0123456789abcdef")] == '-';
			if (is_hdr && want) break;
			if (is_hdr) {
				printf("%s: %s%s vma %.*s\n", step, what, pass == 0 ? " (vma below)" : "", (int)len, l);
				want = 1;
			} else if (!strncmp(l, "Size:", 5) || !strncmp(l, "Rss:", 4) || !strncmp(l, "Pss:", 4) ||
				   !strncmp(l, "Anonymous:", 10) || !strncmp(l, "VmFlags:", 8)) {
				printf("%s:   %.*s\n", step, (int)len, l);
			}
			if (!nl) break;
			l = nl + 1;
		}
	}
}

static void maps(const char *step)
{
	slurp("/proc/self/maps");
	printf("%s: maps\n", step);
	for (char *l = buf; *l; ) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		printf("  %.*s\n", (int)len, l);
		if (!nl) break;
		l = nl + 1;
	}
}

static pthread_barrier_t bar;

static void *thread_fn(void *arg)
{
	(void)arg;
	volatile char local = 0;
	unsigned long sp = (unsigned long)&local;
	pthread_attr_t at;
	void *saddr;
	size_t ssize, gsize;
	pthread_getattr_np(pthread_self(), &at);
	pthread_attr_getstack(&at, &saddr, &ssize);
	pthread_attr_getguardsize(&at, &gsize);
	printf("thread: stackaddr=%p stacksize=%zu KiB guardsize=%zu; &local=%#lx\n", saddr, ssize / KiB, gsize, sp);
	maps("thread_running");
	status("thread_running");
	vma("thread_running", "thread stack", sp, 1);
	/* touch every page from sp down to sp - 1 MiB (inside the fixed-size thread stack) */
	for (unsigned long off = 0; off <= MiB; off += 4096)
		*(volatile char *)(sp - off) = 1;
	status("thread_touched_1M");
	vma("thread_touched_1M", "thread stack", sp, 0);
	fflush(stdout);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

int main(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_STACK, &rl);
	printf("# RLIMIT_STACK cur=%lu KiB; page size %ld\n", rl.rlim_cur / KiB, sysconf(_SC_PAGESIZE));
	volatile char local = 0;
	unsigned long sp = (unsigned long)&local;
	printf("main: &local=%#lx\n", sp);

	maps("main_start");
	status("main_start");
	vma("main_start", "[stack]", sp, 0);

	/* main-thread stack growth: one write 1 MiB below the current stack variable */
	*(volatile char *)(sp - MiB) = 1;
	status("main_touch_sp-1M");
	vma("main_touch_sp-1M", "[stack]", sp, 0);
	/* then touch every page in between */
	for (unsigned long off = 0; off <= MiB; off += 4096)
		*(volatile char *)(sp - off) = 1;
	status("main_touch_all_1M");
	vma("main_touch_all_1M", "[stack]", sp, 0);
	fflush(stdout);

	pthread_t t;
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, thread_fn, NULL);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	maps("after_join");
	status("after_join");
	return 0;
}
