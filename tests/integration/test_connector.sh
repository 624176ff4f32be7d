#!/usr/bin/env bash
# test_connector.sh - the connector's later features (issue 16):
#  - WORM retention on Object Lock, for real on the local Ceph RGW: a bucket
#    created with Object Lock; every PutObject and CreateMultipartUpload
#    carries the mode and retain-until date (both upload modes); unlink of a
#    retained or held object is EPERM with no DeleteObject sent, and RGW
#    itself refuses to delete the version; s3csfs hold; s3csfs check.
#  - Direct access URLs, for real: curl fetches what s3csfs url and the
#    user.s3csfs.direct_url xattr give, with the response overrides; an
#    expired URL is refused by the server.
#  - Archive and restore: no local server has S3 Glacier, so the test proxy
#    (s3proxy.py --glacier) stands in for it: it answers CopyObject into an
#    archive class, refuses GETs of archived keys with 403
#    InvalidObjectState, accepts POST ?restore and completes a restore when
#    told. What is tested is s3csfs's side of that protocol, not Glacier.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

S=$$
BL=s3csfs-lock-$S
BN=s3csfs-nolock-$S
BA=s3csfs-arch-$S
s3 mb "$BL" --object-lock || { not_ok "create bucket $BL with Object Lock"; finish; }
new_bucket "$BN"
new_bucket "$BA"
start_proxy --glacier
# Object Lock buckets keep every version until its retention ends: they
# are left to the testbed, which is thrown away.
trap 'drop_bucket "$BN" > /dev/null 2>&1; drop_bucket "$BA" > /dev/null 2>&1; cleanup' EXIT

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# head_field BUCKET KEY FIELD: one line of s3tool head.
head_field() { s3 head "$1" "$2" 2> /dev/null | awk -v f="$3" '$1 == f { print $2 }'; }
exists() { s3 head "$1" "$2" > /dev/null 2>&1; }
# wait_object BUCKET KEY: until the object is in S3 (upload = async), bounded.
wait_object() {
	for _ in $(seq 200); do s3 head "$1" "$2" > /dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# xattr_poll FILE NAME PATTERN: the xattr's value once it matches (at most
# 10 s: the daemon keeps a HEAD answer for 2 s).
xattr_poll() {
	local v=""
	for _ in $(seq 100); do
		v=$(getfattr --absolute-names --only-values -n "$2" "$1" 2> /dev/null)
		[[ $v =~ $3 ]] && break
		sleep 0.1
	done
	echo "$v"
}
# common_conf FILE CACHE MODE [GENERAL-LINE]: [general] and [s3] through
# the proxy.
common_conf() {
	cat > "$1" <<EOF
[general]
cache_dir = $2
log_level = ${LOG_LEVEL:-info}
reaper = off
upload = $3
part_size = 5M
${4:-}
[s3]
profile = onprem
endpoint = $PROXY_URL
region = $S3_REGION
access_key = $S3_ACCESS_KEY
secret_key = $S3_SECRET_KEY
EOF
	chmod 600 "$1"
}

# ---- WORM retention on Object Lock (real RGW), both upload modes ----------

for mode in sync async; do
	C=$WORK/lock-$mode.conf M=$WORK/mnt-lock-$mode
	common_conf "$C" "$WORK/cache-lock-$mode" "$mode"
	cat >> "$C" <<EOF
[bucket:short]
name = $BL
paths = short/**
object_lock = governance
retention = 1s
[bucket:lock]
name = $BL
default = true
key_prefix = $mode
object_lock = governance
retention = 1h
EOF
	mount_fs "$C" "$M" || { not_ok "$mode: mount"; continue; }
	D=2026/12/2/9/$S
	mkdir -p "$M/$D" "$M/short"
	make_file "$WORK/small" 10 s1
	make_file "$WORK/big" 12288 b1
	t0=$(date +%s)
	cp "$WORK/small" "$M/$D/small.bin"
	cp "$WORK/big" "$M/$D/big.bin"
	check "$mode: small object in S3" wait_object "$BL" "$mode/$D/small.bin"
	check "$mode: large object in S3" wait_object "$BL" "$mode/$D/big.bin"
	t1=$(date +%s)
	for f in small big; do
		check_eq "$mode: $f.bin (PutObject / multipart) has lock mode GOVERNANCE" GOVERNANCE \
			"$(head_field "$BL" "$mode/$D/$f.bin" lock_mode)"
		until=$(head_field "$BL" "$mode/$D/$f.bin" retain_until)
		check "$mode: $f.bin retained until upload time + 1h ($until)" \
			test "${until:-0}" -ge $((t0 + 3600)) -a "${until:-0}" -le $((t1 + 3601))
		check_eq "$mode: user.s3csfs.retain_until of $f.bin" "$(iso "${until:-0}")" \
			"$(xattr_poll "$M/$D/$f.bin" user.s3csfs.retain_until '^2')"
	done
	check "$mode: the bytes read back" cmp "$WORK/big" "$M/$D/big.bin"
	proxy_reset
	out=$(rm "$M/$D/small.bin" 2>&1)
	check "$mode: unlink of a retained file is EPERM ($out)" grep -q "Operation not permitted" <<< "$out"
	check_eq "$mode: no DeleteObject sent" 0 "$(proxy_op DeleteObject)"
	check "$mode: the file is still there" test -f "$M/$D/small.bin"
	check "$mode: the object is still there" exists "$BL" "$mode/$D/small.bin"
	check "$mode: the refusal is logged" grep -q "key=$mode/$D/small.bin refused (EPERM): retained until" "$DAEMON_LOG"
	proxy_reset
	out=$(mv "$M/$D/small.bin" "$M/$D/moved.bin" 2>&1)
	check "$mode: rename of a retained file is EPERM ($out)" grep -q "Operation not permitted" <<< "$out"
	check_eq "$mode: ... with no CopyObject sent" 0 "$(proxy_op CopyObject)"
	check "$mode: ... and no second name" test ! -e "$M/$D/moved.bin"
	check "$mode: ... and the file still there" test -f "$M/$D/small.bin"
	v=$(head_field "$BL" "$mode/$D/small.bin" version_id)
	out=$(s3 rm "$BL" "$mode/$D/small.bin" --version-id "$v" 2>&1)
	check "$mode: RGW refuses to delete the retained version ($out)" grep -q "AccessDenied" <<< "$out"

	# Legal hold: retention of 1 s, so only the hold keeps it.
	cp "$WORK/small" "$M/short/held-$mode.bin"
	check "$mode: held object in S3" wait_object "$BL" "short/held-$mode.bin"
	out=$("$S3CSFS" hold -o "conf=$C" "$M/short/held-$mode.bin" on)
	check_eq "$mode: s3csfs hold on (absolute path, mount point from /proc/mounts)" \
		"$M/short/held-$mode.bin: legal hold on" "$out"
	check_eq "$mode: the server has the hold" ON "$(head_field "$BL" "short/held-$mode.bin" legal_hold)"
	check_eq "$mode: user.s3csfs.legal_hold" on "$(xattr_poll "$M/short/held-$mode.bin" user.s3csfs.legal_hold '^on$')"
	until=$(head_field "$BL" "short/held-$mode.bin" retain_until)
	for _ in $(seq 50); do [ "$(date +%s)" -gt "${until:-0}" ] && break; sleep 0.1; done
	proxy_reset
	check "$mode: unlink of a held file (retention over) is refused" \
		bash -c "! rm '$M/short/held-$mode.bin' 2> /dev/null"
	check_eq "$mode: no DeleteObject sent for the held file" 0 "$(proxy_op DeleteObject)"
	out=$("$S3CSFS" hold -o "conf=$C" --mount "$M" "$M/short/held-$mode.bin" off)
	check_eq "$mode: s3csfs hold off (--mount)" "$M/short/held-$mode.bin: legal hold off" "$out"
	check "$mode: unlink once neither retained nor held" rm "$M/short/held-$mode.bin"
	check_eq "$mode: one DeleteObject sent" 1 "$(proxy_op DeleteObject)"
	umount_fs "$M"
done

C=$WORK/lock-sync.conf
out=$("$S3CSFS" check -o "conf=$C")
check "s3csfs check: Object Lock enabled on the bucket" grep -q "OK   \[bucket:lock\] Object Lock enabled" <<< "$out"
check "s3csfs check passes" grep -q "^OK: 0 failure" <<< "$out"
sed "s/^name = $BL/name = $BN/" "$C" > "$WORK/nolock.conf"
chmod 600 "$WORK/nolock.conf"
out=$("$S3CSFS" check -o "conf=$WORK/nolock.conf")
rc=$?
check "s3csfs check: object_lock on a bucket without Object Lock fails" \
	grep -q "FAIL \[bucket:lock\] object_lock = GOVERNANCE, but $BN has no Object Lock" <<< "$out"
check_eq "s3csfs check exits 1 then" 1 "$rc"

# ---- Direct access URLs (real RGW) -----------------------------------------

C=$WORK/url.conf M=$WORK/mnt-url
common_conf "$C" "$WORK/cache-url" sync "direct_url_expiry = 10m"
cat >> "$C" <<EOF
[bucket:main]
name = $BN
default = true
EOF
mount_fs "$C" "$M" || not_ok "url: mount"
mkdir -p "$M/2026/12/2"
make_file "$WORK/doc" 300 d1
cp "$WORK/doc" "$M/2026/12/2/doc.bin"
url=$("$S3CSFS" url -o "conf=$C" 2026/12/2/doc.bin --filename "report 1.pdf" --content-type application/pdf)
check "url: one line on stdout" test "$(wc -l <<< "$url")" -eq 1
check "url: no secret in it" bash -c "! grep -qF -- '$S3_SECRET_KEY' <<< '$url'"
check "url: the access key id in it" grep -qF "X-Amz-Credential=$S3_ACCESS_KEY%2F" <<< "$url"
check "url: default expiry direct_url_expiry = 10m" grep -q "X-Amz-Expires=600&" <<< "$url"
code=$(curl -s -D "$WORK/hdrs" -o "$WORK/got" -w '%{http_code}' "$url")
check_eq "url: curl fetches it" 200 "$code"
check "url: the bytes" cmp "$WORK/doc" "$WORK/got"
check "url: Content-Disposition from --filename" grep -qi '^content-disposition: attachment; filename="report 1.pdf"' "$WORK/hdrs"
check "url: Content-Type from --content-type" grep -qi '^content-type: application/pdf' "$WORK/hdrs"
xurl=$(getfattr --absolute-names --only-values -n user.s3csfs.direct_url "$M/2026/12/2/doc.bin")
check_eq "url: the xattr user.s3csfs.direct_url fetches it" 200 \
	"$(curl -s -o "$WORK/got2" -w '%{http_code}' "$xurl")"
check "url: the xattr's bytes" cmp "$WORK/doc" "$WORK/got2"
check "url: listed by listxattr" bash -c "getfattr --absolute-names -d '$M/2026/12/2/doc.bin' | grep -q user.s3csfs.direct_url"
short=$("$S3CSFS" url -o "conf=$C" "$M/2026/12/2/doc.bin" --expires 1s)
code=
for _ in $(seq 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$short")
	[ "$code" = 403 ] && break
	sleep 0.1
done
check_eq "url: a 1 s URL is refused once expired" 403 "$code"
check_eq "url: while a fresh one still works" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$("$S3CSFS" url -o "conf=$C" 2026/12/2/doc.bin)")"
"$S3CSFS" url -o "conf=$C" 2026/12/2/doc.bin --expires 8d > /dev/null 2>&1
check_eq "url: --expires over 7 days is refused" 2 $?
"$S3CSFS" url -o "conf=$C" /elsewhere/doc.bin > /dev/null 2>&1
check_eq "url: an absolute path outside any mount is refused" 1 $?
umount_fs "$M"

# ---- Archive and restore (the proxy's Glacier stand-in) --------------------

C=$WORK/arch.conf M=$WORK/mnt-arch
common_conf "$C" "$WORK/cache-arch" sync
cat >> "$C" <<EOF
[bucket:auto]
name = $BA
paths = auto/**
archive_storage_class = DEEP_ARCHIVE
restore_on_read = Bulk
restore_days = 3
[bucket:plain]
name = $BN
paths = plain/**
[bucket:main]
name = $BA
default = true
archive_storage_class = GLACIER
restore_tier = Bulk
EOF
sed "s|^cache_dir = .*|cache_dir = $WORK/cache-arch2|" "$C" > "$WORK/arch2.conf"
chmod 600 "$WORK/arch2.conf"
mount_fs "$C" "$M" || not_ok "archive: mount"
D=2026/12/2/10 D2=2026/12/2/11
mkdir -p "$M/$D" "$M/$D2" "$M/auto" "$M/plain"
make_file "$WORK/a" 64 a1
cp "$WORK/a" "$M/$D/a.bin"
cp "$WORK/a" "$M/$D2/u.bin"
cp "$WORK/a" "$M/auto/c.bin"
cp "$WORK/a" "$M/plain/p.bin"
proxy_reset
out=$("$S3CSFS" archive -o "conf=$C" "$M/$D/a.bin" "$D2/u.bin" auto/c.bin)
rc=$?
check "archive: moved to GLACIER" grep -qx "$M/$D/a.bin: archived, STANDARD -> GLACIER" <<< "$out"
check "archive: a relative path" grep -qx "$D2/u.bin: archived, STANDARD -> GLACIER" <<< "$out"
check "archive: the bucket's own class" grep -qx "auto/c.bin: archived, STANDARD -> DEEP_ARCHIVE" <<< "$out"
check_eq "archive: exit 0" 0 "$rc"
check_eq "archive: a CopyObject onto itself each" 3 "$(proxy_op CopyObject)"
out=$("$S3CSFS" archive -o "conf=$C" "$D/a.bin")
check_eq "archive: again is a no-op" "$D/a.bin: already in GLACIER" "$out"
out=$("$S3CSFS" archive -o "conf=$C" plain/p.bin 2>&1)
rc=$?
check "archive: a bucket without archive_storage_class says so" grep -q "has no archive_storage_class" <<< "$out"
check_eq "archive: and exits 1" 1 "$rc"

# A second host: nothing cached.
M2=$WORK/mnt-arch2
mount_fs "$WORK/arch2.conf" "$M2" || not_ok "archive: second mount"
LOG2=$DAEMON_LOG
proxy_reset
ls -l "$M2/$D" > "$WORK/ls.out"
stat "$M2/$D/a.bin" > /dev/null
check "archive: listed" grep -q " a.bin$" "$WORK/ls.out"
# The storage class comes with the listing; the stat's one HEAD is the
# file's stored times and mode (s3csfs(8), a file known from a listing).
check_eq "archive: listing and stat cost one HEAD (the metadata), none for the class" 1 \
	"$(proxy_op HeadObject)"
check_eq "archive: listing and stat cost no GET" 0 "$(proxy_op GetObject)"
check_eq "archive: user.s3csfs.storage_class from the listing" GLACIER \
	"$(getfattr --absolute-names --only-values -n user.s3csfs.storage_class "$M2/$D/a.bin")"
check_eq "archive: user.s3csfs.archive" archived \
	"$(getfattr --absolute-names --only-values -n user.s3csfs.archive "$M2/$D/a.bin")"
out=$(timeout 20 cat "$M2/$D/a.bin" 2>&1 > "$WORK/read.out")
rc=$?
check "archive: reading an archived file fails with ENODATA ($out)" grep -q "No data available" <<< "$out"
check "archive: at once, not by a timeout" test "$rc" -ne 124
check_eq "archive: no partial read" 0 "$(stat -c %s "$WORK/read.out")"
check "archive: the refusal is logged" grep -q "key=$D/a.bin refused (ENODATA): the object is archived" "$LOG2"
check_eq "archive: no restore asked without restore_on_read" "" \
	"$(curl -s "$PROXY_URL/_proxy/glacier" | python3 -c "import json,sys; print(json.load(sys.stdin)['$BA/$D/a.bin']['restore'] or '')")"
# stat of an archived file never listed: the GET is refused, a HEAD answers.
check_eq "archive: stat of an unlisted archived file (GET refused, HEAD)" 65536 \
	"$(stat -c %s "$M2/$D2/u.bin")"

out=$("$S3CSFS" restore -o "conf=$C" "$D/a.bin" --days 2)
check_eq "restore: started, the bucket's restore_tier" "$D/a.bin: restore started (Bulk, 2 days)" "$out"
out=$("$S3CSFS" restore -o "conf=$C" "$D/a.bin" --tier expedited)
check_eq "restore: again, in progress" "$D/a.bin: a restore is in progress already" "$out"
check_eq "restore: user.s3csfs.archive restoring" restoring \
	"$(xattr_poll "$M2/$D/a.bin" user.s3csfs.archive '^restoring$')"
check "restore: reads still fail while restoring" bash -c "! cat '$M2/$D/a.bin' > /dev/null 2>&1"
curl -s -X POST "$PROXY_URL/_proxy/glacier?finish=$BA/$D/a.bin" > /dev/null
v=$(xattr_poll "$M2/$D/a.bin" user.s3csfs.archive '^restored until ')
check "restore: user.s3csfs.archive restored until DATE ($v)" \
	grep -qE '^restored until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' <<< "$v"
check "restore: the restored file reads back" cmp "$WORK/a" "$M2/$D/a.bin"
out=$("$S3CSFS" restore -o "conf=$C" plain/p.bin)
check_eq "restore: a file not archived" "plain/p.bin: not archived (nothing to restore)" "$out"
"$S3CSFS" restore -o "conf=$C" "$D/a.bin" --tier Slow > /dev/null 2>&1
check_eq "restore: a bad tier is refused" 2 $?

# restore_on_read = Bulk: the failed read asks for the restore.
check "restore_on_read: the read fails" bash -c "! cat '$M2/auto/c.bin' > /dev/null 2>&1"
st=$(curl -s "$PROXY_URL/_proxy/glacier" | python3 -c "import json,sys; s=json.load(sys.stdin)['$BA/auto/c.bin']; print(s['restore'], s['days'])")
check_eq "restore_on_read: a restore of restore_days was requested" "ongoing 3" "$st"
check "restore_on_read: logged" grep -q "restore_on_read bucket=$BA key=auto/c.bin: restore started (Bulk, 3 days)" "$LOG2"
umount_fs "$M2"
umount_fs "$M"
finish
