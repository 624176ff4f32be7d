/* store.h - what the cache and upload layers need from object storage, as
 * a table of function pointers, so a test layer can stand in for S3.
 *
 * Promises: the same contract as the s3_client.h call each op is named
 * after (0 or -errno, retries done below); a target carries the bucket's
 * settings (storage class, SSE, tags, key layout, on_delete), which the
 * store applies itself: with key_layout = flat, put and mpu_create store
 * the mount path in x-amz-meta-s3csfs-path (percent-encoded) besides any
 * meta the caller gives, and copy to a flat bucket replaces the metadata
 * with the destination's path. */
#ifndef S3CSFS_STORE_H
#define S3CSFS_STORE_H

#include "http.h"
#include "mapping.h"
#include "s3_client.h"

struct store_ops {
	int (*get)(void *ctx, const struct target *t, long long off, long long len,
		   const char *if_match, struct http_sink *sink, struct s3_obj_info *info);
	int (*head)(void *ctx, const struct target *t, struct s3_obj_info *info);
	/* content_md5: base64 or NULL. ck: the flexible checksum to send
	 * (NULL or CK_NONE: none). meta: x-amz-meta pairs to store. */
	int (*put)(void *ctx, const struct target *t, const struct http_body *body,
		   const char *content_md5, const struct s3_checksum *ck,
		   const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen);
	/* put, but only where no object is (If-None-Match: *): -EEXIST if
	 * another object is there; one with exactly these bytes counts as
	 * success.  NULL in a store that cannot tell: put is used instead. */
	int (*put_new)(void *ctx, const struct target *t, const struct http_body *body,
		       const char *content_md5, const struct s3_checksum *ck,
		       const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen);
	int (*remove)(void *ctx, const struct target *t);
	/* What unlink(2) does to an object: as the bucket's on_delete says,
	 * DeleteObject, or (tag:KEY=VALUE) PutObjectTagging of the object's
	 * tags plus that one, so a lifecycle rule can expire it. A tagged
	 * object is hidden by this store (get/head -ENOENT, left out of
	 * listings) for the rest of the process's life, or until a put to
	 * its key; other hosts keep seeing it until the lifecycle rule acts.
	 * A missing object is success, as for DeleteObject. */
	int (*retire)(void *ctx, const struct target *t);
	int (*copy)(void *ctx, const struct target *from, const struct target *to, char *etag,
		    size_t etaglen);
	/* copy with the destination's metadata replaced by meta[0..nmeta)
	 * (plus the path, into a flat bucket); from may equal to (a copy onto
	 * itself changes only the metadata). NULL in a store that cannot. */
	int (*copy_meta)(void *ctx, const struct target *from, const struct target *to,
			 const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen);
	int (*list)(void *ctx, const struct bucket_conf *b, const char *prefix,
		    const char *delimiter, const char *token, int max_keys,
		    struct s3_list_result *out);
	/* alg: the FULL_OBJECT checksum the upload will carry (CK_NONE: none). */
	int (*mpu_create)(void *ctx, const struct target *t, const struct s3_meta_pair *meta,
			  size_t nmeta, enum checksum_alg alg, char *upload_id, size_t idlen);
	/* content_md5: base64 or NULL (then computed from the body); ck: the
	 * part's checksum, NULL or CK_NONE: none. */
	int (*mpu_part)(void *ctx, const struct target *t, const char *upload_id, int number,
			const struct http_body *body, const char *content_md5,
			const struct s3_checksum *ck, char *etag, size_t etaglen);
	/* full: the whole object's checksum (parts[i].checksum each part's). */
	int (*mpu_complete)(void *ctx, const struct target *t, const char *upload_id,
			    const struct s3_part *parts, size_t nparts,
			    const struct s3_checksum *full, char *etag, size_t etaglen);
	int (*mpu_abort)(void *ctx, const struct target *t, const char *upload_id);
};

struct store {
	const struct store_ops *ops;
	void *ctx;
};

/* The mount path as a flat bucket's x-amz-meta-s3csfs-path holds it:
 * percent-encoded but for unreserved characters and '/', so the header
 * is plain ASCII whatever the name; cut short rather than overflow out. */
void store_encode_path(const char *path, char *out, size_t len);

/* The S3 store: each target's bucket_conf->client does the work. */
extern const struct store_ops store_s3_ops;

#endif
