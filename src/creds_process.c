/* creds_process.c - credential_process. See creds_process.h. */
#define _GNU_SOURCE /* pipe2 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds_process.h"
#include "json.h"
#include "s3_xml.h"

#define OUT_MAX 65536
#define RUN_MAX_MS 30000

extern char **environ;

struct process_source {
	char profile[128];
	char command[4096];
};

struct process_source *process_new(const char *profile, const char *command, char *err, size_t errlen)
{
	struct process_source *p;

	if (!command || !*command || strlen(command) >= sizeof(p->command)) {
		snprintf(err, errlen, "profile %s: credential_process is empty or too long",
			 profile);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(p->profile, sizeof(p->profile), "%s", profile);
	snprintf(p->command, sizeof(p->command), "%s", command);
	return p;
}

void process_free(void *src)
{
	free(src);
}

void process_describe(const struct process_source *p, char *desc, size_t desclen)
{
	snprintf(desc, desclen, "credential_process of profile %s", p->profile);
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int process_parse_output(const char *json, size_t len, struct s3_creds *out, char *err,
			 size_t errlen)
{
	char version[16], exp[64];
	struct json_field f[] = {
		{ "Version", version, sizeof(version), 0 },
		{ "AccessKeyId", out->access_key, sizeof(out->access_key), 0 },
		{ "SecretAccessKey", out->secret_key, sizeof(out->secret_key), 0 },
		{ "SessionToken", out->session_token, sizeof(out->session_token), 0 },
		{ "Expiration", exp, sizeof(exp), 0 },
	};
	const char *why = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = json_get_fields(json, len, f, sizeof(f) / sizeof(f[0]), &why);
	if (rc == -E2BIG)
		why = "a value too long";
	else if (rc == 0 && (f[0].type != JSON_NUMBER || strcmp(version, "1") != 0))
		why = "no \"Version\": 1";
	else if (rc == 0 && (f[1].type != JSON_STRING || f[2].type != JSON_STRING ||
			     !out->access_key[0] || !out->secret_key[0]))
		why = "no AccessKeyId and SecretAccessKey strings";
	else if (rc == 0 &&
		 (!printable(out->access_key) || !printable(out->secret_key) ||
		  (f[3].type && (f[3].type != JSON_STRING || !printable(out->session_token)))))
		why = "a key or token with characters a header cannot carry";
	else if (rc == 0 && f[4].type &&
		 (f[4].type != JSON_STRING ||
		  (out->expires = s3xml_parse_iso8601(exp)) == (time_t)-1))
		why = "an Expiration that is not ISO 8601 like 2026-11-25T12:00:00Z";
	else if (rc == 0)
		return 0;
	snprintf(err, errlen, "%s", why ? why : "not JSON");
	explicit_bzero(out, sizeof(*out));
	return -EINVAL;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Runs the command; its stdout into buf (at most cap - 1 bytes). */
static int run(const struct process_source *p, char *buf, size_t cap, size_t *len, char *err,
	       size_t errlen)
{
	char *argv[] = { "/bin/sh", "-c", (char *)p->command, NULL };
	posix_spawn_file_actions_t fa;
	struct timespec t0;
	int fds[2], status = 0, rc = 0, too_long = 0, timed_out = 0;
	pid_t pid;

	*len = 0;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "profile %s: credential_process: pipe: %s", p->profile,
			 strerror(errno));
		return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		snprintf(err, errlen, "profile %s: credential_process cannot be started (%s)",
			 p->profile, strerror(rc));
		return -rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = RUN_MAX_MS - ms_since(&t0);
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			timed_out = n == 0;
			break;
		}
		ssize_t r = read(fds[0], buf + *len, cap - 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
		if (*len >= cap - 1) {
			too_long = 1;
			break;
		}
	}
	close(fds[0]);
	buf[*len] = '\0';
	if (timed_out || too_long)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		snprintf(err, errlen,
			 "profile %s: credential_process did not finish within %d s; fix or speed "
			 "up the command",
			 p->profile, RUN_MAX_MS / 1000);
		return -ETIMEDOUT;
	}
	if (too_long) {
		snprintf(err, errlen, "profile %s: credential_process printed more than %d bytes",
			 p->profile, OUT_MAX);
		return -EMSGSIZE;
	}
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "profile %s: credential_process was killed by signal %d",
			 p->profile, WTERMSIG(status));
		return -EIO;
	}
	if (WEXITSTATUS(status) != 0) {
		snprintf(err, errlen,
			 "profile %s: credential_process exited with status %d; run the command "
			 "by hand (its own messages are on stderr) and fix it",
			 p->profile, WEXITSTATUS(status));
		return -EIO;
	}
	return 0;
}

int process_fetch(void *src, struct s3_creds *out, char *err, size_t errlen)
{
	struct process_source *p = src;
	char *buf = malloc(OUT_MAX + 1), why[200];
	size_t len;
	int rc;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = run(p, buf, OUT_MAX + 1, &len, err, errlen);
	if (rc == 0 && (rc = process_parse_output(buf, len, out, why, sizeof(why))) < 0)
		snprintf(err, errlen,
			 "profile %s: credential_process printed unusable output (%s); it must "
			 "print {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ..., "
			 "\"SessionToken\": ..., \"Expiration\": ...}",
			 p->profile, why);
	explicit_bzero(buf, OUT_MAX + 1);
	free(buf);
	return rc;
}
