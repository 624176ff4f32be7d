/* store_s3.c - the store over s3_client: per-bucket put options, the flat
 * layout's path metadata, on_delete, and one log line per failure with
 * bucket, key and the S3 request id. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connector.h"
#include "log.h"
#include "preflight.h"
#include "sigv4.h"
#include "store.h"

#define META_PATH "s3csfs-path"

/* ---- objects retired by tagging: hidden here for the process's life ---- */

#define RETIRED_HASH 4096
#define RETIRED_MAX 1000000

struct retired {
	struct retired *next;
	char id[]; /* "bucket\nkey" */
};

static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static struct retired *retired_table[RETIRED_HASH];
static size_t nretired;
static int retired_warned;
static int retired_any; /* read without the lock: a hint, set once */

static unsigned retired_hash(const char *bucket, const char *key)
{
	unsigned h = 2166136261u;
	for (const char *s = bucket; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ '\n') * 16777619u;
	for (const char *s = key; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % RETIRED_HASH;
}

static int retired_is(const struct retired *r, const char *bucket, const char *key)
{
	size_t bl = strlen(bucket);
	return strncmp(r->id, bucket, bl) == 0 && r->id[bl] == '\n' &&
	       strcmp(r->id + bl + 1, key) == 0;
}

/* The link pointing at (bucket, key)'s entry, or NULL. lock held. */
static struct retired **retired_find(const char *bucket, const char *key)
{
	struct retired **pp = &retired_table[retired_hash(bucket, key)];
	for (; *pp; pp = &(*pp)->next)
		if (retired_is(*pp, bucket, key))
			return pp;
	return NULL;
}

static void retired_add(const char *bucket, const char *key)
{
	size_t len = strlen(bucket) + strlen(key) + 2;
	struct retired *r;

	pthread_mutex_lock(&retired_lock);
	if (retired_find(bucket, key)) {
		r = NULL; /* known already */
	} else if (nretired >= RETIRED_MAX) {
		r = NULL;
		if (!retired_warned)
			log_warn("on_delete: more than %d tagged objects this run; the next ones "
				 "stay visible here until a lifecycle rule expires them",
				 RETIRED_MAX);
		retired_warned = 1;
	} else if ((r = malloc(sizeof(*r) + len))) {
		unsigned h = retired_hash(bucket, key);
		snprintf(r->id, len, "%s\n%s", bucket, key);
		r->next = retired_table[h];
		retired_table[h] = r;
		nretired++;
		__atomic_store_n(&retired_any, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&retired_lock);
}

static int retired_check(const char *bucket, const char *key)
{
	int found;
	if (!__atomic_load_n(&retired_any, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&retired_lock);
	found = retired_find(bucket, key) != NULL;
	pthread_mutex_unlock(&retired_lock);
	return found;
}

/* A new object at the key: it is live again. */
static void retired_clear(const char *bucket, const char *key)
{
	struct retired **pp, *r;
	if (!__atomic_load_n(&retired_any, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&retired_lock);
	pp = retired_find(bucket, key);
	if (pp) {
		r = *pp;
		*pp = r->next;
		free(r);
		nretired--;
	}
	pthread_mutex_unlock(&retired_lock);
}

/* ---- flat layout: the mount path in the object's metadata ---- */

void store_encode_path(const char *path, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < len; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~/", *p)) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
}

/* The caller's meta plus, for a flat bucket, the path (in mb; at most 16
 * pairs). Returns the pairs to send and sets *n. */
struct meta_buf {
	struct s3_meta_pair pairs[16];
	char value[S3_KEY_MAX * 3 + 1];
};

static const struct s3_meta_pair *with_path(const struct target *t, const struct s3_meta_pair *meta,
					    size_t nmeta, struct meta_buf *mb, size_t *n)
{
	if (t->bucket->key_layout != KEY_LAYOUT_FLAT || !t->path[0] || nmeta >= 16) {
		*n = nmeta;
		return meta;
	}
	for (size_t i = 0; i < nmeta; i++)
		mb->pairs[i] = meta[i];
	store_encode_path(t->path, mb->value, sizeof(mb->value));
	mb->pairs[nmeta] = (struct s3_meta_pair){ META_PATH, mb->value };
	*n = nmeta + 1;
	return mb->pairs;
}

static int logged(int rc, const char *op, const char *bucket, const char *key,
		  const struct s3_status *st)
{
	char buf[600];

	/* A missing object is an answer, not an incident; a full cache
	 * disk is the cache's to tell, once (cache.c); an archived one is
	 * the connector hooks' to report (fs_connector.h). */
	if (rc < 0 && rc != -ENOENT && rc != -ENOSPC && rc != -EDQUOT && rc != -ENODATA)
		log_warn("%s bucket=%s key=%s failed: %s after %d attempt(s): %s", op, bucket, key,
			 strerror(-rc), st->attempts, s3_status_str(st, buf, sizeof(buf)));
	return rc;
}

static void put_opts(const struct bucket_conf *b, const struct s3_meta_pair *meta, size_t nmeta,
		     struct s3_put_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->storage_class = b->storage_class;
	o->sse = b->sse;
	o->sse_kms_key_id = b->sse_kms_key_id;
	o->tagging = b->tags;
	o->meta = meta;
	o->nmeta = nmeta;
}

static int s3_get(void *ctx, const struct target *t, long long off, long long len,
		  const char *if_match, struct http_sink *sink, struct s3_obj_info *info)
{
	struct s3_status st;
	if (retired_check(t->bucket->name, t->key))
		return -ENOENT;
	int rc = s3_get_object(t->bucket->client, t->bucket->name, t->key, off, len, if_match, sink,
			       info, &st);
	return logged(rc, "GetObject", t->bucket->name, t->key, &st);
}

static int s3_head(void *ctx, const struct target *t, struct s3_obj_info *info)
{
	struct s3_status st;
	if (retired_check(t->bucket->name, t->key))
		return -ENOENT;
	int rc = s3_head_object(t->bucket->client, t->bucket->name, t->key, info, &st);
	return logged(rc, "HeadObject", t->bucket->name, t->key, &st);
}

static int put_common(const struct target *t, const struct http_body *body, const char *content_md5,
		      const struct s3_checksum *ck, int if_none_match,
		      const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	char until[CONNECTOR_DATE_LEN];
	struct s3_put_opts o;
	struct s3_status st;
	struct meta_buf mb;
	const struct s3_meta_pair *m;
	size_t n;
	int rc;

	m = with_path(t, meta, nmeta, &mb, &n);
	put_opts(t->bucket, m, n, &o);
	connector_lock_opts(t->bucket, time(NULL), &o, until);
	o.content_md5 = content_md5;
	if (ck)
		o.checksum = *ck;
	o.if_none_match = if_none_match;
	rc = s3_put_object(t->bucket->client, t->bucket->name, t->key, body, &o, etag, etaglen, &st);
	if (rc == 0)
		retired_clear(t->bucket->name, t->key);
	return logged(rc, "PutObject", t->bucket->name, t->key, &st);
}

static int s3_put(void *ctx, const struct target *t, const struct http_body *body,
		  const char *content_md5, const struct s3_checksum *ck,
		  const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	return put_common(t, body, content_md5, ck, 0, meta, nmeta, etag, etaglen);
}

/* Where the server ignores If-None-Match (the mount's probe, preflight.h),
 * exclusive_create = best_effort looks first: -EEXIST if the key is taken.
 * Another host's create between this HEAD and the PUT is not seen. */
static int create_lookup(const struct target *t)
{
	struct s3_obj_info info;
	struct s3_status st;
	int rc;

	if (!preflight_create_needs_head(t->bucket))
		return 0;
	rc = s3_head_object(t->bucket->client, t->bucket->name, t->key, &info, &st);
	if (rc == 0)
		return -EEXIST;
	return rc == -ENOENT ? 0 : logged(rc, "HeadObject", t->bucket->name, t->key, &st);
}

static int s3_put_new(void *ctx, const struct target *t, const struct http_body *body,
		      const char *content_md5, const struct s3_checksum *ck,
		      const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	/* A retired object is ours, hidden: the new one replaces it. */
	int only_new = !retired_check(t->bucket->name, t->key);
	int rc = only_new ? create_lookup(t) : 0;
	if (rc < 0)
		return rc;
	return put_common(t, body, content_md5, ck, only_new, meta, nmeta, etag, etaglen);
}

static int s3_remove(void *ctx, const struct target *t)
{
	struct s3_status st;
	int rc = s3_delete_object(t->bucket->client, t->bucket->name, t->key, &st);
	return logged(rc, "DeleteObject", t->bucket->name, t->key, &st);
}

static int copy_common(const struct target *from, const struct target *to,
		       const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	char until[CONNECTOR_DATE_LEN];
	struct s3_put_opts o;
	struct s3_status st;
	struct meta_buf mb;
	const struct s3_meta_pair *m;
	size_t n;
	int rc;

	if (retired_check(from->bucket->name, from->key))
		return -ENOENT;
	/* Into a flat bucket: the metadata is replaced, with the new path. */
	m = with_path(to, meta, nmeta, &mb, &n);
	put_opts(to->bucket, m, n, &o);
	connector_lock_opts(to->bucket, time(NULL), &o, until);
	rc = s3_copy_object(to->bucket->client, from->bucket->name, from->key, to->bucket->name,
			    to->key, &o, etag, etaglen, &st);
	if (rc == 0)
		retired_clear(to->bucket->name, to->key);
	return logged(rc, "CopyObject", to->bucket->name, to->key, &st);
}

static int s3_copy(void *ctx, const struct target *from, const struct target *to, char *etag,
		   size_t etaglen)
{
	return copy_common(from, to, NULL, 0, etag, etaglen);
}

static int s3_copy_meta(void *ctx, const struct target *from, const struct target *to,
			const struct s3_meta_pair *meta, size_t nmeta, char *etag, size_t etaglen)
{
	return copy_common(from, to, meta, nmeta, etag, etaglen);
}

/* ---- tags of multipart uploads ----
 *
 * AWS applies x-amz-tagging given to CreateMultipartUpload to the object
 * CompleteMultipartUpload makes; Ceph RGW (16.x) ignores it. The first
 * multipart upload of each bucket looks (GetObjectTagging); a server that
 * dropped the tags gets them by PutObjectTagging after every completion
 * from then on, one request more per large file; one that kept them is
 * not asked again. */

enum { MPU_TAGS_UNKNOWN = 0, MPU_TAGS_KEPT, MPU_TAGS_DROPPED };
#define MPU_TAGS_SLOTS 64
static pthread_mutex_t mpu_tags_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const struct bucket_conf *b;
	int state;
} mpu_tags[MPU_TAGS_SLOTS];

static int *mpu_tags_state(const struct bucket_conf *b)
{
	for (size_t i = 0; i < MPU_TAGS_SLOTS; i++) {
		if (mpu_tags[i].b == b)
			return &mpu_tags[i].state;
		if (!mpu_tags[i].b) {
			mpu_tags[i].b = b;
			mpu_tags[i].state = MPU_TAGS_UNKNOWN;
			return &mpu_tags[i].state;
		}
	}
	return NULL; /* more buckets than slots: always look */
}

/* URL-decodes [s, s+n) into out (cap len). -1 if it does not fit. */
static int url_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '%' && i + 2 < n && sigv4_hex_value(s[i + 1]) >= 0 &&
		    sigv4_hex_value(s[i + 2]) >= 0) {
			ch = (char)(sigv4_hex_value(s[i + 1]) * 16 + sigv4_hex_value(s[i + 2]));
			i += 2;
		} else if (ch == '+') {
			ch = ' ';
		}
		if (o + 1 >= len)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/* The bucket's "k=v&k2=v2" as tags. Returns how many, -1 if malformed. */
static int parse_bucket_tags(const char *s, struct s3_tag *tags, size_t max)
{
	size_t n = 0;
	while (*s) {
		size_t len = strcspn(s, "&");
		const char *eq = memchr(s, '=', len);
		if (!eq || n >= max ||
		    url_decode(s, (size_t)(eq - s), tags[n].key, sizeof(tags[n].key)) < 0 ||
		    url_decode(eq + 1, len - (size_t)(eq - s) - 1, tags[n].value,
			       sizeof(tags[n].value)) < 0)
			return -1;
		n++;
		s += len;
		if (*s == '&')
			s++;
	}
	return (int)n;
}

static void mpu_tags_ensure(const struct target *t)
{
	const struct bucket_conf *b = t->bucket;
	struct s3_tag tags[S3_MAX_TAGS];
	struct s3_status st;
	size_t have = 0;
	int *state, known, n, rc;

	pthread_mutex_lock(&mpu_tags_lock);
	state = mpu_tags_state(b);
	known = state ? *state : MPU_TAGS_UNKNOWN;
	pthread_mutex_unlock(&mpu_tags_lock);
	if (known == MPU_TAGS_KEPT)
		return;
	if (known == MPU_TAGS_UNKNOWN) {
		rc = s3_get_object_tagging(b->client, b->name, t->key, tags, S3_MAX_TAGS, &have,
					   &st);
		if (rc < 0) {
			logged(rc, "GetObjectTagging", b->name, t->key, &st);
			return;
		}
		pthread_mutex_lock(&mpu_tags_lock);
		if (state && *state == MPU_TAGS_UNKNOWN) {
			*state = have ? MPU_TAGS_KEPT : MPU_TAGS_DROPPED;
			if (!have)
				log_warn("bucket %s: the server ignores x-amz-tagging on multipart "
					 "uploads; their tags are set with PutObjectTagging after "
					 "completion",
					 b->name);
		}
		pthread_mutex_unlock(&mpu_tags_lock);
		if (have)
			return;
	}
	n = parse_bucket_tags(b->tags, tags, S3_MAX_TAGS);
	if (n <= 0)
		return;
	rc = s3_put_object_tagging(b->client, b->name, t->key, tags, (size_t)n, &st);
	if (rc < 0)
		log_error("bucket=%s key=%s: uploaded, but its tags could not be set (%s)", b->name,
			  t->key, strerror(-rc));
}

/* unlink(2): delete, or tag as the bucket's on_delete says. */
static int s3_retire(void *ctx, const struct target *t)
{
	const struct bucket_conf *b = t->bucket;
	struct s3_tag tags[S3_MAX_TAGS + 1];
	struct s3_status st;
	const char *kv, *eq;
	size_t n = 0, i;
	int rc;

	if (!b->on_delete || strncmp(b->on_delete, "tag:", 4) != 0) {
		rc = s3_delete_object(b->client, b->name, t->key, &st);
		return logged(rc, "DeleteObject", b->name, t->key, &st);
	}
	kv = b->on_delete + 4;
	eq = strchr(kv, '=');
	/* conf.c has checked it; never delete what was to be kept. */
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(tags[0].key) ||
	    strlen(eq + 1) >= sizeof(tags[0].value))
		return -EINVAL;
	size_t klen = (size_t)(eq - kv);
	/* Keep the object's tags (retention, owner, ...) and add ours. */
	rc = s3_get_object_tagging(b->client, b->name, t->key, tags, S3_MAX_TAGS, &n, &st);
	if (rc == -ENOENT) {
		retired_add(b->name, t->key);
		return 0; /* gone already: as DeleteObject would say */
	}
	if (rc < 0)
		return logged(rc, "GetObjectTagging", b->name, t->key, &st);
	for (i = 0; i < n; i++)
		if (strlen(tags[i].key) == klen && memcmp(tags[i].key, kv, klen) == 0)
			break;
	if (i == n) {
		if (n == S3_MAX_TAGS) {
			log_error("on_delete: bucket=%s key=%s already has %d tags, S3's limit; cannot "
				  "add %s: not deleted",
				  b->name, t->key, S3_MAX_TAGS, b->on_delete);
			return -E2BIG;
		}
		memset(&tags[n], 0, sizeof(tags[n]));
		memcpy(tags[n].key, kv, klen);
		n++;
	}
	snprintf(tags[i].value, sizeof(tags[i].value), "%s", eq + 1);
	rc = s3_put_object_tagging(b->client, b->name, t->key, tags, n, &st);
	if (rc == 0 || rc == -ENOENT) {
		retired_add(b->name, t->key);
		log_info("on_delete: tagged bucket=%s key=%s with %s instead of deleting it",
			 b->name, t->key, b->on_delete + 4);
		return 0;
	}
	return logged(rc, "PutObjectTagging", b->name, t->key, &st);
}

static int s3_list(void *ctx, const struct bucket_conf *b, const char *prefix, const char *delimiter,
		   const char *token, int max_keys, struct s3_list_result *out)
{
	struct s3_status st;
	int rc = s3_list_objects(b->client, b->name, prefix, delimiter, token, max_keys, out, &st);
	if (rc == 0 && __atomic_load_n(&retired_any, __ATOMIC_ACQUIRE)) {
		size_t k = 0;
		for (size_t i = 0; i < out->nobjects; i++) {
			if (retired_check(b->name, out->objects[i].key)) {
				free(out->objects[i].key);
				continue;
			}
			out->objects[k++] = out->objects[i];
		}
		out->nobjects = k;
	}
	return logged(rc, "ListObjectsV2", b->name, prefix, &st);
}

static int s3_mpu_create_op(void *ctx, const struct target *t, const struct s3_meta_pair *meta,
			    size_t nmeta, enum checksum_alg alg, char *upload_id, size_t idlen)
{
	char until[CONNECTOR_DATE_LEN];
	struct s3_put_opts o;
	struct s3_status st;
	struct meta_buf mb;
	const struct s3_meta_pair *m;
	size_t n;
	int rc;

	m = with_path(t, meta, nmeta, &mb, &n);
	put_opts(t->bucket, m, n, &o);
	o.checksum.alg = alg;
	connector_lock_opts(t->bucket, time(NULL), &o, until);
	rc = s3_mpu_create(t->bucket->client, t->bucket->name, t->key, &o, upload_id, idlen, &st);
	return logged(rc, "CreateMultipartUpload", t->bucket->name, t->key, &st);
}

static int s3_mpu_part_op(void *ctx, const struct target *t, const char *upload_id, int number,
			  const struct http_body *body, const char *content_md5,
			  const struct s3_checksum *ck, char *etag, size_t etaglen)
{
	struct s3_status st;
	int rc = s3_mpu_upload_part_ck(t->bucket->client, t->bucket->name, t->key, upload_id,
				       number, body, content_md5, ck, etag, etaglen, &st);
	return logged(rc, "UploadPart", t->bucket->name, t->key, &st);
}

/* ---- Object Lock of multipart uploads ----
 *
 * S3 applies the lock headers of CreateMultipartUpload to the object;
 * Ceph RGW (16.x) drops them. As for tags above: the first completion of
 * each bucket looks (HEAD); a server that dropped them gets
 * PutObjectRetention after every completion from then on. */

static pthread_mutex_t mpu_lock_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const struct bucket_conf *b;
	int state;
} mpu_lock[MPU_TAGS_SLOTS];

