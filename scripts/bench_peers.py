#!/usr/bin/env python3
"""bench-peers - s3csfs against s3fs-fuse and rclone mount on the same local
S3 server (Ceph RGW on 127.0.0.1), in the same run, as ratios.

  scripts/bench-peers                 RUNS=3, writes bench/results.md and bench/ratios.png
  RUNS=1 scripts/bench-peers          a quick run (one of each workload)
  RUNS=1 NFILES=50 TREE_FILES=200 BIG_MB=16 CHECKSUM_MB=16 BENCH_OUT=/tmp/bp-out scripts/bench-peers
                                      the smallest run (a smoke test; not for results)

For each filesystem -- s3csfs upload=sync, s3csfs upload=async, s3fs-fuse,
rclone mount --vfs-cache-mode writes -- on a fresh bucket of its own, all
through the project's counting proxy (tests/tools/s3proxy.py):
  1. write NFILES (2000) x 64 KiB files into ~60 date directories
     (YYYY/M/D/H/m/<uuid>.bin), each O_CREAT|O_EXCL, written, closed; the
     clock runs from the first open to the last close, and for s3csfs-async
     and rclone (which upload after close) until the last object is listed
     in S3 (polled on the server directly, not through the proxy);
  2. stat every file just written (requests only);
  3. a 1 GiB file written with dd bs=1M (until dd returns; for async modes
     until the object is in S3), with the time from the last write() to
     close() returning (strace);
  unmount, empty the filesystem's cache, remount:
  4. read every small file back and verify its sha256 (files/s), then read
     them all again (requests to re-read cached files);
  5. read the 1 GiB file cold with dd bs=1M (MB/s), sha256 checked after;
  unmount, empty the cache, mount a bucket holding a TREE_FILES (10 000)
  file date tree (written once, directly to the server):
  6. find MNT -ls | wc -l (entries/s).
Each workload records the S3 requests the proxy saw, the daemon's CPU
seconds (utime+stime from /proc/PID/stat) and its peak RSS (VmHWM).
Reference: raw curl PUT/GET of the same 1 GiB file, directly and through
the proxy, and a curl PUT of one 16 MiB part.

Environment:
  RUNS=3            repetitions of every timed workload (medians reported)
  S3CSFS=./s3csfs   the daemon to test (built with make when it is ./s3csfs)
  FILESYSTEMS="s3csfs-sync s3csfs-async s3fs rclone"
  NFILES=2000 TREE_FILES=10000 BIG_MB=1024
  BENCH_WORK=/tmp/s3csfs-bench            mounts, caches, logs (logs kept)
  BENCH_TESTBED=/tmp/s3csfs-bench-tb      the S3 server's directory
  BENCH_OUT=bench                         where results.md / ratios.png go
  BENCH_NO_INSTALL=1                      do not apt-get anything
  BENCH_ALLOW_DIRTY=1                     run from a tree with uncommitted
                                          changes (refused otherwise; the
                                          results then say so in a warning)
  CHECKSUM_CPU=0 CHECKSUM_MB=256          skip / size the daemon-CPU-per-GiB
                                          run of scripts/bench-checksum
  BENCH_S3_SERVER=scripts/s3-server       the script that starts/stops the server

Needs root (FUSE mounts, apt-get). Everything it starts -- the S3 server,
the proxy, the daemons and their mounts -- is stopped on exit, even on
failure or Ctrl-C. Python 3 standard library only.
"""

import atexit
import collections
import datetime
import hashlib
import hmac
import html
import http.client
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE_SIZE = 65536
NDIRS = 60
PART_MB = 16
UPLOAD_TIMEOUT = 900     # seconds to wait for an async upload to land
WORKLOAD_TIMEOUT = 1800  # seconds any one workload may take
CMD_TIMEOUT = 120        # seconds for a small command (curl of one object, git, ...)
FS_ALL = ["s3csfs-sync", "s3csfs-async", "s3fs", "rclone"]
T_START = time.monotonic()


def log(msg):
    print("[%4ds] %s" % (time.monotonic() - T_START, msg), file=sys.stderr, flush=True)


class Fatal(Exception):
    pass


def die(msg):
    raise Fatal(msg)


