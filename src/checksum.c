/* checksum.c - CRC-64/NVME (table-driven, slicing by 8: Debian's ISA-L
 * 2.30 has no NVMe polynomial), CRC-32C and CRC-32 (ISA-L, with the
 * CPU's CRC instructions), MD5 (OpenSSL), and the GF(2) combine of zlib's
 * crc32_combine, widened to 64 bits. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <isa-l/crc.h>
#include <openssl/evp.h>

#include "checksum.h"

/* CRC-64/NVME: polynomial 0xad93d23594c93659, reflected. */
#define CRC64NVME_POLY_REFL 0x9a6c9329ac4bc9b5ULL
#define CRC32C_POLY_REFL 0x82f63b78ULL
#define CRC32_POLY_REFL 0xedb88320ULL

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init_table(void)
{
	for (int i = 0; i < 256; i++) {
		uint64_t c = (uint64_t)i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC64NVME_POLY_REFL : c >> 1;
		crc64_table[0][i] = c;
	}
	for (int i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc64_table[t][i] = (crc64_table[t - 1][i] >> 8) ^
					    crc64_table[0][crc64_table[t - 1][i] & 0xff];
}

uint64_t checksum_crc64nvme(uint64_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc64_once, crc64_init_table);
	crc = ~crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v = __builtin_bswap64(v);
#endif
		v ^= crc;
		crc = crc64_table[7][v & 0xff] ^ crc64_table[6][(v >> 8) & 0xff] ^
		      crc64_table[5][(v >> 16) & 0xff] ^ crc64_table[4][(v >> 24) & 0xff] ^
		      crc64_table[3][(v >> 32) & 0xff] ^ crc64_table[2][(v >> 40) & 0xff] ^
		      crc64_table[1][(v >> 48) & 0xff] ^ crc64_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc64_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

uint32_t checksum_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* ISA-L's iSCSI CRC neither inverts first nor last; its length is an int. */
	crc = ~crc;
	while (len > 0) {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;
		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return ~crc;
}

uint32_t checksum_crc32(uint32_t crc, const void *buf, size_t len)
{
	return crc32_gzip_refl(crc, buf, len);
}

static uint64_t gf2_times(const uint64_t *mat, uint64_t vec)
{
	uint64_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint64_t *square, const uint64_t *mat, int width)
{
	for (int n = 0; n < width; n++)
		square[n] = gf2_times(mat, mat[n]);
}

uint64_t checksum_crc_combine(enum checksum_alg alg, uint64_t crc_a, uint64_t crc_b, long long len_b)
{
	uint64_t even[64], odd[64], row = 1, poly;
	int width;

	switch (alg) {
	case CK_CRC64NVME:
		poly = CRC64NVME_POLY_REFL, width = 64;
		break;
	case CK_CRC32C:
		poly = CRC32C_POLY_REFL, width = 32;
		break;
	case CK_CRC32:
		poly = CRC32_POLY_REFL, width = 32;
		break;
	default:
		return 0;
	}
	if (len_b <= 0)
		return crc_a;
	/* The operator for one zero bit, then squared to 2, 4, 8... bits:
	 * crc_a is shifted through len_b zero bytes, then crc_b added. */
	odd[0] = poly;
	for (int n = 1; n < width; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd, width);
	gf2_square(odd, even, width);
	do {
		gf2_square(even, odd, width);
		if (len_b & 1)
			crc_a = gf2_times(even, crc_a);
		len_b >>= 1;
		if (!len_b)
			break;
		gf2_square(odd, even, width);
		if (len_b & 1)
			crc_a = gf2_times(odd, crc_a);
		len_b >>= 1;
	} while (len_b);
	return crc_a ^ crc_b;
}

const char *checksum_alg_name(enum checksum_alg alg)
{
	switch (alg) {
	case CK_CRC64NVME:
		return "crc64nvme";
	case CK_CRC32C:
		return "crc32c";
	case CK_CRC32:
		return "crc32";
	case CK_MD5:
		return "md5";
	default:
		return "none";
	}
}

const char *checksum_alg_upper(enum checksum_alg alg)
{
	switch (alg) {
	case CK_CRC64NVME:
		return "CRC64NVME";
	case CK_CRC32C:
		return "CRC32C";
	case CK_CRC32:
		return "CRC32";
	default:
		return NULL;
	}
}

size_t checksum_alg_len(enum checksum_alg alg)
{
	switch (alg) {
	case CK_CRC64NVME:
		return 8;
	case CK_CRC32C:
	case CK_CRC32:
		return 4;
	case CK_MD5:
		return 16;
	default:
		return 0;
	}
}

int checksum_init(struct checksum *ck, enum checksum_alg alg)
{
	memset(ck, 0, sizeof(*ck));
	if (alg == CK_NONE)
		return -EINVAL;
	ck->alg = alg;
	if (alg == CK_MD5) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (!ctx)
			return -ENOMEM;
		if (!EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
			EVP_MD_CTX_free(ctx);
			return -ENOMEM;
		}
		ck->md5 = ctx;
	}
	return 0;
}

int checksum_update(struct checksum *ck, const void *buf, size_t len)
{
	switch (ck->alg) {
	case CK_CRC64NVME:
		ck->crc = checksum_crc64nvme(ck->crc, buf, len);
		return 0;
	case CK_CRC32C:
		ck->crc = checksum_crc32c((uint32_t)ck->crc, buf, len);
		return 0;
	case CK_CRC32:
		ck->crc = checksum_crc32((uint32_t)ck->crc, buf, len);
		return 0;
	case CK_MD5:
		return ck->md5 && EVP_DigestUpdate(ck->md5, buf, len) ? 0 : -EIO;
	default:
		return -EINVAL;
	}
}

int checksum_final(struct checksum *ck, unsigned char out[16])
{
	unsigned int mdlen = 0;
	int rc = 0;

	if (ck->alg == CK_MD5) {
		if (!ck->md5 || !EVP_DigestFinal_ex(ck->md5, out, &mdlen) || mdlen != 16)
			rc = -EIO;
		EVP_MD_CTX_free(ck->md5);
		ck->md5 = NULL;
		return rc;
	}
	if (ck->alg == CK_NONE)
		return -EINVAL;
	checksum_crc_bytes(ck->alg, ck->crc, out);
	return 0;
}

void checksum_free(struct checksum *ck)
{
	if (ck->md5)
		EVP_MD_CTX_free(ck->md5);
	ck->md5 = NULL;
}

void checksum_crc_bytes(enum checksum_alg alg, uint64_t crc, unsigned char out[8])
{
	size_t n = checksum_alg_len(alg);

	for (size_t i = 0; i < n && i < 8; i++)
		out[i] = (unsigned char)(crc >> (8 * (n - 1 - i)));
}

void checksum_base64(const unsigned char *raw, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, raw, (int)len);
}

int checksum_from_base64(enum checksum_alg alg, const char *b64, unsigned char raw[16])
{
	size_t n = checksum_alg_len(alg), blen = strlen(b64), want = 4 * ((n + 2) / 3);
	unsigned char tmp[24];

	if (!n || blen != want || blen > 24 ||
	    EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)blen) != (int)(3 * (blen / 4)))
		return -EINVAL;
	memcpy(raw, tmp, n);
	return 0;
}
