/* integrity.c - expectations from S3 answers, file checks, upload policy. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "integrity.h"

#define CHECK_BUF (1 << 20)

static int hex_to_raw(const char *hex, unsigned char raw[16])
{
	if (strspn(hex, "0123456789abcdefABCDEF") < 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		raw[i] = (unsigned char)v;
	}
	return 0;
}

void integrity_expect_from(const struct s3_obj_info *info, long long size,
			   struct integrity_expect *out)
{
	static const enum checksum_alg crcs[] = { CK_CRC64NVME, CK_CRC32C, CK_CRC32 };
	const char *etag = info->etag;
	size_t elen = strlen(etag);
	char v[32];

	memset(out, 0, sizeof(*out));
	out->kind = INTEGRITY_NONE;
	for (size_t i = 0; i < sizeof(crcs) / sizeof(crcs[0]); i++)
		if (s3_obj_checksum(info, crcs[i], out->digest) == 0) {
			out->kind = INTEGRITY_CRC;
			out->alg = crcs[i];
			return;
		}
	/* Under SSE-KMS or SSE-C, S3's ETags are not MD5s of the data. */
	if (strncmp(info->sse, "aws:kms", 7) == 0 || info->sse_c[0])
		return;
	if (elen == 32 && hex_to_raw(etag, out->digest) == 0) {
		out->kind = INTEGRITY_MD5;
		return;
	}
	if (elen > 33 && etag[32] == '-' && strspn(etag + 33, "0123456789") == elen - 33 &&
	    hex_to_raw(etag, out->digest) == 0) {
		/* Only a part size the writer recorded: guessing one that
		 * happens to fit N would fail a good object. */
		long n = strtol(etag + 33, NULL, 10);
		long long ps = 0;
		if (s3_obj_meta_get(info, INTEGRITY_META_PART_SIZE, v, sizeof(v)) == 0)
			ps = strtoll(v, NULL, 10);
		if (n >= 1 && n <= 10000 && ps > 0 && size > 0 && (size + ps - 1) / ps == n) {
			out->kind = INTEGRITY_MD5_PARTS;
			out->part_size = ps;
			out->nparts = (int)n;
		}
	}
}

const char *integrity_expect_name(const struct integrity_expect *x, char *buf, size_t len)
{
	switch (x->kind) {
	case INTEGRITY_CRC:
		snprintf(buf, len, "%s", checksum_alg_upper(x->alg));
		break;
	case INTEGRITY_MD5:
		snprintf(buf, len, "MD5");
		break;
	case INTEGRITY_MD5_PARTS:
		snprintf(buf, len, "MD5 of %d part MD5s", x->nparts);
		break;
	default:
		snprintf(buf, len, "nothing");
	}
	return buf;
}

int integrity_stream_init(struct integrity_stream *st, const struct integrity_expect *x)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->x = *x;
	if (x->kind != INTEGRITY_CRC && x->kind != INTEGRITY_MD5 && x->kind != INTEGRITY_MD5_PARTS)
		return 0;
	rc = checksum_init(&st->whole, x->kind == INTEGRITY_CRC ? x->alg : CK_MD5);
	if (!rc && x->kind == INTEGRITY_MD5_PARTS)
		rc = checksum_init(&st->part, CK_MD5);
	return rc;
}

int integrity_stream_update(struct integrity_stream *st, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	unsigned char md[16];
	int rc = 0;

	if (st->x.kind != INTEGRITY_MD5_PARTS) {
		st->done += (long long)len;
		return st->x.kind == INTEGRITY_CRC || st->x.kind == INTEGRITY_MD5
			       ? checksum_update(&st->whole, buf, len)
			       : 0;
	}
	while (!rc && len > 0) {
		long long room = st->x.part_size - st->done % st->x.part_size;
		size_t n = (long long)len < room ? len : (size_t)room;
		rc = checksum_update(&st->part, p, n);
		st->done += (long long)n;
		p += n;
		len -= n;
		if (!rc && st->done % st->x.part_size == 0) {
			/* A part ends: its MD5 goes into the outer one. */
			rc = checksum_final(&st->part, md);
			if (!rc)
				rc = checksum_update(&st->whole, md, 16);
			if (!rc)
				rc = checksum_init(&st->part, CK_MD5);
		}
	}
	return rc;
}

