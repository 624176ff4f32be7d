#!/usr/bin/env python3
"""gen_store.py - a seeded Alfresco content store, for
tests/integration/test_migrate.sh (Python 3 stdlib only).

  gen_store.py DIR COUNT SEED YEAR

Writes COUNT files in DIR as YEAR/M/D/H/m/<uuid>.bin: every 97th file
empty, four files multipart-sized (part_size 5M), the rest 1 byte to
30 KiB; the same for the same SEED.
"""
import os, random, sys, uuid
root, n, seed, year = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
big = {n // 5: 5 * 2**20 + 1, n // 3: 11 * 2**20 + 7, n // 2: 10 * 2**20, (2 * n) // 3: 6 * 2**20}
for i in range(n):
    d = os.path.join(root, str(year), str(rnd.randint(1, 12)), str(rnd.randint(1, 28)),
                     str(rnd.randint(0, 23)), str(rnd.randint(0, 59)))
    os.makedirs(d, exist_ok=True)
    size = big.get(i, 0 if i % 97 == 0 else rnd.randint(1, 30 * 1024))
    with open(os.path.join(d, "%s.bin" % uuid.UUID(int=rnd.getrandbits(128), version=4)), "wb") as f:
        f.write(rnd.getrandbits(8 * size).to_bytes(size, "little") if size else b"")
