/* swap_steps.c - walk one 16 MiB private anonymous region through touch, MADV_PAGEOUT, fork,
 * child COW write, reread and rewrite, and print after each step the process's and the system's
 * swap counters as a real kernel reports them.
 *
 * Usage: swap_steps [-m full|sparse] [-s smaps_at_pageout] [-S smaps_at_slept] [-z prefix]
 *   -m full    (default) steps: start touched pageout slept child parent_with_child child_wrote
 *              child_gone reread rewrite unmapped
 *   -m sparse  steps: start touched pageout slept sparse_reread reread pageout2 slept2
 *              sparse_reread2 reread2 unmapped
 *              (sparse_reread* read one word of every 8th page: pages 0, 8, 16, ...; reread*
 *              read every page in order; pageout2 is a second MADV_PAGEOUT of the whole
 *              region after the reread)
 *   -s FILE    after the "pageout" line, copy the /proc/self/smaps entry of the region (from its
 *              header line to its VmFlags line, byte for byte) to FILE
 *   -S FILE    the same after the "slept" line
 *   -z PREFIX  after the "slept" line, copy /sys/block/zram0/mm_stat and /sys/block/zram0/stat
 *              to PREFIX.mm_stat and PREFIX.stat (while the region is swapped out)
 *
 * Output: one line per step:
 *   step=<name> who=<parent|child> minflt=<n> majflt=<n> <Key>=<value> ...
 * minflt/majflt: getrusage(RUSAGE_SELF) of the printing process (cumulative; a forked child
 * starts from 0). Keys, in order:
 *   /proc/self/status        VmRSS RssAnon VmSwap VmPTE                              (kB)
 *   /proc/self/smaps_rollup  Rss Pss Pss_Anon Swap SwapPss                           (kB)
 *   /proc/meminfo            Active(anon) Inactive(anon) AnonPages SwapCached SwapTotal SwapFree (kB)
 *   /proc/vmstat             pswpin pswpout pgmajfault pgfault pgactivate pgdeactivate
 *                            pgsteal_anon pgscan_anon workingset_refault_anon
 *                            workingset_activate_anon workingset_restore_anon swap_ra
 *                            swap_ra_hit pgrotated                                   (events)
 *   memory.stat of the process's own cgroup-v1 memory cgroup, prefixed "cg_": cg_rss cg_cache
 *                            cg_shmem cg_mapped_file cg_swap cg_swapcached cg_active_anon
 *                            cg_inactive_anon cg_active_file cg_inactive_file cg_unevictable
 *                            (kB) cg_pgfault cg_pgmajfault cg_workingset_refault_anon (events);
 *                            NA when there is no v1 memory cgroup
 *   mincore=<n>  pages of the 16 MiB region that mincore(2) reports resident (present PTE, or
 *                swap entry whose folio is in the swap cache); NA after munmap.
 * Every page is written with its index + 1 in its first 8 bytes (so no page is zero-filled:
 * 6.18 does not write zero-filled pages to swap at all, it records them in the zeromap).
 *
 * Build: gcc -O1 -Wall -o swap_steps swap_steps.c
 */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define MiB (1024UL * 1024UL)
#define PG 4096UL
#define SIZE (16 * MiB)
#define NPAGES (SIZE / PG)

static char *region;
static int mapped;
static char txt[PROBE_BUF];
static char line[8192];
static unsigned char vec[NPAGES];
static char cgpath[512];
static long long cgv[PROBE_NCG];

static const char *status_keys[] = {"VmRSS", "RssAnon", "VmSwap", "VmPTE"};
static const char *rollup_keys[] = {"Rss", "Pss", "Pss_Anon", "Swap", "SwapPss"};
static const char *meminfo_keys[] = {"Active(anon)", "Inactive(anon)", "AnonPages",
				     "SwapCached", "SwapTotal", "SwapFree"};
