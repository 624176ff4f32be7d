/* test_checksum.c - the checksums against published vectors.
 *
 * CRC-64/NVME: the check value of the CRC catalogue (width 64, poly
 * 0xad93d23594c93659, reflected, init/xorout all ones: "123456789" ->
 * 0xae8b14860a799888) and the four 4 KiB test cases of the NVMe NVM
 * Command Set specification (64b CRC test cases).  CRC-32C: the check
 * value 0xe3069283 and RFC 3720 appendix B.4.  CRC-32: the check value
 * 0xcbf43926.  MD5: RFC 1321 appendix A.5.  The base64 forms are what S3
 * writes in x-amz-checksum-* headers (base64 of the big-endian CRC). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "integrity.h"

static const char check9[] = "123456789";

static void b64_of(enum checksum_alg alg, uint64_t crc, char *out)
{
	unsigned char raw[8];
	checksum_crc_bytes(alg, crc, raw);
	checksum_base64(raw, checksum_alg_len(alg), out);
}

START_TEST(crc64nvme_check_value)
{
	char b64[CHECKSUM_B64_MAX];

	ck_assert_uint_eq(checksum_crc64nvme(0, check9, 9), 0xae8b14860a799888ULL);
	b64_of(CK_CRC64NVME, 0xae8b14860a799888ULL, b64);
	ck_assert_str_eq(b64, "rosUhgp5mIg=");
	ck_assert_uint_eq(checksum_crc64nvme(0, "", 0), 0);
}
END_TEST

START_TEST(crc64nvme_nvme_spec)
{
	unsigned char *b = malloc(4096);

	ck_assert_ptr_nonnull(b);
	memset(b, 0, 4096);
	ck_assert_uint_eq(checksum_crc64nvme(0, b, 4096), 0x6482d367eb22b64eULL);
	memset(b, 0xff, 4096);
	ck_assert_uint_eq(checksum_crc64nvme(0, b, 4096), 0xc0ddba7302eca3acULL);
	for (int i = 0; i < 4096; i++)
		b[i] = (unsigned char)i;
	ck_assert_uint_eq(checksum_crc64nvme(0, b, 4096), 0x3e729f5f6750449cULL);
	for (int i = 0; i < 4096; i++)
		b[i] = (unsigned char)(255 - (i & 255));
	ck_assert_uint_eq(checksum_crc64nvme(0, b, 4096), 0x9a2df64b8e9e517eULL);
	free(b);
}
END_TEST

START_TEST(crc32c_vectors)
{
	unsigned char b[32];
	char b64[CHECKSUM_B64_MAX];

	ck_assert_uint_eq(checksum_crc32c(0, check9, 9), 0xe3069283u);
	b64_of(CK_CRC32C, 0xe3069283u, b64);
	ck_assert_str_eq(b64, "4waSgw==");
	memset(b, 0, 32);
	ck_assert_uint_eq(checksum_crc32c(0, b, 32), 0x8a9136aau);
	memset(b, 0xff, 32);
	ck_assert_uint_eq(checksum_crc32c(0, b, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	ck_assert_uint_eq(checksum_crc32c(0, b, 32), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	ck_assert_uint_eq(checksum_crc32c(0, b, 32), 0x113fdb5cu);
}
END_TEST

START_TEST(crc32_vectors)
{
	char b64[CHECKSUM_B64_MAX];

	ck_assert_uint_eq(checksum_crc32(0, check9, 9), 0xcbf43926u);
	b64_of(CK_CRC32, 0xcbf43926u, b64);
	ck_assert_str_eq(b64, "y/Q5Jg==");
}
END_TEST

static void md5_hex(const char *s, char hex[33])
{
	struct checksum ck;
	unsigned char raw[16];

	ck_assert_int_eq(checksum_init(&ck, CK_MD5), 0);
	/* In two pieces: the stream must not care where it is cut. */
	ck_assert_int_eq(checksum_update(&ck, s, strlen(s) / 2), 0);
	ck_assert_int_eq(checksum_update(&ck, s + strlen(s) / 2, strlen(s) - strlen(s) / 2), 0);
	ck_assert_int_eq(checksum_final(&ck, raw), 0);
	checksum_free(&ck);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
}

