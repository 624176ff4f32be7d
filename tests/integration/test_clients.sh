#!/usr/bin/env bash
# test_clients.sh - the application's own write pattern (issue 12): Alfresco's
# FileContentStore, in Java (tests/tools/FileContentStoreTest.java, compiled
# here with the JDK's javac), in upload = sync and upload = async, through the
# counting proxy:
#   - ITEMS items (default 200) of 10 KiB - 20 MiB (part_size = 5M, so some
#     are multipart): mkdirs, createNewFile, FileOutputStream/FileChannel
#     write, close; each read back at once (ranged, then whole);
#   - all of them again on the same mount once the uploads are settled;
#   - cold, after a remount on a new cache_dir (ranged reads first), and
#     by sha256sum against the expected digests;
#   - requests per item from the proxy's log: a file of at most one part
#     costs exactly one PutObject (no empty object first), a larger one no
#     PutObject and one CompleteMultipartUpload;
#   - the cleaner: copy to contentstore.deleted/<same path> (same costs),
#     delete, empty parents removed: nothing left under 2026/, in the
#     mount or in the bucket.
#
#   ITEMS=N SEED=N  override the item count and the content seed.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_clients.sh
. "$(dirname "$0")/lib_clients.sh"

ITEMS=${ITEMS:-200}
SEED=${SEED:-12}
PART=$((5 * 1024 * 1024))

if ! command -v javac > /dev/null || ! command -v java > /dev/null; then
	not_ok "javac and java are installed (openjdk-17-jdk-headless)"
	finish
fi
mkdir -p "$WORK/classes"
if javac -Xlint:all -Werror -d "$WORK/classes" "$TOP/tests/tools/FileContentStoreTest.java" 2> "$WORK/javac.err"; then
	ok "javac FileContentStoreTest.java"
else
	not_ok "javac FileContentStoreTest.java"
	show "$WORK/javac.err" 20
	finish
fi
# jstore CMD ROOT: runs the Java client; output in $WORK/CMD.out
jstore() {
	timeout 600 java -Xmx256m -cp "$WORK/classes" FileContentStoreTest "$1" "$2" "$ITEMS" "$SEED" "$PART"
}
jstore list "$WORK" > "$WORK/expected"
check_eq "the item list has $ITEMS items" "$ITEMS" "$(grep -c '^item ' "$WORK/expected")"
echo "# $ITEMS items, $(awk -v p="$PART" '$1 == "item" && $4 <= p {n++} END {print n+0}' "$WORK/expected") of at most one part," \
	"$(awk '$1 == "item" {s += $4} END {printf "%.1f", s / 1048576}' "$WORK/expected") MiB in all"

# jcheck WHAT OUTFILE RC: exit status 0, ITEMS item lines, no bad line.
jcheck() {
	local what=$1 out=$2 rc=$3 nbad
	nbad=$(awk '$1 == "bad" {print $2}' "$out" | sort -u | wc -l)
	check_eq "$what: exit status" 0 "$rc"
	check_eq "$what: items read back right" "$ITEMS" "$(grep -c '^item ' "$out")"
	check_eq "$what: items with a wrong byte, size or error" 0 "$nbad"
	[ "$nbad" -gt 0 ] && grep '^bad ' "$out" | show /dev/stdin 10
	grep -q '^summary ' "$out" || { echo "#   no summary line; last lines:"; tail -5 "$out" | show /dev/stdin; }
	return 0
}

# sums_match ROOT: sha256sum of every expected file under ROOT; prints the
# number that differ or are missing, names the first 5 on stderr.
sums_match() {
	local root=$1 bad=0 tag i p size want got
	while read -r tag i p size want; do
		[ "$tag" = item ] || continue
		got=$(sha256sum < "$root/$p" 2> /dev/null | cut -d' ' -f1)
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			[ "$bad" -le 5 ] && echo "#   item $i $p ($size bytes): sha256 ${got:-unreadable}, expected $want" >&2
		fi
	done < "$WORK/expected"
	echo "$bad"
}

