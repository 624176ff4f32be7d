/* store_mem.c - an S3 stand-in in memory for tests (store_mem.h): objects
 * in one array sorted by (bucket, key) as S3 orders keys (bytewise), open
 * multipart uploads in a list, all under one mutex. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_mem.h"

#define META_PATH "s3csfs-path"
/* S3 keeps at most 2 KB of user metadata; s3_obj_info.meta is as big. */
#define META_MAX 2048
#define PART_NUMBER_MAX 10000
#define LIST_MAX 1000
#define MIN_PART_DEFAULT (5LL * 1024 * 1024) /* S3's EntityTooSmall limit */
/* Tokens of items too long to be one (list_token): a start no key made
 * by map_path can have (it refuses control characters). */
#define LONG_TOKEN "\001store-mem-token:"
#define LONG_TOKENS 64
#define SINK_DEFAULT_CAP ((size_t)16 << 20) /* http.h: an owned memory sink's 16 MiB */

struct mobj {
	char *bucket; /* one allocation: bucket '\0' key '\0' */
	char *key;
	unsigned char *data; /* len + 1 bytes allocated, so never NULL */
	size_t len;
	char etag[S3_ETAG_MAX];
	time_t mtime;
	char meta[META_MAX];
	char checksums[256];
	char checksum_type[24];
	char storage_class[32];
	char sse[32];
	char lock_mode[16];
	time_t retain_until;
	int retired; /* hidden by on_delete = tag: (store.h's retire) */
};

struct mpart {
	int number;
	unsigned char *data;
	size_t len;
	unsigned char md5[16];
	char etag[33];
	enum checksum_alg ck_alg;
	char ck[CHECKSUM_B64_MAX];
};

struct mupload {
	struct mupload *next;
	char id[48];
	char *bucket; /* one allocation, as in struct mobj */
	char *key;
	char meta[META_MAX];
	enum checksum_alg alg;
	struct mpart *parts; /* sorted by number */
	size_t nparts, cap;
	long long bytes;
};

struct store_mem {
	pthread_mutex_t lock;
	size_t max_objects;
	long long max_bytes;
	long long bytes; /* objects' and parts' */
	struct mobj **objs;
	size_t nobjs, cap;
	struct mupload *uploads;
	size_t nuploads;
	unsigned long long upload_seq;
	long counts[STORE_MEM_NOPS];
	struct {
		int n;
		int err;
	} fail[STORE_MEM_NOPS], lost[STORE_MEM_NOPS];
	time_t now; /* 0: the real clock */
	long long min_part;
	char *long_tokens[LONG_TOKENS];
	unsigned long long long_seq;
};

/* ---- small helpers ---- */

static time_t mem_now(const struct store_mem *m)
{
	return m->now ? m->now : time(NULL);
}

