#!/bin/sh
# criterion-run.sh TEST [ARGS...] — run one Criterion test executable for ctest. Criterion
# counts a cr_skip_test() as passed (exit 0); here a run that passed but skipped any case exits
# 77 (ctest's SKIP_RETURN_CODE) and names the skipped cases, so a skip is never a pass.
# A failure stays a failure, skips or not.
tap=$(mktemp "${TMPDIR:-/tmp}/criterion-tap.XXXXXX") || exit 2
trap 'rm -f "$tap"' EXIT
"$@" --tap="$tap"
rc=$?
if [ "$rc" -eq 0 ] && grep -q '# SKIP' "$tap"; then
	echo "criterion-run: SKIP: cases that did not run:" >&2
	grep '# SKIP' "$tap" | sed 's/^ok - /  /' >&2
	rc=77
fi
exit "$rc"
