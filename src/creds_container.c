/* creds_container.c - ECS and EKS Pod Identity container credentials.
 * See creds_container.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "creds_container.h"
#include "imds.h"
#include "meta_http.h"

#define ECS_HOST "http://169.254.170.2"
#define BODY_MAX 65536
#define TOKEN_MAX 8192

struct container_source {
	char url[1024];
	char token_file[1024]; /* "" if none */
	char token[TOKEN_MAX + 1];
};

int container_configured(void)
{
	const char *r = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *f = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	return (r && *r) || (f && *f);
}

/* The SDKs' allowed hosts for FULL_URI. host is as in the URL: an IPv6
 * address keeps its brackets. */
static int host_allowed(const char *host, size_t len)
{
	static const char *const ok[] = { "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]",
					  "localhost",     "[::1]",          NULL };
	for (size_t i = 0; ok[i]; i++)
		if (strlen(ok[i]) == len && strncasecmp(host, ok[i], len) == 0)
			return 1;
	/* 127.0.0.0/8, written as a dotted quad */
	if (len >= 7 && len <= 15 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") >= len)
		return 1;
	return 0;
}

/* Header-safe: no CR, LF or other control character. */
static int token_ok(const char *t)
{
	for (; *t; t++)
		if ((unsigned char)*t < 0x20 || (unsigned char)*t == 0x7f)
			return 0;
	return 1;
}

struct container_source *container_new(char *err, size_t errlen)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct container_source *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (rel && *rel) {
		const char *host = getenv("S3CSFS_TEST_ECS_ENDPOINT");
		if (!host || !*host)
			host = ECS_HOST;
		if (rel[0] != '/' || strpbrk(rel, " \r\n") ||
		    strlen(host) + strlen(rel) >= sizeof(c->url)) {
			snprintf(err, errlen,
				 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting "
				 "with '/'");
			goto fail;
		}
		memcpy(c->url, host, strlen(host));
		memcpy(c->url + strlen(host), rel, strlen(rel) + 1);
	} else {
		const char *h = NULL;
		size_t hl;
		if (!strncasecmp(full, "http://", 7))
			h = full + 7;
		else if (!strncasecmp(full, "https://", 8))
			h = full + 8;
		if (!h || strlen(full) >= sizeof(c->url) || strpbrk(full, " \r\n@")) {
			snprintf(err, errlen,
				 "AWS_CONTAINER_CREDENTIALS_FULL_URI '%.200s' is not an http(s) URL",
				 full);
			goto fail;
		}
		hl = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
		if (!host_allowed(h, hl)) {
			snprintf(err, errlen,
				 "AWS_CONTAINER_CREDENTIALS_FULL_URI host '%.*s' is not allowed: only "
				 "loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 are (as in "
				 "the AWS SDKs)",
				 (int)(hl < 100 ? hl : 100), h);
			goto fail;
		}
		snprintf(c->url, sizeof(c->url), "%s", full);
	}
	if (tfile && *tfile) {
		if (strlen(tfile) >= sizeof(c->token_file)) {
			snprintf(err, errlen,
				 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE name too long");
			goto fail;
		}
		snprintf(c->token_file, sizeof(c->token_file), "%s", tfile);
	} else if (tok && *tok) {
		if (strlen(tok) > TOKEN_MAX || !token_ok(tok)) {
			snprintf(err, errlen,
				 "AWS_CONTAINER_AUTHORIZATION_TOKEN is too long or holds a line break "
				 "or control character (value not shown)");
			goto fail;
		}
		snprintf(c->token, sizeof(c->token), "%s", tok);
	}
	return c;
fail:
	free(c);
	return NULL;
}

void container_free(void *src)
{
	if (!src)
		return;
	explicit_bzero(src, sizeof(struct container_source));
	free(src);
}

/* The token file, read now, into c->token. */
static int read_token_file(struct container_source *c, char *err, size_t errlen)
{
	int fd = open(c->token_file, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 1;

	if (fd < 0) {
		snprintf(err, errlen,
			 "container credentials: cannot read the token file %s (%s); check "
			 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE and that it is mounted",
			 c->token_file, strerror(errno));
		return -EACCES;
	}
	while (n < TOKEN_MAX + 1 && r > 0) {
		r = read(fd, c->token + n, TOKEN_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			r = 1;
		else if (r > 0)
			n += (size_t)r;
	}
	close(fd);
	while (n && (c->token[n - 1] == '\n' || c->token[n - 1] == '\r'))
		n--;
	if (r < 0 || n == 0 || n > TOKEN_MAX) {
		snprintf(err, errlen, "container credentials: the token file %s is %s",
			 c->token_file,
			 r < 0 ? "unreadable"
			 : n   ? "too long"
			       : "empty");
		return -EINVAL;
	}
	c->token[n] = '\0';
	if (memchr(c->token, '\0', n) || !token_ok(c->token)) {
		snprintf(err, errlen,
			 "container credentials: the token file %s holds a control character",
			 c->token_file);
		return -EINVAL;
	}
	return 0;
}

int container_fetch(void *src, struct s3_creds *out, char *err, size_t errlen)
{
	struct container_source *c = src;
	char *buf = malloc(BODY_MAX + 1), *hdr = malloc(TOKEN_MAX + 32), ierr[400];
	size_t len = 0;
	int rc = 0;

	if (!buf || !hdr) {
		free(buf);
		free(hdr);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (c->token_file[0])
		rc = read_token_file(c, err, errlen);
	if (rc == 0) {
		snprintf(hdr, TOKEN_MAX + 32, "Authorization: %s", c->token);
		rc = meta_http_request("GET", c->url, c->token[0] ? hdr : NULL, buf, BODY_MAX + 1,
				       &len, ierr, sizeof(ierr));
		if (rc < 0)
			snprintf(err, errlen, "container credentials: %s%s", ierr,
				 rc == -EACCES ? "; the authorization token was refused" : "");
	}
	if (rc == 0) {
		rc = imds_parse_credentials(buf, len, out, ierr, sizeof(ierr));
		if (rc < 0)
			snprintf(err, errlen, "container credentials from %s: %s", c->url, ierr);
	}
	if (c->token_file[0])
		explicit_bzero(c->token, sizeof(c->token));
	explicit_bzero(hdr, TOKEN_MAX + 32);
	explicit_bzero(buf, BODY_MAX + 1);
	free(hdr);
	free(buf);
	return rc;
}

void container_describe(const struct container_source *c, char *desc, size_t desclen)
{
	snprintf(desc, desclen, "container credentials endpoint %s%s", c->url,
		 c->token_file[0] ? " (token file)"
		 : c->token[0]    ? " (token)"
				  : "");
}
