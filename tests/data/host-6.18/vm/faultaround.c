/* faultaround.c - how many PTEs one read fault on a file mapping fills in (fault-around).
 *
 * For several ways of bringing a 1 MiB ext4 file into the page cache, mmap it PROT_READ
 * MAP_PRIVATE, read one byte at a given offset, and print: Rss of the VMA (smaps), the
 * minflt/majflt delta of the access, how many pages of the file are in the page cache
 * (mincore), and a map of the file's 256 pages as seen through /proc/self/pagemap +
 * /proc/kpageflags (root needed):
 *   '.' not mapped   's' mapped, small (order-0) folio   'H' mapped, head page of a large folio
 *   't' mapped, tail page of a large folio
 * and the large folios (file page index range, order) that the mapped pages belong to.
 *
 * Build: gcc -O0 -Wall -o faultaround faultaround.c
 * Run:   setarch -R ./faultaround > faultaround.out      (as root, cwd on ext4: uses /tmp)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL
#define FSZ (1024UL * 1024UL)
#define NPG (FSZ / PG)

static const char *path = "/tmp/faultaround-1M.dat";

static void faults(long *mn, long *mj)
{
	char b[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = 0;
	char *p = strrchr(b, ')') + 2;
	long v[16];
	for (int i = 3; i <= 12; i++) {
		v[i] = strtol(p, &p, 10);
		if (i == 3) { p = strchr(p, ' '); }   /* state is a letter */
		while (*p == ' ') p++;
	}
	*mn = v[10]; *mj = v[12];
}

static long vma_rss(unsigned long a)
{
	static char b[1 << 17];
	FILE *f = fopen("/proc/self/smaps", "r");
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = 0;
	char hdr[32];
	snprintf(hdr, sizeof hdr, "%lx-", a);
	char *p = strstr(b, hdr);
	if (!p) return -1;
	p = strstr(p, "\nRss:");
	return strtol(p + 5, NULL, 10);
}

static void pagemap(const char *id, char *m)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);
	int kf = open("/proc/kpageflags", O_RDONLY);
	char line[NPG + 1];
	int mapped = 0;
	long lastidx = -1;
	char folios[2048] = "";
	size_t fo = 0;
	for (unsigned long i = 0; i < NPG; i++) {
		uint64_t e = 0, fl = 0;
		pread(pm, &e, 8, ((unsigned long)m / PG + i) * 8);
		if (!(e >> 63)) { line[i] = '.'; continue; }
		mapped++;
		uint64_t pfn = e & ((1ULL << 55) - 1);
		pread(kf, &fl, 8, pfn * 8);
		int head = fl & (1ULL << 15), tail = fl & (1ULL << 16);
		line[i] = head ? 'H' : tail ? 't' : 's';
		if (!head && !tail) continue;
		/* find the head, then the size, of this large folio */
		uint64_t h = pfn;
		while (!(fl & (1ULL << 15))) { h--; pread(kf, &fl, 8, h * 8); }
		long idx = (long)i - (long)(pfn - h);
		if (idx == lastidx) continue;
		lastidx = idx;
		int n = 1;
		for (;; n++) {
			uint64_t f2 = 0;
			pread(kf, &f2, 8, (h + n) * 8);
			if (!(f2 & (1ULL << 16))) break;
		}
		int o = 0;
		while ((1 << o) < n) o++;
		fo += snprintf(folios + fo, sizeof folios - fo, " [%ld..%ld]order%d", idx, idx + n - 1, o);
	}
	line[NPG] = 0;
	printf("%s: vma at %p (offset in its 2 MiB page-table range 0x%lx); mapped=%d pages\n", id, m,
	       (unsigned long)m & 0x1fffff, mapped);
	printf("%s: pages 0-127:   %.128s\n", id, line);
	printf("%s: pages 128-255: %s\n", id, line + 128);
	printf("%s: large folios touching mapped pages (file page index range):%s\n", id, folios[0] ? folios : " none");
	close(pm); close(kf);
}

static int incore(int fd)
{
	char *m = mmap(NULL, FSZ, PROT_READ, MAP_SHARED, fd, 0);
	unsigned char v[NPG];
	mincore(m, FSZ, v);
	int n = 0;
	for (unsigned long i = 0; i < NPG; i++) n += v[i] & 1;
	munmap(m, FSZ);
	return n;
}

static int want_aligned;  /* place the mapping at a 2 MiB-aligned address + aligned_plus */
static unsigned long aligned_plus;

