#!/usr/bin/env python3
"""rwfuzz: random file-system operations applied to an embassy --rw mount and to a plain
directory (the model) in lockstep. Every return value, errno and byte read must agree; the
whole trees are compared now and then. Lifecycle events are shell commands given on the
command line: --commit CMD (open files stay open: the mount stays writable while a commit
runs; the model's tree at that instant is what the snapshot must hold), --remount CMD
(unmount + mount: every open file is closed first), and --ro-mount CMD / --ro-umount CMD
(a read-only mount of the store with an empty cache; the tree under --ro-root must equal the
model's tree at the last commit, however much was written since). One python process makes
every operation with os.* calls, so 50,000 of them fit in about a minute. The seed is
printed first, so a failure replays (the same seed, base tree and options):

    rwfuzz.py --mount M --model D --seed S --ops N [--commit CMD --commit-every N] ...

Exit 0: all agreed. Exit 1: a difference (what, where, seed, step). Exit 2: bad usage.
"""
import argparse
import ctypes
import errno
import hashlib
import mmap
import os
import random
import stat
import subprocess
import sys

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def utimensat(path, at, mt):
    ts = (Timespec * 2)(Timespec(*at), Timespec(*mt))
    if libc.utimensat(AT_FDCWD, os.fsencode(path), ts, AT_SYMLINK_NOFOLLOW) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def attempt(fn, *args, **kw):
    """('ok', value) or ('err', errno)."""
    try:
        return ("ok", fn(*args, **kw))
    except OSError as e:
        return ("err", e.errno)


LOG_KEEP = int(os.environ.get("RWFUZZ_LOG", "30"))  # operations shown after a failure
NAMES = ["a", "b", "c", "sub", "f.db", "x" * 255, "y" * 256]


def short(v):
    """A value for the log, without formatting all of a 1 MiB read first."""
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], bytes):
        b = v[1]
        return f"({v[0]!r}, {len(b)} bytes {hashlib.sha256(b).hexdigest()[:12]})"
    return repr(v)[:200]


class Mismatch(Exception):
    pass


