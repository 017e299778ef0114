#!/bin/sh
# The quickstart contract and the mount life cycle (docs/MOUNT.md):
# init/mount/write/umount, ciphertext-only lower, remount, wrong
# passphrase, start-up errors, layover mount, foreground mode with
# SIGTERM, the fstab helper, and kill -9 cryptod -> EIO, umount still works.
. "$(dirname "$0")/lib.sh"

MARK="CRYPTSTACK-PLAINTEXT-MARKER-7d1f0c"
NAME="secret-plaintext-name-q9x"

say "init, mount, write"
cs_new
mkdir "$M/$NAME-dir"
printf '%s\n' "$MARK" >"$M/$NAME-dir/$NAME.txt"
head -c 3000000 /dev/urandom >"$M/random.bin"
seq 1 100000 | sed "s/^/$MARK /" >"$M/marker-lines.txt"
ln -s "$NAME.txt" "$M/$NAME-dir/$NAME-link"
want=$(tree_sums "$M")
sup=$(sup_pid "$M")
[ -n "$sup" ] || fail "no supervisor found for $M"
cs_umount "$M"
! alive "$sup" || fail "supervisor $sup still alive after umount"

say "lower holds ciphertext only"
if grep -r -a -l "$MARK" "$L"; then fail "plaintext marker found in the lower directory"; fi
if find "$L" | grep -q "$NAME"; then fail "plaintext name found in the lower directory"; fi
[ -f "$L/.cryptstack.conf" ] || fail "volume config missing"

say "remount reads back identically"
cs_mount "$L" "$M"
got=$(tree_sums "$M")
[ "$want" = "$got" ] || fail "contents differ after remount"
[ "$(readlink "$M/$NAME-dir/$NAME-link")" = "$NAME.txt" ] || fail "symlink target"

say "mounting an already mounted mountpoint fails"
if "$CS" mount --passfile "$PASS" "$L" "$M" 2>"$T/err"; then fail "second mount succeeded"; fi
cat "$T/err"
grep -qi "busy\|already" "$T/err" || fail "no busy message"
cs_umount "$M"

say "wrong passphrase: non-zero, nothing mounted"
if "$CS" mount --passfile "$WRONG" "$L" "$M" 2>"$T/err"; then fail "mount with a wrong passphrase succeeded"; fi
cat "$T/err"
! is_mounted "$M" || fail "mounted with a wrong passphrase"
[ -s "$T/err" ] || fail "no message for a wrong passphrase"

say "not a volume, mountpoint not a directory, missing lower"
mkdir -p "$T/empty"
if "$CS" mount --passfile "$PASS" "$T/empty" "$M" 2>"$T/err"; then fail "mounted a non-volume"; fi
cat "$T/err"; [ -s "$T/err" ] || fail "no message for a non-volume"
: >"$T/afile"
if "$CS" mount --passfile "$PASS" "$L" "$T/afile" 2>"$T/err"; then fail "mounted on a file"; fi
cat "$T/err"; grep -qi "not a directory" "$T/err" || fail "no 'not a directory' message"
if "$CS" mount --passfile "$PASS" "$T/nowhere" "$M" 2>"$T/err"; then fail "mounted a missing lower"; fi
cat "$T/err"
! is_mounted "$M" || fail "something got mounted"

say "missing /dev/fuse, missing FUSE permissions"
if command -v unshare >/dev/null; then
	rc=0
	unshare -m sh -c "mount -t tmpfs none /dev && '$CS' mount --passfile '$PASS' '$L' '$M'" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ $rc -ne 0 ] || fail "mounted without /dev/fuse"
	grep -q "/dev/fuse is missing" "$T/err" || fail "no message for a missing /dev/fuse"
fi
if command -v setpriv >/dev/null; then
	rc=0
	setpriv --reuid 65534 --regid 65534 --clear-groups "$CS" mount \
		--passfile "$PASS" "$L" "$M" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ $rc -ne 0 ] || { is_mounted "$M" && "$CS" umount "$M"; echo "(unprivileged FUSE mounts allowed here)"; }
	[ $rc -eq 0 ] || grep -qi "fuse" "$T/err" || fail "no FUSE permission message"
fi
! is_mounted "$M" || fail "something got mounted"

say "encrypted_view is read-only"
cs_mount -o encrypted_view "$L" "$M"
grep -q " $M fuse.cryptstack ro," /proc/self/mounts || fail "encrypted_view mount is not ro"
if touch "$M/new" 2>/dev/null; then fail "wrote to an encrypted_view mount"; fi
cs_umount "$M"

