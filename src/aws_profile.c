/* aws_profile.c - a profile of the AWS shared credentials and config
 * files into a credentials provider. See aws_profile.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <iniparser.h>

#include "aws_profile.h"
#include "creds_sso.h"
#include "imds.h"

#define MAX_CHAIN 5

struct files {
	dictionary *cred, *conf;
	char cred_path[4096], conf_path[4096];
};

static void path_of(const char *env, const char *name, char *out, size_t len)
{
	const char *v = getenv(env), *home = getenv("HOME");

	if (v && *v)
		snprintf(out, len, "%s", v);
	else if (home && *home)
		snprintf(out, len, "%s/.aws/%s", home, name);
	else
		out[0] = '\0';
}

static dictionary *load(const char *path)
{
	return path[0] && access(path, R_OK) == 0 ? iniparser_load(path) : NULL;
}

static void files_load(struct files *f)
{
	path_of("AWS_SHARED_CREDENTIALS_FILE", "credentials", f->cred_path, sizeof(f->cred_path));
	path_of("AWS_CONFIG_FILE", "config", f->conf_path, sizeof(f->conf_path));
	f->cred = load(f->cred_path);
	f->conf = load(f->conf_path);
}

/* Overwrites the dictionaries' values before freeing: they held secrets. */
static void wipe_free(dictionary *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->size; i++)
		if (d->val && d->val[i])
			explicit_bzero(d->val[i], strlen(d->val[i]));
	iniparser_freedict(d);
}

static void files_free(struct files *f)
{
	wipe_free(f->cred);
	wipe_free(f->conf);
}

/* A key of profile name: the credentials file's [name] first, then the
 * config file's [profile name] (or [default]). NULL if unset or empty. */
static const char *get(const struct files *f, const char *name, const char *key)
{
	char k[512];
	const char *v = NULL;

	if (f->cred) {
		snprintf(k, sizeof(k), "%s:%s", name, key);
		v = iniparser_getstring(f->cred, k, NULL);
	}
	if ((!v || !*v) && f->conf) {
		snprintf(k, sizeof(k), "profile %s:%s", name, key);
		v = iniparser_getstring(f->conf, k, NULL);
		if ((!v || !*v) && strcmp(name, "default") == 0) {
			snprintf(k, sizeof(k), "default:%s", key);
			v = iniparser_getstring(f->conf, k, NULL);
		}
	}
	return v && *v ? v : NULL;
}

static int has_profile(const struct files *f, const char *name)
{
	char k[300];

	snprintf(k, sizeof(k), "profile %s", name);
	return (f->cred && iniparser_find_entry(f->cred, name)) ||
	       (f->conf && iniparser_find_entry(f->conf, k)) ||
	       (f->conf && strcmp(name, "default") == 0 && iniparser_find_entry(f->conf, "default"));
}

static int resolve(const struct creds_ctx *cx, const struct files *f, const char *name,
		   int required, int depth, struct s3_creds_provider *p, char *desc, size_t desclen,
		   char *err, size_t errlen);

/* The base credentials of a role profile. */
static int role_base(const struct creds_ctx *cx, const struct files *f, const char *name, int depth,
		     struct s3_creds_provider *base, char *desc, size_t desclen, char *err,
		     size_t errlen)
{
	const char *sp = get(f, name, "source_profile");
	const char *cs = get(f, name, "credential_source");

	if (sp && cs) {
		snprintf(err, errlen,
			 "profile %s: source_profile and credential_source are both set; keep one",
			 name);
		return -EINVAL;
	}
	if (sp && strcmp(sp, name) == 0) {
		/* A profile that is its own source: its static keys. */
		const char *ak = get(f, name, "aws_access_key_id");
		const char *sk = get(f, name, "aws_secret_access_key");
		if (!ak || !sk) {
			snprintf(err, errlen,
				 "profile %s: source_profile names itself but it has no "
				 "aws_access_key_id/aws_secret_access_key",
				 name);
			return -EINVAL;
		}
		snprintf(desc, desclen, "shared credentials file, profile %s", name);
		return creds_static(base, ak, sk, get(f, name, "aws_session_token"));
	}
	if (sp) {
		if (depth >= MAX_CHAIN) {
			snprintf(err, errlen,
				 "profile %s: more than %d profiles chained by source_profile (a "
				 "loop?)",
				 name, MAX_CHAIN);
			return -ELOOP;
		}
		return resolve(cx, f, sp, 1, depth + 1, base, desc, desclen, err, errlen);
	}
	if (!cs) {
		snprintf(err, errlen,
			 "profile %s: role_arn needs source_profile or credential_source "
			 "(Environment, Ec2InstanceMetadata or EcsContainer)",
			 name);
		return -EINVAL;
	}
	if (strcasecmp(cs, "Environment") == 0) {
		const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
		if (!ak || !sk || !*ak || !*sk) {
			snprintf(err, errlen,
				 "profile %s: credential_source = Environment but "
				 "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set",
				 name);
			return -ENOKEY;
		}
		snprintf(desc, desclen, "environment");
		return creds_static(base, ak, sk, getenv("AWS_SESSION_TOKEN"));
	}
	if (strcasecmp(cs, "Ec2InstanceMetadata") == 0)
		return creds_imds(base, desc, desclen, err, errlen);
	if (strcasecmp(cs, "EcsContainer") == 0)
		return creds_container(base, desc, desclen, err, errlen);
	snprintf(err, errlen,
		 "profile %s: credential_source '%.60s' is not Environment, Ec2InstanceMetadata or "
		 "EcsContainer",
		 name, cs);
	return -EINVAL;
}

