/* test_conf.c - the configuration loader: every field of a full file, the
 * defaults of a minimal one, the value parsers, and a table of bad files
 * (tests/unit/bad_configs/expected.txt) that must each be refused with a
 * one-line message naming the file and never showing a secret. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define MiB (1024LL * 1024)
#define GiB (1024 * MiB)
#define SECRET_MARK "TOPSECRET" /* every secret value in test files holds it */

static char tmpdir[256];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_conf.XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* The directory holds only plain files this test wrote. */
static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[600];

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		ck_assert_msg(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
	}
	closedir(d);
	ck_assert_int_eq(rmdir(tmpdir), 0);
}

/* Writes text to tmpdir/name with mode; returns the path (static). */
static const char *write_conf(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static const char *testdata(void)
{
	const char *d = getenv("S3CSFS_TESTDATA");
	return d && *d ? d : "tests/unit";
}

/* A message is one line, names the file first, and shows no secret. */
static void check_message(const char *path, const char *err)
{
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':',
		      "message does not start with '%s:': %s", path, err);
	ck_assert_msg(!strchr(err, '\n') && !strchr(err, '\r'), "message is not one line: %s", err);
	ck_assert_msg(!strstr(err, SECRET_MARK), "message shows a secret: %s", err);
}

/* ---- value parsers ---- */

START_TEST(test_parse_size)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "5b", 5 },
		{ "1k", 1024 },
		{ "1K", 1024 },
		{ "2KiB", 2048 },
		{ "8M", 8 * MiB },
		{ "8MiB", 8 * MiB },
		{ "8mb", 8 * MiB },
		{ "10G", 10 * GiB },
		{ "1T", 1024 * GiB },
		{ "9223372036854775807", LLONG_MAX },
		{ "8589934591G", 8589934591LL * GiB },
	};
	static const char *const bad[] = {
		"",
		"-1",
		"+1",
		" 8M",
		"8M ",
		"8 M",
		"8X",
		"1.5G",
		"M",
		"8MM",
		"8Mi",
		"0x10",
		"8Gbit",
		"9223372036854775808",
		"8589934592G",
		"99999999999999999999999",
		"18446744073709551616",
	};
	long long v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		ck_assert_msg(config_parse_size(good[i].s, &v) == 0, "refused '%s'", good[i].s);
		ck_assert_msg(v == good[i].v, "'%s' gave %lld", good[i].s, v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		ck_assert_msg(config_parse_size(bad[i], &v) == -1, "took '%s'", bad[i]);
		ck_assert_msg(v == 42, "'%s' changed the output", bad[i]);
	}
	errno = 0;
	ck_assert_int_eq(config_parse_size("8589934592G", &v), -1);
	ck_assert_int_eq(errno, ERANGE);
	errno = 0;
	ck_assert_int_eq(config_parse_size("8Q", &v), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(config_parse_size(NULL, &v), -1);
	ck_assert_int_eq(config_parse_size("8M", NULL), -1);
}
END_TEST

START_TEST(test_parse_duration)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = {
		{ "0", 0 },
		{ "500ms", 500 },
		{ "30", 30000 },
		{ "30s", 30000 },
		{ "30S", 30000 },
		{ "5m", 300000 },
		{ "24h", 86400000 },
		{ "7d", 604800000 },
		{ "1ms", 1 },
		{ "106751991167d", 106751991167LL * 86400000 },
		{ "9223372036854775807ms", LLONG_MAX },
	};
	static const char *const bad[] = {
		"",
		"1w",
		"-1s",
		"1.5s",
		"s",
		"5 m",
		" 5m",
		"5mm",
		"5sec",
		"1y",
		"ms",
		"0x10",
		"106751991168d",
		"9223372036854775808ms",
		"9223372036854776s",
	};
	long long v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		ck_assert_msg(config_parse_duration_ms(good[i].s, &v) == 0, "refused '%s'",
			      good[i].s);
		ck_assert_msg(v == good[i].v, "'%s' gave %lld", good[i].s, v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		ck_assert_msg(config_parse_duration_ms(bad[i], &v) == -1, "took '%s'", bad[i]);
		ck_assert_msg(v == 42, "'%s' changed the output", bad[i]);
	}
	errno = 0;
	ck_assert_int_eq(config_parse_duration_ms("106751991168d", &v), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(config_parse_duration_ms(NULL, &v), -1);
}
END_TEST

