/* meta_http.c - requests to metadata endpoints, never through a proxy.
 * See meta_http.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "meta_http.h"

#define META_CONNECT_MS 1000L
#define META_TOTAL_MS 2000L

struct body {
	char *buf;
	size_t cap, len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;

	if (n > b->cap - 1 - b->len)
		return 0; /* too long: curl fails the transfer */
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int meta_http_request(const char *method, const char *url, const char *header, char *buf,
		      size_t cap, size_t *len, char *err, size_t errlen)
{
	struct body b = { buf, cap, 0 };
	struct curl_slist *hl = NULL;
	long status = 0;
	CURL *c;
	CURLcode cc;
	int rc = 0;

	pthread_once(&curl_once, curl_init_once);
	*len = 0;
	buf[0] = '\0';
	c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -ENOMEM;
	}
	if (header) {
		hl = curl_slist_append(NULL, header);
		if (!hl) {
			curl_easy_cleanup(c);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, META_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, META_TOTAL_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");    /* no proxy from the environment */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* ... nor any other way */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR) {
		snprintf(err, errlen, "%s %s: answer longer than %zu bytes", method, url, cap - 1);
		rc = -EMSGSIZE;
	} else if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
		rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
	} else if (status != 200) {
		snprintf(err, errlen, "%s %s: HTTP %ld", method, url, status);
		rc = status == 401 || status == 403 ? -EACCES : status == 404 ? -ENOENT : -EIO;
	}
	buf[b.len] = '\0';
	*len = b.len;
	if (hl)
		explicit_bzero(hl->data, strlen(hl->data)); /* may be an authorization token */
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}
