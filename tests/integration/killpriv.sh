#!/bin/sh
# FUSE_HANDLE_KILLPRIV_V2 (docs/MOUNT.md): the kernel no longer clears
# setuid/setgid itself, cryptod does when the kernel says so. The same
# sequence of writes, truncates and chowns, by an unprivileged user and by
# root, runs on a plain directory and on the mount; the modes must be the
# same after each step, and the mount's must survive a remount.
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
mkdir -p "$P"
cs_new -o allow_other
NOBODY="setpriv --reuid 65534 --regid 65534 --clear-groups"

# steps DIR: prints the mode after each step, one per line.
steps() {
	d=$1/pub
	mkdir -p "$d" && chmod 0777 "$d"
	$NOBODY sh -c "
		cd '$d' || exit 1
		m() { stat -c '%a' f; }
		echo a >f
		chmod 6775 f; printf b >>f; echo \"user append 6775: \$(m)\"
		chmod 2664 f; printf c >>f; echo \"user append 2664: \$(m)\"
		chmod 6771 f; printf d >>f; echo \"user append 6771: \$(m)\"
		chmod 6775 f; dd if=/dev/zero of=f bs=4k count=3 conv=notrunc \
			oflag=direct status=none; echo \"user O_DIRECT 6775: \$(m)\"
		chmod 6775 f; truncate -s 1 f; echo \"user truncate 6775: \$(m)\"
		chmod 2775 f; truncate -s 5000 f; echo \"user extend 2775: \$(m)\"
		chmod 6775 f; printf y >f; echo \"user O_TRUNC 6775: \$(m)\"
		chmod 6775 f; printf z >>f; chmod 6775 f; printf z >>f
		echo \"user append again 6775: \$(m)\"
	" || echo "user steps failed"
	f=$d/f
	chmod 6775 "$f"; printf root >>"$f"; echo "root append 6775: $(stat -c %a "$f")"
	truncate -s 2 "$f"; echo "root truncate 6775: $(stat -c %a "$f")"
	chown 1234 "$f"; echo "root chown 6775: $(stat -c %a "$f")"
	chmod 6775 "$f"; chgrp 4321 "$f"; echo "root chgrp 6775: $(stat -c %a "$f")"
	chmod 2664 "$f"; chown 1234 "$f"; echo "root chown 2664: $(stat -c %a "$f")"
	mkdir -p "$d/dir" && chmod 6775 "$d/dir" && chown 1234 "$d/dir"
	echo "root chown dir 6775: $(stat -c %a "$d/dir")"
	# the last state for the remount check: killed by a user write
	chown 65534:65534 "$f"; chmod 6775 "$f"
	$NOBODY sh -c "printf w >>'$f'"
	echo "final: $(stat -c %a "$f")"
}

say "plain directory"
steps "$P" >"$T/plain.out"
cat "$T/plain.out"
say "cryptstack mount"
steps "$M" >"$T/mnt.out"
diff "$T/plain.out" "$T/mnt.out" || fail "modes differ from a plain directory"
# sanity: the rules really were exercised
grep -qx "user append 6775: 775" "$T/mnt.out" || fail "append kept suid/sgid"
grep -qx "user append 2664: 2664" "$T/mnt.out" || fail "sgid without group exec dropped"
grep -qx "root append 6775: 6775" "$T/mnt.out" || fail "root (CAP_FSETID) lost suid"

say "modes after a remount (the lower file's own mode)"
before=$(stat -c '%a %u %g %s' "$M/pub/f" "$M/pub/dir")
cs_umount "$M"
cs_mount -o allow_other "$L" "$M"
after=$(stat -c '%a %u %g %s' "$M/pub/f" "$M/pub/dir")
[ "$before" = "$after" ] || fail "after remount: '$after', before: '$before'"
[ "$(stat -c %a "$M/pub/f")" = 775 ] || fail "suid/sgid back after remount"
cs_umount "$M"
echo "killpriv: all passed"
