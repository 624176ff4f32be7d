/* main.c - command line: mount (the default), reap, check, stats. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <libxml/parser.h>

#include "cmd_connector.h"
#include "conf.h"
#include "creds.h"
#include "fs.h"
#include "audit.h"
#include "log.h"
#include "preflight.h"
#include "migrate.h"
#include "metrics_http.h"
#include "reaper.h"
#include "s3_client.h"
#include "store.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s3csfs [SOURCE] MOUNTPOINT -o conf=FILE[,FUSE options] [-f] [-d]\n"
		"       s3csfs reap -o conf=FILE [--dry-run] [--max-age=DURATION]\n"
		"       s3csfs check -o conf=FILE\n"
		"       s3csfs stats MOUNTPOINT [--prometheus]\n"
		"       s3csfs url|archive|restore|hold -o conf=FILE PATH... (see s3csfs(8))\n"
		"       s3csfs migrate --from DIR -o conf=FILE [--parallel N] [--dry-run]\n"
		"                      [--limit-rate RATE] [--delete-source]\n"
		"       s3csfs audit -o conf=FILE --urls FILE|- [--bucket NAME] [--verify] [--json]\n"
		"       s3csfs --version | --help\n"
		"\n"
		"Mounts an S3 content store (see s3csfs(8), s3csfs.conf(5)).\n"
		"  -o conf=FILE   the configuration (default %s/s3csfs/s3csfs.conf)\n"
		"  -f             stay in the foreground, log to stderr\n"
		"  -d             FUSE debug output (implies -f)\n"
		"  -o allow_other,default_permissions,...  passed to FUSE\n",
		SYSCONFDIR);
}

/* The -o option list at argv[*i] ("-o LIST" or "-oLIST"), advancing *i
 * past it; NULL if argv[*i] is not one. */
static char *opt_list(int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "-o") == 0 && *i + 1 < argc)
		return argv[++*i];
	if (strncmp(argv[*i], "-o", 2) == 0)
		return argv[*i] + 2;
	return NULL;
}

/* Finds conf=FILE inside any -o list and removes it from that list, so
 * FUSE never sees an option it does not know. */
static char *take_conf_option(int argc, char **argv)
{
	char *conf = NULL;

	for (int i = 1; i < argc; i++) {
		char *opts = opt_list(argc, argv, &i);
		if (!opts)
			continue;
		char *out = opts, *p = opts;
		while (*p) {
			size_t n = strcspn(p, ",");
			if (strncmp(p, "conf=", 5) == 0) {
				free(conf);
				conf = strndup(p + 5, n - 5);
			} else {
				if (out != opts)
					*out++ = ',';
				memmove(out, p, n);
				out += n;
			}
			p += n;
			if (*p == ',')
				p++;
		}
		*out = '\0';
		if (!*opts && opts != argv[i])
			argv[i][0] = '\0'; /* "-oLIST" emptied: compact_args drops it */
	}
	return conf;
}

static int has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}

/* The config file's secrets, redacted from every log line from now on
 * (the S3 client registers those of the other sources per request). */
static void register_secrets(const struct config *cfg)
{
	log_add_secret(cfg->s3.secret_key);
	log_add_secret(cfg->s3.session_token);
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		log_add_secret(cfg->buckets[i].conn.secret_key);
		log_add_secret(cfg->buckets[i].conn.session_token);
	}
}

/* quick: a user is waiting (check, reap): a dead endpoint must fail in
 * seconds, not after the daemon's minute of retries. */
