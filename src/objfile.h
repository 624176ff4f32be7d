/* objfile.h - the on-disk layout of cache_dir, shared by the cache and
 * the journal.
 *
 * Layout (unchanged from the versions before this module):
 *   DIR/objects/XX/NAME         an object's data; XX = NAME's first two
 *                               characters (NAME is 64 hex digits)
 *   DIR/objects/XX/NAME.meta    the cache record's sidecar
 *   DIR/journal/NAME            the journal record's sidecar
 *   SIDECAR.tmp                 a sidecar being written (renamed over it)
 * A record is an extended attribute of the data file (OBJFILE_META:
 * "user.s3csfs.meta", OBJFILE_JOURNAL: "user.s3csfs.journal") or, where
 * the filesystem has no user xattrs, its sidecar file; its bytes are the
 * same in both places, this module never looks inside them.
 *
 * Every function returns 0 (or a length) or -errno, sets no errno the
 * caller must read, and writes to out only within len.  A path that does
 * not fit in len is -ENAMETOOLONG, with out holding no usable path. */
#ifndef S3CSFS_OBJFILE_H
#define S3CSFS_OBJFILE_H

#include <stddef.h>
#include <sys/types.h>

enum objfile_kind {
	OBJFILE_META,    /* the cache's record: bucket, key, size, ETag */
	OBJFILE_JOURNAL, /* the journal's record of a pending upload */
};

/* "a/b" into out. 0 or -ENAMETOOLONG. */
int objfile_join(char *out, size_t len, const char *a, const char *b);
/* DIR/objects. 0 or -ENAMETOOLONG. */
int objfile_objects_dir(const char *dir, char *out, size_t len);
/* DIR/objects/XX for shard 0..255 (XX its two lowercase hex digits).
 * 0, -EINVAL (shard out of range) or -ENAMETOOLONG. */
int objfile_shard_dir(const char *dir, int shard, char *out, size_t len);
/* DIR/journal. 0 or -ENAMETOOLONG. */
int objfile_journal_dir(const char *dir, char *out, size_t len);
/* DIR/objects/XX/NAME. 0 or -ENAMETOOLONG. */
int objfile_data_path(const char *dir, const char *name, char *out, size_t len);
/* The sidecar of kind's record of name (see the layout above). 0,
 * -EINVAL (unknown kind) or -ENAMETOOLONG. */
int objfile_sidecar_path(const char *dir, enum objfile_kind kind, const char *name, char *out,
			 size_t len);

/* The record of kind on the data file at path (its xattr only), into
 * body, NUL-terminated (at most len - 1 bytes). Its length, or -errno of
 * getxattr(2): -ENODATA none, -ERANGE longer than len - 1, -ENOTSUP no
 * user xattrs; -EINVAL if len is 0 or kind unknown. */
ssize_t objfile_xattr_read(const char *path, enum objfile_kind kind, char *body, size_t len);
/* The record of kind of name: its xattr, else its sidecar (the first
 * len - 1 bytes), into body, NUL-terminated. Its length, or -ENOENT (in
 * neither place), -EINVAL (len 0, unknown kind), -ENAMETOOLONG (no
 * sidecar path), or another -errno of opening the sidecar (an error
 * reading it returns the bytes read before it, as a record). */
ssize_t objfile_record_read(const char *dir, enum objfile_kind kind, const char *name, char *body,
			    size_t len);

/* Sets the record as the xattr of the data file: through fd if fd >= 0,
 * else by its path. 0, -ENOTSUP (no user xattrs there: EOPNOTSUPP is
 * reported as ENOTSUP), -ENAMETOOLONG, -EINVAL, or another -errno of
 * (f)setxattr(2). Nothing is synced. */
int objfile_xattr_write(const char *dir, enum objfile_kind kind, const char *name, int fd,
			const void *body, size_t n);
/* Writes the sidecar whole: SIDECAR.tmp, then renamed over SIDECAR, so a
 * reader sees the old record or the new one, never a part (a failed
 * write removes the .tmp). With do_sync, the file and then its directory
 * are fsynced before 0 is returned. 0, -ENAMETOOLONG, -EINVAL, or -errno
 * of open/write/fsync/close/rename (-EIO for a short write without one). */
int objfile_sidecar_write(const char *dir, enum objfile_kind kind, const char *name,
			  const void *body, size_t n, int do_sync);
/* The xattr (objfile_xattr_write), else, where the filesystem has no user
 * xattrs, the sidecar (objfile_sidecar_write). With do_sync, also fsyncs
 * fd after an xattr set through it. 0 in the xattr, 1 in the sidecar, or
 * -errno of the step that failed (an xattr error other than -ENOTSUP is
 * returned as is: no sidecar is tried). */
int objfile_record_write(const char *dir, enum objfile_kind kind, const char *name, int fd,
			 const void *body, size_t n, int do_sync);

/* Removes the record's xattr. 0, -ENODATA (none), -ENOENT (no data file),
 * -ENOTSUP, -ENAMETOOLONG, -EINVAL, or another -errno of removexattr(2). */
int objfile_xattr_remove(const char *dir, enum objfile_kind kind, const char *name);
/* Unlinks the record's sidecar. 0, -ENOENT (none), -ENAMETOOLONG,
 * -EINVAL, or another -errno of unlink(2). */
int objfile_sidecar_remove(const char *dir, enum objfile_kind kind, const char *name);

#endif
