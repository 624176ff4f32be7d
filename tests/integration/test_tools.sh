#!/usr/bin/env bash
# test_tools.sh - backup and migration tools on the mount (issue 12), in
# upload = sync and upload = async; every command's exit status and stderr
# are checked:
#   - rsync -a of a tree of FILES (default 2000) small files (1-4 KiB) in
#     several directories: exit 0, nothing on stderr, the bytes right, no
#     rsync temporary file (.NAME.XXXXXX) left; a second
#     rsync -a --itemize-changes --stats transfers no file;
#   - tar x of an archive holding a symbolic link: exit 0, the link reads
#     back (readlink and through it), also after a remount;
#   - cp -a of a directory (FILES/10 files) within the mount, mv of it within the
#     mount, rm -rf of it all: exit 0, nothing on stderr; the bucket is
#     empty at the end;
#   - the rsync'd tree again after a remount on a new cache_dir (cold).
#
#   FILES=N  override the file count.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_clients.sh
. "$(dirname "$0")/lib_clients.sh"

FILES=${FILES:-2000}

for t in rsync tar cp mv diff; do
	command -v "$t" > /dev/null || { not_ok "$t is installed"; finish; }
done

# The source tree: FILES files of 1-4 KiB over 10 directories of 2 levels,
# a few names with a space or non-ASCII letters.
SRC=$WORK/src
python3 "$TOP/tests/tools/gen_tree.py" "$SRC" "$FILES"
check_eq "source tree has $FILES files" "$FILES" "$(find "$SRC/tree" -type f | wc -l)"
# The archive: a file, a relative symbolic link to it, a link to a directory.
mkdir -p "$WORK/tarsrc/pkg/lib" "$WORK/tarsrc/pkg/bin"
make_file "$WORK/tarsrc/pkg/lib/libx.so.1.2" 20 tar1
ln -s libx.so.1.2 "$WORK/tarsrc/pkg/lib/libx.so.1"
ln -s ../lib "$WORK/tarsrc/pkg/bin/lib"
tar -C "$WORK/tarsrc" -cf "$WORK/pkg.tar" pkg

