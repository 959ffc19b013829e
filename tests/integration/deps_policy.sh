#!/bin/bash
# label: local
# deps_policy.sh — scripts/deps.sh leaves the host as it found it (issue 9): the temporary
# policy-rc.d that keeps services from starting during apt-get install exists while apt-get
# runs and is gone afterwards — after a good install, a failed one, and a SIGTERM in the
# middle — and a policy-rc.d that was there before is never touched. apt-get, dpkg-query and
# sudo are stubs (no network, nothing installed); the policy path is a file in $T
# (DEPS_TEST_POLICY_RC_D), so the host's /usr/sbin is never written. (A private mount
# namespace over /usr/sbin would test the real path, but cannot be made inside a chroot, where
# scripts/fresh-root-check.sh runs the suite.)
. "$(dirname "$0")/lib.sh"

STUB=$T/stub
mkdir -p "$STUB" "$T/sbin"
export DEPS_TEST_POLICY_RC_D=$T/sbin/policy-rc.d STUB_LOG=$T/apt.log
POLICY=$DEPS_TEST_POLICY_RC_D
# dpkg-query: every package is missing (or, with STUB_ALL_INSTALLED, installed)
cat >"$STUB/dpkg-query" <<'EOF'
#!/bin/sh
[ -n "$STUB_ALL_INSTALLED" ] && printf 'install ok installed'
exit 0
EOF
# sudo (deps.sh uses it when not root): run the command
printf '#!/bin/sh\nexec "$@"\n' >"$STUB/sudo"
# apt-get: records whether the policy was in place; STUB_APT=fail|hang change the outcome
cat >"$STUB/apt-get" <<'EOF'
#!/bin/sh
case " $* " in *" install "*) ;; *) exit 0 ;; esac
if [ -x "$DEPS_TEST_POLICY_RC_D" ]; then "$DEPS_TEST_POLICY_RC_D"; echo "policy exit $?"; else echo "no policy"; fi >>"$STUB_LOG"
case $STUB_APT in
fail) exit 100 ;;
hang) echo hanging >>"$STUB_LOG"; exec sleep 600 ;;
esac
exit 0
EOF
chmod +x "$STUB"/*
DEPS=(env PATH="$STUB:$PATH" "$SRC_DIR/scripts/deps.sh" --test)
after() { # what the policy path holds after the run: "none" or "MODE CONTENT"
	if [ -e "$POLICY" ]; then echo "$(stat -c %a "$POLICY") $(tr '\n' ' ' <"$POLICY")"; else echo none; fi
}

log "a) a good install: the policy is there while apt-get runs, gone afterwards"
: >"$STUB_LOG"
expect_rc 0 "${DEPS[@]}"
assert_grep '^policy exit 101$' "$STUB_LOG" "policy-rc.d denied service starts during the install"
assert_eq none "$(after)" "policy-rc.d after a good install"

log "b) a failed install: deps.sh fails, the policy is gone"
: >"$STUB_LOG"
expect_rc 100 env STUB_APT=fail "${DEPS[@]}"
assert_grep '^policy exit 101$' "$STUB_LOG" "the policy was in place"
assert_eq none "$(after)" "policy-rc.d after a failed install"

log "c) SIGTERM while apt-get runs: the policy is gone"
: >"$STUB_LOG"
STUB_APT=hang setsid "${DEPS[@]}" >"$T/deps.out" 2>&1 &
DEPS_PID=$!
BG_PIDS+=("$DEPS_PID")
wait_until 60 grep -q hanging "$STUB_LOG"
kill -TERM -- "-$DEPS_PID" # its process group, as a terminal's or testwrap's signal would
rc=0
wait "$DEPS_PID" || rc=$?
assert_eq 143 "$rc" "deps.sh's exit status on SIGTERM"
assert_eq none "$(after)" "policy-rc.d after SIGTERM"

log "d) a policy-rc.d that was there before is not touched (success and failure)"
for outcome in ok fail; do
	: >"$STUB_LOG"
	printf "#!/bin/sh\n# the admin's own\nexit 0\n" >"$POLICY"
	chmod 700 "$POLICY"
	run env STUB_APT=$outcome "${DEPS[@]}"
	assert_eq "700 #!/bin/sh # the admin's own exit 0 " "$(after)" \
		"the pre-existing policy-rc.d ($outcome)"
	assert_grep '^policy exit 0$' "$STUB_LOG" "apt-get ran under the admin's own policy ($outcome)"
	rm -f "$POLICY"
done

log "e) nothing missing: no apt-get, no policy"
: >"$STUB_LOG"
expect_rc 0 env STUB_ALL_INSTALLED=1 "${DEPS[@]}"
[ ! -s "$STUB_LOG" ] || fail "apt-get ran although everything was installed"
assert_eq none "$(after)" "policy-rc.d when nothing is installed"
log PASS
