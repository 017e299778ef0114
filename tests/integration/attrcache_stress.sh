#!/bin/sh
# Attribute cache and receive threads under load: worker processes each
# own files in one shared directory (its stamps contend) and check after
# every step that stat shows exactly what they did: size after writes and
# truncate, mode after chmod, owner after chown, times after utimensat,
# nlink after link/unlink/mkdir/rmdir, open-unlinked files, rename over a
# file (attrcache_stress.py). Once with the default options, once with
# -o slots=1 (two slots for two receive threads: slot waits and role
# hand-overs) while 1 MiB writers run beside it; a hang fails by timeout.
# No concurrent stat-er of the same nodes here: an older GETATTR reply
# the kernel takes after a change is a FUSE race of its own (review
# report), also with CS_FRONTEND_ATTRCACHE=0.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
command -v timeout >/dev/null || skip "timeout missing"
PY=$(dirname "$0")/attrcache_stress.py
cs_init "$L"
for opts in "" "-o slots=1"; do
	cs_mount $opts "$L" "$M"
	mkdir -p "$M/d" "$M/big"
	say "stress ${opts:-default options}"
	pids=""
	if [ -n "$opts" ]; then
		for i in 1 2 3; do
			timeout 100 dd if=/dev/zero of="$M/big/$i" bs=1M count=48 \
				conv=fsync status=none &
			pids="$pids $!"
		done
	fi
	AC_STATER=0 timeout 100 python3 "$PY" "$M/d" 6 40 ||
		fail "stress (${opts:-default}): rc $? (124: hung)"
	for p in $pids; do
		wait "$p" || fail "writer: rc $? (124: hung)"
	done
	for i in 1 2 3; do
		[ ! -e "$M/big/$i" ] ||
			[ "$(stat -c %s "$M/big/$i")" = 50331648 ] ||
			fail "big/$i: size $(stat -c %s "$M/big/$i")"
	done
	rm -rf "$M/d" "$M/big"
	cs_umount "$M"
done
echo "attrcache_stress: all passed"
