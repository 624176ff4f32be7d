/* stats.h - process-wide counters, lock-free.
 *
 * Promises: every counter is a relaxed atomic, safe from any thread; the
 * text renderings are a consistent-enough snapshot for operators (counters
 * are read one by one, not under a lock). */
#ifndef S3CSFS_STATS_H
#define S3CSFS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum s3_op {
	S3OP_PUT_OBJECT,
	S3OP_GET_OBJECT,
	S3OP_HEAD_OBJECT,
	S3OP_DELETE_OBJECT,
	S3OP_LIST_OBJECTS,
	S3OP_COPY_OBJECT,
	S3OP_CREATE_MPU,
	S3OP_UPLOAD_PART,
	S3OP_COMPLETE_MPU,
	S3OP_ABORT_MPU,
	S3OP_LIST_MPU,
	S3OP_HEAD_BUCKET,
	S3OP_OTHER,
	S3OP_COUNT
};

const char *s3_op_name(enum s3_op op);

/* The finite upper bounds (seconds) of the request latency histogram. */
#define STATS_LATENCY_BUCKETS 14
extern const double stats_latency_bounds[STATS_LATENCY_BUCKETS];

/* Room enough for a whole stats_render_prometheus. */
#define STATS_PROMETHEUS_MAX 65536

struct stats {
	atomic_uint_fast64_t requests[S3OP_COUNT];
	atomic_uint_fast64_t errors[S3OP_COUNT];
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t connections; /* TCP connections opened */
	atomic_uint_fast64_t bytes_up;
	atomic_uint_fast64_t bytes_down;
	atomic_uint_fast64_t cache_hits;   /* reads served from the cache */
	atomic_uint_fast64_t cache_misses; /* reads that had to fetch */
	atomic_uint_fast64_t cache_evictions;
	atomic_uint_fast64_t lookups_local;       /* "no such file" known without asking S3 */
	atomic_uint_fast64_t nodes_evicted;       /* names forgotten (max_nodes) */
	atomic_uint_fast64_t listings_cached;     /* readdirs answered from memory */
	atomic_uint_fast64_t kernel_trims;        /* rounds of kernel names dropped (kcache.c) */
	atomic_int_fast64_t cache_bytes;          /* bytes of cache files on disk */
	atomic_int_fast64_t uploads_pending;      /* closed, not yet durable */
	atomic_int_fast64_t uploads_inflight;     /* parts/objects being sent */
	atomic_int_fast64_t uploads_inflight_max; /* the most ever sent at once */
	atomic_uint_fast64_t uploads_done;
	atomic_uint_fast64_t uploads_failed;
	atomic_uint_fast64_t uploads_throttled; /* async closes that waited (max_queued_uploads) */
	atomic_uint_fast64_t reaper_aborts;
	atomic_uint_fast64_t reaper_runs;
	atomic_int_fast64_t journal_records; /* async records on disk, not yet durable in S3 */
	atomic_int_fast64_t creds_expiry; /* Unix time the credentials last used expire; 0: never */
	/* Latency of every S3 request sent (each attempt), by operation:
	 * counts per upper bound of stats_latency_bounds[] (the last, +Inf,
	 * is the total count) and the sum in microseconds. */
	atomic_uint_fast64_t latency_le[S3OP_COUNT][STATS_LATENCY_BUCKETS + 1];
	atomic_uint_fast64_t latency_sum_us[S3OP_COUNT];
};

extern struct stats g_stats;

/* ---- cost (issue 17): requests by bucket and billing class, bytes
 * stored by storage class, reads served by fallback_dir ---- */

/* How S3 bills an operation: PUT, COPY, POST, LIST at one price; GET,
 * HEAD and the rest at another; DELETE and abort free. */
enum stats_class { STATS_CLASS_PUT = 0, STATS_CLASS_GET, STATS_CLASS_FREE, STATS_CLASS_COUNT };
enum stats_class stats_op_class(int op);

#define STATS_BUCKETS 32 /* buckets counted apart; more share "other" */
#define STATS_CLASSES 16 /* storage classes counted apart */

struct stats_cost {
	/* slot names are set once (under a lock) and never change */
	char bucket[STATS_BUCKETS][64];
	atomic_uint_fast64_t bucket_requests[STATS_BUCKETS][STATS_CLASS_COUNT];
	char storage_class[STATS_CLASSES][32];
	atomic_uint_fast64_t stored_bytes[STATS_CLASSES];
	atomic_uint_fast64_t stored_objects[STATS_CLASSES];
	atomic_uint_fast64_t fallback_reads; /* reads served from fallback_dir */
	atomic_uint_fast64_t fallback_bytes;
	atomic_uint_fast64_t fallback_uploads; /* fallback files stored in S3 by this host */
	atomic_uint_fast64_t fallback_upload_failed;
	double price_put, price_get; /* USD per 1000 requests, for the renderings */
};

extern struct stats_cost g_cost;

/* One request to bucket (NULL: service level) of operation op. */
void stats_bucket_request(const char *bucket, int op);
/* This host stored an object of bytes in storage_class (NULL: STANDARD). */
void stats_stored(const char *storage_class, long long bytes);
/* Prices (USD per 1000 requests) the renderings estimate the cost with. */
void stats_set_prices(double put_per_1000, double get_per_1000);
/* The estimated request cost of every request counted so far. */
double stats_request_cost(double put_per_1000, double get_per_1000);
/* The cost counters, as text lines and in Prometheus format (appended by
 * the two renderings above). Bytes written (< len). */
size_t stats_render_cost_text(char *buf, size_t len);
size_t stats_render_cost_prometheus(char *buf, size_t len);

#define STAT_ADD(field, n) atomic_fetch_add_explicit(&g_stats.field, (n), memory_order_relaxed)
#define STAT_SUB(field, n) atomic_fetch_sub_explicit(&g_stats.field, (n), memory_order_relaxed)
#define STAT_GET(field) atomic_load_explicit(&g_stats.field, memory_order_relaxed)

/* One more upload in flight; records the peak. */
void stats_upload_started(void);

/* CLOCK_MONOTONIC in microseconds, for stats_request_done. */
uint64_t stats_now_us(void);
/* One S3 request of op answered (or failed in transport) started_us
 * (stats_now_us) ago: one observation in the latency histogram. */
void stats_request_done(enum s3_op op, uint64_t started_us);
/* The credentials just obtained expire at this Unix time (0: never). */
void stats_set_credentials_expiry(long long expires);

/* Plain "name value" lines. Returns bytes written (< len), truncated if short. */
size_t stats_render_text(char *buf, size_t len);
/* Prometheus text exposition format. */
size_t stats_render_prometheus(char *buf, size_t len);

#endif
