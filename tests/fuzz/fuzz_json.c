/* fuzz_json.c - libFuzzer harness for the JSON reader (src/json.h) and the
 * credential documents read with it: the metadata services' (imds.h) and
 * credential_process output (creds_process.h). The input is a document as
 * it came off the wire or out of a pipe.
 *
 * Checks, beyond "no crash, no leak, no sanitizer report": return codes
 * from the documented set; picked values NUL-terminated inside their
 * buffers (heap blocks of exactly the size passed, so ASan sees a write
 * one byte past the end); on failure the credentials are wiped. Build:
 * make fuzz. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds_process.h"
#include "imds.h"
#include "json.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

static int wiped(const struct s3_creds *c)
{
	return !c->access_key[0] && !c->secret_key[0] && !c->session_token[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "AccessKeyId", "Expiration",
					     "roleCredentials.expiration", "a.b.c" };
	static const size_t caps[] = { 1, 8, 24, 300 };
	struct json_field f[4];
	const char *why = NULL;
	char *doc = malloc(size ? size : 1), err[512];
	struct s3_creds *c = malloc(sizeof(*c));
	int rc;

	if (!doc || !c)
		abort();
	memcpy(doc, data, size);
	for (size_t i = 0; i < 4; i++)
		f[i] = (struct json_field){ paths[i], malloc(caps[i]), caps[i], 0 };
	rc = json_get_fields(doc, size, f, 4, &why);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
	CHECK(rc == 0 || why != NULL);
	for (size_t i = 0; i < 4; i++) {
		if (rc == 0 && f[i].type != JSON_ABSENT)
			CHECK(memchr(f[i].out, '\0', f[i].cap) != NULL);
		free(f[i].out);
	}
	rc = imds_parse_credentials(doc, size, c, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL || rc == -EACCES);
	CHECK(rc == 0 ? c->access_key[0] && c->expires > 0 : wiped(c));
	CHECK(memchr(err, '\0', sizeof(err)) != NULL || rc == 0);
	rc = process_parse_output(doc, size, c, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(rc == 0 ? c->access_key[0] && c->secret_key[0] : wiped(c));
	free(c);
	free(doc);
	return 0;
}
