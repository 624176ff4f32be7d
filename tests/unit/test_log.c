/* test_log.c - the log's secret redaction (log_add_secret, log_redact). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEHMaCXVzLWVhc3QtMSJHMEUCIQD"

static void setup(void)
{
	log_forget_secrets();
	log_add_secret(SECRET);
	log_add_secret(TOKEN);
}

static void redact(char *buf, size_t cap, const char *in)
{
	snprintf(buf, cap, "%s", in);
	log_redact(buf, cap);
}

START_TEST(test_whole_secrets)
{
	char b[512];

	redact(b, sizeof(b), "key " SECRET " and " TOKEN " and again " SECRET ".");
	ck_assert_str_eq(b, "key [REDACTED] and [REDACTED] and again [REDACTED].");
	redact(b, sizeof(b), "nothing secret here");
	ck_assert_str_eq(b, "nothing secret here");
}
END_TEST

START_TEST(test_cut_secrets)
{
	char b[512];

	/* A message cut inside the token (at the end) and one that holds a
	 * start of it 12 characters or longer, then other text. */
	redact(b, sizeof(b), "echo: IQoJb3JpZ2lu");
	ck_assert_str_eq(b, "echo: [REDACTED]");
	redact(b, sizeof(b), "echo: IQoJb3JpZ2luX2Vj...more");
	ck_assert_str_eq(b, "echo: [REDACTED]...more");
	redact(b, sizeof(b), "cut at IQoJb3JpZ2");
	ck_assert_str_eq(b, "cut at [REDACTED]");
	/* Shorter than LOG_SECRET_MIN at the end: not a match. */
	redact(b, sizeof(b), "tail IQoJb3J");
	ck_assert_str_eq(b, "tail IQoJb3J");
}
END_TEST

START_TEST(test_shared_start)
{
	char b[256];

	/* Tokens of one issuer share a long start: the one in the text is
	 * redacted whole, whichever the table holds first. */
	log_add_secret(TOKEN "AAAAfirst");
	log_add_secret(TOKEN "BBBBsecondtoken");
	redact(b, sizeof(b), "t=" TOKEN "BBBBsecondtoken end");
	ck_assert_str_eq(b, "t=[REDACTED] end");
}
END_TEST

START_TEST(test_fields)
{
	char b[1024];

	/* Anyone's token and signature, registered or not. */
	redact(b, sizeof(b),
	       "x-amz-security-token:OtherToken123 | authorization:AWS4-HMAC-SHA256 "
	       "Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;"
	       "x-amz-security-token, Signature=0123456789abcdef0123 | "
	       "<X-Amz-Security-Token>Tok2</X-Amz-Security-Token> X-Amz-Signature=feed&x=1");
	ck_assert_str_eq(b, "x-amz-security-token:[REDACTED] | authorization:AWS4-HMAC-SHA256 "
			    "Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;"
			    "x-amz-security-token, Signature=[REDACTED] | "
			    "<X-Amz-Security-Token>[REDACTED]</X-Amz-Security-Token> "
			    "X-Amz-Signature=[REDACTED]&x=1");
}
END_TEST

START_TEST(test_bounds)
{
	char b[32];

	/* The replacement is longer than a short secret: the buffer's end
	 * holds, NUL-terminated, and nothing of the secret remains. */
	log_add_secret("abcdefgh");
	redact(b, sizeof(b), "0123456789012345678901 abcdefgh");
	ck_assert_uint_lt(strlen(b), sizeof(b));
	ck_assert_ptr_null(strstr(b, "abcdefgh"));
	ck_assert_ptr_null(strstr(b, "abcd"));
	/* Too short to register; too long to register. */
	log_add_secret("short");
	redact(b, sizeof(b), "short stays");
	ck_assert_str_eq(b, "short stays");
	char *big = malloc(LOG_SECRET_LEN_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'q', LOG_SECRET_LEN_MAX + 1);
	big[LOG_SECRET_LEN_MAX + 1] = '\0';
	log_add_secret(big);
	free(big);
	redact(b, sizeof(b), "qqqqqqqqqqqqqqqqqqqq");
	ck_assert_str_eq(b, "qqqqqqqqqqqqqqqqqqqq");
}
END_TEST

START_TEST(test_table_forgets_oldest)
{
	char b[128], s[32];

	/* LOG_SECRETS_MAX more secrets push the first two out. */
	for (int i = 0; i < LOG_SECRETS_MAX; i++) {
		snprintf(s, sizeof(s), "%04d-secret-number", i);
		log_add_secret(s);
		log_add_secret(s); /* a duplicate takes no slot */
	}
	redact(b, sizeof(b), "0000-secret-number 0015-secret-number");
	ck_assert_str_eq(b, "[REDACTED] [REDACTED]");
	redact(b, sizeof(b), "old " SECRET);
	ck_assert_str_eq(b, "old " SECRET);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("redact");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_whole_secrets);
	tcase_add_test(tc, test_cut_secrets);
	tcase_add_test(tc, test_shared_start);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_table_forgets_oldest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
