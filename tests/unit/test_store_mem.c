/* test_store_mem.c - the in-memory store (store_mem.h) against S3's
 * semantics as store.h and s3_client.h state them. No network, no sleeps. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_mem.h"

static struct bucket_conf bk = { .name = "b", .key_prefix = "" };
static struct bucket_conf bk2 = { .name = "other", .key_prefix = "" };
static struct bucket_conf bflat = { .name = "f", .key_prefix = "", .key_layout = KEY_LAYOUT_FLAT };
static struct bucket_conf btag = { .name = "t", .key_prefix = "", .on_delete = "tag:gone=1" };

static struct store_mem *m;
static const struct store_ops *ops = &store_mem_ops;

static void setup(void)
{
	m = store_mem_new(1000, 64 << 20);
	ck_assert_ptr_nonnull(m);
	store_mem_set_min_part(m, 1);
}

static void teardown(void)
{
	store_mem_free(m);
	m = NULL;
}

static struct target tgt(const struct bucket_conf *b, const char *key)
{
	struct target t;
	memset(&t, 0, sizeof(t));
	t.bucket = b;
	snprintf(t.key, sizeof(t.key), "%s", key);
	snprintf(t.path, sizeof(t.path), "%s", key);
	return t;
}

static void md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char md[16];
	unsigned int len = 16;
	ck_assert_int_eq(EVP_Digest(p, n, md, &len, EVP_md5(), NULL), 1);
	s3_md5_hex(md, out);
}

static void md5_b64(const void *p, size_t n, char out[25])
{
	unsigned char md[16];
	unsigned int len = 16;
	ck_assert_int_eq(EVP_Digest(p, n, md, &len, EVP_md5(), NULL), 1);
	s3_md5_base64(md, out);
}

static int put_str(const struct bucket_conf *b, const char *key, const char *s, char *etag)
{
	struct target t = tgt(b, key);
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = s, .len = strlen(s) };
	return ops->put(m, &t, &body, NULL, NULL, NULL, 0, etag, etag ? S3_ETAG_MAX : 0);
}

/* The object's bytes through get, as a NUL-terminated string. */
static int get_str(const struct bucket_conf *b, const char *key, long long off, long long len,
		   char *out, size_t cap)
{
	struct target t = tgt(b, key);
	struct http_sink sink = { .kind = HTTP_SINK_MEM };
	int rc = ops->get(m, &t, off, len, NULL, &sink, NULL);
	if (rc == 0)
		snprintf(out, cap, "%.*s", (int)sink.len, sink.buf ? sink.buf : "");
	if (sink.owned)
		free(sink.buf);
	return rc;
}

