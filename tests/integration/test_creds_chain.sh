#!/usr/bin/env bash
# test_creds_chain.sh - the rest of the credentials chain (issue 15) and
# the networks, end to end through mounts on the local RGW:
#   web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN -> STS
#   AssumeRoleWithWebIdentity), container credentials (RELATIVE_URI and
#   FULL_URI + token file), credential_process, role_arn with
#   source_profile / credential_source (STS AssumeRole), the aws_profile
#   and role_arn keys, SSO (sso_session + the AWS CLI's token cache),
#   s3csfs check's source/identity/expiry lines, errors
#   in words, refresh under load (sync and async uploads), and a real
#   forward proxy (tinyproxy) that S3 traffic goes through and metadata
#   traffic does not.
#
# Stand-ins (no server here provides them; tests/tools/sts_stub.py): an
# STS that verifies SigV4 and hands out the RGW test user's keys with a
# session token of its own and a short expiry (RGW ignores a session token
# it did not issue when the signature is right, so the handed-out keys
# really sign what RGW accepts), a container credentials endpoint, and a
# credential_process script (tests/tools/cred_process.py).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
TOOLS=$TOP/tests/tools

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_EC2_METADATA_SERVICE_ENDPOINT \
	AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_ENDPOINT_URL \
	AWS_ENDPOINT_URL_STS AWS_ENDPOINT_URL_S3 AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_ENDPOINT_URL_SSO \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE S3CSFS_IMDS_REFRESH_MARGIN \
	S3CSFS_CREDS_REFRESH_MARGIN S3CSFS_TEST_ECS_ENDPOINT AWS_REGION AWS_DEFAULT_REGION \
	http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
export HOME=$WORK/home # no ~/.aws of whoever runs the tests
mkdir -p "$HOME"
export AWS_EC2_METADATA_DISABLED=true

BUCKET=s3csfs-chain-$$
new_bucket "$BUCKET"
ROLE=arn:aws:iam::123456789012:role/s3csfs-test

# conf FILE CACHE UPLOAD [extra [s3] lines...]: one bucket, no keys.
conf() {
	local f=$1 cache=$2 up=$3
	shift 3
	{
		echo "[general]"
		echo "cache_dir = $cache"
		echo "log_level = ${LOG_LEVEL:-info}"
		echo "reaper = off"
		echo "upload = $up"
		echo "[s3]"
		echo "profile = onprem"
		echo "endpoint = ${ENDPOINT:-$S3_ENDPOINT}"
		echo "region = $S3_REGION"
		for l in "$@"; do echo "$l"; done
		echo "[bucket:main]"
		echo "name = $BUCKET"
	} > "$f"
	chmod 600 "$f"
}

