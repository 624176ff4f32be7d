/* test_fs.c - the filesystem driven through its FUSE operations table, with
 * no kernel and no server: fs_new on the in-memory store (store_mem.c),
 * request counts taken from that store. Lookups, the Alfresco write
 * pattern, rename, unlink, listings and journal replay, each in
 * upload = sync and upload = async. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fs.h"
#include "dircache.h"
#include "fs_internal.h"
#include "s3_client.h"
#include "store_mem.h"

#define BUCKET "fsb"
#define FILE1 "2026/12/2/17/5/0b0e0f1a-1111-4222-8333-944455556666.bin"
#define FILE2 "2026/12/2/17/5/1c1e1f2b-1111-4222-8333-944455556666.bin"

static char dir[64];
static struct config cfg;
static struct store_mem *mem;
static struct fs *fs;
static const struct fuse_operations *ops = &s3csfs_fuse_ops;
static const char *extra_conf = ""; /* more [general] lines */

/* The configuration of one mount: upload mode, cache under dir. */
static void load_config(const char *mode)
{
	char path[128], err[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/s3csfs.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"[general]\ncache_dir = %s/cache\nupload = %s\nreaper = off\nlog_level = error\n%s"
		"[s3]\nprofile = onprem\nendpoint = http://127.0.0.1:9\nregion = us-east-1\n"
		"access_key = AKIDTEST\nsecret_key = secrettest\n"
		"[bucket:main]\nname = " BUCKET "\ndefault = true\n",
		dir, mode, extra_conf);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
}

static void mount_fs(void)
{
	char err[512];
	fs = fs_new(&cfg, store_mem_store(mem), err, sizeof(err));
	ck_assert_msg(fs != NULL, "%s", err);
	fs_ops_bind(fs);
	fs_start(fs, NULL);
}

/* Waits (bounded: 10 s) until nothing is pending; 1 if so. */
static int settled(void)
{
	for (int i = 0; i < 1000; i++) {
		if (fs_pending(fs) == 0)
			return 1;
		usleep(10000);
	}
	return 0;
}

static int unmount_fs(void)
{
	fs_ops_bind(NULL);
	int clean = fs_free(fs);
	fs = NULL;
	return clean;
}

