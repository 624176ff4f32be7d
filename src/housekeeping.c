/* housekeeping.c - SIGHUP reload, systemd notifications, freed memory
 * returned. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cache.h"
#include "conf.h"
#include "housekeeping.h"
#include "log.h"
#include "reaper.h"

struct housekeeping {
	char *conf_path;
	struct cache *cache;
	struct reaper *reaper;
	long (*pending)(void);
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

/* Seconds between two returns of free memory to the system. */
#define TRIM_S 10

static volatile sig_atomic_t reload_requested;

static void on_sighup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

void notify_ready(void)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, "READY=1\nSTATUS=mounted");
#endif
}

void notify_stopping(void)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, "STOPPING=1\nSTATUS=unmounting, finishing uploads");
#endif
}

static void reload(struct housekeeping *hk)
{
	struct config cfg;
	char err[1024];

	if (config_load(hk->conf_path, &cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running settings", err);
		return;
	}
	log_set_level((enum log_level)cfg.log_level);
	cache_set_max_size(hk->cache, cfg.cache_max_size);
	if (hk->reaper)
		reaper_update(hk->reaper, cfg.reaper_interval_s, cfg.reaper_max_age_s);
	log_info("reload: log_level, cache_max_size (%lld MiB) and reaper settings applied; "
		 "other changes need a remount",
		 cfg.cache_max_size >> 20);
	config_free(&cfg);
}

static void *run(void *arg)
{
	struct housekeeping *hk = arg;
	long last_pending = -1;
	unsigned ticks = 0;

	pthread_mutex_lock(&hk->lock);
	while (!hk->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&hk->cond, &hk->lock, &ts);
		if (hk->stop)
			break;
		pthread_mutex_unlock(&hk->lock);
		if (reload_requested) {
			reload_requested = 0;
			log_reopen();
			reload(hk);
		}
#ifdef __GLIBC__
		/* free() keeps the pages of freed nodes and writers inside
		 * the arenas; this hands them back (issue 14). */
		if (++ticks % TRIM_S == 0)
			malloc_trim(0);
#endif
		long p = hk->pending();
		if (p != last_pending) {
			last_pending = p;
#ifdef HAVE_SYSTEMD
			sd_notifyf(0, "STATUS=mounted, %ld upload(s) pending", p);
#endif
		}
		pthread_mutex_lock(&hk->lock);
	}
	pthread_mutex_unlock(&hk->lock);
	return NULL;
}

struct housekeeping *housekeeping_start(const char *conf_path, struct cache *cache,
					struct reaper *reaper, long (*pending)(void))
{
	struct housekeeping *hk = calloc(1, sizeof(*hk));
	struct sigaction sa;

	if (!hk || !(hk->conf_path = strdup(conf_path))) {
		free(hk);
		return NULL;
	}
	hk->cache = cache;
	hk->reaper = reaper;
	hk->pending = pending;
	pthread_mutex_init(&hk->lock, NULL);
	pthread_cond_init(&hk->cond, NULL);
	/* libfuse makes SIGHUP unmount; here it means "reload". */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sighup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	if (pthread_create(&hk->thread, NULL, run, hk) != 0) {
		free(hk->conf_path);
		free(hk);
		return NULL;
	}
	return hk;
}

void housekeeping_stop(struct housekeeping *hk)
{
	if (!hk)
		return;
	pthread_mutex_lock(&hk->lock);
	hk->stop = 1;
	pthread_cond_broadcast(&hk->cond);
	pthread_mutex_unlock(&hk->lock);
	pthread_join(hk->thread, NULL);
	pthread_mutex_destroy(&hk->lock);
	pthread_cond_destroy(&hk->cond);
	free(hk->conf_path);
	free(hk);
}
