#!/usr/bin/env bash
# mount.sh [--small] [--no-30ms] [--only=SYS,...] — the mount workload on every kind of store,
# side by side in one run: the data set on local disk; `restic mount` of a local repository;
# `embassy mount` of a local store directory; the same store through nginx over HTTPS (HTTP/2);
# and, through bench/latproxy (a TCP proxy delaying each direction by 15 ms: a 30 ms round trip,
# TLS end to end), embassy over HTTPS and restic over its REST server. Optional: rclone crypt
# over the nginx WebDAV (--only=...,rclone).
# SYS names: local restic embassy embassy-https rclone (0 ms); embassy-30 restic-30 rclone-30.
# For every test a fresh mount (caches dropped first, fresh daemon caches) runs it cold, then
# the same mount runs it again warm: find; ls -lR; sequential read of the 1 GiB file (and the
# daemon's CPU time for it); fio random 4 KiB reads (iodepth 1; and 4 jobs); cp -a of the
# small files; rsync -a of everything; 2,000 SQLite rowid lookups and a rowid range query.
# Also: time from command to mount ready, daemon peak RSS (VmHWM, max over its mounts), and the
# daemon's peak RSS during each step (cold and warm apart: VmHWM reset between steps).
# Metadata tests of bench/metadata.sh (issue 11's metadata half) run too when it exists:
#   bench/metadata.sh tests            prints the names of its tests, one per line
#   bench/metadata.sh run TEST ROOT    runs one on a fresh mount of ROOT (caches dropped);
#                                      the harness times it (wall and daemon CPU), then runs
#                                      it again warm
# Every step is bounded by BENCH_CAP s (default 180); a capped cold step skips its warm run.
# Figures go to $BENCH_FIGURES (if set; "KEY VALUE" lines) for bench/ratio.py.
# env: BENCH_FIO_S (fio runtime per run, default 10), BENCH_CAP, EMBASSY, BENCH_WORK, BENCH_KEEP
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SMALL=(); DO30=1; ONLY=local,restic,embassy,embassy-https,embassy-30,restic-30
for a in "$@"; do
  case $a in
    --small) SMALL=(--small) ;; --no-30ms) DO30=0 ;; --only=*) ONLY=${a#--only=} ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;; *) die "unknown argument $a" ;;
  esac
done
CAP=${BENCH_CAP:-180}
FIO_S=${BENCH_FIO_S:-10}
need restic rclone fio rsync python3 curl nginx fusermount3 mountpoint /usr/bin/time
[ -x "$EMBASSY" ] || die "$EMBASSY not built (see bench/README.md)"
[ -x "$LATPROXY" ] || die "$LATPROXY not built (see bench/README.md)"
load_dataset "${SMALL[@]}"
has() { [[ ,$ONLY, == *,$1,* ]]; }

WORK=$WORK_ROOT/mount
for m in "$WORK"/mnt*; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"; done
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
export EMBASSY_STATE_DIR=$WORK/state EMBASSY_TIMEOUT=60
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
export RESTIC_PASSWORD_FILE=$WORK/pass RESTIC_PROGRESS_FPS=0.016
MNT=$WORK/mnt; mkdir -p "$MNT"; add_mount "$MNT"
DST=$WORK/dst

# ---- servers and stores ----
NG=$WORK/nginx-tls
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG'"
"$REPO/scripts/nginx-up.sh" "$NG" >"$LOGDIR/nginx-tls.out" 2>&1 || { cat "$LOGDIR/nginx-tls.out"; die "nginx (TLS) did not start"; }
HTTPS_URL=$(. "$NG/http.env"; echo "$STORE_URL"); NG_PORT=$(. "$NG/http.env"; echo "$STORE_PORT")
CA=$NG/pki/ca.crt
ESTORE=$NG/data/store # embassy's store: mounted as a directory and served by nginx
declare -A UP
if has embassy || has embassy-https || has embassy-30; then
  log "sealing the data set into the store nginx serves"
  emb_init "$ESTORE"
  CAP=0 timed up_emb "$EMBASSY" seal "$ESTORE" "$DATA" --sealer-key "$WORK/sealer.key"
  [ "$T_RC" = 0 ] || die "seal failed"; UP[embassy]=$T_WALL
fi
RREPO=$WORK/restic-repo
if has restic || has restic-30; then
  log "restic backup into a local repository"
  restic init -r "$RREPO" >/dev/null 2>&1 || die "restic init failed"
  RESTIC_CACHE_DIR=$WORK/rc-backup CAP=0 timed up_res restic -r "$RREPO" backup "$DATA"
  [ "$T_RC" = 0 ] || die "restic backup failed"; UP[restic]=$T_WALL
  rm -rf "$WORK/rc-backup"
fi
if has rclone || has rclone-30; then
  # written through a crypt remote over the directory nginx serves (the same objects a crypt
  # remote over WebDAV would write: nginx's MKCOL refuses missing parents under parallel PUTs)
  log "rclone copy into the crypt remote (the nginx WebDAV directory)"
  export RCLONE_CONFIG_BDAV_TYPE=webdav RCLONE_CONFIG_BDAV_URL=$HTTPS_URL/rclone RCLONE_CONFIG_BDAV_VENDOR=other
  export RCLONE_CONFIG_BCRYPT_TYPE=crypt RCLONE_CONFIG_BCRYPT_REMOTE=bdav:
  RCLONE_CONFIG_BCRYPT_PASSWORD=$(rclone obscure "$(cat "$WORK/pass")"); export RCLONE_CONFIG_BCRYPT_PASSWORD
  export RCLONE_CONFIG_BLOCAL_TYPE=crypt RCLONE_CONFIG_BLOCAL_REMOTE=$NG/data/rclone
  export RCLONE_CONFIG_BLOCAL_PASSWORD=$RCLONE_CONFIG_BCRYPT_PASSWORD
  export RCLONE_CA_CERT=$CA RCLONE_CONFIG=/dev/null
  CAP=0 timed up_rcl rclone copy "$DATA" blocal: --transfers 4
  [ "$T_RC" = 0 ] || { tail "$LOGDIR/up_rcl.log"; die "rclone copy failed"; }; UP[rclone]=$T_WALL
fi
if [ "$DO30" = 1 ]; then
  start_latproxy lp-https "$NG_PORT" 15; P_LP_HTTPS=$LP_PORT; LP_HTTPS_PID=$BG_PID
  if has restic-30; then
    P_REST=$("$REPO/scripts/free-port.sh")
    start_bg rclone-serve-restic rclone serve restic --addr "127.0.0.1:$P_REST" "$RREPO"
    wait_until 20 curl -sf -o /dev/null "http://127.0.0.1:$P_REST/config" || die "rclone serve restic not ready"
    start_latproxy lp-rest "$P_REST" 15; P_LP_REST=$LP_PORT
  fi
  export RCLONE_CONFIG_BDAV30_TYPE=webdav RCLONE_CONFIG_BDAV30_URL=https://127.0.0.1:$P_LP_HTTPS/rclone RCLONE_CONFIG_BDAV30_VENDOR=other
  export RCLONE_CONFIG_BCRYPT30_TYPE=crypt RCLONE_CONFIG_BCRYPT30_REMOTE=bdav30:
  RCLONE_CONFIG_BCRYPT30_PASSWORD=${RCLONE_CONFIG_BCRYPT_PASSWORD:-}; export RCLONE_CONFIG_BCRYPT30_PASSWORD
fi

# ---- mounting ----
DPID=; ROOT=; READY=
MOUNTS=0
# mount_fresh SYS: caches dropped, a fresh daemon with empty caches; sets ROOT, DPID, READY
mount_fresh() {
  local sys=$1 t0 n url opt=()
  MOUNTS=$((MOUNTS + 1)); n=$MOUNTS
  [ "${WARM_MOUNT:-0}" = 1 ] || drop_caches
  t0=$(now_ns)
  case $sys in
    local) ROOT=$DATA; DPID=; READY=0; return 0 ;;
    embassy) url=$ESTORE ;;
    embassy-https) url=$HTTPS_URL/store; opt=(--cacert "$CA" --cache-dir "$WORK/ecache-$n") ;;
    embassy-30) url=https://127.0.0.1:$P_LP_HTTPS/store; opt=(--cacert "$CA" --cache-dir "$WORK/ecache-$n") ;;
    restic|restic-30)
      local r=$RREPO; [ "$sys" = restic-30 ] && r=rest:http://127.0.0.1:$P_LP_REST/
      RESTIC_CACHE_DIR=$WORK/rcache-$n start_bg "mount-$n" restic -r "$r" mount "$MNT"
      ROOT=$MNT/snapshots/latest$DATA ;;
    rclone|rclone-30)
      local remote=bcrypt:; [ "$sys" = rclone-30 ] && remote=bcrypt30:
      start_bg "mount-$n" rclone mount "$remote" "$MNT" --read-only --cache-dir "$WORK/rclcache-$n"
      ROOT=$MNT ;;
  esac
  if [[ $sys == embassy* ]]; then
    start_bg "mount-$n" "$EMBASSY" mount "$url" "$MNT" --foreground --passphrase-file "$WORK/pass" "${opt[@]}"
    ROOT=$MNT/latest
  fi
  DPID=$BG_PID
  if ! wait_until "$CAP" test -e "$ROOT/$DS_DB"; then
    log "$sys mount not ready after $CAP s"; tail -5 "$LOGDIR/mount-$n.out" >&2; READY=">$CAP"; return 1
  fi
  READY=$(calc "($(now_ns) - $t0) / 1e9" 2)
}
declare -A HWM V
umount_now() { # umount_now SYS
  local h
  if [ -n "$DPID" ]; then
    h=$(awk '/VmHWM/{print $2}' "/proc/$DPID/status" 2>/dev/null || echo 0)
    [ "${h:-0}" -gt "${HWM[$1]:-0}" ] && HWM[$1]=$h
    fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$DPID" 2>/dev/null && { kill "$DPID"; sleep 0.5; kill -9 "$DPID" 2>/dev/null || true; }
    wait "$DPID" 2>/dev/null || true
  fi
  rm -rf "$WORK"/ecache-* "$WORK"/rcache-* "$WORK"/rclcache-*
  DPID=
}

