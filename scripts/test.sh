#!/usr/bin/env bash
# test.sh — on a fresh Debian 12 machine (as root): install the packages, build the plain
# and the sanitizer (ASan+UBSan) builds and the fuzz targets, and run the whole suite with ctest.
# Idempotent; a second run rebuilds only what changed.
#   scripts/test.sh                    everything (what CI runs: .ci/run)
#   EMBASSY_QUICK=1 scripts/test.sh    plain build only (a fast local loop; not a CI pass)
#   EMBASSY_ALLOW_SKIPS=1              skipped tests do not fail the run (a local run on a machine
#                                      that truly lacks something; never in CI)
#   JOBS=N                             ctest parallelism (default: nproc)
# Every build is configured explicitly, whatever was left in its directory (scripts/demo.sh
# configures build/ without tests). Green means: every build has tests, every expected kind of
# test (label) is there, nothing failed, nothing was skipped. scripts/run-suite.sh does the
# counting; the closing lines say what ran.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh" --test
jobs=$(nproc)
export JOBS=${JOBS:-$jobs}
status=0
T0=$SECONDS
SUITE_SUMMARY=$(mktemp /tmp/embassy-test-summary.XXXXXX)
export SUITE_SUMMARY
trap 'rm -f "$SUITE_SUMMARY"' EXIT

# build NAME DIR CMAKE_ARGS...: configure explicitly and build; a failure counts, the rest runs
build() {
	local name=$1 dir=$2
	shift 2
	echo "=== build: $name ($dir) ==="
	mkdir -p "$dir"
	if cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1 && cmake --build "$dir" -j"$jobs"; then
		return 0
	fi
	tail -20 "$dir/configure.log"
	echo "$name: BUILD FAILED" | tee -a "$SUITE_SUMMARY"
	status=1
	return 1
}

if build "plain build" build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBASSY_TESTS=ON \
	-DEMBASSY_SANITIZE=OFF -DEMBASSY_FUZZ=OFF; then
	"$top/scripts/run-suite.sh" "plain build" build \
		--expect-labels unit,local,mount,network,hostile || status=1
fi

if [ -z "${EMBASSY_QUICK:-}" ]; then
	# -O3 warns about things -O2 does not (and warnings are errors): the Release build must build
	build "release build (compile check)" build-release -DCMAKE_BUILD_TYPE=Release \
		-DEMBASSY_TESTS=OFF -DEMBASSY_SANITIZE=OFF -DEMBASSY_FUZZ=OFF || true
	if CC=clang build "sanitizer build (ASan+UBSan) and fuzz targets" build-asan \
		-DCMAKE_BUILD_TYPE=Debug -DEMBASSY_TESTS=ON -DEMBASSY_SANITIZE=ON -DEMBASSY_FUZZ=ON; then
		# the sanitizer build runs the unit, fuzz and local integration tests; network tests
		# and the mount were exercised by the plain build
		EMBASSY_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"$top/scripts/run-suite.sh" "sanitizer build" build-asan \
			--expect-labels unit,fuzz,local -L 'unit|fuzz|local' || status=1
	fi
else
	echo "EMBASSY_QUICK=1: the release and sanitizer builds were not run (not a CI pass)" |
		tee -a "$SUITE_SUMMARY"
fi

echo
echo "=== summary ==="
cat "$SUITE_SUMMARY"
read -r np nf ns < <(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3/p' \
	"$SUITE_SUMMARY" | awk '{ p += $1; f += $2; s += $3 } END { print p+0, f+0, s+0 }')
echo "$([ $status = 0 ] && echo PASS || echo FAIL): $ns skipped$(
	[ -z "${EMBASSY_ALLOW_SKIPS:-}" ] || echo " (allowed: EMBASSY_ALLOW_SKIPS=1)"), $((SECONDS - T0)) s in all"
echo "$np passed, $nf failed"
exit $status
