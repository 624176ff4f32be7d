#!/usr/bin/env python3
"""fsutil.py - bulk file work for the integration tests (stdlib only).

  fsutil.py write ROOT COUNT KIB SEED MANIFEST   write COUNT files of KIB KiB into
        date directories under ROOT (O_CREAT|O_EXCL), record "path sha256" lines
  fsutil.py verify ROOT MANIFEST                  read every file back, compare sha256
  fsutil.py excl PATH                             O_CREAT|O_EXCL open: prints the errno name or OK
  fsutil.py open PATH                             O_RDONLY open: prints the errno name or OK
  fsutil.py create PATH SRC                       O_CREAT|O_EXCL, write SRC's bytes, close:
        prints "open ERRNO", "write ERRNO", "close ERRNO" (the first failure) or OK
"""
import errno
import hashlib
import os
import random
import sys
import uuid


def write(root, count, kib, seed, manifest):
    rng = random.Random(seed)
    with open(manifest, "w") as man:
        for i in range(count):
            d = "2026/11/25/%d/%d" % (13 + i // 600, (i // 10) % 60)
            os.makedirs(os.path.join(root, d), exist_ok=True)
            name = "%s/%s.bin" % (d, uuid.UUID(int=rng.getrandbits(128)))
            data = rng.randbytes(kib * 1024)
            fd = os.open(os.path.join(root, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
            finally:
                os.close(fd)  # close() is where an upload error surfaces
            man.write("%s %s\n" % (name, hashlib.sha256(data).hexdigest()))
    return 0


def verify(root, manifest):
    bad = 0
    total = 0
    with open(manifest) as man:
        for line in man:
            name, want = line.split()
            total += 1
            try:
                with open(os.path.join(root, name), "rb") as f:
                    got = hashlib.sha256(f.read()).hexdigest()
            except OSError as e:
                got = "error:" + errno.errorcode.get(e.errno, str(e.errno))
            if got != want:
                bad += 1
                if bad <= 5:
                    print("mismatch %s: %s" % (name, got), file=sys.stderr)
    print("%d files, %d bad" % (total, bad))
    return 1 if bad else 0


def try_open(path, flags):
    try:
        os.close(os.open(path, flags, 0o644))
        print("OK")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
    return 0


def create(path, src):
    with open(src, "rb") as f:
        data = f.read()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as e:
        print("open", errno.errorcode.get(e.errno, str(e.errno)))
        return 0
    try:
        mv = memoryview(data)
        while mv:
            mv = mv[os.write(fd, mv):]
    except OSError as e:
        os.close(fd)
        print("write", errno.errorcode.get(e.errno, str(e.errno)))
        return 0
    try:
        os.close(fd)
        print("OK")
    except OSError as e:
        print("close", errno.errorcode.get(e.errno, str(e.errno)))
    return 0


def main(argv):
    if argv[1] == "write":
        return write(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6])
    if argv[1] == "verify":
        return verify(argv[2], argv[3])
    if argv[1] == "excl":
        return try_open(argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    if argv[1] == "open":
        return try_open(argv[2], os.O_RDONLY)
    if argv[1] == "create":
        return create(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