def poll(cond, timeout, interval=0.05):
    """Calls cond() until it is true or timeout seconds passed; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def run(args, timeout=CMD_TIMEOUT, **kw):
    """subprocess.run bounded in time; a command that times out is killed and
    reported as exit status 124 (as timeout(1))."""
    try:
        return subprocess.run(args, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        log("timed out after %ds: %s" % (timeout, " ".join(map(str, args))[:200]))
        return subprocess.CompletedProcess(args, 124, e.stdout, e.stderr)


def out_of(args, timeout=CMD_TIMEOUT):
    r = run(args, timeout=timeout, capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


# --- S3 client and the helpers run in a child process --------------------------

def q(s):
    return urllib.parse.quote(s, safe="-_.~")


class S3:
    """Minimal SigV4 client (UNSIGNED-PAYLOAD), one keep-alive connection."""
    def __init__(self, endpoint=None):
        self.ep = urllib.parse.urlparse(endpoint or os.environ["S3_ENDPOINT"])
        self.ak, self.sk = os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]
        self.region = os.environ.get("S3_REGION", "us-east-1")
        self.c = None

    def request(self, method, path, query=None, body=b""):
        query = query or {}
        for attempt in range(5):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.ep.hostname, self.ep.port, timeout=60)
                amz = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                day = amz[:8]
                host = "%s:%d" % (self.ep.hostname, self.ep.port)
                uri = urllib.parse.quote(path, safe="/-_.~")
                cq = "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(query.items()))
                hdrs = {"host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz}
                sh = ";".join(sorted(hdrs))
                ch = "".join("%s:%s\n" % (k, hdrs[k]) for k in sorted(hdrs))
                creq = "\n".join([method, uri, cq, ch, sh, "UNSIGNED-PAYLOAD"])
                scope = "%s/%s/s3/aws4_request" % (day, self.region)
                sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
                k = ("AWS4" + self.sk).encode()
                for part in (day, self.region, "s3", "aws4_request"):
                    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
                sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
                h = {"Host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz,
                     "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                      % (self.ak, scope, sh, sig)}
                if method in ("PUT", "POST"):
                    h["Content-Length"] = str(len(body))
                self.c.request(method, uri + ("?" + cq if cq else ""),
                               body=body if method in ("PUT", "POST") else None, headers=h)
                r = self.c.getresponse()
                data = r.read()
                if r.status >= 500:
                    raise OSError("HTTP %d" % r.status)
                return r.status, r.getheaders(), data
            except (OSError, http.client.HTTPException):
                if self.c is not None:
                    self.c.close()
                self.c = None
                time.sleep(0.2 * (attempt + 1))  # back-off between retries
        raise Fatal("S3 request %s %s failed" % (method, path))

    def keys(self, bucket, prefix=""):
        out, token = [], None
        while True:
            qd = {"list-type": "2", "max-keys": "1000"}
            if prefix:
                qd["prefix"] = prefix
            if token:
                qd["continuation-token"] = token
            st, _, data = self.request("GET", "/" + bucket, qd)
            if st != 200:
                raise Fatal("listing %s: HTTP %d" % (bucket, st))
            txt = data.decode()
            out += [html.unescape(k) for k in re.findall(r"<Key>(.*?)</Key>", txt)]
            m = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", txt)
            if "<IsTruncated>true</IsTruncated>" in txt and m:
                token = html.unescape(m.group(1))
            else:
                return out

    def count_bin(self, bucket):
        return sum(1 for k in self.keys(bucket) if k.endswith(".bin"))


def date_dir(base, d, step_min):
    t = base + datetime.timedelta(minutes=d * step_min)
    return "%d/%d/%d/%d/%d" % (t.year, t.month, t.day, t.hour, t.minute)


def helper_write(root, n, size, ndirs, manifest, bucket, wait, timeout):
    n, size, ndirs = int(n), int(size), int(ndirs)
    base = datetime.datetime(2026, 11, 25, 8, 0)
    blobs = [os.urandom(size) for _ in range(n)]
    paths = ["%s/%s.bin" % (date_dir(base, i * ndirs // n, 1), uuid.uuid4()) for i in range(n)]
    made = set()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    t0 = time.monotonic()
    for i, (p, b) in enumerate(zip(paths, blobs)):
        if i and i % 500 == 0:
            print("  ... %d files, %.1f s" % (i, time.monotonic() - t0), file=sys.stderr, flush=True)
        d = os.path.dirname(p)
        if d not in made:
            os.makedirs(os.path.join(root, d), exist_ok=True)
            made.add(d)
        fd = os.open(os.path.join(root, p), flags, 0o644)
        mv = memoryview(b)
        while mv:
            mv = mv[os.write(fd, mv):]
        os.close(fd)
    t_close = time.monotonic() - t0
    t_durable, listed = t_close, None
    if wait == "1":
        s3 = S3()
        listed = poll(lambda: s3.count_bin(bucket) >= n, float(timeout), 0.1)
        listed = s3.count_bin(bucket)
        t_durable = time.monotonic() - t0
    with open(manifest, "w") as f:
        json.dump([[p, hashlib.sha256(b).hexdigest()] for p, b in zip(paths, blobs)], f)
    print(json.dumps({"close_s": t_close, "durable_s": t_durable, "listed": listed, "dirs": len(made)}))


def helper_read(root, manifest):
    with open(manifest) as f:
        items = json.load(f)
    ok = bad = err = 0
    t0 = time.monotonic()
    for i, (p, h) in enumerate(items):
        if i and i % 500 == 0:
            print("  ... %d files, %.1f s" % (i, time.monotonic() - t0), file=sys.stderr, flush=True)
        try:
            with open(os.path.join(root, p), "rb", buffering=0) as f:
                s = hashlib.sha256()
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    s.update(b)
            if s.hexdigest() == h:
                ok += 1
            else:
                bad += 1
        except OSError as e:
            err += 1
            if err <= 3:
                print("read %s: %s" % (p, e), file=sys.stderr)
    print(json.dumps({"s": time.monotonic() - t0, "ok": ok, "bad": bad, "err": err}))


def helper_stat(root, manifest):
    with open(manifest) as f:
        items = json.load(f)
    err = 0
    t0 = time.monotonic()
    for p, _ in items:
        try:
            os.stat(os.path.join(root, p))
        except OSError:
            err += 1
    print(json.dumps({"s": time.monotonic() - t0, "err": err}))


HELPERS = {"write": helper_write, "read": helper_read, "stat": helper_stat}


# --- small utilities ---------------------------------------------------------

def unescape_mnt(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def is_mounted(path):
    """From /proc/self/mountinfo: never stats the (possibly hung) mount."""
    path = os.path.abspath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            return any(unescape_mnt(line.split()[4]) == path for line in f)
    except OSError:
        return False


def cpu_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read().rsplit(") ", 1)[1].split()
        return (int(s[11]) + int(s[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def hwm_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return "%.1f" % (int(line.split()[1]) / 1024)
    except OSError:
        pass
    return ""


def g(v):
    return "%.6g" % v


def closelat(trace):
    # strace -ttt -T lines of dd: "PID TS write(1, ...) = N <DUR>", "PID TS close(1) = 0 <DUR>"
    last_w = close = None
    try:
        lines = open(trace).readlines()
    except OSError:
        return "-"
    for line in lines:
        m = re.match(r"\s*(?:\d+\s+)?([\d.]+)\s+(\w+)\((\d+)[,)].*<([\d.]+)>\s*$", line)
        if not m or m.group(3) != "1":
            continue
        ts, dur = float(m.group(1)), float(m.group(4))
        if m.group(2) == "write":
            last_w = ts + dur
        elif m.group(2) == "close" and close is None and last_w is not None:
            close = ts + dur
    return "%.3f" % (close - last_w) if close is not None and last_w is not None else "-"


def git_state():
    """(short commit, clean?) of the source tree."""
    head = out_of(["git", "-C", TOP, "rev-parse", "--short", "HEAD"]).strip() or "unknown"
    st = run(["git", "-C", TOP, "status", "--porcelain"], capture_output=True, text=True)
    return head, st.returncode == 0 and not st.stdout.strip()


def rel(path):
    """A path for the results: relative to the tree, or just the name (never a machine path)."""
    p = os.path.abspath(path)
    if p.startswith(TOP + os.sep):
        return "./" + os.path.relpath(p, TOP)
    return os.path.basename(p)


# --- the bench ----------------------------------------------------------------

class Bench:
    def __init__(self):
        E = os.environ
        self.runs = E.get("RUNS", "3")
        self.filesystems = E.get("FILESYSTEMS", " ".join(FS_ALL)).split()
        self.nfiles = E.get("NFILES", "2000")
        self.tree_files = E.get("TREE_FILES", "10000")
        self.big_mb = E.get("BIG_MB", "1024")
        if not re.fullmatch(r"[1-9][0-9]?", self.runs):
            die("RUNS must be 1..99")
        for name in ("nfiles", "tree_files", "big_mb"):
            if not re.fullmatch(r"[1-9][0-9]*", getattr(self, name)):
                die("%s must be a positive number" % name.upper())
        for fs in self.filesystems:
            if fs not in FS_ALL:
                die("unknown filesystem %s" % fs)
        self.runs, self.nfiles, self.tree_files, self.big_mb = (
            int(self.runs), int(self.nfiles), int(self.tree_files), int(self.big_mb))
        self.big_bytes = self.big_mb * 1048576
        self.work = E.get("BENCH_WORK", "/tmp/s3csfs-bench")
        self.tb = E.get("BENCH_TESTBED", "/tmp/s3csfs-bench-tb")
        out = E.get("BENCH_OUT", "bench")
        self.out = out if out.startswith("/") else os.path.join(TOP, out)
        self.s3_server = E.get("BENCH_S3_SERVER", os.path.join(TOP, "scripts/s3-server"))
        self.cmdline = "scripts/bench-peers" + "".join(" " + a for a in sys.argv[1:])
        for v in ("RUNS", "S3CSFS", "FILESYSTEMS", "NFILES", "TREE_FILES", "BIG_MB"):
            if v in E:
                self.cmdline = "%s=%s %s" % (v, E[v], self.cmdline)
        with open("/proc/loadavg") as f:
            self.load_start = " ".join(f.read().split()[:3])
        self.raw = collections.defaultdict(list)   # (fs, metric) -> [values]
        self.notes = []
        self.probes = []
        self.server_started = False
        self.proxy = None          # Popen of the counting proxy
        self.proxy_url = None
        self.mounted = []          # peers currently mounted
        self.have_strace = self.have_gnuplot = False
        self.s3tool = None
        self.build_note = None
        self.dirty_note = None
        self.tree_dirs = "?"

    # --- records
    def rec(self, fs, r, metric, value):
        with open(os.path.join(self.work, "raw.tsv"), "a") as f:
            f.write("%s\t%s\t%s\t%s\n" % (fs, r, metric, value))
        try:
            self.raw[(fs, metric)].append(float(value))
        except ValueError:
            pass

    def note(self, msg):
        # Logs are named relative to the work area: the results carry no machine path.
        msg = msg.replace(self.work + "/", "")
        self.notes.append(msg)
        log("NOTE: " + msg)

    def reqlog(self, line):
        with open(os.path.join(self.work, "logs/requests.txt"), "a") as f:
            f.write(line + "\n")

    # --- setup
    def check_deps(self):
        if os.getuid() != 0:
            die("run as root (FUSE mounts, apt-get)")
        need = [pkg for cmd, pkg in (("s3fs", "s3fs"), ("rclone", "rclone"), ("gnuplot", "gnuplot-nox"),
                                     ("strace", "strace"), ("fusermount3", "fuse3"), ("curl", "curl"))
                if not shutil.which(cmd)]
        if need:
            if os.environ.get("BENCH_NO_INSTALL"):
                die("missing: " + " ".join(need))
            log("installing " + " ".join(need))
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            aptlog = "/tmp/bench-peers-apt.log"
            with open(aptlog, "w") as lf:
                cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + need
                ok = run(cmd, timeout=900, stdout=lf, stderr=lf, env=env).returncode == 0
                if not ok:
                    ok = (run(["apt-get", "update"], timeout=900, stdout=lf, stderr=lf, env=env).returncode == 0
                          and run(cmd, timeout=900, stdout=lf, stderr=lf, env=env).returncode == 0)
            if not ok:
                die("apt-get install %s failed (see %s)" % (" ".join(need), aptlog))
        for c in ("s3fs", "rclone", "curl", "fusermount3"):
            if not shutil.which(c):
                die(c + " not found")
        self.have_strace = bool(shutil.which("strace"))
        self.have_gnuplot = bool(shutil.which("gnuplot"))

    def check_tree(self):
        self.commit, self.clean = git_state()
        if not self.clean:
            if not os.environ.get("BENCH_ALLOW_DIRTY"):
                die("the tree has uncommitted changes: results are regenerated from a committed build "
                    "(commit first, or BENCH_ALLOW_DIRTY=1 for a run whose results say they are not)")
            self.dirty_note = ("**WARNING: not a committed build** -- the tree at %s had uncommitted changes; "
                               "these numbers are not reproducible from the commit. Regenerate them from a "
                               "clean tree." % self.commit)
            log("WARNING: the tree has uncommitted changes (BENCH_ALLOW_DIRTY=1); the results will say so")

    def build(self):
        want = any(fs.startswith("s3csfs-") for fs in self.filesystems)
        src = os.environ.get("S3CSFS")
        if not src:
            src = os.path.join(TOP, "s3csfs")
            if want:
                log("building s3csfs")
                with open("/tmp/bench-peers-build.log", "w") as lf:
                    ok = True
                    if not os.path.exists(os.path.join(TOP, "Makefile")):
                        ok = (run(["autoreconf", "-fi"], timeout=900, cwd=TOP, stdout=lf, stderr=lf).returncode == 0
                              and run(["./configure"], timeout=900, cwd=TOP, stdout=lf, stderr=lf).returncode == 0)
                    ok = ok and run(["make", "-j%d" % os.cpu_count()], timeout=1800, cwd=TOP,
                                    stdout=lf, stderr=lf).returncode == 0
                if not ok:
                    if not os.access(src, os.X_OK):
                        die("the build failed (see /tmp/bench-peers-build.log); set S3CSFS=/path/to/s3csfs")
                    log("WARNING: the build failed (see /tmp/bench-peers-build.log); using the existing " + src)
                    self.build_note = "the build failed; an earlier ./s3csfs was used"
        if not src.startswith("/"):
            src = os.path.join(TOP, src)
        if want and not os.access(src, os.X_OK):
            die(src + " is not executable")
        self.s3csfs_src = src
        self.s3csfs = src

    def prepare_work(self):
        w = self.work
        if not re.match(r"^(/tmp|/var/tmp)/.", w):
            die("BENCH_WORK must be under /tmp or /var/tmp")
        mnts = os.path.join(w, "mnt")
        if os.path.isdir(mnts):
            for m in os.listdir(mnts):
                if is_mounted(os.path.join(mnts, m)):
                    die("%s/%s is still mounted (an earlier run?); unmount it first" % (mnts, m))
        for d in ("cache", "logs", "tmp", "trash"):
            shutil.rmtree(os.path.join(w, d), ignore_errors=True)
        if os.path.isdir(mnts):
            for m in os.listdir(mnts):
                try:
                    os.rmdir(os.path.join(mnts, m))
                except OSError:
                    pass
        try:
            for d in ("mnt", "cache", "logs", "tmp"):
                os.makedirs(os.path.join(w, d), exist_ok=True)
            os.makedirs(self.out, exist_ok=True)
        except OSError:
            die("cannot create " + w)
        # The binary is copied: another build in the tree during the run must
        # not change what is measured.
        if os.access(self.s3csfs, os.X_OK):
            shutil.copy2(self.s3csfs, os.path.join(w, "tmp/s3csfs"))
            self.s3csfs = os.path.join(w, "tmp/s3csfs")
        # The project's S3 client on the command line (built with the daemon):
        # a reference for multipart uploads without FUSE or a cache.
        st = os.path.join(os.path.dirname(self.s3csfs_src), "s3tool")
        if os.access(st, os.X_OK):
            shutil.copy2(st, os.path.join(w, "tmp/s3tool"))
            self.s3tool = os.path.join(w, "tmp/s3tool")
        open(os.path.join(w, "raw.tsv"), "w").close()
        if self.build_note:
            self.note(self.build_note)

    def start_server(self):
        log("starting the S3 server in " + self.tb)
        env = dict(os.environ)
        env.setdefault("S3CSFS_OSD_SIZE_GB", str(24 + self.runs * 6))
        env.pop("S3CSFS_S3_PORT", None)
        self.server_started = True
        slog = os.path.join(self.work, "logs/s3-server.log")
        with open(slog, "w") as lf:
            r = run([self.s3_server, "start", self.tb], timeout=900, stdout=lf, stderr=lf, env=env)
        if r.returncode != 0:
            sys.stderr.write(open(slog).read())
            die("the S3 server did not start")
        r = run(["bash", "-c", 'set -a; . "$1"; printf "%s\\n" "$S3_ENDPOINT" "$S3_REGION" '
                 '"$S3_ACCESS_KEY" "$S3_SECRET_KEY"', "-", os.path.join(self.tb, "env")],
                capture_output=True, text=True)
        vals = r.stdout.split("\n")
        if r.returncode != 0 or len(vals) < 4 or not vals[0]:
            die("cannot read %s/env" % self.tb)
        for k, v in zip(("S3_ENDPOINT", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY"), vals):
            os.environ[k] = v
        self.endpoint = vals[0]
        port = self.endpoint.rsplit(":", 1)[1]
        pfile = os.path.join(self.work, "proxy.port")
        if os.path.exists(pfile):
            os.unlink(pfile)
        with open(os.path.join(self.work, "logs/proxy.log"), "w") as lf:
            self.proxy = subprocess.Popen(
                [sys.executable, os.path.join(TOP, "tests/tools/s3proxy.py"), "--listen", "127.0.0.1:0",
                 "--upstream", "127.0.0.1:" + port, "--port-file", pfile], stdout=lf, stderr=lf)
        if not poll(lambda: os.path.exists(pfile) and os.path.getsize(pfile) > 0 or self.proxy.poll() is not None,
                    10, 0.05) or self.proxy.poll() is not None:
            die("the proxy did not start")
        self.proxy_url = "http://127.0.0.1:" + open(pfile).read().strip()
        log("S3 server %s, counting proxy %s" % (self.endpoint, self.proxy_url))

    def stop_all(self):
        for peer in list(self.mounted):
            log("cleanup: unmounting " + peer.mnt)
            peer.umount(30)
        mnts = os.path.join(self.work, "mnt")
        if os.path.isdir(mnts):
            for m in os.listdir(mnts):
                p = os.path.join(mnts, m)
                if is_mounted(p):
                    if run(["fusermount3", "-u", p], timeout=30, stderr=subprocess.DEVNULL).returncode != 0:
                        run(["fusermount3", "-uz", p], timeout=30, stderr=subprocess.DEVNULL)
        if self.proxy is not None:
            self.proxy.terminate()
            try:
                self.proxy.wait(10)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
                self.proxy.wait(10)
            self.proxy = None
        if self.server_started:
            self.server_started = False
            log("stopping the S3 server")
            if run([self.s3_server, "stop", self.tb], timeout=300, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL).returncode != 0:
                log("stopping the S3 server failed")
        for d in ("cache", "tmp", "trash"):
            shutil.rmtree(os.path.join(self.work, d), ignore_errors=True)
        if os.path.isdir(mnts):
            for m in os.listdir(mnts):
                try:
                    os.rmdir(os.path.join(mnts, m))
                except OSError:
                    pass
            try:
                os.rmdir(mnts)
            except OSError:
                pass

    # --- S3 and proxy
    def proxy_reset(self):
        urllib.request.urlopen(urllib.request.Request(self.proxy_url + "/_proxy/reset", data=b"",
                                                      method="POST"), timeout=30).read()

    def proxy_count(self):
        """(total, "TOTAL Op=n Op=n ...") for the requests since the last reset."""
        with urllib.request.urlopen(self.proxy_url + "/_proxy/stats", timeout=30) as r:
            d = json.load(r)
        return d["requests"], "%s %s" % (d["requests"], " ".join(
            "%s=%d" % (k, v) for k, v in sorted(d["ops"].items()) if v))

    def mkbucket(self, b):
        if run([self.s3_server, "mb", b, self.tb], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL).returncode != 0:
            die("cannot create bucket " + b)

    def s3curl(self, *args, timeout=WORKLOAD_TIMEOUT):
        cmd = ["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
               "%s:%s" % (os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]),
               "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"] + list(args)
        return run(cmd, timeout=timeout, capture_output=True, text=True)

    def curl_timed(self, *args):
        """(HTTP code, seconds) of one curl transfer."""
        r = self.s3curl("-o", "/dev/null", "-w", "%{http_code} %{time_total}", *args)
        try:
            code, t = r.stdout.split()
            return code, float(t)
        except ValueError:
            return "000", 0.0

    def helper(self, *args):
        """A workload on a mount, in a child process bounded in time: a hung
        daemon must not hang the run. Returns (exit status, its JSON or None)."""
        r = run([sys.executable, os.path.abspath(__file__), "--helper"] + [str(a) for a in args],
                timeout=WORKLOAD_TIMEOUT, stdout=subprocess.PIPE, stderr=None, text=True)
        try:
            return r.returncode, json.loads(r.stdout) if r.returncode == 0 else None
        except ValueError:
            return 1, None

    def wait_object(self, bucket, key, size, timeout):
        s3 = S3()

        def there():
            st, hdrs, _ = s3.request("HEAD", "/%s/%s" % (bucket, key))
            return st == 200 and dict((k.lower(), v) for k, v in hdrs).get("content-length") == str(size)
        return poll(there, timeout, 0.05)

    def delete(self, bucket, key):
        try:
            S3().request("DELETE", "/%s/%s" % (bucket, key))
        except Fatal:
            pass

    def populate(self, bucket, n, threads):
        ndirs = max(1, n // 33)
        base = datetime.datetime(2025, 6, 1, 0, 0)
        body = os.urandom(1024)
        keys = ["%s/%s.bin" % (date_dir(base, i * ndirs // n, 7), uuid.uuid4()) for i in range(n)]
        fails = []

        def work(sl):
            try:
                s3 = S3()
                for k in sl:
                    st, _, _ = s3.request("PUT", "/%s/%s" % (bucket, k), body=body)
                    if st != 200:
                        fails.append(k)
            except Fatal:
                fails.append("?")
        ts = [threading.Thread(target=work, args=(keys[i::threads],), daemon=True) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(WORKLOAD_TIMEOUT)
            if t.is_alive():
                die("populate: timed out")
        if fails:
            die("populate: %d PUTs failed" % len(fails))
        return ndirs

    def probe(self, bucket):
        """Latency of single requests on one kept-alive connection (median of 10, ms)."""
        s3 = S3()
        s3.request("PUT", "/%s/probe/present.bin" % bucket, body=b"x" * 1024)
        out = {}
        for name, method, path, qd in (
                ("get_hit", "GET", "/%s/probe/present.bin", None),
                ("get_miss", "GET", "/%s/probe/missing-%d.bin", None),
                ("head_miss", "HEAD", "/%s/probe/missing-%d.bin", None),
                ("list", "GET", "/%s", {"list-type": "2", "prefix": "probe/none/", "delimiter": "/",
                                        "max-keys": "1"})):
            ts = []
            for i in range(11):
                pth = path % ((bucket, i) if path.count("%") == 2 else (bucket,))
                t = time.monotonic()
                s3.request(method, pth, qd)
                ts.append((time.monotonic() - t) * 1000)
            out[name] = sorted(ts[1:])[5]
        s3.request("DELETE", "/%s/probe/present.bin" % bucket)
        return out

    def retire_cache(self, d):
        """Empties a filesystem's cache for the next mount. Its small files are
        deleted only at the end of the run: the cache disk here is ext4 without
        a journal, where creating files in the 30 s after mass deletions scans
        every recently freed inode (ext4 recently_deleted()), which slowed
        whichever filesystem came next several-fold."""
        trash = os.path.join(self.work, "trash")
        os.makedirs(trash, exist_ok=True)
        if not os.path.isdir(d):
            return
        for root, _, files in os.walk(d):
            for f in files:   # few inodes, much disk
                p = os.path.join(root, f)
                try:
                    if os.lstat(p).st_size > 64 << 20:
                        os.unlink(p)
                except OSError:
                    pass
        try:
            os.rename(d, os.path.join(trash, "%s.%d" % (os.path.basename(d), time.time_ns())))
        except OSError:
            shutil.rmtree(d, ignore_errors=True)


# --- peers: mount, unmount ---------------------------------------------------

class Peer:
    """One filesystem under test: mounts a bucket, unmounts, reports its daemon."""
    waits_upload = False   # uploads after close: the clock runs until the data is in S3

    def __init__(self, bench, name):
        self.b, self.name = bench, name
        self.proc = None
        self.mnt = None
        self.tmp = os.path.join(bench.work, "tmp")

    def command(self, bucket, mnt, cache, logf):
        raise NotImplementedError

    @property
    def pid(self):
        return self.proc.pid

    def mount(self, bucket, mnt, cache, logf):
        os.makedirs(mnt, exist_ok=True)
        os.makedirs(cache, exist_ok=True)
        cmd, env = self.command(bucket, mnt, cache, logf)
        with open(logf, "a") as lf:
            self.proc = subprocess.Popen(cmd, stdout=lf, stderr=lf, env=env)
        self.mnt = mnt
        self.b.mounted.append(self)
        if poll(lambda: is_mounted(mnt) or self.proc.poll() is not None, 30, 0.1) and is_mounted(mnt):
            return True
        log("%s did not mount %s on %s (see %s)" % (self.name, bucket, mnt, logf))
        with open(logf) as f:
            sys.stderr.write("".join(f.readlines()[-5:]))
        self.umount(10)
        return False

    def umount(self, wait=120):
        """Unmount, wait for the daemon to exit (it may be finishing uploads),
        then signal it if it does not."""
        mnt, p = self.mnt, self.proc
        if mnt and is_mounted(mnt):
            poll(lambda: run(["fusermount3", "-u", mnt], timeout=60,
                             stderr=subprocess.DEVNULL).returncode == 0 or not is_mounted(mnt), 10, 0.5)
        if p is not None:
            try:
                p.wait(wait)
            except subprocess.TimeoutExpired:
                log("daemon %d still running %ds after unmount: SIGTERM" % (p.pid, wait))
                p.terminate()
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        if mnt and is_mounted(mnt):
            run(["fusermount3", "-uz", mnt], timeout=30, stderr=subprocess.DEVNULL)
        self.proc = self.mnt = None
        if self in self.b.mounted:
            self.b.mounted.remove(self)

    def stats_file(self):
        return None


class S3csfs(Peer):
    def __init__(self, bench, name):
        super().__init__(bench, name)
        self.mode = name.split("-", 1)[1]
        self.waits_upload = self.mode == "async"

    def command(self, bucket, mnt, cache, logf):
        conf = os.path.join(self.tmp, self.name + ".conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[general]\ncache_dir = %s\nupload = %s\nreaper = off\nlog_level = info\n"
                    "[s3]\nprofile = onprem\nendpoint = %s\nregion = us-east-1\naccess_key = %s\n"
                    "secret_key = %s\n[bucket:main]\nname = %s\ndefault = true\n"
                    % (cache, self.mode, self.b.proxy_url, os.environ["S3_ACCESS_KEY"],
                       os.environ["S3_SECRET_KEY"], bucket))
        return [self.b.s3csfs, mnt, "-f", "-o", "conf=" + conf], None

    def stats_file(self):
        return os.path.join(self.mnt, ".s3csfs/stats")


class S3fs(Peer):
    def command(self, bucket, mnt, cache, logf):
        pw = os.path.join(self.tmp, "s3fs.passwd")
        fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("%s:%s\n" % (os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]))
        # Path-style requests to the local endpoint, SigV4 for us-east-1, a
        # disk cache of its own, no HEAD for names known not to exist, parts
        # of 16 MB, 8 in parallel (as s3csfs).
        return ["s3fs", bucket, mnt, "-f", "-o",
                "url=%s,use_path_request_style,endpoint=us-east-1,passwd_file=%s,use_cache=%s,"
                "enable_noobj_cache,parallel_count=8,multipart_size=16,dbglevel=warn"
                % (self.b.proxy_url, pw, cache)], None


class Rclone(Peer):
    waits_upload = True

    def command(self, bucket, mnt, cache, logf):
        conf = os.path.join(self.tmp, "rclone.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[bench]\ntype = s3\nprovider = Ceph\nendpoint = %s\naccess_key_id = %s\n"
                    "secret_access_key = %s\nregion = us-east-1\nforce_path_style = true\n"
                    % (self.b.proxy_url, os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]))
        # rclone 1.60 fails with "LoadCustomCABundleError ... unsupported
        # transport" when AWS_CA_BUNDLE is set, even for plain http: unset it.
        # Uploads start at close (--vfs-write-back 0s instead of the default
        # 5 s delay); 16 MiB parts, 8 in parallel, 8 files at once (as s3csfs).
        env = dict(os.environ)
        env.pop("AWS_CA_BUNDLE", None)
        return ["rclone", "mount", "bench:" + bucket, mnt, "--config", conf,
                "--vfs-cache-mode", "writes", "--cache-dir", cache, "--vfs-write-back", "0s",
                "--s3-chunk-size", "16M", "--s3-upload-concurrency", "8", "--transfers", "8",
                "--log-level", "INFO", "--log-file", logf], env


PEERS = {"s3csfs-sync": S3csfs, "s3csfs-async": S3csfs, "s3fs": S3fs, "rclone": Rclone}
TREE_BUCKET = "bench-tree"


# --- workloads -----------------------------------------------------------------

class Run:
    """One filesystem in one run: the workloads share its mount, bucket and manifest."""
    def __init__(self, bench, fs, r):
        self.b, self.fs, self.r = bench, fs, r
        self.peer = PEERS[fs](bench, fs)
        self.bucket = "bench-r%d-%s" % (r, fs)
        self.mnt = os.path.join(bench.work, "mnt", fs)
        self.cache = os.path.join(bench.work, "cache", fs)
        self.logf = os.path.join(bench.work, "logs", "%s-r%d.log" % (fs, r))
        self.man = os.path.join(bench.work, "tmp", "manifest-%s-r%d.json" % (fs, r))
        self.tag = "[r%d %s]" % (r, fs)
        self.big_key = "2026/11/26/9/0/big-%dm.bin" % bench.big_mb

    def rec(self, metric, value):
        self.b.rec(self.fs, self.r, metric, value)

    def mount(self, bucket, what):
        if not self.peer.mount(bucket, self.mnt, self.cache, self.logf):
            self.b.note("%s: %s failed" % (self.tag, what))
            return False
        return True

    def umount(self):
        self.peer.umount()
        self.b.retire_cache(self.cache)

    def last_log_line(self):
        try:
            with open(self.logf) as f:
                lines = [l.rstrip() for l in f if not l.startswith("  ...")]
            return lines[-1] if lines else ""
        except OSError:
            return ""


def wl_small_write(x):
    b, pid, n = x.b, x.peer.pid, x.b.nfiles
    log("%s mounted (pid %d); writing %d x 64 KiB files" % (x.tag, pid, n))
    b.proxy_reset()
    c0 = cpu_of(pid)
    st, w = b.helper("write", x.mnt, n, FILE_SIZE, NDIRS, x.man, x.bucket, int(x.peer.waits_upload),
                     UPLOAD_TIMEOUT)
    if st != 0 or w is None:
        b.note("%s: writing the small files failed: %s" % (x.tag, x.last_log_line()))
        return False
    c1 = cpu_of(pid)
    total, p = b.proxy_count()
    durable = w["durable_s"]
    listed = S3().count_bin(x.bucket)
    if listed != n:
        b.note("%s: %d of %d small files in S3 after the write workload" % (x.tag, listed, n))
    x.rec("small_write_fps", g(n / durable))
    x.rec("small_write_close_fps", g(n / w["close_s"]))
    x.rec("small_write_req_per_file", g(total / n))
    x.rec("small_write_cpu", g(c1 - c0))
    b.reqlog("%s small write: %s" % (x.tag, p))
    log("%s small write: %s files/s (close-to-close %ss, in S3 after %ss), requests: %s"
        % (x.tag, g(n / durable), w["close_s"], durable, p))
    return True


def wl_stat(x):
    b = x.b
    b.proxy_reset()
    b.helper("stat", x.mnt, x.man)
    total, p = b.proxy_count()
    x.rec("stat_new_req", total)
    b.reqlog("%s stat just written: %s" % (x.tag, p))


def wl_big_write(x):
    b, pid = x.b, x.peer.pid
    log("%s writing %d MiB with dd bs=1M" % (x.tag, b.big_mb))
    os.makedirs(os.path.join(x.mnt, os.path.dirname(x.big_key)), exist_ok=True)
    trace = os.path.join(b.work, "tmp/dd.trace")
    dd = ["dd", "if=" + b.big_src, "of=" + os.path.join(x.mnt, x.big_key), "bs=1M", "status=none"]
    if b.have_strace:
        dd = ["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-e", "trace=write,close", "-o", trace] + dd
    b.proxy_reset()
    c0 = cpu_of(pid)
    t0 = time.monotonic()
    with open(x.logf, "a") as lf:
        res = run(dd, timeout=WORKLOAD_TIMEOUT, stderr=lf).returncode
    t1 = time.monotonic()
    if res != 0:
        b.note("%s: dd of %d MiB failed (exit %d)" % (x.tag, b.big_mb, res))
        return
    if x.peer.waits_upload and not b.wait_object(x.bucket, x.big_key, b.big_bytes, UPLOAD_TIMEOUT):
        b.note("%s: the %d MiB file did not reach S3" % (x.tag, b.big_mb))
    t2 = time.monotonic()
    c1 = cpu_of(pid)
    total, p = b.proxy_count()
    x.rec("big_write_MBps", g(b.big_bytes / (t2 - t0) / 1e6))
    x.rec("big_write_close_MBps", g(b.big_bytes / (t1 - t0) / 1e6))
    x.rec("big_write_req", total)
    x.rec("big_write_cpu", g(c1 - c0))
    cl = closelat(trace) if b.have_strace else "-"
    if b.have_strace:
        x.rec("big_close_s", cl)
    b.reqlog("%s big write: %s" % (x.tag, p))
    log("%s big write: dd returned after %.3fs, in S3 after %.3fs (%s MB/s), last write->close %ss, requests: %s"
        % (x.tag, t1 - t0, t2 - t0, g(b.big_bytes / (t2 - t0) / 1e6), cl, p))


def wl_small_read(x, again=False):
    b, pid, n = x.b, x.peer.pid, x.b.nfiles
    if not again:
        log("%s remounted with an empty cache; reading %d files cold" % (x.tag, n))
    b.proxy_reset()
    c0 = cpu_of(pid)
    _, res = b.helper("read", x.mnt, x.man)
    c1 = cpu_of(pid)
    total, p = b.proxy_count()
    if res is None:
        b.note("%s: %s read of the small files failed" % (x.tag, "re-" if again else "cold"))
        return
    if not again and res["ok"] != n:
        b.note("%s: cold read: %s" % (x.tag, json.dumps(res)))
    fps = g(n / res["s"])
    if again:
        x.rec("small_reread_fps", fps)
        x.rec("reread_req_per_file", g(total / n))
        b.reqlog("%s small re-read: %s" % (x.tag, p))
        log("%s re-read: %s files/s, requests: %s" % (x.tag, fps, p))
    else:
        x.rec("small_read_fps", fps)
        x.rec("small_read_req_per_file", g(total / n))
        x.rec("small_read_cpu", g(c1 - c0))
        b.reqlog("%s small cold read: %s" % (x.tag, p))
        log("%s small cold read: %s files/s, %s, requests: %s" % (x.tag, fps, json.dumps(res), p))


def wl_small_reread(x):
    wl_small_read(x, again=True)


def wl_big_read(x):
    b, pid = x.b, x.peer.pid
    log("%s reading %d MiB cold with dd bs=1M" % (x.tag, b.big_mb))
    path = os.path.join(x.mnt, x.big_key)
    b.proxy_reset()
    c0 = cpu_of(pid)
    t0 = time.monotonic()
    with open(x.logf, "a") as lf:
        res = run(["dd", "if=" + path, "of=/dev/null", "bs=1M", "status=none"],
                  timeout=WORKLOAD_TIMEOUT, stderr=lf).returncode
    t1 = time.monotonic()
    c1 = cpu_of(pid)
    total, p = b.proxy_count()
    if res != 0:
        b.note("%s: dd reading %d MiB failed (exit %d)" % (x.tag, b.big_mb, res))
        return
    x.rec("big_read_MBps", g(b.big_bytes / (t1 - t0) / 1e6))
    x.rec("big_read_req", total)
    x.rec("big_read_cpu", g(c1 - c0))
    b.reqlog("%s big cold read: %s" % (x.tag, p))
    log("%s big cold read: %s MB/s, requests: %s" % (x.tag, g(b.big_bytes / (t1 - t0) / 1e6), p))
    if out_of(["sha256sum", path], timeout=WORKLOAD_TIMEOUT)[:64] != b.big_sha:
        b.note("%s: the %d MiB file read back differs (sha256)" % (x.tag, b.big_mb))


def wl_find(x):
    b, pid = x.b, x.peer.pid
    log("%s find -ls of the %d-file tree, cold" % (x.tag, b.tree_files))
    b.proxy_reset()
    c0 = cpu_of(pid)
    t0 = time.monotonic()
    with open(x.logf, "a") as lf:
        r = run(["find", x.mnt, "-ls"], timeout=WORKLOAD_TIMEOUT, stdout=subprocess.PIPE, stderr=lf)
    t1 = time.monotonic()
    n = (r.stdout or b"").count(b"\n")
    c1 = cpu_of(pid)
    total, p = b.proxy_count()
    x.rec("find_eps", g(n / (t1 - t0)))
    x.rec("find_entries", n)
    x.rec("find_req", total)
    x.rec("find_cpu", g(c1 - c0))
    b.reqlog("%s find: %s" % (x.tag, p))
    log("%s find: %d entries in %.3fs, requests: %s" % (x.tag, n, t1 - t0, p))
    if n < b.tree_files:
        b.note("%s: find listed %d entries, fewer than the %d files" % (x.tag, n, b.tree_files))


def record_rss(x, metric):
    x.rec(metric, hwm_of(x.peer.pid))
    sf = x.peer.stats_file()
    if sf and os.access(sf, os.R_OK):
        phase = metric.split("_")[1]
        try:
            shutil.copyfile(sf, os.path.join(x.b.work, "logs", "%s-r%d-%s.stats" % (x.fs, x.r, phase)))
        except OSError:
            pass


def bench_fs(b, fs, r):
    """Every workload on one filesystem; False on failure."""
    x = Run(b, fs, r)
    open(x.logf, "w").close()
    b.mkbucket(x.bucket)
    b.retire_cache(x.cache)
    # session A: writes
    if not x.mount(x.bucket, "mount"):
        return False
    if not wl_small_write(x):
        x.peer.umount()
        return False
    wl_stat(x)
    wl_big_write(x)
    record_rss(x, "rss_write_MiB")
    x.umount()
    # session B: cold reads
    if not x.mount(x.bucket, "remount"):
        return False
    wl_small_read(x)
    wl_small_reread(x)
    wl_big_read(x)
    record_rss(x, "rss_read_MiB")
    x.umount()
    b.delete(x.bucket, x.big_key)
    # session C: listing of the tree
    if not x.mount(TREE_BUCKET, "mounting the tree"):
        return False
    wl_find(x)
    record_rss(x, "rss_find_MiB")
    x.umount()
    return True


def reference(b, r):
    """Raw curl of the same file, direct and through the proxy, and other ceilings."""
    b.mkbucket("bench-ref")
    for tag, ep in (("direct", b.endpoint), ("proxy", b.proxy_url)):
        code, t = b.curl_timed("-T", b.big_src, ep + "/bench-ref/big.bin")
        if code == "200":
            b.rec("curl-" + tag, r, "big_write_MBps", g(b.big_bytes / t / 1e6))
        else:
            b.note("curl PUT (%s): HTTP %s" % (tag, code))
        code, t = b.curl_timed(ep + "/bench-ref/big.bin")
        if code == "200":
            b.rec("curl-" + tag, r, "big_read_MBps", g(b.big_bytes / t / 1e6))
        else:
            b.note("curl GET (%s): HTTP %s" % (tag, code))
    ts = []
    for i in range(1, 6):
        code, t = b.curl_timed("-T", b.part_src, "%s/bench-ref/part%d.bin" % (b.proxy_url, i))
        if code == "200":
            ts.append(t)
    if ts:
        ts.sort()
        b.rec("curl-proxy", r, "part_put_s", g(ts[(len(ts) + 1) // 2 - 1]))
    # The ceiling for small files: curl PUTs of 64 KiB through the proxy on
    # kept-alive connections, one at a time (what a writer waiting for each
    # upload can reach) and 8 at a time.
    n = min(b.nfiles, 1000)
    small = os.path.join(b.work, "tmp/small.src")
    with open(small, "wb") as f:
        f.write(os.urandom(FILE_SIZE))
    cfg = os.path.join(b.work, "tmp/small-puts.cfg")
    for par in (1, 8):
        with open(cfg, "w") as f:
            for i in range(1, n + 1):
                f.write('upload-file = "%s"\nurl = "%s/bench-ref/small-%d-%d"\n' % (small, b.proxy_url, par, i))
        extra = [] if par == 1 else ["-Z", "--parallel-max", "8"]
        t0 = time.monotonic()
        res = b.s3curl(*(extra + ["-K", cfg, "-o", "/dev/null", "-w", "%{http_code}\\n"]))
        t1 = time.monotonic()
        ok = sum(1 for line in (res.stdout or "").split("\n") if line == "200")
        if ok == n:
            b.rec("curl-proxy", r, "small_put_fps_p%d" % par, g(n / (t1 - t0)))
        else:
            b.note("curl small PUTs (%d at a time): %d of %d answered 200" % (par, ok, n))
    # The same file by the project's own client, no FUSE, no cache: parts
    # of part_size, 8 at a time, Content-MD5 and ETag checked.
    if b.s3tool:
        t0 = time.monotonic()
        with open(os.path.join(b.work, "logs/s3tool.log"), "a") as lf:
            res = run([b.s3tool, "mpu-put", "bench-ref", "mpu.bin", b.big_src, str(PART_MB * 1048576), "8"],
                      timeout=WORKLOAD_TIMEOUT, stdout=subprocess.DEVNULL, stderr=lf,
                      env=dict(os.environ, S3_ENDPOINT=b.proxy_url)).returncode
        t1 = time.monotonic()
        if res == 0:
            b.rec("s3tool-proxy", r, "big_write_MBps", g(b.big_bytes / (t1 - t0) / 1e6))
        else:
            b.note("s3tool mpu-put failed (see %s/logs/s3tool.log)" % b.work)
        b.delete("bench-ref", "mpu.bin")
    # Writing the big file to a new local file: the page cache a local
    # write-back cache must fill (on a VM, first-touch of guest memory).
    dst = os.path.join(b.work, "cache/local-dd.%d" % r)
    t0 = time.monotonic()
    run(["dd", "if=" + b.big_src, "of=" + dst, "bs=1M", "status=none"], timeout=WORKLOAD_TIMEOUT)
    t1 = time.monotonic()
    try:
        os.unlink(dst)
    except OSError:
        pass
    b.rec("local", r, "big_local_MBps", g(b.big_bytes / (t1 - t0) / 1e6))
    b.delete("bench-ref", "big.bin")
    try:
        b.probes.append(b.probe("bench-ref"))
    except Fatal as e:
        log("probe: %s" % e)
    log("[r%d] reference curl: %s" % (r, "  ".join(
        "%s %s=%s" % (fs, m, v[-1]) for (fs, m), v in b.raw.items() if fs.startswith("curl") and v)))


# --- report ------------------------------------------------------------------------

def first_line(args):
    return (out_of(args).split("\n") or [""])[0]


def report(b, total_s):
    vals = b.raw

    def med(fs, m):
        v = vals.get((fs, m))
        return statistics.median(v) if v else None

    FS = FS_ALL
    N, T, MB = str(b.nfiles), str(b.tree_files), str(b.big_mb)
    GB = "1 GiB" if MB == "1024" else "%s MiB" % MB
    # key, label, higher-is-better, decimals, short label for the chart, reference
    ROWS = [
        ("small_write_fps", "write %s x 64 KiB files, files/s (async, rclone: until all in S3)" % N, True, 0,
         "write small", "small-put"),
        ("small_write_close_fps", "  same, first open to last close only, files/s", True, 0, None, None),
        ("small_write_req_per_file", "  S3 requests per small file written", False, 2, "req/file written", None),
        ("small_write_cpu", "  daemon CPU s, writing the small files", False, 2, "CPU write small", None),
        ("stat_new_req", "stat of the %s files just written: S3 requests" % N, False, 0, None, None),
        ("small_read_fps", "cold read + sha256 of the %s files, files/s" % N, True, 0, "cold read small", None),
        ("small_read_req_per_file", "  S3 requests per file read cold", False, 2, "req/cold read", None),
        ("small_read_cpu", "  daemon CPU s, cold read of the small files", False, 2, "CPU read small", None),
        ("small_reread_fps", "re-read of the %s files (cached), files/s" % N, True, 0, "re-read small", None),
        ("reread_req_per_file", "  S3 requests per cached file re-read", False, 2, None, None),
        ("big_write_MBps", "%s dd bs=1M write, MB/s (async, rclone: until in S3)" % GB, True, 1,
         "write %s" % GB, "curl-direct"),
        ("big_write_close_MBps", "  same, until dd returned, MB/s", True, 1, None, None),
        ("big_close_s", "  last write() to close() returning, s (s3csfs-async and rclone upload after close)",
         False, 3, None, "part"),
        ("big_write_req", "  S3 requests", False, 0, None, None),
        ("big_write_cpu", "  daemon CPU s, writing %s" % GB, False, 2, "CPU write %s" % GB, None),
        ("big_read_MBps", "%s cold read (dd bs=1M), MB/s" % GB, True, 1, "cold read %s" % GB, "curl-direct"),
        ("big_read_req", "  S3 requests", False, 0, None, None),
        ("big_read_cpu", "  daemon CPU s, reading %s" % GB, False, 2, "CPU read %s" % GB, None),
        ("find_eps", "find -ls of a %s-file date tree (%s dirs), cold, entries/s" % (T, b.tree_dirs), True, 0,
         "find -ls", None),
        ("find_req", "  S3 requests", False, 0, "req find", None),
        ("find_cpu", "  daemon CPU s, find", False, 2, None, None),
        ("rss_MiB", "daemon peak RSS (VmHWM), MiB, max over all workloads", False, 1, "peak RSS", None),
    ]
    for fs in FS:
        hw = [v for m in ("rss_write_MiB", "rss_read_MiB", "rss_find_MiB") for v in vals.get((fs, m), [])]
        if hw:
            vals[(fs, "rss_MiB")] = [max(hw)]

    def fmt(v, d):
        if v is None:
            return "–"
        if d == 0 or abs(v) >= 1000:
            return "{:,.0f}".format(v)
        return "%.*f" % (d, v)

    def ratio(a, c):
        if a is None or c is None:
            return None
        if c == 0:
            return None if a == 0 else math.inf
        return a / c

    def rfmt(x, higher):
        if x is None:
            return "–"
        if math.isinf(x):
            return "∞"
        s = "%.2f" % x
        good = x >= 1 if higher else x <= 1
        return ("**%s**" % s) if good else s

    PAIRS = [("s3csfs-sync", "s3fs"), ("s3csfs-async", "s3fs"), ("s3csfs-sync", "rclone"), ("s3csfs-async", "rclone")]
    L = []
    L.append("# s3csfs vs s3fs-fuse vs rclone mount\n")
    if b.dirty_note:
        L.append(b.dirty_note + "\n")
    L.append("Medians of %s run(s); every filesystem on its own fresh bucket of the same local Ceph RGW, "
             "through the same counting proxy (`tests/tools/s3proxy.py`), in the same run. Ratio columns are "
             "s3csfs / peer; **bold** where s3csfs is better (higher throughput, or fewer requests, less CPU, "
             "less memory: the row says which). `–`: not measured or undefined (0/0).\n" % b.runs)
    L.append("| workload | s3csfs-sync | s3csfs-async | s3fs | rclone | raw curl | sync/s3fs | async/s3fs | "
             "sync/rclone | async/rclone |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    chart = []
    for key, label, higher, d, short, ref in ROWS:
        m = {fs: med(fs, key) for fs in FS}
        if all(v is None for v in m.values()):
            continue
        refs = "–"
        if ref == "curl-direct":
            refs = "%s (proxy %s)" % (fmt(med("curl-direct", key), 1), fmt(med("curl-proxy", key), 1))
        elif ref == "small-put":
            refs = "%s PUT/s one at a time, %s 8 at a time" % (fmt(med("curl-proxy", "small_put_fps_p1"), 0),
                                                             fmt(med("curl-proxy", "small_put_fps_p8"), 0))
        elif ref == "part":
            refs = "%s (one %s MiB part PUT)" % (fmt(med("curl-proxy", "part_put_s"), 3), PART_MB)
        rs = [ratio(m[a], m[c]) for a, c in PAIRS]
        L.append("| %s%s | %s | %s | %s | %s | %s | %s |" % (
            label.replace("  ", "↳ ", 1) if label.startswith("  ") else label,
            "" if higher else " (lower is better)",
            " | ".join(fmt(m[fs], d) for fs in FS), refs,
            rfmt(rs[0], higher), rfmt(rs[1], higher), rfmt(rs[2], higher), rfmt(rs[3], higher)))
        if short:
            adv = []
            for x in rs:
                if x is None or math.isinf(x) or x == 0:
                    adv.append("-")
                else:
                    adv.append("%.4g" % (x if higher else 1 / x))
            chart.append((short, adv))
    # s3csfs vs raw curl
    vs = []
    for key, what in (("big_write_MBps", "write"), ("big_read_MBps", "cold read")):
        c = med("curl-direct", key)
        for fs in ("s3csfs-sync", "s3csfs-async"):
            v = med(fs, key)
            if v and c:
                vs.append("%s %s %s = %.2f × raw curl" % (fs, GB, what, v / c))
    c1, c8 = med("curl-proxy", "small_put_fps_p1"), med("curl-proxy", "small_put_fps_p8")
    sv, av, s3v = med("s3csfs-sync", "small_write_fps"), med("s3csfs-async", "small_write_fps"), med("s3fs", "small_write_fps")
    if sv and c1:
        vs.append("s3csfs-sync small files = %.2f × curl PUTs of the same size one at a time (%s/s: the ceiling "
                  "for a writer that waits for each upload%s)" % (sv / c1, fmt(c1, 0),
                  "; 5 × s3fs would be %s/s" % fmt(5 * s3v, 0) if s3v else ""))
    if av and c8:
        vs.append("s3csfs-async small files = %.2f × curl PUTs 8 at a time (%s/s)" % (av / c8, fmt(c8, 0)))
    mv, cw = med("s3tool-proxy", "big_write_MBps"), med("curl-direct", "big_write_MBps")
    if mv and cw:
        vs.append("the project's S3 client alone (`s3tool mpu-put`, no FUSE, no cache, %s MiB parts 8 at a time, "
                  "MD5 checked) writes the same %s at %s MB/s = %.2f × raw curl: the ceiling of a verified multipart "
                  "upload here" % (PART_MB, GB, fmt(mv, 0), mv / cw))
    lv = med("local", "big_local_MBps")
    if lv:
        vs.append("dd of the same %s to a new local file runs at %s MB/s: the page cache every "
                  "local write-back cache fills" % (GB, fmt(lv, 0)))
    pc = med("curl-proxy", "part_put_s")
    v = med("s3csfs-sync", "big_close_s")
    if v is not None and pc:
        vs.append("s3csfs-sync last write()→close() = %.2f × one part's upload" % (v / pc))
    L.append("")
    if vs:
        L.append("Against the raw reference: " + "; ".join(vs) + ".\n")
    L.append("![ratios](ratios.png)\n")
    L.append("`ratios.png`: s3csfs's advantage over each peer per workload (throughput ratio, or peer/s3csfs for "
             "requests, CPU and memory), log scale; above 1 = s3csfs better. Bars are missing where a ratio is "
             "undefined (e.g. s3csfs made 0 requests).\n")
    L.append("## How it was measured\n")
    L.append("- Small files: one writer, `O_CREAT|O_EXCL`, 64 KiB random data, %s files over 60 minute "
             "directories `2026/11/25/8/M/<uuid>.bin` (`mkdir -p` included in the time); the clock stops at the last "
             "`close()` for s3csfs-sync and s3fs (both upload before close returns; the listing is checked afterwards), "
             "and when the last object is listed in S3 for s3csfs-async and rclone (polled directly on the server "
             "every 0.1 s)." % N)
    L.append("- Emptying a cache: the directory is moved aside and its small files deleted only at the end of the run. "
             "The disk here is ext4 without a journal, where creating files within 30 s of deleting thousands scans "
             "every recently freed inode (`recently_deleted()` in the kernel's profile), which slowed whichever "
             "filesystem came next several-fold.")
    L.append("- Cold reads: unmount, the filesystem's cache emptied, remount; every file opened, read and "
             "sha256-checked by one reader. Re-read: the same again, immediately.")
    L.append("- %s: `dd if=<random file in page cache> of=MNT/... bs=1M` under `strace -e trace=write,close` "
             "(the last write()→close() time); for s3csfs-async and rclone the clock stops when HEAD shows the object "
             "(polled every 50 ms). Cold read: new mount, empty cache, `dd ... of=/dev/null bs=1M`; sha256 checked "
             "after. Raw curl: `curl -T` / `curl` of the same file with `--aws-sigv4`, directly and through the "
             "proxy." % GB)
    fl = {fs: med(fs, "find_entries") for fs in FS if med(fs, "find_entries") is not None}
    if fl and len(set(fl.values())) == 1:
        find_lines = "%d on every filesystem" % list(fl.values())[0]
    else:
        find_lines = ", ".join("%s %d" % (fs, v) for fs, v in fl.items()) or "–"
    L.append("- Tree: %s objects of 1 KiB in %s date directories `2025/6/D/H/M/<uuid>.bin`, written directly to "
             "the server once; each filesystem mounts it fresh (empty cache) and runs `find MNT -ls | wc -l` "
             "(entries/s = lines / time; lines printed: %s)." % (T, b.tree_dirs, find_lines))
    L.append("- Requests: the proxy's count between its reset before and the end of each workload. CPU: utime+stime "
             "of the daemon from /proc/PID/stat around the workload; RSS: VmHWM of each mount's daemon (three mounts "
             "per filesystem and run: writes, cold reads, tree).")
    L.append("- Settings: s3csfs defaults (part_size 16M, upload_threads 8, read_ahead 32M, journal_fsync on in "
             "async), reaper off, log_level info. s3fs: `-o use_path_request_style,endpoint=us-east-1,use_cache=DIR,"
             "enable_noobj_cache,parallel_count=8,multipart_size=16` (directory compatibility left on: the trees have "
             "no directory objects). rclone: `mount --vfs-cache-mode writes --vfs-write-back 0s --s3-chunk-size 16M "
             "--s3-upload-concurrency 8 --transfers 8`, provider Ceph, path style, and AWS_CA_BUNDLE unset (rclone "
             "1.60 refuses to start with it set).\n")
    pr = collections.defaultdict(list)
    for d in b.probes:
        for k, v in d.items():
            pr[k].append(v)
    if pr:
        p = {k: statistics.median(v) for k, v in pr.items()}
        txt = ("- The server, probed on one kept-alive connection (median of 10 requests): GET of a 1 KiB object "
               "%.1f ms, GET of a missing key (404 with an XML body) %.1f ms, HEAD of a missing key %.1f ms, "
               "ListObjectsV2 (empty) %.1f ms." % (p.get("get_hit", 0), p.get("get_miss", 0),
                                                   p.get("head_miss", 0), p.get("list", 0)))
        if p.get("get_miss", 0) > 5 * p.get("head_miss", 0) + 5:
            txt += (" Responses that RGW writes in two pieces (header, then body) wait for the client's delayed ACK "
                    "(~40 ms) when the beast frontend runs without `tcp_nodelay=1` (Nagle): a client that looks names "
                    "up with GET or ListObjectsV2 pays that wait on each such request; HEAD does not.")
        L.append(txt + "\n")
    s3fs_v = re.sub(r"^Amazon Simple Storage Service File System ", "",
                    re.sub(r" \(commit.*", "", first_line(["s3fs", "--version"])))
    rclone_v = first_line(["rclone", "version"])
    ceph_v = re.sub(r" \([0-9a-f]*\)", "", first_line(["radosgw", "--version"]))
    curl_v = " ".join(first_line(["curl", "--version"]).split()[:2])
    cpu_model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_g = "%.0f" % (int(f.readline().split()[1]) / 1048576)
    with open("/proc/loadavg") as f:
        load_end = " ".join(f.read().split()[:3])
    sha = hashlib.sha256(open(b.s3csfs, "rb").read()).hexdigest()[:12] if os.path.isfile(b.s3csfs) else "?"
    tree = "clean tree" if b.clean else "**uncommitted changes**"
    L.append("## Machine and command\n")
    L.append("- Date: %s; %d CPU(s) (%s), %s GiB RAM; kernel %s; S3 server, proxy and daemon share the CPUs; load "
             "average %s at the start, %s at the end." % (
                 datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count(),
                 cpu_model, mem_g, os.uname().release, b.load_start, load_end))
    L.append("- s3csfs commit %s, %s (`%s`, sha256 %s); s3fs %s; %s; %s; %s." % (
        b.commit, tree, rel(b.s3csfs_src), sha, s3fs_v, rclone_v, ceph_v, curl_v))
    L.append("- Command: `%s` (total %d s)." % (b.cmdline, total_s))
    if b.notes:
        L.append("\n## Notes from the run\n")
        L += ["- " + n for n in b.notes]
    with open(os.path.join(b.out, "results.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    if b.have_gnuplot and chart:
        dat = os.path.join(b.out, ".ratios.dat")
        with open(dat, "w") as f:
            f.write("workload sync/s3fs async/s3fs sync/rclone async/rclone\n")
            for short, adv in chart:
                f.write('"%s" %s\n' % (short, " ".join(adv)))
        gp = """
