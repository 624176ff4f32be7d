/* audit.c - content URLs against the buckets: missing, orphans, sizes,
 * checksums. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "digest.h"
#include "mapping.h"
#include "stats.h"
#include "store.h"
#include "workq.h"

#define URL_SCHEME "store://"
#define BAD_LINES_SHOWN 20
#define VERIFY_CHUNK (8LL << 20)
#define MAX_GROUPS 64

struct group {                       /* one S3 bucket, listed once */
	const struct bucket_conf *b; /* the first section naming it */
	char *prefixes[MAX_GROUPS];  /* sorted, none inside another */
	size_t nprefixes;
};

struct audit {
	const struct config *cfg;
	struct store store;
	int json, verify, tty;
	const char *only; /* --bucket */
	pthread_mutex_t out_lock;
	pthread_cond_t cond;
	int queued, limit;
	atomic_llong missing, orphans, sizes, checksums, unverifiable, verified, listed, errors;
	long long orphan_bytes, urls, bad;
	time_t now;
};

/* ---- output ---- */

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* One finding: a JSON line, or a line for people. expected and actual
 * are values already formatted (numbers or strings), NULL for null. */
static void finding(struct audit *a, const char *kind, const char *path, const char *bucket,
		    const char *key, const char *expected, const char *actual, int numeric,
		    long long size, time_t mtime)
{
	char url[S3_KEY_MAX + 16];

	if (path)
		snprintf(url, sizeof(url), URL_SCHEME "%s", path);
	pthread_mutex_lock(&a->out_lock);
	if (a->tty)
		fputs("\r\033[K", stderr);
	if (a->json) {
		printf("{\"kind\": \"%s\", \"url\": ", kind);
		json_str(stdout, path ? url : NULL);
		printf(", \"bucket\": ");
		json_str(stdout, bucket);
		printf(", \"key\": ");
		json_str(stdout, key);
		printf(", \"expected\": ");
		if (numeric && expected)
			fputs(expected, stdout);
		else
			json_str(stdout, expected);
		printf(", \"actual\": ");
		if (numeric && actual)
			fputs(actual, stdout);
		else
			json_str(stdout, actual);
		if (mtime)
			printf(", \"size\": %lld, \"age_s\": %lld", size,
			       (long long)(a->now - mtime));
		printf("}\n");
	} else if (strcmp(kind, "orphan") == 0) {
		printf("orphan    %s/%s: %lld bytes, %.1f days old, not referenced\n", bucket, key,
		       size, (double)(a->now - mtime) / 86400.0);
	} else if (strcmp(kind, "missing") == 0) {
		printf("missing   %s: no object %s/%s\n", url, bucket, key);
	} else {
		printf("%-9s %s: %s/%s: expected %s, found %s\n", kind, url, bucket, key,
		       expected ? expected : "-", actual ? actual : "-");
	}
	pthread_mutex_unlock(&a->out_lock);
}

static void progress(struct audit *a, const char *what)
{
	if (!a->tty)
		return;
	pthread_mutex_lock(&a->out_lock);
	fprintf(stderr, "\r\033[K%s: %lld URLs, %lld objects listed, %lld verified, %lld findings",
		what, a->urls, (long long)atomic_load(&a->listed),
		(long long)atomic_load(&a->verified),
		(long long)(atomic_load(&a->missing) + atomic_load(&a->orphans) +
			    atomic_load(&a->sizes) + atomic_load(&a->checksums)));
	fflush(stderr);
	pthread_mutex_unlock(&a->out_lock);
}

/* ---- the URL list, mapped and sorted ---- */

/* Parses one line: "store://PATH" or "store://PATH SIZE". 0, or -1 with
 * why. */
static int parse_line(char *line, char **path, long long *size, const char **why)
{
	char *sp, *end;

	if (strncmp(line, URL_SCHEME, strlen(URL_SCHEME)) != 0) {
		*why = "does not start with " URL_SCHEME;
		return -1;
	}
	*path = line + strlen(URL_SCHEME);
	*size = -1;
	sp = strchr(*path, ' ');
	if (sp) {
		*sp = '\0';
		errno = 0;
		if (!sp[1] || sp[1] < '0' || sp[1] > '9' ||
		    (*size = strtoll(sp + 1, &end, 10), *end) || errno) {
			*why = "the size after the URL is not a whole number of bytes";
			return -1;
		}
	}
	if (!**path) {
		*why = "empty path";
		return -1;
	}
	return 0;
}

