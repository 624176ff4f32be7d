#!/usr/bin/env python3
"""fsmodel.py - seeded random file operations checked against a model of
POSIX semantics (Python 3 stdlib only), for tests/integration/test_model.sh.

  fsmodel.py --seed N --mount M [--steps S] [--part-size BYTES]
             [--max-seconds T] [--dir NAME] [--state FILE] [--names-closed]
        runs S (default 300) random steps in M/NAME (default fsmodel-N; it
        must not exist or be empty) over a few paths with up to 3 handles
        at once: open (O_CREAT, O_EXCL, O_TRUNC; O_RDONLY, O_WRONLY,
        O_RDWR), write, pwrite (also beyond EOF: a hole of zeros), pread,
        ftruncate, truncate, fstat, stat, close, reopen, unlink (also of a
        file still open: the handle keeps working), rename (also of a file
        still open, and right after its close). The model says what every
        call must return (errno, bytes read, size); after every close the
        closed file (if it still has a name) is read back whole through a
        new descriptor and compared. At the end every handle is closed and
        the expected tree is written to FILE (JSON) for --check.
        --names-closed: unlink and rename only names no handle has open
        (the other sequences, where a filesystem refuses those with EBUSY).
        --unnamed-fstat-estale: fstat of a handle whose file has no name
        left (unlinked, renamed over) may fail with ESTALE, as on a FUSE
        file system built on libfuse's high-level API; reads and writes of
        it must still work.
  fsmodel.py --check FILE --mount M
        compares M/NAME with the tree FILE holds (names, sizes, sha256):
        e.g. after a remount on a new cache.

On the first mismatch it stops and prints the seed, the step, what was
expected and what happened, the steps before it, and the command that
reproduces it. Exit status: 0 all as the model says, 1 a mismatch, 2 a
usage or setup error. A run stops early (not a failure) after T seconds
(default 120): the steps done are checked as usual.
"""
import argparse
import errno
import hashlib
import json
import os
import random
import sys
import time

NAMES = ["a.bin", "b.bin", "c.bin", "d.bin"]
MAX_HANDLES = 3
MAX_IO = 96 * 1024
HISTORY = 40


class Mismatch(Exception):
    pass


class Inode:
    def __init__(self):
        self.data = bytearray()


class Handle:
    def __init__(self, fd, inode, readable, writable, label):
        self.fd = fd
        self.inode = inode
        self.readable = readable
        self.writable = writable
        self.pos = 0
        self.label = label


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else "success"


