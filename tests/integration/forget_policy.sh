#!/bin/bash
# label: local
# forget's retention rules are restic's: the same timeline of snapshots (hours, days, ISO
# weeks, months and years apart) is given to restic (real backups with --time) and to
# embassy's policy (tests/tools/policycheck), and for each rule set both must keep exactly
# the same snapshots. Then the rules through the real command: forget --keep-last/--keep-tag
# and by id on a sealed store, the newest always kept, a dry run changing nothing.
. "$(dirname "$0")/lib.sh"
command -v restic >/dev/null || skip "restic is not installed (scripts/deps.sh --test installs it)"
POLICYCHECK=$(tool policycheck)
export TZ=UTC RESTIC_PASSWORD=test RESTIC_REPOSITORY=$T/restic

# A timeline over two years: several per hour, per day, across an ISO week boundary
# (Sun 2023-12-31 / Mon 2024-01-01), month and year ends.
TIMES=(
	"2022-06-15 10:00:00" "2022-12-31 23:30:00" "2023-01-01 00:30:00" "2023-03-10 08:00:00"
	"2023-11-30 12:00:00" "2023-12-24 09:00:00" "2023-12-30 18:00:00" "2023-12-31 22:00:00"
	"2024-01-01 01:00:00" "2024-01-01 01:40:00" "2024-01-01 02:10:00" "2024-01-02 07:00:00"
	"2024-01-02 19:00:00" "2024-01-05 12:00:00" "2024-01-07 23:59:00" "2024-01-08 00:01:00"
	"2024-01-08 00:45:00" "2024-01-08 06:00:00"
)
restic init -q
mkdir -p "$T/src" && echo x >"$T/src/x"
# concurrent backups share restic's non-exclusive lock: a few at a time keeps this short
i=0
for t in "${TIMES[@]}"; do
	restic backup -q --host h --time "$t" "$T/src" &
	i=$((i + 1))
	[ $((i % 6)) = 0 ] && wait
done
wait
SECS=()
for t in "${TIMES[@]}"; do SECS+=("$(date -u -d "$t" +%s)"); done

check() {
	local want got
	restic forget -q --dry-run --json --group-by host "$@" >"$T/restic.json"
	want=$(python3 -c 'import json,sys,datetime
d = json.load(open(sys.argv[1]))
ts = []
for g in d:
    for s in g["keep"] or []:
        t = s["time"].replace("Z", "+00:00")
        ts.append(int(datetime.datetime.fromisoformat(t).timestamp()))
print(" ".join(str(t) for t in sorted(ts)))' "$T/restic.json")
	got=$("$POLICYCHECK" "$@" -- "${SECS[@]}" | tr '\n' ' ' | sed 's/ $//')
	[ "$want" = "$got" ] || fail "policy $*: restic keeps [$want], embassy [$got]"
	log "policy $*: same $(wc -w <<<"$want") kept as restic"
}
check --keep-last 4
check --keep-hourly 5
check --keep-daily 4
check --keep-weekly 3
check --keep-monthly 4
check --keep-daily 2 --keep-weekly 2 --keep-monthly 2 --keep-yearly 3
check --keep-hourly 3 --keep-monthly 100 # restic 0.14 has no "unlimited"
check --keep-within 2d
check --keep-within 1m3d

log "the command: seal 5 snapshots (two tagged), forget by policy and by id"
export EMBASSY_STATE_DIR=$T/state
STORE=$T/store
expect_rc 0 em_init "$STORE"
for n in 1 2 3 4 5; do
	echo "edition $n" >"$T/src/x"
	tag=()
	[ "$n" = 1 ] || [ "$n" = 3 ] && tag=(--tag audit)
	expect_rc 0 em_seal "$STORE" "$T/src" "${tag[@]}"
	ID[$n]=$(cat "$T/out")
done
before=$(store_listing "$STORE")
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" --keep-last 1 --keep-tag audit --dry-run --json
assert_eq "${ID[1]} ${ID[3]} ${ID[5]}" "$(json_get "$T/out" '" ".join(s["id"] for s in d["keep"])')" "dry run: kept"
assert_eq "${ID[2]} ${ID[4]}" "$(json_get "$T/out" '" ".join(s["id"] for s in d["forget"])')" "dry run: forgotten"
assert_eq "$before" "$(store_listing "$STORE")" "a dry run changes nothing"
expect_rc 0 em forget "$STORE" --sealer-key "$SEALER" --keep-last 1 --keep-tag audit
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq "${ID[1]} ${ID[3]} ${ID[5]}" "$(json_get "$T/out" '" ".join(s["id"] for s in d)')" "listed after forget"
[ ! -e "$STORE/snapshots/${ID[2]}" ] || fail "the forgotten manifest is still there"
expect_rc 6 em_read ls "$STORE" "${ID[2]:0:12}"
expect_rc 0 em_read verify "$STORE"
log "by id; the newest cannot be forgotten"
expect_rc 2 em forget "$STORE" "${ID[5]:0:10}" --sealer-key "$SEALER"
assert_grep "newest" "$T/err" "why the newest stays"
expect_rc 6 em forget "$STORE" "${ID[2]:0:10}" --sealer-key "$SEALER"
expect_rc 0 em forget "$STORE" "${ID[1]:0:10}" --sealer-key "$SEALER"
expect_rc 0 em_read snapshots "$STORE" --json
assert_eq "${ID[3]} ${ID[5]}" "$(json_get "$T/out" '" ".join(s["id"] for s in d)')" "after forget by id"
expect_rc 2 em forget "$STORE" --sealer-key "$SEALER"
expect_rc 2 em forget "$STORE" --keep-last 1 --passphrase-file "$PASSFILE" # needs the sealer key
log "the latest still restores byte for byte"
expect_rc 0 em_read restore "$STORE" latest "$T/r"
"$TREECMP" "$T/src" "$T/r" || fail "restore after forget differs"
log PASS
