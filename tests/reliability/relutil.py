#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Byte-level helpers for the reliability tests (tests/reliability/*.sh).

  relutil.py off data|rec I             lower offset of extent I's data/record
  relutil.py flip FILE OFF [MASK]       XOR one byte (default mask 0x01)
  relutil.py copy SRC SOFF DST DOFF LEN copy bytes between (lower) files
  relutil.py swap FILE OFF1 OFF2 LEN    swap two ranges of one file
  relutil.py try OP ARGS...             one syscall sequence, prints OK or the
        errno name: write FILE OFF LEN (then fsync), append FILE LEN (then
        fsync), create FILE, mkdir DIR, rename OLD NEW, read FILE
  relutil.py verify FILE REF [ALT...] [--zero A:B]...
        reads FILE (through the mount) in 4 KiB blocks and classifies each:
        ok (equals REF), old (equals an ALT: an older version), zero (all
        zero, only allowed inside a --zero plaintext byte range), eio (read
        failed), forged (anything else). Prints one summary line
        "ok=N old=N zero=N eio=N forged=N size=S refsize=R openerr=E";
        exit 0 unless forged > 0 (exit 3) or a --zero block is not zero.
"""
import errno
import os
import sys

B = 4096


def data_off(i):
    return (i + 1) * B if i < 52 else (i + 5 + 4 * (i // 256)) * B


def rec_off(i):
    if i < 52:
        return 768 + 64 * i
    if i < 256:
        return 53 * B + 64 * (i - 52)
    return (1 + 260 * (i // 256)) * B + 64 * (i % 256)


def rd(path, off, n):
    with open(path, 'rb') as f:
        f.seek(off)
        b = f.read(n)
    return b + bytes(n - len(b))


def wr(path, off, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def verify(args):
    zeros = []
    rest = []
    i = 0
    while i < len(args):
        if args[i] == '--zero':
            a, b = args[i + 1].split(':')
            zeros.append((int(a), int(b)))
            i += 2
        else:
            rest.append(args[i])
            i += 1
    path, ref, alts = rest[0], rest[1], rest[2:]
    refb = open(ref, 'rb').read()
    altb = [open(a, 'rb').read() for a in alts]
    cnt = dict(ok=0, old=0, zero=0, eio=0, forged=0)
    bad_zero = 0
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        print("ok=0 old=0 zero=0 eio=0 forged=0 size=-1 refsize=%d openerr=%d"
              % (len(refb), e.errno))
        return 0
    size = os.fstat(fd).st_size
    off = 0
    forged_at = []
    while off < max(size, 1):
        try:
            blk = os.pread(fd, B, off)
        except OSError as e:
            if e.errno != errno.EIO:
                print("unexpected error %s at %d" % (e, off))
                cnt['forged'] += 1
            else:
                cnt['eio'] += 1
            off += B
            continue
        if not blk:
            break
        n = len(blk)
        in_zero = any(a <= off < b for a, b in zeros)
        if in_zero:
            if blk == bytes(n):
                cnt['zero'] += 1
            else:
                bad_zero += 1
                cnt['forged'] += 1
                forged_at.append(off)
        elif blk == refb[off:off + n]:
            cnt['ok'] += 1
        elif any(blk == a[off:off + n] for a in altb):
            cnt['old'] += 1
        else:
            cnt['forged'] += 1
            forged_at.append(off)
        off += B
    os.close(fd)
    print("ok=%d old=%d zero=%d eio=%d forged=%d size=%d refsize=%d openerr=0"
          % (cnt['ok'], cnt['old'], cnt['zero'], cnt['eio'], cnt['forged'],
             size, len(refb)))
    if forged_at:
        print("forged/unexpected blocks at offsets: %s" % forged_at[:20])
    return 3 if cnt['forged'] else 0


def try_op(a):
    op = a[0]
    try:
        if op in ('write', 'append'):
            fd = os.open(a[1], os.O_WRONLY | (os.O_APPEND | os.O_CREAT if op == 'append' else 0), 0o644)
            try:
                n = int(a[2] if op == 'append' else a[3])
                data = os.urandom(n)
                off = 0
                while off < n:
                    if op == 'append':
                        w = os.write(fd, data[off:])
                    else:
                        w = os.pwrite(fd, data[off:], int(a[2]) + off)
                    off += w
                os.fsync(fd)
            finally:
                os.close(fd)
        elif op == 'create':
            fd = os.open(a[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, b'x' * 100)
                os.fsync(fd)
            finally:
                os.close(fd)
        elif op == 'mkdir':
            os.mkdir(a[1])
        elif op == 'rename':
            os.rename(a[1], a[2])
        elif op == 'read':
            with open(a[1], 'rb') as f:
                f.read()
        else:
            print("unknown op")
            return 2
        print("OK")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
    return 0


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    c = a[0]
    if c == 'off':
        i = int(a[2])
        print(data_off(i) if a[1] == 'data' else rec_off(i))
    elif c == 'flip':
        off = int(a[2])
        mask = int(a[3], 0) if len(a) > 3 else 1
        b = rd(a[1], off, 1)
        wr(a[1], off, bytes([b[0] ^ mask]))
    elif c == 'copy':
        wr(a[3], int(a[4]), rd(a[1], int(a[2]), int(a[5])))
    elif c == 'swap':
        o1, o2, n = int(a[2]), int(a[3]), int(a[4])
        x, y = rd(a[1], o1, n), rd(a[1], o2, n)
        wr(a[1], o1, y)
        wr(a[1], o2, x)
    elif c == 'try':
        return try_op(a[1:])
    elif c == 'verify':
        return verify(a[1:])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
