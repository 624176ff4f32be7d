/* http.c - a pool of libcurl easy handles that keep their connections. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"

#define SINK_DEFAULT_CAP (16u << 20)
#define POOL_KEEP_MAX 64 /* idle handles kept; more are freed on return */

struct handle {
	CURL *curl;
	struct handle *next;
};

struct http_pool {
	struct http_pool_opts opts;
	char *ca_bundle;
	char *proxy;          /* opts.proxy, owned */
	char *env_http_proxy; /* HTTP_PROXY when libcurl's http_proxy is unset */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock;
	struct handle *idle;
	int nidle;
};

/* The end of every transfer of the process (CLOCK_MONOTONIC ms; 0: none). */
static long long deadline_ms;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void http_set_deadline(long long ms)
{
	__atomic_store_n(&deadline_ms, ms < 0 ? 0 : mono_ms() + ms, __ATOMIC_RELAXED);
}

long long http_deadline_left_ms(void)
{
	long long d = __atomic_load_n(&deadline_ms, __ATOMIC_RELAXED), left;

	if (!d)
		return -1;
	left = d - mono_ms();
	return left > 0 ? left : 0;
}

/* libcurl calls this about once a second even while nothing moves, so a
 * stalled transfer ends within a second of the deadline. */
static int xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)userp;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return http_deadline_left_ms() == 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_global_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
	struct http_pool *pool = userp;
	(void)h;
	(void)access;
	pthread_mutex_lock(&pool->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct http_pool *pool = userp;
	(void)h;
	pthread_mutex_unlock(&pool->share_locks[data]);
}

/* libcurl takes http_proxy only in lower case for http:// URLs (the
 * upper-case name is settable by CGI clients); the AWS SDKs also read
 * HTTP_PROXY, and a daemon is no CGI program, so it is honoured here. */
static int http_pool_proxy_init(struct http_pool *pool)
{
	const char *lower = getenv("http_proxy"), *upper = getenv("HTTP_PROXY");

	if (pool->opts.proxy) {
		pool->proxy = strdup(pool->opts.proxy);
		if (!pool->proxy)
			return -1;
	} else if ((!lower || !*lower) && upper && *upper) {
		pool->env_http_proxy = strdup(upper);
		if (!pool->env_http_proxy)
			return -1;
	}
	pool->opts.proxy = pool->proxy;
	return 0;
}

struct http_pool *http_pool_new(const struct http_pool_opts *opts)
{
	struct http_pool *pool;

