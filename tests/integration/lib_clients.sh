# shellcheck shell=bash
# lib_clients.sh - helpers shared by the real-client tests (test_clients.sh,
# test_tools.sh, test_model.sh, test_interop.sh), on top of lib.sh (source
# lib.sh first).

# dstat MNT NAME -> a counter of MNT/.s3csfs/stats ("" if unreadable).
dstat() {
	timeout 10 awk -v n="$2" '$1 == n { print $2 }' "$1/.s3csfs/stats" 2> /dev/null
}

# settled MNT: no upload pending or being sent.
settled() {
	[ "$(dstat "$1" uploads_pending)" = 0 ] && [ "$(dstat "$1" uploads_inflight)" = 0 ]
}

# wait_settled MNT [SECONDS]: polls settled every 0.2 s, at most SECONDS
# (default 180); fails after that.
wait_settled() {
	local i n=$((${2:-180} * 5))
	for ((i = 0; i < n; i++)); do
		settled "$1" && return 0
		sleep 0.2
	done
	return 1
}

# log_lines FILE -> its line count (0 if missing): a mark in the proxy log.
log_lines() {
	if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi
}

# ops_per_key LOG MARK BUCKET -> "KEY PutObject CreateMultipartUpload
# CompleteMultipartUpload CopyObject" for every key of BUCKET that the
# proxy log (lines after MARK) names in one of those operations.
ops_per_key() {
	tail -n +"$(($2 + 1))" "$1" | python3 -c '
import collections, sys, urllib.parse
bucket = sys.argv[1]
ops = ["PutObject", "CreateMultipartUpload", "CompleteMultipartUpload", "CopyObject"]
count = collections.defaultdict(lambda: dict.fromkeys(ops, 0))
for line in sys.stdin:
    f = line.split()
    if len(f) < 3 or f[0] not in ops:
        continue
    path = urllib.parse.unquote(f[2].split("?", 1)[0])
    pre = "/" + bucket + "/"
    if path.startswith(pre):
        count[path[len(pre):]][f[0]] += 1
for k in sorted(count):
    print(k, *(count[k][o] for o in ops))
' "$3"
}

# put_report ITEMS OPS PART PREFIX -> checks, for every "item I PATH SIZE SHA"
# line of ITEMS, the requests that stored PREFIX+PATH (OPS: ops_per_key
# output): a file of at most PART bytes costs exactly one PutObject and no
# multipart upload; a larger one no PutObject and exactly one
# CompleteMultipartUpload. Prints "SMALL PUTS_ON_SMALL BAD_SMALL BIG BAD_BIG"
# and, on stderr, up to 3 offending items of each kind as "# " lines.
put_report() {
	python3 "$TOP/tests/tools/put_report.py" "$1" "$2" "$3" "$4"
}

# show FILE [N]: the first N (default 10) lines of FILE as "# " lines.
show() {
	head -n "${2:-10}" "$1" | sed 's/^/#   /'
}
