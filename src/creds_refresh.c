/* creds_refresh.c - temporary credentials renewed by a background thread
 * ahead of expiry. See creds_refresh.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds_refresh.h"
#include "log.h"

#define DEFAULT_MARGIN 300L
#define RETRY_MAX_S 10
#define EXPIRED_WAIT_S 5

struct creds_refresher {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t fetched; /* a fetch ended */
	struct s3_creds cur;
	char name[96];
	creds_fetch_fn fetch;
	void *src;
	void (*free_src)(void *);
	long margin;
	time_t next;  /* the thread fetches at this time */
	int failures; /* fetches failed in a row */
	int started;  /* 1: the thread runs (in process pid); -1: could not start */
	pid_t pid;
	int stop;
	pthread_t thread;
};

int creds_refresh_margin(long *out, char *err, size_t errlen)
{
	const char *name = "S3CSFS_CREDS_REFRESH_MARGIN";
	const char *v = getenv(name);
	char *end;
	long m;

	if (!v || !*v) {
		name = "S3CSFS_IMDS_REFRESH_MARGIN";
		v = getenv(name);
	}
	*out = DEFAULT_MARGIN;
	if (!v || !*v)
		return 0;
	m = strtol(v, &end, 10);
	if (*end || m < 0 || m > 86400) {
		snprintf(err, errlen, "%s '%.40s' is not a number of seconds (0 to 86400)", name, v);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

/* When to fetch again after getting c at now: margin before expiry, but
 * never later than half-way through the lifetime, and not within 1 s. */
static time_t schedule(const struct creds_refresher *r, time_t now)
{
	time_t life, m, at;

	if (r->cur.expires == 0)
		return 0;
	life = r->cur.expires - now;
	m = r->margin < life / 2 ? r->margin : life / 2;
	at = r->cur.expires - m;
	return at > now + 1 ? at : now + 1;
}

static void *run(void *arg)
{
	struct creds_refresher *r = arg;
	struct s3_creds *fresh = malloc(sizeof(*fresh));
	char err[768];

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		time_t now = time(NULL);
		if (r->next == 0) { /* credentials that never expire */
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		if (now < r->next) {
			struct timespec ts = { .tv_sec = r->next };
			pthread_cond_timedwait(&r->wake, &r->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		/* Fetched without the lock: get() goes on with the old ones. */
		int rc = fresh ? r->fetch(r->src, fresh, err, sizeof(err)) : -ENOMEM;
		if (!fresh)
			snprintf(err, sizeof(err), "out of memory");
		pthread_mutex_lock(&r->lock);
		now = time(NULL);
		if (rc == 0) {
			r->cur = *fresh;
			r->failures = 0;
			r->next = schedule(r, now);
			log_debug("credentials from the %s renewed, valid for %lld s", r->name,
				  (long long)(r->cur.expires ? r->cur.expires - now : -1));
		} else {
			int valid = now < r->cur.expires;
			r->failures++;
			long wait = r->failures >= 4 ? RETRY_MAX_S : 1L << (r->failures - 1);
			r->next = now + wait;
			log_warn("credentials from the %s: cannot renew them (%s); %s, next try in %ld s",
				 r->name, err,
				 valid ? "the current ones stay in use" : "they have expired", wait);
		}
		if (fresh)
			explicit_bzero(fresh, sizeof(*fresh));
		pthread_cond_broadcast(&r->fetched);
	}
	pthread_mutex_unlock(&r->lock);
	free(fresh);
	return NULL;
}

struct creds_refresher *creds_refresher_new(const char *name, creds_fetch_fn fetch, void *src,
					    void (*free_src)(void *), char *err, size_t errlen)
{
	struct creds_refresher *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (creds_refresh_margin(&r->margin, err, errlen) < 0 ||
	    fetch(src, &r->cur, err, errlen) < 0) {
		explicit_bzero(r, sizeof(*r));
		free(r);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->fetch = fetch;
	r->src = src;
	r->free_src = free_src;
	r->next = schedule(r, time(NULL));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_cond_init(&r->fetched, NULL);
	return r;
}

void creds_refresher_free(struct creds_refresher *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->wake);
	int join = r->started == 1 && r->pid == getpid();
	pthread_mutex_unlock(&r->lock);
	if (join)
		pthread_join(r->thread, NULL);
	if (r->free_src)
		r->free_src(r->src);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->fetched);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

int creds_refresher_get(void *ctx, struct s3_creds *out)
{
	struct creds_refresher *r = ctx;
	time_t now = time(NULL);
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	/* Started here, not at creation: threads do not survive the fork
	 * that puts the daemon in the background. */
	if ((!r->started || r->pid != getpid()) && r->next != 0 && !r->stop) {
		r->pid = getpid();
		r->started = pthread_create(&r->thread, NULL, run, r) == 0 ? 1 : -1;
		if (r->started < 0)
			log_error("credentials from the %s: cannot start the refresh thread; they "
				  "will not be renewed",
				  r->name);
	}
	/* Expired (the renewal ahead of expiry did not arrive in time): wait
	 * a little for the fetch under way rather than fail at once. */
	struct timespec until = { .tv_sec = now + EXPIRED_WAIT_S };
	while (r->cur.expires && now >= r->cur.expires && r->started == 1 && !r->stop &&
	       now < until.tv_sec) {
		pthread_cond_timedwait(&r->fetched, &r->lock, &until);
		now = time(NULL);
	}
	if (r->cur.expires == 0 || now < r->cur.expires)
		*out = r->cur;
	else
		rc = -ENOKEY;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

time_t creds_refresher_expiry(struct creds_refresher *r)
{
	pthread_mutex_lock(&r->lock);
	time_t t = r->cur.expires;
	pthread_mutex_unlock(&r->lock);
	return t;
}
