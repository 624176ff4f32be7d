/* test_attrs.c - attributes to and from object metadata in the formats
 * s3fs-fuse 1.90 and rclone write (values taken from objects they stored
 * on the test server: mtime "1577934245.678000000", rclone's
 * "1620284889.123456789", s3fs's whole seconds, mode 41471 for a link). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attrs.h"

static void info_with(struct s3_obj_info *info, const char *meta)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->meta, sizeof(info->meta), "%s", meta);
}

START_TEST(parse_times)
{
	long long s;
	long ns;
	ck_assert_int_eq(attrs_parse_time("1577934245.678000000", &s, &ns), 0);
	ck_assert_int_eq(s, 1577934245);
	ck_assert_int_eq(ns, 678000000);
	ck_assert_int_eq(attrs_parse_time("1620284889.123456789", &s, &ns), 0);
	ck_assert_int_eq(ns, 123456789);
	ck_assert_int_eq(attrs_parse_time("1796197415", &s, &ns), 0);
	ck_assert_int_eq(s, 1796197415);
	ck_assert_int_eq(ns, 0);
	ck_assert_int_eq(attrs_parse_time("12.5", &s, &ns), 0);
	ck_assert_int_eq(ns, 500000000);
	ck_assert_int_eq(attrs_parse_time("0", &s, &ns), 0);
	const char *bad[] = {
		"",
		"-1",
		" 1",
		"1 ",
		"1.",
		".5",
		"1.2.3",
		"1e9",
		"0x10",
		"1.1234567890",
		"99999999999999999999"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(attrs_parse_time(bad[i], &s, &ns) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(from_s3fs_objects)
{
	struct s3_obj_info info;
	struct attrs a;

	/* A file s3fs stored (lower-case names, as http.c records them). */
	info_with(&info, "atime=1577934245.678000000\nctime=1577934245.678000000\ngid=0\n"
			 "mode=33188\nmtime=1577934245.678000000\nuid=0\n");
	ck_assert_uint_eq(attrs_from_info(&info, &a), ATTR_MTIME | ATTR_MODE | ATTR_UID | ATTR_GID);
	ck_assert_int_eq(a.mtime_s, 1577934245);
	ck_assert_int_eq(a.mtime_ns, 678000000);
	ck_assert_uint_eq(a.mode, S_IFREG | 0644);
	ck_assert(!attrs_is_link(&a));

	/* A link s3fs stored. */
	info_with(&info, "mode=41471\nmtime=1796197415\n");
	attrs_from_info(&info, &a);
	ck_assert(attrs_is_link(&a));
	ck_assert_uint_eq(a.mode & 07777, 0777);

	/* A directory mode on a file, garbage, nothing: not taken. */
	info_with(&info, "mode=16877\nmtime=soon\nuid=-1\n");
	ck_assert_uint_eq(attrs_from_info(&info, &a), 0);
	info_with(&info, "");
	ck_assert_uint_eq(attrs_from_info(&info, &a), 0);

	/* Permission bits alone: a regular file. */
	info_with(&info, "mode=420\n");
	attrs_from_info(&info, &a);
	ck_assert_uint_eq(a.mode, S_IFREG | 0644);
}
END_TEST

START_TEST(to_meta_round_trip)
{
	struct attrs a = { .have = ATTR_MTIME | ATTR_MODE,
			   .mtime_s = 1620284889,
			   .mtime_ns = 123456789,
			   .mode = S_IFLNK | 0777 };
	struct attrs_meta am;
	struct s3_obj_info info;
	struct attrs b;
	char buf[256] = "";
	size_t n = attrs_to_meta(&a, &am);

	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(am.pairs[0].name, "mtime");
	ck_assert_str_eq(am.pairs[0].value, "1620284889.123456789");
	ck_assert_str_eq(am.pairs[1].name, "mode");
	ck_assert_str_eq(am.pairs[1].value, "41471");
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s=%s\n", am.pairs[i].name,
			 am.pairs[i].value);
	info_with(&info, buf);
	ck_assert_uint_eq(attrs_from_info(&info, &b), a.have);
	ck_assert_int_eq(b.mtime_s, a.mtime_s);
	ck_assert_int_eq(b.mtime_ns, a.mtime_ns);
	ck_assert_uint_eq(b.mode, a.mode);

	/* Whole seconds are written as s3fs writes them. */
	a = (struct attrs){ .have = ATTR_MTIME | ATTR_UID | ATTR_GID,
			    .mtime_s = 7,
			    .uid = 1000,
			    .gid = 100 };
	ck_assert_uint_eq(attrs_to_meta(&a, &am), 3);
	ck_assert_str_eq(am.pairs[0].value, "7");
	ck_assert_str_eq(am.pairs[1].value, "1000");
	ck_assert_str_eq(am.pairs[2].value, "100");
	a.have = 0;
	ck_assert_uint_eq(attrs_to_meta(&a, &am), 0);
}
END_TEST

/* The writer's protocol: snapshot, upload, stored; a change made while the
 * upload ran stays dirty. */
START_TEST(state_generations)
{
	struct attrs_state st;
	struct attrs a;
	unsigned gen;

	attrs_state_reset(&st);
	ck_assert(!attrs_state_dirty(&st));
	gen = attrs_state_snapshot(&st, 1000, &a);
	ck_assert_uint_eq(a.have, ATTR_MTIME | ATTR_MODE);
	ck_assert_int_eq(a.mtime_s, 1000);
	ck_assert_uint_eq(a.mode, S_IFREG | 0644);

	st.a.mtime_s = 5;
	st.a.mtime_ns = 6;
	st.a.have |= ATTR_MTIME;
	attrs_state_changed(&st);
	ck_assert(attrs_state_dirty(&st));
	gen = attrs_state_snapshot(&st, 1000, &a);
	ck_assert_int_eq(a.mtime_s, 5);
	ck_assert_int_eq(a.mtime_ns, 6);
	attrs_state_changed(&st); /* chmod while the upload runs */
	attrs_state_stored(&st, gen);
	ck_assert(attrs_state_dirty(&st));
	attrs_state_stored(&st, attrs_state_snapshot(&st, 1000, &a));
	ck_assert(!attrs_state_dirty(&st));
	attrs_state_stored(&st, gen); /* a late, older completion */
	ck_assert(!attrs_state_dirty(&st));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("attrs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_times);
	tcase_add_test(tc, from_s3fs_objects);
	tcase_add_test(tc, to_meta_round_trip);
	tcase_add_test(tc, state_generations);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
