/* cmd_connector.c - s3csfs url | archive | restore | hold, and the Object
 * Lock line of s3csfs check (see cmd_connector.h).
 *
 * A PATH is the path inside the mount: relative to its root, or absolute
 * under its mount point. Without the daemon, an absolute path is resolved
 * lexically: the mount point given by --mount DIR, else the longest
 * fuse.s3csfs mount point in /proc/mounts that contains it, is cut off. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_connector.h"
#include "connector.h"
#include "creds.h"
#include "log.h"
#include "mapping.h"
#include "s3_client.h"
#include "sigv4.h"

#define MAX_PATHS 4096
#define URL_LEN 32768

struct args {
	char *conf;
	const char *mount;
	const char *paths[MAX_PATHS];
	size_t npaths;
	const char *expires, *filename, *content_type, *tier, *days;
};

int connector_is_command(const char *a)
{
	return strcmp(a, "url") == 0 || strcmp(a, "archive") == 0 || strcmp(a, "restore") == 0 ||
	       strcmp(a, "hold") == 0;
}

static int usage(const char *cmd)
{
	fprintf(stderr,
		"usage: s3csfs url -o conf=FILE PATH [--expires DURATION] [--filename NAME]\n"
		"                  [--content-type TYPE] [--mount DIR]\n"
		"       s3csfs archive -o conf=FILE PATH... [--mount DIR]\n"
		"       s3csfs restore -o conf=FILE PATH... [--tier Standard|Bulk|Expedited]\n"
		"                  [--days N] [--mount DIR]\n"
		"       s3csfs hold -o conf=FILE PATH on|off [--mount DIR]\n"
		"(s3csfs %s: see s3csfs(8))\n",
		cmd);
	return 2;
}

/* conf=FILE from an -o list. */
static int take_conf(struct args *a, const char *list)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 5 && strncmp(p, "conf=", 5) == 0) {
			free(a->conf);
			a->conf = strndup(p + 5, n - 5);
			if (!a->conf)
				return -1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const char *const valued[] = { "--mount",        "--expires", "--filename",
					      "--content-type", "--tier",    "--days" };
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v = NULL;
		size_t k;

		if (strcmp(arg, "-o") == 0 || strncmp(arg, "-o", 2) == 0) {
			const char *list = arg[2] ? arg + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if (!list || take_conf(a, list) < 0)
				return -1;
			continue;
		}
		for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
			size_t l = strlen(valued[k]);
			if (strcmp(arg, valued[k]) == 0 && i + 1 < argc) {
				v = argv[++i];
				break;
			}
			if (strncmp(arg, valued[k], l) == 0 && arg[l] == '=') {
				v = arg + l + 1;
				break;
			}
		}
		if (v) {
			const char **dst[] = { &a->mount,        &a->expires, &a->filename,
					       &a->content_type, &a->tier,    &a->days };
			*dst[k] = v;
			continue;
		}
		if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "s3csfs %s: unknown option %s\n", argv[0], arg);
			return -1;
		}
		if (a->npaths >= MAX_PATHS) {
			fprintf(stderr, "s3csfs %s: more than %d paths; give them in batches\n",
				argv[0], MAX_PATHS);
			return -1;
		}
		a->paths[a->npaths++] = arg;
	}
	return 0;
}

