# hostile_lib.bash: what the attack scripts of tests/hostile/ share (not a test itself:
# the suite globs *.sh). Source it first thing:  . "$(dirname "$0")/hostile_lib.bash"
# It builds on tests/integration/lib.sh ($T, run, expect_rc, assert_grep, start_bg, ...) and
# adds: the host-attack toolkit ($HOSTILE), a private trust-state directory, a standard
# victim store, a sentinel beside every restore target, and mount helpers.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

HOSTILE=$(tool hostile)
# every reader in these tests remembers what it saw here, never in the user's home
export EMBASSY_STATE_DIR=$T/state
STORE=$T/store
SRC=$T/src
MOUNTS=()
FAILS=0

# HOSTILE_KEEP_GOING=1: report every failed expectation, not only the first (exit 1 at the end)
if [ -n "${HOSTILE_KEEP_GOING:-}" ]; then
	fail() {
		echo "$TEST_NAME: FAIL: $*" >&2
		FAILS=$((FAILS + 1))
	}
fi

finish() {
	[ "$FAILS" -eq 0 ] || { log "$FAILS expectation(s) failed"; exit 1; }
	log PASS
}

# runs from lib.sh's cleanup (on_exit), before the foreground daemons are killed
hostile_unmount_all() {
	local m
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true; }
	done
}
on_exit hostile_unmount_all

# The standard victim: a few files of distinct sizes in two directories.
#   docs/a.txt docs/b.txt (small), data/victim.bin (random, 300 KiB), data/other.bin
make_src() {
	mkdir -p "$SRC/docs" "$SRC/data"
	printf 'register A\n' >"$SRC/docs/a.txt"
	printf 'register B, longer\n' >"$SRC/docs/b.txt"
	head -c 307200 /dev/urandom >"$SRC/data/victim.bin"
	head -c 204800 /dev/urandom >"$SRC/data/other.bin"
}

make_store() {
	make_src
	expect_rc 0 em_init "$STORE"
	expect_rc 0 em_seal "$STORE" "$SRC"
	# the recovery host reads once: from now on it remembers sequence and signing key
	expect_rc 0 em_read snapshots "$STORE"
}

# records FIELD PATH [STORE]: a field of the first record list-records prints for PATH
#   fields: 1 type, 2 id, 3 pack object, 4 offset, 5 length
records() {
	"$HOSTILE" list-records "${3:-$STORE}" --passphrase-file "$PASSFILE" |
		awk -F'\t' -v p="$2" -v f="$1" '$6 == p { print $f; exit }'
}

# Sealer's signing-key fingerprint, as --trust wants it: hex BLAKE2b-128 of the public key.
fingerprint() {
	python3 -c 'import hashlib,sys
sk = bytes.fromhex(open(sys.argv[1]).read().split("sign ")[1].split()[0])
print(hashlib.blake2b(sk[32:], digest_size=16).hexdigest())' "${1:-$SEALER}"
}

# ---- restore targets with a sentinel beside them ----
# restore_to NAME ARGS...: restore into $T/rst-NAME/target, next to $T/rst-NAME/sentinel;
# afterwards the sentinel and the parent directory must be exactly as before.
restore_to() {
	local name=$1 dir=$T/rst-$1
	shift
	mkdir -p "$dir/sentinel"
	printf 'do not touch\n' >"$dir/sentinel/keep"
	local before
	before=$(cd "$dir" && find . -mindepth 1 -path ./target -prune -o -printf '%p %s %m %T@\n' | LC_ALL=C sort)
	run em_read restore "$STORE" "$@" "$dir/target"
	local after
	after=$(cd "$dir" && find . -mindepth 1 -path ./target -prune -o -printf '%p %s %m %T@\n' | LC_ALL=C sort)
	[ "$before" = "$after" ] || fail "restore wrote outside its target: $(diff <(echo "$before") <(echo "$after"))"
	[ ! -e "$T/outside" ] || fail "restore created $T/outside"
	RESTORED=$dir/target
}

# No crash: a signal or sanitizer abort is a test failure whatever the attack.
no_crash() {
	[ "$RC" -lt 124 ] || { cat "$T/err" >&2; fail "${1:-command} died with status $RC"; }
	! grep -qE 'AddressSanitizer|runtime error:|Segmentation|Aborted' "$T/err" ||
		{ cat "$T/err" >&2; fail "${1:-command}: sanitizer report"; }
}

# ---- the mount ----
# have_mount: true when this host can mount; when it cannot, the mount part is recorded as not
# run (skip_part): the test then ends as skipped, not passed, even if everything else passed.
have_mount() {
	if [ ! -c /dev/fuse ]; then
		skip_part "mount: no /dev/fuse"
	elif ! command -v fusermount3 >/dev/null; then
		skip_part "mount: fusermount3 not installed"
	elif ! "$EMBASSY" mount --help >/dev/null 2>&1; then
		skip_part "mount: this embassy has no mount command"
	else
		return 0
	fi
	return 1
}

# mount_store MNT [ARGS...]: mount $STORE at MNT in the foreground (background job); waits
# until it is mounted. Returns 1 (mount refused) if the daemon exits first.
mount_store() {
	local mnt=$1
	shift
	mkdir -p "$mnt"
	start_bg "$EMBASSY" mount "$STORE" "$mnt" --foreground --passphrase-file "$PASSFILE" \
		--cache-size 0 "$@" 2>"$T/mount.err"
	MOUNT_PID=$BG_PID
	MOUNTS+=("$mnt")
	local start=$SECONDS
	until mountpoint -q "$mnt"; do
		kill -0 "$MOUNT_PID" 2>/dev/null || { wait "$MOUNT_PID" || MOUNT_RC=$?; return 1; }
		[ $((SECONDS - start)) -lt 30 ] || fail "mount did not come up in 30s"
		sleep 0.02
	done
}

umount_store() {
	fusermount3 -u "$1"
	wait_until 30 bash -c "! kill -0 $MOUNT_PID 2>/dev/null"
}

# read_err FILE: cat FILE; prints the error text (e.g. "Input/output error"), empty if ok.
read_err() {
	timeout 30 cat "$1" 2>&1 >/dev/null | sed 's/.*: //' || true
}
