#!/usr/bin/env bash
# demo.sh — embassyfs in under a minute: on a fresh Debian 12 machine, as root, it installs
# what it needs, builds, generates a small sample register set (a population-register CSV, a
# business-register SQLite database, land-cadastre parcel files), seals it into an encrypted
# local store, mounts the store, lists the mounted tree and answers a query on the mounted
# database next to the same query on the original — then unmounts and cleans up.
#   usage: scripts/demo.sh [--keep]      (--keep: leave the work directory for a look)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KEEP=${1:-}
B=$'\e[1m' N=$'\e[0m'
[ -t 1 ] || B='' N=''
step() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
T0=$SECONDS

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and mounts)" >&2; exit 1; }

step "1. Dependencies (scripts/deps.sh: compilers, libfuse3, libsodium, sqlite3, ...)"
"$ROOT/scripts/deps.sh"
echo "ok"

BUILD=${EMBASSY_BUILD_DIR:-$ROOT/build}
step "2. Build (cmake, build directory: ${BUILD#"$ROOT"/})"
cmake -S "$ROOT" -B "$BUILD" -DEMBASSY_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
EMBASSY=$BUILD/embassy
"$EMBASSY" --version

W=$(mktemp -d /tmp/embassy-demo.XXXXXX)
MNT=$W/mnt
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT" 2>/dev/null
	if [ "$KEEP" = --keep ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
export EMBASSY_STATE_DIR=$W/state # the demo's trust state stays in its directory

step "3. A sample register set in $W/registers"
python3 - "$W/registers" <<'EOF'
import csv, json, os, random, sqlite3, sys
root = sys.argv[1]
r = random.Random(2026)
counties = ["Harju", "Tartu", "Ida-Viru", "Pärnu", "Lääne-Viru", "Viljandi", "Rapla", "Võru",
            "Saare", "Jõgeva", "Järva", "Valga", "Põlva", "Lääne", "Hiiu"]
weights = [600, 150, 130, 85, 60, 45, 35, 35, 30, 28, 30, 28, 24, 20, 8]
given = ["Mari", "Jaan", "Kati", "Andres", "Liis", "Peeter", "Anna", "Toomas", "Eva", "Mart",
         "Kadri", "Juhan", "Tiina", "Rein", "Maria", "Aleksei", "Olga", "Kristjan", "Laura", "Sergei"]
family = ["Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel",
          "Ivanov", "Smirnov", "Lepik", "Oja", "Kuusk", "Raud", "Vaher", "Lill", "Karu", "Kivi"]
streets = ["Pikk", "Lai", "Kooli", "Pargi", "Tartu mnt", "Narva mnt", "Jõe", "Aia", "Metsa", "Sadama"]

def person(i):
    sex = r.choice("MF")
    y, m, d = r.randint(1925, 2024), r.randint(1, 12), r.randint(1, 28)
    century = 3 if y < 2000 else 5
    code = f"{century + (sex == 'F')}{y % 100:02d}{m:02d}{d:02d}{r.randint(0, 9999):04d}"
    county = r.choices(counties, weights)[0]
    return [i, code, r.choice(given), r.choice(family), f"{y}-{m:02d}-{d:02d}", sex, county,
            f"{r.choice(streets)} {r.randint(1, 120)}", "EST" if r.random() < 0.93 else "OTHER"]

os.makedirs(f"{root}/population")
with open(f"{root}/population/register.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["person_id", "personal_code", "given_name", "family_name", "birth_date", "sex",
                "county", "address", "citizenship"])
    for i in range(1, 50001):
        w.writerow(person(i))

os.makedirs(f"{root}/business")
db = sqlite3.connect(f"{root}/business/register.db")
db.executescript("""
CREATE TABLE company(reg_code INTEGER PRIMARY KEY, name TEXT, legal_form TEXT, county TEXT,
                     founded TEXT, employees INTEGER, status TEXT);
CREATE TABLE board_member(reg_code INTEGER REFERENCES company, person_id INTEGER, role TEXT,
                          since TEXT);
CREATE INDEX company_county ON company(county, employees);
CREATE INDEX board_company ON board_member(reg_code);
""")
words = ["Balti", "Nordic", "Põhja", "Lõuna", "Mere", "Metsa", "Kivi", "Digi", "Agro", "Energia",
         "Logistika", "Ehitus", "Tarkvara", "Kala", "Piima", "Puidu", "Tekstiil", "Auto"]
companies, board = [], []
for n in range(4000):
    code = 10000000 + n * 7
    emp = int(r.paretovariate(1.2) * 3)
    companies.append((code, f"{r.choice(words)} {r.choice(words)} {r.choice(['OÜ', 'AS', 'MTÜ'])}",
                      r.choice(["OÜ", "AS", "MTÜ", "TÜ"]), r.choices(counties, weights)[0],
                      f"{r.randint(1991, 2025)}-{r.randint(1, 12):02d}-01", emp,
                      "active" if r.random() < 0.9 else "deleted"))
    for _ in range(r.randint(1, 4)):
        board.append((code, r.randint(1, 50000), r.choice(["chair", "member", "member", "CEO"]),
                       f"{r.randint(2000, 2025)}-01-01"))
