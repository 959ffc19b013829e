#!/bin/bash
# label: hostile
# timeout: 450
# Attack 9: directory records with hostile contents, in snapshots that verify (signed with the
# sealer key: a compromised or buggy sealer, or a tree-key holder with the signing key). Each
# snapshot's root holds good.txt and a directory evil/ with the hostile part:
#   rejected by the decoder (evil/ fails loudly with 7, the rest reads):
#     slash ("sub/../../escape"), dotdot (".."), dot ("."), empty (""), nul ("x\0"), dup (two
#     "same"), unsorted, overlap (chunks overlap), overflow (chunk past 2^63), typeconfuse (a
#     data record named as a subtree), cycle (a subtree ref naming its own record)
#   well-formed but extreme (must work or fail cleanly, bounded in time and memory):
#     hugesize (a 2^62-byte file with one chunk), deep (10,000 nested directories),
#     symlink-parent (symlinks to outside the target and to "..", a hard link across them),
#     hugelink (a hard-link id of 2^26)
# For every kind: no crash, max RSS below 256 MiB, nothing written outside the restore target.
. "$(dirname "$0")/hostile_lib.bash"

RSS_LIMIT_KB=$((256 * 1024))
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time: scripts/deps.sh --test)"
make_store
cp -a "$STORE" "$T/pristine"

# bounded OUT CMD...: run CMD with a time limit, stdout to OUT, RSS measured; sets RC, RSS_KB
bounded() {
	local out=$1 limit
	shift
	limit=$(load_scaled 300)
	set +e
	timeout "$limit" /usr/bin/time -f '%M' -o "$T/rss" "$@" >"$out" 2>"$T/err"
	RC=$?
	set -e
	[ "$RC" -ne 124 ] || fail "$* did not finish in $limit s"
	RSS_KB=$(tail -1 "$T/rss" 2>/dev/null || true)
	[[ "$RSS_KB" =~ ^[0-9]+$ ]] || fail "$*: no max RSS measured (exit $RC; /usr/bin/time: $(cat "$T/rss" 2>/dev/null))"
	no_crash "$1 $2"
	[ "$RSS_KB" -le "$RSS_LIMIT_KB" ] || fail "$*: max RSS $((RSS_KB / 1024)) MiB"
}

plant() {
	rm -rf "$STORE" && cp -a "$T/pristine" "$STORE"
	expect_rc 0 "$HOSTILE" hostile-tree "$STORE" --sealer-key "$SEALER" --kind "$1" \
		--symlink-target "$T/outside"
}

# restore latest and check what a restore must always do
restore_checked() {
	local kind=$1 dir=$T/rst-$1
	mkdir -p "$dir/sentinel"
	printf 'keep\n' >"$dir/sentinel/keep"
	bounded "$T/out" "$EMBASSY" restore --passphrase-file "$PASSFILE" "$STORE" latest "$dir/target"
	[ "$(ls "$dir")" = "sentinel
target" ] || fail "$kind: restore wrote beside its target: $(ls "$dir")"
	[ "$(cat "$dir/sentinel/keep")" = keep ] || fail "$kind: sentinel changed"
	[ ! -e "$T/outside" ] || fail "$kind: restore wrote $T/outside"
	cmp -s "$dir/target/good.txt" <(printf 'good\n') || fail "$kind: good.txt not restored"
	RESTORED=$dir/target
}

for kind in slash dotdot dot empty nul dup unsorted overlap overflow typeconfuse cycle; do
	log "$kind: evil/ is refused, the rest reads"
	plant "$kind"
	bounded "$T/out" "$EMBASSY" ls --passphrase-file "$PASSFILE" "$STORE" latest
	[ "$RC" -eq 0 ] || fail "$kind: ls of the root: exit $RC"
	assert_eq "evil good.txt" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "$kind: root listing"
	# the bad record: evil/ itself, or for a bad subtree ref the directory it names
	case $kind in typeconfuse) bad=evil/notadir ;; cycle) bad=evil/up ;; *) bad=evil ;; esac
	bounded "$T/out" "$EMBASSY" ls --passphrase-file "$PASSFILE" "$STORE" "latest:$bad"
	[ "$RC" -eq 7 ] || fail "$kind: ls $bad: exit $RC, want 7 ($(head -1 "$T/err" | cut -c1-200))"
	bounded "$T/out" "$EMBASSY" cat --passphrase-file "$PASSFILE" "$STORE" latest:good.txt
	[ "$RC" -eq 0 ] || fail "$kind: cat good.txt: exit $RC"
	restore_checked "$kind"
	[ "$RC" -eq 7 ] || fail "$kind: restore: exit $RC, want 7"
	[ -z "$(ls -A "$RESTORED/$bad" 2>/dev/null)" ] || fail "$kind: hostile entries restored: $(ls -A "$RESTORED/$bad")"
	bounded "$T/out" "$EMBASSY" verify --passphrase-file "$PASSFILE" "$STORE"
	[ "$RC" -eq 7 ] || fail "$kind: verify: exit $RC, want 7"
	grep -q "$bad" "$T/out" || fail "$kind: verify does not name $bad: $(cat "$T/out")"
