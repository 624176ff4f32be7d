/* fuzz_mapping.c - libFuzzer harness for the path mapper (src/mapping.h).
 * The input is a path relative to the mount, as FUSE would hand it over
 * (cut at the first NUL, as the kernel would). The configuration is fixed
 * and built by hand, no file involved:
 *
 *   bucket "deleted": paths = the glob "contentstore.deleted" + "/" + "**"
 *   bucket "archive": from = 20190101, until = 20240101, key_prefix = archive/
 *   bucket "main":    default = true
 *
 * Checks, beyond "no crash, no sanitizer report", are stated independently
 * of the implementation: a path map_path accepts has no empty, "." or ".."
 * component and no control byte; its key is at most S3_KEY_MAX bytes, is
 * the bucket's key_prefix followed by the path, and has no "//", "/./" or
 * "/../" in it; the bucket is the one the rules above pick; map_check_path
 * agrees with map_path; map_dir_prefix stays inside its buffer.
 * Build: make fuzz. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

enum { B_DELETED, B_ARCHIVE, B_MAIN, NBUCKETS };

static char *deleted_paths[] = { "contentstore.deleted/**" };
static struct bucket_conf buckets[NBUCKETS] = {
	[B_DELETED] = { .id = "deleted",
			.name = "contentstore-deleted",
			.paths = deleted_paths,
			.npaths = 1,
			.key_prefix = "",
			.key_layout = KEY_LAYOUT_DATE },
	[B_ARCHIVE] = { .id = "archive",
			.name = "contentstore-archive",
			.from_date = 20190101,
			.until_date = 20240101,
			.key_prefix = "archive/",
			.key_layout = KEY_LAYOUT_DATE },
	[B_MAIN] = { .id = "main",
		     .name = "contentstore",
		     .is_default = 1,
		     .key_prefix = "",
		     .key_layout = KEY_LAYOUT_DATE },
};
static const struct config cfg = {
	.path = "(fuzz)",
	.buckets = buckets,
	.nbuckets = NBUCKETS,
	.default_bucket = B_MAIN,
};

/* The path's syntax, by the rules of mapping.h, written out afresh:
 * 0 if mappable, else nonzero. */
static int unsafe(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || p[0] == '/' || p[len - 1] == '/' || strstr(p, "//"))
		return 1;
	for (const unsigned char *c = (const unsigned char *)p; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return 1;
	for (const char *c = p;;) {
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 1;
		if (!c[n])
			break;
		c += n + 1;
	}
	return 0;
}

/* No empty, "." or ".." component in a key (S3 would take them literally,
 * but a key must read back to the same path). */
static int key_clean(const char *k)
{
	return unsafe(k) == 0;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "YYYY/M/D" (or zero-padded) at the start, as a date in [from, until). */
static int in_archive_range(const char *p)
{
	int y = 0, m = 0, d = 0, i = 0, n;

	for (n = 0; n < 4 && p[i] >= '0' && p[i] <= '9'; n++, i++)
		y = y * 10 + (p[i] - '0');
	if (n != 4 || p[i++] != '/')
		return 0;
	for (n = 0; n < 2 && p[i] >= '0' && p[i] <= '9'; n++, i++)
		m = m * 10 + (p[i] - '0');
	if (n == 0 || p[i++] != '/')
		return 0;
	for (n = 0; n < 2 && p[i] >= '0' && p[i] <= '9'; n++, i++)
		d = d * 10 + (p[i] - '0');
	if (n == 0 || (p[i] != '/' && p[i] != '\0'))
		return 0;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return 0;
	return y * 10000 + m * 100 + d >= 20190101 && y * 10000 + m * 100 + d < 20240101;
}

static void check_map(const char *path)
{
	struct target *t = malloc(sizeof(*t));
	int rc, rc2, chk;

	CHECK(t);
	rc = map_path(&cfg, path, t);
	chk = map_check_path(path);
	CHECK(chk == 0 || chk == -EINVAL || chk == -ENAMETOOLONG);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG || rc == -EISDIR);
	if (chk < 0)
		CHECK(rc == chk);
	if (path[0] == '\0')
		CHECK(chk == 0 && rc == -EISDIR);
	if (rc != 0) {
		free(t);
		return;
	}
	/* Accepted: the path must be safe and the key sound. */
	CHECK(!unsafe(path));
	CHECK(t->bucket >= &buckets[0] && t->bucket < &buckets[NBUCKETS]);
	CHECK(memchr(t->key, '\0', sizeof(t->key)) != NULL);
	CHECK(strlen(t->key) <= S3_KEY_MAX);
	CHECK(starts_with(t->key, t->bucket->key_prefix));
	CHECK(strcmp(t->key + strlen(t->bucket->key_prefix), path) == 0);
	CHECK(key_clean(t->key));
	CHECK(!strstr(t->key, "//") && !strstr(t->key, "/../") && !strstr(t->key, "/./"));
	/* Routing: first match in file order, the default last. */
	if (strcmp(path, "contentstore.deleted") == 0 || starts_with(path, "contentstore.deleted/"))
		CHECK(t->bucket == &buckets[B_DELETED]);
	else if (in_archive_range(path))
		CHECK(t->bucket == &buckets[B_ARCHIVE]);
	else
		CHECK(t->bucket == &buckets[B_MAIN]);
	/* Deterministic. */
	{
		struct target *u = malloc(sizeof(*u));
		CHECK(u);
		rc2 = map_path(&cfg, path, u);
		CHECK(rc2 == 0 && u->bucket == t->bucket && strcmp(u->key, t->key) == 0);
		free(u);
	}
	free(t);
}

static void check_dir_prefix(const char *dir)
{
	/* The real size and small ones, each an exact heap block. */
	const size_t lens[] = { S3_KEY_MAX + 1, 9, 1 };
	int dir_ok = map_check_path(dir) == 0;

	for (size_t b = 0; b < NBUCKETS; b++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			char *out = malloc(lens[k]);
			size_t pl = strlen(buckets[b].key_prefix);
			int rc;

			CHECK(out);
			rc = map_dir_prefix(&buckets[b], dir, out, lens[k]);
			CHECK(rc == 0 || rc == -ENAMETOOLONG);
			CHECK(memchr(out, '\0', lens[k]) != NULL);
			if (rc == 0) {
				CHECK(strncmp(out, buckets[b].key_prefix, pl) == 0);
				if (dir[0] == '\0') {
					CHECK(out[pl] == '\0');
				} else {
					size_t ol = strlen(out);
					CHECK(strncmp(out + pl, dir, strlen(dir)) == 0);
					CHECK(ol == pl + strlen(dir) + 1 && out[ol - 1] == '/');
				}
				if (dir_ok)
					CHECK(!strstr(out, "//") && !strstr(out, "/../") &&
					      !strstr(out, "/./") && out[0] != '/');
			}
			free(out);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1);

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	check_map(path);
	check_dir_prefix(path);
	free(path);
	return 0;
}
