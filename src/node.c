/* node.c - names: the node table (what the daemon knows of each path),
 * lookups that ask the store when it does not know (probe_file's GET of a
 * file's first bytes, probe_dir's listing), and the CopyObject that names
 * and attributes need. Every node function is called with fs->lock held
 * (fs_internal.h); node_resolve and fs_copy_with_attrs take it themselves
 * and never hold it across a request. */
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

#include "attrs.h"
#include "cache.h"
#include "dircache.h"
#include "fallback.h"
#include "fs_internal.h"
#include "log.h"
#include "mapping.h"
#include "stats.h"
#include "store.h"
#include "writer.h"

#define LOOKUP_FETCH CACHE_BLOCK /* a lookup GETs this much: small files whole */

double fs_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned path_hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* ---- node table (fs->lock held) ---- */

static void lru_unlink(struct fs *fs, struct node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		fs->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		fs->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct fs *fs, struct node *n)
{
	n->lru_prev = NULL;
	n->lru_next = fs->lru_head;
	if (fs->lru_head)
		fs->lru_head->lru_prev = n;
	else
		fs->lru_tail = n;
	fs->lru_head = n;
}

struct node *node_find(struct fs *fs, const char *path)
{
	FS_LOCK_HELD(fs);
	if (!fs->table)
		return NULL;
	for (struct node *n = fs->table[path_hash(path) & (fs->nbuckets - 1)]; n; n = n->hnext)
		if (strcmp(n->path, path) == 0) {
			if (fs->lru_head != n) {
				lru_unlink(fs, n);
				lru_push(fs, n);
			}
			return n;
		}
	return NULL;
}

/* Twice the buckets once there are more nodes than buckets, so that a
 * lookup stays one short chain however many paths were seen (up to
 * NODE_HASH_MAX buckets; without memory the table stays as it is). */
static void grow_table(struct fs *fs)
{
	size_t nb = fs->nbuckets ? fs->nbuckets * 2 : NODE_HASH_MIN;
	struct node **t;

	if (fs->nbuckets >= NODE_HASH_MAX || !(t = calloc(nb, sizeof(*t))))
		return;
	for (size_t i = 0; i < fs->nbuckets; i++)
		while (fs->table[i]) {
			struct node *n = fs->table[i];
			fs->table[i] = n->hnext;
			size_t h = path_hash(n->path) & (nb - 1);
			n->hnext = t[h];
			t[h] = n;
		}
	free(fs->table);
	fs->table = t;
	fs->nbuckets = nb;
}

struct node *node_add(struct fs *fs, const char *path)
{
	FS_LOCK_HELD(fs);
	struct node *n = node_find(fs, path);
	if (n)
		return n;
	if (fs->nnodes >= fs->nbuckets)
		grow_table(fs);
	if (!fs->table)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strdup(path))) {
		free(n);
		return NULL;
	}
	n->refs = 1;
	n->in_table = 1;
	size_t h = path_hash(path) & (fs->nbuckets - 1);
	n->hnext = fs->table[h];
	fs->table[h] = n;
	fs->nnodes++;
	lru_push(fs, n);
	return n;
}

static struct node *parent_node(struct fs *fs, const char *path);

/* Takes n off fs->local. */
static void local_unlink(struct fs *fs, struct node *n)
{
	if (n->lprev)
		n->lprev->lnext = n->lnext;
	else
		fs->local = n->lnext;
	if (n->lnext)
		n->lnext->lprev = n->lprev;
	n->lprev = n->lnext = NULL;
	n->on_local = 0;
}

/* Whether n may leave the table: nothing refers to it and nothing it
 * holds is known here only (on fs->local but no longer local counts as
 * not local); the next lookup asks the store again. */
static int evictable(const struct node *n)
{
	return n->refs == 1 && !n->w && !n->local_dir && !n->stale_pages &&
	       !n->gone_by_failed_close && !attrs_state_dirty(&n->attrs) && n->path[0];
}

/* Takes n out of the table and frees it (refs was 1: the table's). */
static void evict(struct fs *fs, struct node *n)
{
	struct node **pp = &fs->table[path_hash(n->path) & (fs->nbuckets - 1)];
	struct node *p;

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	lru_unlink(fs, n);
	if (n->on_local)
		local_unlink(fs, n);
	fs->nnodes--;
	n->in_table = 0;
	/* A directory whose names were all known no longer knows this one. */
	if (n->type != NODE_ABSENT && (p = parent_node(fs, n->path)))
		p->children_absent_until = 0;
	STAT_ADD(nodes_evicted, 1);
	fs->evicted_since_trim++;
	node_unref(fs, n);
}

