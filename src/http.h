/* http.h - one HTTP request at a time per caller, on a pool of libcurl
 * handles that keep their connections alive.
 *
 * Promises: thread-safe (any number of threads may call http_perform at
 * once; each borrows its own handle); a request body is read from memory or
 * from a file descriptor with pread, so the same request can be replayed
 * for a retry; a response body goes to memory (bounded) or to a file
 * descriptor at an offset (bounded by the expected length); no retries here
 * (the S3 layer decides what is worth retrying). */
#ifndef S3CSFS_HTTP_H
#define S3CSFS_HTTP_H

#include <stddef.h>
#include <sys/types.h>

struct curl_slist;
struct http_pool;

struct http_pool_opts {
	long connect_timeout_ms; /* 0: 5000 */
	long low_speed_time_s;   /* abort a transfer slower than 1 byte/s for this long; 0: 30 */
	long timeout_ms;         /* whole-request limit; 0: none */
	const char *ca_bundle;   /* NULL: the system's */
	int insecure;            /* 1: do not verify TLS peers (logged by the caller) */
	/* NULL: libcurl's environment (https_proxy/HTTPS_PROXY, http_proxy,
	 * also HTTP_PROXY as the AWS SDKs read it, NO_PROXY); "none": no
	 * proxy whatever the environment says; else the proxy for every
	 * request, NO_PROXY notwithstanding. */
	const char *proxy;
};

struct http_pool *http_pool_new(const struct http_pool_opts *opts);
void http_pool_free(struct http_pool *pool);

enum http_body_kind { HTTP_BODY_NONE = 0, HTTP_BODY_MEM, HTTP_BODY_FD };

struct http_body {
	enum http_body_kind kind;
	const void *mem; /* HTTP_BODY_MEM */
	int fd;          /* HTTP_BODY_FD: read with pread from off */
	off_t off;
	size_t len; /* bytes to send */
};

enum http_sink_kind { HTTP_SINK_MEM = 0, HTTP_SINK_FD, HTTP_SINK_DISCARD };

struct http_sink {
	enum http_sink_kind kind;
	/* HTTP_SINK_MEM: into buf if the caller gives one (capacity cap),
	 * else into a malloc'd buffer that grows up to cap (0: 16 MiB); the
	 * caller frees buf when it did not provide it (owned == 1). A body
	 * longer than cap fails the request with -EMSGSIZE. buf is always
	 * NUL-terminated when owned (cap + 1 allocated). */
	char *buf;
	size_t cap;
	int owned;
	/* HTTP_SINK_FD: pwrite at off; at most cap bytes (0: unlimited). */
	int fd;
	off_t off;
	/* out: bytes received. */
	size_t len;
};

struct http_response {
	long status;              /* 0 if no HTTP response arrived */
	long long content_length; /* -1 if absent */
	char etag[128];           /* quotes stripped */
	char last_modified[64];
	char request_id[128]; /* x-amz-request-id */
	char content_range[96];
	char storage_class[32];
	char sse[32];           /* x-amz-server-side-encryption */
	char meta[2048];        /* "name=value\n" for each x-amz-meta-*, cut if long */
	char sse_c[32];         /* x-amz-server-side-encryption-customer-algorithm (SSE-C) */
	char checksums[256];    /* "alg=base64\n" for each x-amz-checksum-ALG, lower-case alg */
	char checksum_type[24]; /* x-amz-checksum-type: FULL_OBJECT or COMPOSITE */
	char restore[256];      /* x-amz-restore (archived objects) */
	char content_type[128];
	char lock_mode[16];   /* x-amz-object-lock-mode */
	char lock_until[48];  /* x-amz-object-lock-retain-until-date */
	char legal_hold[8];   /* x-amz-object-lock-legal-hold: ON / OFF */
	char version_id[128]; /* x-amz-version-id */
	long new_connections; /* TCP connections opened for this request */
	char error[256];      /* transport error text, "" if none */
	/* The body of a non-2xx answer goes here, never to the sink (an S3
	 * error document is small; a longer one is cut). */
	char error_body[8192];
	size_t error_body_len;
};

/* Sends one request. Returns 0 when an HTTP response arrived (any status:
 * look at resp->status), or a negative errno for a transport failure:
 * -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EHOSTUNREACH, -EPROTO (malformed
 * reply), -ECANCELED (past http_set_deadline), -EMSGSIZE (body over the sink's cap), -EIO (reading the body
 * source or writing the sink failed), -ENOMEM. resp->error says more.
 * method is "GET", "HEAD", "PUT", "POST" or "DELETE". */
int http_perform(struct http_pool *pool, const char *method, const char *url,
		 const struct curl_slist *headers, const struct http_body *body,
		 struct http_sink *sink, struct http_response *resp);

/* Ends every transfer of the process ms from now (ms < 0: no end, the
 * default): a transfer still running then is aborted within about a
 * second, and http_perform fails at once from then on; both give
 * -ECANCELED (not transient). For a bounded mount and unmount. */
void http_set_deadline(long long ms);
/* ms left until that end: -1 if none is set, 0 once it has come. */
long long http_deadline_left_ms(void);

/* Whether a transport errno from http_perform is worth a retry. */
int http_error_is_transient(int err);

#endif