static void setup_mode(const char *mode)
{
	snprintf(dir, sizeof(dir), "/tmp/s3csfs-test-fs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	mem = store_mem_new(10000, 1LL << 30);
	ck_assert_ptr_nonnull(mem);
	load_config(mode);
	mount_fs();
}

static void setup_sync(void)
{
	setup_mode("sync");
}

static void setup_async(void)
{
	setup_mode("async");
}

static void teardown(void)
{
	char cmd[128];
	if (fs)
		unmount_fs();
	config_free(&cfg);
	store_mem_free(mem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static long puts_done(void)
{
	return store_mem_count(mem, STORE_MEM_PUT) + store_mem_count(mem, STORE_MEM_PUT_NEW) +
	       store_mem_count(mem, STORE_MEM_MPU_COMPLETE);
}

static long requests(void)
{
	long n = 0;
	for (int op = 0; op < STORE_MEM_NOPS; op++)
		n += store_mem_count(mem, (enum store_mem_op)op);
	return n;
}

/* create + write + release of path with n bytes of c: 0 or the errno. */
static int write_file(const char *path, int flags, char c, size_t n)
{
	struct fuse_file_info fi = { .flags = flags };
	char *buf = malloc(n ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(buf);
	memset(buf, c, n);
	rc = (flags & O_CREAT) ? ops->create(path, 0644, &fi) : ops->open(path, &fi);
	if (rc == 0) {
		if (n)
			ck_assert_int_eq(ops->write(path, buf, n, 0, &fi), (int)n);
		rc = ops->flush(path, &fi);
		ops->release(path, &fi);
	}
	free(buf);
	return rc;
}

/* The object's bytes are n bytes of c. */
static void assert_object(const char *key, char c, size_t n)
{
	void *data;
	size_t len;
	ck_assert_int_eq(store_mem_object(mem, BUCKET, key, &data, &len, NULL), 0);
	ck_assert_uint_eq(len, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(((char *)data)[i], c);
	free(data);
}

START_TEST(lookup_absent_is_one_request_then_remembered)
{
	struct stat st;
	store_mem_reset_counts(mem);
	ck_assert_int_eq(ops->getattr("/" FILE1, &st, NULL), -ENOENT);
	long first = requests();
	ck_assert_int_eq(first, 1); /* one GET of the first bytes */
	ck_assert_int_eq(ops->getattr("/" FILE1, &st, NULL), -ENOENT);
	ck_assert_int_eq(requests(), first); /* negative_timeout: no request */
}
END_TEST

START_TEST(lookup_of_another_hosts_object)
{
	struct stat st;
	char etag[64];
	ck_assert_int_eq(store_mem_put_raw(mem, BUCKET, FILE1, "hello", 5, NULL, etag, sizeof(etag)),
			 0);
	ck_assert_int_eq(ops->getattr("/" FILE1, &st, NULL), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 5);
	/* The lookup's GET filled the cache: the read asks nothing more. */
	long before = requests();
	struct fuse_file_info fi = { .flags = O_RDONLY };
	char buf[16];
	ck_assert_int_eq(ops->open("/" FILE1, &fi), 0);
	ck_assert_int_eq(ops->read("/" FILE1, buf, sizeof(buf), 0, &fi), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ops->release("/" FILE1, &fi);
	ck_assert_int_eq(requests(), before);
}
END_TEST

START_TEST(write_is_one_put)
{
	store_mem_reset_counts(mem);
	ck_assert_int_eq(write_file("/" FILE1, O_CREAT | O_WRONLY | O_EXCL, 'a', 100000), 0);
	ck_assert(settled());
	ck_assert_int_eq(puts_done(), 1);
	assert_object(FILE1, 'a', 100000);
	struct stat st;
	ck_assert_int_eq(ops->getattr("/" FILE1, &st, NULL), 0);
	ck_assert_int_eq(st.st_size, 100000);
}
END_TEST

/* Alfresco's FileContentStore: createNewFile (O_EXCL, closed empty), then
 * a reopen with O_TRUNC, write, close: one PutObject per item. */
START_TEST(alfresco_pattern_is_one_put)
{
	store_mem_reset_counts(mem);
	ck_assert_int_eq(ops->mkdir("/2026", 0755), 0);
	ck_assert_int_eq(write_file("/" FILE1, O_CREAT | O_WRONLY | O_EXCL, 0, 0), 0);
	ck_assert_int_eq(write_file("/" FILE1, O_WRONLY | O_TRUNC, 'z', 70000), 0);
	ck_assert(settled());
	ck_assert_int_eq(puts_done(), 1);
	assert_object(FILE1, 'z', 70000);
	/* O_EXCL holds for the name now stored. */
	struct fuse_file_info fi = { .flags = O_CREAT | O_WRONLY | O_EXCL };
	ck_assert_int_eq(ops->create("/" FILE1, 0644, &fi), -EEXIST);
}
END_TEST

START_TEST(rename_moves_the_object)
{
	struct stat st;
	ck_assert_int_eq(write_file("/" FILE1, O_CREAT | O_WRONLY | O_EXCL, 'r', 5000), 0);
	ck_assert(settled());
	ck_assert_int_eq(ops->rename("/" FILE1, "/" FILE2, 0), 0);
	ck_assert(settled());
	ck_assert_int_eq(ops->getattr("/" FILE1, &st, NULL), -ENOENT);
	ck_assert_int_eq(ops->getattr("/" FILE2, &st, NULL), 0);
	ck_assert_int_eq(st.st_size, 5000);
	assert_object(FILE2, 'r', 5000);
	void *d;
	size_t l;
	ck_assert_int_eq(store_mem_object(mem, BUCKET, FILE1, &d, &l, NULL), -ENOENT);
}
END_TEST

START_TEST(unlink_removes_the_object)
{
	struct stat st;
	ck_assert_int_eq(write_file("/" FILE1, O_CREAT | O_WRONLY | O_EXCL, 'u', 10), 0);
	ck_assert(settled());
	store_mem_reset_counts(mem);
	ck_assert_int_eq(ops->unlink("/" FILE1), 0);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_REMOVE) +
				 store_mem_count(mem, STORE_MEM_RETIRE),
			 1);
	ck_assert_int_eq(ops->getattr("/" FILE1, &st, NULL), -ENOENT);
	ck_assert_uint_eq(store_mem_nobjects(mem), 0);
}
END_TEST

/* unlink of a file still open for writing: the name goes, the handle
 * keeps working, nothing is stored. */
START_TEST(unlink_while_writing_stores_nothing)
{
	struct fuse_file_info fi = { .flags = O_CREAT | O_WRONLY | O_EXCL };
	char buf[4096];
	memset(buf, 'w', sizeof(buf));
	ck_assert_int_eq(ops->create("/" FILE1, 0644, &fi), 0);
	ck_assert_int_eq(ops->write("/" FILE1, buf, sizeof(buf), 0, &fi), (int)sizeof(buf));
	ck_assert_int_eq(ops->unlink("/" FILE1), 0);
	ck_assert_int_eq(ops->write(NULL, buf, sizeof(buf), 4096, &fi), (int)sizeof(buf));
	ck_assert_int_eq(ops->flush(NULL, &fi), 0);
	ops->release(NULL, &fi);
	ck_assert(settled());
	ck_assert_uint_eq(store_mem_nobjects(mem), 0);
}
END_TEST

struct names {
	char v[8][128];
	int n;
};

static int fill(void *buf, const char *name, const struct stat *st, off_t off,
		enum fuse_fill_dir_flags flags)
{
	struct names *nm = buf;
	(void)st;
	(void)off;
	(void)flags;
	if (strcmp(name, ".") && strcmp(name, "..") && nm->n < 8)
		snprintf(nm->v[nm->n++], sizeof(nm->v[0]), "%s", name);
	return 0;
}

START_TEST(listing_merges_store_and_local)
{
	struct names nm = { .n = 0 };
	char etag[64];
	ck_assert_int_eq(store_mem_put_raw(mem, BUCKET, FILE1, "x", 1, NULL, etag, sizeof(etag)), 0);
	ck_assert_int_eq(ops->mkdir("/2026/12/2/17/5/local", 0755), 0);
	store_mem_reset_counts(mem);
	ck_assert_int_eq(ops->readdir("/2026/12/2/17/5", &nm, fill, 0, NULL, 0), 0);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), 1);
	ck_assert_int_eq(nm.n, 2);
	int seen_file = 0, seen_dir = 0;
	for (int i = 0; i < nm.n; i++) {
		seen_file |= strcmp(nm.v[i], strrchr(FILE1, '/') + 1) == 0;
		seen_dir |= strcmp(nm.v[i], "local") == 0;
	}
	ck_assert(seen_file && seen_dir);
}
END_TEST

static int count_fill(void *buf, const char *name, const struct stat *st, off_t off,
		      enum fuse_fill_dir_flags flags)
{
	(void)name;
	(void)st;
	(void)off;
	(void)flags;
	++*(long *)buf;
	return 0;
}

/* A directory of 2500 objects: three pages, each name once, plus the
 * files written here and not yet listed. */
START_TEST(listing_of_many_pages)
{
	char key[128], etag[64];
	long n = 0;
	for (int i = 0; i < 2500; i++) {
		snprintf(key, sizeof(key), "2026/12/2/17/6/%08d-1111-4222-8333-944455556666.bin", i);
		ck_assert_int_eq(store_mem_put_raw(mem, BUCKET, key, "x", 1, NULL, etag,
						   sizeof(etag)),
				 0);
	}
	ck_assert_int_eq(write_file("/2026/12/2/17/6/local-1111-4222-8333-944455556666.bin",
				    O_CREAT | O_WRONLY | O_EXCL, 'l', 10),
			 0);
	store_mem_reset_counts(mem);
	ck_assert_int_eq(ops->readdir("/2026/12/2/17/6", &n, count_fill, 0, NULL, 0), 0);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), 3);
	ck_assert_int_eq(n, 2 + 2501); /* ".", "..", the objects, the local file once */
}
END_TEST


