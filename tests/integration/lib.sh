# lib.sh: what the integration tests share. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# Env (tests/CMakeLists.txt sets them): EMBASSY (the binary), BUILD_DIR, SRC_DIR.
# EMBASSY_SANITIZED=1 (ASan/UBSan build): tests scale their data down.
# Every test gets a private $T (removed on exit) and a test passphrase; every background
# process started with start_bg is killed by PID on exit. Tests wait on readiness (wait_until),
# never on a fixed sleep.
set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=${SRC_DIR:-$(cd "$LIB_DIR/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
EMBASSY=${EMBASSY:-$BUILD_DIR/embassy}
SANITIZED=${EMBASSY_SANITIZED:-0}
TEST_NAME=$(basename "$0" .sh)

# tools the tests use, built by tests/CMakeLists.txt
tool() {
	local t
	for t in "$BUILD_DIR/tests/$1" "$BUILD_DIR/$1"; do
		[ -x "$t" ] && { echo "$t"; return; }
	done
	echo "lib.sh: tool $1 not built under $BUILD_DIR" >&2
	exit 1
}
MKTREE=$(tool mktree)
TREECMP=$(tool treecmp)
[ -x "$EMBASSY" ] || { echo "lib.sh: no embassy binary at $EMBASSY" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/embassy-$TEST_NAME.XXXXXX")
BG_PIDS=()

cleanup() {
	local rc=$? pid
	for pid in "${BG_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ -n "${KEEP_TMP:-}" ]; then
		echo "$TEST_NAME: kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$TEST_NAME: $*" >&2; }

fail() {
	echo "$TEST_NAME: FAIL: $*" >&2
	exit 1
}

# Skip (exit 0 with a note) unless root: ctest here has no skip code configured.
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		log "SKIP: needs root ($*)"
		exit 0
	fi
}

# start_bg CMD...: run CMD in the background; its PID goes to $BG_PID and is killed on exit.
# Bash starts background commands of a script with SIGINT ignored; env puts it back, so a
# test can interrupt them as a user's Ctrl-C would.
start_bg() {
	env --default-signal=INT,QUIT "$@" &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# wait_until SECONDS CMD...: poll CMD until it succeeds; fail after SECONDS.
wait_until() {
	local limit=$1 start=$SECONDS
	shift
	until "$@"; do
		[ $((SECONDS - start)) -lt "$limit" ] || fail "timed out after ${limit}s waiting for: $*"
		sleep 0.02
	done
}

# ---- credentials and commands ----
PASSFILE=$T/passphrase
SEALER=$T/sealer.key
printf 'correct horse battery staple\n' >"$PASSFILE"
chmod 600 "$PASSFILE"

em() { "$EMBASSY" "$@"; }
# A reader's command: CMD STORE ARGS... with the test passphrase.
em_read() {
	local cmd=$1
	shift
	"$EMBASSY" "$cmd" --passphrase-file "$PASSFILE" "$@"
}
# Create a store with cheap KDF parameters (tests only) and the test sealer key.
em_init() { "$EMBASSY" init "$1" --sealer-key "$SEALER" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1 "${@:2}"; }
em_seal() { "$EMBASSY" seal "$@" --sealer-key "$SEALER"; }

# run CMD...: run it, keeping status in $RC, output in $T/out and $T/err (never fails).
run() {
	set +e
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
}

# expect_rc CODE CMD...: CMD must exit with CODE.
expect_rc() {
	local want=$1
	shift
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		echo "--- stdout:" >&2; head -c 2000 "$T/out" | cat -v >&2
		echo "--- stderr:" >&2; head -c 4000 "$T/err" | cat -v >&2
		fail "expected exit $want, got $RC from: $*"
	fi
}

# The error must be exactly one line starting "embassy: error:".
expect_one_error_line() {
	local n
	n=$(grep -c '' "$T/err" || true)
	[ "$n" -eq 1 ] && grep -q '^embassy: error: ' "$T/err" ||
		{ cat "$T/err" >&2; fail "expected one 'embassy: error:' line on stderr, got $n line(s)"; }
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$1', got '$2'"
}

assert_grep() { # PATTERN FILE [what]
	grep -qE -- "$1" "$2" || { head -c 2000 "$2" >&2; fail "${3:-no match} ('$1' not in $2)"; }
}

assert_files_eq() {
	cmp -s "$1" "$2" || fail "${3:-files differ}: $1 vs $2"
}

# A listing of every object in a local store (name, size, mtime): to prove nothing changed.
store_listing() {
	(cd "$1" && find . -printf '%P %s %T@ %m\n' | LC_ALL=C sort)
}

count_packs() {
	if [ -d "$1/packs" ]; then find "$1/packs" -type f | wc -l; else echo 0; fi
}

packs_bytes() {
	if [ -d "$1/packs" ]; then find "$1/packs" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'
	else echo 0; fi
}

json_get() { # FILE PYTHON-EXPR (on d = the parsed JSON)
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# mktree with sizes suited to the build (ASan: small files).
mktree() {
	if [ "$SANITIZED" = 1 ]; then "$MKTREE" "$@" --small; else "$MKTREE" "$@"; fi
}
