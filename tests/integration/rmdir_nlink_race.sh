#!/bin/sh
# A directory's nlink right after an rmdir (or mkdir) in it, while other
# processes list its parent (READDIRPLUS): the kernel applied a listing's
# attributes of the directory, taken by cryptod before the rmdir, after
# the RMDIR reply (RMDIR drops the directory's cached attributes but does
# not bump its attr_version, fs/fuse/dir.c fuse_dir_changed), and a stat
# then showed nlink 3 for the attribute timeout (3600 s). The frontend
# now invalidates the parent with a notify that bumps attr_version
# (frontend/reply.c). Probabilistic: about 1 round in 2000 failed before
# the fix; this runs up to RACE_ROUNDS rounds (20000) or RACE_SECS
# seconds (20) per mode, with the attribute cache on and off.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
L=$T/lower
M=$T/mnt
cat >"$T/race.py" <<'PY'
import os, sys, time
d, rounds, secs, listers = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
sd = os.path.join(d, "sd")
os.mkdir(sd)
for i in range(3):
    open(os.path.join(d, "f%d" % i), "w").close()
pids = []
for i in range(listers):
    pid = os.fork()
    if pid == 0:
        while os.path.exists(sd):
            try:
                os.listdir(d)
            except OSError:
                pass
        os._exit(0)
    pids.append(pid)
bad = n = 0
end = time.monotonic() + secs
while n < rounds and time.monotonic() < end:
    n += 1
    os.mkdir(sd + "/s")
    k = os.stat(sd).st_nlink
    if k != 3:
        bad += 1
        print("round %d: nlink %d after mkdir (want 3)" % (n, k))
    os.rmdir(sd + "/s")
    k = os.stat(sd).st_nlink
    if k != 2:
        bad += 1
        print("round %d: nlink %d after rmdir (want 2)" % (n, k))
os.rmdir(sd)
for p in pids:
    os.waitpid(p, 0)
print("rounds %d: stale nlink %d" % (n, bad))
sys.exit(1 if bad else 0)
PY
cs_init "$L"
rc=0
for ac in 1 0; do
	CS_FRONTEND_ATTRCACHE=$ac cs_mount "$L" "$M"
	mkdir "$M/t"
	printf 'attrcache=%s: ' $ac
	python3 "$T/race.py" "$M/t" "${RACE_ROUNDS:-20000}" \
		"${RACE_SECS:-20}" 2 || rc=1
	rm -rf "$M/t"
	cs_umount "$M"
done
[ $rc = 0 ] || fail "a stat after mkdir/rmdir showed a stale nlink"
echo "PASS: no stale nlink"
