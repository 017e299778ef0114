#!/bin/sh
# An open file whose last name is gone: times set through its fd must
# stay what was set, as on a plain directory, after a later write, fchmod
# or nothing (the frontend answers a SETATTR of mtime/ctime of such a file
# itself, frontend/ops.c setattr_unlinked(); an atime it kept only there
# was lost at the next reply about the node, e.g. the fchmod's).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
mkdir -p "$P"
cat >"$T/ut.py" <<'PY'
import os, sys
d = sys.argv[1]
for variant in ("write", "fchmod", "none", "futimens-mtime"):
    p = os.path.join(d, "u-" + variant)
    with open(p, "wb") as f:
        f.write(b"a" * 100)
    fd = os.open(p, os.O_RDWR)
    os.unlink(p)
    os.utime(fd, ns=(5000000000, 7000000000))
    if variant == "write":
        os.pwrite(fd, b"b" * 10, 200)
        os.fsync(fd)
    elif variant == "fchmod":
        os.fchmod(fd, 0o600)
    elif variant == "futimens-mtime":
        os.utime(fd, ns=(5000000000, 9000000000))
        os.fchmod(fd, 0o640)
    st = os.fstat(fd)
    m = "new" if variant == "write" else st.st_mtime_ns
    print(variant, st.st_atime_ns, m, st.st_nlink, "%o" % (st.st_mode & 0o777))
    os.close(fd)
PY
python3 "$T/ut.py" "$P" >"$T/plain.out"
cs_new
python3 "$T/ut.py" "$M" >"$T/mnt.out"
cs_umount "$M"
paste "$T/plain.out" "$T/mnt.out"
diff "$T/plain.out" "$T/mnt.out" >/dev/null || fail "times of open unlinked files differ from a plain directory"
echo "attrcache_unlinked: all passed"
