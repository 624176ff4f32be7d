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
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache.h"
#include "dynbuf.h"
#include "journal.h"
#include "log.h"
#include "objfile.h"
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
	int meta_sidecars;                       /* no user xattrs here: records in NAME.meta */
	time_t full_until; /* monotonic s: the disk was full, fetch nothing until then */
	int full_logged;   /* the current disk-full episode was logged */
};

#define FULL_RETRY_S 5

/* cache_read_direct's window of an object, with the digest streamed so
 * far (bytes [0, streamed) hashed in order). */
struct direct_window {
	pthread_mutex_t lock;
	char *buf;
	long long off, len; /* the window's bytes, checked or before the last */
	struct integrity_stream stream;
	int streaming;
	long long streamed;
	int failures;
};

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

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
	return objfile_data_path(c->dir, name, out, len);
}

static int meta_path(const struct cache *c, const char *name, char *out, size_t len)
{
	return objfile_sidecar_path(c->dir, OBJFILE_META, name, out, len);
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

static void direct_free(struct direct_window *d)
{
	if (!d)
		return;
	if (d->streaming)
		integrity_stream_free(&d->stream);
	pthread_mutex_destroy(&d->lock);
	free(d->buf);
	free(d);
}

static void entry_free(struct cache_entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->blocks);
	direct_free(e->direct);
	free(e);
}

/* An entry's record (bucket, size, ETag, mtime, key) lives in an extended
 * attribute of its data file: no second file to create, rename or delete
 * per object.  Where the cache's filesystem has no user xattrs, in a
 * sidecar NAME.meta instead (written by rename, never seen half-done):
 * objfile's OBJFILE_META record. */

static void write_meta(struct cache *c, const struct cache_entry *e)
{
	char body[META_MAX];
	struct dynbuf b;
	int rc;

	if (!e->target.bucket)
		return;
	dynbuf_init_fixed(&b, body, sizeof(body));
	if (dynbuf_addf(&b, "s3csfs-cache 1\nbucket %s\nsize %lld\netag %s\nmtime %lld\nkey %s\n",
			e->target.bucket->name, e->size, e->etag, (long long)e->mtime,
			e->target.key) < 0)
		return;
	if (e->expect.kind > INTEGRITY_NONE) {
		/* What the bytes were checked against: the next run checks
		 * the kept file against it at its first read. */
		char hex[33];
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", e->expect.digest[i]);
		/* A line that does not fit is left out, the rest kept. */
		dynbuf_addf(&b, "digest %d %d %s %lld %d\n", (int)e->expect.kind,
			    (int)e->expect.alg, hex, e->expect.part_size, e->expect.nparts);
	}
	if (!__atomic_load_n(&c->meta_sidecars, __ATOMIC_RELAXED)) {
		rc = objfile_xattr_write(c->dir, OBJFILE_META, e->name, -1, dynbuf_ptr(&b),
					 dynbuf_len(&b));
		if (rc != -ENOTSUP)
			return; /* set, or not kept across a restart: fetched again then */
		log_info("cache: %s has no user xattrs; records go to sidecar files", c->dir);
		__atomic_store_n(&c->meta_sidecars, 1, __ATOMIC_RELAXED);
	}
	objfile_sidecar_write(c->dir, OBJFILE_META, e->name, dynbuf_ptr(&b), dynbuf_len(&b), 0);
}

/* Forgets an entry's record: its data is about to change. */
static void clear_meta(struct cache *c, const char *name)
{
	objfile_xattr_remove(c->dir, OBJFILE_META, name);
	objfile_sidecar_remove(c->dir, OBJFILE_META, name);
}

static void remove_files(struct cache *c, const char *name)
{
	char path[PATH_MAX];
	if (cache_data_path(c, name, path, sizeof(path)) == 0)
		unlink(path);
	objfile_sidecar_remove(c->dir, OBJFILE_META, name);
}

/* Reads an entry's record; 0 if it describes a complete file of the
 * right size. */
