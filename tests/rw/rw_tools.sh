#!/bin/bash
# label: rw
# timeout: 300
# Real tools on a --rw mount, not only our own tests: git (init, add, commits, gc, fsck --full,
# a clone back out), sqlite3 in WAL mode (transactions, updates, deletes, a checkpoint,
# integrity_check, the same answers as on local disk), rsync -a of a tree, tar extract, fio
# with --verify=crc32c; then `embassy commit`, and the committed snapshot, mounted read-only
# with an empty cache, equals the --rw mount byte for byte (and git and sqlite3 check it again).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

for c in git sqlite3 rsync tar diff; do
	command -v "$c" >/dev/null || skip "$c is not installed (scripts/deps.sh --test)"
done
STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
LOCAL=$T/local # the same work on local disk, where answers are compared
mkdir -p "$T/src" "$LOCAL"
"$MKTREE" "$T/src/base" --seed 11 --small --big-dir 200 --no-socket
expect_rc 0 em_init "$STORE"
run em_seal "$STORE" "$T/src"
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || { cat "$T/err" >&2; fail "seal exited $RC"; }
expect_rc 0 em_mount_rw "$STORE" "$MNT" "$JDIR"

# ---- git ----
log "git: init, add, three commits, gc, fsck --full, a clone back out"
export GIT_CONFIG_GLOBAL=$T/gitconfig GIT_CONFIG_NOSYSTEM=1 \
	GIT_AUTHOR_DATE='2026-11-30T12:00:00Z' GIT_COMMITTER_DATE='2026-11-30T12:00:00Z'
git config --global user.name 'Recovery Officer'
git config --global user.email 'officer@embassy.invalid'
git config --global init.defaultBranch main
G=$MNT/repo
git init -q "$G"
cp -a "$SRC_DIR/journal" "$SRC_DIR/docs" "$G/"
git -C "$G" add -A
git -C "$G" commit -qm 'the journal and the docs'
for i in 1 2; do
	sed -i "1s/^/\/* revision $i *\/\n/" "$G/journal/jlog.c"
	git -C "$G" mv "docs/FORMAT.md" "docs/FORMAT-$i.md" 2>/dev/null ||
		git -C "$G" mv "docs/FORMAT-$((i - 1)).md" "docs/FORMAT-$i.md"
	git -C "$G" commit -qam "revision $i"
done
git -C "$G" gc -q --prune=now || fail "git gc on the mount failed"
git -C "$G" fsck --full --strict || fail "git fsck --full on the mount found damage"
[ "$(git -C "$G" rev-list --count HEAD)" = 3 ] || fail "the repository does not hold 3 commits"
[ -z "$(git -C "$G" status --porcelain)" ] || fail "the work tree differs from HEAD after gc"
git clone -q "$G" "$T/clone" || fail "git clone from the mount failed"
diff -r -x .git "$G" "$T/clone" || fail "a clone out of the mount differs from its work tree"

# ---- sqlite3, WAL ----
log "sqlite3 in WAL mode: 100 transactions, updates, deletes, a checkpoint, integrity_check"
cat >"$T/sql" <<'SQL'
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE reg (id INTEGER PRIMARY KEY, code TEXT UNIQUE, name TEXT, doc BLOB);
CREATE INDEX reg_name ON reg(name);
SQL
for i in $(seq 1 100); do
	echo "BEGIN; INSERT INTO reg (code, name, doc) SELECT 'C$i-' || value, 'company ' || ($i * value % 97), randomblob(200 + value * 37 % 3000) FROM generate_series(1, 20); UPDATE reg SET name = name || '+' WHERE id % 7 = $i % 7; COMMIT;"
	[ $((i % 25)) -ne 0 ] || echo "DELETE FROM reg WHERE id % 11 = 0; PRAGMA wal_checkpoint(PASSIVE);"
done >>"$T/sql"
# the answers: independent of randomblob's bytes
Q="SELECT count(*), sum(length(doc)), sum(length(name)), max(id) FROM reg;"
mkdir -p "$MNT/db" "$LOCAL/db"
for d in "$MNT/db" "$LOCAL/db"; do
	sqlite3 "$d/reg.db" <"$T/sql" >/dev/null || fail "sqlite3 workload failed in $d"
