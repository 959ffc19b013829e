#!/usr/bin/env bash
# dataset.sh [DIR] [--small] — generate the benchmark data set deterministically (seeded), or
# reuse it when DIR already holds it. Prints the tree's path as the last line of stdout.
#   DIR      cache directory (default /var/tmp/embassy-bench-data); the tree is
#            DIR/full/tree (or DIR/small/tree) and DIR/<size>/dataset.env describes it
#   --small  1/16 of everything, for trial runs
# The tree (names as the other bench scripts expect them):
#   archive/registers-2026.img     1 GiB incompressible (seeded PRNG)
#   population/population.csv      200 MiB CSV-like population register
#   business/register.db           100 MiB SQLite business register: table company
#                                  (id INTEGER PRIMARY KEY, reg_code, name, founded, capital,
#                                  address, notes), indexes on reg_code and founded
#   cadastre/dNNN/parcel-NNNNN.xml 20,000 small files of 1-16 KiB in 200 directories of 100
# Every file and directory gets the same fixed mtime, so two generations are identical
# (byte for byte, modulo SQLite's version in the db header).
set -euo pipefail
DIR=/var/tmp/embassy-bench-data
SIZE=full
for a in "$@"; do
  case $a in
    --small) SIZE=small ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    "") ;;
    -*) echo "unknown option $a" >&2; exit 2 ;;
    *) DIR=$a ;;
  esac
done
GEN_VERSION=4
OUT=$DIR/$SIZE
STAMP="gen=$GEN_VERSION size=$SIZE"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] && [ -d "$OUT/tree" ]; then
  echo "$OUT/tree"; exit 0
fi
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
echo "generating the $SIZE data set in $OUT (once; cached)..." >&2
python3 - "$OUT/tree.tmp" "$SIZE" <<'PY'
import os, random, sqlite3, sys
root, size = sys.argv[1], sys.argv[2]
div = 16 if size == "small" else 1
MTIME = 1795000000  # 2026-11-18, fixed
MiB = 1 << 20

def mk(p):
    os.makedirs(os.path.join(root, p), exist_ok=True)

# 1. incompressible image
mk("archive")
r = random.Random(20261127)
big = 1024 * MiB // div
with open(os.path.join(root, "archive/registers-2026.img"), "wb") as f:
    left = big
    while left:
        n = min(left, 4 * MiB)
        f.write(r.randbytes(n))
        left -= n

# 2. CSV population register
mk("population")
r = random.Random(1918)
first = ["Mari", "Jaan", "Anna", "Peeter", "Kadri", "Toomas", "Liis", "Andres", "Kati", "Mart",
         "Tiina", "Priit", "Maria", "Juhan", "Eva", "Rein", "Helen", "Indrek", "Laura", "Tanel"]
last = ["Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel",
        "Lepik", "Kuusk", "Karu", "Lill", "Vaher", "Oja", "Raud", "Kivi", "Luik", "Põder"]
towns = ["Tallinn", "Tartu", "Narva", "Pärnu", "Kohtla-Järve", "Viljandi", "Maardu", "Rakvere",
         "Kuressaare", "Sillamäe", "Valga", "Võru", "Jõhvi", "Haapsalu", "Keila", "Paide"]
streets = ["Pikk", "Lai", "Tartu mnt", "Narva mnt", "Pärnu mnt", "Männi", "Kase", "Kooli",
           "Aia", "Vabriku", "Jõe", "Mere", "Sadama", "Raua", "Liiva", "Metsa"]
target = 200 * MiB // div
with open(os.path.join(root, "population/population.csv"), "w", encoding="utf-8") as f:
    f.write("person_id,personal_code,first_name,last_name,birth_date,sex,municipality,"
            "street,house,apartment,postcode,registered\n")
    written, i, buf = 0, 0, []
    rc, rr = r.choice, r.randrange
    while written < target:
        i += 1
        y, m, d = rr(1920, 2024), rr(1, 13), rr(1, 29)
        sex = rr(2)
        code = "%d%02d%02d%02d%04d" % (3 + sex + 2 * (y >= 2000), y % 100, m, d, rr(10000))
        line = "%d,%s,%s,%s,%04d-%02d-%02d,%s,%s,%s,%d,%d,%05d,%04d-%02d-%02d\n" % (
            i, code, rc(first), rc(last), y, m, d, "FM"[sex], rc(towns), rc(streets),
            rr(1, 200), rr(0, 120), rr(10000, 99999), rr(y, 2027) if y < 2026 else 2026,
            rr(1, 13), rr(1, 29))
        buf.append(line)
        written += len(line.encode())
        if len(buf) >= 10000:
            f.write("".join(buf)); buf = []
    f.write("".join(buf))

