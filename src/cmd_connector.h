/* cmd_connector.h - the commands url, archive, restore and hold (s3csfs(8)),
 * and the Object Lock probe of `s3csfs check`.
 *
 * Promises: each command loads the configuration like `check` (quick
 * retries), prints what it did per PATH on stdout (url: the URL alone) and
 * errors on stderr; exit status 0 on success, 1 if any PATH failed, 2 for
 * bad usage or a configuration that does not load. */
#ifndef S3CSFS_CMD_CONNECTOR_H
#define S3CSFS_CMD_CONNECTOR_H

#include "conf.h"

/* 1 if argv1 names one of the commands. */
int connector_is_command(const char *argv1);
/* argv[0] is the command's name. */
int connector_command(int argc, char **argv);

/* For `s3csfs check`: with object_lock set, one GetObjectLockConfiguration
 * (an OK or FAIL line on stdout). Returns the failures (0 or 1). */
int connector_check_bucket(const struct bucket_conf *b);

#endif