START_TEST(put_get_range_head)
{
	struct target t = tgt(&bk, "dir/x.bin");
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = "hello world", .len = 11 };
	struct s3_meta_pair meta[] = { { "Color", "blue" }, { "mode", "0644" } };
	struct s3_obj_info info;
	char etag[S3_ETAG_MAX], want[33], buf[64], v[16];

	store_mem_set_time(m, 1700000000);
	ck_assert_int_eq(ops->put(m, &t, &body, NULL, NULL, meta, 2, etag, sizeof(etag)), 0);
	md5_hex("hello world", 11, want);
	ck_assert_str_eq(etag, want); /* no quotes, as the client strips them */

	ck_assert_int_eq(get_str(&bk, "dir/x.bin", 0, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "hello world");
	ck_assert_int_eq(get_str(&bk, "dir/x.bin", 6, 5, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "world");
	ck_assert_int_eq(get_str(&bk, "dir/x.bin", 6, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "world");
	ck_assert_int_eq(get_str(&bk, "dir/x.bin", 3, 100, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "lo world");

	/* Past the end: 0 bytes and the object's size. */
	struct http_sink sink = { .kind = HTTP_SINK_DISCARD };
	ck_assert_int_eq(ops->get(m, &t, 50, 10, NULL, &sink, &info), 0);
	ck_assert_uint_eq(sink.len, 0);
	ck_assert_int_eq(info.size, 11);

	/* A caller's buffer: its cap holds. */
	char small[4];
	struct http_sink sb = { .kind = HTTP_SINK_MEM, .buf = small, .cap = sizeof(small) };
	ck_assert_int_eq(ops->get(m, &t, 0, 4, NULL, &sb, NULL), 0);
	ck_assert_int_eq(memcmp(small, "hell", 4), 0);
	ck_assert_int_eq(ops->get(m, &t, 0, -1, NULL, &sb, NULL), -EMSGSIZE);

	/* A descriptor at an offset. */
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	struct http_sink sf = { .kind = HTTP_SINK_FD, .fd = fileno(f), .off = 3 };
	ck_assert_int_eq(ops->get(m, &t, 0, 5, NULL, &sf, &info), 0);
	ck_assert_uint_eq(sf.len, 5);
	ck_assert_int_eq(pread(fileno(f), buf, 8, 0), 8);
	ck_assert_int_eq(memcmp(buf + 3, "hello", 5), 0);
	fclose(f);

	/* If-Match: quotes or not; another ETag is -ESTALE. */
	sink = (struct http_sink){ .kind = HTTP_SINK_DISCARD };
	ck_assert_int_eq(ops->get(m, &t, 0, -1, want, &sink, NULL), 0);
	char quoted[40];
	snprintf(quoted, sizeof(quoted), "\"%s\"", want);
	ck_assert_int_eq(ops->get(m, &t, 0, -1, quoted, &sink, NULL), 0);
	ck_assert_int_eq(ops->get(m, &t, 0, -1, "0123456789abcdef0123456789abcdef", &sink, NULL),
			 -ESTALE);

	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	ck_assert_int_eq(info.size, 11);
	ck_assert_str_eq(info.etag, want);
	ck_assert_int_eq(info.mtime, 1700000000);
	ck_assert_str_eq(info.meta, "color=blue\nmode=0644\n");
	ck_assert_int_eq(s3_obj_meta_get(&info, "color", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "blue");
	ck_assert_str_eq(info.storage_class, "STANDARD");

	struct target none = tgt(&bk, "nope");
	ck_assert_int_eq(ops->head(m, &none, &info), -ENOENT);
	ck_assert_int_eq(ops->get(m, &none, 0, -1, NULL, &sink, NULL), -ENOENT);
	/* Another bucket, same key: another object. */
	struct target ob = tgt(&bk2, "dir/x.bin");
	ck_assert_int_eq(ops->head(m, &ob, &info), -ENOENT);
	ck_assert_uint_eq(store_mem_nobjects(m), 1);
	ck_assert_int_eq(store_mem_nbytes(m), 11);
}
END_TEST

START_TEST(put_checks_digests)
{
	struct target t = tgt(&bk, "k");
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = "abc", .len = 3 };
	struct s3_checksum ck = { .alg = CK_CRC32C };
	struct s3_obj_info info;
	unsigned char raw[16];
	char b64[25], line[64];
	struct checksum c;

	md5_b64("abd", 3, b64);
	ck_assert_int_eq(ops->put(m, &t, &body, b64, NULL, NULL, 0, NULL, 0), -EIO);
	ck_assert_int_eq(ops->put(m, &t, &body, "short", NULL, NULL, 0, NULL, 0), -EINVAL);
	md5_b64("abc", 3, b64);
	snprintf(ck.b64, sizeof(ck.b64), "AAAAAA==");
	ck_assert_int_eq(ops->put(m, &t, &body, b64, &ck, NULL, 0, NULL, 0), -EIO);
	ck_assert_uint_eq(store_mem_nobjects(m), 0);

	ck_assert_int_eq(checksum_init(&c, CK_CRC32C), 0);
	checksum_update(&c, "abc", 3);
	checksum_final(&c, raw);
	checksum_free(&c);
	checksum_base64(raw, 4, ck.b64);
	ck_assert_int_eq(ops->put(m, &t, &body, b64, &ck, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	snprintf(line, sizeof(line), "crc32c=%s\n", ck.b64);
	ck_assert_str_eq(info.checksums, line);
	ck_assert_str_eq(info.checksum_type, "FULL_OBJECT");
	unsigned char got[16];
	ck_assert_int_eq(s3_obj_checksum(&info, CK_CRC32C, got), 0);
	ck_assert_int_eq(memcmp(got, raw, 4), 0);

	/* A ranged get gives no checksum, as S3. */
	struct http_sink sink = { .kind = HTTP_SINK_DISCARD };
	ck_assert_int_eq(ops->get(m, &t, 1, 1, NULL, &sink, &info), 0);
	ck_assert_str_eq(info.checksums, "");

	/* A body from a descriptor. */
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(pwrite(fileno(f), "xxpayload", 9, 0), 9);
	struct http_body fb = { .kind = HTTP_BODY_FD, .fd = fileno(f), .off = 2, .len = 7 };
	ck_assert_int_eq(ops->put(m, &t, &fb, NULL, NULL, NULL, 0, NULL, 0), 0);
	fclose(f);
	void *data;
	size_t len;
	ck_assert_int_eq(store_mem_object(m, "b", "k", &data, &len, NULL), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_str_eq(data, "payload");
	free(data);
	ck_assert_int_eq(store_mem_object(m, "b", "nope", &data, &len, NULL), -ENOENT);
}
END_TEST

START_TEST(put_new_semantics)
{
	struct target t = tgt(&bk, "n");
	struct http_body a = { .kind = HTTP_BODY_MEM, .mem = "same", .len = 4 };
	struct http_body b = { .kind = HTTP_BODY_MEM, .mem = "diff", .len = 4 };
	char e1[S3_ETAG_MAX], e2[S3_ETAG_MAX] = "";
	char buf[16];

	ck_assert_int_eq(ops->put_new(m, &t, &a, NULL, NULL, NULL, 0, e1, sizeof(e1)), 0);
	ck_assert_int_eq(ops->put_new(m, &t, &a, NULL, NULL, NULL, 0, e2, sizeof(e2)), 0);
	ck_assert_str_eq(e1, e2);
	ck_assert_int_eq(ops->put_new(m, &t, &b, NULL, NULL, NULL, 0, e2, sizeof(e2)), -EEXIST);
	ck_assert_int_eq(get_str(&bk, "n", 0, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "same");
	/* A plain put replaces. */
	ck_assert_int_eq(ops->put(m, &t, &b, NULL, NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(get_str(&bk, "n", 0, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "diff");
	ck_assert_uint_eq(store_mem_nobjects(m), 1);
	ck_assert_int_eq(store_mem_nbytes(m), 4);
}
END_TEST

START_TEST(remove_and_retire)
{
	struct target t = tgt(&bk, "r"), tt = tgt(&btag, "r");
	struct s3_obj_info info;
	struct s3_list_result l;

	ck_assert_int_eq(ops->remove(m, &t), 0); /* missing: success */
	ck_assert_int_eq(put_str(&bk, "r", "x", NULL), 0);
	ck_assert_int_eq(ops->remove(m, &t), 0);
	ck_assert_int_eq(ops->head(m, &t, &info), -ENOENT);
	ck_assert_int_eq(store_mem_nbytes(m), 0);

	/* on_delete = delete. */
	ck_assert_int_eq(put_str(&bk, "r", "x", NULL), 0);
	ck_assert_int_eq(ops->retire(m, &t), 0);
	ck_assert_uint_eq(store_mem_nobjects(m), 0);

	/* on_delete = tag: hidden here, kept for other hosts. */
	ck_assert_int_eq(put_str(&btag, "r", "y", NULL), 0);
	ck_assert_int_eq(ops->retire(m, &tt), 0);
	ck_assert_int_eq(ops->head(m, &tt, &info), -ENOENT);
	ck_assert_int_eq(store_mem_retired(m, "t", "r"), 1);
	ck_assert_int_eq(store_mem_object(m, "t", "r", NULL, NULL, &info), 0);
	ck_assert_int_eq(ops->list(m, &btag, "", "/", NULL, 0, &l), 0);
	ck_assert_uint_eq(l.nobjects, 0);
	s3xml_list_result_free(&l);
	ck_assert_int_eq(ops->retire(m, &tt), 0);
	/* put_new over a retired object: ours, replaced. */
	struct http_body b = { .kind = HTTP_BODY_MEM, .mem = "z", .len = 1 };
	ck_assert_int_eq(ops->put_new(m, &tt, &b, NULL, NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(store_mem_retired(m, "t", "r"), 0);
	ck_assert_int_eq(ops->head(m, &tt, &info), 0);
	ck_assert_int_eq(info.size, 1);
	ck_assert_int_eq(store_mem_remove_raw(m, "t", "r"), 0);
	ck_assert_int_eq(store_mem_remove_raw(m, "t", "r"), -ENOENT);
}
END_TEST

/* Every item of every page, "k:" keys and "p:" prefixes, comma-joined. */
static void list_all(const struct bucket_conf *b, const char *prefix, const char *delim, int max,
		     char *out, size_t cap, int *pages)
{
	char token[S3_TOKEN_MAX] = "";
	size_t used = 0;
	out[0] = '\0';
	*pages = 0;
	for (;;) {
		struct s3_list_result r;
		ck_assert_int_eq(ops->list(m, b, prefix, delim, token, max, &r), 0);
		(*pages)++;
		/* Items interleave in key order: merge the two arrays. */
		size_t i = 0, j = 0;
		while (i < r.nobjects || j < r.nprefixes) {
			int key = j == r.nprefixes ||
				  (i < r.nobjects && strcmp(r.objects[i].key, r.prefixes[j]) < 0);
			used += (size_t)snprintf(out + used, cap - used, "%s%s:%s", used ? "," : "",
						 key ? "k" : "p",
						 key ? r.objects[i].key : r.prefixes[j]);
			if (key)
				i++;
			else
				j++;
		}
		ck_assert_uint_le(r.nobjects + r.nprefixes, (size_t)(max > 0 ? max : 1000));
		int more = r.is_truncated;
		snprintf(token, sizeof(token), "%s", r.next_token);
		s3xml_list_result_free(&r);
		if (!more)
			break;
		ck_assert_str_ne(token, "");
	}
}

START_TEST(list_delimiter_pages)
{
	const char *keys[] = { "d", "a/2", "c/x", "a/1", "b", "a/b/3", "a/" };
	char out[512];
	int pages;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_int_eq(put_str(&bk, keys[i], keys[i], NULL), 0);
	ck_assert_int_eq(put_str(&bk2, "a/zz", "other bucket", NULL), 0);

	list_all(&bk, "", "/", 0, out, sizeof(out), &pages);
	ck_assert_str_eq(out, "p:a/,k:b,p:c/,k:d");
	ck_assert_int_eq(pages, 1);
	for (int max = 1; max <= 4; max++) {
		list_all(&bk, "", "/", max, out, sizeof(out), &pages);
		ck_assert_str_eq(out, "p:a/,k:b,p:c/,k:d");
		ck_assert_int_eq(pages, (4 + max - 1) / max);
	}
	list_all(&bk, "a/", "/", 1, out, sizeof(out), &pages);
	ck_assert_str_eq(out, "k:a/,k:a/1,k:a/2,p:a/b/");
	list_all(&bk, "", NULL, 2, out, sizeof(out), &pages);
	ck_assert_str_eq(out, "k:a/,k:a/1,k:a/2,k:a/b/3,k:b,k:c/x,k:d");
	ck_assert_int_eq(pages, 4);
	list_all(&bk, "a", "/", 0, out, sizeof(out), &pages);
	ck_assert_str_eq(out, "p:a/");
	list_all(&bk, "zzz", "/", 0, out, sizeof(out), &pages);
	ck_assert_str_eq(out, "");
	list_all(&bk2, "", "/", 0, out, sizeof(out), &pages);
	ck_assert_str_eq(out, "p:a/");

	/* Entries carry size, ETag, mtime and storage class. */
	struct s3_list_result r;
	char want[33];
	ck_assert_int_eq(ops->list(m, &bk, "c/", "/", NULL, 10, &r), 0);
	ck_assert_uint_eq(r.nobjects, 1);
	ck_assert_int_eq(r.is_truncated, 0);
	ck_assert_str_eq(r.next_token, "");
	ck_assert_int_eq(r.objects[0].size, 3);
	md5_hex("c/x", 3, want);
	ck_assert_str_eq(r.objects[0].etag, want);
	ck_assert_str_eq(r.objects[0].storage_class, "STANDARD");
	ck_assert_int_ne(r.objects[0].last_modified, 0);
	s3xml_list_result_free(&r);
}
END_TEST

/* Keys of S3's full 1024 bytes still page (no token can hold them). */
START_TEST(list_long_keys)
{
	char key[S3_KEY_MAX + 1], out[4 * (S3_KEY_MAX + 8)];
	int pages;

	memset(key, 'k', S3_KEY_MAX);
	key[S3_KEY_MAX] = '\0';
	for (char c = 'a'; c <= 'c'; c++) {
		key[S3_KEY_MAX - 1] = c;
		ck_assert_int_eq(put_str(&bk, key, "v", NULL), 0);
	}
	for (int max = 1; max <= 3; max++) {
		list_all(&bk, "", "/", max, out, sizeof(out), &pages);
		ck_assert_int_eq(pages, (3 + max - 1) / max);
		ck_assert_uint_eq(strlen(out), 3 * (S3_KEY_MAX + 2) + 2);
		ck_assert_int_eq(out[S3_KEY_MAX + 1], 'a');
		ck_assert_int_eq(out[strlen(out) - 1], 'c');
	}
	struct s3_list_result r;
	ck_assert_int_eq(ops->list(m, &bk, "", "/", "\001store-mem-token:999", 1, &r), -EINVAL);
}
END_TEST

START_TEST(copy_and_copy_meta)
{
	struct target a = tgt(&bk, "a"), b = tgt(&bk, "b"), far = tgt(&bk2, "x");
	struct target none = tgt(&bk, "none"), fl = tgt(&bflat, "2026/01/02/f.bin");
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = "data", .len = 4 };
	struct s3_meta_pair meta[] = { { "Keep", "1" } }, other[] = { { "new", "2" } };
	struct s3_obj_info info;
	char e1[S3_ETAG_MAX], e2[S3_ETAG_MAX], buf[16];

	ck_assert_int_eq(ops->put(m, &a, &body, NULL, NULL, meta, 1, e1, sizeof(e1)), 0);
	ck_assert_int_eq(ops->copy(m, &a, &b, e2, sizeof(e2)), 0);
	ck_assert_str_eq(e1, e2);
	ck_assert_int_eq(ops->head(m, &b, &info), 0);
	ck_assert_str_eq(info.meta, "keep=1\n");
	ck_assert_int_eq(get_str(&bk, "b", 0, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "data");
	ck_assert_int_eq(ops->copy(m, &a, &far, NULL, 0), 0);
	ck_assert_int_eq(get_str(&bk2, "x", 0, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "data");
	ck_assert_int_eq(ops->copy(m, &none, &b, NULL, 0), -ENOENT);
	ck_assert_int_eq(ops->copy(m, &a, &a, NULL, 0), -EINVAL);

	ck_assert_int_eq(ops->copy_meta(m, &a, &a, other, 1, e2, sizeof(e2)), 0);
	ck_assert_str_eq(e1, e2);
	ck_assert_int_eq(ops->head(m, &a, &info), 0);
	ck_assert_str_eq(info.meta, "new=2\n");
	ck_assert_int_eq(ops->copy_meta(m, &b, &none, other, 1, NULL, 0), 0);
	ck_assert_int_eq(ops->head(m, &none, &info), 0);
	ck_assert_str_eq(info.meta, "new=2\n");
	ck_assert_uint_eq(store_mem_nobjects(m), 4);
	ck_assert_int_eq(store_mem_nbytes(m), 16);

	/* A flat bucket: the path in the metadata, on put and copy. */
	ck_assert_int_eq(ops->put(m, &fl, &body, NULL, NULL, meta, 1, NULL, 0), 0);
	ck_assert_int_eq(ops->head(m, &fl, &info), 0);
	ck_assert_str_eq(info.meta, "keep=1\ns3csfs-path=2026/01/02/f.bin\n");
	struct target fl2 = tgt(&bflat, "g bin");
	ck_assert_int_eq(ops->copy(m, &a, &fl2, NULL, 0), 0);
	ck_assert_int_eq(ops->head(m, &fl2, &info), 0);
	ck_assert_str_eq(info.meta, "s3csfs-path=g%20bin\n");
}
END_TEST

START_TEST(multipart)
{
	struct target t = tgt(&bk, "big");
	struct s3_meta_pair meta[] = { { "Mode", "0600" } };
	char id[S3_UPLOAD_ID_MAX], e1[S3_ETAG_MAX], e2[64], e3[S3_ETAG_MAX];
	char etag[S3_ETAG_MAX], want[48], buf[64];
	struct http_body p1 = { .kind = HTTP_BODY_MEM, .mem = "hello ", .len = 6 };
	struct http_body p2 = { .kind = HTTP_BODY_MEM, .mem = "world", .len = 5 };
	struct http_body p3 = { .kind = HTTP_BODY_MEM, .mem = "unused", .len = 6 };
	struct s3_obj_info info;

	ck_assert_int_eq(ops->mpu_create(m, &t, meta, 1, CK_NONE, id, sizeof(id)), 0);
	ck_assert_uint_eq(store_mem_nuploads(m), 1);
	/* Parts in any order; one sent twice keeps the last. */
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 2, &p3, NULL, NULL, e2, sizeof(e2)), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 2, &p2, NULL, NULL, e2, sizeof(e2)), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 1, &p1, NULL, NULL, e1, sizeof(e1)), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 3, &p3, NULL, NULL, e3, sizeof(e3)), 0);
	md5_hex("world", 5, want);
	ck_assert_str_eq(e2, want);
	ck_assert_int_eq(store_mem_nbytes(m), 17);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 0, &p1, NULL, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 10001, &p1, NULL, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(ops->mpu_part(m, &t, "no-such", 1, &p1, NULL, NULL, NULL, 0), -ENOENT);
	struct target wrong = tgt(&bk, "other");
	ck_assert_int_eq(ops->mpu_part(m, &wrong, id, 1, &p1, NULL, NULL, NULL, 0), -ENOENT);

	struct s3_part parts[2] = { { .number = 1 }, { .number = 2 } };
	snprintf(parts[0].etag, sizeof(parts[0].etag), "%s", e1);
	snprintf(parts[1].etag, sizeof(parts[1].etag), "%s", e3); /* not part 2's */
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 2, NULL, etag, sizeof(etag)), -EIO);
	struct s3_part rev[2] = { parts[1], parts[0] };
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, rev, 2, NULL, etag, sizeof(etag)), -EIO);
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 0, NULL, etag, sizeof(etag)), -EINVAL);
	ck_assert_int_eq(ops->mpu_complete(m, &t, "no-such", parts, 2, NULL, etag, sizeof(etag)),
			 -ENOENT);
	ck_assert_uint_eq(store_mem_nuploads(m), 1);

	/* Parts 1 and 2 only (3 is dropped), with a full-object CRC. */
	snprintf(parts[1].etag, sizeof(parts[1].etag), "\"%s\"", e2);
	struct s3_checksum full = { .alg = CK_CRC64NVME };
	unsigned char raw[16], md5s[32], outer[16];
	uint64_t crc = checksum_crc64nvme(0, "hello world", 11);
	checksum_crc_bytes(CK_CRC64NVME, crc, raw);
	checksum_base64(raw, 8, full.b64);
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 2, &full, etag, sizeof(etag)), 0);
	ck_assert_uint_eq(store_mem_nuploads(m), 0);
	ck_assert_int_eq(store_mem_nbytes(m), 11);

	unsigned int mdlen = 16;
	EVP_Digest("hello ", 6, md5s, &mdlen, EVP_md5(), NULL);
	EVP_Digest("world", 5, md5s + 16, &mdlen, EVP_md5(), NULL);
	EVP_Digest(md5s, 32, outer, &mdlen, EVP_md5(), NULL);
	s3_md5_hex(outer, want);
	strcat(want, "-2");
	ck_assert_str_eq(etag, want);
	ck_assert_int_eq(get_str(&bk, "big", 0, -1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "hello world");
	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	ck_assert_str_eq(info.etag, want);
	ck_assert_str_eq(info.meta, "mode=0600\n");
	unsigned char got[16];
	ck_assert_int_eq(s3_obj_checksum(&info, CK_CRC64NVME, got), 0);
	ck_assert_int_eq(memcmp(raw, got, 8), 0);
	/* Completed: the upload is gone. */
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 2, NULL, etag, sizeof(etag)), -ENOENT);

	/* A wrong full-object checksum fails and keeps the upload. */
	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_CRC64NVME, id, sizeof(id)), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 1, &p1, NULL, NULL, e1, sizeof(e1)), 0);
	snprintf(parts[0].etag, sizeof(parts[0].etag), "%s", e1);
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 1, &full, etag, sizeof(etag)), -EIO);
	ck_assert_uint_eq(store_mem_nuploads(m), 1);
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 1, NULL, etag, sizeof(etag)), 0);
	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	ck_assert_int_eq(info.size, 6);
	ck_assert_str_eq(info.checksum_type, "FULL_OBJECT"); /* declared at create */
	ck_assert_ptr_nonnull(strstr(etag, "-1"));
}
END_TEST

