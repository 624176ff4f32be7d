/* kcache.h - the kernel's names kept in step with the node table.
 *
 * The kernel keeps every name the daemon has answered (a dentry and an
 * inode) until memory runs short, and libfuse keeps a node of its own for
 * each: without help both grow with every file ever touched, however
 * small max_nodes is. Once the node table has forgotten max_nodes / 2
 * names since the last round, this module's thread asks the kernel to
 * drop its entries for the top-level names (FUSE_NOTIFY_INVAL_ENTRY on
 * the root): the kernel then lets go of every unused name below them, and
 * libfuse frees its nodes as the kernel forgets. Names in use (open files,
 * working directories) stay; the next lookup of a dropped name is
 * answered by the daemon again, from its table when it still knows it.
 *
 * The notifications are sent from this thread only: sent from a request's
 * thread, one could wait for a directory lock the kernel holds until that
 * very request is answered. */
#ifndef S3CSFS_KCACHE_H
#define S3CSFS_KCACHE_H

struct fs;
struct fuse_session;

struct kcache;

/* Starts the thread; NULL (logged) if it cannot: the mount works on,
 * with the kernel's names bounded by memory pressure only. */
struct kcache *kcache_start(struct fs *fs, struct fuse_session *se);

/* Stops and joins the thread (before the session ends); NULL is a no-op. */
void kcache_stop(struct kcache *k);

#endif
