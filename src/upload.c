/* upload.c - streaming multipart uploads from a cache file. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "upload.h"

enum part_state { PART_IDLE = 0, PART_INFLIGHT, PART_DONE };

struct part {
	enum part_state state;
	unsigned gen;      /* bumped when its bytes change */
	unsigned sent_gen; /* gen of the bytes the DONE etag is for */
	char etag[S3_ETAG_MAX];
};

struct upload {
	const struct upload_ctx *ctx;
	struct target target;
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char upload_id[S3_UPLOAD_ID_MAX]; /* "" until created */
	struct part *parts;
	int nparts_alloc;
	int inflight;
	int error;          /* first permanent failure, sticky */
	long long final_size; /* -1 while streaming */
	struct upload *reg_next; /* registry of active multipart uploads */
	int registered;
	int exclusive;      /* see upload_set_exclusive */
};

/* Active multipart uploads, so the reaper never aborts one of ours. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upload *registry;

static void registry_add(struct upload *u)
{
	pthread_mutex_lock(&registry_lock);
	u->reg_next = registry;
	registry = u;
	u->registered = 1;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_del(struct upload *u)
{
	pthread_mutex_lock(&registry_lock);
	if (u->registered) {
		for (struct upload **p = &registry; *p; p = &(*p)->reg_next)
			if (*p == u) {
				*p = u->reg_next;
				break;
			}
		u->registered = 0;
	}
	pthread_mutex_unlock(&registry_lock);
}

int upload_is_active(void *unused, const char *bucket, const char *key, const char *upload_id)
{
	int found = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct upload *u = registry; u && !found; u = u->reg_next)
		found = strcmp(u->target.bucket->name, bucket) == 0 &&
			strcmp(u->upload_id, upload_id) == 0;
	pthread_mutex_unlock(&registry_lock);
	return found;
}

struct upload *upload_new(const struct upload_ctx *ctx, const struct target *t, int fd)
{
	struct upload *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->ctx = ctx;
	u->target = *t;
	u->fd = fd;
	u->final_size = -1;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	return u;
}

static int ensure_parts(struct upload *u, int n)
{
	if (n <= u->nparts_alloc)
		return 0;
	if (n > UPLOAD_MAX_PARTS)
		return -EFBIG;
	int alloc = u->nparts_alloc ? u->nparts_alloc : 16;
	while (alloc < n)
		alloc *= 2;
	if (alloc > UPLOAD_MAX_PARTS)
		alloc = UPLOAD_MAX_PARTS;
	struct part *p = realloc(u->parts, (size_t)alloc * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + u->nparts_alloc, 0, (size_t)(alloc - u->nparts_alloc) * sizeof(*p));
	u->parts = p;
	u->nparts_alloc = alloc;
	return 0;
}

struct part_job {
	struct upload *u;
	int index;
	unsigned gen;
	long long off, len;
};

static void part_job_run(void *arg)
{
	struct part_job *j = arg;
	struct upload *u = j->u;
	struct http_body body = { .kind = HTTP_BODY_FD, .fd = u->fd, .off = j->off,
				  .len = (size_t)j->len };
	char etag[S3_ETAG_MAX];
	int rc;

	stats_upload_started();
	rc = u->ctx->store.ops->mpu_part(u->ctx->store.ctx, &u->target, u->upload_id,
					 j->index + 1, &body, etag, sizeof(etag));
	STAT_SUB(uploads_inflight, 1);
	pthread_mutex_lock(&u->lock);
	struct part *p = &u->parts[j->index];
	if (rc < 0) {
		if (!u->error)
			u->error = rc;
		p->state = PART_IDLE;
	} else {
		p->state = PART_DONE;
		p->sent_gen = j->gen;
		memcpy(p->etag, etag, sizeof(p->etag));
	}
	u->inflight--;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	free(j);
}

void upload_throttle(struct upload *u, int max_pending)
{
	pthread_mutex_lock(&u->lock);
	while (max_pending > 0 && u->inflight > max_pending && !u->error)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

void upload_set_exclusive(struct upload *u)
{
	u->exclusive = 1;
}

/* Called with u->lock held and an upload id present. */
static int submit_part(struct upload *u, int index, long long size)
{
	struct part_job *j = malloc(sizeof(*j));
	long long ps = u->ctx->part_size;

	if (!j)
		return -ENOMEM;
	j->u = u;
	j->index = index;
	j->gen = u->parts[index].gen;
	j->off = (long long)index * ps;
	j->len = size - j->off < ps ? size - j->off : ps;
	u->parts[index].state = PART_INFLIGHT;
	u->inflight++;
	if (workq_submit(u->ctx->transfers, part_job_run, j) < 0) {
		u->parts[index].state = PART_IDLE;
		u->inflight--;
		free(j);
		return -ENOMEM;
	}
	return 0;
}

/* Creates the multipart upload; called without the lock (one request). */
static int create_mpu(struct upload *u)
{
	char id[S3_UPLOAD_ID_MAX];
	int rc = u->ctx->store.ops->mpu_create(u->ctx->store.ctx, &u->target, NULL, 0, id,
					       sizeof(id));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&u->lock);
	memcpy(u->upload_id, id, sizeof(id));
	pthread_mutex_unlock(&u->lock);
	registry_add(u);
	log_debug("multipart upload started bucket=%s key=%s upload_id=%s",
		  u->target.bucket->name, u->target.key, id);
	return 0;
}

