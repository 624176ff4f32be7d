/* attrs.c - POSIX attributes to and from s3fs-style object metadata. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attrs.h"

int attrs_parse_time(const char *s, long long *sec, long *nsec)
{
	long long v = 0;
	long ns = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - (*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0');
		if (digits == 0 || digits > 9)
			return -EINVAL;
		for (; digits < 9; digits++)
			ns *= 10;
	}
	if (*p)
		return -EINVAL;
	*sec = v;
	*nsec = ns;
	return 0;
}

/* A decimal unsigned value of at most max: 0, or -EINVAL. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

size_t attrs_to_meta(const struct attrs *a, struct attrs_meta *out)
{
	size_t n = 0;

	if (a->have & ATTR_MTIME) {
		/* As s3fs writes it: whole seconds alone, else 9 digits. */
		if (a->mtime_ns)
			snprintf(out->values[n], sizeof(out->values[n]), "%lld.%09ld", a->mtime_s,
				 a->mtime_ns);
		else
			snprintf(out->values[n], sizeof(out->values[n]), "%lld", a->mtime_s);
		out->pairs[n] = (struct s3_meta_pair){ "mtime", out->values[n] };
		n++;
	}
	if (a->have & ATTR_MODE) {
		snprintf(out->values[n], sizeof(out->values[n]), "%lu", (unsigned long)a->mode);
		out->pairs[n] = (struct s3_meta_pair){ "mode", out->values[n] };
		n++;
	}
	if (a->have & ATTR_UID) {
		snprintf(out->values[n], sizeof(out->values[n]), "%lu", (unsigned long)a->uid);
		out->pairs[n] = (struct s3_meta_pair){ "uid", out->values[n] };
		n++;
	}
	if (a->have & ATTR_GID) {
		snprintf(out->values[n], sizeof(out->values[n]), "%lu", (unsigned long)a->gid);
		out->pairs[n] = (struct s3_meta_pair){ "gid", out->values[n] };
		n++;
	}
	return n;
}

unsigned attrs_from_info(const struct s3_obj_info *info, struct attrs *a)
{
	char v[64];
	unsigned long u;

	memset(a, 0, sizeof(*a));
	if (s3_obj_meta_get(info, "mtime", v, sizeof(v)) == 0 &&
	    attrs_parse_time(v, &a->mtime_s, &a->mtime_ns) == 0)
		a->have |= ATTR_MTIME;
	/* Only a type we can show: a regular file or a link (no type bits,
	 * as some tools write it: a regular file). */
	if (s3_obj_meta_get(info, "mode", v, sizeof(v)) == 0 && parse_uint(v, 0177777, &u) == 0) {
		if ((u & S_IFMT) == 0)
			u |= S_IFREG;
		if (S_ISREG((mode_t)u) || S_ISLNK((mode_t)u)) {
			a->mode = (mode_t)u;
			a->have |= ATTR_MODE;
		}
	}
	if (s3_obj_meta_get(info, "uid", v, sizeof(v)) == 0 && parse_uint(v, UINT_MAX, &u) == 0) {
		a->uid = (uid_t)u;
		a->have |= ATTR_UID;
	}
	if (s3_obj_meta_get(info, "gid", v, sizeof(v)) == 0 && parse_uint(v, UINT_MAX, &u) == 0) {
		a->gid = (gid_t)u;
		a->have |= ATTR_GID;
	}
	return a->have;
}

int attrs_is_link(const struct attrs *a)
{
	return (a->have & ATTR_MODE) && S_ISLNK(a->mode);
}

void attrs_state_reset(struct attrs_state *s)
{
	memset(s, 0, sizeof(*s));
}

void attrs_state_changed(struct attrs_state *s)
{
	s->gen++;
}

int attrs_state_dirty(const struct attrs_state *s)
{
	return s->gen != s->saved_gen;
}

unsigned attrs_state_snapshot(const struct attrs_state *s, time_t mtime_default, struct attrs *out)
{
	*out = s->a;
	if (!(out->have & ATTR_MTIME)) {
		out->mtime_s = (long long)mtime_default;
		out->mtime_ns = 0;
		out->have |= ATTR_MTIME;
	}
	if (!(out->have & ATTR_MODE)) {
		out->mode = S_IFREG | 0644;
		out->have |= ATTR_MODE;
	}
	return s->gen;
}

void attrs_state_stored(struct attrs_state *s, unsigned gen)
{
	/* Generations only grow (modulo wrap): never step back. */
	if ((int)(gen - s->saved_gen) > 0)
		s->saved_gen = gen;
}