# start NAME CMD...: a stand-in that writes its port to $WORK/NAME.port;
# sets URL.
start() {
	local name=$1
	shift
	rm -f "$WORK/$name.port"
	"$@" --port-file "$WORK/$name.port" > "$WORK/$name.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.1; done
	URL=http://127.0.0.1:$(cat "$WORK/$name.port")
}
stat_of() { # stat_of URL FIELD
	curl -s --noproxy '*' "$1/_stub/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

N=0
# load WHAT CONF COUNTER_URL COUNTER SECONDS: mounts, writes and reads
# back files for SECONDS (at most 400 files), checks none failed, that the
# stand-in's COUNTER grew by at least 2 (credentials renewed under load),
# and that every file is in the bucket.
load() {
	local what=$1 c=$2 url=$3 counter=$4 secs=$5 m=$WORK/mnt-$N dir
	N=$((N + 1))
	dir=2026/11/26/$N/0
	if ! mount_fs "$c" "$m"; then
		not_ok "$what: mount"
		return 1
	fi
	local g0 g1 fails=0 i=0 end=$(($(date +%s) + secs))
	g0=$(stat_of "$url" "$counter")
	mkdir -p "$m/$dir"
	make_file "$WORK/tick" 8 "tick$N"
	while [ "$(date +%s)" -lt "$end" ] && [ "$i" -lt 400 ]; do
		i=$((i + 1))
		cp "$WORK/tick" "$m/$dir/t$i.bin" 2> /dev/null || fails=$((fails + 1))
		cmp -s "$WORK/tick" "$m/$dir/t$i.bin" || fails=$((fails + 1))
		sleep 0.1
	done
	g1=$(stat_of "$url" "$counter")
	umount_fs "$m"
	check_eq "$what: $i writes and reads over $secs s, none failed" 0 "$fails"
	check "$what: credentials renewed under load ($((g1 - g0)) times)" test $((g1 - g0)) -ge 2
	check_eq "$what: all $i files in the bucket" "$i" "$(s3 ls "$BUCKET" "$dir/" 2> /dev/null | wc -l)"
}
# check_out CONF: runs s3csfs check, output in $WORK/check.out; returns its status.
check_out() {
	local rc=0
	"$S3CSFS" check -o conf="$1" > "$WORK/check.out" 2>&1 || rc=$?
	keep
	return $rc
}
# Every check output, in a daemon.*.log name: finish scans those for
# sanitizer reports, and the secrets check reads them.
keep() { cat "$WORK/check.out" >> "$WORK/daemon.checks.log"; }

start sts python3 "$TOOLS/sts_stub.py" sts --ttl 3 --token-file "$WORK/token" --external-id ext-42
STS=$URL
export AWS_ENDPOINT_URL_STS=$STS
# Credentials valid 3 s, renewed 2 s before (never more than half-way).
export S3CSFS_CREDS_REFRESH_MARGIN=2

echo "# 1. web identity (EKS IRSA): token file + role -> AssumeRoleWithWebIdentity"
echo "eyJ.token-1.sig" > "$WORK/token"
export AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/token AWS_ROLE_ARN=$ROLE AWS_ROLE_SESSION_NAME=irsa-pod
conf "$WORK/w.conf" "$WORK/cache-w" sync
check "check passes" check_out "$WORK/w.conf"
check "check: the source is web identity, with the role" \
	grep -q "^OK   \[bucket:main\] credentials from the web identity (STS AssumeRoleWithWebIdentity at $STS, role $ROLE" "$WORK/check.out"
check "check: they expire (a time and seconds left)" \
	grep -Eq 'they expire [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \(in [0-3] s\)' "$WORK/check.out"
check "check: the identity (GetCallerIdentity) is the assumed role's session" \
	grep -q "identity arn:aws:sts::123456789012:assumed-role/s3csfs-test/irsa-pod, account 123456789012" "$WORK/check.out"
check_eq "STS saw the session name" irsa-pod \
	"$(curl -s "$STS/_stub/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['last_AssumeRoleWithWebIdentity'].get('RoleSessionName'))")"
check_eq "GetCallerIdentity was signed right" 0 "$(stat_of "$STS" bad_signature)"
for up in sync async; do
	conf "$WORK/w-$up.conf" "$WORK/cache-w-$up" "$up"
	# The token is rotated while the mount runs: the stand-in takes only
	# the current one, so each refresh must read the file again.
	( for k in 2 3 4; do sleep 2; echo "eyJ.token-$k-$up.sig" > "$WORK/token.tmp"; mv "$WORK/token.tmp" "$WORK/token"; done ) &
	rot=$!
	load "web identity, upload = $up, token rotated" "$WORK/w-$up.conf" "$STS" AssumeRoleWithWebIdentity 7
	wait "$rot"
	check_eq "web identity, upload = $up: no stale token sent" 0 "$(stat_of "$STS" bad_token)"
done
check "the daemon log names the source" grep -q 'credentials from the web identity' "$DAEMON_LOG"

echo "# web identity errors"
chmod 000 "$WORK/token"
if [ "$(id -u)" -ne 0 ]; then
	check "unreadable token file: check fails" bash -c "! '$S3CSFS' check -o conf='$WORK/w.conf' > '$WORK/check.out' 2>&1"
	keep
	check "... naming the file and what to do" grep -q "cannot read the token file $WORK/token (Permission denied); check AWS_WEB_IDENTITY_TOKEN_FILE" "$WORK/check.out"
fi
chmod 600 "$WORK/token"
export AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/no-such-token
check "missing token file: check fails" bash -c "! '$S3CSFS' check -o conf='$WORK/w.conf' > '$WORK/check.out' 2>&1"
keep
check "... naming the file" grep -q "cannot read the token file $WORK/no-such-token (No such file or directory)" "$WORK/check.out"
export AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/token
echo "eyJ.not-the-current-one" > "$WORK/wrong-token"
AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/wrong-token check_out "$WORK/w.conf"
check "token refused by STS: STS's code and message, and a hint" \
	grep -q "STS AssumeRoleWithWebIdentity at $STS/\?: HTTP 400 InvalidIdentityToken: The web identity token.*check the token file" "$WORK/check.out"
