/* digest.h - whether bytes are the object S3 reports: the one
 * verification step of migrate, audit --verify and the fallback upload.
 *
 * Promises: bytes are fed in order, in any chunk sizes, and never kept;
 * an ETag of the multipart form ("<md5>-N") is checked against the MD5 of
 * part MD5s for every part size that could have made N parts of this size
 * (the configured part_size first, then 5 MiB .. 5 GiB powers of two and
 * the common 5/8/15/100 MiB), so one pass answers for all of them;
 * verify_object is where full-object checksums (CRC64NVME, CRC32C) will
 * be compared first once the S3 client reports them. */
#ifndef S3CSFS_DIGEST_H
#define S3CSFS_DIGEST_H

#include "conf.h"
#include "s3_client.h"

#define DIGEST_CANDIDATES 12

struct etag_digest {
	long long size; /* the bytes expected in all */
	long long fed;
	int nparts; /* N of "<md5>-N"; 0: a single-part ETag */
	int ncand;
	struct {
		long long part_size;
		long long in_part; /* bytes of the current part hashed */
		void *part;        /* EVP_MD_CTX of the current part */
		void *outer;       /* EVP_MD_CTX of the part MD5s */
	} cand[DIGEST_CANDIDATES];
	void *whole; /* EVP_MD_CTX of all bytes (single-part ETags) */
};

/* For bytes that should be the object whose ETag and size are given
 * (part_size: the configuration's, tried first). Returns 0, -ENOTSUP
 * when the ETag is no digest of the bytes (not hex, or no part size can
 * make its part count), or -ENOMEM. */
int etag_digest_init(struct etag_digest *d, const char *etag, long long size, long long part_size);
int etag_digest_update(struct etag_digest *d, const void *buf, size_t len);
/* 0: the bytes fed are the object; -EBADMSG: they are not (or their
 * count is not size), and got (when given) has the ETag the bytes make
 * (with the first part size tried). Frees what init took either way. */
int etag_digest_final(struct etag_digest *d, const char *etag, char *got, size_t gotlen);
void etag_digest_free(struct etag_digest *d);

/* Does what S3 reports (info: size, ETag) match the source, of size bytes
 * and digest (the ETag S3 gives these bytes: MD5 hex, or MD5 of part
 * MD5s "-N", as upload_digest computes it)? 0 yes; -EBADMSG no (why in
 * msg); -ENOTSUP: the bucket's ETags are not digests (SSE-KMS, SSE-C):
 * only the size could be compared, and it matched. */
int verify_object(const struct bucket_conf *b, const struct s3_obj_info *info, long long size,
		  const char *digest, char *msg, size_t msglen);

/* Whether an ETag can be a digest of the bytes under bucket b's settings
 * (not under SSE-KMS, hex MD5 with an optional "-N"). */
int etag_is_digest(const struct bucket_conf *b, const char *etag);

#endif
