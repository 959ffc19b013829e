#!/usr/bin/env bash
# drill.sh — the continuity drill, timed. The worst day: home infrastructure is gone; a
# recovery operator has a brand-new Debian 12 host, the embassy package, the store URL, the
# CA of the store's TLS certificate and one officer key file (plus the signing key's
# fingerprint, read out of band). Can the registers be mounted and queried, and how long
# does it take?
#
#   scripts/drill.sh [--deb FILE] [--keep] [--dir PARENT]
#     --deb   the package to install (default: build it: cmake --build build --target package)
#     --keep  leave the root (PARENT/embassy-drill.XXXXXX) for a look (mounts are undone)
#     --dir   where the root is made (default /var/tmp; ~1 GiB free needed)
#   env: DRILL_MIRROR (default http://deb.debian.org/debian)
#
# The embassy side runs on this machine: nginx serving the store over HTTPS on 127.0.0.1
# (scripts/nginx-up.sh, a throwaway CA), sealed with a business register (an SQLite
# database) by the build's embassy. The recovery host is a root made with `debootstrap
# --variant=minbase bookworm` and entered with chroot (same network: 127.0.0.1 is the
# embassy). In it, timed step by step: apt install ./embassy_*.deb (and sqlite3, to ask
# the question), embassy info, mount -t fuse.embassy with the key file, the CA and the
# fingerprint, a query on the mounted database, compared with the answer at home. Not part of
# ctest: it needs the Debian mirror and several minutes. As root. Everything it starts is
# stopped and everything it mounts is unmounted on every exit path.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
parent=/var/tmp keep=0 deb=""
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$(realpath "${2:?--deb needs a file}"); shift ;;
	--keep) keep=1 ;;
	--dir) parent=${2:?--dir needs a directory}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "drill.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "drill.sh: run as root (debootstrap, chroot, mount)" >&2; exit 1; }
