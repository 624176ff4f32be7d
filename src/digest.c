/* digest.c - ETags computed from bytes, and the verification step. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

#define MiB (1024LL * 1024)

/* The ETag's hex MD5 length is 32, then "-N" for multipart; sets *nparts
 * (0 for single part). -1 if it is no MD5 ETag at all. */
static int etag_form(const char *etag, int *nparts)
{
	size_t i;

	for (i = 0; i < 32; i++)
		if (!((etag[i] >= '0' && etag[i] <= '9') || (etag[i] >= 'a' && etag[i] <= 'f') ||
		      (etag[i] >= 'A' && etag[i] <= 'F')))
			return -1;
	if (!etag[32]) {
		*nparts = 0;
		return 0;
	}
	if (etag[32] != '-' || !etag[33])
		return -1;
	char *end;
	long n = strtol(etag + 33, &end, 10);
	if (*end || n < 1 || n > 10000)
		return -1;
	*nparts = (int)n;
	return 0;
}

int etag_is_digest(const struct bucket_conf *b, const char *etag)
{
	int n;
	if (b && b->sse && strcmp(b->sse, "aws:kms") == 0)
		return 0;
	return etag_form(etag, &n) == 0;
}

/* A part size p makes n parts of size bytes when (n-1)*p < size <= n*p. */
static int makes_parts(long long p, long long size, int n)
{
	return (long long)(n - 1) * p < size && size <= (long long)n * p;
}

static void add_candidate(struct etag_digest *d, long long p)
{
	if (d->ncand >= DIGEST_CANDIDATES || !makes_parts(p, d->size, d->nparts))
		return;
	for (int i = 0; i < d->ncand; i++)
		if (d->cand[i].part_size == p)
			return;
	d->cand[d->ncand++].part_size = p;
}

void etag_digest_free(struct etag_digest *d)
{
	for (int i = 0; i < d->ncand; i++) {
		EVP_MD_CTX_free(d->cand[i].part);
		EVP_MD_CTX_free(d->cand[i].outer);
		d->cand[i].part = d->cand[i].outer = NULL;
	}
	EVP_MD_CTX_free(d->whole);
	d->whole = NULL;
	d->ncand = 0;
}

int etag_digest_init(struct etag_digest *d, const char *etag, long long size, long long part_size)
{
	static const long long common[] = { 5 * MiB,   8 * MiB,   15 * MiB,  16 * MiB,
					    32 * MiB,  64 * MiB,  100 * MiB, 128 * MiB,
					    256 * MiB, 512 * MiB, 1024 * MiB };

	memset(d, 0, sizeof(*d));
	d->size = size;
	if (etag_form(etag, &d->nparts) < 0)
		return -ENOTSUP;
	if (d->nparts == 0) {
		d->whole = EVP_MD_CTX_new();
		if (!d->whole || !EVP_DigestInit_ex(d->whole, EVP_md5(), NULL)) {
			etag_digest_free(d);
			return -ENOMEM;
		}
		return 0;
	}
	add_candidate(d, part_size);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		add_candidate(d, common[i]);
	/* An even split (some tools divide the size by the part count). */
	if (d->nparts > 1)
		add_candidate(d, (size + d->nparts - 1) / d->nparts);
	if (d->ncand == 0)
		return -ENOTSUP;
	for (int i = 0; i < d->ncand; i++) {
		d->cand[i].part = EVP_MD_CTX_new();
		d->cand[i].outer = EVP_MD_CTX_new();
		if (!d->cand[i].part || !d->cand[i].outer ||
		    !EVP_DigestInit_ex(d->cand[i].part, EVP_md5(), NULL) ||
		    !EVP_DigestInit_ex(d->cand[i].outer, EVP_md5(), NULL)) {
			etag_digest_free(d);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Closes candidate c's current part into its outer hash. */
static int close_part(struct etag_digest *d, int c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_DigestFinal_ex(d->cand[c].part, md, &len) || len != 16 ||
	    !EVP_DigestUpdate(d->cand[c].outer, md, 16) ||
	    !EVP_DigestInit_ex(d->cand[c].part, EVP_md5(), NULL))
		return -EIO;
	d->cand[c].in_part = 0;
	return 0;
}

int etag_digest_update(struct etag_digest *d, const void *buf, size_t len)
{
	d->fed += (long long)len;
	if (d->whole)
		return EVP_DigestUpdate(d->whole, buf, len) ? 0 : -EIO;
	for (int c = 0; c < d->ncand; c++) {
		const unsigned char *p = buf;
		size_t left = len;
		while (left > 0) {
			long long room = d->cand[c].part_size - d->cand[c].in_part;
			size_t n = (long long)left < room ? left : (size_t)room;
			if (!EVP_DigestUpdate(d->cand[c].part, p, n))
				return -EIO;
			d->cand[c].in_part += (long long)n;
			p += n;
			left -= n;
			if (d->cand[c].in_part == d->cand[c].part_size && close_part(d, c) < 0)
				return -EIO;
		}
	}
	return 0;
}

int etag_digest_final(struct etag_digest *d, const char *etag, char *got, size_t gotlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[33], want[S3_ETAG_MAX];
	int rc = -EBADMSG;

	if (got && gotlen)
		got[0] = '\0';
	if (d->fed != d->size) {
		if (got)
			snprintf(got, gotlen, "%lld bytes", d->fed);
		etag_digest_free(d);
		return -EBADMSG;
	}
	if (d->whole) {
		if (EVP_DigestFinal_ex(d->whole, md, &len) && len == 16) {
			s3_md5_hex(md, hex);
			rc = strncasecmp(hex, etag, 32) == 0 ? 0 : -EBADMSG;
			if (got)
				snprintf(got, gotlen, "%s", hex);
		}
		etag_digest_free(d);
		return rc;
	}
	for (int c = 0; c < d->ncand && rc; c++) {
		/* The last, partial part (a size of exact parts closed it). */
		if (d->cand[c].in_part > 0 && close_part(d, c) < 0)
			continue;
		if (!EVP_DigestFinal_ex(d->cand[c].outer, md, &len) || len != 16)
			continue;
		s3_md5_hex(md, hex);
		snprintf(want, sizeof(want), "%s-%d", hex, d->nparts);
		if (strcasecmp(want, etag) == 0)
			rc = 0;
		if (got && (c == 0 || rc == 0))
			snprintf(got, gotlen, "%s", want);
	}
	etag_digest_free(d);
	return rc;
}

int verify_object(const struct bucket_conf *b, const struct s3_obj_info *info, long long size,
		  const char *digest, char *msg, size_t msglen)
{
	/* Full-object checksums (x-amz-checksum-crc64nvme/crc32c), once the
	 * S3 client reports them, are compared here before the ETag. */
	if (info->size != size) {
		snprintf(msg, msglen, "S3 holds %lld bytes, the source has %lld", info->size, size);
		return -EBADMSG;
	}
	if (!etag_is_digest(b, info->etag)) {
		snprintf(msg, msglen,
			 "size matches; ETag %s is no MD5 (SSE-KMS/SSE-C): only the "
			 "size could be compared",
			 info->etag);
		return -ENOTSUP;
	}
	if (!digest || strcasecmp(digest, info->etag) != 0) {
		snprintf(msg, msglen, "S3's ETag %s is not the source's digest %s", info->etag,
			 digest ? digest : "(none)");
		return -EBADMSG;
	}
	return 0;
}
