#!/usr/bin/env bash
# test_faults.sh - reliability (issue 8): the daemon through the fault-injecting
# proxy (tests/tools/s3proxy.py), killed with SIGKILL, with a full cache disk
# and with malformed answers. Every file's bytes are checked (sha256), through
# the mount and straight from S3 (s3tool, not through the proxy): nothing whose
# close() returned 0 may be missing or different. The long parallel case is in
# test_faults_long.sh (make check-long).
#
# FAULTS_ONLY="random down outage kill diskfull hostile backlog listrace" runs a subset.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
ONLY=${FAULTS_ONLY:-random down outage kill diskfull hostile backlog listrace}
want() { [[ " $ONLY " == *" $1 "* ]]; }

# Peak RSS allowed to the daemon (MiB); AddressSanitizer needs far more.
RSS_MAX=${FAULTS_RSS_MAX_MIB:-256}
[ -n "${ASAN_OPTIONS:-}" ] && RSS_MAX=${FAULTS_RSS_MAX_MIB:-1024}
BUCKET=s3csfs-faults-$$
new_bucket "$BUCKET"
start_proxy --seed 8
TMPFS=""

my_cleanup() {
	cleanup
	if [ -n "$TMPFS" ]; then
		mountpoint -q "$TMPFS" && umount "$TMPFS"
		rmdir "$TMPFS" 2>/dev/null
	fi
}
trap my_cleanup EXIT

# ---- figures, summed over the whole test --------------------------------
T_REQ=0 T_FAULTS=0 T_RETRIES=0 T_DERR=0 T_WRITTEN=0 T_VERIFIED=0 T_CLOSEERR=0 T_CRASHES=0

