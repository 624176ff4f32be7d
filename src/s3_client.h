/* s3_client.h - S3 operations over HTTP, signed with SigV4, retried.
 *
 * Promises: thread-safe; every call returns 0 or a negative errno
 * (404 -> -ENOENT, 403 -> -EACCES, 412 -> -EEXIST on conditional PUT and
 * -ESTALE on conditional GET, 409 -> -EEXIST, 400 -> -EINVAL, 5xx and
 * exhausted retries -> -EIO, transport as http.h) and fills *st, when
 * given, with what S3 or the transport said (never a secret: the secret
 * key and session token of every request are registered with
 * log_add_secret, and a server's message is redacted); transient
 * failures (5xx, SlowDown, RequestTimeout, BadDigest, 429, connection
 * reset/refused, timeouts) are retried with exponential backoff and full
 * jitter, bounded by max_retries and retry_max_ms; bodies are replayed
 * from memory or a file descriptor, so a retried request resends the same
 * bytes; uploads carry Content-MD5 (and x-amz-checksum-ALG when the
 * caller gives one), which the server verifies; a returned ETag that has
 * an MD5's form (32 hex digits) and is not that MD5 is an error (-EIO),
 * except under SSE-KMS or SSE-C where ETags are not MD5s; an ETag of
 * another form is accepted (servers are free to choose it); GET and HEAD
 * ask for the object's checksums (x-amz-checksum-mode: ENABLED). No
 * knowledge of FUSE or caches. */
#ifndef S3CSFS_S3_CLIENT_H
#define S3CSFS_S3_CLIENT_H

#include <stddef.h>
#include <time.h>

#include "checksum.h"
#include "http.h"
#include "s3_xml.h"
#include "stats.h"

struct s3_client;

struct s3_creds {
	char access_key[128];
	char secret_key[128];
	char session_token[4096]; /* "" if none */
	time_t expires;           /* 0: never */
};

/* A source of credentials. get() is called before every request and may
 * refresh (instance metadata); it must be thread-safe. */
struct s3_creds_provider {
	int (*get)(void *ctx, struct s3_creds *out);
	void *ctx;
};

struct s3_client_opts {
	const char *endpoint; /* "http://127.0.0.1:7480", "https://s3.eu-west-1.amazonaws.com" */
	const char *region;   /* signing region, "us-east-1" if NULL */
	int path_style;       /* 1: http://host/bucket/key; 0: http://bucket.host/key */
	struct s3_creds_provider creds;
	struct http_pool_opts http;
	int max_retries;    /* retries after the first attempt; <0: 0, 0: default 8 */
	long retry_base_ms; /* first backoff cap; 0: 100 */
	long retry_max_ms;  /* give up retrying after this long in all; 0: 60000 */
};

struct s3_client *s3_client_new(const struct s3_client_opts *opts, char *err, size_t errlen);
void s3_client_free(struct s3_client *c);

/* Ends the requests of every client ms from now (ms < 0: lifts that end):
 * from then on no retry starts, backoff waits stop, a transfer still
 * running is aborted within about a second, and new requests fail at
 * once; all with -ECANCELED. For a mount that must answer within
 * mount_timeout and an unmount that must end within S3_UNMOUNT_GRACE_MS. */
void s3_client_deadline(long ms);
/* Whether that end has come. */
int s3_client_past_deadline(void);
/* How long an unmount lets requests run: the unmount is documented to
 * take at most 30 s; of the 4 s left, aborting a transfer takes up to 1 s
 * and the rest of the teardown (joining workers, closing the cache) well
 * under one. */
#define S3_UNMOUNT_GRACE_MS 26000

/* A fixed-credentials provider over a caller-owned struct s3_creds. */
int s3_creds_static_get(void *ctx, struct s3_creds *out);

struct s3_status {
	long http_status; /* 0 if no response */
	char code[64];    /* S3 error code ("NoSuchKey"), or a transport word */
	char message[256];
	char request_id[128];
	int attempts;
};

/* Formats "HTTP 404 NoSuchKey: The specified key does not exist.
 * (request id ...)" for logs and users. */
const char *s3_status_str(const struct s3_status *st, char *buf, size_t len);

