/* s3_xml.c - the project's one XML module: S3 XML responses in (libxml2
 * trees), request bodies out (bounded string building, one escaper).
 *
 * Everything here is reentrant: no static mutable state, one libxml2
 * document per call. xmlCleanupParser is never called (process-wide). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "s3_xml.h"

/* No network, no DTD loading, no entity substitution (NOENT/DTDLOAD/HUGE
 * are deliberately absent), and no error printing: hostile input must not
 * be able to spam the daemon's stderr or syslog. */
#define S3XML_PARSE_OPTS \
	(XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static const char s3_ns[] = "http://s3.amazonaws.com/doc/2006-03-01/";

/* ---- document and node helpers ---------------------------------------- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses body into *docp and returns its root element in *rootp.
 * Leading blanks are skipped because S3 keeps a slow
 * CompleteMultipartUpload alive by sending blanks before the document, and
 * an XML declaration after them would otherwise be a syntax error. */
static int parse_doc(const char *body, size_t len, xmlDocPtr *docp, xmlNodePtr *rootp)
{
	const xmlError *e;
	xmlDocPtr doc;
	xmlNodePtr root;

	*docp = NULL;
	*rootp = NULL;
	/* xmlReadMemory takes an int length; a longer body is not an S3
	 * answer we asked for. Checked before reading a single byte. */
	if (body == NULL || len == 0 || len > (size_t)INT_MAX)
		return -EPROTO;
	while (len > 0 && is_blank(*body)) {
		body++;
		len--;
	}
	if (len == 0)
		return -EPROTO;

	/* The last-error slot is per thread; reset it so that an out-of-memory
	 * report below really belongs to this parse. */
	xmlResetLastError();
	doc = xmlReadMemory(body, (int)len, NULL, NULL, S3XML_PARSE_OPTS);
	if (doc == NULL) {
		e = xmlGetLastError();
		return (e != NULL && e->code == XML_ERR_NO_MEMORY) ? -ENOMEM : -EPROTO;
	}
	/* S3 never sends a DTD. Refusing any makes entity tricks (billion
	 * laughs, external entities) moot whatever libxml2 made of them. */
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlFreeDoc(doc);
		return -EPROTO;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL) {
		xmlFreeDoc(doc);
		return -EPROTO;
	}
	*docp = doc;
	*rootp = root;
	return 0;
}

/* Element match by local name: node->name carries no prefix, so this holds
 * with S3's default namespace, with a prefixed one, or with none. */
static int is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Only direct text and CDATA children count as an element's value: entity
 * reference nodes are never followed (so nothing can expand here), and
 * xmlNodeGetContent is avoided for that very reason. */
static int is_text(xmlNodePtr c)
{
	return (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL;
}

static size_t text_len(xmlNodePtr n)
{
	size_t len = 0;

	for (xmlNodePtr c = n->children; c != NULL; c = c->next)
		if (is_text(c))
			len += strlen((const char *)c->content);
	return len;
}

/* Copies the value into dst, which has room for text_len(n) + 1 bytes.
 * libxml2 rejects a NUL (raw or as &#0;) as not well-formed, so the
 * value's length is also its strlen: no key can hide a NUL from us. */
static void text_copy(xmlNodePtr n, char *dst)
{
	size_t pos = 0, l;

	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (!is_text(c))
			continue;
		l = strlen((const char *)c->content);
		memcpy(dst + pos, c->content, l);
		pos += l;
	}
	dst[pos] = '\0';
}

/* Value as a fresh string of at most maxlen bytes; longer -> -EPROTO. */
static int text_dup(xmlNodePtr n, size_t maxlen, char **out)
{
	size_t len = text_len(n);
	char *s;

	*out = NULL;
	if (len > maxlen)
		return -EPROTO;
	s = malloc(len + 1);
	if (s == NULL)
		return -ENOMEM;
	text_copy(n, s);
	*out = s;
	return 0;
}

/* Value into a fixed field where cutting would corrupt protocol state
 * (tokens, markers, upload ids): it must fit whole, else -EPROTO. */
static int text_exact(xmlNodePtr n, char *dst, size_t dstsz)
{
	if (dstsz == 0 || text_len(n) >= dstsz)
		return -EPROTO;
	text_copy(n, dst);
	return 0;
}