say "layover mount (LOWER == MOUNTPOINT)"
LO=$T/layover
cs_init "$LO"
cs_mount -o allow_other "$LO" "$LO"
printf '%s\n' "$MARK" >"$LO/$NAME.txt"
[ "$(cat "$LO/$NAME.txt")" = "$MARK" ] || fail "layover read back"
[ ! -e "$LO/.cryptstack.conf" ] || fail "volume config visible through the mount"
cs_umount "$LO"
[ -f "$LO/.cryptstack.conf" ] || fail "layover: config gone"
if grep -r -a -l "$MARK" "$LO"; then fail "layover: plaintext in lower"; fi
if ls "$LO" | grep -q "$NAME"; then fail "layover: plaintext name in lower"; fi
cs_mount "$LO" "$LO"
[ "$(cat "$LO/$NAME.txt")" = "$MARK" ] || fail "layover remount read back"
cs_umount "$LO"

say "foreground mode, SIGTERM unmounts"
"$CS" mount -f --passfile "$PASS" "$L" "$M" >"$T/fg.log" 2>&1 &
fg=$!
MOUNTS="$MOUNTS $M"
i=0
until is_mounted "$M"; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$T/fg.log"; fail "foreground mount did not appear"; }
	sleep 0.1
done
[ "$(cat "$M/$NAME-dir/$NAME.txt")" = "$MARK" ] || fail "foreground read"
kill -TERM "$fg"
i=0
while kill -0 "$fg" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "foreground supervisor did not exit on SIGTERM"
	sleep 0.1
done
wait "$fg" || fail "foreground mount exited non-zero: $(cat "$T/fg.log")"
! is_mounted "$M" || fail "still mounted after SIGTERM"
cat "$T/fg.log"
! grep -q "killed by signal\|exited with status [1-9]" "$T/fg.log" ||
	fail "a helper did not end cleanly"

say "fstab helper (mount(8) argument form)"
"$B/mount.fuse.cryptstack" "$L" "$M" -o "rw,nofail,_netdev,passfile=$PASS,allow_other" ||
	fail "mount.fuse.cryptstack"
is_mounted "$M" || fail "helper did not mount"
grep -q " $M fuse.cryptstack " /proc/self/mounts || fail "type is not fuse.cryptstack"
grep -q "^cryptstack:$L $M " /proc/self/mounts || fail "fsname is not cryptstack:LOWER"
[ "$(cat "$M/$NAME-dir/$NAME.txt")" = "$MARK" ] || fail "helper mount read"
cs_umount "$M"

say "kill -9 cryptod: EIO, no hang, umount works"
cs_mount "$L" "$M"
cat "$M/$NAME-dir/$NAME.txt" >/dev/null
sup=$(sup_pid "$M")
cd_pid=$(child_pid "$sup" cryptstack-cryptod)
[ -n "$cd_pid" ] || fail "cryptod of $M not found"
kill -9 "$cd_pid"
start=$(date +%s%N)
rc=0
timeout 10 cat "$M/random.bin" >/dev/null 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || fail "read succeeded after cryptod died"
[ $rc -ne 124 ] || fail "read hung after cryptod died"
grep -q "Input/output error" "$T/err" || { cat "$T/err"; fail "not EIO"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "EIO after $ms ms"
[ $ms -lt 3000 ] || fail "EIO took $ms ms"
if timeout 10 touch "$M/newfile" 2>/dev/null; then fail "create succeeded after cryptod died"; fi
cs_umount "$M"
! alive "$sup" || fail "supervisor still alive"
log=$(ls /run/cryptstack/*.log | xargs grep -l "cryptod (pid $cd_pid) killed by signal 9" || true)
[ -n "$log" ] || fail "the supervisor did not log cryptod's death"

say "kill -9 frontend: the supervisor detaches the dead mount and exits"
cs_mount "$L" "$M"
sup=$(sup_pid "$M")
fe_pid=$(child_pid "$sup" cryptstack-frontend)
[ -n "$fe_pid" ] || fail "frontend of $M not found"
kill -9 "$fe_pid"
i=0
while is_mounted "$M" || alive "$sup"; do
	i=$((i + 1)); [ $i -lt 150 ] || fail "dead mount not cleaned up in 15 s"
	sleep 0.1
done

say "remount after the crash reads back"
cs_mount "$L" "$M"
got=$(tree_sums "$M")
[ "$want" = "$got" ] || fail "contents differ after the crash"
cs_umount "$M"
echo "quickstart: all passed"