struct s3_obj_info {
	long long size;
	char etag[S3_ETAG_MAX];
	time_t mtime;
	char storage_class[32];
	char sse[32];
	char meta[2048];        /* "name=value\n" per x-amz-meta-*, lower-case names */
	char sse_c[32];         /* SSE-C algorithm, "" if none */
	char checksums[256];    /* "alg=base64\n" per x-amz-checksum-ALG (GET/HEAD ask for them) */
	char checksum_type[24]; /* "FULL_OBJECT", "COMPOSITE" or "" */
	/* Archive and Object Lock state as HEAD and GET tell it. */
	char restore[256]; /* x-amz-restore as sent, "" if none */
	char content_type[128];
	char lock_mode[16];   /* "GOVERNANCE", "COMPLIANCE" or "" */
	time_t retain_until;  /* x-amz-object-lock-retain-until-date; 0: none */
	int legal_hold;       /* x-amz-object-lock-legal-hold: ON */
	char version_id[128]; /* x-amz-version-id, "" on unversioned buckets */
};

/* The object's alg checksum (raw, checksum_alg_len bytes) if the server
 * gave a full-object one: 0, or -ENOENT (none, or a COMPOSITE "-N"). */
int s3_obj_checksum(const struct s3_obj_info *info, enum checksum_alg alg, unsigned char raw[16]);

/* A flexible checksum as sent in x-amz-checksum-ALG (base64). */
struct s3_checksum {
	enum checksum_alg alg; /* CK_NONE: none */
	char b64[CHECKSUM_B64_MAX];
};

/* What the client has seen of the server's flexible checksums: -1 not
 * yet known, 1 a PutObject/UploadPart echoed the checksum sent (the
 * server verifies and stores it), 0 it did not (the server ignores them:
 * Ceph RGW before 18). */
int s3_client_checksums(struct s3_client *c);

/* Looks up name (lower case, without "x-amz-meta-") in info->meta. */
int s3_obj_meta_get(const struct s3_obj_info *info, const char *name, char *out, size_t len);

struct s3_meta_pair {
	const char *name; /* without "x-amz-meta-" */
	const char *value;
};

struct s3_put_opts {
	const char *storage_class;  /* NULL: the bucket's default */
	const char *sse;            /* NULL, "AES256" or "aws:kms" */
	const char *sse_kms_key_id; /* with "aws:kms" */
	const char *tagging;        /* "k=v&k2=v2", already URL-encoded */
	const char *content_type;
	const struct s3_meta_pair *meta;
	size_t nmeta;
	int if_none_match; /* PutObject: fail with -EEXIST if the key exists */
	/* Base64 Content-MD5 computed by the caller as it wrote the data;
	 * NULL: computed here by reading the body once more. */
	const char *content_md5;
	/* PutObject: sent as x-amz-checksum-ALG; CreateMultipartUpload: only
	 * the algorithm is declared, with x-amz-checksum-type FULL_OBJECT. */
	struct s3_checksum checksum;
	/* Object Lock: "GOVERNANCE" or "COMPLIANCE" and the retain-until date
	 * (ISO 8601 UTC); both or neither. PutObject, CopyObject and
	 * CreateMultipartUpload send them. */
	const char *lock_mode;
	const char *lock_until;
	/* CopyObject: x-amz-copy-source-if-match (copy only this version). */
	const char *copy_source_if_match;
};

int s3_put_object(struct s3_client *c, const char *bucket, const char *key,
		  const struct http_body *body, const struct s3_put_opts *opts, char *etag,
		  size_t etaglen, struct s3_status *st);

/* Reads [off, off+len) (len < 0: to the end) into sink. if_match: fail
 * with -ESTALE if the object's ETag changed (NULL: no check). info, when
 * given, gets size (the whole object's), etag, mtime, meta. Reading at
 * or past the end of an object gives 0 bytes, not an error. */
int s3_get_object(struct s3_client *c, const char *bucket, const char *key, long long off,
		  long long len, const char *if_match, struct http_sink *sink,
		  struct s3_obj_info *info, struct s3_status *st);

int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
		   struct s3_obj_info *info, struct s3_status *st);