static int bucket_wanted(const struct audit *a, const struct bucket_conf *b)
{
	return !a->only || strcmp(a->only, b->name) == 0 || strcmp(a->only, b->id) == 0;
}

/* Reads the URLs, writes "bucket\tkey\tsize\tpath" to sort(1). */
static int read_urls(struct audit *a, FILE *in, FILE *sorter)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long long lineno = 0;

	while ((n = getline(&line, &cap, in)) >= 0) {
		char *path;
		const char *why = NULL;
		long long size;
		struct target t;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		int rc = parse_line(line, &path, &size, &why);
		if (rc == 0 && (rc = map_path(a->cfg, path, &t)) < 0)
			why = rc == -ENAMETOOLONG ? "the path is too long for an S3 key"
						  : "not a content-store path (empty, '.', '..' or "
						    "control characters in it)";
		if (why) {
			if (++a->bad <= BAD_LINES_SHOWN)
				fprintf(stderr, "%ss3csfs audit: line %lld: %s: '%.100s'\n",
					a->tty ? "\r\033[K" : "", lineno, why, line);
			continue;
		}
		a->urls++;
		if (!bucket_wanted(a, t.bucket))
			continue;
		if (fprintf(sorter, "%s\t%s\t%lld\t%s\n", t.bucket->name, t.key, size, path) < 0) {
			free(line);
			fprintf(stderr, "s3csfs audit: sort(1) stopped taking input: %s\n",
				strerror(errno));
			return -1;
		}
		if (a->urls % 100000 == 0)
			progress(a, "reading");
	}
	free(line);
	if (ferror(in)) {
		fprintf(stderr, "s3csfs audit: reading the URL list: %s\n", strerror(errno));
		return -1;
	}
	if (a->bad > BAD_LINES_SHOWN)
		fprintf(stderr, "s3csfs audit: ... %lld bad lines in all\n", a->bad);
	return 0;
}

/* One reference from the sorted file. */
struct ref {
	char *line;
	size_t cap;
	char *bucket, *key, *path;
	long long size;
	int valid;
};

static void ref_next(FILE *f, struct ref *r)
{
	ssize_t n = getline(&r->line, &r->cap, f);
	char *t1, *t2, *t3;

	r->valid = 0;
	if (n <= 0)
		return;
	if (r->line[n - 1] == '\n')
		r->line[n - 1] = '\0';
	t1 = strchr(r->line, '\t');
	t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
	if (!t3)
		return;
	*t1 = *t2 = *t3 = '\0';
	r->bucket = r->line;
	r->key = t1 + 1;
	r->size = strtoll(t2 + 1, NULL, 10);
	r->path = t3 + 1;
	r->valid = 1;
}

/* ---- buckets ---- */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int cmp_group(const void *x, const void *y)
{
	return strcmp(((const struct group *)x)->b->name, ((const struct group *)y)->b->name);
}

/* The buckets to list, sorted by name (as the references are), each with
 * the prefixes of every section that stores in it. */
static size_t make_groups(const struct audit *a, struct group *g, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->cfg->nbuckets; i++) {
		const struct bucket_conf *b = &a->cfg->buckets[i];
		size_t j;
		if (!bucket_wanted(a, b))
			continue;
		for (j = 0; j < n && strcmp(g[j].b->name, b->name) != 0; j++)
			;
		if (j == n) {
			if (n == max)
				continue;
			g[n].b = b;
			g[n++].nprefixes = 0;
		}
		if (g[j].nprefixes < MAX_GROUPS)
			g[j].prefixes[g[j].nprefixes++] = b->key_prefix;
	}
	for (size_t j = 0; j < n; j++) {
		struct group *x = &g[j];
		size_t k = 0;
		qsort(x->prefixes, x->nprefixes, sizeof(char *), cmp_str);
		/* Sorted, a prefix inside another comes right after it. */
		for (size_t i = 0; i < x->nprefixes; i++)
			if (k == 0 || strncmp(x->prefixes[i], x->prefixes[k - 1],
					      strlen(x->prefixes[k - 1])) != 0)
				x->prefixes[k++] = x->prefixes[i];
		x->nprefixes = k;
	}
	qsort(g, n, sizeof(*g), cmp_group);
	return n;
}

/* A bucket's keys in order, page by page, over its prefixes. */
struct lister {
	struct audit *a;
	const struct group *g;
	size_t prefix;
	struct s3_list_result page;
	size_t pos;
	char token[S3_TOKEN_MAX];
	int more, started, error;
};

