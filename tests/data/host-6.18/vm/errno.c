/* errno.c - what the kernel answers to refused (and some borderline) memory system calls,
 * and which signal / si_code a bad access gets.
 *
 * Output: one line per case:
 *   <id> | <call> | ret=<value or -1> | errno=<NAME or 0>
 * Signal cases:
 *   <id> | <access> | signal=<SIG> si_code=<n> (<NAME>) si_addr=<rel>
 * Addresses are printed relative to the mapping under test.
 *
 * Build: gcc -O0 -Wall -o errno errno.c
 * Run:   setarch -R ./errno > errno.out   (as root; RLIMIT_MEMLOCK 8 MiB)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL
#define MiB (1024UL * 1024UL)

static const char *ename(int e) { return e ? strerrorname_np(e) : "0"; }

static void row(const char *id, const char *what, long ret, int err)
{
	printf("%-28s | %-78s | ret=%ld | errno=%s\n", id, what, ret, ret == -1 ? ename(err) : "0");
	fflush(stdout);
}

static void rowp(const char *id, const char *what, void *p, int err)
{
	row(id, what, p == MAP_FAILED ? -1L : 0L, err);
}

/* a fresh mapping of n pages with a guaranteed unmapped page after it */
static char *fresh(size_t n, int prot)
{
	char *p = mmap(NULL, (n + 1) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) { perror("mmap"); exit(1); }
	munmap(p + n * PG, PG);
	mprotect(p, n * PG, prot);
	return p;
}

/* --- signal cases: run the access in a child --- */
static uintptr_t sig_base;
static const char *sig_id, *sig_what;

static const char *codename(int sig, int code)
{
	if (sig == SIGSEGV) switch (code) {
		case SEGV_MAPERR: return "SEGV_MAPERR";
		case SEGV_ACCERR: return "SEGV_ACCERR";
		case SEGV_BNDERR: return "SEGV_BNDERR";
		case SEGV_PKUERR: return "SEGV_PKUERR";
	}
	if (sig == SIGBUS) switch (code) {
		case BUS_ADRALN: return "BUS_ADRALN";
		case BUS_ADRERR: return "BUS_ADRERR";
		case BUS_OBJERR: return "BUS_OBJERR";
	}
	if (code == SI_KERNEL) return "SI_KERNEL";
	return "?";
}

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	printf("%-28s | %-78s | signal=SIG%s si_code=%d (%s) si_addr=%s0x%lx (abs 0x%lx)\n", sig_id, sig_what,
	       sigabbrev_np(sig), si->si_code, codename(sig, si->si_code),
	       a < sig_base ? "base-" : "base+", a < sig_base ? sig_base - a : a - sig_base, a);
	fflush(stdout);
	_exit(0);
}

typedef void (*accfn)(volatile char *p);
static void do_read(volatile char *p) { (void)*p; }
static void do_write(volatile char *p) { *p = 1; }

static void sigcase(const char *id, const char *what, volatile char *addr, uintptr_t base, accfn fn)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { 0 };
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sig_base = base; sig_id = id; sig_what = what;
		fn(addr);
		printf("%-28s | %-78s | no signal (access succeeded, value %d)\n", id, what, *addr);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int c, n = 0;
	while ((c = getc(f)) != EOF)
		if (c == '\n') n++;
	fclose(f);
	return n;
}

static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

