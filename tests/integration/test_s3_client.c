/* test_s3_client.c - integration tests of the S3 client (src/s3_client.h)
 * against a real S3 server: the local Ceph RGW of scripts/s3-server.
 *
 * Where the server is: the S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (and
 * S3_REGION) environment variables when S3_ENDPOINT is set; otherwise the
 * KEY=VALUE lines of ${S3CSFS_TESTBED:-/tmp/s3csfs-testbed}/env, which
 * `scripts/s3-server start` writes. Neither there: every test FAILS, saying
 * how to start the server (a missing server is not a reason to pass).
 *
 * Every test makes its own bucket, named s3csfs-it-<pid>-<n> (pid of the
 * test program, n unique per test and bucket), and removes its objects,
 * uploads and bucket at the end. Buckets a failed or timed-out test left
 * behind are swept by main() after the run.
 *
 * test_retries_through_proxy puts tests/tools/s3proxy.py (python3; found
 * through $S3PROXY, $TOP, $srcdir or the working directory) between the client
 * and the server to inject faults; it dies with this process.
 *
 * Runs under Check's fork mode (the default) and CK_FORK=no (for valgrind).
 * Worker threads never call ck_assert: they record results that the test's
 * own thread asserts on. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <libxml/parser.h>
#include <openssl/evp.h>

#include "s3_client.h"
#include "stats.h"

#define MIB (1024u * 1024u)
#define TCASE_TIMEOUT 300
#define MAX_BUCKETS_PER_TEST 4
#define PUT_THREADS 8

/* ---- where the server is ------------------------------------------------ */

static struct testbed {
	int ok;
	char why[2048];   /* when !ok: what is missing */
	char source[700]; /* "environment" or the env file's path */
	char endpoint[256];
	char region[64];
	char access_key[128];
	char secret_key[128];
	char dir[512]; /* S3_TESTBED: where radosgw.log is, "" if unknown */
} tb;

static pid_t main_pid;

/* "export KEY=VALUE", "KEY='VALUE'", "KEY=\"VALUE\"" or "KEY=VALUE". */
static void env_line(char *line)
{
	char *eq, *v, *end;
	size_t vl;

	line[strcspn(line, "\r\n")] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, "export ", 7) == 0)
		line += 7;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '#' || !(eq = strchr(line, '=')))
		return;
	*eq = '\0';
	v = eq + 1;
	vl = strlen(v);
	end = v + vl;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	vl = strlen(v);
	if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
		v[vl - 1] = '\0';
		v++;
	}
#define TAKE(name, field)                                      \
	if (strcmp(line, name) == 0) {                         \
		snprintf(tb.field, sizeof(tb.field), "%s", v); \
		return;                                        \
	}
	TAKE("S3_ENDPOINT", endpoint)
	TAKE("S3_REGION", region)
	TAKE("S3_ACCESS_KEY", access_key)
	TAKE("S3_SECRET_KEY", secret_key)
	TAKE("S3_TESTBED", dir)
#undef TAKE
}

static void testbed_load(void)
{
	const char *e = getenv("S3_ENDPOINT");
	const char *tbdir = getenv("S3CSFS_TESTBED");
	char path[700];

	memset(&tb, 0, sizeof(tb));
	if (!tbdir || !*tbdir)
		tbdir = "/tmp/s3csfs-testbed";
	snprintf(path, sizeof(path), "%s/env", tbdir);
	if (e && *e) {
		const char *a = getenv("S3_ACCESS_KEY"), *s = getenv("S3_SECRET_KEY");
		const char *r = getenv("S3_REGION"), *d = getenv("S3_TESTBED");
		snprintf(tb.source, sizeof(tb.source), "environment");
		snprintf(tb.endpoint, sizeof(tb.endpoint), "%s", e);
		snprintf(tb.access_key, sizeof(tb.access_key), "%s", a ? a : "");
		snprintf(tb.secret_key, sizeof(tb.secret_key), "%s", s ? s : "");
		snprintf(tb.region, sizeof(tb.region), "%s", r ? r : "");
		snprintf(tb.dir, sizeof(tb.dir), "%s", d ? d : "");
	} else {
		FILE *f = fopen(path, "r");
		char line[1024];
		if (!f) {
			snprintf(tb.why, sizeof(tb.why),
				 "no S3 server: S3_ENDPOINT is not set and %s cannot be read "
				 "(%s); start the server: scripts/s3-server start",
				 path, strerror(errno));
			return;
		}
		snprintf(tb.source, sizeof(tb.source), "%s", path);
		while (fgets(line, sizeof(line), f))
			env_line(line);
		fclose(f);
	}
	if (!tb.region[0])
		snprintf(tb.region, sizeof(tb.region), "us-east-1");
	if (!tb.endpoint[0] || !tb.access_key[0] || !tb.secret_key[0]) {
		snprintf(tb.why, sizeof(tb.why),
			 "incomplete S3 settings from %s (need S3_ENDPOINT, S3_ACCESS_KEY, "
			 "S3_SECRET_KEY); start the server: scripts/s3-server start",
			 tb.source);
		return;
	}
	tb.ok = 1;
}

/* ---- small helpers ------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *sstr(const struct s3_status *st)
{
	static __thread char buf[700];
	return s3_status_str(st, buf, sizeof(buf));
}

/* Deterministic bytes: xorshift64* from a fixed seed. */
static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t s = seed ? seed : 0x9e3779b97f4a7c15ULL;
	size_t i = 0;
	while (i < n) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		uint64_t v = s * 0x2545F4914F6CDD1DULL;
		for (int b = 0; b < 8 && i < n; b++, i++)
			p[i] = (unsigned char)(v >> (8 * b));
	}
}

static void digest(const EVP_MD *alg, const void *p, size_t n, unsigned char *out)
{
	unsigned int len = 0;
	ck_assert(EVP_Digest(p, n, out, &len, alg, NULL) == 1);
}

