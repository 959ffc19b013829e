#!/bin/bash
# label: local
# timeout: 60
# deps_policy.sh — scripts/deps.sh leaves the host as it found it (issue 9): the temporary
# /usr/sbin/policy-rc.d that keeps services from starting during apt-get install exists while
# apt-get runs and is gone afterwards — after a good install, a failed one, and a SIGTERM in the
# middle — and a policy-rc.d that was there before is never touched. apt-get and dpkg-query are
# stubs (no network, nothing installed); /usr/sbin is a private tmpfs in a mount namespace of
# its own, so the host's /usr/sbin is never written.
. "$(dirname "$0")/lib.sh"
need_root "a private mount namespace over /usr/sbin"
command -v unshare >/dev/null || skip "unshare not installed (util-linux)"
unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"

STUB=$T/stub
mkdir -p "$STUB"
# dpkg-query: every package is missing (or, with STUB_ALL_INSTALLED, installed)
cat >"$STUB/dpkg-query" <<'EOF'
#!/bin/sh
[ -n "$STUB_ALL_INSTALLED" ] && printf 'install ok installed'
exit 0
EOF
# apt-get: records whether the policy was in place; STUB_APT=fail|hang change the outcome
cat >"$STUB/apt-get" <<'EOF'
#!/bin/sh
case " $* " in *" install "*) ;; *) exit 0 ;; esac
if [ -x /usr/sbin/policy-rc.d ]; then /usr/sbin/policy-rc.d; echo "policy exit $?"; else echo "no policy"; fi >>"$STUB_LOG"
case $STUB_APT in
fail) exit 100 ;;
hang) echo hanging >>"$STUB_LOG"; exec sleep 600 ;;
esac
exit 0
EOF
chmod +x "$STUB/dpkg-query" "$STUB/apt-get"

# in_ns SCRIPT: run SCRIPT (bash) with a fresh tmpfs on /usr/sbin, the stubs first in PATH;
# it prints what /usr/sbin/policy-rc.d is afterwards
in_ns() {
	unshare -m bash -c 'set -e
		mount --make-rprivate /
		mount -t tmpfs tmpfs /usr/sbin
		'"$1"'
		if [ -e /usr/sbin/policy-rc.d ]; then echo "AFTER: $(stat -c %a /usr/sbin/policy-rc.d) $(cat /usr/sbin/policy-rc.d | tr "\n" " ")"; else echo "AFTER: none"; fi'
}
export STUB_LOG=$T/apt.log PATH=$STUB:$PATH DEPS=$SRC_DIR/scripts/deps.sh

log "a) a good install: the policy is there while apt-get runs, gone afterwards"
: >"$STUB_LOG"
expect_rc 0 in_ns '"$DEPS" --test >/dev/null 2>&1'
assert_grep '^policy exit 101$' "$STUB_LOG" "policy-rc.d denied service starts during the install"
assert_grep '^AFTER: none$' "$T/out" "no policy-rc.d left after a good install"

log "b) a failed install: deps.sh fails, the policy is gone"
: >"$STUB_LOG"
expect_rc 0 in_ns 'rc=0; STUB_APT=fail "$DEPS" --test >/dev/null 2>&1 || rc=$?; echo "deps rc $rc"'
assert_grep '^deps rc 100$' "$T/out" "deps.sh reports apt-get's failure"
assert_grep '^policy exit 101$' "$STUB_LOG" "the policy was in place"
assert_grep '^AFTER: none$' "$T/out" "no policy-rc.d left after a failed install"

log "c) SIGTERM while apt-get runs: the policy is gone"
: >"$STUB_LOG"
expect_rc 0 in_ns 'STUB_APT=hang setsid "$DEPS" --test >/dev/null 2>&1 & p=$!
	until grep -q hanging "$STUB_LOG"; do sleep 0.02; done
	kill -TERM -- -$p; rc=0; wait $p || rc=$?; echo "deps rc $rc"'
assert_grep '^deps rc 143$' "$T/out" "deps.sh ends on SIGTERM"
assert_grep '^AFTER: none$' "$T/out" "no policy-rc.d left after SIGTERM"

log "d) a policy-rc.d that was there before is not touched (success and failure)"
for outcome in ok fail; do
	: >"$STUB_LOG"
	expect_rc 0 in_ns 'printf "#!/bin/sh\n# the admin'"'"'s own\nexit 0\n" >/usr/sbin/policy-rc.d
		chmod 700 /usr/sbin/policy-rc.d
		STUB_APT='$outcome' "$DEPS" --test >/dev/null 2>&1 || true'
	assert_grep "^AFTER: 700 #!/bin/sh # the admin's own exit 0 $" "$T/out" \
		"the pre-existing policy-rc.d is unchanged ($outcome)"
	assert_grep '^policy exit 0$' "$STUB_LOG" "apt-get ran under the admin's own policy ($outcome)"
done

log "e) nothing missing: no apt-get, no policy"
: >"$STUB_LOG"
expect_rc 0 in_ns 'STUB_ALL_INSTALLED=1 "$DEPS" --test'
[ ! -s "$STUB_LOG" ] || fail "apt-get ran although everything was installed"
assert_grep '^AFTER: none$' "$T/out" "no policy-rc.d when nothing is installed"
log PASS
