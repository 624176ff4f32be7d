/* test_objfile.c - the on-disk layout: records written by hand the way
 * older versions wrote them are read by objfile (and by the journal),
 * and objfile writes exactly those bytes, in the xattr and, on ramfs (no
 * user xattrs), in the sidecar. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "journal.h"
#include "objfile.h"

#define NAME "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

static const char meta_body[] = "s3csfs-cache 1\nbucket b\nsize 3\netag \"e\"\nmtime 7\nkey k\n";
static const char journal_body[] =
	"s3csfs-journal 1\npath /f\nsize 3\nmd5 900150983cd24fb0d6963f7d28e17f72\npart_size 0\n";

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/s3csfs-test-objfile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The layout of the versions before objfile, spelled out by hand. */
static void make_dirs(void)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/objects", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/objects/ab", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/journal", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void write_file(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(body, 1, strlen(body), f), strlen(body));
	ck_assert_int_eq(fclose(f), 0);
}

static void data_file(char *p, size_t len)
{
	snprintf(p, len, "%s/objects/ab/%s", dir, NAME);
	write_file(p, "abc");
}

/* Whether the filesystem at dir has user xattrs. */
static int has_xattrs(void)
{
	char p[256];
	data_file(p, sizeof(p));
	int ok = setxattr(p, "user.s3csfs.probe", "x", 1, 0) == 0;
	if (ok)
		removexattr(p, "user.s3csfs.probe");
	return ok;
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

START_TEST(test_paths)
{
	char p[PATH_MAX], small[16];

	ck_assert_int_eq(objfile_data_path("/c", NAME, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/c/objects/ab/" NAME);
	ck_assert_int_eq(objfile_sidecar_path("/c", OBJFILE_META, NAME, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/c/objects/ab/" NAME ".meta");
	ck_assert_int_eq(objfile_sidecar_path("/c", OBJFILE_JOURNAL, NAME, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/c/journal/" NAME);
	ck_assert_int_eq(objfile_objects_dir("/c", p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/c/objects");
	ck_assert_int_eq(objfile_shard_dir("/c", 0xab, p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/c/objects/ab");
	ck_assert_int_eq(objfile_shard_dir("/c", 256, p, sizeof(p)), -EINVAL);
	ck_assert_int_eq(objfile_journal_dir("/c", p, sizeof(p)), 0);
	ck_assert_str_eq(p, "/c/journal");
	ck_assert_int_eq(objfile_join(p, sizeof(p), "/c", "d"), 0);
	ck_assert_str_eq(p, "/c/d");
	/* Too long: an error, never a truncated path. */
	ck_assert_int_eq(objfile_data_path("/c", NAME, small, sizeof(small)), -ENAMETOOLONG);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(objfile_sidecar_path("/c", OBJFILE_META, NAME, small, sizeof(small)),
			 -ENAMETOOLONG);
	ck_assert_int_eq(objfile_join(small, sizeof(small), "/0123456789", "abcdef"), -ENAMETOOLONG);
	ck_assert_int_eq(objfile_join(small, 0, "a", "b"), -ENAMETOOLONG);
	ck_assert_int_eq(objfile_sidecar_path("/c", (enum objfile_kind)7, NAME, p, sizeof(p)),
			 -EINVAL);
}
END_TEST

/* Records written by hand in xattrs, as older versions set them. */
START_TEST(test_reads_old_xattrs)
{
	char p[PATH_MAX], body[4096];

	make_dirs();
	data_file(p, sizeof(p));
	ck_assert_int_eq(setxattr(p, "user.s3csfs.meta", meta_body, strlen(meta_body), 0), 0);
	ck_assert_int_eq(setxattr(p, "user.s3csfs.journal", journal_body, strlen(journal_body), 0),
			 0);
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, body, sizeof(body)),
			 (ssize_t)strlen(meta_body));
	ck_assert_str_eq(body, meta_body);
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_JOURNAL, NAME, body, sizeof(body)),
			 (ssize_t)strlen(journal_body));
	ck_assert_str_eq(body, journal_body);
	ck_assert_int_eq(objfile_xattr_read(p, OBJFILE_JOURNAL, body, sizeof(body)),
			 (ssize_t)strlen(journal_body));
	ck_assert_int_eq(journal_holds(dir, NAME), 1);
	/* Removing one leaves the other. */
	ck_assert_int_eq(objfile_xattr_remove(dir, OBJFILE_META, NAME), 0);
	ck_assert_int_eq(objfile_xattr_remove(dir, OBJFILE_META, NAME), -ENODATA);
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, body, sizeof(body)), -ENOENT);
	ck_assert_int_eq(getxattr(p, "user.s3csfs.journal", NULL, 0), (ssize_t)strlen(journal_body));
	journal_remove(dir, NAME);
	ck_assert_int_lt(getxattr(p, "user.s3csfs.journal", NULL, 0), 0);
	ck_assert_int_eq(journal_holds(dir, NAME), 0);
}
END_TEST

/* Records written by hand in sidecar files (no xattr set): read from
 * there, as where the filesystem has no user xattrs. */
START_TEST(test_reads_old_sidecars)
{
	char p[PATH_MAX], body[4096];

	make_dirs();
	data_file(p, sizeof(p));
	snprintf(p, sizeof(p), "%s/objects/ab/%s.meta", dir, NAME);
	write_file(p, meta_body);
	snprintf(p, sizeof(p), "%s/journal/%s", dir, NAME);
	write_file(p, journal_body);
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, body, sizeof(body)),
			 (ssize_t)strlen(meta_body));
	ck_assert_str_eq(body, meta_body);
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_JOURNAL, NAME, body, sizeof(body)),
			 (ssize_t)strlen(journal_body));
	ck_assert_str_eq(body, journal_body);
	/* A short buffer gets the first len - 1 bytes, terminated. */
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, body, 6), 5);
	ck_assert_str_eq(body, "s3csf");
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, body, 0), -EINVAL);
	ck_assert_int_eq(objfile_sidecar_remove(dir, OBJFILE_META, NAME), 0);
	ck_assert_int_eq(objfile_sidecar_remove(dir, OBJFILE_META, NAME), -ENOENT);
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, body, sizeof(body)), -ENOENT);
	ck_assert_int_eq(journal_holds(dir, NAME), 1);
}
END_TEST

