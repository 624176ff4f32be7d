/* writer.c - files being written and their uploads: the states and
 * transitions of writer.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attrs.h"
#include "cache.h"
#include "dircache.h"
#include "fs_connector.h"
#include "fs_internal.h"
#include "journal.h"
#include "log.h"
#include "mapping.h"
#include "stats.h"
#include "upload.h"
#include "writer.h"

#define RETRY_S 5 /* between tries of a failed background upload */

enum delay { DELAY_NOW = 0, DELAY_EMPTY, DELAY_RETRY, DELAYS };

struct writer {
	pthread_mutex_t lock;
	pthread_cond_t settled; /* running went to 0 */
	/* w->lock */
	struct target target;
	struct cache_entry *ce; /* pinned for the writer's life */
	struct upload *up;      /* the current state's upload; NULL: out of memory */
	long long size;         /* also read atomically without the lock */
	long long seq_end;      /* bytes written in order from 0 */
	int dirty;              /* the state is not (known to be) in S3 */
	int running;            /* RUNNING: the cache file is being read for S3 */
	int moving;             /* RUNNING for a rename: nothing is being sent */
	int queued;             /* QUEUED: a job with ticket seq is pending */
	unsigned seq;
	int journaled; /* a journal record of the state exists */
	int error;     /* the last commit's failure, 0 if none */
	int broken;    /* a write failed: the file is never stored */
	int exclusive; /* stores are create-only (nothing of ours stored yet) */
	int stored;    /* an object may be at the key (ours or older) */
	int unlinked;  /* the name was removed: nothing is stored */
	int inq;       /* references from a delayed list or the files queue */
	/* RUNNING: the node's attributes the state being sent carries
	 * (attach_attrs), marked stored on success */
	int attrs_carried;
	unsigned attrs_gen;
	time_t attrs_mtime;
	const struct upload *attrs_up; /* the upload they were last given to */
	/* fs->lock and w->lock to change */
	int handles;       /* writable handles */
	int pins;          /* callers working on it without a handle */
	struct node *node; /* NULL once unlinked */
	/* sched->lock */
	enum delay delayed; /* which delayed list holds it; DELAY_NOW: none */
	struct writer *dprev, *dnext;
	double due;
	unsigned dseq;
};

struct job {
	struct fs *fs;
	struct writer *w;
	unsigned seq;
};

/* Writers waiting for their time; each list is in due order because its
 * delay is one constant. */
struct writer_sched {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int stop;
	struct writer *head[DELAYS], *tail[DELAYS];
	struct fs *fs;
	/* Jobs on fs->files, queued or running: an async close() waits while
	 * there are more than max_queued_uploads, so that the closed files
	 * waiting (a writer, an upload, a cache descriptor each) stay bounded
	 * when writers outrun S3. qlock is a leaf: taken under w->lock and
	 * fs->lock, and nothing is taken under it. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond; /* queued went down */
	long queued;
};

static void job_run(void *arg);

static int is_stopping(const struct fs *fs)
{
	return __atomic_load_n(&fs->stopping, __ATOMIC_RELAXED);
}

static void pending_add(struct fs *fs, int n)
{
	__atomic_add_fetch(&fs->pending, n, __ATOMIC_RELAXED);
	if (n > 0)
		STAT_ADD(uploads_pending, n);
	else
		STAT_SUB(uploads_pending, -n);
}

/* ---- delayed lists (sched->lock) ---- */

static void dlist_unlink(struct writer_sched *s, struct writer *w)
{
	enum delay d = w->delayed;

	if (w->dprev)
		w->dprev->dnext = w->dnext;
	else
		s->head[d] = w->dnext;
	if (w->dnext)
		w->dnext->dprev = w->dprev;
	else
		s->tail[d] = w->dprev;
	w->dprev = w->dnext = NULL;
	w->delayed = DELAY_NOW;
}

static void dlist_append(struct writer_sched *s, struct writer *w, enum delay d, double due)
{
	w->delayed = d;
	w->due = due;
	w->dseq = w->seq;
	w->dnext = NULL;
	w->dprev = s->tail[d];
	if (s->tail[d])
		s->tail[d]->dnext = w;
	else
		s->head[d] = w;
	s->tail[d] = w;
}

