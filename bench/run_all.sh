#!/usr/bin/env bash
# run_all.sh [--small] [--wait-quiet MINUTES] [--with-remote] [--with-rw] [--no-30ms] — the one command:
# wait (up to MINUTES, default 20) for the 1-minute load average to drop below 1.0, then run
# seal_restore.sh, mount.sh (local disk, restic, embassy on its local store, over nginx
# HTTPS and through a 30 ms latency proxy) and metadata.sh (mount ready, find/ls medians) and
# print the ratio table of issue 11 (bench/ratio.py), which is appended to bench/RESULTS.md.
# --with-remote also runs remote.sh (restore throughput per store kind, Ceph RGW included).
# --with-rw also runs rw.sh (issue 10: the --rw mount vs local disk and rclone mount, commit vs
# seal vs restic backup, what a 4 KiB change commits; its own table, in RESULTS.md).
# If the machine never gets quiet the benches run anyway; each report records the load.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ARGS=(); MARGS=(); WAIT=20; REMOTE=0; RW=0
while [ $# -gt 0 ]; do
  case $1 in
    --small) ARGS+=(--small) ;;
    --wait-quiet) WAIT=$2; shift ;;
    --with-remote) REMOTE=1 ;;
    --with-rw) RW=1 ;;
    --no-30ms) MARGS+=(--no-30ms) ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
end=$(( $(date +%s) + WAIT * 60 ))
while :; do
  l=$(cut -d' ' -f1 /proc/loadavg)
  awk -v l="$l" 'BEGIN{exit !(l < 1.0)}' && { log "load $l: quiet"; break; }
  [ "$(date +%s)" -lt "$end" ] || { log "load still $l after $WAIT min: running anyway"; break; }
  log "load $l, waiting"
  sleep 30
done
mkdir -p "$WORK_ROOT"
export BENCH_FIGURES=$WORK_ROOT/figures.txt
: > "$BENCH_FIGURES"
rc=0
SCRIPTS=(seal_restore.sh mount.sh metadata.sh)
[ "$REMOTE" = 1 ] && SCRIPTS+=(remote.sh)
[ "$RW" = 1 ] && SCRIPTS+=(rw.sh)
for s in "${SCRIPTS[@]}"; do
  log "=== $s ${ARGS[*]}"
  extra=(); [ "$s" != seal_restore.sh ] && [ "$s" != remote.sh ] && [ "$s" != rw.sh ] && extra=("${MARGS[@]}")
  "$HERE/$s" "${ARGS[@]}" "${extra[@]}" || { rc=$?; log "$s failed ($rc)"; }
done
TABLE=$WORK_ROOT/ratio.md
{
  echo "## issue 11 ratio table — $(date -u '+%Y-%m-%d %H:%M UTC')${ARGS:+ (SMALL trial data set)}"
  echo
  echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')); load at the end (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg); the sections above have the load of each run"
  echo "- from the seal/restore and mount runs just above; figures in $BENCH_FIGURES"
  echo
  python3 "$HERE/ratio.py" "$BENCH_FIGURES"
} > "$TABLE"
cat "$TABLE"
{ echo; cat "$TABLE"; } >> "$RESULTS"
exit $rc
