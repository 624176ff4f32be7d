/* store_mem.h - an object store in memory behind struct store_ops, so the
 * cache, upload and filesystem layers can be driven without any server.
 *
 * Promises: every op keeps the contract store.h and s3_client.h give
 * (0 or -errno, S3's semantics, the errnos the real client maps S3's
 * answers to); objects are keyed by (target->bucket->name, key), hold
 * their bytes, ETag (MD5 hex without quotes; multipart: MD5 of the part
 * MD5s and "-N"), mtime, metadata ("name=value\n", lower-case names) and
 * flexible checksums; the bucket_conf settings the real store applies
 * (flat layout's s3csfs-path metadata, storage class, SSE name, Object
 * Lock mode and date, on_delete = tag:) are applied the same way;
 * bounded: at most max_objects objects (and as many open multipart
 * uploads), at most max_bytes bytes in objects and uploaded parts
 * together, -ENOSPC past either; thread-safe (one mutex; no op sleeps);
 * every call of an op is counted, faults included; no network, no files
 * but the caller's descriptors of bodies and sinks.
 *
 * Where it differs from S3 (all deliberate, for tests):
 *   - get with len == 0 answers 0 bytes without looking, as
 *     s3_get_object does (it sends no request);
 *   - copies keep the source's ETag and checksums (S3 does for single-
 *     part objects; for a multipart source it may give another ETag);
 *   - continuation tokens are the last key or common prefix returned
 *     (S3's are opaque); one too long for S3_TOKEN_MAX (a 1024-byte key)
 *     is a number naming it among the last 64 such (older: -EINVAL); a
 *     token that is not one of ours is taken as a start-after key;
 *   - a put without a checksum stores none (S3 now adds CRC64NVME);
 *   - a ranged get gives no checksums (as S3), a whole one does;
 *   - retire with on_delete = tag:K=V hides the object from this store's
 *     get/head/list/copy (as store_s3 does) but keeps it:
 *     store_mem_object() and store_mem_retired() still see it, as
 *     "another host" would, until a put or copy to its key; object tags
 *     are not kept otherwise;
 *   - parts other than the last must be >= the minimum part size
 *     (5 MiB, as S3; store_mem_set_min_part changes it): -EINVAL
 *     (EntityTooSmall) at completion. */
#ifndef S3CSFS_STORE_MEM_H
#define S3CSFS_STORE_MEM_H

#include <stddef.h>
#include <time.h>

#include "store.h"

enum store_mem_op {
	STORE_MEM_GET = 0,
	STORE_MEM_HEAD,
	STORE_MEM_PUT,
	STORE_MEM_PUT_NEW,
	STORE_MEM_REMOVE,
	STORE_MEM_RETIRE,
	STORE_MEM_COPY,
	STORE_MEM_COPY_META,
	STORE_MEM_LIST,
	STORE_MEM_MPU_CREATE,
	STORE_MEM_MPU_PART,
	STORE_MEM_MPU_COMPLETE,
	STORE_MEM_MPU_ABORT,
	STORE_MEM_NOPS
};

struct store_mem;

/* The op table; ctx is a struct store_mem *. */
extern const struct store_ops store_mem_ops;

/* An empty store of at most max_objects objects (and as many open
 * uploads) and max_bytes bytes (objects' and parts' together; <= 0: no
 * object may hold a byte). NULL with errno ENOMEM, or EINVAL when
 * max_objects is 0. */
struct store_mem *store_mem_new(size_t max_objects, long long max_bytes);
/* Frees every object and upload; NULL is a no-op. No op may be running. */
void store_mem_free(struct store_mem *m);
/* { &store_mem_ops, m }, for the layers that take a struct store. */
struct store store_mem_store(struct store_mem *m);

/* Calls of op since the last reset (faults included); -EINVAL for an op
 * out of range. */
long store_mem_count(struct store_mem *m, enum store_mem_op op);
void store_mem_reset_counts(struct store_mem *m);
/* The next n calls of op fail with -err (err given as EIO or -EIO) before
 * doing anything (counted still); n = 0 cancels. Returns 0, or -EINVAL
 * for an op out of range, n < 0 or err 0. */
int store_mem_fail_next(struct store_mem *m, enum store_mem_op op, int n, int err);
/* A lost answer: the next n calls of op that succeed do all their work
 * (the object is written, the upload completed, ...) and then answer
 * -err, as when a reply never arrives; a list gives no result then.
 * n = 0 cancels. Returns 0 or -EINVAL as store_mem_fail_next. */
int store_mem_fail_after(struct store_mem *m, enum store_mem_op op, int n, int err);

/* The object's bytes as a malloc'd copy (NUL-terminated past len, so
 * *data is never NULL on success), retired ones too; the caller frees
 * it. info, when not NULL, gets what head would give. 0, -ENOENT,
 * -ENOMEM. Not counted. */
int store_mem_object(struct store_mem *m, const char *bucket, const char *key, void **data,
		     size_t *len, struct s3_obj_info *info);
/* An object written as another host would: bytes [0, len), meta as
 * "name=value\n" lines (NULL: none), mtime now (or the set time); ETag
 * the MD5. Replaces what is there (and un-retires it). etag (may be NULL)
 * gets the ETag. 0, -ENOSPC (bounds), -ENAMETOOLONG (key over 1024
 * bytes), -EINVAL (meta over 2 KiB or not lines), -ENOMEM. Not counted. */
int store_mem_put_raw(struct store_mem *m, const char *bucket, const char *key, const void *data,
		      size_t len, const char *meta, char *etag, size_t etaglen);
/* Deletes an object as another host would: 0, or -ENOENT. Not counted. */
int store_mem_remove_raw(struct store_mem *m, const char *bucket, const char *key);
/* 1 if the object is there but retired (hidden) by on_delete = tag:. */
int store_mem_retired(struct store_mem *m, const char *bucket, const char *key);
/* Objects held (retired ones included), open uploads, bytes held. */
size_t store_mem_nobjects(struct store_mem *m);
size_t store_mem_nuploads(struct store_mem *m);
long long store_mem_nbytes(struct store_mem *m);
/* The clock of mtimes from now on: t, or the real clock for t == 0. */
void store_mem_set_time(struct store_mem *m, time_t t);
/* The smallest size of a part other than the last (0: any). */
void store_mem_set_min_part(struct store_mem *m, long long bytes);

#endif
