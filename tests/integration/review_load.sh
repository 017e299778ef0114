#!/bin/sh
# Loads on one mount, each checking what its processes know to be true:
# - attrcache_manynodes.py: 4 processes x 500 files (more live nodes than
#   the attribute cache's 256 slots), chmod/truncate/link/unlink with a
#   stat check of mode, size and nlink after each;
# - onefile_writers.py: 4 writers extend one file by open/pwrite/close
#   (RELEASE snapshots) while 2 stat-ers check the size never goes down;
#   final size right, also after a remount;
# - interrupts.py: 4 processes under a 100 us interval timer (requests
#   interrupted: FUSE_INTERRUPT) write, fsync, stat, read back, unlink.
# A hang fails by timeout.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
command -v timeout >/dev/null || skip "timeout missing"
D=$(dirname "$0")
cs_new
mkdir "$M/many" "$M/intr"
say "many nodes"
timeout 100 python3 "$D/attrcache_manynodes.py" "$M/many" 2000 ||
	fail "many nodes: rc $? (124: hung)"
say "one file, several writers"
timeout 60 python3 "$D/onefile_writers.py" "$M/one" 4 ||
	fail "one file: rc $? (124: hung)"
say "interrupted requests"
timeout 60 python3 "$D/interrupts.py" "$M/intr" 4 ||
	fail "interrupts: rc $? (124: hung)"
a=$(stat -c %s "$M/one")
cs_umount "$M"
cs_mount "$L" "$M"
b=$(stat -c %s "$M/one")
[ "$a" = "$b" ] || fail "size of one: $a before the remount, $b after"
cs_umount "$M"
echo "review_load: all passed"
