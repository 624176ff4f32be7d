/* fs_connector.h - what the FUSE layer does for the archive tier, Object
 * Lock and direct URLs: hooks that fuse_ops.c calls, the logic here.
 *
 * Promises: thread-safe; no state but a small, bounded memory of recent
 * HEAD answers (CONNECTOR_HEAD_TTL seconds, so that getfattr -d costs one
 * HEAD, not one per attribute) and of restores asked for by reads; every
 * refusal is logged with bucket and key. */
#ifndef S3CSFS_FS_CONNECTOR_H
#define S3CSFS_FS_CONNECTOR_H

#include <stddef.h>

#include "conf.h"
#include "mapping.h"

/* Room for the longest value (a presigned URL with a session token). */
#define CONNECTOR_XATTR_MAX 16384
#define CONNECTOR_HEAD_TTL 2

/* The value of xattr "user.s3csfs." name of the file t into out
 * (NUL-terminated; name without that prefix):
 * user.s3csfs.direct_url (a presigned GET URL valid direct_url_expiry; no
 * request), user.s3csfs.archive ("none", "archived", "restoring",
 * "restored until DATE") and, on buckets with object_lock,
 * user.s3csfs.retain_until (DATE or "none") and user.s3csfs.legal_hold
 * ("on" / "off"), these from one HEAD. -ENODATA when name is none of these
 * (the caller goes on with its own names); -ERANGE if out is too small;
 * an S3 failure as its errno. */
int connector_xattr(const struct config *cfg, const struct target *t, const char *name, char *out,
		    size_t len);

/* The names connector_xattr answers for path, as listxattr lists them
 * ("user.s3csfs.X\0" each): written to list when list is not NULL (the
 * caller has checked the room). Returns the bytes they take. */
size_t connector_listxattr(const struct config *cfg, const char *path, char *list);

/* Before unlink(2) deletes t: on a bucket with object_lock whose
 * on_delete is delete, one HEAD; an object under retention or legal hold
 * is -EPERM (logged, nothing deleted). Other buckets: 0, no request. A
 * failed HEAD is its errno (-EIO for the caller): nothing is deleted
 * that was not seen to be free. */
int connector_may_delete(const struct config *cfg, const struct target *t);

/* The errno a read returns when fetching path's bytes failed with rc:
 * -ENODATA for an archived object that is not restored (logged once a
 * minute per file, and with restore_on_read the restore is requested,
 * once per restore_days), -ENOENT as is, -EIO for the rest. */
int connector_read_errno(const struct config *cfg, const char *path, int rc);

#endif
