#!/bin/bash
# label: local
# timeout: 300
# suite_gate.sh — the suite cannot be green while running nothing (issue 9). On throwaway
# CMake projects that register scripts exactly as tests/CMakeLists.txt does (tests/
# ScriptTests.cmake, tests/tools/testwrap, lib.sh), it proves:
#   - a build with no tests fails scripts/run-suite.sh (ctest --no-tests=error), and so does a
#     missing kind of test (--expect-labels);
#   - skip "reason" and skip_part are reported by ctest as skipped, not passed; run-suite.sh
#     fails on them and names the reason, unless EMBASSY_ALLOW_SKIPS=1;
#   - a Criterion run that skipped a case is a skip (tools/criterion-run.sh), a failure stays one;
#   - a test failing under set -e with a background server started (the http_hostile leak) has
#     it stopped by lib.sh itself (testwrap finds nothing left), with hostile_lib.bash too;
#   - a test that leaves a process behind (even setsid) fails, and the process is gone;
#   - a test past its "# timeout:" gets SIGTERM, also the command it waits on in a process
#     group of its own, so its on_exit cleanup runs; it fails within seconds, nothing it started
#     survives, ctest's output pipe is not held open;
#   - a .sh without a label line is a configure error; "# sanitizer: no" keeps a test out of
#     the sanitizer build only;
#   - testwrap --sanitizer-logs (the ASan build) fails a test when any of its processes, even a
#     daemon whose stderr is /dev/null, reports a leak.
. "$(dirname "$0")/lib.sh"
command -v cmake >/dev/null && command -v ctest >/dev/null || skip "cmake/ctest not installed"
TESTWRAP=$(tool testwrap)
RUN_SUITE=$SRC_DIR/scripts/run-suite.sh
# the scratch runs below are not part of the suite: keep them out of scripts/test.sh's summary
unset SUITE_SUMMARY
G=$T/gate # what the scratch tests report back (outside their own $T, which they remove)
mkdir -p "$G"

# project NAME [SANITIZED]: a scratch project whose tests are $T/NAME/t/*.sh
project() {
	local d=$T/$1
	mkdir -p "$d/t"
	cat >"$d/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(gate NONE)
enable_testing()
include($SRC_DIR/tests/ScriptTests.cmake)
embassy_add_script_tests(\${CMAKE_CURRENT_SOURCE_DIR}/t WRAPPER $TESTWRAP
  SANITIZED \${SANITIZED}
  ENV "EMBASSY=$EMBASSY;SRC_DIR=$SRC_DIR;BUILD_DIR=$BUILD_DIR;GATE=$G")
EOF
}
configure() { cmake -S "$T/$1" -B "$T/$1/b" -DSANITIZED="${2:-OFF}" >"$T/$1.cfg" 2>&1; }
script() { # PROJECT NAME BODY: a test script sourcing the real lib.sh
	printf '#!/bin/bash\n# label: local\n%s\n' "$3" >"$T/$1/t/$2.sh"
}
LIB='. "$SRC_DIR/tests/integration/lib.sh"
ident() { echo "$1 $(cut -d" " -f22 "/proc/$1/stat")"; }'
ident() { echo "$1 $(cut -d" " -f22 "/proc/$1/stat")"; } # PID STARTTIME
# pid_gone FILE: the process named in FILE ("PID STARTTIME", from ident) no longer exists (a
# PID of its own may have been reused since: this machine's pid_max is small)
pid_gone() {
	local pid start
	read -r pid start <"$1" || return 1
	! alive "$pid" || [ "$(ident "$pid")" != "$pid $start" ]
}

log "1. no tests registered: a failure, not a green run"
project empty
configure empty || fail "configure of the empty project: $(cat "$T/empty.cfg")"
run "$RUN_SUITE" empty "$T/empty/b"
[ "$RC" -ne 0 ] || fail "run-suite.sh passed a build with no tests"
assert_grep 'no test ran' "$T/out" "run-suite names the empty build"