int integrity_stream_final(struct integrity_stream *st)
{
	unsigned char got[16];
	int rc = 0;

	switch (st->x.kind) {
	case INTEGRITY_MD5_PARTS:
		if (st->done == 0)
			rc = -EBADMSG; /* a multipart ETag is never that of nothing */
		else if (st->done % st->x.part_size != 0) {
			rc = checksum_final(&st->part, got);
			if (!rc)
				rc = checksum_update(&st->whole, got, 16);
		}
		/* fall through */
	case INTEGRITY_CRC:
	case INTEGRITY_MD5:
		if (!rc)
			rc = checksum_final(&st->whole, got);
		if (!rc &&
		    memcmp(got, st->x.digest,
			   checksum_alg_len(st->x.kind == INTEGRITY_CRC ? st->x.alg : CK_MD5)))
			rc = -EBADMSG;
		break;
	default:
		break;
	}
	integrity_stream_free(st);
	return rc;
}

void integrity_stream_free(struct integrity_stream *st)
{
	checksum_free(&st->whole);
	checksum_free(&st->part);
}

int integrity_check_fd(int fd, long long size, const struct integrity_expect *x)
{
	struct integrity_stream st;
	long long done = 0;
	char *buf;
	int rc;

	if (x->kind != INTEGRITY_CRC && x->kind != INTEGRITY_MD5 && x->kind != INTEGRITY_MD5_PARTS)
		return 0;
	buf = malloc(CHECK_BUF);
	if (!buf)
		return -ENOMEM;
	rc = integrity_stream_init(&st, x);
	while (!rc && done < size) {
		size_t want = size - done < CHECK_BUF ? (size_t)(size - done) : CHECK_BUF;
		ssize_t n = pread(fd, buf, want, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += n;
		rc = integrity_stream_update(&st, buf, (size_t)n);
	}
	if (!rc)
		rc = integrity_stream_final(&st);
	else
		integrity_stream_free(&st);
	free(buf);
	return rc;
}

void integrity_checksum_of(enum checksum_alg alg, const void *buf, size_t len,
			   struct s3_checksum *out)
{
	struct checksum ck;
	unsigned char raw[16];

	memset(out, 0, sizeof(*out));
	if (alg == CK_NONE || alg == CK_MD5 || checksum_init(&ck, alg) < 0)
		return;
	if (checksum_update(&ck, buf, len) == 0 && checksum_final(&ck, raw) == 0) {
		out->alg = alg;
		checksum_base64(raw, checksum_alg_len(alg), out->b64);
	}
	checksum_free(&ck);
}

enum checksum_alg integrity_upload_alg(const struct bucket_conf *b)
{
	switch (b->checksum) {
	case CHECKSUM_CRC64NVME:
		return CK_CRC64NVME;
	case CHECKSUM_CRC32C:
		return CK_CRC32C;
	case CHECKSUM_MD5:
		return CK_NONE;
	default:
		return b->client && s3_client_checksums(b->client) == 0 ? CK_NONE : CK_CRC64NVME;
	}
}

const char *integrity_describe(const struct bucket_conf *b, char *buf, size_t len)
{
	int seen = b->client ? s3_client_checksums(b->client) : -1;
	int kms = b->sse && strncmp(b->sse, "aws:kms", 7) == 0;
	const char *alg = b->checksum == CHECKSUM_CRC32C ? "CRC32C" : "CRC64NVME";

	if (seen == 1)
		snprintf(buf, len,
			 "reads verified against each object's full-object checksum (%s for "
			 "objects written here)%s",
			 b->checksum == CHECKSUM_MD5 ? "none: checksum = md5" : alg,
			 kms ? "" : "; objects without one against their MD5 ETag");
	else if (kms)
		snprintf(buf, len,
			 "%s: with sse = aws:kms, ETags are not MD5s and the server keeps no "
			 "flexible checksums: reads are NOT verified",
			 seen == 0 ? "server ignores x-amz-checksum-*" : "server not yet probed");
	else
		snprintf(buf, len,
			 "%s: reads verified against the MD5 ETag (single-part objects) or the "
			 "MD5 of part MD5s (multipart objects of known part size), once the whole "
			 "object has arrived; objects with other ETags are read unverified",
			 seen == 0 ? "server ignores x-amz-checksum-*" : "server not yet probed");
	return buf;
}
