/* metrics_http.h - the Prometheus endpoint: metrics_listen ([general])
 * serves stats_render_prometheus at GET /metrics (libmicrohttpd).
 *
 * Promises: off unless metrics_listen is set; the listening socket is made
 * by metrics_http_bind, before anything is mounted, so that an address that
 * cannot be used refuses the mount in words; the socket survives FUSE's
 * fork into the background, and metrics_http_start, called in the process
 * that stays (the FUSE init callback), serves it from its own thread. Only
 * GET and HEAD of /metrics answer 200 (text format 0.0.4); every other path
 * is 404, another method on /metrics 405. At most METRICS_HTTP_CONNECTIONS
 * clients at once, each dropped after METRICS_HTTP_TIMEOUT_S idle seconds;
 * nothing here sends an S3 request. */
#ifndef S3CSFS_METRICS_HTTP_H
#define S3CSFS_METRICS_HTTP_H

#include <stddef.h>

#include "conf.h"

#define METRICS_HTTP_CONNECTIONS 16
#define METRICS_HTTP_TIMEOUT_S 10

/* Binds and listens on cfg->metrics_host:metrics_port (a no-op returning 0
 * when metrics are off). -errno with err filled: EADDRINUSE (the port is
 * taken), EADDRNOTAVAIL (no interface has the address), EACCES (a port
 * below 1024 without the capability), or the error of socket(2). */
int metrics_http_bind(const struct config *cfg, char *err, size_t errlen);

/* Serves the bound socket from a thread of libmicrohttpd's. 0 (also when
 * nothing is bound); -EIO (logged) if the server cannot start. */
int metrics_http_start(void);

/* Stops serving and closes the socket; safe to call when never started. */
void metrics_http_stop(void);

#endif
