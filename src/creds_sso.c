/* creds_sso.c - SSO role credentials from the AWS CLI's token cache. See
 * creds_sso.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/sha.h>

#include "creds_sso.h"
#include "json.h"
#include "s3_xml.h"
#include "sigv4.h"

#define CACHE_MAX 65536
#define TOKEN_MAX 8192
#define ANSWER_MAX 65536

struct sso_source {
	char profile[128];
	char session[128];
	char account_id[32];
	char role_name[128];
	char cache_file[4200];
	char url[1024];
	struct http_pool *http;
};

static int safe(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n < max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789+=,.@_-") == n;
}

struct sso_source *sso_new(const struct sso_profile *p, const struct http_pool_opts *http,
			   char *err, size_t errlen)
{
	const char *home = getenv("HOME"), *ep = getenv("AWS_ENDPOINT_URL_SSO");
	const char *key = p->session ? p->session : p->start_url;
	unsigned char md[SHA_DIGEST_LENGTH];
	char hex[2 * SHA_DIGEST_LENGTH + 1], ea[100], er[300];
	struct sso_source *s;

	if (!key || !*key || !safe(p->region, 32) || !safe(p->account_id, 32) ||
	    !safe(p->role_name, 128)) {
		snprintf(err, errlen,
			 "profile %s: an SSO profile needs sso_session (or sso_start_url), "
			 "sso_region, sso_account_id and sso_role_name",
			 p->profile);
		return NULL;
	}
	if (!home || !*home) {
		snprintf(err, errlen, "profile %s: no HOME, so no ~/.aws/sso/cache", p->profile);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->profile, sizeof(s->profile), "%s", p->profile);
	snprintf(s->session, sizeof(s->session), "%s", p->session ? p->session : "");
	snprintf(s->account_id, sizeof(s->account_id), "%s", p->account_id);
	snprintf(s->role_name, sizeof(s->role_name), "%s", p->role_name);
	SHA1((const unsigned char *)key, strlen(key), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(s->cache_file, sizeof(s->cache_file), "%s/.aws/sso/cache/%s.json", home, hex);
	sigv4_uri_encode(p->account_id, 0, ea, sizeof(ea));
	sigv4_uri_encode(p->role_name, 0, er, sizeof(er));
	if (ep && *ep)
		snprintf(s->url, sizeof(s->url),
			 "%s/federation/credentials?account_id=%s&role_name=%s", ep, ea, er);
	else
		snprintf(s->url, sizeof(s->url),
			 "https://portal.sso.%s.amazonaws.com/federation/credentials?account_id=%s&"
			 "role_name=%s",
			 p->region, ea, er);
	s->http = http_pool_new(http);
	if (!s->http) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return s;
}

void sso_free(void *src)
{
	struct sso_source *s = src;

	if (!s)
		return;
	http_pool_free(s->http);
	free(s);
}

void sso_describe(const struct sso_source *s, char *desc, size_t desclen)
{
	snprintf(desc, desclen, "SSO profile %s (account %s, role %s)", s->profile, s->account_id,
		 s->role_name);
}

static const char *login_hint(const struct sso_source *s, char *buf, size_t len)
{
	if (s->session[0])
		snprintf(buf, len, "run: aws sso login --sso-session %s", s->session);
	else
		snprintf(buf, len, "run: aws sso login --profile %s", s->profile);
	return buf;
}

/* The cached access token into tok (TOKEN_MAX + 1). */
static int read_cache(const struct sso_source *s, char *tok, char *err, size_t errlen)
{
	char *buf = malloc(CACHE_MAX + 1), exp[64], hint[200];
	struct json_field f[] = {
		{ "accessToken", tok, TOKEN_MAX + 1, 0 },
		{ "expiresAt", exp, sizeof(exp), 0 },
	};
	const char *why = NULL;
	size_t n = 0;
	ssize_t r = 1;
	int fd, rc;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fd = open(s->cache_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "profile %s: no SSO token in %s (%s); %s", s->profile,
			 s->cache_file, strerror(errno), login_hint(s, hint, sizeof(hint)));
		free(buf);
		return -ENOKEY;
	}
	while (n < CACHE_MAX + 1 && r > 0) {
		r = read(fd, buf + n, CACHE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			r = 1;
		else if (r > 0)
			n += (size_t)r;
	}
	close(fd);
	rc = r < 0 || n > CACHE_MAX ? -EINVAL : json_get_fields(buf, n, f, 2, &why);
	explicit_bzero(buf, CACHE_MAX + 1);
	free(buf);
	if (rc == 0 && (f[0].type != JSON_STRING || f[1].type != JSON_STRING || !tok[0] ||
			strpbrk(tok, "\r\n")))
		rc = -EINVAL;
	if (rc < 0) {
		snprintf(err, errlen, "profile %s: the SSO token cache %s is unusable; %s",
			 s->profile, s->cache_file, login_hint(s, hint, sizeof(hint)));
		return -EINVAL;
	}
	time_t t = s3xml_parse_iso8601(exp);
	if (t == (time_t)-1 || t <= time(NULL)) {
		snprintf(err, errlen, "profile %s: the SSO token %s %s; %s", s->profile,
			 t == (time_t)-1 ? "has an unreadable expiry" : "expired at",
			 t == (time_t)-1 ? "" : exp, login_hint(s, hint, sizeof(hint)));
		return -EKEYEXPIRED;
	}
	return 0;
}

