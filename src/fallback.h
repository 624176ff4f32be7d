/* fallback.h - fallback_dir: during a cutover, a path S3 does not have is
 * served from the old content-store directory.
 *
 * Promises: the directory is only ever read (opened O_RDONLY, never
 * created in, written, renamed or unlinked); S3 is asked first and wins
 * whenever it has the object; a fallback file appears as an object with
 * a made-up ETag "fallback-<size>-<mtime>" (hex), so the cache keeps and
 * re-validates it like any object, and a read pinned to that ETag is
 * served from the file without asking S3 again; with fallback_upload a
 * file read from there is uploaded in the background (migrate.h's
 * migrate_file: create-only, verified, never over another object), each
 * path at most once per mount; reads, bytes, uploads and failed uploads
 * are counted in g_cost. One fallback per process (the mount); every
 * call is thread-safe and a no-op answer (-ENOENT, 0 entries) when no
 * fallback_dir is configured. */
#ifndef S3CSFS_FALLBACK_H
#define S3CSFS_FALLBACK_H

#include <sys/stat.h>

#include "conf.h"
#include "store.h"

/* With cfg->fallback_dir set: *store becomes a store that falls back to
 * the directory (get and head on -ENOENT; everything else is *store's).
 * Nothing happens without fallback_dir. -1 with err if the directory
 * cannot be read or the upload threads cannot start. */
int fallback_start(const struct config *cfg, struct store *store, char *err, size_t errlen);
/* Waits for the background uploads running, drops the queued ones. */
void fallback_stop(void);

/* For a lookup S3 answered -ENOENT: 0 if path is in the directory, with
 * *is_file and, for a file, info (size, ETag, mtime); else -ENOENT. */
int fallback_probe(const char *path, struct s3_obj_info *info, int *is_file);

/* Calls add for every entry of directory dir ("" for the root) that can
 * be a mount path (regular files and directories); stops at the first
 * add that fails and returns its error. 0 if dir is not there. */
int fallback_list(const char *dir, int (*add)(void *arg, const char *name, const struct stat *st),
		  void *arg);

#endif