START_TEST(test_parse_bool)
{
	static const char *const yes[] = { "true", "TRUE", "True", "yes", "on", "1", "YES", "On" };
	static const char *const no[] = { "false", "FALSE", "no", "off", "0", "Off" };
	static const char *const bad[] = { "", "2", "y", "n", "truee", " true", "enabled", "-1" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(config_parse_bool(yes[i]) == 1, "'%s'", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(config_parse_bool(no[i]) == 0, "'%s'", no[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_bool(bad[i]) == -1, "'%s'", bad[i]);
	ck_assert_int_eq(config_parse_bool(NULL), -1);
}
END_TEST

/* ---- whole files ---- */

/* Every key, three buckets; CA_BUNDLE is replaced by a readable file. */
static const char full_conf[] =
	"; a full configuration\n"
	"[general]\n"
	"cache_dir = /srv/s3csfs/cache/   ; trailing slash dropped\n"
	"cache_max_size = 20G\n"
	"part_size = 16MiB\n"
	"upload_threads = 16\n"
	"max_queued_uploads = 50\n"
	"upload = async\n"
	"journal_fsync = no\n"
	"log_level = debug\n"
	"reaper = off\n"
	"reaper_interval = 30m\n"
	"reaper_max_age = 2d\n"
	"attr_timeout = 1500ms\n"
	"negative_timeout = 0\n"
	"read_ahead = 64M\n"
	"write_ahead = 16M\n"
	"max_retries = 3\n"
	"retry_max_time = 2m\n"
	"connect_timeout = 750ms\n"
	"mount_timeout = 3s\n"
	"\n"
	"[s3]\n"
	"profile = onprem\n"
	"endpoint = HTTP://rgw.example.com:7480/\n"
	"region = zg1\n"
	"addressing = virtual\n"
	"access_key = AKIDGLOBAL\n"
	"secret_key = TOPSECRET-global/K7MDENG+bPxRfiCY\n"
	"session_token = TOPSECRET-global-token\n"
	"ca_bundle = CA_BUNDLE\n"
	"insecure = false\n"
	"\n"
	"# the archive comes first: first match wins\n"
	"[bucket:archive]\n"
	"name = cs-archive\n"
	"from = 2019-01-01\n"
	"until = 2024-02-29\n"
	"key_prefix = alfresco\n"
	"key_layout = flat\n"
	"storage_class = glacier_ir\n"
	"sse = aws:kms\n"
	"sse_kms_key_id = arn:aws:kms:eu-west-1:111122223333:key/1234abcd\n"
	"tags = retention=7y&owner=ecm%20team\n"
	"endpoint = https://archive.example.com\n"
	"region = eu-west-1\n"
	"addressing = path\n"
	"access_key = AKIDARCHIVE\n"
	"secret_key = TOPSECRET-archive\n"
	"insecure = true\n"
	"exclusive_create = strict\n"
	"\n"
	"[Bucket:Deleted]\n"
	"name = cs.deleted\n"
	"paths = contentstore.deleted/** ,  other/*  , x/[0-9]*\\\n"
	"  .bin\n"
	"storage_class = STANDARD_IA\n"
	"sse = AES256\n"
	"on_delete = \"tag:s3csfs-deleted=yes;really\"\n"
	"\n"
	"[bucket:main]\n"
	"name = contentstore\n"
	"default = true\n"
	"key_prefix = store/\n"
	"sse = none\n"
	"on_delete = delete\n"
	"tags =\n";

START_TEST(test_full_config)
{
	struct config cfg;
	char err[512] = "", ca[300], *text, *p;
	const char *path;
	const struct bucket_conf *b;

	make_tmpdir();
	/* a readable file for ca_bundle (its content is not checked here) */
	snprintf(ca, sizeof(ca), "%s", write_conf("ca.pem", "not really a CA\n", 0644));
	text = malloc(sizeof(full_conf) + strlen(ca));
	ck_assert_ptr_nonnull(text);
	p = strstr(full_conf, "CA_BUNDLE");
	sprintf(text, "%.*s%s%s", (int)(p - full_conf), full_conf, ca, p + strlen("CA_BUNDLE"));
	path = write_conf("full.conf", text, 0600);
	free(text);

	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.path, path);

	ck_assert_str_eq(cfg.cache_dir, "/srv/s3csfs/cache");
	ck_assert_int_eq(cfg.cache_max_size, 20 * GiB);
	ck_assert_int_eq(cfg.part_size, 16 * MiB);
	ck_assert_int_eq(cfg.upload_threads, 16);
	ck_assert_int_eq(cfg.max_queued_uploads, 50);
	ck_assert_int_eq(cfg.upload, UPLOAD_ASYNC);
	ck_assert_int_eq(cfg.journal_fsync, 0);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
	ck_assert_int_eq(cfg.reaper_enabled, 0);
	ck_assert_int_eq(cfg.reaper_interval_s, 1800);
	ck_assert_int_eq(cfg.reaper_max_age_s, 172800);
	ck_assert_double_eq(cfg.attr_timeout, 1.5);
	ck_assert_double_eq(cfg.negative_timeout, 0.0);
	ck_assert_int_eq(cfg.read_ahead, 64 * MiB);
	ck_assert_int_eq(cfg.write_ahead, 16 * MiB);
	ck_assert_int_eq(cfg.max_retries, 3);
	ck_assert_int_eq(cfg.retry_max_ms, 120000);
	ck_assert_int_eq(cfg.connect_timeout_ms, 750);
	ck_assert_int_eq(cfg.mount_timeout_ms, 3000);

	ck_assert_int_eq(cfg.profile, PROFILE_ONPREM);
	ck_assert_str_eq(cfg.s3.endpoint, "http://rgw.example.com:7480");
	ck_assert_str_eq(cfg.s3.region, "zg1");
	ck_assert_int_eq(cfg.s3.path_style, 0);
	ck_assert_str_eq(cfg.s3.access_key, "AKIDGLOBAL");
	ck_assert_str_eq(cfg.s3.secret_key, "TOPSECRET-global/K7MDENG+bPxRfiCY");
	ck_assert_str_eq(cfg.s3.session_token, "TOPSECRET-global-token");
	ck_assert_str_eq(cfg.s3.ca_bundle, ca);
	ck_assert_int_eq(cfg.s3.insecure, 0);

	ck_assert_uint_eq(cfg.nbuckets, 3);
	ck_assert_int_eq(cfg.default_bucket, 2);

	b = &cfg.buckets[0]; /* file order kept */
	ck_assert_str_eq(b->id, "archive");
	ck_assert_str_eq(b->name, "cs-archive");
	ck_assert_int_eq(b->exclusive_create, EXCL_STRICT);
	ck_assert_int_eq(b->is_default, 0);
	ck_assert_uint_eq(b->npaths, 0);
	ck_assert_int_eq(b->from_date, 20190101);
	ck_assert_int_eq(b->until_date, 20240229);
	ck_assert_str_eq(b->key_prefix, "alfresco/");
	ck_assert_int_eq(b->key_layout, KEY_LAYOUT_FLAT);
	ck_assert_str_eq(b->storage_class, "GLACIER_IR");
	ck_assert_str_eq(b->sse, "aws:kms");
	ck_assert_str_eq(b->sse_kms_key_id, "arn:aws:kms:eu-west-1:111122223333:key/1234abcd");
	ck_assert_str_eq(b->tags, "retention=7y&owner=ecm%20team");
	ck_assert_ptr_null(b->on_delete);
	ck_assert_str_eq(b->conn.endpoint, "https://archive.example.com");
	ck_assert_str_eq(b->conn.region, "eu-west-1");
	ck_assert_int_eq(b->conn.path_style, 1);
	ck_assert_str_eq(b->conn.access_key, "AKIDARCHIVE");
	ck_assert_str_eq(b->conn.secret_key, "TOPSECRET-archive");
	/* its own key pair: [s3]'s session token belongs to another pair */
	ck_assert_ptr_null(b->conn.session_token);
	ck_assert_str_eq(b->conn.ca_bundle, ca);
	ck_assert_int_eq(b->conn.insecure, 1);
	ck_assert_ptr_null(b->client);

	b = &cfg.buckets[1];
	ck_assert_str_eq(b->id, "deleted"); /* section names are lower-cased */
	ck_assert_str_eq(b->name, "cs.deleted");
	ck_assert_uint_eq(b->npaths, 3);
	ck_assert_str_eq(b->paths[0], "contentstore.deleted/**");
	ck_assert_str_eq(b->paths[1], "other/*");
	ck_assert_str_eq(b->paths[2], "x/[0-9]*  .bin"); /* continuation joined as iniparser does */
	ck_assert_int_eq(b->from_date, 0);
	ck_assert_int_eq(b->until_date, 0);
	ck_assert_str_eq(b->key_prefix, "");
	ck_assert_int_eq(b->key_layout, KEY_LAYOUT_DATE);
	ck_assert_str_eq(b->storage_class, "STANDARD_IA");
	ck_assert_str_eq(b->sse, "AES256");
	ck_assert_ptr_null(b->sse_kms_key_id);
	ck_assert_ptr_null(b->tags);
	ck_assert_str_eq(b->on_delete, "tag:s3csfs-deleted=yes;really");
	/* everything inherited from [s3] */
	ck_assert_str_eq(b->conn.endpoint, "http://rgw.example.com:7480");
	ck_assert_str_eq(b->conn.region, "zg1");
	ck_assert_int_eq(b->conn.path_style, 0);
	ck_assert_str_eq(b->conn.access_key, "AKIDGLOBAL");
	ck_assert_str_eq(b->conn.secret_key, "TOPSECRET-global/K7MDENG+bPxRfiCY");
	ck_assert_str_eq(b->conn.session_token, "TOPSECRET-global-token");
	ck_assert_int_eq(b->conn.insecure, 0);

	b = &cfg.buckets[2];
	ck_assert_str_eq(b->id, "main");
	ck_assert_str_eq(b->name, "contentstore");
	ck_assert_int_eq(b->exclusive_create, EXCL_BEST_EFFORT);
	ck_assert_int_eq(b->is_default, 1);
	ck_assert_str_eq(b->key_prefix, "store/");
	ck_assert_ptr_null(b->storage_class);
	ck_assert_ptr_null(b->sse);
	ck_assert_ptr_null(b->tags);
	ck_assert_ptr_null(b->on_delete);

	config_free(&cfg);
	config_free(&cfg); /* harmless twice */
	remove_tmpdir();
}
END_TEST

START_TEST(test_minimal_defaults)
{
	struct config cfg;
	char err[512];
	const char *path;
	const struct bucket_conf *b;

	make_tmpdir();
	/* no secrets, so group/other may read it */
	path = write_conf("min.conf",
			  "[s3]\nendpoint = http://127.0.0.1:7480\n[bucket:main]\nname = contentstore\n",
			  0644);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.cache_dir, "/var/cache/s3csfs");
	ck_assert_int_eq(cfg.cache_max_size, 10 * GiB);
	ck_assert_int_eq(cfg.part_size, 16 * MiB);
	ck_assert_int_eq(cfg.upload_threads, 8);
	ck_assert_int_eq(cfg.max_queued_uploads, 1024);
	ck_assert_int_eq(cfg.max_nodes, 32768);
	ck_assert_int_eq(cfg.upload, UPLOAD_SYNC);
	ck_assert_int_eq(cfg.journal_fsync, 1);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_INFO);
	ck_assert_int_eq(cfg.reaper_enabled, 1);
	ck_assert_int_eq(cfg.reaper_interval_s, 3600);
	ck_assert_int_eq(cfg.reaper_max_age_s, 86400);
	ck_assert_double_eq(cfg.attr_timeout, 60.0);
	ck_assert_double_eq(cfg.negative_timeout, 1.0);
	ck_assert_int_eq(cfg.read_ahead, 32 * MiB);
	ck_assert_int_eq(cfg.write_ahead, 16 * 8 * MiB); /* part_size * upload_threads */
	ck_assert_int_eq(cfg.max_retries, 8);
	ck_assert_int_eq(cfg.retry_max_ms, 60000);
	ck_assert_int_eq(cfg.connect_timeout_ms, 5000);
	ck_assert_int_eq(cfg.mount_timeout_ms, 10000);
	ck_assert_int_eq(cfg.buckets[0].exclusive_create, EXCL_BEST_EFFORT);
	ck_assert_int_eq(cfg.profile, PROFILE_ONPREM);
	/* [s3] as written: unset stays unset */
	ck_assert_str_eq(cfg.s3.endpoint, "http://127.0.0.1:7480");
	ck_assert_ptr_null(cfg.s3.region);
	ck_assert_int_eq(cfg.s3.path_style, -1);
	ck_assert_ptr_null(cfg.s3.access_key);
	ck_assert_ptr_null(cfg.s3.secret_key);
	ck_assert_ptr_null(cfg.s3.session_token);
	ck_assert_ptr_null(cfg.s3.ca_bundle);
	ck_assert_int_eq(cfg.s3.insecure, -1);

	ck_assert_uint_eq(cfg.nbuckets, 1);
	ck_assert_int_eq(cfg.default_bucket, 0);
	b = &cfg.buckets[0];
	ck_assert_str_eq(b->id, "main");
	ck_assert_str_eq(b->name, "contentstore");
	ck_assert_int_eq(b->is_default, 1);
	ck_assert_uint_eq(b->npaths, 0);
	ck_assert_ptr_null(b->paths);
	ck_assert_int_eq(b->from_date, 0);
	ck_assert_int_eq(b->until_date, 0);
	ck_assert_str_eq(b->key_prefix, "");
	ck_assert_int_eq(b->key_layout, KEY_LAYOUT_DATE);
	ck_assert_ptr_null(b->storage_class);
	ck_assert_ptr_null(b->sse);
	ck_assert_ptr_null(b->sse_kms_key_id);
	ck_assert_ptr_null(b->tags);
	ck_assert_ptr_null(b->on_delete);
	/* effective connection: resolved, nothing left "unset" */
	ck_assert_str_eq(b->conn.endpoint, "http://127.0.0.1:7480");
	ck_assert_str_eq(b->conn.region, "us-east-1");
	ck_assert_int_eq(b->conn.path_style, 1);
	ck_assert_ptr_null(b->conn.access_key);
	ck_assert_ptr_null(b->conn.secret_key);
	ck_assert_ptr_null(b->conn.session_token);
	ck_assert_ptr_null(b->conn.ca_bundle);
	ck_assert_int_eq(b->conn.insecure, 0);
	config_free(&cfg);
	remove_tmpdir();
}
END_TEST

