#!/usr/bin/env bash
# label: local
# seal_source.sh — a seal skips reading a file only when it is really the parent's file:
# 1. three directories, each with a file of the same name, size and mtime but other bytes,
#    sealed one after the other into one store: every snapshot restores its own bytes (the
#    parent, another directory's snapshot, is not taken for this one's: before, the 2nd and
#    3rd snapshots held the 1st one's bytes);
# 2. a file's bytes replaced with its size and mtime kept (touch -d): the re-seal stores the
#    new bytes (its ctime moved after the parent seal began);
# 3. an untouched file whose status is older than the parent seal is still not read again
#    (the seal process's rchar from /proc, taken before it is reaped).
. "$(dirname "$0")/lib.sh"

STORE=$T/store
expect_rc 0 em_init "$STORE"

log "1. three directories, same name, size and mtime, other bytes"
for i in 1 2 3; do
	mkdir -p "$T/h$i/reg"
	printf 'register %s\n' "$i" >"$T/h$i/reg/list.txt"
	touch -d '2024-01-02 03:04:05' "$T/h$i/reg/list.txt"
done
for i in 1 2 3; do
	expect_rc 0 em_seal "$STORE" "$T/h$i" --json
	json_get "$T/out" 'd["snapshot"]' >"$T/snap$i"
done
for i in 1 2 3; do
	expect_rc 0 em_read restore "$STORE" "$(cat "$T/snap$i")" "$T/got$i"
	diff -r "$T/h$i" "$T/got$i" || fail "snapshot $i holds other bytes than directory h$i"
done

log "2. bytes replaced, size and mtime kept"
SRC=$T/h3
printf 'register X\n' >"$SRC/reg/list.txt"
touch -d '2024-01-02 03:04:05' "$SRC/reg/list.txt"
expect_rc 0 em_seal "$STORE" "$SRC" --json
expect_rc 0 em_read restore "$STORE" latest "$T/got4"
diff -r "$SRC" "$T/got4" || fail "the re-seal kept the old bytes of a file rewritten in place"

log "3. an untouched file is not read again"
head -c 30000000 /dev/urandom >"$SRC/big.bin"
# the file's status must be older than the next seal's start by the 1 s margin seal keeps
# for the kernel's coarse file clock: wait for the clock, not for a fixed time
wait_until 10 python3 -c 'import os,sys,time; sys.exit(time.time() < os.stat(sys.argv[1]).st_ctime + 1.1)' "$SRC/big.bin"
expect_rc 0 em_seal "$STORE" "$SRC" # reads big.bin: new
rchar() { # CMD...: run it, print its rchar (bytes it read through read(2) and the like)
	python3 - "$@" <<'PY'
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
io = dict(l.split(": ") for l in open("/proc/%d/io" % p.pid).read().splitlines())
sys.exit(print(io["rchar"]) or p.wait())
PY
}
n=$(rchar "$EMBASSY" seal "$STORE" "$SRC" --sealer-key "$SEALER") || fail "re-seal failed"
log "re-seal of the untouched tree read $n bytes"
[ "$n" -lt 10000000 ] || fail "the re-seal read $n bytes: the untouched 30 MB file was read again"
expect_rc 0 em_read restore "$STORE" latest "$T/got5"
diff -r "$SRC" "$T/got5" || fail "the last snapshot differs from the source"
log "ok - a seal reuses only the parent's own unchanged files"
