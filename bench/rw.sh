#!/usr/bin/env bash
# rw.sh [--small] [--no-delta | --delta-only] — issue 10: the write-through mount (`embassy mount --rw`) side by
# side with local disk and `rclone mount --vfs-cache-mode writes` (crypt over WebDAV on nginx),
# in one run:
#   1. untar of the 20,000 small files into the mount;
#   2. sequential write of the 1 GiB image with one fsync (dd conv=fsync);
#   3. SQLite: 1,000 INSERT transactions, each committed (python3's sqlite3, default
#      rollback journal, synchronous=FULL) into the 100 MiB business register;
#   4. getting those changes to the embassy: `embassy commit` of the mount vs `embassy seal`
#      of the same tree (the local-disk copy, into a store holding its base) vs `restic backup`
#      (REST server `rclone serve restic`, holding its base) vs rclone's own upload queue
#      draining (vfs/stats);
#   5. (unless --no-delta; --delta-only: this alone) the small-change figure: a 4 KiB write at 7/33/61/89 MiB of the
#      100 MiB database, each committed alone; the bytes the store gained.
# Stores: nginx (plain HTTP on 127.0.0.1) serves embassy's stores and rclone's WebDAV directory.
# The report goes to stdout and is appended to bench/RESULTS.md (BENCH_RESULTS).
# env RW_NO_RCLONE=1 leaves rclone's three steps out (its untar alone takes ~11 min); a step
# that fails on rclone is reported as failed, the run goes on.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
SMALL=(); DELTA=1; STEPS=1
for a in "$@"; do
  case $a in
    --small) SMALL=(--small) ;;
    --no-delta) DELTA=0 ;;
    --delta-only) STEPS=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument $a" ;;
  esac
done
CAP=${BENCH_CAP:-0}
PY=/usr/bin/python3 # not a pyenv shim (seconds per start)
need restic rclone nginx tar curl fusermount3 mountpoint /usr/bin/time "$PY"
[ -x "$EMBASSY" ] || die "no embassy binary at $EMBASSY (see bench/README.md)"
load_dataset "${SMALL[@]}"

WORK=$WORK_ROOT/rw
for m in "$WORK"/mnt-*; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"; done
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
export EMBASSY_STATE_DIR=$WORK/state EMBASSY_RUNTIME_DIR=$WORK/run EMBASSY_TIMEOUT=60
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
export RESTIC_PASSWORD_FILE=$WORK/pass RESTIC_PROGRESS_FPS=0.016 RESTIC_CACHE_DIR=$WORK/restic-cache

# ---- inputs: the small files as a tar, the base tree (the register), the 1 GiB image ----
log "inputs"
tar -C "$DATA" -cf "$WORK/small.tar" "$DS_SMALL"
BASE=$WORK/base; mkdir -p "$BASE/business"
cp "$DATA/$DS_DB" "$BASE/business/register.db"
if [ "$DELTA" = 1 ]; then # 100 MiB of incompressible data for the worst case of the small change
  mkdir -p "$BASE/archive"
  head -c $(( DS_BIG_BYTES < (100 << 20) ? DS_BIG_BYTES : (100 << 20) )) "$DATA/$DS_BIG" > "$BASE/archive/random.bin"
fi
BIG=$DATA/$DS_BIG
cat "$BIG" "$WORK/small.tar" > /dev/null # page cache: we measure the write side

