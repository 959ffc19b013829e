#!/bin/bash
# label: hostile
# Attack from another local user of the recovery host: the trust state (highest sequence
# seen, pinned signing key) is what stops a rollback or a key swap, so whoever can write it
# can undo both. Readers refuse (exit 1, with the fix in the message) a state directory or
# file that another user can write or own, a state file that is a symlink, or one that is not
# what embassy wrote — they never fall back to an empty state (which would bring back trust
# on first use). Writes never go through a symlink planted at a predictable temp name.
. "$(dirname "$0")/hostile_lib.bash"

make_store
SID=$(basename "$(ls "$T/state"/[0-9a-f]*.json)" .json)
STATEFILE=$T/state/$SID.json

refused() {
	[ "$RC" -eq 1 ] || { cat "$T/err" >&2; fail "$1: exit $RC, want 1"; }
	assert_grep "$2" "$T/err" "$1: the message says why"
	! grep -q 'register A' "$T/out" || fail "$1: data shown anyway"
}

log "a) the state directory writable by others"
chmod 0777 "$T/state"
run em_read cat "$STORE" latest:docs/a.txt
refused "world-writable state directory" 'not writable by group or others'
chmod 0700 "$T/state"

log "b) the state directory owned by another user"
chown 4321 "$T/state"
run em_read cat "$STORE" latest:docs/a.txt
refused "foreign state directory" 'belongs to uid 4321'
chown 0 "$T/state"

log "c) the state file replaced by a symlink to an empty state"
mv "$STATEFILE" "$T/saved.json"
printf '{"seq":0}\n' >"$T/empty.json"
chmod 600 "$T/empty.json"
ln -s "$T/empty.json" "$STATEFILE"
run em_read cat "$STORE" latest:docs/a.txt
refused "symlinked state file" 'symlink'
rm "$STATEFILE"

log "d) the state file truncated or garbage"
printf '{"seq":' >"$STATEFILE"
chmod 600 "$STATEFILE"
run em_read cat "$STORE" latest:docs/a.txt
refused "garbage state file" 'not what embassy wrote'
mv "$T/saved.json" "$STATEFILE"

log "e) a symlink at the old predictable temp name is never written through"
printf 'precious\n' >"$T/victim"
for pid in $(seq $$ $(($$ + 200))); do ln -sf "$T/victim" "$STATEFILE.tmp.$pid"; done
expect_rc 0 em_seal "$STORE" "$SRC"
expect_rc 0 em_read cat "$STORE" latest:docs/a.txt
[ "$(cat "$T/victim")" = precious ] || fail "the state was written through a planted symlink"
[ ! -L "$STATEFILE" ] && [ "$(stat -c %a "$STATEFILE")" = 600 ] || fail "state file mode/type"
assert_eq 2 "$(json_get "$STATEFILE" 'd["seq"]')" "the new sequence is remembered"
finish
