/* test_cache.c - the cache and upload layers over an in-memory store that
 * stands in for S3 through the store_ops table (no network). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache.h"
#include "journal.h"
#include "stats.h"
#include "upload.h"
#include "workq.h"

/* ---- the memory store: one object, multipart parts, request counts ---- */

#define MEM_MAX (64 << 20)

struct mem_store {
	pthread_mutex_t lock;
	char key[S3_KEY_MAX + 1];
	unsigned char *data;
	long long size;
	int exists;
	unsigned char *parts[64];
	long long part_len[64];
	int gets, puts, mpu_creates, parts_sent, completes, aborts;
	int md5_given;    /* bodies that came with the uploader's own MD5 */
	int fail_parts;   /* UploadPart answers -EIO while > 0 */
	int corrupt_gets; /* GETs that flip their first byte while > 0 */
};

static void md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char md[16];
	unsigned int len = 16;
	EVP_Digest(p, n, md, &len, EVP_md5(), NULL);
	s3_md5_hex(md, out);
}

/* A Content-MD5 the uploader gave must be the body's: S3 would refuse. */
static void check_given_md5(struct mem_store *m, const char *b64, const void *p, size_t n)
{
	unsigned char md[16];
	unsigned int len = 16;
	char want[25];

	if (!b64)
		return;
	EVP_Digest(p, n, md, &len, EVP_md5(), NULL);
	s3_md5_base64(md, want);
	ck_assert_str_eq(b64, want);
	m->md5_given++;
}

static int body_read(const struct http_body *b, unsigned char *dst)
{
	if (b->kind == HTTP_BODY_MEM) {
		memcpy(dst, b->mem, b->len);
		return 0;
	}
	return pread(b->fd, dst, b->len, b->off) == (ssize_t)b->len ? 0 : -EIO;
}

static int m_get(void *ctx, const struct target *t, long long off, long long len,
		 const char *if_match, struct http_sink *sink, struct s3_obj_info *info)
{
	struct mem_store *m = ctx;
	pthread_mutex_lock(&m->lock);
	m->gets++;
	if (!m->exists || strcmp(t->key, m->key) != 0) {
		pthread_mutex_unlock(&m->lock);
		return -ENOENT;
	}
	long long end = len < 0 || off + len > m->size ? m->size : off + len;
	long long n = off < end ? end - off : 0;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->size = m->size;
		md5_hex(m->data, (size_t)m->size, info->etag);
	}
	if (sink->kind == HTTP_SINK_FD)
		ck_assert_int_eq(pwrite(sink->fd, m->data + off, (size_t)n, sink->off), n);
	else
		memcpy(sink->buf, m->data + off, (size_t)n);
	if (m->corrupt_gets > 0 && n > 0) {
		/* A server or middlebox flipping a byte, same length. */
		unsigned char bad = m->data[off] ^ 0x55;
		m->corrupt_gets--;
		if (sink->kind == HTTP_SINK_FD)
			ck_assert_int_eq(pwrite(sink->fd, &bad, 1, sink->off), 1);
		else
			sink->buf[0] = (char)bad;
	}
	sink->len = (size_t)n;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int m_head(void *ctx, const struct target *t, struct s3_obj_info *info)
{
	struct http_sink sink = { .kind = HTTP_SINK_DISCARD };
	(void)sink;
	struct mem_store *m = ctx;
	if (!m->exists)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	info->size = m->size;
	md5_hex(m->data, (size_t)m->size, info->etag);
	return 0;
}