static void md5_hex_of(const void *p, size_t n, char hex[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	digest(EVP_md5(), p, n, md);
	s3_md5_hex(md, hex);
}

/* SHA-256 of a file's first n bytes. */
static void sha256_fd(int fd, size_t n, unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[1 << 16];
	unsigned int len = 0;
	size_t done = 0;

	ck_assert(ctx != NULL);
	ck_assert(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
	while (done < n) {
		size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t r = pread(fd, buf, want, (off_t)done);
		if (r <= 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		done += (size_t)r;
	}
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	ck_assert_msg(done == n, "short file: %zu of %zu bytes", done, n);
}

/* ---- per-test state, so a failure in CK_FORK=no mode leaks nothing ---- */

static struct {
	int id; /* the test's number, part of bucket names */
	int nbuckets;
	char buckets[MAX_BUCKETS_PER_TEST][64];
	struct s3_client *clients[8];
	int nclients;
	void *mem[8];
	int nmem;
	int fds[8];
	int nfds;
	struct s3_creds creds[8]; /* clients' credentials (the provider reads them) */
	char late_failure[2048];  /* failures asserted only at the test's end */
	pid_t proxy_pid;          /* the fault proxy, 0 if none */
} T;

static char proxy_root[256]; /* the fault proxy's port and log files */

static struct s3_client *client_new(const char *endpoint, const char *secret, int max_retries,
				    long retry_base_ms, long retry_max_ms)
{
	struct s3_client_opts o;
	struct s3_creds *cr;
	struct s3_client *c;
	char err[256] = "";

	ck_assert(T.nclients < 8);
	cr = &T.creds[T.nclients];
	memset(cr, 0, sizeof(*cr));
	snprintf(cr->access_key, sizeof(cr->access_key), "%s", tb.access_key);
	snprintf(cr->secret_key, sizeof(cr->secret_key), "%s", secret ? secret : tb.secret_key);
	memset(&o, 0, sizeof(o));
	o.endpoint = endpoint ? endpoint : tb.endpoint;
	o.region = tb.region;
	o.path_style = 1;
	o.creds.get = s3_creds_static_get;
	o.creds.ctx = cr;
	o.max_retries = max_retries;
	o.retry_base_ms = retry_base_ms;
	o.retry_max_ms = retry_max_ms;
	c = s3_client_new(&o, err, sizeof(err));
	ck_assert_msg(c != NULL, "s3_client_new(%s): %s", o.endpoint, err);
	T.clients[T.nclients++] = c;
	return c;
}

static void *keep_mem(void *p)
{
	ck_assert_msg(p != NULL, "out of memory");
	ck_assert(T.nmem < 8);
	T.mem[T.nmem++] = p;
	return p;
}

static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/s3csfs-it-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp(%s): %s", path, strerror(errno));
	unlink(path);
	ck_assert(T.nfds < 8);
	T.fds[T.nfds++] = fd;
	return fd;
}

/* Starts a test: fails it at once if there is no server, zeroes the
 * counters, returns a client with the default retry policy. */
static struct s3_client *begin(int id)
{
	ck_assert_msg(tb.ok, "%s", tb.why);
	T.id = id;
	T.nbuckets = 0;
	memset(&g_stats, 0, sizeof(g_stats));
	return client_new(NULL, NULL, 0, 0, 0);
}

static void bucket_name(int id, int k, char *out, size_t len)
{
	snprintf(out, len, "s3csfs-it-%ld-%d", (long)main_pid, id * 10 + k);
}

/* ---- parallel jobs ------------------------------------------------------ */

typedef int (*job_fn)(void *arg, int i, struct s3_status *st);

struct jobs {
	job_fn fn;
	void *arg;
	int n;
	atomic_int next;
	atomic_int failed; /* first failing index + 1, 0 if none */
	int rc;
	struct s3_status st;
};

static void *jobs_thread(void *p)
{
	struct jobs *j = p;
	for (;;) {
		int i = atomic_fetch_add(&j->next, 1);
		struct s3_status st;
		if (i >= j->n || atomic_load(&j->failed))
			break;
		memset(&st, 0, sizeof(st));
		int rc = j->fn(j->arg, i, &st);
		if (rc != 0) {
			int expected = 0;
			if (atomic_compare_exchange_strong(&j->failed, &expected, i + 1)) {
				j->rc = rc;
				j->st = st;
			}
			break;
		}
	}
	return NULL;
}

/* Runs fn(arg, i) for i in [0, n) on nthreads threads. Returns 0 or the
 * first error (with *st and *failed_index, when given). */
static int run_parallel(int nthreads, int n, job_fn fn, void *arg, struct s3_status *st,
			int *failed_index)
{
	pthread_t th[32];
	struct jobs j;
	int started = 0;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	j.n = n;
	atomic_init(&j.next, 0);
	atomic_init(&j.failed, 0);
	if (nthreads > 32)
		nthreads = 32;
	for (int t = 0; t < nthreads; t++)
		if (pthread_create(&th[t], NULL, jobs_thread, &j) == 0)
			started++;
	if (started == 0)
		jobs_thread(&j);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	if (st)
		*st = j.st;
	if (failed_index)
		*failed_index = atomic_load(&j.failed) - 1;
	return atomic_load(&j.failed) ? (j.rc ? j.rc : -EIO) : 0;
}

/* ---- bucket lifecycle --------------------------------------------------- */

struct del_job {
	struct s3_client *c;
	const char *bucket;
	struct s3_list_result *page;
};

static int del_one(void *arg, int i, struct s3_status *st)
{
	struct del_job *d = arg;
	return s3_delete_object(d->c, d->bucket, d->page->objects[i].key, st);
}

/* Deletes every object and aborts every upload in bucket; with
 * delete_bucket, the bucket too. No assertions: also used to sweep. */
static int bucket_purge(struct s3_client *c, const char *bucket, int delete_bucket, char *why,
			size_t whylen)
{
	struct s3_status st;
	int rc;

	for (int round = 0; round < 100; round++) {
		struct s3_list_result page;
		struct del_job d = { c, bucket, &page };
		rc = s3_list_objects(c, bucket, NULL, NULL, NULL, 0, &page, &st);
		if (rc == -ENOENT && strcmp(st.code, "NoSuchBucket") == 0)
			return 0;
		if (rc < 0) {
			snprintf(why, whylen, "listing %s: %s", bucket, sstr(&st));
			return rc;
		}
		size_t n = page.nobjects;
		rc = n ? run_parallel(PUT_THREADS, (int)n, del_one, &d, &st, NULL) : 0;
		s3xml_list_result_free(&page);
		if (rc < 0) {
			snprintf(why, whylen, "deleting in %s: %s", bucket, sstr(&st));
			return rc;
		}
		if (n == 0)
			break;
	}
	for (int round = 0; round < 100; round++) {
		struct s3_mpu_list l;
		rc = s3_mpu_list(c, bucket, NULL, NULL, NULL, 0, &l, &st);
		if (rc < 0) {
			snprintf(why, whylen, "listing uploads in %s: %s", bucket, sstr(&st));
			return rc;
		}
		size_t n = l.nuploads;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = s3_mpu_abort(c, bucket, l.uploads[i].key, l.uploads[i].upload_id, &st);
		s3xml_mpu_list_free(&l);
		if (rc < 0) {
			snprintf(why, whylen, "aborting uploads in %s: %s", bucket, sstr(&st));
			return rc;
		}
		if (n == 0)
			break;
	}
	if (delete_bucket) {
		rc = s3_delete_bucket(c, bucket, &st);
		if (rc < 0 && !(rc == -ENOENT && strcmp(st.code, "NoSuchBucket") == 0)) {
			snprintf(why, whylen, "deleting bucket %s: %s", bucket, sstr(&st));
			return rc;
		}
	}
	return 0;
}

/* A fresh, empty bucket of this test. */
static const char *bucket_new(struct s3_client *c)
{
	struct s3_status st;
	char why[800] = "";
	char *name;
	int rc;

	ck_assert(T.nbuckets < MAX_BUCKETS_PER_TEST);
	name = T.buckets[T.nbuckets];
	bucket_name(T.id, T.nbuckets, name, sizeof(T.buckets[0]));
	rc = s3_create_bucket(c, name, &st);
	ck_assert_msg(rc == 0, "create bucket %s: %d %s", name, rc, sstr(&st));
	T.nbuckets++;
	/* A bucket of the same name from an earlier run (pid reuse) made
	 * s3_create_bucket succeed as "already owned": empty it. */
	rc = bucket_purge(c, name, 0, why, sizeof(why));
	ck_assert_msg(rc == 0, "%s", why);
	return name;
}

/* Ends a test: removes its buckets (asserting it worked). */
static void finish(struct s3_client *c)
{
	for (int i = 0; i < T.nbuckets; i++) {
		char why[800] = "";
		struct s3_status st;
		int rc = bucket_purge(c, T.buckets[i], 1, why, sizeof(why));
		ck_assert_msg(rc == 0, "cleanup: %s", why);
		rc = s3_head_bucket(c, T.buckets[i], &st);
		ck_assert_msg(rc == -ENOENT, "bucket %s still there after cleanup: %d %s",
			      T.buckets[i], rc, sstr(&st));
	}
	T.nbuckets = 0;
}

static void setup(void)
{
	memset(&T, 0, sizeof(T));
}

static void proxy_stop(void);

/* Frees what the test allocated (buckets are swept by main). */
static void teardown(void)
{
	proxy_stop();
	for (int i = 0; i < T.nclients; i++)
		s3_client_free(T.clients[i]);
	for (int i = 0; i < T.nmem; i++)
		free(T.mem[i]);
	for (int i = 0; i < T.nfds; i++)
		close(T.fds[i]);
	explicit_bzero(T.creds, sizeof(T.creds));
	memset(&T, 0, sizeof(T));
}

/* Records a failure to assert at the end of the test (late_assert), so
 * that one defect does not hide the checks after it. First one of each
 * message format only. */
static void late_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void late_check(int ok, const char *fmt, ...)
{
	static const char *seen[8];
	char msg[512];
	va_list ap;
	size_t used = strlen(T.late_failure);

	if (ok)
		return;
	if (!used)
		memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 8; i++) {
		if (seen[i] == fmt)
			return;
		if (!seen[i]) {
			seen[i] = fmt;
			break;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(T.late_failure + used, sizeof(T.late_failure) - used, "%s%s", used ? " | " : "",
		 msg);
}

static void late_assert(void)
{
	ck_assert_msg(!T.late_failure[0], "%s", T.late_failure);
}

/* ---- object helpers ----------------------------------------------------- */

static void put_mem(struct s3_client *c, const char *bucket, const char *key, const void *data,
		    size_t len, const struct s3_put_opts *opts, char *etag, size_t etaglen)
{
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = data, .len = len };
	struct s3_status st;
	int rc = s3_put_object(c, bucket, key, &body, opts, etag, etaglen, &st);
	ck_assert_msg(rc == 0, "PUT %s/%s (%zu bytes): %d %s", bucket, key, len, rc, sstr(&st));
}

/* GETs [off, off+len) into a growing memory sink and compares it with
 * data[off...] clipped to size; returns the bytes received. */
static size_t get_range_check(struct s3_client *c, const char *bucket, const char *key,
			      const unsigned char *data, size_t size, long long off, long long len)
{
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 64 * MIB };
	struct s3_obj_info info;
	struct s3_status st;
	size_t want;
	int rc;

	if (off >= (long long)size)
		want = 0;
	else if (len < 0 || off + len > (long long)size)
		want = size - (size_t)off;
	else
		want = (size_t)len;
	memset(&info, 0, sizeof(info));
	rc = s3_get_object(c, bucket, key, off, len, NULL, &sink, &info, &st);
	if (rc != 0 || sink.len != want || (want && memcmp(sink.buf, data + off, want) != 0)) {
		size_t got = sink.len;
		int differ = rc == 0 && got == want;
		if (sink.owned)
			free(sink.buf);
		ck_abort_msg("GET %s off %lld len %lld: rc %d (%s), %zu bytes (want %zu)%s", key,
			     off, len, rc, sstr(&st), got, want, differ ? ", bytes differ" : "");
	}
	if (sink.owned)
		free(sink.buf);
	if (len != 0 && off >= (long long)size) {
		/* Reported at the end of the test, so the rest still runs. */
		late_check(info.size == (long long)size,
			   "GET %s at or past the end (off %lld len %lld, %zu-byte object): "
			   "0 bytes as promised, but info.size %lld, etag \"%s\", mtime %lld "
			   "(s3_client.h: info gets the whole object's size, etag, mtime)",
			   key, off, len, size, info.size, info.etag, (long long)info.mtime);
	} else if (len != 0) {
		ck_assert_msg(info.size == (long long)size,
			      "GET %s off %lld len %lld: info.size %lld, object has %zu", key, off,
			      len, info.size, size);
	}
	return want;
}

/* ---- tests -------------------------------------------------------------- */

/* PutObject, GetObject (whole, ranges, each sink), HeadObject with
 * metadata, DeleteObject; keys that need URI encoding. */
START_TEST(test_object_roundtrip)
{
	struct s3_client *c = begin(1);
	const char *b = bucket_new(c);
	const size_t size = MIB + 12345;
	unsigned char *data = keep_mem(malloc(size));
	char etag[S3_ETAG_MAX], md5[33], val[128];
	const struct s3_meta_pair meta[] = { { "color", "blue and green" },
					     { "origin", "s3csfs-integration-test" } };
	struct s3_put_opts po = { .meta = meta, .nmeta = 2, .content_type = "application/x-test" };
	struct s3_obj_info info;
	struct s3_status st;
	time_t t0 = time(NULL);
	int rc;

	fill_random(data, size, 1);
	md5_hex_of(data, size, md5);
	put_mem(c, b, "obj/one", data, size, &po, etag, sizeof(etag));
	ck_assert_str_eq(etag, md5);
	ck_assert_int_eq(atomic_load(&g_stats.requests[S3OP_PUT_OBJECT]), 1);

	/* HEAD: size, etag, plausible mtime, metadata back. */
	memset(&info, 0, sizeof(info));
	rc = s3_head_object(c, b, "obj/one", &info, &st);
	ck_assert_msg(rc == 0, "HEAD: %d %s", rc, sstr(&st));
	ck_assert_int_eq(info.size, (long long)size);
	ck_assert_str_eq(info.etag, md5);
	ck_assert_msg(info.mtime >= t0 - 120 && info.mtime <= time(NULL) + 120,
		      "mtime %lld not near now (%lld)", (long long)info.mtime, (long long)t0);
	ck_assert_int_eq(s3_obj_meta_get(&info, "color", val, sizeof(val)), 0);
	ck_assert_str_eq(val, "blue and green");
	ck_assert_int_eq(s3_obj_meta_get(&info, "origin", val, sizeof(val)), 0);
	ck_assert_str_eq(val, "s3csfs-integration-test");
	ck_assert_int_eq(s3_obj_meta_get(&info, "absent", val, sizeof(val)), -ENOENT);
	ck_assert_int_eq(s3_obj_meta_get(&info, "color", val, 4), -ENAMETOOLONG);
	ck_assert_int_eq(st.http_status, 200);
	ck_assert_int_eq(st.attempts, 1);

	/* Whole GET, with info. */
	{
		struct http_sink sink = { .kind = HTTP_SINK_MEM, .cap = 4 * MIB };
		memset(&info, 0, sizeof(info));
		rc = s3_get_object(c, b, "obj/one", 0, -1, NULL, &sink, &info, &st);
		ck_assert_msg(rc == 0, "GET: %d %s", rc, sstr(&st));
		int same = sink.len == size && memcmp(sink.buf, data, size) == 0;
		int owned = sink.owned, nul = sink.owned && sink.buf[sink.len] == '\0';
		if (sink.owned)
			free(sink.buf);
		ck_assert_msg(same, "GET whole: %zu bytes, or they differ", sink.len);
		ck_assert(owned && nul);
		ck_assert_int_eq(info.size, (long long)size);
		ck_assert_str_eq(info.etag, md5);
		ck_assert_int_eq(s3_obj_meta_get(&info, "color", val, sizeof(val)), 0);
		ck_assert_str_eq(val, "blue and green");
	}

	/* Ranges: start, middle, across 4 KiB and 64 KiB, the tail, over the
	 * end (clipped), open-ended, at and past the end (0 bytes). */
	static const long long ranges[][2] = {
		{ 0, 1 },           { 1, 100 },           { 4095, 4097 },
		{ 65530, 70000 },   { 500000, -1 },       { MIB, 12345 },
		{ MIB + 12340, 5 }, { MIB + 12340, 100 }, { MIB + 12344, -1 },
		{ 0, MIB + 12345 }, { 0, 2 * MIB },       { 7, 0 },
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		get_range_check(c, b, "obj/one", data, size, ranges[i][0], ranges[i][1]);
	ck_assert_int_eq(get_range_check(c, b, "obj/one", data, size, (long long)size, 10), 0);
	ck_assert_int_eq(get_range_check(c, b, "obj/one", data, size, (long long)size, -1), 0);
	ck_assert_int_eq(get_range_check(c, b, "obj/one", data, size, (long long)size + 5000, 1), 0);
	ck_assert_int_eq(get_range_check(c, b, "obj/one", data, size, 10LL << 30, -1), 0);

	/* A caller's fixed buffer: filled in place, never replaced. */
	{
		static char fixed[8192];
		struct http_sink sink = { .kind = HTTP_SINK_MEM, .buf = fixed, .cap = sizeof(fixed) };
		rc = s3_get_object(c, b, "obj/one", 300000, 8192, NULL, &sink, NULL, &st);
		ck_assert_msg(rc == 0, "GET into fixed buffer: %d %s", rc, sstr(&st));
		ck_assert(sink.buf == fixed && !sink.owned);
		ck_assert_int_eq(sink.len, 8192);
		ck_assert(memcmp(fixed, data + 300000, 8192) == 0);
		/* Too small for the object: -EMSGSIZE, not a silent cut. */
		rc = s3_get_object(c, b, "obj/one", 0, -1, NULL, &sink, NULL, &st);
		ck_assert_msg(rc == -EMSGSIZE, "whole GET into 8 KiB buffer: %d %s", rc, sstr(&st));
		ck_assert(sink.buf == fixed && !sink.owned);
		ck_assert_int_eq(st.attempts, 1);
	}

	/* A discarding sink (the body read and dropped): success, and len
	 * says how many bytes came (http.h: "out: bytes received"). */
	{
		struct http_sink sink = { .kind = HTTP_SINK_DISCARD };
		rc = s3_get_object(c, b, "obj/one", 1000, 5000, NULL, &sink, NULL, &st);
		late_check(rc == 0 && sink.len == 5000,
			   "GET 5000 bytes into an HTTP_SINK_DISCARD sink: rc %d (%s), len %zu", rc,
			   sstr(&st), sink.len);
	}

	/* A file sink: whole object at 0, then a range at offset 100. */
	{
		int fd = temp_fd();
		unsigned char *back = keep_mem(malloc(size));
		struct http_sink sink = { .kind = HTTP_SINK_FD, .fd = fd };
		rc = s3_get_object(c, b, "obj/one", 0, -1, NULL, &sink, NULL, &st);
		ck_assert_msg(rc == 0, "GET into fd: %d %s", rc, sstr(&st));
		ck_assert_int_eq(sink.len, size);
		ck_assert_int_eq(pread(fd, back, size, 0), (ssize_t)size);
		ck_assert(memcmp(back, data, size) == 0);

		int fd2 = temp_fd();
		sink = (struct http_sink){ .kind = HTTP_SINK_FD, .fd = fd2, .off = 100 };
		rc = s3_get_object(c, b, "obj/one", 777777, 5000, NULL, &sink, NULL, &st);
		ck_assert_msg(rc == 0, "ranged GET into fd: %d %s", rc, sstr(&st));
		ck_assert_int_eq(sink.len, 5000);
		struct stat sb;
		ck_assert_int_eq(fstat(fd2, &sb), 0);
		ck_assert_int_eq(sb.st_size, 5100);
		ck_assert_int_eq(pread(fd2, back, 5000, 100), 5000);
		ck_assert(memcmp(back, data + 777777, 5000) == 0);

		/* An fd sink bounded below the answer's length fails. */
		sink = (struct http_sink){ .kind = HTTP_SINK_FD, .fd = fd2, .cap = 1000 };
		rc = s3_get_object(c, b, "obj/one", 0, 4096, NULL, &sink, NULL, &st);
		ck_assert_msg(rc == -EMSGSIZE, "GET 4096 bytes into fd capped at 1000: %d %s", rc,
			      sstr(&st));
	}

	/* PUT from a file descriptor slice. */
	{
		int fd = temp_fd();
		char m2[33];
		ck_assert_int_eq(pwrite(fd, data, size, 0), (ssize_t)size);
		struct http_body body = { .kind = HTTP_BODY_FD, .fd = fd, .off = 4321, .len = 200000 };
		rc = s3_put_object(c, b, "obj/from-fd", &body, NULL, etag, sizeof(etag), &st);
		ck_assert_msg(rc == 0, "PUT from fd: %d %s", rc, sstr(&st));
		md5_hex_of(data + 4321, 200000, m2);
		ck_assert_str_eq(etag, m2);
		get_range_check(c, b, "obj/from-fd", data + 4321, 200000, 0, -1);
		get_range_check(c, b, "obj/from-fd", data + 4321, 200000, 199999, 1);
	}

	/* A storage class (scripts/s3-server configures STANDARD_IA) comes
	 * back in HEAD and in listings; the default reads as STANDARD. */
	{
		struct s3_put_opts pia = { .storage_class = "STANDARD_IA" };
		struct s3_list_result l;
		put_mem(c, b, "sc/ia", data, 100, &pia, NULL, 0);
		rc = s3_head_object(c, b, "sc/ia", &info, &st);
		ck_assert_msg(rc == 0, "HEAD sc/ia: %d %s", rc, sstr(&st));
		ck_assert_str_eq(info.storage_class, "STANDARD_IA");
		rc = s3_list_objects(c, b, "sc/", NULL, NULL, 0, &l, &st);
		ck_assert_msg(rc == 0, "LIST sc/: %d %s", rc, sstr(&st));
		int ok = l.nobjects == 1 && strcmp(l.objects[0].storage_class, "STANDARD_IA") == 0;
		s3xml_list_result_free(&l);
		ck_assert_msg(ok, "storage class not listed as STANDARD_IA");
		rc = s3_head_object(c, b, "obj/from-fd", &info, &st);
		ck_assert_msg(rc == 0, "HEAD obj/from-fd: %d %s", rc, sstr(&st));
		ck_assert_str_eq(info.storage_class, "STANDARD");
	}

	/* An empty object; ranges on it read nothing. */
	{
		rc = s3_put_object(c, b, "obj/empty", NULL, NULL, etag, sizeof(etag), &st);
		ck_assert_msg(rc == 0, "PUT empty: %d %s", rc, sstr(&st));
		ck_assert_str_eq(etag, "d41d8cd98f00b204e9800998ecf8427e");
		rc = s3_head_object(c, b, "obj/empty", &info, &st);
		ck_assert_msg(rc == 0, "HEAD empty: %d %s", rc, sstr(&st));
		ck_assert_int_eq(info.size, 0);
		ck_assert_int_eq(get_range_check(c, b, "obj/empty", data, 0, 0, -1), 0);
		ck_assert_int_eq(get_range_check(c, b, "obj/empty", data, 0, 0, 10), 0);
	}

	/* A key that needs URI encoding in every segment (SigV4 canonical URI). */
	{
		static const char key[] =
			"enc/sp ace/plus+amp&eq=q?hash#pct%tilde~star*/\xc3\xbc.txt";
		struct s3_list_result l;
		put_mem(c, b, key, data, 1000, NULL, NULL, 0);
		rc = s3_head_object(c, b, key, &info, &st);
		ck_assert_msg(rc == 0, "HEAD encoded key: %d %s", rc, sstr(&st));
		ck_assert_int_eq(info.size, 1000);
		get_range_check(c, b, key, data, 1000, 10, 20);
		rc = s3_list_objects(c, b, "enc/", NULL, NULL, 0, &l, &st);
		ck_assert_msg(rc == 0, "LIST enc/: %d %s", rc, sstr(&st));
		int found = l.nobjects == 1 && strcmp(l.objects[0].key, key) == 0;
		s3xml_list_result_free(&l);
		ck_assert_msg(found, "encoded key not listed back exactly");
		ck_assert_int_eq(s3_delete_object(c, b, key, &st), 0);
	}

	/* DELETE; then HEAD and GET say ENOENT; deleting again succeeds. */
	rc = s3_delete_object(c, b, "obj/one", &st);
	ck_assert_msg(rc == 0, "DELETE: %d %s", rc, sstr(&st));
	rc = s3_head_object(c, b, "obj/one", &info, &st);
	ck_assert_msg(rc == -ENOENT, "HEAD after DELETE: %d %s", rc, sstr(&st));
	ck_assert_int_eq(st.http_status, 404);
	ck_assert_int_eq(st.attempts, 1);
	rc = s3_delete_object(c, b, "obj/one", &st);
	ck_assert_msg(rc == 0, "DELETE of a missing key: %d %s", rc, sstr(&st));
	rc = s3_delete_object(c, b, "obj/never-existed", &st);
	ck_assert_msg(rc == 0, "DELETE of a never-existing key: %d %s", rc, sstr(&st));
	ck_assert_int_eq(atomic_load(&g_stats.retries), 0);
	finish(c);
	late_assert();
}
END_TEST

/* Keys S3 allows but paths do not like: each is stored, read, listed and
 * deleted under exactly its own name. */
START_TEST(test_key_names)
{
	struct s3_client *c = begin(11);
	const char *b = bucket_new(c);
	static char longkey[S3_KEY_MAX + 2];
	const char *keys[] = {
		"dot/./x/../y",
		"dbl//slash",
		"/leading-slash",
		"trailing-dot.",
		"xml<lt>&amp;\"quot'apos",
		"unicode/\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9t\xc3\xa9",
		"ctl\ttab",
		"semi;colon,comma:colon@at!bang$dollar(paren)[br]{cb}|bar^caret`bq",
		longkey,
	};
	struct s3_obj_info info;
	struct s3_status st;
	int rc;

	memset(longkey, 'k', S3_KEY_MAX);
	longkey[S3_KEY_MAX] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i];
		char body[64];
		struct s3_list_result l;
		int n = snprintf(body, sizeof(body), "body of key %zu", i);
		put_mem(c, b, k, body, (size_t)n, NULL, NULL, 0);
		rc = s3_head_object(c, b, k, &info, &st);
		ck_assert_msg(rc == 0 && info.size == n, "HEAD key %zu: %d %s", i, rc, sstr(&st));
		get_range_check(c, b, k, (const unsigned char *)body, (size_t)n, 0, -1);
		rc = s3_list_objects(c, b, k, NULL, NULL, 0, &l, &st);
		ck_assert_msg(rc == 0, "LIST prefix=key %zu: %d %s", i, rc, sstr(&st));
		int found = l.nobjects >= 1 && strcmp(l.objects[0].key, k) == 0;
		s3xml_list_result_free(&l);
		ck_assert_msg(found, "key %zu not listed back under its own name", i);
		rc = s3_delete_object(c, b, k, &st);
		ck_assert_msg(rc == 0, "DELETE key %zu: %d %s", i, rc, sstr(&st));
		rc = s3_head_object(c, b, k, &info, &st);
		ck_assert_msg(rc == -ENOENT, "HEAD key %zu after DELETE: %d %s", i, rc, sstr(&st));
	}
	/* One byte over S3's limit. */
	longkey[S3_KEY_MAX] = 'k';
	longkey[S3_KEY_MAX + 1] = '\0';
	{
		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = "x", .len = 1 };
		rc = s3_put_object(c, b, longkey, &hb, NULL, NULL, 0, &st);
		/* AWS: 400 KeyTooLongError (-ENAMETOOLONG); RGW: 400 InvalidObjectName. */
		ck_assert_msg(rc == -ENAMETOOLONG || rc == -EINVAL, "a %d-byte key: %d %s",
			      S3_KEY_MAX + 1, rc, sstr(&st));
	}
	finish(c);
}
END_TEST

