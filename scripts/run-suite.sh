#!/usr/bin/env bash
# run-suite.sh NAME BUILD_DIR [--expect-labels L1,L2,...] [CTEST_ARGS...] — run one build's
# ctest suite the way CI counts it, print what ran, and say whether it counts as green.
#   - ctest runs with --no-tests=error: a build with no tests registered is a failure;
#   - every label in --expect-labels must have at least one test selected (a whole kind of test
#     silently not registered, e.g. a build configured without its tests, fails);
#   - a skipped test (exit 77) is a failure unless EMBASSY_ALLOW_SKIPS=1 (for a local run on a
#     machine that truly lacks something; never in CI);
#   - it prints every failed and skipped test with its reason, the slowest tests, and a closing
#     line "NAME: N passed, N failed, N skipped (of N) in S s"; the same counts are appended to
#     $SUITE_SUMMARY (if set) for scripts/test.sh's summary.
# Exit 0 green; 1 failures, skips (not allowed) or nothing run; 2 usage.
set -euo pipefail
NAME=${1:?usage: run-suite.sh NAME BUILD_DIR [--expect-labels L,...] [CTEST_ARGS...]}
DIR=${2:?usage: run-suite.sh NAME BUILD_DIR [--expect-labels L,...] [CTEST_ARGS...]}
shift 2
EXPECT=
if [ "${1:-}" = --expect-labels ]; then
	EXPECT=${2:?--expect-labels needs a list}
	shift 2
fi
[ -f "$DIR/CTestTestfile.cmake" ] || { echo "run-suite.sh: $DIR is not a configured build with tests" >&2; exit 1; }
DIR=$(cd "$DIR" && pwd)
JUNIT=$DIR/Testing/suite-results.xml
mkdir -p "$DIR/Testing"
rm -f "$JUNIT"
status=0

echo "=== $NAME ($DIR) ==="
# each label that must be present: count the tests ctest would select for it
IFS=, read -r -a labels <<<"$EXPECT"
for l in "${labels[@]}"; do
	n=$(ctest --test-dir "$DIR" -N -L "^$l\$" "$@" | sed -n 's/^Total Tests: //p')
	if [ "${n:-0}" -eq 0 ]; then
		echo "$NAME: FAIL: no test with label '$l' is registered (is the build configured with its tests?)"
		status=1
	fi
done

t0=$SECONDS
ctest_rc=0
ctest --test-dir "$DIR" --no-tests=error --output-on-failure -j"${JOBS:-$(nproc)}" \
	--output-junit "$JUNIT" "$@" || ctest_rc=$?
secs=$((SECONDS - t0))

if [ ! -s "$JUNIT" ]; then
	echo "$NAME: FAIL: ctest wrote no results (exit $ctest_rc): nothing ran"
	echo "$NAME: 0 passed, 0 failed, 0 skipped (of 0) in ${secs} s" | tee -a "${SUITE_SUMMARY:-/dev/null}"
	exit 1
fi
python3 - "$JUNIT" "$NAME" "$DIR/Testing/suite-counts" <<'EOF'
import re, sys
import xml.etree.ElementTree as ET
path, name, counts = sys.argv[1], sys.argv[2], sys.argv[3]
cases = ET.parse(path).getroot().findall("testcase")
passed, failed, skipped = [], [], []
for c in cases:
    st = c.get("status")
    out = c.findtext("system-out") or ""
    t = float(c.get("time") or 0)
    if st == "run":
        passed.append((c.get("name"), t))
    elif st in ("notrun", "disabled"):
        why = [l.strip() for l in out.splitlines() if "SKIP" in l or "not run:" in l]
        skipped.append((c.get("name"), "; ".join(why[-3:]) or "(no reason printed)"))
    else:
        why = [l.strip() for l in out.splitlines() if re.search(r"FAIL|TIMEOUT|error", l)]
        failed.append((c.get("name"), why[-1] if why else "(see its output above)"))
for n, why in failed:
    print(f"{name}: FAILED  {n}: {why[:200]}")
for n, why in skipped:
    print(f"{name}: SKIPPED {n}: {why[:300]}")
slow = sorted(passed, key=lambda p: -p[1])[:5]
if slow:
    print(f"{name}: slowest: " + ", ".join(f"{n} {t:.0f}s" for n, t in slow))
with open(counts, "w") as f:
    print(len(passed), len(failed), len(skipped), len(cases), file=f)
EOF
read -r np nf ns nt <"$DIR/Testing/suite-counts"
[ "$nt" -gt 0 ] || { echo "$NAME: FAIL: no test ran (no tests registered: a build configured without EMBASSY_TESTS=ON?)"; status=1; }
[ "$nf" -eq 0 ] && [ "$ctest_rc" -eq 0 ] || status=1
if [ "$ns" -gt 0 ]; then
	if [ "${EMBASSY_ALLOW_SKIPS:-}" = 1 ]; then
		echo "$NAME: $ns skipped test(s) allowed by EMBASSY_ALLOW_SKIPS=1 (this run is not a CI pass)"
	else
		echo "$NAME: FAIL: $ns test(s) skipped: something the suite expects did not run" \
			"(install what they name, or EMBASSY_ALLOW_SKIPS=1 for a local run)"
		status=1
	fi
fi
echo "$NAME: $np passed, $nf failed, $ns skipped (of $nt) in ${secs} s" | tee -a "${SUITE_SUMMARY:-/dev/null}"
exit $status