def flag_names(fl):
    acc = {os.O_RDONLY: "O_RDONLY", os.O_WRONLY: "O_WRONLY", os.O_RDWR: "O_RDWR"}[fl & 3]
    out = [acc]
    for bit, name in ((os.O_CREAT, "O_CREAT"), (os.O_EXCL, "O_EXCL"), (os.O_TRUNC, "O_TRUNC")):
        if fl & bit:
            out.append(name)
    return "|".join(out)


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.root = os.path.join(args.mount, args.dir)
        self.names = {}          # name -> Inode
        self.handles = []        # open Handles
        self.step = 0
        self.history = []
        self.nlabel = 0

    # -- reporting ---------------------------------------------------------
    def note(self, text):
        self.history.append("step %d: %s" % (self.step, text))
        if len(self.history) > HISTORY:
            del self.history[0]

    def fail(self, what):
        raise Mismatch(what)

    def path(self, name):
        return os.path.join(self.root, name)

    def call(self, desc, want_err, fn, *a):
        """Runs fn(*a); the outcome must be want_err (0: success)."""
        self.note(desc)
        try:
            res = fn(*a)
            got = 0
        except OSError as e:
            res, got = None, e.errno
        if got != want_err:
            self.fail("%s: expected %s, got %s" % (desc, errname(want_err), errname(got)))
        return res

    # -- the model's view of the names ----------------------------------------
    def hname(self, h):
        for n, ino in self.names.items():
            if ino is h.inode:
                return n
        return None

    def open_on(self, ino):
        return [h for h in self.handles if h.inode is ino]

    def verify_name(self, name, why):
        """Reads name back whole through a new descriptor: bytes and size."""
        want = bytes(self.names[name].data)
        p = self.path(name)
        self.note("verify %s (%s): %d bytes expected" % (name, why, len(want)))
        try:
            st = os.stat(p)
            fd = os.open(p, os.O_RDONLY)
            try:
                chunks = []
                while True:
                    b = os.read(fd, 1 << 20)
                    if not b:
                        break
                    chunks.append(b)
            finally:
                os.close(fd)
        except OSError as e:
            self.fail("verify %s (%s): %s" % (name, why, errname(e.errno)))
        got = b"".join(chunks)
        if st.st_size != len(want):
            self.fail("verify %s (%s): stat size %d, expected %d" % (name, why, st.st_size, len(want)))
        if got != want:
            self.fail("verify %s (%s): read %d bytes, expected %d%s" % (
                name, why, len(got), len(want), diff_at(got, want)))

    # -- operations ----------------------------------------------------------
    def op_open(self):
        name = self.rng.choice(NAMES)
        exists = name in self.names
        acc = self.rng.choice([os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_RDWR, os.O_WRONLY])
        fl = acc
        if acc != os.O_RDONLY:
            r = self.rng.random()
            if r < 0.45:
                fl |= os.O_CREAT | os.O_EXCL       # createNewFile
            elif r < 0.7:
                fl |= os.O_CREAT | os.O_TRUNC      # FileOutputStream
            elif r < 0.8:
                fl |= os.O_CREAT
            elif r < 0.9:
                fl |= os.O_TRUNC                   # reopen, truncating
        if fl & os.O_EXCL and exists:
            want = errno.EEXIST
        elif not exists and not fl & os.O_CREAT:
            want = errno.ENOENT
        else:
            want = 0
        self.nlabel += 1
        label = "h%d" % self.nlabel
        fd = self.call("%s = open(%s, %s)" % (label, name, flag_names(fl)), want,
                       os.open, self.path(name), fl, 0o644)
        if want:
            return
        if not exists:
            self.names[name] = Inode()
        ino = self.names[name]
        if fl & os.O_TRUNC:
            del ino.data[:]
        self.handles.append(Handle(fd, ino, acc != os.O_WRONLY, acc != os.O_RDONLY, label))

    def pick(self, writable=None, readable=None):
        hs = [h for h in self.handles
              if (writable is None or h.writable == writable) and (readable is None or h.readable == readable)]
        return self.rng.choice(hs) if hs else None

    def data(self, n):
        return self.rng.randbytes(n)

    def io_size(self):
        r = self.rng.random()
        if r < 0.3:
            return self.rng.randint(1, 512)
        if r < 0.9:
            return self.rng.randint(1, MAX_IO)
        return self.rng.randint(MAX_IO, 4 * MAX_IO)

    def model_write(self, h, off, b):
        d = h.inode.data
        if off > len(d):
            d.extend(bytes(off - len(d)))
        d[off:off + len(b)] = b

    def op_write(self):
        h = self.pick(writable=True)
        if not h:
            return self.op_open()
        b = self.data(self.io_size())
        n = self.call("write(%s [%s] at pos %d, %d bytes)" % (h.label, self.hname(h), h.pos, len(b)), 0,
                      write_all, h.fd, b)
        if n != len(b):
            self.fail("write(%s): wrote %d of %d bytes" % (h.label, n, len(b)))
        self.model_write(h, h.pos, b)
        h.pos += len(b)

    def op_pwrite(self):
        h = self.pick(writable=True)
        if not h:
            return self.op_open()
        size = len(h.inode.data)
        r = self.rng.random()
        if r < 0.1:
            # around the first part boundary: a file of two parts
            off = self.args.part_size + self.rng.randint(-MAX_IO, MAX_IO)
        elif r < 0.4:
            off = size + self.rng.randint(1, 256 * 1024)     # beyond EOF: a hole
        else:
            off = self.rng.randint(0, size)
        b = self.data(self.io_size())
        n = self.call("pwrite(%s [%s], %d bytes at %d; size %d)" % (h.label, self.hname(h), len(b), off, size),
                      0, pwrite_all, h.fd, b, off)
        if n != len(b):
            self.fail("pwrite(%s): wrote %d of %d bytes" % (h.label, n, len(b)))
        self.model_write(h, off, b)

    def op_pread(self):
        h = self.pick(readable=True)
        if not h:
            return self.op_open()
        d = h.inode.data
        off = self.rng.randint(0, len(d) + 100)
        n = self.io_size()
        got = self.call("pread(%s [%s], %d bytes at %d; size %d)" % (h.label, self.hname(h), n, off, len(d)),
                        0, os.pread, h.fd, n, off)
        want = bytes(d[off:off + n])
        if got != want:
            self.fail("pread(%s, %d at %d): got %d bytes, expected %d%s" % (
                h.label, n, off, len(got), len(want), diff_at(got, want)))

    def op_ftruncate(self):
        h = self.pick(writable=True)
        if not h:
            return self.op_open()
        ln = self.new_length(len(h.inode.data))
        self.call("ftruncate(%s [%s], %d; size %d)" % (h.label, self.hname(h), ln, len(h.inode.data)), 0,
                  os.ftruncate, h.fd, ln)
        resize(h.inode.data, ln)

    def new_length(self, size):
        r = self.rng.random()
        if r < 0.3:
            return 0
        if r < 0.6:
            return self.rng.randint(0, size)
        return size + self.rng.randint(1, 200 * 1024)

    def op_truncate(self):
        name = self.rng.choice(NAMES)
        ino = self.names.get(name)
        ln = self.new_length(len(ino.data) if ino else 0)
        self.call("truncate(%s, %d)" % (name, ln), 0 if ino else errno.ENOENT, os.truncate, self.path(name), ln)
        if ino:
            resize(ino.data, ln)

    def op_fstat(self):
        h = self.pick()
        if not h:
            return self.op_open()
        desc = "fstat(%s [%s])" % (h.label, self.hname(h))
        if self.hname(h) is None and self.args.unnamed_fstat_estale:
            # FUSE's high-level API: the kernel's fstat carries no file
            # handle, and a file whose name is gone has no path to ask by.
            self.note(desc)
            try:
                st = os.fstat(h.fd)
            except OSError as e:
                if e.errno != errno.ESTALE:
                    self.fail("%s: expected success or ESTALE, got %s" % (desc, errname(e.errno)))
                return
        else:
            st = self.call(desc, 0, os.fstat, h.fd)
        if st.st_size != len(h.inode.data):
            self.fail("fstat(%s): size %d, expected %d" % (h.label, st.st_size, len(h.inode.data)))

    def op_stat(self):
        name = self.rng.choice(NAMES)
        ino = self.names.get(name)
        st = self.call("stat(%s)" % name, 0 if ino else errno.ENOENT, os.stat, self.path(name))
        if ino and st.st_size != len(ino.data):
            self.fail("stat(%s): size %d, expected %d" % (name, st.st_size, len(ino.data)))

    def close(self, h):
        name = self.hname(h)
        self.call("close(%s [%s])" % (h.label, name), 0, os.close, h.fd)
        self.handles.remove(h)
        if name is not None:
            self.verify_name(name, "after close(%s)" % h.label)
        return name

    def op_close(self):
        h = self.pick()
        if not h:
            return self.op_open()
        self.close(h)

    def closed_name(self, name):
        """name, or with --names-closed a name no handle has open (or None)."""
        if not self.args.names_closed:
            return name or self.rng.choice(NAMES)
        ok = [n for n in NAMES if n not in self.names or not self.open_on(self.names[n])]
        if name is not None:
            return name if name in ok else None
        return self.rng.choice(ok) if ok else None

    def op_unlink(self, name=None):
        name = self.closed_name(name)
        if name is None:
            return self.op_stat()
        ino = self.names.get(name)
        extra = ""
        if ino and self.open_on(ino):
            extra = " (open in %s)" % ",".join(h.label for h in self.open_on(ino))
        self.call("unlink(%s)%s" % (name, extra), 0 if ino else errno.ENOENT, os.unlink, self.path(name))
        if ino:
            del self.names[name]
            self.call("stat(%s) after unlink" % name, errno.ENOENT, os.stat, self.path(name))

    def op_rename(self, src=None):
        src = self.closed_name(src)
        dsts = [n for n in NAMES if n != src and (not self.args.names_closed or self.closed_name(n))]
        if src is None or not dsts:
            return self.op_stat()
        dst = self.rng.choice(dsts)
        ino = self.names.get(src)
        extra = ""
        if ino and self.open_on(ino):
            extra = " (open in %s)" % ",".join(h.label for h in self.open_on(ino))
        if dst in self.names and self.open_on(self.names[dst]):
            extra += " (target open in %s)" % ",".join(h.label for h in self.open_on(self.names[dst]))
        self.call("rename(%s, %s)%s" % (src, dst, extra), 0 if ino else errno.ENOENT,
                  os.rename, self.path(src), self.path(dst))
        if not ino:
            return
        self.names[dst] = ino
        del self.names[src]
        self.call("stat(%s) after rename" % src, errno.ENOENT, os.stat, self.path(src))
        if not self.open_on(ino):
            self.verify_name(dst, "after rename")

    def op_close_then(self):
        """close() and at once rename or unlink the name (rsync, editors)."""
        h = self.pick(writable=True)
        if not h:
            return self.op_open()
        name = self.close(h)
        if name is None:
            return
        if self.rng.random() < 0.7:
            self.op_rename(name)
        else:
            self.op_unlink(name)

    # -- driver --------------------------------------------------------------
    def one_step(self):
        if not self.handles:
            return self.op_open()
        ops = [
            (self.op_open, 14 if len(self.handles) < MAX_HANDLES else 0),
            (self.op_write, 22), (self.op_pwrite, 10), (self.op_pread, 6),
            (self.op_ftruncate, 4), (self.op_truncate, 3), (self.op_fstat, 4),
            (self.op_stat, 4), (self.op_close, 14), (self.op_close_then, 6),
            (self.op_unlink, 4), (self.op_rename, 5),
        ]
        fns, weights = zip(*ops)
        self.rng.choices(fns, weights)[0]()

    def run(self):
        if os.path.isdir(self.root) and os.listdir(self.root):
            print("fsmodel: %s is not empty; remove it or choose another --dir" % self.root, file=sys.stderr)
            return 2
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as e:
            print("fsmodel: mkdir %s: %s" % (self.root, e), file=sys.stderr)
            return 2
        deadline = time.monotonic() + self.args.max_seconds
        stopped = ""
        try:
            for self.step in range(1, self.args.steps + 1):
                if time.monotonic() > deadline:
                    stopped = " (stopped after %d s)" % self.args.max_seconds
                    break
                self.one_step()
            self.step += 1
            while self.handles:
                self.close(self.handles[0])
            listed = sorted(os.listdir(self.root))
            if listed != sorted(self.names):
                self.fail("listing of %s: %s, expected %s" % (self.args.dir, listed, sorted(self.names)))
            for name in sorted(self.names):
                self.verify_name(name, "at the end")
        except Mismatch as m:
            self.report(str(m))
            return 1
        state = {"seed": self.args.seed, "dir": self.args.dir,
                 "files": {n: [len(i.data), hashlib.sha256(i.data).hexdigest()] for n, i in self.names.items()}}
        if self.args.state:
            with open(self.args.state, "w") as f:
                json.dump(state, f)
        print("fsmodel: seed %d: %d steps as the model says%s; %d files: %s" % (
            self.args.seed, self.step - 1, stopped, len(self.names),
            " ".join("%s=%d" % (n, len(i.data)) for n, i in sorted(self.names.items()))))
        return 0

    def report(self, what):
        a = self.args
        print("FAIL seed %d step %d: %s" % (a.seed, self.step, what))
        print("  steps before it (the last %d):" % len(self.history))
        for h in self.history:
            print("    " + h)
        print("  reproduce (on an empty directory of a mount with the same options):")
        print("    python3 tests/tools/fsmodel.py --seed %d --mount %s --steps %d --part-size %d --dir %s-again%s" % (
            a.seed, a.mount, a.steps, a.part_size, a.dir, " --names-closed" if a.names_closed else ""))