START_TEST(test_aws_profile)
{
	struct config cfg;
	char err[512];
	const char *path;

	make_tmpdir();
	path = write_conf("aws.conf",
			  "[s3]\n"
			  "profile = aws\n"
			  "region = eu-central-1\n"
			  "[bucket:main]\n"
			  "name = acme-contentstore\n"
			  "default = true\n"
			  "sse = aws:kms\n"
			  "[bucket:china]\n"
			  "name = acme-cn\n"
			  "paths = cn/**\n"
			  "region = cn-north-1\n"
			  "[bucket:dotted]\n"
			  "name = acme.old\n"
			  "until = 2020-01-01\n"
			  "addressing = path\n",
			  0644);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.profile, PROFILE_AWS);
	ck_assert_ptr_null(cfg.s3.endpoint);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "https://s3.eu-central-1.amazonaws.com");
	ck_assert_str_eq(cfg.buckets[0].conn.region, "eu-central-1");
	ck_assert_int_eq(cfg.buckets[0].conn.path_style, 0);
	ck_assert_str_eq(cfg.buckets[0].sse, "aws:kms");
	ck_assert_ptr_null(cfg.buckets[0].sse_kms_key_id); /* AWS's default key */
	ck_assert_str_eq(cfg.buckets[1].conn.endpoint, "https://s3.cn-north-1.amazonaws.com.cn");
	ck_assert_str_eq(cfg.buckets[1].conn.region, "cn-north-1");
	ck_assert_int_eq(cfg.buckets[2].conn.path_style, 1);
	ck_assert_int_eq(cfg.buckets[2].until_date, 20200101);
	ck_assert_int_eq(cfg.default_bucket, 0);
	config_free(&cfg);
	remove_tmpdir();
}
END_TEST

