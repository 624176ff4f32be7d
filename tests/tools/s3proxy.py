#!/usr/bin/env python3
"""s3proxy.py - loopback HTTP/1.1 fault-injecting proxy for S3 tests.

Sits between an S3 client (path-style, SigV4, plain HTTP) and a real S3
server (e.g. Ceph RGW on loopback).  Request bytes are forwarded unchanged
(request line, every header including Host and Authorization, body framing),
so signatures stay valid.  One thread per client connection, each with its
own upstream connection; keep-alive, Content-Length and chunked bodies,
Expect: 100-continue and HEAD are handled, bodies are streamed.

Usage:
  s3proxy.py --listen 127.0.0.1:0 --upstream 127.0.0.1:7480 --port-file FILE
             [--log FILE] [--faults SPEC] [--seed N]
  s3proxy.py --selftest-upstream --listen 127.0.0.1:0 --port-file FILE
             (tiny in-memory S3-ish server, used by test_s3proxy.sh)

Control endpoint (same port, never forwarded):
  GET  /_proxy/stats           JSON counters
  POST /_proxy/reset           zero counters (and the in-memory log)
  POST /_proxy/faults?spec=S   replace the fault spec (URL-encoded; empty clears)
  GET  /_proxy/faults          current fault spec (JSON)
  GET  /_proxy/log             per-request log lines (text/plain)
  GET  /_proxy/glacier         --glacier: the simulated archive state (JSON)
  POST /_proxy/glacier?finish=BUCKET/KEY   --glacier: a restore completes

--glacier simulates S3 Glacier, which no local server has (a stand-in, not
the real thing): a CopyObject of a key onto itself with x-amz-storage-class
GLACIER, DEEP_ARCHIVE or GLACIER_IR is answered here (ETag from
x-amz-copy-source-if-match) and marks the key archived; from then on, a GET
of it is 403 InvalidObjectState (with <StorageClass>) until it is restored
(not so for GLACIER_IR); HEAD and ListObjectsV2 answers carry its storage
class, HEAD also x-amz-restore; POST ?restore is 202 (started), 409
RestoreAlreadyInProgress or 200 (restored already, expiry moved), and 403
InvalidObjectState for keys not archived; the restore completes when
/_proxy/glacier?finish= says so. A PutObject, CopyObject, multipart upload
or DeleteObject of the key forgets the state.

Fault spec: comma-separated "kind:probability[:arg][@Op1+Op2]", kinds:
  500, 503, slowdown, reset-before, reset-after, stall:P:SECONDS, truncate,
  badxml, hugexml:P:BYTES, errbody200, latency:P:SECONDS (held before it
  is forwarded), late:P:SECONDS (forwarded at once, the answer held: the
  server has acted on it long before the client learns so), down,
  echo-request:P:STATUS (an error, default 403, whose Message echoes the
  request's canonical form: every header, X-Amz-Security-Token and
  Authorization included, as servers that echo the canonical request do),
  ignore-inm (a conditional PUT, If-None-Match, that upstream refused with
  412 is answered 200 with the body's ETag, as by a server that ignores
  the header; the stored object stays as it was: a signed header cannot be
  stripped, so only what the client concludes is simulated).
Integrity kinds (issue 13; the answer is rewritten, the request was served):
  flipbyte (GET body: one byte flipped, same length), shortlen (GET: the
  body and its Content-Length cut to half), badetag (PutObject/UploadPart:
  another MD5-shaped ETag), wholemd5etag (CompleteMultipartUpload: an ETag
  of whole-object-MD5 form, 32 hex digits without "-N"), opaqueetag
  (PutObject/CompleteMultipartUpload: an ETag that is no MD5).
  bitflip:P[:TEXT] (a 200/206 body is relayed with its first byte inverted,
  only for request paths containing TEXT when given: bit rot, which no
  real server here can be made to produce).
An applicable "down" always wins; otherwise the first entry (in spec order)
that applies to the request's operation and whose random draw succeeds is
injected; at most one fault per request.
"""

import argparse
import base64
import collections
import ipaddress
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

# --------------------------------------------------------------------------
# constants

OPS = [
    "PutObject", "GetObject", "HeadObject", "DeleteObject",
    "ListObjectsV2", "ListObjects", "ListBuckets",
    "CreateBucket", "HeadBucket", "DeleteBucket", "CopyObject",
    "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
    "AbortMultipartUpload", "ListMultipartUploads", "ListParts",
    "PutObjectTagging", "GetObjectTagging",
    "PutBucketLifecycle", "GetBucketLifecycle",
    "DeleteObjects", "Other",
]
OPS_LOWER = {o.lower(): o for o in OPS}

LIST_OPS = {"ListObjectsV2", "ListObjects", "ListBuckets",
            "ListMultipartUploads", "ListParts"}

FAULT_KINDS = ["500", "503", "slowdown", "reset-before", "reset-after",
               "stall", "truncate", "badxml", "hugexml", "errbody200",
               "latency", "late", "down", "echo-request", "ignore-inm",
               "bitflip"]
# integrity kinds (issue 13): each rewrites the answer of the ops it names
INTEGRITY_KINDS = {
    "flipbyte": {"GetObject"},
    "shortlen": {"GetObject"},
    "badetag": {"PutObject", "UploadPart"},
    "wholemd5etag": {"CompleteMultipartUpload"},
    # not UploadPart: the real server behind wants its own part ETags back
    "opaqueetag": {"PutObject", "CompleteMultipartUpload"},
}
FAULT_KINDS += sorted(INTEGRITY_KINDS)
# default argument for kinds that take one
FAULT_ARG_DEFAULT = {"stall": 60.0, "latency": 0.1, "late": 0.1, "hugexml": 1048576,
                     "echo-request": 403}

# query keys that denote a bucket/object sub-resource (not a plain listing/get)
SUBRESOURCES = {
    "acl", "accelerate", "analytics", "cors", "delete", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location",
    "logging", "metrics", "notification", "object-lock", "ownershipcontrols",
    "policy", "policystatus", "publicaccessblock", "replication",
    "requestpayment", "restore", "retention", "select", "tagging", "torrent",
    "uploadid", "uploads", "versioning", "versions", "website", "attributes",
}

IO_CHUNK = 256 * 1024
MAX_LINE = 64 * 1024
MAX_HEADERS = 256
MEM_BODY_CAP = 256 * 1024 * 1024       # cap for bodies rewritten in memory
UPSTREAM_CONNECT_TIMEOUT = 10.0
UPSTREAM_IO_TIMEOUT = 600.0
CLIENT_IO_TIMEOUT = 3600.0
EXPECT_WAIT = 600.0
LOG_KEEP = 200000

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class ClientGone(Exception):
    """Client closed / broke the connection."""


class UpstreamError(Exception):
    """Upstream unreachable or broke the connection."""

    def __init__(self, msg, nothing_received=False):
        Exception.__init__(self, msg)
        self.nothing_received = nothing_received


class BadRequest(Exception):
    pass


class Stopping(Exception):
    pass


# --------------------------------------------------------------------------
# buffered socket reader


class Stream:
    def __init__(self, sock, exc):
        self.sock = sock
        self.buf = bytearray()
        self.exc = exc

    def _fill(self):
        try:
            data = self.sock.recv(IO_CHUNK)
        except OSError as e:
            raise self.exc("recv: %s" % e)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self, limit=MAX_LINE):
        """Return one line including '\\n'; b'' at clean EOF; raises on EOF mid-line."""
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            start = len(self.buf)
            if len(self.buf) > limit:
                raise BadRequest("line too long")
            if not self._fill():
                if self.buf:
                    raise self.exc("EOF in the middle of a line")
                return b""

    def read_some(self, maxn):
        """Up to maxn bytes (>=1); raises at EOF."""
        if self.buf:
            n = min(maxn, len(self.buf))
            out = bytes(self.buf[:n])
            del self.buf[:n]
            return out
        try:
            data = self.sock.recv(min(maxn, IO_CHUNK))
        except OSError as e:
            raise self.exc("recv: %s" % e)
        if not data:
            raise self.exc("unexpected EOF")
        return data

    def read_until_eof(self):
        """Generator of chunks until EOF."""
        if self.buf:
            out = bytes(self.buf)
            self.buf.clear()
            yield out
        while True:
            try:
                data = self.sock.recv(IO_CHUNK)
            except OSError as e:
                raise self.exc("recv: %s" % e)
            if not data:
                return
            yield data


