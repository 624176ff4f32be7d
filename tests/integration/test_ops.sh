#!/usr/bin/env bash
# test_ops.sh - operating s3csfs (issue "Operating s3csfs"): make install
# into a temporary prefix, mounts through the installed mount helper,
# `mount -t fuse.s3csfs` and an fstab line, `umount`; systemd-analyze verify
# of the installed unit; mandoc -Tlint of the man pages; `s3csfs check`
# against the server and against a wrong secret, a missing bucket and a dead
# endpoint (each under 10 s); the statistics files and `s3csfs stats`.
#
# mount(8) runs helpers from /sbin only, and with a PATH of its own
# (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), from which
# mount.fuse3 runs the daemon. So that `mount -t fuse.s3csfs` uses what this
# test installed, the test creates, for its own duration and only where no
# such file exists, two symbolic links outside its work directory:
#   /sbin/mount.fuse.s3csfs -> PREFIX/sbin/mount.fuse.s3csfs
#   /usr/local/sbin/s3csfs  -> PREFIX/bin/s3csfs
# and removes them at exit (a lock file serialises concurrent runs).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PREFIX=$WORK/prefix
SYS_HELPER=/sbin/mount.fuse.s3csfs
SYS_DAEMON=/usr/local/sbin/s3csfs
CREATED=()