log "2. skips are skips: reported skipped, fail the gate, allowed only explicitly"
project skips
script skips pass "$LIB
assert_eq 4 \$((2 + 2))"
script skips skipper "$LIB
skip 'no frobnicator on this host'
fail 'skip returned'"
script skips partial "$LIB
skip_part 'the mount half (no /dev/fuse)'
log 'the rest ran'"
configure skips || fail "configure: $(cat "$T/skips.cfg")"
run "$RUN_SUITE" skips "$T/skips/b"
[ "$RC" -ne 0 ] || fail "run-suite.sh passed a run with skipped tests"
assert_grep 'Test +#[0-9]+: t/skipper .*Skipped' "$T/out" "ctest reports skip as Skipped"
assert_grep 'Test +#[0-9]+: t/partial .*Skipped' "$T/out" "ctest reports skip_part as Skipped"
assert_grep 'Test +#[0-9]+: t/pass .*Passed' "$T/out" "the passing test passes"
assert_grep 'SKIPPED t/skipper: .*no frobnicator on this host' "$T/out" "the skip reason is shown"
assert_grep 'SKIPPED t/partial: .*the mount half' "$T/out" "the skipped part is named"
assert_grep '1 passed, 0 failed, 2 skipped \(of 3\)' "$T/out" "the closing counts"
EMBASSY_ALLOW_SKIPS=1 run "$RUN_SUITE" skips "$T/skips/b"
[ "$RC" -eq 0 ] || { cat "$T/out" >&2; fail "EMBASSY_ALLOW_SKIPS=1 did not allow the skips"; }
assert_grep 'allowed by EMBASSY_ALLOW_SKIPS=1' "$T/out" "an allowed skip is still said"
run "$RUN_SUITE" skips "$T/skips/b" --expect-labels local,mount -R pass
[ "$RC" -ne 0 ] || fail "run-suite.sh passed with no 'mount' test registered"
assert_grep "no test with label 'mount'" "$T/out" "the missing label is named"

log "3. Criterion: a skipped case makes the executable skipped; a failure stays a failure"
fake_criterion() { # NAME RC TAP-LINES: a stand-in that writes TAP like Criterion 2.4
	printf '#!/bin/sh\nfor a; do case $a in --tap=*) printf "%s" >"${a#--tap=}";; esac; done\nexit %s\n' \
		"$3" "$2" >"$T/$1"
	chmod +x "$T/$1"
}
fake_criterion crit-skip 0 'ok - a::one\nok - a::two  # SKIP needs root to chown\n'
fake_criterion crit-fail 1 'not ok - a::one\nok - a::two  # SKIP needs root to chown\n'
fake_criterion crit-pass 0 'ok - a::one\nok - a::two\n'
expect_rc 77 sh "$SRC_DIR/tests/tools/criterion-run.sh" "$T/crit-skip" --jobs 2
assert_grep 'a::two .*needs root to chown' "$T/err" "criterion-run names the skipped case"
expect_rc 1 sh "$SRC_DIR/tests/tools/criterion-run.sh" "$T/crit-fail"
expect_rc 0 sh "$SRC_DIR/tests/tools/criterion-run.sh" "$T/crit-pass"