static int read_meta(struct cache *c, const char *name, long long *size, char *etag, size_t etaglen,
		     time_t *mtime, struct integrity_expect *x)
{
	char path[PATH_MAX], body[META_MAX];
	long long sz = -1, mt = 0;
	ssize_t len = -1;
	struct stat sb;

	etag[0] = '\0';
	if (cache_data_path(c, name, path, sizeof(path)) < 0)
		return -ENOENT;
	len = objfile_record_read(c->dir, OBJFILE_META, name, body, sizeof(body));
	if (len < 0)
		return -ENOENT;
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
		else if (strncmp(line, "digest ", 7) == 0) {
			int kind, alg, np;
			long long ps;
			char hex[33];
			if (sscanf(line + 7, "%d %d %32s %lld %d", &kind, &alg, hex, &ps, &np) == 5 &&
			    kind > INTEGRITY_NONE && kind <= INTEGRITY_MD5_PARTS &&
			    strlen(hex) == 32) {
				memset(x, 0, sizeof(*x));
				x->kind = (enum integrity_kind)kind;
				x->alg = (enum checksum_alg)alg;
				x->part_size = ps;
				x->nparts = np;
				for (int i = 0; i < 16; i++) {
					unsigned v = 0;
					sscanf(hex + 2 * i, "%2x", &v);
					x->digest[i] = (unsigned char)v;
				}
			}
		}
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
	__atomic_store_n(&e->size, -1, __ATOMIC_RELAXED);
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
		DIR *d = objfile_shard_dir(c->dir, i, sub, sizeof(sub)) == 0 ? opendir(sub) : NULL;
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (strlen(de->d_name) != CACHE_NAME_LEN)
				continue;
			struct cache_entry *e = entry_new(de->d_name);
			if (!e)
				break;
			if (read_meta(c, de->d_name, &e->size, e->etag, sizeof(e->etag), &e->mtime,
				      &e->expect) == 0) {
				__atomic_store_n(&e->complete, 1, __ATOMIC_RELAXED);
				e->kept_unchecked = e->expect.kind > INTEGRITY_NONE;
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
	int prc = objfile_objects_dir(dir, path, sizeof(path));
	if (!rc)
		rc = prc ? prc : mkdir_p1(path);
	for (int i = 0; !rc && i < 256; i++)
		if (!(rc = objfile_shard_dir(dir, i, path, sizeof(path))))
			rc = mkdir_p1(path);
	if (rc) {
		snprintf(err, errlen, "cache_dir %s: cannot create %s: %s", dir, path,
			 strerror(-rc));
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
	if (!e && create && (e = entry_new(name)))
		table_add(c, e);
	if (!e) {
		rc = create ? -ENOMEM : -ENOENT;
		goto out;
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
			goto out;
		}
	}
	e->pins++;
	lru_front(c, e);
	*out = e;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_put(struct cache *c, struct cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	if (--e->pins == 0) {
		if (E_DROPPED(e)) {
			entry_free(e);
		} else {
			/* Fds and direct windows are for users: an idle
			 * cache holds none. */
			if (e->fd >= 0) {
				close(e->fd);
				e->fd = -1;
			}
			direct_free(e->direct);
			e->direct = NULL;
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
	__atomic_store_n(&e->complete, 0, __ATOMIC_RELAXED);
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
		__atomic_store_n(&e->complete, 1, __ATOMIC_RELAXED);
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
		if ((e->etag[0] && strcmp(e->etag, etag) != 0) || (e->size >= 0 && e->size != size)) {
			reset_data(c, e);
			memset(&e->expect, 0, sizeof(e->expect));
		}
		__atomic_store_n(&e->size, size, __ATOMIC_RELAXED);
		snprintf(e->etag, sizeof(e->etag), "%s", etag);
		e->mtime = mtime;
		e->verified = 1;
		ensure_blocks(e);
	}
	pthread_mutex_unlock(&c->lock);
}

/* With the lock: every byte is here and checked; the entry is complete. */
static void mark_complete(struct cache *c, struct cache_entry *e)
{
	__atomic_store_n(&e->complete, 1, __ATOMIC_RELAXED);
	free(e->blocks);
	e->blocks = NULL;
	set_disk_bytes(c, e, e->size);
	write_meta(c, e);
}

/* With the lock: marks [b0, b1] present. Returns 1 when that made every
 * block present and the bytes must now be checked (verify_entry, without
 * the lock), else 0 (the entry is complete if nothing is to be checked). */
static int blocks_landed(struct cache *c, struct cache_entry *e, long long b0, long long b1)
{
	long long have = 0;

	for (long long b = b0; b <= b1 && b < e->nblocks; b++)
		e->blocks[b] = BLK_PRESENT;
	for (long long b = 0; b < e->nblocks; b++)
		have += e->blocks[b] == BLK_PRESENT;
	if (have == e->nblocks && !e->complete && !e->checking) {
		set_disk_bytes(c, e, e->size);
		if (e->expect.kind == INTEGRITY_NONE) {
			mark_complete(c, e);
			return 0;
		}
		e->checking = 1;
		return 1;
	} else if (!e->complete && have < e->nblocks) {
		set_disk_bytes(c, e, have * CACHE_BLOCK);
	}
	return 0;
}

/* Without the lock, e pinned and checking: hashes the cache file against
 * the object's digest. A match completes the entry; a mismatch drops the
 * bytes (every block missing again): the first time, waiting readers
 * fetch them once more; the second, they get -EIO. */
static void verify_entry(struct cache *c, struct cache_entry *e)
{
	struct integrity_expect x;
	char what[48];
	long long size;
	int fd, rc;

	pthread_mutex_lock(&c->lock);
	x = e->expect;
	size = e->size;
	fd = e->fd;
	pthread_mutex_unlock(&c->lock);
	if (x.kind == INTEGRITY_UNKNOWN) {
		/* No answer told of the object's encryption or checksums. */
		struct s3_obj_info info;
		rc = c->store.ops->head(c->store.ctx, &e->target, &info);
		if (rc == 0 && strcmp(info.etag, e->etag) == 0)
			integrity_expect_from(&info, size, &x);
	}
	rc = x.kind == INTEGRITY_UNKNOWN ? -EIO : integrity_check_fd(fd, size, &x);
	pthread_mutex_lock(&c->lock);
	e->checking = 0;
	if (!E_DROPPED(e) && e->blocks) {
		if (rc == 0) {
			e->expect = x;
			e->verify_failures = 0;
			mark_complete(c, e);
		} else {
			e->verify_failures++;
			memset(e->blocks, BLK_MISSING, (size_t)e->nblocks);
			if (ftruncate(fd, 0) < 0)
				log_warn("cache: truncating %s: %s", e->name, strerror(errno));
			set_disk_bytes(c, e, 0);
			integrity_expect_name(&x, what, sizeof(what));
			if (rc == -EBADMSG && e->verify_failures < 2) {
				log_warn("integrity: bucket=%s key=%s bytes=0-%lld do not match the "
					 "object's %s; fetching them again",
					 e->target.bucket->name, e->target.key, size - 1, what);
			} else {
				log_error("integrity: bucket=%s key=%s bytes=0-%lld %s (%s): reads "
					  "fail with EIO",
					  e->target.bucket->name, e->target.key, size - 1,
					  rc == -EBADMSG ? "do not match the object's digest twice"
							 : "could not be checked",
					  rc == -EBADMSG ? what : strerror(-rc));
				e->fetch_error = -EIO;
				e->verify_failures = 0;
				STAT_ADD(errors[S3OP_GET_OBJECT], 1);
			}
		}
	}
	pthread_cond_broadcast(&c->fetched);
	pthread_mutex_unlock(&c->lock);
}

void cache_entry_state(struct cache *c, const struct cache_entry *e, struct cache_entry_state *st)
{
	pthread_mutex_lock(&c->lock);
	st->complete = e->complete;
	st->verified = e->verified;
	st->has_etag = e->etag[0] != '\0';
	pthread_mutex_unlock(&c->lock);
}

int cache_entry_present(const struct cache_entry *e)
{
	return __atomic_load_n(&e->complete, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&e->dirty, __ATOMIC_RELAXED);
}

long long cache_entry_size(const struct cache_entry *e)
{
	return __atomic_load_n(&e->size, __ATOMIC_RELAXED);
}

int cache_check_kept(struct cache *c, struct cache_entry *e)
{
	struct integrity_expect x;
	long long size;
	int fd, rc;

	if (!__atomic_load_n(&e->kept_unchecked, __ATOMIC_RELAXED))
		return 0;
	/* The check runs unlocked: a snapshot under the lock, then the
	 * verdict applied under it if the entry is still what was checked. */
	pthread_mutex_lock(&c->lock);
	fd = !e->kept_unchecked || !e->complete || e->dirty ? -1 : e->fd;
	x = e->expect;
	size = e->size;
	pthread_mutex_unlock(&c->lock);
	if (fd < 0)
		return 0;
	rc = integrity_check_fd(fd, size, &x);
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&e->kept_unchecked, 0, __ATOMIC_RELAXED);
	if (rc == -EBADMSG && e->complete && !e->dirty) {
		log_warn("cache: the kept copy of bucket=%s key=%s was damaged on disk; fetching it "
			 "again",
			 e->target.bucket ? e->target.bucket->name : "?", e->target.key);
		reset_data(c, e);
		ensure_blocks(e);
	}
	pthread_mutex_unlock(&c->lock);
	return rc == -EBADMSG ? rc : 0;
}

void cache_set_info(struct cache *c, struct cache_entry *e, const struct s3_obj_info *info)
{
	pthread_mutex_lock(&c->lock);
	if (!e->dirty && e->expect.kind == INTEGRITY_UNKNOWN && e->size >= 0 &&
	    strcmp(info->etag, e->etag) == 0)
		integrity_expect_from(info, e->size, &e->expect);
	pthread_mutex_unlock(&c->lock);
}

/* With the lock: a fetch failed for want of disk space; one line per
 * episode, and no fetch tried again for FULL_RETRY_S. */
static void disk_full(struct cache *c, int err)
{
	c->full_until = mono_s() + FULL_RETRY_S;
	if (!c->full_logged) {
		c->full_logged = 1;
		log_warn("cache: %s under %s: reads go straight to S3 (checked as usual) until "
			 "there is room",
			 strerror(-err), c->dir);
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
	struct s3_obj_info info;
	int check = 0;
	rc = c->store.ops->get(c->store.ctx, &e->target, off, len, etag[0] ? etag : NULL, &sink,
			       &info);
	if (rc == 0 && (long long)sink.len != len)
		rc = -EIO;
	pthread_mutex_lock(&c->lock);
	if (rc == 0 && !E_DROPPED(e) && e->blocks) {
		if (e->expect.kind == INTEGRITY_UNKNOWN && strcmp(info.etag, e->etag) == 0)
			integrity_expect_from(&info, e->size, &e->expect);
		if (c->full_logged && c->full_until <= mono_s()) {
			c->full_logged = 0;
			log_info("cache: room under %s again: reads are cached", c->dir);
		}
		check = blocks_landed(c, e, j->b0, j->b1);
	} else if (e->blocks) {
		for (long long b = j->b0; b <= j->b1 && b < e->nblocks; b++)
			if (e->blocks[b] == BLK_FETCHING)
				e->blocks[b] = BLK_MISSING;
		e->fetch_error = rc ? rc : -EIO;
		if (rc == -ENOSPC || rc == -EDQUOT)
			disk_full(c, rc);
	}
	pthread_cond_broadcast(&c->fetched);
	pthread_mutex_unlock(&c->lock);
	if (check)
		verify_entry(c, e);
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

/* cache_fill with c->lock held (it waits on c->fetched, which drops it). */
static int fill_locked(struct cache *c, struct cache_entry *e, long long off, long long len,
		       long long ahead)
{
	int rc = 0;

	if (e->complete || e->dirty || len <= 0 || off >= e->size)
		return 0;
	if (e->size < 0 || (rc = ensure_blocks(e)) < 0 || !e->blocks)
		return rc < 0 ? rc : (e->complete ? 0 : -EIO);
	if (c->full_until > mono_s())
		return -ENOSPC;
	long long end = off + len > e->size ? e->size : off + len;
	long long b0 = off / CACHE_BLOCK, b1 = (end - 1) / CACHE_BLOCK;
	long long a1 = (end + ahead - 1) / CACHE_BLOCK;
	/* Bytes that may only be handed out checked: all of a small object,
	 * the last block of a large one (so no reader sees a clean EOF after
	 * wrong bytes); the whole object must then be here and verified. */
	int whole = e->expect.kind != INTEGRITY_NONE &&
		    (e->size <= CACHE_VERIFY_WHOLE || b1 == e->nblocks - 1);
	if (whole) {
		b0 = 0;
		b1 = e->nblocks - 1;
	}
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
		if (!waiting && !missing && (!whole || e->complete))
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
	return rc;
}

int cache_fill(struct cache *c, struct cache_entry *e, long long off, long long len, long long ahead)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = fill_locked(c, e, off, len, ahead);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int cache_fetch_head(struct cache *c, struct cache_entry *e, long long len, struct s3_obj_info *info)
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
	int check = 0;
	pthread_mutex_lock(&c->lock);
	if (!e->dirty) {
		if (e->etag[0] && strcmp(e->etag, info->etag) != 0) {
			reset_data(c, e);
			memset(&e->expect, 0, sizeof(e->expect));
		}
		__atomic_store_n(&e->size, info->size, __ATOMIC_RELAXED);
		snprintf(e->etag, sizeof(e->etag), "%s", info->etag);
		e->mtime = info->mtime;
		e->verified = 1;
		if (e->expect.kind == INTEGRITY_UNKNOWN)
			integrity_expect_from(info, e->size, &e->expect);
		if (!e->complete) {
			rc = ensure_blocks(e);
			long long got = (long long)sink.len;
			if (rc == 0 && e->blocks && got > 0) {
				long long full = got == e->size
							 ? (got + CACHE_BLOCK - 1) / CACHE_BLOCK
							 : got / CACHE_BLOCK;
				if (full > 0)
					check = blocks_landed(c, e, 0, full - 1);
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	/* A mismatch here drops the bytes: the read that follows fetches
	 * them again (the one retry) and fails if they differ again. */
	if (check)
		verify_entry(c, e);
	return rc;
}

int cache_begin_write(struct cache *c, struct cache_entry *e, int keep_data)
{
	struct stat sb;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (!keep_data) {
		reset_data(c, e);
		__atomic_store_n(&e->size, 0, __ATOMIC_RELAXED);
	} else if (fstat(e->fd, &sb) == 0) {
		free(e->blocks);
		e->blocks = NULL;
		__atomic_store_n(&e->size, sb.st_size, __ATOMIC_RELAXED);
		set_disk_bytes(c, e, sb.st_size);
		clear_meta(c, e->name);
	} else {
		rc = -errno;
	}
	__atomic_store_n(&e->dirty, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&e->complete, 1, __ATOMIC_RELAXED);
	e->etag[0] = '\0';
	e->verified = 1;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_written(struct cache *c, struct cache_entry *e, long long size)
{
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&e->size, size, __ATOMIC_RELAXED);
	set_disk_bytes(c, e, size);
	pthread_mutex_unlock(&c->lock);
}

void cache_write_done(struct cache *c, struct cache_entry *e, const char *etag)
{
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&e->dirty, 0, __ATOMIC_RELAXED);
	if (etag) {
		snprintf(e->etag, sizeof(e->etag), "%s", etag);
		e->mtime = time(NULL);
		__atomic_store_n(&e->complete, 1, __ATOMIC_RELAXED);
		/* What S3 now says of the bytes written here: recorded, so
		 * the next run can check the kept file. */
		struct s3_obj_info info;
		memset(&info, 0, sizeof(info));
		snprintf(info.etag, sizeof(info.etag), "%s", etag);
		if (e->target.bucket && e->target.bucket->sse)
			snprintf(info.sse, sizeof(info.sse), "%s", e->target.bucket->sse);
		snprintf(info.meta, sizeof(info.meta), INTEGRITY_META_PART_SIZE "=%lld\n",
			 c->fetch_chunk);
		integrity_expect_from(&info, e->size, &e->expect);
		write_meta(c, e);
	} else {
		reset_data(c, e);
		__atomic_store_n(&e->size, -1, __ATOMIC_RELAXED);
		e->etag[0] = '\0';
	}
	pthread_mutex_unlock(&c->lock);
}

int cache_dropped(struct cache *c, struct cache_entry *e, long long *size)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (E_DROPPED(e)) {
		rc = e->dropped_size >= 0 ? 1 : -ESTALE;
		*size = e->dropped_size;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_drop(struct cache *c, struct cache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	e->dropped_size = E_DROPPED(e)                                ? e->dropped_size
			  : (e->complete || e->dirty) && e->size >= 0 ? e->size
								      : -1;
	remove_files(c, e->name);
	set_disk_bytes(c, e, 0);
	if (!E_DROPPED(e))
		table_del(c, e);
	free(e->blocks);
	e->blocks = NULL;
	e->nblocks = -1;
	__atomic_store_n(&e->complete, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->dirty, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->size, -1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->lock);
}

int cache_rename(struct cache *c, struct cache_entry *e, const struct target *to)
{
	char name[CACHE_NAME_LEN + 1], from[PATH_MAX], dest[PATH_MAX];
	struct cache_entry *other;
	int rc = 0;

	cache_name_of(to, name);
	pthread_mutex_lock(&c->lock);
	if (E_DROPPED(e) || strcmp(name, e->name) == 0) {
		e->target = *to; /* no file moves */
		goto out;
	}
	other = find(c, name);
	if (other) {
		/* The destination's old bytes: gone for new users; a pinner
		 * keeps its descriptor until it lets go. */
		other->dropped_size = (other->complete || other->dirty) && other->size >= 0
					      ? other->size
					      : -1;
		remove_files(c, other->name);
		set_disk_bytes(c, other, 0);
		table_del(c, other);
		lru_unlink(c, other);
		free(other->blocks);
		other->blocks = NULL;
		other->nblocks = -1;
		__atomic_store_n(&other->complete, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&other->dirty, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&other->size, -1, __ATOMIC_RELAXED);
		if (other->pins == 0)
			entry_free(other);
	}
	rc = cache_data_path(c, e->name, from, sizeof(from));
	if (rc == 0)
		rc = cache_data_path(c, name, dest, sizeof(dest));
	if (rc == 0 && rename(from, dest) < 0)
		rc = -errno;
	if (rc == 0) {
		if (meta_path(c, e->name, from, sizeof(from)) == 0 &&
		    meta_path(c, name, dest, sizeof(dest)) == 0)
			rename(from, dest); /* a sidecar, where there is one */
		table_del(c, e);
		memcpy(e->name, name, sizeof(e->name));
		e->target = *to;
		table_add(c, e);
	}
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- reads around a full disk ---- */

/* One GET of [off, off+len) into d->buf; fills x from the answer if unknown. */
static int direct_get(struct cache *c, struct cache_entry *e, struct direct_window *d,
		      long long off, long long len, const char *etag, struct integrity_expect *x)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .buf = d->buf, .cap = (size_t)len };
	struct s3_obj_info info;
	int rc = c->store.ops->get(c->store.ctx, &e->target, off, len, etag[0] ? etag : NULL, &sink,
				   &info);

	if (rc == 0 && (long long)sink.len != len)
		rc = -EIO;
	if (rc == 0 && x->kind == INTEGRITY_UNKNOWN && strcmp(info.etag, etag) == 0) {
		integrity_expect_from(&info, e->size, x);
		pthread_mutex_lock(&c->lock);
		if (e->expect.kind == INTEGRITY_UNKNOWN)
			e->expect = *x;
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

/* Streams [d->streamed, upto) of the object through d's digest, window by
 * window (the prefix a non-sequential reader of the last window skipped). */
static int direct_stream_to(struct cache *c, struct cache_entry *e, struct direct_window *d,
			    long long win, long long upto, const char *etag,
			    struct integrity_expect *x)
{
	int rc = 0;

	while (!rc && d->streamed < upto) {
		long long n = upto - d->streamed < win ? upto - d->streamed : win;
		d->len = 0;
		rc = direct_get(c, e, d, d->streamed, n, etag, x);
		if (!rc)
			rc = integrity_stream_update(&d->stream, d->buf, (size_t)n);
		if (!rc)
			d->streamed += n;
	}
	return rc;
}

/* With d->lock: makes the window at wstart hold checked bytes (or, for a
 * middle window of a large object, bytes whose check comes with the last). */
static int direct_fill(struct cache *c, struct cache_entry *e, struct direct_window *d,
		       long long wstart, long long win, long long osize, const char *etag,
		       struct integrity_expect *x)
{
	long long wlen = osize - wstart < win ? osize - wstart : win;
	int last = wstart + wlen == osize, rc = 0;
	char what[48];

	for (int tries = 0; tries < 2; tries++) {
		d->len = 0;
		rc = direct_get(c, e, d, wstart, wlen, etag, x);
		if (rc < 0)
			return rc;
		if (x->kind == INTEGRITY_NONE || x->kind == INTEGRITY_UNKNOWN)
			break;
		if (!d->streaming || d->streamed > wstart) {
			if (d->streaming)
				integrity_stream_free(&d->stream);
			d->streaming = integrity_stream_init(&d->stream, x) == 0;
			d->streamed = 0;
			if (!d->streaming)
				return -ENOMEM;
		}
		if (!last && d->streamed != wstart)
			break; /* a middle window out of order: checked with the last */
		if (last && d->streamed < wstart) {
			rc = direct_stream_to(c, e, d, win, wstart, etag, x);
			if (!rc)
				rc = direct_get(c, e, d, wstart, wlen, etag, x);
			if (rc < 0)
				return rc;
		}
		rc = integrity_stream_update(&d->stream, d->buf, (size_t)wlen);
		d->streamed += wlen;
		if (!rc && !last)
			break;
		if (!rc) {
			d->streaming = 0;
			rc = integrity_stream_final(&d->stream);
		}
		if (rc == 0)
			break;
		/* A mismatch: everything streamed is suspect; start over once. */
		if (d->streaming)
			integrity_stream_free(&d->stream);
		d->streaming = 0;
		d->streamed = 0;
		integrity_expect_name(x, what, sizeof(what));
		if (tries == 0 && rc == -EBADMSG) {
			log_warn("integrity: bucket=%s key=%s bytes=0-%lld do not match the object's "
				 "%s; fetching them again",
				 e->target.bucket->name, e->target.key, osize - 1, what);
			continue;
		}
		log_error("integrity: bucket=%s key=%s bytes=0-%lld %s (%s): reads fail with EIO",
			  e->target.bucket->name, e->target.key, osize - 1,
			  rc == -EBADMSG ? "do not match the object's digest twice"
					 : "could not be checked",
			  rc == -EBADMSG ? what : strerror(-rc));
		STAT_ADD(errors[S3OP_GET_OBJECT], 1);
		return -EIO;
	}
	if (rc == 0) {
		d->off = wstart;
		d->len = wlen;
	}
	return rc;
}

int cache_read_direct(struct cache *c, struct cache_entry *e, char *buf, size_t size, long long off)
{
	long long osize, win = c->fetch_chunk, done = 0;
	struct integrity_expect x;
	char etag[S3_ETAG_MAX];
	struct direct_window *d;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	osize = e->size;
	x = e->expect;
	snprintf(etag, sizeof(etag), "%s", e->etag);
	if (!e->direct && (e->direct = calloc(1, sizeof(*e->direct))))
		pthread_mutex_init(&e->direct->lock, NULL);
	d = e->direct;
	pthread_mutex_unlock(&c->lock);
	if (!d)
		return -ENOMEM;
	if (osize < 0)
		return -EIO;
	if (off >= osize)
		return 0;
	if ((long long)size > osize - off)
		size = (size_t)(osize - off);
	pthread_mutex_lock(&d->lock);
	if (!d->buf)
		d->buf = malloc((size_t)(osize < win ? osize : win));
	if (!d->buf)
		rc = -ENOMEM;
	while (!rc && done < (long long)size) {
		long long at = off + done;
		if (!(d->len > 0 && at >= d->off && at < d->off + d->len))
			rc = direct_fill(c, e, d, at / win * win, win, osize, etag, &x);
		if (rc)
			break;
		long long n = d->off + d->len - at;
		if (n > (long long)size - done)
			n = (long long)size - done;
		memcpy(buf + done, d->buf + (at - d->off), (size_t)n);
		done += n;
	}
	pthread_mutex_unlock(&d->lock);
	return rc < 0 ? rc : (int)done;
}
