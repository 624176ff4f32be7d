/* creds_container.h - container credentials (ECS task roles, EKS Pod
 * Identity), a creds_refresh.h source.
 *
 * Environment (the AWS SDKs' names):
 *   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI  path on http://169.254.170.2 (ECS)
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI      a whole URL, used when no
 *       RELATIVE_URI; its host must be a loopback address, 169.254.170.2,
 *       169.254.170.23 or [fd00:ec2::23] (the hosts the SDKs allow)
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE  sent as the Authorization
 *       header, read again at every fetch (EKS rotates it); else
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN       sent as is
 *   S3CSFS_TEST_ECS_ENDPOINT                for tests only: replaces
 *       http://169.254.170.2 under RELATIVE_URI
 *
 * Promises: requests through meta_http.h (never a proxy); the answer is
 * the metadata credentials document (imds_parse_credentials); the token
 * never reaches a message. */
#ifndef S3CSFS_CREDS_CONTAINER_H
#define S3CSFS_CREDS_CONTAINER_H

#include <stddef.h>

#include "s3_client.h"

struct container_source;

/* 1 if the environment names a container endpoint. */
int container_configured(void);
/* The source from the environment (no request yet); NULL with err if the
 * URL or its host is refused or the token is unusable. */
struct container_source *container_new(char *err, size_t errlen);
void container_free(void *src);
/* A creds_fetch_fn. */
int container_fetch(void *src, struct s3_creds *out, char *err, size_t errlen);
void container_describe(const struct container_source *c, char *desc, size_t desclen);

#endif
