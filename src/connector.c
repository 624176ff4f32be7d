/* connector.c - archive tier, Object Lock and direct URLs over s3_client
 * (see connector.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "connector.h"
#include "dynbuf.h"
#include "sigv4.h"

#define MAX_META 32

void connector_date(time_t t, char out[CONNECTOR_DATE_LEN])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, CONNECTOR_DATE_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CONNECTOR_DATE_LEN, "1970-01-01T00:00:00Z");
}

int connector_class_needs_restore(const char *sc)
{
	return sc && (strcmp(sc, "GLACIER") == 0 || strcmp(sc, "DEEP_ARCHIVE") == 0);
}

/* The value of name="..." in an x-amz-restore header, "" if absent. */
static void restore_field(const char *h, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	const char *p = h;

	out[0] = '\0';
	while ((p = strstr(p, name)) != NULL) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[n] == '=' && p[n + 1] == '"') {
			const char *v = p + n + 2, *end = strchr(v, '"');
			size_t l = end ? (size_t)(end - v) : 0;
			if (end && l < len) {
				memcpy(out, v, l);
				out[l] = '\0';
			}
			return;
		}
		p += n;
	}
}

enum archive_state connector_archive_state(const struct s3_obj_info *info, time_t *until)
{
	char ongoing[16], expiry[64];

	if (until)
		*until = 0;
	if (strcmp(info->storage_class, "GLACIER_IR") == 0)
		return ARCHIVE_INSTANT;
	if (!connector_class_needs_restore(info->storage_class))
		return ARCHIVE_NONE;
	restore_field(info->restore, "ongoing-request", ongoing, sizeof(ongoing));
	if (strcmp(ongoing, "true") == 0)
		return ARCHIVE_RESTORING;
	if (strcmp(ongoing, "false") == 0) {
		restore_field(info->restore, "expiry-date", expiry, sizeof(expiry));
		time_t t = expiry[0] ? (time_t)curl_getdate(expiry, NULL) : 0;
		/* A copy whose expiry has passed is gone, whatever the header says. */
		if (t <= 0 || t > time(NULL)) {
			if (until)
				*until = t > 0 ? t : 0;
			return ARCHIVE_RESTORED;
		}
	}
	return ARCHIVE_ARCHIVED;
}

void connector_archive_text(const struct s3_obj_info *info, char *out, size_t len)
{
	char date[CONNECTOR_DATE_LEN];
	time_t until;

	switch (connector_archive_state(info, &until)) {
	case ARCHIVE_NONE:
		snprintf(out, len, "none");
		break;
	case ARCHIVE_INSTANT:
	case ARCHIVE_ARCHIVED:
		snprintf(out, len, "archived");
		break;
	case ARCHIVE_RESTORING:
		snprintf(out, len, "restoring");
		break;
	case ARCHIVE_RESTORED:
		if (until) {
			connector_date(until, date);
			snprintf(out, len, "restored until %s", date);
		} else {
			snprintf(out, len, "restored");
		}
		break;
	}
}

int connector_retained(const struct s3_obj_info *info, time_t now)
{
	return info->legal_hold || (info->retain_until && info->retain_until > now);
}

void connector_lock_opts(const struct bucket_conf *b, time_t now, struct s3_put_opts *o,
			 char until[CONNECTOR_DATE_LEN])
{
	if (!b->object_lock || b->retention_s <= 0)
		return;
	connector_date(now + (time_t)b->retention_s, until);
	o->lock_mode = b->object_lock;
	o->lock_until = until;
}

/* Appends "&name=enc(value)" to q (cap len). */
static int query_pair(char *q, size_t len, const char *name, const char *value)
{
	size_t used = strlen(q), enc_cap = strlen(value) * 3 + 1;
	char *enc = malloc(enc_cap);
	struct dynbuf d;
	int rc = -ENAMETOOLONG;

	if (!enc)
		return -ENOMEM;
	dynbuf_init_fixed(&d, q + used, len - used);
	if (sigv4_uri_encode(value, 0, enc, enc_cap) >= 0 &&
	    dynbuf_addf(&d, "%s%s=%s", used ? "&" : "", name, enc) == 0)
		rc = 0;
	free(enc);
	return rc;
}

