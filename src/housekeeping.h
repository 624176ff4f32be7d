/* housekeeping.h - the daemon's background chores: SIGHUP reloads what can
 * change live (log level, cache size, reaper settings) and reopens the
 * log; systemd hears READY, STATUS (pending uploads) and STOPPING; every
 * ten seconds, memory freed inside malloc's arenas goes back to the system
 * (glibc's malloc_trim).
 *
 * Promises: the signal handler only sets a flag; the reload runs in this
 * module's thread, and a config that no longer loads is reported and
 * ignored (the running settings stay). Without libsystemd, notifications
 * are no-ops. */
#ifndef S3CSFS_HOUSEKEEPING_H
#define S3CSFS_HOUSEKEEPING_H

struct cache;
struct reaper;

struct housekeeping;

/* pending() returns the uploads not yet durable, for STATUS. */
struct housekeeping *housekeeping_start(const char *conf_path, struct cache *cache,
					struct reaper *reaper, long (*pending)(void));
void housekeeping_stop(struct housekeeping *hk);

/* sd_notify wrappers (no-ops when not under systemd). */
void notify_ready(void);
void notify_stopping(void);

#endif
