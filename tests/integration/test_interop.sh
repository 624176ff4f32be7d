#!/usr/bin/env bash
# test_interop.sh - other tools' objects in the same bucket (issue 12), in
# upload = sync and upload = async:
#   - s3fs-fuse (Debian's s3fs) writes a tree: its mkdir makes "name/"
#     marker objects, one directory (sf/emptydir) is a marker only, and a
#     12 MB file is a multipart upload with s3fs's part size;
#   - rclone (Debian's rclone, an s3 remote, provider Ceph) copies a tree;
#   - the S3 console's way: "folder/" marker objects (one with nothing
#     under it), put with s3tool;
#   - s3csfs lists them (every file and directory, markers as
#     directories), reads them (sha256 equal), writes a tree of its own that
#     rclone copies back and s3fs reads (sha256 equal), then rmdir of the
#     marker-only directories and rm -rf of it all: exit 0, nothing on
#     stderr, the bucket empty (markers too).
# rclone runs without AWS_CA_BUNDLE: its AWS SDK cannot load a custom CA
# bundle into rclone's transport ("LoadCustomCABundleError"), and the
# server here is plain http on 127.0.0.1.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_clients.sh
. "$(dirname "$0")/lib_clients.sh"

for t in s3fs rclone; do
	command -v "$t" > /dev/null || { not_ok "$t is installed"; finish; }
done

echo "$S3_ACCESS_KEY:$S3_SECRET_KEY" > "$WORK/s3fs.passwd"
chmod 600 "$WORK/s3fs.passwd"
cat > "$WORK/rclone.conf" << EOF
[ics]
type = s3
provider = Ceph
env_auth = false
access_key_id = $S3_ACCESS_KEY
secret_access_key = $S3_SECRET_KEY
endpoint = $S3_ENDPOINT
region = $S3_REGION
force_path_style = true
EOF
chmod 600 "$WORK/rclone.conf"
rcl() { env -u AWS_CA_BUNDLE timeout 300 rclone --config "$WORK/rclone.conf" "$@"; }

# s3fs_mount BUCKET MNT: s3fs in the foreground (log in $WORK/s3fs.N.log),
# waits (bounded) until mounted; umount_fs MNT stops it.
S3FS_N=0
s3fs_mount() {
	local pid
	mkdir -p "$2"
	S3FS_N=$((S3FS_N + 1))
	s3fs "$1" "$2" -f -o "use_path_request_style,url=$S3_ENDPOINT,passwd_file=$WORK/s3fs.passwd" \
		-o "sigv4,endpoint=$S3_REGION,dbglevel=warn" > "$WORK/s3fs.$S3FS_N.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	MOUNT_PID[$2]=$pid
	MOUNTS+=("$2")
	for _ in $(seq 100); do
		mountpoint -q "$2" && return 0
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.1
	done
	show "$WORK/s3fs.$S3FS_N.log" 10
	return 1
}

# manifest DIR -> "sha256  ./path" of every file under DIR, sorted.
manifest() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) 2>&1
}
# same_files WHAT A B: the same names with the same sha256 under A and B.
same_files() {
	manifest "$2" > "$WORK/man.a"
	manifest "$3" > "$WORK/man.b"
	check_eq "$1: files (sha256 equal; lines differing)" 0 "$(diff "$WORK/man.a" "$WORK/man.b" | grep -c '^[<>]')"
	diff "$WORK/man.a" "$WORK/man.b" | grep '^[<>]' | show /dev/stdin 6
	check_eq "$1: file count" "$(wc -l < "$WORK/man.a")" "$(wc -l < "$WORK/man.b")"
}
# run WHAT command...: exit status 0 and nothing on stderr (at most 300 s).
run() {
	local what=$1 rc
	shift
	# timeout(1) runs programs, not shell functions (rcl bounds itself).
	if [ "$(type -t "$1")" = function ]; then
		"$@" > "$WORK/run.out" 2> "$WORK/run.err"
	else
		timeout 300 "$@" > "$WORK/run.out" 2> "$WORK/run.err"
	fi
	rc=$?
	check_eq "$what: exit status" 0 "$rc"
	check "$what: nothing on stderr" test ! -s "$WORK/run.err"
	show "$WORK/run.err" 8
}

# The local trees: what s3fs, rclone and s3csfs write.
S=$WORK/src
mkdir -p "$S/sf/sf/docs/deep/deeper" "$S/sf/sf/emptydir" "$S/rc/x/y" \
	"$S/cs/cs/2026/11/25/13/7" "$S/cs/cs/sub/dir"
make_file "$S/sf/sf/docs/a.txt" 1 sf1
make_file "$S/sf/sf/docs/deep/b.dat" 300 sf2
make_file "$S/sf/sf/docs/deep/deeper/c.txt" 3 sf3
make_file "$S/sf/sf/big.dat" 12288 sf4
make_file "$S/rc/x/one.txt" 2 rc1
make_file "$S/rc/x/y/two.dat" 1024 rc2
make_file "$S/rc/big.dat" 7168 rc3
make_file "$S/cs/cs/2026/11/25/13/7/0c1de9a4-3b7f-4d6e-9b1a-5f0e2c8d7a61.bin" 40 cs1
make_file "$S/cs/cs/2026/11/25/13/7/7e2f0a1b-9c3d-4e5f-8a6b-1c2d3e4f5a6b.bin" 12288 cs2
make_file "$S/cs/cs/sub/dir/file.txt" 5 cs3
: > "$WORK/empty"