# Adds the proxy's counters to the totals and zeroes them.
proxy_collect() {
	local s
	s=$(curl -s "$PROXY_URL/_proxy/stats") || return
	T_REQ=$((T_REQ + $(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')))
	T_FAULTS=$((T_FAULTS + $(echo "$s" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["faults"].values()))')))
	proxy_reset
}
# proxy_fault_count KIND: how many faults of KIND the proxy injected since
# its last reset.
proxy_fault_count() {
	curl -s "$PROXY_URL/_proxy/stats" | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["faults"].get(sys.argv[1], 0))' "$1"
}
proxy_faults_str() {
	curl -s "$PROXY_URL/_proxy/stats" | python3 -c \
		'import json,sys; f=json.load(sys.stdin)["faults"]; print(" ".join("%s=%d" % kv for kv in sorted(f.items()) if kv[1]) or "none")'
}
# dstat MNT NAME: one counter of the daemon's statistics file.
dstat() {
	local v
	v=$(timeout 10 awk -v k="$2" '$1 == k {print $2}' "$1/.s3csfs/stats" 2>/dev/null)
	echo "${v:-0}"
}
# Adds a live daemon's retries and failed requests to the totals.
daemon_collect() {
	T_RETRIES=$((T_RETRIES + $(dstat "$1" retries)))
	T_DERR=$((T_DERR + $(dstat "$1" errors_total)))
}
# alive PID MNT: the daemon runs and its mount answers.
alive() {
	kill -0 "$1" 2>/dev/null && timeout 10 cat "$2/.s3csfs/stats" > /dev/null
}
forget_pid() { # after kill -9: never signal a pid that may be reused
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
# wait_for SECONDS command...: polls every 0.5 s; fails after SECONDS.
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 2; i++)); do
		"$@" && return 0
		sleep 0.5
	done
	return 1
}
no_pending() { [ "$(dstat "$1" uploads_pending)" = 0 ]; }
parts_started() { [ "$(proxy_op UploadPart)" -ge "$1" ]; }
hwm_kib() { awk '/^VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# s3_check MANIFEST: every "path sha256" line is an object in S3 (read
# straight from the server) with those bytes. Prints the number of bad ones.
s3_check() {
	local name want got bad=0
	while read -r name want _; do
		got=error
		if s3 get "$BUCKET" "$name" "$WORK/s3obj" 2>/dev/null; then
			got=$(sha256sum < "$WORK/s3obj" | cut -d' ' -f1)
		fi
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			[ "$bad" -le 5 ] && echo "# S3 object $name: $got (want $want)" >&2
		fi
	done < "$1"
	rm -f "$WORK/s3obj"
	echo "$bad"
}
# s3_present_count LIST: how many of the paths (first field) exist in S3.
s3_present_count() {
	local name n=0
	while read -r name _; do
		s3 head "$BUCKET" "$name" > /dev/null 2>&1 && n=$((n + 1))
	done < "$1"
	echo "$n"
}

# The file-level helper: writes that go on after an error and record it.
FIO=$TOP/tests/tools/faultio.py
# stat_is ERRNO|OK PATH: what a stat of PATH gives (at most 5 s).
stat_is() { [ "$(timeout 5 python3 "$FIO" stat "$2" | cut -d' ' -f1)" = "$1" ]; }
# failed_past_negative MNT FAILLOG...: negative_timeout has passed for the
# names of the logs (the failed files), so the mount asks again (lib.sh
# negative_past); true at once if no file failed.
failed_past_negative() {
	local m=$1 name
	shift
	name=$(cat "$@" | awk 'NR == 1 {print $1}')
	[ -z "$name" ] || negative_past "$m" "$name"
}

# ===========================================================================
if want random; then
	echo "# 20% of requests failing at random, upload = sync"
	A=$WORK/mnt-random
	write_conf "$WORK/random.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-random" \
		"upload = sync" "part_size = 5M" "upload_threads = 4"
	mount_fs "$WORK/random.conf" "$A" || { not_ok "mount"; finish; }
	proxy_collect
	proxy_faults "500:0.1,slowdown:0.05,reset-before:0.025,reset-after:0.025"
	out=$(timeout 900 python3 "$FIO" write "$A" 2026/11/25/1 500 16 rnd "$WORK/rnd.man" "$WORK/rnd.fail")
	echo "# 500 small files: $out"
	nok=$(wc -l < "$WORK/rnd.man")
	nfail=$(wc -l < "$WORK/rnd.fail")
	check_eq "every one of the 500 small files has an outcome" 500 $((nok + nfail))
	echo "# close errors (small files): $nfail"
	[ "$nfail" -gt 0 ] && sed 's/^/#   /' "$WORK/rnd.fail" | head -5
	check "close errors are EIO only" \
		test "$(awk '{print $2":"$3}' "$WORK/rnd.fail" | grep -vc '^close:EIO$')" -eq 0
	check_le "most small files written despite the faults" 50 "$nfail"
	out=$(timeout 900 python3 "$FIO" write "$A" 2026/11/25/2 20 12288 rndbig "$WORK/rndbig.man" "$WORK/rndbig.fail")
	echo "# 20 multipart files of 12 MiB: $out"
	nbfail=$(wc -l < "$WORK/rndbig.fail")
	check "multipart close errors are EIO only" \
		test "$(awk '{print $2":"$3}' "$WORK/rndbig.fail" | grep -vc '^close:EIO$')" -eq 0
	check_le "most multipart files written despite the faults" 5 "$nbfail"
	echo "# proxy faults injected: $(proxy_faults_str)"
	retries=$(dstat "$A" retries)
	echo "# daemon: retries $retries, errors_total $(dstat "$A" errors_total), uploads_failed $(dstat "$A" uploads_failed)"
	check "retries visible in the statistics" test "$retries" -gt 0
	cat "$WORK/rnd.man" "$WORK/rndbig.man" > "$WORK/rnd.all"
	nall=$(wc -l < "$WORK/rnd.all")
	check_eq "every acknowledged file is in S3, identical ($nall files)" 0 "$(s3_check "$WORK/rnd.all")"
	r=$(timeout 600 python3 "$FIO" read "$A" "$WORK/rnd.all")
	check_eq "read back through the mount, faults on (ok err bad)" "$nall 0 0 -" "$r"
	# A cold cache: every read is a GET through the faults.
	daemon_collect "$A"
	check "unmount" umount_fs "$A"
	rm -rf "$WORK/cache-random"
	mount_fs "$WORK/random.conf" "$A" || not_ok "remount"
	r=$(timeout 600 python3 "$FIO" read "$A" "$WORK/rnd.all")
	check_eq "cold cache: read back through the faults (ok err bad)" "$nall 0 0 -" "$r"
	check "daemon alive" alive "$DAEMON_PID" "$A"
	echo "# proxy faults injected: $(proxy_faults_str)"
	daemon_collect "$A"
	proxy_faults ""
	check "unmount" umount_fs "$A"
	proxy_collect
	T_WRITTEN=$((T_WRITTEN + nall))
	T_VERIFIED=$((T_VERIFIED + nall))
	T_CLOSEERR=$((T_CLOSEERR + nfail + nbfail))
fi

# ===========================================================================
# A short retry budget for the outage cases.
OUTAGE_CONF=("max_retries = 3" "retry_max_time = 5s" "connect_timeout = 1s" "part_size = 5M")

if want down; then
	echo "# server down at mount time"
	D=$WORK/mnt-down
	write_conf "$WORK/down.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-down" "upload = sync" "${OUTAGE_CONF[@]}"
	proxy_faults "down"
	# Refused within mount_timeout (issue 13): nothing mounted, exit non-zero.
	mkdir -p "$D"
	rc=0
	timeout 60 "$S3CSFS" "$D" -f -o "conf=$WORK/down.conf" > "$WORK/down.err" 2>&1 || rc=$?
	check "the mount is refused with the server down (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "... saying there was no answer" grep -q 'cannot mount: .*no answer from' "$WORK/down.err"
	check "... and nothing is mounted" bash -c "! mountpoint -q '$D'"
	proxy_faults ""
	mount_fs "$WORK/down.conf" "$D" || { not_ok "the mount comes up with the server up"; finish; }
	proxy_faults "down"
	ok "the mount comes up, then the server goes down"
	check "the statistics file answers" alive "$DAEMON_PID" "$D"
	read -r r secs < <(timeout 60 python3 "$FIO" stat "$D/2031/1/1/0/0/unknown.bin")
	echo "# stat of an unknown file: $r in $secs s"
	check_eq "stat of an unknown file: EIO" EIO "$r"
	check "... within the retry budget (${secs}s <= 15s)" \
		python3 -c "import sys; sys.exit(0 if float('${secs:-99}') <= 15 else 1)"
	read -r r secs < <(timeout 60 python3 "$FIO" stat "$D/2026/11/25/3/0/unknown.bin")
	check_eq "stat in another tree: EIO" EIO "$r"
	rc=0
	timeout 60 ls "$D" > /dev/null 2>&1 || rc=$?
	check "ls of the root fails, at once (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	mkdir -p "$WORK/src"
	make_file "$WORK/src/down1" 256 down1
	rc=0
	timeout 60 cp "$WORK/src/down1" "$D/2026/11/25/3/1/down1.bin" 2> /dev/null || rc=$?
	check "a write while down fails, at once (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "the daemon survives" alive "$DAEMON_PID" "$D"
	echo "# proxy faults injected: $(proxy_faults_str)"
	proxy_faults ""
	# What the outage left (errors, negative entries) goes within 10 s.
	wait_until 10 stat_is ENOENT "$D/2031/1/1/0/0/unknown.bin"
	read -r r _ < <(timeout 60 python3 "$FIO" stat "$D/2031/1/1/0/0/unknown.bin")
	check_eq "service back: stat of an unknown file is ENOENT (within 10 s)" ENOENT "$r"
	mkdir -p "$D/2026/11/25/3/1"
	check "service back: a write works" cp "$WORK/src/down1" "$D/2026/11/25/3/1/down1.bin"
	check "... and reads back" cmp -s "$WORK/src/down1" "$D/2026/11/25/3/1/down1.bin"
	echo "2026/11/25/3/1/down1.bin $(sha256sum < "$WORK/src/down1" | cut -d' ' -f1)" > "$WORK/down.man"
	check_eq "... and is in S3" 0 "$(s3_check "$WORK/down.man")"
	check "ls of the root works" bash -c "timeout 60 ls '$D' | grep -qx 2026"
	echo "# the server hangs (answers nothing): stall on every request"
	proxy_faults "stall:1.0:100"
	read -r r secs < <(timeout 200 python3 "$FIO" stat "$D/2032/1/1/0/0/unknown.bin")
	echo "# stat of an unknown file with the server hanging: $r in $secs s"
	check_eq "hanging server: stat of an unknown file gives EIO" EIO "$r"
	check "... in bounded time (${secs}s <= 75s)" \
		python3 -c "import sys; sys.exit(0 if float('${secs:-999}') <= 75 else 1)"
	check "the daemon survives" alive "$DAEMON_PID" "$D"
	proxy_faults ""
	daemon_collect "$D"
	check "unmount" umount_fs "$D"
	proxy_collect
	T_WRITTEN=$((T_WRITTEN + 1))
	T_VERIFIED=$((T_VERIFIED + 1))

	echo "# nothing listening at the endpoint at mount time (connection refused)"
	# The mount retries within mount_timeout (issue 13) and comes up with
	# the server; nothing is mounted meanwhile.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	LOG_LEVEL=debug write_conf "$WORK/refused.conf" "$BUCKET" "http://127.0.0.1:$port" \
		"$WORK/cache-refused" "upload = sync" "${OUTAGE_CONF[@]}" "mount_timeout = 90s"
	mkdir -p "$D"
	"$S3CSFS" "$D" -f -o "conf=$WORK/refused.conf" > "$WORK/daemon.refused.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	MOUNT_PID[$D]=$DAEMON_PID
	MOUNTS+=("$D")
	wait_for 30 grep -q 'retrying HeadBucket' "$WORK/daemon.refused.log"
	check "the mount waits, retrying, while nothing listens" \
		grep -q 'retrying HeadBucket' "$WORK/daemon.refused.log"
	check "... and nothing is mounted meanwhile" bash -c "! mountpoint -q '$D'"
	python3 "$S3PROXY" --listen "127.0.0.1:$port" --upstream "${S3_ENDPOINT#http://}" \
		--port-file "$WORK/proxy2.port" > "$WORK/proxy2.out" 2>&1 &
	P2=$!
	PIDS+=("$P2")
	wait_for 10 test -s "$WORK/proxy2.port"
	wait_for 60 mountpoint -q "$D"
	check "the mount comes up once the server listens" mountpoint -q "$D"
	wait_until 10 stat_is ENOENT "$D/2031/1/1/0/0/unknown.bin"
	read -r r _ < <(timeout 60 python3 "$FIO" stat "$D/2031/1/1/0/0/unknown.bin")
	check_eq "server started: stat of an unknown file is ENOENT (within 10 s)" ENOENT "$r"
	mkdir -p "$D/2026/11/25/3/2"
	check "server started: a write works" cp "$WORK/src/down1" "$D/2026/11/25/3/2/down1.bin"
	echo "2026/11/25/3/2/down1.bin $(sha256sum < "$WORK/src/down1" | cut -d' ' -f1)" > "$WORK/refused.man"
	check_eq "... and is in S3" 0 "$(s3_check "$WORK/refused.man")"
	daemon_collect "$D"
	check "unmount" umount_fs "$D"
	kill "$P2"
	wait "$P2" 2>/dev/null
	forget_pid "$P2"
	T_WRITTEN=$((T_WRITTEN + 1))
	T_VERIFIED=$((T_VERIFIED + 1))
fi

# ===========================================================================
# outage_run MODE: writers before, during and after 20 s of the server down.
outage_run() {
	local mode=$1 O=$WORK/mnt-outage-$1 base=2026/11/25/4/$1 nfail nok r vis name hs hb
	write_conf "$WORK/outage-$mode.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-outage-$mode" \
		"upload = $mode" "${OUTAGE_CONF[@]}"
	mount_fs "$WORK/outage-$mode.conf" "$O" || { not_ok "mount"; return; }
	mkdir -p "$O/$base/s" "$O/$base/b" "$O/$base/h"
	rm -f "$WORK/stop" "$WORK/ready1" "$WORK/ready2" "$WORK/go"
	# Two files opened and written with the server up, closed while it is down.
	python3 "$FIO" hold "$O" "$base/h/small.bin" 256 "hs$mode" "$WORK/o$mode.hs" "$WORK/ready1" "$WORK/go" &
	HS=$!
	python3 "$FIO" hold "$O" "$base/h/big.bin" 12288 "hb$mode" "$WORK/o$mode.hb" "$WORK/ready2" "$WORK/go" &
	HB=$!
	python3 "$FIO" loop "$O" "$base/s" 64 "os$mode" "$WORK/o$mode.sman" "$WORK/o$mode.sfail" "$WORK/stop" 0.2 > "$WORK/o$mode.sout" 2>&1 &
	W1=$!
	python3 "$FIO" loop "$O" "$base/b" 12288 "ob$mode" "$WORK/o$mode.bman" "$WORK/o$mode.bfail" "$WORK/stop" 0.5 > "$WORK/o$mode.bout" 2>&1 &
	W2=$!
	wait_for 60 test -e "$WORK/ready1" -a -e "$WORK/ready2"
	# The scenario's clock (not synchronisation): 5 s of writes before the
	# outage, the held files closed 2 s into it, the server back at 18 s,
	# the writers going on for 10 s after that (the checks below count on
	# this timeline).
	sleep 5
	check "$mode: files stored before the outage" lines_at_least "$WORK/o$mode.sman" 1
	proxy_faults "down"
	local t0
	t0=$(date +%s)
	echo "# $mode: server down"
	sleep 2
	touch "$WORK/go"
	wait_for 30 bash -c "! kill -0 $HS 2>/dev/null && ! kill -0 $HB 2>/dev/null"
	hs=$(awk '{print $5}' "$WORK/o$mode.hs" 2>/dev/null)
	hb=$(awk '{print $5}' "$WORK/o$mode.hb" 2>/dev/null)
	echo "# $mode: files closed while the server is down: 256 KiB -> ${hs:-?}, 12 MiB -> ${hb:-?} (after $(($(date +%s) - t0)) s)"
	sleep $((t0 + 18 - $(date +%s)))
	local pending
	pending=$(dstat "$O" uploads_pending)
	proxy_faults ""
	echo "# $mode: server back after $(($(date +%s) - t0)) s; uploads pending: $pending"
	sleep 10
	touch "$WORK/stop"
	wait_for 120 bash -c "! kill -0 $W1 2>/dev/null && ! kill -0 $W2 2>/dev/null"
	check "$mode: the writers finished" bash -c "! kill -0 $W1 2>/dev/null && ! kill -0 $W2 2>/dev/null"
	echo "# $mode: small: $(cat "$WORK/o$mode.sout"); 12 MiB: $(cat "$WORK/o$mode.bout")"
	cat "$WORK/o$mode.sfail" "$WORK/o$mode.bfail" > "$WORK/o$mode.fail"
	cat "$WORK/o$mode.sman" "$WORK/o$mode.bman" > "$WORK/o$mode.man"
	nfail=$(wc -l < "$WORK/o$mode.fail")
	awk '{print "# " $2 ":" $3}' "$WORK/o$mode.fail" | sort | uniq -c | sed 's/^ */#   /'
	check "$mode: failures are EIO only" test "$(awk '$3 != "EIO"' "$WORK/o$mode.fail" | wc -l)" -eq 0
	check "$mode: files were written before the outage" test "$(wc -l < "$WORK/o$mode.sman")" -gt 10
	last_ok=$(awk '{print $2}' "$WORK/o$mode.sman.times" | tail -1)
	check "$mode: ... and after the server came back (last at ${last_ok}s)" \
		python3 -c "import sys; sys.exit(0 if float('${last_ok:-0}') > 30 else 1)"
	if [ "$mode" = sync ]; then
		check "sync: some writes failed during the outage" test "$nfail" -gt 0
		check_eq "sync: a 256 KiB file closed during the outage: EIO" EIO "$hs"
		check_eq "sync: a 12 MiB file closed during the outage: EIO" EIO "$hb"
		awk '{print $1, $2}' "$WORK/o$mode.hs" "$WORK/o$mode.hb" >> "$WORK/o$mode.fail"
	else
		check_eq "async: pending uploads during the outage" 1 "$([ "${pending:-0}" -ge 2 ] && echo 1 || echo "$pending")"
		check_eq "async: a 256 KiB file closed during the outage: 0" 0 "$hs"
		check_eq "async: a 12 MiB file closed during the outage: 0" 0 "$hb"
		awk '{print $1, $2}' "$WORK/o$mode.hs" "$WORK/o$mode.hb" >> "$WORK/o$mode.man"
		local t1
		t1=$(date +%s)
		wait_for 120 no_pending "$O"
		echo "# async: uploads done $(($(date +%s) - t1)) s after the server came back + 10 s"
		check_eq "async: all uploads done within 120 s of the server's return" 0 "$(dstat "$O" uploads_pending)"
		check_eq "async: journal empty" 0 "$(journal_records "$WORK/cache-outage-$mode" | wc -l)"
	fi
	nok=$(wc -l < "$WORK/o$mode.man")
	check "$mode: the daemon survives" alive "${MOUNT_PID[$O]}" "$O"
	check_eq "$mode: every acknowledged file ($nok) is in S3, identical" 0 "$(s3_check "$WORK/o$mode.man")"
	r=$(timeout 600 python3 "$FIO" read "$O" "$WORK/o$mode.man")
	check_eq "$mode: ... and reads back through the mount (ok err bad)" "$nok 0 0 -" "$r"
	check_eq "$mode: no failed file is in S3" 0 "$(s3_present_count "$WORK/o$mode.fail")"
	check "$mode: negative_timeout passes for the failed files" \
		failed_past_negative "$O" "$WORK/o$mode.fail"
	vis=0
	while read -r name _; do
		[ "$(python3 "$FIO" stat "$O/$name" | cut -d' ' -f1)" = ENOENT ] || vis=$((vis + 1))
	done < "$WORK/o$mode.fail"
	check_eq "$mode: no failed file is visible in the mount" 0 "$vis"
	echo "# multipart uploads left in the bucket (the reaper's job): $(s3 mpu-ls "$BUCKET" 2>/dev/null | wc -l)"
	daemon_collect "$O"
	check "$mode: unmount" umount_fs "$O"
	proxy_collect
	T_WRITTEN=$((T_WRITTEN + nok))
	T_VERIFIED=$((T_VERIFIED + nok))
	T_CLOSEERR=$((T_CLOSEERR + nfail))
}

if want outage; then
	echo "# the server away for 20 s during writes"
	outage_run sync
	outage_run async

	echo "# async: unmounted while uploads cannot go; they go at the next mount"
	U=$WORK/mnt-unmount
	write_conf "$WORK/unmount.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-unmount" "upload = async" "${OUTAGE_CONF[@]}"
	mount_fs "$WORK/unmount.conf" "$U" || { not_ok "mount"; finish; }
	# Lookups answer, uploads do not.
	proxy_faults "down:1.0@PutObject+CreateMultipartUpload+UploadPart+CompleteMultipartUpload"
	out=$(timeout 120 python3 "$FIO" write "$U" 2026/11/25/5/u 6 512 unm "$WORK/unm.man" "$WORK/unm.fail")
	out2=$(timeout 120 python3 "$FIO" write "$U" 2026/11/25/5/v 1 12288 unmb "$WORK/unm.man2" "$WORK/unm.fail2")
	cat "$WORK/unm.man2" >> "$WORK/unm.man"
	echo "# $out; $out2"
	check_eq "async: 7 files acknowledged while uploads fail" 7 "$(wc -l < "$WORK/unm.man")"
	pid=${MOUNT_PID[$U]}
	t0=$(date +%s)
	fusermount3 -u "$U"
	# README: "Unmounting waits up to a minute for pending uploads".
	wait_for 90 bash -c "! kill -0 $pid 2>/dev/null"
	if kill -0 "$pid" 2>/dev/null; then
		not_ok "async: the daemon exits within 90 s of the unmount (still running; killed)"
		kill -9 "$pid"
		wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
		forget_pid "$pid"
	else
		ok "async: the daemon exits $(($(date +%s) - t0)) s after the unmount"
	fi
	check_eq "async: the 7 uploads stay journaled" 7 "$(journal_records "$WORK/cache-unmount" | wc -l)"
	check_eq "async: nothing in S3 yet" 0 "$(s3_present_count "$WORK/unm.man")"
	proxy_faults ""
	mount_fs "$WORK/unmount.conf" "$U" || { not_ok "remount"; finish; }
	t0=$(date +%s)
	wait_for 120 no_pending "$U"
	echo "# uploaded $(($(date +%s) - t0)) s after the remount"
	check_eq "async: the journal's uploads done at the next mount" 0 "$(dstat "$U" uploads_pending)"
	check_eq "async: every file in S3, identical" 0 "$(s3_check "$WORK/unm.man")"
	r=$(timeout 120 python3 "$FIO" read "$U" "$WORK/unm.man")
	check_eq "async: ... and through the mount (ok err bad)" "7 0 0 -" "$r"
	daemon_collect "$U"
	check "unmount" umount_fs "$U"
	proxy_collect
	T_WRITTEN=$((T_WRITTEN + 7))
	T_VERIFIED=$((T_VERIFIED + 7))
fi

# ===========================================================================
# kill_daemon MNT: SIGKILL, then the dead mount is taken down.
kill_daemon() {
	local mnt=$1 pid=${MOUNT_PID[$1]}
	kill -9 "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	forget_pid "$pid"
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	! kill -0 "$pid" 2>/dev/null && ! mountpoint -q "$mnt"
}

if want kill; then
	for mode in sync async; do
		echo "# kill -9 during a multipart upload, upload = $mode"
		K=$WORK/mnt-kill-$mode
		C=$WORK/cache-kill-$mode
		base=2026/11/25/8/$mode
		write_conf "$WORK/kill-$mode.conf" "$BUCKET" "$PROXY_URL" "$C" "upload = $mode" \
			"part_size = 5M" "upload_threads = 2" "write_ahead = 0"
		mount_fs "$WORK/kill-$mode.conf" "$K" || { not_ok "mount"; finish; }
		out1=$(timeout 300 python3 "$FIO" write "$K" "$base/a" 10 64 "k$mode" "$WORK/k$mode.man1" "$WORK/k$mode.fail1")
		out2=$(timeout 300 python3 "$FIO" write "$K" "$base/b" 2 12288 "kb$mode" "$WORK/k$mode.man2" "$WORK/k$mode.fail2")
		echo "# before the kill: $out1; $out2"
		[ $mode = async ] && wait_for 120 no_pending "$K"
		# Slow parts: the next uploads are caught in the middle (write_ahead
		# = 0: the writers run ahead of them).
		proxy_collect
		proxy_faults "latency:1.0:3@UploadPart+PutObject"
		if [ $mode = async ]; then
			out3=$(timeout 300 python3 "$FIO" write "$K" "$base/c" 3 20480 "kc$mode" "$WORK/k$mode.man3" "$WORK/k$mode.fail3")
			echo "# journaled, not yet uploaded: $out3"
		else
			: > "$WORK/k$mode.man3"
			: > "$WORK/k$mode.fail3"
		fi
		cat "$WORK/k$mode.man1" "$WORK/k$mode.man2" "$WORK/k$mode.man3" > "$WORK/k$mode.man"
		nack=$(wc -l < "$WORK/k$mode.man")
		want_ack=$([ $mode = async ] && echo 15 || echo 12)
		check_eq "$mode: every close before the kill returned 0" "$want_ack" "$nack"
		# One file never closed: 30 MiB written, the writer waits.
		rm -f "$WORK/ready" "$WORK/go"
		python3 "$FIO" hold "$K" "$base/open/unclosed.bin" 30720 "ku$mode" "$WORK/k$mode.hold" "$WORK/ready" "$WORK/go" > /dev/null 2>&1 &
		H=$!
		wait_for 120 test -e "$WORK/ready"
		wait_for 60 parts_started 2
		parts=$(proxy_op UploadPart)
		completes=$(proxy_op CompleteMultipartUpload)
		pending=$(dstat "$K" uploads_pending)
		inflight=$(dstat "$K" uploads_inflight)
		echo "# at the kill: UploadPart $parts, CompleteMultipartUpload $completes, uploads_pending $pending, uploads_inflight $inflight, written: $(cat "$WORK/ready" 2>/dev/null)"
		check "$mode: killed in the middle of a multipart upload" \
			test "$parts" -ge 2 -a "$completes" -eq 0
		if [ $mode = async ]; then
			# The 3 files of c/ were acknowledged, not all uploaded yet.
			check "async: uploads were pending at the kill (uploads_pending $pending >= 1)" \
				test "$pending" -ge 1
		else
			# Closes wait for the upload: the unclosed file's parts are on the way.
			check "sync: an upload was being sent at the kill (uploads_inflight $inflight >= 1)" \
				test "$inflight" -ge 1
		fi
		check "$mode: kill -9" kill_daemon "$K"
		T_CRASHES=$((T_CRASHES + 1))
		touch "$WORK/go"
		wait_for 30 bash -c "! kill -0 $H 2>/dev/null"
		echo "# the unclosed file's writer: $(cat "$WORK/k$mode.hold" 2>/dev/null)"
		proxy_faults ""
		check "$mode: restart on the same cache" mount_fs "$WORK/kill-$mode.conf" "$K"
		if [ $mode = async ]; then
			t1=$(date +%s)
			wait_for 120 no_pending "$K"
			echo "# async: the journal's uploads done $(($(date +%s) - t1)) s after the restart"
			check_eq "async: the journal's uploads completed within 120 s" 0 "$(dstat "$K" uploads_pending)"
			check_eq "async: journal empty" 0 "$(journal_records "$C" | wc -l)"
		fi
		check_eq "$mode: every acknowledged file ($nack) in S3, identical" 0 "$(s3_check "$WORK/k$mode.man")"
		r=$(timeout 300 python3 "$FIO" read "$K" "$WORK/k$mode.man")
		check_eq "$mode: ... and through the mount (ok err bad)" "$nack 0 0 -" "$r"
		size=$(s3 head "$BUCKET" "$base/open/unclosed.bin" 2>/dev/null | awk '/^size/{print $2}')
		check_eq "$mode: the unclosed file is not in S3" "" "$size"
		read -r r _ < <(timeout 60 python3 "$FIO" stat "$K/$base/open/unclosed.bin")
		check_eq "$mode: the unclosed file is not in the mount" ENOENT "$r"
		check "$mode: the daemon runs" alive "$DAEMON_PID" "$K"
		echo "# multipart uploads left in the bucket (the reaper's job): $(s3 mpu-ls "$BUCKET" 2>/dev/null | wc -l)"
		daemon_collect "$K"
		check "unmount" umount_fs "$K"
		proxy_collect
		T_WRITTEN=$((T_WRITTEN + nack))
		T_VERIFIED=$((T_VERIFIED + nack))
	done

	echo "# async: a journal record whose cache data was lost or cut short"
	K=$WORK/mnt-kill-journal
	C=$WORK/cache-kill-journal
	write_conf "$WORK/kill-journal.conf" "$BUCKET" "$PROXY_URL" "$C" "upload = async"
	mount_fs "$WORK/kill-journal.conf" "$K" || { not_ok "mount"; finish; }
	proxy_faults "down:1.0@PutObject"
	out=$(timeout 120 python3 "$FIO" write "$K" 2026/11/25/8/journal 2 256 kj "$WORK/kj.man" "$WORK/kj.fail")
	check_eq "two files journaled ($out)" 2 "$(journal_records "$C" | wc -l)"
	check "kill -9" kill_daemon "$K"
	T_CRASHES=$((T_CRASHES + 1))
	recs=$(journal_records "$C")
	r1=$(echo "$recs" | head -1)
	r2=$(echo "$recs" | tail -1)
	truncate -s 100000 "$C/objects/${r1:0:2}/$r1"  # cut short (a power cut, journal_fsync = false)
	rm -f "$C/objects/${r2:0:2}/$r2"               # lost (someone cleaned the cache)
	proxy_faults ""
	mount_fs "$WORK/kill-journal.conf" "$K" || { not_ok "restart"; finish; }
	# The restart replays both records: a damaged one is set aside, a lost
	# one dropped; either way none is left to upload.
	check "restart: no journal record left to upload" wait_until 60 journal_empty "$C"
	bad=0
	while read -r name want; do
		size=$(s3 head "$BUCKET" "$name" 2>/dev/null | awk '/^size/{print $2}')
		if [ -n "$size" ]; then
			echo "# $name: in S3 with $size bytes (written: 262144)"
			[ "$(s3_check <(echo "$name $want"))" = 0 ] || bad=$((bad + 1))
		fi
	done < "$WORK/kj.man"
	check_eq "damaged journal data is not stored as the file" 0 "$bad"
	r=$(timeout 60 python3 "$FIO" read "$K" "$WORK/kj.man")
	read -r _ _ rbad _ <<< "$r"
	check_eq "... nor shown as the file by the mount (ok err bad: $r)" 0 "$rbad"
	check "the daemon runs" alive "$DAEMON_PID" "$K"
	daemon_collect "$K"
	check "unmount" umount_fs "$K"
	proxy_collect
fi

# ===========================================================================
if want diskfull; then
	echo "# the cache disk full (tmpfs of 80 MiB, cache_max_size 64M)"
	TMPFS=$(mktemp -d /tmp/s3csfs-faults-tmpfs.XXXXXX)
	if ! mount -t tmpfs -o size=80M tmpfs "$TMPFS"; then
		not_ok "mount a tmpfs (needs root)"
	else
		F=$WORK/mnt-full
		mkdir -p "$WORK/src"
		base=2026/11/25/9
		write_conf "$WORK/full.conf" "$BUCKET" "$PROXY_URL" "$TMPFS/cache" "upload = sync" \
			"cache_max_size = 64M" "part_size = 5M"
		mount_fs "$WORK/full.conf" "$F" || { not_ok "mount"; finish; }
		out=$(timeout 300 python3 "$FIO" write "$F" "$base/a" 5 8192 full "$WORK/full.man1" "$WORK/full.fail1")
		echo "# through the mount: $out"
		# Objects this cache has never seen.
		: > "$WORK/full.man2"
		for i in 1 2 3; do
			make_file "$WORK/src/s3-$i" 8192 "s3-$i"
			s3 put "$BUCKET" "$base/b/s3-$i.bin" "$WORK/src/s3-$i" > /dev/null
			echo "$base/b/s3-$i.bin $(sha256sum < "$WORK/src/s3-$i" | cut -d' ' -f1)" >> "$WORK/full.man2"
		done
		cat "$WORK/full.man1" "$WORK/full.man2" > "$WORK/full.man"
		check_eq "8 files of 8 MiB stored" 8 "$(wc -l < "$WORK/full.man")"
		rm -f "$WORK/ready" "$WORK/go"
		python3 "$FIO" hold "$F" "$base/c/huge.bin" 102400 huge "$WORK/full.hold" "$WORK/ready" "$WORK/go" > /dev/null 2>&1 &
		H=$!
		wait_for 300 test -e "$WORK/ready"
		read -r nwritten werr < "$WORK/ready"
		echo "# 100 MiB file: $nwritten bytes written, then $werr; tmpfs: $(df -k --output=used,avail "$TMPFS" | tail -1)"
		check "writing 100 MiB fails cleanly (ENOSPC or EIO at write)" \
			test "$werr" = ENOSPC -o "$werr" = EIO
		# 40 MiB of clean, evictable files were cached: kept to cache_max_size,
		# the dirty file may grow to about 64 MiB before the disk is full.
		check "clean files make room for the file being written ($((nwritten >> 20)) MiB >= 60 MiB before ENOSPC)" \
			test "$nwritten" -ge $((60 << 20))
		check "the daemon runs" alive "$DAEMON_PID" "$F"
		sync
		echo 3 > /proc/sys/vm/drop_caches
		r=$(timeout 300 python3 "$FIO" read "$F" "$WORK/full.man")
		check_eq "while the disk is full: stored files read back (ok err bad)" "8 0 0 -" "$r"
		touch "$WORK/go"
		wait_for 120 bash -c "! kill -0 $H 2>/dev/null"
		read -r _ _ _ _ cerr < "$WORK/full.hold"
		s3size=$(s3 head "$BUCKET" "$base/c/huge.bin" 2>/dev/null | awk '/^size/{print $2}')
		check "negative_timeout passes for the failed file" negative_past "$F" "$base/c/huge.bin"
		read -r r _ < <(timeout 60 python3 "$FIO" stat "$F/$base/c/huge.bin")
		echo "# 100 MiB file: close gave $cerr; in S3: ${s3size:-no}; in the mount: $r"
		check "its close reports an error (ENOSPC or EIO)" test "$cerr" = ENOSPC -o "$cerr" = EIO
		check_eq "the failed file is not in S3" "" "$s3size"
		check_eq "... nor in the mount" ENOENT "$r"
		used=$(df -k --output=used "$TMPFS" | tail -1)
		echo "# tmpfs used after the failure: $used KiB"
		check_le "its cache space is given back (KiB used)" $((64 * 1024)) "$used"
		out=$(timeout 300 python3 "$FIO" write "$F" "$base/d" 4 4096 fulld "$WORK/full.man3" "$WORK/full.fail3")
		echo "# after the failure: $out"
		check_eq "writes work again once the space is back" 4 "$(wc -l < "$WORK/full.man3")"
		cat "$WORK/full.man3" >> "$WORK/full.man"
		check_eq "nothing acknowledged lost: all in S3, identical" 0 "$(s3_check "$WORK/full.man")"
		sync
		echo 3 > /proc/sys/vm/drop_caches
		r=$(timeout 300 python3 "$FIO" read "$F" "$WORK/full.man")
		check_eq "... and through the mount (ok err bad)" "12 0 0 -" "$r"
		check "the daemon runs" alive "$DAEMON_PID" "$F"
		daemon_collect "$F"
		check "unmount" umount_fs "$F"
		umount "$TMPFS" && rmdir "$TMPFS" && TMPFS=""
		T_WRITTEN=$((T_WRITTEN + 12))
		T_VERIFIED=$((T_VERIFIED + 12))
	fi
	proxy_collect
fi

# ===========================================================================
if want hostile; then
	echo "# malformed and hostile answers"
	M=$WORK/mnt-hostile
	R=$WORK/mnt-reader
	base=2026/11/25/10
	# dir_cache_timeout = 0: every ls below must reach the hostile server.
	write_conf "$WORK/hostile.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-hostile" "upload = sync" \
		"max_retries = 3" "retry_max_time = 10s" "part_size = 5M" "dir_cache_timeout = 0"
	write_conf "$WORK/reader.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-reader" \
		"max_retries = 3" "retry_max_time = 10s" "part_size = 5M"
	mount_fs "$WORK/hostile.conf" "$M" || { not_ok "mount"; finish; }
	PID_M=$DAEMON_PID
	out1=$(timeout 300 python3 "$FIO" write "$M" "$base/s" 20 256 hs "$WORK/h.man1" "$WORK/h.fail1")
	out2=$(timeout 300 python3 "$FIO" write "$M" "$base/b" 2 12288 hb "$WORK/h.man2" "$WORK/h.fail2")
	cat "$WORK/h.man1" "$WORK/h.man2" > "$WORK/h.man"
	check_eq "22 files written ($out1; $out2)" 22 "$(wc -l < "$WORK/h.man")"
	nfiles=$(ls "$M/$base/s/0" | wc -l)
	check_eq "ls before the faults" 20 "$nfiles"
	hwm0=$(hwm_kib "$PID_M")

	echo "# badxml on ListObjectsV2"
	proxy_faults "badxml:1.0@ListObjectsV2"
	rc=0
	timeout 120 ls "$M/$base/s/0" > "$WORK/ls.out" 2> "$WORK/ls.err" || rc=$?
	echo "# ls: exit $rc, $(wc -l < "$WORK/ls.out") names, $(head -c 200 "$WORK/ls.err")"
	check "ls with malformed XML fails (not a timeout)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "... with 'Input/output error'" grep -q "Input/output error" "$WORK/ls.err"
	check "the daemon survives badxml" alive "$PID_M" "$M"
	echo "# proxy faults injected: $(proxy_faults_str)"

	echo "# hugexml (50 MB) on ListObjectsV2"
	proxy_faults "hugexml:1.0:50000000@ListObjectsV2"
	rc=0
	t0=$(date +%s)
	timeout 300 ls "$M/$base/s/0" > "$WORK/ls.out" 2> "$WORK/ls.err" || rc=$?
	hwm1=$(hwm_kib "$PID_M")
	echo "# ls: exit $rc in $(($(date +%s) - t0)) s, $(wc -l < "$WORK/ls.out") names; daemon peak RSS $((hwm0 / 1024)) -> $((hwm1 / 1024)) MiB"
	check "ls with a 50 MB listing: an answer, not a hang" test "$rc" -ne 124
	check "the daemon survives hugexml" alive "$PID_M" "$M"
	check_le "peak RSS stays bounded (MiB)" "$RSS_MAX" $((hwm1 / 1024))
	echo "# proxy faults injected: $(proxy_faults_str)"
	proxy_faults ""
	check_eq "ls after the faults" 20 "$(ls "$M/$base/s/0" | wc -l)"

	echo "# a key that XML 1.0 cannot carry (a control character), written by another client"
	echo ctl > "$WORK/ctl.txt"
	if s3 put "$BUCKET" "$base/s/0/ctl"$'\x01'"name.bin" "$WORK/ctl.txt" > /dev/null 2>&1; then
		rc=0
		timeout 120 ls "$M/$base/s/0" > "$WORK/ls.out" 2> "$WORK/ls.err" || rc=$?
		echo "# ls: exit $rc, $(wc -l < "$WORK/ls.out") names $(head -c 200 "$WORK/ls.err")"
		check "a directory holding such a key still lists" test "$rc" -eq 0
		# The odd name itself may be hidden (the mount cannot address it).
		check_eq "... with the 20 other files" 20 "$(grep -vc $'\x01' "$WORK/ls.out")"
		check "the daemon survives" alive "$PID_M" "$M"
		s3 rm "$BUCKET" "$base/s/0/ctl"$'\x01'"name.bin"
	else
		not_ok "the server takes a key with a control character"
	fi

	echo "# truncated GetObject answers (a cold reader)"
	for p in 1.0 0.3; do
		rm -rf "$WORK/cache-reader"
		mount_fs "$WORK/reader.conf" "$R" || { not_ok "mount reader"; break; }
		proxy_faults "truncate:$p@GetObject"
		r=$(timeout 600 python3 "$FIO" read "$R" "$WORK/h.man" 2> "$WORK/trunc.err")
		read -r rok rerr rbad rerrs <<< "$r"
		echo "# truncate:$p: $rok identical, $rerr errors ($rerrs), $rbad wrong; $(proxy_faults_str)"
		check_eq "truncate:$p: never wrong bytes" 0 "$rbad"
		check "truncate:$p: errors are EIO only" test "$rerrs" = - -o "$(echo "$rerrs" | sed 's/EIO=[0-9]*//')" = ""
		[ "$p" = 1.0 ] && check_eq "truncate:1.0: every read fails" 22 "$rerr"
		check "truncate:$p: the daemon survives" alive "$DAEMON_PID" "$R"
		proxy_faults ""
		daemon_collect "$R"
		check "unmount reader" umount_fs "$R"
	done

	echo "# malformed answers to uploads"
	for spec in "badxml:1.0@CreateMultipartUpload" "badxml:1.0@CompleteMultipartUpload" \
		"hugexml:1.0:50000000@CompleteMultipartUpload" "truncate:0.5@PutObject+UploadPart+CompleteMultipartUpload"; do
		tag=$(echo "$spec" | tr ':@.+' '____')
		proxy_faults "$spec"
		out1=$(timeout 300 python3 "$FIO" write "$M" "$base/x/$tag" 3 256 "x$tag" "$WORK/x.man" "$WORK/x.fail")
		out2=$(timeout 300 python3 "$FIO" write "$M" "$base/y/$tag" 2 12288 "y$tag" "$WORK/y.man" "$WORK/y.fail")
		echo "# $spec: small $out1; 12 MiB $out2; $(proxy_faults_str)"
		proxy_faults ""
		cat "$WORK/x.man" "$WORK/y.man" > "$WORK/xy.man"
		cat "$WORK/x.fail" "$WORK/y.fail" > "$WORK/xy.fail"
		check "$spec: errors are EIO at close only" \
			test "$(awk '$2 != "close" || $3 != "EIO"' "$WORK/xy.fail" | wc -l)" -eq 0
		check_eq "$spec: every acknowledged file in S3, identical" 0 "$(s3_check "$WORK/xy.man")"
		check "$spec: negative_timeout passes for the failed files" \
			failed_past_negative "$M" "$WORK/xy.fail"
		awk '{print $1, $5}' "$WORK/xy.fail" >> "$WORK/xy.man"
		r=$(timeout 300 python3 "$FIO" read "$M" "$WORK/xy.man")
		read -r _ _ rbad _ <<< "$r"
		check_eq "$spec: the mount never shows other bytes (ok err bad: $r)" 0 "$rbad"
		check "$spec: the daemon survives" alive "$PID_M" "$M"
		T_WRITTEN=$((T_WRITTEN + $(wc -l < "$WORK/x.man") + $(wc -l < "$WORK/y.man")))
		T_VERIFIED=$((T_VERIFIED + $(wc -l < "$WORK/x.man") + $(wc -l < "$WORK/y.man")))
	done
	check_le "peak RSS stays bounded (MiB)" "$RSS_MAX" $(($(hwm_kib "$PID_M") / 1024))

	echo "# a 50 MB XML document instead of the object (GetObject), a cold reader"
	rm -rf "$WORK/cache-reader"
	mount_fs "$WORK/reader.conf" "$R" || not_ok "mount reader"
	proxy_faults "hugexml:1.0:50000000@GetObject"
	r=$(timeout 600 python3 "$FIO" read "$R" "$WORK/h.man" 2> "$WORK/huge.err")
	read -r rok rerr rbad rerrs <<< "$r"
	echo "# $rok identical, $rerr errors ($rerrs), $rbad wrong; reader peak RSS $(($(hwm_kib "$DAEMON_PID") / 1024)) MiB; $(proxy_faults_str)"
	check_eq "hugexml on GetObject: never wrong bytes" 0 "$rbad"
	check "hugexml on GetObject: the daemon survives" alive "$DAEMON_PID" "$R"
	check_le "hugexml on GetObject: peak RSS bounded (MiB)" "$RSS_MAX" $(($(hwm_kib "$DAEMON_PID") / 1024))
	proxy_faults ""
	daemon_collect "$R"
	check "unmount reader" umount_fs "$R"

	echo "# CompleteMultipartUpload: 200 with an error body"
	proxy_faults "errbody200:1.0@CompleteMultipartUpload"
	out=$(timeout 300 python3 "$FIO" write "$M" "$base/e" 2 12288 he "$WORK/he.man" "$WORK/he.fail")
	echo "# $out; $(proxy_faults_str); $(cat "$WORK/he.fail" | head -2)"
	check_eq "errbody200:1.0: close gives EIO for both" "2" \
		"$(awk '$2 == "close" && $3 == "EIO"' "$WORK/he.fail" | wc -l)"
	eb0=$(proxy_fault_count errbody200)
	proxy_faults "errbody200:0.5@CompleteMultipartUpload"
	out=$(timeout 300 python3 "$FIO" write "$M" "$base/f" 6 6144 hf "$WORK/hf.man" "$WORK/hf.fail")
	echo "# errbody200:0.5: $out; $(proxy_faults_str)"
	proxy_faults ""
	# An error document in a 200 answer is to be retried like the 500 it
	# stands for (AWS: "CompleteMultipartUpload ... can return 200 OK with an
	# error"): with max_retries = 3 a file fails only once all 4 of its
	# completions were answered so (one not retried would fail on its
	# first). Counted, not left to chance: how many files fail at p = 0.5
	# depends on which requests draw the faults. At least 2 per failed
	# file, so a retry cut short by retry_max_time still passes.
	ebn=$(($(proxy_fault_count errbody200) - eb0))
	nhfail=$(wc -l < "$WORK/hf.fail")
	echo "# errbody200:0.5: $ebn completions answered with an error in a 200, $nhfail files failed"
	check "errbody200:0.5: retried: at least 2 such answers per failed file ($nhfail failed, $ebn answers)" \
		test $((2 * nhfail)) -le "$ebn"
	check "errbody200:0.5: close errors are EIO only" \
		test "$(awk '{print $2":"$3}' "$WORK/hf.fail" | grep -vc '^close:EIO$')" -eq 0
	check_eq "errbody200:0.5: every acknowledged file in S3, identical" 0 "$(s3_check "$WORK/hf.man")"
	# What the daemon shows of the failed ones is never other bytes.
	check "negative_timeout passes for the failed files" \
		failed_past_negative "$M" "$WORK/he.fail" "$WORK/hf.fail"
	awk '{print $1, $5}' "$WORK/he.fail" "$WORK/hf.fail" > "$WORK/hfail.man"
	r=$(timeout 300 python3 "$FIO" read "$M" "$WORK/hfail.man")
	read -r _ _ rbad _ <<< "$r"
	echo "# the files whose close failed, read through the mount (ok err bad): $r"
	check_eq "failed files: the mount never shows other bytes" 0 "$rbad"
	check "the daemon survives errbody200" alive "$PID_M" "$M"
	r=$(timeout 300 python3 "$FIO" read "$M" "$WORK/h.man")
	check_eq "earlier files still read back (ok err bad)" "22 0 0 -" "$r"
	echo "# multipart uploads left in the bucket: $(s3 mpu-ls "$BUCKET" 2>/dev/null | wc -l)"
	nhf=$(wc -l < "$WORK/hf.man")
	daemon_collect "$M"
	check "unmount" umount_fs "$M"
	proxy_collect
	T_WRITTEN=$((T_WRITTEN + 22 + nhf))
	T_VERIFIED=$((T_VERIFIED + 22 + nhf))
fi

if want backlog; then
	# Writers faster than S3 with upload = async (the proxy holds each
	# PutObject 0.5 s): past max_queued_uploads closed files waiting, a
	# close() waits for room, so what waits (memory, a descriptor each)
	# stays bounded; below it, a burst closes at once. 24 files of 4 KiB,
	# one writer, which without the bound closes them all in well under
	# one PutObject's time.
	for bound in 4 1024; do
		B=$WORK/mnt-backlog-$bound
		write_conf "$WORK/backlog-$bound.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-backlog-$bound" \
			"upload = async" "max_queued_uploads = $bound"
		mount_fs "$WORK/backlog-$bound.conf" "$B" || { not_ok "backlog: mount"; finish; }
		proxy_faults "latency:1.0:0.5@PutObject"
		out=$(timeout 120 python3 "$FIO" write "$B" "2026/11/25/9/backlog$bound" 24 4 "bl$bound" \
			"$WORK/bl$bound.man" "$WORK/bl$bound.fail")
		pending=$(dstat "$B" uploads_pending)
		throttled=$(dstat "$B" uploads_throttled)
		echo "# max_queued_uploads = $bound: $out; right after the last close: uploads_pending $pending, uploads_throttled $throttled"
		check_eq "backlog $bound: 24 closes returned 0" 24 "$(wc -l < "$WORK/bl$bound.man")"
		if [ "$bound" = 4 ]; then
			check "backlog 4: closes waited for room (uploads_throttled $throttled >= 1)" \
				test "$throttled" -ge 1
			check "backlog 4: at most 4 files waited when the last close returned ($pending)" \
				test "$pending" -le 4
		else
			check_eq "backlog 1024: no close waited" 0 "$throttled"
			check "backlog 1024: the burst closed ahead of S3 ($pending files waiting, more than 4)" \
				test "$pending" -gt 4
		fi
		check "backlog $bound: every upload landed" wait_for 120 no_pending "$B"
		proxy_faults ""
		check_eq "backlog $bound: every acknowledged file in S3, identical" 0 "$(s3_check "$WORK/bl$bound.man")"
		daemon_collect "$B"
		check "backlog $bound: unmount" umount_fs "$B"
		proxy_collect
		T_WRITTEN=$((T_WRITTEN + 24))
		T_VERIFIED=$((T_VERIFIED + 24))
	done
fi

# Whether the proxy holds (or held) an answer it had from the server.
late_answer_held() { [ "$(proxy_fault_count late)" -ge 1 ]; }

if want listrace; then
	# A listing answered by S3 before an upload landed, which reaches the
	# daemon after it landed: the proxy holds each PutObject 0.5 s before
	# forwarding it and each ListObjectsV2's answer 2 s after the server
	# made it. With upload = async the files closed just before the
	# listing are waiting (local) when it is sent and stored (no longer
	# local) when it answers without them; they must be listed anyway.
	for mode in sync async; do
		B=$WORK/mnt-listrace-$mode
		write_conf "$WORK/listrace-$mode.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-listrace-$mode" \
			"upload = $mode" "attr_timeout = 0" "dir_cache_timeout = 0"
		mount_fs "$WORK/listrace-$mode.conf" "$B" || { not_ok "listrace: mount"; finish; }
		D=$B/2026/12/4/5/listrace-$mode
		mkdir -p "$D"
		proxy_faults "latency:1.0:0.5@PutObject,late:1.0:2@ListObjectsV2"
		for i in 1 2 3; do printf 'listrace %s %s' "$mode" "$i" > "$D/f$i.bin"; done
		listed=$(ls "$D" | tr '\n' ' ')
		pending=$(dstat "$B" uploads_pending)
		late=$(proxy_fault_count late)
		proxy_faults ""
		echo "# $mode: listed '$listed' (held listings $late); uploads waiting when it answered: $pending"
		check "listrace $mode: the listing was held (late $late >= 1)" test "$late" -ge 1
		check_eq "listrace $mode: the uploads had landed when the listing answered" 0 "$pending"
		check_eq "listrace $mode: every file closed before the listing is in it" "f1.bin f2.bin f3.bin " "$listed"
		check_eq "listrace $mode: and in the next one" "f1.bin f2.bin f3.bin " "$(ls "$D" | tr '\n' ' ')"
		# A file replaced here while a listing is on its way: the listing
		# (made before) must not bring back the old size and ETag. attr_timeout
		# = 0: every stat asks the daemon, not the kernel's copy;
		# dir_cache_timeout = 0: every ls asks S3.
		printf 'old' > "$D/f1.bin"
		proxy_reset
		proxy_faults "latency:1.0:0.5@PutObject,late:1.0:2@ListObjectsV2"
		printf 'the new and longer content' > "$D/f1.bin"
		ls "$D" > /dev/null
		proxy_faults ""
		check_eq "listrace $mode: a file replaced during a listing keeps its new size" 26 "$(stat -c %s "$D/f1.bin")"
		check_eq "listrace $mode: and its new bytes" "the new and longer content" "$(cat "$D/f1.bin")"
		# A file removed here while a listing is on its way: the listing
		# (made before) must not bring it back.
		proxy_reset
		proxy_faults "late:1.0:3@ListObjectsV2"
		ls "$D" > "$WORK/listrace.ls" &
		lspid=$!
		wait_for 10 late_answer_held
		during=no
		kill -0 "$lspid" 2> /dev/null && during=yes
		rm "$D/f2.bin"
		wait "$lspid"
		check_eq "listrace $mode: the rm ran while the listing was held" yes "$during"
		proxy_faults ""
		echo "# $mode: listed during the rm: $(tr '\n' ' ' < "$WORK/listrace.ls")"
		check "listrace $mode: a file removed during a listing stays removed" test ! -e "$D/f2.bin"
		check_eq "listrace $mode: and is not listed after" "f1.bin f3.bin " "$(ls "$D" | tr '\n' ' ')"
		check "listrace $mode: unmount" umount_fs "$B"
		proxy_collect
	done
fi

echo "# figures: proxy requests $T_REQ, faults injected $T_FAULTS; daemon retries $T_RETRIES, requests answered with an error after retries $T_DERR (including the 404s of lookups)"
echo "# figures: files acknowledged and verified (sha256, in S3 and through the mount) $T_VERIFIED of $T_WRITTEN; close errors reported $T_CLOSEERR; kill -9 survived $T_CRASHES"
drop_bucket "$BUCKET"
finish
