/* json.h - a small bounded reader of JSON documents for the credential
 * sources (instance and container metadata, credential_process output,
 * the SSO token cache): it picks named fields out of an object and
 * refuses anything that is not well-formed JSON.
 *
 * Promises: no allocation, no recursion beyond JSON_MAX_DEPTH levels of
 * objects and arrays, never reads past len; values are copied into the
 * caller's buffers (so the caller wipes secrets); a field named twice, a
 * value longer than its buffer, a NUL byte or a \u escape outside
 * printable ASCII is refused; messages never quote a value. */
#ifndef S3CSFS_JSON_H
#define S3CSFS_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 8

enum json_type { JSON_ABSENT = 0, JSON_STRING, JSON_NUMBER, JSON_BOOL, JSON_NULL };

/* One field to pick. path is the member name, or "outer.inner" for a
 * member of a nested object. out gets the string value (unescaped) or the
 * literal text of a number, true or false. */
struct json_field {
	const char *path;
	char *out;
	size_t cap;
	enum json_type type; /* out: JSON_ABSENT if the field was not there */
};

/* Parses doc[0..len), which must be one JSON object, filling the fields
 * found. Returns 0, or -EINVAL with *why saying what was wrong (a fixed
 * string), -E2BIG when a picked value is longer than its buffer. */
int json_get_fields(const char *doc, size_t len, struct json_field *fields, size_t nfields,
		    const char **why);

#endif
