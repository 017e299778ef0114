#!/bin/sh
# Crash test (docs/RELIABILITY.md): a writer (cs_crashwriter) with periodic
# fsync runs on the mount; at a random point we kill -9 cryptod, the
# frontend, or every process of the mount (writer included), picked per
# iteration (or keyd: open files keep working, creates fail); then detach
# what is left, remount and check every file
# against the writer's journal of fsync-acknowledged state: acknowledged
# bytes intact, other blocks old or new content, never EIO. The volume
# carries over between iterations (recovery of recovering files is
# exercised on every remount). At the end fsck must find nothing corrupt
# (only unsettled files), --repair settles them, and the data still checks.
#   sh crash.sh BUILD_DIR      env: CS_CRASH_ITERS (default 30),
#                               CS_CRASH_SEED (default: from the clock)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rel.sh"
W=$B/cs_crashwriter
[ -x "$W" ] || fail "cs_crashwriter not built"
ITERS=${CS_CRASH_ITERS:-30}
SEED=${CS_CRASH_SEED:-$(date +%s)}
echo "crash: $ITERS iterations, base seed $SEED (CS_CRASH_SEED=$SEED to replay)"
V=$T/vol
M=$T/mnt
J=$T/journal
mkdir -p "$J"
cs_init "$V"
cs_mount "$V" "$M"
mkdir "$M/w"
cs_umount "$M"


detach() {
	sp=$1
	if is_mounted "$M"; then
		"$CS" umount "$M" >/dev/null 2>&1 || fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M" 2>/dev/null || true
	fi
	n=0
	while [ -n "$sp" ] && alive "$sp" && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
	[ -z "$sp" ] || ! alive "$sp" || fail "supervisor $sp still alive 15 s after the crash"
}

fails=0
i=1
while [ $i -le "$ITERS" ]; do
	s=$((SEED + i))
	victim=$((s % 4))
	delay_ms=$((50 + (s * 2654435761 / 7) % 1200))
	cs_mount "$V" "$M"
	helper_pids "$M"
	[ -n "$sp" ] || fail "iteration $i: supervisor pid not found"
	[ -n "$cdp" ] && [ -n "$fep" ] && [ -n "$kdp" ] || fail "iteration $i: helper pids not found (cryptod '$cdp' frontend '$fep' keyd '$kdp')"
	"$W" write "$M/w" "$J" "$s" $((i * 4000000)) 5 >"$T/wlog" 2>&1 &
	wp=$!
	sleep "$(awk -v m=$delay_ms 'BEGIN { printf "%.3f", m / 1000 }')"
	case $victim in
	0) what=cryptod; kill -9 "$cdp" || fail "iteration $i: cryptod already gone" ;;
	1) what=frontend; kill -9 "$fep" || fail "iteration $i: frontend already gone" ;;
	3) what=keyd; kill -9 "$kdp" || fail "iteration $i: keyd already gone" ;;
	2) what="all (writer, frontend, cryptod, keyd, supervisor)"
	   for p in "$wp" "$fep" "$cdp" "$kdp" "$sp"; do kill -9 "$p" 2>/dev/null || echo "   (pid $p already gone)"; done ;;
	esac
	wait "$wp" 2>/dev/null || true
	detach "$sp"
	# orphans of a killed supervisor: wait for them by pid
	for p in $cdp $fep $kdp; do
		k=0; while alive "$p" && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
		alive "$p" && fail "iteration $i: pid $p survived its mount"
	done
	cs_mount "$V" "$M"
	if ! "$W" check "$M/w" "$J" >"$T/clog" 2>&1; then
		echo "iteration $i seed $s: kill -9 $what after ${delay_ms} ms: FAILED"
		cat "$T/wlog" "$T/clog" | head -40
		fails=$((fails + 1))
	else
		echo "iteration $i seed $s: kill -9 $what after ${delay_ms} ms: $(tail -n1 "$T/wlog"); $(tail -n1 "$T/clog")"
	fi
	cs_umount "$M"
	i=$((i + 1))
done

say "fsck after $ITERS crashes"
rc=0
"$CS" fsck --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || rc=$?
grep -E "^(CORRUPT|BAD-DATA|UNSETTLED|ERROR)" "$T/fsck" | head -20
tail -n1 "$T/fsck"
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "fsck exit $rc"
grep -q "^CORRUPT\|^BAD-DATA" "$T/fsck" && fail "fsck found corruption after kill -9 crashes (no power loss: nothing may be torn)"
rc=0
"$CS" fsck --repair --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat "$T/fsck"; fail "fsck --repair exit $rc"; }
"$CS" fsck --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "fsck after repair not clean"; }
cs_mount "$V" "$M"
"$W" check "$M/w" "$J" || fail "data check after fsck --repair"
cs_umount "$M"
say "simulated power loss: one torn data block in w/f0"
cs_mount "$V" "$M"
ino=$(stat -c %i "$M/w/f0")
size=$(stat -c %s "$M/w/f0")
cs_umount "$M"
nb=$((size / 4096))
if [ "$nb" -gt 0 ] && command -v python3 >/dev/null; then
	LF=$(find "$V" -inum "$ino" | head -n1)
	blk=$((SEED % nb))
	$R flip "$LF" $(($($R off data "$blk") + 123)) 0x40
	rc=0
	"$CS" fsck --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || rc=$?
	grep -E "^(BAD-DATA|CORRUPT)" "$T/fsck"
	[ "$rc" = 1 ] || fail "fsck after a torn block: exit $rc (want 1)"
	grep -q "BAD-DATA .*plaintext bytes $((blk * 4096))\.\.$((blk * 4096 + 4095)) " "$T/fsck" || fail "fsck did not report block $blk exactly"
	rc=0
	"$CS" fsck --repair --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || rc=$?
	grep -E "^(LOST|REPAIRED)" "$T/fsck"
	[ "$rc" = 3 ] || { cat "$T/fsck"; fail "fsck --repair after a torn block: exit $rc (want 3)"; }
	"$CS" fsck --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "fsck not clean after repairing the torn block"; }
	cs_mount "$V" "$M"
	"$W" check "$M/w" "$J" 0 "$blk" || fail "data check after repairing the torn block $blk"
	cs_umount "$M"
else
	echo "   (w/f0 is empty: phase skipped)"
fi
[ "$fails" = 0 ] || fail "$fails of $ITERS iterations failed"
echo "crash: $ITERS iterations passed"
