#!/usr/bin/env bash
# test_mount.sh - the filesystem end to end (issue "The filesystem"):
# real mounts of a real local S3 server, through the counting proxy.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
FSUTIL="python3 $(dirname "$0")/fsutil.py"

BUCKET=s3csfs-mount-$$
new_bucket "$BUCKET"
start_proxy
write_conf "$WORK/a.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-a"
write_conf "$WORK/b.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-b"
A=$WORK/mnt-a
B=$WORK/mnt-b

echo "# basic write and read"
mount_fs "$WORK/a.conf" "$A" || { not_ok "mount"; finish; }
ok "mounted $A"
mkdir -p "$A/2026/11/25/13/7"
make_file "$WORK/small" 64 small
cp "$WORK/small" "$A/2026/11/25/13/7/first.bin"
check "small file reads back identical" cmp -s "$WORK/small" "$A/2026/11/25/13/7/first.bin"
check_eq "stat size" 65536 "$(stat -c %s "$A/2026/11/25/13/7/first.bin")"
check_eq "object stored at its date key" "65536" \
	"$(s3 head "$BUCKET" 2026/11/25/13/7/first.bin | awk '/^size/{print $2}')"
check_eq "readdir shows the file" "first.bin" "$(ls "$A/2026/11/25/13/7")"
check_eq "statistics file hidden from readdir" "2026" "$(ls -A "$A")"
check "statistics file readable" grep -q '^requests.PutObject [1-9]' "$A/.s3csfs/stats"
check_eq "xattr key" "2026/11/25/13/7/first.bin" \
	"$(getfattr --only-values -n user.s3csfs.key "$A/2026/11/25/13/7/first.bin" 2>/dev/null)"

echo "# O_EXCL and ENOENT"
check_eq "O_EXCL on an existing file fails with EEXIST" EEXIST \
	"$($FSUTIL excl "$A/2026/11/25/13/7/first.bin")"
check_eq "opening a missing file fails with ENOENT" ENOENT \
	"$($FSUTIL open "$A/2026/11/25/13/7/missing.bin")"
check_eq "missing directory: ENOENT" ENOENT "$($FSUTIL open "$A/2031/1/1/missing.bin")"

echo "# request economy (counted by the proxy)"
proxy_reset
make_file "$WORK/econ" 64 econ
cp "$WORK/econ" "$A/2026/11/25/13/7/econ.bin"
check_le "a small file written costs at most 2 requests" 2 "$(proxy_total)"
check_eq "... of which one PutObject" 1 "$(proxy_op PutObject)"
proxy_reset
stat "$A/2026/11/25/13/7/econ.bin" > /dev/null
sync && echo 3 > /proc/sys/vm/drop_caches
cat "$A/2026/11/25/13/7/econ.bin" > /dev/null
check_eq "stat of a file just written and re-reading it: 0 requests" 0 "$(proxy_total)"

echo "# a directory made here: its new names cost no lookup, a create never overwrites"
write_conf "$WORK/n.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-n" "negative_timeout = 120" \
	"write_ahead = 16M"
N=$WORK/mnt-n
if mount_fs "$WORK/n.conf" "$N"; then
	proxy_reset
	mkdir -p "$N/2027/1/2/9/1"
	for i in $(seq 10); do cp "$WORK/econ" "$N/2027/1/2/9/1/f$i.bin"; done
	check_eq "10 files into a new directory: 10 PutObject" 10 "$(proxy_op PutObject)"
	check_eq "... and not one lookup of their names" 0 \
		"$(($(proxy_op GetObject) + $(proxy_op HeadObject)))"
	check_le "... 11 requests in all (one listing: the new year)" 11 "$(proxy_total)"
	check "the daemon counted the lookups it answered" \
		grep -q '^lookups_local [1-9]' "$N/.s3csfs/stats"
	check "the files read back" cmp -s "$WORK/econ" "$N/2027/1/2/9/1/f10.bin"
	# Another client stores a name this mount still believes free.
	s3 put "$BUCKET" 2027/1/2/9/1/taken.bin "$WORK/small" > /dev/null
	check_eq "create over another client's new object: close() fails with EEXIST" \
		"close EEXIST" "$($FSUTIL create "$N/2027/1/2/9/1/taken.bin" "$WORK/econ")"
	s3 get "$BUCKET" 2027/1/2/9/1/taken.bin "$WORK/taken" > /dev/null
	check "... and their object is intact" cmp -s "$WORK/small" "$WORK/taken"
	check_eq "... and the mount shows theirs" "$(md5sum < "$WORK/small")" \
		"$(md5sum < "$N/2027/1/2/9/1/taken.bin")"
	# write_ahead = 16M: a writer runs at most 2 parts ahead of S3.
	head -c 100M /dev/urandom > "$WORK/ahead"
	dd if="$WORK/ahead" of="$N/2027/1/2/9/1/ahead.bin" bs=1M status=none
	peak=$(awk '$1 == "uploads_inflight_max" { print $2 }' "$N/.s3csfs/stats")
	check_le "write_ahead = 16M: at most 3 parts in flight at once (2, then the last)" 3 "$peak"
	check "... and 100 MiB read back identical" cmp -s "$WORK/ahead" "$N/2027/1/2/9/1/ahead.bin"
	check "unmount" umount_fs "$N"