/* ListObjectsV2 with prefix and delimiter. */
START_TEST(test_list_delimiter)
{
	struct s3_client *c = begin(2);
	const char *b = bucket_new(c);
	static const char *const keys[] = { "a/1", "a/2", "a/b/3", "a/b/c/4",
					    "b/5", "c",   "d/",    "e.txt" };
	struct s3_list_result l;
	struct s3_status st;
	int rc;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put_mem(c, b, keys[i], keys[i], strlen(keys[i]), NULL, NULL, 0);

	/* Root with "/": files c, e.txt; directories a/, b/, d/. */
	rc = s3_list_objects(c, b, NULL, "/", NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "LIST /: %d %s", rc, sstr(&st));
	{
		int ok = l.nobjects == 2 && strcmp(l.objects[0].key, "c") == 0 &&
			 strcmp(l.objects[1].key, "e.txt") == 0 && l.nprefixes == 3 &&
			 strcmp(l.prefixes[0], "a/") == 0 && strcmp(l.prefixes[1], "b/") == 0 &&
			 strcmp(l.prefixes[2], "d/") == 0 && !l.is_truncated &&
			 l.objects[0].size == 1 && l.objects[1].size == 5;
		char e5[33];
		md5_hex_of("e.txt", 5, e5);
		ok = ok && strcmp(l.objects[1].etag, e5) == 0 && l.objects[1].last_modified > 0;
		size_t no = l.nobjects, np = l.nprefixes;
		s3xml_list_result_free(&l);
		ck_assert_msg(ok, "root listing: %zu objects, %zu prefixes, or wrong names/sizes",
			      no, np);
	}

	/* Inside a/: files a/1, a/2; directory a/b/. */
	rc = s3_list_objects(c, b, "a/", "/", NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "LIST a/: %d %s", rc, sstr(&st));
	{
		int ok = l.nobjects == 2 && strcmp(l.objects[0].key, "a/1") == 0 &&
			 strcmp(l.objects[1].key, "a/2") == 0 && l.nprefixes == 1 &&
			 strcmp(l.prefixes[0], "a/b/") == 0;
		s3xml_list_result_free(&l);
		ck_assert_msg(ok, "listing of a/ with delimiter wrong");
	}

	/* The marker object d/ shows as itself inside d/. */
	rc = s3_list_objects(c, b, "d/", "/", NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "LIST d/: %d %s", rc, sstr(&st));
	{
		int ok = l.nobjects == 1 && strcmp(l.objects[0].key, "d/") == 0 && l.nprefixes == 0;
		s3xml_list_result_free(&l);
		ck_assert_msg(ok, "listing of d/ wrong");
	}

	/* Without delimiter: everything under a/, recursively. */
	rc = s3_list_objects(c, b, "a/", NULL, NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "LIST a/ flat: %d %s", rc, sstr(&st));
	{
		int ok = l.nobjects == 4 && l.nprefixes == 0 &&
			 strcmp(l.objects[3].key, "a/b/c/4") == 0;
		s3xml_list_result_free(&l);
		ck_assert_msg(ok, "flat listing of a/ wrong");
	}

	/* A prefix that matches nothing. */
	rc = s3_list_objects(c, b, "zzz", "/", NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "LIST zzz: %d %s", rc, sstr(&st));
	ck_assert_int_eq(l.nobjects + l.nprefixes, 0);
	ck_assert_int_eq(l.is_truncated, 0);
	s3xml_list_result_free(&l);

	/* Listing a missing bucket. */
	{
		char nb[64];
		bucket_name(T.id, 9, nb, sizeof(nb));
		rc = s3_list_objects(c, nb, NULL, NULL, NULL, 0, &l, &st);
		ck_assert_msg(rc == -ENOENT && strcmp(st.code, "NoSuchBucket") == 0,
			      "LIST missing bucket: %d %s", rc, sstr(&st));
		s3xml_list_result_free(&l);
	}
	finish(c);
}
END_TEST

