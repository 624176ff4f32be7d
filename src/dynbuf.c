/* dynbuf.c - a bounded growable buffer: all of an add, or none of it. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"

#define DYNBUF_FIRST 64 /* the first allocation: most adds are short lines */

void dynbuf_init(struct dynbuf *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max;
}

void dynbuf_init_fixed(struct dynbuf *d, char *mem, size_t size)
{
	memset(d, 0, sizeof(*d));
	d->max = size;
	d->fixed = 1;
	if (size > 0) {
		d->mem = mem;
		d->alloc = size;
		mem[0] = '\0';
	}
}

size_t dynbuf_room(const struct dynbuf *d)
{
	return d->max > d->len + 1 ? d->max - d->len - 1 : 0;
}

/* Makes room for n more bytes and the NUL: 0, -E2BIG or -ENOMEM. */
static int reserve(struct dynbuf *d, size_t n)
{
	if (d->max == 0 || n > dynbuf_room(d))
		return -E2BIG;        /* max 0 has no room even for the NUL */
	size_t need = d->len + n + 1; /* <= max: no overflow, as room said */
	if (need <= d->alloc)
		return 0;
	if (d->fixed)
		return -E2BIG; /* unreachable: a fixed buffer's alloc is its max */
	size_t size = d->alloc ? d->alloc : DYNBUF_FIRST;
	while (size < need)
		size = size > SIZE_MAX / 2 ? SIZE_MAX : size * 2;
	if (size > d->max)
		size = d->max;
	char *p = realloc(d->mem, size);
	if (!p)
		return -ENOMEM;
	if (!d->mem)
		p[0] = '\0';
	d->mem = p;
	d->alloc = size;
	return 0;
}

int dynbuf_add(struct dynbuf *d, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = reserve(d, n)) < 0)
		return rc;
	memcpy(d->mem + d->len, p, n);
	d->len += n;
	d->mem[d->len] = '\0';
	return 0;
}

int dynbuf_vaddf(struct dynbuf *d, const char *fmt, va_list ap)
{
	va_list again;
	int n, rc;

	/* Rendered in place when it fits what is allocated; else measured,
	 * then rendered once room is made. */
	va_copy(again, ap);
	if (d->alloc > d->len) {
		n = vsnprintf(d->mem + d->len, d->alloc - d->len, fmt, ap);
		if (n >= 0 && (size_t)n < d->alloc - d->len) {
			d->len += (size_t)n;
			va_end(again);
			return 0;
		}
		d->mem[d->len] = '\0'; /* what vsnprintf wrote past the content goes */
	} else {
		n = vsnprintf(NULL, 0, fmt, ap);
	}
	if (n <= 0) {
		va_end(again);
		return n < 0 ? -EINVAL : 0; /* nothing to append */
	}
	if ((rc = reserve(d, (size_t)n)) < 0) {
		va_end(again);
		return rc;
	}
	n = vsnprintf(d->mem + d->len, d->alloc - d->len, fmt, again);
	va_end(again);
	if (n < 0 || (size_t)n >= d->alloc - d->len) {
		d->mem[d->len] = '\0';
		return -EINVAL; /* rendered differently the second time */
	}
	d->len += (size_t)n;
	return 0;
}

int dynbuf_addf(struct dynbuf *d, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = dynbuf_vaddf(d, fmt, ap);
	va_end(ap);
	return rc;
}

const char *dynbuf_ptr(const struct dynbuf *d)
{
	return d->mem && d->alloc ? d->mem : "";
}

size_t dynbuf_len(const struct dynbuf *d)
{
	return d->len;
}

void dynbuf_reset(struct dynbuf *d)
{
	d->len = 0;
	if (d->mem && d->alloc)
		d->mem[0] = '\0';
}

void dynbuf_free(struct dynbuf *d)
{
	if (d->fixed) {
		dynbuf_reset(d);
		return;
	}
	free(d->mem);
	d->mem = NULL;
	d->alloc = 0;
	d->len = 0;
}
