#!/usr/bin/env bash
# test_fsextras.sh - the filesystem beyond plain files (issue 12): symbolic
# links (stored as s3fs stores them, read after a remount and from a
# second mount, made by s3fs's convention elsewhere), `tar x` of a tree
# with a link, `cp -a` and `mv` inside the mount with nothing on stderr,
# directory marker objects ("name/", as s3fs, rclone and the S3 console
# make them) listed, looked up and removed by rmdir and rm -rf, times and
# modes kept in x-amz-meta-mtime/mode (read side, rename's CopyObject, the
# unmount), the root's times, and the errnos of unsupported operations.
# Everything that writes data runs with upload = sync and upload = async.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

BUCKET=fsx-$$-$RANDOM
new_bucket "$BUCKET"
trap 'cleanup_all' EXIT
cleanup_all() {
	cleanup_mounts
	drop_bucket "$BUCKET"
	cleanup
}
cleanup_mounts() {
	local m
	for m in "${MOUNTS[@]}"; do mountpoint -q "$m" && umount_fs "$m"; done
}

start_proxy
M=$WORK/mnt
M2=$WORK/mnt2

# meta KEY NAME -> the x-amz-meta-NAME value of KEY (empty if none)
meta() { s3 head "$BUCKET" "$1" 2>/dev/null | sed -n "s/^$2=//p"; }

# settled MOUNT: waits (bounded) until no upload is pending (upload = async)
settled() {
	for _ in $(seq 200); do
		grep -q '^uploads_pending 0$' "$1/.s3csfs/stats" && return 0
		sleep 0.05
	done
	return 1
}

# errno_of PYTHON-EXPR -> the errno name the call fails with, or OK
errno_of() {
	python3 "$TOP/tests/tools/errno_of.py" "$@"
}

