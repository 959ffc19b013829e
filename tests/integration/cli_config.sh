#!/usr/bin/env bash
# label: local
# cli_config.sh — configure once, and quiet: a profile-driven ls and seal, precedence flag >
# environment > profile (for a setting and for credentials), profiles refused when others
# may write them or when they hold a passphrase or an unknown key, EMBASSY_STORE,
# --passphrase-command (works, failures are exit 4, the child never sees
# EMBASSY_PASSPHRASE), -q silent on success and one line on failure, durations and sizes.
. "$(dirname "$0")/lib.sh"

export EMBASSY_STATE_DIR=$T/state
unset EMBASSY_PASSPHRASE EMBASSY_STORE EMBASSY_PROFILE XDG_CONFIG_HOME
SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/sub" "$T/home/.config/embassy"
echo "population register" >"$SRC/pop.csv"
echo "cadastre" >"$SRC/sub/parcels.txt"
printf 'wrong passphrase\n' >"$T/wrongpass"
chmod 600 "$T/wrongpass"
export HOME=$T/home

log "init and seal, quietly: nothing on stdout or stderr"
expect_rc 0 em -q init "$STORE" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "init -q printed: $(cat "$T/out" "$T/err")"
expect_rc 0 em_seal "$STORE" "$SRC" -q
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "seal -q printed: $(cat "$T/out" "$T/err")"
expect_rc 0 em -q refresh-head "$STORE" --sealer-key "$SEALER"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "refresh-head -q printed something"
expect_rc 0 em_read restore "$STORE" latest "$T/r1" -q
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "restore -q printed something"
expect_rc 0 em_read verify "$STORE" -q
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "verify -q printed: $(cat "$T/out")"
expect_rc 0 em keygen "$T/k1" -q
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "keygen -q printed something"
log "-q on failure: one line"
expect_rc 6 em_read ls -q "$STORE" latest:no/such/file
expect_one_error_line
[ ! -s "$T/out" ] || fail "a failing ls -q printed on stdout"
log "without -q, seal says what it did"
expect_rc 0 em_seal "$STORE" "$SRC"
[[ $(cat "$T/out") =~ ^[0-9a-f]{64}$ ]] || fail "seal did not print the snapshot id"
assert_grep "^embassy: sealed 2 files" "$T/err" "seal summary"

log "a profile: store and passphrase file, ls with no STORE"
cat >"$HOME/.config/embassy/regs.conf" <<EOF
# the registers' store
store = $STORE
passphrase_file = $PASSFILE
cache-dir = $T/cache
EOF
expect_rc 0 em --profile regs ls latest
assert_eq "pop.csv sub" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "profile-driven ls"
expect_rc 0 em ls --profile regs latest:sub
assert_eq "parcels.txt" "$(cat "$T/out")" "ls --profile after the command"
EMBASSY_PROFILE=regs expect_rc 0 em cat latest:pop.csv
assert_eq "population register" "$(cat "$T/out")" "EMBASSY_PROFILE cat"
log "a profile by path, from /etc-like places"
cp "$HOME/.config/embassy/regs.conf" "$T/regs-by-path.conf"
expect_rc 0 em snapshots --profile "$T/regs-by-path.conf"

log "precedence: flag > environment > profile"
sed -i "s|^passphrase_file = .*|passphrase-file = $T/wrongpass|" "$HOME/.config/embassy/regs.conf"
expect_rc 4 em --profile regs ls latest
EMBASSY_PASSPHRASE_FILE=$PASSFILE expect_rc 0 em --profile regs ls latest
EMBASSY_PASSPHRASE_FILE=$PASSFILE expect_rc 4 em --profile regs ls latest \
	--passphrase-file "$T/wrongpass"
expect_rc 0 em --profile regs ls latest --passphrase-file "$PASSFILE"
log "credentials as a whole: EMBASSY_PASSPHRASE beats the profile's passphrase file"
EMBASSY_PASSPHRASE='correct horse battery staple' expect_rc 0 em --profile regs ls latest
log "a flag's store beats the profile's"
mkdir "$T/empty"
expect_rc 5 em --profile regs ls "$T/empty" latest --passphrase-file "$PASSFILE"