ops_cleanup() {
	local l
	for l in "${CREATED[@]}"; do
		case "$(readlink "$l")" in "$PREFIX"/*) rm -f "$l" ;; esac
	done
}
trap 'ops_cleanup; cleanup' EXIT

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# The pids of processes running the installed binary (this test's prefix).
installed_daemon_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$PREFIX/bin/s3csfs" ] && echo "${p#/proc/}"
	done
}

# track_mount MNT: registers a mount made through mount(8) (the daemon
# detached) for cleanup; sets MPID to its daemon.
track_mount() {
	MOUNTS+=("$1")
	MPID=$(installed_daemon_pids | head -1)
	[ -n "$MPID" ] && PIDS+=("$MPID")
}

# umount_and_wait MNT PID: umount(8), then the daemon must exit (bounded).
umount_and_wait() {
	umount "$1" || return 1
	[ -n "$2" ] || return 0
	for _ in $(seq 300); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

# stat_of FILE NAME -> the value of "NAME value" in a copy of the stats file;
# a missing counter reads as -1000000000, so that every check on it fails.
stat_of() {
	awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print -1000000000 }' "$1"
}

BUCKET=s3csfs-ops-$$
new_bucket "$BUCKET"
chmod 711 "$WORK" # the mount points below are used by another user too

echo "# make install into a temporary prefix"
# The inner make must not inherit the jobserver or variables of a make check.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" install prefix="$PREFIX" \
	> "$WORK/install.log" 2>&1; then
	ok "make install prefix=$PREFIX"
else
	not_ok "make install prefix=$PREFIX"
	tail -20 "$WORK/install.log" | sed 's/^/#   /'
fi
for f in bin/s3csfs share/man/man8/s3csfs.8 share/man/man5/s3csfs.conf.5 \
	etc/s3csfs/s3csfs.conf.example lib/systemd/system/s3csfs@.service; do
	check "installed $f" test -s "$PREFIX/$f"
done
check_eq "installed binary runs" "s3csfs " "$("$PREFIX/bin/s3csfs" --version 2>&1 | cut -c1-7)"
check "example configuration installed as s3csfs.conf.example" \
	cmp -s "$TOP/etc/s3csfs.conf" "$PREFIX/etc/s3csfs/s3csfs.conf.example"
helper=$PREFIX/sbin/mount.fuse.s3csfs
check "mount helper is a link to an executable mount.fuse3" \
	bash -c '[ -L "$1" ] && [ -x "$1" ] && [ "$(basename "$(readlink "$1")")" = mount.fuse3 ]' _ "$helper"
unit=$PREFIX/lib/systemd/system/s3csfs@.service
check "the unit runs the installed binary" grep -q "^ExecStart=$PREFIX/bin/s3csfs " "$unit"
check "the unit reads $PREFIX/etc/s3csfs/%i.conf" grep -q "conf=$PREFIX/etc/s3csfs/%i.conf," "$unit"
check "no @variable@ left in the unit" bash -c '! grep -q "@[A-Za-z_]*@" "$1"' _ "$unit"
if grep -q '^#define HAVE_SYSTEMD 1' "$BUILD/config.h"; then type=notify; else type=simple; fi
check "the unit is Type=$type" grep -qx "Type=$type" "$unit"
echo "# mine" > "$PREFIX/etc/s3csfs/s3csfs.conf"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" install prefix="$PREFIX" > "$WORK/install2.log" 2>&1
check_eq "a second make install leaves s3csfs.conf alone" "# mine" "$(cat "$PREFIX/etc/s3csfs/s3csfs.conf")"

echo "# systemd-analyze verify, mandoc -Tlint"
out=$(systemd-analyze verify --man=no "$unit" 2>&1)
rc=$?
check_eq "systemd-analyze verify accepts the unit (exit status)" 0 "$rc"
check_eq "systemd-analyze verify: no warnings" "" "$out"
for m in man8/s3csfs.8 man5/s3csfs.conf.5; do
	# stderr only carries notes about the system's man database.
	out=$(mandoc -Tlint "$PREFIX/share/man/$m" 2>/dev/null)
	rc=$?
	check_eq "mandoc -Tlint $m: clean" "0:" "$rc:$out"
done

echo "# mounting the way an operator does"
CONF=$WORK/ops.conf
MNT=$WORK/mnt
write_conf "$CONF" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache"
mkdir -p "$MNT"
make_file "$WORK/small" 48 ops
D=2026/11/25/9/41

# 1. The installed helper, run directly (as mount(8) would), with the
#    installed binary first in PATH.
if PATH="$PREFIX/bin:$PATH" timeout 30 "$helper" s3csfs "$MNT" -o "_netdev,allow_other,conf=$CONF" \
	> "$WORK/helper.out" 2>&1 && mountpoint -q "$MNT"; then
	track_mount "$MNT"
	ok "mount.fuse.s3csfs s3csfs MNT -o conf=... mounts"
	check_eq "the daemon is the installed binary" "$PREFIX/bin/s3csfs" "$(readlink "/proc/$MPID/exe")"
	check "the mount is of type fuse.s3csfs" \
		bash -c '[ "$(findmnt -n -o FSTYPE --mountpoint "$1")" = fuse.s3csfs ]' _ "$MNT"
	mkdir -p "$MNT/$D"
	cp "$WORK/small" "$MNT/$D/helper.bin"
	check "write and read back through the helper's mount" cmp -s "$WORK/small" "$MNT/$D/helper.bin"
	check "umount, and the daemon exits" umount_and_wait "$MNT" "$MPID"
else
	not_ok "mount.fuse.s3csfs s3csfs MNT -o conf=... mounts"
	sed 's/^/#   /' "$WORK/helper.out"
fi
check "helper.bin is in S3 after the unmount" \
	bash -c '"$S3TOOL" get "$1" "$2" - 2>/dev/null | cmp -s - "$3"' _ "$BUCKET" "$D/helper.bin" "$WORK/small"

# 2. and 3. mount(8) itself: needs the system links (see the top).
exec 9> /tmp/s3csfs-test-ops.lock
links_ok=1
if ! flock -w 300 9; then
	not_ok "lock /tmp/s3csfs-test-ops.lock (another test_ops.sh holds it)"
	links_ok=0
fi
for pair in "$SYS_HELPER:$helper" "$SYS_DAEMON:$PREFIX/bin/s3csfs"; do
	[ "$links_ok" = 1 ] || break
	l=${pair%%:*}
	t=${pair#*:}
	if [ -e "$l" ] || [ -L "$l" ]; then
		if [ "$l" = "$SYS_DAEMON" ]; then
			not_ok "$l exists (not this test's): mount(8) would not run the installed daemon"
			links_ok=0
		fi
		continue # an installed /sbin/mount.fuse.s3csfs links to mount.fuse3 as well
	fi
	ln -s "$t" "$l" && CREATED+=("$l")
done

if [ "$links_ok" = 1 ]; then
	if timeout 30 mount -t fuse.s3csfs s3csfs "$MNT" \
		-o "_netdev,noauto,x-systemd.automount,allow_other,conf=$CONF" > "$WORK/mount.out" 2>&1 &&
		mountpoint -q "$MNT"; then
		track_mount "$MNT"
		ok "mount -t fuse.s3csfs s3csfs MNT -o _netdev,noauto,x-systemd.automount,allow_other,conf=..."
		check_eq "the daemon is the installed binary" "$PREFIX/bin/s3csfs" "$(readlink "/proc/$MPID/exe")"
		check "a file written with mount -t ..." cp "$WORK/small" "$MNT/$D/mount-t.bin"
		check "... reads back identical" cmp -s "$WORK/small" "$MNT/$D/mount-t.bin"
		check "the file written through the helper is there" cmp -s "$WORK/small" "$MNT/$D/helper.bin"
		check "umount MNT, and the daemon exits" umount_and_wait "$MNT" "$MPID"
		check "MNT is no longer a mount point" bash -c '! mountpoint -q "$1"' _ "$MNT"
	else
		not_ok "mount -t fuse.s3csfs s3csfs MNT -o ...,conf=..."
		sed 's/^/#   /' "$WORK/mount.out"
	fi
	check "mount-t.bin is in S3 after the unmount" \
		bash -c '"$S3TOOL" get "$1" "$2" - 2>/dev/null | cmp -s - "$3"' _ "$BUCKET" "$D/mount-t.bin" "$WORK/small"

	# An fstab line (in a file of its own: mount --fstab), owned by
	# another user as for an application: uid/gid/umask.
	echo "s3csfs $MNT fuse.s3csfs noauto,x-systemd.automount,_netdev,allow_other,default_permissions,uid=65534,gid=65534,umask=0022,conf=$CONF 0 0" \
		> "$WORK/fstab"
	if timeout 30 mount --fstab "$WORK/fstab" "$MNT" > "$WORK/mount.out" 2>&1 && mountpoint -q "$MNT"; then
		track_mount "$MNT"
		ok "mount MNT from an fstab line"
		check_eq "files shown as owned by uid 65534" 65534 "$(stat -c %u "$MNT/$D/mount-t.bin")"
		check "that user can write a file" \
			setpriv --reuid=65534 --regid=65534 --clear-groups \
			sh -c 'echo written-by-65534 > "$1"' _ "$MNT/$D/user.bin"
		check_eq "... and read it back" written-by-65534 \
			"$(setpriv --reuid=65534 --regid=65534 --clear-groups cat "$MNT/$D/user.bin")"
		check "umount MNT, and the daemon exits" umount_and_wait "$MNT" "$MPID"
	else
		not_ok "mount MNT from an fstab line"
		sed 's/^/#   /' "$WORK/mount.out"
	fi
fi
ops_cleanup
CREATED=()
flock -u 9

echo "# s3csfs check"
BIN=$PREFIX/bin/s3csfs
[ -x "$BIN" ] || BIN=$S3CSFS
# run_check NAME CONF: runs s3csfs check (bounded), output in
# $WORK/check.NAME; sets RC and MS (milliseconds taken).
run_check() {
	local t0
	t0=$(now_ms)
	timeout 60 "$BIN" check -o "conf=$2" > "$WORK/check.$1" 2>&1
	RC=$?
	MS=$(($(now_ms) - t0))
	sed 's/^/#   /' "$WORK/check.$1"
}
run_check ok "$CONF"
check_eq "check: exit status 0" 0 "$RC"
check "check: OK for the bucket" grep -q "^OK   \[bucket:main\] $BUCKET exists" "$WORK/check.ok"
for probe in write "read back" delete; do
	check "check: OK $probe" grep -q "^OK   \[bucket:main\] $probe" "$WORK/check.ok"
done
check "check: summary line OK" grep -q "^OK: 0 failure(s)$" "$WORK/check.ok"
check "check: no FAIL line" bash -c '! grep -q "^FAIL" "$1"' _ "$WORK/check.ok"
check_eq "check left no probe object behind" "" "$(s3 ls "$BUCKET" .s3csfs-check 2>/dev/null)"

sed 's/^secret_key = .*/secret_key = wrong0wrong0wrong0wrong0wrong0wrong0wrong/' "$CONF" > "$WORK/secret.conf"
missing=s3csfs-ops-missing-$$
sed "s/^name = .*/name = $missing/" "$CONF" > "$WORK/missing.conf"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
sed "s|^endpoint = .*|endpoint = http://127.0.0.1:$port|" "$CONF" > "$WORK/dead.conf"
chmod 600 "$WORK/secret.conf" "$WORK/missing.conf" "$WORK/dead.conf"
for c in secret:"a wrong secret key" missing:"a missing bucket" dead:"a dead endpoint (port $port closed)"; do
	name=${c%%:*}
	what=${c#*:}
	run_check "$name" "$WORK/$name.conf"
	check "check, $what: exits non-zero" test "$RC" -ne 0
	check "check, $what: a FAIL line for the bucket" grep -q "^FAIL \[bucket:main\]" "$WORK/check.$name"
	check "check, $what: summary line FAIL" grep -q "^FAIL: [1-9][0-9]* failure(s)$" "$WORK/check.$name"
	check_le "check, $what: answers within 10 s (ms)" 10000 "$MS"
done
check "wrong secret: the hint names the keys" grep -q "secret key" "$WORK/check.secret"
check "missing bucket: the hint says to create it" grep -q "create the bucket" "$WORK/check.missing"
check "dead endpoint: the hint names the endpoint" grep -q "endpoint" "$WORK/check.dead"
printf '[general]\nno_such_key = 1\n[bucket:main]\nname = %s\n' "$BUCKET" > "$WORK/bad.conf"
run_check bad "$WORK/bad.conf"
check "check, a bad configuration: exits non-zero" test "$RC" -ne 0
check "check, a bad configuration: FAIL config" grep -q "^FAIL config" "$WORK/check.bad"

echo "# statistics"
start_proxy
write_conf "$WORK/stats.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-stats"
S=$WORK/mnt-stats
mount_fs "$WORK/stats.conf" "$S" || { not_ok "mount for the statistics"; drop_bucket "$BUCKET"; finish; }
ST=$S/.s3csfs/stats
check_eq "the statistics directory is hidden from readdir" "" \
	"$(find "$S" -mindepth 1 -maxdepth 1 -name .s3csfs)"
proxy_reset
cp "$ST" "$WORK/st0"
check "the stats file has the counters" \
	bash -c 'for n in requests_total requests.PutObject requests.GetObject errors_total retries bytes_up bytes_down cache_hits cache_misses cache_bytes uploads_pending uploads_inflight reaper_aborts; do grep -q "^$n [0-9][0-9]*$" "$1" || exit 1; done' _ "$WORK/st0"

mkdir -p "$S/$D"
for i in 1 2 3; do make_file "$WORK/s$i" $((4 * i)) "stats$i"; cp "$WORK/s$i" "$S/$D/s$i.bin"; done
cp "$ST" "$WORK/st1"
check_eq "3 small files written: requests.PutObject +3" 3 \
	$(($(stat_of "$WORK/st1" requests.PutObject) - $(stat_of "$WORK/st0" requests.PutObject)))
check_eq "... as many PutObject as the server saw" "$(proxy_op PutObject)" \
	$(($(stat_of "$WORK/st1" requests.PutObject) - $(stat_of "$WORK/st0" requests.PutObject)))
check_eq "... uploads_done +3" 3 \
	$(($(stat_of "$WORK/st1" uploads_done) - $(stat_of "$WORK/st0" uploads_done)))
check_le "... bytes_up grew by at least 24 KiB" \
	$(($(stat_of "$WORK/st1" bytes_up) - $(stat_of "$WORK/st0" bytes_up))) 24576
check_eq "... requests_total counts what the server saw" "$(proxy_total)" \
	$(($(stat_of "$WORK/st1" requests_total) - $(stat_of "$WORK/st0" requests_total)))
check_eq "... uploads_pending back to 0" 0 "$(stat_of "$WORK/st1" uploads_pending)"

# A 3 MiB object put with the S3 client is read cold through the mount.
make_file "$WORK/cold" 3072 cold
s3 put "$BUCKET" "$D/cold.bin" "$WORK/cold" > /dev/null
cp "$ST" "$WORK/st2"
check "a cold 3 MiB file reads back identical" cmp -s "$WORK/cold" "$S/$D/cold.bin"
cp "$ST" "$WORK/st3"
misses=$(($(stat_of "$WORK/st3" cache_misses) - $(stat_of "$WORK/st2" cache_misses)))
check "cold read: cache_misses grew ($misses)" test "$misses" -gt 0
check_le "cold read: bytes_down grew by at least 3 MiB" \
	$(($(stat_of "$WORK/st3" bytes_down) - $(stat_of "$WORK/st2" bytes_down))) 3145728
gets=$(($(stat_of "$WORK/st3" requests.GetObject) - $(stat_of "$WORK/st2" requests.GetObject)))
check "cold read: GetObject requests counted ($gets)" test "$gets" -gt 0
sync
echo 3 > /proc/sys/vm/drop_caches
check "re-read (page cache dropped) identical" cmp -s "$WORK/cold" "$S/$D/cold.bin"
cat "$S/$D/s1.bin" > /dev/null
cp "$ST" "$WORK/st4"
hits=$(($(stat_of "$WORK/st4" cache_hits) - $(stat_of "$WORK/st3" cache_hits)))
check "re-read: cache_hits grew ($hits)" test "$hits" -gt 0
check_eq "re-read: cache_misses unchanged" "$(stat_of "$WORK/st3" cache_misses)" "$(stat_of "$WORK/st4" cache_misses)"
check_eq "re-read: no GetObject" "$(stat_of "$WORK/st3" requests.GetObject)" "$(stat_of "$WORK/st4" requests.GetObject)"
check_le "cache_bytes holds the cold file" "$(stat_of "$WORK/st4" cache_bytes)" 3145728

# The mount is idle now: the two ways of reading must agree.
"$BIN" stats "$S" > "$WORK/stats.cmd" 2>&1
check_eq "s3csfs stats MNT: exit status 0" 0 "$?"
# (cmp reads them through cat: the files are sized 0, like those of /proc)
check "s3csfs stats MNT prints the stats file" bash -c 'cat "$1" | cmp -s - "$2"' _ "$ST" "$WORK/stats.cmd"
"$BIN" stats "$S" --prometheus > "$WORK/metrics.cmd" 2>&1
M=$S/.s3csfs/metrics
check "s3csfs stats MNT --prometheus prints the metrics file" \
	bash -c 'cat "$1" | cmp -s - "$2"' _ "$M" "$WORK/metrics.cmd"
check "metrics: # TYPE s3csfs_requests_total counter" grep -qx '# TYPE s3csfs_requests_total counter' "$M"
check_eq "metrics: PutObject agrees with the stats file" \
	"s3csfs_requests_total{op=\"PutObject\"} $(stat_of "$ST" requests.PutObject)" \
	"$(grep -F 's3csfs_requests_total{op="PutObject"}' "$M")"
check_eq "metrics: every line is a comment or 'name{labels} number'" "" \
	"$(grep -vE '^(# (HELP|TYPE) s3csfs_[a-z_]+ .+|s3csfs_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9]+(\.[0-9]+)?)$' "$M")"
check_eq "metrics: every sample has a # TYPE" "" \
	"$(awk '/^# TYPE/ { t[$3] = $4; next } /^#/ { next } { n = $1; sub(/\{.*/, "", n); h = n; sub(/_(bucket|sum|count)$/, "", h); if (!(n in t) && t[h] != "histogram") print n }' "$M")"
"$BIN" stats "$WORK" > /dev/null 2>&1
check_eq "s3csfs stats on a directory that is no mount: exit status 1" 1 "$?"

echo "# signals"
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do grep -q "reload" "$DAEMON_LOG" && break; sleep 0.1; done
check "SIGHUP: the configuration is reloaded (logged)" grep -q "reload" "$DAEMON_LOG"
check "SIGHUP: still mounted and answering" grep -q "^requests_total [0-9]" "$ST"
kill -TERM "$DAEMON_PID"
for _ in $(seq 300); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
check "SIGTERM: the daemon exits" bash -c '! kill -0 "$1" 2>/dev/null' _ "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "SIGTERM: exit status 0" 0 "$?"
check "SIGTERM: unmounted" bash -c '! mountpoint -q "$1"' _ "$S"

echo "# make uninstall"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" uninstall prefix="$PREFIX" > "$WORK/uninstall.log" 2>&1
check_eq "make uninstall: exit status 0" 0 "$?"
check_eq "make uninstall leaves only the operator's s3csfs.conf" "etc/s3csfs/s3csfs.conf" \
	"$(cd "$PREFIX" && find . ! -type d | sed 's|^\./||')"

drop_bucket "$BUCKET"
finish
