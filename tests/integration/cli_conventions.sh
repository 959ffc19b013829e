#!/usr/bin/env bash
# label: local
# cli_conventions.sh — every command in the command table follows docs/CLI.md: its --help
# has the manual's sections and the one exit-code table, shows every option the command
# parses and only those, every command takes -q/-v/-h/--profile, an unknown option is exit 2,
# the command list is aligned, and each man page generated from the help text renders with
# groff without warnings and shows every option. New commands are picked up automatically.
. "$(dirname "$0")/lib.sh"
type skip >/dev/null 2>&1 || skip() { log "SKIP: $*"; exit 77; }

cmds=$(em help --commands)
[ "$(wc -l <<<"$cmds")" -ge 10 ] || fail "help --commands lists too few commands: $cmds"

log "the command list is aligned"
em --help >"$T/usage"
sed -n '/^COMMANDS$/,/^$/p' "$T/usage" | sed '1d;$d' >"$T/list"
[ "$(wc -l <"$T/list")" -eq "$(wc -l <<<"$cmds")" ] || fail "embassy --help lists not every command"
cols=$(awk '{ match($0, /^  [^ ]+ +/); print RLENGTH }' "$T/list" | sort -u)
[ "$(wc -l <<<"$cols")" -eq 1 ] || fail "command summaries start in different columns: $cols"

have_groff=1
command -v groff >/dev/null || have_groff=0

for c in $cmds; do
	expect_rc 0 em "$c" --help
	cp "$T/out" "$T/help.$c"
	for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS"; do
		grep -q "^$s" "$T/help.$c" || fail "$c --help has no $s section"
	done
	for code in 0 1 2 3 4 5 6 7 8 9; do
		grep -Eq "^  $code  " "$T/help.$c" || fail "$c --help lacks exit code $code"
	done
	awk 'length > 100 { exit 1 }' "$T/help.$c" || fail "$c --help has lines over 100 columns"

	expect_rc 0 em help --options "$c"
	opts=$(sed 's/\[\?=\]\?$//' "$T/out")
	for o in -q -v -h --quiet --verbose --help --profile; do
		grep -qx -- "$o" <<<"$opts" || fail "$c does not take $o"
	done
	# every option the parser takes is in the help text ...
	for o in $(grep -- '^--' <<<"$opts"); do
		grep -Eq -- "$o([^a-z0-9-]|$)" "$T/help.$c" || fail "$c takes $o, its --help does not say so"
	done
	# ... and every option the help text lists is one the parser takes
	for o in $(grep -Eo -- '^ +(-[a-zA-Z], )?--[a-z0-9-]+' "$T/help.$c" | grep -Eo -- '--[a-z0-9-]+'); do
		grep -qx -- "$o" <<<"$opts" || fail "$c --help lists $o, which $c does not take"
	done

	expect_rc 2 em "$c" --no-such-option
	grep -q "no-such-option" "$T/err" || fail "$c: the usage error does not name the option"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$c: a usage error is not one line"

	if [ "$have_groff" = 1 ]; then
		em help --man "$c" >"$T/$c.1"
		groff -man -Tutf8 -ww -z "$T/$c.1" 2>"$T/groff.err"
		[ ! -s "$T/groff.err" ] || fail "embassy-$c.1: groff warns: $(cat "$T/groff.err")"
		groff -man -Tutf8 "$T/$c.1" 2>/dev/null | col -bx >"$T/$c.txt"
		for o in $(grep -- '^--' <<<"$opts"); do
			grep -q -- "$o" "$T/$c.txt" || fail "embassy-$c(1) does not show $o"
		done
	fi
done

if [ "$have_groff" = 1 ]; then
	em help --man >"$T/embassy.1"
	groff -man -Tutf8 -ww -z "$T/embassy.1" 2>"$T/groff.err"
	[ ! -s "$T/groff.err" ] || fail "embassy.1: groff warns: $(cat "$T/groff.err")"
	groff -man -Tutf8 "$T/embassy.1" 2>/dev/null | col -bx >"$T/embassy.txt"
	for c in $cmds; do
		grep -q "embassy-$c(1)" "$T/embassy.txt" || fail "embassy(1) does not refer to embassy-$c(1)"
	done
	grep -q "EMBASSY_PASSPHRASE_COMMAND" "$T/embassy.txt" || fail "embassy(1) lacks ENVIRONMENT"
else
	skip "groff is not installed (scripts/deps.sh --test installs it); help texts were checked"
fi
log "OK: $(wc -l <<<"$cmds") commands follow the conventions"
