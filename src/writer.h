/* writer.h - a file open for writing, or closed and not yet durable in S3:
 * its cache file, its upload, and the rules that decide what is uploaded
 * when.
 *
 * One writer per path at a time (node->w). Any number of writable handles
 * share it; its cache file is the file's only copy until S3 has it.
 *
 * States (a writer is in one; "job" is a background upload):
 *
 *   OPEN      writable handles exist, no job queued or running. Writes go
 *             to the cache file; full parts of a sequential write are sent
 *             while writing continues (the current state's upload).
 *   QUEUED    the current state is committed but not sent: a job waits in
 *             the files queue (upload = async: at once), or in a delayed
 *             list (a new empty file: empty_file_delay; a failed background
 *             upload: RETRY_S). upload = async journals the state first.
 *   RUNNING   the state is being sent (a job, a sync close, an fsync, or a
 *             rename's copy). The cache file is not modified meanwhile:
 *             whoever wants to modify it waits for RUNNING to end (bounded
 *             by the client's retry bounds).
 *   CLEAN     S3 holds the current state (or the name was unlinked: nothing
 *             is stored). Freed once no handle, job or caller holds it.
 *
 * Transitions:
 *   write / truncate / open with O_TRUNC (a modification): waits while
 *     RUNNING; takes back a QUEUED job (it will send nothing: superseded);
 *     drops the journal record of the superseded state -> OPEN.
 *   close (FLUSH) of a writable handle, state modified since the last
 *     commit: a new empty file made here -> QUEUED (delayed; journaled in
 *     async); async -> journal, QUEUED; sync -> RUNNING in the caller, whose
 *     close() returns the result (0 -> CLEAN; -errno -> OPEN, the state
 *     stays uncommitted, and if a request may have stored it, the object is
 *     removed when it is ours). An unmodified state is not sent again.
 *   job ends: 0 -> CLEAN; a failure -> QUEUED again (RETRY_S), but EEXIST
 *     (a create-only PUT met another host's object: never overwritten; the
 *     record is set aside) -> CLEAN with nothing stored.
 *   fsync: waits while RUNNING, takes back a QUEUED job, sends the state in
 *     the caller (both modes) -> CLEAN or an error.
 *   unlink: waits while RUNNING, takes back a QUEUED job; the name is gone
 *     at once, the handles keep reading and writing an anonymous cache file,
 *     nothing is ever stored for it; an object of ours (or one that was
 *     there) at the key is deleted.
 *   rename: waits while RUNNING, holds RUNNING while it works: a CLEAN
 *     state is copied server-side to the new key and the old key deleted;
 *     an uncommitted one only moves (the old key's object, if any, is
 *     deleted) and is stored under the new name at its commit (a QUEUED job
 *     is queued again for the new name, its journal record rewritten).
 *   the last handle gone with the state uncommitted (its close failed):
 *     the cache data is dropped, nothing was acknowledged.
 *
 * Lock order: fs->lock, then w->lock (fs_internal.h). handles and pins
 * change under both; the rest of the writer under w->lock. No request is
 * sent with fs->lock held; w->lock is held across a request only by
 * unlink and rename's upload abort (rare). */
#ifndef S3CSFS_WRITER_H
#define S3CSFS_WRITER_H

#include <sys/types.h>

#include "fs_internal.h"
#include "journal.h"

struct writer;

/* The delayed-upload scheduler (one thread). 0 or -errno. */
int writer_sched_start(struct fs *fs);
/* Sends every delayed job now (unmount). */
void writer_sched_flush(struct fs *fs);
void writer_sched_stop(struct fs *fs);

/* Opens n (path) for writing, joining its writer or making one. trunc:
 * O_TRUNC. exclusive: the object is new (O_CREAT where nothing was): its
 * store is create-only until something of ours is stored. Takes a handle.
 * 0, -ENOMEM, -ENOSPC, -EIO (fetching an existing object failed), or the
 * mapping's errno. */
int writer_open(struct fs *fs, struct node *n, const char *path, int trunc, int exclusive,
		struct writer **out);
/* A writable handle is gone (RELEASE). */
void writer_release(struct fs *fs, struct writer *w);

/* size bytes or -errno (-EFBIG past the upload's part limit, -ENOSPC, the
 * error of an earlier failed write: the file will not be stored). */
int writer_write(struct fs *fs, struct writer *w, const char *buf, size_t size, off_t off);
int writer_truncate(struct fs *fs, struct writer *w, off_t size);
/* close(2) of a writable handle: 0 or what close() reports (-EIO, -EEXIST,
 * -ENOSPC, -EDQUOT, -EFBIG, -ENOMEM). With upload = async it returns once
 * the state is journaled and no more than max_queued_uploads files wait to
 * be stored (it waits for room, never holding a lock). */
int writer_flush(struct fs *fs, struct writer *w);
/* fsync(2): the state durable in S3 in both modes. Same errnos. */
int writer_fsync(struct fs *fs, struct writer *w);

/* The node w writes now (it follows renames), NULL once unlinked;
 * fs->lock held. */
struct node *writer_node(const struct writer *w);
/* What readers of the writer's file use. */
long long writer_size(const struct writer *w);
int writer_fd(const struct writer *w);

/* unlink of n when it has a writer: 1 done, 0 n has none (the caller
 * deletes as usual), -EIO/-EACCES the delete failed. */
int writer_unlink(struct fs *fs, struct node *n);
/* rename of from's writer to to (mapped to tt; dst_exists: an object or a
 * file is there): 1 done, 0 from has no writer, -EBUSY to has a writer of
 * its own, -EPERM the stored object is retained or held (Object Lock),
 * -EIO/-EACCES a request failed (nothing moved). */
int writer_rename(struct fs *fs, struct node *from, const char *to, const struct target *tt,
		  int dst_exists);
/* rename onto n, whose writer is live: like writer_unlink (the name goes,
 * the handles keep the file, nothing more is stored for it), but the
 * object at the key stays for the rename to replace. 1, 0 (no writer). */
int writer_displace(struct fs *fs, struct node *n);
/* A reader's hold on n's writer (NULL: none, unlinked, or n->gen is not
 * gen: the name holds another file now): it reads the writer's file,
 * whatever becomes of the name. writer_unpin lets go. */
struct writer *writer_pin(struct fs *fs, struct node *n, unsigned gen);
void writer_unpin(struct fs *fs, struct writer *w);
/* writer_pin of w itself, fs->lock held: for readers opened before w came
 * (fuse_ops pins them when a writer opens their file). 0, or -ENOENT when
 * w's file is already unlinked. */
int writer_pin_held(struct fs *fs, struct writer *w);
/* writer_unpin, fs->lock held. */
void writer_unpin_held(struct fs *fs, struct writer *w);
/* Whether path's node has a writer whose name was not unlinked (locked). */
int writer_live(const struct writer *w);

/* A journal record left by a crash or restart: its upload is queued. */
void writer_resume(struct fs *fs, const struct journal_record *rec);
/* Unmount, queues drained: frees w without a request. */
void writer_discard(struct fs *fs, struct writer *w);

#endif
