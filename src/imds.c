/* imds.c - IAM role credentials from the EC2 instance metadata service
 * (IMDSv2), cached and refreshed before expiry. See imds.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "imds.h"
#include "log.h"
#include "sigv4.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_BODY_MAX 65536
#define IMDS_CONNECT_MS 1000L
#define IMDS_TOTAL_MS 2000L
#define IMDS_DEFAULT_MARGIN 300L
#define ROLE_MAX 128

struct imds {
	pthread_mutex_t lock;
	pthread_cond_t done;   /* a refresh finished */
	struct s3_creds cur;   /* valid when have */
	int have;
	int refreshing;        /* one caller is asking the service */
	time_t next_try;       /* no refresh before this (after one ran) */
	long margin;           /* seconds before expiry to refresh */
	char endpoint[256];    /* without a trailing '/' */
	char role[ROLE_MAX + 1];
};

int imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");
	return v && strcasecmp(v, "true") == 0;
}

/* ---- the credentials document: a flat JSON object ---- */

struct jp {
	const char *p, *end;
};

static void jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* A JSON string at j->p (the opening quote) into out (NUL-terminated).
 * -E2BIG if longer than outlen - 1, -EINVAL if malformed. \u escapes are
 * taken for printable ASCII only: nothing in a credentials document needs
 * more, and refusing is safer than guessing. */
static int jp_string(struct jp *j, char *out, size_t outlen)
{
	size_t n = 0;

	if (j->p >= j->end || *j->p != '"')
		return -EINVAL;
	j->p++;
	while (j->p < j->end) {
		unsigned char ch = (unsigned char)*j->p++;
		if (ch == '"') {
			out[n] = '\0';
			return 0;
		}
		if (ch < 0x20)
			return -EINVAL;
		if (ch == '\\') {
			if (j->p >= j->end)
				return -EINVAL;
			char e = *j->p++;
			switch (e) {
			case '"': ch = '"'; break;
			case '\\': ch = '\\'; break;
			case '/': ch = '/'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				int v = 0;
				if (j->end - j->p < 4)
					return -EINVAL;
				for (int i = 0; i < 4; i++) {
					int h = sigv4_hex_value(j->p[i]);
					if (h < 0)
						return -EINVAL;
					v = v * 16 + h;
				}
				j->p += 4;
				if (v < 0x20 || v > 0x7e)
					return -EINVAL;
				ch = (unsigned char)v;
				break;
			}
			default:
				return -EINVAL;
			}
		}
		if (n + 1 >= outlen)
			return -E2BIG;
		out[n++] = (char)ch;
	}
	return -EINVAL; /* unterminated */
}

/* A number, true, false or null: skipped (nothing we use is one). */
static int jp_scalar(struct jp *j)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *start = j->p;

	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(words[i]);
		if ((size_t)(j->end - j->p) >= l && memcmp(j->p, words[i], l) == 0) {
			j->p += l;
			return 0;
		}
	}
	while (j->p < j->end && (isdigit((unsigned char)*j->p) || strchr("+-.eE", *j->p)))
		j->p++;
	return j->p > start && j->p - start <= 32 ? 0 : -EINVAL;
}

/* "2026-11-25T12:00:00Z" (fractional seconds allowed) -> time_t. */
static int parse_iso8601(const char *s, time_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -EINVAL;
	for (int i = 0; i < 19; i++) {
		const char *shape = "dddd-dd-ddTdd:dd:dd";
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return -EINVAL;
	}
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (strcmp(s, "Z") != 0)
		return -EINVAL;
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -EINVAL : 0;
}

