#!/usr/bin/env bash
# test_reaper.sh - the reaper (issue "The reaper"): stale multipart uploads
# are found and aborted, young ones, other prefixes and the daemon's own
# uploads in progress are left alone, --dry-run aborts nothing, and
# pagination finds every upload.
#
# Runs against the local S3 server that scripts/s3-server started (the env
# file in $S3CSFS_TESTBED; the test fails without it). Uses s3tool ($S3TOOL)
# and `s3csfs reap` ($S3CSFS). The cases that need a mount (a daemon killed
# with -9 mid-upload; an upload in progress through the mount) run only
# with S3CSFS_MOUNT_TESTS=1 and a daemon that answers --version.
#
# Environment: S3CSFS, S3TOOL, S3CSFS_TESTBED, S3CSFS_MOUNT_TESTS,
# REAPER_MAX_AGE (seconds, default 4).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

BUCKET=reaper-test-$$
MAXAGE=${REAPER_MAX_AGE:-4}
REAP_TIMEOUT=120

# write_reaper_conf FILE ENDPOINT PREFIX [extra [general] lines...]
write_reaper_conf() {
	local f=$1 ep=$2 prefix=$3 l
	shift 3
	{
		echo "[general]"
		echo "cache_dir = $WORK/cache"
		for l in "$@"; do echo "$l"; done
		echo "[s3]"
		echo "profile = onprem"
		echo "endpoint = $ep"
		echo "region = $S3_REGION"
		echo "access_key = $S3_ACCESS_KEY"
		echo "secret_key = $S3_SECRET_KEY"
		echo "[bucket:main]"
		echo "name = $BUCKET"
		echo "default = true"
		echo "key_prefix = $prefix"
	} > "$f"
	chmod 600 "$f"
}

# reap NAME CONF [args...]: runs `s3csfs reap`, output in $WORK/NAME.out
# (stdout) and $WORK/NAME.err; sets REAP_RC.
reap() {
	local name=$1 conf=$2
	shift 2
	timeout "$REAP_TIMEOUT" "$S3CSFS" reap -o "conf=$conf" "$@" \
		> "$WORK/$name.out" 2> "$WORK/$name.err"
	REAP_RC=$?
	if [ "$REAP_RC" -ne 0 ]; then
		echo "# s3csfs reap $* exited $REAP_RC; stderr:"
		sed 's/^/#   /' "$WORK/$name.err" | tail -10
	fi
}

# "BUCKET KEY UPLOAD_ID" of each abort line (or would-abort line), sorted.
aborted_of() { awk '$1 == "abort" { print $2, $3, $4 }' "$1" | sort; }
would_abort_of() { awk '$1 == "would" && $2 == "abort" { print $3, $4, $5 }' "$1" | sort; }
summary_of() { grep '^reap: ' "$1"; }

# "KEY UPLOAD_ID" of the uploads under PREFIX, sorted (all pages).
mpu_ls() { s3 mpu-ls "$BUCKET" "$1" 2> /dev/null | awk '{ print $1, $2 }' | sort; }

# mpu_new KEY: starts an upload, appends "KEY UPLOAD_ID" to $WORK/created.
mpu_new() {
	local id
	id=$(s3 mpu-create "$BUCKET" "$1") && [ -n "$id" ] || return 1
	echo "$1 $id" >> "$WORK/created"
}

wait_until() { # wait_until EPOCH (bounded by construction)
	local now
	now=$(date +%s)
	[ "$now" -lt "$1" ] && sleep $(($1 - now))
	return 0
}

# shellcheck disable=SC2329,SC2317
on_exit() {
	drop_bucket "$BUCKET" > /dev/null 2>&1
	cleanup
}
trap on_exit EXIT

new_bucket "$BUCKET"
# shellcheck disable=SC2119
start_proxy
if [ "${PROXY_URL:-http://127.0.0.1:}" = "http://127.0.0.1:" ]; then
	not_ok "counting proxy started"
	finish
