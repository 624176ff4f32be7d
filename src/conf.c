/* conf.c - loads and validates s3csfs.conf into struct config.
 *
 * The file is read once, by the reader below: it keeps sections in file
 * order with their line numbers, so that a key outside a section, a section
 * or key written twice (iniparser, which read the file before, silently
 * kept the last) and a syntax error are refused with the line. The syntax
 * and the values are iniparser 4.1's, so every file that loaded still loads
 * the same. iniparser itself reads only the AWS shared config file here
 * (aws_region), as aws_profile.c does. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <iniparser.h>

#include "conf.h"
#include "dynbuf.h"
#include "log.h"

#define KiB (1024LL)
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)
#define SEC_MS 1000LL
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

/* Sizes of struct s3_creds (s3_client.h) including the NUL: longer
 * credentials would be cut there, and a cut key only fails at the server. */
#define ACCESS_KEY_MAX 127
#define SECRET_KEY_MAX 127
#define SESSION_TOKEN_MAX 4095

/* ---- the public value parsers ---- */

/* Leading decimal digits of s into *n; returns the end, NULL on overflow or
 * no digit (no sign, no space: a size or duration is never negative). */
static const char *parse_digits(const char *s, unsigned long long *n)
{
	*n = 0;
	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (*n > (ULLONG_MAX - d) / 10)
			return NULL;
		*n = *n * 10 + d;
	}
	return s;
}

static int scaled(unsigned long long n, long long mult, long long *out)
{
	if (n > (unsigned long long)(LLONG_MAX / mult)) {
		errno = ERANGE;
		return -1;
	}
	*out = (long long)n * mult;
	return 0;
}

int config_parse_size(const char *s, long long *out)
{
	static const struct {
		const char *suffix;
		long long mult;
	} units[] = {
		{ "", 1 },
		{ "b", 1 },
		{ "k", KiB },
		{ "kb", KiB },
		{ "kib", KiB },
		{ "m", MiB },
		{ "mb", MiB },
		{ "mib", MiB },
		{ "g", GiB },
		{ "gb", GiB },
		{ "gib", GiB },
		{ "t", GiB * 1024 },
		{ "tb", GiB * 1024 },
		{ "tib", GiB * 1024 },
	};
	unsigned long long n;
	const char *end;

	if (!s || !out)
		return errno = EINVAL, -1;
	end = parse_digits(s, &n);
	if (!end)
		return errno = isdigit((unsigned char)*s) ? ERANGE : EINVAL, -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].suffix) == 0)
			return scaled(n, units[i].mult, out);
	return errno = EINVAL, -1;
}

int config_parse_duration_ms(const char *s, long long *out)
{
	static const struct {
		const char *suffix;
		long long mult;
	} units[] = {
		{ "", SEC_MS },  { "ms", 1 },      { "s", SEC_MS },
		{ "m", MIN_MS }, { "h", HOUR_MS }, { "d", DAY_MS },
	};
	unsigned long long n;
	const char *end;

	if (!s || !out)
		return errno = EINVAL, -1;
	end = parse_digits(s, &n);
	if (!end)
		return errno = isdigit((unsigned char)*s) ? ERANGE : EINVAL, -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].suffix) == 0)
			return scaled(n, units[i].mult, out);
	return errno = EINVAL, -1;
}

int config_parse_bool(const char *s)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	if (!s)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* ---- key tables ---- */

static const char *const general_keys[] = {
	"cache_dir",
	"cache_max_size",
	"part_size",
	"upload_threads",
	"max_queued_uploads",
	"upload",
	"journal_fsync",
	"log_level",
	"reaper",
	"reaper_interval",
	"reaper_max_age",
	"attr_timeout",
	"negative_timeout",
	"max_nodes",
	"dir_cache_timeout",
	"read_ahead",
	"max_retries",
	"retry_max_time",
	"connect_timeout",
	"write_ahead",
	"empty_file_delay",
	"mount_timeout",
	"direct_url_expiry",
	"fallback_dir",
	"fallback_upload",
	"price_put",
	"price_get",
	"metrics_listen",
	"metrics_allow_remote",
	NULL,
};

static const char *const s3_keys[] = {
	"profile",       "endpoint",     "region",   "addressing",    "access_key",  "secret_key",
	"session_token", "ca_bundle",    "insecure", "checksum",      "aws_profile", "role_arn",
	"proxy",         "sts_endpoint", "use_fips", "use_dualstack", NULL,
};

/* A bucket section takes these plus every s3_keys entry but "profile"
 * (the profile is one per daemon: it decides the credentials chain),
 * "use_fips" and "use_dualstack" (one per daemon too). */
static const char *const bucket_keys[] = {
	"name",
	"default",
	"paths",
	"from",
	"until",
	"key_prefix",
	"key_layout",
	"storage_class",
	"sse",
	"sse_kms_key_id",
	"tags",
	"on_delete",
	"endpoint",
	"region",
	"addressing",
	"access_key",
	"secret_key",
	"session_token",
	"ca_bundle",
	"insecure",
	"exclusive_create",
	"checksum",
	"aws_profile",
	"role_arn",
	"proxy",
	"sts_endpoint",
	"archive_storage_class",
	"restore_on_read",
	"restore_tier",
	"restore_days",
	"object_lock",
	"retention",
	NULL,
};

static const char *const storage_classes[] = {
	"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA",  "ONEZONE_IA", "INTELLIGENT_TIERING",
	"GLACIER",  "GLACIER_IR",         "DEEP_ARCHIVE", "OUTPOSTS",   NULL,
};

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* ---- the reader ---- */

#define SYNTAX_ERROR                                                                        \
	"syntax error; expected '[section]', 'key = value' or a comment starting with ';' " \
	"or '#' (a comment after a [section] header needs its own line)"

/* The syntax is iniparser 4.1's, which read this file before: its
 * 1024-byte buffer held a line of 1022 characters, continuations included,
 * plus the newline. */
#define LINE_MAX_CHARS 1022
/* Bounds on what a file can make the reader hold. No file that loads comes
 * near them: a section takes at most 32 distinct keys, a repeated key is
 * refused, and each bucket needs a section. */
#define MAX_SECTIONS 1024
#define MAX_KEYS 256

struct scan_key {
	char *name;  /* lower case */
	char *value; /* as written, quotes and comment removed; wiped when freed */
	int line;
};

struct scan_sec {
	char *name; /* lower case */
	int line;
	struct scan_key *keys;
	size_t nkeys;
};

struct ctx {
	const char *path;
	char *err;
	size_t errlen;
	struct scan_sec *secs; /* in file order */
	size_t nsecs;
	struct config *cfg;
};

/* Writes "PATH: [sec] key: msg" (or "PATH: [sec]: msg", "PATH: msg") and
 * returns -1. Control characters become spaces: the message is one line
 * whatever a value held. Callers never pass a secret. */
__attribute__((format(printf, 4, 5))) static int fail(struct ctx *c, const char *sec,
						      const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int w;

	if (!c->err || c->errlen == 0)
		return -1;
	if (sec && key)
		w = snprintf(c->err, c->errlen, "%s: [%s] %s: ", c->path, sec, key);
	else if (sec)
		w = snprintf(c->err, c->errlen, "%s: [%s]: ", c->path, sec);
	else
		w = snprintf(c->err, c->errlen, "%s: ", c->path);
	n = w < 0 ? 0 : (size_t)w;
	if (n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	for (char *p = c->err; *p; p++)
		if (iscntrl((unsigned char)*p))
			*p = ' ';
	return -1;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Trims isspace() both ends in place. */
static char *trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void scan_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nsecs; i++) {
		for (size_t k = 0; k < c->secs[i].nkeys; k++) {
			free(c->secs[i].keys[k].name);
			wipe_free(c->secs[i].keys[k].value); /* any value may be a secret */
		}
		free(c->secs[i].keys);
		free(c->secs[i].name);
	}
	free(c->secs);
	c->secs = NULL;
	c->nsecs = 0;
}

/* Names are stored lower case; the lookup ignores case, as iniparser's did. */
static struct scan_sec *scan_find(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nsecs; i++)
		if (strcasecmp(c->secs[i].name, name) == 0)
			return &c->secs[i];
	return NULL;
}

static const struct scan_key *sec_key(const struct scan_sec *s, const char *name)
{
	for (size_t k = 0; k < s->nkeys; k++)
		if (strcasecmp(s->keys[k].name, name) == 0)
			return &s->keys[k];
	return NULL;
}

/* The value after '=', in place, by iniparser 4.1's rules (files that
 * loaded keep their values): "..." or '...' is taken as it is up to the
 * closing quote (or the line's end) and the rest of the line is ignored;
 * otherwise the value ends at the first ';' or '#', is trimmed, and a bare
 * "" or '' means empty. */
