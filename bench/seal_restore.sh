#!/usr/bin/env bash
# seal_restore.sh [--small] — embassy seal/restore vs restic backup/restore, side by side in one
# run on the same data set, both into a local repository on the same disk.
# Phases (page cache dropped before each): initial seal/backup, restore into an empty
# directory (timed including the final sync: embassy restore ends with syncfs, restic's does
# not), re-seal of the unchanged tree, re-seal after 1 MiB changed inside the 1 GiB file.
# Prints a markdown report and appends it to bench/RESULTS.md.
# env: EMBASSY (binary), BENCH_WORK (scratch root, default /var/tmp/embassy-bench-work),
#      BENCH_CAP (s per step, default 0 here: unbounded), BENCH_KEEP=1 keeps the scratch dir
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SMALL=()
for a in "$@"; do
  case $a in --small) SMALL=(--small) ;; -h|--help) sed -n '2,11p' "$0"; exit 0 ;; *) die "unknown argument $a" ;; esac
done
CAP=${BENCH_CAP:-0}
need restic python3 /usr/bin/time
[ -x "$EMBASSY" ] || die "$EMBASSY not built (see bench/README.md)"
load_dataset "${SMALL[@]}"

WORK=$WORK_ROOT/seal
rm -rf "$WORK"; mkdir -p "$WORK"
[ "${BENCH_KEEP:-0}" = 1 ] || add_cmd "rm -rf '$WORK'"
LOGDIR=$WORK/logs; mkdir -p "$LOGDIR"
echo "bench passphrase $(date +%s)" > "$WORK/pass"; chmod 600 "$WORK/pass"
export RESTIC_PASSWORD_FILE=$WORK/pass RESTIC_CACHE_DIR=$WORK/restic-cache
export RESTIC_PROGRESS_FPS=0.016
E=(env EMBASSY_TIMEOUT=600 "$EMBASSY")

log "copying the data set to $WORK/src (the 1 MiB change must not touch the cache)"
cp -a "$DATA" "$WORK/src"
SRC=$WORK/src
STORE=$WORK/embassy-store
REPO_R=$WORK/restic-repo
emb_init "$STORE"
restic init --repo "$REPO_R" >/dev/null 2>&1 || die "restic init failed"
# restic opens its key with scrypt (calibrated at init); measure that fixed cost once
drop_caches
timed restic_open restic -r "$REPO_R" cat config
RESTIC_OPEN=$T_WALL

declare -A W R C
run() { # run KEY CMD...: timed, results in W[KEY] R[KEY] C[KEY]
  local k=$1; shift
  drop_caches
  log "$k"
  timed "$k" "$@"
  [ "$T_RC" = 0 ] || { cat "$LOGDIR/$k.log" >&2; die "$k failed (exit $T_RC)"; }
  W[$k]=$T_WALL; R[$k]=$T_RSS; C[$k]=$T_CPU
}
size() { du -sb "$1" | cut -f1; }

# 1. initial seal / backup
run emb_seal "${E[@]}" seal "$STORE" "$SRC" --sealer-key "$WORK/sealer.key" --json
cp "$LOGDIR/emb_seal.log" "$WORK/seal1.json"
run res_backup restic -r "$REPO_R" backup "$SRC"
S_EMB1=$(size "$STORE"); S_RES1=$(size "$REPO_R")

# 2. restore into empty directories, including sync
run emb_restore sh -c '"$@" && sync' sh "${E[@]}" restore "$STORE" latest "$WORK/r-emb" --passphrase-file "$WORK/pass"
run res_restore sh -c '"$@" && sync' sh restic -r "$REPO_R" restore latest --target "$WORK/r-res"
log "checking both restores against the source (not timed)"
diff -rq "$SRC" "$WORK/r-emb" >"$LOGDIR/diff-emb.log" 2>&1 && OK_EMB=identical || OK_EMB="DIFFERS (see $LOGDIR/diff-emb.log)"
diff -rq "$SRC" "$WORK/r-res$SRC" >"$LOGDIR/diff-res.log" 2>&1 && OK_RES=identical || OK_RES="DIFFERS"
rm -rf "$WORK/r-emb" "$WORK/r-res"

# 3. re-seal of the unchanged tree
run emb_reseal "${E[@]}" seal "$STORE" "$SRC" --sealer-key "$WORK/sealer.key" --json
cp "$LOGDIR/emb_reseal.log" "$WORK/seal2.json"
run res_rebackup restic -r "$REPO_R" backup "$SRC"
S_EMB2=$(size "$STORE"); S_RES2=$(size "$REPO_R")