/* Counts the call and takes an injected fault. */
static int begin(struct store_mem *m, enum store_mem_op op)
{
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	m->counts[op]++;
	if (m->fail[op].n > 0) {
		m->fail[op].n--;
		rc = m->fail[op].err;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int target_ok(const struct target *t)
{
	if (!t || !t->bucket || !t->bucket->name || !t->key[0])
		return -EINVAL;
	return strlen(t->key) > S3_KEY_MAX ? -ENAMETOOLONG : 0;
}

static int md5_raw(const void *p, size_t n, unsigned char out[16])
{
	unsigned int len = 16;
	return EVP_Digest(p, n, out, &len, EVP_md5(), NULL) == 1 && len == 16 ? 0 : -EIO;
}

static void put_etag(const char *src, char *etag, size_t etaglen)
{
	if (etag && etaglen)
		snprintf(etag, etaglen, "%s", src);
}

/* "abc", "\"abc\"" and "*" as S3 compares If-Match and part ETags. */
static int etag_eq(const char *given, const char *have)
{
	size_t n = strlen(given);
	if (n >= 2 && given[0] == '"' && given[n - 1] == '"')
		return strlen(have) == n - 2 && strncasecmp(given + 1, have, n - 2) == 0;
	return strcasecmp(given, have) == 0;
}

/* The body's bytes into a malloc'd buffer (len + 1 bytes, never NULL). */
static int body_take(const struct http_body *b, unsigned char **out, size_t *len)
{
	size_t n = b && b->kind != HTTP_BODY_NONE ? b->len : 0;
	unsigned char *d = malloc(n + 1);

	if (!d)
		return -ENOMEM;
	if (n && b->kind == HTTP_BODY_MEM) {
		if (!b->mem) {
			free(d);
			return -EINVAL;
		}
		memcpy(d, b->mem, n);
	} else if (n && b->kind == HTTP_BODY_FD) {
		size_t done = 0;
		while (done < n) {
			ssize_t r = pread(b->fd, d + done, n - done, b->off + (off_t)done);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				free(d);
				return -EIO; /* http.h: reading the body source failed */
			}
			done += (size_t)r;
		}
	}
	d[n] = '\0';
	*out = d;
	*len = n;
	return 0;
}

/* The body's MD5; a Content-MD5 that is not it is S3's BadDigest (-EIO),
 * one that is not base64 of 16 bytes -EINVAL, as s3_client.c says. */
static int check_md5(const unsigned char *d, size_t n, const char *b64, unsigned char md5[16],
		     char hex[33])
{
	int rc = md5_raw(d, n, md5);
	if (rc < 0)
		return rc;
	s3_md5_hex(md5, hex);
	if (b64) {
		unsigned char raw[18];
		if (strlen(b64) != 24 || EVP_DecodeBlock(raw, (const unsigned char *)b64, 24) != 18)
			return -EINVAL;
		if (memcmp(raw, md5, 16) != 0)
			return -EIO;
	}
	return 0;
}

/* base64 of alg's checksum of the bytes. */
static int ck_compute(enum checksum_alg alg, const void *d, size_t n, char b64[CHECKSUM_B64_MAX])
{
	struct checksum ck;
	unsigned char raw[16];
	int rc = checksum_init(&ck, alg);

	if (rc < 0)
		return rc;
	rc = checksum_update(&ck, d, n);
	if (rc == 0)
		rc = checksum_final(&ck, raw);
	checksum_free(&ck);
	if (rc == 0)
		checksum_base64(raw, checksum_alg_len(alg), b64);
	return rc;
}

/* A given flexible checksum must be the bytes' (S3 refuses with
 * BadDigest: -EIO); line gets "alg=base64\n" or "". */
static int check_ck(const unsigned char *d, size_t n, const struct s3_checksum *ck, char *line,
		    size_t linelen, char b64_out[CHECKSUM_B64_MAX])
{
	char b64[CHECKSUM_B64_MAX];
	int rc;

	line[0] = '\0';
	if (b64_out)
		b64_out[0] = '\0';
	if (!ck || ck->alg == CK_NONE)
		return 0;
	rc = ck_compute(ck->alg, d, n, b64);
	if (rc < 0)
		return rc;
	if (strcmp(b64, ck->b64) != 0)
		return -EIO;
	snprintf(line, linelen, "%s=%s\n", checksum_alg_name(ck->alg), b64);
	if (b64_out)
		snprintf(b64_out, CHECKSUM_B64_MAX, "%s", b64);
	return 0;
}


/* Appends "name=value\n" (name lower-cased, as S3 answers); -EINVAL for a
 * pair S3 or the "name=value\n" form cannot carry, or past 2 KB. */
static int meta_add(char *out, size_t *used, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (!nl || strpbrk(name, "=\n\r") || strpbrk(value, "\n\r") ||
	    *used + nl + vl + 2 >= META_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nl; i++) {
		char c = name[i];
		out[(*used)++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[(*used)++] = '=';
	memcpy(out + *used, value, vl);
	*used += vl;
	out[(*used)++] = '\n';
	out[*used] = '\0';
	return 0;
}

/* meta plus, into a flat bucket, the mount path (as store_s3.c's
 * with_path: only under 16 pairs). Returns how many pairs, or -EINVAL. */
static int meta_render(const struct target *t, const struct s3_meta_pair *meta, size_t nmeta,
		       char out[META_MAX])
{
	char enc[S3_KEY_MAX * 3 + 1];
	size_t used = 0;
	int n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nmeta; i++, n++)
		if (!meta[i].name || !meta[i].value ||
		    meta_add(out, &used, meta[i].name, meta[i].value) < 0)
			return -EINVAL;
	if (t->bucket->key_layout == KEY_LAYOUT_FLAT && t->path[0] && nmeta < 16) {
		store_encode_path(t->path, enc, sizeof(enc));
		if (meta_add(out, &used, META_PATH, enc) < 0)
			return -EINVAL;
		n++;
	}
	return n;
}

/* ---- the object table (lock held) ---- */

static int obj_cmp(const char *bucket, const char *key, const struct mobj *o)
{
	int c = strcmp(bucket, o->bucket);
	return c ? c : strcmp(key, o->key);
}

/* The first index whose object is >= (bucket, key). */
static size_t obj_lower(const struct store_mem *m, const char *bucket, const char *key)
{
	size_t lo = 0, hi = m->nobjs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (obj_cmp(bucket, key, m->objs[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mobj *obj_find(const struct store_mem *m, const char *bucket, const char *key,
			     size_t *idx)
{
	size_t i = obj_lower(m, bucket, key);
	if (idx)
		*idx = i;
	return i < m->nobjs && obj_cmp(bucket, key, m->objs[i]) == 0 ? m->objs[i] : NULL;
}

static void obj_free(struct mobj *o)
{
	if (!o)
		return;
	free(o->bucket);
	free(o->data);
	free(o);
}

/* A new object named (bucket, key), empty; NULL: ENOMEM. */
static struct mobj *obj_new(const char *bucket, const char *key)
{
	size_t bl = strlen(bucket), kl = strlen(key);
	struct mobj *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->bucket = malloc(bl + kl + 2);
	if (!o->bucket) {
		free(o);
		return NULL;
	}
	memcpy(o->bucket, bucket, bl + 1);
	o->key = o->bucket + bl + 1;
	memcpy(o->key, key, kl + 1);
	return o;
}

/* What the target's bucket puts on every object it writes. */
static void obj_props(struct mobj *o, const struct bucket_conf *b, time_t now)
{
	o->mtime = now;
	snprintf(o->storage_class, sizeof(o->storage_class), "%s",
		 b && b->storage_class ? b->storage_class : "STANDARD");
	snprintf(o->sse, sizeof(o->sse), "%s", b && b->sse ? b->sse : "");
	if (b && b->object_lock && b->retention_s > 0) {
		snprintf(o->lock_mode, sizeof(o->lock_mode), "%s", b->object_lock);
		o->retain_until = now + (time_t)b->retention_s;
	}
}

/* Puts o in the table in place of any object at its name (freed).
 * -ENOSPC past the bounds, -ENOMEM; o is the caller's still then. */
static int obj_store(struct store_mem *m, struct mobj *o)
{
	size_t i;
	struct mobj *old = obj_find(m, o->bucket, o->key, &i);
	long long after = m->bytes - (old ? (long long)old->len : 0) + (long long)o->len;

	if (after > m->max_bytes || (!old && m->nobjs >= m->max_objects))
		return -ENOSPC;
	if (old) {
		m->objs[i] = o;
		obj_free(old);
		m->bytes = after;
		return 0;
	}
	if (m->nobjs == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		if (cap > m->max_objects)
			cap = m->max_objects;
		struct mobj **a = realloc(m->objs, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		m->objs = a;
		m->cap = cap;
	}
	memmove(m->objs + i + 1, m->objs + i, (m->nobjs - i) * sizeof(*m->objs));
	m->objs[i] = o;
	m->nobjs++;
	m->bytes = after;
	return 0;
}

static void obj_unlink(struct store_mem *m, size_t i)
{
	struct mobj *o = m->objs[i];
	m->bytes -= (long long)o->len;
	memmove(m->objs + i, m->objs + i + 1, (m->nobjs - i - 1) * sizeof(*m->objs));
	m->nobjs--;
	obj_free(o);
}

static void fill_info(const struct mobj *o, struct s3_obj_info *info, int with_checksums)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	info->size = (long long)o->len;
	snprintf(info->etag, sizeof(info->etag), "%s", o->etag);
	info->mtime = o->mtime;
	snprintf(info->storage_class, sizeof(info->storage_class), "%s", o->storage_class);
	snprintf(info->sse, sizeof(info->sse), "%s", o->sse);
	snprintf(info->meta, sizeof(info->meta), "%s", o->meta);
	if (with_checksums) {
		snprintf(info->checksums, sizeof(info->checksums), "%s", o->checksums);
		snprintf(info->checksum_type, sizeof(info->checksum_type), "%s", o->checksum_type);
	}
	snprintf(info->content_type, sizeof(info->content_type), "binary/octet-stream");
	snprintf(info->lock_mode, sizeof(info->lock_mode), "%s", o->lock_mode);
	info->retain_until = o->retain_until;
}

/* ---- sinks, as http_perform fills them ---- */

static void sink_reset(struct http_sink *s)
{
	s->len = 0;
	if (s->kind == HTTP_SINK_MEM && s->owned) {
		free(s->buf);
		s->buf = NULL;
		s->owned = 0;
		s->off = 0;
	}
}

static int sink_write(struct http_sink *s, const unsigned char *d, size_t n)
{
	if (s->kind == HTTP_SINK_DISCARD) {
		s->len = n;
		return 0;
	}
	if (s->kind == HTTP_SINK_FD) {
		size_t done = 0;
		if (s->cap && n > s->cap)
			return -EMSGSIZE;
		while (done < n) {
			ssize_t w = pwrite(s->fd, d + done, n - done, s->off + (off_t)done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -EIO; /* http.h: writing the sink failed */
			done += (size_t)w;
		}
		s->len = n;
		return 0;
	}
	if (s->buf && !s->owned) {
		if (n > s->cap)
			return -EMSGSIZE;
		memcpy(s->buf, d, n);
		s->len = n;
		return 0;
	}
	if (n > (s->cap ? s->cap : SINK_DEFAULT_CAP))
		return -EMSGSIZE;
	if (n == 0)
		return 0; /* no body: http.c allocates nothing either */
	s->buf = malloc(n + 1);
	if (!s->buf)
		return -ENOMEM;
	memcpy(s->buf, d, n);
	s->buf[n] = '\0';
	s->owned = 1;
	s->off = (off_t)(n + 1); /* http.c keeps the allocated size there */
	s->len = n;
	return 0;
}

/* ---- the ops ---- */

static int mem_get(void *ctx, const struct target *t, long long off, long long len,
		   const char *if_match, struct http_sink *sink, struct s3_obj_info *info)
{
	struct store_mem *m = ctx;
	struct mobj *o;
	int rc = begin(m, STORE_MEM_GET);

	if (rc == 0)
		rc = target_ok(t);
	if (rc < 0)
		return rc;
	if (len == 0) {
		/* s3_get_object sends no request for 0 bytes. */
		if (sink)
			sink->len = 0;
		return 0;
	}
	if (off < 0)
		return -EINVAL;
	if (sink)
		sink_reset(sink);
	pthread_mutex_lock(&m->lock);
	o = obj_find(m, t->bucket->name, t->key, NULL);
	if (!o || o->retired) {
		rc = -ENOENT;
	} else if (if_match && *if_match && strcmp(if_match, "*") != 0 &&
		   !etag_eq(if_match, o->etag)) {
		rc = -ESTALE; /* s3_client.h: 412 on a conditional GET */
	} else {
		/* Past the end: 0 bytes and the object's info (the 416 path). */
		size_t start = (unsigned long long)off >= o->len ? o->len : (size_t)off;
		size_t n = o->len - start;
		if (len > 0 && (unsigned long long)len < n)
			n = (size_t)len;
		if (sink)
			rc = sink_write(sink, o->data + start, n);
		/* S3 gives a full-object checksum only with the whole object. */
		if (rc == 0)
			fill_info(o, info, start == 0 && n == o->len);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int mem_head(void *ctx, const struct target *t, struct s3_obj_info *info)
{
	struct store_mem *m = ctx;
	struct mobj *o;
	int rc = begin(m, STORE_MEM_HEAD);

	if (rc == 0)
		rc = target_ok(t);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	o = obj_find(m, t->bucket->name, t->key, NULL);
	if (!o || o->retired)
		rc = -ENOENT;
	else
		fill_info(o, info, 1);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int put_common(struct store_mem *m, const struct target *t, const struct http_body *body,
		      const char *content_md5, const struct s3_checksum *ck,
		      const struct s3_meta_pair *meta, size_t nmeta, int only_new, char *etag,
		      size_t etaglen)
{
	unsigned char *data = NULL, md5[16];
	char hex[33], line[256], metabuf[META_MAX];
	struct mobj *o, *old;
	size_t len = 0;
	int rc = target_ok(t);

	/* The bytes are read and checked before the lock: a body may be a
	 * file descriptor. */
	if (rc == 0)
		rc = body_take(body, &data, &len);
	if (rc < 0)
		return rc;
	rc = check_md5(data, len, content_md5, md5, hex);
	if (rc == 0)
		rc = check_ck(data, len, ck, line, sizeof(line), NULL);
	if (rc == 0)
		rc = meta_render(t, meta, nmeta, metabuf);
	if (rc < 0) {
		free(data);
		return rc;
	}
	o = obj_new(t->bucket->name, t->key);
	if (!o) {
		free(data);
		return -ENOMEM;
	}
	o->data = data;
	o->len = len;
	snprintf(o->etag, sizeof(o->etag), "%s", hex);
	snprintf(o->meta, sizeof(o->meta), "%s", metabuf);
	snprintf(o->checksums, sizeof(o->checksums), "%s", line);
	snprintf(o->checksum_type, sizeof(o->checksum_type), "%s", line[0] ? "FULL_OBJECT" : "");

	pthread_mutex_lock(&m->lock);
	obj_props(o, t->bucket, mem_now(m));
	old = only_new ? obj_find(m, o->bucket, o->key, NULL) : NULL;
	if (old && !old->retired) {
		/* If-None-Match: * failed; these very bytes are as good as
		 * ours (s3_client.c's put_exists_same compares the ETag). */
		rc = strcasecmp(old->etag, hex) == 0 ? 0 : -EEXIST;
		if (rc == 0)
			put_etag(old->etag, etag, etaglen);
	} else {
		/* A retired object is ours, hidden: a new one replaces it. */
		rc = obj_store(m, o);
		if (rc == 0) {
			put_etag(hex, etag, etaglen);
			o = NULL; /* the table's now */
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (o)
		obj_free(o);
	return rc;
}

static int mem_put(void *ctx, const struct target *t, const struct http_body *body,
		   const char *content_md5, const struct s3_checksum *ck,
		   const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	int rc = begin(ctx, STORE_MEM_PUT);
	return rc ? rc : put_common(ctx, t, body, content_md5, ck, meta, nmeta, 0, etag, etaglen);
}

static int mem_put_new(void *ctx, const struct target *t, const struct http_body *body,
		       const char *content_md5, const struct s3_checksum *ck,
		       const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	int rc = begin(ctx, STORE_MEM_PUT_NEW);
	return rc ? rc : put_common(ctx, t, body, content_md5, ck, meta, nmeta, 1, etag, etaglen);
}

static int mem_remove(void *ctx, const struct target *t)
{
	struct store_mem *m = ctx;
	size_t i;
	int rc = begin(m, STORE_MEM_REMOVE);

	if (rc == 0)
		rc = target_ok(t);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	if (obj_find(m, t->bucket->name, t->key, &i))
		obj_unlink(m, i);
	pthread_mutex_unlock(&m->lock);
	return 0; /* a missing key too, as DeleteObject */
}

static int mem_retire(void *ctx, const struct target *t)
{
	struct store_mem *m = ctx;
	const char *od, *eq;
	struct mobj *o;
	size_t i;
	int rc = begin(m, STORE_MEM_RETIRE), tag;

	if (rc == 0)
		rc = target_ok(t);
	if (rc < 0)
		return rc;
	od = t->bucket->on_delete;
	tag = od && strncmp(od, "tag:", 4) == 0;
	/* As store_s3.c: never delete what was to be kept. */
	if (tag && (!(eq = strchr(od + 4, '=')) || eq == od + 4))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	o = obj_find(m, t->bucket->name, t->key, &i);
	if (o && tag)
		o->retired = 1;
	else if (o)
		obj_unlink(m, i);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* replace: copy_meta's meta (still a plain copy when it makes no pair,
 * as s3_copy_object sends REPLACE only with metadata). */
static int copy_common(struct store_mem *m, const struct target *from, const struct target *to,
		       int replace, const struct s3_meta_pair *meta, size_t nmeta, char *etag,
		       size_t etaglen)
{
	char metabuf[META_MAX];
	struct mobj *src, *o;
	int rc = target_ok(from), n;

	if (rc == 0)
		rc = target_ok(to);
	if (rc < 0)
		return rc;
	/* Into a flat bucket the metadata is replaced, with the new path. */
	n = meta_render(to, replace ? meta : NULL, replace ? nmeta : 0, metabuf);
	if (n < 0)
		return n;
	o = obj_new(to->bucket->name, to->key);
	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	src = obj_find(m, from->bucket->name, from->key, NULL);
	if (!src || src->retired) {
		rc = -ENOENT;
	} else if (n == 0 && strcmp(from->bucket->name, to->bucket->name) == 0 &&
		   strcmp(from->key, to->key) == 0) {
		rc = -EINVAL; /* S3: a copy onto itself must change the metadata */
	} else if (!(o->data = malloc(src->len + 1))) {
		rc = -ENOMEM;
	} else {
		memcpy(o->data, src->data, src->len + 1);
		o->len = src->len;
		snprintf(o->etag, sizeof(o->etag), "%s", src->etag);
		snprintf(o->checksums, sizeof(o->checksums), "%s", src->checksums);
		snprintf(o->checksum_type, sizeof(o->checksum_type), "%s", src->checksum_type);
		snprintf(o->meta, sizeof(o->meta), "%s", n > 0 ? metabuf : src->meta);
		obj_props(o, to->bucket, mem_now(m));
		rc = obj_store(m, o); /* frees src when it is the destination */
		if (rc == 0)
			put_etag(o->etag, etag, etaglen);
	}
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		obj_free(o);
	return rc;
}

static int mem_copy(void *ctx, const struct target *from, const struct target *to, char *etag,
		    size_t etaglen)
{
	int rc = begin(ctx, STORE_MEM_COPY);
	return rc ? rc : copy_common(ctx, from, to, 0, NULL, 0, etag, etaglen);
}

static int mem_copy_meta(void *ctx, const struct target *from, const struct target *to,
			 const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	int rc = begin(ctx, STORE_MEM_COPY_META);
	return rc ? rc : copy_common(ctx, from, to, 1, meta, nmeta, etag, etaglen);
}

/* ---- listing ---- */

/* s[0..n) against the string t, as strcmp would order them. */
static int item_cmp(const char *s, size_t n, const char *t)
{
	int c = strncmp(s, t, n);
	return c ? c : (t[n] ? -1 : 0);
}

static int list_push_key(struct s3_list_result *out, size_t *cap, const struct mobj *o)
{
	struct s3_object_entry *e;
	if (out->nobjects == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		e = realloc(out->objects, nc * sizeof(*e));
		if (!e)
			return -ENOMEM;
		out->objects = e;
		*cap = nc;
	}
	e = &out->objects[out->nobjects];
	memset(e, 0, sizeof(*e));
	e->key = strdup(o->key);
	if (!e->key)
		return -ENOMEM;
	e->size = (long long)o->len;
	snprintf(e->etag, sizeof(e->etag), "%s", o->etag);
	e->last_modified = o->mtime;
	snprintf(e->storage_class, sizeof(e->storage_class), "%s", o->storage_class);
	out->nobjects++;
	return 0;
}

static int list_push_prefix(struct s3_list_result *out, size_t *cap, const char *s, size_t n)
{
	if (out->nprefixes == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **p = realloc(out->prefixes, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		out->prefixes = p;
		*cap = nc;
	}
	out->prefixes[out->nprefixes] = strndup(s, n);
	if (!out->prefixes[out->nprefixes])
		return -ENOMEM;
	out->nprefixes++;
	return 0;
}

/* The greater of the page's last key and last prefix: its last item. */
static const char *list_last(const struct s3_list_result *out, int *is_prefix)
{
	const char *k = out->nobjects ? out->objects[out->nobjects - 1].key : NULL;
	const char *p = out->nprefixes ? out->prefixes[out->nprefixes - 1] : NULL;
	*is_prefix = p && (!k || strcmp(p, k) > 0);
	return *is_prefix ? p : k;
}

/* The next page's token: the page's last item, or for an item too long
 * for a token (a 1024-byte key), LONG_TOKEN and a number that names it in
 * a ring of the last LONG_TOKENS such items. lock held. */
static int list_token(struct store_mem *m, struct s3_list_result *out)
{
	int lp;
	const char *l = list_last(out, &lp);
	size_t slot;

	if (strlen(l) < sizeof(out->next_token)) {
		snprintf(out->next_token, sizeof(out->next_token), "%s", l);
		return 0;
	}
	slot = (size_t)(m->long_seq % LONG_TOKENS);
	free(m->long_tokens[slot]);
	m->long_tokens[slot] = strdup(l);
	if (!m->long_tokens[slot])
		return -ENOMEM;
	snprintf(out->next_token, sizeof(out->next_token), "%s%llu", LONG_TOKEN, m->long_seq++);
	return 0;
}

/* Items (keys, common prefixes) come in S3's order, interleaved; the
 * token is the last item given: the next page starts past it. */
static int mem_list(void *ctx, const struct bucket_conf *b, const char *prefix,
		    const char *delimiter, const char *token, int max_keys,
		    struct s3_list_result *out)
{
	struct store_mem *m = ctx;
	size_t plen, dlen, kcap = 0, pcap = 0, nitems = 0, max, i;
	const char *last = NULL;
	size_t last_len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = begin(m, STORE_MEM_LIST);
	if (rc < 0)
		return rc;
	if (!b || !b->name)
		return -EINVAL;
	prefix = prefix ? prefix : "";
	delimiter = delimiter && *delimiter ? delimiter : NULL;
	token = token && *token ? token : NULL;
	plen = strlen(prefix);
	dlen = delimiter ? strlen(delimiter) : 0;
	max = max_keys > 0 && max_keys < LIST_MAX ? (size_t)max_keys : LIST_MAX;

	pthread_mutex_lock(&m->lock);
	if (token && strncmp(token, LONG_TOKEN, strlen(LONG_TOKEN)) == 0) {
		char *end;
		unsigned long long seq = strtoull(token + strlen(LONG_TOKEN), &end, 10);
		if (*end || seq >= m->long_seq || m->long_seq - seq > LONG_TOKENS)
			rc = -EINVAL; /* S3: InvalidArgument, 400 */
		else
			token = m->long_tokens[seq % LONG_TOKENS];
	}
	i = rc ? m->nobjs
	       : obj_lower(m, b->name, token && strcmp(token, prefix) > 0 ? token : prefix);
	for (; i < m->nobjs && rc == 0; i++) {
		const struct mobj *o = m->objs[i];
		size_t ilen = strlen(o->key);
		int is_prefix = 0;

		/* Keys under the prefix are contiguous in the sorted table. */
		if (strcmp(o->bucket, b->name) != 0 || strncmp(o->key, prefix, plen) != 0)
			break;
		if (delimiter) {
			const char *d = strstr(o->key + plen, delimiter);
			if (d) {
				ilen = (size_t)(d - o->key) + dlen;
				is_prefix = 1;
			}
		}
		/* A retired key is left out, yet its prefix shows, as S3
		 * still lists it for store_s3's filter. */
		if (!is_prefix && o->retired)
			continue;
		if (token && item_cmp(o->key, ilen, token) <= 0)
			continue;
		if (last && is_prefix && last_len == ilen && memcmp(last, o->key, ilen) == 0)
			continue; /* the same common prefix again */
		if (nitems == max) {
			out->is_truncated = 1;
			break;
		}
		rc = is_prefix ? list_push_prefix(out, &pcap, o->key, ilen)
			       : list_push_key(out, &kcap, o);
		if (rc == 0) {
			last = is_prefix ? out->prefixes[out->nprefixes - 1]
					 : out->objects[out->nobjects - 1].key;
			last_len = ilen;
			nitems++;
		}
	}
	if (rc == 0 && out->is_truncated)
		rc = list_token(m, out);
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		s3xml_list_result_free(out);
	return rc;
}

/* ---- multipart uploads (lock held for the table) ---- */

static struct mupload *upload_find(struct store_mem *m, const char *id, const struct target *t,
				   struct mupload ***link)
{
	struct mupload **pp = &m->uploads;
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0 && strcmp((*pp)->bucket, t->bucket->name) == 0 &&
		    strcmp((*pp)->key, t->key) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

static void upload_free(struct mupload *u)
{
	for (size_t i = 0; i < u->nparts; i++)
		free(u->parts[i].data);
	free(u->parts);
	free(u->bucket);
	free(u);
}

static void upload_unlink(struct store_mem *m, struct mupload **link)
{
	struct mupload *u = *link;
	*link = u->next;
	m->nuploads--;
	m->bytes -= u->bytes;
	upload_free(u);
}

static int mem_mpu_create(void *ctx, const struct target *t, const struct s3_meta_pair *meta,
			  size_t nmeta, enum checksum_alg alg, char *upload_id, size_t idlen)
{
	struct store_mem *m = ctx;
	char metabuf[META_MAX];
	struct mupload *u;
	size_t bl, kl;
	int rc = begin(m, STORE_MEM_MPU_CREATE);

	if (rc == 0)
		rc = target_ok(t);
	if (rc == 0 && (!upload_id || !idlen))
		rc = -EINVAL;
	if (rc == 0)
		rc = meta_render(t, meta, nmeta, metabuf);
	if (rc < 0)
		return rc;
	rc = 0; /* meta_render counted pairs */
	bl = strlen(t->bucket->name);
	kl = strlen(t->key);
	u = calloc(1, sizeof(*u));
	if (!u || !(u->bucket = malloc(bl + kl + 2))) {
		free(u);
		return -ENOMEM;
	}
	memcpy(u->bucket, t->bucket->name, bl + 1);
	u->key = u->bucket + bl + 1;
	memcpy(u->key, t->key, kl + 1);
	snprintf(u->meta, sizeof(u->meta), "%s", metabuf);
	u->alg = alg;
	pthread_mutex_lock(&m->lock);
	snprintf(u->id, sizeof(u->id), "mem-upload-%llu", ++m->upload_seq);
	if (m->nuploads >= m->max_objects)
		rc = -ENOSPC;
	else if (strlen(u->id) >= idlen)
		rc = -ENAMETOOLONG;
	if (rc == 0) {
		u->next = m->uploads;
		m->uploads = u;
		m->nuploads++;
		snprintf(upload_id, idlen, "%s", u->id);
	}
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		upload_free(u);
	return rc;
}

static int mem_mpu_part(void *ctx, const struct target *t, const char *upload_id, int number,
			const struct http_body *body, const char *content_md5,
			const struct s3_checksum *ck, char *etag, size_t etaglen)
{
	struct store_mem *m = ctx;
	struct mpart p = { .number = number };
	struct mupload *u;
	char line[256];
	long long old;
	size_t i;
	int same, rc = begin(m, STORE_MEM_MPU_PART);

	if (rc == 0)
		rc = target_ok(t);
	if (rc == 0 && (!upload_id || number < 1 || number > PART_NUMBER_MAX))
		rc = -EINVAL; /* S3: InvalidArgument, 400 */
	if (rc == 0)
		rc = body_take(body, &p.data, &p.len);
	if (rc < 0)
		return rc;
	rc = check_md5(p.data, p.len, content_md5, p.md5, p.etag);
	if (rc == 0)
		rc = check_ck(p.data, p.len, ck, line, sizeof(line), p.ck);
	if (rc < 0) {
		free(p.data);
		return rc;
	}
	p.ck_alg = ck ? ck->alg : CK_NONE;
	pthread_mutex_lock(&m->lock);
	u = upload_find(m, upload_id, t, NULL);
	if (!u) {
		rc = -ENOENT; /* NoSuchUpload */
		goto out;
	}
	for (i = 0; i < u->nparts && u->parts[i].number < number; i++)
		;
	same = i < u->nparts && u->parts[i].number == number;
	old = same ? (long long)u->parts[i].len : 0;
	if (m->bytes - old + (long long)p.len > m->max_bytes) {
		rc = -ENOSPC;
		goto out;
	}
	if (same) {
		free(u->parts[i].data); /* a part sent again replaces the first */
	} else {
		if (u->nparts == u->cap) {
			size_t nc = u->cap ? u->cap * 2 : 8;
			struct mpart *a = realloc(u->parts, nc * sizeof(*a));
			if (!a) {
				rc = -ENOMEM;
				goto out;
			}
			u->parts = a;
			u->cap = nc;
		}
		memmove(u->parts + i + 1, u->parts + i, (u->nparts - i) * sizeof(*u->parts));
		u->nparts++;
	}
	u->parts[i] = p;
	u->bytes += (long long)p.len - old;
	m->bytes += (long long)p.len - old;
	p.data = NULL; /* the upload's now */
	put_etag(p.etag, etag, etaglen);
out:
	pthread_mutex_unlock(&m->lock);
	free(p.data);
	return rc;
}

/* Checks the list against the parts sent, as S3 does: -EIO for a missing
 * or mismatched part or a wrong order (InvalidPart, InvalidPartOrder, as
 * the client maps them), -EINVAL for an empty list or a small part
 * (MalformedXML, EntityTooSmall: 400). Sets *total and fills md5s. */
static int parts_check(const struct store_mem *m, const struct mupload *u,
		       const struct s3_part *parts, size_t nparts, const struct s3_checksum *full,
		       const struct mpart **use, long long *total)
{
	size_t j = 0;

	*total = 0;
	if (!parts || nparts == 0 || nparts > PART_NUMBER_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nparts; i++) {
		if (i > 0 && parts[i].number <= parts[i - 1].number)
			return -EIO;
		while (j < u->nparts && u->parts[j].number < parts[i].number)
			j++;
		if (j == u->nparts || u->parts[j].number != parts[i].number ||
		    !etag_eq(parts[i].etag, u->parts[j].etag))
			return -EIO;
		if (full && full->alg != CK_NONE && parts[i].checksum[0] &&
		    u->parts[j].ck_alg == full->alg &&
		    strcmp(parts[i].checksum, u->parts[j].ck) != 0)
			return -EIO;
		if (i + 1 < nparts && (long long)u->parts[j].len < m->min_part)
			return -EINVAL;
		use[i] = &u->parts[j];
		*total += (long long)u->parts[j].len;
	}
	return 0;
}

/* The object of the listed parts: bytes, "md5-of-md5s-N", checksum. */
static int assemble(const struct mupload *u, const struct mpart **use, size_t n, long long total,
		    const struct s3_checksum *full, struct mobj *o)
{
	unsigned char *md5s = malloc(16 * n), outer[16];
	char hex[33], b64[CHECKSUM_B64_MAX];
	enum checksum_alg alg = full && full->alg != CK_NONE ? full->alg : u->alg;
	size_t off = 0;
	int rc;

	o->data = malloc((size_t)total + 1);
	if (!md5s || !o->data) {
		free(md5s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(o->data + off, use[i]->data, use[i]->len);
		off += use[i]->len;
		memcpy(md5s + 16 * i, use[i]->md5, 16);
	}
	o->data[off] = '\0';
	o->len = off;
	rc = md5_raw(md5s, 16 * n, outer);
	free(md5s);
	if (rc < 0)
		return rc;
	s3_md5_hex(outer, hex);
	snprintf(o->etag, sizeof(o->etag), "%s-%zu", hex, n);
	snprintf(o->meta, sizeof(o->meta), "%s", u->meta);
	/* A FULL_OBJECT checksum is a CRC's (S3 has no MD5 one). */
	if (alg != CK_NONE && checksum_alg_upper(alg)) {
		rc = ck_compute(alg, o->data, o->len, b64);
		if (rc < 0)
			return rc;
		if (full && full->alg == alg && strcmp(full->b64, b64) != 0)
			return -EIO; /* BadDigest */
		snprintf(o->checksums, sizeof(o->checksums), "%s=%s\n", checksum_alg_name(alg), b64);
		snprintf(o->checksum_type, sizeof(o->checksum_type), "FULL_OBJECT");
	}
	return 0;
}

static int mem_mpu_complete(void *ctx, const struct target *t, const char *upload_id,
			    const struct s3_part *parts, size_t nparts,
			    const struct s3_checksum *full, char *etag, size_t etaglen)
{
	struct store_mem *m = ctx;
	const struct mpart **use = NULL;
	struct mupload *u, **link = NULL;
	struct mobj *o = NULL;
	long long total;
	int rc = begin(m, STORE_MEM_MPU_COMPLETE);

	if (rc == 0)
		rc = target_ok(t);
	if (rc == 0 && (!upload_id || nparts > PART_NUMBER_MAX))
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	use = calloc(nparts ? nparts : 1, sizeof(*use));
	o = obj_new(t->bucket->name, t->key);
	if (!use || !o) {
		free(use);
		obj_free(o);
		return -ENOMEM;
	}
	pthread_mutex_lock(&m->lock);
	u = upload_find(m, upload_id, t, &link);
	rc = u ? parts_check(m, u, parts, nparts, full, use, &total) : -ENOENT;
	if (rc == 0)
		rc = assemble(u, use, nparts, total, full, o);
	if (rc == 0) {
		obj_props(o, t->bucket, mem_now(m));
		/* The parts' bytes go as the object's come: within bounds by
		 * construction, but for the count of objects. */
		m->bytes -= u->bytes;
		rc = obj_store(m, o);
		if (rc < 0) {
			m->bytes += u->bytes;
		} else {
			u->bytes = 0;
			put_etag(o->etag, etag, etaglen);
			upload_unlink(m, link);
		}
	}
	pthread_mutex_unlock(&m->lock);
	free(use);
	if (rc < 0)
		obj_free(o);
	return rc;
}

static int mem_mpu_abort(void *ctx, const struct target *t, const char *upload_id)
{
	struct store_mem *m = ctx;
	struct mupload **link;
	int rc = begin(m, STORE_MEM_MPU_ABORT);

	if (rc == 0)
		rc = target_ok(t);
	if (rc == 0 && !upload_id)
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	if (upload_find(m, upload_id, t, &link))
		upload_unlink(m, link);
	pthread_mutex_unlock(&m->lock);
	return 0; /* one that is gone already too, as s3_mpu_abort */
}

/* ---- answers lost after the work (store_mem_fail_after) ---- */

static int lost(struct store_mem *m, enum store_mem_op op, int rc)
{
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	if (m->lost[op].n > 0) {
		m->lost[op].n--;
		rc = m->lost[op].err;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int w_get(void *ctx, const struct target *t, long long off, long long len,
		 const char *if_match, struct http_sink *sink, struct s3_obj_info *info)
{
	return lost(ctx, STORE_MEM_GET, mem_get(ctx, t, off, len, if_match, sink, info));
}

static int w_head(void *ctx, const struct target *t, struct s3_obj_info *info)
{
	return lost(ctx, STORE_MEM_HEAD, mem_head(ctx, t, info));
}

static int w_put(void *ctx, const struct target *t, const struct http_body *body,
		 const char *content_md5, const struct s3_checksum *ck,
		 const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	return lost(ctx, STORE_MEM_PUT,
		    mem_put(ctx, t, body, content_md5, ck, meta, nmeta, etag, etaglen));
}

static int w_put_new(void *ctx, const struct target *t, const struct http_body *body,
		     const char *content_md5, const struct s3_checksum *ck,
		     const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	return lost(ctx, STORE_MEM_PUT_NEW,
		    mem_put_new(ctx, t, body, content_md5, ck, meta, nmeta, etag, etaglen));
}

static int w_remove(void *ctx, const struct target *t)
{
	return lost(ctx, STORE_MEM_REMOVE, mem_remove(ctx, t));
}

static int w_retire(void *ctx, const struct target *t)
{
	return lost(ctx, STORE_MEM_RETIRE, mem_retire(ctx, t));
}

static int w_copy(void *ctx, const struct target *from, const struct target *to, char *etag,
		  size_t etaglen)
{
	return lost(ctx, STORE_MEM_COPY, mem_copy(ctx, from, to, etag, etaglen));
}

static int w_copy_meta(void *ctx, const struct target *from, const struct target *to,
		       const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	return lost(ctx, STORE_MEM_COPY_META,
		    mem_copy_meta(ctx, from, to, meta, nmeta, etag, etaglen));
}

static int w_list(void *ctx, const struct bucket_conf *b, const char *prefix, const char *delimiter,
		  const char *token, int max_keys, struct s3_list_result *out)
{
	int rc = lost(ctx, STORE_MEM_LIST,
		      mem_list(ctx, b, prefix, delimiter, token, max_keys, out));
	if (rc < 0)
		s3xml_list_result_free(out); /* a failed list gives nothing to free */
	return rc;
}

static int w_mpu_create(void *ctx, const struct target *t, const struct s3_meta_pair *meta,
			size_t nmeta, enum checksum_alg alg, char *upload_id, size_t idlen)
{
	return lost(ctx, STORE_MEM_MPU_CREATE,
		    mem_mpu_create(ctx, t, meta, nmeta, alg, upload_id, idlen));
}

static int w_mpu_part(void *ctx, const struct target *t, const char *upload_id, int number,
		      const struct http_body *body, const char *content_md5,
		      const struct s3_checksum *ck, char *etag, size_t etaglen)
{
	return lost(ctx, STORE_MEM_MPU_PART,
		    mem_mpu_part(ctx, t, upload_id, number, body, content_md5, ck, etag, etaglen));
}

static int w_mpu_complete(void *ctx, const struct target *t, const char *upload_id,
			  const struct s3_part *parts, size_t nparts,
			  const struct s3_checksum *full, char *etag, size_t etaglen)
{
	return lost(ctx, STORE_MEM_MPU_COMPLETE,
		    mem_mpu_complete(ctx, t, upload_id, parts, nparts, full, etag, etaglen));
}

static int w_mpu_abort(void *ctx, const struct target *t, const char *upload_id)
{
	return lost(ctx, STORE_MEM_MPU_ABORT, mem_mpu_abort(ctx, t, upload_id));
}

const struct store_ops store_mem_ops = {
	.get = w_get,
	.head = w_head,
	.put = w_put,
	.put_new = w_put_new,
	.remove = w_remove,
	.retire = w_retire,
	.copy = w_copy,
	.copy_meta = w_copy_meta,
	.list = w_list,
	.mpu_create = w_mpu_create,
	.mpu_part = w_mpu_part,
	.mpu_complete = w_mpu_complete,
	.mpu_abort = w_mpu_abort,
};

/* ---- the test side ---- */

struct store_mem *store_mem_new(size_t max_objects, long long max_bytes)
{
	struct store_mem *m;

	if (max_objects == 0) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->max_objects = max_objects;
	m->max_bytes = max_bytes > 0 ? max_bytes : 0;
	m->min_part = MIN_PART_DEFAULT;
	return m;
}

void store_mem_free(struct store_mem *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nobjs; i++)
		obj_free(m->objs[i]);
	free(m->objs);
	while (m->uploads) {
		struct mupload *u = m->uploads;
		m->uploads = u->next;
		upload_free(u);
	}
	for (size_t i = 0; i < LONG_TOKENS; i++)
		free(m->long_tokens[i]);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct store store_mem_store(struct store_mem *m)
{
	return (struct store){ &store_mem_ops, m };
}

long store_mem_count(struct store_mem *m, enum store_mem_op op)
{
	long n;
	if ((int)op < 0 || op >= STORE_MEM_NOPS)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	n = m->counts[op];
	pthread_mutex_unlock(&m->lock);
	return n;
}

void store_mem_reset_counts(struct store_mem *m)
{
	pthread_mutex_lock(&m->lock);
	memset(m->counts, 0, sizeof(m->counts));
	pthread_mutex_unlock(&m->lock);
}

int store_mem_fail_next(struct store_mem *m, enum store_mem_op op, int n, int err)
{
	if ((int)op < 0 || op >= STORE_MEM_NOPS || n < 0 || err == 0)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	m->fail[op].n = n;
	m->fail[op].err = err > 0 ? -err : err;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int store_mem_fail_after(struct store_mem *m, enum store_mem_op op, int n, int err)
{
	if ((int)op < 0 || op >= STORE_MEM_NOPS || n < 0 || err == 0)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	m->lost[op].n = n;
	m->lost[op].err = err > 0 ? -err : err;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int store_mem_object(struct store_mem *m, const char *bucket, const char *key, void **data,
		     size_t *len, struct s3_obj_info *info)
{
	struct mobj *o;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	o = obj_find(m, bucket, key, NULL);
	if (!o) {
		rc = -ENOENT;
	} else {
		if (data) {
			*data = malloc(o->len + 1);
			if (!*data)
				rc = -ENOMEM;
			else
				memcpy(*data, o->data, o->len + 1);
		}
		if (rc == 0 && len)
			*len = o->len;
		if (rc == 0)
			fill_info(o, info, 1);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int store_mem_put_raw(struct store_mem *m, const char *bucket, const char *key, const void *data,
		      size_t len, const char *meta, char *etag, size_t etaglen)
{
	unsigned char md5[16];
	struct mobj *o;
	size_t used = 0;
	int rc;

	if (!bucket || !key || !*key || (len && !data))
		return -EINVAL;
	if (strlen(key) > S3_KEY_MAX)
		return -ENAMETOOLONG;
	o = obj_new(bucket, key);
	if (!o || !(o->data = malloc(len + 1))) {
		obj_free(o);
		return -ENOMEM;
	}
	if (len)
		memcpy(o->data, data, len);
	o->data[len] = '\0';
	o->len = len;
	/* Each "name=value\n" line again, so names come lower-cased. */
	for (const char *p = meta ? meta : ""; *p;) {
		const char *nl = strchr(p, '\n'), *eq = strchr(p, '=');
		char name[META_MAX], value[META_MAX];
		if (!nl || !eq || eq > nl || eq == p || (size_t)(nl - p) >= META_MAX) {
			obj_free(o);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - p), p);
		snprintf(value, sizeof(value), "%.*s", (int)(nl - eq - 1), eq + 1);
		if (meta_add(o->meta, &used, name, value) < 0) {
			obj_free(o);
			return -EINVAL;
		}
		p = nl + 1;
	}
	rc = md5_raw(o->data, len, md5);
	if (rc < 0) {
		obj_free(o);
		return rc;
	}
	s3_md5_hex(md5, o->etag);
	pthread_mutex_lock(&m->lock);
	obj_props(o, NULL, mem_now(m));
	rc = obj_store(m, o);
	if (rc == 0)
		put_etag(o->etag, etag, etaglen);
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		obj_free(o);
	return rc;
}

int store_mem_remove_raw(struct store_mem *m, const char *bucket, const char *key)
{
	size_t i;
	int rc = -ENOENT;
	pthread_mutex_lock(&m->lock);
	if (obj_find(m, bucket, key, &i)) {
		obj_unlink(m, i);
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int store_mem_retired(struct store_mem *m, const char *bucket, const char *key)
{
	struct mobj *o;
	int r;
	pthread_mutex_lock(&m->lock);
	o = obj_find(m, bucket, key, NULL);
	r = o && o->retired;
	pthread_mutex_unlock(&m->lock);
	return r;
}

size_t store_mem_nobjects(struct store_mem *m)
{
	size_t n;
	pthread_mutex_lock(&m->lock);
	n = m->nobjs;
	pthread_mutex_unlock(&m->lock);
	return n;
}

size_t store_mem_nuploads(struct store_mem *m)
{
	size_t n;
	pthread_mutex_lock(&m->lock);
	n = m->nuploads;
	pthread_mutex_unlock(&m->lock);
	return n;
}

long long store_mem_nbytes(struct store_mem *m)
{
	long long n;
	pthread_mutex_lock(&m->lock);
	n = m->bytes;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void store_mem_set_time(struct store_mem *m, time_t t)
{
	pthread_mutex_lock(&m->lock);
	m->now = t;
	pthread_mutex_unlock(&m->lock);
}

void store_mem_set_min_part(struct store_mem *m, long long bytes)
{
	pthread_mutex_lock(&m->lock);
	m->min_part = bytes > 0 ? bytes : 0;
	pthread_mutex_unlock(&m->lock);
}