db.executemany("INSERT INTO company VALUES (?,?,?,?,?,?,?)", companies)
db.executemany("INSERT INTO board_member VALUES (?,?,?,?)", board)
db.commit()
db.close()

for county in counties:
    d = f"{root}/cadastre/{county}"
    os.makedirs(d)
    for p in range(40):
        lon, lat = 22 + r.random() * 6, 57.6 + r.random() * 2
        ring = [[round(lon + dx, 6), round(lat + dy, 6)]
                for dx, dy in [(0, 0), (0.002, 0), (0.002, 0.001), (0, 0.001), (0, 0)]]
        pid = f"{r.randint(10000, 99999)}:{r.randint(1, 999):03d}:{r.randint(1, 9999):04d}"
        parcel = {"type": "Feature", "id": pid,
                  "properties": {"cadastral_unit": pid, "county": county,
                                 "purpose": r.choice(["residential", "agricultural", "forest",
                                                      "commercial"]),
                                 "area_m2": r.randint(400, 250000),
                                 "owner_person_id": r.randint(1, 50000)},
                  "geometry": {"type": "Polygon", "coordinates": [ring]}}
        with open(f"{d}/{pid.replace(':', '_')}.geojson", "w") as f:
            json.dump(parcel, f, ensure_ascii=False, indent=1)
EOF
du -sh "$W/registers"/* | sed "s|$W/registers/||"

step "4. An encrypted store (Argon2id passphrase, Ed25519 sealer identity), sealed"
head -c 24 /dev/urandom | base64 >"$W/passphrase"
chmod 600 "$W/passphrase"
STORE_ID=$("$EMBASSY" init "$W/store" --sealer-key "$W/sealer.key" --passphrase-file "$W/passphrase")
echo "store $STORE_ID at $W/store"
"$EMBASSY" seal "$W/store" "$W/registers" --sealer-key "$W/sealer.key" --tag demo >/dev/null
"$EMBASSY" snapshots "$W/store" --passphrase-file "$W/passphrase"
echo "what the embassy host sees (ciphertext only):"
(cd "$W/store" && find . -type f | sed 's|^\./|  |' | sort | head -8)

step "5. Mount it: the registers as ordinary read-only files"
mkdir -p "$MNT"
START=$(date +%s%N)
"$EMBASSY" mount "$W/store" "$MNT" --passphrase-file "$W/passphrase" --cache-dir "$W/cache"
echo "mounted in $(( ($(date +%s%N) - START) / 1000000 )) ms at $MNT"
ls -l "$MNT" | tail -n +2
echo
(cd "$MNT/latest/" && find . -maxdepth 2 ! -path . -printf '%y %10s  %P\n' | LC_ALL=C sort -k3 |
	awk '$1 == "d" { printf "%12s  %s/\n", "", $3; next } { printf "%12s  %s\n", $2, $3 }' |
	head -24)
echo "  ... $(find "$MNT/latest/cadastre" -type f | wc -l) parcel files in" \
	"$(ls "$MNT/latest/cadastre" | wc -l) county directories;" \
	"$(( $(wc -l <"$MNT/latest/population/register.csv") - 1 )) people in register.csv"

step "6. SQL on the mounted database: the 5 largest companies in Harju county"
Q="SELECT c.name, c.employees, count(b.person_id) AS board
   FROM company c LEFT JOIN board_member b USING (reg_code)
   WHERE c.county = 'Harju' AND c.status = 'active'
   GROUP BY c.reg_code ORDER BY c.employees DESC, c.reg_code LIMIT 5;"
sqlite3 -header -column "file:$MNT/latest/business/register.db?immutable=1" "$Q" >"$W/q-mount"
sqlite3 -header -column "file:$W/registers/business/register.db?immutable=1" "$Q" >"$W/q-source"
python3 - "$W/q-mount" "$W/q-source" <<'EOF'
import sys
a, b = (open(p, encoding="utf-8").read().splitlines() for p in sys.argv[1:3])
width = max(len(l) for l in a + ["on the mount"]) + 1
print("on the mount".ljust(width) + "  on the original")
for x, y in zip(a, b):
    print(x.ljust(width) + "| " + y)
EOF
if cmp -s "$W/q-mount" "$W/q-source"; then echo "identical"; else echo "DIFFERENT" && exit 1; fi
echo
echo "and the population register, read through the mount:"
grep -c ',Tartu,' "$MNT/latest/population/register.csv" | sed 's/^/  people in Tartu county: /'
echo "  a write is refused: $(touch "$MNT/latest/x" 2>&1 | sed 's/.*: //')"

step "7. Unmount and clean up"
fusermount3 -u "$MNT"
echo "unmounted; total time $((SECONDS - T0)) s"