static int load(const char *conf, struct config *cfg, int quick)
{
	char err[1024];
	char fallback[512];

	if (!conf) {
		snprintf(fallback, sizeof(fallback), "%s/s3csfs/s3csfs.conf", SYSCONFDIR);
		conf = fallback;
	}
	if (config_load(conf, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "s3csfs: %s\n", err);
		return -1;
	}
	register_secrets(cfg);
	if (quick) {
		if (cfg->max_retries > 1)
			cfg->max_retries = 1;
		if (cfg->retry_max_ms > 2000)
			cfg->retry_max_ms = 2000;
		if (cfg->connect_timeout_ms > 3000)
			cfg->connect_timeout_ms = 3000;
	}
	if (clients_create(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "s3csfs: %s\n", err);
		config_free(cfg);
		return -1;
	}
	stats_set_prices(cfg->price_put, cfg->price_get);
	return 0;
}

/* s3csfs migrate (src/migrate.c). */
static int cmd_migrate(int argc, char **argv)
{
	struct config cfg;
	char *conf = take_conf_option(argc, argv);
	int rc;

	log_init(1, LOG_LVL_WARN);
	rc = load(conf, &cfg, 0);
	free(conf);
	if (rc < 0)
		return 2;
	rc = migrate_main(&cfg, argc, argv);
	clients_free(&cfg);
	config_free(&cfg);
	return rc;
}

/* s3csfs audit (src/audit.c). */
static int cmd_audit(int argc, char **argv)
{
	struct config cfg;
	char *conf = take_conf_option(argc, argv);
	int rc;

	log_init(1, LOG_LVL_ERROR);
	rc = load(conf, &cfg, 0);
	free(conf);
	if (rc < 0)
		return 2;
	rc = audit_main(&cfg, argc, argv);
	clients_free(&cfg);
	config_free(&cfg);
	return rc;
}

static int cmd_reap(int argc, char **argv)
{
	struct config cfg;
	char *conf = take_conf_option(argc, argv);
	long long max_age_ms = -1;
	int dry_run = has_flag(argc, argv, "--dry-run"), rc;

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--max-age=", 10) == 0 &&
		    config_parse_duration_ms(argv[i] + 10, &max_age_ms) < 0) {
			fprintf(stderr, "s3csfs reap: bad --max-age '%s' (e.g. 30s, 2h, 1d)\n",
				argv[i] + 10);
			free(conf);
			return 2;
		}
	log_init(1, LOG_LVL_WARN);
	rc = load(conf, &cfg, 0);
	free(conf);
	if (rc < 0)
		return 2;
	struct reaper_target *t = calloc(cfg.nbuckets, sizeof(*t));
	size_t n = 0;
	for (size_t i = 0; t && i < cfg.nbuckets; i++) {
		int dup = 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp(t[j].bucket, cfg.buckets[i].name) == 0 &&
			      strcmp(t[j].prefix, cfg.buckets[i].key_prefix) == 0;
		if (!dup)
			t[n++] = (struct reaper_target){ cfg.buckets[i].client, cfg.buckets[i].name,
							 cfg.buckets[i].key_prefix };
	}
	rc = t ? reaper_cli(t, n, max_age_ms >= 0 ? (long)(max_age_ms / 1000) : cfg.reaper_max_age_s,
			    dry_run, stdout)
	       : 2;
	free(t);
	clients_free(&cfg);
	config_free(&cfg);
	return rc;
}

/* check's line on If-None-Match; 1 if it is a failure (strict buckets). */
static int check_cond_write(const struct bucket_conf *b)
{
	char detail[1024];
	int r = preflight_cond_write_probe(b, detail, sizeof(detail));
	int fail = r != COND_WRITE_HONOURED && b->exclusive_create == EXCL_STRICT;

	log_redact(detail, sizeof(detail));
	printf("%s [bucket:%s] conditional writes %s\n",
	       fail                       ? "FAIL"
	       : r == COND_WRITE_HONOURED ? "OK  "
					  : "WARN",
	       b->id, detail);
	return fail;
}

