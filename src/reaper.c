/* reaper.c - abort stale incomplete multipart uploads.
 *
 * One pass walks ListMultipartUploads page by page (key-marker and
 * upload-id-marker from the previous page), aborting as it goes: the
 * markers are positions in S3's lexical order, so aborting the uploads of
 * a page already read does not disturb the next one. Pagination is
 * bounded: a truncated page without new markers, or REAPER_MAX_PAGES
 * pages, ends the target's listing with a failure counted. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "reaper.h"
#include "s3_client.h"
#include "s3_xml.h"
#include "stats.h"

#define REAPER_MAX_PAGES 100000
#define REAPER_DEFAULT_PAGE 1000
/* Keys and upload ids are printed with control bytes as \xNN: at most 4
 * bytes out per byte in. */
#define ESC_MAX (4 * S3_KEY_MAX + 1)

struct reaper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	atomic_int stop;
	long interval_s; /* under lock */
	long max_age_s;  /* under lock */
	struct reaper_opts opts;
	struct reaper_target *targets; /* bucket and prefix strings owned */
	size_t ntargets;
};

/* State of one pass. */
struct pass {
	const struct reaper_opts *opts;
	struct reaper_result *res;
	const atomic_int *stop; /* NULL: never asked to stop */
	time_t now;
	int first_err;
};

static int stopping(const struct pass *p)
{
	return p->stop && atomic_load_explicit(p->stop, memory_order_relaxed);
}

static void note_err(struct pass *p, int err)
{
	p->res->failed++;
	if (p->first_err == 0)
		p->first_err = err < 0 ? err : -EIO;
}

/* s, or its copy in buf with control bytes and DEL written \xNN, so that a
 * key can never break a report or log line. Cut to fit buf. */
