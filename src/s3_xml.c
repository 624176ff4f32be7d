/* s3_xml.c - S3 XML responses in (libxml2 trees), CompleteMultipartUpload
 * body out (plain string building).
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
#define S3XML_PARSE_OPTS                                                   \
	(XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |        \
	 XML_PARSE_NOWARNING)

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
	return (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
	       c->content != NULL;
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
static int parse_etag_result(const char *body, size_t len, const char *root1,
			     const char *root2, char *etag, size_t etaglen,
			     struct s3_error *err)
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
	return parse_etag_result(body, len, "CompleteMultipartUploadResult", NULL,
				 etag, etaglen, err);
}

/* UploadPartCopy answers <CopyPartResult> with the same shape, so it is
 * accepted too. */
int s3xml_parse_copy_result(const char *body, size_t len, char *etag, size_t etaglen,
			    struct s3_error *err)
{
	return parse_etag_result(body, len, "CopyObjectResult", "CopyPartResult",
				 etag, etaglen, err);
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

/* ---- CompleteMultipartUpload request body ------------------------------ */

/* Bytes needed for s once &, <, > and " are escaped. */
static size_t escaped_len(const char *s, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': len += 5; break;  /* &amp; */
		case '<':
		case '>': len += 4; break;  /* &lt; &gt; */
		case '"': len += 6; break;  /* &quot; */
		default: len += 1; break;
		}
	}
	return len;
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *put_escaped(char *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': p = put(p, "&amp;", 5); break;
		case '<': p = put(p, "&lt;", 4); break;
		case '>': p = put(p, "&gt;", 4); break;
		case '"': p = put(p, "&quot;", 6); break;
		default: *p++ = s[i]; break;
		}
	}
	return p;
}

#define LIT(s) (s), (sizeof(s) - 1)

char *s3xml_build_complete_mpu(const struct s3_part *parts, size_t nparts, size_t *len)
{
	return s3xml_build_complete_mpu_ck(parts, nparts, NULL, len);
}

char *s3xml_build_complete_mpu_ck(const struct s3_part *parts, size_t nparts,
				  const char *alg_upper, size_t *len)
{
	static const char head_open[] = "<CompleteMultipartUpload xmlns=\"";
	static const char head_close[] = "\">";
	static const char tail[] = "</CompleteMultipartUpload>";
	static const char part_open[] = "<Part><PartNumber>";
	static const char part_mid[] = "</PartNumber><ETag>\"";
	static const char etag_close[] = "\"</ETag>";
	static const char part_close[] = "</Part>";
	char num[16], ck_open[32], ck_close[32];
	size_t total, n, alen = alg_upper ? strlen(alg_upper) : 0;
	char *buf, *p;
	int nl;

	if ((nparts > 0 && parts == NULL) || alen > 16) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(ck_open, sizeof(ck_open), "<Checksum%s>", alen ? alg_upper : "");
	snprintf(ck_close, sizeof(ck_close), "</Checksum%s>", alen ? alg_upper : "");
	/* First pass: check the header's preconditions and size the body
	 * exactly. Strictly ascending numbers in 1..10000 also cap nparts at
	 * 10000, so the sum cannot overflow. */
	total = sizeof(head_open) - 1 + sizeof(s3_ns) - 1 + sizeof(head_close) - 1 +
		sizeof(tail) - 1;
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].number < 1 || parts[i].number > 10000 ||
		    (i > 0 && parts[i].number <= parts[i - 1].number)) {
			errno = EINVAL;
			return NULL;
		}
		nl = snprintf(num, sizeof(num), "%d", parts[i].number);
		n = strnlen(parts[i].etag, sizeof(parts[i].etag));
		total += sizeof(part_open) - 1 + (size_t)nl + sizeof(part_mid) - 1 +
			 escaped_len(parts[i].etag, n) + sizeof(etag_close) - 1 +
			 sizeof(part_close) - 1;
		if (alen && parts[i].checksum[0])
			total += strlen(ck_open) + strlen(ck_close) +
				 escaped_len(parts[i].checksum,
					     strnlen(parts[i].checksum, sizeof(parts[i].checksum)));
	}
	buf = malloc(total + 1);
	if (buf == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	p = put(buf, LIT(head_open));
	p = put(p, LIT(s3_ns));
	p = put(p, LIT(head_close));
	for (size_t i = 0; i < nparts; i++) {
		nl = snprintf(num, sizeof(num), "%d", parts[i].number);
		n = strnlen(parts[i].etag, sizeof(parts[i].etag));
		p = put(p, LIT(part_open));
		p = put(p, num, (size_t)nl);
		p = put(p, LIT(part_mid));
		p = put_escaped(p, parts[i].etag, n);
		p = put(p, LIT(etag_close));
		if (alen && parts[i].checksum[0]) {
			p = put(p, ck_open, strlen(ck_open));
			p = put_escaped(p, parts[i].checksum,
					strnlen(parts[i].checksum, sizeof(parts[i].checksum)));
			p = put(p, ck_close, strlen(ck_close));
		}
		p = put(p, LIT(part_close));
	}
	p = put(p, LIT(tail));
	*p = '\0';
	if (len != NULL)
		*len = (size_t)(p - buf);
	return buf;
}

/* ---- object tagging --------------------------------------------------- */

int s3xml_parse_tagging(const char *body, size_t len, struct s3_tag *tags, size_t max,
			size_t *n)
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

char *s3xml_build_tagging(const struct s3_tag *tags, size_t n, size_t *len)
{
	static const char head[] = "<Tagging><TagSet>";
	static const char tail[] = "</TagSet></Tagging>";
	static const char k_open[] = "<Tag><Key>", k_close[] = "</Key><Value>";
	static const char v_close[] = "</Value></Tag>";
	size_t total = sizeof(head) - 1 + sizeof(tail) - 1;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		total += sizeof(k_open) - 1 + sizeof(k_close) - 1 + sizeof(v_close) - 1 +
			 escaped_len(tags[i].key, strnlen(tags[i].key, sizeof(tags[i].key))) +
			 escaped_len(tags[i].value, strnlen(tags[i].value, sizeof(tags[i].value)));
	buf = malloc(total + 1);
	if (buf == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	p = put(buf, LIT(head));
	for (size_t i = 0; i < n; i++) {
		p = put(p, LIT(k_open));
		p = put_escaped(p, tags[i].key, strnlen(tags[i].key, sizeof(tags[i].key)));
		p = put(p, LIT(k_close));
		p = put_escaped(p, tags[i].value, strnlen(tags[i].value, sizeof(tags[i].value)));
		p = put(p, LIT(v_close));
	}
	p = put(p, LIT(tail));
	*p = '\0';
	if (len != NULL)
		*len = (size_t)(p - buf);
	return buf;
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