for mode in sync async; do
	CONF=$WORK/$mode.conf
	write_conf "$CONF" "$BUCKET" "$PROXY_URL" "$WORK/cache-$mode" "upload = $mode"
	write_conf "$WORK/$mode.2.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache2-$mode" "upload = $mode"
	mount_fs "$CONF" "$M" || { not_ok "$mode: mount"; finish; }
	T=$mode

	# ---- symbolic links ----
	mkdir -p "$M/$T/links"
	check "$mode: ln -s" ln -s ../some/target.bin "$M/$T/links/l1"
	check_eq "$mode: readlink" "../some/target.bin" "$(readlink "$M/$T/links/l1")"
	check_eq "$mode: stat says a link" "symbolic link" "$(stat -c %F "$M/$T/links/l1")"
	check_eq "$mode: stored with mode S_IFLNK|0777, as s3fs does" "41471" "$(meta "$T/links/l1" mode)"
	check_eq "$mode: the link's body is its target" "../some/target.bin" \
		"$(s3 get "$BUCKET" "$T/links/l1" - 2>/dev/null)"
	check_eq "$mode: ln -s over an existing name: EEXIST" "EEXIST" \
		"$(errno_of "os.symlink('x', '$M/$T/links/l1')")"
	ln -s target.bin "$M/$T/links/l2.bin"
	mount_fs "$WORK/$mode.2.conf" "$M2" || not_ok "$mode: second mount"
	check_eq "$mode: second mount: readlink" "../some/target.bin" "$(readlink "$M2/$T/links/l1")"
	check_eq "$mode: second mount: a link with an extension" "symbolic link" \
		"$(stat -c %F "$M2/$T/links/l2.bin")"
	check_eq "$mode: second mount: listing tells links apart" "l1 l2.bin" \
		"$(find "$M2/$T/links" -type l -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')"
	umount_fs "$M2"

	# tar x of a tree with a link (and a file, a directory, times)
	mkdir -p "$WORK/src-$mode/tree/sub"
	make_file "$WORK/src-$mode/tree/sub/a.bin" 100 "$mode-a"
	echo hello > "$WORK/src-$mode/tree/readme"
	ln -s sub/a.bin "$WORK/src-$mode/tree/alink"
	touch -h -d '2020-01-02 03:04:05' "$WORK/src-$mode/tree/sub/a.bin" "$WORK/src-$mode/tree/readme"
	tar -C "$WORK/src-$mode" -cf "$WORK/tree-$mode.tar" tree
	mkdir -p "$M/$T/tar"
	tar -C "$M/$T/tar" -xf "$WORK/tree-$mode.tar" 2> "$WORK/tar.err"
	check_eq "$mode: tar x of a tree with a link exits 0" "0" "$?"
	check_eq "$mode: tar x: nothing on stderr" "" "$(cat "$WORK/tar.err")"
	check_eq "$mode: tar x: the link" "sub/a.bin" "$(readlink "$M/$T/tar/tree/alink")"
	check "$mode: tar x: the file through the link" cmp "$WORK/src-$mode/tree/sub/a.bin" "$M/$T/tar/tree/alink"

	# ---- cp -a and mv inside the mount ----
	mkdir -p "$M/$T/cp/d"
	make_file "$M/$T/cp/d/x.bin" 50 "$mode-x"
	echo small > "$M/$T/cp/d/notes"
	ln -s x.bin "$M/$T/cp/d/xl"
	cp -a "$M/$T/cp/d" "$M/$T/cp/d2" 2> "$WORK/cp.err"
	check_eq "$mode: cp -a inside the mount exits 0" "0" "$?"
	check_eq "$mode: cp -a: nothing on stderr" "" "$(cat "$WORK/cp.err")"
	check "$mode: cp -a: the copy" cmp "$M/$T/cp/d/x.bin" "$M/$T/cp/d2/x.bin"
	check_eq "$mode: cp -a: the link copied as a link" "x.bin" "$(readlink "$M/$T/cp/d2/xl")"
	mv "$M/$T/cp/d2" "$M/$T/cp/d3" 2> "$WORK/mv.err"
	check_eq "$mode: mv of a directory exits 0" "0" "$?"
	check_eq "$mode: mv: nothing on stderr" "" "$(cat "$WORK/mv.err")"
	check "$mode: mv: the old name is gone" test ! -e "$M/$T/cp/d2"
	check "$mode: mv: the file under the new name" cmp "$M/$T/cp/d/x.bin" "$M/$T/cp/d3/x.bin"
	# From outside: a file with a user.* attribute the mount does not store.
	echo outside > "$WORK/xa-$mode"
	if setfattr -n user.origin -v here "$WORK/xa-$mode" 2> /dev/null; then
		cp -a "$WORK/xa-$mode" "$M/$T/cp/xa1" 2> "$WORK/cpx.err"
		check_eq "$mode: cp -a of a file with user.origin into the mount: exit 0, silent" "0:" \
			"$?:$(cat "$WORK/cpx.err")"
		cp -a "$WORK/xa-$mode" "$WORK/xa2-$mode"
		mv "$WORK/xa2-$mode" "$M/$T/cp/xa2" 2> "$WORK/mvx.err"
		check_eq "$mode: mv of a file with user.origin into the mount: exit 0, silent" "0:" \
			"$?:$(cat "$WORK/mvx.err")"
		check_eq "$mode: mv: the bytes" "outside" "$(cat "$M/$T/cp/xa2")"
	else
		echo "# $WORK has no user xattrs: cp -a/mv of a file carrying one not tried"
	fi
	check_eq "$mode: setfattr user.s3csfs.*: accepted" "OK" \
		"$(errno_of "os.setxattr('$M/$T/cp/d/x.bin', 'user.s3csfs.key', b'x')")"
	check_eq "$mode: user.s3csfs.key unchanged by it" "$T/cp/d/x.bin" \
		"$(getfattr --only-values -n user.s3csfs.key "$M/$T/cp/d/x.bin" 2>/dev/null)"
	check_eq "$mode: setfattr of another user.* attribute: ENOTSUP" "ENOTSUP" \
		"$(errno_of "os.setxattr('$M/$T/cp/d/x.bin', 'user.other', b'x')")"
	check_eq "$mode: removexattr user.s3csfs.*: accepted" "OK" \
		"$(errno_of "os.removexattr('$M/$T/cp/d/x.bin', 'user.s3csfs.etag')")"

	# ---- a reader opened before the writer (one inode, as on a local disk) ----
	mkdir -p "$M/$T/rw"
	make_file "$M/$T/rw/f.bin" 40 "$mode-rw"
	make_file "$WORK/rw-other-$mode" 10 "$mode-rw-other"
	cp "$WORK/rw-other-$mode" "$M/$T/rw/other.bin"
	settled "$M" || not_ok "$mode: uploads settle"
	rw_out=$(python3 "$TOP/tests/tools/reader_before_writer.py" "$M/$T/rw")
	check_eq "$mode: a reader opened before a writer reads the writer's bytes, renamed over" \
		"$((60 * 1024 + 30000)) True True" "$rw_out"
	check "$mode: the name holds the renamed file" cmp "$WORK/rw-other-$mode" "$M/$T/rw/f.bin"

	# ---- times and modes ----
	# Set after close(), carried by the rename's CopyObject: no extra request.
	make_file "$M/$T/t1.tmp" 20 "$mode-t1"
	touch -d '2021-05-06 07:08:09.123456789' "$M/$T/t1.tmp"
	chmod 0640 "$M/$T/t1.tmp"
	settled "$M" || not_ok "$mode: uploads settle"
	proxy_reset
	mv "$M/$T/t1.tmp" "$M/$T/t1.bin"
	check_eq "$mode: rename carries times/mode: one CopyObject" "1" "$(proxy_op CopyObject)"
	t1=$(date -d '2021-05-06 07:08:09.123456789' +%s.%N)
	check_eq "$mode: stored mtime (s3fs/rclone format)" "$t1" "$(meta "$T/t1.bin" mtime)"
	check_eq "$mode: stored mode" "33184" "$(meta "$T/t1.bin" mode)"
	check_eq "$mode: stat after the rename" "$t1 640" \
		"$(stat -c '%.9Y %a' "$M/$T/t1.bin")"
	# Set after close() with no rename: kept here, stored at the unmount.
	make_file "$M/$T/t2.bin" 20 "$mode-t2"
	touch -d '2019-03-04 05:06:07' "$M/$T/t2.bin"
	# The upload path: times set before close() (cp -a, tar) go with the upload.
	make_file "$WORK/t3-$mode.bin" 30 "$mode-t3"
	touch -d '2018-01-01 00:00:01.5' "$WORK/t3-$mode.bin"
	cp -a "$WORK/t3-$mode.bin" "$M/$T/t3.bin"
	settled "$M" || not_ok "$mode: uploads settle"
	proxy_reset
	umount_fs "$M" || not_ok "$mode: unmount"
	copies=$(proxy_op CopyObject)
	# Files whose times were set after their last upload: t2, and the
	# links tar and cp -a made (lutimes after the link's PutObject). Times
	# set before close() (tar's, cp -a's and mv's files, t3) go with the
	# upload itself.
	check_eq "$mode: unmount stores only attributes no upload carried" "3" "$copies"
	check_eq "$mode: upload path: mtime in the PutObject" "$(stat -c %.9Y "$WORK/t3-$mode.bin")" \
		"$(meta "$T/t3.bin" mtime)"
	check_eq "$mode: times set after close stored at unmount" "$(date -d '2019-03-04 05:06:07' +%s)" \
		"$(meta "$T/t2.bin" mtime)"
	mount_fs "$CONF" "$M" || { not_ok "$mode: remount"; finish; }
	check_eq "$mode: after remount: renamed file's mtime and mode" "$t1 640" \
		"$(stat -c '%.9Y %a' "$M/$T/t1.bin")"
	check_eq "$mode: after remount: mtime set after close" "$(date -d '2019-03-04 05:06:07' +%s)" \
		"$(stat -c %Y "$M/$T/t2.bin")"
	check_eq "$mode: after remount: cp -a's mtime" "$(stat -c %.9Y "$WORK/t3-$mode.bin")" \
		"$(stat -c %.9Y "$M/$T/t3.bin")"
	check_eq "$mode: after remount: tar's mtime" "$(stat -c %Y "$WORK/src-$mode/tree/readme")" \
		"$(stat -c %Y "$M/$T/tar/tree/readme")"
	check_eq "$mode: after remount: the link" "sub/a.bin" "$(readlink "$M/$T/tar/tree/alink")"
	check_eq "$mode: after remount: a listing, then stat: stored mtime" \
		"$(stat -c %Y "$WORK/src-$mode/tree/sub/a.bin")" \
		"$(ls "$M/$T/tar/tree/sub" > /dev/null && stat -c %Y "$M/$T/tar/tree/sub/a.bin")"
	umount_fs "$M"
