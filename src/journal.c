/* journal.c - one record file per pending async upload. */
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

#include "journal.h"
#include "log.h"

#define RECORD_MAX 4096

int journal_init(const char *cache_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/journal", cache_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create journal %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
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
	if (rc == 0 && (!EVP_Digest(mds, (size_t)nparts * 16, md, &mdlen, EVP_md5(), NULL) ||
			mdlen != 16))
		rc = -EIO;
	if (rc == 0) {
		hex_of(md, hex);
		snprintf(out, outlen, "%s-%lld", hex, nparts);
	}
	free(mds);
	return rc;
}

int journal_add(const char *cache_dir, const char *name, const char *path, int data_fd,
		long long size, const char *digest, long long part_size, int do_fsync)
{
	char dir[PATH_MAX], rec[PATH_MAX + 300], tmp[PATH_MAX + 310], body[RECORD_MAX];
	char md5[48];
	int fd, n, rc = 0;

	if (digest)
		snprintf(md5, sizeof(md5), "%s", digest);
	else if ((rc = journal_file_digest(data_fd, size, part_size, md5, sizeof(md5))) < 0)
		return rc;
	n = snprintf(body, sizeof(body), "s3csfs-journal 1\npath %s\nsize %lld\nmd5 %s\npart_size %lld\n",
		     path, size, md5, part_size);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s/journal", cache_dir);
	snprintf(rec, sizeof(rec), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", rec);
	/* The data first: a record must never point at bytes not on disk. */
	if (do_fsync && fdatasync(data_fd) < 0)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, body, (size_t)n) != n)
		rc = errno ? -errno : -EIO;
	if (!rc && do_fsync && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, rec) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return do_fsync ? fsync_dir(dir) : 0;
}

void journal_quarantine(const char *cache_dir, const char *name)
{
	char rec[PATH_MAX + 300], bad[PATH_MAX + 320];

	snprintf(rec, sizeof(rec), "%s/journal/%s", cache_dir, name);
	snprintf(bad, sizeof(bad), "%s.damaged", rec);
	if (rename(rec, bad) < 0)
		log_warn("journal: cannot set %s aside: %s", rec, strerror(errno));
}

void journal_remove(const char *cache_dir, const char *name)
{
	char rec[PATH_MAX + 300];

	snprintf(rec, sizeof(rec), "%s/journal/%s", cache_dir, name);
	if (unlink(rec) < 0 && errno != ENOENT)
		log_warn("journal: cannot remove %s: %s", rec, strerror(errno));
}

int journal_replay(const char *cache_dir,
		   void (*fn)(void *ctx, const struct journal_record *rec), void *ctx)
{
	char dir[PATH_MAX], rec[PATH_MAX + 300], line[RECORD_MAX];
	struct dirent *de;
	int count = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/journal", cache_dir);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		snprintf(rec, sizeof(rec), "%s/%s", dir, de->d_name);
		if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
			unlink(rec); /* never renamed: its close() had not returned */
			continue;
		}
		if (strchr(de->d_name, '.'))
			continue; /* NAME.damaged: set aside */
		FILE *f = fopen(rec, "r");
		if (!f)
			continue;
		char path[RECORD_MAX] = "", md5[48] = "";
		long long size = -1, part_size = 0;
		if (fgets(line, sizeof(line), f) && strcmp(line, "s3csfs-journal 1\n") == 0) {
			while (fgets(line, sizeof(line), f)) {
				line[strcspn(line, "\n")] = '\0';
				if (strncmp(line, "path ", 5) == 0)
					snprintf(path, sizeof(path), "%s", line + 5);
				else if (strncmp(line, "size ", 5) == 0)
					size = strtoll(line + 5, NULL, 10);
				else if (strncmp(line, "md5 ", 4) == 0 && strlen(line + 4) >= 32 &&
					 strlen(line + 4) < sizeof(md5))
					snprintf(md5, sizeof(md5), "%s", line + 4);
				else if (strncmp(line, "part_size ", 10) == 0)
					part_size = strtoll(line + 10, NULL, 10);
			}
		}
		fclose(f);
		if (!path[0]) {
			log_error("journal: unreadable record %s kept for inspection", rec);
			continue;
		}
		struct journal_record r = { de->d_name, path, size, md5, part_size };
		fn(ctx, &r);
		count++;
	}
	closedir(d);
	return count;
}
