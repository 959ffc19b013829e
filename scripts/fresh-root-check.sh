#!/usr/bin/env bash
# fresh-root-check.sh — the pre-release check: run the README's two commands, in order
# (scripts/demo.sh, then scripts/test.sh), in a brand-new Debian 12 root, so that a missing
# install step is found here and not by a newcomer. As root; needs the Debian mirror.
#
#   scripts/fresh-root-check.sh [--worktree] [--keep] [--dir PARENT] [--quick]
#     --worktree  copy the working tree (tracked and untracked, not ignored files) instead of
#                 the committed HEAD (git archive)
#     --keep      leave the root (PARENT/embassy-fresh.XXXXXX) for a look (mounts are still undone)
#     --dir       where the root is made (default /var/tmp; ~6 GiB free needed)
#     --quick     EMBASSY_QUICK=1 for test.sh (plain build only)
#   env: FRESH_MIRROR (default http://deb.debian.org/debian),
#        FRESH_SUITE_CMDS — override the command run in the root (for debugging this script)
#
# It makes the root with `debootstrap --variant=minbase bookworm` (installing debootstrap with
# apt-get if missing), binds /dev (with /dev/fuse), /proc and /sys into it, copies the repository
# to /root/embassyfs, runs both commands there, then checks the root was left as a user would
# want it (no /usr/sbin/policy-rc.d, no process of the run still alive, no mount left) and
# prints the timings. Everything it mounts is unmounted and every process it started in the
# root is killed on every exit path. Not part of ctest: it takes ~30 min and the network.
# Exit: 0 all good; 1 a step failed (see the log named at the end).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
parent=/var/tmp worktree=0 keep=0 quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--worktree) worktree=1 ;;
	--keep) keep=1 ;;
	--quick) quick=1 ;;
	--dir) parent=${2:?--dir needs a directory}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "fresh-root-check.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "fresh-root-check.sh: run as root (debootstrap, chroot, mounts)" >&2; exit 1; }
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}

R=$(mktemp -d "$parent/embassy-fresh.XXXXXX")
chmod 755 "$R" # a root directory is 0755: mktemp's 0700 kept every non-root user out of /lib
LOG=$R.log
MOUNTED=()
say() { printf '%s fresh-root-check: %s\n' "$(date +%T)" "$*" | tee -a "$LOG" >&2; }

