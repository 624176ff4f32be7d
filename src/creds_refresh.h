/* creds_refresh.h - temporary credentials kept fresh in the background.
 *
 * A source (instance or container metadata, STS, credential_process, SSO)
 * gives a fetch function; the refresher fetches once at creation, then a
 * thread of its own fetches again ahead of expiry: at expiry minus the
 * margin (default 300 s, S3CSFS_CREDS_REFRESH_MARGIN seconds, never more
 * than half the credentials' lifetime), retrying a failed fetch after
 * 1 to 10 s.
 *
 * Promises: get() never waits for a fetch: it copies the current
 * credentials under a mutex (a FUSE operation is never held up by a
 * refresh); once they have expired and no fetch succeeded, get() fails
 * with -ENOKEY and the last fetch error is logged (a warning per failed
 * fetch, naming the source, never a secret). The thread starts on the
 * first get(), so a daemon that forks after creating its clients has it
 * in the child. Credentials without an expiry are never fetched again. */
#ifndef S3CSFS_CREDS_REFRESH_H
#define S3CSFS_CREDS_REFRESH_H

#include <stddef.h>
#include <time.h>

#include "s3_client.h"

/* Fills out (expires 0: never) or returns -errno with err saying what
 * failed, naming the source and what to do, never a secret. Called from
 * the refresher's thread, one call at a time. */
typedef int (*creds_fetch_fn)(void *src, struct s3_creds *out, char *err, size_t errlen);

struct creds_refresher;

/* Fetches now. On success returns the refresher, which owns src from then
 * on (free_src(src) at creds_refresher_free; free_src may be NULL). On
 * failure returns NULL with err filled, and src is the caller's still.
 * name says which source it is, in log lines ("web identity (STS)"). */
struct creds_refresher *creds_refresher_new(const char *name, creds_fetch_fn fetch, void *src,
					    void (*free_src)(void *), char *err, size_t errlen);
/* Stops the thread (waits for a fetch in progress), frees src, wipes. */
void creds_refresher_free(struct creds_refresher *r);

/* The s3_creds_provider get() over a refresher. */
int creds_refresher_get(void *ctx, struct s3_creds *out);

/* When the current credentials expire (0: never). */
time_t creds_refresher_expiry(struct creds_refresher *r);

/* The margin (seconds before expiry) from S3CSFS_CREDS_REFRESH_MARGIN or
 * the older S3CSFS_IMDS_REFRESH_MARGIN; -EINVAL with err if malformed. */
int creds_refresh_margin(long *out, char *err, size_t errlen);

#endif
