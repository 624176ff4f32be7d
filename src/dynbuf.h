/* dynbuf.h - a growable byte buffer with a hard upper bound (curl's
 * dynbuf is the model; this is its own code).
 *
 * Promises: the content is always NUL-terminated and at most max - 1
 * bytes (max counts the terminating NUL, so a buffer of max bytes holds
 * it whole); an add either appends everything or fails and leaves the
 * content exactly as it was (-E2BIG: it would pass max; -ENOMEM: memory
 * could not be had; the buffer stays valid and usable); nothing here
 * exits, logs or sets errno for the caller to read.
 *
 * A buffer from dynbuf_init grows on the heap, from nothing (no memory
 * until the first add). One from dynbuf_init_fixed writes into storage
 * the caller owns, of max bytes: it never grows, never frees it. */
#ifndef S3CSFS_DYNBUF_H
#define S3CSFS_DYNBUF_H

#include <stdarg.h>
#include <stddef.h>

struct dynbuf {
	/* Internal: use the functions below. */
	char *mem;
	size_t len;   /* content bytes, the NUL not counted */
	size_t alloc; /* bytes of mem */
	size_t max;   /* the most bytes mem may take, the NUL included */
	int fixed;    /* mem is the caller's: never grown nor freed */
};

/* An empty heap buffer that never takes more than max bytes. */
void dynbuf_init(struct dynbuf *d, size_t max);
/* An empty buffer over the caller's mem of size bytes (mem[0] becomes the
 * NUL if size > 0; size 0 holds nothing, every non-empty add is -E2BIG). */
void dynbuf_init_fixed(struct dynbuf *d, char *mem, size_t size);
/* Appends n bytes of p (which may hold NULs). 0, -E2BIG or -ENOMEM. */
int dynbuf_add(struct dynbuf *d, const void *p, size_t n);
/* Appends printf(fmt, ...). 0, -E2BIG, -ENOMEM, or -EINVAL if the format
 * cannot be rendered (vsnprintf fails: a bad conversion). */
int dynbuf_addf(struct dynbuf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dynbuf_vaddf(struct dynbuf *d, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* The content, NUL-terminated; "" (never NULL) while empty. Valid until
 * the next add, reset or free. */
const char *dynbuf_ptr(const struct dynbuf *d);
size_t dynbuf_len(const struct dynbuf *d);
/* How many more bytes an add may append before -E2BIG. */
size_t dynbuf_room(const struct dynbuf *d);
/* Empties the content; keeps the memory for the next adds. */
void dynbuf_reset(struct dynbuf *d);
/* Empties it and releases heap memory (not a fixed buffer's); the buffer
 * may be used again, with the same max. */
void dynbuf_free(struct dynbuf *d);

#endif