curl -s -X POST "$STS/_stub/mode?m=deny" > /dev/null
check_out "$WORK/w.conf"
check "STS AccessDenied: in words" grep -q "HTTP 403 AccessDenied: User is not authorized to perform: sts:AssumeRoleWithWebIdentity; the role's trust policy" "$WORK/check.out"
curl -s -X POST "$STS/_stub/mode?m=garbage" > /dev/null
check_out "$WORK/w.conf"
check "STS answers garbage: refused" grep -q "the answer is not XML; is it an STS endpoint" "$WORK/check.out"
curl -s -X POST "$STS/_stub/mode?m=ok" > /dev/null
AWS_ENDPOINT_URL_STS=http://127.0.0.1:1 check_out "$WORK/w.conf"
check "STS not listening: says so" grep -q "STS AssumeRoleWithWebIdentity at http://127.0.0.1:1: .*check sts_endpoint" "$WORK/check.out"
unset AWS_ENDPOINT_URL_STS
conf "$WORK/w-key.conf" "$WORK/cache-wk" sync "sts_endpoint = $STS"
check "sts_endpoint = in the config file (no AWS_ENDPOINT_URL_STS)" check_out "$WORK/w-key.conf"
conf "$WORK/w-def.conf" "$WORK/cache-wd" sync
check_out "$WORK/w-def.conf"
check "profile = onprem without an STS override asks the S3 endpoint (RGW has STS there)" \
	grep -q "STS AssumeRoleWithWebIdentity at $S3_ENDPOINT" "$WORK/check.out"
export AWS_ENDPOINT_URL_STS=$STS
unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME

echo "# 2. container credentials"
start ecs python3 "$TOOLS/sts_stub.py" container --ttl 3 --path /v2/credentials/task-1
ECS=$URL
export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task-1 S3CSFS_TEST_ECS_ENDPOINT=$ECS
conf "$WORK/e.conf" "$WORK/cache-e" sync
check "ECS (RELATIVE_URI): check passes" check_out "$WORK/e.conf"
check "... naming the endpoint" grep -q "credentials from the container credentials endpoint $ECS/v2/credentials/task-1;" "$WORK/check.out"
load "ECS task role, upload = async" "$WORK/e.conf" "$ECS" gets 6
conf "$WORK/e2.conf" "$WORK/cache-e2" sync
load "ECS task role, upload = sync" "$WORK/e2.conf" "$ECS" gets 6
unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI S3CSFS_TEST_ECS_ENDPOINT
echo "pod-identity-token-1" > "$WORK/eks-token"
start eks python3 "$TOOLS/sts_stub.py" container --ttl 3 --path /v1/credentials --token-file "$WORK/eks-token"
EKS=$URL
export AWS_CONTAINER_CREDENTIALS_FULL_URI=$EKS/v1/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/eks-token
check "EKS Pod Identity (FULL_URI + token file): check passes" check_out "$WORK/e.conf"
( sleep 2; echo "pod-identity-token-2" > "$WORK/eks-token" ) &
rot=$!
load "EKS Pod Identity, token rotated, upload = sync" "$WORK/e2.conf" "$EKS" gets 6
wait "$rot"
check_eq "EKS: the token file was read again at every fetch" 0 "$(stat_of "$EKS" unauthorized)"
unset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong check_out "$WORK/e.conf"
check "EKS: a refused token says so" grep -q "container credentials: GET $EKS/v1/credentials: HTTP 401; the authorization token was refused" "$WORK/check.out"
for bad in http://10.0.0.1/creds http://169.254.169.254/creds http://example.com/creds; do
	AWS_CONTAINER_CREDENTIALS_FULL_URI=$bad check_out "$WORK/e.conf"
	check "FULL_URI host of $bad refused" grep -q "is not allowed: only loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23" "$WORK/check.out"