# costs WHAT MARK PREFIX: requests per item since MARK in the proxy log.
costs() {
	local what=$1 small puts badsmall big badbig
	ops_per_key "$WORK/proxy.log" "$2" "$BUCKET" > "$WORK/ops"
	read -r small puts badsmall big badbig < <(put_report "$WORK/expected" "$WORK/ops" "$PART" "$3" 2> "$WORK/ops.bad")
	echo "# $what: $puts PutObject for $small items of at most one part" \
		"($(awk -v p="$puts" -v n="$small" 'BEGIN {printf "%.2f", n ? p / n : 0}') per item)"
	check_eq "$what: items of at most one part costing other than one PutObject (of $small)" 0 "$badsmall"
	check_eq "$what: multipart items with no PutObject and one CompleteMultipartUpload (of $big)" "$big" \
		"$((big - badbig))"
	cat "$WORK/ops.bad"
}

start_proxy
for MODE in sync async; do
	echo "# ---- upload = $MODE"
	BUCKET=s3csfs-clients-$MODE-$$
	new_bucket "$BUCKET"
	M=$WORK/mnt-$MODE
	write_conf "$WORK/$MODE.1.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-$MODE-1" "upload = $MODE" "part_size = 5M"
	if ! mount_fs "$WORK/$MODE.1.conf" "$M"; then
		not_ok "$MODE: mount"
		drop_bucket "$BUCKET"
		continue
	fi

	mark=$(log_lines "$WORK/proxy.log")
	jstore write "$M" > "$WORK/$MODE.write.out" 2> "$WORK/$MODE.write.err"
	jcheck "$MODE: write (mkdirs, createNewFile, FileChannel write, close), read back at once" \
		"$WORK/$MODE.write.out" $?
	check "$MODE: write: nothing on stderr" test ! -s "$WORK/$MODE.write.err"
	show "$WORK/$MODE.write.err" 5
	check "$MODE: uploads settled within 180 s" wait_settled "$M" 180
	check_eq "$MODE: no upload failed" 0 "$(dstat "$M" uploads_failed)"
	costs "$MODE: write" "$mark" ""

	jstore verify "$M" > "$WORK/$MODE.verify.out" 2>&1
	jcheck "$MODE: same mount, after the uploads" "$WORK/$MODE.verify.out" $?

	check "$MODE: unmount" umount_fs "$M"
	write_conf "$WORK/$MODE.2.conf" "$BUCKET" "$PROXY_URL" "$WORK/cache-$MODE-2" "upload = $MODE" "part_size = 5M"
	if ! mount_fs "$WORK/$MODE.2.conf" "$M"; then
		not_ok "$MODE: remount on a new cache_dir"
		drop_bucket "$BUCKET"
		continue
	fi
	jstore verify "$M" > "$WORK/$MODE.cold.out" 2>&1
	jcheck "$MODE: cold after a remount (ranged reads, then whole)" "$WORK/$MODE.cold.out" $?
	check_eq "$MODE: cold: sha256sum of every item as expected (items differing)" 0 "$(sums_match "$M")"

	mark=$(log_lines "$WORK/proxy.log")
	jstore delete "$M" > "$WORK/$MODE.delete.out" 2> "$WORK/$MODE.delete.err"
	jcheck "$MODE: cleaner (copy to contentstore.deleted, delete, empty parents removed)" \
		"$WORK/$MODE.delete.out" $?
	check "$MODE: cleaner: nothing on stderr" test ! -s "$WORK/$MODE.delete.err"
	show "$WORK/$MODE.delete.err" 5
	check "$MODE: cleaner: the date tree is gone from the mount" test ! -e "$M/2026"
	check "$MODE: uploads of the copies settled within 180 s" wait_settled "$M" 180
	costs "$MODE: copy to contentstore.deleted" "$mark" "contentstore.deleted/"
	s3 ls "$BUCKET" > "$WORK/$MODE.keys" 2> "$WORK/$MODE.keys.err"
	check_eq "$MODE: s3tool ls of the bucket: exit status" 0 "$?"
	check_eq "$MODE: cleaner: keys left outside contentstore.deleted/ in the bucket" 0 \
		"$(awk '$1 != "PRE" && $1 !~ /^contentstore\.deleted\//' "$WORK/$MODE.keys" | wc -l)"
	check_eq "$MODE: cleaner: copies in contentstore.deleted/ in the bucket" "$ITEMS" \
		"$(grep -c '^contentstore\.deleted/2026/' "$WORK/$MODE.keys")"
	jstore verify "$M/contentstore.deleted" > "$WORK/$MODE.deleted.out" 2>&1
	jcheck "$MODE: the copies in contentstore.deleted, same mount" "$WORK/$MODE.deleted.out" $?

	check "$MODE: unmount" umount_fs "$M"
	drop_bucket "$BUCKET"
done
finish
