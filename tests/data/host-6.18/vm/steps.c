/* steps.c - walk one anonymous region (and then one file) through mmap, touch, fork, COW,
 * mprotect, mremap, munmap, and print after each step the memory counters of the process(es)
 * as the kernel reports them in /proc/self/{status,smaps_rollup,stat,maps}.
 *
 * Output lines:
 *   step=<name> who=<parent|child> <Field>=<kB> ... minflt=<n> majflt=<n> dminflt=<n> dmajflt=<n>
 *   step=<name> who=<...> map rel=<start-R>-<end-R> <perms> <offset> <dev> <inode> <path>
 * where R is the start of the 16 MiB region as first mapped (hex, relative; may be negative
 * after mremap moved it), dminflt/dmajflt are deltas since this process's previous report.
 * Only maps lines that overlap the current region (anonymous part) or the test file are printed.
 *
 * Build: gcc -O0 -Wall -o steps steps.c
 * Run:   setarch -R ./steps > steps.out
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1024UL * 1024UL)
#define PG 4096UL

static char buf[1 << 16];
static char out[1 << 14];
static unsigned long base0;           /* region start as first mapped */
static unsigned long cur_lo, cur_hi;  /* range of interest for maps lines */
static unsigned long file_lo, file_hi;
static long last_min = -1, last_maj = -1;

static ssize_t slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) { perror(path); exit(1); }
	ssize_t n = 0, r;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

/* append " Key=value" for "Key:   value kB" found in buf */
static void field(const char *key, size_t *o)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\n%s:", key);
	char *p = strstr(buf, pat);
	if (!p && strncmp(buf, pat + 1, strlen(pat + 1)) == 0)
		p = buf - 1;
	if (!p) { *o += snprintf(out + *o, sizeof(out) - *o, " %s=NA", key); return; }
	p += strlen(pat);
	while (*p == ' ' || *p == '\t') p++;
	long v = strtol(p, NULL, 10);
	*o += snprintf(out + *o, sizeof(out) - *o, " %s=%ld", key, v);
}

static void report(const char *step, const char *who)
{
	size_t o = 0;
	o += snprintf(out + o, sizeof(out) - o, "step=%s who=%s", step, who);
	slurp("/proc/self/status");
	static const char *sf[] = { "VmPeak", "VmSize", "VmHWM", "VmRSS", "RssAnon", "RssFile",
		"RssShmem", "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", NULL };
	for (int i = 0; sf[i]; i++) field(sf[i], &o);
	slurp("/proc/self/smaps_rollup");
	static const char *rf[] = { "Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem",
		"Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced",
		"Anonymous", NULL };
	for (int i = 0; rf[i]; i++) field(rf[i], &o);
	slurp("/proc/self/stat");
	/* fields after ") ": state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt majflt(12) */
	char *p = strrchr(buf, ')') + 2;
	long f[16]; int i = 3;
	char *s = p;
	while (i <= 12) {
		char *sp = strchr(s, ' ');
		if (i >= 4) f[i] = strtol(s, NULL, 10);
		s = sp + 1; i++;
	}
	long mn = f[10], mj = f[12];
	o += snprintf(out + o, sizeof(out) - o, " minflt=%ld majflt=%ld dminflt=%ld dmajflt=%ld\n",
		      mn, mj, last_min < 0 ? 0 : mn - last_min, last_maj < 0 ? 0 : mj - last_maj);
	write(1, out, o);
	/* maps lines of interest; read maps after the counters (reading it faults nothing in) */
	slurp("/proc/self/maps");
	for (char *line = buf; *line; ) {
		char *nl = strchr(line, '\n');
		if (nl) *nl = 0;
		unsigned long lo, hi;
		int off = 0;
		if (sscanf(line, "%lx-%lx %n", &lo, &hi, &off) >= 2) {
			int hit = (cur_hi && lo < cur_hi && hi > cur_lo) ||
				  (file_hi && lo < file_hi && hi > file_lo);
			if (hit) {
				o = snprintf(out, sizeof(out), "step=%s who=%s map rel=%s%lx-%s%lx %s\n", step, who,
					     lo < base0 ? "-" : "", lo < base0 ? base0 - lo : lo - base0,
					     hi < base0 ? "-" : "", hi < base0 ? base0 - hi : hi - base0, line + off);
				write(1, out, o);
			}
		}
		if (!nl) break;
		line = nl + 1;
	}
	/* re-read stat so that faults caused by the report itself are not charged to the next step */
	slurp("/proc/self/stat");
	p = strrchr(buf, ')') + 2; s = p; i = 3;
	while (i <= 12) {
		char *sp = strchr(s, ' ');
		if (i >= 4) f[i] = strtol(s, NULL, 10);
		s = sp + 1; i++;
	}
	last_min = f[10]; last_maj = f[12];
}

static void touch(char *p, unsigned long len)
{
	for (unsigned long i = 0; i < len; i += PG)
		p[i] = 1;
}

static void die(const char *m) { perror(m); exit(1); }

