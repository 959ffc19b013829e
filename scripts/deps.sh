#!/usr/bin/env bash
# deps.sh — install what embassyfs needs to build and test on Debian 12 (idempotent).
# usage: scripts/deps.sh [--test] [--bench]
#   --test  also the servers and tools the test suite uses (nginx, Ceph RGW, sqlite3, rsync…)
#   --bench also restic, rclone, borg and fio for bench/
# While apt-get installs, a temporary /usr/sbin/policy-rc.d keeps the packages' services (nginx,
# Ceph) from being started: the tests start their own servers by PID on free ports. It is
# removed on every exit path (success, failure, Ctrl-C, SIGTERM), and a policy-rc.d that was
# there before is never touched: the host is left as it was found.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang clang-format libfuse3-dev fuse3 libsodium-dev
      libcurl4-openssl-dev libjansson-dev libzstd-dev libcriterion-dev sqlite3 python3)
for a in "$@"; do
  case $a in
    # every command the tests run that a minimal Debian 12 (debootstrap --variant=minbase)
    # lacks (scripts/fresh-root-check.sh proves the list): /usr/bin/time (time), ps/pgrep
    # (procps), fuser (psmisc), ss (iproute2), xxd, hexdump and col (bsdextrautils), file
    --test) pkgs+=(nginx-full openssl rsync attr valgrind libclang-rt-14-dev curl
                   radosgw ceph-mon ceph-osd ceph-common strace
                   time procps psmisc iproute2 xxd bsdextrautils file
                   dpkg-dev man-db groff-base systemd jq restic git fio stress-ng) ;;
    # (dpkg-dev: dpkg-shlibdeps for the package's Depends; man-db, groff-base: the man
    # pages render; systemd: systemd-analyze verify of the units; jq: docs/JSON.md examples;
    # restic: forget_policy.sh checks forget's rules against it; git, fio: tests/rw/rw_tools.sh
    # runs them on the --rw mount; stress-ng: tests/rw/rw_stress.sh)
    --bench) pkgs+=(restic rclone borgbackup fio hyperfine time) ;;
    *) echo "deps.sh: unknown option $a (use --test, --bench)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

# (DEPS_TEST_POLICY_RC_D: another path, for tests/integration/deps_policy.sh only)
POLICY=${DEPS_TEST_POLICY_RC_D:-/usr/sbin/policy-rc.d}
ours=0
remove_policy() {
  # only the file this run created (and only if it is still ours: same content)
  if [ "$ours" = 1 ] && [ "$(cat "$POLICY" 2>/dev/null)" = "$POLICY_TEXT" ]; then
    $SUDO rm -f "$POLICY"
  fi
}
trap remove_policy EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
POLICY_TEXT=$(printf '#!/bin/sh\n# temporary: scripts/deps.sh of embassyfs (removed when it ends)\nexit 101')
if [ ! -e "$POLICY" ] && [ ! -L "$POLICY" ]; then
  # noclobber: if another policy-rc.d appears meanwhile, it is not ours to replace
  if printf '%s\n' "$POLICY_TEXT" | $SUDO sh -c 'set -C; cat >"$1"' sh "$POLICY" 2>/dev/null; then
    ours=1
    $SUDO chmod 755 "$POLICY"
  fi
fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q \
  --no-install-recommends "${missing[@]}"
