/* mapping.c - bucket routing by glob and date partition; key = prefix +
 * path (or prefix + basename with key_layout = flat). */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"

int map_check_path(const char *path)
{
	const char *p = path;

	if (!*path)
		return 0;
	if (strlen(path) > S3_KEY_MAX)
		return -ENAMETOOLONG;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (n > 255)
			return -ENAMETOOLONG;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return -EINVAL;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* The date partition YYYY/M/D of a path as YYYYMMDD, or 0 if the path does
 * not start with one. */
static int path_date(const char *path)
{
	int y, m, d, n = 0;

	if (sscanf(path, "%4d/%2d/%2d%n", &y, &m, &d, &n) != 3 || n == 0)
		return 0;
	if (path[n] != '/' && path[n] != '\0')
		return 0;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return 0;
	return y * 10000 + m * 100 + d;
}

/* fnmatch, plus a trailing slash-star-star that takes the directory and all below. */
static int glob_match(const char *glob, const char *path)
{
	size_t gl = strlen(glob);

	if (gl >= 3 && strcmp(glob + gl - 3, "/**") == 0) {
		size_t dl = gl - 3;
		if (strncmp(path, glob, dl) == 0 && (path[dl] == '\0' || path[dl] == '/'))
			return 1;
	}
	return fnmatch(glob, path, FNM_PATHNAME) == 0;
}

static int bucket_matches(const struct bucket_conf *b, const char *path)
{
	int matched = 0;

	if (b->npaths) {
		for (size_t i = 0; i < b->npaths && !matched; i++)
			matched = glob_match(b->paths[i], path);
		if (!matched)
			return 0;
	}
	if (b->from_date || b->until_date) {
		int d = path_date(path);
		if (!d || (b->from_date && d < b->from_date) || (b->until_date && d >= b->until_date))
			return 0;
		matched = 1;
	}
	return matched;
}

static const struct bucket_conf *route(const struct config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->nbuckets; i++)
		if ((int)i != cfg->default_bucket && bucket_matches(&cfg->buckets[i], path))
			return &cfg->buckets[i];
	return &cfg->buckets[cfg->default_bucket];
}

int map_path(const struct config *cfg, const char *path, struct target *out)
{
	const struct bucket_conf *b;
	const char *name = path;
	int rc = map_check_path(path), n;

	if (rc < 0)
		return rc;
	if (!*path)
		return -EISDIR;
	b = route(cfg, path);
	if (b->key_layout == KEY_LAYOUT_FLAT) {
		const char *slash = strrchr(path, '/');
		name = slash ? slash + 1 : path;
	}
	n = snprintf(out->key, sizeof(out->key), "%s%s", b->key_prefix ? b->key_prefix : "", name);
	if (n < 0 || (size_t)n >= sizeof(out->key))
		return -ENAMETOOLONG;
	out->bucket = b;
	return 0;
}

int map_dir_prefix(const struct bucket_conf *b, const char *dir, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s%s", b->key_prefix ? b->key_prefix : "", dir,
			 *dir ? "/" : "");
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}
