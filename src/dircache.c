/* dircache.c - directory listings kept in memory (dircache.h): a hash of
 * directory paths, each holding a copy of its listing, and a list oldest
 * first that bounds the names kept. Called with fs->lock held. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dircache.h"

#define DIRCACHE_BUCKETS 4096

struct listing {
	char *dir;
	char **names;
	struct stat *st;
	unsigned char *plus;
	size_t n;
	double until;
	struct listing *hnext;         /* same bucket */
	struct listing *newer, *older; /* the age list */
};

struct dircache {
	struct listing *table[DIRCACHE_BUCKETS];
	struct listing *oldest, *newest;
	size_t nlistings, nnames, max_names;
	double timeout;
	unsigned long gen; /* bumped by every change */
	/* The generation of the last change in a directory, by its hash: a
	 * listing taken before it is not kept (a collision only refuses). */
	unsigned long changed[DIRCACHE_BUCKETS];
};

static size_t dir_hash(const char *s)
{
	size_t h = 14695981039346656037u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h & (DIRCACHE_BUCKETS - 1);
}

struct dircache *dircache_new(size_t max_entries, double timeout)
{
	struct dircache *c = calloc(1, sizeof(*c));

	if (c) {
		c->max_names = max_entries;
		c->timeout = timeout;
	}
	return c;
}

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->st);
	free(l->plus);
	free(l->dir);
	free(l);
}

/* Takes l out of the table and the age list, and frees it. */
static void drop(struct dircache *c, struct listing *l)
{
	struct listing **pp = &c->table[dir_hash(l->dir)];

	while (*pp != l)
		pp = &(*pp)->hnext;
	*pp = l->hnext;
	if (l->newer)
		l->newer->older = l->older;
	else
		c->newest = l->older;
	if (l->older)
		l->older->newer = l->newer;
	else
		c->oldest = l->newer;
	c->nlistings--;
	c->nnames -= l->n;
	listing_free(l);
}

static struct listing *find(const struct dircache *c, const char *dir)
{
	for (struct listing *l = c->table[dir_hash(dir)]; l; l = l->hnext)
		if (strcmp(l->dir, dir) == 0)
			return l;
	return NULL;
}

void dircache_free(struct dircache *c)
{
	if (!c)
		return;
	while (c->oldest)
		drop(c, c->oldest);
	free(c);
}

unsigned long dircache_gen(const struct dircache *c)
{
	return c->gen;
}

/* A copy of names[0..n) and their entries, or NULL (ENOMEM). */
static struct listing *listing_copy(const char *dir, char *const *names, const struct stat *st,
				    const unsigned char *plus, size_t n)
{
	struct listing *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->dir = strdup(dir);
	l->names = calloc(n ? n : 1, sizeof(*l->names));
	l->st = malloc((n ? n : 1) * sizeof(*l->st));
	l->plus = malloc(n ? n : 1);
	if (!l->dir || !l->names || !l->st || !l->plus) {
		listing_free(l);
		return NULL;
	}
	for (; l->n < n; l->n++)
		if (!(l->names[l->n] = strdup(names[l->n]))) {
			listing_free(l);
			return NULL;
		}
	if (n) { /* an empty listing may come with no arrays at all */
		memcpy(l->st, st, n * sizeof(*st));
		memcpy(l->plus, plus, n);
	}
	return l;
}

int dircache_put(struct dircache *c, const char *dir, unsigned long gen, char *const *names,
		 const struct stat *st, const unsigned char *plus, size_t n, double now)
{
	struct listing *l;

	if (c->timeout <= 0 || c->changed[dir_hash(dir)] > gen || n > c->max_names)
		return 1;
	if ((l = find(c, dir)))
		drop(c, l);
	if (!(l = listing_copy(dir, names, st, plus, n)))
		return -ENOMEM;
	while (c->oldest && c->nnames + n > c->max_names)
		drop(c, c->oldest);
	l->until = now + c->timeout;
	size_t h = dir_hash(dir);
	l->hnext = c->table[h];
	c->table[h] = l;
	l->older = c->newest;
	if (c->newest)
		c->newest->newer = l;
	else
		c->oldest = l;
	c->newest = l;
	c->nlistings++;
	c->nnames += n;
	return 0;
}

int dircache_each(struct dircache *c, const char *dir, double now,
		  int (*fn)(void *arg, const char *name, const struct stat *st, int plus), void *arg)
{
	struct listing *l = find(c, dir);
	int rc = 0;

	if (!l)
		return -ENOENT;
	if (now >= l->until) {
		drop(c, l);
		return -ENOENT;
	}
	for (size_t i = 0; i < l->n && rc >= 0; i++)
		rc = fn(arg, l->names[i], &l->st[i], l->plus[i]);
	return rc < 0 ? rc : 0;
}

/* The listing of dir goes, and none taken before now is kept. */
static void dir_changed(struct dircache *c, const char *dir)
{
	struct listing *l = find(c, dir);

	if (l)
		drop(c, l);
	c->changed[dir_hash(dir)] = c->gen;
}

void dircache_changed(struct dircache *c, const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[1100];
	size_t len = slash ? (size_t)(slash - path) : 0;

	c->gen++;
	if (len >= sizeof(parent)) {
		/* no such directory is ever listed (keys are at most 1024 bytes) */
		return;
	}
	memcpy(parent, path, len);
	parent[len] = '\0';
	dir_changed(c, parent);
	dir_changed(c, path); /* a directory's own listing, when path is one */
}

size_t dircache_count(const struct dircache *c, size_t *names)
{
	if (names)
		*names = c->nnames;
	return c->nlistings;
}
