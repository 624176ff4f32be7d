/* handle.h - open handles (handle.c): struct handle is in fs_internal.h.
 *
 * Promises: a handle opened for reading reads one file for its life: the
 * object it opened, or the writer's file once a writer has that file
 * (from the writer's open on, also after the name is unlinked or renamed
 * over), never another file that took the name; a read never returns
 * fewer bytes than the file has at that offset but at its end (else an
 * errno). */
#ifndef S3CSFS_HANDLE_H
#define S3CSFS_HANDLE_H

#include <stddef.h>
#include <sys/types.h>

struct fs;
struct node;
struct handle;
struct writer;

/* A handle of n (its reference is the caller's), zeroed; NULL: ENOMEM. */
struct handle *handle_new(struct node *n);
/* h on fs->readers (h->ce set, no writer pinned): a writer opening its
 * file later pins it. handle_unlist_reader: off it (a no-op if not on
 * it); before h's cache entry or h goes. fs->lock held for both. */
void handle_list_reader(struct fs *fs, struct handle *h);
void handle_unlist_reader(struct fs *fs, struct handle *h);
/* writer_open (writer.h, same errnos), then the handles reading the file
 * the name had are pinned to the new writer. */
int handle_open_writer(struct fs *fs, struct node *n, const char *path, int trunc, int is_new,
		       struct writer **w);
/* Where a read of [off, off + *size) is served from: 0 with *fd (the
 * cache file or the writer's) and *size clamped to the file's end; 1 when
 * it must be served from memory (statistics files, a full cache disk:
 * handle_read_uncached); -ESTALE (the name went and its bytes were not all
 * here), -EIO and the connector's read errnos (fs_connector.h). */
int handle_read_source(struct fs *fs, struct handle *h, off_t off, size_t *size, int *fd);
/* A read from memory windows, checked as cached reads are: bytes read,
 * -EIO, -ENOMEM. */
int handle_read_uncached(struct fs *fs, struct handle *h, char *buf, size_t size, off_t off);

#endif
