#!/usr/bin/env bash
# Self-contained test of tests/tools/s3proxy.py.
# Starts the proxy's in-memory --selftest-upstream, runs the proxy against it
# and checks it with curl.  Needs python3 and curl only; loopback only.
# Prints "N passed, N failed" at the end; exits non-zero on any failure.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
PROXY="$HERE/s3proxy.py"
PY=${PYTHON:-python3}
TOTAL_TIMEOUT=${TEST_S3PROXY_TIMEOUT:-300}

PASS=0
FAIL=0
PIDS=()
WATCHDOG=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_s3proxy.XXXXXX")

pass() { PASS=$((PASS + 1)); echo "ok   - $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
expect_eq() { # name got want
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
expect_true() { # name cond-description ; uses $? of previous command via arg
    if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "${3:-}"; fi
}

stop_pid() { # pid: TERM, wait up to 3 s, then KILL
    local pid=$1
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    if [ -n "$WATCHDOG" ]; then kill "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null; fi
    exec 7>&- 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "test_s3proxy: interrupted / overall timeout" >&2; FAIL=$((FAIL + 1)); echo "$PASS passed, $FAIL failed"; exit 1' TERM INT

# overall watchdog (1 s sleeps so no long-lived orphan when it is killed)
( for _ in $(seq "$TOTAL_TIMEOUT"); do sleep 1; done; kill -TERM $$ ) &
WATCHDOG=$!

wait_file() { # file timeout_s
    local n=$(( $2 * 10 ))
    for _ in $(seq "$n"); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

start_bg() { # starts "$@" in background, records pid in LASTPID
    "$@" &
    LASTPID=$!
    PIDS+=("$LASTPID")
}

C() { curl -sS --max-time 20 "$@"; }

pstat() { # dotted key, e.g. ops.PutObject
    C "$PX/_proxy/stats" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
print(d)' "$1"
}
preset() { C -X POST "$PX/_proxy/reset" >/dev/null; }
setfaults() { # spec (URL-encoded here)
    local enc
    enc=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")
    C -o "$TMP/faults.out" -w '%{http_code}' -X POST "$PX/_proxy/faults?spec=$enc"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------------------
echo "# starting selftest upstream and proxy"
for addr in 0.0.0.0:0 10.0.0.1:0; do
    if timeout 10 "$PY" "$PROXY" --listen "$addr" --upstream 127.0.0.1:1 \
            --port-file "$TMP/bad.port" 2>"$TMP/bad.err"; then
        fail "refuses non-loopback --listen $addr" "exit status 0"
    elif [ -e "$TMP/bad.port" ]; then
        fail "refuses non-loopback --listen $addr" "port file written"
    elif ! grep -q 'non-loopback' "$TMP/bad.err"; then
        fail "refuses non-loopback --listen $addr" "$(head -c 200 "$TMP/bad.err")"
    else
        pass "refuses non-loopback --listen $addr"
    fi
done

start_bg "$PY" "$PROXY" --selftest-upstream --listen 127.0.0.1:0 \
    --port-file "$TMP/up.port" 2>"$TMP/up.err"
wait_file "$TMP/up.port" 10 || { fail "upstream start"; echo "$PASS passed, $FAIL failed"; exit 1; }
UPPORT=$(cat "$TMP/up.port")

start_bg "$PY" "$PROXY" --listen 127.0.0.1:0 --upstream "127.0.0.1:$UPPORT" \
    --port-file "$TMP/px.port" --log "$TMP/px.log" --seed 42 2>"$TMP/px.err"
PXPID=$LASTPID
wait_file "$TMP/px.port" 10 || { fail "proxy start"; echo "$PASS passed, $FAIL failed"; exit 1; }
PX="http://127.0.0.1:$(cat "$TMP/px.port")"
pass "proxy started on $PX (upstream port $UPPORT)"

# ---------------------------------------------------------------------------
echo "# keep-alive"
C -o /dev/null -X PUT --data-binary 'small' "$PX/b/k"
preset
out=$(C "$PX/b/k" "$PX/b/k" "$PX/b/k" "$PX/b?list-type=2" -o /dev/null -o /dev/null \
        -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ')
expect_eq "4 requests in one curl: statuses/connects" "$out" "200:1 200:0 200:0 200:0 "
expect_eq "keep-alive: connections == 1" "$(pstat connections)" 1
expect_eq "keep-alive: requests == 4" "$(pstat requests)" 4
expect_eq "stats connection itself not counted" "$(pstat connections)" 1

preset
out=$(C -I -o /dev/null "$PX/b/k" -w '%{http_code} ' --next -s "$PX/b/k" -w '%{http_code}')
expect_eq "HEAD then GET on one connection" "$out" "200 small200"
expect_eq "HEAD+GET: connections == 1" "$(pstat connections)" 1

# ---------------------------------------------------------------------------
echo "# operation classification"
classify() { # expected-op curl-args...
    local want=$1; shift
    preset
    C -o /dev/null "$@" 2>/dev/null
    local got n
    got=$(pstat ops."$want")
    n=$(pstat requests)
    if [ "$got" = 1 ] && [ "$n" = 1 ]; then pass "classify $want"
    else fail "classify $want" "ops.$want=$got requests=$n"; fi
}
classify ListBuckets "$PX/"
classify CreateBucket -X PUT "$PX/b"
classify HeadBucket -I "$PX/b"
classify DeleteBucket -X DELETE "$PX/zz"
classify ListObjectsV2 "$PX/b?list-type=2&prefix=a%2F"
classify ListObjects "$PX/b?prefix=a"
classify PutObject -X PUT --data-binary x "$PX/b/dir/k2"
classify GetObject "$PX/b/dir/k2"
classify HeadObject -I "$PX/b/dir/k2"
classify DeleteObject -X DELETE "$PX/b/dir/k2"
classify CopyObject -X PUT -H 'x-amz-copy-source: /b/k' "$PX/b/k3"
classify CreateMultipartUpload -X POST "$PX/b/mp?uploads"
classify UploadPart -X PUT --data-binary part "$PX/b/mp?partNumber=1&uploadId=up1"
classify CompleteMultipartUpload -X POST --data-binary '<x/>' "$PX/b/mp?uploadId=up1"
classify AbortMultipartUpload -X DELETE "$PX/b/mp?uploadId=up1"
classify ListMultipartUploads "$PX/b?uploads"
classify ListParts "$PX/b/mp?uploadId=up1"
classify PutObjectTagging -X PUT --data-binary '<t/>' "$PX/b/k?tagging"
classify GetObjectTagging "$PX/b/k?tagging"
classify PutBucketLifecycle -X PUT --data-binary '<l/>' "$PX/b?lifecycle"
classify GetBucketLifecycle "$PX/b?lifecycle"
classify Other "$PX/b?location"

# ---------------------------------------------------------------------------
echo "# headers forwarded unchanged"
AUTH='AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef'
C -o "$TMP/echo" -H 'Host: s3.example.test:7480' -H "Authorization: $AUTH" \
    -H 'x-amz-date: 20240101T000000Z' -H 'x-selftest-echo: 1' "$PX/b/k?x-id=GetObject&a=%2Fb"
grep -qxF $'Host: s3.example.test:7480\r' "$TMP/echo"; expect_true "Host forwarded unchanged" $?
grep -qxF "Authorization: $AUTH"$'\r' "$TMP/echo"; expect_true "Authorization forwarded unchanged" $?
grep -qF 'GET /b/k?x-id=GetObject&a=%2Fb HTTP/1.1' "$TMP/echo"; expect_true "request line forwarded unchanged" $?

# ---------------------------------------------------------------------------
echo "# large bodies (50 MB)"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$TMP/big"
BIGSHA=$(sha "$TMP/big")
preset
t0=$(date +%s.%N)
C -v -T "$TMP/big" -o /dev/null -w '%{http_code}' "$PX/b/big" >"$TMP/put.code" 2>"$TMP/put.v"
expect_eq "50 MB PUT (Content-Length) status" "$(cat "$TMP/put.code")" 200
grep -q '^< HTTP/1.1 100 Continue' "$TMP/put.v"; expect_true "Expect: 100-continue relayed" $?
C -o "$TMP/big.get" -w '%{http_code}' "$PX/b/big" >"$TMP/get.code"
t1=$(date +%s.%N)
expect_eq "50 MB GET status" "$(cat "$TMP/get.code")" 200
expect_eq "50 MB PUT+GET sha256 intact" "$(sha "$TMP/big.get")" "$BIGSHA"
echo "#   50 MB PUT+GET took $("$PY" -c "print(round($t1 - $t0, 2))") s"
up=$(pstat bytes_up); down=$(pstat bytes_down)
if [ "$up" -ge 52428800 ] && [ "$down" -ge 52428800 ]; then pass "bytes_up/bytes_down counted ($up/$down)"
else fail "bytes_up/bytes_down counted" "$up/$down"; fi
hdr=$(C -I "$PX/b/big" | tr -d '\r' | grep -i '^content-length:')
expect_eq "HEAD keeps Content-Length, no body" "$hdr" "Content-Length: 52428800"

code=$(C -T - -o /dev/null -w '%{http_code}' "$PX/b/bigchunked" <"$TMP/big")
expect_eq "50 MB PUT (chunked request) status" "$code" 200
C -H 'x-selftest-chunked: 1' -D "$TMP/chunk.h" -o "$TMP/big.get2" "$PX/b/bigchunked"
grep -qi '^transfer-encoding: chunked' "$TMP/chunk.h"; expect_true "chunked response relayed as chunked" $?
expect_eq "chunked PUT + chunked GET sha256 intact" "$(sha "$TMP/big.get2")" "$BIGSHA"
rm -f "$TMP/big.get" "$TMP/big.get2"

# ---------------------------------------------------------------------------
echo "# faults"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$TMP/mid"
preset
expect_eq "set 500:1.0" "$(setfaults '500:1.0')" 200
out=$(C -T "$TMP/mid" "$PX/b/f500a" "$PX/b/f500b" -o "$TMP/e1" -o "$TMP/e2" -w '%{http_code} ')
expect_eq "500:1.0 -> two 500s (2 MB bodies, one connection)" "$out" "500 500 "
grep -q '<Code>InternalError</Code>' "$TMP/e1" && grep -q '<RequestId>' "$TMP/e1"
expect_true "500 body is S3 error XML" $?
expect_eq "500: connection kept alive after drain" "$(pstat connections)" 1
expect_eq "faults.500 == 2" "$(pstat faults.500)" 2
expect_eq "clear faults" "$(setfaults '')" 200
expect_eq "500: request was not forwarded" "$(C -o /dev/null -w '%{http_code}' "$PX/b/f500a")" 404

setfaults 'slowdown:1.0@PutObject+UploadPart' >/dev/null
code_get=$(C -o /dev/null -w '%{http_code}' "$PX/b/k")
code_put=$(C -o "$TMP/e3" -w '%{http_code}' -X PUT --data-binary x "$PX/b/k")
expect_eq "slowdown@PutObject+UploadPart: GET unaffected, PUT 503" "$code_get $code_put" "200 503"
grep -q '<Code>SlowDown</Code>' "$TMP/e3"; expect_true "503 body has SlowDown" $?

setfaults 'down' >/dev/null
code=$(C -o /dev/null -w '%{http_code}' "$PX/b/k" 2>/dev/null); rc=$?
if [ "$rc" -ne 0 ] && [ "$code" = 000 ]; then pass "down: connection closed (curl rc=$rc)"
else fail "down: connection closed" "rc=$rc code=$code"; fi
expect_eq "down: control endpoint still answers" "$(pstat faults.down)" 1
setfaults '' >/dev/null
expect_eq "down removed: service restored" "$(C -o /dev/null -w '%{http_code}' "$PX/b/k")" 200

setfaults 'reset-before:1.0' >/dev/null
code=$(C -o /dev/null -w '%{http_code}' -X PUT --data-binary x "$PX/b/rb" 2>/dev/null); rc=$?
setfaults '' >/dev/null
if [ "$rc" -ne 0 ] && [ "$code" = 000 ]; then pass "reset-before: client sees reset (curl rc=$rc)"
else fail "reset-before: client sees reset" "rc=$rc code=$code"; fi
expect_eq "reset-before: not forwarded" "$(C -o /dev/null -w '%{http_code}' "$PX/b/rb")" 404

setfaults 'reset-after:1.0@PutObject' >/dev/null
code=$(C -o /dev/null -w '%{http_code}' -X PUT --data-binary x "$PX/b/ra" 2>/dev/null); rc=$?
setfaults '' >/dev/null
if [ "$rc" -ne 0 ] && [ "$code" = 000 ]; then pass "reset-after: client sees reset (curl rc=$rc)"
else fail "reset-after: client sees reset" "rc=$rc code=$code"; fi
expect_eq "reset-after: request was forwarded" "$(C -o /dev/null -w '%{http_code}' "$PX/b/ra")" 200

head -c 1048576 /dev/urandom >"$TMP/one"
C -o /dev/null -T "$TMP/one" "$PX/b/one"
setfaults 'truncate:1.0' >/dev/null
C -o "$TMP/one.get" "$PX/b/one" 2>/dev/null; rc=$?
setfaults '' >/dev/null
expect_eq "truncate: curl partial-file error (18)" "$rc" 18
expect_eq "truncate: half the body delivered" "$(wc -c <"$TMP/one.get")" 524288

xmlok() { "$PY" -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$1" 2>/dev/null; }
setfaults 'badxml:1.0' >/dev/null
C -o "$TMP/bad.xml" "$PX/b?list-type=2"; rc=$?
setfaults '' >/dev/null
expect_eq "badxml: response complete (Content-Length consistent)" "$rc" 0
if xmlok "$TMP/bad.xml"; then fail "badxml: body is malformed XML"; else pass "badxml: body is malformed XML"; fi
C -o "$TMP/good.xml" "$PX/b?list-type=2"
xmlok "$TMP/good.xml"; expect_true "listing XML well-formed without fault" $?

setfaults 'hugexml:1.0:2000000' >/dev/null
C -o "$TMP/huge.xml" "$PX/b?list-type=2&prefix=p%2F"; rc=$?
code=$(C -o /dev/null -w '%{http_code}' "$PX/b/k")
setfaults '' >/dev/null
sz=$(wc -c <"$TMP/huge.xml")
if [ "$rc" -eq 0 ] && [ "$sz" -gt 1900000 ] && [ "$sz" -le 2000000 ]; then pass "hugexml: ~2 MB body ($sz bytes)"
else fail "hugexml: ~2 MB body" "rc=$rc size=$sz"; fi
"$PY" - "$TMP/huge.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
keys = [c.find(ns + "Key").text for c in r.findall(ns + "Contents")]
assert int(r.find(ns + "KeyCount").text) == len(keys) > 1000
assert all(k.startswith("p/") for k in keys)
EOF
expect_true "hugexml: valid ListBucketResult, KeyCount matches, prefix kept" $?
expect_eq "hugexml: GetObject unaffected by default" "$code" 200

setfaults 'errbody200:1.0' >/dev/null
code_i=$(C -o /dev/null -w '%{http_code}' -X POST "$PX/b/mp?uploads")
code_c=$(C -o "$TMP/cmu" -w '%{http_code}' -X POST --data-binary '<CompleteMultipartUpload/>' "$PX/b/mp?uploadId=up1")
setfaults '' >/dev/null
expect_eq "errbody200: CreateMultipartUpload 200, Complete 200" "$code_i $code_c" "200 200"
grep -q '<Error><Code>InternalError</Code>' "$TMP/cmu"; expect_true "errbody200: 200 body is <Error>" $?

setfaults 'latency:1.0:0.5' >/dev/null
t=$(C -o /dev/null -w '%{time_total}' "$PX/b/k")
setfaults '' >/dev/null
if "$PY" -c "import sys; sys.exit(0 if $t >= 0.5 else 1)"; then pass "latency: 0.5 s added (took $t s)"
else fail "latency: 0.5 s added" "took $t s"; fi

# late: forwarded at once, the answer held. The upstream has the object
# while the client still waits for its PUT's answer.
setfaults 'late:1.0:2@PutObject' >/dev/null
start_bg curl -sS --max-time 20 -o /dev/null -X PUT --data-binary 'late-body' "$PX/b/late"
LATEPID=$LASTPID
stored=no
for _ in $(seq 100); do
    if [ "$(curl -s --max-time 5 "http://127.0.0.1:$UPPORT/b/late")" = late-body ]; then stored=yes; break; fi
    sleep 0.02
done
waiting=no
kill -0 "$LATEPID" 2>/dev/null && waiting=yes
wait "$LATEPID"; late_rc=$?
setfaults '' >/dev/null
expect_eq "late: upstream stored, client still waiting, then answered" "$stored $waiting $late_rc" "yes yes 0"

setfaults 'stall:1.0:5' >/dev/null
curl -sS --max-time 1 -o /dev/null "$PX/b/k" 2>/dev/null; rc=$?
setfaults '' >/dev/null
expect_eq "stall: client times out (curl rc 28)" "$rc" 28

preset
setfaults '500:0.5@GetObject' >/dev/null
urls=(); outs=()
for _ in $(seq 40); do urls+=("$PX/b/k"); outs+=(-o /dev/null); done
codes=$(C "${urls[@]}" "${outs[@]}" -w '%{http_code}\n')
setfaults '' >/dev/null
n500=$(grep -c '^500$' <<<"$codes"); n200=$(grep -c '^200$' <<<"$codes")
if [ "$n500" -ge 5 ] && [ "$n500" -le 35 ] && [ $((n500 + n200)) -eq 40 ]; then
    pass "500:0.5 -> $n500/40 faulted"
else fail "500:0.5 probabilistic" "500s=$n500 200s=$n200"; fi
expect_eq "faults.500 matches faulted responses" "$(pstat faults.500)" "$n500"
expect_eq "40 keep-alive requests incl. errors: connections == 1" "$(pstat connections)" 1

code=$(setfaults 'bogus:1.0'); expect_eq "invalid spec -> 400" "$code" 400
code=$(setfaults '500:2'); expect_eq "probability > 1 -> 400" "$code" 400
code=$(setfaults '500:0.1@NoSuchOp'); expect_eq "unknown op -> 400" "$code" 400
expect_eq "plus in unencoded spec accepted" \
    "$(C -o /dev/null -w '%{http_code}' -X POST "$PX/_proxy/faults?spec=latency:0:0.1@GetObject+PutObject")" 200
expect_eq "spec kept" "$(C "$PX/_proxy/faults" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["faults"])')" \
    "['latency:0:0.1@GetObject+PutObject']"
setfaults '' >/dev/null

# ---------------------------------------------------------------------------
echo "# reset and log"
C -o /dev/null "$PX/b/k"
preset
r=$(C "$PX/_proxy/stats" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d["requests"], d["connections"], d["bytes_up"], d["bytes_down"],
      sum(d["ops"].values()), sum(d["faults"].values()))')
expect_eq "/_proxy/reset zeroes counters" "$r" "0 0 0 0 0 0"
C -o /dev/null -X PUT --data-binary hello "$PX/b/logged"
C -o /dev/null "$PX/b/logged"
log=$(C "$PX/_proxy/log")
expect_eq "/_proxy/log lines" "$log" $'PutObject PUT /b/logged 200 5 -\nGetObject GET /b/logged 200 5 -'
grep -q '^GetObject GET /b/k 500 [0-9]* 500$' "$TMP/px.log"; expect_true "--log file has fault lines" $?
bad=$(awk 'NF != 6' "$TMP/px.log" | wc -l)
expect_eq "--log lines all have 6 fields" "$bad" 0

# ---------------------------------------------------------------------------
echo "# shutdown"
start_bg "$PY" "$PROXY" --listen 127.0.0.2:0 --upstream "127.0.0.1:$UPPORT" \
    --port-file "$TMP/px2.port" --faults 'stall:1.0:30' 2>"$TMP/px2.err"
PX2PID=$LASTPID
if wait_file "$TMP/px2.port" 10; then
    P2=$(cat "$TMP/px2.port")
    exec 7<>"/dev/tcp/127.0.0.2/$P2"          # idle keep-alive connection
    curl -sS --max-time 20 -o /dev/null "http://127.0.0.2:$P2/b/k" 2>/dev/null &
    CPID=$!; PIDS+=("$CPID")
    sleep 0.5
    t0=$(date +%s%N)
    kill -TERM "$PX2PID"
    gone=1
    for _ in $(seq 40); do
        kill -0 "$PX2PID" 2>/dev/null || { gone=0; break; }
        sleep 0.05
    done
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [ "$gone" -eq 0 ] && [ "$ms" -le 2000 ]; then pass "SIGTERM with stalled + idle connections: exit in ${ms} ms"
    else fail "SIGTERM exit within 2 s" "gone=$gone after ${ms} ms"; fi
    wait "$PX2PID" 2>/dev/null; rc=$?
    expect_eq "SIGTERM exit status 0" "$rc" 0
    exec 7>&-
    wait "$CPID" 2>/dev/null
else
    fail "second proxy (127.0.0.2) start"
fi

kill -INT "$PXPID"
gone=1
for _ in $(seq 40); do kill -0 "$PXPID" 2>/dev/null || { gone=0; break; }; sleep 0.05; done
expect_eq "SIGINT: main proxy exits within 2 s" "$gone" 0

if [ -s "$TMP/px.err" ] && grep -v '^s3proxy: listening' "$TMP/px.err" | grep -q .; then
    echo "# proxy stderr:"; sed 's/^/#   /' "$TMP/px.err"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