/* Failure leaves nothing allocated, and short or absent buffers are safe. */
START_TEST(test_error_buffers)
{
	struct config cfg;
	char small[12];
	const char *path;

	make_tmpdir();
	path = write_conf("bad.conf", "[general]\npart_size = 1\n[bucket:x]\nname = abc\n", 0600);
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(config_load(path, &cfg, small, sizeof(small)), -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_ptr_null(cfg.buckets);
	ck_assert_ptr_null(cfg.path);
	config_free(&cfg);
	ck_assert_int_eq(config_load(path, &cfg, NULL, 0), -1);
	ck_assert_int_eq(config_load(NULL, &cfg, small, sizeof(small)), -1);
	ck_assert_int_eq(config_load(tmpdir, &cfg, small, sizeof(small)), -1); /* a directory */
	config_free(NULL);
	remove_tmpdir();
}
END_TEST

/* The file-mode rule looks at the bits, whatever the secret's section. */
START_TEST(test_secret_mode)
{
	static const char text[] = "[s3]\nendpoint = http://127.0.0.1:7480\n"
				   "access_key = AK\nsecret_key = " SECRET_MARK "-x\n"
				   "[bucket:main]\nname = contentstore\n";
	static const mode_t refused[] = { 0604, 0640, 0660, 0602, 0620, 0601, 0610, 0644 };
	struct config cfg;
	char err[512];
	const char *path;

	make_tmpdir();
	path = write_conf("m.conf", text, 0600);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	config_free(&cfg);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char want[64];

		ck_assert_int_eq(chmod(path, refused[i]), 0);
		ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), -1);
		check_message(path, err);
		snprintf(want, sizeof(want), "(mode %04o); run: chmod 600 ", (unsigned)refused[i]);
		ck_assert_msg(strstr(err, want), "%s", err);
		ck_assert_msg(strstr(err, "group/others"), "%s", err);
	}
	remove_tmpdir();
}
END_TEST

