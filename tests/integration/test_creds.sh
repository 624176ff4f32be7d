#!/usr/bin/env bash
# test_creds.sh - the credentials chain (issue 4): config keys, environment,
# shared credentials file + profile, EC2 instance metadata (IMDSv2, from a
# loopback stand-in, tests/tools/imds_stub.py) with refresh before expiry;
# first source that has credentials wins, right or wrong; session tokens on
# the wire (recording proxy); secrets never logged.
#
# The real metadata address is never contacted: AWS_EC2_METADATA_DISABLED
# is set except where AWS_EC2_METADATA_SERVICE_ENDPOINT names the stub.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
STUB=$TOP/tests/tools/imds_stub.py

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_EC2_METADATA_SERVICE_ENDPOINT S3CSFS_IMDS_REFRESH_MARGIN
export HOME=$WORK/home # no ~/.aws/credentials of whoever runs the tests
mkdir -p "$HOME"
export AWS_EC2_METADATA_DISABLED=true

BUCKET=s3csfs-creds-$$
new_bucket "$BUCKET"
WRONG_SECRET=WrongSecretKey0123456789abcdefABCDEFGHIJ

# conf FILE ENDPOINT CACHE [access secret]: one bucket, keys only if given.
conf() {
	{
		echo "[general]"
		echo "cache_dir = $3"
		echo "log_level = ${LOG_LEVEL:-info}"
		echo "reaper = off"
		echo "[s3]"
		echo "profile = onprem"
		echo "endpoint = $2"
		echo "region = $S3_REGION"
		if [ $# -ge 5 ]; then
			echo "access_key = $4"
			echo "secret_key = $5"
		fi
		echo "[bucket:main]"
		echo "name = $BUCKET"
	} > "$1"
	chmod 600 "$1"
}

N=0
# roundtrip WHAT CONF: mounts, writes a file, reads it back after a cold
# remount, unmounts. Succeeds only if everything did.
roundtrip() {
	local what=$1 c=$2 m=$WORK/mnt-$N src=$WORK/src-$N
	N=$((N + 1))
	make_file "$src" 24 "rt$N"
	if ! mount_fs "$c" "$m"; then
		not_ok "$what: mount"
		return 1
	fi
	mkdir -p "$m/2026/11/25/13/7"
	if ! cp "$src" "$m/2026/11/25/13/7/rt$N.bin" 2> /dev/null; then
		not_ok "$what: write a file"
		umount_fs "$m"
		return 1
	fi
	umount_fs "$m"
	rm -rf "$(awk -F' = ' '/^cache_dir/{print $2}' "$c")"
	mount_fs "$c" "$m" || { not_ok "$what: remount"; return 1; }
	check "$what: written and read back after a cold remount" \
		cmp -s "$src" "$m/2026/11/25/13/7/rt$N.bin"
	check_eq "$what: the object is in the bucket" 24576 \
		"$(s3 head "$BUCKET" "2026/11/25/13/7/rt$N.bin" 2> /dev/null | awk '/^size/{print $2}')"
	umount_fs "$m"
}
source_of() { grep -o 'credentials from the [^,]*' "$DAEMON_LOG" | head -1; }

echo "# 1. keys in the config file"
conf "$WORK/c1.conf" "$S3_ENDPOINT" "$WORK/cache-1" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$WRONG_SECRET
roundtrip "config keys (a wrong key in the environment is not used)" "$WORK/c1.conf"
check_eq "config keys: the log names the source" "credentials from the configuration file" "$(source_of)"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

echo "# 2. the environment"
conf "$WORK/c2.conf" "$S3_ENDPOINT" "$WORK/cache-2"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$S3_ACCESS_KEY" "$WRONG_SECRET" > "$WORK/wrong.credentials"
export AWS_SHARED_CREDENTIALS_FILE=$WORK/wrong.credentials
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
roundtrip "environment (a wrong shared credentials file is not used)" "$WORK/c2.conf"
check_eq "environment: the log names the source" "credentials from the environment" "$(source_of)"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE

echo "# 3. the shared credentials file, with a profile"
{
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n' \
		"$S3_ACCESS_KEY" "$WRONG_SECRET"
	printf '[s3csfs-test]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$S3_ACCESS_KEY" "$S3_SECRET_KEY"
} > "$WORK/shared.credentials"
chmod 600 "$WORK/shared.credentials"
export AWS_SHARED_CREDENTIALS_FILE=$WORK/shared.credentials AWS_PROFILE=s3csfs-test
roundtrip "shared credentials file, profile s3csfs-test" "$WORK/c2.conf"
check_eq "shared file: the log names file and profile" \
	"credentials from the shared credentials file $WORK/shared.credentials" "$(source_of)"
unset AWS_PROFILE
check "shared file, profile default (a wrong key): refused by the server, no fall-through" \
	bash -c "! '$S3CSFS' check -o conf='$WORK/c2.conf' > '$WORK/check.out' 2>&1"
unset AWS_SHARED_CREDENTIALS_FILE

echo "# first source that has credentials wins, right or wrong"
conf "$WORK/c4.conf" "$S3_ENDPOINT" "$WORK/cache-4" "$S3_ACCESS_KEY" "$WRONG_SECRET"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
"$S3CSFS" check -o conf="$WORK/c4.conf" > "$WORK/check.out" 2>&1
check "wrong config key, right environment: check fails" grep -q '^FAIL \[bucket:main\]' "$WORK/check.out"
check "... with 403 (the environment's key was not tried)" grep -q 'HTTP 403' "$WORK/check.out"
# The mount asks the server first (issue 13) and is refused.
mkdir -p "$WORK/mnt-wrong"
rc=0
timeout 60 "$S3CSFS" "$WORK/mnt-wrong" -f -o conf="$WORK/c4.conf" > "$WORK/mount.err" 2>&1 || rc=$?
check "... and the mount is refused (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying the server refused the credentials" grep -q 'cannot mount: .*refused the credentials' "$WORK/mount.err"
check "... and nothing is mounted" bash -c "! mountpoint -q '$WORK/mnt-wrong'"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

echo "# 4. EC2 instance metadata (IMDSv2) from a loopback stand-in"
# stub NAME [imds_stub options]: starts one; sets STUB_URL.
stub() {
	local name=$1
	shift
	rm -f "$WORK/$name.port"
	python3 "$STUB" serve --port-file "$WORK/$name.port" "$@" > "$WORK/$name.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.1; done
	STUB_URL=http://127.0.0.1:$(cat "$WORK/$name.port")
}
stub_stat() { curl -s "$STUB_URL/_stub/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# This stand-in serves keys without a session token; section 6 adds one.
stub imds
unset AWS_EC2_METADATA_DISABLED
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$STUB_URL
roundtrip "instance metadata" "$WORK/c2.conf"
check_eq "instance metadata: the log names the source" \
	"credentials from the instance metadata (IMDSv2) at $STUB_URL" "$(source_of)"
check "instance metadata: the stub saw the IMDSv2 token PUT" test "$(stub_stat token_puts)" -ge 1
check_eq "instance metadata: never asked without a token" 0 "$(stub_stat unauthorized)"
n0=$(stub_stat token_puts)
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
"$S3CSFS" check -o conf="$WORK/c2.conf" > "$WORK/check.out" 2>&1
check_eq "with credentials in the environment the metadata service is not asked" \
	"$n0" "$(stub_stat token_puts)"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

echo "# 5. refresh before expiry (credentials valid 3 s, refreshed 2 s before)"
curl -s -X POST "$STUB_URL/_stub/ttl?s=3" > /dev/null
export S3CSFS_IMDS_REFRESH_MARGIN=2
M5=$WORK/mnt-refresh
conf "$WORK/c5.conf" "$S3_ENDPOINT" "$WORK/cache-5"
if mount_fs "$WORK/c5.conf" "$M5"; then
	g0=$(stub_stat cred_gets)
	mkdir -p "$M5/2026/11/25/14/0"
	make_file "$WORK/tick" 4 tick
	fails=0 i=0
	end=$(($(date +%s) + 6))
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		cp "$WORK/tick" "$M5/2026/11/25/14/0/t$i.bin" 2> /dev/null || fails=$((fails + 1))
		sleep 0.2
	done
	g1=$(stub_stat cred_gets)
	check_eq "$i writes over 6 s while the credentials were renewed: none failed" 0 "$fails"
	check "credentials fetched again at least twice in 6 s ($((g1 - g0)))" test $((g1 - g0)) -ge 2
	check_eq "all $i files in the bucket" "$i" "$(s3 ls "$BUCKET" 2026/11/25/14/0/ 2> /dev/null | wc -l)"
	umount_fs "$M5"
else
	not_ok "mount with short-lived instance credentials"
fi

echo "# 6. session tokens: sent on every request, renewed, accepted (recording proxy)"
rm -f "$WORK/rec.port"
python3 "$STUB" record-proxy --hdr-log "$WORK/hdr.log" --listen 127.0.0.1:0 \
	--upstream "${S3_ENDPOINT#http://}" --port-file "$WORK/rec.port" > "$WORK/rec.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/rec.port" ] && break; sleep 0.1; done
REC_URL=http://127.0.0.1:$(cat "$WORK/rec.port")
stub imdstok --token StubSessionToken --ttl 3
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$STUB_URL
conf "$WORK/c6.conf" "$REC_URL" "$WORK/cache-6"
M6=$WORK/mnt-token
make_file "$WORK/tick" 4 tick
# The test server has no STS: it ignores a session token it did not issue
# (when the request is signed right), so these requests must succeed.
if mount_fs "$WORK/c6.conf" "$M6"; then
	mkdir -p "$M6/2026/11/25/14/1" 2> /dev/null
	fails=0 i=0
	end=$(($(date +%s) + 4))
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		cp "$WORK/tick" "$M6/2026/11/25/14/1/t$i.bin" 2> /dev/null || fails=$((fails + 1))
		sleep 0.2
	done
	check_eq "$i writes with a session token over 4 s: none failed" 0 "$fails"
	umount_fs "$M6"
	read -r total with distinct <<< "$(python3 - "$WORK/hdr.log" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
toks = [r["headers"].get("x-amz-security-token", "") for r in recs]
ok = [t for t in toks if t.startswith("StubSessionToken-")]
print(len(recs), len(ok), len(set(ok)))
EOF
)"
	check "requests were sent ($total)" test "$total" -gt 0
	check_eq "every request carried x-amz-security-token from the metadata service" "$total" "$with"
	check "the token changed as the credentials were renewed ($distinct tokens)" test "$distinct" -ge 2
