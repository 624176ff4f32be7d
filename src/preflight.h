/* preflight.h - before the mount: refuse what cannot work while the
 * command that mounts (mount(8), systemd, a shell) is still there to hear
 * it, and find out what the server does with conditional writes.
 *
 * Promises: never exits, never touches FUSE; every failure is one line in
 * err that names the problem and what to do, with a negative errno; the
 * S3 part waits at most mount_timeout in all (connection refusals and
 * timeouts are retried within it), then lifts the deadline it set. */
#ifndef S3CSFS_PREFLIGHT_H
#define S3CSFS_PREFLIGHT_H

#include <stddef.h>

#include "conf.h"

/* What a create-only PUT (If-None-Match: *) over an existing key got. */
enum cond_write {
	COND_WRITE_UNKNOWN = 0, /* not probed, or the probe could not tell */
	COND_WRITE_HONOURED,    /* 412: O_EXCL is exact */
	COND_WRITE_IGNORED,     /* overwritten: the server ignores the header */
};

/* dir usable as cache_dir: created (mode 0700) if missing, its parent must
 * exist; a directory; writable (a probe file created, written, fsync'd and
 * removed, which also finds a read-only filesystem and a full disk).
 * 0, or -errno (-ENOTDIR, -EROFS, -EACCES, -ENOSPC, -ENOENT, ...). */
int preflight_cache_dir(const char *dir, char *err, size_t errlen);

/* One HeadBucket per distinct endpoint and bucket, within timeout_ms in
 * all: -ENOENT (no such bucket), -EACCES (credentials refused),
 * -ETIMEDOUT (the endpoint did not answer, refused connections or answered
 * 5xx until timeout_ms: worth trying again later), or another -errno. */
int preflight_buckets(struct config *cfg, long timeout_ms, char *err, size_t errlen);

/* The conditional-write probe of one bucket: PUT a probe key under
 * key_prefix, PUT it again with If-None-Match: * (and other bytes),
 * DELETE it. Returns the enum cond_write; detail says what happened
 * (for check and the log). */
int preflight_cond_write_probe(const struct bucket_conf *b, char *detail, size_t len);

/* Everything the mount needs: cache_dir, the buckets, then the probe per
 * distinct bucket (result in each bucket_conf's cond_write; logged at
 * warn where the server ignores If-None-Match). A bucket with
 * exclusive_create = strict on such a server (or one the probe could not
 * tell) fails the mount (-EOPNOTSUPP). All within cfg->mount_timeout_ms. */
int preflight_mount(struct config *cfg, char *err, size_t errlen);

/* How an O_EXCL create on bucket b must be made (for the FUSE layer):
 * 0: the PUT's If-None-Match: * is enough (the server honours it);
 * 1: HEAD the key first and fail with EEXIST if it is there, then PUT
 *    with If-None-Match anyway (best_effort: a create by another host
 *    between the HEAD and the PUT is not seen, and is overwritten). */
int preflight_create_needs_head(const struct bucket_conf *b);

#endif
