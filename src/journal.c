/* journal.c - the records of pending async uploads. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "checksum.h"
#include "journal.h"
#include "log.h"
#include "objfile.h"
#include "s3_client.h"
#include "stats.h"

#define RECORD_MAX 4096

int journal_init(const char *cache_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc = objfile_journal_dir(cache_dir, path, sizeof(path));

	if (rc < 0) {
		snprintf(err, errlen, "cannot create journal in %s: %s", cache_dir, strerror(-rc));
		return rc;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		rc = -errno; /* before snprintf can change errno */
		snprintf(err, errlen, "cannot create journal %s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

static void hex_of(const unsigned char md[16], char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[32] = '\0';
}

/* MD5 of [off, off+len) of fd: hex, and raw into raw if not NULL. */
static int range_md5(int fd, long long off, long long len, char hex[33], unsigned char *raw)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t bufsz = 1 << 20;
	char *buf = malloc(bufsz);
	long long done = 0;
	int rc = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
		rc = -ENOMEM;
	while (!rc && done < len) {
		size_t want = len - done < (long long)bufsz ? (size_t)(len - done) : bufsz;
		ssize_t n = pread(fd, buf, want, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO; /* shorter than recorded */
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		done += n;
	}
	if (!rc && (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 16))
		rc = -EIO;
	if (!rc) {
		hex_of(md, hex);
		if (raw)
			memcpy(raw, md, 16);
	}
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

int journal_file_md5(int fd, long long size, char hex[33])
{
	return range_md5(fd, 0, size, hex, NULL);
}

/* MD5s of [off, off+len) of fd, one per part of part_size, into mds. */
static int part_md5s(int fd, long long size, long long part_size, unsigned char *mds, int nparts)
{
	char hex[33];
	int rc = 0;

	for (int i = 0; i < nparts && !rc; i++) {
		long long off = (long long)i * part_size;
		long long len = size - off < part_size ? size - off : part_size;
		rc = range_md5(fd, off, len, hex, mds + 16 * i);
	}
	return rc;
}

int journal_file_digest(int fd, long long size, long long part_size, char *out, size_t outlen)
{
	if (part_size <= 0 || size <= part_size) {
		char hex[33];
		int rc = journal_file_md5(fd, size, hex);
		if (rc == 0)
			snprintf(out, outlen, "%s", hex);
		return rc;
	}
	long long nparts = (size + part_size - 1) / part_size;
	if (nparts > 100000)
		return -EFBIG;
	unsigned char *mds = malloc((size_t)nparts * 16), md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33];
	int rc = mds ? part_md5s(fd, size, part_size, mds, (int)nparts) : -ENOMEM;
	if (rc == 0 &&
	    (!EVP_Digest(mds, (size_t)nparts * 16, md, &mdlen, EVP_md5(), NULL) || mdlen != 16))
		rc = -EIO;
	if (rc == 0) {
		hex_of(md, hex);
		snprintf(out, outlen, "%s-%lld", hex, nparts);
	}
	free(mds);
	return rc;
}

int journal_file_check(int fd, const struct journal_record *rec)
{
	static const enum checksum_alg algs[] = { CK_CRC64NVME, CK_CRC32C };
	struct stat sb;
	char got[48], name[16], b64[40];

	if (rec->size < 0)
		return 0; /* a record of an older version: nothing to compare */
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (sb.st_size != rec->size)
		return -EBADMSG;
	if (rec->checksum && sscanf(rec->checksum, "%15s %39s", name, b64) == 2) {
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			if (strcmp(name, checksum_alg_name(algs[i])) != 0)
				continue;
			struct checksum ck;
			unsigned char want[16], have[16];
			size_t bufsz = 1 << 20;
			char *buf = malloc(bufsz);
			int rc = buf ? checksum_init(&ck, algs[i]) : -ENOMEM;
			for (long long done = 0; !rc && done < rec->size;) {
				size_t w = rec->size - done < (long long)bufsz
						   ? (size_t)(rec->size - done)
						   : bufsz;
				ssize_t n = pread(fd, buf, w, done);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					rc = n < 0 ? -errno : -EBADMSG;
					break;
				}
				rc = checksum_update(&ck, buf, (size_t)n);
				done += n;
			}
			free(buf);
			if (!rc)
				rc = checksum_final(&ck, have);
			checksum_free(&ck);
			if (!rc && (checksum_from_base64(algs[i], b64, want) < 0 ||
				    memcmp(want, have, checksum_alg_len(algs[i])) != 0))
				rc = -EBADMSG;
			return rc;
		}
	}
	if (!rec->md5 || !rec->md5[0])
		return 0;
	int rc = journal_file_digest(fd, rec->size, rec->part_size, got, sizeof(got));
	if (rc < 0)
		return rc == -EIO ? -EBADMSG : rc;
	return strcmp(got, rec->md5) == 0 ? 0 : -EBADMSG;
}