/* Value into a fixed field where cutting is harmless (messages, storage
 * class). The cut never splits a UTF-8 sequence, so the result stays valid
 * for logs. No allocation: usable on the error path of an error path. */
static void text_cut(xmlNodePtr n, char *dst, size_t dstsz)
{
	size_t pos = 0, room = dstsz - 1, l;
	unsigned char next = 0;
	int cut = 0;

	for (xmlNodePtr c = n->children; c != NULL && !cut; c = c->next) {
		if (!is_text(c))
			continue;
		l = strlen((const char *)c->content);
		if (l > room - pos) {
			/* Remember the first byte left out, to see whether the
			 * cut falls inside a multi-byte character. */
			next = c->content[room - pos];
			l = room - pos;
			cut = 1;
		}
		memcpy(dst + pos, c->content, l);
		pos += l;
	}
	if (cut) {
		while (pos > 0 && (next & 0xC0) == 0x80)
			next = (unsigned char)dst[--pos];
	}
	dst[pos] = '\0';
}

/* Strips one surrounding double quote on each side (S3 sends "hex" or
 * &quot;hex&quot;, which libxml2 decodes to the same thing). */
static void strip_quotes(char *s)
{
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == '"')
		s[--len] = '\0';
	if (len > 0 && s[0] == '"')
		memmove(s, s + 1, len); /* len bytes: the rest plus the NUL */
}

/* ETag without quotes into dst; empty or too long -> -EPROTO. */
static int text_etag(xmlNodePtr n, char *dst, size_t dstsz)
{
	char *s;
	int rc;

	/* Two quote bytes may go: anything longer can never fit. */
	rc = text_dup(n, dstsz < SIZE_MAX ? dstsz + 1 : dstsz, &s);
	if (rc != 0)
		return rc;
	strip_quotes(s);
	if (s[0] == '\0' || strlen(s) >= dstsz) {
		free(s);
		return -EPROTO;
	}
	strcpy(dst, s);
	free(s);
	return 0;
}

/* A key or prefix: 1..S3_KEY_MAX bytes (S3 keys are never empty). */
static int text_key(xmlNodePtr n, char **out)
{
	int rc = text_dup(n, S3_KEY_MAX, out);

	if (rc == 0 && (*out)[0] == '\0') {
		free(*out);
		*out = NULL;
		rc = -EPROTO;
	}
	return rc;
}

/* "true" / "false" exactly, as S3 writes them. */
static int text_bool(xmlNodePtr n, int *out)
{
	char buf[8];

	if (text_exact(n, buf, sizeof(buf)) != 0)
		return -EPROTO;
	if (strcmp(buf, "true") == 0)
		*out = 1;
	else if (strcmp(buf, "false") == 0)
		*out = 0;
	else
		return -EPROTO;
	return 0;
}

