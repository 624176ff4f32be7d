/* log.h - one line per event, to syslog or stderr.
 *
 * Promises: thread-safe; a line never exceeds LOG_LINE_MAX (longer text is
 * cut); callers never pass secrets (nothing here can tell). */
#ifndef S3CSFS_LOG_H
#define S3CSFS_LOG_H

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

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                     \
	do {                                                               \
		if (log_get_level() >= LOG_LVL_DEBUG)                      \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);               \
	} while (0)

#endif