void upload_progress(struct upload *u, long long upto)
{
	long long ps = u->ctx->part_size;
	int full = (int)(upto / ps);

	if (full < 1 || u->error)
		return;
	/* Only once a second part is certain do we know a multipart upload
	 * is needed: a file of exactly one part still goes as one PUT. */
	if (!u->upload_id[0]) {
		if (upto <= ps)
			return;
		int rc = create_mpu(u);
		if (rc < 0) {
			pthread_mutex_lock(&u->lock);
			if (!u->error)
				u->error = rc;
			pthread_mutex_unlock(&u->lock);
			return;
		}
	}
	pthread_mutex_lock(&u->lock);
	if (ensure_parts(u, full) < 0) {
		if (!u->error)
			u->error = full > UPLOAD_MAX_PARTS ? -EFBIG : -ENOMEM;
	} else {
		for (int i = 0; i < full; i++)
			if (u->parts[i].state == PART_IDLE &&
			    !(u->parts[i].sent_gen == u->parts[i].gen && u->parts[i].etag[0]))
				if (submit_part(u, i, (long long)full * ps) < 0)
					break;
	}
	pthread_mutex_unlock(&u->lock);
}

void upload_invalidate(struct upload *u, long long off, long long len)
{
	long long ps = u->ctx->part_size;

	if (len <= 0)
		return;
	pthread_mutex_lock(&u->lock);
	for (long long i = off / ps; i <= (off + len - 1) / ps && i < u->nparts_alloc; i++)
		u->parts[i].gen++;
	pthread_mutex_unlock(&u->lock);
}

static int put_whole(struct upload *u, long long size, char *etag, size_t etaglen)
{
	struct http_body body = { .kind = HTTP_BODY_FD, .fd = u->fd, .off = 0, .len = (size_t)size };
	int rc;

	stats_upload_started();
	if (u->exclusive && u->ctx->store.ops->put_new)
		rc = u->ctx->store.ops->put_new(u->ctx->store.ctx, &u->target, &body, NULL, 0,
						etag, etaglen);
	else
		rc = u->ctx->store.ops->put(u->ctx->store.ctx, &u->target, &body, NULL, NULL, 0,
					    etag, etaglen);
	STAT_SUB(uploads_inflight, 1);
	return rc;
}

static void wait_inflight(struct upload *u)
{
	while (u->inflight > 0)
		pthread_cond_wait(&u->cond, &u->lock);
}

int upload_finish(struct upload *u, long long size, char *etag, size_t etaglen)
{
	long long ps = u->ctx->part_size;
	int nparts = (int)((size + ps - 1) / ps), rc;

	if (size <= ps && !u->upload_id[0])
		return put_whole(u, size, etag, etaglen);
	if (nparts > UPLOAD_MAX_PARTS)
		return -EFBIG;
	if (nparts < 1)
		return -EINVAL;
	if (!u->upload_id[0]) {
		rc = create_mpu(u);
		if (rc < 0)
			return rc;
	}
	pthread_mutex_lock(&u->lock);
	rc = ensure_parts(u, nparts);
	/* Send every part whose current bytes are not yet in S3; parts that
	 * change while in flight go again once they land. */
	while (rc == 0 && !u->error) {
		int pending = 0;
		for (int i = 0; i < nparts && rc == 0; i++) {
			struct part *p = &u->parts[i];
			if (p->state == PART_INFLIGHT) {
				pending = 1;
			} else if (!(p->state == PART_DONE && p->sent_gen == p->gen)) {
				/* The last part's length may have grown since. */
				p->state = PART_IDLE;
				rc = submit_part(u, i, size);
				pending = 1;
			}
		}
		if (!pending)
			break;
		pthread_cond_wait(&u->cond, &u->lock);
	}
	wait_inflight(u);
	if (!rc)
		rc = u->error;
	struct s3_part *list = NULL;
	if (!rc) {
		list = calloc((unsigned)nparts, sizeof(*list));
		if (!list)
			rc = -ENOMEM;
		for (int i = 0; list && i < nparts; i++) {
			list[i].number = i + 1;
			memcpy(list[i].etag, u->parts[i].etag, sizeof(list[i].etag));
		}
	}
	pthread_mutex_unlock(&u->lock);
	if (!rc)
		rc = u->ctx->store.ops->mpu_complete(u->ctx->store.ctx, &u->target, u->upload_id,
						     list, (size_t)nparts, etag, etaglen);
	free(list);
	if (rc < 0) {
		upload_cancel(u);
		return rc;
	}
	registry_del(u);
	u->upload_id[0] = '\0';
	return 0;
}

void upload_cancel(struct upload *u)
{
	pthread_mutex_lock(&u->lock);
	if (!u->error)
		u->error = -ECANCELED;
	wait_inflight(u);
	pthread_mutex_unlock(&u->lock);
	if (u->upload_id[0]) {
		int rc = u->ctx->store.ops->mpu_abort(u->ctx->store.ctx, &u->target, u->upload_id);
		if (rc < 0)
			log_warn("could not abort upload bucket=%s key=%s upload_id=%s (%s); "
				 "the reaper will retry",
				 u->target.bucket->name, u->target.key, u->upload_id, strerror(-rc));
		registry_del(u);
		u->upload_id[0] = '\0';
	}
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	if (u->inflight || u->upload_id[0])
		upload_cancel(u);
	registry_del(u);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	free(u->parts);
	free(u);
}

void upload_discard(struct upload *u)
{
	if (!u)
		return;
	registry_del(u);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	free(u->parts);
	free(u);
}
