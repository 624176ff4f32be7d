/* test_creds.c - the credential sources' parsers and rules, no network:
 * the JSON field reader, the metadata and credential_process documents,
 * the container endpoint host rules, STS endpoint choice, the config keys
 * of issue 15 (aws_profile, role_arn, proxy, sts_endpoint, use_fips,
 * use_dualstack, AWS_ENDPOINT_URL_S3, the region from the environment and
 * the shared config file), and the refresher: renewed in the background,
 * get() not held up by a slow fetch. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "creds_container.h"
#include "creds_process.h"
#include "creds_refresh.h"
#include "imds.h"
#include "json.h"
#include "sts.h"

/* ---- json ---- */

START_TEST(test_json_fields)
{
	char a[32], b[32], c[32], d[8];
	struct json_field f[] = {
		{ "A", a, sizeof(a), 0 },
		{ "n.B", b, sizeof(b), 0 },
		{ "C", c, sizeof(c), 0 },
		{ "D", d, sizeof(d), 0 },
	};
	const char *why;
	const char *doc =
		" {\"A\": \"x\\u0041\\n\", \"n\": {\"B\": 12.5e3, \"z\": [1, {\"q\": null}]},"
		" \"C\": true, \"other\": \"y\"}\n";

	ck_assert_int_eq(json_get_fields(doc, strlen(doc), f, 4, &why), 0);
	ck_assert_str_eq(a, "xA\n");
	ck_assert_int_eq(f[0].type, JSON_STRING);
	ck_assert_str_eq(b, "12.5e3");
	ck_assert_int_eq(f[1].type, JSON_NUMBER);
	ck_assert_str_eq(c, "true");
	ck_assert_int_eq(f[2].type, JSON_BOOL);
	ck_assert_int_eq(f[3].type, JSON_ABSENT);

	static const char *const bad[] = {
		"",
		"[]",
		"{",
		"{\"A\"}",
		"{\"A\": }",
		"{\"A\": \"x\"} junk",
		"{\"A\": \"x\",}",
		"{\"A\": \"x\" \"C\": 1}",
		"{\"A\": \"x\", \"A\": \"y\"}",
		"{\"A\": {\"n\": 1}}",
		"{\"A\": \"\\u0001\"}",
		"{\"A\": \"\\x\"}",
		"{\"A\": \"a\nb\"}",
		"{\"A\": tru}",
		"{\"A\": [[[[[[[[[[1]]]]]]]]]]}",
		"{\"A\": \"unterminated}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(json_get_fields(bad[i], strlen(bad[i]), f, 4, &why) == -EINVAL,
			      "accepted %s", bad[i]);
	const char *nul = "{\"A\": \"x\0\"}";
	ck_assert_int_eq(json_get_fields(nul, 11, f, 4, &why), -EINVAL);
	const char *longv = "{\"D\": \"12345678\"}";
	ck_assert_int_eq(json_get_fields(longv, strlen(longv), f, 4, &why), -E2BIG);
}
END_TEST

/* ---- documents ---- */