static void queued_add(struct writer_sched *s, long n)
{
	pthread_mutex_lock(&s->qlock);
	s->queued += n;
	if (n < 0)
		pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

static int submit(struct fs *fs, struct writer *w, unsigned seq)
{
	struct job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	*j = (struct job){ fs, w, seq };
	queued_add(fs->sched, 1);
	if (workq_submit(fs->files, job_run, j) < 0) {
		queued_add(fs->sched, -1);
		free(j);
		return -ENOMEM;
	}
	return 0;
}

/* Waits while more than max_queued_uploads jobs are queued or running
 * (no lock held). Every job ends, sent or failed for now (a failure
 * waits for its retry on a delayed list, not here), so this ends. */
static void wait_queue_room(struct fs *fs)
{
	struct writer_sched *s = fs->sched;

	if (!s)
		return;
	pthread_mutex_lock(&s->qlock);
	if (s->queued > fs->cfg->max_queued_uploads)
		STAT_ADD(uploads_throttled, 1);
	while (s->queued > fs->cfg->max_queued_uploads)
		pthread_cond_wait(&s->qcond, &s->qlock);
	pthread_cond_signal(&s->qcond); /* room may be left for another */
	pthread_mutex_unlock(&s->qlock);
}

static void *sched_main(void *arg)
{
	struct writer_sched *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		double now = fs_now(), next = now + 3600;
		struct writer *due = NULL;
		for (int d = 1; d < DELAYS; d++) {
			struct writer *w = s->head[d];
			if (w && w->due <= now && !is_stopping(s->fs)) {
				due = w;
				break;
			}
			if (w && w->due < next)
				next = w->due;
		}
		if (due) {
			/* The list's reference (inq) passes to the job. */
			unsigned seq = due->dseq;
			dlist_unlink(s, due);
			pthread_mutex_unlock(&s->lock);
			int rc = submit(s->fs, due, seq);
			pthread_mutex_lock(&s->lock);
			if (rc < 0) /* out of memory: later */
				dlist_append(s, due, DELAY_RETRY, fs_now() + RETRY_S);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		double wait = next - now;
		ts.tv_sec += (time_t)wait;
		ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int writer_sched_start(struct fs *fs)
{
	struct writer_sched *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s)
		return -ENOMEM;
	s->fs = fs;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->qlock);
		pthread_cond_destroy(&s->qcond);
		free(s);
		return -EAGAIN;
	}
	fs->sched = s;
	return 0;
}

