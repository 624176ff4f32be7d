/* fs.h - the mounted filesystem: FUSE operations over the cache, upload
 * and store layers.
 *
 * Promises: paths map to objects as mapping.h says; directories are
 * virtual (mkdir costs no request); a file created here is visible at
 * once and durable in S3 when close() returns (upload = sync) or, with
 * upload = async, recorded in the journal before close() returns and
 * uploaded in the background; lookups answer from what the daemon knows
 * before asking S3; /.s3csfs/stats and /.s3csfs/metrics are read-only
 * virtual files hidden from readdir. */
#ifndef S3CSFS_FS_H
#define S3CSFS_FS_H

#define FUSE_USE_VERSION 35
#include <fuse.h>

#include "conf.h"

/* The operations table; fuse_main's private data is a struct config *. */
extern const struct fuse_operations s3csfs_fuse_ops;

/* Pending async uploads (for shutdown and sd_notify STATUS). */
long fs_pending_uploads(void);

/* Whether the filesystem was unmounted through destroy with nothing left
 * pending (for the exit status). */
int fs_clean_shutdown(void);

#endif
