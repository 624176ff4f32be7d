# shellcheck shell=bash
# lib.sh - shared helpers for the integration tests (bash).
#
# Each test runs against the real local S3 server that scripts/s3-server
# started (its env file in $S3CSFS_TESTBED), mounts real FUSE filesystems,
# and cleans up everything it started (trap). Every wait is bounded.
#
# Output is TAP (automake's tap-driver.sh runs the .sh tests): one
# "ok - ..." or "not ok - ..." line per check, "# ..." comments, and finish
# prints the plan "1..N" after the "N passed, M failed" summary that
# scripts/test counts. A script that cannot run calls skip_all REASON.
set -u

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$PWD}
S3CSFS=${S3CSFS:-$BUILD/s3csfs}
S3TOOL=${S3TOOL:-$BUILD/s3tool}
S3PROXY=${S3PROXY:-$TOP/tests/tools/s3proxy.py}
TESTBED=${S3CSFS_TESTBED:-/tmp/s3csfs-testbed}
PASS=0
FAIL=0
WORK=$(mktemp -d /tmp/s3csfs-it.XXXXXX)
MOUNTS=()
PIDS=()

if [ ! -r "$TESTBED/env" ]; then
	echo "not ok - no S3 test server: $TESTBED/env is missing; start it with scripts/s3-server start"
	echo "0 passed, 1 failed"
	echo "1..1"
	exit 1
