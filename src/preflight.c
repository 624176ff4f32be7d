/* preflight.c - checks made before fuse_main, so that a mount that cannot
 * work fails with a non-zero exit and nothing mounted. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "preflight.h"
#include "s3_client.h"

#define PROBE_FILE_BYTES 4096
#define RETRY_PAUSE_MS 200

static const char *dir_hint(int e)
{
	switch (e) {
	case EROFS:
		return "its filesystem is read-only: remount it read-write or choose another "
		       "cache_dir";
	case EACCES:
	case EPERM:
		return "the daemon's user may not write there: fix the directory's owner or "
		       "mode, or choose another cache_dir";
	case ENOSPC:
	case EDQUOT:
		return "its filesystem is full: free space or choose another cache_dir";
	case ENOENT:
		return "its parent directory does not exist: create it or fix cache_dir";
	case ENOTDIR:
		return "a component of the path is not a directory: fix cache_dir";
	default:
		return "fix the directory or choose another cache_dir";
	}
}

/* Creates, writes, fsyncs and removes a file in dir: what the cache does. */
static int write_probe(const char *dir, const char **what)
{
	char path[4096], buf[PROBE_FILE_BYTES];
	int fd, e = 0;

	if (snprintf(path, sizeof(path), "%s/.s3csfs-preflight-%ld", dir, (long)getpid()) >=
	    (int)sizeof(path)) {
		*what = "name";
		return -ENAMETOOLONG;
	}
	*what = "create a file in";
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	memset(buf, 's', sizeof(buf));
	*what = "write to";
	ssize_t n = write(fd, buf, sizeof(buf));
	if (n != (ssize_t)sizeof(buf))
		e = n < 0 ? errno : ENOSPC;
	if (!e && fsync(fd) < 0) {
		*what = "sync a file in";
		e = errno;
	}
	if (close(fd) < 0 && !e) {
		*what = "write to";
		e = errno;
	}
	if (unlink(path) < 0 && !e) {
		*what = "remove a file from";
		e = errno;
	}
	return -e;
}

int preflight_cache_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	const char *what;
	int rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = errno;
		snprintf(err, errlen, "cache_dir %s cannot be created: %s; %s", dir, strerror(rc),
			 dir_hint(rc));
		return -rc;
	}
	if (stat(dir, &st) < 0) {
		rc = errno;
		snprintf(err, errlen, "cache_dir %s: %s; %s", dir, strerror(rc), dir_hint(rc));
		return -rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "cache_dir %s is not a directory; point cache_dir at a directory (or "
			 "move the file away)",
			 dir);
		return -ENOTDIR;
	}
	rc = write_probe(dir, &what);
	if (rc < 0) {
		snprintf(err, errlen, "cache_dir %s is not usable: cannot %s it: %s; %s", dir, what,
			 strerror(-rc), dir_hint(-rc));
		return rc;
	}
	return 0;
}

static void pause_ms(long ms)
{
	long long left = http_deadline_left_ms();

	if (left >= 0 && left < ms)
		ms = (long)left;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Worth another try while the deadline allows: the server is not up yet
 * (refused, reset, timed out) or says it is busy. */
static int not_up_yet(int rc, const struct s3_status *st)
{
	return http_error_is_transient(rc) || (rc == -EIO && st->http_status >= 500);
}

static void bucket_error(const struct bucket_conf *b, int rc, const struct s3_status *st,
			 long timeout_ms, char *err, size_t errlen)
{
	char sbuf[600];
	const char *ep = b->conn.endpoint ? b->conn.endpoint : "the endpoint";

	s3_status_str(st, sbuf, sizeof(sbuf));
	if (rc == -ENOENT)
		snprintf(err, errlen,
			 "[bucket:%s] bucket %s does not exist at %s (%s); create it, or fix "
			 "'name' (and 'endpoint')",
			 b->id, b->name, ep, sbuf);
	else if (rc == -EACCES)
		snprintf(err, errlen,
			 "[bucket:%s] %s refused the credentials for bucket %s (%s); check "
			 "access_key and secret_key (or where the credentials come from), that "
			 "they may use the bucket, and the clock",
			 b->id, ep, b->name, sbuf);
	else if (rc == -ECANCELED || (st->http_status == 0 && s3_client_past_deadline()))
		snprintf(err, errlen,
			 "[bucket:%s] no answer from %s within mount_timeout (%ld s)%s%s; check "
			 "'endpoint' and that the server is up and reachable, or raise "
			 "mount_timeout",
			 b->id, ep, timeout_ms / 1000, rc == -ECANCELED ? "" : ": ",
			 rc == -ECANCELED ? "" : sbuf);
	else if (st->http_status == 0)
		snprintf(err, errlen,
			 "[bucket:%s] cannot reach %s: %s; check 'endpoint' (and ca_bundle for "
			 "https) and that the server is up",
			 b->id, ep, sbuf);
	else if (st->http_status >= 300 && st->http_status < 500)
		snprintf(err, errlen,
			 "[bucket:%s] %s refused HeadBucket %s (%s); check 'region' and "
			 "'addressing'",
			 b->id, ep, b->name, sbuf);
	else
		snprintf(err, errlen,
			 "[bucket:%s] HeadBucket %s at %s failed (%s); is %s an S3 "
			 "server?",
			 b->id, b->name, ep, sbuf, ep);
}

/* Whether buckets[i] is the first with its client and bucket name. */
static int first_of_its_kind(const struct config *cfg, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (cfg->buckets[j].client == cfg->buckets[i].client &&
		    strcmp(cfg->buckets[j].name, cfg->buckets[i].name) == 0)
			return 0;
	return 1;
}

/* Under a deadline the caller set. */
static int check_buckets(struct config *cfg, long timeout_ms, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		struct bucket_conf *b = &cfg->buckets[i];
		struct s3_status st;
		int rc;

		if (!first_of_its_kind(cfg, i))
			continue;
		/* Each try is bounded by the deadline, so this ends with it. */
		for (;;) {
			rc = s3_head_bucket(b->client, b->name, &st);
			if (rc == 0 || !not_up_yet(rc, &st) || s3_client_past_deadline())
				break;
			pause_ms(RETRY_PAUSE_MS);
			if (s3_client_past_deadline())
				break; /* st keeps what the last try got */
		}
		if (rc < 0) {
			bucket_error(b, rc, &st, timeout_ms, err, errlen);
			return rc == -ECANCELED || not_up_yet(rc, &st) ? -ETIMEDOUT : rc;
		}
	}
	return 0;
}