log "profiles that are refused"
chmod 664 "$HOME/.config/embassy/regs.conf"
expect_rc 2 em --profile regs ls latest
assert_grep "may be changed by others" "$T/err"
chmod 644 "$HOME/.config/embassy/regs.conf"
echo "passphrase = hunter2" >"$HOME/.config/embassy/bad.conf"
expect_rc 2 em --profile bad snapshots
assert_grep "never holds the passphrase" "$T/err"
grep -q hunter2 "$T/err" && fail "the refused passphrase was echoed"
echo "cachedir = /tmp" >"$HOME/.config/embassy/typo.conf"
expect_rc 2 em --profile typo snapshots "$STORE" --passphrase-file "$PASSFILE"
assert_grep "unknown key 'cachedir'" "$T/err"
expect_rc 2 em --profile nosuch snapshots "$STORE"
assert_grep "no profile 'nosuch'" "$T/err"
expect_one_error_line

log "EMBASSY_STORE stands for STORE"
EMBASSY_STORE=$STORE expect_rc 0 em_read ls latest:sub
assert_eq "parcels.txt" "$(cat "$T/out")" "EMBASSY_STORE ls"
EMBASSY_STORE=$STORE expect_rc 0 em_read cat latest:sub/parcels.txt latest:pop.csv
assert_eq "cadastre population register" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "cat"
EMBASSY_STORE=$T/empty expect_rc 0 em_read ls "$STORE" latest:sub
EMBASSY_STORE=$STORE expect_rc 0 em_read restore latest:pop.csv "$T/r2"
assert_files_eq "$SRC/pop.csv" "$T/r2/pop.csv"

log "seal from a profile alone (a nightly unit's command line)"
cat >"$HOME/.config/embassy/sealer.conf" <<EOF
store = $STORE
sealer-key = $SEALER
path = $SRC/pop.csv
path = $SRC/sub
tag = nightly
EOF
expect_rc 0 em --profile sealer seal -q
expect_rc 0 em_read ls "$STORE" latest
assert_eq "pop.csv sub" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "profile paths sealed"
expect_rc 0 em_read snapshots "$STORE" --json
python3 - "$T/out" <<'PY' || fail "the profile's tag is not on the snapshot"
import json, sys
snaps = json.load(open(sys.argv[1]))
assert snaps[-1]["tags"] == ["nightly"], snaps[-1]
PY

log "--passphrase-command"
expect_rc 0 em ls "$STORE" latest --passphrase-command "cat '$PASSFILE'"
expect_rc 0 em ls "$STORE" latest --passphrase-command "printf 'correct horse battery staple'"
EMBASSY_PASSPHRASE_COMMAND="cat '$PASSFILE'" expect_rc 0 em ls "$STORE" latest
expect_rc 4 em ls "$STORE" latest --passphrase-command "exit 3"
assert_grep "failed \(exit status 3\)" "$T/err"
expect_one_error_line
expect_rc 4 em ls "$STORE" latest --passphrase-command "true"
assert_grep "printed no passphrase" "$T/err"
expect_rc 4 em ls "$STORE" latest --passphrase-command "cat '$T/wrongpass'"
assert_grep "wrong passphrase" "$T/err"
expect_rc 2 em ls "$STORE" latest --passphrase-command "true" --passphrase-file "$PASSFILE"
log "the command's environment holds no passphrase"
EMBASSY_PASSPHRASE=sekrit-in-env expect_rc 0 em ls "$STORE" latest \
	--passphrase-command "env >'$T/child-env'; cat '$PASSFILE'"
grep -q sekrit-in-env "$T/child-env" && fail "EMBASSY_PASSPHRASE reached the passphrase command"
grep -q '^HOME=' "$T/child-env" || fail "the passphrase command did not run"

log "durations and sizes, one way"
expect_rc 0 em_read snapshots "$STORE" --timeout 1m
expect_rc 0 em_read snapshots "$STORE" --timeout 90
expect_rc 2 em_read snapshots "$STORE" --timeout 2d
expect_rc 2 em_read snapshots "$STORE" --timeout soon
EMBASSY_TIMEOUT=soon expect_rc 2 em_read snapshots "$STORE"
assert_grep "from the environment" "$T/err"
expect_rc 2 em_seal "$STORE" "$SRC" --valid-for 3x
expect_rc 0 em_seal "$STORE" "$SRC" --valid-for 36h -q
log "OK"
