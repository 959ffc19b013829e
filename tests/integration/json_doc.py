#!/usr/bin/env python3
# json_doc.py DOC [--mount] [--min OUTPUTS JQ_LINES]: docs/JSON.md is true. Every ```json
# example documents the output of the last `embassy ... --json` command before it: the
# command is run (bash, in the caller's environment) and its output must have exactly the
# fields of the example (per line type for streams, per element for listings, nested objects
# too); every `$ ...` line of a ```sh block must succeed. Examples and lines whose command
# names "$MNT" need a write-through mount: they run only with --mount (tests/rw/rw_json.sh),
# the others only without it (tests/integration/cli_json.sh).
import json, os, re, subprocess, sys, tempfile

args = sys.argv[1:]
doc = open(args[0]).read()
want_mount = "--mount" in args
min_out, min_jq = (int(args[args.index("--min") + 1]), int(args[args.index("--min") + 2])) \
    if "--min" in args else (1, 1)
n_checked = n_jq = 0

def ours(cmd):  # does this command belong to this run (mount or not)?
    return ('"$MNT"' in cmd) == want_mount

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
    if not ours(cmd):
        continue
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
    # a field table in the example's section names every field of the example; a field it
    # names that the example lacks must say when it is there
    sec_start = doc.rfind("\n## ", 0, m.start())
    sec_end = doc.find("\n## ", m.end())
    section = doc[sec_start:sec_end if sec_end >= 0 else len(doc)]
    if "| field | type | meaning |" in section and isinstance(expected[0], dict):
        rows = re.findall(r"^\| (`[^|]*`) \|[^|]*\| (.*) \|$", section, re.M)
        named = {n: meaning for names, meaning in rows for n in re.findall(r"`([^`]*)`", names)}
        missing = set(expected[0]) - set(named)
        if missing:
            sys.exit(f"{cmd}: fields not in the section's table: {sorted(missing)}")
        for n in set(named) - set(expected[0]):
            if not re.search(r"only when|absent", named[n]):
                sys.exit(f"{cmd}: the table's '{n}' is not in the example and does not say when it is there")

for block in re.findall(r"```sh\n(.*?)```", doc, re.S):
    for line in block.splitlines():
        if line.startswith("$ ") and ours(line):
            run(line[2:])
            n_jq += 1
print(f"json_doc: {n_checked} outputs match their examples, {n_jq} jq lines succeed")
if n_checked < min_out or n_jq < min_jq:
    sys.exit("too few examples found: is docs/JSON.md parsed right?")
