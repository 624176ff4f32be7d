/* fs_mount.c - the filesystem's assembly, outside FUSE: fs_new builds the
 * layers on the store it is given (the fallback store wrapped round it,
 * the queues, the cache, the journal, the upload scheduler), fs_start
 * starts what works in the background (the reaper, the journal's resumed
 * uploads, housekeeping), fs_free takes it all down in the reverse order.
 * The FUSE layer (fuse_ops.c) calls them from init and destroy; the unit
 * tests call them on an in-memory store. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attrs.h"
#include "cache.h"
#include "dircache.h"
#include "fallback.h"
#include "fs.h"
#include "fs_internal.h"
#include "housekeeping.h"
#include "journal.h"
#include "log.h"
#include "mapping.h"
#include "reaper.h"
#include "s3_client.h"
#include "store.h"
#include "upload.h"
#include "workq.h"
#include "writer.h"

static void replay_one(void *ctx, const struct journal_record *rec)
{
	writer_resume(ctx, rec);
}

static void start_reaper(struct fs *fs)
{
	struct reaper_target t[64];
	size_t n = 0;

	for (size_t i = 0; i < fs->cfg->nbuckets && n < 64; i++) {
		const struct bucket_conf *b = &fs->cfg->buckets[i];
		int dup = 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp(t[j].bucket, b->name) == 0 &&
			      strcmp(t[j].prefix, b->key_prefix) == 0;
		if (!dup)
			t[n++] = (struct reaper_target){ b->client, b->name, b->key_prefix };
	}
	struct reaper_opts o = { .max_age_s = fs->cfg->reaper_max_age_s,
				 .is_active = upload_is_active };
	fs->reaper = reaper_start(t, n, &o, fs->cfg->reaper_interval_s);
	if (!fs->reaper)
		log_error("reaper: cannot start; stale multipart uploads are not cleaned");
}

#define FILE_THREADS_MAX 64 /* files stored at once, whatever upload_threads */

/* The "uploads" threads: files stored at once with upload = async. */
static int fs_file_threads(const struct config *cfg)
{
	int n = cfg->upload_threads * 4;
	return n < FILE_THREADS_MAX ? n : FILE_THREADS_MAX;
}

struct fs *fs_new(struct config *cfg, struct store store, char *err, size_t errlen)
{
	struct fs *fs = calloc(1, sizeof(*fs));

	if (!fs) {
		snprintf(err, errlen, "out of memory at mount");
		return NULL;
	}
	fs->cfg = cfg;
	fs->store = store;
	pthread_mutex_init(&fs->lock, NULL);
	fs->dircache = dircache_new((size_t)cfg->max_nodes, cfg->dir_cache_timeout);
	if (!fs->dircache) {
		snprintf(err, errlen, "out of memory at mount");
		goto fail;
	}
	if (fallback_start(cfg, &fs->store, err, errlen) < 0) /* issue 17 */
		goto fail;
	fs->transfers = workq_new(cfg->upload_threads, "transfers");
	/* A small file is one request that waits on the network, not on a
	 * CPU: async stores four times as many files at once as it sends
	 * parts (16 writers at 10 ms a request: 340 files/s with 8, 450 with
	 * 32); a large file's parts still share the upload_threads transfers. */
	fs->files = workq_new(fs_file_threads(cfg), "uploads");
	if (!fs->transfers || !fs->files) {
		snprintf(err, errlen, "cannot start worker threads");
		goto fail;
	}
	fs->up = (struct upload_ctx){ fs->store, fs->transfers, cfg->part_size };
	fs->cache = cache_open(cfg->cache_dir, cfg->cache_max_size, &fs->store, fs->transfers,
			       cfg->part_size, err, errlen);
	if (!fs->cache || journal_init(cfg->cache_dir, err, errlen) < 0)
		goto fail;
	if (writer_sched_start(fs) < 0) {
		snprintf(err, errlen, "cannot start the upload scheduler thread");
		goto fail;
	}
	fs->mounted_at = time(NULL);
	return fs;
fail:
	workq_free(fs->files);
	workq_free(fs->transfers);
	if (fs->cache)
		cache_close(fs->cache);
	fallback_stop();
	dircache_free(fs->dircache);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return NULL;
}

