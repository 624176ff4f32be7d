/* migrate.c - s3csfs migrate: a content-store tree into the buckets. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "mapping.h"
#include "migrate.h"
#include "stats.h"
#include "upload.h"
#include "workq.h"

#define CHUNK (1 << 20)    /* bytes read from the source at a time */
#define FAILURES_KEPT 1000 /* listed again at the end; the rest counted */

struct migrate {
	const struct config *cfg;
	struct migrate_opts opts;
	char from[PATH_MAX];
	struct store store;
	struct workq *transfers;
	struct upload_ctx up;
	int max_pending; /* parts of one file queued or in flight */
	pthread_mutex_t rate_lock;
	double rate_next; /* when the next byte may be read */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --limit-rate: every reader reserves its bytes' time slot and sleeps
 * until it comes, so all files together stay at the rate. */
static void rate_wait(struct migrate *m, size_t n)
{
	double now, start;

	if (m->opts.limit_rate <= 0)
		return;
	pthread_mutex_lock(&m->rate_lock);
	now = now_s();
	start = m->rate_next > now ? m->rate_next : now;
	m->rate_next = start + (double)n / (double)m->opts.limit_rate;
	pthread_mutex_unlock(&m->rate_lock);
	if (start > now) {
		double d = start - now;
		struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

struct migrate *migrate_new(const struct config *cfg, const struct store *store,
			    const struct migrate_opts *o, char *err, size_t errlen)
{
	struct migrate *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->cfg = cfg;
	m->opts = *o;
	m->store = *store;
	if (!realpath(o->from, m->from)) {
		snprintf(err, errlen, "%s: %s", o->from, strerror(errno));
		free(m);
		return NULL;
	}
	m->opts.from = m->from;
	m->transfers = workq_new(cfg->upload_threads, "migrate-parts");
	if (!m->transfers) {
		snprintf(err, errlen, "cannot start threads");
		free(m);
		return NULL;
	}
	m->up = (struct upload_ctx){ m->store, m->transfers, cfg->part_size };
	m->max_pending = cfg->upload_threads > 2 ? cfg->upload_threads : 2;
	pthread_mutex_init(&m->rate_lock, NULL);
	return m;
}

void migrate_free(struct migrate *m)
{
	if (!m)
		return;
	workq_free(m->transfers);
	pthread_mutex_destroy(&m->rate_lock);
	free(m);
}

/* An object is at t's key: is it this file? Reads the file once (no
 * request). */
static int check_stored(struct migrate *m, const struct target *t, int fd, long long size,
			const struct s3_obj_info *info, char *msg, size_t msglen)
{
	struct etag_digest d;
	char *buf;
	int rc;

	if (info->size != size) {
		snprintf(msg, msglen,
			 "%s/%s already holds %lld bytes, the source has %lld; not "
			 "overwritten",
			 t->bucket->name, t->key, info->size, size);
		return -EEXIST;
	}
	rc = etag_is_digest(t->bucket, info->etag)
		     ? etag_digest_init(&d, info->etag, size, m->cfg->part_size)
		     : -ENOTSUP;
	if (rc == -ENOTSUP) {
		snprintf(msg, msglen, "stored, same size (ETag %s is no digest: size only)",
			 info->etag);
		return MIGRATE_STORED_SIZE;
	}
	if (rc < 0 || !(buf = malloc(CHUNK))) {
		if (rc == 0)
			etag_digest_free(&d);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	for (long long off = 0; off < size && rc == 0;) {
		ssize_t n = pread(fd, buf, size - off < CHUNK ? (size_t)(size - off) : CHUNK, off);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(msg, msglen, "read: %s", n < 0 ? strerror(errno) : "file shrank");
			break;
		}
		rc = etag_digest_update(&d, buf, (size_t)n);
		off += n;
	}
	free(buf);
	if (rc < 0) {
		etag_digest_free(&d);
		return rc;
	}
	rc = etag_digest_final(&d, info->etag, NULL, 0);
	if (rc < 0) {
		snprintf(msg, msglen,
			 "%s/%s already holds other bytes of the same size (ETag %s); "
			 "not overwritten",
			 t->bucket->name, t->key, info->etag);
		return -EEXIST;
	}
	return MIGRATE_STORED;
}

/* Sends the file through the upload layer, hashing it as it is read, and
 * verifies what S3 reports. */
static int send_file(struct migrate *m, const struct target *t, int fd, long long size, char *msg,
		     size_t msglen)
{
	struct upload *u = upload_new(&m->up, t, fd);
	char etag[S3_ETAG_MAX] = "", digest[S3_ETAG_MAX] = "";
	char *buf = malloc(CHUNK);
	long long off = 0;
	struct stat st;
	int rc = 0;

	if (!u || !buf) {
		upload_free(u);
		free(buf);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	upload_set_exclusive(u);
	while (off < size) {
		size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		ssize_t n = pread(fd, buf, want, off);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(msg, msglen, "read: %s",
				 n < 0 ? strerror(errno) : "file shrank while read");
			break;
		}
		rate_wait(m, (size_t)n);
		upload_hash(u, buf, (size_t)n, off);
		off += n;
		upload_progress(u, off);
		upload_throttle(u, m->max_pending);
	}
	free(buf);
	if (rc == 0 && (fstat(fd, &st) < 0 || st.st_size != size)) {
		rc = -EAGAIN;
		snprintf(msg, msglen, "the file changed while it was read; run again");
	}
	if (rc < 0) {
		upload_free(u);
		return rc;
	}
	rc = upload_finish(u, size, etag, sizeof(etag));
	if (rc == 0 && upload_digest(u, size, digest, sizeof(digest)) < 0)
		digest[0] = '\0';
	upload_free(u);
	if (rc == -EEXIST) {
		/* Stored meanwhile (a fallback upload, another run): is it this? */
		struct s3_obj_info info;
		memset(&info, 0, sizeof(info));
		rc = m->store.ops->head(m->store.ctx, t, &info);
		if (rc == 0)
			return check_stored(m, t, fd, size, &info, msg, msglen);
		snprintf(msg, msglen, "HEAD after a create-only conflict: %s", strerror(-rc));
		return rc;
	}
	if (rc < 0) {
		snprintf(msg, msglen, "upload to %s/%s failed: %s", t->bucket->name, t->key,
			 strerror(-rc));
		return rc;
	}
	struct s3_obj_info info = { .size = size };
	snprintf(info.etag, sizeof(info.etag), "%s", etag);
	rc = verify_object(t->bucket, &info, size, digest, msg, msglen);
	/* Under SSE-KMS the server checked each request's Content-MD5. */
	return rc == 0 || rc == -ENOTSUP ? MIGRATE_UPLOADED : rc;
}

/* Removes the source file's empty parent directories up to the root. */
static void prune_dirs(const struct migrate *m, char *full)
{
	size_t root = strlen(m->from);
	char *slash;

	while ((slash = strrchr(full, '/')) && (size_t)(slash - full) > root) {
		*slash = '\0';
		if (rmdir(full) < 0)
			break;
	}
}

int migrate_file(struct migrate *m, const char *path, long long *bytes, char *msg, size_t msglen)
{
	char full[PATH_MAX + 1];
	struct s3_obj_info info;
	struct target t;
	struct stat st;
	int fd, rc;

	*bytes = 0;
	msg[0] = '\0';
	rc = map_path(m->cfg, path, &t);
	if (rc < 0) {
		snprintf(msg, msglen, "not a path the mapping can store (%s)", strerror(-rc));
		return rc;
	}
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", m->from, path) >= sizeof(full)) {
		snprintf(msg, msglen, "path too long");
		return -ENAMETOOLONG;
	}
	fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, msglen, "cannot open: %s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		snprintf(msg, msglen, "%s", rc == -EINVAL ? "not a regular file" : strerror(-rc));
		close(fd);
		return rc;
	}
	*bytes = st.st_size;
	memset(&info, 0, sizeof(info));
	rc = m->store.ops->head(m->store.ctx, &t, &info);
	if (rc == 0)
		rc = check_stored(m, &t, fd, st.st_size, &info, msg, msglen);
	else if (rc == -ENOENT)
		rc = m->opts.dry_run ? MIGRATE_WOULD_UPLOAD
				     : send_file(m, &t, fd, st.st_size, msg, msglen);
	else
		snprintf(msg, msglen, "HEAD %s/%s failed: %s", t.bucket->name, t.key, strerror(-rc));
	close(fd);
	if ((rc == MIGRATE_UPLOADED || rc == MIGRATE_STORED) && m->opts.delete_source &&
	    !m->opts.dry_run) {
		if (unlink(full) < 0)
			log_warn("migrate: %s is stored and verified, but could not be removed: %s",
				 full, strerror(errno));
		else
			prune_dirs(m, full);
	}
	return rc;
}

/* ---- the command ---- */

struct run {
	struct migrate *m;
	FILE *out;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int queued; /* jobs submitted, not yet finished */
	int limit;  /* at most this many queued */
	atomic_llong files, bytes, uploaded, stored, failed;
	long long total_files, total_bytes; /* -1 unknown (no progress bar) */
	char *failures[FAILURES_KEPT];
	size_t nfailures;
	int progress_stop;
	double start;
};

struct job {
	struct run *run;
	char path[];
};

static void record_failure(struct run *r, const char *path, const char *msg)
{
	char line[PATH_MAX + 512];

	snprintf(line, sizeof(line), "%s: %s", path, msg);
	/* A name may hold control characters: never send them to a terminal. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "%ss3csfs migrate: FAILED %s\n", r->total_files >= 0 ? "\r\033[K" : "",
		line);
	atomic_fetch_add(&r->failed, 1);
	pthread_mutex_lock(&r->lock);
	if (r->nfailures < FAILURES_KEPT)
		r->failures[r->nfailures++] = strdup(line);
	pthread_mutex_unlock(&r->lock);
}

static void job_run(void *arg)
{
	struct job *j = arg;
	struct run *r = j->run;
	char msg[1024];
	long long bytes = 0;
	int rc = migrate_file(r->m, j->path, &bytes, msg, sizeof(msg));

	if (rc < 0) {
		record_failure(r, j->path, msg);
	} else if (rc == MIGRATE_UPLOADED) {
		atomic_fetch_add(&r->uploaded, 1);
	} else if (rc == MIGRATE_WOULD_UPLOAD) {
		struct target t;
		if (map_path(r->m->cfg, j->path, &t) == 0) {
			pthread_mutex_lock(&r->lock);
			fprintf(r->out, "would upload %s -> %s/%s (%lld bytes%s%s)\n", j->path,
				t.bucket->name, t.key, bytes, t.bucket->storage_class ? ", " : "",
				t.bucket->storage_class ? t.bucket->storage_class : "");
			pthread_mutex_unlock(&r->lock);
		}
	} else {
		atomic_fetch_add(&r->stored, 1);
		if (rc == MIGRATE_STORED_SIZE)
			log_warn("migrate: %s: %s", j->path, msg);
		if (r->m->opts.dry_run) {
			pthread_mutex_lock(&r->lock);
			fprintf(r->out, "stored %s (%s)\n", j->path,
				rc == MIGRATE_STORED ? "same size and digest" : "same size");
			pthread_mutex_unlock(&r->lock);
		}
	}
	atomic_fetch_add(&r->files, 1);
	atomic_fetch_add(&r->bytes, bytes);
	pthread_mutex_lock(&r->lock);
	r->queued--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	free(j);
}

static int submit(struct run *r, struct workq *files, const char *path)
{
	size_t len = strlen(path) + 1;
	struct job *j = malloc(sizeof(*j) + len);

	if (!j)
		return -ENOMEM;
	j->run = r;
	memcpy(j->path, path, len);
	pthread_mutex_lock(&r->lock);
	while (r->queued >= r->limit)
		pthread_cond_wait(&r->cond, &r->lock);
	r->queued++;
	pthread_mutex_unlock(&r->lock);
	if (workq_submit(files, job_run, j) < 0) {
		pthread_mutex_lock(&r->lock);
		r->queued--;
		pthread_mutex_unlock(&r->lock);
		free(j);
		return -ENOMEM;
	}
	return 0;
}

static void human(double v, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void progress_line(struct run *r)
{
	long long files = atomic_load(&r->files), bytes = atomic_load(&r->bytes);
	double el = now_s() - r->start, rate = el > 0 ? (double)bytes / el : 0;
	char b[32], tb[32], rb[32], eta[32] = "--";
	int width = 30, fill = 0;

	if (r->total_bytes > 0)
		fill = (int)((double)bytes / (double)r->total_bytes * width);
	else if (r->total_files > 0)
		fill = (int)((double)files / (double)r->total_files * width);
	if (fill > width)
		fill = width;
	human((double)bytes, b, sizeof(b));
	human((double)r->total_bytes, tb, sizeof(tb));
	human(rate, rb, sizeof(rb));
	if (rate > 0 && r->total_bytes > bytes) {
		long s = (long)((double)(r->total_bytes - bytes) / rate);
		snprintf(eta, sizeof(eta), "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
	} else if (files >= r->total_files) {
		snprintf(eta, sizeof(eta), "0s");
	}
	fprintf(stderr, "\r\033[K[%.*s%*s] %lld/%lld files  %s/%s  %s/s  ETA %s  %lld failed", fill,
		"##############################", width - fill, "", files, r->total_files, b, tb,
		rb, eta, (long long)atomic_load(&r->failed));
	fflush(stderr);
}

static void *progress_thread(void *arg)
{
	struct run *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->progress_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
		pthread_mutex_unlock(&r->lock);
		progress_line(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void usage_migrate(void)
{
	fprintf(stderr, "usage: s3csfs migrate --from DIR -o conf=FILE [--parallel N] [--dry-run] "
			"[--limit-rate RATE] [--delete-source]\n"
			"  RATE: bytes per second, with an optional K, M or G suffix (e.g. 50M)\n");
}

/* Counts what the walk will find, for the progress bar's totals. */
static void count_tree(const char *from, long long *files, long long *bytes)
{
	char *roots[] = { (char *)from, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	FTSENT *e;

	*files = *bytes = 0;
	while (fts && (e = fts_read(fts)))
		if (e->fts_info == FTS_F) {
			(*files)++;
			*bytes += e->fts_statp->st_size;
		}
	if (fts)
		fts_close(fts);
}

/* The summary's cost: S3 bills write-class and read-class requests. */
static void print_summary(struct run *r, int dry)
{
	uint64_t put = 0, get = 0, total = 0;
	double el = now_s() - r->start;
	char b[32], rb[32];

	for (int i = 0; i < S3OP_COUNT; i++) {
		uint64_t n = (uint64_t)STAT_GET(requests[i]);
		total += n;
		if (stats_op_class(i) == STATS_CLASS_PUT)
			put += n;
		else if (stats_op_class(i) == STATS_CLASS_GET)
			get += n;
	}
	human((double)atomic_load(&r->bytes), b, sizeof(b));
	human(el > 0 ? (double)STAT_GET(bytes_up) / el : 0, rb, sizeof(rb));
	fprintf(r->out,
		"migrate%s: %lld files (%s): %lld %s, %lld already stored, %lld failed; %.1f s, "
		"%s/s sent; %" PRIu64 " requests (%" PRIu64 " PUT-class, %" PRIu64
		" GET-class), est. $%.4f\n",
		dry ? " (dry run)" : "", (long long)atomic_load(&r->files), b,
		dry ? (long long)atomic_load(&r->files) - atomic_load(&r->stored) -
				atomic_load(&r->failed)
		    : (long long)atomic_load(&r->uploaded),
		dry ? "to upload" : "uploaded", (long long)atomic_load(&r->stored),
		(long long)atomic_load(&r->failed), el, rb, total, put, get,
		stats_request_cost(r->m->cfg->price_put, r->m->cfg->price_get));
}

int migrate_main(const struct config *cfg, int argc, char **argv)
{
	struct migrate_opts o = { .parallel = 8 };
	char err[PATH_MAX + 256];
	long long rate = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		if (strcmp(a, "-o") == 0) {
			i++; /* the -o list (conf= already taken) */
			continue;
		}
		if (strncmp(a, "-o", 2) == 0 || !a[0])
			continue;
		if (strcmp(a, "--dry-run") == 0) {
			o.dry_run = 1;
			continue;
		}
		if (strcmp(a, "--delete-source") == 0) {
			o.delete_source = 1;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[i + 1];
		int known = (nlen == 6 && strncmp(a, "--from", 6) == 0) ||
			    (nlen == 10 && strncmp(a, "--parallel", 10) == 0) ||
			    (nlen == 12 && strncmp(a, "--limit-rate", 12) == 0);
		if (!known || !v) {
			fprintf(stderr, "s3csfs migrate: %s '%s'\n",
				known ? "missing value for" : "unknown argument", a);
			usage_migrate();
			return 2;
		}
		if (!eq)
			i++;
		if (nlen == 6) {
			o.from = v;
		} else if (nlen == 10) {
			char *end;
			long n = strtol(v, &end, 10);
			if (*end || n < 1 || n > 256) {
				fprintf(stderr, "s3csfs migrate: --parallel '%s': give 1 to 256\n",
					v);
				return 2;
			}
			o.parallel = (int)n;
		} else {
			char num[64];
			snprintf(num, sizeof(num), "%s", v);
			size_t l = strlen(num);
			if (l > 2 && strcmp(num + l - 2, "/s") == 0)
				num[l - 2] = '\0';
			if (config_parse_size(num, &rate) < 0 || rate < 1) {
				fprintf(stderr,
					"s3csfs migrate: --limit-rate '%s': give bytes per "
					"second, like 500K, 50M or 1G\n",
					v);
				return 2;
			}
			o.limit_rate = rate;
		}
	}
	if (!o.from) {
		fprintf(stderr, "s3csfs migrate: --from DIR is required\n");
		usage_migrate();
		return 2;
	}
	struct stat st;
	if (stat(o.from, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "s3csfs migrate: --from %s: %s\n", o.from,
			errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		return 2;
	}
	if (cfg->cache_dir) {
		char a[PATH_MAX], b[PATH_MAX];
		if (realpath(o.from, a) && realpath(cfg->cache_dir, b) && strcmp(a, b) == 0) {
			fprintf(stderr, "s3csfs migrate: --from %s is the cache directory\n",
				o.from);
			return 2;
		}
	}
	struct store store = { &store_s3_ops, NULL };
	struct migrate *m = migrate_new(cfg, &store, &o, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "s3csfs migrate: %s\n", err);
		return 2;
	}
	struct run r = { .m = m,
			 .out = stdout,
			 .limit = o.parallel * 4,
			 .total_files = -1,
			 .total_bytes = -1 };
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	pthread_t progress;
	int have_progress = 0;
	if (isatty(STDERR_FILENO)) {
		count_tree(m->from, &r.total_files, &r.total_bytes);
		r.start = now_s();
		have_progress = pthread_create(&progress, NULL, progress_thread, &r) == 0;
		if (!have_progress)
			r.total_files = -1;
	}
	r.start = now_s();
	struct workq *files = workq_new(o.parallel, "migrate-files");
	char *roots[] = { m->from, NULL };
	FTS *fts = files ? fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL) : NULL;
	int walk_error = !fts;
	size_t root = strlen(m->from);
	FTSENT *e;

	if (!fts)
		fprintf(stderr, "s3csfs migrate: cannot walk %s: %s\n", m->from,
			files ? strerror(errno) : "cannot start threads");
	while (fts && (e = fts_read(fts))) {
		const char *rel = e->fts_path[root] == '/' ? e->fts_path + root + 1 : "";
		switch (e->fts_info) {
		case FTS_F:
			if (submit(&r, files, rel) < 0)
				record_failure(&r, rel, "out of memory");
			break;
		case FTS_D:
		case FTS_DP:
		case FTS_DOT:
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			record_failure(&r, *rel ? rel : m->from, strerror(e->fts_errno));
			break;
		case FTS_DC:
			record_failure(&r, rel, "directory cycle");
			break;
		default:
			record_failure(&r, rel,
				       "not a regular file (symlink or special file): not migrated");
			break;
		}
	}
	if (fts)
		fts_close(fts);
	workq_free(files); /* drains: every queued file is done */
	if (have_progress) {
		pthread_mutex_lock(&r.lock);
		r.progress_stop = 1;
		pthread_cond_broadcast(&r.cond);
		pthread_mutex_unlock(&r.lock);
		pthread_join(progress, NULL);
		progress_line(&r);
		fputc('\n', stderr);
	}
	print_summary(&r, o.dry_run);
	if (r.nfailures) {
		fprintf(stderr, "s3csfs migrate: %lld file(s) failed:\n",
			(long long)atomic_load(&r.failed));
		for (size_t i = 0; i < r.nfailures; i++)
			fprintf(stderr, "  %s\n", r.failures[i] ? r.failures[i] : "(out of memory)");
		if ((long long)r.nfailures < atomic_load(&r.failed))
			fprintf(stderr, "  ... and %lld more (each was reported above)\n",
				(long long)atomic_load(&r.failed) - (long long)r.nfailures);
	}
	int rc = atomic_load(&r.failed) || walk_error ? 1 : 0;
	for (size_t i = 0; i < r.nfailures; i++)
		free(r.failures[i]);
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.cond);
	migrate_free(m);
	return rc;
}
