/* lru_steps.c - what anonymous memory, MADV_COLD, file writes, drop_caches, repeated read(),
 * mmap reads, mlock/munlock and memfd (shmem) do to the global LRU lists, as /proc/meminfo and
 * /proc/vmstat report them. Meant to run with no swap device on.
 *
 * Usage: lru_steps RUN      (RUN is only copied into the output lines)
 *
 * Output: first one line with the absolute values before anything is done:
 *   run=<R> step=baseline when=abs minflt=<n> majflt=<n> <Key>=<value> ...
 * then for every step three lines, each the DIFFERENCE against a baseline read just before the
 * step began (after the previous step's sleeps):
 *   run=<R> step=<name> when=0 ...   read immediately after the step
 *   run=<R> step=<name> when=1 ...   after a further sleep(1)
 *   run=<R> step=<name> when=3 ...   after a further sleep(2)
 * minflt/majflt are getrusage(RUSAGE_SELF) deltas too. Keys (kB unless noted):
 *   /proc/meminfo  Active(anon) Inactive(anon) Active(file) Inactive(file) Unevictable Mlocked
 *                  AnonPages Shmem Cached Mapped
 *   /proc/vmstat   pgactivate pgdeactivate (pages)
 *   memory.stat of the process's own cgroup-v1 memory cgroup, prefixed "cg_" (kB for sizes,
 *                  events as counts): cg_rss cg_cache cg_shmem cg_mapped_file cg_swap
 *                  cg_swapcached cg_active_anon cg_inactive_anon cg_active_file cg_inactive_file
 *                  cg_unevictable cg_pgfault cg_pgmajfault cg_workingset_refault_anon
 *                  (NA when there is no v1 memory cgroup)
 *
 * Steps:
 *   anon_touch   mmap 16 MiB MAP_PRIVATE|MAP_ANONYMOUS, write one word in every page
 *   madv_cold    madvise(MADV_COLD) on those 16 MiB
 *   file_write   create /var/tmp/mmsim-lru-steps.dat, write() 16 MiB in 1 MiB chunks, fsync()
 *   drop_caches  write "3" to /proc/sys/vm/drop_caches
 *   read1..read3 lseek(0) and read() the whole file in 1 MiB chunks (three separate steps)
 *   mmap_read    mmap the file PROT_READ MAP_SHARED, read one byte of every page (stays mapped)
 *   mlock        mmap 4 MiB fresh anonymous memory and mlock() it (mlock populates it)
 *   munlock      munlock() those 4 MiB (still mapped)
 *   shmem        memfd_create, ftruncate 8 MiB, mmap MAP_SHARED, write one word in every page
 *   free_all     munmap everything, close the memfd, unlink the file
 *
 * Build: gcc -O1 -Wall -o lru_steps lru_steps.c
 */
#define _GNU_SOURCE
#include "probe.h"

#include <stdint.h>
#include <sys/mman.h>

#define MiB (1024UL * 1024UL)
#define PG 4096UL
#define FILE_PATH "/var/tmp/mmsim-lru-steps.dat"

static char txt[PROBE_BUF];
static char line[4096];
static char iobuf[MiB];

static const char *meminfo_keys[] = {"Active(anon)", "Inactive(anon)", "Active(file)",
				     "Inactive(file)", "Unevictable", "Mlocked", "AnonPages",
				     "Shmem", "Cached", "Mapped"};
static const char *vmstat_keys[] = {"pgactivate", "pgdeactivate"};
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NK (N(meminfo_keys) + N(vmstat_keys) + 2 + PROBE_NCG)

static char cgpath[512];

static const char *run;

static void sample(long long *v)
{
	size_t i, k = 0;
	long minflt, majflt;

	probe_rusage(&minflt, &majflt);
	v[k++] = minflt;
	v[k++] = majflt;
	probe_slurp("/proc/meminfo", txt, sizeof(txt));
	for (i = 0; i < N(meminfo_keys); i++)
		v[k++] = probe_field(txt, meminfo_keys[i], ':');
	probe_slurp("/proc/vmstat", txt, sizeof(txt));
	for (i = 0; i < N(vmstat_keys); i++)
		v[k++] = probe_field(txt, vmstat_keys[i], ' ');
	probe_memcg_sample(cgpath[0] ? cgpath : NULL, txt, sizeof(txt), v + k);
}