/* Printable ASCII without spaces: what goes into a header line. */
static int header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int imds_parse_credentials(const char *json, size_t len, struct s3_creds *out, char *err,
			   size_t errlen)
{
	/* Known fields; anything else must still be well-formed. */
	enum { F_CODE, F_AK, F_SK, F_TOKEN, F_EXP, F_N };
	static const char *const names[F_N] = { "Code", "AccessKeyId", "SecretAccessKey", "Token",
						"Expiration" };
	const size_t caps[F_N] = { 64, sizeof(out->access_key), sizeof(out->secret_key),
				   sizeof(out->session_token), 64 };
	char *vals[F_N] = { 0 };
	char key[64];
	char *scratch = malloc(sizeof(out->session_token));
	struct jp j = { json, json + len };
	int rc = -EINVAL;
	const char *why = "not a JSON object";

	memset(out, 0, sizeof(*out));
	if (!scratch) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (memchr(json, '\0', len)) {
		why = "a NUL byte in the document";
		goto out;
	}
	jp_ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		goto out;
	jp_ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto end;
	}
	for (;;) {
		int f;
		jp_ws(&j);
		if (jp_string(&j, key, sizeof(key)) < 0) {
			why = "a malformed or over-long field name";
			goto out;
		}
		jp_ws(&j);
		if (j.p >= j.end || *j.p++ != ':') {
			why = "a field without ':'";
			goto out;
		}
		jp_ws(&j);
		for (f = 0; f < F_N && strcmp(key, names[f]) != 0; f++)
			;
		if (j.p < j.end && *j.p == '"') {
			int src = jp_string(&j, scratch, f < F_N ? caps[f] : sizeof(out->session_token));
			if (src < 0) {
				why = src == -E2BIG ? "a value too long" : "a malformed string";
				goto out;
			}
			if (f < F_N) {
				if (vals[f]) {
					why = "a field given twice";
					goto out;
				}
				if (!(vals[f] = strdup(scratch))) {
					rc = -ENOMEM;
					why = "out of memory";
					goto out;
				}
			}
		} else if (j.p < j.end && (*j.p == '{' || *j.p == '[')) {
			why = "a nested object or array";
			goto out;
		} else if (jp_scalar(&j) < 0) {
			why = "a malformed value";
			goto out;
		} else if (f < F_N) {
			why = "a credentials field that is not a string";
			goto out;
		}
		jp_ws(&j);
		if (j.p >= j.end) {
			why = "an unterminated object";
			goto out;
		}
		if (*j.p == ',') {
			j.p++;
			continue;
		}
		if (*j.p++ == '}')
			break;
		why = "a missing ','";
		goto out;
	}
end:
	jp_ws(&j);
	if (j.p != j.end) {
		why = "text after the object";
		goto out;
	}
	if (vals[F_CODE] && strcmp(vals[F_CODE], "Success") != 0) {
		/* The service's own word on why: not secret. */
		snprintf(err, errlen, "the metadata service answered Code \"%.60s\"", vals[F_CODE]);
		rc = -EACCES;
		goto done;
	}
	if (!vals[F_AK] || !vals[F_SK] || !vals[F_EXP]) {
		why = "AccessKeyId, SecretAccessKey or Expiration missing";
		goto out;
	}
	for (const char *p = vals[F_AK]; *p; p++)
		if (!isalnum((unsigned char)*p)) {
			why = "an AccessKeyId that is not alphanumeric";
			goto out;
		}
	if (!vals[F_AK][0] || !vals[F_SK][0] || !header_safe(vals[F_SK]) ||
	    (vals[F_TOKEN] && !header_safe(vals[F_TOKEN]))) {
		why = "an empty key, or a secret or token with characters a header cannot carry";
		goto out;
	}
	if (parse_iso8601(vals[F_EXP], &out->expires) < 0) {
		why = "an Expiration that is not like 2026-11-25T12:00:00Z";
		goto out;
	}
	strcpy(out->access_key, vals[F_AK]);
	strcpy(out->secret_key, vals[F_SK]);
	if (vals[F_TOKEN])
		strcpy(out->session_token, vals[F_TOKEN]);
	rc = 0;
	goto done;
out:
	if (rc == -EINVAL || rc == -ENOMEM)
		snprintf(err, errlen, "unusable credentials document from the metadata service: %s",
			 why);
	if (rc != -ENOMEM)
		rc = -EINVAL;
done:
	for (int f = 0; f < F_N; f++)
		if (vals[f]) {
			explicit_bzero(vals[f], strlen(vals[f]));
			free(vals[f]);
		}
	explicit_bzero(scratch, sizeof(out->session_token));
	free(scratch);
	if (rc < 0)
		explicit_bzero(out, sizeof(*out));
	return rc;
}