/* Content-Disposition: attachment; filename="..." in ASCII (other bytes,
 * quotes and backslashes as '_'), and RFC 6266's filename* in UTF-8 when
 * the name is not plain ASCII. */
static int disposition(const char *name, char *out, size_t len)
{
	char ascii[512], pct[1536];
	size_t a = 0;
	int plain = 1, n;

	for (const unsigned char *p = (const unsigned char *)name; *p && a + 1 < sizeof(ascii); p++) {
		int ok = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
		plain &= *p < 0x80;
		ascii[a++] = ok ? (char)*p : '_';
	}
	ascii[a] = '\0';
	if (plain)
		n = snprintf(out, len, "attachment; filename=\"%s\"", ascii);
	else if (sigv4_uri_encode(name, 0, pct, sizeof(pct)) < 0)
		return -ENAMETOOLONG;
	else
		n = snprintf(out, len, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii,
			     pct);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int connector_direct_url(const struct bucket_conf *b, const char *key, long expires_s,
			 const char *filename, const char *content_type, char *url, size_t len)
{
	char q[8192] = "", disp[2200];
	int rc;

	if (expires_s < SIGV4_PRESIGN_MIN_S || expires_s > SIGV4_PRESIGN_MAX_S)
		return -EINVAL;
	if (filename && *filename) {
		if (strlen(filename) > 500)
			return -ENAMETOOLONG;
		rc = disposition(filename, disp, sizeof(disp));
		if (rc == 0)
			rc = query_pair(q, sizeof(q), "response-content-disposition", disp);
		if (rc < 0)
			return rc;
	}
	if (content_type && *content_type) {
		for (const unsigned char *p = (const unsigned char *)content_type; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				return -EINVAL;
		if (strlen(content_type) > 255)
			return -ENAMETOOLONG;
		rc = query_pair(q, sizeof(q), "response-content-type", content_type);
		if (rc < 0)
			return rc;
	}
	return s3_presign_get(b->client, b->name, key, expires_s, q, url, len);
}

/* What failed, for msg. */
static int why(int rc, const char *what, const struct s3_status *st, char *msg, size_t len)
{
	char buf[600];

	if (msg && len)
		snprintf(msg, len, "%s: %s (%s)", what, strerror(-rc),
			 s3_status_str(st, buf, sizeof(buf)));
	return rc;
}

/* The object's metadata, content type and tags for a copy in parts,
 * which S3 does not carry over itself. Pairs point into info and tagbuf. */
static int copy_opts_multipart(const struct bucket_conf *b, const char *key,
			       struct s3_obj_info *info, struct s3_meta_pair *meta, size_t *nmeta,
			       char *tagbuf, size_t taglen, struct s3_status *st)
{
	struct s3_tag tags[S3_MAX_TAGS];
	size_t ntags = 0;
	char *p = info->meta;
	struct dynbuf d;
	int rc;

	*nmeta = 0;
	while (*p && *nmeta < MAX_META) {
		char *eol = strchr(p, '\n'), *eq;
		if (eol)
			*eol = '\0';
		eq = strchr(p, '=');
		if (eq) {
			*eq = '\0';
			meta[(*nmeta)++] = (struct s3_meta_pair){ p, eq + 1 };
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	dynbuf_init_fixed(&d, tagbuf, taglen);
	rc = s3_get_object_tagging(b->client, b->name, key, tags, S3_MAX_TAGS, &ntags, st);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ntags; i++) {
		char k[3 * sizeof(tags[i].key)], v[3 * sizeof(tags[i].value)];
		if (sigv4_uri_encode(tags[i].key, 0, k, sizeof(k)) < 0 ||
		    sigv4_uri_encode(tags[i].value, 0, v, sizeof(v)) < 0)
			return -ENAMETOOLONG;
		if (dynbuf_addf(&d, "%s%s=%s", dynbuf_len(&d) ? "&" : "", k, v) < 0)
			return -ENAMETOOLONG;
	}
	return 0;
}

int connector_archive(const struct bucket_conf *b, const char *key, long long part_size, char *msg,
		      size_t msglen)
{
	struct s3_obj_info info;
	struct s3_put_opts o;
	struct s3_status st;
	struct s3_meta_pair meta[MAX_META];
	char etag[S3_ETAG_MAX], until[CONNECTOR_DATE_LEN], tagbuf[S3_MAX_TAGS * 1200];
	size_t nmeta = 0;
	int rc;

	if (!b->archive_storage_class) {
		if (msg)
			snprintf(msg, msglen,
				 "[bucket:%s] has no archive_storage_class; set one (GLACIER, "
				 "DEEP_ARCHIVE or GLACIER_IR)",
				 b->id);
		return -ENOTSUP;
	}
	rc = s3_head_object(b->client, b->name, key, &info, &st);
	if (rc < 0)
		return why(rc, "HeadObject", &st, msg, msglen);
	if (strcmp(info.storage_class, b->archive_storage_class) == 0) {
		if (msg)
			snprintf(msg, msglen, "already in %s", info.storage_class);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.storage_class = b->archive_storage_class;
	o.sse = b->sse;
	o.sse_kms_key_id = b->sse_kms_key_id;
	connector_lock_opts(b, time(NULL), &o, until);
	/* Of the version looked at: a concurrent overwrite is not archived
	 * by accident, the copy fails instead. */
	o.copy_source_if_match = info.etag;
	if (info.size <= CONNECTOR_COPY_MAX) {
		rc = s3_copy_object(b->client, b->name, key, b->name, key, &o, etag, sizeof(etag),
				    &st);
		if (rc < 0)
			return why(rc, "CopyObject", &st, msg, msglen);
	} else {
		/* Parts of at least CONNECTOR_COPY_PART_MIN: no byte passes
		 * through here, and S3 bills per request. */
		long long ps = part_size < CONNECTOR_COPY_PART_MIN ? CONNECTOR_COPY_PART_MIN
								   : part_size;
		if ((info.size + ps - 1) / ps > 10000)
			ps = (info.size + 9999) / 10000;
		rc = copy_opts_multipart(b, key, &info, meta, &nmeta, tagbuf, sizeof(tagbuf), &st);
		if (rc < 0)
			return why(rc, "GetObjectTagging", &st, msg, msglen);
		o.meta = meta;
		o.nmeta = nmeta;
		o.tagging = tagbuf[0] ? tagbuf : NULL;
		o.content_type = info.content_type[0] ? info.content_type : NULL;
		o.copy_source_if_match = NULL; /* UploadPartCopy takes it per part */
		rc = s3_copy_object_multipart(b->client, b->name, key, info.size, info.etag,
					      b->name, key, ps, &o, etag, sizeof(etag), &st);
		if (rc < 0)
			return why(rc, "multipart copy", &st, msg, msglen);
	}
	if (msg)
		snprintf(msg, msglen, "%s -> %s", info.storage_class, b->archive_storage_class);
	return 0;
}

int connector_restore(const struct bucket_conf *b, const char *key, const char *tier, int days,
		      char *msg, size_t msglen)
{
	struct s3_status st;
	int accepted = 0;
	int rc = s3_restore_object(b->client, b->name, key, days, tier, &accepted, &st);

	if (rc == -EALREADY) {
		if (msg)
			snprintf(msg, msglen, "a restore is in progress already");
		return 1;
	}
	if (rc == -ENODATA) {
		if (msg)
			snprintf(msg, msglen, "not archived (nothing to restore)");
		return rc;
	}
	if (rc < 0)
		return why(rc, "RestoreObject", &st, msg, msglen);
	if (msg && accepted)
		snprintf(msg, msglen, "restore started (%s, %d day%s)", tier, days,
			 days == 1 ? "" : "s");
	else if (msg)
		snprintf(msg, msglen, "restored already; the copy is kept %d day%s from now", days,
			 days == 1 ? "" : "s");
	return accepted ? 0 : 2;
}
