#!/bin/sh
# A FIFO or symlink with two names: after a SETATTR of it (chmod, lutimes)
# the frontend keeps the reply's snapshot (attrcache.c put()); unlinking
# the other name changes its ctime (and nlink), but cryptod's UNLINK reply
# names no victim for non-regular files (cryptod/ops.c: u.nodeid = 0), so
# foreign(0, ...) stamps nothing and the next GETATTR (the kernel drops the
# ctime after an unlink) is answered with the old snapshot.
# Truth: the same stat with CS_FRONTEND_ATTRCACHE=0, or after a remount.
. "$(dirname "$0")/lib.sh"
cs_new
bad=0
# check NAME OTHER SETATTR-CMD: ctime must move when OTHER is unlinked
check() {
	ln "$M/$1" "$M/$2"
	eval "$3"
	c0=$(stat -c %Z "$M/$1")
	sleep 1.1
	rm "$M/$2"
	c1=$(stat -c '%Z %h' "$M/$1")
	echo "$1: ctime before rm $c0, after rm: ctime nlink = $c1"
	[ "${c1% *}" -gt "$c0" ] || {
		echo "FAIL: $1: ctime $c0 unchanged after unlink of its other name (stale snapshot)"
		bad=1
	}
	[ "${c1#* }" = 1 ] || { echo "FAIL: $1: nlink ${c1#* } (expected 1)"; bad=1; }
}
mkfifo "$M/f"
check f f2 'chmod 0600 "$M/f"'
ln -s target "$M/s"
check s s2 'touch -h -d 2001-01-01 "$M/s"'


cs_umount "$M"
cs_mount "$L" "$M"
echo "after remount: ctime f $(stat -c %Z "$M/f") s $(stat -c %Z "$M/s")"
cs_umount "$M"
[ $bad = 0 ] || exit 1
echo "attrcache_links: all passed"
