/* sigv4.h - AWS Signature Version 4 for S3, on OpenSSL.
 *
 * Promises: pure functions (no I/O, no globals, thread-safe); output written
 * into caller buffers and always NUL-terminated; -ENAMETOOLONG (or -EINVAL
 * for malformed input) instead of overflowing. */
#ifndef S3CSFS_SIGV4_H
#define S3CSFS_SIGV4_H

#include <stddef.h>

#define SIGV4_SHA256_HEX_LEN 64
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string, the payload hash of every body-less request. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
	const char *name;  /* any case; canonicalised to lower case */
	const char *value; /* leading/trailing blanks trimmed, inner runs folded */
};

struct sigv4_request {
	const char *method; /* "GET", "PUT", ... */
	/* The URI path as sent on the wire, already encoded with
	 * sigv4_uri_encode(..., keep_slash = 1), e.g. "/bucket/a%20b.bin".
	 * S3 does not normalise it: it is used as the canonical URI as is. */
	const char *path;
	/* The query string as sent, without '?', each name and value already
	 * encoded with sigv4_uri_encode(..., keep_slash = 0); NULL or "" if
	 * none. Bare flags ("uploads") are canonicalised to "uploads=". Pairs
	 * are sorted by name, then value. */
	const char *query;
	/* Headers to sign. Must include host and x-amz-date; S3 also requires
	 * x-amz-content-sha256. Order does not matter; names must be unique. */
	const struct sigv4_header *headers;
	size_t nheaders;
	/* Hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD. */
	const char *payload_hash;
};

struct sigv4_credentials {
	const char *access_key;
	const char *secret_key;
	const char *region;  /* e.g. "us-east-1" */
	const char *service; /* "s3" */
};

/* RFC 3986 unreserved characters pass through; every other byte becomes
 * %XX (upper-case hex); '/' is kept when keep_slash. Returns length or
 * -ENAMETOOLONG if out (of outlen bytes, NUL included) is too small. */
int sigv4_uri_encode(const char *in, int keep_slash, char *out, size_t outlen);

/* The value of one hex digit, -1 if c is none (for the decoders). */
int sigv4_hex_value(char c);

/* Lower-case hex SHA-256 of data into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_SHA256_HEX_LEN + 1]);

/* amz_date is "YYYYMMDDTHHMMSSZ"; from a time_t with sigv4_format_date. */
void sigv4_format_date(long long epoch_seconds, char out[17]);

/* The canonical request (exposed for tests and debug logs; it holds no
 * secret). Returns length, or -errno. */
int sigv4_canonical_request(const struct sigv4_request *req, char *out, size_t outlen);

/* The string to sign for the given canonical request. */
int sigv4_string_to_sign(const char *canonical_request, const char *amz_date, const char *region,
			 const char *service, char *out, size_t outlen);

/* The full Authorization header value:
 * "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
 *  SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=<hex>"
 * (one line, ", " between parts). The signature alone (hex) is also copied
 * to sig_out[65] when sig_out is not NULL. Returns length or -errno. */
int sigv4_authorization(const struct sigv4_request *req, const char *amz_date,
			const struct sigv4_credentials *cred, char *out, size_t outlen,
			char *sig_out);

/* A presigned (query-signed) request, as a URL carries it. */
#define SIGV4_PRESIGN_MIN_S 1L
#define SIGV4_PRESIGN_MAX_S 604800L /* 7 days: S3's limit */
struct sigv4_presign_request {
	const char *method; /* "GET" */
	const char *host;   /* as sent in Host: "bucket.s3.amazonaws.com", "127.0.0.1:7480" */
	const char *path;   /* encoded as for sigv4_request.path */
	/* Further pairs to sign into the URL (response-content-type=...),
	 * each name and value already encoded; NULL or "" if none. */
	const char *extra_query;
	long long now;             /* epoch seconds the URL is signed at */
	long expires_s;            /* SIGV4_PRESIGN_MIN_S .. SIGV4_PRESIGN_MAX_S */
	const char *session_token; /* NULL or "": none */
};

/* The query string (without '?') of a presigned URL: extra_query, then
 * X-Amz-Algorithm, X-Amz-Credential (access key id and scope),
 * X-Amz-Date, X-Amz-Expires, X-Amz-Security-Token (only with a session
 * token), X-Amz-SignedHeaders=host and, last, X-Amz-Signature; the payload
 * is UNSIGNED-PAYLOAD, as S3 wants for presigned URLs. The secret key
 * never appears in it. Returns length, -EINVAL for malformed input or an
 * expiry out of range, -ENAMETOOLONG if out is too small. */
int sigv4_presign(const struct sigv4_presign_request *p, const struct sigv4_credentials *cred,
		  char *out, size_t outlen);

#endif