done

mount_fs "$WORK/sync.conf" "$M" || { not_ok "mount"; finish; }

# ---- other tools' objects: metadata and links as s3fs/rclone write them ----
echo "content" > "$WORK/body"
s3 put "$BUCKET" other/f.bin "$WORK/body" --meta mtime=1577934245.678000000 > /dev/null
s3 put "$BUCKET" other/plain "$WORK/body" --meta mtime=1620284889 > /dev/null
printf 'f.bin' > "$WORK/linkbody"
s3 put "$BUCKET" other/s3fslink "$WORK/linkbody" --meta mode=41471 > /dev/null
check_eq "foreign: x-amz-meta-mtime with nanoseconds read" "1577934245.678000000" \
	"$(stat -c %.9Y "$M/other/f.bin")"
check_eq "foreign: a name without an extension: mtime read" "1620284889" "$(stat -c %Y "$M/other/plain")"
check_eq "foreign: s3fs's link is a link" "symbolic link" "$(stat -c %F "$M/other/s3fslink")"
check_eq "foreign: s3fs's link resolves" "content" "$(cat "$M/other/s3fslink")"
# A listing first (no metadata in it), then stat: the stored mtime.
s3 put "$BUCKET" other/l/a.bin "$WORK/body" --meta mtime=1500000000 > /dev/null
s3 put "$BUCKET" other/l/b.bin "$WORK/body" --meta mtime=1500000001 > /dev/null
proxy_reset
check_eq "foreign: find after a listing shows stored mtimes" "1500000000 1500000001" \
	"$(find "$M/other/l" -type f -printf '%T@\n' | sed 's/\..*//' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "foreign: that walk: the directory's lookup, its listing, 1 HEAD per file" "4" \
	"$(proxy_total)"

