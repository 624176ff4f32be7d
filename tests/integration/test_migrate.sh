#!/bin/bash
# test_migrate.sh - moving an existing content store in (issue 17):
# s3csfs migrate (kill -9 and resume, rerun, dry run, delete-source, bad
# input), fallback_dir read-through (upload = sync and async, with and
# without fallback_upload, while a migration runs), s3csfs audit (planted
# missing, orphan, size and checksum findings; bad input), the cost
# lines of the stats. Requests are counted by tests/tools/s3proxy.py.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

B=s3csfs-migrate-$$
new_bucket "$B"
start_proxy
trap 'drop_bucket "$B" > /dev/null 2>&1; cleanup' EXIT

proxy_log() { curl -s "$PROXY_URL/_proxy/log"; }
# Keys of objects made (PutObject / CompleteMultipartUpload answered 200)
# in the proxy log, one a line, sorted.
stored_keys() {
	proxy_log | awk -v b="/$B/" '($1 == "PutObject" || $1 == "CompleteMultipartUpload") && $4 == "200" {
		t = $3; sub(/\?.*/, "", t); if (index(t, b) == 1) print substr(t, length(b) + 1) }' |
		python3 -c 'import sys, urllib.parse; [print(urllib.parse.unquote(l.strip())) for l in sys.stdin]' |
		sort
}
bucket_keys() { s3 ls "$B" "${1:-}" 2> /dev/null | awk '$1 != "PRE" {print $1}' | sort; }
write_ops() { # requests that write (anything but GET/HEAD and listings)
	curl -s "$PROXY_URL/_proxy/stats" | python3 -c '
import json, sys
ops = json.load(sys.stdin)["ops"]
print(sum(v for k, v in ops.items() if k not in ("GetObject", "HeadObject", "ListObjectsV2", "ListObjects", "HeadBucket")))'
}

