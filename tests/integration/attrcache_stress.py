#!/usr/bin/env python3
"""Stress of the attribute cache: W worker processes, each owning private
files in ONE shared directory (so the directory's stamps contend), doing
creates, writes, chmod, chown, truncate, utimensat, link/unlink (nlink),
rename, mkdir/rmdir, open-unlinked files, and after each step checking
that stat() shows exactly what this worker just did (nobody else touches
its files). Also a stat-er process hammering the directory and the files.
Usage: ac_stress.py DIR WORKERS ROUNDS"""
import os, sys, stat, random, time, errno

d, W, R = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
errs = []

def chk(what, got, exp):
    if got != exp:
        errs.append("%s: got %r expected %r" % (what, got, exp))

def worker(w):
    rnd = random.Random(w)
    for r in range(R):
        p = os.path.join(d, "w%d-%d" % (w, r))
        q = p + ".l"
        # create + write a known size
        n = rnd.randint(0, 9000)
        fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o640)
        os.write(fd, b"x" * n)
        st = os.fstat(fd)
        chk(p + " size after write", st.st_size, n)
        os.close(fd)
        st = os.stat(p)
        chk(p + " size after close", st.st_size, n)
        chk(p + " mode", stat.S_IMODE(st.st_mode), 0o640)
        chk(p + " nlink", st.st_nlink, 1)
        # chmod / chown
        m = rnd.choice([0o600, 0o644, 0o755, 0o4755, 0o2775, 0o400])
        os.chmod(p, m)
        chk(p + " mode after chmod", stat.S_IMODE(os.stat(p).st_mode), m)
        os.chown(p, 1000 + w, 2000 + r % 3)
        st = os.stat(p)
        chk(p + " uid", (st.st_uid, st.st_gid), (1000 + w, 2000 + r % 3))
        # hard link: nlink 2, unlink one name: 1
        os.link(p, q)
        chk(p + " nlink after link", os.stat(p).st_nlink, 2)
        os.unlink(q)
        chk(p + " nlink after unlink of link", os.stat(p).st_nlink, 1)
        # truncate / utimensat
        t = rnd.randint(0, n + 5000)
        os.truncate(p, t)
        chk(p + " size after truncate", os.stat(p).st_size, t)
        os.utime(p, ns=(1000000000 + r, 2000000000 + w))
        st = os.stat(p)
        chk(p + " times", (st.st_atime_ns, st.st_mtime_ns),
            (1000000000 + r, 2000000000 + w))
        # write after utime, check size + mtime moved
        fd = os.open(p, os.O_RDWR)
        os.pwrite(fd, b"y" * 100, t)
        st = os.fstat(fd)
        chk(p + " size after pwrite", st.st_size, t + 100)
        if st.st_mtime_ns == 2000000000 + w:
            errs.append(p + " mtime not moved by write")
        os.close(fd)
        chk(p + " size after close 2", os.stat(p).st_size, t + 100)
        # open-unlinked
        fd = os.open(p, os.O_RDWR)
        os.unlink(p + "") if False else None
        os.link(p, q)
        os.unlink(p)
        chk(q + " nlink after rename-by-link", os.stat(q).st_nlink, 1)
        os.unlink(q)
        st = os.fstat(fd)
        chk(p + " nlink open-unlinked", st.st_nlink, 0)
        os.pwrite(fd, b"z" * 10, 50000)
        chk(p + " size open-unlinked", os.fstat(fd).st_size, 50010)
        os.fchmod(fd, 0o600)
        chk(p + " mode open-unlinked", stat.S_IMODE(os.fstat(fd).st_mode), 0o600)
        os.utime(fd, ns=(5, 7))
        st = os.fstat(fd)
        chk(p + " times open-unlinked", (st.st_atime_ns, st.st_mtime_ns), (5, 7))
        os.close(fd)
        # rename over another private file
        a, b = p + ".a", p + ".b"
        for x, sz in ((a, 11), (b, 22)):
            with open(x, "wb") as f:
                f.write(b"q" * sz)
        os.rename(a, b)
        chk(b + " size after rename over", os.stat(b).st_size, 11)
        os.unlink(b)
        # subdir
        sd = p + ".d"
        os.mkdir(sd)
        chk(sd + " nlink", os.stat(sd).st_nlink, 2)
        os.mkdir(sd + "/s")
        chk(sd + " nlink 2", os.stat(sd).st_nlink, 3)
        open(sd + "/f", "w").close()
        st = os.stat(sd)
        os.rmdir(sd + "/s")
        chk(sd + " nlink after rmdir", os.stat(sd).st_nlink, 2)
        os.unlink(sd + "/f")
        os.rmdir(sd)
        try:
            os.stat(sd)
            errs.append(sd + " still there")
        except FileNotFoundError:
            pass

def stater(stop):
    while not os.path.exists(stop):
        try:
            os.stat(d)
            for e in os.listdir(d)[:20]:
                try:
                    os.stat(os.path.join(d, e))
                except OSError:
                    pass
        except OSError:
            pass

stop = d + ".stop"
pids = []
sp = os.fork() if os.environ.get("AC_STATER", "1") == "1" else -1
if sp == 0:
    stater(stop)
    os._exit(0)
for w in range(W):
    pid = os.fork()
    if pid == 0:
        try:
            worker(w)
        except Exception as e:
            errs.append("worker %d: %r" % (w, e))
        for e in errs[:20]:
            print("FAIL:", e)
        os._exit(1 if errs else 0)
    pids.append(pid)
bad = 0
for pid in pids:
    _, s = os.waitpid(pid, 0)
    bad |= s != 0
open(stop, "w").close()
if sp > 0:
    os.waitpid(sp, 0)
os.unlink(stop)
# directory: nlink 2 + subdirs (none left), empty
st = os.stat(d)
if st.st_nlink != 2 or os.listdir(d):
    print("FAIL: dir nlink %d entries %r" % (st.st_nlink, os.listdir(d)[:5]))
    bad = 1
sys.exit(1 if bad else 0)