# PIDs of processes whose root directory is inside $R (started by this check, in the chroot)
procs_in_root() {
	local p root
	for p in /proc/[0-9]*; do
		root=$(readlink "$p/root" 2>/dev/null) || continue
		case $root in "$R" | "$R"/*) echo "${p#/proc/}" ;; esac
	done
}

kill_root_procs() {
	local pids n
	for n in 1 2 3 4 5; do
		pids=$(procs_in_root)
		[ -n "$pids" ] || return 0
		# shellcheck disable=SC2086
		if [ "$n" -lt 3 ]; then kill -TERM $pids 2>/dev/null; else kill -KILL $pids 2>/dev/null; fi
		for _ in $(seq 50); do [ -n "$(procs_in_root)" ] || return 0; sleep 0.1; done
	done
}

# every mount under $R, deepest first
mounts_in_root() { awk -v r="$R" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r; }

cleanup() {
	local rc=$? m
	set +e
	trap - EXIT INT TERM
	kill_root_procs
	for m in $(mounts_in_root); do umount "$m" 2>/dev/null || umount -l "$m"; done
	if [ -n "$(mounts_in_root)" ]; then
		say "could not unmount: $(mounts_in_root | tr '\n' ' ') — left $R in place"
	elif [ "$keep" = 1 ]; then
		say "kept the root at $R"
	else
		rm -rf --one-file-system "$R"
	fi
	say "log: $LOG"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$LOG"
T0=$SECONDS
if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	apt-get -o DPkg::Lock::Timeout=600 update -q >>"$LOG" 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends debootstrap >>"$LOG" 2>&1
fi

say "debootstrap --variant=minbase bookworm into $R ($MIRROR)"
t=$SECONDS
debootstrap --variant=minbase bookworm "$R" "$MIRROR" >>"$LOG" 2>&1 ||
	{ tail -20 "$LOG" >&2; say "debootstrap failed"; exit 1; }
T_BOOTSTRAP=$((SECONDS - t))
# the sources a Debian 12 installation has (the point release updates and security)
cat >"$R/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$R/etc/resolv.conf"
[ ! -e "$R/usr/sbin/policy-rc.d" ] || { say "debootstrap left a policy-rc.d: this check cannot tell"; exit 1; }

# the root is a mount point on a real host: unshare(1) (the package test) changes the
# propagation of / and fails with EINVAL when / is a plain directory of another file system
mount --bind "$R" "$R"
MOUNTED+=("$R")
for m in dev proc sys; do
	case $m in
	dev) mount --rbind /dev "$R/dev" && mount --make-rslave "$R/dev" ;;
	proc) mount -t proc proc "$R/proc" ;;
	sys) mount --rbind /sys "$R/sys" && mount --make-rslave "$R/sys" ;;
	esac
	MOUNTED+=("$R/$m")
done
[ -c "$R/dev/fuse" ] || { say "no /dev/fuse in the root (the host has none?)"; exit 1; }

say "copying the repository ($([ "$worktree" = 1 ] && echo "working tree" || echo "HEAD $(git -C "$top" rev-parse --short HEAD)"))"
mkdir -p "$R/root/embassyfs"
if [ "$worktree" = 1 ]; then
	(cd "$top" && git ls-files -z -co --exclude-standard | tar -c --null -T - -f -) |
		tar -x -C "$R/root/embassyfs"
else
	git -C "$top" archive --format=tar HEAD | tar -x -C "$R/root/embassyfs"
fi

# in_root CMD: run CMD (a bash string) in the root, as root, with a clean login-like environment
in_root() {
	local envs=(HOME=/root TERM=dumb LANG=C.UTF-8
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
	[ "$quick" = 0 ] || envs+=(EMBASSY_QUICK=1)
	chroot "$R" /usr/bin/env -i "${envs[@]}" /bin/bash -c "cd /root/embassyfs && $1" </dev/null
}

status=0
if [ -n "${FRESH_SUITE_CMDS:-}" ]; then
	say "running: $FRESH_SUITE_CMDS"
	in_root "$FRESH_SUITE_CMDS" >>"$LOG" 2>&1 || status=1
	T_DEMO=0 T_TEST=0
else
	say "1/2 scripts/demo.sh"
	t=$SECONDS
	in_root scripts/demo.sh >>"$LOG" 2>&1 || { status=1; say "scripts/demo.sh FAILED"; }
	T_DEMO=$((SECONDS - t))
	say "scripts/demo.sh: exit $([ $status = 0 ] && echo 0 || echo non-zero) in ${T_DEMO}s"
	say "2/2 scripts/test.sh$([ "$quick" = 1 ] && echo " (EMBASSY_QUICK=1)")"
	t=$SECONDS
	trc=0
	in_root scripts/test.sh >>"$LOG" 2>&1 || trc=$?
	T_TEST=$((SECONDS - t))
	[ "$trc" = 0 ] || { status=1; say "scripts/test.sh FAILED (exit $trc)"; }
	say "scripts/test.sh: exit $trc in ${T_TEST}s; its summary:"
	sed -n '/^=== summary ===/,$p' "$LOG" | tee -a /dev/stderr >/dev/null || true
fi

# what the two commands left behind
if [ -e "$R/usr/sbin/policy-rc.d" ]; then
	say "FAIL: /usr/sbin/policy-rc.d left behind in the root"
	status=1
fi
left=$(procs_in_root)
if [ -n "$left" ]; then
	say "FAIL: processes still running in the root after the run:"
	# shellcheck disable=SC2086
	ps -o pid,args -p $(echo $left | tr ' ' ,) | tee -a "$LOG" >&2 || true
	status=1
fi
# $R itself is our own bind (above), undone by cleanup like /dev, /proc and /sys
extra=$(mounts_in_root | grep -vxE "$R(/(dev|proc|sys)(/.*)?)?" || true)
if [ -n "$extra" ]; then
	say "FAIL: mounts left in the root: $extra"
	status=1
fi
say "timings: debootstrap ${T_BOOTSTRAP}s, demo.sh ${T_DEMO}s, test.sh ${T_TEST}s, total $((SECONDS - T0))s"
say "$([ $status = 0 ] && echo "PASS: the README's two commands work on a fresh Debian 12 root" || echo "FAILED")"
exit $status
