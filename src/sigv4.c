/* sigv4.c - AWS Signature Version 4 for S3 (contract in sigv4.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define AMZ_DATE_LEN 16
#define SCOPE_DATE_LEN 8
#define SHA256_LEN 32
/* Real secrets are 40 bytes and regions a dozen; these bounds only keep
 * the stack buffers of sigv4_authorization finite. */
#define SECRET_MAX 256
#define STRING_TO_SIGN_MAX 512

/* Text goes either into a bounded caller buffer or straight into a digest,
 * so sigv4_authorization can hash a canonical request of any size without
 * holding it in memory. The first error sticks and later writes are no-ops,
 * which keeps the builders free of error plumbing. */
struct sink {
	char *buf;
	size_t cap; /* usable bytes of buf, the NUL excluded */
	size_t len;
	EVP_MD_CTX *md;
	int err;
};

struct span {
	const char *p;
	size_t n;
};

/* A header (value trimmed, inner blanks folded on output) or a query pair. */
struct kv {
	struct span name;
	struct span value;
};

static void sink_init_buf(struct sink *s, char *out, size_t outlen)
{
	memset(s, 0, sizeof(*s));
	s->buf = out;
	if (out == NULL) {
		s->err = -EINVAL;
	} else if (outlen == 0) {
		s->err = -ENAMETOOLONG;
	} else {
		s->cap = outlen - 1;
		out[0] = '\0';
	}
}

static void sink_fail(struct sink *s, int err)
{
	if (!s->err)
		s->err = err;
}

static void sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->err || n == 0)
		return;
	if (s->md) {
		if (EVP_DigestUpdate(s->md, p, n) != 1)
			s->err = -EIO;
	} else if (n > s->cap - s->len) {
		s->err = -ENAMETOOLONG;
	} else {
		memcpy(s->buf + s->len, p, n);
	}
	if (!s->err)
		s->len += n;
}

static void sink_str(struct sink *s, const char *str)
{
	sink_put(s, str, strlen(str));
}

static void sink_span(struct sink *s, struct span sp)
{
	sink_put(s, sp.p, sp.n);
}

/* Ends a buffer sink: NUL-terminates, and on failure leaves "" so that a
 * truncated text can never be mistaken for a whole one. */
static int sink_finish(struct sink *s)
{
	if (!s->err && s->len > INT_MAX)
		s->err = -ENAMETOOLONG;
	if (s->err) {
		if (s->buf != NULL && s->cap > 0)
			s->buf[0] = '\0';
		return s->err;
	}
	s->buf[s->len] = '\0';
	return (int)s->len;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Visible ASCII: what may appear unencoded on a request line. */
static int is_visible(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* ASCII only: tolower() would follow the locale, and signing must not. */
static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[SIGV4_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(data != NULL ? data : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != SHA256_LEN)
		return -EIO;
	hex_encode(md, mdlen, out);
	return 0;
}

static int span_cmp(struct span a, struct span b)
{
	size_t n = a.n < b.n ? a.n : b.n;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	if (c)
		return c;
	return (a.n > b.n) - (a.n < b.n);
}

/* Case-insensitive on ASCII, so "Host" and "host" collide as AWS sees them. */
static int name_cmp(struct span a, struct span b)
{
	size_t n = a.n < b.n ? a.n : b.n;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = ascii_lower((unsigned char)a.p[i]);
		unsigned char y = ascii_lower((unsigned char)b.p[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return (a.n > b.n) - (a.n < b.n);
}

static int hdr_cmp(const void *a, const void *b)
{
	return name_cmp(((const struct kv *)a)->name, ((const struct kv *)b)->name);
}

static int qpair_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = span_cmp(x->name, y->name);

	return c ? c : span_cmp(x->value, y->value);
}

static int valid_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (!is_visible((unsigned char)*s))
			return 0;
	return 1;
}

/* Region, service and access key end up between '/' in the scope. */
static int valid_scope_part(const char *s)
{
	return valid_token(s) && strchr(s, '/') == NULL;
}

/* Path and query must arrive encoded: a raw space, byte >= 0x80 or '#'
 * means the caller skipped sigv4_uri_encode and S3 would reject the
 * signature with no hint why. */
static int valid_encoded(const char *s, int is_path)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!is_visible(c) || c == '#' || (is_path && c == '?'))
			return 0;
	}
	return 1;
}

static int valid_amz_date(const char *d)
{
	if (d == NULL)
		return 0;
	for (int i = 0; i < AMZ_DATE_LEN; i++) {
		char want = i == 8 ? 'T' : i == 15 ? 'Z' : 0;

		if (want ? d[i] != want : !(d[i] >= '0' && d[i] <= '9'))
			return 0;
	}
	return d[AMZ_DATE_LEN] == '\0';
}