def relay_length(src, n, sink):
    left = n
    while left > 0:
        data = src.read_some(left)
        left -= len(data)
        sink(data)
    return n


def relay_chunked(src, sink, raw=True):
    """Relay a chunked body. raw=True: sink gets the wire bytes unchanged;
    raw=False: sink gets decoded payload. Returns payload length."""
    total = 0
    while True:
        line = src.readline()
        if not line:
            raise src.exc("EOF in chunked body")
        if raw:
            sink(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise src.exc("bad chunk size line %r" % line[:40])
        if size < 0:
            raise src.exc("negative chunk size")
        if size == 0:
            break
        relay_length(src, size, sink if raw else sink)
        total += size
        crlf = src.readline()
        if crlf not in (b"\r\n", b"\n"):
            raise src.exc("bad chunk terminator")
        if raw:
            sink(crlf)
    while True:  # trailers
        line = src.readline()
        if not line:
            raise src.exc("EOF in chunk trailers")
        if raw:
            sink(line)
        if line in (b"\r\n", b"\n"):
            break
    return total


def read_head(stream, first_line):
    """Read header lines after first_line. Returns (raw_head, [(lname, value)])."""
    lines = [first_line]
    headers = []
    while True:
        line = stream.readline()
        if not line:
            raise stream.exc("EOF in headers")
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
        if len(lines) > MAX_HEADERS:
            raise BadRequest("too many headers")
        if line[:1] in (b" ", b"\t") and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + " " + line.strip().decode("latin-1"))
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("malformed header line")
        headers.append((name.strip().lower().decode("latin-1"),
                        value.strip().decode("latin-1")))
    return b"".join(lines), headers


def hget(headers, name, default=None):
    for n, v in headers:
        if n == name:
            return v
    return default


def conn_tokens(headers):
    toks = set()
    for n, v in headers:
        if n == "connection":
            toks.update(t.strip().lower() for t in v.split(","))
    return toks


def body_framing(headers):
    """('chunked', None) | ('length', n) | ('none', 0) for a request."""
    te = hget(headers, "transfer-encoding")
    if te is not None and "chunked" in te.lower():
        return "chunked", None
    cl = hget(headers, "content-length")
    if cl is not None:
        try:
            n = int(cl.split(",")[0].strip())
        except ValueError:
            raise BadRequest("bad Content-Length")
        if n < 0:
            raise BadRequest("bad Content-Length")
        return ("length", n) if n > 0 else ("none", 0)
    return "none", 0


def rewrite_head_length(raw_head, new_len, extra=()):
    """Drop Content-Length/Transfer-Encoding from a raw head, set Content-Length."""
    lines = raw_head.split(b"\r\n") if b"\r\n" in raw_head else raw_head.split(b"\n")
    out = [lines[0]]
    for line in lines[1:]:
        if not line:
            continue
        n = line.split(b":", 1)[0].strip().lower()
        if n in (b"content-length", b"transfer-encoding"):
            continue
        out.append(line)
    out.append(b"Content-Length: %d" % new_len)
    out.extend(extra)
    return b"\r\n".join(out) + b"\r\n\r\n"


def replace_header(raw_head, name, value):
    """raw_head with header name's value replaced (name as bytes)."""
    lines = raw_head.split(b"\r\n")
    for i, line in enumerate(lines[1:], 1):
        if line.split(b":", 1)[0].strip().lower() == name.lower():
            lines[i] = name + b": " + value
    return b"\r\n".join(lines)


def xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def http_date():
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


# --------------------------------------------------------------------------
# request model and classification


class Request:
    def __init__(self, raw_head, method, target, version, headers):
        self.raw_head = raw_head
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        path = target
        if "://" in path[:10]:  # absolute-form
            rest = path.split("://", 1)[1]
            i = rest.find("/")
            path = rest[i:] if i >= 0 else "/"
        path, _, query = path.partition("?")
        self.path = path
        self.query_raw = query
        self.query = []
        for part in query.split("&") if query else []:
            k, _, v = part.partition("=")
            self.query.append((urllib.parse.unquote(k),
                               urllib.parse.unquote(v)))
        self.qkeys = {k.lower() for k, _ in self.query}
        self.body_kind, self.body_len = body_framing(headers)
        self.has_body = self.body_kind != "none"
        exp = hget(headers, "expect", "")
        self.expect100 = exp.strip().lower() == "100-continue"
        toks = conn_tokens(headers)
        if version == "HTTP/1.0":
            self.wants_close = "keep-alive" not in toks
        else:
            self.wants_close = "close" in toks
        segs = self.path.lstrip("/").split("/", 1)
        self.bucket = urllib.parse.unquote(segs[0]) if segs[0] else ""
        self.key = urllib.parse.unquote(segs[1]) if len(segs) > 1 else ""

    def qget(self, name, default=None):
        for k, v in self.query:
            if k.lower() == name:
                return v
        return default


def classify(req):
    m = req.method.upper()
    q = req.qkeys
    if not req.bucket:
        return "ListBuckets" if m == "GET" else "Other"
    sub = q & SUBRESOURCES
    if not req.key:
        if m == "GET":
            if "uploads" in q:
                return "ListMultipartUploads"
            if "lifecycle" in q:
                return "GetBucketLifecycle"
            if "tagging" in q:
                return "GetObjectTagging"
            if sub:
                return "Other"
            if req.qget("list-type") == "2":
                return "ListObjectsV2"
            return "ListObjects"
        if m == "PUT":
            if "lifecycle" in q:
                return "PutBucketLifecycle"
            if "tagging" in q:
                return "PutObjectTagging"
            return "Other" if sub else "CreateBucket"
        if m == "HEAD":
            return "HeadBucket"
        if m == "DELETE":
            return "Other" if sub else "DeleteBucket"
        if m == "POST":
            if "delete" in q:
                return "DeleteObjects"
            return "Other"
        return "Other"
    # object
    if m == "PUT":
        if "tagging" in q:
            return "PutObjectTagging"
        if "partnumber" in q and "uploadid" in q:
            return "UploadPart"
        if sub:
            return "Other"
        if hget(req.headers, "x-amz-copy-source") is not None:
            return "CopyObject"
        return "PutObject"
    if m == "GET":
        if "tagging" in q:
            return "GetObjectTagging"
        if "uploadid" in q:
            return "ListParts"
        return "Other" if sub else "GetObject"
    if m == "HEAD":
        return "HeadObject"
    if m == "DELETE":
        if "uploadid" in q:
            return "AbortMultipartUpload"
        return "Other" if sub else "DeleteObject"
    if m == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadid" in q:
            return "CompleteMultipartUpload"
        return "Other"
    return "Other"


# --------------------------------------------------------------------------
# faults


class Fault:
    def __init__(self, kind, prob, arg, ops):
        self.kind = kind
        self.prob = prob
        self.arg = arg
        self.ops = ops  # None or set

    def applies(self, op, method):
        if self.ops is not None and op not in self.ops:
            return False
        if self.kind == "hugexml":
            if method == "HEAD":
                return False
            return self.ops is not None or op in LIST_OPS
        if self.kind == "errbody200":
            return self.ops is not None or op == "CompleteMultipartUpload"
        if self.kind in INTEGRITY_KINDS:
            return op in INTEGRITY_KINDS[self.kind] and method != "HEAD"
        return True

    def describe(self):
        s = "%s:%g" % (self.kind, self.prob)
        if self.arg is not None:
            s += ":%g" % self.arg
        if self.ops is not None:
            s += "@" + "+".join(sorted(self.ops))
        return s


