/* backoff.h - the one retry schedule: exponential cap, full jitter,
 * bounded both by a number of retries and by a total time.
 *
 * Promises: no clock and no randomness of its own in backoff_next (the
 * caller passes "now" and a random number), so a test needs no sleep;
 * no allocation, no sleeping, no global state; every function is
 * reentrant. A struct backoff belongs to one retry loop (one thread). */
#ifndef S3CSFS_BACKOFF_H
#define S3CSFS_BACKOFF_H

#include <stdint.h>

/* The longest single wait, whatever the base and the number of tries. */
#define BACKOFF_CAP_MS 20000L

struct backoff {
	int max_retries;   /* retries after the first try; < 0 counts as 0 */
	long base_ms;      /* the first wait's cap; doubles per retry */
	long max_total_ms; /* no retry whose wait would end later than this after start */
	long start_ms;     /* when the first try began (the caller's clock) */
	int retries;       /* retries granted so far */
};

/* Starts a schedule at now_ms (same clock as later calls). Never fails. */
void backoff_init(struct backoff *b, int max_retries, long base_ms, long max_total_ms, long now_ms);

/* The wait in ms (0..cap) before the next retry, where cap is base_ms
 * doubled once per retry granted so far, at most BACKOFF_CAP_MS (and
 * BACKOFF_CAP_MS when base_ms <= 0), and the wait is rnd % (cap + 1);
 * the retry is then counted. Returns -1 (nothing counted) when
 * max_retries retries were granted already, or when now_ms + the wait
 * would be more than max_total_ms after start_ms. */
long backoff_next(struct backoff *b, long now_ms, uint64_t rnd);

/* A monotonic clock in ms, for backoff_init and backoff_next. */
long backoff_now_ms(void);

/* A per-thread pseudo-random number for backoff_next: spread, not
 * cryptographic quality. */
uint64_t backoff_rand(void);

#endif