static char *scan_value(char *v)
{
	while (isspace((unsigned char)*v))
		v++;
	if ((*v == '"' || *v == '\'') && v[1] && v[1] != *v) {
		char quote[2] = { *v, '\0' };

		v++;
		v[strcspn(v, quote)] = '\0';
		return v;
	}
	v[strcspn(v, ";#")] = '\0';
	v = trim(v);
	if (strcmp(v, "\"\"") == 0 || strcmp(v, "''") == 0)
		*v = '\0';
	return v;
}

static int scan_section(struct ctx *c, char *line, int lineno)
{
	char *name = line + 1, *copy;
	struct scan_sec *prev, *grown;

	/* "[a]b]" names "a", as iniparser's "[%[^]]" did */
	name[strcspn(name, "]")] = '\0';
	name = trim(name);
	lower(name);
	if (!*name)
		return fail(c, NULL, NULL,
			    "line %d: empty section name '[]'; use [general], [s3] or "
			    "[bucket:NAME]",
			    lineno);
	prev = scan_find(c, name);
	if (prev)
		return fail(c, name, NULL,
			    "section appears twice (lines %d and %d); merge them into one",
			    prev->line, lineno);
	if (c->nsecs >= MAX_SECTIONS)
		return fail(c, NULL, NULL,
			    "line %d: more than %d sections; a file needs [general], [s3] and "
			    "one [bucket:NAME] a bucket",
			    lineno, MAX_SECTIONS);
	copy = strdup(name);
	grown = copy ? realloc(c->secs, (c->nsecs + 1) * sizeof(*c->secs)) : NULL;
	if (!grown) {
		free(copy);
		return fail(c, NULL, NULL, "out of memory");
	}
	c->secs = grown;
	c->secs[c->nsecs++] = (struct scan_sec){ .name = copy, .line = lineno };
	return 0;
}

/* key is trimmed and lower case; value points into the same line. */
static int scan_key(struct ctx *c, char *key, char *value, int lineno)
{
	struct scan_sec *cur = c->nsecs ? &c->secs[c->nsecs - 1] : NULL;
	const struct scan_key *prev;
	struct scan_key *grown;
	char *name, *copy;

	if (!cur)
		return fail(c, NULL, NULL,
			    "line %d: key '%.64s' is outside any section; put it under "
			    "[general], [s3] or [bucket:NAME]",
			    lineno, key);
	prev = sec_key(cur, key);
	if (prev)
		return fail(c, cur->name, key, "set twice (lines %d and %d); keep one line%s",
			    prev->line, lineno,
			    strcmp(key, "paths") == 0 ? " (list several globs separated by commas)"
						      : "");
	if (cur->nkeys >= MAX_KEYS)
		return fail(c, cur->name, NULL,
			    "line %d: more than %d keys in one section; see s3csfs.conf(5) for "
			    "the keys it takes",
			    lineno, MAX_KEYS);
	name = strdup(key);
	copy = name ? strdup(scan_value(value)) : NULL;
	grown = copy ? realloc(cur->keys, (cur->nkeys + 1) * sizeof(*cur->keys)) : NULL;
	if (!grown) {
		free(name);
		wipe_free(copy);
		return fail(c, NULL, NULL, "out of memory");
	}
	cur->keys = grown;
	cur->keys[cur->nkeys++] = (struct scan_key){ .name = name, .value = copy, .line = lineno };
	return 0;
}

/* One logical line (continuations joined, trimmed) of the file. */
static int scan_line(struct ctx *c, char *line, int lineno)
{
	size_t len = strlen(line);
	char *eq;

	if (len == 0 || line[0] == '#' || line[0] == ';')
		return 0;
	if (line[0] == '[' && line[len - 1] == ']')
		return scan_section(c, line, lineno);
	eq = strchr(line, '=');
	if (!eq || eq == line) /* never echo the line: it could be a secret */
		return fail(c, NULL, NULL, "line %d: " SYNTAX_ERROR, lineno);
	*eq = '\0';
	line = trim(line);
	lower(line);
	return scan_key(c, line, eq + 1, lineno);
}

/* Cuts trailing spaces off buf[0..len), then a trailing '\', which says
 * the next physical line continues this one (*continued). Returns the new
 * length. As iniparser 4.1 did, the cut reaches into continued lines. */
static size_t cut_line(char *buf, size_t len, int *continued)
{
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	*continued = len && buf[len - 1] == '\\';
	return *continued ? len - 1 : len;
}

/* Reads the file into c->secs, a byte at a time into one bounded buffer
 * that holds a logical line (a continued line goes where its '\' was). The
 * buffer held secrets, so it is wiped. Errors come in file order. */