/* One PUT/GET/DELETE of a small object per bucket, with words to act on. */
static int cmd_check(int argc, char **argv)
{
	struct config cfg;
	char *conf = take_conf_option(argc, argv);
	int failures = 0, rc;

	log_init(1, LOG_LVL_ERROR);
	rc = load(conf, &cfg, 1);
	free(conf);
	if (rc < 0) {
		printf("FAIL config: see the message above\n");
		return 1;
	}
	printf("OK   config %s: %zu bucket(s)\n", cfg.path, cfg.nbuckets);
	for (size_t i = 0; i < cfg.nbuckets; i++) {
		struct bucket_conf *b = &cfg.buckets[i];
		struct s3_status st;
		char key[S3_KEY_MAX + 1], buf[600], etag[S3_ETAG_MAX];
		const char *body = "s3csfs check\n";
		struct http_body hb = { .kind = HTTP_BODY_MEM, .mem = body, .len = strlen(body) };
		char got[64];
		struct http_sink sink = { .kind = HTTP_SINK_MEM, .buf = got, .cap = sizeof(got) };

		snprintf(key, sizeof(key), "%s.s3csfs-check-%ld", b->key_prefix, (long)getpid());
		/* Which credentials source answered, for whom, until when. */
		if (creds_check_report(&cfg, i, stdout) < 0) {
			failures++;
			continue;
		}
		rc = s3_head_bucket(b->client, b->name, &st);
		if (rc < 0) {
			const char *hint = rc == -ENOENT ? "create the bucket, or fix 'name'"
					   : rc == -EACCES
						   ? "check the access key, secret key and region"
						   : "check 'endpoint' and that the server is up";
			printf("FAIL [bucket:%s] %s exists: %s; %s\n", b->id, b->name,
			       s3_status_str(&st, buf, sizeof(buf)), hint);
			failures++;
			continue;
		}
		printf("OK   [bucket:%s] %s exists and answers\n", b->id, b->name);
		failures += connector_check_bucket(b);
		struct s3_put_opts o = { .storage_class = b->storage_class,
					 .sse = b->sse,
					 .sse_kms_key_id = b->sse_kms_key_id,
					 .tagging = b->tags };
		rc = s3_put_object(b->client, b->name, key, &hb, &o, etag, sizeof(etag), &st);
		printf("%s [bucket:%s] write %s%s%s\n", rc ? "FAIL" : "OK  ", b->id, key,
		       rc ? ": " : "", rc ? s3_status_str(&st, buf, sizeof(buf)) : "");
		if (rc) {
			printf("     %s\n",
			       rc == -EACCES
				       ? "the credentials need s3:PutObject on the bucket and prefix"
			       : rc == -EINVAL ? "the server refused a setting of this bucket "
						 "(storage_class, sse, tags): see the S3 error"
					       : "see the S3 error above");
			failures++;
			continue;
		}
		rc = s3_get_object(b->client, b->name, key, 0, -1, NULL, &sink, NULL, &st);
		if (rc == 0 && (sink.len != hb.len || memcmp(got, body, hb.len) != 0))
			rc = -EIO;
		printf("%s [bucket:%s] read back%s%s\n", rc ? "FAIL" : "OK  ", b->id,
		       rc ? ": " : "", rc ? s3_status_str(&st, buf, sizeof(buf)) : "");
		failures += rc != 0;
		rc = s3_delete_object(b->client, b->name, key, &st);
		printf("%s [bucket:%s] delete%s%s\n", rc ? "FAIL" : "OK  ", b->id, rc ? ": " : "",
		       rc ? s3_status_str(&st, buf, sizeof(buf)) : "");
		failures += rc != 0;
		failures += check_cond_write(b);
	}
	clients_free(&cfg);
	config_free(&cfg);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "OK", failures);
	return failures ? 1 : 0;
}

static int cmd_stats(int argc, char **argv)
{
	char path[4096], buf[65536];
	const char *mnt = NULL;
	int prom = has_flag(argc, argv, "--prometheus");

	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			mnt = argv[i];
	if (!mnt) {
		usage(stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/.s3csfs/%s", mnt, prom ? "metrics" : "stats");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "s3csfs stats: %s: %s (is %s an s3csfs mount?)\n", path,
			strerror(errno), mnt);
		return 1;
	}
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return n < 0 ? 1 : 0;
}