/* Decimal, non-negative, no sign or blanks: strtoll would accept more. */
static int text_size(xmlNodePtr n, long long *out)
{
	char buf[24];
	long long v = 0;
	int d;

	if (text_exact(n, buf, sizeof(buf)) != 0 || buf[0] == '\0')
		return -EPROTO;
	for (const char *p = buf; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EPROTO;
		d = *p - '0';
		if (v > (LLONG_MAX - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int text_time(xmlNodePtr n, time_t *out)
{
	char buf[64];
	time_t t;

	if (text_exact(n, buf, sizeof(buf)) != 0)
		return -EPROTO;
	t = s3xml_parse_iso8601(buf);
	if (t == (time_t)-1)
		return -EPROTO;
	*out = t;
	return 0;
}

/* Returns arr with room for element n (reallocated when full), or NULL
 * with arr untouched. Doubling keeps appends amortised O(1). */
static void *grow(void *arr, size_t *cap, size_t n, size_t elsz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap || ncap > SIZE_MAX / elsz)
		return NULL;
	p = realloc(arr, ncap * elsz);
	if (p == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

/* ---- <Error> ----------------------------------------------------------- */

static void fill_error(xmlNodePtr root, struct s3_error *out)
{
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		if (is_elem(c, "Code"))
			text_cut(c, out->code, sizeof(out->code));
		else if (is_elem(c, "Message"))
			text_cut(c, out->message, sizeof(out->message));
		else if (is_elem(c, "RequestId"))
			text_cut(c, out->request_id, sizeof(out->request_id));
	}
}

int s3xml_parse_error(const char *body, size_t len, struct s3_error *out)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (!is_elem(root, "Error"))
		rc = -ENOENT;
	else if (out != NULL)
		fill_error(root, out);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- ListObjectsV2 ----------------------------------------------------- */

void s3xml_list_result_free(struct s3_list_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nobjects; i++)
		free(r->objects[i].key);
	free(r->objects);
	for (size_t i = 0; i < r->nprefixes; i++)
		free(r->prefixes[i]);
	free(r->prefixes);
	memset(r, 0, sizeof(*r));
}

static int parse_contents(xmlNodePtr n, struct s3_list_result *out, size_t *cap)
{
	struct s3_object_entry e;
	struct s3_object_entry *arr;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	for (xmlNodePtr c = n->children; c != NULL && rc == 0; c = c->next) {
		if (is_elem(c, "Key"))
			/* A second Key would make the entry ambiguous. */
			rc = e.key != NULL ? -EPROTO : text_key(c, &e.key);
		else if (is_elem(c, "Size"))
			rc = text_size(c, &e.size);
		else if (is_elem(c, "ETag"))
			rc = text_etag(c, e.etag, sizeof(e.etag));
		else if (is_elem(c, "LastModified"))
			rc = text_time(c, &e.last_modified);
		else if (is_elem(c, "StorageClass"))
			text_cut(c, e.storage_class, sizeof(e.storage_class));
	}
	if (rc == 0 && e.key == NULL)
		rc = -EPROTO;
	if (rc == 0) {
		arr = grow(out->objects, cap, out->nobjects, sizeof(*arr));
		if (arr == NULL) {
			rc = -ENOMEM;
		} else {
			out->objects = arr;
			out->objects[out->nobjects++] = e;
			return 0;
		}
	}
	free(e.key);
	return rc;
}

static int parse_common_prefixes(xmlNodePtr n, struct s3_list_result *out, size_t *cap)
{
	char **arr;
	char *p;
	int rc;

	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (!is_elem(c, "Prefix"))
			continue;
		rc = text_key(c, &p);
		if (rc != 0)
			return rc;
		arr = grow(out->prefixes, cap, out->nprefixes, sizeof(*arr));
		if (arr == NULL) {
			free(p);
			return -ENOMEM;
		}
		out->prefixes = arr;
		out->prefixes[out->nprefixes++] = p;
	}
	return 0;
}

int s3xml_parse_list_objects(const char *body, size_t len, struct s3_list_result *out)
{
	size_t ocap = 0, pcap = 0;
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (!is_elem(root, "ListBucketResult"))
		rc = -EPROTO;
	for (xmlNodePtr c = root->children; c != NULL && rc == 0; c = c->next) {
		if (is_elem(c, "Contents"))
			rc = parse_contents(c, out, &ocap);
		else if (is_elem(c, "CommonPrefixes"))
			rc = parse_common_prefixes(c, out, &pcap);
		else if (is_elem(c, "IsTruncated"))
			rc = text_bool(c, &out->is_truncated);
		else if (is_elem(c, "NextContinuationToken"))
			rc = text_exact(c, out->next_token, sizeof(out->next_token));
	}
	/* Truncated without a token: the caller could only restart from the
	 * beginning, forever. */
	if (rc == 0 && out->is_truncated && out->next_token[0] == '\0')
		rc = -EPROTO;
	xmlFreeDoc(doc);
	if (rc != 0)
		s3xml_list_result_free(out);
	return rc;
}

/* ---- single-value results --------------------------------------------- */

int s3xml_parse_initiate_mpu(const char *body, size_t len, char *upload_id, size_t idlen)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc, found = 0;

	if (upload_id == NULL || idlen == 0)
		return -EINVAL;
	upload_id[0] = '\0';
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (!is_elem(root, "InitiateMultipartUploadResult"))
		rc = -EPROTO;
	for (xmlNodePtr c = root->children; c != NULL && rc == 0 && !found; c = c->next) {
		if (is_elem(c, "UploadId")) {
			rc = text_exact(c, upload_id, idlen);
			found = 1;
		}
	}
	if (rc == 0 && upload_id[0] == '\0')
		rc = -EPROTO;
	if (rc != 0)
		upload_id[0] = '\0';
	xmlFreeDoc(doc);
	return rc;
}

/* Shared by CompleteMultipartUpload and CopyObject: both answer 200 with
 * either a result carrying an ETag or, when they fail late, an <Error>. */
static int parse_etag_result(const char *body, size_t len, const char *root1, const char *root2,
			     char *etag, size_t etaglen, struct s3_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc, found = 0;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (etag == NULL || etaglen == 0)
		return -EINVAL;
	etag[0] = '\0';
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (is_elem(root, "Error")) {
		if (err != NULL)
			fill_error(root, err);
		xmlFreeDoc(doc);
		return -EIO;
	}
	if (!is_elem(root, root1) && (root2 == NULL || !is_elem(root, root2)))
		rc = -EPROTO;
	for (xmlNodePtr c = root->children; c != NULL && rc == 0 && !found; c = c->next) {
		if (is_elem(c, "ETag")) {
			found = 1;
			/* Ceph RGW answers CompleteMultipartUpload with an empty
			 * <ETag/>: that is "not given", for the caller to fetch. */
			if (c->children != NULL)
				rc = text_etag(c, etag, etaglen);
		}
	}
	(void)found;
	if (rc != 0)
		etag[0] = '\0';
	xmlFreeDoc(doc);
	return rc;
}

int s3xml_parse_complete_mpu(const char *body, size_t len, char *etag, size_t etaglen,
			     struct s3_error *err)
{
	return parse_etag_result(body, len, "CompleteMultipartUploadResult", NULL, etag, etaglen,
				 err);
}

/* UploadPartCopy answers <CopyPartResult> with the same shape, so it is
 * accepted too. */
int s3xml_parse_copy_result(const char *body, size_t len, char *etag, size_t etaglen,
			    struct s3_error *err)
{
	return parse_etag_result(body, len, "CopyObjectResult", "CopyPartResult", etag, etaglen,
				 err);
}

/* ---- ListMultipartUploads ---------------------------------------------- */

void s3xml_mpu_list_free(struct s3_mpu_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nuploads; i++) {
		free(l->uploads[i].key);
		free(l->uploads[i].upload_id);
	}
	free(l->uploads);
	memset(l, 0, sizeof(*l));
}

