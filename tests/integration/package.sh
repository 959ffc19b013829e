#!/usr/bin/env bash
# label: package
# timeout: 420
# package.sh — the Debian package works as installed. Builds it with CPack, checks that it
# depends on runtime libraries only and holds what it should, then unpacks it into a
# throwaway root and lays that over /usr and /sbin in a private mount namespace (so it is
# "installed" for this test alone, the host untouched) and there: mounts a store through
# `mount -t fuse.embassy` and through an fstab line with _netdev,nofail,x-systemd.automount
# (compared byte for byte with the source; uid/umask shown; a bad option refused), checks
# `embassy info --json` with jq, a profile-driven ls, --passphrase-command, -q silence,
# `systemd-analyze verify` of the units, that every man page renders with man -l and shows
# every option, and that the bash completion offers commands, options and snapshot ids.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace, mount(8))"
for t in cpack:cmake dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev unshare:util-linux jq:jq \
	systemd-analyze:systemd man:man-db groff:groff-base; do
	command -v "${t%%:*}" >/dev/null || skip "${t%%:*} missing (package ${t#*:}: scripts/deps.sh --test)"
done
[ -e /dev/fuse ] || skip "no /dev/fuse"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	skip "no overlayfs to lay the package over /usr"
[ -f "$BUILD_DIR/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $BUILD_DIR"

log "build the package"
(cd "$T" && cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1) ||
	{ tail -20 "$T/cpack.log" >&2; fail "cpack failed"; }
DEB=$(ls "$T"/pkg/embassy_*.deb)
dpkg-deb -f "$DEB" Depends >"$T/depends"
log "Depends: $(cat "$T/depends")"
for p in $(tr ',' '\n' <"$T/depends" | sed 's/(.*)//; s/ //g'); do
	case $p in
	fuse3 | libfuse3-3 | libsodium23 | libcurl4 | libjansson4 | libzstd1 | libc6) ;;
	*) fail "the package depends on $p: only runtime libraries allowed" ;;
	esac
done
for p in fuse3 libfuse3-3 libsodium23 libcurl4 libjansson4 libzstd1; do
	grep -qE "(^|, )$p( |,|$)" "$T/depends" || fail "the package does not depend on $p"
done

R=$T/root
dpkg-deb -x "$DEB" "$R"
for f in usr/bin/embassy sbin/mount.fuse.embassy usr/share/bash-completion/completions/embassy \
	usr/share/man/man1/embassy.1.gz usr/share/man/man8/mount.fuse.embassy.8.gz \
	usr/lib/systemd/system/embassy-mount@.service usr/lib/systemd/system/embassy-seal@.service \
	usr/lib/systemd/system/embassy-seal@.timer usr/lib/sysusers.d/embassy.conf \
	usr/share/doc/embassy/README.md usr/share/doc/embassy/examples/fstab; do
	[ -e "$R/$f" ] || [ -L "$R/$f" ] || fail "the package lacks /$f"
done
for c in $("$R/usr/bin/embassy" help --commands); do
	[ -e "$R/usr/share/man/man1/embassy-$c.1.gz" ] || fail "the package lacks embassy-$c(1)"
done
# on a merged-/usr host (Debian 12) dpkg puts /sbin/x into /usr/sbin/x
mkdir -p "$R/usr/sbin"
cp -a "$R"/sbin/. "$R/usr/sbin/"

log "install it in a private mount namespace and use it there"
cat >"$T/inside.sh" <<'INSIDE'
set -euo pipefail
fail() { echo "package: FAIL: $*" >&2; exit 1; }
T=$OUTER_T R=$OUTER_R
mount -t overlay overlay -o "lowerdir=$R/usr:/usr" /usr
MNT=$T/mnt
trap 'mountpoint -q "$MNT" && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }' EXIT
[ "$(command -v embassy)" = /usr/bin/embassy ] || fail "embassy is not /usr/bin/embassy"
unset EMBASSY_PASSPHRASE EMBASSY_STORE EMBASSY_PROFILE
export EMBASSY_STATE_DIR=$T/state HOME=$T/home
mkdir -p "$HOME/.config/embassy" "$MNT" "$T/src/sub"
head -c 3000000 /dev/urandom >"$T/src/register.bin"
printf 'id,name\n1,Ada\n' >"$T/src/sub/population.csv"
chmod 600 "$T/src/sub/population.csv"

