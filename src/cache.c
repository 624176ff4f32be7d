/* cache.c - cache files, block presence, ranged fetches, LRU eviction. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache.h"
#include "journal.h"
#include "log.h"
#include "stats.h"

#define HASH_BUCKETS 65536
#define META_MAX 4096

enum { BLK_MISSING = 0, BLK_FETCHING, BLK_PRESENT };

struct cache {
	char *dir;
	long long max_size;
	long long total;
	struct store store;
	struct workq *transfers;
	long long fetch_chunk;
	pthread_mutex_t lock;
	pthread_cond_t fetched; /* a fetch landed or failed */
	struct cache_entry *table[HASH_BUCKETS];
	struct cache_entry *lru_head, *lru_tail; /* head: most recent */
	int meta_sidecars; /* no user xattrs here: records in NAME.meta */
};

/* Entries dropped while pinned leave the table; dropped marks them. */
#define E_DROPPED(e) ((e)->nblocks < 0)

void cache_name_of(const struct target *t, char out[CACHE_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 32;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(md, 0, sizeof(md));
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_DigestUpdate(ctx, t->bucket->name, strlen(t->bucket->name));
		EVP_DigestUpdate(ctx, "\n", 1);
		EVP_DigestUpdate(ctx, t->key, strlen(t->key));
		EVP_DigestFinal_ex(ctx, md, &mdlen);
	}
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[CACHE_NAME_LEN] = '\0';
}

static unsigned hash_of(const char *name)
{
	unsigned v = 0;
	sscanf(name, "%4x", &v);
	return v % HASH_BUCKETS;
}

const char *cache_dir(const struct cache *c)
{
	return c->dir;
}