fi
write_reaper_conf "$WORK/reap.conf" "$PROXY_URL" reap/
write_reaper_conf "$WORK/page.conf" "$PROXY_URL" page/

echo "# stale uploads: 3 under reap/, 2 under other/, 60 under page/ (20 keys x 3)"
: > "$WORK/created"
made=0
for k in reap/2026/11/25/13/7/a.bin reap/2026/11/25/13/7/b.bin reap/2026/11/25/13/8/a.bin \
	other/2026/11/25/13/7/a.bin other/2026/11/25/13/7/b.bin; do
	mpu_new "$k" && made=$((made + 1))
done
for _ in 1 2 3; do
	for i in $(seq -w 1 20); do
		mpu_new "page/2026/11/25/14/$i/f.bin" && made=$((made + 1))
	done
done
check_eq "65 uploads started with s3tool" 65 "$made"
stale_done=$(date +%s)
grep '^reap/' "$WORK/created" | sort > "$WORK/stale.reap"
grep '^other/' "$WORK/created" | sort > "$WORK/stale.other"
grep '^page/' "$WORK/created" | sort > "$WORK/stale.page"

# Older than the max age by at least a second (Initiated has 1 s resolution).
wait_until $((stale_done + MAXAGE + 2))
echo "# young uploads: 2 under reap/"
: > "$WORK/created"
mpu_new reap/2026/11/25/15/0/young1.bin
mpu_new reap/2026/11/25/15/0/young2.bin
sort "$WORK/created" > "$WORK/young.reap"
check_eq "2 young uploads started" 2 "$(wc -l < "$WORK/young.reap")"
young_done=$(date +%s)

echo "# --dry-run"
proxy_reset
reap dry "$WORK/reap.conf" --dry-run "--max-age=${MAXAGE}s"
check_eq "dry run exits 0" 0 "$REAP_RC"
check_eq "dry run aborts nothing (AbortMultipartUpload requests)" 0 "$(proxy_op AbortMultipartUpload)"
sed "s/^/$BUCKET /" "$WORK/stale.reap" > "$WORK/expect.reap"
check_eq "dry run lists exactly the 3 stale uploads under reap/" \
	"$(cat "$WORK/expect.reap")" "$(would_abort_of "$WORK/dry.out")"
check_eq "dry run prints no 'abort' lines" "" "$(aborted_of "$WORK/dry.out")"
check_eq "dry run summary" \
	"reap: 5 uploads listed, 3 would abort, 2 younger than max age, 0 active, 0 failed" \
	"$(summary_of "$WORK/dry.out")"
check "report lines carry an age as HhMMmSSs" \
	grep -Eq "^would abort $BUCKET reap/2026/11/25/13/7/a\.bin [^ ]+ age=[0-9]+h[0-5][0-9]m[0-5][0-9]s$" \
	"$WORK/dry.out"
check_eq "after the dry run every upload under reap/ is still there" \
	"$(sort "$WORK/stale.reap" "$WORK/young.reap")" "$(mpu_ls reap/)"

echo "# the real run"
proxy_reset
reap real "$WORK/reap.conf" "--max-age=${MAXAGE}s"
check_eq "reap exits 0" 0 "$REAP_RC"
check_eq "the 3 stale uploads under reap/ are reported aborted" \
	"$(cat "$WORK/expect.reap")" "$(aborted_of "$WORK/real.out")"
check_eq "the dry run printed the same list as the real run" \
	"$(would_abort_of "$WORK/dry.out")" "$(aborted_of "$WORK/real.out")"
check_eq "3 AbortMultipartUpload requests" 3 "$(proxy_op AbortMultipartUpload)"
check_eq "reap summary" \
	"reap: 5 uploads listed, 3 aborted, 2 younger than max age, 0 active, 0 failed" \
	"$(summary_of "$WORK/real.out")"
check_eq "only the young uploads remain under reap/" "$(cat "$WORK/young.reap")" "$(mpu_ls reap/)"
check_eq "uploads under another prefix are left alone" "$(cat "$WORK/stale.other")" "$(mpu_ls other/)"

