/* imds.c - IAM role credentials from the EC2 instance metadata service
 * (IMDSv2); creds_refresh.c keeps them fresh. See imds.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imds.h"
#include "json.h"
#include "meta_http.h"
#include "s3_xml.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_BODY_MAX 65536
#define ROLE_MAX 128

struct imds {
	char endpoint[256]; /* without a trailing '/' */
	char role[ROLE_MAX + 1];
};

int imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");
	return v && strcasecmp(v, "true") == 0;
}

/* ---- the credentials document ---- */

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
	char code[64], exp[64];
	struct json_field f[] = {
		{ "Code", code, sizeof(code), 0 },
		{ "AccessKeyId", out->access_key, sizeof(out->access_key), 0 },
		{ "SecretAccessKey", out->secret_key, sizeof(out->secret_key), 0 },
		{ "Token", out->session_token, sizeof(out->session_token), 0 },
		{ "Expiration", exp, sizeof(exp), 0 },
	};
	const char *why = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = json_get_fields(json, len, f, sizeof(f) / sizeof(f[0]), &why);
	if (rc == 0 && f[0].type == JSON_STRING && strcmp(code, "Success") != 0) {
		/* The service's own word on why: not secret. */
		snprintf(err, errlen, "the service answered Code \"%.60s\"", code);
		explicit_bzero(out, sizeof(*out));
		return -EACCES;
	}
	for (size_t i = 1; rc == 0 && i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].type != JSON_ABSENT && f[i].type != JSON_STRING) {
			why = "a credentials field that is not a string";
			rc = -EINVAL;
		}
	if (rc == 0 && (!f[1].type || !f[2].type || !f[4].type)) {
		why = "AccessKeyId, SecretAccessKey or Expiration missing";
		rc = -EINVAL;
	}
	for (const char *p = out->access_key; rc == 0 && *p; p++)
		if (!isalnum((unsigned char)*p)) {
			why = "an AccessKeyId that is not alphanumeric";
			rc = -EINVAL;
		}
	if (rc == 0 && (!out->access_key[0] || !out->secret_key[0] ||
			!header_safe(out->secret_key) || !header_safe(out->session_token))) {
		why = "an empty key, or a secret or token with characters a header cannot carry";
		rc = -EINVAL;
	}
	if (rc == 0 && (out->expires = s3xml_parse_iso8601(exp)) == (time_t)-1) {
		why = "an Expiration that is not like 2026-11-25T12:00:00Z";
		rc = -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen, "unusable credentials document: %s",
			 why ? why : "a value too long");
		explicit_bzero(out, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}

/* ---- the exchange ---- */

/* The whole IMDSv2 exchange: token, role, credentials. */
int imds_fetch(void *src, struct s3_creds *out, char *err, size_t errlen)
{
	struct imds *m = src;
	char hdr[512], url[512], role[ROLE_MAX + 1];
	char *buf = malloc(IMDS_BODY_MAX + 1);
	size_t len = 0;
	int rc;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/latest/api/token", m->endpoint);
	rc = meta_http_request("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL,
			       buf, IMDS_BODY_MAX + 1, &len, err, errlen);
	if (rc == 0) {
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		buf[len] = '\0';
		if (len == 0 || len > 400 || !header_safe(buf)) {
			snprintf(err, errlen, "the metadata service gave an unusable session token");
			rc = -EINVAL;
		} else {
			snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s", buf);
		}
	}
	if (rc == 0) {
		explicit_bzero(buf, len);
		snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/",
			 m->endpoint);
		rc = meta_http_request("GET", url, hdr, buf, IMDS_BODY_MAX + 1, &len, err, errlen);
		if (rc == -ENOENT)
			snprintf(err, errlen,
				 "the metadata service at %s knows no IAM role: attach an instance "
				 "profile to this instance",
				 m->endpoint);
	}
	if (rc == 0) {
		/* One role per instance profile: the first line. */
		size_t rl = strcspn(buf, "\r\n");
		int ok = rl > 0 && rl <= ROLE_MAX;
		for (size_t i = 0; ok && i < rl; i++)
			ok = isalnum((unsigned char)buf[i]) || strchr("+=,.@_-", buf[i]);
		if (!ok) {
			snprintf(err, errlen, "the metadata service named no usable IAM role");
			rc = -EINVAL;
		} else {
			memcpy(role, buf, rl);
			role[rl] = '\0';
			snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s",
				 m->endpoint, role);
			rc = meta_http_request("GET", url, hdr, buf, IMDS_BODY_MAX + 1, &len, err,
					       errlen);
		}
	}
	if (rc == 0)
		rc = imds_parse_credentials(buf, len, out, err, errlen);
	if (rc == 0)
		snprintf(m->role, sizeof(m->role), "%s", role);
	explicit_bzero(hdr, sizeof(hdr));
	explicit_bzero(buf, IMDS_BODY_MAX + 1);
	free(buf);
	return rc;
}

struct imds *imds_new(char *err, size_t errlen)
{
	struct imds *m = calloc(1, sizeof(*m));
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	size_t n;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!ep || !*ep)
		ep = IMDS_DEFAULT_ENDPOINT;
	snprintf(m->endpoint, sizeof(m->endpoint), "%s", ep);
	n = strlen(m->endpoint);
	while (n && m->endpoint[n - 1] == '/')
		m->endpoint[--n] = '\0';
	if (strncmp(m->endpoint, "http://", 7) != 0 && strncmp(m->endpoint, "https://", 8) != 0) {
		snprintf(err, errlen,
			 "AWS_EC2_METADATA_SERVICE_ENDPOINT '%.100s' must start with http:// or "
			 "https://",
			 m->endpoint);
		free(m);
		return NULL;
	}
	return m;
}

void imds_describe(const struct imds *m, char *desc, size_t desclen)
{
	snprintf(desc, desclen, "instance metadata (IMDSv2) at %s, role %s", m->endpoint, m->role);
}

void imds_free(void *m)
{
	if (!m)
		return;
	explicit_bzero(m, sizeof(struct imds));
	free(m);
}