/* The next object, or NULL at the end (error set on failure). */
static const struct s3_object_entry *lister_next(struct lister *l)
{
	while (!l->error) {
		if (l->started && l->pos < l->page.nobjects)
			return &l->page.objects[l->pos++];
		if (l->started) {
			s3xml_list_result_free(&l->page);
			memset(&l->page, 0, sizeof(l->page));
			if (!l->more && ++l->prefix >= l->g->nprefixes)
				return NULL;
		}
		int rc = l->a->store.ops->list(l->a->store.ctx, l->g->b, l->g->prefixes[l->prefix],
					       NULL, l->more ? l->token : NULL, 1000, &l->page);
		l->started = 1;
		l->pos = 0;
		if (rc < 0) {
			memset(&l->page, 0, sizeof(l->page));
			fprintf(stderr, "s3csfs audit: listing bucket %s prefix '%s' failed: %s\n",
				l->g->b->name, l->g->prefixes[l->prefix], strerror(-rc));
			l->error = rc;
			return NULL;
		}
		l->more = l->page.is_truncated && l->page.next_token[0];
		snprintf(l->token, sizeof(l->token), "%s", l->page.next_token);
		atomic_fetch_add(&l->a->listed, (long long)l->page.nobjects);
		progress(l->a, "listing");
	}
	return NULL;
}

/* ---- --verify ---- */

struct verify_job {
	struct audit *a;
	struct target t;
	long long size;
	char etag[S3_ETAG_MAX];
	char path[S3_KEY_MAX + 1];
};

static void verify_run(void *arg)
{
	struct verify_job *j = arg;
	struct audit *a = j->a;
	struct etag_digest d;
	char got[S3_ETAG_MAX];
	char *buf = NULL;
	int rc = etag_is_digest(j->t.bucket, j->etag)
			 ? etag_digest_init(&d, j->etag, j->size, a->cfg->part_size)
			 : -ENOTSUP;

	if (rc == 0 && !(buf = malloc((size_t)VERIFY_CHUNK))) {
		etag_digest_free(&d);
		rc = -ENOMEM;
	}
	for (long long off = 0; rc == 0 && off < j->size;) {
		long long len = j->size - off < VERIFY_CHUNK ? j->size - off : VERIFY_CHUNK;
		struct http_sink sink = { .kind = HTTP_SINK_MEM, .buf = buf, .cap = (size_t)len };
		rc = a->store.ops->get(a->store.ctx, &j->t, off, len, j->etag, &sink, NULL);
		if (rc == 0 && sink.len == 0)
			rc = -EIO;
		if (rc == 0)
			rc = etag_digest_update(&d, buf, sink.len);
		off += (long long)sink.len;
		if (rc < 0)
			etag_digest_free(&d);
	}
	free(buf);
	if (rc == 0) {
		rc = etag_digest_final(&d, j->etag, got, sizeof(got));
		if (rc == -EBADMSG) {
			atomic_fetch_add(&a->checksums, 1);
			finding(a, "checksum", j->path, j->t.bucket->name, j->t.key, j->etag, got,
				0, 0, 0);
		}
		atomic_fetch_add(&a->verified, 1);
	} else if (rc == -ENOTSUP) {
		atomic_fetch_add(&a->unverifiable, 1);
	} else {
		atomic_fetch_add(&a->errors, 1);
		pthread_mutex_lock(&a->out_lock);
		fprintf(stderr, "%ss3csfs audit: cannot verify %s/%s: %s\n",
			a->tty ? "\r\033[K" : "", j->t.bucket->name, j->t.key,
			rc == -ESTALE ? "it changed while it was read" : strerror(-rc));
		pthread_mutex_unlock(&a->out_lock);
	}
	pthread_mutex_lock(&a->out_lock);
	a->queued--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->out_lock);
	free(j);
}

