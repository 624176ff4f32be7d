#!/usr/bin/env python3
"""imds_stub.py - loopback stand-ins for the s3csfs credential tests.

1. An EC2 instance metadata service, IMDSv2 only (the default mode):

  imds_stub.py [serve] --port-file FILE [--listen 127.0.0.1:0]
               [--access-key AK] [--secret-key SK]   (default: $S3_ACCESS_KEY, $S3_SECRET_KEY)
               [--token BASE] [--ttl SECONDS] [--role NAME] [--mode MODE]

  PUT  /latest/api/token   (needs X-aws-ec2-metadata-token-ttl-seconds)
  GET  /latest/meta-data/iam/security-credentials/        -> the role name
  GET  /latest/meta-data/iam/security-credentials/ROLE    -> JSON credentials
  Both GETs need a token from the PUT in X-aws-ec2-metadata-token (else 401,
  as a real IMDSv2-only instance answers). Expiration = now + --ttl; with
  --token, Token is "BASE-N" for the N-th credentials answer (so a refresh
  is visible on the wire); without it, no Token field.

  Control (never part of the real protocol):
  GET  /_stub/stats            {"token_puts", "role_gets", "cred_gets", "unauthorized"}
  POST /_stub/mode?m=MODE      ok | down (500) | norole (404) | garbage | nested |
                               nosecret | badexpiry | huge | code | ctrl
  POST /_stub/ttl?s=SECONDS

2. A recording proxy (s3proxy.py with one more log): every request's
   headers that s3csfs must send are written as one JSON line to --hdr-log:

  imds_stub.py record-proxy --hdr-log FILE [s3proxy.py options...]

  {"op": ..., "method": ..., "target": ..., "status": ...,
   "headers": {"x-amz-security-token": ..., "x-amz-storage-class": ...,
               "x-amz-server-side-encryption": ..., "x-amz-tagging": ...,
               "x-amz-meta-...": ...}}
"""

import json
import os
import sys
import threading
import time


def serve(argv):
    import argparse
    import http.server
    import secrets
    import urllib.parse

    ap = argparse.ArgumentParser(prog="imds_stub.py serve")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--access-key", default=os.environ.get("S3_ACCESS_KEY", ""))
    ap.add_argument("--secret-key", default=os.environ.get("S3_SECRET_KEY", ""))
    ap.add_argument("--token", default=None)
    ap.add_argument("--ttl", type=int, default=21600)
    ap.add_argument("--role", default="s3csfs-test-role")
    ap.add_argument("--mode", default="ok")
    a = ap.parse_args(argv)
    host, _, port = a.listen.rpartition(":")
    if not host.startswith("127."):
        raise SystemExit("imds_stub: listens on loopback only")

    lock = threading.Lock()
    state = {"mode": a.mode, "ttl": a.ttl, "tokens": set(),
             "stats": {"token_puts": 0, "role_gets": 0, "cred_gets": 0,
                       "unauthorized": 0}}
    CREDS = "/latest/meta-data/iam/security-credentials/"

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", ctype="text/plain"):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def drain(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)

        def do_PUT(self):
            self.drain()
            if self.path != "/latest/api/token":
                return self.reply(404, "not found")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(400, "missing or bad X-aws-ec2-metadata-token-ttl-seconds")
            tok = "stubtok-" + secrets.token_hex(16)
            with lock:
                state["tokens"].add(tok)
                state["stats"]["token_puts"] += 1
            self.reply(200, tok)

        def do_POST(self):
            self.drain()
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            with lock:
                if u.path == "/_stub/mode":
                    state["mode"] = q.get("m", "ok")
                elif u.path == "/_stub/ttl":
                    state["ttl"] = int(q.get("s", "21600"))
                else:
                    return self.reply(404, "not found")
            self.reply(200, "ok\n")

        def do_GET(self):
            if self.path == "/_stub/stats":
                with lock:
                    return self.reply(200, json.dumps(state["stats"]), "application/json")
            tok = self.headers.get("X-aws-ec2-metadata-token")
            with lock:
                ok = tok in state["tokens"]
                if not ok:
                    state["stats"]["unauthorized"] += 1
                mode, ttl = state["mode"], state["ttl"]
            if not ok:
                return self.reply(401, "")
            if mode == "down":
                return self.reply(500, "internal error")
            if self.path == CREDS:
                with lock:
                    state["stats"]["role_gets"] += 1
                if mode == "norole":
                    return self.reply(404, "")
                return self.reply(200, a.role)
            if self.path != CREDS + a.role:
                return self.reply(404, "")
            with lock:
                state["stats"]["cred_gets"] += 1
                n = state["stats"]["cred_gets"]
            exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(time.time()) + ttl))
            doc = {"Code": "Success",
                   "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "Type": "AWS-HMAC", "AccessKeyId": a.access_key,
                   "SecretAccessKey": a.secret_key, "Expiration": exp}
            if a.token:
                doc["Token"] = "%s-%d" % (a.token, n)
            body = json.dumps(doc, indent=2)
            if mode == "garbage":
                body = "this is not JSON {"
            elif mode == "nested":
                doc["AccessKeyId"] = {"nested": a.access_key}
                body = json.dumps(doc)
            elif mode == "nosecret":
                del doc["SecretAccessKey"]
                body = json.dumps(doc)
            elif mode == "badexpiry":
                doc["Expiration"] = "tomorrow"
                body = json.dumps(doc)
            elif mode == "huge":
                doc["Padding"] = "x" * 200000
                body = json.dumps(doc)
            elif mode == "code":
                doc["Code"] = "AssumeRoleUnauthorizedAccess"
                body = json.dumps(doc)
            elif mode == "ctrl":
                doc["SecretAccessKey"] = a.secret_key + "\r\nX-Injected: 1"
                body = json.dumps(doc)
            self.reply(200, body, "text/plain")

    class S(http.server.ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = S((host, int(port)), H)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)
    srv.serve_forever()


RECORDED = ("x-amz-security-token", "x-amz-storage-class", "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-tagging",
            "x-amz-metadata-directive")


def record_proxy(argv):
    hdr_log = None
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] == "--hdr-log" and i + 1 < len(argv):
            hdr_log = argv[i + 1]
            i += 2
            continue
        rest.append(argv[i])
        i += 1
    if not hdr_log:
        raise SystemExit("imds_stub.py record-proxy: --hdr-log FILE is required")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import s3proxy

    out = open(hdr_log, "a", buffering=1)
    out_lock = threading.Lock()
    tls = threading.local()
    orig_init = s3proxy.Request.__init__
    orig_log = s3proxy.Proxy.write_log

    def init(self, *args, **kw):
        orig_init(self, *args, **kw)
        tls.req = self

    def write_log(self, op, method, target, status, nbytes, fault):
        orig_log(self, op, method, target, status, nbytes, fault)
        req = getattr(tls, "req", None)
        hdrs = {}
        if req is not None:
            for item in req.headers:
                name, value = item if isinstance(item, tuple) else (item, req.headers[item])
                if isinstance(name, bytes):
                    name = name.decode("latin-1")
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                ln = name.lower()
                if ln in RECORDED or ln.startswith("x-amz-meta-"):
                    hdrs[ln] = value.strip()
        with out_lock:
            out.write(json.dumps({"op": op, "method": method, "target": target,
                                  "status": str(status), "headers": hdrs}) + "\n")

    s3proxy.Request.__init__ = init
    s3proxy.Proxy.write_log = write_log
    s3proxy.main(rest)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "record-proxy":
        record_proxy(args[1:])
    else:
        serve(args[1:] if args and args[0] == "serve" else args)
