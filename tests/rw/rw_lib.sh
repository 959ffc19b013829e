# rw_lib.sh: helpers for the write-through (--rw) tests. Source after the integration libs:
#   . "$(dirname "$0")/../integration/lib.sh"; . "$(dirname "$0")/../integration/mount_lib.sh"
#   . "$(dirname "$0")/rw_lib.sh"
# (tests/CMakeLists.txt globs *.sh, so this file is also run alone: then it does nothing.)
[[ ${BASH_SOURCE[0]} != "$0" ]] || { echo "rw_lib.sh: helpers for the --rw tests"; exit 0; }

RWFUZZ=$SRC_DIR/tests/rw/rwfuzz.py

# em_mount_rw STORE MNT JOURNAL [OPTIONS...]: a --rw mount as a daemon (returns once ready).
em_mount_rw() {
	local store=$1 mnt=$2 jdir=$3
	shift 3
	mkdir -p "$mnt"
	MOUNTS+=("$mnt")
	"$EMBASSY" mount "$store" "$mnt" --rw --sealer-key "$SEALER" --journal-dir "$jdir" \
		--commit-every 0 "$@"
}

# em_mount_rw_fg STORE MNT JOURNAL LOG [OPTIONS...]: in the foreground, in the background;
# $MOUNT_PID is the daemon (for kill -9).
em_mount_rw_fg() {
	local store=$1 mnt=$2 jdir=$3 logf=$4
	shift 4
	mkdir -p "$mnt"
	MOUNTS+=("$mnt")
	start_bg "$EMBASSY" mount "$store" "$mnt" --rw --sealer-key "$SEALER" --journal-dir "$jdir" \
		--commit-every 0 --foreground -v "$@" 2>"$logf"
	MOUNT_PID=$BG_PID
	wait_until 30 mounted_or_dead "$mnt" "$MOUNT_PID"
	mountpoint -q "$mnt" || { cat "$logf" >&2; fail "--rw mount of $store on $mnt did not come up"; }
}

# latest_id STORE: the id of the snapshot STORE's head names.
latest_id() { em_read snapshots "$1" --json | json_get /dev/stdin '[s["id"] for s in d if s["latest"]][0]'; }

# no_plaintext DIR STRING: STRING appears in no file under DIR.
no_plaintext() {
	if grep -rqaF -- "$2" "$1"; then
		grep -rlaF -- "$2" "$1" >&2
		fail "plaintext '$2' found under $1"
	fi
}