/* Whether any -o list holds name (as a whole option). */
static int has_option(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 1; i < argc; i++) {
		const char *opts = opt_list(argc, argv, &i);
		for (const char *p = opts; p && *p;) {
			size_t l = strcspn(p, ",");
			if (l == n && strncmp(p, name, n) == 0)
				return 1;
			p += l + (p[l] == ',');
		}
	}
	return 0;
}

/* Removes name from every -o list (an option only s3csfs understands). */
static void drop_option(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 1; i < argc; i++) {
		char *opts = opt_list(argc, argv, &i);
		if (!opts)
			continue;
		char *out = opts;
		for (char *p = opts; *p;) {
			size_t l = strcspn(p, ",");
			if (!(l == n && strncmp(p, name, n) == 0)) {
				if (out != opts)
					*out++ = ',';
				memmove(out, p, l);
				out += l;
			}
			p += l + (p[l] == ',');
		}
		*out = '\0';
		if (!*opts && opts != argv[i])
			argv[i][0] = '\0'; /* "-oLIST" emptied: compact_args drops it */
	}
}

/* Drops the option lists emptied above ("-o" "" and ""), which FUSE
 * would otherwise misread. */
static void compact_args(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		if (!argv[i][0])
			continue;
		if (strcmp(argv[i], "-o") == 0 && i + 1 < *argc && !argv[i + 1][0]) {
			i++;
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
}

/* mount -t fuse.s3csfs runs "s3csfs SOURCE MOUNTPOINT -o ...": drop SOURCE. */
static void drop_source(int *argc, char **argv)
{
	int nonopt[3], n = 0;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "-o") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-' && n < 3)
			nonopt[n++] = i;
	}
	if (n == 2) {
		for (int i = nonopt[0]; i + 1 < *argc; i++)
			argv[i] = argv[i + 1];
		(*argc)--;
	}
}

/* A private copy of the arguments: the option handling edits strings in
 * place and reorders the vector, and argv's own strings are what ps shows.
 * v is the working vector (room for argc + 1 entries), own the strings to
 * free. */
struct arg_copy {
	char **v;
	char **own;
	int n;
};

static int args_copy(int argc, char **argv, struct arg_copy *a)
{
	a->n = argc;
	a->v = calloc((size_t)argc + 1, sizeof(*a->v));
	a->own = calloc((size_t)argc + 1, sizeof(*a->own));
	if (!a->v || !a->own) {
		free(a->v);
		free(a->own);
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		a->own[i] = a->v[i] = strdup(argv[i]);
		if (!a->v[i]) {
			for (int j = 0; j < i; j++)
				free(a->own[j]);
			free(a->v);
			free(a->own);
			return -1;
		}
	}
	return 0;
}

static void args_free(struct arg_copy *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->own[i]);
	free(a->v);
	free(a->own);
}

static int mount_main(int argc, char **argv);

/* glibc gives each thread that allocates its own arena, up to 8 per core;
 * a node or writer made by one of the many FUSE threads and freed by
 * another leaves each arena holding free pages the others cannot use: the
 * async soak's daemon sat at 89 MiB with 15 arenas, 80 MiB with 2
 * (issue 14). Before any thread exists; an operator's MALLOC_ARENA_MAX or
 * GLIBC_TUNABLES wins. */
static void malloc_setup(void)
{
#ifdef __GLIBC__
	if (!getenv("MALLOC_ARENA_MAX") && !getenv("GLIBC_TUNABLES"))
		mallopt(M_ARENA_MAX, 2);
#endif
}

int main(int argc, char **argv)
{
	struct arg_copy a;
	int rc;

	malloc_setup();
	if (args_copy(argc, argv, &a) < 0) {
		fprintf(stderr, "s3csfs: out of memory\n");
		return 1;
	}
	rc = mount_main(argc, a.v);
	args_free(&a);
	return rc;
}

