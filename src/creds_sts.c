/* creds_sts.c - web identity and assumed-role credentials. See
 * creds_sts.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "creds_sts.h"

#define TOKEN_MAX 16384

struct sts_source {
	struct sts *sts;
	int webid;
	char token_file[1024];
	struct s3_creds_provider base;
	char base_desc[400];
	char role_arn[2048];
	char session_name[65];
	char external_id[1225];
	long duration_s;
};

static struct sts_source *source_new(struct sts *sts, const struct sts_role *role, char *err,
				     size_t errlen)
{
	struct sts_source *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		sts_free(sts);
		return NULL;
	}
	s->sts = sts;
	if (!role->role_arn || strlen(role->role_arn) < 20 ||
	    strlen(role->role_arn) >= sizeof(s->role_arn) || strncmp(role->role_arn, "arn:", 4)) {
		snprintf(err, errlen, "role ARN '%.200s' is not like arn:aws:iam::ACCOUNT:role/NAME",
			 role->role_arn ? role->role_arn : "");
		sts_source_free(s);
		return NULL;
	}
	if ((role->session_name && strlen(role->session_name) >= sizeof(s->session_name)) ||
	    (role->external_id && strlen(role->external_id) >= sizeof(s->external_id))) {
		snprintf(err, errlen,
			 "role session name (at most 64) or external id (at most 1224) too long");
		sts_source_free(s);
		return NULL;
	}
	snprintf(s->role_arn, sizeof(s->role_arn), "%s", role->role_arn);
	snprintf(s->session_name, sizeof(s->session_name), "%s",
		 role->session_name ? role->session_name : "");
	snprintf(s->external_id, sizeof(s->external_id), "%s",
		 role->external_id ? role->external_id : "");
	s->duration_s = role->duration_s;
	return s;
}

struct sts_source *sts_webid_new(struct sts *sts, const char *token_file,
				 const struct sts_role *role, char *err, size_t errlen)
{
	struct sts_source *s = source_new(sts, role, err, errlen);

	if (!s)
		return NULL;
	s->webid = 1;
	if (!token_file || !*token_file || strlen(token_file) >= sizeof(s->token_file)) {
		snprintf(err, errlen, "web identity token file name empty or too long");
		sts_source_free(s);
		return NULL;
	}
	snprintf(s->token_file, sizeof(s->token_file), "%s", token_file);
	return s;
}

struct sts_source *sts_role_new(struct sts *sts, struct s3_creds_provider base,
				const char *base_desc, const struct sts_role *role, char *err,
				size_t errlen)
{
	struct sts_source *s = source_new(sts, role, err, errlen);

	if (!s) {
		creds_release(&base);
		return NULL;
	}
	s->base = base;
	snprintf(s->base_desc, sizeof(s->base_desc), "%s", base_desc);
	return s;
}

void sts_source_free(void *src)
{
	struct sts_source *s = src;

	if (!s)
		return;
	sts_free(s->sts);
	creds_release(&s->base);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* The token, whitespace at the end stripped, into buf[TOKEN_MAX + 1]. */
static int read_token(const struct sts_source *s, char *buf, char *err, size_t errlen)
{
	int fd = open(s->token_file, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 1;

	if (fd < 0) {
		snprintf(err, errlen,
			 "web identity: cannot read the token file %s (%s); check "
			 "AWS_WEB_IDENTITY_TOKEN_FILE and that the projected token is mounted and "
			 "readable by this user",
			 s->token_file, strerror(errno));
		return -EACCES;
	}
	while (n <= TOKEN_MAX && r > 0) {
		r = read(fd, buf + n, TOKEN_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			r = 1;
		else if (r > 0)
			n += (size_t)r;
	}
	int saved = errno;
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "web identity: reading the token file %s failed (%s)",
			 s->token_file, strerror(saved));
		return -EIO;
	}
	if (n > TOKEN_MAX) {
		snprintf(err, errlen,
			 "web identity: the token file %s is longer than %d bytes: is it a token?",
			 s->token_file, TOKEN_MAX);
		return -EMSGSIZE;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\0', n)) {
		snprintf(err, errlen, "web identity: the token file %s is %s", s->token_file,
			 n ? "not text" : "empty");
		return -EINVAL;
	}
	return 0;
}

int sts_source_fetch(void *src, struct s3_creds *out, char *err, size_t errlen)
{
	struct sts_source *s = src;
	struct sts_role role = { s->role_arn, s->session_name, s->external_id, s->duration_s };
	int rc;

	if (s->webid) {
		char *tok = malloc(TOKEN_MAX + 1);
		if (!tok) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rc = read_token(s, tok, err, errlen);
		if (rc == 0)
			rc = sts_assume_role_with_web_identity(s->sts, tok, &role, out, err, errlen);
		explicit_bzero(tok, TOKEN_MAX + 1);
		free(tok);
		return rc;
	}
	struct s3_creds *base = malloc(sizeof(*base));
	if (!base) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = s->base.get(s->base.ctx, base);
	if (rc < 0)
		snprintf(err, errlen,
			 "assuming role %s: the source credentials (from the %s) are not usable "
			 "(%s)",
			 s->role_arn, s->base_desc, strerror(-rc));
	else
		rc = sts_assume_role(s->sts, base, &role, out, err, errlen);
	explicit_bzero(base, sizeof(*base));
	free(base);
	return rc;
}

void sts_source_describe(const struct sts_source *s, char *desc, size_t desclen)
{
	if (s->webid)
		snprintf(desc, desclen,
			 "web identity (STS AssumeRoleWithWebIdentity at %s, role %s, token file %s)",
			 sts_endpoint(s->sts), s->role_arn, s->token_file);
	else
		snprintf(desc, desclen,
			 "role %s assumed (STS AssumeRole at %s) with the credentials "
			 "from the %s",
			 s->role_arn, sts_endpoint(s->sts), s->base_desc);
}
