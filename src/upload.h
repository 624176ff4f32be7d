/* upload.h - one cache file to one object: parts stream out while the file
 * is written, the rest goes at finish.
 *
 * Promises: data is read from the cache file descriptor (pread), never
 * buffered whole in memory; full parts start as soon as the writer says
 * they are final, on the shared transfer queue, several in parallel;
 * finish returns only when the object is durable (0 + ETag) or has failed
 * for good (-errno), and a failed multipart upload is aborted, not left
 * behind; a file smaller than one part costs one PutObject. */
#ifndef S3CSFS_UPLOAD_H
#define S3CSFS_UPLOAD_H

#include "store.h"
#include "workq.h"

#define UPLOAD_MAX_PARTS 10000
#define UPLOAD_MAX_META 8   /* x-amz-meta pairs an upload carries */
#define UPLOAD_META_LEN 256 /* bytes of a name or value, with the NUL */

struct upload_ctx {
	struct store store;
	struct workq *transfers; /* jobs here never wait for each other */
	long long part_size;
};

struct upload;

/* fd stays owned by the caller and must stay open until upload_free.
 * The writer's calls (upload_hash, _progress, _invalidate, _digest,
 * _finish) come one at a time; parts are sent from other threads. */
struct upload *upload_new(const struct upload_ctx *ctx, const struct target *t, int fd);
/* The object is new: a single PutObject is sent create-only (store
 * put_new), so close() reports -EEXIST instead of overwriting an object
 * another client stored meanwhile.  Large files rely on the lookup. */
void upload_set_exclusive(struct upload *u);
/* x-amz-meta pairs to store with the object (copied); before the upload
 * starts. -E2BIG past UPLOAD_MAX_META pairs or UPLOAD_META_LEN bytes;
 * -ENOMEM (what was set before stays); -EBUSY once the multipart upload
 * was created (it carries what was set then). Not concurrent with
 * upload_progress or upload_finish. */
int upload_set_meta(struct upload *u, const struct s3_meta_pair *meta, size_t n);
/* Whether the multipart upload exists (its metadata is fixed then). */
int upload_mpu_created(struct upload *u);
/* The writer wrote buf (len bytes) at off.  While writes come in order,
 * each part's MD5 is taken from them here, so no part is read back to be
 * hashed (out of order, parts are hashed from the file when sent). */
void upload_hash(struct upload *u, const void *buf, size_t len, long long off);
/* The digest S3 will give the object if all of its size bytes were hashed
 * in order: the MD5 (hex) for one part, else MD5 of the part MD5s and
 * "-N"; -ENOENT otherwise. */
int upload_digest(struct upload *u, long long size, char *out, size_t outlen);
/* The flexible checksum (FULL_OBJECT) the object gets if all of its size
 * bytes were hashed in order, as upload_digest: out->alg CK_NONE when the
 * bucket sends none; -ENOENT if not every byte was hashed in order. */
int upload_checksum(struct upload *u, long long size, struct s3_checksum *out);
/* Bytes [0, upto) are final: full parts inside may be sent now. */
void upload_progress(struct upload *u, long long upto);
/* Waits while more than max_pending parts of u are queued or being sent
 * (0: never), so a writer faster than S3 stays that close to it and its
 * close() has little left to send. */
void upload_throttle(struct upload *u, int max_pending);
/* Bytes [off, off+len) changed: parts already sent there are sent again. */
void upload_invalidate(struct upload *u, long long off, long long len);
/* The file is size bytes: sends what is left, waits, completes. */
int upload_finish(struct upload *u, long long size, char *etag, size_t etaglen);
/* Stops: waits for parts in flight, aborts a multipart upload. */
void upload_cancel(struct upload *u);
void upload_free(struct upload *u);
/* At exit, with no transfer running: frees u without a request (a
 * multipart upload left open is the next mount's or the reaper's). */
void upload_discard(struct upload *u);

/* Whether this process is sending upload_id now (for the reaper). */
int upload_is_active(void *unused, const char *bucket, const char *key, const char *upload_id);

#endif