static int mount_main(int argc, char **argv)
{
	struct config cfg;
	char *conf;
	int rc, fg;

	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("s3csfs %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	xmlInitParser();
	if (strcmp(argv[1], "reap") == 0)
		return cmd_reap(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 1, argv + 1);
	if (connector_is_command(argv[1]))
		return connector_command(argc - 1, argv + 1);
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);

	drop_source(&argc, argv);
	conf = take_conf_option(argc, argv);
	fg = has_flag(argc, argv, "-f") || has_flag(argc, argv, "-d");
	log_init(1, LOG_LVL_INFO);
	rc = load(conf, &cfg, 0);
	free(conf);
	if (rc < 0)
		return 1;
	log_init(fg, (enum log_level)cfg.log_level);
	/* Before fuse_main mounts and daemonizes: mount(8) and systemd see the
	 * exit status, and nothing is mounted. */
	char err[2048];
	rc = preflight_mount(&cfg, err, sizeof(err));
	if (rc < 0) {
		log_redact(err, sizeof(err));
		fprintf(stderr, "s3csfs: cannot mount: %s\n", err);
		if (!fg)
			log_error("cannot mount: %s", err);
		clients_free(&cfg);
		config_free(&cfg);
		/* A server not up yet is worth another try (systemd restarts
		 * on it); the rest needs a person. */
		return rc == -ETIMEDOUT ? EX_TEMPFAIL : 1;
	}
	/* allow_other lets every user in: without default_permissions the
	 * kernel would not check modes at all. allow_other_unchecked is the
	 * way to insist. */
	int add_default_permissions = 0;
	if (has_option(argc, argv, "allow_other_unchecked")) {
		drop_option(argc, argv, "allow_other_unchecked");
		log_warn("allow_other without default_permissions: every user may read and "
			 "write every file of this mount");
	} else if (has_option(argc, argv, "allow_other") &&
		   !has_option(argc, argv, "default_permissions")) {
		add_default_permissions = 1;
		log_info("allow_other: adding default_permissions (file modes are enforced); "
			 "-o allow_other_unchecked to do without");
	}
	compact_args(&argc, argv);
	/* Multithreaded loop (FUSE's -s would serialise every request), with
	 * explicit thread limits. */
	char **args = calloc((size_t)argc + 7, sizeof(*args));
	if (!args) {
		fprintf(stderr, "s3csfs: out of memory\n");
		return 1;
	}
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	args[argc] = "-o";
	args[argc + 1] = "max_threads=64";
	/* 3.14 passes UINT_MAX for this unless told, and warns. */
	args[argc + 2] = "-o";
	args[argc + 3] = "max_idle_threads=16";
	int nargs = argc + 4;
	if (add_default_permissions) {
		args[nargs++] = "-o";
		args[nargs++] = "default_permissions";
	}
	/* Before anything is mounted: a metrics_listen that cannot work
	 * refuses the mount (the server itself starts in op_init). */
	char merr[512];
	if (metrics_http_bind(&cfg, merr, sizeof(merr)) < 0) {
		fprintf(stderr, "s3csfs: %s\n", merr);
		free(args);
		clients_free(&cfg);
		config_free(&cfg);
		return 1;
	}
	/* Each bucket's S3 client does the work (store_s3.c); fs_new, in
	 * op_init, wraps the fallback store round it. */
	struct fs_args fa = { &cfg, { &store_s3_ops, NULL } };
	rc = fuse_main(nargs, args, &s3csfs_fuse_ops, &fa);
	metrics_http_stop();
	free(args);
	/* libfuse 3.14 returns 8 when a signal ended the loop; an unmount
	 * that went through destroy (uploads flushed) is a clean exit. */
	if (rc == 8 && fs_clean_shutdown())
		rc = 0;
	clients_free(&cfg);
	config_free(&cfg);
	return rc;
}
