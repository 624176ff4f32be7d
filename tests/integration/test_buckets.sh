#!/usr/bin/env bash
# test_buckets.sh - several buckets (issue 4): routing by path glob, by date
# range and to the default; storage class, tags and SSE headers (seen by the
# server through HEAD / GetObjectTagging, and on the wire by a recording
# proxy); key_layout = flat; on_delete = tag:KEY=VALUE.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
STUB=$TOP/tests/tools/imds_stub.py

S=$$
BM=s3csfs-bk-main-$S
BD=s3csfs-bk-del-$S
BA=s3csfs-bk-arch-$S
BF=s3csfs-bk-flat-$S
for b in "$BM" "$BD" "$BA" "$BF"; do new_bucket "$b"; done
drop_all() { for b in "$BM" "$BD" "$BA" "$BF"; do drop_bucket "$b" > /dev/null 2>&1; done; }

# A recording proxy: s3proxy.py plus a JSON line per request with the
# x-amz-* headers s3csfs sent (the counting proxy's log has no headers).
start_rec_proxy() {
	local up=${S3_ENDPOINT#http://}
	rm -f "$WORK/rec.port"
	python3 "$STUB" record-proxy --hdr-log "$WORK/hdr.log" --listen 127.0.0.1:0 \
		--upstream "$up" --port-file "$WORK/rec.port" --log "$WORK/rec.log" \
		> "$WORK/rec.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$WORK/rec.port" ] && break; sleep 0.1; done
	REC_URL="http://127.0.0.1:$(cat "$WORK/rec.port")"
}
# hdr OP KEY-SUFFIX HEADER: the header's value on the last OP whose target ends so.
hdr() {
	python3 - "$WORK/hdr.log" "$1" "$2" "$3" <<'EOF'
import json, sys
log, op, suffix, name = sys.argv[1:]
val = "(no such request)"
for line in open(log):
    r = json.loads(line)
    if r["op"] == op and r["target"].split("?")[0].endswith(suffix):
        val = r["headers"].get(name, "(not sent)")
print(val)
EOF
}
# ops_on SUFFIX: the operations sent for targets ending so, in order.
ops_on() {
	python3 - "$WORK/hdr.log" "$1" <<'EOF'
import json, sys
log, suffix = sys.argv[1:]
print(" ".join(r["op"] for r in map(json.loads, open(log))
               if r["target"].split("?")[0].endswith(suffix)))
EOF
}

