/* reaper.h - abort stale incomplete multipart uploads.
 *
 * Promises: one pass lists every page of ListMultipartUploads under each
 * target's prefix and aborts each upload initiated more than max_age ago,
 * except those is_active() claims (uploads this daemon is still sending,
 * whatever their age); every abort (or would-be abort with dry_run) is
 * logged and, when report is set, printed there as one line with bucket,
 * key, upload id and age; failures to list or abort are counted and
 * logged, never fatal. The background thread runs a pass at start and
 * every interval, and stops promptly (within a second) on reaper_stop. */
#ifndef S3CSFS_REAPER_H
#define S3CSFS_REAPER_H

#include <stdio.h>
#include <time.h>

struct s3_client;

struct reaper_target {
	struct s3_client *client;
	const char *bucket;
	const char *prefix; /* the bucket's key_prefix, "" for all */
};

/* Returns nonzero if this process is still uploading upload_id. */
typedef int (*reaper_is_active_fn)(void *ctx, const char *bucket, const char *key,
				   const char *upload_id);

struct reaper_opts {
	long max_age_s;
	int dry_run;
	int page_size;                 /* max-uploads per page; 0: 1000 */
	reaper_is_active_fn is_active; /* NULL: nothing is active */
	void *ctx;
	FILE *report; /* NULL: log only */
};

struct reaper_result {
	long listed;  /* uploads seen */
	long aborted; /* aborted (or would be, with dry_run) */
	long young;   /* left alone: younger than max_age */
	long active;  /* left alone: still being uploaded here */
	long failed;  /* list or abort errors */
};

/* One pass over targets. Returns 0, or -errno of the first failure (the
 * pass goes on past failures; result counts them). */
int reaper_pass(const struct reaper_target *targets, size_t ntargets,
		const struct reaper_opts *opts, struct reaper_result *result);

struct reaper;
/* Copies targets and opts (not the clients). NULL on failure. */
struct reaper *reaper_start(const struct reaper_target *targets, size_t ntargets,
			    const struct reaper_opts *opts, long interval_s);
/* Live reload (SIGHUP): new interval and max age apply from the next pass. */
void reaper_update(struct reaper *r, long interval_s, long max_age_s);
void reaper_stop(struct reaper *r);

/* The `s3csfs reap` subcommand's body: one pass, a line per upload on out,
 * then "reap: N uploads listed, N aborted, ..." . Returns 0, or 1 if any
 * list or abort failed. */
int reaper_cli(const struct reaper_target *targets, size_t ntargets, long max_age_s, int dry_run,
	       FILE *out);

#endif