static int count_names(void *arg, const char *name, const struct stat *st, int plus)
{
	(void)name;
	(void)st;
	(void)plus;
	++*(long *)arg;
	return 0;
}

/* dir_cache_timeout: a directory listed once is answered from memory
 * (another host's new object shows only after the timeout) until this
 * host changes a name in it; 0 lists every time. */
START_TEST(listing_is_kept_until_a_change_here)
{
	const char *d = "/2026/12/2/17/5";
	char etag[64];
	long n = 0;
	struct stat st;

	ck_assert_int_eq(store_mem_put_raw(mem, BUCKET, FILE1, "x", 1, NULL, etag, sizeof(etag)), 0);
	store_mem_reset_counts(mem);
	ck_assert_int_eq(ops->readdir(d, &n, count_fill, 0, NULL, 0), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), 1);
	/* Another host's object: not in the kept listing, found by a lookup. */
	ck_assert_int_eq(store_mem_put_raw(mem, BUCKET, FILE2, "yy", 2, NULL, etag, sizeof(etag)),
			 0);
	n = 0;
	ck_assert_int_eq(ops->readdir(d, &n, count_fill, 0, NULL, 0), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), 1);
	ck_assert_int_eq(ops->getattr("/" FILE2, &st, NULL), 0);
	ck_assert_int_eq(st.st_size, 2);
	/* A file written here: the listing is taken again, and kept again
	 * once the file is stored. */
	ck_assert_int_eq(write_file("/2026/12/2/17/5/2d2e2f3c-1111-4222-8333-944455556666.bin",
				    O_CREAT | O_WRONLY | O_EXCL, 'h', 5),
			 0);
	ck_assert(settled());
	n = 0;
	ck_assert_int_eq(ops->readdir(d, &n, count_fill, 0, NULL, 0), 0);
	ck_assert_int_eq(n, 5);
	long lists = store_mem_count(mem, STORE_MEM_LIST);
	ck_assert_int_eq(lists, 2);
	n = 0;
	ck_assert_int_eq(ops->readdir(d, &n, count_fill, 0, NULL, 0), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), lists);
	/* An unlink here: gone from the next listing at once. */
	ck_assert_int_eq(ops->unlink("/" FILE2), 0);
	n = 0;
	ck_assert_int_eq(ops->readdir(d, &n, count_fill, 0, NULL, 0), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), lists + 1);

	/* dir_cache_timeout = 0: every readdir lists. */
	const char *mode = cfg.upload == UPLOAD_ASYNC ? "async" : "sync";
	unmount_fs();
	config_free(&cfg);
	extra_conf = "dir_cache_timeout = 0\n";
	load_config(mode);
	extra_conf = "";
	mount_fs();
	store_mem_reset_counts(mem);
	for (int i = 0; i < 2; i++) {
		n = 0;
		ck_assert_int_eq(ops->readdir(d, &n, count_fill, 0, NULL, 0), 0);
		ck_assert_int_eq(n, 4);
	}
	ck_assert_int_eq(store_mem_count(mem, STORE_MEM_LIST), 2);
}
END_TEST