void node_trim(struct fs *fs)
{
	size_t max = (size_t)fs->cfg->max_nodes, skips = 0;

	FS_LOCK_HELD(fs);
	/* A node in use at the tail goes to the head, so that the next trim
	 * starts past it; at most 64 of those per call bound its work. */
	while (fs->nnodes > max && fs->lru_tail && skips < 64) {
		struct node *n = fs->lru_tail;
		if (evictable(n)) {
			evict(fs, n);
		} else {
			lru_unlink(fs, n);
			lru_push(fs, n);
			skips++;
		}
	}
}

void node_unref(struct fs *fs, struct node *n)
{
	FS_LOCK_HELD(fs);
	if (--n->refs == 0) {
		free(n->link);
		free(n->path);
		free(n);
	}
}

void node_set_absent(struct fs *fs, const char *path)
{
	FS_LOCK_HELD(fs);
	struct node *n = node_add(fs, path);
	if (n && !n->w) {
		if (n->type != NODE_ABSENT)
			dircache_changed(fs->dircache, path); /* a name went */
		n->gen++;               /* open handles keep their file, not this name */
		node_attrs_reset(n, 0); /* a file made here later starts afresh */
		n->type = NODE_ABSENT;
		n->local_dir = 0;
		n->absent_until = fs_now() + fs->cfg->negative_timeout;
		n->children_absent_until = 0;
	}
}

/* The node of path's directory, if the table has it.  Locked. */
static struct node *parent_node(struct fs *fs, const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[S3_KEY_MAX + 1];
	size_t len = slash ? (size_t)(slash - path) : 0;

	if (!slash || len >= sizeof(parent))
		return NULL;
	memcpy(parent, path, len);
	parent[len] = '\0';
	return node_find(fs, parent);
}

/* Another client stored path: what this mount believed of it and of its
 * directory's other names is stale; the next lookups ask S3.  Locked. */
void node_forget(struct fs *fs, const char *path)
{
	FS_LOCK_HELD(fs);
	struct node *n = node_find(fs, path), *p = parent_node(fs, path);

	dircache_changed(fs->dircache, path);
	if (n && !n->w && n->type != NODE_DIR) {
		node_attrs_reset(n, 0);
		n->type = NODE_ABSENT;
		n->absent_until = 0;
		n->stale_pages = 1; /* ours, written through the kernel */
	}
	if (p)
		p->children_absent_until = 0;
}

/* Whether path's parent is a directory made here whose children are all
 * known (see children_absent_until); sets *until.  Called locked. */
static int parent_knows_absent(struct fs *fs, const char *path, double *until)
{
	struct node *p = parent_node(fs, path);

	if (!p || p->type != NODE_DIR || fs_now() >= p->children_absent_until)
		return 0;
	*until = p->children_absent_until;
	return 1;
}

void node_mark_local(struct fs *fs, struct node *n)
{
	FS_LOCK_HELD(fs);
	dircache_changed(fs->dircache, n->path); /* a name may come */
	if (n->on_local)
		return;
	n->on_local = 1;
	n->lprev = NULL;
	n->lnext = fs->local;
	if (fs->local)
		fs->local->lprev = n;
	fs->local = n;
}

int node_each_local(struct fs *fs, int (*fn)(struct node *n, void *arg), void *arg)
{
	struct node *n = fs->local, *next;
	int rc = 0;

	FS_LOCK_HELD(fs);
	for (; n && !rc; n = next) {
		next = n->lnext;
		if (n->type == NODE_ABSENT || !(n->w || n->local_dir))
			local_unlink(fs, n); /* not local any more: off the list */
		else
			rc = fn(n, arg);
	}
	return rc;
}

void node_set_file(struct fs *fs, struct node *n, long long size, const char *etag, time_t mtime,
		   const char *sc)
{
	FS_LOCK_HELD(fs);
	n->type = NODE_FILE;
	n->local_dir = 0;
	if (!n->w) {
		n->size = size;
		n->mtime = mtime;
		snprintf(n->etag, sizeof(n->etag), "%s", etag ? etag : "");
	}
	if (sc && *sc)
		snprintf(n->storage_class, sizeof(n->storage_class), "%s", sc);
}