# ---- servers and stores ----
NG=$WORK/nginx
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NG" >"$LOGDIR/nginx.out" 2>&1 || { cat "$LOGDIR/nginx.out"; die "nginx did not start"; }
URL=$(. "$NG/http.env"; echo "$STORE_URL")
URL=${URL%/}
SA=$URL/emb-mount/ # the --rw mount's store
SB=$URL/emb-seal/  # the store `seal` of the local tree goes to
emb_init "$SA"; mv "$WORK/sealer.key" "$WORK/sealer-a.key"
CAP=0 timed base_seal_a "$EMBASSY" seal "$SA" "$BASE" --sealer-key "$WORK/sealer-a.key" -q
[ "$T_RC" = 0 ] || die "base seal (mount store) failed"
if [ "$STEPS" = 1 ]; then
emb_init "$SB" # its own sealer key, $WORK/sealer.key
LOCAL=$WORK/local; cp -a "$BASE" "$LOCAL"
CAP=0 timed base_seal_b "$EMBASSY" seal "$SB" "$LOCAL" --sealer-key "$WORK/sealer.key" -q
[ "$T_RC" = 0 ] || die "base seal (seal store) failed"

P_REST=$("$REPO/scripts/free-port.sh")
start_bg rclone-serve-restic rclone serve restic --addr "127.0.0.1:$P_REST" "$WORK/restic-repo"
wait_until 20 curl -s -o /dev/null "http://127.0.0.1:$P_REST/" || die "rclone serve restic not ready"
RREPO=rest:http://127.0.0.1:$P_REST/
restic init -r "$RREPO" >/dev/null 2>&1 || die "restic init failed"
CAP=0 timed base_restic restic -r "$RREPO" backup "$LOCAL"
[ "$T_RC" = 0 ] || die "restic base backup failed"

# rclone: crypt over WebDAV on the same nginx, base written server side through a crypt remote
# over the served directory (nginx's MKCOL refuses missing parents under parallel PUTs)
export RCLONE_CONFIG=/dev/null
export RCLONE_CONFIG_BDAV_TYPE=webdav RCLONE_CONFIG_BDAV_URL=$URL/rclone RCLONE_CONFIG_BDAV_VENDOR=other
export RCLONE_CONFIG_BCRYPT_TYPE=crypt RCLONE_CONFIG_BCRYPT_REMOTE=bdav:
RCLONE_CONFIG_BCRYPT_PASSWORD=$(rclone obscure "$(cat "$WORK/pass")"); export RCLONE_CONFIG_BCRYPT_PASSWORD
export RCLONE_CONFIG_BLOCAL_TYPE=crypt RCLONE_CONFIG_BLOCAL_REMOTE=$NG/data/rclone
export RCLONE_CONFIG_BLOCAL_PASSWORD=$RCLONE_CONFIG_BCRYPT_PASSWORD
mkdir -p "$NG/data/rclone"
rclone copy "$BASE" blocal: >"$LOGDIR/rclone-base.log" 2>&1 || die "rclone base copy failed"
fi

# ---- mounts ----
ME=$WORK/mnt-emb; MR=$WORK/mnt-rcl; mkdir -p "$ME" "$MR"
add_mount "$ME"; add_mount "$MR"
start_bg mount-emb "$EMBASSY" mount "$SA" "$ME" --rw --sealer-key "$WORK/sealer-a.key" \
  --journal-dir "$WORK/journal" --commit-every 0 --foreground
EMB_PID=$BG_PID
wait_until 60 mountpoint -q "$ME" || { cat "$LOGDIR/mount-emb.out"; die "embassy --rw mount did not come up"; }
if [ "$STEPS" = 1 ]; then
P_RC=$("$REPO/scripts/free-port.sh")
start_bg mount-rcl rclone mount bcrypt: "$MR" --vfs-cache-mode writes --cache-dir "$WORK/rclcache" \
  --rc --rc-addr "127.0.0.1:$P_RC" --rc-no-auth
wait_until 60 mountpoint -q "$MR" || { cat "$LOGDIR/mount-rcl.out"; die "rclone mount did not come up"; }
rcl_queue() { # uploads still queued or in progress in rclone's VFS
  rclone rc --url "http://127.0.0.1:$P_RC/" vfs/stats 2>/dev/null |
    "$PY" -c 'import json,sys; d=json.load(sys.stdin)["diskCache"]; print(d["uploadsInProgress"] + d["uploadsQueued"])'
}
rcl_drained() { [ "$(rcl_queue)" = 0 ]; }
fi

