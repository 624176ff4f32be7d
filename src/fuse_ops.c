/* fuse_ops.c - the FUSE adapters: each operation turns a path and a handle
 * into calls on the layers below — names (node.c: the node table and
 * lookups), listings (dirlist.c), writers (writer.c), the cache (reads) —
 * and answers the virtual /.s3csfs files itself. The filesystem is built
 * outside FUSE (fs_mount.c); init and destroy only call it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "attrs.h"
#include "cache.h"
#include "fallback.h"
#include "fs.h"
#include "dircache.h"
#include "dirlist.h"
#include "fs_internal.h"
#include "handle.h"
#include "kcache.h"
#include "fs_connector.h"
#include "housekeeping.h"
#include "journal.h"
#include "log.h"
#include "mapping.h"
#include "metrics_http.h"
#include "reaper.h"
#include "stats.h"
#include "store.h"
#include "upload.h"
#include "workq.h"
#include "writer.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define STATS_BUF STATS_PROMETHEUS_MAX

static struct fs *g_fs;
static struct kcache *g_kcache; /* the kernel's names kept in step (kcache.h) */
static int clean_shutdown;

void fs_ops_bind(struct fs *fs)
{
	g_fs = fs;
}

int fs_clean_shutdown(void)
{
	return clean_shutdown;
}

long fs_pending_uploads(void)
{
	return g_fs ? __atomic_load_n(&g_fs->pending, __ATOMIC_RELAXED) : 0;
}

static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

static int is_vpath(const char *p)
{
	return strcmp(p, VDIR) == 0 || strncmp(p, VDIR "/", sizeof(VDIR)) == 0;
}

static int vfile_kind(const char *p)
{
	if (strcmp(p, VDIR "/stats") == 0)
		return 1;
	if (strcmp(p, VDIR "/metrics") == 0)
		return 2;
	return 0;
}

/* ---- FUSE operations ---- */

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *fcfg);

static int op_getattr(const char *fpath, struct stat *st, struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	struct node *n;
	int rc;

	if (!fpath) {
		/* fstat of a file unlinked while open: its handle knows it. */
		struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
		if (!h || !h->n)
			return -ENOENT;
		fs_lock(fs);
		node_fill_stat(h->n, st);
		if (h->w || h->rw)
			st->st_size = writer_size(h->w ? h->w : h->rw);
		st->st_nlink = 0;
		fs_unlock(fs);
		return 0;
	}
	const char *path = rel(fpath);

	if (!*path || strcmp(path, VDIR) == 0) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFDIR | (*path ? 0555 : 0755);
		st->st_nlink = 2;
		st->st_uid = getuid();
		st->st_gid = getgid();
		st->st_mtime = st->st_ctime = st->st_atime = g_fs->mounted_at;
		return 0;
	}
	if (is_vpath(path)) {
		if (!vfile_kind(path))
			return -ENOENT;
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_uid = getuid();
		st->st_gid = getgid();
		st->st_mtime = time(NULL);
		return 0;
	}
	rc = map_check_path(path);
	if (rc < 0)
		return rc;
	rc = node_resolve(fs, path, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	node_fill_stat(n, st);
	node_unref(fs, n);
	fs_unlock(fs);
	return 0;
}

static int op_mkdir(const char *fpath, mode_t mode)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	struct node *n;
	int rc = map_check_path(path);

	if (rc < 0)
		return rc;
	if (is_vpath(path))
		return -EACCES;
	fs_lock(fs);
	n = node_add(fs, path);
	if (!n)
		rc = -ENOMEM;
	else if (n->type != NODE_ABSENT)
		rc = -EEXIST;
	else {
		/* S3 had nothing under it, so had none of its children either. */
		n->children_absent_until = n->absent_until;
		n->type = NODE_DIR;
		n->local_dir = 1;
		node_mark_local(fs, n);
		n->mtime = time(NULL);
	}
	fs_unlock(fs);
	return rc;
}

