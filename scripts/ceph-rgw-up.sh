#!/usr/bin/env bash
# ceph-rgw-up.sh DIR [RGW_PORT] — a throwaway single-node Ceph cluster (1 mon, 1 osd, 1 radosgw
# with the beast frontend) on 127.0.0.1 serving S3, without systemd, everything inside DIR.
# Needs (Debian 12): apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common
# env: CEPH_STORE=memstore|bluestore   object store (default memstore: objects in the OSD's RAM)
#      CEPH_MEM_BYTES                  memstore capacity (default 4 GiB; only used space costs RAM)
#      CEPH_BLOCK_BYTES                bluestore sparse block file size (default 10 GiB)
#      CEPH_PORT_BASE                  mon port; osd binds in BASE+10..BASE+99 (default: a free
#                                      range found by free-port.sh)
#      S3_ACCESS_KEY / S3_SECRET_KEY   the S3 user's credentials; S3_BUCKET (default "test",
#                                      empty: none)
# Output: DIR/s3.env (S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET and the
# same as AWS_* / EMBASSY_S3_ENDPOINT), DIR/*.pid, logs in DIR/log. Stop: ceph-rgw-down.sh DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:?usage: $0 DIR [RGW_PORT]}
RGW_PORT=${2:-$("$HERE/free-port.sh")}
BASE=${CEPH_PORT_BASE:-$("$HERE/free-port.sh" 100)}
STORE=${CEPH_STORE:-memstore}
AK=${S3_ACCESS_KEY:-EMBASSYTESTACCESS001}
SK=${S3_SECRET_KEY:-embassytestsecret0000000000000000000001}
BUCKET=${S3_BUCKET-test}
T0=$(date +%s%N)
say() { echo "[$(( ($(date +%s%N) - T0) / 1000000 )) ms] $*"; }

for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
  command -v $bin >/dev/null || { echo "$bin not found (apt-get install radosgw ceph-mon ceph-osd ceph-common)" >&2; exit 1; }
done
# A busy mon port is dangerous: the ceph CLI would happily talk to another cluster.
for p in "$BASE" "$RGW_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "127.0.0.1:$p is already in use (choose CEPH_PORT_BASE / RGW_PORT)" >&2; exit 1
  fi
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if compgen -G "$DIR/*.pid" >/dev/null; then
  echo "$DIR has pid files: run ceph-rgw-down.sh $DIR first" >&2; exit 1
fi
mkdir -p "$DIR"/{run,log,mon.a,osd0,rgw.a,crash}
OK=0
# On failure stop what was started (by PID) and keep DIR for its logs.
trap '[ $OK = 1 ] || { echo "ceph-rgw-up.sh failed; logs in $DIR/log" >&2; "$HERE/ceph-rgw-down.sh" "$DIR" --keep; }' EXIT

FSID=$(cat /proc/sys/kernel/random/uuid)
export CEPH_CONF=$DIR/ceph.conf
cat > "$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$BASE
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind port min = $((BASE + 10))
ms bind port max = $((BASE + 99))
auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults to a secure mon connection, impossible with auth none: allow crc
ms mon client mode = crc secure
keyring = $DIR/keyring
run dir = $DIR/run
crash dir = $DIR/crash
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = false
log to syslog = false
mon cluster log file = $DIR/log/cluster.log
mon data = $DIR/mon.\$id
osd data = $DIR/osd\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# paxos commits every 50 ms instead of 1 s: start-up in ~2 s instead of ~12 s
paxos propose interval = 0.05
paxos min wait = 0.01
osd op num shards = 1
osd op num threads per shard = 2
ms async op threads = 1

[osd]
osd objectstore = $STORE
memstore device bytes = ${CEPH_MEM_BYTES:-4294967296}
bluestore block create = true
bluestore block size = ${CEPH_BLOCK_BYTES:-10737418240}
bluestore block db create = false
bluestore block wal create = false
bluestore cache autotune = false
bluestore cache size = 134217728
osd max object name len = 460
osd max object namespace len = 64

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw.a
rgw thread pool size = 64
rgw dns name = localhost
rgw enable usage log = false
rgw gc processor period = 3600
CONF

# ceph-mon --mkfs wants a keyring even with auth none
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
  --cap mgr 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$BASE]" "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" 2>>"$DIR/log/mkfs.log"

daemon() { # NAME CMD… — run in the foreground of its own session; record its PID
  local name=$1; shift
  setsid "$@" -f </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! > "$DIR/$name.pid"
}
until_ready() { # NAME TRIES CMD… — poll every 0.1 s; fail fast when the daemon died
  local name=$1 tries=$2 i; shift 2
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null || {
      echo "$name exited" >&2; tail -n 20 "$DIR/log/$name.out" "$DIR/log/"*"$name"*.log >&2 2>/dev/null; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for $name" >&2; return 1
}
mon_is_ours() { [ "$(ceph --connect-timeout 2 fsid 2>/dev/null)" = "$FSID" ]; }
osd_is_up() { ceph osd dump 2>/dev/null | grep -q '^osd.0 up'; }

daemon mon.a ceph-mon -i a
until_ready mon.a 300 mon_is_ours
say "mon up on $BASE"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
[ "$(ceph osd new "$OSD_UUID")" = 0 ] || { echo "unexpected osd id" >&2; exit 1; }
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/mkfs.log" 2>&1
daemon osd.0 ceph-osd -i 0
until_ready osd.0 600 osd_is_up
say "osd up ($STORE)"
daemon rgw.a radosgw -n client.rgw.a
until_ready rgw.a 1200 curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"
say "rgw answering on $RGW_PORT"
radosgw-admin -n client.admin user create --uid=embassy --display-name="embassyfs test" \
  --access-key="$AK" --secret-key="$SK" >"$DIR/log/user.json" 2>>"$DIR/log/mkfs.log"

if [ -n "$BUCKET" ]; then
  # curl 7.88 does not send x-amz-content-sha256; RGW rejects SigV4 requests without it
  # (this one is the SHA-256 of the empty body). A new user may take a moment to be seen.
  for _ in $(seq 1 50); do
    code=$(curl -s -o "$DIR/log/mkbucket.out" -w '%{http_code}' -X PUT \
      -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
      --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" "http://127.0.0.1:$RGW_PORT/$BUCKET" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  [ "$code" = 200 ] || { echo "creating bucket $BUCKET failed: HTTP $code" >&2; exit 1; }
fi
cat > "$DIR/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_PORT=$RGW_PORT
S3_REGION=us-east-1
S3_ACCESS_KEY=$AK
S3_SECRET_KEY=$SK
S3_BUCKET=$BUCKET
EMBASSY_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$AK
AWS_SECRET_ACCESS_KEY=$SK
AWS_REGION=us-east-1
CEPH_CONF=$CEPH_CONF
ENV
OK=1
say "ready: S3 at http://127.0.0.1:$RGW_PORT, bucket '$BUCKET'"
