/* s3_client.c - S3 REST operations: addressing, SigV4 headers, retries,
 * error mapping, checksums. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "backoff.h"
#include "log.h"
#include "s3_client.h"
#include "sigv4.h"

#define URL_MAX (S3_KEY_MAX * 3 + 4096)
#define QUERY_MAX (S3_KEY_MAX * 3 + S3_TOKEN_MAX * 3 + 512)
#define MAX_HEADERS 24

struct s3_client {
	char scheme[8];
	char host[256]; /* host[:port] as sent in Host */
	char region[64];
	int path_style;
	struct s3_creds_provider creds;
	struct http_pool *http;
	int max_retries;
	long retry_base_ms;
	long retry_max_ms;
	int checksum_support; /* s3_client_checksums */
};

int s3_creds_static_get(void *ctx, struct s3_creds *out)
{
	*out = *(const struct s3_creds *)ctx;
	return out->access_key[0] ? 0 : -ENOKEY;
}

struct s3_client *s3_client_new(const struct s3_client_opts *opts, char *err, size_t errlen)
{
	struct s3_client *c;
	const char *ep = opts->endpoint, *rest;
	size_t hlen;

	if (!ep || !*ep) {
		snprintf(err, errlen, "no endpoint given");
		return NULL;
	}
	if (strncmp(ep, "http://", 7) == 0)
		rest = ep + 7;
	else if (strncmp(ep, "https://", 8) == 0)
		rest = ep + 8;
	else {
		snprintf(err, errlen, "endpoint '%s' must start with http:// or https://", ep);
		return NULL;
	}
	hlen = strcspn(rest, "/?#");
	if (hlen == 0 || hlen >= sizeof(c->host) || memchr(rest, '@', hlen)) {
		snprintf(err, errlen, "endpoint '%s' has no valid host[:port]", ep);
		return NULL;
	}
	if (!opts->creds.get) {
		snprintf(err, errlen, "no credentials provider");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(c->scheme, sizeof(c->scheme), "%s", rest == ep + 7 ? "http" : "https");
	memcpy(c->host, rest, hlen);
	c->host[hlen] = '\0';
	snprintf(c->region, sizeof(c->region), "%s",
		 opts->region && *opts->region ? opts->region : "us-east-1");
	c->path_style = opts->path_style;
	c->creds = opts->creds;
	c->max_retries = opts->max_retries < 0 ? 0 : opts->max_retries ? opts->max_retries : 8;
	c->retry_base_ms = opts->retry_base_ms > 0 ? opts->retry_base_ms : 100;
	c->retry_max_ms = opts->retry_max_ms > 0 ? opts->retry_max_ms : 60000;
	c->checksum_support = -1;
	c->http = http_pool_new(&opts->http);
	if (!c->http) {
		snprintf(err, errlen, "cannot initialise libcurl");
		free(c);
		return NULL;
	}
	return c;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	http_pool_free(c->http);
	free(c);
}

const char *s3_status_str(const struct s3_status *st, char *buf, size_t len)
{
	if (!st) {
		snprintf(buf, len, "(no status)");
	} else if (st->http_status == 0) {
		snprintf(buf, len, "%s%s%s", st->code[0] ? st->code : "transport error",
			 st->message[0] ? ": " : "", st->message);
	} else {
		snprintf(buf, len, "HTTP %ld%s%s%s%s%s%s%s", st->http_status,
			 st->code[0] ? " " : "", st->code, st->message[0] ? ": " : "", st->message,
			 st->request_id[0] ? " (request id " : "", st->request_id,
			 st->request_id[0] ? ")" : "");
	}
	return buf;
}

int s3_obj_meta_get(const struct s3_obj_info *info, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	const char *p = info->meta;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		if (l > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t vl = l - n - 1;
			if (vl >= len)
				return -ENAMETOOLONG;
			memcpy(out, p + n + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return -ENOENT;
}

int s3_client_checksums(struct s3_client *c)
{
	return __atomic_load_n(&c->checksum_support, __ATOMIC_RELAXED);
}

/* The value of "alg=VALUE" lines (http_response.checksums) for alg. */
static int checksum_lookup(const char *list, const char *alg, char *out, size_t len)
{
	size_t n = strlen(alg);

	for (const char *p = list; *p;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		if (l > n && strncmp(p, alg, n) == 0 && p[n] == '=' && l - n - 1 < len) {
			memcpy(out, p + n + 1, l - n - 1);
			out[l - n - 1] = '\0';
			return 0;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return -ENOENT;
}

int s3_obj_checksum(const struct s3_obj_info *info, enum checksum_alg alg, unsigned char raw[16])
{
	char v[64];

	if (strcasecmp(info->checksum_type, "COMPOSITE") == 0 ||
	    checksum_lookup(info->checksums, checksum_alg_name(alg), v, sizeof(v)) < 0 ||
	    strchr(v, '-'))
		return -ENOENT;
	return checksum_from_base64(alg, v, raw) < 0 ? -ENOENT : 0;
}

void s3_md5_base64(const unsigned char md5[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, md5, 16);
}

void s3_md5_hex(const unsigned char md5[16], char out[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[md5[i] >> 4];
		out[2 * i + 1] = hex[md5[i] & 15];
	}
	out[32] = '\0';
}

/* MD5 of a body, reading a file body once more with pread. */
static int body_md5(const struct http_body *body, unsigned char md5[16])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 16;
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -EIO;
	}
	if (body && body->kind == HTTP_BODY_MEM) {
		EVP_DigestUpdate(ctx, body->mem, body->len);
	} else if (body && body->kind == HTTP_BODY_FD) {
		size_t bufsz = 256 * 1024, done = 0;
		char *buf = malloc(bufsz);
		if (!buf)
			rc = -ENOMEM;
		while (!rc && done < body->len) {
			size_t want = body->len - done < bufsz ? body->len - done : bufsz;
			ssize_t n = pread(body->fd, buf, want, body->off + (off_t)done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
			EVP_DigestUpdate(ctx, buf, (size_t)n);
			done += (size_t)n;
		}
		free(buf);
	}
	if (!rc && !EVP_DigestFinal_ex(ctx, md5, &mdlen))
		rc = -EIO;
	EVP_MD_CTX_free(ctx);
	return rc;
}

struct s3_request {
	enum s3_op op;
	const char *method;
	const char *bucket; /* NULL: service level */
	const char *key;    /* NULL: bucket level */
	const char *query;  /* encoded, without '?'; NULL if none */
	struct sigv4_header headers[MAX_HEADERS];
	size_t nheaders;
	const struct http_body *body;
	struct http_sink *sink;
};

static int req_header(struct s3_request *r, const char *name, const char *value)
{
	if (r->nheaders >= MAX_HEADERS)
		return -E2BIG;
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
	return 0;
}

/* Words for codes some servers (Ceph RGW) send with an empty <Message>. */
static const char *default_message(const char *code)
{
	static const struct {
		const char *code, *text;
	} table[] = {
		{ "SignatureDoesNotMatch", "the secret key does not match the access key" },
		{ "InvalidAccessKeyId", "the access key is not known to the server" },
		{ "AccessDenied", "access denied by the bucket or user policy" },
		{ "NoSuchBucket", "the bucket does not exist" },
		{ "NoSuchKey", "the key does not exist" },
		{ "NoSuchUpload", "the multipart upload does not exist (aborted or completed)" },
		{ "InvalidBucketName", "the bucket name is not valid" },
		{ "RequestTimeTooSkewed", "the clock of this host is too far from the server's" },
		{ "SlowDown", "the server asks to slow down" },
		{ "InvalidStorageClass", "the server does not know this storage class" },
		{ "InvalidObjectState", "the object is archived and not restored" },
		{ "RestoreAlreadyInProgress", "a restore of the object is in progress" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(code, table[i].code) == 0)
			return table[i].text;
	return "";
}

/* 404 -> ENOENT and so on; op decides what a failed precondition means. */
static int map_s3_error(long status, const char *code, enum s3_op op)
{
	if (strcmp(code, "KeyTooLongError") == 0)
		return -ENAMETOOLONG;
	if (strcmp(code, "EntityTooLarge") == 0)
		return -EFBIG;
	if (strcmp(code, "QuotaExceeded") == 0)
		return -EDQUOT;
	if (strcmp(code, "InvalidObjectState") == 0)
		return -ENODATA; /* archived, not restored */
	if (strcmp(code, "InvalidPart") == 0 || strcmp(code, "InvalidPartOrder") == 0 ||
	    strcmp(code, "BadDigest") == 0)
		return -EIO;
	switch (status) {
	case 400:
	case 411:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 405:
		return -ENOTSUP;
	case 409:
		return -EEXIST;
	case 412:
		return op == S3OP_GET_OBJECT ? -ESTALE : -EEXIST;
	case 413:
		return -EFBIG;
	case 501:
		return -ENOSYS;
	case 507:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static int s3_error_is_transient(long status, const char *code)
{
	if (status >= 500 || status == 429)
		return 1;
	return strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
	       strcmp(code, "BadDigest") == 0 || strcmp(code, "ExpiredToken") == 0 ||
	       strcmp(code, "RequestTimeTooSkewed") == 0 || strcmp(code, "Throttling") == 0;
}

void s3_client_deadline(long ms)
{
	http_set_deadline(ms);
}

int s3_client_past_deadline(void)
{
	return http_deadline_left_ms() == 0;
}

/* A backoff wait; it ends early at the deadline (s3_client_deadline). */
static void sleep_ms(long ms)
{
	long long left = http_deadline_left_ms();

	if (left >= 0 && left < ms)
		ms = (long)left;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A schedule with the client's bounds (max_retries, retry_base_ms,
 * retry_max_ms), starting now. */
static void backoff_start(const struct s3_client *c, struct backoff *b)
{
	backoff_init(b, c->max_retries, c->retry_base_ms, c->retry_max_ms, backoff_now_ms());
}

/* The wait before the next retry on b, or -1 when b's bounds are spent
 * or the process is past its deadline (s3_client_deadline). */
static long backoff_delay(struct backoff *b)
{
	if (s3_client_past_deadline())
		return -1;
	return backoff_next(b, backoff_now_ms(), backoff_rand());
}

/* Builds "https://host/bucket/key?query" and the path that is signed. */
static int build_url(const struct s3_client *c, const struct s3_request *r, char *url,
		     size_t urllen, char *path, size_t pathlen, char *host, size_t hostlen)
{
	char ekey[S3_KEY_MAX * 3 + 1];
	int n;

	ekey[0] = '\0';
	if (r->key && sigv4_uri_encode(r->key, 1, ekey, sizeof(ekey)) < 0)
		return -ENAMETOOLONG;
	if (!r->bucket || c->path_style) {
		n = snprintf(host, hostlen, "%s", c->host);
		if (n < 0 || (size_t)n >= hostlen)
			return -ENAMETOOLONG;
		n = snprintf(path, pathlen, "/%s%s%s", r->bucket ? r->bucket : "",
			     r->key ? "/" : "", ekey);
	} else {
		n = snprintf(host, hostlen, "%s.%s", r->bucket, c->host);
		if (n < 0 || (size_t)n >= hostlen)
			return -ENAMETOOLONG;
		n = snprintf(path, pathlen, "/%s", ekey);
	}
	if (n < 0 || (size_t)n >= pathlen)
		return -ENAMETOOLONG;
	n = snprintf(url, urllen, "%s://%s%s%s%s", c->scheme, host, path,
		     r->query && *r->query ? "?" : "", r->query ? r->query : "");
	if (n < 0 || (size_t)n >= urllen)
		return -ENAMETOOLONG;
	return 0;
}

static void status_from_transport(struct s3_status *st, int err, const struct http_response *resp)
{
	st->http_status = 0;
	snprintf(st->code, sizeof(st->code), "%s", strerror(-err));
	snprintf(st->message, sizeof(st->message), "%s", resp->error);
	st->request_id[0] = '\0';
}

/* One signed attempt. Returns 0 on any HTTP answer, -errno on transport. */
static int attempt(struct s3_client *c, struct s3_request *r, struct http_response *resp,
		   char *errbuf, size_t errlen)
{
	struct s3_creds creds;
	struct sigv4_header hdrs[MAX_HEADERS + 4];
	struct curl_slist *list = NULL;
	char url[URL_MAX], path[URL_MAX], host[320], amz_date[17];
	char auth[1024], line[8192];
	struct sigv4_credentials sc;
	struct sigv4_request sr;
	size_t nh = 0;
	int rc;

	rc = c->creds.get(c->creds.ctx, &creds);
	if (rc < 0) {
		snprintf(errbuf, errlen, "no usable credentials (%s)", strerror(-rc));
		return rc;
	}
	/* Whatever source they came from, and however often they change. */
	log_add_secret(creds.secret_key);
	log_add_secret(creds.session_token);
	stats_set_credentials_expiry((long long)creds.expires);
	rc = build_url(c, r, url, sizeof(url), path, sizeof(path), host, sizeof(host));
	if (rc < 0) {
		snprintf(errbuf, errlen, "request URL too long");
		return rc;
	}
	sigv4_format_date((long long)time(NULL), amz_date);
	hdrs[nh++] = (struct sigv4_header){ "host", host };
	hdrs[nh++] = (struct sigv4_header){ "x-amz-date", amz_date };
	hdrs[nh++] = (struct sigv4_header){ "x-amz-content-sha256",
					    r->body && r->body->kind != HTTP_BODY_NONE
						    ? SIGV4_UNSIGNED_PAYLOAD
						    : SIGV4_EMPTY_SHA256 };
	if (creds.session_token[0])
		hdrs[nh++] = (struct sigv4_header){ "x-amz-security-token", creds.session_token };
	for (size_t i = 0; i < r->nheaders; i++)
		hdrs[nh++] = r->headers[i];

	sr = (struct sigv4_request){ r->method, path, r->query, hdrs, nh, hdrs[2].value };
	sc = (struct sigv4_credentials){ creds.access_key, creds.secret_key, c->region, "s3" };
	rc = sigv4_authorization(&sr, amz_date, &sc, auth, sizeof(auth), NULL);
	if (rc < 0) {
		explicit_bzero(&creds, sizeof(creds));
		snprintf(errbuf, errlen, "cannot sign request (%s)", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < nh; i++) {
		snprintf(line, sizeof(line), "%s: %s", hdrs[i].name, hdrs[i].value);
		struct curl_slist *nl = curl_slist_append(list, line);
		if (!nl)
			goto nomem;
		list = nl;
	}
	/* hdrs[] pointed into creds (the session token) until here. */
	explicit_bzero(&creds, sizeof(creds));
	snprintf(line, sizeof(line), "Authorization: %s", auth);
	explicit_bzero(auth, sizeof(auth));
	struct curl_slist *nl = curl_slist_append(list, line);
	explicit_bzero(line, sizeof(line));
	if (!nl)
		goto nomem;
	list = nl;
	/* No 100-continue round trip: S3 answers errors fast enough anyway. */
	nl = curl_slist_append(list, "Expect:");
	if (!nl)
		goto nomem;
	list = nl;

	STAT_ADD(requests[r->op], 1);
	stats_bucket_request(r->bucket, r->op);
	uint64_t sent_us = stats_now_us();
	rc = http_perform(c->http, r->method, url, list, r->body, r->sink, resp);
	stats_request_done(r->op, sent_us);
	/* The list held the signature and maybe a session token. */
	for (struct curl_slist *p = list; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(list);
	STAT_ADD(connections, (uint64_t)resp->new_connections);
	if (rc == 0 && r->body && r->body->kind != HTTP_BODY_NONE)
		STAT_ADD(bytes_up, r->body->len);
	if (rc == 0 && r->sink && resp->status < 300)
		STAT_ADD(bytes_down, r->sink->len);
	if (rc < 0)
		snprintf(errbuf, errlen, "%s", resp->error);
	return rc;
nomem:
	explicit_bzero(&creds, sizeof(creds));
	for (struct curl_slist *p = list; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(list);
	snprintf(errbuf, errlen, "out of memory");
	return -ENOMEM;
}

/* Sends r, retrying what is transient. Returns 0 for a 2xx answer (resp
 * holds it), else -errno with st filled. */
static int perform(struct s3_client *c, struct s3_request *r, struct http_response *resp,
		   struct s3_status *st)
{
	struct s3_status local;
	struct backoff b;
	int rc = 0;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	backoff_start(c, &b);
	for (int tries = 0;; tries++) {
		char errbuf[256];
		int transient;

		st->attempts = tries + 1;
		rc = attempt(c, r, resp, errbuf, sizeof(errbuf));
		if (rc < 0) {
			status_from_transport(st, rc, resp);
			if (!resp->error[0])
				snprintf(st->message, sizeof(st->message), "%s", errbuf);
			transient = http_error_is_transient(rc);
		} else if (resp->status >= 200 && resp->status < 300) {
			st->http_status = resp->status;
			snprintf(st->request_id, sizeof(st->request_id), "%s", resp->request_id);
			return 0;
		} else {
			struct s3_error e;
			memset(&e, 0, sizeof(e));
			st->http_status = resp->status;
			if (resp->error_body_len &&
			    s3xml_parse_error(resp->error_body, resp->error_body_len, &e) == 0) {
				snprintf(st->code, sizeof(st->code), "%s", e.code);
				snprintf(st->message, sizeof(st->message), "%s", e.message);
				snprintf(st->request_id, sizeof(st->request_id), "%s",
					 e.request_id[0] ? e.request_id : resp->request_id);
			} else {
				st->code[0] = st->message[0] = '\0';
				snprintf(st->request_id, sizeof(st->request_id), "%s",
					 resp->request_id);
			}
			/* A server may echo the request, token and all. */
			log_redact(st->message, sizeof(st->message));
			if (st->code[0] && !st->message[0])
				snprintf(st->message, sizeof(st->message), "%s",
					 default_message(st->code));
			/* HEAD answers carry no body: name the common cases. */
			if (!st->code[0] && resp->status == 404)
				snprintf(st->code, sizeof(st->code), "NotFound");
			else if (!st->code[0] && resp->status == 403)
				snprintf(st->code, sizeof(st->code), "Forbidden");
			transient = s3_error_is_transient(resp->status, st->code);
			rc = map_s3_error(resp->status, st->code, r->op);
		}
		if (!transient)
			break;
		long delay = backoff_delay(&b);
		if (delay < 0)
			break;
		char sbuf[512];
		log_debug("retrying %s %s/%s in %ld ms after %s", s3_op_name(r->op),
			  r->bucket ? r->bucket : "", r->key ? r->key : "", delay,
			  s3_status_str(st, sbuf, sizeof(sbuf)));
		STAT_ADD(retries, 1);
		sleep_ms(delay);
		if (s3_client_past_deadline())
			break; /* st keeps what the last try got */
	}
	/* A read past the end is an answer (0 bytes), not an error. */
	if (resp->status != 416)
		STAT_ADD(errors[r->op], 1);
	return rc;
}

static void info_from_response(const struct http_response *resp, struct s3_obj_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = resp->content_length;
	snprintf(info->etag, sizeof(info->etag), "%s", resp->etag);
	info->mtime = resp->last_modified[0] ? (time_t)curl_getdate(resp->last_modified, NULL) : 0;
	if (info->mtime < 0)
		info->mtime = 0;
	snprintf(info->storage_class, sizeof(info->storage_class), "%s",
		 resp->storage_class[0] ? resp->storage_class : "STANDARD");
	snprintf(info->sse, sizeof(info->sse), "%s", resp->sse);
	snprintf(info->meta, sizeof(info->meta), "%s", resp->meta);
	snprintf(info->sse_c, sizeof(info->sse_c), "%s", resp->sse_c);
	snprintf(info->checksums, sizeof(info->checksums), "%s", resp->checksums);
	snprintf(info->checksum_type, sizeof(info->checksum_type), "%s", resp->checksum_type);
	snprintf(info->restore, sizeof(info->restore), "%s", resp->restore);
	snprintf(info->content_type, sizeof(info->content_type), "%s", resp->content_type);
	snprintf(info->lock_mode, sizeof(info->lock_mode), "%s", resp->lock_mode);
	info->retain_until = resp->lock_until[0] ? s3xml_parse_iso8601(resp->lock_until) : 0;
	if (info->retain_until < 0)
		info->retain_until = 0;
	info->legal_hold = strcasecmp(resp->legal_hold, "ON") == 0;
	snprintf(info->version_id, sizeof(info->version_id), "%s", resp->version_id);
}

/* Adds the headers that PutObject, CopyObject and CreateMultipartUpload
 * share. meta names/values are copied into store (one buffer per call). */
struct put_headers {
	char store[4096];
	size_t used;
};

static const char *meta_header_name(struct put_headers *ph, const char *name)
{
	int n = snprintf(ph->store + ph->used, sizeof(ph->store) - ph->used, "x-amz-meta-%s", name);
	const char *s = ph->store + ph->used;
	if (n < 0 || (size_t)n >= sizeof(ph->store) - ph->used)
		return NULL;
	ph->used += (size_t)n + 1;
	return s;
}

static int add_put_headers(struct s3_request *r, const struct s3_put_opts *o, struct put_headers *ph)
{
	int rc = 0;
	if (!o)
		return 0;
	if (o->storage_class && *o->storage_class)
		rc |= req_header(r, "x-amz-storage-class", o->storage_class);
	if (o->sse && *o->sse && strcmp(o->sse, "none") != 0) {
		rc |= req_header(r, "x-amz-server-side-encryption", o->sse);
		if (o->sse_kms_key_id && *o->sse_kms_key_id)
			rc |= req_header(r, "x-amz-server-side-encryption-aws-kms-key-id",
					 o->sse_kms_key_id);
	}
	if (o->tagging && *o->tagging)
		rc |= req_header(r, "x-amz-tagging", o->tagging);
	if (o->content_type && *o->content_type)
		rc |= req_header(r, "content-type", o->content_type);
	if (o->lock_mode && *o->lock_mode && o->lock_until && *o->lock_until) {
		rc |= req_header(r, "x-amz-object-lock-mode", o->lock_mode);
		rc |= req_header(r, "x-amz-object-lock-retain-until-date", o->lock_until);
	}
	if (o->copy_source_if_match && *o->copy_source_if_match)
		rc |= req_header(r, "x-amz-copy-source-if-match", o->copy_source_if_match);
	for (size_t i = 0; i < o->nmeta; i++) {
		const char *name = meta_header_name(ph, o->meta[i].name);
		if (!name)
			return -E2BIG;
		rc |= req_header(r, name, o->meta[i].value);
	}
	return rc ? -E2BIG : 0;
}

static int is_md5_hex(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdefABCDEF") == 32;
}

/* Whether an answer's ETag may be an MD5 at all: not under SSE-KMS (ours
 * or the bucket's default) nor SSE-C. */
static int etag_may_be_md5(const char *resp_sse, const char *resp_sse_c, const struct s3_put_opts *o)
{
	if (o && o->sse && strncmp(o->sse, "aws:kms", 7) == 0)
		return 0;
	return strncmp(resp_sse, "aws:kms", 7) != 0 && !resp_sse_c[0];
}

/* S3 promises an MD5 ETag for a plain (or SSE-S3) single upload: one with
 * an MD5's form that is not ours means other bytes were stored. Another
 * form (servers are free to choose) is taken as it is: Content-MD5 and
 * the checksums were verified by the server. */
static int check_md5_etag(const struct http_response *resp, const char *md5hex, const char *what,
			  const struct s3_put_opts *o, struct s3_status *st)
{
	if (!etag_may_be_md5(resp->sse, resp->sse_c, o) || !is_md5_hex(resp->etag) ||
	    strcasecmp(resp->etag, md5hex) == 0)
		return 0;
	if (st) {
		snprintf(st->code, sizeof(st->code), "ETagMismatch");
		snprintf(st->message, sizeof(st->message),
			 "%s: server ETag %.64s is not the MD5 %s of what was sent", what,
			 resp->etag, md5hex);
	}
	return -EIO;
}

/* Adds x-amz-checksum-ALG: VALUE for ck (name is the header's storage). */
static int add_checksum_header(struct s3_request *r, const struct s3_checksum *ck, char *name,
			       size_t namelen)
{
	if (!ck || !checksum_alg_upper(ck->alg) || !ck->b64[0])
		return 0;
	snprintf(name, namelen, "x-amz-checksum-%s", checksum_alg_name(ck->alg));
	return req_header(r, name, ck->b64);
}

/* What an upload's answer says of the checksum sent: echoed (the server
 * knows flexible checksums; it must be ours) or not (it ignores them). */
static int check_echo(struct s3_client *c, const struct http_response *resp,
		      const struct s3_checksum *ck, const char *what, struct s3_status *st)
{
	char got[64];
	int unknown = -1;

	if (!ck || !checksum_alg_upper(ck->alg) || !ck->b64[0])
		return 0;
	if (checksum_lookup(resp->checksums, checksum_alg_name(ck->alg), got, sizeof(got)) < 0) {
		__atomic_compare_exchange_n(&c->checksum_support, &unknown, 0, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_store_n(&c->checksum_support, 1, __ATOMIC_RELAXED);
	if (strcmp(got, ck->b64) == 0)
		return 0;
	if (st) {
		snprintf(st->code, sizeof(st->code), "ChecksumMismatch");
		snprintf(st->message, sizeof(st->message),
			 "%s: server %s %.40s is not the %.40s of what was sent", what,
			 checksum_alg_name(ck->alg), got, ck->b64);
	}
	return -EIO;
}

static int body_md5_strings(const struct http_body *body, const char *given_b64, char b64[25],
			    char hex[33])
{
	unsigned char md5[16];
	if (given_b64) {
		/* Trust the caller's, and derive the hex form from it. */
		unsigned char raw[18];
		if (strlen(given_b64) != 24 ||
		    EVP_DecodeBlock(raw, (const unsigned char *)given_b64, 24) != 18)
			return -EINVAL;
		memcpy(md5, raw, 16);
	} else {
		int rc = body_md5(body, md5);
		if (rc < 0)
			return rc;
	}
	s3_md5_base64(md5, b64);
	s3_md5_hex(md5, hex);
	return 0;
}

/* A create-only PUT found the key taken.  When it holds exactly our bytes
 * it is ours (a retry after a lost answer) or as good as ours: success. */
static int put_exists_same(struct s3_client *c, const char *bucket, const char *key,
			   const char *md5hex, char *etag, size_t etaglen, struct s3_status *st)
{
	struct s3_obj_info info;
	struct s3_status hst;

	if (s3_head_object(c, bucket, key, &info, &hst) < 0 || strcasecmp(info.etag, md5hex) != 0)
		return -EEXIST; /* st still tells of the 412 */
	if (etag)
		snprintf(etag, etaglen, "%s", info.etag);
	return 0;
}

int s3_put_object(struct s3_client *c, const char *bucket, const char *key,
		  const struct http_body *body, const struct s3_put_opts *opts, char *etag,
		  size_t etaglen, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_PUT_OBJECT,
				.method = "PUT",
				.bucket = bucket,
				.key = key,
				.body = body };
	struct http_body empty = { .kind = HTTP_BODY_MEM, .mem = "", .len = 0 };
	struct http_response resp;
	struct put_headers ph = { .used = 0 };
	char b64[25], hex[33], ckname[48];
	int rc;

	if (!body || body->kind == HTTP_BODY_NONE)
		r.body = body = &empty;
	rc = body_md5_strings(body, opts ? opts->content_md5 : NULL, b64, hex);
	if (rc < 0)
		return rc;
	if (req_header(&r, "content-md5", b64) < 0 || add_put_headers(&r, opts, &ph) < 0)
		return -E2BIG;
	if (opts && opts->if_none_match)
		req_header(&r, "if-none-match", "*");
	if (add_checksum_header(&r, opts ? &opts->checksum : NULL, ckname, sizeof(ckname)) < 0)
		return -E2BIG;
	rc = perform(c, &r, &resp, st);
	if (rc == -EEXIST && opts && opts->if_none_match)
		return put_exists_same(c, bucket, key, hex, etag, etaglen, st);
	if (rc < 0)
		return rc;
	if (etag)
		snprintf(etag, etaglen, "%s", resp.etag);
	rc = check_echo(c, &resp, opts ? &opts->checksum : NULL, "PutObject", st);
	return rc ? rc : check_md5_etag(&resp, hex, "PutObject", opts, st);
}

/* An XML request body with its Content-MD5 (b64 must outlive the request). */
static int attach_xml_body(struct s3_request *r, struct http_body *hb, const char *xml, size_t len,
			   char b64[25])
{
	char hex[33];
	int rc;

	*hb = (struct http_body){ .kind = HTTP_BODY_MEM, .mem = xml, .len = len };
	r->body = hb;
	rc = body_md5_strings(hb, NULL, b64, hex);
	if (rc == 0 && (req_header(r, "content-md5", b64) < 0 ||
			req_header(r, "content-type", "application/xml") < 0))
		rc = -E2BIG;
	return rc;
}

static long long range_total(const char *content_range)
{
	const char *slash = strrchr(content_range, '/');
	if (!slash || slash[1] == '*')
		return -1;
	return strtoll(slash + 1, NULL, 10);
}

int s3_get_object(struct s3_client *c, const char *bucket, const char *key, long long off,
		  long long len, const char *if_match, struct http_sink *sink,
		  struct s3_obj_info *info, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_GET_OBJECT,
				.method = "GET",
				.bucket = bucket,
				.key = key,
				.sink = sink };
	struct http_response resp;
	char range[64];
	int rc;

	if (len == 0) {
		if (sink)
			sink->len = 0;
		return 0;
	}
	if (off > 0 || len > 0) {
		if (len > 0)
			snprintf(range, sizeof(range), "bytes=%lld-%lld", off, off + len - 1);
		else
			snprintf(range, sizeof(range), "bytes=%lld-", off);
		req_header(&r, "range", range);
	}
	if (if_match && *if_match)
		req_header(&r, "if-match", if_match);
	req_header(&r, "x-amz-checksum-mode", "ENABLED");
	rc = perform(c, &r, &resp, st);
	if (rc < 0 && resp.status == 416) {
		/* Past the end: an empty read, as read(2) gives. */
		if (sink)
			sink->len = 0;
		if (st)
			memset(st, 0, sizeof(*st));
		if (info) {
			info_from_response(&resp, info);
			info->size = range_total(resp.content_range);
			/* Some servers (Ceph RGW) say nothing of the object in a
			 * 416: ask, since the caller was promised its size. */
			if (info->size < 0 || !info->etag[0])
				return s3_head_object(c, bucket, key, info, st);
		}
		return 0;
	}
	if (rc < 0)
		return rc;
	if (info) {
		info_from_response(&resp, info);
		if (resp.status == 206)
			info->size = range_total(resp.content_range);
	}
	/* A short body (connection closed early, lying Content-Length) must
	 * not pass as data. */
	if (sink && resp.content_length >= 0 && (long long)sink->len != resp.content_length) {
		if (st)
			snprintf(st->message, sizeof(st->message),
				 "short read: got %zu of %lld bytes", sink->len,
				 resp.content_length);
		return -EIO;
	}
	return 0;
}

int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
		   struct s3_obj_info *info, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_HEAD_OBJECT,
				.method = "HEAD",
				.bucket = bucket,
				.key = key };
	struct http_response resp;
	req_header(&r, "x-amz-checksum-mode", "ENABLED");
	int rc = perform(c, &r, &resp, st);

	if (rc == 0 && info)
		info_from_response(&resp, info);
	return rc;
}

int s3_delete_object(struct s3_client *c, const char *bucket, const char *key, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_DELETE_OBJECT,
				.method = "DELETE",
				.bucket = bucket,
				.key = key };
	struct http_response resp;
	int rc = perform(c, &r, &resp, st);
	return rc == -ENOENT ? 0 : rc;
}

/* Appends "&name=enc(value)" (no '&' when first). */
static int query_add(char *q, size_t qlen, const char *name, const char *value)
{
	char enc[S3_TOKEN_MAX * 3 + 1];
	size_t used = strlen(q);
	int n;

	if (sigv4_uri_encode(value, 0, enc, sizeof(enc)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(q + used, qlen - used, "%s%s=%s", used ? "&" : "", name, enc);
	return (n < 0 || (size_t)n >= qlen - used) ? -ENAMETOOLONG : 0;
}

static int body_from_sink(struct http_sink *sink, const char **body, size_t *len)
{
	*body = sink->buf ? sink->buf : "";
	*len = sink->len;
	return 0;
}

/* Undoes encoding-type=url in place ('+' is a space, as S3 writes it);
 * -EPROTO for a malformed escape or an encoded NUL. */
static int url_decode_inplace(char *s)
{
	char *out = s;

	for (const char *p = s; *p; p++) {
		if (*p == '+') {
			*out++ = ' ';
		} else if (*p == '%') {
			unsigned v;
			if (!p[1] || !p[2] || sscanf(p + 1, "%2x", &v) != 1 || v == 0 ||
			    !strchr("0123456789abcdefABCDEF", p[1]) ||
			    !strchr("0123456789abcdefABCDEF", p[2]))
				return -EPROTO;
			*out++ = (char)v;
			p += 2;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
	return 0;
}

int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix,
		    const char *delimiter, const char *continuation, int max_keys,
		    struct s3_list_result *out, struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM };
	struct s3_request r = { .op = S3OP_LIST_OBJECTS,
				.method = "GET",
				.bucket = bucket,
				.sink = &sink };
	struct http_response resp;
	char q[QUERY_MAX] = "", mk[16];
	const char *body;
	size_t blen;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(mk, sizeof(mk), "%d", max_keys > 0 ? max_keys : 1000);
	/* Keys in canonical (sorted) order; the signer sorts anyway. */
	if ((continuation && *continuation &&
	     query_add(q, sizeof(q), "continuation-token", continuation) < 0) ||
	    (delimiter && *delimiter && query_add(q, sizeof(q), "delimiter", delimiter) < 0) ||
	    /* Keys with bytes XML 1.0 cannot carry (control characters)
	     * would make the whole page unreadable: ask for them escaped. */
	    query_add(q, sizeof(q), "encoding-type", "url") < 0 ||
	    query_add(q, sizeof(q), "list-type", "2") < 0 ||
	    query_add(q, sizeof(q), "max-keys", mk) < 0 ||
	    (prefix && *prefix && query_add(q, sizeof(q), "prefix", prefix) < 0))
		return -ENAMETOOLONG;
	r.query = q;
	rc = perform(c, &r, &resp, st);
	if (rc == 0) {
		body_from_sink(&sink, &body, &blen);
		rc = s3xml_parse_list_objects(body, blen, out);
		for (size_t i = 0; rc == 0 && i < out->nobjects; i++)
			rc = url_decode_inplace(out->objects[i].key);
		for (size_t i = 0; rc == 0 && i < out->nprefixes; i++)
			rc = url_decode_inplace(out->prefixes[i]);
		if (rc < 0) {
			s3xml_list_result_free(out);
			if (st)
				snprintf(st->message, sizeof(st->message),
					 "malformed ListObjectsV2 answer");
		}
	}
	if (sink.owned)
		free(sink.buf);
	return rc;
}

/* The answer of CopyObject or UploadPartCopy (rc: perform's): the new
 * ETag, or the error a 200 carried (a copy can fail after the 200 has
 * been sent). Frees the sink. */
static int copy_answer(int rc, struct http_sink *sink, char *etag, size_t etaglen,
		       struct s3_status *st)
{
	char tag[S3_ETAG_MAX];
	struct s3_error err;
	const char *body;
	size_t blen;

	if (rc == 0) {
		body_from_sink(sink, &body, &blen);
		rc = s3xml_parse_copy_result(body, blen, tag, sizeof(tag), &err);
		if (rc == -EIO && st) {
			snprintf(st->code, sizeof(st->code), "%s", err.code);
			snprintf(st->message, sizeof(st->message), "%s", err.message);
		}
		if (rc == 0 && etag)
			snprintf(etag, etaglen, "%s", tag);
	}
	if (sink->owned)
		free(sink->buf);
	return rc;
}

int s3_copy_object(struct s3_client *c, const char *src_bucket, const char *src_key,
		   const char *dst_bucket, const char *dst_key, const struct s3_put_opts *opts,
		   char *etag, size_t etaglen, struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 1 << 20 };
	struct s3_request r = { .op = S3OP_COPY_OBJECT,
				.method = "PUT",
				.bucket = dst_bucket,
				.key = dst_key,
				.sink = &sink };
	struct http_body empty = { .kind = HTTP_BODY_MEM, .mem = "", .len = 0 };
	struct http_response resp;
	struct put_headers ph = { .used = 0 };
	char src[S3_KEY_MAX * 3 + 300], ekey[S3_KEY_MAX * 3 + 1];
	int rc;

	if (sigv4_uri_encode(src_key, 1, ekey, sizeof(ekey)) < 0)
		return -ENAMETOOLONG;
	snprintf(src, sizeof(src), "/%s/%s", src_bucket, ekey);
	r.body = &empty;
	req_header(&r, "x-amz-copy-source", src);
	if (opts && opts->nmeta)
		req_header(&r, "x-amz-metadata-directive", "REPLACE");
	/* Without the directive S3 copies the source's tags and ignores ours. */
	if (opts && opts->tagging && *opts->tagging)
		req_header(&r, "x-amz-tagging-directive", "REPLACE");
	if (add_put_headers(&r, opts, &ph) < 0)
		return -E2BIG;
	rc = perform(c, &r, &resp, st);
	return copy_answer(rc, &sink, etag, etaglen, st);
}

int s3_mpu_create(struct s3_client *c, const char *bucket, const char *key,
		  const struct s3_put_opts *opts, char *upload_id, size_t idlen,
		  struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 1 << 20 };
	struct s3_request r = { .op = S3OP_CREATE_MPU,
				.method = "POST",
				.bucket = bucket,
				.key = key,
				.query = "uploads",
				.sink = &sink };
	struct http_response resp;
	struct put_headers ph = { .used = 0 };
	const char *body;
	size_t blen;
	int rc;

	if (add_put_headers(&r, opts, &ph) < 0)
		return -E2BIG;
	if (opts && checksum_alg_upper(opts->checksum.alg) &&
	    (req_header(&r, "x-amz-checksum-algorithm", checksum_alg_upper(opts->checksum.alg)) < 0 ||
	     req_header(&r, "x-amz-checksum-type", "FULL_OBJECT") < 0))
		return -E2BIG;
	rc = perform(c, &r, &resp, st);
	if (rc == 0) {
		body_from_sink(&sink, &body, &blen);
		rc = s3xml_parse_initiate_mpu(body, blen, upload_id, idlen);
		if (rc < 0 && st)
			snprintf(st->message, sizeof(st->message),
				 "malformed CreateMultipartUpload answer");
	}
	if (sink.owned)
		free(sink.buf);
	return rc;
}

int s3_mpu_upload_part(struct s3_client *c, const char *bucket, const char *key,
		       const char *upload_id, int part_number, const struct http_body *body,
		       const char *content_md5, char *etag, size_t etaglen, struct s3_status *st)
{
	return s3_mpu_upload_part_ck(c, bucket, key, upload_id, part_number, body, content_md5,
				     NULL, etag, etaglen, st);
}

int s3_mpu_upload_part_ck(struct s3_client *c, const char *bucket, const char *key,
			  const char *upload_id, int part_number, const struct http_body *body,
			  const char *content_md5, const struct s3_checksum *ck, char *etag,
			  size_t etaglen, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_UPLOAD_PART,
				.method = "PUT",
				.bucket = bucket,
				.key = key,
				.body = body };
	struct http_response resp;
	char q[S3_UPLOAD_ID_MAX * 3 + 64] = "", num[16], b64[25], hex[33], ckname[48];
	int rc;

	snprintf(num, sizeof(num), "%d", part_number);
	if (query_add(q, sizeof(q), "partNumber", num) < 0 ||
	    query_add(q, sizeof(q), "uploadId", upload_id) < 0)
		return -ENAMETOOLONG;
	r.query = q;
	rc = body_md5_strings(body, content_md5, b64, hex);
	if (rc < 0)
		return rc;
	req_header(&r, "content-md5", b64);
	if (add_checksum_header(&r, ck, ckname, sizeof(ckname)) < 0)
		return -E2BIG;
	rc = perform(c, &r, &resp, st);
	if (rc < 0)
		return rc;
	if (etag)
		snprintf(etag, etaglen, "%s", resp.etag);
	rc = check_echo(c, &resp, ck, "UploadPart", st);
	return rc ? rc : check_md5_etag(&resp, hex, "UploadPart", NULL, st);
}

/* The multipart ETag S3 computes: MD5 of the parts' binary MD5s, "-N". */
static int expected_mpu_etag(const struct s3_part *parts, size_t n, char *out, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md5[16];
	unsigned int mdlen = 16;
	char hex[33];

	if (!ctx)
		return -ENOMEM;
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned char raw[16];
		if (strlen(parts[i].etag) != 32) {
			EVP_MD_CTX_free(ctx);
			return -EINVAL; /* not an MD5 (SSE-KMS): nothing to compare */
		}
		for (int j = 0; j < 16; j++) {
			unsigned int byte;
			if (sscanf(parts[i].etag + 2 * j, "%2x", &byte) != 1) {
				EVP_MD_CTX_free(ctx);
				return -EINVAL;
			}
			raw[j] = (unsigned char)byte;
		}
		EVP_DigestUpdate(ctx, raw, 16);
	}
	EVP_DigestFinal_ex(ctx, md5, &mdlen);
	EVP_MD_CTX_free(ctx);
	s3_md5_hex(md5, hex);
	snprintf(out, len, "%s-%zu", hex, n);
	return 0;
}

/* "<32 hex>-N": the form of S3's multipart ETag (MD5 of the part MD5s). */
static int is_composite_etag(const char *s)
{
	return strlen(s) > 34 && strspn(s, "0123456789abcdefABCDEF") == 32 && s[32] == '-' &&
	       strspn(s + 33, "0123456789") == strlen(s + 33);
}

int s3_mpu_complete(struct s3_client *c, const char *bucket, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts, char *etag, size_t etaglen,
		    struct s3_status *st)
{
	return s3_mpu_complete_ck(c, bucket, key, upload_id, parts, nparts, NULL, etag, etaglen, st);
}

int s3_mpu_complete_ck(struct s3_client *c, const char *bucket, const char *key,
		       const char *upload_id, const struct s3_part *parts, size_t nparts,
		       const struct s3_checksum *full, char *etag, size_t etaglen,
		       struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 1 << 20 };
	struct s3_request r = { .op = S3OP_COMPLETE_MPU,
				.method = "POST",
				.bucket = bucket,
				.key = key,
				.sink = &sink };
	struct http_response resp;
	struct http_body hb = { .kind = HTTP_BODY_MEM };
	char q[S3_UPLOAD_ID_MAX * 3 + 32] = "", tag[S3_ETAG_MAX], want[S3_ETAG_MAX];
	char b64[25], ckname[48];
	const char *alg = full ? checksum_alg_upper(full->alg) : NULL;
	struct s3_error err;
	const char *body;
	size_t blen, xlen;
	struct backoff b;
	int rc, md5_possible;
	char *xml;

	if (query_add(q, sizeof(q), "uploadId", upload_id) < 0)
		return -ENAMETOOLONG;
	r.query = q;
	xml = s3xml_build_complete_mpu_ck(parts, nparts, alg, &xlen);
	if (!xml)
		return -ENOMEM;
	rc = attach_xml_body(&r, &hb, xml, xlen, b64);
	if (rc == 0 && alg &&
	    (add_checksum_header(&r, full, ckname, sizeof(ckname)) < 0 ||
	     req_header(&r, "x-amz-checksum-type", "FULL_OBJECT") < 0))
		rc = -E2BIG;
	/* S3 may fail a completion after its 200 is sent, with an <Error>
	 * body: a transient one is retried like any other, on one schedule
	 * with the same bounds (max_retries, retry_max_ms, the deadline). */
	backoff_start(c, &b);
	while (rc == 0) {
		rc = perform(c, &r, &resp, st);
		if (rc < 0)
			break;
		const char *body0;
		size_t blen0;
		body_from_sink(&sink, &body0, &blen0);
		if (s3xml_parse_complete_mpu(body0, blen0, tag, sizeof(tag), &err) != -EIO ||
		    !s3_error_is_transient(500, err.code))
			break;
		long delay = backoff_delay(&b);
		if (delay < 0)
			break;
		STAT_ADD(retries, 1);
		log_debug("CompleteMultipartUpload %s/%s answered 200 with %s: retrying in %ld ms",
			  bucket, key, err.code, delay);
		sleep_ms(delay);
	}
	free(xml);
	if (rc == -ENOENT && st && strcmp(st->code, "NoSuchUpload") == 0) {
		/* libcurl resends a request whose reused connection died; if
		 * the first one completed the upload, the resend finds none:
		 * the object there is ours if its ETag or checksum says so. */
		struct s3_obj_info info;
		struct s3_status hst;
		unsigned char mine[16], theirs[16];
		int ours = 0;
		if (s3_head_object(c, bucket, key, &info, &hst) == 0) {
			ours = expected_mpu_etag(parts, nparts, want, sizeof(want)) == 0 &&
			       strcasecmp(info.etag, want) == 0;
			if (!ours && alg && checksum_from_base64(full->alg, full->b64, mine) == 0 &&
			    s3_obj_checksum(&info, full->alg, theirs) == 0)
				ours = memcmp(mine, theirs, checksum_alg_len(full->alg)) == 0;
		}
		if (ours) {
			if (etag)
				snprintf(etag, etaglen, "%s", info.etag);
			if (sink.owned)
				free(sink.buf);
			return 0;
		}
	}
	if (rc == 0) {
		body_from_sink(&sink, &body, &blen);
		md5_possible = etag_may_be_md5(resp.sse, resp.sse_c, NULL);
		/* A 200 may still carry an <Error>: the completion failed late. */
		rc = s3xml_parse_complete_mpu(body, blen, tag, sizeof(tag), &err);
		if (rc == -EIO && st) {
			snprintf(st->code, sizeof(st->code), "%s", err.code);
			snprintf(st->message, sizeof(st->message), "%s", err.message);
		} else if (rc < 0 && st) {
			snprintf(st->message, sizeof(st->message),
				 "malformed CompleteMultipartUpload answer");
		}
		if (rc == 0 && !tag[0]) {
			/* No ETag in the answer (Ceph RGW): ask for it, so the
			 * check below still compares what S3 holds. */
			struct s3_obj_info info;
			rc = s3_head_object(c, bucket, key, &info, st);
			snprintf(tag, sizeof(tag), "%s", info.etag);
			md5_possible = md5_possible && etag_may_be_md5(info.sse, info.sse_c, NULL);
		}
		if (rc == 0)
			rc = check_echo(c, &resp, full, "CompleteMultipartUpload", st);
		/* Only an ETag of S3's multipart form is compared: a whole-
		 * object MD5 or an opaque one is another server's choice. */
		if (rc == 0 && md5_possible && is_composite_etag(tag) &&
		    expected_mpu_etag(parts, nparts, want, sizeof(want)) == 0 &&
		    strcasecmp(want, tag) != 0) {
			if (st) {
				snprintf(st->code, sizeof(st->code), "ETagMismatch");
				snprintf(st->message, sizeof(st->message),
					 "multipart ETag %.64s, expected %.64s", tag, want);
			}
			rc = -EIO;
		}
		if (rc == 0 && etag)
			snprintf(etag, etaglen, "%s", tag);
	}
	if (sink.owned)
		free(sink.buf);
	return rc;
}

int s3_mpu_abort(struct s3_client *c, const char *bucket, const char *key, const char *upload_id,
		 struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_ABORT_MPU,
				.method = "DELETE",
				.bucket = bucket,
				.key = key };
	struct http_response resp;
	char q[S3_UPLOAD_ID_MAX * 3 + 32] = "";
	int rc;

	if (query_add(q, sizeof(q), "uploadId", upload_id) < 0)
		return -ENAMETOOLONG;
	r.query = q;
	rc = perform(c, &r, &resp, st);
	return rc == -ENOENT ? 0 : rc;
}

int s3_mpu_list(struct s3_client *c, const char *bucket, const char *prefix, const char *key_marker,
		const char *upload_id_marker, int max_uploads, struct s3_mpu_list *out,
		struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM };
	struct s3_request r = { .op = S3OP_LIST_MPU,
				.method = "GET",
				.bucket = bucket,
				.sink = &sink };
	struct http_response resp;
	char q[QUERY_MAX] = "", mu[16];
	const char *body;
	size_t blen;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(mu, sizeof(mu), "%d", max_uploads > 0 ? max_uploads : 1000);
	if ((key_marker && *key_marker && query_add(q, sizeof(q), "key-marker", key_marker) < 0) ||
	    query_add(q, sizeof(q), "max-uploads", mu) < 0 ||
	    (prefix && *prefix && query_add(q, sizeof(q), "prefix", prefix) < 0) ||
	    (upload_id_marker && *upload_id_marker &&
	     query_add(q, sizeof(q), "upload-id-marker", upload_id_marker) < 0))
		return -ENAMETOOLONG;
	/* A bare flag: the signer canonicalises it to "uploads=". */
	size_t used = strlen(q);
	if (used + sizeof("&uploads") > sizeof(q))
		return -ENAMETOOLONG;
	snprintf(q + used, sizeof(q) - used, "%suploads", used ? "&" : "");
	r.query = q;
	rc = perform(c, &r, &resp, st);
	if (rc == 0) {
		body_from_sink(&sink, &body, &blen);
		rc = s3xml_parse_list_mpu(body, blen, out);
		if (rc < 0 && st)
			snprintf(st->message, sizeof(st->message),
				 "malformed ListMultipartUploads answer");
	}
	if (sink.owned)
		free(sink.buf);
	return rc;
}

int s3_head_bucket(struct s3_client *c, const char *bucket, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_HEAD_BUCKET, .method = "HEAD", .bucket = bucket };
	struct http_response resp;
	return perform(c, &r, &resp, st);
}

static int create_bucket(struct s3_client *c, const char *bucket, int object_lock,
			 struct s3_status *st);

int s3_create_bucket(struct s3_client *c, const char *bucket, struct s3_status *st)
{
	return create_bucket(c, bucket, 0, st);
}

int s3_create_bucket_object_lock(struct s3_client *c, const char *bucket, struct s3_status *st)
{
	return create_bucket(c, bucket, 1, st);
}

static int create_bucket(struct s3_client *c, const char *bucket, int object_lock,
			 struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_OTHER, .method = "PUT", .bucket = bucket };
	struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = "", .len = 0 };
	char xml[512];
	struct http_response resp;
	int rc;

	/* Outside us-east-1, AWS wants the region named in the body. */
	if (strcmp(c->region, "us-east-1") != 0) {
		int n = s3xml_build_create_bucket(c->region, xml, sizeof(xml));
		if (n < 0)
			return n;
		hb.mem = xml;
		hb.len = (size_t)n;
	}
	r.body = &hb;
	if (object_lock)
		req_header(&r, "x-amz-bucket-object-lock-enabled", "true");
	rc = perform(c, &r, &resp, st);
	if (rc == -EEXIST && st && strcmp(st->code, "BucketAlreadyOwnedByYou") == 0)
		return 0;
	return rc;
}