static int scan_file(struct ctx *c, FILE *f)
{
	char buf[LINE_MAX_CHARS + 1];
	size_t len = 0, fresh = 0; /* fresh: bytes read of the current physical line */
	int phys = 1, start = 1, continued = 0, rc = 0, ch, blank;
	char *line;

	while (rc == 0 && (ch = getc(f)) != EOF) {
		if (ch == '\0') {
			/* iniparser's C strings stopped there: refused, not cut */
			rc = fail(c, NULL, NULL,
				  "line %d: holds a NUL byte; is this a text file? save it as plain "
				  "text",
				  phys);
		} else if (ch != '\n') {
			fresh++;
			if (len < LINE_MAX_CHARS)
				buf[len++] = (char)ch;
			else
				rc = fail(c, NULL, NULL,
					  "line %d: line too long (at most %d characters a line, "
					  "continued lines included); shorten it, or take long "
					  "credentials from the environment",
					  phys, LINE_MAX_CHARS);
		} else {
			phys++;
			fresh = 0;
			len = cut_line(buf, len, &continued);
			if (continued)
				continue;
			buf[len] = '\0';
			rc = scan_line(c, trim(buf), start);
			len = 0;
			start = phys;
		}
	}
	if (rc == 0 && ferror(f))
		rc = fail(c, NULL, NULL, "read error: %s", strerror(errno));
	if (rc == 0) {
		/* the last line, if it has no newline */
		if (fresh)
			len = cut_line(buf, len, &continued);
		buf[len] = '\0';
		line = trim(buf);
		blank = !*line || *line == '#' || *line == ';';
		rc = scan_line(c, line, start);
		if (rc == 0 && continued && !blank)
			/* iniparser dropped such a line; taking it now would change
			 * what the file means, so it is refused */
			rc = fail(c, NULL, NULL,
				  "line %d: continued with '\\' but the file ends there; remove "
				  "the '\\' or add the line it continues on",
				  start);
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* ---- value helpers ---- */

/* The value of key in section sec, NULL if the file does not set it. */
static const char *val(struct ctx *c, const char *sec, const char *key)
{
	const struct scan_sec *s = scan_find(c, sec);
	const struct scan_key *k = s ? sec_key(s, key) : NULL;

	return k ? k->value : NULL;
}

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64];

	if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static const char *closest(const char *const *list, const char *s)
{
	const char *best = NULL;
	int bd = 3;

	for (; *list; list++) {
		int d = edit_distance(s, *list);
		if (d < bd) {
			bd = d;
			best = *list;
		}
	}
	return best;
}

/* list, comma-separated, into buf: as many whole names as fit. */
static void join(char *buf, size_t len, const char *const *list)
{
	struct dynbuf d;

	dynbuf_init_fixed(&d, buf, len);
	for (; *list; list++)
		if (dynbuf_addf(&d, "%s%s", dynbuf_len(&d) ? ", " : "", *list) < 0)
			break;
}

static int unknown_key(struct ctx *c, const char *sec, const char *key, const char *const *known)
{
	char list[600];
	const char *guess;

	/* a right key in the wrong section: say where it goes */
	if (strcmp(key, "profile") == 0 && known == bucket_keys)
		return fail(c, sec, key,
			    "unknown key here; profile can only be set in [s3], once for all "
			    "buckets");
	if (known != general_keys && in_list(general_keys, key))
		return fail(c, sec, key, "unknown key here; '%s' belongs in [general]", key);
	if (known == general_keys && in_list(s3_keys, key))
		return fail(c, sec, key,
			    "unknown key here; '%s' belongs in [s3] (or in a [bucket:NAME] "
			    "section to override it there)",
			    key);
	if (known != bucket_keys && in_list(bucket_keys, key))
		return fail(c, sec, key,
			    "unknown key here; '%s' belongs in a [bucket:NAME] section", key);
	guess = closest(known, key);
	join(list, sizeof(list), known);
	if (guess)
		return fail(c, sec, key, "unknown key; did you mean '%s'? known keys: %s", guess,
			    list);
	return fail(c, sec, key, "unknown key; known keys: %s", list);
}

/* Human form of a byte count for messages: "5M", "1G", "4096". */
static const char *fmt_size(long long v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lld", v);
	else
		snprintf(buf, len, "%lld%c", v, units[u]);
	return buf;
}

static const char *fmt_ms(long long v, char *buf, size_t len)
{
	if (v && v % DAY_MS == 0)
		snprintf(buf, len, "%lldd", v / DAY_MS);
	else if (v && v % HOUR_MS == 0)
		snprintf(buf, len, "%lldh", v / HOUR_MS);
	else if (v && v % MIN_MS == 0)
		snprintf(buf, len, "%lldm", v / MIN_MS);
	else if (v % SEC_MS == 0)
		snprintf(buf, len, "%llds", v / SEC_MS);
	else
		snprintf(buf, len, "%lldms", v);
	return buf;
}

/* Each get_* leaves *out alone when the key is absent (the default stays)
 * and returns 0, or -1 with the message. */
static int get_size(struct ctx *c, const char *sec, const char *key, long long min, long long max,
		    long long *out)
{
	const char *v = val(c, sec, key);
	char a[32], b[32];
	long long n;

	if (!v)
		return 0;
	if (config_parse_size(v, &n) < 0)
		return fail(c, sec, key,
			    "'%.64s' is not a size%s; write a whole number with an optional "
			    "K, M, G or T suffix (powers of 1024), like 8M or 10G",
			    v, errno == ERANGE ? " (too large)" : "");
	if (n < min && max == LLONG_MAX)
		return fail(c, sec, key, "%.64s is out of range; use at least %s", v,
			    fmt_size(min, a, sizeof(a)));
	if (n < min || n > max)
		return fail(c, sec, key, "%.64s is out of range; use a value from %s to %s", v,
			    fmt_size(min, a, sizeof(a)), fmt_size(max, b, sizeof(b)));
	*out = n;
	return 0;
}

static int get_ms(struct ctx *c, const char *sec, const char *key, long long min, long long max,
		  long long *out)
{
	const char *v = val(c, sec, key);
	char a[32], b[32];
	long long n;

	if (!v)
		return 0;
	if (config_parse_duration_ms(v, &n) < 0)
		return fail(c, sec, key,
			    "'%.64s' is not a duration%s; write a whole number with an optional "
			    "unit ms, s, m, h or d (no unit: seconds), like 30s or 24h",
			    v, errno == ERANGE ? " (too large)" : "");
	if (n < min || n > max)
		return fail(c, sec, key, "%.64s is out of range; use a value from %s to %s", v,
			    fmt_ms(min, a, sizeof(a)), fmt_ms(max, b, sizeof(b)));
	*out = n;
	return 0;
}

static int get_int(struct ctx *c, const char *sec, const char *key, int min, int max, int *out)
{
	const char *v = val(c, sec, key);
	unsigned long long n;
	const char *end;

	if (!v)
		return 0;
	end = parse_digits(v, &n);
	if (!end || *end)
		return fail(c, sec, key, "'%.64s' is not a whole number; use a value from %d to %d",
			    v, min, max);
	if (n < (unsigned long long)min || n > (unsigned long long)max)
		return fail(c, sec, key, "%.64s is out of range; use a value from %d to %d", v, min,
			    max);
	*out = (int)n;
	return 0;
}

static int get_bool(struct ctx *c, const char *sec, const char *key, int *out)
{
	const char *v = val(c, sec, key);
	int b;

	if (!v)
		return 0;
	b = config_parse_bool(v);
	if (b < 0)
		return fail(c, sec, key,
			    "'%.64s' is not a boolean; use true or false (also yes/no, on/off, "
			    "1/0)",
			    v);
	*out = b;
	return 0;
}

/* Index into names (case-insensitive) of the value. */
static int get_enum(struct ctx *c, const char *sec, const char *key, const char *const *names,
		    int *out)
{
	const char *v = val(c, sec, key);
	char list[256];

	if (!v)
		return 0;
	for (int i = 0; names[i]; i++)
		if (strcasecmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	join(list, sizeof(list), names);
	return fail(c, sec, key, "'%.64s' is not one of %s", v, list);
}

static int set_str(struct ctx *c, char **dst, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return fail(c, NULL, NULL, "out of memory");
	wipe_free(*dst);
	*dst = copy;
	return 0;
}

static int absolute_path(struct ctx *c, const char *sec, const char *key, const char *v)
{
	if (!*v)
		return fail(c, sec, key, "empty value; give an absolute path or remove the line");
	if (v[0] != '/')
		return fail(c, sec, key,
			    "'%.100s' is not an absolute path; the daemon runs from '/', so "
			    "write the full path",
			    v);
	return 0;
}

/* ---- [general] ---- */

/* A price in USD per 1000 requests: a decimal number, 0 to 100. */
static int get_price(struct ctx *c, const char *sec, const char *key, double *out)
{
	const char *v = val(c, sec, key);
	char *end;
	double d;

	if (!v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (end == v || *end || errno || !(d >= 0 && d <= 100))
		return fail(c, sec, key,
			    "'%.64s' is not a price; give US dollars per 1000 requests as a "
			    "decimal number from 0 to 100, like 0.005",
			    v);
	*out = d;
	return 0;
}

/* fallback_dir, fallback_upload, price_put, price_get (issue 17). */
static int parse_general_migration(struct ctx *c)
{
	struct config *cfg = c->cfg;
	const char *sec = "general", *v;

	if ((v = val(c, sec, "fallback_dir"))) {
		if (absolute_path(c, sec, "fallback_dir", v) < 0 ||
		    set_str(c, &cfg->fallback_dir, v) < 0)
			return -1;
		for (size_t n = strlen(cfg->fallback_dir); n > 1 && cfg->fallback_dir[n - 1] == '/';
		     n--)
			cfg->fallback_dir[n - 1] = '\0';
		if (cfg->cache_dir && strcmp(cfg->fallback_dir, cfg->cache_dir) == 0)
			return fail(c, sec, "fallback_dir",
				    "'%.100s' is the cache directory; name the old content store",
				    v);
	}
	if (get_bool(c, sec, "fallback_upload", &cfg->fallback_upload) < 0 ||
	    get_price(c, sec, "price_put", &cfg->price_put) < 0 ||
	    get_price(c, sec, "price_get", &cfg->price_get) < 0)
		return -1;
	if (cfg->fallback_upload && !cfg->fallback_dir)
		return fail(c, sec, "fallback_upload",
			    "is on, but no fallback_dir is set; set "
			    "fallback_dir or remove the line");
	return 0;
}

/* metrics_listen = ADDRESS:PORT (IPv4, or [IPv6]), numeric only: the
 * daemon binds exactly what is written. Empty: off. Anything but loopback
 * needs metrics_allow_remote = true, since the endpoint has no
 * authentication. */
static int parse_metrics_listen(struct ctx *c, const char *sec)
{
	const char *key = "metrics_listen", *v = val(c, sec, key), *colon;
	char host[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long long port;
	size_t hlen;
	int v6, loopback;

	if (get_bool(c, sec, "metrics_allow_remote", &c->cfg->metrics_allow_remote) < 0)
		return -1;
	if (!v || !*v)
		return 0;
	v6 = v[0] == '[';
	colon = v6 ? strstr(v, "]:") : strrchr(v, ':');
	hlen = colon ? (size_t)(colon - v) - (size_t)v6 : 0;
	if (!colon || hlen == 0 || hlen >= sizeof(host))
		return fail(c, sec, key,
			    "'%.100s' is not ADDRESS:PORT; write like 127.0.0.1:9464 or [::1]:9464",
			    v);
	memcpy(host, v + v6, hlen);
	host[hlen] = '\0';
	const char *end = parse_digits(colon + 1 + v6, &port);
	if (!end || *end || port < 1 || port > 65535)
		return fail(c, sec, key, "'%.100s': the port must be a number from 1 to 65535", v);
	if (!v6 && strchr(host, ':'))
		return fail(c, sec, key,
			    "'%.100s': an IPv6 address goes in brackets; write like [::1]:9464", v);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, v6 ? (void *)&a6 : (void *)&a4) != 1)
		return fail(c, sec, key,
			    "'%.100s': '%s' is not a numeric %s address (host names are not "
			    "taken); write like %s",
			    v, host, v6 ? "IPv6" : "IPv4", v6 ? "[::1]:9464" : "127.0.0.1:9464");
	if (v6)
		loopback = IN6_IS_ADDR_LOOPBACK(&a6) ||
			   (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	else
		loopback = (ntohl(a4.s_addr) >> 24) == 127;
	if (!loopback && !c->cfg->metrics_allow_remote)
		return fail(c, sec, key,
			    "'%.100s' is not a loopback address, and the metrics endpoint has no "
			    "authentication; use 127.0.0.1 or [::1], or set metrics_allow_remote = "
			    "true (and firewall the port)",
			    v);
	c->cfg->metrics_port = (int)port;
	return set_str(c, &c->cfg->metrics_host, host);
}

static int parse_general(struct ctx *c)
{
	static const char *const upload_modes[] = { "sync", "async", NULL };
	static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
	struct config *cfg = c->cfg;
	const char *sec = "general", *v;
	long long ms;
	int mode = cfg->upload, level = cfg->log_level;

	if ((v = val(c, sec, "cache_dir"))) {
		if (absolute_path(c, sec, "cache_dir", v) < 0 || set_str(c, &cfg->cache_dir, v) < 0)
			return -1;
		/* "/var/cache/s3csfs/" and "/var/cache/s3csfs" name one directory */
		for (size_t n = strlen(cfg->cache_dir); n > 1 && cfg->cache_dir[n - 1] == '/'; n--)
			cfg->cache_dir[n - 1] = '\0';
	}
	if (get_size(c, sec, "cache_max_size", 64 * MiB, LLONG_MAX, &cfg->cache_max_size) < 0 ||
	    get_size(c, sec, "part_size", 5 * MiB, 5 * GiB, &cfg->part_size) < 0 ||
	    get_int(c, sec, "upload_threads", 1, 64, &cfg->upload_threads) < 0 ||
	    get_int(c, sec, "max_queued_uploads", 1, 1 << 20, &cfg->max_queued_uploads) < 0 ||
	    get_enum(c, sec, "upload", upload_modes, &mode) < 0 ||
	    get_bool(c, sec, "journal_fsync", &cfg->journal_fsync) < 0 ||
	    get_bool(c, sec, "reaper", &cfg->reaper_enabled) < 0 ||
	    get_size(c, sec, "read_ahead", 0, 1 * GiB, &cfg->read_ahead) < 0 ||
	    get_size(c, sec, "write_ahead", 0, LLONG_MAX, &cfg->write_ahead) < 0 ||
	    get_int(c, sec, "max_retries", 0, 100, &cfg->max_retries) < 0 ||
	    get_int(c, sec, "max_nodes", 64, 1 << 24, &cfg->max_nodes) < 0)
		return -1;
	cfg->upload = mode == 1 ? UPLOAD_ASYNC : UPLOAD_SYNC;
	if (cfg->write_ahead < 0)
		cfg->write_ahead = cfg->part_size * cfg->upload_threads;
	/* "warning" is what syslog calls it; accept it rather than refuse */
	if ((v = val(c, sec, "log_level")) && strcasecmp(v, "warning") == 0)
		level = LOG_LVL_WARN;
	else if (get_enum(c, sec, "log_level", levels, &level) < 0)
		return -1;
	cfg->log_level = level;

	ms = cfg->reaper_interval_s * SEC_MS;
	if (get_ms(c, sec, "reaper_interval", SEC_MS, 365 * DAY_MS, &ms) < 0)
		return -1;
	cfg->reaper_interval_s = (long)(ms / SEC_MS);
	ms = cfg->reaper_max_age_s * SEC_MS;
	if (get_ms(c, sec, "reaper_max_age", SEC_MS, 365 * DAY_MS, &ms) < 0)
		return -1;
	cfg->reaper_max_age_s = (long)(ms / SEC_MS);
	ms = (long long)(cfg->attr_timeout * 1000);
	if (get_ms(c, sec, "attr_timeout", 0, DAY_MS, &ms) < 0)
		return -1;
	cfg->attr_timeout = (double)ms / 1000.0;
	ms = (long long)(cfg->negative_timeout * 1000);
	if (get_ms(c, sec, "negative_timeout", 0, DAY_MS, &ms) < 0)
		return -1;
	cfg->negative_timeout = (double)ms / 1000.0;
	ms = (long long)(cfg->dir_cache_timeout * 1000);
	if (get_ms(c, sec, "dir_cache_timeout", 0, DAY_MS, &ms) < 0)
		return -1;
	cfg->dir_cache_timeout = (double)ms / 1000.0;
	ms = (long long)(cfg->empty_file_delay * 1000);
	if (get_ms(c, sec, "empty_file_delay", 0, 10 * MIN_MS, &ms) < 0)
		return -1;
	cfg->empty_file_delay = (double)ms / 1000.0;
	ms = cfg->retry_max_ms;
	if (get_ms(c, sec, "retry_max_time", SEC_MS, DAY_MS, &ms) < 0)
		return -1;
	cfg->retry_max_ms = (long)ms;
	ms = cfg->connect_timeout_ms;
	if (get_ms(c, sec, "connect_timeout", 100, 10 * MIN_MS, &ms) < 0)
		return -1;
	cfg->connect_timeout_ms = (long)ms;
	ms = cfg->mount_timeout_ms;
	if (get_ms(c, sec, "mount_timeout", SEC_MS, 10 * MIN_MS, &ms) < 0)
		return -1;
	cfg->mount_timeout_ms = (long)ms;
	ms = cfg->direct_url_expiry_s * SEC_MS;
	if (get_ms(c, sec, "direct_url_expiry", SEC_MS, 7 * DAY_MS, &ms) < 0)
		return -1;
	cfg->direct_url_expiry_s = (long)(ms / SEC_MS);
	if (parse_metrics_listen(c, sec) < 0)
		return -1;

	if (cfg->read_ahead > cfg->cache_max_size) {
		char a[32], b[32];
		return fail(c, sec, "read_ahead",
			    "%s is larger than cache_max_size (%s); lower read_ahead or raise "
			    "cache_max_size",
			    fmt_size(cfg->read_ahead, a, sizeof(a)),
			    fmt_size(cfg->cache_max_size, b, sizeof(b)));
	}
	return parse_general_migration(c);
}

/* ---- connection settings ([s3] and per bucket) ---- */

static int ipv4_literal(const char *host, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return 0;
	return len > 0;
}

/* Checks http(s)://host[:port][/] and stores it without the trailing '/'
 * and with a lower-case scheme. The value is echoed only when it cannot
 * hold a password (no '@'). */
static int parse_url(struct ctx *c, const char *sec, const char *key, const char *v, char **out)
{
	const char *rest, *host, *p;
	char *norm;

	if (!*v)
		return fail(c, sec, key,
			    "empty value; write http://HOST:PORT or https://HOST, or remove the "
			    "line");
	if (strchr(v, '@'))
		return fail(c, sec, key,
			    "must not contain user:password@ (value not shown); give credentials "
			    "as access_key/secret_key or in the environment");
	if (strncasecmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		rest = v + 8;
	else
		return fail(c, sec, key,
			    "'%.100s' must start with http:// or https://; write like "
			    "http://127.0.0.1:7480 or https://s3.example.com",
			    v);
	host = rest;
	if (*host == '[') { /* IPv6 literal */
		p = strchr(host, ']');
		if (!p || p == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(p - host - 1))
			return fail(c, sec, key, "'%.100s' has a malformed IPv6 address", v);
		p++;
	} else {
		p = host + strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789.-_");
		if (p == host)
			return fail(c, sec, key,
				    "'%.100s' has no host name; write like %s//HOST:PORT", v,
				    rest == v + 7 ? "http:" : "https:");
	}
	if (*p == ':') {
		unsigned long long port;
		const char *end = parse_digits(p + 1, &port);
		if (!end || port == 0 || port > 65535)
			return fail(c, sec, key, "'%.100s' has a bad port; use 1 to 65535", v);
		p = end;
	}
	if (*p == '/' && p[1] == '\0')
		p++;
	if (*p)
		return fail(c, sec, key,
			    "'%.100s' has something after host[:port]; give only "
			    "scheme://host[:port] (s3csfs adds the bucket and key itself)",
			    v);
	norm = strdup(v);
	if (!norm)
		return fail(c, NULL, NULL, "out of memory");
	for (char *s = norm; *s != ':'; s++)
		*s = (char)tolower((unsigned char)*s);
	if (norm[strlen(norm) - 1] == '/')
		norm[strlen(norm) - 1] = '\0';
	free(*out);
	*out = norm;
	return 0;
}

static int parse_endpoint(struct ctx *c, const char *sec, const char *v, char **out)
{
	return parse_url(c, sec, "endpoint", v, out);
}

/* aws_profile, role_arn, proxy, sts_endpoint (credentials and networks). */
static int parse_conn_net(struct ctx *c, const char *sec, struct s3_conn_conf *conn)
{
	const char *v;

	if ((v = val(c, sec, "aws_profile"))) {
		if (!*v || strlen(v) > 128 ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789_.-+=@,") != strlen(v))
			return fail(c, sec, "aws_profile",
				    "'%.64s' is not a profile name of ~/.aws/config or "
				    "~/.aws/credentials (letters, digits, _ . - + = @ ,)",
				    v);
		if (conn->access_key)
			return fail(c, sec, "aws_profile",
				    "access_key and aws_profile are both set here; keep one");
		if (set_str(c, &conn->aws_profile, v) < 0)
			return -1;
	}
	if ((v = val(c, sec, "role_arn"))) {
		if (strncmp(v, "arn:", 4) != 0 || strstr(v, ":role/") == NULL || strlen(v) > 2048 ||
		    strpbrk(v, " \t"))
			return fail(c, sec, "role_arn",
				    "'%.100s' is not a role ARN; write like "
				    "arn:aws:iam::123456789012:role/NAME",
				    v);
		if (set_str(c, &conn->role_arn, v) < 0)
			return -1;
	}
	if ((v = val(c, sec, "proxy"))) {
		if (strcasecmp(v, "none") == 0) {
			if (set_str(c, &conn->proxy, "none") < 0)
				return -1;
		} else if (parse_url(c, sec, "proxy", v, &conn->proxy) < 0) {
			return -1;
		}
	}
	if ((v = val(c, sec, "sts_endpoint")) &&
	    parse_url(c, sec, "sts_endpoint", v, &conn->sts_endpoint) < 0)
		return -1;
	return 0;
}

/* profile = aws and no endpoint key: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
 * (as the AWS SDKs read them), else the regional endpoint, with FIPS
 * and dual-stack when asked. */
static int aws_endpoint(struct ctx *c, const char *sec, const char *region, char *out, size_t outlen)
{
	static const char *const envs[] = { "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL" };
	const struct config *cfg = c->cfg;
	char *ep = NULL;

	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(envs[i]);
		if (!v || !*v)
			continue;
		if (parse_url(c, sec, envs[i], v, &ep) < 0)
			return -1;
		snprintf(out, outlen, "%s", ep);
		free(ep);
		return 0;
	}
	snprintf(out, outlen, "https://s3%s.%s%s.amazonaws.com%s", cfg->use_fips ? "-fips" : "",
		 cfg->use_dualstack ? "dualstack." : "", region,
		 strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	return 0;
}

/* profile = aws and no region key: AWS_REGION, AWS_DEFAULT_REGION, then
 * the region of the profile (aws_profile, AWS_PROFILE or default) in the
 * shared config file (AWS_CONFIG_FILE or ~/.aws/config). "" if none. */
static void aws_region(const struct s3_conn_conf *own, const struct s3_conn_conf *g, char *out,
		       size_t outlen)
{
	const char *v = getenv("AWS_REGION"), *home = getenv("HOME"), *file, *prof;
	char path[4096], key[300];
	dictionary *d;

	out[0] = '\0';
	if (!v || !*v)
		v = getenv("AWS_DEFAULT_REGION");
	if (v && *v && strlen(v) < 64) {
		snprintf(out, outlen, "%s", v);
		return;
	}
	file = getenv("AWS_CONFIG_FILE");
	if ((!file || !*file) && home && *home) {
		snprintf(path, sizeof(path), "%s/.aws/config", home);
		file = path;
	}
	if (!file || !*file || access(file, R_OK) != 0 || !(d = iniparser_load(file)))
		return;
	prof = own->aws_profile ? own->aws_profile
	       : g->aws_profile ? g->aws_profile
				: getenv("AWS_PROFILE");
	if (!prof || !*prof)
		prof = "default";
	snprintf(key, sizeof(key), "profile %s:region", prof);
	v = iniparser_getstring(d, key, NULL);
	if (!v && strcmp(prof, "default") == 0)
		v = iniparser_getstring(d, "default:region", NULL);
	if (v && *v && strlen(v) < 64 &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(v))
		snprintf(out, outlen, "%s", v);
	iniparser_freedict(d);
}

/* A credential value: not shown in any message, whatever is wrong. */
static int get_secretish(struct ctx *c, const char *sec, const char *key, size_t max, char **out)
{
	const char *v = val(c, sec, key);

	if (!v)
		return 0;
	if (!*v)
		return fail(c, sec, key,
			    "empty value; remove the line to take credentials from the "
			    "environment, the shared credentials file or instance metadata");
	if (strlen(v) > max)
		return fail(c, sec, key, "longer than %zu characters (value not shown); check it",
			    max);
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return fail(c, sec, key,
				    "contains a space or control character (value not shown); "
				    "check for a stray character or a split line");
	return set_str(c, out, v);
}

static int parse_conn(struct ctx *c, const char *sec, struct s3_conn_conf *conn)
{
	static const char *const addressing[] = { "path", "virtual", NULL };
	const char *v;
	int a = -1;

	*conn = (struct s3_conn_conf){ .path_style = -1, .insecure = -1 };
	if ((v = val(c, sec, "endpoint")) && parse_endpoint(c, sec, v, &conn->endpoint) < 0)
		return -1;
	if ((v = val(c, sec, "region"))) {
		if (!*v || strlen(v) > 64 ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
			    strlen(v))
			return fail(c, sec, "region",
				    "'%.64s' is not a region name; use letters, digits and '-', "
				    "like us-east-1 (on-premises stores usually accept us-east-1 "
				    "or their zonegroup name)",
				    v);
		if (set_str(c, &conn->region, v) < 0)
			return -1;
	}
	if (get_enum(c, sec, "addressing", addressing, &a) < 0)
		return -1;
	if (a >= 0)
		conn->path_style = a == 0;
	if (get_secretish(c, sec, "access_key", ACCESS_KEY_MAX, &conn->access_key) < 0 ||
	    get_secretish(c, sec, "secret_key", SECRET_KEY_MAX, &conn->secret_key) < 0 ||
	    get_secretish(c, sec, "session_token", SESSION_TOKEN_MAX, &conn->session_token) < 0)
		return -1;
	if (conn->access_key && !conn->secret_key)
		return fail(c, sec, "secret_key",
			    "access_key is set but secret_key is not; set both in this section "
			    "or neither");
	if (conn->secret_key && !conn->access_key)
		return fail(c, sec, "access_key",
			    "secret_key is set but access_key is not; set both in this section "
			    "or neither");
	if (conn->session_token && !conn->access_key)
		return fail(c, sec, "session_token",
			    "a session token belongs to an access_key/secret_key pair; set them "
			    "in this section too");
	if ((v = val(c, sec, "ca_bundle"))) {
		if (absolute_path(c, sec, "ca_bundle", v) < 0)
			return -1;
		if (access(v, R_OK) < 0)
			return fail(c, sec, "ca_bundle", "cannot read '%.200s': %s; fix the path",
				    v, strerror(errno));
		if (set_str(c, &conn->ca_bundle, v) < 0)
			return -1;
	}
	if (parse_conn_net(c, sec, conn) < 0)
		return -1;
	return get_bool(c, sec, "insecure", &conn->insecure);
}

static int dup_or_null(struct ctx *c, const char *s, char **out)
{
	*out = NULL;
	return s ? set_str(c, out, s) : 0;
}

/* The bucket's effective connection: its own keys over [s3]'s, then the
 * profile's defaults. Credentials travel as one set: a bucket naming its
 * own access_key never borrows [s3]'s session token. */
static int resolve_conn(struct ctx *c, const char *sec, const struct s3_conn_conf *own,
			const char *bucket_name, struct s3_conn_conf *eff)
{
	const struct config *cfg = c->cfg;
	const struct s3_conn_conf *g = &cfg->s3;
	const struct s3_conn_conf *cred = own->access_key ? own : g;
	const char *region = own->region ? own->region : g->region ? g->region : "us-east-1";
	const char *ep = own->endpoint ? own->endpoint : g->endpoint;
	char awsep[300], awsregion[64];

	if (!own->region && !g->region && cfg->profile == PROFILE_AWS) {
		aws_region(own, g, awsregion, sizeof(awsregion));
		if (awsregion[0])
			region = awsregion;
	}
	if (!ep) {
		if (cfg->profile != PROFILE_AWS)
			return fail(c, sec, "endpoint",
				    "profile = onprem needs an endpoint; set endpoint = "
				    "http(s)://HOST:PORT in [s3] or in [%s]",
				    sec);
		if (aws_endpoint(c, sec, region, awsep, sizeof(awsep)) < 0)
			return -1;
		ep = awsep;
	}
#define INHERIT(f) dup_or_null(c, own->f ? own->f : g->f, &eff->f)
	if (INHERIT(aws_profile) < 0 || INHERIT(role_arn) < 0 || INHERIT(proxy) < 0 ||
	    INHERIT(sts_endpoint) < 0)
		return -1;
#undef INHERIT
	/* A bucket's own keys beat an inherited profile, and the reverse. */
	if (own->access_key && !own->aws_profile) {
		free(eff->aws_profile);
		eff->aws_profile = NULL;
	}
	if (own->aws_profile && !own->access_key)
		cred = own;
	if (dup_or_null(c, ep, &eff->endpoint) < 0 || dup_or_null(c, region, &eff->region) < 0 ||
	    dup_or_null(c, cred->access_key, &eff->access_key) < 0 ||
	    dup_or_null(c, cred->secret_key, &eff->secret_key) < 0 ||
	    dup_or_null(c, cred->session_token, &eff->session_token) < 0 ||
	    dup_or_null(c, own->ca_bundle ? own->ca_bundle : g->ca_bundle, &eff->ca_bundle) < 0)
		return -1;
	eff->path_style = own->path_style >= 0 ? own->path_style
			  : g->path_style >= 0 ? g->path_style
					       : cfg->profile == PROFILE_ONPREM;
	eff->insecure = own->insecure >= 0 ? own->insecure : g->insecure >= 0 ? g->insecure : 0;

	if (!eff->path_style) {
		const char *host = strstr(eff->endpoint, "://") + 3;
		size_t hlen = strcspn(host, ":/");

		if (*host == '[' || ipv4_literal(host, hlen))
			return fail(c, sec, "addressing",
				    "virtual-hosted addressing puts the bucket in the host name, "
				    "which an IP address endpoint (%.64s) cannot take; set "
				    "addressing = path",
				    eff->endpoint);
		if (strchr(bucket_name, '.') && strncmp(eff->endpoint, "https:", 6) == 0 &&
		    !eff->insecure)
			return fail(c, sec, "addressing",
				    "bucket name '%s' has a '.', which breaks TLS certificate checks "
				    "with virtual-hosted addressing over https; set addressing = path",
				    bucket_name);
	}
	return 0;
}

/* ---- [bucket:NAME] ---- */

/* S3 bucket naming rules (general purpose buckets). */
static const char *bad_bucket_name(const char *n)
{
	size_t len = strlen(n);

	if (len < 3 || len > 63)
		return "must be 3 to 63 characters long";
	if (strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789.-") != len)
		return "may only hold lower-case letters, digits, '.' and '-'";
	if (!isalnum((unsigned char)n[0]) || !isalnum((unsigned char)n[len - 1]))
		return "must begin and end with a letter or digit";
	if (strstr(n, "..") || strstr(n, ".-") || strstr(n, "-."))
		return "must not hold '..', '.-' or '-.'";
	if (ipv4_literal(n, len))
		return "must not look like an IP address";
	if (strncmp(n, "xn--", 4) == 0 || strncmp(n, "sthree-", 7) == 0)
		return "must not begin with 'xn--' or 'sthree-'";
	if ((len > 8 && strcmp(n + len - 8, "-s3alias") == 0) ||
	    (len > 7 && strcmp(n + len - 7, "--ol-s3") == 0))
		return "must not end with '-s3alias' or '--ol-s3'";
	return NULL;
}

/* YYYY-MM-DD, a real calendar day, as YYYYMMDD. */
static int parse_date(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	return y * 10000 + m * 100 + d;
}

static int get_date(struct ctx *c, const char *sec, const char *key, int *out)
{
	const char *v = val(c, sec, key);

	if (!v)
		return 0;
	*out = parse_date(v);
	if (*out < 0) {
		*out = 0;
		return fail(c, sec, key,
			    "'%.64s' is not a valid date; write YYYY-MM-DD with a real day from "
			    "1970 on, like 2024-01-01",
			    v);
	}
	return 0;
}

static int check_glob(struct ctx *c, const char *sec, const char *g, size_t idx)
{
	const char *dstar = strstr(g, "**");
	size_t len = strlen(g);

	if (!*g)
		return fail(c, sec, "paths",
			    "empty glob (item %zu); remove the extra comma, or write globs like "
			    "contentstore.deleted/**",
			    idx);
	if (g[0] == '/')
		return fail(c, sec, "paths",
			    "glob '%.100s' must not start with '/'; globs match paths relative to "
			    "the mount, like 2019/**",
			    g);
	for (const char *p = g; *p; p++)
		if (iscntrl((unsigned char)*p))
			return fail(c, sec, "paths", "glob item %zu holds a control character", idx);
	/* "**" means a whole tree only at the end, after a slash (mapping.c) */
	if (dstar && !(dstar == g + len - 2 && len >= 3 && g[len - 3] == '/'))
		return fail(c, sec, "paths",
			    "glob '%.100s': '**' is only allowed as a trailing '/**' (DIR/** takes "
			    "the whole tree under DIR)",
			    g);
	for (const char *p = g; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			const char *q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			q = strchr(q, ']');
			if (!q)
				return fail(c, sec, "paths", "glob '%.100s' has a '[' without ']'",
					    g);
			p = q;
		}
	}
	return 0;
}

static int parse_paths(struct ctx *c, const char *sec, const char *v, struct bucket_conf *b)
{
	char *copy = strdup(v), *item, *save = NULL, *p;
	size_t n = 1, idx = 0;

	if (!copy)
		return fail(c, NULL, NULL, "out of memory");
	for (p = copy; *p; p++)
		n += *p == ',';
	b->paths = calloc(n, sizeof(*b->paths));
	if (!b->paths) {
		free(copy);
		return fail(c, NULL, NULL, "out of memory");
	}
	/* strtok would merge ",,": walk by hand so an empty item is seen */
	for (item = copy;; item = save) {
		char *comma = strchr(item, ',');
		char *g;

		save = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		g = trim(item);
		idx++;
		if (check_glob(c, sec, g, idx) < 0)
			goto fail;
		if (!(b->paths[b->npaths] = strdup(g))) {
			fail(c, NULL, NULL, "out of memory");
			goto fail;
		}
		b->npaths++;
		if (!save)
			break;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

static int url_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%') {
			if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return 0;
			i += 2;
		} else if (!isalnum(ch) && !strchr("-_.~+:/@", ch)) {
			return 0;
		}
	}
	return 1;
}

/* "k=v&k2=v2", URL-encoded, as the x-amz-tagging header takes it. */
static int check_tags(struct ctx *c, const char *sec, const char *v)
{
	const char *p = v;
	const char *keys[11];
	size_t klen[11], n = 0;

	for (;;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);

		if (len == 0 || !eq || eq == p)
			return fail(c, sec, "tags",
				    "'%.100s' is not a list of KEY=VALUE pairs joined by '&'; "
				    "write like retention=7y&owner=ecm",
				    v);
		if (!url_safe(p, (size_t)(eq - p)) || !url_safe(eq + 1, len - (size_t)(eq - p) - 1))
			return fail(c, sec, "tags",
				    "'%.100s' must be URL-encoded (letters, digits, - _ . ~ and %%XX "
				    "escapes)",
				    v);
		if (n == 10)
			return fail(c, sec, "tags", "S3 allows at most 10 tags per object");
		for (size_t i = 0; i < n; i++)
			if (klen[i] == (size_t)(eq - p) && memcmp(keys[i], p, klen[i]) == 0)
				return fail(c, sec, "tags", "tag '%.*s' is given twice; keep one",
					    (int)klen[i], keys[i]);
		keys[n] = p;
		klen[n++] = (size_t)(eq - p);
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int parse_key_prefix(struct ctx *c, const char *sec, const char *v, struct bucket_conf *b)
{
	size_t len = strlen(v);
	char *s;

	if (v[0] == '/')
		return fail(c, sec, "key_prefix",
			    "'%.100s' must not start with '/'; S3 keys have no leading slash, "
			    "write like alfresco/",
			    v);
	if (len > 512)
		return fail(c, sec, "key_prefix", "longer than 512 characters; shorten it");
	for (const char *p = v; *p; p++)
		if (iscntrl((unsigned char)*p))
			return fail(c, sec, "key_prefix", "holds a control character");
	if (strstr(v, "//"))
		return fail(c, sec, "key_prefix",
			    "'%.100s' holds an empty component ('//'); remove the extra '/'", v);
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return fail(c, sec, "key_prefix",
				    "'%.100s' holds a '.' or '..' component; S3 tools treat those "
				    "badly",
				    v);
		p += n;
		if (*p)
			p++;
	}
	s = malloc(len + 2);
	if (!s)
		return fail(c, NULL, NULL, "out of memory");
	memcpy(s, v, len + 1);
	if (len && s[len - 1] != '/') /* "alfresco" and "alfresco/" are one prefix */
		memcpy(s + len, "/", 2);
	free(b->key_prefix);
	b->key_prefix = s;
	return 0;
}

static int parse_on_delete(struct ctx *c, const char *sec, const char *v, struct bucket_conf *b)
{
	const char *kv, *eq;

	if (strcasecmp(v, "delete") == 0)
		return 0;
	if (strncasecmp(v, "tag:", 4) != 0)
		goto bad;
	kv = v + 4;
	eq = strchr(kv, '=');
	if (!eq || eq == kv || eq - kv > 128 || strlen(eq + 1) > 256)
		goto bad;
	for (const char *p = kv; *p; p++)
		if (iscntrl((unsigned char)*p))
			goto bad;
	b->on_delete = malloc(strlen(v) + 1);
	if (!b->on_delete)
		return fail(c, NULL, NULL, "out of memory");
	memcpy(b->on_delete, "tag:", 4);
	strcpy(b->on_delete + 4, kv);
	return 0;
bad:
	return fail(c, sec, "on_delete",
		    "'%.100s' is not 'delete' or 'tag:KEY=VALUE' (KEY 1 to 128 characters, VALUE up "
		    "to 256); write like on_delete = tag:deleted=true",
		    v);
}

/* checksum = auto | crc64nvme | crc32c | md5: the section's, else [s3]'s. */
static int parse_checksum(struct ctx *c, const char *sec, struct bucket_conf *b)
{
	static const char *const modes[] = { "auto", "crc64nvme", "crc32c", "md5", NULL };
	int m = CHECKSUM_AUTO;

	if (get_enum(c, "s3", "checksum", modes, &m) < 0 ||
	    get_enum(c, sec, "checksum", modes, &m) < 0)
		return -1;
	b->checksum = (enum checksum_mode)m;
	return 0;
}

/* archive_storage_class, restore_*, object_lock and retention. Names are
 * stored as S3 spells them, whatever case the file uses. */
static int parse_archive_lock(struct ctx *c, const char *sec, struct bucket_conf *b)
{
	static const char *const archive[] = { "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", NULL };
	static const char *const on_read[] = { "off", "Standard", "Bulk", NULL };
	static const char *const tiers[] = { "Standard", "Bulk", "Expedited", NULL };
	static const char *const locks[] = { "off", "GOVERNANCE", "COMPLIANCE", NULL };
	int i = -1;
	long long ms = 2192 * DAY_MS; /* the reference connector's worm.retentionPeriod */

	b->restore_days = 1;
	if (get_enum(c, sec, "archive_storage_class", archive, &i) < 0 ||
	    (i >= 0 && set_str(c, &b->archive_storage_class, archive[i]) < 0))
		return -1;
	i = 0;
	if (get_enum(c, sec, "restore_on_read", on_read, &i) < 0 ||
	    (i > 0 && set_str(c, &b->restore_on_read, on_read[i]) < 0))
		return -1;
	i = 0;
	if (get_enum(c, sec, "restore_tier", tiers, &i) < 0 ||
	    set_str(c, &b->restore_tier, tiers[i]) < 0 ||
	    get_int(c, sec, "restore_days", 1, 30000, &b->restore_days) < 0)
		return -1;
	i = 0;
	if (get_enum(c, sec, "object_lock", locks, &i) < 0 ||
	    (i > 0 && set_str(c, &b->object_lock, locks[i]) < 0))
		return -1;
	if (get_ms(c, sec, "retention", SEC_MS, 36500 * DAY_MS, &ms) < 0)
		return -1;
	if (!b->object_lock && val(c, sec, "retention"))
		return fail(c, sec, "retention",
			    "only used with object_lock = governance or compliance; set "
			    "object_lock or remove retention");
	b->retention_s = b->object_lock ? ms / SEC_MS : 0;
	return 0;
}

static int parse_bucket(struct ctx *c, const char *sec, struct bucket_conf *b, int *dflt,
			struct s3_conn_conf *own)
{
	static const char *const layouts[] = { "date", "flat", NULL };
	const char *v, *why;
	int layout = KEY_LAYOUT_DATE;

	if (set_str(c, &b->id, sec + strlen("bucket:")) < 0)
		return -1;
	v = val(c, sec, "name");
	if (!v)
		return fail(c, sec, "name", "missing; set name = the S3 bucket's name");
	if ((why = bad_bucket_name(v)))
		return fail(c, sec, "name",
			    "'%.64s' is not a valid S3 bucket name: %s; rename or fix it", v, why);
	if (set_str(c, &b->name, v) < 0 || get_bool(c, sec, "default", dflt) < 0)
		return -1;
	if ((v = val(c, sec, "paths")) && parse_paths(c, sec, v, b) < 0)
		return -1;
	if (get_date(c, sec, "from", &b->from_date) < 0 ||
	    get_date(c, sec, "until", &b->until_date) < 0)
		return -1;
	if (b->from_date && b->until_date && b->from_date >= b->until_date)
		return fail(c, sec, "until",
			    "from (%s) must be before until (%s): from is inclusive, until "
			    "exclusive; swap or fix them",
			    val(c, sec, "from"), val(c, sec, "until"));
	if (set_str(c, &b->key_prefix, "") < 0)
		return -1;
	if ((v = val(c, sec, "key_prefix")) && parse_key_prefix(c, sec, v, b) < 0)
		return -1;
	if (get_enum(c, sec, "key_layout", layouts, &layout) < 0)
		return -1;
	b->key_layout = layout == 1 ? KEY_LAYOUT_FLAT : KEY_LAYOUT_DATE;
	if ((v = val(c, sec, "storage_class"))) {
		int i = 0;
		char list[256];

		while (storage_classes[i] && strcasecmp(v, storage_classes[i]) != 0)
			i++;
		if (!storage_classes[i]) {
			join(list, sizeof(list), storage_classes);
			return fail(c, sec, "storage_class",
				    "unknown storage class '%.64s'; use one of %s", v, list);
		}
		if (set_str(c, &b->storage_class, storage_classes[i]) < 0)
			return -1;
	}
	if ((v = val(c, sec, "sse"))) {
		if (strcasecmp(v, "AES256") == 0) {
			if (set_str(c, &b->sse, "AES256") < 0)
				return -1;
		} else if (strcasecmp(v, "aws:kms") == 0) {
			if (set_str(c, &b->sse, "aws:kms") < 0)
				return -1;
		} else if (strcasecmp(v, "none") != 0) {
			return fail(c, sec, "sse",
				    "'%.64s' is not one of none, AES256, aws:kms (customer-provided "
				    "keys, SSE-C, are not supported)",
				    v);
		}
	}
	if ((v = val(c, sec, "sse_kms_key_id"))) {
		if (!b->sse || strcmp(b->sse, "aws:kms") != 0)
			return fail(c, sec, "sse_kms_key_id",
				    "only used with sse = aws:kms; set sse = aws:kms or remove "
				    "sse_kms_key_id");
		if (!*v || strlen(v) > 2048 || strcspn(v, " \t\r\n") != strlen(v))
			return fail(c, sec, "sse_kms_key_id",
				    "not a KMS key id, ARN or alias; remove the line to use the "
				    "account's default key");
		if (set_str(c, &b->sse_kms_key_id, v) < 0)
			return -1;
	}
	if ((v = val(c, sec, "tags")) && *v) {
		if (check_tags(c, sec, v) < 0 || set_str(c, &b->tags, v) < 0)
			return -1;
	}
	if ((v = val(c, sec, "on_delete")) && parse_on_delete(c, sec, v, b) < 0)
		return -1;
	static const char *const excl_modes[] = { "best_effort", "strict", NULL };
	int excl = EXCL_BEST_EFFORT;
	if (get_enum(c, sec, "exclusive_create", excl_modes, &excl) < 0)
		return -1;
	b->exclusive_create = excl == 1 ? EXCL_STRICT : EXCL_BEST_EFFORT;
	if (parse_checksum(c, sec, b) < 0)
		return -1;
	if (parse_archive_lock(c, sec, b) < 0)
		return -1;
	return parse_conn(c, sec, own);
}

static void conn_free(struct s3_conn_conf *conn)
{
	free(conn->endpoint);
	free(conn->region);
	wipe_free(conn->access_key);
	wipe_free(conn->secret_key);
	wipe_free(conn->session_token);
	free(conn->ca_bundle);
	free(conn->aws_profile);
	free(conn->role_arn);
	free(conn->proxy);
	free(conn->sts_endpoint);
	*conn = (struct s3_conn_conf){ .path_style = -1, .insecure = -1 };
}

/* The default bucket (rules in s3csfs.conf(5)) and that every other bucket
 * can be reached. */
static int pick_default(struct ctx *c, const int *dflt)
{
	struct config *cfg = c->cfg;
	char names[512];
	struct dynbuf d;
	size_t ntrue = 0;
	int first = -1;

	dynbuf_init_fixed(&d, names, sizeof(names));
	for (size_t i = 0; i < cfg->nbuckets; i++)
		if (dflt[i] == 1) {
			/* a name that does not fit is left out */
			(void)dynbuf_addf(&d, "%s[bucket:%s]", ntrue ? " and " : "",
					  cfg->buckets[i].id);
			if (first < 0)
				first = (int)i;
			ntrue++;
		}
	if (ntrue > 1)
		return fail(c, NULL, NULL,
			    "%s %s say default = true; exactly one bucket is the default, keep "
			    "it in one",
			    names, ntrue == 2 ? "both" : "all");
	if (ntrue == 0 && cfg->nbuckets == 1 && dflt[0] < 0)
		first = 0;
	if (first < 0) {
		dynbuf_reset(&d);
		for (size_t i = 0; i < cfg->nbuckets; i++)
			(void)dynbuf_addf(&d, "%s[bucket:%s]", i ? ", " : "", cfg->buckets[i].id);
		return fail(c, NULL, NULL,
			    "no default bucket among %s; set default = true in the one that "
			    "takes every path no other bucket takes",
			    names);
	}
	cfg->default_bucket = first;
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		struct bucket_conf *b = &cfg->buckets[i];
		char sec[300];
		int ranged = b->npaths || b->from_date || b->until_date;

		b->is_default = (int)i == first;
		snprintf(sec, sizeof(sec), "bucket:%s", b->id);
		if (b->is_default && ranged)
			return fail(c, sec, NULL,
				    "the default bucket takes every path no other bucket takes, so "
				    "paths/from/until here would be ignored; remove them, or make "
				    "another bucket the default");
		if (!b->is_default && !ranged)
			return fail(c, sec, NULL,
				    "not the default and has no paths, from or until, so no path "
				    "could ever go to it; add paths = GLOB[, GLOB...] and/or from/until "
				    "= YYYY-MM-DD");
	}
	return 0;
}

/* ---- structure checks ---- */

static int is_bucket_sec(const char *name)
{
	return strncmp(name, "bucket:", 7) == 0;
}

static int check_sections(struct ctx *c)
{
	static const char *const known[] = { "general", "s3", NULL };
	size_t nb = 0;

	for (size_t i = 0; i < c->nsecs; i++) {
		const struct scan_sec *s = &c->secs[i];
		const char *const *keys;

		if (is_bucket_sec(s->name)) {
			const char *id = s->name + 7;
			if (!*id)
				return fail(c, s->name, NULL,
					    "a bucket section needs a name, like [bucket:main]");
			if (strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(id) ||
			    strlen(id) > 64)
				return fail(c, s->name, NULL,
					    "section name after 'bucket:' may only hold a-z, 0-9, "
					    "'_', '.' and '-' (at most 64)");
			keys = bucket_keys;
			nb++;
		} else if (strcmp(s->name, "general") == 0) {
			keys = general_keys;
		} else if (strcmp(s->name, "s3") == 0) {
			keys = s3_keys;
		} else {
			const char *guess = closest(known, s->name);
			if (strcmp(s->name, "bucket") == 0 || strncmp(s->name, "bucket", 6) == 0)
				return fail(c, s->name, NULL,
					    "unknown section; bucket sections are named "
					    "[bucket:NAME], like [bucket:main]");
			return fail(c, s->name, NULL,
				    "unknown section;%s%s%s known sections: [general], [s3], "
				    "[bucket:NAME]",
				    guess ? " did you mean [" : "", guess ? guess : "",
				    guess ? "]?" : "");
		}
		for (size_t k = 0; k < s->nkeys; k++)
			if (!in_list(keys, s->keys[k].name))
				return unknown_key(c, s->name, s->keys[k].name, keys);
	}
	if (nb == 0)
		return fail(c, NULL, NULL,
			    "no [bucket:NAME] section; add one, like [bucket:main] with name = "
			    "BUCKET");
	c->cfg->nbuckets = nb;
	return 0;
}

/* Secrets in a file others can read are secrets no more. */
static int check_mode(struct ctx *c, const struct stat *st)
{
	const char *what = NULL;

	for (size_t i = 0; i < c->nsecs && !what; i++)
		for (size_t k = 0; k < c->secs[i].nkeys && !what; k++)
			if (strcmp(c->secs[i].keys[k].name, "secret_key") == 0 ||
			    strcmp(c->secs[i].keys[k].name, "session_token") == 0)
				what = c->secs[i].keys[k].name;
	if (!what || !(st->st_mode & 077))
		return 0;
	return fail(c, NULL, NULL,
		    "contains %s but is %s by group/others (mode %04o); run: chmod 600 %s", what,
		    (st->st_mode & 044) ? "readable" : "accessible",
		    (unsigned)(st->st_mode & 07777), c->path);
}

/* ---- load ---- */

static void defaults(struct config *cfg)
{
	*cfg = (struct config){
		.profile = PROFILE_ONPREM,
		.cache_max_size = 10 * GiB,
		.part_size = 16 * MiB,
		.upload_threads = 8,
		.max_queued_uploads = 1024,
		.upload = UPLOAD_SYNC,
		.journal_fsync = 1,
		.log_level = LOG_LVL_INFO,
		.reaper_enabled = 1,
		.reaper_interval_s = 3600,
		.reaper_max_age_s = 86400,
		.attr_timeout = 60,
		.negative_timeout = 1,
		.max_nodes = 32768,
		.dir_cache_timeout = 120,
		.empty_file_delay = 2,
		.read_ahead = 32 * MiB,
		.write_ahead = -1,
		.max_retries = 8,
		.retry_max_ms = 60000,
		.connect_timeout_ms = 5000,
		.mount_timeout_ms = 10000,
		.direct_url_expiry_s = 300,
		.price_put = 0.005,
		.price_get = 0.0004,
		.s3 = { .path_style = -1, .insecure = -1 },
	};
}

static int load(struct ctx *c)
{
	struct config *cfg = c->cfg;
	struct stat st;
	char iobuf[4096];
	FILE *f;
	int rc, *dflt = NULL;
	struct s3_conn_conf *own = NULL;
	size_t b = 0;
	const char *v;

	f = fopen(c->path, "r");
	if (!f)
		return fail(c, NULL, NULL, "cannot read: %s; check the path (conf=FILE)",
			    strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return fail(c, NULL, NULL, "not a regular file; give the path of s3csfs.conf");
	}
	/* our buffer, so that the bytes stdio held (secrets) can be wiped; if
	 * refused, stdio keeps its own and only that wipe is lost */
	(void)setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	rc = scan_file(c, f);
	fclose(f);
	explicit_bzero(iobuf, sizeof(iobuf));
	if (rc < 0)
		return -1;
	if (check_mode(c, &st) < 0 || check_sections(c) < 0)
		return -1;
	if (set_str(c, &cfg->path, c->path) < 0 ||
	    set_str(c, &cfg->cache_dir, "/var/cache/s3csfs") < 0 || parse_general(c) < 0)
		return -1;
	if ((v = val(c, "s3", "profile"))) {
		static const char *const profiles[] = { "onprem", "aws", NULL };
		int p = 0;
		if (get_enum(c, "s3", "profile", profiles, &p) < 0)
			return -1;
		cfg->profile = p == 1 ? PROFILE_AWS : PROFILE_ONPREM;
	}
	if (parse_conn(c, "s3", &cfg->s3) < 0 || get_bool(c, "s3", "use_fips", &cfg->use_fips) < 0 ||
	    get_bool(c, "s3", "use_dualstack", &cfg->use_dualstack) < 0)
		return -1;

	cfg->buckets = calloc(cfg->nbuckets, sizeof(*cfg->buckets));
	dflt = calloc(cfg->nbuckets, sizeof(*dflt));
	own = calloc(cfg->nbuckets, sizeof(*own));
	rc = -1;
	if (!cfg->buckets || !dflt || !own) {
		fail(c, NULL, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c->nsecs; i++) {
		const char *sec = c->secs[i].name;
		if (!is_bucket_sec(sec))
			continue;
		dflt[b] = -1;
		cfg->buckets[b].conn = (struct s3_conn_conf){ .path_style = -1, .insecure = -1 };
		own[b] = cfg->buckets[b].conn;
		if (parse_bucket(c, sec, &cfg->buckets[b], &dflt[b], &own[b]) < 0 ||
		    resolve_conn(c, sec, &own[b], cfg->buckets[b].name, &cfg->buckets[b].conn) < 0)
			goto out;
		b++;
	}
	if (pick_default(c, dflt) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; own && i < cfg->nbuckets; i++)
		conn_free(&own[i]);
	free(own);
	free(dflt);
	return rc;
}

int config_load(const char *path, struct config *out, char *err, size_t errlen)
{
	struct ctx c = { .path = path ? path : "(null)", .err = err, .errlen = errlen, .cfg = out };
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -1;
	defaults(out);
	if (!path || !*path)
		rc = fail(&c, NULL, NULL, "no configuration file given; use -o conf=FILE");
	else
		rc = load(&c);
	scan_free(&c);
	if (rc < 0)
		config_free(out); /* leaves it zeroed: config_free again is harmless */
	return rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->buckets && i < cfg->nbuckets; i++) {
		struct bucket_conf *b = &cfg->buckets[i];
		for (size_t k = 0; k < b->npaths; k++)
			free(b->paths[k]);
		free(b->paths);
		free(b->id);
		free(b->name);
		free(b->key_prefix);
		free(b->storage_class);
		free(b->sse);
		free(b->sse_kms_key_id);
		free(b->tags);
		free(b->on_delete);
		free(b->archive_storage_class);
		free(b->restore_on_read);
		free(b->restore_tier);
		free(b->object_lock);
		conn_free(&b->conn);
	}
	free(cfg->buckets);
	conn_free(&cfg->s3);
	free(cfg->path);
	free(cfg->cache_dir);
	free(cfg->fallback_dir);
	free(cfg->metrics_host);
	memset(cfg, 0, sizeof(*cfg));
}
