#!/usr/bin/env bash
# floor.sh [--small] [--rounds N] [--steps "untar find cp rsync"] — the FUSE floor on this
# kernel (issues 10 and 11): the same small-file workloads through local disk, through
# bench/fuse_floor (an in-memory FUSE file system configured as embassy's mounts, doing no
# work but answering from RAM) and through embassy, alternated in N rounds (default 3),
# medians reported:
#   untar of the 20,000 small files: local disk / fuse_floor --rw / embassy mount --rw (store
#     on nginx, base = the SQLite register, as bench/rw.sh makes it), plus fuse_floor variants
#     (--writeback-cache, --no-default-permissions, both);
#   cold `find`, `cp -a`, `rsync -a` of the same files: local disk / fuse_floor --ro / embassy
#     read-only mount (local directory store holding the files): page cache dropped and a fresh
#     mount before every step.
# Every copy is compared with the source (names, types, modes, owners, sizes, mtimes to the
# second, symlink targets, and every byte: diff -r); a copy that differs fails the run.
# Requests per file: fuse_floor's own counts (per opcode, read off /dev/fuse), and embassy's
# from one extra, untimed pass with libfuse's debug log (-vvv).
# Needs a Release build dir holding embassy and fuse_floor: EMBASSY=DIR/embassy (FLOOR=
# overrides fuse_floor's path). Work, mounts and logs under /var/tmp/floor-bench (FLOOR_WORK).
# --steps: a subset of the steps (default all four). The report goes to stdout and is
# appended to bench/RESULTS.md (BENCH_RESULTS).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_WORK=${FLOOR_WORK:-/var/tmp/floor-bench}
. "$HERE/lib.sh"
SMALL=(); ROUNDS=3; STEPS="untar find cp rsync"
while [ $# -gt 0 ]; do
  case $1 in
    --small) SMALL=(--small) ;;
    --rounds) ROUNDS=${2:?}; shift ;;
    --steps) STEPS=${2:?}; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
for st in $STEPS; do [[ $st =~ ^(untar|find|cp|rsync)$ ]] || die "unknown step $st"; done
has_step() { [[ " $STEPS " == *" $1 "* ]]; }
CAP=${BENCH_CAP:-300}
FLOOR=${FLOOR:-$(dirname "$EMBASSY")/fuse_floor}
need tar rsync find diff nginx curl fusermount3 mountpoint /usr/bin/time
[ -x "$EMBASSY" ] || die "no embassy binary at $EMBASSY (see bench/README.md)"
[ -x "$FLOOR" ] || die "no fuse_floor at $FLOOR (cmake --build BUILD --target fuse_floor)"
load_dataset "${SMALL[@]}"
SRC=$DATA/$DS_SMALL

WORK=$WORK_ROOT
for m in "$WORK"/mnt-*; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"; done
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
export EMBASSY_STATE_DIR=$WORK/state EMBASSY_RUNTIME_DIR=$WORK/run EMBASSY_TIMEOUT=60
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
MNT=$WORK/mnt-fuse; OUT=$WORK/out
mkdir -p "$MNT"; add_mount "$MNT"

