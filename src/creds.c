/* creds.c - the credentials chain and the per-bucket S3 clients. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws_profile.h"
#include "creds.h"
#include "creds_container.h"
#include "creds_process.h"
#include "creds_refresh.h"
#include "creds_sso.h"
#include "creds_sts.h"
#include "imds.h"
#include "log.h"
#include "sts.h"

int creds_static(struct s3_creds_provider *p, const char *ak, const char *sk, const char *token)
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

/* A refreshing provider over src; on failure src is freed here. The
 * error is never -ENOKEY: a source that is configured but fails stops
 * the chain (it must not fall through to another identity). */
static int refreshing(const char *name, creds_fetch_fn fetch, void *src, void (*free_src)(void *),
		      struct s3_creds_provider *p, char *err, size_t errlen)
{
	struct creds_refresher *r = creds_refresher_new(name, fetch, src, free_src, err, errlen);

	if (!r) {
		free_src(src);
		return -EACCES;
	}
	p->get = creds_refresher_get;
	p->ctx = r;
	return 0;
}

struct sts *creds_sts_new(const struct creds_ctx *cx, const char *region, char *err, size_t errlen)
{
	const struct s3_conn_conf *c = cx->conn;
	char ep[512];

	if (!region || !*region)
		region = c->region ? c->region : "us-east-1";
	if (sts_pick_endpoint(c->sts_endpoint, cx->aws, c->endpoint, region, cx->fips, ep,
			      sizeof(ep)) < 0) {
		snprintf(err, errlen, "STS endpoint too long");
		return NULL;
	}
	return sts_new(ep, region, &cx->http, err, errlen);
}

int creds_assume_role(const struct creds_ctx *cx, const char *region, struct s3_creds_provider base,
		      const char *base_desc, const char *role_arn, const char *session_name,
		      const char *external_id, long duration_s, struct s3_creds_provider *p,
		      char *desc, size_t desclen, char *err, size_t errlen)
{
	struct sts_role role = { role_arn, session_name, external_id, duration_s };
	struct sts *sts = creds_sts_new(cx, region, err, errlen);
	struct sts_source *s;

	if (!sts) {
		creds_release(&base);
		return -EINVAL;
	}
	s = sts_role_new(sts, base, base_desc, &role, err, errlen);
	if (!s)
		return -EINVAL;
	sts_source_describe(s, desc, desclen);
	return refreshing("assumed role (STS)", sts_source_fetch, s, sts_source_free, p, err,
			  errlen);
}

int creds_web_identity(const struct creds_ctx *cx, const char *region, const char *token_file,
		       const char *role_arn, const char *session_name, struct s3_creds_provider *p,
		       char *desc, size_t desclen, char *err, size_t errlen)
{
	struct sts_role role = { role_arn, session_name, NULL, 0 };
	struct sts *sts = creds_sts_new(cx, region, err, errlen);
	struct sts_source *s;

	if (!sts)
		return -EINVAL;
	s = sts_webid_new(sts, token_file, &role, err, errlen);
	if (!s)
		return -EINVAL;
	sts_source_describe(s, desc, desclen);
	return refreshing("web identity (STS)", sts_source_fetch, s, sts_source_free, p, err,
			  errlen);
}

int creds_container(struct s3_creds_provider *p, char *desc, size_t desclen, char *err,
		    size_t errlen)
{
	struct container_source *c = container_new(err, errlen);

	if (!c)
		return -EINVAL;
	container_describe(c, desc, desclen);
	return refreshing("container credentials endpoint", container_fetch, c, container_free, p,
			  err, errlen);
}

int creds_imds(struct s3_creds_provider *p, char *desc, size_t desclen, char *err, size_t errlen)
{
	struct imds *m = imds_new(err, errlen);
	int rc;

	if (!m)
		return -EINVAL;
	rc = refreshing("instance metadata (IMDSv2)", imds_fetch, m, imds_free, p, err, errlen);
	if (rc == 0)
		imds_describe(m, desc, desclen);
	return rc;
}