/* The table: every file in bad_configs/ is refused with its substring. */
START_TEST(test_bad_configs)
{
	char dir[512], list[600], line[512], src[1100], dst[800], err[1024];
	FILE *f;
	int n = 0, lineno = 0;

	make_tmpdir();
	snprintf(dir, sizeof(dir), "%s/bad_configs", testdata());
	snprintf(list, sizeof(list), "%s/expected.txt", dir);
	f = fopen(list, "r");
	ck_assert_msg(f != NULL, "cannot open %s (set S3CSFS_TESTDATA)", list);
	while (fgets(line, sizeof(line), f)) {
		char *tab, *want, *mode_s, *nl;
		struct config cfg;
		mode_t mode = 0600;
		int rc;

		lineno++;
		if ((nl = strchr(line, '\n')))
			*nl = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		ck_assert_msg(tab && tab[1], "expected.txt:%d: want FILE<TAB>SUBSTRING", lineno);
		*tab = '\0';
		want = tab + 1;
		snprintf(src, sizeof(src), "%s/%s", dir, line);
		snprintf(dst, sizeof(dst), "%s/%s", tmpdir, line);
		if (strstr(line, "absent")) {
			ck_assert_msg(access(src, F_OK) != 0, "%s should not exist", src);
		} else {
			/* copied, so the mode is ours to set (git keeps none) */
			FILE *in = fopen(src, "r"), *out;
			char buf[4096];
			size_t got;

			ck_assert_msg(in != NULL, "expected.txt:%d: no file %s", lineno, src);
			out = fopen(dst, "w");
			ck_assert_ptr_nonnull(out);
			while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
				ck_assert_uint_eq(fwrite(buf, 1, got, out), got);
			fclose(in);
			ck_assert_int_eq(fclose(out), 0);
			/* "modeNNN" in the name, not "upload-mode" */
			for (mode_s = strstr(line, "mode"); mode_s;
			     mode_s = strstr(mode_s + 1, "mode"))
				if (mode_s[4] >= '0' && mode_s[4] <= '7')
					mode = (mode_t)strtol(mode_s + 4, NULL, 8);
			ck_assert_int_eq(chmod(dst, mode), 0);
		}
		memset(&cfg, 0x5a, sizeof(cfg)); /* garbage in: the loader must not care */
		rc = config_load(dst, &cfg, err, sizeof(err));
		ck_assert_msg(rc == -1, "%s: loaded, but should fail with '%s'", line, want);
		check_message(dst, err);
		ck_assert_msg(strstr(err, want), "%s:\n  got:  %s\n  want: ...%s...", line, err,
			      want);
		ck_assert_ptr_null(cfg.buckets);
		config_free(&cfg);
		n++;
	}
	fclose(f);
	ck_assert_msg(n >= 25, "only %d bad configurations", n);
	remove_tmpdir();
}
END_TEST