static const char *vmstat_keys[] = {"pswpin", "pswpout", "pgmajfault", "pgfault", "pgactivate",
				    "pgdeactivate", "pgsteal_anon", "pgscan_anon",
				    "workingset_refault_anon", "workingset_activate_anon",
				    "workingset_restore_anon", "swap_ra", "swap_ra_hit",
				    "pgrotated"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void report(const char *step, const char *who, int emit)
{
	long minflt, majflt;
	size_t pos = 0, i;

	/* rusage first, so the reads below do not count (they fault nothing once warmed up). */
	probe_rusage(&minflt, &majflt);
	pos += snprintf(line + pos, sizeof(line) - pos, "step=%s who=%s minflt=%ld majflt=%ld", step,
			who, minflt, majflt);
	probe_slurp("/proc/self/status", txt, sizeof(txt));
	for (i = 0; i < N(status_keys); i++)
		probe_put(line, &pos, sizeof(line), status_keys[i], probe_field(txt, status_keys[i], ':'));
	probe_slurp("/proc/self/smaps_rollup", txt, sizeof(txt));
	for (i = 0; i < N(rollup_keys); i++)
		probe_put(line, &pos, sizeof(line), rollup_keys[i], probe_field(txt, rollup_keys[i], ':'));
	probe_slurp("/proc/meminfo", txt, sizeof(txt));
	for (i = 0; i < N(meminfo_keys); i++)
		probe_put(line, &pos, sizeof(line), meminfo_keys[i],
			  probe_field(txt, meminfo_keys[i], ':'));
	probe_slurp("/proc/vmstat", txt, sizeof(txt));
	for (i = 0; i < N(vmstat_keys); i++)
		probe_put(line, &pos, sizeof(line), vmstat_keys[i], probe_field(txt, vmstat_keys[i], ' '));
	probe_memcg_sample(cgpath[0] ? cgpath : NULL, txt, sizeof(txt), cgv);
	for (i = 0; i < PROBE_NCG; i++) {
		char k[64];
		snprintf(k, sizeof(k), "cg_%s", probe_cgkeys[i].key);
		probe_put(line, &pos, sizeof(line), k, cgv[i]);
	}
	if (mapped && mincore(region, SIZE, vec) == 0) {
		long n = 0;
		for (i = 0; i < NPAGES; i++)
			n += vec[i] & 1;
		probe_put(line, &pos, sizeof(line), "mincore", n);
	} else {
		probe_put(line, &pos, sizeof(line), "mincore", -1);
	}
	pos += snprintf(line + pos, sizeof(line) - pos, "\n");
	if (emit)
		probe_emit(1, line, pos);
}

/* Copies the /proc/self/smaps entry whose header starts at region to path. */
static void dump_smaps(const char *path)
{
	char hdr[64];
	char *p, *end;
	int fd;

	probe_slurp("/proc/self/smaps", txt, sizeof(txt));
	snprintf(hdr, sizeof(hdr), "%lx-", (unsigned long)region);
	for (p = txt; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, hdr, strlen(hdr)) == 0)
			break;
	if (!p || !*p) {
		fprintf(stderr, "region not found in smaps\n");
		exit(1);
	}
	end = strstr(p, "\nVmFlags:");
	if (!end) {
		fprintf(stderr, "no VmFlags\n");
		exit(1);
	}
	end = strchr(end + 1, '\n');
	end = end ? end + 1 : p + strlen(p);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	probe_emit(fd, p, (size_t)(end - p));
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	long n = probe_slurp(from, txt, sizeof(txt));
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (n < 0 || fd < 0) {
		perror(to);
		exit(1);
	}
	probe_emit(fd, txt, (size_t)n);
	close(fd);
}

static void write_pages(unsigned long first, unsigned long count, uint64_t salt)
{
	for (unsigned long i = first; i < first + count; i++)
		*(volatile uint64_t *)(region + i * PG) = (i + 1) ^ salt;
}

static uint64_t read_pages(unsigned long first, unsigned long count, unsigned long stride)
{
	uint64_t sum = 0;
	for (unsigned long i = first; i < first + count; i += stride)
		sum += *(volatile uint64_t *)(region + i * PG);
	return sum;
}