if [ "$STEPS" = 1 ]; then
declare -A DIRS=([local]=$LOCAL [embassy]=$ME [rclone]=$MR)
SYS=(local embassy rclone)
declare -A R
if [ "${RW_NO_RCLONE:-0}" = 1 ]; then # env RW_NO_RCLONE=1: skip rclone's steps (its untar alone takes ~11 min)
  SYS=(local embassy)
  for phase in untar write sqlite; do R[$phase,rclone]="not run"; R[$phase,drain]=0; done
fi

# SQLite: N INSERT transactions, each committed (python3's sqlite3: rollback journal, FULL sync)
cat > "$WORK/sqlite_tx.py" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for i in range(int(sys.argv[2])):
    db.execute("INSERT INTO company (reg_code, name, founded, capital, address, notes) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               ("BENCH-%06d" % i, "Recovery filing %d OU" % i, "2026-11-30", 2500 + i,
                "Embassy street %d, Tallinn" % i, "filed on the recovery host"))
    db.commit()
db.close()
PY

# run_phase NAME CMD... for every system: timed, then (rclone) the time its uploads take
for phase in untar write sqlite; do
  for s in "${SYS[@]}"; do
    d=${DIRS[$s]}
    drop_caches
    cat "$BIG" "$WORK/small.tar" > /dev/null
    log "$phase on $s"
    case $phase in
      untar) timed "untar-$s" tar -C "$d" -xf "$WORK/small.tar" ;;
      write) timed "write-$s" dd if="$BIG" of="$d/big.img" bs=1M conv=fsync ;;
      sqlite) timed "sqlite-$s" "$PY" "$WORK/sqlite_tx.py" "$d/business/register.db" 1000 ;;
    esac
    if [ "$T_RC" != 0 ] && [ "$s" = rclone ]; then
      # a competitor's failure is a result to report, not a reason to lose the whole run
      tail -5 "$LOGDIR/$phase-$s.log"; log "$phase on rclone failed (exit $T_RC): reported as such"
      R[$phase,$s]="failed (exit $T_RC)"; R[$phase,drain]=0
      continue
    fi
    [ "$T_RC" = 0 ] || { tail -5 "$LOGDIR/$phase-$s.log"; die "$phase on $s failed"; }
    R[$phase,$s]=$T_WALL
    if [ "$s" = rclone ]; then
      t0=$(now_ns)
      wait_until 1800 rcl_drained || log "rclone uploads did not drain"
      R[$phase,drain]=$(calc "($(now_ns) - $t0) / 1e9" 2)
    fi
  done
done

# ---- getting the changes to the embassy ----
du_b() { du -sb "$1" | cut -f1; }
store_a_before=$(du_b "$NG/data/emb-mount")
pid_cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
log "embassy commit"
cpu0=$(pid_cpu "$EMB_PID")
timed commit "$EMBASSY" commit "$ME" --json
[ "$T_RC" = 0 ] || { cat "$LOGDIR/commit.log"; die "commit failed"; }
R[commit]=$T_WALL; R[commit_cpu]=$(calc "$(pid_cpu "$EMB_PID") - $cpu0" 2) # the daemon's
R[commit_bytes]=$(( $(du_b "$NG/data/emb-mount") - store_a_before ))
COMMIT_JSON=$(tail -1 "$LOGDIR/commit.log")
store_b_before=$(du_b "$NG/data/emb-seal")
drop_caches
log "embassy seal of the local tree"
timed seal "$EMBASSY" seal "$SB" "$LOCAL" --sealer-key "$WORK/sealer.key" --json
[ "$T_RC" = 0 ] || { cat "$LOGDIR/seal.log"; die "seal failed"; }
R[seal]=$T_WALL; R[seal_cpu]=$T_CPU
R[seal_bytes]=$(( $(du_b "$NG/data/emb-seal") - store_b_before ))
rrepo_before=$(du_b "$WORK/restic-repo")
drop_caches
log "restic backup of the local tree"
timed restic restic -r "$RREPO" backup "$LOCAL"
[ "$T_RC" = 0 ] || { tail "$LOGDIR/restic.log"; die "restic backup failed"; }
R[restic]=$T_WALL; R[restic_cpu]=$T_CPU
R[restic_bytes]=$(( $(du_b "$WORK/restic-repo") - rrepo_before ))

