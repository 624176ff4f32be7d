#!/usr/bin/env bash
# test_faults_long.sh - reliability under load (issue 8, make check-long):
# 8 parallel writers and 8 parallel readers for 60 s on about 2000 files of
# 64 KiB - 2 MiB with the cache at its size limit (cache_max_size = 64M, far
# below the data): no error, no corruption (every read compared with the
# bytes written; every file's sha256 checked afterwards through the mount and
# straight from S3), the cache kept to its bound, the daemon's RSS bounded.
#
# LONG_SECONDS (60), LONG_PREFILL (1000) change the load.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

SECONDS_RUN=${LONG_SECONDS:-60}
PREFILL=${LONG_PREFILL:-1000}
RSS_MAX_MIB=${LONG_RSS_MAX_MIB:-256}
[ -n "${ASAN_OPTIONS:-}" ] && RSS_MAX_MIB=${LONG_RSS_MAX_MIB:-1024}
BUCKET=s3csfs-long-$$
new_bucket "$BUCKET"
start_proxy
M=$WORK/mnt
CACHE=$WORK/cache
write_conf "$WORK/long.conf" "$BUCKET" "$PROXY_URL" "$CACHE" \
	"upload = sync" "cache_max_size = 64M" "part_size = 5M" "read_ahead = 4M"

dstat() {
	local v
	v=$(timeout 10 awk -v k="$2" '$1 == k {print $2}' "$1/.s3csfs/stats" 2>/dev/null)
	echo "${v:-0}"
}

# The load: writers and readers, every byte checked.
STRESS=$TOP/tests/tools/load_stress.py

mount_fs "$WORK/long.conf" "$M" || { not_ok "mount"; finish; }
ok "mounted with cache_max_size = 64M"
PID=$DAEMON_PID
rss0=$(awk '/^VmRSS/{print $2}' "/proc/$PID/status")

# Sample the daemon's RSS and the cache's size every second (at most 2 h).
( for _ in $(seq 7200); do
	kill -0 "$PID" 2>/dev/null && [ ! -e "$WORK/stop-sampler" ] || break
	echo "$(date +%s) $(awk '/^VmRSS/{print $2}' "/proc/$PID/status" 2>/dev/null || echo 0) $(du -sk "$CACHE" 2>/dev/null | cut -f1) $(cat "$WORK/manifest.phase" 2>/dev/null || echo prefill)"
	sleep 1
done ) > "$WORK/samples" &
SAMPLER=$!

t0=$(date +%s)
timeout $((SECONDS_RUN + 1800)) python3 "$STRESS" "$M" "$WORK/manifest" long 0 "$PREFILL" "$SECONDS_RUN" 8 8 > "$WORK/stress.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/stress.out"
check_eq "8 writers and 8 readers for ${SECONDS_RUN} s: no error, no wrong byte" 0 "$rc"
touch "$WORK/stop-sampler"
wait "$SAMPLER" 2>/dev/null

nfiles=$(wc -l < "$WORK/manifest")
echo "# $nfiles files in all, in $(($(date +%s) - t0)) s"
check "about 2000 files or more (>= $PREFILL + 100)" test "$nfiles" -ge $((PREFILL + 100))
rss_max=$(awk 'BEGIN{m=0} $2>m{m=$2} END{print m}' "$WORK/samples")
rss_load=$(awk 'BEGIN{m=0} $4=="load" && $2>m{m=$2} END{print m}' "$WORK/samples")
rss_end=$(awk '/^VmRSS/{print $2}' "/proc/$PID/status")
hwm=$(awk '/^VmHWM/{print $2}' "/proc/$PID/status")
cache_max=$(awk 'BEGIN{m=0} $3>m{m=$3} END{print m}' "$WORK/samples")
echo "# daemon VmRSS: $((rss0 / 1024)) MiB after mount, max $((rss_max / 1024)) MiB (load phase $((rss_load / 1024)) MiB), $((rss_end / 1024)) MiB at the end; VmHWM $((hwm / 1024)) MiB"
echo "# cache_dir: at most $((cache_max / 1024)) MiB on disk (sampled each second); stats: cache_bytes $(($(dstat "$M" cache_bytes) >> 20)) MiB, evictions $(dstat "$M" cache_evictions), hits $(dstat "$M" cache_hits), misses $(dstat "$M" cache_misses)"
check_le "daemon RSS bounded (peak VmHWM MiB)" "$RSS_MAX_MIB" $((hwm / 1024))
check "the cache was at its limit (evictions)" test "$(dstat "$M" cache_evictions)" -gt 0
# Dirty files are never evicted: 8 writers x 2 MiB may come on top of 64 MiB.
check_le "cache_dir kept near cache_max_size (MiB on disk, 64 + 8 x 2 + 16 slack)" 96 $((cache_max / 1024))
check_le "cache_bytes at the end within cache_max_size (MiB)" 64 $(($(dstat "$M" cache_bytes) >> 20))
echo "# daemon: requests $(dstat "$M" requests_total), retries $(dstat "$M" retries), uploads_done $(dstat "$M" uploads_done), uploads_failed $(dstat "$M" uploads_failed)"
check_eq "no upload failed" 0 "$(dstat "$M" uploads_failed)"

# Every file, afterwards: through the mount (mostly from S3 again: the cache
# holds 64 MiB of them) and straight from S3.
r=$(timeout 1800 python3 "$(dirname "$0")/fsutil.py" verify "$M" "$WORK/manifest" 2>&1)
echo "# through the mount: $r"
check_eq "every file's sha256 through the mount" "$nfiles files, 0 bad" "$(echo "$r" | tail -1)"
check "the daemon still runs" kill -0 "$PID"
check "unmount" umount_fs "$M"
bad=0
while read -r name want; do
	got=error
	s3 get "$BUCKET" "$name" "$WORK/obj" 2>/dev/null && got=$(sha256sum < "$WORK/obj" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		bad=$((bad + 1))
		[ $bad -le 5 ] && echo "# S3 object $name: $got"
	fi
done < "$WORK/manifest"
check_eq "every file's sha256 straight from S3 ($nfiles)" 0 "$bad"
echo "# figures: $nfiles files written and verified; peak RSS $((hwm / 1024)) MiB; proxy requests $(proxy_total)"
drop_bucket "$BUCKET"
finish