int s3_delete_bucket(struct s3_client *c, const char *bucket, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_OTHER, .method = "DELETE", .bucket = bucket };
	struct http_response resp;
	return perform(c, &r, &resp, st);
}

int s3_bucket_subresource(struct s3_client *c, const char *method, const char *bucket,
			  const char *subresource, const char *body, size_t body_len, char **out,
			  size_t *out_len, struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 4 << 20 };
	struct s3_request r = { .op = S3OP_OTHER,
				.method = method,
				.bucket = bucket,
				.query = subresource,
				.sink = &sink };
	struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = body, .len = body_len };
	struct http_response resp;
	char b64[25], hex[33];
	int rc;

	if (body) {
		r.body = &hb;
		rc = body_md5_strings(&hb, NULL, b64, hex);
		if (rc < 0)
			return rc;
		req_header(&r, "content-md5", b64);
	}
	rc = perform(c, &r, &resp, st);
	if (rc == 0 && out) {
		if (!sink.owned) {
			sink.buf = strdup("");
			if (!sink.buf)
				return -ENOMEM;
		}
		*out = sink.buf;
		if (out_len)
			*out_len = sink.len;
		return 0;
	}
	if (sink.owned)
		free(sink.buf);
	return rc;
}

/* ---- object tagging ---- */