/* A record lives in an extended attribute of the cache file it is about,
 * so journaling a file costs no file of its own to create, rename, sync
 * and later delete; where the cache's filesystem has no user xattrs, in a
 * file journal/NAME (written by rename, never seen half-done): both are
 * objfile's OBJFILE_JOURNAL record. */

static int record_write(const char *cache_dir, const char *name, const char *path, int data_fd,
			long long size, const char *digest, long long part_size,
			const struct s3_checksum *ck, int do_fsync)
{
	char body[RECORD_MAX], md5[48], cks[64] = "";
	int n, rc = 0;

	if (digest)
		snprintf(md5, sizeof(md5), "%s", digest);
	else if ((rc = journal_file_digest(data_fd, size, part_size, md5, sizeof(md5))) < 0)
		return rc;
	if (ck && ck->alg != CK_NONE && ck->b64[0])
		snprintf(cks, sizeof(cks), "checksum %s %s\n", checksum_alg_name(ck->alg), ck->b64);
	n = snprintf(body, sizeof(body),
		     "s3csfs-journal 1\npath %s\nsize %lld\nmd5 %s\npart_size %lld\n%s", path, size,
		     md5, part_size, cks);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -ENAMETOOLONG;
	/* The data first: a record must never point at bytes not on disk. */
	if (do_fsync && fdatasync(data_fd) < 0)
		return -errno;
	rc = objfile_record_write(cache_dir, OBJFILE_JOURNAL, name, data_fd, body, (size_t)n,
				  do_fsync);
	return rc < 0 ? rc : 0;
}

int journal_add_ck(const char *cache_dir, const char *name, const char *path, int data_fd,
		   long long size, const char *digest, long long part_size,
		   const struct s3_checksum *ck, int do_fsync)
{
	/* The depth counts records, not writes: a record rewritten (the
	 * file closed again, renamed with its cache file) is still one. */
	int had = journal_holds(cache_dir, name);
	int rc = record_write(cache_dir, name, path, data_fd, size, digest, part_size, ck, do_fsync);

	if (rc == 0 && !had)
		STAT_ADD(journal_records, 1);
	return rc;
}

int journal_add(const char *cache_dir, const char *name, const char *path, int data_fd,
		long long size, const char *digest, long long part_size, int do_fsync)
{
	return journal_add_ck(cache_dir, name, path, data_fd, size, digest, part_size, NULL,
			      do_fsync);
}

int journal_holds(const char *cache_dir, const char *name)
{
	char body[RECORD_MAX];
	return objfile_record_read(cache_dir, OBJFILE_JOURNAL, name, body, sizeof(body)) >= 0;
}

void journal_remove(const char *cache_dir, const char *name)
{
	char p[PATH_MAX];
	int rc;

	if (objfile_xattr_remove(cache_dir, OBJFILE_JOURNAL, name) == 0) {
		STAT_SUB(journal_records, 1);
		return;
	}
	rc = objfile_sidecar_remove(cache_dir, OBJFILE_JOURNAL, name);
	if (rc == 0)
		STAT_SUB(journal_records, 1);
	else if (rc != -ENOENT &&
		 objfile_sidecar_path(cache_dir, OBJFILE_JOURNAL, name, p, sizeof(p)) == 0)
		log_warn("journal: cannot remove %s: %s", p, strerror(-rc));
	else if (rc != -ENOENT)
		log_warn("journal: cannot remove the record of %s: %s", name, strerror(-rc));
}