/* Undoes /proc/mounts' octal escapes (\040 for a space) in place. */
static void unescape_mount(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* The length of mount point m when path is inside it, else 0. */
static size_t under(const char *path, const char *m)
{
	size_t n = strlen(m);
	while (n > 1 && m[n - 1] == '/')
		n--;
	if (n == 1 && m[0] == '/')
		return 1;
	return strncmp(path, m, n) == 0 && path[n] == '/' ? n : 0;
}

/* PATH as the path inside the mount, into out. */
static int mount_relative(const char *cmd, const char *mount, const char *path, char *out,
			  size_t len)
{
	size_t cut = 0;

	if (path[0] != '/') {
		while (strncmp(path, "./", 2) == 0)
			path += 2;
	} else if (mount) {
		if (mount[0] != '/' || !(cut = under(path, mount))) {
			fprintf(stderr, "s3csfs %s: %s is not under --mount %s\n", cmd, path, mount);
			return -1;
		}
	} else {
		FILE *f = fopen("/proc/mounts", "re");
		char line[4096];
		while (f && fgets(line, sizeof(line), f)) {
			char src[1024], mnt[2048], type[256];
			size_t n;
			if (sscanf(line, "%1023s %2047s %255s", src, mnt, type) != 3 ||
			    strcmp(type, "fuse.s3csfs") != 0)
				continue;
			unescape_mount(mnt);
			if ((n = under(path, mnt)) > cut)
				cut = n;
		}
		if (f)
			fclose(f);
		if (!cut) {
			fprintf(stderr,
				"s3csfs %s: %s is not under an s3csfs mount point (/proc/mounts); "
				"give --mount DIR, or the path relative to the mount's root\n",
				cmd, path);
			return -1;
		}
	}
	path += cut;
	while (*path == '/')
		path++;
	if (snprintf(out, len, "%s", path) >= (int)len) {
		fprintf(stderr, "s3csfs %s: %s: path too long\n", cmd, path);
		return -1;
	}
	return 0;
}

static int load(const char *cmd, const char *conf, struct config *cfg)
{
	char err[1024], fallback[512];

	if (!conf) {
		snprintf(fallback, sizeof(fallback), "%s/s3csfs/s3csfs.conf", SYSCONFDIR);
		conf = fallback;
	}
	if (config_load(conf, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "s3csfs %s: %s\n", cmd, err);
		return -1;
	}
	/* A user is waiting: a dead endpoint must fail in seconds. */
	if (cfg->max_retries > 2)
		cfg->max_retries = 2;
	if (cfg->retry_max_ms > 5000)
		cfg->retry_max_ms = 5000;
	if (cfg->connect_timeout_ms > 3000)
		cfg->connect_timeout_ms = 3000;
	if (clients_create(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "s3csfs %s: %s\n", cmd, err);
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* PATH mapped to its object; a message on stderr if it cannot be. */
static int target_of(const char *cmd, const struct config *cfg, const struct args *a,
		     const char *path, struct target *t)
{
	char rel[S3_KEY_MAX + 1];
	int rc;

	if (mount_relative(cmd, a->mount, path, rel, sizeof(rel)) < 0)
		return -1;
	rc = map_path(cfg, rel, t);
	if (rc < 0) {
		fprintf(stderr, "s3csfs %s: %s: not a valid path in the mount (%s)\n", cmd, path,
			strerror(-rc));
		return -1;
	}
	return 0;
}

static int cmd_url(const struct config *cfg, const struct args *a)
{
	struct target t;
	long long ms = (long long)cfg->direct_url_expiry_s * 1000;
	char *url;
	int rc;

	if (a->npaths != 1)
		return usage("url");
	if (a->expires && (config_parse_duration_ms(a->expires, &ms) < 0 || ms < 1000 ||
			   ms > SIGV4_PRESIGN_MAX_S * 1000LL)) {
		fprintf(stderr, "s3csfs url: --expires %s: give 1s to 7d (e.g. 300s, 2h, 7d)\n",
			a->expires);
		return 2;
	}
	if (target_of("url", cfg, a, a->paths[0], &t) < 0)
		return 1;
	url = malloc(URL_LEN);
	if (!url)
		return 1;
	rc = connector_direct_url(t.bucket, t.key, (long)(ms / 1000), a->filename, a->content_type,
				  url, URL_LEN);
	if (rc == 0)
		printf("%s\n", url);
	else
		fprintf(stderr, "s3csfs url: %s: %s\n", a->paths[0],
			rc == -ENOKEY ? "no usable credentials" : strerror(-rc));
	free(url);
	return rc == 0 ? 0 : 1;
}

static int cmd_archive(const struct config *cfg, const struct args *a)
{
	int failed = 0;

	if (!a->npaths)
		return usage("archive");
	for (size_t i = 0; i < a->npaths; i++) {
		struct target t;
		char msg[1024];
		if (target_of("archive", cfg, a, a->paths[i], &t) < 0) {
			failed++;
			continue;
		}
		int rc = connector_archive(t.bucket, t.key, cfg->part_size, msg, sizeof(msg));
		printf("%s: %s%s\n", a->paths[i],
		       rc < 0    ? "FAILED: "
		       : rc == 0 ? "archived, "
				 : "",
		       msg);
		failed += rc < 0;
	}
	return failed ? 1 : 0;
}

static int cmd_restore(const struct config *cfg, const struct args *a)
{
	static const char *const tiers[] = { "Standard", "Bulk", "Expedited" };
	const char *tier = NULL;
	int failed = 0, days = -1;

	if (!a->npaths)
		return usage("restore");
	for (size_t i = 0; a->tier && i < 3; i++)
		if (strcasecmp(a->tier, tiers[i]) == 0)
			tier = tiers[i];
	if (a->tier && !tier) {
		fprintf(stderr, "s3csfs restore: --tier %s: one of Standard, Bulk, Expedited\n",
			a->tier);
		return 2;
	}
	if (a->days) {
		char *end;
		long d = strtol(a->days, &end, 10);
		if (end == a->days || *end || d < 1 || d > 30000) {
			fprintf(stderr, "s3csfs restore: --days %s: a whole number, 1 to 30000\n",
				a->days);
			return 2;
		}
		days = (int)d;
	}
	for (size_t i = 0; i < a->npaths; i++) {
		struct target t;
		char msg[1024];
		if (target_of("restore", cfg, a, a->paths[i], &t) < 0) {
			failed++;
			continue;
		}
		int rc = connector_restore(t.bucket, t.key, tier ? tier : t.bucket->restore_tier,
					   days > 0 ? days : t.bucket->restore_days, msg,
					   sizeof(msg));
		printf("%s: %s%s\n", a->paths[i], rc < 0 && rc != -ENODATA ? "FAILED: " : "", msg);
		failed += rc < 0 && rc != -ENODATA;
	}
	return failed ? 1 : 0;
}

static int cmd_hold(const struct config *cfg, const struct args *a)
{
	struct target t;
	struct s3_status st;
	char buf[600];
	int on, rc;

	if (a->npaths != 2 || (strcmp(a->paths[1], "on") && strcmp(a->paths[1], "off")))
		return usage("hold");
	on = strcmp(a->paths[1], "on") == 0;
	if (target_of("hold", cfg, a, a->paths[0], &t) < 0)
		return 1;
	rc = s3_put_object_legal_hold(t.bucket->client, t.bucket->name, t.key, on, &st);
	if (rc < 0) {
		fprintf(stderr, "s3csfs hold: %s: %s (%s)%s\n", a->paths[0], strerror(-rc),
			s3_status_str(&st, buf, sizeof(buf)),
			t.bucket->object_lock ? ""
					      : "; legal holds need a bucket with Object Lock "
						"(object_lock in its section)");
		return 1;
	}
	printf("%s: legal hold %s\n", a->paths[0], on ? "on" : "off");
	return 0;
}

int connector_command(int argc, char **argv)
{
	const char *cmd = argv[0];
	struct config cfg;
	struct args a;
	int rc;

	if (parse_args(argc, argv, &a) < 0) {
		free(a.conf);
		return usage(cmd);
	}
	log_init(1, LOG_LVL_WARN);
	rc = load(cmd, a.conf, &cfg);
	free(a.conf);
	a.conf = NULL;
	if (rc < 0)
		return 2;
	if (strcmp(cmd, "url") == 0)
		rc = cmd_url(&cfg, &a);
	else if (strcmp(cmd, "archive") == 0)
		rc = cmd_archive(&cfg, &a);
	else if (strcmp(cmd, "restore") == 0)
		rc = cmd_restore(&cfg, &a);
	else
		rc = cmd_hold(&cfg, &a);
	clients_free(&cfg);
	config_free(&cfg);
	return rc;
}

int connector_check_bucket(const struct bucket_conf *b)
{
	struct s3_status st;
	char mode[32], buf[600];
	int enabled, days, years, rc;

	if (!b->object_lock)
		return 0;
	rc = s3_get_object_lock_config(b->client, b->name, &enabled, mode, sizeof(mode), &days,
				       &years, &st);
	if (rc < 0) {
		printf("FAIL [bucket:%s] Object Lock configuration: %s\n", b->id,
		       s3_status_str(&st, buf, sizeof(buf)));
		return 1;
	}
	if (!enabled) {
		printf("FAIL [bucket:%s] object_lock = %s, but %s has no Object Lock; create a bucket "
		       "with Object Lock enabled (x-amz-bucket-object-lock-enabled) and use it\n",
		       b->id, b->object_lock, b->name);
		return 1;
	}
	long long r = b->retention_s;
	const char *unit = r % 86400 == 0 ? "d" : r % 3600 == 0 ? "h" : "s";
	r /= r % 86400 == 0 ? 86400 : r % 3600 == 0 ? 3600 : 1;
	if (mode[0])
		printf("OK   [bucket:%s] Object Lock enabled (bucket default: %s, %d %s); new "
		       "objects are sent with %s for %lld%s\n",
		       b->id, mode, years ? years : days, years ? "year(s)" : "day(s)",
		       b->object_lock, r, unit);
	else
		printf("OK   [bucket:%s] Object Lock enabled; new objects are sent with %s for "
		       "%lld%s\n",
		       b->id, b->object_lock, r, unit);
	return 0;
}
