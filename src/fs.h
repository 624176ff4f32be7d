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
#include "store.h"

struct fs;

/* fuse_main's private data: the configuration and the store the
 * filesystem is built on (main.c chooses it; op_init calls fs_new). */
struct fs_args {
	struct config *cfg;
	struct store store;
};

/* The operations table (private data: a struct fs_args *). */
extern const struct fuse_operations s3csfs_fuse_ops;

/* The filesystem on store, outside FUSE (fs_mount.c): the fallback store
 * wrapped round it (issue 17), the worker queues, the cache in
 * cfg->cache_dir, the journal, the upload scheduler. NULL with the reason
 * in err: the cache directory unusable, threads that cannot start, no
 * memory. cfg and store must outlive the fs. */
struct fs *fs_new(struct config *cfg, struct store store, char *err, size_t errlen);
/* The background parts: the reaper (if cfg says so), the uploads the
 * journal holds (resumed: their number), and housekeeping (SIGHUP reload,
 * cache trimming; only if pending is given: what it reports as pending). */
int fs_start(struct fs *fs, long (*pending)(void));
/* Uploads not yet durable (async, being retried). */
long fs_pending(const struct fs *fs);
/* Unmounts: delayed uploads go, pending ones get until the S3 client's
 * deadline (s3_client_deadline; none: they are waited for), what is left
 * stays journaled for the next fs_new on the same cache_dir; frees fs.
 * 1 if nothing was left pending, else 0. */
int fs_free(struct fs *fs);

/* The filesystem the operations table works on (op_init binds the one it
 * builds; a test outside FUSE binds its own, NULL after fs_free). */
void fs_ops_bind(struct fs *fs);

/* Pending async uploads (for shutdown and sd_notify STATUS). */
long fs_pending_uploads(void);

/* Whether the filesystem was unmounted through destroy with nothing left
 * pending (for the exit status). */
int fs_clean_shutdown(void);

#endif