def parse_faults(spec):
    faults = []
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        ops = None
        if "@" in item:
            item, opstr = item.split("@", 1)
            ops = set()
            for o in opstr.replace(" ", "+").split("+"):
                o = o.strip()
                if not o:
                    continue
                if o.lower() not in OPS_LOWER:
                    raise ValueError("unknown operation %r" % o)
                ops.add(OPS_LOWER[o.lower()])
            if not ops:
                raise ValueError("empty operation list in %r" % item)
        parts = [p.strip() for p in item.split(":")]
        kind = parts[0].lower()
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r" % parts[0])
        if len(parts) > 3:
            raise ValueError("too many fields in %r" % item)
        if kind == "down":
            prob = 1.0
        else:
            if len(parts) < 2 or parts[1] == "":
                raise ValueError("fault %r needs a probability" % kind)
            try:
                prob = float(parts[1])
            except ValueError:
                raise ValueError("bad probability %r" % parts[1])
            if not 0.0 <= prob <= 1.0:
                raise ValueError("probability out of range: %r" % parts[1])
        arg = None
        if kind in FAULT_ARG_DEFAULT:
            arg = FAULT_ARG_DEFAULT[kind]
            if len(parts) == 3 and parts[2] != "":
                try:
                    arg = float(parts[2])
                except ValueError:
                    raise ValueError("bad argument %r" % parts[2])
                if arg < 0:
                    raise ValueError("negative argument %r" % parts[2])
            if kind == "hugexml":
                arg = int(arg)
        elif kind == "bitflip":
            arg = parts[2] if len(parts) == 3 and parts[2] != "" else None
        elif len(parts) == 3 and parts[2] != "":
            raise ValueError("fault %r takes no argument" % kind)
        faults.append(Fault(kind, prob, arg, ops))
    return faults


# --------------------------------------------------------------------------
# proxy state


class Proxy:
    def __init__(self, upstream, log_path, fault_spec, seed, glacier=False):
        self.upstream = upstream
        # --glacier: (bucket, key) -> {"class", "restore": None|"ongoing"|expiry, "days"}
        self.glacier = {} if glacier else None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.rng = random.Random(seed)
        self.seed = seed
        self.fault_spec = fault_spec or ""
        self.faults = parse_faults(self.fault_spec)
        self.logfile = open(log_path, "a", buffering=1) if log_path else None
        self.log = collections.deque(maxlen=LOG_KEEP)
        self.generation = 0
        self.reqid = 0
        self._zero()

    def _zero(self):
        self.requests = 0
        self.connections = 0
        self.accepted = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.ops = {o: 0 for o in OPS}
        self.fault_counts = {k: 0 for k in FAULT_KINDS}

    def reset(self):
        with self.lock:
            self._zero()
            self.log.clear()
            self.generation += 1

    def stats(self):
        with self.lock:
            return {
                "requests": self.requests,
                "connections": self.connections,
                "connections_accepted": self.accepted,
                "ops": dict(self.ops),
                "faults": dict(self.fault_counts),
                "bytes_up": self.bytes_up,
                "bytes_down": self.bytes_down,
                "fault_spec": self.fault_spec,
                "seed": self.seed,
            }

    def set_faults(self, spec):
        faults = parse_faults(spec)   # raises ValueError
        with self.lock:
            self.faults = faults
            self.fault_spec = spec
        return faults

    def pick_fault(self, op, method):
        with self.lock:
            for f in self.faults:   # "down" wins regardless of its position
                if f.kind == "down" and f.applies(op, method):
                    return f
            for f in self.faults:
                if f.kind == "down" or not f.applies(op, method):
                    continue
                if self.rng.random() < f.prob:
                    return f
        return None

    def count_fault(self, kind):
        with self.lock:
            self.fault_counts[kind] = self.fault_counts.get(kind, 0) + 1

    def add_up(self, n):
        with self.lock:
            self.bytes_up += n

    def add_down(self, n):
        with self.lock:
            self.bytes_down += n

    def next_reqid(self):
        with self.lock:
            self.reqid += 1
            return "s3proxy-%08d" % self.reqid

    def write_log(self, op, method, target, status, nbytes, fault):
        line = "%s %s %s %s %d %s" % (op, method, target, status, nbytes, fault)
        with self.lock:
            self.log.append(line)
            if self.logfile:
                try:
                    self.logfile.write(line + "\n")
                except (OSError, ValueError):
                    pass


class Ctx:
    """Per-request bookkeeping for the log."""

    def __init__(self):
        self.status = "-"
        self.body_bytes = 0
        self.fault = "-"


# --------------------------------------------------------------------------
# per-connection handler