# ---- tests ----
cat > "$WORK/sql.py" <<'PY'
import random, sqlite3, sys, time
db, rows = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect("file:%s?immutable=1" % db, uri=True)
ids = random.Random(42).sample(range(1, rows + 1), min(2000, rows))
t = time.monotonic()
for i in ids:
    r = c.execute("SELECT reg_code, name, capital FROM company WHERE id = ?", (i,)).fetchone()
    assert r is not None
t1 = time.monotonic() - t
lo = rows // 3
t = time.monotonic()
n, s = c.execute("SELECT count(*), sum(capital) FROM company WHERE id BETWEEN ? AND ?",
                 (lo, lo + rows // 10)).fetchone()
t2 = time.monotonic() - t
print("%.3f %.3f %d" % (t1, t2, n))
PY
META=$BENCH_DIR/metadata.sh
META_TESTS=()
# (a metadata.sh without that protocol runs on its own from run_all.sh)
if [ -x "$META" ] && "$META" tests >/dev/null 2>&1; then mapfile -t META_TESTS < <("$META" tests); fi
# Peak RSS per step: VmHWM is reset to the current RSS before each step (clear_refs 5) and read
# after it, so each cold and warm step gets its own peak; the daemon's overall peak is the
# largest of them (and of what umount_now reads).
hwm_reset() { [ -n "$DPID" ] && echo 5 > "/proc/$DPID/clear_refs" 2>/dev/null || true; }
step_hwm() { # step_hwm SYS KEY
  local h
  [ -n "$DPID" ] || return 0
  h=$(awk '/VmHWM/{print $2}' "/proc/$DPID/status" 2>/dev/null || echo 0)
  V["$2|hwm"]=$(kib2mib "${h:-0}")
  [ "${h:-0}" -gt "${HWM[$1]:-0}" ] && HWM[$1]=$h
  return 0
}
dcpu() { [ -n "$DPID" ] && awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$DPID/stat" 2>/dev/null || echo 0; }
# CPU seconds so far of the other two processes of embassy's network reads: nginx's workers
# and the 30 ms proxy (bench/latproxy in front of nginx)
pcpu() { local p s=0; for p in "$@"; do s=$(awk -v a="$s" '{printf "%.2f", a + ($14 + $15) / 100}' "/proc/$p/stat" 2>/dev/null || echo "$s"); done; echo "$s"; }
ngcpu() { local m; m=$(cat "$NG/nginx.master.pid" 2>/dev/null) || { echo 0; return; }; pcpu $(pgrep -P "$m"); }
lpcpu() { if [ -n "${LP_HTTPS_PID:-}" ]; then pcpu "$LP_HTTPS_PID"; else echo 0; fi; }
# one_test SYS TEST PHASE: fills V["SYS|TEST|PHASE"] (and extra keys); 1 if capped
one_test() {
  local sys=$1 test=$2 ph=$3 k="$1|$2|$3" name="$1-$2-$3" j c0 n0 p0
  c0=$(dcpu); n0=$(ngcpu); p0=$(lpcpu)
  hwm_reset
  case $test in
    find) timed "$name" find "$ROOT/"; V[$k]=$T_WALL ;;
    ls) timed "$name" ls -lR "$ROOT/"; V[$k]=$T_WALL ;;
    seq) timed "$name" cat "$ROOT/$DS_BIG"; V[$k]=$(mibps "$DS_BIG_BYTES" "$T_WALL"); V["$k|s"]=$T_WALL ;;
    fio1|fio4)
      j=1; [ "$test" = fio4 ] && j=4
      local inv=1; [ "$ph" = warm ] && inv=0
      timed "$name" fio --name=rr --filename="$ROOT/$DS_BIG" --readonly --rw=randread --bs=4k \
        --ioengine=psync --iodepth=1 --numjobs=$j --group_reporting --time_based \
        --runtime="$FIO_S" --invalidate=$inv --randseed=7 --output-format=json --output="$LOGDIR/$name.json"
      if [ "$T_RC" = 0 ]; then
        read -r "V[$k]" "V[$k|p99]" < <(python3 -c '
import json,sys
j=json.load(open(sys.argv[1]))["jobs"][0]["read"]
p=j["clat_ns"].get("percentile",{}).get("99.000000",0)/1e6
print("%.0f %.1f" % (j["iops"], p))' "$LOGDIR/$name.json")
      else V[$k]="fail"; V["$k|p99"]="-"; [[ $T_WALL == ">"* ]] && V[$k]=">${CAP}s"; fi ;;
    cp) rm -rf "$DST"; mkdir -p "$DST"
      timed "$name" cp -a "$ROOT/$DS_SMALL" "$DST/"; V[$k]=$(perS "$DS_SMALL_FILES" "$T_WALL"); V["$k|s"]=$T_WALL
      if [[ $T_WALL != ">"* ]] && [ "$T_RC" != 0 ] && [ "$(find "$DST" -type f | wc -l)" = "$DS_SMALL_FILES" ] \
         && ! grep -qv 'Input/output error' "$LOGDIR/$name.log"; then V[$k]="${V[$k]}†"  # data copied, xattrs EIO
      elif [[ $T_WALL != ">"* ]] && [ "$T_RC" != 0 ]; then V[$k]="FAIL: $(grep -c . "$LOGDIR/$name.log") errors"
      elif [[ $T_WALL != ">"* ]] && [ "$(find "$DST" -type f | wc -l)" != "$DS_SMALL_FILES" ]; then V[$k]="INCOMPLETE"; fi
      rm -rf "$DST" ;;
    rsync) rm -rf "$DST"; mkdir -p "$DST"
      timed "$name" rsync -a "$ROOT/" "$DST/"; V[$k]=$(mibps "$DS_BYTES" "$T_WALL"); V["$k|s"]=$T_WALL
      if [[ $T_WALL != ">"* ]] && [ "$T_RC" != 0 ]; then V[$k]="FAIL($T_RC)"; fi
      rm -rf "$DST" ;;
    sql) timed "$name" python3 "$WORK/sql.py" "$ROOT/$DS_DB" "$DS_DB_ROWS"
      if [ "$T_RC" = 0 ]; then read -r "V[$k]" "V[$k|range]" _ < "$LOGDIR/$name.log"
      else V[$k]="fail"; V["$k|range"]="fail"; [[ $T_WALL == ">"* ]] && { V[$k]=">$CAP"; V["$k|range"]=">$CAP"; }; fi ;;
    meta:*) timed "$name" "$META" run "${test#meta:}" "$ROOT"; V[$k]=$T_WALL ;;
  esac
  V["$k|cpu"]=$(calc "$(dcpu) - $c0" 2)
  V["$k|ngcpu"]=$(calc "$(ngcpu) - $n0" 2); V["$k|lpcpu"]=$(calc "$(lpcpu) - $p0" 2)
  step_hwm "$sys" "$k"
  [ "$T_RC" = 0 ] || log "$name: exit $T_RC"
  [[ $T_WALL == ">"* ]] && return 1
  return 0
}
TESTS=(find ls seq fio1 fio4 cp rsync sql)
for t in "${META_TESTS[@]}"; do TESTS+=("meta:$t"); done
run_sys() { # run_sys SYS
  local sys=$1 t
  for t in "${TESTS[@]}"; do
    log "$sys: $t (load $(cut -d' ' -f1 /proc/loadavg))"
    if ! mount_fresh "$sys"; then
      V["$sys|$t|cold"]="mount failed"; umount_now "$sys"; continue
    fi
    [ -n "${V["$sys|ready"]:-}" ] || V["$sys|ready"]=$READY
    V["$sys|ready|all"]="${V["$sys|ready|all"]:-}${V["$sys|ready|all"]:+ }$READY"
    if one_test "$sys" "$t" cold; then one_test "$sys" "$t" warm || true
    else V["$sys|$t|warm"]="(skipped)"; fi
    umount_now "$sys"
  done
}
SYS0=(); SYS30=()
for s in local restic embassy embassy-https rclone; do has "$s" && SYS0+=("$s"); done
if [ "$DO30" = 1 ]; then for s in embassy-30 restic-30 rclone-30; do has "$s" && SYS30+=("$s"); done; fi
for s in "${SYS0[@]}" "${SYS30[@]}"; do run_sys "$s"; done

