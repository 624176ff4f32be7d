/* s3_xml.h - parse S3 XML responses and build request bodies, on libxml2.
 *
 * Promises: parsers never trust the input: any size, malformed or hostile
 * XML (no network entities, no DTD loading, bounded depth via libxml2's
 * defaults, XML_PARSE_NONET) gives -EPROTO, never a crash; strings longer
 * than their field are rejected with -EPROTO (keys) or cut (messages);
 * results own their memory and are released with the matching _free.
 * Element names are matched by local name, whatever the namespace. */
#ifndef S3CSFS_S3_XML_H
#define S3CSFS_S3_XML_H

#include <stddef.h>
#include <time.h>

#define S3_KEY_MAX 1024 /* S3's own limit on key length in bytes */
#define S3_ETAG_MAX 128
#define S3_UPLOAD_ID_MAX 1024
#define S3_TOKEN_MAX 1024 /* continuation tokens, markers */

/* <Error><Code/><Message/><RequestId/><Resource/></Error> */
struct s3_error {
	char code[64];
	char message[256];
	char request_id[128];
};
/* Returns 0 if body is an <Error> document (fields filled, cut to size),
 * -ENOENT if it is well-formed XML whose root is not Error, -EPROTO if not
 * XML at all. */
int s3xml_parse_error(const char *body, size_t len, struct s3_error *out);

struct s3_object_entry {
	char *key; /* malloc'd, <= S3_KEY_MAX bytes */
	long long size;
	char etag[S3_ETAG_MAX]; /* quotes stripped */
	time_t last_modified;   /* parsed from ISO 8601 "2009-10-12T17:50:30.000Z" */
	char storage_class[32];
};

/* ListObjectsV2 result (<ListBucketResult>). */
struct s3_list_result {
	struct s3_object_entry *objects;
	size_t nobjects;
	char **prefixes; /* CommonPrefixes/Prefix, malloc'd each */
	size_t nprefixes;
	int is_truncated;
	char next_token[S3_TOKEN_MAX]; /* NextContinuationToken, "" if none */
};
int s3xml_parse_list_objects(const char *body, size_t len, struct s3_list_result *out);
void s3xml_list_result_free(struct s3_list_result *r);

/* <InitiateMultipartUploadResult><UploadId/> */
int s3xml_parse_initiate_mpu(const char *body, size_t len, char *upload_id, size_t idlen);

/* <CompleteMultipartUploadResult><ETag/> -> 0 with etag (quotes stripped;
 * "" when the element is empty or absent, as Ceph RGW sends it);
 * an <Error> document (S3 sends one with status 200 when completion fails
 * late) -> -EIO with *err filled; anything else -> -EPROTO. Same contract
 * for <CopyObjectResult> via s3xml_parse_copy_result. */
int s3xml_parse_complete_mpu(const char *body, size_t len, char *etag, size_t etaglen,
			     struct s3_error *err);
int s3xml_parse_copy_result(const char *body, size_t len, char *etag, size_t etaglen,
			    struct s3_error *err);

struct s3_mpu_entry {
	char *key;       /* malloc'd */
	char *upload_id; /* malloc'd */
	time_t initiated;
};
/* <ListMultipartUploadsResult> */
struct s3_mpu_list {
	struct s3_mpu_entry *uploads;
	size_t nuploads;
	int is_truncated;
	char next_key_marker[S3_KEY_MAX + 1];
	char next_upload_id_marker[S3_UPLOAD_ID_MAX];
};
int s3xml_parse_list_mpu(const char *body, size_t len, struct s3_mpu_list *out);
void s3xml_mpu_list_free(struct s3_mpu_list *l);

struct s3_part {
	int number;             /* 1..10000 */
	char etag[S3_ETAG_MAX]; /* without quotes */
	char checksum[28];      /* base64 of the part's flexible checksum, "" if none */
};
/* <CompleteMultipartUpload><Part><PartNumber/><ETag>"..."</ETag></Part>...
 * with the ETags escaped. Parts must be given in strictly ascending order
 * of numbers 1..10000. Returns a malloc'd NUL-terminated string (length
 * in *len when len is given), or NULL with errno EINVAL (parts NULL,
 * numbers out of order or range) or ENOMEM. */
char *s3xml_build_complete_mpu(const struct s3_part *parts, size_t nparts, size_t *len);
/* The same, with <Checksum{ALG}>parts[i].checksum</Checksum{ALG}> in each
 * part that has one (alg_upper "CRC64NVME", ...; NULL or "": none);
 * errno EINVAL also for an alg_upper over 16 characters or with others
 * than A-Z and 0-9 (it becomes part of an element name). */
char *s3xml_build_complete_mpu_ck(const struct s3_part *parts, size_t nparts, const char *alg_upper,
				  size_t *len);