static const char *printable(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t o = 0;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			break;
	if (*p == '\0')
		return s;
	for (p = (const unsigned char *)s; *p && o + 5 <= len; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* "26h03m07s" */
static void format_age(long age, char *buf, size_t len)
{
	if (age < 0)
		age = 0;
	snprintf(buf, len, "%ldh%02ldm%02lds", age / 3600, age / 60 % 60, age % 60);
}

/* Decides about one listed upload, and aborts it if it is stale. */
static void reap_one(struct pass *p, const struct reaper_target *t, const struct s3_mpu_entry *e)
{
	const struct reaper_opts *o = p->opts;
	char kbuf[ESC_MAX], ibuf[ESC_MAX], agebuf[64], err[512];
	const char *key, *id;
	struct s3_status st;
	long age;
	int rc;

	p->res->listed++;
	key = printable(e->key, kbuf, sizeof(kbuf));
	id = printable(e->upload_id, ibuf, sizeof(ibuf));
	if (e->initiated <= 0) {
		/* No or nonsensical Initiated: the age is unknown, so the
		 * upload is left alone. */
		log_warn("reaper: upload without an initiation time left alone bucket=%s key=%s "
			 "upload_id=%s",
			 t->bucket, key, id);
		p->res->young++;
		return;
	}
	age = p->now > e->initiated ? (long)(p->now - e->initiated) : 0;
	if (age <= o->max_age_s) {
		p->res->young++;
		return;
	}
	if (o->is_active && o->is_active(o->ctx, t->bucket, e->key, e->upload_id)) {
		log_debug("reaper: upload in progress here left alone bucket=%s key=%s upload_id=%s "
			  "age=%lds",
			  t->bucket, key, id, age);
		p->res->active++;
		return;
	}
	format_age(age, agebuf, sizeof(agebuf));
	if (o->dry_run) {
		p->res->aborted++;
		log_info("reaper: would abort upload bucket=%s key=%s upload_id=%s age=%lds",
			 t->bucket, key, id, age);
		if (o->report)
			fprintf(o->report, "would abort %s %s %s age=%s\n", t->bucket, key, id,
				agebuf);
		return;
	}
	memset(&st, 0, sizeof(st));
	rc = s3_mpu_abort(t->client, t->bucket, e->key, e->upload_id, &st);
	if (rc < 0) {
		log_warn("reaper: cannot abort upload bucket=%s key=%s upload_id=%s age=%lds: %s",
			 t->bucket, key, id, age, s3_status_str(&st, err, sizeof(err)));
		note_err(p, rc);
		return;
	}
	p->res->aborted++;
	STAT_ADD(reaper_aborts, 1);
	log_info("reaper: aborted upload bucket=%s key=%s upload_id=%s age=%lds", t->bucket, key,
		 id, age);
	if (o->report)
		fprintf(o->report, "abort %s %s %s age=%s\n", t->bucket, key, id, agebuf);
}

static void reap_target(struct pass *p, const struct reaper_target *t)
{
	const char *prefix = t->prefix ? t->prefix : "";
	int page_size = p->opts->page_size > 0 ? p->opts->page_size : REAPER_DEFAULT_PAGE;
	char km[S3_KEY_MAX + 1] = "", um[S3_UPLOAD_ID_MAX] = "", err[512];
	char pbuf[ESC_MAX];
	struct s3_mpu_list l;
	struct s3_status st;
	long pages = 0;
	int rc, more;

	do {
		if (stopping(p))
			return;
		memset(&st, 0, sizeof(st));
		rc = s3_mpu_list(t->client, t->bucket, prefix, km, um, page_size, &l, &st);
		if (rc < 0) {
			log_warn("reaper: cannot list multipart uploads bucket=%s prefix=%s: %s",
				 t->bucket, printable(prefix, pbuf, sizeof(pbuf)),
				 s3_status_str(&st, err, sizeof(err)));
			note_err(p, rc);
			return;
		}
		pages++;
		for (size_t i = 0; i < l.nuploads && !stopping(p); i++)
			reap_one(p, t, &l.uploads[i]);
		more = l.is_truncated;
		if (more && ((!l.next_key_marker[0] && !l.next_upload_id_marker[0]) ||
			     (strcmp(l.next_key_marker, km) == 0 &&
			      strcmp(l.next_upload_id_marker, um) == 0))) {
			log_warn("reaper: listing of bucket=%s prefix=%s truncated without new markers "
				 "after %ld page(s); the rest is left for the next pass",
				 t->bucket, printable(prefix, pbuf, sizeof(pbuf)), pages);
			note_err(p, -EPROTO);
			more = 0;
		} else if (more) {
			snprintf(km, sizeof(km), "%s", l.next_key_marker);
			snprintf(um, sizeof(um), "%s", l.next_upload_id_marker);
		}
		s3xml_mpu_list_free(&l);
	} while (more && pages < REAPER_MAX_PAGES);
	if (more) {
		log_warn("reaper: listing of bucket=%s prefix=%s stopped after %d pages; the rest is "
			 "left for the next pass",
			 t->bucket, printable(prefix, pbuf, sizeof(pbuf)), REAPER_MAX_PAGES);
		note_err(p, -E2BIG);
	}
}

static int run_pass(const struct reaper_target *targets, size_t ntargets,
		    const struct reaper_opts *opts, struct reaper_result *result,
		    const atomic_int *stop)
{
	struct pass p = { .opts = opts, .res = result, .stop = stop, .now = time(NULL) };

	memset(result, 0, sizeof(*result));
	for (size_t i = 0; i < ntargets && !stopping(&p); i++) {
		/* Each target's ages are measured from the time its listing
		 * starts: a long pass never makes an upload older than it is. */
		p.now = time(NULL);
		reap_target(&p, &targets[i]);
	}
	STAT_ADD(reaper_runs, 1);
	if (result->aborted || result->failed || result->active)
		log_info("reaper: pass done: %ld listed, %ld %s, %ld young, %ld active, %ld failed",
			 result->listed, result->aborted, opts->dry_run ? "would abort" : "aborted",
			 result->young, result->active, result->failed);
	else
		log_debug("reaper: pass done: %ld listed, nothing to abort", result->listed);
	return p.first_err;
}

int reaper_pass(const struct reaper_target *targets, size_t ntargets,
		const struct reaper_opts *opts, struct reaper_result *result)
{
	struct reaper_result scratch;

	return run_pass(targets, ntargets, opts, result ? result : &scratch, NULL);
}

/* ---- background thread ------------------------------------------------- */

static void *reaper_main(void *arg)
{
	struct reaper *r = arg;
	struct reaper_opts o;
	struct reaper_result res;
	struct timespec end, deadline;

	pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->stop)) {
		o = r->opts;
		o.max_age_s = r->max_age_s;
		pthread_mutex_unlock(&r->lock);

		run_pass(r->targets, r->ntargets, &o, &res, &r->stop);

		clock_gettime(CLOCK_MONOTONIC, &end);
		pthread_mutex_lock(&r->lock);
		/* Recomputed on every wake-up, so a new interval from
		 * reaper_update counts from the end of the last pass. */
		while (!atomic_load(&r->stop)) {
			struct timespec now;
			long iv = r->interval_s > 0 ? r->interval_s : 1;
			deadline = end;
			deadline.tv_sec += iv;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				break;
			pthread_cond_timedwait(&r->cond, &r->lock, &deadline);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void free_targets(struct reaper_target *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++) {
		free((char *)t[i].bucket);
		free((char *)t[i].prefix);
	}
	free(t);
}

struct reaper *reaper_start(const struct reaper_target *targets, size_t ntargets,
			    const struct reaper_opts *opts, long interval_s)
{
	struct reaper *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int have_lock = 0, have_cond = 0, rc;

	if (!r || !opts || (ntargets && !targets))
		goto fail;
	r->opts = *opts;
	r->interval_s = interval_s;
	r->max_age_s = opts->max_age_s;
	atomic_init(&r->stop, 0);
	if (ntargets) {
		r->targets = calloc(ntargets, sizeof(*r->targets));
		if (!r->targets)
			goto fail;
	}
	for (size_t i = 0; i < ntargets; i++) {
		char *b = strdup(targets[i].bucket ? targets[i].bucket : "");
		char *p = strdup(targets[i].prefix ? targets[i].prefix : "");
		r->targets[i] = (struct reaper_target){ targets[i].client, b, p };
		r->ntargets = i + 1; /* so that free_targets frees what exists */
		if (!b || !p)
			goto fail;
	}
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		goto fail;
	have_lock = 1;
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		goto fail;
	have_cond = 1;
	rc = pthread_create(&r->thread, NULL, reaper_main, r);
	if (rc != 0) {
		log_error("reaper: cannot start thread: %s", strerror(rc));
		goto fail;
	}
	log_info("reaper: started for %zu bucket(s), every %lds, max age %lds%s", ntargets,
		 interval_s, opts->max_age_s, opts->dry_run ? ", dry run" : "");
	return r;
fail:
	if (r) {
		if (have_cond)
			pthread_cond_destroy(&r->cond);
		if (have_lock)
			pthread_mutex_destroy(&r->lock);
		free_targets(r->targets, r->ntargets);
		free(r);
	}
	return NULL;
}

void reaper_update(struct reaper *r, long interval_s, long max_age_s)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->interval_s = interval_s;
	r->max_age_s = max_age_s;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void reaper_stop(struct reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->stop, 1);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free_targets(r->targets, r->ntargets);
	free(r);
}

/* ---- s3csfs reap ------------------------------------------------------- */

/* S3CSFS_REAPER_PAGE_SIZE: max-uploads per ListMultipartUploads page
 * (1..1000), for tests of pagination; unset or invalid: 1000. */
static int page_size_from_env(void)
{
	const char *s = getenv("S3CSFS_REAPER_PAGE_SIZE");
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 1000) {
		log_warn("reaper: ignoring S3CSFS_REAPER_PAGE_SIZE=%s (want 1..1000)", s);
		return 0;
	}
	return (int)v;
}

int reaper_cli(const struct reaper_target *targets, size_t ntargets, long max_age_s, int dry_run,
	       FILE *out)
{
	struct reaper_opts o = { .max_age_s = max_age_s,
				 .dry_run = dry_run,
				 .page_size = page_size_from_env(),
				 .report = out };
	struct reaper_result res;

	reaper_pass(targets, ntargets, &o, &res);
	if (out) {
		fprintf(out,
			"reap: %ld uploads listed, %ld %s, %ld younger than max age, %ld active, "
			"%ld failed\n",
			res.listed, res.aborted, dry_run ? "would abort" : "aborted", res.young,
			res.active, res.failed);
		fflush(out);
	}
	return res.failed ? 1 : 0;
}
