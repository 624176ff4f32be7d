#!/usr/bin/env python3
"""gen_tree.py - a seeded source tree for the tool tests, for
tests/integration/test_tools.sh (Python 3 stdlib only).

  gen_tree.py ROOT COUNT

Writes COUNT files of 1-4 KiB as ROOT/tree/dN/sM/f#####.dat over 10
directories of 2 levels, a few names with a space or non-ASCII letters.
"""
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(2000)
for i in range(n):
    d = os.path.join(root, "tree", "d%d" % (i % 5), "s%d" % (i % 2))
    os.makedirs(d, exist_ok=True)
    name = "f%05d.dat" % i
    if i % 500 == 7:
        name = "with space %d.txt" % i
    elif i % 500 == 8:
        name = "\u00fcml\u00e4ut %d.txt" % i
    with open(os.path.join(d, name), "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 4096)))