# ---- mount ready of embassy (local store) in detail: where the time goes ----
# first = first contact of this host with the store (empty trust state and metadata mirror:
# TOFU pin, mirror filled), with the passphrase; agent cold / warm = the key from a running
# `embassy agent` (no KDF), caches dropped or not. The passphrase figures are above
# (embassy|ready|all). Samples: READY_N each.
ready_study() {
  local i n=${READY_N:-5}
  for i in $(seq 1 "$n"); do
    EMBASSY_STATE_DIR=$WORK/first-$i/state XDG_CACHE_HOME=$WORK/first-$i/cache mount_fresh embassy &&
      V["embassy|ready_first|all"]="${V["embassy|ready_first|all"]:-}${V["embassy|ready_first|all"]:+ }$READY"
    umount_now embassy
  done
  export EMBASSY_AGENT_DIR=$WORK/agent
  mkdir -p -m 700 "$EMBASSY_AGENT_DIR"
  "$EMBASSY" agent start --lifetime 1h >"$LOGDIR/agent.out" 2>&1 || { log "agent did not start"; unset EMBASSY_AGENT_DIR; return 0; }
  add_cmd "EMBASSY_AGENT_DIR='$EMBASSY_AGENT_DIR' '$EMBASSY' agent stop >/dev/null 2>&1"
  "$EMBASSY" agent add "$ESTORE" --passphrase-file "$WORK/pass" >>"$LOGDIR/agent.out" 2>&1 || log "agent add failed"
  for ph in cold warm; do
    for i in $(seq 1 "$n"); do
      WARM_MOUNT=$([ $ph = warm ] && echo 1 || echo 0) mount_fresh embassy &&
        V["embassy|ready_agent_$ph|all"]="${V["embassy|ready_agent_$ph|all"]:-}${V["embassy|ready_agent_$ph|all"]:+ }$READY"
      umount_now embassy
    done
  done
  EMBASSY_AGENT_DIR=$EMBASSY_AGENT_DIR "$EMBASSY" agent stop >/dev/null 2>&1 || true
  unset EMBASSY_AGENT_DIR
}
median() { tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print NR ? a[int((NR + 1) / 2)] : "n/a"}'; }
has embassy && ready_study