int s3_get_object_tagging(struct s3_client *c, const char *bucket, const char *key,
			  struct s3_tag *tags, size_t max, size_t *n, struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 1 << 20 };
	struct s3_request r = { .op = S3OP_OTHER,
				.method = "GET",
				.bucket = bucket,
				.key = key,
				.query = "tagging",
				.sink = &sink };
	struct http_response resp;
	int rc;

	*n = 0;
	rc = perform(c, &r, &resp, st);
	if (rc == 0) {
		rc = s3xml_parse_tagging(sink.buf ? sink.buf : "", sink.len, tags, max, n);
		if (rc < 0 && st)
			snprintf(st->message, sizeof(st->message),
				 "malformed GetObjectTagging answer");
	}
	if (sink.owned)
		free(sink.buf);
	return rc;
}

int s3_put_object_tagging(struct s3_client *c, const char *bucket, const char *key,
			  const struct s3_tag *tags, size_t n, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_OTHER,
				.method = "PUT",
				.bucket = bucket,
				.key = key,
				.query = "tagging" };
	struct http_body hb = { .kind = HTTP_BODY_MEM };
	struct http_response resp;
	size_t used = 0;
	char *xml, b64[25];
	int rc;

	if (n > S3_MAX_TAGS)
		return -E2BIG;
	xml = s3xml_build_tagging(tags, n, &used);
	if (!xml)
		return -ENOMEM;
	rc = attach_xml_body(&r, &hb, xml, used, b64);
	if (rc == 0)
		rc = perform(c, &r, &resp, st);
	free(xml);
	return rc;
}