void journal_quarantine(const char *cache_dir, const char *name)
{
	char body[RECORD_MAX], rec[PATH_MAX], bad[PATH_MAX];
	ssize_t n = objfile_record_read(cache_dir, OBJFILE_JOURNAL, name, body, sizeof(body));

	/* The record goes to its sidecar (wherever it was), which is then
	 * renamed aside: replay skips names with a dot. */
	if (n < 0 || objfile_sidecar_path(cache_dir, OBJFILE_JOURNAL, name, rec, sizeof(rec)) < 0 ||
	    snprintf(bad, sizeof(bad), "%s.damaged", rec) >= (int)sizeof(bad) ||
	    objfile_sidecar_write(cache_dir, OBJFILE_JOURNAL, name, body, (size_t)n, 0) < 0) {
		log_warn("journal: cannot set the record of %s aside", name);
		return;
	}
	if (rename(rec, bad) < 0)
		log_warn("journal: cannot set %s aside: %s", rec, strerror(errno));
	else
		STAT_SUB(journal_records, 1);
	objfile_xattr_remove(cache_dir, OBJFILE_JOURNAL, name);
}

/* Parses a record body; fn gets it. 0, or -1 if it is unreadable. */
static int record_parse(char *body, const char *name,
			void (*fn)(void *ctx, const struct journal_record *rec), void *ctx)
{
	char path[RECORD_MAX] = "", md5[48] = "", cks[64] = "";
	long long size = -1, part_size = 0;

	if (strncmp(body, "s3csfs-journal 1\n", 17) != 0)
		return -1;
	for (char *line = body + 17, *next; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (strncmp(line, "path ", 5) == 0)
			snprintf(path, sizeof(path), "%s", line + 5);
		else if (strncmp(line, "size ", 5) == 0)
			size = strtoll(line + 5, NULL, 10);
		else if (strncmp(line, "md5 ", 4) == 0 && strlen(line + 4) >= 32 &&
			 strlen(line + 4) < sizeof(md5))
			snprintf(md5, sizeof(md5), "%s", line + 4);
		else if (strncmp(line, "part_size ", 10) == 0)
			part_size = strtoll(line + 10, NULL, 10);
		else if (strncmp(line, "checksum ", 9) == 0 && strlen(line + 9) < sizeof(cks))
			snprintf(cks, sizeof(cks), "%s", line + 9);
	}
	if (!path[0])
		return -1;
	struct journal_record r = { name, path, size, md5, part_size, cks };
	fn(ctx, &r);
	return 0;
}

int journal_replay(const char *cache_dir, void (*fn)(void *ctx, const struct journal_record *rec),
		   void *ctx)
{
	char dir[PATH_MAX], sub[PATH_MAX], p[PATH_MAX], body[RECORD_MAX];
	struct dirent *de, *fe;
	int count = 0;
	DIR *d;

	/* Records in files: where there are no xattrs, or left by an older
	 * version. */
	if (objfile_journal_dir(cache_dir, dir, sizeof(dir)) == 0 && (d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);
			if (de->d_name[0] == '.' || objfile_join(p, sizeof(p), dir, de->d_name) < 0)
				continue;
			if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
				unlink(p); /* never renamed: its close() had not returned */
				continue;
			}
			if (strchr(de->d_name, '.'))
				continue; /* NAME.damaged: set aside */
			if (objfile_record_read(cache_dir, OBJFILE_JOURNAL, de->d_name, body,
						sizeof(body)) < 0 ||
			    record_parse(body, de->d_name, fn, ctx) < 0)
				log_error("journal: unreadable record %s kept for inspection", p);
			else
				count++;
		}
		closedir(d);
	}
	/* Records in xattrs of the cache files, objects/XX/NAME. */
	if (objfile_objects_dir(cache_dir, dir, sizeof(dir)) < 0 || !(d = opendir(dir))) {
		STAT_ADD(journal_records, count);
		return count;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || objfile_join(sub, sizeof(sub), dir, de->d_name) < 0)
			continue;
		DIR *sd = opendir(sub);
		if (!sd)
			continue;
		while ((fe = readdir(sd))) {
			if (fe->d_name[0] == '.' || strchr(fe->d_name, '.') ||
			    objfile_join(p, sizeof(p), sub, fe->d_name) < 0)
				continue;
			if (objfile_xattr_read(p, OBJFILE_JOURNAL, body, sizeof(body)) < 0)
				continue;
			/* A file record of the same name was replayed above. */
			char rec[PATH_MAX];
			if (objfile_sidecar_path(cache_dir, OBJFILE_JOURNAL, fe->d_name, rec,
						 sizeof(rec)) == 0 &&
			    access(rec, F_OK) == 0)
				continue;
			if (record_parse(body, fe->d_name, fn, ctx) < 0)
				log_error("journal: unreadable record on %s kept for inspection", p);
			else
				count++;
		}
		closedir(sd);
	}
	closedir(d);
	STAT_ADD(journal_records, count);
	return count;
}