static void mpu_lock_ensure(const struct target *t)
{
	const struct bucket_conf *b = t->bucket;
	struct s3_obj_info info;
	struct s3_status st;
	char until[CONNECTOR_DATE_LEN];
	int *state = NULL, known = MPU_TAGS_UNKNOWN, rc;

	pthread_mutex_lock(&mpu_lock_lock);
	for (size_t i = 0; i < MPU_TAGS_SLOTS && !state; i++)
		if (mpu_lock[i].b == b || !mpu_lock[i].b) {
			mpu_lock[i].b = b;
			state = &mpu_lock[i].state;
		}
	known = state ? *state : MPU_TAGS_UNKNOWN;
	pthread_mutex_unlock(&mpu_lock_lock);
	if (known == MPU_TAGS_KEPT)
		return;
	if (known == MPU_TAGS_UNKNOWN) {
		rc = s3_head_object(b->client, b->name, t->key, &info, &st);
		if (rc < 0) {
			logged(rc, "HeadObject", b->name, t->key, &st);
			return;
		}
		pthread_mutex_lock(&mpu_lock_lock);
		if (state && *state == MPU_TAGS_UNKNOWN) {
			*state = info.lock_mode[0] ? MPU_TAGS_KEPT : MPU_TAGS_DROPPED;
			if (!info.lock_mode[0])
				log_warn("bucket %s: the server ignores Object Lock headers on multipart "
					 "uploads; their retention is set with PutObjectRetention after "
					 "completion",
					 b->name);
		}
		pthread_mutex_unlock(&mpu_lock_lock);
		if (info.lock_mode[0])
			return;
	}
	connector_date(time(NULL) + (time_t)b->retention_s, until);
	rc = s3_put_object_retention(b->client, b->name, t->key, b->object_lock, until, &st);
	if (rc < 0)
		log_error("bucket=%s key=%s: uploaded, but its retention could not be set (%s)",
			  b->name, t->key, strerror(-rc));
}

