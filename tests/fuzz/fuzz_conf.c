/* fuzz_conf.c - libFuzzer harness for the configuration file parser
 * (src/conf.h): the input is written to a private temporary file (mode
 * 600, so the secret-permission check passes and the rest is reached) and
 * loaded with config_load; the value parsers config_parse_size,
 * config_parse_duration_ms and config_parse_bool get it as a C string.
 *
 * Checks, beyond "no crash, no leak, no sanitizer report": config_load
 * returns 0 with a usable struct (buckets, a default inside them, key
 * prefixes ending in '/') or -1 with a non-empty one-line message; the
 * value parsers only answer their documented values. Build: make fuzz. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

static char conf_path[4096];
static int conf_fd = -1;

static void cleanup(void)
{
	if (conf_fd >= 0) {
		close(conf_fd);
		unlink(conf_path);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	/* Warnings (insecure = true, ...) would flood the fuzzer's output. */
	log_init(1, LOG_LVL_ERROR);
	log_set_level(LOG_LVL_ERROR);
	snprintf(conf_path, sizeof(conf_path), "%s/fuzz_conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	conf_fd = mkstemp(conf_path); /* 0600 */
	if (conf_fd < 0) {
		perror("fuzz_conf: mkstemp");
		abort();
	}
	atexit(cleanup);
	return 0;
}

static void write_conf(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (ftruncate(conf_fd, 0) < 0)
		abort();
	while (off < size) {
		ssize_t n = pwrite(conf_fd, data + off, size - off, (off_t)off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
}

static void check_loaded(const struct config *cfg)
{
	CHECK(cfg->path != NULL);
	CHECK(cfg->cache_dir != NULL && cfg->cache_dir[0] == '/');
	CHECK(cfg->nbuckets > 0 && cfg->buckets != NULL);
	CHECK(cfg->default_bucket >= 0 && (size_t)cfg->default_bucket < cfg->nbuckets);
	CHECK(cfg->buckets[cfg->default_bucket].is_default);
	CHECK(cfg->part_size >= 5LL * 1024 * 1024);
	CHECK(cfg->upload_threads > 0);
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		const struct bucket_conf *b = &cfg->buckets[i];
		size_t pl;

		CHECK(b->id != NULL && b->name != NULL && b->name[0] != '\0');
		CHECK(b->key_prefix != NULL);
		pl = strlen(b->key_prefix);
		CHECK(pl == 0 || (b->key_prefix[pl - 1] == '/' && b->key_prefix[0] != '/'));
		CHECK(b->npaths == 0 || b->paths != NULL);
		for (size_t k = 0; k < b->npaths; k++)
			CHECK(b->paths[k] != NULL && b->paths[k][0] != '\0');
		CHECK(!b->from_date || !b->until_date || b->from_date < b->until_date);
		CHECK(b->conn.endpoint != NULL);
		CHECK(b->conn.region != NULL);
	}
}

static void fuzz_load(const uint8_t *data, size_t size)
{
	struct config cfg;
	char *err = malloc(512);
	int rc;

	CHECK(err);
	write_conf(data, size);
	memset(&cfg, 0xA5, sizeof(cfg)); /* config_load must not trust *out */
	rc = config_load(conf_path, &cfg, err, 512);
	CHECK(rc == 0 || rc == -1);
	CHECK(memchr(err, '\0', 512) != NULL);
	if (rc == 0) {
		check_loaded(&cfg);
	} else {
		CHECK(err[0] != '\0');
		CHECK(strchr(err, '\n') == NULL); /* one line */
	}
	config_free(&cfg);
	config_free(&cfg); /* it zeroes the struct: a second call is harmless */
	free(err);
}

static void fuzz_values(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	long long v;
	int rc, b;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';

	v = -12345;
	rc = config_parse_size(s, &v);
	CHECK(rc <= 0);
	if (rc == 0)
		CHECK(v >= 0);

	v = -12345;
	rc = config_parse_duration_ms(s, &v);
	CHECK(rc <= 0);
	if (rc == 0)
		CHECK(v >= 0);

	b = config_parse_bool(s);
	CHECK(b == 0 || b == 1 || b == -1);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_load(data, size);
	fuzz_values(data, size);
	return 0;
}