static int m_put(void *ctx, const struct target *t, const struct http_body *body, const char *md5,
		 const struct s3_checksum *ck, const struct s3_meta_pair *meta, size_t nmeta,
		 char *etag, size_t etaglen)
{
	struct mem_store *m = ctx;
	pthread_mutex_lock(&m->lock);
	m->puts++;
	free(m->data);
	m->data = malloc(body->len + 1);
	body_read(body, m->data);
	check_given_md5(m, md5, m->data, body->len);
	m->size = (long long)body->len;
	m->exists = 1;
	snprintf(m->key, sizeof(m->key), "%s", t->key);
	md5_hex(m->data, body->len, etag);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int m_mpu_create(void *ctx, const struct target *t, const struct s3_meta_pair *meta,
			size_t nmeta, enum checksum_alg alg, char *id, size_t idlen)
{
	struct mem_store *m = ctx;
	pthread_mutex_lock(&m->lock);
	m->mpu_creates++;
	pthread_mutex_unlock(&m->lock);
	snprintf(id, idlen, "upload-1");
	return 0;
}

static int m_mpu_part(void *ctx, const struct target *t, const char *id, int n,
		      const struct http_body *body, const char *md5, const struct s3_checksum *ck,
		      char *etag, size_t etaglen)
{
	struct mem_store *m = ctx;
	unsigned char *buf = malloc(body->len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(body_read(body, buf), 0);
	pthread_mutex_lock(&m->lock);
	if (m->fail_parts > 0) {
		m->fail_parts--;
		pthread_mutex_unlock(&m->lock);
		free(buf);
		return -EIO;
	}
	m->parts_sent++;
	check_given_md5(m, md5, buf, body->len);
	free(m->parts[n - 1]);
	m->parts[n - 1] = buf;
	m->part_len[n - 1] = (long long)body->len;
	md5_hex(buf, body->len, etag);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int m_mpu_complete(void *ctx, const struct target *t, const char *id,
			  const struct s3_part *parts, size_t nparts,
			  const struct s3_checksum *full, char *etag, size_t etaglen)
{
	struct mem_store *m = ctx;
	long long total = 0;
	pthread_mutex_lock(&m->lock);
	m->completes++;
	for (size_t i = 0; i < nparts; i++) {
		char want[33];
		md5_hex(m->parts[i], (size_t)m->part_len[i], want);
		ck_assert_str_eq(parts[i].etag, want); /* the list names what was sent */
		total += m->part_len[i];
	}
	free(m->data);
	m->data = malloc((size_t)total + 1);
	total = 0;
	for (size_t i = 0; i < nparts; i++) {
		memcpy(m->data + total, m->parts[i], (size_t)m->part_len[i]);
		total += m->part_len[i];
	}
	m->size = total;
	m->exists = 1;
	snprintf(m->key, sizeof(m->key), "%s", t->key);
	snprintf(etag, etaglen, "mpu-%zu", nparts);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int m_mpu_abort(void *ctx, const struct target *t, const char *id)
{
	struct mem_store *m = ctx;
	pthread_mutex_lock(&m->lock);
	m->aborts++;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static const struct store_ops mem_ops = {
	.get = m_get,
	.head = m_head,
	.put = m_put,
	.mpu_create = m_mpu_create,
	.mpu_part = m_mpu_part,
	.mpu_complete = m_mpu_complete,
	.mpu_abort = m_mpu_abort,
};

static struct mem_store mem;
static struct workq *q;
static char dir[] = "/tmp/s3csfs-test-cache.XXXXXX";
static struct bucket_conf bucket = { .name = "b", .key_prefix = "" };

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	pthread_mutex_init(&mem.lock, NULL);
	strcpy(dir, "/tmp/s3csfs-test-cache.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	q = workq_new(4, "test");
	ck_assert_ptr_nonnull(q);
}

static void teardown(void)
{
	char cmd[256];
	workq_free(q);
	free(mem.data);
	for (int i = 0; i < 64; i++)
		free(mem.parts[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Fetch jobs drop their pins after waking readers: drain the queue before
 * cache_close, as the daemon does at unmount. */
static void drain(void)
{
	workq_free(q);
	q = workq_new(4, "test");
	ck_assert_ptr_nonnull(q);
}

static struct target target_of(const char *key)
{
	struct target t = { .bucket = &bucket };
	snprintf(t.key, sizeof(t.key), "%s", key);
	return t;
}

static unsigned char *pattern(long long n, int seed)
{
	unsigned char *p = malloc((size_t)n);
	ck_assert_ptr_nonnull(p);
	for (long long i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 31 + seed) ^ (i >> 9));
	return p;
}

/* ---- tests ---- */

START_TEST(test_small_file_one_put)
{
	struct store st = { &mem_ops, &mem };
	struct upload_ctx ux = { st, q, 5 << 20 };
	char err[256], etag[S3_ETAG_MAX];
	struct cache *c = cache_open(dir, 64 << 20, &st, q, 5 << 20, err, sizeof(err));
	struct target t = target_of("2026/1/1/a.bin");
	struct cache_entry *e;
	unsigned char *data = pattern(100000, 1);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cache_get(c, &t, 1, &e), 0);
	ck_assert_int_eq(cache_begin_write(c, e, 0), 0);
	ck_assert_int_eq(pwrite(e->fd, data, 100000, 0), 100000);
	cache_written(c, e, 100000);
	struct upload *u = upload_new(&ux, &t, e->fd);
	upload_hash(u, data, 60000, 0);
	upload_hash(u, data + 60000, 40000, 60000);
	upload_progress(u, 100000);
	char digest[48], want[40];
	ck_assert_int_eq(upload_digest(u, 100000, digest, sizeof(digest)), 0);
	md5_hex(data, 100000, want);
	ck_assert_str_eq(digest, want);
	ck_assert_int_eq(upload_finish(u, 100000, etag, sizeof(etag)), 0);
	ck_assert_int_eq(mem.md5_given, 1); /* hashed as written: not read back */
	upload_free(u);
	cache_write_done(c, e, etag);
	cache_put(c, e);
	ck_assert_int_eq(mem.puts, 1);
	ck_assert_int_eq(mem.mpu_creates, 0);
	ck_assert_int_eq(mem.size, 100000);
	ck_assert_mem_eq(mem.data, data, 100000);
	cache_close(c);
	free(data);
}
END_TEST

START_TEST(test_multipart_streams_and_resends)
{
	struct store st = { &mem_ops, &mem };
	long long ps = 5 << 20, size = 3 * ps + 12345;
	struct upload_ctx ux = { st, q, ps };
	char err[256], etag[S3_ETAG_MAX];
	struct cache *c = cache_open(dir, 64 << 20, &st, q, ps, err, sizeof(err));
	struct target t = target_of("big.bin");
	struct cache_entry *e;
	unsigned char *data = pattern(size, 2);

	ck_assert_int_eq(cache_get(c, &t, 1, &e), 0);
	ck_assert_int_eq(cache_begin_write(c, e, 0), 0);
	/* Sequential writes: parts go while writing. */
	struct upload *u = upload_new(&ux, &t, e->fd);
	for (long long off = 0; off < size; off += 1 << 20) {
		long long n = size - off < (1 << 20) ? size - off : (1 << 20);
		ck_assert_int_eq(pwrite(e->fd, data + off, (size_t)n, off), n);
		upload_hash(u, data + off, (size_t)n, off);
		upload_progress(u, off + n);
	}
	ck_assert_int_eq(mem.mpu_creates, 1);
	/* The digest S3 would give: MD5 of the 4 part MD5s, "-4". */
	char digest[48], want[40];
	unsigned char cat[4 * 16];
	for (int i = 0; i < 4; i++) {
		unsigned int len = 16;
		long long plen = i < 3 ? ps : size - 3 * ps;
		EVP_Digest(data + i * ps, (size_t)plen, cat + 16 * i, &len, EVP_md5(), NULL);
	}
	md5_hex(cat, sizeof(cat), want);
	strcat(want, "-4");
	ck_assert_int_eq(upload_digest(u, size, digest, sizeof(digest)), 0);
	ck_assert_str_eq(digest, want);
	/* The full-object CRC64NVME, combined from the parts' as written. */
	struct s3_checksum full;
	unsigned char raw[8];
	char b64[CHECKSUM_B64_MAX];
	ck_assert_int_eq(upload_checksum(u, size, &full), 0);
	ck_assert_int_eq(full.alg, CK_CRC64NVME);
	checksum_crc_bytes(CK_CRC64NVME, checksum_crc64nvme(0, data, (size_t)size), raw);
	checksum_base64(raw, 8, b64);
	ck_assert_str_eq(full.b64, b64);
	/* Rewrite a byte inside part 1 after it may have been sent. */
	data[ps + 10] ^= 0xff;
	ck_assert_int_eq(pwrite(e->fd, data + ps + 10, 1, ps + 10), 1);
	upload_hash(u, data + ps + 10, 1, ps + 10);
	upload_invalidate(u, ps + 10, 1);
	ck_assert_int_eq(upload_digest(u, size, digest, sizeof(digest)), -ENOENT);
	ck_assert_int_eq(upload_checksum(u, size, &full), -ENOENT);
	ck_assert_int_eq(upload_finish(u, size, etag, sizeof(etag)), 0);
	ck_assert_str_eq(etag, "mpu-4");
	/* Every part came with its MD5 (every check_given_md5 passed): those
	 * hashed as written, and the rewritten part 1 and the last one
	 * (hashing stopped at the rewrite), hashed from the file when sent,
	 * MD5 and CRC64NVME in one reading. */
	ck_assert_int_eq(mem.md5_given, mem.parts_sent);
	ck_assert_int_eq(mem.size, size);
	ck_assert_mem_eq(mem.data, data, (size_t)size);
	ck_assert_int_eq(mem.completes, 1);
	ck_assert_int_eq(mem.aborts, 0);
	upload_free(u);
	cache_write_done(c, e, etag);
	cache_put(c, e);
	cache_close(c);
	free(data);
}
END_TEST

START_TEST(test_failed_part_aborts)
{
	struct store st = { &mem_ops, &mem };
	long long ps = 5 << 20, size = 2 * ps + 1;
	struct upload_ctx ux = { st, q, ps };
	char etag[S3_ETAG_MAX];
	unsigned char *data = pattern(size, 3);
	char path[300];
	snprintf(path, sizeof(path), "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	struct target t = target_of("fail.bin");

	ck_assert_int_eq(pwrite(fd, data, (size_t)size, 0), size);
	mem.fail_parts = 1000;
	struct upload *u = upload_new(&ux, &t, fd);
	ck_assert_int_eq(upload_finish(u, size, etag, sizeof(etag)), -EIO);
	ck_assert_int_eq(mem.aborts, 1); /* not left behind */
	ck_assert_int_eq(mem.exists, 0);
	upload_free(u);
	close(fd);
	free(data);
}
END_TEST

/* Fills an object in ranges, then checks a new run keeps it; returns
 * whether its record was a sidecar file (1) or an xattr (0). */
static int fill_and_restart(void)
{
	struct store st = { &mem_ops, &mem };
	long long size = 3 * CACHE_BLOCK + 777;
	char err[256], etag[33];
	struct target t = target_of("2026/1/1/r.bin");
	struct cache_entry *e;
	unsigned char *data = pattern(size, 4), buf[4096];

	mem.data = malloc((size_t)size);
	memcpy(mem.data, data, (size_t)size);
	mem.size = size;
	mem.exists = 1;
	strcpy(mem.key, t.key);
	md5_hex(data, (size_t)size, etag);

	struct cache *c = cache_open(dir, 64 << 20, &st, q, 2 * CACHE_BLOCK, err, sizeof(err));
	ck_assert_int_eq(cache_get(c, &t, 1, &e), 0);
	cache_set_object(c, e, size, etag, 0);
	/* A read in the middle of an object this small fetches all of it
	 * (two chunks), checked against its MD5 ETag before any byte is
	 * handed out. */
	ck_assert_int_eq(cache_fill(c, e, 2 * CACHE_BLOCK + 5, 4096, 0), 0);
	ck_assert_int_eq(pread(e->fd, buf, 4096, 2 * CACHE_BLOCK + 5), 4096);
	ck_assert_mem_eq(buf, data + 2 * CACHE_BLOCK + 5, 4096);
	ck_assert_int_eq(mem.gets, 2);
	ck_assert_int_eq(e->complete, 1);
	/* Then nothing more is fetched. */
	ck_assert_int_eq(cache_fill(c, e, 0, size, 0), 0);
	ck_assert_int_eq(e->complete, 1);
	int gets = mem.gets;
	ck_assert_int_eq(cache_fill(c, e, 0, size, 0), 0);
	ck_assert_int_eq(mem.gets, gets);
	char data_path[512], meta_file[520];
	ck_assert_int_eq(cache_data_path(c, e->name, data_path, sizeof(data_path)), 0);
	snprintf(meta_file, sizeof(meta_file), "%s.meta", data_path);
	int sidecar = access(meta_file, F_OK) == 0;
	/* Exactly one of the two holds the record. */
	ck_assert_int_eq(getxattr(data_path, "user.s3csfs.meta", NULL, 0) > 0, !sidecar);
	cache_put(c, e);
	drain();
	cache_close(c);

	/* A new run keeps the complete file, unverified until checked. */
	c = cache_open(dir, 64 << 20, &st, q, 2 * CACHE_BLOCK, err, sizeof(err));
	ck_assert_int_eq(cache_get(c, &t, 0, &e), 0);
	ck_assert_int_eq(e->complete, 1);
	ck_assert_int_eq(e->verified, 0);
	ck_assert_str_eq(e->etag, etag);
	unsigned char *all = malloc((size_t)size);
	ck_assert_int_eq(pread(e->fd, all, (size_t)size, 0), size);
	ck_assert_mem_eq(all, data, (size_t)size);
	/* A different ETag in S3 drops the stale bytes. */
	cache_set_object(c, e, size, "0123456789abcdef0123456789abcdef", 0);
	ck_assert_int_eq(e->complete, 0);
	/* ... and forgets its record. */
	ck_assert_int_lt(getxattr(data_path, "user.s3csfs.meta", NULL, 0), 0);
	ck_assert_int_ne(access(meta_file, F_OK), 0);
	cache_put(c, e);
	drain();
	cache_close(c);
	free(all);
	free(data);
	return sidecar;
}

/* A flipped byte is fetched again once; twice is EIO, nothing kept. */
START_TEST(test_fill_verifies)
{
	struct store st = { &mem_ops, &mem };
	long long size = 3 * CACHE_BLOCK + 777;
	char err[256], etag[33];
	struct target t = target_of("2026/1/1/v.bin");
	struct cache_entry *e;
	unsigned char *data = pattern(size, 7), buf[4096];

	mem.data = malloc((size_t)size);
	memcpy(mem.data, data, (size_t)size);
	mem.size = size;
	mem.exists = 1;
	strcpy(mem.key, t.key);
	md5_hex(data, (size_t)size, etag);
	struct cache *c = cache_open(dir, 64 << 20, &st, q, 2 * CACHE_BLOCK, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cache_get(c, &t, 1, &e), 0);
	cache_set_object(c, e, size, etag, 0);
	mem.corrupt_gets = 1;
	ck_assert_int_eq(cache_fill(c, e, 0, 4096, 0), 0);
	ck_assert_int_eq(e->complete, 1);
	ck_assert_int_eq(pread(e->fd, buf, 4096, 0), 4096);
	ck_assert_mem_eq(buf, data, 4096);
	ck_assert_int_eq(mem.gets, 4); /* two chunks, twice */
	cache_drop(c, e);
	cache_put(c, e);

	ck_assert_int_eq(cache_get(c, &t, 1, &e), 0);
	cache_set_object(c, e, size, etag, 0);
	mem.corrupt_gets = 1000;
	ck_assert_int_eq(cache_fill(c, e, 0, 4096, 0), -EIO);
	ck_assert_int_eq(e->complete, 0);
	ck_assert_int_eq(e->disk_bytes, 0);
	/* Read around a full disk: the same, from memory; the last window
	 * (of 2 MiB here) only once the digest streamed over all matched. */
	long long tail = size - 100;
	mem.corrupt_gets = 1;
	ck_assert_int_eq(cache_read_direct(c, e, (char *)buf, 4096, tail), 100);
	ck_assert_mem_eq(buf, data + tail, 100);
	mem.corrupt_gets = 1000;
	cache_drop(c, e);
	cache_put(c, e);
	ck_assert_int_eq(cache_get(c, &t, 1, &e), 0);
	cache_set_object(c, e, size, etag, 0);
	ck_assert_int_eq(cache_read_direct(c, e, (char *)buf, 4096, tail), -EIO);
	mem.corrupt_gets = 0;
	/* A sequential reader: windows in order, the last checked. */
	for (long long off = 0; off < size; off += 4096) {
		int n = cache_read_direct(c, e, (char *)buf, 4096, off);
		ck_assert_int_eq(n, size - off < 4096 ? size - off : 4096);
		ck_assert_mem_eq(buf, data + off, (size_t)n);
	}
	cache_put(c, e);
	drain();
	cache_close(c);
	free(data);
}
END_TEST

START_TEST(test_fill_ranges_and_survive_restart)
{
	ck_assert_int_eq(fill_and_restart(), 0); /* /tmp has user xattrs */
}
END_TEST

/* fn() with the test directory on ramfs, which has no user xattrs; its
 * result, or -1 when not root (skipped). */
static int on_ramfs(const char *test, int (*fn)(void))
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: skipped, needs root to mount ramfs\n", test);
		return -1;
	}
	ck_assert_int_eq(mount("none", dir, "ramfs", 0, "mode=0700"), 0);
	int rc = fn();
	ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	return rc;
}

START_TEST(test_survive_restart_without_xattrs)
{
	int sidecar = on_ramfs("test_survive_restart_without_xattrs", fill_and_restart);
	if (sidecar >= 0)
		ck_assert_int_eq(sidecar, 1); /* records went to sidecar files */
}
END_TEST

START_TEST(test_eviction_spares_dirty_and_pinned)
{
	struct store st = { &mem_ops, &mem };
	char err[256];
	long long max = 3 * CACHE_BLOCK;
	struct cache *c = cache_open(dir, max, &st, q, CACHE_BLOCK, err, sizeof(err));
	struct cache_entry *e[6];
	unsigned char *data = pattern(CACHE_BLOCK, 5);

	for (int i = 0; i < 6; i++) {
		char key[32];
		snprintf(key, sizeof(key), "f%d", i);
		struct target t = target_of(key);
		ck_assert_int_eq(cache_get(c, &t, 1, &e[i]), 0);
		ck_assert_int_eq(cache_begin_write(c, e[i], 0), 0);
		ck_assert_int_eq(pwrite(e[i]->fd, data, CACHE_BLOCK, 0), CACHE_BLOCK);
		cache_written(c, e[i], CACHE_BLOCK);
	}
	/* f0..f3 become clean and unused; f4 stays dirty; f5 stays pinned. */
	for (int i = 0; i < 4; i++) {
		cache_write_done(c, e[i], "etag");
		cache_put(c, e[i]);
	}
	cache_write_done(c, e[5], "etag");
	cache_put(c, e[4]);
	ck_assert_int_le(STAT_GET(cache_bytes), max);
	struct target t4 = target_of("f4"), t5 = target_of("f5"), t0 = target_of("f0");
	struct cache_entry *x;
	ck_assert_int_eq(cache_get(c, &t4, 0, &x), 0); /* dirty: kept */
	ck_assert_int_eq(x->dirty, 1);
	cache_write_done(c, x, NULL);
	cache_put(c, x);
	ck_assert_int_eq(cache_get(c, &t5, 0, &x), 0); /* pinned: kept */
	cache_put(c, x);
	ck_assert_int_eq(cache_get(c, &t0, 0, &x), -ENOENT); /* oldest clean: gone */
	cache_put(c, e[5]);
	cache_close(c);
	free(data);
}
END_TEST

static int replayed;
static char replayed_ck[64];
static int replayed_check; /* journal_file_check of the record, on fd ctx */
static void count_replay(void *ctx, const struct journal_record *rec)
{
	snprintf(replayed_ck, sizeof(replayed_ck), "%s", rec->checksum);
	if (ctx)
		replayed_check = journal_file_check(*(int *)ctx, rec);
	ck_assert_str_eq(rec->name, "0123abcd");
	ck_assert_str_eq(rec->path, "2026/1/1/j.bin");
	ck_assert_int_eq(rec->size, 5);
	ck_assert_str_eq(rec->md5, "5d41402abc4b2a76b9719d911017c592"); /* "hello" */
	replayed++;
}

/* A record's life in cache_dir; returns whether it was kept in a file
 * (1: no user xattrs there) or in an xattr of the cache file (0). */
static int journal_roundtrip(void)
{
	char err[256], path[300], rec[300];
	int fd, in_file;

	ck_assert_int_eq(journal_init(dir, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/objects", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/objects/01", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/objects/01/0123abcd", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "hello", 5, 0), 5);
	ck_assert_int_eq(journal_add(dir, "0123abcd", "2026/1/1/j.bin", fd, 5, NULL, 16 << 20, 1),
			 0);
	snprintf(rec, sizeof(rec), "%s/journal/0123abcd", dir);
	in_file = access(rec, F_OK) == 0;
	/* Exactly one of the two holds it. */
	ck_assert_int_eq(getxattr(path, "user.s3csfs.journal", NULL, 0) > 0, !in_file);
	ck_assert_int_eq(journal_holds(dir, "0123abcd"), 1);
	/* A half-written record (never renamed) is not replayed. */
	snprintf(path, sizeof(path), "%s/journal/feed.tmp", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	replayed = 0;
	ck_assert_int_eq(journal_replay(dir, count_replay, NULL), 1);
	ck_assert_int_eq(replayed, 1);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* A record set aside as damaged is not replayed, and is kept. */
	journal_quarantine(dir, "0123abcd");
	ck_assert_int_eq(journal_replay(dir, count_replay, NULL), 0);
	ck_assert_int_eq(journal_holds(dir, "0123abcd"), 0);
	snprintf(rec, sizeof(rec), "%s/journal/0123abcd.damaged", dir);
	ck_assert_int_eq(access(rec, F_OK), 0);
	/* A record removed once uploaded. */
	ck_assert_int_eq(journal_add(dir, "0123abcd", "2026/1/1/j.bin", fd, 5, NULL, 16 << 20, 0),
			 0);
	ck_assert_int_eq(journal_holds(dir, "0123abcd"), 1);
	journal_remove(dir, "0123abcd");
	ck_assert_int_eq(journal_holds(dir, "0123abcd"), 0);
	ck_assert_int_eq(journal_replay(dir, count_replay, NULL), 0);
	/* With the flexible checksum: a replay checks the data by it. */
	struct s3_checksum ck = { .alg = CK_CRC64NVME };
	unsigned char raw[8];
	checksum_crc_bytes(CK_CRC64NVME, checksum_crc64nvme(0, "hello", 5), raw);
	checksum_base64(raw, 8, ck.b64);
	ck_assert_int_eq(journal_add_ck(dir, "0123abcd", "2026/1/1/j.bin", fd, 5, NULL, 16 << 20,
					&ck, 0),
			 0);
	replayed_check = 1;
	ck_assert_int_eq(journal_replay(dir, count_replay, &fd), 1);
	ck_assert_int_eq(replayed_check, 0);
	ck_assert_str_eq(replayed_ck + strlen("crc64nvme "), ck.b64);
	ck_assert_int_eq(pwrite(fd, "j", 1, 0), 1); /* damaged: "jello" */
	ck_assert_int_eq(journal_replay(dir, count_replay, &fd), 1);
	ck_assert_int_eq(replayed_check, -EBADMSG);
	ck_assert_int_eq(pwrite(fd, "h", 1, 0), 1);
	journal_remove(dir, "0123abcd");
	/* In parts of 2 bytes, the digest is S3's multipart ETag. */
	unsigned char cat[48];
	char digest[48], want[40];
	for (int i = 0; i < 3; i++) {
		unsigned int len = 16;
		EVP_Digest("hello" + 2 * i, i < 2 ? 2 : 1, cat + 16 * i, &len, EVP_md5(), NULL);
	}
	md5_hex(cat, sizeof(cat), want);
	strcat(want, "-3");
	ck_assert_int_eq(journal_file_digest(fd, 5, 2, digest, sizeof(digest)), 0);
	ck_assert_str_eq(digest, want);
	ck_assert_int_eq(journal_file_digest(fd, 5, 5, digest, sizeof(digest)), 0);
	ck_assert_str_eq(digest, "5d41402abc4b2a76b9719d911017c592"); /* one part: its MD5 */
	close(fd);
	return in_file;
}

START_TEST(test_journal_roundtrip)
{
	ck_assert_int_eq(journal_roundtrip(), 0); /* /tmp has user xattrs */
}
END_TEST

START_TEST(test_journal_roundtrip_without_xattrs)
{
	int in_file = on_ramfs("test_journal_roundtrip_without_xattrs", journal_roundtrip);
	if (in_file >= 0)
		ck_assert_int_eq(in_file, 1); /* records went to journal/ files */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_small_file_one_put);
	tcase_add_test(tc, test_multipart_streams_and_resends);
	tcase_add_test(tc, test_failed_part_aborts);
	tcase_add_test(tc, test_fill_verifies);
	tcase_add_test(tc, test_fill_ranges_and_survive_restart);
	tcase_add_test(tc, test_survive_restart_without_xattrs);
	tcase_add_test(tc, test_eviction_spares_dirty_and_pinned);
	tcase_add_test(tc, test_journal_roundtrip);
	tcase_add_test(tc, test_journal_roundtrip_without_xattrs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
