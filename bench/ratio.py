#!/usr/bin/env python3
"""ratio.py FIGURES [--memory-cache-mib N] — the table of issue 11 from the figures that
bench/seal_restore.sh and bench/mount.sh wrote ("KEY<TAB>VALUE" lines, see bench/lib.sh:
figure). Every row: local disk, restic, embassy, the ratio the aim is stated in, the aim, and
whether this run met it. A figure that was not measured is "n/a" and counts as missed."""
import sys

MEMCACHE_MIB = 256


def load(path):
    v = {}
    with open(path) as f:
        for line in f:
            k, _, val = line.rstrip("\n").partition("\t")
            v[k] = val
    return v


def num(x):
    try:
        return float(str(x).rstrip("†s"))
    except (TypeError, ValueError):
        return None


class Table:
    def __init__(self, v):
        self.v = v
        self.rows = []

    def m(self, sys_, test, phase="cold", extra=""):
        return self.v.get("mount|%s|%s|%s%s" % (sys_, test, phase, extra))

    def row(self, figure, local, restic, emb, ratio, aim, met):
        f = lambda x: "n/a" if x is None else (x if isinstance(x, str) else ("%.3g" % x if x < 100 else "%.0f" % x))
        verdict = "n/a" if met is None else ("**met**" if met else "**missed**")
        self.rows.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            figure, f(local), f(restic), f(emb), ratio, aim, verdict))

    def render(self):
        out = ["| figure | local disk | restic 0.14 | embassy | ratio | aim | this run |",
               "|---|---:|---:|---:|---:|---|---|"]
        return "\n".join(out + self.rows)


def ratio_str(x):
    return "n/a" if x is None else "%.2f×" % x


def div(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def build(v, memcache):
    t = Table(v)
    g = lambda s, test, ph="cold", e="": num(t.m(s, test, ph, e))
    # metadata (the issue: cold within 2-3x of local disk, warm within 1.5x)
    for test, name in (("find", "`find`"), ("ls", "`ls -lR`")):
        for ph, bound in (("cold", 3.0), ("warm", 1.5)):
            lo, re, em = g("local", test, ph), g("restic", test, ph), g("embassy", test, ph)
            r = div(em, lo)
            t.row("%s %s, s" % (name, ph), lo, re, em, "%s local" % ratio_str(r),
                  "≤ %.1f× local" % bound, None if r is None else r <= bound)
    ready = num(v.get("mount|embassy|ready"))
    t.row("mount ready, s", None, num(v.get("mount|restic|ready")), ready, "", "≤ 0.3 s",
          None if ready is None else ready <= 0.3)
    # sequential
    big = num(v.get("mount|big_bytes")) or 1 << 30
    lo, re, em = g("local", "seq"), g("restic", "seq"), g("embassy", "seq")
    r = div(em, re)
    t.row("sequential 1 GiB cold, MiB/s", lo, re, em, "%s restic" % ratio_str(r), "≥ 4× restic",
          None if r is None else r >= 4)
    cpu = g("embassy", "seq", "cold", "|cpu")
    cpg = None if cpu is None else cpu / (big / (1 << 30))
    t.row("daemon CPU per GiB read (cold), s", None, div(g("restic", "seq", "cold", "|cpu"), big / (1 << 30)),
          cpg, "", "≤ 2 s", None if cpg is None else cpg <= 2)
    lo, re, em = g("local", "fio1"), g("restic", "fio1"), g("embassy", "fio1")
    r = div(em, re)
    t.row("random 4 KiB QD1 cold, IOPS", lo, re, em, "%s restic" % ratio_str(r), "≥ 10× restic",
          None if r is None else r >= 10)
    for test, name in (("cp", "`cp -a` small files, files/s"), ("rsync", "`rsync -a` all, MiB/s")):
        lo, re, em = g("local", test), g("restic", test), g("embassy", test)
        r = div(em, lo)
        t.row(name + " (cold)", lo, re, em, "%s local" % ratio_str(r), "≥ 0.9× local",
              None if r is None else r >= 0.9)
    hw = num(v.get("mount|embassy|hwm_mib"))
    t.row("daemon peak RSS, MiB", None, num(v.get("mount|restic|hwm_mib")), hw, "",
          "≤ %d (memory cache + 64)" % (memcache + 64), None if hw is None else hw <= memcache + 64)
    hw = num(v.get("mount|embassy-https|hwm_mib"))
    t.row("daemon peak RSS over HTTPS, MiB", None, None, hw, "",
          "≤ %d (memory cache + 64)" % (memcache + 64), None if hw is None else hw <= memcache + 64)
    es, rs = num(v.get("seal|emb_seal|s")), num(v.get("seal|res_backup|s"))
    r = div(rs, es)
    t.row("seal of the data set, s", None, rs, es, "%s faster" % ratio_str(r), "≥ 3× restic",
          None if r is None else r >= 3)
    er, rr = num(v.get("seal|emb_restore|rss_mib")), num(v.get("seal|res_restore|rss_mib"))
    t.row("restore peak RSS, MiB", None, rr, er, "", "≤ 160", None if er is None else er <= 160)
    return t


def build_remote(v):
    t = Table(v)
    g = lambda s, test, ph="cold": num(t.m(s, test, ph))
    for sys_, label in (("embassy-https", "nginx HTTPS h2 (0 ms)"),):
        t.row("%s: `ls -lR` cold, s" % label, g("local", "ls"), None, g(sys_, "ls"), "", "", None)
        t.row("%s: sequential cold, MiB/s" % label, None, None, g(sys_, "seq"), "", "", None)
        t.row("%s: `cp -a` cold, files/s" % label, None, None, g(sys_, "cp"), "", "", None)
        t.row("%s: mount ready, s" % label, None, None, num(v.get("mount|%s|ready" % sys_)), "", "", None)
    e, r = "embassy-30", "restic-30"
    ready = num(v.get("mount|%s|ready" % e))
    t.row("30 ms: mount ready, s", None, num(v.get("mount|%s|ready" % r)), ready, "", "", None)
    ls = g(e, "ls")
    t.row("30 ms: `ls -lR` cold, s", None, g(r, "ls"), ls, "", "≤ 1 s", None if ls is None else ls <= 1)
    sq = g(e, "seq")
    t.row("30 ms: sequential cold, MiB/s", None, g(r, "seq"), sq, ratio_str(div(sq, g(r, "seq"))),
          "≥ 400 MiB/s", None if sq is None else sq >= 400)
    io = g(e, "fio1")
    t.row("30 ms: random 4 KiB QD1 cold, IOPS", None, g(r, "fio1"), io, ratio_str(div(io, g(r, "fio1"))),
          "one round trip each (≥ 25)", None if io is None else io >= 25)
    t.row("30 ms: 2,000 SQLite rowid lookups cold, s", None, g(r, "sql"), g(e, "sql"),
          ratio_str(div(g(r, "sql"), g(e, "sql"))), "", None)
    cps = num(t.m(e, "cp", "cold", "|s"))
    t.row("30 ms: `cp -a` of the small files cold, s", None, num(t.m(r, "cp", "cold", "|s")), cps, "",
          "≤ 8 s", None if cps is None else cps <= 8)
    return t


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    memcache = MEMCACHE_MIB
    if "--memory-cache-mib" in args:
        memcache = int(args[args.index("--memory-cache-mib") + 1])
    v = load(args[0])
    print("### Issue 11 figures (local store unless said otherwise)\n")
    print(build(v, memcache).render())
    print("\n### Over the network\n")
    print(build_remote(v).render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