# gen_store DIR COUNT SEED YEAR: Alfresco's YYYY/M/D/H/m/<uuid>.bin, every
# 97th file empty, four files multipart-sized (part_size 5M), the rest
# 1 byte to 30 KiB.
gen_store() {
	python3 "$TOP/tests/tools/gen_store.py" "$@"
}
tree_sum() { (cd "$1" && find . -type f -printf '%P %s %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r cat | md5sum); }

CONF=$WORK/conf
write_conf "$CONF" "$B" "$PROXY_URL" "$WORK/cache" "part_size = 5M" "upload_threads = 4"
SRC=$WORK/contentstore
N=2000
gen_store "$SRC" $N 17 2023
check_eq "generated store has $N files" "$N" "$(find "$SRC" -type f | wc -l)"
SRC_SUM=$(tree_sum "$SRC")

# ---- bad usage ----
"$S3CSFS" migrate -o "conf=$CONF" > "$WORK/out" 2> "$WORK/err"
check_eq "migrate without --from: exit 2" 2 $?
check "  says --from is required" grep -q -- "--from DIR is required" "$WORK/err"
"$S3CSFS" migrate --from "$WORK/nonexistent" -o "conf=$CONF" > "$WORK/out" 2> "$WORK/err"
check_eq "migrate --from a missing directory: exit 2" 2 $?
check "  names the directory" grep -q "nonexistent" "$WORK/err"
"$S3CSFS" migrate --from "$SRC" --limit-rate fast -o "conf=$CONF" > "$WORK/out" 2> "$WORK/err"
check_eq "migrate --limit-rate fast: exit 2" 2 $?

# ---- dry run: HEADs only ----
proxy_reset
"$S3CSFS" migrate --from "$SRC" --dry-run --parallel 8 -o "conf=$CONF" > "$WORK/dry.out" 2> "$WORK/dry.err"
check_eq "dry run exits 0" 0 $?
check_eq "dry run prints every file it would upload" "$N" "$(grep -c '^would upload ' "$WORK/dry.out")"
check_eq "dry run sends no write request" 0 "$(write_ops)"
check_eq "dry run stored nothing" 0 "$(bucket_keys | wc -l)"

# ---- a migration killed with kill -9, then resumed ----
proxy_reset
"$S3CSFS" migrate --from "$SRC" --parallel 4 --limit-rate 12M -o "conf=$CONF" > "$WORK/run1.out" 2> "$WORK/run1.err" &
MPID=$!
PIDS+=("$MPID")
for _ in $(seq 600); do
	[ "$(proxy_op PutObject)" -ge 600 ] && break
	kill -0 "$MPID" 2> /dev/null || break
	sleep 0.1
done
kill -0 "$MPID" 2> /dev/null
check "migration still running when killed" test $? -eq 0
kill -9 "$MPID" 2> /dev/null
wait "$MPID" 2> /dev/null
# What the server finished storing settles within moments: poll until
# two listings agree.
prev=-1
for _ in $(seq 40); do
	bucket_keys > "$WORK/before"
	now=$(wc -l < "$WORK/before")
	[ "$now" = "$prev" ] && break
	prev=$now
	sleep 0.5
done
DONE=$(wc -l < "$WORK/before")
check "some but not all files stored before the kill ($DONE)" test "$DONE" -gt 0 -a "$DONE" -lt $N
proxy_reset
"$S3CSFS" migrate --from "$SRC" --parallel 8 -o "conf=$CONF" > "$WORK/run2.out" 2> "$WORK/run2.err"
check_eq "resumed migration exits 0" 0 $?
sed 's/^/#   /' "$WORK/run2.out"
stored_keys > "$WORK/resumed"
check_eq "resume stored nothing that was stored before the kill" "" "$(comm -12 "$WORK/before" "$WORK/resumed" | head -3)"
check_eq "resume stored every file that was missing" "$((N - DONE))" "$(wc -l < "$WORK/resumed")"
check_eq "every file is in the bucket" "$N" "$(bucket_keys | wc -l)"
check "summary: uploaded + already stored = $N" grep -qE "^migrate: $N files .*: $((N - DONE)) uploaded, $DONE already stored, 0 failed" "$WORK/run2.out"

# ---- a rerun uploads nothing ----
proxy_reset
"$S3CSFS" migrate --from "$SRC" --parallel 8 -o "conf=$CONF" > "$WORK/run3.out" 2> "$WORK/run3.err"
check_eq "rerun exits 0" 0 $?
check_eq "rerun sends no write request" 0 "$(write_ops)"
check_eq "rerun: one HEAD per file" "$N" "$(proxy_op HeadObject)"
check "rerun summary: all $N already stored (same size and digest)" grep -qE "^migrate: $N files .*: 0 uploaded, $N already stored, 0 failed" "$WORK/run3.out"
check_eq "the source is unchanged" "$SRC_SUM" "$(tree_sum "$SRC")"

# Independent of our digests: bytes read back equal the source (every
# multipart-sized file, every empty one, a sample of the rest).
bad=0 n=0
while read -r p; do
	s3 get "$B" "$p" "$WORK/back" > /dev/null 2>&1 && cmp -s "$WORK/back" "$SRC/$p" || bad=$((bad + 1))
	n=$((n + 1))
done < <( (cd "$SRC" && find . -type f \( -size +5M -o -empty \) -printf '%P\n'; cd "$SRC" && find . -type f -printf '%P\n' | sort | awk 'NR % 97 == 5') )
check_eq "bytes read back with s3tool equal the source ($n files)" 0 "$bad"

# ---- audit: clean, then planted findings ----
(cd "$SRC" && find . -type f -printf 'store://%P %s\n') > "$WORK/urls"
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/urls" --verify > "$WORK/audit0.out" 2> "$WORK/audit0.err"
check_eq "audit --verify of the migrated store: exit 0" 0 $?
check "  every object verified" grep -q "0 checksum mismatches ($N verified" "$WORK/audit0.out"

MISS1=2023/2/3/4/5/00000000-0000-4000-8000-000000000001.bin
MISS2=2023/2/3/4/5/00000000-0000-4000-8000-000000000002.bin
ORPH=2022/1/1/1/1/0ff0ff00-0000-4000-8000-0000000000aa.bin
head -c 1234 /dev/urandom > "$WORK/orphan"
s3 put "$B" "$ORPH" "$WORK/orphan" > /dev/null
SIZED=$(sed -n 10p "$WORK/urls" | cut -d' ' -f1)
SIZEV=$(sed -n 10p "$WORK/urls" | cut -d' ' -f2)
FLIP=$(awk '$2 > 100 && $2 < 30000 {print $1; exit}' "$WORK/urls")
FLIP=${FLIP#store://}
{
	echo "store://$MISS1 77"
	echo "store://$MISS2"
	sed "10s/ $SIZEV\$/ $((SIZEV + 1))/" "$WORK/urls"
	sed -n 3p "$WORK/urls" # the same URL twice is one reference
} > "$WORK/urls.planted"
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/urls.planted" --json > "$WORK/audit1.json" 2> "$WORK/audit1.err"
check_eq "audit with planted entries: exit 1" 1 $?
python3 - "$WORK/audit1.json" > "$WORK/audit1.kinds" << 'EOF'
import json, sys
for line in open(sys.argv[1]):
    f = json.loads(line)
    print(f["kind"], f["key"], f["expected"], f["actual"])
EOF
{
	echo "missing $MISS1 77 None"
	echo "missing $MISS2 None None"
	echo "orphan $ORPH None 1234"
	echo "size ${SIZED#store://} $((SIZEV + 1)) $SIZEV"
} | sort > "$WORK/audit1.want"
sort "$WORK/audit1.kinds" > "$WORK/audit1.got"
check_eq "audit finds exactly the planted missing, orphan and size entries" "$(cat "$WORK/audit1.want")" "$(cat "$WORK/audit1.got")"
# Bit rot: no real server here can be made to return other bytes than it
# stored, so the proxy inverts the first byte of one object's GETs (mock).
proxy_faults "bitflip:1:${FLIP##*/}@GetObject"
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/urls" --verify --json > "$WORK/audit2.json" 2> "$WORK/audit2.err"
check_eq "audit --verify with one corrupted object: exit 1" 1 $?
proxy_faults ""
check_eq "  one finding: checksum of that object" "checksum $FLIP" "$(python3 -c '
import json, sys
for l in open(sys.argv[1]): f = json.loads(l); print(f["kind"], f["key"])' "$WORK/audit2.json" | grep -v "^orphan $ORPH\$")"
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/urls.planted" > "$WORK/audit3.out" 2> "$WORK/audit3.err"
check_eq "human output: exit 1" 1 $?
check "  summary line counts them" grep -q "2 missing, 1 orphans (1234 bytes), 1 size mismatches" "$WORK/audit3.out"
s3 rm "$B" "$ORPH" > /dev/null

# ---- bad input for audit ----
printf 'store://%s\nhello world\nstore://\nstore://%s 12x\n\nstore://a/../b.bin\n' "$MISS1" "$MISS2" > "$WORK/urls.bad"
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/urls.bad" > "$WORK/bad.out" 2> "$WORK/bad.err"
check_eq "audit of a list with garbage lines: exit 2" 2 $?
check "  names each bad line (2, 3, 4, 6)" test "$(grep -oE 'line [0-9]+' "$WORK/bad.err" | tr '\n' ' ')" = "line 2 line 3 line 4 line 6 "
check "  still audits the good ones" grep -q "1 missing" "$WORK/bad.out"
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/none" > /dev/null 2> "$WORK/bad.err"
check_eq "audit --urls of a missing file: exit 2" 2 $?
"$S3CSFS" audit -o "conf=$CONF" --urls "$WORK/urls" --bucket nosuch > /dev/null 2> "$WORK/bad.err"
check_eq "audit --bucket not configured: exit 2" 2 $?
echo "store://$MISS1" | "$S3CSFS" audit -o "conf=$CONF" --urls - --bucket main > "$WORK/stdin.out" 2>&1
check_eq "audit --urls - (standard input) finds the missing URL: exit 1" 1 $?

# ---- bad input for migrate: unreadable file, paths the mapping refuses ----
BAD=$WORK/badstore
mkdir -p "$BAD/2023/1/1/1/1" "$BAD/2023/1/1/1/2"
echo ok > "$BAD/2023/1/1/1/1/aaaaaaaa-0000-4000-8000-000000000001.bin"
echo secret > "$BAD/2023/1/1/1/1/aaaaaaaa-0000-4000-8000-000000000002.bin"
chmod 000 "$BAD/2023/1/1/1/1/aaaaaaaa-0000-4000-8000-000000000002.bin"
echo ctl > "$BAD/2023/1/1/1/2/$(printf 'bad\001name.bin')"
long=$BAD/2023
for _ in 1 2 3 4 5 6; do long=$long/$(printf 'd%.0s' $(seq 200)); done
mkdir -p "$long" && echo long > "$long/x.bin"
ln -s /etc/passwd "$BAD/2023/1/1/1/2/link.bin"
chmod -R a+rX "$BAD" && chmod 000 "$BAD/2023/1/1/1/1/aaaaaaaa-0000-4000-8000-000000000002.bin"
cp "$CONF" "$WORK/conf.nobody" && chown nobody "$WORK/conf.nobody" && chmod a+x "$WORK"
# As an unprivileged user, so that mode 000 really cannot be read.
setpriv --reuid=nobody --regid=nogroup --clear-groups "$S3CSFS" migrate --from "$BAD" -o "conf=$WORK/conf.nobody" > "$WORK/bad.out" 2> "$WORK/bad.err"
rc=$?
check_eq "migrate of a store with bad files: exit 1 (no crash)" 1 $rc
sed 's/^/#   /' "$WORK/bad.err" | cut -c1-200
check "  unreadable file: permission denied" grep -q "aaaaaaaa-0000-4000-8000-000000000002.bin: cannot open: Permission denied" "$WORK/bad.err"
check "  control character: not a path the mapping can store" grep -q "bad?name.bin: not a path the mapping can store" "$WORK/bad.err"
check "  key over 1024 bytes: not a path the mapping can store" grep -q "x.bin: not a path the mapping can store (File name too long)" "$WORK/bad.err"
check "  symlink: not migrated" grep -q "link.bin: not a regular file" "$WORK/bad.err"
check "  the good file was stored" s3 head "$B" 2023/1/1/1/1/aaaaaaaa-0000-4000-8000-000000000001.bin
check "  the failures are listed at the end" grep -q "4 file(s) failed:" "$WORK/bad.err"
s3 rm "$B" 2023/1/1/1/1/aaaaaaaa-0000-4000-8000-000000000001.bin > /dev/null

# ---- --delete-source: only what is verified goes ----
DEL=$WORK/delstore
gen_store "$DEL" 40 5 2021
"$S3CSFS" migrate --from "$DEL" --delete-source -o "conf=$CONF" > "$WORK/del.out" 2> "$WORK/del.err"
check_eq "migrate --delete-source exits 0" 0 $?
check_eq "  the source files are gone" 0 "$(find "$DEL" -type f | wc -l)"
check_eq "  and their empty directories" 0 "$(find "$DEL" -mindepth 1 | wc -l)"
check_eq "  every file is in the bucket" 40 "$(bucket_keys 2021/ | wc -l)"

# ---- fallback_dir, both upload modes ----
for mode in sync async; do
	FB=$WORK/fb-$mode
	gen_store "$FB" 40 "$([ $mode = sync ] && echo 3 || echo 4)" "$([ $mode = sync ] && echo 2019 || echo 2018)"
	year=$(ls "$FB")
	FB_SUM=$(tree_sum "$FB")
	MNT=$WORK/mnt-$mode
	write_conf "$WORK/conf.fb" "$B" "$PROXY_URL" "$WORK/cache-fb-$mode" "part_size = 5M" "upload = $mode" \
		"fallback_dir = $FB"
	mount_fs "$WORK/conf.fb" "$MNT" || { not_ok "mount with fallback_dir ($mode)"; continue; }
	bad=0
	while read -r p; do cmp -s "$MNT/$p" "$FB/$p" || bad=$((bad + 1)); done < <(cd "$FB" && find . -type f -printf '%P\n')
	check_eq "[$mode] every fallback file reads back equal through the mount" 0 "$bad"
	check_eq "[$mode] find on the mount lists the fallback files" 40 "$(find "$MNT/$year" -type f | wc -l)"
	check "[$mode] stats count fallback reads" test "$(awk '$1 == "fallback_reads" {print $2}' "$MNT/.s3csfs/stats")" -ge 40
	check_eq "[$mode] fallback_upload off: nothing uploaded" 0 "$(bucket_keys "$year/" | wc -l)"
	# Writes go to S3, never into fallback_dir.
	d=$(cd "$FB" && find . -mindepth 5 -type d -printf '%P\n' | head -1)
	make_file "$WORK/new" 40 new-$mode
	cp "$WORK/new" "$MNT/$d/11111111-2222-4333-8444-555555555555.bin"
	check "[$mode] a new file in a fallback-only directory is written" cmp -s "$WORK/new" "$MNT/$d/11111111-2222-4333-8444-555555555555.bin"
	umount_fs "$MNT"
	check "[$mode]   ... to S3" s3 head "$B" "$d/11111111-2222-4333-8444-555555555555.bin"
	check_eq "[$mode] fallback_dir is never written" "$FB_SUM" "$(tree_sum "$FB")"
	s3 rm "$B" "$d/11111111-2222-4333-8444-555555555555.bin" > /dev/null

	# fallback_upload = on: what is read is uploaded, verified.
	write_conf "$WORK/conf.fb" "$B" "$PROXY_URL" "$WORK/cache-fbu-$mode" "part_size = 5M" "upload = $mode" \
		"fallback_dir = $FB" "fallback_upload = on"
	mount_fs "$WORK/conf.fb" "$MNT" || { not_ok "mount with fallback_upload ($mode)"; continue; }
	(cd "$FB" && find . -type f -printf '%P\n' | sort | head -20) > "$WORK/read20"
	bad=0
	while read -r p; do cmp -s "$MNT/$p" "$FB/$p" || bad=$((bad + 1)); done < "$WORK/read20"
	check_eq "[$mode] fallback_upload: 20 files read equal" 0 "$bad"
	for _ in $(seq 300); do
		[ "$(awk '$1 == "fallback_uploads" {print $2}' "$MNT/.s3csfs/stats")" -ge 20 ] && break
		sleep 0.1
	done
	check_eq "[$mode] the 20 files read were uploaded in the background" 20 "$(awk '$1 == "fallback_uploads" {print $2}' "$MNT/.s3csfs/stats")"
	check "[$mode] stats show the request cost" grep -qE '^cost.requests_usd [0-9.]+$' "$MNT/.s3csfs/stats"
	check "[$mode] stats show requests by bucket and class" grep -qE "^requests_by_bucket.$B.put [1-9]" "$MNT/.s3csfs/stats"
	check "[$mode] stats show bytes stored by storage class" grep -qE '^stored_bytes.STANDARD [1-9]' "$MNT/.s3csfs/stats"
	bad=0
	while read -r p; do s3 get "$B" "$p" "$WORK/back" > /dev/null 2>&1 && cmp -s "$WORK/back" "$FB/$p" || bad=$((bad + 1)); done < "$WORK/read20"
	check_eq "[$mode] the uploaded objects equal the fallback files" 0 "$bad"
	check_eq "[$mode] only those were uploaded" 20 "$(bucket_keys "$year/" | wc -l)"

	# A migration of the rest while the mount reads (and uploads) it.
	"$S3CSFS" migrate --from "$FB" --parallel 4 -o "conf=$CONF" > "$WORK/fbm.out" 2> "$WORK/fbm.err" &
	MPID=$!
	bad=0
	while read -r p; do cmp -s "$MNT/$p" "$FB/$p" || bad=$((bad + 1)); done < <(cd "$FB" && find . -type f -printf '%P\n' | sort -r)
	wait "$MPID"
	check_eq "[$mode] migration while the mount reads through: exit 0" 0 $?
	check_eq "[$mode]   every read equal meanwhile" 0 "$bad"
	umount_fs "$MNT"
	"$S3CSFS" migrate --from "$FB" -o "conf=$CONF" > "$WORK/fbm2.out" 2> "$WORK/fbm2.err"
	check "[$mode]   afterwards all 40 are stored and verified" grep -qE "^migrate: 40 files .*: 0 uploaded, 40 already stored, 0 failed" "$WORK/fbm2.out"
	check_eq "[$mode]   fallback_dir is never written" "$FB_SUM" "$(tree_sum "$FB")"
done

finish