/* Every .conf in bad_configs/ has a line in expected.txt. */
START_TEST(test_bad_configs_all_listed)
{
	char dir[512], list[600], line[512];
	struct dirent *e;
	DIR *d;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/bad_configs", testdata());
	snprintf(list, sizeof(list), "%s/expected.txt", dir);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		int found = 0;

		if (n < 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		f = fopen(list, "r");
		ck_assert_ptr_nonnull(f);
		while (!found && fgets(line, sizeof(line), f))
			found = strncmp(line, e->d_name, n) == 0 && line[n] == '\t';
		fclose(f);
		ck_assert_msg(found, "%s is not in expected.txt", e->d_name);
	}
	closedir(d);
}
END_TEST

/* Messages about wrong values in credential keys never echo the value. */
START_TEST(test_secrets_not_echoed)
{
	static const char *const bodies[] = {
		"[s3]\nendpoint = http://127.0.0.1:7480\naccess_key = AK\n"
		"secret_key = " SECRET_MARK " has spaces\n[bucket:m]\nname = abc\n",
		"[s3]\nendpoint = http://127.0.0.1:7480\naccess_key = " SECRET_MARK "\n"
		"[bucket:m]\nname = abc\n",
		"[s3]\nendpoint = http://127.0.0.1:7480\nsession_token = " SECRET_MARK "\n"
		"[bucket:m]\nname = abc\n",
		"[s3]\nendpoint = http://u:" SECRET_MARK "@127.0.0.1:7480\n[bucket:m]\nname = abc\n",
		"[s3]\nendpoint = http://127.0.0.1:7480\nsecret_key " SECRET_MARK "\n"
		"[bucket:m]\nname = abc\n",
		"[s3]\nendpoint = http://127.0.0.1:7480\n" SECRET_MARK "\n[bucket:m]\nname = abc\n",
		"[s3]\nendpoint = http://127.0.0.1:7480\naccess_key = AK\nsecret_key = " SECRET_MARK
		"\n[bucket:m]\nname = abc\nsecret_key = " SECRET_MARK "2\n",
	};
	struct config cfg;
	char err[1024];

	make_tmpdir();
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const char *path = write_conf("s.conf", bodies[i], 0600);

		ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == -1, "body %zu loaded", i);
		check_message(path, err);
	}
	remove_tmpdir();
}
END_TEST

/* Values iniparser takes quoted, and a few accepted spellings. */
START_TEST(test_spellings)
{
	struct config cfg;
	char err[512];
	const char *path;

	make_tmpdir();
	path = write_conf("q.conf",
			  "[GENERAL]\n"
			  "Log_Level = WARNING\n"
			  "cache_dir = \"/var/cache/s3 csfs\"\n"
			  "[s3]\n"
			  "endpoint = 'http://[::1]:7480'\n"
			  "[bucket:a-1_b.c]\n"
			  "name = abc\n"
			  "key_prefix = \"x;y\"\n"
			  "storage_class = intelligent_tiering\n"
			  "sse = aes256\n"
			  "on_delete = TAG:gone=\n"
			  "tags = a=1&b=&c=%2F\n",
			  0600);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_WARN);
	ck_assert_str_eq(cfg.cache_dir, "/var/cache/s3 csfs");
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "http://[::1]:7480");
	ck_assert_str_eq(cfg.buckets[0].id, "a-1_b.c");
	ck_assert_str_eq(cfg.buckets[0].key_prefix, "x;y/");
	ck_assert_str_eq(cfg.buckets[0].storage_class, "INTELLIGENT_TIERING");
	ck_assert_str_eq(cfg.buckets[0].sse, "AES256");
	ck_assert_str_eq(cfg.buckets[0].on_delete, "tag:gone=");
	ck_assert_str_eq(cfg.buckets[0].tags, "a=1&b=&c=%2F");
	config_free(&cfg);
	remove_tmpdir();
}
END_TEST

/* The shipped example (etc/s3csfs.conf) loads, as the local test setup. */
START_TEST(test_example_file)
{
	struct config cfg;
	char path[600], err[512];

	snprintf(path, sizeof(path), "%s/../../etc/s3csfs.conf", testdata());
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.profile, PROFILE_ONPREM);
	ck_assert_ptr_null(cfg.s3.secret_key); /* no secrets shipped */
	ck_assert_uint_eq(cfg.nbuckets, 1);
	ck_assert_str_eq(cfg.buckets[0].name, "contentstore");
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "http://127.0.0.1:7480");
	ck_assert_int_eq(cfg.buckets[0].conn.path_style, 1);
	config_free(&cfg);
}
END_TEST

