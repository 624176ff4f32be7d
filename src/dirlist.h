/* dirlist.h - directory listings for readdir and rmdir (dirlist.c).
 *
 * Promises: dir_list gives each name once (the first bucket's entry wins),
 * never the virtual /.s3csfs directory, and records in the node table what
 * the listings said (sizes, ETags, directories); it takes fs->lock itself,
 * never across a request. A name that is local (being written, waiting for
 * its upload, made with mkdir) when dir_list begins is in its answer unless
 * it went meanwhile, even when its upload completes while S3 is listing. */
#ifndef S3CSFS_DIRLIST_H
#define S3CSFS_DIRLIST_H

#include <stddef.h>
#include <sys/stat.h>

struct fs;
struct bucket_conf;

struct dirent_list {
	char **names;
	struct stat *st;
	unsigned char *plus; /* st is the whole entry (else only its type, if any) */
	size_t n, alloc;
	/* names by hash: index + 1, 0 free; nslots a power of two, at least
	 * twice n (each name is added once in O(1), not after a scan). */
	size_t *slots, nslots;
};

/* The entries of directory path ("" the root) into d (zeroed by the
 * caller, freed with dl_free whatever the result): 0, -ENOMEM, -EIO (a
 * listing failed; d holds what came before). */
int dir_list(struct fs *fs, const char *path, struct dirent_list *d);
void dl_free(struct dirent_list *d);

/* Whether the node table has a local child (a directory made here, a
 * file being written or pending) under dir. fs->lock held. */
int dir_has_local_child(struct fs *fs, const char *dir);

/* What S3 holds under directory path: 1 if anything but the directory's
 * own "path/" marker objects, else 0 with the buckets holding a marker in
 * markers[0..*nmarkers) (room for 64); -errno of a failed listing,
 * -ENAMETOOLONG. Takes no lock. */
int dir_s3_content(struct fs *fs, const char *path, const struct bucket_conf **markers,
		   size_t *nmarkers);

#endif