int cache_data_path(const struct cache *c, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/objects/%.2s/%s", c->dir, name, name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int meta_path(const struct cache *c, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/objects/%.2s/%s.meta", c->dir, name, name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static void lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else if (c->lru_head == e)
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else if (c->lru_tail == e)
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_front(struct cache *c, struct cache_entry *e)
{
	lru_unlink(c, e);
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static void table_del(struct cache *c, struct cache_entry *e)
{
	for (struct cache_entry **p = &c->table[hash_of(e->name)]; *p; p = &(*p)->hnext)
		if (*p == e) {
			*p = e->hnext;
			break;
		}
	lru_unlink(c, e);
}

static void set_disk_bytes(struct cache *c, struct cache_entry *e, long long bytes)
{
	c->total += bytes - e->disk_bytes;
	STAT_ADD(cache_bytes, bytes - e->disk_bytes);
	e->disk_bytes = bytes;
}

static void entry_free(struct cache_entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->blocks);
	free(e);
}

/* An entry's record (bucket, size, ETag, mtime, key) lives in an extended
 * attribute of its data file: no second file to create, rename or delete
 * per object.  Where the cache's filesystem has no user xattrs, in a
 * sidecar NAME.meta instead (written by rename, never seen half-done). */
#define META_XATTR "user.s3csfs.meta"

static void write_meta(struct cache *c, const struct cache_entry *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], body[META_MAX];
	int n;
	FILE *f;

	if (!e->target.bucket)
		return;
	n = snprintf(body, sizeof(body), "s3csfs-cache 1\nbucket %s\nsize %lld\netag %s\nmtime %lld\nkey %s\n",
		     e->target.bucket->name, e->size, e->etag, (long long)e->mtime, e->target.key);
	if (n < 0 || (size_t)n >= sizeof(body))
		return;
	if (!__atomic_load_n(&c->meta_sidecars, __ATOMIC_RELAXED)) {
		if (cache_data_path(c, e->name, path, sizeof(path)) < 0)
			return;
		if (setxattr(path, META_XATTR, body, (size_t)n, 0) == 0)
			return;
		if (errno != ENOTSUP && errno != EOPNOTSUPP)
			return; /* not kept across a restart: fetched again then */
		log_info("cache: %s has no user xattrs; records go to sidecar files", c->dir);
		__atomic_store_n(&c->meta_sidecars, 1, __ATOMIC_RELAXED);
	}
	if (meta_path(c, e->name, path, sizeof(path)) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fwrite(body, 1, (size_t)n, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

/* Forgets an entry's record: its data is about to change. */
static void clear_meta(struct cache *c, const char *name)
{
	char path[PATH_MAX];

	if (cache_data_path(c, name, path, sizeof(path)) == 0)
		removexattr(path, META_XATTR);
	if (meta_path(c, name, path, sizeof(path)) == 0)
		unlink(path);
}

static void remove_files(struct cache *c, const char *name)
{
	char path[PATH_MAX];
	if (cache_data_path(c, name, path, sizeof(path)) == 0)
		unlink(path);
	if (meta_path(c, name, path, sizeof(path)) == 0)
		unlink(path);
}

/* Reads an entry's record; 0 if it describes a complete file of the
 * right size. */
static int read_meta(struct cache *c, const char *name, long long *size, char *etag,
		     size_t etaglen, time_t *mtime)
{
	char path[PATH_MAX], body[META_MAX];
	long long sz = -1, mt = 0;
	ssize_t len = -1;
	struct stat sb;

	etag[0] = '\0';
	if (cache_data_path(c, name, path, sizeof(path)) < 0)
		return -ENOENT;
	len = getxattr(path, META_XATTR, body, sizeof(body) - 1);
	if (len < 0 && meta_path(c, name, path, sizeof(path)) == 0) {
		FILE *f = fopen(path, "r");
		if (f) {
			len = (ssize_t)fread(body, 1, sizeof(body) - 1, f);
			fclose(f);
		}
	}
	if (len < 0)
		return -ENOENT;
	body[len] = '\0';
	if (strncmp(body, "s3csfs-cache 1\n", 15) != 0)
		return -EINVAL;
	for (char *line = body + 15, *next; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (strncmp(line, "size ", 5) == 0)
			sz = strtoll(line + 5, NULL, 10);
		else if (strncmp(line, "etag ", 5) == 0 && strlen(line + 5) < etaglen)
			memcpy(etag, line + 5, strlen(line + 5) + 1);
		else if (strncmp(line, "mtime ", 6) == 0)
			mt = strtoll(line + 6, NULL, 10);
	}
	if (sz < 0 || !etag[0] || cache_data_path(c, name, path, sizeof(path)) < 0 ||
	    stat(path, &sb) < 0 || sb.st_size != sz)
		return -EINVAL;
	*size = sz;
	*mtime = (time_t)mt;
	return 0;
}

static struct cache_entry *entry_new(const char *name)
{
	struct cache_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->name, name, CACHE_NAME_LEN + 1);
	e->size = -1;
	e->fd = -1;
	return e;
}

static void table_add(struct cache *c, struct cache_entry *e)
{
	unsigned h = hash_of(e->name);
	e->hnext = c->table[h];
	c->table[h] = e;
	lru_front(c, e);
}

/* Loads complete entries left by an earlier run; removes partial ones
 * (their block maps were in memory only) unless the journal owns them. */
static void scan(struct cache *c)
{
	char sub[PATH_MAX];
	long long n = 0;

	for (int i = 0; i < 256; i++) {
		snprintf(sub, sizeof(sub), "%s/objects/%02x", c->dir, i);
		DIR *d = opendir(sub);
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (strlen(de->d_name) != CACHE_NAME_LEN)
				continue;
			struct cache_entry *e = entry_new(de->d_name);
			if (!e)
				break;
			if (read_meta(c, de->d_name, &e->size, e->etag, sizeof(e->etag),
				      &e->mtime) == 0) {
				e->complete = 1;
				table_add(c, e);
				set_disk_bytes(c, e, e->size);
				n++;
				continue;
			}
			free(e);
			if (!journal_holds(c->dir, de->d_name))
				remove_files(c, de->d_name);
		}
		closedir(d);
	}
	if (n)
		log_info("cache: %lld files (%lld MiB) kept from the last run", n, c->total >> 20);
}

static int mkdir_p1(const char *path)
{
	return (mkdir(path, 0700) == 0 || errno == EEXIST) ? 0 : -errno;
}

struct cache *cache_open(const char *dir, long long max_size, const struct store *store,
			 struct workq *transfers, long long fetch_chunk, char *err, size_t errlen)
{
	struct cache *c = calloc(1, sizeof(*c));
	char path[PATH_MAX];
	int rc;

	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->max_size = max_size;
	c->store = *store;
	c->transfers = transfers;
	c->fetch_chunk = fetch_chunk < CACHE_BLOCK ? CACHE_BLOCK : fetch_chunk;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->fetched, NULL);
	rc = mkdir_p1(dir);
	snprintf(path, sizeof(path), "%s/objects", dir);
	if (!rc)
		rc = mkdir_p1(path);
	for (int i = 0; !rc && i < 256; i++) {
		snprintf(path, sizeof(path), "%s/objects/%02x", dir, i);
		rc = mkdir_p1(path);
	}
	if (rc) {
		snprintf(err, errlen, "cache_dir %s: cannot create %s: %s", dir, path, strerror(-rc));
		cache_close(c);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/.probe", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cache_dir %s is not writable: %s", dir, strerror(errno));
		cache_close(c);
		return NULL;
	}
	close(fd);
	unlink(path);
	scan(c);
	return c;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	STAT_SUB(cache_bytes, c->total);
	for (int i = 0; i < HASH_BUCKETS; i++)
		while (c->table[i]) {
			struct cache_entry *e = c->table[i];
			c->table[i] = e->hnext;
			entry_free(e);
		}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->fetched);
	free(c->dir);
	free(c);
}