START_TEST(multipart_small_parts)
{
	struct target t = tgt(&bk, "s");
	struct http_body p = { .kind = HTTP_BODY_MEM, .mem = "tiny", .len = 4 };
	struct s3_part parts[2] = { { .number = 1 }, { .number = 2 } };
	char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];

	store_mem_set_min_part(m, 5LL << 20); /* S3's */
	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_NONE, id, sizeof(id)), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 1, &p, NULL, NULL, parts[0].etag, S3_ETAG_MAX), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 2, &p, NULL, NULL, parts[1].etag, S3_ETAG_MAX), 0);
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts, 2, NULL, etag, sizeof(etag)), -EINVAL);
	/* The last part may be small. */
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, parts + 1, 1, NULL, etag, sizeof(etag)), 0);
}
END_TEST

START_TEST(multipart_abort)
{
	struct target t = tgt(&bk, "ab");
	struct http_body p = { .kind = HTTP_BODY_MEM, .mem = "part", .len = 4 };
	char id[S3_UPLOAD_ID_MAX], id2[S3_UPLOAD_ID_MAX];

	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_NONE, id, sizeof(id)), 0);
	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_NONE, id2, sizeof(id2)), 0);
	ck_assert_str_ne(id, id2);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 1, &p, NULL, NULL, NULL, 0), 0);
	ck_assert_int_eq(store_mem_nbytes(m), 4);
	ck_assert_int_eq(ops->mpu_abort(m, &t, id), 0);
	ck_assert_int_eq(store_mem_nbytes(m), 0);
	ck_assert_uint_eq(store_mem_nuploads(m), 1);
	ck_assert_int_eq(ops->mpu_abort(m, &t, id), 0); /* gone already: success */
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 1, &p, NULL, NULL, NULL, 0), -ENOENT);
	ck_assert_uint_eq(store_mem_nobjects(m), 0);
	char small[4];
	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_NONE, small, sizeof(small)),
			 -ENAMETOOLONG);
	/* store_mem_free frees the upload left open (valgrind). */
}
END_TEST

