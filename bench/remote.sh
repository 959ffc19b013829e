#!/usr/bin/env bash
# remote.sh [--small] [--no-ceph] — restore throughput from each store kind on loopback, embassy
# vs restic from the same servers, in one run:
#   embassy: local directory, nginx HTTPS (HTTP/2), Ceph RGW (S3), and plain-http nginx through
#            tests/tools/faultproxy.py at 0 ms (the proxy's own ceiling) and 30 ms per request
#   restic:  local repository, REST backend via `rclone serve restic` (plain http, loopback),
#            its S3 backend against the same Ceph RGW, and the REST server through the same
#            kind of proxy at 0 ms and 30 ms
# Two subsets: the small files (cadastre/) and the 1 GiB file. Page cache dropped before each
# restore; restic gets a fresh, empty cache directory for each (a recovery host has none).
# Each restore is timed including a final sync and bounded by BENCH_CAP (default 300 s).
# Prints a markdown report and appends it to bench/RESULTS.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SMALL=(); CEPH=1
for a in "$@"; do
  case $a in
    --small) SMALL=(--small) ;; --no-ceph) CEPH=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;; *) die "unknown argument $a" ;;
  esac
done
CAP=${BENCH_CAP:-300}
need restic rclone python3 curl nginx /usr/bin/time
[ -x "$EMBASSY" ] || die "$EMBASSY not built (see bench/README.md)"
load_dataset "${SMALL[@]}"

WORK=$WORK_ROOT/remote
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
export EMBASSY_STATE_DIR=$WORK/state EMBASSY_TIMEOUT=600
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
export RESTIC_PASSWORD_FILE=$WORK/pass RESTIC_PROGRESS_FPS=0.016
SUBSET_BYTES=$((DS_SMALL_BYTES + DS_BIG_BYTES))
PATHS=("$DATA/$DS_SMALL" "$DATA/$DS_BIG")

# ---- servers ----
NG1=$WORK/nginx-tls; NG2=$WORK/nginx-http
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG1'"
"$REPO/scripts/nginx-up.sh" "$NG1" >"$LOGDIR/nginx-tls.out" 2>&1 || { cat "$LOGDIR/nginx-tls.out"; die "nginx (TLS) did not start"; }
# shellcheck disable=SC1091
HTTPS_URL=$(. "$NG1/http.env"; echo "$STORE_URL"); CA=$NG1/pki/ca.crt
mkdir -p "$NG2"; ln -s "$NG1/data" "$NG2/data"   # the same objects, served over plain http
add_cmd "'$REPO/scripts/nginx-down.sh' '$NG2'"
NGINX_TLS=0 "$REPO/scripts/nginx-up.sh" "$NG2" >"$LOGDIR/nginx-http.out" 2>&1 || { cat "$LOGDIR/nginx-http.out"; die "nginx (http) did not start"; }
HTTP_URL=$(. "$NG2/http.env"; echo "$STORE_URL")
if [ "$CEPH" = 1 ]; then
  need radosgw ceph-mon ceph-osd
  add_cmd "'$REPO/scripts/ceph-rgw-down.sh' '$WORK/ceph'"
  CEPH_MEM_BYTES=$(( 3 * SUBSET_BYTES + (1 << 30) )) "$REPO/scripts/ceph-rgw-up.sh" "$WORK/ceph" \
    >"$LOGDIR/ceph.out" 2>&1 || { tail -20 "$LOGDIR/ceph.out"; die "Ceph RGW did not start"; }
  # shellcheck disable=SC1091
  . "$WORK/ceph/s3.env"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION EMBASSY_S3_ENDPOINT
fi
# proxy NAME UPSTREAM: faultproxy at 0 ms; its port in PROXY_PORT
proxy() {
  rm -f "$WORK/$1.port"
  start_bg "$1" python3 "$REPO/tests/tools/faultproxy.py" --upstream "$2" --port-file "$WORK/$1.port" --latency-ms 0
  wait_until 20 test -s "$WORK/$1.port" || die "faultproxy $1 did not start"
  PROXY_PORT=$(cat "$WORK/$1.port")
}
set_latency() { curl -sf "http://127.0.0.1:$1/__fault?latency_ms=$2" >/dev/null; }
proxy proxy-emb "$HTTP_URL"; P_EMB=$PROXY_PORT

