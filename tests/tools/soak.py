#!/usr/bin/env python3
"""soak.py - a long run of small documents written and read back through a
mount, with the daemon's RSS, open descriptors and threads sampled.

Writers make files the way the content store does (os.makedirs of
Y/M/D/H/m, then <uuid>.bin created exclusively), about 23 to a minute
directory; readers read back files already closed and compare every byte.
A file's path and bytes follow from its index and the seed, so nothing is
kept per file and any file can be checked at any time.

  soak.py --mount M --pid PID --seconds S --files N [--seed X]
          [--writers W] [--readers R] [--sample SECONDS] [--json OUT]

Prints a table of samples and a summary line; exits 1 on any error (a
write, a read, different bytes). Whether the figures are flat is for the
caller (tests/soak/check-soak.sh) to judge from --json.
"""
import argparse
import hashlib
import json
import os
import random
import threading
import time
import uuid

PER_DIR = 23  # files to a minute directory, as measured on a busy store
READS_PER_FILE = 2  # reads of files already written, per file written


def name_of(seed, i):
    """The path (relative to the mount) of file i."""
    minute = i // PER_DIR
    day, rest = divmod(minute, 24 * 60)
    hour, mi = divmod(rest, 60)
    # Days walk through 2027: month 1..12, day 1..28.
    month, dom = divmod(day % (12 * 28), 28)
    h = hashlib.sha256(f"{seed}:{i}".encode()).digest()
    u = uuid.UUID(bytes=h[:16], version=4)
    return f"2027/{month + 1}/{dom + 1}/{hour}/{mi}/{u}.bin"


def bytes_of(seed, i):
    """The content of file i: 1 to 16 KiB, from the seed."""
    h = hashlib.sha256(f"{seed}:{i}:data".encode()).digest()
    size = 1024 + int.from_bytes(h[:4], "big") % (15 * 1024 + 1)
    return (h * (size // len(h) + 1))[:size]


class Soak:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.more = threading.Condition(self.lock)  # a file was closed
        self.next = 0  # the next index to write
        self.done = []  # indices closed, in the order they closed
        self.written = self.read = self.bytes = 0
        self.errors = []
        self.stop = threading.Event()

    def error(self, what):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(what)
        self.stop.set()

    def writer(self):
        a = self.a
        while not self.stop.is_set():
            with self.lock:
                if self.next >= a.files:
                    return
                i = self.next
                self.next += 1
            rel = name_of(a.seed, i)
            path = os.path.join(a.mount, rel)
            data = bytes_of(a.seed, i)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            except OSError as e:
                self.error(f"write {rel}: {e}")
                return
            with self.lock:
                self.done.append(i)
                self.written += 1
                self.bytes += len(data)
                self.more.notify_all()

    def reader(self, rng):
        a = self.a
        while not self.stop.is_set():
            with self.lock:
                # At most READS_PER_FILE reads per file written: the
                # readers keep pace with the writers, not ahead of them.
                if self.read >= READS_PER_FILE * self.written:
                    self.more.wait(1)
                    continue
                self.read += 1
                i = self.done[rng.randrange(len(self.done))]
            rel = name_of(a.seed, i)
            try:
                with open(os.path.join(a.mount, rel), "rb") as f:
                    got = f.read()
            except OSError as e:
                self.error(f"read {rel}: {e}")
                return
            if got != bytes_of(a.seed, i):
                self.error(f"read {rel}: {len(got)} bytes, not the ones written")
                return


def sample(pid, mount):
    """RSS (KiB), threads, open descriptors of the daemon; cache bytes."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    stats = {}
    try:
        with open(os.path.join(mount, ".s3csfs/stats")) as f:
            for line in f:
                p = line.split()
                if len(p) == 2 and p[1].lstrip("-").isdigit():
                    stats[p[0]] = int(p[1])
    except OSError:
        pass
    return rss, threads, fds, stats


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mount", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--files", type=int, required=True)
    p.add_argument("--seed", default="soak")
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--sample", type=float, default=10)
    p.add_argument("--json")
    a = p.parse_args()

    s = Soak(a)
    rng = random.Random(a.seed)
    threads = [threading.Thread(target=s.writer) for _ in range(a.writers)]
    threads += [
        threading.Thread(target=s.reader, args=(random.Random(rng.random()),))
        for _ in range(a.readers)
    ]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    samples = []
    print("| min | files written | files read | RSS MiB | threads | fds | cache MiB | nodes evicted | uploads pending |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    while True:
        left = a.seconds - (time.monotonic() - t0)
        writing = any(t.is_alive() for t in threads[: a.writers])
        if left <= 0 or not writing or s.stop.is_set():
            break
        s.stop.wait(min(a.sample, left))
        try:
            rss, nthr, fds, st = sample(a.pid, a.mount)
        except OSError as e:
            s.error(f"the daemon (pid {a.pid}) is gone: {e}")
            break
        with s.lock:
            row = {
                "t": round(time.monotonic() - t0, 1),
                "written": s.written,
                "read": s.read,
                "rss_kib": rss,
                "threads": nthr,
                "fds": fds,
                "cache_bytes": st.get("cache_bytes", -1),
                "nodes_evicted": st.get("nodes_evicted", -1),
                "uploads_pending": st.get("uploads_pending", -1),
            }
        samples.append(row)
        print(
            f"| {row['t'] / 60:.1f} | {row['written']} | {row['read']} | {rss / 1024:.1f} "
            f"| {nthr} | {fds} | {row['cache_bytes'] / 1048576:.1f} | {row['nodes_evicted']} "
            f"| {row['uploads_pending']} |",
            flush=True,
        )
    s.stop.set()
    with s.lock:
        s.more.notify_all()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - t0
    out = {
        "seconds": round(elapsed, 1),
        "written": s.written,
        "read": s.read,
        "mib_written": round(s.bytes / 1048576, 1),
        "errors": s.errors,
        "hung": sum(t.is_alive() for t in threads),
        "samples": samples,
    }
    print(
        f"soak: {s.written} files written ({s.bytes / 1048576:.0f} MiB), {s.read} read and "
        f"compared, in {elapsed:.0f} s ({s.written / elapsed:.0f} files/s); "
        f"{len(s.errors)} errors"
    )
    for e in s.errors:
        print(f"soak: {e}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f)
    return 1 if s.errors or out["hung"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