static void verify_submit(struct audit *a, struct workq *q, const struct ref *r,
			  const struct s3_object_entry *o)
{
	struct verify_job *j = calloc(1, sizeof(*j));

	if (!j || map_path(a->cfg, r->path, &j->t) < 0) {
		free(j);
		atomic_fetch_add(&a->errors, 1);
		return;
	}
	j->a = a;
	j->size = o->size;
	snprintf(j->etag, sizeof(j->etag), "%s", o->etag);
	snprintf(j->path, sizeof(j->path), "%s", r->path);
	pthread_mutex_lock(&a->out_lock);
	while (a->queued >= a->limit)
		pthread_cond_wait(&a->cond, &a->out_lock);
	a->queued++;
	pthread_mutex_unlock(&a->out_lock);
	if (workq_submit(q, verify_run, j) < 0) {
		pthread_mutex_lock(&a->out_lock);
		a->queued--;
		pthread_mutex_unlock(&a->out_lock);
		free(j);
		atomic_fetch_add(&a->errors, 1);
	}
}

/* ---- the merge ---- */

static void orphan(struct audit *a, const struct group *g, const struct s3_object_entry *o)
{
	char size[32];
	snprintf(size, sizeof(size), "%lld", o->size);
	atomic_fetch_add(&a->orphans, 1);
	a->orphan_bytes += o->size;
	finding(a, "orphan", NULL, g->b->name, o->key, NULL, size, 1, o->size,
		o->last_modified ? o->last_modified : 1);
}

/* Merges one bucket's listing with its references (refs sorted by key,
 * positioned at its first). */
static int audit_bucket(struct audit *a, const struct group *g, FILE *refs, struct ref *r,
			struct workq *vq)
{
	struct lister l = { .a = a, .g = g };
	const struct s3_object_entry *o = lister_next(&l);
	char last[S3_KEY_MAX + 1] = "";
	int have_last = 0;

	while (!l.error) {
		int in_bucket = r->valid && strcmp(r->bucket, g->b->name) == 0;
		if (in_bucket && have_last && strcmp(r->key, last) == 0) {
			ref_next(refs, r); /* the same URL again */
			continue;
		}
		if (!in_bucket && !o)
			break;
		int c = !in_bucket ? 1 : !o ? -1 : strcmp(r->key, o->key);
		if (c > 0) {
			orphan(a, g, o);
			o = lister_next(&l);
			continue;
		}
		if (c < 0) {
			char exp[32];
			snprintf(exp, sizeof(exp), "%lld", r->size);
			atomic_fetch_add(&a->missing, 1);
			finding(a, "missing", r->path, g->b->name, r->key,
				r->size >= 0 ? exp : NULL, NULL, 1, 0, 0);
		} else if (r->size >= 0 && r->size != o->size) {
			char exp[32], act[32];
			snprintf(exp, sizeof(exp), "%lld", r->size);
			snprintf(act, sizeof(act), "%lld", o->size);
			atomic_fetch_add(&a->sizes, 1);
			finding(a, "size", r->path, g->b->name, r->key, exp, act, 1, 0, 0);
		} else if (vq) {
			verify_submit(a, vq, r, o);
		}
		snprintf(last, sizeof(last), "%s", r->key);
		have_last = 1;
		if (c == 0)
			o = lister_next(&l);
		ref_next(refs, r);
	}
	s3xml_list_result_free(&l.page);
	return l.error;
}

static void usage_audit(void)
{
	fprintf(stderr, "usage: s3csfs audit -o conf=FILE --urls FILE|- [--bucket NAME] [--verify] "
			"[--json] [--parallel N]\n"
			"  FILE: one content URL a line, 'store://PATH' or 'store://PATH SIZE'\n");
}