MIRROR=${DRILL_MIRROR:-http://deb.debian.org/debian}

R=$(mktemp -d "$parent/embassy-drill.XXXXXX")
W=$R.home # the embassy side and the build's embassy: outside the root
LOG=$R.log
mkdir -p "$W"
say() { printf '%s drill: %s\n' "$(date +%T)" "$*" | tee -a "$LOG" >&2; }

procs_in_root() {
	local p root
	for p in /proc/[0-9]*; do
		root=$(readlink "$p/root" 2>/dev/null) || continue
		case $root in "$R" | "$R"/*) echo "${p#/proc/}" ;; esac
	done
}
mounts_in_root() { awk -v r="$R" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r; }

cleanup() {
	local rc=$? m pids
	set +e
	trap - EXIT INT TERM
	for m in $(mounts_in_root | grep -vE "^$R/(dev|proc|sys)(/|$)"); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	for _ in 1 2 3; do
		pids=$(procs_in_root)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null
		for _ in $(seq 50); do [ -n "$(procs_in_root)" ] || break; sleep 0.1; done
	done
	pids=$(procs_in_root)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	for m in $(mounts_in_root); do umount "$m" 2>/dev/null || umount -l "$m"; done
	"$top/scripts/nginx-down.sh" "$W/nginx" >/dev/null 2>&1
	if [ -n "$(mounts_in_root)" ]; then
		say "could not unmount: $(mounts_in_root | tr '\n' ' ') — left $R in place"
	elif [ "$keep" = 1 ]; then
		say "kept the root at $R"
	else
		rm -rf --one-file-system "$R" "$W"
	fi
	say "log: $LOG"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
: >"$LOG"

# ---- at home: the package, the embassy, the registers ----
if [ -z "$deb" ]; then
	say "building the package"
	"$top/scripts/deps.sh" >>"$LOG" 2>&1
	cmake -S "$top" -B "$top/build" >>"$LOG" 2>&1
	cmake --build "$top/build" -j2 --target package >>"$LOG" 2>&1 ||
		{ tail -20 "$LOG" >&2; say "building the package failed"; exit 1; }
	deb=$(ls -t "$top"/build/embassy_*.deb | head -1)
fi
say "package: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB; Depends: $(dpkg-deb -f "$deb" Depends))"
E=$W/embassy
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/embassy >"$E"
chmod 755 "$E"

say "the embassy: nginx over HTTPS on 127.0.0.1, a store sealed with the business register"
command -v nginx >/dev/null || "$top/scripts/deps.sh" --test >>"$LOG" 2>&1
"$top/scripts/nginx-up.sh" "$W/nginx" >>"$LOG" 2>&1
. "$W/nginx/http.env"
URL=$STORE_URL/registers/
python3 - "$W/registers" <<'EOF'
import os, random, sqlite3, sys
os.makedirs(sys.argv[1] + "/business")
r = random.Random(12)
db = sqlite3.connect(sys.argv[1] + "/business/register.db")
db.execute("CREATE TABLE company(reg_code INTEGER PRIMARY KEY, name TEXT, county TEXT, "
           "employees INTEGER, status TEXT)")
counties = ["Harju", "Tartu", "Ida-Viru", "Pärnu", "Lääne-Viru", "Viljandi", "Rapla", "Võru"]
db.executemany("INSERT INTO company VALUES (?,?,?,?,?)",
               [(10000000 + 7 * n, f"Company {n}", r.choice(counties),
                 int(r.paretovariate(1.2) * 3), "active" if r.random() < 0.9 else "deleted")
                for n in range(200000)])
db.commit()
EOF
head -c $((64 << 20)) /dev/urandom >"$W/registers/population.bin"
export EMBASSY_STATE_DIR=$W/state
"$E" -q keygen "$W/officer1.key"
printf '%s\n' "$(head -c 24 /dev/urandom | base64)" >"$W/passphrase"
chmod 600 "$W/passphrase"
FPR=$("$E" init "$URL" --cacert "$STORE_CA" --sealer-key "$W/sealer.key" \
	--passphrase-file "$W/passphrase" --recipient "$W/officer1.key.pub" --json | python3 -c \
	'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
"$E" -q seal "$URL" "$W/registers" --cacert "$STORE_CA" --sealer-key "$W/sealer.key"
QUERY="SELECT county, count(*), sum(employees) FROM company WHERE status = 'active' GROUP BY county ORDER BY county"
python3 - "$W/registers/business/register.db" "$QUERY" >"$W/answer.home" <<'EOF'
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print("|".join(str(c) for c in row))
EOF
say "store $URL sealed ($(du -sh "$W/registers" | cut -f1) of registers); fingerprint $FPR"

# ---- the recovery host ----
command -v debootstrap >/dev/null || {
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap >>"$LOG" 2>&1
}
say "a fresh Debian 12 host: debootstrap --variant=minbase bookworm ($MIRROR)"
t=$SECONDS
debootstrap --variant=minbase bookworm "$R" "$MIRROR" >>"$LOG" 2>&1 ||
	{ tail -20 "$LOG" >&2; say "debootstrap failed"; exit 1; }
T_BOOT=$((SECONDS - t))
cat >"$R/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount --rbind /dev "$R/dev" && mount --make-rslave "$R/dev"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys" && mount --make-rslave "$R/sys"

# what the operator carries: the package, the CA, one officer key file
cp "$deb" "$STORE_CA" "$R/root/"
install -m 600 "$W/officer1.key" "$R/root/officer1.key"
in_root() {
	chroot "$R" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /root && $1" </dev/null
}
step() { # NAME CMD: run CMD in the root, time it
	local t=$SECONDS
	in_root "$2" >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; say "FAILED: $1"; exit 1; }
	STEPS+=("$1 $((SECONDS - t))s")
	say "$1: $((SECONDS - t))s"
}
STEPS=()
CA=/root/$(basename "$STORE_CA")
say "the drill starts (the clock runs)"
T_DRILL=$SECONDS
step "apt install ./$(basename "$deb") sqlite3" \
	"apt-get -o DPkg::Lock::Timeout=600 update -q && DEBIAN_FRONTEND=noninteractive \
	 apt-get install -y -q --no-install-recommends ./$(basename "$deb") sqlite3"
step "embassy info (fingerprint checked)" \
	"embassy info $URL --cacert $CA --key-file /root/officer1.key --trust $FPR"
step "mount -t fuse.embassy" \
	"mkdir -p /mnt/registers && mount -t fuse.embassy $URL /mnt/registers \
	 -o key_file=/root/officer1.key,cacert=$CA,trust=$FPR"
t=$SECONDS
in_root "sqlite3 -batch 'file:/mnt/registers/latest/business/register.db?immutable=1' \"$QUERY\"" \
	>"$W/answer.embassy" 2>>"$LOG" || { say "FAILED: the query"; exit 1; }
STEPS+=("the query $((SECONDS - t))s")
T_DRILL=$((SECONDS - T_DRILL))
cmp -s "$W/answer.home" "$W/answer.embassy" ||
	{ diff "$W/answer.home" "$W/answer.embassy" | head >&2; say "FAILED: the answers differ"; exit 1; }
say "the answer from the embassy equals the answer at home ($(wc -l <"$W/answer.home") rows)"
in_root "umount /mnt/registers" >>"$LOG" 2>&1
say "timings: fresh host (debootstrap) ${T_BOOT}s; the drill ${T_DRILL}s: $(IFS=';'; echo "${STEPS[*]}")"
say "PASS: a fresh Debian 12 host with the package, the URL, the CA and one officer key answered the query"
