/* log.h - one line per event, to syslog or stderr.
 *
 * Promises: thread-safe; a line never exceeds LOG_LINE_MAX (longer text is
 * cut); no line carries a registered secret (log_add_secret), nor a start
 * of one LOG_SECRET_MIN or more long where a line was cut, nor the value
 * of an X-Amz-Security-Token, Signature= or Authorization: field,
 * whoever's: each becomes "[REDACTED]". Callers still never pass secrets
 * on purpose. */
#ifndef S3CSFS_LOG_H
#define S3CSFS_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

#define LOG_LINE_MAX 2048

/* to_stderr: 1 = stderr (foreground), 0 = syslog as "s3csfs". */
void log_init(int to_stderr, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* After SIGHUP: reopens the syslog connection (log rotation, journald
 * restart). A no-op on stderr. */
void log_reopen(void);
/* Parses "error|warn|info|debug"; -1 if unknown. */
int log_level_parse(const char *name);

/* Registers a secret (a secret key, a session token) to be redacted from
 * every line from now on. Secrets shorter than LOG_SECRET_MIN or longer
 * than LOG_SECRET_LEN_MAX are ignored; registering one already known is a
 * no-op; the table holds LOG_SECRETS_MAX and forgets the oldest when full
 * (credentials that were refreshed). Cheap enough to call per request. */
#define LOG_SECRET_MIN 8
#define LOG_SECRET_LEN_MAX 4096
#define LOG_SECRETS_MAX 16
void log_add_secret(const char *secret);
/* Wipes the table (tests; a process that is done with its secrets). */
void log_forget_secrets(void);
/* Redacts buf (NUL-terminated, capacity cap) in place as log lines are:
 * for text that goes elsewhere than the log (check's output). */
void log_redact(char *buf, size_t cap);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_get_level() >= LOG_LVL_DEBUG)        \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
