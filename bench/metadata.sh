#!/usr/bin/env bash
# metadata.sh [--small] [--runs N] [--no-30ms] [--no-restic] — the mount's metadata figures
# (issue 11), side by side in one run: local disk, `restic mount` (0.14, local repository;
# REST via `rclone serve restic` at 30 ms) and `embassy mount` (local store; plain-HTTP nginx;
# nginx through a 30 ms latency proxy).
#   mount ready   command to the data set's database path visible (passphrase unlock included;
#                 the bench stores use --kdf-memory 64 --kdf-ops 1, as the other benches)
#   find          cold (caches dropped, fresh mount, fresh daemon caches) and warm (again)
#   ls -lR        cold and warm, the same way
#   daemon CPU    user+sys seconds the mount daemon spent during each cold figure
#   ready, 21 snapshots   the same store after 20 more seals: mount ready must not grow
#   ready, default KDF    a store with init's default Argon2id (256 MiB, 3 passes), without
#                 and with `embassy agent` holding its key (when this embassy has the agent)
# Each figure is the median of N runs (default 3; every run listed in the log section).
# env: EMBASSY, BENCH_WORK, BENCH_KEEP, BENCH_RESULTS, BENCH_CAP (see bench/README.md),
#      LATPROXY (default: latproxy beside $EMBASSY; else tests/tools/faultproxy.py)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SMALL=(); RUNS=3; DO30=1; RESTIC=1
while [ $# -gt 0 ]; do
  case $1 in
    --small) SMALL=(--small) ;; --runs) RUNS=$2; shift ;; --no-30ms) DO30=0 ;;
    --no-restic) RESTIC=0 ;; -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done
need fusermount3 mountpoint /usr/bin/time nginx curl python3
[ "$RESTIC" = 0 ] || need restic rclone
[ -x "$EMBASSY" ] || die "$EMBASSY not built (see bench/README.md)"
load_dataset "${SMALL[@]}"
LATPROXY=${LATPROXY:-$(dirname "$EMBASSY")/latproxy}

WORK=$WORK_ROOT/metadata
for m in "$WORK"/mnt; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"; done
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
export EMBASSY_STATE_DIR=$WORK/state EMBASSY_TIMEOUT=60
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
export RESTIC_PASSWORD_FILE=$WORK/pass RESTIC_PROGRESS_FPS=0.016
MNT=$WORK/mnt; mkdir -p "$MNT"; add_mount "$MNT"

# ---- stores ----
NG=$WORK/nginx
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NG" >"$LOGDIR/nginx.out" 2>&1 || { cat "$LOGDIR/nginx.out"; die "nginx did not start"; }
HTTP_URL=$(. "$NG/http.env"; echo "$STORE_URL")
STORE=$NG/data/store
log "sealing the data set (embassy, format $("$EMBASSY" --version 2>/dev/null | sed -n 's/.*format \([0-9]*\).*/\1/p'))"
emb_init "$STORE"
CAP=0 timed seal "$EMBASSY" seal "$STORE" "$DATA" --sealer-key "$WORK/sealer.key" -q
[ "$T_RC" = 0 ] || die "seal failed"
if [ "$RESTIC" = 1 ]; then
  log "restic backup into a local repository"
  RREPO=$WORK/restic-repo
  restic init -r "$RREPO" >/dev/null 2>&1 || die "restic init failed"
  RESTIC_CACHE_DIR=$WORK/rc-backup CAP=0 timed rbackup restic -r "$RREPO" backup "$DATA"
  [ "$T_RC" = 0 ] || die "restic backup failed"
  rm -rf "$WORK/rc-backup"
fi

# ---- proxies for 30 ms ----
# proxy NAME UPSTREAM_HOSTPORT: a 15 ms-each-way proxy (30 ms round trip); port in PROXY_PORT
PROXY_KIND=
proxy() {
  local f=$WORK/$1.port
  rm -f "$f"
  if [ -x "$LATPROXY" ]; then
    PROXY_KIND="latproxy (TCP, 15 ms each way)"
    start_bg "$1" "$LATPROXY" --upstream "$2" --delay-ms 15 --port-file "$f"
  else
    PROXY_KIND="faultproxy.py (30 ms per request)"
    start_bg "$1" python3 "$REPO/tests/tools/faultproxy.py" --upstream "http://$2" --port-file "$f" --latency-ms 30
  fi
  wait_until 20 test -s "$f" || die "proxy $1 did not start"
  PROXY_PORT=$(cat "$f")
}