static int replayed;
static void on_record(void *ctx, const struct journal_record *rec)
{
	ck_assert_str_eq(rec->name, NAME);
	ck_assert_str_eq(rec->path, "/f");
	ck_assert_int_eq(rec->size, 3);
	ck_assert_str_eq(rec->md5, "900150983cd24fb0d6963f7d28e17f72");
	replayed++;
}

/* The journal replays a hand-written record from its xattr and from its
 * file, and a leftover .tmp is removed. */
START_TEST(test_journal_replays_old_records)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];

	make_dirs();
	data_file(p, sizeof(p));
	ck_assert_int_eq(setxattr(p, "user.s3csfs.journal", journal_body, strlen(journal_body), 0),
			 0);
	replayed = 0;
	ck_assert_int_eq(journal_replay(dir, on_record, NULL), 1);
	ck_assert_int_eq(replayed, 1);
	ck_assert_int_eq(removexattr(p, "user.s3csfs.journal"), 0);
	snprintf(p, sizeof(p), "%s/journal/%s", dir, NAME);
	write_file(p, journal_body);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	write_file(tmp, "half");
	replayed = 0;
	ck_assert_int_eq(journal_replay(dir, on_record, NULL), 1);
	ck_assert_int_eq(replayed, 1);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	journal_remove(dir, NAME);
	ck_assert_int_ne(access(p, F_OK), 0);
}
END_TEST

/* What objfile writes: in the xattr where there are user xattrs, else in
 * the sidecar, the body's bytes exactly; no .tmp left. Returns 1 if the
 * sidecars were used. */
