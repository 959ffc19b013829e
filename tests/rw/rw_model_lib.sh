# rw_model_lib.sh: the model-based random-operation test of the --rw mount (tests/rw/rwfuzz.py),
# shared by rw_model_*.sh, which differ in their seed, base tree and lifecycle rhythm so
# that together they run more than 50,000 operations. Source after lib.sh, mount_lib.sh,
# rw_lib.sh, then call rw_model OPS COMMIT_EVERY REMOUNT_EVERY RO_EVERY BASE.
# BASE: "small" (the fuzzer's names, a few small files) or "chunked" (files of several store
# chunks, so writes land inside base chunks read back from the store).
# A failure prints the seed: RWFUZZ_SEED=N ctest -R <the test> replays it (same base tree,
# same rhythm). RWFUZZ_OPS=N changes the number of operations.
[[ ${BASH_SOURCE[0]} != "$0" ]] || { echo "rw_model_lib.sh: helpers for rw_model_*.sh"; exit 0; }

# rw_model_base DIR KIND: a deterministic base tree (a replay must start from the same one).
rw_model_base() {
	local dir=$1 kind=$2
	mkdir -p "$dir/sub/sub"
	printf 'alpha\n' >"$dir/a"
	printf 'charlie\n' >"$dir/sub/c"
	ln "$dir/a" "$dir/sub/a"
	ln -s a "$dir/c"
	setfattr -n user.a -v base "$dir/sub/c"
	if [ "$kind" = chunked ]; then
		python3 - "$dir" <<'PY'
import random, sys
r = random.Random(10)
for name, size in (("b", 5 << 20), ("f.db", 3 << 20 | 777), ("sub/b", 1 << 20)):
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(r.randbytes(size))
PY
	else
		head -c 300000 /dev/zero | tr '\0' 'b' >"$dir/b"
	fi
}

rw_model() {
	local ops=$1 commit_every=$2 remount_every=$3 ro_every=$4 kind=$5
	STORE=$T/store MNT=$T/mnt JDIR=$T/journal MODEL=$T/m/model RO=$T/ro
	[ "$SANITIZED" = 1 ] && ops=$((ops / 4))
	ops=${RWFUZZ_OPS:-$ops}
	rw_model_base "$T/src" "$kind"
	expect_rc 0 em_init "$STORE"
	expect_rc 0 em_seal "$STORE" "$T/src" -q
	# the daemon's log, shown when the test fails
	on_exit '[ ! -s "$T/mount.log" ] || { echo "--- the --rw daemon log:"; tail -n 30 "$T/mount.log"; } >&2'
	expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR" --log-file "$T/mount.log"
	# the model a level deeper than the mount: a symlink to ../b at the top leaves each tree
	# for a file of its own, not one file both sides write
	mkdir -p "${MODEL%/*}"
	cp -a "$MNT/." "$MODEL"
	MOUNTS+=("$RO")
	mkdir -p "$RO"
	# the lifecycle steps rwfuzz runs (as files: no quoting through python's shell)
	cat >"$T/commit" <<-EOC
		#!/bin/bash
		"$EMBASSY" commit "$MNT" >"$T/commit.out" 2>&1 || { cat "$T/commit.out" >&2; exit 1; }
	EOC
	cat >"$T/remount" <<-EOC
		#!/bin/bash
		fusermount3 -u "$MNT" && "$EMBASSY" mount "$STORE" "$MNT" --rw --sealer-key "$SEALER" \
			--journal-dir "$JDIR" --commit-every 0 --log-file "$T/mount.log"
	EOC
	cat >"$T/ro-mount" <<-EOC
		#!/bin/bash
		rm -rf "$T/ro-cache"
		"$EMBASSY" mount "$STORE" "$RO" --passphrase-file "$PASSFILE" --cache-dir "$T/ro-cache"
	EOC
	cat >"$T/ro-umount" <<-EOC
		#!/bin/bash
		fusermount3 -u "$RO"
	EOC
	chmod +x "$T/commit" "$T/remount" "$T/ro-mount" "$T/ro-umount"
	log "$ops random operations on the mount and a plain directory in lockstep: commit every" \
		"$commit_every, remount every $remount_every, read-only check of the last commit every $ro_every"
	python3 "$RWFUZZ" --mount "$MNT" --model "$MODEL" --ops "$ops" --compare-every 2500 \
		${RWFUZZ_SEED:+--seed "$RWFUZZ_SEED"} \
		--commit "$T/commit" --commit-every "$commit_every" \
		--remount "$T/remount" --remount-every "$remount_every" \
		--ro-mount "$T/ro-mount" --ro-root "$RO/latest" --ro-umount "$T/ro-umount" \
		--ro-every "$ro_every" || fail "the mount and the directory differ"
	log "a last commit; verify --read-data finds the store whole"
	expect_rc 0 "$T/commit"
	expect_rc 0 "$T/ro-mount"
	"$TREECMP" "$MNT" "$RO/latest" || fail "the last commit differs from the mount"
	expect_rc 0 "$T/ro-umount"
	expect_rc 0 em_read verify "$STORE" --read-data
	unmount "$MNT"
}