class Handler:
    def __init__(self, proxy, sock):
        self.p = proxy
        self.csock = sock
        self.cin = Stream(sock, ClientGone)
        self.up = None
        self.upin = None
        self.conn_gen = None   # generation in which this conn was counted

    # -- low level ------------------------------------------------------

    def send_client(self, data):
        if not data:
            return
        try:
            self.csock.sendall(data)
        except OSError as e:
            raise ClientGone("send: %s" % e)
        self.p.add_down(len(data))

    def send_up(self, data):
        try:
            self.up.sendall(data)
        except OSError as e:
            raise UpstreamError("send: %s" % e)

    def close_upstream(self):
        if self.up is not None:
            try:
                self.up.close()
            except OSError:
                pass
        self.up = None
        self.upin = None

    def ensure_upstream(self):
        """Returns True when a fresh connection was opened."""
        if self.up is not None:
            try:
                r, _, _ = select.select([self.up], [], [], 0)
            except (OSError, ValueError):
                r = [self.up]
            if r or self.upin.buf:   # idle conn readable => EOF/garbage
                self.close_upstream()
        if self.up is not None:
            return False
        try:
            s = socket.create_connection(self.p.upstream,
                                         timeout=UPSTREAM_CONNECT_TIMEOUT)
        except OSError as e:
            raise UpstreamError("connect %s:%d: %s" % (self.p.upstream + (e,)))
        s.settimeout(UPSTREAM_IO_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.up = s
        self.upin = Stream(s, UpstreamError)
        return True

    def rst_client(self):
        try:
            self.csock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.csock.close()
        except OSError:
            pass

    def sleep(self, secs):
        if self.p.stop.wait(secs):
            raise Stopping()

    # -- request body ---------------------------------------------------

    def relay_request_body(self, req, ctx, sink):
        def counted(data):
            self.p.add_up(len(data))
            sink(data)
        if req.body_kind == "length":
            ctx.body_bytes += relay_length(self.cin, req.body_len, counted)
        elif req.body_kind == "chunked":
            ctx.body_bytes += relay_chunked(self.cin, counted, raw=True)

    def drain_request_body(self, req, ctx):
        if not req.has_body:
            return
        if req.expect100:
            self.send_client(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.relay_request_body(req, ctx, lambda d: None)

    def read_request_body_mem(self, req, cap=1024 * 1024):
        out = bytearray()

        def sink(d):
            if len(out) + len(d) > cap:
                raise BadRequest("control body too large")
            out.extend(d)
        if req.body_kind == "length":
            relay_length(self.cin, req.body_len, sink)
        elif req.body_kind == "chunked":
            relay_chunked(self.cin, sink, raw=False)
        return bytes(out)

    # -- responses --------------------------------------------------------

    def read_response_head(self):
        line = self.upin.readline()
        if not line:
            raise UpstreamError("upstream closed", nothing_received=True)
        raw, headers = read_head(self.upin, line)
        parts = line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise UpstreamError("bad status line %r" % line[:80])
        try:
            status = int(parts[1])
        except ValueError:
            raise UpstreamError("bad status line %r" % line[:80])
        return {"raw": raw, "status": status, "version": parts[0],
                "headers": headers}

    def read_final_response(self, ctx):
        """Read the response, relaying interim 1xx responses to the client."""
        while True:
            resp = self.read_response_head()
            if 100 <= resp["status"] < 200 and resp["status"] != 101:
                self.send_client(resp["raw"])
                continue
            return resp

    @staticmethod
    def response_framing(req, resp):
        st = resp["status"]
        if req.method.upper() == "HEAD" or st in (204, 304) or 100 <= st < 200:
            return "none", 0
        te = hget(resp["headers"], "transfer-encoding")
        if te is not None and "chunked" in te.lower():
            return "chunked", None
        cl = hget(resp["headers"], "content-length")
        if cl is not None:
            try:
                return "length", int(cl.split(",")[0].strip())
            except ValueError:
                raise UpstreamError("bad Content-Length from upstream")
        return "eof", None

    @staticmethod
    def upstream_keepalive(resp, framing):
        if framing == "eof":
            return False
        toks = conn_tokens(resp["headers"])
        if resp["version"] == "HTTP/1.0":
            return "keep-alive" in toks
        return "close" not in toks

    def relay_response_body(self, src_framing, n, sink):
        if src_framing == "length":
            return relay_length(self.upin, n, sink)
        if src_framing == "chunked":
            return relay_chunked(self.upin, sink, raw=True)
        if src_framing == "eof":
            total = 0
            for d in self.upin.read_until_eof():
                total += len(d)
                sink(d)
            return total
        return 0

    def read_response_body_mem(self, framing, n):
        out = bytearray()

        def sink(d):
            if len(out) + len(d) > MEM_BODY_CAP:
                raise UpstreamError("response body too large to rewrite")
            out.extend(d)
        if framing == "length":
            relay_length(self.upin, n, sink)
        elif framing == "chunked":
            relay_chunked(self.upin, sink, raw=False)
        elif framing == "eof":
            for d in self.upin.read_until_eof():
                sink(d)
        return bytes(out)

    def relay_response(self, req, ctx, resp):
        """Relay resp (head already read) unchanged. Returns keep-alive."""
        framing, n = self.response_framing(req, resp)
        ctx.status = str(resp["status"])
        self.send_client(resp["raw"])

        def sink(d):
            ctx.body_bytes += len(d)
            self.send_client(d)
        self.relay_response_body(framing, n, sink)
        up_keep = self.upstream_keepalive(resp, framing)
        if not up_keep:
            self.close_upstream()
        return up_keep and not req.wants_close

    def send_generated(self, req, status, reason, ctype, body_len, body_iter,
                       extra_headers=()):
        keep = not req.wants_close
        head = ["HTTP/1.1 %d %s" % (status, reason),
                "Date: %s" % http_date(),
                "Server: s3proxy",
                "x-amz-request-id: %s" % self.p.next_reqid()]
        if ctype:
            head.append("Content-Type: %s" % ctype)
        head.append("Content-Length: %d" % body_len)
        head.extend(extra_headers)
        head.append("Connection: %s" % ("keep-alive" if keep else "close"))
        self.send_client(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        sent = 0
        if req.method.upper() != "HEAD":
            for chunk in body_iter:
                self.send_client(chunk)
                sent += len(chunk)
        return keep, sent

    # -- control endpoint ------------------------------------------------

    def control(self, req):
        body = self.read_request_body_mem(req)
        m = req.method.upper()
        name = req.path[len("/_proxy"):].strip("/")
        status, obj, text = 200, None, None
        if name == "stats" and m in ("GET", "HEAD"):
            obj = self.p.stats()
        elif name == "reset" and m in ("POST", "GET"):
            self.p.reset()
            obj = {"ok": True}
        elif name == "faults" and m == "GET":
            obj = {"spec": self.p.fault_spec,
                   "faults": [f.describe() for f in self.p.faults]}
        elif name == "faults" and m in ("POST", "PUT"):
            spec = None
            for k, v in req.query:   # unquote (not unquote_plus): '+' stays '+'
                if k == "spec":
                    spec = v
            if spec is None:
                spec = body.decode("utf-8", "replace").strip()
            try:
                faults = self.p.set_faults(spec)
                obj = {"ok": True, "spec": spec,
                       "faults": [f.describe() for f in faults]}
            except ValueError as e:
                status, obj = 400, {"ok": False, "error": str(e)}
        elif name == "glacier" and self.p.glacier is not None and m == "GET":
            with self.p.lock:
                obj = {"%s/%s" % k: v for k, v in self.p.glacier.items()}
        elif name == "glacier" and self.p.glacier is not None and m == "POST":
            target = req.qget("finish", "") or ""
            b, _, k = target.partition("/")
            with self.p.lock:
                st = self.p.glacier.get((b, k))
                if st is not None and st["restore"] == "ongoing":
                    st["restore"] = time.time() + 86400 * st["days"]
                    obj = {"ok": True}
                else:
                    status, obj = 404, {"ok": False, "error": "no restore in progress"}
        elif name == "log" and m in ("GET", "HEAD"):
            with self.p.lock:
                lines = list(self.p.log)
            text = "".join(line + "\n" for line in lines)
        else:
            status, obj = 404, {"ok": False, "error": "unknown control request"}
        if text is not None:
            payload, ctype = text.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload = (json.dumps(obj, sort_keys=True) + "\n").encode()
            ctype = "application/json"
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        keep = not req.wants_close
        head = ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "Cache-Control: no-store\r\nConnection: %s\r\n\r\n"
                % (status, reason, ctype, len(payload),
                   "keep-alive" if keep else "close")).encode()
        try:
            self.csock.sendall(head + (b"" if m == "HEAD" else payload))
        except OSError as e:
            raise ClientGone(str(e))
        return keep

    # -- fault helpers ------------------------------------------------------

    def error_xml(self, req, code, message):
        rid = self.p.next_reqid()
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                "<Error><Code>%s</Code><Message>%s</Message>"
                "<Resource>%s</Resource><RequestId>%s</RequestId>"
                "<HostId>s3proxy</HostId></Error>\n"
                % (code, xml_escape(message), xml_escape(req.path), rid)
                ).encode("utf-8")

    def inject_error(self, req, ctx, status, reason, code, message):
        self.drain_request_body(req, ctx)
        body = self.error_xml(req, code, message)
        if req.method.upper() == "HEAD":
            body = b""
        ctx.status = str(status)
        keep, sent = self.send_generated(req, status, reason, "application/xml",
                                         len(body), [body])
        ctx.body_bytes += sent
        return keep

    def echo_request(self, req, ctx, status):
        """An error whose message holds the request as signed: the method,
        path, query, every header (credentials too) and the signature."""
        lines = [req.method, req.path, req.query_raw]
        # Credentials first: a client that cuts long messages still gets them.
        secret = ("x-amz-security-token", "authorization")
        lines += ["%s:%s" % (n, v) for n, v in req.headers if n in secret]
        lines += ["%s:%s" % (n, v) for n, v in sorted(req.headers) if n not in secret]
        reason, code = {403: ("Forbidden", "SignatureDoesNotMatch"),
                        400: ("Bad Request", "InvalidRequest")}.get(
                            status, ("Internal Server Error", "InternalError"))
        message = ("The request signature we calculated does not match the "
                   "signature you provided. Canonical request: " +
                   " | ".join(lines))
        return self.inject_error(req, ctx, status, reason, code, message)

    def ignore_inm(self, req, ctx, resp):
        """A 412 to a conditional PUT becomes the 200 of a server that
        ignored If-None-Match; anything else is relayed as it is."""
        if (req.method.upper() != "PUT" or resp["status"] != 412 or
                hget(req.headers, "if-none-match") is None):
            ctx.fault = "ignore-inm-n/a"
            return self.relay_response(req, ctx, resp)
        framing, n = self.response_framing(req, resp)
        self.read_response_body_mem(framing, n)
        if not self.upstream_keepalive(resp, framing):
            self.close_upstream()
        self.p.count_fault("ignore-inm")
        ctx.fault = "ignore-inm"
        ctx.status = "412-as-200"
        md5 = hget(req.headers, "content-md5", "")
        try:
            etag = base64.b64decode(md5, validate=True).hex()
        except ValueError:
            etag = "d41d8cd98f00b204e9800998ecf8427e"
        keep, _ = self.send_generated(req, 200, "OK", None, 0, [],
                                      ['ETag: "%s"' % etag])
        return keep and not req.wants_close

    def hugexml(self, req, ctx, op, nbytes):
        self.drain_request_body(req, ctx)
        bucket = xml_escape(req.bucket)
        prefix = req.qget("prefix", "") or ""
        enc_url = (req.qget("encoding-type", "") or "").lower() == "url"
        pfx = urllib.parse.quote(prefix, safe="/") if enc_url else xml_escape(prefix)
        date = "2024-01-01T00:00:00.000Z"
        etag = "&quot;d41d8cd98f00b204e9800998ecf8427e&quot;"
        xmlhdr = '<?xml version="1.0" encoding="UTF-8"?>\n'
        if op == "ListBuckets":
            head = (xmlhdr + '<ListAllMyBucketsResult xmlns="%s"><Owner><ID>s3proxy'
                    '</ID><DisplayName>s3proxy</DisplayName></Owner><Buckets>' % S3_NS)

            def entry(i):
                return ("<Bucket><Name>hugexml-%012d</Name><CreationDate>%s"
                        "</CreationDate></Bucket>" % (i, date))
            foot = lambda n: "</Buckets></ListAllMyBucketsResult>\n"
        elif op == "ListMultipartUploads":
            head = (xmlhdr + '<ListMultipartUploadsResult xmlns="%s"><Bucket>%s</Bucket>'
                    "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
                    "<Prefix>%s</Prefix><MaxUploads>1000</MaxUploads>"
                    "<IsTruncated>false</IsTruncated>" % (S3_NS, bucket, pfx))

            def entry(i):
                return ("<Upload><Key>%shugexml-%012d</Key><UploadId>hugexml-%012d"
                        "</UploadId><Initiated>%s</Initiated><StorageClass>STANDARD"
                        "</StorageClass></Upload>" % (pfx, i, i, date))
            foot = lambda n: "</ListMultipartUploadsResult>\n"
        elif op == "ListParts":
            head = (xmlhdr + '<ListPartsResult xmlns="%s"><Bucket>%s</Bucket><Key>%s'
                    "</Key><UploadId>%s</UploadId><PartNumberMarker>0"
                    "</PartNumberMarker><MaxParts>1000</MaxParts>"
                    "<IsTruncated>false</IsTruncated>"
                    % (S3_NS, bucket, xml_escape(req.key),
                       xml_escape(req.qget("uploadid", "") or "")))

            def entry(i):
                return ("<Part><PartNumber>%012d</PartNumber><LastModified>%s"
                        "</LastModified><ETag>%s</ETag><Size>0</Size></Part>"
                        % (i + 1, date, etag))
            foot = lambda n: "</ListPartsResult>\n"
        else:
            v2 = op == "ListObjectsV2"
            head = (xmlhdr + '<ListBucketResult xmlns="%s"><Name>%s</Name>'
                    "<Prefix>%s</Prefix>%s<MaxKeys>1000</MaxKeys>%s"
                    "<IsTruncated>false</IsTruncated>"
                    % (S3_NS, bucket, pfx, "" if v2 else "<Marker></Marker>",
                       "<EncodingType>url</EncodingType>" if enc_url else ""))

            def entry(i):
                return ("<Contents><Key>%shugexml-%012d</Key><LastModified>%s"
                        "</LastModified><ETag>%s</ETag><Size>0</Size>"
                        "<StorageClass>STANDARD</StorageClass></Contents>"
                        % (pfx, i, date, etag))
            if v2:
                foot = lambda n: "<KeyCount>%d</KeyCount></ListBucketResult>\n" % n
            else:
                foot = lambda n: "</ListBucketResult>\n"
        head_b = head.encode("utf-8")
        elen = len(entry(0).encode("utf-8"))
        n = max(1, (nbytes - len(head_b) - len(foot(10 ** 12))) // elen)
        foot_b = foot(n).encode("utf-8")
        total = len(head_b) + n * elen + len(foot_b)

        def gen():
            yield head_b
            i = 0
            while i < n:
                j = min(n, i + 2000)
                yield "".join(entry(k) for k in range(i, j)).encode("utf-8")
                i = j
            yield foot_b
        ctx.status = "200"
        keep, sent = self.send_generated(req, 200, "OK", "application/xml",
                                         total, gen())
        ctx.body_bytes += sent
        return keep

    # -- forwarding -------------------------------------------------------

    def wait_continue(self):
        """After sending an Expect: 100-continue head upstream.  Returns None
        when the body should be sent, or a final response that came first."""
        deadline = time.monotonic() + EXPECT_WAIT
        while True:
            if self.cin.buf:
                return None          # client already sending its body
            if self.upin.buf:
                break
            try:
                r, _, _ = select.select([self.csock, self.up], [], [], 0.25)
            except (OSError, ValueError) as e:
                raise ClientGone(str(e))
            if self.p.stop.is_set():
                raise Stopping()
            if self.up in r:
                break
            if self.csock in r:
                return None          # client gave up waiting (or EOF: found later)
            if time.monotonic() > deadline:
                raise UpstreamError("timeout waiting for 100 Continue")
        resp = self.read_response_head()
        if 100 <= resp["status"] < 200 and resp["status"] != 101:
            self.send_client(resp["raw"])
            return None
        return resp

    def forward(self, req, ctx, fault):
        attempt = 0
        while True:
            attempt += 1
            fresh = self.ensure_upstream()
            try:
                self.send_up(req.raw_head)
                early = None
                if req.has_body and req.expect100:
                    early = self.wait_continue()
                if early is not None:
                    # final answer before the body: relay it, then close
                    self.relay_response(req, ctx, early)
                    return False
                if req.has_body:
                    self.relay_request_body(req, ctx, self.send_up)
                resp = self.read_final_response(ctx)
                break
            except UpstreamError as e:
                self.close_upstream()
                # stale keep-alive conn: retry once if nothing irrevocable happened
                if (e.nothing_received and not fresh and not req.has_body
                        and attempt == 1):
                    continue
                raise
        kind = fault.kind if fault else None
        if kind == "late":
            self.p.count_fault(kind)
            ctx.fault = kind
            self.sleep(fault.arg)
        if kind == "ignore-inm":
            return self.ignore_inm(req, ctx, resp)
        if kind == "reset-after":
            framing, n = self.response_framing(req, resp)
            self.relay_response_body(framing, n, lambda d: None)
            if not self.upstream_keepalive(resp, framing):
                self.close_upstream()
            ctx.status = "%d-dropped" % resp["status"]
            self.p.count_fault(kind)
            ctx.fault = kind
            self.rst_client()
            return False
        if kind == "truncate":
            self.p.count_fault(kind)
            ctx.fault = kind
            ctx.status = "%d-truncated" % resp["status"]
            framing, n = self.response_framing(req, resp)
            if framing == "none" or (framing == "length" and n == 0):
                raw = resp["raw"]
                self.send_client(raw[:len(raw) // 2])
            elif framing == "length":
                self.send_client(resp["raw"])
                half = n // 2

                def sink(d):
                    ctx.body_bytes += len(d)
                    self.send_client(d)
                relay_length(self.upin, half, sink)
            else:
                body = self.read_response_body_mem(framing, n)
                self.send_client(resp["raw"])
                half = body[:len(body) // 2]
                if framing == "chunked":
                    self.send_client(b"%x\r\n" % len(half) + half + b"\r\n"
                                     if half else b"")
                else:
                    self.send_client(half)
                ctx.body_bytes += len(half)
            self.close_upstream()
            try:
                self.csock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return False
        if kind in INTEGRITY_KINDS:
            return self.integrity_fault(req, ctx, resp, kind)
        if kind == "bitflip":
            framing, n = self.response_framing(req, resp)
            if (resp["status"] not in (200, 206) or framing != "length" or n == 0
                    or n > MEM_BODY_CAP or (fault.arg and fault.arg not in req.path)):
                ctx.fault = kind + "-n/a"
                return self.relay_response(req, ctx, resp)
            body = bytearray(self.read_response_body_mem(framing, n))
            up_keep = self.upstream_keepalive(resp, framing)
            if not up_keep:
                self.close_upstream()
            body[0] ^= 0xFF
            self.p.count_fault(kind)
            ctx.fault = kind
            ctx.status = str(resp["status"])
            self.send_client(resp["raw"] + bytes(body))
            ctx.body_bytes += len(body)
            return up_keep and not req.wants_close
        if kind in ("badxml", "errbody200"):
            framing, n = self.response_framing(req, resp)
            ctype = (hget(resp["headers"], "content-type", "") or "").lower()
            applicable = framing != "none" and (framing != "length" or
                                                n <= MEM_BODY_CAP)
            if kind == "errbody200":
                applicable = applicable and resp["status"] == 200
            if not applicable:
                ctx.fault = kind + "-n/a"
                return self.relay_response(req, ctx, resp)
            body = self.read_response_body_mem(framing, n)
            up_keep = self.upstream_keepalive(resp, framing)
            if not up_keep:
                self.close_upstream()
            if kind == "badxml":
                is_xml = "xml" in ctype or body.lstrip()[:1] == b"<"
                if not is_xml or not body:
                    new = body
                    ctx.fault = kind + "-n/a"
                else:
                    new = (body[:len(body) // 2] +
                           b"<<</Broken attr=\"&bogus\"><!-- unterminated")
                    self.p.count_fault(kind)
                    ctx.fault = kind
            else:
                new = self.error_xml(req, "InternalError",
                                     "We encountered an internal error. "
                                     "Please try again.")
                self.p.count_fault(kind)
                ctx.fault = kind
            ctx.status = str(resp["status"])
            self.send_client(rewrite_head_length(resp["raw"], len(new)) + new)
            ctx.body_bytes += len(new)
            return up_keep and not req.wants_close
        return self.relay_response(req, ctx, resp)

    def integrity_fault(self, req, ctx, resp, kind):
        """Rewrites a successful answer as kind says (INTEGRITY_KINDS)."""
        import hashlib
        framing, n = self.response_framing(req, resp)
        if resp["status"] not in (200, 206) or (framing == "length" and n > MEM_BODY_CAP):
            ctx.fault = kind + "-n/a"
            return self.relay_response(req, ctx, resp)
        body = self.read_response_body_mem(framing, n) if framing != "none" else b""
        up_keep = self.upstream_keepalive(resp, framing)
        if not up_keep:
            self.close_upstream()
        head = resp["raw"]
        applied = True
        old = (hget(resp["headers"], "etag", "") or "").strip('"')
        if kind == "flipbyte" and body:
            i = len(body) // 2
            body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        elif kind == "shortlen" and len(body) > 1:
            body = body[:len(body) // 2]
        elif kind in ("badetag", "opaqueetag") and old and \
                (req.method.upper() == "PUT" or b"<ETag>" not in body):
            new = ("0123456789abcdef0123456789abcdef" if kind == "badetag" else
                   "opaque-" + hashlib.sha1(old.encode()).hexdigest())
            head = replace_header(head, b"ETag", ('"%s"' % new).encode())
        elif kind in ("wholemd5etag", "opaqueetag") and b"<ETag>" in body:
            a = body.index(b"<ETag>") + 6
            b = body.index(b"</ETag>", a)
            old = body[a:b].replace(b"&quot;", b"").replace(b'"', b"")
            new = (hashlib.md5(old).hexdigest() if kind == "wholemd5etag" else
                   "opaque-" + hashlib.sha1(old).hexdigest()).encode()
            body = body[:a] + b"&quot;" + new + b"&quot;" + body[b:]
        else:
            applied = False
        ctx.fault = kind if applied else kind + "-n/a"
        if applied:
            self.p.count_fault(kind)
        ctx.status = str(resp["status"])
        if framing == "none":
            self.send_client(head)
        else:
            self.send_client(rewrite_head_length(head, len(body)) + body)
        ctx.body_bytes += len(body)
        return up_keep and not req.wants_close

    # -- --glacier: a stand-in for S3 Glacier ----------------------------------

    ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE", "GLACIER_IR")

    def glacier_state(self, bucket, key):
        with self.p.lock:
            st = self.p.glacier.get((bucket, key))
            return dict(st) if st else None

    @staticmethod
    def restore_header(st):
        if st["restore"] is None:
            return None
        if st["restore"] == "ongoing":
            return 'ongoing-request="true"'
        return 'ongoing-request="false", expiry-date="%s"' % time.strftime(
            "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(st["restore"]))

    @staticmethod
    def readable(st):
        return (st is None or st["class"] == "GLACIER_IR" or
                (st["restore"] not in (None, "ongoing") and st["restore"] > time.time()))

    def generated_xml(self, req, ctx, status, reason, body, drain=True):
        if drain:
            self.drain_request_body(req, ctx)
        if req.method.upper() == "HEAD":
            body = b""
        ctx.status = str(status)
        keep, sent = self.send_generated(req, status, reason, "application/xml",
                                         len(body), [body])
        ctx.body_bytes += sent
        return keep

    def glacier(self, req, ctx, op):
        """Answers or rewrites what S3 Glacier would; None: forward as is."""
        key = (req.bucket, req.key)
        st = self.glacier_state(*key) if req.key else None
        sclass = (hget(req.headers, "x-amz-storage-class", "") or "").upper()
        if op == "CopyObject":
            src = urllib.parse.unquote(hget(req.headers, "x-amz-copy-source", "") or "")
            src = src.split("?", 1)[0].lstrip("/")
            sb, _, sk = src.partition("/")
            if not self.readable(self.glacier_state(sb, sk)):
                return self.glacier_refuse(req, ctx, self.glacier_state(sb, sk))
            if (sb, sk) == key and sclass in self.ARCHIVE_CLASSES:
                etag = hget(req.headers, "x-amz-copy-source-if-match", "") or "unknown"
                etag = etag.strip('"')
                with self.p.lock:
                    self.p.glacier[key] = {"class": sclass, "restore": None, "days": 0}
                body = ('<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult>'
                        "<LastModified>%s</LastModified><ETag>&quot;%s&quot;</ETag>"
                        "</CopyObjectResult>" % (
                            time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                            xml_escape(etag))).encode()
                return self.generated_xml(req, ctx, 200, "OK", body)
        if op in ("PutObject", "CopyObject", "CompleteMultipartUpload", "DeleteObject"):
            with self.p.lock:
                self.p.glacier.pop(key, None)
            return None
        if op == "GetObject" and not self.readable(st):
            return self.glacier_refuse(req, ctx, st)
        if op == "Other" and req.method.upper() == "POST" and "restore" in req.qkeys:
            return self.glacier_restore(req, ctx, key, st)
        if op == "HeadObject" and st is not None:
            extra = [b"x-amz-storage-class: " + st["class"].encode()]
            rh = self.restore_header(st)
            if rh:
                extra.append(b"x-amz-restore: " + rh.encode())
            return self.forward_rewritten(req, ctx, extra, None)
        if op == "ListObjectsV2":
            with self.p.lock:
                classes = {k: v["class"] for (b, k), v in self.p.glacier.items()
                           if b == req.bucket}
            if classes:
                enc = (req.qget("encoding-type", "") or "").lower() == "url"
                return self.forward_rewritten(
                    req, ctx, [], lambda body: self.list_rewrite(body, classes, enc))
        return None

    def glacier_refuse(self, req, ctx, st):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidObjectState'
                "</Code><Message>The operation is not valid for the object's storage "
                "class</Message><StorageClass>%s</StorageClass><RequestId>%s</RequestId>"
                "</Error>" % (st["class"], self.p.next_reqid())).encode()
        return self.generated_xml(req, ctx, 403, "Forbidden", body)

    def glacier_restore(self, req, ctx, key, st):
        payload = self.read_request_body_mem(req).decode("utf-8", "replace")
        if st is None or st["class"] == "GLACIER_IR":
            body = self.error_xml(req, "InvalidObjectState",
                                  "Restore is not allowed for the object's current "
                                  "storage class")
            return self.generated_xml(req, ctx, 403, "Forbidden", body, False)
        days = 1
        i = payload.find("<Days>")
        if i >= 0:
            try:
                days = int(payload[i + 6:payload.index("</Days>", i)])
            except ValueError:
                days = 1
        with self.p.lock:
            cur = self.p.glacier.get(key)
            if cur["restore"] == "ongoing":
                status = 409
            elif cur["restore"] is None or cur["restore"] <= time.time():
                cur["restore"], cur["days"], status = "ongoing", days, 202
            else:
                cur["restore"], status = time.time() + 86400 * days, 200
        if status == 409:
            body = self.error_xml(req, "RestoreAlreadyInProgress",
                                  "Object restore is already in progress")
            return self.generated_xml(req, ctx, 409, "Conflict", body, False)
        ctx.status = str(status)
        keep, _ = self.send_generated(req, status, "Accepted" if status == 202 else "OK",
                                      None, 0, [])
        return keep

    @staticmethod
    def list_rewrite(body, classes, enc):
        import re

        def fix(m):
            block = m.group(0)
            km = re.search(rb"<Key>(.*?)</Key>", block, re.S)
            if not km:
                return block
            k = km.group(1).decode("utf-8", "replace")
            k = (urllib.parse.unquote_plus(k) if enc else
                 k.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                 .replace("&apos;", "'").replace("&amp;", "&"))
            c = classes.get(k)
            if not c:
                return block
            if b"<StorageClass>" in block:
                return re.sub(rb"<StorageClass>.*?</StorageClass>",
                              b"<StorageClass>" + c.encode() + b"</StorageClass>", block)
            return block.replace(b"</Contents>", b"<StorageClass>" + c.encode() +
                                 b"</StorageClass></Contents>")
        return re.sub(rb"<Contents>.*?</Contents>", fix, body, flags=re.S)

    def forward_rewritten(self, req, ctx, extra_headers, body_fn):
        """Forwards a body-less request; adds extra_headers to the answer
        (replacing same-named ones) and, for a 200, passes its body
        through body_fn."""
        for attempt in (1, 2):
            fresh = self.ensure_upstream()
            try:
                self.send_up(req.raw_head)
                self.relay_request_body(req, ctx, self.send_up)
                resp = self.read_final_response(ctx)
                break
            except UpstreamError as e:
                self.close_upstream()
                if e.nothing_received and not fresh and not req.has_body and attempt == 1:
                    continue
                raise
        names = {h.split(b":", 1)[0].strip().lower() for h in extra_headers}
        raw = resp["raw"]
        lines = raw.split(b"\r\n")
        lines = [ln for ln in lines[:-2] if ln.split(b":", 1)[0].strip().lower()
                 not in names] + list(extra_headers) + [b"", b""]
        raw = b"\r\n".join(lines)
        framing, n = self.response_framing(req, resp)
        if body_fn is None or resp["status"] != 200 or framing == "none":
            resp["raw"] = raw
            return self.relay_response(req, ctx, resp)
        body = body_fn(self.read_response_body_mem(framing, n))
        up_keep = self.upstream_keepalive(resp, framing)
        if not up_keep:
            self.close_upstream()
        ctx.status = str(resp["status"])
        self.send_client(rewrite_head_length(raw, len(body)) + body)
        ctx.body_bytes += len(body)
        return up_keep and not req.wants_close

    # -- main loop ----------------------------------------------------------

    def handle_one(self):
        line = self.cin.readline()
        if not line:
            return False
        while line in (b"\r\n", b"\n"):   # tolerate stray CRLFs between requests
            line = self.cin.readline()
            if not line:
                return False
        raw_head, headers = read_head(self.cin, line)
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest("bad request line %r" % line[:80])
        req = Request(raw_head, parts[0], parts[1], parts[2], headers)
        if req.path == "/_proxy" or req.path.startswith("/_proxy/"):
            return self.control(req)

        op = classify(req)
        with self.p.lock:
            self.p.requests += 1
            self.p.ops[op] = self.p.ops.get(op, 0) + 1
            self.p.bytes_up += len(raw_head)
            if self.conn_gen != self.p.generation:
                self.conn_gen = self.p.generation
                self.p.connections += 1
        ctx = Ctx()
        fault = self.p.pick_fault(op, req.method.upper())
        kind = fault.kind if fault else None
        try:
            if self.p.glacier is not None:
                handled = self.glacier(req, ctx, op)
                if handled is not None:
                    return handled
            if kind == "down":
                self.p.count_fault(kind)
                ctx.fault = kind
                self.csock.close()
                return False
            if kind == "reset-before":
                self.p.count_fault(kind)
                ctx.fault = kind
                self.rst_client()
                return False
            if kind in ("500", "503", "slowdown"):
                self.p.count_fault(kind)
                ctx.fault = kind
                if kind == "500":
                    return self.inject_error(
                        req, ctx, 500, "Internal Server Error", "InternalError",
                        "We encountered an internal error. Please try again.")
                return self.inject_error(req, ctx, 503, "Slow Down", "SlowDown",
                                         "Please reduce your request rate.")
            if kind == "hugexml":
                self.p.count_fault(kind)
                ctx.fault = kind
                return self.hugexml(req, ctx, op, fault.arg)
            if kind == "echo-request":
                self.p.count_fault(kind)
                ctx.fault = kind
                return self.echo_request(req, ctx, int(fault.arg))
            if kind in ("stall", "latency"):
                self.p.count_fault(kind)
                ctx.fault = kind
                self.sleep(fault.arg)
            try:
                return self.forward(req, ctx, fault)
            except UpstreamError as e:
                ctx.fault = ("%s+" % ctx.fault if ctx.fault != "-" else "") + \
                    "upstream-error"
                sys.stderr.write("s3proxy: upstream error: %s\n" % e)
                return False
        finally:
            self.p.write_log(op, req.method, req.target, ctx.status,
                             ctx.body_bytes, ctx.fault)

    def run(self):
        try:
            while not self.p.stop.is_set():
                if not self.handle_one():
                    break
        except BadRequest as e:
            try:
                msg = ("bad request: %s\n" % e).encode()
                self.csock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: "
                                   b"%d\r\nConnection: close\r\n\r\n" % len(msg) + msg)
            except OSError:
                pass
        except (ClientGone, Stopping, OSError):
            pass
        except Exception as e:   # never let a thread die noisily without a note
            sys.stderr.write("s3proxy: handler error: %r\n" % (e,))
        finally:
            self.close_upstream()
            try:
                self.csock.close()
            except OSError:
                pass


# --------------------------------------------------------------------------
# self-test upstream: a tiny in-memory S3-ish server (for test_s3proxy.sh)


def run_selftest_upstream(lsock):
    import hashlib
    import http.server

    store = {}
    buckets = set()
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def read_body(self):
            te = self.headers.get("Transfer-Encoding", "")
            if "chunked" in te.lower():
                out = bytearray()
                while True:
                    line = self.rfile.readline(65537)
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    out += self.rfile.read(size)
                    self.rfile.readline(65537)
                return bytes(out)
            n = int(self.headers.get("Content-Length", "0") or 0)
            return self.rfile.read(n) if n else b""

        def split(self):
            path, _, q = self.path.partition("?")
            segs = path.lstrip("/").split("/", 1)
            b = segs[0]
            k = segs[1] if len(segs) > 1 else ""
            qs = urllib.parse.parse_qs(q, keep_blank_values=True)
            return b, k, qs

        def reply(self, status, body=b"", ctype="application/xml", extra=()):
            chunked = bool(self.headers.get("x-selftest-chunked")) and \
                self.command != "HEAD"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for n, v in extra:
                self.send_header(n, v)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if chunked:
                mv = memoryview(body)
                for i in range(0, len(body), 1000003):
                    piece = mv[i:i + 1000003]
                    self.wfile.write(b"%x\r\n" % len(piece))
                    self.wfile.write(piece)
                    self.wfile.write(b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)

        def echo(self):
            text = self.requestline + "\r\n" + "".join(
                "%s: %s\r\n" % (n, v) for n, v in self.headers.items())
            self.reply(200, text.encode("latin-1"), "text/plain")

        def do_PUT(self):
            body = self.read_body()
            b, k, qs = self.split()
            if not k:
                with lock:
                    buckets.add(b)
                return self.reply(200)
            src = self.headers.get("x-amz-copy-source")
            if src and "partNumber" not in qs:
                sb = urllib.parse.unquote(src).lstrip("/")
                with lock:
                    data = store.get("/" + sb)
                if data is None:
                    return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
                with lock:
                    store["/%s/%s" % (b, k)] = data
                return self.reply(200, b"<CopyObjectResult><ETag>&quot;x&quot;"
                                  b"</ETag></CopyObjectResult>")
            if "partNumber" in qs or "tagging" in qs:
                return self.reply(200, extra=[("ETag", '"%s"' % hashlib.md5(body).hexdigest())])
            with lock:
                store["/%s/%s" % (b, k)] = body
            self.reply(200, extra=[("ETag", '"%s"' % hashlib.md5(body).hexdigest())])

        def do_GET(self):
            self.read_body()
            if self.headers.get("x-selftest-echo"):
                return self.echo()
            b, k, qs = self.split()
            if not b:
                names = "".join("<Bucket><Name>%s</Name></Bucket>" % n
                                for n in sorted(buckets))
                return self.reply(200, ("<ListAllMyBucketsResult><Buckets>%s"
                                        "</Buckets></ListAllMyBucketsResult>"
                                        % names).encode())
            if not k:
                with lock:
                    keys = sorted(p.split("/", 2)[2] for p in store
                                  if p.startswith("/%s/" % b))
                body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>'
                        "<Name>%s</Name><KeyCount>%d</KeyCount>%s"
                        "<IsTruncated>false</IsTruncated></ListBucketResult>\n"
                        % (b, len(keys), "".join(
                            "<Contents><Key>%s</Key></Contents>" % xml_escape(x)
                            for x in keys))).encode()
                return self.reply(200, body)
            if "uploadId" in qs:
                return self.reply(200, b"<ListPartsResult></ListPartsResult>")
            with lock:
                data = store.get("/%s/%s" % (b, k))
            if data is None:
                return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
            self.reply(200, data, "application/octet-stream")

        def do_HEAD(self):
            b, k, qs = self.split()
            with lock:
                data = store.get("/%s/%s" % (b, k)) if k else b""
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()

        def do_DELETE(self):
            self.read_body()
            b, k, qs = self.split()
            with lock:
                store.pop("/%s/%s" % (b, k), None)
            self.send_response(204)
            self.end_headers()

        def do_POST(self):
            self.read_body()
            b, k, qs = self.split()
            if "uploads" in qs:
                return self.reply(200, ("<InitiateMultipartUploadResult><Bucket>%s"
                                        "</Bucket><Key>%s</Key><UploadId>up1</UploadId>"
                                        "</InitiateMultipartUploadResult>"
                                        % (b, k)).encode())
            if "uploadId" in qs:
                return self.reply(200, ('<?xml version="1.0"?>\n'
                                        "<CompleteMultipartUploadResult><Bucket>%s"
                                        "</Bucket><Key>%s</Key><ETag>&quot;x-1&quot;"
                                        "</ETag></CompleteMultipartUploadResult>"
                                        % (b, k)).encode())
            self.reply(200, b"<DeleteResult></DeleteResult>")

    class S(http.server.ThreadingHTTPServer):
        daemon_threads = True

    srv = S(lsock.getsockname(), H, bind_and_activate=False)
    srv.socket.close()
    srv.socket = lsock
    srv.server_address = lsock.getsockname()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True)
    t.start()
    return srv


# --------------------------------------------------------------------------
# main


def parse_hostport(s, what):
    host, sep, port = s.rpartition(":")
    if not sep or not host:
        raise SystemExit("s3proxy: %s must be HOST:PORT, got %r" % (what, s))
    host = host.strip("[]")
    try:
        port = int(port)
    except ValueError:
        raise SystemExit("s3proxy: bad port in %s %r" % (what, s))
    if not 0 <= port <= 65535:
        raise SystemExit("s3proxy: bad port in %s %r" % (what, s))
    return host, port


def main(argv=None):
    ap = argparse.ArgumentParser(description="loopback fault-injecting S3 proxy")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--upstream", default=None)
    ap.add_argument("--port-file", default=None)
    ap.add_argument("--log", default=None)
    ap.add_argument("--faults", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--glacier", action="store_true",
                    help="simulate S3 Glacier (archived keys, restores)")
    ap.add_argument("--selftest-upstream", action="store_true",
                    help="run a tiny in-memory S3-ish server instead of a proxy")
    a = ap.parse_args(argv)

    host, port = parse_hostport(a.listen, "--listen")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit("s3proxy: --listen host must be a 127.x.y.z address, "
                         "got %r" % host)
    if not (ip.version == 4 and ip in ipaddress.ip_network("127.0.0.0/8")):
        raise SystemExit("s3proxy: refusing to listen on non-loopback %s "
                         "(only 127.0.0.0/8)" % host)

    proxy = None
    if not a.selftest_upstream:
        if not a.upstream:
            raise SystemExit("s3proxy: --upstream HOST:PORT is required")
        up = parse_hostport(a.upstream, "--upstream")
        try:
            proxy = Proxy(up, a.log, a.faults, a.seed, a.glacier)
        except ValueError as e:
            raise SystemExit("s3proxy: bad --faults: %s" % e)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        lsock.bind((host, port))
    except OSError as e:
        raise SystemExit("s3proxy: cannot bind %s:%d: %s" % (host, port, e))
    lsock.listen(128)
    bound = lsock.getsockname()[1]

    stop = proxy.stop if proxy else threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    srv = None
    if a.selftest_upstream:
        srv = run_selftest_upstream(lsock)

    if a.port_file:
        tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % bound)
        os.replace(tmp, a.port_file)
    sys.stderr.write("s3proxy: %s on %s:%d%s\n" % (
        "selftest upstream" if srv else "listening", host, bound,
        "" if srv else " -> %s:%d" % proxy.upstream))
    sys.stderr.flush()

    if srv is not None:
        while not stop.wait(0.2):
            pass
        os._exit(0)

    lsock.settimeout(0.2)
    while not stop.is_set():
        try:
            c, _addr = lsock.accept()
        except socket.timeout:
            continue
        except OSError:
            if stop.is_set():
                break
            time.sleep(0.05)
            continue
        with proxy.lock:
            proxy.accepted += 1
        c.settimeout(CLIENT_IO_TIMEOUT)
        try:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        t = threading.Thread(target=Handler(proxy, c).run, daemon=True)
        t.start()
    try:
        lsock.close()
    except OSError:
        pass
    if proxy.logfile:
        try:
            with proxy.lock:
                proxy.logfile.flush()
        except (OSError, ValueError):
            pass
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
