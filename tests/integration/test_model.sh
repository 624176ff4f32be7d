#!/usr/bin/env bash
# test_model.sh - seeded random sequences of open/write/pwrite/truncate/
# close/reopen/unlink/rename (tests/tools/fsmodel.py) against a model of
# POSIX semantics, in upload = sync and upload = async (issue 12): every
# call's result as the model says, every file right after every close, and
# every file again after a remount on a new cache_dir. A failing seed is
# printed with its steps and the command that reproduces it. Each seed runs
# twice: as is, and with --names-closed (unlink and rename only of names no
# handle has open), so that the other sequences are checked too where
# unlink/rename of an open file fails.
#
#   MODEL_SEEDS="1 2 3"  the seeds (default 6 fixed ones; the same in CI)
#   MODEL_STEPS=N        steps per seed (default 300)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_clients.sh
. "$(dirname "$0")/lib_clients.sh"

SEEDS=${MODEL_SEEDS:-"1201 1202 1203 1204 1205 1206"}
STEPS=${MODEL_STEPS:-300}
PART=$((5 * 1024 * 1024))
FSMODEL=$TOP/tests/tools/fsmodel.py

for MODE in sync async; do
	echo "# ---- upload = $MODE (part_size = 5M); seeds: $SEEDS; $STEPS steps each"
	BUCKET=s3csfs-model-$MODE-$$
	new_bucket "$BUCKET"
	M=$WORK/mnt-$MODE
	write_conf "$WORK/$MODE.1.conf" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache-$MODE-1" "upload = $MODE" "part_size = 5M"
	if ! mount_fs "$WORK/$MODE.1.conf" "$M"; then
		not_ok "$MODE: mount"
		drop_bucket "$BUCKET"
		continue
	fi
	passed=()
	for s in $SEEDS; do
		for v in "" --names-closed; do
			run=$s${v:+-closed}
			# shellcheck disable=SC2086 # $v: no word or one
			timeout 300 python3 "$FSMODEL" --seed "$s" --mount "$M" --steps "$STEPS" --part-size "$PART" \
				--max-seconds 60 --unnamed-fstat-estale $v --state "$WORK/$MODE.$run.state" > "$WORK/$MODE.$run.out" 2>&1
			rc=$?
			if [ "$rc" = 0 ]; then
				ok "$MODE: seed $s${v:+ $v}: $(sed -n 's/^fsmodel: seed [0-9]*: //p' "$WORK/$MODE.$run.out")"
				passed+=("$run")
			else
				not_ok "$MODE: seed $s${v:+ $v}: $(head -1 "$WORK/$MODE.$run.out") (exit status $rc)"
				show "$WORK/$MODE.$run.out" 60
				echo "#   (mount options: upload = $MODE, part_size = 5M)"
			fi
		done
	done
	check "$MODE: uploads settled within 180 s" wait_settled "$M" 180
	check "$MODE: unmount" umount_fs "$M"
	write_conf "$WORK/$MODE.2.conf" "$BUCKET" "$S3_ENDPOINT" "$WORK/cache-$MODE-2" "upload = $MODE" "part_size = 5M"
	if ! mount_fs "$WORK/$MODE.2.conf" "$M"; then
		not_ok "$MODE: remount on a new cache_dir"
		drop_bucket "$BUCKET"
		continue
	fi
	for s in "${passed[@]}"; do
		if timeout 300 python3 "$FSMODEL" --check "$WORK/$MODE.$s.state" --mount "$M" > "$WORK/$MODE.$s.cold" 2>&1; then
			ok "$MODE: seed ${s/-closed/ --names-closed}: cold after the remount: $(sed -n 's/^fsmodel: seed [0-9]*: //p' "$WORK/$MODE.$s.cold")"
		else
			not_ok "$MODE: seed ${s/-closed/ --names-closed}: cold after the remount"
			show "$WORK/$MODE.$s.cold" 20
		fi
	done
	[ "${#passed[@]}" -gt 0 ] || echo "# $MODE: no seed ran through, so none is checked after the remount"
	check "$MODE: unmount" umount_fs "$M"
	drop_bucket "$BUCKET"
done
finish
