#!/bin/sh
# Receive threads short of slots (-o slots=1,workers=2: two slots for two
# receive threads): one request that does not complete (a lookup whose
# file size needs keyd, keyd SIGSTOPped) holds a slot; other applications'
# requests must still be read from /dev/fuse and answered. The thread
# holding the listening role must not sleep for a slot with the role held
# (frontend/main.c slot_get): the other thread, which has a slot, would
# wait for the role and nobody would read /dev/fuse until the stuck
# request completes. Timeouts are generous (5 s for an answer that takes
# milliseconds): a failure is a hang, not a slow machine.
#   sh slot_wait.sh BUILD_DIR
. "$(dirname "$0")/lib.sh"
command -v timeout >/dev/null || skip "timeout missing"
V=$T/vol
M=$T/mnt
OPTS="-o slots=1,workers=2,fekcache=0"
cs_init "$V"
cs_mount $OPTS "$V" "$M"
mkdir -p "$M/x" "$M/d/sub"
head -c 100000 /dev/urandom >"$M/x/a"
echo hello >"$M/d/f"
cs_umount "$M"
cs_mount $OPTS "$V" "$M"
ls -la "$M/d" >/dev/null
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
for i in 1 2 3 4 5; do
	if ! timeout -s KILL 5 ls -la "$M/d" >/dev/null; then
		echo "FAIL: ls of a directory while one slot waits for keyd (round $i)"
		fails=$((fails + 1))
	fi
	if timeout -s KILL 5 stat "$M/d/none$i" >/dev/null 2>&1; then
		fails=$((fails + 1))
	elif [ $? -ge 124 ]; then
		echo "FAIL: lookup of a missing name while one slot waits for keyd (round $i)"
		fails=$((fails + 1))
	fi
	if ! timeout -s KILL 5 mkdir "$M/d/sub/n$i"; then
		echo "FAIL: mkdir while one slot waits for keyd (round $i)"
		fails=$((fails + 1))
	fi
	[ "$fails" -eq 0 ] || break # one hang: the rest would hang as well
done
kill -CONT "$kdp"
wait "$catp" || fail "the read that waited for keyd failed after SIGCONT"
[ "$fails" -eq 0 ] || fail "$fails requests were not read or answered while one slot waited"
[ "$(ls "$M/d/sub" | wc -l)" = 5 ] || fail "mkdirs missing after SIGCONT: $(ls "$M/d/sub")"
say "with two slots, one stuck request does not stop /dev/fuse from being read"
