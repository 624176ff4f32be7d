/* store_s3.c - the store over s3_client: per-bucket put options, and one
 * log line per failure with bucket, key and the S3 request id. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "store.h"

static int logged(int rc, const char *op, const char *bucket, const char *key,
		  const struct s3_status *st)
{
	char buf[600];

	/* A missing object is an answer, not an incident. */
	if (rc < 0 && rc != -ENOENT)
		log_warn("%s bucket=%s key=%s failed: %s after %d attempt(s): %s", op, bucket,
			 key, strerror(-rc), st->attempts, s3_status_str(st, buf, sizeof(buf)));
	return rc;
}

static void put_opts(const struct bucket_conf *b, const struct s3_meta_pair *meta,
		     size_t nmeta, struct s3_put_opts *o)
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
	int rc = s3_get_object(t->bucket->client, t->bucket->name, t->key, off, len, if_match,
			       sink, info, &st);
	return logged(rc, "GetObject", t->bucket->name, t->key, &st);
}

static int s3_head(void *ctx, const struct target *t, struct s3_obj_info *info)
{
	struct s3_status st;
	int rc = s3_head_object(t->bucket->client, t->bucket->name, t->key, info, &st);
	return logged(rc, "HeadObject", t->bucket->name, t->key, &st);
}

static int s3_put(void *ctx, const struct target *t, const struct http_body *body,
		  const char *content_md5, const struct s3_meta_pair *meta, size_t nmeta,
		  char *etag, size_t etaglen)
{
	struct s3_put_opts o;
	struct s3_status st;
	int rc;

	put_opts(t->bucket, meta, nmeta, &o);
	o.content_md5 = content_md5;
	rc = s3_put_object(t->bucket->client, t->bucket->name, t->key, body, &o, etag, etaglen,
			   &st);
	return logged(rc, "PutObject", t->bucket->name, t->key, &st);
}

static int s3_remove(void *ctx, const struct target *t)
{
	struct s3_status st;
	int rc = s3_delete_object(t->bucket->client, t->bucket->name, t->key, &st);
	return logged(rc, "DeleteObject", t->bucket->name, t->key, &st);
}

static int s3_copy(void *ctx, const struct target *from, const struct target *to, char *etag,
		   size_t etaglen)
{
	struct s3_put_opts o;
	struct s3_status st;
	int rc;

	put_opts(to->bucket, NULL, 0, &o);
	rc = s3_copy_object(to->bucket->client, from->bucket->name, from->key, to->bucket->name,
			    to->key, &o, etag, etaglen, &st);
	return logged(rc, "CopyObject", to->bucket->name, to->key, &st);
}

static int s3_list(void *ctx, const struct bucket_conf *b, const char *prefix,
		   const char *delimiter, const char *token, int max_keys,
		   struct s3_list_result *out)
{
	struct s3_status st;
	int rc = s3_list_objects(b->client, b->name, prefix, delimiter, token, max_keys, out, &st);
	return logged(rc, "ListObjectsV2", b->name, prefix, &st);
}

static int s3_mpu_create_op(void *ctx, const struct target *t, const struct s3_meta_pair *meta,
			    size_t nmeta, char *upload_id, size_t idlen)
{
	struct s3_put_opts o;
	struct s3_status st;
	int rc;

	put_opts(t->bucket, meta, nmeta, &o);
	rc = s3_mpu_create(t->bucket->client, t->bucket->name, t->key, &o, upload_id, idlen, &st);
	return logged(rc, "CreateMultipartUpload", t->bucket->name, t->key, &st);
}

static int s3_mpu_part_op(void *ctx, const struct target *t, const char *upload_id, int number,
			  const struct http_body *body, char *etag, size_t etaglen)
{
	struct s3_status st;
	int rc = s3_mpu_upload_part(t->bucket->client, t->bucket->name, t->key, upload_id, number,
				    body, NULL, etag, etaglen, &st);
	return logged(rc, "UploadPart", t->bucket->name, t->key, &st);
}

static int s3_mpu_complete_op(void *ctx, const struct target *t, const char *upload_id,
			      const struct s3_part *parts, size_t nparts, char *etag,
			      size_t etaglen)
{
	struct s3_status st;
	int rc = s3_mpu_complete(t->bucket->client, t->bucket->name, t->key, upload_id, parts,
				 nparts, etag, etaglen, &st);
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
	.remove = s3_remove,
	.copy = s3_copy,
	.list = s3_list,
	.mpu_create = s3_mpu_create_op,
	.mpu_part = s3_mpu_part_op,
	.mpu_complete = s3_mpu_complete_op,
	.mpu_abort = s3_mpu_abort_op,
};
