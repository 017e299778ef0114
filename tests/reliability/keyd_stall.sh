#!/bin/sh
# keyd stopped (SIGSTOP) under a live mount: a lookup of a closed file
# (its size needs its key) waits, but requests of other applications that
# need no key (a lookup in another directory, a directory listing, a
# mkdir) are still answered: they must not queue behind the cryptod worker
# that waits for keyd (frontend/ops.c pick_ring). The file is in its own
# directory: the kernel may serialize lookups within one directory.
# Timeouts are generous (5 s for an answer that takes milliseconds): a
# failure is a hang, not a slow machine.
#   sh keyd_stall.sh BUILD_DIR [MOUNT_OPTIONS]
# MOUNT_OPTIONS are added to fekcache=0 (integration/slot_wait.sh).
. "$(dirname "$0")/../integration/lib.sh"
command -v timeout >/dev/null || skip "timeout missing"
V=$T/vol
OPTS=fekcache=0${2:+,$2}
cs_init "$V"
cs_mount -o "$OPTS" "$V" "$M"
mkdir -p "$M/x" "$M/d/sub"
head -c 100000 /dev/urandom >"$M/x/a"
cs_umount "$M"
cs_mount -o "$OPTS" "$V" "$M"
keyd_stop "$M"
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
	if ! timeout -s KILL 5 mkdir "$M/d/sub/n$i"; then
		echo "FAIL: mkdir while keyd is stopped (round $i)"
		fails=$((fails + 1))
	fi
	[ "$fails" -eq 0 ] || break # one hang: the rest would hang as well
done
kill -CONT "$kdp"
wait "$catp" || fail "the read that waited for keyd failed after SIGCONT"
[ "$fails" -eq 0 ] || fail "$fails requests waited behind keyd"
[ "$(ls "$M/d/sub" | wc -l)" = 3 ] || fail "mkdirs missing after SIGCONT: $(ls "$M/d/sub")"
say "requests that need no key are answered while keyd is stopped${2:+ (-o $2)}"