static int validate_request(const struct sigv4_request *req)
{
	if (req == NULL || !valid_token(req->method) || !valid_token(req->payload_hash))
		return -EINVAL;
	if (req->path != NULL && req->path[0] != '\0' &&
	    (req->path[0] != '/' || !valid_encoded(req->path, 1)))
		return -EINVAL;
	if (req->query != NULL && !valid_encoded(req->query, 0))
		return -EINVAL;
	if (req->headers == NULL || req->nheaders == 0)
		return -EINVAL;
	return 0;
}

/* Trims blanks and rejects control bytes: a CR or LF would let a value
 * forge extra lines of the canonical request. */
static int header_value_span(const char *v, struct span *out)
{
	const char *end;

	if (v == NULL)
		return -EINVAL;
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	while (is_blank(*v))
		v++;
	end = v + strlen(v);
	while (end > v && is_blank(end[-1]))
		end--;
	out->p = v;
	out->n = (size_t)(end - v);
	return 0;
}

/* Validated, sorted copy of the request's headers; the caller frees it. */
static int sort_headers(const struct sigv4_request *req, struct kv **out)
{
	struct kv *h;
	size_t n = req->nheaders;

	*out = NULL;
	h = calloc(n, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *name = req->headers[i].name;

		if (!valid_token(name) || strchr(name, ':') != NULL ||
		    header_value_span(req->headers[i].value, &h[i].value)) {
			free(h);
			return -EINVAL;
		}
		h[i].name.p = name;
		h[i].name.n = strlen(name);
	}
	qsort(h, n, sizeof(*h), hdr_cmp);
	/* AWS would want duplicates joined with ','; the contract forbids them. */
	for (size_t i = 1; i < n; i++) {
		if (name_cmp(h[i - 1].name, h[i].name) == 0) {
			free(h);
			return -EINVAL;
		}
	}
	*out = h;
	return 0;
}

static const struct kv *find_header(const struct kv *h, size_t n, const char *lname)
{
	struct span want = { lname, strlen(lname) };

	for (size_t i = 0; i < n; i++)
		if (name_cmp(h[i].name, want) == 0)
			return &h[i];
	return NULL;
}

static void emit_lower(struct sink *s, struct span sp)
{
	char chunk[64];
	size_t used = 0;

	for (size_t i = 0; i < sp.n; i++) {
		chunk[used++] = (char)ascii_lower((unsigned char)sp.p[i]);
		if (used == sizeof(chunk)) {
			sink_put(s, chunk, used);
			used = 0;
		}
	}
	sink_put(s, chunk, used);
}

/* The span is trimmed already, so every blank run here is an inner one. */
static void emit_folded(struct sink *s, struct span v)
{
	size_t i = 0;

	while (i < v.n) {
		size_t start = i;

		while (i < v.n && !is_blank(v.p[i]))
			i++;
		sink_put(s, v.p + start, i - start);
		if (i < v.n) {
			sink_put(s, " ", 1);
			while (i < v.n && is_blank(v.p[i]))
				i++;
		}
	}
}

static void emit_signed_headers(struct sink *s, const struct kv *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sink_put(s, ";", 1);
		emit_lower(s, h[i].name);
	}
}

