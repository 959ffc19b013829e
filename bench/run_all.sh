#!/usr/bin/env bash
# run_all.sh [--small] [--wait-quiet MINUTES] — wait (up to MINUTES, default 20) for the 1-minute
# load average to drop below 1.0, then run seal_restore.sh, remote.sh, mount.sh and metadata.sh in turn.
# If the machine never gets quiet the benches run anyway; each report records the load.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ARGS=(); WAIT=20
while [ $# -gt 0 ]; do
  case $1 in
    --small) ARGS+=(--small) ;;
    --wait-quiet) WAIT=$2; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
end=$(( $(date +%s) + WAIT * 60 ))
while :; do
  l=$(cut -d' ' -f1 /proc/loadavg)
  awk -v l="$l" 'BEGIN{exit !(l < 1.0)}' && { echo "[$(date +%T)] load $l: quiet" >&2; break; }
  [ "$(date +%s)" -lt "$end" ] || { echo "[$(date +%T)] load still $l after $WAIT min: running anyway" >&2; break; }
  echo "[$(date +%T)] load $l, waiting" >&2
  sleep 30
done
rc=0
for s in seal_restore.sh remote.sh mount.sh metadata.sh; do
  echo "[$(date +%T)] === $s ${ARGS[*]}" >&2
  "$HERE/$s" "${ARGS[@]}" || { rc=$?; echo "$s failed ($rc)" >&2; }
done
exit $rc
