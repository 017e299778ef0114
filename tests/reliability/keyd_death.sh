#!/bin/sh
# keyd killed under a live mount (docs/MOUNT.md "When a helper dies"):
# files already open keep working; opening another file or creating one
# fails promptly with a meaningful error (EIO, EACCES or ENOKEY; not an
# internal transport errno such as EPIPE), nothing hangs, cryptod and the
# frontend stay up, umount works, and a remount reads everything back.
#   sh keyd_death.sh BUILD_DIR
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rel.sh"
command -v python3 >/dev/null || skip "python3 missing"
V=$T/vol
cs_init "$V"
cs_mount "$V" "$M"
head -c 100000 /dev/urandom >"$T/a"
cp "$T/a" "$M/a"
cp "$T/a" "$M/b"
cs_umount "$M"
cs_mount "$V" "$M"
helper_pids "$M"
[ -n "$kdp" ] || fail "keyd pid not found"
exec 3<>"$M/a" # a stays open (its key is in cryptod)
kill -9 "$kdp"
sleep 0.3
res=$(timeout 10 $R try write "$M/a" 0 4096 || echo TIMEOUT)
[ "$res" = OK ] || bad "write to an open file after keyd died: $res"
res=$(timeout 10 $R try read "$M/a" || echo TIMEOUT)
[ "$res" = OK ] || bad "read of an open file after keyd died: $res"
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
for op in "read $M/b" "create $M/new"; do
	res=$(timeout 10 $R try $op || echo TIMEOUT)
	case "$res" in
	EIO|EACCES|ENOKEY) echo "   $op after keyd died: $res" ;;
	*) bad "$op after keyd died: $res (want EIO, EACCES or ENOKEY)" ;;
	esac
done
exec 3>&-
for p in "$cdp" "$fep" "$sp"; do alive "$p" || bad "process $p died with keyd"; done
"$CS" umount "$M" || { umount -l "$M"; bad "umount after keyd died"; }
cs_mount "$V" "$M"
cmp "$M/b" "$T/a" || bad "b differs after remount"
cs_umount "$M"
[ "$fails" = 0 ] || fail "$fails checks failed"
echo "keyd_death: passed"
