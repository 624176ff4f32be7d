/* s3tool.c - a command-line S3 client on libs3client, for the test suite
 * and for looking at a bucket with the daemon's own client.
 *
 * Endpoint and keys come from the environment: S3_ENDPOINT, S3_REGION,
 * S3_ACCESS_KEY, S3_SECRET_KEY (and optional S3_SESSION_TOKEN). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "log.h"
#include "s3_client.h"
#include "stats.h"

static struct s3_client *client;
static struct s3_creds creds;

static void usage(void)
{
	fprintf(stderr,
		"usage: s3tool [--stats] COMMAND ARGS\n"
		"  mb BUCKET [--object-lock] | rb BUCKET | hb BUCKET\n"
		"  put BUCKET KEY FILE [--if-none-match] [--storage-class C] [--meta NAME=VALUE]\n"
		"  get BUCKET KEY FILE [OFFSET LENGTH]\n"
		"  head BUCKET KEY | rm BUCKET KEY [--version-id V]\n"
		"  ls BUCKET [PREFIX] [--delimiter D] [--max-keys N]   (all pages)\n"
		"  cp SRC_BUCKET SRC_KEY DST_BUCKET DST_KEY\n"
		"  mpu-create BUCKET KEY | mpu-abort BUCKET KEY UPLOAD_ID\n"
		"  mpu-put BUCKET KEY FILE PART_SIZE THREADS   (a whole parallel multipart upload)\n"
		"  mpu-ls BUCKET [PREFIX] [--max-uploads N]      (all pages)\n"
		"  subres METHOD BUCKET SUBRESOURCE [FILE]       (e.g. GET b lifecycle)\n"
		"  tagging BUCKET KEY                            (object tags, KEY=VALUE lines)\n"
		"environment: S3_ENDPOINT S3_REGION S3_ACCESS_KEY S3_SECRET_KEY [S3_SESSION_TOKEN]\n"
		"             [S3_VIRTUAL_HOST=1] [S3_MAX_RETRIES=N]\n");
}

static int fail(int rc, const struct s3_status *st, const char *what)
{
	char buf[600];
	fprintf(stderr, "s3tool: %s: %s (%s)\n", what, strerror(-rc),
		st ? s3_status_str(st, buf, sizeof(buf)) : "");
	return 1;
}

static const char *getenv_req(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		fprintf(stderr, "s3tool: %s is not set\n", name);
		exit(2);
	}
	return v;
}

static int open_body(const char *path, struct http_body *b)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "s3tool: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*b = (struct http_body){ .kind = HTTP_BODY_FD, .fd = fd, .off = 0, .len = (size_t)sb.st_size };
	return fd;
}

struct mpu_job {
	const char *bucket, *key, *upload_id;
	int fd;
	long long size, part_size;
	int nparts;
	struct s3_part *parts;
	pthread_mutex_t lock;
	int next, rc;
};

static void *mpu_worker(void *arg)
{
	struct mpu_job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		int i = j->rc ? j->nparts : j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->nparts)
			return NULL;
		long long off = (long long)i * j->part_size;
		long long len = j->size - off < j->part_size ? j->size - off : j->part_size;
		struct http_body b = { .kind = HTTP_BODY_FD,
				       .fd = j->fd,
				       .off = off,
				       .len = (size_t)len };
		struct s3_status st;
		j->parts[i].number = i + 1;
		int rc = s3_mpu_upload_part(client, j->bucket, j->key, j->upload_id, i + 1, &b,
					    NULL, j->parts[i].etag, sizeof(j->parts[i].etag), &st);
		if (rc < 0) {
			fail(rc, &st, "UploadPart");
			pthread_mutex_lock(&j->lock);
			j->rc = rc;
			pthread_mutex_unlock(&j->lock);
		}
	}
}

static int cmd_mpu_put(char **a)
{
	struct mpu_job j = { .bucket = a[0], .key = a[1] };
	char upload_id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
	struct http_body b;
	struct s3_status st;
	int threads = atoi(a[4]), rc;
	pthread_t tid[64];

	j.part_size = atoll(a[3]);
	if (j.part_size < 1 || threads < 1 || threads > 64)
		return usage(), 2;
	j.fd = open_body(a[2], &b);
	if (j.fd < 0)
		return 1;
	j.size = (long long)b.len;
	j.nparts = (int)((j.size + j.part_size - 1) / j.part_size);
	if (j.nparts == 0)
		j.nparts = 1;
	j.parts = calloc((size_t)j.nparts, sizeof(*j.parts));
	if (!j.parts)
		return 1;
	pthread_mutex_init(&j.lock, NULL);
	rc = s3_mpu_create(client, j.bucket, j.key, NULL, upload_id, sizeof(upload_id), &st);
	if (rc < 0)
		return fail(rc, &st, "CreateMultipartUpload");
	j.upload_id = upload_id;
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, mpu_worker, &j);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	if (j.rc) {
		s3_mpu_abort(client, j.bucket, j.key, upload_id, &st);
		return 1;
	}
	rc = s3_mpu_complete(client, j.bucket, j.key, upload_id, j.parts, (size_t)j.nparts, etag,
			     sizeof(etag), &st);
	if (rc < 0)
		return fail(rc, &st, "CompleteMultipartUpload");
	printf("%s %d parts\n", etag, j.nparts);
	free(j.parts);
	close(j.fd);
	return 0;
}

static const char *opt_value(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int positional(int argc, char **argv, char **out, int max)
{
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0) {
			if (strcmp(argv[i], "--if-none-match") != 0 &&
			    strcmp(argv[i], "--object-lock") != 0)
				i++;
			continue;
		}
		if (n < max)
			out[n] = argv[i];
		n++;
	}
	return n;
}

static int run(const char *cmd, int argc, char **argv)
{
	struct s3_status st;
	char *a[8] = { 0 };
	int n = positional(argc, argv, a, 8), rc;

	if (strcmp(cmd, "mb") == 0 && n == 1) {
		int lock = 0;
		for (int i = 0; i < argc; i++)
			lock |= strcmp(argv[i], "--object-lock") == 0;
		rc = lock ? s3_create_bucket_object_lock(client, a[0], &st)
			  : s3_create_bucket(client, a[0], &st);
		return rc < 0 ? fail(rc, &st, "CreateBucket") : 0;
	}
	if (strcmp(cmd, "rb") == 0 && n == 1) {
		rc = s3_delete_bucket(client, a[0], &st);
		return rc < 0 ? fail(rc, &st, "DeleteBucket") : 0;
	}
	if (strcmp(cmd, "hb") == 0 && n == 1) {
		rc = s3_head_bucket(client, a[0], &st);
		return rc < 0 ? fail(rc, &st, "HeadBucket") : 0;
	}
	if (strcmp(cmd, "put") == 0 && n == 3) {
		struct http_body b;
		struct s3_put_opts o = { 0 };
		struct s3_meta_pair mp;
		char etag[S3_ETAG_MAX], metabuf[512];
		int fd = open_body(a[2], &b);
		if (fd < 0)
			return 1;
		o.storage_class = opt_value(argc, argv, "--storage-class");
		for (int i = 0; i < argc; i++)
			o.if_none_match |= strcmp(argv[i], "--if-none-match") == 0;
		const char *m = opt_value(argc, argv, "--meta");
		if (m && strchr(m, '=')) {
			snprintf(metabuf, sizeof(metabuf), "%s", m);
			char *eq = strchr(metabuf, '=');
			*eq = '\0';
			mp = (struct s3_meta_pair){ metabuf, eq + 1 };
			o.meta = &mp;
			o.nmeta = 1;
		}
		rc = s3_put_object(client, a[0], a[1], &b, &o, etag, sizeof(etag), &st);
		close(fd);
		if (rc < 0)
			return fail(rc, &st, "PutObject");
		printf("%s\n", etag);
		return 0;
	}
	if (strcmp(cmd, "get") == 0 && (n == 3 || n == 5)) {
		struct s3_obj_info info;
		int fd = strcmp(a[2], "-") == 0
				 ? 1
				 : open(a[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "s3tool: %s: %s\n", a[2], strerror(errno));
			return 1;
		}
		/* stdout may be a pipe, which pwrite cannot write: buffer it. */
		struct http_sink sink = { .kind = fd == 1 ? HTTP_SINK_MEM : HTTP_SINK_FD,
					  .fd = fd,
					  .cap = fd == 1 ? (size_t)1 << 30 : 0 };
		long long off = n == 5 ? atoll(a[3]) : 0, len = n == 5 ? atoll(a[4]) : -1;
		rc = s3_get_object(client, a[0], a[1], off, len, NULL, &sink, &info, &st);
		if (fd == 1 && rc == 0 && sink.len &&
		    fwrite(sink.buf, 1, sink.len, stdout) != sink.len)
			rc = -EIO;
		if (sink.owned)
			free(sink.buf);
		if (fd != 1)
			close(fd);
		return rc < 0 ? fail(rc, &st, "GetObject") : 0;
	}
	if (strcmp(cmd, "head") == 0 && n == 2) {
		struct s3_obj_info info;
		rc = s3_head_object(client, a[0], a[1], &info, &st);
		if (rc < 0)
			return fail(rc, &st, "HeadObject");
		printf("size %lld\netag %s\nmtime %lld\nstorage_class %s\n", info.size, info.etag,
		       (long long)info.mtime, info.storage_class);
		if (info.sse[0])
			printf("sse %s\n", info.sse);
		if (info.version_id[0])
			printf("version_id %s\n", info.version_id);
		if (info.lock_mode[0])
			printf("lock_mode %s\nretain_until %lld\n", info.lock_mode,
			       (long long)info.retain_until);
		if (info.legal_hold)
			printf("legal_hold ON\n");
		if (info.restore[0])
			printf("restore %s\n", info.restore);
		fputs(info.meta, stdout);
		return 0;
	}
	if (strcmp(cmd, "rm") == 0 && n == 2) {
		const char *v = opt_value(argc, argv, "--version-id");
		rc = v ? s3_delete_object_version(client, a[0], a[1], v, &st)
		       : s3_delete_object(client, a[0], a[1], &st);
		return rc < 0 ? fail(rc, &st, "DeleteObject") : 0;
	}
	if (strcmp(cmd, "ls") == 0 && (n == 1 || n == 2)) {
		const char *mk = opt_value(argc, argv, "--max-keys");
		char token[S3_TOKEN_MAX] = "";
		int pages = 0;
		do {
			struct s3_list_result r;
			rc = s3_list_objects(client, a[0], n == 2 ? a[1] : NULL,
					     opt_value(argc, argv, "--delimiter"), token,
					     mk ? atoi(mk) : 0, &r, &st);
			if (rc < 0)
				return fail(rc, &st, "ListObjectsV2");
			pages++;
			for (size_t i = 0; i < r.nprefixes; i++)
				printf("PRE %s\n", r.prefixes[i]);
			for (size_t i = 0; i < r.nobjects; i++)
				printf("%s %lld %s %s\n", r.objects[i].key, r.objects[i].size,
				       r.objects[i].etag, r.objects[i].storage_class);
			snprintf(token, sizeof(token), "%s", r.is_truncated ? r.next_token : "");
			s3xml_list_result_free(&r);
		} while (token[0] && pages < 1000000);
		fprintf(stderr, "s3tool: %d pages\n", pages);
		return 0;
	}
	if (strcmp(cmd, "cp") == 0 && n == 4) {
		char etag[S3_ETAG_MAX];
		rc = s3_copy_object(client, a[0], a[1], a[2], a[3], NULL, etag, sizeof(etag), &st);
		if (rc < 0)
			return fail(rc, &st, "CopyObject");
		printf("%s\n", etag);
		return 0;
	}
	if (strcmp(cmd, "mpu-create") == 0 && n == 2) {
		char id[S3_UPLOAD_ID_MAX];
		rc = s3_mpu_create(client, a[0], a[1], NULL, id, sizeof(id), &st);
		if (rc < 0)
			return fail(rc, &st, "CreateMultipartUpload");
		printf("%s\n", id);
		return 0;
	}
	if (strcmp(cmd, "mpu-abort") == 0 && n == 3) {
		rc = s3_mpu_abort(client, a[0], a[1], a[2], &st);
		return rc < 0 ? fail(rc, &st, "AbortMultipartUpload") : 0;
	}
	if (strcmp(cmd, "mpu-put") == 0 && n == 5)
		return cmd_mpu_put(a);
	if (strcmp(cmd, "mpu-ls") == 0 && (n == 1 || n == 2)) {
		const char *mu = opt_value(argc, argv, "--max-uploads");
		char km[S3_KEY_MAX + 1] = "", um[S3_UPLOAD_ID_MAX] = "";
		int pages = 0, more;
		do {
			struct s3_mpu_list l;
			rc = s3_mpu_list(client, a[0], n == 2 ? a[1] : NULL, km, um,
					 mu ? atoi(mu) : 0, &l, &st);
			if (rc < 0)
				return fail(rc, &st, "ListMultipartUploads");
			pages++;
			for (size_t i = 0; i < l.nuploads; i++)
				printf("%s %s %lld\n", l.uploads[i].key, l.uploads[i].upload_id,
				       (long long)l.uploads[i].initiated);
			more = l.is_truncated &&
			       (l.next_key_marker[0] || l.next_upload_id_marker[0]);
			snprintf(km, sizeof(km), "%s", l.next_key_marker);
			snprintf(um, sizeof(um), "%s", l.next_upload_id_marker);
			s3xml_mpu_list_free(&l);
		} while (more && pages < 100000);
		fprintf(stderr, "s3tool: %d pages\n", pages);
		return 0;
	}
	if (strcmp(cmd, "tagging") == 0 && n == 2) {
		struct s3_tag tags[S3_MAX_TAGS];
		size_t nt = 0;
		rc = s3_get_object_tagging(client, a[0], a[1], tags, S3_MAX_TAGS, &nt, &st);
		if (rc < 0)
			return fail(rc, &st, "GetObjectTagging");
		for (size_t i = 0; i < nt; i++)
			printf("%s=%s\n", tags[i].key, tags[i].value);
		return 0;
	}
	if (strcmp(cmd, "subres") == 0 && (n == 3 || n == 4)) {
		char *out = NULL, *body = NULL;
		size_t out_len = 0, blen = 0;
		if (n == 4) {
			FILE *f = fopen(a[3], "rb");
			if (!f)
				return fail(-errno, NULL, a[3]);
			body = calloc(1, 1 << 20);
			blen = body ? fread(body, 1, (1 << 20) - 1, f) : 0;
			fclose(f);
			if (!body)
				return 1;
		}
		rc = s3_bucket_subresource(client, a[0], a[1], a[2], body, blen, &out, &out_len,
					   &st);
		free(body);
		if (rc < 0)
			return fail(rc, &st, a[2]);
		fwrite(out, 1, out_len, stdout);
		free(out);
		return 0;
	}
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	struct s3_client_opts o = { 0 };
	char err[256];
	int print_stats = 0, rc;

	if (argc > 1 && strcmp(argv[1], "--stats") == 0) {
		print_stats = 1;
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage();
		return 2;
	}
	log_init(1, getenv("S3TOOL_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	xmlInitParser();
	snprintf(creds.access_key, sizeof(creds.access_key), "%s", getenv_req("S3_ACCESS_KEY"));
	snprintf(creds.secret_key, sizeof(creds.secret_key), "%s", getenv_req("S3_SECRET_KEY"));
	if (getenv("S3_SESSION_TOKEN"))
		snprintf(creds.session_token, sizeof(creds.session_token), "%s",
			 getenv("S3_SESSION_TOKEN"));
	o.endpoint = getenv_req("S3_ENDPOINT");
	o.region = getenv("S3_REGION");
	o.path_style = !(getenv("S3_VIRTUAL_HOST") && atoi(getenv("S3_VIRTUAL_HOST")));
	o.creds = (struct s3_creds_provider){ s3_creds_static_get, &creds };
	if (getenv("S3_MAX_RETRIES"))
		o.max_retries = atoi(getenv("S3_MAX_RETRIES")) ? atoi(getenv("S3_MAX_RETRIES")) : -1;
	client = s3_client_new(&o, err, sizeof(err));
	if (!client) {
		fprintf(stderr, "s3tool: %s\n", err);
		return 2;
	}
	rc = run(argv[1], argc - 2, argv + 2);
	if (print_stats) {
		char buf[8192];
		stats_render_text(buf, sizeof(buf));
		fputs(buf, stderr);
	}
	s3_client_free(client);
	explicit_bzero(&creds, sizeof(creds));
	return rc;
}
