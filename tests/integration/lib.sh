# lib.sh: what the integration tests share. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# Env (tests/CMakeLists.txt sets them): EMBASSY (the binary), BUILD_DIR, SRC_DIR.
# EMBASSY_SANITIZED=1 (ASan/UBSan build): tests scale their data down.
# Every test gets a private $T (removed on exit) and a test passphrase; every background
# process started with start_bg is stopped by PID on exit, after the handlers registered with
# on_exit 'CMD' have run (on every exit path: never replace the EXIT trap). A test that cannot
# run calls skip "reason" (exit 77: ctest reports it skipped), never exit 0. Tests wait on
# readiness (wait_until), never on a fixed sleep. tests/CMakeLists.txt runs each test under
# tests/tools/testwrap, which kills whatever the test leaves running and fails the test for it.
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
EXIT_HANDLERS=()
SKIPPED_PARTS=()
# what the test's own stdout/stderr are (ctest's pipe): background processes never keep them
LIB_OUT=$(readlink "/proc/$$/fd/1" || true)
LIB_ERR=$(readlink "/proc/$$/fd/2" || true)

# on_exit 'CMD': run CMD (eval'd) when the test exits, whatever the path: success, fail, a
# failing command under set -e, skip, SIGTERM/SIGINT (testwrap on timeout, Ctrl-C). Handlers
# run last registered first, then the background processes are stopped and $T is removed.
# Never replace the EXIT trap in a test: register a handler.
on_exit() { EXIT_HANDLERS+=("$1"); }

cleanup() {
	local rc=$? i pid f
	set +e # a failing step must not end the cleanup early (errexit would skip the rest)
	trap '' INT TERM HUP
	if [ "$rc" -eq 0 ] && [ ${#SKIPPED_PARTS[@]} -gt 0 ]; then
		log "SKIP: passed, but parts did not run: ${SKIPPED_PARTS[*]}"
		rc=77
	fi
	for ((i = ${#EXIT_HANDLERS[@]} - 1; i >= 0; i--)); do
		eval "${EXIT_HANDLERS[i]}"
	done
	# only our own children: a PID that exited and was reaped may belong to someone else now
	for pid in "${BG_PIDS[@]}"; do our_child "$pid" && kill -TERM "$pid" 2>/dev/null; done
	for ((i = 0; i < 150; i++)); do # up to 3 s for them to exit on SIGTERM, then SIGKILL
		any_alive "${BG_PIDS[@]}" || break
		sleep 0.02
	done
	for pid in "${BG_PIDS[@]}"; do
		our_child "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$T"/.bg-*.log; do
			[ -s "$f" ] || continue
			echo "--- last lines of background output ${f##*/.bg-}:" >&2
			tail -n 20 "$f" >&2
		done
	fi
	if [ "$rc" -ne 0 ] && [ -n "${KEEP_TMP:-}" ]; then
		echo "$TEST_NAME: kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

log() { echo "$TEST_NAME: $*" >&2; }

# alive PID: the process exists and is not a zombie (an exited child not yet reaped)
alive() {
	local st
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}
any_alive() {
	local p
	for p in "$@"; do our_child "$p" && alive "$p" && return 0; done
	return 1
}
# our_child PID: PID is a child of this test's shell (not a recycled PID of someone else's)
our_child() {
	local st
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	st=${st#* }
	[ "${st%% *}" = "$$" ]
}

fail() {
	echo "$TEST_NAME: FAIL: $*" >&2
	exit 1
}

# skip REASON: the test cannot run here (no /dev/fuse, not root, a tool missing): exit 77,
# which ctest reports as skipped (SKIP_RETURN_CODE) and scripts/test.sh counts against CI.
# Never "exit 0" for something that did not run.
skip() {
	echo "$TEST_NAME: SKIP: $*" >&2
	exit 77
}

# skip_part REASON: one part of the test cannot run here; the rest goes on, and if all else
# passes the test still ends as skipped (77), naming every part that did not run.
skip_part() {
	log "not run: $*"
	SKIPPED_PARTS+=("[$*]")
}

# Skip unless root.
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root ($*)"
}

# start_rgw DIR: a Ceph RGW on 127.0.0.1 (up to three tries: a cold start can lose a race for
# its ports), stopped at exit; its S3 settings (s3.env: EMBASSY_S3_ENDPOINT, S3_BUCKET, ...)
# exported.
start_rgw() {
	local i
	on_exit "\"\$SRC_DIR/scripts/ceph-rgw-down.sh\" '$1' --keep >/dev/null 2>&1 || true"
	for i in 1 2 3; do
		"$SRC_DIR/scripts/ceph-rgw-up.sh" "$1" >"$T/ceph.log" 2>&1 && break
		"$SRC_DIR/scripts/ceph-rgw-down.sh" "$1" --keep >/dev/null 2>&1 || true
		[ "$i" = 3 ] && { cat "$T/ceph.log" >&2; fail "ceph-rgw-up.sh failed"; }
	done
	set -a
	. "$1/s3.env"
	set +a
}

# start_bg CMD...: run CMD in the background; its PID goes to $BG_PID and is stopped on exit
# (SIGTERM, SIGKILL after 3 s). Its stdin is /dev/null; its stdout/stderr, unless the caller
# redirected them, go to $T/.bg-N.log (shown when the test fails), never to the test's own
# output: a process that outlived the test must not keep ctest's pipe open.
# Bash starts background commands of a script with SIGINT ignored; env puts it back, so a
# test can interrupt them as a user's Ctrl-C would.
start_bg() {
	bg_exec "$T/.bg-${#BG_PIDS[@]}-$(basename "$1").log" "$@" </dev/null &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}
# bg_exec LOG CMD...: (in the background job) stdout/stderr to LOG unless redirected, then exec
bg_exec() {
	local logf=$1 me=$BASHPID
	shift
	[ "$(readlink "/proc/$me/fd/1")" != "$LIB_OUT" ] || exec >>"$logf"
	[ "$(readlink "/proc/$me/fd/2")" != "$LIB_ERR" ] || exec 2>>"$logf"
	exec env --default-signal=INT,QUIT "$@"
}

# load_scaled SECS: SECS stretched by the machine's load (1-minute load average per CPU, between
# 1 and 4), as testwrap stretches test budgets: for a test's own bound on a command that must
# not hang, e.g. timeout "$(load_scaled 300)" CMD. (Not for assertions on speed: there are none.)
load_scaled() {
	awk -v s="$1" -v n="$(nproc)" '{ f = $1 / n; if (f < 1) f = 1; if (f > 4) f = 4
		printf "%d\n", s * f }' /proc/loadavg
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

json_get() { # FILE PYTHON-EXPR (on d = the parsed JSON; of a stream of lines, its summary)
	python3 -c 'import json,sys
t = open(sys.argv[1]).read()
try:
    d = json.loads(t)
except ValueError: # progress lines, then the summary (docs/JSON.md)
    v = [json.loads(l) for l in t.splitlines() if l.strip()]
    d = next((o for o in reversed(v) if isinstance(o, dict) and o.get("type") == "summary"), v[-1])
print(eval(sys.argv[2]))' "$1" "$2"
}

# mktree with sizes suited to the build (ASan: small files).
mktree() {
	if [ "$SANITIZED" = 1 ]; then "$MKTREE" "$@" --small; else "$MKTREE" "$@"; fi
}
