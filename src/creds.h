/* creds.h - where a bucket's credentials come from, first that answers
 * (the AWS SDKs' order, after s3csfs's own keys):
 *   1. access_key/secret_key in the s3csfs config file;
 *      aws_profile = NAME instead picks that profile alone (aws_profile.h);
 *   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 *      [AWS_SESSION_TOKEN];
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      [AWS_ROLE_SESSION_NAME] (creds_sts.h);
 *   4. the profile AWS_PROFILE (or "default") of the shared credentials
 *      and config files (aws_profile.h: keys, roles, SSO, credential_process);
 *   5. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      _FULL_URI (creds_container.h);
 *   6. EC2 instance metadata, IMDSv2 (imds.h; not when
 *      AWS_EC2_METADATA_DISABLED=true).
 * Then role_arn = ARN, when set, is assumed with those credentials.
 * A source that has credentials answers, right or wrong: the chain never
 * falls through to the next one because a server refused a key.
 * Temporary credentials are renewed in the background (creds_refresh.h).
 *
 * Promises: secrets are copied into memory owned here and wiped on free;
 * descriptions and messages name the source, never a secret. */
#ifndef S3CSFS_CREDS_H
#define S3CSFS_CREDS_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "http.h"
#include "s3_client.h"

struct sts;

/* What a source needs to know of the bucket it serves. */
struct creds_ctx {
	const struct s3_conn_conf *conn;
	int aws;                    /* profile = aws */
	int fips;                   /* use_fips: sts-fips.REGION endpoints */
	struct http_pool_opts http; /* for STS: the bucket's proxy and TLS settings */
};

/* Fills p with a provider for conn; desc says which source answered.
 * Returns 0, or -ENOKEY / -errno with err saying what was tried or what
 * failed. */
int creds_resolve(const struct creds_ctx *cx, struct s3_creds_provider *p, char *desc,
		  size_t desclen, char *err, size_t errlen);
void creds_release(struct s3_creds_provider *p);

/* Helpers for the sources (aws_profile.c): each fills p, or returns
 * -errno with err. */
int creds_static(struct s3_creds_provider *p, const char *ak, const char *sk, const char *token);
/* An STS client for cx (region NULL: the bucket's). */
struct sts *creds_sts_new(const struct creds_ctx *cx, const char *region, char *err, size_t errlen);
/* role assumed with base (owned from then on, also on failure). */
int creds_assume_role(const struct creds_ctx *cx, const char *region, struct s3_creds_provider base,
		      const char *base_desc, const char *role_arn, const char *session_name,
		      const char *external_id, long duration_s, struct s3_creds_provider *p,
		      char *desc, size_t desclen, char *err, size_t errlen);
int creds_web_identity(const struct creds_ctx *cx, const char *region, const char *token_file,
		       const char *role_arn, const char *session_name, struct s3_creds_provider *p,
		       char *desc, size_t desclen, char *err, size_t errlen);
int creds_container(struct s3_creds_provider *p, char *desc, size_t desclen, char *err,
		    size_t errlen);
int creds_imds(struct s3_creds_provider *p, char *desc, size_t desclen, char *err, size_t errlen);
struct sso_profile;
int creds_sso(const struct creds_ctx *cx, const struct sso_profile *sp, struct s3_creds_provider *p,
	      char *desc, size_t desclen, char *err, size_t errlen);
int creds_process(const char *profile, const char *command, struct s3_creds_provider *p, char *desc,
		  size_t desclen, char *err, size_t errlen);

/* Creates cfg->buckets[i].client for every bucket (buckets sharing the
 * same endpoint and credentials share a client). -1 with err on failure. */
int clients_create(struct config *cfg, char *err, size_t errlen);
void clients_free(struct config *cfg);

/* For s3csfs check: prints to out which source answered for bucket i,
 * for which identity (STS GetCallerIdentity) and when the credentials
 * expire. Returns 0, or -1 when the credentials are not usable now. */
int creds_check_report(struct config *cfg, size_t i, FILE *out);

#endif