done
curl -s -X POST "$ECS/_stub/mode?m=garbage" > /dev/null
AWS_CONTAINER_CREDENTIALS_FULL_URI=$ECS/v2/credentials/task-1 check_out "$WORK/e.conf"
check "container endpoint answers garbage: refused" grep -q "unusable credentials document" "$WORK/check.out"
curl -s -X POST "$ECS/_stub/mode?m=ok" > /dev/null
unset AWS_CONTAINER_CREDENTIALS_FULL_URI

echo "# 3. the shared config file: credential_process"
CNT=$WORK/proc.count
{
	echo "[profile proc]"
	echo "credential_process = python3 $TOOLS/cred_process.py $CNT 4"
	echo "[profile proc-garbage]"
	echo "credential_process = python3 $TOOLS/cred_process.py $WORK/g.count 3 garbage"
	echo "[profile proc-fail]"
	echo "credential_process = python3 $TOOLS/cred_process.py $WORK/f.count 3 fail"
	echo "[profile proc-noversion]"
	echo "credential_process = python3 $TOOLS/cred_process.py $WORK/n.count 3 noversion"
	echo "[profile assumer]"
	echo "role_arn = $ROLE"
	echo "source_profile = keys"
	echo "external_id = ext-42"
	echo "role_session_name = from-profile"
	echo "duration_seconds = 900"
	echo "[profile env-assumer]"
	echo "role_arn = $ROLE"
	echo "credential_source = Environment"
	echo "role_session_name = env-src"
	echo "external_id = ext-42"
	echo "[profile bad-ext]"
	echo "role_arn = $ROLE"
	echo "source_profile = keys"
	echo "external_id = wrong"
	echo "[profile sso]"
	echo "sso_session = corp"
	echo "sso_account_id = 123456789012"
	echo "sso_role_name = ReadOnly"
} > "$WORK/aws-config"
printf '[keys]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$WORK/aws-credentials"
chmod 600 "$WORK/aws-credentials"
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
conf "$WORK/p.conf" "$WORK/cache-p" async
export AWS_PROFILE=proc
check "credential_process (AWS_PROFILE=proc): check passes" check_out "$WORK/p.conf"
check "... naming the profile" grep -q "credentials from the credential_process of profile proc; they expire" "$WORK/check.out"
for up in sync async; do
	conf "$WORK/p-$up.conf" "$WORK/cache-p-$up" "$up"
	p0=$(cat "$CNT")
	if mount_fs "$WORK/p-$up.conf" "$WORK/mnt-p-$up"; then
		fails=0 i=0 end=$(($(date +%s) + 6))
		mkdir -p "$WORK/mnt-p-$up/2026/11/27/$up"
		make_file "$WORK/tick" 8 "p$up"
		while [ "$(date +%s)" -lt "$end" ] && [ "$i" -lt 400 ]; do
			i=$((i + 1))
			cp "$WORK/tick" "$WORK/mnt-p-$up/2026/11/27/$up/t$i.bin" 2> /dev/null || fails=$((fails + 1))
			cmp -s "$WORK/tick" "$WORK/mnt-p-$up/2026/11/27/$up/t$i.bin" || fails=$((fails + 1))
			sleep 0.1
		done
		umount_fs "$WORK/mnt-p-$up"
		check_eq "credential_process, upload = $up: $i writes and reads, none failed" 0 "$fails"
		check "credential_process, upload = $up: run again under load ($(($(cat "$CNT") - p0)) times)" \
			test $(($(cat "$CNT") - p0)) -ge 2
		check_eq "credential_process, upload = $up: all files in the bucket" "$i" \
			"$(s3 ls "$BUCKET" "2026/11/27/$up/" 2> /dev/null | wc -l)"
	else
		not_ok "credential_process, upload = $up: mount"
	fi
done
AWS_PROFILE=proc-garbage check_out "$WORK/p.conf"
check "credential_process printing garbage: refused, naming the profile and the format" \
	grep -q "profile proc-garbage: credential_process printed unusable output (not a JSON object); it must print {\"Version\": 1" "$WORK/check.out"