struct put_many {
	struct s3_client *c;
	const char *bucket;
	const char *prefix; /* keys are prefix + i in width digits */
	int width;
};

static int put_many_one(void *arg, int i, struct s3_status *st)
{
	struct put_many *p = arg;
	char key[64], body[64];
	snprintf(key, sizeof(key), "%s%0*d", p->prefix, p->width, i);
	int n = snprintf(body, sizeof(body), "object %d", i);
	struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = body, .len = (size_t)n };
	return s3_put_object(p->c, p->bucket, key, &hb, NULL, NULL, 0, st);
}

/* Lists all of prefix in pages of max_keys; asserts each of the n keys
 * kprefix + i (width digits) appears exactly once and nothing else does.
 * Returns the number of pages. */
static int list_all_check(struct s3_client *c, const char *bucket, const char *prefix,
			  const char *kprefix, int width, int n, int max_keys)
{
	unsigned char *seen = calloc((size_t)n, 1);
	char token[S3_TOKEN_MAX] = "";
	int pages = 0, total = 0, page_max = max_keys > 0 ? max_keys : 1000;

	ck_assert(seen != NULL);
	keep_mem(seen);
	for (;;) {
		struct s3_list_result l;
		struct s3_status st;
		int rc = s3_list_objects(c, bucket, prefix, NULL, token, max_keys, &l, &st);
		ck_assert_msg(rc == 0, "LIST page %d: %d %s", pages + 1, rc, sstr(&st));
		pages++;
		int bad = -1, dup = -1, over = (int)l.nobjects > page_max;
		for (size_t i = 0; i < l.nobjects; i++) {
			int k = -1, used = 0;
			if (strncmp(l.objects[i].key, kprefix, strlen(kprefix)) != 0 ||
			    sscanf(l.objects[i].key + strlen(kprefix), "%d%n", &k, &used) != 1 ||
			    k < 0 || k >= n) {
				bad = (int)i;
				break;
			}
			char want[64];
			snprintf(want, sizeof(want), "%s%0*d", kprefix, width, k);
			if (strcmp(want, l.objects[i].key) != 0) {
				bad = (int)i;
				break;
			}
			if (seen[k]++)
				dup = k;
		}
		total += (int)l.nobjects;
		int trunc = l.is_truncated, np = (int)l.nobjects;
		snprintf(token, sizeof(token), "%s", l.next_token);
		s3xml_list_result_free(&l);
		ck_assert_msg(bad < 0, "page %d: unexpected key at %d", pages, bad);
		ck_assert_msg(dup < 0, "page %d: key %d listed twice", pages, dup);
		ck_assert_msg(!over, "page %d has %d keys, max %d", pages, np, page_max);
		if (!trunc)
			break;
		ck_assert_msg(token[0], "page %d truncated without a continuation token", pages);
		ck_assert_msg(np > 0, "page %d truncated but empty", pages);
		ck_assert_msg(pages < n + 2, "listing does not end");
	}
	ck_assert_int_eq(total, n);
	for (int k = 0; k < n; k++)
		ck_assert_msg(seen[k] == 1, "key %d seen %d times", k, seen[k]);
	return pages;
}

/* ListObjectsV2 pagination: max_keys 7 over 50 keys. */
START_TEST(test_list_pagination_small)
{
	struct s3_client *c = begin(3);
	const char *b = bucket_new(c);
	struct put_many pm = { c, b, "page/k", 3 };
	struct s3_status st;
	int failed = -1, rc;

	rc = run_parallel(PUT_THREADS, 50, put_many_one, &pm, &st, &failed);
	ck_assert_msg(rc == 0, "PUT #%d: %d %s", failed, rc, sstr(&st));
	put_mem(c, b, "other/x", "x", 1, NULL, NULL, 0); /* outside the prefix */
	int pages = list_all_check(c, b, "page/", "page/k", 3, 50, 7);
	ck_assert_int_eq(pages, 8); /* 7 * 7 + 1 */
	/* Exactly 7 keys and truncated at 49: the 8th page holds the 50th. */
	pages = list_all_check(c, b, "page/k0", "page/k", 3, 50, 49);
	ck_assert_int_eq(pages, 2);
	/* One page when max_keys equals the count: not truncated. */
	pages = list_all_check(c, b, "page/", "page/k", 3, 50, 50);
	ck_assert_int_eq(pages, 1);
	finish(c);
}
END_TEST

/* ListObjectsV2 over more than 1000 keys with the default page size; the
 * keys are PUT from 8 threads sharing one client. */
START_TEST(test_list_pagination_1100)
{
	struct s3_client *c = begin(4);
	const char *b = bucket_new(c);
	struct put_many pm = { c, b, "big/", 4 };
	struct s3_status st;
	int failed = -1, rc;
	double t0 = now_s();

	memset(&g_stats, 0, sizeof(g_stats));
	rc = run_parallel(PUT_THREADS, 1100, put_many_one, &pm, &st, &failed);
	double t_put = now_s() - t0;
	ck_assert_msg(rc == 0, "PUT #%d: %d %s", failed, rc, sstr(&st));
	ck_assert_int_eq(atomic_load(&g_stats.requests[S3OP_PUT_OBJECT]), 1100);
	/* 8 threads share the pool: about 8 connections, not 1100. */
	ck_assert_msg(atomic_load(&g_stats.connections) <= 2 * PUT_THREADS,
		      "%llu TCP connections for 1100 PUTs from %d threads",
		      (unsigned long long)atomic_load(&g_stats.connections), PUT_THREADS);
	double t1 = now_s();
	int pages = list_all_check(c, b, "big/", "big/", 4, 1100, 0);
	ck_assert_int_eq(pages, 2);
	double t_list = now_s() - t1;
	t1 = now_s();
	finish(c);
	fprintf(stderr,
		"[it] 1100 PUTs from %d threads: %.2f s (%llu connections); listing: %.2f s; "
		"cleanup: %.2f s\n",
		PUT_THREADS, t_put, (unsigned long long)atomic_load(&g_stats.connections), t_list,
		now_s() - t1);
}
END_TEST

/* CopyObject: bytes and metadata copied; metadata replaced on request. */
START_TEST(test_copy)
{
	struct s3_client *c = begin(5);
	const char *b = bucket_new(c);
	const char *b2 = bucket_new(c);
	const size_t size = 3 * MIB + 7;
	unsigned char *data = keep_mem(malloc(size));
	const struct s3_meta_pair meta[] = { { "mode", "0644" } };
	const struct s3_meta_pair meta2[] = { { "mode", "0600" }, { "extra", "yes" } };
	struct s3_put_opts po = { .meta = meta, .nmeta = 1 };
	struct s3_put_opts po2 = { .meta = meta2, .nmeta = 2 };
	char etag[S3_ETAG_MAX], cetag[S3_ETAG_MAX], val[64];
	static const char weird[] = "src dir/a+b=c&d.bin";
	struct s3_obj_info info;
	struct s3_status st;
	int rc;

	fill_random(data, size, 5);
	put_mem(c, b, weird, data, size, &po, etag, sizeof(etag));

	rc = s3_copy_object(c, b, weird, b, "dst/same-bucket", NULL, cetag, sizeof(cetag), &st);
	ck_assert_msg(rc == 0, "COPY: %d %s", rc, sstr(&st));
	ck_assert_str_eq(cetag, etag);
	get_range_check(c, b, "dst/same-bucket", data, size, 0, -1);
	rc = s3_head_object(c, b, "dst/same-bucket", &info, &st);
	ck_assert_msg(rc == 0, "HEAD copy: %d %s", rc, sstr(&st));
	ck_assert_int_eq(s3_obj_meta_get(&info, "mode", val, sizeof(val)), 0);
	ck_assert_str_eq(val, "0644");

	/* Into another bucket, with metadata replaced. */
	rc = s3_copy_object(c, b, weird, b2, "dst/other bucket", &po2, cetag, sizeof(cetag), &st);
	ck_assert_msg(rc == 0, "COPY to other bucket: %d %s", rc, sstr(&st));
	get_range_check(c, b2, "dst/other bucket", data, size, 0, -1);
	rc = s3_head_object(c, b2, "dst/other bucket", &info, &st);
	ck_assert_msg(rc == 0, "HEAD copy 2: %d %s", rc, sstr(&st));
	ck_assert_int_eq(s3_obj_meta_get(&info, "mode", val, sizeof(val)), 0);
	ck_assert_str_eq(val, "0600");
	ck_assert_int_eq(s3_obj_meta_get(&info, "extra", val, sizeof(val)), 0);
	ck_assert_str_eq(val, "yes");

	/* Copying a missing source. */
	rc = s3_copy_object(c, b, "no/such/key", b, "dst/x", NULL, cetag, sizeof(cetag), &st);
	ck_assert_msg(rc == -ENOENT, "COPY of a missing key: %d %s", rc, sstr(&st));
	ck_assert_str_eq(st.code, "NoSuchKey");
	rc = s3_head_object(c, b, "dst/x", &info, &st);
	ck_assert_int_eq(rc, -ENOENT);
	finish(c);
}
END_TEST


/* A copy in parts (UploadPartCopy: how s3csfs archive moves objects past
 * CopyObject's 5 GiB), here 11 MiB in 5 MiB parts onto the same key with
 * the metadata given again. */
START_TEST(test_copy_multipart)
{
	struct s3_client *c = begin(13);
	const char *b = bucket_new(c);
	const size_t size = 11 * MIB + 3;
	unsigned char *data = keep_mem(malloc(size));
	const struct s3_meta_pair meta[] = { { "mode", "0640" } };
	struct s3_put_opts po = { .meta = meta, .nmeta = 1, .content_type = "application/pdf" };
	char etag[S3_ETAG_MAX], cetag[S3_ETAG_MAX], val[64];
	struct s3_obj_info info;
	struct s3_status st;
	struct s3_mpu_list l;
	int rc;

	fill_random(data, size, 6);
	put_mem(c, b, "big/obj.bin", data, size, &po, etag, sizeof(etag));
	rc = s3_copy_object_multipart(c, b, "big/obj.bin", (long long)size, etag, b, "big/obj.bin",
				      5 * MIB, &po, cetag, sizeof(cetag), &st);
	ck_assert_msg(rc == 0, "multipart copy: %d %s", rc, sstr(&st));
	ck_assert_msg(strstr(cetag, "-3") != NULL, "ETag of 3 parts: %s", cetag);
	get_range_check(c, b, "big/obj.bin", data, size, 0, -1);
	rc = s3_head_object(c, b, "big/obj.bin", &info, &st);
	ck_assert_msg(rc == 0, "HEAD: %d %s", rc, sstr(&st));
	ck_assert_int_eq(s3_obj_meta_get(&info, "mode", val, sizeof(val)), 0);
	ck_assert_str_eq(val, "0640");
	ck_assert_str_eq(info.content_type, "application/pdf");

	/* A failed part (no such source) fails the copy and leaves no upload.
	 * (RGW 16 ignores x-amz-copy-source-if-match on UploadPartCopy, so a
	 * stale ETag cannot be the failure here; AWS honours it.) */
	rc = s3_copy_object_multipart(c, b, "big/none.bin", (long long)size, NULL, b, "big/other",
				      5 * MIB, NULL, cetag, sizeof(cetag), &st);
	ck_assert_msg(rc == -ENOENT, "copy of a missing source: %d %s", rc, sstr(&st));
	rc = s3_mpu_list(c, b, "big/", NULL, NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "list uploads: %d %s", rc, sstr(&st));
	ck_assert_msg(l.nuploads == 0, "%zu upload(s) left behind", l.nuploads);
	s3xml_mpu_list_free(&l);
	finish(c);
}
END_TEST

