# Sourced by the reliability scripts after tests/integration/lib.sh (whose
# sup_pid tolerates other mounts' pid files vanishing while it looks, and
# takes the newest live supervisor of a mountpoint).
# $R: the scripts' python helper (the scripts that use it check python3).
R="python3 $(cd "$(dirname "$0")" && pwd)/relutil.py"
# bad MSG: a failed check after which the script goes on; $fails counts.
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# fsck_clean WHAT: fsck of the unmounted volume $V must exit 0; shows
# what it reports and its summary line, bad "WHAT: ..." otherwise.
fsck_clean() {
	rc=0
	"$CS" fsck --passfile "$PASS" --no-progress "$V" >"$T/fsck" 2>&1 || rc=$?
	grep -E "^(CORRUPT|BAD-DATA|UNSETTLED|ERROR|FOREIGN|REMOVED)" "$T/fsck" || true
	tail -n1 "$T/fsck"
	[ "$rc" = 0 ] || bad "$1: exit $rc (want 0)"
}