class Fuzz:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.mnt, self.model = args.mount, args.model
        self.fds = []  # [mount fd, model fd, relative path, flags]
        self.step = 0
        self.stats = {}
        self.log = []
        self.commits = self.remounts = self.ro_checks = self.nfds = 0

    # ---- helpers ----
    def rel(self, depth=None):
        d = depth or self.rng.choice([1, 1, 2, 2, 3])
        parts = []
        for _ in range(d):
            n = self.rng.choice(NAMES)
            if len(n) > 200 and self.rng.random() < 0.9:
                n = self.rng.choice(NAMES[:5])
            parts.append(n)
        return "/".join(parts)

    def both(self, rel):
        return os.path.join(self.mnt, rel), os.path.join(self.model, rel)

    def same(self, what, got, want):
        self.log.append(f"{self.step}: {what} -> {short(want)}")
        if len(self.log) > LOG_KEEP:
            self.log.pop(0)
        if got != want:
            raise Mismatch(f"{what}: mount {got!r}, model {want!r}")

    def data(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)

    # ---- operations: each applies to both and compares ----
    def op_create(self):
        r = self.rel()
        m, p = self.both(r)
        flags = os.O_CREAT | os.O_RDWR | self.rng.choice([0, os.O_EXCL, os.O_TRUNC, os.O_APPEND])
        mode = self.rng.choice([0o644, 0o600, 0o755, 0o4755])
        if self.is_device(p):
            return
        want = attempt(os.open, p, flags, mode)
        got = attempt(os.open, m, flags, mode)
        self.same(f"open({r}, {flags:#o})", got[0] == "ok" or got, want[0] == "ok" or want)
        if got[0] == "ok":
            self.keep(got[1], want[1], r, flags)

    def keep(self, fm, fp, r, flags):
        if not stat.S_ISREG(os.fstat(fp).st_mode):  # a FIFO would block the writes
            os.close(fm)
            os.close(fp)
            return
        self.nfds += 1  # the label names the open, not just the path
        self.fds.append([fm, fp, f"{r}#{self.nfds}", flags])
        if len(self.fds) > 8:
            self.close_one(0)

    def close_one(self, i):
        fm, fp, _, _ = self.fds.pop(i)
        os.close(fm)
        os.close(fp)

    def is_device(self, p):
        """Device nodes: a FUSE mount is nodev (opening one is EACCES there, as it should be
        for registers from a snapshot); they are created and listed, never opened."""
        try:  # open follows symlinks: so does this
            return stat.S_ISCHR(os.stat(p).st_mode)
        except OSError:
            return False

    @staticmethod
    def is_fifo(p):
        try:
            return stat.S_ISFIFO(os.stat(p).st_mode)
        except OSError:
            return False

    def op_open(self):
        r = self.rel()
        m, p = self.both(r)
        if self.is_device(p):
            return
        flags = self.rng.choice([os.O_RDWR] * 4 + [os.O_RDONLY, os.O_WRONLY])
        flags |= self.rng.choice([0, 0, 0, os.O_APPEND, os.O_TRUNC])
        if self.is_fifo(p):  # read-only or write-only, a FIFO waits for its other end
            flags |= os.O_NONBLOCK
        want = attempt(os.open, p, flags)
        got = attempt(os.open, m, flags)
        self.same(f"open({r}, {flags:#o})", got[0] == "ok" or got, want[0] == "ok" or want)
        if got[0] == "ok":
            self.keep(got[1], want[1], r, flags)

    def pick_fd(self):
        return self.rng.choice(self.fds) if self.fds else None

    def op_write(self):
        f = self.pick_fd()
        if not f:
            return self.op_create()
        n = self.rng.choice([1, 7, 100, 4095, 4096, 4097, 5000, 65536, 70001, 131073, 300000,
                             self.rng.randrange(1, 20000)])
        off = self.rng.choice([0, self.rng.randrange(0, 200000), self.rng.randrange(0, 3 << 20),
                               max(0, 4096 * self.rng.randrange(0, 64) + self.rng.choice([-1, 0, 1])),
                               os.fstat(f[1]).st_size])
        buf = self.data(n)[:n]
        if f[3] & os.O_APPEND or self.rng.random() < 0.15:
            want, got = attempt(os.write, f[1], buf), attempt(os.write, f[0], buf)
            self.same_pos(f, "write")
        else:
            want, got = attempt(os.pwrite, f[1], buf, off), attempt(os.pwrite, f[0], buf, off)
        self.same(f"write({f[2]}, {n} @ {off})", got, want)

    def same_pos(self, f, after):
        """read(2) and write(2) move the file position (O_APPEND: to the new end)."""
        self.same(f"position of {f[2]} after {after}", os.lseek(f[0], 0, os.SEEK_CUR),
                  os.lseek(f[1], 0, os.SEEK_CUR))

    def op_read(self):
        f = self.pick_fd()
        if not f:
            return
        n = self.rng.choice([1, 100, 4095, 4096, 65536, 1 << 20, self.rng.randrange(1, 9000)])
        off = self.rng.choice([self.rng.randrange(0, 400000), self.rng.randrange(0, 3 << 20)])
        if self.rng.random() < 0.2:  # read(2) at the file position (after writes, appends)
            self.same(f"read({f[2]}, {n})", attempt(os.read, f[0], n), attempt(os.read, f[1], n))
            self.same_pos(f, "read")
            return
        self.same(f"pread({f[2]}, {n} @ {off})", attempt(os.pread, f[0], n, off),
                  attempt(os.pread, f[1], n, off))

    def op_truncate(self):
        size = self.rng.choice([0, 1, 4095, 4096, 100000, self.rng.randrange(0, 500000)])
        f = self.pick_fd() if self.rng.random() < 0.5 else None
        if f:
            self.same(f"ftruncate({f[2]}, {size})", attempt(os.ftruncate, f[0], size),
                      attempt(os.ftruncate, f[1], size))
        else:
            r = self.rel()
            m, p = self.both(r)
            self.same(f"truncate({r}, {size})", attempt(os.truncate, m, size),
                      attempt(os.truncate, p, size))

    def op_fsync(self):
        f = self.pick_fd()
        if f:
            fn = self.rng.choice([os.fsync, os.fdatasync])
            self.same(f"{fn.__name__}({f[2]})", attempt(fn, f[0]), attempt(fn, f[1]))

    def op_fstat(self):
        """fstat of an open file (unlinked ones too): size, mode, links as the model's."""
        f = self.pick_fd()
        if f:
            a, b = os.fstat(f[0]), os.fstat(f[1])
            self.same(f"fstat({f[2]})", (a.st_size, a.st_mode, a.st_nlink),
                      (b.st_size, b.st_mode, b.st_nlink))

    def op_close(self):
        if self.fds:
            self.close_one(self.rng.randrange(len(self.fds)))

    def op_seek(self):
        f = self.pick_fd()
        if not f:
            return
        size = os.fstat(f[1]).st_size
        off = self.rng.randrange(0, size + 2)
        try:
            self.seek_check(f, size, off)
        finally:  # where holes are differs: the file positions must not
            for fd in f[:2]:
                os.lseek(fd, 0, os.SEEK_SET)

    def seek_check(self, f, size, off):
        # holes are the file system's business (ext4 counts in blocks): check that what
        # the mount calls a hole reads as zeros, and that both agree past the end
        for whence, name in ((os.SEEK_DATA, "SEEK_DATA"), (os.SEEK_HOLE, "SEEK_HOLE")):
            got = attempt(os.lseek, f[0], off, whence)
            want = attempt(os.lseek, f[1], off, whence)
            if off >= size:
                self.same(f"lseek({f[2]}, {off}, {name})", got, want)
                continue
            if got == ("err", errno.ENXIO) and whence == os.SEEK_DATA:
                got = ("ok", size)  # no data up to the end: all of it must read as zeros
            if got[0] != "ok":
                raise Mismatch(f"lseek({f[2]}, {off}, {name}) failed on the mount: {got}")
            pos = got[1]
            if not off <= pos <= size:
                raise Mismatch(f"lseek({f[2]}, {off}, {name}) = {pos} outside [{off}, {size}]")
            if whence == os.SEEK_DATA and pos > off and f[3] & os.O_ACCMODE != os.O_WRONLY:
                gap = os.pread(f[0], pos - off, off)
                if gap.strip(b"\0"):
                    raise Mismatch(f"{f[2]}: [{off}, {pos}) reported a hole but holds data")

    def op_unlink(self):
        r = self.rel()
        m, p = self.both(r)
        self.same(f"unlink({r})", attempt(os.unlink, m), attempt(os.unlink, p))

    def op_mkdir(self):
        r = self.rel()
        m, p = self.both(r)
        mode = self.rng.choice([0o755, 0o700, 0o2775])
        self.same(f"mkdir({r})", attempt(os.mkdir, m, mode), attempt(os.mkdir, p, mode))

    def op_rmdir(self):
        r = self.rel()
        m, p = self.both(r)
        self.same(f"rmdir({r})", attempt(os.rmdir, m), attempt(os.rmdir, p))

    def op_rename(self):
        r1, r2 = self.rel(), self.rel()
        m1, p1 = self.both(r1)
        m2, p2 = self.both(r2)
        flags = self.rng.choice([0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE])
        self.same(f"rename({r1}, {r2}, {flags})", attempt(renameat2, m1, m2, flags),
                  attempt(renameat2, p1, p2, flags))

    def op_link(self):
        r1, r2 = self.rel(), self.rel()
        m1, p1 = self.both(r1)
        m2, p2 = self.both(r2)
        try:
            special = not stat.S_ISREG(os.lstat(p1).st_mode) and not stat.S_ISDIR(os.lstat(p1).st_mode)
        except OSError:
            special = False
        if special and os.path.isdir(os.path.dirname(p2) or ".") and not os.path.lexists(p2):
            # a snapshot links regular files only: the mount refuses, the model is left alone
            # (a name too long is refused first, as by any file system)
            want = errno.ENAMETOOLONG if len(os.path.basename(r2).encode()) > 255 else errno.EPERM
            self.same(f"link({r1}, {r2}) of a non-file", attempt(os.link, m1, m2, follow_symlinks=False),
                      ("err", want))
            return
        self.same(f"link({r1}, {r2})", attempt(os.link, m1, m2, follow_symlinks=False),
                  attempt(os.link, p1, p2, follow_symlinks=False))

    def op_symlink(self):
        r = self.rel()
        m, p = self.both(r)
        target = self.rng.choice(["a", "../b", "/nowhere/x", "t" * 300])
        self.same(f"symlink({r})", attempt(os.symlink, target, m), attempt(os.symlink, target, p))
        self.same(f"readlink({r})", attempt(os.readlink, m), attempt(os.readlink, p))

    def op_chmod(self):
        r = self.rel()
        m, p = self.both(r)
        mode = self.rng.randrange(0, 0o7777)
        self.same(f"chmod({r}, {mode:o})", attempt(os.chmod, m, mode, follow_symlinks=True),
                  attempt(os.chmod, p, mode, follow_symlinks=True))

    def op_chown(self):
        r = self.rel()
        m, p = self.both(r)
        uid, gid = self.rng.choice([0, 1000, 65534]), self.rng.choice([0, 100, 65534, -1])
        self.same(f"chown({r})", attempt(os.lchown, m, uid, gid), attempt(os.lchown, p, uid, gid))

    def op_utime(self):
        r = self.rel()
        m, p = self.both(r)
        at = self.rng.choice([(0, UTIME_OMIT), (0, UTIME_NOW), (123, 456)])
        mt = self.rng.choice([(0, UTIME_OMIT), (1700000000, 123456789), (-5, 999999999)])
        self.same(f"utimensat({r})", attempt(utimensat, m, at, mt), attempt(utimensat, p, at, mt))
        if mt[1] < UTIME_OMIT:
            a, b = attempt(os.lstat, m), attempt(os.lstat, p)
            self.same(f"mtime of {r}", a[0] == "ok" and a[1].st_mtime_ns,
                      b[0] == "ok" and b[1].st_mtime_ns)

    def op_xattr(self):
        r = self.rel()
        m, p = self.both(r)
        name = self.rng.choice(["user.a", "user.b", "user.long"])
        k = self.rng.random()
        if k < 0.5:
            v = self.data(self.rng.choice([0, 5, 300]))[: self.rng.choice([0, 5, 300])]
            fl = self.rng.choice([0, os.XATTR_CREATE, os.XATTR_REPLACE])
            self.same(f"setxattr({r}, {name})",
                      attempt(os.setxattr, m, name, v, fl, follow_symlinks=False),
                      attempt(os.setxattr, p, name, v, fl, follow_symlinks=False))
        elif k < 0.7:
            self.same(f"removexattr({r}, {name})",
                      attempt(os.removexattr, m, name, follow_symlinks=False),
                      attempt(os.removexattr, p, name, follow_symlinks=False))
        else:
            self.same(f"getxattr({r}, {name})",
                      attempt(os.getxattr, m, name, follow_symlinks=False),
                      attempt(os.getxattr, p, name, follow_symlinks=False))

    def op_special(self):
        r = self.rel()
        m, p = self.both(r)
        if self.rng.random() < 0.5:
            self.same(f"mkfifo({r})", attempt(os.mkfifo, m, 0o640), attempt(os.mkfifo, p, 0o640))
        else:
            dev = os.makedev(1, 3)
            self.same(f"mknod({r})", attempt(os.mknod, m, stat.S_IFCHR | 0o600, dev),
                      attempt(os.mknod, p, stat.S_IFCHR | 0o600, dev))

    def op_mmap(self):
        r = self.rel()
        m, p = self.both(r)
        if self.is_device(p):
            return
        fm, fp = attempt(os.open, m, os.O_RDWR), attempt(os.open, p, os.O_RDWR)
        self.same(f"open for mmap({r})", fm[0] == "ok" or fm, fp[0] == "ok" or fp)
        if fm[0] != "ok":
            return
        try:
            size = os.fstat(fp[1]).st_size
            if size == 0 or not stat.S_ISREG(os.fstat(fp[1]).st_mode):
                return
            off = self.rng.randrange(0, size)
            buf = self.data(min(size - off, 9000))[: min(size - off, 9000)]
            for fd in (fm[1], fp[1]):
                mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                mm[off : off + len(buf)] = buf
                mm.flush()
                mm.close()
            self.same(f"read after mmap({r})", os.pread(fm[1], size, 0), os.pread(fp[1], size, 0))
        finally:
            os.close(fm[1])
            os.close(fp[1])

    def op_stat(self):
        r = self.rel()
        m, p = self.both(r)
        a, b = attempt(os.lstat, m), attempt(os.lstat, p)
        key = lambda s: s if s[0] != "ok" else [  # noqa: E731
            stat.S_IFMT(s[1].st_mode), s[1].st_mode, s[1].st_uid, s[1].st_gid, s[1].st_nlink,
            s[1].st_size if not stat.S_ISDIR(s[1].st_mode) else 0]
        ka, kb = key(a), key(b)
        if ka[0] != "err" and kb[0] != "err":
            self.dir_nlink(ka, kb)
        self.same(f"lstat({r})", ka, kb)

    def op_listdir(self):
        r = self.rel(self.rng.choice([1, 2]))
        m, p = self.both(r)
        a, b = attempt(os.listdir, m), attempt(os.listdir, p)
        self.same(f"listdir({r})", a[0] == "ok" and sorted(a[1]) or a, b[0] == "ok" and sorted(b[1]) or b)

    def op_statfs(self):
        st = os.statvfs(self.mnt)
        if st.f_namemax != 255 or st.f_bsize <= 0:
            raise Mismatch(f"statvfs: {st}")

    OPS = [("create", 8), ("open", 4), ("write", 14), ("read", 8), ("truncate", 4),
           ("fsync", 2), ("fstat", 2), ("close", 4), ("seek", 2), ("unlink", 5), ("mkdir", 4), ("rmdir", 3),
           ("rename", 7), ("link", 3), ("symlink", 2), ("chmod", 2), ("chown", 1),
           ("utime", 2), ("xattr", 4), ("special", 1), ("mmap", 2), ("stat", 6),
           ("listdir", 3), ("statfs", 1)]

    # ---- whole trees ----
    def tree(self, root):
        out = {}
        for d, dirs, files in os.walk(root):
            for n in dirs + files:
                full = os.path.join(d, n)
                rel = os.path.relpath(full, root)
                st = os.lstat(full)
                e = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                     st.st_nlink]
                if stat.S_ISREG(st.st_mode):
                    with open(full, "rb") as f:
                        e += [st.st_size, hashlib.sha256(f.read()).hexdigest()]
                elif stat.S_ISLNK(st.st_mode):
                    e.append(os.readlink(full))
                elif stat.S_ISCHR(st.st_mode):
                    e.append(st.st_rdev)
                if not stat.S_ISLNK(st.st_mode):
                    e.append(sorted((x, os.getxattr(full, x)) for x in os.listxattr(full)))
                out[rel] = e
        return out

    @staticmethod
    def dir_nlink(a, b):
        """A directory whose entries the mount has not loaded yet shows 1 link ("unknown",
        as on btrfs); once loaded, 2 + its subdirectories, as here."""
        if a and b and a[0] == stat.S_IFDIR and b[0] == stat.S_IFDIR and a[4] == 1:
            a[4] = b[4]

    def compare_trees(self, what):
        a, b = self.tree(self.mnt), self.tree(self.model)
        for k in a:
            self.dir_nlink(a[k], b.get(k))
        if a != b:
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    raise Mismatch(f"{what}: {k}: mount {a.get(k)}, model {b.get(k)}")

    def shell(self, cmd, what):
        self.log.append(f"{self.step}: {what}")
        r = subprocess.run(cmd, shell=True)
        if r.returncode != 0:
            raise Mismatch(f"{what} ({cmd}) exited {r.returncode}")

    def do_commit(self):
        """Files stay open across a commit: the snapshot is the model at this instant."""
        self.shell(self.a.commit, "commit")
        self.committed = self.tree(self.model)
        self.compare_trees("after a commit")
        self.commits += 1

    def do_remount(self):
        while self.fds:
            self.close_one(0)
        self.shell(self.a.remount, "remount")
        self.compare_trees("after a remount")
        self.remounts += 1

    def do_ro_check(self):
        """The last commit, read through a read-only mount with an empty cache."""
        self.shell(self.a.ro_mount, "read-only mount")
        try:
            got = self.tree(self.a.ro_root)
        finally:
            self.shell(self.a.ro_umount, "read-only unmount")
        for k in got:
            self.dir_nlink(got[k], self.committed.get(k))
        if got != self.committed:
            for k in sorted(set(got) | set(self.committed)):
                if got.get(k) != self.committed.get(k):
                    raise Mismatch(f"read-only view of the last commit: {k}: snapshot "
                                   f"{got.get(k)}, model at the commit {self.committed.get(k)}")
        self.ro_checks += 1

    def run(self):
        names, weights = zip(*self.OPS)
        ops = [getattr(self, "op_" + n) for n in names]
        every = self.a.compare_every
        self.committed = self.tree(self.model)  # the base: what the store's head holds now
        events = ((self.a.commit, self.a.commit_every, self.do_commit),
                  (self.a.remount, self.a.remount_every, self.do_remount),
                  (self.a.ro_mount, self.a.ro_every, self.do_ro_check))
        for self.step in range(self.a.ops):
            i = self.rng.choices(range(len(ops)), weights)[0]
            self.stats[names[i]] = self.stats.get(names[i], 0) + 1
            ops[i]()
            s = self.step + 1
            if s % every == 0:
                self.compare_trees("tree")
            for cmd, n, fn in events:
                if cmd and n and s % n == 0:
                    fn()
        while self.fds:
            self.close_one(0)
        self.compare_trees("at the end")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mount", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ops", type=int, default=50000)
    ap.add_argument("--compare-every", type=int, default=2000)
    ap.add_argument("--commit", help="shell command that commits the mount")
    ap.add_argument("--commit-every", type=int, default=0)
    ap.add_argument("--remount", help="shell command that unmounts and mounts again")
    ap.add_argument("--remount-every", type=int, default=0)
    ap.add_argument("--ro-mount", help="shell command that mounts the store read-only with an "
                    "empty cache (the tree under --ro-root is then the last commit)")
    ap.add_argument("--ro-root", help="the latest snapshot's directory in the read-only mount")
    ap.add_argument("--ro-umount", help="shell command that unmounts the read-only mount")
    ap.add_argument("--ro-every", type=int, default=0)
    a = ap.parse_args()
    if a.ro_mount and not (a.ro_root and a.ro_umount):
        ap.error("--ro-mount needs --ro-root and --ro-umount")
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    print(f"rwfuzz: seed {a.seed}, {a.ops} operations", flush=True)
    f = Fuzz(a)
    try:
        f.run()
    except Mismatch as e:
        print("rwfuzz: the last operations:\n  " + "\n  ".join(f.log), file=sys.stderr)
        print(f"rwfuzz: FAIL at step {f.step} (seed {a.seed}): {e}", file=sys.stderr)
        return 1
    print(f"rwfuzz: {a.ops} operations agreed (seed {a.seed}), {f.commits} commits, "
          f"{f.remounts} remounts, {f.ro_checks} read-only checks: "
          + ", ".join(f"{k} {v}" for k, v in sorted(f.stats.items())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
