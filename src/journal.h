/* journal.h - the crash-safe list of files closed with upload = async
 * that are not yet durable in S3.
 *
 * Promises: journal_add returns only once the record (and, with do_fsync,
 * the cache file's data and the record itself) is on disk, so a file whose
 * close() returned is uploaded after a crash or restart; a record is one
 * small file named after the cache entry, created by rename (never seen
 * half-written); journal_replay calls fn for each record left behind. */
#ifndef S3CSFS_JOURNAL_H
#define S3CSFS_JOURNAL_H

int journal_init(const char *cache_dir, char *err, size_t errlen);
int journal_add(const char *cache_dir, const char *name, const char *path, int data_fd,
		int do_fsync);
void journal_remove(const char *cache_dir, const char *name);
/* fn(ctx, cache name, mount path) for each record; returns how many. */
int journal_replay(const char *cache_dir, void (*fn)(void *ctx, const char *name, const char *path),
		   void *ctx);

#endif