static int parse_upload(xmlNodePtr n, struct s3_mpu_list *out, size_t *cap)
{
	struct s3_mpu_entry e;
	struct s3_mpu_entry *arr;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	for (xmlNodePtr c = n->children; c != NULL && rc == 0; c = c->next) {
		if (is_elem(c, "Key")) {
			rc = e.key != NULL ? -EPROTO : text_key(c, &e.key);
		} else if (is_elem(c, "UploadId")) {
			/* Same bound as S3_UPLOAD_ID_MAX buffers elsewhere. */
			rc = e.upload_id != NULL ? -EPROTO
						 : text_dup(c, S3_UPLOAD_ID_MAX - 1, &e.upload_id);
			if (rc == 0 && e.upload_id[0] == '\0')
				rc = -EPROTO;
		} else if (is_elem(c, "Initiated")) {
			rc = text_time(c, &e.initiated);
		}
	}
	if (rc == 0 && (e.key == NULL || e.upload_id == NULL))
		rc = -EPROTO;
	if (rc == 0) {
		arr = grow(out->uploads, cap, out->nuploads, sizeof(*arr));
		if (arr == NULL) {
			rc = -ENOMEM;
		} else {
			out->uploads = arr;
			out->uploads[out->nuploads++] = e;
			return 0;
		}
	}
	free(e.key);
	free(e.upload_id);
	return rc;
}