START_TEST(bounds)
{
	struct store_mem *s = store_mem_new(2, 10);
	struct target a = tgt(&bk, "a"), b = tgt(&bk, "b"), c = tgt(&bk, "c");
	struct http_body six = { .kind = HTTP_BODY_MEM, .mem = "123456", .len = 6 };
	struct http_body five = { .kind = HTTP_BODY_MEM, .mem = "12345", .len = 5 };
	struct http_body ten = { .kind = HTTP_BODY_MEM, .mem = "1234567890", .len = 10 };
	struct http_body one = { .kind = HTTP_BODY_MEM, .mem = "1", .len = 1 };
	char id[S3_UPLOAD_ID_MAX];

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ops->put(s, &a, &six, NULL, NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ops->put(s, &b, &five, NULL, NULL, NULL, 0, NULL, 0), -ENOSPC);
	ck_assert_int_eq(ops->put(s, &a, &ten, NULL, NULL, NULL, 0, NULL, 0), 0); /* replaces */
	ck_assert_int_eq(store_mem_nbytes(s), 10);
	ck_assert_int_eq(ops->put(s, &a, &one, NULL, NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ops->put(s, &b, &one, NULL, NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(ops->put(s, &c, &one, NULL, NULL, NULL, 0, NULL, 0), -ENOSPC); /* count */
	ck_assert_int_eq(ops->copy(s, &a, &c, NULL, 0), -ENOSPC);
	ck_assert_int_eq(store_mem_put_raw(s, "b", "c", "1", 1, NULL, NULL, 0), -ENOSPC);
	ck_assert_uint_eq(store_mem_nobjects(s), 2);
	/* Parts count against the bytes. */
	ck_assert_int_eq(ops->mpu_create(s, &a, NULL, 0, CK_NONE, id, sizeof(id)), 0);
	ck_assert_int_eq(ops->mpu_part(s, &a, id, 1, &ten, NULL, NULL, NULL, 0), -ENOSPC);
	ck_assert_int_eq(ops->mpu_part(s, &a, id, 1, &six, NULL, NULL, NULL, 0), 0);
	ck_assert_int_eq(ops->mpu_create(s, &a, NULL, 0, CK_NONE, id, sizeof(id)), 0);
	ck_assert_int_eq(ops->mpu_create(s, &a, NULL, 0, CK_NONE, id, sizeof(id)), -ENOSPC);
	store_mem_free(s);

	errno = 0;
	ck_assert_ptr_null(store_mem_new(0, 10));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(faults_and_counts)
{
	struct target t = tgt(&bk, "f");
	struct http_sink sink = { .kind = HTTP_SINK_DISCARD };
	struct s3_list_result l;
	struct s3_obj_info info;

	ck_assert_int_eq(put_str(&bk, "f", "v", NULL), 0);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_GET, 2, EIO), 0);
	ck_assert_int_eq(ops->get(m, &t, 0, -1, NULL, &sink, NULL), -EIO);
	ck_assert_int_eq(ops->get(m, &t, 0, -1, NULL, &sink, NULL), -EIO);
	ck_assert_int_eq(ops->get(m, &t, 0, -1, NULL, &sink, NULL), 0);
	ck_assert_int_eq(store_mem_count(m, STORE_MEM_GET), 3);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_PUT, 1, -ETIMEDOUT), 0);
	ck_assert_int_eq(put_str(&bk, "g", "v", NULL), -ETIMEDOUT);
	ck_assert_uint_eq(store_mem_nobjects(m), 1); /* the fault did nothing */
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_LIST, 1, EACCES), 0);
	ck_assert_int_eq(ops->list(m, &bk, "", "/", NULL, 0, &l), -EACCES);
	ck_assert_uint_eq(l.nobjects, 0);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_HEAD, 5, EIO), 0);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_HEAD, 0, EIO), 0); /* cancels */
	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_NOPS, 1, EIO), -EINVAL);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_GET, -1, EIO), -EINVAL);
	ck_assert_int_eq(store_mem_fail_next(m, STORE_MEM_GET, 1, 0), -EINVAL);
	ck_assert_int_eq(store_mem_count(m, STORE_MEM_NOPS), -EINVAL);

	/* One count per call of each op. */
	store_mem_reset_counts(m);
	for (int op = 0; op < STORE_MEM_NOPS; op++)
		ck_assert_int_eq(store_mem_count(m, (enum store_mem_op)op), 0);
	struct target c = tgt(&bk, "c");
	char id[S3_UPLOAD_ID_MAX];
	struct s3_part part = { .number = 1 };
	struct http_body p = { .kind = HTTP_BODY_MEM, .mem = "p", .len = 1 };
	struct s3_meta_pair meta[] = { { "a", "b" } };
	ops->get(m, &t, 0, -1, NULL, &sink, NULL);
	ops->head(m, &t, &info);
	put_str(&bk, "f", "w", NULL);
	ops->put_new(m, &c, &p, NULL, NULL, NULL, 0, NULL, 0);
	ops->remove(m, &c);
	ops->retire(m, &c);
	ops->copy(m, &t, &c, NULL, 0);
	ops->copy_meta(m, &t, &c, meta, 1, NULL, 0);
	ck_assert_int_eq(ops->list(m, &bk, "", NULL, NULL, 0, &l), 0);
	s3xml_list_result_free(&l);
	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_NONE, id, sizeof(id)), 0);
	ops->mpu_part(m, &t, id, 1, &p, NULL, NULL, part.etag, sizeof(part.etag));
	ops->mpu_complete(m, &t, id, &part, 1, NULL, NULL, 0);
	ops->mpu_abort(m, &t, id);
	for (int op = 0; op < STORE_MEM_NOPS; op++)
		ck_assert_int_eq(store_mem_count(m, (enum store_mem_op)op), 1);
}
END_TEST

