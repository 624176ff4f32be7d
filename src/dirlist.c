/* dirlist.c - directory listings: one directory's entries merged from
 * every bucket that may hold it (all pages), the fallback directory, and
 * what is here but not (yet) in S3; and what rmdir needs to know (local
 * children, what S3 holds below). Listings record what they learn in the
 * node table (fs->lock held only between requests). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dircache.h"
#include "dirlist.h"
#include "fallback.h"
#include "fs_internal.h"
#include "mapping.h"
#include "s3_xml.h"
#include "stats.h"
#include "store.h"

struct under {
	const char *dir;
	size_t dl;
};

static int is_below(struct node *n, void *arg)
{
	const struct under *u = arg;
	return strncmp(n->path, u->dir, u->dl) == 0 && n->path[u->dl] == '/';
}

/* Any local child (a dir made here, a file being written) under dir?
 * What S3 holds below is dir_s3_content's to tell. */
int dir_has_local_child(struct fs *fs, const char *dir)
{
	struct under u = { dir, strlen(dir) };
	FS_LOCK_HELD(fs);
	return node_each_local(fs, is_below, &u);
}

/* What S3 holds under directory path: 1 if anything but the directory's
 * own "path/" marker objects (s3fs, rclone and the S3 console make them),
 * else 0, with the buckets holding a marker in markers[] (*nmarkers). */
int dir_s3_content(struct fs *fs, const char *path, const struct bucket_conf **markers,
		   size_t *nmarkers)
{
	const struct bucket_conf *bs[64];
	size_t nb = fs_dir_buckets(fs, bs);
	char prefix[S3_KEY_MAX + 2];

	*nmarkers = 0;
	for (size_t i = 0; i < nb; i++) {
		struct s3_list_result r;
		if (map_dir_prefix(bs[i], path, prefix, sizeof(prefix)) < 0)
			return -ENAMETOOLONG;
		int rc = fs->store.ops->list(fs->store.ctx, bs[i], prefix, "/", NULL, 2, &r);
		if (rc < 0)
			return rc;
		int other = r.nprefixes > 0, marker = 0;
		for (size_t j = 0; j < r.nobjects; j++) {
			if (strcmp(r.objects[j].key, prefix) == 0)
				marker = 1;
			else
				other = 1;
		}
		s3xml_list_result_free(&r);
		if (other)
			return 1;
		if (marker)
			markers[(*nmarkers)++] = bs[i];
	}
	return 0;
}