/* The listing cache itself: bounded in names, oldest first; expiry; a
 * listing taken across a change in its directory is not kept. */
START_TEST(dircache_bounds_and_generations)
{
	char *names[3] = { "a", "b", "c" };
	struct stat st[3] = { 0 };
	unsigned char plus[3] = { 0 };
	size_t nn;
	struct dircache *c = dircache_new(4, 10);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(dircache_put(c, "d1", dircache_gen(c), names, st, plus, 3, 100), 0);
	ck_assert_int_eq(dircache_each(c, "d1", 105, count_names, &(long){ 0 }), 0);
	ck_assert_int_eq(dircache_put(c, "d2", dircache_gen(c), names, st, plus, 2, 100), 0);
	ck_assert_uint_eq(dircache_count(c, &nn), 1); /* d1 went: 5 names > 4 */
	ck_assert_uint_eq(nn, 2);
	ck_assert_int_eq(dircache_each(c, "d1", 105, count_names, &(long){ 0 }), -ENOENT);
	ck_assert_int_eq(dircache_put(c, "big", dircache_gen(c), names, st, plus, 3, 100), 0);
	ck_assert_int_eq(dircache_put(c, "huge", dircache_gen(c), names, st, plus, 3, 100), 0);
	ck_assert_int_eq(dircache_each(c, "huge", 110, count_names, &(long){ 0 }), -ENOENT);
	ck_assert_uint_eq(dircache_count(c, NULL), 0); /* expired: dropped */
	unsigned long gen = dircache_gen(c);
	dircache_changed(c, "d3/x.bin"); /* during the listing of d3 */
	ck_assert_int_eq(dircache_put(c, "d3", gen, names, st, plus, 1, 100), 1);
	ck_assert_int_eq(dircache_put(c, "d3", dircache_gen(c), names, st, plus, 1, 100), 0);
	long seen = 0;
	ck_assert_int_eq(dircache_each(c, "d3", 101, count_names, &seen), 0);
	ck_assert_int_eq(seen, 1);
	dircache_changed(c, "d3"); /* d3 itself renamed or removed */
	ck_assert_int_eq(dircache_each(c, "d3", 101, count_names, &seen), -ENOENT);
	/* an empty directory (rm -rf lists each one it emptied) comes with no arrays */
	ck_assert_int_eq(dircache_put(c, "empty", dircache_gen(c), NULL, NULL, NULL, 0, 100), 0);
	seen = 0;
	ck_assert_int_eq(dircache_each(c, "empty", 101, count_names, &seen), 0);
	ck_assert_int_eq(seen, 0);
	dircache_free(c);
	c = dircache_new(4, 0); /* off */
	ck_assert_int_eq(dircache_put(c, "d1", dircache_gen(c), names, st, plus, 1, 100), 1);
	dircache_free(c);
}
END_TEST