# ---- the reference: what every copy must show ----
# listing DIR: one line per entry (path, type, mode, owner, size but for directories, mtime in
# whole seconds: tar keeps no more, symlink target)
listing() {
  (cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%T@\t%l\n') |
    awk -F'\t' -v OFS='\t' '{ if ($2 == "d") $6 = "-"; $7 = int($7); print }' | LC_ALL=C sort
}
listing "$SRC" > "$WORK/src.list"
NFILES=$(awk -F'\t' '$2 == "f"' "$WORK/src.list" | wc -l)
FAILED=(); CHECKS=0
# check NAME DIR: DIR is the source, byte for byte; a difference is recorded (the run fails)
check() {
  CHECKS=$((CHECKS + 1))
  if ! listing "$2" | cmp -s - "$WORK/src.list"; then
    listing "$2" | diff "$WORK/src.list" - > "$LOGDIR/$1.listdiff" || true
    FAILED+=("$1: metadata differ ($LOGDIR/$1.listdiff)"); log "$1: metadata DIFFER"
  elif ! diff -r --no-dereference "$SRC" "$2" > "$LOGDIR/$1.diff" 2>&1; then
    FAILED+=("$1: contents differ ($LOGDIR/$1.diff)"); log "$1: contents DIFFER"
  fi
}

# ---- stores: embassy --rw on nginx (as bench/rw.sh), the read-only one a local directory ----
log "inputs and stores"
tar -C "$SRC" -cf "$WORK/small.tar" .
NG=$WORK/nginx
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NG" >"$LOGDIR/nginx.out" 2>&1 || { cat "$LOGDIR/nginx.out"; die "nginx did not start"; }
URL=$(. "$NG/http.env"; echo "$STORE_URL"); URL=${URL%/}
SRW=$URL/emb-rw/
mkdir -p "$WORK/base/business"; cp "$DATA/$DS_DB" "$WORK/base/business/register.db"
emb_init "$SRW"; mv "$WORK/sealer.key" "$WORK/sealer-rw.key"
CAP=0 timed seal_rw "$EMBASSY" seal "$SRW" "$WORK/base" --sealer-key "$WORK/sealer-rw.key" -q
[ "$T_RC" = 0 ] || die "base seal (--rw store) failed"
SRO=$WORK/store-ro
emb_init "$SRO"
CAP=0 timed seal_ro "$EMBASSY" seal "$SRO" "$SRC" --sealer-key "$WORK/sealer.key" -q
[ "$T_RC" = 0 ] || die "seal of the small files failed"

# ---- one measured step ----
pid_cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
ctxt() { awk '$1 == "ctxt" {print $2}' /proc/stat; }
DPID=; ROOT=; N=0
# up SYS MODE: a fresh mount of SYS (floor*, embassy) for MODE (rw|ro), or the local directory;
# sets ROOT (where the step works) and DPID
up() {
  local sys=$1 mode=$2 flags=()
  N=$((N + 1)); DPID=
  case $sys in
    local)
      if [ "$mode" = rw ]; then ROOT=$WORK/local-untar; rm -rf "$ROOT"; mkdir -p "$ROOT"; else ROOT=$SRC; fi
      return 0 ;;
    floor*)
      [[ $sys == *-wb* ]] && flags+=(--writeback-cache)
      [[ $sys == *-nodp* ]] && flags+=(--no-default-permissions)
      if [ "$mode" = rw ]; then flags+=(--rw); else flags+=(--ro "$SRC"); fi
      start_bg "$N-$sys" "$FLOOR" "${flags[@]}" --stats "$WORK/stats-$N" "$MNT"
      ROOT=$MNT ;;
    embassy)
      if [ "$mode" = rw ]; then
        start_bg "$N-$sys" "$EMBASSY" ${EMB_VERBOSE:-} mount "$SRW" "$MNT" --rw \
          --sealer-key "$WORK/sealer-rw.key" --journal-dir "$WORK/journal-$N" --commit-every 0 --foreground
        ROOT=$MNT/untar
      else
        start_bg "$N-$sys" "$EMBASSY" ${EMB_VERBOSE:-} mount "$SRO" "$MNT" \
          --passphrase-file "$WORK/pass" --cache-dir "$WORK/ecache-$N" --foreground
        ROOT=$MNT/latest
      fi ;;
  esac
  DPID=$BG_PID
  wait_until 120 mountpoint -q "$MNT" || { tail -5 "$LOGDIR/$N-$sys.out" >&2; die "$sys did not mount"; }
  if [ "$sys" = embassy ] && [ "$mode" = rw ]; then mkdir "$ROOT"; fi
  if [ "$sys" = embassy ] && [ "$mode" = ro ]; then
    wait_until 120 test -d "$ROOT" || die "embassy: no latest/ in the mount"
  fi
}
# down: unmount, then the daemon's exit waited for (killed by PID after 120 s)
down() {
  [ -n "$DPID" ] || return 0
  mountpoint -q "$MNT" && fusermount3 -u "$MNT"
  wait_until 120 eval "! kill -0 $DPID" || { log "daemon $DPID did not exit: killed"; kill -9 "$DPID" 2>/dev/null || true; }
  wait "$DPID" 2>/dev/null || log "daemon $DPID exited with $?"
  DPID=
}