# ---- marker objects ----
s3 put "$BUCKET" mk/ /dev/null > /dev/null
s3 put "$BUCKET" mk/empty/ /dev/null > /dev/null
s3 put "$BUCKET" mk/full/ /dev/null > /dev/null
s3 put "$BUCKET" mk/full/x.bin "$WORK/body" > /dev/null
s3 put "$BUCKET" mk/full/deep/ /dev/null > /dev/null
check_eq "markers: listed as directories, no empty name" "empty full" \
	"$(ls -A "$M/mk" | tr '\n' ' ' | sed 's/ $//')"
check_eq "markers: a directory" "directory" "$(stat -c %F "$M/mk/empty")"
check_eq "markers: listing of a marked directory: no empty name" "deep x.bin" \
	"$(ls -A "$M/mk/full" | tr '\n' ' ' | sed 's/ $//')"
check_eq "markers: rmdir of a non-empty marked directory: ENOTEMPTY" "ENOTEMPTY" \
	"$(errno_of "os.rmdir('$M/mk/full')")"
check "markers: rmdir of a directory holding only its marker" rmdir "$M/mk/empty"
check_eq "markers: its marker is deleted" "" "$(s3 ls "$BUCKET" mk/empty 2>/dev/null)"
check "markers: gone from the mount" test ! -e "$M/mk/empty"
rm -rf "$M/mk" 2> "$WORK/rm.err"
check_eq "markers: rm -rf of a marked tree exits 0" "0" "$?"
check_eq "markers: rm -rf: nothing on stderr" "" "$(cat "$WORK/rm.err")"
check_eq "markers: rm -rf: nothing left in S3" "" "$(s3 ls "$BUCKET" mk/ 2>/dev/null)"

