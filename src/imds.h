/* imds.h - credentials of an EC2 instance's IAM role from the instance
 * metadata service, version 2 (IMDSv2), refreshed before they expire.
 *
 * Protocol: PUT /latest/api/token (header X-aws-ec2-metadata-token-ttl-
 * seconds) gives a session token; with it (header X-aws-ec2-metadata-
 * token), GET /latest/meta-data/iam/security-credentials/ names the role
 * and GET .../security-credentials/ROLE gives a flat JSON object with
 * AccessKeyId, SecretAccessKey, Token and Expiration.
 *
 * Environment (the AWS SDKs' names):
 *   AWS_EC2_METADATA_SERVICE_ENDPOINT  default http://169.254.169.254
 *   AWS_EC2_METADATA_DISABLED=true     never ask the metadata service
 *   S3CSFS_IMDS_REFRESH_MARGIN         seconds before expiry to refresh
 *                                      (default 300; tests use less)
 *
 * Promises: every request has a 1 s connect and 2 s total limit and never
 * goes through an HTTP proxy; answers are size-bounded and parsed strictly
 * (anything but a flat JSON object of strings, numbers, booleans and null
 * is refused); the provider's get() is thread-safe and cheap: it copies the
 * cached credentials under a mutex, and once they are within the margin of
 * expiry one caller refreshes them while the others go on with the old
 * ones (callers wait only when the credentials have expired); a failed
 * refresh is retried, the valid old credentials stay in use meanwhile;
 * secrets never reach a log line or an error message. */
#ifndef S3CSFS_IMDS_H
#define S3CSFS_IMDS_H

#include <stddef.h>

#include "s3_client.h"

struct imds;

/* 1 if AWS_EC2_METADATA_DISABLED says the metadata service is off. */
int imds_disabled(void);

/* Asks the metadata service now. On success returns a provider context
 * holding valid credentials (desc: endpoint and role, no secret); on
 * failure NULL with err saying what failed. */
struct imds *imds_new(char *desc, size_t desclen, char *err, size_t errlen);
void imds_free(struct imds *m);

/* The s3_creds_provider get() over an imds context. */
int imds_get(void *ctx, struct s3_creds *out);

/* The credentials document parser, exposed for tests: fills out from the
 * JSON in json[0..len) or returns -EINVAL with err naming the problem. */
int imds_parse_credentials(const char *json, size_t len, struct s3_creds *out, char *err,
			   size_t errlen);

#endif
