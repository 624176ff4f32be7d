/* integrity.h - what an object can be verified against, and what an
 * upload carries: the policy between the checksums (checksum.h), what S3
 * promises of ETags, and what a server was seen to keep.
 *
 * Promises: an expectation is only ever taken from what S3 guarantees: a
 * FULL_OBJECT x-amz-checksum-* (CRC64NVME, CRC32C, CRC32) the server
 * returned; an ETag of MD5 form on an object neither SSE-KMS nor SSE-C
 * encrypted (the MD5 of a single-part upload); an ETag of S3's multipart
 * form "<md5>-N" whose part size its writer recorded (our
 * x-amz-meta-s3csfs-part-size, fitting N); nothing else (INTEGRITY_NONE:
 * the object is read unverified). Pure functions but integrity_check_fd
 * (reads the file) and integrity_describe (asks the client's state). */
#ifndef S3CSFS_INTEGRITY_H
#define S3CSFS_INTEGRITY_H

#include <stddef.h>

#include "checksum.h"
#include "conf.h"
#include "s3_client.h"

/* The metadata our multipart uploads carry: their part size, in bytes. */
#define INTEGRITY_META_PART_SIZE "s3csfs-part-size"

enum integrity_kind {
	INTEGRITY_UNKNOWN = 0, /* nothing seen of the object yet */
	INTEGRITY_NONE,        /* nothing to check against */
	INTEGRITY_CRC,         /* full-object CRC (alg) */
	INTEGRITY_MD5,         /* MD5 of the whole object (a single-part ETag) */
	INTEGRITY_MD5_PARTS,   /* MD5 of the MD5s of nparts parts of part_size */
};

struct integrity_expect {
	enum integrity_kind kind;
	enum checksum_alg alg;
	unsigned char digest[16];
	long long part_size;
	int nparts;
};

/* From an answer about the object (size: the whole object's). */
void integrity_expect_from(const struct s3_obj_info *info, long long size,
			   struct integrity_expect *out);
/* "CRC64NVME", "MD5", "MD5 of 3 parts", "nothing". */
const char *integrity_expect_name(const struct integrity_expect *x, char *buf, size_t len);
/* The same check over bytes given in order (a reader that streams). */
struct integrity_stream {
	struct integrity_expect x;
	struct checksum whole, part;
	long long done;
};
int integrity_stream_init(struct integrity_stream *st, const struct integrity_expect *x);
int integrity_stream_update(struct integrity_stream *st, const void *buf, size_t len);
/* 0 the bytes match (or kind NONE), -EBADMSG not; frees st either way. */
int integrity_stream_final(struct integrity_stream *st);
void integrity_stream_free(struct integrity_stream *st);

/* Checks [0, size) of fd: 0 it matches (or kind NONE), -EBADMSG it does
 * not, -errno a read failed. */
int integrity_check_fd(int fd, long long size, const struct integrity_expect *x);

/* The flexible checksum uploads to b carry (CK_NONE: Content-MD5 only):
 * crc64nvme/crc32c as configured; auto: CRC64NVME unless the bucket's
 * server was seen to ignore flexible checksums. */
enum checksum_alg integrity_upload_alg(const struct bucket_conf *b);

/* out = the alg checksum of buf (CK_NONE: none), for a PutObject's
 * s3_put_opts.checksum: a probe PUT sent with it tells the client whether
 * the server keeps flexible checksums (s3_client_checksums). */
void integrity_checksum_of(enum checksum_alg alg, const void *buf, size_t len,
			   struct s3_checksum *out);

/* One line for `s3csfs check` and the mount log: what reads of objects
 * in b are verified with, given what was seen of its server so far (an
 * upload to it tells whether it keeps flexible checksums). */
const char *integrity_describe(const struct bucket_conf *b, char *buf, size_t len);

#endif