struct mpu_job {
	struct s3_client *c;
	const char *bucket, *key, *upload_id;
	int fd;
	size_t size, part_size;
	struct s3_part parts[16];
	atomic_int inflight, max_inflight;
};

static int mpu_part(void *arg, int i, struct s3_status *st)
{
	struct mpu_job *m = arg;
	size_t off = (size_t)i * m->part_size;
	size_t len = m->size - off < m->part_size ? m->size - off : m->part_size;
	struct http_body body = { .kind = HTTP_BODY_FD, .fd = m->fd, .off = (off_t)off, .len = len };
	int now = atomic_fetch_add(&m->inflight, 1) + 1;
	int prev = atomic_load(&m->max_inflight);
	while (now > prev && !atomic_compare_exchange_weak(&m->max_inflight, &prev, now))
		;
	m->parts[i].number = i + 1;
	int rc = s3_mpu_upload_part(m->c, m->bucket, m->key, m->upload_id, i + 1, &body, NULL,
				    m->parts[i].etag, sizeof(m->parts[i].etag), st);
	atomic_fetch_sub(&m->inflight, 1);
	return rc;
}

/* A 50 MiB multipart upload, 7 parts of 8 MiB (the last 2 MiB) sent from
 * 4 threads, read back whole and compared. */
START_TEST(test_multipart_50mib)
{
	struct s3_client *c = begin(6);
	const char *b = bucket_new(c);
	const size_t size = 50 * MIB, psize = 8 * MIB;
	unsigned char *data = keep_mem(malloc(size));
	char upload_id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
	unsigned char h1[32], h2[32];
	struct mpu_job m;
	struct s3_obj_info info;
	struct s3_status st;
	int fd = temp_fd(), failed = -1, rc;
	double t0;

	fill_random(data, size, 0x5333435346530001ULL);
	ck_assert_int_eq(pwrite(fd, data, size, 0), (ssize_t)size);

	rc = s3_mpu_create(c, b, "big/fifty", NULL, upload_id, sizeof(upload_id), &st);
	ck_assert_msg(rc == 0, "CreateMultipartUpload: %d %s", rc, sstr(&st));
	ck_assert(upload_id[0] != '\0');

	memset(&m, 0, sizeof(m));
	m.c = c;
	m.bucket = b;
	m.key = "big/fifty";
	m.upload_id = upload_id;
	m.fd = fd;
	m.size = size;
	m.part_size = psize;
	atomic_init(&m.inflight, 0);
	atomic_init(&m.max_inflight, 0);
	t0 = now_s();
	rc = run_parallel(4, 7, mpu_part, &m, &st, &failed);
	double t_up = now_s() - t0;
	ck_assert_msg(rc == 0, "UploadPart %d: %d %s", failed + 1, rc, sstr(&st));
	ck_assert_int_eq(atomic_load(&g_stats.requests[S3OP_UPLOAD_PART]), 7);
	ck_assert_msg(atomic_load(&m.max_inflight) >= 2, "parts were not sent in parallel");
	for (int i = 0; i < 7; i++) {
		char want[33];
		size_t off = (size_t)i * psize, len = size - off < psize ? size - off : psize;
		md5_hex_of(data + off, len, want);
		ck_assert_msg(strcmp(m.parts[i].etag, want) == 0, "part %d ETag %s, MD5 %s", i + 1,
			      m.parts[i].etag, want);
	}

	/* The upload is listed while in progress. */
	{
		struct s3_mpu_list l;
		rc = s3_mpu_list(c, b, "big/", NULL, NULL, 0, &l, &st);
		ck_assert_msg(rc == 0, "ListMultipartUploads: %d %s", rc, sstr(&st));
		int ok = l.nuploads == 1 && strcmp(l.uploads[0].key, "big/fifty") == 0 &&
			 strcmp(l.uploads[0].upload_id, upload_id) == 0;
		s3xml_mpu_list_free(&l);
		ck_assert_msg(ok, "the upload in progress is not listed");
	}

	rc = s3_mpu_complete(c, b, "big/fifty", upload_id, m.parts, 7, etag, sizeof(etag), &st);
	ck_assert_msg(rc == 0, "CompleteMultipartUpload: %d %s", rc, sstr(&st));
	size_t el = strlen(etag);
	ck_assert_msg(el == 34 && strcmp(etag + 32, "-7") == 0, "multipart ETag %s", etag);

	rc = s3_head_object(c, b, "big/fifty", &info, &st);
	ck_assert_msg(rc == 0, "HEAD: %d %s", rc, sstr(&st));
	ck_assert_int_eq(info.size, (long long)size);
	ck_assert_str_eq(info.etag, etag);

	/* Whole GET into a file: same SHA-256. */
	{
		int fd2 = temp_fd();
		struct http_sink sink = { .kind = HTTP_SINK_FD, .fd = fd2 };
		t0 = now_s();
		rc = s3_get_object(c, b, "big/fifty", 0, -1, NULL, &sink, NULL, &st);
		double t_get = now_s() - t0;
		ck_assert_msg(rc == 0, "GET to fd: %d %s", rc, sstr(&st));
		ck_assert_int_eq(sink.len, size);
		sha256_fd(fd, size, h1);
		sha256_fd(fd2, size, h2);
		ck_assert_msg(memcmp(h1, h2, 32) == 0, "SHA-256 of the object read back differs");
		digest(EVP_sha256(), data, size, h2);
		ck_assert(memcmp(h1, h2, 32) == 0);
		fprintf(stderr,
			"[it] 50 MiB multipart: 7 parts from 4 threads in %.2f s (max %d "
			"in flight); GET in %.2f s\n",
			t_up, atomic_load(&m.max_inflight), t_get);
	}

	/* Whole GET into memory: identical bytes; the default 16 MiB cap refuses. */
	get_range_check(c, b, "big/fifty", data, size, 0, -1);
	{
		struct http_sink sink = { .kind = HTTP_SINK_MEM };
		rc = s3_get_object(c, b, "big/fifty", 0, -1, NULL, &sink, NULL, &st);
		if (sink.owned)
			free(sink.buf);
		ck_assert_msg(rc == -EMSGSIZE, "50 MiB into a default (16 MiB) sink: %d", rc);
	}
	/* Ranges across part boundaries. */
	get_range_check(c, b, "big/fifty", data, size, (long long)psize - 10, 20);
	get_range_check(c, b, "big/fifty", data, size, 6LL * psize - 1, (long long)psize + 2);
	get_range_check(c, b, "big/fifty", data, size, (long long)size - 3, 100);
	finish(c);
}
END_TEST

/* AbortMultipartUpload, and ListMultipartUploads with max_uploads 2 over
 * 5 uploads (two of them on the same key, so the upload-id marker counts). */
START_TEST(test_multipart_abort_list)
{
	struct s3_client *c = begin(7);
	const char *b = bucket_new(c);
	static const char *const keys[5] = { "up/a", "up/b", "up/b", "up/c", "up/d" };
	char ids[5][S3_UPLOAD_ID_MAX];
	int seen[5] = { 0 };
	char km[S3_KEY_MAX + 1] = "", um[S3_UPLOAD_ID_MAX] = "";
	struct s3_mpu_list l;
	struct s3_status st;
	int rc, pages = 0, total = 0;

	for (int i = 0; i < 5; i++) {
		rc = s3_mpu_create(c, b, keys[i], NULL, ids[i], sizeof(ids[i]), &st);
		ck_assert_msg(rc == 0, "create upload %d: %d %s", i, rc, sstr(&st));
	}
	ck_assert_str_ne(ids[1], ids[2]);
	/* One more outside the prefix, which must not be listed. */
	{
		char other[S3_UPLOAD_ID_MAX];
		rc = s3_mpu_create(c, b, "zz/other", NULL, other, sizeof(other), &st);
		ck_assert_msg(rc == 0, "create upload: %d %s", rc, sstr(&st));
	}

	for (;;) {
		rc = s3_mpu_list(c, b, "up/", km, um, 2, &l, &st);
		ck_assert_msg(rc == 0, "list uploads page %d: %d %s", pages + 1, rc, sstr(&st));
		pages++;
		size_t n = l.nuploads;
		int unknown = 0;
		for (size_t i = 0; i < n; i++) {
			int k;
			for (k = 0; k < 5; k++)
				if (strcmp(l.uploads[i].upload_id, ids[k]) == 0 &&
				    strcmp(l.uploads[i].key, keys[k]) == 0)
					break;
			if (k == 5)
				unknown++;
			else
				seen[k]++;
		}
		int trunc = l.is_truncated;
		snprintf(km, sizeof(km), "%s", l.next_key_marker);
		snprintf(um, sizeof(um), "%s", l.next_upload_id_marker);
		s3xml_mpu_list_free(&l);
		total += (int)n;
		ck_assert_msg(unknown == 0, "page %d lists %d unknown uploads", pages, unknown);
		ck_assert_msg(n <= 2, "page %d has %zu uploads, max 2", pages, n);
		if (!trunc)
			break;
		ck_assert_msg(km[0], "page %d truncated without a key marker", pages);
		ck_assert_msg(pages < 10, "upload listing does not end");
	}
	for (int k = 0; k < 5; k++)
		ck_assert_msg(seen[k] == 1, "upload %d (%s) seen %d times in %d pages", k, keys[k],
			      seen[k], pages);
	ck_assert_int_eq(total, 5);
	ck_assert_int_eq(pages, 3);

	/* Abort the second upload of up/b: it is gone, the first stays. */
	rc = s3_mpu_abort(c, b, "up/b", ids[2], &st);
	ck_assert_msg(rc == 0, "abort: %d %s", rc, sstr(&st));
	rc = s3_mpu_list(c, b, "up/", NULL, NULL, 0, &l, &st);
	ck_assert_msg(rc == 0, "list uploads: %d %s", rc, sstr(&st));
	{
		int gone = 1, first = 0;
		size_t n = l.nuploads;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(l.uploads[i].upload_id, ids[2]) == 0)
				gone = 0;
			if (strcmp(l.uploads[i].upload_id, ids[1]) == 0)
				first = 1;
		}
		s3xml_mpu_list_free(&l);
		ck_assert_msg(gone, "aborted upload still listed");
		ck_assert_msg(first, "the other upload of the same key disappeared");
		ck_assert_int_eq(n, 4);
	}
	/* Aborting again succeeds; a part for it is refused. */
	rc = s3_mpu_abort(c, b, "up/b", ids[2], &st);
	ck_assert_msg(rc == 0, "second abort: %d %s", rc, sstr(&st));
	{
		struct http_body body = { .kind = HTTP_BODY_MEM, .mem = "late", .len = 4 };
		rc = s3_mpu_upload_part(c, b, "up/b", ids[2], 1, &body, NULL, NULL, 0, &st);
		ck_assert_msg(rc == -ENOENT && strcmp(st.code, "NoSuchUpload") == 0,
			      "part for an aborted upload: %d %s", rc, sstr(&st));
		rc = s3_mpu_complete(c, b, "up/b", ids[2], NULL, 0, NULL, 0, &st);
		ck_assert_msg(rc < 0, "completing an aborted upload succeeded");
	}
	/* A completed small upload (one part under 5 MiB is allowed as the
	 * last): ETag "-1". */
	{
		struct s3_part p = { .number = 1 };
		struct http_body body = { .kind = HTTP_BODY_MEM, .mem = "tiny part", .len = 9 };
		char etag[S3_ETAG_MAX];
		rc = s3_mpu_upload_part(c, b, "up/a", ids[0], 1, &body, NULL, p.etag,
					sizeof(p.etag), &st);
		ck_assert_msg(rc == 0, "part: %d %s", rc, sstr(&st));
		rc = s3_mpu_complete(c, b, "up/a", ids[0], &p, 1, etag, sizeof(etag), &st);
		ck_assert_msg(rc == 0, "complete: %d %s", rc, sstr(&st));
		ck_assert_msg(strlen(etag) == 34 && strcmp(etag + 32, "-1") == 0, "ETag %s", etag);
		get_range_check(c, b, "up/a", (const unsigned char *)"tiny part", 9, 0, -1);
	}
	finish(c); /* aborts the rest, and the bucket must then delete */
}
END_TEST