int creds_sso(const struct creds_ctx *cx, const struct sso_profile *sp, struct s3_creds_provider *p,
	      char *desc, size_t desclen, char *err, size_t errlen)
{
	struct sso_source *s = sso_new(sp, &cx->http, err, errlen);

	if (!s)
		return -EINVAL;
	sso_describe(s, desc, desclen);
	return refreshing("SSO role credentials", sso_fetch, s, sso_free, p, err, errlen);
}

int creds_process(const char *profile, const char *command, struct s3_creds_provider *p, char *desc,
		  size_t desclen, char *err, size_t errlen)
{
	struct process_source *s = process_new(profile, command, err, errlen);

	if (!s)
		return -EINVAL;
	process_describe(s, desc, desclen);
	return refreshing("credential_process", process_fetch, s, process_free, p, err, errlen);
}

/* The chain without role_arn (see creds.h). */
static int chain(const struct creds_ctx *cx, struct s3_creds_provider *p, char *desc,
		 size_t desclen, char *err, size_t errlen)
{
	const struct s3_conn_conf *conn = cx->conn;
	const char *ak, *sk, *profile;
	int rc;

	if (conn->access_key && conn->secret_key) {
		snprintf(desc, desclen, "configuration file");
		return creds_static(p, conn->access_key, conn->secret_key, conn->session_token);
	}
	if (conn->aws_profile)
		return aws_profile_resolve(cx, conn->aws_profile, 1, p, desc, desclen, err, errlen);
	ak = getenv("AWS_ACCESS_KEY_ID");
	sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && sk && *ak && *sk) {
		snprintf(desc, desclen, "environment");
		return creds_static(p, ak, sk, getenv("AWS_SESSION_TOKEN"));
	}
	const char *tf = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *ra = getenv("AWS_ROLE_ARN");
	if (tf && *tf && ra && *ra)
		return creds_web_identity(cx, NULL, tf, ra, getenv("AWS_ROLE_SESSION_NAME"), p,
					  desc, desclen, err, errlen);
	profile = getenv("AWS_PROFILE");
	rc = aws_profile_resolve(cx, profile && *profile ? profile : "default", 0, p, desc, desclen,
				 err, errlen);
	if (rc != -ENOKEY)
		return rc;
	if (container_configured())
		return creds_container(p, desc, desclen, err, errlen);
	if (imds_disabled()) {
		snprintf(err, errlen,
			 "no credentials: none in the config file, none in AWS_ACCESS_KEY_ID/"
			 "AWS_SECRET_ACCESS_KEY, no web identity, none in the shared credentials "
			 "or config file, no container endpoint, and instance metadata is off "
			 "(AWS_EC2_METADATA_DISABLED)");
		return -ENOKEY;
	}
	/* Last: an EC2 instance's role. Off EC2 this costs at most a short
	 * connection timeout, once, at start. */
	char ierr[512];
	if (creds_imds(p, desc, desclen, ierr, sizeof(ierr)) == 0)
		return 0;
	snprintf(err, errlen,
		 "no credentials: none in the config file, none in AWS_ACCESS_KEY_ID/"
		 "AWS_SECRET_ACCESS_KEY, no web identity, none in the shared credentials or config "
		 "file, no container endpoint, none from instance metadata (%s)",
		 ierr);
	return -ENOKEY;
}

int creds_resolve(const struct creds_ctx *cx, struct s3_creds_provider *p, char *desc,
		  size_t desclen, char *err, size_t errlen)
{
	struct s3_creds_provider base = { 0 };
	char bdesc[400];
	int rc;

	memset(p, 0, sizeof(*p));
	if (!cx->conn->role_arn)
		return chain(cx, p, desc, desclen, err, errlen);
	rc = chain(cx, &base, bdesc, sizeof(bdesc), err, errlen);
	if (rc < 0)
		return rc;
	return creds_assume_role(cx, NULL, base, bdesc, cx->conn->role_arn, NULL, NULL, 0, p, desc,
				 desclen, err, errlen);
}

