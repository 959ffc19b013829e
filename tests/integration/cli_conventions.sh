#!/usr/bin/env bash
# label: local
# timeout: 300
# cli_conventions.sh — every command in the command table follows docs/CLI.md: its --help
# has the manual's sections and the one exit-code table, a NAME line saying what the command
# list says, shows every option the command parses and only those, every command takes
# -q/-v/-h/--profile, an unknown option is exit 2 in one line, the command list is aligned,
# and each man page generated from the help text renders with groff without warnings and
# shows every option. New commands are picked up by themselves. (The outputs are gathered first and checked in one python3 run: a few
# processes per command, so the test stays quick on a loaded machine.)
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || skip "groff is not installed (scripts/deps.sh --test)"

D=$T/cmds
mkdir -p "$D"
em help --commands >"$D/list"
em --help >"$D/usage"
for c in $(cat "$D/list"); do
	em "$c" --help >"$D/$c.help" || fail "$c --help failed"
	em help --options "$c" >"$D/$c.options" || fail "help --options $c failed"
	set +e
	"$EMBASSY" "$c" --no-such-option >/dev/null 2>"$D/$c.usage"
	echo $? >"$D/$c.usage_rc"
	set -e
	em help --man "$c" >"$D/$c.1"
	groff -man -Tutf8 -ww "$D/$c.1" 2>"$D/$c.groff_err" | col -bx >"$D/$c.txt"
done
em help --man >"$D/embassy.1"
groff -man -Tutf8 -ww "$D/embassy.1" 2>"$D/embassy.groff_err" | col -bx >"$D/embassy.txt"

python3 - "$D" <<'EOF' || fail "the conventions are not followed (above)"
import os, re, sys
D = sys.argv[1]
read = lambda n: open(os.path.join(D, n), encoding="utf-8", errors="replace").read()
cmds = read("list").split()
bad = []
if len(cmds) < 10:
    bad.append(f"help --commands lists too few commands: {cmds}")
# the command list of embassy --help: every command, summaries in one column
usage = read("usage")
block = usage.split("\nCOMMANDS\n", 1)[1].split("\n\n", 1)[0].splitlines()
if sorted(l.split()[0] for l in block) != sorted(cmds):
    bad.append("embassy --help does not list exactly the commands of the table")
if len({re.match(r"  \S+ +", l).end() for l in block}) != 1:
    bad.append("command summaries do not start in one column")
summaries = {l.split()[0]: re.sub(r"^  \S+ +", "", l) for l in block}
for c in cmds:
    h = read(f"{c}.help")
    # the manual's NAME line says what the command list says
    m = re.search(r"^NAME\n  embassy (\S+) - (.*)$", h, re.M)
    if not m or m.group(1) != c or m.group(2) != summaries.get(c):
        bad.append(f"{c}: NAME line {m.group(0) if m else None!r} is not the command "
                   f"list's '{summaries.get(c)}'")
    opts = [re.sub(r"\[?=\]?$", "", o) for o in read(f"{c}.options").split()]
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS"):
        if not re.search(f"^{s}", h, re.M):
            bad.append(f"{c} --help has no {s} section")
    for code in range(10):
        if not re.search(f"^  {code}  ", h, re.M):
            bad.append(f"{c} --help lacks exit code {code}")
    if any(len(l) > 100 for l in h.splitlines()):
        bad.append(f"{c} --help has lines over 100 columns")
    for o in ("-q", "-v", "-h", "--quiet", "--verbose", "--help", "--profile"):
        if o not in opts:
            bad.append(f"{c} does not take {o}")
    # every option the parser takes is in the help text ...
    for o in (o for o in opts if o.startswith("--")):
        if not re.search(re.escape(o) + r"([^a-z0-9-]|$)", h, re.M):
            bad.append(f"{c} takes {o}, its --help does not say so")
    # ... and every option the help text lists (a line starting with it) is one it takes
    for m in re.finditer(r"^ +(?:-[a-zA-Z], )?(--[a-z0-9-]+)", h, re.M):
        if m.group(1) not in opts:
            bad.append(f"{c} --help lists {m.group(1)}, which {c} does not take")
    err = read(f"{c}.usage")
    if read(f"{c}.usage_rc").strip() != "2":
        bad.append(f"{c} --no-such-option: exit {read(c + '.usage_rc').strip()}, not 2")
    if "no-such-option" not in err or len(err.splitlines()) != 1:
        bad.append(f"{c}: the usage error is not one line naming the option: {err!r}")
    if read(f"{c}.groff_err").strip():
        bad.append(f"embassy-{c}.1: groff warns: {read(c + '.groff_err').strip()}")
    man = read(f"{c}.txt")
    for o in (o for o in opts if o.startswith("--")):
        if o not in man:
            bad.append(f"embassy-{c}(1) does not show {o}")
if read("embassy.groff_err").strip():
    bad.append(f"embassy.1: groff warns: {read('embassy.groff_err').strip()}")
man = read("embassy.txt")
for c in cmds:
    if f"embassy-{c}(1)" not in man:
        bad.append(f"embassy(1) does not refer to embassy-{c}(1)")
if "EMBASSY_PASSPHRASE_COMMAND" not in man or "PROFILES" not in man:
    bad.append("embassy(1) lacks ENVIRONMENT or PROFILES")
for b in bad:
    print("cli_conventions:", b, file=sys.stderr)
print(f"cli_conventions: {len(cmds)} commands checked, {len(bad)} problem(s)", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
log "OK"