for MODE in sync async; do
	echo "# ---- upload = $MODE"
	BUCKET=s3csfs-interop-$MODE-$$
	new_bucket "$BUCKET"

	# s3fs writes its tree (mkdir -p makes the marker objects).
	F=$WORK/s3fs-$MODE
	if s3fs_mount "$BUCKET" "$F"; then
		ok "$MODE: s3fs mounted"
		run "$MODE: s3fs: mkdir -p and cp -r of a tree" \
			bash -c 'mkdir -p "$2/sf/docs/deep/deeper" "$2/sf/emptydir" && cp -r "$1/sf/." "$2/sf/"' _ "$S/sf" "$F"
		check "$MODE: s3fs: unmount" umount_fs "$F"
	else
		not_ok "$MODE: s3fs mounted"
	fi
	run "$MODE: rclone copy of a tree" rcl copy "$S/rc" "ics:$BUCKET/rc"
	check "$MODE: console-style marker console/empty/" quiet s3 put "$BUCKET" console/empty/ "$WORK/empty"
	check "$MODE: console-style marker console/folder/" quiet s3 put "$BUCKET" console/folder/ "$WORK/empty"
	check "$MODE: a file in console/folder/" quiet s3 put "$BUCKET" console/folder/doc.txt "$S/rc/x/one.txt"
	s3 ls "$BUCKET" > "$WORK/keys" 2> /dev/null
	for k in sf/ sf/docs/ sf/emptydir/ console/empty/ console/folder/; do
		check "$MODE: the bucket holds the marker object $k" grep -q "^$k " "$WORK/keys"
	done

	M=$WORK/mnt-$MODE
	write_conf "$WORK/$MODE.conf" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache-$MODE" "upload = $MODE" "part_size = 5M"
	if ! mount_fs "$WORK/$MODE.conf" "$M"; then
		not_ok "$MODE: mount"
		drop_bucket "$BUCKET"
		continue
	fi
	check_eq "$MODE: ls of the root" "console rc sf" "$(ls "$M" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	same_files "$MODE: s3fs's tree read through s3csfs" "$S/sf/sf" "$M/sf"
	check "$MODE: s3fs's marker-only directory sf/emptydir is a directory" test -d "$M/sf/emptydir"
	check_eq "$MODE: s3fs's directories listed (find -type d)" \
		"sf sf/docs sf/docs/deep sf/docs/deep/deeper sf/emptydir" \
		"$(cd "$M" && find sf -type d 2>&1 | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
	same_files "$MODE: rclone's tree read through s3csfs" "$S/rc" "$M/rc"
	check_eq "$MODE: console markers listed" "doc.txt" "$(ls "$M/console/folder" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	check "$MODE: console marker-only directory console/empty is a directory" test -d "$M/console/empty"

	run "$MODE: s3csfs: cp -r of a tree into the mount" cp -r "$S/cs/cs" "$M/"
	check "$MODE: uploads settled within 180 s" wait_settled "$M" 180
	rm -rf "$WORK/back-rc"
	run "$MODE: rclone copy of s3csfs's tree" rcl copy "ics:$BUCKET/cs" "$WORK/back-rc/cs"
	same_files "$MODE: s3csfs's tree read by rclone" "$S/cs/cs" "$WORK/back-rc/cs"
	if s3fs_mount "$BUCKET" "$F"; then
		same_files "$MODE: s3csfs's tree read through s3fs" "$S/cs/cs" "$F/cs"
		check "$MODE: s3fs: unmount" umount_fs "$F"
	else
		not_ok "$MODE: s3fs mounted again"
	fi

	run "$MODE: rmdir of s3fs's marker-only directory" rmdir "$M/sf/emptydir"
	run "$MODE: rmdir of the console's marker-only directory" rmdir "$M/console/empty"
	run "$MODE: rm -rf of every tree" rm -rf "$M/sf" "$M/rc" "$M/cs" "$M/console"
	check_eq "$MODE: rm -rf: entries left in the mount" "" "$(find "$M" -mindepth 1 -maxdepth 1 ! -name .s3csfs -printf '%f ' 2>&1)"
	check "$MODE: uploads settled within 180 s" wait_settled "$M" 180
	s3 ls "$BUCKET" > "$WORK/keys" 2> /dev/null
	check_eq "$MODE: s3tool ls of the bucket: exit status" 0 "$?"
	check_eq "$MODE: keys left in the bucket (markers too)" 0 "$(awk '$1 != "PRE"' "$WORK/keys" | wc -l)"
	show "$WORK/keys" 8
	check "$MODE: unmount" umount_fs "$M"
	drop_bucket "$BUCKET"
done
finish
