/* fuzz_sigv4.c - libFuzzer harness for SigV4 (src/sigv4.h).
 *
 * Input: one flag byte, then lines split on '\n':
 *   0 method, 1 path, 2 query, 3 region, 4 payload hash,
 *   5.. headers "name:value" (at most 16)
 * The whole text after the flag byte is also URI-encoded as one string.
 * Flag bits: 0 keep_slash; 1-6 a small output size (to hit "too long").
 *
 * Checks, beyond "no crash, no sanitizer report": outputs always
 * NUL-terminated inside the buffer, length returned == strlen, "" on
 * failure; uri_encode output decodes back to its input and holds only
 * unreserved bytes, %XX (upper-case hex) and '/' when kept; a canonical
 * request has exactly 5 + nheaders line breaks (no value can forge a
 * line); an Authorization value is one line ending in a 64-hex signature
 * equal to sig_out. Output buffers are exact heap blocks, so ASan sees any
 * write past them. Build: make fuzz. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

#define MAX_HEADERS 16
#define AMZ_DATE "20130524T000000Z"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not allowed */
}

/* Common result contract of the buffer-filling functions. */
static void check_out(int rc, const char *out, size_t outlen)
{
	CHECK(memchr(out, '\0', outlen) != NULL);
	if (rc >= 0) {
		CHECK((size_t)rc < outlen);
		CHECK(strlen(out) == (size_t)rc);
	} else {
		CHECK(out[0] == '\0'); /* never a truncated text */
	}
}

static void fuzz_encode(const char *in, int keep_slash, size_t small)
{
	size_t inlen = strlen(in);
	const size_t lens[] = { 3 * inlen + 1, small };

	for (size_t k = 0; k < 2; k++) {
		char *out = malloc(lens[k]);
		int rc;

		CHECK(out);
		memset(out, 'X', lens[k]);
		rc = sigv4_uri_encode(in, keep_slash, out, lens[k]);
		CHECK(rc >= 0 || rc == -ENAMETOOLONG);
		check_out(rc, out, lens[k]);
		if (k == 0)
			CHECK(rc >= 0); /* 3 bytes per input byte always fit */
		if (rc >= 0) {
			/* Decodes back to the input; only the allowed bytes. */
			size_t j = 0;
			for (const char *p = out; *p; p++) {
				unsigned char c = (unsigned char)*p;
				if (c == '%') {
					int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
					CHECK(hi >= 0 && lo >= 0);
					c = (unsigned char)(hi << 4 | lo);
					/* what may pass through must not be escaped */
					CHECK(!unreserved(c) && !(c == '/' && keep_slash));
					p += 2;
				} else {
					CHECK(unreserved(c) || (c == '/' && keep_slash));
				}
				CHECK(j < inlen && (unsigned char)in[j] == c);
				j++;
			}
			CHECK(j == inlen);
		}
		free(out);
	}
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void fuzz_request(char *text, size_t small)
{
	char *line[5 + MAX_HEADERS];
	struct sigv4_header hdr[MAX_HEADERS];
	size_t nlines = 0, nh = 0;
	struct sigv4_request req;
	char *p = text;

	while (nlines < sizeof(line) / sizeof(line[0])) {
		char *nl = strchr(p, '\n');
		line[nlines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (nlines < 5)
		return;
	for (size_t i = 5; i < nlines; i++) {
		char *colon = strchr(line[i], ':');
		if (!colon)
			continue;
		*colon = '\0';
		hdr[nh].name = line[i];
		hdr[nh].value = colon + 1;
		nh++;
	}
	req = (struct sigv4_request){ .method = line[0],
				      .path = line[1],
				      .query = line[2],
				      .headers = hdr,
				      .nheaders = nh,
				      .payload_hash = line[4] };

	/* Canonical request: big enough for any input here, and small. */
	{
		const size_t lens[] = { 1 << 16, small };
		int full = -1;

		for (size_t k = 0; k < 2; k++) {
			char *out = malloc(lens[k]);
			int rc;

			CHECK(out);
			memset(out, 'X', lens[k]);
			rc = sigv4_canonical_request(&req, out, lens[k]);
			CHECK(rc >= 0 || rc == -EINVAL || rc == -ENAMETOOLONG || rc == -ENOMEM);
			check_out(rc, out, lens[k]);
			if (k == 0) {
				full = rc;
				if (rc >= 0)
					CHECK(count_char(out, '\n') == 5 + nh);
			} else if (rc >= 0) {
				CHECK(rc == full);
			}
			if (k == 0 && rc >= 0) {
				char *sts = malloc(512);
				int r2;

				CHECK(sts);
				r2 = sigv4_string_to_sign(out, AMZ_DATE, line[3], "s3", sts, 512);
				CHECK(r2 >= 0 || r2 == -EINVAL || r2 == -ENAMETOOLONG);
				check_out(r2, sts, 512);
				if (r2 >= 0)
					CHECK(count_char(sts, '\n') == 3);
				free(sts);
			}
			free(out);
		}
	}

	/* Authorization, with fixed credentials and the region from the input. */
	{
		const struct sigv4_credentials cred = {
			.access_key = "AKIAIOSFODNN7EXAMPLE",
			.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			.region = line[3],
			.service = "s3",
		};
		const size_t outlen = 4096;
		char *out = malloc(outlen);
		char *sig = malloc(SIGV4_SHA256_HEX_LEN + 1);
		int rc;

		CHECK(out && sig);
		memset(sig, 'X', SIGV4_SHA256_HEX_LEN + 1);
		rc = sigv4_authorization(&req, AMZ_DATE, &cred, out, outlen, sig);
		CHECK(rc >= 0 || rc == -EINVAL || rc == -ENAMETOOLONG || rc == -ENOMEM ||
		      rc == -EIO);
		check_out(rc, out, outlen);
		if (rc >= 0) {
			/* No part before it can hold a blank, so this is the one. */
			const char *s = strstr(out, ", Signature=");
			CHECK(strchr(out, '\n') == NULL && strchr(out, '\r') == NULL);
			CHECK(strncmp(out, "AWS4-HMAC-SHA256 Credential=", 28) == 0);
			CHECK(s && strlen(s + 12) == SIGV4_SHA256_HEX_LEN);
			CHECK(strspn(s + 12, "0123456789abcdef") == SIGV4_SHA256_HEX_LEN);
			CHECK(strcmp(s + 12, sig) == 0);
		} else {
			CHECK(sig[0] == '\0');
		}
		free(out);
		free(sig);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags;
	char *text;

	if (size < 1 || size > 8192)
		return 0;
	flags = data[0];
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	fuzz_encode(text, flags & 1, 1 + ((flags >> 1) & 63));
	fuzz_request(text, 1 + ((flags >> 1) & 63));
	free(text);
	return 0;
}