else
	not_ok "mount with instance credentials carrying a token"
fi
unset S3CSFS_IMDS_REFRESH_MARGIN AWS_EC2_METADATA_SERVICE_ENDPOINT
export AWS_EC2_METADATA_DISABLED=true
: > "$WORK/hdr.log"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_SESSION_TOKEN=EnvSessionToken42
"$S3CSFS" check -o conf="$WORK/c6.conf" > "$WORK/check.out" 2>&1
check "AWS_SESSION_TOKEN: check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
check_eq "AWS_SESSION_TOKEN is sent as x-amz-security-token" EnvSessionToken42 \
	"$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['headers'].get('x-amz-security-token','(not sent)'))" "$WORK/hdr.log")"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

echo "# 7. nothing answers; bad metadata answers are refused, not crashed on"
"$S3CSFS" check -o conf="$WORK/c2.conf" > "$WORK/check.out" 2>&1
rc=$?
check "no source at all: refused (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 128
check "... saying what was tried" grep -q 'no credentials: none in the config file.*instance metadata is off' "$WORK/check.out"
unset AWS_EC2_METADATA_DISABLED
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$STUB_URL
for mode in garbage nested nosecret badexpiry huge code ctrl norole down; do
	curl -s -X POST "$STUB_URL/_stub/mode?m=$mode" > /dev/null
	"$S3CSFS" check -o conf="$WORK/c2.conf" > "$WORK/check.out" 2>&1
	rc=$?
	check "metadata answer '$mode': refused with a message (exit $rc)" \
		bash -c "[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q 'none from instance metadata (' '$WORK/check.out'"
done
curl -s -X POST "$STUB_URL/_stub/mode?m=ok" > /dev/null
export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1
"$S3CSFS" check -o conf="$WORK/c2.conf" > "$WORK/check.out" 2>&1
check "metadata service not listening: refused at once" grep -q "none from instance metadata (PUT http://127.0.0.1:1" "$WORK/check.out"
unset AWS_EC2_METADATA_SERVICE_ENDPOINT
export AWS_EC2_METADATA_DISABLED=true

echo "# secrets never logged"
leaks=$(cat "$WORK"/daemon.*.log "$WORK"/check.out 2> /dev/null |
	grep -c -e "$S3_SECRET_KEY" -e "$WRONG_SECRET" -e StubSessionToken -e EnvSessionToken42)
check_eq "no secret key or session token in any daemon log" 0 "$leaks"

drop_bucket "$BUCKET" > /dev/null 2>&1
finish