/* ---- archive tier, Object Lock, presigned URLs ---- */

int s3_presign_get(struct s3_client *c, const char *bucket, const char *key, long expires_s,
		   const char *extra_query, char *url, size_t len)
{
	struct s3_request r = { .op = S3OP_OTHER, .method = "GET", .bucket = bucket, .key = key };
	struct s3_creds creds;
	struct sigv4_presign_request p;
	struct sigv4_credentials sc;
	char base[URL_MAX], path[URL_MAX], host[320];
	char *q;
	size_t qcap = sizeof(creds.session_token) * 3 + 4096;
	int rc, n;

	if (expires_s < SIGV4_PRESIGN_MIN_S || expires_s > SIGV4_PRESIGN_MAX_S)
		return -EINVAL;
	rc = build_url(c, &r, base, sizeof(base), path, sizeof(path), host, sizeof(host));
	if (rc < 0)
		return rc;
	rc = c->creds.get(c->creds.ctx, &creds);
	if (rc < 0)
		return rc;
	q = malloc(qcap);
	if (!q) {
		explicit_bzero(&creds, sizeof(creds));
		return -ENOMEM;
	}
	p = (struct sigv4_presign_request){
		.method = "GET",
		.host = host,
		.path = path,
		.extra_query = extra_query,
		.now = (long long)time(NULL),
		.expires_s = expires_s,
		.session_token = creds.session_token
	};
	sc = (struct sigv4_credentials){ creds.access_key, creds.secret_key, c->region, "s3" };
	rc = sigv4_presign(&p, &sc, q, qcap);
	explicit_bzero(&creds, sizeof(creds));
	if (rc >= 0) {
		n = snprintf(url, len, "%s?%s", base, q);
		rc = n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	free(q);
	return rc;
}

int s3_restore_object(struct s3_client *c, const char *bucket, const char *key, int days,
		      const char *tier, int *accepted, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_OTHER,
				.method = "POST",
				.bucket = bucket,
				.key = key,
				.query = "restore" };
	struct http_body hb;
	struct http_response resp;
	char xml[512], b64[25];
	int rc, n;

	n = s3xml_build_restore(days, tier, xml, sizeof(xml));
	if (n < 0)
		return n;
	rc = attach_xml_body(&r, &hb, xml, (size_t)n, b64);
	if (rc == 0)
		rc = perform(c, &r, &resp, st);
	if (rc == -EEXIST && st && strcmp(st->code, "RestoreAlreadyInProgress") == 0)
		return -EALREADY;
	if (rc == 0 && accepted)
		*accepted = resp.status == 202;
	return rc;
}

