/* creds_sts.h - credentials from STS, as creds_refresh.h sources:
 *   web identity: a token file (EKS IRSA: AWS_WEB_IDENTITY_TOKEN_FILE,
 *     AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME, or a profile's
 *     web_identity_token_file) -> AssumeRoleWithWebIdentity; the file is
 *     read again at every fetch (the kubelet rotates it);
 *   assumed role: other credentials (a provider) -> AssumeRole.
 *
 * Promises: the token and the base credentials never reach a message;
 * a token file that cannot be read, is empty or longer than 16 KiB is an
 * error naming the file and what to do. */
#ifndef S3CSFS_CREDS_STS_H
#define S3CSFS_CREDS_STS_H

#include <stddef.h>

#include "s3_client.h"
#include "sts.h"

struct sts_source;

/* Both take ownership of sts (and of base): freed by sts_source_free,
 * also when they fail (NULL with err). Strings are copied. */
struct sts_source *sts_webid_new(struct sts *sts, const char *token_file,
				 const struct sts_role *role, char *err, size_t errlen);
struct sts_source *sts_role_new(struct sts *sts, struct s3_creds_provider base,
				const char *base_desc, const struct sts_role *role, char *err,
				size_t errlen);
void sts_source_free(void *src);

/* A creds_fetch_fn. */
int sts_source_fetch(void *src, struct s3_creds *out, char *err, size_t errlen);

/* "web identity (STS AssumeRoleWithWebIdentity at URL, role ARN, token
 * file PATH)" or "role ARN assumed (STS AssumeRole at URL) with the
 * credentials from the BASE". */
void sts_source_describe(const struct sts_source *s, char *desc, size_t desclen);

#endif
