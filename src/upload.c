/* upload.c - streaming multipart uploads from a cache file. */
#define _GNU_SOURCE /* sync_file_range */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <openssl/evp.h>

#include "checksum.h"
#include "integrity.h"
#include "log.h"
#include "stats.h"
#include "upload.h"

enum part_state { PART_IDLE = 0, PART_INFLIGHT, PART_DONE };

struct part {
	enum part_state state;
	unsigned gen;      /* bumped when its bytes change */
	unsigned sent_gen; /* gen of the bytes the DONE etag is for */
	char etag[S3_ETAG_MAX];
	unsigned char md5[16]; /* of its bytes as written, when md5_valid */
	uint64_t crc;          /* their flexible checksum (upload's alg), likewise */
	unsigned md5_gen;      /* gen those bytes had */
	long long md5_len;     /* how many bytes of the part it is the MD5 of */
	int md5_valid;
	uint64_t sent_crc; /* checksum of the bytes the DONE etag is for */
	long long sent_len;
};

struct upload {
	const struct upload_ctx *ctx;
	struct target target;
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char upload_id[S3_UPLOAD_ID_MAX]; /* "" until created */
	struct part *parts;
	int nparts_alloc;
	int inflight;
	int error;               /* first permanent failure, sticky */
	long long final_size;    /* -1 while streaming */
	struct upload *reg_next; /* registry of active multipart uploads */
	int registered;
	int exclusive; /* see upload_set_exclusive */
	/* MD5 of the part being written, fed by upload_hash while the writer
	 * appends in order; hashed is how far, -1 once it did not. */
	EVP_MD_CTX *hash;
	long long hashed;
	int hash_finished; /* the last part's MD5 is taken (hash_finish) */
	/* Metadata sent with the object (upload_set_meta): the strings are in
	 * meta_mem, one allocation sized to them (a closed file waiting to be
	 * stored holds little). */
	struct s3_meta_pair meta[UPLOAD_MAX_META];
	char *meta_mem;
	size_t nmeta;
	enum checksum_alg alg; /* flexible checksum sent besides MD5, CK_NONE if none */
	uint64_t crc;          /* of the part being written, with hash */
};

/* Active multipart uploads, so the reaper never aborts one of ours. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upload *registry;

static void registry_add(struct upload *u)
{
	pthread_mutex_lock(&registry_lock);
	u->reg_next = registry;
	registry = u;
	u->registered = 1;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_del(struct upload *u)
{
	pthread_mutex_lock(&registry_lock);
	if (u->registered) {
		for (struct upload **p = &registry; *p; p = &(*p)->reg_next)
			if (*p == u) {
				*p = u->reg_next;
				break;
			}
		u->registered = 0;
	}
	pthread_mutex_unlock(&registry_lock);
}

int upload_is_active(void *unused, const char *bucket, const char *key, const char *upload_id)
{
	int found = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct upload *u = registry; u && !found; u = u->reg_next)
		found = strcmp(u->target.bucket->name, bucket) == 0 &&
			strcmp(u->upload_id, upload_id) == 0;
	pthread_mutex_unlock(&registry_lock);
	return found;
}

struct upload *upload_new(const struct upload_ctx *ctx, const struct target *t, int fd)
{
	struct upload *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->ctx = ctx;
	u->target = *t;
	u->fd = fd;
	u->final_size = -1;
	u->alg = integrity_upload_alg(t->bucket);
	u->hash = EVP_MD_CTX_new(); /* without it, parts are hashed when sent */
	u->hashed = u->hash ? 0 : -1;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	return u;
}

static int ensure_parts(struct upload *u, int n)
{
	if (n <= u->nparts_alloc)
		return 0;
	if (n > UPLOAD_MAX_PARTS)
		return -EFBIG;
	int alloc = u->nparts_alloc ? u->nparts_alloc : 16;
	while (alloc < n)
		alloc *= 2;
	if (alloc > UPLOAD_MAX_PARTS)
		alloc = UPLOAD_MAX_PARTS;
	struct part *p = realloc(u->parts, (size_t)alloc * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + u->nparts_alloc, 0, (size_t)(alloc - u->nparts_alloc) * sizeof(*p));
	u->parts = p;
	u->nparts_alloc = alloc;
	return 0;
}