/* ---- HTTP ---- */

struct body {
	char *buf;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;

	if (n > IMDS_BODY_MAX - b->len)
		return 0; /* too long: curl fails the transfer */
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* One request; body gets the answer (NUL-terminated, bounded). 0 on a 200,
 * -errno otherwise with err filled. The body is wiped by the caller. */
static int imds_request(const struct imds *m, const char *method, const char *path,
			const char *header, struct body *body, char *err, size_t errlen)
{
	char url[512];
	struct curl_slist *hl = NULL;
	long status = 0;
	CURL *c;
	CURLcode cc;
	int rc = 0;

	pthread_once(&curl_once, curl_init_once);
	body->len = 0;
	snprintf(url, sizeof(url), "%s%s", m->endpoint, path);
	c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -ENOMEM;
	}
	if (header) {
		hl = curl_slist_append(NULL, header);
		if (!hl) {
			curl_easy_cleanup(c);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, IMDS_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, IMDS_TOTAL_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* link-local: never via a proxy */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR) {
		snprintf(err, errlen, "%s %s: answer longer than %d bytes", method, url,
			 IMDS_BODY_MAX);
		rc = -EMSGSIZE;
	} else if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
		rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
	} else if (status != 200) {
		snprintf(err, errlen, "%s %s: HTTP %ld", method, url, status);
		rc = status == 401 || status == 403 ? -EACCES : status == 404 ? -ENOENT : -EIO;
	}
	body->buf[body->len] = '\0';
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}

/* The whole IMDSv2 exchange: token, role, credentials. */
static int imds_fetch(struct imds *m, struct s3_creds *out, char *err, size_t errlen)
{
	char hdr[512], path[256], role[ROLE_MAX + 1];
	struct body b = { malloc(IMDS_BODY_MAX + 1), 0 };
	int rc;

	if (!b.buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = imds_request(m, "PUT", "/latest/api/token",
			  "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, &b, err, errlen);
	if (rc == 0) {
		size_t tl = b.len;
		while (tl && (b.buf[tl - 1] == '\n' || b.buf[tl - 1] == '\r'))
			tl--;
		b.buf[tl] = '\0';
		if (tl == 0 || tl > 400 || !header_safe(b.buf)) {
			snprintf(err, errlen, "the metadata service gave an unusable session token");
			rc = -EINVAL;
		} else {
			snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s", b.buf);
		}
	}
	if (rc == 0) {
		explicit_bzero(b.buf, b.len);
		rc = imds_request(m, "GET", "/latest/meta-data/iam/security-credentials/", hdr, &b,
				  err, errlen);
		if (rc == -ENOENT)
			snprintf(err, errlen,
				 "the metadata service at %s knows no IAM role: attach an instance "
				 "profile to this instance",
				 m->endpoint);
	}
	if (rc == 0) {
		/* One role per instance profile: the first line. */
		size_t rl = strcspn(b.buf, "\r\n");
		int ok = rl > 0 && rl <= ROLE_MAX;
		for (size_t i = 0; ok && i < rl; i++)
			ok = isalnum((unsigned char)b.buf[i]) || strchr("+=,.@_-", b.buf[i]);
		if (!ok) {
			snprintf(err, errlen, "the metadata service named no usable IAM role");
			rc = -EINVAL;
		} else {
			memcpy(role, b.buf, rl);
			role[rl] = '\0';
			snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s",
				 role);
			rc = imds_request(m, "GET", path, hdr, &b, err, errlen);
		}
	}
	if (rc == 0)
		rc = imds_parse_credentials(b.buf, b.len, out, err, errlen);
	if (rc == 0)
		snprintf(m->role, sizeof(m->role), "%s", role);
	explicit_bzero(hdr, sizeof(hdr));
	explicit_bzero(b.buf, IMDS_BODY_MAX + 1);
	free(b.buf);
	return rc;
}

static void set_endpoint(struct imds *m)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	size_t n;

	if (!ep || !*ep)
		ep = IMDS_DEFAULT_ENDPOINT;
	snprintf(m->endpoint, sizeof(m->endpoint), "%s", ep);
	n = strlen(m->endpoint);
	while (n && m->endpoint[n - 1] == '/')
		m->endpoint[--n] = '\0';
}