int s3xml_parse_list_mpu(const char *body, size_t len, struct s3_mpu_list *out)
{
	size_t cap = 0;
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (!is_elem(root, "ListMultipartUploadsResult"))
		rc = -EPROTO;
	for (xmlNodePtr c = root->children; c != NULL && rc == 0; c = c->next) {
		if (is_elem(c, "Upload"))
			rc = parse_upload(c, out, &cap);
		else if (is_elem(c, "IsTruncated"))
			rc = text_bool(c, &out->is_truncated);
		else if (is_elem(c, "NextKeyMarker"))
			rc = text_exact(c, out->next_key_marker, sizeof(out->next_key_marker));
		else if (is_elem(c, "NextUploadIdMarker"))
			rc = text_exact(c, out->next_upload_id_marker,
					sizeof(out->next_upload_id_marker));
	}
	/* As for ListObjectsV2: truncated with nowhere to resume is useless. */
	if (rc == 0 && out->is_truncated && out->next_key_marker[0] == '\0')
		rc = -EPROTO;
	xmlFreeDoc(doc);
	if (rc != 0)
		s3xml_mpu_list_free(out);
	return rc;
}

/* ---- object tagging --------------------------------------------------- */

int s3xml_parse_tagging(const char *body, size_t len, struct s3_tag *tags, size_t max, size_t *n)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	*n = 0;
	while (len > 0 && is_blank(*body)) {
		body++;
		len--;
	}
	if (len == 0)
		return 0; /* Ceph RGW 16 answers so for some untagged objects */
	if (len > (1 << 20))
		return -EPROTO;
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (!is_elem(root, "Tagging"))
		rc = -EPROTO;
	for (xmlNodePtr set = root->children; set != NULL && rc == 0; set = set->next) {
		if (!is_elem(set, "TagSet"))
			continue;
		for (xmlNodePtr tag = set->children; tag != NULL && rc == 0; tag = tag->next) {
			int have_k = 0, have_v = 0;
			if (!is_elem(tag, "Tag"))
				continue;
			if (*n >= max) {
				rc = -EPROTO;
				break;
			}
			memset(&tags[*n], 0, sizeof(tags[*n]));
			for (xmlNodePtr f = tag->children; f != NULL && rc == 0; f = f->next) {
				if (is_elem(f, "Key")) {
					rc = text_exact(f, tags[*n].key, sizeof(tags[*n].key));
					have_k = 1;
				} else if (is_elem(f, "Value")) {
					rc = text_exact(f, tags[*n].value, sizeof(tags[*n].value));
					have_v = 1;
				}
			}
			if (rc == 0 && (!have_k || !have_v || !tags[*n].key[0]))
				rc = -EPROTO;
			if (rc == 0)
				(*n)++;
		}
	}
	xmlFreeDoc(doc);
	return rc;
}

/* ---- request bodies ---------------------------------------------------- */

/* A bounded writer: into the caller's buffer, or, with p NULL, only
 * measuring (so a malloc'd body is sized by the very code that writes
 * it). Once a piece does not fit, the rest is dropped and sb_end says so. */
struct sbuf {
	char *p;
	size_t len, cap;
	int over;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->over)
		return;
	if (b->p == NULL) {
		if (n > SIZE_MAX - 1 - b->len)
			b->over = 1;
		else
			b->len += n;
		return;
	}
	/* One byte stays for the NUL. */
	if (n >= b->cap - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* The one XML escaper of the project: &, <, > and " as entities. */
static void sb_escaped(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			sb_str(b, "&amp;");
			break;
		case '<':
			sb_str(b, "&lt;");
			break;
		case '>':
			sb_str(b, "&gt;");
			break;
		case '"':
			sb_str(b, "&quot;");
			break;
		default:
			sb_put(b, s + i, 1);
			break;
		}
	}
}

/* Starts writing into buf[0..bufsz). */
static int sb_begin(struct sbuf *b, char *buf, size_t bufsz)
{
	if (buf == NULL || bufsz == 0)
		return -EINVAL;
	*b = (struct sbuf){ .p = buf, .cap = bufsz };
	return 0;
}

/* The body's length (NUL-terminated), or -EINVAL when it did not fit. */
static int sb_end(struct sbuf *b)
{
	if (b->over || b->len > INT_MAX)
		return -EINVAL;
	b->p[b->len] = '\0';
	return (int)b->len;
}

typedef void (*emit_fn)(struct sbuf *b, const void *arg);

/* emit's body in a fresh buffer: measured, then written. NULL with errno
 * ENOMEM when it cannot be allocated. */