/* An SSO profile: sso_session names an [sso-session NAME] section of the
 * config file holding sso_start_url and sso_region (a legacy profile has
 * them itself). */
static int sso(const struct creds_ctx *cx, const struct files *f, const char *name,
	       struct s3_creds_provider *p, char *desc, size_t desclen, char *err, size_t errlen)
{
	const char *sess = get(f, name, "sso_session");
	struct sso_profile sp = { name,
				  sess,
				  get(f, name, "sso_start_url"),
				  get(f, name, "sso_region"),
				  get(f, name, "sso_account_id"),
				  get(f, name, "sso_role_name") };
	char k[300];

	if (sess) {
		snprintf(k, sizeof(k), "sso-session %s", sess);
		if (!f->conf || !iniparser_find_entry(f->conf, k)) {
			snprintf(err, errlen,
				 "profile %s: sso_session %s has no [sso-session %s] in %s", name,
				 sess, sess, f->conf_path);
			return -EINVAL;
		}
		snprintf(k, sizeof(k), "sso-session %s:sso_start_url", sess);
		sp.start_url = iniparser_getstring(f->conf, k, NULL);
		snprintf(k, sizeof(k), "sso-session %s:sso_region", sess);
		sp.region = iniparser_getstring(f->conf, k, NULL);
	}
	return creds_sso(cx, &sp, p, desc, desclen, err, errlen);
}

static int resolve(const struct creds_ctx *cx, const struct files *f, const char *name,
		   int required, int depth, struct s3_creds_provider *p, char *desc, size_t desclen,
		   char *err, size_t errlen)
{
	const char *role = get(f, name, "role_arn");
	const char *region = get(f, name, "region");
	const char *ak, *sk, *proc;
	int rc;

	if (!has_profile(f, name)) {
		if (!required)
			return -ENOKEY;
		snprintf(err, errlen, "profile %s is in neither %s nor %s; check aws_profile/%s",
			 name, f->cred_path[0] ? f->cred_path : "~/.aws/credentials",
			 f->conf_path[0] ? f->conf_path : "~/.aws/config",
			 depth ? "source_profile" : "AWS_PROFILE");
		return -ENOKEY;
	}
	if (role) {
		const char *wf = get(f, name, "web_identity_token_file");
		const char *sn = get(f, name, "role_session_name");
		const char *dur = get(f, name, "duration_seconds");
		struct s3_creds_provider base = { 0 };
		char bdesc[400], *end = NULL;
		long d = 0;

		if (get(f, name, "mfa_serial")) {
			snprintf(err, errlen,
				 "profile %s: mfa_serial needs a code typed in, which a daemon cannot "
				 "do; use a role without MFA for s3csfs",
				 name);
			return -EINVAL;
		}
		if (dur) {
			d = strtol(dur, &end, 10);
			if (*end || d < 900 || d > 43200) {
				snprintf(err, errlen,
					 "profile %s: duration_seconds '%.20s' is not 900 to 43200",
					 name, dur);
				return -EINVAL;
			}
		}
		if (wf)
			return creds_web_identity(cx, region, wf, role, sn, p, desc, desclen, err,
						  errlen);
		rc = role_base(cx, f, name, depth, &base, bdesc, sizeof(bdesc), err, errlen);
		if (rc < 0)
			return rc;
		return creds_assume_role(cx, region, base, bdesc, role, sn,
					 get(f, name, "external_id"), d, p, desc, desclen, err,
					 errlen);
	}
	if (get(f, name, "sso_session") || get(f, name, "sso_start_url"))
		return sso(cx, f, name, p, desc, desclen, err, errlen);
	ak = get(f, name, "aws_access_key_id");
	sk = get(f, name, "aws_secret_access_key");
	if (ak && sk) {
		char k[300];
		snprintf(k, sizeof(k), "%s:aws_access_key_id", name);
		int in_cred = f->cred && iniparser_getstring(f->cred, k, NULL);
		rc = creds_static(p, ak, sk, get(f, name, "aws_session_token"));
		snprintf(desc, desclen, "shared %s file %s, profile %s",
			 in_cred ? "credentials" : "config", in_cred ? f->cred_path : f->conf_path,
			 name);
		return rc;
	}
	if ((ak != NULL) != (sk != NULL)) {
		snprintf(err, errlen,
			 "profile %s has only one of aws_access_key_id and aws_secret_access_key",
			 name);
		return -EINVAL;
	}
	proc = get(f, name, "credential_process");
	if (proc)
		return creds_process(name, proc, p, desc, desclen, err, errlen);
	if (!required)
		return -ENOKEY;
	snprintf(err, errlen,
		 "profile %s has no credentials (no keys, role_arn or credential_process)", name);
	return -ENOKEY;
}

int aws_profile_resolve(const struct creds_ctx *cx, const char *name, int required,
			struct s3_creds_provider *p, char *desc, size_t desclen, char *err,
			size_t errlen)
{
	struct files f;
	char lower[256];
	int rc;

	/* iniparser keeps section names in lower case. */
	snprintf(lower, sizeof(lower), "%s", name);
	for (char *c = lower; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	files_load(&f);
	rc = resolve(cx, &f, lower, required, 0, p, desc, desclen, err, errlen);
	files_free(&f);
	return rc;
}