# the committed snapshot is what the mount showed (the sealed tree is the same tree)
log "checking the commit: read-only mount of its snapshot vs the local tree"
MC=$WORK/mnt-check; mkdir -p "$MC"; add_mount "$MC"
"$EMBASSY" mount "$SA" "$MC" --passphrase-file "$WORK/pass" --cache-dir "$WORK/check-cache" >"$LOGDIR/check-mount.log" 2>&1 ||
  die "read-only mount of the committed store failed"
CHECK=identical
diff -r --no-dereference "$MC/latest/" "$LOCAL/" >"$LOGDIR/check.diff" 2>&1 || CHECK="DIFFERENT from the local tree (see $LOGDIR/check.diff)"
# the db differs in row contents only if SQLite did something different; compare row counts
fusermount3 -u "$MC"
fi

# ---- the small-change figure: 4 KiB at several offsets of the 100 MiB database ----
# and of 100 MiB of incompressible data (the worst case: stored chunks as long as plain ones);
# each change committed alone, then a second change at the same place (512 bytes further)
DELTA_ROWS=()
pwrite4k() {
  "$PY" - "$1" "$2" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, os.urandom(4096), int(sys.argv[2]))
os.fsync(fd)
os.close(fd)
PY
}
commit_gain() { # commit; GAIN = bytes the store gained (every new object), NOBJ objects
  find "$NG/data/emb-mount" -type f -printf '%P %s\n' | sort > "$WORK/obj.before"
  "$EMBASSY" commit "$ME" --json >"$LOGDIR/delta.json" 2>&1 || { cat "$LOGDIR/delta.json"; die "commit of a 4 KiB change failed"; }
  find "$NG/data/emb-mount" -type f -printf '%P %s\n' | sort > "$WORK/obj.after"
  GAIN=$(comm -13 "$WORK/obj.before" "$WORK/obj.after" | awk '{n += $2} END {print n + 0}')
  NOBJ=$(comm -13 "$WORK/obj.before" "$WORK/obj.after" | wc -l)
}
if [ "$DELTA" = 1 ]; then
  for f in "$DS_DB" archive/random.bin; do
    FSIZE=$(stat -c %s "$ME/$f")
    for mib in 7 33 61 89; do
      off=$(( mib << 20 ))
      [ "$off" -lt "$FSIZE" ] || off=$(( (FSIZE / 100) * mib ))
      pwrite4k "$ME/$f" "$off"; commit_gain; g1=$GAIN; n1=$NOBJ
      pwrite4k "$ME/$f" $((off + 512)); commit_gain; g2=$GAIN
      ok=yes; [ "$g1" -le $((2 << 20)) ] || ok=NO
      DELTA_ROWS+=("| $f ($(mib "$FSIZE") MiB) | $(calc "$off / 1048576" 1) MiB | $g1 ($(calc "$g1 / 1048576" 2) MiB, $n1 objects) | $ok | $g2 ($(calc "$g2 / 1048576" 2) MiB) |")
      log "4 KiB at $off of $f: the store gained $g1 bytes in $n1 objects; again there: $g2"
    done
  done
fi

