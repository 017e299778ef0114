#!/bin/sh
# POSIX behaviour (cs_posix, tests/integration/posix.c) against a plain
# directory and against a cryptstack mount, same expectations; then the
# unprivileged-user checks (setpriv, allow_other + default_permissions).
. "$(dirname "$0")/lib.sh"

mkdir -p "$P"
cs_new -o allow_other

rc=0
say "plain directory ($P)"
"$POSIX" "$P" || rc=1
say "cryptstack mount ($M)"
"$POSIX" "$M" || rc=1

if command -v setpriv >/dev/null; then
	for d in "$P" "$M"; do
		say "unprivileged user (uid 65534) on $d"
		setpriv --reuid 65534 --regid 65534 --clear-groups \
			"$POSIX" "$d" --unpriv || rc=1
	done
else
	echo "setpriv missing: unprivileged checks skipped"
fi

say "contents survive a remount"
mkdir -p "$M/keep/sub"
printf 'kept\n' >"$M/keep/sub/file"
chown 4321:8765 "$M/keep/sub/file"
chmod 0604 "$M/keep/sub/file"
before=$(cd "$M" && find . -printf '%p %y %m %u %g %s %n\n' | sort)
cs_umount "$M"
cs_mount "$L" "$M"
after=$(cd "$M" && find . -printf '%p %y %m %u %g %s %n\n' | sort)
[ "$before" = "$after" ] || { echo "$before" >"$T/b"; echo "$after" >"$T/a"; diff "$T/b" "$T/a"; rc=1; }
cs_umount "$M"
[ $rc -eq 0 ] || fail "posix checks failed"
echo "posix: all passed"
