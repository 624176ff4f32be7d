#!/usr/bin/env bash
# test_refusal.sh - the mount refuses what cannot work (issue 13): an
# unusable cache_dir, a missing bucket, refused credentials, an endpoint
# where nothing listens or nothing answers, exclusive_create = strict on a
# server that ignores If-None-Match. Each case: a non-zero exit, in the
# foreground (-f) and in the background (the default, which daemonizes),
# one line that names the problem, nothing in /proc/mounts. A good
# configuration still mounts, both ways. argv stays intact in ps.
#
# The stalling endpoint and the server that ignores If-None-Match are the
# proxy's simulations (tests/tools/s3proxy.py stall, ignore-inm): the local
# RGW answers at once and honours If-None-Match.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
FSUTIL="python3 $(dirname "$0")/fsutil.py"

BUCKET=s3csfs-refusal-$$
new_bucket "$BUCKET"
start_proxy
RO=$WORK/ro
MNT=$WORK/mnt
mkdir -p "$MNT"

my_cleanup() {
	mountpoint -q "$RO" 2>/dev/null && umount "$RO"
	cleanup
}
trap my_cleanup EXIT

mounted() { grep -q " $MNT fuse" /proc/mounts; }

# refuse NAME CONF PATTERN [STATUS]: both modes exit non-zero, print PATTERN on
# stderr, mount nothing. STATUS: the exit status (1; 75 for a server that
# did not answer, worth another try).
refuse() {
	local name=$1 conf=$2 pattern=$3 status=${4:-1} mode rc
	for mode in -f background; do
		local args=("$MNT" -o "conf=$conf")
		[ "$mode" = -f ] && args+=(-f)
		timeout 60 "$S3CSFS" "${args[@]}" > "$WORK/out" 2> "$WORK/err"
		rc=$?
		check_eq "$name ($mode): exit status" "$status" "$rc"
		if grep -q "cannot mount: .*$pattern" "$WORK/err"; then
			ok "$name ($mode): the message names it"
		else
			not_ok "$name ($mode): no 'cannot mount: ...$pattern' on stderr"
			sed 's/^/#   /' "$WORK/err" | tail -5
		fi
		check_eq "$name ($mode): one 'cannot mount' line" 1 "$(grep -c 'cannot mount' "$WORK/err")"
		if mounted; then
			not_ok "$name ($mode): something is mounted"
			fusermount3 -u "$MNT"
		else
			ok "$name ($mode): nothing in /proc/mounts"
		fi
	done
}

# conf FILE [sed expressions...]: the good configuration, edited.
conf() {
	local f=$1
	shift
	write_conf "$f" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache"
	for e in "$@"; do sed -i "$e" "$f"; done
}

echo "# cache_dir"
touch "$WORK/afile"
conf "$WORK/c1.conf" "s|^cache_dir = .*|cache_dir = $WORK/afile/cache|"
refuse "cache_dir under a regular file" "$WORK/c1.conf" "cache_dir .* cannot be created: Not a directory"
conf "$WORK/c2.conf" "s|^cache_dir = .*|cache_dir = $WORK/afile|"
refuse "cache_dir a regular file" "$WORK/c2.conf" "cache_dir .* is not a directory"
conf "$WORK/c3.conf" "s|^cache_dir = .*|cache_dir = $WORK/no/such/parent|"
refuse "cache_dir without its parent" "$WORK/c3.conf" "parent directory does not exist"
# Root ignores modes: a read-only filesystem is what refuses root.
mkdir -p "$RO"
mount -t tmpfs -o size=4m tmpfs "$RO" && mkdir "$RO/cache" && mount -o remount,ro "$RO"
conf "$WORK/c4.conf" "s|^cache_dir = .*|cache_dir = $RO/cache|"
refuse "cache_dir on a read-only filesystem" "$WORK/c4.conf" "cannot create a file in it: Read-only file system"
conf "$WORK/c5.conf" "s|^cache_dir = .*|cache_dir = $RO/new|"
refuse "cache_dir to create on a read-only filesystem" "$WORK/c5.conf" "cannot be created: Read-only file system"

echo "# S3"
conf "$WORK/s1.conf" "s|^name = .*|name = $BUCKET-missing|"
refuse "bucket missing" "$WORK/s1.conf" "bucket $BUCKET-missing does not exist"
conf "$WORK/s2.conf" "s|^secret_key = .*|secret_key = wrong${S3_SECRET_KEY:5}|"
refuse "wrong secret key" "$WORK/s2.conf" "refused the credentials for bucket $BUCKET"
if grep -q "wrong${S3_SECRET_KEY:5}" "$WORK/err"; then
	not_ok "the refused secret key is not in the message"
else
	ok "the refused secret key is not in the message"
fi
# A port nothing listens on: bound, closed again at once.
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
conf "$WORK/s3.conf" "s|^endpoint = .*|endpoint = http://127.0.0.1:$DEAD|" "/^\[general\]/a mount_timeout = 2s"
t0=$(date +%s%N)
refuse "nothing listening on the endpoint" "$WORK/s3.conf" "no answer from http://127.0.0.1:$DEAD within mount_timeout (2 s): Connection refused" 75
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
# Two attempts (-f and background), each bounded by mount_timeout = 2 s.
check_le "... both attempts within 2 x mount_timeout plus slack (ms)" 10000 "$elapsed_ms"

