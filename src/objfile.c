/* objfile.c - cache_dir's paths and its records: xattr, else sidecar. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "objfile.h"

/* Per kind: its xattr, and the mode a new sidecar is created with (the
 * cache's were made by fopen, 0666 less the umask; the journal's 0600). */
static const struct {
	const char *xattr;
	mode_t mode;
} kinds[] = {
	[OBJFILE_META] = { "user.s3csfs.meta", 0666 },
	[OBJFILE_JOURNAL] = { "user.s3csfs.journal", 0600 },
};

static int kind_ok(enum objfile_kind kind)
{
	return (int)kind >= 0 && (size_t)kind < sizeof(kinds) / sizeof(kinds[0]);
}

static int path_fmt(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* snprintf that says -ENAMETOOLONG instead of truncating. */
static int path_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len == 0)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

int objfile_join(char *out, size_t len, const char *a, const char *b)
{
	return path_fmt(out, len, "%s/%s", a, b);
}

int objfile_objects_dir(const char *dir, char *out, size_t len)
{
	return path_fmt(out, len, "%s/objects", dir);
}

int objfile_shard_dir(const char *dir, int shard, char *out, size_t len)
{
	if (shard < 0 || shard > 255)
		return -EINVAL;
	return path_fmt(out, len, "%s/objects/%02x", dir, shard);
}

int objfile_journal_dir(const char *dir, char *out, size_t len)
{
	return path_fmt(out, len, "%s/journal", dir);
}

int objfile_data_path(const char *dir, const char *name, char *out, size_t len)
{
	return path_fmt(out, len, "%s/objects/%.2s/%s", dir, name, name);
}

int objfile_sidecar_path(const char *dir, enum objfile_kind kind, const char *name, char *out,
			 size_t len)
{
	switch (kind) {
	case OBJFILE_META:
		return path_fmt(out, len, "%s/objects/%.2s/%s.meta", dir, name, name);
	case OBJFILE_JOURNAL:
		return path_fmt(out, len, "%s/journal/%s", dir, name);
	}
	return -EINVAL;
}

ssize_t objfile_xattr_read(const char *path, enum objfile_kind kind, char *body, size_t len)
{
	ssize_t n;

	if (len == 0 || !kind_ok(kind))
		return -EINVAL;
	n = getxattr(path, kinds[kind].xattr, body, len - 1);
	if (n < 0)
		return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
	body[n] = '\0';
	return n;
}

ssize_t objfile_record_read(const char *dir, enum objfile_kind kind, const char *name, char *body,
			    size_t len)
{
	char path[PATH_MAX];
	ssize_t n = -ENOENT;
	int rc;

	if (len == 0 || !kind_ok(kind))
		return -EINVAL;
	if (objfile_data_path(dir, name, path, sizeof(path)) == 0)
		n = objfile_xattr_read(path, kind, body, len);
	if (n >= 0)
		return n;
	/* Any xattr failure (none, too long, no xattrs) falls back to the
	 * sidecar, as both readers always did. */
	if ((rc = objfile_sidecar_path(dir, kind, name, path, sizeof(path))) < 0)
		return rc;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	/* A read error keeps what came before it: the sidecar is there, and
	 * callers take "there is a record" to mean "keep the data file". */
	n = (ssize_t)fread(body, 1, len - 1, f);
	fclose(f);
	body[n] = '\0';
	return n;
}

int objfile_xattr_write(const char *dir, enum objfile_kind kind, const char *name, int fd,
			const void *body, size_t n)
{
	char path[PATH_MAX];
	int rc;

	if (!kind_ok(kind))
		return -EINVAL;
	if (fd >= 0) {
		rc = fsetxattr(fd, kinds[kind].xattr, body, n, 0);
	} else {
		if ((rc = objfile_data_path(dir, name, path, sizeof(path))) < 0)
			return rc;
		rc = setxattr(path, kinds[kind].xattr, body, n, 0);
	}
	if (rc == 0)
		return 0;
	return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int objfile_sidecar_write(const char *dir, enum objfile_kind kind, const char *name,
			  const void *body, size_t n, int do_sync)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, rc;

	if (!kind_ok(kind))
		return -EINVAL;
	if ((rc = objfile_sidecar_path(dir, kind, name, path, sizeof(path))) < 0 ||
	    (rc = path_fmt(tmp, sizeof(tmp), "%s.tmp", path)) < 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kinds[kind].mode);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, body, n) != (ssize_t)n)
		rc = errno ? -errno : -EIO;
	if (!rc && do_sync && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	if (!do_sync)
		return 0;
	/* The rename is durable once the directory holding it is. */
	char *slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	return fsync_dir(path);
}

int objfile_record_write(const char *dir, enum objfile_kind kind, const char *name, int fd,
			 const void *body, size_t n, int do_sync)
{
	int rc = objfile_xattr_write(dir, kind, name, fd, body, n);

	if (rc == 0)
		return do_sync && fd >= 0 && fsync(fd) < 0 ? -errno : 0;
	if (rc != -ENOTSUP)
		return rc;
	rc = objfile_sidecar_write(dir, kind, name, body, n, do_sync);
	return rc < 0 ? rc : 1;
}

int objfile_xattr_remove(const char *dir, enum objfile_kind kind, const char *name)
{
	char path[PATH_MAX];
	int rc;

	if (!kind_ok(kind))
		return -EINVAL;
	if ((rc = objfile_data_path(dir, name, path, sizeof(path))) < 0)
		return rc;
	if (removexattr(path, kinds[kind].xattr) == 0)
		return 0;
	return errno == EOPNOTSUPP ? -ENOTSUP : -errno;
}

int objfile_sidecar_remove(const char *dir, enum objfile_kind kind, const char *name)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = objfile_sidecar_path(dir, kind, name, path, sizeof(path))) < 0)
		return rc;
	return unlink(path) == 0 ? 0 : -errno;
}