done

log "hugesize: a file claiming 2^62 bytes"
plant hugesize
bounded "$T/out" "$EMBASSY" ls --passphrase-file "$PASSFILE" "$STORE" latest:evil --json
[ "$RC" -eq 0 ] || fail "hugesize: ls: exit $RC"
assert_eq 4611686018427387904 "$(json_get "$T/out" 'd[0]["size"]')" "hugesize: size shown"
bounded "$T/head" bash -c "'$EMBASSY' cat --passphrase-file '$PASSFILE' '$STORE' latest:evil/huge | head -c 16"
cmp -s "$T/head" <(printf 'good\n\0\0\0\0\0\0\0\0\0\0\0') || fail "hugesize: first bytes"
restore_checked hugesize
log "   restore: exit $RC, $((RSS_KB / 1024)) MiB: $(grep -m1 huge "$T/err" || true)"
if [ -e "$RESTORED/evil/huge" ]; then
	[ "$(du -k "$RESTORED/evil/huge" | cut -f1)" -lt 1024 ] || fail "hugesize: restore wrote real blocks"
fi

log "deep: 10,000 nested directories (readers follow at most TREE_MAX_DEPTH = 4096)"
plant deep
short() { sed -E 's#(d/){8,}#d/…/#g' "$1" | cut -c1-200 | head -${2:-1}; }
bounded "$T/deep.ls" "$EMBASSY" ls --passphrase-file "$PASSFILE" "$STORE" latest -R
no_crash "deep: ls -R"
log "   ls -R: exit $RC, $(grep -c '' "$T/deep.ls") lines, $((RSS_KB / 1024)) MiB"
# ls -R followed all 10,000 levels by recursion: fine on an 8 MiB stack, a stack overflow in the
# ASan build; like verify and restore it stops at TREE_MAX_DEPTH and says so
[ "$RC" -eq 7 ] || fail "deep: ls -R: exit $RC, want 7 (nesting past the bound)"
grep -q 'nested deeper than 4096' "$T/err" || fail "deep: ls -R does not say the nesting is too deep"
[ "$(grep -c '' "$T/deep.ls")" -ge 4096 ] || fail "deep: ls -R stopped before the bound"
bounded "$T/out" "$EMBASSY" verify --passphrase-file "$PASSFILE" "$STORE" --read-data
log "   verify: exit $RC: $(short "$T/out")"
[ "$RC" -eq 7 ] || fail "deep: verify: exit $RC, want 7 (nesting past the bound)"
grep -q 'nested' "$T/out" || fail "deep: verify does not say the nesting is too deep"
restore_checked deep
log "   restore: exit $RC, $((RSS_KB / 1024)) MiB, $(grep -c '^embassy: error: ' "$T/err") error lines"
[ "$RC" -eq 7 ] || fail "deep: restore: exit $RC, want 7"
rm -rf "$T/rst-deep"

log "symlink-parent: symlinks out of the target and to '..', a hard link beside them"
plant symlink-parent
restore_checked symlink-parent
[ "$RC" -eq 0 ] || fail "symlink-parent: restore: exit $RC ($(head -1 "$T/err"))"
[ -L "$RESTORED/evil/a-dir/a" ] || fail "symlink-parent: a is not a symlink"
assert_eq "$T/outside" "$(readlink "$RESTORED/evil/a-dir/a")" "target kept verbatim"
[ -L "$RESTORED/evil/a-dir/b/evil" ] || fail "symlink-parent: b/evil is not a symlink"
[ "$(stat -c %i "$RESTORED/evil/first")" = "$(stat -c %i "$RESTORED/evil/a-dir/b/z-linked")" ] ||
	fail "symlink-parent: the hard link pair is not one inode"

log "hugelink: a hard-link id of 2^26"
plant hugelink
restore_checked hugelink
log "   restore: exit $RC, $((RSS_KB / 1024)) MiB"

if have_mount; then
	log "mount: evil/ of a rejected kind is EIO, deep nesting walks"
	plant dup
	if mount_store "$T/mnt"; then
		run ls "$T/mnt/latest/evil"
		[ "$RC" -ne 0 ] && grep -q 'Input/output error' "$T/err" || fail "mount: ls evil of dup: $(cat "$T/err")"
		cmp -s "$T/mnt/latest/good.txt" <(printf 'good\n') || fail "mount: good.txt"
		umount_store "$T/mnt"
	else
		fail "mount refused: $(cat "$T/mount.err")"
	fi
fi
finish