echo "package: -q: init, keygen, seal print nothing"
embassy -q keygen "$T/officer.key" >"$T/o" 2>&1
embassy -q init "$T/store" --sealer-key "$T/sealer.key" --recipient "$T/officer.key.pub" \
	--passphrase-file "$PASSFILE" --kdf-memory 8 --kdf-ops 1 >>"$T/o" 2>&1
embassy seal -q "$T/store" "$T/src" --sealer-key "$T/sealer.key" >>"$T/o" 2>&1
[ ! -s "$T/o" ] || fail "-q was not silent: $(cat "$T/o")"

echo "package: embassy info --json, checked with jq"
embassy info "$T/store" --key-file "$T/officer.key" --json >"$T/info.json"
FPR=$(embassy init "$T/store2" --sealer-key "$T/sealer2.key" --passphrase-file "$PASSFILE" \
	--kdf-memory 8 --kdf-ops 1 --json | jq -r .fingerprint)
jq -e '(.id | test("^[0-9a-f]{32}$")) and .head.seq == 1 and (.head.expired | not)
	and .snapshots == 1 and .latest.files == 2
	and ([.keys[].type] | sort) == ["passphrase", "recipient"]
	and (.fingerprint | test("^[0-9a-f]{32}$"))' "$T/info.json" >/dev/null ||
	fail "info --json: $(cat "$T/info.json")"
[ "$FPR" != "$(jq -r .fingerprint "$T/info.json")" ] || fail "two stores, one fingerprint?"

echo "package: mount -t fuse.embassy with an fstab-style option string"
OPTS="ro,key_file=$T/officer.key,cache_dir=$T/cache,state_dir=$T/state,_netdev,nofail"
OPTS+=",x-systemd.automount,nosuid,nodev,allow_other,uid=4242,umask=027"
mount -t fuse.embassy "$T/store" "$MNT" -o "$OPTS"
mountpoint -q "$MNT" || fail "not mounted"
findmnt -n -o FSTYPE "$MNT" | grep -qx fuse.embassy || fail "not a fuse.embassy mount"
cmp "$T/src/register.bin" "$MNT/latest/register.bin" || fail "register.bin differs"
cmp "$T/src/sub/population.csv" "$MNT/latest/sub/population.csv" || fail "population.csv differs"
[ "$(stat -c '%u %a' "$MNT/latest/sub/population.csv")" = "4242 640" ] ||
	fail "uid=/umask= not shown: $(stat -c '%u %a' "$MNT/latest/sub/population.csv")"
umount "$MNT"
mountpoint -q "$MNT" && fail "still mounted"

echo "package: an /etc/fstab line (mount -T FILE MOUNTPOINT reads it as mount does)"
# without "ro": mount(8) then passes "rw" itself; the mount is read-only all the same
printf '%s %s fuse.embassy %s 0 0\n' "$T/store" "$MNT" "${OPTS#ro,}" >"$T/fstab"
mount -T "$T/fstab" "$MNT"
cmp "$T/src/register.bin" "$MNT/latest/register.bin" || fail "fstab mount: register.bin differs"
findmnt -n -o OPTIONS "$MNT" | grep -q '^ro,' || fail "the fstab mount is not read-only"
if touch "$MNT/latest/new" 2>/dev/null; then fail "wrote into the mount"; fi
umount "$MNT"
echo "package: an unknown option is refused, nothing mounted"
if mount -t fuse.embassy "$T/store" "$MNT" -o "key_file=$T/officer.key,cachedir=/tmp" 2>"$T/err"; then
	fail "a bad option was accepted"
fi
grep -q "option 'cachedir' is unknown" "$T/err" || fail "unclear error: $(cat "$T/err")"
mountpoint -q "$MNT" && fail "mounted despite a bad option"
if mount -t fuse.embassy "$T/store" "$MNT" -o "passphrase=hunter2" 2>"$T/err"; then
	fail "an inline passphrase was accepted"
fi
grep -q "option 'passphrase' refused" "$T/err" || fail "unclear error: $(cat "$T/err")"

echo "package: a profile-driven ls, --passphrase-command"
printf 'store = %s\nkey-file = %s\n' "$T/store" "$T/officer.key" >"$HOME/.config/embassy/regs.conf"
[ "$(embassy --profile regs ls latest:sub)" = population.csv ] || fail "profile-driven ls"
[ "$(embassy ls "$T/store" latest:sub --passphrase-command "cat '$PASSFILE'")" = population.csv ] ||
	fail "--passphrase-command"

