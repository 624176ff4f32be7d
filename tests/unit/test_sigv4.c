/* test_sigv4.c - SigV4 against AWS's published S3 examples, plus the edges.
 *
 * The four signatures, their canonical requests and string-to-sign hashes
 * are the worked examples of the S3 API Reference page "Signature
 * Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk" (section "Examples: Signature Calculations"). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define HOST "examplebucket.s3.amazonaws.com"
#define AMZ_DATE "20130524T000000Z"
#define EXAMPLE_EPOCH 1369353600LL /* 2013-05-24T00:00:00Z */
#define PUT_BODY "Welcome to Amazon S3."
#define PUT_BODY_SHA256 "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
#define SCOPE "20130524/us-east-1/s3/aws4_request"

static const struct sigv4_credentials example_cred = {
	.access_key = "AKIAIOSFODNN7EXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	.region = "us-east-1",
	.service = "s3",
};

/* Example 1, GET Object; deliberately unsorted and mixed case. */
static const struct sigv4_header get_object_headers[] = {
	{ "x-amz-date", AMZ_DATE },
	{ "Range", "bytes=0-9" },
	{ "Host", HOST },
	{ "x-amz-content-sha256", SIGV4_EMPTY_SHA256 },
};

static const struct sigv4_request get_object = {
	.method = "GET",
	.path = "/test.txt",
	.query = NULL,
	.headers = get_object_headers,
	.nheaders = 4,
	.payload_hash = SIGV4_EMPTY_SHA256,
};

static const char get_object_canonical[] =
	"GET\n"
	"/test.txt\n"
	"\n"
	"host:" HOST "\n"
	"range:bytes=0-9\n"
	"x-amz-content-sha256:" SIGV4_EMPTY_SHA256 "\n"
	"x-amz-date:" AMZ_DATE "\n"
	"\n"
	"host;range;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256;

/* Examples 2 to 4 share these; only the query or path differs. */
static const struct sigv4_header bucket_headers[] = {
	{ "Host", HOST },
	{ "x-amz-date", AMZ_DATE },
	{ "x-amz-content-sha256", SIGV4_EMPTY_SHA256 },
};

