#!/usr/bin/env bash
# check-soak.sh - "make check-soak" (issue 14; not in make check or CI): a
# long run of small documents written and read back through one mount with
# the cache cycling at its bound (cache_max_size = 64 MiB), half of it with
# upload = sync, half with async, on a Ceph RGW of its own (started here,
# stopped and removed at the end). tests/tools/soak.py writes and reads,
# comparing every byte, and samples the daemon's RSS, threads and open
# descriptors; the checks below say whether they stayed flat.
#
#   make check-soak                          one hour, up to a million files
#   SOAK_SECONDS=600 SOAK_FILES=100000 make check-soak
#   SOAK_MAX_NODES=4096 ...                  a smaller node table (reaches its
#                                            bound sooner in a short run)
#   SOAK_MODES=async ...                     one mode only (all SOAK_SECONDS
#                                            and SOAK_FILES go to it)
#
# The figures (a table per mode and a summary line) are in the output.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SECONDS_ALL=${SOAK_SECONDS:-3600}
FILES_ALL=${SOAK_FILES:-1000000}
SOAK_TB=$(mktemp -d /tmp/s3csfs-soak-tb.XXXXXX)

stop_server() { "$TOP/scripts/s3-server" stop "$SOAK_TB" > /dev/null 2>&1 || true; }
if ! "$TOP/scripts/s3-server" start "$SOAK_TB" > "$SOAK_TB.start.log" 2>&1; then
	echo "not ok - the soak's S3 server did not start"
	sed 's/^/#   /' "$SOAK_TB.start.log" | tail -20
	stop_server
	rm -f "$SOAK_TB.start.log"
	echo "1..1"
	exit 1
fi
rm -f "$SOAK_TB.start.log"
export S3CSFS_TESTBED=$SOAK_TB
# shellcheck disable=SC1091
. "$TOP/tests/integration/lib.sh"
trap 'cleanup; stop_server' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stat_of() { awk -v k="$2" '$1 == k {print $2}' "$1/.s3csfs/stats" 2> /dev/null; }
pending_zero() { [ "$(stat_of "$1" uploads_pending)" = 0 ]; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# flat JSON: growth between the first and the last half of the samples
# taken once both bounds were reached (the node table forgetting names,
# the cache at 90 % of its 64 MiB): RSS in MiB, threads, fds less one per
# upload pending (a closed file waiting to be stored holds its cache file
# open, up to max_queued_uploads: a queue that drains, not a leak); the
# largest cache size seen, in MiB; how many samples that window has.
flat() {
	python3 - "$1" << 'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["samples"]
cache = max([x["cache_bytes"] for x in s] or [0]) / 1048576
s = [x for x in s if x["nodes_evicted"] > 0 and x["cache_bytes"] >= 0.9 * 64 * 1048576]
h = len(s) // 2
a, b = s[:h], s[h:]
if not a or not b:
    print(f"nan nan nan {cache:.1f} {len(s)}")
    raise SystemExit
for x in s:
    x["fds_own"] = x["fds"] - max(x["uploads_pending"], 0)
m = lambda xs, k: max(x[k] for x in xs)
print(f"{(m(b, 'rss_kib') - m(a, 'rss_kib')) / 1024:.1f} {m(b, 'threads') - m(a, 'threads')} "
      f"{m(b, 'fds_own') - m(a, 'fds_own')} {cache:.1f} {len(s)}")
EOF
}

bucket=soak-$$
new_bucket "$bucket"
read -r -a modes <<< "${SOAK_MODES:-sync async}"
for mode in "${modes[@]}"; do
	mnt=$WORK/mnt-$mode
	write_conf "$WORK/$mode.conf" "$bucket" "$S3_ENDPOINT" "$WORK/cache-$mode" \
		"upload = $mode" "cache_max_size = 64M" ${SOAK_MAX_NODES:+"max_nodes = $SOAK_MAX_NODES"}
	mount_fs "$WORK/$mode.conf" "$mnt" || { not_ok "$mode: mount"; continue; }
	pid=$DAEMON_PID
	secs=$((SECONDS_ALL / ${#modes[@]})) files=$((FILES_ALL / ${#modes[@]}))
	echo "# $mode: $secs s, at most $files files"
	python3 "$TOP/tests/tools/soak.py" --mount "$mnt" --pid "$pid" \
		--seconds "$secs" --files "$files" --seed "soak-$mode" \
		--sample "$((SECONDS_ALL > 600 ? 30 : 10))" --json "$WORK/$mode.json" |
		sed -u 's/^/# /'
	check "$mode: every file written and read back whole (soak.py)" \
		python3 -c "import json,sys; d=json.load(open('$WORK/$mode.json')); sys.exit(bool(d['errors']) or d['hung'] or d['written'] == 0)"
	read -r drss dthr dfds cache nwin <<< "$(flat "$WORK/$mode.json")"
	check "$mode: the node table and the cache reached their bounds ($nwin samples since; at least 4)" \
		test "$nwin" -ge 4
	echo "# $mode: since then, last half minus first half: RSS ${drss} MiB, threads $dthr, fds $dfds (less one per upload pending); cache at most ${cache} MiB"
	check "$mode: RSS flat (grew ${drss} MiB, at most 8)" awk -v d="$drss" 'BEGIN { exit !(d <= 8) }'
	check "$mode: threads flat (+$dthr, at most 4)" awk -v d="$dthr" 'BEGIN { exit !(d <= 4) }'
	check "$mode: open descriptors flat, besides one per upload pending (+$dfds, at most 16)" awk -v d="$dfds" 'BEGIN { exit !(d <= 16) }'
	check "$mode: the cache stayed near its bound (${cache} MiB, 64 MiB + one upload's slack)" \
		awk -v d="$cache" 'BEGIN { exit !(d <= 64 + 32) }'
	evicted=$(stat_of "$mnt" cache_evictions)
	check "$mode: the cache cycled (${evicted:-0} files evicted)" test "${evicted:-0}" -gt 0
	check "$mode: every upload landed" wait_until 300 pending_zero "$mnt"
	hwm=$(hwm_kib "$pid")
	echo "# $mode: peak RSS $((hwm / 1024)) MiB"
	check "$mode: peak RSS under 96 MiB ($((hwm / 1024)) MiB)" test "$hwm" -lt $((96 * 1024))
	check "$mode: clean unmount" umount_fs "$mnt"
done
finish