int main(int argc, char **argv)
{
	const char *mode = "full", *smaps1 = NULL, *smaps2 = NULL, *zprefix = NULL;
	char zpath[512];
	int opt;

	while ((opt = getopt(argc, argv, "m:s:S:z:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 's': smaps1 = optarg; break;
		case 'S': smaps2 = optarg; break;
		case 'z': zprefix = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-m full|sparse] [-s file] [-S file] [-z prefix]\n",
				argv[0]);
			return 2;
		}
	}

	/* Warm up every code path and buffer used by report() and dump_smaps() so that they add no
	 * faults later. */
	memset(txt, 1, sizeof(txt));
	memset(line, 1, sizeof(line));
	if (probe_memcg_stat_path(cgpath, sizeof(cgpath)) != 0)
		cgpath[0] = 0;
	memset(vec, 1, sizeof(vec));
	report("warmup", "parent", 0);
	report("warmup", "parent", 0);

	region = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	mapped = 1;
	report("warmup", "parent", 0);
	report("start", "parent", 1);

	write_pages(0, NPAGES, 0);
	report("touched", "parent", 1);

	if (madvise(region, SIZE, MADV_PAGEOUT) != 0) {
		perror("madvise(MADV_PAGEOUT)");
		return 1;
	}
	report("pageout", "parent", 1);
	if (smaps1)
		dump_smaps(smaps1);

	sleep(1);
	report("slept", "parent", 1);
	if (smaps2)
		dump_smaps(smaps2);
	if (zprefix) {
		snprintf(zpath, sizeof(zpath), "%s.mm_stat", zprefix);
		copy_file("/sys/block/zram0/mm_stat", zpath);
		snprintf(zpath, sizeof(zpath), "%s.stat", zprefix);
		copy_file("/sys/block/zram0/stat", zpath);
	}

	if (strcmp(mode, "sparse") == 0) {
		read_pages(0, NPAGES, 8);
		report("sparse_reread", "parent", 1);
		read_pages(0, NPAGES, 1);
		report("reread", "parent", 1);
		/* Second round: now every page is mapped again (on a file device still in the swap
		 * cache, clean), so this MADV_PAGEOUT evicts them for good and the next reads must
		 * really read the device. */
		if (madvise(region, SIZE, MADV_PAGEOUT) != 0) {
			perror("madvise(MADV_PAGEOUT)");
			return 1;
		}
		report("pageout2", "parent", 1);
		sleep(1);
		report("slept2", "parent", 1);
		read_pages(0, NPAGES, 8);
		report("sparse_reread2", "parent", 1);
		read_pages(0, NPAGES, 1);
		report("reread2", "parent", 1);
	} else {
		int c2p[2], p2c[2];
		char b = 'x';
		pid_t pid;

		if (pipe(c2p) || pipe(p2c)) {
			perror("pipe");
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			/* Take the copy-on-write faults of report()'s buffers before the first line. */
			memset(txt, 2, sizeof(txt));
			memset(line, 2, sizeof(line));
			memset(vec, 2, sizeof(vec));
			report("warmup", "child", 0);
			report("child", "child", 1);
			if (write(c2p[1], &b, 1) != 1 || read(p2c[0], &b, 1) != 1)
				_exit(1);
			write_pages(0, NPAGES / 2, 0xc0ffee);
			report("child_wrote", "child", 1);
			_exit(0);
		}
		if (read(c2p[0], &b, 1) != 1)
			return 1;
		report("parent_with_child", "parent", 1);
		if (write(p2c[1], &b, 1) != 1)
			return 1;
		if (waitpid(pid, NULL, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		report("child_gone", "parent", 1);
		read_pages(0, NPAGES, 1);
		report("reread", "parent", 1);
		write_pages(0, NPAGES, 0x5a5a);
		report("rewrite", "parent", 1);
	}

	munmap(region, SIZE);
	mapped = 0;
	report("unmapped", "parent", 1);
	return 0;
}