static char *build_malloc(emit_fn emit, const void *arg, size_t *len)
{
	struct sbuf m = { 0 }, w;
	char *buf;

	emit(&m, arg);
	if (m.over || (buf = malloc(m.len + 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	w = (struct sbuf){ .p = buf, .cap = m.len + 1 };
	emit(&w, arg);
	buf[w.len] = '\0';
	if (len != NULL)
		*len = w.len;
	return buf;
}

struct complete_args {
	const struct s3_part *parts;
	size_t nparts;
	const char *alg; /* NULL or "" : no checksums */
};

static void emit_complete(struct sbuf *b, const void *arg)
{
	const struct complete_args *a = arg;
	char num[16];

	sb_str(b, "<CompleteMultipartUpload xmlns=\"");
	sb_str(b, s3_ns);
	sb_str(b, "\">");
	for (size_t i = 0; i < a->nparts; i++) {
		const struct s3_part *pt = &a->parts[i];

		snprintf(num, sizeof(num), "%d", pt->number);
		sb_str(b, "<Part><PartNumber>");
		sb_str(b, num);
		sb_str(b, "</PartNumber><ETag>\"");
		sb_escaped(b, pt->etag, strnlen(pt->etag, sizeof(pt->etag)));
		sb_str(b, "\"</ETag>");
		if (a->alg != NULL && a->alg[0] != '\0' && pt->checksum[0] != '\0') {
			sb_str(b, "<Checksum");
			sb_str(b, a->alg);
			sb_str(b, ">");
			sb_escaped(b, pt->checksum, strnlen(pt->checksum, sizeof(pt->checksum)));
			sb_str(b, "</Checksum");
			sb_str(b, a->alg);
			sb_str(b, ">");
		}
		sb_str(b, "</Part>");
	}
	sb_str(b, "</CompleteMultipartUpload>");
}

char *s3xml_build_complete_mpu(const struct s3_part *parts, size_t nparts, size_t *len)
{
	return s3xml_build_complete_mpu_ck(parts, nparts, NULL, len);
}

char *s3xml_build_complete_mpu_ck(const struct s3_part *parts, size_t nparts, const char *alg_upper,
				  size_t *len)
{
	struct complete_args a = { parts, nparts, alg_upper };

	/* The algorithm goes into an element name unescaped: only the short
	 * upper-case names of checksum.h are expected. */
	if ((nparts > 0 && parts == NULL) ||
	    (alg_upper != NULL &&
	     (strlen(alg_upper) > 16 ||
	      strspn(alg_upper, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(alg_upper)))) {
		errno = EINVAL;
		return NULL;
	}
	/* S3's preconditions: strictly ascending numbers in 1..10000 (which
	 * also caps nparts at 10000). */
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].number < 1 || parts[i].number > 10000 ||
		    (i > 0 && parts[i].number <= parts[i - 1].number)) {
			errno = EINVAL;
			return NULL;
		}
	}
	return build_malloc(emit_complete, &a, len);
}

struct tagging_args {
	const struct s3_tag *tags;
	size_t n;
};

static void emit_tagging(struct sbuf *b, const void *arg)
{
	const struct tagging_args *a = arg;

	sb_str(b, "<Tagging><TagSet>");
	for (size_t i = 0; i < a->n; i++) {
		const struct s3_tag *t = &a->tags[i];

		sb_str(b, "<Tag><Key>");
		sb_escaped(b, t->key, strnlen(t->key, sizeof(t->key)));
		sb_str(b, "</Key><Value>");
		sb_escaped(b, t->value, strnlen(t->value, sizeof(t->value)));
		sb_str(b, "</Value></Tag>");
	}
	sb_str(b, "</TagSet></Tagging>");
}

char *s3xml_build_tagging(const struct s3_tag *tags, size_t n, size_t *len)
{
	struct tagging_args a = { tags, n };

	if (n > 0 && tags == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return build_malloc(emit_tagging, &a, len);
}

/* The callers' values are S3 words and dates: markup in one is a caller's
 * error, refused (-EINVAL) rather than escaped into something S3 rejects. */
static int has_markup(const char *s)
{
	return strpbrk(s, "<>&") != NULL;
}

int s3xml_build_create_bucket(const char *region, char *buf, size_t bufsz)
{
	struct sbuf b;

	if (region == NULL || region[0] == '\0' || sb_begin(&b, buf, bufsz) != 0)
		return -EINVAL;
	sb_str(&b, "<CreateBucketConfiguration><LocationConstraint>");
	sb_escaped(&b, region, strlen(region));
	sb_str(&b, "</LocationConstraint></CreateBucketConfiguration>");
	return sb_end(&b);
}

int s3xml_build_restore(int days, const char *tier, char *buf, size_t bufsz)
{
	struct sbuf b;
	char num[16];

	if (days < 1 || tier == NULL || has_markup(tier) || sb_begin(&b, buf, bufsz) != 0)
		return -EINVAL;
	snprintf(num, sizeof(num), "%d", days);
	sb_str(&b, "<RestoreRequest><Days>");
	sb_str(&b, num);
	sb_str(&b, "</Days><GlacierJobParameters><Tier>");
	sb_str(&b, tier);
	sb_str(&b, "</Tier></GlacierJobParameters></RestoreRequest>");
	return sb_end(&b);
}

int s3xml_build_legal_hold(int on, char *buf, size_t bufsz)
{
	struct sbuf b;

	if (sb_begin(&b, buf, bufsz) != 0)
		return -EINVAL;
	sb_str(&b, "<LegalHold><Status>");
	sb_str(&b, on ? "ON" : "OFF");
	sb_str(&b, "</Status></LegalHold>");
	return sb_end(&b);
}

int s3xml_build_retention(const char *mode, const char *until, char *buf, size_t bufsz)
{
	struct sbuf b;

	if (mode == NULL || until == NULL || has_markup(mode) || has_markup(until) ||
	    sb_begin(&b, buf, bufsz) != 0)
		return -EINVAL;
	sb_str(&b, "<Retention><Mode>");
	sb_str(&b, mode);
	sb_str(&b, "</Mode><RetainUntilDate>");
	sb_str(&b, until);
	sb_str(&b, "</RetainUntilDate></Retention>");
	return sb_end(&b);
}

/* ---- ISO 8601 ---------------------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int num_at(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* The one ISO 8601 parser (S3 listings, STS, instance and container
 * metadata, credential_process): "YYYY-MM-DDTHH:MM:SS[.frac]" then "Z" or
 * "+HH:MM"/"-HH:MM". strptime would
 * be locale-dependent and lenient, so the shape is checked by hand. Years
 * before 1970 are refused so that -1 stays unambiguous. */
time_t s3xml_parse_iso8601(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p;
	struct tm tm;
	int year, mon, day, leap, off;
	time_t t;

	if (s == NULL)
		return -1;
	/* Stops at the first mismatch, so never reads past a short string's
	 * NUL. */
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
			return -1;
	}
	p = s + sizeof(shape) - 1;
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return -1;
		while (is_digit(*p))
			p++;
	}
	/* "Z", or an offset: credential_process helpers often print one. */
	if (p[0] == 'Z' && p[1] == '\0') {
		off = 0;
	} else if ((p[0] == '+' || p[0] == '-') && is_digit(p[1]) && is_digit(p[2]) &&
		   p[3] == ':' && is_digit(p[4]) && is_digit(p[5]) && p[6] == '\0' &&
		   num_at(p + 1, 2) <= 23 && num_at(p + 4, 2) <= 59) {
		off = (num_at(p + 1, 2) * 60 + num_at(p + 4, 2)) * 60;
		if (p[0] == '-')
			off = -off;
	} else {
		return -1;
	}

	year = num_at(s, 4);
	mon = num_at(s + 5, 2);
	day = num_at(s + 8, 2);
	if (year < 1970 || mon < 1 || mon > 12 || day < 1)
		return -1;
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day > mdays[mon - 1] + (mon == 2 && leap))
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = num_at(s + 11, 2);
	tm.tm_min = num_at(s + 14, 2);
	tm.tm_sec = num_at(s + 17, 2);
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1 || t - off < 0)
		return -1;
	return t - off;
}