/* Deleting a missing key succeeds, as in S3. */
int s3_delete_object(struct s3_client *c, const char *bucket, const char *key, struct s3_status *st);

/* One page. continuation: NULL or "" for the first; max_keys 0: 1000. */
int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
		    const char *delimiter, const char *continuation, int max_keys,
		    struct s3_list_result *out, struct s3_status *st);

/* Server-side copy (up to 5 GiB). opts->meta given: metadata replaced;
 * otherwise copied. */
int s3_copy_object(struct s3_client *c, const char *src_bucket, const char *src_key,
		   const char *dst_bucket, const char *dst_key, const struct s3_put_opts *opts,
		   char *etag, size_t etaglen, struct s3_status *st);

int s3_mpu_create(struct s3_client *c, const char *bucket, const char *key,
		  const struct s3_put_opts *opts, char *upload_id, size_t idlen,
		  struct s3_status *st);
/* content_md5: base64, or NULL to compute. etag gets the part's ETag. */
int s3_mpu_upload_part(struct s3_client *c, const char *bucket, const char *key,
		       const char *upload_id, int part_number, const struct http_body *body,
		       const char *content_md5, char *etag, size_t etaglen, struct s3_status *st);
/* As s3_mpu_upload_part, also sending ck (NULL or CK_NONE: none); an
 * echoed checksum that differs is -EIO. */
int s3_mpu_upload_part_ck(struct s3_client *c, const char *bucket, const char *key,
			  const char *upload_id, int part_number, const struct http_body *body,
			  const char *content_md5, const struct s3_checksum *ck, char *etag,
			  size_t etaglen, struct s3_status *st);
/* Checks the final ETag against the parts' (MD5 of MD5s, "-N") where it
 * has that form (-EIO if it differs); an ETag of another form (a whole-
 * object MD5, an opaque one) or any ETag under SSE-KMS/SSE-C is taken as
 * it is: the parts were verified one by one (Content-MD5, checksums). */
int s3_mpu_complete(struct s3_client *c, const char *bucket, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts, char *etag, size_t etaglen,
		    struct s3_status *st);
/* As s3_mpu_complete, with each part's checksum (parts[i].checksum, of
 * full's algorithm) in the XML and full, the whole object's FULL_OBJECT
 * checksum, as a header; NULL or CK_NONE: none. A checksum the server
 * answers with that differs is -EIO. */
int s3_mpu_complete_ck(struct s3_client *c, const char *bucket, const char *key,
		       const char *upload_id, const struct s3_part *parts, size_t nparts,
		       const struct s3_checksum *full, char *etag, size_t etaglen,
		       struct s3_status *st);
/* Aborting an upload that no longer exists succeeds. */
int s3_mpu_abort(struct s3_client *c, const char *bucket, const char *key, const char *upload_id,
		 struct s3_status *st);
int s3_mpu_list(struct s3_client *c, const char *bucket, const char *prefix, const char *key_marker,
		const char *upload_id_marker, int max_uploads, struct s3_mpu_list *out,
		struct s3_status *st);

int s3_head_bucket(struct s3_client *c, const char *bucket, struct s3_status *st);
int s3_create_bucket(struct s3_client *c, const char *bucket, struct s3_status *st);
int s3_delete_bucket(struct s3_client *c, const char *bucket, struct s3_status *st);

/* A bucket sub-resource as raw XML: GET/PUT ?lifecycle, ?tagging, ...
 * PUT sends body (with Content-MD5); GET returns a malloc'd body in *out. */
int s3_bucket_subresource(struct s3_client *c, const char *method, const char *bucket,
			  const char *subresource, const char *body, size_t body_len, char **out,
			  size_t *out_len, struct s3_status *st);

/* The object's tags into tags[0..max), *n how many (an empty answer body
 * counts as none). An answer with more than max tags, or a malformed one,
 * is -EPROTO. */
int s3_get_object_tagging(struct s3_client *c, const char *bucket, const char *key,
			  struct s3_tag *tags, size_t max, size_t *n, struct s3_status *st);
/* Replaces the object's tag set with tags[0..n) (n <= S3_MAX_TAGS). */
int s3_put_object_tagging(struct s3_client *c, const char *bucket, const char *key,
			  const struct s3_tag *tags, size_t n, struct s3_status *st);