/* S3 errors mapped to errno, with the S3 code and a clean message. */
START_TEST(test_error_mapping)
{
	struct s3_client *c = begin(8);
	const char *b = bucket_new(c);
	char missing_bucket[64], buf[800], etag[S3_ETAG_MAX];
	struct http_sink sink = { .kind = HTTP_SINK_MEM };
	struct s3_obj_info info;
	struct s3_status st;
	int rc;

	put_mem(c, b, "exists", "hello", 5, NULL, etag, sizeof(etag));

	/* 404 NoSuchKey. */
	rc = s3_get_object(c, b, "missing/key", 0, -1, NULL, &sink, NULL, &st);
	ck_assert_msg(rc == -ENOENT, "GET missing key: %d %s", rc, sstr(&st));
	ck_assert_int_eq(st.http_status, 404);
	ck_assert_str_eq(st.code, "NoSuchKey");
	ck_assert_int_eq(st.attempts, 1);
	ck_assert_int_eq(sink.len, 0);
	s3_status_str(&st, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "404") && strstr(buf, "NoSuchKey"), "status text: %s", buf);

	/* 404 NoSuchBucket. */
	bucket_name(T.id, 9, missing_bucket, sizeof(missing_bucket));
	rc = s3_get_object(c, missing_bucket, "k", 0, -1, NULL, &sink, NULL, &st);
	ck_assert_msg(rc == -ENOENT, "GET from a missing bucket: %d %s", rc, sstr(&st));
	ck_assert_int_eq(st.http_status, 404);
	ck_assert_str_eq(st.code, "NoSuchBucket");
	rc = s3_head_bucket(c, missing_bucket, &st);
	ck_assert_msg(rc == -ENOENT, "HEAD missing bucket: %d %s", rc, sstr(&st));
	rc = s3_head_bucket(c, b, &st);
	ck_assert_msg(rc == 0, "HEAD bucket: %d %s", rc, sstr(&st));

	/* HEAD has no body: the code is named from the status. */
	rc = s3_head_object(c, b, "missing/key", &info, &st);
	ck_assert_msg(rc == -ENOENT, "HEAD missing key: %d %s", rc, sstr(&st));
	ck_assert_str_eq(st.code, "NotFound");

	/* 412 on GET with a stale If-Match: -ESTALE; a matching one reads. */
	rc = s3_get_object(c, b, "exists", 0, -1, "0123456789abcdef0123456789abcdef", &sink, NULL,
			   &st);
	ck_assert_msg(rc == -ESTALE, "GET with a stale If-Match: %d %s", rc, sstr(&st));
	ck_assert_int_eq(st.http_status, 412);
	rc = s3_get_object(c, b, "exists", 0, -1, etag, &sink, NULL, &st);
	ck_assert_msg(rc == 0 && sink.len == 5, "GET with the right If-Match: %d %s", rc, sstr(&st));

	/* 409 BucketNotEmpty -> -EEXIST. */
	rc = s3_delete_bucket(c, b, &st);
	ck_assert_msg(rc == -EEXIST, "DELETE of a non-empty bucket: %d %s", rc, sstr(&st));
	ck_assert_str_eq(st.code, "BucketNotEmpty");

	/* If-None-Match: * on an existing key. */
	{
		struct s3_put_opts po = { .if_none_match = 1 };
		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = "other", .len = 5 };
		rc = s3_put_object(c, b, "exists", &hb, &po, NULL, 0, &st);
		ck_assert_msg(rc == -EEXIST, "PUT If-None-Match over an existing key: %d %s", rc,
			      sstr(&st));
		ck_assert_int_eq(st.http_status, 412);
		ck_assert_int_eq(st.attempts, 1);
		get_range_check(c, b, "exists", (const unsigned char *)"hello", 5, 0, -1);
		/* ...and on a new key it creates it. */
		rc = s3_put_object(c, b, "new-inm", &hb, &po, NULL, 0, &st);
		ck_assert_msg(rc == 0, "PUT If-None-Match on a new key: %d %s", rc, sstr(&st));
		get_range_check(c, b, "new-inm", (const unsigned char *)"other", 5, 0, -1);
	}

	/* A wrong Content-MD5 from the caller: BadDigest, retried (as transient)
	 * up to max_retries, then -EIO; nothing is stored. */
	{
		struct s3_client *c1 = client_new(NULL, NULL, 1, 10, 5000);
		struct s3_put_opts po = { .content_md5 = "AAAAAAAAAAAAAAAAAAAAAA==" };
		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = "payload", .len = 7 };
		rc = s3_put_object(c1, b, "bad-md5", &hb, &po, NULL, 0, &st);
		ck_assert_msg(rc == -EIO, "PUT with a wrong Content-MD5: %d %s", rc, sstr(&st));
		ck_assert_str_eq(st.code, "BadDigest");
		ck_assert_int_eq(st.attempts, 2);
		rc = s3_head_object(c, b, "bad-md5", &info, &st);
		ck_assert_int_eq(rc, -ENOENT);
	}

	/* 403 with a wrong secret: -EACCES, a message, never the secret. */
	{
		char wrong[128];
		snprintf(wrong, sizeof(wrong), "WRONG%.30sWRONG", tb.secret_key);
		struct s3_client *bad = client_new(NULL, wrong, 0, 0, 0);
		rc = s3_get_object(bad, b, "exists", 0, -1, NULL, &sink, NULL, &st);
		ck_assert_msg(rc == -EACCES, "GET with a wrong secret: %d %s", rc, sstr(&st));
		ck_assert_int_eq(st.http_status, 403);
		ck_assert_msg(strcmp(st.code, "SignatureDoesNotMatch") == 0 ||
				      strcmp(st.code, "AccessDenied") == 0,
			      "code %s", st.code);
		ck_assert_int_eq(st.attempts, 1);
		s3_status_str(&st, buf, sizeof(buf));
		ck_assert_msg(strlen(buf) > strlen("HTTP 403 ") + strlen(st.code), "status: %s",
			      buf);
		ck_assert_msg(!strstr(buf, wrong) && !strstr(buf, tb.secret_key),
			      "the status text shows the secret");
		ck_assert_msg(!strstr(st.message, wrong) && !strstr(st.message, tb.secret_key),
			      "the message shows the secret");
		fprintf(stderr, "[it] wrong secret -> %s\n", buf);

		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = "x", .len = 1 };
		rc = s3_put_object(bad, b, "exists", &hb, NULL, NULL, 0, &st);
		ck_assert_msg(rc == -EACCES, "PUT with a wrong secret: %d %s", rc, sstr(&st));
		get_range_check(c, b, "exists", (const unsigned char *)"hello", 5, 0, -1);
	}
	/* 403 InvalidAccessKeyId for an unknown access key. */
	{
		struct s3_client *bad = client_new(NULL, NULL, 0, 0, 0);
		snprintf(T.creds[T.nclients - 1].access_key, sizeof(T.creds[0].access_key),
			 "NOSUCHACCESSKEY00000");
		rc = s3_head_bucket(bad, b, &st);
		ck_assert_msg(rc == -EACCES, "HEAD bucket with an unknown key: %d %s", rc,
			      sstr(&st));
		struct s3_list_result l;
		rc = s3_list_objects(bad, b, NULL, NULL, NULL, 0, &l, &st);
		if (rc == 0)
			s3xml_list_result_free(&l);
		ck_assert_msg(rc == -EACCES && strcmp(st.code, "InvalidAccessKeyId") == 0,
			      "LIST with an unknown key: %d %s", rc, sstr(&st));
	}
	if (sink.owned)
		free(sink.buf);
	finish(c);
}
END_TEST

/* The namespace's count of active TCP opens (connect() calls), -1 if
 * unknown: a trace independent of the client's own counters. */
static long long tcp_active_opens(void)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	char names[2048], values[2048];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		if (strncmp(names, "Tcp:", 4) != 0 || strncmp(values, "Tcp:", 4) != 0)
			continue;
		char *sn, *sv;
		char *n = strtok_r(names, " \n", &sn), *val = strtok_r(values, " \n", &sv);
		while (n && val) {
			if (strcmp(n, "ActiveOpens") == 0)
				v = atoll(val);
			n = strtok_r(NULL, " \n", &sn);
			val = strtok_r(NULL, " \n", &sv);
		}
	}
	fclose(f);
	return v;
}

/* Lines of path containing pat; -1 if path cannot be read. */
static int count_lines(const char *path, const char *pat)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int count = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, pat))
			count++;
	fclose(f);
	return count;
}

/* 500 small PUTs in a row: one request each, a handful of connections. */
START_TEST(test_connection_reuse)
{
	struct s3_client *c = begin(9);
	const char *b = bucket_new(c);
	struct s3_status st;
	char key[64], body[100];
	double t0;
	int rc;

	/* g_stats was zeroed by begin(): the connections count includes the
	 * one that created the bucket (and is then reused). */
	memset(body, 'x', sizeof(body));
	uint64_t up0 = atomic_load(&g_stats.bytes_up);
	long long opens0 = tcp_active_opens();
	t0 = now_s();
	for (int i = 0; i < 500; i++) {
		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = body, .len = sizeof(body) };
		snprintf(key, sizeof(key), "reuse/%03d", i);
		body[0] = (char)('a' + i % 26);
		rc = s3_put_object(c, b, key, &hb, NULL, NULL, 0, &st);
		ck_assert_msg(rc == 0, "PUT %s: %d %s", key, rc, sstr(&st));
		ck_assert_int_eq(st.attempts, 1);
	}
	double dt = now_s() - t0;
	long long opens = tcp_active_opens() - opens0;
	unsigned long long conns = atomic_load(&g_stats.connections);
	unsigned long long reqs = atomic_load(&g_stats.requests[S3OP_PUT_OBJECT]);
	fprintf(stderr,
		"[it] 500 sequential small PUTs: %.2f s, %llu PUT requests, %llu TCP connections "
		"opened by the client since the test began (bucket creation included); "
		"/proc/net/snmp Tcp ActiveOpens +%lld during the PUTs (whole host namespace)\n",
		dt, reqs, conns, opens0 >= 0 ? opens : -1LL);
	ck_assert_int_eq(reqs, 500);
	ck_assert_int_eq(atomic_load(&g_stats.retries), 0);
	ck_assert_int_eq(atomic_load(&g_stats.errors[S3OP_PUT_OBJECT]), 0);
	ck_assert_int_eq(atomic_load(&g_stats.bytes_up) - up0, 500 * sizeof(body));
	ck_assert_msg(conns >= 1 && conns <= 10, "%llu TCP connections for 500 PUTs", conns);

	/* The server's own request log, when we can read it, agrees: 500 PUT
	 * requests for these keys, nothing else (no 100-continue retries, no
	 * double sends). */
	if (tb.dir[0]) {
		char path[700];
		snprintf(path, sizeof(path), "%s/radosgw.log", tb.dir);
		char pat[128];
		snprintf(pat, sizeof(pat), "\"PUT /%s/reuse/", b);
		int count = -1;
		/* radosgw writes its log asynchronously: wait for the 500th
		 * line, then look once more for extra ones. */
		for (int tries = 0; tries < 100; tries++) {
			count = count_lines(path, pat);
			if (count < 0)
				break;
			if (count >= 500) {
				usleep(300 * 1000);
				count = count_lines(path, pat);
				break;
			}
			usleep(100 * 1000);
		}
		if (count >= 0) {
			fprintf(stderr, "[it] %s: %d PUT lines for the 500 PUTs\n", path, count);
			ck_assert_msg(count == 500, "the server logged %d PUTs for 500", count);
		} else {
			fprintf(stderr, "[it] %s not readable: server log not checked\n", path);
		}
	}
	finish(c);
}
END_TEST