/* The first element named name (local name) at or below node's siblings. */
static xmlNodePtr find_elem(xmlNodePtr node, const char *name, int depth)
{
	if (depth > 8)
		return NULL; /* ObjectLockConfiguration nests four deep */
	for (xmlNodePtr n = node; n != NULL; n = n->next) {
		if (is_elem(n, name))
			return n;
		if (n->type == XML_ELEMENT_NODE) {
			xmlNodePtr f = find_elem(n->children, name, depth + 1);
			if (f != NULL)
				return f;
		}
	}
	return NULL;
}

int s3xml_parse_object_lock_config(const char *body, size_t len, struct s3_lock_config *out)
{
	xmlDocPtr doc;
	xmlNodePtr root, el;
	char text[32];
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > (1 << 20))
		return -EPROTO;
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	if (!is_elem(root, "ObjectLockConfiguration"))
		rc = -EPROTO;
	if (rc == 0 && (el = find_elem(root, "ObjectLockEnabled", 0))) {
		text_cut(el, text, sizeof(text));
		out->enabled = strcmp(text, "Enabled") == 0;
	}
	if (rc == 0 && (el = find_elem(root, "Mode", 0)))
		text_cut(el, out->mode, sizeof(out->mode));
	if (rc == 0 && (el = find_elem(root, "Days", 0))) {
		text_cut(el, text, sizeof(text));
		out->days = atoi(text);
	}
	if (rc == 0 && (el = find_elem(root, "Years", 0))) {
		text_cut(el, text, sizeof(text));
		out->years = atoi(text);
	}
	xmlFreeDoc(doc);
	return rc;
}

