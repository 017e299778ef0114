#!/usr/bin/env python3
"""Requests interrupted by signals (FUSE_INTERRUPT): 4 processes under a
100 us interval timer (handler installed, so syscalls see EINTR or
restart) write, fsync, stat, read back and unlink files; every result
must be right and nothing may hang. Usage: interrupts.py DIR SECONDS"""
import os, sys, signal, time, errno
d, secs = sys.argv[1], float(sys.argv[2])
def run(w):
    signal.signal(signal.SIGALRM, lambda *a: None)
    signal.siginterrupt(signal.SIGALRM, True)
    signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)
    end = time.time() + secs
    i = bad = n = 0
    while time.time() < end:
        p = os.path.join(d, "i%d-%d" % (w, i % 50)); i += 1
        data = bytes([i % 251]) * (1000 + i % 70000)
        try:
            with open(p, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            st = os.stat(p)
            if st.st_size != len(data):
                bad += 1; print("size", p, st.st_size, len(data))
            with open(p, "rb") as f:
                if f.read() != data:
                    bad += 1; print("data", p)
            os.unlink(p)
            n += 1
        except InterruptedError:
            pass
        except OSError as e:
            if e.errno != errno.EINTR:
                print("error", p, e); bad += 1
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
    print("worker %d: %d rounds, %d bad" % (w, n, bad))
    return bad
pids = []
for w in range(4):
    pid = os.fork()
    if pid == 0:
        os._exit(1 if run(w) else 0)
    pids.append(pid)
rc = 0
for p in pids:
    rc |= os.waitpid(p, 0)[1]
sys.exit(1 if rc else 0)
