#!/usr/bin/env bash
# label: local
# timeout: 180
# style.sh — every C file is formatted as the checked-in .clang-format says (warnings are
# errors: the build enforces -Wall -Wextra -Werror, this enforces the layout).
set -euo pipefail
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC_DIR"
command -v clang-format >/dev/null || { echo "style: SKIP: clang-format missing (scripts/deps.sh)" >&2; exit 77; }
# every C file of every top-level folder but build trees and dot folders (a new folder such as
# journal/ is checked without editing this list)
files() {
	find . -mindepth 1 -maxdepth 1 -type d ! -name 'build*' ! -name '.*' -print0 |
		xargs -0 -I{} find {} -name '*.[ch]' -print0 | sort -z
}
# one clang-format per batch of files, not per file (it dominated the time on a loaded machine)
out=$(files | xargs -0 -n 64 -P 2 clang-format --dry-run --Werror 2>&1) || true
bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\.[ch]\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [ -n "$bad" ] || printf '%s\n' "$out" | grep -q .; then
	printf '%s\n' "$out" | grep -v '^ ' | head -20 >&2
	for f in $bad; do echo "not clang-formatted: $f (run: clang-format -i $f)" >&2; done
	exit 1
fi
echo "style: all $(files | tr -cd '\0' | wc -c) C files match .clang-format"