/* ---- STS --------------------------------------------------------------- */

/* The first child element of n named name (local name), or NULL. */
static xmlNodePtr child_elem(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; c != NULL; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Value of element n into dst, whole; absent or too long -> -EPROTO. */
static int text_field(xmlNodePtr n, char *dst, size_t dstsz)
{
	if (n == NULL)
		return -EPROTO;
	return text_exact(n, dst, dstsz);
}

int s3xml_parse_sts_credentials(const char *body, size_t len, const char *action,
				struct s3xml_sts_creds *out)
{
	char result[64], exp[64];
	xmlDocPtr doc;
	xmlNodePtr root, c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (snprintf(result, sizeof(result), "%sResult", action) >= (int)sizeof(result))
		return -EPROTO;
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	c = child_elem(child_elem(root, result), "Credentials");
	if (text_field(child_elem(c, "AccessKeyId"), out->access_key, sizeof(out->access_key)) ||
	    text_field(child_elem(c, "SecretAccessKey"), out->secret_key, sizeof(out->secret_key)) ||
	    text_field(child_elem(c, "SessionToken"), out->session_token,
		       sizeof(out->session_token)) ||
	    text_field(child_elem(c, "Expiration"), exp, sizeof(exp)) || !out->access_key[0] ||
	    !out->secret_key[0] || strpbrk(out->secret_key, "\r\n") ||
	    strpbrk(out->session_token, "\r\n") ||
	    (out->expires = s3xml_parse_iso8601(exp)) == (time_t)-1) {
		explicit_bzero(out, sizeof(*out));
		rc = -EPROTO;
	}
	xmlFreeDoc(doc);
	return rc;
}

int s3xml_parse_sts_identity(const char *body, size_t len, char *arn, size_t arnlen, char *account,
			     size_t acclen)
{
	xmlDocPtr doc;
	xmlNodePtr root, r;
	int rc;

	if (arnlen)
		arn[0] = '\0';
	if (acclen)
		account[0] = '\0';
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	r = child_elem(root, "GetCallerIdentityResult");
	if (text_field(child_elem(r, "Arn"), arn, arnlen) || !arn[0])
		rc = -EPROTO;
	if (acclen && text_field(child_elem(r, "Account"), account, acclen))
		account[0] = '\0';
	xmlFreeDoc(doc);
	return rc;
}

int s3xml_parse_sts_error(const char *body, size_t len, struct s3_error *out)
{
	xmlDocPtr doc;
	xmlNodePtr root, e;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_doc(body, len, &doc, &root);
	if (rc != 0)
		return rc;
	e = is_elem(root, "Error") ? root : child_elem(root, "Error");
	if (e == NULL)
		rc = -ENOENT;
	else
		fill_error(e, out);
	xmlFreeDoc(doc);
	return rc;
}