int audit_main(const struct config *cfg, int argc, char **argv)
{
	struct audit a = { .cfg = cfg, .store = { &store_s3_ops, NULL }, .now = time(NULL) };
	const char *urls = NULL;
	int parallel = 8, rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "-o") == 0) {
			i++;
			continue;
		}
		if (strncmp(s, "-o", 2) == 0 || !s[0])
			continue;
		if (strcmp(s, "--verify") == 0)
			a.verify = 1;
		else if (strcmp(s, "--json") == 0)
			a.json = 1;
		else if ((strcmp(s, "--urls") == 0 || strcmp(s, "--bucket") == 0 ||
			  strcmp(s, "--parallel") == 0) &&
			 i + 1 < argc) {
			const char *v = argv[++i];
			if (s[2] == 'u')
				urls = v;
			else if (s[2] == 'b')
				a.only = v;
			else if ((parallel = atoi(v)) < 1 || parallel > 64) {
				fprintf(stderr, "s3csfs audit: --parallel '%s': give 1 to 64\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "s3csfs audit: unknown or incomplete argument '%s'\n", s);
			usage_audit();
			return 2;
		}
	}
	if (!urls) {
		fprintf(stderr, "s3csfs audit: --urls FILE (or - for standard input) is required\n");
		usage_audit();
		return 2;
	}
	if (a.only) {
		int found = 0;
		for (size_t i = 0; i < cfg->nbuckets && !found; i++)
			found = bucket_wanted(&a, &cfg->buckets[i]);
		if (!found) {
			fprintf(stderr,
				"s3csfs audit: --bucket %s: no [bucket:NAME] section of %s "
				"names it\n",
				a.only, cfg->path);
			return 2;
		}
	}
	FILE *in = strcmp(urls, "-") == 0 ? stdin : fopen(urls, "r");
	if (!in) {
		fprintf(stderr, "s3csfs audit: --urls %s: %s\n", urls, strerror(errno));
		return 2;
	}
	a.tty = isatty(STDERR_FILENO);
	a.limit = parallel * 2;
	pthread_mutex_init(&a.out_lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	signal(SIGPIPE, SIG_IGN); /* a sort(1) that died is an error, not a kill */

	char dir[2048], cmd[4400], sorted[2100];
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/s3csfs-audit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "s3csfs audit: cannot make a temporary directory %s: %s\n", dir,
			strerror(errno));
		if (in != stdin)
			fclose(in);
		return 2;
	}
	snprintf(sorted, sizeof(sorted), "%s/refs", dir);
	/* Byte order, as S3 lists keys; 64 MiB of memory, the rest on disk. */
	snprintf(cmd, sizeof(cmd), "LC_ALL=C sort -t '\t' -k1,1 -k2,2 -S 64M -T '%s' -o '%s'", dir,
		 sorted);
	FILE *sorter = popen(cmd, "w");
	if (!sorter) {
		fprintf(stderr, "s3csfs audit: cannot run sort(1): %s\n", strerror(errno));
		rc = 2;
	} else {
		if (read_urls(&a, in, sorter) < 0)
			rc = 2;
		int st = pclose(sorter);
		if (!rc && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
			fprintf(stderr, "s3csfs audit: sort(1) failed (is %s full?)\n", dir);
			rc = 2;
		}
	}
	if (in != stdin)
		fclose(in);

	FILE *refs = rc ? NULL : fopen(sorted, "r");
	struct group groups[MAX_GROUPS];
	size_t ng = make_groups(&a, groups, MAX_GROUPS);
	struct workq *vq = a.verify && refs ? workq_new(parallel, "audit-verify") : NULL;
	if (refs && (!a.verify || vq)) {
		struct ref r = { 0 };
		ref_next(refs, &r);
		for (size_t i = 0; i < ng && !rc; i++)
			if (audit_bucket(&a, &groups[i], refs, &r, vq) < 0)
				rc = 2;
		free(r.line);
	} else if (!rc) {
		fprintf(stderr, "s3csfs audit: cannot %s\n",
			refs ? "start threads" : "read the sorted references");
		rc = 2;
	}
	workq_free(vq); /* waits for every verification */
	if (refs)
		fclose(refs);
	unlink(sorted);
	rmdir(dir);

	long long findings = atomic_load(&a.missing) + atomic_load(&a.orphans) +
			     atomic_load(&a.sizes) + atomic_load(&a.checksums);
	if (a.tty)
		fputs("\r\033[K", stderr);
	fprintf(a.json ? stderr : stdout,
		"audit: %lld URLs (%lld bad lines), %lld objects listed in %zu bucket(s): %lld "
		"missing, %lld orphans (%lld bytes), %lld size mismatches%s",
		a.urls, a.bad, (long long)atomic_load(&a.listed), ng,
		(long long)atomic_load(&a.missing), (long long)atomic_load(&a.orphans),
		a.orphan_bytes, (long long)atomic_load(&a.sizes), a.verify ? "" : "\n");
	if (a.verify)
		fprintf(a.json ? stderr : stdout,
			", %lld checksum mismatches (%lld verified, %lld with no digest ETag, %lld "
			"could not be read)\n",
			(long long)atomic_load(&a.checksums), (long long)atomic_load(&a.verified),
			(long long)atomic_load(&a.unverifiable), (long long)atomic_load(&a.errors));
	pthread_mutex_destroy(&a.out_lock);
	pthread_cond_destroy(&a.cond);
	if (rc == 0 && (a.bad || atomic_load(&a.errors)))
		rc = 2;
	return rc ? rc : findings ? 1 : 0;
}