/* Parent directories of a known file or dir exist too. */
void node_mark_parents(struct fs *fs, const char *path)
{
	FS_LOCK_HELD(fs);
	char buf[S3_KEY_MAX + 1];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *slash = strrchr(buf, '/'); slash; slash = strrchr(buf, '/')) {
		*slash = '\0';
		struct node *p = node_add(fs, buf);
		if (!p)
			return;
		if (p->type == NODE_DIR)
			return;
		if (p->type == NODE_ABSENT)
			p->type = NODE_DIR;
	}
}

void node_fill_stat(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (n->type == NODE_DIR) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		st->st_mtime = st->st_ctime = st->st_atime = n->mtime;
	} else {
		long long size = n->w ? writer_size(n->w) : n->size;
		const struct attrs *a = &n->attrs.a;
		/* Modes are stored (chmod), owners are the mount's. */
		if (attrs_is_link(a))
			st->st_mode = S_IFLNK | 0777;
		else
			st->st_mode = S_IFREG | ((a->have & ATTR_MODE) ? (a->mode & 07777) : 0644);
		st->st_nlink = 1;
		st->st_size = size;
		st->st_blocks = (size + 511) / 512;
		st->st_blksize = 1 << 20;
		st->st_mtime = st->st_ctime = st->st_atime = n->mtime;
		if (a->have & ATTR_MTIME) {
			st->st_mtim.tv_sec = (time_t)a->mtime_s;
			st->st_mtim.tv_nsec = a->mtime_ns;
			st->st_atim = st->st_ctim = st->st_mtim;
		}
	}
}

/* The attributes of another object than the one the node had: unknown
 * until its metadata is read.  Locked. */
void node_attrs_reset(struct node *n, int from_list)
{
	attrs_state_reset(&n->attrs);
	n->attrs_from_list = from_list;
	free(n->link);
	n->link = NULL;
}

/* What a HEAD or GET said of the object's attributes; changes made here
 * and not yet stored win.  Locked. */
static void node_read_attrs(struct node *n, const struct s3_obj_info *info)
{
	if (!n->w && !attrs_state_dirty(&n->attrs)) {
		node_attrs_reset(n, 0);
		attrs_from_info(info, &n->attrs.a);
	}
	n->attrs_from_list = 0;
}

/* A name with an extension is looked up as a file only: content-store
 * file names are "<uuid>.bin", directory names are dates. This keeps a
 * new file at one lookup request (see README, "Lookups"). */
static int name_is_filelike(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base || !dot[1] || strlen(dot + 1) > 8)
		return 0;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

/* Distinct buckets a directory's entries may live in. */
size_t fs_dir_buckets(const struct fs *fs, const struct bucket_conf **out)
{
	size_t n = 0;
	for (size_t i = 0; i < fs->cfg->nbuckets; i++) {
		const struct bucket_conf *b = &fs->cfg->buckets[i];
		int dup = 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp(out[j]->name, b->name) == 0 &&
			      strcmp(out[j]->key_prefix, b->key_prefix) == 0 &&
			      out[j]->client == b->client;
		if (!dup && b->key_layout == KEY_LAYOUT_DATE)
			out[n++] = b;
	}
	return n;
}

/* Asks S3 whether path is a file: one GET of its first bytes, which also
 * fills the cache (a small file is then read with no further request). */
static int probe_file(struct fs *fs, const char *path, struct s3_obj_info *info)
{
	struct target t;
	struct cache_entry *ce;
	int rc = map_path(fs->cfg, path, &t);

	if (rc < 0)
		return rc;
	rc = cache_get(fs->cache, &t, 1, &ce);
	if (rc < 0)
		return rc;
	struct cache_entry_state st;
	cache_entry_state(fs->cache, ce, &st);
	if (st.complete && st.has_etag && !st.verified) {
		/* Kept from the last run: one HEAD proves it is still current. */
		rc = fs->store.ops->head(fs->store.ctx, &t, info);
		if (rc == 0) {
			cache_set_object(fs->cache, ce, info->size, info->etag, info->mtime);
			cache_set_info(fs->cache, ce, info);
		}
	} else if (st.complete && st.verified) {
		/* The bytes are here, the metadata (attrs.h) is not. */
		rc = fs->store.ops->head(fs->store.ctx, &t, info);
	} else {
		rc = cache_fetch_head(fs->cache, ce, LOOKUP_FETCH, info);
		if (rc == -ENOSPC || rc == -EDQUOT)
			rc = fs->store.ops->head(fs->store.ctx, &t, info);
	}
	if (rc == -ENOENT)
		cache_drop(fs->cache, ce);
	cache_put(fs->cache, ce);
	return rc;
}

