/* creds_process.h - credentials from an external command: a shared
 * config profile's credential_process, a creds_refresh.h source.
 *
 * The command runs with /bin/sh -c (so quoting works as in a shell), its
 * stdin /dev/null, its stderr the daemon's; its stdout must be, within
 * 30 s and 64 KiB, the JSON the AWS CLI expects: {"Version": 1,
 * "AccessKeyId", "SecretAccessKey", ["SessionToken"], ["Expiration":
 * ISO 8601]}. Without Expiration the credentials are kept for good.
 *
 * Promises: a command that cannot start, exits non-zero, is killed, times
 * out or prints anything else is an error naming the profile and what to
 * do; its output is never quoted in a message. */
#ifndef S3CSFS_CREDS_PROCESS_H
#define S3CSFS_CREDS_PROCESS_H

#include <stddef.h>

#include "s3_client.h"

struct process_source;

struct process_source *process_new(const char *profile, const char *command, char *err,
				   size_t errlen);
void process_free(void *src);
/* A creds_fetch_fn. */
int process_fetch(void *src, struct s3_creds *out, char *err, size_t errlen);
void process_describe(const struct process_source *p, char *desc, size_t desclen);

/* The output parser, exposed for tests: -EINVAL with err on a bad one. */
int process_parse_output(const char *json, size_t len, struct s3_creds *out, char *err,
			 size_t errlen);

#endif