static void emit_query(struct sink *s, const char *q)
{
	struct kv *pairs;
	size_t max = 1, n = 0;
	const char *p = q;

	if (q == NULL || *q == '\0')
		return;
	for (const char *c = q; *c; c++)
		max += *c == '&';
	pairs = calloc(max, sizeof(*pairs));
	if (pairs == NULL) {
		sink_fail(s, -ENOMEM);
		return;
	}
	for (;;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		/* "a&&b" or a trailing '&' carry no parameter. */
		if (len > 0) {
			pairs[n].name.p = p;
			pairs[n].name.n = eq ? (size_t)(eq - p) : len;
			pairs[n].value.p = eq ? eq + 1 : p + len;
			pairs[n].value.n = eq ? len - (size_t)(eq - p) - 1 : 0;
			n++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	qsort(pairs, n, sizeof(*pairs), qpair_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sink_put(s, "&", 1);
		sink_span(s, pairs[i].name);
		/* A bare flag is signed as "flag=", as S3 computes it. */
		sink_put(s, "=", 1);
		sink_span(s, pairs[i].value);
	}
	free(pairs);
}

static void emit_canonical(struct sink *s, const struct sigv4_request *req, const struct kv *h,
			   size_t n)
{
	sink_str(s, req->method);
	sink_put(s, "\n", 1);
	sink_str(s, (req->path != NULL && req->path[0] != '\0') ? req->path : "/");
	sink_put(s, "\n", 1);
	emit_query(s, req->query);
	sink_put(s, "\n", 1);
	for (size_t i = 0; i < n; i++) {
		emit_lower(s, h[i].name);
		sink_put(s, ":", 1);
		emit_folded(s, h[i].value);
		sink_put(s, "\n", 1);
	}
	/* Each canonical header ends in '\n' and one more separates the block,
	 * hence the blank line AWS's examples show. */
	sink_put(s, "\n", 1);
	emit_signed_headers(s, h, n);
	sink_put(s, "\n", 1);
	sink_str(s, req->payload_hash);
}

static void emit_scope(struct sink *s, const char *amz_date, const char *region, const char *service)
{
	sink_put(s, amz_date, SCOPE_DATE_LEN);
	sink_put(s, "/", 1);
	sink_str(s, region);
	sink_put(s, "/", 1);
	sink_str(s, service);
	sink_put(s, "/" SIGV4_TERMINATOR, sizeof(SIGV4_TERMINATOR));
}

static void emit_string_to_sign(struct sink *s, const char *cr_hash, const char *amz_date,
				const char *region, const char *service)
{
	sink_str(s, SIGV4_ALGORITHM "\n");
	sink_str(s, amz_date);
	sink_put(s, "\n", 1);
	emit_scope(s, amz_date, region, service);
	sink_put(s, "\n", 1);
	sink_str(s, cr_hash);
}

void sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_SHA256_HEX_LEN + 1])
{
	/* Failure (allocation inside OpenSSL) leaves "", which no signer accepts
	 * as a hash, rather than a plausible-looking wrong one. */
	(void)sha256_hex(data, len, out);
}

int sigv4_uri_encode(const char *in, int keep_slash, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	struct sink s;

	sink_init_buf(&s, out, outlen);
	if (in == NULL)
		sink_fail(&s, -EINVAL);
	for (const unsigned char *p = (const unsigned char *)in; !s.err && *p; p++) {
		if (is_unreserved(*p) || (*p == '/' && keep_slash)) {
			sink_put(&s, (const char *)p, 1);
		} else {
			char esc[3] = { '%', digits[*p >> 4], digits[*p & 0x0f] };

			sink_put(&s, esc, sizeof(esc));
		}
	}
	return sink_finish(&s);
}

/* Zero-padded fixed width, where snprintf would trip -Wformat-truncation
 * and strftime's %Y does not pad years below 1000. */
