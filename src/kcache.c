/* kcache.c - the kernel's names kept in step with the node table
 * (kcache.h): a thread that, every KCACHE_TICK_S, asks the node table
 * whether a round is due and invalidates the top-level entries. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h" /* first: it sets FUSE_USE_VERSION */
#include "fs_internal.h"
#include <fuse_lowlevel.h>

#include "kcache.h"
#include "log.h"
#include "stats.h"

#define KCACHE_TICK_S 2
#define KCACHE_NAMES 64 /* top-level names invalidated per round */

struct kcache {
	struct fs *fs;
	struct fuse_session *se;
	pthread_t thread;
	pthread_mutex_t lock; /* stop, with cond */
	pthread_cond_t cond;
	int stop;
};

/* One round: the top-level names the table knows, each invalidated. */
static void round_once(struct kcache *k)
{
	char names[KCACHE_NAMES][NAME_MAX + 1];
	size_t n = node_kernel_trim_names(k->fs, names, KCACHE_NAMES);

	for (size_t i = 0; i < n; i++) {
		int rc = fuse_lowlevel_notify_inval_entry(k->se, FUSE_ROOT_ID, names[i],
							  strlen(names[i]));
		/* ENOENT: the kernel no longer has it; nothing to drop. */
		if (rc < 0 && rc != -ENOENT)
			log_debug("kcache: invalidating /%s: %s", names[i], strerror(-rc));
	}
	if (n)
		STAT_ADD(kernel_trims, 1);
}

static void *run(void *arg)
{
	struct kcache *k = arg;
	struct timespec ts;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += KCACHE_TICK_S;
		pthread_cond_timedwait(&k->cond, &k->lock, &ts);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->lock);
		round_once(k);
		pthread_mutex_lock(&k->lock);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

struct kcache *kcache_start(struct fs *fs, struct fuse_session *se)
{
	struct kcache *k = calloc(1, sizeof(*k));

	if (!k || !se) {
		free(k);
		log_warn("kcache: not started; the kernel keeps names until memory runs short");
		return NULL;
	}
	k->fs = fs;
	k->se = se;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	if (pthread_create(&k->thread, NULL, run, k) != 0) {
		log_warn("kcache: no thread; the kernel keeps names until memory runs short");
		pthread_cond_destroy(&k->cond);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return NULL;
	}
	return k;
}

void kcache_stop(struct kcache *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = 1;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