done
[ "$(sqlite3 "$MNT/db/reg.db" 'PRAGMA journal_mode;')" = wal ] || fail "the db is not in WAL mode"
[ "$(sqlite3 "$MNT/db/reg.db" 'PRAGMA integrity_check;')" = ok ] ||
	fail "sqlite3 integrity_check on the mount failed"
assert_eq "$(sqlite3 "$LOCAL/db/reg.db" "$Q")" "$(sqlite3 "$MNT/db/reg.db" "$Q")" \
	"sqlite3's answers on the mount and on local disk"
# a reader while a writer holds the WAL open (the -shm is shared through mmap)
sqlite3 "$MNT/db/reg.db" "BEGIN; INSERT INTO reg (code, name) VALUES ('open', 'x');" \
	"SELECT count(*) FROM reg;" >/dev/null || fail "sqlite3 with an open transaction failed"
sqlite3 "$MNT/db/reg.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null

# ---- rsync, tar ----
log "rsync -aHX (hard links, xattrs) of a tree into the mount; tar extract; both compared"
"$MKTREE" "$T/src/rs" --seed 12 --small --big-dir 300 --no-socket
rsync -aHX "$T/src/rs/" "$MNT/rs/" || fail "rsync -a into the mount failed"
"$TREECMP" "$T/src/rs" "$MNT/rs" || fail "rsync: the mount differs from the source"
rsync -aHX --delete "$T/src/base/" "$MNT/rs/" || fail "rsync -aHX --delete over the tree failed"
"$TREECMP" "$T/src/base" "$MNT/rs" || fail "rsync --delete: the mount differs from the source"
"$MKTREE" "$T/src/tar" --seed 13 --small --big-dir 300 --no-socket
# pax: nanosecond times and user xattrs (GNU tar's default format keeps whole seconds only)
TX=(--format=posix --xattrs --xattrs-include='user.*')
tar -C "$T/src" "${TX[@]}" -cf "$T/t.tar" tar
mkdir "$MNT/untar"
tar -C "$MNT/untar" "${TX[@]}" -xpf "$T/t.tar" || fail "tar extract into the mount failed"
"$TREECMP" "$T/src/tar" "$MNT/untar/tar" || fail "tar: the mount differs from the source"
tar -C "$MNT/untar" "${TX[@]}" -df "$T/t.tar" || fail "tar --diff finds differences"

# ---- fio ----
if command -v fio >/dev/null; then
	log "fio: random and sequential writes with crc32c verification"
	mkdir "$MNT/fio"
	fio --output="$T/fio.out" --directory="$MNT/fio" --ioengine=psync --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --randrepeat=0 \
		--name=rand --rw=randwrite --bs=4k --size=8m --fsync=64 \
		--name=seq --rw=write --bs=256k --size=24m --end_fsync=1 \
		--name=mixed --rw=randrw --bsrange=512-64k --size=8m ||
		{ cat "$T/fio.out" >&2; fail "fio found bad data or failed on the mount"; }
	grep -q 'err= 0' "$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio reported errors"; }
else
	skip_part "fio is not installed (scripts/deps.sh --test)"
fi

# ---- commit, and the snapshot read back ----
log "embassy commit; a read-only mount with an empty cache equals the --rw mount"
run em commit "$MNT" --json
[ "$RC" -eq 0 ] || { cat "$T/err" >&2; fail "embassy commit exited $RC"; }
RO=$T/ro
em_mount "$STORE" "$RO" --cache-dir "$T/cache-ro"
"$TREECMP" "$MNT" "$RO/latest" || fail "the committed snapshot differs from the --rw mount"
git -C "$RO/latest/repo" fsck --full --strict --no-dangling ||
	fail "git fsck --full of the committed repository failed"
[ "$(sqlite3 "file:$RO/latest/db/reg.db?immutable=1" 'PRAGMA integrity_check;')" = ok ] ||
	fail "sqlite3 integrity_check of the committed db failed"
assert_eq "$(sqlite3 "$LOCAL/db/reg.db" "$Q")" \
	"$(sqlite3 "file:$RO/latest/db/reg.db?immutable=1" "$Q")" "the committed db's answers"
unmount "$RO"
unmount "$MNT"
log "ok"
