#!/bin/bash
# label: rw
# timeout: 400
# Model-based test of the --rw mount, part c of three (with rw_model_b/c: more than 50,000
# random operations): every operation of issue 10 (create with O_EXCL/O_TRUNC/O_APPEND,
# random, sparse and appending writes at odd sizes and offsets on several open files,
# truncate/ftruncate, unlink of open files, mkdir/rmdir, rename incl. RENAME_NOREPLACE and
# RENAME_EXCHANGE, hard links, symlinks, chmod/chown/utimensat, xattrs, mkfifo/mknod, mmap
# MAP_SHARED + msync, SEEK_DATA/SEEK_HOLE, fsync/fdatasync, statfs) applied to the mount and
# to a plain directory in lockstep, every return code and byte compared; embassy commit with
# files open, unmount + mount, and a read-only mount with an empty cache compared with the
# model at the last commit, interleaved. Part c: remount-heavy (the journal replays often), a small base.
# Replay a failure: RWFUZZ_SEED=<the printed seed> ctest -R rw_model_c.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mount_lib.sh"
. "$(dirname "$0")/rw_lib.sh"
. "$(dirname "$0")/rw_model_lib.sh"

# ops, commit every, remount every, read-only check every, base tree
rw_model 17000 1700 2000 4250 small
log "ok"
