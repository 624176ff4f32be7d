/* creds_sso.h - IAM Identity Center (SSO) role credentials, a
 * creds_refresh.h source: the access token the AWS CLI keeps in its cache
 * (~/.aws/sso/cache/SHA1.json, written by "aws sso login") is traded for
 * role credentials with the SSO portal's GetRoleCredentials
 * (GET /federation/credentials?account_id=..&role_name=.., header
 * x-amz-sso_bearer_token).
 *
 * The cache file is SHA1 (hex) of the sso_session name, or of
 * sso_start_url for a legacy profile; it is read again at every fetch, so
 * a token the CLI renewed is picked up. s3csfs never renews the token
 * itself: an expired one is an error saying to run aws sso login. The
 * portal is https://portal.sso.REGION.amazonaws.com, or
 * AWS_ENDPOINT_URL_SSO; requests follow the bucket's proxy setting.
 *
 * Promises: the token and the credentials never reach a message. */
#ifndef S3CSFS_CREDS_SSO_H
#define S3CSFS_CREDS_SSO_H

#include <stddef.h>

#include "http.h"
#include "s3_client.h"

struct sso_source;

struct sso_profile {
	const char *profile; /* for messages */
	const char *session; /* sso_session name, NULL for a legacy profile */
	const char *start_url;
	const char *region; /* sso_region */
	const char *account_id;
	const char *role_name;
};

struct sso_source *sso_new(const struct sso_profile *p, const struct http_pool_opts *http,
			   char *err, size_t errlen);
void sso_free(void *src);
/* A creds_fetch_fn. */
int sso_fetch(void *src, struct s3_creds *out, char *err, size_t errlen);
void sso_describe(const struct sso_source *s, char *desc, size_t desclen);

#endif