/* max_nodes: 3000 files written into a directory made here, with the
 * table bounded at 1024 names. The table stays at the bound; every file
 * is still found, at its size, after its node has gone (the directory's
 * "all names known" answer goes with it), at one request a lookup. */
START_TEST(node_table_stays_bounded)
{
	char path[128];
	struct stat st;
	const char *mode = cfg.upload == UPLOAD_ASYNC ? "async" : "sync";

	unmount_fs();
	config_free(&cfg);
	extra_conf = "max_nodes = 1024\n";
	load_config(mode);
	extra_conf = "";
	ck_assert_int_eq(cfg.max_nodes, 1024);
	mount_fs();
	ck_assert_int_eq(ops->mkdir("/2026", 0755), 0);
	ck_assert_int_eq(ops->mkdir("/2026/12", 0755), 0);
	ck_assert_int_eq(ops->mkdir("/2026/12/3", 0755), 0);
	ck_assert_int_eq(ops->mkdir("/2026/12/3/1", 0755), 0);
	ck_assert_int_eq(ops->mkdir("/2026/12/3/1/2", 0755), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "/2026/12/3/1/2/%08d-1111-4222-8333-944455556666.bin",
			 i);
		ck_assert_int_eq(ops->getattr(path, &st, NULL), -ENOENT);
		ck_assert_int_eq(write_file(path, O_CREAT | O_WRONLY | O_EXCL, 'n', 100 + i % 7), 0);
		if (i % 500 == 499)
			ck_assert(settled()); /* async: writers leave once stored */
	}
	ck_assert(settled());
	ck_assert_uint_le(fs->nnodes, 1024 + 64);
	store_mem_reset_counts(mem);
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "/2026/12/3/1/2/%08d-1111-4222-8333-944455556666.bin",
			 i);
		ck_assert_msg(ops->getattr(path, &st, NULL) == 0, "file %d lost", i);
		ck_assert_int_eq(st.st_size, 100 + i % 7);
	}
	ck_assert_uint_le(fs->nnodes, 1024 + 64);
	/* Each forgotten name costs its lookup again, no more. */
	ck_assert_int_le(requests(), 3000);
	ck_assert_int_gt(requests(), 0);
}
END_TEST

