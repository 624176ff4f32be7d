/* aws_profile.h - a named profile of the AWS shared files into a
 * credentials provider: the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials: [NAME]) and the shared
 * config file (AWS_CONFIG_FILE, ~/.aws/config: [profile NAME], [default]).
 *
 * In a profile, first that applies (the AWS CLI's order):
 *   role_arn + web_identity_token_file   -> AssumeRoleWithWebIdentity
 *   role_arn + source_profile            -> AssumeRole with that profile's
 *                                            credentials (chains up to 5)
 *   role_arn + credential_source         -> AssumeRole with Environment,
 *                                            Ec2InstanceMetadata or EcsContainer
 *     (with external_id, role_session_name, duration_seconds)
 *   sso_session / sso_start_url          -> SSO role credentials (creds_sso.h)
 *   aws_access_key_id + aws_secret_access_key [+ aws_session_token]
 *   credential_process                   -> creds_process.h
 *
 * Promises: files are read once per resolve; no secret in any message. */
#ifndef S3CSFS_AWS_PROFILE_H
#define S3CSFS_AWS_PROFILE_H

#include <stddef.h>

#include "creds.h"

/* Fills p for profile name. required: the profile was asked for by name
 * (aws_profile =), so a missing profile is an error, not -ENOKEY.
 * Returns 0, -ENOKEY (nothing there and not required), or -errno with err. */
int aws_profile_resolve(const struct creds_ctx *cx, const char *name, int required,
			struct s3_creds_provider *p, char *desc, size_t desclen, char *err,
			size_t errlen);

#endif
