#!/usr/bin/env python3
"""put_report.py - checks the requests that stored each item of a client
test, for tests/integration/lib_clients.sh put_report (Python 3 stdlib only).

  put_report.py ITEMS OPS PART PREFIX

ITEMS: the client's "item ... PATH SIZE ..." lines; OPS: per key, the
counts "KEY PutObject CreateMultipartUpload CompleteMultipartUpload
CopyObject" (ops_per_key). A file of at most PART bytes must cost exactly
one PutObject and no multipart upload, a larger one no PutObject and
exactly one CompleteMultipartUpload. Prints "SMALL PUTS_ON_SMALL BAD_SMALL
BIG BAD_BIG" and, on stderr, up to 3 offending items of each kind.
"""
import sys
items, opsf, part, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ops = {}
for line in open(opsf):
    f = line.split()
    ops[f[0]] = [int(x) for x in f[1:]]
small = puts = badsmall = big = badbig = 0
for line in open(items):
    f = line.split()
    if len(f) != 5 or f[0] != "item":
        continue
    key, size = prefix + f[2], int(f[3])
    put, create, complete, copy = ops.get(key, [0, 0, 0, 0])
    if size <= part:
        small += 1
        puts += put
        wrong = put != 1 or create != 0
        badsmall += wrong
    else:
        big += 1
        wrong = put != 0 or complete != 1
        badbig += wrong
    if wrong and (badsmall if size <= part else badbig) <= 3:
        print("#   %s (%d bytes): PutObject %d, CreateMultipartUpload %d, "
              "CompleteMultipartUpload %d" % (key, size, put, create, complete), file=sys.stderr)
print(small, puts, badsmall, big, badbig)