START_TEST(md5_rfc1321)
{
	static const char *const vec[][2] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	char hex[33];

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		md5_hex(vec[i][0], hex);
		ck_assert_str_eq(hex, vec[i][1]);
	}
}
END_TEST

/* A CRC streamed in pieces and one combined from pieces hashed apart are
 * the CRC of the whole, for every cut of a buffer. */
START_TEST(streaming_and_combine)
{
	static const enum checksum_alg algs[] = { CK_CRC64NVME, CK_CRC32C, CK_CRC32 };
	unsigned char buf[1000];
	unsigned seed = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	for (size_t a = 0; a < 3; a++) {
		struct checksum whole;
		unsigned char want[16], got[16];
		ck_assert_int_eq(checksum_init(&whole, algs[a]), 0);
		ck_assert_int_eq(checksum_update(&whole, buf, sizeof(buf)), 0);
		ck_assert_int_eq(checksum_final(&whole, want), 0);
		for (size_t cut = 0; cut <= sizeof(buf); cut += 37) {
			struct checksum x, y;
			checksum_init(&x, algs[a]);
			checksum_init(&y, algs[a]);
			checksum_update(&x, buf, cut);
			checksum_update(&y, buf + cut, sizeof(buf) - cut);
			uint64_t c = checksum_crc_combine(algs[a], x.crc, y.crc,
							  (long long)(sizeof(buf) - cut));
			checksum_crc_bytes(algs[a], c, got);
			ck_assert_mem_eq(got, want, checksum_alg_len(algs[a]));
			checksum_update(&x, buf + cut, sizeof(buf) - cut);
			ck_assert_int_eq(checksum_final(&x, got), 0);
			ck_assert_mem_eq(got, want, checksum_alg_len(algs[a]));
		}
	}
	/* Combining far: 5 GiB of zero bytes after "123456789" is a shift
	 * the loop does in 33 squarings, not 5 GiB of work. */
	uint64_t z = checksum_crc_combine(CK_CRC64NVME, checksum_crc64nvme(0, check9, 9), 0, 0);
	ck_assert_uint_eq(z, 0xae8b14860a799888ULL);
}
END_TEST

START_TEST(base64_round_trip)
{
	unsigned char raw[16];

	ck_assert_int_eq(checksum_from_base64(CK_CRC64NVME, "rosUhgp5mIg=", raw), 0);
	ck_assert_uint_eq(raw[0], 0xae);
	ck_assert_uint_eq(raw[7], 0x88);
	ck_assert_int_eq(checksum_from_base64(CK_CRC32C, "4waSgw==", raw), 0);
	ck_assert_uint_eq(raw[0], 0xe3);
	ck_assert_int_eq(checksum_from_base64(CK_CRC32C, "rosUhgp5mIg=", raw), -EINVAL);
	ck_assert_int_eq(checksum_from_base64(CK_MD5, "1B2M2Y8AsgTpgAmY7PhCfg==", raw), 0);
	ck_assert_uint_eq(raw[0], 0xd4);
	ck_assert_int_eq(checksum_from_base64(CK_NONE, "", raw), -EINVAL);
	ck_assert_str_eq(checksum_alg_name(CK_CRC64NVME), "crc64nvme");
	ck_assert_str_eq(checksum_alg_upper(CK_CRC32C), "CRC32C");
	ck_assert_ptr_null(checksum_alg_upper(CK_MD5));
}
END_TEST