/* A NUL byte, a CRLF file, a last line without newline. */
START_TEST(test_odd_bytes)
{
	static const char nul[] = "[s3]\nendpoint = http://127.0.0.1:7480\nregion = x\0y\n"
				  "[bucket:main]\nname = contentstore\n";
	struct config cfg;
	char err[512], path[300];
	FILE *f;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), -1);
	check_message(path, err);
	ck_assert_msg(strstr(err, "line 3: holds a NUL byte"), "%s", err);

	write_conf("crlf.conf",
		   "[s3]\r\nendpoint = http://127.0.0.1:7480\r\n\r\n[bucket:main]\r\n"
		   "name = contentstore\r\ndefault = true",
		   0600);
	snprintf(path, sizeof(path), "%s/crlf.conf", tmpdir);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.buckets[0].name, "contentstore");
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "http://127.0.0.1:7480");
	config_free(&cfg);
	remove_tmpdir();
}
END_TEST

/* ---- the reader's bounds and iniparser 4.1's syntax ---- */

#define BASE "[s3]\nendpoint = http://127.0.0.1:7480\n[bucket:main]\nname = contentstore\n"

/* Loads text as tmpdir/r.conf (0600); returns config_load's result. */
static int load_text(const char *text, struct config *cfg, char *err, size_t errlen)
{
	const char *path = write_conf("r.conf", text, 0600);
	int rc = config_load(path, cfg, err, errlen);

	if (rc < 0)
		check_message(path, err);
	return rc;
}

/* BASE, then head, n times c, tail; malloc'd. */
static char *long_text(const char *head, size_t n, char c, const char *tail)
{
	size_t hl = strlen(BASE) + strlen(head), tl = strlen(tail);
	char *t = malloc(hl + n + tl + 1);

	ck_assert_ptr_nonnull(t);
	snprintf(t, hl + 1, "%s%s", BASE, head);
	memset(t + hl, c, n);
	memcpy(t + hl + n, tail, tl + 1);
	return t;
}

/* 1022 characters a line, continued lines included; the line that goes
 * over is named. */
START_TEST(test_line_length)
{
	static const struct {
		const char *head, *tail;
		size_t n; /* of 'x' */
		int line; /* refused there; 0: loads */
	} cases[] = {
		{ "; ", "\n", 1020, 0 }, /* 1022 */
		{ "; ", "\n", 1021, 5 }, /* 1023 */
		{ "; ", "", 1020, 0 },   /* the last line, no newline */
		{ "; ", "", 1021, 5 },
		{ "; ", "   \n", 1017, 0 }, /* trailing spaces count before the cut */
		{ "; ", "    \n", 1017, 5 },
		{ ";\\\n", "\n", 1021, 0 }, /* ";" + 1021: the '\' gives its place */
		{ ";\\\n", "\n", 1022, 6 }, /* named: the continuing line */
		{ "; ", "\n", 100000, 5 },  /* never held whole */
	};
	struct config cfg;
	char err[1024];

	make_tmpdir();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = long_text(cases[i].head, cases[i].n, 'x', cases[i].tail);
		char want[64];
		int rc = load_text(t, &cfg, err, sizeof(err));

		free(t);
		if (!cases[i].line) {
			ck_assert_msg(rc == 0, "case %zu: %s", i, err);
			config_free(&cfg);
			continue;
		}
		ck_assert_msg(rc == -1, "case %zu loaded", i);
		snprintf(want, sizeof(want), "line %d: line too long (at most 1022 characters",
			 cases[i].line);
		ck_assert_msg(strstr(err, want), "case %zu: %s", i, err);
	}
	remove_tmpdir();
}
END_TEST

/* A NUL byte anywhere, a secret's line included, is refused by its line
 * and never shown; a '\' the file ends in continues nothing. */
START_TEST(test_reader_refuses)
{
	static const char secret_nul[] = "[s3]\nendpoint = http://127.0.0.1:7480\naccess_key = AK\n"
					 "secret_key = " SECRET_MARK "\0" SECRET_MARK "\n"
					 "[bucket:main]\nname = contentstore\n";
	static const struct {
		const char *text, *want; /* want NULL: loads */
	} cases[] = {
		{ BASE "region = x \\\n", "line 5: continued with '\\' but the file ends there" },
		{ BASE "region = x \\", "line 5: continued with '\\' but the file ends there" },
		{ BASE "region = x\\\n  \\\n", "line 5: continued with '\\'" },
		{ BASE "[general] \\\n", "line 5: continued with '\\'" },
		{ BASE "name = x \\\n", "[bucket:main] name: set twice (lines 4 and 5)" },
		{ BASE "# a comment \\\n", NULL },
		{ BASE "\\\n", NULL },
		{ BASE "region = eu-west-\\\n1", NULL },
		{ BASE "\n\n\n", NULL },
	};
	struct config cfg;
	char err[1024], path[300];
	FILE *f;

	make_tmpdir();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load_text(cases[i].text, &cfg, err, sizeof(err));

		if (!cases[i].want) {
			ck_assert_msg(rc == 0, "case %zu: %s", i, err);
			config_free(&cfg);
			continue;
		}
		ck_assert_msg(rc == -1, "case %zu loaded", i);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: %s", i, err);
	}
	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(secret_nul, 1, sizeof(secret_nul) - 1, f), sizeof(secret_nul) - 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), -1);
	check_message(path, err);
	ck_assert_msg(strstr(err, "line 4: holds a NUL byte"), "%s", err);
	remove_tmpdir();
}
END_TEST