static size_t name_hash(const char *s)
{
	size_t h = 14695981039346656037u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

/* The slot of name: where it is, or the free one where it goes. */
static size_t *dl_slot(const struct dirent_list *d, const char *name)
{
	size_t mask = d->nslots - 1, i = name_hash(name) & mask;
	while (d->slots[i] && strcmp(d->names[d->slots[i] - 1], name) != 0)
		i = (i + 1) & mask;
	return &d->slots[i];
}

/* Room in the hash for one more name. */
static int dl_grow_slots(struct dirent_list *d)
{
	if ((d->n + 1) * 2 <= d->nslots)
		return 0;
	size_t ns = d->nslots ? d->nslots * 2 : 128;
	size_t *old = d->slots, oldn = d->nslots;
	if (!(d->slots = calloc(ns, sizeof(*d->slots)))) {
		d->slots = old;
		return -ENOMEM;
	}
	d->nslots = ns;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*dl_slot(d, d->names[old[i] - 1]) = old[i];
	free(old);
	return 0;
}

static int dl_add_entry(struct dirent_list *d, const char *name, const struct stat *st, int plus)
{
	if (dl_grow_slots(d) < 0)
		return -ENOMEM;
	size_t *slot = dl_slot(d, name);
	if (*slot)
		return 0; /* listed already: the first bucket's entry wins */
	if (d->n == d->alloc) {
		size_t na = d->alloc ? d->alloc * 2 : 64;
		char **nn = realloc(d->names, na * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		d->names = nn;
		struct stat *ns = realloc(d->st, na * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		d->st = ns;
		unsigned char *np = realloc(d->plus, na);
		if (!np)
			return -ENOMEM;
		d->plus = np;
		d->alloc = na;
	}
	if (!(d->names[d->n] = strdup(name)))
		return -ENOMEM;
	d->st[d->n] = *st;
	d->plus[d->n] = (unsigned char)plus;
	d->n++;
	*slot = d->n;
	return 0;
}

static int dl_add(struct dirent_list *d, const char *name, const struct stat *st)
{
	return dl_add_entry(d, name, st, 1);
}

/* dl_add for fallback_list (issue 17). */
static int dl_add_fallback(void *d, const char *name, const struct stat *st)
{
	return dl_add(d, name, st);
}

void dl_free(struct dirent_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->st);
	free(d->plus);
	free(d->slots);
}

/* Lists dir in one bucket, all pages, recording what it learns. */
static int list_bucket_dir(struct fs *fs, const struct bucket_conf *b, const char *dir,
			   struct dirent_list *d)
{
	char prefix[S3_KEY_MAX + 2], token[S3_TOKEN_MAX] = "", child[S3_KEY_MAX + 1];
	size_t plen;
	int rc = 0;

	if (map_dir_prefix(b, dir, prefix, sizeof(prefix)) < 0)
		return -ENAMETOOLONG;
	plen = strlen(prefix);
	for (int pages = 0; pages < 100000; pages++) {
		struct s3_list_result r;
		rc = fs->store.ops->list(fs->store.ctx, b, prefix, "/", token, 1000, &r);
		if (rc < 0)
			return rc;
		fs_lock(fs);
		node_trim(fs); /* a walk that only lists stays bounded too */
		for (size_t i = 0; i < r.nobjects && !rc; i++) {
			const char *name = r.objects[i].key + plen;
			if (strlen(r.objects[i].key) <= plen || strchr(name, '/') ||
			    map_check_path(name) < 0)
				continue; /* a directory marker, or a name we cannot show */
			snprintf(child, sizeof(child), "%s%s%s", dir, *dir ? "/" : "", name);
			if (!*dir && strcmp(name, VDIR) == 0)
				continue;
			struct node *n = node_add(fs, child);
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			if (!n->w) {
				/* Another object than the one looked up: attributes unread. */
				if (n->type != NODE_FILE || strcmp(n->etag, r.objects[i].etag) != 0)
					node_attrs_reset(n, 1);
				node_set_file(fs, n, r.objects[i].size, r.objects[i].etag,
					      r.objects[i].last_modified,
					      r.objects[i].storage_class);
			}
			struct stat st;
			node_fill_stat(n, &st);
			if (n->attrs_from_list && !n->w) {
				/* A listing has no metadata: the entry's attributes
				 * come from a lookup (HEAD), its type only where the
				 * size rules out a link (a target is < PATH_MAX). */
				memset(&st, 0, sizeof(st));
				st.st_mode = r.objects[i].size >= PATH_MAX ? S_IFREG : 0;
				rc = dl_add_entry(d, name, &st, 0);
			} else {
				rc = dl_add(d, name, &st);
			}
		}
		for (size_t i = 0; i < r.nprefixes && !rc; i++) {
			char name[S3_KEY_MAX + 1];
			if (strlen(r.prefixes[i]) <= plen + 1)
				continue;
			snprintf(name, sizeof(name), "%s", r.prefixes[i] + plen);
			name[strlen(name) - 1] = '\0'; /* the delimiter */
			if (map_check_path(name) < 0 || (!*dir && strcmp(name, VDIR) == 0))
				continue;
			snprintf(child, sizeof(child), "%s%s%s", dir, *dir ? "/" : "", name);
			struct node *n = node_add(fs, child);
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			if (n->type != NODE_FILE) {
				n->type = NODE_DIR;
				if (!n->mtime)
					n->mtime = time(NULL);
			}
			struct stat st;
			node_fill_stat(n, &st);
			rc = dl_add(d, name, &st);
		}
		fs_unlock(fs);
		int more = r.is_truncated && r.next_token[0];
		snprintf(token, sizeof(token), "%s", r.next_token);
		s3xml_list_result_free(&r);
		if (rc < 0 || !more)
			break;
	}
	return rc;
}

struct local_entries {
	struct dirent_list *d;
	const char *dir;
	size_t dl;
};

/* A local node that is a child of le->dir, into le->d. */
static int add_local(struct node *n, void *arg)
{
	const struct local_entries *le = arg;
	const char *name = n->path + le->dl + (le->dl ? 1 : 0);
	struct stat st;

	if ((le->dl && (strncmp(n->path, le->dir, le->dl) != 0 || n->path[le->dl] != '/')) ||
	    !*n->path || strchr(name, '/'))
		return 0;
	node_fill_stat(n, &st);
	return dl_add(le->d, name, &st);
}

struct cached_entries {
	struct fs *fs;
	struct dirent_list *d;
	const char *dir;
};

/* An entry of a kept listing into ce->d, with what the node table knows
 * of it now when it knows more (a size written, times set here). */
static int add_cached(void *arg, const char *name, const struct stat *st, int plus)
{
	const struct cached_entries *ce = arg;
	char child[S3_KEY_MAX + 1];
	struct node *n;
	struct stat now;

	snprintf(child, sizeof(child), "%s%s%s", ce->dir, *ce->dir ? "/" : "", name);
	n = node_find(ce->fs, child);
	if (n && n->type == NODE_ABSENT)
		return 0; /* gone since (the listing would have been dropped) */
	if (n && !(n->type == NODE_FILE && n->attrs_from_list && !n->w)) {
		node_fill_stat(n, &now);
		return dl_add(ce->d, name, &now);
	}
	return dl_add_entry(ce->d, name, st, plus);
}

/* Whether a file under dir (a direct child) has a writer: it may not be
 * in S3 yet, so a listing taken now lacks it once it leaves fs->local. */
static int is_writer_child(struct node *n, void *arg)
{
	const struct local_entries *le = arg;
	const char *name = n->path + le->dl + (le->dl ? 1 : 0);

	if (!n->w || !*n->path ||
	    (le->dl && (strncmp(n->path, le->dir, le->dl) != 0 || n->path[le->dl] != '/')))
		return 0;
	return strchr(name, '/') == NULL;
}

/* S3's and the fallback's entries of path: from a kept listing
 * (dir_cache_timeout), else listed and kept. */
static int list_remote(struct fs *fs, const char *path, struct dirent_list *d)
{
	const struct bucket_conf *bs[64];
	struct cached_entries ce = { fs, d, path };
	struct local_entries le = { d, path, strlen(path) };
	unsigned long gen;
	size_t nb;
	int rc = 0;

	fs_lock(fs);
	gen = dircache_gen(fs->dircache);
	rc = dircache_each(fs->dircache, path, fs_now(), add_cached, &ce);
	fs_unlock(fs);
	if (rc != -ENOENT) {
		if (rc == 0)
			STAT_ADD(listings_cached, 1);
		return rc;
	}
	rc = 0;
	nb = fs_dir_buckets(fs, bs);
	for (size_t i = 0; i < nb && !rc; i++)
		rc = list_bucket_dir(fs, bs[i], path, d);
	if (!rc)
		rc = fallback_list(path, dl_add_fallback, d); /* fallback_dir, issue 17 */
	if (rc < 0)
		return rc;
	fs_lock(fs);
	if (!node_each_local(fs, is_writer_child, &le))
		rc = dircache_put(fs->dircache, path, gen, d->names, d->st, d->plus, d->n, fs_now());
	fs_unlock(fs);
	(void)rc; /* a listing not kept (-ENOMEM, 1) is still the answer */
	return 0;
}

/* A name of the snapshot taken before the listing, unless it went since
 * (unlinked, renamed away): with what the node table knows of it now, or
 * as it was when its node has left the table meanwhile. */
static int add_snapshot(struct fs *fs, const struct local_entries *le,
			const struct dirent_list *snap)
{
	char child[S3_KEY_MAX + 1];
	int rc = 0;

	for (size_t i = 0; i < snap->n && !rc; i++) {
		struct node *n;
		struct stat st;

		snprintf(child, sizeof(child), "%s%s%s", le->dir, le->dl ? "/" : "", snap->names[i]);
		n = node_find(fs, child);
		if (n && n->type == NODE_ABSENT)
			continue;
		if (n)
			node_fill_stat(n, &st);
		else
			st = snap->st[i];
		rc = dl_add(le->d, snap->names[i], &st);
	}
	return rc;
}

/* Lists directory path: every bucket's entries, the fallback's, then what
 * is here and not (yet) in S3. */
int dir_list(struct fs *fs, const char *path, struct dirent_list *d)
{
	size_t dl = strlen(path);
	struct dirent_list snap = { 0 };
	struct local_entries le = { d, path, dl }, ls = { &snap, path, dl };
	int rc;

	/* What is local is noted before S3 is asked: a file whose upload
	 * completes while the listing is on its way is no longer local when
	 * it answers, and that answer may have been made before the object
	 * was stored; the name would be missing from both. */
	fs_lock(fs);
	rc = node_each_local(fs, add_local, &ls);
	fs_unlock(fs);
	if (rc == 0)
		rc = list_remote(fs, path, d);
	if (rc < 0) {
		dl_free(&snap);
		return rc == -ENOMEM ? rc : -EIO;
	}
	/* What is here and not (yet) in S3: files being written or pending,
	 * directories made with mkdir, then or now. */
	fs_lock(fs);
	rc = add_snapshot(fs, &le, &snap);
	if (rc == 0)
		rc = node_each_local(fs, add_local, &le);
	fs_unlock(fs);
	dl_free(&snap);
	return rc;
}
