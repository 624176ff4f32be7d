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

/* The date partition YYYY/M/D of a path (month and day 1 or 2 digits,
 * zero-padded or not) as YYYYMMDD, or 0 if the path does not start with
 * one. Digits only: no signs, no blanks (sscanf's %d would take both). */
static int path_date(const char *path)
{
	int v[3] = { 0, 0, 0 }, i = 0;
	static const int width[3] = { 4, 2, 2 };

	for (int f = 0; f < 3; f++) {
		int n = 0;
		while (n < width[f] && path[i] >= '0' && path[i] <= '9') {
			v[f] = v[f] * 10 + (path[i++] - '0');
			n++;
		}
		if (n == 0 || (f == 0 && n != 4))
			return 0;
		if (f < 2 ? path[i] != '/' : (path[i] != '/' && path[i] != '\0'))
			return 0;
		i++;
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return 0;
	return v[0] * 10000 + v[1] * 100 + v[2];
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
		if (!d || (b->from_date && d < b->from_date) ||
		    (b->until_date && d >= b->until_date))
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
	snprintf(out->path, sizeof(out->path), "%s", path); /* fits: map_check_path */
	out->bucket = b;
	return 0;
}

/* The n-th '/'-separated component of s (0-based) as [*start, *start+len);
 * 0 if s has fewer. */
static int component(const char *s, size_t n, const char **start, size_t *len)
{
	if (!*s)
		return 0;
	for (size_t i = 0; i < n; i++) {
		s = strchr(s, '/');
		if (!s)
			return 0;
		s++;
	}
	*start = s;
	*len = strcspn(s, "/");
	return 1;
}

static size_t ncomponents(const char *s)
{
	size_t n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '/';
	return n;
}

/* fnmatch of one glob component against one path component. */
static int comp_match(const char *g, size_t gl, const char *p, size_t pl)
{
	char gb[256], pb[256];
	if (gl >= sizeof(gb) || pl >= sizeof(pb))
		return 0;
	memcpy(gb, g, gl);
	gb[gl] = '\0';
	memcpy(pb, p, pl);
	pb[pl] = '\0';
	return fnmatch(gb, pb, 0) == 0;
}

/* Could glob match some path strictly below dir? (all: every path below.) */
static int glob_below(const char *glob, const char *dir, int *all)
{
	size_t nd = ncomponents(dir), ng = ncomponents(glob);
	const char *g = NULL, *d = NULL;
	size_t gl = 0, dl = 0;

	*all = 0;
	for (size_t i = 0; i < nd; i++) {
		if (!component(glob, i, &g, &gl) || !component(dir, i, &d, &dl))
			return 0;
		if (gl == 2 && memcmp(g, "**", 2) == 0 && i == ng - 1) {
			*all = 1;
			return 1;
		}
		if (!comp_match(g, gl, d, dl))
			return 0;
	}
	if (ng > nd && component(glob, nd, &g, &gl) && gl == 2 && memcmp(g, "**", 2) == 0 &&
	    nd + 1 == ng)
		*all = 1;
	return ng > nd;
}

/* The dates a path below dir can have, as [lo, hi) in YYYYMMDD: all of them
 * for the root, one year for "2019", and so on; 0 if dir is not a date
 * partition (no path below it has a date). */
static int dir_date_span(const char *dir, int *lo, int *hi)
{
	int v[3] = { 0, 0, 0 };
	size_t n = ncomponents(dir);
	const char *c = NULL;
	size_t cl = 0;

	if (n == 0) {
		*lo = 0;
		*hi = 99999999;
		return 1;
	}
	for (size_t i = 0; i < n && i < 3; i++) {
		if (!component(dir, i, &c, &cl) || cl == 0 || cl > (i ? 2u : 4u))
			return 0;
		for (size_t k = 0; k < cl; k++) {
			if (c[k] < '0' || c[k] > '9')
				return 0;
			v[i] = v[i] * 10 + (c[k] - '0');
		}
	}
	if (v[0] < 1970 || (n >= 2 && (v[1] < 1 || v[1] > 12)) ||
	    (n >= 3 && (v[2] < 1 || v[2] > 31)))
		return 0;
	if (n == 1) {
		*lo = v[0] * 10000 + 101;
		*hi = (v[0] + 1) * 10000 + 101;
	} else if (n == 2) {
		*lo = v[0] * 10000 + v[1] * 100 + 1;
		*hi = v[0] * 10000 + v[1] * 100 + 32;
	} else {
		*lo = v[0] * 10000 + v[1] * 100 + v[2];
		*hi = *lo + 1;
	}
	return 1;
}

/* Could b take a path below dir (may), and would it take every one (all)? */
static int bucket_below(const struct bucket_conf *b, const char *dir, int *all)
{
	int may = 1, every = 1, lo, hi;

	if (!b->npaths && !b->from_date && !b->until_date) {
		*all = 0;
		return 0; /* matches nothing by itself (the default is handled apart) */
	}
	if (b->npaths) {
		int any = 0, whole = 0;
		for (size_t i = 0; i < b->npaths; i++) {
			int a;
			if (glob_below(b->paths[i], dir, &a)) {
				any = 1;
				whole |= a;
			}
		}
		may = any;
		every = whole;
	}
	if (b->from_date || b->until_date) {
		int from = b->from_date ? b->from_date : 0;
		int until = b->until_date ? b->until_date : 99999999;
		if (!dir_date_span(dir, &lo, &hi)) {
			may = every = 0;
		} else {
			may = may && lo < until && from < hi;
			every = every && ncomponents(dir) >= 3 && from <= lo && hi <= until;
		}
	}
	*all = may && every;
	return may;
}

int map_dir_may_be_flat(const struct config *cfg, const char *dir)
{
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		const struct bucket_conf *b = &cfg->buckets[i];
		int all;
		if ((int)i == cfg->default_bucket)
			continue;
		if (bucket_below(b, dir, &all)) {
			if (b->key_layout == KEY_LAYOUT_FLAT)
				return 1;
			if (all)
				return 0; /* everything below goes to this date bucket */
		}
	}
	return cfg->buckets[cfg->default_bucket].key_layout == KEY_LAYOUT_FLAT;
}

int map_dir_prefix(const struct bucket_conf *b, const char *dir, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s%s", b->key_prefix ? b->key_prefix : "", dir,
			 *dir ? "/" : "");
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}