static int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert(s >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s); /* bound, never listened: connecting is refused */
	return ntohs(sa.sin_port);
}

/* A dead endpoint: refused, retried the set number of times, quickly. */
START_TEST(test_dead_endpoint)
{
	char ep[64], buf[600];
	struct s3_status st;
	struct s3_obj_info info;
	double t0;
	int rc;

	ck_assert_msg(tb.ok, "%s", tb.why);
	T.id = 10;
	memset(&g_stats, 0, sizeof(g_stats));
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", closed_port());

	struct s3_client *c = client_new(ep, NULL, 2, 0, 2000);
	t0 = now_s();
	rc = s3_head_object(c, "bucket", "key", &info, &st);
	double dt = now_s() - t0;
	ck_assert_msg(rc == -ECONNREFUSED, "HEAD at %s: %d %s", ep, rc, sstr(&st));
	ck_assert_int_eq(st.attempts, 3);
	ck_assert_int_eq(st.http_status, 0);
	ck_assert(st.code[0] != '\0');
	ck_assert_msg(dt < 3.0, "3 refused attempts took %.2f s", dt);
	ck_assert_int_eq(atomic_load(&g_stats.retries), 2);
	ck_assert_int_eq(atomic_load(&g_stats.requests[S3OP_HEAD_OBJECT]), 3);
	ck_assert_int_eq(atomic_load(&g_stats.errors[S3OP_HEAD_OBJECT]), 1);
	fprintf(stderr, "[it] dead endpoint: %s after %d attempts in %.3f s\n",
		s3_status_str(&st, buf, sizeof(buf)), st.attempts, dt);

	/* A PUT with a file body is retried the same way. */
	{
		int fd = temp_fd();
		ck_assert_int_eq(pwrite(fd, "abcdef", 6, 0), 6);
		struct http_body hb = { .kind = HTTP_BODY_FD, .fd = fd, .off = 1, .len = 4 };
		rc = s3_put_object(c, "bucket", "key", &hb, NULL, NULL, 0, &st);
		ck_assert_msg(rc == -ECONNREFUSED, "PUT at %s: %d %s", ep, rc, sstr(&st));
		ck_assert_int_eq(st.attempts, 3);
	}

	/* max_retries < 0: a single attempt. */
	struct s3_client *c0 = client_new(ep, NULL, -1, 0, 0);
	rc = s3_head_object(c0, "bucket", "key", &info, &st);
	ck_assert_int_eq(rc, -ECONNREFUSED);
	ck_assert_int_eq(st.attempts, 1);

	/* Many retries allowed, but bounded in total time: retry_max_ms 500
	 * with backoff caps 20, 40, 80, 160 ms allows at least 5 attempts. */
	struct s3_client *cm = client_new(ep, NULL, 100, 20, 500);
	t0 = now_s();
	rc = s3_head_object(cm, "bucket", "key", &info, &st);
	dt = now_s() - t0;
	ck_assert_int_eq(rc, -ECONNREFUSED);
	ck_assert_msg(st.attempts >= 5 && st.attempts < 101, "%d attempts", st.attempts);
	ck_assert_msg(dt < 1.5, "retrying for %.2f s with retry_max_ms 500", dt);
}
END_TEST

/* ---- faults through tests/tools/s3proxy.py ------------------------------ */

static const char *proxy_script(void)
{
	static char path[1024];
	const char *env = getenv("S3PROXY");
	const char *srcdir = getenv("srcdir"); /* set by automake's test harness */
	char exe[512];
	ssize_t n;

	if (env && *env)
		return env;
	const char *top = getenv("TOP"); /* Makefile.am's AM_TESTS_ENVIRONMENT */
	if (top && *top) {
		snprintf(path, sizeof(path), "%s/tests/tools/s3proxy.py", top);
		if (access(path, R_OK) == 0)
			return path;
	}
	if (srcdir && *srcdir) {
		snprintf(path, sizeof(path), "%s/tests/tools/s3proxy.py", srcdir);
		if (access(path, R_OK) == 0)
			return path;
	}
	if (access("tests/tools/s3proxy.py", R_OK) == 0)
		return "tests/tools/s3proxy.py";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/../tools/s3proxy.py", exe);
			if (access(path, R_OK) == 0)
				return path;
		}
	}
	return NULL;
}

/* Starts the proxy in front of the S3 server; returns its port. It dies
 * with this process (PR_SET_PDEATHSIG) even if a failed test exits. */
static int proxy_start(const char *faults, char *logpath, size_t loglen)
{
	const char *script = proxy_script();
	const char *ep = tb.endpoint;
	char dir[256], portfile[300], upstream[256], seed[] = "20261125";
	int port = 0;

	ck_assert_msg(script, "tests/tools/s3proxy.py not found (set S3PROXY or srcdir)");
	ck_assert_msg(strncmp(ep, "http://", 7) == 0,
		      "the fault proxy speaks plain HTTP only; endpoint %s", ep);
	snprintf(upstream, sizeof(upstream), "%.*s", (int)strcspn(ep + 7, "/"), ep + 7);
	/* The directory belongs to main(), which removes it after the run,
	 * whatever happened to the test. */
	ck_assert_msg(proxy_root[0], "no temporary directory for the proxy");
	snprintf(dir, sizeof(dir), "%s", proxy_root);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	snprintf(logpath, loglen, "%s/log", dir);
	unlink(portfile);
	unlink(logpath);

	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execlp("python3", "python3", script, "--listen", "127.0.0.1:0", "--upstream",
		       upstream, "--port-file", portfile, "--log", logpath, "--faults", faults,
		       "--seed", seed, (char *)NULL);
		fprintf(stderr, "exec python3 %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	T.proxy_pid = pid;
	for (int i = 0; i < 200 && port <= 0; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (port <= 0) {
			int status;
			ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0,
				      "the fault proxy (python3 %s) exited at start", script);
			usleep(50 * 1000);
		}
	}
	ck_assert_msg(port > 0, "the fault proxy did not start within 10 s");
	return port;
}

static void proxy_stop(void)
{
	if (T.proxy_pid > 0) {
		kill(T.proxy_pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(T.proxy_pid, NULL, WNOHANG) != 0)
				break;
			usleep(20 * 1000);
			if (i == 99) {
				kill(T.proxy_pid, SIGKILL);
				waitpid(T.proxy_pid, NULL, 0);
			}
		}
		T.proxy_pid = 0;
	}
}

static void proxy_root_remove(void)
{
	char p[400];

	if (!proxy_root[0])
		return;
	snprintf(p, sizeof(p), "%s/port", proxy_root);
	unlink(p);
	snprintf(p, sizeof(p), "%s/log", proxy_root);
	unlink(p);
	rmdir(proxy_root);
	proxy_root[0] = '\0';
}

/* Replaces the proxy's fault spec through its control endpoint. */
static void proxy_faults(int port, const char *spec)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[1024], enc[700], resp[512];
	size_t e = 0;
	ssize_t n, got = 0;
	int s;

	for (const char *p = spec; *p && e + 4 < sizeof(enc); p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~:", *p))
			enc[e++] = *p;
		else
			e += (size_t)snprintf(enc + e, sizeof(enc) - e, "%%%02X", (unsigned char)*p);
	}
	enc[e] = '\0';
	snprintf(req, sizeof(req),
		 "POST /_proxy/faults?spec=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Content-Length: 0\r\nConnection: close\r\n\r\n",
		 enc);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(s >= 0);
	ck_assert_msg(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0, "proxy control: %s",
		      strerror(errno));
	ck_assert(write(s, req, strlen(req)) == (ssize_t)strlen(req));
	while (got < (ssize_t)sizeof(resp) - 1 &&
	       (n = read(s, resp + got, sizeof(resp) - 1 - (size_t)got)) > 0)
		got += n;
	close(s);
	resp[got > 0 ? got : 0] = '\0';
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "setting faults '%s': %.200s", spec,
		      resp);
}

/* How many requests of op (NULL: any) the proxy's log shows with fault
 * kind (NULL: any; "-": none). */
static int proxy_log_count(const char *logpath, const char *op, const char *kind)
{
	FILE *f = fopen(logpath, "r");
	char line[4096];
	int count = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		const char *last = strrchr(line, ' ');
		if ((!op || (strncmp(line, op, strlen(op)) == 0 && line[strlen(op)] == ' ')) &&
		    last && (!kind || strcmp(last + 1, kind) == 0))
			count++;
	}
	fclose(f);
	return count;
}

struct flaky_put {
	struct s3_client *c;
	const char *bucket;
	int fd;
	size_t part;
	const unsigned char *data;
};

static int flaky_put_one(void *arg, int i, struct s3_status *st)
{
	struct flaky_put *f = arg;
	char key[64];
	snprintf(key, sizeof(key), "flaky/%03d", i);
	struct http_body hb = { .kind = HTTP_BODY_FD,
				.fd = f->fd,
				.off = (off_t)(i * f->part),
				.len = f->part };
	return s3_put_object(f->c, f->bucket, key, &hb, NULL, NULL, 0, st);
}

/* Retries through injected faults: 503 SlowDown, 500, connections reset
 * before and after the server acted, truncated bodies, stalls; the replayed
 * bodies (memory and file) reach the server intact. */