int s3_put_object_legal_hold(struct s3_client *c, const char *bucket, const char *key, int on,
			     struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_OTHER,
				.method = "PUT",
				.bucket = bucket,
				.key = key,
				.query = "legal-hold" };
	struct http_body hb;
	struct http_response resp;
	char xml[128], b64[25];
	int n = s3xml_build_legal_hold(on, xml, sizeof(xml));
	int rc = n < 0 ? n : attach_xml_body(&r, &hb, xml, (size_t)n, b64);

	return rc ? rc : perform(c, &r, &resp, st);
}

int s3_get_object_lock_config(struct s3_client *c, const char *bucket, int *enabled, char *mode,
			      size_t modelen, int *days, int *years, struct s3_status *st)
{
	struct s3_lock_config lc;
	char *body = NULL;
	size_t blen = 0;
	int rc;

	*enabled = *days = *years = 0;
	if (modelen)
		mode[0] = '\0';
	rc = s3_bucket_subresource(c, "GET", bucket, "object-lock", NULL, 0, &body, &blen, st);
	if (rc == -ENOENT && st && strcmp(st->code, "ObjectLockConfigurationNotFoundError") == 0)
		return 0;
	if (rc < 0)
		return rc;
	rc = s3xml_parse_object_lock_config(body, blen, &lc);
	free(body);
	if (rc < 0)
		return rc;
	*enabled = lc.enabled;
	if (modelen)
		snprintf(mode, modelen, "%s", lc.mode);
	*days = lc.days;
	*years = lc.years;
	return 0;
}

