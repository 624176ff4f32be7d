/* conf.h - the configuration file and mount options.
 *
 * Promises: config_load reads the file once, with the INI syntax of
 * s3csfs.conf(5) (iniparser 4.1's, which read it before), and either fills
 * a whole, validated struct config or returns -1 with a one-line message in
 * err naming the file, the line or the section and key, and the fix; it
 * never exits and never logs a secret; unknown sections and keys are
 * refused (a typo must not silently fall back to a default); every string
 * in the struct is owned by it (config_free). */
#ifndef S3CSFS_CONF_H
#define S3CSFS_CONF_H

#include <stddef.h>

enum upload_mode { UPLOAD_SYNC = 0, UPLOAD_ASYNC };
enum key_layout { KEY_LAYOUT_DATE = 0, KEY_LAYOUT_FLAT };
enum s3_profile { PROFILE_ONPREM = 0, PROFILE_AWS };
/* What uploads carry besides Content-MD5 (x-amz-checksum-*): auto is
 * CRC64NVME where the server keeps flexible checksums, MD5 alone where not. */
enum checksum_mode { CHECKSUM_AUTO = 0, CHECKSUM_CRC64NVME, CHECKSUM_CRC32C, CHECKSUM_MD5 };

/* Connection settings: [s3] holds the defaults, a [bucket:NAME] section may
 * override any of them. NULL / -1 mean "not set here". */
struct s3_conn_conf {
	char *endpoint;   /* onprem: required; aws: https://s3.<region>.amazonaws.com */
	char *region;     /* signing region; default us-east-1 */
	int path_style;   /* -1: by profile (onprem 1, aws 0) */
	char *access_key; /* config-file credentials, NULL if absent */
	char *secret_key;
	char *session_token;
	char *ca_bundle;
	int insecure;       /* -1 unset, 0, 1 */
	char *aws_profile;  /* aws_profile = NAME: that profile is the credentials source */
	char *role_arn;     /* assumed with the chain's credentials; NULL: none */
	char *proxy;        /* http(s)://HOST:PORT or "none"; NULL: the environment's */
	char *sts_endpoint; /* NULL: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, by profile */
};

struct s3_client; /* runtime, from s3_client.h */

/* What O_EXCL means where the server ignores If-None-Match: * (see
 * preflight.h): best_effort: a HEAD before the PUT (a create by another
 * host between the two is not seen); strict: the mount is refused. */
enum exclusive_create { EXCL_BEST_EFFORT = 0, EXCL_STRICT };

struct bucket_conf {
	char *id;   /* NAME of [bucket:NAME] */
	char *name; /* the S3 bucket */
	int is_default;
	char **paths; /* fnmatch globs over the mount path; a trailing "/" "**" takes a whole tree */
	size_t npaths;
	int from_date;    /* YYYYMMDD of the date partition, inclusive; 0: unbounded */
	int until_date;   /* YYYYMMDD, exclusive; 0: unbounded */
	char *key_prefix; /* "" if none; stored with a trailing '/' if non-empty */
	enum key_layout key_layout;
	char *storage_class; /* NULL: the server's default */
	char *sse;           /* NULL (none), "AES256" or "aws:kms" */
	char *sse_kms_key_id;
	char *tags;                  /* "k=v&k2=v2" URL-encoded, NULL if none */
	char *on_delete;             /* NULL: delete; else "tag:KEY=VALUE" */
	enum checksum_mode checksum; /* the section's, else [s3]'s; default auto */
	/* Archive tier and Object Lock (s3csfs.conf(5), s3csfs(8) archive,
	 * restore, hold). */
	char *archive_storage_class; /* GLACIER, DEEP_ARCHIVE, GLACIER_IR; NULL: none */
	char *restore_on_read;       /* NULL (off), "Standard" or "Bulk" */
	char *restore_tier;          /* s3csfs restore's default tier; default Standard */
	int restore_days;            /* days a restored copy is kept; default 1 */
	char *object_lock;           /* NULL, "GOVERNANCE" or "COMPLIANCE" */
	long long retention_s;       /* with object_lock: seconds; default 2192 days */
	struct s3_conn_conf conn;    /* effective: [s3] merged with this section */
	enum exclusive_create exclusive_create; /* default best_effort */
	struct s3_client *client;               /* set by the daemon after loading */
	int cond_write; /* enum cond_write (preflight.h), set by its probe */
};

