#!/bin/bash
# label: local
# Bad input: each gets one clear error line, its own exit code, and writes nothing to the
# store. Wrong passphrase 4, missing, group-readable, damaged or public key file 4, not a
# store 5, newer format 5, unknown or ambiguous snapshot 6, non-empty restore target refused,
# a restore onto a full disk 8.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/d"
printf 'hello\n' >"$SRC/d/a.txt"
printf 'world\n' >"$SRC/b.txt"

expect_rc 0 em keygen "$T/officer.key"
[ "$(stat -c %a "$T/officer.key")" = 600 ] || fail "keygen: secret key file not 0600"
head -1 "$T/officer.key" | grep -qx 'embassy-recipient-key-v1' || fail "keygen: key file header"
head -1 "$T/officer.key.pub" | grep -qx 'embassy-recipient-pub-v1' || fail "keygen: pub header"
expect_rc 1 em keygen "$T/officer.key" # never overwrites a key
expect_one_error_line
expect_rc 0 em_init "$STORE" --recipient "$T/officer.key.pub"
expect_rc 1 em_init "$STORE" # the sealer key exists: refused
expect_one_error_line

# 17 snapshots: by pigeonhole two share their first hex digit
for i in $(seq 17); do
	printf '%s\n' "$i" >"$SRC/counter"
	expect_rc 0 em_seal "$STORE" "$SRC" --tag "n$i"
done
expect_rc 0 em_read snapshots "$STORE" --json
cp "$T/out" "$T/snaps.json"
AMBIG=$(json_get "$T/snaps.json" \
	'__import__("collections").Counter(s["id"][0] for s in d).most_common(1)[0][0]')
NONE=$(json_get "$T/snaps.json" \
	'next(p for p in ("%04x" % i for i in range(65536)) if not any(s["id"].startswith(p) for s in d))')
BEFORE=$(store_listing "$STORE")

check_unchanged() {
	[ "$(store_listing "$STORE")" = "$BEFORE" ] || fail "the store changed after: $*"
}

log "wrong passphrase → 4"
printf 'not the passphrase\n' >"$T/wrong"
chmod 600 "$T/wrong" # a file others may read is refused before it is tried (secrets.sh)
expect_rc 4 em ls "$STORE" latest --passphrase-file "$T/wrong"
expect_one_error_line
assert_grep 'wrong passphrase' "$T/err"
EMBASSY_PASSPHRASE='also wrong' expect_rc 4 em ls "$STORE" latest
expect_one_error_line
check_unchanged "wrong passphrase"

log "no credentials and no terminal → 4, no hang"
expect_rc 4 em ls "$STORE" latest </dev/null
expect_one_error_line

log "key files: working, missing, too open"
expect_rc 0 em ls "$STORE" latest --key-file "$T/officer.key"
expect_rc 4 em ls "$STORE" latest --key-file "$T/no-such.key"
expect_one_error_line
assert_grep 'no-such.key' "$T/err"
chmod 644 "$T/officer.key"
expect_rc 4 em ls "$STORE" latest --key-file "$T/officer.key"
expect_one_error_line
assert_grep 'chmod' "$T/err"
chmod 600 "$T/officer.key"
chmod 644 "$SEALER"
expect_rc 4 em_seal "$STORE" "$SRC"
expect_one_error_line
chmod 600 "$SEALER"
expect_rc 4 em seal "$STORE" "$SRC" --sealer-key "$T/missing-sealer.key"
expect_one_error_line
expect_rc 2 em seal "$STORE" "$SRC" --key-file "$T/officer.key" # reader cannot seal
expect_one_error_line
check_unchanged "key file errors"

log "a damaged or wrong kind of key file is a key file error (4), not a tampered store (7)"
head -c 169 /dev/urandom >"$T/random.key"
: >"$T/empty.key"
printf 'embassy-recipient-key-v1\nsecret zz\n' >"$T/cut.key"
chmod 600 "$T/random.key" "$T/empty.key" "$T/cut.key"
for k in random empty cut; do
	expect_rc 4 em ls "$STORE" latest --key-file "$T/$k.key"
	expect_one_error_line
	assert_grep "$k.key is not an embassy key file" "$T/err"
	expect_rc 4 em seal "$STORE" "$SRC" --sealer-key "$T/$k.key"
	expect_one_error_line