int sso_fetch(void *src, struct s3_creds *out, char *err, size_t errlen)
{
	struct sso_source *s = src;
	char *tok = malloc(TOKEN_MAX + 1), *hdr = malloc(TOKEN_MAX + 40), exp[32], hint[200];
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = ANSWER_MAX };
	struct http_response *resp = malloc(sizeof(*resp));
	struct curl_slist *list = NULL;
	int rc;

	if (!tok || !hdr || !resp) {
		free(tok);
		free(hdr);
		free(resp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = read_cache(s, tok, err, errlen);
	if (rc == 0) {
		snprintf(hdr, TOKEN_MAX + 40, "x-amz-sso_bearer_token: %s", tok);
		list = curl_slist_append(NULL, hdr);
		rc = list ? http_perform(s->http, "GET", s->url, list, NULL, &sink, resp) : -ENOMEM;
		if (rc < 0)
			snprintf(err, errlen, "profile %s: SSO GetRoleCredentials: %s", s->profile,
				 rc == -ENOMEM ? "out of memory" : resp->error);
		else if (resp->status == 401 || resp->status == 403) {
			snprintf(err, errlen, "profile %s: SSO GetRoleCredentials: HTTP %ld: %s",
				 s->profile, resp->status,
				 resp->status == 401
					 ? login_hint(s, hint, sizeof(hint))
					 : "the SSO user may not use this account and role; "
					   "check sso_account_id and sso_role_name");
			rc = -EACCES;
		} else if (resp->status != 200) {
			snprintf(err, errlen, "profile %s: SSO GetRoleCredentials: HTTP %ld",
				 s->profile, resp->status);
			rc = -EIO;
		}
	}
	if (list)
		explicit_bzero(list->data, strlen(list->data));
	curl_slist_free_all(list);
	if (rc == 0) {
		struct json_field f[] = {
			{ "roleCredentials.accessKeyId", out->access_key, sizeof(out->access_key),
			  0 },
			{ "roleCredentials.secretAccessKey", out->secret_key,
			  sizeof(out->secret_key), 0 },
			{ "roleCredentials.sessionToken", out->session_token,
			  sizeof(out->session_token), 0 },
			{ "roleCredentials.expiration", exp, sizeof(exp), 0 },
		};
		const char *why = NULL;
		char *end = NULL;
		memset(out, 0, sizeof(*out));
		rc = sink.buf ? json_get_fields(sink.buf, sink.len, f, 4, &why) : -EINVAL;
		long long ms = rc == 0 && f[3].type == JSON_NUMBER ? strtoll(exp, &end, 10) : 0;
		if (rc < 0 || f[0].type != JSON_STRING || f[1].type != JSON_STRING ||
		    !out->access_key[0] || !out->secret_key[0] || strpbrk(out->secret_key, "\r\n") ||
		    strpbrk(out->session_token, "\r\n") || !end || *end || ms <= 0) {
			explicit_bzero(out, sizeof(*out));
			snprintf(err, errlen,
				 "profile %s: SSO GetRoleCredentials gave no usable roleCredentials",
				 s->profile);
			rc = -EPROTO;
		} else {
			out->expires = (time_t)(ms / 1000);
		}
	}
	if (sink.buf) {
		explicit_bzero(sink.buf, sink.len);
		free(sink.buf);
	}
	explicit_bzero(tok, TOKEN_MAX + 1);
	explicit_bzero(hdr, TOKEN_MAX + 40);
	free(tok);
	free(hdr);
	free(resp);
	return rc;
}