# ---- report ----
pct() { local r; r=$(ratio "$1" "$2"); isnum "$r" && calc "$r * 100" 0 || echo "$r"; }
aim() { isnum "$1" && [ "$(calc "$1 >= $2" 0)" = 1 ] && echo "met" || echo "**not met**"; }
OUT=$WORK/report.md
{
  if [ "$STEPS" = 1 ]; then
    machine_header "issue 10: write-through mount vs local disk and rclone mount (vfs-cache-mode writes)"
  else
    machine_header "issue 10: what a 4 KiB change commits (write-through mount)"
  fi
  if [ "$STEPS" = 1 ]; then
    echo "- stores: nginx (plain HTTP, 127.0.0.1) serves both embassy stores and rclone's WebDAV directory (crypt over WebDAV); restic: REST via \`rclone serve restic\` on 127.0.0.1. The page cache is dropped before every step; sources are read back into it first (the write side is measured)."
    echo "- embassy: \`mount --rw --commit-every 0\`, journal on the same disk; rclone: \`mount bcrypt: --vfs-cache-mode writes\` (write-back 5 s default), cache on the same disk. Times are until the command returns (fsync'd data is on the local disk: the journal / rclone's cache); \"rclone upload\" is the time after that until rclone's upload queue is empty."
    echo "- check: the committed snapshot (read-only mount, empty cache) vs the local-disk tree after the same steps: $CHECK"
    echo
    echo "| step | local disk s | embassy --rw s | rclone s (+ upload s) | embassy / local speed | rclone / local speed | aim |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for phase in untar write sqlite; do
      case $phase in
        untar) name="untar $DS_SMALL_FILES small files ($(mib "$(stat -c %s "$WORK/small.tar")") MiB tar)"; want=0.5 ;;
        write) name="sequential write $(mib "$DS_BIG_BYTES") MiB + one fsync"; want=0.8 ;;
        sqlite) name="SQLite 1,000 INSERT transactions (each committed)"; want=0.5 ;;
      esac
      re=$(ratio "${R[$phase,local]}" "${R[$phase,embassy]}")
      echo "| $name | ${R[$phase,local]} | ${R[$phase,embassy]} | ${R[$phase,rclone]} (+${R[$phase,drain]}) | **$(pct "${R[$phase,local]}" "${R[$phase,embassy]}") %** | $(pct "${R[$phase,local]}" "${R[$phase,rclone]}") % | ≥ $(calc "$want * 100" 0) %: $(aim "$re" "$want") |"
    done
    echo
    echo "| getting the changes to the embassy | wall s | CPU s (commit: the mount daemon's) | store growth MiB |"
    echo "|---|---:|---:|---:|"
    echo "| \`embassy commit\` of the mount | ${R[commit]} | ${R[commit_cpu]} | $(mib "${R[commit_bytes]}") |"
    echo "| \`embassy seal\` of the same tree (store holding its base) | ${R[seal]} | ${R[seal_cpu]} | $(mib "${R[seal_bytes]}") |"
    echo "| \`restic backup\` of the same tree (repository holding its base) | ${R[restic]} | ${R[restic_cpu]} | $(mib "${R[restic_bytes]}") |"
    echo "| rclone uploads after the three steps (sum of the drains above) | $(calc "${R[untar,drain]} + ${R[write,drain]} + ${R[sqlite,drain]}" 2) | | |"
    cs=$(ratio "${R[seal]}" "${R[commit]}")
    echo
    echo "commit vs seal of the same changes: seal/commit = **$cs** (aim ≥ 1: $(aim "$cs" 1)); restic/commit = $(ratio "${R[restic]}" "${R[commit]}"). commit --json: \`$COMMIT_JSON\`"
  fi
  if [ "${#DELTA_ROWS[@]}" -gt 0 ]; then
    echo
    echo "Small change: a 4 KiB random write at an offset of the SQLite register and of 100 MiB of incompressible data (the worst case) on the mount, fsync, \`embassy commit\` alone; what the store gained (every new object: pack, index, trees, manifest, list, head) — aim ≤ 2 MiB. Then a second 4 KiB write 512 bytes further (the same place), committed alone:"
    echo
    echo "| file | offset | store gained, bytes | ≤ 2 MiB | again at the same place, bytes |"
    echo "|---|---|---:|---|---:|"
    printf '%s\n' "${DELTA_ROWS[@]}"
  fi
} > "$OUT"
emit "$OUT"