echo "# pagination: 60 stale uploads, pages of 7"
check "the server pages mpu-ls at 7 (sanity)" \
	grep -Eq '^s3tool: (9|[1-9][0-9]+) pages' \
	<(s3 mpu-ls "$BUCKET" page/ --max-uploads 7 2>&1 > /dev/null)
proxy_reset
S3CSFS_REAPER_PAGE_SIZE=7 reap pdry "$WORK/page.conf" --dry-run "--max-age=${MAXAGE}s"
check_eq "paged dry run exits 0" 0 "$REAP_RC"
check_le "paged dry run: at least 9 ListMultipartUploads pages" \
	"$(proxy_op ListMultipartUploads)" 9
sed "s/^/$BUCKET /" "$WORK/stale.page" > "$WORK/expect.page"
check_eq "paged dry run finds all 60" "$(cat "$WORK/expect.page")" "$(would_abort_of "$WORK/pdry.out")"
check_eq "paged dry run aborts nothing" 0 "$(proxy_op AbortMultipartUpload)"
S3CSFS_REAPER_PAGE_SIZE=7 reap preal "$WORK/page.conf" "--max-age=${MAXAGE}s"
check_eq "paged reap exits 0" 0 "$REAP_RC"
check_eq "paged reap aborts all 60" "$(cat "$WORK/expect.page")" "$(aborted_of "$WORK/preal.out")"
check_eq "paged reap summary" \
	"reap: 60 uploads listed, 60 aborted, 0 younger than max age, 0 active, 0 failed" \
	"$(summary_of "$WORK/preal.out")"
check_eq "ListMultipartUploads under page/ is empty afterwards" "" "$(mpu_ls page/)"

echo "# the young uploads, once older than the max age"
wait_until $((young_done + MAXAGE + 2))
reap late "$WORK/reap.conf" "--max-age=${MAXAGE}s"
check_eq "reap exits 0" 0 "$REAP_RC"
check_eq "the formerly young uploads are aborted" \
	"$(sed "s/^/$BUCKET /" "$WORK/young.reap")" "$(aborted_of "$WORK/late.out")"
check_eq "ListMultipartUploads under reap/ is empty afterwards" "" "$(mpu_ls reap/)"
check_eq "uploads under another prefix are still left alone" \
	"$(cat "$WORK/stale.other")" "$(mpu_ls other/)"

echo "# a listing failure is counted, not fatal"
write_reaper_conf "$WORK/down.conf" "$PROXY_URL" reap/ "max_retries = 0"
proxy_faults "down"
reap down "$WORK/down.conf" "--max-age=${MAXAGE}s"
proxy_faults ""
check_eq "reap exits 1 when S3 cannot be listed" 1 "$REAP_RC"
check_eq "... and says so in the summary" \
	"reap: 0 uploads listed, 0 aborted, 0 younger than max age, 0 active, 1 failed" \
	"$(summary_of "$WORK/down.out")"
check "... and logs why on stderr" grep -q 'reaper: cannot list multipart uploads' "$WORK/down.err"

# ---- cases that need the FUSE daemon ------------------------------------

mount_tests_enabled() {
	[ "${S3CSFS_MOUNT_TESTS:-}" = 1 ] && "$S3CSFS" --version > /dev/null 2>&1
}

