/* bench_walk.c - the daemon's own cost of walking a tree (issue 14), with
 * no kernel and no network: N objects in the in-memory store, in
 * Alfresco's layout (YYYY/M/D/H/m/<uuid>.bin, PER_DIR files a minute
 * directory), walked as find(1) walks a mount — readdir of every
 * directory, a lookup (getattr) of every entry — through the operations
 * table. Prints the daemon-side CPU seconds (this process's user+system
 * time during the walk), CPU per entry, the growth of RSS during the walk,
 * and the store requests. Run by scripts/bench-walk; a timing, not a test.
 *
 *   bench_walk N [PER_DIR]        (PER_DIR default 23) */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fs.h"
#include "store_mem.h"

#define BUCKET "walk"
#define MAX_DEPTH 8

static const struct fuse_operations *ops = &s3csfs_fuse_ops;
static long entries, dirs;

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS of this process, KiB (0 if unknown). */
static long rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

struct names {
	char (*v)[64];
	size_t n, cap;
};

static int fill(void *buf, const char *name, const struct stat *st, off_t off,
		enum fuse_fill_dir_flags flags)
{
	struct names *nm = buf;
	(void)st;
	(void)off;
	(void)flags;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (nm->n == nm->cap) {
		size_t nc = nm->cap ? nm->cap * 2 : 64;
		void *p = realloc(nm->v, nc * sizeof(*nm->v));
		if (!p)
			return 1;
		nm->v = p;
		nm->cap = nc;
	}
	snprintf(nm->v[nm->n++], sizeof(nm->v[0]), "%s", name);
	return 0;
}

/* find(1) over dir: readdir, then a lookup of each entry, into each
 * directory. 0 or the first error. */
static int walk(const char *dir, int depth)
{
	struct names nm = { 0 };
	char path[512];
	int rc;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	dirs++;
	rc = ops->readdir(dir, &nm, fill, 0, NULL, 0);
	for (size_t i = 0; i < nm.n && rc == 0; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", nm.v[i]);
		rc = ops->getattr(path, &st, NULL);
		entries++;
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = walk(path, depth + 1);
	}
	free(nm.v);
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0, per_dir = argc > 2 ? atol(argv[2]) : 23;
	char dir[] = "/tmp/s3csfs-bench-walk.XXXXXX", conf[128], err[512], key[128], etag[64];
	struct config cfg;
	FILE *f;

	if (n <= 0 || per_dir <= 0) {
		fprintf(stderr, "usage: bench_walk N [PER_DIR]\n");
		return 2;
	}
	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(conf, sizeof(conf), "%s/s3csfs.conf", dir);
	if (!(f = fopen(conf, "w")))
		return perror(conf), 1;
	fprintf(f,
		"[general]\ncache_dir = %s/cache\nreaper = off\nlog_level = error\n"
		"[s3]\nprofile = onprem\nendpoint = http://127.0.0.1:9\nregion = us-east-1\n"
		"access_key = AKIDBENCH\nsecret_key = secretbench\n"
		"[bucket:main]\nname = " BUCKET "\ndefault = true\n",
		dir);
	fclose(f);
	if (chmod(conf, 0600) < 0 || config_load(conf, &cfg, err, sizeof(err)) < 0)
		return fprintf(stderr, "bench_walk: %s\n", err), 1;
	struct store_mem *mem = store_mem_new((size_t)n + 16, 1LL << 34);
	if (!mem)
		return perror("store_mem_new"), 1;
	for (long i = 0; i < n; i++) {
		long d = i / per_dir; /* one minute directory per PER_DIR files */
		snprintf(key, sizeof(key), "2026/%ld/%ld/%ld/%ld/%08lx-0000-4000-8000-%012lx.bin",
			 1 + d / (60 * 24 * 28) % 12, 1 + d / (60 * 24) % 28, d / 60 % 24, d % 60,
			 (unsigned long)i, (unsigned long)i);
		if (store_mem_put_raw(mem, BUCKET, key, "x", 1, NULL, etag, sizeof(etag)) < 0)
			return fprintf(stderr, "bench_walk: cannot seed %s\n", key), 1;
	}
	struct fs *fs = fs_new(&cfg, store_mem_store(mem), err, sizeof(err));
	if (!fs)
		return fprintf(stderr, "bench_walk: %s\n", err), 1;
	fs_ops_bind(fs);
	store_mem_reset_counts(mem);
	long rss0 = rss_kib();
	double cpu0 = cpu_seconds();
	int rc = walk("/", 0);
	double cpu = cpu_seconds() - cpu0;
	long rss1 = rss_kib();
	long requests = 0;
	for (int op = 0; op < STORE_MEM_NOPS; op++)
		requests += store_mem_count(mem, (enum store_mem_op)op);
	printf("objects %ld dirs %ld entries %ld cpu_s %.3f cpu_us_per_entry %.2f "
	       "rss_growth_mib %.1f rss_kib_per_entry %.3f requests %ld walk_rc %d\n",
	       n, dirs, entries, cpu, entries ? cpu * 1e6 / (double)entries : 0.0,
	       (double)(rss1 - rss0) / 1024.0,
	       entries ? (double)(rss1 - rss0) / (double)entries : 0.0, requests, rc);
	fs_ops_bind(NULL);
	fs_free(fs);
	store_mem_free(mem);
	config_free(&cfg);
	snprintf(conf, sizeof(conf), "rm -rf '%s'", dir);
	if (system(conf) != 0)
		fprintf(stderr, "bench_walk: %s not removed\n", dir);
	return rc == 0 ? 0 : 1;
}
