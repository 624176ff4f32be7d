/* test_s3_xml.c - S3 XML parsers and the CompleteMultipartUpload builder.
 *
 * Response bodies follow the shapes of the S3 API reference examples
 * (ListObjectsV2, ListMultipartUploads, CreateMultipartUpload,
 * CompleteMultipartUpload, CopyObject, Error). No network. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "s3_xml.h"

#define NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define XMLDECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
/* A string literal as (body, len): bodies are never NUL-terminated for the
 * parsers, only measured. */
#define B(s) (s), (sizeof(s) - 1)

/* ---- sample responses -------------------------------------------------- */

static const char list_ns[] = XMLDECL
	"<ListBucketResult xmlns=\"" NS "\">\n"
	"  <Name>example-bucket</Name>\n"
	"  <Prefix></Prefix>\n"
	"  <KeyCount>2</KeyCount>\n"
	"  <MaxKeys>1000</MaxKeys>\n"
	"  <IsTruncated>false</IsTruncated>\n"
	"  <Contents>\n"
	"    <Key>ExampleObject.txt</Key>\n"
	"    <LastModified>2013-09-17T18:07:53.000Z</LastModified>\n"
	"    <ETag>\"599bab3ed2c697f1d26842727561fd94\"</ETag>\n"
	"    <Size>857</Size>\n"
	"    <StorageClass>REDUCED_REDUNDANCY</StorageClass>\n"
	"  </Contents>\n"
	"  <Contents>\n"
	"    <Key>my-image.jpg</Key>\n"
	"    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
	"    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
	"    <Size>434234</Size>\n"
	"    <Owner>\n"
	"      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>\n"
	"      <DisplayName>mtd@amazon.com</DisplayName>\n"
	"    </Owner>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"  </Contents>\n"
	"</ListBucketResult>";

/* Same listing as some S3-alikes send it: no namespace, no declaration. */
static const char list_no_ns[] =
	"<ListBucketResult>"
	"<Name>example-bucket</Name><Prefix/><KeyCount>1</KeyCount>"
	"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
	"<Contents><Key>ExampleObject.txt</Key>"
	"<LastModified>2013-09-17T18:07:53Z</LastModified>"
	"<ETag>\"599bab3ed2c697f1d26842727561fd94\"</ETag><Size>857</Size>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"</ListBucketResult>";

/* Namespace bound to a prefix: still matched by local name. */
static const char list_prefixed_ns[] =
	"<s3:ListBucketResult xmlns:s3=\"" NS "\">"
	"<s3:IsTruncated>false</s3:IsTruncated>"
	"<s3:Contents><s3:Key>a/b</s3:Key><s3:Size>1</s3:Size></s3:Contents>"
	"</s3:ListBucketResult>";

/* Delimiter listing, cut by max-keys: token and CommonPrefixes. The
 * top-level <Prefix> is the request's and must not become a prefix. */
static const char list_truncated[] = XMLDECL
	"<ListBucketResult xmlns=\"" NS "\">\n"
	"  <Name>example-bucket</Name>\n"
	"  <Prefix>photos/2006/</Prefix>\n"
	"  <ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken>\n"
	"  <NextContinuationToken>1JL8Hkq3kLuSPyAeX9kdPNoG3o0Ne5ydOS3v8hNOdGYnxNHm7y8J7Ow==</NextContinuationToken>\n"
	"  <KeyCount>3</KeyCount>\n"
	"  <MaxKeys>3</MaxKeys>\n"
	"  <Delimiter>/</Delimiter>\n"
	"  <IsTruncated>true</IsTruncated>\n"
	"  <Contents>\n"
	"    <Key>photos/2006/index.html</Key>\n"
	"    <LastModified>2010-11-10T20:48:33.000Z</LastModified>\n"
	"    <ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>\n"
	"    <Size>0</Size>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"  </Contents>\n"
	"  <CommonPrefixes>\n"
	"    <Prefix>photos/2006/February/</Prefix>\n"
	"  </CommonPrefixes>\n"
	"  <CommonPrefixes>\n"
	"    <Prefix>photos/2006/January/</Prefix>\n"
	"  </CommonPrefixes>\n"
	"</ListBucketResult>";

/* Keys needing escapes, numeric references, CDATA and UTF-8. */
static const char list_escaped[] = XMLDECL
	"<ListBucketResult xmlns=\"" NS "\">"
	"<IsTruncated>false</IsTruncated>"
	"<Contents><Key>R&amp;D/a&lt;b&gt;&apos;c&quot;.txt</Key><Size>1</Size></Contents>"
	"<Contents><Key>caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x82\xac.txt</Key><Size>2</Size></Contents>"
	"<Contents><Key>emoji-&#x1F600;-&#233;</Key><Size>3</Size></Contents>"
	"<Contents><Key><![CDATA[raw <&> text]]></Key><Size>4</Size></Contents>"
	"<Contents><Key>split<!-- comment -->key</Key><Size>5</Size></Contents>"
	"<CommonPrefixes><Prefix>R&amp;D/</Prefix></CommonPrefixes>"
	"</ListBucketResult>";

static const char error_nosuchkey[] = XMLDECL
	"<Error>\n"
	"  <Code>NoSuchKey</Code>\n"
	"  <Message>The resource you requested does not exist</Message>\n"
	"  <Resource>/mybucket/myfoto.jpg</Resource>\n"
	"  <RequestId>4442587FB7D0A2F9</RequestId>\n"
	"</Error>";

static const char initiate_ok[] = XMLDECL
	"<InitiateMultipartUploadResult xmlns=\"" NS "\">\n"
	"  <Bucket>example-bucket</Bucket>\n"
	"  <Key>example-object</Key>\n"
	"  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>\n"
	"</InitiateMultipartUploadResult>";

static const char complete_ok[] = XMLDECL
	"<CompleteMultipartUploadResult xmlns=\"" NS "\">\n"
	"  <Location>http://Example-Bucket.s3.amazonaws.com/Example-Object</Location>\n"
	"  <Bucket>Example-Bucket</Bucket>\n"
	"  <Key>Example-Object</Key>\n"
	"  <ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>\n"
	"</CompleteMultipartUploadResult>";

/* 200 OK whose body is an error: the late failure of a completion. */
static const char complete_error[] = XMLDECL
	"<Error>\n"
	"  <Code>InternalError</Code>\n"
	"  <Message>We encountered an internal error. Please try again.</Message>\n"
	"  <RequestId>656c76696e6727732072657175657374</RequestId>\n"
	"  <HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>\n"
	"</Error>";

static const char copy_ok[] = "<CopyObjectResult>"
			      "<LastModified>2009-10-28T22:32:00.000Z</LastModified>"
			      "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag>"
			      "</CopyObjectResult>";