/* What an object is checked against: only what S3 guarantees. */
START_TEST(integrity_expectations)
{
	struct s3_obj_info info;
	struct integrity_expect x;

	memset(&info, 0, sizeof(info));
	snprintf(info.etag, sizeof(info.etag), "%s", "d41d8cd98f00b204e9800998ecf8427e");
	snprintf(info.checksums, sizeof(info.checksums), "crc64nvme=rosUhgp5mIg=\n");
	integrity_expect_from(&info, 9, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_CRC);
	ck_assert_int_eq(x.alg, CK_CRC64NVME);
	ck_assert_uint_eq(x.digest[0], 0xae);
	/* A COMPOSITE checksum is not the object's: the ETag is used. */
	snprintf(info.checksum_type, sizeof(info.checksum_type), "COMPOSITE");
	integrity_expect_from(&info, 0, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_MD5);
	info.checksums[0] = info.checksum_type[0] = '\0';
	snprintf(info.sse, sizeof(info.sse), "aws:kms");
	integrity_expect_from(&info, 0, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_NONE);
	info.sse[0] = '\0';
	snprintf(info.sse_c, sizeof(info.sse_c), "AES256");
	integrity_expect_from(&info, 0, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_NONE);
	info.sse_c[0] = '\0';
	/* Multipart: only with the part size its writer recorded, fitting N. */
	snprintf(info.etag, sizeof(info.etag), "%s", "d41d8cd98f00b204e9800998ecf8427e-3");
	integrity_expect_from(&info, 12 << 20, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_NONE);
	snprintf(info.meta, sizeof(info.meta), "s3csfs-part-size=5242880\n");
	integrity_expect_from(&info, 12 << 20, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_MD5_PARTS);
	ck_assert_int_eq(x.nparts, 3);
	integrity_expect_from(&info, 20 << 20, &x); /* would be 4 parts */
	ck_assert_int_eq(x.kind, INTEGRITY_NONE);
	snprintf(info.etag, sizeof(info.etag), "%s", "opaque-1234");
	integrity_expect_from(&info, 12 << 20, &x);
	ck_assert_int_eq(x.kind, INTEGRITY_NONE);
}
END_TEST

/* The MD5 of part MD5s, streamed in pieces that straddle part ends. */
START_TEST(integrity_stream_parts)
{
	unsigned char data[10], md[3][16], outer[16];
	struct checksum ck;
	struct integrity_expect x = { .kind = INTEGRITY_MD5_PARTS, .part_size = 4, .nparts = 3 };
	struct integrity_stream st;

	for (int i = 0; i < 10; i++)
		data[i] = (unsigned char)(i * 7);
	for (int p = 0; p < 3; p++) {
		checksum_init(&ck, CK_MD5);
		checksum_update(&ck, data + 4 * p, p < 2 ? 4 : 2);
		checksum_final(&ck, md[p]);
	}
	checksum_init(&ck, CK_MD5);
	checksum_update(&ck, md, sizeof(md));
	checksum_final(&ck, outer);
	memcpy(x.digest, outer, 16);
	ck_assert_int_eq(integrity_stream_init(&st, &x), 0);
	ck_assert_int_eq(integrity_stream_update(&st, data, 3), 0);
	ck_assert_int_eq(integrity_stream_update(&st, data + 3, 6), 0);
	ck_assert_int_eq(integrity_stream_update(&st, data + 9, 1), 0);
	ck_assert_int_eq(integrity_stream_final(&st), 0);
	data[5] ^= 1;
	ck_assert_int_eq(integrity_stream_init(&st, &x), 0);
	ck_assert_int_eq(integrity_stream_update(&st, data, 10), 0);
	ck_assert_int_eq(integrity_stream_final(&st), -EBADMSG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("checksum");
	TCase *tc = tcase_create("vectors");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, crc64nvme_check_value);
	tcase_add_test(tc, crc64nvme_nvme_spec);
	tcase_add_test(tc, crc32c_vectors);
	tcase_add_test(tc, crc32_vectors);
	tcase_add_test(tc, md5_rfc1321);
	tcase_add_test(tc, streaming_and_combine);
	tcase_add_test(tc, base64_round_trip);
	tcase_add_test(tc, integrity_expectations);
	tcase_add_test(tc, integrity_stream_parts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