int s3_mpu_upload_part_copy(struct s3_client *c, const char *bucket, const char *key,
			    const char *upload_id, int part_number, const char *src_bucket,
			    const char *src_key, long long first, long long last,
			    const char *if_match, char *etag, size_t etaglen, struct s3_status *st)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 1 << 20 };
	struct s3_request r = { .op = S3OP_UPLOAD_PART,
				.method = "PUT",
				.bucket = bucket,
				.key = key,
				.sink = &sink };
	struct http_body empty = { .kind = HTTP_BODY_MEM, .mem = "", .len = 0 };
	struct http_response resp;
	char q[S3_UPLOAD_ID_MAX * 3 + 64] = "", num[16], range[64];
	char src[S3_KEY_MAX * 3 + 300], ekey[S3_KEY_MAX * 3 + 1];
	int rc;

	if (first < 0 || last < first)
		return -EINVAL;
	snprintf(num, sizeof(num), "%d", part_number);
	if (query_add(q, sizeof(q), "partNumber", num) < 0 ||
	    query_add(q, sizeof(q), "uploadId", upload_id) < 0 ||
	    sigv4_uri_encode(src_key, 1, ekey, sizeof(ekey)) < 0)
		return -ENAMETOOLONG;
	snprintf(src, sizeof(src), "/%s/%s", src_bucket, ekey);
	snprintf(range, sizeof(range), "bytes=%lld-%lld", first, last);
	r.query = q;
	r.body = &empty;
	req_header(&r, "x-amz-copy-source", src);
	req_header(&r, "x-amz-copy-source-range", range);
	if (if_match && *if_match)
		req_header(&r, "x-amz-copy-source-if-match", if_match);
	rc = perform(c, &r, &resp, st);
	/* <CopyPartResult> has the shape of <CopyObjectResult>. */
	return copy_answer(rc, &sink, etag, etaglen, st);
}