static const char list_mpu[] = XMLDECL
	"<ListMultipartUploadsResult xmlns=\"" NS "\">\n"
	"  <Bucket>bucket</Bucket>\n"
	"  <KeyMarker></KeyMarker>\n"
	"  <UploadIdMarker></UploadIdMarker>\n"
	"  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>\n"
	"  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>\n"
	"  <MaxUploads>2</MaxUploads>\n"
	"  <IsTruncated>true</IsTruncated>\n"
	"  <Upload>\n"
	"    <Key>my-divisor</Key>\n"
	"    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>\n"
	"    <Initiator>\n"
	"      <ID>arn:aws:iam::111122223333:user/user1</ID>\n"
	"      <DisplayName>user1</DisplayName>\n"
	"    </Initiator>\n"
	"    <Owner>\n"
	"      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>\n"
	"      <DisplayName>OwnerDisplayName</DisplayName>\n"
	"    </Owner>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"    <Initiated>2010-11-10T20:48:33.000Z</Initiated>\n"
	"  </Upload>\n"
	"  <Upload>\n"
	"    <Key>my-movie.m2ts</Key>\n"
	"    <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"    <Initiated>2010-11-10T20:49:33.000Z</Initiated>\n"
	"  </Upload>\n"
	"</ListMultipartUploadsResult>";

/* ---- helpers ----------------------------------------------------------- */

/* Growable string for bodies built at run time. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
}

static char *repeat(const char *unit, size_t times)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * times + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * times] = '\0';
	return s;
}

/* A one-object listing with the given (already escaped) key text. */
static int list_with_key(const char *key_xml)
{
	struct s3_list_result r;
	struct sbuf b = { 0 };
	int rc;

	sb_add(&b,
	       "<ListBucketResult xmlns=\"%s\"><Contents><Key>%s</Key>"
	       "<Size>1</Size></Contents></ListBucketResult>",
	       NS, key_xml);
	rc = s3xml_parse_list_objects(b.p, b.len, &r);
	if (rc == 0) {
		ck_assert_uint_eq(r.nobjects, 1);
		s3xml_list_result_free(&r);
	} else {
		/* Failure leaves nothing behind. */
		ck_assert_ptr_null(r.objects);
		ck_assert_uint_eq(r.nobjects, 0);
	}
	free(b.p);
	return rc;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every parser on one body: none may crash or leak; returns how many said 0. */
static int run_all_parsers(const char *body, size_t len)
{
	struct s3_list_result lr;
	struct s3_mpu_list ml;
	struct s3_error err;
	char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
	int ok = 0;

	if (s3xml_parse_list_objects(body, len, &lr) == 0) {
		ok++;
		s3xml_list_result_free(&lr);
	}
	if (s3xml_parse_list_mpu(body, len, &ml) == 0) {
		ok++;
		s3xml_mpu_list_free(&ml);
	}
	ok += s3xml_parse_error(body, len, &err) == 0;
	ok += s3xml_parse_initiate_mpu(body, len, id, sizeof(id)) == 0;
	ok += s3xml_parse_complete_mpu(body, len, etag, sizeof(etag), &err) == 0;
	ok += s3xml_parse_copy_result(body, len, etag, sizeof(etag), &err) == 0;
	return ok;
}

/* ---- ListObjectsV2 ----------------------------------------------------- */

START_TEST(test_list_with_namespace)
{
	struct s3_list_result r;

	ck_assert_int_eq(s3xml_parse_list_objects(B(list_ns), &r), 0);
	ck_assert_uint_eq(r.nobjects, 2);
	ck_assert_uint_eq(r.nprefixes, 0);
	ck_assert_int_eq(r.is_truncated, 0);
	ck_assert_str_eq(r.next_token, "");

	ck_assert_str_eq(r.objects[0].key, "ExampleObject.txt");
	ck_assert_int_eq(r.objects[0].size, 857);
	ck_assert_str_eq(r.objects[0].etag, "599bab3ed2c697f1d26842727561fd94");
	ck_assert_int_eq(r.objects[0].last_modified, 1379441273);
	ck_assert_str_eq(r.objects[0].storage_class, "REDUCED_REDUNDANCY");

	ck_assert_str_eq(r.objects[1].key, "my-image.jpg");
	ck_assert_int_eq(r.objects[1].size, 434234);
	/* &quot; decodes to '"', stripped like a literal quote. */
	ck_assert_str_eq(r.objects[1].etag, "fba9dede5f27731c9771645a39863328");
	ck_assert_int_eq(r.objects[1].last_modified, 1255369830);
	ck_assert_str_eq(r.objects[1].storage_class, "STANDARD");
	s3xml_list_result_free(&r);
	/* Freed result is zeroed, so a second free is harmless. */
	ck_assert_ptr_null(r.objects);
	s3xml_list_result_free(&r);
	s3xml_list_result_free(NULL);
}
END_TEST

START_TEST(test_list_without_namespace)
{
	struct s3_list_result r;

	ck_assert_int_eq(s3xml_parse_list_objects(B(list_no_ns), &r), 0);
	ck_assert_uint_eq(r.nobjects, 1);
	ck_assert_str_eq(r.objects[0].key, "ExampleObject.txt");
	ck_assert_int_eq(r.objects[0].last_modified, 1379441273);
	s3xml_list_result_free(&r);

	ck_assert_int_eq(s3xml_parse_list_objects(B(list_prefixed_ns), &r), 0);
	ck_assert_uint_eq(r.nobjects, 1);
	ck_assert_str_eq(r.objects[0].key, "a/b");
	ck_assert_int_eq(r.objects[0].size, 1);
	/* Missing optional fields come back empty. */
	ck_assert_str_eq(r.objects[0].etag, "");
	ck_assert_int_eq(r.objects[0].last_modified, 0);
	s3xml_list_result_free(&r);
}
END_TEST

START_TEST(test_list_truncated_prefixes)
{
	struct s3_list_result r;

	ck_assert_int_eq(s3xml_parse_list_objects(B(list_truncated), &r), 0);
	ck_assert_int_eq(r.is_truncated, 1);
	ck_assert_str_eq(r.next_token, "1JL8Hkq3kLuSPyAeX9kdPNoG3o0Ne5ydOS3v8hNOdGYnxNHm7y8J7Ow==");
	ck_assert_uint_eq(r.nobjects, 1);
	ck_assert_str_eq(r.objects[0].key, "photos/2006/index.html");
	ck_assert_int_eq(r.objects[0].size, 0);
	ck_assert_int_eq(r.objects[0].last_modified, 1289422113);
	ck_assert_uint_eq(r.nprefixes, 2);
	ck_assert_str_eq(r.prefixes[0], "photos/2006/February/");
	ck_assert_str_eq(r.prefixes[1], "photos/2006/January/");
	s3xml_list_result_free(&r);
}
END_TEST

START_TEST(test_list_escaped_utf8_keys)
{
	struct s3_list_result r;

	ck_assert_int_eq(s3xml_parse_list_objects(B(list_escaped), &r), 0);
	ck_assert_uint_eq(r.nobjects, 5);
	ck_assert_str_eq(r.objects[0].key, "R&D/a<b>'c\".txt");
	ck_assert_str_eq(r.objects[1].key,
			 "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x82\xac.txt");
	ck_assert_str_eq(r.objects[2].key, "emoji-\xf0\x9f\x98\x80-\xc3\xa9");
	ck_assert_str_eq(r.objects[3].key, "raw <&> text");
	ck_assert_str_eq(r.objects[4].key, "splitkey");
	ck_assert_uint_eq(r.nprefixes, 1);
	ck_assert_str_eq(r.prefixes[0], "R&D/");
	s3xml_list_result_free(&r);
}
END_TEST

START_TEST(test_list_key_limits)
{
	char *k;

	k = repeat("k", S3_KEY_MAX);
	ck_assert_int_eq(list_with_key(k), 0);
	free(k);
	k = repeat("k", S3_KEY_MAX + 1);
	ck_assert_int_eq(list_with_key(k), -EPROTO);
	free(k);
	/* The limit is on decoded bytes: 1024 "&amp;" are 1024 bytes. */
	k = repeat("&amp;", S3_KEY_MAX);
	ck_assert_int_eq(list_with_key(k), 0);
	free(k);
	k = repeat("&amp;", S3_KEY_MAX + 1);
	ck_assert_int_eq(list_with_key(k), -EPROTO);
	free(k);
	/* 512 two-byte characters = 1024 bytes; one more byte is too many. */
	k = repeat("\xc3\xa9", S3_KEY_MAX / 2);
	ck_assert_int_eq(list_with_key(k), 0);
	free(k);
	k = repeat("\xc3\xa9", S3_KEY_MAX / 2 + 1);
	ck_assert_int_eq(list_with_key(k), -EPROTO);
	free(k);
	/* A huge key must not crash either. */
	k = repeat("0123456789abcdef", 1 << 16);
	ck_assert_int_eq(list_with_key(k), -EPROTO);
	free(k);
	/* Empty and missing keys. */
	ck_assert_int_eq(list_with_key(""), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B("<ListBucketResult><Contents><Size>1</Size></Contents>"
						    "</ListBucketResult>"),
						  &(struct s3_list_result){ 0 }),
			 -EPROTO);
}
END_TEST