struct imds *imds_new(char *desc, size_t desclen, char *err, size_t errlen)
{
	struct imds *m = calloc(1, sizeof(*m));
	const char *mv = getenv("S3CSFS_IMDS_REFRESH_MARGIN");
	char tbuf[32];
	struct tm tm;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	set_endpoint(m);
	if (strncmp(m->endpoint, "http://", 7) != 0 && strncmp(m->endpoint, "https://", 8) != 0) {
		snprintf(err, errlen,
			 "AWS_EC2_METADATA_SERVICE_ENDPOINT '%.100s' must start with http:// or "
			 "https://",
			 m->endpoint);
		free(m);
		return NULL;
	}
	m->margin = IMDS_DEFAULT_MARGIN;
	if (mv && *mv) {
		char *end;
		long v = strtol(mv, &end, 10);
		if (*end || v < 0 || v > 86400) {
			snprintf(err, errlen,
				 "S3CSFS_IMDS_REFRESH_MARGIN '%.40s' is not a number of seconds "
				 "(0 to 86400)",
				 mv);
			free(m);
			return NULL;
		}
		m->margin = v;
	}
	if (imds_fetch(m, &m->cur, err, errlen) < 0) {
		explicit_bzero(m, sizeof(*m));
		free(m);
		return NULL;
	}
	m->have = 1;
	m->next_try = time(NULL) + 1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->done, NULL);
	gmtime_r(&m->cur.expires, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(desc, desclen, "instance metadata (IMDSv2) at %s, role %s, expiring %s%s",
		 m->endpoint, m->role, tbuf, m->cur.session_token[0] ? "" : ", no session token");
	return m;
}

void imds_free(struct imds *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->done);
	explicit_bzero(m, sizeof(*m));
	free(m);
}

int imds_get(void *ctx, struct s3_creds *out)
{
	struct imds *m = ctx;
	struct s3_creds *fresh = NULL;
	char err[512] = "out of memory";
	int rc;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		time_t now = time(NULL);
		int valid = m->have && (m->cur.expires == 0 || now < m->cur.expires);
		int due = !valid || (m->cur.expires && now >= m->cur.expires - m->margin);

		if (valid && (!due || m->refreshing || now < m->next_try)) {
			*out = m->cur;
			pthread_mutex_unlock(&m->lock);
			return 0;
		}
		if (m->refreshing) {
			/* Expired and someone is asking: wait for the answer. */
			pthread_cond_wait(&m->done, &m->lock);
			continue;
		}
		if (!valid && now < m->next_try) {
			/* Expired and the last attempt failed just now. */
			pthread_mutex_unlock(&m->lock);
			return -ENOKEY;
		}
		break;
	}
	/* This caller refreshes, without the lock: the others keep using
	 * the credentials that are still valid. */
	m->refreshing = 1;
	pthread_mutex_unlock(&m->lock);
	fresh = malloc(sizeof(*fresh));
	rc = fresh ? imds_fetch(m, fresh, err, sizeof(err)) : -ENOMEM;
	pthread_mutex_lock(&m->lock);
	m->refreshing = 0;
	if (rc == 0) {
		m->cur = *fresh;
		m->have = 1;
		/* At most one refresh a second, even if the service hands
		 * out credentials already within the margin. */
		m->next_try = time(NULL) + 1;
		log_debug("instance metadata: credentials of role %s refreshed, valid for %lld s",
			  m->role, (long long)(m->cur.expires - time(NULL)));
	} else {
		m->next_try = time(NULL) + (m->margin >= 60 ? 10 : 1);
		log_warn("instance metadata: cannot refresh credentials (%s); %s", err,
			 m->have && time(NULL) < m->cur.expires ? "the current ones stay in use"
								: "they have expired");
	}
	if (fresh) {
		explicit_bzero(fresh, sizeof(*fresh));
		free(fresh);
	}
	pthread_cond_broadcast(&m->done);
	if (m->have && (m->cur.expires == 0 || time(NULL) < m->cur.expires)) {
		*out = m->cur;
		rc = 0;
	} else {
		rc = -ENOKEY;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