/* ---- archive tier, Object Lock, presigned URLs ----
 * A GET of an archived object that is not restored (403
 * InvalidObjectState) is -ENODATA, whatever the call. */

/* A presigned GET URL of the object into url (the whole URL), valid
 * expires_s seconds (1 s to 7 days) from now; extra_query: further
 * encoded pairs to sign in (response-content-type=...), or NULL. Only the
 * access key id, the signature and (temporary credentials) the session
 * token appear in it. No request is sent. -EINVAL for an expiry out of
 * range, -ENOKEY without credentials, -ENAMETOOLONG. */
int s3_presign_get(struct s3_client *c, const char *bucket, const char *key, long expires_s,
		   const char *extra_query, char *url, size_t len);

/* RestoreObject (POST ?restore) for days days at tier ("Standard",
 * "Bulk", "Expedited"). *accepted (when given): 1 for a new restore (202),
 * 0 when the object was restored already and its copy's expiry moved
 * (200). A restore in progress is -EALREADY; an object that is not
 * archived -ENODATA; days < 1 or a tier that is not a plain word
 * (s3xml_build_restore) -EINVAL, with no request sent. */
int s3_restore_object(struct s3_client *c, const char *bucket, const char *key, int days,
		      const char *tier, int *accepted, struct s3_status *st);

/* PutObjectLegalHold: on 1 = ON, 0 = OFF. */
int s3_put_object_legal_hold(struct s3_client *c, const char *bucket, const char *key, int on,
			     struct s3_status *st);

/* PutObjectRetention: mode "GOVERNANCE"/"COMPLIANCE" until (ISO 8601).
 * -EINVAL, with no request sent, for a NULL mode or until or one that is
 * not a plain word or date (s3xml_build_retention). */
int s3_put_object_retention(struct s3_client *c, const char *bucket, const char *key,
			    const char *mode, const char *until, struct s3_status *st);

/* GetObjectLockConfiguration: *enabled 1 when ObjectLockEnabled is
 * Enabled; mode/days/years of the bucket's default retention, when it has
 * one ("" and 0 otherwise). A bucket without Object Lock is 0 with
 * *enabled = 0 (S3 answers 404 ObjectLockConfigurationNotFoundError). */
int s3_get_object_lock_config(struct s3_client *c, const char *bucket, int *enabled, char *mode,
			      size_t modelen, int *days, int *years, struct s3_status *st);

/* UploadPartCopy: bytes [first, last] of src_bucket/src_key (if_match:
 * only that ETag, NULL: any) as part part_number of upload_id. */
int s3_mpu_upload_part_copy(struct s3_client *c, const char *bucket, const char *key,
			    const char *upload_id, int part_number, const char *src_bucket,
			    const char *src_key, long long first, long long last,
			    const char *if_match, char *etag, size_t etaglen, struct s3_status *st);

/* A copy in parts of part_size bytes (UploadPartCopy), for sources past
 * CopyObject's 5 GiB: CreateMultipartUpload with opts (S3 copies no
 * metadata, tags or content type this way: give them in opts), the parts
 * one after the other, CompleteMultipartUpload; the upload is aborted on
 * any failure. if_match: copy only that version of the source. */
int s3_copy_object_multipart(
	struct s3_client *c, const char *src_bucket, const char *src_key, long long size,
	const char *if_match, const char *dst_bucket, const char *dst_key, long long part_size,
	const struct s3_put_opts *opts, char *etag, size_t etaglen, struct s3_status *st);

/* CreateBucket with x-amz-bucket-object-lock-enabled: true (which also
 * turns versioning on). */
int s3_create_bucket_object_lock(struct s3_client *c, const char *bucket, struct s3_status *st);

/* DeleteObject of one version (?versionId=): what Object Lock refuses
 * while the version is retained or held (-EACCES). */
int s3_delete_object_version(struct s3_client *c, const char *bucket, const char *key,
			     const char *version_id, struct s3_status *st);

/* MD5 helpers shared with the upload layer. */
void s3_md5_base64(const unsigned char md5[16], char out[25]);
void s3_md5_hex(const unsigned char md5[16], char out[33]);

#endif