# 4. change 1 MiB in the middle of the 1 GiB file (seeded bytes), re-seal
python3 - "$SRC/$DS_BIG" <<'PY'
import os, random, sys
p = sys.argv[1]
size = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(size // 2 + 12345)
    f.write(random.Random(7).randbytes(1 << 20))
PY
run emb_change "${E[@]}" seal "$STORE" "$SRC" --sealer-key "$WORK/sealer.key" --json
cp "$LOGDIR/emb_change.log" "$WORK/seal3.json"
run res_change restic -r "$REPO_R" backup "$SRC"
S_EMB3=$(size "$STORE"); S_RES3=$(size "$REPO_R")

# the last line of seal --json is its summary (progress lines may come before: docs/JSON.md)
jget() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); d=json.loads([l for l in t.splitlines() if l.startswith("{")][-1]); print(d.get(sys.argv[2], "?"))' "$1" "$2" 2>/dev/null || echo "?"; }

for k in "${!W[@]}"; do
  figure "seal|$k|s" "${W[$k]}"; figure "seal|$k|rss_mib" "$(kib2mib "${R[$k]}")"; figure "seal|$k|cpu" "${C[$k]}"
done
figure "seal|bytes" "$DS_BYTES"

REPORT=$WORK/report.md
{
  machine_header "seal/restore: embassy vs restic (local repository)${SMALL:+ — SMALL trial data set}"
  echo "- restic opens its repository key with scrypt calibrated at init: \`restic cat config\` alone takes ${RESTIC_OPEN} s (included in every restic figure); embassy's passphrase KDF was set cheap (--kdf-memory 64 --kdf-ops 1)"
  echo "- cold: page cache dropped before every phase; restores timed including \`sync\`; restic cache dir fresh at start (it fills during backup, as on a sealing host)"
  echo "- restored trees compared with the source (diff -r): embassy $OK_EMB, restic $OK_RES"
  echo
  echo "| phase | embassy s | restic s | restic/embassy | embassy peak RSS MiB | restic peak RSS MiB | embassy CPU s | restic CPU s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  row() { echo "| $1 | ${W[$2]} | ${W[$3]} | **$(ratio "${W[$3]}" "${W[$2]}")** | $(kib2mib "${R[$2]}") | $(kib2mib "${R[$3]}") | ${C[$2]} | ${C[$3]} |"; }
  row "seal / backup ($(mib "$DS_BYTES") MiB, $DS_FILES files)" emb_seal res_backup
  row "restore into empty dir + sync" emb_restore res_restore
  row "re-seal, unchanged tree" emb_reseal res_rebackup
  row "re-seal, 1 MiB changed in the $(mib "$DS_BIG_BYTES") MiB file" emb_change res_change
  echo
  echo "| store size | embassy | restic | embassy/restic |"
  echo "|---|---:|---:|---:|"
  echo "| after first seal, MiB | $(mib "$S_EMB1") | $(mib "$S_RES1") | **$(ratio "$S_EMB1" "$S_RES1")** |"
  echo "| growth by unchanged re-seal, KiB | $(calc "($S_EMB2 - $S_EMB1)/1024" 1) | $(calc "($S_RES2 - $S_RES1)/1024" 1) | $(ratio "$((S_EMB2 - S_EMB1))" "$((S_RES2 - S_RES1))") |"
  echo "| growth by the 1 MiB change, KiB | $(calc "($S_EMB3 - $S_EMB2)/1024" 1) | $(calc "($S_RES3 - $S_RES2)/1024" 1) | $(ratio "$((S_EMB3 - S_EMB2))" "$((S_RES3 - S_RES2))") |"
  echo
  echo "embassy seal --json: first seal chunks=$(jget "$WORK/seal1.json" chunks) bytes_new_stored=$(jget "$WORK/seal1.json" bytes_new_stored) packs_new=$(jget "$WORK/seal1.json" packs_new); 1 MiB change: chunks_new=$(jget "$WORK/seal3.json" chunks_new) bytes_new_plain=$(jget "$WORK/seal3.json" bytes_new_plain) bytes_new_stored=$(jget "$WORK/seal3.json" bytes_new_stored)"
  echo "(restic/embassy > 1: embassy faster; embassy/restic < 1: embassy store smaller)"
} > "$REPORT"
emit "$REPORT"
