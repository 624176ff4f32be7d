/* test_backoff.c - the retry schedule: caps, jitter, the bound on retries
 * and the bound on total time. "now" and the random numbers are passed
 * in, so nothing here sleeps. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"

/* A random number that makes the wait the whole cap. */
#define RND_MAX UINT64_MAX

START_TEST(test_caps_double)
{
	struct backoff b;
	/* rnd = cap gives the whole cap: rnd % (cap + 1). */
	static const long caps[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000 };

	backoff_init(&b, 100, 100, 1000000000L, 0);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		ck_assert_int_eq(backoff_next(&b, 0, (uint64_t)caps[i]), caps[i]);
	ck_assert_int_eq(b.retries, 10);
	/* Full jitter: anything from 0 to the cap, rnd modulo cap + 1. */
	ck_assert_int_eq(backoff_next(&b, 0, 20001), 0);
	ck_assert_int_eq(backoff_next(&b, 0, 20002), 1);
}
END_TEST

START_TEST(test_odd_bases)
{
	struct backoff b;

	/* A base above the cap, or none, waits at most the cap. */
	backoff_init(&b, 5, 50000, 1000000000L, 0);
	ck_assert_int_eq(backoff_next(&b, 0, 20000), 20000);
	ck_assert_int_eq(backoff_next(&b, 0, 20001), 0);
	backoff_init(&b, 5, 0, 1000000000L, 0);
	ck_assert_int_eq(backoff_next(&b, 0, 20000), 20000);
	/* Many retries stay at the cap: the doubling never overflows. */
	backoff_init(&b, 40, 1, 1000000000L, 0);
	for (int i = 0; i < 40; i++) {
		long d = backoff_next(&b, 0, RND_MAX);
		ck_assert(d >= 0 && d <= BACKOFF_CAP_MS);
	}
}
END_TEST

START_TEST(test_bounded_by_count)
{
	struct backoff b;

	backoff_init(&b, 3, 100, 1000000000L, 1000);
	for (int i = 0; i < 3; i++)
		ck_assert_int_ge(backoff_next(&b, 1000, 7), 0);
	ck_assert_int_eq(backoff_next(&b, 1000, 7), -1);
	ck_assert_int_eq(backoff_next(&b, 1000, 7), -1);
	ck_assert_int_eq(b.retries, 3);

	/* No retries at all, and a negative count taken as none. */
	backoff_init(&b, 0, 100, 1000000000L, 0);
	ck_assert_int_eq(backoff_next(&b, 0, 0), -1);
	backoff_init(&b, -4, 100, 1000000000L, 0);
	ck_assert_int_eq(backoff_next(&b, 0, 0), -1);
}
END_TEST

START_TEST(test_bounded_by_time)
{
	struct backoff b;

	/* Started at t = 5000 with 1000 ms in all. */
	backoff_init(&b, 100, 100, 1000, 5000);
	/* A wait that ends exactly at the bound is granted... */
	ck_assert_int_eq(backoff_next(&b, 5900, 100), 100);
	ck_assert_int_eq(b.retries, 1);
	/* ...one that would end past it is not, and is not counted... */
	ck_assert_int_eq(backoff_next(&b, 5900, 101), -1);
	ck_assert_int_eq(b.retries, 1);
	/* ...while a shorter one still fits. */
	ck_assert_int_eq(backoff_next(&b, 5900, 50), 50);
	/* Once the time is spent, even a zero wait is refused. */
	ck_assert_int_eq(backoff_next(&b, 6001, 0), -1);
	ck_assert_int_eq(b.retries, 2);

	/* The count bound holds even with time left, and the time bound
	 * with retries left. */
	backoff_init(&b, 1, 100, 1000000, 0);
	ck_assert_int_eq(backoff_next(&b, 10, 0), 0);
	ck_assert_int_eq(backoff_next(&b, 10, 0), -1);
	backoff_init(&b, 1000, 100, 0, 0);
	ck_assert_int_eq(backoff_next(&b, 0, 0), 0);
	ck_assert_int_eq(backoff_next(&b, 1, 0), -1);
}
END_TEST

START_TEST(test_clock_and_rand)
{
	long a = backoff_now_ms(), z;
	uint64_t r1 = backoff_rand(), r2 = backoff_rand();

	z = backoff_now_ms();
	ck_assert_int_ge(z, a);
	ck_assert(r1 != 0 && r2 != 0 && r1 != r2);
}
END_TEST

static Suite *backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_caps_double);
	tcase_add_test(tc, test_odd_bases);
	tcase_add_test(tc, test_bounded_by_count);
	tcase_add_test(tc, test_bounded_by_time);
	tcase_add_test(tc, test_clock_and_rand);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(backoff_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
