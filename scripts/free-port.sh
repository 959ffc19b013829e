#!/usr/bin/env bash
# free-port.sh [N] — print a TCP port on 127.0.0.1 that is free right now; with N > 1, the
# first of N consecutive free ports (for servers that bind a range, e.g. Ceph).
# The kernel picks single ports (bind to port 0), so two callers rarely collide; a range is
# probed in 20000-29999. There is an unavoidable race between this check and the server's
# bind: the up-scripts refuse busy ports, and callers may retry.
set -euo pipefail
N=${1:-1}
exec python3 - "$N" <<'PY'
import random, socket, sys
n = int(sys.argv[1])

def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return 0
    finally:
        s.close()

if n <= 1:
    print(free(0))
    sys.exit(0)
for _ in range(200):
    base = random.randrange(20000, 30000 - n)
    if all(free(p) for p in range(base, base + n)):
        print(base)
        sys.exit(0)
sys.exit("free-port.sh: no %d consecutive free ports found" % n)
PY