# ---- fill the stores ----
declare -A W TP NOTE
log "sealing into the local/nginx store and restic backup into a local repository"
STORE_LOCAL=$NG1/data/store
emb_init "$STORE_LOCAL"
CAP=0 timed up_emb_local "$EMBASSY" seal "$STORE_LOCAL" "${PATHS[@]}" --sealer-key "$WORK/sealer.key"
[ "$T_RC" = 0 ] || die "seal failed"; W[up_emb_local]=$T_WALL
RREPO=$WORK/restic-repo
restic init -r "$RREPO" >/dev/null 2>&1 || die "restic init failed"
RESTIC_CACHE_DIR=$WORK/rc-backup CAP=0 timed up_res_local restic -r "$RREPO" backup "${PATHS[@]}"
[ "$T_RC" = 0 ] || die "restic backup failed"; W[up_res_local]=$T_WALL
P_REST=$("$REPO/scripts/free-port.sh")
start_bg rclone-serve-restic rclone serve restic --addr "127.0.0.1:$P_REST" "$RREPO"
wait_until 20 curl -sf -o /dev/null "http://127.0.0.1:$P_REST/config" || die "rclone serve restic not ready"
proxy proxy-rest "http://127.0.0.1:$P_REST"; P_RPROXY=$PROXY_PORT
if [ "$CEPH" = 1 ]; then
  log "sealing into Ceph RGW (S3) and restic backup into the same RGW"
  S3_STORE=s3://$S3_BUCKET/store
  emb_init "$S3_STORE"
  CAP=0 timed up_emb_s3 "$EMBASSY" seal "$S3_STORE" "${PATHS[@]}" --sealer-key "$WORK/sealer.key"
  [ "$T_RC" = 0 ] || { cat "$LOGDIR/up_emb_s3.log"; die "seal to S3 failed"; }; W[up_emb_s3]=$T_WALL
  R_S3=s3:$S3_ENDPOINT/$S3_BUCKET/restic
  restic init -r "$R_S3" >/dev/null 2>&1 || die "restic init (S3) failed"
  RESTIC_CACHE_DIR=$WORK/rc-backup-s3 CAP=0 timed up_res_s3 restic -r "$R_S3" backup "${PATHS[@]}"
  [ "$T_RC" = 0 ] || die "restic backup (S3) failed"; W[up_res_s3]=$T_WALL
fi