set terminal pngcairo size 1400,650 noenhanced font ",10"
set output "%s"
set title "s3csfs advantage over s3fs-fuse and rclone mount (log scale; > 1 = s3csfs better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set datafile missing "-"
set xtics rotate by -30
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
plot "%s" using 2:xtic(1) title columnheader(2), "" using 3 title columnheader(3), "" using 4 title columnheader(4), "" using 5 title columnheader(5)
""" % (os.path.join(b.out, "ratios.png"), dat)
        r = run(["gnuplot"], input=gp, text=True, capture_output=True)
        if r.returncode != 0:
            r2 = run(["gnuplot"], input=gp.replace("pngcairo", "png"), text=True, capture_output=True)
            if r2.returncode != 0:
                log("gnuplot failed: %s %s" % (r.stderr, r2.stderr))
        os.remove(dat)


def checksum_cpu(b):
    """Daemon CPU per GiB for each checksum mode (issue 13): scripts/bench-checksum
    on its own server, appended to the results. CHECKSUM_CPU=0 skips it."""
    if os.environ.get("CHECKSUM_CPU", "1") != "1":
        return
    mb = os.environ.get("CHECKSUM_MB", "256")
    log("checksum CPU: scripts/bench-checksum (BIG_MB=%s)" % mb)
    env = dict(os.environ, BIG_MB=mb, BENCH_WORK=os.path.join(b.work, "bench-checksum"))
    with open(os.path.join(b.work, "logs/bench-checksum.log"), "w") as lf:
        r = run([os.path.join(TOP, "scripts/bench-checksum")], timeout=3600, env=env, cwd=TOP,
                stdout=subprocess.PIPE, stderr=lf, text=True)
    if r.returncode != 0:
        log("bench-checksum failed: see %s/logs/bench-checksum.log" % b.work)
    with open(os.path.join(b.out, "results.md"), "a") as f:
        f.write("\n## Daemon CPU per GiB by checksum mode\n\n```\n%s```\n" % (r.stdout or ""))


def main():
    b = Bench()
    b.check_deps()
    b.check_tree()
    b.build()
    os.chdir(TOP)

    def on_signal(sig, _frame):
        log("interrupted")
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    b.prepare_work()
    atexit.register(b.stop_all)
    try:
        b.start_server()
        log("preparing data: %d MiB random file, one %d MiB part" % (b.big_mb, PART_MB))
        b.big_src = os.path.join(b.work, "tmp/big.src")
        b.part_src = os.path.join(b.work, "tmp/part.src")
        h = hashlib.sha256()
        with open(b.big_src, "wb") as f:
            for _ in range(b.big_mb):
                chunk = os.urandom(1 << 20)
                h.update(chunk)
                f.write(chunk)
        b.big_sha = h.hexdigest()
        with open(b.part_src, "wb") as f:
            f.write(os.urandom(PART_MB << 20))
        log("writing the %d-file tree to bucket %s (directly, 8 connections)" % (b.tree_files, TREE_BUCKET))
        b.mkbucket(TREE_BUCKET)
        t0 = time.monotonic()
        b.tree_dirs = b.populate(TREE_BUCKET, b.tree_files, 8)
        log("tree: %d files in %d directories, %.0fs" % (b.tree_files, b.tree_dirs, time.monotonic() - t0))
        for r in range(1, b.runs + 1):
            log("=== run %d of %d" % (r, b.runs))
            reference(b, r)
            for fs in b.filesystems:
                if not bench_fs(b, fs, r):
                    log("[r%d %s] FAILED (see %s/logs/%s-r%d.log)" % (r, fs, b.work, fs, r))
        log("writing %s/results.md" % b.out)
        report(b, time.monotonic() - T_START)
    finally:
        b.stop_all()
    checksum_cpu(b)
    with open(os.path.join(b.out, "results.md")) as f:
        sys.stdout.write(f.read())
    log("done in %ds; logs in %s/logs, raw numbers in %s/raw.tsv" % (time.monotonic() - T_START, b.work, b.work))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--helper":
        HELPERS[sys.argv[2]](*sys.argv[3:])
        sys.exit(0)
    try:
        main()
    except Fatal as e:
        log("error: %s" % e)
        sys.exit(1)
