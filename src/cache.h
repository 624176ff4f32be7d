/* cache.h - the local cache of objects: one file per object under
 * cache_dir, filled by ranged GETs or by the writer, bounded in size.
 *
 * Promises: an entry is pinned while anyone uses it and is never evicted
 * while pinned or dirty (written here and not yet durable in S3); clean
 * entries are evicted least recently used first once the cache holds
 * more than max_size; complete clean entries survive a restart (an
 * xattr of the data file, or a sidecar file where the cache's filesystem
 * has no user xattrs, records bucket, key, size and ETag: objfile.h's
 * OBJFILE_META record; the caller re-validates
 * the ETag with S3 once per run, see cache_entry.verified); bytes are
 * fetched in blocks of CACHE_BLOCK, each block by one request at a
 * time, with waiters woken when it lands; a failed fetch leaves the
 * block missing and returns the error to every waiter.
 *
 * Integrity: fetched bytes become a complete entry only once the whole
 * object has been checked against what S3 says of it (integrity.h); a
 * mismatch drops them and fetches again once, a second one is -EIO to
 * every waiter (logged with bucket, key and range) and nothing of it
 * stays cached.  cache_fill hands out no byte of an object of at most
 * CACHE_VERIFY_WHOLE, and no byte of the last block of a larger one,
 * before that check passed: a sequential reader gets EIO, never EOF after
 * wrong bytes.  With the cache disk full, cache_fill fails at once with
 * -ENOSPC for a few seconds (one log line per episode) and
 * cache_read_direct serves reads from memory, as checked. */
#ifndef S3CSFS_CACHE_H
#define S3CSFS_CACHE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "integrity.h"
#include "store.h"
#include "workq.h"

#define CACHE_BLOCK (1LL << 20)
#define CACHE_NAME_LEN 64
#define CACHE_VERIFY_WHOLE (64LL << 20) /* objects up to this are verified before any read */

struct cache;

struct cache_entry {
	/* Read-only once created, but for cache_rename by the entry's writer. */
	char name[CACHE_NAME_LEN + 1];
	struct target target;
	/* Guarded by the cache lock. */
	long long size; /* object size; -1 unknown (stored atomically: cache_entry_size) */
	char etag[S3_ETAG_MAX];
	time_t mtime;
	int complete;    /* every byte present (stored atomically: cache_entry_present) */
	int dirty;       /* being written or not yet uploaded */
	int verified;    /* ETag confirmed with S3 (or written) this run */
	int fd;          /* open while pinned, else -1 */
	uint8_t *blocks; /* per block: 0 missing, 1 fetching, 2 present */
	long long nblocks;
	int pins;
	long long disk_bytes;
	int fetch_error;                /* last fetch failure, reported once */
	struct integrity_expect expect; /* what the fetched bytes must match */
	int checking;                   /* every block present, being verified */
	int verify_failures;            /* mismatches in a row: the second is EIO */
	struct direct_window *direct;   /* cache_read_direct's, NULL if none */
	int kept_unchecked;             /* kept from the last run, its bytes not yet hashed */
	/* Dropped (cache_drop, or replaced by cache_rename) while every byte
	 * was here: their size, for pinners still reading the unlinked file;
	 * -1: its bytes went with it. Meaningless while not dropped. */
	long long dropped_size;
	/* Cache internals. */
	struct cache_entry *hnext, *lru_prev, *lru_next;
};

/* cache_close frees every entry: the transfers queue must be drained
 * (workq_free) first, since fetch jobs hold pins until they end. */
struct cache *cache_open(const char *dir, long long max_size, const struct store *store,
			 struct workq *transfers, long long fetch_chunk, char *err, size_t errlen);
void cache_close(struct cache *c);
void cache_set_max_size(struct cache *c, long long max_size);

/* The pinned entry for t, created if absent (create) or NULL/-ENOENT.
 * Its fd is open. Returns 0 or -errno. */
int cache_get(struct cache *c, const struct target *t, int create, struct cache_entry **out);
void cache_put(struct cache *c, struct cache_entry *e);
/* Whether a pinned entry was dropped: 0 not dropped; 1 dropped with every
 * byte still in e->fd (*size of them: a file unlinked or replaced while
 * open); -ESTALE dropped without them. */
int cache_dropped(struct cache *c, struct cache_entry *e, long long *size);

