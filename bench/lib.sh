# bench/lib.sh — shared helpers for the bench scripts (sourced, not run).
# Provides: cleanup registry (by PID / mountpoint), cold-cache drop, timing with
# /usr/bin/time, readiness polling, result-table helpers, the RESULTS.md header.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
EMBASSY=${EMBASSY:-/work/build-bench/embassy}
LATPROXY=${LATPROXY:-$(dirname "$EMBASSY")/latproxy} # built beside embassy (CMake target latproxy)
WORK_ROOT=${BENCH_WORK:-/var/tmp/embassy-bench-work}
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/RESULTS.md}
CAP=${BENCH_CAP:-120}          # seconds: upper bound of one measured step

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

# ---- cleanup registry: everything we start is stopped by PID or unmounted by path ----
_CLEAN_PIDS=()
_CLEAN_MOUNTS=()
_CLEAN_CMDS=()
add_pid()   { _CLEAN_PIDS+=("$1"); }
add_mount() { _CLEAN_MOUNTS+=("$1"); }
add_cmd()   { _CLEAN_CMDS+=("$1"); }
cleanup() {
  local rc=$? m p i
  set +e
  trap - EXIT INT TERM
  for m in "${_CLEAN_MOUNTS[@]}"; do
    mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
  done
  for p in "${_CLEAN_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null && kill "$p" 2>/dev/null
  done
  for p in "${_CLEAN_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
  done
  # last registered, first run (servers before the directory that holds them)
  for ((i = ${#_CLEAN_CMDS[@]} - 1; i >= 0; i--)); do
    eval "${_CLEAN_CMDS[$i]}" >/dev/null 2>&1
  done
  return $rc
}
# start_bg NAME CMD...: a background process (output in $LOGDIR/NAME.out), registered for
# cleanup by PID; its PID is in BG_PID (do not call it in a $(...) subshell)
start_bg() { local n=$1; shift; "$@" >"$LOGDIR/$n.out" 2>&1 & BG_PID=$!; add_pid "$BG_PID"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- environment ----
need() { local b; for b in "$@"; do command -v "$b" >/dev/null || die "$b not found (scripts/deps.sh --bench)"; done; }

drop_caches() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches
  else log "cannot drop caches (not root): cold figures are not cold"; fi
}

# wait_until TIMEOUT_S CMD... : poll every 10 ms until CMD succeeds
wait_until() {
  local t=$1; shift
  local end=$(( $(date +%s%N) + t * 1000000000 ))
  until "$@" 2>/dev/null; do
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.01
  done
}
now_ns() { date +%s%N; }

# timed NAME CMD... : run CMD under /usr/bin/time (bounded by $CAP s unless CAP=0);
# sets T_WALL (s), T_RSS (KiB), T_CPU (user+sys s), T_RC. Output of CMD goes to $LOGDIR/NAME.log.
timed() {
  local name=$1; shift
  local tf="$LOGDIR/$name.time" lf="$LOGDIR/$name.log" u s
  local to=()
  [ "${CAP}" != 0 ] && to=(timeout -k 5 "$CAP")
  set +e
  "${to[@]}" /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$lf" 2>&1
  T_RC=$?
  set -e
  if [ -s "$tf" ] && read -r T_WALL T_RSS u s < <(tail -1 "$tf") && [[ $T_WALL =~ ^[0-9.]+$ ]]; then
    T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')
  else
    T_WALL=$CAP; T_RSS=0; T_CPU=0
  fi
  if [ "$T_RC" = 124 ] || [ "$T_RC" = 137 ]; then T_WALL=">$CAP"; fi
  [ "$T_RC" = 0 ] || log "$name: exit $T_RC (log: $lf)"
  return 0
}

# arithmetic helpers (awk); "n/a" or ">N" propagate
calc() { awk "BEGIN{ printf \"%.${2:-2}f\", ($1) }"; }
isnum() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
# ratio A B: A/B; a bound on either side (">120", "<8.3") gives a bound on the ratio
ratio() {
  local a=$1 b=$2 pa="" pb="" p
  [[ $a == [\<\>]* ]] && { pa=${a:0:1}; a=${a:1}; }
  [[ $b == [\<\>]* ]] && { pb=${b:0:1}; b=${b:1}; }
  a=${a%s}; b=${b%s}
  isnum "$a" && isnum "$b" && [ "$(calc "$b > 0" 0)" = 1 ] || { echo "n/a"; return; }
  # A bounded below or B bounded above: the ratio is bounded below (and vice versa)
  local lo=0 hi=0
  [ "$pa" = ">" ] && lo=1; [ "$pb" = "<" ] && lo=1
  [ "$pa" = "<" ] && hi=1; [ "$pb" = ">" ] && hi=1
  [ $lo = 1 ] && [ $hi = 1 ] && { echo "n/a"; return; }
  p=""; [ $lo = 1 ] && p=">"; [ $hi = 1 ] && p="<"
  echo "$p$(calc "$a / $b" 2)"
}
mibps() { if isnum "$2" && [ "$(calc "$2 > 0" 0)" = 1 ]; then calc "$1 / 1048576 / $2" 0; elif [[ $2 == ">"* ]]; then echo "<$(calc "$1 / 1048576 / ${2#>}" 1)"; else echo "n/a"; fi; }
perS() { if isnum "$2" && [ "$(calc "$2 > 0" 0)" = 1 ]; then calc "$1 / $2" 0; elif [[ $2 == ">"* ]]; then echo "<$(calc "$1 / ${2#>}" 1)"; else echo "n/a"; fi; }
mib() { calc "$1 / 1048576" 1; }
kib2mib() { if isnum "$1"; then calc "$1 / 1024" 0; else echo "n/a"; fi; }

# start_latproxy NAME UPSTREAM_PORT DELAY_MS: bench/latproxy in front of 127.0.0.1:UPSTREAM_PORT,
# delaying each direction by DELAY_MS; its port in LP_PORT (registered for cleanup by PID)
start_latproxy() {
  rm -f "$WORK/$1.port"
  start_bg "$1" "$LATPROXY" --upstream "127.0.0.1:$2" --delay-ms "$3" --port-file "$WORK/$1.port"
  wait_until 20 test -s "$WORK/$1.port" || die "latproxy $1 did not start"
  LP_PORT=$(cat "$WORK/$1.port")
}

# figure KEY VALUE: one machine-readable figure for bench/ratio.py (to $BENCH_FIGURES, if set)
figure() { [ -z "${BENCH_FIGURES:-}" ] || printf '%s\t%s\n' "$1" "$2" >> "$BENCH_FIGURES"; }

# ---- header for RESULTS.md ----
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
machine_header() {
  local title=$1 disk cpu ram
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  ram=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
  local src; src=$(findmnt -no SOURCE -T "$WORK_ROOT" 2>/dev/null || echo '?')
  local dev; dev=$(basename "$src")
  local rota; rota=$(cat "/sys/block/$dev/queue/rotational" 2>/dev/null || echo '?')
  disk="$src ($(findmnt -no FSTYPE -T "$WORK_ROOT" 2>/dev/null), $(lsblk -dno SIZE "$src" 2>/dev/null | tr -d ' '), rotational=$rota, virtio)"
  local rev; rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)
  local dirty; dirty=$(git -C "$REPO" status --porcelain 2>/dev/null | grep -v '^??' | grep -c . || true)
  echo "## $title — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) CPUs ($cpu), RAM $ram, disk $disk; kernel $(uname -r)"
  echo "- load (1/5/15 min): before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "${EMBASSY_DESC:-}" ]; then echo "- embassy: $EMBASSY_DESC, binary $EMBASSY"
  else echo "- embassy: work tree at git $rev$( [ "$dirty" -gt 0 ] && echo " + $dirty uncommitted changed files"), binary $EMBASSY built $(date -u -r "$EMBASSY" '+%H:%M UTC') (Release)"; fi
  echo "- restic: $(restic version 2>/dev/null | cut -d' ' -f2); rclone: $(rclone version 2>/dev/null | head -1 | cut -d' ' -f2); fio: $(fio --version 2>/dev/null); sqlite3 (python): $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
  echo "- data set: $DATASET_DESC"
}

# emit FILE: the report (already written to FILE) goes to stdout and is appended to RESULTS.md
emit() {
  cat "$1"
  { echo; cat "$1"; } >> "$RESULTS"
  log "appended to $RESULTS"
}

# ---- data set ----
# load_dataset [--small]: builds/reuses the cached data set, sets DATA (tree root) and names
load_dataset() {
  DATA=$("$BENCH_DIR/dataset.sh" "$@" | tail -1)
  [ -d "$DATA" ] || die "dataset.sh did not produce a tree"
  # shellcheck disable=SC1091
  . "$DATA/../dataset.env"
}

# ---- embassy helpers ----
# emb_init STORE [store access options...]: a fresh store, sealer key in $WORK/sealer.key
emb_init() {
  local store=$1; shift
  rm -f "$WORK/sealer.key"
  "$EMBASSY" init "$store" --sealer-key "$WORK/sealer.key" --passphrase-file "$WORK/pass" \
    --kdf-memory 64 --kdf-ops 1 "$@" >/dev/null
}