fi
set -a
# shellcheck disable=SC1091
. "$TESTBED/env"
set +a

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { # check "description" command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# quiet CMD...: CMD with its output dropped (inside a check, so that the
# check's own TAP line is not dropped with it).
quiet() { "$@" > /dev/null; }
check_eq() { # check_eq "description" expected actual
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
check_le() { # check_le "description" max actual
	if [ "$3" -le "$2" ]; then ok "$1 ($3 <= $2)"; else not_ok "$1 ($3 > $2)"; fi
}

cleanup() {
	local m p
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

finish() {
	local log
	# A sanitizer report in any daemon this test ran is a failure.
	for log in "$WORK"/daemon.*.log; do
		[ -f "$log" ] || continue
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
			not_ok "sanitizer report in $(basename "$log")"
			grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -30 | sed 's/^/#   /'
		fi
	done
	echo "$PASS passed, $FAIL failed"
	echo "1..$((PASS + FAIL))"
	[ "$FAIL" -eq 0 ]
	exit $?
}

# skip_all REASON: the whole script is skipped (TAP "1..0 # SKIP"); only
# for a reason outside the project (a tool this machine lacks), never to
# hide a failure. Nothing may have been checked yet.
skip_all() {
	echo "# skipped: $*"
	echo "0 passed, 0 failed"
	echo "1..0 # SKIP $*"
	exit 0
}

# wait_until SECONDS command...: polls (every 0.05 s, at most SECONDS) until
# the command succeeds; its status is the command's last one.
wait_until() {
	local secs=$1 i end=$((SECONDS + $1))
	shift
	for ((i = 0; i < secs * 20 && SECONDS <= end; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# lookups MOUNT -> how many lookups the daemon decided afresh: asked S3
# (HeadObject, a GetObject of the first bytes, ListObjectsV2) or answered
# locally (lookups_local), from MOUNT/.s3csfs/stats. A name answered from
# the negative cache adds none.
lookups() {
	timeout 10 awk '$1 ~ /^requests\.(HeadObject|GetObject|ListObjectsV2)$/ ||
		$1 == "lookups_local" {n += $2} END {print n + 0}' "$1/.s3csfs/stats" 2> /dev/null || echo 0
}
# fresh_lookup MOUNT NAME: stats NAME; true if it exists or if the daemon
# decided it afresh (no negative cache entry answered it).
fresh_lookup() {
	local n
	n=$(lookups "$1")
	stat "$1/$2" > /dev/null 2>&1 && return 0
	[ "$(lookups "$1")" -gt "$n" ]
}
# negative_past MOUNT NAME: waits (at most 10 s) until negative_timeout
# has passed for every name the daemon marked absent before the call
# (NAME's among them): looks up an unknown probe name beside NAME, which
# the daemon marks absent now, then polls until a lookup of the probe is
# decided afresh (in the stats). Fails if that does not come.
negative_past() {
	local d=${2%/*} b=${2##*/} ext='' probe
	[ "$d" = "$2" ] && d=.
	case $b in *.*) ext=.${b##*.} ;; esac
	probe=$d/$(printf '%08x-0000-4000-8000-%012x' "$RANDOM" "$$")$ext
	stat "$1/$probe" > /dev/null 2>&1 && { echo "# negative_past: $probe exists"; return 1; }
	wait_until 10 fresh_lookup "$1" "$probe"
}

s3() { "$S3TOOL" "$@"; }

new_bucket() { # new_bucket NAME -> creates it
	s3 mb "$1" || { not_ok "create bucket $1"; finish; }
}

# Empties and removes a bucket (bounded).
drop_bucket() {
	local b=$1 k
	for _ in $(seq 20); do
		s3 ls "$b" 2>/dev/null | awk '{print $1}' | grep -v '^PRE$' > "$WORK/keys.$b" || true
		[ -s "$WORK/keys.$b" ] || break
		while read -r k; do s3 rm "$b" "$k"; done < "$WORK/keys.$b"
	done
	s3 mpu-ls "$b" 2>/dev/null | while read -r k id _; do s3 mpu-abort "$b" "$k" "$id"; done
	s3 rb "$b" 2>/dev/null || true
}

# Starts the counting proxy in front of the server; sets PROXY_URL.
start_proxy() {
	local up=${S3_ENDPOINT#http://}
	rm -f "$WORK/proxy.port"
	python3 "$S3PROXY" --listen 127.0.0.1:0 --upstream "$up" --port-file "$WORK/proxy.port" \
		--log "$WORK/proxy.log" "$@" > "$WORK/proxy.out" 2>&1 &
	PIDS+=($!)
	# shellcheck disable=SC2034 # start_proxy's result, with PROXY_URL, for the callers
	PROXY_PID=$!
	for _ in $(seq 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
	PROXY_URL="http://127.0.0.1:$(cat "$WORK/proxy.port")"
}
proxy_reset() { curl -s -X POST "$PROXY_URL/_proxy/reset" > /dev/null; }
proxy_faults() { curl -s -X POST "$PROXY_URL/_proxy/faults?spec=$1" > /dev/null; }
proxy_op() { # proxy_op OpName -> count
	curl -s "$PROXY_URL/_proxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['ops'].get('$1',0))"
}
proxy_total() {
	curl -s "$PROXY_URL/_proxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])"
}

# write_conf FILE BUCKET ENDPOINT CACHE_DIR [extra [general] lines...]
write_conf() {
	local f=$1 b=$2 ep=$3 cache=$4
	shift 4
	{
		echo "[general]"
		echo "cache_dir = $cache"
		echo "log_level = ${LOG_LEVEL:-info}"
		echo "reaper = off"
		for l in "$@"; do echo "$l"; done
		# A whole run with one more setting, e.g. S3CSFS_EXTRA_CONF="max_nodes = 1024"
		if [ -n "${S3CSFS_EXTRA_CONF:-}" ]; then echo "$S3CSFS_EXTRA_CONF"; fi
		echo "[s3]"
		echo "profile = onprem"
		echo "endpoint = $ep"
		echo "region = $S3_REGION"
		echo "access_key = $S3_ACCESS_KEY"
		echo "secret_key = $S3_SECRET_KEY"
		echo "[bucket:main]"
		echo "name = $b"
		echo "default = true"
		[ -n "${KEY_PREFIX:-}" ] && echo "key_prefix = $KEY_PREFIX"
	} > "$f"
	chmod 600 "$f"
}

# mount_fs CONF MOUNTPOINT -> starts the daemon in the foreground (logs in
# $WORK/daemon.N.log), waits until the mount answers; sets DAEMON_PID.
DAEMON_N=0
declare -A MOUNT_PID
mount_fs() {
	local conf=$1 mnt=$2
	mkdir -p "$mnt"
	DAEMON_N=$((DAEMON_N + 1))
	DAEMON_LOG=$WORK/daemon.$DAEMON_N.log
	${S3CSFS_WRAPPER:-} "$S3CSFS" "$mnt" -f -o "conf=$conf" > "$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	MOUNT_PID[$mnt]=$DAEMON_PID
	MOUNTS+=("$mnt")
	for _ in $(seq 200); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# mount of $mnt failed; daemon log:"
	sed 's/^/#   /' "$DAEMON_LOG" | tail -20
	return 1
}

# umount_fs MOUNTPOINT: clean unmount, waits for the daemon to exit.
umount_fs() {
	local mnt=$1 pid=${MOUNT_PID[$1]:-$DAEMON_PID} p keep=()
	fusermount3 -u "$mnt" || return 1
	for _ in $(seq 600); do
		if ! kill -0 "$pid" 2>/dev/null; then
			# Exited: forget it, so cleanup never signals a reused pid.
			for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
			PIDS=("${keep[@]}")
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# journal_records CACHE_DIR -> the cache names of pending upload = async
# records: xattrs of the cache files, or files in journal/ (no xattrs).
journal_records() {
	{
		getfattr -R --absolute-names -n user.s3csfs.journal "$1/objects" 2> /dev/null |
			sed -n 's|^# file: .*/||p'
		# shellcheck disable=SC2010 # journal record names are hex digests
		ls "$1/journal" 2> /dev/null | grep -v '\.'
	} | sort -u
}

# lines_at_least FILE N: FILE exists and has at least N lines.
lines_at_least() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

# journal_empty CACHE_DIR: no live journal record (set-aside ones aside).
journal_empty() { [ -z "$(journal_records "$1")" ]; }

# A random file of N KiB from a seed (reproducible).
make_file() { # make_file PATH KIB SEED
	head -c $(($2 * 1024)) < <(openssl enc -aes-128-ctr -pass "pass:$3" -nosalt -pbkdf2 < /dev/zero 2>/dev/null) > "$1"
}
