#!/usr/bin/env bash
# mount.sh [--small] [--no-30ms] [--only SYS,...] — `embassy mount` vs `restic mount`, `rclone mount`
# of an rclone crypt remote (WebDAV on the same nginx), and the local disk, in one run.
#   0 ms:  embassy over nginx HTTPS (HTTP/2); restic mount of a local repository (the issue's
#          anchor); rclone crypt over the nginx WebDAV (HTTPS); the data set on local disk
#   30 ms: the same through tests/tools/faultproxy.py with 30 ms per request: embassy and rclone
#          via plain-http nginx, restic via `rclone serve restic` (REST)
# For every test a fresh mount (caches dropped first, fresh daemon caches) runs it cold, then
# the same mount runs it again warm: ls -lR; sequential read of the 1 GiB file; fio random
# 4 KiB reads (iodepth 1, numjobs 1 and 4: IOPS, p99); cp -a of the small files; rsync -a of
# everything; 2,000 SQLite rowid lookups and a rowid range query (immutable=1). Also: time from
# command to mount ready (polls for the database's path), daemon peak RSS (VmHWM, max over mounts).
# Every step is bounded by BENCH_CAP s (default 120); a capped cold step skips its warm run.
# env: BENCH_FIO_S (fio runtime per run, default 10), BENCH_CAP, EMBASSY, BENCH_WORK, BENCH_KEEP
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SMALL=(); DO30=1; ONLY=local,embassy,restic,rclone
for a in "$@"; do
  case $a in
    --small) SMALL=(--small) ;; --no-30ms) DO30=0 ;; --only=*) ONLY=${a#--only=} ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;; *) die "unknown argument $a" ;;
  esac
done
FIO_S=${BENCH_FIO_S:-10}
need restic rclone fio rsync python3 curl nginx fusermount3 mountpoint /usr/bin/time
[ -x "$EMBASSY" ] || die "$EMBASSY not built (see bench/README.md)"
"$EMBASSY" mount --help >/dev/null 2>&1 || die "this embassy has no mount command yet"
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
NG1=$WORK/nginx-tls; NG2=$WORK/nginx-http
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG1'"
"$REPO/scripts/nginx-up.sh" "$NG1" >"$LOGDIR/nginx-tls.out" 2>&1 || { cat "$LOGDIR/nginx-tls.out"; die "nginx (TLS) did not start"; }
HTTPS_URL=$(. "$NG1/http.env"; echo "$STORE_URL"); CA=$NG1/pki/ca.crt
mkdir -p "$NG2"; ln -s "$NG1/data" "$NG2/data"
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG2'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NG2" >"$LOGDIR/nginx-http.out" 2>&1 || { cat "$LOGDIR/nginx-http.out"; die "nginx (http) did not start"; }
HTTP_URL=$(. "$NG2/http.env"; echo "$STORE_URL")
proxy() { # proxy NAME UPSTREAM: faultproxy (0 ms until set_latency); port in PROXY_PORT
  rm -f "$WORK/$1.port"
  start_bg "$1" python3 "$REPO/tests/tools/faultproxy.py" --upstream "$2" --port-file "$WORK/$1.port" --latency-ms 0
  wait_until 20 test -s "$WORK/$1.port" || die "faultproxy $1 did not start"
  PROXY_PORT=$(cat "$WORK/$1.port")
}
set_latency() { curl -sf "http://127.0.0.1:$1/__fault?latency_ms=$2" >/dev/null; }
declare -A UP
if has embassy; then
  log "sealing the data set into the nginx store"
  emb_init "$NG1/data/store"
  CAP=0 timed up_emb "$EMBASSY" seal "$NG1/data/store" "$DATA" --sealer-key "$WORK/sealer.key"
  [ "$T_RC" = 0 ] || die "seal failed"; UP[embassy]=$T_WALL
fi
if has restic; then
  log "restic backup into a local repository"
  RREPO=$WORK/restic-repo
  restic init -r "$RREPO" >/dev/null 2>&1 || die "restic init failed"
  RESTIC_CACHE_DIR=$WORK/rc-backup CAP=0 timed up_res restic -r "$RREPO" backup "$DATA"
  [ "$T_RC" = 0 ] || die "restic backup failed"; UP[restic]=$T_WALL
  rm -rf "$WORK/rc-backup"
fi
if has rclone; then
  # written through a crypt remote over the directory nginx serves (the same objects a crypt
  # remote over WebDAV would write: nginx's MKCOL refuses missing parents under parallel PUTs)
  log "rclone copy into the crypt remote (the nginx WebDAV directory)"
  export RCLONE_CONFIG_BDAV_TYPE=webdav RCLONE_CONFIG_BDAV_URL=$HTTPS_URL/rclone RCLONE_CONFIG_BDAV_VENDOR=other
  export RCLONE_CONFIG_BCRYPT_TYPE=crypt RCLONE_CONFIG_BCRYPT_REMOTE=bdav:
  RCLONE_CONFIG_BCRYPT_PASSWORD=$(rclone obscure "$(cat "$WORK/pass")"); export RCLONE_CONFIG_BCRYPT_PASSWORD
  export RCLONE_CONFIG_BLOCAL_TYPE=crypt RCLONE_CONFIG_BLOCAL_REMOTE=$NG1/data/rclone
  export RCLONE_CONFIG_BLOCAL_PASSWORD=$RCLONE_CONFIG_BCRYPT_PASSWORD
  export RCLONE_CA_CERT=$CA RCLONE_CONFIG=/dev/null
  CAP=0 timed up_rcl rclone copy "$DATA" blocal: --transfers 4
  [ "$T_RC" = 0 ] || { tail "$LOGDIR/up_rcl.log"; die "rclone copy failed"; }; UP[rclone]=$T_WALL
fi

# ---- mounting ----
DPID=; ROOT=; READY=
# mount_fresh SYS LAT: caches dropped, a fresh daemon with empty caches; sets ROOT, DPID, READY
MOUNTS=0
mount_fresh() {
  local sys=$1 lat=$2 t0 n
  MOUNTS=$((MOUNTS + 1)); n=$MOUNTS
  drop_caches
  t0=$(now_ns)
  case $sys in
    local) ROOT=$DATA; DPID=; READY=0; return 0 ;;
    embassy)
      local url=$HTTPS_URL/store opt=(--cacert "$CA")
      [ "$lat" = 30 ] && { url=http://127.0.0.1:$P_PROXY/store; opt=(); }
      start_bg "emb-mount-$n" "$EMBASSY" mount "$url" "$MNT" --foreground --passphrase-file "$WORK/pass" \
        --cache-dir "$WORK/ecache-$n" "${opt[@]}"
      ROOT=$MNT/latest ;;
    restic)
      local r=$RREPO; [ "$lat" = 30 ] && r=rest:http://127.0.0.1:$P_RPROXY/
      RESTIC_CACHE_DIR=$WORK/rcache-$n start_bg "restic-mount-$n" restic -r "$r" mount "$MNT"
      ROOT=$MNT/snapshots/latest$DATA ;;
    rclone)
      local remote=bcrypt:; [ "$lat" = 30 ] && remote=bcrypt30:
      start_bg "rclone-mount-$n" rclone mount "$remote" "$MNT" --read-only --cache-dir "$WORK/rclcache-$n"
      ROOT=$MNT ;;
  esac
  DPID=$BG_PID
  if ! wait_until "$CAP" test -e "$ROOT/$DS_DB"; then
    log "$sys mount not ready after $CAP s"; tail -5 "$LOGDIR/"*"-mount-$n.out" >&2; READY=">$CAP"; return 1
  fi
  READY=$(calc "($(now_ns) - $t0) / 1e9" 2)
}
declare -A HWM
umount_now() { # umount_now SYS LAT
  local k="$1|$2" h
  if [ -n "$DPID" ]; then
    h=$(awk '/VmHWM/{print $2}' "/proc/$DPID/status" 2>/dev/null || echo 0)
    [ "${h:-0}" -gt "${HWM[$k]:-0}" ] && HWM[$k]=$h
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
declare -A V
# one_test SYS LAT TEST PHASE: fills V["SYS|LAT|TEST|PHASE"] (and extra keys); 1 if capped
one_test() {
  local sys=$1 lat=$2 test=$3 ph=$4 k="$1|$2|$3|$4" name="$1-$2-$3-$4" j
  case $test in
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
  esac
  [ "$T_RC" = 0 ] || log "$name: exit $T_RC"
  [[ $T_WALL == ">"* ]] && return 1
  return 0
}
TESTS=(ls seq fio1 fio4 cp rsync sql)
run_sys() { # run_sys SYS LAT
  local sys=$1 lat=$2 t
  for t in "${TESTS[@]}"; do
    log "$sys @${lat}ms: $t"
    if ! mount_fresh "$sys" "$lat"; then
      V["$sys|$lat|$t|cold"]="mount failed"; umount_now "$sys" "$lat"; continue
    fi
    [ -n "${V["$sys|$lat|ready"]:-}" ] || V["$sys|$lat|ready"]=$READY
    V["$sys|$lat|ready|all"]="${V["$sys|$lat|ready|all"]:-}${V["$sys|$lat|ready|all"]:+ }$READY"
    if one_test "$sys" "$lat" "$t" cold; then one_test "$sys" "$lat" "$t" warm || true
    else V["$sys|$lat|$t|warm"]="(skipped)"; fi
    umount_now "$sys" "$lat"
  done
}
SYSTEMS=()
for s in local embassy restic rclone; do has "$s" && SYSTEMS+=("$s"); done
for s in "${SYSTEMS[@]}"; do run_sys "$s" 0; done

SYS30=()
if [ "$DO30" = 1 ]; then
  proxy proxy-http "$HTTP_URL"; P_PROXY=$PROXY_PORT
  if has restic; then
    P_REST=$("$REPO/scripts/free-port.sh")
    start_bg rclone-serve-restic rclone serve restic --addr "127.0.0.1:$P_REST" "$RREPO"
    wait_until 20 curl -sf -o /dev/null "http://127.0.0.1:$P_REST/config" || die "rclone serve restic not ready"
    proxy proxy-rest "http://127.0.0.1:$P_REST"; P_RPROXY=$PROXY_PORT
    set_latency "$P_RPROXY" 30
  fi
  export RCLONE_CONFIG_BDAV30_TYPE=webdav RCLONE_CONFIG_BDAV30_URL=http://127.0.0.1:$P_PROXY/rclone RCLONE_CONFIG_BDAV30_VENDOR=other
  export RCLONE_CONFIG_BCRYPT30_TYPE=crypt RCLONE_CONFIG_BCRYPT30_REMOTE=bdav30:
  RCLONE_CONFIG_BCRYPT30_PASSWORD=${RCLONE_CONFIG_BCRYPT_PASSWORD:-}; export RCLONE_CONFIG_BCRYPT30_PASSWORD
  set_latency "$P_PROXY" 30
  for s in embassy restic rclone; do has "$s" && SYS30+=("$s"); done
  for s in "${SYS30[@]}"; do run_sys "$s" 30; done
fi

# ---- report ----
REPORT=$WORK/report.md
v() { echo "${V[$1]:-n/a}"; }
cw() { echo "$(v "$1|cold") / $(v "$1|warm")"; }
fiocell() { echo "$(v "$1|cold") ($(v "$1|cold|p99")) / $(v "$1|warm") ($(v "$1|warm|p99"))"; }
table() { # table LAT SYS...
  local lat=$1; shift
  local s hdr="| test (cold / warm) |" sep="|---|"
  for s in "$@"; do hdr="$hdr $s |"; sep="$sep---|"; done
  [[ " $* " == *" embassy "* && " $* " == *" restic "* ]] && { hdr="$hdr embassy vs restic (cold / warm) |"; sep="$sep---|"; }
  echo "$hdr"; echo "$sep"
  line() { # line LABEL FN TEST HIGHER_BETTER(1|0)
    local l="| $1 |" s k r1 r2
    for s in "${@:5}"; do k="$s|$lat|$3"; l="$l $($2 "$k") |"; done
    if [[ " ${*:5} " == *" embassy "* && " ${*:5} " == *" restic "* ]]; then
      if [ "$4" = 1 ]; then r1=$(ratio "$(v "embassy|$lat|$3|cold")" "$(v "restic|$lat|$3|cold")"); r2=$(ratio "$(v "embassy|$lat|$3|warm")" "$(v "restic|$lat|$3|warm")")
      else r1=$(ratio "$(v "restic|$lat|$3|cold")" "$(v "embassy|$lat|$3|cold")"); r2=$(ratio "$(v "restic|$lat|$3|warm")" "$(v "embassy|$lat|$3|warm")"); fi
      [ "$3" = ready ] && { r1=$(ratio "$(v "restic|$lat|ready")" "$(v "embassy|$lat|ready")"); r2=-; }
      [[ $r1 == n/a || $r1 == - ]] || r1="${r1}x"; [[ $r2 == n/a || $r2 == - ]] || r2="${r2}x"
      l="$l **${r1} / ${r2}** |"
    fi
    echo "$l"
  }
  line "mount ready, s (first mount)" v ready 0 "$@"
  line "\`ls -lR\`, s" cw ls 0 "$@"
  line "sequential read $(mib "$DS_BIG_BYTES") MiB file, MiB/s" cw seq 1 "$@"
  line "fio 4 KiB random, qd1: IOPS (p99 ms)" fiocell fio1 1 "$@"
  line "fio 4 KiB random, 4 jobs: IOPS (p99 ms)" fiocell fio4 1 "$@"
  line "\`cp -a\` $DS_SMALL_FILES small files, files/s" cw cp 1 "$@"
  line "\`rsync -a\` everything ($(mib "$DS_BYTES") MiB), MiB/s" cw rsync 1 "$@"
  line "SQLite $( [ "$DS_DB_ROWS" -ge 2000 ] && echo 2,000 ) rowid lookups, s" cw sql 0 "$@"
  line "SQLite rowid range query (10% of rows), s" cw "sql|range" 0 "$@"
  local l="| daemon peak RSS (VmHWM), MiB |"
  for s in "$@"; do if [ "$s" = local ]; then l="$l - |"; else l="$l $(kib2mib "${HWM[$s|$lat]:-n/a}") |"; fi; done
  [[ " $* " == *" embassy "* && " $* " == *" restic "* ]] && l="$l |"
  echo "$l"
}
# the "|range" values are stored under "sys|lat|sql|cold|range": remap for the table
for k in "${!V[@]}"; do
  [[ $k == *"|sql|"*"|range" ]] && { b=${k%|range}; ph=${b##*|}; V["${b%|*}|range|$ph"]=${V[$k]}; }
done
{
  machine_header "mount: embassy vs restic mount, rclone crypt mount, local disk${SMALL:+ — SMALL trial data set}"
  echo "- cold = caches dropped and a fresh mount (fresh daemon caches) for every test; warm = the same test again on that mount. fio: ${FIO_S} s per run, --invalidate=1 cold / 0 warm. Steps bounded at ${CAP} s (\">${CAP}\": capped; its warm run skipped)."
  echo "- embassy: nginx HTTPS h2 store, --memory-cache default, disk cache in a fresh dir per mount. restic: local repository at 0 ms; REST (\`rclone serve restic\`) at 30 ms. rclone: crypt over WebDAV on the same nginx (vfs-cache-mode off, defaults). uploads: ${UP[embassy]:-n/a} s embassy seal (HTTPS), ${UP[restic]:-n/a} s restic backup (local), ${UP[rclone]:-n/a} s rclone copy (to the crypt remote through the served directory)"
  echo "- mount-ready samples (s), 0 ms: $(for s in "${SYSTEMS[@]}"; do printf '%s: %s; ' "$s" "$(v "$s|0|ready|all")"; done)"
  echo
  echo "### loopback (0 ms)"
  echo
  table 0 "${SYSTEMS[@]}"
  if [ "${#SYS30[@]}" -gt 0 ]; then
    echo
    echo "### through faultproxy, 30 ms per request"
    echo
    table 30 "${SYS30[@]}"
  fi
  echo
  echo "(† \`cp -a\` exited 1: the mount answers listxattr with EIO (rclone mount); all file data was copied.)"
  echo "(\"embassy vs restic\": speed-up of embassy, >1 is better. Issue #5 anchors, restic mount: cold seq 190 MiB/s, warm 209, random 157 IOPS p99 23 ms, ls -lR 2.6 s, cp -a 2,057 files/s, rsync 74 MiB/s, ready 0.9 s, RSS 279 MiB; at 30 ms cp -a 653 s, seq 37.7 MiB/s, 26.7 IOPS, 2,000 lookups 4.3 s.)"
} > "$REPORT"
emit "$REPORT"