# ---- restores ----
N=0
# restore KEY BYTES FILES KIND CMD... (CMD writes into $T)
check_tree() { # check_tree DIR FILES BYTES: the restore is complete (count and sizes)
  local f b
  f=$(find "$1" -type f | wc -l); b=$(find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')
  [ "$f" = "$2" ] && [ "$b" = "$3" ]
}
measure() {
  local key=$1 bytes=$2 files=$3; shift 3
  N=$((N + 1)); T=$WORK/t$N; rm -rf "$T"; mkdir -p "$T"
  export RESTIC_CACHE_DIR=$WORK/rc-$N
  drop_caches
  log "restore $key"
  local args=() a
  for a in "$@"; do args+=("${a//@T@/$T}"); done
  timed "$key" sh -c '"$@" && sync' sh "${args[@]}"
  W[$key]=$T_WALL; TP[$key]=$(mibps "$bytes" "$T_WALL")
  if [ "$T_RC" != 0 ] && [[ $T_WALL != ">"* ]]; then NOTE[$key]="FAILED (exit $T_RC)"; W[$key]=n/a; TP[$key]=n/a
  elif [[ $T_WALL != ">"* ]] && ! check_tree "$T" "$files" "$bytes"; then NOTE[$key]="INCOMPLETE"; fi
  rm -rf "$T" "$RESTIC_CACHE_DIR"
}
emb_restore() { # emb_restore KEYPREFIX STORE [opts...]
  local k=$1 s=$2; shift 2
  measure "$k-small" "$DS_SMALL_BYTES" "$DS_SMALL_FILES" "$EMBASSY" restore "$s" "latest:$DS_SMALL" @T@ --passphrase-file "$WORK/pass" "$@"
  measure "$k-big" "$DS_BIG_BYTES" 1 "$EMBASSY" restore "$s" "latest:$(basename "$DS_BIG")" @T@ --passphrase-file "$WORK/pass" "$@"
}
res_restore() { # res_restore KEYPREFIX REPO
  local k=$1 r=$2
  measure "$k-small" "$DS_SMALL_BYTES" "$DS_SMALL_FILES" restic -r "$r" restore latest --target @T@ --include "$DATA/$DS_SMALL"
  measure "$k-big" "$DS_BIG_BYTES" 1 restic -r "$r" restore latest --target @T@ --include "$DATA/$DS_BIG"
}
emb_restore emb-local "$STORE_LOCAL"
res_restore res-local "$RREPO"
emb_restore emb-https "$HTTPS_URL/store" --cacert "$CA"
res_restore res-rest "rest:http://127.0.0.1:$P_REST/"
if [ "$CEPH" = 1 ]; then
  emb_restore emb-s3 "$S3_STORE"
  res_restore res-s3 "$R_S3"
fi
emb_restore emb-proxy0 "http://127.0.0.1:$P_EMB/store"
res_restore res-proxy0 "rest:http://127.0.0.1:$P_RPROXY/"
set_latency "$P_EMB" 30; set_latency "$P_RPROXY" 30
emb_restore emb-proxy30 "http://127.0.0.1:$P_EMB/store"
res_restore res-proxy30 "rest:http://127.0.0.1:$P_RPROXY/"
curl -s "http://127.0.0.1:$P_EMB/__stats" > "$LOGDIR/proxy-emb-stats.json" || true
curl -s "http://127.0.0.1:$P_RPROXY/__stats" > "$LOGDIR/proxy-rest-stats.json" || true

# ---- report ----
REPORT=$WORK/report.md
cell() { local k=$1; if [ -n "${NOTE[$k]:-}" ]; then echo "${NOTE[$k]}"; else echo "${W[$k]} s, ${TP[$k]} MiB/s"; fi; }
{
  machine_header "remote restore throughput: embassy vs restic (loopback)${SMALL:+ — SMALL trial data set}"
  echo "- subsets: small files $(mib "$DS_SMALL_BYTES") MiB in $DS_SMALL_FILES files; one $(mib "$DS_BIG_BYTES") MiB file. Cold page cache, fresh restic cache, timed incl. sync, bound ${CAP} s"
  echo "- faultproxy.py is a Python store-and-forward proxy (one upstream connection per client connection); its 0 ms row is its own ceiling"
  echo "- upload (seal/backup of both subsets): local embassy ${W[up_emb_local]} s, restic ${W[up_res_local]} s$( [ "$CEPH" = 1 ] && echo "; to Ceph RGW embassy ${W[up_emb_s3]} s, restic ${W[up_res_s3]} s")"
  echo
  echo "| store | embassy small files | restic small files | restic/embassy | embassy 1 GiB file | restic 1 GiB file | restic/embassy |"
  echo "|---|---|---|---:|---|---|---:|"
  row() { echo "| $1 | $(cell "$2-small") | $(cell "$3-small") | **$(ratio "${W[$3-small]}" "${W[$2-small]}")** | $(cell "$2-big") | $(cell "$3-big") | **$(ratio "${W[$3-big]}" "${W[$2-big]}")** |"; }
  row "local directory" emb-local res-local
  row "nginx HTTPS h2 (embassy) / rclone serve restic REST (restic)" emb-https res-rest
  [ "$CEPH" = 1 ] && row "Ceph RGW S3" emb-s3 res-s3
  row "faultproxy 0 ms (plain http nginx / REST)" emb-proxy0 res-proxy0
  row "faultproxy **30 ms** per request" emb-proxy30 res-proxy30
  echo
  echo "faultproxy request counts (all phases): embassy $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("requests", "?"))' "$LOGDIR/proxy-emb-stats.json" 2>/dev/null || echo '?'), restic $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("requests", "?"))' "$LOGDIR/proxy-rest-stats.json" 2>/dev/null || echo '?')"
  echo "(restic/embassy > 1: embassy faster. Issue #4 anchor at 30 ms: restic small files 3.5 s, 1 GiB 4.0 s = 258 MiB/s)"
} > "$REPORT"
emit "$REPORT"