else
	not_ok "mount with negative_timeout = 120"
fi

echo "# 1000 files of 64 KiB"
check "write 1000 files into date directories" \
	$FSUTIL write "$A" 1000 64 1 "$WORK/manifest"
check "read back through the same mount" $FSUTIL verify "$A" "$WORK/manifest"
check "unmount" umount_fs "$A"
n=$(s3 ls "$BUCKET" 2026/ 2>/dev/null | wc -l)
check_eq "1002 objects listed with the S3 client" 1002 "$n"
missing=0
while read -r name _; do
	grep -q "^$name 65536 " <(s3 ls "$BUCKET" "$(dirname "$name")/" 2>/dev/null) || missing=$((missing + 1))
done < <(head -20 "$WORK/manifest")
check_eq "sampled objects at their expected keys" 0 "$missing"
rm -rf "$WORK/cache-a"
mount_fs "$WORK/a.conf" "$A" || not_ok "remount"
proxy_reset
check "cold cache: all 1000 files read back identical" $FSUTIL verify "$A" "$WORK/manifest"
gets=$(proxy_op GetObject)
check_le "cold reads of small files: one GET each" 1000 "$gets"
check_le "... and no HEADs" 0 "$(proxy_op HeadObject)"

echo "# a 300 MiB file, multipart"
make_file "$WORK/big" $((300 * 1024)) big
proxy_reset
# Each part takes at least 0.3 s at the server, so parts overlap whether
# dd fills them faster or slower than one upload (a loaded machine filled
# them slower, and the peak below was 1): the check is of the daemon's
# parallelism, not of this machine's speed.
proxy_faults "latency:1:0.3@UploadPart"
dd if="$WORK/big" of="$A/2026/11/25/14/0/big.bin" bs=1M status=none
check "300 MiB written with dd bs=1M" test $? -eq 0
proxy_faults ""
check_eq "one multipart upload" 1 "$(proxy_op CreateMultipartUpload)"
check_eq "19 parts of 16 MiB" 19 "$(proxy_op UploadPart)"
check_eq "completed" 1 "$(proxy_op CompleteMultipartUpload)"
peak=$(awk '/^uploads_inflight_max /{print $2}' "$A/.s3csfs/stats")
check "parts were sent in parallel (peak $peak at once)" test "${peak:-0}" -ge 2
sync && echo 3 > /proc/sys/vm/drop_caches
check "read back identical" cmp -s "$WORK/big" "$A/2026/11/25/14/0/big.bin"

echo "# a second mount of the same bucket"
mount_fs "$WORK/b.conf" "$B" || not_ok "second mount"
make_file "$WORK/cross" 200 cross
cp "$WORK/cross" "$A/2026/11/25/14/0/cross.bin"
check "a file closed on one mount reads identical on the other" \
	cmp -s "$WORK/cross" "$B/2026/11/25/14/0/cross.bin"
rm -rf "$WORK/cache-b"
check "unmount the first" umount_fs "$A"
check "unmount the second" umount_fs "$B"

echo "# upload = async survives kill -9"
write_conf "$WORK/async.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-async" "upload = async"
mount_fs "$WORK/async.conf" "$A" || not_ok "async mount"
proxy_faults "latency:1.0:0.2@PutObject"
$FSUTIL write "$A/async" 50 64 7 "$WORK/manifest-async"
kill -9 "$DAEMON_PID"
for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
fusermount3 -u "$A" 2>/dev/null || umount -l "$A"
proxy_faults ""
pending=$(journal_records "$WORK/cache-async" | wc -l)
ok "killed with $pending upload(s) still journaled"
mount_fs "$WORK/async.conf" "$A" || not_ok "async remount"
for _ in $(seq 600); do
	[ "$(journal_records "$WORK/cache-async" | wc -l)" -eq 0 ] && break
	sleep 0.1
done
check_eq "journal drained after restart" 0 "$(journal_records "$WORK/cache-async" | wc -l)"
bad=0
while read -r name sum; do
	got=$(s3 get "$BUCKET" "async/$name" - 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$sum" ] || bad=$((bad + 1))
done < "$WORK/manifest-async"
check_eq "all 50 async files are in S3, identical" 0 "$bad"
umount_fs "$A" || true

drop_bucket "$BUCKET"
finish