/* Asks S3 whether path is a directory or a file, in one listing per
 * bucket: prefix "path" with delimiter '/' returns the object "path" and
 * the common prefix "path/" side by side (only names like "path-x" sort
 * between them; when a page ends before them, "path/" is asked alone). */
static int probe_dir(struct fs *fs, const char *path, struct s3_obj_info *file_info, int *is_file)
{
	const struct bucket_conf *bs[64];
	size_t nb = fs_dir_buckets(fs, bs);
	char prefix[S3_KEY_MAX + 2];
	int rc = -ENOENT;

	*is_file = 0;
	for (size_t i = 0; i < nb; i++) {
		struct s3_list_result r;
		size_t plen;
		if (map_dir_prefix(bs[i], path, prefix, sizeof(prefix)) < 0)
			return -ENAMETOOLONG;
		plen = strlen(prefix);
		prefix[plen - 1] = '\0'; /* "path/" -> "path" */
		int lrc = fs->store.ops->list(fs->store.ctx, bs[i], prefix, "/", NULL, 16, &r);
		if (lrc < 0) {
			rc = lrc;
			continue;
		}
		int dir = 0, file = -1;
		for (size_t j = 0; j < r.nprefixes && !dir; j++)
			dir = strlen(r.prefixes[j]) == plen &&
			      strncmp(r.prefixes[j], prefix, plen - 1) == 0;
		for (size_t j = 0; j < r.nobjects && file < 0; j++)
			if (strcmp(r.objects[j].key, prefix) == 0)
				file = (int)j;
		int unsure = !dir && r.is_truncated;
		if (file >= 0 && !dir) {
			memset(file_info, 0, sizeof(*file_info));
			file_info->size = r.objects[file].size;
			snprintf(file_info->etag, sizeof(file_info->etag), "%s",
				 r.objects[file].etag);
			file_info->mtime = r.objects[file].last_modified;
			snprintf(file_info->storage_class, sizeof(file_info->storage_class), "%s",
				 r.objects[file].storage_class);
		}
		s3xml_list_result_free(&r);
		if (unsure) {
			prefix[plen - 1] = '/';
			lrc = fs->store.ops->list(fs->store.ctx, bs[i], prefix, "/", NULL, 1, &r);
			if (lrc < 0) {
				rc = lrc;
				continue;
			}
			dir = r.nobjects > 0 || r.nprefixes > 0;
			s3xml_list_result_free(&r);
		}
		if (dir)
			return 0;
		if (file >= 0) {
			*is_file = 1;
			return 0;
		}
	}
	/* Flat buckets hold no directories: a date directory whose files may
	 * live in one exists as far as lookups go. */
	if (rc == -ENOENT && map_dir_may_be_flat(fs->cfg, path))
		return 0;
	return rc;
}

/* What the table already says of path, fs->lock held: 0 (a referenced
 * node in *n), -ENOENT (trusted absent), or 1: the store must be asked
 * (*from_list: a file known from a listing, whose metadata a HEAD reads). */
static int known_locked(struct fs *fs, const char *path, struct node **n, int *from_list)
{
	struct node *k = node_find(fs, path);
	double until;

	*from_list = k && k->type == NODE_FILE && k->attrs_from_list && !k->w;
	if (k && !*from_list && (k->type != NODE_ABSENT || fs_now() < k->absent_until)) {
		if (k->type == NODE_ABSENT)
			return -ENOENT;
		k->refs++;
		*n = k;
		return 0;
	}
	if (*path && parent_knows_absent(fs, path, &until)) {
		/* A new name in a directory made here: nothing to ask S3. */
		node_set_absent(fs, path);
		k = node_find(fs, path);
		if (k && k->type == NODE_ABSENT)
			k->absent_until = until;
		STAT_ADD(lookups_local, 1);
		return -ENOENT;
	}
	return 1;
}

/* Asks the store (no lock held) what path is: 0 (*is_file, *info), or
 * the store's -errno (-ENOENT: nothing there, nor in fallback_dir). */
