/* attrs.h - a file's POSIX attributes as object metadata, in the names and
 * formats s3fs-fuse writes (and rclone reads), so each tool shows what the
 * other stored.
 *
 * Metadata (x-amz-meta-*, values in decimal ASCII):
 *   mtime  seconds since the epoch, "S" or "S.NNNNNNNNN" (9-digit
 *          nanoseconds, as s3fs 1.90 and rclone write; both read either)
 *   mode   the whole st_mode, file type bits included (S_IFLNK|0777 =
 *          41471 marks a symbolic link, whose body is its target)
 *   uid, gid
 *
 * Promises: pure functions, no allocation, no I/O; a value that does not
 * parse is ignored (that attribute counts as absent), never an error. */
#ifndef S3CSFS_ATTRS_H
#define S3CSFS_ATTRS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "s3_client.h"

#define ATTR_MTIME 1u
#define ATTR_MODE 2u
#define ATTR_UID 4u
#define ATTR_GID 8u

struct attrs {
	unsigned have; /* ATTR_* bits: which fields hold a value */
	long long mtime_s;
	long mtime_ns; /* 0..999999999 */
	mode_t mode;   /* with the file type bits */
	uid_t uid;
	gid_t gid;
};

#define ATTRS_META_MAX 4
/* Storage for attrs_to_meta's pairs: they point into it. */
struct attrs_meta {
	struct s3_meta_pair pairs[ATTRS_META_MAX];
	char values[ATTRS_META_MAX][32];
};

/* The x-amz-meta pairs for every attribute a has, in out->pairs; returns
 * how many (0..ATTRS_META_MAX). */
size_t attrs_to_meta(const struct attrs *a, struct attrs_meta *out);

/* Reads the attributes present in a HEAD/GET answer's metadata into *a
 * (a->have says which were found and valid). Returns a->have. */
unsigned attrs_from_info(const struct s3_obj_info *info, struct attrs *a);

/* "S" or "S.F" (F: 1 to 9 digits) into seconds and nanoseconds: 0, or
 * -EINVAL for anything else (sign, spaces, overflow, other characters). */
int attrs_parse_time(const char *s, long long *sec, long *nsec);

/* Whether a describes a symbolic link. */
int attrs_is_link(const struct attrs *a);

/* A file's attributes as a mount keeps them: a, what S3 holds plus what
 * was changed here (utimens, chmod); gen counts those changes, saved_gen
 * is the last one an upload or copy stored. The caller locks. */
struct attrs_state {
	struct attrs a;
	unsigned gen, saved_gen;
};

/* Nothing known, nothing changed. */
void attrs_state_reset(struct attrs_state *s);
/* s->a was changed here: the next upload or copy must store it. */
void attrs_state_changed(struct attrs_state *s);
/* A change made here is not stored yet. */
int attrs_state_dirty(const struct attrs_state *s);
/* What an upload or copy stores now, in *out: s->a, with mtime_default
 * (the file's own time: its close, or S3's Last-Modified) where no mtime
 * was set, and S_IFREG|0644 where no mode was. Returns the generation to
 * hand to attrs_state_stored once that request has succeeded. */
unsigned attrs_state_snapshot(const struct attrs_state *s, time_t mtime_default, struct attrs *out);
/* S3 holds generation gen now; a change made since stays dirty. */
void attrs_state_stored(struct attrs_state *s, unsigned gen);

#endif