void cache_set_max_size(struct cache *c, long long max_size)
{
	pthread_mutex_lock(&c->lock);
	c->max_size = max_size;
	pthread_mutex_unlock(&c->lock);
}

/* With the lock: drops e if clean and unused; returns the bytes freed. */
static long long evict_entry(struct cache *c, struct cache_entry *e)
{
	long long bytes = e->disk_bytes;

	if (e->pins != 0 || e->dirty)
		return 0;
	remove_files(c, e->name);
	set_disk_bytes(c, e, 0);
	table_del(c, e);
	entry_free(e);
	STAT_ADD(cache_evictions, 1);
	return bytes;
}

/* Called with the lock held: evicts clean, unused entries, oldest first. */
static void evict(struct cache *c)
{
	struct cache_entry *e = c->lru_tail;

	while (c->total > c->max_size && e) {
		struct cache_entry *prev = e->lru_prev;
		evict_entry(c, e);
		e = prev;
	}
}

long long cache_evict_bytes(struct cache *c, long long bytes)
{
	long long freed = 0;

	pthread_mutex_lock(&c->lock);
	for (struct cache_entry *e = c->lru_tail; e && freed < bytes;) {
		struct cache_entry *prev = e->lru_prev;
		freed += evict_entry(c, e);
		e = prev;
	}
	pthread_mutex_unlock(&c->lock);
	return freed;
}