# A daemon killed with -9 in the middle of a large file leaves its upload
# behind; `s3csfs reap` finds and aborts it once older than the max age.
test_killed_daemon() {
	local mnt=$WORK/mnt-kill conf=$WORK/kill.conf key=kill/2026/11/25/16/0/killed.bin
	local cp_pid id="" initiated=0 line

	echo "# a daemon killed with -9 mid-upload"
	write_reaper_conf "$conf" "$PROXY_URL" kill/ "reaper = off" "upload = sync" \
		"upload_threads = 2"
	make_file "$WORK/killed.src" $((64 * 1024)) killed
	proxy_faults "latency:1:2@UploadPart"
	if ! mount_fs "$conf" "$mnt"; then
		not_ok "mount for the kill -9 case"
		proxy_faults ""
		return
	fi
	mkdir -p "$mnt/2026/11/25/16/0"
	timeout 300 cp "$WORK/killed.src" "$mnt/2026/11/25/16/0/killed.bin" 2> /dev/null &
	cp_pid=$!
	for _ in $(seq 300); do
		line=$(s3 mpu-ls "$BUCKET" kill/ 2> /dev/null | head -1)
		[ -n "$line" ] && break
		kill -0 "$cp_pid" 2> /dev/null || break
		sleep 0.2
	done
	kill -9 "$DAEMON_PID" 2> /dev/null
	wait "$DAEMON_PID" 2> /dev/null # bounded: SIGKILL
	fusermount3 -u -z "$mnt" 2> /dev/null || umount -l "$mnt" 2> /dev/null
	kill -9 "$cp_pid" 2> /dev/null
	wait "$cp_pid" 2> /dev/null
	proxy_faults ""
	read -r _ id initiated <<< "$line"
	check "an upload was under way when the daemon was killed" test -n "$id"
	[ -n "$id" ] || return
	check_eq "the killed daemon's upload is left in the bucket" "$key $id" "$(mpu_ls kill/)"
	wait_until $((initiated + MAXAGE + 2))
	reap killed "$conf" "--max-age=${MAXAGE}s"
	check_eq "reap exits 0" 0 "$REAP_RC"
	check_eq "the killed daemon's upload is aborted" "$BUCKET $key $id" \
		"$(aborted_of "$WORK/killed.out")"
	check_eq "ListMultipartUploads under kill/ is empty afterwards" "" "$(mpu_ls kill/)"
}

# A large upload through the mount that is older than the max age while the
# daemon's own reaper runs (every second) is not aborted, and completes.
test_active_upload() {
	local mnt=$WORK/mnt-live conf=$WORK/live.conf key=live/2026/11/25/17/0/big.bin
	local cp_rc t0 t1

	echo "# an upload in progress through the mount, older than the max age"
	write_reaper_conf "$conf" "$PROXY_URL" live/ "reaper = on" "reaper_interval = 1s" \
		"reaper_max_age = 2s" "upload = sync" "upload_threads = 2" "log_level = info"
	make_file "$WORK/live.src" $((96 * 1024)) live
	proxy_faults "latency:1:2@UploadPart"
	if ! mount_fs "$conf" "$mnt"; then
		not_ok "mount for the in-progress case"
		proxy_faults ""
		return
	fi
	mkdir -p "$mnt/2026/11/25/17/0"
	t0=$(date +%s)
	timeout 300 cp "$WORK/live.src" "$mnt/2026/11/25/17/0/big.bin"
	cp_rc=$?
	t1=$(date +%s)
	proxy_faults ""
	check_eq "a 96 MiB file written through the mount" 0 "$cp_rc"
	check "... the upload lasted longer than the max age (2s)" test $((t1 - t0)) -gt 4
	check "the daemon's reaper saw its own upload in progress and left it" \
		grep -Eq 'reaper: pass done: .* [1-9][0-9]* active' "$DAEMON_LOG"
	check "the daemon's reaper aborted nothing" \
		bash -c "! grep -q 'reaper: aborted upload' '$DAEMON_LOG'"
	check "unmount" umount_fs "$mnt"
	check_eq "the object is stored at its key, whole" $((96 * 1024 * 1024)) \
		"$(s3 head "$BUCKET" "$key" 2> /dev/null | awk '/^size/ { print $2 }')"
	s3 get "$BUCKET" "$key" "$WORK/live.back" 2> /dev/null
	check "its bytes are right" cmp -s "$WORK/live.src" "$WORK/live.back"
	check_eq "no upload left under live/" "" "$(mpu_ls live/)"
}

if mount_tests_enabled; then
	test_killed_daemon
	test_active_upload
else
	echo "# mount cases (kill -9 mid-upload, upload in progress) not run:" \
		"set S3CSFS_MOUNT_TESTS=1 with a daemon that mounts"
fi

finish
