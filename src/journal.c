/* journal.c - one record file per pending async upload. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int journal_add(const char *cache_dir, const char *name, const char *path, int data_fd,
		int do_fsync)
{
	char dir[PATH_MAX], rec[PATH_MAX + 300], tmp[PATH_MAX + 310], body[RECORD_MAX];
	int fd, n, rc = 0;

	n = snprintf(body, sizeof(body), "s3csfs-journal 1\npath %s\n", path);
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

void journal_remove(const char *cache_dir, const char *name)
{
	char rec[PATH_MAX + 300];

	snprintf(rec, sizeof(rec), "%s/journal/%s", cache_dir, name);
	if (unlink(rec) < 0 && errno != ENOENT)
		log_warn("journal: cannot remove %s: %s", rec, strerror(errno));
}

int journal_replay(const char *cache_dir, void (*fn)(void *ctx, const char *name, const char *path),
		   void *ctx)
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
		FILE *f = fopen(rec, "r");
		if (!f)
			continue;
		char path[RECORD_MAX] = "";
		if (fgets(line, sizeof(line), f) && strcmp(line, "s3csfs-journal 1\n") == 0 &&
		    fgets(line, sizeof(line), f) && strncmp(line, "path ", 5) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path), "%s", line + 5);
		}
		fclose(f);
		if (!path[0]) {
			log_error("journal: unreadable record %s kept for inspection", rec);
			continue;
		}
		fn(ctx, de->d_name, path);
		count++;
	}
	closedir(d);
	return count;
}