/* A reply lost after the work: the object is there; put_new's retry of
 * the same bytes is success, as store.h promises. */
START_TEST(lost_answers)
{
	struct target t = tgt(&bk, "lost");
	struct http_body b = { .kind = HTTP_BODY_MEM, .mem = "bytes", .len = 5 };
	struct s3_list_result l;
	char etag[S3_ETAG_MAX], want[33], id[S3_UPLOAD_ID_MAX];
	struct s3_part part = { .number = 1 };

	ck_assert_int_eq(store_mem_fail_after(m, STORE_MEM_PUT_NEW, 1, ECONNRESET), 0);
	ck_assert_int_eq(ops->put_new(m, &t, &b, NULL, NULL, NULL, 0, etag, sizeof(etag)),
			 -ECONNRESET);
	ck_assert_uint_eq(store_mem_nobjects(m), 1);
	ck_assert_int_eq(ops->put_new(m, &t, &b, NULL, NULL, NULL, 0, etag, sizeof(etag)), 0);
	md5_hex("bytes", 5, want);
	ck_assert_str_eq(etag, want);
	ck_assert_int_eq(store_mem_count(m, STORE_MEM_PUT_NEW), 2);

	/* Only successes lose their answer. */
	ck_assert_int_eq(store_mem_fail_after(m, STORE_MEM_HEAD, 1, EIO), 0);
	struct target none = tgt(&bk, "none");
	struct s3_obj_info info;
	ck_assert_int_eq(ops->head(m, &none, &info), -ENOENT);
	ck_assert_int_eq(ops->head(m, &t, &info), -EIO);
	ck_assert_int_eq(ops->head(m, &t, &info), 0);

	ck_assert_int_eq(store_mem_fail_after(m, STORE_MEM_LIST, 1, ETIMEDOUT), 0);
	ck_assert_int_eq(ops->list(m, &bk, "", "/", NULL, 0, &l), -ETIMEDOUT);
	ck_assert_uint_eq(l.nobjects, 0);
	ck_assert_ptr_null(l.objects);

	ck_assert_int_eq(ops->mpu_create(m, &t, NULL, 0, CK_NONE, id, sizeof(id)), 0);
	ck_assert_int_eq(ops->mpu_part(m, &t, id, 1, &b, NULL, NULL, part.etag, sizeof(part.etag)),
			 0);
	ck_assert_int_eq(store_mem_fail_after(m, STORE_MEM_MPU_COMPLETE, 1, EIO), 0);
	ck_assert_int_eq(ops->mpu_complete(m, &t, id, &part, 1, NULL, etag, sizeof(etag)), -EIO);
	ck_assert_uint_eq(store_mem_nuploads(m), 0);
	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	ck_assert_ptr_nonnull(strstr(info.etag, "-1"));
	ck_assert_int_eq(store_mem_fail_after(m, STORE_MEM_GET, 1, 0), -EINVAL);
}
END_TEST

