/* sts.h - the AWS Security Token Service (STS) query API over HTTP:
 * AssumeRole (SigV4-signed with the caller's credentials),
 * AssumeRoleWithWebIdentity (unsigned: the token is the proof) and
 * GetCallerIdentity. POST / with a form body, XML answers.
 *
 * Endpoint, first that is set: the sts_endpoint key, AWS_ENDPOINT_URL_STS,
 * AWS_ENDPOINT_URL; else for profile = aws the regional endpoint
 * https://sts.REGION.amazonaws.com (sts-fips.REGION... with use_fips;
 * .amazonaws.com.cn in China), for profile = onprem the S3 endpoint
 * (Ceph RGW serves STS on its S3 port).
 *
 * Promises: thread-safe (one HTTP pool per client, which follows the
 * bucket's proxy setting); answers are bounded (64 KiB) and parsed with
 * libxml2 without network or DTDs; every error message names the action
 * and the endpoint, gives STS's own code and message and what to do, and
 * never holds a secret or a token. */
#ifndef S3CSFS_STS_H
#define S3CSFS_STS_H

#include <stddef.h>

#include "http.h"
#include "s3_client.h"

struct sts;

/* endpoint "http(s)://host[:port]" (NULL: the error), region for
 * signing. NULL with err on failure. */
struct sts *sts_new(const char *endpoint, const char *region, const struct http_pool_opts *http,
		    char *err, size_t errlen);
void sts_free(struct sts *s);
const char *sts_endpoint(const struct sts *s);

/* The endpoint by the rules above into out; -ENAMETOOLONG if too long. */
int sts_pick_endpoint(const char *configured, int aws_profile, const char *s3_endpoint,
		      const char *region, int fips, char *out, size_t outlen);

struct sts_role {
	const char *role_arn;
	const char *session_name; /* NULL: "s3csfs-<time>" */
	const char *external_id;  /* NULL: none */
	long duration_s;          /* 0: STS's default (1 hour) */
};

/* Returns 0 with out filled (expires set), or -EACCES (STS refused),
 * -EPROTO (an answer that is not STS's), -EIO (5xx) or a transport errno,
 * with err filled. */
int sts_assume_role(struct sts *s, const struct s3_creds *caller, const struct sts_role *role,
		    struct s3_creds *out, char *err, size_t errlen);
int sts_assume_role_with_web_identity(struct sts *s, const char *token, const struct sts_role *role,
				      struct s3_creds *out, char *err, size_t errlen);
/* arn and account of the caller's identity. */
int sts_get_caller_identity(struct sts *s, const struct s3_creds *caller, char *arn, size_t arnlen,
			    char *account, size_t acclen, char *err, size_t errlen);

#endif