AWS_PROFILE=proc-fail check_out "$WORK/p.conf"
check "credential_process exiting 3: says so" grep -q "profile proc-fail: credential_process exited with status 3; run the command by hand" "$WORK/check.out"
check "... its own stderr passes through" grep -q "no credentials for you" "$WORK/check.out"
AWS_PROFILE=proc-noversion check_out "$WORK/p.conf"
check "credential_process without Version: refused" grep -q 'no "Version": 1' "$WORK/check.out"
AWS_PROFILE=no-such check_out "$WORK/p.conf"
check "unknown AWS_PROFILE and nothing else: no credentials" grep -q "no credentials: none in the config file" "$WORK/check.out"

echo "# 3b. SSO (sso_session + the AWS CLI's token cache -> GetRoleCredentials)"
start sso python3 "$TOOLS/sts_stub.py" sso --ttl 3 --bearer sso-access-token-1 --role ReadOnly
SSO=$URL
export AWS_ENDPOINT_URL_SSO=$SSO AWS_PROFILE=sso
{
	echo "[sso-session corp]"
	echo "sso_start_url = https://corp.awsapps.com/start"
	echo "sso_region = eu-west-1"
	echo "[profile sso-legacy]"
	echo "sso_start_url = https://legacy.awsapps.com/start"
	echo "sso_region = eu-west-1"
	echo "sso_account_id = 123456789012"
	echo "sso_role_name = ReadOnly"
	echo "[profile sso-other]"
	echo "sso_session = corp"
	echo "sso_account_id = 123456789012"
	echo "sso_role_name = Admin"
} >> "$WORK/aws-config"
# The cache file the AWS CLI writes at "aws sso login": SHA1 of the
# session name (of the start URL for a legacy profile).
sso_cache() { # sso_cache KEY TOKEN EXPIRES_IN_S
	mkdir -p "$HOME/.aws/sso/cache"
	python3 - "$HOME/.aws/sso/cache" "$@" <<'EOF'
import hashlib, json, sys, time
d, key, tok, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
doc = {"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": tok,
       "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + secs)),
       "clientId": "c", "clientSecret": "s", "registrationExpiresAt": "2030-01-01T00:00:00Z"}
open("%s/%s.json" % (d, hashlib.sha1(key.encode()).hexdigest()), "w").write(json.dumps(doc))
EOF
}
sso_cache corp sso-access-token-1 3600
check "SSO profile (sso_session): check passes" check_out "$WORK/p.conf"
check "... naming profile, account and role" grep -q "credentials from the SSO profile sso (account 123456789012, role ReadOnly); they expire" "$WORK/check.out"
conf "$WORK/s.conf" "$WORK/cache-s" async "aws_profile = sso"
load "SSO role credentials, upload = async" "$WORK/s.conf" "$SSO" gets 6
check_eq "SSO: the bearer token was always the cached one" 0 "$(stat_of "$SSO" unauthorized)"
sso_cache https://legacy.awsapps.com/start sso-access-token-1 3600
AWS_PROFILE=sso-legacy check_out "$WORK/p.conf"
check "legacy SSO profile (sso_start_url in the profile): check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
AWS_PROFILE=sso-other check_out "$WORK/p.conf"
check "SSO role the user may not use: says so" grep -q "profile sso-other: SSO GetRoleCredentials: HTTP 403: the SSO user may not use this account and role" "$WORK/check.out"
sso_cache corp sso-access-token-1 -60
check_out "$WORK/p.conf"
check "expired SSO token: says when and what to run" grep -q "profile sso: the SSO token expired at .*Z; run: aws sso login --sso-session corp" "$WORK/check.out"
sso_cache corp sso-access-token-OLD 3600
check_out "$WORK/p.conf"
check "SSO token refused by the portal: says what to run" grep -q "profile sso: SSO GetRoleCredentials: HTTP 401: run: aws sso login --sso-session corp" "$WORK/check.out"
rm -rf "$HOME/.aws/sso"
check_out "$WORK/p.conf"
check "no SSO token cached: says what to run" grep -q "profile sso: no SSO token in $HOME/.aws/sso/cache/.*json (No such file or directory); run: aws sso login --sso-session corp" "$WORK/check.out"
unset AWS_ENDPOINT_URL_SSO
export AWS_PROFILE=proc

echo "# 4. role_arn + source_profile / credential_source -> AssumeRole"
export AWS_PROFILE=assumer
check "role_arn + source_profile: check passes" check_out "$WORK/p.conf"
check "... naming role, STS and the source profile" \
	grep -q "credentials from the role $ROLE assumed (STS AssumeRole at $STS) with the credentials from the shared credentials file $WORK/aws-credentials, profile keys" "$WORK/check.out"