void writer_sched_flush(struct fs *fs)
{
	struct writer_sched *s = fs->sched;

	if (!s)
		return;
	/* Everything waiting now is due now; later retries keep their delay. */
	pthread_mutex_lock(&s->lock);
	for (int d = 1; d < DELAYS; d++)
		for (struct writer *w = s->head[d]; w; w = w->dnext)
			w->due = 0;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void writer_sched_stop(struct fs *fs)
{
	struct writer_sched *s = fs->sched;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	/* Left in a list (unmounting): the journal keeps them, and
	 * writer_discard frees the writers. */
	for (int d = 1; d < DELAYS; d++)
		while (s->head[d])
			dlist_unlink(s, s->head[d]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	free(s);
	fs->sched = NULL;
}

/* ---- jobs (w->lock held) ---- */

static void queue_job(struct fs *fs, struct writer *w, enum delay d)
{
	struct writer_sched *s = fs->sched;

	w->queued = 1;
	w->seq++;
	w->inq++;
	pending_add(fs, 1);
	if (d == DELAY_NOW && submit(fs, w, w->seq) == 0)
		return;
	if (d == DELAY_NOW)
		d = DELAY_RETRY; /* out of memory: later */
	pthread_mutex_lock(&s->lock);
	dlist_append(s, w, d, fs_now() + (d == DELAY_EMPTY ? fs->cfg->empty_file_delay : RETRY_S));
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* A queued job will send nothing: the state it was for is superseded (or
 * the caller sends it). Returns the delay it was queued with. */
static enum delay take_back(struct fs *fs, struct writer *w)
{
	struct writer_sched *s = fs->sched;
	enum delay d = DELAY_NOW;

	if (!w->queued)
		return DELAY_NOW;
	w->queued = 0;
	w->seq++;
	pending_add(fs, -1);
	pthread_mutex_lock(&s->lock);
	if (w->delayed != DELAY_NOW) {
		d = w->delayed;
		dlist_unlink(s, w);
		w->inq--;
	}
	pthread_mutex_unlock(&s->lock);
	return d;
}

/* Nothing reads the cache file for S3 and no job is queued when this
 * returns. Returns the delay of the job taken back. */
static enum delay settle(struct fs *fs, struct writer *w)
{
	while (w->running)
		pthread_cond_wait(&w->settled, &w->lock);
	return take_back(fs, w);
}

/* Before the file changes: the state being replaced is never sent. */
static int modify_begin(struct fs *fs, struct writer *w)
{
	settle(fs, w);
	if (w->journaled) {
		journal_remove(cache_dir(fs->cache), w->ce->name);
		w->journaled = 0;
	}
	if (!w->dirty && !w->unlinked) {
		/* The cache's record of the stored object no longer holds. */
		int rc = cache_begin_write(fs->cache, w->ce, 1);
		if (rc < 0)
			return rc;
	}
	if (!w->up)
		return -ENOMEM;
	return 0;
}

/* ---- writers ---- */

static struct writer *writer_new(struct fs *fs, struct node *n, const struct target *t,
				 int keep_data, int *err)
{
	struct writer *w = calloc(1, sizeof(*w));
	int rc;

	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	w->target = *t;
	rc = cache_get(fs->cache, t, 1, &w->ce);
	if (rc == 0)
		rc = cache_begin_write(fs->cache, w->ce, keep_data);
	if (rc == 0 && !(w->up = upload_new(&fs->up, t, w->ce->fd)))
		rc = -ENOMEM;
	if (rc < 0) {
		if (w->ce)
			cache_put(fs->cache, w->ce);
		free(w);
		*err = rc;
		return NULL;
	}
	w->size = keep_data ? cache_entry_size(w->ce) : 0;
	w->dirty = !keep_data;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->settled, NULL);
	w->node = n;
	n->refs++; /* the caller holds fs->lock or n is not yet shared */
	return w;
}

static void writer_destroy(struct fs *fs, struct writer *w)
{
	upload_free(w->up);
	cache_put(fs->cache, w->ce);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->settled);
	free(w);
}

/* fs->lock and w->lock held; releases w->lock, and frees w when nothing
 * holds it any more. A state still uncommitted then was never
 * acknowledged (its close failed): its data goes. */
static void unref_locked(struct fs *fs, struct writer *w)
{
	FS_LOCK_HELD(fs);
	/* A journaled state left without a job (unmounting) stays for the
	 * next mount: writer_discard frees it. */
	if (w->handles || w->pins || w->inq || w->running || w->queued || w->journaled) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	struct node *n = w->node;
	int failed = w->dirty && !w->unlinked, taken = w->error == -EEXIST;
	if (failed)
		cache_write_done(fs->cache, w->ce, NULL);
	if (n) {
		if (n->w == w) {
			n->w = NULL;
			/* a listing taken while it was being stored may lack it */
			dircache_changed(fs->dircache, n->path);
		}
		if (failed && taken)
			node_forget(fs, n->path);
		else if (failed && !w->stored) {
			node_set_absent(fs, n->path);
			n->gone_by_failed_close = n->type == NODE_ABSENT;
		} else if (failed)
			node_forget(fs, n->path);
		node_unref(fs, n);
	}
	pthread_mutex_unlock(&w->lock);
	writer_destroy(fs, w);
}

/* The writer of n, pinned, or NULL. */
static struct writer *pin_writer(struct fs *fs, struct node *n)
{
	struct writer *w;

	fs_lock(fs);
	w = n->w;
	if (w) {
		pthread_mutex_lock(&w->lock);
		int gone = w->unlinked;
		if (!gone)
			w->pins++;
		pthread_mutex_unlock(&w->lock);
		if (gone)
			w = NULL;
	}
	fs_unlock(fs);
	return w;
}

struct node *writer_node(const struct writer *w)
{
	return w->node;
}

struct writer *writer_pin(struct fs *fs, struct node *n, unsigned gen)
{
	fs_lock(fs);
	int same = n->gen == gen;
	fs_unlock(fs);
	/* n->gen only grows under fs->lock; a change between the two locks
	 * leaves a pin on the writer the handle's file had: still its file. */
	return same ? pin_writer(fs, n) : NULL;
}

int writer_pin_held(struct fs *fs, struct writer *w)
{
	FS_LOCK_HELD(fs);
	pthread_mutex_lock(&w->lock);
	int gone = w->unlinked;
	if (!gone)
		w->pins++;
	pthread_mutex_unlock(&w->lock);
	return gone ? -ENOENT : 0;
}

void writer_unpin_held(struct fs *fs, struct writer *w)
{
	FS_LOCK_HELD(fs);
	pthread_mutex_lock(&w->lock);
	w->pins--;
	unref_locked(fs, w);
}

void writer_unpin(struct fs *fs, struct writer *w)
{
	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	w->pins--;
	unref_locked(fs, w);
	fs_unlock(fs);
}

long long writer_size(const struct writer *w)
{
	return __atomic_load_n(&w->size, __ATOMIC_RELAXED);
}

int writer_fd(const struct writer *w)
{
	return w->ce->fd;
}

int writer_live(const struct writer *w)
{
	return w && !w->unlinked;
}

/* ---- sending a state ---- */

/* A request that failed may still have stored the object (a PUT that timed
 * out after the server kept it, a completion answered wrongly): when the
 * object at the key is this state (same digest), it goes, so a failed
 * close() leaves nothing of ours behind. Never another host's object. */
static void remove_if_ours(struct fs *fs, struct writer *w, long long size, int rc)
{
	struct s3_obj_info info;
	char digest[48];

	if (rc == -EEXIST || rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG || rc == -ENOMEM ||
	    rc == -EACCES || rc == -EINVAL || rc == -ECANCELED)
		return;
	if (upload_digest(w->up, size, digest, sizeof(digest)) < 0 &&
	    journal_file_digest(w->ce->fd, size, fs->cfg->part_size, digest, sizeof(digest)) < 0)
		return;
	if (fs->store.ops->head(fs->store.ctx, &w->target, &info) < 0)
		return;
	if (strcmp(info.etag, digest) != 0 || info.size != size)
		return;
	if (fs->store.ops->remove(fs->store.ctx, &w->target) == 0)
		log_warn("upload of bucket=%s key=%s failed but the object was stored: removed it",
			 w->target.bucket->name, w->target.key);
}

/* The node's attributes (attrs.h) go with the state about to be sent:
 * the times and mode set here, or the close time and 0644. fs->lock
 * held, w->running set (nothing else touches w->up). A multipart upload
 * already created keeps what it was created with; the attributes then
 * stay dirty and are stored by a copy at the unmount. */
static void attach_attrs(struct fs *fs, struct writer *w, time_t now)
{
	struct node *n = w->node;
	struct attrs a;
	struct attrs_meta am;

	if (!n || !w->up) {
		w->attrs_carried = 0;
		return;
	}
	struct attrs_state st = n->attrs;
	unsigned gen = attrs_state_snapshot(&st, now, &a);
	size_t nm = attrs_to_meta(&a, &am);
	int rc = upload_set_meta(w->up, am.pairs, nm);
	if (rc == 0) {
		w->attrs_carried = 1;
		w->attrs_gen = gen;
		w->attrs_mtime = now;
		w->attrs_up = w->up;
	} else if (rc != -EBUSY) {
		w->attrs_carried = 0;
	}
	/* -EBUSY: the multipart upload carries what attach_attrs gave it
	 * before it was created (writer_write); a change since is dirty. */
}

/* Sends the state; w->running is set, no lock held. */
static int send_state(struct fs *fs, struct writer *w, long long size, char *etag, size_t len,
		      int cleanup)
{
	int rc = upload_finish(w->up, size, etag, len);

	if (rc < 0 && cleanup)
		remove_if_ours(fs, w, size, rc);
	return rc;
}

/* After send_state; fs->lock and w->lock held. */
static void sent(struct fs *fs, struct writer *w, int rc, const char *etag)
{
	w->running = 0;
	pthread_cond_broadcast(&w->settled);
	upload_free(w->up);
	w->up = upload_new(&fs->up, &w->target, w->ce->fd);
	w->attrs_up = NULL; /* a new upload: no metadata given yet */
	if (w->up && w->exclusive && rc < 0)
		upload_set_exclusive(w->up);
	if (rc < 0) {
		w->error = rc;
		w->seq_end = 0; /* the next try sends every part */
		STAT_ADD(uploads_failed, 1);
		log_error("upload failed bucket=%s key=%s size=%lld: %s", w->target.bucket->name,
			  w->target.key, w->size, strerror(-rc));
		return;
	}
	cache_write_done(fs->cache, w->ce, etag);
	w->dirty = 0;
	w->error = 0;
	w->stored = 1;
	w->exclusive = 0;
	if (w->journaled) {
		journal_remove(cache_dir(fs->cache), w->ce->name);
		w->journaled = 0;
	}
	struct node *n = w->node;
	if (n) {
		n->size = w->size;
		n->mtime = w->attrs_mtime ? w->attrs_mtime : time(NULL);
		if (w->attrs_carried)
			attrs_state_stored(&n->attrs, w->attrs_gen);
		snprintf(n->etag, sizeof(n->etag), "%s", etag);
		if (w->target.bucket->storage_class)
			snprintf(n->storage_class, sizeof(n->storage_class), "%s",
				 w->target.bucket->storage_class);
	}
	STAT_ADD(uploads_done, 1);
	log_debug("uploaded bucket=%s key=%s size=%lld etag=%s", w->target.bucket->name,
		  w->target.key, w->size, etag);
}

/* Sends the state in the caller's thread (sync close, fsync). w->lock
 * held on entry and on return; the caller holds a handle or a pin. */
static int commit_now(struct fs *fs, struct writer *w)
{
	char etag[S3_ETAG_MAX] = "";
	long long size = w->size;
	int rc;

	w->running = 1;
	pthread_mutex_unlock(&w->lock);
	fs_lock(fs);
	attach_attrs(fs, w, time(NULL));
	fs_unlock(fs);
	STAT_ADD(uploads_pending, 1);
	rc = send_state(fs, w, size, etag, sizeof(etag), 1);
	STAT_SUB(uploads_pending, 1);
	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	sent(fs, w, rc, etag);
	fs_unlock(fs);
	return rc;
}

/* A background upload: a journaled async close, a delayed empty file, a
 * retry. Sends nothing when its ticket was taken back (superseded). */
static void job_run(void *arg)
{
	struct job *j = arg;
	struct fs *fs = j->fs;
	struct writer *w = j->w;
	unsigned seq = j->seq;
	char etag[S3_ETAG_MAX] = "";
	long long size;
	int rc;

	free(j);
	pthread_mutex_lock(&w->lock);
	if (!w->queued || w->seq != seq || w->running || is_stopping(fs)) {
		pthread_mutex_unlock(&w->lock);
		fs_lock(fs);
		pthread_mutex_lock(&w->lock);
		w->inq--;
		unref_locked(fs, w);
		fs_unlock(fs);
		queued_add(fs->sched, -1);
		return;
	}
	w->queued = 0;
	w->running = 1;
	size = w->size;
	pthread_mutex_unlock(&w->lock);
	fs_lock(fs);
	attach_attrs(fs, w, time(NULL));
	fs_unlock(fs);

	rc = send_state(fs, w, size, etag, sizeof(etag), 0);

	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	sent(fs, w, rc, etag);
	if (rc == -EEXIST) {
		/* Another host created the file first: theirs stays. */
		log_error("upload of %s refused: another client created bucket=%s key=%s first; "
			  "this host's data is not stored (record kept as journal/%s.damaged)",
			  w->node ? w->node->path : w->target.key, w->target.bucket->name,
			  w->target.key, w->ce->name);
		if (w->journaled)
			journal_quarantine(cache_dir(fs->cache), w->ce->name);
		w->journaled = 0;
	} else if (rc < 0 && !is_stopping(fs)) {
		log_warn("upload of %s will be retried in %d s: %s", w->target.key, RETRY_S,
			 strerror(-rc));
		queue_job(fs, w, DELAY_RETRY);
	} else if (rc < 0) {
		log_warn("unmount: upload of %s stays in the journal for the next mount",
			 w->target.key);
	}
	/* After the retry is queued: fs_pending, read without a lock, never
	 * passes through 0 while this file still waits (the unmount would
	 * call it clean). */
	pending_add(fs, -1);
	w->inq--;
	unref_locked(fs, w);
	fs_unlock(fs);
	queued_add(fs->sched, -1);
}

/* ---- the operations ---- */

/* A new handle on w; called with fs->lock held, which it releases. */
/* One more handle on w, the writer of the file being opened; fs->lock
 * held (so w cannot go meanwhile). */
static struct writer *join_locked(struct fs *fs, struct writer *w)
{
	FS_LOCK_HELD(fs);
	pthread_mutex_lock(&w->lock);
	w->handles++;
	pthread_mutex_unlock(&w->lock);
	return w;
}

/* The open that joined w goes on with no lock held: O_TRUNC truncates. */
static int joined(struct fs *fs, struct writer *w, int trunc, struct writer **out)
{
	int rc = trunc ? writer_truncate(fs, w, 0) : 0;
	if (rc < 0) {
		writer_release(fs, w);
		return rc;
	}
	*out = w;
	return 0;
}

/* A new writer for n, fs->lock held: *w, or NULL with the errno in *rc. */
static struct writer *start_locked(struct fs *fs, struct node *n, const struct target *t,
				   int keep_data, int exclusive, int *rc)
{
	struct writer *w = writer_new(fs, n, t, keep_data, rc);

	FS_LOCK_HELD(fs);
	if (!w)
		return NULL;
	w->handles = 1;
	w->exclusive = exclusive;
	w->stored = !exclusive;
	if (exclusive)
		upload_set_exclusive(w->up);
	n->w = w;
	node_mark_local(fs, n);
	n->type = NODE_FILE;
	n->mtime = time(NULL);
	return w;
}

int writer_open(struct fs *fs, struct node *n, const char *path, int trunc, int exclusive,
		struct writer **out)
{
	struct target t;
	struct writer *w = NULL, *other;
	char etag[S3_ETAG_MAX];
	long long size;
	time_t mtime;
	int rc = map_path(fs->cfg, path, &t), keep = !trunc, exists;

	if (rc < 0)
		return rc;
	fs_lock(fs);
	other = n->w ? join_locked(fs, n->w) : NULL;
	size = n->size;
	mtime = n->mtime;
	exists = n->type == NODE_FILE && !exclusive;
	snprintf(etag, sizeof(etag), "%s", n->etag);
	fs_unlock(fs);
	if (other)
		return joined(fs, other, trunc, out);
	if (keep && exists && size > 0) {
		/* Modifying an existing object: have all of it first. */
		struct cache_entry *ce;
		rc = cache_get(fs->cache, &t, 1, &ce);
		if (rc < 0)
			return rc;
		cache_set_object(fs->cache, ce, size, etag, mtime);
		rc = cache_fill(fs->cache, ce, 0, size, 0);
		cache_put(fs->cache, ce);
		if (rc < 0)
			return rc == -ENOSPC ? rc : -EIO;
	}
	fs_lock(fs);
	if (n->w) /* another opener was faster */
		other = join_locked(fs, n->w);
	else
		w = start_locked(fs, n, &t, keep && exists, exclusive, &rc);
	fs_unlock(fs);
	if (other)
		return joined(fs, other, trunc, out);
	if (!w)
		return rc;
	*out = w;
	return 0;
}

void writer_release(struct fs *fs, struct writer *w)
{
	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	w->handles--;
	unref_locked(fs, w);
	fs_unlock(fs);
}

/* write_ahead in parts: how many may wait or be in flight per file. */
static int write_ahead_parts(const struct config *cfg)
{
	if (cfg->write_ahead <= 0)
		return 0;
	long long parts = (cfg->write_ahead + cfg->part_size - 1) / cfg->part_size;
	return parts > INT_MAX ? INT_MAX : (int)parts;
}

/* The bytes into the cache file, with w->lock held: size, or the errno
 * (a failed write breaks the file: *failed says so, for the log). */
static int write_locked(struct fs *fs, struct writer *w, const char *buf, size_t size, off_t off,
			int *failed)
{
	size_t done = 0;
	int made_room = 0;

	while (done < size) {
		ssize_t n = pwrite(w->ce->fd, buf + done, size - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == ENOSPC || errno == EDQUOT) && !made_room) {
			/* The cache disk is full: clean files make room. */
			made_room = 1;
			if (cache_evict_bytes(fs->cache, (long long)(size - done) + (64LL << 20)) >
			    0)
				continue;
		}
		if (n <= 0) {
			/* A file with a hole where a write failed must never be
			 * stored as if whole: close() reports this error. */
			w->broken = 1;
			w->error = n < 0 ? -errno : -EIO;
			w->dirty = 1;
			*failed = 1;
			return w->error;
		}
		done += (size_t)n;
	}
	long long end = (long long)off + (long long)size;
	upload_hash(w->up, buf, size, off);
	if (off < w->seq_end)
		upload_invalidate(w->up, off, (end < w->seq_end ? end : w->seq_end) - off);
	if (off <= w->seq_end && end > w->seq_end && !w->unlinked) {
		w->seq_end = end;
		upload_progress(w->up, w->seq_end);
		upload_throttle(w->up, write_ahead_parts(fs->cfg));
	}
	if (end > w->size) {
		__atomic_store_n(&w->size, end, __ATOMIC_RELAXED);
		if (!w->unlinked)
			cache_written(fs->cache, w->ce, end);
	}
	w->dirty = 1;
	return (int)size;
}