# run NAME command...: runs it, stdout in $RUN_OUT, stderr in $RUN_OUT.err;
# checks exit status 0 and an empty stderr (shows what it printed); at most
# 600 s.
run() {
	local name=$1 rc
	shift
	RUN_OUT=$WORK/run.${name//[^a-z0-9]/_}.out
	t0=$(date +%s)
	timeout 600 "$@" > "$RUN_OUT" 2> "$RUN_OUT.err"
	rc=$?
	echo "# $MODE: $name took $(($(date +%s) - t0)) s"
	check_eq "$MODE: $name: exit status" 0 "$rc"
	check "$MODE: $name: nothing on stderr" test ! -s "$RUN_OUT.err"
	show "$RUN_OUT.err" 8
}

# tree_diff A B -> number of lines diff -r prints (0: same names and bytes).
tree_diff() {
	diff -r "$1" "$2" > "$WORK/diff.out" 2>&1
	show "$WORK/diff.out" 5 >&2
	wc -l < "$WORK/diff.out"
}

for MODE in sync async; do
	echo "# ---- upload = $MODE"
	BUCKET=s3csfs-tools-$MODE-$$
	new_bucket "$BUCKET"
	M=$WORK/mnt-$MODE
	write_conf "$WORK/$MODE.1.conf" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache-$MODE-1" "upload = $MODE"
	if ! mount_fs "$WORK/$MODE.1.conf" "$M"; then
		not_ok "$MODE: mount"
		drop_bucket "$BUCKET"
		continue
	fi

	run "rsync -a" rsync -a "$SRC/tree" "$M/"
	check_eq "$MODE: rsync -a: files in the mount" "$FILES" "$(find "$M/tree" -type f 2> /dev/null | wc -l)"
	check_eq "$MODE: rsync -a: rsync temporary files (.NAME.XXXXXX) left" 0 \
		"$(find "$M/tree" -name '.*' 2> /dev/null | wc -l)"
	check_eq "$MODE: rsync -a: diff -r with the source (lines)" 0 "$(tree_diff "$SRC/tree" "$M/tree")"
	run "second rsync -a" rsync -a --itemize-changes --stats "$SRC/tree" "$M/"
	check_eq "$MODE: second rsync -a: files transferred" 0 \
		"$(sed -n 's/^Number of regular files transferred: *\([0-9,]*\).*/\1/p' "$RUN_OUT" | tr -d ,)"
	echo "# $MODE: second rsync: $(grep -c '^[<>.ch*][fdL]' "$RUN_OUT") items itemized," \
		"e.g.: $(grep -m3 '^[<>.ch*][fdL]' "$RUN_OUT" | tr '\n' '|')"

	mkdir -p "$M/tx"
	run "tar x (with symbolic links)" tar -C "$M/tx" -xf "$WORK/pkg.tar"
	check_eq "$MODE: tar x: readlink of the file link" libx.so.1.2 "$(readlink "$M/tx/pkg/lib/libx.so.1" 2>&1)"
	check_eq "$MODE: tar x: readlink of the directory link" ../lib "$(readlink "$M/tx/pkg/bin/lib" 2>&1)"
	check "$MODE: tar x: the file reads right through both links" \
		cmp -s "$WORK/tarsrc/pkg/lib/libx.so.1.2" "$M/tx/pkg/bin/lib/libx.so.1"
	check "$MODE: tar x: stat -L of the link is the file" test -f "$M/tx/pkg/lib/libx.so.1" -a -L "$M/tx/pkg/lib/libx.so.1"

	run "cp -a of a directory within the mount" cp -a "$M/tree/d1/s0" "$M/copied"
	check_eq "$MODE: cp -a: diff -r with the source (lines)" 0 "$(tree_diff "$SRC/tree/d1/s0" "$M/copied")"
	mkdir -p "$M/moved"
	run "mv of a directory within the mount" mv "$M/copied" "$M/moved/s0"
	check "$MODE: mv: the source directory is gone" test ! -e "$M/copied"
	check_eq "$MODE: mv: diff -r with the source (lines)" 0 "$(tree_diff "$SRC/tree/d1/s0" "$M/moved/s0")"

	check "$MODE: uploads settled within 180 s" wait_settled "$M" 180
	check "$MODE: unmount" umount_fs "$M"
	write_conf "$WORK/$MODE.2.conf" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache-$MODE-2" "upload = $MODE"
	if ! mount_fs "$WORK/$MODE.2.conf" "$M"; then
		not_ok "$MODE: remount on a new cache_dir"
		drop_bucket "$BUCKET"
		continue
	fi
	t0=$(date +%s)
	check_eq "$MODE: cold: diff -r of the rsync'd tree with the source (lines)" 0 "$(tree_diff "$SRC/tree" "$M/tree")"
	check_eq "$MODE: cold: diff -r of the moved tree with the source (lines)" 0 \
		"$(tree_diff "$SRC/tree/d1/s0" "$M/moved/s0")"
	echo "# $MODE: cold diff -r took $(($(date +%s) - t0)) s"
	check_eq "$MODE: cold: readlink of the file link" libx.so.1.2 "$(readlink "$M/tx/pkg/lib/libx.so.1" 2>&1)"
	check "$MODE: cold: the file reads right through both links" \
		cmp -s "$WORK/tarsrc/pkg/lib/libx.so.1.2" "$M/tx/pkg/bin/lib/libx.so.1"

	run "rm -rf of everything" rm -rf "$M/tree" "$M/tx" "$M/moved"
	check_eq "$MODE: rm -rf: entries left in the mount" "" "$(find "$M" -mindepth 1 -maxdepth 1 ! -name .s3csfs -printf '%f ' 2>&1)"
	check "$MODE: uploads settled within 180 s" wait_settled "$M" 180
	s3 ls "$BUCKET" > "$WORK/$MODE.keys" 2> "$WORK/$MODE.keys.err"
	check_eq "$MODE: s3tool ls of the bucket: exit status" 0 "$?"
	check_eq "$MODE: rm -rf: keys left in the bucket" 0 "$(awk '$1 != "PRE"' "$WORK/$MODE.keys" | wc -l)"
	show "$WORK/$MODE.keys" 5
	check "$MODE: unmount" umount_fs "$M"
	drop_bucket "$BUCKET"
done
finish