/* What S3 says the object is. A different ETag than the cached one drops
 * the cached bytes. Marks the entry verified. */
void cache_set_object(struct cache *c, struct cache_entry *e, long long size, const char *etag,
		      time_t mtime);

/* Ensures [off, off+len) is present, fetching what is missing (in
 * parallel chunks), and starts fetching up to ahead bytes beyond it
 * without waiting. The object size must be known. */
int cache_fill(struct cache *c, struct cache_entry *e, long long off, long long len,
	       long long ahead);

/* One GET of the first len bytes of an object whose size is unknown: fills
 * info (size, etag, mtime) and the cached bytes. -ENOENT if none. An
 * archived object (GET -ENODATA) is looked at with a HEAD instead, and
 * nothing is cached. */
int cache_fetch_head(struct cache *c, struct cache_entry *e, long long len,
		     struct s3_obj_info *info);

/* What S3 said of the object (an answer of HEAD or GET): what its bytes
 * are checked against. Ignored if its ETag is not the entry's. */
void cache_set_info(struct cache *c, struct cache_entry *e, const struct s3_obj_info *info);

/* Reads [off, off+size) of the object straight from S3 into buf, for a
 * cache that cannot hold it (disk full): fetched in windows of the
 * cache's fetch chunk, kept in memory per entry, checked as cache_fill
 * checks (a small object whole before any byte, a large one by a digest
 * streamed in order, its last window only once the digest matched).
 * Returns the bytes read (0 at the end) or -errno (-EIO on a mismatch). */
int cache_read_direct(struct cache *c, struct cache_entry *e, char *buf, size_t size, long long off);

/* A complete entry kept from the last run is hashed once, at its first
 * read, against the digest its record holds: 0 it matches (or there is
 * none), -EBADMSG it was damaged on disk (the bytes are dropped and
 * fetched again, as if never cached). Cheap once checked. */
int cache_check_kept(struct cache *c, struct cache_entry *e);

/* A snapshot of e's state, taken under the cache lock. */
struct cache_entry_state {
	int complete; /* every byte present */
	int verified; /* its ETag confirmed with S3 (or written) this run */
	int has_etag; /* the object it holds is known (kept from the last run) */
};
void cache_entry_state(struct cache *c, const struct cache_entry *e, struct cache_entry_state *st);

/* Read without the cache lock, for a reader's fast path (e pinned): 1 if
 * every byte of e is in its file (complete, or being written here), as of
 * some moment since the call began; once 1 it stays so while e is pinned
 * and nobody writes or drops it. complete and dirty are stored atomically
 * (under the lock) for this. */
int cache_entry_present(const struct cache_entry *e);
/* e's object size (-1 unknown), read as cache_entry_present reads. */
long long cache_entry_size(const struct cache_entry *e);

/* The writer's side: begin truncates and marks dirty; written records
 * that [0, size) is the file; done marks it clean with its ETag (a
 * record is written) or, with etag NULL, drops it (upload failed). */
int cache_begin_write(struct cache *c, struct cache_entry *e, int keep_data);
void cache_written(struct cache *c, struct cache_entry *e, long long size);
void cache_write_done(struct cache *c, struct cache_entry *e, const char *etag);

/* Evicts clean, unused files, oldest first, until bytes are freed or none
 * is left (the disk is full below max_size). Returns the bytes freed. */
long long cache_evict_bytes(struct cache *c, long long bytes);

/* The writer's entry now holds the object at to (rename(2) of a file being
 * written or not yet uploaded): its file is renamed, and an entry already
 * at to is dropped (its pinners keep their descriptors). The caller pins e
 * and is its only writer; e->name and e->target change, nothing else.
 * 0 or -errno from rename(2). */
int cache_rename(struct cache *c, struct cache_entry *e, const struct target *to);

/* Forgets the object: unlinks its files (the entry goes once unpinned). */
void cache_drop(struct cache *c, struct cache_entry *e);

/* The entry's file path (for the journal). */
int cache_data_path(const struct cache *c, const char *name, char *out, size_t len);
const char *cache_dir(const struct cache *c);

/* sha256(bucket "\n" key) in hex: the file name of an object. */
void cache_name_of(const struct target *t, char out[CACHE_NAME_LEN + 1]);

#endif
