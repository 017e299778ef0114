#!/bin/sh
# Deployed under a seccomp profile that refuses io_uring (Docker's default
# since 25.0, many container runtimes, kernel.io_uring_disabled): cryptod
# says so once and serves with plain syscalls and futex waits. The mount
# works, data round-trips, peer death is still noticed, and the whole POSIX
# suite passes (every mount of posix.sh runs under cs_nouring).
. "$(dirname "$0")/lib.sh"

W=$B/cs_nouring
[ -x "$W" ] || skip "cs_nouring not built"
"$W" true || skip "cannot load a seccomp filter here"
export CS_MOUNT_WRAP="$W"

cs_init "$L"

say "mount with io_uring refused"
cs_mount -o "log=$T/log" "$L" "$M"
grep -q "io_uring refused" "$T/log" || fail "cryptod did not notice: $(cat "$T/log")"
head -c 5000000 /dev/urandom >"$T/big"
cp "$T/big" "$M/big" && sync
echo 3 >/proc/sys/vm/drop_caches
cmp "$T/big" "$M/big" || fail "data differs"
mkdir "$M/d" && mv "$M/big" "$M/d/big" && cmp "$T/big" "$M/d/big" || fail "rename"

say "kill -9 frontend: cryptod notices without io_uring's peer poll"
sup=$(sup_pid "$M")
cd_pid=$(child_pid "$sup" cryptstack-cryptod)
fe_pid=$(child_pid "$sup" cryptstack-frontend)
[ -n "$cd_pid" ] && [ -n "$fe_pid" ] || fail "helpers of $M not found"
kill -9 "$fe_pid"
i=0
while alive "$cd_pid"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "cryptod still alive 10 s after the frontend died"
	sleep 0.1
done
i=0
while is_mounted "$M"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "dead mount not cleaned up"
	sleep 0.1
done
cs_mount "$L" "$M"
cmp "$T/big" "$M/d/big" || fail "data after remount"
cs_umount "$M"
"$CS" fsck --passfile "$PASS" "$L" >/dev/null || fail "fsck"

say "the POSIX suite, every mount under cs_nouring"
sh "$(dirname "$0")/posix.sh" "$B" >"$T/posix.out" 2>&1 || {
	tail -n 30 "$T/posix.out"
	fail "posix.sh under cs_nouring"
}
tail -n 1 "$T/posix.out"
echo "nouring: all passed"
