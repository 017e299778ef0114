# Sourced by the reliability scripts after tests/integration/lib.sh (whose
# sup_pid tolerates other mounts' pid files vanishing while it looks, and
# takes the newest live supervisor of a mountpoint).
# $R: the scripts' python helper (the scripts that use it check python3).
R="python3 $(cd "$(dirname "$0")" && pwd)/relutil.py"
# bad MSG: a failed check after which the script goes on; $fails counts.
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
