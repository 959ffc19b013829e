#!/usr/bin/env bash
# deps.sh — install what embassyfs needs to build and test on Debian 12 (idempotent).
# usage: scripts/deps.sh [--test] [--bench]
#   --test  also the servers and tools the test suite uses (nginx, Ceph RGW, sqlite3, rsync…)
#   --bench also restic, rclone, borg and fio for bench/
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang clang-format libfuse3-dev fuse3 libsodium-dev
      libcurl4-openssl-dev libjansson-dev libzstd-dev libcriterion-dev sqlite3 python3)
for a in "$@"; do
  case $a in
    --test) pkgs+=(nginx-full openssl rsync attr valgrind libclang-rt-14-dev curl
                   radosgw ceph-mon ceph-osd ceph-common strace) ;;
    --bench) pkgs+=(restic rclone borgbackup fio hyperfine) ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
# apt on minimal images may start services on install; we start our own servers by PID
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q \
  --no-install-recommends "${missing[@]}"
