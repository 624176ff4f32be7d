/* fallback.c - fallback_dir read-through, and its background uploads. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fallback.h"
#include "log.h"
#include "mapping.h"
#include "migrate.h"
#include "stats.h"
#include "workq.h"

#define ETAG_PREFIX "fallback-"
#define SEEN_HASH 65536
#define SEEN_MAX 1000000 /* paths remembered as uploaded or queued */
#define IO_CHUNK (256 * 1024)

struct seen {
	struct seen *next;
	char path[];
};

static struct {
	const struct config *cfg;
	char dir[PATH_MAX];
	struct store inner;
	struct migrate *m; /* background uploads; NULL without fallback_upload */
	struct workq *q;
	pthread_mutex_t lock; /* seen */
	struct seen *seen[SEEN_HASH];
	size_t nseen;
	int warned, stopping, active;
} fb = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define CSTAT_ADD(field, n) atomic_fetch_add_explicit(&g_cost.field, (n), memory_order_relaxed)

static void etag_of(const struct stat *st, char *out, size_t len)
{
	snprintf(out, len, ETAG_PREFIX "%llx-%llx", (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
			 (unsigned long long)st->st_mtim.tv_nsec);
}

/* Opens the fallback file of a mount path; -ENOENT unless a regular file. */
static int open_file(const char *path, struct stat *st)
{
	char full[PATH_MAX + 1];
	int fd;

	if (map_check_path(path) < 0 ||
	    (size_t)snprintf(full, sizeof(full), "%s/%s", fb.dir, path) >= sizeof(full))
		return -ENOENT;
	fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? -EACCES : -ENOENT;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static void fill_info(const struct stat *st, struct s3_obj_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = st->st_size;
	etag_of(st, info->etag, sizeof(info->etag));
	info->mtime = st->st_mtime;
}

/* ---- background uploads ---- */

static void upload_run(void *arg)
{
	char *path = arg, msg[1024];
	long long bytes;
	int rc;

	if (__atomic_load_n(&fb.stopping, __ATOMIC_RELAXED)) {
		free(path);
		return;
	}
	rc = migrate_file(fb.m, path, &bytes, msg, sizeof(msg));
	if (rc == MIGRATE_UPLOADED) {
		CSTAT_ADD(fallback_uploads, 1);
		log_info("fallback: uploaded %s (%lld bytes, verified)", path, bytes);
	} else if (rc < 0) {
		CSTAT_ADD(fallback_upload_failed, 1);
		log_warn("fallback: could not upload %s: %s", path, msg);
	}
	free(path);
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % SEEN_HASH;
}

/* Queues path's upload unless it was queued before. */
static void upload_once(const char *path)
{
	unsigned h = hash(path);
	size_t len = strlen(path) + 1;

	struct seen *s;
	char *job = NULL;

	pthread_mutex_lock(&fb.lock);
	for (s = fb.seen[h]; s && strcmp(s->path, path) != 0;)
		s = s->next;
	if (!s) { /* not queued yet this mount */
		s = fb.nseen < SEEN_MAX ? malloc(sizeof(*s) + len) : NULL;
		job = s ? malloc(len) : NULL;
		if (job) {
			memcpy(s->path, path, len);
			s->next = fb.seen[h];
			fb.seen[h] = s;
			fb.nseen++;
		} else {
			free(s);
			if (!fb.warned)
				log_warn("fallback: cannot queue more uploads this mount (%zu "
					 "queued); run s3csfs migrate for the rest",
					 fb.nseen);
			fb.warned = 1;
		}
	}
	pthread_mutex_unlock(&fb.lock);
	if (!job)
		return;
	memcpy(job, path, len);
	if (workq_submit(fb.q, upload_run, job) < 0)
		free(job);
}

/* ---- the store ---- */

/* Copies [off, off+len) of fd into sink (http.h's rules for its kinds). */
static int to_sink(int fd, long long size, long long off, long long len, struct http_sink *sink)
{
	char buf[IO_CHUNK];

	sink->len = 0;
	if (off >= size)
		return 0;
	if (len < 0 || len > size - off)
		len = size - off;
	if (sink->kind == HTTP_SINK_MEM) {
		if (sink->owned) {
			free(sink->buf);
			sink->buf = NULL;
			sink->owned = 0;
		}
		size_t cap = sink->cap ? sink->cap : 16u << 20;
		if ((unsigned long long)len > cap)
			return -EMSGSIZE;
		if (!sink->buf) {
			if (!(sink->buf = malloc((size_t)len + 1)))
				return -ENOMEM;
			sink->owned = 1;
			sink->off = (off_t)len + 1;
		}
	} else if (sink->kind == HTTP_SINK_FD && sink->cap && (unsigned long long)len > sink->cap) {
		return -EMSGSIZE;
	}
	while ((long long)sink->len < len) {
		size_t want = len - (long long)sink->len < IO_CHUNK
				      ? (size_t)(len - (long long)sink->len)
				      : IO_CHUNK;
		ssize_t n = pread(fd, buf, want, off + (off_t)sink->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		if (sink->kind == HTTP_SINK_MEM) {
			memcpy(sink->buf + sink->len, buf, (size_t)n);
		} else if (sink->kind == HTTP_SINK_FD) {
			for (ssize_t done = 0; done < n;) {
				ssize_t w = pwrite(sink->fd, buf + done, (size_t)(n - done),
						   sink->off + (off_t)sink->len + done);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					return w < 0 ? -errno : -EIO;
				done += w;
			}
		}
		sink->len += (size_t)n;
	}
	if (sink->kind == HTTP_SINK_MEM && sink->owned)
		sink->buf[sink->len] = '\0';
	return 0;
}

static int fb_get(void *ctx, const struct target *t, long long off, long long len,
		  const char *if_match, struct http_sink *sink, struct s3_obj_info *info)
{
	char etag[S3_ETAG_MAX];
	struct stat st;
	int fd, rc;

	/* A read pinned to a fallback version goes to the file: asking S3
	 * would fail the ETag check once the background upload lands. */
	if (!if_match || strncmp(if_match, ETAG_PREFIX, strlen(ETAG_PREFIX)) != 0) {
		rc = fb.inner.ops->get(fb.inner.ctx, t, off, len, if_match, sink, info);
		if (rc != -ENOENT)
			return rc;
	}
	fd = open_file(t->path, &st);
	if (fd < 0)
		return fd;
	etag_of(&st, etag, sizeof(etag));
	if (if_match && strcmp(if_match, etag) != 0) {
		close(fd);
		return if_match[0] && strncmp(if_match, ETAG_PREFIX, strlen(ETAG_PREFIX)) == 0
			       ? -ESTALE
			       : -ENOENT;
	}
	rc = to_sink(fd, st.st_size, off, len, sink);
	close(fd);
	if (rc < 0)
		return rc;
	if (info)
		fill_info(&st, info);
	CSTAT_ADD(fallback_reads, 1);
	CSTAT_ADD(fallback_bytes, sink->len);
	if (fb.m)
		upload_once(t->path);
	return 0;
}

static int fb_head(void *ctx, const struct target *t, struct s3_obj_info *info)
{
	struct stat st;
	int rc = fb.inner.ops->head(fb.inner.ctx, t, info), fd;

	if (rc != -ENOENT)
		return rc;
	fd = open_file(t->path, &st);
	if (fd < 0)
		return fd;
	close(fd);
	fill_info(&st, info);
	return 0;
}

/* Everything but get and head is the inner store's (filled at start). */
static struct store_ops fb_ops;

int fallback_start(const struct config *cfg, struct store *store, char *err, size_t errlen)
{
	struct stat st;

	if (!cfg->fallback_dir)
		return 0;
	if (!realpath(cfg->fallback_dir, fb.dir) || stat(fb.dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(fb.dir, R_OK | X_OK) < 0) {
		snprintf(err, errlen, "fallback_dir %s: %s", cfg->fallback_dir,
			 errno ? strerror(errno) : "not a directory");
		return -1;
	}
	fb.cfg = cfg;
	fb.inner = *store;
	if (cfg->fallback_upload) {
		struct migrate_opts o = { .from = fb.dir, .parallel = 1 };
		fb.m = migrate_new(cfg, &fb.inner, &o, err, errlen);
		fb.q = fb.m ? workq_new(2, "fallback-uploads") : NULL;
		if (!fb.q) {
			migrate_free(fb.m);
			fb.m = NULL;
			if (!err[0])
				snprintf(err, errlen, "fallback_upload: cannot start threads");
			return -1;
		}
	}
	fb_ops = *store->ops;
	fb_ops.get = fb_get;
	fb_ops.head = fb_head;
	*store = (struct store){ &fb_ops, NULL };
	fb.active = 1;
	log_info("fallback_dir %s: paths missing in S3 are read from there%s", fb.dir,
		 fb.m ? ", and uploaded as they are read" : "");
	return 0;
}

void fallback_stop(void)
{
	if (!fb.active)
		return;
	__atomic_store_n(&fb.stopping, 1, __ATOMIC_RELAXED);
	workq_free(fb.q); /* the queued ones see stopping and return */
	migrate_free(fb.m);
	fb.q = NULL;
	fb.m = NULL;
	for (size_t i = 0; i < SEEN_HASH; i++)
		while (fb.seen[i]) {
			struct seen *s = fb.seen[i];
			fb.seen[i] = s->next;
			free(s);
		}
	fb.nseen = 0;
	fb.active = 0;
}

int fallback_probe(const char *path, struct s3_obj_info *info, int *is_file)
{
	char full[PATH_MAX + 1];
	struct stat st;

	if (!fb.active || map_check_path(path) < 0 ||
	    (size_t)snprintf(full, sizeof(full), "%s/%s", fb.dir, path) >= sizeof(full) ||
	    lstat(full, &st) < 0)
		return -ENOENT;
	if (S_ISDIR(st.st_mode)) {
		*is_file = 0;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*is_file = 1;
	fill_info(&st, info);
	return 0;
}

int fallback_list(const char *dir, int (*add)(void *arg, const char *name, const struct stat *st),
		  void *arg)
{
	char full[PATH_MAX + 1];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!fb.active || (*dir && map_check_path(dir) < 0) ||
	    (size_t)snprintf(full, sizeof(full), "%s%s%s", fb.dir, *dir ? "/" : "", dir) >=
		    sizeof(full) ||
	    !(d = opendir(full)))
		return 0;
	while (rc == 0 && (de = readdir(d))) {
		struct stat st, out;
		if (de->d_name[0] == '.' && (!de->d_name[1] || strcmp(de->d_name, "..") == 0))
			continue;
		if (map_check_path(de->d_name) < 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;
		memset(&out, 0, sizeof(out));
		out.st_uid = getuid();
		out.st_gid = getgid();
		out.st_mode = S_ISDIR(st.st_mode) ? S_IFDIR | 0755 : S_IFREG | 0644;
		out.st_nlink = S_ISDIR(st.st_mode) ? 2 : 1;
		out.st_size = S_ISDIR(st.st_mode) ? 0 : st.st_size;
		out.st_blocks = (out.st_size + 511) / 512;
		out.st_mtime = out.st_ctime = out.st_atime = st.st_mtime;
		rc = add(arg, de->d_name, &out);
	}
	closedir(d);
	return rc;
}
