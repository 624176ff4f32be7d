/* meta_http.h - one request to a metadata endpoint (EC2 instance metadata,
 * ECS/EKS container credentials): a link-local or loopback service.
 *
 * Promises: never through an HTTP proxy, whatever the environment says
 * (CURLOPT_NOPROXY "*": a proxy would see the credentials and the
 * endpoint is local anyway); 1 s to connect and 2 s in all; no redirects;
 * http and https only; the answer is bounded by the caller's buffer and
 * NUL-terminated. Messages name the method and URL (callers pass no
 * secret in a URL), never a header value. */
#ifndef S3CSFS_META_HTTP_H
#define S3CSFS_META_HTTP_H

#include <stddef.h>

/* method "GET" or "PUT" (empty body); header one "Name: value" line or
 * NULL. buf gets the body (at most cap - 1 bytes), *len its length.
 * Returns 0 on HTTP 200, else -errno with err filled: -EACCES (401, 403),
 * -ENOENT (404), -EIO (another status), -EMSGSIZE (answer too long),
 * -ETIMEDOUT, -EHOSTUNREACH (no connection), -ENOMEM. */
int meta_http_request(const char *method, const char *url, const char *header, char *buf,
		      size_t cap, size_t *len, char *err, size_t errlen);

#endif