static const struct sigv4_header put_object_headers[] = {
	{ "Host", HOST },
	{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
	{ "x-amz-date", AMZ_DATE },
	{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
	{ "x-amz-content-sha256", PUT_BODY_SHA256 },
};

static struct sigv4_request bucket_request(const char *query)
{
	struct sigv4_request r = {
		.method = "GET",
		.path = "/",
		.query = query,
		.headers = bucket_headers,
		.nheaders = 3,
		.payload_hash = SIGV4_EMPTY_SHA256,
	};
	return r;
}

/* Signature of req with the example credentials and date, or "" on error. */
static void sign(const struct sigv4_request *req, char sig[SIGV4_SHA256_HEX_LEN + 1])
{
	char auth[512];

	ck_assert_int_gt(sigv4_authorization(req, AMZ_DATE, &example_cred, auth, sizeof(auth), sig),
			 0);
}

/* Line `line` (0-based) of a canonical request, e.g. 2 = the query. */
static void nth_line(const char *text, int line, char *out, size_t outlen)
{
	const char *end;

	for (; line > 0; line--) {
		text = strchr(text, '\n');
		ck_assert_ptr_nonnull(text);
		text++;
	}
	end = strchr(text, '\n');
	if (end == NULL)
		end = text + strlen(text);
	ck_assert_uint_lt((size_t)(end - text), outlen);
	memcpy(out, text, (size_t)(end - text));
	out[end - text] = '\0';
}

static void canonical_query_of(const char *query, char *out, size_t outlen)
{
	struct sigv4_request r = bucket_request(query);
	char cr[1024];

	ck_assert_int_gt(sigv4_canonical_request(&r, cr, sizeof(cr)), 0);
	nth_line(cr, 2, out, outlen);
}

START_TEST(test_empty_payload_hash)
{
	char hex[SIGV4_SHA256_HEX_LEN + 1];

	sigv4_sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, SIGV4_EMPTY_SHA256);
	sigv4_sha256_hex(NULL, 0, hex);
	ck_assert_str_eq(hex, SIGV4_EMPTY_SHA256);
	sigv4_sha256_hex(PUT_BODY, strlen(PUT_BODY), hex);
	ck_assert_str_eq(hex, PUT_BODY_SHA256);
}
END_TEST

START_TEST(test_format_date)
{
	char d[17];

	sigv4_format_date(EXAMPLE_EPOCH, d);
	ck_assert_str_eq(d, AMZ_DATE);
	sigv4_format_date(0, d);
	ck_assert_str_eq(d, "19700101T000000Z");
	sigv4_format_date(951782400LL, d);
	ck_assert_str_eq(d, "20000229T000000Z");
	sigv4_format_date(EXAMPLE_EPOCH + 86399, d);
	ck_assert_str_eq(d, "20130524T235959Z");
	/* Not expressible in four-digit years: refused, not garbled. */
	sigv4_format_date(400000000000LL, d);
	ck_assert_str_eq(d, "");
}
END_TEST

static void check_encode(const char *in, int keep_slash, const char *want)
{
	char out[128];
	int rc = sigv4_uri_encode(in, keep_slash, out, sizeof(out));

	ck_assert_str_eq(out, want);
	ck_assert_int_eq(rc, (int)strlen(want));
}

START_TEST(test_uri_encode)
{
	check_encode("", 1, "");
	check_encode("a b", 1, "a%20b");
	check_encode("dir/file name.txt", 1, "dir/file%20name.txt");
	check_encode("dir/file", 0, "dir%2Ffile");
	check_encode("AZaz09-._~", 0, "AZaz09-._~");
	check_encode("test$file.text", 1, "test%24file.text");
	check_encode("a+b=c&d", 0, "a%2Bb%3Dc%26d");
	check_encode("100%", 0, "100%25");
	check_encode("!'()*", 0, "%21%27%28%29%2A");
	/* UTF-8 "é" and "€", byte by byte, upper-case hex. */
	check_encode("\xc3\xa9", 0, "%C3%A9");
	check_encode("\xe2\x82\xac/x", 1, "%E2%82%AC/x");
	check_encode("\xff", 0, "%FF");
}
END_TEST

/* Runs f into a heap buffer of exactly outlen bytes followed by a canary. */
#define CANARY 16
static char *canary_buf(size_t outlen)
{
	char *b = malloc(outlen + CANARY);

	ck_assert_ptr_nonnull(b);
	memset(b, 'X', outlen + CANARY);
	return b;
}

static void check_canary(const char *b, size_t outlen, int rc)
{
	ck_assert_int_eq(rc, -ENAMETOOLONG);
	for (size_t i = outlen; i < outlen + CANARY; i++)
		ck_assert_int_eq(b[i], 'X');
	if (outlen > 0)
		ck_assert_int_eq(b[0], '\0');
}

START_TEST(test_uri_encode_too_small)
{
	const char *in = "a b/c";
	size_t need = strlen("a%20b%2Fc") + 1;

	for (size_t outlen = 0; outlen < need; outlen++) {
		char *b = canary_buf(outlen);

		check_canary(b, outlen, sigv4_uri_encode(in, 0, b, outlen));
		free(b);
	}
	{
		char *b = canary_buf(need);

		ck_assert_int_eq(sigv4_uri_encode(in, 0, b, need), (int)need - 1);
		ck_assert_str_eq(b, "a%20b%2Fc");
		free(b);
	}
	ck_assert_int_eq(sigv4_uri_encode(NULL, 0, (char[4]){ 0 }, 4), -EINVAL);
}
END_TEST

START_TEST(test_example1_canonical_request)
{
	char cr[1024];
	int rc = sigv4_canonical_request(&get_object, cr, sizeof(cr));

	ck_assert_str_eq(cr, get_object_canonical);
	ck_assert_int_eq(rc, (int)strlen(get_object_canonical));
}
END_TEST

START_TEST(test_example1_string_to_sign)
{
	char sts[256];
	int rc = sigv4_string_to_sign(get_object_canonical, AMZ_DATE, "us-east-1", "s3", sts,
				      sizeof(sts));

	ck_assert_str_eq(sts, "AWS4-HMAC-SHA256\n" AMZ_DATE "\n" SCOPE "\n"
			      "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	ck_assert_int_eq(rc, (int)strlen(sts));
	ck_assert_int_eq(sigv4_string_to_sign(get_object_canonical, "20130524", "us-east-1", "s3",
					      sts, sizeof(sts)),
			 -EINVAL);
}
END_TEST

START_TEST(test_example1_get_object)
{
	static const char want[] =
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/" SCOPE ", "
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
	char auth[512], sig[SIGV4_SHA256_HEX_LEN + 1];
	int rc = sigv4_authorization(&get_object, AMZ_DATE, &example_cred, auth, sizeof(auth), sig);

	ck_assert_str_eq(auth, want);
	ck_assert_int_eq(rc, (int)strlen(want));
	ck_assert_str_eq(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	/* sig_out is optional. */
	ck_assert_int_eq(sigv4_authorization(&get_object, AMZ_DATE, &example_cred, auth,
					     sizeof(auth), NULL),
			 rc);
}
END_TEST

START_TEST(test_example2_put_object)
{
	static const char want_cr[] =
		"PUT\n"
		"/test%24file.text\n"
		"\n"
		"date:Fri, 24 May 2013 00:00:00 GMT\n"
		"host:" HOST "\n"
		"x-amz-content-sha256:" PUT_BODY_SHA256 "\n"
		"x-amz-date:" AMZ_DATE "\n"
		"x-amz-storage-class:REDUCED_REDUNDANCY\n"
		"\n"
		"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" PUT_BODY_SHA256;
	char path[64], hash[SIGV4_SHA256_HEX_LEN + 1], cr[1024], sts[256], auth[512];
	char sig[SIGV4_SHA256_HEX_LEN + 1];
	struct sigv4_request r = {
		.method = "PUT",
		.path = path,
		.headers = put_object_headers,
		.nheaders = 5,
		.payload_hash = hash,
	};

	ck_assert_int_gt(sigv4_uri_encode("/test$file.text", 1, path, sizeof(path)), 0);
	sigv4_sha256_hex(PUT_BODY, strlen(PUT_BODY), hash);
	ck_assert_int_gt(sigv4_canonical_request(&r, cr, sizeof(cr)), 0);
	ck_assert_str_eq(cr, want_cr);
	ck_assert_int_gt(sigv4_string_to_sign(cr, AMZ_DATE, "us-east-1", "s3", sts, sizeof(sts)), 0);
	ck_assert_str_eq(sts, "AWS4-HMAC-SHA256\n" AMZ_DATE "\n" SCOPE "\n"
			      "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
	ck_assert_int_gt(sigv4_authorization(&r, AMZ_DATE, &example_cred, auth, sizeof(auth), sig),
			 0);
	ck_assert_str_eq(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	ck_assert_ptr_nonnull(
		strstr(auth,
		       ", SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "));
}
END_TEST

START_TEST(test_example3_get_bucket_lifecycle)
{
	struct sigv4_request r = bucket_request("lifecycle");
	char cr[1024], sts[256], sig[SIGV4_SHA256_HEX_LEN + 1];

	ck_assert_int_gt(sigv4_canonical_request(&r, cr, sizeof(cr)), 0);
	ck_assert_str_eq(cr, "GET\n/\nlifecycle=\n"
			     "host:" HOST "\n"
			     "x-amz-content-sha256:" SIGV4_EMPTY_SHA256 "\n"
			     "x-amz-date:" AMZ_DATE "\n\n"
			     "host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256);
	ck_assert_int_gt(sigv4_string_to_sign(cr, AMZ_DATE, "us-east-1", "s3", sts, sizeof(sts)), 0);
	ck_assert_str_eq(sts, "AWS4-HMAC-SHA256\n" AMZ_DATE "\n" SCOPE "\n"
			      "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
	sign(&r, sig);
	ck_assert_str_eq(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}
END_TEST

START_TEST(test_example4_list_objects)
{
	struct sigv4_request r = bucket_request("max-keys=2&prefix=J");
	char cr[1024], sts[256], sig[SIGV4_SHA256_HEX_LEN + 1];

	ck_assert_int_gt(sigv4_canonical_request(&r, cr, sizeof(cr)), 0);
	ck_assert_int_gt(sigv4_string_to_sign(cr, AMZ_DATE, "us-east-1", "s3", sts, sizeof(sts)), 0);
	ck_assert_str_eq(sts, "AWS4-HMAC-SHA256\n" AMZ_DATE "\n" SCOPE "\n"
			      "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
	sign(&r, sig);
	ck_assert_str_eq(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	/* Wire order does not matter: the signer sorts. */
	r.query = "prefix=J&max-keys=2";
	sign(&r, sig);
	ck_assert_str_eq(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}
END_TEST

START_TEST(test_query_canonicalisation)
{
	char q[256];

	canonical_query_of("uploads", q, sizeof(q));
	ck_assert_str_eq(q, "uploads=");
	canonical_query_of("uploadId=abc&partNumber=2", q, sizeof(q));
	ck_assert_str_eq(q, "partNumber=2&uploadId=abc");
	canonical_query_of("uploads&prefix=a%2Fb&list-type=2", q, sizeof(q));
	ck_assert_str_eq(q, "list-type=2&prefix=a%2Fb&uploads=");
	/* Same name: by value; a value keeps any further '='. */
	canonical_query_of("a=2&b&a=1&c=x=y", q, sizeof(q));
	ck_assert_str_eq(q, "a=1&a=2&b=&c=x=y");
	/* Byte order: upper case sorts before lower case, '-' before letters. */
	canonical_query_of("b=1&B=1&ab=1&a-b=1", q, sizeof(q));
	ck_assert_str_eq(q, "B=1&a-b=1&ab=1&b=1");
	/* Already encoded: taken as is, not encoded twice. */
	canonical_query_of("prefix=a%20b", q, sizeof(q));
	ck_assert_str_eq(q, "prefix=a%20b");
	canonical_query_of("", q, sizeof(q));
	ck_assert_str_eq(q, "");
	canonical_query_of("x=1&&y=2&", q, sizeof(q));
	ck_assert_str_eq(q, "x=1&y=2");
}
END_TEST

START_TEST(test_header_trim_and_fold)
{
	static const struct sigv4_header h[] = {
		{ "X-Amz-Meta-Note", "  two   words \t and\ta tab \t " },
		{ "Host", "\t" HOST " " },
		{ "x-amz-date", AMZ_DATE },
		{ "X-Amz-Meta-Empty", "   " },
	};
	struct sigv4_request r = bucket_request(NULL);
	char cr[1024], line[256];

	r.headers = h;
	r.nheaders = 4;
	ck_assert_int_gt(sigv4_canonical_request(&r, cr, sizeof(cr)), 0);
	nth_line(cr, 3, line, sizeof(line));
	ck_assert_str_eq(line, "host:" HOST);
	nth_line(cr, 5, line, sizeof(line));
	ck_assert_str_eq(line, "x-amz-meta-empty:");
	nth_line(cr, 6, line, sizeof(line));
	ck_assert_str_eq(line, "x-amz-meta-note:two words and a tab");
	nth_line(cr, 8, line, sizeof(line));
	ck_assert_str_eq(line, "host;x-amz-date;x-amz-meta-empty;x-amz-meta-note");
}
END_TEST

START_TEST(test_bad_requests)
{
	static const struct sigv4_header dup[] = {
		{ "Host", HOST },
		{ "host", HOST },
		{ "x-amz-date", AMZ_DATE },
	};
	static const struct sigv4_header crlf[] = {
		{ "Host", HOST "\r\nx-evil: 1" },
		{ "x-amz-date", AMZ_DATE },
	};
	static const struct sigv4_header no_date[] = {
		{ "Host", HOST },
		{ "x-amz-content-sha256", SIGV4_EMPTY_SHA256 },
	};
	struct sigv4_request r = bucket_request(NULL);
	struct sigv4_credentials c = example_cred;
	char out[1024];

	r.headers = dup;
	ck_assert_int_eq(sigv4_canonical_request(&r, out, sizeof(out)), -EINVAL);
	ck_assert_str_eq(out, "");
	r.headers = crlf;
	r.nheaders = 2;
	ck_assert_int_eq(sigv4_canonical_request(&r, out, sizeof(out)), -EINVAL);
	r = bucket_request(NULL);
	r.path = "/a b";
	ck_assert_int_eq(sigv4_canonical_request(&r, out, sizeof(out)), -EINVAL);
	r.path = "/?lifecycle";
	ck_assert_int_eq(sigv4_canonical_request(&r, out, sizeof(out)), -EINVAL);
	r.path = "";
	ck_assert_int_gt(sigv4_canonical_request(&r, out, sizeof(out)), 0);
	ck_assert_int_eq(strncmp(out, "GET\n/\n", 6), 0);
	r.payload_hash = NULL;
	ck_assert_int_eq(sigv4_canonical_request(&r, out, sizeof(out)), -EINVAL);

	/* Signing refuses what S3 would reject with SignatureDoesNotMatch. */
	r = bucket_request(NULL);
	ck_assert_int_eq(sigv4_authorization(&r, "20130525T000000Z", &example_cred, out,
					     sizeof(out), NULL),
			 -EINVAL);
	ck_assert_int_eq(sigv4_authorization(&r, "2013-05-24", &example_cred, out, sizeof(out), NULL),
			 -EINVAL);
	r.headers = no_date;
	r.nheaders = 2;
	ck_assert_int_eq(sigv4_authorization(&r, AMZ_DATE, &example_cred, out, sizeof(out), NULL),
			 -EINVAL);
	r = bucket_request(NULL);
	c.region = "us/east";
	ck_assert_int_eq(sigv4_authorization(&r, AMZ_DATE, &c, out, sizeof(out), NULL), -EINVAL);
	ck_assert_int_eq(sigv4_authorization(&r, AMZ_DATE, NULL, out, sizeof(out), NULL), -EINVAL);
}
END_TEST

START_TEST(test_canonical_request_too_small)
{
	size_t need = strlen(get_object_canonical) + 1;

	for (size_t outlen = 0; outlen < need; outlen++) {
		char *b = canary_buf(outlen);

		check_canary(b, outlen, sigv4_canonical_request(&get_object, b, outlen));
		free(b);
	}
	{
		char *b = canary_buf(need);

		ck_assert_int_eq(sigv4_canonical_request(&get_object, b, need), (int)need - 1);
		ck_assert_str_eq(b, get_object_canonical);
		free(b);
	}
}
END_TEST

START_TEST(test_string_to_sign_too_small)
{
	char full[256];
	int len = sigv4_string_to_sign(get_object_canonical, AMZ_DATE, "us-east-1", "s3", full,
				       sizeof(full));

	ck_assert_int_gt(len, 0);
	for (size_t outlen = 0; outlen <= (size_t)len; outlen++) {
		char *b = canary_buf(outlen);

		check_canary(b, outlen,
			     sigv4_string_to_sign(get_object_canonical, AMZ_DATE, "us-east-1", "s3",
						  b, outlen));
		free(b);
	}
}
END_TEST

START_TEST(test_authorization_too_small)
{
	char full[512], sig[SIGV4_SHA256_HEX_LEN + 1];
	int len = sigv4_authorization(&get_object, AMZ_DATE, &example_cred, full, sizeof(full),
				      NULL);

	ck_assert_int_gt(len, 0);
	for (size_t outlen = 0; outlen <= (size_t)len; outlen++) {
		char *b = canary_buf(outlen);

		memset(sig, 'X', sizeof(sig));
		check_canary(b, outlen,
			     sigv4_authorization(&get_object, AMZ_DATE, &example_cred, b, outlen,
						 sig));
		/* No half-result: the signature is handed out only with the header. */
		ck_assert_str_eq(sig, "");
		free(b);
	}
	{
		char *b = canary_buf((size_t)len + 1);

		ck_assert_int_eq(sigv4_authorization(&get_object, AMZ_DATE, &example_cred, b,
						     (size_t)len + 1, sig),
				 len);
		ck_assert_str_eq(b, full);
		free(b);
	}
}
END_TEST


/* The presigned-URL example of the S3 API Reference page "Authenticating
 * Requests: Using Query Parameters (AWS Signature Version 4)": GET
 * /test.txt, valid 86400 s from 20130524T000000Z. */
#define PRESIGN_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
#define PRESIGN_CRED "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"

START_TEST(test_presign_example)
{
	struct sigv4_presign_request p = { .method = "GET",
					   .host = HOST,
					   .path = "/test.txt",
					   .now = EXAMPLE_EPOCH,
					   .expires_s = 86400 };
	char out[1024];
	int len = sigv4_presign(&p, &example_cred, out, sizeof(out));

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq((int)strlen(out), len);
	ck_assert_str_eq(out, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			      "&X-Amz-Credential=" PRESIGN_CRED "&X-Amz-Date=" AMZ_DATE
			      "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			      "&X-Amz-Signature=" PRESIGN_SIG);
	ck_assert_ptr_null(strstr(out, example_cred.secret_key));
}
END_TEST

/* A session token and response overrides are signed into the URL: the
 * signature changes, and the token is there, encoded. */
START_TEST(test_presign_token_and_overrides)
{
	struct sigv4_presign_request p = {
		.method = "GET",
		.host = HOST,
		.path = "/test.txt",
		.now = EXAMPLE_EPOCH,
		.expires_s = 300,
		.extra_query = "response-content-type=text%2Fplain",
		.session_token = "tok/en+="
	};
	char out[2048];

	ck_assert_int_gt(sigv4_presign(&p, &example_cred, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "response-content-type=text%2Fplain&"));
	ck_assert_ptr_nonnull(strstr(out, "&X-Amz-Security-Token=tok%2Fen%2B%3D&"));
	ck_assert_ptr_nonnull(strstr(out, "&X-Amz-Expires=300&"));
	ck_assert_ptr_null(strstr(out, PRESIGN_SIG));
	ck_assert_ptr_null(strstr(out, example_cred.secret_key));
	ck_assert_int_eq((int)strlen(strstr(out, "&X-Amz-Signature=")),
			 (int)strlen("&X-Amz-Signature=") + 64);
}
END_TEST

START_TEST(test_presign_bounds)
{
	struct sigv4_presign_request p = { .method = "GET",
					   .host = HOST,
					   .path = "/test.txt",
					   .now = EXAMPLE_EPOCH,
					   .expires_s = 0 };
	char out[1024], small[64];

	ck_assert_int_eq(sigv4_presign(&p, &example_cred, out, sizeof(out)), -EINVAL);
	p.expires_s = SIGV4_PRESIGN_MAX_S + 1;
	ck_assert_int_eq(sigv4_presign(&p, &example_cred, out, sizeof(out)), -EINVAL);
	p.expires_s = SIGV4_PRESIGN_MAX_S;
	ck_assert_int_gt(sigv4_presign(&p, &example_cred, out, sizeof(out)), 0);
	p.expires_s = SIGV4_PRESIGN_MIN_S;
	ck_assert_int_gt(sigv4_presign(&p, &example_cred, out, sizeof(out)), 0);
	ck_assert_int_eq(sigv4_presign(&p, &example_cred, small, sizeof(small)), -ENAMETOOLONG);
	ck_assert_str_eq(small, "");
	p.path = "test.txt";
	ck_assert_int_eq(sigv4_presign(&p, &example_cred, out, sizeof(out)), -EINVAL);
}
END_TEST

static Suite *sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *aws = tcase_create("aws_examples");
	TCase *parts = tcase_create("parts");
	TCase *bounds = tcase_create("bounds");

	tcase_add_test(aws, test_example1_canonical_request);
	tcase_add_test(aws, test_example1_string_to_sign);
	tcase_add_test(aws, test_example1_get_object);
	tcase_add_test(aws, test_example2_put_object);
	tcase_add_test(aws, test_example3_get_bucket_lifecycle);
	tcase_add_test(aws, test_example4_list_objects);
	tcase_add_test(aws, test_presign_example);
	tcase_add_test(aws, test_presign_token_and_overrides);
	tcase_add_test(bounds, test_presign_bounds);
	suite_add_tcase(s, aws);

	tcase_add_test(parts, test_empty_payload_hash);
	tcase_add_test(parts, test_format_date);
	tcase_add_test(parts, test_uri_encode);
	tcase_add_test(parts, test_query_canonicalisation);
	tcase_add_test(parts, test_header_trim_and_fold);
	tcase_add_test(parts, test_bad_requests);
	suite_add_tcase(s, parts);

	tcase_add_test(bounds, test_uri_encode_too_small);
	tcase_add_test(bounds, test_canonical_request_too_small);
	tcase_add_test(bounds, test_string_to_sign_too_small);
	tcase_add_test(bounds, test_authorization_too_small);
	suite_add_tcase(s, bounds);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sigv4_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
