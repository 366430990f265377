/* probe.h - tiny helpers shared by the capture programs in this folder: read a /proc file with
 * read(2) into a static buffer and pick "Key: value" or "key value" fields out of it, without
 * stdio and without allocating, so that a report itself causes (almost) no page faults after the
 * first call. */
#ifndef PROBE_H
#define PROBE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define PROBE_BUF (1 << 16)

/* Reads the whole of path into buf (NUL-terminated); returns the length or -1. */
static inline long probe_slurp(const char *path, char *buf, long cap)
{
	int fd = open(path, O_RDONLY);
	long n = 0, r;
	if (fd < 0)
		return -1;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

/* Finds the line starting with key followed by sep (':' for status/meminfo/smaps, ' ' for
 * vmstat) and returns its first number, or -1 if the key is absent. */
static inline long long probe_field(const char *text, const char *key, char sep)
{
	size_t kl = strlen(key);
	const char *p = text;
	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == sep)
			return strtoll(p + kl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Finds the memory.stat of the memory cgroup this process is in (cgroup v1 "N:memory:/path"
 * line of /proc/self/cgroup -> /sys/fs/cgroup/memory/path/memory.stat). Returns 0 and fills out,
 * or -1 when there is none. */
static inline int probe_memcg_stat_path(char *out, size_t cap)
{
	static char cg[4096];
	char *p, *e;

	if (probe_slurp("/proc/self/cgroup", cg, sizeof(cg)) < 0)
		return -1;
	p = strstr(cg, ":memory:");
	if (!p)
		return -1;
	p += strlen(":memory:");
	e = strchr(p, '\n');
	if (e)
		*e = 0;
	snprintf(out, cap, "/sys/fs/cgroup/memory%s/memory.stat", strcmp(p, "/") ? p : "");
	return access(out, R_OK) == 0 ? 0 : -1;
}

/* The cgroup v1 memory.stat keys we print, with a "cg_" prefix; sizes in bytes there are printed
 * in kB (is_bytes), events as they are. */
struct probe_cgkey {
	const char *key;
	int is_bytes;
};
static const struct probe_cgkey probe_cgkeys[] = {
	{"rss", 1},           {"cache", 1},         {"shmem", 1},
	{"mapped_file", 1},   {"swap", 1},          {"swapcached", 1},
	{"active_anon", 1},   {"inactive_anon", 1}, {"active_file", 1},
	{"inactive_file", 1}, {"unevictable", 1},   {"pgfault", 0},
	{"pgmajfault", 0},    {"workingset_refault_anon", 0},
};
#define PROBE_NCG (sizeof(probe_cgkeys) / sizeof(probe_cgkeys[0]))

/* Fills v[PROBE_NCG] from memory.stat at path (-1 for absent keys). */
static inline void probe_memcg_sample(const char *path, char *buf, long cap, long long *v)
{
	size_t i;
	if (!path || probe_slurp(path, buf, cap) < 0) {
		for (i = 0; i < PROBE_NCG; i++)
			v[i] = -1;
		return;
	}
	for (i = 0; i < PROBE_NCG; i++) {
		long long x = probe_field(buf, probe_cgkeys[i].key, ' ');
		v[i] = (x >= 0 && probe_cgkeys[i].is_bytes) ? x / 1024 : x;
	}
}

/* Appends " key=value" (or " key=NA" when absent) to out at *pos. */
static inline void probe_put(char *out, size_t *pos, size_t cap, const char *key, long long v)
{
	if (v < 0)
		*pos += snprintf(out + *pos, cap - *pos, " %s=NA", key);
	else
		*pos += snprintf(out + *pos, cap - *pos, " %s=%lld", key, v);
}

static inline void probe_rusage(long *minflt, long *majflt)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*minflt = ru.ru_minflt;
	*majflt = ru.ru_majflt;
}

/* write(2) the whole string (stdout is unbuffered for our purposes: it survives fork). */
static inline void probe_emit(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

#endif