# write_buckets_conf FILE ENDPOINT CACHE_DIR: the three-bucket layout.
write_buckets_conf() {
	cat > "$1" <<EOF
[general]
cache_dir = $3
log_level = ${LOG_LEVEL:-info}
reaper = off
part_size = 5M
[s3]
profile = onprem
endpoint = $2
region = $S3_REGION
access_key = $S3_ACCESS_KEY
secret_key = $S3_SECRET_KEY

[bucket:deleted]
name = $BD
paths = contentstore.deleted/**
storage_class = STANDARD_IA
tags = state=deleted&owner=ecm

[bucket:archive]
name = $BA
from = 2019-01-01
until = 2024-01-01
key_prefix = archive/

[bucket:main]
name = $BM
default = true
tags = owner=ecm
on_delete = tag:s3csfs-deleted=true
EOF
	chmod 600 "$1"
}

start_rec_proxy
write_buckets_conf "$WORK/three.conf" "$REC_URL" "$WORK/cache-a"
A=$WORK/mnt-a
mount_fs "$WORK/three.conf" "$A" || { not_ok "mount three buckets"; drop_all; finish; }
ok "mounted three buckets"

U1=0c1d2e3f-0000-4000-8000-000000000001
U2=0c1d2e3f-0000-4000-8000-000000000002
U3=0c1d2e3f-0000-4000-8000-000000000003
U4=0c1d2e3f-0000-4000-8000-000000000004
U5=0c1d2e3f-0000-4000-8000-000000000005
U6=0c1d2e3f-0000-4000-8000-000000000006
P_MAIN=2026/11/25/13/7/$U1.bin            # default bucket
P_DEL=contentstore.deleted/2026/11/25/13/7/$U2.bin   # by glob
P_ARCH=2019/3/4/10/5/$U3.bin              # by date range
P_EDGE_IN=2023/12/31/23/59/$U4.bin        # last day of the range: archive
P_EDGE_OUT=2024/1/1/0/0/$U5.bin           # 'until' is exclusive: main
P_BIG=contentstore.deleted/2026/11/25/13/8/$U6.bin   # multipart, by glob

echo "# files land in the right bucket, under the right key"
declare -A SRC
i=0
for p in "$P_MAIN" "$P_DEL" "$P_ARCH" "$P_EDGE_IN" "$P_EDGE_OUT"; do
	i=$((i + 1))
	make_file "$WORK/src.$i" $((16 * i)) "seed$i"
	SRC[$p]=$WORK/src.$i
	mkdir -p "$A/$(dirname "$p")"
	cp "$WORK/src.$i" "$A/$p" || not_ok "write $p"
done
make_file "$WORK/src.big" $((11 * 1024)) bigseed
SRC[$P_BIG]=$WORK/src.big
mkdir -p "$A/$(dirname "$P_BIG")"
cp "$WORK/src.big" "$A/$P_BIG" || not_ok "write $P_BIG"

where() { # where BUCKET KEY -> size from a HEAD, or "missing"
	s3 head "$1" "$2" 2>/dev/null | awk '/^size/{print $2; f=1} END{if(!f) print "missing"}'
}
size_of() { stat -c %s "$1"; }
check_eq "glob: $P_DEL in $BD at its path" "$(size_of "${SRC[$P_DEL]}")" "$(where "$BD" "$P_DEL")"
check_eq "glob: multipart $P_BIG in $BD" "$(size_of "$WORK/src.big")" "$(where "$BD" "$P_BIG")"
check_eq "date range: $P_ARCH in $BA under archive/" "$(size_of "${SRC[$P_ARCH]}")" \
	"$(where "$BA" "archive/$P_ARCH")"
check_eq "date range: last day before 'until' in $BA" "$(size_of "${SRC[$P_EDGE_IN]}")" \
	"$(where "$BA" "archive/$P_EDGE_IN")"
check_eq "date range: 'until' itself goes to the default $BM" \
	"$(size_of "${SRC[$P_EDGE_OUT]}")" "$(where "$BM" "$P_EDGE_OUT")"
check_eq "default: $P_MAIN in $BM" "$(size_of "${SRC[$P_MAIN]}")" "$(where "$BM" "$P_MAIN")"
check_eq "nothing else in $BM" "2" "$(s3 ls "$BM" 2>/dev/null | wc -l)"
check_eq "nothing else in $BD" "2" "$(s3 ls "$BD" 2>/dev/null | wc -l)"
check_eq "nothing else in $BA (all under archive/)" "2 2" \
	"$(s3 ls "$BA" 2>/dev/null | wc -l) $(s3 ls "$BA" archive/ 2>/dev/null | wc -l)"

echo "# storage class and tags, as the server keeps them"
sc() { s3 head "$1" "$2" 2>/dev/null | awk '/^storage_class/{print $2}'; }
tags() { s3 tagging "$1" "$2" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
check_eq "PutObject in $BD: storage class" STANDARD_IA "$(sc "$BD" "$P_DEL")"
check_eq "PutObject in $BD: tags" "owner=ecm state=deleted" "$(tags "$BD" "$P_DEL")"
check_eq "multipart in $BD: storage class" STANDARD_IA "$(sc "$BD" "$P_BIG")"
check_eq "multipart in $BD: tags" "owner=ecm state=deleted" "$(tags "$BD" "$P_BIG")"
check_eq "archive: the server's default class" STANDARD "$(sc "$BA" "archive/$P_ARCH")"
check_eq "archive: no tags" "" "$(tags "$BA" "archive/$P_ARCH")"
check_eq "main: its own tags" "owner=ecm" "$(tags "$BM" "$P_MAIN")"

echo "# the same headers on the wire (recording proxy)"
check_eq "PutObject: x-amz-storage-class" STANDARD_IA "$(hdr PutObject "/$P_DEL" x-amz-storage-class)"
check_eq "PutObject: x-amz-tagging" "state=deleted&owner=ecm" "$(hdr PutObject "/$P_DEL" x-amz-tagging)"
check_eq "CreateMultipartUpload: x-amz-storage-class" STANDARD_IA \
	"$(hdr CreateMultipartUpload "/$P_BIG" x-amz-storage-class)"
check_eq "CreateMultipartUpload: x-amz-tagging" "state=deleted&owner=ecm" \
	"$(hdr CreateMultipartUpload "/$P_BIG" x-amz-tagging)"
check_eq "archive PutObject: no storage class header" "(not sent)" \
	"$(hdr PutObject "/archive/$P_ARCH" x-amz-storage-class)"
check_eq "date layout: no path metadata" "(not sent)" \
	"$(hdr PutObject "/$P_MAIN" x-amz-meta-s3csfs-path)"

echo "# extended attributes"
xa() { getfattr --only-values -n "user.s3csfs.$2" "$A/$1" 2>/dev/null; }
check_eq "xattr bucket (glob)" "$BD" "$(xa "$P_DEL" bucket)"
check_eq "xattr key (glob)" "$P_DEL" "$(xa "$P_DEL" key)"
check_eq "xattr storage_class (glob)" STANDARD_IA "$(xa "$P_DEL" storage_class)"
check_eq "xattr bucket (date range)" "$BA" "$(xa "$P_ARCH" bucket)"
check_eq "xattr key (date range)" "archive/$P_ARCH" "$(xa "$P_ARCH" key)"
check_eq "xattr bucket (default)" "$BM" "$(xa "$P_MAIN" bucket)"
check_eq "xattr key (default)" "$P_MAIN" "$(xa "$P_MAIN" key)"
check_eq "xattr url" "store://$P_ARCH" "$(xa "$P_ARCH" url)"
check "getfattr -d lists the s3csfs attributes" \
	bash -c "getfattr -d '$A/$P_DEL' 2>/dev/null | grep -q '^user.s3csfs.bucket=\"$BD\"'"

echo "# cold remount: read back identical, root lists the union"
check "unmount" umount_fs "$A"
rm -rf "$WORK/cache-a"
mount_fs "$WORK/three.conf" "$A" || { not_ok "remount"; drop_all; finish; }
check_eq "ls of the root: the union of the buckets" "2019 2023 2024 2026 contentstore.deleted" \
	"$(ls "$A" | tr '\n' ' ' | sed 's/ $//')"
check_eq "ls contentstore.deleted/2026/11/25/13" "7 8" \
	"$(ls "$A/contentstore.deleted/2026/11/25/13" | tr '\n' ' ' | sed 's/ $//')"
bad=0
for p in "${!SRC[@]}"; do
	a=$(sha256sum < "${SRC[$p]}" | cut -d' ' -f1)
	b=$(sha256sum < "$A/$p" 2>/dev/null | cut -d' ' -f1)
	[ "$a" = "$b" ] || { bad=$((bad + 1)); echo "# differs after cold remount: $p"; }
done
check_eq "all ${#SRC[@]} files read back identical (sha256) after a cold remount" 0 "$bad"
check_eq "xattr bucket after remount (date range)" "$BA" "$(xa "$P_ARCH" bucket)"
check_eq "xattr storage_class after remount (glob)" STANDARD_IA "$(xa "$P_DEL" storage_class)"

echo "# on_delete = tag:s3csfs-deleted=true (main); delete (deleted)"
: > "$WORK/hdr.log"
check "rm $P_MAIN" rm "$A/$P_MAIN"
check_eq "... sent GetObjectTagging and PutObjectTagging, no DeleteObject" \
	"GetObjectTagging PutObjectTagging" "$(ops_on "/$P_MAIN")"
check_eq "... the object is still in $BM" "$(size_of "${SRC[$P_MAIN]}")" "$(where "$BM" "$P_MAIN")"
check_eq "... tagged, its own tags kept" "owner=ecm s3csfs-deleted=true" "$(tags "$BM" "$P_MAIN")"
check "... gone from this mount" test ! -e "$A/$P_MAIN"
# Past negative_timeout the daemon decides again (the store's retired set),
# and still hides it.
check "... negative_timeout passes" negative_past "$A" "$P_MAIN"
check "... still gone after the negative timeout" test ! -e "$A/$P_MAIN"
check_eq "... not listed in its directory" "" "$(ls "$A/$(dirname "$P_MAIN")")"
B=$WORK/mnt-b
write_buckets_conf "$WORK/three-b.conf" "$S3_ENDPOINT" "$WORK/cache-b"
mount_fs "$WORK/three-b.conf" "$B" || not_ok "second mount (another host)"
check "... another host still sees it (until a lifecycle rule expires it)" \
	cmp -s "${SRC[$P_MAIN]}" "$B/$P_MAIN"
umount_fs "$B"
make_file "$WORK/again" 8 again
cp "$WORK/again" "$A/$P_MAIN"
check "writing the path again makes a live file" cmp -s "$WORK/again" "$A/$P_MAIN"
check_eq "... with the bucket's tags only" "owner=ecm" "$(tags "$BM" "$P_MAIN")"
check "rm in the delete bucket" rm "$A/$P_DEL"
check_eq "... deleted the object" missing "$(where "$BD" "$P_DEL")"
check_eq "... with a DeleteObject" "DeleteObject" "$(ops_on "/$P_DEL")"
check "unmount" umount_fs "$A"

echo "# key_layout = flat"
cat > "$WORK/flat.conf" <<EOF
[general]
cache_dir = $WORK/cache-f
log_level = ${LOG_LEVEL:-info}
reaper = off
[s3]
profile = onprem
endpoint = $REC_URL
region = $S3_REGION
access_key = $S3_ACCESS_KEY
secret_key = $S3_SECRET_KEY
[bucket:old]
name = $BF
from = 2010-01-01
until = 2015-01-01
key_prefix = flat/
key_layout = flat
[bucket:main]
name = $BM
default = true
EOF
chmod 600 "$WORK/flat.conf"
F=$WORK/mnt-f
UF=0c1d2e3f-0000-4000-8000-0000000000f1
P_FLAT=2012/5/6/7/8/$UF.bin
mount_fs "$WORK/flat.conf" "$F" || { not_ok "mount flat"; drop_all; finish; }
make_file "$WORK/src.flat" 40 flat
make_file "$WORK/src.flatbig" $((6 * 1024)) flatbig
mkdir -p "$F/2012/5/6/7/8"
cp "$WORK/src.flat" "$F/$P_FLAT" || not_ok "write $P_FLAT"
cp "$WORK/src.flatbig" "$F/2012/5/6/7/8/big.bin" || not_ok "write big.bin (multipart)"
check_eq "flat: key = key_prefix + file name" "$(size_of "$WORK/src.flat")" "$(where "$BF" "flat/$UF.bin")"
check_eq "flat: nothing at the date key" missing "$(where "$BF" "flat/$P_FLAT")"
check_eq "flat: the path in x-amz-meta-s3csfs-path (PutObject)" "s3csfs-path=$P_FLAT" \
	"$(s3 head "$BF" "flat/$UF.bin" | grep '^s3csfs-path=')"
check_eq "flat: the path in x-amz-meta-s3csfs-path (multipart)" "s3csfs-path=2012/5/6/7/8/big.bin" \
	"$(s3 head "$BF" flat/big.bin | grep '^s3csfs-path=')"
check_eq "flat: xattr key" "flat/$UF.bin" "$(getfattr --only-values -n user.s3csfs.key "$F/$P_FLAT" 2>/dev/null)"
mkdir -p "$F/2026/11/25/13/9"
cp "$WORK/src.flat" "$F/2026/11/25/13/9/moved.bin"
check "flat: rename from the date bucket into the flat one" \
	mv "$F/2026/11/25/13/9/moved.bin" "$F/2012/5/6/7/8/moved.bin"
check_eq "flat: ... the copy carries the new path" "s3csfs-path=2012/5/6/7/8/moved.bin" \
	"$(s3 head "$BF" flat/moved.bin 2>/dev/null | grep '^s3csfs-path=')"
check_eq "flat: ... the old key is gone" missing "$(where "$BM" 2026/11/25/13/9/moved.bin)"
check "unmount" umount_fs "$F"
rm -rf "$WORK/cache-f"
mount_fs "$WORK/flat.conf" "$F" || { not_ok "remount flat"; drop_all; finish; }
# The date directories of a flat bucket are in no key: the daemon's lookup
# treats them as existing (fuse_ops.c probe_dir, map_dir_may_be_flat()).
check "flat: cold read by path, without mkdir" cmp -s "$WORK/src.flat" "$F/$P_FLAT"
mkdir -p "$F/2012/5/6/7/8"
check "flat: cold read after mkdir -p of its directory" cmp -s "$WORK/src.flat" "$F/$P_FLAT"
check "flat: multipart object reads back" cmp -s "$WORK/src.flatbig" "$F/2012/5/6/7/8/big.bin"
echo "# flat: listing shows only what this host has pending or made: '$(ls "$F/2012/5/6/7/8" | tr '\n' ' ')'"
check "unmount" umount_fs "$F"

echo "# SSE headers (the test server may refuse SSE without its own KMS setup)"
cat > "$WORK/sse.conf" <<EOF
[general]
cache_dir = $WORK/cache-s
log_level = ${LOG_LEVEL:-info}
reaper = off
[s3]
profile = onprem
endpoint = $REC_URL
region = $S3_REGION
access_key = $S3_ACCESS_KEY
secret_key = $S3_SECRET_KEY
[bucket:s3]
name = $BD
paths = sse-s3/**
sse = AES256
[bucket:kms]
name = $BD
paths = sse-kms/**
sse = aws:kms
sse_kms_key_id = alias/s3csfs-test
[bucket:main]
name = $BM
default = true
EOF
chmod 600 "$WORK/sse.conf"
E=$WORK/mnt-s
mount_fs "$WORK/sse.conf" "$E" || { not_ok "mount sse"; drop_all; finish; }
mkdir -p "$E/sse-s3" "$E/sse-kms"
make_file "$WORK/src.sse" 4 sse
if cp "$WORK/src.sse" "$E/sse-s3/a.bin" 2> /dev/null; then
	check_eq "SSE-S3 accepted: the server says AES256" "sse AES256" "$(s3 head "$BD" sse-s3/a.bin | grep '^sse')"
else
	echo "# the server refused SSE-S3 (no SSE-S3 backend configured): close() failed, as it must"
fi
check_eq "x-amz-server-side-encryption: AES256 sent" AES256 \
	"$(hdr PutObject /sse-s3/a.bin x-amz-server-side-encryption)"
cp "$WORK/src.sse" "$E/sse-kms/a.bin" 2> /dev/null
check_eq "x-amz-server-side-encryption: aws:kms sent" aws:kms \
	"$(hdr PutObject /sse-kms/a.bin x-amz-server-side-encryption)"
check_eq "x-amz-server-side-encryption-aws-kms-key-id sent" alias/s3csfs-test \
	"$(hdr PutObject /sse-kms/a.bin x-amz-server-side-encryption-aws-kms-key-id)"
check "unmount" umount_fs "$E"

drop_all
finish
