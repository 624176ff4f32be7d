/* imds.h - credentials of an EC2 instance's IAM role from the instance
 * metadata service, version 2 (IMDSv2): a source for creds_refresh.h.
 *
 * Protocol: PUT /latest/api/token (header X-aws-ec2-metadata-token-ttl-
 * seconds) gives a session token; with it (header X-aws-ec2-metadata-
 * token), GET /latest/meta-data/iam/security-credentials/ names the role
 * and GET .../security-credentials/ROLE gives a JSON object with
 * AccessKeyId, SecretAccessKey, Token and Expiration.
 *
 * Environment (the AWS SDKs' names):
 *   AWS_EC2_METADATA_SERVICE_ENDPOINT  default http://169.254.169.254
 *   AWS_EC2_METADATA_DISABLED=true     never ask the metadata service
 *
 * Promises: every request goes through meta_http.h (never a proxy, 1 s to
 * connect, 2 s in all); answers are size-bounded and parsed strictly
 * (json.h); secrets never reach a log line or an error message. */
#ifndef S3CSFS_IMDS_H
#define S3CSFS_IMDS_H

#include <stddef.h>

#include "s3_client.h"

struct imds;

/* 1 if AWS_EC2_METADATA_DISABLED says the metadata service is off. */
int imds_disabled(void);

/* The source, from the environment (no request yet); NULL with err if
 * AWS_EC2_METADATA_SERVICE_ENDPOINT is malformed. */
struct imds *imds_new(char *err, size_t errlen);
void imds_free(void *m);

/* A creds_fetch_fn: the whole IMDSv2 exchange. */
int imds_fetch(void *m, struct s3_creds *out, char *err, size_t errlen);

/* "instance metadata (IMDSv2) at URL, role NAME" (after a fetch). */
void imds_describe(const struct imds *m, char *desc, size_t desclen);

/* The credentials document of the metadata services (EC2 instance, ECS
 * and EKS container endpoints): fills out from the JSON in json[0..len)
 * or returns -EINVAL with err naming the problem (-EACCES when the
 * document says Code is not "Success"). */
int imds_parse_credentials(const char *json, size_t len, struct s3_creds *out, char *err,
			   size_t errlen);

#endif
