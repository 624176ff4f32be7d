/* stats.c - counters and their two text renderings. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynbuf.h"
#include "stats.h"

struct stats g_stats;
struct stats_cost g_cost = { .price_put = 0.005, .price_get = 0.0004 };

static const char *const op_names[S3OP_COUNT] = {
	[S3OP_PUT_OBJECT] = "PutObject",
	[S3OP_GET_OBJECT] = "GetObject",
	[S3OP_HEAD_OBJECT] = "HeadObject",
	[S3OP_DELETE_OBJECT] = "DeleteObject",
	[S3OP_LIST_OBJECTS] = "ListObjectsV2",
	[S3OP_COPY_OBJECT] = "CopyObject",
	[S3OP_CREATE_MPU] = "CreateMultipartUpload",
	[S3OP_UPLOAD_PART] = "UploadPart",
	[S3OP_COMPLETE_MPU] = "CompleteMultipartUpload",
	[S3OP_ABORT_MPU] = "AbortMultipartUpload",
	[S3OP_LIST_MPU] = "ListMultipartUploads",
	[S3OP_HEAD_BUCKET] = "HeadBucket",
	[S3OP_OTHER] = "Other",
};

const char *s3_op_name(enum s3_op op)
{
	return (op >= 0 && op < S3OP_COUNT) ? op_names[op] : "Other";
}

const double stats_latency_bounds[STATS_LATENCY_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
};

uint64_t stats_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void stats_request_done(enum s3_op op, uint64_t started_us)
{
	uint64_t now = stats_now_us(), us = now > started_us ? now - started_us : 0;
	int b = 0;

	if (op < 0 || op >= S3OP_COUNT)
		op = S3OP_OTHER;
	/* Bucket b holds what is above bound b-1 and at most bound b. */
	while (b < STATS_LATENCY_BUCKETS && (double)us > stats_latency_bounds[b] * 1e6)
		b++;
	STAT_ADD(latency_le[op][b], 1);
	STAT_ADD(latency_sum_us[op], us);
}

void stats_set_credentials_expiry(long long expires)
{
	atomic_store_explicit(&g_stats.creds_expiry, expires > 0 ? expires : 0,
			      memory_order_relaxed);
}