int fs_start(struct fs *fs, long (*pending)(void))
{
	if (fs->cfg->reaper_enabled)
		start_reaper(fs);
	int n = journal_replay(fs->cfg->cache_dir, replay_one, fs);
	if (n > 0)
		log_info("journal: %d pending upload(s) resumed", n);
	if (pending) {
		fs->hk = housekeeping_start(fs->cfg->path, fs->cache, fs->reaper, pending);
		if (!fs->hk)
			log_warn("cannot start the housekeeping thread: SIGHUP reload is off");
	}
	return n < 0 ? 0 : n;
}

long fs_pending(const struct fs *fs)
{
	return __atomic_load_n(&fs->pending, __ATOMIC_RELAXED);
}

/* Attributes changed after close() and carried by no upload or rename
 * since: one CopyObject of the file onto itself each, at the unmount. */
static void save_unsaved_attrs(struct fs *fs)
{
	size_t n = 0, cap = 0, saved = 0;
	char **paths = NULL;

	fs_lock(fs);
	for (size_t i = 0; i < fs->nbuckets; i++)
		for (struct node *nd = fs->table[i]; nd; nd = nd->hnext) {
			if (nd->type != NODE_FILE || nd->w || !attrs_state_dirty(&nd->attrs))
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				char **np = realloc(paths, nc * sizeof(*np));
				if (!np)
					goto out;
				paths = np;
				cap = nc;
			}
			if (!(paths[n] = strdup(nd->path)))
				goto out;
			n++;
		}
out:
	fs_unlock(fs);
	for (size_t i = 0; i < n; i++) {
		struct target t;
		struct attrs a;
		struct node *nd;
		unsigned gen = 0;
		int rc = map_path(fs->cfg, paths[i], &t);
		fs_lock(fs);
		nd = node_find(fs, paths[i]);
		if (nd && nd->type == NODE_FILE && !nd->w) {
			gen = attrs_state_snapshot(&nd->attrs, nd->mtime, &a);
		} else {
			rc = -ENOENT;
		}
		fs_unlock(fs);
		if (rc == 0)
			rc = fs_copy_with_attrs(fs, &t, &t, &a, 1, NULL, 0);
		if (rc == 0) {
			saved++;
			fs_lock(fs);
			if ((nd = node_find(fs, paths[i])))
				attrs_state_stored(&nd->attrs, gen);
			fs_unlock(fs);
		} else if (rc != -ENOENT) {
			log_warn("unmount: the times/mode set on %s are not stored: %s", paths[i],
				 strerror(-rc));
		}
		free(paths[i]);
	}
	free(paths);
	if (saved)
		log_info("unmount: stored the times/mode of %zu file(s) set after their close",
			 saved);
}

int fs_free(struct fs *fs)
{
	long pending;
	int clean = 0;

	housekeeping_stop(fs->hk);
	/* Delayed uploads (new empty files, retries) go now; background
	 * uploads get until the client's deadline (s3_client_deadline) to
	 * finish; what a dead server keeps from landing stays journaled for
	 * the next start. */
	writer_sched_flush(fs);
	for (int i = 0; !s3_client_past_deadline() && (pending = fs_pending(fs)) > 0; i++) {
		if (i % 10 == 0)
			log_info("unmount: waiting for %ld pending upload(s)", pending);
		usleep(100000);
	}
	if ((pending = fs_pending(fs)) > 0)
		log_warn("unmount: %ld upload(s) still pending stay in the journal", pending);
	else
		clean = 1;
	save_unsaved_attrs(fs);
	/* Uploads still failing stop retrying; one in flight ends its try. */
	__atomic_store_n(&fs->stopping, 1, __ATOMIC_RELAXED);
	if (fs->reaper)
		reaper_stop(fs->reaper);
	workq_free(fs->files); /* the scheduler submits nothing while stopping */
	writer_sched_stop(fs);
	workq_free(fs->transfers);
	fallback_stop(); /* issue 17 */
	/* The queues are drained: writers left are journaled uploads that
	 * the next mount sends. Free them without a request. */
	for (size_t i = 0; i < fs->nbuckets; i++)
		for (struct node *n = fs->table[i]; n; n = n->hnext)
			if (n->w) {
				writer_discard(fs, n->w);
				n->w = NULL;
			}
	for (size_t i = 0; i < fs->nbuckets; i++)
		while (fs->table[i]) {
			struct node *n = fs->table[i];
			fs->table[i] = n->hnext;
			free(n->link);
			free(n->path);
			free(n);
		}
	free(fs->table);
	dircache_free(fs->dircache);
	cache_close(fs->cache);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return clean;
}