START_TEST(test_list_key_with_nul)
{
	static const char raw_nul[] =
		"<ListBucketResult><Contents><Key>a\0b</Key></Contents></ListBucketResult>";

	/* As a character reference and as a raw byte inside the length. */
	ck_assert_int_eq(list_with_key("a&#0;b"), -EPROTO);
	ck_assert_int_eq(list_with_key("a&#x0;b"), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B(raw_nul), &(struct s3_list_result){ 0 }),
			 -EPROTO);
	/* Other characters XML forbids. */
	ck_assert_int_eq(list_with_key("a&#1;b"), -EPROTO);
	ck_assert_int_eq(list_with_key("a\x01"
				       "b"),
			 -EPROTO);
	/* Not UTF-8 at all. */
	ck_assert_int_eq(list_with_key("a\xff\xfe"
				       "b"),
			 -EPROTO);
}
END_TEST

START_TEST(test_list_bad_fields)
{
	struct s3_list_result r;

	/* Each of these is a well-formed document S3 would never send. */
	static const char *const bad[] = {
		"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken></NextContinuationToken></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size></Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999</Size>"
		"</Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><LastModified>yesterday</LastModified>"
		"</Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Key>b</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><ETag>\"\"</ETag></Contents></ListBucketResult>",
		"<ListBucketResult><CommonPrefixes><Prefix></Prefix></CommonPrefixes></ListBucketResult>",
		"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>",
	};
	char *big_etag;
	struct sbuf b = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(s3xml_parse_list_objects(bad[i], strlen(bad[i]), &r) == -EPROTO,
			      "accepted: %s", bad[i]);
		ck_assert_ptr_null(r.objects);
		ck_assert_ptr_null(r.prefixes);
	}
	/* An ETag that cannot fit its field. */
	big_etag = repeat("e", S3_ETAG_MAX);
	sb_add(&b,
	       "<ListBucketResult><Contents><Key>a</Key><ETag>\"%s\"</ETag></Contents>"
	       "</ListBucketResult>",
	       big_etag);
	ck_assert_int_eq(s3xml_parse_list_objects(b.p, b.len, &r), -EPROTO);
	free(big_etag);
	free(b.p);
	/* A token that cannot fit its field. */
	memset(&b, 0, sizeof(b));
	big_etag = repeat("t", S3_TOKEN_MAX);
	sb_add(&b,
	       "<ListBucketResult><IsTruncated>true</IsTruncated>"
	       "<NextContinuationToken>%s</NextContinuationToken></ListBucketResult>",
	       big_etag);
	ck_assert_int_eq(s3xml_parse_list_objects(b.p, b.len, &r), -EPROTO);
	free(big_etag);
	free(b.p);
	/* An error document is not a listing. */
	ck_assert_int_eq(s3xml_parse_list_objects(B(error_nosuchkey), &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B(list_ns), NULL), -EINVAL);
}
END_TEST

START_TEST(test_list_huge)
{
	enum { N = 20000 };
	struct s3_list_result r;
	struct sbuf b = { 0 };
	char key[64];

	sb_add(&b,
	       XMLDECL "<ListBucketResult xmlns=\"%s\"><Name>big</Name>"
		       "<IsTruncated>true</IsTruncated>"
		       "<NextContinuationToken>next-page</NextContinuationToken>",
	       NS);
	for (int i = 0; i < N; i++)
		sb_add(&b,
		       "<Contents><Key>dir/file-%05d.bin</Key>"
		       "<LastModified>2024-02-29T23:59:59.%03dZ</LastModified>"
		       "<ETag>\"%032x\"</ETag><Size>%d</Size>"
		       "<StorageClass>STANDARD</StorageClass></Contents>",
		       i, i % 1000, (unsigned)i, i * 1000);
	for (int i = 0; i < 100; i++)
		sb_add(&b, "<CommonPrefixes><Prefix>dir/sub%03d/</Prefix></CommonPrefixes>", i);
	sb_add(&b, "</ListBucketResult>");

	ck_assert_int_eq(s3xml_parse_list_objects(b.p, b.len, &r), 0);
	ck_assert_uint_eq(r.nobjects, N);
	ck_assert_uint_eq(r.nprefixes, 100);
	ck_assert_int_eq(r.is_truncated, 1);
	ck_assert_str_eq(r.next_token, "next-page");
	for (int i = 0; i < N; i += 997) {
		snprintf(key, sizeof(key), "dir/file-%05d.bin", i);
		ck_assert_str_eq(r.objects[i].key, key);
		ck_assert_int_eq(r.objects[i].size, (long long)i * 1000);
		ck_assert_int_eq(r.objects[i].last_modified, 1709251199);
	}
	ck_assert_str_eq(r.objects[N - 1].key, "dir/file-19999.bin");
	ck_assert_str_eq(r.prefixes[99], "dir/sub099/");
	s3xml_list_result_free(&r);
	free(b.p);
}
END_TEST

/* ---- hostile and broken input ------------------------------------------ */