int writer_write(struct fs *fs, struct writer *w, const char *buf, size_t size, off_t off)
{
	int rc, failed = 0;

	if ((long long)off + (long long)size > fs->cfg->part_size * UPLOAD_MAX_PARTS)
		return -EFBIG;
	pthread_mutex_lock(&w->lock);
	if ((long long)off + (long long)size > fs->cfg->part_size && w->up && !w->running &&
	    w->attrs_up != w->up && !upload_mpu_created(w->up)) {
		/* A multipart upload may start with this write: it takes the
		 * attributes now (its metadata cannot change later). The lock
		 * order is fs->lock, then w->lock. */
		pthread_mutex_unlock(&w->lock);
		fs_lock(fs);
		pthread_mutex_lock(&w->lock);
		if (w->up && !w->running && !upload_mpu_created(w->up))
			attach_attrs(fs, w, time(NULL));
		fs_unlock(fs);
	}
	rc = w->broken ? w->error : modify_begin(fs, w);
	if (rc >= 0)
		rc = write_locked(fs, w, buf, size, off, &failed);
	pthread_mutex_unlock(&w->lock);
	if (failed)
		log_error("write to the cache failed for %s: %s; the file will not be stored",
			  w->target.key, strerror(-rc));
	return rc;
}

int writer_truncate(struct fs *fs, struct writer *w, off_t size)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	rc = modify_begin(fs, w);
	if (rc == 0 && ftruncate(w->ce->fd, size) < 0)
		rc = -errno;
	if (rc == 0) {
		long long lo = size < w->size ? size : w->size;
		upload_invalidate(w->up, lo, (w->size > size ? w->size : size) - lo);
		if (w->seq_end > size)
			w->seq_end = size;
		__atomic_store_n(&w->size, (long long)size, __ATOMIC_RELAXED);
		w->dirty = 1;
		if (!w->unlinked)
			cache_written(fs->cache, w->ce, size);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static int close_errno(int rc)
{
	/* What close(2) may say: keep the meaningful ones, EIO otherwise. */
	switch (-rc) {
	case 0:
		return 0;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
	case ENOMEM:
	case EEXIST: /* a create found another client's object: not overwritten */
		return rc;
	default:
		return -EIO;
	}
}

/* writer_flush with w->lock held. */
static int flush_locked(struct fs *fs, struct writer *w)
{
	int rc;

	while (w->moving)
		pthread_cond_wait(&w->settled, &w->lock);
	if (w->unlinked || !w->dirty || w->queued || w->running)
		return 0; /* nothing new since the last commit, or already on its way */
	if (w->broken || !w->up)
		return close_errno(w->broken ? w->error : -ENOMEM);
	int async = fs->cfg->upload == UPLOAD_ASYNC;
	int park = w->size == 0 && w->exclusive && fs->cfg->empty_file_delay > 0;
	if (async) {
		/* The digest taken as the file was written, if it was in order. */
		char digest[48];
		struct s3_checksum ck;
		int have = upload_digest(w->up, w->size, digest, sizeof(digest)) == 0;
		int have_ck = upload_checksum(w->up, w->size, &ck) == 0;
		rc = journal_add_ck(cache_dir(fs->cache), w->ce->name, w->target.path, w->ce->fd,
				    w->size, have ? digest : NULL, fs->cfg->part_size,
				    have_ck ? &ck : NULL, fs->cfg->journal_fsync);
		if (rc == 0) {
			w->journaled = 1;
			queue_job(fs, w, park ? DELAY_EMPTY : DELAY_NOW);
			return 0;
		}
		log_error("journal: cannot record %s (%s): uploading now instead", w->target.path,
			  strerror(-rc));
	} else if (park) {
		/* A new empty file: stored after empty_file_delay, unless it is
		 * reopened for writing first (then only its content is sent). */
		queue_job(fs, w, DELAY_EMPTY);
		return 0;
	}
	return close_errno(commit_now(fs, w));
}

int writer_flush(struct fs *fs, struct writer *w)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	rc = flush_locked(fs, w);
	pthread_mutex_unlock(&w->lock);
	if (rc == 0 && fs->cfg->upload == UPLOAD_ASYNC)
		wait_queue_room(fs);
	return rc;
}