static int op_rmdir(const char *fpath)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	const struct bucket_conf *markers[64];
	size_t nmarkers = 0;
	struct node *n;
	int rc;

	if (!*path || is_vpath(path))
		return -EBUSY;
	rc = node_resolve(fs, path, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	rc = n->type != NODE_DIR ? -ENOTDIR : dir_has_local_child(fs, path) ? -ENOTEMPTY : 0;
	node_unref(fs, n);
	fs_unlock(fs);
	if (rc < 0)
		return rc;
	/* Objects below in S3 keep it non-empty; its own marker does not. */
	rc = dir_s3_content(fs, path, markers, &nmarkers);
	if (rc == 0 && !nmarkers && map_dir_may_be_flat(fs->cfg, path))
		rc = 1; /* files in a flat bucket may be below (see probe_dir) */
	if (rc > 0)
		return -ENOTEMPTY;
	if (rc < 0)
		return rc == -ENAMETOOLONG ? rc : -EIO;
	for (size_t i = 0; i < nmarkers; i++) {
		struct target t = { .bucket = markers[i] };
		snprintf(t.path, sizeof(t.path), "%s", path);
		if (map_dir_prefix(markers[i], path, t.key, sizeof(t.key)) < 0)
			return -ENAMETOOLONG;
		rc = fs->store.ops->remove(fs->store.ctx, &t);
		if (rc < 0)
			return rc == -EACCES ? rc : -EIO;
	}
	fs_lock(fs);
	node_set_absent(fs, path);
	fs_unlock(fs);
	return 0;
}

static int op_readdir(const char *fpath, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	struct dirent_list d = { 0 };
	struct stat st;
	int rc;

	(void)offset;
	(void)fi;
	(void)flags;
	if (strcmp(path, VDIR) == 0) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFREG | 0444;
		filler(buf, ".", NULL, 0, 0);
		filler(buf, "..", NULL, 0, 0);
		filler(buf, "stats", &st, 0, 0);
		filler(buf, "metrics", &st, 0, 0);
		return 0;
	}
	rc = dir_list(fs, path, &d);
	if (rc < 0) {
		dl_free(&d);
		return rc;
	}
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR | 0755;
	filler(buf, ".", &st, 0, 0);
	filler(buf, "..", &st, 0, 0);
	for (size_t i = 0; i < d.n; i++)
		if (filler(buf, d.names[i], &d.st[i], 0, d.plus[i] ? FUSE_FILL_DIR_PLUS : 0))
			break;
	dl_free(&d);
	return rc;
}