def write_all(fd, b):
    n = 0
    while n < len(b):
        n += os.write(fd, b[n:])
    return n


def pwrite_all(fd, b, off):
    n = 0
    while n < len(b):
        n += os.pwrite(fd, b[n:], off + n)
    return n


def resize(d, ln):
    if ln < len(d):
        del d[ln:]
    else:
        d.extend(bytes(ln - len(d)))


def diff_at(got, want):
    for i, (x, y) in enumerate(zip(got, want)):
        if x != y:
            return "; first difference at byte %d" % i
    if len(got) != len(want):
        return "; equal up to byte %d" % min(len(got), len(want))
    return ""


def check(args):
    with open(args.check) as f:
        state = json.load(f)
    root = os.path.join(args.mount, state["dir"])
    bad = []
    try:
        listed = sorted(os.listdir(root))
    except OSError as e:
        listed = "error %s" % errname(e.errno)
    if listed != sorted(state["files"]):
        bad.append("listing: %s, expected %s" % (listed, sorted(state["files"])))
    for name, (size, digest) in sorted(state["files"].items()):
        try:
            with open(os.path.join(root, name), "rb") as f:
                b = f.read()
        except OSError as e:
            bad.append("%s: %s" % (name, errname(e.errno)))
            continue
        if len(b) != size or hashlib.sha256(b).hexdigest() != digest:
            bad.append("%s: %d bytes (sha256 %s), expected %d (sha256 %s)" % (
                name, len(b), hashlib.sha256(b).hexdigest()[:16], size, digest[:16]))
    if bad:
        print("FAIL seed %d after the remount, in %s:" % (state["seed"], state["dir"]))
        for b in bad:
            print("    " + b)
        print("  reproduce: run python3 tests/tools/fsmodel.py --seed %d --mount MNT --state FILE, "
              "remount on a new cache_dir, then python3 tests/tools/fsmodel.py --check FILE --mount MNT"
              % state["seed"])
        return 1
    print("fsmodel: seed %d: %d files as the model says after the remount" % (state["seed"], len(state["files"])))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mount", required=True)
    p.add_argument("--seed", type=int)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--part-size", type=int, default=5 * 1024 * 1024)
    p.add_argument("--max-seconds", type=int, default=120)
    p.add_argument("--dir")
    p.add_argument("--state")
    p.add_argument("--check")
    p.add_argument("--names-closed", action="store_true")
    p.add_argument("--unnamed-fstat-estale", action="store_true",
                   help="fstat of a file whose name is gone may fail with ESTALE")
    args = p.parse_args()
    if args.check:
        return check(args)
    if args.seed is None or args.steps < 1 or args.steps > 100000 or args.max_seconds < 1:
        p.error("--seed is required; --steps 1..100000; --max-seconds >= 1")
    args.dir = args.dir or "fsmodel-%d%s" % (args.seed, "-closed" if args.names_closed else "")
    return Run(args).run()


if __name__ == "__main__":
    sys.exit(main())
