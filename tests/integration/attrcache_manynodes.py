#!/usr/bin/env python3
"""More live nodes than the cache's 256 slots: 4 processes x 500 files in
one directory, random chmod/truncate/link/unlink on their own files with
a stat check after each (slot collisions, busy slots, evictions).
Usage: manynodes.py DIR ROUNDS"""
import os, sys, random, stat
d, R = sys.argv[1], int(sys.argv[2])
def run(w):
    rnd = random.Random(w); bad = 0
    names = [os.path.join(d, "m%d-%d" % (w, i)) for i in range(500)]
    fds = []
    for n in names:
        with open(n, "wb") as f: f.write(b"a" * 10)
    mode = {n: 0o644 for n in names}; size = {n: 10 for n in names}; links = {n: 1 for n in names}
    for r in range(R):
        n = rnd.choice(names); op = rnd.randrange(4)
        if op == 0:
            m = rnd.choice([0o600, 0o640, 0o755, 0o444]); os.chmod(n, m); mode[n] = m
        elif op == 1:
            s = rnd.randrange(100000); os.truncate(n, s); size[n] = s
        elif op == 2 and links[n] == 1:
            os.link(n, n + ".h"); links[n] = 2
        elif op == 3 and links[n] == 2:
            os.unlink(n + ".h"); links[n] = 1
        for x in (n, rnd.choice(names)):
            st = os.stat(x)
            got = (stat.S_IMODE(st.st_mode), st.st_size, st.st_nlink)
            exp = (mode[x], size[x], links[x])
            if got != exp:
                bad += 1
                if bad < 10: print("FAIL", x, "got", got, "expected", exp)
    return bad
pids = []
for w in range(4):
    pid = os.fork()
    if pid == 0: os._exit(1 if run(w) else 0)
    pids.append(pid)
rc = 0
for p in pids: rc |= os.waitpid(p, 0)[1]
sys.exit(1 if rc else 0)
