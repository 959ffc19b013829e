#!/usr/bin/env bash
# nginx-down.sh DIR [--keep] — stop the nginx that nginx-up.sh DIR started, by the master PID
# recorded in DIR (SIGQUIT: graceful; the master stops its worker), then remove DIR unless
# --keep. Never stops anything by name.
set -uo pipefail
DIR=${1:?usage: $0 DIR [--keep]}
[ -d "$DIR" ] || exit 0
f=$DIR/nginx.master.pid
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
if [ -f "$f" ]; then
  p=$(cat "$f")
  # only if the PID still belongs to an nginx (not a recycled PID)
  if [ -n "$p" ] && grep -q '^nginx' "/proc/$p/comm" 2>/dev/null; then
    kill -QUIT "$p" 2>/dev/null
    for _ in $(seq 1 100); do alive "$p" || break; sleep 0.02; done
    alive "$p" && kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 100); do alive "$p" || break; sleep 0.02; done
    alive "$p" && kill -KILL "$p" 2>/dev/null
  fi
  rm -f "$f"
fi
[ "${2:-}" = --keep ] || rm -rf "$DIR"
exit 0