static void put_digits(char *out, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void sigv4_format_date(long long epoch_seconds, char out[17])
{
	struct tm tm;
	time_t t = (time_t)epoch_seconds;

	out[0] = '\0';
	/* Beyond four-digit years the format cannot express the date; "" makes
	 * the signing functions refuse it instead of signing a wrong one. */
	if ((long long)t != epoch_seconds || gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900)
		return;
	put_digits(out, tm.tm_year + 1900, 4);
	put_digits(out + 4, tm.tm_mon + 1, 2);
	put_digits(out + 6, tm.tm_mday, 2);
	out[8] = 'T';
	put_digits(out + 9, tm.tm_hour, 2);
	put_digits(out + 11, tm.tm_min, 2);
	put_digits(out + 13, tm.tm_sec, 2);
	out[15] = 'Z';
	out[16] = '\0';
}

int sigv4_canonical_request(const struct sigv4_request *req, char *out, size_t outlen)
{
	struct sink s;
	struct kv *h = NULL;
	int rc;

	sink_init_buf(&s, out, outlen);
	rc = validate_request(req);
	if (!rc)
		rc = sort_headers(req, &h);
	if (rc)
		sink_fail(&s, rc);
	else
		emit_canonical(&s, req, h, req->nheaders);
	free(h);
	return sink_finish(&s);
}

int sigv4_string_to_sign(const char *canonical_request, const char *amz_date, const char *region,
			 const char *service, char *out, size_t outlen)
{
	struct sink s;
	char hash[SIGV4_SHA256_HEX_LEN + 1];
	int rc = 0;

	sink_init_buf(&s, out, outlen);
	if (canonical_request == NULL || !valid_amz_date(amz_date) || !valid_scope_part(region) ||
	    !valid_scope_part(service))
		rc = -EINVAL;
	if (!rc)
		rc = sha256_hex(canonical_request, strlen(canonical_request), hash);
	if (rc)
		sink_fail(&s, rc);
	else
		emit_string_to_sign(&s, hash, amz_date, region, service);
	return sink_finish(&s);
}

static int canonical_request_hash(const struct sigv4_request *req, const struct kv *h, size_t n,
				  char out[SIGV4_SHA256_HEX_LEN + 1])
{
	struct sink s;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	memset(&s, 0, sizeof(s));
	s.md = EVP_MD_CTX_new();
	if (s.md == NULL)
		return -ENOMEM;
	if (EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1)
		s.err = -EIO;
	emit_canonical(&s, req, h, n);
	if (!s.err && (EVP_DigestFinal_ex(s.md, md, &mdlen) != 1 || mdlen != SHA256_LEN))
		s.err = -EIO;
	EVP_MD_CTX_free(s.md);
	if (!s.err)
		hex_encode(md, mdlen, out);
	return s.err;
}

/* kSigning = HMAC chain over date, region, service, "aws4_request", then
 * the signature over the string to sign. Key material is wiped on return. */
static int compute_signature(const struct sigv4_credentials *cred, const char *amz_date,
			     const char *sts, size_t sts_len, char sig[SIGV4_SHA256_HEX_LEN + 1])
{
	unsigned char secret[4 + SECRET_MAX];
	unsigned char key[2][EVP_MAX_MD_SIZE];
	unsigned int keylen = 0;
	size_t slen = strlen(cred->secret_key);
	const char *const parts[] = { amz_date, cred->region, cred->service, SIGV4_TERMINATOR };
	const size_t part_len[] = { SCOPE_DATE_LEN, strlen(cred->region), strlen(cred->service),
				    strlen(SIGV4_TERMINATOR) };
	int cur = 0, rc = -EIO;

	if (slen > SECRET_MAX)
		return -ENAMETOOLONG;
	memcpy(secret, "AWS4", 4);
	memcpy(secret + 4, cred->secret_key, slen);
	if (HMAC(EVP_sha256(), secret, (int)(slen + 4), (const unsigned char *)parts[0],
		 part_len[0], key[cur], &keylen) == NULL)
		goto out;
	/* Ping-pong between two buffers: HMAC() does not promise that its key
	 * and output may alias. */
	for (size_t i = 1; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (HMAC(EVP_sha256(), key[cur], (int)keylen, (const unsigned char *)parts[i],
			 part_len[i], key[!cur], &keylen) == NULL)
			goto out;
		cur = !cur;
	}
	if (HMAC(EVP_sha256(), key[cur], (int)keylen, (const unsigned char *)sts, sts_len,
		 key[!cur], &keylen) == NULL ||
	    keylen != SHA256_LEN)
		goto out;
	hex_encode(key[!cur], keylen, sig);
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* The signature of a canonical request's hash: the string to sign, then
 * compute_signature. */
static int sign_hash(const struct sigv4_credentials *cred, const char *amz_date,
		     const char *cr_hash, char sig[SIGV4_SHA256_HEX_LEN + 1])
{
	char sts_buf[STRING_TO_SIGN_MAX];
	struct sink sts;
	int sts_len;

	sink_init_buf(&sts, sts_buf, sizeof(sts_buf));
	emit_string_to_sign(&sts, cr_hash, amz_date, cred->region, cred->service);
	sts_len = sink_finish(&sts);
	return sts_len < 0 ? sts_len
			   : compute_signature(cred, amz_date, sts_buf, (size_t)sts_len, sig);
}

/* S3 needs host and x-amz-date signed, and the date signed must be the one
 * in the scope, or the request fails as SignatureDoesNotMatch. */
static int check_required_headers(const struct kv *h, size_t n, const char *amz_date)
{
	const struct kv *date = find_header(h, n, "x-amz-date");

	if (find_header(h, n, "host") == NULL || date == NULL)
		return -EINVAL;
	if (span_cmp(date->value, (struct span){ amz_date, strlen(amz_date) }) != 0)
		return -EINVAL;
	return 0;
}

int sigv4_authorization(const struct sigv4_request *req, const char *amz_date,
			const struct sigv4_credentials *cred, char *out, size_t outlen,
			char *sig_out)
{
	struct sink s;
	struct kv *h = NULL;
	char cr_hash[SIGV4_SHA256_HEX_LEN + 1];
	char sig[SIGV4_SHA256_HEX_LEN + 1];
	int rc;

	if (sig_out != NULL)
		sig_out[0] = '\0';
	sink_init_buf(&s, out, outlen);
	rc = validate_request(req);
	if (!rc &&
	    (cred == NULL || !valid_scope_part(cred->access_key) || cred->secret_key == NULL ||
	     cred->secret_key[0] == '\0' || !valid_scope_part(cred->region) ||
	     !valid_scope_part(cred->service) || !valid_amz_date(amz_date)))
		rc = -EINVAL;
	if (!rc)
		rc = sort_headers(req, &h);
	if (!rc)
		rc = check_required_headers(h, req->nheaders, amz_date);
	if (!rc)
		rc = canonical_request_hash(req, h, req->nheaders, cr_hash);
	if (!rc)
		rc = sign_hash(cred, amz_date, cr_hash, sig);
	if (rc) {
		sink_fail(&s, rc);
	} else {
		sink_str(&s, SIGV4_ALGORITHM " Credential=");
		sink_str(&s, cred->access_key);
		sink_put(&s, "/", 1);
		emit_scope(&s, amz_date, cred->region, cred->service);
		sink_str(&s, ", SignedHeaders=");
		emit_signed_headers(&s, h, req->nheaders);
		sink_str(&s, ", Signature=");
		sink_str(&s, sig);
	}
	free(h);
	rc = sink_finish(&s);
	if (rc >= 0 && sig_out != NULL)
		memcpy(sig_out, sig, sizeof(sig));
	return rc;
}

int sigv4_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sigv4_presign(const struct sigv4_presign_request *p, const struct sigv4_credentials *cred,
		  char *out, size_t outlen)
{
	struct sigv4_header host;
	struct sigv4_request req;
	struct sink q;
	struct kv *h = NULL;
	char amz_date[17], num[24], cr_hash[SIGV4_SHA256_HEX_LEN + 1];
	char sig[SIGV4_SHA256_HEX_LEN + 1];
	char scope[256], enc[3 * sizeof(scope)];
	char *tok = NULL;
	int rc = 0, n;

	sink_init_buf(&q, out, outlen);
	if (p == NULL || p->method == NULL || p->host == NULL || !*p->host || p->path == NULL ||
	    p->path[0] != '/' || p->expires_s < SIGV4_PRESIGN_MIN_S ||
	    p->expires_s > SIGV4_PRESIGN_MAX_S || cred == NULL ||
	    !valid_scope_part(cred->access_key) || cred->secret_key == NULL ||
	    !cred->secret_key[0] || !valid_scope_part(cred->region) ||
	    !valid_scope_part(cred->service) || p->now < 0)
		rc = -EINVAL;
	if (!rc) {
		sigv4_format_date(p->now, amz_date);
		n = snprintf(scope, sizeof(scope), "%s/%.8s/%s/%s/aws4_request", cred->access_key,
			     amz_date, cred->region, cred->service);
		if (n < 0 || (size_t)n >= sizeof(scope) ||
		    sigv4_uri_encode(scope, 0, enc, sizeof(enc)) < 0)
			rc = -ENAMETOOLONG;
	}
	if (!rc && p->session_token && *p->session_token) {
		size_t cap = strlen(p->session_token) * 3 + 1;
		tok = malloc(cap);
		if (!tok)
			rc = -ENOMEM;
		else if (sigv4_uri_encode(p->session_token, 0, tok, cap) < 0)
			rc = -ENAMETOOLONG;
	}
	/* The query without the signature is what is signed (the canonical
	 * form sorts it); the signature is appended last. */
	if (rc) {
		sink_fail(&q, rc);
	} else {
		if (p->extra_query && *p->extra_query) {
			sink_str(&q, p->extra_query);
			sink_put(&q, "&", 1);
		}
		sink_str(&q, "X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=");
		sink_str(&q, enc);
		sink_str(&q, "&X-Amz-Date=");
		sink_str(&q, amz_date);
		snprintf(num, sizeof(num), "%ld", p->expires_s);
		sink_str(&q, "&X-Amz-Expires=");
		sink_str(&q, num);
		if (tok) {
			sink_str(&q, "&X-Amz-Security-Token=");
			sink_str(&q, tok);
		}
		sink_str(&q, "&X-Amz-SignedHeaders=host");
	}
	rc = q.err;
	if (!rc) {
		out[q.len] = '\0';
		host = (struct sigv4_header){ "host", p->host };
		req = (struct sigv4_request){ p->method, p->path, out,
					      &host,     1,       SIGV4_UNSIGNED_PAYLOAD };
		rc = validate_request(&req);
	}
	if (!rc)
		rc = sort_headers(&req, &h);
	if (!rc)
		rc = canonical_request_hash(&req, h, 1, cr_hash);
	if (!rc)
		rc = sign_hash(cred, amz_date, cr_hash, sig);
	if (rc) {
		sink_fail(&q, rc);
	} else {
		sink_str(&q, "&X-Amz-Signature=");
		sink_str(&q, sig);
	}
	free(h);
	free(tok);
	return sink_finish(&q);
}
