#!/usr/bin/env python3
"""load_stress.py - parallel writers and readers through a mount, every
byte checked, for tests/integration/test_faults_long.sh (Python 3 stdlib
only).

  load_stress.py ROOT MANIFEST SEED START PREFILL SECONDS WRITERS READERS

Files are numbered; file i has a size in [64 KiB, 2 MiB] (log-uniform) and
bytes that are a function of (SEED, i), so any reader can check any range.
Prefill: PREFILL files by WRITERS threads. Then SECONDS of WRITERS writers
(new files) and READERS readers (random finished files, whole or ranged).
Acknowledged files go to MANIFEST; exits 1 on any write or read error or
wrong byte."""
import errno, hashlib, math, os, random, sys, threading, time, uuid

root, manifest, seed = sys.argv[1], sys.argv[2], sys.argv[3]
start, prefill, seconds = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
nwriters, nreaders = int(sys.argv[7]), int(sys.argv[8])

def size_of(i):
    r = random.Random("%s-s%d" % (seed, i))
    return int(math.exp(r.uniform(math.log(64 << 10), math.log(2 << 20))))

def data_of(i):
    return random.Random("%s-d%d" % (seed, i)).randbytes(size_of(i))

def name_of(i):
    u = uuid.UUID(int=random.Random("%s-n%d" % (seed, i)).getrandbits(128))
    return "2026/11/26/%d/%d/%s.bin" % (i // 1000, (i // 20) % 60, u)

lock = threading.Lock()
done = []            # finished file numbers (readable)
next_i = [start]
stats = {"written": 0, "write_errors": 0, "reads": 0, "ranged": 0, "read_errors": 0,
         "wrong": 0, "bytes_written": 0, "bytes_read": 0}
errors = []
man = open(manifest, "a")

def note(kind, msg):
    with lock:
        stats[kind] += 1
        if len(errors) < 20:
            errors.append(msg)

def write_one(i):
    name = name_of(i)
    data = data_of(i)
    p = os.path.join(root, name)
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view[:1 << 20])
                view = view[n:]
        finally:
            os.close(fd)
    except OSError as e:
        note("write_errors", "write %s: %s" % (name, errno.errorcode.get(e.errno, e.errno)))
        return
    with lock:
        done.append(i)
        stats["written"] += 1
        stats["bytes_written"] += len(data)
        man.write("%s %s\n" % (name, hashlib.sha256(data).hexdigest()))
        man.flush()

def writer(deadline, limit):
    while time.time() < deadline:
        with lock:
            i = next_i[0]
            if limit is not None and i >= limit:
                return
            next_i[0] += 1
        write_one(i)

def reader(deadline, rng):
    while time.time() < deadline:
        with lock:
            if not done:
                i = None
            else:
                i = rng.choice(done)
        if i is None:
            time.sleep(0.1)
            continue
        name = name_of(i)
        size = size_of(i)
        try:
            with open(os.path.join(root, name), "rb") as f:
                if rng.random() < 0.5:
                    got = f.read()
                    want = data_of(i)
                    kind = "reads"
                else:
                    off = rng.randrange(size)
                    ln = rng.randrange(1, min(size - off, 1 << 20) + 1)
                    f.seek(off)
                    got = f.read(ln)
                    want = data_of(i)[off:off + ln]
                    kind = "ranged"
        except OSError as e:
            note("read_errors", "read %s: %s" % (name, errno.errorcode.get(e.errno, e.errno)))
            continue
        with lock:
            stats[kind] += 1
            stats["bytes_read"] += len(got)
        if got != want:
            note("wrong", "WRONG BYTES %s (%d bytes, want %d)" % (name, len(got), len(want)))

# prefill
t0 = time.time()
ts = [threading.Thread(target=writer, args=(t0 + 3600, start + prefill)) for _ in range(nwriters)]
for t in ts: t.start()
for t in ts: t.join()
print("prefill: %d files, %d MiB in %.0f s" % (stats["written"], stats["bytes_written"] >> 20,
                                              time.time() - t0), flush=True)
open(manifest + ".phase", "w").write("load\n")
# the load
t1 = time.time()
deadline = t1 + seconds
ts = [threading.Thread(target=writer, args=(deadline, None)) for _ in range(nwriters)]
ts += [threading.Thread(target=reader, args=(deadline, random.Random(k))) for k in range(nreaders)]
for t in ts: t.start()
for t in ts: t.join()
el = time.time() - t1
print("load: %.0f s; %s" % (el, " ".join("%s=%d" % kv for kv in sorted(stats.items()))))
for e in errors:
    print("error: " + e)
bad = stats["write_errors"] + stats["read_errors"] + stats["wrong"]
sys.exit(1 if bad else 0)