# ---- the root's times, unsupported operations ----
now=$(date +%s)
root_mtime=$(stat -c %Y "$M")
check "root: times are the mount's (not 1970)" test $((now - root_mtime)) -lt 600 -a "$root_mtime" -le "$now"
mkdir -p "$M/e/d"
echo x > "$M/e/f"
check_eq "errno: link" "EPERM" "$(errno_of "os.link('$M/e/f', '$M/e/g')")"
check_eq "errno: mknod (FIFO)" "EPERM" "$(errno_of "os.mkfifo('$M/e/p')")"
check_eq "errno: rename of a directory" "EXDEV" "$(errno_of "os.rename('$M/e/d', '$M/e/d2')")"
check_eq "errno: RENAME_EXCHANGE" "EINVAL" "$(errno_of "renameat2('$M/e/f', '$M/e/d', 2)")"
check_eq "errno: RENAME_NOREPLACE onto a file" "EEXIST" \
	"$(touch "$M/e/h" && errno_of "renameat2('$M/e/f', '$M/e/h', 1)")"
check_eq "errno: readlink of a file" "EINVAL" "$(errno_of "os.readlink('$M/e/f')")"
check_eq "errno: fallocate (EOPNOTSUPP, ENOTSUP on Linux)" "ENOTSUP" \
	"$(errno_of "fallocate('$M/e/f')")"
check_eq "errno: chown: accepted" "OK" "$(errno_of "os.chown('$M/e/f', os.getuid(), os.getgid())")"
umount_fs "$M"

# ---- the kernel's names follow the node table (kcache.c) ----
# With max_nodes = 64, 1200 files written: the daemon asks the kernel to
# drop its unused names, so the kernel's FUSE inodes (and libfuse's nodes)
# do not grow with every file; a file held open across the rounds, and
# every file written, still work.
kernel_trims() { awk '$1 == "kernel_trims" {print $2}' "$1/.s3csfs/stats"; }
trimmed() { [ "$(kernel_trims "$1")" -gt "$2" ]; }
fuse_inodes() { awk '$1 == "fuse_inode" {print $2}' /proc/slabinfo 2> /dev/null; }
for mode in sync async; do
	write_conf "$WORK/kc-$mode.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-kc-$mode" \
		"upload = $mode" "max_nodes = 64"
	mount_fs "$WORK/kc-$mode.conf" "$M" || { not_ok "$mode: kcache: mount"; continue; }
	mkdir -p "$M/kc-$mode"
	exec 7> "$M/kc-$mode/held.bin"
	inodes0=$(fuse_inodes)
	python3 - "$M/kc-$mode" << 'EOF'
import os, sys
for i in range(1200):
    d = os.path.join(sys.argv[1], "2026/12/3/%d/%d" % (i // 230, i // 23))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%04d.bin" % i), "w") as f:
        f.write(str(i))
EOF
	# 100 lookups of absent names after the writes: more names forgotten,
	# so a round comes after the last file was written.
	t0=$(kernel_trims "$M")
	for i in $(seq 100); do stat "$M/kc-$mode/none-$i.bin" > /dev/null 2>&1; done
	check "$mode: kcache: the kernel was asked to drop its names" wait_until 10 trimmed "$M" "$t0"
	trims=$(kernel_trims "$M")
	inodes1=$(fuse_inodes)
	if [ -n "$inodes0" ] && [ -n "$inodes1" ]; then
		check "$mode: kcache: FUSE inodes grew by $((inodes1 - inodes0)) for 1200 files (at most 600)" \
			test $((inodes1 - inodes0)) -le 600
	fi
	echo held > "$M/kc-$mode/held.bin"
	exec 7>&-
	check_eq "$mode: kcache: the file held open across $trims rounds" held "$(cat "$M/kc-$mode/held.bin")"
	bad=$(python3 - "$M/kc-$mode" << 'EOF'
import os, sys
bad = 0
for i in range(1200):
    p = os.path.join(sys.argv[1], "2026/12/3/%d/%d/%04d.bin" % (i // 230, i // 23, i))
    try:
        bad += open(p).read() != str(i)
    except OSError:
        bad += 1
print(bad)
EOF
)
	check_eq "$mode: kcache: every file reads back" 0 "$bad"
	check "$mode: kcache: unmount" umount_fs "$M"
done

finish
