#!/usr/bin/env bash
# test_metrics.sh - the Prometheus endpoint (metrics_listen): a mount
# scraped with curl at /metrics, the text parsed with Python's
# prometheus_client, the numbers checked against the requests the counting
# proxy saw; other paths 404; a metrics_listen that cannot work refused in
# words, with a non-zero exit and nothing mounted. Both upload modes.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

BUCKET=s3csfs-metrics-$$
new_bucket "$BUCKET"
start_proxy
D=2026/12/2/8/0
# Objects put with s3tool go to another tree: a directory made through the
# mount is known empty for negative_timeout, names in it read as absent.
E=2025/12/2/8/1

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Debian's python3-prometheus-client is a module of Debian's python3
# (another python3 may come first in PATH).
PY=/usr/bin/python3
# The parser: prometheus_client reads the exposition text (it raises on
# anything malformed); every sample is printed as one "name{k="v",...}
# value" line, labels sorted, and the histogram's own rules are checked.
cat > "$WORK/parse.py" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
errors = []
types = {}
for fam in text_string_to_metric_families(text):
    types[fam.name] = fam.type
    series = {}
    for s in fam.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, s.value))
        if fam.type == "histogram":
            op = s.labels.get("op", "")
            d = series.setdefault(op, {"le": [], "count": None})
            if s.name.endswith("_bucket"):
                d["le"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                d["count"] = s.value
    for op, d in series.items():
        vals = [v for _, v in sorted(d["le"])]
        if vals != sorted(vals):
            errors.append("%s{op=%s}: buckets not cumulative" % (fam.name, op))
        if not d["le"] or d["le"][-1][0] != float("inf") or d["count"] != d["le"][-1][1]:
            errors.append("%s{op=%s}: +Inf bucket missing or != _count" % (fam.name, op))
for name, t in sorted(types.items()):
    print("TYPE %s %s" % (name, t))
for e in errors:
    print("ERROR " + e)
EOF

# scrape URL NAME: GET URL/metrics into $WORK/NAME.prom (the headers in
# .hdr), parsed into $WORK/NAME.samples. Fails if either step does.
scrape() {
	curl -sS -f --max-time 10 -D "$WORK/$2.hdr" -o "$WORK/$2.prom" "$1/metrics" &&
		"$PY" "$WORK/parse.py" "$WORK/$2.prom" > "$WORK/$2.samples" 2> "$WORK/$2.err"
}
# m NAME SAMPLE -> the value of SAMPLE ('name{labels}') in a parsed scrape,
# as an integer; a missing sample reads -1000000000 (every check fails).
m() {
	awk -v k="$2" '$1 == k { printf "%d\n", $2; f = 1 } END { if (!f) print -1000000000 }' "$WORK/$1.samples"
}
# hist_total NAME -> sum of s3csfs_request_duration_seconds_count over ops.
hist_total() {
	awk '$1 ~ /^s3csfs_request_duration_seconds_count\{/ { t += $2 } END { printf "%d\n", t }' "$WORK/$1.samples"
}
OPS="PutObject GetObject HeadObject DeleteObject ListObjectsV2 CopyObject CreateMultipartUpload UploadPart CompleteMultipartUpload AbortMultipartUpload ListMultipartUploads HeadBucket Other"

for mode in sync async; do
	echo "# upload = $mode"
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	CONF=$WORK/$mode.conf
	MNT=$WORK/mnt-$mode
	write_conf "$CONF" "$BUCKET" "$PROXY_URL" "$WORK/cache-$mode" "upload = $mode" \
		"metrics_listen = 127.0.0.1:$PORT"
	if ! mount_fs "$CONF" "$MNT"; then
		not_ok "mount with metrics_listen = 127.0.0.1:$PORT"
		continue
	fi
	ok "mount with metrics_listen = 127.0.0.1:$PORT"
	# (logged by the FUSE init callback, which may come just after the
	# mount point answers)
	for _ in $(seq 50); do grep -q "serving http://" "$DAEMON_LOG" && break; sleep 0.1; done
	check "the log says where the metrics are" grep -q "serving http://127.0.0.1:$PORT/metrics" "$DAEMON_LOG"

	proxy_reset
	check "scrape 1: GET /metrics answers and prometheus_client parses it" scrape "$URL" s0
	check_eq "scrape 1: no histogram rule broken" "" "$(grep '^ERROR' "$WORK/s0.samples")"
	check "Content-Type is the text format 0.0.4" \
		grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/s0.hdr"
	for t in "s3csfs_request_duration_seconds histogram" "s3csfs_requests counter" \
		"s3csfs_errors counter" "s3csfs_retries counter" "s3csfs_uploads_inflight gauge" \
		"s3csfs_uploads_pending gauge" "s3csfs_journal_records gauge" "s3csfs_cache_bytes gauge" \
		"s3csfs_cache_evictions counter" "s3csfs_credentials_expiry_timestamp_seconds gauge"; do
		check "family $t" grep -qx "TYPE $t" "$WORK/s0.samples"
	done
	missing=""
	for op in $OPS; do
		for s in "s3csfs_request_duration_seconds_count{op=\"$op\"}" \
			"s3csfs_request_duration_seconds_bucket{le=\"+Inf\",op=\"$op\"}" \
			"s3csfs_request_duration_seconds_sum{op=\"$op\"}" "s3csfs_requests_total{op=\"$op\"}"; do
			grep -qF "$s " "$WORK/s0.samples" || missing="$missing $s"
		done
	done
	check_eq "every operation has its histogram and request counter" "" "$missing"
	check_eq "credentials from the config file: expiry 0 (never)" 0 \
		"$(m s0 's3csfs_credentials_expiry_timestamp_seconds{}')"

	# Activity: 3 small files written, one 2 MiB object read cold.
	mkdir -p "$MNT/$D"
	for i in 1 2 3; do
		make_file "$WORK/f$i" $((8 * i)) "$mode$i"
		cp "$WORK/f$i" "$MNT/$D/f$i.bin"
	done
	make_file "$WORK/cold" 2048 "cold$mode"
	s3 put "$BUCKET" "$E/cold-$mode.bin" "$WORK/cold" > /dev/null
	check "a cold 2 MiB file reads back identical" cmp -s "$WORK/cold" "$MNT/$E/cold-$mode.bin"
	# Async uploads finish in the background: wait (bounded) until none
	# is pending, then the counts are final.
	for _ in $(seq 100); do
		scrape "$URL" s1 && [ "$(m s1 's3csfs_uploads_pending{}')" = 0 ] &&
			[ "$(m s1 's3csfs_journal_records{}')" = 0 ] && break
		sleep 0.1
	done
	check "scrape 2 parses" scrape "$URL" s1
	check_eq "scrape 2: no histogram rule broken" "" "$(grep '^ERROR' "$WORK/s1.samples")"
	check_eq "uploads_pending back to 0" 0 "$(m s1 's3csfs_uploads_pending{}')"
	check_eq "journal_records back to 0" 0 "$(m s1 's3csfs_journal_records{}')"
	check_eq "uploads_inflight 0 when idle" 0 "$(m s1 's3csfs_uploads_inflight{}')"
	# (the s3tool PUT went to the server directly, not through the proxy)
	puts=$(proxy_op PutObject)
	gets=$(proxy_op GetObject)
	total=$(proxy_total)
	k='s3csfs_request_duration_seconds_count{op="PutObject"}'
	check_eq "histogram PutObject count grew by the PutObjects the proxy saw" "$puts" \
		$(($(m s1 "$k") - $(m s0 "$k")))
	check "... which is at least 3" test "$puts" -ge 3
	k='s3csfs_request_duration_seconds_count{op="GetObject"}'
	check_eq "histogram GetObject count grew by the GetObjects the proxy saw" "$gets" \
		$(($(m s1 "$k") - $(m s0 "$k")))
	check "... at least 1" test "$gets" -ge 1
	check_eq "histogram counts of all operations grew by every request the proxy saw" "$total" \
		$(($(hist_total s1) - $(hist_total s0)))
	k='s3csfs_requests_total{op="PutObject"}'
	check_eq "requests_total PutObject grew the same" "$puts" $(($(m s1 "$k") - $(m s0 "$k")))
	check "cache_bytes holds the files" test "$(m s1 's3csfs_cache_bytes{}')" -ge 2097152
	k='s3csfs_request_duration_seconds_sum{op="PutObject"}'
	check "the PutObject latency sum grew" \
		python3 -c 'import sys; a, b = (float(l.split()[1]) for l in sys.argv[1:]); sys.exit(not b > a)' \
		"$(grep -F "$k " "$WORK/s0.samples")" "$(grep -F "$k " "$WORK/s1.samples")"

	# The buckets: 0.3 s added to every GetObject by the proxy (no real
	# server is slow on demand) puts each such request above le=0.25.
	proxy_faults "latency:1:0.3@GetObject"
	make_file "$WORK/slow" 16 "slow$mode"
	s3 put "$BUCKET" "$E/slow-$mode.bin" "$WORK/slow" > /dev/null
	scrape "$URL" s2
	check "a slowed cold read reads back identical" cmp -s "$WORK/slow" "$MNT/$E/slow-$mode.bin"
	proxy_faults ""
	scrape "$URL" s3
	k='s3csfs_request_duration_seconds_bucket{le="0.25",op="GetObject"}'
	check_eq "slowed GetObjects: bucket le=0.25 unchanged" "$(m s2 "$k")" "$(m s3 "$k")"
	k='s3csfs_request_duration_seconds_bucket{le="+Inf",op="GetObject"}'
	check "slowed GetObjects: bucket +Inf grew" test "$(m s3 "$k")" -gt "$(m s2 "$k")"

	if [ "$mode" = async ]; then
		# Journal depth: PutObject refused (503) for a while, so the
		# record waits; it goes when the server takes the file.
		proxy_faults "503:1@PutObject"
		make_file "$WORK/held" 8 held
		cp "$WORK/held" "$MNT/$D/held.bin"
		seen=0
		for _ in $(seq 100); do
			scrape "$URL" s4 && [ "$(m s4 's3csfs_journal_records{}')" -ge 1 ] &&
				[ "$(m s4 's3csfs_retries_total{}')" -gt "$(m s3 's3csfs_retries_total{}')" ] &&
				{ seen=1; break; }
			sleep 0.1
		done
		check "PutObject failing (proxy 503s): journal_records >= 1 and retries_total grew" test "$seen" = 1
		proxy_faults ""
		for _ in $(seq 300); do
			scrape "$URL" s5 && [ "$(m s5 's3csfs_journal_records{}')" = 0 ] && break
			sleep 0.1
		done
		check_eq "the server takes it: journal_records back to 0" 0 "$(m s5 's3csfs_journal_records{}')"
		check "held.bin is in S3" \
			bash -c '"$S3TOOL" get "$1" "$2" - 2>/dev/null | cmp -s - "$3"' _ "$BUCKET" "$D/held.bin" "$WORK/held"
	fi

	echo "# only /metrics answers"
	for p in / /metric /metrics/ /metricsx /stats /.s3csfs/metrics "/metrics/../x"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is --max-time 10 "$URL$p")
		check_eq "GET $p: 404" 404 "$code"
	done
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST --data x "$URL/metrics")
	check_eq "POST /metrics: 405" 405 "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -I "$URL/metrics")
	check_eq "HEAD /metrics: 200" 200 "$code"

	# Idle now: the file in the mount and the endpoint say the same.
	scrape "$URL" s6
	cat "$MNT/.s3csfs/metrics" > "$WORK/file.prom"
	"$PY" "$WORK/parse.py" "$WORK/file.prom" > "$WORK/file.samples"
	check_eq "MNT/.s3csfs/metrics and /metrics agree on every request count" \
		"$(grep '^s3csfs_requests_total' "$WORK/s6.samples")" \
		"$(grep '^s3csfs_requests_total' "$WORK/file.samples")"

	echo "# a second mount on the same port is refused"
	write_conf "$WORK/taken.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-taken" \
		"metrics_listen = 127.0.0.1:$PORT"
	mkdir -p "$WORK/mnt-taken"
	timeout 30 "$S3CSFS" "$WORK/mnt-taken" -f -o "conf=$WORK/taken.conf" > "$WORK/taken.out" 2>&1
	rc=$?
	sed 's/^/#   /' "$WORK/taken.out"
	check "port in use: non-zero exit ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "port in use: said in words" grep -q "metrics_listen = 127.0.0.1:$PORT: cannot listen: Address already in use" "$WORK/taken.out"
	check "port in use: nothing mounted" bash -c '! mountpoint -q "$1"' _ "$WORK/mnt-taken"
	check "the first mount still serves its metrics" scrape "$URL" s7

	check "unmount" umount_fs "$MNT"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/metrics")
	check_eq "after the unmount nothing listens on the port" 000 "$code"