int s3_copy_object_multipart(
	struct s3_client *c, const char *src_bucket, const char *src_key, long long size,
	const char *if_match, const char *dst_bucket, const char *dst_key, long long part_size,
	const struct s3_put_opts *opts, char *etag, size_t etaglen, struct s3_status *st)
{
	char upload_id[S3_UPLOAD_ID_MAX] = "";
	struct s3_part *parts;
	struct s3_status ast;
	long long nparts;
	int rc;

	if (size <= 0 || part_size < 5LL * 1024 * 1024 || part_size > 5LL * 1024 * 1024 * 1024)
		return -EINVAL;
	nparts = (size + part_size - 1) / part_size;
	if (nparts > 10000)
		return -EFBIG;
	parts = calloc((size_t)nparts, sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	rc = s3_mpu_create(c, dst_bucket, dst_key, opts, upload_id, sizeof(upload_id), st);
	for (long long i = 0; rc == 0 && i < nparts; i++) {
		long long first = i * part_size;
		long long last = first + part_size > size ? size - 1 : first + part_size - 1;
		parts[i].number = (int)i + 1;
		rc = s3_mpu_upload_part_copy(c, dst_bucket, dst_key, upload_id, parts[i].number,
					     src_bucket, src_key, first, last, if_match,
					     parts[i].etag, sizeof(parts[i].etag), st);
	}
	if (rc == 0)
		rc = s3_mpu_complete(c, dst_bucket, dst_key, upload_id, parts, (size_t)nparts, etag,
				     etaglen, st);
	if (rc < 0 && upload_id[0] && s3_mpu_abort(c, dst_bucket, dst_key, upload_id, &ast) < 0)
		log_warn("copy of %s/%s: could not abort upload %s of %s/%s; the reaper will",
			 src_bucket, src_key, upload_id, dst_bucket, dst_key);
	free(parts);
	return rc;
}

int s3_delete_object_version(struct s3_client *c, const char *bucket, const char *key,
			     const char *version_id, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_DELETE_OBJECT,
				.method = "DELETE",
				.bucket = bucket,
				.key = key };
	struct http_response resp;
	char q[512] = "";

	if (query_add(q, sizeof(q), "versionId", version_id) < 0)
		return -ENAMETOOLONG;
	r.query = q;
	return perform(c, &r, &resp, st);
}

int s3_put_object_retention(struct s3_client *c, const char *bucket, const char *key,
			    const char *mode, const char *until, struct s3_status *st)
{
	struct s3_request r = { .op = S3OP_OTHER,
				.method = "PUT",
				.bucket = bucket,
				.key = key,
				.query = "retention" };
	struct http_body hb;
	struct http_response resp;
	char xml[256], b64[25];
	int n, rc;

	n = s3xml_build_retention(mode, until, xml, sizeof(xml));
	if (n < 0)
		return n;
	rc = attach_xml_body(&r, &hb, xml, (size_t)n, b64);
	return rc ? rc : perform(c, &r, &resp, st);
}