void creds_release(struct s3_creds_provider *p)
{
	if (p->ctx && p->get == creds_refresher_get) {
		creds_refresher_free(p->ctx);
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
	       a->insecure == b->insecure && SAME(aws_profile) && SAME(role_arn) && SAME(proxy) &&
	       SAME(sts_endpoint);
#undef SAME
}

/* Providers owned per client; kept beside the config's buckets. */
struct client_slot {
	struct s3_client *client;
	struct s3_creds_provider creds;
	char desc[600];
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
		struct http_pool_opts http = { .connect_timeout_ms = cfg->connect_timeout_ms,
					       .ca_bundle = b->conn.ca_bundle,
					       .insecure = b->conn.insecure == 1,
					       .proxy = b->conn.proxy };
		struct creds_ctx cx = { &b->conn, cfg->profile == PROFILE_AWS, cfg->use_fips == 1,
					http };
		char cerr[1024];
		if (creds_resolve(&cx, &s->creds, s->desc, sizeof(s->desc), cerr, sizeof(cerr)) < 0) {
			snprintf(err, errlen, "%s: [bucket:%s]: %s", cfg->path, b->id, cerr);
			return -1;
		}
		struct s3_client_opts o = {
			.endpoint = b->conn.endpoint,
			.region = b->conn.region,
			.path_style = b->conn.path_style,
			.creds = s->creds,
			.http = http,
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
		log_info("[bucket:%s]: bucket %s at %s%s%s, credentials from the %s", b->id,
			 b->name, b->conn.endpoint, b->conn.proxy ? " via proxy " : "",
			 b->conn.proxy ? b->conn.proxy : "", s->desc);
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

int creds_check_report(struct config *cfg, size_t i, FILE *out)
{
	struct bucket_conf *b = &cfg->buckets[i];
	struct client_slot *s = NULL;
	struct s3_creds *c;
	char when[64] = "never (static keys)", arn[1024], account[64], err[1024];
	int rc;

	for (size_t k = 0; k < nslots && !s; k++)
		if (slots[k].client == b->client)
			s = &slots[k];
	if (!s)
		return -1;
	c = malloc(sizeof(*c));
	if (!c) {
		fprintf(out, "FAIL [bucket:%s] credentials: out of memory\n", b->id);
		return -1;
	}
	rc = s->creds.get(s->creds.ctx, c);
	if (rc < 0) {
		fprintf(out,
			"FAIL [bucket:%s] credentials from the %s: expired and not renewed "
			"(see the log)\n",
			b->id, s->desc);
		free(c);
		return -1;
	}
	if (c->expires) {
		struct tm tm;
		gmtime_r(&c->expires, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(when + strlen(when), sizeof(when) - strlen(when), " (in %lld s)",
			 (long long)(c->expires - time(NULL)));
	}
	fprintf(out, "OK   [bucket:%s] credentials from the %s; they expire %s\n", b->id, s->desc,
		when);
	struct http_pool_opts http = { .connect_timeout_ms = cfg->connect_timeout_ms,
				       .ca_bundle = b->conn.ca_bundle,
				       .insecure = b->conn.insecure == 1,
				       .proxy = b->conn.proxy,
				       .timeout_ms = 10000 };
	struct creds_ctx cx = { &b->conn, cfg->profile == PROFILE_AWS, cfg->use_fips == 1, http };
	struct sts *sts = creds_sts_new(&cx, NULL, err, sizeof(err));
	rc = sts ? sts_get_caller_identity(sts, c, arn, sizeof(arn), account, sizeof(account), err,
					   sizeof(err))
		 : -EINVAL;
	explicit_bzero(c, sizeof(*c));
	free(c);
	/* Not every S3 store has STS: an unknown identity is no failure. */
	if (rc == 0)
		fprintf(out, "OK   [bucket:%s] identity %s%s%s\n", b->id, arn,
			account[0] ? ", account " : "", account);
	else
		fprintf(out, "--   [bucket:%s] identity not known: %s\n", b->id, err);
	sts_free(sts);
	return 0;
}
