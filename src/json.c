/* json.c - pick fields out of a JSON object. See json.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "sigv4.h"

#define PATH_MAX_LEN 256

struct jr {
	const char *p, *end;
	struct json_field *f;
	size_t nf;
	const char *why;
	char path[PATH_MAX_LEN];
};

static void ws(struct jr *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int bad(struct jr *j, const char *why)
{
	j->why = why;
	return -EINVAL;
}

/* A string at j->p (the opening quote). out NULL: checked and skipped.
 * \u escapes are taken for printable ASCII only: nothing a credentials
 * document holds needs more, and refusing is safer than guessing. */
static int string(struct jr *j, char *out, size_t cap)
{
	size_t n = 0;

	if (j->p >= j->end || *j->p != '"')
		return bad(j, "a string expected");
	j->p++;
	while (j->p < j->end) {
		unsigned char ch = (unsigned char)*j->p++;
		if (ch == '"') {
			if (out)
				out[n] = '\0';
			return 0;
		}
		if (ch < 0x20)
			return bad(j, "a control character in a string");
		if (ch == '\\') {
			if (j->p >= j->end)
				break;
			char e = *j->p++;
			const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
			const char *k = e ? strchr(from, e) : NULL;
			if (k) {
				ch = (unsigned char)to[k - from];
			} else if (e == 'u') {
				int v = 0;
				if (j->end - j->p < 4)
					break;
				for (int i = 0; i < 4; i++) {
					int h = sigv4_hex_value(j->p[i]);
					if (h < 0)
						return bad(j, "a malformed \\u escape");
					v = v * 16 + h;
				}
				j->p += 4;
				if (v < 0x20 || v > 0x7e)
					return bad(j, "a \\u escape outside printable ASCII");
				ch = (unsigned char)v;
			} else {
				return bad(j, "a malformed escape in a string");
			}
		}
		if (out) {
			if (n + 1 >= cap)
				return -E2BIG;
			out[n++] = (char)ch;
		}
	}
	return bad(j, "an unterminated string");
}

static struct json_field *wanted(struct jr *j)
{
	for (size_t i = 0; i < j->nf; i++)
		if (strcmp(j->f[i].path, j->path) == 0)
			return &j->f[i];
	return NULL;
}

static int value(struct jr *j, int depth, int in_array);

/* A number, true, false or null, copied into f when wanted. */
static int scalar(struct jr *j, struct json_field *f)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *start = j->p;
	enum json_type t = JSON_NUMBER;

	for (size_t i = 0; i < 3 && t == JSON_NUMBER; i++) {
		size_t l = strlen(words[i]);
		if ((size_t)(j->end - j->p) >= l && memcmp(j->p, words[i], l) == 0) {
			j->p += l;
			t = i < 2 ? JSON_BOOL : JSON_NULL;
		}
	}
	if (t == JSON_NUMBER) {
		if (j->p < j->end && *j->p == '-')
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return bad(j, "a malformed value");
		while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') || strchr("+-.eE", *j->p)))
			j->p++;
		if (j->p - start > 40)
			return bad(j, "an over-long number");
	}
	if (f) {
		size_t l = (size_t)(j->p - start);
		if (l + 1 > f->cap)
			return -E2BIG;
		memcpy(f->out, start, l);
		f->out[l] = '\0';
		f->type = t;
	}
	return 0;
}

static int object(struct jr *j, int depth)
{
	size_t base = strlen(j->path);
	char key[128];
	int rc;

	j->p++; /* '{' */
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		rc = string(j, key, sizeof(key));
		if (rc == -E2BIG)
			return bad(j, "an over-long member name");
		if (rc < 0)
			return rc;
		if (base + 1 + strlen(key) + 1 > sizeof(j->path))
			return bad(j, "members nested too deep");
		snprintf(j->path + base, sizeof(j->path) - base, "%s%s", base ? "." : "", key);
		ws(j);
		if (j->p >= j->end || *j->p++ != ':')
			return bad(j, "a member without ':'");
		ws(j);
		if ((rc = value(j, depth + 1, 0)) < 0)
			return rc;
		j->path[base] = '\0';
		ws(j);
		if (j->p >= j->end)
			return bad(j, "an unterminated object");
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ == '}')
			return 0;
		return bad(j, "a missing ','");
	}
}

static int array(struct jr *j, int depth)
{
	int rc;

	j->p++; /* '[' */
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		if ((rc = value(j, depth + 1, 1)) < 0)
			return rc;
		ws(j);
		if (j->p >= j->end)
			return bad(j, "an unterminated array");
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ == ']')
			return 0;
		return bad(j, "a missing ','");
	}
}

/* Array members are never picked: no field path names one. */
static int value(struct jr *j, int depth, int in_array)
{
	struct json_field *f = in_array ? NULL : wanted(j);

	if (depth > JSON_MAX_DEPTH)
		return bad(j, "nested too deep");
	if (j->p >= j->end)
		return bad(j, "a value expected");
	if (f && f->type != JSON_ABSENT)
		return bad(j, "a member given twice");
	if (*j->p == '{' || *j->p == '[') {
		if (f)
			return bad(j, "an object or array where a plain value belongs");
		return *j->p == '{' ? object(j, depth) : array(j, depth);
	}
	if (*j->p == '"') {
		int rc = string(j, f ? f->out : NULL, f ? f->cap : 0);
		if (rc == 0 && f)
			f->type = JSON_STRING;
		return rc;
	}
	return scalar(j, f);
}

int json_get_fields(const char *doc, size_t len, struct json_field *fields, size_t nfields,
		    const char **why)
{
	struct jr j = { .p = doc, .end = doc + len, .f = fields, .nf = nfields };
	int rc;

	for (size_t i = 0; i < nfields; i++) {
		fields[i].type = JSON_ABSENT;
		if (fields[i].cap)
			fields[i].out[0] = '\0';
	}
	*why = "not a JSON object";
	if (memchr(doc, '\0', len))
		return *why = "a NUL byte in the document", -EINVAL;
	ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return -EINVAL;
	rc = object(&j, 1);
	if (rc == -E2BIG)
		*why = "a value too long";
	else if (rc < 0)
		*why = j.why;
	else {
		ws(&j);
		if (j.p != j.end)
			return *why = "text after the object", -EINVAL;
	}
	return rc;
}
