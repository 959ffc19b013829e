#!/usr/bin/env bash
# bench/lifecycle.sh [--small] [--days N] — issue 13's lifecycle figures:
#   1. prune: N (default 30) daily snapshots of the data set, each day changing ~2 % of the
#      parcel files, appending to the CSV register and rewriting 1 MiB of the image; the same
#      history sealed with embassy and backed up with restic. Then `embassy forget --keep-last
#      7 --prune` vs `restic forget --keep-last 7 --prune`: wall time, peak RSS, bytes freed
#      (store size before - after). (--keep-last, not --keep-daily: the snapshots of one run
#      are minutes apart, and neither tool can be told another time for a seal here; both
#      keep the same 7.)
#   2. copy: `embassy copy` of the whole store (before the prune) from a local directory to
#      an nginx WebDAV store behind bench/latproxy at 30 ms each way: time and MiB/s.
# Prints a markdown report and appends it to bench/RESULTS.md (BENCH_RESULTS).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SMALL=()
DAYS=30
while [ $# -gt 0 ]; do
  case $1 in
    --small) SMALL=(--small) ;;
    --days) DAYS=$2; shift ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
need restic nginx python3 /usr/bin/time
[ -x "$LATPROXY" ] || die "no latproxy at $LATPROXY (CMake target latproxy)"
WORK=$WORK_ROOT/lifecycle
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
export EMBASSY_STATE_DIR=$WORK/state EMBASSY_TIMEOUT=600
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
export RESTIC_PASSWORD_FILE=$WORK/pass RESTIC_PROGRESS_FPS=0.016 RESTIC_CACHE_DIR=$WORK/restic-cache
CAP=0

load_dataset "${SMALL[@]}"
SRC=$WORK/src
log "copying the data set to $SRC (the history changes it)"
cp -a "$DATA" "$SRC"

STORE=$WORK/store; REPO_R=$WORK/restic
emb_init "$STORE"
restic init -q -r "$REPO_R" >/dev/null

# day D: ~2 % of the parcel files rewritten, a line appended to the CSV, 1 MiB of the image
# rewritten at an offset that moves with D (deterministic)
change_day() {
  local d=$1
  python3 - "$SRC" "$d" <<'PY'
import os, random, sys
root, day = sys.argv[1], int(sys.argv[2])
rnd = random.Random(day)
files = []
for dp, dn, fn in os.walk(root):
    dn.sort()
    for f in sorted(fn):
        files.append(os.path.join(dp, f))
small = [f for f in files if f.endswith(".xml")]
for f in rnd.sample(small, max(1, len(small) // 50)):
    with open(f, "wb") as o:
        o.write(rnd.randbytes(os.path.getsize(f) or 1024))
csv = [f for f in files if f.endswith(".csv")]
for f in csv:
    with open(f, "a") as o:
        o.write("day-%d,%d\n" % (day, rnd.randrange(10**9)))
big = max(files, key=os.path.getsize)
size = os.path.getsize(big)
with open(big, "r+b") as o:
    o.seek((day * 7919 * 1048576) % max(1, size - 1048576))
    o.write(rnd.randbytes(1048576))
PY
}

log "sealing $DAYS days (embassy) and backing them up (restic)"
for d in $(seq 1 "$DAYS"); do
  [ "$d" = 1 ] || change_day "$d"
  "$EMBASSY" seal "$STORE" "$SRC" --sealer-key "$WORK/sealer.key" -q >>"$LOGDIR/seal.log" 2>&1
  restic backup -q -r "$REPO_R" --host bench "$SRC" >>"$LOGDIR/backup.log" 2>&1
done
du_b() { du -sb "$1" | cut -f1; }
E_BEFORE=$(du_b "$STORE"); R_BEFORE=$(du_b "$REPO_R")

# ---- copy over 30 ms (before the prune: the whole history) ----
NG=$WORK/nginx
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NG" >"$LOGDIR/nginx.out" 2>&1 || { cat "$LOGDIR/nginx.out"; die "nginx did not start"; }
HTTP_URL=$(. "$NG/http.env"; echo "$STORE_URL")
NG_PORT=$(echo "$HTTP_URL" | sed -E 's|^http://127\.0\.0\.1:([0-9]+).*|\1|')
start_latproxy lp30 "$NG_PORT" 30
DST_URL=$(echo "${HTTP_URL%/}" | sed -E "s|:$NG_PORT|:$LP_PORT|")/copy-dst/
log "copy to $DST_URL (30 ms each way)"
timed copy30 "$EMBASSY" copy "$STORE" "$DST_URL" --passphrase-file "$WORK/pass" -q
C_WALL=$T_WALL; C_RSS=$T_RSS; C_RC=$T_RC

# ---- forget + prune ----
log "embassy forget --keep-last 7 --prune"
timed emb-prune "$EMBASSY" forget "$STORE" --keep-last 7 --prune --sealer-key "$WORK/sealer.key" --json
E_WALL=$T_WALL; E_RSS=$T_RSS; E_CPU=$T_CPU; E_RC=$T_RC
log "restic forget --keep-last 7 --prune"
timed res-prune restic -r "$REPO_R" forget --keep-last 7 --prune
R_WALL=$T_WALL; R_RSS=$T_RSS; R_CPU=$T_CPU; R_RC=$T_RC
E_AFTER=$(du_b "$STORE"); R_AFTER=$(du_b "$REPO_R")
"$EMBASSY" verify "$STORE" --passphrase-file "$WORK/pass" -q >"$LOGDIR/verify.log" 2>&1 && E_VERIFY=clean || E_VERIFY="FAILED (see log)"

DATASET_DESC="${DS_DESC:-$DATA} (${SMALL[*]:-full}); $DAYS daily snapshots, each day ~2 % of the parcel files rewritten, a line appended to the CSV, 1 MiB of the image rewritten"
OUT=$WORK/report.md
{
  machine_header "issue 13: prune of $DAYS daily snapshots, copy over 30 ms"
  echo
  echo "| forget --keep-last 7 --prune | wall s | CPU s | peak RSS MiB | store before MiB | after MiB | freed MiB | exit |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "| embassy | $E_WALL | $E_CPU | $(kib2mib "$E_RSS") | $(mib "$E_BEFORE") | $(mib "$E_AFTER") | $(mib $((E_BEFORE - E_AFTER))) | $E_RC |"
  echo "| restic | $R_WALL | $R_CPU | $(kib2mib "$R_RSS") | $(mib "$R_BEFORE") | $(mib "$R_AFTER") | $(mib $((R_BEFORE - R_AFTER))) | $R_RC |"
  echo "| ratio restic/embassy (time) | $(ratio "$R_WALL" "$E_WALL") | | | | | | |"
  echo
  echo "- embassy store verifies after the prune: $E_VERIFY"
  echo "- embassy copy of the whole store ($DAYS snapshots, $(mib "$E_BEFORE") MiB) to nginx WebDAV through latproxy 30 ms each way: $C_WALL s, $(mibps "$E_BEFORE" "$C_WALL") MiB/s, peak RSS $(kib2mib "$C_RSS") MiB, exit $C_RC"
} > "$OUT"
emit "$OUT"