START_TEST(test_retries_through_proxy)
{
	struct s3_client *direct = begin(12);
	const char *b = bucket_new(direct);
	char logpath[400], ep[64];
	const size_t size = 24 * MIB, part = 5 * MIB + 17;
	unsigned char *data = keep_mem(malloc(size));
	int fd = temp_fd(), failed = -1, rc;
	struct s3_status st;
	struct s3_obj_info info;

	fill_random(data, size, 12);
	ck_assert_int_eq(pwrite(fd, data, size, 0), (ssize_t)size);
	int port = proxy_start("503:0.3@PutObject+UploadPart+HeadObject+ListObjectsV2,"
			       "reset-after:0.3@PutObject+UploadPart+DeleteObject,"
			       "reset-before:0.2@GetObject+HeadObject+CreateMultipartUpload,"
			       "truncate:0.3@GetObject,500:0.2@ListObjectsV2",
			       logpath, sizeof(logpath));
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	/* Up to 20 retries, fast: a request fails ~half the time here. */
	struct s3_client *c = client_new(ep, NULL, 20, 5, 60000);
	memset(&g_stats, 0, sizeof(g_stats));

	/* 20 small PUTs from memory. */
	for (int i = 0; i < 20; i++) {
		char key[32];
		snprintf(key, sizeof(key), "small/%02d", i);
		put_mem(c, b, key, data + i * 1000, 1000, NULL, NULL, 0);
	}
	/* 4 PUTs of 5 MiB from a file, 4 threads. */
	struct flaky_put fp = { c, b, fd, part, data };
	rc = run_parallel(4, 4, flaky_put_one, &fp, &st, &failed);
	ck_assert_msg(rc == 0, "PUT flaky/%03d: %d %s", failed, rc, sstr(&st));
	/* A multipart upload of 4 parts from file bodies. */
	{
		struct mpu_job m;
		char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
		rc = s3_mpu_create(c, b, "flaky/mpu", NULL, id, sizeof(id), &st);
		ck_assert_msg(rc == 0, "CreateMultipartUpload: %d %s", rc, sstr(&st));
		memset(&m, 0, sizeof(m));
		m.c = c;
		m.bucket = b;
		m.key = "flaky/mpu";
		m.upload_id = id;
		m.fd = fd;
		m.size = 4 * part;
		m.part_size = part;
		rc = run_parallel(4, 4, mpu_part, &m, &st, &failed);
		ck_assert_msg(rc == 0, "UploadPart %d: %d %s", failed + 1, rc, sstr(&st));
		/* Completion is not idempotent on RGW (a retry after a lost answer
		 * finds NoSuchUpload): completed directly. */
		rc = s3_mpu_complete(direct, b, "flaky/mpu", id, m.parts, 4, etag, sizeof(etag),
				     &st);
		ck_assert_msg(rc == 0, "CompleteMultipartUpload: %d %s", rc, sstr(&st));
	}
	/* Everything reads back, through the faults, into each kind of sink. */
	for (int i = 0; i < 20; i++) {
		char key[32];
		snprintf(key, sizeof(key), "small/%02d", i);
		get_range_check(c, b, key, data + i * 1000, 1000, 0, -1);
	}
	for (int i = 0; i < 4; i++) {
		char key[32];
		snprintf(key, sizeof(key), "flaky/%03d", i);
		get_range_check(c, b, key, data + i * part, part, 0, -1);
		rc = s3_head_object(c, b, key, &info, &st);
		ck_assert_msg(rc == 0 && info.size == (long long)part, "HEAD %s: %d %s", key, rc,
			      sstr(&st));
	}
	{
		int fd2 = temp_fd();
		unsigned char h1[32], h2[32];
		struct http_sink sink = { .kind = HTTP_SINK_FD, .fd = fd2 };
		for (int round = 0; round < 3; round++) {
			rc = s3_get_object(c, b, "flaky/mpu", 0, -1, NULL, &sink, NULL, &st);
			ck_assert_msg(rc == 0, "GET flaky/mpu to fd: %d %s", rc, sstr(&st));
			ck_assert_int_eq(sink.len, 4 * part);
			sha256_fd(fd2, 4 * part, h1);
			digest(EVP_sha256(), data, 4 * part, h2);
			ck_assert_msg(memcmp(h1, h2, 32) == 0,
				      "multipart object differs (round %d)", round);
		}
	}
	list_all_check(c, b, "small/", "small/", 2, 20, 3);
	for (int i = 0; i < 20; i++) {
		char key[32];
		snprintf(key, sizeof(key), "small/%02d", i);
		rc = s3_delete_object(c, b, key, &st);
		ck_assert_msg(rc == 0, "DELETE %s: %d %s", key, rc, sstr(&st));
	}

	unsigned long long retries = atomic_load(&g_stats.retries);
	int n503 = proxy_log_count(logpath, "PutObject", "503") +
		   proxy_log_count(logpath, "UploadPart", "503");
	int nreset = proxy_log_count(logpath, "PutObject", "reset-after") +
		     proxy_log_count(logpath, "UploadPart", "reset-after");
	int ntrunc = proxy_log_count(logpath, "GetObject", "truncate");
	int nrb = proxy_log_count(logpath, "GetObject", "reset-before") +
		  proxy_log_count(logpath, "HeadObject", "reset-before");
	fprintf(stderr,
		"[it] through the fault proxy: %llu retries; injected on uploads: %d x 503, %d x "
		"reset after the server acted; on reads: %d x truncated, %d x reset before\n",
		retries, n503, nreset, ntrunc, nrb);
	ck_assert_msg(n503 > 0 && nreset > 0 && ntrunc > 0 && nrb > 0,
		      "the proxy did not inject every kind of fault (log %s)", logpath);
	/* Each retry answers an injected fault; but libcurl itself resends a
	 * request, once, when a reused connection dies before any answer byte
	 * (reset-before, reset-after), so some faults cost no retry here. */
	int lines = proxy_log_count(logpath, NULL, NULL);
	int faults = lines - proxy_log_count(logpath, NULL, "-");
	unsigned long long attempts = 0;
	for (int op = 0; op < S3OP_COUNT; op++)
		attempts += atomic_load(&g_stats.requests[op]);
	fprintf(stderr,
		"[it] proxy saw %d requests (%d with a fault) for %llu client attempts: %lld "
		"resent by libcurl on its own\n",
		lines, faults, attempts, (long long)lines - (long long)attempts);
	ck_assert_msg(retries > 0 && retries <= (unsigned long long)faults,
		      "%llu retries for %d injected faults", retries, faults);
	ck_assert_msg((unsigned long long)lines >= attempts,
		      "%d proxied requests for %llu attempts", lines, attempts);

	/* Exhausted retries: 503 SlowDown every time, 2 retries -> -EIO. */
	proxy_faults(port, "503:1@HeadObject,500:1@PutObject");
	{
		struct s3_client *c2 = client_new(ep, NULL, 2, 5, 5000);
		rc = s3_head_object(c2, b, "flaky/000", &info, &st);
		ck_assert_msg(rc == -EIO, "HEAD through constant 503s: %d %s", rc, sstr(&st));
		ck_assert_int_eq(st.http_status, 503);
		ck_assert_int_eq(st.attempts, 3);
		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = "x", .len = 1 };
		rc = s3_put_object(c2, b, "never", &hb, NULL, NULL, 0, &st);
		ck_assert_msg(rc == -EIO, "PUT through constant 500s: %d %s", rc, sstr(&st));
		ck_assert_int_eq(st.http_status, 500);
		ck_assert_str_eq(st.code, "InternalError");
		ck_assert_int_eq(st.attempts, 3);
	}
	/* A stalled answer: the low-speed limit gives up, -ETIMEDOUT. */
	proxy_faults(port, "stall:1:5@GetObject");
	{
		struct s3_client_opts o;
		struct s3_creds *cr;
		char err[256];
		ck_assert(T.nclients < 8);
		cr = &T.creds[T.nclients];
		memset(cr, 0, sizeof(*cr));
		snprintf(cr->access_key, sizeof(cr->access_key), "%s", tb.access_key);
		snprintf(cr->secret_key, sizeof(cr->secret_key), "%s", tb.secret_key);
		memset(&o, 0, sizeof(o));
		o.endpoint = ep;
		o.region = tb.region;
		o.path_style = 1;
		o.creds.get = s3_creds_static_get;
		o.creds.ctx = cr;
		o.max_retries = -1;
		o.http.low_speed_time_s = 1;
		struct s3_client *c3 = s3_client_new(&o, err, sizeof(err));
		ck_assert_msg(c3, "%s", err);
		T.clients[T.nclients++] = c3;
		struct http_sink sink = { .kind = HTTP_SINK_MEM };
		double t0 = now_s();
		rc = s3_get_object(c3, b, "flaky/000", 0, -1, NULL, &sink, NULL, &st);
		double dt = now_s() - t0;
		if (sink.owned)
			free(sink.buf);
		ck_assert_msg(rc == -ETIMEDOUT, "GET from a stalled server: %d %s", rc, sstr(&st));
		ck_assert_msg(dt < 4.0, "the 1 s low-speed limit took %.1f s", dt);
	}
	/* A huge listing answer is refused, not swallowed. */
	proxy_faults(port, "hugexml:1:20000000@ListObjectsV2");
	{
		struct s3_list_result l;
		rc = s3_list_objects(c, b, NULL, NULL, NULL, 0, &l, &st);
		if (rc == 0)
			s3xml_list_result_free(&l);
		ck_assert_msg(rc == -EMSGSIZE, "a 20 MB listing: %d %s", rc, sstr(&st));
	}
	/* Malformed XML in a 200 answer. */
	proxy_faults(port, "badxml:1@ListObjectsV2");
	{
		struct s3_list_result l;
		rc = s3_list_objects(c, b, NULL, NULL, NULL, 0, &l, &st);
		if (rc == 0)
			s3xml_list_result_free(&l);
		ck_assert_msg(rc == -EPROTO, "a malformed listing: %d %s", rc, sstr(&st));
	}
	proxy_stop();
	finish(direct);
}
END_TEST

static Suite *s3_client_suite(void)
{
	Suite *s = suite_create("s3_client (integration)");
	TCase *tc = tcase_create("rgw");

	tcase_set_timeout(tc, TCASE_TIMEOUT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_object_roundtrip);
	tcase_add_test(tc, test_key_names);
	tcase_add_test(tc, test_list_delimiter);
	tcase_add_test(tc, test_list_pagination_small);
	tcase_add_test(tc, test_list_pagination_1100);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_copy_multipart);
	tcase_add_test(tc, test_multipart_50mib);
	tcase_add_test(tc, test_multipart_abort_list);
	tcase_add_test(tc, test_error_mapping);
	tcase_add_test(tc, test_connection_reuse);
	tcase_add_test(tc, test_dead_endpoint);
	tcase_add_test(tc, test_retries_through_proxy);
	suite_add_tcase(s, tc);
	return s;
}

/* A client outside any test (no Check assertions), with few retries. */
static struct s3_client *plain_client(struct s3_creds *cr, char *err, size_t errlen)
{
	struct s3_client_opts o;

	memset(cr, 0, sizeof(*cr));
	snprintf(cr->access_key, sizeof(cr->access_key), "%s", tb.access_key);
	snprintf(cr->secret_key, sizeof(cr->secret_key), "%s", tb.secret_key);
	memset(&o, 0, sizeof(o));
	o.endpoint = tb.endpoint;
	o.region = tb.region;
	o.path_style = 1;
	o.creds.get = s3_creds_static_get;
	o.creds.ctx = cr;
	o.max_retries = 2;
	o.retry_max_ms = 2000;
	return s3_client_new(&o, err, errlen);
}

/* Does the server answer, and accept the keys? Otherwise every test would
 * spend its retry budget finding out. */
static void preflight(void)
{
	struct s3_creds cr;
	struct s3_status st;
	char err[256], name[64];
	struct s3_client *c = plain_client(&cr, err, sizeof(err));
	int rc;

	if (!c) {
		tb.ok = 0;
		snprintf(tb.why, sizeof(tb.why), "bad S3 settings from %s: %s", tb.source, err);
		return;
	}
	bucket_name(0, 0, name, sizeof(name));
	rc = s3_head_bucket(c, name, &st);
	if (st.http_status == 0) {
		tb.ok = 0;
		snprintf(tb.why, sizeof(tb.why),
			 "the S3 server at %s (from %s) does not answer: %s; start the server: "
			 "scripts/s3-server start",
			 tb.endpoint, tb.source, sstr(&st));
	} else if (rc == -EACCES) {
		tb.ok = 0;
		snprintf(tb.why, sizeof(tb.why), "the S3 server at %s refuses the keys from %s: %s",
			 tb.endpoint, tb.source, sstr(&st));
	}
	s3_client_free(c);
	explicit_bzero(&cr, sizeof(cr));
}

/* Removes buckets that failed or timed-out tests left behind. */
static void sweep(void)
{
	struct s3_client *c;
	struct s3_creds cr;
	char err[256];

	c = plain_client(&cr, err, sizeof(err));
	if (!c)
		return;
	for (int id = 1; id <= 12; id++)
		for (int k = 0; k < MAX_BUCKETS_PER_TEST; k++) {
			char name[64], why[800] = "";
			struct s3_status st;
			bucket_name(id, k, name, sizeof(name));
			if (s3_head_bucket(c, name, &st) != 0)
				continue;
			int rc = bucket_purge(c, name, 1, why, sizeof(why));
			fprintf(stderr, "[it] removed leftover bucket %s%s%s\n", name,
				rc ? ": " : "", rc ? why : "");
		}
	s3_client_free(c);
	explicit_bzero(&cr, sizeof(cr));
}

int main(void)
{
	SRunner *sr;
	int failed;
	double t0 = now_s();

	main_pid = getpid();
	xmlInitParser();
	testbed_load();
	if (tb.ok)
		preflight();
	if (tb.ok) {
		const char *tmp = getenv("TMPDIR");
		snprintf(proxy_root, sizeof(proxy_root), "%s/s3csfs-it-proxy-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(proxy_root))
			proxy_root[0] = '\0';
	}
	if (tb.ok)
		fprintf(stderr, "[it] S3 server %s (region %s) from %s\n", tb.endpoint, tb.region,
			tb.source);
	else
		fprintf(stderr, "[it] FAIL: %s\n", tb.why);
	sr = srunner_create(s3_client_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (tb.ok)
		sweep();
	proxy_root_remove();
	fprintf(stderr, "[it] total %.1f s\n", now_s() - t0);
	xmlCleanupParser();
	return failed == 0 && tb.ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
