/* handle.c - open handles: what a read of a handle is served from (the
 * cache file, the writer's file of a file being written, the kept bytes
 * of a file whose name went), and the readers a writer takes over when it
 * opens their file (one inode's readers see its writes, as on a local
 * disk). fs->lock guards fs->readers and the nodes; lock order as in
 * fs_internal.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cache.h"
#include "fs_connector.h"
#include "fs_internal.h"
#include "handle.h"
#include "mapping.h"
#include "stats.h"
#include "writer.h"

struct handle *handle_new(struct node *n)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (h)
		h->n = n;
	return h;
}

/* fs->readers: read handles that read the cache entry, fs->lock held. */
void handle_list_reader(struct fs *fs, struct handle *h)
{
	FS_LOCK_HELD(fs);
	h->rprev = NULL;
	h->rnext = fs->readers;
	if (fs->readers)
		fs->readers->rprev = h;
	fs->readers = h;
	h->listed = 1;
}

void handle_unlist_reader(struct fs *fs, struct handle *h)
{
	FS_LOCK_HELD(fs);
	if (!h->listed)
		return;
	if (h->rprev)
		h->rprev->rnext = h->rnext;
	else
		fs->readers = h->rnext;
	if (h->rnext)
		h->rnext->rprev = h->rprev;
	h->rprev = h->rnext = NULL;
	h->listed = 0;
}

/* A writer w came to the file whose cache entry is ce (the name's entry
 * before the writer opened): every handle that was reading that file
 * reads w's file from now on, as one inode's readers see its writes,
 * even once the name goes (renamed over, unlinked) before they read. */
static void pin_readers(struct fs *fs, struct writer *w, const struct cache_entry *ce)
{
	struct handle *h, *next;

	if (!ce)
		return;
	fs_lock(fs);
	for (h = fs->readers; h; h = next) {
		next = h->rnext;
		if (h->ce != ce || writer_pin_held(fs, w) < 0)
			continue;
		handle_unlist_reader(fs, h);
		/* A read of h may have adopted a writer meanwhile (read_source). */
		if (!__atomic_compare_exchange_n(&h->rw, &(struct writer *){ NULL }, w, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			writer_unpin_held(fs, w);
	}
	fs_unlock(fs);
}

/* writer_open, and the readers of the file it had pinned to the writer. */
int handle_open_writer(struct fs *fs, struct node *n, const char *path, int trunc, int is_new,
		       struct writer **w)
{
	struct cache_entry *before = NULL;
	struct target t;

	if (!is_new && map_path(fs->cfg, path, &t) == 0 && cache_get(fs->cache, &t, 0, &before) < 0)
		before = NULL;
	int rc = writer_open(fs, n, path, trunc, is_new, w);
	if (rc == 0)
		pin_readers(fs, *w, before);
	if (before)
		cache_put(fs->cache, before);
	return rc;
}

/* Reads around a cache that cannot hold the bytes (disk full): from
 * memory windows, checked as cached reads are (cache_read_direct). */
int handle_read_uncached(struct fs *fs, struct handle *h, char *buf, size_t size, off_t off)
{
	int rc = cache_read_direct(fs->cache, h->ce, buf, size, off);
	return rc < 0 && rc != -ENOMEM ? -EIO : rc;
}

/* Where a read of [off, off+size) is served from: the cache file (*fd,
 * *size clamped to the file) once its bytes are there; 1 when it must be
 * served from memory instead (statistics files, a full cache disk). */
int handle_read_source(struct fs *fs, struct handle *h, off_t off, size_t *size, int *fd)
{
	struct cache_entry *ce;
	long long fsize;
	int rc;

	if (h->vbuf)
		return 1;
	if (h->w) {
		*fd = writer_fd(h->w);
		return 0;
	}
	if (!h->rw) {
		/* Opened before a writer came: from now on it reads the
		 * writer's file (the same bytes), whatever becomes of the name. */
		fs_lock(fs);
		int writing = h->n->w != NULL && h->n->gen == h->gen;
		fs_unlock(fs);
		struct writer *w = writing ? writer_pin(fs, h->n, h->gen) : NULL;
		if (w && !__atomic_compare_exchange_n(&h->rw, &(struct writer *){ NULL }, w, 0,
						      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			writer_unpin(fs, w); /* another read of this handle was first */
	}
	if (h->rw) {
		/* Opened while being written: the writer's bytes, even after
		 * an unlink or a rename of the name. */
		fsize = writer_size(h->rw);
		if (off >= fsize)
			*size = 0;
		else if ((long long)*size > fsize - off)
			*size = (size_t)(fsize - off);
		*fd = writer_fd(h->rw);
		return 0;
	}
	ce = h->ce;
	fs_lock(fs);
	int same = h->n->gen == h->gen;
	fsize = same && h->n->w ? writer_size(h->n->w) : h->n->size;
	int writing = same && h->n->w != NULL, absent = !same || h->n->type == NODE_ABSENT;
	fs_unlock(fs);
	if (!writing && absent) {
		/* The name went (unlink, rename over it) while the file was
		 * open: its bytes, if they were all here, else ESTALE (never a
		 * short read that looks like the end). */
		long long kept;
		rc = cache_dropped(fs->cache, ce, &kept);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (off >= kept)
				*size = 0;
			else if ((long long)*size > kept - off)
				*size = (size_t)(kept - off);
			*fd = ce->fd;
			return 0;
		}
		/* Renamed: the entry moved with the name; its object's size. */
		long long csize = cache_entry_size(ce);
		if (csize >= 0)
			fsize = csize;
		else if (!same)
			return -ESTALE; /* the name holds another file; ours is unknown */
	}
	if (off >= fsize) {
		*size = 0;
	} else {
		if ((long long)*size > fsize - off)
			*size = (size_t)(fsize - off);
		/* A file kept from the last run is hashed at its first read. */
		if (cache_entry_present(ce) && cache_check_kept(fs->cache, ce) == 0) {
			STAT_ADD(cache_hits, 1);
		} else {
			long long ahead = off == h->next_off ? fs->cfg->read_ahead : 0;
			STAT_ADD(cache_misses, 1);
			rc = cache_fill(fs->cache, ce, off, (long long)*size, ahead);
			if (rc == -ENOSPC || rc == -EDQUOT)
				return 1;
			if (rc < 0)
				return connector_read_errno(fs->cfg, h->n->path, rc);
		}
	}
	h->next_off = off + (off_t)*size;
	*fd = ce->fd;
	return 0;
}