int writer_fsync(struct fs *fs, struct writer *w)
{
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	settle(fs, w);
	if (w->unlinked)
		rc = 0;
	else if (w->broken)
		rc = w->error;
	else if (!w->up)
		rc = -ENOMEM;
	else if (w->dirty)
		rc = commit_now(fs, w);
	pthread_mutex_unlock(&w->lock);
	return close_errno(rc);
}

static int unlink_writer(struct fs *fs, struct node *n, int retire_object);

int writer_unlink(struct fs *fs, struct node *n)
{
	return unlink_writer(fs, n, 1);
}

int writer_displace(struct fs *fs, struct node *n)
{
	return unlink_writer(fs, n, 0);
}

/* The name of n's writer goes; its handles keep the file. retire_object:
 * the object a stored state left at the key goes too (unlink), else it
 * stays for the caller to replace (rename onto the name). */
static int unlink_writer(struct fs *fs, struct node *n, int retire_object)
{
	struct writer *w = pin_writer(fs, n);
	struct target t;
	int stored, rc = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	settle(fs, w);
	if (w->journaled) {
		journal_remove(cache_dir(fs->cache), w->ce->name);
		w->journaled = 0;
	}
	w->unlinked = 1;
	stored = w->stored;
	t = w->target;
	/* Parts streamed for this state: their multipart upload goes. */
	upload_free(w->up);
	w->up = upload_new(&fs->up, &w->target, w->ce->fd);
	w->attrs_up = NULL; /* a new upload: no metadata given yet */
	pthread_mutex_unlock(&w->lock);
	if (stored && retire_object)
		rc = fs->store.ops->retire(fs->store.ctx, &t);
	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	if (w->node) {
		if (w->node->w == w)
			w->node->w = NULL;
		node_set_absent(fs, w->node->path);
		node_unref(fs, w->node);
		w->node = NULL;
	}
	w->dirty = 0;
	cache_drop(fs->cache, w->ce);
	w->pins--;
	unref_locked(fs, w);
	fs_unlock(fs);
	if (rc < 0)
		return rc == -EACCES ? rc : -EIO;
	return 1;
}

