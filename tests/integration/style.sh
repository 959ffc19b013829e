#!/usr/bin/env bash
# label: local
# style.sh — every C file is formatted as the checked-in .clang-format says (warnings are
# errors: the build enforces -Wall -Wextra -Werror, this enforces the layout).
set -euo pipefail
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC_DIR"
command -v clang-format >/dev/null || { echo "clang-format missing (scripts/deps.sh)" >&2; exit 1; }
bad=0
while IFS= read -r f; do
	if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
		echo "not clang-formatted: $f (run: clang-format -i $f)" >&2
		bad=1
	fi
done < <(find crypto store remote journal fs cli tests bench -name '*.[ch]' | sort)
[ $bad = 0 ] && echo "style: all C files match .clang-format"
exit $bad
