#!/bin/sh
# keyd stopped (SIGSTOP) under a live mount: a lookup of a closed file
# (its size needs its key) waits, but requests of other applications that
# need no key (a lookup in another directory, a directory listing) are
# still answered: they must not queue behind the cryptod worker that waits
# for keyd (frontend/ops.c pick_ring). The file is in its own directory:
# the kernel may serialize lookups within one directory.
#   sh keyd_stall.sh BUILD_DIR
. "$(dirname "$0")/../integration/lib.sh"
V=$T/vol
M=$T/mnt
cs_init "$V"
cs_mount -o fekcache=0 "$V" "$M"
mkdir -p "$M/x" "$M/d/sub"
head -c 100000 /dev/urandom >"$M/x/a"
cs_umount "$M"
cs_mount -o fekcache=0 "$V" "$M"
sp=$(sup_pid "$M")
kdp=$(child_pid "$sp" cryptstack-keyd)
[ -n "$kdp" ] || fail "keyd pid not found"
kill -STOP "$kdp"
trap 'kill -CONT "$kdp" 2>/dev/null; cleanup' EXIT
cat "$M/x/a" >/dev/null &
catp=$!
sleep 0.3
alive "$catp" || fail "reading x/a (its key needs keyd) did not wait for the stopped keyd"
fails=0
for i in 1 2 3; do
	if ! timeout -s KILL 5 ls -la "$M/d" >/dev/null; then
		echo "FAIL: ls of a directory while keyd is stopped (round $i)"
		fails=$((fails + 1))
	fi
	if timeout -s KILL 5 stat "$M/d/none$i" >/dev/null 2>&1; then
		fails=$((fails + 1))
	elif [ $? -ge 124 ]; then
		echo "FAIL: lookup of a missing name while keyd is stopped (round $i)"
		fails=$((fails + 1))
	fi
done
kill -CONT "$kdp"
wait "$catp" || fail "the open that waited for keyd failed after SIGCONT"
[ "$fails" -eq 0 ] || fail "$fails requests waited behind keyd"
say "requests that need no key are answered while keyd is stopped"