done

echo "# in the background (the daemon forks after binding)"
PORT=$(free_port)
write_conf "$WORK/bg.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-bg" "metrics_listen = [::1]:$PORT"
MNT=$WORK/mnt-bg
mkdir -p "$MNT"
if timeout 30 "$S3CSFS" "$MNT" -o "conf=$WORK/bg.conf" > "$WORK/bg.out" 2>&1 && mountpoint -q "$MNT"; then
	MOUNTS+=("$MNT")
	ok "background mount with metrics_listen = [::1]:$PORT"
	check "scrape of the background daemon at [::1] parses" scrape "http://[::1]:$PORT" bg
	check "... and holds the histogram" grep -qx "TYPE s3csfs_request_duration_seconds histogram" "$WORK/bg.samples"
	fusermount3 -u "$MNT"
	gone=0
	for _ in $(seq 300); do
		curl -s -o /dev/null --max-time 2 "http://[::1]:$PORT/metrics" || { gone=1; break; }
		sleep 0.1
	done
	check "unmounted: the daemon stops listening" test "$gone" = 1
else
	not_ok "background mount with metrics_listen = [::1]:$PORT"
	sed 's/^/#   /' "$WORK/bg.out"
fi

echo "# a metrics_listen that cannot work is refused, nothing mounted"
MNT=$WORK/mnt-bad
mkdir -p "$MNT"
PORT=$(free_port)
for c in "0.0.0.0:$PORT|not a loopback address" "192.0.2.1:$PORT|not a loopback address" \
	"localhost:$PORT|not a numeric IPv4 address" "127.0.0.1|is not ADDRESS:PORT" \
	"127.0.0.1:0|the port must be a number from 1 to 65535" \
	"[::1]:99999|the port must be a number from 1 to 65535"; do
	v=${c%%|*}
	words=${c#*|}
	write_conf "$WORK/bad.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-bad" "metrics_listen = $v"
	timeout 30 "$S3CSFS" "$MNT" -o "conf=$WORK/bad.conf" > "$WORK/bad.out" 2>&1
	rc=$?
	check "metrics_listen = $v: non-zero exit ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	sed 's/^/#   /' "$WORK/bad.out"
	check "metrics_listen = $v: the message names the key and value" \
		grep -qF "[general] metrics_listen: '$v'" "$WORK/bad.out"
	check "metrics_listen = $v: ... and says '$words'" grep -qF "$words" "$WORK/bad.out"
	check "metrics_listen = $v: nothing mounted" bash -c '! mountpoint -q "$1"' _ "$MNT"
done
# Not loopback, allowed: the configuration loads (s3csfs check loads it
# and binds nothing, so no port opens beyond loopback here).
write_conf "$WORK/remote.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-remote" \
	"metrics_listen = 0.0.0.0:$PORT" "metrics_allow_remote = true"
timeout 60 "$S3CSFS" check -o "conf=$WORK/remote.conf" > "$WORK/remote.out" 2>&1
check_eq "0.0.0.0 with metrics_allow_remote = true: the configuration is accepted" 0 "$?"

drop_bucket "$BUCKET"
finish
