/* audit.h - s3csfs audit: the repository's content URLs against the
 * buckets.
 *
 * Promises: memory stays bounded whatever the number of URLs: the list
 * is read once as a stream, mapped (mapping.h) and sorted by (bucket,
 * key) with sort(1) on disk (TMPDIR, about the list's size), then merged
 * with each bucket's listing (ListObjectsV2, 1000 keys a request, in the
 * same byte order); one finding per line as it is found; --verify reads
 * each referenced object once, in 8 MiB ranged GETs pinned to its ETag,
 * several objects at a time, and checks it with digest.h. Nothing is
 * written to S3. */
#ifndef S3CSFS_AUDIT_H
#define S3CSFS_AUDIT_H

#include "conf.h"

/* "s3csfs audit" after the -o list: argv[0] is "audit". Returns the exit
 * status: 0 clean, 1 findings, 2 bad input (bad lines are reported and
 * the rest audited) or an audit that could not be completed. */
int audit_main(const struct config *cfg, int argc, char **argv);

#endif
