/* checksum.h - the checksums S3 uses to verify objects: CRC-64/NVME,
 * CRC-32C, CRC-32 and MD5, streaming, plus a combine step for the CRCs.
 *
 * Promises: every function is pure (no I/O, no allocation but the MD5
 * context inside struct checksum, freed by checksum_free) and
 * thread-safe; a CRC of A||B can be had from crc(A), crc(B) and |B|
 * (checksum_crc_combine), so parts hashed apart give the whole object's
 * full-object CRC without reading anything again; values print as S3
 * writes them in x-amz-checksum-* headers: base64 of the big-endian
 * CRC, base64 of the 16 MD5 bytes. */
#ifndef S3CSFS_CHECKSUM_H
#define S3CSFS_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

enum checksum_alg {
	CK_NONE = 0,
	CK_CRC64NVME, /* S3's default since December 2024 */
	CK_CRC32C,
	CK_CRC32,
	CK_MD5,
};

/* "crc64nvme", "crc32c", "crc32", "md5"; "none". */
const char *checksum_alg_name(enum checksum_alg alg);
/* The header suffix as S3 spells the algorithm in XML and
 * x-amz-checksum-algorithm: "CRC64NVME", "CRC32C", "CRC32"; NULL for MD5/none. */
const char *checksum_alg_upper(enum checksum_alg alg);
/* Length of the raw digest: 8, 4, 4, 16; 0 for none. */
size_t checksum_alg_len(enum checksum_alg alg);

/* Raw CRCs, with S3's parameters (reflected, init and xorout all ones):
 * crc = checksum_crcXX(crc, buf, len) from crc = 0 continues a stream. */
uint64_t checksum_crc64nvme(uint64_t crc, const void *buf, size_t len);
uint32_t checksum_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t checksum_crc32(uint32_t crc, const void *buf, size_t len);
/* crc(A||B) from crc(A), crc(B) and len_b = |B| (alg a CRC). */
uint64_t checksum_crc_combine(enum checksum_alg alg, uint64_t crc_a, uint64_t crc_b,
			      long long len_b);

/* A streaming digest of one algorithm. */
struct checksum {
	enum checksum_alg alg;
	uint64_t crc;
	void *md5; /* EVP_MD_CTX, CK_MD5 only */
};

/* Returns 0, -EINVAL (alg none) or -ENOMEM. */
int checksum_init(struct checksum *ck, enum checksum_alg alg);
/* Returns 0 or -EIO (the MD5 engine failed). */
int checksum_update(struct checksum *ck, const void *buf, size_t len);
/* The raw digest into out (checksum_alg_len bytes); ends the stream
 * (checksum_init again to reuse). Returns 0 or -EIO. */
int checksum_final(struct checksum *ck, unsigned char out[16]);
void checksum_free(struct checksum *ck);

/* A CRC value as raw big-endian bytes (what base64 is taken of). */
void checksum_crc_bytes(enum checksum_alg alg, uint64_t crc, unsigned char out[8]);
/* base64 of len raw bytes into out (at least 4 * ceil(len / 3) + 1). */
void checksum_base64(const unsigned char *raw, size_t len, char *out);
/* Decodes S3's base64 of an alg digest into raw; -EINVAL if it is not one. */
int checksum_from_base64(enum checksum_alg alg, const char *b64, unsigned char raw[16]);

#define CHECKSUM_B64_MAX 25 /* base64 of 16 bytes + NUL */

#endif
