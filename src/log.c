/* log.c - syslog or stderr lines with a level, secrets redacted. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_stderr = 1;
static volatile enum log_level log_threshold = LOG_LVL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_init(int to_stderr, enum log_level level)
{
	log_stderr = to_stderr;
	log_threshold = level;
	if (!to_stderr)
		openlog("s3csfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_reopen(void)
{
	if (!log_stderr) {
		closelog();
		openlog("s3csfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level log_get_level(void)
{
	return log_threshold;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	if (strcmp(name, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

/* ---- secrets ---- */

#define REDACTED "[REDACTED]"
/* A cut line may hold only the start of a secret: that much of it is
 * enough to redact. Shorter secrets match whole only. */
#define SECRET_PREFIX 12

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char secrets[LOG_SECRETS_MAX][LOG_SECRET_LEN_MAX + 1];
static size_t secret_len[LOG_SECRETS_MAX];
static size_t secrets_next; /* ring: a full table forgets the oldest */

void log_add_secret(const char *s)
{
	size_t n = s ? strnlen(s, LOG_SECRET_LEN_MAX + 1) : 0;

	if (n < LOG_SECRET_MIN || n > LOG_SECRET_LEN_MAX)
		return;
	size_t i = 0;

	pthread_mutex_lock(&secrets_lock);
	while (i < LOG_SECRETS_MAX && !(secret_len[i] == n && memcmp(secrets[i], s, n) == 0))
		i++;
	if (i == LOG_SECRETS_MAX) { /* not known yet */
		i = secrets_next;
		secrets_next = (secrets_next + 1) % LOG_SECRETS_MAX;
		explicit_bzero(secrets[i], sizeof(secrets[i]));
		memcpy(secrets[i], s, n);
		secret_len[i] = n;
	}
	pthread_mutex_unlock(&secrets_lock);
}

void log_forget_secrets(void)
{
	pthread_mutex_lock(&secrets_lock);
	explicit_bzero(secrets, sizeof(secrets));
	memset(secret_len, 0, sizeof(secret_len));
	secrets_next = 0;
	pthread_mutex_unlock(&secrets_lock);
}

/* Replaces buf[at, at+n) with REDACTED, keeping buf NUL-terminated
 * within cap (the tail is cut if it no longer fits). */
static void splice_redacted(char *buf, size_t cap, size_t at, size_t n)
{
	size_t len = strlen(buf), r = sizeof(REDACTED) - 1;
	size_t tail = len - at - n;

	if (at + r >= cap) {
		memcpy(buf + at, REDACTED, cap - 1 - at);
		buf[cap - 1] = '\0';
		return;
	}
	if (at + r + tail >= cap)
		tail = cap - 1 - at - r;
	memmove(buf + at + r, buf + at + n, tail);
	memcpy(buf + at, REDACTED, r);
	buf[at + r + tail] = '\0';
}

/* The longest run of a registered secret at p (left characters to the
 * end of the line): a whole secret, a start of one SECRET_PREFIX or more
 * long (a message cut inside it, then more text), or at the end of the
 * line a start of one LOG_SECRET_MIN or more long. The longest, so that
 * secrets sharing a start (tokens of one issuer do) never leave a tail. */
static size_t secret_run(const char *p, size_t left)
{
	size_t best = 0;

	for (size_t i = 0; i < LOG_SECRETS_MAX; i++) {
		size_t n = secret_len[i], m = 0;
		if (!n || *p != secrets[i][0])
			continue;
		while (m < n && m < left && p[m] == secrets[i][m])
			m++;
		if ((m == n || m >= SECRET_PREFIX || (m == left && m >= LOG_SECRET_MIN)) && m > best)
			best = m;
	}
	return best;
}

static void redact_secrets(char *buf, size_t cap)
{
	size_t len = strlen(buf);

	for (size_t at = 0; at < len;) {
		size_t m = secret_run(buf + at, len - at);
		if (!m) {
			at++;
			continue;
		}
		splice_redacted(buf, cap, at, m);
		at += sizeof(REDACTED) - 1;
		len = strlen(buf);
	}
}

/* The value after each credential-bearing name, whoever's it is: a
 * header ("x-amz-security-token: V", "Authorization: V"), a query or
 * canonical-request field ("X-Amz-Security-Token=V", "Signature=V"). */
static void redact_fields(char *buf, size_t cap)
{
	static const char *const names[] = { "x-amz-security-token", "signature", "authorization" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t nl = strlen(names[i]);
		char *p = buf;

		while ((p = strcasestr(p, names[i])) != NULL) {
			char *v = p + nl;
			/* name, then a separator (":", "=", a tag's ">"), maybe
			 * quoted or spaced (headers, JSON); anything else (a list
			 * of names, a closing tag) has no value here. */
			if (*v == '"')
				v++;
			char sep = *v;
			if (sep != ':' && sep != '=' && sep != '>') {
				p = v;
				continue;
			}
			v++;
			while (sep != '>' && (*v == ' ' || *v == '\t' || *v == '"'))
				v++;
			size_t vl = strcspn(v, " \t\r\n&,;\"'<");
			/* "Authorization: AWS4-HMAC-SHA256 Credential=..., Signature=..."
			 * the scheme word is not the secret; the Signature part is
			 * caught by "signature=". */
			if (vl == 0 || strncmp(v, REDACTED, sizeof(REDACTED) - 1) == 0 ||
			    strncmp(v, "AWS4-", 5) == 0) {
				p = v;
				continue;
			}
			splice_redacted(buf, cap, (size_t)(v - buf), vl);
			p = v + sizeof(REDACTED) - 1;
			if ((size_t)(p - buf) >= cap - 1)
				break;
		}
	}
}

void log_redact(char *buf, size_t cap)
{
	if (!buf || cap < sizeof(REDACTED) + 1)
		return;
	pthread_mutex_lock(&secrets_lock);
	redact_secrets(buf, cap);
	pthread_mutex_unlock(&secrets_lock);
	redact_fields(buf, cap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_redact(line, sizeof(line));

	if (!log_stderr) {
		syslog(syslog_prio[level], "%s", line);
		return;
	}
	/* One fprintf per line: stdio locks the stream, so lines never mix. */
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ s3csfs %s: %s\n", stamp, ts.tv_nsec / 1000000L,
		level_names[level], line);
}