int main(void)
{
	void *r;
	long ret;
	char *p, *q;

	/* test files */
	const char *fpath = "/tmp/errno-test.dat";
	int fdw = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	static char blk[4 * PG];
	memset(blk, 'x', sizeof blk);
	if (write(fdw, blk, sizeof blk) != sizeof blk) { perror("write"); return 1; }
	int fdr = open(fpath, O_RDONLY);

	printf("# id | call | result\n");

	/* ---------------- mmap ---------------- */
	errno = 0; r = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rowp("mmap_len0", "mmap(NULL, 0, R, PRIVATE|ANON)", r, errno);

	p = fresh(4, PROT_READ | PROT_WRITE);
	errno = 0; r = mmap(p + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	rowp("mmap_fixed_unaligned", "mmap(page+1, 4K, R, PRIVATE|ANON|FIXED)", r, errno);

	errno = 0; r = mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	rowp("mmap_fixed_noreplace_busy", "mmap(mapped page, 4K, R, PRIVATE|ANON|FIXED_NOREPLACE)", r, errno);

	errno = 0; r = mmap(p + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	rowp("mmap_fixed_noreplace_free", "mmap(unmapped page, 4K, R, PRIVATE|ANON|FIXED_NOREPLACE) (succeeds)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0);
	rowp("mmap_no_type", "mmap(NULL, 4K, R, ANON) (neither PRIVATE nor SHARED)", r, errno);

	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	rowp("mmap_private_and_shared", "mmap(NULL, 4K, R, PRIVATE|SHARED|ANON) (= MAP_SHARED_VALIDATE)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x400000, fdw, 0);
	rowp("mmap_shared_validate_bad", "mmap(NULL, 4K, R, SHARED_VALIDATE|unknown flag 0x400000, file)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);
	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_SHARED | 0x400000, fdw, 0);
	rowp("mmap_shared_unknown_flag", "mmap(NULL, 4K, R, SHARED|unknown flag 0x400000, file) (ignored; succeeds)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);
	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, fdw, 0);
	rowp("mmap_map_sync_non_dax", "mmap(NULL, 4K, R, SHARED_VALIDATE|MAP_SYNC, ext4 file, not DAX)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	errno = 0; r = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fdr, 0);
	rowp("mmap_shared_write_rdonly_fd", "mmap(NULL, 4K, RW, SHARED, O_RDONLY file)", r, errno);

	errno = 0; r = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fdr, 0);
	rowp("mmap_private_write_rdonly_fd", "mmap(NULL, 4K, RW, PRIVATE, O_RDONLY file) (succeeds)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	int fdwo = open(fpath, O_WRONLY);
	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_SHARED, fdwo, 0);
	rowp("mmap_wronly_fd", "mmap(NULL, 4K, R, SHARED, O_WRONLY file)", r, errno);
	close(fdwo);

	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fdr, 100);
	rowp("mmap_offset_unaligned", "mmap(NULL, 4K, R, PRIVATE, file, offset 100)", r, errno);

	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 12345, 0);
	rowp("mmap_bad_fd", "mmap(NULL, 4K, R, PRIVATE, fd 12345 (not open))", r, errno);

	int fdd = open("/tmp", O_RDONLY | O_DIRECTORY);
	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fdd, 0);
	rowp("mmap_directory", "mmap(NULL, 4K, R, PRIVATE, fd of a directory)", r, errno);
	close(fdd);

	errno = 0; r = mmap(NULL, -PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rowp("mmap_len_huge", "mmap(NULL, 2^64-4096, R, PRIVATE|ANON)", r, errno);

	errno = 0; r = mmap(NULL, 1UL << 47, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	rowp("mmap_len_128T", "mmap(NULL, 128 TiB, NONE, PRIVATE|ANON|NORESERVE)", r, errno);

	errno = 0; r = mmap((void *)0x7ffffffff000UL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	rowp("mmap_fixed_past_task_size", "mmap(0x7ffffffff000, 8K, R, PRIVATE|ANON|FIXED) (crosses TASK_SIZE)", r, errno);

	errno = 0; r = mmap((void *)PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	rowp("mmap_fixed_at_4K", "mmap(0x1000, 4K, R, PRIVATE|ANON|FIXED_NOREPLACE) (mmap_min_addr 4096)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	rowp("mmap_fixed_null", "mmap(NULL, 4K, R, PRIVATE|ANON|FIXED) (address 0, below mmap_min_addr; root)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	errno = 0; r = mmap(NULL, PG, 0x100, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rowp("mmap_bad_prot", "mmap(NULL, 4K, prot 0x100, PRIVATE|ANON)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);

	{
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			if (setgid(65534) || setuid(65534)) { perror("setuid"); _exit(1); }
			errno = 0; r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			rowp("mmap_fixed_null_nonroot", "mmap(NULL, 4K, R, PRIVATE|ANON|FIXED) as uid 65534 (no CAP_SYS_RAWIO)", r, errno);
			errno = 0; r = mmap((void *)PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			rowp("mmap_fixed_4K_nonroot", "mmap(0x1000, 4K, R, PRIVATE|ANON|FIXED_NOREPLACE) as uid 65534 (= mmap_min_addr)", r, errno);
			errno = 0; ret = mlock(fresh(4096, PROT_READ), 4096 * PG);
			row("mlock_over_rlimit_nonroot", "mlock(16 MiB) as uid 65534 with RLIMIT_MEMLOCK 8 MiB", ret, errno);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
	}

	/* ---------------- munmap ---------------- */
	errno = 0; ret = munmap(p + 1, PG);
	row("munmap_unaligned", "munmap(page+1, 4K)", ret, errno);
	errno = 0; ret = munmap(p, 0);
	row("munmap_len0", "munmap(page, 0)", ret, errno);
	errno = 0; ret = munmap(p + 4 * PG, PG);
	row("munmap_hole", "munmap(unmapped page, 4K) (succeeds)", ret, errno);
	errno = 0; ret = munmap(p + 1 * PG, 100);
	row("munmap_len_unaligned", "munmap(page, 100) (len rounded up; succeeds)", ret, errno);
	errno = 0; ret = munmap((void *)0x7ffffffff000UL, 2 * PG);
	row("munmap_past_task_size", "munmap(0x7ffffffff000, 8K)", ret, errno);

	/* ---------------- mprotect ---------------- */
	p = fresh(4, PROT_READ | PROT_WRITE);
	errno = 0; ret = mprotect(p + 1, PG, PROT_READ);
	row("mprotect_unaligned", "mprotect(page+1, 4K, R)", ret, errno);
	errno = 0; ret = mprotect(p + 3 * PG, 2 * PG, PROT_READ);
	row("mprotect_hole", "mprotect(last page + unmapped page after it, 8K, R)", ret, errno);
	errno = 0; ret = mprotect(p + 4 * PG, PG, PROT_READ);
	row("mprotect_hole_only", "mprotect(unmapped page, 4K, R)", ret, errno);
	errno = 0; ret = mprotect(p, 0, PROT_READ);
	row("mprotect_len0", "mprotect(page, 0, R) (succeeds)", ret, errno);
	errno = 0; ret = mprotect(p, PG, 0x100);
	row("mprotect_bad_prot", "mprotect(page, 4K, 0x100)", ret, errno);
	errno = 0; ret = mprotect(p, PG, PROT_READ | PROT_GROWSDOWN);
	row("mprotect_growsdown_nongrowing", "mprotect(page, 4K, R|PROT_GROWSDOWN) on a non-stack VMA", ret, errno);
	q = mmap(NULL, PG, PROT_READ, MAP_SHARED, fdr, 0);
	errno = 0; ret = mprotect(q, PG, PROT_READ | PROT_WRITE);
	row("mprotect_write_shared_rdonly", "mprotect(SHARED map of O_RDONLY file, 4K, RW)", ret, errno);
	munmap(q, PG);
	q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fdr, 0);
	errno = 0; ret = mprotect(q, PG, PROT_READ | PROT_WRITE);
	row("mprotect_write_private_rdonly", "mprotect(PRIVATE map of O_RDONLY file, 4K, RW) (succeeds)", ret, errno);
	munmap(q, PG);

	/* ---------------- mremap ---------------- */
	p = fresh(4, PROT_READ | PROT_WRITE);
	errno = 0; r = mremap(p, 0, PG, MREMAP_MAYMOVE);
	rowp("mremap_old0_private", "mremap(private anon page, old 0, new 4K, MAYMOVE)", r, errno);
	q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	errno = 0; r = mremap(q, 0, PG, MREMAP_MAYMOVE);
	rowp("mremap_old0_shared", "mremap(shared anon page, old 0, new 4K, MAYMOVE) (duplicates; succeeds)", r, errno);
	if (r != MAP_FAILED) munmap(r, PG);
	munmap(q, 2 * PG);
	errno = 0; r = mremap(p, PG, 2 * PG, 0);
	rowp("mremap_grow_blocked", "mremap(page 0 of 4, 4K -> 8K, 0) (page 1 is mapped)", r, errno);
	errno = 0; r = mremap(p + 3 * PG, PG, 2 * PG, 0);
	rowp("mremap_grow_inplace", "mremap(last page, 4K -> 8K, 0) (next page free; succeeds in place)", r, errno);
	errno = 0; r = mremap(p, PG, PG, MREMAP_FIXED, p + 8 * PG);
	rowp("mremap_fixed_no_maymove", "mremap(page, 4K, 4K, FIXED, new) without MAYMOVE", r, errno);
	errno = 0; r = mremap(p + 1, PG, 2 * PG, MREMAP_MAYMOVE);
	rowp("mremap_unaligned", "mremap(page+1, 4K, 8K, MAYMOVE)", r, errno);
	errno = 0; r = mremap(p, PG, 0, MREMAP_MAYMOVE);
	rowp("mremap_new0", "mremap(page, 4K, 0, MAYMOVE)", r, errno);
	errno = 0; r = mremap(p, PG, PG, 0x80);
	rowp("mremap_bad_flags", "mremap(page, 4K, 4K, flags 0x80)", r, errno);
	{
		char *h = fresh(1, PROT_READ);
		munmap(h, PG);
		errno = 0; r = mremap(h, PG, 2 * PG, MREMAP_MAYMOVE);
		rowp("mremap_unmapped", "mremap(unmapped page, 4K, 8K, MAYMOVE)", r, errno);
	}
	{
		char *t = fresh(2, PROT_READ | PROT_WRITE);
		mprotect(t, PG, PROT_READ);
		errno = 0; r = mremap(t, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
		rowp("mremap_grow_two_vmas", "mremap([R page][RW page], 8K -> 16K, MAYMOVE) (range spans 2 VMAs)", r, errno);
		errno = 0; r = mremap(t, 2 * PG, PG, 0);
		rowp("mremap_shrink_two_vmas", "mremap([R page][RW page], 8K -> 4K, 0) (shrink over 2 VMAs)", r, errno);
	}
	{
		char *t = fresh(4, PROT_READ | PROT_WRITE);
		errno = 0; r = mremap(t, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t + PG);
		rowp("mremap_fixed_overlap", "mremap(a, 8K, 8K, MAYMOVE|FIXED, a+4K) (overlapping ranges)", r, errno);
		errno = 0; r = mremap(t, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
		rowp("mremap_dontunmap_resize", "mremap(a, 4K, 8K, MAYMOVE|DONTUNMAP) (size change)", r, errno);
		errno = 0; r = mremap(t, PG, PG, MREMAP_DONTUNMAP);
		rowp("mremap_dontunmap_no_maymove", "mremap(a, 4K, 4K, DONTUNMAP) without MAYMOVE", r, errno);
	}

	/* ---------------- madvise ---------------- */
	p = fresh(4, PROT_READ | PROT_WRITE);
	errno = 0; ret = madvise(p, PG, 12345);
	row("madvise_bad_advice", "madvise(page, 4K, 12345)", ret, errno);
	errno = 0; ret = madvise(p + 3 * PG, 2 * PG, MADV_DONTNEED);
	row("madvise_hole_dontneed", "madvise(last page + hole, 8K, DONTNEED)", ret, errno);
	errno = 0; ret = madvise(p + 3 * PG, 2 * PG, MADV_WILLNEED);
	row("madvise_hole_willneed", "madvise(last page + hole, 8K, WILLNEED)", ret, errno);
	errno = 0; ret = madvise(p + 4 * PG, PG, MADV_NORMAL);
	row("madvise_hole_only_normal", "madvise(unmapped page, 4K, NORMAL)", ret, errno);
	errno = 0; ret = madvise(p + 1, PG, MADV_DONTNEED);
	row("madvise_unaligned", "madvise(page+1, 4K, DONTNEED)", ret, errno);
	errno = 0; ret = madvise(p, 0, MADV_DONTNEED);
	row("madvise_len0", "madvise(page, 0, DONTNEED) (succeeds)", ret, errno);
	errno = 0; ret = madvise(p, PG, MADV_HUGEPAGE);
	row("madvise_hugepage", "madvise(anon page, 4K, HUGEPAGE) (succeeds)", ret, errno);
	q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fdr, 0);
	errno = 0; ret = madvise(q, PG, MADV_FREE);
	row("madvise_free_file", "madvise(private file page, 4K, FREE)", ret, errno);
	munmap(q, PG);
	{
		char *l = fresh(1, PROT_READ | PROT_WRITE);
		mlock(l, PG);
		errno = 0; ret = madvise(l, PG, MADV_DONTNEED);
		row("madvise_dontneed_locked", "madvise(mlocked page, 4K, DONTNEED)", ret, errno);
		munlock(l, PG);
	}

	/* ---------------- mlock / msync / mincore ---------------- */
	p = fresh(4, PROT_READ | PROT_WRITE);
	errno = 0; ret = mlock(p + 3 * PG, 2 * PG);
	row("mlock_hole", "mlock(last page + hole, 8K)", ret, errno);
	errno = 0; ret = mlock(p + 1, PG);
	row("mlock_unaligned", "mlock(page+1, 4K) (addr rounded down; succeeds)", ret, errno);
	munlock(p, 2 * PG);
	errno = 0; ret = munlock(p + 4 * PG, PG);
	row("munlock_hole", "munlock(unmapped page, 4K)", ret, errno);
	errno = 0; ret = msync(p + 3 * PG, 2 * PG, MS_SYNC);
	row("msync_hole", "msync(last page + hole, 8K, MS_SYNC)", ret, errno);
	errno = 0; ret = msync(p, PG, MS_SYNC | MS_ASYNC);
	row("msync_bad_flags", "msync(page, 4K, MS_SYNC|MS_ASYNC)", ret, errno);
	errno = 0; ret = msync(p + 1, PG, MS_SYNC);
	row("msync_unaligned", "msync(page+1, 4K, MS_SYNC)", ret, errno);
	{
		unsigned char vec[4];
		errno = 0; ret = mincore(p + 1, PG, vec);
		row("mincore_unaligned", "mincore(page+1, 4K)", ret, errno);
		errno = 0; ret = mincore(p + 3 * PG, 2 * PG, vec);
		row("mincore_hole", "mincore(last page + hole, 8K)", ret, errno);
	}

	/* ---------------- brk ---------------- */
	{
		long cur = syscall(SYS_brk, 0);
		long start = cur;
		long got = syscall(SYS_brk, cur + 3 * PG + 5);
		printf("%-28s | %-78s | ret=cur+0x%lx\n", "brk_grow", "brk(cur + 3 pages + 5)", got - start);
		got = syscall(SYS_brk, 0x1000);
		printf("%-28s | %-78s | ret=cur+0x%lx (unchanged break)\n", "brk_below_start", "brk(0x1000) (below start_brk)", got - start);
		got = syscall(SYS_brk, -PG);
		printf("%-28s | %-78s | ret=cur+0x%lx (unchanged break)\n", "brk_huge", "brk(0xfffffffffffff000)", got - start);
		got = syscall(SYS_brk, start);
		printf("%-28s | %-78s | ret=cur+0x%lx\n", "brk_shrink_back", "brk(original)", got - start);
		fflush(stdout);
	}

	/* ---------------- max_map_count ---------------- */
	{
		FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
		long mmc = 0;
		if (fscanf(f, "%ld", &mmc) != 1) mmc = -1;
		fclose(f);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			int before = count_maps();
			long n = 0;
			int e = 0;
			char *last = NULL;
			for (;;) {
				char *m = mmap(NULL, PG, (n & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (m == MAP_FAILED) { e = errno; break; }
				last = m;
				n++;
			}
			int at = count_maps();
			printf("%-28s | %-78s | errno=%s after %ld successful mmaps; maps lines before=%d at failure=%d (max_map_count=%ld)\n",
			       "mmap_max_map_count", "mmap 4K pages of alternating prot until failure",
			       ename(e), n, before, at, mmc);
			/* a split of one VMA into three at the limit */
			char *big = NULL;
			munmap(last, PG); /* make room for one more VMA */
			big = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			printf("%-28s | %-78s | %s; maps lines=%d\n", "  (refill)", "munmap one page, mmap a 3-page VMA",
			       big == MAP_FAILED ? ename(errno) : "ok", count_maps());
			errno = 0; ret = mprotect(big + PG, PG, PROT_READ);
			row("mprotect_split_at_limit", "mprotect(middle page of 3-page VMA, R) at the limit", ret, errno);
			errno = 0; ret = munmap(big + PG, PG);
			row("munmap_split_at_limit", "munmap(middle page of 3-page VMA) at the limit", ret, errno);
			errno = 0; ret = munmap(big, PG);
			row("munmap_edge_at_limit", "munmap(first page of 3-page VMA) at the limit (no split)", ret, errno);
			fflush(stdout);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
	}

	/* ---------------- RLIMIT_AS ---------------- */
	{
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			FILE *f = fopen("/proc/self/status", "r");
			char line[256];
			long vmsize = 0;
			while (fgets(line, sizeof line, f))
				if (!strncmp(line, "VmSize:", 7)) vmsize = strtol(line + 7, NULL, 10);
			fclose(f);
			struct rlimit rl = { (vmsize + 1024) * 1024, (vmsize + 1024) * 1024 };
			setrlimit(RLIMIT_AS, &rl);
			errno = 0; r = mmap(NULL, 2 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			rowp("mmap_over_rlimit_as", "RLIMIT_AS=VmSize+1MiB; mmap(NULL, 2M, NONE, PRIVATE|ANON|NORESERVE)", r, errno);
			errno = 0; r = mmap(NULL, 512 * 1024, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			rowp("mmap_under_rlimit_as", "RLIMIT_AS=VmSize+1MiB; mmap(NULL, 512K, R, PRIVATE|ANON) (succeeds)", r, errno);
			q = fresh(1, PROT_READ);
			errno = 0; r = mremap(q, PG, 2 * MiB, MREMAP_MAYMOVE);
			rowp("mremap_over_rlimit_as", "RLIMIT_AS=VmSize+1MiB; mremap(4K -> 2M, MAYMOVE)", r, errno);
			long cur = syscall(SYS_brk, 0);
			long got = syscall(SYS_brk, cur + 2 * MiB);
			printf("%-28s | %-78s | ret=cur+0x%lx\n", "brk_over_rlimit_as", "RLIMIT_AS=VmSize+1MiB; brk(cur + 2M) (unchanged = refused)", got - cur);
			fflush(stdout);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
	}

	/* ---------------- signals ---------------- */
	p = fresh(1, PROT_NONE);
	sigcase("sig_prot_none_read", "read a PROT_NONE page", p + 8, (uintptr_t)p, do_read);
	sigcase("sig_prot_none_write", "write a PROT_NONE page", p + 8, (uintptr_t)p, do_write);
	p = fresh(1, PROT_READ);
	sigcase("sig_write_readonly", "write a PROT_READ anon page (never touched)", p + 8, (uintptr_t)p, do_write);
	(void)*(volatile char *)p;
	sigcase("sig_write_readonly_present", "write a PROT_READ anon page (read-faulted first)", p + 8, (uintptr_t)p, do_write);
	p = fresh(1, PROT_WRITE);
	sigcase("read_write_only", "read a PROT_WRITE-only page (x86: write implies read)", p + 8, (uintptr_t)p, do_read);
	p = fresh(1, PROT_EXEC);
	sigcase("read_exec_only", "read a PROT_EXEC-only page (no PKU on this CPU)", p + 8, (uintptr_t)p, do_read);
	p = fresh(1, PROT_READ);
	munmap(p, PG);
	sigcase("sig_unmapped_read", "read an address in no mapping", p + 8, (uintptr_t)p, do_read);
	sigcase("sig_null_read", "read address 0", (volatile char *)0, 0, do_read);
	sigcase("sig_kernel_addr_read", "read 0xffff888000000000 (kernel half)", (volatile char *)0xffff888000000000UL, 0xffff888000000000UL, do_read);
	sigcase("sig_noncanonical_read", "read 0x0000900000000000 (non-canonical, 4-level paging)", (volatile char *)0x0000900000000000UL, 0x0000900000000000UL, do_read);
	sigcase("sig_text_write", "write the first byte of main() (text segment, r-xp)", (volatile char *)(uintptr_t)main,
		(uintptr_t)main, do_write);
	q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fdr, 0);
	sigcase("sig_write_ro_file_private", "write a PROT_READ PRIVATE file page", q + 8, (uintptr_t)q, do_write);
	munmap(q, PG);

	/* mmap a file beyond its end */
	{
		const char *sp = "/tmp/errno-short.dat";
		int fs = open(sp, O_RDWR | O_CREAT | O_TRUNC, 0600);
		static char hundred[100];
		memset(hundred, 'y', sizeof hundred);
		if (write(fs, hundred, 100) != 100) { perror("write"); return 1; }
		errno = 0; q = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fs, 0);
		rowp("mmap_beyond_eof", "mmap(NULL, 12K, RW, SHARED, 100-byte file) (succeeds)", q, errno);
		sigcase("eof_same_page_read", "read offset 200 of a 100-byte file (inside EOF page)", q + 200, (uintptr_t)q, do_read);
		sigcase("sig_eof_next_page_read", "read offset 4096 of a 100-byte file (page past EOF)", q + PG, (uintptr_t)q, do_read);
		sigcase("sig_eof_next_page_write", "write offset 8192 of a 100-byte file", q + 2 * PG, (uintptr_t)q, do_write);
		munmap(q, 3 * PG);
		q = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fs, 0);
		sigcase("sig_eof_private_write", "write offset 4096 of a 100-byte file, MAP_PRIVATE", q + PG, (uintptr_t)q, do_write);
		munmap(q, 3 * PG);
		close(fs);
		unlink(sp);
	}

	/* ---------------- overcommit ---------------- */
	{
		FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
		int om = -1, ratio = -1;
		if (fscanf(f, "%d", &om) != 1) om = -1;
		fclose(f);
		f = fopen("/proc/sys/vm/overcommit_ratio", "r");
		if (fscanf(f, "%d", &ratio) != 1) ratio = -1;
		fclose(f);
		long mt = meminfo("MemTotal"), st = meminfo("SwapTotal"), cl = meminfo("CommitLimit");
		printf("# overcommit_memory=%d overcommit_ratio=%d MemTotal=%ld kB SwapTotal=%ld kB CommitLimit=%ld kB\n",
		       om, ratio, mt, st, cl);
		unsigned long tot = (unsigned long)(mt + st) * 1024;
		struct { const char *id, *what; unsigned long len; int prot, flags; } oc[] = {
			{ "oc_2x_ram_swap", "mmap(2*(MemTotal+SwapTotal), RW, PRIVATE|ANON)", 2 * tot, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS },
			{ "oc_ram_swap_plus_4M", "mmap(MemTotal+SwapTotal+4M, RW, PRIVATE|ANON)", tot + 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS },
			{ "oc_90pct_ram", "mmap(0.9*MemTotal, RW, PRIVATE|ANON)", tot / 10 * 9, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS },
			{ "oc_2x_noreserve", "mmap(2*(MemTotal+SwapTotal), RW, PRIVATE|ANON|NORESERVE)", 2 * tot, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE },
			{ "oc_2x_readonly", "mmap(2*(MemTotal+SwapTotal), R, PRIVATE|ANON) (not accounted)", 2 * tot, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS },
			{ "oc_2x_shared", "mmap(2*(MemTotal+SwapTotal), RW, SHARED|ANON)", 2 * tot, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS },
			{ "oc_16T_noreserve", "mmap(16 TiB, RW, PRIVATE|ANON|NORESERVE)", 16UL << 40, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE },
		};
		for (unsigned i = 0; i < sizeof oc / sizeof oc[0]; i++) {
			errno = 0;
			r = mmap(NULL, oc[i].len, oc[i].prot, oc[i].flags, -1, 0);
			char what[160];
			snprintf(what, sizeof what, "%s = %lu kB", oc[i].what, oc[i].len / 1024);
			rowp(oc[i].id, what, r, errno);
			if (r != MAP_FAILED) {
				if (!strcmp(oc[i].id, "oc_2x_readonly")) {
					errno = 0;
					ret = mprotect(r, oc[i].len, PROT_READ | PROT_WRITE);
					row("oc_2x_readonly_then_write", "mprotect(that region, RW) (now accounted)", ret, errno);
				}
				munmap(r, oc[i].len);
			}
		}
	}

	close(fdw); close(fdr);
	unlink(fpath);
	return 0;
}
