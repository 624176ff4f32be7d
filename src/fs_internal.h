/* fs_internal.h - the filesystem's shared state: the node table (what the
 * daemon knows of each path), open handles, and the daemon's parts, as
 * the FUSE operations (fuse_ops.c) and the writers (writer.c) see them.
 *
 * Lock order (never the other way round):
 *   fs->lock  (the node table and every node's fields)
 *     -> writer->lock  (one writer's state, writer.h)
 *       -> the cache's lock, an upload's lock (taken inside those layers)
 *       -> the writers' scheduler locks (writer.c: its delayed lists, and
 *          the count of queued uploads an async close() waits on, with no
 *          other lock held)
 * Nothing waits for S3 while holding fs->lock or a writer's lock: a writer
 * whose file is being uploaded is marked (writer.h, "running") and others
 * wait on its condition variable, which releases only the writer's lock. */
#ifndef S3CSFS_FS_INTERNAL_H
#define S3CSFS_FS_INTERNAL_H

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "attrs.h"
#include "cache.h"
#include "conf.h"
#include "s3_client.h"
#include "store.h"
#include "upload.h"
#include "workq.h"

/* The node table's buckets: from MIN, doubled as it fills, up to MAX. */
#define NODE_HASH_MIN 4096
#define NODE_HASH_MAX ((size_t)1 << 24)
#define VDIR ".s3csfs" /* the virtual directory of statistics files */

enum node_type { NODE_ABSENT = 0, NODE_FILE, NODE_DIR };

struct writer;
struct writer_sched;
struct reaper;
struct housekeeping;

/* Every field is guarded by fs->lock. */
struct node {
	char *path; /* relative to the mount, "" for the root */
	struct node *hnext;
	int refs; /* 1 for the table while listed there, +1 per user */
	int in_table;
	enum node_type type;
	double absent_until; /* NODE_ABSENT: trusted until then */
	long long size;
	time_t mtime;
	char etag[S3_ETAG_MAX];
	char storage_class[32];
	int local_dir; /* mkdir'd here: shown until rmdir */
	/* NODE_DIR made by mkdir where S3 held nothing: until then every
	 * child not in the table is absent, as trusted as that answer. */
	double children_absent_until;
	int stale_pages; /* the kernel's pages are not the object's */
	/* NODE_ABSENT since its close failed here: the kernel still has
	 * its name, so an open for writing (O_CREAT never reaches FUSE's
	 * OPEN) creates it again. */
	int gone_by_failed_close;
	/* Bumped whenever the path stops naming the file it named (unlink,
	 * rename away or over it): a handle opened at another generation
	 * holds a file the node no longer describes. */
	unsigned gen;
	struct writer *w; /* open for writing, or its state not yet durable */
	/* NODE_FILE attributes (attrs.h): read from the object's metadata,
	 * or set here (utimens, chmod, symlink); a change made here waits
	 * (attrs_state_dirty) for the next upload, rename or the unmount. */
	struct attrs_state attrs;
	int attrs_from_list; /* known from a listing only: metadata unread */
	char *link;          /* a symbolic link's target, once read */
	/* On fs->local (node_mark_local): it may be here and not (yet) in S3
	 * (w or local_dir set), so a listing adds it. node_each_local
	 * drops nodes no longer local; node_trim may take those too. */
	struct node *lprev, *lnext;
	int on_local;
	/* On fs's LRU list (most recently used first) while in the table:
	 * node_trim takes clean, unused nodes from its tail. */
	struct node *lru_prev, *lru_next;
};

struct handle {
	struct node *n;
	struct cache_entry *ce; /* reads */
	struct writer *w;       /* writes */
	struct writer *rw;      /* reads of a file being written (writer_pin) */
	int wrote;              /* a write(2) came through this handle */
	unsigned gen;           /* n->gen when it was opened */
	long long next_off;     /* where a sequential reader reads next */
	char *vbuf;             /* virtual file contents */
	size_t vlen;
	/* On fs->readers (fs->lock): opened for reading while no writer had
	 * the file, so a writer that comes later pins it (pin_readers). */
	struct handle *rprev, *rnext;
	int listed;
};

struct fs {
	struct config *cfg;
	struct store store;
	struct cache *cache;
	struct workq *transfers; /* single requests: parts, ranges */
	struct workq *files;     /* background uploads (wait on transfers) */
	struct upload_ctx up;
	struct writer_sched *sched; /* delayed uploads (writer.c) */
	pthread_mutex_t lock;       /* the node table and node fields: fs_lock */
	/* Who holds lock (atomic; for FS_LOCK_HELD): set by fs_lock, cleared
	 * by fs_unlock. */
	pthread_t lock_holder;
	int lock_held;
	struct node **table; /* nbuckets chains (a power of two), NULL until the first node */
	size_t nbuckets, nnodes;
	struct node *lru_head, *lru_tail; /* every node in the table (fs->lock) */
	struct dircache *dircache;        /* listings kept (fs->lock; dircache.h) */
	struct handle *readers;           /* read handles with no writer pinned (fs->lock) */
	/* Nodes that may be local (fs->lock): what a listing merges in and
	 * rmdir checks, instead of a walk of the whole table. */
	struct node *local;
	/* Names forgotten since the kernel was last asked to drop its own
	 * (fs->lock; node_kernel_trim_names, kcache.h). */
	unsigned long evicted_since_trim;
	long pending; /* background uploads not yet durable (atomic) */
	int stopping; /* unmounting: failed uploads stay journaled (atomic) */
	time_t mounted_at;
	struct reaper *reaper;
	struct housekeeping *hk;
};

