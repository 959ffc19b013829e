#!/bin/bash
# label: rw
# POSIX privilege clearing on a --rw mount, the same as on a local file system: a write or a
# truncate by a user other than the owner (without CAP_FSETID) clears the setuid bit, and the
# setgid bit of a group-executable file; the owner's (root's) own write keeps them; chown
# clears them. Every step is done on the mount and on a plain directory of the host side by
# side and the modes compared (whoever clears the bits, kernel or daemon, the result must be
# the local file system's); then the mount is remounted (the journal replays) and compared
# again.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"

need_root "files owned by root, written by another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
NOBODY=65534

STORE=$T/store
MNT=$T/mnt
JDIR=$T/journal
LOCAL=$T/local
mkdir -p "$T/src/d" "$LOCAL"
export NOBODY
chmod 755 "$T" # the other user walks into the local side too
printf 'base\n' >"$T/src/d/keep"
expect_rc 0 em_init "$STORE"
expect_rc 0 em_seal "$STORE" "$T/src"
em_mount_rw "$STORE" "$MNT" "$JDIR" --allow-other
cp -a "$MNT/." "$LOCAL/"

# as_nobody CMD...: run CMD as an unprivileged user (no capabilities)
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"; }

# both DESCRIPTION CMD... (CMD gets the tree's root as $1): run on both sides, same exit code
both() {
	local what=$1 rc_m rc_l
	shift
	set +e
	"$@" "$MNT" 2>"$T/err.m"
	rc_m=$?
	"$@" "$LOCAL" 2>"$T/err.l"
	rc_l=$?
	set -e
	[ "$rc_m" = "$rc_l" ] || fail "$what: exit $rc_m on the mount, $rc_l on local disk ($(cat "$T/err.m"))"
	[ "$rc_l" = 0 ] || fail "$what failed on local disk too ($(cat "$T/err.l")): the test is wrong"
}

# same_modes TAG: every file's mode, owner and size agree between the two sides
same_modes() {
	(cd "$MNT" && find . -type f -printf '%p %m %u %g %s\n' | sort) >"$T/modes.m"
	(cd "$LOCAL" && find . -type f -printf '%p %m %u %g %s\n' | sort) >"$T/modes.l"
	diff "$T/modes.l" "$T/modes.m" >&2 || fail "$1: modes differ (local disk < > mount)"
}

mk() { # mk MODE NAME ROOT: a root-owned file with MODE
	printf 'x\n' >"$3/$2" && chmod "$1" "$3/$2"
}
for f in w_suid:4757 w_both:6777 w_sgid_nox:2767 t_both:6777 t_sgid_nox:2767 o_sgid_nox:2767 \
	root_w:6755 chown_both:6755 kept:4755 chown_same:6755 chown_none:4755 chgrp_both:6755 \
	chown_sgid_nox:2745; do
	both "create ${f%%:*}" mk "${f##*:}" "${f%%:*}"
done
same_modes "after chmod"
[ "$(stat -c %a "$MNT/w_both")" = 6777 ] || fail "setuid/setgid bits not set on the mount"

write_as_nobody() { as_nobody sh -c 'printf more >>"$1"' sh "$2/$1"; } # NAME ROOT
trunc_as_nobody() { as_nobody truncate -s 1 "$2/$1"; }
otrunc_as_nobody() { as_nobody sh -c ': >"$1"' sh "$2/$1"; } # open(O_TRUNC)
both "another user writes a setuid file" write_as_nobody w_suid
both "another user writes a setuid+setgid, group-executable file" write_as_nobody w_both
both "another user writes a setgid file without group execute" write_as_nobody w_sgid_nox
both "another user truncates a setuid+setgid file" trunc_as_nobody t_both
both "another user truncates a setgid file without group execute" trunc_as_nobody t_sgid_nox
both "another user opens a setgid file with O_TRUNC" otrunc_as_nobody o_sgid_nox
both "root writes its setuid file" sh -c 'printf more >>"$1/root_w"' sh
both "chown of a setuid file" sh -c 'chown $NOBODY "$1/chown_both"' sh
# under FUSE_HANDLE_KILLPRIV_V2 the daemon, not the kernel, clears the bits on chown: a chown
# to the same owner, chown(f, -1, -1) (the kernel sends no attribute at all), a change of
# group alone, a setgid file that is not group-executable (kept: root may keep it), a
# directory (kept)
both "chown of a setuid file to its own owner" sh -c 'chown 0 "$1/chown_same"' sh
both "chown(f, -1, -1) of a setuid file" /usr/bin/python3 -c \
	'import os, sys; os.chown(sys.argv[1] + "/chown_none", -1, -1)'
both "chgrp of a setuid+setgid file" sh -c 'chgrp $NOBODY "$1/chgrp_both"' sh
both "chown of a setgid file without group execute" sh -c 'chown $NOBODY "$1/chown_sgid_nox"' sh
both "mkdir of a setgid directory" sh -c 'mkdir "$1/sgdir" && chmod 6755 "$1/sgdir"' sh
both "chown of a setgid directory" sh -c 'chown $NOBODY "$1/sgdir"' sh
same_modes "after the writes"
(cd "$MNT" && find . -type d -printf '%p %m %u %g\n' | sort) >"$T/dirs.m"
(cd "$LOCAL" && find . -type d -printf '%p %m %u %g\n' | sort) >"$T/dirs.l"
diff "$T/dirs.l" "$T/dirs.m" >&2 || fail "directories' modes differ (local disk < > mount)"
# what POSIX says, checked directly as well (not only "as local disk does")
[ "$(stat -c %a "$MNT/w_suid")" = 757 ] || fail "a write by another user kept the setuid bit"
[ "$(stat -c %a "$MNT/w_both")" = 777 ] || fail "a write by another user kept setuid/setgid"
[ "$(stat -c %a "$MNT/t_both")" = 777 ] || fail "a truncate by another user kept setuid/setgid"
[ "$(stat -c %a "$MNT/w_sgid_nox")" = 767 ] || fail "a write by a non-member kept setgid"
[ "$(stat -c %a "$MNT/root_w")" = 6755 ] || fail "root's own write dropped setuid/setgid"
[ "$(stat -c %a "$MNT/kept")" = 4755 ] || fail "an untouched file lost its setuid bit"
[ "$(stat -c %a "$MNT/chown_same")" = 755 ] || fail "a chown to the same owner kept setuid/setgid"
[ "$(stat -c %a "$MNT/chown_none")" = 755 ] || fail "chown(f, -1, -1) kept the setuid bit"
[ "$(stat -c %a "$MNT/chown_sgid_nox")" = 2745 ] || fail "root's chown dropped setgid (not g+x)"
[ "$(stat -c %a "$MNT/sgdir")" = 6755 ] || fail "a chown of a directory dropped its bits"

fusermount3 -u "$MNT"
em_mount_rw "$STORE" "$MNT" "$JDIR" --allow-other
same_modes "after a remount (journal replayed)"
echo "PASS: setuid/setgid cleared as on local disk, kept after a remount"