done
expect_rc 4 em ls "$STORE" latest --key-file "$T/officer.key.pub" # mode 0644: not "chmod 600"
expect_one_error_line
assert_grep 'is a public key file' "$T/err"
expect_rc 4 em seal "$STORE" "$SRC" --sealer-key "$T/officer.key" # a reader's key
expect_one_error_line
assert_grep 'is a recipient key file' "$T/err"
check_unchanged "damaged key files"

log "not a store → 5"
mkdir "$T/empty"
expect_rc 5 em_read ls "$T/empty" latest
expect_one_error_line
expect_rc 5 em_read snapshots "$T/no-such-dir"
expect_one_error_line

log "newer format → 5 (checked before the signature)"
cp -a "$STORE" "$T/newer"
sed -i 's/"format":[0-9]*/"format":99/' "$T/newer/embassy.json"
grep -q '"format":99' "$T/newer/embassy.json" || fail "could not edit the descriptor's format"
expect_rc 5 em_read ls "$T/newer" latest
expect_one_error_line
assert_grep 'newer' "$T/err"

log "snapshot matching none → 6, ambiguous prefix → 6"
expect_rc 6 em_read ls "$STORE" "$NONE"
expect_one_error_line
expect_rc 6 em_read restore "$STORE" "$NONE" "$T/r-none"
[ ! -e "$T/r-none" ] || fail "restore of an unknown snapshot created its target"
expect_rc 6 em_read ls "$STORE" "$AMBIG"
expect_one_error_line
assert_grep 'several' "$T/err"
expect_rc 6 em_read cat "$STORE" "$AMBIG:b.txt"
expect_one_error_line
expect_rc 6 em_read ls "$STORE" latest:no/such/path
expect_one_error_line
check_unchanged "unknown snapshots"

log "restore into a non-empty target: refused without --overwrite, nothing written"
mkdir "$T/target"
printf 'keep me\n' >"$T/target/b.txt"
TBEFORE=$(find "$T/target" -printf '%P %s %T@\n' | sort)
expect_rc 1 em_read restore "$STORE" latest "$T/target"
expect_one_error_line
assert_grep 'overwrite' "$T/err"
[ "$(find "$T/target" -printf '%P %s %T@\n' | sort)" = "$TBEFORE" ] || fail "refused restore wrote into the target"
expect_rc 0 em_read restore "$STORE" latest "$T/target" --overwrite
assert_files_eq "$SRC/b.txt" "$T/target/b.txt" "--overwrite replaced the file"
check_unchanged "restore"

log "usage errors → 2"
expect_rc 2 em ls "$STORE"
expect_rc 2 em_read ls "$STORE" latest --no-such-option
expect_one_error_line
expect_rc 2 em no-such-command
expect_rc 2 em_seal "$STORE" "$SRC" --valid-for 7x
expect_rc 1 em_seal "$STORE" "$T/no-such-path"
expect_one_error_line
check_unchanged "usage errors"

log "help texts document the exit codes"
for c in init keygen seal snapshots ls cat restore verify; do
	expect_rc 0 em "$c" --help
	assert_grep '^EXIT STATUS' "$T/out" "$c --help"
	assert_grep 'EXAMPLES' "$T/out" "$c --help"
	expect_rc 0 em help "$c"
done
expect_rc 0 em --help
expect_rc 0 em --version

log "restore onto a full disk: exit 8 (out of space), the right errno, no partial file"
if [ "$(id -u)" = 0 ] && mkdir "$T/full" && mount -t tmpfs -o size=1m tmpfs "$T/full"; then
	on_exit "umount -l '$T/full'"
	mkdir "$SRC/big"
	head -c 3145728 /dev/urandom >"$SRC/big/random.bin"
	expect_rc 0 em_seal "$STORE" "$SRC"
	expect_rc 8 em_read restore "$STORE" latest "$T/full/r"
	assert_grep 'target is out of space' "$T/err"
	assert_grep 'random.bin: write: No space left on device' "$T/err"
	! grep -v 'No space left on device\|: not restored$\|out of space' "$T/err" ||
		fail "a restore onto a full disk said something else"
	# what failed is not left behind truncated: every file there is whole
	[ ! -e "$T/full/r/big/random.bin" ] || fail "a truncated random.bin was left"
	(cd "$T/full/r" && find . -type f -exec cmp "{}" "$SRC/{}" \;) || fail "a partial file"
else
	skip_part "restore onto a full disk needs root to mount a 1 MiB tmpfs"
fi
log "PASS"
