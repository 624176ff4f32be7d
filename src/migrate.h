/* migrate.h - an existing content-store tree into the buckets: each file
 * by the mount's mapping and the store's put options, through the
 * upload layer (one PutObject, or multipart), verified.
 *
 * Promises: a file is read once, in order, and its digest is taken while
 * it is read (digest.h checks it against what S3 reports); a file already
 * stored with the same size and digest costs one HEAD and no upload (so a
 * rerun, or a run after kill -9, sends only what is missing); an object
 * at the key with other bytes is never overwritten (a small file is sent
 * create-only); the source is never written, and with delete_source a
 * file is unlinked only once its object is verified; dry_run sends no
 * write request (HEADs only). */
#ifndef S3CSFS_MIGRATE_H
#define S3CSFS_MIGRATE_H

#include <stdio.h>

#include "conf.h"
#include "store.h"

struct migrate_opts {
	const char *from; /* the source tree's root */
	int parallel;     /* files at once (migrate_main) */
	int dry_run;
	int delete_source;
	long long limit_rate; /* bytes/s read for uploads, all files together; 0: none */
};

/* What migrate_file did (>= 0), else -errno with why in msg. */
enum migrate_result {
	MIGRATE_UPLOADED = 0, /* sent and verified */
	MIGRATE_STORED,       /* already in S3, same size and digest */
	MIGRATE_STORED_SIZE,  /* already in S3, same size; its ETag is no digest */
	MIGRATE_WOULD_UPLOAD, /* dry run: missing in S3 */
};

struct migrate;

/* Threads for parts (cfg->upload_threads) start here. NULL with err. */
struct migrate *migrate_new(const struct config *cfg, const struct store *store,
			    const struct migrate_opts *o, char *err, size_t errlen);
/* One file, path relative to o->from (a mount path). *bytes gets its
 * size. -EEXIST: other bytes are stored at its key; -EINVAL,
 * -ENAMETOOLONG: the mapping cannot store the path; -EBADMSG: S3 did not
 * report the bytes sent; others from open/read or the store. */
int migrate_file(struct migrate *m, const char *path, long long *bytes, char *msg, size_t msglen);
void migrate_free(struct migrate *m);

/* "s3csfs migrate" after the -o list: argv[0] is "migrate". Output to
 * stdout (dry-run lines, summary), failures to stderr, a progress bar on
 * stderr when it is a terminal. Returns the exit status: 0 all stored, 1
 * something failed (listed), 2 bad usage. */
int migrate_main(const struct config *cfg, int argc, char **argv);

#endif