	pthread_once(&curl_once, curl_global_once);
	if (curl_init_rc != CURLE_OK)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	if (opts)
		pool->opts = *opts;
	if (pool->opts.connect_timeout_ms <= 0)
		pool->opts.connect_timeout_ms = 5000;
	if (pool->opts.low_speed_time_s <= 0)
		pool->opts.low_speed_time_s = 30;
	if (opts && opts->ca_bundle) {
		pool->ca_bundle = strdup(opts->ca_bundle);
		if (!pool->ca_bundle) {
			free(pool);
			return NULL;
		}
	}
	pool->opts.ca_bundle = pool->ca_bundle;
	if (http_pool_proxy_init(pool) < 0) {
		free(pool->ca_bundle);
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&pool->share_locks[i], NULL);
	/* DNS answers and TLS sessions are shared; connections stay with the
	 * handle that made them, and handles are reused last-in first-out, so
	 * a busy pool keeps its warm connections busy. */
	pool->share = curl_share_init();
	if (pool->share) {
		curl_share_setopt(pool->share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(pool->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(pool->share, CURLSHOPT_USERDATA, pool);
		curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
	return pool;
}

void http_pool_free(struct http_pool *pool)
{
	if (!pool)
		return;
	while (pool->idle) {
		struct handle *h = pool->idle;
		pool->idle = h->next;
		curl_easy_cleanup(h->curl);
		free(h);
	}
	if (pool->share)
		curl_share_cleanup(pool->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&pool->share_locks[i]);
	pthread_mutex_destroy(&pool->lock);
	free(pool->ca_bundle);
	free(pool->proxy);
	free(pool->env_http_proxy);
	free(pool);
}

static struct handle *handle_get(struct http_pool *pool)
{
	struct handle *h;

	pthread_mutex_lock(&pool->lock);
	h = pool->idle;
	if (h) {
		pool->idle = h->next;
		pool->nidle--;
	}
	pthread_mutex_unlock(&pool->lock);
	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	return h;
}

static void handle_put(struct http_pool *pool, struct handle *h, int keep)
{
	pthread_mutex_lock(&pool->lock);
	if (keep && pool->nidle < POOL_KEEP_MAX) {
		h->next = pool->idle;
		pool->idle = h;
		pool->nidle++;
		h = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	if (h) {
		curl_easy_cleanup(h->curl);
		free(h);
	}
}

struct transfer {
	const struct http_body *body;
	size_t sent;
	struct http_sink *sink;
	struct http_response *resp;
	int local_error; /* errno from a callback, 0 if none */
	long status;     /* of the last status line seen */
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t want = size * nmemb, left;

	if (!t->body || t->body->kind == HTTP_BODY_NONE)
		return 0;
	left = t->body->len - t->sent;
	if (want > left)
		want = left;
	if (want == 0)
		return 0;
	if (t->body->kind == HTTP_BODY_MEM) {
		memcpy(dst, (const char *)t->body->mem + t->sent, want);
	} else {
		ssize_t n;
		do
			n = pread(t->body->fd, dst, want, t->body->off + (off_t)t->sent);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			/* The file shrank or failed under us: never send short. */
			t->local_error = n < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)n;
	}
	t->sent += want;
	return want;
}

/* Rewinds the body for curl's own resends (redirects, auth, reused
 * connections that turned out closed). */
static int seek_cb(void *userp, curl_off_t offset, int origin)
{
	struct transfer *t = userp;

	if (origin != SEEK_SET || offset < 0 || !t->body || (size_t)offset > t->body->len)
		return CURL_SEEKFUNC_CANTSEEK;
	t->sent = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *src, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	struct http_sink *s = t->sink;
	size_t n = size * nmemb;

	if (t->status >= 300 || t->status < 200) {
		struct http_response *r = t->resp;
		size_t room = sizeof(r->error_body) - 1 - r->error_body_len;
		size_t take = n < room ? n : room;
		memcpy(r->error_body + r->error_body_len, src, take);
		r->error_body_len += take;
		r->error_body[r->error_body_len] = '\0';
		return n;
	}
	if (!s)
		return n;
	if (s->kind == HTTP_SINK_DISCARD) {
		s->len += n;
		return n;
	}
	if (s->kind == HTTP_SINK_FD) {
		size_t done = 0;
		if (s->cap && s->len + n > s->cap) {
			t->local_error = EMSGSIZE;
			return 0;
		}
		while (done < n) {
			ssize_t w = pwrite(s->fd, src + done, n - done,
					   s->off + (off_t)(s->len + done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				t->local_error = w < 0 ? errno : EIO;
				return 0;
			}
			done += (size_t)w;
		}
		s->len += n;
		return n;
	}
	/* HTTP_SINK_MEM */
	if (!s->owned && s->buf) {
		if (s->len + n > s->cap) {
			t->local_error = EMSGSIZE;
			return 0;
		}
	} else {
		size_t cap = s->cap ? s->cap : SINK_DEFAULT_CAP;
		size_t need = s->len + n;
		if (need > cap) {
			t->local_error = EMSGSIZE;
			return 0;
		}
		/* alloc tracks the allocated size in the owned case. */
		size_t alloc = s->buf ? (size_t)s->off : 0;
		if (need + 1 > alloc) {
			size_t nalloc = alloc ? alloc : 4096;
			while (nalloc < need + 1)
				nalloc *= 2;
			if (nalloc > cap + 1)
				nalloc = cap + 1;
			char *nb = realloc(s->buf, nalloc);
			if (!nb) {
				t->local_error = ENOMEM;
				return 0;
			}
			s->buf = nb;
			s->off = (off_t)nalloc;
			s->owned = 1;
		}
	}
	memcpy(s->buf + s->len, src, n);
	s->len += n;
	if (s->owned)
		s->buf[s->len] = '\0';
	return n;
}

static void copy_value(char *dst, size_t dstlen, const char *v, size_t vlen, int strip_quotes)
{
	while (vlen && isspace((unsigned char)*v)) {
		v++;
		vlen--;
	}
	while (vlen && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (strip_quotes && vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
		v++;
		vlen -= 2;
	}
	if (vlen >= dstlen)
		vlen = dstlen - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static int header_is(const char *line, size_t len, const char *name, const char **value,
		     size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return 0;
	*value = line + n + 1;
	*vlen = len - n - 1;
	return 1;
}

/* x-amz-checksum-ALG: VALUE, kept as "alg=VALUE\n" (a known length only). */
static void header_checksum(struct http_response *r, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	char name[16], val[64];
	size_t used = strlen(r->checksums);

	if (!colon || (size_t)(colon - line) - 15 >= sizeof(name))
		return;
	copy_value(name, sizeof(name), line + 15, (size_t)(colon - line) - 15, 0);
	copy_value(val, sizeof(val), colon + 1, len - (size_t)(colon + 1 - line), 0);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(name, "mode") == 0 || strcmp(name, "algorithm") == 0)
		return;
	if (used + strlen(name) + strlen(val) + 2 < sizeof(r->checksums))
		snprintf(r->checksums + used, sizeof(r->checksums) - used, "%s=%s\n", name, val);
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	struct http_response *r = t->resp;
	size_t len = size * nmemb;
	const char *v;
	size_t vlen;

	/* A new status line (after 100 Continue, or a redirect) resets what
	 * the previous one said. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = memchr(line, ' ', len);
		t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->error_body_len = 0;
		r->error_body[0] = '\0';
		r->etag[0] = r->last_modified[0] = r->request_id[0] = '\0';
		r->content_range[0] = r->storage_class[0] = r->sse[0] = r->meta[0] = '\0';
		r->content_type[0] = r->restore[0] = r->lock_mode[0] = r->lock_until[0] =
			r->legal_hold[0] = '\0';
		r->version_id[0] = '\0';
		r->content_length = -1;
		r->sse_c[0] = r->checksums[0] = r->checksum_type[0] = '\0';
		return len;
	}
	if (header_is(line, len, "etag", &v, &vlen))
		copy_value(r->etag, sizeof(r->etag), v, vlen, 1);
	else if (header_is(line, len, "last-modified", &v, &vlen))
		copy_value(r->last_modified, sizeof(r->last_modified), v, vlen, 0);
	else if (header_is(line, len, "x-amz-request-id", &v, &vlen))
		copy_value(r->request_id, sizeof(r->request_id), v, vlen, 0);
	else if (header_is(line, len, "content-range", &v, &vlen))
		copy_value(r->content_range, sizeof(r->content_range), v, vlen, 0);
	else if (header_is(line, len, "x-amz-storage-class", &v, &vlen))
		copy_value(r->storage_class, sizeof(r->storage_class), v, vlen, 0);
	else if (header_is(line, len, "x-amz-server-side-encryption", &v, &vlen))
		copy_value(r->sse, sizeof(r->sse), v, vlen, 0);
	else if (header_is(line, len, "x-amz-server-side-encryption-customer-algorithm", &v, &vlen))
		copy_value(r->sse_c, sizeof(r->sse_c), v, vlen, 0);
	else if (header_is(line, len, "x-amz-checksum-type", &v, &vlen))
		copy_value(r->checksum_type, sizeof(r->checksum_type), v, vlen, 0);
	else if (len > 15 && strncasecmp(line, "x-amz-checksum-", 15) == 0)
		header_checksum(r, line, len);
	else if (header_is(line, len, "content-type", &v, &vlen))
		copy_value(r->content_type, sizeof(r->content_type), v, vlen, 0);
	else if (header_is(line, len, "x-amz-restore", &v, &vlen))
		copy_value(r->restore, sizeof(r->restore), v, vlen, 0);
	else if (header_is(line, len, "x-amz-object-lock-mode", &v, &vlen))
		copy_value(r->lock_mode, sizeof(r->lock_mode), v, vlen, 0);
	else if (header_is(line, len, "x-amz-object-lock-retain-until-date", &v, &vlen))
		copy_value(r->lock_until, sizeof(r->lock_until), v, vlen, 0);
	else if (header_is(line, len, "x-amz-object-lock-legal-hold", &v, &vlen))
		copy_value(r->legal_hold, sizeof(r->legal_hold), v, vlen, 0);
	else if (header_is(line, len, "x-amz-version-id", &v, &vlen))
		copy_value(r->version_id, sizeof(r->version_id), v, vlen, 0);
	else if (header_is(line, len, "content-length", &v, &vlen)) {
		char num[32];
		copy_value(num, sizeof(num), v, vlen, 0);
		char *end;
		long long cl = strtoll(num, &end, 10);
		r->content_length = (end != num && *end == '\0' && cl >= 0) ? cl : -1;
	} else if (len > 11 && strncasecmp(line, "x-amz-meta-", 11) == 0) {
		const char *colon = memchr(line, ':', len);
		size_t used = strlen(r->meta);
		if (colon) {
			char name[128], val[1024];
			copy_value(name, sizeof(name), line + 11, (size_t)(colon - line) - 11, 0);
			copy_value(val, sizeof(val), colon + 1, len - (size_t)(colon + 1 - line), 0);
			for (char *p = name; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			size_t need = strlen(name) + strlen(val) + 2;
			if (used + need < sizeof(r->meta))
				snprintf(r->meta + used, sizeof(r->meta) - used, "%s=%s\n", name,
					 val);
		}
	}
	return len;
}

static int map_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EACCES;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
		return -EPROTO;
	default:
		return -EIO;
	}
}

int http_error_is_transient(int err)
{
	switch (err < 0 ? -err : err) {
	case ETIMEDOUT:
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
	case EPROTO:
		return 1;
	default:
		return 0;
	}
}

int http_perform(struct http_pool *pool, const char *method, const char *url,
		 const struct curl_slist *headers, const struct http_body *body,
		 struct http_sink *sink, struct http_response *resp)
{
	struct transfer t = { .body = body, .sink = sink, .resp = resp };
	char errbuf[CURL_ERROR_SIZE];
	struct handle *h;
	CURL *c;
	CURLcode rc;
	int has_body = body && body->kind != HTTP_BODY_NONE;
	long long left = http_deadline_left_ms();

	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	if (left == 0) {
		snprintf(resp->error, sizeof(resp->error), "shutting down: no more requests");
		return -ECANCELED;
	}
	if (sink) {
		sink->len = 0;
		if (sink->kind == HTTP_SINK_MEM && sink->owned) {
			free(sink->buf);
			sink->buf = NULL;
			sink->owned = 0;
			sink->off = 0;
		}
	}
	h = handle_get(pool);
	if (!h) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		return -ENOMEM;
	}
	c = h->curl;
	curl_easy_reset(c);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* S3 keys are names, not paths: "a/../b" must reach the server as is. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, pool->opts.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, pool->opts.low_speed_time_s);
	if (pool->opts.timeout_ms > 0 && (left < 0 || left > pool->opts.timeout_ms))
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, pool->opts.timeout_ms);
	else if (left > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	/* Large buffers: fewer syscalls and callbacks on big objects. */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	if (pool->share)
		curl_easy_setopt(c, CURLOPT_SHARE, pool->share);
	if (pool->opts.ca_bundle)
		curl_easy_setopt(c, CURLOPT_CAINFO, pool->opts.ca_bundle);
	if (pool->opts.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (pool->proxy && strcmp(pool->proxy, "none") == 0) {
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	} else if (pool->proxy) {
		curl_easy_setopt(c, CURLOPT_PROXY, pool->proxy);
		curl_easy_setopt(c, CURLOPT_NOPROXY, ""); /* configured: for every host */
	} else if (pool->env_http_proxy && strncasecmp(url, "http:", 5) == 0) {
		curl_easy_setopt(c, CURLOPT_PROXY, pool->env_http_proxy); /* NO_PROXY still applies */
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &t);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(has_body ? body->len : 0));
		if (method[1] == 'O')
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &resp->new_connections);
	/* Drop the handle (and its connection) after a failure: its socket
	 * may be in any state. */
	handle_put(pool, h, rc == CURLE_OK);

	if (rc == CURLE_OK)
		return 0;
	if (t.local_error) {
		snprintf(resp->error, sizeof(resp->error), "%s", strerror(t.local_error));
		resp->status = 0;
		/* A full cache disk is the caller's to handle (read uncached). */
		switch (t.local_error) {
		case EMSGSIZE:
		case ENOMEM:
		case ENOSPC:
		case EDQUOT:
			return -t.local_error;
		default:
			return -EIO;
		}
	}
	snprintf(resp->error, sizeof(resp->error), "%s",
		 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	resp->status = 0;
	return map_curl_error(rc);
}