log "4. cleanup on every exit path; leaks and hangs are caught"
project procs
# set -e failure with a server from start_bg running (hostile_lib's EXIT trap used to stop
# the cleanup before it killed anything: http_hostile.sh held ctest's pipe for 11 minutes)
script procs errexit ". \"\$SRC_DIR/tests/hostile/hostile_lib.bash\"
ident() { echo \"\$1 \$(cut -d' ' -f22 /proc/\$1/stat)\"; }
start_bg python3 -c 'import sys, time
while True: print(\"serving\", flush=True); time.sleep(0.5)'
ident \$BG_PID >\"\$GATE/errexit.pid\"
wait_until 20 test -s \"\$T/.bg-0-python3.log\"
false
fail 'set -e did not stop the test'"
# a process that escapes (setsid, not start_bg, not waited for): testwrap must catch it
script procs leaker "$LIB
setsid sleep 600 </dev/null >/dev/null 2>&1 &
ident \$! >\"\$GATE/leaker.pid\""
# a hang: the timeout sends SIGTERM, on_exit runs, the server it started is stopped
cat >"$T/procs/t/hang.sh" <<'EOF'
#!/bin/bash
# label: local
# timeout: 15
. "$SRC_DIR/tests/integration/lib.sh"
ident() { echo "$1 $(cut -d" " -f22 "/proc/$1/stat")"; }
on_exit 'touch "$GATE/hang.cleanup-ran"'
start_bg sleep 600
ident $BG_PID >"$GATE/hang-bg.pid"
ident $$ >"$GATE/hang.pid"
timeout 600 sleep 600 # the hang, in a process group of its own (timeout(1) makes one)
EOF
configure procs || fail "configure: $(cat "$T/procs.cfg")"
start=$SECONDS
run ctest --test-dir "$T/procs/b" --output-on-failure -j3 --output-junit "$T/procs.xml"
secs=$((SECONDS - start))
log "ctest on the three tests: exit $RC in ${secs}s"
[ "$RC" -ne 0 ] || fail "ctest passed tests that failed, leaked and hung"
[ "$secs" -lt 100 ] || fail "the suite took ${secs}s: a hang or a held pipe (timeout 15 s)"
for t in errexit leaker hang; do
	assert_grep "Test +#[0-9]+: t/$t .*(Failed|Timeout)" "$T/out" "$t fails"
done
for f in errexit leaker hang-bg hang; do # each test got as far as starting its processes
	[ -s "$G/$f.pid" ] || fail "the scratch test did not record $f.pid (too slow to start?)"
done
wait_until 5 pid_gone "$G/errexit.pid"
wait_until 5 pid_gone "$G/leaker.pid"
wait_until 5 pid_gone "$G/hang-bg.pid"
wait_until 5 pid_gone "$G/hang.pid"
python3 - "$T/procs.xml" <<'EOF' || fail "per-test outputs"
import sys, xml.etree.ElementTree as ET
out = {c.get("name"): c.findtext("system-out") or "" for c in ET.parse(sys.argv[1]).getroot()}
assert "left" not in out["t/errexit"], "lib.sh's cleanup did not stop the server:\n" + out["t/errexit"]
assert "testwrap: the test left 1 process(es) running" in out["t/leaker"], out["t/leaker"]
assert "sleep 600" in out["t/leaker"], out["t/leaker"]
assert "a test must stop every process it started" in out["t/leaker"], out["t/leaker"]
assert "TIMEOUT: still running after" in out["t/hang"], out["t/hang"]
assert "(budget 15 s x load factor 1.0)" in out["t/hang"], out["t/hang"]
assert "left" not in out["t/hang"], "the timed-out test's cleanup left processes:\n" + out["t/hang"]
print("errexit: cleaned up by lib.sh; leaker: caught and killed; hang: stopped by its timeout")
EOF
[ -e "$G/hang.cleanup-ran" ] || fail "the timed-out test's on_exit handler did not run"

log "5. a .sh without a label is a configure error; '# sanitizer: no' applies to that build only"
project labels
script labels kept "$LIB"
printf '#!/bin/bash\n# label: local\n# sanitizer: no (valgrind of an ASan binary)\n%s\n' "$LIB" \
	>"$T/labels/t/plain_only.sh"
printf '. "$SRC_DIR/tests/integration/lib.sh"\n' >"$T/labels/t/helper_lib.sh"
configure labels OFF || fail "configure: $(cat "$T/labels.cfg")"
assert_eq "t/kept t/plain_only" "$(ctest --test-dir "$T/labels/b" -N | sed -n 's/.*Test *#[0-9]*: //p' | sort | xargs)" \
	"tests of the plain build (helper_lib.sh is not a test)"
rm -rf "$T/labels/b"
configure labels ON || fail "configure: $(cat "$T/labels.cfg")"
assert_eq "t/kept" "$(ctest --test-dir "$T/labels/b" -N | sed -n 's/.*Test *#[0-9]*: //p' | xargs)" \
	"tests of the sanitizer build"
printf '#!/bin/bash\n%s\n' "$LIB" >"$T/labels/t/forgotten.sh"
rm -rf "$T/labels/b"
! configure labels OFF || fail "a script without a label line was accepted"
assert_grep "forgotten.sh: no '# label" "$T/labels.cfg" "configure names the script"

log "6. sanitizer build: a report from a daemon whose stderr is /dev/null still fails the test"
if command -v clang >/dev/null; then
	cat >"$T/daemon.c" <<'EOF'
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char *p = malloc(32);
	if (fork() > 0) {
		free(p);
		return 0; /* the parent returns at once, like a daemonising mount */
	}
	setsid();
	dup2(open("/dev/null", O_WRONLY), 2); /* where a detached daemon's stderr goes */
	strcpy(p, "leaked");
	if (argc > 1 && !strcmp(argv[1], "clean"))
		free(p);
	p = NULL;
	return 0;
}
EOF
	clang -fsanitize=address -g -o "$T/daemon" "$T/daemon.c" || fail "clang -fsanitize=address"
	export ASAN_OPTIONS=detect_leaks=1
	expect_rc 1 "$TESTWRAP" --sanitizer-logs -- "$T/daemon" leak
	assert_grep 'testwrap: sanitizer report sanitizer\.[0-9]+' "$T/err" "the report is printed"
	assert_grep 'LeakSanitizer: detected memory leaks' "$T/err" "it is the daemon's leak"
	assert_grep 'FAIL: 1 sanitizer report' "$T/err" "the test fails for it"
	expect_rc 0 "$TESTWRAP" --sanitizer-logs -- "$T/daemon" clean
	unset ASAN_OPTIONS
else
	skip_part "clang not installed: the --sanitizer-logs check"
fi
log PASS