static int op_create(const char *fpath, mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	struct s3_obj_info info;
	struct target t;
	struct node *n;
	struct handle *h;
	int rc = map_path(fs->cfg, path, &t), known_absent;

	if (rc < 0)
		return rc;
	if (is_vpath(path))
		return -EACCES;
	fs_lock(fs);
	n = node_find(fs, path);
	known_absent = n && n->type == NODE_ABSENT && fs_now() < n->absent_until;
	int known_file = n && n->type == NODE_FILE;
	fs_unlock(fs);
	if (known_file && (fi->flags & O_EXCL))
		return -EEXIST;
	int is_new = known_absent;
	if (!known_absent && !known_file) {
		/* The O_EXCL check the kernel's lookup did not already make. */
		rc = fs->store.ops->head(fs->store.ctx, &t, &info);
		if (rc == 0 && (fi->flags & O_EXCL))
			return -EEXIST;
		if (rc < 0 && rc != -ENOENT)
			return -EIO;
		is_new = rc == -ENOENT;
	}
	fs_lock(fs);
	n = node_add(fs, path);
	if (n) {
		if (n->type == NODE_ABSENT)
			n->size = 0;
		if (is_new) {
			/* the mode create(2) asked for (the umask applied) */
			n->attrs.a.mode = S_IFREG | (mode & 07777);
			n->attrs.a.have |= ATTR_MODE;
		}
		n->type = NODE_FILE;
		n->gone_by_failed_close = 0;
		n->refs++;
		node_mark_parents(fs, path);
	}
	fs_unlock(fs);
	if (!n)
		return -ENOMEM;
	h = handle_new(n);
	if (!h) {
		fs_lock(fs);
		node_unref(fs, n);
		fs_unlock(fs);
		return -ENOMEM;
	}
	/* A new object's store is create-only (If-None-Match: *), so another
	 * host's object made meanwhile is never overwritten. */
	rc = handle_open_writer(fs, n, path, 1, is_new, &h->w);
	if (rc < 0) {
		fs_lock(fs);
		if (!n->w)
			node_set_absent(fs, path);
		node_unref(fs, n);
		fs_unlock(fs);
		free(h);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int open_vfile(const char *path, struct fuse_file_info *fi)
{
	struct handle *h;
	int kind = vfile_kind(path);

	if (!kind)
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->vbuf = malloc(STATS_BUF))) {
		free(h);
		return -ENOMEM;
	}
	h->vlen = kind == 1 ? stats_render_text(h->vbuf, STATS_BUF)
			    : stats_render_prometheus(h->vbuf, STATS_BUF);
	fi->direct_io = 1;
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int gone_by_failed_close(struct fs *fs, const char *path)
{
	fs_lock(fs);
	struct node *n = node_find(fs, path);
	int gone = n && n->type == NODE_ABSENT && n->gone_by_failed_close;
	fs_unlock(fs);
	return gone;
}

static int op_open(const char *fpath, struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	struct handle *h;
	struct node *n;
	int rc;

	if (is_vpath(path))
		return open_vfile(path, fi);
	rc = node_resolve(fs, path, &n);
	/* The kernel still believed in a name this host has since seen go
	 * (e.g. after a failed close): O_CREAT creates it. */
	if (rc == -ENOENT && ((fi->flags & O_CREAT) || gone_by_failed_close(fs, path)) &&
	    (fi->flags & O_ACCMODE) != O_RDONLY)
		return op_create(fpath, 0644, fi);
	if (rc < 0)
		return rc;
	if (n->type == NODE_DIR) {
		fs_lock(fs);
		node_unref(fs, n);
		fs_unlock(fs);
		return -EISDIR;
	}
	h = handle_new(n);
	if (!h)
		rc = -ENOMEM;
	else if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		rc = handle_open_writer(fs, n, path, fi->flags & O_TRUNC, 0, &h->w);
	else {
		struct target t;
		rc = map_path(fs->cfg, path, &t);
		if (rc == 0)
			rc = cache_get(fs->cache, &t, 1, &h->ce);
		if (rc == 0) {
			fs_lock(fs);
			long long size = n->size;
			char etag[S3_ETAG_MAX];
			time_t mtime = n->mtime;
			int writing = n->w != NULL, stale = n->stale_pages;
			h->gen = n->gen;
			n->stale_pages = 0;
			if (!writing)
				handle_list_reader(fs, h);
			snprintf(etag, sizeof(etag), "%s", n->etag);
			fs_unlock(fs);
			if (!writing && etag[0])
				cache_set_object(fs->cache, h->ce, size, etag, mtime);
			if (writing)
				h->rw = writer_pin(fs, n, h->gen);
			/* Objects are write-once: the kernel may keep its pages
			 * from an earlier open of the same version. */
			fi->keep_cache = !writing && !stale;
		}
	}
	if (rc < 0) {
		fs_lock(fs);
		node_unref(fs, n);
		fs_unlock(fs);
		free(h);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int op_read(const char *fpath, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	int fd = -1, rc = handle_read_source(fs, h, off, &size, &fd);

	if (rc < 0)
		return rc;
	if (rc == 0) {
		ssize_t r = size ? pread(fd, buf, size, off) : 0;
		return r < 0 ? -errno : (int)r;
	}
	if (h->vbuf) {
		if ((size_t)off >= h->vlen)
			return 0;
		if (size > h->vlen - (size_t)off)
			size = h->vlen - (size_t)off;
		memcpy(buf, h->vbuf + off, size);
		return (int)size;
	}
	return handle_read_uncached(fs, h, buf, size, off);
}

/* Reads as a reference to the cache file, so libfuse can splice its
 * pages into /dev/fuse instead of copying them through this process. */
static int op_read_buf(const char *fpath, struct fuse_bufvec **bufp, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct fuse_bufvec *bv = malloc(sizeof(*bv));
	int fd = -1, rc;

	if (!bv)
		return -ENOMEM;
	*bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(size);
	rc = handle_read_source(fs, h, off, &size, &fd);
	if (rc < 0) {
		free(bv);
		return rc;
	}
	if (rc == 0) {
		bv->buf[0].size = size;
		bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
		bv->buf[0].fd = fd;
		bv->buf[0].pos = off;
		*bufp = bv;
		return 0;
	}
	char *mem = malloc(size ? size : 1);
	if (!mem) {
		free(bv);
		return -ENOMEM;
	}
	rc = op_read(fpath, mem, size, off, fi);
	if (rc < 0) {
		free(mem);
		free(bv);
		return rc;
	}
	bv->buf[0].size = (size_t)rc;
	bv->buf[0].mem = mem;
	*bufp = bv;
	return 0;
}

static int op_write(const char *fpath, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (!h->w)
		return -EBADF;
	if (!h->wrote) {
		/* A write makes the file's time now: a time set earlier
		 * (utimens before this open's first write) is superseded. */
		fs_lock(g_fs);
		struct node *n = writer_node(h->w);
		if (n)
			n->attrs.a.have &= ~ATTR_MTIME;
		fs_unlock(g_fs);
		h->wrote = 1;
	}
	return writer_write(g_fs, h->w, buf, size, off);
}

/* close(2): where upload errors are reported (writer.h). */
static int op_flush(const char *fpath, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	return h->w ? writer_flush(g_fs, h->w) : 0;
}

static int op_fsync(const char *fpath, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	return h->w ? writer_fsync(g_fs, h->w) : 0;
}

static int op_release(const char *fpath, struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (h->vbuf) {
		free(h->vbuf);
		free(h);
		return 0;
	}
	if (h->listed) {
		/* first, so that pin_readers does not pin it once it goes */
		fs_lock(fs);
		handle_unlist_reader(fs, h);
		fs_unlock(fs);
	}
	if (h->ce)
		cache_put(fs->cache, h->ce);
	if (h->w)
		writer_release(fs, h->w);
	if (h->rw)
		writer_unpin(fs, h->rw);
	fs_lock(fs);
	node_unref(fs, h->n);
	fs_unlock(fs);
	free(h);
	return 0;
}

static void drop_cached(struct fs *fs, const struct target *t)
{
	struct cache_entry *ce;

	if (cache_get(fs->cache, t, 0, &ce) == 0) {
		cache_drop(fs->cache, ce);
		cache_put(fs->cache, ce);
	}
}

static int op_unlink(const char *fpath)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	struct target t;
	struct node *n;
	int rc;

	if (is_vpath(path))
		return -EACCES;
	rc = node_resolve(fs, path, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	int isdir = n->type == NODE_DIR;
	fs_unlock(fs);
	/* A file open for writing or not yet stored: its writer decides. */
	rc = isdir ? -EISDIR : writer_unlink(fs, n);
	fs_lock(fs);
	node_unref(fs, n);
	fs_unlock(fs);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = map_path(fs->cfg, path, &t);
	if (rc == 0 && (rc = connector_may_delete(fs->cfg, &t)) < 0)
		return rc == -EPERM || rc == -EACCES ? rc : -EIO;
	/* Deleted, or tagged (on_delete = tag:K=V): the store then hides the
	 * object here; other hosts see it until a lifecycle rule expires it. */
	if (rc == 0)
		rc = fs->store.ops->retire(fs->store.ctx, &t);
	if (rc < 0)
		return rc == -EACCES ? rc : -EIO;
	drop_cached(fs, &t);
	fs_lock(fs);
	node_set_absent(fs, path);
	fs_unlock(fs);
	return 0;
}

static int op_rename(const char *ffrom, const char *fto, unsigned int flags)
{
	struct fs *fs = g_fs;
	const char *from = rel(ffrom), *to = rel(fto);
	struct target tf, tt;
	struct node *n, *dst = NULL;
	char etag[S3_ETAG_MAX];
	int rc, dst_exists = 0;

	if (is_vpath(from) || is_vpath(to))
		return -EACCES;
	/* RENAME_EXCHANGE, RENAME_WHITEOUT: S3 has no atomic swap. */
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if ((rc = map_path(fs->cfg, from, &tf)) < 0 || (rc = map_path(fs->cfg, to, &tt)) < 0)
		return rc;
	if (node_resolve(fs, to, &dst) == 0) {
		fs_lock(fs);
		int dst_dir = dst->type == NODE_DIR;
		node_unref(fs, dst);
		fs_unlock(fs);
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (dst_dir)
			return -EISDIR;
		dst_exists = 1;
	}
	rc = node_resolve(fs, from, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	int isdir = n->type == NODE_DIR;
	/* A destination open for writing here loses its name, as on a local
	 * file system: its handles keep the replaced file, nothing of it is
	 * stored, and the rename's object takes the key. */
	dst = isdir ? NULL : node_find(fs, to);
	int displace = dst && dst != n && writer_live(dst->w) && dst->w != n->w;
	if (displace)
		dst->refs++;
	fs_unlock(fs);
	if (displace) {
		rc = writer_displace(fs, dst);
		fs_lock(fs);
		node_unref(fs, dst);
		if (rc < 0)
			node_unref(fs, n);
		fs_unlock(fs);
		if (rc < 0)
			return rc;
	}
	dst = NULL;
	/* Directories are key prefixes: mv(1) copies them file by file.
	 * A file open for writing or not yet stored moves with its writer. */
	rc = isdir ? -EXDEV : writer_rename(fs, n, to, &tt, dst_exists);
	if (rc != 0) {
		fs_lock(fs);
		node_unref(fs, n);
		fs_unlock(fs);
		return rc < 0 ? rc : 0;
	}
	fs_lock(fs);
	long long size = n->size;
	time_t mtime = n->mtime;
	/* The attributes travel with the copy: changed here and not yet
	 * stored (rsync's utimens after close), they replace the metadata. */
	struct attrs attrs, kept = n->attrs.a;
	attrs_state_snapshot(&n->attrs, n->mtime, &attrs);
	int attrs_dirty = attrs_state_dirty(&n->attrs);
	node_unref(fs, n);
	dst = node_find(fs, to);
	int dst_busy = dst && writer_live(dst->w);
	fs_unlock(fs);
	if (dst_busy)
		return -EBUSY; /* the destination is open for writing here */
	/* Single-request copy: up to 5 GiB, on one endpoint; otherwise mv(1)
	 * copies through the mount (see README, errno table). */
	if (size > 5LL << 30 || tf.bucket->client != tt.bucket->client)
		return -EXDEV;
	/* A retained or held object cannot go: refuse before the copy, so a
	 * rename never leaves the file under both names. */
	if ((rc = connector_may_delete(fs->cfg, &tf)) < 0)
		return rc;
	rc = fs_copy_with_attrs(fs, &tf, &tt, &attrs, attrs_dirty, etag, sizeof(etag));
	if (!attrs_dirty && tt.bucket->key_layout != KEY_LAYOUT_FLAT)
		attrs = kept; /* the metadata was copied as it was */
	if (rc == 0)
		rc = fs->store.ops->remove(fs->store.ctx, &tf);
	if (rc < 0)
		return rc == -EACCES ? rc : -EIO;
	/* The cached bytes move with the name (the copy has them), so a
	 * reader that has the file open keeps reading it. */
	drop_cached(fs, &tt);
	struct cache_entry *moved;
	if (cache_get(fs->cache, &tf, 0, &moved) == 0) {
		if (cache_rename(fs->cache, moved, &tt) < 0)
			cache_drop(fs->cache, moved);
		cache_put(fs->cache, moved);
	}
	fs_lock(fs);
	node_set_absent(fs, from);
	dircache_changed(fs->dircache, to);
	n = node_add(fs, to);
	if (n) {
		n->gen++; /* the name now holds another file */
		node_set_file(fs, n, size, etag, mtime, NULL);
		if (!n->w) {
			node_attrs_reset(n, 0);
			n->attrs.a = attrs; /* what the copy stored */
		}
	}
	node_mark_parents(fs, to);
	fs_unlock(fs);
	return 0;
}

static int op_truncate(const char *fpath, off_t size, struct fuse_file_info *fi)
{
	struct fs *fs = g_fs;
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	struct node *n = NULL;
	struct writer *w;
	int rc;

	if (h && h->w)
		return writer_truncate(fs, h->w, size);
	if (!fpath)
		return -EBADF; /* a read-only handle of an unlinked file */
	if (is_vpath(rel(fpath)))
		return -EACCES;
	/* truncate(2) on a path: open for writing, change, close. */
	rc = node_resolve(fs, rel(fpath), &n);
	if (rc < 0)
		return rc;
	rc = writer_open(fs, n, rel(fpath), size == 0, 0, &w);
	if (rc == 0) {
		rc = writer_truncate(fs, w, size);
		if (rc == 0)
			rc = writer_flush(fs, w);
		writer_release(fs, w);
	}
	fs_lock(fs);
	node_unref(fs, n);
	fs_unlock(fs);
	return rc;
}

/* Changes a file's attributes here (set() under fs->lock); they reach S3
 * with the next upload or rename of it, or at the unmount (see README,
 * "Times and modes").  Directories are virtual: accepted, not stored. */
static int change_attrs(const char *fpath, void (*set)(struct attrs *, const void *),
			const void *arg)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	struct node *n;
	int rc;

	if (is_vpath(path) || !*path)
		return 0;
	rc = node_resolve(fs, path, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	if (n->type == NODE_FILE) {
		set(&n->attrs.a, arg);
		attrs_state_changed(&n->attrs);
	}
	node_unref(fs, n);
	fs_unlock(fs);
	return 0;
}

static void set_mode(struct attrs *a, const void *arg)
{
	mode_t type = attrs_is_link(a) ? S_IFLNK : S_IFREG;
	a->mode = type | (*(const mode_t *)arg & 07777);
	a->have |= ATTR_MODE;
}

static void set_mtime(struct attrs *a, const void *arg)
{
	const struct timespec *ts = arg;
	a->mtime_s = ts->tv_sec;
	a->mtime_ns = ts->tv_nsec;
	a->have |= ATTR_MTIME;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return change_attrs(path, set_mode, &mode);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return 0; /* accepted, not stored: files belong to the mount's owner */
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct timespec m;

	/* Only the mtime is kept (atime and ctime are shown as it). */
	if (tv && tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	if (!tv || tv[1].tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &m);
	else
		m = tv[1];
	if (m.tv_sec < 0 || m.tv_nsec < 0 || m.tv_nsec > 999999999)
		return -EINVAL;
	return change_attrs(path, set_mtime, &m);
}

/* Links are small objects: the target is the body, x-amz-meta-mode says
 * S_IFLNK (as s3fs stores them). Create-only, like a new file. */
static int op_symlink(const char *target, const char *flink)
{
	struct fs *fs = g_fs;
	const char *path = rel(flink);
	struct http_body body = { .kind = HTTP_BODY_MEM, .mem = target, .len = strlen(target) };
	struct attrs a = { .have = ATTR_MODE | ATTR_MTIME, .mode = S_IFLNK | 0777 };
	struct attrs_meta am;
	struct timespec now;
	char etag[S3_ETAG_MAX];
	struct target t;
	struct node *n;
	int rc = map_path(fs->cfg, path, &t);

	if (rc < 0)
		return rc;
	if (is_vpath(path))
		return -EACCES;
	if (body.len >= PATH_MAX)
		return -ENAMETOOLONG;
	fs_lock(fs);
	n = node_find(fs, path);
	rc = n && (n->type != NODE_ABSENT || n->w) ? -EEXIST : 0;
	fs_unlock(fs);
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	a.mtime_s = now.tv_sec;
	a.mtime_ns = now.tv_nsec;
	size_t nm = attrs_to_meta(&a, &am);
	if (fs->store.ops->put_new)
		rc = fs->store.ops->put_new(fs->store.ctx, &t, &body, NULL, NULL, am.pairs, nm,
					    etag, sizeof(etag));
	else
		rc = fs->store.ops->put(fs->store.ctx, &t, &body, NULL, NULL, am.pairs, nm, etag,
					sizeof(etag));
	if (rc < 0)
		return rc == -EEXIST || rc == -EACCES ? rc : -EIO;
	fs_lock(fs);
	dircache_changed(fs->dircache, path);
	n = node_add(fs, path);
	if (n && !n->w) {
		node_set_file(fs, n, (long long)body.len, etag, now.tv_sec, NULL);
		node_attrs_reset(n, 0);
		n->attrs.a = a;
		n->link = strdup(target); /* NULL: read back when asked */
		node_mark_parents(fs, path);
	}
	fs_unlock(fs);
	return 0;
}

static int op_readlink(const char *fpath, char *buf, size_t size)
{
	struct fs *fs = g_fs;
	const char *path = rel(fpath);
	char target[PATH_MAX];
	struct http_sink sink = { .kind = HTTP_SINK_MEM, .buf = target, .cap = sizeof(target) - 1 };
	struct target t;
	struct node *n;
	int rc;

	if (size == 0)
		return -EINVAL;
	rc = node_resolve(fs, path, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	int islink = n->type == NODE_FILE && attrs_is_link(&n->attrs.a);
	if (islink && n->link)
		snprintf(buf, size, "%s", n->link);
	int known = islink && n->link;
	node_unref(fs, n);
	fs_unlock(fs);
	if (!islink)
		return -EINVAL;
	if (known)
		return 0;
	rc = map_path(fs->cfg, path, &t);
	if (rc == 0)
		rc = fs->store.ops->get(fs->store.ctx, &t, 0, (long long)sizeof(target) - 1, NULL,
					&sink, NULL);
	if (rc < 0)
		return rc == -ENOENT || rc == -EACCES ? rc : -EIO;
	target[sink.len] = '\0';
	snprintf(buf, size, "%s", target);
	fs_lock(fs);
	n = node_find(fs, path);
	if (n && n->type == NODE_FILE && attrs_is_link(&n->attrs.a) && !n->link)
		n->link = strdup(target);
	fs_unlock(fs);
	return 0;
}

/* Unsupported operations, errnos as their man pages give for a
 * filesystem that cannot (README, "Unsupported operations"). */
static int op_link(const char *from, const char *to)
{
	return -EPERM; /* link(2): no hard links on this filesystem */
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	/* Regular files come through create; FIFOs, sockets, devices: */
	return -EPERM;
}

static int op_statfs(const char *path, struct statvfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = 1 << 20;
	st->f_frsize = 1 << 20;
	/* S3 has no fixed size: report 1 PiB, all free. */
	st->f_blocks = st->f_bfree = st->f_bavail = 1ULL << 30;
	st->f_files = st->f_ffree = st->f_favail = 1ULL << 32;
	st->f_namemax = 255;
	return 0;
}

#define XATTR_PREFIX "user.s3csfs."
static const char *const xattr_names[] = { "bucket", "key", "etag", "storage_class", "url" };

static int xattr_value(struct fs *fs, const char *path, const char *name, char *out, size_t len)
{
	struct target t;
	struct node *n;
	int rc;

	if (strncmp(name, XATTR_PREFIX, sizeof(XATTR_PREFIX) - 1) != 0)
		return -ENODATA;
	name += sizeof(XATTR_PREFIX) - 1;
	rc = node_resolve(fs, path, &n);
	if (rc < 0)
		return rc;
	fs_lock(fs);
	int isfile = n->type == NODE_FILE;
	char etag[S3_ETAG_MAX], sc[32];
	snprintf(etag, sizeof(etag), "%s", n->etag);
	snprintf(sc, sizeof(sc), "%s", n->storage_class[0] ? n->storage_class : "STANDARD");
	node_unref(fs, n);
	fs_unlock(fs);
	if (!isfile)
		return -ENODATA;
	if ((rc = map_path(fs->cfg, path, &t)) < 0)
		return rc;
	if ((rc = connector_xattr(fs->cfg, &t, name, out, len)) != -ENODATA)
		return rc;
	if (strcmp(name, "bucket") == 0)
		snprintf(out, len, "%s", t.bucket->name);
	else if (strcmp(name, "key") == 0)
		snprintf(out, len, "%s", t.key);
	else if (strcmp(name, "etag") == 0)
		snprintf(out, len, "%s", etag);
	else if (strcmp(name, "storage_class") == 0)
		snprintf(out, len, "%s", sc);
	else if (strcmp(name, "url") == 0)
		snprintf(out, len, "store://%s", path);
	else
		return -ENODATA;
	return 0;
}

static int op_getxattr(const char *fpath, const char *name, char *value, size_t size)
{
	char buf[CONNECTOR_XATTR_MAX];
	int rc = xattr_value(g_fs, rel(fpath), name, buf, sizeof(buf));
	size_t len;

	if (rc < 0)
		return rc;
	len = strlen(buf);
	if (size == 0)
		return (int)len;
	if (size < len)
		return -ERANGE;
	memcpy(value, buf, len);
	return (int)len;
}

static int op_listxattr(const char *fpath, char *list, size_t size)
{
	struct node *n;
	size_t need = 0;
	int rc = node_resolve(g_fs, rel(fpath), &n);

	if (rc < 0)
		return rc;
	fs_lock(g_fs);
	int isfile = n->type == NODE_FILE;
	node_unref(g_fs, n);
	fs_unlock(g_fs);
	if (!isfile)
		return 0;
	for (size_t i = 0; i < sizeof(xattr_names) / sizeof(xattr_names[0]); i++)
		need += sizeof(XATTR_PREFIX) - 1 + strlen(xattr_names[i]) + 1;
	need += connector_listxattr(g_fs->cfg, rel(fpath), NULL);
	if (size == 0)
		return (int)need;
	if (size < need)
		return -ERANGE;
	for (size_t i = 0; i < sizeof(xattr_names) / sizeof(xattr_names[0]); i++)
		list += sprintf(list, XATTR_PREFIX "%s", xattr_names[i]) + 1;
	connector_listxattr(g_fs->cfg, rel(fpath), list);
	return (int)need;
}

/* user.s3csfs.* describe the object: setting or removing one (cp -a, mv
 * copy them) is accepted and changes nothing, as chown is. Other
 * attributes are not stored: ENOTSUP, which cp -a and mv pass over. */
static int op_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	return strncmp(name, XATTR_PREFIX, sizeof(XATTR_PREFIX) - 1) == 0 ? 0 : -ENOTSUP;
}

static int op_removexattr(const char *path, const char *name)
{
	return strncmp(name, XATTR_PREFIX, sizeof(XATTR_PREFIX) - 1) == 0 ? 0 : -ENOTSUP;
}

/* Re-queues uploads a crash or restart left in the journal. */
static void *op_init(struct fuse_conn_info *conn, struct fuse_config *fcfg)
{
	struct fuse_context *ctx = fuse_get_context();
	const struct fs_args *args = ctx->private_data;
	struct config *cfg = args->cfg;
	char err[512];
	/* Here, not in main(): fuse_main has daemonized by now, and the
	 * threads fs_new starts would not survive its fork. */
	struct fs *fs = fs_new(cfg, args->store, err, sizeof(err));

	if (!fs) {
		log_error("%s", err);
		fuse_exit(ctx->fuse);
		return NULL;
	}
	g_fs = fs;

	fcfg->entry_timeout = cfg->attr_timeout;
	fcfg->attr_timeout = cfg->attr_timeout;
	fcfg->negative_timeout = 0; /* the daemon keeps its own, shorter */
	fcfg->use_ino = 0;
	fcfg->nullpath_ok = 0;
	fcfg->hard_remove = 1;
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	/* Reads are answered by splicing cache-file pages (op_read_buf). */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	fs_start(fs, fs_pending_uploads);
	g_kcache = kcache_start(fs, fuse_get_session(ctx->fuse));
	metrics_http_start(); /* metrics_http.h: serves the socket main() bound */
	notify_ready();
	log_info("mounted: %zu bucket(s), cache %s (max %lld MiB), upload=%s, part_size=%lld MiB",
		 cfg->nbuckets, cfg->cache_dir, cfg->cache_max_size >> 20,
		 cfg->upload == UPLOAD_ASYNC ? "async" : "sync", cfg->part_size >> 20);
	return fs;
}

static void op_destroy(void *private_data)
{
	struct fs *fs = private_data;

	if (!fs)
		return;
	notify_stopping();
	kcache_stop(g_kcache); /* before the session that carries its notices ends */
	g_kcache = NULL;
	s3_client_deadline(S3_UNMOUNT_GRACE_MS); /* the whole unmount within 30 s */
	g_fs = NULL;
	clean_shutdown = fs_free(fs);
}

const struct fuse_operations s3csfs_fuse_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.getattr = op_getattr,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.readdir = op_readdir,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.read_buf = op_read_buf,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.unlink = op_unlink,
	.rename = op_rename,
	.truncate = op_truncate,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.link = op_link,
	.mknod = op_mknod,
};
