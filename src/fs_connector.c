/* fs_connector.c - the FUSE side of the archive tier, Object Lock and
 * direct URLs (see fs_connector.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "connector.h"
#include "fs_connector.h"
#include "log.h"

#define XATTR_PREFIX "user.s3csfs."
#define RECENT_SLOTS 64
#define READ_LOG_EVERY 60 /* seconds between two log lines of one file's refused reads */

/* What was lately learnt of an object: a HEAD answer (for the xattrs), when
 * a refused read was last logged, when a read last asked for a restore. */
struct recent {
	char id[64 + S3_KEY_MAX + 2]; /* "bucket\nkey", "" if free */
	double head_at;               /* monotonic; 0: no answer kept */
	struct s3_obj_info info;
	time_t logged_at;
	time_t restore_at;
	double used_at;
};

static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct recent recent[RECENT_SLOTS];

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The slot of t, taking the least recently used one if t has none.
 * recent_lock held. */
static struct recent *recent_slot(const struct target *t)
{
	char id[sizeof(recent[0].id)];
	struct recent *lru = &recent[0];

	snprintf(id, sizeof(id), "%s\n%s", t->bucket->name, t->key);
	for (size_t i = 0; i < RECENT_SLOTS; i++) {
		if (strcmp(recent[i].id, id) == 0) {
			recent[i].used_at = mono_now();
			return &recent[i];
		}
		if (recent[i].used_at < lru->used_at)
			lru = &recent[i];
	}
	memset(lru, 0, sizeof(*lru));
	snprintf(lru->id, sizeof(lru->id), "%s", id);
	lru->used_at = mono_now();
	return lru;
}

/* A HEAD of t, answered from one made within CONNECTOR_HEAD_TTL. */
static int head_recent(const struct target *t, struct s3_obj_info *info)
{
	struct s3_status st;
	char buf[600];
	int rc, hit;

	pthread_mutex_lock(&recent_lock);
	struct recent *r = recent_slot(t);
	hit = r->head_at && mono_now() - r->head_at < CONNECTOR_HEAD_TTL;
	if (hit)
		*info = r->info;
	pthread_mutex_unlock(&recent_lock);
	if (hit)
		return 0;
	rc = s3_head_object(t->bucket->client, t->bucket->name, t->key, info, &st);
	if (rc < 0) {
		if (rc != -ENOENT)
			log_warn("HeadObject bucket=%s key=%s failed: %s", t->bucket->name, t->key,
				 s3_status_str(&st, buf, sizeof(buf)));
		return rc;
	}
	pthread_mutex_lock(&recent_lock);
	r = recent_slot(t);
	r->info = *info;
	r->head_at = mono_now();
	pthread_mutex_unlock(&recent_lock);
	return 0;
}

static int put_value(char *out, size_t len, const char *value)
{
	int n = snprintf(out, len, "%s", value);
	return n < 0 || (size_t)n >= len ? -ERANGE : 0;
}

int connector_xattr(const struct config *cfg, const struct target *t, const char *name, char *out,
		    size_t len)
{
	const struct bucket_conf *b = t->bucket;
	struct s3_obj_info info;
	char date[CONNECTOR_DATE_LEN], text[64];
	int rc;

	if (strcmp(name, "direct_url") == 0) {
		rc = connector_direct_url(b, t->key, cfg->direct_url_expiry_s, NULL, NULL, out, len);
		if (rc < 0)
			log_warn("direct_url bucket=%s key=%s: %s", b->name, t->key, strerror(-rc));
		return rc == -ENAMETOOLONG ? -ERANGE : rc;
	}
	int lock_name = strcmp(name, "retain_until") == 0 || strcmp(name, "legal_hold") == 0;
	if (strcmp(name, "archive") != 0 && !(lock_name && b->object_lock))
		return -ENODATA;
	rc = head_recent(t, &info);
	if (rc < 0)
		return rc == -ENOENT ? -ENODATA : rc;
	if (strcmp(name, "archive") == 0) {
		connector_archive_text(&info, text, sizeof(text));
		return put_value(out, len, text);
	}
	if (strcmp(name, "legal_hold") == 0)
		return put_value(out, len, info.legal_hold ? "on" : "off");
	if (!info.retain_until)
		return put_value(out, len, "none");
	connector_date(info.retain_until, date);
	return put_value(out, len, date);
}