check "... identity is the assumed role" grep -q "identity arn:aws:sts::123456789012:assumed-role/s3csfs-test/from-profile" "$WORK/check.out"
last=$(curl -s "$STS/_stub/stats" | python3 -c "import json,sys; l=json.load(sys.stdin)['last_AssumeRole']; print(l.get('ExternalId'), l.get('RoleSessionName'), l.get('DurationSeconds'))")
check_eq "AssumeRole carried external_id, role_session_name, duration_seconds" "ext-42 from-profile 900" "$last"
check_eq "AssumeRole requests were signed right (SigV4 verified by the stand-in)" 0 "$(stat_of "$STS" bad_signature)"
conf "$WORK/r.conf" "$WORK/cache-r" sync
load "assumed role, upload = sync" "$WORK/r.conf" "$STS" AssumeRole 6
AWS_PROFILE=bad-ext check_out "$WORK/p.conf"
check "a wrong external_id: STS's AccessDenied in words" grep -q "STS AssumeRole at $STS.*HTTP 403 AccessDenied: ExternalId does not match" "$WORK/check.out"
unset AWS_PROFILE
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
# With keys in the environment, the chain stops there; the profile is
# picked by the aws_profile key instead.
conf "$WORK/ce.conf" "$WORK/cache-ce" async "aws_profile = env-assumer"
check "aws_profile = env-assumer (credential_source = Environment): check passes" check_out "$WORK/ce.conf"
check "... assumed with the environment's keys" grep -q "assumed (STS AssumeRole at $STS) with the credentials from the environment" "$WORK/check.out"
load "credential_source = Environment, upload = async" "$WORK/ce.conf" "$STS" AssumeRole 6
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_PROFILE=env-assumer check_out "$WORK/ce.conf"
check "credential_source = Environment without keys: says so" grep -q "credential_source = Environment but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set" "$WORK/check.out"

echo "# 5. the aws_profile and role_arn keys, per bucket"
{
	echo "[general]"
	echo "cache_dir = $WORK/cache-k"
	echo "reaper = off"
	echo "[s3]"
	echo "profile = onprem"
	echo "endpoint = $S3_ENDPOINT"
	echo "region = $S3_REGION"
	echo "aws_profile = keys"
	echo "[bucket:main]"
	echo "name = $BUCKET"
	echo "default = true"
	echo "[bucket:other]"
	echo "name = $BUCKET"
	echo "paths = 2025/**"
	echo "role_arn = arn:aws:iam::210987654321:role/other-account"
} > "$WORK/k.conf"
chmod 600 "$WORK/k.conf"
check "aws_profile in [s3], role_arn in a bucket: check passes" check_out "$WORK/k.conf"
check "... [bucket:main] from the profile" grep -q "^OK   \[bucket:main\] credentials from the shared credentials file $WORK/aws-credentials, profile keys; they expire never" "$WORK/check.out"
check "... [bucket:other] assumes its role with them" \
	grep -q "^OK   \[bucket:other\] credentials from the role arn:aws:iam::210987654321:role/other-account assumed (STS AssumeRole at $STS) with the credentials from the shared credentials file" "$WORK/check.out"
check "... and its identity is that role's" grep -q "^OK   \[bucket:other\] identity arn:aws:sts::123456789012:assumed-role/other-account/s3csfs-" "$WORK/check.out"
if mount_fs "$WORK/k.conf" "$WORK/mnt-k"; then
	mkdir -p "$WORK/mnt-k/2025/1/2" "$WORK/mnt-k/2026/1/2"
	make_file "$WORK/k.src" 16 k
	cp "$WORK/k.src" "$WORK/mnt-k/2025/1/2/other.bin" && cp "$WORK/k.src" "$WORK/mnt-k/2026/1/2/main.bin"
	check "writes through both buckets' credentials" cmp -s "$WORK/k.src" "$WORK/mnt-k/2025/1/2/other.bin"
	umount_fs "$WORK/mnt-k"
	check "both objects in the bucket" \
		bash -c "'$S3TOOL' head '$BUCKET' 2025/1/2/other.bin >/dev/null && '$S3TOOL' head '$BUCKET' 2026/1/2/main.bin >/dev/null"
