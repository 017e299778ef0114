#!/bin/sh
# Lower filesystem errors (docs/RELIABILITY.md): the volume lives on a tmpfs
# that the test remounts read-only under a live mount. Writes, creates,
# mkdir, rename, unlink through the mount must fail with EROFS (EIO is
# reported as a failure: the caller should learn the real cause), reads keep
# working, and no process of the mount dies. Back to read-write, the mount
# works again, and fsck is clean after unmounting.
#   sh erofs.sh BUILD_DIR
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rel.sh"
command -v python3 >/dev/null || skip "python3 missing"
S=$T/lfs
tmpfs_dir "$S" 64m
trap 'set +e; mount -o remount,rw "$S" 2>/dev/null; cleanup' EXIT
V=$S/lower
REF=$T/ref
mkdir -p "$REF"
cs_init "$V"
cs_mount "$V" "$M"
head -c 300000 /dev/urandom >"$REF/a"
cp "$REF/a" "$M/a"
cp "$REF/a" "$M/c" # never written while read-only
mkdir "$M/d"
echo hello >"$M/d/h"
sync
helper_pids "$M"
pids="$sp $cdp $fep $kdp"
echo "   processes: $pids"
# drop the kernel's cached pages so that the reads below go to cryptod
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true

say "lower remounted read-only"
mount -o remount,ro "$S" || skip "cannot remount the tmpfs read-only"
expect() { # expect WHAT RESULT WANT...
	what=$1 r=$2
	shift 2
	for w in "$@"; do
		if [ "$r" = "$w" ]; then echo "   $what: $r"; return; fi
	done
	bad "$what: $r (want $*)"
}
# (after a failed write + fsync the page cache may still show the new
# bytes, as on any Linux file system whose writeback failed: a is checked
# after a remount, c now)
expect "overwrite a (write + fsync)" "$($R try write "$M/a" 4096 8192)" EROFS
expect "append to d/h" "$($R try append "$M/d/h" 100)" EROFS
expect "create" "$($R try create "$M/new")" EROFS
expect "mkdir" "$($R try mkdir "$M/newdir")" EROFS
expect "rename" "$($R try rename "$M/d/h" "$M/d/h2")" EROFS
rm "$M/a" 2>"$T/err" && bad "unlink succeeded on a read-only lower" || echo "   unlink: $(cat "$T/err")"
grep -q "Read-only file system" "$T/err" || bad "unlink: not EROFS: $(cat "$T/err")"
expect "read c" "$($R try read "$M/c")" OK
cmp "$M/c" "$REF/a" || bad "c differs while the lower is read-only"
for p in $pids; do alive "$p" || bad "process $p died"; done

say "lower read-write again"
mount -o remount,rw "$S"
expect "write after remount rw" "$($R try write "$M/d/h" 0 6)" OK
expect "create after remount rw" "$($R try create "$M/new")" OK
for p in $pids; do alive "$p" || bad "process $p died"; done
cmp "$M/c" "$REF/a" || bad "c differs after remount rw"
cs_umount "$M"
cs_mount "$V" "$M"
# a: every block the old content (the failed write did not land) or, if
# the kernel wrote the pages back once the lower was writable, new bytes
# at 4096..12287 only
out=$(python3 - "$M/a" "$REF/a" <<'PY'
import sys
a = open(sys.argv[1], 'rb').read()
r = open(sys.argv[2], 'rb').read()
bad = len(a) != len(r) or a[:4096] != r[:4096] or a[12288:] != r[12288:]
print("BAD" if bad else ("old" if a == r else "new"))
PY
) || bad "reading a after remount failed"
echo "   a after remount: $out content in 4096..12287"
[ "$out" != BAD ] || bad "a damaged outside the failed write"
cs_umount "$M"
fsck_clean fsck
[ "$fails" = 0 ] || fail "$fails checks failed"
echo "erofs: passed"