size_t connector_listxattr(const struct config *cfg, const char *path, char *list)
{
	static const char *const names[] = { "direct_url", "archive", "retain_until", "legal_hold" };
	struct target t;
	size_t need = 0, n = 2;

	if (map_path(cfg, path, &t) < 0)
		return 0;
	if (t.bucket->object_lock)
		n = 4;
	for (size_t i = 0; i < n; i++) {
		size_t l = sizeof(XATTR_PREFIX) - 1 + strlen(names[i]) + 1;
		if (list)
			snprintf(list + need, l, XATTR_PREFIX "%s", names[i]);
		need += l;
	}
	return need;
}

int connector_may_delete(const struct config *cfg, const struct target *t)
{
	const struct bucket_conf *b = t->bucket;
	struct s3_obj_info info;
	struct s3_status st;
	char date[CONNECTOR_DATE_LEN], buf[600];
	int rc;

	(void)cfg;
	/* Tagging instead of deleting destroys nothing: the lifecycle rule
	 * that acts on the tag is itself bound by the lock. */
	if (!b->object_lock || b->on_delete)
		return 0;
	rc = s3_head_object(b->client, b->name, t->key, &info, &st);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		log_warn("unlink bucket=%s key=%s: not deleted, its retention could not be read: %s",
			 b->name, t->key, s3_status_str(&st, buf, sizeof(buf)));
		return rc;
	}
	if (!connector_retained(&info, time(NULL)))
		return 0;
	connector_date(info.retain_until, date);
	log_warn("unlink bucket=%s key=%s refused (EPERM): %s%s%s%s", b->name, t->key,
		 info.legal_hold ? "under legal hold" : "",
		 info.legal_hold && info.retain_until > time(NULL) ? ", " : "",
		 info.retain_until > time(NULL) ? "retained until " : "",
		 info.retain_until > time(NULL) ? date : "");
	return -EPERM;
}

int connector_read_errno(const struct config *cfg, const char *path, int rc)
{
	struct target t;
	char msg[256];
	time_t now = time(NULL);
	int do_log, do_restore;

	if (rc == -ENOENT)
		return rc;
	if (rc != -ENODATA || map_path(cfg, path, &t) < 0)
		return -EIO;
	const struct bucket_conf *b = t.bucket;
	pthread_mutex_lock(&recent_lock);
	struct recent *r = recent_slot(&t);
	do_log = !r->logged_at || now - r->logged_at >= READ_LOG_EVERY;
	if (do_log)
		r->logged_at = now;
	do_restore = b->restore_on_read &&
		     (!r->restore_at || now - r->restore_at >= (time_t)b->restore_days * 86400);
	if (do_restore)
		r->restore_at = now;
	r->head_at = 0; /* the state changes: the xattrs ask again */
	pthread_mutex_unlock(&recent_lock);
	if (do_log)
		log_warn("read bucket=%s key=%s refused (ENODATA): the object is archived and not "
			 "restored%s",
			 b->name, t.key,
			 b->restore_on_read
				 ? ""
				 : "; s3csfs restore, or restore_on_read, brings it back");
	if (do_restore) {
		int r2 = connector_restore(b, t.key, b->restore_on_read, b->restore_days, msg,
					   sizeof(msg));
		if (r2 < 0)
			log_warn("restore_on_read bucket=%s key=%s: %s", b->name, t.key, msg);
		else
			log_info("restore_on_read bucket=%s key=%s: %s", b->name, t.key, msg);
	}
	return -ENODATA;
}
