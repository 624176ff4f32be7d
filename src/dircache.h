/* dircache.h - directory listings answered from memory (dir_cache_timeout).
 *
 * Promises: a listing kept here is what S3 (and fallback_dir) returned for
 * a directory, kept for at most the timeout, and only while this host has
 * changed nothing in it since it was taken: a change of a name (made,
 * removed, renamed, a directory made here) drops the listing of its
 * directory and of itself, and a listing of either taken across the
 * change is not kept (generations, dircache_gen). At most max_entries names are kept in all; the oldest
 * listing goes first. Other hosts' changes show after the timeout.
 *
 * The cache has no lock of its own: every function is called with
 * fs->lock held (it is part of what the node table knows). */
#ifndef S3CSFS_DIRCACHE_H
#define S3CSFS_DIRCACHE_H

#include <stddef.h>
#include <sys/stat.h>

struct dircache;

/* NULL: ENOMEM. timeout <= 0: a cache that keeps nothing. */
struct dircache *dircache_new(size_t max_entries, double timeout);
void dircache_free(struct dircache *c);

/* The generation to pass to dircache_put for a listing starting now. */
unsigned long dircache_gen(const struct dircache *c);

/* Keeps names[0..n) (their stat and plus flags) as dir's listing, taken
 * from generation gen: 0 kept, 1 not kept (a change since gen, off, or
 * more names than the cache holds), -ENOMEM (nothing kept). */
int dircache_put(struct dircache *c, const char *dir, unsigned long gen, char *const *names,
		 const struct stat *st, const unsigned char *plus, size_t n, double now);

/* Calls fn(arg, name, st, plus) for each name of dir's kept listing, in
 * order: 0 (all given), -ENOENT (none kept, or expired: dropped), or the
 * first negative value fn returned. */
int dircache_each(struct dircache *c, const char *dir, double now,
		  int (*fn)(void *arg, const char *name, const struct stat *st, int plus),
		  void *arg);

/* This host changed what path names: the listings of its directory and
 * of path itself are dropped. */
void dircache_changed(struct dircache *c, const char *path);

/* Listings kept, names kept (for tests and stats). */
size_t dircache_count(const struct dircache *c, size_t *names);

#endif