else
	not_ok "mount with aws_profile and a per-bucket role_arn"
fi
sed -i 's/^aws_profile = keys/aws_profile = missing/' "$WORK/k.conf"
check_out "$WORK/k.conf"
check "aws_profile naming a missing profile: says where it looked" grep -q "profile missing is in neither $WORK/aws-credentials nor $WORK/aws-config; check aws_profile" "$WORK/check.out"
unset AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE

echo "# 6. networks: a real forward proxy (tinyproxy) on loopback"
# A free port: bind 0, read it, release it (tinyproxy cannot take 0).
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
	echo "Port $PPORT"
	echo "Listen 127.0.0.1"
	echo "Timeout 60"
	echo "LogFile \"$WORK/tinyproxy.log\""
	echo "LogLevel Connect"
	echo "MaxClients 50"
	echo "Allow 127.0.0.1"
	echo "DisableViaHeader Yes"
} > "$WORK/tinyproxy.conf"
tinyproxy -d -c "$WORK/tinyproxy.conf" > "$WORK/tinyproxy.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$PPORT") 2> /dev/null && break; sleep 0.1; done
PROXY=http://127.0.0.1:$PPORT
S3HOSTPORT=${S3_ENDPOINT#http://}
proxied() { grep -c "GET http://$S3HOSTPORT/\|PUT http://$S3HOSTPORT/\|HEAD http://$S3HOSTPORT/" "$WORK/tinyproxy.log"; }
via_proxy() { grep -c "$1" "$WORK/tinyproxy.log"; }
: > "$WORK/tinyproxy.log"

# proxy = in the config file; credentials from the container endpoint
# and STS, metadata traffic must not go through the proxy.
export AWS_CONTAINER_CREDENTIALS_FULL_URI=$ECS/v2/credentials/task-1
conf "$WORK/x.conf" "$WORK/cache-x" sync "proxy = $PROXY"
check "proxy = in [s3]: check passes" check_out "$WORK/x.conf"
n=$(proxied)
check "S3 requests went through tinyproxy ($n in its log)" test "$n" -ge 3
check_eq "the container endpoint was not asked through it" 0 "$(via_proxy "$ECS")"
unset AWS_CONTAINER_CREDENTIALS_FULL_URI
# The environment, as systemd's Environment= gives it: a clean
# environment holding only what the unit sets.
: > "$WORK/tinyproxy.log"
conf "$WORK/y.conf" "$WORK/cache-y" sync
ev=(env -i PATH="$PATH" HOME="$HOME" S3_ACCESS_KEY="$S3_ACCESS_KEY" S3_SECRET_KEY="$S3_SECRET_KEY"
	AWS_EC2_METADATA_DISABLED=true S3CSFS_CREDS_REFRESH_MARGIN=2)
"${ev[@]}" HTTP_PROXY="$PROXY" AWS_CONTAINER_CREDENTIALS_FULL_URI="$ECS/v2/credentials/task-1" \
	"$S3CSFS" check -o conf="$WORK/y.conf" > "$WORK/check.out" 2>&1
keep
check "HTTP_PROXY (upper case, as systemd Environment= sets it): check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
n=$(proxied)
check "... S3 requests went through tinyproxy ($n)" test "$n" -ge 3
check_eq "... the container endpoint did not" 0 "$(via_proxy "$ECS")"
: > "$WORK/tinyproxy.log"
"${ev[@]}" http_proxy="$PROXY" AWS_ENDPOINT_URL_STS="$STS" AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" \
	AWS_ROLE_ARN="$ROLE" "$S3CSFS" check -o conf="$WORK/y.conf" > "$WORK/check.out" 2>&1
check "http_proxy + web identity: check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
check "... STS requests went through tinyproxy (as in the SDKs)" test "$(via_proxy "POST $STS/")" -ge 2
: > "$WORK/tinyproxy.log"
"${ev[@]}" HTTP_PROXY="$PROXY" NO_PROXY=127.0.0.1 AWS_ENDPOINT_URL_STS="$STS" \
	AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE" \
	"$S3CSFS" check -o conf="$WORK/y.conf" > "$WORK/check.out" 2>&1
keep
check "HTTP_PROXY with NO_PROXY=127.0.0.1: check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
check_eq "... and nothing went through the proxy" 0 "$(grep -c 'http://' "$WORK/tinyproxy.log")"
: > "$WORK/tinyproxy.log"
start imds python3 "$TOOLS/imds_stub.py" serve
"${ev[@]}" HTTP_PROXY="$PROXY" AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$URL" \
	"$S3CSFS" check -o conf="$WORK/y.conf" > "$WORK/check.out" 2>&1
keep
check "HTTP_PROXY + instance metadata: check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
check "... S3 through the proxy" test "$(proxied)" -ge 3
check_eq "... instance metadata not" 0 "$(via_proxy "$URL")"
# A proxy for the mount, under load, both upload modes.
for up in sync async; do
	: > "$WORK/tinyproxy.log"
	conf "$WORK/x-$up.conf" "$WORK/cache-x-$up" "$up" "proxy = $PROXY" "access_key = $S3_ACCESS_KEY" "secret_key = $S3_SECRET_KEY"
	if mount_fs "$WORK/x-$up.conf" "$WORK/mnt-x-$up"; then
		mkdir -p "$WORK/mnt-x-$up/2026/11/28/$up"
		make_file "$WORK/x.src" 64 "x$up"
		for i in 1 2 3 4 5; do cp "$WORK/x.src" "$WORK/mnt-x-$up/2026/11/28/$up/$i.bin"; done
		umount_fs "$WORK/mnt-x-$up"
		check_eq "proxy, upload = $up: 5 files in the bucket" 5 "$(s3 ls "$BUCKET" "2026/11/28/$up/" 2> /dev/null | wc -l)"
		check "proxy, upload = $up: the PUTs went through tinyproxy" \
			test "$(grep -c "PUT http://$S3HOSTPORT/$BUCKET/2026/11/28/$up/" "$WORK/tinyproxy.log")" -ge 5
	else
		not_ok "proxy, upload = $up: mount"
	fi
done
conf "$WORK/xn.conf" "$WORK/cache-xn" sync "proxy = none"
: > "$WORK/tinyproxy.log"
"${ev[@]}" HTTP_PROXY="$PROXY" AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
	"$S3CSFS" check -o conf="$WORK/xn.conf" > "$WORK/check.out" 2>&1
keep
check "proxy = none beats HTTP_PROXY: check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
check_eq "... with nothing through the proxy" 0 "$(grep -c 'http://' "$WORK/tinyproxy.log")"

echo "# 7. profile = aws: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL"
{
	echo "[general]"
	echo "cache_dir = $WORK/cache-a"
	echo "reaper = off"
	echo "[s3]"
	echo "profile = aws"
	echo "addressing = path"
	echo "access_key = $S3_ACCESS_KEY"
	echo "secret_key = $S3_SECRET_KEY"
	echo "sts_endpoint = $STS"
	echo "[bucket:main]"
	echo "name = $BUCKET"
} > "$WORK/a.conf"
chmod 600 "$WORK/a.conf"
AWS_REGION=$S3_REGION AWS_ENDPOINT_URL_S3=$S3_ENDPOINT check_out "$WORK/a.conf"
check "profile = aws with AWS_ENDPOINT_URL_S3 = the local server: check passes" grep -q '^OK: 0 failure' "$WORK/check.out"
AWS_REGION=$S3_REGION AWS_ENDPOINT_URL=$S3_ENDPOINT check_out "$WORK/a.conf"
check "... and with AWS_ENDPOINT_URL" grep -q '^OK: 0 failure' "$WORK/check.out"
AWS_ENDPOINT_URL_S3=ftp://x check_out "$WORK/a.conf"
check "a malformed AWS_ENDPOINT_URL_S3 is refused by name" grep -q "AWS_ENDPOINT_URL_S3: 'ftp://x' must start with http:// or https://" "$WORK/check.out"

echo "# secrets never logged"
leaks=$(cat "$WORK"/daemon.*.log 2> /dev/null |
	grep -c -e "$S3_SECRET_KEY" -e StubSTS- -e StubContainer- -e StubProcess- -e eyJ.token -e pod-identity-token)
check_eq "no secret key, session token or identity token in any log" 0 "$leaks"

drop_bucket "$BUCKET" > /dev/null 2>&1
finish