/* At most 1024 sections and 256 keys a section are held. */
START_TEST(test_reader_counts)
{
	struct config cfg;
	char err[1024], *t;
	size_t cap = 64 * 1024, n;

	make_tmpdir();
	t = malloc(cap);
	ck_assert_ptr_nonnull(t);
	/* 256 distinct keys: read, then the first unknown one is named */
	n = (size_t)snprintf(t, cap, "%s[general]\n", BASE);
	for (int k = 0; k < 256; k++)
		n += (size_t)snprintf(t + n, cap - n, "k%d = v\n", k);
	ck_assert_int_eq(load_text(t, &cfg, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[general] k0: unknown key"), "%s", err);
	snprintf(t + n, cap - n, "k256 = v\n");
	ck_assert_int_eq(load_text(t, &cfg, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[general]: line 262: more than 256 keys in one section"), "%s",
		      err);

	n = (size_t)snprintf(t, cap, "%s", BASE);
	for (int b = 1; b < 1023; b++) /* with BASE's two: 1024 */
		n += (size_t)snprintf(t + n, cap - n, "[bucket:b%d]\nname = b%d-x\n", b, b);
	ck_assert_int_eq(load_text(t, &cfg, err, sizeof(err)), -1);
	ck_assert_msg(!strstr(err, "more than"), "%s", err);
	snprintf(t + n, cap - n, "[bucket:b1023]\n");
	ck_assert_int_eq(load_text(t, &cfg, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "line 2049: more than 1024 sections"), "%s", err);
	free(t);
	remove_tmpdir();
}
END_TEST

/* Values as iniparser 4.1 took them: quotes keep spaces, ';' and '#' and
 * end at the closing quote (or the line's end); otherwise ';' or '#' starts
 * a comment; "" and '' are empty; a continued line takes the '\''s place. */
START_TEST(test_value_syntax)
{
	static const struct {
		const char *line, *cache_dir;
	} cases[] = {
		{ "cache_dir = /a/b", "/a/b" },
		{ "CACHE_DIR=/a/b", "/a/b" },
		{ "cache_dir\t=\t/a/b\t", "/a/b" },
		{ "cache_dir = /a b ; a comment", "/a b" },
		{ "cache_dir = /a#b", "/a" },
		{ "cache_dir = \"/a;b#c\" ; a comment", "/a;b#c" },
		{ "cache_dir = '/a;b' then ignored", "/a;b" },
		{ "cache_dir = \"/a b  \"", "/a b  " },
		{ "cache_dir = \"/no closing quote", "/no closing quote" },
		{ "cache_dir = '/x\"y'", "/x\"y" },
		{ "cache_dir = /a=b", "/a=b" },
		{ "cache_dir = /a \\\n  /b", "/a   /b" },
		{ "cache_dir = /a\\\n\\\n/b", "/a/b" },
	};
	static const char *const empty[] = { "cache_dir =", "cache_dir = \"\"", "cache_dir = ''",
					     "cache_dir = ; c", "cache_dir = #" };
	struct config cfg;
	char err[1024], text[512];

	make_tmpdir();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[general]\n%s\n%s", cases[i].line, BASE);
		ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == 0, "case %zu: %s", i, err);
		ck_assert_msg(strcmp(cfg.cache_dir, cases[i].cache_dir) == 0, "case %zu: '%s'", i,
			      cfg.cache_dir);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		snprintf(text, sizeof(text), "[general]\n%s\n%s", empty[i], BASE);
		ck_assert_int_eq(load_text(text, &cfg, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, "[general] cache_dir: empty value"), "'%s': %s", empty[i],
			      err);
	}
	/* "[a]b]" names [a]; names ignore case and spaces inside the brackets */
	ck_assert_msg(load_text("[ General ]x]\ncache_dir = /c\n" BASE, &cfg, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(cfg.cache_dir, "/c");
	config_free(&cfg);
	remove_tmpdir();
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_parse_bool);
	tcase_add_test(tc, test_full_config);
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_aws_profile);
	tcase_add_test(tc, test_error_buffers);
	tcase_add_test(tc, test_secret_mode);
	tcase_add_test(tc, test_bad_configs);
	tcase_add_test(tc, test_bad_configs_all_listed);
	tcase_add_test(tc, test_secrets_not_echoed);
	tcase_add_test(tc, test_spellings);
	tcase_add_test(tc, test_odd_bytes);
	tcase_add_test(tc, test_example_file);
	tcase_add_test(tc, test_line_length);
	tcase_add_test(tc, test_reader_refuses);
	tcase_add_test(tc, test_reader_counts);
	tcase_add_test(tc, test_value_syntax);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
