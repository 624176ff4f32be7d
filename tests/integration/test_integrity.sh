#!/usr/bin/env bash
# test_integrity.sh - integrity end to end (issue 13): hostile answers from
# the fault proxy (tests/tools/s3proxy.py; a mock, since no server here flips
# bytes or invents ETags), in both upload modes. Every read ends in correct
# bytes or EIO, and what was handed out before an EIO is a prefix of the
# file; files over one part are acknowledged on servers whose multipart
# ETags are a whole-object MD5 or opaque; a PUT or part answered with
# another MD5 fails the close. Ceph RGW 16 ignores x-amz-checksum-*: reads
# are checked against the MD5 ETag / MD5 of part MD5s.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
BUCKET=s3csfs-integ-$$
new_bucket "$BUCKET"
start_proxy --seed 13
D=2026/12/2/9/0
SMALL=200  # KiB: one PutObject
LARGE=12288 # KiB: three parts of 5 MiB

make_file "$WORK/small" $SMALL 1
make_file "$WORK/large" $LARGE 2

# outcome FILE ORIGINAL: "ok" (same bytes), "eio" (read failed with EIO and
# what it gave is a prefix of the original) or "WRONG".
outcome() {
	local got=$WORK/got rc
	rm -f "$got"
	timeout 120 cat "$1" > "$got" 2> "$WORK/cat.err"
	rc=$?
	if [ $rc = 0 ] && cmp -s "$got" "$2"; then echo ok; return; fi
	if [ $rc != 0 ] && grep -q "Input/output error" "$WORK/cat.err" &&
		cmp -s -n "$(stat -c %s "$got")" "$got" "$2"; then echo eio; return; fi
	echo WRONG
}
# stored KEY ORIGINAL: the object in S3 (straight, not through the proxy) is the file.
stored() {
	"$S3TOOL" get "$BUCKET" "$1" "$WORK/s3copy" > /dev/null 2>&1 && cmp -s "$WORK/s3copy" "$2"
}
mnt_with() { # mnt_with NAME CHECKSUM UPLOAD -> mounts $WORK/NAME through the proxy
	write_conf "$WORK/$1.conf" "$BUCKET" "$PROXY_URL" "$WORK/$1.cache" "part_size = 5M" \
		"upload = $3"
	sed -i "/^\[bucket:main\]/a checksum = $2" "$WORK/$1.conf"
	mount_fs "$WORK/$1.conf" "$WORK/$1"
}
# put_via MNT NAME SRC: cp + fsync (async: fsync waits for the upload); rc.
put_via() {
	mkdir -p "$1/$D"
	timeout 120 dd if="$3" of="$1/$D/$2" bs=1M conv=fsync status=none 2> /dev/null
}

for mode in sync async; do
	# ---- writes: ETags that are not S3's composite are fine -----------------
	for ck in auto crc64nvme; do
		mnt_with w-$mode-$ck $ck $mode || { not_ok "mount ($mode, $ck)"; continue; }
		M=$WORK/w-$mode-$ck
		proxy_faults ""
		check "$mode/$ck: small file stored" put_via "$M" s-$ck-$mode.bin "$WORK/small"
		check "$mode/$ck: large file stored" put_via "$M" l-$ck-$mode.bin "$WORK/large"
		for f in wholemd5etag opaqueetag; do
			proxy_faults "$f:1"
			check "$mode/$ck: 3-part file acknowledged with a $f completion" \
				put_via "$M" $f-$ck-$mode.bin "$WORK/large"
			proxy_faults ""
			check "$mode/$ck: ... and stored whole" stored "$D/$f-$ck-$mode.bin" "$WORK/large"
		done
		proxy_faults "opaqueetag:1"
		check "$mode/$ck: small file acknowledged with an opaque ETag" \
			put_via "$M" o-$ck-$mode.bin "$WORK/small"
		proxy_faults ""
		check "$mode/$ck: ... and stored" stored "$D/o-$ck-$mode.bin" "$WORK/small"
		if [ $mode = sync ]; then
			proxy_faults "badetag:1@PutObject"
			check "$mode/$ck: a PUT answered with another MD5 fails the close" \
				bash -c "! timeout 120 cp '$WORK/small' '$M/$D/b-$ck.bin'"
			proxy_faults "badetag:1@UploadPart"
			check "$mode/$ck: a part answered with another MD5 fails the close" \
				bash -c "! timeout 120 cp '$WORK/large' '$M/$D/bl-$ck.bin'"
			proxy_faults ""
		fi
		umount_fs "$M"
	done

	# ---- reads: a fresh mount (empty cache) for each hostile server ---------
	for f in flipbyte:1 flipbyte:0.3 shortlen:1 truncate:1@GetObject; do
		mnt_with r-$mode-${f%%:*} auto $mode || { not_ok "mount ($mode, $f)"; continue; }
		M=$WORK/r-$mode-${f%%:*}
		# Every GET is hostile, the lookup's (which fetches a small file
		# whole) too.
		proxy_faults "$f"
		s=$(outcome "$M/$D/s-auto-$mode.bin" "$WORK/small")
		l=$(outcome "$M/$D/l-auto-$mode.bin" "$WORK/large")
		case $f in
		*:1|*:1@*)
			check_eq "$mode: $f: small file read fails with EIO" eio "$s"
			check_eq "$mode: $f: 3-part file read fails with EIO" eio "$l" ;;
		*)
			check "$mode: $f: small file: correct bytes or EIO ($s)" [ "$s" != WRONG ]
			check "$mode: $f: 3-part file: correct bytes or EIO ($l)" [ "$l" != WRONG ] ;;
		esac
		proxy_faults ""
		check_eq "$mode: $f: nothing unverified was kept: read again, right" ok \
			"$(outcome "$M/$D/l-auto-$mode.bin" "$WORK/large")"
		umount_fs "$M"
	done
done
grep -h "integrity:" "$WORK"/daemon.*.log | head -3 | sed 's/^/# /'
check "mismatches are logged with bucket, key and range" \
	grep -q "integrity: bucket=$BUCKET key=$D/.* bytes=0-" "$WORK"/daemon.*.log
drop_bucket "$BUCKET"
finish