int writer_rename(struct fs *fs, struct node *from, const char *to, const struct target *tt,
		  int dst_exists)
{
	struct writer *w;
	struct node *dst;
	struct target tf;
	enum delay was;
	int dirty, stored, rc = 0;

	fs_lock(fs);
	dst = node_find(fs, to);
	int dst_busy = dst && writer_live(dst->w) && dst->w != from->w;
	fs_unlock(fs);
	if (dst_busy)
		return -EBUSY;
	w = pin_writer(fs, from);
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	int was_queued = w->queued;
	was = settle(fs, w);
	w->running = w->moving = 1; /* nobody modifies or sends it while it moves */
	dirty = w->dirty;
	stored = w->stored;
	tf = w->target;
	pthread_mutex_unlock(&w->lock);

	/* A stored state is copied on the server; an uncommitted one moves
	 * with the cache file, and the old key's object (if any) goes. */
	char etag[S3_ETAG_MAX];
	struct attrs a;
	struct attrs_meta am;
	size_t nm = 0;
	unsigned gen = 0;
	fs_lock(fs);
	if (from->type == NODE_FILE &&
	    (attrs_state_dirty(&from->attrs) || tt->bucket->key_layout == KEY_LAYOUT_FLAT)) {
		gen = attrs_state_snapshot(&from->attrs, from->mtime, &a);
		nm = attrs_to_meta(&a, &am);
	}
	fs_unlock(fs);
	/* Attributes changed since the upload (rsync's utimens after close)
	 * replace the metadata in the copy. */
	/* A retained or held object cannot leave its key: refuse first. */
	if (stored)
		rc = connector_may_delete(fs->cfg, &tf);
	if (rc == 0 && !dirty && stored)
		rc = nm && fs->store.ops->copy_meta
			     ? fs->store.ops->copy_meta(fs->store.ctx, &tf, tt, am.pairs, nm, etag,
							sizeof(etag))
			     : fs->store.ops->copy(fs->store.ctx, &tf, tt, etag, sizeof(etag));
	if (rc == 0 && stored)
		rc = fs->store.ops->remove(fs->store.ctx, &tf);
	struct upload *up = NULL;
	if (rc == 0) {
		upload_free(w->up); /* aborts parts streamed to the old key */
		w->up = NULL;
		up = upload_new(&fs->up, tt, w->ce->fd);
	}

	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	if (rc == 0) {
		w->up = up;
		w->attrs_up = NULL; /* a new upload: no metadata given yet */
		int cr = cache_rename(fs->cache, w->ce, tt);
		if (cr < 0)
			log_warn("cache: cannot rename the file of %s: %s", to, strerror(-cr));
		w->target = *tt;
		w->exclusive = 0;
		w->stored = (!dirty && stored) || dst_exists;
		struct node *n = w->node, *nd = node_add(fs, to);
		if (nd) {
			if (n) {
				if (n != nd) { /* the attributes move with the name */
					nd->attrs = n->attrs;
					nd->attrs_from_list = 0;
				}
				if (nm && !dirty && stored)
					attrs_state_stored(&nd->attrs, gen);
				if (n->w == w)
					n->w = NULL;
				node_set_absent(fs, n->path);
				node_unref(fs, n);
			}
			dircache_changed(fs->dircache, to);
			nd->refs++;
			if (nd != n)
				nd->gen++; /* the name now holds another file */
			nd->w = w;
			node_mark_local(fs, nd);
			nd->type = NODE_FILE;
			nd->local_dir = 0;
			nd->size = w->size;
			if (!dirty)
				snprintf(nd->etag, sizeof(nd->etag), "%s", etag);
			w->node = nd;
			node_mark_parents(fs, to);
		} else {
			rc = -ENOMEM;
		}
	} else {
		w->up = w->up ? w->up : up;
	}
	w->running = w->moving = 0;
	pthread_cond_broadcast(&w->settled);
	if (rc == 0 && w->journaled) {
		int jr = journal_add(cache_dir(fs->cache), w->ce->name, w->target.path, w->ce->fd,
				     w->size, NULL, fs->cfg->part_size, fs->cfg->journal_fsync);
		if (jr < 0)
			log_error("journal: cannot record %s after rename (%s)", to, strerror(-jr));
	}
	if (was_queued)
		queue_job(fs, w, was == DELAY_EMPTY ? DELAY_EMPTY : DELAY_NOW);
	w->pins--;
	unref_locked(fs, w);
	fs_unlock(fs);
	if (rc < 0)
		return rc == -EACCES || rc == -ENOMEM || rc == -EPERM ? rc : -EIO;
	return 1;
}

