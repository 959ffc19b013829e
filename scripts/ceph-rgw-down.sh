#!/usr/bin/env bash
# ceph-rgw-down.sh DIR [--keep] — stop the daemons ceph-rgw-up.sh DIR started, by the PIDs it
# recorded (only if they still are ceph/radosgw processes), then remove DIR unless --keep.
# The cluster is throwaway: SIGTERM to all, SIGKILL after CEPH_STOP_GRACE_MS (default 500;
# a clean radosgw stop takes ~6 s and buys nothing here).
set -uo pipefail
DIR=${1:?usage: $0 DIR [--keep]}
GRACE_MS=${CEPH_STOP_GRACE_MS:-500}
[ -d "$DIR" ] || exit 0
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
pids=()
for f in "$DIR"/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  if [ -n "$p" ] && alive "$p" && grep -qE '^(ceph-|radosgw)' "/proc/$p/comm" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null && pids+=("$p")
  fi
done
end=$(( $(ms) + GRACE_MS ))
while [ ${#pids[@]} -gt 0 ] && [ "$(ms)" -lt $end ]; do
  left=()
  for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
  pids=("${left[@]+"${left[@]}"}")
  sleep 0.05
done
for p in "${pids[@]+"${pids[@]}"}"; do kill -KILL "$p" 2>/dev/null; done
for p in "${pids[@]+"${pids[@]}"}"; do
  for _ in $(seq 1 250); do alive "$p" || break; sleep 0.02; done
done
rm -f "$DIR"/*.pid
[ "${2:-}" = --keep ] || rm -rf "$DIR"
exit 0
