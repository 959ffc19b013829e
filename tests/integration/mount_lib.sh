# mount_lib.sh: helpers for the mount tests. Source after lib.sh:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/mount_lib.sh"
# Every mount made through these helpers is unmounted (lazily, so a dead daemon cannot block)
# before lib.sh's cleanup removes $T; daemons started in the foreground are killed by PID.
# Readiness is polled (mountpoint -q), never slept for.
# Without /dev/fuse or fusermount3 the test is skipped (exit 77), never passed.
[[ ${BASH_SOURCE[0]} != "$0" ]] || { echo "mount_lib.sh: source it after lib.sh" >&2; exit 2; }

command -v fusermount3 >/dev/null || skip "fusermount3 not installed (scripts/deps.sh)"
[ -c /dev/fuse ] || skip "no /dev/fuse"

MOUNTS=()
# the trust state (highest head sequence seen per store) stays inside the test
export EMBASSY_STATE_DIR=$T/state

# runs from lib.sh's cleanup (on_exit), before the foreground daemons are killed
unmount_all() {
	local m
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
		# a killed daemon leaves "transport endpoint not connected": mountpoint fails on it
		fusermount3 -u -z "$m" 2>/dev/null || true
	done
}
on_exit unmount_all

# em_mount STORE MNT [OPTIONS...]: mount as a daemon (returns once ready, or fails).
em_mount() {
	local store=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	MOUNTS+=("$mnt")
	"$EMBASSY" mount "$store" "$mnt" --passphrase-file "$PASSFILE" "$@"
}

mounted_or_dead() { mountpoint -q "$1" || ! kill -0 "$2" 2>/dev/null; }

# em_mount_fg STORE MNT LOG [OPTIONS...]: mount in the foreground, in the background, logging
# to LOG (-v: the unmount line counts requests); $MOUNT_PID is the daemon.
em_mount_fg() {
	local store=$1 mnt=$2 logf=$3
	shift 3
	mkdir -p "$mnt"
	MOUNTS+=("$mnt")
	start_bg "$EMBASSY" mount "$store" "$mnt" --passphrase-file "$PASSFILE" --foreground -v \
		"$@" 2>"$logf"
	MOUNT_PID=$BG_PID
	wait_until 30 mounted_or_dead "$mnt" "$MOUNT_PID"
	mountpoint -q "$mnt" || { cat "$logf" >&2; fail "mount of $store on $mnt did not come up"; }
}

# unmount MNT [PID]: fusermount3 -u, then wait for the daemon (if its PID is known) to exit.
unmount() {
	fusermount3 -u "$1" || fail "fusermount3 -u $1"
	# our own child: wait reaps it (kill -0 would still see the zombie)
	[ -z "${2:-}" ] || wait "$2" 2>/dev/null || true
	! mountpoint -q "$1" || fail "$1 still mounted"
}

# The "unmounted: N GETs, B bytes" line of a foreground daemon's log.
log_gets() { sed -n 's/.*unmounted: \([0-9]*\) GETs, \([0-9]*\) bytes.*/\1/p' "$1" | tail -1; }
log_bytes() { sed -n 's/.*unmounted: \([0-9]*\) GETs, \([0-9]*\) bytes.*/\2/p' "$1" | tail -1; }

# expect_eio CMD...: CMD must fail, and the reason must be an I/O error.
expect_eio() {
	run "$@"
	[ "$RC" -ne 0 ] || fail "expected an I/O error from: $*"
	grep -qi 'input/output error' "$T/err" || { cat "$T/err" >&2; fail "not EIO: $*"; }
}

# expect_erofs CMD...: CMD must fail with "Read-only file system".
expect_erofs() {
	run "$@"
	[ "$RC" -ne 0 ] || fail "a change succeeded on the mount: $*"
	grep -qi 'read-only file system' "$T/err" || { cat "$T/err" >&2; fail "not EROFS: $*"; }
}

# make_db FILE: a ~20 MB SQLite database with an index, deterministic.
make_db() {
	sqlite3 "$1" <<'SQL'
PRAGMA page_size = 4096;
CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, county INTEGER, born INTEGER, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120000)
INSERT INTO person SELECT i, 'person-' || i, i % 21, 1920 + (i * 7919) % 100,
       hex(randomblob(60)) FROM n;