# ---- one mount ----
DPID=; ROOT=; READY=
# mount_fresh SYS [URL|REPO]: caches dropped, a fresh daemon with empty caches
mount_fresh() {
  local sys=$1 where=${2:-} t0
  drop_caches
  rm -rf "$WORK/ecache" "$WORK/rcache"
  t0=$(now_ns)
  case $sys in
    local) ROOT=$DATA; DPID=; READY=0; return 0 ;;
    embassy)
      # a store in a local directory is not cached on disk again (embassy's default since
      # issue 11; --cache-size 0 says so to older builds too); a remote one gets a fresh cache
      local cache=(--cache-dir "$WORK/ecache")
      [[ $where == /* ]] && cache=(--cache-size 0)
      start_bg emb-mount "$EMBASSY" mount "$where" "$MNT" --foreground --passphrase-file "$WORK/pass" \
        "${cache[@]}" "${EMB_MOUNT_OPTS[@]}"
      ROOT=$MNT/latest ;;
    restic)
      RESTIC_CACHE_DIR=$WORK/rcache start_bg restic-mount restic -r "$where" mount "$MNT"
      ROOT=$MNT/snapshots/latest$DATA ;;
  esac
  DPID=$BG_PID
  if ! wait_until "$CAP" test -e "$ROOT/$DS_DB"; then
    log "$sys mount not ready after $CAP s"; READY=">$CAP"; return 1
  fi
  READY=$(calc "($(now_ns) - $t0) / 1e9" 2)
}
umount_now() {
  [ -n "$DPID" ] || return 0
  HWM_LAST=$(awk '/VmHWM/{print $2}' "/proc/$DPID/status" 2>/dev/null || echo 0)
  fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$DPID" 2>/dev/null && { kill "$DPID"; sleep 0.5; kill -9 "$DPID" 2>/dev/null || true; }
  wait "$DPID" 2>/dev/null || true
  DPID=
}
cpu_s() { [ -n "$DPID" ] && awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$DPID/stat" 2>/dev/null || echo 0; }

declare -A V   # "SYS|LINK|FIGURE" -> space-separated samples
add() { V[$1]="${V[$1]:-}${V[$1]:+ }$2"; }
med() { # median of the samples (">N" sorts last)
  local s=${V[$1]:-}
  [ -n "$s" ] || { echo -; return; }
  tr ' ' '\n' <<<"$s" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'
}

# measure SYS LINK WHERE: RUNS rounds of: fresh mount (ready), find cold, find warm; fresh
# mount, ls -lR cold, ls -lR warm (with daemon CPU for the cold ones)
measure() {
  local sys=$1 link=$2 where=${3:-} r c0 k="$1|$2"
  for r in $(seq 1 "$RUNS"); do
    log "$sys @$link: round $r/$RUNS"
    mount_fresh "$sys" "$where" || { add "$k|ready" ">$CAP"; umount_now; continue; }
    [ "$sys" = local ] || add "$k|ready" "$READY"
    c0=$(cpu_s); timed "$sys-$link-find-cold-$r" find "$ROOT/"
    add "$k|find_cold" "$T_WALL"; add "$k|find_cpu" "$(calc "$(cpu_s) - $c0" 2)"
    timed "$sys-$link-find-warm-$r" find "$ROOT/"; add "$k|find_warm" "$T_WALL"
    umount_now
    mount_fresh "$sys" "$where" || { umount_now; continue; }
    c0=$(cpu_s); timed "$sys-$link-ls-cold-$r" ls -lR "$ROOT/"
    add "$k|ls_cold" "$T_WALL"; add "$k|ls_cpu" "$(calc "$(cpu_s) - $c0" 2)"
    timed "$sys-$link-ls-warm-$r" ls -lR "$ROOT/"; add "$k|ls_warm" "$T_WALL"
    [ -z "$DPID" ] || { umount_now; add "$k|hwm" "$(kib2mib "${HWM_LAST:-0}")"; }
  done
}

EMB_MOUNT_OPTS=()
measure local 0
measure embassy 0 "$STORE"
[ "$RESTIC" = 0 ] || measure restic 0 "$RREPO"
measure embassy http "$HTTP_URL/store"
if [ "$DO30" = 1 ]; then
  proxy proxy-http "${HTTP_URL#http://}"
  measure embassy 30 "http://127.0.0.1:$PROXY_PORT/store"
  if [ "$RESTIC" = 1 ]; then
    P_REST=$("$REPO/scripts/free-port.sh")
    start_bg rclone-serve-restic rclone serve restic --addr "127.0.0.1:$P_REST" "$RREPO"
    wait_until 20 curl -sf -o /dev/null "http://127.0.0.1:$P_REST/config" || die "rclone serve restic not ready"
    proxy proxy-rest "127.0.0.1:$P_REST"
    measure restic 30 "rest:http://127.0.0.1:$PROXY_PORT/"
  fi
fi

# ---- mount ready against store size and KDF ----
log "20 more seals (unchanged data: no file is read again)"
for i in $(seq 1 20); do
  CAP=0 timed "reseal-$i" "$EMBASSY" seal "$STORE" "$DATA" --sealer-key "$WORK/sealer.key" -q
done
for r in $(seq 1 "$RUNS"); do
  mount_fresh embassy "$STORE" && add "embassy|0|ready21" "$READY"; umount_now
done
log "a store with the default KDF"
KSTORE=$WORK/kdf-store; rm -f "$WORK/sealer2.key"
"$EMBASSY" init "$KSTORE" --sealer-key "$WORK/sealer2.key" --passphrase-file "$WORK/pass" >/dev/null 2>&1
CAP=0 timed kseal "$EMBASSY" seal "$KSTORE" "$DATA" --sealer-key "$WORK/sealer2.key" -q
for r in $(seq 1 "$RUNS"); do
  mount_fresh embassy "$KSTORE" && add "embassy|0|ready_kdf" "$READY"; umount_now
done
AGENT=0
if "$EMBASSY" agent --help >/dev/null 2>&1; then
  AGENT=1
  export EMBASSY_AGENT_DIR=$WORK/agent
  "$EMBASSY" agent start --timeout 1h >"$LOGDIR/agent.out" 2>&1 || die "agent start failed"
  add_cmd "'$EMBASSY' agent stop"
  "$EMBASSY" agent add "$KSTORE" --passphrase-file "$WORK/pass" >>"$LOGDIR/agent.out" 2>&1 || die "agent add failed"
  for r in $(seq 1 "$RUNS"); do
    mount_fresh embassy "$KSTORE" && add "embassy|0|ready_agent" "$READY"; umount_now
  done
  "$EMBASSY" agent stop >>"$LOGDIR/agent.out" 2>&1 || true
fi

# ---- report ----
REPORT=$WORK/report.md
ratio2() { local r; r=$(ratio "$1" "$2"); [[ $r == n/a ]] && echo - || echo "${r}x"; }
row() { # row LABEL FIGURE AIM: local | restic | embassy | embassy/restic | embassy/local | aim
  local l=$1 f=$2 aim=$3 lo re em
  lo=$(med "local|0|$f"); re=$(med "restic|0|$f"); em=$(med "embassy|0|$f")
  echo "| $l | $lo | $re | $em | $(ratio2 "$em" "$re") | $(ratio2 "$em" "$lo") | $aim |"
}
{
  machine_header "metadata: embassy mount vs restic mount vs local disk${SMALL:+ — SMALL trial data set}"
  echo "- cold = caches dropped, fresh mount, fresh daemon caches; warm = the same command again on that mount. Median of $RUNS runs (all samples below). Lower is better; ratios are embassy / other."
  echo "- embassy: local store (a directory; no disk cache), plain-HTTP nginx on loopback (fresh disk cache per mount), and nginx through ${PROXY_KIND:-no proxy} at 30 ms; restic 0.14: local repository, and \`rclone serve restic\` through the same kind of proxy at 30 ms. Bench stores use --kdf-memory 64 --kdf-ops 1 unless said."
  echo
  echo "### local store"
  echo
  echo "| figure | local disk | restic mount | embassy | embassy/restic | embassy/local disk | aim (issue 11) |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  row "mount ready, s" ready "≤ 0.3 s incl. unlock"
  row "\`find\` cold, s" find_cold "≤ 0.2× restic"
  row "\`find\` cold, daemon CPU s" find_cpu "-"
  row "\`find\` warm, s" find_warm "-"
  row "\`ls -lR\` cold, s" ls_cold "≤ 0.8× restic; 2-3× local disk"
  row "\`ls -lR\` cold, daemon CPU s" ls_cpu "-"
  row "\`ls -lR\` warm, s" ls_warm "≤ 0.25× restic; 1.5× local disk"
  row "daemon peak RSS (VmHWM), MiB" hwm "-"
  echo
  echo "### embassy over HTTP (nginx, loopback) and at 30 ms"
  echo
  echo "| figure | embassy local store | embassy nginx | embassy 30 ms | restic 30 ms | embassy/restic 30 ms | aim |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  for f in ready find_cold ls_cold ls_warm; do
    a=$(med "embassy|30|$f"); b=$(med "restic|30|$f")
    aim=-; [ "$f" = ls_cold ] && aim="≤ 1 s at 30 ms"
    echo "| $f, s | $(med "embassy|0|$f") | $(med "embassy|http|$f") | $a | $b | $(ratio2 "$a" "$b") | $aim |"
  done
  echo
  echo "### mount ready against store size and unlock (embassy, local store)"
  echo
  echo "| mount ready, s | median |"
  echo "|---|---:|"
  echo "| 1 snapshot | $(med "embassy|0|ready") |"
  echo "| 21 snapshots | $(med "embassy|0|ready21") |"
  echo "| default KDF (Argon2id 256 MiB, 3 passes), no agent | $(med "embassy|0|ready_kdf") |"
  if [ "$AGENT" = 1 ]; then echo "| default KDF, key held by \`embassy agent\` | $(med "embassy|0|ready_agent") |"
  else echo "| default KDF, with an agent | (this embassy has no agent) |"; fi
  echo
  echo "<details><summary>all samples</summary>"
  echo
  for k in $(printf '%s\n' "${!V[@]}" | sort); do echo "- $k: ${V[$k]}"; done
  echo
  echo "</details>"
} > "$REPORT"
emit "$REPORT"
