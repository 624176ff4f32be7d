/* test_connector.c - the archive/Object Lock/direct URL layer (connector.h)
 * and its configuration keys, without a server: x-amz-restore parsing,
 * retention, lock headers, presigned URLs (no request is sent for one). */
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
#include "connector.h"
#include "s3_client.h"

static char dir[] = "/tmp/s3csfs-test-connector.XXXXXX";

static const char *conf_file(const char *bucket_lines, const char *general_lines)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"[general]\ncache_dir = /tmp\n%s\n[s3]\nendpoint = http://127.0.0.1:7480\n"
		"[bucket:main]\nname = main-bucket\n%s\n",
		general_lines, bucket_lines);
	fclose(f);
	chmod(path, 0600);
	return path;
}

START_TEST(test_conf_defaults)
{
	struct config cfg;
	char err[512];

	ck_assert_int_eq(config_load(conf_file("", ""), &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.direct_url_expiry_s, 300);
	ck_assert_ptr_null(cfg.buckets[0].archive_storage_class);
	ck_assert_ptr_null(cfg.buckets[0].restore_on_read);
	ck_assert_str_eq(cfg.buckets[0].restore_tier, "Standard");
	ck_assert_int_eq(cfg.buckets[0].restore_days, 1);
	ck_assert_ptr_null(cfg.buckets[0].object_lock);
	ck_assert_int_eq(cfg.buckets[0].retention_s, 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_conf_values)
{
	struct config cfg;
	char err[512];
	const char *p = conf_file("archive_storage_class = deep_archive\nrestore_on_read = bulk\n"
				  "restore_tier = Expedited\nrestore_days = 7\n"
				  "object_lock = compliance\n",
				  "direct_url_expiry = 2h");

	ck_assert_msg(config_load(p, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg.direct_url_expiry_s, 7200);
	ck_assert_str_eq(cfg.buckets[0].archive_storage_class, "DEEP_ARCHIVE");
	ck_assert_str_eq(cfg.buckets[0].restore_on_read, "Bulk");
	ck_assert_str_eq(cfg.buckets[0].restore_tier, "Expedited");
	ck_assert_int_eq(cfg.buckets[0].restore_days, 7);
	ck_assert_str_eq(cfg.buckets[0].object_lock, "COMPLIANCE");
	ck_assert_int_eq(cfg.buckets[0].retention_s, 2192LL * 86400); /* the default */
	config_free(&cfg);
	p = conf_file("object_lock = governance\nretention = 30d\nrestore_on_read = off\n", "");
	ck_assert_msg(config_load(p, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.buckets[0].object_lock, "GOVERNANCE");
	ck_assert_int_eq(cfg.buckets[0].retention_s, 30LL * 86400);
	ck_assert_ptr_null(cfg.buckets[0].restore_on_read);
	config_free(&cfg);
}
END_TEST

START_TEST(test_conf_errors)
{
	static const struct {
		const char *bucket, *general, *want;
	} bad[] = {
		{ "archive_storage_class = STANDARD_IA\n", "", "archive_storage_class" },
		{ "restore_on_read = Expedited\n", "", "restore_on_read" },
		{ "restore_tier = Fast\n", "", "restore_tier" },
		{ "restore_days = 0\n", "", "restore_days" },
		{ "object_lock = legal\n", "", "object_lock" },
		{ "retention = 30d\n", "", "only used with object_lock" },
		{ "object_lock = governance\nretention = 0\n", "", "retention" },
		{ "", "direct_url_expiry = 8d", "direct_url_expiry" },
		{ "", "direct_url_expiry = 500ms", "direct_url_expiry" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config cfg;
		char err[512] = "";
		ck_assert_int_eq(config_load(conf_file(bad[i].bucket, bad[i].general), &cfg, err,
					     sizeof(err)),
				 -1);
		ck_assert_msg(strstr(err, bad[i].want), "case %zu: %s", i, err);
	}
}
END_TEST

START_TEST(test_date)
{
	char d[CONNECTOR_DATE_LEN];

	connector_date(1796270400, d); /* 2026-12-03T04:00:00Z */
	ck_assert_str_eq(d, "2026-12-03T04:00:00Z");
	connector_date(0, d);
	ck_assert_str_eq(d, "1970-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_archive_state)
{
	struct s3_obj_info info;
	char text[64], want[80], date[CONNECTOR_DATE_LEN], http[64];
	time_t until, later = time(NULL) + 86400;
	struct tm tm;

	memset(&info, 0, sizeof(info));
	strcpy(info.storage_class, "STANDARD");
	ck_assert_int_eq(connector_archive_state(&info, NULL), ARCHIVE_NONE);
	connector_archive_text(&info, text, sizeof(text));
	ck_assert_str_eq(text, "none");
	strcpy(info.storage_class, "GLACIER_IR");
	ck_assert_int_eq(connector_archive_state(&info, NULL), ARCHIVE_INSTANT);
	strcpy(info.storage_class, "DEEP_ARCHIVE");
	ck_assert_int_eq(connector_archive_state(&info, NULL), ARCHIVE_ARCHIVED);
	connector_archive_text(&info, text, sizeof(text));
	ck_assert_str_eq(text, "archived");
	strcpy(info.storage_class, "GLACIER");
	strcpy(info.restore, "ongoing-request=\"true\"");
	ck_assert_int_eq(connector_archive_state(&info, NULL), ARCHIVE_RESTORING);
	connector_archive_text(&info, text, sizeof(text));
	ck_assert_str_eq(text, "restoring");
	gmtime_r(&later, &tm);
	strftime(http, sizeof(http), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(info.restore, sizeof(info.restore),
		 "ongoing-request=\"false\", expiry-date=\"%s\"", http);
	ck_assert_int_eq(connector_archive_state(&info, &until), ARCHIVE_RESTORED);
	ck_assert_int_eq(until, later);
	connector_date(later, date);
	snprintf(want, sizeof(want), "restored until %s", date);
	connector_archive_text(&info, text, sizeof(text));
	ck_assert_str_eq(text, want);
	/* A restored copy past its expiry is gone again. */
	strcpy(info.restore,
	       "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"");
	ck_assert_int_eq(connector_archive_state(&info, NULL), ARCHIVE_ARCHIVED);
	strcpy(info.restore, "garbage");
	ck_assert_int_eq(connector_archive_state(&info, NULL), ARCHIVE_ARCHIVED);
	ck_assert(connector_class_needs_restore("GLACIER"));
	ck_assert(!connector_class_needs_restore("GLACIER_IR"));
	ck_assert(!connector_class_needs_restore("STANDARD"));
}
END_TEST

START_TEST(test_retained_and_lock_opts)
{
	struct s3_obj_info info;
	struct bucket_conf b;
	struct s3_put_opts o;
	char until[CONNECTOR_DATE_LEN];
	time_t now = 1796270400;

	memset(&info, 0, sizeof(info));
	ck_assert(!connector_retained(&info, now));
	info.retain_until = now + 1;
	ck_assert(connector_retained(&info, now));
	info.retain_until = now;
	ck_assert(!connector_retained(&info, now));
	info.legal_hold = 1;
	ck_assert(connector_retained(&info, now));

	memset(&b, 0, sizeof(b));
	memset(&o, 0, sizeof(o));
	connector_lock_opts(&b, now, &o, until);
	ck_assert_ptr_null(o.lock_mode);
	ck_assert_ptr_null(o.lock_until);
	b.object_lock = "GOVERNANCE";
	b.retention_s = 3600;
	connector_lock_opts(&b, now, &o, until);
	ck_assert_str_eq(o.lock_mode, "GOVERNANCE");
	ck_assert_str_eq(o.lock_until, "2026-12-03T05:00:00Z");
}
END_TEST

START_TEST(test_direct_url)
{
	struct s3_creds creds = { .access_key = "AKIDEXAMPLE",
				  .secret_key = "SECRETEXAMPLEKEY",
				  .session_token = "TOKEN/x+y" };
	struct s3_client_opts co = { .endpoint = "http://127.0.0.1:9",
				     .path_style = 1,
				     .creds = { s3_creds_static_get, &creds } };
	char err[256], url[8192];
	struct s3_client *c = s3_client_new(&co, err, sizeof(err));
	struct bucket_conf b = { .name = "bkt", .client = c };

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(connector_direct_url(&b, "2026/1/2/a b.bin", 300, "Rapport é.pdf",
					      "application/pdf", url, sizeof(url)),
			 0);
#define URL_BASE "http://127.0.0.1:9/bkt/2026/1/2/a%20b.bin?"
	ck_assert_msg(strncmp(url, URL_BASE, strlen(URL_BASE)) == 0, "%s", url);
	ck_assert_ptr_nonnull(strstr(url, "response-content-disposition=attachment%3B%20filename%3D"
					  "%22Rapport%20__.pdf%22%3B%20filename%2A%3DUTF-8%27%27"
					  "Rapport%2520%25C3%25A9.pdf&"));
	ck_assert_ptr_nonnull(strstr(url, "&response-content-type=application%2Fpdf&"));
	ck_assert_ptr_nonnull(strstr(url, "X-Amz-Credential=AKIDEXAMPLE%2F"));
	ck_assert_ptr_nonnull(strstr(url, "&X-Amz-Expires=300&"));
	ck_assert_ptr_nonnull(strstr(url, "&X-Amz-Security-Token=TOKEN%2Fx%2By&"));
	ck_assert_ptr_null(strstr(url, "SECRETEXAMPLEKEY"));
	ck_assert_int_eq(connector_direct_url(&b, "k", 0, NULL, NULL, url, sizeof(url)), -EINVAL);
	ck_assert_int_eq(connector_direct_url(&b, "k", 604801, NULL, NULL, url, sizeof(url)),
			 -EINVAL);
	ck_assert_int_eq(connector_direct_url(&b, "k", 60, NULL, "text/plain\r\nX: y", url,
					      sizeof(url)),
			 -EINVAL);
	ck_assert_int_eq(connector_direct_url(&b, "k", 60, NULL, NULL, url, 40), -ENAMETOOLONG);
	s3_client_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector");
	TCase *tc = tcase_create("connector");
	SRunner *sr;
	int failed;

	if (!mkdtemp(dir))
		return EXIT_FAILURE;
	tcase_add_test(tc, test_conf_defaults);
	tcase_add_test(tc, test_conf_values);
	tcase_add_test(tc, test_conf_errors);
	tcase_add_test(tc, test_date);
	tcase_add_test(tc, test_archive_state);
	tcase_add_test(tc, test_retained_and_lock_opts);
	tcase_add_test(tc, test_direct_url);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		char p[300];
		snprintf(p, sizeof(p), "%s/c.conf", dir);
		unlink(p);
		rmdir(dir);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
