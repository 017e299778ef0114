#!/bin/sh
# Scratch volumes (mount --scratch / -o scratch): a random key that exists
# only in keyd, a lower directory that must start empty and is emptied at
# unmount; after a crash the leftovers cannot be opened with any passphrase.
. "$(dirname "$0")/lib.sh"

S=$T/scratch
M=$T/mnt
MARK="SCRATCH-PLAINTEXT-MARK-5e1"
mkdir -p "$M"
MOUNTS="$M"

say "mount --scratch on an absent lower directory"
"$CS" mount --scratch "$S" "$M" || fail "mount --scratch"
is_mounted "$M" || fail "not mounted"
[ -f "$S/.cryptstack.conf" ] || fail "no volume config in $S"
for i in 1 2 3; do echo "$MARK $i" >"$M/file$i"; done
mkdir "$M/dir" && head -c 3000000 /dev/urandom >"$T/big" && cp "$T/big" "$M/dir/big"
cmp "$T/big" "$M/dir/big" || fail "read back"
sync
if grep -r -q "$MARK" "$S"; then fail "plaintext in the lower directory"; fi
ls "$S" | grep -q file1 && fail "plaintext names in the lower directory"

say "umount empties the lower directory"
cs_umount "$M"
[ -d "$S" ] || fail "$S itself was removed"
[ -z "$(ls -A "$S")" ] || fail "left in $S: $(ls -A "$S")"

say "a non-empty lower directory is refused and left alone"
mkdir -p "$T/full" && echo keep >"$T/full/precious"
if "$CS" mount --scratch "$T/full" "$M" 2>"$T/err"; then fail "mounted over a non-empty lower"; fi
grep -q "empty" "$T/err" || fail "unclear message: $(cat "$T/err")"
[ "$(cat "$T/full/precious")" = keep ] || fail "precious file touched"
! is_mounted "$M" || fail "mounted"

say "--scratch with a passphrase is refused"
if "$CS" mount --scratch --passfile "$PASS" "$S" "$M" 2>/dev/null; then fail "accepted --passfile"; fi

say "-o scratch, then a crash: the leftovers open with no passphrase"
"$CS" mount -o scratch "$S" "$M" || fail "mount -o scratch"
echo "$MARK crash" >"$M/after-crash"
sync
sup=$(sup_pid "$M")
[ -n "$sup" ] || fail "no supervisor"
for h in cryptstack-keyd cryptstack-cryptod cryptstack-frontend; do
	p=$(child_pid "$sup" "$h")
	[ -n "$p" ] && kill -9 "$p"
done
kill -9 "$sup" 2>/dev/null || true
umount -l "$M" 2>/dev/null || true
[ -f "$S/.cryptstack.conf" ] || fail "expected the crashed volume's config to remain"
if grep -r -q "$MARK" "$S"; then fail "plaintext after the crash"; fi
if "$CS" mount --passfile "$PASS" "$S" "$M" 2>"$T/err"; then fail "a guessed passphrase opened the scratch leftovers"; fi
grep -qi "passphrase\|key" "$T/err" || fail "unexpected error: $(cat "$T/err")"
echo "scratch: all passed"