void writer_resume(struct fs *fs, const struct journal_record *rec)
{
	const char *name = rec->name, *path = rec->path;
	struct target t;
	struct node *n;
	struct writer *w = NULL;
	int rc = map_path(fs->cfg, path, &t);
	char expect[CACHE_NAME_LEN + 1];

	if (rc == 0) {
		cache_name_of(&t, expect);
		if (strcmp(expect, name) != 0)
			rc = -ESTALE; /* the mapping changed since */
	}
	if (rc < 0) {
		log_error("journal: cannot resume upload of %s (%s); record %s/journal/%s kept",
			  path, strerror(-rc), cache_dir(fs->cache), name);
		return;
	}
	fs_lock(fs);
	n = node_add(fs, path);
	if (n) {
		n->type = NODE_FILE;
		node_mark_parents(fs, path);
		w = writer_new(fs, n, &t, 1, &rc);
	}
	fs_unlock(fs);
	if (!n)
		return;
	if (!w) {
		log_error("journal: cannot resume upload of %s: %s", path, strerror(-rc));
		return;
	}
	/* The cache file must still be what close() acknowledged. */
	int jc = rec->size < 0          ? 0
		 : w->size != rec->size ? -EBADMSG
					: journal_file_check(w->ce->fd, rec);
	if (jc < 0) {
		log_error("journal: the cached data of %s is %s (%lld bytes, recorded %lld, "
			  "recorded digest %s%s%s): not uploaded; record kept as %s/journal/%s.damaged",
			  path, jc == -EBADMSG ? "damaged" : "unreadable", w->size, rec->size,
			  rec->md5[0] ? rec->md5 : "-", rec->checksum[0] ? ", checksum " : "",
			  rec->checksum, cache_dir(fs->cache), name);
		journal_quarantine(cache_dir(fs->cache), name);
		cache_write_done(fs->cache, w->ce, NULL);
		fs_lock(fs);
		node_unref(fs, n);
		node_set_absent(fs, path);
		fs_unlock(fs);
		writer_destroy(fs, w);
		return;
	}
	fs_lock(fs);
	pthread_mutex_lock(&w->lock);
	w->dirty = 1;
	w->journaled = 1;
	w->stored = 1; /* an earlier try may have stored it */
	n->w = w;
	node_mark_local(fs, n);
	n->size = w->size;
	n->mtime = time(NULL);
	log_info("journal: resuming upload of %s (%lld bytes)", path, w->size);
	queue_job(fs, w, DELAY_NOW);
	pthread_mutex_unlock(&w->lock);
	fs_unlock(fs);
}

void writer_discard(struct fs *fs, struct writer *w)
{
	upload_discard(w->up);
	w->up = NULL;
	cache_put(fs->cache, w->ce);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->settled);
	free(w);
}
