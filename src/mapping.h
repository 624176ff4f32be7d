/* mapping.h - a mount path to exactly one (bucket, key), with no state.
 *
 * Promises: deterministic from the configuration alone, so every host maps
 * a path the same way; paths are relative to the mount ("2026/11/25/13/7/
 * x.bin", no leading '/'); unsafe paths ("..", ".", empty components,
 * control characters, keys over S3's 1024 bytes) are refused with -EINVAL
 * or -ENAMETOOLONG. Buckets are matched in file order, first match wins,
 * the default bucket last. */
#ifndef S3CSFS_MAPPING_H
#define S3CSFS_MAPPING_H

#include "conf.h"
#include "s3_xml.h"

struct target {
	const struct bucket_conf *bucket;
	char key[S3_KEY_MAX + 1];
	/* The mount path it was mapped from. With key_layout = flat the key
	 * has lost the date directories: the store keeps this path in the
	 * object's metadata (x-amz-meta-s3csfs-path). */
	char path[S3_KEY_MAX + 1];
};

int map_path(const struct config *cfg, const char *path, struct target *out);

/* 1 if some path below directory dir ("" for the root) would be stored in
 * a key_layout = flat bucket, so the directory cannot be found by listing
 * keys: it exists only as far as the paths below it do. Exact for date
 * ranges and for globs' literal leading directories; a glob that starts
 * with a wildcard counts as "may". */
int map_dir_may_be_flat(const struct config *cfg, const char *dir);

/* The listing prefix of directory dir ("" for the root) in bucket b:
 * key_prefix + dir + "/" (just key_prefix for the root). */
int map_dir_prefix(const struct bucket_conf *b, const char *dir, char *out, size_t len);

/* Checks a relative path's syntax (as map_path does) without mapping. */
int map_check_path(const char *path);

#endif
