#!/bin/bash
# label: rw
# timeout: 400
# Crashes of a --rw mount lose nothing that was fsync'd, and a crashed commit never leaves the
# store half-published:
# 1. kill -9 of the daemon at 20 random points of a write workload that logs each file after
#    its fsync (a commit every 5th round): after the next --rw mount every logged file is
#    there, byte for byte;
# 2. the daemon killed (SIGKILL, EMBASSY_COMMIT_CRASH) at each stage of a commit: the store
#    verifies clean, its head is the old snapshot or the new one, the next mount still has the
#    change and the next commit seals it (checked through a read-only mount, empty cache).
# CRASH_SEED replays a run.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
LOGF=$T/written.log
SEED=${CRASH_SEED:-$RANDOM}
CYCLES=20
export EMBASSY_RUNTIME_DIR=$T/run
log "seed $SEED (CRASH_SEED=$SEED replays it)"

mkdir -p "$T/src/w"
printf 'base\n' >"$T/src/base.txt"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
: >"$LOGF"

# The writer: new files of odd sizes in a few directories, each fsync'd, then logged (name,
# size) outside the mount. Content is a function of the name. It stops at the first error
# (the daemon is gone: ENOTCONN).
cat >"$T/writer.py" <<'PY'
import os, random, sys
mnt, logp, seed, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed * 1000003 + start)
with open(logp, "a") as log:
    for i in range(start, start + 100000):
        name = f"w/d{i % 5}/f{i}"
        size = r.choice([0, 1, 4095, 65537, 300001, r.randrange(1, 400000)])
        data = random.Random(name).randbytes(size)
        try:
            os.makedirs(f"{mnt}/w/d{i % 5}", exist_ok=True)
            fd = os.open(f"{mnt}/{name}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            off = 0
            while off < size:
                off += os.write(fd, data[off:off + r.choice([4096, 65536, 131072])])
            os.fsync(fd)
            os.close(fd)
        except OSError:
            sys.exit(0)
        log.write(f"{name} {size}\n")
        log.flush()
PY
cat >"$T/check.py" <<'PY'
import random, sys
mnt, logp = sys.argv[1], sys.argv[2]
first = int(sys.argv[3]) if len(sys.argv) > 3 else 0  # lines before it were checked already
bad = 0
names = [l.split() for l in open(logp) if l.strip()][first:]
for name, size in names:
    want = random.Random(name).randbytes(int(size))
    try:
        got = open(f"{mnt}/{name}", "rb").read()
    except OSError as e:
        print(f"{name}: {e}", file=sys.stderr); bad += 1; continue
    if got != want:
        print(f"{name}: {len(got)} bytes, expected {len(want)} (content differs)", file=sys.stderr)
        bad += 1
print(f"{len(names)} logged files checked")
sys.exit(1 if bad else 0)
PY

crash_unmount() { # the daemon is dead: clear its mount
	wait "$MOUNT_PID" 2>/dev/null || true
	fusermount3 -u -z "$MNT" 2>/dev/null || true
	! mountpoint -q "$MNT" || fail "$MNT still mounted after the crash"
}

log "$CYCLES kill -9 of the daemon during fsync'd writes"
RANDOM=$SEED
for ((c = 1; c <= CYCLES; c++)); do
	em_mount_rw_fg "$STORE" "$MNT" "$JDIR" "$T/mount-$c.log"
	# what the last cycle wrote (all of it again at the end)
	python3 "$T/check.py" "$MNT" "$LOGF" "${have:-0}" >/dev/null ||
		fail "cycle $c: an fsync'd file is missing or differs after the crash"
	have=$(wc -l <"$LOGF")
	# now and then a commit between crashes: the journal starts over from the new base
	[ $((c % 5)) != 0 ] || expect_rc 0 em commit "$MNT"
	target=$((have + 1 + RANDOM % 4))
	start_bg python3 "$T/writer.py" "$MNT" "$LOGF" "$SEED" "$((c * 10000))"
	WPID=$BG_PID
	wait_until 60 eval '[ "$(wc -l <"$LOGF")" -ge '"$target"' ] || ! kill -0 '"$WPID"' 2>/dev/null'
	kill -0 "$WPID" 2>/dev/null || fail "cycle $c: the writer stopped before the crash"
	kill -9 "$MOUNT_PID"
	wait "$WPID" || fail "cycle $c: the writer failed"
	crash_unmount
done
em_mount_rw_fg "$STORE" "$MNT" "$JDIR" "$T/mount-final.log"
python3 "$T/check.py" "$MNT" "$LOGF" || fail "an fsync'd file is missing or differs"

log "commit, then a read-only mount with an empty cache holds every logged file"
expect_rc 0 em commit "$MNT"
HEAD=$(em_read snapshots "$STORE" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]')
em_mount "$STORE" "$T/ro" --cache-dir "$T/cache-ro"
python3 "$T/check.py" "$T/ro/latest" "$LOGF" || fail "the commit lost an fsync'd file"
unmount "$T/ro"
unmount "$MNT" "$MOUNT_PID"

log "the daemon killed at each stage of a commit"
for stage in frozen built manifest intent published rebased; do
	EMBASSY_COMMIT_CRASH=$stage em_mount_rw_fg "$STORE" "$MNT" "$JDIR" "$T/mount-$stage.log"
	printf 'stage %s\n' "$stage" >"$MNT/stage-$stage.txt"
	run em commit "$MNT"
	[ "$RC" -ne 0 ] || fail "$stage: the commit succeeded although its daemon was killed"
	crash_unmount
	assert_grep "EMBASSY_COMMIT_CRASH=$stage: killing myself" "$T/mount-$stage.log"
	em_read snapshots "$STORE" --json >"$T/snaps.json"
	NOW=$(json_get "$T/snaps.json" '[s["id"] for s in d if s["latest"]][0]')
	[ "$NOW" = "$HEAD" ] ||
		[ "$(json_get "$T/snaps.json" "[s['parent'] for s in d if s['id'] == '$NOW'][0]")" = "$HEAD" ] ||
		fail "$stage: the head is neither the old snapshot nor a commit on it"
	expect_rc 0 em_read verify "$STORE" # every record a snapshot names is there (data: below)
	em_mount_rw_fg "$STORE" "$MNT" "$JDIR" "$T/mount-$stage-2.log"
	[ "$(cat "$MNT/stage-$stage.txt")" = "stage $stage" ] || fail "$stage: the change is lost"
	expect_rc 0 em commit "$MNT"
	HEAD=$(em_read snapshots "$STORE" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]')
	unmount "$MNT" "$MOUNT_PID"
done
em_mount "$STORE" "$T/ro2" --cache-dir "$T/cache-ro2"
for stage in frozen built manifest intent published rebased; do
	[ "$(cat "$T/ro2/latest/stage-$stage.txt")" = "stage $stage" ] ||
		fail "$stage: the committed snapshot lacks the change"
done
python3 "$T/check.py" "$T/ro2/latest" "$LOGF" >/dev/null || fail "a logged file changed"
unmount "$T/ro2"
expect_rc 0 em_read verify "$STORE" --read-data
log "ok"