double fs_now(void);

/* fs->lock, recording its holder so that functions that need it held can
 * say so with FS_LOCK_HELD (an assertion, off with NDEBUG). */
static inline void fs_lock(struct fs *fs)
{
	pthread_mutex_lock(&fs->lock);
	__atomic_store_n(&fs->lock_holder, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&fs->lock_held, 1, __ATOMIC_RELAXED);
}

static inline void fs_unlock(struct fs *fs)
{
	__atomic_store_n(&fs->lock_held, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fs->lock);
}

#define FS_LOCK_HELD(fs)                                              \
	assert(__atomic_load_n(&(fs)->lock_held, __ATOMIC_RELAXED) && \
	       pthread_equal(__atomic_load_n(&(fs)->lock_holder, __ATOMIC_RELAXED), pthread_self()))

/* ---- the node table; fs->lock held for all of these ---- */

/* The node of path, or NULL; a hit counts as a use (node_trim). */
struct node *node_find(struct fs *fs, const char *path);
/* The node of path, added (NODE_ABSENT, untrusted) if missing; NULL: ENOMEM. */
struct node *node_add(struct fs *fs, const char *path);
void node_unref(struct fs *fs, struct node *n);
/* Drops least recently used nodes that nothing refers to and that hold
 * nothing this host alone knows (no writer, no directory made here, no
 * unstored attributes, no stale pages), until the table holds at most
 * cfg->max_nodes or only such nodes are left. Every pointer to a node
 * not referenced (refs) is invalid afterwards; called where the caller
 * holds none (node_resolve, before its lookup). */
void node_trim(struct fs *fs);
/* path does not exist, as far as this host knows, for negative_timeout. */
void node_set_absent(struct fs *fs, const char *path);
/* Another client stored path: forget what this host believed of it. */
void node_forget(struct fs *fs, const char *path);
/* The parent directories of path exist. */
void node_mark_parents(struct fs *fs, const char *path);
/* n has just got a writer or become a directory made here: on fs->local. */
void node_mark_local(struct fs *fs, struct node *n);
/* Calls fn(n, arg) for each node of fs->local that is still local (a
 * writer, or a directory made here, and not absent), dropping the others
 * from the list, until fn returns nonzero (returned). */
int node_each_local(struct fs *fs, int (*fn)(struct node *n, void *arg), void *arg);
/* Takes fs->lock. When the table has forgotten max_nodes / 2 names since
 * the last call that returned names: copies up to max top-level names it
 * knows (files and directories) into names and returns how many; else 0.
 * For kcache.c, which asks the kernel to drop what is below them. */
size_t node_kernel_trim_names(struct fs *fs, char (*names)[NAME_MAX + 1], size_t max);
/* n names the object (size, etag, mtime, storage class; sc may be NULL). */
void node_set_file(struct fs *fs, struct node *n, long long size, const char *etag, time_t mtime,
		   const char *sc);
/* n's attributes unknown again (from_list: a listing said it exists). */
void node_attrs_reset(struct node *n, int from_list);
/* stat(2) of n as the daemon knows it. */
void node_fill_stat(const struct node *n, struct stat *st);

/* ---- lookups and store calls for names (node.c); they lock themselves ---- */

/* path ("" the root) to a referenced node of type FILE or DIR, asking the
 * store (one GET or one listing) when the daemon does not know: 0,
 * -ENOENT (remembered for negative_timeout), -ENAMETOOLONG, -EINVAL,
 * -EACCES, -ENOMEM, -EIO (the store failed otherwise). node_unref (under
 * fs->lock) lets go. */
int node_resolve(struct fs *fs, const char *path, struct node **out);
/* The distinct date-layout buckets a directory's entries may be in
 * (out: room for 64). */
size_t fs_dir_buckets(const struct fs *fs, const struct bucket_conf **out);
/* CopyObject from -> to (to may be from), the metadata replaced by a's
 * attributes when replace is set or to is in a flat bucket: the store's
 * -errno. */
int fs_copy_with_attrs(struct fs *fs, const struct target *from, const struct target *to,
		       const struct attrs *a, int replace, char *etag, size_t etaglen);

#endif