static int writes_layout(void)
{
	char p[PATH_MAX], side[PATH_MAX], got[4096];
	int xattrs, fd, rc;

	make_dirs();
	xattrs = has_xattrs();
	data_file(p, sizeof(p));
	rc = objfile_record_write(dir, OBJFILE_META, NAME, -1, meta_body, strlen(meta_body), 0);
	ck_assert_int_eq(rc, xattrs ? 0 : 1);
	fd = open(p, O_RDWR);
	ck_assert_int_ge(fd, 0);
	rc = objfile_record_write(dir, OBJFILE_JOURNAL, NAME, fd, journal_body,
				  strlen(journal_body), 1);
	ck_assert_int_eq(rc, xattrs ? 0 : 1);
	close(fd);
	if (xattrs) {
		ssize_t n = getxattr(p, "user.s3csfs.meta", got, sizeof(got) - 1);
		ck_assert_int_eq(n, (ssize_t)strlen(meta_body));
		got[n] = '\0';
		ck_assert_str_eq(got, meta_body);
		n = getxattr(p, "user.s3csfs.journal", got, sizeof(got) - 1);
		ck_assert_int_eq(n, (ssize_t)strlen(journal_body));
		got[n] = '\0';
		ck_assert_str_eq(got, journal_body);
	} else {
		ck_assert_int_eq(objfile_xattr_write(dir, OBJFILE_META, NAME, -1, "x", 1), -ENOTSUP);
		snprintf(side, sizeof(side), "%s/objects/ab/%s.meta", dir, NAME);
		read_file(side, got, sizeof(got));
		ck_assert_str_eq(got, meta_body);
		snprintf(side, sizeof(side), "%s/journal/%s", dir, NAME);
		read_file(side, got, sizeof(got));
		ck_assert_str_eq(got, journal_body);
		snprintf(side, sizeof(side), "%s/journal/%s.tmp", dir, NAME);
		ck_assert_int_ne(access(side, F_OK), 0);
		snprintf(side, sizeof(side), "%s/objects/ab/%s.meta.tmp", dir, NAME);
		ck_assert_int_ne(access(side, F_OK), 0);
	}
	/* And reads them back, wherever they went. */
	ck_assert_int_eq(objfile_record_read(dir, OBJFILE_META, NAME, got, sizeof(got)),
			 (ssize_t)strlen(meta_body));
	ck_assert_str_eq(got, meta_body);
	ck_assert_int_eq(journal_holds(dir, NAME), 1);
	/* A sidecar written directly (as the journal sets a record aside). */
	ck_assert_int_eq(objfile_sidecar_write(dir, OBJFILE_JOURNAL, NAME, "r", 1, 1), 0);
	snprintf(side, sizeof(side), "%s/journal/%s", dir, NAME);
	read_file(side, got, sizeof(got));
	ck_assert_str_eq(got, "r");
	/* A sidecar whose directory is missing: the error, no file. */
	ck_assert_int_eq(objfile_sidecar_write(dir, OBJFILE_META, "zz" NAME, "r", 1, 0), -ENOENT);
	return !xattrs;
}

START_TEST(test_writes_layout)
{
	ck_assert_int_eq(writes_layout(), 0); /* /tmp has user xattrs */
}
END_TEST

START_TEST(test_writes_layout_without_xattrs)
{
	if (geteuid() != 0) {
		fprintf(stderr,
			"test_writes_layout_without_xattrs: skipped, needs root for ramfs\n");
		return;
	}
	/* ramfs has no user xattrs: the sidecars must be used. */
	ck_assert_int_eq(mount("none", dir, "ramfs", 0, "mode=0700"), 0);
	int sidecar = writes_layout();
	ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	ck_assert_int_eq(sidecar, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("objfile");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_reads_old_xattrs);
	tcase_add_test(tc, test_reads_old_sidecars);
	tcase_add_test(tc, test_journal_replays_old_records);
	tcase_add_test(tc, test_writes_layout);
	tcase_add_test(tc, test_writes_layout_without_xattrs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
