/* creds.c - the credentials chain and the per-bucket S3 clients. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iniparser.h>

#include "creds.h"
#include "imds.h"
#include "log.h"

static int set_static(struct s3_creds_provider *p, const char *ak, const char *sk,
		      const char *token)
{
	struct s3_creds *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (strlen(ak) >= sizeof(c->access_key) || strlen(sk) >= sizeof(c->secret_key) ||
	    (token && strlen(token) >= sizeof(c->session_token))) {
		free(c);
		return -E2BIG;
	}
	strcpy(c->access_key, ak);
	strcpy(c->secret_key, sk);
	if (token)
		strcpy(c->session_token, token);
	p->get = s3_creds_static_get;
	p->ctx = c;
	return 0;
}

static int from_shared_file(struct s3_creds_provider *p, char *desc, size_t desclen)
{
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = getenv("AWS_PROFILE");
	char path[4096], key[300];
	dictionary *d;
	int rc = -ENOKEY;

	if (!file || !*file) {
		const char *home = getenv("HOME");
		if (!home)
			return -ENOKEY;
		snprintf(path, sizeof(path), "%s/.aws/credentials", home);
		file = path;
	}
	if (!profile || !*profile)
		profile = "default";
	if (access(file, R_OK) != 0)
		return -ENOKEY;
	d = iniparser_load(file);
	if (!d)
		return -ENOKEY;
	snprintf(key, sizeof(key), "%s:aws_access_key_id", profile);
	const char *ak = iniparser_getstring(d, key, NULL);
	snprintf(key, sizeof(key), "%s:aws_secret_access_key", profile);
	const char *sk = iniparser_getstring(d, key, NULL);
	snprintf(key, sizeof(key), "%s:aws_session_token", profile);
	const char *tok = iniparser_getstring(d, key, NULL);
	if (ak && sk && *ak && *sk) {
		rc = set_static(p, ak, sk, tok);
		snprintf(desc, desclen, "shared credentials file %s, profile %s", file, profile);
	}
	iniparser_freedict(d);
	return rc;
}

int creds_resolve(const struct s3_conn_conf *conn, struct s3_creds_provider *p, char *desc,
		  size_t desclen, char *err, size_t errlen)
{
	const char *ak, *sk;
	int rc;

	memset(p, 0, sizeof(*p));
	if (conn->access_key && conn->secret_key) {
		snprintf(desc, desclen, "configuration file");
		return set_static(p, conn->access_key, conn->secret_key, conn->session_token);
	}
	ak = getenv("AWS_ACCESS_KEY_ID");
	sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && sk && *ak && *sk) {
		snprintf(desc, desclen, "environment");
		return set_static(p, ak, sk, getenv("AWS_SESSION_TOKEN"));
	}
	rc = from_shared_file(p, desc, desclen);
	if (rc != -ENOKEY)
		return rc;
	if (imds_disabled()) {
		snprintf(err, errlen,
			 "no credentials: none in the config file, none in AWS_ACCESS_KEY_ID/"
			 "AWS_SECRET_ACCESS_KEY, none in the shared credentials file, and instance "
			 "metadata is off (AWS_EC2_METADATA_DISABLED)");
		return -ENOKEY;
	}
	/* Last: an EC2 instance's role. Off EC2 this costs at most a short
	 * connection timeout, once, at start. */
	char ierr[400];
	struct imds *m = imds_new(desc, desclen, ierr, sizeof(ierr));
	if (m) {
		p->get = imds_get;
		p->ctx = m;
		return 0;
	}
	snprintf(err, errlen,
		 "no credentials: none in the config file, none in AWS_ACCESS_KEY_ID/"
		 "AWS_SECRET_ACCESS_KEY, none in the shared credentials file, none from instance "
		 "metadata (%s)",
		 ierr);
	return -ENOKEY;
}

void creds_release(struct s3_creds_provider *p)
{
	if (p->ctx && p->get == imds_get) {
		imds_free(p->ctx);
	} else if (p->ctx) {
		explicit_bzero(p->ctx, sizeof(struct s3_creds));
		free(p->ctx);
	}
	memset(p, 0, sizeof(*p));
}

static int same_conn(const struct s3_conn_conf *a, const struct s3_conn_conf *b)
{
#define SAME(f) ((!a->f && !b->f) || (a->f && b->f && strcmp(a->f, b->f) == 0))
	return SAME(endpoint) && SAME(region) && SAME(access_key) && SAME(secret_key) &&
	       SAME(session_token) && SAME(ca_bundle) && a->path_style == b->path_style &&
	       a->insecure == b->insecure;
#undef SAME
}

/* Providers owned per client; kept beside the config's buckets. */
struct client_slot {
	struct s3_client *client;
	struct s3_creds_provider creds;
};
static struct client_slot *slots;
static size_t nslots;

int clients_create(struct config *cfg, char *err, size_t errlen)
{
	slots = calloc(cfg->nbuckets, sizeof(*slots));
	if (!slots) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		struct bucket_conf *b = &cfg->buckets[i];
		for (size_t j = 0; j < i && !b->client; j++)
			if (same_conn(&cfg->buckets[j].conn, &b->conn))
				b->client = cfg->buckets[j].client;
		if (b->client)
			continue;
		struct client_slot *s = &slots[nslots];
		char desc[300], cerr[300];
		if (creds_resolve(&b->conn, &s->creds, desc, sizeof(desc), cerr, sizeof(cerr)) < 0) {
			snprintf(err, errlen, "%s: [bucket:%s]: %s", cfg->path, b->id, cerr);
			return -1;
		}
		struct s3_client_opts o = {
			.endpoint = b->conn.endpoint,
			.region = b->conn.region,
			.path_style = b->conn.path_style,
			.creds = s->creds,
			.http = { .connect_timeout_ms = cfg->connect_timeout_ms,
				  .ca_bundle = b->conn.ca_bundle,
				  .insecure = b->conn.insecure == 1 },
			.max_retries = cfg->max_retries ? cfg->max_retries : -1,
			.retry_max_ms = cfg->retry_max_ms,
		};
		s->client = s3_client_new(&o, cerr, sizeof(cerr));
		if (!s->client) {
			creds_release(&s->creds);
			snprintf(err, errlen, "%s: [bucket:%s]: %s", cfg->path, b->id, cerr);
			return -1;
		}
		nslots++;
		b->client = s->client;
		if (b->conn.insecure == 1)
			log_warn("[bucket:%s]: insecure = true: TLS certificates are NOT verified",
				 b->id);
		log_info("[bucket:%s]: bucket %s at %s, credentials from the %s", b->id, b->name,
			 b->conn.endpoint, desc);
	}
	return 0;
}

void clients_free(struct config *cfg)
{
	for (size_t i = 0; i < nslots; i++) {
		s3_client_free(slots[i].client);
		creds_release(&slots[i].creds);
	}
	free(slots);
	slots = NULL;
	nslots = 0;
	for (size_t i = 0; cfg && i < cfg->nbuckets; i++)
		cfg->buckets[i].client = NULL;
}
