#!/usr/bin/env python3
"""errno_of.py - the errno name a file system call fails with, for
tests/integration/test_fsextras.sh (Python 3 stdlib only).

  errno_of.py PYTHON-EXPR

Evaluates PYTHON-EXPR (os.* calls, or renameat2(a, b, flags) and
fallocate(path) through libc) and prints OK or the errno name, e.g.
EOPNOTSUPP.
"""
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def renameat2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def fallocate(path):
    fd = os.open(path, os.O_WRONLY)
    try:
        if libc.fallocate(fd, 0, ctypes.c_long(0), ctypes.c_long(4096)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)
try:
    eval(sys.argv[1])
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