# 3. SQLite business register
mk("business")
r = random.Random(1992)
dbp = os.path.join(root, "business/register.db")
db = sqlite3.connect(dbp)
db.executescript("""
PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE company(id INTEGER PRIMARY KEY, reg_code TEXT NOT NULL, name TEXT NOT NULL,
  founded TEXT NOT NULL, capital INTEGER NOT NULL, address TEXT NOT NULL, notes TEXT);
""")
words = ["Ehitus", "Metsa", "Kala", "Tarkvara", "Transpordi", "Kaubandus", "Energia", "Piima",
         "Puidu", "Logistika", "Konsultatsioon", "Kinnisvara", "Meedia", "Turva", "Põllu"]
forms = ["OÜ", "AS", "MTÜ", "TÜ", "UÜ"]
target = 100 * MiB // div
rows_per_batch = 5000
i = 0
rr = r.randrange
while True:
    batch = []
    for _ in range(rows_per_batch):
        i += 1
        name = "%s %s %s" % (r.choice(words), r.choice(words), r.choice(forms))
        founded = "%04d-%02d-%02d" % (rr(1990, 2027), rr(1, 13), rr(1, 29))
        addr = "%s %d, %s" % (r.choice(streets), rr(1, 200), r.choice(towns))
        notes = r.randbytes(rr(40, 160)).hex()
        batch.append((i, "%08d" % (10000000 + rr(90000000)), name, founded,
                      rr(2500, 10**9), addr, notes))
    db.executemany("INSERT INTO company VALUES (?,?,?,?,?,?,?)", batch)
    db.commit()
    if os.path.getsize(dbp) >= target * 0.80:  # the indexes add the rest
        break
db.execute("CREATE INDEX company_reg ON company(reg_code)")
db.execute("CREATE INDEX company_founded ON company(founded)")
db.commit()
db.close()
with open(os.path.join(root, "..", "db.rows"), "w") as f:
    f.write("%d\n" % i)

# 4. cadastre: small files
r = random.Random(1919)
ndirs, per = (200, 100) if div == 1 else (25, 50)
for d in range(ndirs):
    dp = "cadastre/d%03d" % d
    mk(dp)
    for k in range(per):
        n = d * per + k
        sz = r.randrange(1024, 16 * 1024 + 1)
        head = ("<?xml version=\"1.0\"?>\n<parcel id=\"%05d:%03d:%04d\" area=\"%d\" "
                "municipality=\"%s\">\n<owner>%s %s</owner>\n<geometry>" % (
                    n // 1000, d, k, r.randrange(50, 500000), r.choice(towns),
                    r.choice(first), r.choice(last))).encode()
        # half text-like coordinates (compressible), half random (scanned deeds)
        coords = b"".join(b"%d.%06d %d.%06d;" % (r.randrange(6500000, 6600000), r.randrange(10**6),
                                                 r.randrange(500000, 700000), r.randrange(10**6))
                          for _ in range(max(0, (sz // 2 - len(head)) // 32)))
        body = head + coords
        body += r.randbytes(max(0, sz - len(body)))
        with open(os.path.join(root, dp, "parcel-%05d.xml" % n), "wb") as f:
            f.write(body[:sz])

# fixed mtimes, deepest first
for dirpath, dirnames, filenames in os.walk(root, topdown=False):
    for fn in filenames:
        os.utime(os.path.join(dirpath, fn), (MTIME, MTIME))
    os.utime(dirpath, (MTIME, MTIME))
PY
mv "$OUT/tree.tmp" "$OUT/tree"
T=$OUT/tree
{
  echo "DS_SIZE=$SIZE"
  echo "DS_BIG=archive/registers-2026.img"
  echo "DS_BIG_BYTES=$(stat -c %s "$T/archive/registers-2026.img")"
  echo "DS_CSV=population/population.csv"
  echo "DS_DB=business/register.db"
  echo "DS_DB_ROWS=$(cat "$OUT/db.rows")"
  echo "DS_SMALL=cadastre"
  echo "DS_SMALL_FILES=$(find "$T/cadastre" -type f | wc -l)"
  echo "DS_SMALL_BYTES=$(find "$T/cadastre" -type f -printf '%s\n' | awk '{s+=$1} END{print s}')"
  echo "DS_FILES=$(find "$T" -type f | wc -l)"
  echo "DS_BYTES=$(find "$T" -type f -printf '%s\n' | awk '{s+=$1} END{print s}')"
  nf=$(find "$T" -type f | wc -l)
  tot=$(find "$T" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f MiB", s/1048576}')
  echo "DATASET_DESC='$SIZE: $nf files, $tot — image $(( $(stat -c %s "$T/archive/registers-2026.img") >> 20 )) MiB, CSV $(( $(stat -c %s "$T/population/population.csv") >> 20 )) MiB, SQLite $(( $(stat -c %s "$T/business/register.db") >> 20 )) MiB ($(cat "$OUT/db.rows") rows), $(find "$T/cadastre" -type f | wc -l) small files of 1-16 KiB'"
} > "$OUT/dataset.env"
echo "$STAMP" > "$OUT/stamp"
echo "$T"
