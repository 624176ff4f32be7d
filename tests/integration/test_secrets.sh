#!/usr/bin/env bash
# test_secrets.sh - secrets never logged (issue 13): a server whose error
# messages echo the request as signed (the session token, the
# Authorization header with its signature) must not put them into the
# daemon's log, at any level, nor into `s3csfs check`'s output.
#
# The echoing server is the proxy's simulation (s3proxy.py echo-request):
# RGW does not echo. RGW does accept requests with a session token it does
# not know (it ignores it), so a configured token travels on every real
# request here.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

BUCKET=s3csfs-secrets-$$
new_bucket "$BUCKET"
start_proxy
TOKEN="IQoJb3JpZ2luX2VjE${RANDOM}SessionTokenNotForLogs$$Zz0123456789abcdefABCDEF"
MNT=$WORK/mnt

# conf FILE UPLOAD: debug log, few retries, a session token.
conf() {
	LOG_LEVEL=debug write_conf "$1" "$BUCKET" "$PROXY_URL" "$WORK/cache-$2" "upload = $2" \
		"max_retries = 2" "retry_max_time = 1s"
	sed -i "/^secret_key = /a session_token = $TOKEN" "$1"
}

# leaks FILE WHAT: no secret in FILE, and the echo did reach it.
no_leak() {
	local f=$1 what=$2
	check "$what: the echoed request reached it, redacted" grep -q 'x-amz-security-token:\[REDACTED\]' "$f"
	if grep -qF "$TOKEN" "$f" || grep -qF "${TOKEN:0:16}" "$f"; then
		not_ok "$what: no session token (nor its first 16 characters)"
		grep -F "${TOKEN:0:16}" "$f" | head -3 | sed 's/^/#   /'
	else
		ok "$what: no session token (nor its first 16 characters)"
	fi
	if grep -qF "$S3_SECRET_KEY" "$f"; then
		not_ok "$what: no secret key"
	else
		ok "$what: no secret key"
	fi
	if grep -qiE 'Signature=[0-9a-f]{16}' "$f"; then
		not_ok "$what: no request signature"
	else
		ok "$what: no request signature"
	fi
}

faults_of() { # faults_of KIND -> how many the proxy injected
	curl -s "$PROXY_URL/_proxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['faults'].get('$1',0))"
}

echo "# s3csfs check"
conf "$WORK/check.conf" sync
proxy_faults "echo-request:1:500@PutObject"
"$S3CSFS" check -o "conf=$WORK/check.conf" > "$WORK/check.out" 2>&1
check "check fails on the echoing server" grep -q '^FAIL \[bucket:main\] write' "$WORK/check.out"
no_leak "$WORK/check.out" "check's output"
proxy_faults ""

for mode in sync async; do
	echo "# the daemon's log, upload = $mode"
	conf "$WORK/$mode.conf" "$mode"
	mount_fs "$WORK/$mode.conf" "$MNT" || { not_ok "mount ($mode)"; continue; }
	proxy_reset
	# 403 is refused at once (logged at warn); 500 is retried (logged at
	# debug per retry, at warn at the end).
	status=$([ "$mode" = sync ] && echo 403 || echo 500)
	proxy_faults "echo-request:1:$status@PutObject"
	mkdir -p "$MNT/2026/1/2/3/4"
	if [ "$mode" = sync ]; then
		if cp /etc/hostname "$MNT/2026/1/2/3/4/f.bin" 2> /dev/null; then
			not_ok "sync: the refused write reports an error"
		else
			ok "sync: the refused write reports an error"
		fi
	else
		check "async: close succeeds (the upload is retried in the background)" \
			cp /etc/hostname "$MNT/2026/1/2/3/4/f.bin"
		for _ in $(seq 150); do
			[ "$(faults_of echo-request)" -ge 3 ] && break
			sleep 0.1
		done
		check "async: the server refused the upload at least 3 times" \
			test "$(faults_of echo-request)" -ge 3
		proxy_faults ""
		for _ in $(seq 300); do
			grep -q '^uploads_pending 0$' "$MNT/.s3csfs/stats" && break
			sleep 0.1
		done
		check "async: the upload lands once the server takes it" \
			grep -q '^uploads_pending 0$' "$MNT/.s3csfs/stats"
	fi
	proxy_faults ""
	check "unmount ($mode)" umount_fs "$MNT"
	check "$mode: the daemon logged the server's message" \
		grep -qE 'warn: .*(SignatureDoesNotMatch|InternalError)' "$DAEMON_LOG"
	no_leak "$DAEMON_LOG" "daemon log ($mode)"
done

drop_bucket "$BUCKET"
finish