struct config {
	char *path; /* the file loaded */
	enum s3_profile profile;
	char *cache_dir;          /* default /var/cache/s3csfs */
	long long cache_max_size; /* bytes; default 10 GiB */
	long long part_size;      /* bytes; default 16 MiB; 5 MiB..5 GiB */
	int upload_threads;       /* parallel transfers; default 8 */
	int max_queued_uploads;   /* async: closed files waiting to be stored before
				  * close() waits for one; default 1024 */
	enum upload_mode upload;  /* default sync */
	int journal_fsync;        /* async journal fsync'd; default 1 */
	int log_level;            /* enum log_level; default info */
	int reaper_enabled;       /* default 1 */
	long reaper_interval_s;   /* default 3600 */
	long reaper_max_age_s;    /* default 86400 */
	double attr_timeout;      /* seconds the kernel may cache attributes; default 60 */
	double negative_timeout;  /* seconds a "does not exist" answer is trusted; default 1 */
	double dir_cache_timeout; /* seconds a listing is answered from memory; default 120 */
	int max_nodes;            /* names the daemon remembers (clean, unused ones leave the
				  * table, least recently used first); default 32768 */
	double empty_file_delay;  /* seconds a new empty file waits before it is stored, so a
				  * reopen for writing supersedes it for free; default 2 */
	long long read_ahead;     /* bytes fetched ahead of sequential reads; default 32 MiB */
	long long write_ahead;    /* bytes a writer may be ahead of S3; 0: no limit;
				  * default part_size * upload_threads */
	int max_retries;          /* default 8 */
	long retry_max_ms;        /* default 60000 */
	long connect_timeout_ms;  /* default 5000 */
	long mount_timeout_ms;    /* the mount's wait for S3 to answer; default 10000 */
	long direct_url_expiry_s; /* presigned URLs' default life; default 300 */
	char *fallback_dir;       /* read-through during cutover; NULL: none */
	int fallback_upload;      /* fallback files read are uploaded; default 0 */
	double price_put;         /* USD per 1000 PUT/COPY/POST/LIST; default 0.005 */
	double price_get;         /* USD per 1000 GET/HEAD/other; default 0.0004 */
	char *metrics_host;       /* metrics_listen's numeric address (no brackets); NULL: off */
	int metrics_port;         /* metrics_listen's port, 1..65535 */
	int metrics_allow_remote; /* a metrics_host other than loopback is allowed; default 0 */
	struct s3_conn_conf s3;   /* [s3] as written */
	int use_fips;      /* profile = aws: FIPS endpoints (s3-fips., sts-fips.); default 0 */
	int use_dualstack; /* profile = aws: IPv4+IPv6 endpoints (s3.dualstack.); default 0 */
	struct bucket_conf *buckets;
	size_t nbuckets;
	int default_bucket; /* index into buckets */
};

/* Loads and validates path. Also refuses a file holding a secret_key that
 * group or others can read. Refused with the line: a syntax error, a key
 * outside a section, a section or key written twice, a NUL byte, a line
 * over 1022 characters (continued lines included), a '\'-continued line
 * the file ends in, more than 1024 sections or 256 keys in one. Memory held
 * while reading is bounded by those limits and wiped (it held secrets).
 * Returns 0, or -1 with err filled (truncated to errlen; err may be NULL)
 * and *out zeroed. */
int config_load(const char *path, struct config *out, char *err, size_t errlen);
/* Frees what config_load filled and zeroes *cfg (NULL, or twice: harmless);
 * credentials are wiped before they are freed. */
void config_free(struct config *cfg);

/* "8M", "8MiB", "10G", "4096" (bytes; K/M/G/T are powers of 1024). */
int config_parse_size(const char *s, long long *out);
/* "500ms", "30", "30s", "5m", "24h", "7d" -> milliseconds. */
int config_parse_duration_ms(const char *s, long long *out);
/* "true/false/yes/no/on/off/1/0" -> 1/0, -1 if neither. */
int config_parse_bool(const char *s);

#endif
