#!/usr/bin/env python3
"""reader_before_writer.py - a reader opened before a writer, on one file
renamed over, for tests/integration/test_fsextras.sh (Python 3 stdlib only).

  reader_before_writer.py DIR

DIR holds f.bin and other.bin. Opens f.bin for reading and reads a page,
then opens it for writing, writes 50000 bytes "A" at 0, renames other.bin
over f.bin, writes 30000 bytes "B" at 60 KiB, closes the writer and reads
through the first handle. Prints "LENGTH A-OK B-OK" (as on a local disk:
"91440 True True").
"""
import os, sys
d = sys.argv[1]
r = os.open(d + "/f.bin", os.O_RDONLY)
os.pread(r, 4096, 0)                    # the stored bytes, cached
w = os.open(d + "/f.bin", os.O_WRONLY)  # a writer comes after the reader
os.pwrite(w, b"A" * 50000, 0)
os.rename(d + "/other.bin", d + "/f.bin")  # the name goes before r reads again
os.pwrite(w, b"B" * 30000, 60 * 1024)     # grows the unnamed file
os.close(w)
got = os.pread(r, 200000, 0)
os.close(r)
print("%d %s %s" % (len(got), got[:50000] == b"A" * 50000, got[60 * 1024:] == b"B" * 30000))
