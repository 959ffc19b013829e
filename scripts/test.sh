#!/usr/bin/env bash
# test.sh — on a fresh Debian 12 machine (as root): install the packages, build the plain and
# the sanitizer (ASan+UBSan) builds and the fuzz targets, and run the whole suite with ctest.
# Idempotent; a second run rebuilds only what changed.
#   scripts/test.sh            everything
#   EMBASSY_QUICK=1 scripts/test.sh   plain build only (for a fast local loop)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh" --test
jobs=$(nproc)
status=0

run_suite() { # name builddir ctest-args...
  local name=$1 dir=$2; shift 2
  echo "=== $name ==="
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" || status=1
}

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
run_suite "plain build" build

if [ -z "${EMBASSY_QUICK:-}" ]; then
  # -O3 warns about things -O2 does not (and warnings are errors): the Release build must build
  echo "=== release build (compile check) ==="
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DEMBASSY_TESTS=OFF >/dev/null
  cmake --build build-release -j"$jobs" || status=1
  CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEMBASSY_SANITIZE=ON \
    -DEMBASSY_FUZZ=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # the sanitizer build runs the unit, fuzz and local integration tests; network tests
  # and the mount were exercised by the plain build
  EMBASSY_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "sanitizer build (ASan+UBSan) and fuzz smoke runs" build-asan -L 'unit|fuzz|local'
fi
exit $status