# ---- figures for bench/ratio.py ----
for k in "${!V[@]}"; do figure "mount|$k" "${V[$k]}"; done
for k in "${!HWM[@]}"; do figure "mount|$k|hwm_mib" "$(kib2mib "${HWM[$k]}")"; done
figure "mount|big_bytes" "$DS_BIG_BYTES"

# ---- report ----
REPORT=$WORK/report.md
v() { echo "${V[$1]:-n/a}"; }
cw() { echo "$(v "$1|cold") / $(v "$1|warm")"; }
fiocell() { echo "$(v "$1|cold") ($(v "$1|cold|p99")) / $(v "$1|warm") ($(v "$1|warm|p99"))"; }
hwmcw() { case $1 in local\|*) echo - ;; *) echo "$(v "$1|cold|hwm") / $(v "$1|warm|hwm")" ;; esac; }
cpugib() { local c; c=$(v "$1|cold|cpu"); isnum "$c" && calc "$c / ($DS_BIG_BYTES / 1073741824)" 2 || echo n/a; }
netcpugib() { # embassy through nginx: its workers' CPU (and the proxy's at 30 ms) per GiB
  local n p g; g=$(calc "$DS_BIG_BYTES / 1073741824" 6)
  case $1 in embassy-https\|*|embassy-30\|*) ;; *) echo -; return ;; esac
  n=$(v "$1|cold|ngcpu"); p=$(v "$1|cold|lpcpu")
  isnum "$n" || { echo n/a; return; }
  case $1 in embassy-30\|*) echo "$(calc "$n / $g" 2) / $(calc "$p / $g" 2)" ;; *) echo "$(calc "$n / $g" 2) / -" ;; esac
}
table() { # table SYS...
  local s hdr="| test (cold / warm) |" sep="|---|"
  for s in "$@"; do hdr="$hdr $s |"; sep="$sep---|"; done
  echo "$hdr"; echo "$sep"
  line() { local l="| $1 |" s; for s in "${@:3}"; do l="$l $($2 "$s|${LINE_KEY}") |"; done; echo "$l"; }
  LINE_KEY=ready line "mount ready, s (first mount)" v "$@"
  LINE_KEY=find line "\`find\`, s" cw "$@"
  LINE_KEY=ls line "\`ls -lR\`, s" cw "$@"
  for t in "${META_TESTS[@]}"; do LINE_KEY="meta:$t" line "$t (bench/metadata.sh), s" cw "$@"; done
  LINE_KEY=seq line "sequential read $(mib "$DS_BIG_BYTES") MiB file, MiB/s" cw "$@"
  LINE_KEY=seq line "daemon CPU s per GiB of that read (cold)" cpugib "$@"
  LINE_KEY=seq line "nginx / latproxy CPU s per GiB of that read (cold)" netcpugib "$@"
  LINE_KEY=fio1 line "fio 4 KiB random, qd1: IOPS (p99 ms)" fiocell "$@"
  LINE_KEY=fio4 line "fio 4 KiB random, 4 jobs: IOPS (p99 ms)" fiocell "$@"
  LINE_KEY=cp line "\`cp -a\` $DS_SMALL_FILES small files, files/s" cw "$@"
  LINE_KEY=rsync line "\`rsync -a\` everything ($(mib "$DS_BYTES") MiB), MiB/s" cw "$@"
  LINE_KEY=sql line "SQLite $( [ "$DS_DB_ROWS" -ge 2000 ] && echo 2,000 ) rowid lookups, s" cw "$@"
  LINE_KEY=range line "SQLite rowid range query (10% of rows), s" cw "$@"
  local t
  for t in "${TESTS[@]}"; do
    case $t in meta:*) continue ;; esac
    LINE_KEY=$t line "daemon peak RSS during \`$t\` (VmHWM, cold / warm), MiB" hwmcw "$@"
  done
  local l="| daemon peak RSS (VmHWM), MiB |"
  for s in "$@"; do if [ "$s" = local ]; then l="$l - |"; else l="$l $(kib2mib "${HWM[$s]:-n/a}") |"; fi; done
  echo "$l"
}
# the "|range" values are stored under "sys|sql|PHASE|range": remap for the table
for k in "${!V[@]}"; do
  [[ $k == *"|sql|"*"|range" ]] && { b=${k%|range}; ph=${b##*|}; V["${b%|sql|*}|range|$ph"]=${V[$k]}; }
done
{
  machine_header "mount: local disk, restic mount, embassy mount (local dir, HTTPS, 30 ms)${SMALL:+ — SMALL trial data set}"
  echo "- cold = caches dropped and a fresh mount (fresh daemon caches) for every test; warm = the same test again on that mount. fio: ${FIO_S} s per run, --invalidate=1 cold / 0 warm. Steps bounded at ${CAP} s (\">${CAP}\": capped; its warm run skipped)."
  echo "- embassy: one store, mounted as a local directory (no disk cache: the store is on local disk), through nginx HTTPS h2, and through bench/latproxy at 30 ms (15 ms each way, TLS end to end); --memory-cache default (256M), a fresh disk cache per network mount. restic: local repository; at 30 ms its REST server (\`rclone serve restic\`) through the same proxy. uploads: ${UP[embassy]:-n/a} s embassy seal (local), ${UP[restic]:-n/a} s restic backup (local)"
  echo "- mount-ready samples (s): $(for s in "${SYS0[@]}" "${SYS30[@]}"; do printf '%s: %s; ' "$s" "$(v "$s|ready|all")"; done)"
  if has embassy; then
    echo "- embassy mount ready (local store; ready = \`test -e latest/$DS_DB\` succeeds), median of samples:" \
      "passphrase, first contact (empty trust state and mirror) $(v "embassy|ready_first|all" | median) s [$(v "embassy|ready_first|all")];" \
      "passphrase, cold $(v "embassy|ready|all" | median) s;" \
      "agent, cold $(v "embassy|ready_agent_cold|all" | median) s [$(v "embassy|ready_agent_cold|all")];" \
      "agent, warm (page cache kept) $(v "embassy|ready_agent_warm|all" | median) s [$(v "embassy|ready_agent_warm|all")];" \
      "restic cold $(v "restic|ready|all" | median) s"
  fi
  echo
  echo "### loopback (0 ms)"
  echo
  table "${SYS0[@]}"
  if [ "${#SYS30[@]}" -gt 0 ]; then
    echo
    echo "### through bench/latproxy, 30 ms round trip"
    echo
    table "${SYS30[@]}"
  fi
  if printf '%s\n' "${V[@]}" | grep -q '†'; then # only when a cell carries the mark
    echo
    echo "(† \`cp -a\` exited 1: the mount answers listxattr with EIO (rclone mount); all file data was copied.)"
  fi
} > "$REPORT"
emit "$REPORT"