echo "# a server that accepts and never answers (proxy stall): mount_timeout bounds the wait"
proxy_faults "stall:1:120@HeadBucket"
conf "$WORK/s4.conf" "s|^endpoint = .*|endpoint = $PROXY_URL|" "/^\[general\]/a mount_timeout = 3s"
t0=$(date +%s%N)
refuse "stalled endpoint" "$WORK/s4.conf" "no answer from $PROXY_URL within mount_timeout (3 s)" 75
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
check_le "... both attempts within 2 x mount_timeout plus slack (ms)" 12000 "$elapsed_ms"
proxy_faults ""

echo "# conditional writes (proxy ignore-inm: a server that ignores If-None-Match)"
proxy_faults "ignore-inm:1"
conf "$WORK/x1.conf" "s|^endpoint = .*|endpoint = $PROXY_URL|" "/^default = true/a exclusive_create = strict"
refuse "exclusive_create = strict, If-None-Match ignored" "$WORK/x1.conf" \
	"exclusive_create = strict, but the server's conditional writes: IGNORED"
"$S3CSFS" check -o "conf=$WORK/x1.conf" > "$WORK/check.out" 2>&1
rc=$?
check_eq "check: strict and ignored is a failure (exit 1)" 1 "$rc"
check "check says the server ignores If-None-Match" \
	grep -q '^FAIL \[bucket:main\] conditional writes IGNORED: a create-only PUT' "$WORK/check.out"
conf "$WORK/x2.conf" "s|^endpoint = .*|endpoint = $PROXY_URL|"
"$S3CSFS" check -o "conf=$WORK/x2.conf" > "$WORK/check.out" 2>&1
check_eq "check: best_effort and ignored is a warning (exit 0)" 0 "$?"
check "... which says what O_EXCL then means" \
	grep -q '^WARN \[bucket:main\] conditional writes IGNORED: .*best effort.*HEAD before the PUT' \
	"$WORK/check.out"
if mount_fs "$WORK/x2.conf" "$MNT"; then
	ok "best_effort on an ignoring server mounts"
	check "... and the daemon's log warns" \
		grep -q 'warn: \[bucket:main\] conditional writes IGNORED' "$DAEMON_LOG"
	# A name this mount believes free (it made the directory), taken
	# meanwhile by another client: best_effort's lookup finds it.
	mkdir -p "$MNT/2027/5/6/7/8"
	echo theirs > "$WORK/theirs"
	s3 put "$BUCKET" 2027/5/6/7/8/taken.bin "$WORK/theirs" > /dev/null
	echo ours > "$WORK/ours"
	check_eq "best_effort: a create over another client's object fails with EEXIST" \
		"close EEXIST" "$($FSUTIL create "$MNT/2027/5/6/7/8/taken.bin" "$WORK/ours")"
	s3 get "$BUCKET" 2027/5/6/7/8/taken.bin "$WORK/got" > /dev/null 2>&1
	check "... and their object is intact" cmp -s "$WORK/theirs" "$WORK/got"
	check "unmount" umount_fs "$MNT"
else
	not_ok "best_effort on an ignoring server mounts"
fi
proxy_faults ""
"$S3CSFS" check -o "conf=$WORK/x2.conf" > "$WORK/check.out" 2>&1
check "check: the real server honours If-None-Match" \
	grep -q '^OK   \[bucket:main\] conditional writes honoured' "$WORK/check.out"
check_eq "... and no probe key is left behind" "" "$(s3 ls "$BUCKET" 2>/dev/null | grep s3csfs-probe)"

echo "# a good configuration mounts, in the foreground and in the background"
conf "$WORK/good.conf" "/^\[general\]/a mount_timeout = 5s"
if mount_fs "$WORK/good.conf" "$MNT"; then
	ok "good config mounts (-f)"
	check "... and logs that If-None-Match is honoured" \
		grep -q 'info: \[bucket:main\] conditional writes honoured' "$DAEMON_LOG"
	cmdline=$(tr '\0' ' ' < "/proc/$DAEMON_PID/cmdline")
	check_eq "argv intact in ps" "$S3CSFS $MNT -f -o conf=$WORK/good.conf " "$cmdline"
	echo hello > "$MNT/x.bin" 2>/dev/null
	check "umount" umount_fs "$MNT"
else
	not_ok "good config mounts (-f)"
fi
"$S3CSFS" "$MNT" -o "conf=$WORK/good.conf" > "$WORK/out" 2> "$WORK/err"
rc=$?
check_eq "good config mounts (background): exit 0" 0 "$rc"
MOUNTS+=("$MNT")
check "... and it is mounted" mounted
# The daemon forked after the preflight's requests: its client still works.
mkdir -p "$MNT/2026/7/8/9/1"
make_file "$WORK/bg" 64 bg
check "... a file written through it" cp "$WORK/bg" "$MNT/2026/7/8/9/1/bg.bin"
s3 get "$BUCKET" 2026/7/8/9/1/bg.bin "$WORK/bg.got" > /dev/null 2>&1
check "... is in S3" cmp -s "$WORK/bg" "$WORK/bg.got"
pid=""
for _ in $(seq 50); do
	pid=$(pgrep -f "^$S3CSFS $MNT -o conf=$WORK/good.conf\$" | head -1)
	[ -n "$pid" ] && break
	sleep 0.1
done
check "... the daemon runs" test -n "$pid"
fusermount3 -u "$MNT"
for _ in $(seq 100); do
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
	sleep 0.1
done
check "... and exits at unmount" test -z "$pid" -o ! -e "/proc/$pid"

drop_bucket "$BUCKET"
finish
