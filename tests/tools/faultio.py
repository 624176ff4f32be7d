#!/usr/bin/env python3
"""faultio.py - file writes and reads through a mount that go on after an
error and record it, for tests/integration/test_faults.sh (Python 3 stdlib
only).

  faultio.py write ROOT BASE COUNT KIB SEED MANIFEST FAILLOG
        writes COUNT files of KIB KiB (bytes from SEED) under ROOT/BASE;
        each close that returned 0 goes to MANIFEST ("name sha256"), each
        failure to FAILLOG ("name stage errno seconds sha256"); prints
        "N written, M failed"
  faultio.py loop ROOT BASE KIB SEED MANIFEST FAILLOG STOPFILE PAUSE
        the same, one file every PAUSE s until STOPFILE exists (at most
        600 s); acknowledged files' times in MANIFEST.times
  faultio.py hold ROOT NAME KIB SEED MANIFEST READY GO
        writes KIB KiB to a new file and keeps it open: says so in READY,
        waits for GO (at most 300 s), closes; the outcome in MANIFEST
  faultio.py read ROOT MANIFEST
        reads every file of MANIFEST back; prints "ok err bad errnos"
        (bad: other bytes than those written)
  faultio.py stat PATH
        prints "OK|ERRNO seconds"
"""
import errno, hashlib, os, random, sys, time, uuid

def ename(e):
    return errno.errorcode.get(e, str(e))

def data_for(seed, i, kib):
    return random.Random("%s-%d" % (seed, i)).randbytes(kib * 1024)

def write_one(root, name, data, chunk=1 << 20):
    """None when close() returned 0, else (stage, errno name)."""
    p = os.path.join(root, name)
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
    except OSError as e:
        return ("mkdir", ename(e.errno))
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as e:
        return ("open", ename(e.errno))
    err = None
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view[:chunk])
            view = view[n:]
    except OSError as e:
        err = ("write", ename(e.errno))
    try:
        os.close(fd)
    except OSError as e:
        if err is None:
            err = ("close", ename(e.errno))
    return err

def name_of(base, seed, i):
    return "%s/%d/%s.bin" % (base, i // 100, uuid.UUID(int=random.Random("%s-n%d" % (seed, i)).getrandbits(128)))

def record(man, fails, name, data, err, t0):
    if err is None:
        man.write("%s %s\n" % (name, hashlib.sha256(data).hexdigest()))
        man.flush()
        return 1
    fails.write("%s %s %s %.1f %s\n" % (name, err[0], err[1], time.time() - t0,
                                       hashlib.sha256(data).hexdigest()))
    fails.flush()
    return 0

def cmd_write(root, base, count, kib, seed, manifest, faillog):
    t0 = time.time()
    ok = 0
    with open(manifest, "w") as man, open(faillog, "w") as fails:
        for i in range(int(count)):
            name = name_of(base, seed, i)
            data = data_for(seed, i, int(kib))
            ok += record(man, fails, name, data, write_one(root, name, data), t0)
    print("%d written, %d failed" % (ok, int(count) - ok))

def cmd_loop(root, base, kib, seed, manifest, faillog, stopfile, pause):
    """Writes files until stopfile exists; each outcome with its time."""
    t0 = time.time()
    i = ok = 0
    with open(manifest, "w") as man, open(faillog, "w") as fails:
        while not os.path.exists(stopfile) and time.time() - t0 < 600:
            name = name_of(base, seed, i)
            data = data_for(seed, i, int(kib))
            err = write_one(root, name, data)
            ok += record(man, fails, name, data, err, t0)
            if err is None:
                open(manifest + ".times", "a").write("%s %.1f\n" % (name, time.time() - t0))
            i += 1
            time.sleep(float(pause))
    print("%d written, %d failed" % (ok, i - ok))

def cmd_hold(root, name, kib, seed, manifest, ready, go):
    """Writes KIB KiB (or until a write fails), says so in READY, waits for
    GO (at most 300 s), closes; records the outcome."""
    data = data_for(seed, 0, int(kib))
    p = os.path.join(root, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    done, werr = 0, "-"
    try:
        while done < len(data):
            done += os.write(fd, data[done:done + (1 << 20)])
    except OSError as e:
        werr = ename(e.errno)
    with open(ready + ".tmp", "w") as f:
        f.write("%d %s\n" % (done, werr))
    os.rename(ready + ".tmp", ready)
    t = time.time()
    while not os.path.exists(go) and time.time() - t < 300:
        time.sleep(0.2)
    try:
        os.close(fd)
        cerr = "0"
    except OSError as e:
        cerr = ename(e.errno)
    with open(manifest, "w") as man:
        man.write("%s %s %d %s %s\n" % (name, hashlib.sha256(data).hexdigest(), done, werr, cerr))

def cmd_read(root, manifest):
    """Reads every file: identical, or an error; never other bytes."""
    ok = err = bad = 0
    errs = {}
    for line in open(manifest):
        name, want = line.split()[:2]
        try:
            with open(os.path.join(root, name), "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
        except OSError as e:
            err += 1
            errs[ename(e.errno)] = errs.get(ename(e.errno), 0) + 1
            continue
        if got == want:
            ok += 1
        else:
            bad += 1
            print("WRONG BYTES %s" % name, file=sys.stderr)
    print("%d %d %d %s" % (ok, err, bad, ",".join("%s=%d" % kv for kv in sorted(errs.items())) or "-"))

def cmd_stat(path):
    t = time.time()
    try:
        os.stat(path)
        r = "OK"
    except OSError as e:
        r = ename(e.errno)
    print("%s %.1f" % (r, time.time() - t))


def main():
    cmds = {"write": cmd_write, "loop": cmd_loop, "hold": cmd_hold, "read": cmd_read, "stat": cmd_stat}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])

if __name__ == "__main__":
    main()