static struct cache_entry *find(struct cache *c, const char *name)
{
	for (struct cache_entry *e = c->table[hash_of(name)]; e; e = e->hnext)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

int cache_get(struct cache *c, const struct target *t, int create, struct cache_entry **out)
{
	char name[CACHE_NAME_LEN + 1], path[PATH_MAX];
	struct cache_entry *e;
	int rc = 0;

	cache_name_of(t, name);
	pthread_mutex_lock(&c->lock);
	e = find(c, name);
	if (!e) {
		if (!create) {
			pthread_mutex_unlock(&c->lock);
			return -ENOENT;
		}
		e = entry_new(name);
		if (!e) {
			pthread_mutex_unlock(&c->lock);
			return -ENOMEM;
		}
		table_add(c, e);
	}
	if (!e->target.bucket)
		e->target = *t;
	if (e->fd < 0) {
		rc = cache_data_path(c, name, path, sizeof(path));
		if (!rc) {
			/* Never O_TRUNC: a file with no entry yet may be a
			 * journaled upload about to be resumed; leftovers were
			 * removed by the startup scan. */
			e->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (e->fd < 0)
				rc = -errno;
		}
		if (rc) {
			log_error("cache: cannot open %s: %s", path, strerror(-rc));
			if (e->pins == 0 && !e->dirty && !e->complete) {
				table_del(c, e);
				entry_free(e);
			}
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
	}
	e->pins++;
	lru_front(c, e);
	pthread_mutex_unlock(&c->lock);
	*out = e;
	return 0;
}

void cache_put(struct cache *c, struct cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	if (--e->pins == 0) {
		if (E_DROPPED(e)) {
			entry_free(e);
		} else {
			/* Fds are for users: an idle cache holds none. */
			if (e->fd >= 0) {
				close(e->fd);
				e->fd = -1;
			}
			evict(c);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static void reset_data(struct cache *c, struct cache_entry *e)
{
	if (e->fd >= 0 && ftruncate(e->fd, 0) < 0)
		log_warn("cache: truncating %s: %s", e->name, strerror(errno));
	free(e->blocks);
	e->blocks = NULL;
	e->nblocks = 0;
	e->complete = 0;
	set_disk_bytes(c, e, 0);
	clear_meta(c, e->name);
}

/* With the lock: a block map for a known size (complete when empty). */
static int ensure_blocks(struct cache_entry *e)
{
	if (e->blocks || e->complete || e->size < 0)
		return 0;
	e->nblocks = (e->size + CACHE_BLOCK - 1) / CACHE_BLOCK;
	if (e->nblocks == 0) {
		e->complete = 1;
		return 0;
	}
	e->blocks = calloc((size_t)e->nblocks, 1);
	return e->blocks ? 0 : -ENOMEM;
}

void cache_set_object(struct cache *c, struct cache_entry *e, long long size, const char *etag,
		      time_t mtime)
{
	pthread_mutex_lock(&c->lock);
	if (!e->dirty) {
		if ((e->etag[0] && strcmp(e->etag, etag) != 0) || (e->size >= 0 && e->size != size))
			reset_data(c, e);
		e->size = size;
		snprintf(e->etag, sizeof(e->etag), "%s", etag);
		e->mtime = mtime;
		e->verified = 1;
		ensure_blocks(e);
	}
	pthread_mutex_unlock(&c->lock);
}

/* With the lock: marks [b0, b1] present and the entry complete if all are. */
static void blocks_landed(struct cache *c, struct cache_entry *e, long long b0, long long b1)
{
	long long have = 0;

	for (long long b = b0; b <= b1 && b < e->nblocks; b++)
		e->blocks[b] = BLK_PRESENT;
	for (long long b = 0; b < e->nblocks; b++)
		have += e->blocks[b] == BLK_PRESENT;
	if (have == e->nblocks && !e->complete) {
		e->complete = 1;
		free(e->blocks);
		e->blocks = NULL;
		set_disk_bytes(c, e, e->size);
		write_meta(c, e);
	} else if (!e->complete) {
		set_disk_bytes(c, e, have * CACHE_BLOCK);
	}
}

struct fetch_job {
	struct cache *c;
	struct cache_entry *e;
	long long b0, b1; /* blocks, inclusive */
};

static void fetch_job_run(void *arg)
{
	struct fetch_job *j = arg;
	struct cache *c = j->c;
	struct cache_entry *e = j->e;
	long long off = j->b0 * CACHE_BLOCK, end, len;
	char etag[S3_ETAG_MAX];
	int fd, rc;

	pthread_mutex_lock(&c->lock);
	end = (j->b1 + 1) * CACHE_BLOCK;
	if (end > e->size)
		end = e->size;
	fd = e->fd;
	snprintf(etag, sizeof(etag), "%s", e->etag);
	pthread_mutex_unlock(&c->lock);
	len = end - off;
	struct http_sink sink = { .kind = HTTP_SINK_FD, .fd = fd, .off = off, .cap = (size_t)len };
	rc = c->store.ops->get(c->store.ctx, &e->target, off, len, etag[0] ? etag : NULL, &sink,
			       NULL);
	if (rc == 0 && (long long)sink.len != len)
		rc = -EIO;
	pthread_mutex_lock(&c->lock);
	if (rc == 0 && !E_DROPPED(e) && e->blocks) {
		blocks_landed(c, e, j->b0, j->b1);
	} else if (e->blocks) {
		for (long long b = j->b0; b <= j->b1 && b < e->nblocks; b++)
			if (e->blocks[b] == BLK_FETCHING)
				e->blocks[b] = BLK_MISSING;
		e->fetch_error = rc ? rc : -EIO;
	}
	pthread_cond_broadcast(&c->fetched);
	pthread_mutex_unlock(&c->lock);
	cache_put(c, e);
	free(j);
}

/* With the lock: starts jobs for the missing blocks in [b0, b1]. With
 * whole_only (read-ahead), a run shorter than a full chunk waits until the
 * window has slid far enough to fill one, unless it reaches the end: one
 * request per chunk, not per block. */
static int schedule(struct cache *c, struct cache_entry *e, long long b0, long long b1,
		    int whole_only)
{
	long long per_job = c->fetch_chunk / CACHE_BLOCK;

	for (long long b = b0; b <= b1 && b < e->nblocks;) {
		if (e->blocks[b] != BLK_MISSING) {
			b++;
			continue;
		}
		long long s = b, run = 0;
		while (s + run <= b1 && s + run < e->nblocks && e->blocks[s + run] == BLK_MISSING &&
		       run < per_job)
			run++;
		if (whole_only && run < per_job && s + run < e->nblocks)
			break;
		while (b < s + run)
			e->blocks[b++] = BLK_FETCHING;
		struct fetch_job *j = malloc(sizeof(*j));
		if (j) {
			*j = (struct fetch_job){ c, e, s, b - 1 };
			e->pins++;
		}
		if (!j || workq_submit(c->transfers, fetch_job_run, j) < 0) {
			if (j)
				e->pins--;
			free(j);
			for (long long x = s; x < b; x++)
				e->blocks[x] = BLK_MISSING;
			return -ENOMEM;
		}
	}
	return 0;
}

int cache_fill(struct cache *c, struct cache_entry *e, long long off, long long len,
	       long long ahead)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (e->complete || e->dirty || len <= 0 || off >= e->size) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (e->size < 0 || (rc = ensure_blocks(e)) < 0 || !e->blocks) {
		pthread_mutex_unlock(&c->lock);
		return rc < 0 ? rc : (e->complete ? 0 : -EIO);
	}
	long long end = off + len > e->size ? e->size : off + len;
	long long b0 = off / CACHE_BLOCK, b1 = (end - 1) / CACHE_BLOCK;
	long long a1 = (end + ahead - 1) / CACHE_BLOCK;
	e->fetch_error = 0;
	rc = schedule(c, e, b0, b1, 0);
	if (!rc && a1 > b1)
		rc = schedule(c, e, b1 + 1, a1, 1);
	for (int rounds = 0; !rc && !e->complete && rounds < 1000;) {
		int waiting = 0, missing = 0;
		for (long long b = b0; b <= b1; b++) {
			waiting |= e->blocks[b] == BLK_FETCHING;
			missing |= e->blocks[b] == BLK_MISSING;
		}
		if (!waiting && !missing)
			break;
		if (!waiting && missing) {
			/* Another reader's fetch failed, or ours did. */
			if (e->fetch_error) {
				rc = e->fetch_error;
				break;
			}
			rounds++;
			rc = schedule(c, e, b0, b1, 0);
			continue;
		}
		pthread_cond_wait(&c->fetched, &c->lock);
		if (!e->blocks) {
			/* Completed (map freed), or dropped/reset under us. */
			rc = e->complete ? 0 : -ESTALE;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int cache_fetch_head(struct cache *c, struct cache_entry *e, long long len,
		     struct s3_obj_info *info)
{
	struct http_sink sink = { .kind = HTTP_SINK_FD, .fd = e->fd, .off = 0, .cap = (size_t)len };
	int rc;

	rc = c->store.ops->get(c->store.ctx, &e->target, 0, len, NULL, &sink, info);
	/* An archived object refuses GETs (S3 Glacier) but is there: a HEAD
	 * says what it is; its bytes wait for a restore. */
	if (rc == -ENODATA) {
		sink.len = 0;
		rc = c->store.ops->head(c->store.ctx, &e->target, info);
	}
	if (rc < 0)
		return rc;
	if (info->size < 0)
		info->size = (long long)sink.len;
	pthread_mutex_lock(&c->lock);
	if (!e->dirty) {
		if (e->etag[0] && strcmp(e->etag, info->etag) != 0)
			reset_data(c, e);
		e->size = info->size;
		snprintf(e->etag, sizeof(e->etag), "%s", info->etag);
		e->mtime = info->mtime;
		e->verified = 1;
		if (!e->complete) {
			rc = ensure_blocks(e);
			long long got = (long long)sink.len;
			if (rc == 0 && e->blocks && got > 0) {
				long long full = got == e->size ? (got + CACHE_BLOCK - 1) / CACHE_BLOCK
								: got / CACHE_BLOCK;
				if (full > 0)
					blocks_landed(c, e, 0, full - 1);
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int cache_begin_write(struct cache *c, struct cache_entry *e, int keep_data)
{
	struct stat sb;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (!keep_data) {
		reset_data(c, e);
		e->size = 0;
	} else if (fstat(e->fd, &sb) == 0) {
		free(e->blocks);
		e->blocks = NULL;
		e->size = sb.st_size;
		set_disk_bytes(c, e, sb.st_size);
		clear_meta(c, e->name);
	} else {
		rc = -errno;
	}
	e->dirty = 1;
	e->complete = 1;
	e->etag[0] = '\0';
	e->verified = 1;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_written(struct cache *c, struct cache_entry *e, long long size)
{
	pthread_mutex_lock(&c->lock);
	e->size = size;
	set_disk_bytes(c, e, size);
	pthread_mutex_unlock(&c->lock);
}

void cache_write_done(struct cache *c, struct cache_entry *e, const char *etag)
{
	pthread_mutex_lock(&c->lock);
	e->dirty = 0;
	if (etag) {
		snprintf(e->etag, sizeof(e->etag), "%s", etag);
		e->mtime = time(NULL);
		e->complete = 1;
		write_meta(c, e);
	} else {
		reset_data(c, e);
		e->size = -1;
		e->etag[0] = '\0';
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_drop(struct cache *c, struct cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	remove_files(c, e->name);
	set_disk_bytes(c, e, 0);
	if (!E_DROPPED(e))
		table_del(c, e);
	free(e->blocks);
	e->blocks = NULL;
	e->nblocks = -1;
	e->complete = 0;
	e->dirty = 0;
	e->size = -1;
	pthread_mutex_unlock(&c->lock);
}