START_TEST(put_raw_other_host)
{
	char etag[S3_ETAG_MAX], want[33], buf[16];
	struct target t = tgt(&bk, "raw");
	struct s3_obj_info info;

	ck_assert_int_eq(store_mem_put_raw(m, "b", "raw", "abc", 3, "Owner=x\nk=v\n", etag,
					   sizeof(etag)),
			 0);
	md5_hex("abc", 3, want);
	ck_assert_str_eq(etag, want);
	ck_assert_int_eq(ops->head(m, &t, &info), 0);
	ck_assert_str_eq(info.meta, "owner=x\nk=v\n");
	ck_assert_int_eq(get_str(&bk, "raw", 1, 1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "b");
	ck_assert_int_eq(store_mem_put_raw(m, "b", "raw", "abc", 3, "no newline", NULL, 0), -EINVAL);
	ck_assert_int_eq(store_mem_count(m, STORE_MEM_PUT), 0);
}
END_TEST

static void *hammer(void *arg)
{
	int id = (int)(long)arg;
	char key[32], val[32], buf[32];
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "t%d/%d", id, i % 10);
		snprintf(val, sizeof(val), "v%d-%d", id, i);
		ck_assert_int_eq(put_str(&bk, key, val, NULL), 0);
		ck_assert_int_eq(get_str(&bk, key, 0, -1, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, val);
		struct s3_list_result l;
		ck_assert_int_eq(ops->list(m, &bk, "", "/", NULL, 0, &l), 0);
		s3xml_list_result_free(&l);
	}
	return NULL;
}

START_TEST(threads)
{
	pthread_t th[4];
	for (long i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(store_mem_nobjects(m), 40);
	ck_assert_int_eq(store_mem_count(m, STORE_MEM_PUT), 800);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_mem");
	TCase *tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_get_range_head);
	tcase_add_test(tc, put_checks_digests);
	tcase_add_test(tc, put_new_semantics);
	tcase_add_test(tc, remove_and_retire);
	tcase_add_test(tc, list_delimiter_pages);
	tcase_add_test(tc, list_long_keys);
	tcase_add_test(tc, copy_and_copy_meta);
	tcase_add_test(tc, multipart);
	tcase_add_test(tc, multipart_small_parts);
	tcase_add_test(tc, multipart_abort);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, faults_and_counts);
	tcase_add_test(tc, lost_answers);
	tcase_add_test(tc, put_raw_other_host);
	tcase_add_test(tc, threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
