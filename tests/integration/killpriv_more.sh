#!/bin/sh
# More writers by an unprivileged user on a 6775 file: fallocate (extend,
# keep-size, punch), copy_file_range into it, mmap write, pwrite past EOF,
# writev, a write through an fd opened before the chmod; modes compared
# with a plain directory, and after a remount (the lower file's mode).
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip "setpriv missing"
command -v python3 >/dev/null || skip "python3 missing"
mkdir -p "$P"
cs_new -o allow_other
NOBODY="setpriv --reuid 65534 --regid 65534 --clear-groups"
cat >"$T/ops.py" <<'PY'
import os, sys, mmap
d = sys.argv[1]
def fresh(n):
    p = os.path.join(d, n)
    with open(p, "wb") as f:
        f.write(b"a" * 8192)
    os.chmod(p, 0o2664 if n.endswith("2664") else 0o6775)
    return p
def m(p):
    return "%o" % (os.stat(p).st_mode & 0o7777)
ops = {}
def op(name):
    def reg(fn):
        ops[name] = fn
        return fn
    return reg
@op("fallocate-extend")
def _(p):
    fd = os.open(p, os.O_RDWR); os.posix_fallocate(fd, 0, 65536); os.close(fd)
@op("fallocate-extend-2664")
def _(p):
    fd = os.open(p, os.O_RDWR); os.posix_fallocate(fd, 0, 65536); os.close(fd)
@op("fallocate-keepsize")
def _(p):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(p, os.O_RDWR)
    libc.fallocate(fd, 1, ctypes.c_long(0), ctypes.c_long(65536)); os.close(fd)
@op("punch-hole")
def _(p):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(p, os.O_RDWR)
    libc.fallocate(fd, 3, ctypes.c_long(0), ctypes.c_long(4096)); os.close(fd)
@op("copy_file_range")
def _(p):
    s = os.path.join(d, "src")
    with open(s, "wb") as f:
        f.write(b"s" * 5000)
    a = os.open(s, os.O_RDONLY); b = os.open(p, os.O_RDWR)
    os.copy_file_range(a, b, 5000, 0, 100); os.close(a); os.close(b)
@op("mmap-write")
def _(p):
    fd = os.open(p, os.O_RDWR)
    mm = mmap.mmap(fd, 8192); mm[0:4] = b"mmap"; mm.flush(); mm.close(); os.close(fd)
@op("pwrite-past-eof")
def _(p):
    fd = os.open(p, os.O_RDWR); os.pwrite(fd, b"x", 100000); os.close(fd)
@op("writev")
def _(p):
    fd = os.open(p, os.O_RDWR); os.writev(fd, [b"a", b"b"]); os.close(fd)
@op("fd-before-chmod")
def _(p):
    os.chmod(p, 0o775)
    fd = os.open(p, os.O_RDWR); os.write(fd, b"1"); os.fsync(fd)
    os.chmod(p, 0o6775)
    os.write(fd, b"2"); os.close(fd)
@op("write-after-fsync")
def _(p):
    fd = os.open(p, os.O_RDWR); os.write(fd, b"1"); os.fsync(fd)
    os.fchmod(fd, 0o6775); os.pwrite(fd, b"2", 10); os.fsync(fd); os.close(fd)
for name in sys.argv[2:] or sorted(ops):
    p = fresh(name)
    try:
        ops[name](p)
        r = m(p)
    except OSError as e:
        r = "err %s" % e.strerror
    print(name, r)
PY
steps() {
	mkdir -p "$1/pub" "$1/root" && chmod 0777 "$1/pub"
	$NOBODY /usr/bin/python3 "$T/ops.py" "$1/pub"
	# root (CAP_FSETID) keeps the bits
	/usr/bin/python3 "$T/ops.py" "$1/root" fallocate-extend punch-hole |
		sed 's/^/root /'
}
steps "$P" >"$T/plain.out"
steps "$M" >"$T/mnt.out"
paste "$T/plain.out" "$T/mnt.out"
rc=0
diff "$T/plain.out" "$T/mnt.out" >/dev/null || { echo "FAIL: modes differ from a plain directory ($(stat -f -c %T "$P"))"; rc=1; }
grep -qx "fallocate-extend 775" "$T/mnt.out" || { echo "FAIL: user fallocate kept suid/sgid"; rc=1; }
grep -qx "root fallocate-extend 6775" "$T/mnt.out" || { echo "FAIL: root fallocate dropped suid/sgid"; rc=1; }
b=$(cd "$M" && stat -c '%n %a' pub/* root/* | sort)
cs_umount "$M"
cs_mount -o allow_other "$L" "$M"
a=$(cd "$M" && stat -c '%n %a' pub/* root/* | sort)
[ "$a" = "$b" ] || { echo "FAIL: modes after remount differ:"; echo "$b" >"$T/b"; echo "$a" >"$T/a"; diff "$T/b" "$T/a"; rc=1; }
cs_umount "$M"
[ $rc = 0 ] && echo "killpriv_more: all passed"
exit $rc
