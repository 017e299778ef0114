#!/bin/sh
# ENOSPC (docs/RELIABILITY.md): the volume lives on a 16 MiB tmpfs mounted
# by the test. Fill it through the mount; then, while it is full: writes,
# appends, new files, renames (short and long names, which need a side file)
# fail with ENOSPC (or EDQUOT) or succeed, and every file keeps its old
# content; after freeing space fsck is clean and everything reads back.
#   sh enospc.sh BUILD_DIR
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rel.sh"
command -v python3 >/dev/null || skip "python3 missing"
S=$T/small
tmpfs_dir "$S" 16m
V=$S/lower
REF=$T/ref
mkdir -p "$REF"
okerr() { # okerr WHAT RESULT: OK or ENOSPC/EDQUOT accepted
	case "$2" in
	OK|ENOSPC|EDQUOT) echo "   $1: $2" ;;
	*) bad "$1: $2 (want ENOSPC, EDQUOT or OK)" ;;
	esac
}
cs_init "$V"
cs_mount "$V" "$M"
head -c 1048576 /dev/urandom >"$REF/keep"
head -c 262144 /dev/urandom >"$REF/victim"
mkdir "$M/d"
cp "$REF/keep" "$M/d/keep"
cp "$REF/victim" "$M/victim"
# a sparse file: data in its first and last extent, a hole in group 1
head -c 4096 /dev/urandom >"$T/blk"
dd if="$T/blk" of="$REF/sparse" bs=4096 count=1 status=none
dd if="$T/blk" of="$REF/sparse" bs=4096 seek=511 conv=notrunc status=none
cp --sparse=always "$REF/sparse" "$M/sparse"
sync

say "fill the lower tmpfs through the mount"
r=$($R try append "$M/fill" 33554432)
echo "   filling write + fsync: $r"
case "$r" in ENOSPC|EDQUOT) ;; *) bad "filling 32 MiB into 16 MiB: $r (want ENOSPC or EDQUOT)" ;; esac
df -k "$S" | tail -n1
# top up: whatever partial pages are left
$R try append "$M/fill2" 1048576 >/dev/null

say "while full"
r=$($R try append "$M/victim" 65536); okerr "append 64 KiB to victim" "$r"
r=$($R try write "$M/victim" 300000 200000); okerr "extend victim by a write past EOF" "$r"
r=$($R try write "$M/sparse" 1048576 65536); okerr "write into a hole of sparse" "$r"
[ "$r" = OK ] && SPARSE_CHANGED=1 # it fit after all: content no longer known
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
[ -n "${SPARSE_CHANGED:-}" ] || cmp "$M/sparse" "$REF/sparse" || bad "sparse file changed or unreadable after a failed write into its hole"
r=$($R try create "$M/newfile"); okerr "create newfile" "$r"
r=$($R try mkdir "$M/newdir"); okerr "mkdir newdir" "$r"
r=$($R try create "$M/$(printf 'Q%.0s' $(seq 1 230))"); okerr "create with a long name (side file)" "$r"
r=$($R try rename "$M/d/keep" "$M/d/kept"); okerr "rename d/keep -> d/kept (short name)" "$r"
[ "$r" = OK ] && $R try rename "$M/d/kept" "$M/d/keep" >/dev/null
LONG=$(printf 'N%.0s' $(seq 1 220))
r=$($R try rename "$M/d/keep" "$M/d/$LONG"); okerr "rename d/keep -> long name (needs a side file)" "$r"
if [ "$r" = OK ]; then
	$R try rename "$M/d/$LONG" "$M/d/keep" >/dev/null
fi
cmp "$M/d/keep" "$REF/keep" || bad "d/keep changed while full"
head -c 262144 "$M/victim" | cmp - "$REF/victim" || bad "victim's old content changed or unreadable while full"

say "free space, remount, fsck"
rm -f "$M/fill" "$M/fill2"
cs_umount "$M"
fsck_clean "fsck after ENOSPC"
cs_mount "$V" "$M"
cmp "$M/d/keep" "$REF/keep" || bad "d/keep differs after remount"
[ -n "${SPARSE_CHANGED:-}" ] || cmp "$M/sparse" "$REF/sparse" || bad "sparse differs after remount"
# victim: old content intact; a landed append/extension only adds bytes
head -c 262144 "$M/victim" | cmp - "$REF/victim" || bad "victim's old content damaged"
ls -la "$M" "$M/d" | sed 's/^/   /'
r=$($R try create "$M/after"); [ "$r" = OK ] || bad "create after freeing space: $r"
cs_umount "$M"
[ "$fails" = 0 ] || fail "$fails checks failed"
echo "enospc: passed"