/* Object tags (GetObjectTagging / PutObjectTagging). S3 allows 10 per
 * object, keys up to 128 and values up to 256 characters. */
#define S3_MAX_TAGS 10
struct s3_tag {
	char key[129];
	char value[257];
};

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...: into tags[0..max), *n
 * how many; an empty body (Ceph RGW 16, untagged) counts as none; more
 * than max tags, a key or value too long, or a malformed body: -EPROTO. */
int s3xml_parse_tagging(const char *body, size_t len, struct s3_tag *tags, size_t max, size_t *n);
/* The PutObjectTagging body for tags[0..n), escaped; malloc'd (length in
 * *len when len is given), NULL with errno EINVAL (tags NULL with n > 0)
 * or ENOMEM. */
char *s3xml_build_tagging(const struct s3_tag *tags, size_t n, size_t *len);

/* Small request bodies, written into the caller's buf[0..bufsz) and
 * NUL-terminated; each returns the body's length, or -EINVAL (buf left
 * unspecified) when an argument is out of range or the body does not fit
 * (no value that S3 accepts is that long). No allocation. */

/* <CreateBucketConfiguration><LocationConstraint>region (escaped);
 * -EINVAL also for a NULL or empty region. */
int s3xml_build_create_bucket(const char *region, char *buf, size_t bufsz);
/* <RestoreRequest><Days>days</Days><GlacierJobParameters><Tier>tier...;
 * -EINVAL also for days < 1 and a NULL tier or one with '<', '>' or '&'
 * (S3's tiers are plain words). */
int s3xml_build_restore(int days, const char *tier, char *buf, size_t bufsz);
/* <LegalHold><Status>ON or OFF (on != 0: ON). */
int s3xml_build_legal_hold(int on, char *buf, size_t bufsz);
/* <Retention><Mode>mode</Mode><RetainUntilDate>until...; -EINVAL also
 * for a NULL mode or until, or one with '<', '>' or '&'. */
int s3xml_build_retention(const char *mode, const char *until, char *buf, size_t bufsz);

/* The one ISO 8601 parser of the project (listings, STS, metadata
 * services, credential_process, SSO, Object Lock headers). Accepts
 * exactly "YYYY-MM-DDTHH:MM:SS", then optionally '.' and one or more
 * digits (ignored: whole seconds), then "Z" or an offset "+HH:MM" /
 * "-HH:MM" (HH <= 23, MM <= 59), and nothing after. Returns the instant
 * as seconds since the epoch (UTC), or -1 for NULL, any other shape, an
 * impossible date or time (month 13, 30 February, hour 24, second 60), a
 * year before 1970, or an instant before the epoch. Reads no further
 * than the first mismatch; locale-independent; reentrant; errno untouched. */
time_t s3xml_parse_iso8601(const char *s);

/* GetObjectLockConfiguration's answer. */
struct s3_lock_config {
	int enabled;   /* ObjectLockEnabled: Enabled */
	char mode[16]; /* the default retention's GOVERNANCE/COMPLIANCE, "" if none */
	int days, years;
};
/* 0, -EPROTO (not that document, over 1 MiB), -ENOMEM. */
int s3xml_parse_object_lock_config(const char *body, size_t len, struct s3_lock_config *out);

/* STS answers (AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity;
 * namespaced or not). Field sizes are those of struct s3_creds. */
struct s3xml_sts_creds {
	char access_key[128];
	char secret_key[128];
	char session_token[4096];
	time_t expires; /* Expiration, parsed by s3xml_parse_iso8601 */
};
/* <{action}Response><{action}Result><Credentials> with AccessKeyId,
 * SecretAccessKey, SessionToken and Expiration: 0 with *out filled; every
 * one present, each fitting its field, the two keys non-empty, no CR or LF
 * in the secrets, a valid Expiration, else -EPROTO (*out zeroed); -ENOMEM.
 * action is at most 56 characters. */
int s3xml_parse_sts_credentials(const char *body, size_t len, const char *action,
				struct s3xml_sts_creds *out);
/* <GetCallerIdentityResponse><GetCallerIdentityResult><Arn/><Account/>:
 * 0 (account "" when absent or too long), -EPROTO (no Arn, or longer than
 * arnlen - 1), -ENOMEM. */
int s3xml_parse_sts_identity(const char *body, size_t len, char *arn, size_t arnlen, char *account,
			     size_t acclen);
/* An STS error, <ErrorResponse><Error><Code/><Message/>... or a bare
 * <Error>: 0 with *out filled (cut to size), -ENOENT (XML, not an error),
 * -EPROTO (not XML), -ENOMEM. */
int s3xml_parse_sts_error(const char *body, size_t len, struct s3_error *out);

#endif