int main(void)
{
	/* pre-fault everything report() uses so that the first step does not count it */
	report("warmup", "parent");
	printf("# page size %ld; region addresses are relative to the first mmap\n", sysconf(_SC_PAGESIZE));
	fflush(stdout);
	report("start", "parent");

	char *r = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) die("mmap");
	base0 = (unsigned long)r;
	printf("# region start %p (2MiB-aligned: %s)\n", r, ((unsigned long)r & (2 * MiB - 1)) ? "no" : "yes");
	fflush(stdout);
	cur_lo = base0; cur_hi = base0 + 16 * MiB;
	report("mmap16M", "parent");

	touch(r, 16 * MiB);
	report("touch16M", "parent");

	int p2c[2], c2p[2];
	if (pipe(p2c) || pipe(c2p)) die("pipe");
	char c;
	pid_t pid = fork();
	if (pid < 0) die("fork");
	if (pid == 0) {
		last_min = last_maj = -1;
		/* wait for parent to print its fork report */
		if (read(p2c[0], &c, 1) != 1) die("read");
		report("fork", "child");
		if (write(c2p[1], "x", 1) != 1) die("write");
		if (read(p2c[0], &c, 1) != 1) die("read");
		touch(r, 8 * MiB);
		report("child_write8M", "child");
		if (write(c2p[1], "x", 1) != 1) die("write");
		if (read(p2c[0], &c, 1) != 1) die("read");
		_exit(0);
	}
	report("fork", "parent");
	if (write(p2c[1], "x", 1) != 1) die("write");
	if (read(c2p[0], &c, 1) != 1) die("read");      /* child printed fork */
	if (write(p2c[1], "x", 1) != 1) die("write");   /* child: write 8 MiB, report */
	if (read(c2p[0], &c, 1) != 1) die("read");
	report("child_write8M", "parent");              /* child still alive */
	if (write(p2c[1], "x", 1) != 1) die("write");   /* child: exit */
	int st;
	if (waitpid(pid, &st, 0) != pid) die("waitpid");
	report("child_exited", "parent");

	if (mprotect(r, 4 * MiB, PROT_READ)) die("mprotect");
	report("mprotect4M_RO", "parent");

	/* mremap of a range that spans two VMAs */
	char *q = mremap(r, 16 * MiB, 32 * MiB, MREMAP_MAYMOVE);
	printf("# mremap(r, 16M, 32M, MAYMOVE) over the two VMAs [R 4M][RW 12M] -> %s\n",
	       q == MAP_FAILED ? strerrorname_np(errno) : "ok");
	fflush(stdout);
	if (q == MAP_FAILED) {
		report("mremap_grow_2vmas_failed", "parent");
		if (mprotect(r, 4 * MiB, PROT_READ | PROT_WRITE)) die("mprotect");
		report("mprotect4M_RW_again", "parent");
		q = mremap(r, 16 * MiB, 32 * MiB, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) die("mremap grow");
	}
	printf("# grown region at rel %s%lx (moved: %s)\n", (unsigned long)q < base0 ? "-" : "",
	       (unsigned long)q < base0 ? base0 - (unsigned long)q : (unsigned long)q - base0,
	       q == r ? "no" : "yes");
	fflush(stdout);
	r = q;
	cur_lo = (unsigned long)r; cur_hi = cur_lo + 32 * MiB;
	report("mremap_grow32M", "parent");
	touch(r + 16 * MiB, 16 * MiB);
	report("touch_new16M", "parent");

	q = mremap(r, 32 * MiB, 8 * MiB, 0);
	if (q == MAP_FAILED) die("mremap shrink");
	r = q;
	report("mremap_shrink8M", "parent");
	cur_hi = cur_lo + 8 * MiB;

	if (munmap(r, 8 * MiB)) die("munmap");
	report("munmap", "parent");
	cur_lo = cur_hi = 0;

	/* file part */
	const char *path = "/tmp/steps-4M.dat";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) die("open");
	static char blk[64 * 1024];
	memset(blk, 'a', sizeof(blk));
	for (int i = 0; i < 64; i++)
		if (write(fd, blk, sizeof(blk)) != sizeof(blk)) die("write file");
	if (fsync(fd)) die("fsync");
	report("file_created", "parent");

	char *f = mmap(NULL, 4 * MiB, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED) die("mmap file");
	file_lo = (unsigned long)f; file_hi = file_lo + 4 * MiB;
	report("file_mmap_private_ro", "parent");
	volatile char sink = 0;
	for (unsigned long i = 0; i < 4 * MiB; i += PG)
		sink += f[i];
	(void)sink;
	report("file_read_all", "parent");
	if (munmap(f, 4 * MiB)) die("munmap file");
	report("file_munmap_private", "parent");
	file_lo = file_hi = 0;

	f = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED) die("mmap file shared");
	file_lo = (unsigned long)f; file_hi = file_lo + 4 * MiB;
	report("file_mmap_shared_rw", "parent");
	for (unsigned long i = 0; i < 4 * MiB; i += PG)
		f[i] = 'b';
	report("file_write_all", "parent");
	if (munmap(f, 4 * MiB)) die("munmap file shared");
	report("file_munmap_shared", "parent");
	file_lo = file_hi = 0;
	close(fd);
	unlink(path);
	return 0;
}
