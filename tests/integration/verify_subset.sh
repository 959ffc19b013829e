#!/usr/bin/env bash
# label: local
# verify_subset.sh — verify --read-data-subset N/M on a local store with several data packs:
# the subsets 1/3, 2/3, 3/3 together open every record exactly once (their record counts
# add up to --read-data's); a damaged data pack is found by exactly the subset its id falls
# in (exit 7, the damaged file reported) while the other subsets pass; bad N/M are usage errors.
# P% and SIZE: random packs in use, exactly as many as P% of them (each seal's file is one
# record in a pack of its own) or as make SIZE; 100% and a SIZE beyond the store open all.
. "$(dirname "$0")/lib.sh"

STORE=$T/store
expect_rc 0 em_init "$STORE"
for n in 1 2 3 4 5 6; do # one seal each: one data pack each
	mkdir -p "$T/s$n"
	head -c 200000 /dev/urandom >"$T/s$n/f$n.bin"
	expect_rc 0 em_seal "$STORE" "$T/s$n" -q
done
records() { json_get "$T/out" 'd["records"]'; }
expect_rc 0 em_read verify "$STORE" --read-data --json
all=$(records)
sum=0
for n in 1 2 3; do
	expect_rc 0 em_read verify "$STORE" --read-data-subset "$n/3" --json
	sum=$((sum + $(records)))
done
assert_eq "$all" "$sum" "the three subsets together open every record once"
[ "$all" -ge 6 ] || fail "only $all records"

log "P% and SIZE: random packs, as many as asked for"
for spec in 50%:3 16.7%:2 100%:$all 1:1 350K:2 10G:$all; do
	expect_rc 0 em_read verify "$STORE" --read-data-subset "${spec%%:*}" --json
	assert_eq "${spec##*:}" "$(records)" "records opened by --read-data-subset ${spec%%:*}"
done

log "a damaged data pack: found by its subset only"
big=$(find "$STORE/packs" -type f ! -name '.tmp.*' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
python3 - "$big" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x55
open(p, "wb").write(bytes(b))
EOF
id=$(basename "$big")
mine=$(( (16#${id:0:8} % 3) + 1 ))
for n in 1 2 3; do
	if [ "$n" = "$mine" ]; then
		expect_rc 7 em_read verify "$STORE" --read-data-subset "$n/3"
		grep -q "fails verification" "$T/out" || fail "subset $n/3 does not report the damage: $(cat "$T/out")"
	else
		expect_rc 0 em_read verify "$STORE" --read-data-subset "$n/3" -q
	fi
done
expect_rc 7 em_read verify "$STORE" --read-data -q
expect_rc 7 em_read verify "$STORE" --read-data-subset 100% -q

for bad in 0/3 4/3 1/0 x 1/2/3 1/70000 0% 101% x% % 0 -5 12Q; do
	expect_rc 2 em_read verify "$STORE" --read-data-subset "$bad"
done
log "OK"
