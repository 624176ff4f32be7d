/* connector.h - the reference connector's later features over the S3
 * client: the archive tier and restores, Object Lock retention and legal
 * holds, presigned direct-access URLs. The commands (cmd_connector.c) and
 * the FUSE hooks (fs_connector.c) share it.
 *
 * Promises: no FUSE, no cache, no global state; thread-safe; every call
 * returns 0 (or the documented positive value) or -errno, and when given a
 * msg buffer, fills it with one line a user can act on (never a secret).
 * Dates are ISO 8601 UTC ("2026-12-03T04:00:00Z"). */
#ifndef S3CSFS_CONNECTOR_H
#define S3CSFS_CONNECTOR_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "s3_client.h"

#define CONNECTOR_DATE_LEN 21 /* "2026-12-03T04:00:00Z" and the NUL */
/* CopyObject's limit: larger objects are archived by UploadPartCopy. */
#define CONNECTOR_COPY_MAX (5LL * 1024 * 1024 * 1024)
#define CONNECTOR_COPY_PART_MIN (128LL * 1024 * 1024)

/* t as "2026-12-03T04:00:00Z". */
void connector_date(time_t t, char out[CONNECTOR_DATE_LEN]);

/* Whether objects of this storage class must be restored before a GET
 * (GLACIER, DEEP_ARCHIVE; GLACIER_IR is read directly). */
int connector_class_needs_restore(const char *storage_class);

enum archive_state {
	ARCHIVE_NONE = 0,  /* not in an archive class */
	ARCHIVE_INSTANT,   /* GLACIER_IR: archived, readable */
	ARCHIVE_ARCHIVED,  /* needs a restore before it can be read */
	ARCHIVE_RESTORING, /* a restore is in progress */
	ARCHIVE_RESTORED,  /* a restored copy is readable until *until */
};

/* The state a HEAD tells (storage class, x-amz-restore); *until, when
 * given, gets the restored copy's expiry (0 if none). */
enum archive_state connector_archive_state(const struct s3_obj_info *info, time_t *until);

/* What user.s3csfs.archive shows: "none", "archived" (GLACIER_IR too),
 * "restoring" or "restored until DATE". */
void connector_archive_text(const struct s3_obj_info *info, char *out, size_t len);

/* 1 if the object may not be deleted at now: a retain-until date in the
 * future, or a legal hold. */
int connector_retained(const struct s3_obj_info *info, time_t now);

/* Object Lock headers for a new object of bucket b: mode and now +
 * retention into o (until is their storage). Nothing without object_lock. */
void connector_lock_opts(const struct bucket_conf *b, time_t now, struct s3_put_opts *o,
			 char until[CONNECTOR_DATE_LEN]);

/* A presigned GET URL of key, valid expires_s seconds (1 s to 7 days);
 * filename (NULL: none) is sent back as Content-Disposition: attachment,
 * content_type (NULL: the object's) as Content-Type. -EINVAL for an
 * expiry out of range or a content type with control characters. */
int connector_direct_url(const struct bucket_conf *b, const char *key, long expires_s,
			 const char *filename, const char *content_type, char *url, size_t len);

/* Moves key into b's archive_storage_class: CopyObject onto itself (of
 * the version just looked at, metadata and tags kept), or UploadPartCopy
 * in parts of part_size (at least CONNECTOR_COPY_PART_MIN, at most 10000
 * parts) past CONNECTOR_COPY_MAX. Object Lock buckets give
 * the new version their retention. Returns 0 when moved, 1 when it was in
 * that class already; -ENOTSUP when the bucket has no archive class. */
int connector_archive(const struct bucket_conf *b, const char *key, long long part_size, char *msg,
		      size_t msglen);

/* Asks for a restore of days days at tier. Returns 0 when started, 1 when
 * one is in progress already, 2 when it was restored already (its expiry
 * moved); -ENODATA when the object is not archived. */
int connector_restore(const struct bucket_conf *b, const char *key, const char *tier, int days,
		      char *msg, size_t msglen);

#endif
