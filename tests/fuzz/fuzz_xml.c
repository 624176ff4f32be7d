/* fuzz_xml.c - libFuzzer harness for every S3 XML response parser
 * (src/s3_xml.h). The input is a response body as it came off the wire.
 *
 * Checks, beyond "no crash, no leak, no sanitizer report": every result
 * honours its contract (return codes from the documented set, strings
 * NUL-terminated inside their fields, keys non-empty and at most
 * S3_KEY_MAX bytes, "" left in output buffers on failure) and output buffers are heap blocks of exactly the size
 * passed, so ASan sees a write one byte past the end. Build: make fuzz. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3_xml.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* NUL within the first size bytes of buf. */
static int terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

static int rc_in(int rc, int a, int b, int c)
{
	return rc == a || rc == b || rc == c;
}

static void check_error(const struct s3_error *e)
{
	CHECK(terminated(e->code, sizeof(e->code)));
	CHECK(terminated(e->message, sizeof(e->message)));
	CHECK(terminated(e->request_id, sizeof(e->request_id)));
}

static void fuzz_error(const char *data, size_t size)
{
	struct s3_error *e = malloc(sizeof(*e));
	int rc;

	CHECK(e);
	rc = s3xml_parse_error(data, size, e);
	CHECK(rc_in(rc, 0, -ENOENT, -EPROTO) || rc == -ENOMEM);
	check_error(e);
	free(e);
	/* out may be NULL (only the classification is wanted). */
	CHECK(s3xml_parse_error(data, size, NULL) == rc);
}

static void fuzz_list_objects(const char *data, size_t size)
{
	struct s3_list_result *r = malloc(sizeof(*r));
	int rc;

	CHECK(r);
	rc = s3xml_parse_list_objects(data, size, r);
	CHECK(rc <= 0);
	if (rc == 0) {
		CHECK(r->nobjects == 0 || r->objects != NULL);
		CHECK(r->nprefixes == 0 || r->prefixes != NULL);
		CHECK(terminated(r->next_token, sizeof(r->next_token)));
		for (size_t i = 0; i < r->nobjects; i++) {
			const struct s3_object_entry *o = &r->objects[i];

			CHECK(o->key != NULL);
			CHECK(o->key[0] != '\0'); /* S3 keys are never empty */
			CHECK(strlen(o->key) <= S3_KEY_MAX);
			CHECK(terminated(o->etag, sizeof(o->etag)));
			CHECK(terminated(o->storage_class, sizeof(o->storage_class)));
		}
		for (size_t i = 0; i < r->nprefixes; i++) {
			CHECK(r->prefixes[i] != NULL);
			CHECK(strlen(r->prefixes[i]) <= S3_KEY_MAX);
		}
	}
	/* Free must be safe after success and after failure alike. */
	s3xml_list_result_free(r);
	free(r);
}

static void fuzz_initiate(const char *data, size_t size)
{
	/* The real size and a small one, to exercise "does not fit". */
	static const size_t lens[] = { S3_UPLOAD_ID_MAX, 8, 1 };

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		char *id = malloc(lens[k]);
		int rc;

		CHECK(id);
		memset(id, 'X', lens[k]);
		rc = s3xml_parse_initiate_mpu(data, size, id, lens[k]);
		CHECK(rc <= 0);
		/* "" on failure, never a half-copied id. */
		CHECK(terminated(id, lens[k]));
		CHECK((rc == 0) == (id[0] != '\0'));
		free(id);
	}
}

typedef int (*etag_parser)(const char *, size_t, char *, size_t, struct s3_error *);

static void fuzz_etag_result(etag_parser parse, const char *data, size_t size)
{
	static const size_t lens[] = { S3_ETAG_MAX, 8, 1 };

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		char *etag = malloc(lens[k]);
		struct s3_error *err = malloc(sizeof(*err));
		int rc;

		CHECK(etag && err);
		memset(etag, 'X', lens[k]);
		memset(err, 'X', sizeof(*err));
		rc = parse(data, size, etag, lens[k], err);
		CHECK(rc == 0 || rc == -EIO || rc == -EPROTO || rc == -ENOMEM);
		/* Filled on success ("" allowed: RGW's empty <ETag/>), "" on
		 * any failure. */
		CHECK(terminated(etag, lens[k]));
		CHECK(rc == 0 || etag[0] == '\0');
		if (rc == -EIO)
			check_error(err);
		free(etag);
		free(err);
	}
}

static void fuzz_list_mpu(const char *data, size_t size)
{
	struct s3_mpu_list *l = malloc(sizeof(*l));
	int rc;

	CHECK(l);
	rc = s3xml_parse_list_mpu(data, size, l);
	CHECK(rc <= 0);
	if (rc == 0) {
		CHECK(l->nuploads == 0 || l->uploads != NULL);
		CHECK(terminated(l->next_key_marker, sizeof(l->next_key_marker)));
		CHECK(terminated(l->next_upload_id_marker, sizeof(l->next_upload_id_marker)));
		for (size_t i = 0; i < l->nuploads; i++) {
			CHECK(l->uploads[i].key != NULL);
			CHECK(strlen(l->uploads[i].key) <= S3_KEY_MAX);
			CHECK(l->uploads[i].upload_id != NULL);
			CHECK(strlen(l->uploads[i].upload_id) < S3_UPLOAD_ID_MAX);
		}
	}
	s3xml_mpu_list_free(l);
	free(l);
}

static void fuzz_iso8601(const char *data, size_t size)
{
	char *s = malloc(size + 1);
	time_t t;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	t = s3xml_parse_iso8601(s);
	if (t != (time_t)-1) {
		/* Only the strict shape is accepted, with real calendar fields:
		 * the wall time (the instant shifted by the offset written after
		 * the seconds, if any) must print back to the same first 19
		 * characters. */
		struct tm tm;
		char back[64];
		const char *z = s + 19;
		time_t wall = t;

		CHECK(t >= 0);
		if (*z == '.') {
			z++;
			while (*z >= '0' && *z <= '9')
				z++;
		}
		CHECK(*z == 'Z' || *z == '+' || *z == '-');
		if (*z != 'Z') {
			long off = ((z[1] - '0') * 10 + (z[2] - '0')) * 3600L +
				   ((z[4] - '0') * 10 + (z[5] - '0')) * 60L;

			wall = *z == '+' ? t + off : t - off;
		}
		CHECK(gmtime_r(&wall, &tm) != NULL);
		CHECK(strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%S", &tm) == 19);
		CHECK(strncmp(back, s, 19) == 0);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;

	fuzz_error(body, size);
	fuzz_list_objects(body, size);
	fuzz_initiate(body, size);
	fuzz_etag_result(s3xml_parse_complete_mpu, body, size);
	fuzz_etag_result(s3xml_parse_copy_result, body, size);
	fuzz_list_mpu(body, size);
	fuzz_iso8601(body, size);
	return 0;
}