START_TEST(test_malformed_truncated_empty)
{
	struct s3_list_result r;
	struct s3_error err;
	char id[64];

	/* Malformed. */
	ck_assert_int_eq(s3xml_parse_list_objects(B("<ListBucketResult><Contents>"
						    "</ListBucketResult></Contents>"),
						  &r),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B("<ListBucketResult><Key>a&b</Key>"
						    "</ListBucketResult>"),
						  &r),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B("not xml at all"), &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B("{\"json\": true}"), &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B("<a/><b/>"), &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_error(B("<html><body>502 Bad Gateway</html>"), &err), -EPROTO);
	/* Truncated: the sample cut before its end. */
	ck_assert_int_eq(s3xml_parse_list_objects(list_ns, sizeof(list_ns) / 2, &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(list_ns, sizeof(list_ns) - 2, &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_error(error_nosuchkey, 30, &err), -EPROTO);
	/* Empty, blank and NULL bodies. */
	ck_assert_int_eq(s3xml_parse_list_objects("", 0, &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(NULL, 0, &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects(B("  \r\n\t "), &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_error("", 0, &err), -EPROTO);
	ck_assert_int_eq(s3xml_parse_initiate_mpu("", 0, id, sizeof(id)), -EPROTO);
	/* Larger than xmlReadMemory's int: refused before a byte is read. */
	ck_assert_int_eq(s3xml_parse_list_objects("<", (size_t)INT_MAX + 1, &r), -EPROTO);
	ck_assert_int_eq(s3xml_parse_list_objects("<", SIZE_MAX, &r), -EPROTO);
	/* Only len counts: bytes after it are not read. */
	ck_assert_int_eq(s3xml_parse_list_objects(list_no_ns, sizeof(list_no_ns) - 1, &r), 0);
	s3xml_list_result_free(&r);
}
END_TEST

/* Every prefix of a valid response, and every byte replaced by a few
 * troublesome values, through every parser: no crash, no leak (ASan and
 * valgrind watch), and a strict prefix is never accepted. */
START_TEST(test_prefixes_and_mutations)
{
	static const char *const samples[] = { list_truncated, list_mpu, error_nosuchkey,
					       complete_ok, initiate_ok };
	static const char subst[] = { '<', '>', '&', '"', '\0', (char)0xff, 'x' };
	char *buf;
	size_t len;

	for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
		len = strlen(samples[s]);
		buf = malloc(len);
		ck_assert_ptr_nonnull(buf);
		for (size_t n = 0; n < len; n++) {
			/* A fresh copy of exactly n bytes, so ASan sees any read
			 * past the length. */
			memcpy(buf, samples[s], n);
			ck_assert_int_eq(run_all_parsers(n ? buf : NULL, n), 0);
		}
		ck_assert_int_ge(run_all_parsers(samples[s], len), 1);
		for (size_t i = 0; i < len; i++) {
			for (size_t k = 0; k < sizeof(subst); k++) {
				memcpy(buf, samples[s], len);
				buf[i] = subst[k];
				(void)run_all_parsers(buf, len);
			}
		}
		free(buf);
	}
}
END_TEST

START_TEST(test_xml_bomb)
{
	/* Billion laughs: 10^9 "lol"s if expanded. */
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<ListBucketResult><Contents><Key>&lol9;</Key></Contents>"
		"<CommonPrefixes><Prefix>&lol9;</Prefix></CommonPrefixes></ListBucketResult>";
	static const char laughs_error[] =
		"<!DOCTYPE e [<!ENTITY a \"aaaaaaaaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;\">"
		"<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;\">"
		"<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;\">]>"
		"<Error><Code>&h;</Code><Message>&h;&h;&h;&h;</Message></Error>";
	/* External entity: must be neither fetched nor read. */
	static const char xxe[] = "<?xml version=\"1.0\"?>\n"
				  "<!DOCTYPE Error [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
				  "<Error><Code>&xxe;</Code><Message>&xxe;</Message></Error>";
	static const char xxe_net[] = "<!DOCTYPE Error SYSTEM \"http://127.0.0.1:9/evil.dtd\">"
				      "<Error><Code>X</Code></Error>";
	struct s3_list_result r;
	struct s3_error err;
	struct sbuf b = { 0 };
	char *big;
	double t0 = now_sec();

	ck_assert_int_eq(s3xml_parse_list_objects(B(laughs), &r), -EPROTO);
	ck_assert_ptr_null(r.objects);
	ck_assert_int_eq(s3xml_parse_error(B(laughs), &err), -EPROTO);
	ck_assert_int_eq(s3xml_parse_error(B(laughs_error), &err), -EPROTO);
	ck_assert_str_eq(err.code, "");
	ck_assert_int_eq(s3xml_parse_error(B(xxe), &err), -EPROTO);
	ck_assert_str_eq(err.code, "");
	ck_assert_int_eq(s3xml_parse_error(B(xxe_net), &err), -EPROTO);

	/* Quadratic blowup: one 64 KiB entity referenced 20 000 times. */
	big = repeat("x", 1 << 16);
	sb_add(&b, "<!DOCTYPE r [<!ENTITY x \"%s\">]><ListBucketResult>", big);
	for (int i = 0; i < 20000; i++)
		sb_add(&b, "<Contents><Key>&x;</Key></Contents>");
	sb_add(&b, "</ListBucketResult>");
	ck_assert_int_eq(s3xml_parse_list_objects(b.p, b.len, &r), -EPROTO);
	free(b.p);
	free(big);

	/* Generous bound for valgrind; expansion would take minutes or
	 * gigabytes. */
	ck_assert_msg(now_sec() - t0 < 10.0, "bomb took %.1f s", now_sec() - t0);
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct s3_list_result r;
	struct sbuf b = { 0 };

	sb_add(&b, "<ListBucketResult>");
	for (int i = 0; i < 100000; i++)
		sb_add(&b, "<a>");
	for (int i = 0; i < 100000; i++)
		sb_add(&b, "</a>");
	sb_add(&b, "</ListBucketResult>");
	/* libxml2's default depth limit refuses it; the point is no crash. */
	ck_assert_int_eq(s3xml_parse_list_objects(b.p, b.len, &r), -EPROTO);
	free(b.p);
}
END_TEST

/* ---- Error ------------------------------------------------------------- */

START_TEST(test_error_document)
{
	struct s3_error err;
	struct sbuf b = { 0 };
	char *msg;

	ck_assert_int_eq(s3xml_parse_error(B(error_nosuchkey), &err), 0);
	ck_assert_str_eq(err.code, "NoSuchKey");
	ck_assert_str_eq(err.message, "The resource you requested does not exist");
	ck_assert_str_eq(err.request_id, "4442587FB7D0A2F9");
	ck_assert_int_eq(s3xml_parse_error(B(error_nosuchkey), NULL), 0);

	/* Well-formed but not an error -> -ENOENT, fields empty. */
	ck_assert_int_eq(s3xml_parse_error(B(list_ns), &err), -ENOENT);
	ck_assert_str_eq(err.code, "");
	ck_assert_int_eq(s3xml_parse_error(B("<Error/>"), &err), 0);
	ck_assert_str_eq(err.code, "");
	ck_assert_int_eq(s3xml_parse_error(B("garbage"), &err), -EPROTO);

	/* A long message is cut, never mid-character: 300 "é" (600 bytes)
	 * into 256 bytes gives 127 whole characters (254 bytes). */
	msg = repeat("\xc3\xa9", 300);
	sb_add(&b, "<Error><Code>SlowDown</Code><Message>x%s</Message></Error>", msg);
	ck_assert_int_eq(s3xml_parse_error(b.p, b.len, &err), 0);
	ck_assert_str_eq(err.code, "SlowDown");
	/* "x" + 127 characters = 255 bytes: fits exactly. */
	ck_assert_uint_eq(strlen(err.message), 255);
	free(b.p);
	memset(&b, 0, sizeof(b));
	sb_add(&b, "<Error><Message>%s</Message></Error>", msg);
	ck_assert_int_eq(s3xml_parse_error(b.p, b.len, &err), 0);
	ck_assert_uint_eq(strlen(err.message), 254);
	ck_assert_int_eq(memcmp(err.message, msg, 254), 0);
	free(b.p);
	free(msg);
	/* Cut across several text nodes. */
	msg = repeat("m", 200);
	memset(&b, 0, sizeof(b));
	sb_add(&b, "<Error><Code>%s<![CDATA[%s]]></Code></Error>", msg, msg);
	ck_assert_int_eq(s3xml_parse_error(b.p, b.len, &err), 0);
	ck_assert_uint_eq(strlen(err.code), sizeof(err.code) - 1);
	free(b.p);
	free(msg);
}
END_TEST

/* ---- CreateMultipartUpload / Complete / Copy --------------------------- */

START_TEST(test_initiate)
{
	char id[S3_UPLOAD_ID_MAX];
	char small[8];
	char *longid;
	struct sbuf b = { 0 };

	ck_assert_int_eq(s3xml_parse_initiate_mpu(B(initiate_ok), id, sizeof(id)), 0);
	ck_assert_str_eq(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
	/* Never cut: an upload id that does not fit is an error. */
	ck_assert_int_eq(s3xml_parse_initiate_mpu(B(initiate_ok), small, sizeof(small)), -EPROTO);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(s3xml_parse_initiate_mpu(B("<InitiateMultipartUploadResult>"
						    "<Bucket>b</Bucket></InitiateMultipartUploadResult>"),
						  id, sizeof(id)),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_initiate_mpu(B("<InitiateMultipartUploadResult>"
						    "<UploadId/></InitiateMultipartUploadResult>"),
						  id, sizeof(id)),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_initiate_mpu(B(error_nosuchkey), id, sizeof(id)), -EPROTO);
	longid = repeat("u", S3_UPLOAD_ID_MAX);
	sb_add(&b,
	       "<InitiateMultipartUploadResult><UploadId>%s</UploadId>"
	       "</InitiateMultipartUploadResult>",
	       longid);
	ck_assert_int_eq(s3xml_parse_initiate_mpu(b.p, b.len, id, sizeof(id)), -EPROTO);
	free(b.p);
	free(longid);
}
END_TEST

START_TEST(test_complete)
{
	char etag[S3_ETAG_MAX];
	char small[8];
	struct s3_error err;
	struct sbuf b = { 0 };

	ck_assert_int_eq(s3xml_parse_complete_mpu(B(complete_ok), etag, sizeof(etag), &err), 0);
	ck_assert_str_eq(etag, "3858f62230ac3c915f300c664312c11f-9");
	ck_assert_int_eq(s3xml_parse_complete_mpu(B(complete_ok), etag, sizeof(etag), NULL), 0);

	/* S3 keeps a slow completion alive with blanks before the document. */
	sb_add(&b, "          \n          \n%s", complete_ok);
	ck_assert_int_eq(s3xml_parse_complete_mpu(b.p, b.len, etag, sizeof(etag), &err), 0);
	ck_assert_str_eq(etag, "3858f62230ac3c915f300c664312c11f-9");
	free(b.p);

	/* 200 OK with an Error body -> -EIO, err filled. */
	ck_assert_int_eq(s3xml_parse_complete_mpu(B(complete_error), etag, sizeof(etag), &err),
			 -EIO);
	ck_assert_str_eq(err.code, "InternalError");
	ck_assert_str_eq(err.message, "We encountered an internal error. Please try again.");
	ck_assert_str_eq(err.request_id, "656c76696e6727732072657175657374");
	ck_assert_str_eq(etag, "");
	ck_assert_int_eq(s3xml_parse_complete_mpu(B(complete_error), etag, sizeof(etag), NULL),
			 -EIO);

	/* Anything else -> -EPROTO. */
	ck_assert_int_eq(s3xml_parse_complete_mpu(B(list_ns), etag, sizeof(etag), &err), -EPROTO);
	ck_assert_str_eq(err.code, "");
	/* Ceph RGW's answer: an empty or absent ETag is "not given" (""). */
	ck_assert_int_eq(s3xml_parse_complete_mpu(B("<CompleteMultipartUploadResult>"
						    "<Key>k</Key></CompleteMultipartUploadResult>"),
						  etag, sizeof(etag), &err),
			 0);
	ck_assert_str_eq(etag, "");
	ck_assert_int_eq(s3xml_parse_complete_mpu(B("<CompleteMultipartUploadResult>"
						    "<Key>k</Key><ETag></ETag>"
						    "</CompleteMultipartUploadResult>"),
						  etag, sizeof(etag), &err),
			 0);
	ck_assert_str_eq(etag, "");
	ck_assert_int_eq(s3xml_parse_complete_mpu(complete_ok, 60, etag, sizeof(etag), &err),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_complete_mpu("", 0, etag, sizeof(etag), &err), -EPROTO);
	ck_assert_int_eq(s3xml_parse_complete_mpu(B(complete_ok), small, sizeof(small), &err),
			 -EPROTO);
	ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_copy)
{
	char etag[S3_ETAG_MAX];
	struct s3_error err;

	ck_assert_int_eq(s3xml_parse_copy_result(B(copy_ok), etag, sizeof(etag), &err), 0);
	ck_assert_str_eq(etag, "9b2cf535f27731c974343645a3985328");
	/* UploadPartCopy answers the same shape. */
	ck_assert_int_eq(s3xml_parse_copy_result(B("<CopyPartResult xmlns=\"" NS "\">"
						   "<ETag>&quot;abc&quot;</ETag>"
						   "<LastModified>2011-04-11T20:34:56.000Z"
						   "</LastModified></CopyPartResult>"),
						 etag, sizeof(etag), &err),
			 0);
	ck_assert_str_eq(etag, "abc");
	ck_assert_int_eq(s3xml_parse_copy_result(B(error_nosuchkey), etag, sizeof(etag), &err),
			 -EIO);
	ck_assert_str_eq(err.code, "NoSuchKey");
	ck_assert_str_eq(err.request_id, "4442587FB7D0A2F9");
	ck_assert_int_eq(s3xml_parse_copy_result(B(complete_ok), etag, sizeof(etag), &err), -EPROTO);
	ck_assert_int_eq(s3xml_parse_copy_result(B("<<<"), etag, sizeof(etag), &err), -EPROTO);
}
END_TEST

/* ---- ListMultipartUploads ---------------------------------------------- */

START_TEST(test_list_mpu)
{
	struct s3_mpu_list l;

	ck_assert_int_eq(s3xml_parse_list_mpu(B(list_mpu), &l), 0);
	ck_assert_int_eq(l.is_truncated, 1);
	ck_assert_str_eq(l.next_key_marker, "my-movie.m2ts");
	ck_assert_str_eq(l.next_upload_id_marker, "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");
	ck_assert_uint_eq(l.nuploads, 2);
	ck_assert_str_eq(l.uploads[0].key, "my-divisor");
	ck_assert_str_eq(l.uploads[0].upload_id,
			 "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw");
	ck_assert_int_eq(l.uploads[0].initiated, 1289422113);
	ck_assert_str_eq(l.uploads[1].key, "my-movie.m2ts");
	ck_assert_int_eq(l.uploads[1].initiated, 1289422173);
	s3xml_mpu_list_free(&l);
	s3xml_mpu_list_free(&l);
	s3xml_mpu_list_free(NULL);

	/* Empty listing, no namespace. */
	ck_assert_int_eq(s3xml_parse_list_mpu(B("<ListMultipartUploadsResult><Bucket>b</Bucket>"
						"<IsTruncated>false</IsTruncated>"
						"</ListMultipartUploadsResult>"),
					      &l),
			 0);
	ck_assert_uint_eq(l.nuploads, 0);
	ck_assert_ptr_null(l.uploads);
	s3xml_mpu_list_free(&l);
}
END_TEST

START_TEST(test_list_mpu_bad)
{
	static const char *const bad[] = {
		/* Upload without UploadId, without Key, empty id. */
		"<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
		"</ListMultipartUploadsResult>",
		"<ListMultipartUploadsResult><Upload><UploadId>u</UploadId></Upload>"
		"</ListMultipartUploadsResult>",
		"<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId></UploadId></Upload>"
		"</ListMultipartUploadsResult>",
		"<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u</UploadId>"
		"<UploadId>v</UploadId></Upload></ListMultipartUploadsResult>",
		"<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>u</UploadId>"
		"<Initiated>2010-13-10T20:48:33.000Z</Initiated></Upload>"
		"</ListMultipartUploadsResult>",
		/* Truncated with nowhere to resume. */
		"<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
		"</ListMultipartUploadsResult>",
		"<ListBucketResult/>",
	};
	struct s3_mpu_list l;
	struct sbuf b = { 0 };
	char *k;

	/* A good upload before the bad one: the partial list is freed. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(s3xml_parse_list_mpu(bad[i], strlen(bad[i]), &l) == -EPROTO,
			      "accepted: %s", bad[i]);
		ck_assert_ptr_null(l.uploads);
	}
	k = repeat("k", S3_KEY_MAX + 1);
	sb_add(&b,
	       "<ListMultipartUploadsResult>"
	       "<Upload><Key>ok</Key><UploadId>u1</UploadId></Upload>"
	       "<Upload><Key>%s</Key><UploadId>u2</UploadId></Upload>"
	       "</ListMultipartUploadsResult>",
	       k);
	ck_assert_int_eq(s3xml_parse_list_mpu(b.p, b.len, &l), -EPROTO);
	ck_assert_ptr_null(l.uploads);
	free(b.p);
	memset(&b, 0, sizeof(b));
	sb_add(&b,
	       "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
	       "<NextKeyMarker>%s</NextKeyMarker></ListMultipartUploadsResult>",
	       k);
	ck_assert_int_eq(s3xml_parse_list_mpu(b.p, b.len, &l), -EPROTO);
	free(b.p);
	free(k);
}
END_TEST

/* ---- request body ------------------------------------------------------ */

START_TEST(test_build_complete)
{
	struct s3_part parts[2] = {
		{ .number = 1, .etag = "a54357aff0632cce46d942af68356b38" },
		{ .number = 2, .etag = "0c78aef83f66abc1fa1e8477f296d394" },
	};
	struct s3_part odd = { .number = 10000, .etag = "a&b<c>d\"e" };
	struct s3_part backwards[2] = { { .number = 2 }, { .number = 1 } };
	struct s3_part zero = { .number = 0 };
	char etag[S3_ETAG_MAX];
	size_t len = 0;
	char *s;

	s = s3xml_build_complete_mpu(parts, 2, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s,
			 "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<Part><PartNumber>1</PartNumber>"
			 "<ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>"
			 "<Part><PartNumber>2</PartNumber>"
			 "<ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag></Part>"
			 "</CompleteMultipartUpload>");
	ck_assert_uint_eq(len, strlen(s));
	free(s);

	/* Whatever the etag holds, the body stays well-formed. */
	s = s3xml_build_complete_mpu(&odd, 1, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s,
			 "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			 "<Part><PartNumber>10000</PartNumber>"
			 "<ETag>\"a&amp;b&lt;c&gt;d&quot;e\"</ETag></Part>"
			 "</CompleteMultipartUpload>");
	/* and reads back (quotes around it stripped, inner one kept). */
	{
		struct sbuf b = { 0 };

		sb_add(&b, "<CompleteMultipartUploadResult><ETag>\"a&amp;b&lt;c&gt;d&quot;e\""
			   "</ETag></CompleteMultipartUploadResult>");
		ck_assert_int_eq(s3xml_parse_complete_mpu(b.p, b.len, etag, sizeof(etag), NULL), 0);
		ck_assert_str_eq(etag, odd.etag);
		free(b.p);
	}
	free(s);

	/* Preconditions of the header: ascending, 1..10000. */
	errno = 0;
	ck_assert_ptr_null(s3xml_build_complete_mpu(backwards, 2, &len));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(s3xml_build_complete_mpu(&zero, 1, &len));
	ck_assert_ptr_null(s3xml_build_complete_mpu(NULL, 1, &len));

	/* 10 000 parts, the S3 maximum. */
	{
		struct s3_part *many = calloc(10000, sizeof(*many));

		ck_assert_ptr_nonnull(many);
		for (int i = 0; i < 10000; i++) {
			many[i].number = i + 1;
			snprintf(many[i].etag, sizeof(many[i].etag), "%032x", (unsigned)i);
		}
		s = s3xml_build_complete_mpu(many, 10000, &len);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(len, strlen(s));
		ck_assert_ptr_nonnull(strstr(s, "<Part><PartNumber>10000</PartNumber><ETag>\""
						"0000000000000000000000000000270f\"</ETag></Part>"
						"</CompleteMultipartUpload>"));
		free(s);
		free(many);
	}
}
END_TEST

/* ---- small request bodies --------------------------------------------- */

START_TEST(test_build_small_bodies)
{
	char buf[512], tiny[8];
	int n;

	n = s3xml_build_create_bucket("eu-west-1", buf, sizeof(buf));
	ck_assert_str_eq(buf, "<CreateBucketConfiguration><LocationConstraint>eu-west-1"
			      "</LocationConstraint></CreateBucketConfiguration>");
	ck_assert_int_eq(n, (int)strlen(buf));
	/* A region is configuration, not an S3 word: escaped, not refused. */
	ck_assert_int_gt(s3xml_build_create_bucket("a&<b>\"", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "<CreateBucketConfiguration><LocationConstraint>a&amp;&lt;b&gt;"
			      "&quot;</LocationConstraint></CreateBucketConfiguration>");
	ck_assert_int_eq(s3xml_build_create_bucket("", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_create_bucket(NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_create_bucket("eu-west-1", tiny, sizeof(tiny)), -EINVAL);

	n = s3xml_build_restore(7, "Bulk", buf, sizeof(buf));
	ck_assert_str_eq(buf, "<RestoreRequest><Days>7</Days><GlacierJobParameters><Tier>Bulk"
			      "</Tier></GlacierJobParameters></RestoreRequest>");
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_int_eq(s3xml_build_restore(0, "Bulk", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_restore(1, NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_restore(1, "a<b", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_restore(1, "a&b", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_restore(1, "Bulk", tiny, sizeof(tiny)), -EINVAL);

	n = s3xml_build_legal_hold(1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "<LegalHold><Status>ON</Status></LegalHold>");
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_int_gt(s3xml_build_legal_hold(0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "<LegalHold><Status>OFF</Status></LegalHold>");
	ck_assert_int_eq(s3xml_build_legal_hold(1, tiny, sizeof(tiny)), -EINVAL);
	ck_assert_int_eq(s3xml_build_legal_hold(1, NULL, 0), -EINVAL);

	n = s3xml_build_retention("GOVERNANCE", "2030-01-01T00:00:00Z", buf, sizeof(buf));
	ck_assert_str_eq(buf, "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>"
			      "2030-01-01T00:00:00Z</RetainUntilDate></Retention>");
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_int_eq(s3xml_build_retention(NULL, "x", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_retention("x", NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_retention("G>", "x", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(s3xml_build_retention("G", "2030&", buf, sizeof(buf)), -EINVAL);
	/* Exactly full (the NUL needs a byte of its own) fails; one more fits. */
	n = s3xml_build_retention("G", "d", buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(s3xml_build_retention("G", "d", buf, (size_t)n), -EINVAL);
	ck_assert_int_eq(s3xml_build_retention("G", "d", buf, (size_t)n + 1), n);
}
END_TEST

START_TEST(test_build_bad_args)
{
	struct s3_part p = { .number = 1, .etag = "e" };
	size_t len;

	errno = 0;
	ck_assert_ptr_null(s3xml_build_complete_mpu(NULL, 1, &len));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(s3xml_build_complete_mpu_ck(&p, 1, "CRC32<", &len));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(s3xml_build_complete_mpu_ck(&p, 1, "ABCDEFGHIJKLMNOPQ", &len));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(s3xml_build_tagging(NULL, 1, &len));
	ck_assert_int_eq(errno, EINVAL);
	/* No parts, no tags: the empty documents. */
	char *s = s3xml_build_complete_mpu(NULL, 0, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
			    "2006-03-01/\"></CompleteMultipartUpload>");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	s = s3xml_build_tagging(NULL, 0, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "<Tagging><TagSet></TagSet></Tagging>");
	free(s);
	/* An empty algorithm is none. */
	s = s3xml_build_complete_mpu_ck(&p, 1, "", NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strstr(s, "Checksum"));
	free(s);
}
END_TEST

/* ---- ISO 8601 ---------------------------------------------------------- */

START_TEST(test_iso8601)
{
	static const char *const bad[] = {
		"",
		"2009",
		"2009-10-12",
		"2009-10-12T17:50:30",
		"2009-10-12T17:50:30.Z",
		"2009-10-12T17:50:30.000",
		"2009-10-12T17:50:30.000Zjunk",
		"2009-10-12 17:50:30Z",
		"2009-10-12t17:50:30z",
		"2009-10-12T17:50:30+0000",
		"2009-10-12T17:50:30+24:00",
		"2009-10-12T17:50:30+01:60",
		"2009-10-12T17:50:30+01",
		"1970-01-01T00:00:00+01:00",
		"2009-13-12T17:50:30Z",
		"2009-00-12T17:50:30Z",
		"2009-10-00T17:50:30Z",
		"2009-10-32T17:50:30Z",
		"2009-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2009-04-31T00:00:00Z",
		"2009-10-12T24:00:00Z",
		"2009-10-12T17:60:30Z",
		"2009-10-12T17:50:60Z",
		"1969-12-31T23:59:59Z",
		"-009-10-12T17:50:30Z",
		"2009-1-12T17:50:30Z",
		"2009-10-12T17:50:3Z",
		" 2009-10-12T17:50:30Z",
		"2009-10-12T17:50:30.0.0Z",
		"+2009-10-12T17:50:30Z",
		"2009/10/12T17:50:30Z",
		"2009-10-12T17:50:30.000+01:00junk",
		"2009-10-12T17:50:30Z ",
		"2009-10-12T17:50:30.ZZ",
		"2009-10-12T17:50:30+1:00",
		"2009-10-12T17:50:30+01:0",
		"2009-10-12T17:50",
	};

	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30.000Z"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30Z"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30.5Z"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30.123456789Z"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("1970-01-01T00:00:00.000Z"), 0);
	ck_assert_int_eq(s3xml_parse_iso8601("2024-02-29T23:59:59Z"), 1709251199);
	ck_assert_int_eq(s3xml_parse_iso8601("2000-02-29T00:00:00Z"), 951782400);
	ck_assert_int_eq(s3xml_parse_iso8601("2100-03-01T00:00:00Z"), 4107542400LL);
	/* Past 2038: time_t is 64 bits here. */
	ck_assert_int_eq(s3xml_parse_iso8601("2038-01-19T03:14:08Z"), 2147483648LL);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30+00:00"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T19:50:30.25+02:00"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T12:20:30-05:30"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30.000+00:00"), 1255369830);
	ck_assert_int_eq(s3xml_parse_iso8601("2009-10-12T17:50:30.999999Z"), 1255369830);
	/* An offset can carry the date over midnight and the year end. */
	ck_assert_int_eq(s3xml_parse_iso8601("2009-12-31T23:30:00-01:00"), 1262305800);
	ck_assert_int_eq(s3xml_parse_iso8601("1970-01-01T01:00:00+01:00"), 0);
	ck_assert_int_eq(s3xml_parse_iso8601(NULL), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(s3xml_parse_iso8601(bad[i]) == -1, "accepted \"%s\"", bad[i]);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

static void *parse_loop(void *arg)
{
	struct s3_list_result r;
	struct s3_mpu_list l;
	struct s3_error err;
	long fails = 0;

	(void)arg;
	for (int i = 0; i < 200; i++) {
		if (s3xml_parse_list_objects(B(list_truncated), &r) != 0 || r.nprefixes != 2 ||
		    strcmp(r.objects[0].key, "photos/2006/index.html") != 0)
			fails++;
		s3xml_list_result_free(&r);
		if (s3xml_parse_list_mpu(B(list_mpu), &l) != 0 || l.nuploads != 2)
			fails++;
		s3xml_mpu_list_free(&l);
		if (s3xml_parse_error(B(error_nosuchkey), &err) != 0 ||
		    strcmp(err.code, "NoSuchKey") != 0)
			fails++;
		if (s3xml_parse_list_objects(B("<broken>"), &r) != -EPROTO)
			fails++;
	}
	return (void *)fails;
}

START_TEST(test_threads)
{
	pthread_t th[8];
	void *ret;
	long fails = 0;

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, parse_loop, NULL), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		fails += (long)ret;
	}
	ck_assert_int_eq(fails, 0);
}
END_TEST

/* ---- suite ------------------------------------------------------------- */

/* Tags and checksums in request bodies: escaped, and read back as sent. */
START_TEST(test_tagging_and_checksums)
{
	struct s3_tag in[2] = { { "owner", "a&b <c>" }, { "k", "" } }, out[S3_MAX_TAGS];
	size_t len, n;
	char *xml = s3xml_build_tagging(in, 2, &len);

	ck_assert_ptr_nonnull(xml);
	ck_assert_str_eq(xml, "<Tagging><TagSet><Tag><Key>owner</Key><Value>a&amp;b &lt;c&gt;"
			      "</Value></Tag><Tag><Key>k</Key><Value></Value></Tag></TagSet>"
			      "</Tagging>");
	ck_assert_int_eq(s3xml_parse_tagging(xml, len, out, S3_MAX_TAGS, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0].value, "a&b <c>");
	ck_assert_str_eq(out[1].key, "k");
	ck_assert_int_eq(s3xml_parse_tagging(xml, len, out, 1, &n), -EPROTO);
	free(xml);
	ck_assert_int_eq(s3xml_parse_tagging(" \n", 2, out, S3_MAX_TAGS, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(s3xml_parse_tagging("<Tagging><TagSet><Tag><Value>v</Value></Tag>"
					     "</TagSet></Tagging>",
					     63, out, S3_MAX_TAGS, &n),
			 -EPROTO);

	struct s3_part parts[2] = { { 1, "e1", "AAAAAAAAAAA=" }, { 2, "e2", "" } };
	xml = s3xml_build_complete_mpu_ck(parts, 2, "CRC64NVME", &len);
	ck_assert_ptr_nonnull(xml);
	ck_assert_ptr_nonnull(strstr(xml, "<ETag>\"e1\"</ETag><ChecksumCRC64NVME>AAAAAAAAAAA="
					  "</ChecksumCRC64NVME></Part>"));
	ck_assert_ptr_nonnull(strstr(xml, "<ETag>\"e2\"</ETag></Part>"));
	free(xml);
}
END_TEST


START_TEST(test_sts)
{
	static const char ok[] =
		"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
		"<AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
		"<SecretAccessKey>sec</SecretAccessKey><SessionToken>tok</SessionToken>"
		"<Expiration>2026-12-02T10:00:00Z</Expiration></Credentials>"
		"</AssumeRoleResult></AssumeRoleResponse>";
	static const char nokey[] =
		"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<SecretAccessKey>sec</SecretAccessKey><SessionToken>tok</SessionToken>"
		"<Expiration>2026-12-02T10:00:00Z</Expiration></Credentials>"
		"</AssumeRoleResult></AssumeRoleResponse>";
	static const char badexp[] =
		"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
		"<SecretAccessKey>sec</SecretAccessKey><SessionToken>tok</SessionToken>"
		"<Expiration>tomorrow</Expiration></Credentials>"
		"</AssumeRoleResult></AssumeRoleResponse>";
	static const char id[] = "<GetCallerIdentityResponse><GetCallerIdentityResult>"
				 "<Arn>arn:aws:sts::123:assumed-role/r/s</Arn><Account>123</Account>"
				 "</GetCallerIdentityResult></GetCallerIdentityResponse>";
	static const char err[] = "<ErrorResponse><Error><Type>Sender</Type>"
				  "<Code>AccessDenied</Code><Message>no</Message></Error>"
				  "</ErrorResponse>";
	struct s3xml_sts_creds c;
	struct s3_error e;
	char arn[64], acct[8];

	ck_assert_int_eq(s3xml_parse_sts_credentials(ok, strlen(ok), "AssumeRole", &c), 0);
	ck_assert_str_eq(c.access_key, "ASIA1");
	ck_assert_str_eq(c.secret_key, "sec");
	ck_assert_str_eq(c.session_token, "tok");
	ck_assert_int_eq((long long)c.expires, 1796205600LL);
	/* another action's answer, a missing key, a bad date: refused, zeroed */
	ck_assert_int_eq(s3xml_parse_sts_credentials(ok, strlen(ok), "AssumeRoleWithWebIdentity", &c),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_sts_credentials(nokey, strlen(nokey), "AssumeRole", &c),
			 -EPROTO);
	ck_assert_int_eq(s3xml_parse_sts_credentials(badexp, strlen(badexp), "AssumeRole", &c),
			 -EPROTO);
	ck_assert_str_eq(c.secret_key, "");
	ck_assert_int_eq(s3xml_parse_sts_credentials("nope", 4, "AssumeRole", &c), -EPROTO);

	ck_assert_int_eq(s3xml_parse_sts_identity(id, strlen(id), arn, sizeof(arn), acct,
						  sizeof(acct)),
			 0);
	ck_assert_str_eq(arn, "arn:aws:sts::123:assumed-role/r/s");
	ck_assert_str_eq(acct, "123");
	ck_assert_int_eq(s3xml_parse_sts_identity(id, strlen(id), arn, 8, acct, sizeof(acct)),
			 -EPROTO);

	ck_assert_int_eq(s3xml_parse_sts_error(err, strlen(err), &e), 0);
	ck_assert_str_eq(e.code, "AccessDenied");
	ck_assert_str_eq(e.message, "no");
	ck_assert_int_eq(s3xml_parse_sts_error(id, strlen(id), &e), -ENOENT);
	ck_assert_int_eq(s3xml_parse_sts_error("<Error><Code>X</Code></Error>", 29, &e), 0);
	ck_assert_str_eq(e.code, "X");
}
END_TEST

static Suite *s3_xml_suite(void)
{
	Suite *s = suite_create("s3_xml");
	TCase *tc = tcase_create("core");

	/* Valgrind runs are many times slower than native ones. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_list_with_namespace);
	tcase_add_test(tc, test_list_without_namespace);
	tcase_add_test(tc, test_list_truncated_prefixes);
	tcase_add_test(tc, test_list_escaped_utf8_keys);
	tcase_add_test(tc, test_list_key_limits);
	tcase_add_test(tc, test_list_key_with_nul);
	tcase_add_test(tc, test_list_bad_fields);
	tcase_add_test(tc, test_list_huge);
	tcase_add_test(tc, test_malformed_truncated_empty);
	tcase_add_test(tc, test_prefixes_and_mutations);
	tcase_add_test(tc, test_xml_bomb);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_error_document);
	tcase_add_test(tc, test_initiate);
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_list_mpu);
	tcase_add_test(tc, test_list_mpu_bad);
	tcase_add_test(tc, test_build_complete);
	tcase_add_test(tc, test_build_small_bodies);
	tcase_add_test(tc, test_build_bad_args);
	tcase_add_test(tc, test_iso8601);
	tcase_add_test(tc, test_tagging_and_checksums);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_sts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* As the daemon does: once, before any thread parses. */
	xmlInitParser();
	sr = srunner_create(s3_xml_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