# step NAME SYS MODE CMD...: fresh mount (or the local tree), caches dropped, CMD timed in ROOT's
# terms (the words ROOT and OUT in CMD are replaced); the figures go to R[NAME,SYS,round]
declare -A R CPU CTX LOADS
step() {
  local name=$1 sys=$2 mode=$3; shift 3
  local c0 cpu0 cpu1 args=() a
  rm -rf "$OUT"; [ "$name" = untar ] || mkdir -p "$OUT"
  up "$sys" "$mode"
  drop_caches
  [ "$name" = untar ] && cat "$WORK/small.tar" > /dev/null # we measure the write side
  for a in "$@"; do a=${a//@ROOT@/$ROOT}; args+=("${a//@OUT@/$OUT}"); done
  cpu0=0; [ -n "$DPID" ] && cpu0=$(pid_cpu "$DPID")
  c0=$(ctxt); LOADS[$name,$sys,$ROUND]=$(cut -d' ' -f1 /proc/loadavg)
  log "round $ROUND: $name on $sys (load ${LOADS[$name,$sys,$ROUND]})"
  timed "$name-$sys-$ROUND" "${args[@]}"
  [ "$T_RC" = 0 ] || { tail -5 "$LOGDIR/$name-$sys-$ROUND.log" >&2; die "$name on $sys failed"; }
  cpu1=$T_CPU; [ -n "$DPID" ] && cpu1=$(pid_cpu "$DPID")
  if [[ $sys == floor* ]]; then # the counts of the step alone, before the check reads it back
    kill -USR1 "$DPID"
    wait_until 30 test -s "$WORK/stats-$N" || die "fuse_floor wrote no counts"
    cp "$WORK/stats-$N" "$WORK/req-$name-$sys-$ROUND"
  fi
  if [ "$sys" = embassy ] && [ -n "${EMB_VERBOSE:-}" ]; then # ditto, from libfuse's debug log
    sed -n 's/.*opcode: \([A-Z_0-9]*\) (.*/\1/p' "$LOGDIR/$N-embassy.out" | sort | uniq -c |
      awk '{print $2, $1; n += $1} END {print "TOTAL", n + 0}' > "$WORK/req-$name-$sys-$ROUND"
  fi
  R[$name,$sys,$ROUND]=$T_WALL
  CPU[$name,$sys,$ROUND]=$(calc "$cpu1 - $cpu0" 2) # the daemon's (local: the command's)
  CTX[$name,$sys,$ROUND]=$(( $(ctxt) - c0 ))
  case $name in
    untar) check "$name-$sys-$ROUND" "$ROOT" ;;
    cp|rsync) check "$name-$sys-$ROUND" "$OUT" ;;
  esac
  down
}
UNTAR_SYS=(local floor embassy floor-wb floor-nodp floor-wb-nodp)
RO_SYS=(local floor embassy)
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  # the order turns every round: no system always runs first (or right after another)
  rot=$(( (ROUND - 1) % ${#UNTAR_SYS[@]} ))
  for s in "${UNTAR_SYS[@]:$rot}" "${UNTAR_SYS[@]:0:$rot}"; do
    has_step untar || break
    step untar "$s" rw tar -C @ROOT@ -xf "$WORK/small.tar"
  done
  rot=$(( (ROUND - 1) % ${#RO_SYS[@]} ))
  for s in "${RO_SYS[@]:$rot}" "${RO_SYS[@]:0:$rot}"; do
    # ROOT/ (not ROOT): embassy's latest is a symbolic link, which find would not enter
    ! has_step find || step find "$s" ro find @ROOT@/
    ! has_step cp || step cp "$s" ro cp -a @ROOT@/. @OUT@/
    ! has_step rsync || step rsync "$s" ro rsync -a @ROOT@/ @OUT@/
  done
done
rm -rf "$OUT" "$WORK/local-untar"

# ---- embassy's requests: one more pass of each step, untimed, with libfuse's debug log ----
log "counting embassy's requests (libfuse debug log, not timed)"
ROUND=count; EMB_VERBOSE=-vvv
for st in $STEPS; do
  case $st in
    untar) step untar embassy rw tar -C @ROOT@ -xf "$WORK/small.tar" ;;
    find) step find embassy ro find @ROOT@/ ;;
    cp) step cp embassy ro cp -a @ROOT@/. @OUT@/ ;;
    rsync) step rsync embassy ro rsync -a @ROOT@/ @OUT@/ ;;
  esac
  rm -f "$LOGDIR/$N-embassy.out" # tens of MiB
done
EMB_VERBOSE=
rm -rf "$OUT" "$WORK/local-untar"

# ---- report ----
median() { printf '%s\n' "$@" | LC_ALL=C sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# fig KIND NAME SYS: the median over the rounds of R (wall), CPU or CTX
fig() {
  local -n arr=$1; local v=() r
  for ((r = 1; r <= ROUNDS; r++)); do v+=("${arr[$2,$3,$r]}"); done
  median "${v[@]}"
}
loads() { # the 1-min load at the start of the steps of NAME, min-max over systems and rounds
  local k v=()
  for k in "${!LOADS[@]}"; do [[ $k == "$1",*,[0-9]* ]] && v+=("${LOADS[$k]}"); done
  printf '%s\n' "${v[@]}" | LC_ALL=C sort -g | sed -n '1p;$p' | paste -sd- -
}
# reqs FILE OPCODE: requests of that opcode per file (FILE: "OPCODE count" lines)
reqs() { awk -v op="$2" -v n="$NFILES" '$1 == op {printf "%.2f", $2 / n; f = 1} END {if (!f) printf "–"}' "$1" 2>/dev/null || echo "n/a"; }
REPORT=$WORK/report.md
{
  machine_header "the FUSE floor: local disk vs an in-memory FUSE file system vs embassy (issues 10, 11)"
  echo "- the machine is shared: other engineers were building and testing during this run (load per step below); figures are medians of $ROUNDS alternated rounds (the order turns each round)."
  echo "- fuse_floor ($FLOOR): bench/fuse_floor.c, every request answered from RAM (--ro: the $NFILES files loaded at start; --rw: starts empty), embassy's FUSE configuration (mount options, INIT capabilities, timeouts, KILLPRIV_V2 INIT reply, no FLUSH handler, open/opendir ENOSYS, readdirplus, 16 threads). embassy --rw: store on nginx (HTTP, 127.0.0.1), base = the SQLite register, journal on the same disk, \`--commit-every 0\`; embassy read-only: local directory store holding the $NFILES files, fresh mount and empty cache each step."
  echo "- each step: a fresh mount, the page cache dropped (untar: the tar read back into it), the command timed; every copy then compared with the source (names, types, modes, owners, sizes, mtimes, symlink targets, every byte): $([ ${#FAILED[@]} = 0 ] && echo "all $CHECKS copies identical" || echo "**${#FAILED[@]} DIFFERED**: ${FAILED[*]}")."
  echo "- CPU s: the FUSE daemon's (user+sys from /proc, threads included); local: the command's own. ctxt: context switches of the whole machine during the step (/proc/stat; other engineers' too)."
  echo
  echo "| step ($NFILES files, $(mib "$DS_SMALL_BYTES") MiB) | load 1-min | local s | floor s | embassy s | floor/local | embassy/local | embassy/floor | CPU s local / floor / embassy | ctxt local / floor / embassy |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|---|"
  for st in $STEPS; do
    case $st in untar) lbl="untar (tar -x)" ;; find) lbl="\`find\` cold" ;; cp) lbl="\`cp -a\` cold" ;; rsync) lbl="\`rsync -a\` cold" ;; esac
    l=$(fig R $st local); f=$(fig R $st floor); e=$(fig R $st embassy)
    echo "| $lbl | $(loads $st) | $l | $f | $e | $(ratio "$f" "$l") | $(ratio "$e" "$l") | $(ratio "$e" "$f") | $(fig CPU $st local) / $(fig CPU $st floor) / $(fig CPU $st embassy) | $(fig CTX $st local) / $(fig CTX $st floor) / $(fig CTX $st embassy) |"
  done
  if has_step untar; then
  echo
  echo "Untar through fuse_floor variants (what a change of FUSE configuration would give):"
  echo
  echo "| variant | untar s | /local | local speed % | daemon CPU s | requests per file |"
  echo "|---|---:|---:|---:|---:|---:|"
  l=$(fig R untar local)
  for s in floor floor-wb floor-nodp floor-wb-nodp embassy; do
    case $s in
      floor) d="fuse_floor as embassy (default_permissions, no writeback cache)" ;;
      floor-wb) d="fuse_floor --writeback-cache" ;;
      floor-nodp) d="fuse_floor --no-default-permissions" ;;
      floor-wb-nodp) d="fuse_floor --writeback-cache --no-default-permissions" ;;
      embassy) d="embassy --rw (for reference)" ;;
    esac
    t=$(fig R untar $s); rq=$WORK/req-untar-$s-1; [ "$s" = embassy ] && rq=$WORK/req-untar-embassy-count
    r=$(ratio "$l" "$t")
    echo "| $d | $t | $(ratio "$t" "$l") | $(isnum "$r" && calc "$r * 100" 0 || echo "$r") | $(fig CPU untar $s) | $(reqs "$rq" TOTAL) |"
  done
  fi
  echo
  echo "Requests per file, by opcode (fuse_floor: its own count of the requests read from /dev/fuse, round 1; embassy: libfuse's debug log of one extra untimed pass):"
  echo
  cols=()
  for c in untar-floor untar-floor-wb untar-floor-nodp untar-embassy find-floor find-embassy cp-floor cp-embassy rsync-floor rsync-embassy; do
    ! has_step "${c%%-*}" || cols+=("$c")
  done
  printf '| opcode |'; for c in "${cols[@]}"; do printf ' %s |' "${c/-/ }"; done; echo
  printf '|---|'; for c in "${cols[@]}"; do printf -- '---:|'; done; echo
  file_of() { case $1 in *embassy) echo "$WORK/req-$1-count" ;; *) echo "$WORK/req-$1-1" ;; esac; }
  ops=$(for c in "${cols[@]}"; do cut -d' ' -f1 "$(file_of "$c")" 2>/dev/null; done | grep -v TOTAL | sort -u)
  for op in $ops TOTAL; do
    printf '| %s |' "$op"; for c in "${cols[@]}"; do printf ' %s |' "$(reqs "$(file_of "$c")" "$op")"; done; echo
  done
} > "$REPORT"
emit "$REPORT"
[ ${#FAILED[@]} = 0 ] || die "copies differed from the source: ${FAILED[*]}"
