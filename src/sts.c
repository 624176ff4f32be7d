/* sts.c - STS AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.
 * See sts.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "s3_xml.h"
#include "sigv4.h"
#include "sts.h"

#define STS_BODY_MAX 65536
#define STS_FORM_MAX 16384 /* a web identity token is at most a few KiB */
#define STS_VERSION "2011-06-15"

struct sts {
	char endpoint[256];
	char host[256];
	char region[64];
	struct http_pool *http;
};

struct sts *sts_new(const char *endpoint, const char *region, const struct http_pool_opts *http,
		    char *err, size_t errlen)
{
	struct sts *s;
	const char *h;
	size_t n;

	if (!endpoint || (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)) ||
	    strlen(endpoint) >= sizeof(s->endpoint)) {
		snprintf(err, errlen, "STS endpoint '%.100s' is not http(s)://HOST[:PORT]",
			 endpoint ? endpoint : "");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
	n = strlen(s->endpoint);
	while (n && s->endpoint[n - 1] == '/')
		s->endpoint[--n] = '\0';
	h = strstr(s->endpoint, "://") + 3;
	snprintf(s->host, sizeof(s->host), "%.*s", (int)strcspn(h, "/"), h);
	snprintf(s->region, sizeof(s->region), "%s", region && *region ? region : "us-east-1");
	s->http = http_pool_new(http);
	if (!s->http || !s->host[0]) {
		snprintf(err, errlen, "%s",
			 s->http ? "STS endpoint without a host" : "out of memory");
		http_pool_free(s->http);
		free(s);
		return NULL;
	}
	return s;
}

void sts_free(struct sts *s)
{
	if (!s)
		return;
	http_pool_free(s->http);
	free(s);
}

const char *sts_endpoint(const struct sts *s)
{
	return s->endpoint;
}