int preflight_buckets(struct config *cfg, long timeout_ms, char *err, size_t errlen)
{
	s3_client_deadline(timeout_ms);
	int rc = check_buckets(cfg, timeout_ms, err, errlen);
	s3_client_deadline(-1);
	return rc;
}

int preflight_cond_write_probe(const struct bucket_conf *b, char *detail, size_t len)
{
	static const char first[] = "s3csfs conditional-write probe 1\n";
	static const char second[] = "s3csfs conditional-write probe 2\n";
	struct http_body hb1 = { .kind = HTTP_BODY_MEM, .mem = first, .len = sizeof(first) - 1 };
	struct http_body hb2 = { .kind = HTTP_BODY_MEM, .mem = second, .len = sizeof(second) - 1 };
	struct s3_put_opts o = { .storage_class = b->storage_class,
				 .sse = b->sse,
				 .sse_kms_key_id = b->sse_kms_key_id,
				 .tagging = b->tags };
	char key[S3_KEY_MAX + 1], host[64] = "", etag[S3_ETAG_MAX], sbuf[600];
	struct s3_status st;
	int rc, result;

	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, "/")] = '\0';
	snprintf(key, sizeof(key), "%s.s3csfs-probe-%s-%ld", b->key_prefix, host, (long)getpid());
	rc = s3_put_object(b->client, b->name, key, &hb1, &o, etag, sizeof(etag), &st);
	if (rc < 0) {
		snprintf(detail, len, "cannot tell: PutObject of the probe key %s failed: %s", key,
			 s3_status_str(&st, sbuf, sizeof(sbuf)));
		return COND_WRITE_UNKNOWN;
	}
	o.if_none_match = 1;
	rc = s3_put_object(b->client, b->name, key, &hb2, &o, etag, sizeof(etag), &st);
	if (rc == -EEXIST) {
		result = COND_WRITE_HONOURED;
		snprintf(detail, len,
			 "honoured: a create-only PUT (If-None-Match: *) over an "
			 "existing key got 412; O_EXCL creates are exact");
	} else if (rc == 0) {
		result = COND_WRITE_IGNORED;
		snprintf(detail, len,
			 "IGNORED: a create-only PUT (If-None-Match: *) overwrote an existing "
			 "key; O_EXCL creates are %s",
			 b->exclusive_create == EXCL_STRICT
				 ? "refused (exclusive_create = strict): the mount will not start"
				 : "best effort (exclusive_create = best_effort): a HEAD before the "
				   "PUT, which misses a create by another host between the two");
	} else {
		result = COND_WRITE_UNKNOWN;
		snprintf(detail, len, "cannot tell: the create-only PUT failed: %s",
			 s3_status_str(&st, sbuf, sizeof(sbuf)));
	}
	rc = s3_delete_object(b->client, b->name, key, &st);
	if (rc < 0) {
		size_t n = strlen(detail);
		snprintf(detail + n, len - n, " (and the probe key %s could not be removed: %s)",
			 key, s3_status_str(&st, sbuf, sizeof(sbuf)));
	}
	return result;
}

/* Under a deadline the caller set. */
static int probe_buckets(struct config *cfg, char *err, size_t errlen)
{
	char detail[1024];

	for (size_t i = 0; i < cfg->nbuckets; i++) {
		struct bucket_conf *b = &cfg->buckets[i];
		if (!first_of_its_kind(cfg, i))
			continue;
		int r = preflight_cond_write_probe(b, detail, sizeof(detail));
		int strict = 0;
		for (size_t j = i; j < cfg->nbuckets; j++)
			if (cfg->buckets[j].client == b->client &&
			    strcmp(cfg->buckets[j].name, b->name) == 0) {
				cfg->buckets[j].cond_write = r;
				strict |= cfg->buckets[j].exclusive_create == EXCL_STRICT;
			}
		if (r == COND_WRITE_HONOURED) {
			log_info("[bucket:%s] conditional writes %s", b->id, detail);
			continue;
		}
		if (strict) {
			snprintf(err, errlen,
				 "[bucket:%s] exclusive_create = strict, but the server's conditional "
				 "writes: %s; use a server that honours If-None-Match, or set "
				 "exclusive_create = best_effort",
				 b->id, detail);
			return -EOPNOTSUPP;
		}
		log_warn("[bucket:%s] conditional writes %s", b->id, detail);
	}
	return 0;
}

int preflight_mount(struct config *cfg, char *err, size_t errlen)
{
	int rc = preflight_cache_dir(cfg->cache_dir, err, errlen);

	if (rc < 0)
		return rc;
	s3_client_deadline(cfg->mount_timeout_ms);
	rc = check_buckets(cfg, cfg->mount_timeout_ms, err, errlen);
	if (rc == 0)
		rc = probe_buckets(cfg, err, errlen);
	s3_client_deadline(-1);
	return rc;
}

int preflight_create_needs_head(const struct bucket_conf *b)
{
	return b->cond_write != COND_WRITE_HONOURED;
}
