/* journal.h - the crash-safe list of files closed with upload = async
 * that are not yet durable in S3.
 *
 * Promises: journal_add returns only once the record (and, with do_fsync,
 * the cache file's data and the record itself) is on disk, so a file whose
 * close() returned is uploaded after a crash or restart; a record is an
 * xattr (user.s3csfs.journal) of the cache file CACHE_DIR/objects/XX/NAME
 * it is about, or, where the filesystem has no user xattrs, a small file
 * journal/NAME created by rename (never seen half-written) - the layout
 * of objfile.h, OBJFILE_JOURNAL; journal_replay calls fn for each record
 * left behind. */
#ifndef S3CSFS_JOURNAL_H
#define S3CSFS_JOURNAL_H

int journal_init(const char *cache_dir, char *err, size_t errlen);
/* Records the file's size and digest too (journal_file_digest, or the
 * caller's, taken as the data was written), so a replay can tell damaged
 * cache data from what close() acknowledged. */
int journal_add(const char *cache_dir, const char *name, const char *path, int data_fd,
		long long size, const char *digest, long long part_size, int do_fsync);
/* journal_add, also recording ck (the flexible checksum the upload will
 * carry, upload_checksum; NULL or CK_NONE: none), which journal_file_check
 * then tests first. */
struct s3_checksum;
int journal_add_ck(const char *cache_dir, const char *name, const char *path, int data_fd,
		   long long size, const char *digest, long long part_size,
		   const struct s3_checksum *ck, int do_fsync);
void journal_remove(const char *cache_dir, const char *name);
/* Whether a record of the cache entry name is left (its cache file must
 * then be kept). */
int journal_holds(const char *cache_dir, const char *name);
/* Sets a record aside as journal/NAME.damaged: never replayed, kept for
 * the operator. */
void journal_quarantine(const char *cache_dir, const char *name);
/* MD5 (hex) of [0, size) of fd. */
int journal_file_md5(int fd, long long size, char hex[33]);
/* The digest S3 gives the object when it is uploaded in parts of
 * part_size: the MD5 for one part (or part_size <= 0), else MD5 of the
 * part MD5s and "-N". */
int journal_file_digest(int fd, long long size, long long part_size, char *out, size_t outlen);

struct journal_record {
	const char *name;     /* the cache entry's name */
	const char *path;     /* the mount path */
	long long size;       /* -1 if the record has none */
	const char *md5;      /* its digest (journal_file_digest); "" if none */
	long long part_size;  /* the digest's; 0 in records of older versions */
	const char *checksum; /* "alg base64" (journal_add_ck), "" if none */
};
/* Whether fd still holds what rec says close() acknowledged: its size,
 * then its recorded checksum (one reading, CRC) or else its digest. 0, or
 * -EBADMSG (damaged), or -errno (could not be read). */
int journal_file_check(int fd, const struct journal_record *rec);
/* fn(ctx, record) for each record left behind; returns how many. */
int journal_replay(const char *cache_dir, void (*fn)(void *ctx, const struct journal_record *rec),
		   void *ctx);

#endif