int sts_pick_endpoint(const char *configured, int aws_profile, const char *s3_endpoint,
		      const char *region, int fips, char *out, size_t outlen)
{
	const char *v = configured;
	int n;

	if (!v || !*v)
		v = getenv("AWS_ENDPOINT_URL_STS");
	if (!v || !*v)
		v = getenv("AWS_ENDPOINT_URL");
	if (v && *v)
		n = snprintf(out, outlen, "%s", v);
	else if (!aws_profile)
		n = snprintf(out, outlen, "%s", s3_endpoint ? s3_endpoint : "");
	else
		n = snprintf(out, outlen, "https://sts%s.%s.amazonaws.com%s", fips ? "-fips" : "",
			     region, strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* ---- the form body ---- */

/* Appends "&name=value" (value form-encoded). -ENAMETOOLONG if full. */
static int form_add(char *form, size_t cap, const char *name, const char *value)
{
	size_t n = strlen(form);
	int w = snprintf(form + n, cap - n, "%s%s=", n ? "&" : "", name);

	if (w < 0 || (size_t)w >= cap - n)
		return -ENAMETOOLONG;
	n += (size_t)w;
	return sigv4_uri_encode(value, 0, form + n, cap - n) < 0 ? -ENAMETOOLONG : 0;
}

/* ---- the answer ---- */

/* What to do about an STS error code. */
static const char *hint(const char *code)
{
	static const struct {
		const char *code, *hint;
	} h[] = {
		{ "AccessDenied",
		  "the role's trust policy does not let this caller assume it, or the caller "
		  "lacks sts:AssumeRole: check role_arn and the trust policy" },
		{ "InvalidIdentityToken",
		  "the web identity token was refused: check the token file and that the role "
		  "trusts its issuer (the cluster's OIDC provider)" },
		{ "ExpiredTokenException",
		  "the token has expired: whatever writes the token file (the kubelet) is not "
		  "renewing it, or the clock is wrong" },
		{ "ExpiredToken",
		  "the caller's session token has expired: renew the source credentials" },
		{ "IDPCommunicationError",
		  "STS could not reach the token's issuer: try again later" },
		{ "IDPRejectedClaim",
		  "the issuer rejected the token's claims: check the token file" },
		{ "InvalidClientTokenId",
		  "STS does not know the caller's access key: check the source credentials" },
		{ "SignatureDoesNotMatch",
		  "the caller's secret key is wrong: check the source credentials" },
		{ "RegionDisabledException",
		  "STS is not activated in this region: activate it in IAM or set sts_endpoint" },
		{ "ValidationError",
		  "STS refused a parameter: check role_arn, role_session_name (2-64 of "
		  "[\\w+=,.@-]) and duration_seconds (900 to the role's maximum)" },
		{ "MalformedPolicyDocument", "the session policy is malformed" },
	};

	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (strcmp(code, h[i].code) == 0)
			return h[i].hint;
	return "see STS's message";
}

/* The answer's body: malloc'd, len bytes; zeroed and freed by body_free. */
struct sts_body {
	char *buf;
	size_t len;
};

static void body_free(struct sts_body *b)
{
	if (b->buf) {
		explicit_bzero(b->buf, b->len);
		free(b->buf);
	}
	b->buf = NULL;
	b->len = 0;
}

/* Sends action with form (already holding Action and Version), signed
 * with caller when given. out gets the 2xx answer's body (body_free). */
static int call(struct sts *s, const char *action, const char *form, const struct s3_creds *caller,
		struct sts_body *out, char *err, size_t errlen)
{
	struct curl_slist *list = NULL;
	struct http_response *resp = malloc(sizeof(*resp));
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = STS_BODY_MAX };
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = form, .len = strlen(form) };
	char amz_date[17], hash[SIGV4_SHA256_HEX_LEN + 1], auth[1024], line[8192], url[300];
	const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
	int rc = 0;

	out->buf = NULL;
	out->len = 0;
	if (!resp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/", s->endpoint);
	sigv4_format_date((long long)time(NULL), amz_date);
	sigv4_sha256_hex(form, strlen(form), hash);
	if (caller) {
		struct sigv4_header hdrs[4] = {
			{ "host", s->host },
			{ "x-amz-date", amz_date },
			{ "content-type", ctype },
			{ "x-amz-security-token", caller->session_token },
		};
		struct sigv4_request sr = {
			"POST", "/", NULL, hdrs, caller->session_token[0] ? 4 : 3, hash
		};
		struct sigv4_credentials sc = { caller->access_key, caller->secret_key, s->region,
						"sts" };
		rc = sigv4_authorization(&sr, amz_date, &sc, auth, sizeof(auth), NULL);
		if (rc < 0) {
			snprintf(err, errlen, "STS %s: cannot sign the request (%s)", action,
				 strerror(-rc));
			free(resp);
			return rc;
		}
		rc = 0;
	}
	const char *lines[] = { "x-amz-date", amz_date, "content-type", ctype,
				NULL,         NULL,     NULL,           NULL };
	size_t nl = 4;
	if (caller && caller->session_token[0]) {
		lines[nl++] = "x-amz-security-token";
		lines[nl++] = caller->session_token;
	}
	if (caller) {
		lines[nl++] = "authorization";
		lines[nl++] = auth;
	}
	for (size_t i = 0; i < nl && rc == 0; i += 2) {
		snprintf(line, sizeof(line), "%s: %s", lines[i], lines[i + 1]);
		struct curl_slist *n = curl_slist_append(list, line);
		if (n)
			list = n;
		else
			rc = -ENOMEM;
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(auth, sizeof(auth));
	if (rc == 0) {
		struct curl_slist *n = curl_slist_append(list, "Expect:");
		if (n)
			list = n;
		else
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = http_perform(s->http, "POST", url, list, &body, &sink, resp);
	for (struct curl_slist *p = list; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(list);
	if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	} else if (rc < 0) {
		snprintf(err, errlen, "STS %s at %s: %s; check sts_endpoint and the network%s",
			 action, s->endpoint, resp->error,
			 rc == -EMSGSIZE ? " (answer too long)" : "");
	} else if (resp->status >= 300) {
		struct s3_error e;
		const char *code = e.code;
		if (s3xml_parse_sts_error(resp->error_body, resp->error_body_len, &e) != 0)
			memset(&e, 0, sizeof(e));
		snprintf(err, errlen, "STS %s at %s: HTTP %ld %s%s%s; %s", action, s->endpoint,
			 resp->status, code[0] ? code : "(no error code)", e.message[0] ? ": " : "",
			 e.message, code[0] ? hint(code) : "is sts_endpoint an STS endpoint?");
		rc = resp->status >= 500 ? -EIO : -EACCES;
	} else if (s3xml_parse_error(sink.buf, sink.len, NULL) == -EPROTO) { /* or -ENOENT: XML */
		snprintf(err, errlen, "STS %s at %s: the answer is not XML; is it an STS endpoint?",
			 action, s->endpoint);
		rc = -EPROTO;
	}
	if (rc == 0 && sink.owned) {
		out->buf = sink.buf; /* handed over: the caller zeroes and frees it */
		out->len = sink.len;
	} else if (sink.owned && sink.buf) {
		explicit_bzero(sink.buf, sink.len);
		free(sink.buf);
	}
	free(resp);
	return rc;
}

/* <ActionResponse><ActionResult><Credentials>... into out. */
static int take_credentials(const struct sts_body *body, const char *action, const char *endpoint,
			    struct s3_creds *out, char *err, size_t errlen)
{
	struct s3xml_sts_creds c;
	int rc = s3xml_parse_sts_credentials(body->buf, body->len, action, &c);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		memcpy(out->access_key, c.access_key, sizeof(out->access_key));
		memcpy(out->secret_key, c.secret_key, sizeof(out->secret_key));
		memcpy(out->session_token, c.session_token, sizeof(out->session_token));
		out->expires = c.expires;
	} else if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	} else {
		snprintf(err, errlen,
			 "STS %s at %s: the answer holds no usable Credentials (AccessKeyId, "
			 "SecretAccessKey, SessionToken, Expiration)",
			 action, endpoint);
		rc = -EPROTO;
	}
	explicit_bzero(&c, sizeof(c));
	return rc;
}

static int role_form(const char *action, const struct sts_role *role, char *form, size_t cap)
{
	char name[64], dur[24];
	int rc;

	form[0] = '\0';
	if (role->session_name && *role->session_name)
		snprintf(name, sizeof(name), "%s", role->session_name);
	else
		snprintf(name, sizeof(name), "s3csfs-%lld", (long long)time(NULL));
	rc = form_add(form, cap, "Action", action);
	if (!rc)
		rc = form_add(form, cap, "Version", STS_VERSION);
	if (!rc)
		rc = form_add(form, cap, "RoleArn", role->role_arn);
	if (!rc)
		rc = form_add(form, cap, "RoleSessionName", name);
	if (!rc && role->external_id && *role->external_id)
		rc = form_add(form, cap, "ExternalId", role->external_id);
	if (!rc && role->duration_s > 0) {
		snprintf(dur, sizeof(dur), "%ld", role->duration_s);
		rc = form_add(form, cap, "DurationSeconds", dur);
	}
	return rc;
}

static int assume(struct sts *s, const char *action, const struct s3_creds *caller,
		  const char *token, const struct sts_role *role, struct s3_creds *out, char *err,
		  size_t errlen)
{
	char *form = malloc(STS_FORM_MAX);
	struct sts_body body = { NULL, 0 };
	int rc;

	if (!form) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = role_form(action, role, form, STS_FORM_MAX);
	if (!rc && token)
		rc = form_add(form, STS_FORM_MAX, "WebIdentityToken", token);
	if (rc)
		snprintf(err, errlen, "STS %s: role_arn, session name or token too long", action);
	else
		rc = call(s, action, form, caller, &body, err, errlen);
	explicit_bzero(form, STS_FORM_MAX);
	free(form);
	if (rc == 0)
		rc = take_credentials(&body, action, s->endpoint, out, err, errlen);
	body_free(&body);
	return rc;
}

int sts_assume_role(struct sts *s, const struct s3_creds *caller, const struct sts_role *role,
		    struct s3_creds *out, char *err, size_t errlen)
{
	return assume(s, "AssumeRole", caller, NULL, role, out, err, errlen);
}

int sts_assume_role_with_web_identity(struct sts *s, const char *token, const struct sts_role *role,
				      struct s3_creds *out, char *err, size_t errlen)
{
	return assume(s, "AssumeRoleWithWebIdentity", NULL, token, role, out, err, errlen);
}

int sts_get_caller_identity(struct sts *s, const struct s3_creds *caller, char *arn, size_t arnlen,
			    char *account, size_t acclen, char *err, size_t errlen)
{
	struct sts_body body = { NULL, 0 };
	int rc = call(s, "GetCallerIdentity", "Action=GetCallerIdentity&Version=" STS_VERSION,
		      caller, &body, err, errlen);

	if (rc < 0)
		return rc;
	rc = s3xml_parse_sts_identity(body.buf, body.len, arn, arnlen, account, acclen);
	if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	} else if (rc < 0) {
		snprintf(err, errlen, "STS GetCallerIdentity at %s: the answer holds no Arn",
			 s->endpoint);
		rc = -EPROTO;
	}
	body_free(&body);
	return rc;
}