CREATE INDEX person_county ON person(county, born);
SQL
}

DB_QUERY="SELECT county, count(*), min(born), max(born), sum(length(note)) FROM person
          WHERE county IN (3, 7, 11) GROUP BY county ORDER BY county;
          SELECT name FROM person WHERE id IN (1, 777, 65432, 119999) ORDER BY id;"

# db_query FILE: the test query on a database, opened read-only and immutable.
db_query() { sqlite3 "file:$1?immutable=1" "$DB_QUERY"; }

# xattr_dump DIR: getfattr of every entry (user.*), in a stable order.
xattr_dump() {
	(cd "$1" && find . ! -type s -print0 | LC_ALL=C sort -z |
		xargs -0 getfattr -h -d -m '^user\.' -e hex 2>/dev/null)
}

# compare_mount SRC MNT: the full comparison of a mounted tree with its source.
compare_mount() {
	local src=$1 mnt=$2
	"$TREECMP" --holes "$src" "$mnt" || fail "mounted tree differs from the source"
	python3 - "$src" "$mnt" <<'EOF' || fail "nanosecond metadata or hard links differ"
import os, stat, sys
src, mnt = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
n = 0
links = {}
for root, dirs, files in os.walk(src):
    for name in dirs + files:
        p = os.path.join(root, name)
        a = os.lstat(p)
        if stat.S_ISSOCK(a.st_mode):
            continue
        b = os.lstat(os.path.join(mnt, os.path.relpath(p, src)))
        assert a.st_mtime_ns == b.st_mtime_ns, (p, a.st_mtime_ns, b.st_mtime_ns)
        assert stat.S_IMODE(a.st_mode) == stat.S_IMODE(b.st_mode), p
        assert stat.S_IFMT(a.st_mode) == stat.S_IFMT(b.st_mode), p
        if stat.S_ISREG(a.st_mode):
            assert a.st_size == b.st_size, p
            if a.st_nlink > 1:
                links.setdefault(a.st_ino, set()).add(b.st_ino)
                assert b.st_nlink == a.st_nlink, (p, b.st_nlink)
        if stat.S_ISLNK(a.st_mode):
            assert os.readlink(p) == os.readlink(os.path.join(mnt, os.path.relpath(p, src))), p
        n += 1
assert links, "the source has no hard links"
for ino, inos in links.items():
    assert len(inos) == 1, ("names of one file show different inodes", inos)
print("compared", n, "entries;", len(links), "hard-link group(s) share one inode each")
EOF
	# xattrs as getfattr shows them (user.* names and values, binary included)
	xattr_dump "$src" >"$T/xa-src"
	xattr_dump "$mnt" >"$T/xa-mnt"
	[ -s "$T/xa-src" ] || fail "the source has no xattrs"
	assert_files_eq "$T/xa-src" "$T/xa-mnt" "getfattr of the mount"
}

# mmap_check SRC MNT: mmap the mounted file and compare random slices with preads of the
# source.
mmap_check() {
	python3 - "$1" "$2" <<'EOF' || fail "mmap / pread of $2 differs from $1"
import mmap, os, random, sys
a, b = sys.argv[1], sys.argv[2]
size = os.path.getsize(a)
r = random.Random(5)
with open(a, "rb") as fa, open(b, "rb") as fb:
    m = mmap.mmap(fb.fileno(), 0, prot=mmap.PROT_READ)
    assert len(m) == size
    for _ in range(2000):
        off = r.randrange(0, size)
        n = r.randrange(1, 70000)
        want = os.pread(fa.fileno(), n, off)
        assert m[off:off + n] == want, ("mmap", off, n)
        assert os.pread(fb.fileno(), n, off) == want, ("pread", off, n)
    m.close()
print("2000 random mmap slices and preads match")
EOF
}

# concurrent_cmp N SRC MNT FILES...: N readers at once, each comparing every FILE.
concurrent_cmp() {
	local n=$1 src=$2 mnt=$3 i f pids=()
	shift 3
	for i in $(seq 1 "$n"); do
		(for f in "$@"; do cmp -s "$src/$f" "$mnt/$f" || exit 1; done) &
		pids+=($!)
		BG_PIDS+=($!) # stopped at exit if a failure ends the test first
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a concurrent reader saw different bytes"
	done
}