echo "package: systemd-analyze verify of the units"
mkdir -p "$T/units"
for u in seal refresh-head; do
	cp "/usr/lib/systemd/system/embassy-$u@.service" "$T/units/embassy-$u@regs.service"
	cp "/usr/lib/systemd/system/embassy-$u@.timer" "$T/units/embassy-$u@regs.timer"
done
cp /usr/lib/systemd/system/embassy-mount@.service "$T/units/embassy-mount@regs.service"
cp /usr/share/doc/embassy/examples/mnt-registers.mount /usr/share/doc/embassy/examples/mnt-registers.automount "$T/units/"
(cd "$T/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./*) >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$T/verify.out")"
if grep -E "embassy|mnt-registers" "$T/verify.out"; then
	fail "systemd-analyze verify warns about our units"
fi

echo "package: every man page renders with man -l and shows every option"
for c in $(embassy help --commands); do
	MANWIDTH=100 man -l "/usr/share/man/man1/embassy-$c.1.gz" >"$T/man.txt" 2>"$T/man.err"
	[ ! -s "$T/man.err" ] || fail "man -l embassy-$c.1.gz: $(cat "$T/man.err")"
	for o in $(embassy help --options "$c" | grep -- '^--' | sed 's/\[\?=\]\?$//'); do
		grep -q -- "$o" "$T/man.txt" || fail "embassy-$c(1) does not show $o"
	done
done
MANWIDTH=100 man -l /usr/share/man/man8/mount.fuse.embassy.8.gz | grep -q "MOUNT HELPER" ||
	fail "mount.fuse.embassy(8) does not lead to embassy-mount(1)'s text"
man -w embassy-seal | grep -q '^/usr/share/man/man1/embassy-seal.1.gz$' || fail "man cannot find embassy-seal"

echo "package: bash completion: commands, options, snapshot ids"
SNAP=$(embassy snapshots "$T/store" --key-file "$T/officer.key" --json | jq -r '.[0].id')
cat >"$T/complete.sh" <<'COMPLETE'
. /usr/share/bash-completion/completions/embassy
COMP_LINE=$1
COMP_POINT=${#1}
_embassy
printf '%s\n' "${COMPREPLY[@]}"
COMPLETE
complete_line() { bash "$T/complete.sh" "$1"; } # LINE: what the completion offers at its end
export EMBASSY_COMPLETION_TIMEOUT=120 # a loaded CI machine: not a timed assertion
complete_line "embassy re" | sort | tr '\n' ' ' | grep -qx "refresh-head restore " ||
	fail "command completion: $(complete_line "embassy re" | tr '\n' ' ')"
complete_line "embassy seal --ta" | grep -qx -- "--tag" || fail "option completion"
complete_line "embassy ls $T/store --key-file $T/officer.key " >"$T/comp"
grep -qx "${SNAP:0:12}" "$T/comp" || fail "no snapshot id offered: $(tr '\n' ' ' <"$T/comp")"
grep -qx latest "$T/comp" || fail "'latest' not offered"
complete_line "embassy restore --key-file $T/officer.key $T/store ${SNAP:0:6}" | grep -qx "${SNAP:0:12}" ||
	fail "snapshot id prefix not completed for restore"
complete_line "embassy ls $T/store --key-file $T/officer.key latest:s" | grep -qx "sub/" ||
	fail "path inside the snapshot not completed: $(complete_line "embassy ls $T/store --key-file $T/officer.key latest:s")"
complete_line "embassy --profile regs ls " >"$T/comp"
grep -qx "${SNAP:0:12}" "$T/comp" || fail "profile store not used: offered $(tr '\n' ' ' <"$T/comp"); \
	embassy --profile regs snapshots: $(embassy --profile regs snapshots --json -q 2>&1 </dev/null | head -c 300)"
complete_line "embassy mount $T/store $T/mn" | grep -qx "$T/mnt/" || fail "mountpoint path completion"
echo "package: OK"
INSIDE
OUTER_T=$T OUTER_R=$R PASSFILE=$PASSFILE \
	unshare --mount --propagation private bash "$T/inside.sh" || fail "inside the namespace (above)"
log "OK"