START_TEST(test_metadata_document)
{
	struct s3_creds c;
	char err[300];
	const char *ok =
		"{\"Code\":\"Success\",\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s/k+1\","
		"\"Token\":\"T\",\"Expiration\":\"2026-11-25T12:00:00Z\",\"RoleArn\":\"r\"}";
	const char *offset = "{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\","
			     "\"Expiration\":\"2026-11-25T13:00:00+01:00\"}";

	ck_assert_int_eq(imds_parse_credentials(ok, strlen(ok), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.access_key, "AKIA1");
	ck_assert_str_eq(c.secret_key, "s/k+1");
	ck_assert_str_eq(c.session_token, "T");
	ck_assert_int_eq(c.expires, 1795608000);
	ck_assert_int_eq(imds_parse_credentials(offset, strlen(offset), &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.expires, 1795608000);
	const char *code = "{\"Code\":\"AssumeRoleUnauthorizedAccess\"}";
	ck_assert_int_eq(imds_parse_credentials(code, strlen(code), &c, err, sizeof(err)), -EACCES);
	ck_assert_ptr_nonnull(strstr(err, "AssumeRoleUnauthorizedAccess"));
	const char *ctrl = "{\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\\r\\nX: 1\","
			   "\"Expiration\":\"2026-11-25T12:00:00Z\"}";
	ck_assert_int_eq(imds_parse_credentials(ctrl, strlen(ctrl), &c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(strstr(err, "X: 1"));
	ck_assert_str_eq(c.secret_key, "");
}
END_TEST

START_TEST(test_process_output)
{
	struct s3_creds c;
	char err[300];
	const char *ok = "{\"Version\": 1, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\"}";
	const char *exp = "{\"Version\": 1, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\","
			  "\"SessionToken\": \"ST\", \"Expiration\": \"2026-11-25T12:00:00.123Z\"}";

	ck_assert_int_eq(process_parse_output(ok, strlen(ok), &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.expires, 0); /* no Expiration: kept for good */
	ck_assert_int_eq(process_parse_output(exp, strlen(exp), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.session_token, "ST");
	ck_assert_int_eq(c.expires, 1795608000);
	static const char *const bad[] = {
		"Enter MFA code:",
		"{\"Version\": 2, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\"}",
		"{\"Version\": \"1\", \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"AK\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"A K\", \"SecretAccessKey\": \"SK\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\", \"Expiration\": \"soon\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\", \"SessionToken\": 5}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(process_parse_output(bad[i], strlen(bad[i]), &c, err, sizeof(err)) ==
				      -EINVAL,
			      "accepted %s", bad[i]);
}
END_TEST

/* ---- container endpoint hosts ---- */

START_TEST(test_container_hosts)
{
	static const char *const ok[] = {
		"http://169.254.170.2/v2/creds",
		"http://169.254.170.23/v1/credentials",
		"http://[fd00:ec2::23]/v1/credentials",
		"http://127.0.0.1:8080/x",
		"http://127.1.2.3/x",
		"http://localhost:9/x",
		"https://[::1]:443/x",
	};
	static const char *const bad[] = {
		"http://10.0.0.1/x",       "http://169.254.169.254/x",
		"http://example.com/x",    "http://127.0.0.1.example.com/x",
		"ftp://127.0.0.1/x",       "http://user@127.0.0.1/x",
		"http://[fd00:ec2::24]/x", "http://169.254.170.2.evil/x",
	};
	char err[400];

	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok[i], 1);
		struct container_source *c = container_new(err, sizeof(err));
		ck_assert_msg(c != NULL, "refused %s: %s", ok[i], err);
		container_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i], 1);
		ck_assert_msg(container_new(err, sizeof(err)) == NULL, "accepted %s", bad[i]);
	}
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok[0], 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Injected: 1", 1);
	ck_assert_ptr_null(container_new(err, sizeof(err)));
	ck_assert_ptr_null(strstr(err, "Injected"));
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
	struct container_source *c = container_new(err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	container_describe(c, err, sizeof(err));
	ck_assert_str_eq(err,
			 "container credentials endpoint http://169.254.170.2/v2/credentials/abc");
	container_free(c);
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
}
END_TEST

/* ---- STS endpoints ---- */

START_TEST(test_sts_endpoint)
{
	char ep[256];

	unsetenv("AWS_ENDPOINT_URL_STS");
	unsetenv("AWS_ENDPOINT_URL");
	ck_assert_int_eq(sts_pick_endpoint(NULL, 1, "https://s3.x", "eu-west-1", 0, ep, sizeof(ep)),
			 0);
	ck_assert_str_eq(ep, "https://sts.eu-west-1.amazonaws.com");
	sts_pick_endpoint(NULL, 1, NULL, "us-gov-west-1", 1, ep, sizeof(ep));
	ck_assert_str_eq(ep, "https://sts-fips.us-gov-west-1.amazonaws.com");
	sts_pick_endpoint(NULL, 1, NULL, "cn-north-1", 0, ep, sizeof(ep));
	ck_assert_str_eq(ep, "https://sts.cn-north-1.amazonaws.com.cn");
	sts_pick_endpoint(NULL, 0, "http://rgw:7480", "default", 0, ep, sizeof(ep));
	ck_assert_str_eq(ep, "http://rgw:7480");
	setenv("AWS_ENDPOINT_URL", "http://all:1", 1);
	sts_pick_endpoint(NULL, 1, NULL, "eu-west-1", 0, ep, sizeof(ep));
	ck_assert_str_eq(ep, "http://all:1");
	setenv("AWS_ENDPOINT_URL_STS", "http://sts:2", 1);
	sts_pick_endpoint(NULL, 1, NULL, "eu-west-1", 0, ep, sizeof(ep));
	ck_assert_str_eq(ep, "http://sts:2");
	sts_pick_endpoint("http://key:3", 1, NULL, "eu-west-1", 0, ep, sizeof(ep));
	ck_assert_str_eq(ep, "http://key:3");
	ck_assert_int_eq(sts_pick_endpoint("http://key:3", 1, NULL, "x", 0, ep, 8), -ENAMETOOLONG);
	unsetenv("AWS_ENDPOINT_URL_STS");
	unsetenv("AWS_ENDPOINT_URL");
}
END_TEST

/* ---- config keys ---- */

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
	static char path[2][512];
	static int k;
	FILE *f;

	k ^= 1;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
	f = fopen(path[k], "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path[k], 0600);
	return path[k];
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_creds.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	static const char *const env[] = { "AWS_REGION",       "AWS_DEFAULT_REGION",
					   "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
					   "AWS_CONFIG_FILE",  "AWS_PROFILE" };
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		unsetenv(env[i]);
	setenv("HOME", tmpdir, 1);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *aws_conf(const char *s3_extra)
{
	static char text[2048];
	snprintf(text, sizeof(text),
		 "[general]\ncache_dir = /tmp/x\n[s3]\nprofile = aws\n%s\n[bucket:main]\ndefault = true\nname = "
		 "bucket-one\n[bucket:other]\nname = bucket-two\npaths = 2025/**\nrole_arn = "
		 "arn:aws:iam::210987654321:role/other\nproxy = none\n",
		 s3_extra);
	return write_file("s3csfs.conf", text);
}

START_TEST(test_conf_aws_endpoints)
{
	struct config cfg;
	char err[1024];

	ck_assert_msg(config_load(aws_conf("region = eu-west-1"), &cfg, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "https://s3.eu-west-1.amazonaws.com");
	config_free(&cfg);
	ck_assert_int_eq(config_load(aws_conf("region = us-east-2\nuse_fips = true\nuse_dualstack = yes"),
				     &cfg, err, sizeof(err)),
			 0);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint,
			 "https://s3-fips.dualstack.us-east-2.amazonaws.com");
	ck_assert_int_eq(cfg.use_fips, 1);
	config_free(&cfg);
	ck_assert_int_eq(config_load(aws_conf("use_dualstack = true"), &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint,
			 "https://s3.dualstack.us-east-1.amazonaws.com");
	config_free(&cfg);
	/* The region from the environment, then the shared config file. */
	setenv("AWS_REGION", "ap-south-1", 1);
	ck_assert_int_eq(config_load(aws_conf(""), &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.buckets[0].conn.region, "ap-south-1");
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "https://s3.ap-south-1.amazonaws.com");
	config_free(&cfg);
	unsetenv("AWS_REGION");
	setenv("AWS_CONFIG_FILE",
	       write_file("aws-config",
			  "[default]\nregion = eu-north-1\n[profile p]\nregion = sa-east-1\n"),
	       1);
	ck_assert_int_eq(config_load(aws_conf(""), &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.buckets[0].conn.region, "eu-north-1");
	config_free(&cfg);
	ck_assert_int_eq(config_load(aws_conf("aws_profile = p"), &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.buckets[0].conn.region, "sa-east-1");
	ck_assert_str_eq(cfg.buckets[0].conn.aws_profile, "p");
	config_free(&cfg);
	/* AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL; the endpoint key beats both. */
	setenv("AWS_ENDPOINT_URL", "http://all.example:1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://s3.example:2/", 1);
	ck_assert_int_eq(config_load(aws_conf(""), &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "http://s3.example:2");
	config_free(&cfg);
	unsetenv("AWS_ENDPOINT_URL_S3");
	ck_assert_int_eq(config_load(aws_conf(""), &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "http://all.example:1");
	config_free(&cfg);
	ck_assert_int_eq(config_load(aws_conf("endpoint = https://vpce.example"), &cfg, err,
				     sizeof(err)),
			 0);
	ck_assert_str_eq(cfg.buckets[0].conn.endpoint, "https://vpce.example");
	config_free(&cfg);
	unsetenv("AWS_ENDPOINT_URL");
}
END_TEST

START_TEST(test_conf_net_keys)
{
	struct config cfg;
	char err[1024];

	ck_assert_msg(config_load(aws_conf("proxy = http://proxy.corp:3128\nsts_endpoint = "
					   "https://sts.vpce.example\naws_profile = prod"),
				  &cfg, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(cfg.buckets[0].conn.proxy, "http://proxy.corp:3128");
	ck_assert_str_eq(cfg.buckets[1].conn.proxy, "none");
	ck_assert_str_eq(cfg.buckets[0].conn.sts_endpoint, "https://sts.vpce.example");
	ck_assert_str_eq(cfg.buckets[1].conn.sts_endpoint, "https://sts.vpce.example");
	ck_assert_ptr_null(cfg.buckets[0].conn.role_arn);
	ck_assert_str_eq(cfg.buckets[1].conn.role_arn, "arn:aws:iam::210987654321:role/other");
	ck_assert_str_eq(cfg.buckets[1].conn.aws_profile, "prod");
	config_free(&cfg);
	static const char *const bad[] = {
		"role_arn = arn:aws:iam::1:user/x",
		"role_arn = not-an-arn",
		"proxy = socks5://h:1",
		"proxy = http://h:99999",
		"sts_endpoint = sts.example",
		"aws_profile = a b",
		"use_fips = maybe",
		"access_key = AK\nsecret_key = TOPSECRET\naws_profile = p",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(config_load(aws_conf(bad[i]), &cfg, err, sizeof(err)) < 0,
			      "accepted %s", bad[i]);
		ck_assert_msg(!strstr(err, "TOPSECRET"), "secret in %s", err);
	}
}
END_TEST

/* ---- the refresher ---- */

struct fake {
	int fetches;
	int sleep_ms;
	int fail;
	long ttl;
};

static int fake_fetch(void *src, struct s3_creds *out, char *err, size_t errlen)
{
	struct fake *f = src;
	struct timespec ts = { f->sleep_ms / 1000, (f->sleep_ms % 1000) * 1000000L };

	if (f->fetches > 0 && f->sleep_ms)
		nanosleep(&ts, NULL);
	if (f->fail) {
		snprintf(err, errlen, "fake source down");
		return -EIO;
	}
	memset(out, 0, sizeof(*out));
	f->fetches++;
	snprintf(out->access_key, sizeof(out->access_key), "AK%d", f->fetches);
	snprintf(out->secret_key, sizeof(out->secret_key), "SK");
	out->expires = time(NULL) + f->ttl;
	return 0;
}

START_TEST(test_refresher)
{
	struct fake f = { .ttl = 4, .sleep_ms = 1500 };
	struct s3_creds c;
	char err[200];
	struct creds_refresher *r;

	setenv("S3CSFS_CREDS_REFRESH_MARGIN", "2", 1);
	r = creds_refresher_new("fake", fake_fetch, &f, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(creds_refresher_get(r, &c), 0);
	ck_assert_str_eq(c.access_key, "AK1");
	/* Over 6 s: every get() answers at once (the fetch takes 1.5 s in
	 * the background), and the credentials are renewed. */
	int seen2 = 0;
	for (int i = 0; i < 60; i++) {
		struct timespec t0, t1, ts = { 0, 100000000L };
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(creds_refresher_get(r, &c), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ck_assert_msg(ms < 500, "get() took %ld ms", ms);
		seen2 |= strcmp(c.access_key, "AK1") != 0;
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(seen2, "never renewed");
	ck_assert_int_ge(f.fetches, 2);
	creds_refresher_free(r);

	struct fake down = { .fail = 1, .ttl = 4 };
	ck_assert_ptr_null(creds_refresher_new("fake", fake_fetch, &down, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "fake source down");
	setenv("S3CSFS_CREDS_REFRESH_MARGIN", "soon", 1);
	ck_assert_ptr_null(creds_refresher_new("fake", fake_fetch, &f, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "S3CSFS_CREDS_REFRESH_MARGIN"));
	unsetenv("S3CSFS_CREDS_REFRESH_MARGIN");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("creds");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_json_fields);
	tcase_add_test(tc, test_metadata_document);
	tcase_add_test(tc, test_process_output);
	tcase_add_test(tc, test_container_hosts);
	tcase_add_test(tc, test_sts_endpoint);
	tcase_add_test(tc, test_conf_aws_endpoints);
	tcase_add_test(tc, test_conf_net_keys);
	tcase_add_test(tc, test_refresher);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
