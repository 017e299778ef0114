#!/bin/sh
# atime through the mount behaves as on a native file system (relatime):
# a stat, a listing, an open without a read, an ftruncate, `touch -m`
# and writes through write-only fds move no atime; a real read does
# (once, while atime <= mtime/ctime), a second read does not; utimensat
# sets exactly what was asked; O_NOATIME readers and a ro mount move
# nothing. The same script runs on a plain
# directory beside the lower one and both outputs must match. cryptod
# reads a file's header for its size on a stat or an open: it must not
# look like a read (cryptod/fileio.c cd_file_accessed, docs/CRYPTOD.md).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
L=$T/lower
M=$T/mnt
P=$T/plain
mkdir -p "$P"
cat >"$T/at.py" <<'PY'
import os, sys, time, json
d, phase, state = sys.argv[1], sys.argv[2], sys.argv[3]
OLD = 978307200 * 10**9          # 2001-01-01: atime older than mtime
MT = 1500000000 * 10**9          # mtime 2017
names = ("stat", "ls", "append", "trunc", "touchm", "read", "noatime",
         "wronly")
def p(n): return os.path.join(d, n)
def cls(ns, ref=None):
    if ref is not None and ns == ref: return "kept"
    if ns == OLD: return "old"
    if abs(ns - time.time_ns()) < 120 * 10**9: return "now"
    return "other:%d" % ns
if phase == "create":
    for n in names:
        with open(p(n), "wb") as f: f.write(b"x" * 6000)
        os.utime(p(n), ns=(OLD, MT))
    sys.exit(0)
if phase == "look":
    os.stat(p("stat"))
    for e in os.listdir(d): os.lstat(p(e))
    fd = os.open(p("append"), os.O_WRONLY | os.O_APPEND); os.close(fd)
    fd = os.open(p("trunc"), os.O_RDWR); os.ftruncate(fd, 100)
    os.utime(fd, ns=(OLD, MT)); os.ftruncate(fd, 50); os.close(fd)
    # touch -a -d X f; touch -m -d Y f (touch opens the file)
    os.system("touch -a -d @978307200 '%s' && touch -m -d @1600000000 '%s'"
              % (p("touchm"), p("touchm")))
    with open(p("read"), "rb") as f: f.read()
    fd = os.open(p("noatime"), os.O_RDONLY | os.O_NOATIME)
    os.read(fd, 10000); os.close(fd)
    # partial page writes through write-only fds: the kernel reads the
    # pages first (writeback cache), which is no read by the user
    fd = os.open(p("wronly"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"more"); os.close(fd)
    fd = os.open(p("wronly"), os.O_WRONLY)
    os.pwrite(fd, b"zz", 100); os.fsync(fd); os.close(fd)
    out = {n: os.stat(p(n)).st_atime_ns for n in names}
    json.dump(out, open(state, "w"))
    for n in names: print("look", n, cls(out[n]))
    sys.exit(0)
if phase == "reread":
    # atime is now after mtime and ctime: relatime keeps it
    prev = json.load(open(state))
    with open(p("read"), "rb") as f: f.read()
    print("reread read", cls(os.stat(p("read")).st_atime_ns, prev["read"]))
    # a new mtime: the next read moves atime again. Reads the kernel
    # serves from its page cache reach no file system server (a FUSE
    # limit, docs/CRYPTOD.md): drop the pages first
    os.utime(p("read"), ns=(OLD, MT))
    with open(p("read"), "rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        f.read()
    print("reread after utime", cls(os.stat(p("read")).st_atime_ns))
    sys.exit(0)
if phase in ("ro", "na"):
    with open(p("stat"), "rb") as f: f.read()
if phase in ("rostat", "nastat"):
    # after a rw remount: the kernel of a ro mount keeps its cached atime
    print("ro read" if phase == "rostat" else "noatime read",
          cls(os.stat(p("stat")).st_atime_ns))
PY
run() { python3 "$T/at.py" "$1" "$2" "$T/state.$3" >>"$T/$3.out"; }
: >"$T/plain.out"
: >"$T/mnt.out"
run "$P" create plain
run "$P" look plain
run "$P" reread plain
echo "ro read old" >>"$T/plain.out"	# a ro mount moves no atime
echo "noatime read old" >>"$T/plain.out"	# nor a noatime one

cs_init "$L"
cs_mount "$L" "$M"
run "$M" create mnt
# each phase after a remount: nothing cached in the kernel or cryptod,
# every stat is a LOOKUP, every read a READ
cs_umount "$M"
cs_mount "$L" "$M"
run "$M" look mnt
cs_umount "$M"
cs_mount "$L" "$M"
run "$M" reread mnt
python3 -c "import os,sys; os.utime(sys.argv[1], ns=(978307200*10**9, 1500000000*10**9))" "$M/stat"
cs_umount "$M"
cs_mount -o ro "$L" "$M"
run "$M" ro mnt
cs_umount "$M"
cs_mount "$L" "$M"
run "$M" rostat mnt
python3 -c "import os,sys; os.utime(sys.argv[1], ns=(978307200*10**9, 1500000000*10**9))" "$M/stat"
cs_umount "$M"
cs_mount -o noatime "$L" "$M"
run "$M" na mnt
cs_umount "$M"
cs_mount "$L" "$M"
run "$M" nastat mnt
cs_umount "$M"
if ! diff -u "$T/plain.out" "$T/mnt.out"; then
	fail "atime on the mount differs from a plain directory (above: - plain, + mount)"
fi
cat "$T/mnt.out"
echo "PASS: atime as on a plain directory"