static void print(const char *step, const char *when, const long long *v, const long long *base)
{
	size_t pos = 0, i, k = 0;

	pos += snprintf(line + pos, sizeof(line) - pos, "run=%s step=%s when=%s", run, step, when);
	pos += snprintf(line + pos, sizeof(line) - pos, " minflt=%lld", v[k] - (base ? base[k] : 0));
	k++;
	pos += snprintf(line + pos, sizeof(line) - pos, " majflt=%lld", v[k] - (base ? base[k] : 0));
	k++;
	for (i = 0; i < N(meminfo_keys); i++, k++)
		pos += snprintf(line + pos, sizeof(line) - pos, " %s=%lld", meminfo_keys[i],
				v[k] - (base ? base[k] : 0));
	for (i = 0; i < N(vmstat_keys); i++, k++)
		pos += snprintf(line + pos, sizeof(line) - pos, " %s=%lld", vmstat_keys[i],
				v[k] - (base ? base[k] : 0));
	for (i = 0; i < PROBE_NCG; i++, k++) {
		if (v[k] < 0)
			pos += snprintf(line + pos, sizeof(line) - pos, " cg_%s=NA", probe_cgkeys[i].key);
		else
			pos += snprintf(line + pos, sizeof(line) - pos, " cg_%s=%lld", probe_cgkeys[i].key,
					v[k] - (base ? base[k] : 0));
	}
	pos += snprintf(line + pos, sizeof(line) - pos, "\n");
	probe_emit(1, line, pos);
}

static long long base[NK], now[NK];

static void begin(void)
{
	sample(base);
}

static void end(const char *step)
{
	sample(now);
	print(step, "0", now, base);
	sleep(1);
	sample(now);
	print(step, "1", now, base);
	sleep(2);
	sample(now);
	print(step, "3", now, base);
}

static void die(const char *what)
{
	perror(what);
	unlink(FILE_PATH);
	exit(1);
}

static void read_whole(int fd)
{
	if (lseek(fd, 0, SEEK_SET) != 0)
		die("lseek");
	for (;;) {
		ssize_t r = read(fd, iobuf, sizeof(iobuf));
		if (r < 0)
			die("read");
		if (r == 0)
			break;
	}
}

int main(int argc, char **argv)
{
	char *anon, *fmap, *locked, *shm;
	volatile char sink = 0;
	unsigned long i;
	int fd, mfd, dfd;

	run = argc > 1 ? argv[1] : "1";
	/* Fault in our buffers and code paths before the first baseline. */
	memset(txt, 1, sizeof(txt));
	memset(line, 1, sizeof(line));
	memset(iobuf, 0x5a, sizeof(iobuf));
	if (probe_memcg_stat_path(cgpath, sizeof(cgpath)) != 0)
		cgpath[0] = 0;
	sample(base);
	sample(base);
	print("baseline", "abs", base, NULL);

	begin();
	anon = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		die("mmap anon");
	for (i = 0; i < 16 * MiB / PG; i++)
		*(volatile uint64_t *)(anon + i * PG) = i + 1;
	end("anon_touch");

	begin();
	if (madvise(anon, 16 * MiB, MADV_COLD) != 0)
		die("MADV_COLD");
	end("madv_cold");

	unlink(FILE_PATH);
	begin();
	fd = open(FILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(FILE_PATH);
	for (i = 0; i < 16; i++)
		if (write(fd, iobuf, MiB) != (ssize_t)MiB)
			die("write");
	if (fsync(fd) != 0)
		die("fsync");
	end("file_write");

	begin();
	dfd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (dfd < 0 || write(dfd, "3\n", 2) != 2)
		die("drop_caches");
	close(dfd);
	end("drop_caches");

	begin();
	read_whole(fd);
	end("read1");
	begin();
	read_whole(fd);
	end("read2");
	begin();
	read_whole(fd);
	end("read3");

	begin();
	fmap = mmap(NULL, 16 * MiB, PROT_READ, MAP_SHARED, fd, 0);
	if (fmap == MAP_FAILED)
		die("mmap file");
	for (i = 0; i < 16 * MiB / PG; i++)
		sink += fmap[i * PG];
	end("mmap_read");

	begin();
	locked = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (locked == MAP_FAILED)
		die("mmap locked");
	if (mlock(locked, 4 * MiB) != 0)
		die("mlock");
	end("mlock");

	begin();
	if (munlock(locked, 4 * MiB) != 0)
		die("munlock");
	end("munlock");

	begin();
	mfd = memfd_create("mmsim-lru-steps", 0);
	if (mfd < 0 || ftruncate(mfd, 8 * MiB) != 0)
		die("memfd");
	shm = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (shm == MAP_FAILED)
		die("mmap memfd");
	for (i = 0; i < 8 * MiB / PG; i++)
		*(volatile uint64_t *)(shm + i * PG) = i + 1;
	end("shmem");

	begin();
	munmap(anon, 16 * MiB);
	munmap(fmap, 16 * MiB);
	munmap(locked, 4 * MiB);
	munmap(shm, 8 * MiB);
	close(mfd);
	close(fd);
	unlink(FILE_PATH);
	end("free_all");
	(void)sink;
	return 0;
}