START_TEST(rmdir_of_local_and_stored_directories)
{
	char etag[64];
	ck_assert_int_eq(ops->mkdir("/2026/12/2/17/7", 0755), 0);
	ck_assert_int_eq(ops->mkdir("/2026/12/2/17/7/sub", 0755), 0);
	ck_assert_int_eq(ops->rmdir("/2026/12/2/17/7"), -ENOTEMPTY); /* a local child */
	ck_assert_int_eq(ops->rmdir("/2026/12/2/17/7/sub"), 0);
	ck_assert_int_eq(ops->rmdir("/2026/12/2/17/7"), 0);
	ck_assert_int_eq(store_mem_put_raw(mem, BUCKET, FILE1, "x", 1, NULL, etag, sizeof(etag)), 0);
	ck_assert_int_eq(ops->rmdir("/2026/12/2/17/5"), -ENOTEMPTY); /* an object below */
}
END_TEST

/* upload = async: a file whose upload cannot land stays in the journal
 * at the unmount and is uploaded by the next mount on the same cache. */
START_TEST(journal_replay_after_unmount)
{
	ck_assert_int_eq(store_mem_fail_next(mem, STORE_MEM_PUT_NEW, 1000, EIO), 0);
	ck_assert_int_eq(store_mem_fail_next(mem, STORE_MEM_PUT, 1000, EIO), 0);
	ck_assert_int_eq(write_file("/" FILE1, O_CREAT | O_WRONLY | O_EXCL, 'j', 3000), 0);
	ck_assert_int_gt(fs_pending(fs), 0);
	s3_client_deadline(300);           /* the unmount gives up on it at once */
	ck_assert_int_eq(unmount_fs(), 0); /* not clean: left pending */
	s3_client_deadline(-1);
	ck_assert_uint_eq(store_mem_nobjects(mem), 0);
	store_mem_fail_next(mem, STORE_MEM_PUT_NEW, 0, EIO);
	store_mem_fail_next(mem, STORE_MEM_PUT, 0, EIO);
	mount_fs();
	ck_assert(settled());
	assert_object(FILE1, 'j', 3000);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fs");
	const struct {
		const char *name;
		void (*setup)(void);
	} modes[] = { { "sync", setup_sync }, { "async", setup_async } };

	for (size_t i = 0; i < 2; i++) {
		TCase *tc = tcase_create(modes[i].name);
		tcase_add_checked_fixture(tc, modes[i].setup, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, lookup_absent_is_one_request_then_remembered);
		tcase_add_test(tc, lookup_of_another_hosts_object);
		tcase_add_test(tc, write_is_one_put);
		tcase_add_test(tc, alfresco_pattern_is_one_put);
		tcase_add_test(tc, rename_moves_the_object);
		tcase_add_test(tc, unlink_removes_the_object);
		tcase_add_test(tc, unlink_while_writing_stores_nothing);
		tcase_add_test(tc, listing_merges_store_and_local);
		tcase_add_test(tc, listing_of_many_pages);
		tcase_add_test(tc, rmdir_of_local_and_stored_directories);
		tcase_add_test(tc, node_table_stays_bounded);
		tcase_add_test(tc, listing_is_kept_until_a_change_here);
		if (i == 1)
			tcase_add_test(tc, journal_replay_after_unmount);
		suite_add_tcase(s, tc);
	}
	TCase *tc = tcase_create("dircache");
	tcase_add_test(tc, dircache_bounds_and_generations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
