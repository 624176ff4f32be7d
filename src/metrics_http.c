/* metrics_http.c - GET /metrics over HTTP with libmicrohttpd. See
 * metrics_http.h. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics_http.h"
#include "stats.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static int listen_fd = -1;
static int listen_v6;
static struct MHD_Daemon *daemon_;
static char where[INET6_ADDRSTRLEN + 16]; /* "127.0.0.1:9464", for the log */

int metrics_http_bind(const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (!cfg->metrics_host)
		return 0;
	memset(&ss, 0, sizeof(ss));
	listen_v6 = strchr(cfg->metrics_host, ':') != NULL;
	if (listen_v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)cfg->metrics_port);
		if (inet_pton(AF_INET6, cfg->metrics_host, &a->sin6_addr) != 1)
			goto bad_address;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)cfg->metrics_port);
		if (inet_pton(AF_INET, cfg->metrics_host, &a->sin_addr) != 1)
			goto bad_address;
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "metrics_listen: cannot make a socket: %s", strerror(e));
		return -e;
	}
	/* A restart must not wait for the last scrape's TIME_WAIT; a port
	 * another process listens on is still refused. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (listen_v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, METRICS_HTTP_CONNECTIONS) < 0) {
		int e = errno;
		const char *hint = e == EADDRINUSE ? "another process listens there; choose "
						     "another port or stop it"
				   : e == EADDRNOTAVAIL
					   ? "no interface of this host has that address"
				   : e == EACCES ? "ports below 1024 need privileges; choose "
						   "a port above 1024"
						 : "check the address";
		snprintf(err, errlen, "metrics_listen = %s%s%s:%d: cannot listen: %s; %s",
			 listen_v6 ? "[" : "", cfg->metrics_host, listen_v6 ? "]" : "",
			 cfg->metrics_port, strerror(e), hint);
		close(fd);
		return -e;
	}
	listen_fd = fd;
	snprintf(where, sizeof(where), "%s%s%s:%d", listen_v6 ? "[" : "", cfg->metrics_host,
		 listen_v6 ? "]" : "", cfg->metrics_port);
	return 0;
bad_address:
	/* config_load checked it: only a caller that filled cfg by hand gets here. */
	snprintf(err, errlen, "metrics_listen: '%s' is not a numeric address", cfg->metrics_host);
	return -EINVAL;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int code, struct MHD_Response *r)
{
	enum MHD_Result rc;

	if (!r)
		return MHD_NO; /* out of memory: MHD drops the connection */
	rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

static struct MHD_Response *text(const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_PERSISTENT);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *r;

	if (strcmp(url, "/metrics") != 0)
		return answer(conn, MHD_HTTP_NOT_FOUND,
			      text("not found: the metrics are at /metrics\n"));
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		r = text("method not allowed: GET /metrics\n");
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	}
	char *buf = malloc(STATS_PROMETHEUS_MAX);
	if (!buf)
		return MHD_NO;
	size_t n = stats_render_prometheus(buf, STATS_PROMETHEUS_MAX);
	r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	return answer(conn, MHD_HTTP_OK, r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_warn("metrics endpoint: %s", line);
}

int metrics_http_start(void)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	if (listen_fd < 0 || daemon_)
		return 0;
	if (listen_v6)
		flags |= MHD_USE_IPv6;
	daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET,
				   (MHD_socket)listen_fd, MHD_OPTION_CONNECTION_LIMIT,
				   (unsigned int)METRICS_HTTP_CONNECTIONS,
				   MHD_OPTION_CONNECTION_TIMEOUT,
				   (unsigned int)METRICS_HTTP_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER,
				   mhd_log, NULL, MHD_OPTION_END);
	if (!daemon_) {
		log_error("metrics endpoint: cannot start the HTTP server; no metrics over HTTP");
		return -EIO;
	}
	log_info("metrics endpoint: serving http://%s/metrics", where);
	return 0;
}

void metrics_http_stop(void)
{
	if (daemon_) {
		MHD_stop_daemon(daemon_); /* closes the listening socket too */
		daemon_ = NULL;
		listen_fd = -1;
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
}
