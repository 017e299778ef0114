#!/usr/bin/env python3
"""4 writers extend ONE file (each open/pwrite/close in a loop, so RELEASE
replies leave snapshots), 2 stat-ers check st_size never goes down;
at the end size must be the maximum written. Usage: onefile.py FILE SECS"""
import os, sys, time
p, secs = sys.argv[1], float(sys.argv[2])
open(p, "wb").close()
def writer(w):
    end = time.time() + secs; off = w * 4096; top = 0
    while time.time() < end:
        fd = os.open(p, os.O_WRONLY)
        os.pwrite(fd, b"w" * 4096, off)
        top = max(top, off + 4096)
        os.close(fd)
        off += 4 * 4096
    return top
def stater():
    end = time.time() + secs; last = 0; bad = 0
    while time.time() < end:
        s = os.stat(p).st_size
        if s < last:
            bad += 1
            print("size went down %d -> %d" % (last, s))
        last = max(last, s)
    return bad
pids = []
r, wfd = os.pipe()
for w in range(4):
    pid = os.fork()
    if pid == 0:
        os.write(wfd, b"%d\n" % writer(w)); os._exit(0)
    pids.append(pid)
for s in range(2):
    pid = os.fork()
    if pid == 0:
        os._exit(1 if stater() else 0)
    pids.append(pid)
rc = 0
for pid in pids:
    rc |= os.waitpid(pid, 0)[1]
os.close(wfd)
tops = [int(x) for x in os.read(r, 1000).split()]
size = os.stat(p).st_size
print("final size %d, expected %d" % (size, max(tops)))
sys.exit(1 if rc or size != max(tops) else 0)