static int ask_store(struct fs *fs, const char *path, int from_list, struct s3_obj_info *info,
		     int *is_file)
{
	int rc;

	*is_file = 0;
	if (!*path) {
		rc = 0;
	} else if (from_list) {
		struct target t;
		rc = map_path(fs->cfg, path, &t);
		if (rc == 0)
			rc = fs->store.ops->head(fs->store.ctx, &t, info);
		*is_file = rc == 0;
	} else if (name_is_filelike(path)) {
		rc = probe_file(fs, path, info);
		*is_file = rc == 0;
	} else {
		rc = probe_dir(fs, path, info, is_file);
		/* The listing found a file; its metadata (a link?) is in a GET. */
		if (rc == 0 && *is_file) {
			rc = probe_file(fs, path, info);
			*is_file = rc == 0;
		}
	}
	if (rc == -ENOENT)
		rc = fallback_probe(path, info, is_file); /* fallback_dir, issue 17 */
	return rc;
}

/* Records the store's answer rc for path, fs->lock held: 0 with a
 * referenced node in *n, or the errno node_resolve returns. */
static int record_locked(struct fs *fs, const char *path, int rc, int is_file,
			 const struct s3_obj_info *info, struct node **n)
{
	struct node *k;

	if (rc == -ENOENT) {
		node_set_absent(fs, path);
		return rc;
	}
	if (rc < 0)
		return rc == -ENAMETOOLONG || rc == -EINVAL || rc == -EACCES ? rc : -EIO;
	if (!(k = node_add(fs, path)))
		return -ENOMEM;
	/* Someone may have created it while we asked: theirs wins. */
	if (k->type == NODE_ABSENT || (!k->w && !k->local_dir)) {
		if (is_file) {
			node_set_file(fs, k, info->size, info->etag, info->mtime,
				      info->storage_class);
			node_read_attrs(k, info);
		} else if (k->type != NODE_FILE) {
			k->type = NODE_DIR;
			k->mtime = time(NULL);
		}
	}
	node_mark_parents(fs, path);
	k->refs++;
	*n = k;
	return 0;
}

/* Resolves path to a referenced node of type FILE or DIR, asking S3 when
 * the daemon does not know. */
int node_resolve(struct fs *fs, const char *path, struct node **out)
{
	struct s3_obj_info info;
	struct node *n = NULL;
	int from_list, is_file, rc;

	fs_lock(fs);
	node_trim(fs);
	rc = known_locked(fs, path, &n, &from_list);
	fs_unlock(fs);
	if (rc == 1) {
		rc = ask_store(fs, path, from_list, &info, &is_file);
		fs_lock(fs);
		rc = record_locked(fs, path, rc, is_file, &info, &n);
		fs_unlock(fs);
	}
	*out = rc == 0 ? n : NULL;
	return rc;
}

/* CopyObject from -> to (to may be from): with the metadata replaced by
 * a's attributes when replace is set or the destination is a flat bucket
 * (whose copies always replace it), else the source's metadata as is. */
int fs_copy_with_attrs(struct fs *fs, const struct target *from, const struct target *to,
		       const struct attrs *a, int replace, char *etag, size_t etaglen)
{
	struct attrs_meta am;
	size_t nm = 0;

	if (replace || to->bucket->key_layout == KEY_LAYOUT_FLAT)
		nm = attrs_to_meta(a, &am);
	if (nm && fs->store.ops->copy_meta)
		return fs->store.ops->copy_meta(fs->store.ctx, from, to, am.pairs, nm, etag,
						etaglen);
	return fs->store.ops->copy(fs->store.ctx, from, to, etag, etaglen);
}

size_t node_kernel_trim_names(struct fs *fs, char (*names)[NAME_MAX + 1], size_t max)
{
	size_t n = 0;

	fs_lock(fs);
	if (fs->evicted_since_trim >= (unsigned long)fs->cfg->max_nodes / 2) {
		fs->evicted_since_trim = 0;
		/* The most recently used first: top-level names are few, and
		 * the ones in use are near the head. */
		for (struct node *x = fs->lru_head; x && n < max; x = x->lru_next)
			if (x->path[0] && !strchr(x->path, '/') && x->type != NODE_ABSENT &&
			    strlen(x->path) <= NAME_MAX)
				snprintf(names[n++], NAME_MAX + 1, "%s", x->path);
	}
	fs_unlock(fs);
	return n;
}
