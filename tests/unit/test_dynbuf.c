/* test_dynbuf.c - the bounded buffer: all of an add or none of it. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dynbuf.h"

START_TEST(test_empty)
{
	struct dynbuf d;

	dynbuf_init(&d, 16);
	ck_assert_str_eq(dynbuf_ptr(&d), "");
	ck_assert_uint_eq(dynbuf_len(&d), 0);
	ck_assert_uint_eq(dynbuf_room(&d), 15);
	ck_assert_int_eq(dynbuf_add(&d, "", 0), 0);
	dynbuf_reset(&d);
	dynbuf_free(&d);
	ck_assert_str_eq(dynbuf_ptr(&d), "");
	dynbuf_init(&d, 0);
	ck_assert_int_eq(dynbuf_add(&d, "a", 1), -E2BIG);
	ck_assert_int_eq(dynbuf_addf(&d, "%s", ""), 0);
	ck_assert_str_eq(dynbuf_ptr(&d), "");
	dynbuf_free(&d);
}
END_TEST

START_TEST(test_add_and_grow)
{
	struct dynbuf d;
	char big[1000];

	dynbuf_init(&d, 4096);
	ck_assert_int_eq(dynbuf_add(&d, "ab", 2), 0);
	ck_assert_int_eq(dynbuf_addf(&d, "-%d-%s", 42, "x"), 0);
	ck_assert_str_eq(dynbuf_ptr(&d), "ab-42-x");
	ck_assert_uint_eq(dynbuf_len(&d), 7);
	memset(big, 'z', sizeof(big));
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(dynbuf_add(&d, big, sizeof(big)), 0);
	ck_assert_uint_eq(dynbuf_len(&d), 4007);
	ck_assert_int_eq(dynbuf_ptr(&d)[4007], '\0');
	/* Longer formatted adds than what is allocated. */
	ck_assert_int_eq(dynbuf_addf(&d, "%80s", "r"), 0);
	ck_assert_uint_eq(dynbuf_len(&d), 4087);
	ck_assert_int_eq(dynbuf_ptr(&d)[4086], 'r');
	/* Bytes with NULs in them. */
	dynbuf_reset(&d);
	ck_assert_int_eq(dynbuf_add(&d, "a\0b", 3), 0);
	ck_assert_uint_eq(dynbuf_len(&d), 3);
	ck_assert_int_eq(memcmp(dynbuf_ptr(&d), "a\0b", 4), 0);
	dynbuf_free(&d);
	/* Usable again after free. */
	ck_assert_int_eq(dynbuf_addf(&d, "%s", "again"), 0);
	ck_assert_str_eq(dynbuf_ptr(&d), "again");
	dynbuf_free(&d);
}
END_TEST

START_TEST(test_max_is_hard)
{
	struct dynbuf d;

	dynbuf_init(&d, 8); /* 7 bytes and the NUL */
	ck_assert_int_eq(dynbuf_add(&d, "abcd", 4), 0);
	ck_assert_int_eq(dynbuf_add(&d, "efgh", 4), -E2BIG);
	ck_assert_str_eq(dynbuf_ptr(&d), "abcd"); /* unchanged */
	ck_assert_int_eq(dynbuf_addf(&d, "%s", "efgh"), -E2BIG);
	ck_assert_str_eq(dynbuf_ptr(&d), "abcd");
	ck_assert_uint_eq(dynbuf_room(&d), 3);
	ck_assert_int_eq(dynbuf_addf(&d, "%d", 123), 0); /* exactly full */
	ck_assert_str_eq(dynbuf_ptr(&d), "abcd123");
	ck_assert_uint_eq(dynbuf_room(&d), 0);
	ck_assert_int_eq(dynbuf_add(&d, "x", 1), -E2BIG);
	ck_assert_int_eq(dynbuf_addf(&d, "x"), -E2BIG);
	ck_assert_str_eq(dynbuf_ptr(&d), "abcd123");
	/* Still valid: reset and reused. */
	dynbuf_reset(&d);
	ck_assert_int_eq(dynbuf_addf(&d, "%s", "1234567"), 0);
	ck_assert_str_eq(dynbuf_ptr(&d), "1234567");
	dynbuf_free(&d);
	/* A length that would overflow size_t. */
	dynbuf_init(&d, 8);
	ck_assert_int_eq(dynbuf_add(&d, "a", 1), 0);
	ck_assert_int_eq(dynbuf_add(&d, "b", (size_t)-1), -E2BIG);
	ck_assert_str_eq(dynbuf_ptr(&d), "a");
	dynbuf_free(&d);
}
END_TEST

START_TEST(test_fixed)
{
	char mem[8];
	struct dynbuf d;

	memset(mem, 'q', sizeof(mem));
	dynbuf_init_fixed(&d, mem, sizeof(mem));
	ck_assert_int_eq(mem[0], '\0');
	ck_assert_ptr_eq(dynbuf_ptr(&d), mem);
	ck_assert_int_eq(dynbuf_addf(&d, "%s", "abc"), 0);
	/* A format that does not fit: the content and its NUL as they were. */
	ck_assert_int_eq(dynbuf_addf(&d, "%s", "defghij"), -E2BIG);
	ck_assert_str_eq(mem, "abc");
	ck_assert_int_eq(dynbuf_add(&d, "defg", 4), 0);
	ck_assert_str_eq(mem, "abcdefg");
	ck_assert_int_eq(dynbuf_add(&d, "h", 1), -E2BIG);
	dynbuf_free(&d); /* the caller's memory: emptied, not freed */
	ck_assert_str_eq(mem, "");
	dynbuf_init_fixed(&d, NULL, 0);
	ck_assert_int_eq(dynbuf_add(&d, "a", 1), -E2BIG);
	ck_assert_str_eq(dynbuf_ptr(&d), "");
	dynbuf_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dynbuf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_add_and_grow);
	tcase_add_test(tc, test_max_is_hard);
	tcase_add_test(tc, test_fixed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
