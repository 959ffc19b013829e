#!/usr/bin/env bash
# label: local
# cli_json.sh — docs/JSON.md is true: every command it shows is run against a real store and
# its output must have exactly the fields of the example below it (per line type for
# streams, per element for listings, nested objects too); every `$ ... | jq ...` line of the
# page must succeed. Also: --json output is one value per line, the summary comes last.
. "$(dirname "$0")/lib.sh"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }
command -v jq >/dev/null || skip "jq is not installed (scripts/deps.sh --test installs it)"

export EMBASSY_STATE_DIR=$T/state
SRC=$T/src
STORE=$T/store
mkdir -p "$SRC/sub"
echo "population register" >"$SRC/pop.csv"
echo "cadastre" >"$SRC/sub/parcels.txt"
ln -s pop.csv "$SRC/zz-link" # after the files: the example shows a file first
expect_rc 0 em_init "$STORE" -q
expect_rc 0 em_seal "$STORE" "$SRC" --tag nightly -q
echo "cadastre v2" >"$SRC/sub/parcels.txt" # something for the diff example to show
expect_rc 0 em_seal "$STORE" "$SRC" --tag nightly -q

# What the examples run with: the store, its credentials, fresh places for new things.
export STORE SRC EMBASSY_STORE=$STORE EMBASSY_PASSPHRASE_FILE=$PASSFILE
export EMBASSY_SEALER_KEY=$SEALER EMBASSY_PROGRESS_INTERVAL=0 FRESH=$T/fresh
export PATH="$(dirname "$EMBASSY"):$PATH"
mkdir -p "$FRESH"
[ "$(command -v embassy)" = "$EMBASSY" ] || fail "embassy on PATH is not $EMBASSY"

python3 - "$SRC_DIR/docs/JSON.md" <<'EOF' || fail "docs/JSON.md does not match the commands"
import json, os, re, subprocess, sys, tempfile

doc = open(sys.argv[1]).read()
n_checked = n_jq = 0

def run(cmd):
    env = dict(os.environ)
    fresh = tempfile.mkdtemp(dir=os.environ["FRESH"])
    env.update(TARGET=fresh + "/target", NEWSTORE=fresh + "/store", NEWKEY=fresh + "/sealer.key")
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 0:
        sys.exit(f"'{cmd}' exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout

def keys_match(doc_v, out_v, where):
    if isinstance(doc_v, dict) and isinstance(out_v, dict):
        if set(doc_v) != set(out_v):
            sys.exit(f"{where}: fields differ: doc {sorted(doc_v)} vs output {sorted(out_v)}")
        for k in doc_v:
            keys_match(doc_v[k], out_v[k], f"{where}.{k}")
    elif isinstance(doc_v, list) and isinstance(out_v, list) and doc_v and out_v:
        keys_match(doc_v[0], out_v[0], f"{where}[0]")

def parse_lines(text, where):
    try:
        return [json.loads(text)]  # one value, perhaps an array over several lines
    except ValueError:
        pass
    try:
        return [json.loads(l) for l in text.splitlines() if l.strip()]
    except ValueError as e:
        sys.exit(f"{where}: not one JSON value per line: {e}\n{text[:500]}")

# a ```json block documents the output of the last `embassy ...` command before it
for m in re.finditer(r"```json\n(.*?)```", doc, re.S):
    cmds = re.findall(r"`(embassy [^`]*--json[^`]*)`", doc[:m.start()])
    if not cmds:
        sys.exit(f"no command before the example at offset {m.start()}")
    cmd = cmds[-1]
    expected = parse_lines(m.group(1), cmd + " (doc)")
    out = run(cmd)
    got = parse_lines(out, cmd)
    if isinstance(expected[0], dict) and "type" in expected[0]:
        if got[-1].get("type") != "summary":
            sys.exit(f"{cmd}: the last line is not the summary: {got[-1]}")
        for e in expected:
            same = [g for g in got if g.get("type") == e["type"]]
            if not same:
                sys.exit(f"{cmd}: no '{e['type']}' line in the output")
            for g in same:
                keys_match(e, g, f"{cmd} {e['type']}")
    else:
        if len(got) != 1:
            sys.exit(f"{cmd}: expected one value, got {len(got)}")
        keys_match(expected[0], got[0], cmd)
    n_checked += 1

for block in re.findall(r"```sh\n(.*?)```", doc, re.S):
    for line in block.splitlines():
        if line.startswith("$ "):
            run(line[2:])
            n_jq += 1
print(f"cli_json: {n_checked} outputs match their examples, {n_jq} jq lines succeed")
if n_checked < 8 or n_jq < 10:
    sys.exit("too few examples found: is docs/JSON.md parsed right?")
EOF

log "streams: with -q no progress lines, the summary alone"
expect_rc 0 em_seal "$STORE" "$SRC" --json -q
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "seal --json -q printed more than the summary"
assert_eq summary "$(jq -r .type "$T/out")" "seal --json -q"
log "OK"
