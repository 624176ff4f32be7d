/* backoff.c - retry schedule (exponential cap, full jitter, count and
 * time bounds). See backoff.h. */
#include "config.h"

#include <stdint.h>
#include <time.h>

#include "backoff.h"

void backoff_init(struct backoff *b, int max_retries, long base_ms, long max_total_ms, long now_ms)
{
	b->max_retries = max_retries < 0 ? 0 : max_retries;
	b->base_ms = base_ms;
	b->max_total_ms = max_total_ms;
	b->start_ms = now_ms;
	b->retries = 0;
}

/* base_ms doubled n times, capped: by doubling rather than shifting so a
 * large base cannot overflow. */
static long wait_cap(long base_ms, int n)
{
	long cap = base_ms;

	if (cap <= 0 || cap > BACKOFF_CAP_MS)
		return BACKOFF_CAP_MS;
	for (int i = 0; i < n && cap < BACKOFF_CAP_MS; i++)
		cap *= 2;
	return cap > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : cap;
}

long backoff_next(struct backoff *b, long now_ms, uint64_t rnd)
{
	long cap, delay;

	if (b->retries >= b->max_retries)
		return -1;
	cap = wait_cap(b->base_ms, b->retries);
	delay = (long)(rnd % (uint64_t)(cap + 1));
	if (now_ms + delay - b->start_ms > b->max_total_ms)
		return -1;
	b->retries++;
	return delay;
}

long backoff_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Thread-local xorshift, seeded from the clock and the thread's own
 * address so that threads starting together do not wait in step. */
uint64_t backoff_rand(void)
{
	static __thread uint64_t s;

	if (!s) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec ^ ((uint64_t)(uintptr_t)&s << 16) ^ (uint64_t)ts.tv_sec;
		if (!s)
			s = 0x9e3779b97f4a7c15ULL;
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}
