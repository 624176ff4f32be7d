/* creds.h - where a bucket's credentials come from, first that answers:
 * keys in the config file, the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE
 * or "default"), the EC2 instance metadata service (IMDSv2, see imds.h;
 * not asked when AWS_EC2_METADATA_DISABLED=true). A source that has
 * credentials answers, right or wrong: the chain never falls through to
 * the next one because the server refused a key.
 *
 * Promises: secrets are copied into memory owned here and wiped on free;
 * descriptions name the source, never a secret. */
#ifndef S3CSFS_CREDS_H
#define S3CSFS_CREDS_H

#include <stddef.h>

#include "conf.h"
#include "s3_client.h"

/* Fills p with a provider for conn; desc says which source answered.
 * Returns 0, or -ENOKEY with err saying what was tried. */
int creds_resolve(const struct s3_conn_conf *conn, struct s3_creds_provider *p, char *desc,
		  size_t desclen, char *err, size_t errlen);
void creds_release(struct s3_creds_provider *p);

/* Creates cfg->buckets[i].client for every bucket (buckets sharing the
 * same endpoint and credentials share a client). -1 with err on failure. */
int clients_create(struct config *cfg, char *err, size_t errlen);
void clients_free(struct config *cfg);

#endif