static void one(const char *id, int fd, unsigned long off)
{
	int before = incore(fd);
	char *m;
	if (want_aligned) {
		char *res = mmap(NULL, 4 * FSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		char *al = (char *)(((unsigned long)res + 0x1fffff) & ~0x1fffffUL);
		m = mmap(al + aligned_plus, FSZ, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
		if (al + aligned_plus > res) munmap(res, al + aligned_plus - res);
		munmap(al + aligned_plus + FSZ, res + 4 * FSZ - (al + aligned_plus + FSZ));
	} else
		m = mmap(NULL, FSZ, PROT_READ, MAP_PRIVATE, fd, 0);
	long mn0, mj0, mn1, mj1;
	faults(&mn0, &mj0);
	volatile char c = m[off];
	(void)c;
	faults(&mn1, &mj1);
	printf("%s: touch offset 0x%lx: Rss=%ld kB minflt+%ld majflt+%ld; page cache before=%d after=%d of %lu pages\n",
	       id, off, vma_rss((unsigned long)m), mn1 - mn0, mj1 - mj0, before, incore(fd), NPG);
	pagemap(id, m);
	fflush(stdout);
	munmap(m, FSZ);
}

static int create(size_t chunk)
{
	static char blk[FSZ];
	memset(blk, 'z', sizeof blk);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (size_t o = 0; o < FSZ; o += chunk)
		if (write(fd, blk, chunk) != (ssize_t)chunk) { perror("write"); exit(1); }
	fsync(fd);
	return fd;
}

static void evict(int fd)
{
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void readall(int fd, size_t chunk)
{
	static char b[FSZ];
	for (size_t o = 0; o < FSZ; o += chunk)
		if (pread(fd, b, chunk, o) != (ssize_t)chunk) { perror("pread"); exit(1); }
}

int main(void)
{
	FILE *f = fopen("/sys/kernel/debug/fault_around_bytes", "r");
	if (f) {
		long v; if (fscanf(f, "%ld", &v) == 1) printf("# /sys/kernel/debug/fault_around_bytes=%ld\n", v);
		fclose(f);
	} else
		printf("# /sys/kernel/debug/fault_around_bytes not readable (debugfs not mounted)\n");
	char ra[64] = "?";
	f = fopen("/sys/block/vda/queue/read_ahead_kb", "r");
	if (f) { if (fscanf(f, "%63s", ra) != 1) strcpy(ra, "?"); fclose(f); }
	printf("# file %s, 1 MiB, ext4 on vda (read_ahead_kb=%s)\n", path, ra);

	int fd;
	/* A: the brief's case: written, evicted, read back with read() (4 KiB reads), then fault */
	fd = create(PG); evict(fd); readall(fd, PG);
	one("A_warm_by_read4K_off0", fd, 0);
	one("A_warm_by_read4K_off512K", fd, 512 * 1024);
	one("A_warm_by_read4K_off1M-1", fd, FSZ - 1);
	close(fd);

	/* B: written with one 1 MiB write() and never evicted (page cache from the write path) */
	fd = create(FSZ);
	one("B_warm_by_write1M_off0", fd, 0);
	one("B_warm_by_write1M_off512K", fd, 512 * 1024);
	close(fd);

	/* B2: same as B, but the mapping starts on a 2 MiB boundary */
	fd = create(FSZ);
	want_aligned = 1;
	one("B2_write1M_aligned_off0", fd, 0);
	one("B2_write1M_aligned_off512K", fd, 512 * 1024);
	close(fd);
	fd = create(PG); evict(fd); readall(fd, PG);
	one("A2_read4K_aligned_off0", fd, 0);
	one("A2_read4K_aligned_off512K", fd, 512 * 1024);
	want_aligned = 0;
	close(fd);

	/* F: the file of B (one 1 MiB folio) mapped at 2 MiB boundary + various offsets */
	fd = create(FSZ);
	want_aligned = 1;
	{
		static const unsigned long plus[] = { 0, 0x1000, 0x10000, 0x80000, 0xd0000, 0x100000, 0x101000 };
		for (unsigned i = 0; i < sizeof plus / sizeof plus[0]; i++) {
			char id[64];
			aligned_plus = plus[i];
			snprintf(id, sizeof id, "F_write1M_at_2M+0x%lx_off0", plus[i]);
			one(id, fd, 0);
		}
	}
	/* G: same, but the file is 1 MiB + 4 KiB long (the 1 MiB folio no longer ends at EOF) */
	if (pwrite(fd, "g", 1, FSZ) != 1 || fsync(fd)) { perror("pwrite"); return 1; }
	{
		static const unsigned long plus[] = { 0, 0xd0000 };
		for (unsigned i = 0; i < sizeof plus / sizeof plus[0]; i++) {
			char id[64];
			aligned_plus = plus[i];
			snprintf(id, sizeof id, "G_1M+4K_file_at_2M+0x%lx_off0", plus[i]);
			one(id, fd, 0);
		}
	}
	aligned_plus = 0;
	want_aligned = 0;
	one("G_1M+4K_file_nullhint_off0", fd, 0);
	close(fd);

	/* C: written in 4 KiB writes and never evicted */
	fd = create(PG);
	one("C_warm_by_write4K_off0", fd, 0);
	one("C_warm_by_write4K_off512K", fd, 512 * 1024);
	close(fd);

	/* D: cold: written, evicted, then faulted (read-around / readahead from the fault) */
	fd = create(PG); evict(fd);
	one("D_cold_off0", fd, 0);
	close(fd);
	fd = open(path, O_RDONLY); evict(fd);
	one("D_cold_off512K", fd, 512 * 1024);
	close(fd);

	/* E: MADV_RANDOM on a warm file (fault-around still applies; readahead does not) */
	fd = create(PG); evict(fd); readall(fd, PG);
	{
		char *m = mmap(NULL, FSZ, PROT_READ, MAP_PRIVATE, fd, 0);
		madvise(m, FSZ, MADV_RANDOM);
		long mn0, mj0, mn1, mj1;
		faults(&mn0, &mj0);
		volatile char c = m[0]; (void)c;
		faults(&mn1, &mj1);
		printf("E_warm_madv_random_off0: touch offset 0x0: Rss=%ld kB minflt+%ld majflt+%ld\n",
		       vma_rss((unsigned long)m), mn1 - mn0, mj1 - mj0);
		pagemap("E_warm_madv_random_off0", m);
		munmap(m, FSZ);
	}
	close(fd);
	unlink(path);
	return 0;
}
