#!/bin/sh
# Load (docs/RELIABILITY.md): 32 threads (CS_LOAD_THREADS) of writers and
# readers with verification (cs_loadtest) on the mount for CS_LOAD_SECS
# (default 60) seconds: no error, no mismatch; RSS of the frontend, cryptod
# and keyd sampled after warm-up and at the end must stay stable (growth
# at most max(32 MiB, half the warm RSS)); fsck clean afterwards.
#   sh load.sh BUILD_DIR
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rel.sh"
L=$B/cs_loadtest
[ -x "$L" ] || fail "cs_loadtest not built"
SECS=${CS_LOAD_SECS:-60}
THREADS=${CS_LOAD_THREADS:-32}
SEED=${CS_LOAD_SEED:-$(date +%s)}
V=$T/vol
M=$T/mnt
cs_init "$V"
cs_mount "$V" "$M"
helper_pids "$M"
rss() { awk '/^VmRSS/ { print $2 }' /proc/"$1"/status 2>/dev/null || echo 0; }
sample() { echo "frontend=$(rss "$fep") cryptod=$(rss "$cdp") keyd=$(rss "$kdp")"; }
echo "load: $THREADS threads, ${SECS}s, seed $SEED; RSS (KiB) at mount: $(sample)"
"$L" "$M" "$THREADS" "$SECS" "$SEED" >"$T/load.log" 2>&1 &
lp=$!
warm=$((SECS / 6)); [ $warm -ge 2 ] || warm=2
sleep $warm
s0=$(sample)
echo "   RSS after ${warm}s warm-up: $s0"
t=$warm
while [ $((t + 10)) -lt "$SECS" ]; do
	sleep 10; t=$((t + 10))
	echo "   RSS at ${t}s: $(sample)"
done
while alive "$lp" && [ $t -lt $((SECS - 1)) ]; do sleep 1; t=$((t + 1)); done
s1=$(sample)
echo "   RSS at the end: $s1"
rc=0
wait "$lp" || rc=$?
grep -v "^load: " "$T/load.log" | head -20
tail -n1 "$T/load.log"
[ "$rc" = 0 ] || fail "load test errors (exit $rc, seed $SEED)"
for p in "$fep" "$cdp" "$kdp" "$sp"; do alive "$p" || fail "process $p died under load"; done
for name in frontend cryptod keyd; do
	a=$(echo "$s0" | tr ' ' '\n' | sed -n "s/^$name=//p")
	b=$(echo "$s1" | tr ' ' '\n' | sed -n "s/^$name=//p")
	lim=$((a / 2)); [ $lim -ge 32768 ] || lim=32768
	echo "   $name RSS: $a KiB -> $b KiB (growth limit $lim KiB)"
	[ $((b - a)) -le $lim ] || fail "$name RSS grew from $a to $b KiB"
done
cs_umount "$M"
"$CS" fsck --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || { cat "$T/fsck" | head -30; fail "fsck after load"; }
tail -n1 "$T/fsck"
echo "load: passed"
