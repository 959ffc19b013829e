#!/bin/bash
# label: rw
# timeout: 240
# Hard links made on both sides of a merge stay apart (FORMAT.md 18.4). The base holds one
# link group. A --rw mount A makes a new pair a1/a2; meanwhile a seal from home adds its own
# pair b1/b2 (numbering its groups from 1) and lands first; A's commit merges. Then a second
# --rw mount C, still on the old base, makes c1/c2 and merges onto that. Each commit numbers
# its new groups from the base's highest id + 1, so without renumbering the ids collide and a
# restore links a1 with b1 (showing b1's bytes). Checked by inode numbers (stat -c %i) and link
# counts in a restore of the merged snapshot and in a read-only mount, contents byte for byte,
# and verify --read-data.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

STORE=$T/store
MA=$T/mnt-a
MC=$T/mnt-c
export EMBASSY_RUNTIME_DIR=$T/run

mkdir -p "$T/src/reg/sub" "$T/ref"
printf 'base\n' >"$T/src/reg/base.txt"
head -c 200000 /dev/urandom >"$T/src/reg/linked.bin"
ln "$T/src/reg/linked.bin" "$T/src/reg/sub/linked-too.bin"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"

# pair NAME1 NAME2 DIR: a new file of its own random bytes (kept in $T/ref) and its second name.
pair() {
	head -c 70000 /dev/urandom >"$T/ref/$1"
	cp "$T/ref/$1" "$3/$1"
	ln "$3/$1" "$3/$2"
}

log "A and C: --rw mounts of the base; A makes a1/a2, C makes c1/c2"
expect_rc 0 em_mount_rw "$STORE" "$MA" "$T/journal-a"
expect_rc 0 em_mount_rw "$STORE" "$MC" "$T/journal-c"
pair a1 a2 "$MA/reg"
pair c1 c2 "$MC/reg/sub"

log "a seal from home with a new pair b1/b2 lands first"
cp -a "$T/src" "$T/home"
pair b1 b2 "$T/home/reg"
expect_rc 0 em_seal "$STORE" "$T/home"
HOME_SNAP=$(latest_id "$STORE")

log "A commits: the head moved, a merge"
expect_rc 0 em commit "$MA" --json
[ "$(json_get "$T/out" 'd["merged"]')" = True ] || fail "A did not merge: $(cat "$T/out")"
[ "$(latest_id "$STORE")" = "$(json_get "$T/out" 'd["snapshot"]')" ] || fail "the head is not A's merge"
[ "$(latest_id "$STORE")" != "$HOME_SNAP" ] || fail "the head did not move"

log "C commits: merges onto A's merge"
expect_rc 0 em commit "$MC" --json
[ "$(json_get "$T/out" 'd["merged"]')" = True ] || fail "C did not merge: $(cat "$T/out")"
MERGED=$(json_get "$T/out" 'd["snapshot"]')
[ "$(latest_id "$STORE")" = "$MERGED" ] || fail "the head is not C's merge"
unmount "$MA"
unmount "$MC"

# check_links ROOT WHAT: the pairs are linked within, never across; contents as written.
check_links() {
	local r=$1 what=$2 i1 i2 p q
	local -A seen=()
	for p in "reg/a1 reg/a2" "reg/b1 reg/b2" "reg/sub/c1 reg/sub/c2" \
		"reg/linked.bin reg/sub/linked-too.bin"; do
		set -- $p
		i1=$(stat -c %i "$r/$1") && i2=$(stat -c %i "$r/$2") || fail "$what: $1 or $2 missing"
		[ "$i1" = "$i2" ] || fail "$what: $1 and $2 are not one file (inodes $i1, $i2)"
		[ "$(stat -c %h "$r/$1")" = 2 ] || fail "$what: $1 has $(stat -c %h "$r/$1") links"
		[ -z "${seen[$i1]:-}" ] || fail "$what: $1 is linked to ${seen[$i1]} (inode $i1)"
		seen[$i1]=$1
	done
	for q in a1 a2 b1 b2; do
		cmp "$T/ref/${q:0:1}1" "$r/reg/$q" || fail "$what: reg/$q differs from what was written"
	done
	for q in c1 c2; do
		cmp "$T/ref/c1" "$r/reg/sub/$q" || fail "$what: reg/sub/$q differs"
	done
	cmp "$T/src/reg/linked.bin" "$r/reg/sub/linked-too.bin" || fail "$what: the base's group"
	cmp "$T/src/reg/base.txt" "$r/reg/base.txt" || fail "$what: base.txt"
}

log "restore of the merged snapshot: each pair one file, no two pairs linked"
expect_rc 0 em_read restore "$STORE" "$MERGED" "$T/restored"
check_links "$T/restored" restore

log "the read-only mount (empty cache) shows the same"
em_mount "$STORE" "$T/ro" --cache-dir "$T/cache" --snapshot "$MERGED"
check_links "$T/ro" "read-only mount"
unmount "$T/ro"

expect_rc 0 em_read verify "$STORE" --read-data
log "ok"