void stats_upload_started(void)
{
	int_fast64_t now = STAT_ADD(uploads_inflight, 1) + 1;
	int_fast64_t max = STAT_GET(uploads_inflight_max);

	while (now > max &&
	       !atomic_compare_exchange_weak_explicit(&g_stats.uploads_inflight_max, &max, now,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

static void out(struct dynbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends a line to the caller's buffer. One that does not fit is cut to
 * what room is left, as these renderings always truncated (snprintf's
 * way): the output stays a prefix of the whole, and what follows finds
 * the buffer full. */
static void out(struct dynbuf *o, const char *fmt, ...)
{
	struct dynbuf line;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = dynbuf_vaddf(o, fmt, ap);
	va_end(ap);
	if (rc != -E2BIG || dynbuf_room(o) == 0)
		return;
	dynbuf_init(&line, SIZE_MAX);
	va_start(ap, fmt);
	rc = dynbuf_vaddf(&line, fmt, ap);
	va_end(ap);
	if (rc == 0)
		dynbuf_add(o, dynbuf_ptr(&line), dynbuf_room(o)); /* the room: fits */
	dynbuf_free(&line);
}

#define U64(field) ((uint64_t)STAT_GET(field))
#define I64(field) ((int64_t)STAT_GET(field))

static void render_cost_text(struct dynbuf *o);
static void render_cost_prometheus(struct dynbuf *o);

size_t stats_render_text(char *buf, size_t len)
{
	struct dynbuf o;
	uint64_t total = 0, errs = 0;

	dynbuf_init_fixed(&o, buf, len);
	for (int i = 0; i < S3OP_COUNT; i++) {
		total += U64(requests[i]);
		errs += U64(errors[i]);
	}
	out(&o, "requests_total %" PRIu64 "\n", total);
	for (int i = 0; i < S3OP_COUNT; i++)
		out(&o, "requests.%s %" PRIu64 "\n", op_names[i], U64(requests[i]));
	out(&o, "errors_total %" PRIu64 "\n", errs);
	for (int i = 0; i < S3OP_COUNT; i++)
		if (U64(errors[i]))
			out(&o, "errors.%s %" PRIu64 "\n", op_names[i], U64(errors[i]));
	out(&o, "retries %" PRIu64 "\n", U64(retries));
	out(&o, "connections %" PRIu64 "\n", U64(connections));
	out(&o, "bytes_up %" PRIu64 "\n", U64(bytes_up));
	out(&o, "bytes_down %" PRIu64 "\n", U64(bytes_down));
	out(&o, "cache_hits %" PRIu64 "\n", U64(cache_hits));
	out(&o, "cache_misses %" PRIu64 "\n", U64(cache_misses));
	out(&o, "cache_evictions %" PRIu64 "\n", U64(cache_evictions));
	out(&o, "lookups_local %" PRIu64 "\n", U64(lookups_local));
	out(&o, "nodes_evicted %" PRIu64 "\n", U64(nodes_evicted));
	out(&o, "listings_cached %" PRIu64 "\n", U64(listings_cached));
	out(&o, "kernel_trims %" PRIu64 "\n", U64(kernel_trims));
	out(&o, "cache_bytes %" PRId64 "\n", I64(cache_bytes));
	out(&o, "uploads_pending %" PRId64 "\n", I64(uploads_pending));
	out(&o, "uploads_inflight %" PRId64 "\n", I64(uploads_inflight));
	out(&o, "uploads_inflight_max %" PRId64 "\n", I64(uploads_inflight_max));
	out(&o, "uploads_done %" PRIu64 "\n", U64(uploads_done));
	out(&o, "uploads_failed %" PRIu64 "\n", U64(uploads_failed));
	out(&o, "uploads_throttled %" PRIu64 "\n", U64(uploads_throttled));
	out(&o, "reaper_runs %" PRIu64 "\n", U64(reaper_runs));
	out(&o, "reaper_aborts %" PRIu64 "\n", U64(reaper_aborts));
	render_cost_text(&o);
	out(&o, "journal_records %" PRId64 "\n", I64(journal_records));
	out(&o, "credentials_expiry %" PRId64 "\n", I64(creds_expiry));
	return dynbuf_len(&o);
}

/* The latency histogram: cumulative buckets from a snapshot of the
 * per-bucket counts, so that each op's _count is its +Inf bucket. */
static void render_latency(struct dynbuf *o)
{
	static const char name[] = "s3csfs_request_duration_seconds";

	out(o,
	    "# HELP %s Time from sending an S3 request to its answer (each attempt), "
	    "by operation.\n# TYPE %s histogram\n",
	    name, name);
	for (int i = 0; i < S3OP_COUNT; i++) {
		uint64_t cum = 0;
		for (int b = 0; b <= STATS_LATENCY_BUCKETS; b++) {
			cum += U64(latency_le[i][b]);
			if (b < STATS_LATENCY_BUCKETS)
				out(o, "%s_bucket{op=\"%s\",le=\"%g\"} %" PRIu64 "\n", name,
				    op_names[i], stats_latency_bounds[b], cum);
			else
				out(o, "%s_bucket{op=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name,
				    op_names[i], cum);
		}
		uint64_t us = U64(latency_sum_us[i]);
		out(o, "%s_sum{op=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", name, op_names[i],
		    us / 1000000u, us % 1000000u);
		out(o, "%s_count{op=\"%s\"} %" PRIu64 "\n", name, op_names[i], cum);
	}
}

size_t stats_render_prometheus(char *buf, size_t len)
{
	struct dynbuf o;

	dynbuf_init_fixed(&o, buf, len);
	out(&o, "# HELP s3csfs_requests_total S3 requests sent, by operation.\n"
		"# TYPE s3csfs_requests_total counter\n");
	for (int i = 0; i < S3OP_COUNT; i++)
		out(&o, "s3csfs_requests_total{op=\"%s\"} %" PRIu64 "\n", op_names[i],
		    U64(requests[i]));
	out(&o, "# HELP s3csfs_errors_total S3 requests that failed for good, by operation.\n"
		"# TYPE s3csfs_errors_total counter\n");
	for (int i = 0; i < S3OP_COUNT; i++)
		out(&o, "s3csfs_errors_total{op=\"%s\"} %" PRIu64 "\n", op_names[i], U64(errors[i]));
#define COUNTER(name, help, val)                                                \
	out(&o,                                                                 \
	    "# HELP s3csfs_" name " " help "\n# TYPE s3csfs_" name " counter\n" \
	    "s3csfs_" name " %" PRIu64 "\n",                                    \
	    (uint64_t)(val))
#define GAUGE(name, help, val)                                                \
	out(&o,                                                               \
	    "# HELP s3csfs_" name " " help "\n# TYPE s3csfs_" name " gauge\n" \
	    "s3csfs_" name " %" PRId64 "\n",                                  \
	    (int64_t)(val))
	COUNTER("retries_total", "S3 requests retried.", U64(retries));
	COUNTER("connections_total", "TCP connections opened to S3.", U64(connections));
	COUNTER("bytes_up_total", "Bytes sent to S3.", U64(bytes_up));
	COUNTER("bytes_down_total", "Bytes received from S3.", U64(bytes_down));
	COUNTER("cache_hits_total", "Reads served from the local cache.", U64(cache_hits));
	COUNTER("cache_misses_total", "Reads that fetched from S3.", U64(cache_misses));
	COUNTER("cache_evictions_total", "Cache files evicted.", U64(cache_evictions));
	COUNTER("lookups_local_total", "Lookups of new names answered without S3.",
		U64(lookups_local));
	COUNTER("nodes_evicted_total", "Names forgotten to keep the node table at max_nodes.",
		U64(nodes_evicted));
	COUNTER("listings_cached_total", "Directory listings answered from memory.",
		U64(listings_cached));
	COUNTER("kernel_trims_total", "Rounds of unused kernel names dropped (max_nodes).",
		U64(kernel_trims));
	GAUGE("cache_bytes", "Bytes held in the local cache.", I64(cache_bytes));
	GAUGE("uploads_pending", "Files closed but not yet durable in S3.", I64(uploads_pending));
	GAUGE("uploads_inflight", "Uploads being sent now.", I64(uploads_inflight));
	GAUGE("uploads_inflight_max", "The most uploads ever sent at once.",
	      I64(uploads_inflight_max));
	COUNTER("uploads_done_total", "Files made durable in S3.", U64(uploads_done));
	COUNTER("uploads_failed_total", "Uploads that failed for good.", U64(uploads_failed));
	COUNTER("uploads_throttled_total",
		"Async closes that waited for max_queued_uploads to leave room.",
		U64(uploads_throttled));
	COUNTER("reaper_runs_total", "Reaper passes.", U64(reaper_runs));
	COUNTER("reaper_aborts_total", "Stale multipart uploads aborted.", U64(reaper_aborts));
	GAUGE("journal_records",
	      "Files closed with upload = async whose journal record "
	      "waits for their upload.",
	      I64(journal_records));
	GAUGE("credentials_expiry_timestamp_seconds",
	      "Unix time the S3 credentials last "
	      "used expire; 0: they do not expire.",
	      I64(creds_expiry));
#undef COUNTER
#undef GAUGE
	render_latency(&o);
	render_cost_prometheus(&o);
	return dynbuf_len(&o);
}

/* ---- cost (issue 17) ---- */

static pthread_mutex_t cost_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int cost_nbuckets, cost_nclasses;

enum stats_class stats_op_class(int op)
{
	switch (op) {
	case S3OP_PUT_OBJECT:
	case S3OP_COPY_OBJECT:
	case S3OP_CREATE_MPU:
	case S3OP_UPLOAD_PART:
	case S3OP_COMPLETE_MPU:
	case S3OP_LIST_OBJECTS:
	case S3OP_LIST_MPU:
		return STATS_CLASS_PUT;
	case S3OP_DELETE_OBJECT:
	case S3OP_ABORT_MPU:
		return STATS_CLASS_FREE;
	default:
		return STATS_CLASS_GET;
	}
}

static const char *const class_names[STATS_CLASS_COUNT] = { "put", "get", "free" };

/* The slot named name in a table of n used slots (adding it if there is
 * room; the last slot takes the rest as "other"). */
static int slot(char *names, size_t namelen, atomic_int *used, int max, const char *name)
{
	int n = atomic_load_explicit(used, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (strncmp(names + (size_t)i * namelen, name, namelen - 1) == 0)
			return i;
	int i = 0;

	pthread_mutex_lock(&cost_lock);
	n = atomic_load_explicit(used, memory_order_relaxed);
	while (i < n && strncmp(names + (size_t)i * namelen, name, namelen - 1) != 0)
		i++;
	if (i == n) { /* a new name: its slot, or the last one ("other") */
		i = n < max - 1 ? n : max - 1;
		if (n < max) {
			snprintf(names + (size_t)i * namelen, namelen, "%s",
				 n < max - 1 ? name : "other");
			atomic_store_explicit(used, n + 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&cost_lock);
	return i;
}

void stats_bucket_request(const char *bucket, int op)
{
	int i = slot(&g_cost.bucket[0][0], sizeof(g_cost.bucket[0]), &cost_nbuckets, STATS_BUCKETS,
		     bucket ? bucket : "(service)");
	atomic_fetch_add_explicit(&g_cost.bucket_requests[i][stats_op_class(op)], 1,
				  memory_order_relaxed);
}

void stats_stored(const char *storage_class, long long bytes)
{
	int i = slot(&g_cost.storage_class[0][0], sizeof(g_cost.storage_class[0]), &cost_nclasses,
		     STATS_CLASSES, storage_class ? storage_class : "STANDARD");
	atomic_fetch_add_explicit(&g_cost.stored_bytes[i], (uint64_t)bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_cost.stored_objects[i], 1, memory_order_relaxed);
}

void stats_set_prices(double put_per_1000, double get_per_1000)
{
	g_cost.price_put = put_per_1000;
	g_cost.price_get = get_per_1000;
}

double stats_request_cost(double put_per_1000, double get_per_1000)
{
	double cost = 0;
	for (int i = 0; i < S3OP_COUNT; i++) {
		enum stats_class c = stats_op_class(i);
		double n = (double)U64(requests[i]);
		cost += c == STATS_CLASS_PUT   ? n * put_per_1000 / 1000
			: c == STATS_CLASS_GET ? n * get_per_1000 / 1000
					       : 0;
	}
	return cost;
}

#define CU64(field) ((uint64_t)atomic_load_explicit(&g_cost.field, memory_order_relaxed))

/* The cost lines of the text rendering, appended to o. */
static void render_cost_text(struct dynbuf *o)
{
	int nb = atomic_load(&cost_nbuckets), nc = atomic_load(&cost_nclasses);

	for (int i = 0; i < nb; i++)
		for (int c = 0; c < STATS_CLASS_COUNT; c++)
			out(o, "requests_by_bucket.%s.%s %" PRIu64 "\n", g_cost.bucket[i],
			    class_names[c], CU64(bucket_requests[i][c]));
	for (int i = 0; i < nc; i++)
		out(o, "stored_bytes.%s %" PRIu64 "\nstored_objects.%s %" PRIu64 "\n",
		    g_cost.storage_class[i], CU64(stored_bytes[i]), g_cost.storage_class[i],
		    CU64(stored_objects[i]));
	out(o, "fallback_reads %" PRIu64 "\nfallback_bytes %" PRIu64 "\n", CU64(fallback_reads),
	    CU64(fallback_bytes));
	out(o, "fallback_uploads %" PRIu64 "\nfallback_upload_failed %" PRIu64 "\n",
	    CU64(fallback_uploads), CU64(fallback_upload_failed));
	out(o, "cost.price_put_per_1000 %.6f\ncost.price_get_per_1000 %.6f\n", g_cost.price_put,
	    g_cost.price_get);
	out(o, "cost.requests_usd %.6f\n", stats_request_cost(g_cost.price_put, g_cost.price_get));
}

size_t stats_render_cost_text(char *buf, size_t len)
{
	struct dynbuf o;

	dynbuf_init_fixed(&o, buf, len);
	render_cost_text(&o);
	return dynbuf_len(&o);
}

/* The cost series of the Prometheus rendering, appended to o. */
static void render_cost_prometheus(struct dynbuf *o)
{
	int nb = atomic_load(&cost_nbuckets), nc = atomic_load(&cost_nclasses);

	out(o, "# HELP s3csfs_bucket_requests_total S3 requests by bucket and billing class.\n"
	       "# TYPE s3csfs_bucket_requests_total counter\n");
	for (int i = 0; i < nb; i++)
		for (int c = 0; c < STATS_CLASS_COUNT; c++)
			out(o,
			    "s3csfs_bucket_requests_total{bucket=\"%s\",class=\"%s\"} %" PRIu64 "\n",
			    g_cost.bucket[i], class_names[c], CU64(bucket_requests[i][c]));
	out(o, "# HELP s3csfs_stored_bytes_total Bytes this host stored, by storage class.\n"
	       "# TYPE s3csfs_stored_bytes_total counter\n");
	for (int i = 0; i < nc; i++)
		out(o, "s3csfs_stored_bytes_total{storage_class=\"%s\"} %" PRIu64 "\n",
		    g_cost.storage_class[i], CU64(stored_bytes[i]));
	out(o,
	    "# HELP s3csfs_fallback_reads_total Reads served from fallback_dir.\n"
	    "# TYPE s3csfs_fallback_reads_total counter\ns3csfs_fallback_reads_total %" PRIu64 "\n",
	    CU64(fallback_reads));
	out(o,
	    "# HELP s3csfs_fallback_uploads_total fallback_dir files stored in S3.\n"
	    "# TYPE s3csfs_fallback_uploads_total counter\ns3csfs_fallback_uploads_total %" PRIu64
	    "\n",
	    CU64(fallback_uploads));
	out(o,
	    "# HELP s3csfs_request_cost_usd Estimated request cost at the configured prices.\n"
	    "# TYPE s3csfs_request_cost_usd gauge\ns3csfs_request_cost_usd %.6f\n",
	    stats_request_cost(g_cost.price_put, g_cost.price_get));
}

size_t stats_render_cost_prometheus(char *buf, size_t len)
{
	struct dynbuf o;

	dynbuf_init_fixed(&o, buf, len);
	render_cost_prometheus(&o);
	return dynbuf_len(&o);
}