static int s3_mpu_complete_op(void *ctx, const struct target *t, const char *upload_id,
			      const struct s3_part *parts, size_t nparts,
			      const struct s3_checksum *full, char *etag, size_t etaglen)
{
	struct s3_status st;
	int rc = s3_mpu_complete_ck(t->bucket->client, t->bucket->name, t->key, upload_id, parts,
				    nparts, full, etag, etaglen, &st);
	if (rc == 0) {
		retired_clear(t->bucket->name, t->key);
		if (t->bucket->tags)
			mpu_tags_ensure(t);
		if (t->bucket->object_lock && t->bucket->retention_s > 0)
			mpu_lock_ensure(t);
	}
	return logged(rc, "CompleteMultipartUpload", t->bucket->name, t->key, &st);
}

static int s3_mpu_abort_op(void *ctx, const struct target *t, const char *upload_id)
{
	struct s3_status st;
	int rc = s3_mpu_abort(t->bucket->client, t->bucket->name, t->key, upload_id, &st);
	return logged(rc, "AbortMultipartUpload", t->bucket->name, t->key, &st);
}

const struct store_ops store_s3_ops = {
	.get = s3_get,
	.head = s3_head,
	.put = s3_put,
	.put_new = s3_put_new,
	.remove = s3_remove,
	.retire = s3_retire,
	.copy = s3_copy,
	.copy_meta = s3_copy_meta,
	.list = s3_list,
	.mpu_create = s3_mpu_create_op,
	.mpu_part = s3_mpu_part_op,
	.mpu_complete = s3_mpu_complete_op,
	.mpu_abort = s3_mpu_abort_op,
};