struct part_job {
	struct upload *u;
	int index;
	unsigned gen;
	long long off, len;
	char md5_b64[25]; /* "" when the store is to hash the bytes itself */
	uint64_t crc;     /* with md5_b64: the part's checksum (u->alg) */
};

/* MD5 and alg checksum of [off, off+len) of fd, in one reading. */
static int hash_range(int fd, long long off, long long len, enum checksum_alg alg,
		      unsigned char md5[16], uint64_t *crc)
{
	struct checksum m, k;
	size_t bufsz = 1 << 20;
	char *buf = malloc(bufsz);
	int rc = buf ? checksum_init(&m, CK_MD5) : -ENOMEM;

	memset(&k, 0, sizeof(k));
	if (!rc && alg != CK_NONE)
		rc = checksum_init(&k, alg);
	for (long long done = 0; !rc && done < len;) {
		size_t want = len - done < (long long)bufsz ? (size_t)(len - done) : bufsz;
		ssize_t n = pread(fd, buf, want, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		rc = checksum_update(&m, buf, (size_t)n);
		if (!rc && alg != CK_NONE)
			rc = checksum_update(&k, buf, (size_t)n);
		done += n;
	}
	if (!rc)
		rc = checksum_final(&m, md5);
	*crc = k.crc;
	checksum_free(&m);
	checksum_free(&k);
	free(buf);
	return rc;
}

static void checksum_of(enum checksum_alg alg, uint64_t crc, struct s3_checksum *out)
{
	unsigned char raw[8];

	out->alg = alg;
	out->b64[0] = '\0';
	if (alg == CK_NONE)
		return;
	checksum_crc_bytes(alg, crc, raw);
	checksum_base64(raw, checksum_alg_len(alg), out->b64);
}

static void part_job_run(void *arg)
{
	struct part_job *j = arg;
	struct upload *u = j->u;
	struct http_body body = { .kind = HTTP_BODY_FD,
				  .fd = u->fd,
				  .off = j->off,
				  .len = (size_t)j->len };
	struct s3_checksum ck;
	char etag[S3_ETAG_MAX];
	int rc = 0;

	stats_upload_started();
	/* The part goes to disk while it goes to S3, so that its pages are
	 * clean, and dropped, once S3 has it (below). */
	(void)sync_file_range(u->fd, j->off, j->len, SYNC_FILE_RANGE_WRITE);
	/* Written out of order: hashed from the file now, both digests in
	 * one reading (the checksum is needed again at completion). */
	if (u->alg != CK_NONE && !j->md5_b64[0]) {
		unsigned char md5[16];
		rc = hash_range(u->fd, j->off, j->len, u->alg, md5, &j->crc);
		if (!rc)
			s3_md5_base64(md5, j->md5_b64);
	}
	checksum_of(u->alg, j->crc, &ck);
	if (!rc)
		rc = u->ctx->store.ops->mpu_part(u->ctx->store.ctx, &u->target, u->upload_id,
						 j->index + 1, &body,
						 j->md5_b64[0] ? j->md5_b64 : NULL, &ck, etag,
						 sizeof(etag));
	/* A large file's pages S3 already has would otherwise push everything
	 * else out of the page cache; reused pages are also cheaper to fill
	 * than new ones (on the 2-core VM here a first write of 1 GiB to a
	 * local file ran at 250 MB/s, a rewrite at 2.7 GB/s). A reader of
	 * the file then reads the cache file from disk. */
	if (!rc)
		(void)posix_fadvise(u->fd, j->off, j->len, POSIX_FADV_DONTNEED);
	STAT_SUB(uploads_inflight, 1);
	pthread_mutex_lock(&u->lock);
	struct part *p = &u->parts[j->index];
	if (rc < 0) {
		if (!u->error)
			u->error = rc;
		p->state = PART_IDLE;
	} else {
		p->state = PART_DONE;
		p->sent_gen = j->gen;
		p->sent_crc = j->crc;
		p->sent_len = j->len;
		memcpy(p->etag, etag, sizeof(p->etag));
	}
	u->inflight--;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	free(j);
}

void upload_throttle(struct upload *u, int max_pending)
{
	pthread_mutex_lock(&u->lock);
	while (max_pending > 0 && u->inflight > max_pending && !u->error)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

void upload_set_exclusive(struct upload *u)
{
	u->exclusive = 1;
}

/* With the lock: whether part index has an MD5 of its current len bytes. */
static int part_md5_current(const struct upload *u, int index, long long len)
{
	const struct part *p = &u->parts[index];
	long long ps = u->ctx->part_size;

	/* The MD5 of a part closed short (an empty file's, a last part's
	 * at an fsync or close) says nothing of the part grown since. */
	return p->md5_valid && p->md5_gen == p->gen && p->md5_len == len &&
	       (len == ps || (u->hashed >= 0 && (long long)index * ps + len == u->hashed));
}

/* With the lock: the part being hashed is complete; records its MD5. */
static int hash_close_part(struct upload *u, int index)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (ensure_parts(u, index + 1) < 0 || !EVP_DigestFinal_ex(u->hash, md, &mdlen) ||
	    mdlen != 16)
		return -1;
	memcpy(u->parts[index].md5, md, 16);
	u->parts[index].md5_len = u->hashed - (long long)index * u->ctx->part_size;
	u->parts[index].crc = u->crc;
	u->parts[index].md5_gen = u->parts[index].gen;
	u->parts[index].md5_valid = 1;
	return 0;
}

/* The hash state (hash, hashed, hash_finished) belongs to the writer,
 * whose calls come one at a time (upload.h); the lock guards the parts. */
void upload_hash(struct upload *u, const void *buf, size_t len, long long off)
{
	const unsigned char *p = buf;
	long long ps = u->ctx->part_size;

	if (off != u->hashed || u->hash_finished)
		u->hashed = -1; /* out of order: parts are hashed when sent */
	while (u->hashed >= 0 && len > 0) {
		long long in_part = u->hashed % ps;
		size_t n = (long long)len < ps - in_part ? len : (size_t)(ps - in_part);
		if ((in_part == 0 && !EVP_DigestInit_ex(u->hash, EVP_md5(), NULL)) ||
		    !EVP_DigestUpdate(u->hash, p, n)) {
			u->hashed = -1;
			break;
		}
		if (in_part == 0)
			u->crc = 0;
		if (u->alg == CK_CRC64NVME)
			u->crc = checksum_crc64nvme(u->crc, p, n);
		else if (u->alg != CK_NONE)
			u->crc = checksum_crc32c((uint32_t)u->crc, p, n);
		u->hashed += (long long)n;
		p += n;
		len -= n;
		if (u->hashed % ps == 0) {
			pthread_mutex_lock(&u->lock);
			if (hash_close_part(u, (int)(u->hashed / ps) - 1) < 0)
				u->hashed = -1;
			pthread_mutex_unlock(&u->lock);
		}
	}
}

/* With the lock, at finish: the MD5 of a last, partial part (or of an
 * empty file) comes from what was hashed. */
static void hash_finish(struct upload *u, long long size)
{
	long long ps = u->ctx->part_size;

	if (u->hashed != size || u->hash_finished)
		return;
	u->hash_finished = 1;
	if (size == 0 && !EVP_DigestInit_ex(u->hash, EVP_md5(), NULL)) {
		u->hashed = -1;
		return;
	}
	if (size == 0)
		u->crc = 0;
	if ((size == 0 || size % ps != 0) && hash_close_part(u, (int)(size / ps)) < 0)
		u->hashed = -1;
}

int upload_digest(struct upload *u, long long size, char *out, size_t outlen)
{
	long long ps = u->ctx->part_size;
	int nparts = size <= ps ? 1 : (int)((size + ps - 1) / ps), rc = -ENOENT;
	char hex[33];

	pthread_mutex_lock(&u->lock);
	hash_finish(u, size);
	if (u->hashed == size) {
		rc = 0;
		for (int i = 0; i < nparts && !rc; i++)
			if (!part_md5_current(u, i,
					      size - (long long)i * ps < ps ? size - (long long)i * ps
									    : ps))
				rc = -ENOENT;
	}
	if (!rc && nparts == 1) {
		s3_md5_hex(u->parts[0].md5, hex);
		snprintf(out, outlen, "%s", hex);
	} else if (!rc) {
		/* As S3 names a multipart object: MD5 of the part MD5s, "-N". */
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		rc = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ? 0 : -ENOMEM;
		for (int i = 0; i < nparts && !rc; i++)
			if (!EVP_DigestUpdate(ctx, u->parts[i].md5, 16))
				rc = -EIO;
		if (!rc && (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 16))
			rc = -EIO;
		EVP_MD_CTX_free(ctx);
		if (!rc) {
			s3_md5_hex(md, hex);
			snprintf(out, outlen, "%s-%d", hex, nparts);
		}
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int upload_checksum(struct upload *u, long long size, struct s3_checksum *out)
{
	long long ps = u->ctx->part_size;
	int nparts = size <= ps ? 1 : (int)((size + ps - 1) / ps), rc = -ENOENT;
	uint64_t whole = 0;

	memset(out, 0, sizeof(*out));
	if (u->alg == CK_NONE)
		return 0;
	pthread_mutex_lock(&u->lock);
	hash_finish(u, size);
	if (u->hashed == size) {
		rc = 0;
		for (int i = 0; i < nparts && !rc; i++) {
			long long len = size - (long long)i * ps < ps ? size - (long long)i * ps
								      : ps;
			if (!part_md5_current(u, i, len))
				rc = -ENOENT;
			else
				whole = i == 0 ? u->parts[i].crc
					       : checksum_crc_combine(u->alg, whole,
								      u->parts[i].crc, len);
		}
	}
	pthread_mutex_unlock(&u->lock);
	if (!rc)
		checksum_of(u->alg, whole, out);
	return rc;
}

/* Called with u->lock held and an upload id present. */
static int submit_part(struct upload *u, int index, long long size)
{
	struct part_job *j = malloc(sizeof(*j));
	long long ps = u->ctx->part_size;

	if (!j)
		return -ENOMEM;
	j->u = u;
	j->index = index;
	j->gen = u->parts[index].gen;
	j->off = (long long)index * ps;
	j->len = size - j->off < ps ? size - j->off : ps;
	j->md5_b64[0] = '\0';
	j->crc = 0;
	if (part_md5_current(u, index, j->len)) {
		s3_md5_base64(u->parts[index].md5, j->md5_b64);
		j->crc = u->parts[index].crc;
	}
	u->parts[index].state = PART_INFLIGHT;
	u->inflight++;
	if (workq_submit(u->ctx->transfers, part_job_run, j) < 0) {
		u->parts[index].state = PART_IDLE;
		u->inflight--;
		free(j);
		return -ENOMEM;
	}
	return 0;
}

int upload_set_meta(struct upload *u, const struct s3_meta_pair *meta, size_t n)
{
	size_t total = 0, at = 0;
	char *mem = NULL;

	if (n > UPLOAD_MAX_META)
		return -E2BIG;
	if (u->upload_id[0])
		return -EBUSY; /* the multipart upload has its metadata already */
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(meta[i].name) + 1, lv = strlen(meta[i].value) + 1;
		if (ln > UPLOAD_META_LEN || lv > UPLOAD_META_LEN)
			return -E2BIG;
		total += ln + lv;
	}
	if (total && !(mem = malloc(total)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(meta[i].name) + 1, lv = strlen(meta[i].value) + 1;
		memcpy(mem + at, meta[i].name, ln);
		memcpy(mem + at + ln, meta[i].value, lv);
		u->meta[i] = (struct s3_meta_pair){ mem + at, mem + at + ln };
		at += ln + lv;
	}
	free(u->meta_mem);
	u->meta_mem = mem;
	u->nmeta = n;
	return 0;
}

int upload_mpu_created(struct upload *u)
{
	pthread_mutex_lock(&u->lock);
	int created = u->upload_id[0] != '\0';
	pthread_mutex_unlock(&u->lock);
	return created;
}

/* Creates the multipart upload; called without the lock (one request). */
static int create_mpu(struct upload *u)
{
	char id[S3_UPLOAD_ID_MAX], ps[24];
	/* The part size lets any reader check the object's multipart ETag. */
	struct s3_meta_pair meta[UPLOAD_MAX_META + 1];
	size_t nmeta = u->nmeta;
	memcpy(meta, u->meta, nmeta * sizeof(meta[0]));
	snprintf(ps, sizeof(ps), "%lld", u->ctx->part_size);
	meta[nmeta++] = (struct s3_meta_pair){ INTEGRITY_META_PART_SIZE, ps };
	int rc = u->ctx->store.ops->mpu_create(u->ctx->store.ctx, &u->target, meta, nmeta, u->alg,
					       id, sizeof(id));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&u->lock);
	memcpy(u->upload_id, id, sizeof(id));
	pthread_mutex_unlock(&u->lock);
	registry_add(u);
	log_debug("multipart upload started bucket=%s key=%s upload_id=%s", u->target.bucket->name,
		  u->target.key, id);
	return 0;
}

void upload_progress(struct upload *u, long long upto)
{
	long long ps = u->ctx->part_size;
	int full = (int)(upto / ps);

	if (full < 1 || u->error)
		return;
	/* Only once a second part is certain do we know a multipart upload
	 * is needed: a file of exactly one part still goes as one PUT. */
	if (!u->upload_id[0]) {
		if (upto <= ps)
			return;
		int rc = create_mpu(u);
		if (rc < 0) {
			pthread_mutex_lock(&u->lock);
			if (!u->error)
				u->error = rc;
			pthread_mutex_unlock(&u->lock);
			return;
		}
	}
	pthread_mutex_lock(&u->lock);
	if (ensure_parts(u, full) < 0) {
		if (!u->error)
			u->error = full > UPLOAD_MAX_PARTS ? -EFBIG : -ENOMEM;
	} else {
		for (int i = 0; i < full; i++)
			if (u->parts[i].state == PART_IDLE &&
			    !(u->parts[i].sent_gen == u->parts[i].gen && u->parts[i].etag[0]))
				if (submit_part(u, i, (long long)full * ps) < 0)
					break;
	}
	pthread_mutex_unlock(&u->lock);
}

void upload_invalidate(struct upload *u, long long off, long long len)
{
	long long ps = u->ctx->part_size;

	if (len <= 0)
		return;
	pthread_mutex_lock(&u->lock);
	for (long long i = off / ps; i <= (off + len - 1) / ps && i < u->nparts_alloc; i++)
		u->parts[i].gen++;
	if (off < u->hashed)
		u->hashed = -1;
	pthread_mutex_unlock(&u->lock);
}

static int put_whole(struct upload *u, long long size, char *etag, size_t etaglen)
{
	struct http_body body = { .kind = HTTP_BODY_FD, .fd = u->fd, .off = 0, .len = (size_t)size };
	struct s3_checksum ck;
	char b64[25] = "";
	uint64_t crc = 0;
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	hash_finish(u, size);
	if (ensure_parts(u, 1) == 0 && part_md5_current(u, 0, size)) {
		s3_md5_base64(u->parts[0].md5, b64);
		crc = u->parts[0].crc;
	}
	pthread_mutex_unlock(&u->lock);
	if (u->alg != CK_NONE && !b64[0]) {
		unsigned char md5[16];
		rc = hash_range(u->fd, 0, size, u->alg, md5, &crc);
		if (rc < 0)
			return rc;
		s3_md5_base64(md5, b64);
	}
	checksum_of(u->alg, crc, &ck);
	const char *md5 = b64[0] ? b64 : NULL;
	stats_upload_started();
	if (u->exclusive && u->ctx->store.ops->put_new)
		rc = u->ctx->store.ops->put_new(u->ctx->store.ctx, &u->target, &body, md5, &ck,
						u->meta, u->nmeta, etag, etaglen);
	else
		rc = u->ctx->store.ops->put(u->ctx->store.ctx, &u->target, &body, md5, &ck, u->meta,
					    u->nmeta, etag, etaglen);
	STAT_SUB(uploads_inflight, 1);
	return rc;
}

static void wait_inflight(struct upload *u)
{
	while (u->inflight > 0)
		pthread_cond_wait(&u->cond, &u->lock);
}

int upload_finish(struct upload *u, long long size, char *etag, size_t etaglen)
{
	long long ps = u->ctx->part_size;
	int nparts = (int)((size + ps - 1) / ps), rc;

	if (size <= ps && !u->upload_id[0]) {
		rc = put_whole(u, size, etag, etaglen);
		if (rc == 0)
			stats_stored(u->target.bucket->storage_class, size);
		return rc;
	}
	if (nparts > UPLOAD_MAX_PARTS)
		return -EFBIG;
	if (nparts < 1)
		return -EINVAL;
	if (!u->upload_id[0]) {
		rc = create_mpu(u);
		if (rc < 0)
			return rc;
	}
	pthread_mutex_lock(&u->lock);
	rc = ensure_parts(u, nparts);
	if (rc == 0)
		hash_finish(u, size);
	/* Send every part whose current bytes are not yet in S3; parts that
	 * change while in flight go again once they land. */
	while (rc == 0 && !u->error) {
		int pending = 0;
		for (int i = 0; i < nparts && rc == 0; i++) {
			struct part *p = &u->parts[i];
			if (p->state == PART_INFLIGHT) {
				pending = 1;
			} else if (!(p->state == PART_DONE && p->sent_gen == p->gen)) {
				/* The last part's length may have grown since. */
				p->state = PART_IDLE;
				rc = submit_part(u, i, size);
				pending = 1;
			}
		}
		if (!pending)
			break;
		pthread_cond_wait(&u->cond, &u->lock);
	}
	wait_inflight(u);
	if (!rc)
		rc = u->error;
	struct s3_part *list = NULL;
	struct s3_checksum full, ck;
	uint64_t whole = 0;
	if (!rc) {
		list = calloc((unsigned)nparts, sizeof(*list));
		if (!list)
			rc = -ENOMEM;
		for (int i = 0; list && i < nparts; i++) {
			list[i].number = i + 1;
			memcpy(list[i].etag, u->parts[i].etag, sizeof(list[i].etag));
			/* The whole object's CRC from its parts', nothing re-read. */
			checksum_of(u->alg, u->parts[i].sent_crc, &ck);
			snprintf(list[i].checksum, sizeof(list[i].checksum), "%s", ck.b64);
			whole = i == 0 ? u->parts[i].sent_crc
				       : checksum_crc_combine(u->alg, whole, u->parts[i].sent_crc,
							      u->parts[i].sent_len);
		}
	}
	checksum_of(u->alg, whole, &full);
	pthread_mutex_unlock(&u->lock);
	if (!rc)
		rc = u->ctx->store.ops->mpu_complete(u->ctx->store.ctx, &u->target, u->upload_id,
						     list, (size_t)nparts, &full, etag, etaglen);
	free(list);
	if (rc < 0) {
		upload_cancel(u);
		return rc;
	}
	registry_del(u);
	u->upload_id[0] = '\0';
	stats_stored(u->target.bucket->storage_class, size);
	return 0;
}

void upload_cancel(struct upload *u)
{
	pthread_mutex_lock(&u->lock);
	if (!u->error)
		u->error = -ECANCELED;
	wait_inflight(u);
	pthread_mutex_unlock(&u->lock);
	if (u->upload_id[0]) {
		int rc = u->ctx->store.ops->mpu_abort(u->ctx->store.ctx, &u->target, u->upload_id);
		if (rc < 0)
			log_warn("could not abort upload bucket=%s key=%s upload_id=%s (%s); "
				 "the reaper will retry",
				 u->target.bucket->name, u->target.key, u->upload_id, strerror(-rc));
		registry_del(u);
		u->upload_id[0] = '\0';
	}
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	if (u->inflight || u->upload_id[0])
		upload_cancel(u);
	registry_del(u);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	EVP_MD_CTX_free(u->hash);
	free(u->meta_mem);
	free(u->parts);
	free(u);
}

void upload_discard(struct upload *u)
{
	if (!u)
		return;
	registry_del(u);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	EVP_MD_CTX_free(u->hash);
	free(u->meta_mem);
	free(u->parts);
	free(u);
}
